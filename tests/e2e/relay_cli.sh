#!/usr/bin/env bash
# The relay's command line: the listening line, signals, stats lines, bad options, the attack
# banner, port conflicts and --help. Everything it starts runs under timeout and is stopped on exit.
set -u
. "$(dirname "$0")/relay_lib.sh"
[ -x "$HC_BIN" ] || { echo "FAIL: relay_cli: $HC_BIN not built"; exit 1; }

# -- the listening line, and TCP + UDP on the same port
if start_relay; then
  sleep 0.2                              # time for a second line, which must not come
  lines=$(wc -l < "$RELAY_OUT")
  check "listening line is exactly {\"event\":\"listening\",\"addr\":\"127.0.0.1\",\"port\":N} and alone" \
    test "$lines" = 1 -a "$RELAY_PORT" -gt 0
  check "TCP and UDP both bound on port $RELAY_PORT" python3 - "$RELAY_PORT" <<'PY'
import socket, sys
p = int(sys.argv[1])
t = socket.create_connection(("127.0.0.1", p), timeout=2); t.close()
import errno
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
try:
    u.bind(("127.0.0.1", p)); sys.exit(1)       # would succeed only if the relay had no UDP socket
except OSError as e:
    sys.exit(0 if e.errno == errno.EADDRINUSE else 1)
PY
  signal_relay INT
  if wait_exit "$RELAY_PID" 1; then check "SIGINT: exit 0 within a second (x$HC_SLOW here)" test "$EXIT_RC" = 0
  else fail "SIGINT: exit 0 within a second (x$HC_SLOW here)" "still running"; fi
else
  fail "relay starts and prints its listening line" "$(cat "$RELAY_ERR")"
fi

# -- SIGTERM with a connected client that never reads
if start_relay; then
  exec 7<>/dev/tcp/127.0.0.1/"$RELAY_PORT"
  sleep 0.1
  signal_relay TERM
  if wait_exit "$RELAY_PID" 1; then check "SIGTERM with a client connected: exit 0 within a second (x$HC_SLOW here)" test "$EXIT_RC" = 0
  else fail "SIGTERM with a client connected: exit 0 within a second (x$HC_SLOW here)" "still running"; fi
  exec 7>&-
  check "SIGTERM: shutdown is reported on stderr" grep -q "SIGTERM received" "$RELAY_ERR"
else fail "SIGTERM with a client connected: relay starts"; fi

# -- signals that keep coming (Ctrl-C pressed again, timeout(1) signalling child and group): the
# relay still shuts down cleanly; a signal that lands after it closed its watchers must not kill it
check "a burst of SIGINTs during shutdown: exit 0 every time (5 rounds)" timeout "$(secs 60)" python3 - "$HC_BIN" <<'PY'
import os, signal, subprocess, sys
for r in range(5):
    p = subprocess.Popen([sys.argv[1], "relay", "--listen", "127.0.0.1:0"], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL)
    if not p.stdout.readline().startswith(b'{"event":"listening"'):
        p.kill(); sys.exit("no listening line")
    n = 0
    while p.poll() is None:          # signal it until it is gone (poll reaps it)
        try:
            os.kill(p.pid, signal.SIGINT); n += 1
        except ProcessLookupError:
            break
    if p.wait() != 0:
        print("round %d: exit status %d after %d SIGINTs" % (r, p.returncode, n)); sys.exit(1)
PY

# -- stats lines
if start_relay --stats-interval 0.2; then
  wait_lines "$RELAY_OUT" 4 2            # the listening line and three stats lines
  kill -TERM "$RELAY_PID"; wait_exit "$RELAY_PID" 2
  check "--stats-interval 0.2: several JSON stats lines with the counters" python3 - "$RELAY_OUT" <<'PY'
import json, sys
lines = open(sys.argv[1]).read().splitlines()
stats = [json.loads(l) for l in lines[1:]]
assert len(stats) >= 3, len(stats)
need = ["meetings", "members", "connections", "ctrl_in", "ctrl_out", "media_in", "media_out", "udp_rx", "udp_tx",
        "drops", "ctrl_errors", "disconnects"]
for s in stats:
    assert s["event"] == "stats"
    for k in need: assert k in s, k
    for k in ["malformed", "unregistered", "spoofed", "not_loudest", "queue", "impair"]: assert k in s["drops"], k
    for k in ["truncated", "too_large", "bad_version", "unknown_type", "bad_field", "trailing", "protocol"]:
        assert k in s["ctrl_errors"], k
PY
else fail "--stats-interval: relay starts"; fi

# -- bad options: exit 2 and a message naming the problem
bad_opt() { # name expected-text args...
  local name=$1 want=$2; shift 2
  out=$(timeout "$(secs 5)" "$HC_BIN" relay "$@" 2>&1 >/dev/null); rc=$?
  if [ $rc = 2 ] && grep -qi -- "$want" <<< "$out"; then pass "bad option: $name -> exit 2 ($out)"
  else fail "bad option: $name" "exit $rc, message '$out'"; fi
}
bad_opt "unknown option" "unknown option '--bogus'" --bogus
bad_opt "--listen host name" "must be a numeric IPv4 or IPv6" --listen example.com:0
bad_opt "--max-members 0" "bad value '0' for --max-members" --max-members 0
bad_opt "--max-members abc" "bad value 'abc' for --max-members" --max-members abc
bad_opt "--max-meetings -3" "for --max-meetings" --max-meetings -3
bad_opt "--forward-loudest 33" "for --forward-loudest" --forward-loudest 33
bad_opt "--impair loss=200" "--impair: bad value '200' for loss" --impair loss=200
bad_opt "--impair bogus=1" "unknown impairment 'bogus'" --impair bogus=1
bad_opt "--attack nope" "bad value 'nope' for --attack" --attack nope
bad_opt "--listen without port" "for --listen" --listen 127.0.0.1
bad_opt "--listen port 70000" "for --listen" --listen 127.0.0.1:70000
bad_opt "--stats-interval -1" "for --stats-interval" --stats-interval -1
bad_opt "--max-frame 10" "for --max-frame" --max-frame 10
bad_opt "--idle-timeout x" "for --idle-timeout" --idle-timeout x
bad_opt "missing value" "needs a value" --max-members
bad_opt "stray argument" "unexpected argument 'extra'" extra

# -- a listen address that is not numeric is a command-line error (2); a port in use is 1
out=$(timeout "$(secs 5)" "$HC_BIN" relay --listen nowhere.invalid:5 2>&1 >/dev/null); rc=$?
check "--listen with a host name that is not an address: exit 2 ($out)" test $rc = 2 -a -n "$out"
if start_relay; then
  first=$RELAY_PORT
  out=$(timeout "$(secs 5)" "$HC_BIN" relay --listen 127.0.0.1:"$first" 2>&1 >/dev/null); rc=$?
  if [ $rc = 1 ] && grep -q "cannot listen on 127.0.0.1:$first" <<< "$out"; then pass "port in use: exit 1 ($out)"
  else fail "port in use: exit 1 with a message" "exit $rc '$out'"; fi
  kill -TERM "$RELAY_PID"; wait_exit "$RELAY_PID" 2
else fail "port in use: the first relay starts"; fi

# -- attack banners, one per mode
for mode in swap-key fake-leader replay-heartbeat drop-heartbeats withhold-keybox rollback-key tamper-media \
            replay-media rename ghost rehost; do
  if start_relay --attack "$mode"; then
    kill -TERM "$RELAY_PID"; wait_exit "$RELAY_PID" 2
    check "--attack $mode: warning banner on stderr" grep -q "^WARNING: attack mode '$mode' is ON: this relay " "$RELAY_ERR"
  else fail "--attack $mode starts"; fi
done
if start_relay --attack swap-key; then
  kill -TERM "$RELAY_PID"; wait_exit "$RELAY_PID" 2
  check "swap-key banner says what it does" grep -qF "WARNING: attack mode 'swap-key' is ON: this relay replaces members' ephemeral keys in their announcements" "$RELAY_ERR"
else fail "--attack swap-key starts"; fi
if start_relay; then
  kill -TERM "$RELAY_PID"; wait_exit "$RELAY_PID" 2
  check "no attack: no warning banner" bash -c "[ -f '$RELAY_ERR' ] && ! grep -q WARNING '$RELAY_ERR'"
else fail "no attack: relay starts"; fi
if start_relay --impair loss=5,delay=20,seed=3; then
  kill -TERM "$RELAY_PID"; wait_exit "$RELAY_PID" 2
  check "--impair: announced on stderr" grep -q "impairment ON" "$RELAY_ERR"
else fail "--impair: relay starts"; fi

# -- --help tells the truth: every option it parses is listed
help=$(timeout "$(secs 5)" "$HC_BIN" relay --help); rc=$?
missing=""
for o in --listen --max-meetings --max-members --forward-loudest --impair --attack --stats-interval --max-frame \
         --idle-timeout --max-conns-per-addr --send-queue; do grep -q -- "$o" <<< "$help" || missing="$missing $o"; done
check "--help: exit 0 and lists every option${missing:+ (missing:$missing)}" test $rc = 0 -a -z "$missing"

# -- default address 127.0.0.1:7400
if python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",7400)); u=socket.socket(type=socket.SOCK_DGRAM); u.bind(("127.0.0.1",7400))' 2>/dev/null; then
  timeout "$(secs 10)" "$HC_BIN" relay > "$TMP/default.out" 2>/dev/null & pid=$!; PIDS+=("$pid")
  for _ in $(seq "$(ticks 2)"); do [ -s "$TMP/default.out" ] && break; sleep 0.05; done
  check "default listen address is 127.0.0.1:7400" grep -qx '{"event":"listening","addr":"127.0.0.1","port":7400}' "$TMP/default.out"
  kill -TERM "$pid"; wait_exit "$pid" 2
else
  echo "SKIP: default listen address (port 7400 is in use here)"
fi

# -- the open-file limit (every member holds a connection): a soft limit of 256 is raised to what
# the relay may use (up to the hard limit); a hard limit too low for one meeting of --max-members
# is a clear error (exit 1) before anything listens
out=$( (ulimit -Sn 100; ulimit -Hn 300; timeout "$(secs 10)" "$HC_BIN" relay --listen 127.0.0.1:0 --max-members 400) 2>&1 ); rc=$?
check "hard open-file limit 300 with --max-members 400: exit 1" test "$rc" = 1
check "... saying the limit is too low for --max-members, and what to raise" \
  bash -c 'grep -q "open-file limit is 300 (hard limit 300): too low for a meeting of --max-members 400" <<< "$1" && grep -q "LimitNOFILE=" <<< "$1" && ! grep -q listening <<< "$1"' _ "$out"
( ulimit -Sn 256; ulimit -Hn 3000; exec timeout "$(secs 10)" "$HC_BIN" relay --listen 127.0.0.1:0 --max-members 1000 ) \
  > "$TMP/nofile.out" 2> "$TMP/nofile.err" &
pid=$!; PIDS+=("$pid")
for _ in $(seq "$(ticks 5)"); do [ -s "$TMP/nofile.out" ] && break; sleep 0.05; done
relay=$(children_of "$pid" | head -1)
soft=$( [ -n "$relay" ] && awk '/^Max open files/ { print $4 }' "/proc/$relay/limits" )
check "soft open-file limit 256, hard 3000: the relay starts and raises its soft limit to 3000 (got ${soft:-?})" \
  test "${soft:-0}" = 3000 -a -s "$TMP/nofile.out"
check "... and says it accepts fewer connections than it would" grep -q "allows 2936 connections" "$TMP/nofile.err"
kill -TERM "$pid" 2>/dev/null; wait_exit "$pid" 2
