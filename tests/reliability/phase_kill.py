"""Phase 1: SIGKILL at random points. Each trial starts a server on a fresh
home, starts benchmark runs on the built-in simulator, and at a random
moment kills the server, a runner, or both — sometimes while a
`start_benchmark`, `clean`, `cancel_benchmark` or `compare_results` call is
in flight. A new server on
the same home must then settle every run into an end state, with the state
file intact, results for every completed run, no temporary files beside the
state file and no runner left alive."""

import asyncio
import json
import os
import random
import signal
import time
import traceback
from dataclasses import dataclass, field

from harness import (ACTIVE_STATES, KNOWN_STATES, PhaseReport, RssSampler, Sandbox, log,
                     runners_of, temp_files, wait_until)

# Runs left queued without a runner end after the server's 60 s grace; a
# little more for the reconcile tick and the slowest simulated run.
SETTLE_S = 90.0
MOMENTS = ("load", "load", "load", "start", "clean", "cancel", "compare")
VICTIMS = ("server", "runner", "both")
WORKLOADS = ("sample", "sample", "agent_tool_calling", "multi_turn_chat")


@dataclass
class Plan:
    """What one trial does, drawn from its own seeded generator."""
    victim: str
    moment: str
    delay: float
    runs: list
    keep_old: bool

    def summary(self) -> str:
        return (f"victim={self.victim} moment={self.moment} delay={self.delay:.3f}s "
                f"keep_old_server={self.keep_old} runs={json.dumps(self.runs)}")


@dataclass
class Trial:
    """What happened in one trial, for its checks and its reproduction."""
    seed: int
    index: int
    plan: Plan
    rng: random.Random
    t0: float = field(default_factory=time.monotonic)
    events: list = field(default_factory=list)
    started: list = field(default_factory=list)
    maybe_removed: set = field(default_factory=set)
    faults: list = field(default_factory=list)
    in_flight: str | None = None
    failures: int = 0

    @property
    def case(self) -> str:
        return f"trial {self.index}"

    def event(self, msg: str) -> None:
        self.events.append(f"+{time.monotonic() - self.t0:.2f}s {msg}")


def run_args(rng: random.Random, seconds: float | None = None) -> dict:
    """start_benchmark arguments for a small simulated run."""
    o = {"concurrency": rng.randint(1, 8), "request_count": rng.randint(20, 200),
         "input_tokens": rng.randint(8, 64), "output_tokens": rng.randint(4, 24)}
    if seconds is None and rng.random() < 0.3:
        seconds = round(rng.uniform(1, 3), 2)
    if seconds is not None:
        del o["request_count"]
        o["duration_s"] = seconds
    elif rng.random() < 0.2:
        del o["concurrency"]
        o["concurrency_levels"] = [1, rng.randint(2, 8)]
        o["request_count"] = rng.randint(20, 60)
    return {"workload": rng.choice(WORKLOADS), "endpoint": {"url": "sim"}, "overrides": o,
            "force": rng.random() < 0.7}


def draw(rng: random.Random) -> Plan:
    moment = rng.choice(MOMENTS)
    delay = rng.uniform(0, 3) if moment == "load" else rng.choice([0, 0, rng.uniform(0, 0.05),
                                                                   rng.uniform(0, 0.4)])
    runs = [run_args(rng) for _ in range(rng.randint(1, 3))]
    return Plan(rng.choice(VICTIMS), moment, delay, runs, rng.random() < 0.5)


# --- the fault ---------------------------------------------------------------

def kill_runner(box: Sandbox, trial: Trial, prefer: str | None) -> str:
    runners = runners_of(box.home)
    chosen = [r for r in runners if r[1] == prefer] or runners
    if not chosen:
        trial.event("no runner alive to kill")
        return "runner (none alive)"
    pid, run_id = trial.rng.choice(chosen)
    os.kill(pid, signal.SIGKILL)
    trial.event(f"SIGKILL runner {pid} of {run_id}")
    return "runner"


def kill_server(server, trial: Trial) -> str:
    server.kill()
    trial.event(f"SIGKILL server {server.pid}")
    return "server"


async def strike(box: Sandbox, server, trial: Trial, prefer: str | None = None) -> None:
    """Kills the plan's victims, in a random order for `both`."""
    victims = {"server": ["server"], "runner": ["runner"], "both": ["server", "runner"]}
    order = victims[trial.plan.victim]
    trial.rng.shuffle(order)
    for i, v in enumerate(order):
        if i:
            await asyncio.sleep(trial.rng.uniform(0, 0.2))
        kind = kill_server(server, trial) if v == "server" else kill_runner(box, trial, prefer)
        trial.faults.append(f"kill {kind}")
        if trial.in_flight:
            trial.faults.append(f"kill {kind} mid-{trial.in_flight}")


async def call(server, trial: Trial, tool: str, args: dict, timeout: float = 20.0):
    trial.in_flight = tool
    try:
        a = await server.call(tool, args, timeout=timeout)
    finally:
        trial.in_flight = None
    trial.event(f"{tool} -> {a.brief(100)}")
    if tool == "start_benchmark" and a.kind == "result":
        trial.started.append(a.data["run_id"])
    return a


async def start_runs(server, trial: Trial, runs: list) -> None:
    for args in runs:
        if not server.alive:
            return
        await call(server, trial, "start_benchmark", args)
        await asyncio.sleep(trial.rng.uniform(0, 0.8))


async def wait_done(server, run_id: str, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        a = await server.call("get_status", {"run_id": run_id, "wait_seconds": 5})
        if a.kind != "result" or a.data.get("status") not in ACTIVE_STATES:
            return


# --- scenarios ---------------------------------------------------------------

async def during_load(box, server, trial: Trial) -> None:
    """The kill lands at a random point while runs are being started and run."""
    async def later():
        await asyncio.sleep(trial.plan.delay)
        await strike(box, server, trial)
    killer = asyncio.create_task(later())
    await start_runs(server, trial, trial.plan.runs)
    await killer


async def during_call(box, server, trial: Trial, tool: str, args: dict, prefer=None) -> None:
    """Sends `tool` and kills after the plan's (short) delay."""
    pending = asyncio.create_task(call(server, trial, tool, args))
    await asyncio.sleep(trial.plan.delay)
    await strike(box, server, trial, prefer)
    await pending


async def during_start(box, server, trial: Trial) -> None:
    """The kill lands while start_benchmark is in flight, between the run's
    record and its runner."""
    await during_call(box, server, trial, "start_benchmark", trial.plan.runs[0])


async def during_clean(box, server, trial: Trial) -> None:
    await start_runs(server, trial, trial.plan.runs)
    await asyncio.sleep(trial.rng.uniform(0.2, 2.0))
    rng = trial.rng
    args = {"delete_local_artifacts": rng.random() < 0.5}
    if not trial.started or rng.random() < 0.4:
        args["finished"] = True
        trial.maybe_removed.update(trial.started)
    else:
        args["run_id"] = rng.choice(trial.started)
        args["force"] = rng.random() < 0.7
        trial.maybe_removed.add(args["run_id"])
    await during_call(box, server, trial, "clean", args, args.get("run_id"))


async def during_cancel(box, server, trial: Trial) -> None:
    rng = trial.rng
    runs = [run_args(rng, seconds=round(rng.uniform(2, 3), 2))] + trial.plan.runs[1:]
    await start_runs(server, trial, runs)
    if not trial.started:
        await strike(box, server, trial)
        return
    await asyncio.sleep(rng.uniform(0.1, 1.0))
    target = trial.started[0]
    await during_call(box, server, trial, "cancel_benchmark", {"run_id": target}, target)


async def during_compare(box, server, trial: Trial) -> None:
    rng = trial.rng
    pair = []
    for _ in range(2):
        args = {"workload": "sample", "endpoint": {"url": "sim"}, "force": True,
                "overrides": {"request_count": 20, "concurrency": 4, "output_tokens": 8}}
        a = await call(server, trial, "start_benchmark", args)
        if a.kind == "result":
            pair.append(a.data["run_id"])
            await wait_done(server, pair[-1])
    if rng.random() < 0.5:
        await start_runs(server, trial, trial.plan.runs[:1])
    await during_call(box, server, trial, "compare_results", {"run_ids": pair or ["none"]})


SCENARIOS = {"load": during_load, "start": during_start, "clean": during_clean,
             "cancel": during_cancel, "compare": during_compare}


# --- checks ------------------------------------------------------------------

def read_state(box, report: PhaseReport, trial: Trial, when: str):
    """The state file parses and holds only known states; its document or None."""
    path = box.home / "state.json"
    if not path.exists():
        return {"runs": []}
    try:
        with open(path) as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        fail(report, trial, box, "state.json parses", f"{when}: {e}")
        return None
    runs = doc.get("runs", [])
    unknown = [(r.get("run_id"), r.get("status")) for r in runs if r.get("status") not in KNOWN_STATES]
    if unknown:
        fail(report, trial, box, "known states only", f"{when}: {unknown}")
    ids = [r.get("run_id") for r in runs]
    if len(ids) != len(set(ids)):
        fail(report, trial, box, "one record per run", f"{when}: duplicate ids in {ids}")
    return doc


def fail(report: PhaseReport, trial: Trial, box, check: str, detail: str) -> None:
    trial.failures += 1
    box.keep = True
    repro = (f"--seed {trial.seed}, trial {trial.index}: {trial.plan.summary()}; "
             f"events: {' | '.join(trial.events)}; home kept at {box.home}")
    report.fail(trial.case, check, detail, repro)


def one_runner_per_run(box) -> dict:
    """Runs followed by more than one live runner, with their pids."""
    pids: dict = {}
    for pid, run_id in runners_of(box.home):
        pids.setdefault(run_id, []).append(pid)
    return {run_id: p for run_id, p in pids.items() if len(p) > 1}


async def settle(box, server, report: PhaseReport, trial: Trial) -> None:
    """Polls until no run is active (or the settle bound passes)."""
    deadline = time.monotonic() + SETTLE_S
    while True:
        a = await server.call("list_benchmarks", {"limit": 100})
        if a.kind != "result":
            fail(report, trial, box, "list_benchmarks answers", a.brief())
            return
        active = [(r["run_id"], r["status"]) for r in a.data["runs"] if r["status"] in ACTIVE_STATES]
        twice = one_runner_per_run(box)
        if twice:
            fail(report, trial, box, "one runner per run", f"runs with several live runners: {twice}")
        if not active:
            trial.event("settled")
            return
        if time.monotonic() > deadline:
            live = runners_of(box.home)
            fail(report, trial, box, "no run stays active",
                 f"after {SETTLE_S:.0f}s still active: {active}; live runners: {live}")
            return
        await report.probe(server, trial.case)
        await asyncio.sleep(1.0)


async def check_runs(box, server, report: PhaseReport, trial: Trial, doc: dict) -> None:
    runs = {r["run_id"]: r for r in doc.get("runs", [])}
    lost = [i for i in trial.started if i not in runs and i not in trial.maybe_removed]
    if lost:
        fail(report, trial, box, "no run lost", f"started but gone from state.json: {lost}")
    for run_id, r in runs.items():
        report.outcomes[f"run {r['status']}"] += 1
        status = await server.call("get_status", {"run_id": run_id})
        if not status.answered:
            fail(report, trial, box, "get_status answers", f"{run_id}: {status.brief()}")
        if r["status"] == "completed":
            await check_completed(box, server, report, trial, r)


async def check_completed(box, server, report: PhaseReport, trial: Trial, r: dict) -> None:
    results = os.path.join(r["run_dir"], "results.json")
    try:
        with open(results) as f:
            json.load(f)
    except (OSError, ValueError) as e:
        fail(report, trial, box, "completed runs have results.json", f"{r['run_id']}: {e}")
    fetched = await server.call("fetch_results", {"run_id": r["run_id"]})
    if fetched.kind != "result" or not (fetched.data or {}).get("levels"):
        fail(report, trial, box, "fetch_results works on completed runs",
             f"{r['run_id']}: {fetched.brief()}")


async def check_leftovers(box, report: PhaseReport, trial: Trial) -> None:
    beside = await wait_until(lambda: not list(box.home.glob(".*.tmp-*")), 2.0)
    if not beside:
        names = [p.name for p in box.home.glob(".*.tmp-*")]
        fail(report, trial, box, "no temp files beside state.json", f"left: {names}")
    deeper = [str(p.relative_to(box.home)) for p in temp_files(box.home) if p.parent != box.home]
    if deeper:
        report.observe(trial.case, "temp files left elsewhere in the home", ", ".join(deeper))
    gone = await wait_until(lambda: not runners_of(box.home), 5.0)
    if not gone:
        fail(report, trial, box, "no stray runner", f"alive after settle: {runners_of(box.home)}")


# --- a trial -----------------------------------------------------------------

async def trial_once(campaign, report: PhaseReport, index: int) -> None:
    rng = random.Random(f"{campaign.seed}-kill-{index}")
    trial = Trial(campaign.seed, index, draw(rng), rng)
    async with Sandbox(campaign, f"kill-{index:03d}") as box:
        with RssSampler() as rss:
            first = await box.server()
            rss.watch("server", first.pid)
            await SCENARIOS[trial.plan.moment](box, first, trial)
            read_state(box, report, trial, "right after the kill")
            if not first.alive or not trial.plan.keep_old:
                await first.close()
            second = await box.server()
            rss.watch("server", second.pid)
            trial.event("new server started")
            await settle(box, second, report, trial)
            doc = read_state(box, report, trial, "after settling")
            if doc is not None:
                await check_runs(box, second, report, trial, doc)
            await check_leftovers(box, report, trial)
            await report.probe(second, trial.case)
        report.rss(rss)
    record(report, trial)


def record(report: PhaseReport, trial: Trial) -> None:
    report.count += 1
    report.outcomes[f"moment {trial.plan.moment}"] += 1
    for f in trial.faults:
        report.account(f, len(report.failures) - trial.failures)
    log(f"  kill trial {trial.index}: {trial.plan.victim}/{trial.plan.moment} "
        f"faults={trial.faults} failures={trial.failures} ({time.monotonic() - trial.t0:.1f}s)")


async def run(campaign) -> PhaseReport:
    report = PhaseReport("1. kill -9 at random points", "trials")
    for i in range(campaign.trials):
        try:
            await trial_once(campaign, report, i)
        except Exception:  # the harness broke in this trial: say so, go on
            report.fail(f"trial {i}", "the trial ran to its end", traceback.format_exc())
    return report
