/* bench_audio: figures for the audio pipeline. Nothing is asserted.
 *
 * 1. Opus cost: encode / decode / PLC microseconds per frame (32 kbit/s, complexity 5, mono
 *    48 kHz) on a synthetic voiced signal, for VOIP 20 ms and RESTRICTED_LOWDELAY 10 ms.
 * 2. Payload bytes per second per stream (what on_payload hands to the session: u16 seq + Opus),
 *    talking and in silence (DTX frames are not sent).
 * 3. PCM-in -> PCM-out latency through two engines in one process (A -> B, no network, no
 *    device): A's input is a train of 10 ms chirps every 100 ms, B's output is recorded with the
 *    loop-clock time of each frame; each chirp is found in the output by normalised
 *    cross-correlation and its latency is (time its first sample left B) - (time its first
 *    sample entered A). Both on uv_hrtime. A's frame is complete one frame after its first
 *    sample, so the figure includes the packetisation time, Opus look-ahead, the jitter buffer
 *    and the playout scheduling. p50/p99 over 200 chirps, 20 ms and low-delay profiles, after the
 *    new stream's probation (jitter.h: a frame plus the FEC frame of delay for its first 5 s of
 *    audio; the chirps of that phase are reported apart).
 * 4. CPU of that engine pair over the run (getrusage, user+system, in % of one core). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <uv.h>

#include "audio/engine.h"
#include "audio/engine_custom.h"
#include "audio/opus_codec.h"

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void speechlike(float *x, size_t n) {
    double ph = 0;
    for (size_t i = 0; i < n; i++) {
        double t = (double)i / 48000, f0 = 130 + 50 * sin(2 * M_PI * 1.3 * t);
        ph += 2 * M_PI * f0 / 48000;
        double formant = 700 + 400 * sin(2 * M_PI * 2.1 * t);
        double env = 0.55 + 0.45 * sin(2 * M_PI * 4.0 * t);
        double v = 0;
        for (int h = 1; h <= 25; h++) {
            double fh = h * f0, g = exp(-pow((fh - formant) / 500.0, 2)) + 0.1 / h;
            v += g * sin(h * ph);
        }
        x[i] = (float)(0.2 * env * v);
    }
}

/* ------------------------------------------------------------------------------------------ */
static void codec_bench(const char *name, int frame_ms, int low_delay) {
    enum { SECS = 10 };
    int fs = 48 * frame_ms, nfr = SECS * 1000 / frame_ms;
    float *x = malloc(sizeof(float) * (size_t)nfr * (size_t)fs), pcm[HC_OPUS_MAX_FRAME];
    uint8_t (*pk)[HC_OPUS_MAX_PACKET] = malloc((size_t)nfr * HC_OPUS_MAX_PACKET);
    int *len = malloc(sizeof(int) * (size_t)nfr);
    speechlike(x, (size_t)nfr * (size_t)fs);
    hc_opus_enc enc;
    hc_opus_dec dec;
    char err[128];
    if (hc_opus_enc_init(&enc, frame_ms, 32000, low_delay, err, sizeof err) || hc_opus_dec_init(&dec, err, sizeof err)) {
        printf("%s: %s\n", name, err);
        return;
    }
    double t0 = now_s();
    size_t bytes = 0;
    int sent = 0;
    for (int k = 0; k < nfr; k++) {
        len[k] = hc_opus_enc_encode(&enc, x + (size_t)k * fs, pk[k], HC_OPUS_MAX_PACKET);
        if (!hc_opus_is_dtx((size_t)len[k])) bytes += (size_t)len[k] + 2, sent++;
    }
    double t_enc = now_s() - t0;
    t0 = now_s();
    for (int k = 0; k < nfr; k++) hc_opus_dec_decode(&dec, pk[k], (size_t)len[k], pcm, HC_OPUS_MAX_FRAME);
    double t_dec = now_s() - t0;
    t0 = now_s();
    for (int k = 0; k < nfr; k++) hc_opus_dec_plc(&dec, pcm, fs);
    double t_plc = now_s() - t0;
    /* silence: DTX */
    memset(x, 0, sizeof(float) * (size_t)fs);
    size_t sbytes = 0;
    int ssent = 0;
    for (int k = 0; k < nfr; k++) {
        int n = hc_opus_enc_encode(&enc, x, pk[0], HC_OPUS_MAX_PACKET);
        if (!hc_opus_is_dtx((size_t)n)) sbytes += (size_t)n + 2, ssent++;
    }
    double frame_us = frame_ms * 1000.0;
    printf("%-22s encode %6.1f us/frame (%5.1fx RT)  decode %5.1f us  PLC %5.1f us  | talking: %5.0f B/s "
           "payload, %4.1f pkt/s, mean %5.1f B  | silence (DTX): %4.0f B/s, %4.1f pkt/s\n",
           name, t_enc * 1e6 / nfr, frame_us / (t_enc * 1e6 / nfr), t_dec * 1e6 / nfr, t_plc * 1e6 / nfr,
           (double)bytes / SECS, (double)sent / SECS, sent ? (double)bytes / sent : 0, (double)sbytes / SECS,
           (double)ssent / SECS);
    printf("%-22s   on the wire with ~52 B/packet of IPv4+UDP (28) and E2EE framing (~24): talking "
           "%.1f kbit/s, silence %.1f kbit/s\n",
           "", ((double)bytes + 52.0 * sent) * 8 / SECS / 1000, ((double)sbytes + 52.0 * ssent) * 8 / SECS / 1000);
    hc_opus_enc_free(&enc);
    hc_opus_dec_free(&dec);
    free(x);
    free(pk);
    free(len);
}

/* ------------------------------------------------------------------------------------------ */
#define CHIRP 480                /* 10 ms */
#define SPACING 4800             /* every 100 ms */
#define NCHIRPS 200
#define WARMUP_S 0.5
#define SETTLE_CHIRPS 60            /* 6 s: probation (5 s of audio) and its step down */
#define MAXOUT (48000 * 30)

static float chirp[CHIRP];

typedef struct {
    hc_audio_engine *a, *b;
    uint64_t in_pos;                 /* samples produced by A's source */
    double t_in[SETTLE_CHIRPS + NCHIRPS + 4];   /* s, uv_hrtime, first sample of chirp i entered A */
    int64_t chirp0;                  /* input sample index of chirp 0 */
    float *out;
    size_t out_len;
    double *out_t;                   /* per output frame: when its first sample left B */
    size_t out_frames, frame;
    int done;
} lat_ctx;

static void fill(void *ctx, float *pcm, size_t n, uint64_t t_first_ns) {
    lat_ctx *L = ctx;
    for (size_t i = 0; i < n; i++) {
        int64_t s = (int64_t)(L->in_pos + i) - L->chirp0;
        float v = 0;
        if (s >= 0 && s / SPACING < SETTLE_CHIRPS + NCHIRPS + 4) {
            int64_t k = s / SPACING, off = s % SPACING;
            if (off < CHIRP) v = chirp[off];
            if (off == 0) L->t_in[k] = (double)t_first_ns * 1e-9 + (double)i / 48000.0;
        }
        pcm[i] = v;
    }
    L->in_pos += n;
}

static void consume(void *ctx, const float *pcm, size_t n, uint64_t t_play_ns) {
    lat_ctx *L = ctx;
    if (L->out_len + n > MAXOUT) return;
    memcpy(L->out + L->out_len, pcm, n * sizeof *pcm);
    L->out_t[L->out_frames++] = (double)t_play_ns * 1e-9;
    L->out_len += n;
}

static void a_payload(void *ctx, const uint8_t *p, size_t len, uint8_t level) {
    (void)level;
    lat_ctx *L = ctx;
    hc_audio_engine_receive(L->b, 42, p, len);
}

static void stop_cb(uv_timer_t *t) {
    lat_ctx *L = t->data;
    hc_audio_engine_stop(L->a);
    hc_audio_engine_stop(L->b);
}

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void latency_bench(const char *name, int frame_ms, int low_delay) {
    for (int i = 0; i < CHIRP; i++) {      /* 300 -> 3000 Hz, Hann window */
        double t = (double)i / 48000, T = (double)CHIRP / 48000;
        double ph = 2 * M_PI * (300 * t + (3000 - 300) * t * t / (2 * T));
        chirp[i] = (float)(0.5 * sin(ph) * (0.5 - 0.5 * cos(2 * M_PI * i / (CHIRP - 1))));
    }
    static lat_ctx L;
    memset(&L, 0, sizeof L);
    L.out = calloc(MAXOUT, sizeof(float));
    L.out_t = calloc(MAXOUT / 480 + 1, sizeof(double));
    L.chirp0 = (int64_t)(WARMUP_S * 48000);
    uv_loop_t loop;
    uv_loop_init(&loop);
    hc_audio_config cfg;
    hc_audio_config_defaults(&cfg);
    cfg.frame_ms = frame_ms;
    cfg.low_delay = low_delay;
    hc_audio_callbacks cba = {&L, a_payload}, cbb = {NULL, NULL};
    hc_audio_custom_io ioa = {fill, &L, NULL, NULL}, iob = {NULL, NULL, consume, &L};
    cfg.out_spec = "null";
    hc_audio_config cfgb = cfg;
    cfgb.in_spec = "silence";
    char err[512];
    if (hc_audio_engine_new_custom(&L.b, &loop, &cfgb, &cbb, &iob, err, sizeof err) ||
        hc_audio_engine_new_custom(&L.a, &loop, &cfg, &cba, &ioa, err, sizeof err) ||
        hc_audio_engine_start(L.b, err, sizeof err) || hc_audio_engine_start(L.a, err, sizeof err)) {
        printf("%s: %s\n", name, err);
        return;
    }
    double run_s = WARMUP_S + (SETTLE_CHIRPS + NCHIRPS + 1) * (double)SPACING / 48000 + 0.5;
    uv_timer_t stop;
    uv_timer_init(&loop, &stop);
    stop.data = &L;
    uv_timer_start(&stop, stop_cb, (uint64_t)(run_s * 1000), 0);
    struct rusage r0, r1;
    getrusage(RUSAGE_SELF, &r0);
    double w0 = now_s();
    uv_run(&loop, UV_RUN_DEFAULT);
    double wall = now_s() - w0;
    getrusage(RUSAGE_SELF, &r1);
    double cpu = (double)(r1.ru_utime.tv_sec - r0.ru_utime.tv_sec) + (r1.ru_utime.tv_usec - r0.ru_utime.tv_usec) * 1e-6 +
                 (double)(r1.ru_stime.tv_sec - r0.ru_stime.tv_sec) + (r1.ru_stime.tv_usec - r0.ru_stime.tv_usec) * 1e-6;
    hc_audio_tx_stats tx;
    hc_audio_rx_stats rx;
    hc_audio_engine_tx_stats(L.a, &tx);
    hc_audio_engine_rx_stats(L.b, 42, &rx);

    /* find each chirp in B's output */
    size_t fsz = (size_t)hc_audio_engine_frame_samples(L.b);
    double lat[NCHIRPS], prob[SETTLE_CHIRPS];
    int nl = 0, np = 0, weak = 0;
    double e_t = 0;
    for (int i = 0; i < CHIRP; i++) e_t += (double)chirp[i] * chirp[i];
    for (int k = 0; k < SETTLE_CHIRPS + NCHIRPS; k++) {
        if (L.t_in[k] == 0) continue;
        if (k >= SETTLE_CHIRPS - 10 && k < SETTLE_CHIRPS) continue;   /* the step down */
        /* first output frame that left B after the chirp entered A */
        size_t f0 = 0;
        while (f0 < L.out_frames && L.out_t[f0] < L.t_in[k]) f0++;
        size_t start = f0 * fsz, end = start + (size_t)(0.095 * 48000);
        double best = 0;
        size_t bp = 0;
        for (size_t p = start; p + CHIRP <= L.out_len && p < end; p++) {
            double xy = 0, yy = 0;
            for (int i = 0; i < CHIRP; i++) xy += (double)chirp[i] * L.out[p + i], yy += (double)L.out[p + i] * L.out[p + i];
            double c = yy > 0 ? xy / sqrt(e_t * yy) : 0;
            if (c > best) best = c, bp = p;
        }
        if (best < 0.6) {
            weak++;
            continue;
        }
        double t_out = L.out_t[bp / fsz] + (double)(bp % fsz) / 48000.0;
        if (k < SETTLE_CHIRPS) prob[np++] = (t_out - L.t_in[k]) * 1000.0;
        else lat[nl++] = (t_out - L.t_in[k]) * 1000.0;
    }
    qsort(lat, (size_t)nl, sizeof lat[0], cmp_d);
    qsort(prob, (size_t)np, sizeof prob[0], cmp_d);
    printf("%-22s PCM-in -> PCM-out latency over %d chirps: p50 %.1f ms, p99 %.1f ms, min %.1f, max %.1f "
           "(%d not found)\n",
           name, nl, nl ? lat[nl / 2] : 0, nl ? lat[(nl * 99) / 100] : 0, nl ? lat[0] : 0, nl ? lat[nl - 1] : 0,
           weak);
    if (np)
        printf("%-22s   first 5 s of the stream (probation: a frame + the FEC frame of delay), %d chirps: p50 %.1f ms\n",
               "", np, prob[np / 2]);
    printf("%-22s   jitter buffer target %d ms; engine pair CPU %.2f%% of one core over %.1f s "
           "(A encodes, B decodes and mixes); %llu payloads, %.0f B/s\n",
           "", rx.delay_ms, 100.0 * cpu / wall, wall, (unsigned long long)tx.frames_sent,
           (double)tx.bytes_sent / wall);
    hc_audio_engine_free(L.a);
    hc_audio_engine_free(L.b);
    uv_close((uv_handle_t *)&stop, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    free(L.out);
    free(L.out_t);
}

int main(void) {
    printf("Opus 1.3 mono 48 kHz, 32 kbit/s, complexity 5, FEC on (no loss hint), DTX on; 10 s of a "
           "synthetic voiced signal\n");
    codec_bench("VOIP 20 ms", 20, 0);
    codec_bench("VOIP 10 ms", 10, 0);
    codec_bench("VOIP 40 ms", 40, 0);
    codec_bench("LOWDELAY 10 ms", 10, 1);
    printf("\nTwo engines in one process on one loop (A: chirp train -> Opus -> payloads -> B: jitter "
           "buffer -> decode -> mix -> recorded), no network, no device; real time:\n");
    latency_bench("VOIP 20 ms", 20, 0);
    latency_bench("LOWDELAY 10 ms", 10, 1);
    return 0;
}
