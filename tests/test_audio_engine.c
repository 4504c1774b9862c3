/* The engine: tone in -> payloads (seq, RFC 6464 level), mute, DTX, two engines talking, pacing
 * that does not drift on a machine that wakes up late, two talkers mixed, random payloads from the
 * network, clear errors; and the SPSC ring under two threads.
 *
 * What is timing or quality (how many frames in how much time, nothing lost between two engines,
 * the mix) runs on a simulated clock (audio/vclock.h), so the counts are exact and a busy machine
 * cannot change them. DTX, random payloads and the handles' lifecycle run on the real libuv loop
 * (a few hundred ms each), with checks that hold however late the loop wakes up. */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <sndfile.h>
#include <unistd.h>

#include "tests/testutil.h"

#include "audio/engine.h"
#include "audio/engine_custom.h"
#include "audio/opus_codec.h"
#include "audio/pacer.h"
#include "audio/ring.h"
#include "audio/vclock.h"

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

/* Simulated time: ms more of it, every tick and delivery due by then run. */
static void vrun_for(hc_vclock *vc, uint64_t ms) { hc_vclock_run_until(vc, hc_vclock_now(vc) + ms * 1000000ull); }

static hc_audio_engine *make_on(uv_loop_t *loop, hc_vclock *vc, const char *in, const char *out, capture *c) {
    hc_audio_config cfg;
    hc_audio_config_defaults(&cfg);
    cfg.in_spec = in;
    cfg.out_spec = out;
    cfg.vclock = vc;
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

static hc_audio_engine *make(uv_loop_t *loop, const char *in, const char *out, capture *c) {
    return make_on(loop, NULL, in, out, c);
}

static void finish(uv_loop_t *loop) {
    uv_run(loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(loop), 0);   /* every handle closed and freed */
}

static void test_tone_payloads_and_mute(void **st) {
    (void)st;
    uv_loop_t loop;
    uv_loop_init(&loop);
    hc_vclock *vc = hc_vclock_new(1000000000ull);
    capture c = {0};
    hc_audio_engine *e = make_on(&loop, vc, "tone:440", "null", &c);
    vrun_for(vc, 300);
    print_message("300 ms of tone: %d payloads\n", c.payloads);
    /* paced by the clock: one per 20 ms, the first one period after the start */
    assert_int_equal(c.payloads, 15);
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
    vrun_for(vc, 200);
    assert_int_equal(c.payloads, before);
    hc_audio_engine_tx_stats(e, &tx);
    assert_int_equal(tx.muted, 1);
    assert_int_equal(tx.talking, 1);
    assert_true(tx.level_dbfs >= -15 && tx.level_dbfs <= -12);
    /* unmute: sending resumes, and the seq jumped over the muted frames */
    hc_audio_engine_set_muted(e, 0);
    vrun_for(vc, 100);
    assert_int_equal(c.payloads, before + 5);
    assert_int_equal(c.seq_gaps, 1);
    assert_int_equal(c.last_seq, 29);                      /* 30 slots in 600 ms, 10 of them muted */
    hc_audio_engine_set_loss_percent(e, 12);
    hc_audio_engine_tx_stats(e, &tx);
    assert_int_equal(tx.loss_percent, 12);
    assert_string_equal(hc_audio_engine_describe_in(e), "tone:440 Hz");
    assert_string_equal(hc_audio_engine_describe_out(e), "null");
    /* stopped, nothing more comes; a simulated clock leaves nothing on the loop */
    hc_audio_engine_stop(e);
    vrun_for(vc, 100);
    assert_int_equal(c.payloads, before + 5);
    assert_int_equal(uv_loop_alive(&loop), 0);
    hc_audio_engine_free(e);
    assert_int_equal(uv_loop_close(&loop), 0);
    hc_vclock_free(vc);
}

/* On the real loop: DTX, and the handles' lifecycle (after stop, one pass of the loop closes every
 * handle of ours; free needs no loop after it). */
static void test_silence_is_dtx(void **st) {
    (void)st;
    uv_loop_t loop;
    uv_loop_init(&loop);
    capture c = {0};
    uint64_t t0 = uv_hrtime();
    hc_audio_engine *e = make(&loop, "silence", "null", &c);
    run_for(&loop, 1000);
    /* real time: never ahead of the clock (a stalled machine may give fewer) */
    hc_audio_tx_stats tx0;
    hc_audio_engine_tx_stats(e, &tx0);
    assert_true((double)(tx0.frames_sent + tx0.dtx_skipped) <= (double)(uv_hrtime() - t0) / 20e6 + 1);
    hc_audio_tx_stats tx;
    hc_audio_engine_tx_stats(e, &tx);
    print_message("1 s of silence: %llu sent, %llu DTX frames not sent\n", (unsigned long long)tx.frames_sent,
                  (unsigned long long)tx.dtx_skipped);
    assert_true(tx.dtx_skipped > tx.frames_sent);
    assert_int_equal((uint64_t)c.payloads, tx.frames_sent);
    assert_int_equal(tx.talking, 0);
    assert_int_equal(tx.level_dbfs, -127);
    hc_audio_engine_stop(e);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_alive(&loop), 0);
    hc_audio_engine_free(e);
    assert_int_equal(uv_loop_close(&loop), 0);
}

/* Free without stop: it stops itself. */
static void test_free_without_stop(void **st) {
    (void)st;
    uv_loop_t loop;
    uv_loop_init(&loop);
    capture c = {0};
    hc_audio_engine *e = make(&loop, "tone:300", "null", &c);
    run_for(&loop, 50);
    hc_audio_engine_free(e);
    finish(&loop);
}

static void test_two_engines_hear_each_other(void **st) {
    (void)st;
    uv_loop_t loop;
    uv_loop_init(&loop);
    hc_vclock *vc = hc_vclock_new(1000000000ull);
    capture ca = {0}, cb = {0};
    hc_audio_engine *b = make_on(&loop, vc, "silence", "null", &cb);
    ca.forward_to = b;
    vrun_for(vc, 9);            /* B's ticks and A's packets out of phase (checked below) */
    hc_audio_engine *a = make_on(&loop, vc, "tone:1000", "null", &ca);
    vrun_for(vc, 600);
    hc_audio_rx_stats rx;
    assert_int_equal(hc_audio_engine_rx_stats(b, 7, &rx), 0);
    assert_int_equal(hc_audio_engine_rx_stats(b, 8, &rx), -1);
    assert_int_equal(hc_audio_engine_rx_stats(b, 7, &rx), 0);
    print_message("B hears A: received %llu frames %llu lost %llu level %d dBFS talking %d delay %d ms\n",
                  (unsigned long long)rx.received, (unsigned long long)rx.frames, (unsigned long long)rx.lost,
                  rx.level_dbfs, rx.talking, rx.delay_ms);
    assert_int_equal(rx.received, 30);    /* every packet of 600 ms, delivered at once */
    assert_true(rx.frames >= 27);         /* played out but for the first slot or two of buffering */
    assert_int_equal(rx.lost, 0);
    assert_int_equal(rx.concealed, 0);
    assert_int_equal(rx.talking, 1);
    assert_true(rx.level_dbfs >= -17 && rx.level_dbfs <= -11);
    /* A new stream is on probation: a frame plus the FEC frame (it drops to the margin plus the
     * measured jitter after 5 s of audio without loss). */
    assert_true(rx.delay_ms >= 40 && rx.delay_ms <= 200);
    /* B's null sink was re-phased: its ticks moved sooner to just after A's packets are due
     * (they started 9 ms apart) */
    hc_audio_playout_info pi;
    hc_audio_engine_playout_info(b, &pi);
    print_message("B's playout: %llu shifts, %lld us sooner in all\n", (unsigned long long)pi.shifts,
                  (long long)pi.shifted_us);
    assert_true(pi.shifts >= 1);
    assert_true(pi.shifted_us > 0);
    hc_audio_engine_forget_sender(b, 7);
    assert_int_equal(hc_audio_engine_rx_stats(b, 7, &rx), -1);
    hc_audio_engine_stop(a);
    hc_audio_engine_stop(b);
    hc_audio_engine_free(a);
    hc_audio_engine_free(b);
    finish(&loop);
    hc_vclock_free(vc);
}

/* Loop-paced sinks and sources keep time with the clock on a machine that wakes them up late: the
 * pacer schedules against the clock from a fixed start and runs the ticks it missed, where a
 * plain repeating timer would fall behind by its wake-up latency on every tick. Simulated: every
 * wake-up comes 0-15 ms late (seeded), so the counts are exact. */
static int consumed;
static void count_frames(void *ctx, const float *pcm, size_t n, uint64_t t) { (void)ctx, (void)pcm, (void)n, (void)t; consumed++; }
static int filled;
static void fill_frames(void *ctx, float *pcm, size_t n, uint64_t t) { (void)ctx, (void)t; memset(pcm, 0, n * sizeof *pcm); filled++; }
static uint64_t late_rng = 99, stall_ns;
static uint64_t late_0_15ms(void *ctx) {
    (void)ctx;
    if (stall_ns) {                      /* one long stall, then back to the usual lateness */
        uint64_t s = stall_ns;
        stall_ns = 0;
        return s;
    }
    late_rng = late_rng * 6364136223846793005ull + 1442695040888963407ull;
    return (late_rng >> 33) % 15000000ull;
}

static void test_pacing_does_not_drift(void **st) {
    (void)st;
    uv_loop_t loop;
    uv_loop_init(&loop);
    hc_vclock *vc = hc_vclock_new(1000000000ull);
    hc_vclock_set_lateness(vc, late_0_15ms, NULL);
    hc_audio_config cfg;
    hc_audio_config_defaults(&cfg);
    cfg.frame_ms = 10;
    cfg.vclock = vc;
    hc_audio_custom_io io = {fill_frames, NULL, count_frames, NULL};
    hc_audio_engine *e;
    char err[256];
    assert_int_equal(hc_audio_engine_new_custom(&e, &loop, &cfg, NULL, &io, err, sizeof err), 0);
    consumed = filled = 0;
    assert_int_equal(hc_audio_engine_start(e, err, sizeof err), 0);
    vrun_for(vc, 2000);
    print_message("2 s at 10 ms frames, every wake-up 0-15 ms late: 200 frames due, sink pulled %d, source "
                  "produced %d\n", consumed, filled);
    /* never ahead of the clock, and behind by at most the last wake-up's lateness (15 ms) */
    assert_true(consumed <= 200 && consumed >= 198);
    assert_true(filled <= 200 && filled >= 198);
    hc_audio_engine_free(e);
    finish(&loop);
    hc_vclock_free(vc);
}

/* The simulated clock itself: time order, ties in scheduling order, cancel, events scheduled
 * from events, a time in the past runs now, time never goes back. */
static char vc_order[16];
static size_t vc_n;
static hc_vclock *vc_self;
static void vc_mark(void *ctx, uint64_t now) {
    (void)now;
    vc_order[vc_n++] = *(const char *)ctx;
    if (*(const char *)ctx == 'b') hc_vclock_at(vc_self, now, vc_mark, "e");   /* due at once: runs in this pass */
}

static void test_vclock(void **st) {
    (void)st;
    hc_vclock *vc = vc_self = hc_vclock_new(1000);
    vc_n = 0;
    hc_vclock_at(vc, 3000, vc_mark, "c");
    hc_vclock_at(vc, 2000, vc_mark, "a");
    hc_vclock_at(vc, 2000, vc_mark, "b");
    uint64_t x = hc_vclock_at(vc, 2500, vc_mark, "x");
    hc_vclock_at(vc, 9000, vc_mark, "z");
    assert_true(x != 0);
    hc_vclock_cancel(vc, x);
    hc_vclock_cancel(vc, 12345);               /* unknown: ignored */
    hc_vclock_run_until(vc, 5000);
    assert_int_equal(hc_vclock_now(vc), 5000);
    assert_int_equal(vc_n, 4);
    assert_memory_equal(vc_order, "abec", 4);
    hc_vclock_at(vc, 10, vc_mark, "p");        /* in the past: runs at the next run, at now */
    hc_vclock_run_until(vc, 4000);             /* backwards: only what is due now */
    assert_int_equal(hc_vclock_now(vc), 5000);
    assert_int_equal(vc_n, 5);
    assert_int_equal(vc_order[4], 'p');
    assert_int_equal(hc_vclock_events_run(vc), 5);
    hc_vclock_free(vc);                        /* "z" still pending: dropped, not run */
    assert_int_equal(vc_n, 5);
}

/* A stall longer than HC_PACER_MAX_CATCHUP periods: the pacer runs at most that many ticks at
 * once, skips the rest (counted) and goes on on schedule; no tick ever runs before it is due. */
typedef struct {
    uint64_t t0, period;
    int ticks, ahead, burst, max_burst;
    uint64_t last_now;
    hc_pacer *p;                       /* its skipped ticks count too: tick k is due at t0 + k period */
    int stop_at;                       /* stop the pacer from inside this tick (0: never) */
} tick_log;

static void log_tick(void *ctx, uint64_t now) {
    tick_log *l = ctx;
    l->ticks++;
    if (now < l->t0 + ((uint64_t)l->ticks + hc_pacer_skipped(l->p)) * l->period) l->ahead++;
    if (l->ticks == l->stop_at) hc_pacer_stop(l->p);
    l->burst = now == l->last_now ? l->burst + 1 : 1;
    if (l->burst > l->max_burst) l->max_burst = l->burst;
    l->last_now = now;
}

static void test_pacer_after_a_stall(void **st) {
    (void)st;
    hc_vclock *vc = hc_vclock_new(1000000000ull);
    tick_log l = {hc_vclock_now(vc), 10000000ull, 0, 0, 0, 0, 0, NULL, 0};
    hc_pacer *p = l.p = hc_pacer_start(NULL, vc, l.period, log_tick, &l);
    assert_non_null(p);
    vrun_for(vc, 1000);
    assert_int_equal(l.ticks, 100);              /* on time, no lateness yet */
    assert_true(l.max_burst == 1);
    hc_vclock_set_lateness(vc, late_0_15ms, NULL);
    stall_ns = 500000000ull;                      /* the next wake-up comes 500 ms late */
    vrun_for(vc, 1000);
    uint64_t skipped = hc_pacer_skipped(p);
    print_message("after a 500 ms stall: %d ticks in 2 s, %llu skipped, at most %d at once\n", l.ticks,
                  (unsigned long long)skipped, l.max_burst);
    assert_int_equal(l.ahead, 0);
    assert_true(l.max_burst <= HC_PACER_MAX_CATCHUP);
    assert_true(skipped >= 30 && skipped <= 50);  /* 50 periods missed, 10 of them made up at once */
    assert_true(l.ticks + (int)skipped >= 198 && l.ticks + (int)skipped <= 200);
    hc_pacer_stop(p);
    vrun_for(vc, 100);
    int after = l.ticks;
    vrun_for(vc, 100);
    assert_int_equal(l.ticks, after);            /* stopped: nothing more */
    hc_vclock_free(vc);
}

/* Stopped from inside its own tick (an engine stopped from a callback): that tick finishes, no
 * other runs, and the memory goes once the tick has returned (ASan and valgrind watch). */
static void test_pacer_stopped_in_a_tick(void **st) {
    (void)st;
    hc_vclock *vc = hc_vclock_new(1000000000ull);
    tick_log l = {hc_vclock_now(vc), 10000000ull, 0, 0, 0, 0, 0, NULL, 3};
    l.p = hc_pacer_start(NULL, vc, l.period, log_tick, &l);
    assert_non_null(l.p);
    hc_vclock_set_lateness(vc, late_0_15ms, NULL);
    stall_ns = 100000000ull;                      /* a catch-up burst: the stop lands mid-burst */
    vrun_for(vc, 500);
    assert_int_equal(l.ticks, 3);
    assert_int_equal(l.ahead, 0);
    hc_vclock_free(vc);
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
    hc_vclock *vc = hc_vclock_new(1000000000ull);
    hc_audio_config cfg;
    hc_audio_config_defaults(&cfg);
    cfg.in_spec = "silence";
    cfg.vclock = vc;
    char err[256];
    hc_audio_engine *b;
    hc_audio_custom_io io = {NULL, NULL, keep_output, NULL};
    mixed_len = 0;
    assert_int_equal(hc_audio_engine_new_custom(&b, &loop, &cfg, NULL, &io, err, sizeof err), 0);
    assert_int_equal(hc_audio_engine_start(b, err, sizeof err), 0);
    tk.to = b;
    tk.k = 0;
    hc_pacer *feed = hc_pacer_start(&loop, vc, 10000000, talk_tick, &tk);   /* on time, like a sender */
    vrun_for(vc, 900);
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
    hc_vclock_free(vc);
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

/* A recording whose file fills up (a file-size limit, as a full disk would give ENOSPC): the
 * engine reports it once, with the file and errno, and the call goes on: B's audio is still
 * received and mixed (the jitter buffer and its statistics advance), the frames no longer
 * recorded are counted, and the file is a valid WAV of what was written. Simulated clock: the
 * counts are exact. */
typedef struct {
    capture c;                       /* first: on_payload gets the same pointer */
    int calls, errnum;
    char path[256];
    uint64_t recorded_ms;
} recorder;

static void on_rec_failed(void *ctx, const hc_audio_recording_failure *f) {
    recorder *r = ctx;
    r->calls++;
    r->errnum = f->errnum;
    snprintf(r->path, sizeof r->path, "%s", f->path ? f->path : "(null)");
    r->recorded_ms = f->recorded_ms;
}

static void test_recording_failure_reported_once(void **st) {
    (void)st;
    char dir[] = "/tmp/hc-test-rec.XXXXXX", path[128], spec[160], err[1024];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/rec.wav", dir);
    snprintf(spec, sizeof spec, "wav:%s", path);
    uv_loop_t loop;
    uv_loop_init(&loop);
    hc_vclock *vc = hc_vclock_new(1000000000ull);
    recorder rec;
    memset(&rec, 0, sizeof rec);
    hc_audio_config cfg;
    hc_audio_config_defaults(&cfg);
    cfg.in_spec = "silence";
    cfg.out_spec = spec;
    cfg.vclock = vc;
    hc_audio_callbacks cb = {&rec, on_payload, on_rec_failed};
    hc_audio_engine *a = NULL;
    if (hc_audio_engine_new(&a, &loop, &cfg, &cb, err, sizeof err)) fail_msg("engine: %s", err);
    assert_int_equal(hc_audio_engine_start(a, err, sizeof err), 0);
    capture cbv = {0};
    cbv.forward_to = a;                                  /* B talks to A as sender 7 */
    hc_audio_engine *b = make_on(&loop, vc, "tone:440", "null", &cbv);
    /* room for 10 frames of 20 ms (960 samples, 1920 bytes) and 50 samples of the 11th */
    hc_test_fsize sv;
    hc_test_fsize_limit(&sv, 44 + 10 * 1920 + 100);
    vrun_for(vc, 1000);                                  /* 50 ticks of A's sink */
    hc_audio_rx_stats rx1, rx2;
    hc_audio_tx_stats tx1, tx2;
    int have1 = hc_audio_engine_rx_stats(a, 7, &rx1);
    hc_audio_engine_tx_stats(a, &tx1);
    vrun_for(vc, 500);                                   /* the call goes on: 25 more */
    int have2 = hc_audio_engine_rx_stats(a, 7, &rx2);
    hc_audio_engine_tx_stats(a, &tx2);
    hc_test_fsize_restore(&sv);
    print_message("recording failed %d time(s): errno %d, %llu ms recorded; dropped %llu then %llu frames; "
                  "rx frames %llu then %llu\n", rec.calls, rec.errnum, (unsigned long long)rec.recorded_ms,
                  (unsigned long long)tx1.recording_dropped, (unsigned long long)tx2.recording_dropped,
                  (unsigned long long)rx1.frames, (unsigned long long)rx2.frames);
    assert_int_equal(rec.calls, 1);
    assert_int_equal(rec.errnum, EFBIG);
    assert_string_equal(rec.path, path);
    assert_int_equal(rec.recorded_ms, (10 * 960 + 50) * 1000 / 48000);
    assert_int_equal(tx1.recording_dropped, 50 - 10);    /* the 11th frame, half written, too */
    assert_int_equal(tx2.recording_dropped, 75 - 10);
    assert_int_equal(have1, 0);
    assert_int_equal(have2, 0);
    assert_int_equal(rx2.frames - rx1.frames, 25);       /* still mixing B, frame for frame */
    assert_int_equal(rx2.received - rx1.received, 25);
    assert_non_null(strstr(hc_audio_engine_describe_out(a), "recording stopped"));
    hc_audio_engine_stop(a);
    hc_audio_engine_stop(b);
    hc_audio_engine_free(a);
    hc_audio_engine_free(b);
    assert_int_equal(uv_loop_close(&loop), 0);
    hc_vclock_free(vc);
    SF_INFO info = {0};
    SNDFILE *sf = sf_open(path, SFM_READ, &info);
    if (!sf) fail_msg("the recording is not a valid WAV: %s", sf_strerror(NULL));
    assert_int_equal(info.frames, 10 * 960 + 50);
    sf_close(sf);
    unlink(path);
    rmdir(dir);
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
        cmocka_unit_test(test_free_without_stop),
        cmocka_unit_test(test_pacing_does_not_drift),
        cmocka_unit_test(test_vclock),
        cmocka_unit_test(test_pacer_after_a_stall),
        cmocka_unit_test(test_pacer_stopped_in_a_tick),
        cmocka_unit_test(test_two_talkers_mixed),
        cmocka_unit_test(test_random_payloads),
        cmocka_unit_test(test_clear_errors),
        cmocka_unit_test(test_recording_failure_reported_once),
        cmocka_unit_test(test_ring_spsc),
    };
    return cmocka_run_group_tests_name("audio_engine", tests, NULL, NULL);
}
