/* Seeded network impairment, applied by the relay to forwarded media (and optionally to control
 * delivery) because the test machines have no netem. Pure decisions; the relay's I/O layer
 * carries out delays with timers. Same seed, same packet sequence -> same decisions.
 *
 * Spec: "loss=P,delay=MS,jitter=MS,reorder=P,dup=P,seed=N[,control=1]" (P in percent). */
#ifndef HC_IMPAIR_H
#define HC_IMPAIR_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    double loss_pct, reorder_pct, dup_pct;
    uint32_t delay_ms, jitter_ms;
    uint64_t seed;
    int control;              /* also delay control frames (delay + jitter only; never dropped) */
    int enabled;
} hc_impair_spec;

int hc_impair_parse(const char *s, hc_impair_spec *out, char *err, size_t errlen);

typedef struct {
    hc_impair_spec spec;
    uint64_t rng;
} hc_impair;

void hc_impair_init(hc_impair *im, const hc_impair_spec *spec);
/* For one forwarded packet: returns the number of copies to send (0 = drop, 1, or 2 = duplicate)
 * and each copy's delay in ms. Reordered packets get an extra delay so later ones overtake them. */
int hc_impair_decide(hc_impair *im, uint32_t delay_ms[2]);
/* Delay for one control frame (when spec.control). */
uint32_t hc_impair_control_delay(hc_impair *im);

#endif
