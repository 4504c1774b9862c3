/* Loudest-K forwarding; see net/loudest.h. */
#include "net/loudest.h"

#include <math.h>

#define LOUD_TAU_MS 300.0        /* smoothing of the audio level */
#define LOUD_HOLD_MS 300         /* a sender just admitted as loudest stays forwarded this long */

/* Loudness 0..127 from the RFC 6464 byte (bits 0-6 are -dBov). */
static double loudness(uint8_t level) { return 127.0 - (level & 0x7F); }

double hc_loud_now(const hc_loud *s, uint64_t now) {
    if (!s->t) return 0;
    double dt = (double)(now - s->t);
    return s->loud * exp(-dt / LOUD_TAU_MS);
}

void hc_loud_track(hc_loud *s, uint8_t level, uint64_t now) {
    /* One exp per packet: the decay since the last packet gives both the smoothed loudness now
     * and the weight of the new level. */
    double x = loudness(level), cur = 0, a = 0.5;
    if (s->t) {
        double decay = exp(-(double)(now - s->t) / LOUD_TAU_MS);
        cur = s->loud * decay;
        a = 1.0 - decay;
    }
    s->loud = cur + (x - cur) * a;
    s->t = now;
}

int hc_loud_admit(hc_loud_set *set, size_t k, hc_loud *s, uint64_t now) {
    if (k > HC_LOUDEST_MAX) k = HC_LOUDEST_MAX;
    for (size_t i = 0; i < set->n; i++)
        if (set->top[i] == s) return 1;
    if (set->n < k) {
        set->top[set->n++] = s;
        s->admitted_until = now + LOUD_HOLD_MS;
        return 1;
    }
    size_t qi = 0;
    double q = 1e9;
    for (size_t i = 0; i < set->n; i++) {
        hc_loud *o = set->top[i];
        double l = now < o->admitted_until ? 1e6 : hc_loud_now(o, now);  /* just admitted: keep */
        if (l < q) { q = l; qi = i; }
    }
    if (set->n && s->loud > q) {
        set->top[qi] = s;
        s->admitted_until = now + LOUD_HOLD_MS;
        return 1;
    }
    return 0;
}

void hc_loud_forget(hc_loud_set *set, const hc_loud *s) {
    for (size_t i = 0; i < set->n; i++)
        if (set->top[i] == s) { set->top[i] = set->top[--set->n]; return; }
}
