/* VP8 with libvpx, set up for a call: realtime, one thread, cpu-used -8, error-resilient, CBR,
 * keyframes only when asked (and the periodic safety net the caller schedules, keyframe.h), the
 * keyframe's size capped at ~300 % of a frame's budget so one keyframe does not flood the line.
 *
 * Reference use (so a receiver can recover from a loss without a full keyframe): every inter
 * frame refers to and updates only LAST; GOLDEN stays the most recent keyframe. A "recovery"
 * frame refers to GOLDEN alone, so a receiver that holds that keyframe decodes it cleanly
 * whatever it lost since. */
#ifndef HC_VIDEO_VP8_H
#define HC_VIDEO_VP8_H

#include <stddef.h>
#include <stdint.h>

#include "video/frame.h"

typedef struct hc_vp8_enc hc_vp8_enc;
typedef struct hc_vp8_dec hc_vp8_dec;

typedef struct {
    int w, h, fps, kbps;
} hc_vp8_params;

enum { HC_VP8_INTER = 0, HC_VP8_KEY = 1, HC_VP8_RECOVERY = 2 };

/* 0, or -1 with a reason. */
int hc_vp8_enc_open(hc_vp8_enc **out, const hc_vp8_params *p, char *err, size_t errlen);
/* Encodes one picture (of the encoder's size) as `want` (HC_VP8_*). Writes the compressed frame
 * to out and its length to *len (0: the rate control dropped the frame). Returns what it made
 * (HC_VP8_KEY when the encoder decided on a keyframe by itself), or -1 on an encoder error or a
 * frame larger than cap. */
int hc_vp8_encode(hc_vp8_enc *e, const hc_video_frame *f, int want, uint8_t *out, size_t cap, size_t *len);
void hc_vp8_enc_close(hc_vp8_enc *e);

/* A decoder that refuses pictures larger than max_w x max_h (each 2..16383). 0, or -1. */
int hc_vp8_dec_open(hc_vp8_dec **out, int max_w, int max_h, char *err, size_t errlen);
/* Reads a compressed frame's size without decoding it (keyframes carry it). 1 a keyframe with
 * *w, *h set (either may be NULL), 0 an inter frame, -1 not a VP8 frame or a keyframe that asks
 * for upscaling. */
int hc_vp8_peek(const uint8_t *data, size_t len, int *w, int *h);
/* Decodes one compressed frame. The sizes are checked (hc_vp8_peek) before libvpx sees a
 * keyframe: odd, zero or oversized dimensions are refused, and so are inter frames before a
 * keyframe, pictures of another size than the last keyframe's and pictures libvpx flags as
 * corrupt. On success *out points into the
 * decoder (valid until the next call) and 0 is returned; -1 on a refused or corrupt frame. */
int hc_vp8_decode(hc_vp8_dec *d, const uint8_t *data, size_t len, hc_video_frame *out);
void hc_vp8_dec_close(hc_vp8_dec *d);

#endif
