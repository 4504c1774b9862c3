#!/usr/bin/env python3
"""Multi-process meeting over a real relay on loopback, headless participants (issue: meeting
protocol, point 8): 3 then 6 participants agree on the security code; key_epoch rises on every
join and leave; chat reaches everyone else exactly once; kick removes and rotates the key; the
leader leaving yields leader_changed and a new code at everyone."""
import signal
import sys
import time

from hclib import FAST_HEARTBEAT_MS, Harness, scaled, wait_all

FAST = ["--heartbeat-ms", FAST_HEARTBEAT_MS]


def last(p, name):
    evs = p.all(name)
    return evs[-1] if evs else None


def epochs(p):
    return [e["epoch"] for e in p.all("key_epoch")]


def same_code(h, procs, label):
    codes = [last(p, "security_code") for p in procs]
    ok = all(codes) and len({c["code"] for c in codes}) == 1
    h.check(label, ok, [c and c["code"] for c in codes])
    return codes[0]["code"] if ok else None


def settle(procs, epoch, timeout=10):
    """Waits until every participant sends under at least `epoch` (timeout stretched by SLOW)."""
    end = time.time() + scaled(timeout)
    for p in procs:
        while time.time() < end and not any(e >= epoch for e in epochs(p)):
            time.sleep(0.05)
    return all(any(e >= epoch for e in epochs(p)) for p in procs)


with Harness() as h:
    relay = h.relay()
    a = h.host("alice", relay.port, FAST)
    mid = a.meeting_id
    h.check("meeting id is 10 digits", len(mid) == 10 and mid.isdigit(), mid)
    everyone = [a]
    idx = {}
    ja = a.wait("joined")
    idx["alice"] = ja["index"]
    h.check("host joined as leader", ja and ja["leader"] == ja["index"], ja)
    h.check("host sends under epoch 1", settle([a], 1), epochs(a))

    for name in ["bob", "carol"]:
        want = max(epochs(a)) + 1            # before the join: its rekey may come at once
        p = h.participant(name, relay.port, mid, FAST)
        j = p.wait("joined")
        idx[name] = j["index"] if j else None
        everyone.append(p)
        h.check("%s joins and everyone moves to epoch %d" % (name, want), settle(everyone, want), [epochs(x) for x in everyone])
    code3 = same_code(h, everyone, "3 participants show the same security code")
    h.check("code is 8 groups of 5 digits", code3 is not None and len(code3.split(" ")) == 8 and all(len(g) == 5 and g.isdigit() for g in code3.split(" ")), code3)

    for name in ["dave", "erin", "frank"]:
        want = max(epochs(a)) + 1
        p = h.participant(name, relay.port, mid, FAST)
        j = p.wait("joined")
        idx[name] = j["index"] if j else None
        everyone.append(p)
        h.check("%s joins and everyone moves to epoch %d" % (name, want), settle(everyone, want), [epochs(x) for x in everyone])
    code6 = same_code(h, everyone, "6 participants show the same security code")
    h.check("the code depends only on the leader", code6 == code3, (code3, code6))
    h.check("host's key_epoch rose on every join", epochs(a) == sorted(set(epochs(a))) and len(epochs(a)) >= 6, epochs(a))
    counts = [len(p.all("participant_joined")) for p in everyone]
    h.check("everyone lists the 5 others", all(c >= 5 for c in counts), counts)

    # chat: from bob to everyone else, exactly once each
    b = everyone[1]
    marks = [p.count() for p in everyone]
    b.send("chat hello from bob \u00e9")
    got = wait_all([p for p in everyone if p is not b], "chat", timeout=5)
    time.sleep(scaled(0.5))             # time for a duplicate to show up
    ok = all(g and g["from"] == idx["bob"] and g["text"] == "hello from bob \u00e9" and g["name"] == "bob" for g in got)
    h.check("chat arrives at everyone else with sender and text", ok, got)
    h.check("chat arrives nowhere twice and not back at the sender",
            all(len(p.all("chat")) == (0 if p is b else 1) for p in everyone), [len(p.all("chat")) for p in everyone])

    # a member leaves: the key rotates for the rest
    f = everyone[5]
    before = max(epochs(a))
    rc = f.signal_until_gone(signal.SIGINT)        # Ctrl-C, again and again: one clean leave
    h.check("a member leaves on SIGINT (sent again and again until it is gone) with status 0", rc == 0, rc)
    left_ev = f.all("left")
    h.check("leaver reports left", bool(left_ev), f.raw[-3:])
    everyone.remove(f)
    h.check("key_epoch rises after a leave", settle(everyone, before + 1), [epochs(x) for x in everyone])

    # kick: erin is removed, the rest rotate
    e = everyone[4]
    before = max(epochs(a))
    a.send("kick %d" % idx["erin"])
    ev = e.wait("left", timeout=10)
    h.check("kicked member is told it was kicked", ev is not None and ev.get("reason") == "kicked", ev)
    h.check("kicked member exits with status 4", e.exit_code(10) == 4, e.p.poll())
    everyone.remove(e)
    h.check("key_epoch rises after a kick", settle(everyone, before + 1), [epochs(x) for x in everyone])
    gone = [p.wait("participant_left", timeout=5, index=idx["erin"]) for p in everyone if p is not a]
    h.check("the others see the kicked member leave", all(gone), gone)

    # the leader leaves: a new leader, a new code, everyone agrees
    before = max(epochs(everyone[1]))
    a.send("leave")
    h.check("leader exits with status 0", a.exit_code(10) == 0, a.p.poll())
    rest = everyone[1:]
    lc = wait_all(rest, "leader_changed", timeout=10)
    h.check("everyone sees leader_changed to the earliest joiner",
            all(x and x["leader"] == idx["bob"] for x in lc), lc)
    # the new code comes with the leader change (no fixed sleep: wait for the event itself)
    wait_all(rest, "security_code", timeout=10, leader=idx["bob"])
    newcode = same_code(h, rest, "everyone shows the same new code")
    h.check("the new code differs from the old one", newcode is not None and newcode != code6, (code6, newcode))
    h.check("a new key after the leader change", settle(rest, before + 1), [epochs(x) for x in rest])
    for p in rest:
        p.send("leave")
    codes = [p.exit_code(10) for p in rest]
    h.check("everyone leaves cleanly", codes == [0] * len(rest), codes)
    # every participant this test started, the leaver and the kicked one too, to the end
    members = [x for x in h.procs if x is not relay]
    alerts = {x.name: x.all("security_alert") for x in members if x.all("security_alert")}
    h.check("no security alerts in an honest meeting (%d participants, read to their exit)" % len(members),
            len(members) == 6 and not alerts, alerts)
    relay.stop()
    h.check("relay stops cleanly on SIGTERM", relay.p.returncode in (0, 124) and relay.p.returncode == 0, relay.p.returncode)

    # The admission policy is the meeting's (PROTOCOL.md §3.5): hosted with --admit ask, then led by
    # bob, a headless member whose own default is auto: a newcomer is not let in unasked.
    relay = h.relay()
    a = h.host("alice", relay.port, FAST + ["--admit", "ask"])
    pol = a.wait("admission_policy", timeout=10)
    h.check("the host's admission_policy is ask", pol is not None and pol.get("policy") == "ask", pol)
    people = [a]
    for name in ["bob", "carol"]:
        p = h.participant(name, relay.port, a.meeting_id, FAST)
        j = p.wait("joined")
        h.check("%s waits to be admitted" % name, p.wait("waiting", timeout=10) is not None, p.events[-3:])
        a.send("admit %d" % j["index"])
        h.check("%s is admitted by alice" % name, p.wait("key_epoch", timeout=10) is not None, p.events[-3:])
        people.append(p)
    b, c = people[1], people[2]
    h.check("members learn the meeting's policy (ask) from the signed list",
            all(x.wait("admission_policy", timeout=5, policy="ask") for x in (b, c)), [x.all("admission_policy") for x in (b, c)])
    a.send("leave")
    h.check("bob leads after alice leaves", b.wait("leader_changed", timeout=10) is not None, b.events[-3:])
    d = h.participant("dave", relay.port, a.meeting_id, FAST)
    dj = d.wait("joined")
    req = b.wait("admission_request", timeout=10)
    h.check("the new leader (headless, default auto) asks about the newcomer",
            req is not None and dj is not None and req.get("index") == dj["index"], req)
    h.check("the newcomer waits without a key", d.wait("waiting", timeout=10) is not None and d.wait("key_epoch", timeout=2) is None,
            d.events[-4:])
    b.send("admit %d" % dj["index"])
    h.check("admitted by the new leader, it gets the key", d.wait("key_epoch", timeout=10) is not None, d.events[-3:])
    for p in (b, c, d):
        p.send("leave")
    codes = [p.exit_code(10) for p in (a, b, c, d)]
    h.check("everyone leaves cleanly after the inherited policy", codes == [0] * 4, codes)
    relay.stop()

sys.exit(h.finish())
