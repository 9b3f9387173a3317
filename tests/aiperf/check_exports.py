"""Checks a run directory with NVIDIA AIPerf's own readers.

usage: check_exports.py RUN_DIR PLOT_DIR

Every line of every profile_export.jsonl must validate as AIPerf's
MetricRecordInfo, and `aiperf plot` must render PNGs from the directory.
Prints one JSON object: lines checked, invalid lines, PNGs written.
"""
import json
import pathlib
import subprocess
import sys

from aiperf.common.models.record_models import MetricRecordInfo


def invalid_lines(run_dir):
    checked, bad = 0, []
    for path in sorted(run_dir.rglob("profile_export.jsonl")):
        for n, line in enumerate(path.read_bytes().splitlines(), 1):
            if not line.strip():
                continue
            checked += 1
            try:
                MetricRecordInfo.model_validate_json(line)
            except Exception as e:  # pydantic's ValidationError names every field
                bad.append(f"{path.name}:{n}: {e}")
    return checked, bad


def plot(run_dir, plot_dir):
    aiperf = pathlib.Path(sys.executable).with_name("aiperf")
    done = subprocess.run([str(aiperf), "plot", str(run_dir), "--output", str(plot_dir)],
                          capture_output=True, text=True)
    return done.returncode, sorted(p.name for p in plot_dir.glob("*.png")), done.stderr[-2000:]


def main():
    run_dir, plot_dir = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
    checked, bad = invalid_lines(run_dir)
    code, pngs, err = plot(run_dir, plot_dir)
    print(json.dumps({"lines": checked, "invalid": bad[:5], "invalid_count": len(bad),
                      "plot_exit": code, "pngs": pngs, "plot_stderr": err if not pngs else ""}))


if __name__ == "__main__":
    main()
