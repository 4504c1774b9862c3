#!/usr/bin/env python3
"""Every participant of a headless meeting under valgrind (memcheck, full leak check): join,
chat, kick, leave, leader change, end. Each process must exit with its normal status: valgrind's
--error-exitcode=99 turns any invalid access, use of uninitialised memory or definite leak into
exit 99. It takes about 15 s; a sanitizer build cannot run under valgrind, so there it is
skipped (the plain build runs it, in `make test` and in `make valgrind`).

Everyone sends silence: a participant encoding a tone under memcheck needs about 65 % of a core,
and four of them (each also decoding the others) starve a 2-core machine until heartbeats are
missed. With silence the encoder goes quiet after its first frames (DTX), so the meeting runs at
about a tenth of that. The audio path itself runs under memcheck in the unit tests (make
valgrind) and under ASan in every multi-process test (make sanitize)."""
import os
import shutil
import subprocess
import sys
import time

from hclib import SLOW, Harness

# HC_VG_AUDIO=tone:440 (make test-long: tests/long/meeting_valgrind_audio.sh): everyone sends a
# tone, so encoding, SFrame and decoding run under memcheck in a whole meeting too: about four
# times the CPU, so it runs with the longest heartbeat interval and waits four times as long.
AUDIO = os.environ.get("HC_VG_AUDIO", "silence")
# valgrind slows everything ~30x: relaxed timers so honest members do not time out, stretched
# further on a busy machine (the heartbeat interval tops out at 10 s).
HB_MS = 10000 if AUDIO != "silence" else int(min(10000, 2000 * SLOW))
ARGS = ["--heartbeat-ms", str(HB_MS), "--miss-limit", "10", "--audio-in", AUDIO, "--audio-out", "null"]
# the waits below are for the silent meeting; a talking one is several times slower still
W = 1 if AUDIO == "silence" else 4
VG = ["valgrind", "-q", "--leak-check=full", "--errors-for-leak-kinds=definite",
      "--show-leak-kinds=definite", "--error-exitcode=99", "--track-origins=yes"]

BIN = os.environ.get("HC_BIN", "build/hushcall")
if not shutil.which("valgrind"):
    print("FAIL: meeting under valgrind (valgrind is not installed; the Makefile installs it)")
    sys.exit(1)
if "libasan" in subprocess.run(["ldd", BIN], capture_output=True, text=True).stdout:
    print("SKIP: meeting under valgrind (this is an AddressSanitizer build, which cannot run under "
          "valgrind; the plain build runs it)")
    sys.exit(0)

with Harness() as h:
    relay = h.relay(timeout=600 * W)
    a = h.host("alice", relay.port, ARGS, wrap=VG, wait=60 * W, timeout=600 * W)
    b = h.participant("bob", relay.port, a.meeting_id, ARGS, wrap=VG, timeout=600 * W)
    c = h.participant("carol", relay.port, a.meeting_id, ARGS, wrap=VG, timeout=600 * W)
    ja, jb, jc = a.wait("joined", 60 * W), b.wait("joined", 60 * W), c.wait("joined", 60 * W)
    h.check("three participants join under valgrind", ja and jb and jc, (ja, jb, jc))

    def keyed(p, n=1):
        return p.wait_event(lambda e: e.get("event") == "key_epoch" and e.get("members", 0) >= n, 90 * W)

    h.check("everyone gets a key that covers all three", all(keyed(p, 3) for p in (a, b, c)),
            [p.all("key_epoch") for p in (a, b, c)])
    b.send("chat hello under valgrind")
    got = [p.wait("chat", 60 * W) for p in (a, c)]
    h.check("chat reaches the others", all(g and g.get("text") == "hello under valgrind" for g in got), got)

    d = h.participant("dave", relay.port, a.meeting_id, ARGS, wrap=VG, timeout=600 * W)
    jd = d.wait("joined", 60 * W)
    h.check("a fourth joins", jd is not None, d.raw[-3:])
    keyed(d, 4)
    a.send("kick %d" % jd["index"] if jd else "kick 0")
    h.check("the kicked member exits with status 4 and no valgrind error", d.exit_code(120 * W) == 4, d.err[-20:])

    a.send("leave")
    h.check("the leader leaves with status 0 and no valgrind error", a.exit_code(120 * W) == 0, a.err[-20:])
    lc = [p.wait("leader_changed", 60 * W) for p in (b, c)]
    # the earliest joiner of the two leads next (they joined at the same time: either order)
    nl, other = (b, c) if jb and jc and jb["index"] < jc["index"] else (c, b)
    want = (jb if nl is b else jc) or {}
    h.check("the earliest remaining joiner becomes leader", all(x and x.get("leader") == want.get("index") for x in lc), lc)
    # nobody sends under the departed leader's keys: chat waits for the new leader's key
    since = next((i for i, e in enumerate(list(other.events)) if e.get("event") == "leader_changed"), 0)
    h.check("the new leader's key arrives", other.wait("key_epoch", 60 * W, since=since) is not None, other.events[-3:])
    other.send("chat after the change")
    g = nl.wait("chat", 60 * W, text="after the change")
    h.check("chat works under the new leader", g is not None, nl.all("chat"))
    other.send("leave")
    h.check("the other member leaves with status 0 and no valgrind error", other.exit_code(120 * W) == 0, other.err[-20:])
    nl.send("end")
    h.check("the new leader ends the meeting with status 0 and no valgrind error", nl.exit_code(120 * W) == 0, nl.err[-20:])
    relay.stop()

sys.exit(h.finish())
