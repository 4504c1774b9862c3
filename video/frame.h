/* A picture in I420 (YUV 4:2:0 planar, BT.601 limited range, as VP8 codes it), the one format
 * every part of the video path speaks: sources produce it, the encoder takes it, the decoder and
 * sinks give it out. Even width and height only.
 *
 * A frame either owns its planes (hc_video_frame_alloc: one block, allocated once, reused for
 * every picture, so nothing on the media path allocates per frame) or points into someone else's
 * memory (the decoder's picture: valid until the next decode). */
#ifndef HC_VIDEO_FRAME_H
#define HC_VIDEO_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define HC_VIDEO_MAX_W 1920
#define HC_VIDEO_MAX_H 1080

typedef struct {
    int w, h;
    uint8_t *y, *u, *v;
    int stride_y, stride_u, stride_v;
    uint32_t seq;              /* frame number at the source, from 0 */
    uint32_t capture_ms;       /* when it was captured: hc_video_clock_ms() at the sender */
    void *owned;               /* the block this frame allocated, or NULL */
} hc_video_frame;

/* Allocates planes for w x h (even, within HC_VIDEO_MAX_*), tightly packed. 0, or -1. */
int hc_video_frame_alloc(hc_video_frame *f, int w, int h);
void hc_video_frame_free(hc_video_frame *f);
/* Copies the pixels (and seq, capture_ms) of src into dst, scaling with libyuv when the sizes
 * differ. dst must own its planes. */
void hc_video_frame_copy_scaled(hc_video_frame *dst, const hc_video_frame *src);

/* The capture-time clock: CLOCK_MONOTONIC in milliseconds, truncated to 32 bits. Every process
 * on one machine shares it, so a receiver there can measure latency from a sender's timestamp. */
uint32_t hc_video_clock_ms(void);

/* PSNR of the luma planes of a against b (same size), in dB; 99 for identical planes. */
double hc_video_psnr_y(const hc_video_frame *a, const hc_video_frame *b);

#endif
