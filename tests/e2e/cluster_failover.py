#!/usr/bin/env python3
"""Relay nodes of a cluster die and the call goes on (issue 16 point 4), against the real binaries
and a real NATS server: three nodes, members spread over them, every member with all three nodes
in its --relay list. In turn: kill -9 of an edge node, of the leader's node (the meeting homed at
another one), of the meeting's home node, each time restarting the dead node before the next; then
NATS itself is restarted mid-call. After each node's death the members not on it see the lost ones
leave and are rekeyed and hear one another again within 3 s of the kill (stretched by the machine's
slowness like every deadline here), with no alert and no heartbeat timeout; the lost members come
back through another node, into the same meeting. After the NATS restart the meeting goes on: chat
and audio still flow, nobody leaves or stalls. SKIP when nats-server is missing."""
import signal
import sys
import time

from cluster_lib import NATS, Nats, cluster_stats, hear_times, hearing, member, node, since
from hclib import FAST_HEARTBEAT_MS, Harness, scaled

FAST = ["--heartbeat-ms", FAST_HEARTBEAT_MS]
LIMIT = 3.0
BAD = ("security_alert", "heartbeat_timeout", "left", "error")


def idx(p):
    j = since(p, 0, "joined")
    return j[-1]["index"] if j else None


def bad_after(ps, marks, kinds=BAD):
    return [(p.name, {k: v for k, v in e.items() if k in ("event", "kind", "detail", "reason", "code", "message")})
            for p, m in zip(ps, marks) for e in since(p, m) if e.get("event") in kinds]


def survivors_back(ps, marks, gone_idx, t0, timeout=12.0):
    """After a node died at t0: for each of ps (the members not on it), when it had seen every one
    of gone_idx leave and then a new key, and when it decoded audio from every other of ps.
    Returns ({p: s}, {p: s}) of seconds after t0."""
    rekeyed, hear = {}, {}
    prev, ix = {}, {}
    end = time.time() + scaled(timeout)
    while time.time() < end and not (len(rekeyed) == len(ps) and len(hear) == len(ps)):
        for p, m in zip(ps, marks):
            ix[p] = idx(p)
            if p in rekeyed:
                continue
            lefts = [e for e in since(p, m, "participant_left") if e.get("index") in gone_idx]
            if len({e["index"] for e in lefts}) == len(gone_idx):
                t_left = max(e["_at"] for e in lefts)
                keys = [e for e in since(p, m, "key_epoch") if e["_at"] >= t_left]
                if keys:
                    rekeyed[p] = keys[0]["_at"] - t0
        for p, at in hearing([p for p in ps if p in rekeyed and p not in hear], ps, ix, prev).items():
            hear[p] = at - t0
        time.sleep(0.05)
    return rekeyed, hear


def all_back(ps, marks, mid, n, timeout=20.0):
    """Everyone of ps back in meeting mid (a joined event after its mark naming it), keyed with n."""
    ok = True
    for p, m in zip(ps, marks):
        e = p.wait("key_epoch", timeout=timeout, since=m, members=n)
        j = [x for x in since(p, m, "joined")]
        ok = ok and e is not None and all(x.get("meeting_id") == mid for x in j)
    return ok


def fmt(d):
    return "%.2f" % max(d.values()) if d else "never"


with Harness() as h:
    if not NATS:
        h.skip("cluster failover", "nats-server is not installed (the Makefile installs it)")
        sys.exit(0)
    nats = Nats(h)
    nodes = [node(h, nats, "n%d" % i) for i in range(3)]
    time.sleep(scaled(1.0))

    # hal hosts on n0 (the meeting's home); ann on n1 joins first, so she leads once hal leaves
    hal = member(h, "hal", nodes, nodes[0], None, FAST)
    mid = hal.wait("meeting", timeout=10)["meeting_id"]
    hal.wait("key_epoch", timeout=10)
    ps = []
    for i, name in enumerate(["ann", "ben", "cat", "dan", "eli"]):
        ps.append(member(h, name, nodes, nodes[(i + 1) % 3], mid, FAST))
        ok = all(q.wait("key_epoch", timeout=15, members=len(ps) + 1) for q in ps + [hal])
    ann, ben, cat, dan, eli = ps
    h.check("six members on three nodes, keyed with one another", ok)
    hal.send("leave")
    ok = all(p.wait("leader_changed", timeout=10) for p in ps)
    h.check("hal left: ann (on n1) leads, the meeting stays homed at n0",
            ok and all(p.wait("key_epoch", timeout=10, members=5) for p in ps) and
            cluster_stats(nodes[0]).get("leases") == 1, [p.all("leader_changed")[-1:] for p in ps])
    h.check("hal left normally", hal.exit_code(10) == 0)

    def death(label, victim, on_it, others):
        """kill -9 the node `victim`; on_it: the members connected to it."""
        gone = [idx(p) for p in on_it]
        marks = [p.count() for p in others]
        allmarks = [p.count() for p in ps]
        t0 = time.time()
        victim.stop(signal.SIGKILL)
        rekeyed, hear = survivors_back(others, marks, gone, t0)
        h.check("%s: the %d members not on it saw the %d lost ones leave and were rekeyed within %.0f s (%s s)"
                % (label, len(others), len(on_it), LIMIT, fmt(rekeyed)),
                len(rekeyed) == len(others) and max(rekeyed.values()) <= scaled(LIMIT),
                {p.name: v for p, v in rekeyed.items()})
        h.check("%s: ... and hear one another again within %.0f s (%s s)" % (label, LIMIT, fmt(hear)),
                len(hear) == len(others) and max(hear.values()) <= scaled(LIMIT), {p.name: v for p, v in hear.items()})
        bad = bad_after(others, marks, BAD + ("reconnecting",)) if label != "home" else bad_after(others, marks)
        h.check("%s: no alert, no heartbeat timeout, no error among those not on it" % label, not bad, bad[:6])
        ok = all_back(ps, allmarks, mid, 5)
        h.check("%s: the lost members are back through another node, all five keyed in meeting %s" % (label, mid), ok,
                [(p.name, since(p, m, "key_epoch")[-1:]) for p, m in zip(ps, allmarks)])
        bad = bad_after(ps, allmarks)
        h.check("%s: no alert or error at anyone" % label, not bad, bad[:6])

    def restart(i):
        nodes[i] = node(h, nats, "n%d" % i, port=nodes[i].port)
        time.sleep(scaled(1.0))

    # (1) an edge: n2 (ben is there; the leader ann is on n1, the home is n0)
    death("edge node n2", nodes[2], [ben, eli], [ann, cat, dan])   # their lists go on to n0
    restart(2)

    # (2) the leader's node: n1 (ann leads; dan is there too), the home stays n0
    death("leader's node n1", nodes[1], [ann, dan], [ben, cat, eli])   # ann and dan go on to n2
    restart(1)

    # (3) the home: n0 (cat leads now; ben, eli are there too), ann and dan at n2 are sent back
    marks = [p.count() for p in ps]
    t0 = time.time()
    nodes[0].stop(signal.SIGKILL)
    keyed = {}
    end = time.time() + scaled(15)
    while time.time() < end and len(keyed) < 5:
        for p, m in zip(ps, marks):
            if p not in keyed:
                e = since(p, m, "key_epoch", members=5)
                if e:
                    keyed[p] = e[0]["_at"] - t0
        time.sleep(0.05)
    h.check("home node n0 killed: all five back in meeting %s, keyed with one another, within %.0f s (%s s)"
            % (mid, LIMIT, fmt(keyed)), len(keyed) == 5 and max(keyed.values()) <= scaled(LIMIT),
            {p.name: v for p, v in keyed.items()})
    ids = [since(p, m, "joined")[-1].get("meeting_id") if since(p, m, "joined") else None for p, m in zip(ps, marks)]
    h.check("home node n0 killed: the same meeting id (%s)" % ids, ids == [mid] * 5, ids)
    t_hear, _ = hear_times(ps, t0)
    h.check("home node n0 killed: everyone hears everyone again within %.0f s (%s s)" % (LIMIT, fmt(t_hear)),
            len(t_hear) == 5 and max(t_hear.values()) <= scaled(LIMIT), {p.name: v for p, v in t_hear.items()})
    bad = bad_after(ps, marks)
    h.check("home node n0 killed: no alert, no heartbeat timeout, nobody left", not bad, bad[:6])
    taken = [cluster_stats(r).get("leases_taken_over") for r in nodes[1:]]
    h.check("home node n0 killed: one node took the meeting's lease over (%s)" % taken, sorted(taken) == [0, 1], taken)
    restart(0)

    # (4) NATS restarts mid-call
    dead0 = [cluster_stats(r).get("nodes_dead", 0) for r in nodes]
    marks = [p.count() for p in ps]
    nats.stop()
    nats.start()
    time.sleep(scaled(3.0))
    ps[3].send("chat after the bus came back")
    got = [p.wait("chat", timeout=10, since=m, text="after the bus came back") for p, m in zip(ps, marks) if p is not ps[3]]
    h.check("NATS restarted: a chat line still reaches everyone", all(got), [p.name for p, g in zip(ps, got) if not g])
    heard, missing = hear_times(ps, time.time())
    h.check("NATS restarted: everyone still hears everyone", len(heard) == 5, missing)
    bad = bad_after(ps, marks, BAD + ("reconnecting", "reconnected"))
    h.check("NATS restarted: the meeting went on (no alert, timeout, stall, reconnect or error)", not bad, bad[:6])
    st = [cluster_stats(r) for r in nodes]
    dead = [s.get("nodes_dead", 0) - d for s, d in zip(st, dead0)]
    h.check("NATS restarted: no node counted another dead meanwhile (%s), all see two alive" % dead,
            dead == [0, 0, 0] and all(s.get("nodes_alive") == 2 for s in st), st)
    for p in ps:
        p.send("leave")
    codes = [p.exit_code(10) for p in ps]
    h.check("everyone leaves normally (%s)" % codes, codes == [0] * 5, codes)

sys.exit(h.finish())
