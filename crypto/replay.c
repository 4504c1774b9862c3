/* Per-KID replay window (RFC 3711 §3.3.2), 256 CTRs wide, as a bitmap of four 64-bit words.
 *
 * Bit i of the window stands for CTR top - i. Checking is read-only; only hc_replay_update
 * changes state, and callers call it only after the AEAD tag verified, so a forged frame with
 * a huge CTR cannot slide the window forward and make genuine frames look too old. */
#include "crypto/replay.h"

#include <string.h>

#define WORDS (HC_REPLAY_WINDOW / 64)

void hc_replay_init(hc_replay *r) {
    memset(r, 0, sizeof *r);
}

static int bit_get(const hc_replay *r, uint64_t i) {
    return (int)((r->bits[i / 64] >> (i % 64)) & 1);
}

static void bit_set(hc_replay *r, uint64_t i) {
    r->bits[i / 64] |= (uint64_t)1 << (i % 64);
}

hc_replay_result hc_replay_check(const hc_replay *r, uint64_t ctr) {
    if (!r->have_top || ctr > r->top) return HC_REPLAY_OK;
    uint64_t d = r->top - ctr;
    if (d >= HC_REPLAY_WINDOW) return HC_REPLAY_TOO_OLD;
    return bit_get(r, d) ? HC_REPLAY_DUPLICATE : HC_REPLAY_OK;
}

/* Moves every bit from index i to i + s (older), dropping those that fall off the end. */
static void shift_up(hc_replay *r, uint64_t s) {
    if (s >= HC_REPLAY_WINDOW) {
        memset(r->bits, 0, sizeof r->bits);
        return;
    }
    size_t ws = (size_t)(s / 64);
    unsigned bs = (unsigned)(s % 64);
    for (size_t j = WORDS; j-- > 0;) {
        uint64_t v = 0;
        if (j >= ws) {
            v = r->bits[j - ws] << bs;
            if (bs && j >= ws + 1) v |= r->bits[j - ws - 1] >> (64 - bs);
        }
        r->bits[j] = v;
    }
}

void hc_replay_update(hc_replay *r, uint64_t ctr) {
    if (!r->have_top) {
        memset(r->bits, 0, sizeof r->bits);
        r->top = ctr;
        r->have_top = 1;
        bit_set(r, 0);
    } else if (ctr > r->top) {
        shift_up(r, ctr - r->top);
        r->top = ctr;
        bit_set(r, 0);
    } else if (r->top - ctr < HC_REPLAY_WINDOW) {
        bit_set(r, r->top - ctr);
    }
}
