#!/usr/bin/env bash
# loadgen: a large meeting on one relay (issue 15), measured with bench/loadgen (many real
# participants in one process: their own connections, identities and crypto). Starts a
# `hushcall relay` on a free port, runs the load generator against it with the relay's process id
# and stats lines, stops the relay, and prints the loadgen's JSON report (one line) after a
# summary. Nothing is asserted here (tests/e2e/loadgen_small.sh asserts the properties at a small
# scale); the figures are for people, and timings are best read as ratios (the machine is shared).
#
#   bench/loadgen.sh [small|t7|t8|t9|all]         a preset (default small: what bench/run.sh runs)
#   bench/loadgen.sh custom BOTS JOIN_S STEADY_S LEAVES LEAVE_S [loadgen options...]
#
#   small  200 bots join over 20 s, 10 s steady, 50 leave over 5 s
#   t7     1000 bots over 60 s, 3 talkers, loudest 3, 5 minutes steady (no leaves)
#   t8     1000 joins over 60 s, 10 s steady, then 500 leaves over 30 s
#   t9     t8 with 5 % of the bots behind a 300 ms round trip
#   all    t7 and t8 in one run (joins, 5 minutes steady, leave storm), then t9
#
# HC_BIN / LOADGEN pick other builds (e.g. before a change); RELAY_ARGS adds relay options.
set -u
HC_ROOT=${HC_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
BUILD=${BUILD:-build}
HC_BIN=${HC_BIN:-$HC_ROOT/$BUILD/hushcall}
LOADGEN=${LOADGEN:-$HC_ROOT/$BUILD/bench/loadgen}
[ -x "$HC_BIN" ] && [ -x "$LOADGEN" ] || { echo "loadgen: skipped: $HC_BIN or $LOADGEN not built"; exit 0; }

tmp=$(mktemp -d)
relay_pid=""
cleanup() {
  if [ -n "$relay_pid" ]; then kill "$relay_pid" 2>/dev/null; wait "$relay_pid" 2>/dev/null; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

# run NAME BOTS JOIN_S STEADY_S LEAVES LEAVE_S [loadgen options...]
run() {
  local name=$1 bots=$2 join=$3 steady=$4 leaves=$5 leave_s=$6
  shift 6
  # shellcheck disable=SC2086
  "$HC_BIN" relay --listen 127.0.0.1:0 --max-members 5000 --max-conns-per-addr 6000 \
    --max-unjoined-per-addr 6000 --join-rate 0,0 --forward-loudest 3 --stats-interval 1 \
    --log /dev/null ${RELAY_ARGS:-} > "$tmp/relay.out" 2> "$tmp/relay.err" &
  relay_pid=$!
  local port=""
  for _ in $(seq 100); do
    port=$(sed -n 's/.*"event":"listening".*"port":\([0-9]*\).*/\1/p' "$tmp/relay.out" | head -1)
    [ -n "$port" ] && break
    sleep 0.1
  done
  if [ -z "$port" ]; then echo "loadgen: the relay did not start: $(cat "$tmp/relay.err")"; return 1; fi
  local deadline=$(( join + steady + leave_s + 600 ))
  timeout "$deadline" "$LOADGEN" --relay "127.0.0.1:$port" --host --bots "$bots" --join-over "$join" \
    --settle 10 --steady "$steady" --leave "$leaves" --leave-over "$leave_s" --relay-pid "$relay_pid" \
    --relay-stats "$tmp/relay.out" --quiet "$@" > "$tmp/report.json"
  local rc=$?
  kill "$relay_pid" 2>/dev/null
  wait "$relay_pid" 2>/dev/null
  relay_pid=""
  echo "== $name: $bots bots joining over $join s, $steady s steady, $leaves leaving over $leave_s s $* (exit $rc)"
  python3 - "$tmp/report.json" <<'PY'
import json, sys
try:
    r = json.load(open(sys.argv[1]))
except Exception as e:
    print("  no report (%s)" % e)
    sys.exit(0)
j, jn = r["join_to_key_ms"], r["join_to_key_ms_normal_link"]
print("  join -> key: p50 %d ms, p90 %d, p99 %d, max %d (normal links: p99 %d); keyed %d, not keyed %d"
      % (j["p50"], j["p90"], j["p99"], j["max"], jn["p99"], r["keyed"], r["not_keyed"]))
print("  alerts %d %s, heartbeat timeouts %d, unexpected disconnects %d, rosters consistent %s (%d views)"
      % (r["alerts"], r["alert_kinds"], r["heartbeat_timeouts"], r["unexpected_disconnects"],
         r["rosters_consistent"], r["roster_views"]))
print("  control bytes to the bots: %.0f per join during the joins, %.0f per join over the whole run"
      % (r["control_bytes_per_join_during_joins"], r["control_bytes_per_join"]))
print("  frames lost over %.0f s steady: %.4f %% of %d; leave storm rekeyed %d ms after the last leave"
      % (r["steady_s"], r["frame_loss_pct"], r["frames_expected"], r["rekeyed_after_last_leave_ms"]))
rel = r.get("relay")
if rel:
    print("  relay: CPU %.1f %% joining, %.1f %% steady (%.4f %% per member), RSS %d KB (%.1f KB per member)"
          % (rel["cpu_pct_joining"], rel["cpu_pct_steady"], rel["cpu_pct_steady_per_member"], rel["rss_kb"],
             rel["rss_kb_per_member"]))
st = r.get("relay_stats")
if st:
    d = st["disconnects"]
    print("  relay stats: %d control bytes out (%.0f per join), backlog disconnects %d, roster deltas %d, copies %d"
          % (st["tcp_bytes_out"], st["tcp_bytes_out"] / max(1, r["bots"] - 1), d["backlog"],
             st["roster"]["deltas"], st["roster"]["copies"]))
PY
  cat "$tmp/report.json"
  return $rc
}

preset=${1:-small}
case $preset in
  small) run small 200 20 10 50 5 ;;
  t7) run t7 1000 60 300 0 0 --talkers 3 ;;
  t8) run t8 1000 60 10 500 30 ;;
  t9) run t9 1000 60 10 500 30 --slow-pct 5 --slow-rtt-ms 300 ;;
  all) run t7+t8 1000 60 300 500 30 --talkers 3; run t9 1000 60 10 500 30 --slow-pct 5 --slow-rtt-ms 300 ;;
  custom) shift; [ $# -ge 5 ] || { echo "usage: $0 custom BOTS JOIN_S STEADY_S LEAVES LEAVE_S [loadgen options]"; exit 2; }
          run custom "$@" ;;
  *) echo "usage: $0 [small|t7|t8|t9|all|custom ...]"; exit 2 ;;
esac
