#include "audio/opus_codec.h"

#include <opus/opus.h>
#include <stdio.h>
#include <string.h>

int hc_opus_enc_init(hc_opus_enc *e, int frame_ms, int bitrate, int low_delay, char *err, size_t errlen) {
    memset(e, 0, sizeof *e);
    if (low_delay) frame_ms = 10;
    if (frame_ms != 10 && frame_ms != 20 && frame_ms != 40) {
        snprintf(err, errlen, "audio frame must be 10, 20 or 40 ms (got %d)", frame_ms);
        return -1;
    }
    if (bitrate < 6000 || bitrate > 510000) {
        snprintf(err, errlen, "Opus bitrate must be 6000..510000 bit/s (got %d)", bitrate);
        return -1;
    }
    int oe = 0;
    e->enc = opus_encoder_create(HC_OPUS_RATE, 1,
                                 low_delay ? OPUS_APPLICATION_RESTRICTED_LOWDELAY : OPUS_APPLICATION_VOIP, &oe);
    if (!e->enc) {
        snprintf(err, errlen, "Opus encoder: %s", opus_strerror(oe));
        return -1;
    }
    e->frame_samples = HC_OPUS_RATE / 1000 * frame_ms;
    e->low_delay = low_delay;
    opus_encoder_ctl(e->enc, OPUS_SET_BITRATE(bitrate));
    /* Complexity 5 for VOIP, not 10: the encoder is most of a participant's CPU
     * (bench/audio_call.sh), and 5 costs about 140 us per 20 ms speech frame where 7 costs 210
     * and 10 265, with the cross-correlation through a call unchanged within noise
     * (tests/e2e/audio_pipe.sh). Below 7 libopus skips its tonality analysis: its own voice
     * detection then takes a steady tone for noise and DTXes it (hc_opus_enc_set_voice lets the
     * level-based VAD veto that), and CELT, which RESTRICTED_LOWDELAY always uses, has no DTX at
     * all, not even for digital silence; so low delay keeps 7 (CELT is cheap: ~40 us a frame). */
    opus_encoder_ctl(e->enc, OPUS_SET_COMPLEXITY(low_delay ? 7 : 5));
    opus_encoder_ctl(e->enc, OPUS_SET_VBR(1));
    opus_encoder_ctl(e->enc, OPUS_SET_INBAND_FEC(1));
    opus_encoder_ctl(e->enc, OPUS_SET_DTX(1));
    e->dtx = 1;
    hc_opus_enc_set_loss(e, 0);
    return 0;
}

void hc_opus_enc_free(hc_opus_enc *e) {
    if (e->enc) opus_encoder_destroy(e->enc);
    e->enc = NULL;
}

void hc_opus_enc_set_loss(hc_opus_enc *e, int pct) {
    if (pct < 0) pct = 0;
    if (pct > 100) pct = 100;
    e->loss_pct = pct;
    opus_encoder_ctl(e->enc, OPUS_SET_PACKET_LOSS_PERC(pct));
    /* LBRR only exists in SILK/hybrid; below the cap the encoder stays in SILK for speech. */
    opus_encoder_ctl(e->enc, OPUS_SET_MAX_BANDWIDTH(pct > 0 ? OPUS_BANDWIDTH_WIDEBAND : OPUS_BANDWIDTH_FULLBAND));
}

void hc_opus_enc_set_voice(hc_opus_enc *e, int voice) {
    int dtx = !voice;
    if (dtx == e->dtx) return;
    e->dtx = dtx;
    opus_encoder_ctl(e->enc, OPUS_SET_DTX(dtx));
}

int hc_opus_enc_encode(hc_opus_enc *e, const float *pcm, uint8_t *out, size_t cap) {
    if (cap > HC_OPUS_MAX_PACKET) cap = HC_OPUS_MAX_PACKET;
    int n = opus_encode_float(e->enc, pcm, e->frame_samples, out, (opus_int32)cap);
    return n < 0 ? -1 : n;
}

int hc_opus_is_dtx(size_t len) { return len <= 2; }

int hc_opus_dec_init(hc_opus_dec *d, char *err, size_t errlen) {
    int oe = 0;
    d->dec = opus_decoder_create(HC_OPUS_RATE, 1, &oe);
    if (!d->dec) {
        snprintf(err, errlen, "Opus decoder: %s", opus_strerror(oe));
        return -1;
    }
    return 0;
}

void hc_opus_dec_free(hc_opus_dec *d) {
    if (d->dec) opus_decoder_destroy(d->dec);
    d->dec = NULL;
}

int hc_opus_packet_samples(const uint8_t *pkt, size_t len) {
    if (!pkt || len == 0 || len > HC_OPUS_MAX_PACKET * 3) return -1;
    int n = opus_packet_get_nb_samples(pkt, (opus_int32)len, HC_OPUS_RATE);
    if (n <= 0 || n > HC_OPUS_MAX_FRAME) return -1;
    /* also reject packets whose frame structure does not parse */
    if (opus_packet_get_nb_frames(pkt, (opus_int32)len) < 1) return -1;
    return n;
}

int hc_opus_packet_may_have_fec(const uint8_t *pkt, size_t len) {
    if (!pkt || len < 3) return 0;
    return (pkt[0] >> 3) < 16;            /* TOC configs 0-11 SILK, 12-15 hybrid, 16-31 CELT */
}

int hc_opus_dec_decode(hc_opus_dec *d, const uint8_t *pkt, size_t len, float *pcm, int n) {
    int r = opus_decode_float(d->dec, pkt, (opus_int32)len, pcm, n, 0);
    return r < 0 ? -1 : r;
}

int hc_opus_dec_plc(hc_opus_dec *d, float *pcm, int n) {
    int r = opus_decode_float(d->dec, NULL, 0, pcm, n, 0);
    return r < 0 ? -1 : r;
}

int hc_opus_dec_fec(hc_opus_dec *d, const uint8_t *next_pkt, size_t len, float *pcm, int n) {
    int r = opus_decode_float(d->dec, next_pkt, (opus_int32)len, pcm, n, 1);
    return r < 0 ? -1 : r;
}
