"""What every phase of the reliability campaign shares: processes found
through /proc, sandboxes (a fresh home and its neighbours), `mcc-bench
serve` driven over stdio by the official MCP SDK client, answers classified
by kind, the responsiveness probe, RSS sampling and the per-phase report."""

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path

import mcp_types
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.shared.exceptions import MCPError

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent

KNOWN_STATES = {"queued", "running", "collecting", "completed", "failed", "cancelled", "interrupted"}
ACTIVE_STATES = {"queued", "running", "collecting"}
ERROR_KINDS = {"http_4xx", "rate_limited", "http_5xx", "connection_refused", "connection_reset",
               "connect_error", "stream_cut", "error_event", "malformed_response", "empty_response",
               "timeout", "cancelled"}
# Text that only a leaked /etc/passwd would put in an answer.
PASSWD_MARK = "root:x:0:0"
CALL_TIMEOUT_S = 30.0


# --- processes --------------------------------------------------------------

def _read(path: str) -> bytes | None:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return None


def proc_args(pid: int) -> list[str]:
    raw = _read(f"/proc/{pid}/cmdline") or b""
    return [a.decode(errors="replace") for a in raw.split(b"\0") if a]


def proc_env(pid: int) -> dict[str, str]:
    raw = _read(f"/proc/{pid}/environ") or b""
    pairs = (e.decode(errors="replace").partition("=") for e in raw.split(b"\0") if e)
    return {k: v for k, _, v in pairs}


def proc_stat(pid: int) -> tuple[str, int] | None:
    """(state letter, parent pid), or None when the process is gone."""
    raw = _read(f"/proc/{pid}/stat")
    if raw is None:
        return None
    fields = raw[raw.rindex(b")") + 2:].split()
    return fields[0].decode(), int(fields[1])


def alive(pid: int) -> bool:
    """True for a live process; a zombie counts as gone."""
    st = proc_stat(pid)
    return st is not None and st[0] not in ("Z", "X")


def rss_kib(pid: int) -> int | None:
    raw = _read(f"/proc/{pid}/status")
    for line in (raw or b"").decode(errors="replace").splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return None


def all_pids() -> list[int]:
    return [int(d) for d in os.listdir("/proc") if d.isdigit()]


def home_processes(home: Path) -> list[int]:
    """Live processes working for `home` (servers, runners, query workers)."""
    me, want = os.getpid(), str(home)
    return [p for p in all_pids()
            if p != me and alive(p) and proc_env(p).get("MCC_BENCH_HOME") == want]


def runners_of(home: Path) -> list[tuple[int, str]]:
    """(pid, run id) of every live `mcc-bench runner RUN_ID` of `home`."""
    out = []
    for pid in home_processes(home):
        args = proc_args(pid)
        if len(args) >= 3 and args[1] == "runner":
            out.append((pid, args[2]))
    return out


def query_workers_of(home: Path) -> list[int]:
    return [p for p in home_processes(home) if "query-worker" in proc_args(p)]


def kill_groups(pids) -> None:
    """SIGKILL the process group of each pid (never our own group)."""
    mine = os.getpgrp()
    for pid in pids:
        try:
            group = os.getpgid(pid)
            if group != mine:
                os.killpg(group, signal.SIGKILL)
            else:
                os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


async def wait_until(check, timeout: float, every: float = 0.05):
    """Polls `check()` until it returns something truthy; that, or None at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got or time.monotonic() >= deadline:
            return got or None
        await asyncio.sleep(every)


def temp_files(root: Path) -> list[Path]:
    """Leftover atomic-write temporaries (`.NAME.tmp-…`) under `root`."""
    return sorted(p for p in root.rglob(".*.tmp-*"))


# --- sandboxes --------------------------------------------------------------

class Sandbox:
    """A fresh MCC_BENCH_HOME with a working directory, a private HOME, an
    `outside` directory and logs beside it. Closing it kills every process
    group it started (servers, runners, helper endpoints) and removes the
    directories, unless asked to keep them for a failure's reproduction."""

    def __init__(self, campaign, name: str):
        self.campaign = campaign
        self.base = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=campaign.tmp_root))
        self.home = self.base / "home"
        self.work = self.base / "work"
        self.fake_home = self.base / "user"
        self.outside = self.base / "outside"
        self.logs = self.base / "logs"
        for d in (self.home, self.work, self.fake_home, self.outside, self.logs):
            d.mkdir(mode=0o700)
        self.servers: list["Server"] = []
        self.helpers: list[subprocess.Popen] = []
        self.keep = False

    def env(self) -> dict[str, str]:
        """The server's environment: this home, and every outside service
        pointed at a closed port on 127.0.0.1."""
        closed = "http://127.0.0.1:9"
        return {"MCC_BENCH_HOME": str(self.home), "HOME": str(self.fake_home), "RUST_LOG": "warn",
                "AWS_ENDPOINT_URL": closed, "AWS_ACCESS_KEY_ID": "campaign",
                "AWS_SECRET_ACCESS_KEY": "campaign", "AWS_REGION": "us-east-1",
                "AWS_EC2_METADATA_DISABLED": "true", "HF_ENDPOINT": closed, "HF_HUB_OFFLINE": "1"}

    async def server(self, *args: str) -> "Server":
        s = Server(self, list(args), len(self.servers))
        self.servers.append(s)
        await s.start()
        return s

    def helper(self, argv: list[str]) -> tuple[subprocess.Popen, int]:
        """Starts a helper endpoint that prints its port on its first line."""
        log = open(self.logs / f"helper-{len(self.helpers)}.log", "w")
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=log, text=True,
                                start_new_session=True, cwd=self.work)
        log.close()
        self.helpers.append(proc)
        return proc, int(proc.stdout.readline())

    def stop_helper(self, proc: subprocess.Popen) -> None:
        kill_groups([proc.pid])
        proc.wait(timeout=10)

    async def close(self) -> None:
        # Clients close in the reverse order of their opening: each holds
        # task-scoped state of the task that opened it.
        for s in reversed(self.servers):
            await s.close()
        for h in self.helpers:
            if h.poll() is None:
                self.stop_helper(h)
        kill_groups(home_processes(self.home))
        await wait_until(lambda: not home_processes(self.home), 5)
        if not self.keep:
            shutil.rmtree(self.base, ignore_errors=True)

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        await self.close()


# --- the server and its answers ---------------------------------------------

@dataclass
class Answer:
    """One tool call's outcome: `result`, `is_error`, `jsonrpc_error`,
    `timeout`, `closed` (the connection ended) or `exception` (the client
    rejected the answer)."""
    kind: str
    seconds: float
    data: dict | None = None
    text: str = ""
    code: int | None = None

    @property
    def answered(self) -> bool:
        return self.kind in ("result", "is_error")

    def shown(self) -> str:
        """Everything the answer carried, as one text (for leak checks)."""
        return self.text + (json.dumps(self.data) if self.data is not None else "")

    def brief(self, width: int = 160) -> str:
        body = self.text if self.text else json.dumps(self.data)
        return f"{self.kind} in {self.seconds:.2f}s: {body[:width]}"


def _text_of(result) -> str:
    return "\n".join(getattr(c, "text", "") for c in result.content or [])


class Server:
    """`mcc-bench serve --home HOME ARGS` over stdio, through the official
    MCP SDK client; `pid` is the server process."""

    def __init__(self, box: Sandbox, args: list[str], index: int):
        self.box = box
        self.args = args
        self.log_path = box.logs / f"serve-{index}.log"
        self.pid: int | None = None
        self.client: Client | None = None
        self._stack: AsyncExitStack | None = None

    async def start(self) -> None:
        box = self.box
        known = {s.pid for s in box.servers if s.pid}
        argv = ["serve", "--home", str(box.home), *self.args]
        params = StdioServerParameters(command=box.campaign.bin, args=argv, env=box.env(), cwd=box.work)
        self._stack = AsyncExitStack()
        log = self._stack.enter_context(open(self.log_path, "a"))
        transport = stdio_client(params, errlog=log)
        self.client = await self._stack.enter_async_context(
            Client(transport, read_timeout_seconds=CALL_TIMEOUT_S))
        self.pid = await wait_until(lambda: self._find_pid(known), 5)
        if self.pid is None:
            raise RuntimeError(f"no server process found for {box.home}")

    def _find_pid(self, known: set) -> int | None:
        me, home = os.getpid(), str(self.box.home)
        for pid in all_pids():
            st = proc_stat(pid)
            args = proc_args(pid)
            if (st and st[1] == me and pid not in known and len(args) > 3
                    and args[1] == "serve" and args[3] == home):
                return pid
        return None

    async def survived(self, answer: Answer) -> bool:
        """Whether the server outlived the call that gave `answer` (a closed
        connection is given a moment to show up as an exit)."""
        if answer.kind == "closed":
            await wait_until(lambda: not self.alive, 3)
        return self.alive

    def kill(self) -> None:
        if self.pid and alive(self.pid):
            os.kill(self.pid, signal.SIGKILL)

    @property
    def alive(self) -> bool:
        return bool(self.pid) and alive(self.pid)

    async def close(self) -> None:
        """Closes the client (stdin first, as the SDK does) once."""
        stack, self._stack = self._stack, None
        if stack is not None:
            try:
                await stack.aclose()
            except Exception:  # a killed server ends its transport abruptly
                pass

    async def call(self, tool: str, args: dict, timeout: float = CALL_TIMEOUT_S) -> Answer:
        t0 = time.monotonic()
        try:
            r = await self.client.call_tool(tool, args, read_timeout_seconds=timeout)
        except MCPError as e:
            kind = {mcp_types.CONNECTION_CLOSED: "closed",
                    mcp_types.REQUEST_TIMEOUT: "timeout"}.get(e.code, "jsonrpc_error")
            return Answer(kind, time.monotonic() - t0, text=str(e), code=e.code)
        except Exception as e:  # noqa: BLE001 - the client refused the answer
            return Answer("exception", time.monotonic() - t0, text=f"{type(e).__name__}: {e}")
        kind = "is_error" if r.is_error else "result"
        return Answer(kind, time.monotonic() - t0, r.structured_content, _text_of(r))

    async def read_resource(self, uri: str, timeout: float = 10.0) -> Answer:
        t0 = time.monotonic()
        try:
            r = await asyncio.wait_for(self.client.read_resource(uri), timeout)
        except asyncio.TimeoutError:
            return Answer("timeout", time.monotonic() - t0)
        except MCPError as e:
            kind = "closed" if e.code == mcp_types.CONNECTION_CLOSED else "jsonrpc_error"
            return Answer(kind, time.monotonic() - t0, text=str(e), code=e.code)
        text = "\n".join(getattr(c, "text", "") or "" for c in r.contents)
        return Answer("result", time.monotonic() - t0, text=text)


# --- measurements -----------------------------------------------------------

class RssSampler:
    """Samples VmRSS of the given processes in the background; keeps peaks."""

    def __init__(self, every: float = 0.1):
        self.every = every
        self.pids: dict[str, set[int]] = {}
        self.peak_kib: Counter = Counter()
        self._task: asyncio.Task | None = None

    def watch(self, role: str, pid: int) -> None:
        self.pids.setdefault(role, set()).add(pid)

    def sample(self) -> None:
        for role, pids in self.pids.items():
            for pid in pids:
                kib = rss_kib(pid) or 0
                self.peak_kib[role] = max(self.peak_kib[role], kib)

    async def _loop(self) -> None:
        while True:
            self.sample()
            await asyncio.sleep(self.every)

    def __enter__(self):
        self._task = asyncio.get_running_loop().create_task(self._loop())
        return self

    def __exit__(self, *exc):
        self._task.cancel()
        self.sample()


@dataclass
class PhaseReport:
    """Figures of one phase: what was tried, the faults injected and
    survived, outcomes by kind, failures with what reproduces them, the
    slowest responsiveness probe and the peak server RSS."""
    name: str
    unit: str
    count: int = 0
    faults: Counter = field(default_factory=Counter)
    survived: Counter = field(default_factory=Counter)
    outcomes: Counter = field(default_factory=Counter)
    failures: list = field(default_factory=list)
    observations: list = field(default_factory=list)
    probes: int = 0
    probe_max_ms: float = 0.0
    probe_failures: int = 0
    peak_rss_kib: Counter = field(default_factory=Counter)
    seconds: float = 0.0
    notes: list = field(default_factory=list)

    def fail(self, case: str, check: str, detail: str, repro: str = "") -> None:
        self.failures.append({"case": case, "check": check, "detail": detail, "repro": repro})

    def account(self, kind: str, failures_before: int) -> None:
        """Counts one injected fault of `kind`; survived when no failure was
        recorded since there were `failures_before` of them."""
        self.faults[kind] += 1
        if len(self.failures) == failures_before:
            self.survived[kind] += 1

    def observe(self, case: str, what: str, detail: str) -> None:
        self.observations.append({"case": case, "what": what, "detail": detail})

    def rss(self, sampler: RssSampler) -> None:
        for role, kib in sampler.peak_kib.items():
            self.peak_rss_kib[role] = max(self.peak_rss_kib[role], kib)

    async def probe(self, server: Server, case: str, limit_s: float = 1.0) -> Answer:
        """list_workloads must answer promptly; the slowest answer is kept."""
        a = await server.call("list_workloads", {}, timeout=max(limit_s * 5, 5.0))
        self.probes += 1
        if a.kind == "result":
            self.probe_max_ms = max(self.probe_max_ms, a.seconds * 1000)
        if a.kind != "result" or a.seconds > limit_s:
            self.probe_failures += 1
            self.fail(case, "server responsive", f"list_workloads: {a.brief()} (limit {limit_s}s)")
        return a

    def as_json(self) -> dict:
        return {"phase": self.name, "unit": self.unit, "count": self.count,
                "faults": dict(self.faults), "survived": dict(self.survived),
                "outcomes": dict(self.outcomes), "failures": self.failures,
                "observations": self.observations, "probes": self.probes,
                "probe_max_ms": round(self.probe_max_ms, 1), "probe_failures": self.probe_failures,
                "peak_rss_mib": {k: round(v / 1024, 1) for k, v in self.peak_rss_kib.items()},
                "seconds": round(self.seconds, 1), "notes": self.notes}


def log(msg: str) -> None:
    """Progress on stderr; the figures go to stdout."""
    print(msg, file=sys.stderr, flush=True)
