"""Phase 4: hostile tool arguments. Paths and traversal where run ids go,
numbers beyond every limit, unknown fields, directories outside the allowed
ones, oversized labels and arrays, header and URL injection, garbage CA
certificates, and a few JSON-RPC lines no SDK would send (NaN, 1e999,
100,000-deep nesting, cut-off JSON). Each must come back as an isError or a
valid result (a JSON-RPC error for a line that is not valid JSON), nothing
outside the home may be read, written or deleted, no injected header may
reach an endpoint, and the server must stay responsive throughout."""

import json
import os
import select
import subprocess
import sys
import time
from dataclasses import dataclass

from harness import ACTIVE_STATES, PASSWD_MARK, ROOT, PhaseReport, RssSampler, Sandbox, log

CALL_BOUND_S = 10.0
RAW_BOUND_S = 5.0
# What a case may answer: `refuse` must be an isError; `fails` may also be
# accepted, but the run must then end on its own, and not as completed;
# `any` may be rows or an isError.
REFUSE, FAILS, ANY = "refuse", "fails", "any"
RUN_END_S = 20.0
INJECTED = "x-injected"


@dataclass
class Case:
    name: str
    tool: str
    args: dict
    expect: str = REFUSE
    bound: float = CALL_BOUND_S


@dataclass
class Fixtures:
    """What the cases point at: two completed runs, special files outside
    the home, a directory that must survive, and an echoing endpoint."""
    runs: list
    fifo: str
    outside: str
    sentinel: str
    echo_url: str


def sim(overrides: dict | None = None, **top) -> dict:
    return {"endpoint": {"url": "sim"}, "overrides": overrides or {"request_count": 3}, **top}


def url(u: str, **endpoint) -> dict:
    return {"endpoint": {"url": u, **endpoint}, "overrides": {"request_count": 3}}


def compare_cases(f: Fixtures) -> list[Case]:
    a, b = f.runs

    def compare(name: str, args: dict, expect: str = REFUSE) -> Case:
        return Case(f"compare {name}", "compare_results", args, expect)

    def ids(*run_ids: str) -> dict:
        return {"run_ids": list(run_ids)}

    pair = ids(a, b)
    return [
        compare("/etc/passwd", ids("/etc/passwd", a)),
        compare("/dev/zero", ids("/dev/zero", a)),
        compare("a FIFO", ids(f.fifo, a)),
        compare("a directory", ids(f.outside, a)),
        compare("../ to passwd", ids("../../../../etc/passwd", a)),
        compare("..", ids("..", a)),
        compare("../ to a real run", ids(a, f"../runs/{b}")),
        compare("20,000 ids", {"run_ids": [a, b] * 10000}, ANY),
        compare("10,000 unknown ids", {"run_ids": [f"r{i}" for i in range(10000)]}),
        compare("no ids", ids()),
        compare("NUL in id", ids("a\u0000b", a)),
        compare("baseline path", {"baseline": "/etc/passwd", "candidates": [a]}),
        compare("project_dir /etc", {**pair, "project_dir": "/etc"}),
        compare("project_dir ../..", {**pair, "project_dir": "../../.."}),
        compare("threshold -1", {**pair, "noise_threshold_percent": -1}, ANY),
        compare("threshold 1e308", {**pair, "noise_threshold_percent": 1e308}, ANY),
        compare("ids as a string", {"run_ids": f"{a},{b}"}),
        compare("unknown field", {**pair, "evil": True}),
        compare("two real runs", pair, ANY),
    ]


def override_cases() -> list[Case]:
    o = lambda name, **v: Case(f"override {name}", "start_benchmark", sim(v))  # noqa: E731
    return [
        o("concurrency 1e9", concurrency=1_000_000_000),
        o("concurrency 2^64", concurrency=2 ** 64),
        o("concurrency -5", concurrency=-5),
        o("concurrency 0", concurrency=0),
        o("concurrency 1.5", concurrency=1.5),
        o("duration 1e20", duration_s=1e20),
        o("duration -3", duration_s=-3),
        o("duration 'NaN'", duration_s="NaN"),
        o("rate 1e-300", request_rate=1e-300),
        o("rate 0", request_rate=0),
        o("input tokens 1e9", input_tokens=1_000_000_000),
        o("output tokens 1e9", output_tokens=1_000_000_000),
        o("request count -1", request_count=-1),
        o("request count 1e10", request_count=10_000_000_000),
        o("timeout 0", request_timeout_s=0),
        o("timeout 1e12", request_timeout_s=1e12),
        o("grace -1", grace_period_s=-1),
        o("warmup 2^32-1", warmup_requests=2 ** 32 - 1),
        o("100,000 levels", concurrency_levels=[1] * 100000),
        o("unknown override", evil=True),
        Case("unknown top-level field", "start_benchmark", sim(evil=1)),
        Case("label 10 KB", "start_benchmark", sim(label="x" * 10240)),
        Case("workload path", "start_benchmark", sim(workload="../../etc/passwd")),
        Case("workload 100 KB", "start_benchmark", sim(workload="w" * 100000)),
    ]


def endpoint_cases(f: Fixtures) -> list[Case]:
    echo = lambda **e: {"endpoint": {"url": f.echo_url, "model": "m", **e},  # noqa: E731
                        "overrides": {"request_count": 1, "concurrency": 1}, "force": True}
    start = lambda name, args, expect=FAILS: Case(name, "start_benchmark", args, expect)  # noqa: E731
    pem = "-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n"
    return [
        start("header value CR/LF", echo(headers={"X-A": f"v\r\n{INJECTED}: 1"})),
        start("header value LF", echo(headers={"X-A": f"v\n{INJECTED}: 1"})),
        start("header name CR/LF", echo(headers={f"X-A\r\n{INJECTED}": "1"})),
        start("header name with colon", echo(headers={f"{INJECTED}: 1\r\nX": "1"})),
        start("10,000 headers", echo(headers={f"X-{i}": "v" for i in range(10000)})),
        start("header value 1 MB", echo(headers={"X-Big": "v" * (1 << 20)})),
        start("model with CR/LF", echo(model=f"m\r\n{INJECTED}: 1")),
        start("api_key_env HOME, endpoint not allowed", echo(api_key_env="HOME"), REFUSE),
        start("api_key_env HOME, simulator", url("sim", api_key_env="HOME"), ANY),
        start("url file:///etc/passwd", url("file:///etc/passwd")),
        start("url ftp://", url("ftp://127.0.0.1:9/v1")),
        start("url http://[::1", url("http://[::1")),
        start("url sagemaker://../x", url("sagemaker://../x")),
        start("url empty", url("")),
        start("url port 0", url("http://127.0.0.1:0/v1")),
        start("url with CR/LF", url(f"http://127.0.0.1:9/v1\r\n{INJECTED}: 1")),
        start("url 100 KB", url("http://127.0.0.1:9/" + "a" * 100000)),
        start("ca_cert garbage PEM", url("https://127.0.0.1:9/v1", ca_cert=pem)),
        start("ca_cert 2 MB junk", url("https://127.0.0.1:9/v1", ca_cert="A" * (2 << 20))),
        start("api path", url("sim", api="../../etc"), REFUSE),
        start("engine sagemaker project /etc", {"engine": "sagemaker", "project_dir": "/etc"}, REFUSE),
        start("project_dir ../../..", {"engine": "local", "project_dir": "../../../.."}, REFUSE),
        start("engine unknown", sim(engine="../../x"), REFUSE),
    ]


def other_cases(f: Fixtures) -> list[Case]:
    sentinel = os.path.relpath(f.sentinel, "/")
    wipe = {"delete_local_artifacts": True, "force": True}
    job = {"model_id": "o/m", "mode": "processing_job"}
    run = f.runs[0]
    return [
        Case("clean ../ outside", "clean", {"run_id": f"../../{sentinel}", **wipe}),
        Case("clean absolute", "clean", {"run_id": f.sentinel, **wipe}),
        Case("clean /", "clean", {"run_id": "/", **wipe}),
        Case("clean ..", "clean", {"run_id": "..", **wipe}),
        Case("clean empty id", "clean", {"run_id": "", "delete_local_artifacts": True}),
        Case("clean *", "clean", {"run_id": "*", **wipe}),
        Case("clean nothing named", "clean", {}),
        Case("stage image", "stage_model", {**job, "image": "evil/img"}),
        Case("stage local_dir /etc", "stage_model", {"model_id": "o/m", "local_dir": "/etc"}),
        Case("stage local_dir ../..", "stage_model", {"model_id": "o/m", "local_dir": "../../../../"}),
        Case("stage project_dir /", "stage_model", {"model_id": "o/m", "project_dir": "/"}),
        Case("stage model_id path", "stage_model", {"model_id": "../../etc/passwd", "bucket": "b"}),
        Case("stage volume -1", "stage_model", {**job, "volume_gb": -1}),
        Case("status path id", "get_status", {"run_id": "../../etc/passwd"}),
        Case("status wait 1e308", "get_status", {"run_id": run, "wait_seconds": 1e308}, ANY, 55),
        Case("status wait -5", "get_status", {"run_id": run, "wait_seconds": -5}, ANY),
        Case("fetch path id", "fetch_results", {"run_id": "../../../etc", "detail": "full"}),
        Case("fetch detail path", "fetch_results", {"run_id": run, "detail": "../../x"}, ANY),
        Case("cancel path id", "cancel_benchmark", {"run_id": "../../x"}),
        Case("list limit 1e12", "list_benchmarks", {"limit": 10 ** 12}, ANY),
        Case("list cursor garbage", "list_benchmarks", {"cursor": "!!!\u0000"}, ANY),
        Case("list status path", "list_benchmarks", {"status": "../../"}, ANY),
        Case("query limit 1e12", "query_results", {"sql": "SELECT 1", "limit": 10 ** 12}, ANY),
        Case("query target path", "query_results", {"sql": "SELECT 1", "target": "../../etc"}),
        Case("query target athena (no AWS)", "query_results", {"sql": "SELECT 1", "target": "athena"}, ANY, 30),
        Case("profile path", "get_workload_profile", {"workload": "../../etc/passwd"}),
        Case("resource run path", "resource", {"uri": "mcc-bench://runs/../../../etc/passwd/status"}),
        Case("resource export path", "resource", {"uri": f"mcc-bench://runs/{run}/../../../../etc/passwd"}),
        Case("resource file uri", "resource", {"uri": "file:///etc/passwd"}),
    ]


# --- running the cases ---------------------------------------------------------

class ArgsRun:
    """The phase's server (restarted if a case kills it) and report."""

    def __init__(self, box: Sandbox, report: PhaseReport, server):
        self.box, self.report, self.server = box, report, server

    async def one(self, case: Case) -> None:
        report, before = self.report, len(self.report.failures)
        if case.tool == "resource":
            a = await self.server.read_resource(case.args["uri"], timeout=case.bound)
            a.kind = "is_error" if a.kind == "jsonrpc_error" else a.kind
        else:
            a = await self.server.call(case.tool, case.args, timeout=case.bound + 5)
        report.outcomes[a.kind] += 1
        repro = f"{case.tool} {json.dumps(case.args)[:200]}"
        self.judge(case, a, repro)
        if case.tool == "start_benchmark" and a.kind == "result":
            await self.follow(a.data["run_id"], case, repro)
        if await self.server.survived(a):
            await report.probe(self.server, case.name)
        else:
            report.fail(case.name, "the server survives", a.brief(), repro)
            await self.server.close()
            self.server = await self.box.server()
        report.count += 1
        report.account(case.name, before)
        log(f"  args {case.name}: {a.kind} in {a.seconds:.2f}s")

    def judge(self, case: Case, a, repro: str) -> None:
        report = self.report
        if not a.answered:
            report.fail(case.name, "isError or a result", a.brief(), repro)
        elif a.seconds > case.bound:
            report.fail(case.name, f"answered within {case.bound:.0f} s", a.brief(), repro)
        if case.expect == REFUSE and a.kind == "result":
            report.fail(case.name, "refused", a.brief(), repro)
        if PASSWD_MARK in a.shown():
            report.fail(case.name, "nothing outside the home is read", a.brief(), repro)

    async def follow(self, run_id: str, case: Case, repro: str) -> None:
        """An accepted run must end on its own (a `fails` case: not as
        completed); one still going after RUN_END_S is cancelled."""
        deadline = time.monotonic() + RUN_END_S
        status = None
        while time.monotonic() < deadline:
            s = await self.server.call("get_status", {"run_id": run_id, "wait_seconds": 3})
            if s.kind != "result":
                self.report.fail(case.name, "get_status answers", s.brief(), repro)
                return
            status = s.data
            if status["status"] not in ACTIVE_STATES:
                break
        if PASSWD_MARK in json.dumps(status):
            self.report.fail(case.name, "nothing outside the home is read", json.dumps(status)[:200], repro)
        end = f"{status['status']}: {(status.get('failure') or '')[:160]}"
        self.report.observe(case.name, "accepted, then", end)
        if status["status"] in ACTIVE_STATES:
            await self.server.call("cancel_benchmark", {"run_id": run_id})
            self.report.fail(case.name, "an accepted run ends", f"{run_id} still {end}", repro)
        elif case.expect == FAILS and status["status"] == "completed":
            self.report.fail(case.name, "a run against it fails", f"{run_id} {end}", repro)


# --- JSON-RPC lines no SDK would send -----------------------------------------

def raw_lines() -> list[tuple[str, str]]:
    def call(rid: int, tool: str, arguments: str) -> str:
        return ('{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"%s","arguments":%s}}'
                % (rid, tool, arguments))

    def duration(value: str) -> str:
        return '{"endpoint":{"url":"sim"},"overrides":{"duration_s":%s}}' % value

    deep = "[" * 100000 + "]" * 100000
    return [
        ("NaN number (not JSON)", call(10, "start_benchmark", duration("NaN"))),
        ("Infinity (not JSON)", call(11, "start_benchmark", duration("Infinity"))),
        ("1e999 (valid JSON)", call(12, "start_benchmark", duration("1e999"))),
        ("lone surrogate escape", call(13, "get_status", '{"run_id":"\\ud800"}')),
        ("100,000-deep arrays (valid JSON)", call(14, "get_status", '{"run_id":%s}' % deep)),
        ("cut-off message", '{"jsonrpc":"2.0","id":15,"method":"tools/call","params":{'),
        ("duplicate keys", call(16, "get_status", '{"run_id":"a","run_id":"b"}')),
        ("5 MB label", call(17, "start_benchmark", '{"endpoint":{"url":"sim"},"label":"%s"}' % ("x" * (5 << 20)))),
    ]


class RawServer:
    """`mcc-bench serve` on plain pipes, for lines the SDK would not send."""

    def __init__(self, box: Sandbox):
        log_file = open(box.logs / "serve-raw.log", "w")
        self.proc = subprocess.Popen([box.campaign.bin, "serve", "--home", str(box.home)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log_file,
                                     env={**box.env(), "PATH": os.environ.get("PATH", "")},
                                     cwd=box.work, start_new_session=True)
        log_file.close()
        self.buf = b""

    def send(self, line: str) -> None:
        self.proc.stdin.write(line.encode("utf-8", "surrogatepass") + b"\n")
        self.proc.stdin.flush()

    def reply(self, timeout: float) -> dict | None:
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self.proc.stdout], [], [], max(left, 0))
            chunk = os.read(self.proc.stdout.fileno(), 1 << 20) if ready else b""
            if not chunk:
                return None
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def handshake(self) -> None:
        self.send(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {},
            "clientInfo": {"name": "reliability-campaign", "version": "1"}}}))
        self.reply(10)
        self.send(json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}))

    def ping(self) -> float | None:
        t0 = time.monotonic()
        self.send(json.dumps({"jsonrpc": "2.0", "id": 99, "method": "ping"}))
        r = self.reply(RAW_BOUND_S)
        return time.monotonic() - t0 if r and r.get("id") == 99 else None

    def close(self) -> None:
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def raw_phase(box: Sandbox, report: PhaseReport) -> None:
    server = RawServer(box)
    server.handshake()
    for name, line in raw_lines():
        before = len(report.failures)
        server.send(line)
        r = server.reply(RAW_BOUND_S)
        kind = "no answer" if r is None else ("jsonrpc_error" if "error" in r else
                                              ("is_error" if r["result"].get("isError") else "result"))
        report.outcomes[f"raw {kind}"] += 1
        repro = f"one stdio line: {line[:160]}{'…' if len(line) > 160 else ''} ({len(line)} bytes)"
        if r is None:
            report.fail(f"raw {name}", "answered (a JSON-RPC error at least)",
                        f"no reply within {RAW_BOUND_S:.0f}s", repro)
        elif PASSWD_MARK in json.dumps(r):
            report.fail(f"raw {name}", "nothing outside the home is read", json.dumps(r)[:200], repro)
        took = server.ping() if server.proc.poll() is None else None
        if took is None:
            report.fail(f"raw {name}", "the server survives", f"exit {server.proc.poll()}", repro)
            server.close()
            server = RawServer(box)
            server.handshake()
        else:
            report.probes += 1
            report.probe_max_ms = max(report.probe_max_ms, took * 1000)
        report.count += 1
        report.account(f"raw {name}", before)
        log(f"  raw {name}: {kind}")
    server.close()


# --- fixtures and the phase -----------------------------------------------------

async def completed_run(server) -> str:
    args = {"workload": "sample", "endpoint": {"url": "sim"}, "force": True,
            "overrides": {"request_count": 10, "output_tokens": 8}}
    run_id = (await server.call("start_benchmark", args)).data["run_id"]
    for _ in range(10):
        s = await server.call("get_status", {"run_id": run_id, "wait_seconds": 5})
        if s.data["status"] not in ACTIVE_STATES:
            break
    return run_id


async def fixtures(box: Sandbox, server) -> Fixtures:
    fifo = box.outside / "fifo"
    os.mkfifo(fifo)
    sentinel = box.outside / "keep-me"
    sentinel.mkdir()
    (sentinel / "results.json").write_text("{}")
    _, port = box.helper([sys.executable, str(ROOT / "tests/hostile/endpoint.py"), "echo",
                          str(box.logs / "echo.requests")])
    runs = [await completed_run(server) for _ in range(2)]
    return Fixtures(runs, str(fifo), str(box.outside), str(sentinel), f"http://127.0.0.1:{port}/v1")


def check_after(box: Sandbox, report: PhaseReport, f: Fixtures) -> None:
    if not os.path.exists(os.path.join(f.sentinel, "results.json")):
        report.fail("clean cases", "nothing outside the home is deleted", f"{f.sentinel} is gone")
    requests = box.logs / "echo.requests"
    sent = requests.read_text() if requests.exists() else ""
    injected = [line for line in sent.splitlines() if INJECTED in line.lower()]
    if injected:
        report.fail("header cases", "no injected header reaches the endpoint", injected[0][:300])
    state = box.home / "state.json"
    try:
        json.loads(state.read_text())
    except ValueError as e:
        report.fail("all cases", "state.json parses", str(e))
    for run_id in f.runs:
        if not (box.home / "runs" / run_id / "results.json").exists():
            report.fail("all cases", "completed runs keep their results", run_id)
    if any(box.work.iterdir()):
        report.fail("all cases", "nothing written in the working directory",
                    str(sorted(p.name for p in box.work.iterdir())))


async def run(campaign) -> PhaseReport:
    report = PhaseReport("4. hostile tool arguments", "inputs")
    async with Sandbox(campaign, "args") as box:
        run = ArgsRun(box, report, await box.server())
        f = await fixtures(box, run.server)
        cases = compare_cases(f) + override_cases() + endpoint_cases(f) + other_cases(f)
        with RssSampler() as rss:
            rss.watch("server", run.server.pid)
            for case in cases:
                await run.one(case)
                rss.watch("server", run.server.pid)
        report.rss(rss)
        await run.server.close()
        raw_phase(box, report)
        check_after(box, report, f)
        if report.failures:
            box.keep = True
    return report
