/* Lock-free single-producer/single-consumer ring of float samples.
 *
 * It is the only thing the PortAudio callback thread shares with the libuv loop: one side writes,
 * the other reads, and neither ever blocks, allocates or takes a lock (the callback runs on a
 * real-time thread where any of those can cause an audible dropout). Capacity is fixed at
 * creation (a power of two) so memory stays bounded whatever the two sides do. */
#ifndef HC_AUDIO_RING_H
#define HC_AUDIO_RING_H

#include <stdatomic.h>
#include <stddef.h>

typedef struct {
    float *buf;
    size_t cap;                 /* power of two */
    _Atomic size_t head;        /* total samples written (producer owns) */
    _Atomic size_t tail;        /* total samples read (consumer owns) */
} hc_ring;

/* Allocates room for at least min_cap samples (rounded up to a power of two). 0 or -1. */
int hc_ring_init(hc_ring *r, size_t min_cap);
void hc_ring_free(hc_ring *r);
/* Samples ready to read / room to write. Safe from either side. */
size_t hc_ring_readable(const hc_ring *r);
size_t hc_ring_writable(const hc_ring *r);
/* Copies up to n samples; returns how many were copied (fewer when full / empty). */
size_t hc_ring_write(hc_ring *r, const float *src, size_t n);
size_t hc_ring_read(hc_ring *r, float *dst, size_t n);
/* Consumer side: forget everything currently readable. */
void hc_ring_drain(hc_ring *r);

#endif
