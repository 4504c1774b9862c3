/* The built-in test picture: a moving scene (a gradient that drifts, a bouncing box) with a
 * machine-readable stamp in the top-left corner that survives lossy coding, so tests and
 * benchmarks can read back, from a decoded picture alone, which frame it is and when it was
 * captured: loss, freezes and latency measured on what a receiver actually shows.
 *
 * The stamp: HC_PATTERN_ROWS rows of 32 bits, each bit a HC_PATTERN_CELL x HC_PATTERN_CELL block
 * of luma 16 (0) or 235 (1), most significant bit first. Row 0: frame number; row 1: capture_ms;
 * row 2: their check word (row0 ^ row1 ^ 0xA5C3F00F), so a damaged stamp is detected, not misread.
 * It needs a picture at least 32 * HC_PATTERN_CELL wide (128 at the default cell). */
#ifndef HC_VIDEO_PATTERN_H
#define HC_VIDEO_PATTERN_H

#include <stdint.h>

#include "video/frame.h"

#define HC_PATTERN_CELL 4
#define HC_PATTERN_ROWS 3
#define HC_PATTERN_CHECK 0xA5C3F00Fu

/* Draws the scene for frame number seq into f (which owns its planes) and stamps it with
 * seq and capture_ms (also stored in f->seq / f->capture_ms). */
void hc_pattern_draw(hc_video_frame *f, uint32_t seq, uint32_t capture_ms);
/* Makes f camera-like: fresh sensor noise, uniform +-6 on luma and +-3 on chroma from a
 * fixed-seed LCG whose state the caller keeps (*lcg; the same seed gives the same clip). Noise
 * cannot be predicted from the last frame, so it costs a codec bits and a renderer changed cells
 * the way a real camera's does; the stamp survives it. */
void hc_pattern_noise(hc_video_frame *f, uint32_t *lcg);
/* Reads the stamp back (thresholding each block's mean luma). 0, or -1 when the picture is too
 * small or the check word does not match. seq or capture_ms may be NULL. */
int hc_pattern_read(const hc_video_frame *f, uint32_t *seq, uint32_t *capture_ms);

#endif
