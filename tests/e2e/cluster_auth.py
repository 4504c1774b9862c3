#!/usr/bin/env python3
"""Who may take part in a relay cluster (issue 16 point 5 and point 3's cluster key), against the
real binaries: NATS with TLS (a test CA made with openssl) and a password. Two nodes with the CA and
the credentials form the cluster and carry a meeting between them; a node with a wrong password, or
one that trusts another CA, never joins it; node-to-node datagrams made without the cluster key are
dropped and counted, and no participant gets them (replays and changed bits: tests/test_cluster.c).
SKIP when nats-server or openssl is missing."""
import os
import shutil
import socket
import subprocess
import sys
import time

from cluster_lib import NATS, Nats, cluster_stats, hear_times, member, node, since
from hclib import FAST_HEARTBEAT_MS, Harness, scaled

FAST = ["--heartbeat-ms", FAST_HEARTBEAT_MS]
OPENSSL = shutil.which("openssl")


def ssl(*args, cwd):
    subprocess.run(["openssl"] + list(args), cwd=cwd, check=True, capture_output=True, timeout=scaled(60))


def make_ca(d, name):
    ssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", name + ".key", "-out", name + ".pem", "-days", "2",
        "-subj", "/CN=" + name, cwd=d)


def node_or_refusal(h, nats, name, *args, **kw):
    """A node, or None when it refused to start with a clear error about the bus (exit 1)."""
    try:
        return node(h, nats, name, *args, **kw)
    except RuntimeError:
        p = h.procs[-1]
        code = p.exit_code(10)
        said = " ".join(p.err)
        h.check("node %s that cannot use the bus stops with a clear error (exit %s: %s)" % (name, code, said[-160:]),
                code == 1 and "cluster bus: cannot connect" in said, said)
        return None


with Harness() as h:
    if not NATS or not OPENSSL:
        h.skip("cluster auth", "nats-server or openssl is not installed")
        sys.exit(0)
    d = os.path.join(h.tmp, "tls")
    os.makedirs(d)
    make_ca(d, "ca")
    make_ca(d, "other-ca")
    ssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "srv.key", "-out", "srv.csr", "-subj", "/CN=localhost", cwd=d)
    with open(os.path.join(d, "ext.cnf"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    ssl("x509", "-req", "-in", "srv.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "srv.pem",
        "-days", "2", "-extfile", "ext.cnf", cwd=d)
    nats = Nats(h, tls=(os.path.join(d, "srv.pem"), os.path.join(d, "srv.key")))
    ca = ["--cluster-ca", os.path.join(d, "ca.pem")]
    n0 = node(h, nats, "n0", *ca)
    n1 = node(h, nats, "n1", *ca)
    time.sleep(scaled(1.5))
    st = [cluster_stats(n0), cluster_stats(n1)]
    h.check("two nodes over TLS (a CA of the test's own) with the password see each other",
            [s.get("nodes_alive") for s in st] == [1, 1], st)

    a = member(h, "ada", [n0, n1], n0, None, FAST)
    mid = a.wait("meeting", timeout=10)["meeting_id"]
    b = member(h, "bo", [n0, n1], n1, mid, FAST)
    ok = all(p.wait("key_epoch", timeout=15, members=2) for p in (a, b))
    heard, missing = hear_times([a, b], time.time())
    h.check("a meeting across them: keyed, and each hears the other", ok and len(heard) == 2, missing)

    # a node with a wrong password, and one that trusts another CA, never join
    bad_auth = os.path.join(h.tmp, "bad-auth")
    with open(bad_auth, "w") as f:
        f.write("hushcall:not-the-password\n")
    os.chmod(bad_auth, 0o600)
    # (Refused at once, the bus connection may already be closed when the node subscribes: then
    # the node does not start, and says why, which is as good.)
    x = node_or_refusal(h, nats, "x-pw", *ca, auth=bad_auth)
    y = node_or_refusal(h, nats, "y-ca", "--cluster-ca", os.path.join(d, "other-ca.pem"))
    time.sleep(scaled(2.5))
    sx, sy, s0 = cluster_stats(x) if x else {"nodes_alive": 0}, cluster_stats(y) if y else {"nodes_alive": 0}, \
        cluster_stats(n0)
    h.check("a node with a wrong password never joins (it sees nobody, nobody sees it)",
            sx.get("nodes_alive") == 0 and s0.get("nodes_alive") == 1, (sx, s0))
    h.check("a node that trusts another CA never joins", sy.get("nodes_alive") == 0 and s0.get("nodes_alive") == 1,
            (sy, s0))

    # node-to-node datagrams: the cluster key's tag, a replay window
    before = cluster_stats(n1)
    rx_b = since(b, 0)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    junk = bytes([0x1C, 1, 2]) + b"n0" + os.urandom(120)
    for _ in range(50):
        sock.sendto(junk, ("127.0.0.1", n1.node_port))
    time.sleep(scaled(1.0))
    after = cluster_stats(n1)
    bad = after.get("node_dgram_bad_tag", 0) - before.get("node_dgram_bad_tag", 0)
    h.check("50 datagrams to a node's node socket without the cluster key: all dropped for their tag (%d)" % bad,
            bad == 50, (before, after))
    h.check("and no participant got anything from them (no alert, no error at bo)",
            not [e for e in since(b, len(rx_b)) if e.get("event") in ("security_alert", "error")])
    for p in (a, b):
        p.send("leave")
    codes = [p.exit_code(10) for p in (a, b)]
    h.check("both leave normally (%s)" % codes, codes == [0, 0], codes)

sys.exit(h.finish())
