/* The built-in test picture and its machine-readable stamp (see pattern.h). */
#include "video/pattern.h"

#include <string.h>

#define LO 16
#define HI 235

static void stamp_row(hc_video_frame *f, int row, uint32_t bits)
{
    for (int b = 0; b < 32; b++) {
        uint8_t v = (bits >> (31 - b)) & 1 ? HI : LO;
        for (int y = 0; y < HC_PATTERN_CELL; y++)
            memset(f->y + (size_t)(row * HC_PATTERN_CELL + y) * (size_t)f->stride_y + (size_t)(b * HC_PATTERN_CELL), v,
                   HC_PATTERN_CELL);
    }
}

void hc_pattern_draw(hc_video_frame *f, uint32_t seq, uint32_t capture_ms)
{
    int w = f->w, h = f->h;
    /* A scene that moves like a camera picture: a drifting diagonal gradient with a little
     * texture (so inter frames have something to code) and a box bouncing across it. */
    int dx = (int)(seq * 2u % (unsigned)(w * 2)), dy = (int)(seq % (unsigned)h);
    for (int y = 0; y < h; y++) {
        uint8_t *row = f->y + (size_t)y * (size_t)f->stride_y;
        for (int x = 0; x < w; x++) {
            int v = 40 + ((x + dx) * 120 / (w * 2) + (y + dy) * 60 / h) % 150;
            v += ((x * 7 + y * 13) & 7);            /* texture */
            row[x] = (uint8_t)v;
        }
    }
    int bw = w / 5 < 8 ? 8 : w / 5, bh = h / 4 < 8 ? 8 : h / 4;
    if (bw > w) bw = w;                /* tiny pictures: the box fills them, never more */
    if (bh > h) bh = h;
    int span_x = w - bw, span_y = h - bh;
    /* seq grows without bound over a long call; wrap before the multiply so t stays
     * non-negative (a negative t would put the box outside the picture). */
    int t = (int)((seq % 100000u) * 3u);
    int bx = span_x > 0 ? t % (2 * span_x) : 0, by = span_y > 0 ? (t / 2) % (2 * span_y) : 0;
    if (bx > span_x) bx = 2 * span_x - bx;
    if (by > span_y) by = 2 * span_y - by;
    for (int y = by; y < by + bh && y < h; y++)
        memset(f->y + (size_t)y * (size_t)f->stride_y + (size_t)bx, 200, (size_t)(bw < w - bx ? bw : w - bx));
    int cw = w / 2, ch = h / 2;
    for (int y = 0; y < ch; y++) {
        uint8_t *u = f->u + (size_t)y * (size_t)f->stride_u, *v = f->v + (size_t)y * (size_t)f->stride_v;
        for (int x = 0; x < cw; x++) {
            u[x] = (uint8_t)(100 + (x * 60 / cw));
            v[x] = (uint8_t)(110 + ((y + dy / 2) % ch) * 50 / ch);
        }
        int inbox_y = y * 2 >= by && y * 2 < by + bh;
        if (inbox_y)
            for (int x = bx / 2; x < (bx + bw) / 2 && x < cw; x++) { u[x] = 90; v[x] = 180; }
    }
    /* The stamp, with neutral chroma under it so colour cannot bleed into the blocks. */
    if (w >= 32 * HC_PATTERN_CELL && h >= HC_PATTERN_ROWS * HC_PATTERN_CELL) {
        stamp_row(f, 0, seq);
        stamp_row(f, 1, capture_ms);
        stamp_row(f, 2, seq ^ capture_ms ^ HC_PATTERN_CHECK);
        for (int y = 0; y < HC_PATTERN_ROWS * HC_PATTERN_CELL / 2; y++) {
            memset(f->u + (size_t)y * (size_t)f->stride_u, 128, 16 * HC_PATTERN_CELL);
            memset(f->v + (size_t)y * (size_t)f->stride_v, 128, 16 * HC_PATTERN_CELL);
        }
    }
    /* The corner marker, last, so the bouncing box never covers it. */
    if (w >= 32 * HC_PATTERN_CELL + HC_PATTERN_MARK_W && h >= HC_PATTERN_MARK_H) {
        int mx = w - HC_PATTERN_MARK_W;
        for (int y = 0; y < HC_PATTERN_MARK_H; y++)
            memset(f->y + (size_t)y * (size_t)f->stride_y + (size_t)mx, HC_PATTERN_MARK_Y, HC_PATTERN_MARK_W);
        for (int y = 0; y < HC_PATTERN_MARK_H / 2; y++) {
            memset(f->u + (size_t)y * (size_t)f->stride_u + (size_t)(mx / 2), HC_PATTERN_MARK_U, HC_PATTERN_MARK_W / 2);
            memset(f->v + (size_t)y * (size_t)f->stride_v + (size_t)(mx / 2), HC_PATTERN_MARK_V, HC_PATTERN_MARK_W / 2);
        }
    }
    f->seq = seq;
    f->capture_ms = capture_ms;
}

static void add_noise(uint8_t *p, int w, int h, int stride, int amp, uint32_t *lcg)
{
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            *lcg = *lcg * 1664525u + 1013904223u;
            int v = p[y * stride + x] + (int)((*lcg >> 16) % (uint32_t)(2 * amp + 1)) - amp;
            p[y * stride + x] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
        }
}

void hc_pattern_noise(hc_video_frame *f, uint32_t *lcg)
{
    add_noise(f->y, f->w, f->h, f->stride_y, 6, lcg);
    add_noise(f->u, f->w / 2, f->h / 2, f->stride_u, 3, lcg);
    add_noise(f->v, f->w / 2, f->h / 2, f->stride_v, 3, lcg);
}

static uint32_t read_row(const hc_video_frame *f, int row)
{
    uint32_t bits = 0;
    for (int b = 0; b < 32; b++) {
        unsigned sum = 0;
        for (int y = 0; y < HC_PATTERN_CELL; y++)
            for (int x = 0; x < HC_PATTERN_CELL; x++)
                sum += f->y[(size_t)(row * HC_PATTERN_CELL + y) * (size_t)f->stride_y + (size_t)(b * HC_PATTERN_CELL + x)];
        bits = bits << 1 | (sum / (HC_PATTERN_CELL * HC_PATTERN_CELL) >= 125 ? 1u : 0u);
    }
    return bits;
}

int hc_pattern_read(const hc_video_frame *f, uint32_t *seq, uint32_t *capture_ms)
{
    if (f->w < 32 * HC_PATTERN_CELL || f->h < HC_PATTERN_ROWS * HC_PATTERN_CELL) return -1;
    uint32_t s = read_row(f, 0), c = read_row(f, 1), k = read_row(f, 2);
    if ((s ^ c ^ HC_PATTERN_CHECK) != k) return -1;
    if (seq) *seq = s;
    if (capture_ms) *capture_ms = c;
    return 0;
}
