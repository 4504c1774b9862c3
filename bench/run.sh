#!/usr/bin/env bash
# Runs every benchmark binary in $BUILD/bench (each prints its own figures and ratios) and the
# scripted benchmarks in bench/*.sh. Nothing here is asserted: figures are for people.
set -u
BUILD=${BUILD:-build}
cd "$(dirname "$0")/.." || exit 2
export HC_BUILD=$PWD/$BUILD HC_BIN=$PWD/$BUILD/hushcall HC_ROOT=$PWD
echo "hushcall benchmarks on $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(date -u +%FT%TZ)"
rc=0
for b in "$BUILD"/bench/*; do
  [ -x "$b" ] || continue
  [ "$(basename "$b")" = loadgen ] && continue   # needs a relay: bench/loadgen.sh runs it
  echo; echo "== $(basename "$b")"
  timeout 900 "$b" || { echo "bench $(basename "$b") exited with $?"; rc=1; }
done
for s in bench/*.sh; do
  [ -x "$s" ] || continue
  [ "$s" = bench/run.sh ] && continue   # this runner is itself bench/*.sh: never run it again
  echo; echo "== $(basename "$s")"
  timeout 900 "$s" || { echo "bench $(basename "$s") exited with $?"; rc=1; }
done
exit $rc
