#!/usr/bin/env bash
# relay_rss: what a connection that stops in the middle of a control frame costs the relay in
# memory. A client may send a 64 KiB length prefix and then only part of the frame, and keep the
# connection open until the idle timeout; the relay holds what it has received until then. This
# opens CONNS such connections from 127.0.0.1 to a real `hushcall relay` and reports the growth
# of the relay's VmRSS per connection for several amounts of the frame actually sent, next to an
# idle connection (no bytes at all) for comparison, and a member that sent one large frame (a
# 65 000-byte CHAT) and is idle since. VmRSS counts the pages written; VmData also the heap
# allocated but not yet written (which becomes resident as soon as malloc hands it out again).
# Nothing is asserted.
#   HC_BIN=other/hushcall bench/relay_rss.sh    measures another build (e.g. before a change)
set -u
HC_ROOT=${HC_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
HC_BIN=${HC_BIN:-$HC_ROOT/build/hushcall}
[ -x "$HC_BIN" ] || { echo "relay_rss: skipped: $HC_BIN not built"; exit 0; }
command -v pgrep >/dev/null || { echo "relay_rss: skipped: pgrep missing (make installs procps)"; exit 0; }
CONNS=${CONNS:-500}
export HC_BIN CONNS
exec timeout 300 python3 - <<'PY'
import os, socket, struct, subprocess, time

BIN, CONNS = os.environ["HC_BIN"], int(os.environ["CONNS"])
PREFIX = 65536                      # the default max_frame: the largest prefix the relay accepts


def mem_kib(pid):
    """(VmRSS, VmData) in KiB."""
    got = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k = line.split(":")[0]
            if k in ("VmRSS", "VmData"):
                got[k] = int(line.split()[1])
    return got["VmRSS"], got["VmData"]


def settled(pid):
    """Memory once the relay has read what was sent: two equal readings 0.2 s apart."""
    last = None
    for _ in range(50):
        now = mem_kib(pid)
        if now == last:
            return now
        last = now
        time.sleep(0.2)
    return last


def frame(ftype, payload):
    return struct.pack(">IBB", 2 + len(payload), 1, ftype) + payload


def lp(b):
    return struct.pack(">H", len(b)) + b


# All connections come from 127.0.0.1: lift the per-address caps on connections that have not
# joined, the JOIN deadline and the JOIN rate, where this build has them (an older build may not).
_help = subprocess.run([BIN, "relay", "--help"], capture_output=True, text=True).stdout
LIMITS_OFF = []
if "--max-unjoined-per-addr" in _help:
    LIMITS_OFF += ["--max-unjoined-per-addr", str(CONNS + 10)]
if "--join-timeout" in _help:
    LIMITS_OFF += ["--join-timeout", "0"]
if "--join-rate" in _help:
    LIMITS_OFF += ["--join-rate", "0,0"]


def one_run(sent):
    # --listen 127.0.0.1:0: a free port, printed on the first line; under timeout(1), so the relay
    # itself is timeout's child (pgrep -x: the name exactly, -P: only ours, not other builds').
    t = subprocess.Popen(["timeout", "120", BIN, "relay", "--listen", "127.0.0.1:0",
                          "--max-conns-per-addr", str(CONNS + 10)] + LIMITS_OFF,
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    socks = []
    try:
        line = t.stdout.readline()
        port = int(line.split('"port":')[1].split("}")[0])
        pid = None
        for _ in range(100):
            out = subprocess.run(["pgrep", "-x", "-P", str(t.pid), "hushcall"],
                                 capture_output=True, text=True).stdout.split()
            if out:
                pid = int(out[0])
                break
            time.sleep(0.05)
        if pid is None:
            raise RuntimeError("relay process not found under timeout pid %d" % t.pid)
        for _ in range(CONNS):
            s = socket.create_connection(("127.0.0.1", port))
            socks.append(s)
        base = settled(pid)
        if sent == "chat":
            # CREATE (a meeting each, so nobody receives the CHAT), then one CHAT frame of
            # 65 000 bytes, complete: the relay reads it, broadcasts it to nobody, and waits.
            for s in socks:
                s.sendall(frame(1, lp(b"bench") + struct.pack(">I", 0)) +
                          frame(16, struct.pack(">I", 0) + lp(b"\x02" * 65000)))
        elif sent is not None:
            body = b"\x01" * sent
            for s in socks:
                s.sendall(struct.pack(">I", PREFIX) + body)
        after = settled(pid)
        return base, after
    finally:
        for s in socks:
            s.close()
        t.terminate()
        t.wait(10)


print("relay VmRSS per connection, %d connections from 127.0.0.1 (%s)" % (CONNS, BIN))
print("  %-40s %14s %14s" % ("", "VmRSS KiB/conn", "VmData KiB/conn"))
for sent in (None, 1000, 16000, 33000, 65000, "chat"):
    base, after = one_run(sent)
    what = "connected, nothing sent" if sent is None else \
        "joined, one 65000-byte CHAT, then idle" if sent == "chat" else \
        "64 KiB prefix + %5d bytes of the frame" % sent
    print("  %-40s %14.1f %14.1f" % (what, (after[0] - base[0]) / CONNS, (after[1] - base[1]) / CONNS))
PY
