#!/usr/bin/env python3
"""Availability against the real binaries: a leader that goes silent (SIGSTOP, the closed laptop
lid) is replaced by the relay's own keepalive before anyone's heartbeat limit, with a new key and
audio again; connections that never join, silent JOINs and JOIN churn neither lock real users out
nor raise security alerts.

HC_AVAIL_RUNS=N repeats the silent-leader case N times and prints min/median/max recovery;
HC_AVAIL_HEARTBEAT_MS sets the heartbeat interval (default: the suite's fast one)."""
import os
import signal
import socket
import statistics
import struct
import sys
import time

from hclib import FAST_HEARTBEAT_MS, Harness, scaled

RUNS = int(os.environ.get("HC_AVAIL_RUNS", "1"))
# HC_AVAIL_HEARTBEAT_MS=2000 measures the recovery with the default heartbeat interval
HB_MS = os.environ.get("HC_AVAIL_HEARTBEAT_MS", FAST_HEARTBEAT_MS)
FAST = ["--heartbeat-ms", HB_MS]


def frame(msg_type, payload=b""):
    return struct.pack(">IBB", 2 + len(payload), 1, msg_type) + payload


def lp(b):
    return struct.pack(">H", len(b)) + b


def join_frame(meeting_id, name):
    return frame(2, lp(meeting_id.encode()) + lp(name.encode()) + struct.pack(">IB", 0, 0))


def read_frames(s, timeout=2.0):
    """Frames (type, payload) the relay sent on s until it closes or goes quiet."""
    s.settimeout(timeout)
    buf = b""
    try:
        while True:
            d = s.recv(65536)
            if not d:
                break
            buf += d
            if len(buf) >= 6 and s.gettimeout() != 0.2:
                s.settimeout(0.2)
    except (socket.timeout, ConnectionResetError):
        pass
    out = []
    while len(buf) >= 6:
        n = struct.unpack(">I", buf[:4])[0]
        if len(buf) < 4 + n:
            break
        out.append((buf[5], buf[6:4 + n]))
        buf = buf[4 + n:]
    return out


def error_code(frames):
    for t, p in frames:
        if t == 4:
            return struct.unpack(">H", p[:2])[0]
    return None


def stats(p, since_count=None):
    since = p.count()
    p.send("stats")
    ev = p.wait("stats", timeout=5, since=since)
    return {s["index"]: s for s in (ev or {}).get("senders", [])}


def epoch_now(p):
    e = p.all("key_epoch")
    return e[-1]["epoch"] if e else 0


def wait_epoch(procs, above, timeout):
    end = time.time() + scaled(timeout)
    while time.time() < end:
        if all(epoch_now(p) > above for p in procs):
            return True
        time.sleep(0.05)
    return False


def silent_leader_case(h, run):
    relay = h.relay()
    a = h.host("alice", relay.port, FAST)
    a.wait("key_epoch", timeout=10)
    members = []
    for name in ["bob", "carol", "dave"]:
        p = h.participant(name, relay.port, a.meeting_id, FAST)
        p.wait("joined", timeout=10)
        members.append(p)
    everyone = [a] + members
    want = len(everyone)   # one epoch per join at least
    h.check("run %d: 4 members keyed" % run, wait_epoch(everyone, 0, 15) and
            all(p.wait("key_epoch", timeout=10, members=4) for p in everyone),
            [epoch_now(p) for p in everyone])
    # a meeting that has run a little: the relay has seen the leader's regular heartbeat pace
    # (right after joins it has seen only the bursts that follow rosters, and a frozen leader is
    # then dropped even sooner)
    time.sleep(3 * int(HB_MS) / 1000.0)
    before = max(epoch_now(p) for p in members)
    marks = [p.count() for p in members]
    t_stop = time.time()
    a.send_signal(signal.SIGSTOP)
    ok = wait_epoch(members, before, 15)
    t_keyed = max(p.wait("key_epoch", timeout=1, since=m)["_at"] for p, m in zip(members, marks)
                  if p.wait("key_epoch", timeout=1, since=m)) if ok else None
    changed = [p.wait("leader_changed", timeout=5, since=m) for p, m in zip(members, marks)]
    b_index = members[0].wait("joined")["index"]
    h.check("run %d: the relay named the next member leader" % run,
            all(c and c.get("leader") == b_index for c in changed), changed)
    h.check("run %d: the members rekeyed without the frozen leader" % run, ok,
            [epoch_now(p) for p in members])
    recovery = (t_keyed - t_stop) if t_keyed else None
    # audio again: carol hears bob (the new leader) and dave under the new key
    time.sleep(scaled(1.0))
    s0 = stats(members[1])
    time.sleep(scaled(1.5))
    s1 = stats(members[1])
    grow = [s1.get(i, {}).get("ok", 0) - s0.get(i, {}).get("ok", 0) for i in (b_index, members[2].wait("joined")["index"])]
    h.check("run %d: audio flows again (frames carol decoded in 1.5 s: %s)" % (run, grow), all(g > 20 for g in grow), grow)
    bad = [(p.name, e) for p, m in zip(members, marks) for e in p.all("security_alert") + p.all("heartbeat_timeout") + p.all("left")]
    h.check("run %d: nobody left, timed out or was alerted" % run, not bad, bad)
    # the frozen leader thaws to a connection the relay closed: it leaves with status 5
    a.send_signal(signal.SIGCONT)
    rc = a.exit_code(15)
    h.check("run %d: the thawed old leader exits 5 (the relay dropped it)" % run, rc == 5, (rc, a.err[-3:]))
    for p in members:
        p.send("leave")
    codes = [p.exit_code(10) for p in members]
    h.check("run %d: the members leave normally" % run, codes == [0, 0, 0], codes)
    relay.stop()
    return recovery


def relay_stall_case(h):
    """The relay itself stops (SIGSTOP). With the default heartbeat interval (2 s, miss limit 5 x
    2 s): for 5 s (inside the members' limit) and for 12 s (past it) the call resumes by itself,
    with the same leader and no false alert: no security_alert, no heartbeat_timeout, nobody left;
    past the limit the members say reconnecting (stalled, sending paused) and then reconnected
    once the leader's heartbeats arrive again; audio flows again afterwards. A stall longer than
    --reconnect-s (2 s here, fast heartbeats) makes members leave with a connectivity failure,
    exit 5, never a security one."""
    watch = ("leader_changed", "security_alert", "heartbeat_timeout", "left", "error")

    def since(p, m, names):
        with p.lock:
            return [e for e in p.events[m:] if e.get("event") in names]

    def audio_grows(ps):
        """Frames each member decoded from each other one in 1.5 s (by index)."""
        idx = {p.name: p.wait("joined")["index"] for p in ps}
        s0 = [stats(p) for p in ps]
        time.sleep(scaled(1.5))
        s1 = [stats(p) for p in ps]
        return {p.name: {q.name: s1[i].get(idx[q.name], {}).get("ok", 0) - s0[i].get(idx[q.name], {}).get("ok", 0)
                         for q in ps if q is not p} for i, p in enumerate(ps)}

    relay = h.relay()
    a = h.host("alice", relay.port)                  # the default heartbeat interval, 2 s
    a.wait("key_epoch", timeout=10)
    b = h.participant("bob", relay.port, a.meeting_id)
    c = h.participant("carol", relay.port, a.meeting_id)
    ps = (a, b, c)
    h.check("relay stall: 3 members keyed (heartbeat 2000 ms)", all(p.wait("key_epoch", timeout=10, members=3) for p in ps))
    leader = a.wait("joined")["index"]
    for secs in (5, 12):
        marks = [p.count() for p in ps]
        relay.send_signal(signal.SIGSTOP)
        time.sleep(secs)
        relay.send_signal(signal.SIGCONT)
        t_cont = time.time()
        if secs > 10:
            # past the miss limit: reconnecting (stalled) during the stop, reconnected after it
            rec = [p.wait("reconnected", timeout=10, since=m) for p, m in zip((b, c), marks[1:])]
            stl = [p.wait("reconnecting", timeout=1, since=m) for p, m in zip((b, c), marks[1:])]
            h.check("relay stopped %d s: members say reconnecting (stalled) during it, then reconnected (%s s after SIGCONT)"
                    % (secs, [round(r["_at"] - t_cont, 2) if r else None for r in rec]),
                    all(s and s.get("reason") == "stalled" for s in stl) and all(rec)
                    and all(s["_at"] < r["_at"] for s, r in zip(stl, rec)),
                    ([s and {k: s.get(k) for k in ("reason", "detail", "give_up_ms")} for s in stl],
                     [r and r.get("detail") for r in rec]))
        else:
            time.sleep(scaled(2.0))
            stl = [e.get("reason") for p, m in zip(ps, marks) for e in since(p, m, ("reconnecting",))]
            h.check("relay stopped %d s (inside the limit): nobody reports reconnecting" % secs, not stl, stl)
        grow = audio_grows(ps)
        h.check("relay stopped %d s: audio flows again (frames decoded in 1.5 s: %s)" % (secs, grow),
                all(g > 20 for d in grow.values() for g in d.values()), grow)
        news = [(p.name, {k: e.get(k) for k in ("event", "kind", "cause", "reason", "detail", "leader")})
                for p, m in zip(ps, marks) for e in since(p, m, watch)]
        h.check("relay stopped %d s: the call goes on, same leader, no alert, no heartbeat timeout, nobody left" % secs,
                not news and all(p.p.poll() is None for p in ps) and b.all("joined")[-1]["leader"] == leader, news[:4])
    for p in ps:
        p.send("leave")
    codes = [p.exit_code(10) for p in ps]
    h.check("relay stall: everyone leaves normally afterwards (exit status %s)" % codes, codes == [0, 0, 0], codes)
    relay.stop()

    # longer than --reconnect-s: the members give up, as a connectivity failure
    hb = int(HB_MS) / 1000.0
    args = FAST + ["--reconnect-s", "2"]
    relay = h.relay()
    a = h.host("alice", relay.port, args)
    a.wait("key_epoch", timeout=10)
    b = h.participant("bob", relay.port, a.meeting_id, args)
    c = h.participant("carol", relay.port, a.meeting_id, args)
    ps = (a, b, c)
    h.check("relay stall, --reconnect-s 2: 3 members keyed", all(p.wait("key_epoch", timeout=10, members=3) for p in ps))
    marks = [p.count() for p in ps]
    relay.send_signal(signal.SIGSTOP)
    t_stop = time.time()
    tb, tc = b.wait("heartbeat_timeout", timeout=5 * hb + 2 + 10), c.wait("heartbeat_timeout", timeout=5 * hb + 2 + 10)
    took = [round(t["_at"] - t_stop, 2) if t else None for t in (tb, tc)]
    time.sleep(max(0.0, t_stop + 5 * hb + 2 + 2 - time.time()))    # stopped longer than limit + 2 s in any case
    relay.send_signal(signal.SIGCONT)
    rb, rc = b.exit_code(10), c.exit_code(10)
    h.check("relay stopped past the miss limit + --reconnect-s: members leave with exit 5, cause connectivity "
            "(after %s s; limit %.1f + 2 s)" % (took, 5 * hb),
            rb == 5 and rc == 5 and all(t and t.get("cause") == "connectivity" for t in (tb, tc))
            and all(x is not None and x >= 5 * hb + 2 - 0.5 for x in took), (rb, rc, tb, tc))
    first = [since(p, m, ("reconnecting", "heartbeat_timeout", "left")) for p, m in zip((b, c), marks[1:])]
    h.check("relay stopped past --reconnect-s: members said reconnecting (stalled) before leaving",
            all(f and f[0]["event"] == "reconnecting" and f[0].get("reason") == "stalled" for f in first),
            [[e["event"] for e in f] for f in first])
    alerts = [e for p in ps for e in p.all("security_alert")]
    h.check("relay stopped past --reconnect-s: no security alert anywhere", not alerts, alerts[:3])
    a.send("leave")
    a.exit_code(10)
    relay.stop()


def silent_joins_case(h):
    relay = h.relay("--join-rate", "0,0", "--max-conns-per-addr", "200", "--max-unjoined-per-addr", "200")
    a = h.host("alice", relay.port, FAST)
    a.wait("key_epoch", timeout=10)
    b = h.participant("bob", relay.port, a.meeting_id, FAST)
    b.wait("key_epoch", timeout=10)
    socks = []
    for i in range(100):
        s = socket.create_connection(("127.0.0.1", relay.port))
        s.sendall(join_frame(a.meeting_id, "quiet%d" % i))
        socks.append(s)
    # the grace of the unlisted-member check is 3 heartbeats + 1 s: wait well past it, pinging
    # as live clients do so the relay keeps them
    end = time.time() + 3 * int(HB_MS) / 1000.0 + 3.0
    while time.time() < end:
        for s in socks:
            try:
                s.sendall(frame(17, struct.pack(">Q", 1)))
            except OSError:
                pass
        time.sleep(0.5)
    joining = [p.all("joining") for p in (a, b)]
    h.check("100 silent JOINs: shown as joining (count 100)",
            all(j and j[-1]["count"] == 100 for j in joining), [j[-1:] for j in joining])
    alerts = a.all("security_alert") + b.all("security_alert")
    h.check("100 silent JOINs: no security alert at the leader or a member", not alerts, alerts[:3])
    for s in socks:
        s.close()
    time.sleep(scaled(1.0))
    h.check("they leave: joining goes back to 0", all(p.all("joining")[-1]["count"] == 0 for p in (a, b)),
            [p.all("joining")[-1:] for p in (a, b)])
    for p in (a, b):
        p.send("leave")
        p.exit_code(10)
    relay.stop()


def nat_and_churn_case(h):
    relay = h.relay("--stats-interval", "0.5")
    a = h.host("alice", relay.port, FAST)
    a.wait("key_epoch", timeout=10)
    # 80 idle connections from the users' own address (a shared NAT; 64 used to lock everyone
    # out): the next real user still gets in
    idle = [socket.create_connection(("127.0.0.1", relay.port)) for _ in range(80)]
    time.sleep(scaled(0.3))
    b = h.participant("bob", relay.port, a.meeting_id, FAST)
    ev = b.wait("key_epoch", timeout=10)
    h.check("80 idle connections from the same address: a real user still joins and is keyed", ev is not None,
            (b.all("error"), b.err[-3:]))
    closed = sum(1 for s in idle if error_code(read_frames(s, 0.5)) == 11)
    h.check("the oldest idle connections were closed with too_many_connections (%d)" % closed, closed >= 60, closed)
    for s in idle:
        s.close()
    # JOIN churn from one address: refused beyond the rate, and newcomers still get in
    refused = 0
    t_end = time.time() + 2.0
    n = 0
    while time.time() < t_end:
        s = socket.create_connection(("127.0.0.1", relay.port))
        s.sendall(join_frame(a.meeting_id, "churn"))
        fr = read_frames(s, 1.0) if n % 10 == 0 else []
        if error_code(fr) == 19:
            refused += 1
        s.close()
        n += 1
    h.check("JOIN churn (%d JOIN-then-close in 2 s): refused with rate_limited beyond the limit" % n,
            refused > 0, (n, refused))
    time.sleep(scaled(3.5))   # the address's bucket refills (3 s worth)
    c = h.participant("carol", relay.port, a.meeting_id, FAST)
    h.check("after the churn a newcomer joins and is keyed", c.wait("key_epoch", timeout=10) is not None,
            (c.all("error"), c.err[-3:]))
    alerts = a.all("security_alert") + b.all("security_alert") + c.all("security_alert")
    h.check("no security alert from the churn", not alerts, alerts[:3])
    for p in (a, b, c):
        p.send("leave")
        p.exit_code(10)
    relay.stop()


with Harness() as h:
    times = []
    for run in range(1, RUNS + 1):
        times.append(silent_leader_case(h, run))
    ok = [t for t in times if t is not None]
    if ok:
        print("silent leader: new key at every member %.2f / %.2f / %.2f s after SIGSTOP (min/median/max of %d; heartbeat %s ms)"
              % (min(ok), statistics.median(ok), max(ok), len(ok), HB_MS), flush=True)
    relay_stall_case(h)
    silent_joins_case(h)
    nat_and_churn_case(h)

sys.exit(h.finish())
