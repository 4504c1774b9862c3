/* The video path without a network: pattern -> sender (VP8, keyframe policy, fragments) ->
 * a simulated line (loss, reordering, duplication, seeded) -> receiver (reassembly, references,
 * freeze and ask) -> pictures, with requests fed back to the sender as the relay would. Time is
 * explicit (a frame every 1/15 s), so every figure is the same on any machine. Also: the VP8
 * wrapper's checks, the pattern stamp, y4m files and the option parsers. */
#include "tests/testutil.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "video/fragment.h"
#include "video/pattern.h"
#include "video/receiver.h"
#include "video/sender.h"
#include "video/spec.h"
#include "video/vp8.h"
#include "video/y4m.h"

#define W 160
#define H 90
#define FPS 15

static uint64_t rng = 1;
static double rnd(void) {
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return (double)((rng * 2685821657736338717ull) >> 11) / 9007199254740992.0;
}

/* ---- the line between sender and receiver ---- */

typedef struct {
    uint8_t flags;
    size_t len;
    uint8_t pt[HC_MEDIA_MAX];
    uint64_t due_ms;
} wire_pkt;

#define QMAX 256
typedef struct {
    wire_pkt q[QMAX];
    size_t n;
    double loss, reorder, dup;
    uint64_t now;
    uint64_t sent, dropped;
} line;

static line L;

static int line_send(void *ctx, uint8_t flags, const uint8_t *pt, size_t len) {
    (void)ctx;
    L.sent++;
    if (rnd() < L.loss) { L.dropped++; return 0; }
    int copies = rnd() < L.dup ? 2 : 1;
    for (int c = 0; c < copies && L.n < QMAX; c++) {
        wire_pkt *p = &L.q[L.n++];
        p->flags = flags;
        p->len = len;
        memcpy(p->pt, pt, len);
        p->due_ms = L.now + 5 + (rnd() < L.reorder ? (uint64_t)(rnd() * 40) : 0);
    }
    return 0;
}

/* ---- the receiving end ---- */

typedef struct {
    hc_video_sender *tx;
    hc_video_frame ref;
    int pictures;
    double psnr_min;
    uint32_t last_seq;
    int have_last;
    int out_of_order;
    uint64_t requests;
    uint64_t last_pic_ms, longest_freeze_ms;
    int stamps_bad;
} sink;

static sink K;

static void on_pic(void *ctx, uint32_t sender, const hc_video_frame *pic, uint32_t capture_ms, uint32_t seq) {
    (void)ctx; (void)sender; (void)seq;
    uint32_t s, c;
    if (hc_pattern_read(pic, &s, &c) < 0) { K.stamps_bad++; return; }
    assert_int_equal(c, capture_ms);              /* the stamp agrees with the header inside */
    hc_pattern_draw(&K.ref, s, c);
    double p = hc_video_psnr_y(pic, &K.ref);
    if (p < K.psnr_min) K.psnr_min = p;
    if (K.have_last && s <= K.last_seq) K.out_of_order++;
    if (K.have_last && L.now - K.last_pic_ms > K.longest_freeze_ms) K.longest_freeze_ms = L.now - K.last_pic_ms;
    K.last_seq = s;
    K.have_last = 1;
    K.last_pic_ms = L.now;
    K.pictures++;
}

/* The relay's part: a request reaches the sender (merged: at most one per 500 ms). */
static uint64_t last_fwd_ms;
static int pending_req, pending_key;
static void on_req(void *ctx, uint32_t sender, int need_key) {
    (void)ctx; (void)sender;
    K.requests++;
    pending_req = 1;
    pending_key |= need_key;
}

static void relay_forward_requests(void) {
    if (pending_req && (L.now - last_fwd_ms >= 500 || !last_fwd_ms)) {
        hc_video_sender_keyreq(K.tx, pending_key);
        pending_req = pending_key = 0;
        last_fwd_ms = L.now;
    }
}

typedef struct {
    int frames;
    double loss, reorder, dup;
    uint64_t seed;
    int receiver_late_frames;    /* the receiver starts listening after this many frames */
} scenario;

/* Runs a call of `frames` pictures; returns the figures in K. */
static void run(const scenario *sc) {
    static hc_video_sender tx;
    static hc_video_receiver rx;
    memset(&L, 0, sizeof L);
    memset(&K, 0, sizeof K);
    L.loss = sc->loss; L.reorder = sc->reorder; L.dup = sc->dup;
    rng = sc->seed;
    last_fwd_ms = 0;
    pending_req = pending_key = 0;
    K.psnr_min = 99;
    K.tx = &tx;
    assert_int_equal(hc_video_frame_alloc(&K.ref, W, H), 0);
    char err[200];
    hc_vp8_params p = {W, H, FPS, 100};
    assert_int_equal(hc_video_sender_init(&tx, &p, line_send, NULL, err, sizeof err), 0);
    assert_int_equal(hc_video_receiver_init(&rx, 7, 640, 480), 0);
    hc_video_frame f;
    assert_int_equal(hc_video_frame_alloc(&f, W, H), 0);
    uint64_t t0 = 1000;
    for (int i = 0; i < sc->frames; i++) {
        L.now = t0 + (uint64_t)i * 1000 / FPS;
        relay_forward_requests();
        hc_pattern_draw(&f, (uint32_t)i, (uint32_t)L.now);
        if (i == sc->receiver_late_frames && i) hc_video_sender_members_added(&tx);
        hc_video_sender_frame(&tx, &f, 1, L.now);
        /* deliver what is due (in due order: reordering shows up here) */
        for (uint64_t t = L.now; t < L.now + 1000 / FPS; t += 5) {
            for (;;) {
                size_t best = L.n;
                for (size_t k = 0; k < L.n; k++)
                    if (L.q[k].due_ms <= t && (best == L.n || L.q[k].due_ms < L.q[best].due_ms)) best = k;
                if (best == L.n) break;
                wire_pkt pk = L.q[best];
                L.q[best] = L.q[--L.n];
                if (i >= sc->receiver_late_frames) {
                    uint64_t keep = L.now;
                    L.now = t;
                    hc_video_receiver_fragment(&rx, pk.flags, pk.pt, pk.len, t, on_pic, on_req, NULL);
                    L.now = keep;
                }
            }
            if (i >= sc->receiver_late_frames) hc_video_receiver_tick(&rx, t, on_req, NULL);
        }
    }
    hc_video_frame_free(&f);
    hc_video_frame_free(&K.ref);
    hc_video_receiver_free(&rx);
    hc_video_sender_free(&tx);
}

static void test_clean_call(void **state) {
    (void)state;
    scenario sc = {.frames = 150, .seed = 1};
    run(&sc);
    assert_int_equal(K.pictures, 150);           /* every picture shown, in order */
    assert_int_equal(K.out_of_order, 0);
    assert_int_equal(K.stamps_bad, 0);
    assert_true(K.psnr_min >= 32.0);
    assert_int_equal(K.requests, 0);             /* nothing lost: nothing asked */
}

static void test_loss_recovers(void **state) {
    (void)state;
    for (uint64_t seed = 1; seed <= 5; seed++) {
        scenario sc = {.frames = 450, .loss = 0.05, .seed = seed};
        run(&sc);
        assert_true(L.dropped > 10);
        assert_true(K.requests > 0);
        assert_int_equal(K.out_of_order, 0);
        assert_int_equal(K.stamps_bad, 0);
        assert_true(K.psnr_min >= 30.0);         /* a damaged picture is never shown */
        assert_true(K.pictures > 450 * 8 / 10);
        /* each freeze ends within 500 ms (+ one frame period for the frame that shows it) */
        if (K.longest_freeze_ms > 567) fail_msg("seed %llu: froze %llu ms", (unsigned long long)seed,
                                                (unsigned long long)K.longest_freeze_ms);
    }
}

static void test_reorder_and_duplicates(void **state) {
    (void)state;
    scenario sc = {.frames = 300, .reorder = 0.2, .dup = 0.2, .seed = 9};
    run(&sc);
    assert_int_equal(K.out_of_order, 0);
    assert_true(K.psnr_min >= 30.0);
    assert_true(K.pictures >= 280);              /* a reordered frame may be skipped, never shown late */
}

static void test_late_receiver(void **state) {
    (void)state;
    scenario sc = {.frames = 120, .receiver_late_frames = 40, .seed = 3};
    run(&sc);
    /* the receiver starts mid-stream and asks; the keyframe for new members arrives at once */
    assert_true(K.pictures >= 120 - 40 - 2);
    assert_true(K.psnr_min >= 32.0);
}

/* ---- the pieces ---- */

static void test_vp8_refuses_hostile_keyframes(void **state) {
    (void)state;
    char err[200];
    hc_vp8_dec *d;
    assert_int_equal(hc_vp8_dec_open(&d, 640, 480, err, sizeof err), 0);
    uint8_t kf[64] = {0};
    /* frame tag: keyframe, version 0, show, first partition 40 bytes; start code; 4000x4000 */
    uint32_t tag = (40u << 5) | (1u << 4);
    kf[0] = (uint8_t)tag; kf[1] = (uint8_t)(tag >> 8); kf[2] = (uint8_t)(tag >> 16);
    kf[3] = 0x9d; kf[4] = 0x01; kf[5] = 0x2a;
    kf[6] = 4000 & 0xFF; kf[7] = 4000 >> 8; kf[8] = 4000 & 0xFF; kf[9] = 4000 >> 8;
    int w, h;
    assert_int_equal(hc_vp8_peek(kf, sizeof kf, &w, &h), 1);
    assert_int_equal(w, 4000);
    hc_video_frame out;
    assert_int_equal(hc_vp8_decode(d, kf, sizeof kf, &out), -1);     /* too large for this decoder */
    kf[6] = 161; kf[7] = 0; kf[8] = 90; kf[9] = 0;                   /* odd width */
    assert_int_equal(hc_vp8_decode(d, kf, sizeof kf, &out), -1);
    uint8_t inter[16] = {0x01, 0x02, 0x00};                          /* an inter frame before any keyframe */
    assert_int_equal(hc_vp8_decode(d, inter, sizeof inter, &out), -1);
    assert_int_equal(hc_vp8_peek(kf, 2, &w, &h), -1);                /* truncated */
    uint8_t garbage[300];
    for (size_t i = 0; i < sizeof garbage; i++) garbage[i] = (uint8_t)(i * 37 + 11);
    (void)hc_vp8_decode(d, garbage, sizeof garbage, &out);            /* no crash, whatever it says */
    hc_vp8_dec_close(d);
}

static void test_vp8_kinds_and_sizes(void **state) {
    (void)state;
    char err[200];
    hc_vp8_enc *e;
    hc_vp8_params p = {W, H, FPS, 100};
    assert_int_equal(hc_vp8_enc_open(&e, &p, err, sizeof err), 0);
    hc_video_frame f;
    assert_int_equal(hc_video_frame_alloc(&f, W, H), 0);
    static uint8_t buf[HC_VFRAME_MAX];
    size_t len, key_len = 0, inter_max = 0;
    for (int i = 0; i < 30; i++) {
        hc_pattern_draw(&f, (uint32_t)i, 0);
        int want = i == 0 || i == 20 ? HC_VP8_KEY : i == 25 ? HC_VP8_RECOVERY : HC_VP8_INTER;
        int made = hc_vp8_encode(e, &f, want, buf, sizeof buf, &len);
        assert_int_equal(made, want);
        assert_true(len > 0);
        int pw, ph;
        assert_int_equal(hc_vp8_peek(buf, len, &pw, &ph), want == HC_VP8_KEY ? 1 : 0);
        if (want == HC_VP8_KEY) {
            assert_int_equal(pw, W);
            assert_int_equal(ph, H);
            if (i == 20) key_len = len;
        } else if (want == HC_VP8_INTER && i > 2 && len > inter_max) {
            inter_max = len;
        }
    }
    /* the keyframe cap: ~300 % of a frame's budget (100 kbit/s at 15 fps = 833 B), with headroom */
    assert_true(key_len <= 5 * 833);
    /* (the pattern is easy to code: its keyframes come out near an inter frame's size) */
    print_message("keyframe %zu B, largest inter frame %zu B\n", key_len, inter_max);
    assert_true(inter_max > 0 && inter_max <= HC_VFRAME_MAX);
    hc_video_frame wrong;
    assert_int_equal(hc_video_frame_alloc(&wrong, 320, 180), 0);
    assert_int_equal(hc_vp8_encode(e, &wrong, HC_VP8_INTER, buf, sizeof buf, &len), -1);
    hc_video_frame_free(&wrong);
    hc_video_frame_free(&f);
    hc_vp8_enc_close(e);
}

static void test_pattern_stamp(void **state) {
    (void)state;
    hc_video_frame f;
    assert_int_equal(hc_video_frame_alloc(&f, W, H), 0);
    for (uint32_t s = 0; s < 2000; s += 37) {
        hc_pattern_draw(&f, s, s * 67u + 0x80000000u);
        uint32_t a, b;
        assert_int_equal(hc_pattern_read(&f, &a, &b), 0);
        assert_int_equal(a, s);
        assert_int_equal(b, s * 67u + 0x80000000u);
    }
    /* a damaged stamp is detected, not misread: flip one block of the frame number */
    for (int y = 0; y < HC_PATTERN_CELL; y++) {
        uint8_t *px = f.y + (size_t)y * (size_t)f.stride_y + 31 * HC_PATTERN_CELL;
        memset(px, px[0] > 125 ? 16 : 235, HC_PATTERN_CELL);
    }
    uint32_t a, b;
    assert_int_equal(hc_pattern_read(&f, &a, &b), -1);
    hc_video_frame small;
    assert_int_equal(hc_video_frame_alloc(&small, 64, 36), 0);
    assert_int_equal(hc_pattern_read(&small, &a, &b), -1);
    hc_video_frame_free(&small);
    hc_video_frame_free(&f);
}

static void test_y4m_roundtrip_and_hostile(void **state) {
    (void)state;
    char path[] = "/tmp/hc-y4m-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    char err[300];
    hc_y4m_writer w;
    assert_int_equal(hc_y4m_writer_open(&w, path, 15, err, sizeof err), 0);
    hc_video_frame f, big, back;
    assert_int_equal(hc_video_frame_alloc(&f, W, H), 0);
    assert_int_equal(hc_video_frame_alloc(&big, 320, 180), 0);
    for (uint32_t i = 0; i < 5; i++) {
        hc_pattern_draw(&f, i, i);
        assert_int_equal(hc_y4m_writer_put(&w, &f), 0);
    }
    hc_pattern_draw(&big, 5, 5);
    assert_int_equal(hc_y4m_writer_put(&w, &big), 0);    /* another size: scaled to the first */
    hc_y4m_writer_close(&w);
    hc_y4m_reader r;
    assert_int_equal(hc_y4m_reader_open(&r, path, err, sizeof err), 0);
    assert_int_equal(r.w, W);
    assert_int_equal(r.h, H);
    assert_int_equal(hc_video_frame_alloc(&back, W, H), 0);
    for (uint32_t i = 0; i < 5; i++) {
        assert_int_equal(hc_y4m_reader_next(&r, &back, err, sizeof err), 1);
        hc_pattern_draw(&f, i, i);
        assert_true(hc_video_psnr_y(&back, &f) >= 99.0);
    }
    assert_int_equal(hc_y4m_reader_next(&r, &back, err, sizeof err), 1);
    assert_int_equal(hc_y4m_reader_next(&r, &back, err, sizeof err), 0);
    assert_int_equal(hc_y4m_reader_rewind(&r), 0);
    assert_int_equal(hc_y4m_reader_next(&r, &back, err, sizeof err), 1);
    hc_y4m_reader_close(&r);
    /* hostile headers */
    const char *bad[] = {"not a y4m\n", "YUV4MPEG2 W99999 H90 F15:1\n", "YUV4MPEG2 W161 H90\n",
                         "YUV4MPEG2 W160 H90 C444\n", "YUV4MPEG2 W160 H90\nFRAME\nshort"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        FILE *o = fopen(path, "wb");
        fputs(bad[i], o);
        fclose(o);
        int rc = hc_y4m_reader_open(&r, path, err, sizeof err);
        if (i < 4) {
            assert_int_equal(rc, -1);
        } else {
            assert_int_equal(rc, 0);
            assert_int_equal(hc_y4m_reader_next(&r, &back, err, sizeof err), -1);   /* cut off */
            hc_y4m_reader_close(&r);
        }
    }
    unlink(path);
    hc_video_frame_free(&f);
    hc_video_frame_free(&big);
    hc_video_frame_free(&back);
}

static void test_spec_parsing(void **state) {
    (void)state;
    hc_video_spec s;
    char err[300];
    assert_int_equal(hc_video_spec_parse_in(&s, "pattern", err, sizeof err), 0);
    assert_int_equal(s.kind, HC_VIDEO_PATTERN);
    assert_int_equal(hc_video_spec_parse_in(&s, "camera:/dev/video3", err, sizeof err), 0);
    assert_int_equal(s.kind, HC_VIDEO_CAMERA);
    assert_string_equal(s.path, "/dev/video3");
    assert_int_equal(hc_video_spec_parse_in(&s, "none", err, sizeof err), 0);
    assert_int_equal(s.kind, HC_VIDEO_NONE);
    assert_int_equal(hc_video_spec_parse_in(&s, "webcam", err, sizeof err), -1);
    assert_int_equal(hc_video_spec_parse_in(&s, "y4m:", err, sizeof err), -1);
    assert_int_equal(hc_video_spec_parse_out(&s, "y4m:/tmp/a.y4m,sender=3", err, sizeof err), 0);
    assert_string_equal(s.path, "/tmp/a.y4m");
    assert_int_equal(s.sender, 3);
    assert_int_equal(hc_video_spec_parse_out(&s, "y4m:/tmp/a.y4m,sender=x", err, sizeof err), -1);
    assert_int_equal(hc_video_spec_parse_out(&s, "pattern", err, sizeof err), -1);
    int w, h;
    assert_int_equal(hc_video_size_parse(&w, &h, "320x180", err, sizeof err), 0);
    assert_int_equal(w, 320);
    assert_int_equal(h, 180);
    assert_int_equal(hc_video_size_parse(&w, &h, "161x90", err, sizeof err), -1);
    assert_int_equal(hc_video_size_parse(&w, &h, "4000x4000", err, sizeof err), -1);
    assert_int_equal(hc_video_size_parse(&w, &h, "160", err, sizeof err), -1);
}

/* Paused while nobody receives: nothing is encoded; resuming starts with a keyframe. */
static void test_pause_and_resume(void **state) {
    (void)state;
    static hc_video_sender tx;
    memset(&L, 0, sizeof L);
    char err[200];
    hc_vp8_params p = {W, H, FPS, 100};
    assert_int_equal(hc_video_sender_init(&tx, &p, line_send, NULL, err, sizeof err), 0);
    hc_video_frame f;
    assert_int_equal(hc_video_frame_alloc(&f, W, H), 0);
    for (int i = 0; i < 10; i++) {
        hc_pattern_draw(&f, (uint32_t)i, 0);
        hc_video_sender_frame(&tx, &f, 1, 1000 + (uint64_t)i * 66);
    }
    assert_int_equal(tx.st.keyframes, 1);
    hc_video_sender_receivers(&tx, 0);
    uint64_t sent = tx.st.frames_sent;
    for (int i = 10; i < 20; i++) hc_video_sender_frame(&tx, &f, 1, 1000 + (uint64_t)i * 66);
    assert_int_equal(tx.st.frames_sent, sent);
    assert_int_equal(tx.st.frames_skipped_paused, 10);
    hc_video_sender_receivers(&tx, 2);
    hc_video_sender_frame(&tx, &f, 1, 3000);
    assert_int_equal(tx.st.keyframes, 2);          /* the first frame after the pause */
    /* without a sending key nothing is encoded, and the next frame that can go is a keyframe */
    hc_video_sender_frame(&tx, &f, 0, 3066);
    hc_video_sender_frame(&tx, &f, 1, 3132);
    assert_int_equal(tx.st.keyframes, 3);
    hc_video_frame_free(&f);
    hc_video_sender_free(&tx);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clean_call),
        cmocka_unit_test(test_loss_recovers),
        cmocka_unit_test(test_reorder_and_duplicates),
        cmocka_unit_test(test_late_receiver),
        cmocka_unit_test(test_vp8_refuses_hostile_keyframes),
        cmocka_unit_test(test_vp8_kinds_and_sizes),
        cmocka_unit_test(test_pattern_stamp),
        cmocka_unit_test(test_y4m_roundtrip_and_hostile),
        cmocka_unit_test(test_spec_parsing),
        cmocka_unit_test(test_pause_and_resume),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
