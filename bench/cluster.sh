#!/usr/bin/env bash
# Relay cluster benchmarks (issue 16 point 8), on this machine; figures for people, nothing asserted.
#
#  1. Forwarding with `hushcall relay --workers 2` against one relay process: 4 talkers send 12000
#     datagrams a second together (bench_relay, paced: it stays cheap), 200 listeners read nothing,
#     so what the relay's cores do is the fan-out (2.4 million a second asked, more than two cores do);
#     the rate is the datagrams the relay handed to the kernel for participants (its own stats,
#     summed over workers), per second. Goal: >= 1.7x with two workers.
#  2. One meeting of B bots (bench/loadgen: real clients, real crypto) spread over three relay
#     nodes of a cluster (B/3 each, on a private NATS) against the same B on one relay: join ->
#     first key latency (p50/p99), frame loss at receivers, relay forwarding rate.
#
#   CLUSTER_BENCH_BOTS=900 CLUSTER_BENCH_WORKERS_S=8 [CLUSTER_BENCH_ONLY=workers|meeting] bench/cluster.sh
# Needs nats-server (the Makefile installs it). About 3 minutes with 900 bots on 2 cores.
set -u
cd "$(dirname "$0")/.." || exit 2
BUILD=${BUILD:-build}
export HC_BIN=${HC_BIN:-$PWD/$BUILD/hushcall} HC_BENCH=$PWD/$BUILD/bench
NATS=$(command -v nats-server || ls /usr/sbin/nats-server 2>/dev/null)
if [ -z "$NATS" ]; then echo "cluster bench: nats-server is not installed (make installs it)"; exit 0; fi
export NATS
exec python3 - "$@" <<'EOF'
import json, os, signal, socket, subprocess, sys, tempfile, threading, time

BIN, BENCH, NATS = os.environ["HC_BIN"], os.environ["HC_BENCH"], os.environ["NATS"]
BOTS = int(os.environ.get("CLUSTER_BENCH_BOTS", "900"))
WSEC = float(os.environ.get("CLUSTER_BENCH_WORKERS_S", "8"))
PPS = int(os.environ.get("CLUSTER_BENCH_PPS", "12000"))
ONLY = os.environ.get("CLUSTER_BENCH_ONLY", "")
OPEN = ["--max-conns-per-addr", "5000", "--max-unjoined-per-addr", "5000", "--join-rate", "0,0",
        "--max-members", "1024", "--idle-timeout", "0"]
tmp = tempfile.mkdtemp(prefix="hc-cluster-bench-")
procs = []


class Reader:
    """A child whose stdout lines (JSON) are kept with the time they were read."""
    def __init__(self, argv, **kw):
        self.p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True, **kw)
        procs.append(self.p)
        self.lines = []
        self.t = threading.Thread(target=self._read, daemon=True)
        self.t.start()

    def _read(self):
        for l in self.p.stdout:
            try:
                self.lines.append((time.time(), json.loads(l)))
            except ValueError:
                pass

    def wait(self, event, timeout=30):
        end = time.time() + timeout
        while time.time() < end:
            for t, e in self.lines:
                if e.get("event") == event:
                    return e
            time.sleep(0.05)
        raise RuntimeError("no %s from %s" % (event, self.p.args[:3]))

    def stop(self):
        if self.p.poll() is None:
            os.killpg(self.p.pid, signal.SIGTERM)
            try:
                self.p.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.p.pid, signal.SIGKILL)


def stats_rate(relay, t0, t1, key="udp_tx"):
    """Sum over the relay's processes (workers) of a counter's growth between t0 and t1, per second
    (key: a stats field, or a function of the stats line)."""
    get = key if callable(key) else (lambda e: e[key])
    by = {}
    for t, e in relay.lines:
        if e.get("event") != "stats" or t < t0 or t > t1:
            continue
        node = e.get("cluster", {}).get("node", "-")
        by.setdefault(node, []).append((e["uptime_ms"], get(e)))
    rate = 0.0
    for xs in by.values():
        if len(xs) >= 2 and xs[-1][0] > xs[0][0]:
            rate += (xs[-1][1] - xs[0][1]) / ((xs[-1][0] - xs[0][0]) / 1000.0)
    return rate, len(by)


def cpu_s(pids):
    """CPU seconds (user + system) the processes have used."""
    tot = 0
    for pid in pids:
        try:
            f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
            tot += int(f[11]) + int(f[12])
        except (OSError, IndexError, ValueError):
            pass
    return tot / os.sysconf("SC_CLK_TCK")


def machine_busy():
    """CPU seconds the whole machine spent busy (all processes and the kernel, softirq included)."""
    f = [int(x) for x in open("/proc/stat").readline().split()[1:]]
    idle = f[3] + (f[4] if len(f) > 4 else 0)
    return (sum(f) - idle) / os.sysconf("SC_CLK_TCK")


def relay_pids(relay):
    """The relay process, or its workers (not the private nats-server)."""
    try:
        kids = [int(x) for x in open("/proc/%d/task/%d/children" % (relay.p.pid, relay.p.pid)).read().split()]
    except OSError:
        kids = []
    kids = [k for k in kids if open("/proc/%d/comm" % k).read().strip() == "hushcall"]
    return kids or [relay.p.pid]


def workers_run(n):
    relay = Reader([BIN, "relay", "--listen", "127.0.0.1:0", "--workers", str(n), "--stats-interval", "0.5"] + OPEN)
    port = relay.wait("listening")["port"]
    gen = Reader([os.path.join(BENCH, "bench_relay"), "--relay", str(port), "--talkers", "4", "--listeners", "200",
                  "--seconds", str(WSEC), "--pps", str(PPS)])
    gen.wait("joined", timeout=120)
    time.sleep(1.5)                             # warm-up
    pids = relay_pids(relay)
    t0, c0, m0 = time.time(), cpu_s(pids), machine_busy()
    gen.wait("done", timeout=WSEC + 60)
    t1, c1, m1 = time.time(), cpu_s(pids), machine_busy()
    rate, nproc = stats_rate(relay, t0, t1)
    full, _ = stats_rate(relay, t0, t1, lambda e: e["drops"]["queue"])
    gen.stop()
    relay.stop()
    cpu = (c1 - c0) / (t1 - t0)                 # cores' worth the relay used
    busy = (m1 - m0) / (t1 - t0)                # and the whole machine
    return rate, nproc, cpu, full, busy


def meeting_created(log, timeout=60):
    """The id of the first meeting a relay's operator log (--log FILE) says it created."""
    end = time.time() + timeout
    while time.time() < end:
        try:
            for l in open(log):
                e = json.loads(l)
                if e.get("event") == "meeting_created":
                    return e["meeting_id"]
        except (OSError, ValueError):
            pass
        time.sleep(0.1)
    raise RuntimeError("no meeting was created (%s)" % log)


def report_line(label, reports, rate, took):
    lat = [x.get("join_to_key_ms", {}) for x in reports]
    p50 = max((l.get("p50", 0) for l in lat), default=0)
    p99 = max((l.get("p99", 0) for l in lat), default=0)
    keyed = sum(x.get("keyed", 0) for x in reports)
    loss = max((x.get("frame_loss_pct", 0) for x in reports), default=0)
    alerts = sum(x.get("alerts", 0) for x in reports)
    kinds = sorted({k for x in reports for k in x.get("alert_kinds", [])})
    first = {}
    for x in reports:
        for k, d in zip(x.get("alert_kinds", []), x.get("alert_first", [])):
            first.setdefault(k, d)
    print("%d bots, %s: keyed %d, join->key p50 %s ms (worst of the 3 loadgens), p99 %s ms, frame loss %.3f%%, "
          "alerts %d%s, relay forwarding %.0f datagrams/s (steady window), %.0f s"
          % (BOTS, label, keyed, p50, p99, loss, alerts, " (%s)" % ", ".join(kinds) if kinds else "", rate, took), flush=True)
    for k in sorted(first):
        print("  first %s: %s" % (k, first[k]), flush=True)


def cluster_vs_single():
    out = {}
    for label in ("one relay", "three nodes"):
        nats = None
        relays = []
        if label == "three nodes":
            free = socket.socket()
            free.bind(("127.0.0.1", 0))
            nport = free.getsockname()[1]
            free.close()
            conf = os.path.join(tmp, "nats.conf")
            open(conf, "w").write('authorization { users = [ {user: b, password: "bench"} ] }\n')
            auth = os.path.join(tmp, "auth"); open(auth, "w").write("b:bench\n"); os.chmod(auth, 0o600)
            key = os.path.join(tmp, "key"); open(key, "wb").write(os.urandom(32)); os.chmod(key, 0o600)
            nats = subprocess.Popen([NATS, "-a", "127.0.0.1", "-p", str(nport), "-js", "-sd", os.path.join(tmp, "js"),
                                     "-c", conf], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            procs.append(nats)
            time.sleep(1)
            for i in range(3):
                relays.append(Reader([BIN, "relay", "--listen", "127.0.0.1:0", "--cluster", "nats://127.0.0.1:%d" % nport,
                                      "--node", "n%d" % i, "--cluster-key", key, "--cluster-auth", auth, "--workers", "1",
                                      "--stats-interval", "1", "--log", os.path.join(tmp, "relay%d.log" % i)] + OPEN))
        else:
            relays.append(Reader([BIN, "relay", "--listen", "127.0.0.1:0", "--stats-interval", "1",
                                  "--log", os.path.join(tmp, "relay0.log")] + OPEN))
        ports = [r.wait("listening")["port"] for r in relays]
        time.sleep(1.5)
        per = BOTS // 3
        common = ["--join-over", "30", "--settle", "8", "--steady", "10", "--quiet"]
        host = Reader([os.path.join(BENCH, "loadgen"), "--relay", "127.0.0.1:%d" % ports[0], "--host", "--bots", str(per),
                       "--talkers", "3"] + common)
        mid = meeting_created(os.path.join(tmp, "relay0.log"))
        others = [Reader([os.path.join(BENCH, "loadgen"), "--relay", "127.0.0.1:%d" % ports[i % len(ports)], "--meeting",
                          mid, "--bots", str(per), "--talkers", "0"] + common) for i in (1, 2)]
        t_start = time.time()
        reports = []
        for g in [host] + others:
            try:
                g.p.wait(300 + BOTS // 2)
            except subprocess.TimeoutExpired:
                print("  (%s: a loadgen did not finish in time: some bots never keyed)" % label, flush=True)
                g.stop()
            g.t.join(5)
            reports.append(g.lines[-1][1] if g.lines else {})
        t_end = time.time()
        rate = 0.0
        for r in relays:
            rr, _ = stats_rate(r, t_end - 14, t_end - 2)
            rate += rr
        for r in relays:
            r.stop()
        if nats:
            nats.terminate()
            nats.wait(10)
        for i in range(3):
            try:
                os.unlink(os.path.join(tmp, "relay%d.log" % i))
            except OSError:
                pass
        out[label] = (reports, rate, t_end - t_start)
        report_line(label, reports, rate, t_end - t_start)
    return out


def workers_bench():
    r1, n1, c1, f1, b1 = workers_run(1)
    r2, n2, c2, f2, b2 = workers_run(2)
    print("forwarding, 4 talkers sending %d datagrams/s together to 203 others each (%d asked), nobody reading "
          "(datagrams the relay handed to the "
          "kernel for participants; 'send queue full': dropped on EAGAIN, never waited for):\n"
          "  one relay process: %.0f datagrams/s (send queue full: %.0f/s), relay %.2f cores, whole machine %.2f cores busy\n"
          "  --workers 2 (%d processes): %.0f datagrams/s (send queue full: %.0f/s), relay %.2f cores, whole machine %.2f "
          "cores busy\n"
          "  -> %.2fx the rate (goal >= 1.7x); the relay's own CPU time leaves out the kernel's loopback delivery when "
          "it runs in ksoftirqd; the machine's busy time counts everything, the load generator and other users too"
          % (PPS, PPS * 203, r1, f1, c1, b1, n2, r2, f2, c2, b2, r2 / r1 if r1 else 0), flush=True)


try:
    print("relay cluster benchmarks on %d cores" % os.cpu_count(), flush=True)
    if ONLY != "meeting":
        workers_bench()
    if ONLY != "workers":
        cluster_vs_single()
finally:
    for p in procs:
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except (ProcessLookupError, PermissionError):
                p.terminate()
    import shutil
    shutil.rmtree(tmp, ignore_errors=True)
EOF
