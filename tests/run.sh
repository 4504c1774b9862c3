#!/usr/bin/env bash
# The hushcall test runner: runs every unit-test binary (cmocka) and every scripted test
# (tests/e2e/*), counts passes, failures and skips, and ends with one line
# "N passed, N failed, N skipped". Exit status is non-zero when anything failed.
#
#   BUILD=build bash tests/run.sh [--unit-only | --long] [PATTERN]
#   --long          only the tests that take minutes (tests/long/*, make test-long)
#   HC_VALGRIND=1   run the unit binaries under valgrind (leaks and invalid accesses are failures)
#   HC_SLOW=F       stretch the real-time tests' deadlines by F instead of measuring the machine's
#                   slowness before each script (tests/slowness.py); HC_SLOW_BUILD=F multiplies the
#                   measured factor (make sanitize: the ASan build is slower)
# Each line gives the test's wall time, and for a scripted test the slowness factor it ran with.
set -u
BUILD=${BUILD:-build}
unit_only=0; long=0; pattern=""
for a in "$@"; do case $a in --unit-only) unit_only=1;; --long) long=1;; *) pattern=$a;; esac; done
cd "$(dirname "$0")/.." || exit 2
export HC_BUILD=$PWD/$BUILD HC_BIN=$PWD/$BUILD/hushcall HC_ROOT=$PWD
export PYTHONDONTWRITEBYTECODE=1     # the test scripts import hclib: no __pycache__ in the tree
logdir=$BUILD/test-logs; mkdir -p "$logdir"
HC_SLOW_FIXED=${HC_SLOW:-}; unset HC_SLOW
pass=0; fail=0; skip=0; failed_names=()
start=$(date +%s)

count() { # file -> sets p f s from cmocka's summary lines
  p=$(grep -E '^\[  PASSED  \] [0-9]+ test' "$1" | tail -1 | grep -oE '[0-9]+' | head -1)
  f=$(grep -E '^\[  FAILED  \] [0-9]+ test' "$1" | tail -1 | grep -oE '[0-9]+' | head -1)
  s=$(grep -E '^\[  SKIPPED \] [0-9]+ test' "$1" | tail -1 | grep -oE '[0-9]+' | head -1)
  p=${p:-0}; f=${f:-0}; s=${s:-0}
}

scripts=tests/e2e
if [ $long = 1 ]; then scripts=tests/long; fi
# the unit tests that wait in real time stretch their deadlines by the slowness measured now
unit_slow=${HC_SLOW_FIXED:-$(python3 tests/slowness.py 2>/dev/null || echo 1)}
for t in "$BUILD"/tests/test_*; do
  [ $long = 1 ] && break
  [ -x "$t" ] || continue
  n=$(basename "$t"); [ -n "$pattern" ] && [[ $n != *$pattern* ]] && continue
  log=$logdir/$n.log
  t0=$(date +%s)
  if [ "${HC_VALGRIND:-0}" = 1 ]; then
    # memcheck runs the code some 20-50 times slower: the real-time deadlines stretch by 10 more
    HC_SLOW=$(awk -v f="$unit_slow" 'BEGIN { print f * 10 }') timeout 1800 valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect \
      --show-leak-kinds=definite,indirect "$t" > "$log" 2>&1; rc=$?
  else
    HC_SLOW=$unit_slow timeout 600 "$t" > "$log" 2>&1; rc=$?
  fi
  count "$log"
  if [ "$rc" != 0 ] && [ "$f" = 0 ]; then f=1; fi   # crashed, timed out or valgrind error
  if [ "$p$f$s" = 000 ]; then f=1; fi               # a binary that ran no test is a failure
  pass=$((pass + p)); fail=$((fail + f)); skip=$((skip + s))
  printf '%-28s %4d passed %3d failed %3d skipped %4d s%s\n' "$n" "$p" "$f" "$s" $(( $(date +%s) - t0 )) \
    "$([ $rc != 0 ] && echo "  (exit $rc, see $log)")"
  if [ "$f" != 0 ]; then failed_names+=("$n"); grep -E '^\[  (FAILED|ERROR)|error:|ERROR SUMMARY|definitely lost' "$log" | head -20 | sed 's/^/    /'; fi
  grep -E '^\[  SKIPPED \] [a-z_]' "$log" | sed 's/^/    /'
done

if [ $unit_only = 0 ]; then
  # headless_contract.py checks every headless line the other scripts printed in this run
  # against docs/headless.schema.json, so it runs after them.
  ordered=(); last=()
  for t in "$scripts"/*; do
    case $(basename "$t") in headless_contract.py) last+=("$t");; *) ordered+=("$t");; esac
  done
  for t in "${ordered[@]}" "${last[@]}"; do
    [ -f "$t" ] || continue                         # scripts only (not a __pycache__ directory)
    n=$(basename "$t"); [ -n "$pattern" ] && [[ $n != *$pattern* ]] && continue
    if [ ! -x "$t" ]; then                          # a test forgotten by a missing chmod +x
      case $n in lib.sh|relay_lib.sh|hclib.py|cluster_lib.py) continue;; esac
      printf '%-28s not executable: chmod +x it (or it is a library: list it in tests/run.sh)\n' "$n"
      fail=$((fail + 1)); failed_names+=("$n"); continue
    fi
    log=$logdir/e2e-$n.log
    t0=$(date +%s)
    # how busy the machine is right now: the script's deadlines stretch by this much
    slow=${HC_SLOW_FIXED:-$(python3 tests/slowness.py 2>/dev/null || echo 1)}
    HC_SLOW=$slow timeout 1800 "$t" > "$log" 2>&1; rc=$?
    p=$(grep -cE '^PASS: ' "$log"); f=$(grep -cE '^FAIL: ' "$log"); s=$(grep -cE '^SKIP: ' "$log")
    if [ "$rc" != 0 ] && [ "$f" = 0 ]; then f=1; echo "FAIL: $n exited with status $rc" >> "$log"; fi
    if [ "$p$f$s" = 000 ]; then f=1; fi               # a script that ran no check is a failure
    pass=$((pass + p)); fail=$((fail + f)); skip=$((skip + s))
    printf '%-28s %4d passed %3d failed %3d skipped %4d s  slow x%s%s\n' "$n" "$p" "$f" "$s" $(( $(date +%s) - t0 )) \
      "$slow" "$([ $rc != 0 ] && echo "  (exit $rc, see $log)")"
    grep -E '^(FAIL|SKIP): ' "$log" | sed 's/^/    /'
    [ "$f" != 0 ] && failed_names+=("$n")
  done
fi

echo "test run took $(( $(date +%s) - start )) s; logs in $logdir"
[ ${#failed_names[@]} -gt 0 ] && echo "failing: ${failed_names[*]}"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" = 0 ]
