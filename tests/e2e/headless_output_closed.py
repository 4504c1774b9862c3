#!/usr/bin/env python3
"""A headless participant whose standard output is closed (the program reading its events died)
leaves the meeting at once and exits with status 1, instead of staying on as a leader that
admits people. The host's stdout is a pipe whose reading end this test closes while the host is
quiet (nothing to write: the watch notices), and a second host is cut off while it is writing
(the failed write notices)."""
import os
import select
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hclib  # noqa: E402
from hclib import BIN, Harness, scaled  # noqa: E402
import json  # noqa: E402


def start_host(h, relay_port, name, extra=()):
    """A host whose stdout we read by hand, so that we can close the pipe's reading end."""
    e = dict(os.environ)
    e["HUSHCALL_HOME"] = h.home()
    argv = ["timeout", str(int(scaled(300))), BIN, "host", "--relay", "127.0.0.1:%d" % relay_port,
            "--name", name, "--headless", "--audio-in", "tone:440", "--audio-out", "null"] + list(extra)
    p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env=e, start_new_session=True)
    return p


def read_until(p, pred, timeout):
    """Reads p's stdout lines (raw fd, no thread) until pred(event) holds; returns the events."""
    fd = p.stdout.fileno()
    buf = b""
    evs = []
    end = time.time() + scaled(timeout)
    while time.time() < end:
        r, _, _ = select.select([fd], [], [], 0.1)
        if not r:
            continue
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        buf += chunk
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            ev = json.loads(line)
            evs.append(ev)
            if pred(ev):
                return evs
    return evs


def stop(p):
    if p.poll() is None:
        try:
            os.killpg(p.pid, 9)
        except ProcessLookupError:
            pass
    p.wait()


with Harness() as h:
    relay = h.relay()
    # 1. A quiet host: nothing is written when its reader goes away.
    host = start_host(h, relay.port, "alice")
    try:
        evs = read_until(host, lambda e: e.get("event") == "meeting", 15)
        mid = evs[-1].get("meeting_id") if evs else None
        h.check("the host created a meeting", bool(mid), evs)
        bob = h.participant("bob", relay.port, mid)
        j = bob.wait("joined", timeout=15)
        h.check("bob joined", j is not None)
        read_until(host, lambda e: e.get("event") == "participant_joined", 15)
        ok = bob.wait_event(lambda e: e.get("event") == "participant_joined" and e.get("name") == "alice", timeout=15)
        h.check("bob sees alice", ok is not None)
        alice_index = ok["index"] if ok else None
        since = bob.count()
        # Nothing more is going to be printed by the host now; close our (the only) reading end.
        host.stdout.close()
        left = bob.wait("participant_left", timeout=10, since=since, index=alice_index)
        h.check("the others see the host leave at once, with reason left", left is not None and left.get("reason") == "left",
                left)
        lc = bob.wait("leader_changed", timeout=10, since=since)
        h.check("bob becomes the leader (the dead host no longer leads)", lc is not None and j and lc.get("leader") == j["index"], lc)
        try:
            rc = host.wait(timeout=scaled(10))
        except subprocess.TimeoutExpired:
            rc = None
        err = host.stderr.read().decode("utf-8", "replace")
        h.check("the host exited with status 1 (its output is gone)", rc == 1, "rc=%s stderr=%s" % (rc, err[-300:]))
        h.check("and said why on stderr", "standard output was closed" in err, err[-300:])
        # A newcomer is admitted by the new leader, not by a dead one.
        carol = h.participant("carol", relay.port, mid)
        cj = carol.wait("joined", timeout=15)
        h.check("a newcomer's leader is bob", cj is not None and j and cj.get("leader") == j["index"], cj)
    finally:
        stop(host)

    # 2. A host cut off while it writes: a stats line every 100 ms keeps it writing.
    host2 = start_host(h, relay.port, "dave", ["--stats-ms", "100"])
    try:
        evs = read_until(host2, lambda e: e.get("event") == "stats", 15)
        h.check("the second host prints stats", bool(evs) and evs[-1].get("event") == "stats", evs[-3:])
        host2.stdout.close()
        try:
            rc = host2.wait(timeout=scaled(10))
        except subprocess.TimeoutExpired:
            rc = None
        h.check("a host whose write fails exits with status 1", rc == 1, rc)
    finally:
        stop(host2)
sys.exit(h.finish())
