/* The sending half of video: encode, choose keyframes, fragment (see sender.h). */
#include "video/sender.h"

#include <string.h>

#define KEYFRAME_INTERVAL_MS 10000   /* the safety net: a keyframe at least this often */
#define KEYREQ_MIN_GAP_MS 1000       /* requested keyframes: at most one a second */

int hc_video_sender_init(hc_video_sender *s, const hc_vp8_params *p, hc_vsend_fn send, void *ctx, char *err,
                         size_t errlen)
{
    memset(s, 0, sizeof *s);
    s->p = *p;
    s->send = send;
    s->ctx = ctx;
    hc_keyframe_init(&s->kf, KEYFRAME_INTERVAL_MS, KEYREQ_MIN_GAP_MS);
    return hc_vp8_enc_open(&s->enc, p, err, errlen);
}

void hc_video_sender_free(hc_video_sender *s)
{
    if (s->enc) hc_vp8_enc_close(s->enc);
    s->enc = NULL;
}

void hc_video_sender_keyreq(hc_video_sender *s, int need_key)
{
    s->st.keyreqs++;
    hc_keyframe_request(&s->kf, need_key);
}

void hc_video_sender_members_added(hc_video_sender *s) { hc_keyframe_members_added(&s->kf); }

void hc_video_sender_receivers(hc_video_sender *s, uint32_t n)
{
    if (n == 0 && !s->paused) {
        s->paused = 1;
        s->st.pauses++;
    } else if (n > 0 && s->paused) {
        s->paused = 0;
        s->restart = 1;        /* whoever receives us now holds nothing of the paused stream */
    }
}

void hc_video_sender_frame(hc_video_sender *s, const hc_video_frame *f, int can_send, uint64_t now_ms)
{
    s->st.frames_in++;
    if (!s->enc) return;
    if (s->paused) { s->st.frames_skipped_paused++; return; }
    if (!can_send) { s->restart = 1; s->st.frames_dropped++; return; }
    if (s->restart) hc_keyframe_members_added(&s->kf);   /* an immediate keyframe */
    int want = hc_keyframe_decide(&s->kf, now_ms);
    if (want == HC_VKIND_RECOVERY && !s->have_key) want = HC_VKIND_KEY;
    int vp8_want = want == HC_VKIND_KEY ? HC_VP8_KEY : want == HC_VKIND_RECOVERY ? HC_VP8_RECOVERY : HC_VP8_INTER;
    size_t len = 0;
    int made = hc_vp8_encode(s->enc, f, vp8_want, s->frame, sizeof s->frame, &len);
    if (made < 0 || len == 0) {
        /* An encoder error, or a frame too large for 32 fragments: the chain is broken for
         * everyone, so start again with a keyframe. A rate-control drop (len 0) breaks nothing. */
        if (made < 0) s->restart = 1;
        hc_keyframe_made(&s->kf, now_ms, -1);
        s->st.frames_dropped++;
        return;
    }
    int kind = made == HC_VP8_KEY ? HC_VKIND_KEY : made == HC_VP8_RECOVERY ? HC_VKIND_RECOVERY : HC_VKIND_INTER;
    uint32_t seq = s->seq++;
    hc_vfrag_hdr h = {.seq = seq, .capture_ms = f->capture_ms, .kind = (uint8_t)kind,
                      .ref_key = kind == HC_VKIND_KEY ? seq : s->key_seq};
    unsigned count = hc_vfrag_count(len);
    int ok = count > 0;
    /* Keyframes and recovery frames go out twice (all fragments, then all again: a burst that
     * takes one copy spares the other). They are what repairs a picture, and losing one costs a
     * freeze until the next (a requested keyframe waits up to a second); sent twice, a 5 % loss
     * takes both copies of a fragment 0.25 % of the time. They are rare, so this costs little.
     * The copies are sealed separately (fresh SFrame counters): not replays, and the receiver's
     * reassembler drops the second copy of what it holds. */
    int copies = kind == HC_VKIND_INTER ? 1 : 2;
    for (int c = 0; ok && c < copies; c++) {
        for (unsigned i = 0; ok && i < count; i++) {
            uint8_t flags;
            size_t n = hc_vfrag_build(s->frag, sizeof s->frag, &h, s->frame, len, i, &flags);
            if (!n || s->send(s->ctx, flags, s->frag, n) < 0) {
                ok = 0;
                break;
            }
            s->st.fragments_sent++;
            s->st.bytes_sent += n;
            if (c) s->st.fragments_repeated++;
        }
    }
    if (!ok) {
        s->st.send_failed++;
        s->restart = 1;
        hc_keyframe_made(&s->kf, now_ms, -1);
        return;
    }
    s->restart = 0;
    if (kind == HC_VKIND_KEY) {
        s->key_seq = seq;
        s->have_key = 1;
        s->st.keyframes++;
    } else if (kind == HC_VKIND_RECOVERY) {
        s->st.recoveries++;
    }
    if (len > s->st.max_frame_bytes) s->st.max_frame_bytes = len;
    s->st.frames_sent++;
    hc_keyframe_made(&s->kf, now_ms, kind);
}
