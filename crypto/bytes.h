/* Bounded big-endian byte writers and readers, shared by every encoder and decoder.
 *
 * Every network and file format in hushcall is built and parsed through these two cursors, so
 * bounds checks live in one place: a write past the capacity or a read past the end sets `err`
 * and turns every later call into a no-op. Callers check `err` once at the end.
 * Pure: no allocation, no I/O. */
#ifndef HC_BYTES_H
#define HC_BYTES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct {
    uint8_t *p;
    size_t cap, len;
    int err;
} hc_wr;

typedef struct {
    const uint8_t *p;
    size_t len, off;
    int err;
} hc_rd;

static inline hc_wr hc_wr_init(uint8_t *p, size_t cap) { hc_wr w = {p, cap, 0, 0}; return w; }
static inline hc_rd hc_rd_init(const uint8_t *p, size_t len) { hc_rd r = {p, len, 0, 0}; return r; }

static inline uint8_t *hc_wr_reserve(hc_wr *w, size_t n) {
    if (w->err || n > w->cap - w->len) { w->err = 1; return NULL; }
    uint8_t *q = w->p + w->len;
    w->len += n;
    return q;
}
static inline void hc_wr_bytes(hc_wr *w, const void *b, size_t n) {
    uint8_t *q = hc_wr_reserve(w, n);
    if (q && n) memcpy(q, b, n);
}
static inline void hc_wr_u8(hc_wr *w, uint8_t v) { hc_wr_bytes(w, &v, 1); }
static inline void hc_wr_u16(hc_wr *w, uint16_t v) {
    uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    hc_wr_bytes(w, b, 2);
}
static inline void hc_wr_u32(hc_wr *w, uint32_t v) {
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    hc_wr_bytes(w, b, 4);
}
static inline void hc_wr_u64(hc_wr *w, uint64_t v) {
    hc_wr_u32(w, (uint32_t)(v >> 32));
    hc_wr_u32(w, (uint32_t)v);
}
/* lp(x): u16 big-endian length, then the bytes (PROTOCOL.md notation). */
static inline void hc_wr_lp(hc_wr *w, const void *b, size_t n) {
    if (n > 0xFFFF) { w->err = 1; return; }
    hc_wr_u16(w, (uint16_t)n);
    hc_wr_bytes(w, b, n);
}

static inline const uint8_t *hc_rd_take(hc_rd *r, size_t n) {
    if (r->err || n > r->len - r->off) { r->err = 1; return NULL; }
    const uint8_t *q = r->p + r->off;
    r->off += n;
    return q;
}
static inline int hc_rd_copy(hc_rd *r, void *dst, size_t n) {
    const uint8_t *q = hc_rd_take(r, n);
    if (!q) return -1;
    if (n) memcpy(dst, q, n);
    return 0;
}
static inline uint8_t hc_rd_u8(hc_rd *r) { const uint8_t *q = hc_rd_take(r, 1); return q ? q[0] : 0; }
static inline uint16_t hc_rd_u16(hc_rd *r) {
    const uint8_t *q = hc_rd_take(r, 2);
    return q ? (uint16_t)((q[0] << 8) | q[1]) : 0;
}
static inline uint32_t hc_rd_u32(hc_rd *r) {
    const uint8_t *q = hc_rd_take(r, 4);
    return q ? ((uint32_t)q[0] << 24) | ((uint32_t)q[1] << 16) | ((uint32_t)q[2] << 8) | q[3] : 0;
}
static inline uint64_t hc_rd_u64(hc_rd *r) {
    uint64_t hi = hc_rd_u32(r);
    return (hi << 32) | hc_rd_u32(r);
}
/* Reads lp(x); returns a pointer into the input (valid while the input is) and its length. */
static inline const uint8_t *hc_rd_lp(hc_rd *r, size_t *n) {
    size_t l = hc_rd_u16(r);
    const uint8_t *q = hc_rd_take(r, l);
    *n = q ? l : 0;
    return q;
}
static inline int hc_rd_done(const hc_rd *r) { return !r->err && r->off == r->len; }

static inline void hc_put_u32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}
static inline uint32_t hc_get_u32(const uint8_t *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

#endif
