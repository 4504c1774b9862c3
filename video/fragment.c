/* Video fragments and their reassembly (fragment.h). Everything here sees bytes that came off the
 * network (decrypted, so authenticated as the sender's, but a sender may be hostile or buggy), so
 * every field is checked before it is used as an index or a length, and nothing allocates: a
 * reassembler is two fixed slots. */
#include "video/fragment.h"

#include <string.h>

static void put32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* RFC 1982 style on u32: a frame seq wraps after 2^32 frames (9 years at 15 fps, but a sender
 * may start anywhere), so "older" is the sign of the difference, never a plain <. */
static int seq_cmp(uint32_t a, uint32_t b) {
    int32_t d = (int32_t)(a - b);
    return d < 0 ? -1 : d > 0;
}

void hc_vfrag_hdr_write(uint8_t out[HC_VFRAG_HDR_LEN], const hc_vfrag_hdr *h) {
    put32(out, h->seq);
    out[4] = h->index;
    out[5] = h->count;
    put32(out + 6, h->capture_ms);
    out[10] = h->kind;
    put32(out + 11, h->ref_key);
}

int hc_vfrag_hdr_parse(hc_vfrag_hdr *h, const uint8_t *in, size_t len) {
    if (!in || len < HC_VFRAG_HDR_LEN) return -1;
    hc_vfrag_hdr t;
    t.seq = get32(in);
    t.index = in[4];
    t.count = in[5];
    t.capture_ms = get32(in + 6);
    t.kind = in[10];
    t.ref_key = get32(in + 11);
    if (t.count == 0 || t.count > HC_VFRAG_MAX || t.index >= t.count) return -1;
    if (t.kind > HC_VKIND_RECOVERY) return -1;
    /* A keyframe depends on nothing but itself; anything else would let a receiver believe it
     * holds a start it does not. */
    if (t.kind == HC_VKIND_KEY && t.ref_key != t.seq) return -1;
    *h = t;
    return 0;
}

uint8_t hc_vfrag_flags(const hc_vfrag_hdr *h) {
    uint8_t f = 0;
    if (h->kind == HC_VKIND_KEY) f |= HC_VFLAG_KEY;
    if (h->index == 0) f |= HC_VFLAG_START;
    if (h->count > 0 && h->index == h->count - 1) f |= HC_VFLAG_END;
    return f;
}

unsigned hc_vfrag_count(size_t frame_len) {
    if (frame_len == 0 || frame_len > HC_VFRAME_MAX) return 0;
    return (unsigned)((frame_len + HC_VFRAG_PAYLOAD_MAX - 1) / HC_VFRAG_PAYLOAD_MAX);
}

size_t hc_vfrag_build(uint8_t *out, size_t cap, const hc_vfrag_hdr *frame, const uint8_t *data, size_t frame_len,
                      unsigned index, uint8_t *flags) {
    unsigned count = hc_vfrag_count(frame_len);
    if (count == 0 || index >= count || !out || !frame || !data) return 0;
    size_t off = (size_t)index * HC_VFRAG_PAYLOAD_MAX;
    size_t piece = index + 1 < count ? HC_VFRAG_PAYLOAD_MAX : frame_len - off;
    if (cap < HC_VFRAG_HDR_LEN + piece) return 0;
    hc_vfrag_hdr h = *frame;
    h.index = (uint8_t)index;
    h.count = (uint8_t)count;
    hc_vfrag_hdr_write(out, &h);
    memcpy(out + HC_VFRAG_HDR_LEN, data + off, piece);
    if (flags) *flags = hc_vfrag_flags(&h);
    return HC_VFRAG_HDR_LEN + piece;
}

void hc_vreasm_init(hc_vreasm *r) {
    /* Only the bookkeeping: the 86 KB of slot data need no clearing (a slot's bytes are read only
     * where its bitmap says a fragment was written). */
    for (int i = 0; i < HC_VREASM_SLOTS; i++) {
        r->slot[i].used = 0;
        r->slot[i].have = 0;
        r->slot[i].last_len = 0;
        r->slot[i].order = 0;
        memset(&r->slot[i].hdr, 0, sizeof r->slot[i].hdr);
    }
    r->next_order = 0;
    r->done_seq = 0;
    r->any_done = 0;
    r->fragments = r->frames = r->duplicates = r->refused = r->abandoned = r->stale = 0;
}

static int refuse(hc_vreasm *r) {
    r->refused++;
    return HC_VR_REFUSED;
}

static void slot_free(hc_vreasm_slot *s) {
    s->used = 0;
    s->have = 0;
    s->last_len = 0;
}

static uint32_t all_bits(unsigned count) {
    return count >= 32 ? 0xFFFFFFFFu : (1u << count) - 1u;
}

/* Every push is counted in r->fragments, and exactly one of frames (DONE), duplicates, stale or
 * refused counts it when it is not stored as PENDING. */
int hc_vreasm_push(hc_vreasm *r, uint8_t flags, const uint8_t *pt, size_t len, hc_vframe *out) {
    r->fragments++;
    hc_vfrag_hdr h;
    if (hc_vfrag_hdr_parse(&h, pt, len) != 0) return refuse(r);
    /* The relay-visible flags are authenticated with the datagram but written outside the
     * ciphertext: if they disagree with the header inside, the sender is lying to the relay or
     * to us, and either way the fragment is not used. */
    if ((flags & ~HC_VFLAG_MASK) != 0 || flags != hc_vfrag_flags(&h)) return refuse(r);
    size_t plen = len - HC_VFRAG_HDR_LEN;
    if (h.index + 1 < h.count) {
        /* fixed-size pieces are what lets fragment i sit at i * MAX without sorting */
        if (plen != HC_VFRAG_PAYLOAD_MAX) return refuse(r);
    } else if (plen == 0 || plen > HC_VFRAG_PAYLOAD_MAX) {
        return refuse(r);
    }

    if (r->any_done) {
        int c = seq_cmp(h.seq, r->done_seq);
        if (c == 0) {
            r->duplicates++;
            return HC_VR_DUPLICATE;
        }
        if (c < 0) {
            r->stale++;
            return HC_VR_STALE;
        }
    }

    hc_vreasm_slot *s = NULL;
    for (int i = 0; i < HC_VREASM_SLOTS; i++)
        if (r->slot[i].used && r->slot[i].hdr.seq == h.seq) s = &r->slot[i];

    if (s) {
        if (s->hdr.count != h.count || s->hdr.kind != h.kind || s->hdr.capture_ms != h.capture_ms ||
            s->hdr.ref_key != h.ref_key)
            return refuse(r);
        if (s->have & (1u << h.index)) {
            r->duplicates++;
            return HC_VR_DUPLICATE;
        }
    } else {
        for (int i = 0; i < HC_VREASM_SLOTS && !s; i++)
            if (!r->slot[i].used) s = &r->slot[i];
        if (!s) {
            /* Both slots busy: the frame with the oldest seq gives way, unless the newcomer is
             * older still (a late straggler must not push out a frame that can still be shown). */
            hc_vreasm_slot *oldest = &r->slot[0];
            for (int i = 1; i < HC_VREASM_SLOTS; i++)
                if (seq_cmp(r->slot[i].hdr.seq, oldest->hdr.seq) < 0) oldest = &r->slot[i];
            if (seq_cmp(h.seq, oldest->hdr.seq) < 0) {
                r->stale++;
                return HC_VR_STALE;
            }
            r->abandoned++;
            slot_free(oldest);
            s = oldest;
        }
        s->used = 1;
        s->hdr = h;
        s->hdr.index = 0;
        s->have = 0;
        s->last_len = 0;
        s->order = r->next_order++;
    }

    memcpy(s->data + (size_t)h.index * HC_VFRAG_PAYLOAD_MAX, pt + HC_VFRAG_HDR_LEN, plen);
    s->have |= 1u << h.index;
    if (h.index + 1 == h.count) s->last_len = plen;
    if (s->have != all_bits(h.count)) return HC_VR_PENDING;

    /* Complete. The bytes stay in the slot (valid until the next push: a freed slot is only
     * reused by a later push). */
    r->frames++;
    r->done_seq = h.seq;
    r->any_done = 1;
    if (out) {
        out->hdr = s->hdr;
        out->data = s->data;
        out->len = (size_t)(h.count - 1) * HC_VFRAG_PAYLOAD_MAX + s->last_len;
    }
    slot_free(s);
    /* A frame older than the one just shown can no longer be shown in order. */
    for (int i = 0; i < HC_VREASM_SLOTS; i++) {
        hc_vreasm_slot *o = &r->slot[i];
        if (o->used && seq_cmp(o->hdr.seq, h.seq) < 0) {
            r->abandoned++;
            slot_free(o);
        }
    }
    return HC_VR_DONE;
}
