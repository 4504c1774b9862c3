/* The receiving half of video, per sender (see receiver.h). */
#include "video/receiver.h"

#include <string.h>

int hc_video_receiver_init(hc_video_receiver *r, uint32_t sender, int max_w, int max_h)
{
    memset(r, 0, sizeof *r);
    r->sender = sender;
    hc_vreasm_init(&r->reasm);
    char err[160];
    return hc_vp8_dec_open(&r->dec, max_w, max_h, err, sizeof err);
}

void hc_video_receiver_free(hc_video_receiver *r)
{
    if (r->dec) hc_vp8_dec_close(r->dec);
    r->dec = NULL;
}

static void owe_request(hc_video_receiver *r, int need_key, uint64_t now, hc_vrx_request_fn req, void *ctx)
{
    if (r->live) r->st.freezes++;
    r->live = 0;
    r->want_request = 1;
    r->want_key |= need_key;
    if (now - r->last_request_ms < HC_VRX_REQ_GAP_MS && r->last_request_ms) return;
    r->last_request_ms = now;
    r->st.requests++;
    if (req) req(ctx, r->sender, r->want_key);
}

/* Whether this frame can be decoded into a clean picture with the references we hold. */
static int decodable(const hc_video_receiver *r, const hc_vfrag_hdr *h)
{
    if (h->kind == HC_VKIND_KEY) return 1;
    if (!r->have_key || h->ref_key != r->key_seq) return 0;
    if (h->kind == HC_VKIND_RECOVERY) return 1;
    return r->chain_ok && h->seq == r->last_seq + 1;
}

void hc_video_receiver_fragment(hc_video_receiver *r, uint8_t flags, const uint8_t *pt, size_t len, uint64_t now_ms,
                                hc_vrx_picture_fn pic, hc_vrx_request_fn req, void *ctx)
{
    r->st.fragments++;
    r->st.bytes += len;
    hc_vframe fr;
    int rc = hc_vreasm_push(&r->reasm, flags, pt, len, &fr);
    if (rc == HC_VR_REFUSED) { r->st.refused++; return; }
    if (rc != HC_VR_DONE) {
        /* Fragments keep coming but we have no keyframe to start from (a joiner, or the
         * keyframe was lost): ask, at a bounded pace. */
        if (!r->have_key) owe_request(r, 1, now_ms, req, ctx);
        return;
    }
    r->st.frames++;
    r->last_frame_ms = now_ms;
    if (!decodable(r, &fr.hdr)) {
        r->st.undecodable++;
        r->chain_ok = 0;
        /* A recovery frame repairs us when we hold the sender's latest keyframe. */
        owe_request(r, !(r->have_key && fr.hdr.ref_key == r->key_seq), now_ms, req, ctx);
        return;
    }
    hc_video_frame out;
    if (hc_vp8_decode(r->dec, fr.data, fr.len, &out) < 0) {
        r->st.decode_errors++;
        r->chain_ok = 0;
        if (fr.hdr.kind == HC_VKIND_KEY) r->have_key = 0;
        owe_request(r, 1, now_ms, req, ctx);
        return;
    }
    r->st.decoded++;
    if (fr.hdr.kind == HC_VKIND_KEY) {
        r->st.keyframes++;
        r->have_key = 1;
        r->key_seq = fr.hdr.seq;
    } else if (fr.hdr.kind == HC_VKIND_RECOVERY) {
        r->st.recoveries++;
    }
    r->chain_ok = 1;
    r->last_seq = fr.hdr.seq;
    r->live = 1;
    r->started = 1;
    r->want_request = 0;
    r->want_key = 0;
    r->last_capture_ms = fr.hdr.capture_ms;
    out.seq = fr.hdr.seq;
    out.capture_ms = fr.hdr.capture_ms;
    if (pic) pic(ctx, r->sender, &out, fr.hdr.capture_ms, fr.hdr.seq);
}

int hc_video_receiver_tick(hc_video_receiver *r, uint64_t now_ms, hc_vrx_request_fn req, void *ctx)
{
    if (r->started && r->last_frame_ms && now_ms - r->last_frame_ms >= HC_VRX_STOPPED_MS) {
        r->started = 0;
        r->live = 0;
        r->want_request = 0;
        return 1;
    }
    if (r->want_request && now_ms - r->last_request_ms >= HC_VRX_REQ_GAP_MS) {
        r->last_request_ms = now_ms;
        r->st.requests++;
        if (req) req(ctx, r->sender, r->want_key);
    }
    return 0;
}
