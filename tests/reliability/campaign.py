"""Reliability campaign against `mcc-bench serve` (stdio, the official MCP
SDK as the client), in four phases, each on a fresh MCC_BENCH_HOME:

  kill       SIGKILL of the server, a runner or both at random points,
             then a new server must settle every run (--trials of them)
  endpoints  hostile endpoints: runs end in time with classified errors
             while the server stays responsive and small
  sql        hostile query_results inputs under a timeout and memory cap
  args       hostile tool arguments (and a few invalid JSON-RPC lines)

Prints the figures as a markdown block on stdout (progress on stderr),
writes them as JSON with --json-out, and exits 1 when any check failed.

usage: scripts/reliability-campaign [--bin PATH] [--trials N] [--seed S]
           [--phases kill,endpoints,sql,args] [--json-out FILE] [--tmp DIR]
"""

import argparse
import asyncio
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import phase_args  # noqa: E402
import phase_endpoints  # noqa: E402
import phase_kill  # noqa: E402
import phase_sql  # noqa: E402
from harness import ROOT, PhaseReport, log  # noqa: E402

PHASES = {"kill": phase_kill, "endpoints": phase_endpoints, "sql": phase_sql, "args": phase_args}


@dataclass
class Campaign:
    """What every phase is given."""
    bin: str
    trials: int
    seed: int
    tmp_root: str
    rss_limit_mib: int
    binary_id: str = ""


def snapshot(binary: Path, tmp_root: str) -> tuple[str, str]:
    """A private copy of the binary, so that a rebuild during the campaign
    cannot mix versions, and a description of what was copied."""
    copy = Path(tmp_root) / "bin" / "mcc-bench"
    copy.parent.mkdir()
    shutil.copy2(binary, copy)
    digest = hashlib.sha256()
    with open(copy, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    built = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(copy.stat().st_mtime))
    return str(copy), f"`{binary}` (sha256 {digest.hexdigest()[:12]}…, built {built})"


def default_bin() -> Path:
    target = os.environ.get("CARGO_TARGET_DIR") or str(ROOT / "target")
    return Path(target).resolve() / "debug" / "mcc-bench"


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--bin", type=Path, default=default_bin(),
                   help="mcc-bench binary (default: debug/mcc-bench under $CARGO_TARGET_DIR, else ./target)")
    p.add_argument("--trials", type=int, default=50, help="kill trials (50)")
    p.add_argument("--seed", type=int, default=1, help="seed of every random choice (1)")
    p.add_argument("--phases", default=",".join(PHASES),
                   help="comma-separated subset of " + ", ".join(PHASES))
    p.add_argument("--json-out", type=Path, help="also write the figures as JSON here")
    p.add_argument("--tmp", type=Path, help="where the temporary homes go (default: the system's)")
    p.add_argument("--rss-limit-mib", type=int, default=512,
                   help="largest acceptable server RSS during the endpoint phase (512)")
    a = p.parse_args()
    unknown = set(a.phases.split(",")) - set(PHASES)
    if unknown:
        p.error(f"unknown phases: {', '.join(sorted(unknown))}")
    if not os.access(a.bin, os.X_OK):
        p.error(f"{a.bin} is not an executable; build it (cargo build) or pass --bin")
    return a


async def run_phase(name: str, campaign: Campaign) -> PhaseReport:
    log(f"phase {name}")
    t0 = time.monotonic()
    try:
        report = await PHASES[name].run(campaign)
    except Exception:  # the campaign itself broke: say so, keep going
        report = PhaseReport(name, "inputs")
        report.fail(name, "campaign ran to its end", traceback.format_exc())
    report.seconds = time.monotonic() - t0
    log(f"phase {name}: {report.count} {report.unit}, {len(report.failures)} failures, "
        f"{report.seconds:.0f}s")
    return report


# --- the markdown block -------------------------------------------------------

def counts(c: dict) -> str:
    return ", ".join(f"{k} ×{v}" for k, v in sorted(c.items())) or "none"


def summary_row(r: PhaseReport) -> str:
    rss = r.peak_rss_kib.get("server", 0) / 1024
    return (f"| {r.name} | {r.count} {r.unit} | {sum(r.faults.values())} | "
            f"{sum(r.survived.values())} | {len(r.failures)} | {r.probe_max_ms:.0f} ms "
            f"({r.probes} probes) | {rss:.0f} MiB | {r.seconds:.0f} s |")


def fault_lines(r: PhaseReport) -> list[str]:
    """Faults by kind; one line of totals when every input is its own kind."""
    if len(r.faults) <= 12:
        return [f"- faults injected: {counts(r.faults)}", f"- survived: {counts(r.survived)}"]
    lost = sorted(k for k in r.faults if r.survived.get(k, 0) < r.faults[k])
    return [f"- faults injected: {sum(r.faults.values())} ({len(r.faults)} kinds, listed in the JSON)",
            f"- survived: {sum(r.survived.values())}; not survived: {', '.join(lost) or 'none'}"]


def phase_section(r: PhaseReport) -> list[str]:
    out = [f"### {r.name}", "", f"- {r.unit}: {r.count}; wall {r.seconds:.0f} s", *fault_lines(r),
           f"- outcomes: {counts(r.outcomes)}",
           f"- responsiveness probe (list_workloads): {r.probes} probes, max "
           f"{r.probe_max_ms:.0f} ms, {r.probe_failures} over the limit or unanswered",
           "- peak RSS: " + (", ".join(f"{k} {v / 1024:.0f} MiB" for k, v in sorted(r.peak_rss_kib.items()))
                             or "not sampled")]
    out += [f"- note: {n}" for n in r.notes]
    out.append(f"- failures: {len(r.failures)}" + ("" if r.failures else " (none)"))
    for i, f in enumerate(r.failures, 1):
        out.append(f"  {i}. **{f['check']}** — {f['case']}: {f['detail']}")
        if f["repro"]:
            out.append(f"     - repro: {f['repro']}")
    if r.observations:
        out.append(f"- observations: {len(r.observations)}")
        for o in r.observations:
            out.append(f"  - {o['what']} — {o['case']}: {o['detail']}")
    return out + [""]


def markdown(campaign: Campaign, reports: list[PhaseReport], wall: float) -> str:
    lines = ["## mcc-bench reliability campaign", "",
             f"binary {campaign.binary_id}, seed {campaign.seed}, {campaign.trials} kill trials, "
             f"wall {wall / 60:.1f} min", "",
             "| phase | trials / inputs | faults injected | survived | failures "
             "| max probe latency | peak server RSS | wall |",
             "|---|---|---|---|---|---|---|---|"]
    lines += [summary_row(r) for r in reports] + [""]
    for r in reports:
        lines += phase_section(r)
    return "\n".join(lines)


async def main() -> int:
    a = parse_args()
    tmp_root = tempfile.mkdtemp(prefix="mcc-reliability-", dir=a.tmp)
    copy, binary_id = snapshot(a.bin.resolve(), tmp_root)
    campaign = Campaign(copy, a.trials, a.seed, tmp_root, a.rss_limit_mib, binary_id)
    t0 = time.monotonic()
    try:
        reports = [await run_phase(name, campaign) for name in a.phases.split(",")]
    finally:
        shutil.rmtree(Path(copy).parent)
        if any(Path(tmp_root).iterdir()):
            log(f"homes kept for failures under {tmp_root}")
        else:
            os.rmdir(tmp_root)
    wall = time.monotonic() - t0
    print(markdown(campaign, reports, wall))
    if a.json_out:
        doc = {"binary": binary_id, "seed": a.seed, "trials": a.trials, "wall_s": round(wall, 1),
               "phases": [r.as_json() for r in reports]}
        a.json_out.write_text(json.dumps(doc, indent=2) + "\n")
    return 1 if any(r.failures for r in reports) else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
