/* Level meter (RMS dBFS), VAD hysteresis and hang time, RFC 6464 byte; mixer clipping protection. */
#include <math.h>

#include "tests/testutil.h"

#include "audio/level.h"
#include "audio/mixer.h"

static void sine(float *x, size_t n, double amp, double hz) {
    for (size_t i = 0; i < n; i++) x[i] = (float)(amp * sin(2 * M_PI * hz * (double)i / 48000.0));
}

static void test_dbfs_of_sines(void **st) {
    (void)st;
    float x[4800];
    sine(x, 4800, 1.0, 1000);
    assert_float_equal(hc_level_dbfs(x, 4800), -3.01, 0.02);     /* full-scale sine: -3 dBFS RMS */
    sine(x, 4800, 0.1, 440);
    assert_float_equal(hc_level_dbfs(x, 4800), -23.01, 0.05);
    sine(x, 4800, 0.001, 100);
    assert_float_equal(hc_level_dbfs(x, 4800), -63.01, 0.05);
    memset(x, 0, sizeof x);
    assert_float_equal(hc_level_dbfs(x, 4800), -127.0, 1e-9);    /* silence: the floor */
    for (int i = 0; i < 4800; i++) x[i] = 1.0f;
    assert_float_equal(hc_level_dbfs(x, 4800), 0.0, 1e-9);       /* full-scale square */
    assert_float_equal(hc_level_dbfs(x, 0), -127.0, 1e-9);
}

static void test_rfc6464_byte(void **st) {
    (void)st;
    assert_int_equal(hc_level_rfc6464(-3.01, 1), 0x80 | 3);
    assert_int_equal(hc_level_rfc6464(-3.01, 0), 3);
    assert_int_equal(hc_level_rfc6464(-127, 0), 127);
    assert_int_equal(hc_level_rfc6464(-200, 1), 0x80 | 127);
    assert_int_equal(hc_level_rfc6464(0, 0), 0);
    assert_int_equal(hc_level_rfc6464(5, 0), 0);
}

static void test_vad_hysteresis(void **st) {
    (void)st;
    hc_vad v;
    hc_vad_init(&v);
    /* between the two thresholds: not enough to start talking */
    for (int i = 0; i < 50; i++) assert_int_equal(hc_vad_update(&v, -46, 20), 0);
    /* above the upper one: talking */
    assert_int_equal(hc_vad_update(&v, -38, 20), 1);
    /* between the thresholds again: keeps talking (hysteresis), indefinitely */
    for (int i = 0; i < 100; i++) assert_int_equal(hc_vad_update(&v, -46, 20), 1);
    /* a level hovering around the upper threshold never flickers */
    hc_vad_init(&v);
    int changes = 0, prev = 0;
    for (int i = 0; i < 200; i++) {
        int t = hc_vad_update(&v, (i % 2) ? -41 : -43, 20);
        if (t != prev) changes++;
        prev = t;
    }
    assert_int_equal(changes, 1);
}

static void test_vad_hang_time(void **st) {
    (void)st;
    hc_vad v;
    hc_vad_init(&v);
    assert_int_equal(v.hang_ms, 200);
    assert_int_equal(hc_vad_update(&v, -20, 20), 1);
    /* silence: still talking for 200 ms (bridges pauses between words), then not */
    int ms = 0;
    while (hc_vad_update(&v, -90, 20)) ms += 20;
    assert_int_equal(ms + 20, 200);
    /* a short pause inside speech does not end talking */
    hc_vad_init(&v);
    hc_vad_update(&v, -20, 10);
    for (int i = 0; i < 15; i++) assert_int_equal(hc_vad_update(&v, -90, 10), 1);   /* 150 ms */
    assert_int_equal(hc_vad_update(&v, -30, 10), 1);
    for (int i = 0; i < 19; i++) assert_int_equal(hc_vad_update(&v, -90, 10), 1);   /* re-armed */
    assert_int_equal(hc_vad_update(&v, -90, 10), 0);
}

static void test_mix_limiter(void **st) {
    (void)st;
    enum { N = 4800 };
    static float a[N], b[N], acc[N], want[N];
    sine(a, N, 0.8, 300);
    sine(b, N, 0.8, 300);            /* in phase: the sum peaks at 1.6 */
    memset(acc, 0, sizeof acc);
    hc_mix_add(acc, a, N);
    hc_mix_add(acc, b, N);
    memcpy(want, acc, sizeof acc);
    hc_mix_limit(acc, N);
    float peak = 0;
    for (int i = 0; i < N; i++) {
        assert_true(fabsf(acc[i]) < 1.0f);
        /* soft, not wrapped: same sign, and monotonic in the input */
        if (fabsf(want[i]) > 1e-6f) assert_true((acc[i] > 0) == (want[i] > 0));
        if (fabsf(acc[i]) > peak) peak = fabsf(acc[i]);
    }
    assert_true(peak > 0.95f);
    for (int i = 1; i < N; i++)
        if (want[i] > want[i - 1]) assert_true(acc[i] >= acc[i - 1]);
    /* one talker below the knee passes bit-exact */
    sine(a, N, 0.5, 1000);
    memcpy(acc, a, sizeof a);
    hc_mix_limit(acc, N);
    assert_memory_equal(acc, a, sizeof a);
    /* NaN never reaches the output */
    acc[0] = NAN;
    hc_mix_limit(acc, 1);
    assert_true(acc[0] == 0.0f);
    /* int16 conversion saturates instead of wrapping */
    float f[4] = {1.5f, -1.5f, 0.5f, -0.25f};
    int16_t s16[4];
    hc_mix_to_s16(f, s16, 4);
    assert_int_equal(s16[0], 32767);
    assert_int_equal(s16[1], -32768);
    assert_int_equal(s16[2], 16384);
    assert_int_equal(s16[3], -8192);
    float back[4];
    hc_mix_from_s16(s16, back, 4);
    assert_float_equal(back[2], 0.5, 1e-6);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dbfs_of_sines),   cmocka_unit_test(test_rfc6464_byte),
        cmocka_unit_test(test_vad_hysteresis),  cmocka_unit_test(test_vad_hang_time),
        cmocka_unit_test(test_mix_limiter),
    };
    return cmocka_run_group_tests_name("audio_level", tests, NULL, NULL);
}
