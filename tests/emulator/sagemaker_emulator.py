"""A SageMaker emulator for mcc-bench's tests, on 127.0.0.1 only.

It speaks the AWS JSON 1.1 protocol (POST /, X-Amz-Target: SageMaker.<Op>)
for the nine AI benchmark / workload-config operations and DescribeEndpoint.
CreateAIBenchmarkJob really runs a benchmark: `mcc-bench run` against its
built-in simulated endpoint with the job's workload spec, then the AIPerf
exports are packed as output.tar.gz and uploaded, under a service-style
`bmk-prod-<job>-<hash>/` sub-prefix, to the S3 server (moto) given on the
command line. Behaviour switches for failure tests are set with
POST /_control (JSON): fail_jobs (reason), lose_output, hostile_output
(the archive also carries links, a FIFO and a `../` path), stop_seconds,
job_delay_seconds, fail_ops ({operation: error code}, answered as that AWS
error), model_error (an HTTP status the model answers invocations with),
stream_error (a ModelStreamError after the first payload part),
sim_ttft_ms / sim_itl_ms / sim_slots (the simulated endpoint a job
measures: 5 ms, 1 ms, unlimited). POST
/_seed adds jobs and configs made by someone else, for the cleanup tests;
endpoint_status in /_control sets every endpoint's status.

It also serves the SageMaker runtime (REST-JSON, as the SDK calls it):
POST /endpoints/<name>/invocations and /invocations-response-stream. The
body goes to a `mcc-bench sim` started here; a streamed reply comes back
as a real AWS event stream (binary frames with CRCs), each simulator read
split in two PayloadParts so that lines span parts, as they do in the
service.

Usage: sagemaker_emulator.py MCC_BENCH_BIN S3_ENDPOINT_URL ENDPOINT_NAME...
Prints "listening on http://127.0.0.1:PORT" once ready.
"""

import hashlib
import io
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import ctypes
import http.client
import signal
import socket
import struct
import zlib

import boto3

NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
ACCOUNT = "123456789012"
REGION = "us-east-1"


class Fault(Exception):
    def __init__(self, kind, message):
        super().__init__(message)
        self.kind, self.message = kind, message


class State:
    def __init__(self, binary, s3_url, endpoints):
        self.lock = threading.Lock()
        self.binary, self.s3_url = binary, s3_url
        self.endpoints = {e: "InService" for e in endpoints}
        self.configs, self.jobs = {}, {}
        self.control = {"fail_jobs": None, "lose_output": False, "hostile_output": False,
                        "stop_seconds": 0.0,
                        "job_delay_seconds": 0.0,
                        "sim_ttft_ms": 5, "sim_itl_ms": 1, "sim_slots": None}
        self.calls = []
        self.control.update({"fail_ops": {}, "model_error": None, "stream_error": False})
        self.sim = start_sim(binary)

    def arn(self, kind, name):
        return f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:{kind}/{name}"


def need(body, key):
    value = body.get(key)
    if value in (None, "", [], {}):
        raise Fault("ValidationException", f"1 validation error detected: Value at '{key}' failed to satisfy constraint: Member must not be null")
    return value


def check_name(name, key):
    if not NAME.match(name):
        raise Fault("ValidationException", f"Value '{name}' at '{key}' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9](-*[a-zA-Z0-9]){{0,62}}")


# ---- operations -------------------------------------------------------------

def describe_endpoint(st, body):
    name = need(body, "EndpointName")
    if name not in st.endpoints:
        raise Fault("ValidationException", f'Could not find endpoint "{name}".')
    now = time.time()
    return {"EndpointName": name, "EndpointArn": st.arn("endpoint", name),
            "EndpointConfigName": name + "-config", "EndpointStatus": st.endpoints[name],
            "CreationTime": now, "LastModifiedTime": now}


def create_workload_config(st, body):
    name = need(body, "AIWorkloadConfigName")
    check_name(name, "aIWorkloadConfigName")
    inline = need(need(need(body, "AIWorkloadConfigs"), "WorkloadSpec"), "Inline")
    spec = json.loads(inline)
    if spec.get("benchmark", {}).get("type") != "aiperf":
        raise Fault("ValidationException", "WorkloadSpec must declare benchmark.type aiperf")
    if name in st.configs:
        raise Fault("ResourceInUse", f"AIWorkloadConfig {name} already exists")
    st.configs[name] = {"spec": spec, "inline": inline, "created": time.time()}
    return {"AIWorkloadConfigArn": st.arn("ai-workload-config", name)}


def describe_workload_config(st, body):
    name = need(body, "AIWorkloadConfigName")
    c = st.configs.get(name.lower()) or st.configs.get(name)
    if not c:
        raise Fault("ResourceNotFound", f"AIWorkloadConfig {name} not found")
    return {"AIWorkloadConfigName": name, "AIWorkloadConfigArn": st.arn("ai-workload-config", name),
            "CreationTime": c["created"], "AIWorkloadConfigs": {"WorkloadSpec": {"Inline": c["inline"]}}}


def delete_workload_config(st, body):
    name = need(body, "AIWorkloadConfigName").lower()
    if name not in st.configs:
        raise Fault("ResourceNotFound", f"AIWorkloadConfig {name} not found")
    if any(j["config"] == name and j["status"] in ("InProgress", "Stopping") for j in st.jobs.values()):
        raise Fault("ResourceInUse", f"AIWorkloadConfig {name} is referenced by an active benchmark job")
    del st.configs[name]
    return {"AIWorkloadConfigArn": st.arn("ai-workload-config", name)}


def list_workload_configs(st, body):
    part = body.get("NameContains", "")
    items = [{"AIWorkloadConfigName": n, "AIWorkloadConfigArn": st.arn("ai-workload-config", n),
              "CreationTime": c["created"]} for n, c in st.configs.items() if part in n]
    return page(items, body, "AIWorkloadConfigs")


def page(items, body, key):
    """Pages of MaxResults (default 2, so callers must follow NextToken)."""
    size = int(body.get("MaxResults") or 2)
    start = int(body.get("NextToken") or 0)
    out = {key: items[start:start + size]}
    if start + size < len(items):
        out["NextToken"] = str(start + size)
    return out


def create_job(st, body):
    name = need(body, "AIBenchmarkJobName")
    check_name(name, "aIBenchmarkJobName")
    target = need(need(body, "BenchmarkTarget"), "Endpoint")
    endpoint = need(target, "Identifier")
    config = need(body, "AIWorkloadConfigIdentifier")
    output = need(need(body, "OutputConfig"), "S3OutputLocation")
    need(body, "RoleArn")
    if name in st.jobs:
        raise Fault("ResourceInUse", f"AIBenchmarkJob {name} already exists")
    if config not in st.configs:
        raise Fault("ResourceNotFound", f"AIWorkloadConfig {config} not found")
    if endpoint not in st.endpoints:
        raise Fault("ResourceNotFound", f"Endpoint {endpoint} not found")
    job = {"name": name, "status": "InProgress", "config": config, "target": body["BenchmarkTarget"],
           "output": output, "role": body["RoleArn"], "created": time.time(), "proc": None,
           "failure": None, "stop": threading.Event()}
    st.jobs[name] = job
    threading.Thread(target=execute, args=(st, job), daemon=True).start()
    return {"AIBenchmarkJobArn": st.arn("ai-benchmark-job", name)}


def describe_job(st, body):
    name = need(body, "AIBenchmarkJobName")
    job = st.jobs.get(name)
    if not job:
        raise Fault("ResourceNotFound", f"AIBenchmarkJob {name} not found")
    out = {"AIBenchmarkJobName": name, "AIBenchmarkJobArn": st.arn("ai-benchmark-job", name),
           "AIBenchmarkJobStatus": job["status"], "BenchmarkTarget": job["target"],
           "OutputConfig": {"S3OutputLocation": job["output"]},
           "AIWorkloadConfigIdentifier": job["config"], "RoleArn": job["role"],
           "CreationTime": job["created"]}
    if job["failure"]:
        out["FailureReason"] = job["failure"]
    return out


def list_jobs(st, body):
    part = body.get("NameContains", "")
    items = [{"AIBenchmarkJobName": n, "AIBenchmarkJobArn": st.arn("ai-benchmark-job", n),
              "AIBenchmarkJobStatus": j["status"], "CreationTime": j["created"],
              "AIWorkloadConfigName": j["config"]} for n, j in st.jobs.items() if part in n]
    return page(items, body, "AIBenchmarkJobs")


def stop_job(st, body):
    name = need(body, "AIBenchmarkJobName")
    job = st.jobs.get(name)
    if not job:
        raise Fault("ResourceNotFound", f"AIBenchmarkJob {name} not found")
    if job["status"] != "InProgress":
        raise Fault("ValidationException", f"AIBenchmarkJob {name} is {job['status']}; only InProgress jobs can be stopped")
    job["status"] = "Stopping"
    job["stop"].set()
    threading.Thread(target=finish_stop, args=(st, job), daemon=True).start()
    return {"AIBenchmarkJobArn": st.arn("ai-benchmark-job", name)}


def finish_stop(st, job):
    time.sleep(st.control["stop_seconds"])
    proc = job["proc"]
    if proc and proc.poll() is None:
        proc.terminate()
    with st.lock:
        job["status"] = "Stopped"


def delete_job(st, body):
    name = need(body, "AIBenchmarkJobName")
    job = st.jobs.get(name)
    if not job:
        raise Fault("ResourceNotFound", f"AIBenchmarkJob {name} not found")
    if job["status"] in ("InProgress", "Stopping"):
        raise Fault("ResourceInUse", f"AIBenchmarkJob {name} is {job['status']}; stop it first")
    del st.jobs[name]
    return {"AIBenchmarkJobArn": st.arn("ai-benchmark-job", name)}


OPS = {"DescribeEndpoint": describe_endpoint,
       "CreateAIWorkloadConfig": create_workload_config,
       "DescribeAIWorkloadConfig": describe_workload_config,
       "DeleteAIWorkloadConfig": delete_workload_config,
       "ListAIWorkloadConfigs": list_workload_configs,
       "CreateAIBenchmarkJob": create_job,
       "DescribeAIBenchmarkJob": describe_job,
       "ListAIBenchmarkJobs": list_jobs,
       "StopAIBenchmarkJob": stop_job,
       "DeleteAIBenchmarkJob": delete_job}


def seed(st, doc):
    """Resources made by someone else (an earlier tool, another project):
    {"jobs": {name: status}, "configs": [name]}."""
    with st.lock:
        for name in doc.get("configs", []):
            st.configs[name] = {"spec": {}, "inline": "{}", "created": time.time()}
        for name, status in doc.get("jobs", {}).items():
            st.jobs[name] = {"name": name, "status": status, "config": "", "target": {},
                             "output": "", "role": "", "created": time.time(), "proc": None,
                             "failure": None, "stop": threading.Event()}
    return {"jobs": sorted(st.jobs), "configs": sorted(st.configs)}


# ---- the job itself -----------------------------------------------------------

def execute(st, job):
    params = st.configs[job["config"]]["spec"].get("parameters", {})
    if job["stop"].wait(st.control["job_delay_seconds"]):
        return
    if st.control["fail_jobs"]:
        with st.lock:
            job["status"], job["failure"] = "Failed", st.control["fail_jobs"]
        return
    with tempfile.TemporaryDirectory() as out:
        cmd = [st.binary, "run", "--endpoint", "sim", "--no-progress", "--output-dir", out,
               "--concurrency", str(params.get("concurrency", 10)),
               "--request-count", str(params.get("request_count", 100)),
               "--input-tokens", str(params.get("prompt_input_tokens_mean", 550)),
               "--output-tokens", str(params.get("output_tokens_mean", 150)),
               "--sim-ttft-ms", str(st.control["sim_ttft_ms"]),
               "--sim-itl-ms", str(st.control["sim_itl_ms"]),
               "--streaming" if params.get("streaming", True) else "--no-streaming"]
        if st.control["sim_slots"]:
            cmd += ["--sim-slots", str(st.control["sim_slots"])]
        job["proc"] = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        _, err = job["proc"].communicate()
        if job["stop"].is_set():
            return
        if job["proc"].returncode != 0:
            with st.lock:
                job["status"], job["failure"] = "Failed", f"AIPerf exited with {job['proc'].returncode}: {err[-300:]}"
            return
        if not st.control["lose_output"]:
            upload(st, job, out)
    with st.lock:
        if job["status"] == "InProgress":
            job["status"] = "Completed"


def add_hostile_entries(tar):
    """Entries an output archive must not be trusted with: a link named like
    the export (sorting before the real one), links out of the directory,
    a FIFO and a path climbing out of it."""
    def entry(name, kind, link="", data=b""):
        info = tarfile.TarInfo(name)
        info.type, info.linkname, info.size = kind, link, len(data)
        tar.addfile(info, io.BytesIO(data) if data else None)
    entry("aaa/profile_export_aiperf.json", tarfile.SYMTYPE, "/etc/passwd")
    entry("artifacts/hostname", tarfile.LNKTYPE, "/etc/hostname")
    entry("artifacts/pipe", tarfile.FIFOTYPE)
    entry("../../../../../escaped-by-archive.txt", tarfile.REGTYPE, data=b"escaped\n")


def upload(st, job, out_dir):
    files = []
    for root, _, names in os.walk(out_dir):
        files += [os.path.join(root, n) for n in names
                  if n in ("profile_export_aiperf.json", "profile_export.jsonl")]
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        if st.control["hostile_output"]:
            add_hostile_entries(tar)
        for f in files:
            tar.add(f, arcname="artifacts/" + os.path.basename(f))
    bucket, _, prefix = job["output"].removeprefix("s3://").partition("/")
    digest = hashlib.sha1(job["name"].encode()).hexdigest()[:8]
    key = f"{prefix.rstrip('/')}/bmk-prod-{job['name']}-{digest}/output.tar.gz".lstrip("/")
    s3 = boto3.client("s3", endpoint_url=st.s3_url, region_name=REGION,
                      aws_access_key_id="testing", aws_secret_access_key="testing")
    s3.put_object(Bucket=bucket, Key=key, Body=buf.getvalue())


# ---- the runtime: invocations, event streams ---------------------------------------

def die_with_parent():
    """The simulator is killed when the emulator dies (PR_SET_PDEATHSIG)."""
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)


def start_sim(binary):
    """A simulator for the runtime routes: TTFT 20 ms, ITL 2 ms."""
    proc = subprocess.Popen([binary, "sim", "--port", "0", "--ttft-ms", "20", "--itl-ms", "2"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            preexec_fn=die_with_parent)
    line = proc.stdout.readline()
    host_port = line.strip().rsplit("//", 1)[-1].split("/")[0]
    host, port = host_port.rsplit(":", 1)
    return {"proc": proc, "host": host, "port": int(port)}


def frame(headers, payload):
    """One event-stream message: prelude, prelude CRC, headers, payload, CRC."""
    hdr = b"".join(bytes([len(k)]) + k.encode() + b"\x07" + struct.pack(">H", len(v)) + v.encode()
                   for k, v in headers.items())
    total = 12 + len(hdr) + len(payload) + 4
    prelude = struct.pack(">II", total, len(hdr))
    msg = prelude + struct.pack(">I", zlib.crc32(prelude)) + hdr + payload
    return msg + struct.pack(">I", zlib.crc32(msg))


def payload_part(data):
    return frame({":event-type": "PayloadPart", ":content-type": "application/octet-stream",
                  ":message-type": "event"}, data)


def stream_failure(message):
    body = json.dumps({"Message": message, "ErrorCode": "StreamBroken"}).encode()
    return frame({":exception-type": "ModelStreamError", ":content-type": "application/json",
                  ":message-type": "exception"}, body)


def sim_request(st, body, stream):
    doc = json.loads(body)
    doc["stream"] = stream
    conn = http.client.HTTPConnection(st.sim["host"], st.sim["port"], timeout=120)
    conn.request("POST", "/v1/chat/completions", json.dumps(doc),
                 {"Content-Type": "application/json"})
    return conn, conn.getresponse()


# ---- HTTP ------------------------------------------------------------------------

def make_handler(st):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_):
            pass

        def reply(self, status, doc, error_type=None):
            data = json.dumps(doc).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/x-amz-json-1.1")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("x-amzn-RequestId", "emulator")
            if error_type:
                self.send_header("x-amzn-ErrorType", error_type)
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path == "/_control":
                doc = json.loads(body or b"{}")
                status = doc.pop("endpoint_status", None)
                if status:
                    st.endpoints = {e: status for e in st.endpoints}
                st.control.update(doc)
                return self.reply(200, {k: v for k, v in st.control.items()})
            if self.path == "/_seed":
                return self.reply(200, seed(st, json.loads(body or b"{}")))
            if self.path.startswith("/endpoints/"):
                return self.invoke(body)
            target = self.headers.get("X-Amz-Target", "")
            op = target.removeprefix("SageMaker.")
            if op not in OPS:
                return self.reply(400, {"__type": "UnknownOperationException", "message": f"unknown operation {target}"})
            try:
                with st.lock:
                    st.calls.append(op)
                    injected = st.control["fail_ops"].get(op)
                    if injected:
                        raise Fault(injected, f"injected {injected} for {op}")
                    doc = OPS[op](st, json.loads(body or b"{}"))
                self.reply(200, doc)
            except Fault as f:
                self.reply(400, {"__type": f.kind, "message": f.message})

        def invoke(self, body):
            parts = self.path.split("/")
            name, action = parts[2], parts[3] if len(parts) > 3 else ""
            op = {"invocations": "InvokeEndpoint",
                  "invocations-response-stream": "InvokeEndpointWithResponseStream"}.get(action)
            ic = self.headers.get("X-Amzn-SageMaker-Inference-Component")
            with st.lock:
                st.calls.append(f"{op}:{name}:{ic or ''}")
                injected = st.control["fail_ops"].get(op)
            if op is None:
                return self.reply(404, {"message": f"no route {self.path}"})
            if injected:
                return self.reply(400, {"message": f"injected {injected} for {op}"}, injected)
            if st.endpoints.get(name) != "InService":
                return self.reply(400, {"message": f"Endpoint {name} of account {ACCOUNT} not found."},
                                  "ValidationError")
            status = st.control["model_error"]
            if status:
                return self.reply(424, {"message": "Received client error from primary container",
                                        "OriginalStatusCode": status,
                                        "OriginalMessage": '{"error": "injected model failure"}'},
                                  "ModelError")
            if op == "InvokeEndpoint":
                return self.invoke_whole(body)
            self.invoke_stream(body)

        def invoke_whole(self, body):
            conn, resp = sim_request(st, body, False)
            data = resp.read()
            conn.close()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def invoke_stream(self, body):
            # Small frames go out at once, not held back by Nagle's algorithm.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn, resp = sim_request(st, body, True)
            self.send_response(200)
            self.send_header("Content-Type", "application/vnd.amazon.eventstream")
            self.send_header("X-Amzn-SageMaker-Content-Type", "text/event-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            sent = 0
            while True:
                data = resp.read1(65536)
                if not data:
                    break
                half = max(1, len(data) // 2)
                for piece in (data[:half], data[half:]):
                    if piece:
                        self.chunk(payload_part(piece))
                sent += 1
                if st.control["stream_error"] and sent == 1:
                    self.chunk(stream_failure("injected: the model's connection was reset"))
                    break
            conn.close()
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()

        def chunk(self, data):
            self.wfile.write(b"%x\r\n" % len(data) + data + b"\r\n")
            self.wfile.flush()

        def do_GET(self):
            if self.path == "/_calls":
                return self.reply(200, {"calls": st.calls,
                                        "jobs": {n: j["status"] for n, j in st.jobs.items()},
                                        "configs": sorted(st.configs)})
            self.reply(404, {"message": "not found"})

    return Handler


def main():
    binary, s3_url, *endpoints = sys.argv[1:]
    st = State(binary, s3_url, endpoints)
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(st))
    print(f"listening on http://127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
