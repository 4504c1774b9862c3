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

# valgrind slows everything ~30x: relaxed timers so honest members do not time out, stretched
# further on a busy machine (the heartbeat interval tops out at 10 s).
ARGS = ["--heartbeat-ms", str(int(min(10000, 2000 * SLOW))), "--miss-limit", "10",
        "--audio-in", "silence", "--audio-out", "null"]
VG = ["valgrind", "-q", "--leak-check=full", "--errors-for-leak-kinds=definite",
      "--show-leak-kinds=definite", "--error-exitcode=99", "--track-origins=yes"]

BIN = os.environ.get("HC_BIN", "build/hushcall")
if not shutil.which("valgrind"):
    print("SKIP: meeting under valgrind (valgrind is not installed; the Makefile installs it)")
    sys.exit(0)
if "libasan" in subprocess.run(["ldd", BIN], capture_output=True, text=True).stdout:
    print("SKIP: meeting under valgrind (this is an AddressSanitizer build, which cannot run under "
          "valgrind; the plain build runs it)")
    sys.exit(0)

with Harness() as h:
    relay = h.relay()
    a = h.host("alice", relay.port, ARGS, wrap=VG, wait=60)
    b = h.participant("bob", relay.port, a.meeting_id, ARGS, wrap=VG)
    c = h.participant("carol", relay.port, a.meeting_id, ARGS, wrap=VG)
    ja, jb, jc = a.wait("joined", 60), b.wait("joined", 60), c.wait("joined", 60)
    h.check("three participants join under valgrind", ja and jb and jc, (ja, jb, jc))

    def keyed(p, n=1):
        return p.wait_event(lambda e: e.get("event") == "key_epoch" and e.get("members", 0) >= n, 90)

    h.check("everyone gets a key that covers all three", all(keyed(p, 3) for p in (a, b, c)),
            [p.all("key_epoch") for p in (a, b, c)])
    b.send("chat hello under valgrind")
    got = [p.wait("chat", 60) for p in (a, c)]
    h.check("chat reaches the others", all(g and g.get("text") == "hello under valgrind" for g in got), got)

    d = h.participant("dave", relay.port, a.meeting_id, ARGS, wrap=VG)
    jd = d.wait("joined", 60)
    h.check("a fourth joins", jd is not None, d.raw[-3:])
    keyed(d, 4)
    a.send("kick %d" % jd["index"] if jd else "kick 0")
    h.check("the kicked member exits with status 4 and no valgrind error", d.exit_code(120) == 4, d.err[-20:])

    a.send("leave")
    h.check("the leader leaves with status 0 and no valgrind error", a.exit_code(120) == 0, a.err[-20:])
    lc = [p.wait("leader_changed", 60) for p in (b, c)]
    # the earliest joiner of the two leads next (they joined at the same time: either order)
    nl, other = (b, c) if jb and jc and jb["index"] < jc["index"] else (c, b)
    want = (jb if nl is b else jc) or {}
    h.check("the earliest remaining joiner becomes leader", all(x and x.get("leader") == want.get("index") for x in lc), lc)
    other.send("chat after the change")
    g = nl.wait("chat", 60, text="after the change")
    h.check("chat works under the new leader", g is not None, nl.all("chat"))
    other.send("leave")
    h.check("the other member leaves with status 0 and no valgrind error", other.exit_code(120) == 0, other.err[-20:])
    nl.send("end")
    h.check("the new leader ends the meeting with status 0 and no valgrind error", nl.exit_code(120) == 0, nl.err[-20:])
    relay.stop()

sys.exit(h.finish())
