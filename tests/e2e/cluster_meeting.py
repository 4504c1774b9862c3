#!/usr/bin/env python3
"""Relay nodes that form a cluster (issue 16), against the real binaries and a real NATS server on
127.0.0.1: three relay nodes, six participants spread over them (each connects to its own node), one
meeting. One meeting id and one security code everywhere; every member keyed with everyone, the key
epoch rising with each join and with a leave, across nodes; chat and audio from each node reach
everyone; a broadcast crosses the bus once per node (the nodes' counters), media goes node to node
and nothing on the bus fails its checks. SKIP when nats-server is missing."""
import os
import subprocess
import sys
import time

from cluster_lib import NATS, Nats, cluster_stats, hear_times, member, node, since
from hclib import BIN, FAST_HEARTBEAT_MS, Harness, scaled

FAST = ["--heartbeat-ms", FAST_HEARTBEAT_MS]
BAD = ("security_alert", "heartbeat_timeout", "error", "left", "reconnecting")

def cli(h, args, want_rc, want_text, label):
    """relay with these options: exits with want_rc, saying want_text on stderr."""
    p = subprocess.run(["timeout", "20", BIN, "relay", "--listen", "127.0.0.1:0"] + args, capture_output=True,
                       text=True, timeout=scaled(30))
    h.check("%s: exit %d, says '%s'" % (label, want_rc, want_text), p.returncode == want_rc and want_text in p.stderr,
            (p.returncode, p.stderr[-300:]))


with Harness() as h:
    # the options are checked before anything starts (no NATS needed)
    key = os.path.join(h.tmp, "key")
    with open(key, "wb") as f:
        f.write(os.urandom(32))
    os.chmod(key, 0o644)
    base = ["--cluster", "nats://127.0.0.1:4222", "--node", "a"]
    cli(h, base + ["--cluster-key", key], 2, "chmod 600", "a cluster key others can read is refused")
    os.chmod(key, 0o600)
    cli(h, ["--cluster", "nats://127.0.0.1:4222", "--cluster-key", key], 2, "--node NAME", "--cluster without --node")
    cli(h, base, 2, "--cluster-key FILE", "--cluster without a key")
    cli(h, ["--cluster", "nats://10.1.2.3:4222", "--node", "a", "--cluster-key", key], 2, "tls://",
        "a NATS server off loopback without TLS")
    cli(h, ["--cluster", "tls://10.1.2.3:4222", "--node", "a", "--cluster-key", key], 2, "--cluster-auth",
        "a NATS server off loopback without credentials")
    cli(h, ["--node", "a"], 2, "need --cluster", "--node without --cluster")
    cli(h, base + ["--cluster-key", key, "--node", "a.b"], 2, "A-Z a-z 0-9", "a node name with a dot")
    short = os.path.join(h.tmp, "short")
    with open(short, "wb") as f:
        f.write(b"too short")
    os.chmod(short, 0o600)
    cli(h, base + ["--cluster-key", short], 2, "at least 32", "a cluster key of 9 bytes")
    if not NATS:
        h.skip("cluster meeting", "nats-server is not installed (the Makefile installs it)")
        sys.exit(0)
    nats = Nats(h)
    nodes = [node(h, nats, "n%d" % i) for i in range(3)]
    time.sleep(scaled(1.0))     # the nodes hear one another
    alive = [cluster_stats(r).get("nodes_alive") for r in nodes]
    h.check("every node sees the two others alive (%s)" % alive, alive == [2, 2, 2], alive)

    names = ["ada", "bob", "cy", "dee", "eve", "fay"]
    a = member(h, names[0], nodes, nodes[0], None, FAST)
    ev = a.wait("meeting", timeout=10)
    mid = ev["meeting_id"] if ev else None
    ps = [a]
    epochs = []
    ok = a.wait("key_epoch", timeout=10) is not None
    for i, n in enumerate(names[1:], 1):
        p = member(h, n, nodes, nodes[i % 3], mid, FAST)
        ps.append(p)
        ok = all(q.wait("key_epoch", timeout=15, members=len(ps)) for q in ps) and ok
        epochs.append(max(e["epoch"] for e in a.all("key_epoch")))
    h.check("six members on three nodes keyed with one another, each join keyed across nodes", ok,
            [(p.name, [e.get("members") for e in p.all("key_epoch")]) for p in ps])
    h.check("the key epoch rose with every join (%s)" % epochs, all(x < y for x, y in zip(epochs, epochs[1:])), epochs)
    ids = [since(p, 0, "joined")[0].get("meeting_id") if since(p, 0, "joined") else None for p in ps]
    h.check("one meeting id everywhere (%s)" % mid, ids == [mid] * 6, ids)
    codes = [since(p, 0, "security_code")[-1]["code"] if since(p, 0, "security_code") else None for p in ps]
    h.check("one security code everywhere", codes[0] and len(set(codes)) == 1, codes)

    audio, missing = hear_times(ps, time.time())
    h.check("audio from every member reaches every other (decoded, counted per sender)", len(audio) == 6, missing)
    ps[4].send("chat hello from eve on n1")
    chat = [p.wait("chat", timeout=10, text="hello from eve on n1") for p in ps if p is not ps[4]]
    h.check("chat from a member on node n1 reaches the five others", all(chat))

    # a broadcast crosses the bus once per node: in a steady meeting (heartbeats, a chat line:
    # broadcasts; a PONG now and then: unicast) the home's DOWN messages stand for about twice as
    # many frames, as each other node has two members
    before = cluster_stats(nodes[0])
    ps[1].send("chat steady")
    time.sleep(scaled(3.0))
    st = [cluster_stats(r) for r in nodes]
    home = st[0]
    d_msgs = home.get("down_msgs", 0) - before.get("down_msgs", 0)
    d_frames = home.get("down_frames", 0) - before.get("down_frames", 0)
    h.check("the meeting lives at n0 (its lease), the other nodes proxy two members each (%s)"
            % [(s.get("leases"), s.get("proxied"), s.get("virtual")) for s in st],
            home.get("leases") == 1 and home.get("virtual") == 4 and st[1].get("proxied") == 2 and st[2].get("proxied") == 2,
            st)
    h.check("a broadcast crosses the bus once per node: %d frames in %d messages from the home in a steady 3 s"
            % (d_frames, d_msgs), d_msgs > 0 and d_frames >= 1.5 * d_msgs, (before, home))
    h.check("media went node to node (datagrams out of each node: %s)" % [s.get("node_dgram_out") for s in st],
            all(s.get("node_dgram_out", 0) > 0 and s.get("node_dgram_in", 0) > 0 for s in st), st)
    h.check("nothing on the bus or between nodes failed its checks",
            all(s.get("bus_bad") == 0 and s.get("node_dgram_bad_tag") == 0 and s.get("node_dgram_bad") == 0
                and s.get("links_fenced") == 0 for s in st), st)

    # a leave on n2 rekeys everyone, across nodes
    e0 = max(e["epoch"] for e in a.all("key_epoch"))
    marks = [p.count() for p in ps]
    ps[5].send("leave")
    rest = ps[:5]
    ok = all(p.wait("key_epoch", timeout=10, since=m, members=5) for p, m in zip(rest, marks))
    e1 = [since(p, m, "key_epoch")[-1]["epoch"] if since(p, m, "key_epoch") else None for p, m in zip(rest, marks)]
    h.check("a leave on n2: the five others keyed again, the epoch up (%d -> %s)" % (e0, e1),
            ok and all(x and x > e0 for x in e1), e1)
    h.check("fay left normally (exit 0)", ps[5].exit_code(10) == 0, ps[5].err[-3:])
    bad = [(p.name, e) for p in rest for e in since(p, 0) if e.get("event") in BAD]
    h.check("no alert, no error, no heartbeat timeout, nobody left or reconnecting", not bad, bad[:6])
    for p in rest:
        p.send("leave")
    codes = [p.exit_code(10) for p in rest]
    h.check("everyone leaves normally (%s)" % codes, codes == [0] * 5, codes)

sys.exit(h.finish())
