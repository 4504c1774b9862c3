/* Level meter and voice-activity detector.
 *
 * Level: RMS in dBFS relative to a full-scale square wave (a full-scale sine reads -3.0 dBFS),
 * floored at -127 so it maps directly onto the RFC 6464 level byte.
 * VAD: two thresholds (hysteresis, as Mumble does) so a voice hovering around one threshold does
 * not flicker, plus a hang time (~200 ms) that bridges the short pauses between words. */
#ifndef HC_AUDIO_LEVEL_H
#define HC_AUDIO_LEVEL_H

#include <stddef.h>
#include <stdint.h>

#define HC_LEVEL_FLOOR_DB (-127.0)

/* RMS level of n samples in dBFS, -127..0. */
double hc_level_dbfs(const float *x, size_t n);

typedef struct {
    double on_db;        /* start talking when a frame is at or above this (default -42) */
    double off_db;       /* keep talking while frames stay at or above this (default -52) */
    int hang_ms;         /* stay "talking" this long after the last frame above off_db (200) */
    /* state */
    int talking;
    int hang_left_ms;
    double last_db;
} hc_vad;

void hc_vad_init(hc_vad *v);
/* Feeds one frame of frame_ms milliseconds at level db; returns the talking state after it. */
int hc_vad_update(hc_vad *v, double db, int frame_ms);

/* RFC 6464 byte: bit 7 voice activity, bits 0..6 the level in -dBov (0 loudest, 127 silence). */
uint8_t hc_level_rfc6464(double db, int voice);

#endif
