#!/usr/bin/env python3
"""Every relay --attack mode is caught by the honest clients it affects, as a security_alert
(or, for fake-leader, a different security code at the victim plus an alert at the others), and
no client crashes. One check per mode, each against a fresh relay."""
import signal
import sys
import time

from hclib import FAST_HEARTBEAT_MS, Harness, scaled

FAST = ["--heartbeat-ms", FAST_HEARTBEAT_MS]


def alert(p, kind, timeout=12):
    return p.wait_event(lambda e: e.get("event") == "security_alert" and e.get("kind") == kind, timeout)


def no_crash(procs):
    """A participant may leave on purpose (exit 3 for security, 4 removed, 5 the relay went away
    first); it must never die of a signal or fail otherwise. Called after finish(), so every process has exited and been looked at."""
    for p in procs:
        rc = p.p.poll()
        if rc not in (0, 3, 4, 5):
            return False
        for line in p.err:
            if "AddressSanitizer" in line or "runtime error" in line or "Segmentation" in line:
                return False
    return True


def meeting(h, mode, joiners=2, gap=1.0, args=FAST, keyed=False):
    """keyed: the mode lets members get keys, so each joiner waits until the one before it sends
    under a key (an event, not a fixed gap: on a loaded machine a join can take longer than any
    sleep, and some modes need the joins to be keyed one after the other)."""
    relay = h.relay("--attack", mode)
    end = time.time() + scaled(5)
    banner = False
    while time.time() < end and not banner:
        banner = any("WARNING" in l and mode in l for l in relay.err)
        time.sleep(0.05)
    a = h.host("alice", relay.port, args)
    ps = [a]
    for i in range(joiners):
        if keyed:
            ps[-1].wait("key_epoch", timeout=10)
        else:
            time.sleep(gap)
        ps.append(h.participant(["bob", "carol", "dave"][i], relay.port, a.meeting_id, args))
        ps[-1].wait("joined", timeout=10)
    return relay, ps, banner


def finish(h, relay, ps):
    """Everyone leaves; returns once each has exited (stopped if it would not)."""
    for p in ps:
        p.send("leave")
    for p in ps:
        p.exit_code(5)
    relay.stop()
    for p in ps:
        p.stop()
    return [p.p.poll() for p in ps]


with Harness() as h:
    # swap-key: members' ephemeral keys replaced -> signature check fails at the leader and the members
    relay, (a, b, c), banner = meeting(h, "swap-key")
    h.check("swap-key: relay prints a warning banner", banner, relay.err[:3])
    ok = alert(a, "bad_signature") and alert(b, "bad_signature") and alert(c, "bad_signature")
    time.sleep(0.5)
    h.check("swap-key: leader and members report bad_signature", bool(ok), [len(x.all("security_alert")) for x in (a, b, c)])
    codes = finish(h, relay, [a, b, c])
    h.check("swap-key: no client crashed (every exit status %s)" % codes, no_crash([a, b, c]))

    # rename: names changed in transit -> same signature check
    relay, (a, b, c), _ = meeting(h, "rename")
    ok = alert(a, "bad_signature") and alert(b, "bad_signature") and alert(c, "bad_signature")
    h.check("rename: leader and members report bad_signature", bool(ok), [x.all("security_alert") for x in (a, b, c)])
    names = [e.get("name") for x in (a, b, c) for e in x.all("participant_joined")]
    h.check("rename: nobody shows the forged name", "mallory" not in names, names)
    codes = finish(h, relay, [a, b, c])
    h.check("rename: no client crashed (every exit status %s)" % codes, no_crash([a, b, c]))

    # fake-leader: the first joiner is told a relay-made identity leads
    relay, (a, b, c), _ = meeting(h, "fake-leader")
    sa, sb, sc = (x.wait("security_code", timeout=10) for x in (a, b, c))
    ca, cb, cc = (x.all("security_code")[-1]["code"] if x.all("security_code") else None for x in (a, b, c))
    h.check("fake-leader: the victim shows a different security code", cb is not None and ca is not None and cb != ca and cc == ca,
            (ca, cb, cc))
    h.check("fake-leader: the honest member reports the victim missing from the leader's list",
            bool(alert(c, "unlisted_member", timeout=10)), c.all("security_alert"))
    codes = finish(h, relay, [a, b, c])
    h.check("fake-leader: no client crashed (every exit status %s)" % codes, no_crash([a, b, c]))

    # replay-heartbeat: old heartbeats re-sent -> chain/counter check
    relay, (a, b, c), _ = meeting(h, "replay-heartbeat", keyed=True)
    ok = alert(b, "heartbeat_replay") and alert(c, "heartbeat_replay")
    h.check("replay-heartbeat: members report heartbeat_replay", bool(ok), [x.all("security_alert") for x in (b, c)])
    codes = finish(h, relay, [a, b, c])
    h.check("replay-heartbeat: no client crashed (every exit status %s)" % codes, no_crash([a, b, c]))

    # drop-heartbeats: with --reconnect-s 0 (no waiting out a stall) members leave at the miss limit
    relay, (a, b, c), _ = meeting(h, "drop-heartbeats", keyed=True, args=FAST + ["--reconnect-s", "0"])
    tb, tc = b.wait("heartbeat_timeout", timeout=15), c.wait("heartbeat_timeout", timeout=15)
    h.check("drop-heartbeats: members report heartbeat_timeout", tb is not None and tc is not None, (tb, tc))
    rb, rc = b.exit_code(10), c.exit_code(10)
    h.check("drop-heartbeats: it looks like a stall: members leave with exit status 5, cause connectivity",
            rb == 5 and rc == 5 and all(t and t.get("cause") == "connectivity" for t in (tb, tc)), (rb, rc, tb, tc))
    codes = finish(h, relay, [a, b, c])
    h.check("drop-heartbeats: no client crashed (every exit status %s)" % codes, no_crash([a, b, c]))

    # drop-heartbeats with --reconnect-s 2: members first pause sending (reconnecting, stalled),
    # then leave when the stall outlasts --reconnect-s; the relay still answers pings, so nobody
    # drops the connection to reconnect
    relay, (a, b, c), _ = meeting(h, "drop-heartbeats", keyed=True, args=FAST + ["--reconnect-s", "2"])
    tb, tc = b.wait("heartbeat_timeout", timeout=20), c.wait("heartbeat_timeout", timeout=20)
    rb, rc = b.exit_code(10), c.exit_code(10)
    seq = [[(e.get("event"), e.get("reason") or e.get("cause")) for e in x.events
            if e.get("event") in ("reconnecting", "reconnected", "heartbeat_timeout", "left", "joined")] for x in (b, c)]
    stl = [x.wait("reconnecting", timeout=0) for x in (b, c)]
    gap = [round(t["_at"] - s["_at"], 2) if t and s else None for s, t in zip(stl, (tb, tc))]
    h.check("drop-heartbeats, --reconnect-s 2: members say reconnecting (stalled) first, then leave with heartbeat_timeout "
            "%s s later, exit status 5, cause connectivity" % gap,
            rb == 5 and rc == 5 and all(s and s.get("reason") == "stalled" for s in stl)
            and all(t and t.get("cause") == "connectivity" for t in (tb, tc))
            and all(g is not None and g >= 1.5 for g in gap), (rb, rc, seq))
    h.check("drop-heartbeats, --reconnect-s 2: no reconnect happened (one joined each, no connection_lost)",
            all(len(x.all("joined")) == 1 and not x.all("reconnecting", reason="connection_lost") for x in (b, c)), seq)
    codes = finish(h, relay, [a, b, c])
    h.check("drop-heartbeats, --reconnect-s 2: no client crashed (every exit status %s)" % codes, no_crash([a, b, c]))

    # lag-heartbeats: the first joiner's lists and heartbeats arrive ever later, each by less than
    # the interval, so no gap between two comes near the miss limit; the offset between the
    # leader's timestamps and the member's clock grows past the limit, and the member says so,
    # stops sending and leaves (exit 3, cause security); the other member sees nothing wrong
    relay, (a, b, c), _ = meeting(h, "lag-heartbeats", keyed=True)
    st = alert(b, "heartbeat_stale", timeout=30)
    tb = b.wait("heartbeat_timeout", timeout=15)
    rb = b.exit_code(10)
    h.check("lag-heartbeats: the delayed member reports heartbeat_stale, then leaves with cause security, exit status 3",
            st is not None and tb is not None and tb.get("cause") == "security" and rb == 3,
            (rb, tb, b.all("security_alert")))
    h.check("lag-heartbeats: the other member is not affected",
            c.p.poll() is None and not c.all("security_alert") and not c.all("heartbeat_timeout"), c.all("security_alert"))
    codes = finish(h, relay, [a, b, c])
    h.check("lag-heartbeats: no client crashed (every exit status %s)" % codes, no_crash([a, b, c]))

    # split-leader: once all four are keyed, the relay names bob leader to bob and dave while alice
    # stays; each half keeps a list of everyone. Bob and dave hear of a leader change the rules do
    # not allow; alice and carol see bob's and dave's frames only under keys they never received
    # (and bob and dave theirs, once alice's last key retires); the halves show different codes
    relay, (a, b, c, d), _ = meeting(h, "split-leader", joiners=3, keyed=True)
    ub, ud = alert(b, "unexpected_leader", timeout=15), alert(d, "unexpected_leader", timeout=15)
    h.check("split-leader: the second half reports unexpected_leader, telling to compare the code",
            ub is not None and ud is not None and "compare the security code" in ub.get("detail", ""), (ub, ud))
    sa = [x.wait_event(lambda e: e.get("event") == "security_alert" and e.get("kind") == "split_view", 20) for x in (a, c, b, d)]
    h.check("split-leader: every member reports split_view for the other half", all(sa), [x.all("security_alert") for x in (a, b, c, d)])
    codes = [x.all("security_code")[-1]["code"] if x.all("security_code") else None for x in (a, b, c, d)]
    h.check("split-leader: the halves show different security codes",
            codes[0] == codes[2] and codes[1] == codes[3] and codes[0] != codes[1], codes)
    codes = finish(h, relay, [a, b, c, d])
    h.check("split-leader: no client crashed (every exit status %s)" % codes, no_crash([a, b, c, d]))

    # withhold-keybox: boxes delivered after the member rotated its liveness nonce twice
    relay, (a, b), _ = meeting(h, "withhold-keybox", joiners=1)
    ok = alert(b, "stale_keybox", timeout=15)
    h.check("withhold-keybox: the member rejects the late box (stale_keybox)", bool(ok), b.all("security_alert"))
    h.check("withhold-keybox: no key was installed from it", b.wait("key_epoch", timeout=2) is None, b.all("key_epoch"))
    codes = finish(h, relay, [a, b])
    h.check("withhold-keybox: no client crashed (every exit status %s)" % codes, no_crash([a, b]))

    # rollback-key: the previous box re-delivered after the new one
    relay, (a, b, c), _ = meeting(h, "rollback-key", keyed=True)
    ok = alert(b, "key_rollback")
    h.check("rollback-key: the member rejects the old box (key_rollback)", bool(ok), b.all("security_alert"))
    codes = finish(h, relay, [a, b, c])
    h.check("rollback-key: no client crashed (every exit status %s)" % codes, no_crash([a, b, c]))

    # tamper-media: bits flipped in forwarded frames -> AEAD failures counted and reported
    relay, (a, b), _ = meeting(h, "tamper-media", joiners=1, keyed=True)
    ok = alert(b, "media_auth_failed") and alert(a, "media_auth_failed")
    h.check("tamper-media: both report media_auth_failed", bool(ok), [x.all("security_alert") for x in (a, b)])
    b.send("stats")
    st = b.wait("stats", timeout=5)
    fails = sum(s.get("decrypt_fail", 0) for s in st.get("senders", [])) if st else 0
    h.check("tamper-media: stats count the decrypt failures", fails > 0, st)
    codes = finish(h, relay, [a, b])
    h.check("tamper-media: no client crashed (every exit status %s)" % codes, no_crash([a, b]))

    # replay-media: forwarded frames re-sent -> replay window
    relay, (a, b), _ = meeting(h, "replay-media", joiners=1, keyed=True)
    ok = alert(b, "media_replay") and alert(a, "media_replay")
    h.check("replay-media: both report media_replay", bool(ok), [x.all("security_alert") for x in (a, b)])
    b.send("stats")
    st = b.wait("stats", timeout=5)
    reps = sum(s.get("replay", 0) for s in st.get("senders", [])) if st else 0
    h.check("replay-media: stats count the replays", reps > 0, st)
    codes = finish(h, relay, [a, b])
    h.check("replay-media: no client crashed (every exit status %s)" % codes, no_crash([a, b]))

    # ghost: a member who never joined, listed by the relay
    relay, (a, b, c), _ = meeting(h, "ghost", keyed=True)
    ok = alert(b, "unlisted_member") and alert(c, "unlisted_member")
    h.check("ghost: members report the unlisted member", bool(ok), [x.all("security_alert") for x in (b, c)])
    codes = finish(h, relay, [a, b, c])
    h.check("ghost: no client crashed (every exit status %s)" % codes, no_crash([a, b, c]))

sys.exit(h.finish())
