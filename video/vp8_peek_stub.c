/* TEMPORARY (branch v13-frag only): hc_vp8_peek alone, so the video fuzz target links before
 * video/vp8.c (another helper's) is merged. The lead deletes this file when merging vp8.c, which
 * defines the same symbol. Nothing else of vp8.h is here.
 *
 * RFC 6386 §9.1: a 3-byte frame tag, little-endian: bit 0 frame type (0 = keyframe), bits 1-3
 * version, bit 4 show_frame, bits 5-23 the first partition's size. A keyframe then carries the
 * start code 9d 01 2a and two 16-bit little-endian fields: 14 bits of width / height and 2 bits
 * of upscaling each. */
#include "video/vp8.h"

int hc_vp8_peek(const uint8_t *data, size_t len, int *w, int *h) {
    if (!data || len < 3) return -1;
    uint32_t tag = (uint32_t)data[0] | (uint32_t)data[1] << 8 | (uint32_t)data[2] << 16;
    unsigned version = (tag >> 1) & 7;
    uint32_t first_part = tag >> 5;
    if (version > 3) return -1;                    /* reserved versions */
    if (tag & 1) return first_part <= len - 3 ? 0 : -1;
    if (len < 10 || data[3] != 0x9d || data[4] != 0x01 || data[5] != 0x2a) return -1;
    if (first_part > len - 10) return -1;
    int fw = (data[6] | data[7] << 8) & 0x3fff, fh = (data[8] | data[9] << 8) & 0x3fff;
    if (w) *w = fw;
    if (h) *h = fh;
    return 1;
}
