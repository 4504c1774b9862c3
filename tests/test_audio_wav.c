/* WAV write/read round trip, other rates and channel counts read as 48 kHz mono, and the
 * resampler round trip 48 kHz -> 44.1 kHz -> 48 kHz (libsamplerate). */
#include <math.h>
#include <errno.h>
#include <sndfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/testutil.h"

#include "audio/resample.h"
#include "audio/wavfile.h"

static char dir[64];

static int setup(void **st) {
    (void)st;
    snprintf(dir, sizeof dir, "/tmp/hc-test-wav.XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **st) {
    (void)st;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* A speech-like test signal: a few harmonics with a gliding pitch and a syllable envelope. */
static void speechlike(float *x, size_t n, int rate) {
    double ph = 0;
    for (size_t i = 0; i < n; i++) {
        double t = (double)i / rate, f0 = 140 + 40 * sin(2 * M_PI * 0.7 * t);
        ph += 2 * M_PI * f0 / rate;
        double env = 0.5 + 0.5 * sin(2 * M_PI * 3.0 * t);
        double v = 0;
        for (int h = 1; h <= 12; h++) v += sin(h * ph) / h;
        x[i] = (float)(0.25 * env * v);
    }
}

static double ncc_best(const float *a, size_t na, const float *b, size_t nb, int maxlag, int *lag_out) {
    double best = -2;
    for (int lag = -maxlag; lag <= maxlag; lag++) {
        double xy = 0, xx = 0, yy = 0;
        for (size_t i = 0; i < na; i++) {
            long j = (long)i + lag;
            if (j < 0 || (size_t)j >= nb) continue;
            xy += (double)a[i] * b[j];
            xx += (double)a[i] * a[i];
            yy += (double)b[j] * b[j];
        }
        double c = xx > 0 && yy > 0 ? xy / sqrt(xx * yy) : 0;
        if (c > best) best = c, *lag_out = lag;
    }
    return best;
}

static void test_wav_round_trip(void **st) {
    (void)st;
    enum { N = 48000 };
    static float x[N];
    speechlike(x, N, 48000);
    char path[128], err[256];
    snprintf(path, sizeof path, "%s/rt.wav", dir);
    assert_int_equal(hc_wav_write_all(path, 48000, x, N, err, sizeof err), 0);
    float *y;
    size_t n;
    assert_int_equal(hc_wav_read_all(path, 48000, &y, &n, err, sizeof err), 0);
    assert_int_equal(n, N);
    double maxerr = 0;
    for (size_t i = 0; i < n; i++) maxerr = fmax(maxerr, fabs((double)x[i] - y[i]));
    assert_true(maxerr <= 1.0 / 32768 + 1e-6);     /* 16-bit PCM quantisation only */
    free(y);
    /* clipping: out-of-range floats saturate instead of wrapping */
    float loud[4] = {1.7f, -1.7f, 0.99f, -0.99f};
    assert_int_equal(hc_wav_write_all(path, 48000, loud, 4, err, sizeof err), 0);
    assert_int_equal(hc_wav_read_all(path, 48000, &y, &n, err, sizeof err), 0);
    assert_int_equal(n, 4);
    assert_true(y[0] > 0.99f && y[1] < -0.99f);
    free(y);
    /* errors name the file */
    assert_int_equal(hc_wav_read_all("/nonexistent/x.wav", 48000, &y, &n, err, sizeof err), -1);
    assert_non_null(strstr(err, "/nonexistent/x.wav"));
}

static uint32_t le32_at(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }

/* A write that fails part way (a file-size limit here: EFBIG after a short write up to it, as a
 * full disk gives ENOSPC) is reported with its errno, later writes are refused without touching
 * the file, and the file is left a valid WAV of exactly the whole samples that reached it: the
 * header's sizes match, and a byte of a half-written sample is cut off. */
static void test_wav_writer_write_fails(void **st) {
    (void)st;
    enum { N = 2000 };
    static float x[N];
    for (int i = 0; i < N; i++) x[i] = (float)((i % 400) - 200) / 256.0f;
    const size_t room[] = {3000, 3001};          /* data bytes the limit leaves: even, odd */
    for (size_t k = 0; k < 2; k++) {
        char path[128], err[256];
        snprintf(path, sizeof path, "%s/full%zu.wav", dir, k);
        hc_wav_writer *w;
        assert_int_equal(hc_wav_writer_open(&w, path, 48000, err, sizeof err), 0);
        hc_test_fsize sv;
        hc_test_fsize_limit(&sv, 44 + room[k]);
        int r1 = hc_wav_writer_write(w, x, 1000);           /* 2000 bytes: fits */
        int r2 = hc_wav_writer_write(w, x + 1000, 1000);    /* reaches the limit */
        int e2 = hc_wav_writer_error(w);
        uint64_t n2 = hc_wav_writer_samples(w);
        int r3 = hc_wav_writer_write(w, x, 10);             /* after the failure */
        uint64_t n3 = hc_wav_writer_samples(w);
        hc_test_fsize_restore(&sv);
        assert_int_equal(r1, 0);
        assert_int_equal(r2, -1);
        assert_int_equal(e2, EFBIG);
        assert_int_equal(n2, 1500);
        assert_int_equal(r3, -1);
        assert_int_equal(n3, 1500);
        hc_wav_writer_close(w);
        struct stat sb;
        assert_int_equal(stat(path, &sb), 0);
        assert_int_equal(sb.st_size, 44 + 3000);            /* the odd byte is gone */
        uint8_t h[44];
        FILE *f = fopen(path, "rb");
        assert_non_null(f);
        assert_int_equal(fread(h, 1, sizeof h, f), sizeof h);
        fclose(f);
        assert_memory_equal(h, "RIFF", 4);
        assert_int_equal(le32_at(h + 4), 36 + 3000);
        assert_memory_equal(h + 36, "data", 4);
        assert_int_equal(le32_at(h + 40), 3000);
        /* and a reader agrees, sample for sample */
        SF_INFO info = {0};
        SNDFILE *sf = sf_open(path, SFM_READ, &info);
        assert_non_null(sf);
        assert_int_equal(info.frames, 1500);
        assert_int_equal(info.channels, 1);
        assert_int_equal(info.samplerate, 48000);
        static short got[N];
        assert_int_equal(sf_read_short(sf, got, N), 1500);
        sf_close(sf);
        for (int i = 0; i < 1500; i++) assert_int_equal(got[i], (short)lrintf(x[i] * 32767.0f));
    }
    /* a device that is full from the first byte: the open fails and says why */
    char err[256] = "";
    hc_wav_writer *w;
    assert_int_equal(hc_wav_writer_open(&w, "/dev/full", 48000, err, sizeof err), -1);
    assert_null(w);
    if (!strstr(err, "/dev/full") || !strstr(err, strerror(ENOSPC))) fail_msg("open error: %s", err);
}

static void test_wav_other_rate_and_channels(void **st) {
    (void)st;
    /* 44.1 kHz stereo, 1 s of a 1 kHz tone on both channels */
    char path[128], err[256];
    snprintf(path, sizeof path, "%s/st.wav", dir);
    SF_INFO info = {0};
    info.samplerate = 44100;
    info.channels = 2;
    info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
    SNDFILE *sf = sf_open(path, SFM_WRITE, &info);
    assert_non_null(sf);
    static float st2[2 * 44100];
    for (int i = 0; i < 44100; i++) st2[2 * i] = st2[2 * i + 1] = (float)(0.5 * sin(2 * M_PI * 1000 * i / 44100.0));
    assert_int_equal(sf_writef_float(sf, st2, 44100), 44100);
    sf_close(sf);
    hc_wav_reader *r;
    assert_int_equal(hc_wav_reader_open(&r, path, 48000, err, sizeof err), 0);
    assert_int_equal(hc_wav_reader_file_rate(r), 44100);
    assert_int_equal(hc_wav_reader_file_channels(r), 2);
    assert_float_equal(hc_wav_reader_seconds(r), 1.0, 1e-6);
    hc_wav_reader_close(r);
    float *y;
    size_t n;
    assert_int_equal(hc_wav_read_all(path, 48000, &y, &n, err, sizeof err), 0);
    assert_true(n >= 47900 && n <= 48100);
    /* still 1 kHz: count zero crossings in the middle 0.5 s */
    int zc = 0;
    for (size_t i = 12000 + 1; i < 36000; i++) zc += (y[i - 1] < 0) != (y[i] < 0);
    assert_true(abs(zc - 1000) <= 4);
    double e = 0;
    for (size_t i = 12000; i < 36000; i++) e += (double)y[i] * y[i];
    assert_float_equal(sqrt(e / 24000), 0.5 / sqrt(2), 0.01);
    free(y);
}

static void test_resample_round_trip(void **st) {
    (void)st;
    enum { N = 48000 };
    static float x[N];
    speechlike(x, N, 48000);
    float *mid, *back;
    size_t nmid, nback;
    assert_int_equal(hc_resample_buffer(x, N, 48000, 44100, &mid, &nmid), 0);
    assert_true(labs((long)nmid - 44100) <= 2);
    assert_int_equal(hc_resample_buffer(mid, nmid, 44100, 48000, &back, &nback), 0);
    assert_true(labs((long)nback - N) <= 4);
    int lag = 0;
    /* ignore the first and last 10 ms (filter edges) */
    double c = ncc_best(x + 480, N - 960, back + 480, nback - 960, 50, &lag);
    print_message("resample 48k->44.1k->48k: correlation %.5f at lag %d\n", c, lag);
    assert_true(c >= 0.99);
    free(mid);
    free(back);
}

static size_t pull_counter;
static size_t pull_ramp(void *ctx, float *buf, size_t n) {
    size_t *left = ctx;
    if (n > *left) n = *left;
    for (size_t i = 0; i < n; i++) buf[i] = (float)sin(2 * M_PI * 500 * (double)(pull_counter++) / 16000.0) * 0.5f;
    *left -= n;
    return n;
}

static void test_streaming_resampler(void **st) {
    (void)st;
    /* 16 kHz -> 48 kHz through the pull interface, read in odd-sized pieces */
    size_t left = 16000;
    pull_counter = 0;
    hc_resampler *r;
    char err[128];
    assert_int_equal(hc_resampler_new(&r, 16000, 48000, pull_ramp, &left, err, sizeof err), 0);
    static float out[60000];
    size_t got = 0, k;
    while ((k = hc_resampler_read(r, out + got, 333)) > 0) got += k;
    hc_resampler_free(r);
    assert_true(got >= 47900 && got <= 48100);
    int zc = 0;
    for (size_t i = 12001; i < 36000; i++) zc += (out[i - 1] < 0) != (out[i] < 0);
    assert_true(abs(zc - 500) <= 3);
    assert_int_equal(hc_resampler_new(&r, 0, 48000, pull_ramp, &left, err, sizeof err), -1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wav_round_trip),
        cmocka_unit_test(test_wav_other_rate_and_channels),
        cmocka_unit_test(test_wav_writer_write_fails),
        cmocka_unit_test(test_resample_round_trip),
        cmocka_unit_test(test_streaming_resampler),
    };
    return cmocka_run_group_tests_name("audio_wav", tests, setup, teardown);
}
