/* Opus as configured for calls: FEC rebuilds a lost packet better than PLC guesses it (with the
 * loss hint on and the wideband cap), DTX leaves most silent frames unsent but never a frame the
 * level-based VAD calls a voice, packet parsing
 * rejects garbage. */
#include <math.h>
#include <opus/opus.h>

#include "tests/testutil.h"

#include "audio/opus_codec.h"

#define FR 960          /* 20 ms */
#define NFR 150         /* 3 s */

/* Voiced speech-like signal: gliding pitch, harmonics with a moving formant, syllable envelope. */
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

/* Correlation of decoded frame k (delay d) with the original frame k. */
static double frame_corr(const float *orig, const float *dec, int k, opus_int32 d) {
    double xy = 0, xx = 0, yy = 0;
    for (int i = 0; i < FR; i++) {
        int s = k * FR + i;
        double a = orig[s], b = dec[s + d];
        xy += a * b, xx += a * a, yy += b * b;
    }
    return xx > 0 && yy > 0 ? xy / sqrt(xx * yy) : 0;
}

static void test_fec_beats_plc(void **st) {
    (void)st;
    static float x[(NFR + 2) * FR], dec_fec[(NFR + 2) * FR], dec_plc[(NFR + 2) * FR];
    static uint8_t pk[NFR][HC_OPUS_MAX_PACKET];
    int len[NFR];
    speechlike(x, (NFR + 2) * FR);
    hc_opus_enc enc;
    char err[128];
    assert_int_equal(hc_opus_enc_init(&enc, 20, 32000, 0, err, sizeof err), 0);
    hc_opus_enc_set_loss(&enc, 10);          /* receivers report loss: LBRR on, capped at WB */
    for (int k = 0; k < NFR; k++) {
        len[k] = hc_opus_enc_encode(&enc, x + k * FR, pk[k], sizeof pk[k]);
        assert_true(len[k] > 2);
    }
    opus_int32 la = 0;                       /* the codec's delay: 312 samples (6.5 ms) for VOIP */
    opus_encoder_ctl(enc.enc, OPUS_GET_LOOKAHEAD(&la));
    hc_opus_enc_free(&enc);
    /* TOC: the capped packets are SILK or hybrid at most wideband, so they can carry FEC */
    assert_true(hc_opus_packet_may_have_fec(pk[40], (size_t)len[40]));

    /* lose every 10th packet (a single loss each time); decode once with FEC, once with PLC */
    hc_opus_dec df, dp;
    assert_int_equal(hc_opus_dec_init(&df, err, sizeof err), 0);
    assert_int_equal(hc_opus_dec_init(&dp, err, sizeof err), 0);
    float tmp[HC_OPUS_MAX_FRAME];
    for (int k = 0; k < NFR; k++) {
        int lost = k % 10 == 5 && k + 1 < NFR;
        if (lost) {
            assert_int_equal(hc_opus_dec_fec(&df, pk[k + 1], (size_t)len[k + 1], dec_fec + k * FR, FR), FR);
            assert_int_equal(hc_opus_dec_plc(&dp, dec_plc + k * FR, FR), FR);
        } else {
            assert_int_equal(hc_opus_dec_decode(&df, pk[k], (size_t)len[k], tmp, HC_OPUS_MAX_FRAME), FR);
            memcpy(dec_fec + k * FR, tmp, sizeof(float) * FR);
            assert_int_equal(hc_opus_dec_decode(&dp, pk[k], (size_t)len[k], tmp, HC_OPUS_MAX_FRAME), FR);
            memcpy(dec_plc + k * FR, tmp, sizeof(float) * FR);
        }
    }
    hc_opus_dec_free(&df);
    hc_opus_dec_free(&dp);
    double cf = 0, cp = 0, cg = 0;
    int nl = 0;
    for (int k = 15; k + 2 < NFR; k += 10, nl++) {
        cf += frame_corr(x, dec_fec, k, la);
        cp += frame_corr(x, dec_plc, k, la);
        cg += frame_corr(x, dec_fec, k - 1, la);   /* a received frame, for scale */
    }
    cf /= nl, cp /= nl, cg /= nl;
    print_message("lost frames vs original (mean of %d): FEC %.3f, PLC %.3f; received frames %.3f\n", nl, cf, cp, cg);
    assert_true(cf > cp + 0.1);
    assert_true(cf > 0.5);
    assert_true(cg > 0.8);
}

static void test_dtx_silence_not_sent(void **st) {
    (void)st;
    /* VOIP with 20 ms frames, and low delay (CELT only, 10 ms): 3 s of silence each */
    for (int low = 0; low <= 1; low++) {
        hc_opus_enc enc;
        char err[128];
        assert_int_equal(hc_opus_enc_init(&enc, low ? 10 : 20, 32000, low, err, sizeof err), 0);
        float z[FR] = {0};
        uint8_t pk[HC_OPUS_MAX_PACKET];
        int dtx = 0, frames = low ? 2 * NFR : NFR;
        for (int k = 0; k < frames; k++) {
            int n = hc_opus_enc_encode(&enc, z, pk, sizeof pk);
            assert_true(n >= 1);
            dtx += hc_opus_is_dtx((size_t)n);
        }
        hc_opus_enc_free(&enc);
        print_message("3 s of silence, %s: %d of %d frames are DTX (not sent)\n", low ? "low delay" : "VOIP", dtx,
                      frames);
        assert_true(dtx >= frames * 3 / 4);
    }
}

/* A steady tone: Opus's own detector (at the complexity used) takes it for noise and DTXes most
 * of it; while the level-based VAD reports a voice, every frame is sent. */
static void test_voice_vetoes_dtx(void **st) {
    (void)st;
    char err[128];
    float x[FR];
    uint8_t pk[HC_OPUS_MAX_PACKET];
    int dtx[2] = {0, 0};
    for (int voice = 0; voice <= 1; voice++) {
        hc_opus_enc enc;
        assert_int_equal(hc_opus_enc_init(&enc, 20, 32000, 0, err, sizeof err), 0);
        hc_opus_enc_set_voice(&enc, voice);
        for (int k = 0; k < 200; k++) {
            for (int i = 0; i < FR; i++) x[i] = (float)(0.3 * sin(2 * M_PI * 440 * (double)(k * FR + i) / 48000));
            int n = hc_opus_enc_encode(&enc, x, pk, sizeof pk);
            assert_true(n >= 1);
            dtx[voice] += hc_opus_is_dtx((size_t)n);
        }
        hc_opus_enc_free(&enc);
    }
    print_message("4 s of a 440 Hz tone: %d DTX frames without the voice veto, %d with it\n", dtx[0], dtx[1]);
    assert_int_equal(dtx[1], 0);
}

static void test_frame_sizes_and_low_delay(void **st) {
    (void)st;
    hc_opus_enc enc;
    char err[128];
    static float x[1920];
    uint8_t pk[HC_OPUS_MAX_PACKET];
    speechlike(x, 1920);
    const int ms[] = {10, 20, 40};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(hc_opus_enc_init(&enc, ms[i], 32000, 0, err, sizeof err), 0);
        int n = hc_opus_enc_encode(&enc, x, pk, sizeof pk);
        assert_int_equal(hc_opus_packet_samples(pk, (size_t)n), 48 * ms[i]);
        hc_opus_enc_free(&enc);
    }
    assert_int_equal(hc_opus_enc_init(&enc, 20, 32000, 1, err, sizeof err), 0);  /* low delay forces 10 ms */
    assert_int_equal(enc.frame_samples, 480);
    int n = hc_opus_enc_encode(&enc, x, pk, sizeof pk);
    assert_true(n > 2);
    assert_int_equal(pk[0] >> 3 >= 16, 1);          /* CELT-only */
    hc_opus_enc_free(&enc);
    assert_int_equal(hc_opus_enc_init(&enc, 30, 32000, 0, err, sizeof err), -1);
    assert_non_null(strstr(err, "10, 20 or 40"));
    assert_int_equal(hc_opus_enc_init(&enc, 20, 100, 0, err, sizeof err), -1);
}

static void test_packet_parse_garbage(void **st) {
    (void)st;
    assert_int_equal(hc_opus_packet_samples(NULL, 0), -1);
    uint8_t p[4] = {0xff, 0xff, 0xff, 0xff};     /* code 3, claims too many frames */
    assert_int_equal(hc_opus_packet_samples(p, 1), -1);
    hc_opus_dec d;
    char err[64];
    assert_int_equal(hc_opus_dec_init(&d, err, sizeof err), 0);
    float pcm[HC_OPUS_MAX_FRAME];
    uint64_t s = 12345;
    for (int i = 0; i < 20000; i++) {          /* random bytes never crash the decoder */
        uint8_t b[64];
        size_t n = 1 + (size_t)(s % 63);
        for (size_t j = 0; j < n; j++) s = s * 6364136223846793005ull + 1442695040888963407ull, b[j] = (uint8_t)(s >> 56);
        int ns = hc_opus_packet_samples(b, n);
        if (ns > 0) {
            int r = hc_opus_dec_decode(&d, b, n, pcm, HC_OPUS_MAX_FRAME);
            assert_true(r == -1 || r == ns);
        }
    }
    hc_opus_dec_free(&d);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fec_beats_plc),
        cmocka_unit_test(test_dtx_silence_not_sent),
        cmocka_unit_test(test_voice_vetoes_dtx),
        cmocka_unit_test(test_frame_sizes_and_low_delay),
        cmocka_unit_test(test_packet_parse_garbage),
    };
    return cmocka_run_group_tests_name("audio_opus", tests, NULL, NULL);
}
