/* Keyframe policy (keyframe.h). Sans-I/O: time comes in as an argument, nothing else is read.
 *
 * want_key keeps, as bits, why a keyframe is owed, because the two reasons are paced differently:
 * a receiver's request waits for min_gap_ms since the last keyframe (many receivers asking at
 * once must not turn into a keyframe storm), while an epoch that added members is served at the
 * next frame whatever the window (the joiner has nothing to show until it gets one). Non-zero
 * still means "a keyframe is owed", as the header says. */
#include "video/keyframe.h"

#include "video/fragment.h"

#define WANT_REQUESTED 0x1
#define WANT_MEMBERS 0x2

void hc_keyframe_init(hc_keyframe_policy *p, uint64_t interval_ms, uint64_t min_gap_ms) {
    p->interval_ms = interval_ms;
    p->min_gap_ms = min_gap_ms;
    p->have_key = 0;
    p->last_key_ms = 0;
    p->want_key = 0;
    p->want_recovery = 0;
    p->keys = p->keys_requested = p->keys_members = p->keys_periodic = p->recoveries = p->requests = 0;
}

void hc_keyframe_request(hc_keyframe_policy *p, int need_key) {
    p->requests++;
    if (need_key) p->want_key |= WANT_REQUESTED;
    else p->want_recovery = 1;
}

void hc_keyframe_members_added(hc_keyframe_policy *p) {
    p->want_key |= WANT_MEMBERS;
}

/* Time since the last keyframe; a clock that went backwards counts as no time at all (the
 * window then lasts longer, it never collapses). */
static uint64_t since_key(const hc_keyframe_policy *p, uint64_t now_ms) {
    return now_ms > p->last_key_ms ? now_ms - p->last_key_ms : 0;
}

/* interval_ms 0 turns the periodic safety net off. */
static int periodic_due(const hc_keyframe_policy *p, uint64_t now_ms) {
    return p->interval_ms > 0 && since_key(p, now_ms) >= p->interval_ms;
}

int hc_keyframe_decide(hc_keyframe_policy *p, uint64_t now_ms) {
    if (!p->have_key) return HC_VKIND_KEY;
    if (p->want_key & WANT_MEMBERS) return HC_VKIND_KEY;
    if ((p->want_key & WANT_REQUESTED) && since_key(p, now_ms) >= p->min_gap_ms) return HC_VKIND_KEY;
    if (periodic_due(p, now_ms)) return HC_VKIND_KEY;
    /* A recovery frame needs a keyframe to refer to; have_key holds here. A keyframe due at the
     * same decide won above: it repairs everything a recovery frame would. */
    if (p->want_recovery) return HC_VKIND_RECOVERY;
    return HC_VKIND_INTER;
}

void hc_keyframe_made(hc_keyframe_policy *p, uint64_t now_ms, int kind) {
    if (kind == HC_VKIND_KEY) {
        /* One reason per keyframe, the most urgent first; the first keyframe and one the encoder
         * made by itself count in keys only. */
        p->keys++;
        if (p->want_key & WANT_MEMBERS) p->keys_members++;
        else if (p->want_key & WANT_REQUESTED) p->keys_requested++;
        else if (p->have_key && periodic_due(p, now_ms)) p->keys_periodic++;
        p->have_key = 1;
        p->last_key_ms = now_ms;
        p->want_key = 0;
        /* a keyframe repairs every receiver, so an owed recovery frame is owed no more */
        p->want_recovery = 0;
    } else if (kind == HC_VKIND_RECOVERY) {
        p->recoveries++;
        p->want_recovery = 0;
    }
    /* HC_VKIND_INTER, or -1 (the frame was dropped): nothing was delivered, nothing is cleared */
}
