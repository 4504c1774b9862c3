#!/usr/bin/env bash
# The real screen (`hushcall join` / `demo` in tmux) telling a person what happens:
#   - a meeting that ends against the user's will leaves ONE plain line on the terminal after the
#     screen is gone, also written to the log, with the README's exit status: kicked (4), ended
#     by the leader (4), locked (4), no such meeting (5), relay unreachable (5), relay gone
#     mid-call (5); leaving yourself leaves none (issue 12 point 1);
#   - below 80x24 the screen says how big it must be instead of cutting the code; at 80x24 the
#     code, the verified state, the alert line and `q leave` are whole (point 5);
#   - TERM=dumb (or an unknown TERM) is refused before the terminal is touched: a message that
#     suggests --headless, exit 2, no alternate screen, modes as they were (point 6);
#   - NO_COLOR (not empty) and --no-color draw without colours; NO_COLOR="" does not (point 15).
# Prints one "PASS: name" / "FAIL: name" line per check.
set -u
cd "$(dirname "$0")/../.." || exit 2
. tests/e2e/relay_lib.sh               # start_relay, stop_all, TMP; lib.sh: pass, fail, secs, ticks
SOCK=hc-ui-screen-$$
trap 'tmux -L "$SOCK" kill-server 2>/dev/null; exec 3>&- 2>/dev/null; stop_all' EXIT
need_tool tmux tmux
if [ ! -x "$HC_BIN" ]; then fail "program present" "$HC_BIN not built"; exit 1; fi
tm() { tmux -L "$SOCK" "$@"; }
screen() { tm capture-pane -p -t "$1" 2>/dev/null; }
wait_for() { # SESSION REGEX SECONDS
  local i n=$(( $(ticks "$3") / 2 ))
  for ((i = 0; i < n; i++)); do screen "$1" | grep -qE -- "$2" && return 0; sleep 0.1; done
  return 1
}
wait_status() { # NAME SECONDS -> prints the status or "timeout"
  local i n=$(( $(ticks "$2") / 2 ))
  for ((i = 0; i < n; i++)); do [ -s "$TMP/$1.status" ] && { cat "$TMP/$1.status"; return; }; sleep 0.1; done
  echo timeout
}
# run NAME W H ENV ARGS...: the binary in its own tmux session, its home $TMP/NAME.home (the log
# is there), its exit status in $TMP/NAME.status; the pane stays for reading afterwards.
run() {
  local name=$1 w=$2 h=$3 env=$4; shift 4
  mkdir -p -m 700 "$TMP/$name.home"
  tm new-session -d -s "$name" -x "$w" -y "$h" \
    "cd '$PWD' && env LANG=C.UTF-8 LC_ALL=C.UTF-8 HUSHCALL_HOME='$TMP/$name.home' $env $HC_BIN $* ; echo \$? > $TMP/$name.status; sleep 600"
}
check_sane() { # NAME SESSION: echo and icanon, seen from outside with stty -F
  local tty modes
  tty=$(tm display -p -t "$2" '#{pane_tty}')
  modes=$(stty -a -F "$tty" 2>&1)
  if grep -qw icanon <<<"$modes" && grep -qw echo <<<"$modes" && ! grep -qw -- -icanon <<<"$modes" && \
     ! grep -qw -- -echo <<<"$modes"; then pass "$1"; else fail "$1" "$(grep -oE -- '-?(icanon|echo)\b' <<<"$modes" | tr '\n' ' ')"; fi
}
AUDIO="--audio-in silence --audio-out null"

# ---- the leader: a headless host whose commands come through fd 3 ----
start_relay || { fail "relay starts"; exit 1; }
mkfifo "$TMP/host.in"
mkdir -p -m 700 "$TMP/host.home"
HUSHCALL_HOME="$TMP/host.home" timeout "$(secs 300)" "$HC_BIN" host --headless --relay "127.0.0.1:$RELAY_PORT" \
  --name Alice $AUDIO < "$TMP/host.in" > "$TMP/host.out" 2> "$TMP/host.err" &
PIDS+=("$!")
exec 3> "$TMP/host.in"
for ((i = 0; i < $(ticks 5); i++)); do grep -q '"event":"meeting"' "$TMP/host.out" 2>/dev/null && break; sleep 0.05; done
MID=$(sed -n 's/.*"event":"meeting".*"meeting_id":"\([0-9]*\)".*/\1/p' "$TMP/host.out" | head -1)
[ -n "$MID" ] && pass "host: meeting $MID" || { fail "host: meeting created" "$(cat "$TMP/host.err")"; exit 1; }
host_cmd() { echo "$1" >&3; }

# farewell NAME STATUS REGEX: after the program ended with STATUS, the pane shows exactly one
# "hushcall: ..." line matching REGEX, and the log has it too.
farewell() {
  local name=$1 want=$2 re=$3 st shot n
  st=$(wait_status "$name" 20)
  shot=$(screen "$name")
  n=$(grep -c '^hushcall: ' <<<"$shot")
  if [ "$st" = "$want" ]; then pass "$name: exit status $want"; else fail "$name: exit status $want" "status $st"; fi
  if [ "$n" = 1 ] && grep -qE "^$re\$" <<<"$shot"; then pass "$name: one line says why: $(grep '^hushcall: ' <<<"$shot")"
  else fail "$name: one line says why (/$re/)" "$n hushcall lines"; sed 's/^/    | /' <<<"$shot" | grep -v '^    | $'; fi
  if grep -qE "^$re\$" "$TMP/$name.home/hushcall.log" 2>/dev/null; then pass "$name: the line is in the log"
  else fail "$name: the line is in the log" "$(tail -3 "$TMP/$name.home/hushcall.log" 2>/dev/null)"; fi
  if [ "$(tm display -p -t "$name" '#{alternate_on}')" = 0 ]; then pass "$name: the screen is gone first"; else fail "$name: the screen is gone first"; fi
}

# Kicked by the leader: 4.
run kicked 250 30 "" join "$MID" --relay "127.0.0.1:$RELAY_PORT" --name Bob $AUDIO
wait_for kicked 'epoch [1-9]' 10 || fail "kicked: in the meeting first"
KI=$(sed -n 's/.*"event":"participant_joined".*"index":\([0-9]*\),"name":"Bob".*/\1/p' "$TMP/host.out" | tail -1)
host_cmd "kick ${KI:-2}"
farewell kicked 4 "hushcall: you were removed from meeting $MID by the leader \\(Alice\\)"

# Leaving yourself: status 0 and no such line.
run self 250 30 "" join "$MID" --relay "127.0.0.1:$RELAY_PORT" --name Carol $AUDIO
wait_for self 'epoch [1-9]' 10 || fail "self: in the meeting first"
tm send-keys -t self q; sleep 0.3; tm send-keys -t self y
st=$(wait_status self 10)
if [ "$st" = 0 ] && ! screen self | grep -q '^hushcall: '; then pass "left by the user: status 0, no line"
else fail "left by the user: status 0, no line" "status $st"; screen self | grep '^hushcall: '; fi

# Locked: 4.
host_cmd lock
for ((i = 0; i < $(ticks 5); i++)); do grep -q '"event":"lock_changed".*"locked":true' "$TMP/host.out" && break; sleep 0.05; done
run locked 250 30 "" join "$MID" --relay "127.0.0.1:$RELAY_PORT" --name Mallory $AUDIO
farewell locked 4 "hushcall: meeting $MID is locked: its leader lets nobody new in"
# ...and the leader was told (the LOCKED_OUT notice).
for ((i = 0; i < $(ticks 5); i++)); do grep -q 'the lock turned someone away' "$TMP/host.out" && break; sleep 0.05; done
if grep -q 'the lock turned someone away: 1 attempt to join, the latest as \\"Mallory\\"' "$TMP/host.out"; then pass "locked: the leader is told"
else fail "locked: the leader is told" "$(grep notice "$TMP/host.out" | tail -2)"; fi
host_cmd unlock

# No such meeting: 5.
run nosuch 250 30 "" join 1234567890 --relay "127.0.0.1:$RELAY_PORT" --name Dan $AUDIO
farewell nosuch 5 "hushcall: the relay at 127.0.0.1:$RELAY_PORT has no meeting 1234567890 \\(check the id, and that it has not ended\\)"

# The leader ends the meeting: 4.
run ended 250 30 "" join "$MID" --relay "127.0.0.1:$RELAY_PORT" --name Erin $AUDIO
wait_for ended 'epoch [1-9]' 10 || fail "ended: in the meeting first"
host_cmd end
farewell ended 4 "hushcall: the leader \\(Alice\\) ended meeting $MID for everyone"

# The relay goes away mid-call and does not come back within --reconnect-s: 5.
start_relay || fail "second relay starts"
mkdir -p -m 700 "$TMP/host2.home"
HUSHCALL_HOME="$TMP/host2.home" timeout "$(secs 300)" "$HC_BIN" host --headless --relay "127.0.0.1:$RELAY_PORT" \
  --name Alice $AUDIO < /dev/null > "$TMP/host2.out" 2>&1 &
PIDS+=("$!")
for ((i = 0; i < $(ticks 5); i++)); do grep -q '"event":"meeting"' "$TMP/host2.out" 2>/dev/null && break; sleep 0.05; done
MID2=$(sed -n 's/.*"event":"meeting".*"meeting_id":"\([0-9]*\)".*/\1/p' "$TMP/host2.out" | head -1)
run gone 250 30 "" join "$MID2" --relay "127.0.0.1:$RELAY_PORT" --name Frank --reconnect-s 1 $AUDIO
wait_for gone 'epoch [1-9]' 10 || fail "gone: in the meeting first"
signal_relay KILL
farewell gone 5 "hushcall: lost the relay at 127.0.0.1:$RELAY_PORT, so you left meeting $MID2: .*"

# A relay that drops the leader's heartbeats: the member leaves at the miss limit (5), saying so.
start_relay --attack drop-heartbeats || fail "attacking relay starts"
HB=$(awk -v f="$HC_SLOW" 'BEGIN { x = int(500 * f); if (x > 2000) x = 2000; print x }')   # as hclib's FAST
mkdir -p -m 700 "$TMP/host3.home"
HUSHCALL_HOME="$TMP/host3.home" timeout "$(secs 300)" "$HC_BIN" host --headless --relay "127.0.0.1:$RELAY_PORT" \
  --name Alice --heartbeat-ms $HB $AUDIO < /dev/null > "$TMP/host3.out" 2>&1 &
PIDS+=("$!")
for ((i = 0; i < $(ticks 5); i++)); do grep -q '"event":"meeting"' "$TMP/host3.out" 2>/dev/null && break; sleep 0.05; done
MID3=$(sed -n 's/.*"event":"meeting".*"meeting_id":"\([0-9]*\)".*/\1/p' "$TMP/host3.out" | head -1)
run hbtimeout 250 30 "" join "$MID3" --relay "127.0.0.1:$RELAY_PORT" --name Hal --heartbeat-ms $HB --reconnect-s 0 $AUDIO
farewell hbtimeout 5 "hushcall: you left meeting $MID3: lost contact with the meeting: nothing from the leader for [0-9]+ ms .*"

# Nothing listens on the port: the client retries, then gives up (5).
DEAD=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
run unreachable 250 30 "" join 1234567890 --relay "127.0.0.1:$DEAD" --name Gus $AUDIO
farewell unreachable 5 "hushcall: gave up joining meeting 1234567890: could not connect to the relay at 127.0.0.1:$DEAD .*"

# ---- the demo's bots behave like people: no mute/unmute every few seconds, the greetings stay ----
run bots 100 30 "" demo $AUDIO
wait_for bots '<Bob \(bot\)> Hello' 10 || fail "bots: the demo is up"
sleep 10                               # the old bots toggled their mute every 3 s of the loop's clock
shot=$(screen bots)
if ! grep -qE '\(bot\) (muted|unmuted)' <<<"$shot" && grep -q '<Ada (bot)> Welcome' <<<"$shot" && grep -q '<Bob (bot)> Hello' <<<"$shot"; then
  pass "bots: 10 s later no mute/unmute lines, both greetings still in view"
else fail "bots: 10 s later no mute/unmute lines, both greetings still in view"; sed 's/^/    | /' <<<"$shot"; fi
tm send-keys -t bots q; sleep 0.3; tm send-keys -t bots y
[ "$(wait_status bots 10)" = 0 ] || fail "bots: q y exits 0"

# ---- point 5: small windows ----
run small 79 24 "" demo $AUDIO
if wait_for small 'make the window at least 80x24 \(it is 79x24\)' 10; then pass "79x24: says to make the window at least 80x24"
else fail "79x24: says to make the window at least 80x24"; screen small | sed 's/^/    | /'; fi
if screen small | grep -qE '[0-9]{5} [0-9]{5}|VERIFIED'; then fail "79x24: no cut code or verified state"; else pass "79x24: no cut code or verified state"; fi
if screen small | grep -q 'q leave'; then pass "79x24: q leave shown"; else fail "79x24: q leave shown"; fi
tm resize-window -t small -x 80 -y 24
if wait_for small '^ code [0-9]{5}( [0-9]{5}){7}   NOT VERIFIED — press v ?$' 10 && screen small | grep -q 'q leave'; then
  pass "80x24: the code line, NOT VERIFIED — press v and q leave are whole"
else fail "80x24: the code line, NOT VERIFIED — press v and q leave are whole"; screen small | sed 's/^/    | /'; fi
tm resize-window -t small -x 100 -y 20
wait_for small 'make the window at least 80x24 \(it is 100x20\)' 5 && pass "100x20: too low, said so" || fail "100x20: too low, said so"
tm send-keys -t small q; sleep 0.3; tm send-keys -t small y
st=$(wait_status small 10)
[ "$st" = 0 ] && pass "small window: q y still leaves (status 0)" || fail "small window: q y still leaves" "status $st"

# ---- point 6: a terminal that cannot address the cursor ----
for t in dumb nosuchterminal; do
  for cmd in "join 1234567890 --relay 127.0.0.1:$DEAD" "demo"; do
    n=term-$t-${cmd%% *}
    run "$n" 250 30 "TERM=$t" $cmd $AUDIO          # wide: the message is one line
    st=$(wait_status "$n" 10)
    shot=$(screen "$n")
    if [ "$st" = 2 ]; then pass "TERM=$t ${cmd%% *}: exit 2"; else fail "TERM=$t ${cmd%% *}: exit 2" "status $st"; fi
    if grep -q 'headless' <<<"$shot" && [ "$(grep -c . <<<"$shot")" = 1 ]; then pass "TERM=$t ${cmd%% *}: one line suggesting --headless: $shot"
    else fail "TERM=$t ${cmd%% *}: one line suggesting --headless"; sed 's/^/    | /' <<<"$shot"; fi
    if [ "$(tm display -p -t "$n" '#{alternate_on}')" = 0 ]; then pass "TERM=$t ${cmd%% *}: no alternate screen"; else fail "TERM=$t ${cmd%% *}: no alternate screen"; fi
    check_sane "TERM=$t ${cmd%% *}: terminal modes untouched" "$n"
    if tm capture-pane -e -p -t "$n" | grep -qP '\x1b\['; then fail "TERM=$t ${cmd%% *}: no escape sequences written"
    else pass "TERM=$t ${cmd%% *}: no escape sequences written"; fi
    [ -e "$TMP/$n.home/hushcall.log" ] && fail "TERM=$t ${cmd%% *}: nothing started (no log)" || pass "TERM=$t ${cmd%% *}: nothing started (no log)"
  done
done

# ---- NO_COLOR and --no-color ----
colour() { tm capture-pane -e -p -t "$1" | grep -cP '\x1b\[([0-9;]*;)?(3[0-7]|4[0-7]|9[0-7]|10[0-7]|38|48)(;[0-9;]*)?m'; }
for v in "colour::" "nocolor:NO_COLOR=1:" "empty:NO_COLOR=:" "flag::--no-color"; do
  IFS=: read -r n env flag <<<"$v"
  run "$n" 100 30 "$env" demo $flag $AUDIO
  wait_for "$n" 'epoch [1-9]' 10 || fail "$n: the screen is up"
  c=$(colour "$n")
  case $n in
    colour|empty) [ "$c" -gt 0 ] && pass "$n ($env $flag): colours drawn ($c lines)" || fail "$n ($env $flag): colours drawn";;
    *) if [ "$c" = 0 ] && tm capture-pane -e -p -t "$n" | grep -qP '\x1b\[[0-9;]*7[;m]'; then pass "$n ($env $flag): no colour, reverse video stays"
       else fail "$n ($env $flag): no colour, reverse video stays" "$c coloured lines"; fi;;
  esac
  tm send-keys -t "$n" q; sleep 0.3; tm send-keys -t "$n" y
  st=$(wait_status "$n" 10)
  [ "$st" = 0 ] || fail "$n: q y exits 0" "status $st"
done

echo "ui_screen e2e: $fails failed"
[ "$fails" = 0 ]
