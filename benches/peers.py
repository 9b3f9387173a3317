"""Three load generators side by side against one independent server: NVIDIA
AIPerf, GuideLLM and mcc-bench send the same streaming chat workload (200
input / 50 output tokens, closed loop) one after the other to the interop app
(FastAPI on uvicorn with httptools; TTFT 50 ms, ITL 10 ms, leading role
chunk on). The server's request log is the truth: its TTFT per request is
first_token_mono_ns - recv_mono_ns, for the requests received while that
client ran.

Usage (the Python of scripts/peers-env, which has AIPerf, GuideLLM and psutil):
  python benches/peers.py --mcc-bench PATH [--repeat K] [--json-out FILE]
                          [--requests N] [--concurrency C] [--clients A,B]
                          [--warmup N]
Each repetition runs the three clients in turn against the same server
process; figures are medians over the K repetitions. Prints a Markdown table
and the command lines; --json-out writes every figure of every run. The
working directory (tool outputs, server log) is kept and its path printed.

Per client: TTFT p50/p99 as the client reports it (its own output files), the
server's TTFT p50/p99 over the same requests and the difference (client -
server); where the client sends x-request-id and records it (AIPerf,
mcc-bench), the same difference paired request by request; client CPU per
request (getrusage of the reaped process tree, start-up included); peak RSS
summed over the client's process tree, sampled every 50 ms; wall time.
"""

import argparse
import json
import os
import resource
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import time

import psutil

import wire_truth

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(sys.executable)
MODEL = "interop-model"
SERVER_KIND = "uvicorn-httptools"
SERVER_SETTINGS = {"INTEROP_TTFT_MS": "50", "INTEROP_ITL_MS": "10"}
INPUT_TOKENS = 200
OUTPUT_TOKENS = 50
SAMPLE_S = 0.05
RUN_TIMEOUT_S = 900
LOG_WAIT_S = 5
OFFLINE = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}


def build_tokenizer(path):
    """A word-level Hugging Face tokenizer (tokenizer.json +
    tokenizer_config.json) whose vocabulary covers both tools' prompt sources:
    AIPerf's Shakespeare corpus and Faker's lorem words (GuideLLM). One token
    is one word or punctuation mark, so the server's word count matches."""
    import aiperf
    from faker.providers.lorem.en_US import Provider
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    corpus = os.path.join(os.path.dirname(aiperf.__file__),
                          "dataset/generator/assets/shakespeare.txt")

    def texts():
        with open(corpus, encoding="utf-8") as f:
            yield from f
        yield " ".join(Provider.word_list) + " . , ! ? ; : - ' \""

    tok = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.train_from_iterator(texts(), trainers.WordLevelTrainer(
        vocab_size=1 << 20, special_tokens=["[UNK]"]))
    PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]").save_pretrained(path)


def start_server(log):
    settings = [f"{k}={v}" for k, v in SERVER_SETTINGS.items()]
    out = subprocess.run([os.path.join(ROOT, "scripts/interop-env"), "start", SERVER_KIND, log,
                          *settings], check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def stop_server(pid):
    subprocess.run([os.path.join(ROOT, "scripts/interop-env"), "stop", str(pid)], check=False)


# --- the three clients: command line (argv, environment changes) and reader ---

def aiperf_command(ctx, out):
    argv = [os.path.join(BIN, "aiperf"), "profile",
            "--model", MODEL, "--url", ctx["url"], "--endpoint-type", "chat", "--streaming",
            "--tokenizer", ctx["tokenizer"],
            "--concurrency", str(ctx["concurrency"]), "--request-count", str(ctx["requests"]),
            "--synthetic-input-tokens-mean", str(INPUT_TOKENS),
            "--output-tokens-mean", str(OUTPUT_TOKENS),
            "--artifact-dir", out,
            "--ui", "none", "--no-server-metrics", "--no-gpu-telemetry"]
    if ctx["warmup"]:
        argv += ["--warmup-request-count", str(ctx["warmup"])]
    # AIPerf 0.13 in offline mode looks a tokenizer directory up in the Hub
    # cache and fails; without it, a local directory loads with no network.
    return argv, dict.fromkeys(OFFLINE)


def guidellm_command(ctx, out):
    argv = [os.path.join(BIN, "guidellm"), "run",
            # validate_backend=false: the check is a GET /health, which only vLLM serves.
            "--backend", f"kind=openai_http,target={ctx['url']},model={MODEL},"
                         "validate_backend=false",
            "--profile", f"kind=concurrent,streams={ctx['concurrency']}",
            "--constraint", f"kind=max_requests,count={ctx['requests']}",
            "--tokenizer", f"kind=hf_auto,model={ctx['tokenizer']}",
            "--data", f"kind=synthetic_text,prompt_tokens={INPUT_TOKENS},"
                      f"output_tokens={OUTPUT_TOKENS}",
            "--output", f"kind=json,path={os.path.join(out, 'benchmarks.json')}",
            "--disable-console-interactive"]
    return argv, OFFLINE


def mcc_bench_command(ctx, out):
    argv = [ctx["mcc_bench"], "run",
            "--endpoint", f"{ctx['url']}/v1", "--model", MODEL, "--api", "chat", "--streaming",
            "--concurrency", str(ctx["concurrency"]), "--request-count", str(ctx["requests"]),
            "--input-tokens", str(INPUT_TOKENS), "--output-tokens", str(OUTPUT_TOKENS),
            "--tokenizer", ctx["tokenizer"], "--output-dir", out, "--no-progress",
            "--warmup-requests", str(ctx["warmup"])]
    # The run history goes to the working directory, not the user's state.
    return argv, {"MCC_BENCH_HOME": os.path.join(ctx["workdir"], "mcc-bench-home")}


def read_aiperf_format(out):
    """AIPerf's export layout (mcc-bench writes the same): the summary's TTFT
    percentiles and, per successful record, x-request-id -> TTFT ms."""
    with open(os.path.join(out, "profile_export_aiperf.json")) as f:
        ttft = json.load(f)["time_to_first_token"]
    per_request = {}
    with open(os.path.join(out, "profile_export.jsonl")) as f:
        for line in f:
            rec = json.loads(line)
            meta = rec["metadata"]
            if rec.get("error") is None and meta.get("benchmark_phase") == "profiling":
                per_request[meta["x_request_id"]] = rec["metrics"]["time_to_first_token"]["value"]
    return {"ok": len(per_request), "p50": ttft["p50"], "p99": ttft["p99"],
            "per_request": per_request}


def read_guidellm(out):
    """GuideLLM sends no request id, so only its summary is comparable."""
    with open(os.path.join(out, "benchmarks.json")) as f:
        metrics = json.load(f)["benchmarks"][0]["metrics"]
    ttft = metrics["time_to_first_token_ms"]["successful"]["percentiles"]
    return {"ok": metrics["request_totals"]["successful"], "p50": ttft["p50"],
            "p99": ttft["p99"], "per_request": None}


CLIENTS = [
    ("AIPerf 0.13.0", aiperf_command, read_aiperf_format),
    ("GuideLLM 0.8.1", guidellm_command, read_guidellm),
    ("mcc-bench", mcc_bench_command, read_aiperf_format),
]


# --- measurement ---

def children_cpu_s():
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def tree_rss(root):
    total = 0
    try:
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    for p in procs:
        try:
            total += p.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total


def run_measured(argv, env, log_path):
    """Runs the client to completion: wall time, CPU of the reaped tree, peak
    summed RSS of the tree, and the CLOCK_MONOTONIC window it ran in."""
    cpu0 = children_cpu_s()
    t0 = time.monotonic_ns()
    with open(log_path, "w") as log:
        proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        root = psutil.Process(proc.pid)
        peak = 0
        while proc.poll() is None:
            if time.monotonic_ns() - t0 > RUN_TIMEOUT_S * 1e9:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                break
            peak = max(peak, tree_rss(root))
            time.sleep(SAMPLE_S)
    t1 = time.monotonic_ns()
    return {"rc": proc.returncode, "t0": t0, "t1": t1, "wall_s": (t1 - t0) / 1e9,
            "cpu_s": children_cpu_s() - cpu0, "peak_rss_mb": peak / 1e6}


def server_window(log, t0, t1, expected):
    """Log lines of requests received in [t0, t1]. A line is written when its
    response ends, so wait (bounded) until the expected chat lines are in."""
    deadline = time.monotonic() + LOG_WAIT_S
    while True:
        with open(log) as f:
            lines = [json.loads(l) for l in f if l.endswith("\n")]
        window = [r for r in lines if t0 <= r["recv_mono_ns"] <= t1]
        if sum(r["route"] == "chat" for r in window) >= expected or time.monotonic() > deadline:
            return window


def server_ttft_ms(line):
    return (line["first_token_mono_ns"] - line["recv_mono_ns"]) / 1e6


def percentile(values, q):
    """Linear interpolation between closest ranks (numpy's default)."""
    v = sorted(values)
    if not v:
        return None
    k = (len(v) - 1) * q / 100
    lo = int(k)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def sub(a, b):
    return None if a is None or b is None else a - b


def problems_of(run, client, window, requests):
    chat = [r for r in window if r["route"] == "chat"]
    found = []
    if run["rc"] != 0:
        found.append(f"exit code {run['rc']}")
    if client and client["ok"] != requests:
        found.append(f"client counts {client['ok']} successful requests")
    if len(chat) != requests:
        found.append(f"server logged {len(chat)} chat requests")
    bad = [r for r in chat if r["status"] != 200 or not r["completed"]
           or r["max_tokens"] != OUTPUT_TOKENS or len(r["token_mono_ns"]) != OUTPUT_TOKENS]
    if bad:
        found.append(f"{len(bad)} responses not 200 / incomplete / not {OUTPUT_TOKENS} tokens")
    if len(window) != len(chat):
        found.append(f"{len(window) - len(chat)} other requests (not chat)")
    return found


def read_output(read, out):
    try:
        return read(out), []
    except (OSError, KeyError, IndexError, ValueError) as e:
        return None, [f"output not readable: {e!r}"]


def measure_client(ctx, name, command, read, rep):
    out = os.path.join(ctx["workdir"], f"rep{rep}-{name.split()[0].lower()}")
    os.makedirs(out)
    argv, env_changes = command(ctx, out)
    env = {k: v for k, v in {**os.environ, **env_changes}.items() if v is not None}
    capture = wire_truth.Capture(out + ".pcap", ctx["port"]) if ctx["wire"] else None
    run = run_measured(argv, env, out + ".log")
    dropped = capture.stop() if capture else None
    window = server_window(ctx["server_log"], run["t0"], run["t1"], ctx["requests"])
    # The warmup requests are the first the server received; they are not
    # measured by the clients, so they are not the truth either.
    chat_times = sorted(r["recv_mono_ns"] for r in window if r["route"] == "chat")
    if ctx["warmup"] and command is not guidellm_command and len(chat_times) > ctx["warmup"]:
        cut = chat_times[ctx["warmup"] - 1]
        window = [r for r in window if r["route"] != "chat" or r["recv_mono_ns"] > cut]
    client, unreadable = read_output(read, out)
    chat = [r for r in window if r["route"] == "chat" and r["first_token_mono_ns"] is not None]
    truth_ms = [server_ttft_ms(r) for r in chat]
    truth_by_id = {r["x_request_id"]: server_ttft_ms(r) for r in chat if r["x_request_id"]}
    ok = client["ok"] if client else 0
    figures = {
        "ok": ok,
        "server_requests": len(truth_ms),
        "wall_s": run["wall_s"],
        "cpu_ms_per_request": 1000 * run["cpu_s"] / ok if ok else None,
        "cpu_s": run["cpu_s"],
        "peak_rss_mb": run["peak_rss_mb"],
        "client_ttft_p50_ms": client["p50"] if client else None,
        "client_ttft_p99_ms": client["p99"] if client else None,
        "server_ttft_p50_ms": percentile(truth_ms, 50),
        "server_ttft_p99_ms": percentile(truth_ms, 99),
    }
    figures["error_p50_ms"] = sub(figures["client_ttft_p50_ms"], figures["server_ttft_p50_ms"])
    figures["error_p99_ms"] = sub(figures["client_ttft_p99_ms"], figures["server_ttft_p99_ms"])
    if client and client["per_request"] is not None:
        paired = [ms - truth_by_id[rid] for rid, ms in client["per_request"].items()
                  if rid in truth_by_id]
        figures["paired_requests"] = len(paired)
        figures["paired_error_p50_ms"] = percentile(paired, 50)
        figures["paired_error_p99_ms"] = percentile(paired, 99)
    wire_problems = []
    if capture:
        wire_problems = wire_figures(figures, out + ".pcap", ctx, client, truth_by_id, dropped)
    figures["problems"] = (unreadable + wire_problems
                           + problems_of(run, client, window, ctx["requests"]))
    return figures, render_command(argv, env_changes)


def wire_figures(figures, pcap, ctx, client, truth_by_id, dropped):
    """The same requests paired with the capture's wire TTFT: the client's
    error against the wire, and the server log's own error against it."""
    wire = wire_truth.wire_ttft(pcap, ctx["port"])
    problems = [] if dropped == 0 else [f"capture: {dropped} packets dropped by the kernel"]
    if client and client["per_request"] is not None:
        paired = [ms - wire[rid] for rid, ms in client["per_request"].items() if rid in wire]
        figures["wire_paired_requests"] = len(paired)
        figures["wire_error_p50_ms"] = percentile(paired, 50)
        figures["wire_error_p99_ms"] = percentile(paired, 99)
        figures["wire_error_max_ms"] = max(paired) if paired else None
        if len(paired) != client["ok"]:
            problems.append(f"capture: {len(paired)} of {client['ok']} requests on the wire")
    server_lag = [truth_by_id[rid] - ms for rid, ms in wire.items() if rid in truth_by_id]
    figures["server_log_vs_wire_p50_ms"] = percentile(server_lag, 50)
    figures["server_log_vs_wire_p99_ms"] = percentile(server_lag, 99)
    return problems


def render_command(argv, env_changes):
    unset = [k for k, v in env_changes.items() if v is None]
    prefix = ["env", *[a for k in unset for a in ("-u", k)]] if unset else []
    prefix += [f"{k}={v}" for k, v in env_changes.items() if v is not None]
    return shlex.join(prefix + argv)


def medians(runs):
    keys = [k for k, v in runs[0].items() if isinstance(v, (int, float))]
    out = {}
    for k in keys:
        values = [r[k] for r in runs if r.get(k) is not None]
        out[k] = statistics.median(values) if values else None
    return out


# --- report ---

def fmt(v, digits=1):
    return "n/a" if v is None else f"{v:,.{digits}f}"


def table(results):
    rows = ["| client | ok / server-logged | wall s | TTFT p50 ms: client / server / error "
            "| TTFT p99 ms: client / server / error | paired error p50 / p99 ms "
            "| CPU ms / request | peak RSS MB |",
            "|---|---|---|---|---|---|---|---|"]
    for name, res in results.items():
        m = res["median"]
        paired = (f"{fmt(m['paired_error_p50_ms'], 2)} / {fmt(m['paired_error_p99_ms'], 2)}"
                  if m.get("paired_error_p50_ms") is not None else "no request id")
        rows.append(
            f"| {name} | {fmt(m['ok'], 0)} / {fmt(m['server_requests'], 0)} | {fmt(m['wall_s'])} "
            f"| {fmt(m['client_ttft_p50_ms'], 2)} / {fmt(m['server_ttft_p50_ms'], 2)} / "
            f"{fmt(m['error_p50_ms'], 2)} "
            f"| {fmt(m['client_ttft_p99_ms'], 2)} / {fmt(m['server_ttft_p99_ms'], 2)} / "
            f"{fmt(m['error_p99_ms'], 2)} "
            f"| {paired} | {fmt(m['cpu_ms_per_request'], 2)} | {fmt(m['peak_rss_mb'], 0)} |")
    return "\n".join(rows)


def wire_table(results):
    rows = ["| client | paired on the wire | client − wire TTFT p50 / p99 / max ms "
            "| server log − wire TTFT p50 / p99 ms |", "|---|---|---|---|"]
    for name, res in results.items():
        m = res["median"]
        rows.append(
            f"| {name} | {fmt(m.get('wire_paired_requests'), 0)} "
            f"| {fmt(m.get('wire_error_p50_ms'), 3)} / {fmt(m.get('wire_error_p99_ms'), 3)} / "
            f"{fmt(m.get('wire_error_max_ms'), 3)} "
            f"| {fmt(m.get('server_log_vs_wire_p50_ms'), 3)} / "
            f"{fmt(m.get('server_log_vs_wire_p99_ms'), 3)} |")
    return "\n".join(rows)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mcc-bench", required=True, help="mcc-bench binary")
    ap.add_argument("--repeat", type=int, default=1, help="interleaved repetitions (median)")
    ap.add_argument("--json-out", help="write all figures here")
    ap.add_argument("--requests", type=int, default=400)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--warmup", type=int, default=0,
                    help="warmup requests before measuring (AIPerf and mcc-bench; "
                         "GuideLLM runs without)")
    ap.add_argument("--wire", action="store_true",
                    help="capture loopback with tcpdump (root) and pair each request with "
                         "its TTFT on the wire, a truth independent of client and server")
    ap.add_argument("--clients", default=",".join(n for n, _, _ in CLIENTS),
                    help="comma-separated subset of the clients to run")
    args = ap.parse_args()
    chosen = [c for c in CLIENTS if c[0] in args.clients.split(",")]

    workdir = tempfile.mkdtemp(prefix="mcc-bench-peers-")
    tokenizer = os.path.join(workdir, "tokenizer")
    build_tokenizer(tokenizer)
    server_log = os.path.join(workdir, "server.log")
    server = start_server(server_log)
    ctx = {"url": server["url"], "tokenizer": tokenizer, "workdir": workdir,
           "server_log": server_log, "requests": args.requests,
           "concurrency": args.concurrency, "mcc_bench": os.path.abspath(args.mcc_bench),
           "warmup": args.warmup, "wire": args.wire,
           "port": int(server["url"].rsplit(":", 1)[1].split("/")[0])}
    runs = {name: [] for name, _, _ in chosen}
    commands = {}
    try:
        for rep in range(1, args.repeat + 1):
            for name, command, read in chosen:
                figures, commands[name] = measure_client(ctx, name, command, read, rep)
                runs[name].append(figures)
                print(f"[{rep}/{args.repeat}] {name}: {figures['ok']} ok, "
                      f"{figures['wall_s']:.1f} s"
                      + "".join(f"; {p}" for p in figures["problems"]), file=sys.stderr)
    finally:
        stop_server(server["pid"])

    results = {name: {"median": medians(r), "runs": r, "command": commands[name]}
               for name, r in runs.items()}
    print(f"Streaming chat, concurrency {args.concurrency}, {args.requests} requests, "
          f"{INPUT_TOKENS} input / {OUTPUT_TOKENS} output tokens, against {SERVER_KIND} "
          f"({', '.join(f'{k}={v}' for k, v in SERVER_SETTINGS.items())}); "
          f"median of {args.repeat} run(s) each, interleaved.\n")
    print(table(results))
    if args.wire:
        print("\nAgainst the wire (loopback capture, kernel timestamps):\n")
        print(wire_table(results))
    print("\nCommands:\n")
    for name, res in results.items():
        print(f"- {name}: `{res['command']}`")
    problems = [f"{n} run {i + 1}: {p}" for n, r in runs.items()
                for i, f in enumerate(r) for p in f["problems"]]
    if problems:
        print("\nProblems:\n" + "\n".join(f"- {p}" for p in problems))
    print(f"\nOutputs and server log: {workdir}")
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump({"workload": {"api": "chat", "streaming": True,
                                    "concurrency": args.concurrency,
                                    "requests": args.requests, "input_tokens": INPUT_TOKENS,
                                    "output_tokens": OUTPUT_TOKENS, "model": MODEL},
                       "server": {"kind": SERVER_KIND, **SERVER_SETTINGS},
                       "repeat": args.repeat, "workdir": workdir, "clients": results},
                      f, indent=2)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
