#!/usr/bin/env bash
# TTFT as measured against the simulator's own log, request by request, at
# concurrency 8 (TTFT 50 ms, ITL 10 ms) and at 1,000 streams (TTFT 500 ms,
# ITL 20 ms, 1,000 warmup requests), plus the run's peak RSS and what the
# validity certificate said. Figures in docs/benchmarks.md.
#
#   benches/ttft_accuracy.sh [BINARY]     (default: target/release/mcc-bench)
#
# The simulator runs in the client's process; `sim_truth.jsonl` in the run
# directory is its log (when it read each request, and handed over its first
# token). A binary that writes no such log gets its own figures only.
set -euo pipefail
bin="${1:-${CARGO_TARGET_DIR:-target}/release/mcc-bench}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export MCC_BENCH_HOME="$work/home"

one() { # name, then the run's flags
    local name="$1" out="$work/$1"
    shift
    /usr/bin/time -f "%M" -o "$work/$name.rss" \
        "$bin" run -e sim --no-progress --json -o "$out" "$@" >"$work/$name.json" 2>/dev/null
    python3 - "$name" "$out" "$work/$name.json" "$work/$name.rss" <<'EOF'
import json, sys
name, out, result, rss = sys.argv[1:]
def pct(v, q):
    v = sorted(v)
    if not v:
        return float("nan")
    h = (len(v) - 1) * q / 100
    lo = int(h)
    return v[lo] + (v[min(lo + 1, len(v) - 1)] - v[lo]) * (h - lo)
client = {}
for line in open(f"{out}/profile_export.jsonl"):
    r = json.loads(line)
    if r["metadata"]["benchmark_phase"] == "profiling" and r["error"] is None:
        client[r["metadata"]["x_request_id"]] = r["metrics"]["time_to_first_token"]["value"]
truth = {}
try:
    for line in open(f"{out}/sim_truth.jsonl"):
        t = json.loads(line)
        truth[t["x_request_id"]] = t["ttft_ms"]
except FileNotFoundError:
    pass
lvl = json.load(open(result))["levels"][0]
v = lvl["validity"]
c = list(client.values())
print(f"{name}: {len(c)} requests, peak RSS {int(open(rss).read().split()[-1]) / 1024:.1f} MiB")
print(f"  TTFT measured p50 {pct(c, 50):.2f} p90 {pct(c, 90):.2f} p99 {pct(c, 99):.2f} ms")
if truth:
    t = [truth[k] for k in client if k in truth]
    e = [client[k] - truth[k] for k in client if k in truth]
    print(f"  TTFT by the simulator's log p50 {pct(t, 50):.2f} p99 {pct(t, 99):.2f} ms")
    print(f"  paired error (measured - log) p50 {pct(e, 50):.3f} p99 {pct(e, 99):.3f} ms, max {max(e):.3f} ms")
print(f"  certificate: client_bound {v['client_bound']}, disturbed {v.get('disturbed')}, "
      f"new connections {v.get('connections_opened')}, wake-up p99 {v.get('wakeup_lateness_p99_ms')} ms")
for r in v["reasons"] + v.get("disturbances", []):
    print(f"    ! {r}")
EOF
}

one c8 -c 8 -n 400 --warmup-requests 8 --sim-ttft-ms 50 --sim-itl-ms 10 \
    --input-tokens 64 --output-tokens 20
one c1000 -c 1000 -n 3000 --warmup-requests 1000 --sim-ttft-ms 500 --sim-itl-ms 20 \
    --input-tokens 100 --output-tokens 50
