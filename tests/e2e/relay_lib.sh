# Helpers for the relay's scripted tests (sourced, not run: not executable).
# start_relay ARGS... : starts "$HC_BIN relay --listen 127.0.0.1:0 ARGS" under timeout, waits for
# its listening line; sets RELAY_PID, RELAY_PORT, RELAY_OUT, RELAY_ERR. stop_all: ends every relay
# this script started.
HC_ROOT=${HC_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
HC_BUILD=${HC_BUILD:-$HC_ROOT/build}
HC_BIN=${HC_BIN:-$HC_BUILD/hushcall}
TMP=$(mktemp -d /tmp/hc-relay-test.XXXXXX)
PIDS=()
stop_all() {
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
  sleep 0.2
  for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
  rm -rf "$TMP"
}
trap stop_all EXIT
pass() { echo "PASS: $1"; }
fail() { echo "FAIL: $1${2:+: $2}"; }
check() { local name=$1; shift; if "$@"; then pass "$name"; else fail "$name"; fi; }
n_relay=0
start_relay() {
  n_relay=$((n_relay + 1))
  RELAY_OUT=$TMP/relay$n_relay.out; RELAY_ERR=$TMP/relay$n_relay.err
  timeout 120 "$HC_BIN" relay --listen 127.0.0.1:0 "$@" > "$RELAY_OUT" 2> "$RELAY_ERR" &
  RELAY_PID=$!; PIDS+=("$RELAY_PID"); RELAY_PORT=""
  for _ in $(seq 100); do
    if [ -s "$RELAY_OUT" ]; then
      RELAY_PORT=$(head -1 "$RELAY_OUT" | sed -n 's/^{"event":"listening","addr":"127.0.0.1","port":\([0-9][0-9]*\)}$/\1/p')
      break
    fi
    kill -0 "$RELAY_PID" 2>/dev/null || break
    sleep 0.05
  done
  [ -n "$RELAY_PORT" ]
}
# relay_child: the relay process itself (RELAY_PID is its timeout(1), which would signal the
# relay twice: directly and through the process group)
relay_child() { pgrep -P "$RELAY_PID" | head -1; }
# wait_exit PID SECONDS -> sets EXIT_RC; returns 1 if still running after SECONDS
wait_exit() {
  local pid=$1 limit=$2 t=0
  while kill -0 "$pid" 2>/dev/null; do
    sleep 0.05; t=$((t + 1)); [ $t -ge $((limit * 20)) ] && return 1
  done
  wait "$pid"; EXIT_RC=$?; return 0
}
