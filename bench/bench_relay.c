/* Relay forwarding benchmark on loopback.
 *
 * A load generator drives one meeting of N members through the relay: every member is a plain
 * UDP socket registered through the protocol (TCP CREATE/JOIN, UDP REGISTER), and every member
 * sends 120-byte audio datagrams as fast as the generator can. The relay (net/relay.c, the real
 * server) runs in its own thread with its own loop; its CPU time is that thread's clock.
 *
 * The same load then goes through a minimal verbatim forwarder written here (poll, recvmmsg,
 * a sender table, fan-out to the same destinations, sendmmsg; no protocol, no checks), the
 * floor any relay design pays in syscalls. The ratio relay/baseline compares forwarded packets
 * per CPU-second of the forwarding thread.
 *
 * Scenarios: N=10 all talking (fan-out 9), N=100 with --forward-loudest 3 (3 loud talkers, 97
 * quiet ones whose packets the relay must read and drop). Nothing is asserted: figures are for
 * people. Runs in about 20 seconds.
 *
 *   bench_relay --relay PORT --talkers T --listeners L --seconds S [--pps N]
 * drives a relay process on 127.0.0.1:PORT instead (bench/cluster.sh: `hushcall relay --workers
 * N`): T + L members join one meeting, the T talkers send N datagrams a second together (default
 * 4000, paced every millisecond, so this process stays cheap) and nobody reads: the relay's
 * fan-out (each datagram to T + L - 1 others, 800 000 a second with the defaults) is more than a
 * core forwards, and is what the machine's cores spend. The script reads the forwarding rate from
 * the relay's own stats. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "crypto/bytes.h"
#include "crypto/sframe.h"
#include "net/media.h"
#include "net/relay.h"
#include "net/wire.h"

#define PKT_LEN 120
#define SEND_BATCH 32
#define WARMUP_MS 500
#define MEASURE_MS 3000
#define MAXN 1024

typedef struct {
    int udp, tcp;
    uint32_t index;
    struct sockaddr_in addr;
    uint8_t pkt[SEND_BATCH][PKT_LEN];
    uint64_t ctr;
} bmember;

static bmember mem[MAXN];
static int nmem;

static uint64_t now_ns(clockid_t c) {
    struct timespec ts;
    clock_gettime(c, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void die(const char *what) {
    fprintf(stderr, "bench_relay: %s: %s\n", what, strerror(errno));
    exit(1);
}

/* ---- the relay in a thread ---- */

typedef struct {
    hc_relay_server_config cfg;
    pthread_t th;
    uv_loop_t loop;
    uv_async_t stop;
    hc_relay_server *srv;
    atomic_int port;              /* set once listening; -1 on failure */
} relay_thread;

static void on_stopped(void *arg) {
    relay_thread *rt = arg;
    uv_close((uv_handle_t *)&rt->stop, NULL);
}

static void on_stop(uv_async_t *a) {
    relay_thread *rt = a->data;
    hc_relay_server_stop(rt->srv, on_stopped, rt);
}

static void *relay_main(void *arg) {
    relay_thread *rt = arg;
    char err[200];
    uv_loop_init(&rt->loop);
    uv_async_init(&rt->loop, &rt->stop, on_stop);
    rt->stop.data = rt;
    if (hc_relay_server_start(&rt->srv, &rt->loop, &rt->cfg, err, sizeof err) < 0) {
        fprintf(stderr, "bench_relay: relay: %s\n", err);
        atomic_store(&rt->port, -1);
        uv_close((uv_handle_t *)&rt->stop, NULL);
        uv_run(&rt->loop, UV_RUN_DEFAULT);
        uv_loop_close(&rt->loop);
        return NULL;
    }
    atomic_store(&rt->port, hc_relay_server_port(rt->srv));
    uv_run(&rt->loop, UV_RUN_DEFAULT);
    uv_loop_close(&rt->loop);
    return NULL;
}

/* ---- the baseline forwarder in a thread ---- */

typedef struct {
    pthread_t th;
    int fd;
    uint16_t port;
    int n, loud;                  /* members; senders forwarded (all if 0) */
    struct sockaddr_in dest[MAXN];
    int16_t by_port[65536];       /* sender table: member number by source port (all on 127.0.0.1) */
    atomic_int stop;
    uint64_t sent, dropped;
} baseline;

static void baseline_flush(baseline *b, struct mmsghdr *om, int no) {
    for (int k = 0; k < no;) {
        int r = sendmmsg(b->fd, om + k, (unsigned)(no - k), MSG_DONTWAIT);
        if (r > 0) { b->sent += (uint64_t)r; k += r; continue; }
        if (r < 0 && errno == EINTR) continue;
        b->dropped += (uint64_t)(no - k);   /* full: drop, as the relay does */
        break;
    }
}

static void *baseline_main(void *arg) {
    baseline *b = arg;
    enum { RB = 64, OB = 4096 };
    static struct mmsghdr rm[RB], om[OB];
    static struct iovec riov[RB], oiov[OB];
    static struct sockaddr_in from[RB];
    static uint8_t buf[RB][2048];
    for (int i = 0; i < RB; i++) {
        riov[i].iov_base = buf[i];
        riov[i].iov_len = sizeof buf[i];
        rm[i].msg_hdr.msg_iov = &riov[i];
        rm[i].msg_hdr.msg_iovlen = 1;
        rm[i].msg_hdr.msg_name = &from[i];
    }
    while (!atomic_load_explicit(&b->stop, memory_order_relaxed)) {
        struct pollfd pf = {b->fd, POLLIN, 0};
        if (poll(&pf, 1, 50) <= 0) continue;
        for (int round = 0; round < 16; round++) {
            for (int i = 0; i < RB; i++) rm[i].msg_hdr.msg_namelen = sizeof from[i];
            int n = recvmmsg(b->fd, rm, RB, MSG_DONTWAIT, NULL);
            if (n <= 0) break;
            int no = 0;
            for (int i = 0; i < n; i++) {
                int s = b->by_port[ntohs(from[i].sin_port)];
                if (s < 0 || (b->loud && s >= b->loud)) continue;
                if (no + b->n > OB) {
                    baseline_flush(b, om, no);
                    no = 0;
                }
                for (int d = 0; d < b->n; d++) {
                    if (d == s) continue;
                    oiov[no].iov_base = buf[i];
                    oiov[no].iov_len = rm[i].msg_len;
                    om[no].msg_hdr.msg_name = &b->dest[d];
                    om[no].msg_hdr.msg_namelen = sizeof b->dest[d];
                    om[no].msg_hdr.msg_iov = &oiov[no];
                    om[no].msg_hdr.msg_iovlen = 1;
                    no++;
                }
            }
            baseline_flush(b, om, no);
            if (n < RB) break;
        }
    }
    return NULL;
}

/* ---- members ---- */

static int tcp_connect(uint16_t port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) die("connect");
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

/* Reads frames until JOINED; returns its body in m (static buffer). */
static int read_joined(int fd, hc_msg *m) {
    static uint8_t body[70000];
    for (;;) {
        uint8_t hdr[4];
        if (recv(fd, hdr, 4, MSG_WAITALL) != 4) return -1;
        uint32_t n = hc_get_u32(hdr);
        if (n > sizeof body || recv(fd, body, n, MSG_WAITALL) != (ssize_t)n) return -1;
        if (hc_msg_decode(m, body, n, NULL) < 0) return -1;
        if (m->type == HC_MSG_JOINED) return 0;
        if (m->type == HC_MSG_ERROR) return -1;
    }
}

static void make_packets(bmember *m, uint8_t level) {
    for (int k = 0; k < SEND_BATCH; k++) {
        uint8_t *p = m->pkt[k];
        p[0] = hc_media_byte0(HC_MEDIA_AUDIO);
        p[1] = level;
        size_t h = hc_sframe_header_encode(p + 2, hc_kid_make(HC_STREAM_AUDIO, m->index, 1), (uint64_t)k);
        memset(p + 2 + h, 0xA5, PKT_LEN - 2 - h);
    }
}

static void members_open(int n) {
    nmem = n;
    for (int i = 0; i < n; i++) {
        bmember *m = &mem[i];
        m->udp = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
        struct sockaddr_in sa = {.sin_family = AF_INET};
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (bind(m->udp, (struct sockaddr *)&sa, sizeof sa) < 0) die("bind");
        int big = 4 << 20;
        setsockopt(m->udp, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
        setsockopt(m->udp, SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
        socklen_t sl = sizeof m->addr;
        getsockname(m->udp, (struct sockaddr *)&m->addr, &sl);
        m->tcp = -1;
    }
}

static void members_close(void) {
    for (int i = 0; i < nmem; i++) {
        close(mem[i].udp);
        if (mem[i].tcp >= 0) close(mem[i].tcp);
    }
}

/* Joins everyone through the protocol and registers their UDP sockets. */
static int members_join(uint16_t port, int loud) {
    char mid[HC_MEETING_ID_MAX + 1] = "";
    for (int i = 0; i < nmem; i++) {
        bmember *m = &mem[i];
        m->tcp = tcp_connect(port);
        hc_msg q, r;
        hc_msg_init(&q, i ? HC_MSG_JOIN : HC_MSG_CREATE);
        memcpy(q.meeting_id, mid, sizeof mid);
        snprintf(q.name, sizeof q.name, "m%d", i);
        uint8_t f[256];
        size_t fl = hc_msg_encode(&q, f, sizeof f);
        if (send(m->tcp, f, fl, 0) != (ssize_t)fl || read_joined(m->tcp, &r) < 0) return -1;
        if (!i) memcpy(mid, r.meeting_id, sizeof mid);
        m->index = r.index;
        make_packets(m, loud == 0 || i < loud ? 10 : 100);
        uint8_t reg[17];
        hc_media_control(reg, HC_MEDIA_REGISTER, r.token);
        struct sockaddr_in ra = {.sin_family = AF_INET, .sin_port = htons(port)};
        ra.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        int ok = 0;
        for (int t = 0; t < 25 && !ok; t++) {
            sendto(m->udp, reg, sizeof reg, 0, (struct sockaddr *)&ra, sizeof ra);
            struct pollfd pf = {m->udp, POLLIN, 0};
            if (poll(&pf, 1, 200) > 0) {
                uint8_t b[64];
                ok = recv(m->udp, b, sizeof b, 0) == 17 && b[0] == hc_media_byte0(HC_MEDIA_REGISTERED);
            }
        }
        if (!ok) return -1;
    }
    return 0;
}

/* One batch of a member's packets to the relay; returns how many went. */
static int send_batch(bmember *m, const struct sockaddr_in *to) {
    static struct mmsghdr sm[SEND_BATCH];
    static struct iovec siov[SEND_BATCH];
    for (int k = 0; k < SEND_BATCH; k++) {
        siov[k].iov_base = m->pkt[k];
        siov[k].iov_len = PKT_LEN;
        sm[k].msg_hdr.msg_iov = &siov[k];
        sm[k].msg_hdr.msg_iovlen = 1;
        sm[k].msg_hdr.msg_name = (void *)to;
        sm[k].msg_hdr.msg_namelen = sizeof *to;
    }
    return sendmmsg(m->udp, sm, SEND_BATCH, MSG_DONTWAIT);
}

/* Sends as fast as possible for ms, draining every member; returns packets received. */
static uint64_t drive(uint16_t port, uint64_t ms) {
    static struct mmsghdr rm[64];
    static struct iovec riov[64];
    static uint8_t rbuf[64][2048];
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(port)};
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (int i = 0; i < 64; i++) {
        riov[i].iov_base = rbuf[i];
        riov[i].iov_len = sizeof rbuf[i];
        rm[i].msg_hdr.msg_iov = &riov[i];
        rm[i].msg_hdr.msg_iovlen = 1;
    }
    uint64_t end = now_ns(CLOCK_MONOTONIC) + ms * 1000000ull, got = 0;
    while (now_ns(CLOCK_MONOTONIC) < end) {
        for (int i = 0; i < nmem; i++) send_batch(&mem[i], &to);
        for (int i = 0; i < nmem; i++) {
            for (;;) {
                int n = recvmmsg(mem[i].udp, rm, 64, MSG_DONTWAIT, NULL);
                if (n <= 0) break;
                got += (uint64_t)n;
                if (n < 64) break;
            }
        }
    }
    return got;
}

typedef struct {
    double pps, cpu_s, us_per_pkt, per_core;
    uint64_t delivered;
} result;

static result measure(uint16_t port, pthread_t th) {
    clockid_t cpu;
    pthread_getcpuclockid(th, &cpu);
    drive(port, WARMUP_MS);
    uint64_t c0 = now_ns(cpu), t0 = now_ns(CLOCK_MONOTONIC);
    uint64_t got = drive(port, MEASURE_MS);
    uint64_t c1 = now_ns(cpu), t1 = now_ns(CLOCK_MONOTONIC);
    result r;
    r.delivered = got;
    r.pps = (double)got / ((double)(t1 - t0) / 1e9);
    r.cpu_s = (double)(c1 - c0) / 1e9;
    r.us_per_pkt = got ? r.cpu_s * 1e6 / (double)got : 0;
    r.per_core = r.cpu_s > 0 ? (double)got / r.cpu_s : 0;
    return r;
}

static void print_row(const char *scen, const char *who, const result *r) {
    printf("%-26s %-9s %12.0f %9.2f s %11.3f %14.0f\n", scen, who, r->pps, r->cpu_s, r->us_per_pkt, r->per_core);
}

static int scenario(const char *name, int n, int loud) {
    members_open(n);
    relay_thread rt;
    memset(&rt, 0, sizeof rt);
    hc_relay_server_config_defaults(&rt.cfg);
    rt.cfg.core.max_conns_per_addr = 1000;
    rt.cfg.core.max_members = 1000;
    rt.cfg.core.forward_loudest = (uint32_t)loud;
    rt.cfg.core.idle_timeout_ms = 0;
    /* every member connects from 127.0.0.1 at once: no per-address JOIN limits here */
    rt.cfg.core.max_unjoined_per_addr = 1000;
    rt.cfg.core.join_rate_addr = rt.cfg.core.join_rate_meeting = 0;
    rt.cfg.udp_rcvbuf = rt.cfg.udp_sndbuf = 8 << 20;
    atomic_store(&rt.port, 0);
    pthread_create(&rt.th, NULL, relay_main, &rt);
    while (atomic_load(&rt.port) == 0) usleep(1000);
    if (atomic_load(&rt.port) < 0) return -1;
    uint16_t port = (uint16_t)atomic_load(&rt.port);
    if (members_join(port, loud) < 0) {
        fprintf(stderr, "bench_relay: members could not join\n");
        return -1;
    }
    result rr = measure(port, rt.th);
    uv_async_send(&rt.stop);
    pthread_join(rt.th, NULL);
    for (int i = 0; i < nmem; i++) {
        close(mem[i].tcp);
        mem[i].tcp = -1;
    }

    static baseline b;
    memset(&b, 0, sizeof b);
    b.n = n;
    b.loud = loud;
    memset(b.by_port, 0xFF, sizeof b.by_port);
    for (int i = 0; i < n; i++) {
        b.dest[i] = mem[i].addr;
        b.by_port[ntohs(mem[i].addr.sin_port)] = (int16_t)i;
    }
    b.fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(b.fd, (struct sockaddr *)&sa, sizeof sa);
    int big = 8 << 20;
    setsockopt(b.fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
    setsockopt(b.fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
    socklen_t sl = sizeof sa;
    getsockname(b.fd, (struct sockaddr *)&sa, &sl);
    pthread_create(&b.th, NULL, baseline_main, &b);
    result rb = measure(ntohs(sa.sin_port), b.th);
    atomic_store(&b.stop, 1);
    pthread_join(b.th, NULL);
    close(b.fd);
    members_close();

    print_row(name, "hushcall", &rr);
    print_row(name, "baseline", &rb);
    double ratio = rb.per_core > 0 ? rr.per_core / rb.per_core : 0;
    printf("  -> relay/baseline per core: %.2f (target >= 0.5); relay forwarded per core-second: %.0f "
           "(target >= 400000); wall-clock ratio %.2f\n\n",
           ratio, rr.per_core, rb.pps > 0 ? rr.pps / rb.pps : 0);
    return 0;
}

/* The external mode: members join a relay process, talkers send at pps, nobody reads. */
static int blast(uint16_t port, int talkers, int listeners, double seconds, double pps) {
    if (talkers < 1 || listeners < 0 || talkers + listeners > MAXN || seconds <= 0) return 2;
    members_open(talkers + listeners);
    if (members_join(port, 0) < 0) {
        fprintf(stderr, "bench_relay: members could not join the relay on port %u\n", port);
        return 1;
    }
    printf("{\"event\":\"joined\",\"members\":%d}\n", nmem);
    fflush(stdout);
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(port)};
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    uint64_t t0 = now_ns(CLOCK_MONOTONIC), end = t0 + (uint64_t)(seconds * 1e9), sent = 0;
    for (int i = 0; now_ns(CLOCK_MONOTONIC) < end; i = (i + 1) % talkers) {
        /* as many as are due by now, one datagram at a time, round the talkers */
        uint64_t due = (uint64_t)((double)(now_ns(CLOCK_MONOTONIC) - t0) / 1e9 * pps);
        if (sent >= due) {
            struct timespec ts = {0, 1000000};
            nanosleep(&ts, NULL);
            continue;
        }
        bmember *m = &mem[i];
        if (sendto(m->udp, m->pkt[sent % SEND_BATCH], PKT_LEN, MSG_DONTWAIT, (struct sockaddr *)&to, sizeof to) > 0)
            sent++;
    }
    printf("{\"event\":\"done\",\"sent\":%llu}\n", (unsigned long long)sent);
    members_close();
    return 0;
}

int main(int argc, char **argv) {
    if (sodium_init() < 0) return 1;
    signal(SIGPIPE, SIG_IGN);
    if (argc > 1) {
        int port = 0, talkers = 4, listeners = 200;
        double seconds = 5, pps = 4000;
        for (int i = 1; i + 1 < argc; i += 2) {
            if (!strcmp(argv[i], "--relay")) port = atoi(argv[i + 1]);
            else if (!strcmp(argv[i], "--talkers")) talkers = atoi(argv[i + 1]);
            else if (!strcmp(argv[i], "--listeners")) listeners = atoi(argv[i + 1]);
            else if (!strcmp(argv[i], "--seconds")) seconds = atof(argv[i + 1]);
            else if (!strcmp(argv[i], "--pps")) pps = atof(argv[i + 1]);
        }
        if (port <= 0 || port > 65535) {
            fprintf(stderr, "usage: bench_relay [--relay PORT --talkers T --listeners L --seconds S --pps N]\n");
            return 2;
        }
        return blast((uint16_t)port, talkers, listeners, seconds, pps > 0 ? pps : 4000);
    }
    printf("relay forwarding on loopback: %d-byte datagrams, %d ms warm-up + %d ms measured per run; relay and\n"
           "baseline each in one thread, the load generator in another; 'delivered' counts datagrams the members\n"
           "received, CPU is the forwarding thread's own clock.\n\n",
           PKT_LEN, WARMUP_MS, MEASURE_MS);
    printf("%-26s %-9s %12s %11s %11s %14s\n", "scenario", "forwarder", "delivered/s", "fwd CPU", "CPU us/pkt",
           "pkts/core-s");
    int rc = 0;
    rc |= scenario("N=10, all talking", 10, 0);
    rc |= scenario("N=100, forward-loudest 3", 100, 3);
    return rc ? 1 : 0;
}
