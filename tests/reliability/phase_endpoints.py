"""Phase 2: hostile endpoints. A run against each must end within a bound
with its errors classified, while the server answers list_workloads within
1 s and its RSS stays bounded. The hostile HTTP endpoints are
tests/hostile/endpoint.py (echo, endless, huge-models); below HTTP,
tests/reliability/listeners.py (half-open, stall-head, rst, refused,
garbage), each once through model discovery and once with the model named
(straight to generation requests)."""

import json
import sys
import time

from harness import (ACTIVE_STATES, ERROR_KINDS, HERE, ROOT, PhaseReport, RssSampler, Sandbox,
                     log, rss_kib, runners_of, wait_until)

HOSTILE_HTTP = ROOT / "tests/hostile/endpoint.py"
HOSTILE_TCP = HERE / "listeners.py"
HTTP_MODES = ("echo", "endless", "huge-models")
TCP_MODES = ("half-open", "stall-head", "rst", "refused", "garbage")
# Discovery gives up after 15 s; three requests of 2 s plus 1 s of grace
# come after it. Anything past this is a stuck run.
END_BOUND_S = 40.0
PROBE_LIMIT_S = 1.0
OVERRIDES = {"request_timeout_s": 2, "grace_period_s": 1, "request_count": 3, "concurrency": 1,
             "input_tokens": 8, "output_tokens": 4}


def cases() -> list[tuple[str, list[str], str | None]]:
    """(case name, helper argv without its log file, model to name or None
    for discovery)."""
    http = [(f"http {m}", [sys.executable, str(HOSTILE_HTTP), m], None) for m in HTTP_MODES]
    tcp = []
    for m in TCP_MODES:
        argv = [sys.executable, str(HOSTILE_TCP), m]
        tcp.append((f"tcp {m} (discovery)", argv, None))
        tcp.append((f"tcp {m} (generation)", argv, "hostile-model"))
    return http + tcp


async def watch_run(box, server, report: PhaseReport, case: str, run_id: str, rss) -> dict | None:
    """Probes the server until the run ends; its last status, None when stuck."""
    deadline = time.monotonic() + END_BOUND_S
    while time.monotonic() < deadline:
        for pid, _ in runners_of(box.home):
            rss.watch("runner", pid)
        await report.probe(server, case, PROBE_LIMIT_S)
        status = await server.call("get_status", {"run_id": run_id, "wait_seconds": 0.5})
        if status.kind != "result":
            report.fail(case, "get_status answers", status.brief())
            return None
        if status.data["status"] not in ACTIVE_STATES:
            return status.data
    report.fail(case, "the run ends", f"{run_id} still active after {END_BOUND_S:.0f}s",
                f"start_benchmark against the {case} endpoint with overrides {json.dumps(OVERRIDES)}")
    await server.call("cancel_benchmark", {"run_id": run_id})
    return None


async def check_classified(server, report: PhaseReport, case: str, run_id: str, status: dict) -> str:
    """Requests that failed carry known error kinds; a run without results
    (discovery failed) says why. Returns what the run ended with."""
    fetched = await server.call("fetch_results", {"run_id": run_id})
    if fetched.kind == "result" and fetched.data.get("levels"):
        summary = [e for lvl in fetched.data["levels"] for e in lvl.get("error_summary", [])]
        kinds = sorted({e.get("kind") for e in summary})
        errors = sum(lvl.get("errors", 0) for lvl in fetched.data["levels"])
        report.outcomes[f"{status['status']}, error kinds {kinds}"] += 1
        unknown = [k for k in kinds if k not in ERROR_KINDS]
        if unknown or not errors:
            report.fail(case, "errors classified", f"errors={errors} kinds={kinds}")
        return f"{status['status']}, {errors} errors of kinds {kinds}"
    if not fetched.answered:
        report.fail(case, "fetch_results answers", fetched.brief())
    why = status.get("failure") or ""
    report.outcomes[f"{status['status']} before any request (discovery)"] += 1
    if status["status"] != "failed" or not why:
        report.fail(case, "errors classified", f"status {status['status']}, failure {why!r}")
    return f"{status['status']}: {why[:160]}"


async def one_case(box, server, report: PhaseReport, rss, case, argv, model) -> None:
    before = len(report.failures)
    if argv[1] == str(HOSTILE_HTTP):
        argv = argv + [str(box.logs / f"{argv[2]}.requests")]
    helper, port = box.helper(argv)
    endpoint = {"url": f"http://127.0.0.1:{port}/v1"}
    if model:
        endpoint["model"] = model
    t0 = time.monotonic()
    started = await server.call("start_benchmark", {"endpoint": endpoint, "overrides": OVERRIDES,
                                                    "force": True})
    if started.kind != "result":
        report.fail(case, "start_benchmark answers", started.brief())
    else:
        run_id = started.data["run_id"]
        status = await watch_run(box, server, report, case, run_id, rss)
        if status is not None:
            took = time.monotonic() - t0
            ended = await check_classified(server, report, case, run_id, status)
            report.observe(case, f"ended in {took:.1f}s", ended)
    box.stop_helper(helper)
    if not await wait_until(lambda: not runners_of(box.home), 5):
        report.fail(case, "no stray runner", f"alive: {runners_of(box.home)}")
    report.count += 1
    report.account(case, before)
    log(f"  endpoint {case}: {time.monotonic() - t0:.1f}s")


def check_rss(report: PhaseReport, limit_mib: int) -> None:
    peak = report.peak_rss_kib.get("server", 0) / 1024
    if peak > limit_mib:
        report.fail("all endpoints", "server RSS bounded", f"peak {peak:.0f} MiB > {limit_mib} MiB")


async def run(campaign) -> PhaseReport:
    report = PhaseReport("2. hostile endpoints", "endpoints")
    async with Sandbox(campaign, "endpoints") as box:
        server = await box.server()
        idle_mib = (rss_kib(server.pid) or 0) / 1024
        with RssSampler() as rss:
            rss.watch("server", server.pid)
            for case, argv, model in cases():
                await one_case(box, server, report, rss, case, argv, model)
        report.rss(rss)
        report.notes.append(f"server RSS {idle_mib:.0f} MiB idle before the first run")
        check_rss(report, campaign.rss_limit_mib)
        if report.failures:
            box.keep = True
    return report
