/* The engine on a real libuv loop: tone in -> payloads (seq, RFC 6464 level), mute, DTX, two
 * engines talking, random payloads from the network, clear errors; and the SPSC ring under two
 * threads. Short runs (a few hundred ms of real time each). */
#include <math.h>
#include <pthread.h>

#include "tests/testutil.h"

#include "audio/engine.h"
#include "audio/engine_custom.h"
#include "audio/opus_codec.h"
#include "audio/pacer.h"
#include "audio/ring.h"

typedef struct {
    int payloads;
    size_t bytes;
    uint16_t last_seq;
    int seq_gaps;
    uint8_t last_level;
    hc_audio_engine *forward_to;
} capture;

static void on_payload(void *ctx, const uint8_t *p, size_t len, uint8_t level) {
    capture *c = ctx;
    uint16_t seq = (uint16_t)(p[0] << 8 | p[1]);
    if (c->payloads && seq != (uint16_t)(c->last_seq + 1)) c->seq_gaps++;
    c->last_seq = seq;
    c->last_level = level;
    c->payloads++;
    c->bytes += len;
    if (c->forward_to) hc_audio_engine_receive(c->forward_to, 7, p, len);
}

static void stop_timer(uv_timer_t *t) { uv_stop(t->loop); }

/* Runs the loop for ms of real time (the engines' timers keep it alive, so stop it). */
static void run_for(uv_loop_t *loop, uint64_t ms) {
    uv_timer_t t;
    uv_timer_init(loop, &t);
    uv_timer_start(&t, stop_timer, ms, 0);
    uv_run(loop, UV_RUN_DEFAULT);
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
}

static hc_audio_engine *make(uv_loop_t *loop, const char *in, const char *out, capture *c) {
    hc_audio_config cfg;
    hc_audio_config_defaults(&cfg);
    cfg.in_spec = in;
    cfg.out_spec = out;
    hc_audio_callbacks cb = {c, on_payload};
    hc_audio_engine *e = NULL;
    char err[1024];
    if (hc_audio_engine_new(&e, loop, &cfg, &cb, err, sizeof err)) {
        print_error("engine: %s\n", err);
        fail();
    }
    assert_int_equal(hc_audio_engine_start(e, err, sizeof err), 0);
    return e;
}

static void finish(uv_loop_t *loop) {
    uv_run(loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(loop), 0);   /* every handle closed and freed */
}

static void test_tone_payloads_and_mute(void **st) {
    (void)st;
    uv_loop_t loop;
    uv_loop_init(&loop);
    capture c = {0};
    uint64_t t0 = uv_hrtime();
    hc_audio_engine *e = make(&loop, "tone:440", "null", &c);
    run_for(&loop, 300);
    double frames_due = (double)(uv_hrtime() - t0) / 20e6;
    print_message("%.0f ms of tone: %d payloads\n", frames_due * 20, c.payloads);
    /* paced by the clock: one per 20 ms, never ahead of it (and not far behind, even under valgrind) */
    assert_true(c.payloads <= frames_due + 1 && c.payloads >= frames_due / 2);
    assert_int_equal(c.seq_gaps, 0);
    assert_true(c.last_level & 0x80);                       /* voice activity bit */
    assert_true((c.last_level & 0x7f) >= 13 && (c.last_level & 0x7f) <= 14);   /* tone at -13.5 dBFS RMS */
    hc_audio_tx_stats tx;
    hc_audio_engine_tx_stats(e, &tx);
    assert_int_equal(tx.frames_sent, (uint64_t)c.payloads);
    assert_int_equal(tx.bytes_sent, c.bytes);
    /* mute: nothing sent, but the level is still measured ("talking while muted") */
    hc_audio_engine_set_muted(e, 1);
    int before = c.payloads;
    run_for(&loop, 200);
    assert_int_equal(c.payloads, before);
    hc_audio_engine_tx_stats(e, &tx);
    assert_int_equal(tx.muted, 1);
    assert_int_equal(tx.talking, 1);
    assert_true(tx.level_dbfs >= -15 && tx.level_dbfs <= -12);
    /* unmute: sending resumes, and the seq jumped over the muted frames */
    hc_audio_engine_set_muted(e, 0);
    run_for(&loop, 100);
    assert_true(c.payloads > before);
    assert_int_equal(c.seq_gaps, 1);
    hc_audio_engine_set_loss_percent(e, 12);
    hc_audio_engine_tx_stats(e, &tx);
    assert_int_equal(tx.loss_percent, 12);
    assert_string_equal(hc_audio_engine_describe_in(e), "tone:440 Hz");
    assert_string_equal(hc_audio_engine_describe_out(e), "null");
    /* after stop, one pass of the loop closes every handle of ours: free needs no loop after it */
    hc_audio_engine_stop(e);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_alive(&loop), 0);
    hc_audio_engine_free(e);
    assert_int_equal(uv_loop_close(&loop), 0);
}

static void test_silence_is_dtx(void **st) {
    (void)st;
    uv_loop_t loop;
    uv_loop_init(&loop);
    capture c = {0};
    hc_audio_engine *e = make(&loop, "silence", "null", &c);
    run_for(&loop, 1000);
    hc_audio_tx_stats tx;
    hc_audio_engine_tx_stats(e, &tx);
    print_message("1 s of silence: %llu sent, %llu DTX frames not sent\n", (unsigned long long)tx.frames_sent,
                  (unsigned long long)tx.dtx_skipped);
    assert_true(tx.dtx_skipped > tx.frames_sent);
    assert_int_equal((uint64_t)c.payloads, tx.frames_sent);
    assert_int_equal(tx.talking, 0);
    assert_int_equal(tx.level_dbfs, -127);
    hc_audio_engine_free(e);           /* free without stop: it stops itself */
    finish(&loop);
}

static void test_two_engines_hear_each_other(void **st) {
    (void)st;
    uv_loop_t loop;
    uv_loop_init(&loop);
    capture ca = {0}, cb = {0};
    hc_audio_engine *b = make(&loop, "silence", "null", &cb);
    ca.forward_to = b;
    run_for(&loop, 9);          /* B's ticks and A's packets out of phase (checked below) */
    hc_audio_engine *a = make(&loop, "tone:1000", "null", &ca);
    run_for(&loop, 600);
    hc_audio_rx_stats rx;
    assert_int_equal(hc_audio_engine_rx_stats(b, 7, &rx), 0);
    assert_int_equal(hc_audio_engine_rx_stats(b, 8, &rx), -1);
    assert_int_equal(hc_audio_engine_rx_stats(b, 7, &rx), 0);
    print_message("B hears A: received %llu frames %llu lost %llu level %d dBFS talking %d delay %d ms\n",
                  (unsigned long long)rx.received, (unsigned long long)rx.frames, (unsigned long long)rx.lost,
                  rx.level_dbfs, rx.talking, rx.delay_ms);
    assert_true(rx.received >= 20);
    assert_true(rx.frames >= 15);
    assert_true(rx.lost <= 2);            /* 0 unless the machine stalled the loop */
    assert_int_equal(rx.talking, 1);
    assert_true(rx.level_dbfs >= -17 && rx.level_dbfs <= -11);
    /* A new stream is on probation: a frame plus the FEC frame (it drops to the margin plus the
     * measured jitter after 5 s of audio without loss). */
    assert_true(rx.delay_ms >= 40 && rx.delay_ms <= 200);
    /* B's null sink was re-phased: its ticks moved sooner to just after A's packets are due
     * (about 10 ms: they started 9 ms apart), or later with the target when the loop is slow and
     * jittery (under valgrind) */
    hc_audio_playout_info pi;
    hc_audio_engine_playout_info(b, &pi);
    print_message("B's playout: %llu shifts, %lld us sooner in all\n", (unsigned long long)pi.shifts,
                  (long long)pi.shifted_us);
    assert_true(pi.shifts >= 1);
    assert_true(pi.shifted_us > 0 || rx.delay_ms > 40);
    hc_audio_engine_forget_sender(b, 7);
    assert_int_equal(hc_audio_engine_rx_stats(b, 7, &rx), -1);
    hc_audio_engine_stop(a);
    hc_audio_engine_stop(b);
    hc_audio_engine_free(a);
    hc_audio_engine_free(b);
    finish(&loop);
}

/* Loop-paced sinks and sources keep time with the clock (drift-corrected against uv_hrtime):
 * after 2 s the frame count matches the elapsed time, where a plain repeating uv_timer would
 * fall behind by its wake-up latency on every tick. */
static int consumed;
static void count_frames(void *ctx, const float *pcm, size_t n, uint64_t t) { (void)ctx, (void)pcm, (void)n, (void)t; consumed++; }
static int filled;
static void fill_frames(void *ctx, float *pcm, size_t n, uint64_t t) { (void)ctx, (void)t; memset(pcm, 0, n * sizeof *pcm); filled++; }

static void test_pacing_does_not_drift(void **st) {
    (void)st;
    uv_loop_t loop;
    uv_loop_init(&loop);
    hc_audio_config cfg;
    hc_audio_config_defaults(&cfg);
    cfg.frame_ms = 10;
    hc_audio_custom_io io = {fill_frames, NULL, count_frames, NULL};
    hc_audio_engine *e;
    char err[256];
    assert_int_equal(hc_audio_engine_new_custom(&e, &loop, &cfg, NULL, &io, err, sizeof err), 0);
    consumed = filled = 0;
    uint64_t t0 = uv_hrtime();
    assert_int_equal(hc_audio_engine_start(e, err, sizeof err), 0);
    run_for(&loop, 2000);
    double due = (double)(uv_hrtime() - t0) / 10e6;
    print_message("2 s at 10 ms frames: %.1f frames due, sink pulled %d, source produced %d\n", due, consumed, filled);
    assert_true(fabs(consumed - due) <= 1.5);
    assert_true(fabs(filled - due) <= 1.5);
    hc_audio_engine_free(e);
    finish(&loop);
}

/* Two talkers mixed into one output. */
static float mixed[48000];
static size_t mixed_len;
static void keep_output(void *ctx, const float *pcm, size_t n, uint64_t t) {
    (void)ctx, (void)t;
    if (mixed_len + n <= sizeof mixed / sizeof mixed[0]) memcpy(mixed + mixed_len, pcm, n * sizeof *pcm), mixed_len += n;
}
/* Pre-encoded packets fed on a timer (an encoder per talker in real time would be too slow
 * under valgrind): talker 1 at 440 Hz in 20 ms frames, talker 2 at 1000 Hz in 10 ms frames. */
typedef struct {
    hc_audio_engine *to;
    uint8_t p1[50][400], p2[100][400];
    size_t l1[50], l2[100];
    int k;
} talkers;

static void encode_tone(double hz, int frame_ms, int n, uint8_t (*out)[400], size_t *len) {
    hc_opus_enc enc;
    char err[128];
    assert_int_equal(hc_opus_enc_init(&enc, frame_ms, 32000, 0, err, sizeof err), 0);
    hc_opus_enc_set_voice(&enc, 1);           /* as the engine's VAD says for a tone this loud */
    float x[960];
    double ph = 0;
    for (int k = 0; k < n; k++) {
        for (int i = 0; i < 48 * frame_ms; i++, ph += 2 * M_PI * hz / 48000) x[i] = (float)(0.3 * sin(ph));
        int m = hc_opus_enc_encode(&enc, x, out[k] + 2, 398);
        assert_true(m > 2);
        out[k][0] = (uint8_t)(k >> 8), out[k][1] = (uint8_t)k;
        len[k] = (size_t)m + 2;
    }
    hc_opus_enc_free(&enc);
}

static void talk_tick(void *ctx, uint64_t now) {
    (void)now;
    talkers *tk = ctx;
    if (tk->k < 100) hc_audio_engine_receive(tk->to, 2, tk->p2[tk->k], tk->l2[tk->k]);
    if (tk->k % 2 == 0 && tk->k / 2 < 50) hc_audio_engine_receive(tk->to, 1, tk->p1[tk->k / 2], tk->l1[tk->k / 2]);
    tk->k++;
}

static double goertzel_share(const float *x, size_t n, double hz) {
    double c = 2 * cos(2 * M_PI * hz / 48000), s1 = 0, s2 = 0, e = 0;
    for (size_t i = 0; i < n; i++) {
        double s0 = x[i] + c * s1 - s2;
        s2 = s1, s1 = s0, e += (double)x[i] * x[i];
    }
    return e > 0 ? (s1 * s1 + s2 * s2 - c * s1 * s2) / ((double)n * e / 2) : 0;
}

static void test_two_talkers_mixed(void **st) {
    (void)st;
    static talkers tk;
    encode_tone(440, 20, 50, tk.p1, tk.l1);
    encode_tone(1000, 10, 100, tk.p2, tk.l2);
    uv_loop_t loop;
    uv_loop_init(&loop);
    hc_audio_config cfg;
    hc_audio_config_defaults(&cfg);
    cfg.in_spec = "silence";
    char err[256];
    hc_audio_engine *b;
    hc_audio_custom_io io = {NULL, NULL, keep_output, NULL};
    mixed_len = 0;
    assert_int_equal(hc_audio_engine_new_custom(&b, &loop, &cfg, NULL, &io, err, sizeof err), 0);
    assert_int_equal(hc_audio_engine_start(b, err, sizeof err), 0);
    tk.to = b;
    tk.k = 0;
    hc_pacer *feed = hc_pacer_start(&loop, 10000000, talk_tick, &tk);   /* on time, like a sender */
    run_for(&loop, 900);
    hc_pacer_stop(feed);
    hc_audio_rx_stats r1, r2;
    assert_int_equal(hc_audio_engine_rx_stats(b, 1, &r1), 0);
    assert_int_equal(hc_audio_engine_rx_stats(b, 2, &r2), 0);
    print_message("talker 1: %llu frames, level %d dBFS; talker 2: %llu frames, level %d dBFS\n",
                  (unsigned long long)r1.frames, r1.level_dbfs, (unsigned long long)r2.frames, r2.level_dbfs);
    /* the middle 400 ms of the mixed output hold both tones, each about half of the power */
    size_t mid = 0;
    while (mid < mixed_len && fabsf(mixed[mid]) < 0.01f) mid++;   /* first audible sample */
    assert_true(mid + 24000 <= mixed_len);
    const float *w = mixed + mid + 4800;
    double s440 = goertzel_share(w, 19200, 440), s1000 = goertzel_share(w, 19200, 1000);
    print_message("mixed output: 440 Hz share %.2f, 1000 Hz share %.2f\n", s440, s1000);
    assert_true(s440 > 0.3 && s1000 > 0.3 && s440 + s1000 > 0.9);
    for (size_t i = 0; i < mixed_len; i++) assert_true(fabsf(mixed[i]) < 1.0f);
    hc_audio_engine_free(b);
    finish(&loop);
}

/* The network is untrusted: any bytes, any sender ids, any seq. */
typedef struct {
    hc_audio_engine *e;
    uint64_t s;
    int rounds;
    uint8_t good[2][400];
    size_t good_len[2];
} fuzz_ctx;

static uint64_t next(uint64_t *s) {
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return *s >> 33;
}

static void fuzz_tick(uv_timer_t *t) {
    fuzz_ctx *f = t->data;
    uint8_t b[1400];
    for (int i = 0; i < 150; i++) {
        size_t len = next(&f->s) % 1400;
        for (size_t j = 0; j < len; j++) b[j] = (uint8_t)next(&f->s);
        int mode = (int)(next(&f->s) % 4);
        if (mode == 1 && len > 3) {                     /* a valid Opus packet with a random seq */
            int g = (int)(next(&f->s) % 2);
            len = f->good_len[g];
            memcpy(b, f->good[g], len);
            b[0] = (uint8_t)next(&f->s), b[1] = (uint8_t)next(&f->s);
        } else if (mode == 2 && len > 3) {
            b[2] = (uint8_t)(next(&f->s) % 2 ? 0x78 : 0x08);   /* plausible TOC, garbage body */
        }
        uint32_t sender = (uint32_t)(next(&f->s) % 64);        /* more senders than slots */
        hc_audio_engine_receive(f->e, sender, mode == 3 ? NULL : b, len);
    }
    if (++f->rounds == 60) uv_timer_stop(t);
}

static void test_random_payloads(void **st) {
    (void)st;
    uv_loop_t loop;
    uv_loop_init(&loop);
    capture c = {0};
    fuzz_ctx f = {0};
    f.s = 2024;
    /* two real packets to mutate: 20 ms and 10 ms frames */
    for (int g = 0; g < 2; g++) {
        hc_opus_enc enc;
        char err[128];
        assert_int_equal(hc_opus_enc_init(&enc, g ? 10 : 20, 32000, 0, err, sizeof err), 0);
        float x[960];
        for (int i = 0; i < 960; i++) x[i] = (float)(0.3 * sin(i * 0.1));
        int n = hc_opus_enc_encode(&enc, x, f.good[g] + 2, sizeof f.good[g] - 2);
        assert_true(n > 2);
        f.good_len[g] = (size_t)n + 2;
        hc_opus_enc_free(&enc);
    }
    hc_audio_engine *e = make(&loop, "silence", "null", &c);
    f.e = e;
    hc_audio_engine_receive(e, 1, NULL, 0);
    hc_audio_engine_receive(e, 1, (const uint8_t *)"", 0);
    hc_audio_engine_receive(e, 1, (const uint8_t *)"\x00", 1);
    hc_audio_engine_receive(e, 1, (const uint8_t *)"\x00\x01", 2);
    uv_timer_t t;
    uv_timer_init(&loop, &t);
    t.data = &f;
    uv_timer_start(&t, fuzz_tick, 5, 5);
    run_for(&loop, 450);                 /* 60 rounds x 5 ms, while the null sink pulls */
    uv_close((uv_handle_t *)&t, NULL);
    hc_audio_rx_stats rx;
    int known = 0;
    for (uint32_t s = 0; s < 64; s++)
        if (hc_audio_engine_rx_stats(e, s, &rx) == 0) {
            known++;
            assert_true(rx.delay_ms >= 0 && rx.delay_ms <= 200);
        }
    assert_true(known >= 1 && known <= 32);              /* the sender table is bounded */
    hc_audio_engine_free(e);
    finish(&loop);
}

static void test_clear_errors(void **st) {
    (void)st;
    uv_loop_t loop;
    uv_loop_init(&loop);
    hc_audio_config cfg;
    hc_audio_config_defaults(&cfg);
    hc_audio_engine *e = NULL;
    char err[2048];
    cfg.in_spec = "wav:/nonexistent/dir/in.wav";
    cfg.out_spec = "null";
    assert_int_equal(hc_audio_engine_new(&e, &loop, &cfg, NULL, err, sizeof err), -1);
    assert_null(e);
    assert_non_null(strstr(err, "/nonexistent/dir/in.wav"));
    cfg.in_spec = "silence";
    cfg.out_spec = "wav:/nonexistent/dir/out.wav";
    assert_int_equal(hc_audio_engine_new(&e, &loop, &cfg, NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "/nonexistent/dir/out.wav"));
    cfg.out_spec = "speakers";
    assert_int_equal(hc_audio_engine_new(&e, &loop, &cfg, NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "speakers"));
    cfg.out_spec = "null";
    cfg.frame_ms = 15;
    assert_int_equal(hc_audio_engine_new(&e, &loop, &cfg, NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "10, 20 or 40"));
    finish(&loop);
}

/* The device error path ("no device matches ..., devices: ...") is checked by
 * tests/e2e/audio_device.sh: ALSA's plugins leak at dlopen, which valgrind would flag here. */

/* SPSC ring under real concurrency: every sample arrives once, in order. */
#define RING_TOTAL 400000
static hc_ring ring;
static void *producer(void *arg) {
    (void)arg;
    float buf[700];
    uint32_t next_v = 0, s = 1;
    while (next_v < RING_TOTAL) {
        s = s * 1103515245u + 12345u;
        size_t n = 1 + (s >> 16) % 700;
        if (n > RING_TOTAL - next_v) n = RING_TOTAL - next_v;
        for (size_t i = 0; i < n; i++) buf[i] = (float)(next_v + i);
        size_t w = hc_ring_write(&ring, buf, n);
        next_v += (uint32_t)w;
        if (w < n) sched_yield();
    }
    return NULL;
}

static void test_ring_spsc(void **st) {
    (void)st;
    assert_int_equal(hc_ring_init(&ring, 1000), 0);
    assert_int_equal(ring.cap, 1024);
    pthread_t th;
    pthread_create(&th, NULL, producer, NULL);
    float buf[500];
    uint32_t expect = 0, s = 7;
    while (expect < RING_TOTAL) {
        s = s * 1103515245u + 12345u;
        size_t got = hc_ring_read(&ring, buf, 1 + (s >> 16) % 500);
        for (size_t i = 0; i < got; i++) assert_true(buf[i] == (float)(expect + i));
        expect += (uint32_t)got;
        if (!got) sched_yield();
    }
    pthread_join(th, NULL);
    assert_int_equal(hc_ring_readable(&ring), 0);
    assert_int_equal(hc_ring_writable(&ring), 1024);
    float z[2000] = {0};
    assert_int_equal(hc_ring_write(&ring, z, 2000), 1024);     /* full: bounded, never overwrites */
    hc_ring_drain(&ring);
    assert_int_equal(hc_ring_readable(&ring), 0);
    hc_ring_free(&ring);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tone_payloads_and_mute),
        cmocka_unit_test(test_silence_is_dtx),
        cmocka_unit_test(test_two_engines_hear_each_other),
        cmocka_unit_test(test_pacing_does_not_drift),
        cmocka_unit_test(test_two_talkers_mixed),
        cmocka_unit_test(test_random_payloads),
        cmocka_unit_test(test_clear_errors),
        cmocka_unit_test(test_ring_spsc),
    };
    return cmocka_run_group_tests_name("audio_engine", tests, NULL, NULL);
}
