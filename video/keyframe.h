/* When a sender makes a keyframe, and when a recovery frame (vp8.h) does instead. Sans-I/O: the
 * caller passes the time, so the policy is tested on a fake clock.
 *
 *   - the first frame is a keyframe;
 *   - an epoch that added members came into use (someone new can decrypt and needs a start);
 *   - a receiver asked for a keyframe ("I have no picture of yours": a joiner, or one that lost
 *     a keyframe); requests are coalesced: at most one requested keyframe per min_gap_ms (1 s),
 *     a request inside that window is served when it ends;
 *   - a receiver asked for a refresh ("I lost something since your keyframe"): a recovery frame
 *     at once, which costs far less than a keyframe and repairs every receiver holding the last
 *     keyframe;
 *   - every interval_ms (10 s) since the last keyframe, as a safety net. */
#ifndef HC_VIDEO_KEYFRAME_H
#define HC_VIDEO_KEYFRAME_H

#include <stdint.h>

typedef struct {
    uint64_t interval_ms, min_gap_ms;
    int have_key;              /* a keyframe was made */
    uint64_t last_key_ms;
    int want_key;              /* a keyframe is owed (members added or a request) */
    int want_recovery;
    /* counters */
    uint64_t keys, keys_requested, keys_members, keys_periodic, recoveries, requests;
} hc_keyframe_policy;

void hc_keyframe_init(hc_keyframe_policy *p, uint64_t interval_ms, uint64_t min_gap_ms);
/* need_key: the receiver has no usable keyframe (1) or just lost frames since it (0). */
void hc_keyframe_request(hc_keyframe_policy *p, int need_key);
/* An epoch that added members came into use. */
void hc_keyframe_members_added(hc_keyframe_policy *p);
/* What to encode now: HC_VKIND_KEY, HC_VKIND_RECOVERY or HC_VKIND_INTER (fragment.h). */
int hc_keyframe_decide(hc_keyframe_policy *p, uint64_t now_ms);
/* What the encoder actually made (it may make a keyframe by itself, or drop the frame: kind -1). */
void hc_keyframe_made(hc_keyframe_policy *p, uint64_t now_ms, int kind);

#endif
