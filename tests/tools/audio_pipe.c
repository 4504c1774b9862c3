/* audio_pipe: two audio engines in one process, with a seeded network impairment between them.
 * No relay, no crypto: it checks the audio pipeline alone.
 *
 *   engine A (in: SPEC) -> on_payload -> impairment (loss, jitter, reorder, duplicates)
 *                       -> hc_audio_engine_receive on engine B (out: wav:FILE)
 *
 * Receiver reports are simulated the way the session will do them: every 500 ms B's measured loss
 * for A is fed to A's FEC loss hint (unless --loss-hint fixes it).
 *
 * By default everything runs on a simulated clock (audio/vclock.h): capture, the network's delays
 * and playout happen in simulated time, as fast as the CPU allows, so a busy or stalled machine
 * cannot make a frame late and a seeded run gives the same figures every time (the test suite's
 * quality checks). --realtime runs the same call on the libuv loop in real time (make bench:
 * what this machine does right now, stalls included).
 *
 * usage: audio_pipe --in SPEC --out SPEC [--seconds S] [--tail S] [--loss PCT] [--jitter MS]
 *                   [--delay MS] [--reorder PCT] [--dup PCT] [--seed N] [--frame-ms N]
 *                   [--low-delay] [--bitrate BPS] [--loss-hint PCT] [--mute-from S --mute-to S]
 *                   [--wake-late MS] [--realtime]
 * --wake-late MS (simulated clock only): every wake-up, of the pacers and of the network alike,
 * comes up to MS late (uniform, seeded): a busy machine's scheduling latency, made repeatable.
 * Prints one JSON line with both engines' statistics. Exit 0, 1 on error, 2 on usage. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "audio/engine.h"
#include "audio/engine_custom.h"
#include "audio/vclock.h"
#include "audio/wavfile.h"

#define MAXQ 2048
#define SENDER_A 0xA11CEu

typedef struct {
    uint64_t at_ns;
    size_t len;
    uint8_t data[1300];
} pending_pkt;

static struct {
    uv_loop_t *loop;
    hc_audio_engine *a, *b;
    uv_timer_t net, report, stop;  /* real time */
    hc_vclock *vc;                 /* simulated time (the default) */
    uint64_t vc_net;               /* the pending delivery event on vc */
    double wake_late_ms;
    uint64_t late_rng;             /* its own generator: lateness does not change what is lost */
    pending_pkt q[MAXQ];
    int qn;
    double loss, jitter_ms, delay_ms, reorder, dup;
    int loss_hint;                 /* -1: from B's reports */
    uint64_t rng;
    uint64_t sent, dropped, delivered, duplicated, reordered, queue_full;
    int frame_ms;
    double mute_from, mute_to;
    uint64_t t0;
} g;

static double rnd_of(uint64_t *x) {      /* xorshift64*, uniform in [0, 1) */
    *x ^= *x >> 12;
    *x ^= *x << 25;
    *x ^= *x >> 27;
    return (double)((*x * 2685821657736338717ull) >> 11) / 9007199254740992.0;
}
static double rnd(void) { return rnd_of(&g.rng); }
static uint64_t wake_lateness(void *ctx) {
    (void)ctx;
    return (uint64_t)(rnd_of(&g.late_rng) * g.wake_late_ms * 1e6);
}

static uint64_t now_ns(void) { return hc_clock_now(g.vc); }

static void deliver_due(void);
static void on_net(uv_timer_t *t) { (void)t, deliver_due(); }
static void on_vnet(void *ctx, uint64_t now) { (void)ctx, (void)now, g.vc_net = 0, deliver_due(); }

/* (Re)arm the delivery timer for the earliest queued packet. */
static void arm_net(void) {
    if (g.qn == 0) return;
    uint64_t first = g.q[0].at_ns;
    for (int i = 1; i < g.qn; i++)
        if (g.q[i].at_ns < first) first = g.q[i].at_ns;
    if (g.vc) {
        hc_vclock_cancel(g.vc, g.vc_net);
        g.vc_net = hc_vclock_at(g.vc, first, on_vnet, NULL);
        return;
    }
    uint64_t now = uv_hrtime();
    uv_update_time(g.loop);
    uv_timer_start(&g.net, on_net, first > now ? (first - now + 999999) / 1000000 : 0, 0);
}

static void enqueue(const uint8_t *p, size_t len, uint64_t at) {
    if (g.qn == MAXQ || len > sizeof g.q[0].data) {
        g.queue_full++;
        return;
    }
    pending_pkt *q = &g.q[g.qn++];
    q->at_ns = at;
    q->len = len;
    memcpy(q->data, p, len);
    arm_net();
}

static void deliver_due(void) {
    uint64_t now = now_ns();
    /* deliver everything due, earliest first */
    for (;;) {
        int best = -1;
        for (int i = 0; i < g.qn; i++)
            if (g.q[i].at_ns <= now && (best < 0 || g.q[i].at_ns < g.q[best].at_ns)) best = i;
        if (best < 0) break;
        hc_audio_engine_receive(g.b, SENDER_A, g.q[best].data, g.q[best].len);
        g.delivered++;
        g.q[best] = g.q[--g.qn];
    }
    arm_net();
}

static void on_payload(void *ctx, const uint8_t *p, size_t len, uint8_t level) {
    (void)ctx; (void)level;
    g.sent++;
    if (rnd() * 100 < g.loss) {
        g.dropped++;
        return;
    }
    double d = g.delay_ms + rnd() * g.jitter_ms;
    if (rnd() * 100 < g.reorder) {          /* held back past the next packet or two */
        d += g.frame_ms * (1.0 + rnd());
        g.reordered++;
    }
    uint64_t now = now_ns();
    enqueue(p, len, now + (uint64_t)(d * 1e6));
    if (rnd() * 100 < g.dup) {
        enqueue(p, len, now + (uint64_t)((d + rnd() * 2 * g.frame_ms) * 1e6));
        g.duplicated++;
    }
}

static void report(void) {
    if (g.mute_to > g.mute_from) {
        double s = (double)(now_ns() - g.t0) / 1e9;
        hc_audio_engine_set_muted(g.a, s >= g.mute_from && s < g.mute_to);
    }
    if (g.loss_hint >= 0) return;
    hc_audio_rx_stats st;
    if (hc_audio_engine_rx_stats(g.b, SENDER_A, &st) == 0) hc_audio_engine_set_loss_percent(g.a, (int)ceil(st.loss_pct));
}

static void on_report(uv_timer_t *t) { (void)t, report(); }
static void on_vreport(void *ctx, uint64_t now) {
    (void)ctx;
    report();
    hc_vclock_at(g.vc, now + 500000000ull, on_vreport, NULL);
}

static void stop_engines(void) {
    hc_audio_engine_stop(g.a);
    hc_audio_engine_stop(g.b);
}

static void on_stop(uv_timer_t *t) {
    (void)t;
    stop_engines();
    uv_timer_stop(&g.net);
    uv_timer_stop(&g.report);
}

static int usage(void) {
    fprintf(stderr, "usage: audio_pipe --in SPEC --out SPEC [--seconds S] [--tail S] [--loss PCT] [--jitter MS]\n"
                    "       [--delay MS] [--reorder PCT] [--dup PCT] [--seed N] [--frame-ms N] [--low-delay]\n"
                    "       [--bitrate BPS] [--loss-hint PCT] [--mute-from S --mute-to S] [--wake-late MS]\n"
                    "       [--realtime]\n");
    return 2;
}

int main(int argc, char **argv) {
    const char *in = NULL, *out = NULL;
    double seconds = 0, tail = 0.6;
    hc_audio_config cfg;
    hc_audio_config_defaults(&cfg);
    g.loss_hint = -1;
    g.rng = 1;
    int realtime = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--low-delay")) { cfg.low_delay = 1; continue; }
        if (!strcmp(a, "--realtime")) { realtime = 1; continue; }
        if (!v) return usage();
        i++;
        if (!strcmp(a, "--in")) in = v;
        else if (!strcmp(a, "--out")) out = v;
        else if (!strcmp(a, "--seconds")) seconds = atof(v);
        else if (!strcmp(a, "--tail")) tail = atof(v);
        else if (!strcmp(a, "--loss")) g.loss = atof(v);
        else if (!strcmp(a, "--jitter")) g.jitter_ms = atof(v);
        else if (!strcmp(a, "--delay")) g.delay_ms = atof(v);
        else if (!strcmp(a, "--reorder")) g.reorder = atof(v);
        else if (!strcmp(a, "--dup")) g.dup = atof(v);
        else if (!strcmp(a, "--seed")) g.rng = strtoull(v, NULL, 0) * 0x9E3779B97F4A7C15ull + 1;
        else if (!strcmp(a, "--frame-ms")) cfg.frame_ms = atoi(v);
        else if (!strcmp(a, "--bitrate")) cfg.bitrate = atoi(v);
        else if (!strcmp(a, "--loss-hint")) g.loss_hint = atoi(v);
        else if (!strcmp(a, "--mute-from")) g.mute_from = atof(v);
        else if (!strcmp(a, "--mute-to")) g.mute_to = atof(v);
        else if (!strcmp(a, "--wake-late")) g.wake_late_ms = atof(v);
        else return usage();
    }
    if (!in || !out) return usage();
    char err[2048];
    if (seconds <= 0) {
        if (strncmp(in, "wav:", 4)) {
            fprintf(stderr, "audio_pipe: --seconds is needed for %s\n", in);
            return 2;
        }
        hc_wav_reader *r;
        if (hc_wav_reader_open(&r, in + 4, 48000, err, sizeof err)) {
            fprintf(stderr, "audio_pipe: %s\n", err);
            return 1;
        }
        seconds = hc_wav_reader_seconds(r);
        hc_wav_reader_close(r);
    }
    g.frame_ms = cfg.low_delay ? 10 : cfg.frame_ms;

    uv_loop_t loop;
    uv_loop_init(&loop);
    g.loop = &loop;
    if (!realtime && !(g.vc = hc_vclock_new(1000000000ull))) {
        fprintf(stderr, "audio_pipe: out of memory\n");
        return 1;
    }
    if (g.wake_late_ms > 0) {
        if (!g.vc) {
            fprintf(stderr, "audio_pipe: --wake-late needs the simulated clock (not --realtime)\n");
            return 2;
        }
        g.late_rng = g.rng ^ 0x5DEECE66Dull;
        hc_vclock_set_lateness(g.vc, wake_lateness, NULL);
    }
    cfg.vclock = g.vc;
    hc_audio_config ca = cfg, cb = cfg;
    ca.in_spec = in;
    ca.out_spec = "null";
    cb.in_spec = "silence";
    cb.out_spec = out;
    hc_audio_callbacks cba = {NULL, on_payload}, cbb = {NULL, NULL};
    if (hc_audio_engine_new(&g.a, &loop, &ca, &cba, err, sizeof err) ||
        hc_audio_engine_new(&g.b, &loop, &cb, &cbb, err, sizeof err)) {
        fprintf(stderr, "audio_pipe: %s\n", err);
        hc_audio_engine_free(g.a);
        uv_run(&loop, UV_RUN_DEFAULT);
        uv_loop_close(&loop);
        hc_vclock_free(g.vc);
        return 1;
    }
    if (g.loss_hint >= 0) hc_audio_engine_set_loss_percent(g.a, g.loss_hint);
    uv_timer_init(&loop, &g.net);
    uv_timer_init(&loop, &g.report);
    uv_timer_init(&loop, &g.stop);
    g.t0 = now_ns();
    /* B first, so its playout clock is running when the first packet lands. */
    if (hc_audio_engine_start(g.b, err, sizeof err) || hc_audio_engine_start(g.a, err, sizeof err)) {
        fprintf(stderr, "audio_pipe: %s\n", err);
        return 1;
    }
    if (g.vc) {
        hc_vclock_at(g.vc, g.t0 + 100000000ull, on_vreport, NULL);
        hc_vclock_run_until(g.vc, g.t0 + (uint64_t)((seconds + tail) * 1e9));
        stop_engines();
    } else {
        uv_timer_start(&g.report, on_report, 100, 500);
        uv_timer_start(&g.stop, on_stop, (uint64_t)((seconds + tail) * 1000), 0);
        uv_run(&loop, UV_RUN_DEFAULT);
    }

    hc_audio_tx_stats tx;
    hc_audio_rx_stats rx;
    hc_audio_engine_tx_stats(g.a, &tx);
    int have_rx = hc_audio_engine_rx_stats(g.b, SENDER_A, &rx) == 0;
    if (!have_rx) memset(&rx, 0, sizeof rx);
    hc_jb_counters jc;
    hc_audio_engine_jb_counters(g.b, SENDER_A, &jc);
    printf("{\"clock\":\"%s\",\"wake_late_ms\":%g,\"in\":\"%s\",\"out\":\"%s\",\"seconds\":%.3f,\"frame_ms\":%d,\"loss\":%g,\"jitter_ms\":%g,"
           "\"reorder\":%g,\"dup\":%g,"
           "\"tx\":{\"frames_sent\":%llu,\"dtx_skipped\":%llu,\"bytes_sent\":%llu,\"loss_hint\":%d},"
           "\"net\":{\"sent\":%llu,\"dropped\":%llu,\"delivered\":%llu,\"duplicated\":%llu,\"reordered\":%llu,"
           "\"queue_full\":%llu},"
           "\"rx\":{\"frames\":%llu,\"received\":%llu,\"lost\":%llu,\"late\":%llu,\"duplicates\":%llu,"
           "\"concealed\":%llu,\"fec_recovered\":%llu,\"loss_pct\":%.2f,\"jitter_ms\":%.2f,\"delay_ms\":%d,"
           "\"jb\":{\"inserted\":%llu,\"skipped\":%llu,\"silence_slots\":%llu,\"out_of_range\":%llu,\"resyncs\":%llu}}}\n",
           g.vc ? "simulated" : "real", g.wake_late_ms, hc_audio_engine_describe_in(g.a), hc_audio_engine_describe_out(g.b),
           seconds + tail, g.frame_ms, g.loss,
           g.jitter_ms, g.reorder, g.dup, (unsigned long long)tx.frames_sent, (unsigned long long)tx.dtx_skipped,
           (unsigned long long)tx.bytes_sent, tx.loss_percent, (unsigned long long)g.sent,
           (unsigned long long)g.dropped, (unsigned long long)g.delivered, (unsigned long long)g.duplicated,
           (unsigned long long)g.reordered, (unsigned long long)g.queue_full, (unsigned long long)rx.frames,
           (unsigned long long)rx.received, (unsigned long long)rx.lost, (unsigned long long)rx.late,
           (unsigned long long)rx.duplicates, (unsigned long long)rx.concealed, (unsigned long long)rx.fec_recovered,
           rx.loss_pct, rx.jitter_ms, rx.delay_ms, (unsigned long long)jc.inserted, (unsigned long long)jc.skipped,
           (unsigned long long)jc.silence_slots, (unsigned long long)jc.out_of_range, (unsigned long long)jc.resyncs);
    hc_audio_engine_free(g.a);
    hc_audio_engine_free(g.b);
    uv_close((uv_handle_t *)&g.net, NULL);
    uv_close((uv_handle_t *)&g.report, NULL);
    uv_close((uv_handle_t *)&g.stop, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    hc_vclock_free(g.vc);
    int rc = uv_loop_close(&loop);
    if (rc) fprintf(stderr, "audio_pipe: loop still has handles (%s)\n", uv_strerror(rc));
    return rc ? 1 : 0;
}
