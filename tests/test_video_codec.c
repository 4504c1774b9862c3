/* VP8 (video/vp8.c): quality and sizes at the call's two sizes, frame types (key at start, forced
 * keys, inter in between), recovery from GOLDEN after a gap against a plain inter after the same
 * gap, and the decoder's own header checks (hostile sizes refused before libvpx, truncated and
 * garbage input refused without a crash). The picture is drawn here (a drifting gradient, a
 * moving box, fixed texture) so this test does not depend on video/pattern.c. */
#include "tests/testutil.h"

#include <math.h>

#include "video/pattern.h"
#include "video/vp8.h"

#define CAP 65536

static uint8_t pkt[70][CAP];
static size_t pkt_len[70];
static int pkt_kind[70];

static uint32_t hash32(uint32_t x)
{
    x ^= x >> 16; x *= 0x7feb352du; x ^= x >> 15; x *= 0x846ca68bu; x ^= x >> 16;
    return x;
}

/* A camera-like moving picture: smooth gradients that drift, a textured box that moves 3 px per
 * frame, light fixed texture everywhere (sensor-noise-like but static, as on a steady camera). */
static void scene(hc_video_frame *f, int i)
{
    int bx = (i * 3) % (f->w - f->w / 4), by = (i * 2) % (f->h - f->h / 3);
    for (int y = 0; y < f->h; y++)
        for (int x = 0; x < f->w; x++) {
            int v = 60 + (x * 100) / f->w + (y * 60) / f->h + (int)(20 * sin((x + i * 2) * 0.08));
            if (x >= bx && x < bx + f->w / 4 && y >= by && y < by + f->h / 3)
                v = 200 - (int)(hash32((uint32_t)((x - bx) / 3 * 977 + (y - by) / 3)) % 60);
            v += (int)(hash32((uint32_t)(y * 4096 + x)) % 7) - 3;
            f->y[y * f->stride_y + x] = (uint8_t)(v < 16 ? 16 : v > 235 ? 235 : v);
        }
    for (int y = 0; y < f->h / 2; y++)
        for (int x = 0; x < f->w / 2; x++) {
            f->u[y * f->stride_u + x] = (uint8_t)(110 + (x * 30) / (f->w / 2));
            f->v[y * f->stride_v + x] = (uint8_t)(140 - (y * 20) / (f->h / 2) + ((i / 4) % 8));
        }
}

static void roundtrip(int w, int h, int fps, int kbps)
{
    char err[200];
    hc_vp8_enc *e;
    hc_vp8_dec *d;
    hc_vp8_params p = {w, h, fps, kbps};
    assert_int_equal(hc_vp8_enc_open(&e, &p, err, sizeof err), 0);
    assert_int_equal(hc_vp8_dec_open(&d, w, h, err, sizeof err), 0);
    hc_video_frame src;
    assert_int_equal(hc_video_frame_alloc(&src, w, h), 0);
    double psnr_sum = 0;
    size_t inter_bytes = 0, key_max = 0;
    int inters = 0;
    for (int i = 0; i < 60; i++) {
        scene(&src, i);
        int want = (i == 0 || i == 30) ? HC_VP8_KEY : HC_VP8_INTER;
        int got = hc_vp8_encode(e, &src, want, pkt[0], CAP, &pkt_len[0]);
        assert_int_equal(got, want);
        assert_true(pkt_len[0] > 0);
        int pw = 0, ph = 0;
        assert_int_equal(hc_vp8_peek(pkt[0], pkt_len[0], &pw, &ph), want == HC_VP8_KEY ? 1 : 0);
        if (want == HC_VP8_KEY) {
            assert_int_equal(pw, w);
            assert_int_equal(ph, h);
            if (pkt_len[0] > key_max) key_max = pkt_len[0];
        } else if (i > 2 && i != 31) {
            inter_bytes += pkt_len[0], inters++;
        }
        hc_video_frame out;
        assert_int_equal(hc_vp8_decode(d, pkt[0], pkt_len[0], &out), 0);
        assert_int_equal(out.w, w);
        assert_int_equal(out.h, h);
        psnr_sum += hc_video_psnr_y(&src, &out);
    }
    double budget = (double)kbps * 1000 / 8 / fps;
    print_message("%dx%d@%d %d kbps: PSNR-Y %.2f dB, key %zu B (%.2fx budget %.0f B), inter mean %.0f B\n", w, h,
                  fps, kbps, psnr_sum / 60, key_max, (double)key_max / budget, budget,
                  (double)inter_bytes / inters);
    assert_true(psnr_sum / 60 >= 32.0);
    assert_true((double)key_max <= 5 * budget);
    /* CBR: the inter frames stay near the budget (generous: the rate control overshoots early) */
    assert_true((double)inter_bytes / inters <= 2 * budget);
    hc_video_frame_free(&src);
    hc_vp8_enc_close(e);
    hc_vp8_dec_close(d);
}

static void test_roundtrip_160(void **st) { (void)st; roundtrip(160, 90, 15, 100); }
static void test_roundtrip_320(void **st) { (void)st; roundtrip(320, 180, 15, 200); }

/* key, inters 1..10, a RECOVERY frame 11. Decoder A sees 0..4 then inter 10 (the next plain
 * inter after the gap 5..9); decoder B sees 0..4 then the recovery frame 11. */
static void test_recovery(void **st)
{
    (void)st;
    char err[200];
    hc_vp8_enc *e;
    hc_vp8_params p = {160, 90, 15, 100};
    assert_int_equal(hc_vp8_enc_open(&e, &p, err, sizeof err), 0);
    hc_video_frame src[12];
    for (int i = 0; i < 12; i++) {
        assert_int_equal(hc_video_frame_alloc(&src[i], 160, 90), 0);
        scene(&src[i], i);
        int want = i == 0 ? HC_VP8_KEY : i == 11 ? HC_VP8_RECOVERY : HC_VP8_INTER;
        pkt_kind[i] = hc_vp8_encode(e, &src[i], want, pkt[i], CAP, &pkt_len[i]);
        assert_int_equal(pkt_kind[i], want);
        assert_true(pkt_len[i] > 0);
        assert_int_equal(hc_vp8_peek(pkt[i], pkt_len[i], NULL, NULL), i == 0 ? 1 : 0);
    }
    hc_vp8_dec *a, *b;
    assert_int_equal(hc_vp8_dec_open(&a, 160, 90, err, sizeof err), 0);
    assert_int_equal(hc_vp8_dec_open(&b, 160, 90, err, sizeof err), 0);
    hc_video_frame out;
    for (int i = 0; i < 5; i++) {
        assert_int_equal(hc_vp8_decode(a, pkt[i], pkt_len[i], &out), 0);
        assert_int_equal(hc_vp8_decode(b, pkt[i], pkt_len[i], &out), 0);
    }
    assert_int_equal(hc_vp8_decode(a, pkt[10], pkt_len[10], &out), 0);
    double gap = hc_video_psnr_y(&src[10], &out);
    assert_int_equal(hc_vp8_decode(b, pkt[11], pkt_len[11], &out), 0);
    double rec = hc_video_psnr_y(&src[11], &out);
    print_message("after a gap of 5: plain inter %.2f dB, recovery %.2f dB (%zu B vs inter %zu B)\n", gap, rec,
                  pkt_len[11], pkt_len[10]);
    assert_true(rec >= 30.0);
    assert_true(rec > gap + 10.0);   /* measured: 41.9 vs 18.7 dB */
    /* the inter after the recovery chains from it (it updated LAST) and stays clean */
    hc_video_frame s12;
    assert_int_equal(hc_video_frame_alloc(&s12, 160, 90), 0);
    scene(&s12, 12);
    assert_int_equal(hc_vp8_encode(e, &s12, HC_VP8_INTER, pkt[12], CAP, &pkt_len[12]), HC_VP8_INTER);
    assert_int_equal(hc_vp8_decode(b, pkt[12], pkt_len[12], &out), 0);
    assert_true(hc_video_psnr_y(&s12, &out) >= 30.0);
    hc_video_frame_free(&s12);
    for (int i = 0; i < 12; i++) hc_video_frame_free(&src[i]);
    hc_vp8_dec_close(a);
    hc_vp8_dec_close(b);
    hc_vp8_enc_close(e);
}

/* One real keyframe and one inter frame at 160x90 in pkt[0], pkt[1]. */
static void make_key_and_inter(void)
{
    char err[200];
    hc_vp8_enc *e;
    hc_vp8_params p = {160, 90, 15, 100};
    assert_int_equal(hc_vp8_enc_open(&e, &p, err, sizeof err), 0);
    hc_video_frame src;
    assert_int_equal(hc_video_frame_alloc(&src, 160, 90), 0);
    scene(&src, 0);
    assert_int_equal(hc_vp8_encode(e, &src, HC_VP8_KEY, pkt[0], CAP, &pkt_len[0]), HC_VP8_KEY);
    scene(&src, 1);
    assert_int_equal(hc_vp8_encode(e, &src, HC_VP8_INTER, pkt[1], CAP, &pkt_len[1]), HC_VP8_INTER);
    hc_video_frame_free(&src);
    hc_vp8_enc_close(e);
}

static void put_dims(uint8_t *k, int w, int h)
{
    k[6] = (uint8_t)(w & 0xff); k[7] = (uint8_t)(w >> 8);
    k[8] = (uint8_t)(h & 0xff); k[9] = (uint8_t)(h >> 8);
}

static void test_peek_and_hostile_sizes(void **st)
{
    (void)st;
    char err[200];
    make_key_and_inter();
    int w = 0, h = 0;
    assert_int_equal(hc_vp8_peek(pkt[0], pkt_len[0], &w, &h), 1);
    assert_int_equal(w, 160);
    assert_int_equal(h, 90);
    assert_int_equal(hc_vp8_peek(pkt[1], pkt_len[1], &w, &h), 0);

    hc_vp8_dec *d;
    assert_int_equal(hc_vp8_dec_open(&d, 320, 180, err, sizeof err), 0);
    hc_video_frame out;
    /* an inter frame before any keyframe has nothing to refer to */
    assert_int_equal(hc_vp8_decode(d, pkt[1], pkt_len[1], &out), -1);
    static uint8_t k[CAP];
    const int bad[][2] = {{4000, 4000}, {161, 90}, {160, 91}, {0, 90}, {160, 0}, {322, 180}, {320, 182},
                          {16383, 16383}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memcpy(k, pkt[0], pkt_len[0]);
        put_dims(k, bad[i][0], bad[i][1]);
        assert_int_equal(hc_vp8_peek(k, pkt_len[0], &w, &h), 1);
        assert_int_equal(w, bad[i][0]);
        assert_int_equal(hc_vp8_decode(d, k, pkt_len[0], &out), -1);
    }
    /* upscaling bits set (the top two bits of either size field): peek refuses the keyframe, so
     * decode does too, whichever of the four bits it is */
    const struct { int at; uint8_t bit; } up[] = {{7, 0x40}, {7, 0x80}, {9, 0x40}, {9, 0x80}};
    for (size_t i = 0; i < sizeof up / sizeof up[0]; i++) {
        memcpy(k, pkt[0], pkt_len[0]);
        k[up[i].at] |= up[i].bit;
        w = h = 12345;
        assert_int_equal(hc_vp8_peek(k, pkt_len[0], &w, &h), -1);
        assert_int_equal(w, 12345);                        /* nothing written for a refused frame */
        assert_int_equal(h, 12345);
        assert_int_equal(hc_vp8_peek(k, pkt_len[0], NULL, NULL), -1);
        assert_int_equal(hc_vp8_decode(d, k, pkt_len[0], &out), -1);
    }
    /* Nothing of those reached libvpx as a keyframe: an inter frame is still refused. */
    assert_int_equal(hc_vp8_decode(d, pkt[1], pkt_len[1], &out), -1);
    /* a wrong start code is not VP8 */
    memcpy(k, pkt[0], pkt_len[0]);
    k[4] = 0x02;
    assert_int_equal(hc_vp8_peek(k, pkt_len[0], &w, &h), -1);
    assert_int_equal(hc_vp8_decode(d, k, pkt_len[0], &out), -1);
    /* a version beyond RFC 6386's 0..3 */
    memcpy(k, pkt[0], pkt_len[0]);
    k[0] |= 0x0e;
    assert_int_equal(hc_vp8_peek(k, pkt_len[0], &w, &h), -1);
    /* the real pair decodes */
    assert_int_equal(hc_vp8_decode(d, pkt[0], pkt_len[0], &out), 0);
    assert_int_equal(out.w, 160);
    assert_int_equal(hc_vp8_decode(d, pkt[1], pkt_len[1], &out), 0);
    hc_vp8_dec_close(d);

    /* NULL for either size output: the other is still filled in */
    w = h = 0;
    assert_int_equal(hc_vp8_peek(pkt[0], pkt_len[0], &w, NULL), 1);
    assert_int_equal(w, 160);
    assert_int_equal(hc_vp8_peek(pkt[0], pkt_len[0], NULL, &h), 1);
    assert_int_equal(h, 90);
    assert_int_equal(hc_vp8_peek(pkt[0], pkt_len[0], NULL, NULL), 1);
    assert_int_equal(hc_vp8_peek(pkt[1], pkt_len[1], NULL, NULL), 0);

    /* a decoder limited below the keyframe's size refuses it */
    assert_int_equal(hc_vp8_dec_open(&d, 128, 72, err, sizeof err), 0);
    assert_int_equal(hc_vp8_decode(d, pkt[0], pkt_len[0], &out), -1);
    hc_vp8_dec_close(d);
}

/* hc_vp8_dec_open's limits: each side 2..16383 (14 bits of size in a keyframe). */
static void test_decoder_limits(void **st)
{
    (void)st;
    char err[200];
    hc_vp8_dec *d;
    const int bad[][2] = {{1, 90}, {160, 1}, {0, 0}, {-2, 90}, {160, -2}, {16384, 90}, {160, 16384},
                          {16384, 16384}, {1 << 30, 90}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        d = (hc_vp8_dec *)&err;                          /* must be reset to NULL */
        err[0] = 0;
        assert_int_equal(hc_vp8_dec_open(&d, bad[i][0], bad[i][1], err, sizeof err), -1);
        assert_null(d);
        assert_non_null(strstr(err, "limit"));
    }
    const int good[][2] = {{2, 2}, {16383, 16383}, {2, 16383}, {160, 90}};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        d = NULL;
        if (hc_vp8_dec_open(&d, good[i][0], good[i][1], err, sizeof err)) fail_msg("limit %zu refused: %s", i, err);
        assert_non_null(d);
        hc_vp8_dec_close(d);
    }
    /* at the 2x2 limit a real 160x90 keyframe is refused; at 16383 it decodes */
    make_key_and_inter();
    hc_video_frame out;
    assert_int_equal(hc_vp8_dec_open(&d, 2, 2, err, sizeof err), 0);
    assert_int_equal(hc_vp8_decode(d, pkt[0], pkt_len[0], &out), -1);
    assert_int_equal(hc_vp8_decode(d, pkt[1], pkt_len[1], &out), -1);   /* and no keyframe was taken */
    hc_vp8_dec_close(d);
    assert_int_equal(hc_vp8_dec_open(&d, 16383, 16383, err, sizeof err), 0);
    assert_int_equal(hc_vp8_decode(d, pkt[0], pkt_len[0], &out), 0);
    assert_int_equal(out.w, 160);
    assert_int_equal(out.h, 90);
    hc_vp8_dec_close(d);
}

static void test_truncated_and_garbage(void **st)
{
    (void)st;
    char err[200];
    make_key_and_inter();
    hc_vp8_dec *d;
    assert_int_equal(hc_vp8_dec_open(&d, 160, 90, err, sizeof err), 0);
    hc_video_frame out;
    int w, h;
    assert_int_equal(hc_vp8_peek(NULL, 0, &w, &h), -1);
    assert_int_equal(hc_vp8_decode(d, pkt[0], 0, &out), -1);
    /* every truncation of the keyframe is refused */
    for (size_t n = 1; n < pkt_len[0]; n++) assert_int_equal(hc_vp8_decode(d, pkt[0], n, &out), -1);
    assert_int_equal(hc_vp8_decode(d, pkt[0], pkt_len[0], &out), 0);
    /* truncated inter frames: refused or decoded, never a crash; the decoder still works after */
    int refused = 0;
    for (size_t n = 1; n < pkt_len[1]; n++) refused += hc_vp8_decode(d, pkt[1], n, &out) == -1;
    assert_true(refused > 0);
    assert_int_equal(hc_vp8_decode(d, pkt[0], pkt_len[0], &out), 0);
    /* garbage: random bytes, and random bytes behind a valid keyframe header */
    static uint8_t g[4096];
    uint32_t s = 12345;
    for (int round = 0; round < 2000; round++) {
        size_t n = 1 + hash32(s++) % sizeof g;
        for (size_t i = 0; i < n; i++) g[i] = (uint8_t)hash32(s++);
        if (round & 1 && n >= 10) memcpy(g, pkt[0], 10);
        int r = hc_vp8_decode(d, g, n, &out);
        assert_true(r == 0 || r == -1);
        if (r == 0) assert_true(out.w == 160 && out.h == 90);
    }
    assert_int_equal(hc_vp8_decode(d, pkt[0], pkt_len[0], &out), 0);
    hc_vp8_dec_close(d);
}

static void test_encoder_checks(void **st)
{
    (void)st;
    char err[200];
    hc_vp8_enc *e;
    hc_vp8_params bad[] = {{161, 90, 15, 100}, {160, 90, 0, 100}, {160, 90, 15, 0}, {4000, 90, 15, 100}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = 0;
        assert_int_equal(hc_vp8_enc_open(&e, &bad[i], err, sizeof err), -1);
        assert_true(err[0] != 0);
    }
    hc_vp8_params p = {160, 90, 15, 100};
    assert_int_equal(hc_vp8_enc_open(&e, &p, err, sizeof err), 0);
    hc_video_frame f, other;
    assert_int_equal(hc_video_frame_alloc(&f, 160, 90), 0);
    assert_int_equal(hc_video_frame_alloc(&other, 320, 180), 0);
    scene(&f, 0);
    size_t len = 1;
    assert_int_equal(hc_vp8_encode(e, &other, HC_VP8_KEY, pkt[0], CAP, &len), -1);   /* wrong size */
    assert_int_equal(len, 0);
    assert_int_equal(hc_vp8_encode(e, &f, HC_VP8_KEY, pkt[0], 16, &len), -1);      /* too small a cap */
    const int kinds[] = {7, 3, -1, 1 << 30};                                       /* unknown kinds */
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        len = 1;
        assert_int_equal(hc_vp8_encode(e, &f, kinds[i], pkt[0], CAP, &len), -1);
        assert_int_equal(len, 0);
    }
    assert_int_equal(hc_vp8_encode(e, &f, HC_VP8_KEY, pkt[0], CAP, &len), HC_VP8_KEY);
    hc_video_frame_free(&f);
    hc_video_frame_free(&other);
    hc_vp8_enc_close(e);
}

/* Pattern (video/pattern.c): the stamp reads back exactly, also through VP8 at the defaults. */
static void test_pattern_roundtrip(void **st)
{
    (void)st;
    hc_video_frame f;
    assert_int_equal(hc_video_frame_alloc(&f, 160, 90), 0);
    uint32_t s = 99;
    for (int i = 0; i < 3000; i++) {
        uint32_t seq = i < 1000 ? (uint32_t)i : hash32(s++), ms = hash32(s++);
        if (i == 1000) seq = 0xffffffffu, ms = 0;
        if (i == 1001) seq = 0, ms = 0xffffffffu;
        hc_pattern_draw(&f, seq, ms);
        assert_int_equal(f.seq, seq);
        assert_int_equal(f.capture_ms, ms);
        uint32_t rs = 1, rm = 1;
        assert_int_equal(hc_pattern_read(&f, &rs, &rm), 0);
        assert_int_equal(rs, seq);
        assert_int_equal(rm, ms);
    }
    /* the stamp's levels and neutral chroma, as pattern.h says */
    hc_pattern_draw(&f, 0x80000001u, 0);
    assert_int_equal(f.y[0], 235);
    assert_int_equal(f.y[3 * f.stride_y + 3], 235);
    assert_int_equal(f.y[4], 16);
    assert_int_equal(f.y[31 * 4], 235);
    assert_int_equal(f.y[4 * f.stride_y], 16);            /* row 1: capture_ms 0 */
    assert_int_equal(f.u[0], 128);
    assert_int_equal(f.v[5 * f.stride_v + 63], 128);
    /* a damaged stamp is refused, not misread: flip one cell of each row in turn */
    for (int r = 0; r < HC_PATTERN_ROWS; r++)
        for (int b = 0; b < 32; b += 7) {
            hc_pattern_draw(&f, 12345, 67890);
            for (int y = 0; y < HC_PATTERN_CELL; y++)
                for (int x = 0; x < HC_PATTERN_CELL; x++) {
                    uint8_t *px = &f.y[(r * HC_PATTERN_CELL + y) * f.stride_y + b * HC_PATTERN_CELL + x];
                    *px = *px > 125 ? 16 : 235;
                }
            assert_int_equal(hc_pattern_read(&f, NULL, NULL), -1);
        }
    /* different frames differ (the scene moves) */
    hc_video_frame g;
    assert_int_equal(hc_video_frame_alloc(&g, 160, 90), 0);
    hc_pattern_draw(&f, 10, 0);
    hc_pattern_draw(&g, 11, 0);
    assert_true(hc_video_psnr_y(&f, &g) < 35);
    hc_pattern_draw(&g, 10, 0);
    assert_true(hc_video_psnr_y(&f, &g) == 99.0);   /* deterministic */
    hc_video_frame_free(&g);
    hc_video_frame_free(&f);
    /* too small for a stamp: drawn without one, read refuses */
    assert_int_equal(hc_video_frame_alloc(&f, 126, 90), 0);
    hc_pattern_draw(&f, 1, 2);
    assert_int_equal(hc_pattern_read(&f, NULL, NULL), -1);
    hc_video_frame_free(&f);
    assert_int_equal(hc_video_frame_alloc(&f, 160, 10), 0);
    hc_pattern_draw(&f, 1, 2);
    assert_int_equal(hc_pattern_read(&f, NULL, NULL), -1);
    hc_video_frame_free(&f);
    assert_int_equal(hc_video_frame_alloc(&f, 128, 12), 0);   /* just large enough */
    hc_pattern_draw(&f, 7, 8);
    assert_int_equal(hc_pattern_read(&f, NULL, NULL), 0);
    /* either output may be NULL: the other is still filled in */
    uint32_t only = 0;
    assert_int_equal(hc_pattern_read(&f, &only, NULL), 0);
    assert_int_equal(only, 7);
    only = 0;
    assert_int_equal(hc_pattern_read(&f, NULL, &only), 0);
    assert_int_equal(only, 8);
    hc_video_frame_free(&f);
}

/* hc_pattern_draw for frame numbers of a long call (near 2^31 and 2^32, where an int product
 * went negative and put the box outside the picture): drawn into planes with a stride wider than
 * the picture and guard bytes before and after each plane, every byte outside the picture must
 * keep its canary (ASan also sees any write beyond each separately allocated plane), the box
 * (luma 200, chroma 90/180) must be inside, and the stamp must read back. */
static void test_pattern_huge_seq(void **st)
{
    (void)st;
    enum { GUARD = 64, PAD = 16, CANARY = 0xA5 };
    /* Down to 2x2: pictures smaller than the 8-pixel minimum box once made the bounce reflection
     * negative (bx = 2 * span with span < 0) and the box was drawn outside the planes. */
    const int sizes[][2] = {{160, 90}, {320, 180}, {128, 12}, {16, 16}, {10, 8}, {8, 8}, {6, 4}, {4, 6}, {2, 2}};
    const uint32_t seqs[] = {0xFFFFFFF0u, 0xFFFFFFF7u, 0xFFFFFFFFu, 0x7FFFFFFFu, 0x80000000u, 0x80000001u,
                             0x2AAAAAABu, 715827883u, 0u, 1u, 99999u, 100000u};
    for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
        int w = sizes[si][0], h = sizes[si][1];
        int sy = w + PAD, sc = w / 2 + PAD;
        size_t ny = (size_t)sy * (size_t)h, nc = (size_t)sc * (size_t)(h / 2);
        uint8_t *by = malloc(ny + 2 * GUARD), *bu = malloc(nc + 2 * GUARD), *bv = malloc(nc + 2 * GUARD);
        assert_non_null(by);
        assert_non_null(bu);
        assert_non_null(bv);
        for (size_t qi = 0; qi < sizeof seqs / sizeof seqs[0]; qi++) {
            for (uint32_t d = 0; d < 16; d++) {          /* a run of frames around each number */
                uint32_t seq = seqs[qi] + d;
                memset(by, CANARY, ny + 2 * GUARD);
                memset(bu, CANARY, nc + 2 * GUARD);
                memset(bv, CANARY, nc + 2 * GUARD);
                hc_video_frame f = {.w = w, .h = h, .y = by + GUARD, .u = bu + GUARD, .v = bv + GUARD,
                                    .stride_y = sy, .stride_u = sc, .stride_v = sc};
                hc_pattern_draw(&f, seq, 4242);
                assert_int_equal(f.seq, seq);
                for (size_t i = 0; i < ny + 2 * GUARD; i++) {
                    size_t o = i - GUARD;
                    int inside = i >= GUARD && o < ny && (int)(o % (size_t)sy) < w;
                    if (!inside && by[i] != CANARY) fail_msg("%dx%d seq %u: luma byte %zd outside written", w, h, seq, (ssize_t)i - GUARD);
                }
                for (int p = 0; p < 2; p++) {
                    const uint8_t *b = p ? bv : bu;
                    for (size_t i = 0; i < nc + 2 * GUARD; i++) {
                        size_t o = i - GUARD;
                        int inside = i >= GUARD && o < nc && (int)(o % (size_t)sc) < w / 2;
                        if (!inside && b[i] != CANARY)
                            fail_msg("%dx%d seq %u: chroma %d byte %zd outside written", w, h, seq, p, (ssize_t)i - GUARD);
                    }
                }
                /* the box is inside the picture: some of its luma is there (the stamp may cover part
                 * of it, and all of a picture no taller than the stamp) */
                int box = 0;
                for (int y = 0; y < h; y++)
                    for (int x = 0; x < w; x++) box += f.y[y * sy + x] == 200;
                if (box == 0 && h > HC_PATTERN_ROWS * HC_PATTERN_CELL)
                    fail_msg("%dx%d seq %u: the box is not in the picture", w, h, seq);
                if (w >= 32 * HC_PATTERN_CELL && h >= HC_PATTERN_ROWS * HC_PATTERN_CELL) {
                    uint32_t rs = 0, rm = 0;
                    assert_int_equal(hc_pattern_read(&f, &rs, &rm), 0);
                    assert_int_equal(rs, seq);
                    assert_int_equal(rm, 4242);
                }
            }
        }
        free(by);
        free(bu);
        free(bv);
    }
}

static void pattern_through_vp8(int w, int h, int kbps)
{
    char err[200];
    hc_vp8_enc *e;
    hc_vp8_dec *d;
    hc_vp8_params p = {w, h, 15, kbps};
    assert_int_equal(hc_vp8_enc_open(&e, &p, err, sizeof err), 0);
    assert_int_equal(hc_vp8_dec_open(&d, w, h, err, sizeof err), 0);
    hc_video_frame src;
    assert_int_equal(hc_video_frame_alloc(&src, w, h), 0);
    double psnr = 0;
    size_t key = 0, inter = 0;
    for (int i = 0; i < 60; i++) {
        uint32_t ms = 1000000u + (uint32_t)i * 67u;
        hc_pattern_draw(&src, (uint32_t)i, ms);
        int want = i == 0 ? HC_VP8_KEY : HC_VP8_INTER;
        assert_int_equal(hc_vp8_encode(e, &src, want, pkt[0], CAP, &pkt_len[0]), want);
        if (i == 0) key = pkt_len[0];
        else inter += pkt_len[0];
        hc_video_frame out;
        assert_int_equal(hc_vp8_decode(d, pkt[0], pkt_len[0], &out), 0);
        psnr += hc_video_psnr_y(&src, &out);
        uint32_t rs, rm;
        assert_int_equal(hc_pattern_read(&out, &rs, &rm), 0);
        assert_int_equal(rs, (uint32_t)i);
        assert_int_equal(rm, ms);
    }
    double budget = (double)kbps * 1000 / 8 / 15;
    print_message("pattern %dx%d %d kbps: PSNR-Y %.2f dB, key %zu B (%.2fx budget), inter mean %.0f B\n", w, h,
                  kbps, psnr / 60, key, (double)key / budget, (double)inter / 59);
    assert_true(psnr / 60 >= 30.0);
    assert_true((double)key <= 5 * budget);
    hc_video_frame_free(&src);
    hc_vp8_enc_close(e);
    hc_vp8_dec_close(d);
}

static void test_pattern_through_vp8(void **st)
{
    (void)st;
    pattern_through_vp8(160, 90, 100);
    pattern_through_vp8(320, 180, 200);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_160),
        cmocka_unit_test(test_roundtrip_320),
        cmocka_unit_test(test_recovery),
        cmocka_unit_test(test_peek_and_hostile_sizes),
        cmocka_unit_test(test_decoder_limits),
        cmocka_unit_test(test_truncated_and_garbage),
        cmocka_unit_test(test_encoder_checks),
        cmocka_unit_test(test_pattern_roundtrip),
        cmocka_unit_test(test_pattern_huge_seq),
        cmocka_unit_test(test_pattern_through_vp8),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
