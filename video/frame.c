/* I420 frames: allocation, scaled copies, the capture clock, PSNR. */
#include "video/frame.h"

#include <libyuv.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int hc_video_frame_alloc(hc_video_frame *f, int w, int h)
{
    memset(f, 0, sizeof *f);
    if (w < 2 || h < 2 || w > HC_VIDEO_MAX_W || h > HC_VIDEO_MAX_H || (w & 1) || (h & 1)) return -1;
    size_t ysz = (size_t)w * (size_t)h, csz = ysz / 4;
    uint8_t *p = malloc(ysz + 2 * csz);
    if (!p) return -1;
    f->owned = p;
    f->w = w; f->h = h;
    f->y = p; f->u = p + ysz; f->v = p + ysz + csz;
    f->stride_y = w; f->stride_u = f->stride_v = w / 2;
    memset(f->y, 16, ysz);              /* black */
    memset(f->u, 128, 2 * csz);
    return 0;
}

void hc_video_frame_free(hc_video_frame *f)
{
    free(f->owned);
    memset(f, 0, sizeof *f);
}

void hc_video_frame_copy_scaled(hc_video_frame *dst, const hc_video_frame *src)
{
    dst->seq = src->seq;
    dst->capture_ms = src->capture_ms;
    if (dst->w == src->w && dst->h == src->h)
        I420Copy(src->y, src->stride_y, src->u, src->stride_u, src->v, src->stride_v, dst->y, dst->stride_y, dst->u,
                 dst->stride_u, dst->v, dst->stride_v, dst->w, dst->h);
    else
        I420Scale(src->y, src->stride_y, src->u, src->stride_u, src->v, src->stride_v, src->w, src->h, dst->y,
                  dst->stride_y, dst->u, dst->stride_u, dst->v, dst->stride_v, dst->w, dst->h, kFilterBox);
}

uint32_t hc_video_clock_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint32_t)((uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u);
}

double hc_video_psnr_y(const hc_video_frame *a, const hc_video_frame *b)
{
    if (a->w != b->w || a->h != b->h || a->w <= 0 || a->h <= 0) return 0;
    uint64_t sse = ComputeSumSquareErrorPlane(a->y, a->stride_y, b->y, b->stride_y, a->w, a->h);
    if (sse == 0) return 99.0;
    double mse = (double)sse / ((double)a->w * (double)a->h);
    return 10.0 * log10(255.0 * 255.0 / mse);
}
