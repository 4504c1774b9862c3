/* Loudest-K forwarding (PROTOCOL.md §11.9): a sender is forwarded while it is among the K loudest
 * of its meeting, by the RFC 6464 level byte every media datagram carries in clear (authenticated,
 * so it can be read, not changed). Loudness is smoothed per sender with a 300 ms time constant;
 * the set of forwarded senders is kept per meeting, so a datagram costs O(K), not O(members): a
 * newcomer louder than the quietest of the set replaces it and is then kept for at least 300 ms
 * (no flapping). The relay core and a cluster node's edge forwarding both use this. Pure. */
#ifndef HC_LOUDEST_H
#define HC_LOUDEST_H

#include <stddef.h>
#include <stdint.h>

#define HC_LOUDEST_MAX 32

typedef struct {
    double loud;                 /* smoothed 0..127, 127 = loudest */
    uint64_t t, admitted_until;  /* t: last sample (0: none yet) */
} hc_loud;

typedef struct {
    hc_loud *top[HC_LOUDEST_MAX]; /* the senders currently forwarded */
    size_t n;
} hc_loud_set;

/* One datagram's level byte. */
void hc_loud_track(hc_loud *s, uint8_t level, uint64_t now);
/* The smoothed loudness now (0 before any sample). */
double hc_loud_now(const hc_loud *s, uint64_t now);
/* 1 when s is (now) among the k loudest of the set, which it may join; k <= HC_LOUDEST_MAX. */
int hc_loud_admit(hc_loud_set *set, size_t k, hc_loud *s, uint64_t now);
/* s is gone: it leaves the set. */
void hc_loud_forget(hc_loud_set *set, const hc_loud *s);

#endif
