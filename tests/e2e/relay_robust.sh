#!/usr/bin/env bash
# The relay under hostile input, over real sockets, driven by build/tools/relay_probe: random
# bytes and datagrams during a live meeting, malformed frames, and every resource limit.
set -u
. "$(dirname "$0")/relay_lib.sh"
PROBE=$HC_BUILD/tools/relay_probe
[ -x "$HC_BIN" ] || { echo "FAIL: relay_robust: $HC_BIN not built"; exit 1; }
[ -x "$PROBE" ] || { echo "FAIL: relay_robust: $PROBE not built (make tests-build)"; exit 1; }
# probe CMD: runs relay_probe CMD against the relay; it exits 0, or 1 after printing a FAIL line.
# Anything else (a crash, killed by timeout) would leave its remaining checks unprinted: a failure.
probe() {
  timeout "$(secs 60)" "$PROBE" "$1" --port "$RELAY_PORT"; local rc=$?
  [ $rc -le 1 ] || fail "$1: relay_probe ran to the end" "exit $rc"
}

# -- garbage during a live meeting
if start_relay --stats-interval 0.5 --max-conns-per-addr 1000; then
  probe soak
  check "soak: the relay is still running after the garbage" kill -0 "$RELAY_PID"
  wait_lines "$RELAY_OUT" $(($(wc -l < "$RELAY_OUT") + 2)) 2   # a stats line made after the probe ended
  check "soak: stats counted the garbage (malformed and unregistered datagrams, control errors)" python3 - "$RELAY_OUT" <<'PY'
import json, sys
s = json.loads(open(sys.argv[1]).read().splitlines()[-1])
assert s["drops"]["malformed"] > 0 and s["drops"]["unregistered"] > 0, s["drops"]
assert sum(v for k, v in s["ctrl_errors"].items() if k != "protocol") > 0, s["ctrl_errors"]
assert s["meetings_created"] >= 2 and s["joins"] >= 5, s
PY
  kill -TERM "$RELAY_PID"
  if wait_exit "$RELAY_PID" 2; then check "soak: clean exit 0 after SIGTERM" test "$EXIT_RC" = 0
  else fail "soak: clean exit after SIGTERM" "still running"; fi
else fail "soak: relay starts"; fi

# -- malformed frames over real sockets
if start_relay; then
  probe malformed
  kill -TERM "$RELAY_PID"; wait_exit "$RELAY_PID" 2
else fail "malformed: relay starts"; fi

# -- limits
if start_relay --max-conns-per-addr 4 --max-meetings 2 --max-members 3 --idle-timeout 1 --join-timeout 1 --send-queue 65536 --stats-interval 0.5; then
  probe limits
  wait_lines "$RELAY_OUT" $(($(wc -l < "$RELAY_OUT") + 2)) 2   # a stats line made after the probe ended
  check "limits: stats count the backlog disconnect, the refused connection and the idle close" python3 - "$RELAY_OUT" <<'PY'
import json, sys
s = json.loads(open(sys.argv[1]).read().splitlines()[-1])
d = s["disconnects"]
assert d["backlog"] >= 1 and d["refused_per_addr"] >= 1 and d["join_timeout"] >= 1, d
PY
  kill -TERM "$RELAY_PID"; wait_exit "$RELAY_PID" 2
else fail "limits: relay starts"; fi
