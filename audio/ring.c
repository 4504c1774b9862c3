/* SPSC ring: the producer publishes with a release store of head after copying, the consumer
 * publishes with a release store of tail after copying; each side reads the other's index with
 * acquire, so the copied samples are visible before the index that announces them. */
#include "audio/ring.h"

#include <stdlib.h>
#include <string.h>

int hc_ring_init(hc_ring *r, size_t min_cap) {
    size_t cap = 1;
    while (cap < min_cap) cap <<= 1;
    r->buf = calloc(cap, sizeof *r->buf);
    if (!r->buf) return -1;
    r->cap = cap;
    atomic_init(&r->head, 0);
    atomic_init(&r->tail, 0);
    return 0;
}

void hc_ring_free(hc_ring *r) {
    free(r->buf);
    r->buf = NULL;
    r->cap = 0;
}

size_t hc_ring_readable(const hc_ring *r) {
    size_t h = atomic_load_explicit(&((hc_ring *)r)->head, memory_order_acquire);
    size_t t = atomic_load_explicit(&((hc_ring *)r)->tail, memory_order_acquire);
    return h - t;
}

size_t hc_ring_writable(const hc_ring *r) { return r->cap - hc_ring_readable(r); }

size_t hc_ring_write(hc_ring *r, const float *src, size_t n) {
    size_t h = atomic_load_explicit(&r->head, memory_order_relaxed);
    size_t t = atomic_load_explicit(&r->tail, memory_order_acquire);
    size_t room = r->cap - (h - t);
    if (n > room) n = room;
    size_t at = h & (r->cap - 1), first = r->cap - at;
    if (first > n) first = n;
    memcpy(r->buf + at, src, first * sizeof *src);
    memcpy(r->buf, src + first, (n - first) * sizeof *src);
    atomic_store_explicit(&r->head, h + n, memory_order_release);
    return n;
}

size_t hc_ring_read(hc_ring *r, float *dst, size_t n) {
    size_t t = atomic_load_explicit(&r->tail, memory_order_relaxed);
    size_t h = atomic_load_explicit(&r->head, memory_order_acquire);
    size_t avail = h - t;
    if (n > avail) n = avail;
    size_t at = t & (r->cap - 1), first = r->cap - at;
    if (first > n) first = n;
    memcpy(dst, r->buf + at, first * sizeof *dst);
    memcpy(dst + first, r->buf, (n - first) * sizeof *dst);
    atomic_store_explicit(&r->tail, t + n, memory_order_release);
    return n;
}

void hc_ring_drain(hc_ring *r) {
    size_t h = atomic_load_explicit(&r->head, memory_order_acquire);
    atomic_store_explicit(&r->tail, h, memory_order_release);
}
