#!/usr/bin/env python3
"""A call survives its relay (issue 17), against the real binaries: the relay is killed (kill -9)
and started again on the same port, and the meeting comes back by itself: same meeting id, same
security code, a higher key epoch, audio and chat again within 3 s of the new relay listening,
no alert. The leader not coming back: the earliest remaining member re-creates the meeting, the
others are told to compare the (new) security code. A relay that makes a meeting of its own under
the old id (--attack rehost) is caught by every member (resume_mismatch, exit 3). --reconnect-s 0
leaves at once (exit 5), and a relay that never comes back is given up on after --reconnect-s.

HC_RESUME_RUNS=N sets how many times the relay is restarted under one meeting (default 5); the
script prints min/median/max of the times."""
import os
import signal
import statistics
import sys
import time

from hclib import FAST_HEARTBEAT_MS, Harness, scaled

FAST = ["--heartbeat-ms", FAST_HEARTBEAT_MS]
RUNS = int(os.environ.get("HC_RESUME_RUNS", "5"))
BAD = ("security_alert", "left", "error", "heartbeat_timeout")
FLOW_LIMIT = 3.0          # s after the new relay listened: keyed, audio and chat again


def after(p, mark, name=None, **fields):
    """p's events from index mark on (named `name` with these fields, if given)."""
    with p.lock:
        evs = p.events[mark:]
    return [e for e in evs if (name is None or e.get("event") == name) and all(e.get(k) == v for k, v in fields.items())]


def brief(e):
    return {k: v for k, v in e.items() if k in ("event", "kind", "reason", "cause", "code", "detail", "message",
                                                "text", "index", "leader", "epoch", "members", "meeting_id")}


def bad_events(ps, marks, kinds=BAD):
    return [(p.name, brief(e)) for p, m in zip(ps, marks) for e in after(p, m) if e.get("event") in kinds]


def last(p, name, mark=0):
    e = after(p, mark, name)
    return e[-1] if e else None


def meeting(h, names, args=FAST, relay_args=()):
    """A relay and a meeting of len(names) members, who join one after the other (each once the
    ones before it are keyed with it), so that the join order is the order of `names`."""
    relay = h.relay(*relay_args)
    a = h.host(names[0], relay.port, args)
    ps = [a]
    keyed = a.wait("key_epoch", timeout=10) is not None
    for n in names[1:]:
        ps.append(h.participant(n, relay.port, a.meeting_id, args))
        keyed = all(q.wait("key_epoch", timeout=10, members=len(ps)) for q in ps) and keyed
    return relay, ps, keyed


def restart(h, relay, *args, pause=0.5):
    """kill -9 the relay, wait `pause` s, start a new one on its port. Returns the new relay, the
    time of the kill and the time the new one was seen listening."""
    port = relay.port
    relay.stop(signal.SIGKILL)
    t_kill = time.time()
    time.sleep(pause)
    r = h.relay(*args, port=port)
    return r, t_kill, r.wait("listening")["_at"]


def back(ps, marks, t_listen, chat_from, text, timeout=12.0):
    """After a relay restart: when each member was keyed again with everyone (key_epoch members=
    len(ps)), when each decoded audio again from every other member (stats: that member's ok
    count under its new index grew between two polls), and when a chat line sent by chat_from
    (once everyone is keyed) arrived at each other member. Times in s after t_listen; None for
    what did not happen within the deadline."""
    n = len(ps)
    keyed, audio, chat = {}, {}, {}
    prev = {p.name: {} for p in ps}
    sent = False
    end = time.time() + scaled(timeout)
    while time.time() < end and not (len(keyed) == n and len(audio) == n and len(chat) == n - 1):
        for p, m in zip(ps, marks):
            if p.name not in keyed:
                e = after(p, m, "key_epoch", members=n)
                if e:
                    keyed[p.name] = e[0]["_at"] - t_listen
        if not sent and len(keyed) == n:
            chat_from.send("chat " + text)
            sent = True
        for p, m in zip(ps, marks):
            if sent and p is not chat_from and p.name not in chat:
                e = after(p, m, "chat", text=text)
                if e:
                    chat[p.name] = e[0]["_at"] - t_listen
        # each member's index in the new meeting instance
        idx = {}
        for q, m in zip(ps, marks):
            j = last(q, "joined", m)
            if j:
                idx[q.name] = j["index"]
        waiting = [(p, p.count()) for p in ps if p.name not in audio]
        for p, c in waiting:
            p.send("stats")
        for p, c in waiting:
            ev = p.wait("stats", timeout=2, since=c)
            if not ev:
                continue
            cur = {(s["index"], s["name"]): s["ok"] for s in ev.get("senders", [])}
            others = [(idx.get(q.name), q.name) for q in ps if q is not p]
            if all(k[0] is not None and k in cur and k in prev[p.name] and cur[k] > prev[p.name][k] for k in others):
                audio[p.name] = ev["_at"] - t_listen
            prev[p.name] = cur
        time.sleep(0.05)
    return keyed, audio, chat


def mmm(xs):
    return "%.2f / %.2f / %.2f" % (min(xs), statistics.median(xs), max(xs)) if xs else "- / - / -"


def restart_case(h):
    """(a) kill -9 the relay and start it again on the same port, RUNS times under one meeting."""
    relay, ps, keyed = meeting(h, ["alice", "bob", "carol", "dave"])
    a = ps[0]
    mid = a.meeting_id
    h.check("restart: 4 members keyed", keyed, [brief(e) for p in ps for e in p.all("key_epoch")][-4:])
    code0 = [last(p, "security_code")["code"] if last(p, "security_code") else None for p in ps]
    h.check("restart: everyone shows the same security code before (%s)" % code0[0],
            code0[0] is not None and len(set(code0)) == 1, code0)
    keyed_t, flow_t = [], []
    time.sleep(scaled(1.0))
    for run in range(1, RUNS + 1):
        epoch0 = max(last(p, "key_epoch")["epoch"] for p in ps)
        marks = [p.count() for p in ps]
        relay, t_kill, t_listen = restart(h, relay)
        text = "hello %d from %s" % (run, ps[run % 4].name)
        k, au, ch = back(ps, marks, t_listen, ps[run % 4], text)
        tk = max(k.values()) if len(k) == 4 else None
        ta = max(au.values()) if len(au) == 4 else None
        tc = max(ch.values()) if len(ch) == 3 else None
        tf = max(ta, tc) if ta is not None and tc is not None else None
        if tk is not None:
            keyed_t.append(tk)
        if tf is not None:
            flow_t.append(tf)
        h.check("restart run %d: every member keyed again with all 4 within %.0f s of the relay listening (%s s)"
                % (run, FLOW_LIMIT, "%.2f" % tk if tk is not None else "never"),
                tk is not None and tk <= scaled(FLOW_LIMIT), k)
        h.check("restart run %d: audio from every other member and the chat line at every other member within %.0f s "
                "(audio %s s, chat %s s)" % (run, FLOW_LIMIT, "%.2f" % ta if ta is not None else "never",
                                             "%.2f" % tc if tc is not None else "never"),
                tf is not None and tf <= scaled(FLOW_LIMIT), {"audio": au, "chat": ch})
        rec = [last(p, "reconnected", m) for p, m in zip(ps, marks)]
        h.check("restart run %d: every member reports reconnected to meeting %s" % (run, mid),
                all(r and r.get("meeting_id") == mid for r in rec), [brief(r) if r else None for r in rec])
        codes = [last(p, "security_code", m) for p, m in zip(ps, marks)]
        codes = [c["code"] if c else None for c in codes]
        h.check("restart run %d: the same security code as before at every member" % run, codes == code0, (code0, codes))
        epochs = [last(p, "key_epoch", m)["epoch"] if last(p, "key_epoch", m) else None for p, m in zip(ps, marks)]
        h.check("restart run %d: the key epoch went on higher (%d before, %s after)" % (run, epoch0, epochs),
                all(e is not None and e > epoch0 for e in epochs), epochs)
        bad = bad_events(ps, marks)
        h.check("restart run %d: no security alert, no left, no error, no heartbeat timeout" % run, not bad, bad[:6])
        time.sleep(scaled(0.5))       # a meeting that runs a little before the next kill
    print("relay restart: keyed again min/median/max %s s after the relay listened (%d runs)"
          % (mmm(keyed_t), len(keyed_t)), flush=True)
    print("relay restart: audio/chat flow again min/median/max %s s after the relay listened (%d runs)"
          % (mmm(flow_t), len(flow_t)), flush=True)
    # the meeting is still the one with that id: a newcomer joins it with the old id
    marks = [p.count() for p in ps]
    e = h.participant("erin", relay.port, mid, FAST)
    ok = e.wait("key_epoch", timeout=10, members=5)
    ok = ok and all(p.wait("key_epoch", timeout=10, since=m, members=5) for p, m in zip(ps, marks))
    ce = last(e, "security_code")
    h.check("restart: a newcomer joins meeting %s with the old id, keyed with all 5, same security code" % mid,
            bool(ok) and ce is not None and ce["code"] == code0[0], (brief(ce) if ce else None, e.all("error"), e.err[-3:]))
    bad = bad_events(ps + [e], marks + [0])
    h.check("restart: no alert or error after the newcomer", not bad, bad[:6])
    for p in ps + [e]:
        p.send("leave")
    codes = [p.exit_code(10) for p in ps + [e]]
    h.check("restart: everyone leaves normally (exit status %s)" % codes, codes == [0] * 5, codes)
    relay.stop()
    return keyed_t, flow_t


def leader_gone_case(h):
    """(b) the relay dies and the leader with it: the earliest remaining member re-creates the
    meeting, the others join it and are told to compare the new security code."""
    relay, ps, keyed = meeting(h, ["alice", "bob", "carol", "dave"])
    a, b, c, d = ps
    mid = a.meeting_id
    h.check("leader gone: 4 members keyed (joined alice, bob, carol, dave in that order)", keyed)
    code0 = last(a, "security_code")["code"]
    rest = [b, c, d]
    marks = [p.count() for p in rest]
    port = relay.port
    relay.stop(signal.SIGKILL)
    a.stop(signal.SIGKILL)
    time.sleep(0.5)
    relay = h.relay(port=port)
    t_listen = relay.wait("listening")["_at"]
    k, au, ch = back(rest, marks, t_listen, d, "hello from dave", timeout=20)
    tk = max(k.values()) if len(k) == 3 else None
    h.check("leader gone: bob, carol and dave keyed again with 3 members (%s s after the relay listened)"
            % ("%.2f" % tk if tk is not None else "never"), tk is not None, k)
    jb = last(b, "joined", marks[0])
    lead = [last(p, "joined", m) for p, m in zip(rest, marks)]
    h.check("leader gone: bob (the earliest remaining member) leads the resumed meeting",
            jb is not None and all(j and j.get("leader") == jb["index"] for j in lead), [brief(j) if j else None for j in lead])
    rec = [last(p, "reconnected", m) for p, m in zip(rest, marks)]
    h.check("leader gone: everyone reports reconnected to meeting %s" % mid,
            all(r and r.get("meeting_id") == mid for r in rec), [brief(r) if r else None for r in rec])
    codes = [last(p, "security_code", m) for p, m in zip(rest, marks)]
    cs = [x["code"] if x else None for x in codes]
    h.check("leader gone: each got a new security_code event with a new code, the same for all (%s, was %s)"
            % (cs[0], code0), all(x is not None and x != code0 for x in cs) and len(set(cs)) == 1, (code0, cs))
    told = [any("compare the security code again" in (e.get("text") or "") and "bob" in e.get("text", "")
                for e in after(p, m, "notice")) for p, m in zip(rest[1:], marks[1:])]
    h.check("leader gone: carol and dave are told the meeting resumed under bob: compare the code again", all(told),
            [[e.get("text") for e in after(p, m, "notice")] for p, m in zip(rest[1:], marks[1:])])
    ta = max(au.values()) if len(au) == 3 else None
    tc = max(ch.values()) if len(ch) == 2 else None
    h.check("leader gone: audio flows between the three again (%s s) and chat arrives (%s s)"
            % ("%.2f" % ta if ta is not None else "never", "%.2f" % tc if tc is not None else "never"),
            ta is not None and tc is not None, {"audio": au, "chat": ch})
    bad = bad_events(rest, marks)
    h.check("leader gone: no security alert, no left, no error", not bad, bad[:6])
    for p in rest:
        p.send("leave")
    codes = [p.exit_code(10) for p in rest]
    h.check("leader gone: the three leave normally (exit status %s)" % codes, codes == [0, 0, 0], codes)
    relay.stop()
    print("leader gone: the earliest remaining member's meeting keyed at everyone %s s after the relay listened"
          % ("%.2f" % tk if tk is not None else "never"), flush=True)
    return tk


def rehost_case(h):
    """(c) the restarted relay makes a meeting of its own under the old id: every member refuses it."""
    relay, ps, keyed = meeting(h, ["alice", "bob", "carol", "dave"])
    h.check("rehost: 4 members keyed", keyed)
    marks = [p.count() for p in ps]
    relay, t_kill, t_listen = restart(h, relay, "--attack", "rehost")
    codes, took = [], []
    for p in ps:
        codes.append(p.exit_code(8))
        took.append(round(time.time() - t_listen, 2) if codes[-1] is not None else None)
    alerts = [after(p, m, "security_alert", kind="resume_mismatch") for p, m in zip(ps, marks)]
    h.check("rehost: every member raises security_alert resume_mismatch",
            all(alerts), [[brief(e) for e in after(p, m, "security_alert")] for p, m in zip(ps, marks)])
    h.check("rehost: every member leaves with exit status 3 within a few seconds (%s, by %s s after the relay listened)"
            % (codes, max(t for t in took if t is not None) if any(t is not None for t in took) else "-"),
            codes == [3, 3, 3, 3], (codes, took))
    left = [last(p, "left", m) for p, m in zip(ps, marks)]
    h.check("rehost: each says it left for security", all(x and x.get("reason") == "security" for x in left),
            [brief(x) if x else None for x in left])
    rec = [brief(e) for p, m in zip(ps, marks) for e in after(p, m, "reconnected")]
    h.check("rehost: nobody reports reconnected", not rec, rec)
    relay.stop()


def no_reconnect_case(h):
    """(d) --reconnect-s 0: the old behaviour, leave at once when the relay goes."""
    relay, ps, keyed = meeting(h, ["alice", "bob", "carol"], args=FAST + ["--reconnect-s", "0"])
    h.check("reconnect-s 0: 3 members keyed", keyed)
    marks = [p.count() for p in ps]
    relay.stop(signal.SIGKILL)
    t_kill = time.time()
    codes, took = [], []
    for p in ps:
        codes.append(p.exit_code(5))
        took.append(round(time.time() - t_kill, 2))
    h.check("reconnect-s 0: relay killed: every member exits 5 at once (%s after %s s)" % (codes, max(took)),
            codes == [5, 5, 5] and max(took) <= scaled(2.0), (codes, took))
    rec = [brief(e) for p, m in zip(ps, marks) for e in after(p, m) if e.get("event") in ("reconnecting", "reconnected")]
    h.check("reconnect-s 0: nobody tried to reconnect", not rec, rec)


def give_up_case(h):
    """(e) --reconnect-s 3 and the relay never comes back: reconnecting, then exit 5 after ~3 s."""
    relay, ps, keyed = meeting(h, ["alice", "bob", "carol"], args=FAST + ["--reconnect-s", "3"])
    h.check("give up: 3 members keyed", keyed)
    marks = [p.count() for p in ps]
    relay.stop(signal.SIGKILL)
    t_kill = time.time()
    codes, took = [], []
    for p in ps:
        codes.append(p.exit_code(8))
        took.append(round(time.time() - t_kill, 2))
    # the exit time of each: the last event it printed is no earlier than its exit, close enough
    ends = [round(after(p, m)[-1]["_at"] - t_kill, 2) if after(p, m) else None for p, m in zip(ps, marks)]
    h.check("give up: every member exits 5 (%s)" % codes, codes == [5, 5, 5], (codes, [p.err[-2:] for p in ps]))
    h.check("give up: not before 2.5 s nor after 8 s (left %s s after the kill, exited by %s s)" % (ends, took),
            all(e is not None and e >= 2.5 for e in ends) and all(t >= 2.5 for t in took) and max(took) <= scaled(8.0),
            (ends, took))
    first = []
    for p, m in zip(ps, marks):
        ev = [e for e in after(p, m) if e.get("event") in ("reconnecting", "left", "heartbeat_timeout", "reconnected")]
        first.append(brief(ev[0]) if ev else None)
    h.check("give up: each reported reconnecting (connection_lost, give_up_ms 3000) first",
            all(f and f["event"] == "reconnecting" and f.get("reason") == "connection_lost" for f in first)
            and all(after(p, m, "reconnecting")[0].get("give_up_ms") == 3000 for p, m in zip(ps, marks)), first)
    alerts = [brief(e) for p, m in zip(ps, marks) for e in after(p, m, "security_alert")]
    h.check("give up: no security alert", not alerts, alerts)


with Harness() as h:
    t0 = time.time()
    restart_case(h)
    leader_gone_case(h)
    rehost_case(h)
    no_reconnect_case(h)
    give_up_case(h)
    print("meeting_resume: %.0f s" % (time.time() - t0), flush=True)

sys.exit(h.finish())
