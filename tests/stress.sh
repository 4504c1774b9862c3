#!/usr/bin/env bash
# make test-stress: is the suite green on a busy machine? Clones HEAD (committed work only) into a
# temporary directory, keeps both cores busy with `stress-ng --cpu 2` (installed from Debian when
# missing), and runs each target in STRESS_TARGETS (default "test sanitize") STRESS_RUNS times
# (default 5) in a row in that clone. Prints each run's closing line and time, then a summary;
# exits 1 if any run failed. Logs stay in $STRESS_DIR (default a new /tmp/hc-stress.XXXXXX).
#
#   STRESS_RUNS=5 STRESS_TARGETS="test sanitize" bash tests/stress.sh
set -u
cd "$(dirname "$0")/.." || exit 2
RUNS=${STRESS_RUNS:-5}
TARGETS=${STRESS_TARGETS:-test sanitize}
if ! command -v stress-ng >/dev/null 2>&1; then
  echo "test-stress: installing stress-ng"
  if [ "$(id -u)" != 0 ]; then echo "test-stress: need root to install stress-ng" >&2; exit 1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends stress-ng >/dev/null ||
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends stress-ng >/dev/null; } ||
    { echo "test-stress: apt-get install stress-ng failed" >&2; exit 1; }
fi
[ -z "$(git status --porcelain --untracked-files=no)" ] ||
  echo "test-stress: note: uncommitted changes are not tested (the clone has HEAD only)"
dir=${STRESS_DIR:-$(mktemp -d /tmp/hc-stress.XXXXXX)}
git clone -q . "$dir/src" || exit 1
echo "test-stress: $(git rev-parse --short HEAD) in $dir/src; ${RUNS} x ($TARGETS) under stress-ng --cpu 2"

stress_pid=""
stop_stress() { [ -n "$stress_pid" ] && kill "$stress_pid" 2>/dev/null; wait "$stress_pid" 2>/dev/null; stress_pid=""; }
trap stop_stress EXIT
trap 'stop_stress; exit 130' INT TERM
# a bounded lifetime too, so nothing outlives this script even if it is killed hard
stress-ng --cpu 2 --timeout 6h --quiet & stress_pid=$!

failed=0; summary=()
for target in $TARGETS; do
  for i in $(seq "$RUNS"); do
    log=$dir/$target-$i.log
    t0=$(date +%s)
    (cd "$dir/src" && CI=true make "$target") > "$log" 2>&1; rc=$?
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -1)
    load=$(cut -d' ' -f1 /proc/loadavg)
    s="$target run $i: ${line:-no closing line} (exit $rc, $(( $(date +%s) - t0 )) s, load $load)"
    echo "test-stress: $s"
    summary+=("$s")
    if [ $rc != 0 ] || [ -z "$line" ]; then
      failed=1
      grep -E '^failing:|^    FAIL' "$log" | head -20 | sed 's/^/    /'
    fi
  done
done
stop_stress
echo "test-stress: summary (logs in $dir)"
printf '  %s\n' "${summary[@]}"
[ $failed = 0 ] && echo "test-stress: all runs green" || echo "test-stress: some runs FAILED"
exit $failed
