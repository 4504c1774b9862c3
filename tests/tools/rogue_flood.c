/* rogue_flood: a hostile participant that floods a meeting's leader with re-announcements
 * (PROTOCOL.md §3.4, §11.3 ANNOUNCE), for tests of the relay and the leader against it.
 *
 *   rogue_flood --port P --meeting ID [--seconds S] [--ivk-of HOME] [--rejoin] [--name NAME]
 *
 * It joins meeting ID on the relay at 127.0.0.1:P, announces itself once and then sends nonce
 * rotations of its binding as fast as the socket takes them, while reading (and dropping)
 * whatever the relay sends, so that only the relay's own rules can stop it.
 *   default      its own fresh identity, validly signed: a participant the leader keeps waiting
 *                (--admit ask) re-announcing without end;
 *   --ivk-of H   a stranger to a locked meeting: it names the public identity key of the
 *                participant whose home directory is H (the IVK in H/identity, a public key) in
 *                JOIN, as the relay's lock hint, and announces bindings carrying that key, which it
 *                can only sign with a key of its own (the signatures are invalid);
 *   --rejoin     when the relay disconnects it, it joins again (a new connection every 500 ms at
 *                most, within the relay's JOIN rate) and goes on flooding until --seconds is over.
 *
 * The rotations are 64 distinct bindings (fresh nonces), signed in advance and sent in turn: the
 * leader cannot tell them from fresh ones, and the flood is not slowed by signing.
 *
 * Prints one JSON line per connection ({"event":"session",...}) and a summary at the end
 * ({"event":"rogue","frames":N,"bytes":N,"seconds":S,"fps":N,...}). Exit status 0 when it got
 * into the meeting at least once, 1 otherwise, 2 for a bad command line. Only talks to 127.0.0.1;
 * every loop is bounded by --seconds (deadlines stretched by HC_SLOW). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "crypto/binding.h"
#include "crypto/bytes.h"
#include "net/wire.h"
#include "tests/relay_harness.h"   /* hh_announce_frame: the project's own announcement encoding */

#define POOL 64                       /* distinct rotations, sent in turn */
#define REJOIN_GAP_MS 500             /* a new connection at most this often */

static uint64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static double slowness = 1.0;

typedef struct {
    int fd;
    uint8_t in[1 << 17];
    size_t in_len;
    int eof;
    uint16_t error;                   /* last ERROR code from the relay, 0: none */
} rconn;

static uint16_t port;

static int rconn_open(rconn *l) {
    l->in_len = 0;
    l->eof = 0;
    l->error = 0;
    l->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (l->fd < 0) return -1;
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(l->fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        close(l->fd);
        l->fd = -1;
        return -1;
    }
    int one = 1;
    setsockopt(l->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fcntl(l->fd, F_SETFL, O_NONBLOCK);
    return 0;
}

static void rconn_close(rconn *l) {
    if (l->fd >= 0) close(l->fd);
    l->fd = -1;
}

/* Reads what is there; takes complete frames out. Returns the type of the first frame of interest
 * (JOINED or ERROR) seen in this call, 0 otherwise; *m holds it (valid until the next call). */
static uint8_t rconn_pump(rconn *l, hc_msg *m, uint8_t body[HC_FRAME_MAX_DEFAULT]) {
    uint8_t seen = 0;
    for (;;) {
        if (l->in_len == sizeof l->in) break;
        ssize_t r = recv(l->fd, l->in + l->in_len, sizeof l->in - l->in_len, MSG_DONTWAIT);
        if (r > 0) { l->in_len += (size_t)r; continue; }
        if (r == 0 || (errno != EAGAIN && errno != EINTR)) l->eof = 1;
        break;
    }
    size_t off = 0;
    while (l->in_len - off >= 4) {
        uint32_t fl = hc_get_u32(l->in + off);
        if (fl > HC_FRAME_MAX_DEFAULT) { l->eof = 1; break; }
        if (l->in_len - off - 4 < fl) break;
        hc_msg t;
        if (hc_msg_decode(&t, l->in + off + 4, fl, NULL) == 0) {
            if (t.type == HC_MSG_ERROR) l->error = t.code;
            if (!seen && (t.type == HC_MSG_JOINED || t.type == HC_MSG_ERROR)) {
                /* m must outlive the input buffer, which moves below */
                memcpy(body, l->in + off + 4, fl);
                hc_msg_decode(m, body, fl, NULL);
                seen = m->type;
            }
        }
        off += 4 + fl;
    }
    memmove(l->in, l->in + off, l->in_len - off);
    l->in_len -= off;
    return seen;
}

static int send_some(rconn *l, const uint8_t *p, size_t n, size_t *done) {
    ssize_t w = send(l->fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w > 0) { *done = (size_t)w; return 0; }
    *done = 0;
    if (w < 0 && errno != EAGAIN && errno != EINTR) return -1;
    return 0;
}

typedef struct {
    uint64_t frames, bytes;
    uint64_t sessions, refused;       /* connections that got into the meeting; JOINs refused */
    uint64_t first_ms;                /* first session: flood time until the relay ended it (0: never) */
    uint64_t by_code[32];             /* how sessions ended: ERROR codes (0: EOF without ERROR) */
    uint64_t until_end;               /* sessions still going when --seconds was over */
} totals;

int main(int argc, char **argv) {
    signal(SIGPIPE, SIG_IGN);
    const char *mid = NULL, *ivk_home = NULL, *name = "rogue";
    double seconds = 10;
    int rejoin = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--port") && i + 1 < argc) port = (uint16_t)atoi(argv[++i]);
        else if (!strcmp(argv[i], "--meeting") && i + 1 < argc) mid = argv[++i];
        else if (!strcmp(argv[i], "--seconds") && i + 1 < argc) seconds = atof(argv[++i]);
        else if (!strcmp(argv[i], "--ivk-of") && i + 1 < argc) ivk_home = argv[++i];
        else if (!strcmp(argv[i], "--name") && i + 1 < argc) name = argv[++i];
        else if (!strcmp(argv[i], "--rejoin")) rejoin = 1;
        else {
            fprintf(stderr, "usage: rogue_flood --port P --meeting ID [--seconds S] [--ivk-of HOME] [--rejoin] [--name NAME]\n");
            return 2;
        }
    }
    if (!port || !mid || !hc_valid_meeting_id(mid, strlen(mid)) || seconds <= 0 || seconds > 600) {
        fprintf(stderr, "rogue_flood: --port and a valid --meeting are required (--seconds 0..600)\n");
        return 2;
    }
    if (getenv("HC_SLOW")) slowness = atof(getenv("HC_SLOW")) > 0 ? atof(getenv("HC_SLOW")) : 1.0;
    if (sodium_init() < 0) return 1;

    uint8_t my_ivk[32], isk[64], named_ivk[32];
    crypto_sign_keypair(my_ivk, isk);
    memcpy(named_ivk, my_ivk, 32);
    if (ivk_home) {
        /* Only the public half: a stranger knows a member's identity key, never its seed. */
        char path[4096];
        snprintf(path, sizeof path, "%s/identity", ivk_home);
        FILE *f = fopen(path, "rb");
        uint8_t id[72];
        if (!f || fread(id, 1, sizeof id, f) != sizeof id || memcmp(id, "HCID", 4)) {
            fprintf(stderr, "rogue_flood: cannot read an identity in %s\n", path);
            if (f) fclose(f);
            return 2;
        }
        fclose(f);
        memcpy(named_ivk, id + 40, 32);
    }

    static rconn l;
    static uint8_t body[HC_FRAME_MAX_DEFAULT];
    static uint8_t pool[POOL][512];
    static size_t pool_len[POOL];
    totals t;
    memset(&t, 0, sizeof t);
    uint64_t start = now_ms(), end = start + (uint64_t)(seconds * 1000);
    uint64_t next_join = start;
    while (now_ms() < end) {
        uint64_t now = now_ms();
        if (now < next_join) { usleep((useconds_t)((next_join - now) * 1000)); continue; }
        next_join = now + REJOIN_GAP_MS;
        if (rconn_open(&l) < 0) { t.refused++; if (!rejoin) break; continue; }
        hc_msg m;
        hc_msg_init(&m, HC_MSG_JOIN);
        snprintf(m.meeting_id, sizeof m.meeting_id, "%s", mid);
        snprintf(m.name, sizeof m.name, "%s", name);
        m.flag = 1;
        memcpy(m.ivk, named_ivk, 32);
        uint8_t f[512];
        size_t fl = hc_msg_encode(&m, f, sizeof f), done = 0;
        send_some(&l, f, fl, &done);
        /* JOINED (or a refusal) within 3 s (stretched) */
        uint8_t got = 0;
        for (uint64_t jd = now_ms() + (uint64_t)(3000 * slowness); !got && !l.eof && now_ms() < jd;) {
            struct pollfd pf = {l.fd, POLLIN, 0};
            poll(&pf, 1, 50);
            got = rconn_pump(&l, &m, body);
        }
        if (got != HC_MSG_JOINED) {
            t.refused++;
            rconn_close(&l);
            if (!rejoin) break;
            continue;
        }
        t.sessions++;
        /* The bindings: this join's index, uuid and a fresh ephemeral key; 64 nonces. */
        hc_binding b;
        memset(&b, 0, sizeof b);
        snprintf(b.meeting_id, sizeof b.meeting_id, "%s", m.meeting_id);
        memcpy(b.uuid, m.uuid, 16);
        b.index = m.index;
        memcpy(b.ivk, named_ivk, 32);
        randombytes_buf(b.pk, sizeof b.pk);
        snprintf(b.name, sizeof b.name, "%s", name);
        for (int i = 0; i < POOL; i++) {
            randombytes_buf(b.nonce, sizeof b.nonce);
            pool_len[i] = hh_announce_frame(pool[i], sizeof pool[i], &b, isk);
        }
        /* Flood: whole frames back to back, as fast as the socket takes them. */
        uint64_t s0 = now_ms(), sframes = 0;
        size_t k = 0, off = 0;
        static uint8_t out[64 * 512];
        size_t out_len = 0;
        while (!l.eof && now_ms() < end) {
            if (off == out_len) {
                out_len = off = 0;
                for (int i = 0; i < 64; i++, k++) {
                    memcpy(out + out_len, pool[k % POOL], pool_len[k % POOL]);
                    out_len += pool_len[k % POOL];
                }
            }
            size_t w = 0;
            if (send_some(&l, out + off, out_len - off, &w) < 0) break;
            /* count whole frames only: every frame is the same size */
            uint64_t before = (uint64_t)off / pool_len[0];
            off += w;
            uint64_t after = (uint64_t)off / pool_len[0];
            sframes += after - before;
            t.bytes += w;
            rconn_pump(&l, &m, body);
            if (!w) {
                struct pollfd pf = {l.fd, POLLIN | POLLOUT, 0};
                poll(&pf, 1, 5);
            }
        }
        /* Whatever the relay said last before it closed. */
        for (int i = 0; i < 20 && !l.eof; i++) {
            struct pollfd pf = {l.fd, POLLIN, 0};
            if (now_ms() >= end) break;
            poll(&pf, 1, 5);
            rconn_pump(&l, &m, body);
        }
        uint64_t ms = now_ms() - s0;
        t.frames += sframes;
        const char *how;
        if (l.eof) {
            t.by_code[l.error < 32 ? l.error : 0]++;
            how = l.error ? hc_err_code_name(l.error) : "closed";
            if (t.sessions == 1) t.first_ms = ms ? ms : 1;
        } else {
            t.until_end++;
            how = "time";
        }
        printf("{\"event\":\"session\",\"index\":%u,\"frames\":%llu,\"ms\":%llu,\"end\":\"%s\"}\n", b.index,
               (unsigned long long)sframes, (unsigned long long)ms, how);
        fflush(stdout);
        rconn_close(&l);
        if (!rejoin) break;
    }
    double secs = (double)(now_ms() - start) / 1000.0;
    printf("{\"event\":\"rogue\",\"frames\":%llu,\"bytes\":%llu,\"seconds\":%.2f,\"fps\":%.0f,\"sessions\":%llu,"
           "\"refused\":%llu,\"first_session_ms\":%llu,\"still_in_at_end\":%llu,\"ended_by\":{",
           (unsigned long long)t.frames, (unsigned long long)t.bytes, secs, secs > 0 ? (double)t.frames / secs : 0,
           (unsigned long long)t.sessions, (unsigned long long)t.refused, (unsigned long long)t.first_ms,
           (unsigned long long)t.until_end);
    int first = 1;
    for (int c = 0; c < 32; c++) {
        if (!t.by_code[c]) continue;
        printf("%s\"%s\":%llu", first ? "" : ",", c ? hc_err_code_name((uint16_t)c) : "closed",
               (unsigned long long)t.by_code[c]);
        first = 0;
    }
    printf("}}\n");
    sodium_memzero(isk, sizeof isk);
    return t.sessions ? 0 : 1;
}
