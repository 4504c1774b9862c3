/* Replay window per KID (RFC 3711 §3.3.2 style, 256 frames), for SFrame CTRs.
 *
 * Check before opening, update only after the AEAD tag verified: a forged frame with a high CTR
 * therefore never advances the window. Pure and allocation-free. */
#ifndef HC_REPLAY_H
#define HC_REPLAY_H

#include <stdint.h>

#define HC_REPLAY_WINDOW 256

typedef struct {
    uint64_t top;                         /* highest CTR accepted */
    uint64_t bits[HC_REPLAY_WINDOW / 64]; /* bit i set <=> CTR top - i accepted */
    int have_top;
} hc_replay;

typedef enum {
    HC_REPLAY_OK = 0,
    HC_REPLAY_TOO_OLD = -1,
    HC_REPLAY_DUPLICATE = -2,
} hc_replay_result;

void hc_replay_init(hc_replay *r);
hc_replay_result hc_replay_check(const hc_replay *r, uint64_t ctr);
/* Marks ctr as seen. Call only after hc_replay_check returned OK and the frame authenticated. */
void hc_replay_update(hc_replay *r, uint64_t ctr);

#endif
