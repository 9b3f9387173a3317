#!/usr/bin/env bash
# Time and requests a capacity search spends, against a full sweep of every
# concurrency 1..MAX with the same probe length, on the simulator with a
# known capacity (SLOTS generation slots; TTFT p99 target that SLOTS+1
# breaks). Usage: benches/capacity_search.sh [BIN] [SLOTS] [MAX]
set -euo pipefail
BIN="${1:-${CARGO_TARGET_DIR:-target}/release/mcc-bench}"
SLOTS="${2:-8}"
MAX="${3:-64}"
HOME_DIR="$(mktemp -d)"
trap 'rm -rf "$HOME_DIR"' EXIT
SIM=(-e sim --sim-slots "$SLOTS" --sim-ttft-ms 20 --sim-itl-ms 2 --input-tokens 16 --output-tokens 20 --no-progress --json)
SLO=ttft_p99_ms=40

t0=$(date +%s.%N)
MCC_BENCH_HOME="$HOME_DIR" "$BIN" capacity "${SIM[@]}" --slo "$SLO" --max "$MAX" -o "$HOME_DIR/search" > "$HOME_DIR/search.json" 2>/dev/null
t1=$(date +%s.%N)
python3 - "$HOME_DIR/search.json" "$t0" "$t1" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); c = r["capacity"]
print(f"search: capacity {c['max_concurrency']} ({c['confidence']}), {len(c['probes'])} probes, "
      f"{c['requests_sent']} requests, {float(sys.argv[3]) - float(sys.argv[2]):.1f} s")
PY

# The sweep: every concurrency 1..MAX, each with the search's probe length
# (max(100, 25·c) requests after c warmup requests), judged afterwards.
# Requests are counted as the search counts them: measured, not warmup.
total=0; first_fail=""; t0=$(date +%s.%N)
for c in $(seq 1 "$MAX"); do
  n=$(( 25 * c > 100 ? 25 * c : 100 ))
  MCC_BENCH_HOME="$HOME_DIR" "$BIN" run "${SIM[@]}" --slo "$SLO" -c "$c" -n "$n" --warmup-requests "$c" -o "$HOME_DIR/sweep-$c" > "$HOME_DIR/sweep-$c.json" 2>/dev/null
  total=$(( total + n ))
  p99=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['levels'][0]['metrics']['time_to_first_token']['p99'])" "$HOME_DIR/sweep-$c.json")
  if [ -z "$first_fail" ] && python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) > 40 else 1)" "$p99"; then first_fail=$c; fi
done
t1=$(date +%s.%N)
python3 -c "import sys; print(f'sweep 1..{sys.argv[1]}: first failure at c{sys.argv[2]}, {sys.argv[1]} levels, {sys.argv[3]} requests, {float(sys.argv[5]) - float(sys.argv[4]):.1f} s')" "$MAX" "$first_fail" "$total" "$t0" "$t1"
