#!/usr/bin/env python3
"""A flood of re-announcements cannot evict the leader (issue 11, point 1), against the real
binaries: a relay, three honest headless members and a rogue client (tests/tools/rogue_flood)
that re-announces itself as fast as loopback takes it, for longer than 10 s, joining again each
time the relay throws it out.

Two rogues, each against a meeting of its own:
  waiting   a participant the leader keeps waiting (--admit ask), its rotations validly signed;
  stranger  a stranger to a locked meeting who names bob's public identity key in JOIN (the
            relay's lock hint) and announces bindings carrying that key, with signatures it
            cannot make valid.
Checked for each: the leader stays leader and nobody honest is disconnected or loses the meeting;
chat and audio go on during the flood; the relay throws the rogue out (not the leader); the
leader's announcement work stays bounded. The figures (the rogue's rate, what the relay did to
it, the leader's announcement counters) are printed as INFO lines."""
import json
import os
import subprocess
import sys
import time

from hclib import BUILD, FAST_HEARTBEAT_MS, Harness, Proc, scaled

FAST = ["--heartbeat-ms", FAST_HEARTBEAT_MS]
ROGUE = os.path.join(BUILD, "tools", "rogue_flood")
FLOOD_S = 12


def info(msg):
    print("INFO: %s" % msg, flush=True)


def stats(p):
    since = p.count()
    p.send("stats")
    return p.wait("stats", timeout=5, since=since) or {}


def audio_ok(st):
    return {s["index"]: s.get("ok", 0) for s in st.get("senders", [])}


def relay_stats(relay, since=0, until=None):
    evs = [e for e in relay.events[since:until] if e.get("event") == "stats"]
    return evs[-1] if evs else {}


def delta(after, before):
    """after - before, for the relay's nested counters."""
    if isinstance(after, dict):
        return {k: delta(v, (before or {}).get(k, 0)) for k, v in after.items()}
    return after - (before or 0) if isinstance(after, int) else after


def meeting(h, relay, admit):
    """alice hosts (admit policy `admit`), bob and carol join and are admitted; everyone holds a
    key of the 3-member meeting. Returns the processes and bob's home."""
    a = h.host("alice", relay.port, FAST + ["--admit", admit])
    ja = a.wait("joined")
    bob_home = h.home()
    ps = [a]
    for name, home in (("bob", bob_home), ("carol", None)):
        p = h.participant(name, relay.port, a.meeting_id, FAST, home=home)
        j = p.wait("joined")
        if admit == "ask" and j:
            req = a.wait("admission_request", index=j["index"])
            if req:
                a.send("admit %d" % j["index"])
        ps.append(p)
    keyed = [p.wait_event(lambda e: e.get("event") == "key_epoch" and e.get("members") == 3, timeout=15) for p in ps]
    h.check("%s: alice, bob and carol hold a key of the 3-member meeting" % admit, all(keyed),
            [p.all("key_epoch") for p in ps])
    return ps, bob_home, ja["index"] if ja else None


def flood(h, relay, label, ps, leader, rogue_args):
    a, b, c = ps
    marks = [p.count() for p in ps]
    rmark = len(relay.events)
    rbefore = relay_stats(relay, 0, rmark)
    before = stats(c)
    argv = ["timeout", str(int(scaled(FLOOD_S + 60))), ROGUE, "--port", str(relay.port), "--meeting", a.meeting_id,
            "--seconds", str(FLOOD_S), "--rejoin"] + rogue_args
    rogue = Proc("rogue-" + label, argv)
    h.procs.append(rogue)
    t0 = time.time()
    # During the flood: a chat from bob every second must reach alice and carol.
    sent, got_a, got_c = 0, 0, 0
    while time.time() - t0 < FLOOD_S - 1:
        sent += 1
        text = "%s-%d" % (label, sent)
        b.send("chat " + text)
        ea = a.wait("chat", timeout=4, since=marks[0], text=text)
        ec = c.wait("chat", timeout=4, since=marks[2], text=text)
        got_a += bool(ea)
        got_c += bool(ec)
        time.sleep(max(0.0, 1.0 - (time.time() - t0) % 1.0))
    mid_stats = stats(c)
    rc = rogue.exit_code(FLOOD_S + 30)
    summary = rogue.wait("rogue", timeout=5) or {}
    sessions = rogue.all("session")
    elapsed = time.time() - t0
    after = stats(c)
    lead = stats(a)
    time.sleep(scaled(1.5))            # one more relay stats line
    rst = delta(relay_stats(relay, rmark), rbefore)
    # when each honest member was first hurt (left, reconnecting, a leader change), from the flood's start
    hurt = {}
    for p, mk in zip(ps, marks):
        for e in p.events[mk:]:
            if e.get("event") in ("left", "reconnecting", "heartbeat_timeout", "leader_changed"):
                hurt[p.name] = "%s after %.1f s" % (e["event"], e["_at"] - t0)
                break
    in_session = sum(x.get("frames", 0) for x in sessions), sum(x.get("ms", 0) for x in sessions)

    info("%s: the rogue sent %s re-announcements in %s s (%s/s, %s bytes), %s connections, the relay "
         "ended them: %s, refused joins: %s, the first after %s ms" %
         (label, summary.get("frames"), summary.get("seconds"), summary.get("fps"), summary.get("bytes"),
          summary.get("sessions"), summary.get("ended_by"), summary.get("refused"), summary.get("first_session_ms")))
    info("%s: connected, the rogue wrote %d re-announcements in %d ms in all (its socket took them as fast as "
         "loopback does); the relay read %s of them, passed %s on to the leader and disconnected it %s times" %
         (label, in_session[0], in_session[1], (rst.get("announce") or {}).get("rotations"),
          (rst.get("announce") or {}).get("rotations_forwarded"), (rst.get("disconnects") or {}).get("flood")))
    info("%s: relay counters during the flood %s" % (label, json.dumps({k: rst.get(k) for k in ("disconnects", "announce")})))
    info("%s: honest members hurt: %s" % (label, hurt or "none"))
    info("%s: leader's announcement counters %s" % (label, json.dumps(lead.get("announcements"))))
    h.check("%s: the rogue got in and flooded for >= 10 s (exit %s, %.1f s)" % (label, rc, elapsed),
            rc == 0 and summary.get("seconds", 0) >= 10 and summary.get("frames", 0) > 0, (summary, sessions[:5]))

    # the leader stays, nobody honest was disconnected
    changed = [e for p in ps for e in p.events[marks[ps.index(p)]:] if e.get("event") == "leader_changed"]
    h.check("%s: alice is still the leader (no leader_changed anywhere)" % label, not changed, changed[:3])
    gone = [(p.name, e) for p in ps for e in p.events[marks[ps.index(p)]:]
            if e.get("event") in ("left", "reconnecting", "heartbeat_timeout")
            or (e.get("event") == "participant_left" and e.get("index") != leader and e.get("name") in ("alice", "bob", "carol"))]
    h.check("%s: no honest member was disconnected or left" % label, not gone and all(p.p.poll() is None for p in ps),
            (gone[:5], [p.p.poll() for p in ps]))
    # the meeting works: chat and audio during the flood
    h.check("%s: bob's chat reached alice and carol during the flood (%d/%d, %d/%d)" % (label, got_a, sent, got_c, sent),
            sent >= 5 and got_a == sent and got_c == sent)
    ok0, ok1, ok2 = audio_ok(before), audio_ok(mid_stats), audio_ok(after)
    flowing = [i for i in ok0 if ok1.get(i, 0) > ok0[i] and ok2.get(i, 0) > ok1.get(i, 0)]
    h.check("%s: carol kept decrypting audio from alice and bob during the flood" % label, len(flowing) >= 2,
            (ok0, ok1, ok2))
    # what the relay did to the rogue
    ended = summary.get("ended_by") or {}
    h.check("%s: the relay disconnected the rogue (not the leader): %s" % (label, ended),
            sum(ended.values()) >= 1 and (rst.get("disconnects") or {}).get("flood", 0) >= 1, (summary, rst.get("disconnects")))
    # the leader's work stays bounded: at most a few announcements per rogue connection
    ann = lead.get("announcements") or {}
    bound = 4 * (summary.get("sessions", 0) + 3) + 2 * 3 * int(elapsed + 5)
    h.check("%s: the leader verified %s announcements in the flood (bound %d), %s unverified" %
            (label, ann.get("verified"), bound, ann.get("capped")),
            ann.get("verified") is not None and ann["verified"] <= bound, ann)
    return rogue


with Harness() as h:
    if not os.path.exists(ROGUE):
        h.check("the rogue tool is built (make tests-build)", False, ROGUE)
        sys.exit(h.finish())
    relay = h.relay("--stats-interval", "1")

    # 1. a participant kept waiting for admission floods its re-announcements
    ps, _, leader = meeting(h, relay, "ask")
    a = ps[0]
    flood(h, relay, "waiting", ps, leader, [])
    for p in ps:
        p.send("leave")
    for p in ps:
        p.exit_code(10)

    # 2. a stranger to a locked meeting names bob's identity key in JOIN and floods
    ps, bob_home, leader = meeting(h, relay, "auto")
    a = ps[0]
    since = a.count()
    a.send("lock")
    a.wait("lock_changed", timeout=5, since=since)
    time.sleep(scaled(1))
    rogue = flood(h, relay, "stranger", ps, leader, ["--ivk-of", bob_home])
    h.check("stranger: the leader admitted nobody new (its roster still has 3 members)",
            not [e for e in a.all("key_epoch") if e.get("members", 0) > 3], a.all("key_epoch")[-3:])
    for p in ps:
        p.send("leave")
    for p in ps:
        p.exit_code(10)
    relay.stop()

sys.exit(h.finish())
