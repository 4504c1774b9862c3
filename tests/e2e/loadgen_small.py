#!/usr/bin/env python3
"""A scaled-down large meeting (issue 15): 200 real participants in one bench/loadgen process (their
own connections, identities and crypto) join a real relay over 20 s, three of them talk, the
meeting runs steady, then 50 leave within 5 s. Asserted are properties, never timings: every bot
keyed, no heartbeat timeout, no security alert (there is no attacker), nobody dropped, every bot
ends with the leader's roster, frame loss over the steady window within a tolerance, the leave
storm rekeyed, the relay dropped nobody for a backlog, and the control bytes each join costs the
bots stay linear in the meeting's size (they were quadratic: the whole roster went to everyone on
every change). It must hold on a busy machine too: deadlines stretch with the measured slowness."""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

from hclib import Checks, scaled

BUILD = os.environ.get("HC_BUILD", os.path.join(os.path.dirname(__file__), "..", "..", "build"))
BIN = os.environ.get("HC_BIN", os.path.join(BUILD, "hushcall"))
LOADGEN = os.path.join(BUILD, "bench", "loadgen")
BOTS, JOIN_S, STEADY_S, LEAVES, LEAVE_S = 200, 20, 10, 50, 5
# Control bytes the bots receive per join, during the joins: each join costs every member its
# announcement and a notice, and each batch a delta, two heartbeats and a key box, so about
# 1 KB per member, and the joiner the board. Whole rosters to everyone cost 3 KB per member per
# join at this size, and grow with it.
BYTES_PER_JOIN_PER_BOT = 1500
LOSS_TOLERANCE_PCT = 1.0

CHECKS = Checks()
check = CHECKS.check


def main():
    if not os.access(LOADGEN, os.X_OK):
        print("FAIL: %s is built (make tests-build builds it)" % LOADGEN)
        return 1
    tmp = tempfile.mkdtemp(prefix="hc-loadgen-")
    out_path, err_path = os.path.join(tmp, "relay.out"), os.path.join(tmp, "relay.err")
    relay = subprocess.Popen(
        ["timeout", str(int(scaled(600))), BIN, "relay", "--listen", "127.0.0.1:0", "--max-members", "1000",
         "--max-conns-per-addr", "1000", "--max-unjoined-per-addr", "1000", "--join-rate", "0,0",
         "--forward-loudest", "3", "--stats-interval", "1", "--log", "/dev/null"],
        stdout=open(out_path, "w"), stderr=open(err_path, "w"))
    port = None
    end = time.time() + scaled(10)
    while time.time() < end and port is None:
        m = re.search(r'"event":"listening".*"port":(\d+)', open(out_path).read())
        if m:
            port = int(m.group(1))
        time.sleep(0.05)
    check("the relay starts", port is not None, open(err_path).read()[-500:])
    if port is None:
        relay.kill()
        return 1
    # the relay process itself (under timeout), for its CPU and memory
    kids = subprocess.run(["pgrep", "-P", str(relay.pid)], capture_output=True, text=True).stdout.split()
    relay_pid = kids[0] if kids else str(relay.pid)
    report = None
    try:
        lg = subprocess.run(
            [LOADGEN, "--relay", "127.0.0.1:%d" % port, "--host", "--bots", str(BOTS), "--join-over", str(JOIN_S),
             "--settle", "5", "--steady", str(STEADY_S), "--leave", str(LEAVES), "--leave-over", str(LEAVE_S),
             "--relay-pid", relay_pid, "--relay-stats", out_path, "--quiet"],
            capture_output=True, text=True, timeout=scaled(JOIN_S + STEADY_S + LEAVE_S + 180))
        try:
            report = json.loads(lg.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            print("loadgen stdout: %s\nloadgen stderr: %s" % (lg.stdout[-2000:], lg.stderr[-2000:]))
    except subprocess.TimeoutExpired as e:
        print("loadgen timed out; stderr: %s" % ((e.stderr or b"")[-2000:],))
    finally:
        relay.terminate()
        try:
            relay.wait(timeout=scaled(10))
        except subprocess.TimeoutExpired:
            relay.kill()
        err = open(err_path).read()
        shutil.rmtree(tmp, ignore_errors=True)
    check("the relay reported no memory error", not any(w in err for w in ("Sanitizer", "runtime error")), err[-500:])
    check("the load generator ran to its report", report is not None)
    if report is None:
        return 1
    r = report
    print("figures (not asserted): join->key p50 %d ms p99 %d ms; %.0f control bytes per join during the joins; "
          "loss %.4f %%; leave storm rekeyed %d ms after the last leave; relay %s" %
          (r["join_to_key_ms"]["p50"], r["join_to_key_ms"]["p99"], r["control_bytes_per_join_during_joins"],
           r["frame_loss_pct"], r["rekeyed_after_last_leave_ms"], r.get("relay")))
    check("every bot got a key (%d keyed of %d)" % (r["keyed"], BOTS), r["keyed"] == BOTS and r["not_keyed"] == 0)
    check("no heartbeat timeout", r["heartbeat_timeouts"] == 0, r["heartbeat_timeouts"])
    check("no security alert without an attacker", r["alerts"] == 0, (r["alerts"], r["alert_kinds"], r["alert_first"]))
    check("nobody dropped out", r["unexpected_disconnects"] == 0, r["unexpected_disconnects"])
    check("every bot ends with the leader's roster (%d views)" % r["roster_views"],
          r["rosters_consistent"] and r["roster_views"] == BOTS - LEAVES, (r["roster_mismatched"], r["roster_views"]))
    check("the talkers were heard: frames expected over the steady window", r["frames_expected"] > 0)
    check("frame loss over the steady window under %.1f %%" % LOSS_TOLERANCE_PCT,
          r["frame_loss_pct"] < LOSS_TOLERANCE_PCT, r["frame_loss_pct"])
    check("the leave storm was rekeyed (every survivor holds a key made after the last leave)",
          r["rekeyed_after_last_leave_ms"] >= 0, r["rekeyed_after_last_leave_ms"])
    st = r.get("relay_stats")
    check("the relay's stats were read", st is not None)
    if st:
        check("the relay dropped nobody for a backlog", st["disconnects"]["backlog"] == 0, st["disconnects"])
        check("roster changes went as deltas", st.get("roster", {}).get("deltas", 0) > 0, st.get("roster"))
    per_join = r["control_bytes_per_join_during_joins"]
    check("control bytes per join stay linear: %.0f <= %d x %d bots" % (per_join, BYTES_PER_JOIN_PER_BOT, BOTS),
          0 < per_join <= BYTES_PER_JOIN_PER_BOT * BOTS, per_join)
    return 1 if CHECKS.failed else 0


if __name__ == "__main__":
    sys.exit(main())
