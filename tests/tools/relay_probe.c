/* relay_probe: speaks the relay's wire protocol over real sockets to test a running relay
 * (`hushcall relay`). Members are plain TCP + UDP sockets; every media datagram carries its
 * sender's index in the SFrame KID and a marker (meeting, member) in its payload, so receivers
 * can tell exactly where each packet came from.
 *
 *   relay_probe soak       --port P   two meetings stream media while 1 MiB of random bytes hits
 *                                      TCP and 10,000 random datagrams hit UDP; delivery must go on
 *   relay_probe malformed  --port P   malformed frames over real sockets: ERROR, close, meeting lives
 *   relay_probe limits     --port P   per-address limit (relay: --max-conns-per-addr 4), meetings
 *                                      (--max-meetings 2), members (--max-members 3), idle timeout
 *                                      (--idle-timeout 1), backlog (--send-queue 65536)
 *
 * Prints PASS:/FAIL: lines and exits 1 if anything failed. Only talks to 127.0.0.1; every loop is
 * bounded in time and count. Every deadline (how long to wait at most for an answer) is stretched
 * by HC_SLOW, the machine's measured slowness (tests/slowness.py), so a busy machine waits longer
 * instead of failing; what is checked does not change. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
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
#include "net/wire.h"

static int failures;
static uint16_t port;

#define CHECK(cond, name, ...)                                              \
    do {                                                                    \
        if (cond) printf("PASS: %s\n", name);                               \
        else { printf("FAIL: %s: ", name); printf(__VA_ARGS__); printf("\n"); failures++; } \
        fflush(stdout);                                                     \
    } while (0)

static uint64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static double slowness = 1.0;   /* HC_SLOW */
/* The time by which something that takes ms on an idle machine must have happened. */
static uint64_t deadline(int ms) { return now_ms() + (uint64_t)(ms * slowness); }

static uint64_t rng = 0x9E3779B97F4A7C15ULL;
static uint64_t rnd(void) {
    uint64_t z = (rng += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static void relay_addr(struct sockaddr_in *sa) {
    memset(sa, 0, sizeof *sa);
    sa->sin_family = AF_INET;
    sa->sin_port = htons(port);
    sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
}

/* ---- control connections ---- */

typedef struct {
    int fd;
    uint8_t buf[140000];
    size_t len;
    uint8_t body[70000];
    int eof;
} conn;

static int conn_open(conn *c) {
    memset(c, 0, sizeof *c);
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa;
    relay_addr(&sa);
    if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        close(c->fd);
        c->fd = -1;
        return -1;
    }
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fcntl(c->fd, F_SETFL, O_NONBLOCK);
    return 0;
}

static void conn_close(conn *c) {
    if (c->fd >= 0) close(c->fd);
    c->fd = -1;
}

static int send_all(int fd, const uint8_t *p, size_t n, int timeout_ms) {
    uint64_t end = deadline(timeout_ms);
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w > 0) { p += w; n -= (size_t)w; continue; }
        if (w < 0 && errno != EAGAIN && errno != EINTR) return -1;
        if (now_ms() > end) return -1;
        struct pollfd pf = {fd, POLLOUT, 0};
        poll(&pf, 1, 10);
    }
    return 0;
}

static int conn_send(conn *c, const hc_msg *m) {
    uint8_t f[2048];
    size_t n = hc_msg_encode(m, f, sizeof f);
    if (!n) return -1;
    return send_all(c->fd, f, n, 2000);
}

/* Reads what is there without waiting. */
static void conn_pump(conn *c) {
    for (;;) {
        if (c->len == sizeof c->buf) return;
        ssize_t r = recv(c->fd, c->buf + c->len, sizeof c->buf - c->len, MSG_DONTWAIT);
        if (r > 0) { c->len += (size_t)r; continue; }
        if (r == 0) c->eof = 1;
        if (r < 0 && errno != EAGAIN && errno != EINTR) c->eof = 1;
        return;
    }
}

static int conn_send(conn *c, const hc_msg *m);

/* Next frame by the time end_ms: 1 with m decoded, 0 on timeout, -1 on EOF. The relay's PINGs
 * (its probe of a leader that sends no heartbeats, as none of ours do) are answered here, as a
 * live client does, and not returned. */
static int conn_next_by(conn *c, hc_msg *m, uint64_t end) {
    for (;;) {
        if (c->len >= 4) {
            uint32_t fl = hc_get_u32(c->buf);
            if (fl > sizeof c->body) return -1;
            if (c->len - 4 >= fl) {
                memcpy(c->body, c->buf + 4, fl);
                memmove(c->buf, c->buf + 4 + fl, c->len - 4 - fl);
                c->len -= 4 + fl;
                if (hc_msg_decode(m, c->body, fl, NULL) < 0) return -1;
                if (m->type == HC_MSG_PING) {
                    hc_msg p;
                    hc_msg_init(&p, HC_MSG_PONG);
                    p.opaque = m->opaque;
                    conn_send(c, &p);
                    continue;
                }
                return 1;
            }
        }
        if (c->eof) return -1;
        uint64_t t = now_ms();
        if (t >= end) return 0;
        struct pollfd pf = {c->fd, POLLIN, 0};
        poll(&pf, 1, (int)(end - t));
        conn_pump(c);
    }
}

/* Next frame within timeout (stretched): 1 with m decoded, 0 on timeout, -1 on EOF. */
static int conn_next(conn *c, hc_msg *m, int timeout_ms) { return conn_next_by(c, m, deadline(timeout_ms)); }

/* Skips frames until one of a type (1), timeout (0) or EOF (-1). */
static int conn_expect(conn *c, uint8_t type, hc_msg *m, int timeout_ms) {
    uint64_t end = deadline(timeout_ms);
    for (;;) {
        int rc = conn_next_by(c, m, end);
        if (rc <= 0) return rc;
        if (m->type == type) return 1;
    }
}

/* After an ERROR the relay closes: wait for EOF. */
static int conn_wait_eof(conn *c, int timeout_ms) {
    hc_msg m;
    uint64_t end = deadline(timeout_ms);
    while (now_ms() < end) {
        int rc = conn_next_by(c, &m, now_ms() + 50);
        if (rc < 0) return 1;
    }
    return 0;
}

/* ---- members ---- */

typedef struct {
    conn c;
    int udp;
    uint32_t index;
    uint8_t token[16];
    char mid[HC_MEETING_ID_MAX + 1];
    int meeting, num;              /* marker */
    uint64_t ctr, sent;
    uint64_t rx[2][8];             /* rx[meeting][member num] */
    uint64_t rx_self, rx_bad;
} member;

/* A close this probe made a moment ago may not have reached the relay yet, so a new connection can
 * be refused by the per-address limit although a slot is free: member_join, conn_open_kept and
 * join_error retry such a refusal for a bounded time instead of reporting a race as a defect. */
static int is_refusal(uint16_t code) { return code == HC_ERR_TOO_MANY_CONNECTIONS; }

static int member_join(member *m, const char *mid, const char *name, int meeting, int num) {
    memset(m, 0, sizeof *m);
    m->meeting = meeting;
    m->num = num;
    m->udp = -1;
    hc_msg q, r;
    hc_msg_init(&q, mid ? HC_MSG_JOIN : HC_MSG_CREATE);
    if (mid) memcpy(q.meeting_id, mid, strlen(mid) + 1);
    snprintf(q.name, sizeof q.name, "%s", name);
    for (uint64_t end = deadline(3000);;) {      /* a refusal caused by our own close racing: again */
        if (conn_open(&m->c) < 0 || conn_send(&m->c, &q) < 0) return -1;
        if (conn_next(&m->c, &r, 2000) != 1) return -1;
        if (r.type == HC_MSG_JOINED) break;
        conn_close(&m->c);
        if (r.type != HC_MSG_ERROR || !is_refusal(r.code) || now_ms() >= end) return -1;
        usleep(50000);
    }
    m->index = r.index;
    memcpy(m->token, r.token, 16);
    memcpy(m->mid, r.meeting_id, sizeof m->mid);
    m->udp = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(m->udp, (struct sockaddr *)&sa, sizeof sa);
    int big = 1 << 20;
    setsockopt(m->udp, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
    /* REGISTER every 200 ms until REGISTERED */
    relay_addr(&sa);
    uint8_t reg[17];
    hc_media_control(reg, HC_MEDIA_REGISTER, m->token);
    for (uint64_t end = deadline(3000); now_ms() < end;) {
        sendto(m->udp, reg, sizeof reg, 0, (struct sockaddr *)&sa, sizeof sa);
        struct pollfd pf = {m->udp, POLLIN, 0};
        if (poll(&pf, 1, 200) > 0) {
            uint8_t b[64];
            ssize_t n = recv(m->udp, b, sizeof b, 0);
            hc_media_info mi;
            if (n == 17 && hc_media_parse(&mi, b, 17) == 0 && mi.type == HC_MEDIA_REGISTERED &&
                !memcmp(mi.token, m->token, 16))
                return 0;
        }
    }
    return -1;
}

static void member_free(member *m) {
    conn_close(&m->c);
    if (m->udp >= 0) close(m->udp);
    m->udp = -1;
}

static void member_send_media(member *m) {
    uint8_t p[128];
    p[0] = hc_media_byte0(HC_MEDIA_AUDIO);
    p[1] = 0x90;
    size_t h = hc_sframe_header_encode(p + 2, hc_kid_make(HC_STREAM_AUDIO, m->index, 1), m->ctr++);
    uint8_t *pl = p + 2 + h;
    pl[0] = 0xC0;
    pl[1] = (uint8_t)m->meeting;
    pl[2] = (uint8_t)m->num;
    memset(pl + 3, 0x5A, 37);
    struct sockaddr_in sa;
    relay_addr(&sa);
    if (sendto(m->udp, p, 2 + h + 40, 0, (struct sockaddr *)&sa, sizeof sa) > 0) m->sent++;
}

static void member_drain(member *m) {
    uint8_t b[2048];
    for (;;) {
        ssize_t n = recv(m->udp, b, sizeof b, MSG_DONTWAIT);
        if (n <= 0) break;
        hc_media_info mi;
        if (hc_media_parse(&mi, b, (size_t)n) < 0 || mi.type != HC_MEDIA_AUDIO) { m->rx_bad++; continue; }
        int h = hc_sframe_header_decode(b + 2, (size_t)n - 2, &mi.kid, &mi.ctr);
        const uint8_t *pl = b + 2 + h;
        if ((size_t)n < (size_t)(2 + h + 3) || pl[0] != 0xC0 || pl[1] > 1 || pl[2] > 7) { m->rx_bad++; continue; }
        if (pl[1] == m->meeting && pl[2] == m->num) m->rx_self++;
        m->rx[pl[1]][pl[2]]++;
    }
    /* Control frames are not needed here (reading them keeps the buffer from filling), but the
     * relay's PINGs get their PONG. */
    hc_msg f;
    conn_pump(&m->c);
    while (conn_next_by(&m->c, &f, 0) == 1) {
    }
}

static int member_ping(member *m) {
    hc_msg q, r;
    hc_msg_init(&q, HC_MSG_PING);
    q.opaque = 0xABCDEF;
    if (conn_send(&m->c, &q) < 0) return 0;
    return conn_expect(&m->c, HC_MSG_PONG, &r, 2000) == 1 && r.opaque == 0xABCDEF;
}

/* ---- soak: media during garbage ---- */

#define M1 3   /* members in meeting 0 */
#define M2 2   /* members in meeting 1 */

static member mem[M1 + M2];

static void stream(int ms, void (*extra)(void *), void *arg) {
    uint64_t end = now_ms() + (uint64_t)ms;
    while (now_ms() < end) {
        for (int i = 0; i < M1 + M2; i++) member_send_media(&mem[i]);
        if (extra) extra(arg);
        struct timespec ts = {0, 5 * 1000000};
        nanosleep(&ts, NULL);
        for (int i = 0; i < M1 + M2; i++) member_drain(&mem[i]);
    }
}

/* After a phase of streaming: what is still on its way arrives (until nothing new has come for
 * 100 ms, stretched), so the counts compare what was sent with what was delivered, not with what
 * a slow relay had forwarded by the last drain. */
static uint64_t all_rx(void) {
    uint64_t n = 0;
    for (int i = 0; i < M1 + M2; i++)
        for (int m = 0; m < 2; m++)
            for (int s = 0; s < 8; s++) n += mem[i].rx[m][s];
    return n;
}

static void settle(void) {
    uint64_t end = deadline(3000), quiet_since = now_ms(), last = all_rx();
    while (now_ms() < end && now_ms() - quiet_since < (uint64_t)(100 * slowness)) {
        struct timespec ts = {0, 5 * 1000000};
        nanosleep(&ts, NULL);
        for (int i = 0; i < M1 + M2; i++) member_drain(&mem[i]);
        uint64_t n = all_rx();
        if (n != last) last = n, quiet_since = now_ms();
    }
}

static uint64_t total_rx(int meeting) {
    uint64_t n = 0;
    for (int i = 0; i < M1 + M2; i++)
        if (mem[i].meeting == meeting)
            for (int s = 0; s < 8; s++) n += mem[i].rx[meeting][s];
    return n;
}

static uint64_t total_sent(int meeting) {
    uint64_t n = 0;
    for (int i = 0; i < M1 + M2; i++)
        if (mem[i].meeting == meeting) n += mem[i].sent;
    return n;
}

typedef struct {
    size_t tcp_target, tcp_done;
    int udp_target, udp_done;
    conn g[8];
    int gudp;
    int conns_opened;
} garbage;

static void garbage_step(void *arg) {
    garbage *g = arg;
    struct sockaddr_in sa;
    relay_addr(&sa);
    /* UDP: 100 datagrams per step, of several kinds */
    for (int k = 0; k < 100 && g->udp_done < g->udp_target; k++, g->udp_done++) {
        uint8_t d[2000];
        size_t len = rnd() % 1500;
        for (size_t i = 0; i < len; i++) d[i] = (uint8_t)rnd();
        switch (g->udp_done % 5) {
        case 1: if (len) d[0] = hc_media_byte0(HC_MEDIA_AUDIO); break;
        case 2: d[0] = hc_media_byte0((uint8_t)(HC_MEDIA_REGISTER + rnd() % 3)); len = 17; break;
        case 3: {   /* a well-formed frame claiming a real member's index, from a stranger */
            d[0] = hc_media_byte0(HC_MEDIA_AUDIO);
            d[1] = 0;
            size_t h = hc_sframe_header_encode(d + 2, hc_kid_make(1, 1 + (uint32_t)(rnd() % 3), 1), rnd() % 1000);
            len = 2 + h + 20 + rnd() % 100;
            break;
        }
        case 4: if (g->udp_done % 50 == 4) len = 1500 + rnd() % 400; break;   /* oversized */
        }
        sendto(g->gudp, d, len, 0, (struct sockaddr *)&sa, sizeof sa);
    }
    /* TCP: 16 KiB per step over 8 connections; reopened as the relay closes them */
    for (int k = 0; k < 8 && g->tcp_done < g->tcp_target; k++) {
        conn *c = &g->g[k];
        conn_pump(c);
        c->len = 0;
        if (c->fd < 0 || c->eof) {
            conn_close(c);
            if (conn_open(c) < 0) continue;
            g->conns_opened++;
        }
        uint8_t d[2048];
        size_t len = 2048;
        for (size_t i = 0; i < len; i++) d[i] = (uint8_t)rnd();
        if (k % 2) {
            /* plausible frames: small length prefix, version 1, any type, random body */
            size_t off = 0;
            while (off + 8 < len) {
                size_t bl = 2 + rnd() % 200;
                if (off + 4 + bl > len) bl = len - off - 4;
                hc_put_u32(d + off, (uint32_t)bl);
                d[off + 4] = 1;
                d[off + 5] = (uint8_t)(1 + rnd() % 22);
                off += 4 + bl;
            }
        }
        ssize_t w = send(c->fd, d, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w > 0) g->tcp_done += (size_t)w;
        else if (w < 0 && errno != EAGAIN) c->eof = 1;
    }
}

static void snap(uint64_t out[M1 + M2][2][8]) {
    for (int i = 0; i < M1 + M2; i++) memcpy(out[i], mem[i].rx, sizeof mem[i].rx);
}

static int cmd_soak(void) {
    char mid0[HC_MEETING_ID_MAX + 1], mid1[HC_MEETING_ID_MAX + 1];
    int ok = 1;
    for (int i = 0; i < M1 + M2 && ok; i++) {
        int meeting = i < M1 ? 0 : 1, num = i < M1 ? i : i - M1;
        const char *mid = num == 0 ? NULL : meeting == 0 ? mid0 : mid1;
        char name[16];
        snprintf(name, sizeof name, "m%d-%d", meeting, num);
        ok = member_join(&mem[i], mid, name, meeting, num) == 0;
        if (ok && num == 0) memcpy(meeting == 0 ? mid0 : mid1, mem[i].mid, sizeof mid0);
    }
    CHECK(ok, "soak: two meetings joined and UDP registered", "join or registration failed");
    if (!ok) return 1;
    /* phase 1: media only */
    stream(1000, NULL, NULL);
    settle();
    uint64_t rx0 = total_rx(0), tx0 = total_sent(0);
    uint64_t exp0 = tx0 * (M1 - 1);
    CHECK(exp0 > 0 && rx0 >= exp0 * 9 / 10, "soak: media delivered before the garbage", "%llu of %llu",
          (unsigned long long)rx0, (unsigned long long)exp0);
    uint64_t before[M1 + M2][2][8];
    snap(before);
    uint64_t sent_before[M1 + M2];
    for (int i = 0; i < M1 + M2; i++) sent_before[i] = mem[i].sent;
    /* phase 2: garbage while streaming */
    garbage g;
    memset(&g, 0, sizeof g);
    g.tcp_target = 1u << 20;
    g.udp_target = 10000;
    for (int k = 0; k < 8; k++) g.g[k].fd = -1;
    g.gudp = socket(AF_INET, SOCK_DGRAM, 0);
    uint64_t end = deadline(20000);
    while ((g.tcp_done < g.tcp_target || g.udp_done < g.udp_target) && now_ms() < end) stream(100, garbage_step, &g);
    for (int k = 0; k < 8; k++) conn_close(&g.g[k]);
    close(g.gudp);
    settle();
    printf("# garbage: %zu TCP bytes over %d connections, %d UDP datagrams\n", g.tcp_done, g.conns_opened, g.udp_done);
    CHECK(g.tcp_done >= g.tcp_target && g.udp_done >= g.udp_target, "soak: 1 MiB of TCP garbage and 10,000 UDP datagrams sent",
          "only %zu bytes and %d datagrams", g.tcp_done, g.udp_done);
    uint64_t during = total_rx(0) - rx0, dsent = total_sent(0) - tx0;
    CHECK(dsent > 0 && during >= dsent * (M1 - 1) * 8 / 10, "soak: media kept flowing during the garbage", "%llu of %llu",
          (unsigned long long)during, (unsigned long long)(dsent * (M1 - 1)));
    /* phase 3: after */
    uint64_t rx1 = total_rx(0), tx1 = total_sent(0), rx1b = total_rx(1), tx1b = total_sent(1);
    stream(1000, NULL, NULL);
    settle();
    uint64_t after = total_rx(0) - rx1, asent = (total_sent(0) - tx1) * (M1 - 1);
    uint64_t after_b = total_rx(1) - rx1b, asent_b = (total_sent(1) - tx1b) * (M2 - 1);
    printf("# delivered: before %llu/%llu, during %llu/%llu, after %llu/%llu (meeting 2 after: %llu/%llu)\n",
           (unsigned long long)rx0, (unsigned long long)exp0, (unsigned long long)during,
           (unsigned long long)(dsent * (M1 - 1)), (unsigned long long)after, (unsigned long long)asent,
           (unsigned long long)after_b, (unsigned long long)asent_b);
    CHECK(asent > 0 && asent_b > 0 && after >= asent * 9 / 10 && after_b >= asent_b * 9 / 10,
          "soak: media delivered after the garbage",
          "%llu of %llu", (unsigned long long)after, (unsigned long long)asent);
    /* isolation: nobody got its own packets back, nor any of the other meeting's */
    uint64_t self = 0, cross = 0, bad = 0;
    for (int i = 0; i < M1 + M2; i++) {
        self += mem[i].rx_self;
        bad += mem[i].rx_bad;
        for (int s = 0; s < 8; s++) cross += mem[i].rx[1 - mem[i].meeting][s];
    }
    CHECK(self == 0, "soak: media never goes back to its sender", "%llu own packets came back", (unsigned long long)self);
    CHECK(cross == 0, "soak: media never crosses to another meeting", "%llu crossed", (unsigned long long)cross);
    CHECK(bad == 0, "soak: no garbage datagram was forwarded to a member", "%llu unexpected datagrams", (unsigned long long)bad);
    /* every sender reached every other member of its meeting during every phase */
    int each = 1;
    for (int i = 0; i < M1 + M2; i++)
        for (int j = 0; j < M1 + M2; j++)
            if (i != j && mem[i].meeting == mem[j].meeting &&
                mem[i].rx[mem[j].meeting][mem[j].num] <= before[i][mem[j].meeting][mem[j].num] + (mem[j].sent - sent_before[j]) / 2)
                each = 0;
    CHECK(each, "soak: every member hears every other member of its meeting", "a pair went quiet");
    int alive = 1;
    for (int i = 0; i < M1 + M2; i++) alive &= member_ping(&mem[i]);
    CHECK(alive, "soak: control connections of the meetings still answer", "a PING got no PONG");
    for (int i = 0; i < M1 + M2; i++) member_free(&mem[i]);
    return failures ? 1 : 0;
}

/* ---- malformed frames over real sockets ---- */

static int cmd_malformed(void) {
    member a, b;
    int ok = member_join(&a, NULL, "alice", 0, 0) == 0 && member_join(&b, a.mid, "bob", 0, 1) == 0;
    CHECK(ok, "malformed: live meeting set up", "join failed");
    if (!ok) return 1;
    static const struct { const char *name; const char *hex; uint16_t code; } cases[] = {
        {"bad version", "00000004 02110000", HC_ERR_BAD_VERSION},
        {"unknown type", "00000002 0163", HC_ERR_UNKNOWN_TYPE},
        {"oversized length prefix", "7fffffff 0101", HC_ERR_TOO_LARGE},
        {"truncated CREATE", "00000005 0101000a61", HC_ERR_MALFORMED},
        {"non-digit meeting id", "00000011 0102000431326134000361626300000000 00", HC_ERR_MALFORMED},
        {"invalid UTF-8 name", "0000000a 01010002c32800000000", HC_ERR_MALFORMED},
        {"trailing bytes", "0000000b 01110000000000000000ff", HC_ERR_MALFORMED},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t f[64];
        size_t n = 0;
        for (const char *p = cases[i].hex; *p;) {
            if (*p == ' ') { p++; continue; }
            unsigned v;
            sscanf(p, "%2x", &v);
            f[n++] = (uint8_t)v;
            p += 2;
        }
        conn c;
        char name[128];
        snprintf(name, sizeof name, "malformed over TCP: %s -> ERROR %s and close", cases[i].name,
                 hc_err_code_name(cases[i].code));
        if (conn_open(&c) < 0) { CHECK(0, name, "connect failed"); continue; }
        send_all(c.fd, f, n, 1000);
        hc_msg m;
        int got = conn_expect(&c, HC_MSG_ERROR, &m, 2000);
        int closed = got == 1 && conn_wait_eof(&c, 2000);
        CHECK(got == 1 && m.code == cases[i].code && closed, name, "got=%d code=%u closed=%d", got,
              got == 1 ? m.code : 0, closed);
        conn_close(&c);
    }
    /* the meeting is untouched */
    for (int i = 0; i < 20; i++) {
        member_send_media(&a);
        member_send_media(&b);
        usleep(5000);
        member_drain(&a);
        member_drain(&b);
    }
    for (uint64_t end = deadline(2000); now_ms() < end && (a.rx[0][1] < 20 || b.rx[0][0] < 20);) {
        usleep(5000);
        member_drain(&a);
        member_drain(&b);
    }
    CHECK(a.rx[0][1] >= 18 && b.rx[0][0] >= 18 && member_ping(&a) && member_ping(&b),
          "malformed: the live meeting on the same relay keeps working", "a got %llu, b got %llu",
          (unsigned long long)a.rx[0][1], (unsigned long long)b.rx[0][0]);
    member_free(&a);
    member_free(&b);
    return failures ? 1 : 0;
}

/* ---- limits ---- */

/* Opens a connection the relay keeps (nothing said within 100 ms, not stretched: the relay's idle
 * timeout is not either); *opened_ms: when it was opened. */
static int conn_open_kept(conn *c, uint64_t *opened_ms) {
    uint64_t end = deadline(3000);
    for (;;) {
        *opened_ms = now_ms();
        if (conn_open(c) < 0) return -1;
        hc_msg m;
        int rc = conn_next_by(c, &m, now_ms() + 100);
        if (rc == 0) return 0;
        conn_close(c);
        if (rc != 1 || m.type != HC_MSG_ERROR || !is_refusal(m.code) || now_ms() >= end) return -1;
        usleep(50000);
    }
}

static int join_error_once(const char *mid, uint16_t *code) {
    conn *c = malloc(sizeof *c);
    int rc = -1;
    if (conn_open(c) == 0) {
        hc_msg q, r;
        hc_msg_init(&q, mid ? HC_MSG_JOIN : HC_MSG_CREATE);
        if (mid) memcpy(q.meeting_id, mid, strlen(mid) + 1);
        snprintf(q.name, sizeof q.name, "late");
        conn_send(c, &q);
        if (conn_next(c, &r, 2000) == 1) {
            rc = r.type == HC_MSG_ERROR ? 0 : 1;
            *code = r.code;
        }
        conn_close(c);
    }
    free(c);
    return rc;
}

/* JOIN (or CREATE without mid) that must fail: 0 with the relay's error code, 1 if it was
 * accepted, -1 without an answer. */
static int join_error(const char *mid, uint16_t *code) {
    uint64_t end = deadline(3000);
    for (;;) {
        int rc = join_error_once(mid, code);
        if (rc != 0 || !is_refusal(*code) || now_ms() >= end) return rc;
        usleep(50000);
    }
}

static int cmd_limits(void) {
    /* relay expected: --max-conns-per-addr 4 --max-meetings 2 --max-members 3 --idle-timeout 1
     *                 --join-timeout 1 --send-queue 65536 */
    member *ms = calloc(4, sizeof *ms);
    int ok = member_join(&ms[0], NULL, "a", 0, 0) == 0 && member_join(&ms[1], ms[0].mid, "b", 0, 1) == 0 &&
             member_join(&ms[2], ms[0].mid, "c", 0, 2) == 0;
    CHECK(ok, "limits: a meeting of three", "join failed");
    if (!ok) return 1;
    uint16_t code = 0;
    /* 4th connection from this address: too many members in the meeting */
    int rc = join_error(ms[0].mid, &code);
    CHECK(rc == 0 && code == HC_ERR_MEETING_FULL, "limits: --max-members gives ERROR meeting_full", "rc %d code %u", rc, code);
    usleep(100000);
    /* per address: four are in meetings (3 members + one that makes a meeting); a fifth may
     * connect, but its CREATE is refused */
    conn *extra = malloc(sizeof *extra), *fifth = malloc(sizeof *fifth);
    conn_open(extra);
    conn_open(fifth);
    hc_msg m, q;
    hc_msg_init(&q, HC_MSG_CREATE);
    snprintf(q.name, sizeof q.name, "extra");
    conn_send(extra, &q);
    rc = conn_expect(extra, HC_MSG_JOINED, &m, 2000);
    CHECK(rc == 1, "limits: a fourth connection from the address makes a meeting", "rc %d", rc);
    conn_send(fifth, &q);
    rc = conn_next(fifth, &m, 2000);
    int closed = rc == 1 && conn_wait_eof(fifth, 2000);
    CHECK(rc == 1 && m.type == HC_MSG_ERROR && m.code == HC_ERR_TOO_MANY_CONNECTIONS && closed,
          "limits: per-address connection limit gives ERROR too_many_connections and closes", "rc %d type %u code %u", rc,
          rc == 1 ? m.type : 0, rc == 1 ? m.code : 0);
    conn_close(fifth);
    conn_close(extra);
    free(fifth);
    free(extra);
    usleep(100000);
    /* meetings: one exists; a second can be created, a third cannot */
    member_free(&ms[2]);
    usleep(100000);
    ok = member_join(&ms[3], NULL, "d", 1, 0) == 0;
    rc = join_error(NULL, &code);
    CHECK(ok && rc == 0 && code == HC_ERR_TOO_MANY_MEETINGS, "limits: --max-meetings gives ERROR too_many_meetings",
          "ok %d rc %d code %u", ok, rc, code);
    /* join timeout (1 s): a connection that never joins is closed with ERROR idle; pinging members stay */
    conn *idle = malloc(sizeof *idle);
    uint64_t t0 = 0;
    int kept = conn_open_kept(idle, &t0) == 0;
    CHECK(kept, "limits: a silent connection is accepted", "refused or closed at once");
    uint64_t idle_end = deadline(3000);
    int got_idle = 0;
    while (kept && now_ms() < idle_end && !got_idle) {
        member_ping(&ms[0]);           /* every 200 ms whatever HC_SLOW: the idle timeout is 1 s */
        member_ping(&ms[1]);
        member_ping(&ms[3]);
        int r = conn_next_by(idle, &m, now_ms() + 200);
        if (r == 1 && m.type == HC_MSG_ERROR && m.code == HC_ERR_IDLE) got_idle = 1;
    }
    uint64_t dt = now_ms() - t0;
    CHECK(got_idle && dt >= 900 && conn_wait_eof(idle, 2000), "limits: --join-timeout closes a connection that never joins with ERROR idle",
          "got %d after %llu ms", got_idle, (unsigned long long)dt);
    conn_close(idle);
    free(idle);
    CHECK(member_ping(&ms[0]) && member_ping(&ms[1]), "limits: active members outlive the idle timeout", "no PONG");
    /* backlog: a client that sends PINGs and never reads is dropped once 64 KiB of PONGs wait */
    member_free(&ms[3]);
    usleep(100000);
    conn *slow = malloc(sizeof *slow);
    memset(slow, 0, sizeof *slow);
    slow->fd = socket(AF_INET, SOCK_STREAM, 0);
    int small = 4096;
    setsockopt(slow->fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    struct sockaddr_in sa;
    relay_addr(&sa);
    int connected = connect(slow->fd, (struct sockaddr *)&sa, sizeof sa) == 0;
    /* It makes a meeting first: a connection that never joins is closed at --join-timeout (1 s
     * here), and on a slow machine that could come before its backlog does. */
    hc_msg cq;
    hc_msg_init(&cq, HC_MSG_CREATE);
    snprintf(cq.name, sizeof cq.name, "slow");
    connected = connected && conn_send(slow, &cq) == 0 && conn_expect(slow, HC_MSG_JOINED, &m, 2000) == 1;
    fcntl(slow->fd, F_SETFL, O_NONBLOCK);
    static uint8_t pings[14 * 4096];
    for (int i = 0; i < 4096; i++) {
        hc_msg pq;
        hc_msg_init(&pq, HC_MSG_PING);
        hc_msg_encode(&pq, pings + 14 * i, 14);
    }
    size_t sent = 0;
    int cut = 0;
    uint64_t end = deadline(10000), next_ping = now_ms() + 200;
    while (now_ms() < end && !cut) {
        if (now_ms() >= next_ping) {   /* the members stay active (--idle-timeout 1) however long this takes */
            member_ping(&ms[0]);
            member_ping(&ms[1]);
            next_ping = now_ms() + 200;
        }
        ssize_t w = send(slow->fd, pings, sizeof pings, MSG_NOSIGNAL);
        if (w > 0) sent += (size_t)w;
        else if (w < 0 && errno != EAGAIN) cut = 1;
        else {
            struct pollfd pf = {slow->fd, POLLOUT, 0};
            if (poll(&pf, 1, 100) > 0 && (pf.revents & (POLLERR | POLLHUP))) cut = 1;
        }
        if (!cut && sent > (size_t)200 << 20) break;
    }
    printf("# slow reader: %zu bytes of PING sent before the relay cut it\n", sent);
    /* cut for its backlog: connected, and cut only after more than the queue's 64 KiB was asked of it */
    CHECK(connected && cut && sent >= 65536,
          "limits: a client that never reads is disconnected once its backlog passes --send-queue",
          "connected %d, cut %d after %zu bytes", connected, cut, sent);
    conn_close(slow);
    free(slow);
    CHECK(member_ping(&ms[0]) && member_ping(&ms[1]), "limits: the meeting survives the slow reader", "no PONG");
    for (int i = 0; i < 4; i++) member_free(&ms[i]);
    free(ms);
    return failures ? 1 : 0;
}

int main(int argc, char **argv) {
    signal(SIGPIPE, SIG_IGN);
    if (argc < 4 || strcmp(argv[2], "--port")) {
        fprintf(stderr, "usage: relay_probe soak|malformed|limits --port PORT\n");
        return 2;
    }
    port = (uint16_t)atoi(argv[3]);
    if (getenv("HC_SLOW") && atof(getenv("HC_SLOW")) >= 1) slowness = atof(getenv("HC_SLOW"));
    rng ^= (uint64_t)getpid();
    if (!strcmp(argv[1], "soak")) return cmd_soak();
    if (!strcmp(argv[1], "malformed")) return cmd_malformed();
    if (!strcmp(argv[1], "limits")) return cmd_limits();
    fprintf(stderr, "relay_probe: unknown command %s\n", argv[1]);
    return 2;
}
