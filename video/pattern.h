/* The built-in test picture: a moving scene (a gradient that drifts, a bouncing box) with a
 * machine-readable stamp in the top-left corner that survives lossy coding, so tests and
 * benchmarks can read back, from a decoded picture alone, which frame it is and when it was
 * captured: loss, freezes and latency measured on what a receiver actually shows.
 *
 * The stamp: HC_PATTERN_ROWS rows of 32 bits, each bit a HC_PATTERN_CELL x HC_PATTERN_CELL block
 * of luma 16 (0) or 235 (1), most significant bit first. Row 0: frame number; row 1: capture_ms;
 * row 2: their check word (row0 ^ row1 ^ 0xA5C3F00F), so a damaged stamp is detected, not misread.
 * It needs a picture at least 32 * HC_PATTERN_CELL wide (128 at the default cell).
 *
 * The corner marker: a block of pure magenta (RGB 255, 0, 255: nothing else in the scene is near
 * it) HC_PATTERN_MARK_W x HC_PATTERN_MARK_H pixels in the top-right corner, beside the stamp, in
 * pictures at least 32 * HC_PATTERN_CELL + HC_PATTERN_MARK_W wide (160 at the default cell). A
 * screen test recognises the sent picture by it in the terminal's own colours, where the stamp's
 * bits are too fine to read back from a few cells. */
#ifndef HC_VIDEO_PATTERN_H
#define HC_VIDEO_PATTERN_H

#include <stdint.h>

#include "video/frame.h"

#define HC_PATTERN_CELL 4
#define HC_PATTERN_ROWS 3
#define HC_PATTERN_CHECK 0xA5C3F00Fu
#define HC_PATTERN_MARK_W 32
#define HC_PATTERN_MARK_H 16
/* The marker's colour in BT.601 limited-range YUV (what the picture carries). */
#define HC_PATTERN_MARK_Y 106
#define HC_PATTERN_MARK_U 202
#define HC_PATTERN_MARK_V 222

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
