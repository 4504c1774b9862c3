#!/usr/bin/env python3
"""How much slower than an idle machine this one runs right now: the factor by which the
real-time tests stretch their deadlines (tests/e2e/hclib.py, tests/e2e/lib.sh), so that a busy
laptop or a CI box with other work waits longer instead of failing.

Two measurements, the larger wins:
- CPU share: a fixed amount of work, its wall time over the CPU time it got. 1.0 on an idle
  core; 1.5 when three busy processes share two cores; 15 at a load of 30.
- wake-up latency: 2 ms sleeps, the 90th percentile of how late they return, against 10 ms
  (what the real-time code tolerates before anything is late): 1 + late / 10 ms.
Then multiplied by HC_SLOW_BUILD (the sanitizer build runs about twice as slowly; make sanitize
sets it to 2). HC_SLOW, when set, is used as it is (the runner measures once per test script and
passes it on). Clamped to [1, 40].

    python3 tests/slowness.py        prints the factor, e.g. 1.0 or 2.4
"""
import os
import time


def measure():
    ratios = []
    for _ in range(5):
        w0, c0 = time.perf_counter(), time.process_time()
        x = 0
        for i in range(150000):
            x += i * i
        w, c = time.perf_counter() - w0, time.process_time() - c0
        ratios.append(w / max(c, 1e-6))
    share = sorted(ratios)[len(ratios) // 2]
    late = []
    for _ in range(20):
        t0 = time.perf_counter()
        time.sleep(0.002)
        late.append(time.perf_counter() - t0 - 0.002)
    late_ms = sorted(late)[int(len(late) * 0.9)] * 1000
    return max(share, 1 + late_ms / 10)


def factor():
    try:
        if os.environ.get("HC_SLOW"):
            return min(40.0, max(1.0, float(os.environ["HC_SLOW"])))
    except ValueError:
        pass
    f = measure()
    try:
        f *= float(os.environ.get("HC_SLOW_BUILD") or 1)
    except ValueError:
        pass
    return round(min(40.0, max(1.0, f)), 1)


if __name__ == "__main__":
    print(factor())
