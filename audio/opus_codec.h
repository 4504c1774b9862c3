/* Opus, configured the way a call needs it: 48 kHz mono, VOIP (or RESTRICTED_LOWDELAY), in-band
 * FEC driven by the loss that receivers report, DTX, and a wideband cap while loss is reported
 * (measured: with the bandwidth left to the encoder, 24-32 kbit/s pick CELT/hybrid where LBRR does
 * not help; capped at WB, FEC lifts the cross-correlation at 5 % loss from 0.92 to 0.96). */
#ifndef HC_AUDIO_OPUS_CODEC_H
#define HC_AUDIO_OPUS_CODEC_H

#include <stddef.h>
#include <stdint.h>

#define HC_OPUS_RATE 48000
#define HC_OPUS_MAX_PACKET 1275        /* the largest one-frame Opus packet (RFC 6716 3.2.1) */
#define HC_OPUS_MAX_FRAME 2880         /* 60 ms at 48 kHz */

typedef struct OpusEncoder OpusEncoder;
typedef struct OpusDecoder OpusDecoder;

typedef struct {
    OpusEncoder *enc;
    int frame_samples;
    int low_delay;
    int loss_pct;
    int dtx;                   /* DTX allowed (hc_opus_enc_set_voice) */
} hc_opus_enc;

/* 0, or -1 with err. */
int hc_opus_enc_init(hc_opus_enc *e, int frame_ms, int bitrate, int low_delay, char *err, size_t errlen);
void hc_opus_enc_free(hc_opus_enc *e);
/* Loss percent reported by receivers: packet-loss hint for FEC, WB cap while > 0. */
void hc_opus_enc_set_loss(hc_opus_enc *e, int pct);
/* Voice activity from the level-based VAD: while it hears a voice, DTX is off. Opus's own
 * detector (at the complexity used) DTXes a steady tone; a level the VAD calls talking is sent. */
void hc_opus_enc_set_voice(hc_opus_enc *e, int voice);
/* Encodes one frame (frame_samples floats). Returns packet length (1-2 bytes = DTX, nothing to
 * send) or -1. */
int hc_opus_enc_encode(hc_opus_enc *e, const float *pcm, uint8_t *out, size_t cap);
/* Is this packet a DTX frame that need not be sent (RFC 6716: 1-2 bytes carry no audio)? */
int hc_opus_is_dtx(size_t len);

typedef struct {
    OpusDecoder *dec;
} hc_opus_dec;

int hc_opus_dec_init(hc_opus_dec *d, char *err, size_t errlen);
void hc_opus_dec_free(hc_opus_dec *d);
/* Samples per channel in this packet at 48 kHz, or -1 if it is not a valid Opus packet. */
int hc_opus_packet_samples(const uint8_t *pkt, size_t len);
/* Can this packet carry LBRR (FEC) data? True for SILK and hybrid modes. */
int hc_opus_packet_may_have_fec(const uint8_t *pkt, size_t len);
/* Decode a packet / conceal a missing frame / rebuild a missing frame from the next packet's
 * FEC. n = samples wanted (the missing frame's length for PLC/FEC). Returns samples or -1. */
int hc_opus_dec_decode(hc_opus_dec *d, const uint8_t *pkt, size_t len, float *pcm, int n);
int hc_opus_dec_plc(hc_opus_dec *d, float *pcm, int n);
int hc_opus_dec_fec(hc_opus_dec *d, const uint8_t *next_pkt, size_t len, float *pcm, int n);

#endif
