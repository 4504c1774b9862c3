# Helpers for the relay's scripted tests (sourced, not run: not executable), on top of lib.sh.
# start_relay ARGS... : starts "$HC_BIN relay --listen 127.0.0.1:0 ARGS" under timeout, waits for
# its listening line; sets RELAY_PID, RELAY_PORT, RELAY_OUT, RELAY_ERR. stop_all: ends every relay
# this script started.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
TMP=$(mktemp -d /tmp/hc-relay-test.XXXXXX)
PIDS=()
stop_all() {
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
  sleep 0.2
  for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
  rm -rf "$TMP"
}
trap stop_all EXIT
n_relay=0
start_relay() {
  n_relay=$((n_relay + 1))
  RELAY_OUT=$TMP/relay$n_relay.out; RELAY_ERR=$TMP/relay$n_relay.err
  timeout "$(secs 120)" "$HC_BIN" relay --listen 127.0.0.1:0 "$@" > "$RELAY_OUT" 2> "$RELAY_ERR" &
  RELAY_PID=$!; PIDS+=("$RELAY_PID"); RELAY_PORT=""
  local i n; n=$(ticks 5)
  for ((i = 0; i < n; i++)); do
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
# relay twice: directly and through the process group). Status 2 when it cannot be found.
relay_child() {
  local kids
  kids=$(children_of "$RELAY_PID") || return 2
  if [ -z "$kids" ]; then fail "the relay under timeout (pid $RELAY_PID) has a process" >&2; return 2; fi
  echo "${kids%%$'\n'*}"
}
# signal_relay SIG: signals the relay process itself; fails (status 2) when it cannot be found.
signal_relay() { local k; k=$(relay_child) || return 2; kill "-$1" "$k"; }
# wait_lines FILE N SECONDS: until FILE has at least N lines (at most SECONDS, stretched)
wait_lines() {
  local i n; n=$(ticks "$3")
  for ((i = 0; i < n; i++)); do [ "$(wc -l < "$1")" -ge "$2" ] && return 0; sleep 0.05; done
  return 1
}
# wait_exit PID SECONDS -> sets EXIT_RC; returns 1 if still running after SECONDS (stretched by
# the machine's slowness: a deadline, not a measurement)
wait_exit() {
  local pid=$1 t=0 n; n=$(ticks "$2")
  while kill -0 "$pid" 2>/dev/null; do
    sleep 0.05; t=$((t + 1)); [ $t -ge "$n" ] && return 1
  done
  wait "$pid"; EXIT_RC=$?; return 0
}
