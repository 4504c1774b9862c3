/* loadgen: many real participants in one process, for the 1000-member meeting.
 *
 * Each bot is what `hushcall join --headless` is, minus the audio devices and the front end: a
 * real net/client.c connection (its own TCP and UDP sockets) and a real app/meeting.c state
 * machine with its own identity and real crypto (signatures, key boxes, SFrame). Everything runs
 * on one libuv loop. No shortcut is taken in the code under test: the bots use the same public
 * API the session uses.
 *
 * Talkers send one pre-encoded Opus packet (a 440 Hz tone, 20 ms, 32 kbit/s, cycled over 50
 * packets) every 20 ms, with a voice level in the relay header; every bot decrypts every frame
 * the relay forwards to it (the meeting opens and replay-checks it before handing it over), and
 * one bot also decodes talker 1's stream with Opus as a sample of quality.
 *
 * It reports, as one JSON object on stdout at the end: join -> first key latency percentiles,
 * epochs seen, alerts, heartbeat timeouts, unexpected disconnects, control bytes received per
 * bot and per join (the whole run, and the joins alone), frame loss at receivers over the steady
 * window, the leave storm's rekey time, whether every bot ends with the leader's roster, and,
 * given the relay's process id and stats file, the relay's CPU and memory (per member) and its
 * last stats line. While it runs it prints a progress line on stderr every second. Several
 * loadgen processes can share one meeting (--meeting ID).
 *
 *   loadgen --relay 127.0.0.1:7400 [--host | --meeting ID] --bots N [--talkers K]
 *           [--join-over S] [--settle S] [--steady S] [--leave N] [--leave-over S]
 *           [--slow-pct P] [--slow-rtt-ms MS] [--heartbeat-ms MS] [--seed N] [--quiet]
 *           [--relay-pid PID] [--relay-stats FILE]
 *
 * Crypto cache: every bot checks every announcement and heartbeat signature, as participants do;
 * in one process that is the same Ed25519 verification a thousand times over, which would make
 * the loadgen, not the code under test, the bottleneck. So the loadgen (and only it: the
 * Makefile links it with --wrap=crypto_sign_verify_detached) remembers the inputs that verified
 * and answers a repeat from memory; anything not seen before, and every failure, is verified for
 * real. The report says so ("crypto_cache"). Everything else is per bot: key boxes, pairwise keys,
 * SFrame, signing.
 *
 * --slow-pct P puts P % of the bots (never the host or a talker) behind an in-process link that
 * delays everything they send and receive by half of --slow-rtt-ms each way (default 300 ms RTT),
 * control and media alike, in order.
 *
 * The relay must let one address open many connections and join fast: run it with
 * `--max-conns-per-addr 5000 --max-unjoined-per-addr 5000 --join-rate 0,0`. */
#include <errno.h>
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "app/meeting.h"
#include "audio/opus_codec.h"
#include "crypto/identity.h"
#include "net/client.h"
#include "ui/json.h"

#define MAX_BOTS 6000

/* ---- the verification cache (see the header) ---- */

#define VCACHE_BITS 18
static uint8_t vcache[1u << VCACHE_BITS][16];
static uint64_t vcache_hits, vcache_misses;

int __real_crypto_sign_verify_detached(const unsigned char *sig, const unsigned char *m, unsigned long long mlen,
                                       const unsigned char *pk);
int __wrap_crypto_sign_verify_detached(const unsigned char *sig, const unsigned char *m, unsigned long long mlen,
                                       const unsigned char *pk);
int __wrap_crypto_sign_verify_detached(const unsigned char *sig, const unsigned char *m, unsigned long long mlen,
                                       const unsigned char *pk) {
    uint8_t key[16];
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, sizeof key);
    crypto_generichash_update(&st, sig, 64);
    crypto_generichash_update(&st, pk, 32);
    crypto_generichash_update(&st, m, mlen);
    crypto_generichash_final(&st, key, sizeof key);
    uint8_t *slot = vcache[(key[0] | key[1] << 8 | (uint32_t)key[2] << 16) & ((1u << VCACHE_BITS) - 1)];
    if (!memcmp(slot, key, sizeof key)) {
        vcache_hits++;
        return 0;
    }
    vcache_misses++;
    int rc = __real_crypto_sign_verify_detached(sig, m, mlen, pk);
    if (rc == 0) memcpy(slot, key, sizeof key);   /* only what verified is remembered */
    return rc;
}
#define N_PKTS 50              /* pre-encoded packets, cycled (twice as many: see window_set) */
#define TICK_MS 10

typedef struct qitem {
    struct qitem *next;
    uint64_t due;
    int media;                 /* datagram (else control frame body) */
    int out;                   /* 1: to the relay, 0: from the relay */
    size_t len;
    uint8_t data[];
} qitem;

typedef struct bot {
    int i;
    hc_identity id;
    hc_client *client;
    hc_meeting *m;
    int started, connected, joined, keyed, leaving, left, closed, gone_unexpectedly;
    int storm;                 /* left in the leave storm (the others are its survivors) */
    int talker, slow;
    uint64_t start_at;         /* loop ms when it connects */
    uint64_t join_sent_at, keyed_at, left_at;
    uint32_t epochs, last_epoch, last_members;
    uint64_t last_key_at;      /* when the latest KEY_EPOCH came */
    uint64_t alerts, hb_timeouts, errors;
    uint64_t ctrl_bytes, ctrl_frames;
    uint64_t media_rx, media_rx_window;
    uint64_t sent, sent_window;
    uint32_t pkt_i;
    char left_reason[64];
    qitem *qhead, *qtail;      /* the slow link, both directions, due order (constant delay) */
} bot;

static struct {
    uv_loop_t *loop;
    uv_timer_t tick, talk, progress;
    char relay_host[256];
    uint16_t relay_port;
    char meeting_id[HC_MEETING_ID_MAX + 1];
    int host, n, talkers, quiet;
    double join_over_s, settle_s, steady_s, leave_over_s;
    int leave_n, slow_pct;
    uint32_t slow_rtt_ms, heartbeat_ms;
    uint64_t seed;
    bot *b;
    /* Packets 0..N_PKTS-1 are sent outside the steady window, N_PKTS..2*N_PKTS-1 inside it: a
     * receiver counts a frame as the window's by its bytes, so frames in flight at the window's
     * edges are counted exactly (sent in the window <=> counted on arrival, whenever it comes). */
    uint8_t pkt[2 * N_PKTS][200];
    size_t pkt_len[2 * N_PKTS];
    uint64_t window_hash[2 * N_PKTS];   /* open addressing, 0 = empty */
    /* phases */
    uint64_t t0, joins_start, all_joined_at, window_start, window_end, leaves_start, last_leave_at;
    int phase;                 /* 0 host, 1 joining, 2 settling, 3 steady, 4 leaving, 5 draining, 6 done */
    int leaves_done;
    uint64_t window_sent[64];  /* per talker: frames sent during the window */
    hc_opus_dec dec;
    int dec_ok;
    uint64_t decoded, decode_errors;
    uint64_t alert_kinds_n;
    char alert_kinds[8][48];
    char alert_first[8][200];   /* the first alert's detail of each kind: why, in the report */
    uint64_t drain_until;
    uint64_t rekey_done_at;    /* every survivor holds an epoch made after the last leave */
    int exit_code;
    /* the relay, watched from outside: its process (CPU, memory) and its stats lines */
    int relay_pid;
    char relay_stats[512];     /* path of the relay's stdout (its --stats-interval lines) */
    long clk_tck;
    struct { double cpu_s; long rss_kb; uint64_t at; int ok; } rp[4];   /* start, joined, window start/end */
    uint64_t ctrl_at_joined;   /* control bytes the bots received by the end of the joins */
    int rosters_checked, roster_views, roster_mismatched;
    uint64_t done_at;
} G;

/* The relay's CPU time (s) and resident memory (KB) from /proc. */
static int relay_proc(double *cpu_s, long *rss_kb) {
    if (!G.relay_pid) return -1;
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", G.relay_pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    const char *p = strrchr(buf, ')');   /* the command name may hold spaces */
    unsigned long ut = 0, st = 0;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2) return -1;
    *cpu_s = (double)(ut + st) / (double)G.clk_tck;
    snprintf(path, sizeof path, "/proc/%d/status", G.relay_pid);
    f = fopen(path, "r");
    if (!f) return -1;
    *rss_kb = 0;
    while (fgets(buf, sizeof buf, f))
        if (!strncmp(buf, "VmRSS:", 6)) *rss_kb = strtol(buf + 6, NULL, 10);
    fclose(f);
    return 0;
}

static void relay_mark(int k) {
    G.rp[k].ok = relay_proc(&G.rp[k].cpu_s, &G.rp[k].rss_kb) == 0;
    G.rp[k].at = uv_now(G.loop);
}

static uint64_t now_ms(void) { return uv_now(G.loop); }

static void fail(const char *msg) {
    fprintf(stderr, "loadgen: %s\n", msg);
    exit(2);
}

/* ---- the slow link: constant delay keeps order, so one FIFO per bot does ---- */

static void q_push(bot *b, int out, int media, const uint8_t *d, size_t len) {
    qitem *q = malloc(sizeof *q + len);
    if (!q) return;
    q->next = NULL;
    q->due = now_ms() + G.slow_rtt_ms / 2;
    q->media = media;
    q->out = out;
    q->len = len;
    memcpy(q->data, d, len);
    if (b->qtail) b->qtail->next = q;
    else b->qhead = q;
    b->qtail = q;
}

static void deliver_in(bot *b, int media, const uint8_t *d, size_t len);
static void q_run(bot *b, uint64_t now) {
    while (b->qhead && b->qhead->due <= now) {
        qitem *q = b->qhead;
        b->qhead = q->next;
        if (!b->qhead) b->qtail = NULL;
        if (q->out) {
            if (b->client && !b->closed) {
                if (q->media) hc_client_send_media(b->client, q->data, q->len);
                else hc_client_send(b->client, q->data, q->len);
            }
        } else {
            deliver_in(b, q->media, q->data, q->len);
        }
        free(q);
    }
}

static void q_free(bot *b) {
    while (b->qhead) {
        qitem *q = b->qhead;
        b->qhead = q->next;
        free(q);
    }
    b->qtail = NULL;
}

/* ---- meeting I/O ---- */

static void m_send_ctrl(void *ctx, const uint8_t *frame, size_t len) {
    bot *b = ctx;
    if (b->slow) { q_push(b, 1, 0, frame, len); return; }
    if (b->client && !b->closed) hc_client_send(b->client, frame, len);
}
static void m_send_media(void *ctx, const uint8_t *pkt, size_t len) {
    bot *b = ctx;
    if (b->slow) { q_push(b, 1, 1, pkt, len); return; }
    if (b->client && !b->closed) hc_client_send_media(b->client, pkt, len);
}

static void note_alert_kind(const char *kind, const char *detail) {
    if (!kind) kind = "?";
    for (size_t i = 0; i < G.alert_kinds_n; i++)
        if (!strcmp(G.alert_kinds[i], kind)) return;
    if (G.alert_kinds_n < 8) {
        snprintf(G.alert_first[G.alert_kinds_n], sizeof G.alert_first[0], "%s", detail ? detail : "");
        snprintf(G.alert_kinds[G.alert_kinds_n++], sizeof G.alert_kinds[0], "%s", kind);
    }
}

static void m_event(void *ctx, const hc_event *ev) {
    bot *b = ctx;
    uint64_t now = now_ms();
    switch (ev->type) {
    case HC_EV_MEETING:
        if (ev->meeting_id) snprintf(G.meeting_id, sizeof G.meeting_id, "%s", ev->meeting_id);
        break;
    case HC_EV_JOINED: b->joined = 1; break;
    case HC_EV_KEY_EPOCH:
        if (!b->keyed) { b->keyed = 1; b->keyed_at = now; }
        b->epochs++;
        b->last_epoch = ev->epoch;
        b->last_members = ev->members;
        b->last_key_at = now;
        break;
    case HC_EV_SECURITY_ALERT:
        b->alerts++;
        note_alert_kind(ev->kind, ev->detail);
        if (!G.quiet)
            fprintf(stderr, "\nloadgen: bot %d: security alert %s: %s\n", b->i, ev->kind ? ev->kind : "?",
                    ev->detail ? ev->detail : "");
        break;
    case HC_EV_HEARTBEAT_TIMEOUT: b->hb_timeouts++; break;
    case HC_EV_ERROR: b->errors++; break;
    case HC_EV_LEFT:
        b->left = 1;
        b->left_at = now;
        snprintf(b->left_reason, sizeof b->left_reason, "%s", ev->reason ? ev->reason : "?");
        if (!b->leaving) {
            b->gone_unexpectedly = 1;
            if (!G.quiet) fprintf(stderr, "\nloadgen: bot %d left: %s\n", b->i, b->left_reason);
        }
        break;
    default: break;
    }
}

static uint64_t pkt_hash(const uint8_t *p, size_t len) {
    uint64_t h = 1469598103934665603ull ^ len;
    for (size_t i = 0; i < len; i++) h = (h ^ p[i]) * 1099511628211ull;
    return h | 1;   /* never 0 (empty) */
}

static int in_window_set(const uint8_t *p, size_t len) {
    uint64_t h = pkt_hash(p, len);
    for (size_t k = 0, i = h % (2 * N_PKTS); k < 2 * N_PKTS; k++, i = (i + 1) % (2 * N_PKTS)) {
        if (!G.window_hash[i]) return 0;
        if (G.window_hash[i] == h) return 1;
    }
    return 0;
}

static void m_media(void *ctx, uint32_t sender, const uint8_t *payload, size_t len) {
    bot *b = ctx;
    b->media_rx++;
    if (in_window_set(payload, len)) b->media_rx_window++;
    /* one bot decodes talker 1's stream (the sample of quality) */
    if (G.dec_ok && b->i == G.n - 1 && G.b[0].m && sender == hc_meeting_self_index(G.b[0].m)) {
        float pcm[960 * 3];
        if (hc_opus_dec_decode(&G.dec, payload, len, pcm, 960 * 3) > 0) G.decoded++;
        else G.decode_errors++;
    }
}

static void m_media_token(void *ctx, const uint8_t token[16]) {
    bot *b = ctx;
    if (b->client) hc_client_register_media(b->client, token);
}
static void m_media_ready(void *ctx) {
    bot *b = ctx;
    if (b->client) hc_client_media_confirmed(b->client);
}

/* ---- client callbacks ---- */

static void deliver_in(bot *b, int media, const uint8_t *d, size_t len) {
    if (!b->m || b->left) return;
    uint64_t now = now_ms();
    if (media) {
        hc_meeting_on_media(b->m, d, len, now);
        return;
    }
    b->ctrl_bytes += len + 4;
    b->ctrl_frames++;
    hc_meeting_on_frame(b->m, d, len, now);
    if (hc_meeting_next_deadline(b->m) <= now) hc_meeting_tick(b->m, now);
}

static void c_connected(void *ctx) {
    bot *b = ctx;
    b->connected = 1;
    if (hc_meeting_phase_get(b->m) == HC_MT_CONNECTING) {
        b->join_sent_at = now_ms();
        hc_meeting_start(b->m, now_ms());
    }
}
static void c_frame(void *ctx, const uint8_t *body, size_t len) {
    bot *b = ctx;
    if (b->slow) { q_push(b, 0, 0, body, len); return; }
    deliver_in(b, 0, body, len);
}
static void c_disconnected(void *ctx, const char *why, int will_retry) {
    bot *b = ctx;
    if (will_retry) return;
    if (!b->leaving && !b->left) {
        b->gone_unexpectedly = 1;
        if (!G.quiet) fprintf(stderr, "\nloadgen: bot %d disconnected: %s\n", b->i, why ? why : "?");
    }
    if (b->m && !b->left) hc_meeting_on_disconnected(b->m, why, now_ms());
}
static void c_media(void *ctx, const uint8_t *pkt, size_t len) {
    bot *b = ctx;
    if (b->slow) { q_push(b, 0, 1, pkt, len); return; }
    deliver_in(b, 1, pkt, len);
}
static void c_media_ready(void *ctx) { (void)ctx; }

static void client_closed(void *arg) {
    bot *b = arg;
    b->client = NULL;
}

static void bot_start(bot *b) {
    hc_meeting_config mc;
    hc_meeting_config_defaults(&mc);
    mc.id = &b->id;
    snprintf(mc.name, sizeof mc.name, "bot %d", b->i);
    mc.create = G.host && b->i == 0;
    if (!mc.create) snprintf(mc.meeting_id, sizeof mc.meeting_id, "%s", G.meeting_id);
    mc.admit = HC_ADMIT_AUTO;
    if (G.heartbeat_ms) mc.heartbeat_ms = G.heartbeat_ms;
    hc_meeting_io io = {.ctx = b, .send_ctrl = m_send_ctrl, .send_media = m_send_media, .event = m_event,
                        .media = m_media, .media_token = m_media_token, .media_ready = m_media_ready};
    b->m = hc_meeting_new(&mc, &io, now_ms());
    if (!b->m) fail("out of memory (meeting)");
    hc_client_config cc = {.host = G.relay_host, .port = G.relay_port, .connect_timeout_ms = 30000,
                           .handshake_timeout_ms = 30000};
    hc_client_callbacks cb = {.ctx = b, .on_connected = c_connected, .on_frame = c_frame,
                              .on_disconnected = c_disconnected, .on_media = c_media,
                              .on_media_ready = c_media_ready};
    char err[256];
    if (hc_client_new(&b->client, G.loop, &cc, &cb, err, sizeof err) < 0) {
        fprintf(stderr, "loadgen: bot %d: %s\n", b->i, err);
        exit(1);
    }
    b->started = 1;
    hc_client_start(b->client);
}

static void bot_leave(bot *b) {
    if (b->leaving || b->left || !b->m) return;
    b->leaving = 1;
    hc_command c = {.type = HC_CMD_LEAVE};
    hc_meeting_command(b->m, &c, now_ms());
    if (b->client && !b->closed) {
        b->closed = 1;
        hc_client_close(b->client, client_closed, b);
    }
}

/* ---- timers ---- */

static int keyed_count(void) {
    int k = 0;
    for (int i = 0; i < G.n; i++) k += G.b[i].keyed && !G.b[i].left;
    return k;
}

static int rosters_agree(void);

static int present_count(void) {
    int k = 0;
    for (int i = 0; i < G.n; i++) k += G.b[i].started && !G.b[i].left && !G.b[i].leaving;
    return k;
}

static void on_tick(uv_timer_t *t) {
    (void)t;
    uint64_t now = now_ms();
    /* start the bots whose time has come */
    if (G.phase == 0 && (!G.host || G.meeting_id[0])) {
        G.phase = 1;
        G.joins_start = now;
        relay_mark(0);
        double step = G.n > 1 ? G.join_over_s * 1000.0 / (G.n - (G.host ? 1 : 0)) : 0;
        for (int i = G.host ? 1 : 0, k = 0; i < G.n; i++, k++) G.b[i].start_at = now + (uint64_t)(k * step);
    }
    if (G.phase == 1) {
        int all = 1;
        for (int i = 0; i < G.n; i++) {
            bot *b = &G.b[i];
            if (!b->started) {
                if (b->start_at <= now) bot_start(b);
                else all = 0;
            }
            if (!b->keyed && !b->left) all = 0;
        }
        if (all) {
            G.phase = 2;
            G.all_joined_at = now;
            relay_mark(1);
            for (int i = 0; i < G.n; i++) G.ctrl_at_joined += G.b[i].ctrl_bytes;
        }
    }
    if (G.phase == 2 && now - G.all_joined_at >= (uint64_t)(G.settle_s * 1000)) {
        G.phase = 3;
        G.window_start = now;
        relay_mark(2);
    }
    if (G.phase == 3 && now - G.window_start >= (uint64_t)(G.steady_s * 1000)) {
        G.window_end = now;
        relay_mark(3);
        G.phase = G.leave_n > 0 ? 4 : 6;
        G.leaves_start = now;
    }
    if (G.phase == 4) {
        /* the last leave_n non-talker bots go, evenly over leave_over_s */
        int first = G.n - G.leave_n;
        if (first < G.talkers + 1) first = G.talkers + 1;
        int count = G.n - first;
        double step = count > 1 ? G.leave_over_s * 1000.0 / (count - 1) : 0;
        for (int k = 0; k < count; k++) {
            bot *b = &G.b[first + k];
            if (!b->leaving && now >= G.leaves_start + (uint64_t)(k * step)) {
                b->storm = 1;
                bot_leave(b);
                G.leaves_done++;
                G.last_leave_at = now;
            }
        }
        if (G.leaves_done >= count) {
            G.phase = 5;
            G.drain_until = now + 15000;
        }
    }
    if (G.phase == 5) {
        /* rekeyed: every survivor holds an epoch that came after the last leave and lists only
         * the survivors */
        int n_present = present_count(), ok = 1;
        for (int i = 0; i < G.n; i++) {
            bot *b = &G.b[i];
            if (!b->started || b->left || b->leaving) continue;
            if (b->last_key_at < G.last_leave_at || (int)b->last_members != n_present) ok = 0;
        }
        if (ok && !G.rekey_done_at) G.rekey_done_at = now;
        if (G.rekey_done_at || now >= G.drain_until) G.phase = 6;
    }
    for (int i = 0; i < G.n; i++) {
        bot *b = &G.b[i];
        if (b->slow) q_run(b, now);
        if (b->m && !b->left && hc_meeting_next_deadline(b->m) <= now) hc_meeting_tick(b->m, now);
    }
    /* Done: every bot still here should hold the leader's roster (its version and hash). A change
     * may still be on its way, so the check is repeated for up to 5 s before it counts. */
    if (G.phase == 6 && !G.done_at) G.done_at = now ? now : 1;
    if (G.phase == 6 && !rosters_agree() && now - G.done_at < 5000) return;
    if (G.phase == 6) {
        uv_timer_stop(&G.tick);
        uv_timer_stop(&G.talk);
        uv_timer_stop(&G.progress);
        for (int i = 0; i < G.n; i++) bot_leave(&G.b[i]);
    }
}

/* Whether every bot in the meeting holds the roster its leader sent last (sets the counts). */
static int rosters_agree(void) {
    uint32_t lv = 0;
    uint8_t lh[32];
    int have_leader = 0;
    for (int i = 0; i < G.n && !have_leader; i++) {
        bot *b = &G.b[i];
        if (b->m && !b->left && !b->leaving && hc_meeting_is_leader(b->m) && hc_meeting_roster_id(b->m, &lv, lh) == 0)
            have_leader = 1;
    }
    G.rosters_checked = 1;
    G.roster_views = G.roster_mismatched = 0;
    for (int i = 0; i < G.n; i++) {
        bot *b = &G.b[i];
        if (!b->m || b->left || b->leaving || !b->started) continue;
        uint32_t v;
        uint8_t h[32];
        G.roster_views++;
        if (!have_leader || hc_meeting_roster_id(b->m, &v, h) < 0 || v != lv || memcmp(h, lh, 32)) G.roster_mismatched++;
    }
    return have_leader && !G.roster_mismatched;
}

static void on_talk(uv_timer_t *t) {
    (void)t;
    uint64_t now = now_ms();
    for (int i = 0; i < G.talkers && i < G.n; i++) {
        bot *b = &G.b[i];
        if (!b->m || b->left || !b->keyed) continue;
        uint8_t level = 0x80 | 20;   /* voice, -20 dBov */
        int k = (int)b->pkt_i + (G.phase == 3 ? N_PKTS : 0);
        if (hc_meeting_send_audio(b->m, G.pkt[k], G.pkt_len[k], level, now) == 0) {
            b->sent++;
            if (G.phase == 3 && i < 64) G.window_sent[i]++;
        }
        b->pkt_i = (b->pkt_i + 1) % N_PKTS;
    }
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static uint64_t pct(const uint64_t *v, size_t n, double p) {
    if (!n) return 0;
    size_t k = (size_t)ceil(p / 100.0 * n);
    if (k < 1) k = 1;
    if (k > n) k = n;
    return v[k - 1];
}

static const char *phase_name(int p) {
    static const char *names[] = {"host", "joining", "settling", "steady", "leaving", "rekeying", "done"};
    return names[p];
}

static void on_progress(uv_timer_t *t) {
    (void)t;
    if (G.quiet) return;
    uint64_t now = now_ms();
    int started = 0, alerts = 0, gone = 0;
    uint64_t ctrl = 0;
    for (int i = 0; i < G.n; i++) {
        started += G.b[i].started;
        alerts += (int)G.b[i].alerts;
        gone += G.b[i].gone_unexpectedly;
        ctrl += G.b[i].ctrl_bytes;
    }
    fprintf(stderr, "\rloadgen %6.1f s  %-9s  started %d/%d  keyed %d  alerts %d  dropped %d  control %.1f MB   ",
            (now - G.t0) / 1000.0, phase_name(G.phase), started, G.n, keyed_count(), alerts, gone, ctrl / 1e6);
}

/* ---- set-up and report ---- */

static void encode_packets(void) {
    hc_opus_enc e;
    char err[200];
    if (hc_opus_enc_init(&e, 20, 32000, 0, err, sizeof err) < 0) fail(err);
    float pcm[960];
    double ph = 0;
    for (int k = 0; k < 2 * N_PKTS; k++) {
        for (int s = 0; s < 960; s++) {
            pcm[s] = (float)(0.3 * sin(ph));
            ph += 2 * M_PI * 440.0 / 48000.0;
        }
        hc_opus_enc_set_voice(&e, 1);
        int n = hc_opus_enc_encode(&e, pcm, G.pkt[k], sizeof G.pkt[k]);
        if (n <= 0) fail("opus encode failed");
        G.pkt_len[k] = (size_t)n;
    }
    hc_opus_enc_free(&e);
    for (int k = N_PKTS; k < 2 * N_PKTS; k++) {
        uint64_t h = pkt_hash(G.pkt[k], G.pkt_len[k]);
        if (in_window_set(G.pkt[k], G.pkt_len[k])) fail("two window packets are the same bytes");
        for (int a = 0; a < k; a++)
            if (a < N_PKTS && G.pkt_len[a] == G.pkt_len[k] && !memcmp(G.pkt[a], G.pkt[k], G.pkt_len[k]))
                fail("a window packet repeats one sent outside the window");
        size_t i = h % (2 * N_PKTS);
        while (G.window_hash[i]) i = (i + 1) % (2 * N_PKTS);
        G.window_hash[i] = h;
    }
}

static void raise_nofile(int bots) {
    struct rlimit r;
    if (getrlimit(RLIMIT_NOFILE, &r) != 0) return;
    rlim_t need = (rlim_t)bots * 3 + 64;
    if (r.rlim_cur >= need) return;
    r.rlim_cur = r.rlim_max < need ? r.rlim_max : need;
    setrlimit(RLIMIT_NOFILE, &r);
    if (r.rlim_cur < need)
        fprintf(stderr, "loadgen: warning: %d bots need about %lu file descriptors, the hard limit is %lu\n", bots,
                (unsigned long)need, (unsigned long)r.rlim_max);
}

static void report(void) {
    uint64_t *lat = calloc((size_t)G.n, sizeof *lat);
    size_t nl = 0;
    uint64_t alerts = 0, hbt = 0, gone = 0, errors = 0, ctrl = 0, ctrl_frames = 0, epochs_max = 0, not_keyed = 0;
    uint32_t min_epoch = UINT32_MAX, max_epoch = 0;
    for (int i = 0; i < G.n; i++) {
        bot *b = &G.b[i];
        if (b->keyed && b->join_sent_at) lat[nl++] = b->keyed_at - b->join_sent_at;
        else if (b->started) not_keyed++;
        alerts += b->alerts;
        hbt += b->hb_timeouts;
        gone += b->gone_unexpectedly;
        errors += b->errors;
        ctrl += b->ctrl_bytes;
        ctrl_frames += b->ctrl_frames;
        if (b->epochs > epochs_max) epochs_max = b->epochs;
        if (b->started && !b->storm && !b->gone_unexpectedly) {
            if (b->last_epoch < min_epoch) min_epoch = b->last_epoch;
            if (b->last_epoch > max_epoch) max_epoch = b->last_epoch;
        }
    }
    qsort(lat, nl, sizeof *lat, cmp_u64);
    /* loss over the steady window: each receiver should get every talker but itself */
    uint64_t expected = 0, got = 0;
    for (int i = 0; i < G.n; i++) {
        bot *b = &G.b[i];
        if (!b->keyed || b->gone_unexpectedly) continue;
        for (int t = 0; t < G.talkers && t < 64; t++)
            if (t != i) expected += G.window_sent[t];
        got += b->media_rx_window;
    }
    double loss = expected ? 100.0 * (double)(expected > got ? expected - got : 0) / (double)expected : 0;
    int joins = G.n - (G.host ? 1 : 0);
    printf("{\"bots\":%d,\"talkers\":%d,\"slow_rtt_ms\":%u,\"meeting_id\":\"%s\","
           "\"join_over_s\":%.1f,\"keyed\":%zu,\"not_keyed\":%llu,"
           "\"join_to_key_ms\":{\"p50\":%llu,\"p90\":%llu,\"p99\":%llu,\"max\":%llu},",
           G.n, G.talkers, G.slow_rtt_ms, G.meeting_id, G.join_over_s, nl,
           (unsigned long long)not_keyed, (unsigned long long)pct(lat, nl, 50), (unsigned long long)pct(lat, nl, 90),
           (unsigned long long)pct(lat, nl, 99), (unsigned long long)(nl ? lat[nl - 1] : 0));
    /* the same for the bots on a normal link only (the slow ones wait by the link's RTT) */
    size_t nf = 0;
    for (int i = 0; i < G.n; i++)
        if (G.b[i].keyed && G.b[i].join_sent_at && !G.b[i].slow) lat[nf++] = G.b[i].keyed_at - G.b[i].join_sent_at;
    qsort(lat, nf, sizeof *lat, cmp_u64);
    int n_slow = 0;
    for (int i = 0; i < G.n; i++) n_slow += G.b[i].slow;
    printf("\"join_to_key_ms_normal_link\":{\"n\":%zu,\"p50\":%llu,\"p99\":%llu,\"max\":%llu},\"slow\":%d,", nf,
           (unsigned long long)pct(lat, nf, 50), (unsigned long long)pct(lat, nf, 99),
           (unsigned long long)(nf ? lat[nf - 1] : 0), n_slow);
    printf("\"epochs_seen_max\":%llu,\"final_epoch_min\":%u,\"final_epoch_max\":%u,\"alerts\":%llu,\"alert_kinds\":[",
           (unsigned long long)epochs_max, min_epoch == UINT32_MAX ? 0 : min_epoch, max_epoch,
           (unsigned long long)alerts);
    for (size_t i = 0; i < G.alert_kinds_n; i++) printf("%s\"%s\"", i ? "," : "", G.alert_kinds[i]);
    printf("],\"alert_first\":[");
    for (size_t i = 0; i < G.alert_kinds_n; i++) {
        hc_json j;
        hc_json_init(&j);
        hc_json_escape(&j, G.alert_first[i]);
        printf("%s\"%.*s\"", i ? "," : "", j.buf ? (int)j.len : 0, j.buf ? j.buf : "");
        hc_json_free(&j);
    }
    printf("],\"heartbeat_timeouts\":%llu,\"unexpected_disconnects\":%llu,\"errors\":%llu,",
           (unsigned long long)hbt, (unsigned long long)gone, (unsigned long long)errors);
    printf("\"control_bytes_rx\":%llu,\"control_frames_rx\":%llu,\"control_bytes_per_join\":%.0f,"
           "\"control_bytes_per_bot\":%.0f,",
           (unsigned long long)ctrl, (unsigned long long)ctrl_frames, joins > 0 ? (double)ctrl / joins : 0.0,
           G.n ? (double)ctrl / G.n : 0.0);
    printf("\"steady_s\":%.1f,\"frames_expected\":%llu,\"frames_received\":%llu,\"frame_loss_pct\":%.4f,"
           "\"sample_decoded\":%llu,\"sample_decode_errors\":%llu,",
           G.window_end > G.window_start ? (G.window_end - G.window_start) / 1000.0 : 0.0,
           (unsigned long long)expected, (unsigned long long)got, loss, (unsigned long long)G.decoded,
           (unsigned long long)G.decode_errors);
    printf("\"control_bytes_joins\":%llu,\"control_bytes_per_join_during_joins\":%.0f,",
           (unsigned long long)G.ctrl_at_joined, joins > 0 ? (double)G.ctrl_at_joined / joins : 0.0);
    printf("\"leaves\":%d,\"leave_over_s\":%.1f,\"rekeyed_after_last_leave_ms\":%lld,",
           G.leaves_done, G.leave_over_s,
           G.rekey_done_at ? (long long)(G.rekey_done_at - G.last_leave_at) : (G.leave_n ? -1LL : 0LL));
    /* the leader's switch-overs: certified once everyone acked, or at the timeout */
    uint64_t by_acks = 0, by_timeout = 0;
    for (int i = 0; i < G.n; i++)
        if (G.b[i].m) {
            uint64_t a, t;
            hc_meeting_switch_stats(G.b[i].m, &a, &t);
            by_acks += a;
            by_timeout += t;
        }
    printf("\"certified_by_acks\":%llu,\"certified_by_timeout\":%llu,", (unsigned long long)by_acks,
           (unsigned long long)by_timeout);
    printf("\"rosters_consistent\":%s,\"roster_views\":%d,\"roster_mismatched\":%d,",
           G.rosters_checked && !G.roster_mismatched ? "true" : "false", G.roster_views, G.roster_mismatched);
    /* the relay: CPU over the joins and over the steady window, memory at the window's end */
    if (G.rp[0].ok && G.rp[1].ok && G.rp[2].ok && G.rp[3].ok) {
        double jw = (G.rp[1].at - G.rp[0].at) / 1000.0, sw = (G.rp[3].at - G.rp[2].at) / 1000.0;
        double cj = jw > 0 ? 100.0 * (G.rp[1].cpu_s - G.rp[0].cpu_s) / jw : 0;
        double cs = sw > 0 ? 100.0 * (G.rp[3].cpu_s - G.rp[2].cpu_s) / sw : 0;
        printf("\"relay\":{\"cpu_pct_joining\":%.1f,\"cpu_pct_steady\":%.1f,\"cpu_pct_steady_per_member\":%.4f,"
               "\"rss_kb_start\":%ld,\"rss_kb\":%ld,\"rss_kb_per_member\":%.1f},",
               cj, cs, G.n ? cs / G.n : 0.0, G.rp[0].rss_kb, G.rp[3].rss_kb,
               G.n ? (double)(G.rp[3].rss_kb - G.rp[0].rss_kb) / G.n : 0.0);
    }
    if (G.relay_stats[0]) {
        /* the relay's last stats line, as it printed it */
        FILE *f = fopen(G.relay_stats, "r");
        static char line[16384], last[16384];
        last[0] = 0;
        while (f && fgets(line, sizeof line, f))
            if (!strncmp(line, "{\"event\":\"stats\",", 17)) snprintf(last, sizeof last, "%s", line);
        if (f) fclose(f);
        size_t ll = strlen(last);
        while (ll && (last[ll - 1] == '\n' || last[ll - 1] == '\r')) last[--ll] = 0;
        if (ll) printf("\"relay_stats\":%s,", last);
    }
    printf("\"crypto_cache\":{\"what\":\"Ed25519 verifications that succeeded are remembered and a repeat is "
           "answered from memory (loadgen only); key boxes, pairwise keys, SFrame and signing are per bot\","
           "\"hits\":%llu,\"misses\":%llu}}\n",
           (unsigned long long)vcache_hits, (unsigned long long)vcache_misses);
    fflush(stdout);
    free(lat);
    G.exit_code = (alerts || hbt || gone || not_keyed || !G.rosters_checked || G.roster_mismatched) ? 1 : 0;
}

static void usage(void) {
    fprintf(stderr,
            "usage: loadgen --relay HOST:PORT (--host | --meeting ID) --bots N [--talkers K]\n"
            "               [--join-over S] [--settle S] [--steady S] [--leave N] [--leave-over S]\n"
            "               [--slow-pct P] [--slow-rtt-ms MS] [--heartbeat-ms MS] [--quiet]\n"
            "               [--relay-pid PID] [--relay-stats FILE]\n");
    exit(2);
}

int main(int argc, char **argv) {
    G.n = 10;
    G.talkers = 3;
    G.join_over_s = 10;
    G.settle_s = 3;
    G.steady_s = 10;
    G.leave_over_s = 10;
    G.slow_rtt_ms = 300;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
#define ARG(name) (!strcmp(a, name) && v && (i++, 1))
        if (ARG("--relay")) {
            const char *c = strrchr(v, ':');
            if (!c || (size_t)(c - v) >= sizeof G.relay_host) usage();
            memcpy(G.relay_host, v, (size_t)(c - v));
            G.relay_port = (uint16_t)atoi(c + 1);
        } else if (!strcmp(a, "--host")) G.host = 1;
        else if (ARG("--meeting")) snprintf(G.meeting_id, sizeof G.meeting_id, "%s", v);
        else if (ARG("--bots")) G.n = atoi(v);
        else if (ARG("--talkers")) G.talkers = atoi(v);
        else if (ARG("--join-over")) G.join_over_s = atof(v);
        else if (ARG("--settle")) G.settle_s = atof(v);
        else if (ARG("--steady")) G.steady_s = atof(v);
        else if (ARG("--leave")) G.leave_n = atoi(v);
        else if (ARG("--leave-over")) G.leave_over_s = atof(v);
        else if (ARG("--slow-pct")) G.slow_pct = atoi(v);
        else if (ARG("--slow-rtt-ms")) G.slow_rtt_ms = (uint32_t)atoi(v);
        else if (ARG("--heartbeat-ms")) G.heartbeat_ms = (uint32_t)atoi(v);
        else if (ARG("--relay-pid")) G.relay_pid = atoi(v);
        else if (ARG("--relay-stats")) snprintf(G.relay_stats, sizeof G.relay_stats, "%s", v);
        else if (!strcmp(a, "--quiet")) G.quiet = 1;
        else usage();
#undef ARG
    }
    if (!G.relay_port || G.n < 1 || G.n > MAX_BOTS || (!G.host && !G.meeting_id[0]) || G.talkers < 0 ||
        G.talkers > 64 || G.slow_pct < 0 || G.slow_pct > 100)
        usage();
    if (sodium_init() < 0) fail("libsodium");
    G.clk_tck = sysconf(_SC_CLK_TCK);
    if (G.clk_tck <= 0) G.clk_tck = 100;
    raise_nofile(G.n);
    encode_packets();
    char err[200];
    G.dec_ok = hc_opus_dec_init(&G.dec, err, sizeof err) == 0;
    G.loop = uv_default_loop();
    G.b = calloc((size_t)G.n, sizeof *G.b);
    if (!G.b) fail("out of memory");
    for (int i = 0; i < G.n; i++) {
        G.b[i].i = i;
        G.b[i].talker = i < G.talkers;
        hc_identity_generate(&G.b[i].id);
    }
    /* the slow bots: spread evenly, never the host or a talker */
    if (G.slow_pct > 0) {
        int want = (G.n * G.slow_pct + 50) / 100, have = 0;
        for (int i = G.n - 1; i > G.talkers && have < want; i -= 100 / (G.slow_pct ? G.slow_pct : 1)) {
            G.b[i].slow = 1;
            have++;
        }
    }
    uv_update_time(G.loop);
    G.t0 = now_ms();
    if (G.host) bot_start(&G.b[0]);
    uv_timer_init(G.loop, &G.tick);
    uv_timer_init(G.loop, &G.talk);
    uv_timer_init(G.loop, &G.progress);
    uv_timer_start(&G.tick, on_tick, TICK_MS, TICK_MS);
    uv_timer_start(&G.talk, on_talk, 20, 20);
    uv_timer_start(&G.progress, on_progress, 1000, 1000);
    uv_run(G.loop, UV_RUN_DEFAULT);
    if (!G.quiet) fprintf(stderr, "\n");
    report();
    for (int i = 0; i < G.n; i++) {
        hc_meeting_free(G.b[i].m);
        q_free(&G.b[i]);
        hc_identity_wipe(&G.b[i].id);
    }
    free(G.b);
    if (G.dec_ok) hc_opus_dec_free(&G.dec);
    uv_loop_close(G.loop);
    return G.exit_code;
}
