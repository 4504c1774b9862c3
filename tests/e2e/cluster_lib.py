"""Helpers for the relay cluster's tests (issue 16): a private NATS server with JetStream and a
password on 127.0.0.1 (a free port, a temporary store), relay nodes joined to it, and checks on
what headless participants print. Every process is started through the Harness, which stops it.

A test that cannot find nats-server (the Makefile installs it) reports SKIP."""
import os
import re
import shutil
import socket
import time

from hclib import BIN, SLOW, Proc, scaled

NATS = shutil.which("nats-server") or ("/usr/sbin/nats-server" if os.path.exists("/usr/sbin/nats-server") else None)
# Nodes count one another dead after this much silence (the relay's --node-timeout), stretched on
# a slow machine like every other deadline.
NODE_TIMEOUT_S = 1.0 * SLOW


class Nats:
    """nats-server with JetStream, user/password auth, on 127.0.0.1; restartable on its port.
    tls=(cert, key): clients must use TLS (the nodes get tls:// URLs)."""

    def __init__(self, h, tls=None):
        self.h = h
        self.tls = tls
        self.dir = os.path.join(h.tmp, "nats")
        os.makedirs(self.dir, exist_ok=True)
        self.port = -1             # nats-server picks a free one the first time, and keeps it after
        self.conf = os.path.join(self.dir, "nats.conf")
        with open(self.conf, "w") as f:
            f.write("authorization { users = [ {user: hushcall, password: \"s3cret-for-tests\"} ] }\n")
            if tls:
                f.write("tls { cert_file: \"%s\", key_file: \"%s\" }\n" % tls)
        self.auth = os.path.join(self.dir, "auth")
        with open(self.auth, "w") as f:
            f.write("hushcall:s3cret-for-tests\n")
        os.chmod(self.auth, 0o600)
        self.key = os.path.join(self.dir, "cluster.key")
        with open(self.key, "wb") as f:
            f.write(os.urandom(32))
        os.chmod(self.key, 0o600)
        self.proc = None
        self.start()

    @property
    def url(self):
        return "%s://127.0.0.1:%d" % ("tls" if self.tls else "nats", self.port)

    def start(self):
        argv = ["timeout", str(int(scaled(900))), NATS, "-a", "127.0.0.1", "-p", str(self.port), "-js",
                "-sd", os.path.join(self.dir, "js"), "-c", self.conf]
        self.proc = Proc("nats", argv, stdin=False)
        self.h.procs.append(self.proc)
        end = time.time() + scaled(10)
        while time.time() < end:
            m = [re.search(r"Listening for client connections on 127\.0\.0\.1:(\d+)", l) for l in list(self.proc.err)]
            m = [x for x in m if x]
            if m:
                self.port = int(m[-1].group(1))
                try:
                    socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                    return
                except OSError:
                    pass
            time.sleep(0.05)
        raise RuntimeError("nats-server did not start: %s" % self.proc.err[-5:])

    def stop(self, sig=None):
        import signal as _s
        self.proc.stop(sig or _s.SIGTERM)


def node(h, nats, name, *args, port=0, timeout=900, auth=None):
    """A relay node of the cluster on 127.0.0.1 (port 0: a free one), one process (--workers 1: the
    tests say which node a member is on). Returns its Proc with .port and .node_port."""
    argv = ["timeout", str(int(scaled(timeout))), BIN, "relay", "--listen", "127.0.0.1:%d" % port,
            "--cluster", nats.url, "--node", name, "--cluster-key", nats.key, "--cluster-auth", auth or nats.auth,
            "--node-timeout", "%.2f" % NODE_TIMEOUT_S, "--stats-interval", "0.5", "--workers", "1"] + list(args)
    p = Proc("relay-" + name, argv)
    h.procs.append(p)
    ev = p.wait("listening", timeout=10)
    if not ev:
        raise RuntimeError("relay node %s did not start: %s" % (name, p.err[-5:]))
    p.port = ev["port"]
    p.node_port = ev.get("node_port")
    p.node = name
    return p


def relay_list(nodes, first):
    """--relay for a participant: every node, starting with `first` (its own), then the others."""
    order = [first] + [n for n in nodes if n is not first]
    return ",".join("127.0.0.1:%d" % n.port for n in order)


def member(h, name, nodes, first, meeting=None, args=()):
    """A headless participant that connects to node `first`, with every node in its --relay list
    (the later --relay wins over the one hclib puts first)."""
    p = h.participant(name, first.port, meeting, list(args) + ["--relay", relay_list(nodes, first)])
    p.node = first
    return p


def cluster_stats(relay, fresh=True):
    """The "cluster" block of the relay's stats line (it prints one every 0.5 s): with fresh, the
    first one printed after this call, so that it counts everything done before it."""
    mark = relay.count()
    ev = relay.wait("stats", timeout=5, since=mark) if fresh else None
    if not ev:
        with relay.lock:
            evs = [e for e in relay.events if e.get("event") == "stats"]
        ev = evs[-1] if evs else {}
    return ev.get("cluster", {})


def since(p, mark, name=None, **fields):
    """p's events from index mark on, named `name` with these fields when given."""
    with p.lock:
        evs = p.events[mark:]
    return [e for e in evs if (name is None or e.get("event") == name) and all(e.get(k) == v for k, v in fields.items())]


def hearing(polled, ps, idx, base):
    """One stats poll of each of polled, all asked at once: {p: time its answer came (its "_at")}
    for those whose decoded-audio count grew, since p's first poll (kept in base), for every other
    of ps (by their index in idx). Growth since the *first* poll, not since the previous one: the
    polls come every few milliseconds and each sender's packets every 20 ms at its own phase, so
    "every sender grew since the previous poll" asks for a coincidence and once measured a second
    of luck rather than when audio came back."""
    marks = {}
    for p in polled:
        marks[p] = p.count()
        p.send("stats")
    out = {}
    for p in polled:
        ev = p.wait("stats", timeout=2, since=marks[p])
        if not ev:
            continue
        cur = {s["index"]: s["ok"] for s in ev.get("senders", [])}
        if p not in base:
            base[p] = cur
            continue
        old = base[p]
        if all(idx.get(q) in cur and cur[idx[q]] > old.get(idx[q], 0) for q in ps if q is not p):
            out[p] = ev["_at"]
    return out


def hear_times(ps, t0, timeout=10.0):
    """Polls until each of ps decoded audio from every other of ps (their current indexes): {p:
    seconds after t0 it was first seen to}, and the first counts of those that did not."""
    ix, prev, heard = {}, {}, {}
    for p in ps:
        j = since(p, 0, "joined")
        ix[p] = j[-1]["index"] if j else None
    end = time.time() + scaled(timeout)
    while time.time() < end and len(heard) < len(ps):
        for p, at in hearing([p for p in ps if p not in heard], ps, ix, prev).items():
            heard[p] = at - t0
        time.sleep(0.02)
    return heard, {p.name: prev.get(p) for p in ps if p not in heard}
