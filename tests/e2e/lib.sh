# Shared by the shell tests (sourced, not run: not executable). Paths, PASS/FAIL lines, deadlines
# stretched by the machine's slowness, and looking at processes in a way that fails loudly when it
# cannot look (a check that cannot see must not pass).
#
#   pass NAME / fail NAME [DETAIL] / check NAME CMD...    one "PASS: ..." or "FAIL: ..." line;
#                       fails counts the FAIL lines this shell printed
#   secs N              N seconds on an idle machine, stretched by HC_SLOW (tests/slowness.py),
#                       rounded up to a whole second
#   ticks N             the same deadline as a count of 0.05 s polls
#   need_tool TOOL PKG  FAIL (and exit 1) when TOOL is missing: what the Makefile should have installed
#   children_of PID     the pids whose parent is PID, one per line; status 2 and a FAIL line (on
#                       stderr, which the runner reads too) when it cannot look, so "no child left"
#                       is never concluded from a missing tool
HC_ROOT=${HC_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
HC_BUILD=${HC_BUILD:-$HC_ROOT/build}
HC_BIN=${HC_BIN:-$HC_BUILD/hushcall}
if [ -z "${HC_SLOW:-}" ]; then HC_SLOW=$(python3 "$HC_ROOT/tests/slowness.py" 2>/dev/null || echo 1); fi
export HC_SLOW

fails=0
pass() { echo "PASS: $1"; }
fail() { echo "FAIL: $1${2:+: $2}"; fails=$((fails + 1)); }
check() { local name=$1; shift; if "$@"; then pass "$name"; else fail "$name"; fi; }

secs() { awk -v s="$1" -v f="$HC_SLOW" 'BEGIN { x = s * f; printf "%d\n", (x == int(x)) ? x : int(x) + 1 }'; }
ticks() { awk -v s="$1" -v f="$HC_SLOW" 'BEGIN { printf "%d\n", s * f * 20 + 0.5 }'; }

need_tool() {
  command -v "$1" >/dev/null 2>&1 && return 0
  fail "$1 is installed (package $2; the Makefile installs it)"
  exit 1
}

children_of() {
  local out rc
  out=$(pgrep -P "$1" 2>&1); rc=$?
  case $rc in
    0) echo "$out" ;;
    1) ;;                                   # looked, found none
    *) fail "looking for the children of $1 with pgrep" "exit $rc: $out" >&2; return 2 ;;
  esac
  return 0
}
