/* bench_video: figures for the video path in one process, on this tree's video/vp8.h,
 * video/pattern.h, video/fragment.h and crypto/sframe.h. Nothing is asserted: figures for people.
 *
 * Per configuration (160x90 @ 15 fps / 100 kbit/s, the default, and 320x180 @ 15 fps / 200 kbit/s)
 * and per clip, NFRAMES frames (20 s at 15 fps):
 *   - clips: "pattern" (hc_pattern_draw, the built-in test picture) and "camera-like" (the same
 *     scene plus fresh sensor noise every frame, hc_pattern_noise: noise cannot be predicted from
 *     the last frame, so it costs bits and PSNR the way a real camera's does).
 *   - schedule, as a call makes it: a keyframe at 0 and 150 (the 10 s safety net at 15 fps), a
 *     recovery frame (GOLDEN only) every 25th other frame, inter frames otherwise.
 * 1. Codec: encode and decode wall time per frame (CLOCK_MONOTONIC around each call: mean, p50,
 *    p99, max), bytes per inter frame, keyframe and recovery frame (mean, max) against the frame
 *    budget kbps*1000/8/fps, achieved rate, PSNR-Y of every decoded picture against its source
 *    (mean, worst), stamps read back; the codec's CPU as a share of one core at the frame rate,
 *    from the thread's CPU time (CLOCK_THREAD_CPUTIME_ID, so preemption by other work on this
 *    shared machine is not counted) and, for comparison, from the wall-clock means.
 *    Loss: a second decoder misses inter frame 51; the mean PSNR-Y it shows until the recovery
 *    frame at 75, and at that frame.
 * 2. Fragments and SFrame per frame, as the sender and meeting do it (video/sender.c,
 *    app/meeting_keys.c): the encoded frames of (1) split with hc_vfrag_build, each fragment sealed
 *    with hc_sframe_sender_seal under the stream-2 key hc_frame_key derives (the 2-byte media
 *    header as AAD), keyframe and recovery fragments sent twice (sealed separately) as the sender
 *    does; then per datagram: SFrame header parse, replay check, hc_sframe_open, replay update,
 *    hc_vreasm_push. Cost per frame next to encode+decode, for each suite this CPU runs. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/bench_util.h"
#include "crypto/replay.h"
#include "crypto/sframe.h"
#include "net/media.h"
#include "video/fragment.h"
#include "video/frame.h"
#include "video/pattern.h"
#include "video/vp8.h"

#define NFRAMES 300
#define KEY_EVERY 150
#define RECOVERY_EVERY 25
#define LOST 51                    /* the inter frame the lossy receiver misses */
#define FRAME_CAP HC_VFRAME_MAX    /* what the sender's buffer holds (video/sender.h) */

/* A meeting id as the protocol allows it (digits only: hc_frame_key refuses anything else, which
 * is why an earlier version of this benchmark, using "bench-meeting", got no key). */
#define MEETING_ID "123456789"

/* The encoded frames of one run, kept so the crypto pass seals exactly what the codec made. */
typedef struct {
    uint8_t *data[NFRAMES];
    size_t len[NFRAMES];
    int kind[NFRAMES];
    uint32_t seq[NFRAMES];
    double codec_ms[NFRAMES];      /* encode + decode wall time of that frame */
    int n;
} run_out;

static const char *kind_name[3] = {"inter", "key", "recovery"};

static int codec_run(const char *label, int w, int h, int fps, int kbps, int camera, run_out *ro)
{
    hc_vp8_params p = {w, h, fps, kbps};
    hc_vp8_enc *enc = NULL;
    hc_vp8_dec *dec = NULL, *lossy = NULL;
    char err[200];
    if (hc_vp8_enc_open(&enc, &p, err, sizeof err) < 0 || hc_vp8_dec_open(&dec, w, h, err, sizeof err) < 0 ||
        hc_vp8_dec_open(&lossy, w, h, err, sizeof err) < 0) {
        printf("  %s: cannot open the codec: %s\n", label, err);
        hc_vp8_enc_close(enc);
        hc_vp8_dec_close(dec);
        return -1;
    }
    hc_video_frame src;
    if (hc_video_frame_alloc(&src, w, h) < 0) return -1;
    static double enc_ms[NFRAMES], dec_ms[NFRAMES], psnr[NFRAMES];
    static uint8_t buf[FRAME_CAP];
    double bytes[3] = {0, 0, 0}, enc_cpu = 0, dec_cpu = 0, lossy_sum = 0, at_recovery = 0;
    int count[3] = {0, 0, 0}, nd = 0, ne = 0, dropped = 0, decfail = 0, stamps_ok = 0, lossy_n = 0, lossy_refused = 0;
    size_t maxb[3] = {0, 0, 0};
    ro->n = 0;
    uint32_t lcg = 12345;
    for (int i = 0; i < NFRAMES; i++) {
        hc_pattern_draw(&src, (uint32_t)i, (uint32_t)(i * 1000 / fps));
        if (camera) hc_pattern_noise(&src, &lcg);
        int want = i % KEY_EVERY == 0 ? HC_VP8_KEY : i % RECOVERY_EVERY == 0 ? HC_VP8_RECOVERY : HC_VP8_INTER;
        size_t len = 0;
        double c0 = hc_bench_cpu_ms(), t0 = hc_bench_mono_ms();
        int got = hc_vp8_encode(enc, &src, want, buf, sizeof buf, &len);
        double t1 = hc_bench_mono_ms(), c1 = hc_bench_cpu_ms();
        enc_ms[ne++] = t1 - t0;
        enc_cpu += c1 - c0;
        if (got < 0) { printf("  %s: encoder error at frame %d\n", label, i); break; }
        if (len == 0) { dropped++; continue; }
        bytes[got] += (double)len;
        count[got]++;
        if (len > maxb[got]) maxb[got] = len;
        hc_video_frame out;
        c0 = hc_bench_cpu_ms();
        t0 = hc_bench_mono_ms();
        int dr = hc_vp8_decode(dec, buf, len, &out);
        t1 = hc_bench_mono_ms();
        c1 = hc_bench_cpu_ms();
        dec_cpu += c1 - c0;
        if (dr < 0) { decfail++; continue; }
        dec_ms[nd] = t1 - t0;
        psnr[nd] = hc_video_psnr_y(&src, &out);
        uint32_t sq;
        if (hc_pattern_read(&out, &sq, NULL) == 0 && sq == (uint32_t)i) stamps_ok++;
        /* the receiver that missed frame LOST shows what it can decode until the recovery frame */
        if (i != LOST && i <= LOST + RECOVERY_EVERY) {
            hc_video_frame lo;
            if (hc_vp8_decode(lossy, buf, len, &lo) == 0) {
                double q = hc_video_psnr_y(&src, &lo);
                if (i > LOST && i < 75) lossy_sum += q, lossy_n++;
                if (i == 75) at_recovery = q;
            } else if (i > LOST) {
                lossy_refused++;
            }
        }
        ro->data[ro->n] = malloc(len);
        if (!ro->data[ro->n]) { printf("out of memory\n"); exit(1); }
        memcpy(ro->data[ro->n], buf, len);
        ro->len[ro->n] = len;
        ro->kind[ro->n] = got;
        ro->seq[ro->n] = (uint32_t)i;
        ro->codec_ms[ro->n] = enc_ms[ne - 1] + dec_ms[nd];
        ro->n++;
        nd++;
    }
    hc_bench_dist de = hc_bench_distof(enc_ms, ne), dd = hc_bench_distof(dec_ms, nd), dp = hc_bench_distof(psnr, nd);
    double budget = (double)kbps * 1000 / 8 / fps;
    double sum_bytes = bytes[0] + bytes[1] + bytes[2];
    printf("  %-28s encode %.3f ms/frame mean (p50 %.3f, p99 %.3f, max %.3f) | decode %.3f ms mean (p50 %.3f, "
           "p99 %.3f, max %.3f)\n",
           label, de.mean, de.p50, de.p99, de.max, dd.mean, dd.p50, dd.p99, dd.max);
    for (int k = 0; k < 3; k++)
        printf("  %-28s %-8s %5.0f B mean (max %5zu, n=%3d) = %.2fx the %.0f B frame budget\n", "", kind_name[k],
               count[k] ? bytes[k] / count[k] : 0, maxb[k], count[k], count[k] ? bytes[k] / count[k] / budget : 0,
               budget);
    printf("  %-28s PSNR-Y %.2f dB mean (p50 %.2f, worst %.2f) | %.1f kbit/s of %d (%.2fx) | %d dropped by the "
           "rate control, %d decode failures, stamp read back on %d/%d\n",
           "", dp.mean, dp.p50, dp.min, sum_bytes * 8 * fps / 1000.0 / NFRAMES, kbps,
           sum_bytes * 8 * fps / 1000.0 / NFRAMES / kbps, dropped, decfail, stamps_ok, nd);
    printf("  %-28s one inter frame lost (%d): %.2f dB mean until the recovery frame (%d shown, %d refused), "
           "%.2f dB at the recovery frame 75\n",
           "", LOST, lossy_n ? lossy_sum / lossy_n : 0, lossy_n, lossy_refused, at_recovery);
    printf("  %-28s codec CPU at %d fps: %.2f %% of one core (thread CPU time: encode %.3f + decode %.3f ms/frame); "
           "%.2f %% from wall-clock means\n",
           "", fps, (enc_cpu / ne + dec_cpu / (nd ? nd : 1)) * fps / 10.0, enc_cpu / ne, dec_cpu / (nd ? nd : 1),
           (de.mean + dd.mean) * fps / 10.0);
    hc_video_frame_free(&src);
    hc_vp8_enc_close(enc);
    hc_vp8_dec_close(dec);
    hc_vp8_dec_close(lossy);
    return 0;
}

/* Fragment + seal every encoded frame of ro, then parse + replay-check + open + reassemble. */
static void crypto_run(const char *label, uint16_t suite, const run_out *ro)
{
    if (!hc_sframe_suite_available(suite)) {
        printf("  %-28s suite 0x%04X: not available on this CPU\n", label, suite);
        return;
    }
    uint8_t mk[32], uuid[16];
    for (int i = 0; i < 32; i++) mk[i] = (uint8_t)(i * 7 + 1);
    for (int i = 0; i < 16; i++) uuid[i] = (uint8_t)(i * 13 + 5);
    hc_sframe_key k;
    /* epoch 1, sender index 2, stream 2 (video): as app/meeting_keys.c derives its tx_video key */
    if (hc_frame_key(&k, suite, mk, uuid, MEETING_ID, 1, 2, HC_STREAM_VIDEO) < 0) {
        printf("  %-28s cannot derive a key\n", label);
        return;
    }
    hc_sframe_sender tx;
    hc_sframe_sender_init(&tx, &k);
    hc_replay win;
    hc_replay_init(&win);
    static hc_vreasm re;
    hc_vreasm_init(&re);
    static double seal_ms[NFRAMES], open_ms[NFRAMES];
    static uint8_t pkts[2 * HC_VFRAG_MAX][HC_MEDIA_MAX];
    static size_t plen[2 * HC_VFRAG_MAX];
    uint8_t pt[HC_MEDIA_MAX], rx[HC_MEDIA_MAX];
    int done = 0, bad = 0, dups = 0, kid_bad = 0;
    long datagrams = 0;
    size_t max_dgram = 0;
    double codec_sum = 0, cpu_sum = 0;
    uint32_t key_seq = 0;
    for (int i = 0; i < ro->n; i++) {
        if (ro->kind[i] == HC_VP8_KEY) key_seq = ro->seq[i];
        hc_vfrag_hdr fh = {.seq = ro->seq[i], .capture_ms = ro->seq[i] * 66u, .kind = (uint8_t)ro->kind[i],
                           .ref_key = key_seq};
        unsigned nf = hc_vfrag_count(ro->len[i]);
        unsigned copies = ro->kind[i] == HC_VP8_INTER ? 1 : 2;   /* the sender repeats key and recovery frames */
        unsigned np = 0;
        double c0 = hc_bench_cpu_ms(), t0 = hc_bench_mono_ms();
        for (unsigned c = 0; c < copies; c++)
            for (unsigned f = 0; f < nf; f++, np++) {
                uint8_t flags = 0;
                size_t n = hc_vfrag_build(pt, sizeof pt, &fh, ro->data[i], ro->len[i], f, &flags);
                pkts[np][0] = hc_media_byte0(HC_MEDIA_VIDEO);
                pkts[np][1] = flags;
                int m = n ? hc_sframe_sender_seal(&tx, pkts[np], HC_MEDIA_HDR_LEN, pt, n, pkts[np] + HC_MEDIA_HDR_LEN,
                                                  HC_MEDIA_MAX - HC_MEDIA_HDR_LEN)
                          : -1;
                plen[np] = m < 0 ? 0 : (size_t)m + HC_MEDIA_HDR_LEN;
            }
        double t1 = hc_bench_mono_ms();
        for (unsigned q = 0; q < np; q++) {
            uint64_t kid, ctr;
            if (plen[q] > max_dgram) max_dgram = plen[q];
            if (plen[q] == 0 ||
                hc_sframe_header_decode(pkts[q] + HC_MEDIA_HDR_LEN, plen[q] - HC_MEDIA_HDR_LEN, &kid, &ctr) < 0 ||
                hc_replay_check(&win, ctr) != HC_REPLAY_OK) {
                bad++;
                continue;
            }
            if (kid != k.kid) kid_bad++;
            int n = hc_sframe_open(&k, pkts[q] + HC_MEDIA_HDR_LEN, plen[q] - HC_MEDIA_HDR_LEN, pkts[q], HC_MEDIA_HDR_LEN,
                                   rx, sizeof rx, &ctr);
            if (n < 0) { bad++; continue; }
            hc_replay_update(&win, ctr);
            hc_vframe out;
            int r = hc_vreasm_push(&re, pkts[q][1], rx, (size_t)n, &out);
            if (r == HC_VR_DONE) {
                done++;
                if (out.len != ro->len[i] || memcmp(out.data, ro->data[i], out.len)) bad++;   /* must be the frame */
            } else if (r == HC_VR_DUPLICATE) {
                dups++;
            } else if (r != HC_VR_PENDING) {
                bad++;
            }
        }
        double t2 = hc_bench_mono_ms(), c2 = hc_bench_cpu_ms();
        seal_ms[i] = t1 - t0;
        open_ms[i] = t2 - t1;
        cpu_sum += c2 - c0;
        datagrams += np;
        codec_sum += ro->codec_ms[i];
    }
    hc_bench_dist ds = hc_bench_distof(seal_ms, ro->n), dop = hc_bench_distof(open_ms, ro->n);
    double codec_mean = ro->n ? codec_sum / ro->n : 0;
    printf("  %-28s %.2f datagrams/frame (largest %zu B) | fragment+seal %.4f ms/frame mean (p99 %.4f), "
           "open+reassemble %.4f ms (p99 %.4f)\n",
           label, ro->n ? (double)datagrams / ro->n : 0, max_dgram, ds.mean, ds.p99, dop.mean, dop.p99);
    printf("  %-28s %d/%d frames reassembled byte-exact, %d repeated fragments ignored, %d refused, %d wrong KID | "
           "crypto+framing = %.1f %% of encode+decode (%.3f ms); %.3f %% of a core at 15 fps (thread CPU)\n",
           "", done, ro->n, dups, bad, kid_bad, codec_mean > 0 ? 100.0 * (ds.mean + dop.mean) / codec_mean : 0,
           codec_mean, ro->n ? cpu_sum / ro->n * 15 / 10.0 : 0);
    hc_sframe_sender_wipe(&tx);
    hc_sframe_key_wipe(&k);
}

static void free_run(run_out *ro)
{
    for (int i = 0; i < ro->n; i++) free(ro->data[i]);
    ro->n = 0;
}

int main(void)
{
    if (sodium_init() < 0) {
        printf("bench_video: libsodium init failed\n");
        return 1;
    }
    static const struct {
        int w, h, fps, kbps;
    } cfg[] = {{160, 90, 15, 100}, {320, 180, 15, 200}};
    printf("VP8 (realtime, 1 thread, cpu-used -8, error-resilient, CBR), %d frames per run; key at 0 and %d, "
           "recovery every %d; no timing is asserted\n",
           NFRAMES, KEY_EVERY, RECOVERY_EVERY);
    static run_out ro;
    for (size_t c = 0; c < sizeof cfg / sizeof cfg[0]; c++) {
        for (int camera = 0; camera <= 1; camera++) {
            char label[96];
            snprintf(label, sizeof label, "%dx%d@%d %dk %s", cfg[c].w, cfg[c].h, cfg[c].fps, cfg[c].kbps,
                     camera ? "camera-like" : "pattern");
            printf("\n");
            if (codec_run(label, cfg[c].w, cfg[c].h, cfg[c].fps, cfg[c].kbps, camera, &ro) == 0) {
                crypto_run("chacha20-poly1305 0xF001", HC_SUITE_CHACHA, &ro);
                crypto_run("aes-256-gcm 0x0005", HC_SUITE_AES256GCM, &ro);
            }
            free_run(&ro);
        }
    }
    return 0;
}
