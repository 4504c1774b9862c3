#!/usr/bin/env bash
# The terminal screen, driven through tmux: the ncurses front end against ui_preview's fake
# meeting (later: the real `hushcall demo`). Reads the screen with `tmux capture-pane -p` and
# checks what a person must see: participants, the 8x5-digit code, NOT VERIFIED, the epoch, the
# mic badge, the help, verification, leaving with q+y (exit 0, no process left), SIGTERM, resize,
# ASCII mode, and a restored terminal after a crash.
#
#   HC_UI_PROG   program under test (default $HC_BUILD/tools/ui_preview)
#   HC_UI_ARGS   its arguments (default none); for `hushcall demo` set HC_UI_PROG=... HC_UI_ARGS=demo
#   HC_UI_CRASH  1/0: run the crash check (needs ui_preview's --crash-after; default 1 only for
#                ui_preview)
#   HC_UI_LOG    1/0: pass --log FILE and check it is 0600 (default 1 only for ui_preview)
#   HC_UI_EXPECT_NAMES  participants that must be listed by name, "A|B"
# Prints one "PASS: name" / "FAIL: name" line per check.
set -u
HC_BUILD=${HC_BUILD:-build}
PROG=${HC_UI_PROG:-$HC_BUILD/tools/ui_preview}
if [ -z "${HC_UI_PROG:-}" ]; then own=1; else own=0; fi
# The preview plays a member (bob leads), as the demo does: a member verifies the code, the
# leader only reads it out (checked on its own below).
ARGS=${HC_UI_ARGS:-$([ "$own" = 1 ] && echo --member)}
USE_LOG=${HC_UI_LOG:-$own}
CRASH=${HC_UI_CRASH:-$own}
SOCK=hc-ui-e2e-$$
T=$(mktemp -d)
trap 'tmux -L "$SOCK" kill-server 2>/dev/null; rm -rf "$T"' EXIT

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"   # pass, fail (counted), secs, ticks, children_of
tm() { tmux -L "$SOCK" "$@"; }
screen() { tm capture-pane -p -t "$1"; }
# wait_for SESSION REGEX [SECONDS]: until the screen matches (extended regex); wait_gone: until it
# no longer does. SECONDS on an idle machine, stretched by its slowness.
wait_screen() { # shown|gone SESSION REGEX SECONDS
  local i n=$(( $(ticks "$4") / 2 )) on
  for ((i = 0; i < n; i++)); do
    if screen "$2" 2>/dev/null | grep -qE -- "$3"; then on=shown; else on=gone; fi
    [ "$on" = "$1" ] && return 0
    sleep 0.1
  done
  return 1
}
wait_for() { wait_screen shown "$1" "$2" "${3:-5}"; }
wait_gone() { wait_screen gone "$1" "$2" "${3:-5}"; }
check_screen() { # name session regex [seconds]
  if wait_for "$2" "$3" "${4:-5}"; then pass "$1"; else fail "$1" "no /$3/ on screen"; screen "$2" | sed 's/^/    | /'; fi
}
# start NAME W H EXTRA_ARGS: runs the program in its own tmux session; its exit status lands in
# $T/NAME.status and its pid in $T/NAME.pid.
start() {
  local name=$1 w=$2 h=$3; shift 3
  tm new-session -d -s "$name" -x "$w" -y "$h" \
    "cd '$PWD' && LANG=C.UTF-8 LC_ALL=C.UTF-8 ${START_ENV:-} HUSHCALL_HOME='$T/home-$name' sh -c 'echo \$\$ > $T/$name.shpid; exec $PROG $ARGS $* $([ "$USE_LOG" = 1 ] && echo "--log $T/$name.log")' ; echo \$? > $T/$name.status; sleep 600"
  local i
  for ((i = 0; i < $(ticks 5) / 2; i++)); do [ -s "$T/$name.shpid" ] && break; sleep 0.1; done
  cp "$T/$name.shpid" "$T/$name.pid" 2>/dev/null
}
wait_status() { # name seconds -> prints status or "timeout"
  local i n=$(( $(ticks "$2") / 2 ))
  for ((i = 0; i < n; i++)); do [ -s "$T/$1.status" ] && { cat "$T/$1.status"; return; }; sleep 0.1; done
  echo timeout
}
gone() { ! kill -0 "$(cat "$T/$1.pid")" 2>/dev/null; }
# The pane's terminal is back in cooked mode with echo (checked from outside with stty -F).
check_sane() { # name session
  local tty modes
  tty=$(tm display -p -t "$2" '#{pane_tty}')
  modes=$(stty -a -F "$tty" 2>&1)
  if grep -qw icanon <<<"$modes" && grep -qw echo <<<"$modes" && ! grep -qw -- -icanon <<<"$modes" && \
     ! grep -qw -- -echo <<<"$modes"; then pass "$1"; else fail "$1" "$(grep -oE -- '-?(icanon|echo)\b' <<<"$modes" | tr '\n' ' ')"; fi
}

if [ ! -x "${PROG%% *}" ]; then fail "program present" "$PROG not built"; exit 1; fi
need_tool tmux tmux

# ---- the main run: 100x30 ----
start main 100 30
check_screen "participants listed" main '^[> ] +[0-9]+ .*[0-9a-f]{4} [0-9a-f]{4}' 5
# HC_UI_EXPECT_NAMES: participants that must be listed by name ("A|B|C")
if [ -n "${HC_UI_EXPECT_NAMES:-}" ]; then
  IFS='|' read -r -a want_names <<<"$HC_UI_EXPECT_NAMES"
  for n in "${want_names[@]}"; do
    if wait_for main "^[> ] +[0-9]+ $(sed 's/[][().*+?^$|\\]/\\&/g' <<<"$n") " 10; then pass "listed: $n"; else fail "listed: $n"; screen main | sed 's/^/    | /'; fi
  done
fi
rows=$(screen main | grep -cE '^[> ] +[0-9]+ .*[0-9a-f]{4} [0-9a-f]{4}')
if [ "$rows" -ge 2 ]; then pass "at least two participant rows"; else fail "at least two participant rows" "$rows"; fi
check_screen "security code: 8 groups of 5 digits" main '(^|[^0-9])[0-9]{5}( [0-9]{5}){7}([^0-9]|$)'
check_screen "NOT VERIFIED shown" main 'NOT VERIFIED'
check_screen "E2EE badge" main 'E2EE'
if wait_for main 'epoch [1-9][0-9]*' 5; then pass "key epoch >= 1"; else fail "key epoch >= 1"; fi
check_screen "mic badge always visible" main 'MIC '

tm send-keys -t main m
check_screen "m: muted" main 'MIC MUTED'
tm send-keys -t main m
if wait_gone main 'MIC MUTED' 5 && wait_for main 'MIC .*(live|TALKING)' 5; then pass "m again: unmuted"; else fail "m again: unmuted"; fi

tm send-keys -t main '?'
if wait_for main 'Help' 3; then
  shot=$(screen main)
  missing=""
  for k in 'm' 'v' '\?' 'Enter' '/' 'q' 'Up/Down' 'PgUp/PgDn' 'x' 'l' 'k' 'a' 'd'; do
    grep -qE "(│|\|) $k[ ,]" <<<"$shot" || missing="$missing $k"
  done
  if [ -z "$missing" ]; then pass "?: help lists every key"; else fail "?: help lists every key" "missing:$missing"; fi
else
  fail "?: help shown"
fi
tm send-keys -t main Escape
sleep 0.3

tm send-keys -t main v
check_screen "v: the question" main 'Does everyone read the same code\? y/n'
tm send-keys -t main y
if wait_for main '(^|[^T] )VERIFIED' 3 && ! screen main | grep -q 'NOT VERIFIED'; then pass "v y: VERIFIED"; else fail "v y: VERIFIED"; screen main | head -3 | sed 's/^/    | /'; fi

# Chat: Enter, text, Enter shows it in the log.
tm send-keys -t main Enter
tm send-keys -t main -l 'hello from tmux'
tm send-keys -t main Enter
check_screen "chat: sent and shown" main '<[^>]+> hello from tmux'
# An unknown command gets a helpful line.
tm send-keys -t main /
tm send-keys -t main -l 'frob'
tm send-keys -t main Enter
check_screen "unknown /command explained" main 'unknown command /frob'

# Resize: redrawn at 80x24, code still whole.
tm resize-window -t main -x 80 -y 24
widest() { local l m=0; while IFS= read -r l; do [ ${#l} -gt $m ] && m=${#l}; done; echo $m; }
redrawn() {
  grep -qE '[0-9]{5}( [0-9]{5}){7}' <<<"$shot" && [ "$(wc -l <<<"$shot")" -le 24 ] && \
    [ "$(LC_ALL=C.UTF-8 widest <<<"$shot")" -le 80 ] && grep -q 'MIC ' <<<"$shot"
}
for ((i = 0; i < $(ticks 5) / 2; i++)); do shot=$(screen main); redrawn && break; sleep 0.1; done
if redrawn; then
  pass "resize to 80x24: redrawn"
else
  fail "resize to 80x24: redrawn"; sed 's/^/    | /' <<<"$shot"
fi

tm send-keys -t main q
check_screen "q: asks first" main 'Leave the meeting\? y/n'
[ -n "${HC_UI_DEBUG:-}" ] && { gdb -p "$(cat "$T/main.pid")" -batch -ex bt 2>/dev/null | grep "^#" | head -12; cat /proc/$(cat "$T/main.pid")/wchan; echo; }
tm send-keys -t main n
wait_gone main 'Leave the meeting\? y/n' 5
sleep "$(secs 1)"
if gone main || [ -s "$T/main.status" ] || ! screen main | grep -q 'MIC '; then fail "q n: stays"; else pass "q n: stays"; fi
# the processes it runs, looked up while it runs, must all be gone after it exits
kids_before=$(children_of "$(cat "$T/main.pid")") || kids_before=unknown
tm send-keys -t main q
sleep 0.2
tm send-keys -t main y
st=$(wait_status main 5)
if [ "$st" = 0 ]; then pass "q y: exits with status 0"; else fail "q y: exits with status 0" "status $st"; fi
left=""
for k in $kids_before; do
  if [ "$k" = unknown ]; then left="(could not list them)"; else kill -0 "$k" 2>/dev/null && left="$left $k"; fi
done
if gone main && [ -z "$left" ]; then pass "q y: no process left (${kids_before:-no} child processes while it ran)"
else fail "q y: no process left" "still there:${left}"; fi
if [ "$(tm display -p -t main '#{alternate_on}')" = 0 ]; then pass "q y: terminal back on the main screen"; else fail "q y: terminal back on the main screen"; fi
check_sane "q y: terminal modes restored (echo, icanon)" main
if [ "$USE_LOG" = 1 ]; then
  if [ -f "$T/main.log" ] && [ "$(stat -c %a "$T/main.log")" = 600 ]; then pass "stderr log file is 0600"; else fail "stderr log file is 0600"; fi
  if [ "$own" = 1 ]; then
    if grep -q 'stderr goes to the log' "$T/main.log" 2>/dev/null; then pass "stderr went to the log file"; else fail "stderr went to the log file"; fi
  fi
fi

# ---- SIGTERM: a graceful leave ----
start term 100 30
wait_for term 'epoch [1-9]' 5 || fail "SIGTERM: the meeting is up first"
kill -TERM "$(cat "$T/term.pid")"
st=$(wait_status term 5)
if [ "$st" = 0 ]; then pass "SIGTERM: leaves, status 0"; else fail "SIGTERM: leaves, status 0" "status $st"; fi
check_sane "SIGTERM: terminal modes restored" term

# ---- Ctrl-C (SIGINT from the terminal): a graceful leave too ----
start intr 100 30
wait_for intr 'epoch [1-9]' 5 || fail "Ctrl-C: the meeting is up first"
tm send-keys -t intr C-c
st=$(wait_status intr 5)
if [ "$st" = 0 ]; then pass "Ctrl-C: leaves, status 0"; else fail "Ctrl-C: leaves, status 0" "status $st"; fi
check_sane "Ctrl-C: terminal modes restored" intr

# ---- ASCII mode: no byte >= 0x80 on the screen ----
start ascii 100 30 --ascii
if wait_for ascii 'NOT VERIFIED - press v' 5; then pass "--ascii: ASCII prompt"; else fail "--ascii: ASCII prompt"; fi
tm send-keys -t ascii v
wait_for ascii 'Does everyone read the same code' 5 || fail "--ascii: v shows the question"
if screen ascii | LC_ALL=C grep -q $'[\x80-\xff]'; then fail "--ascii: only ASCII bytes"; else pass "--ascii: only ASCII bytes"; fi
tm send-keys -t ascii Escape
tm send-keys -t ascii q
sleep 0.2
tm send-keys -t ascii y
st=$(wait_status ascii 5)
[ "$st" = 0 ] && pass "--ascii: q y exits 0" || fail "--ascii: q y exits 0" "status $st"

# ---- monochrome terminal (no colours): still readable ----
START_ENV="TERM=vt100" start mono 100 30
if wait_for mono 'NOT VERIFIED' 5 && wait_for mono 'MIC ' 1; then pass "TERM=vt100: screen drawn without colours"; else fail "TERM=vt100: screen drawn without colours"; fi
tm send-keys -t mono q
sleep 0.2
tm send-keys -t mono y
st=$(wait_status mono 5)
[ "$st" = 0 ] && pass "TERM=vt100: q y exits 0" || fail "TERM=vt100: q y exits 0" "status $st"

# ---- ui_preview's scripted security events: alert line, leader change notice ----
if [ "$own" = 1 ]; then
  start sec 100 30 --alert-after 500 --leader-change-after 1500
  check_screen "alert: red line shown" sec '!! SECURITY ALERT: roster_mismatch'
  check_screen "leader change: notice asks to compare" sec 'The leader changed'
  check_screen "leader change: the new code" sec 'New security code: 27182 81828 45904 52353 60287 47135 26624 97757'
  if screen sec | grep -q '!! SECURITY ALERT'; then pass "alert: still visible above the notice"; else fail "alert: still visible above the notice"; fi
  tm send-keys -t sec Escape
  sleep 0.3
  if screen sec | grep -q 'E2EE ⚠ ALERT'; then pass "alert: the E2EE badge says so"; else fail "alert: the E2EE badge says so"; screen sec | head -2 | sed 's/^/    | /'; fi
  # A security alert is not dismissed by one key: x asks, n keeps it, x y dismisses.
  tm send-keys -t sec x
  check_screen "x: asks before dismissing a security alert" sec 'Dismiss the security alert\?'
  tm send-keys -t sec n
  sleep 0.3
  if screen sec | grep -q '!! SECURITY ALERT'; then pass "x n: the alert stays"; else fail "x n: the alert stays"; fi
  tm send-keys -t sec x
  wait_for sec 'Dismiss the security alert\?' 3
  tm send-keys -t sec y
  if wait_gone sec '!! SECURITY ALERT' 5 && ! gone sec && screen sec | grep -q 'MIC '; then pass "x y: alert dismissed"
  else fail "x y: alert dismissed"; fi
  check_screen "x y: the log says what was dismissed" sec 'dismissed: SECURITY ALERT: roster_mismatch'
  if screen sec | grep -q 'E2EE ⚠ ALERT'; then fail "x y: the badge is plain E2EE again"; else pass "x y: the badge is plain E2EE again"; fi
  tm send-keys -t sec q
  sleep 0.2
  tm send-keys -t sec y
  st=$(wait_status sec 5)
  [ "$st" = 0 ] && pass "security run: q y exits 0" || fail "security run: q y exits 0" "status $st"
fi

# ---- the leader's view: its code is read out, not verified ----
if [ "$own" = 1 ]; then
  HC_UI_ARGS_SAVED=$ARGS; ARGS=""
  start lead 100 30
  check_screen "leader: the code line says to read it out" lead 'YOU LEAD: read this code to the others'
  if screen lead | grep -q 'press v'; then fail "leader: no 'press v'"; else pass "leader: no 'press v'"; fi
  tm send-keys -t lead v
  check_screen "leader: v shows the code to read aloud" lead 'You lead: read this code aloud'
  if screen lead | grep -q 'y/n'; then fail "leader: v asks nothing"; else pass "leader: v asks nothing"; fi
  tm send-keys -t lead Escape
  sleep 0.2
  tm send-keys -t lead q
  sleep 0.2
  tm send-keys -t lead y
  st=$(wait_status lead 5)
  [ "$st" = 0 ] && pass "leader run: q y exits 0" || fail "leader run: q y exits 0" "status $st"
  ARGS=$HC_UI_ARGS_SAVED
fi

# ---- a crash restores the terminal ----
if [ "$CRASH" = 1 ]; then
  start crash 100 30 --crash-after 800
  st=$(wait_status crash 5)
  # 139: killed by SIGSEGV after our handler chained to the default; under ASan its own handler
  # (which ours chains to) reports and exits 1.
  if [ "$st" != timeout ] && [ "$st" != 0 ]; then pass "crash: the process ended (status $st)"; else fail "crash: the process ended" "status $st"; fi
  if [ "$(tm display -p -t crash '#{alternate_on}')" = 0 ]; then pass "crash: main screen restored"; else fail "crash: main screen restored"; fi
  check_sane "crash: terminal modes restored (echo, icanon)" crash
fi

echo "ui_preview e2e: $fails failed"
[ "$fails" = 0 ]
