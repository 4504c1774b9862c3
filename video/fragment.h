/* A compressed video frame split into datagrams, and put back together (RFC 9605 §4.2: one
 * SFrame per packet, so each fragment is authenticated on its own before it enters reassembly).
 *
 * Each fragment's plaintext (inside the SFrame ciphertext, so the relay sees none of it):
 *
 *   u32 frame seq | u8 fragment index | u8 fragment count (1..32) | u32 capture_ms |
 *   u8 frame kind (0 inter, 1 key, 2 recovery) | u32 ref_key (the seq of the keyframe this
 *   frame depends on; a keyframe names itself) | payload
 *
 * All numbers big-endian. Every fragment but the last carries exactly HC_VFRAG_PAYLOAD_MAX bytes
 * of the frame, so fragment i sits at offset i * HC_VFRAG_PAYLOAD_MAX and reassembly needs no
 * copying or sorting. The relay-visible, authenticated media byte 1 (net/media.h) carries
 * HC_VFLAG_* for the same fragment; a receiver refuses a fragment whose flags disagree with the
 * header inside.
 *
 * Reassembly is bounded: at most HC_VREASM_SLOTS frames in progress per sender (a fragment of a
 * third frame abandons the oldest), at most HC_VFRAG_MAX fragments per frame, and every header
 * that is inconsistent with what came before for the same frame (another count, kind, capture
 * time or ref_key; an index past the count; a short middle fragment) is refused and counted. */
#ifndef HC_VIDEO_FRAGMENT_H
#define HC_VIDEO_FRAGMENT_H

#include <stddef.h>
#include <stdint.h>

#define HC_VFRAG_HDR_LEN 15
#define HC_VFRAG_MAX 32
/* 1400 (datagram) - 2 (media header) - 33 (SFrame header and tag at most) - 15 (this header) */
#define HC_VFRAG_PAYLOAD_MAX 1350
#define HC_VFRAME_MAX (HC_VFRAG_MAX * HC_VFRAG_PAYLOAD_MAX)
#define HC_VREASM_SLOTS 2

/* Media byte 1 of a VIDEO datagram. */
#define HC_VFLAG_KEY   0x01     /* the fragment belongs to a keyframe */
#define HC_VFLAG_START 0x02     /* fragment index 0 */
#define HC_VFLAG_END   0x04     /* the last fragment */
#define HC_VFLAG_MASK  0x07     /* other bits must be 0 */

enum { HC_VKIND_INTER = 0, HC_VKIND_KEY = 1, HC_VKIND_RECOVERY = 2 };

typedef struct {
    uint32_t seq;
    uint8_t index, count;
    uint32_t capture_ms;
    uint8_t kind;
    uint32_t ref_key;
} hc_vfrag_hdr;

void hc_vfrag_hdr_write(uint8_t out[HC_VFRAG_HDR_LEN], const hc_vfrag_hdr *h);
/* 0, or -1 (short, count 0 or > HC_VFRAG_MAX, index >= count, unknown kind, a keyframe whose
 * ref_key is not its own seq). */
int hc_vfrag_hdr_parse(hc_vfrag_hdr *h, const uint8_t *in, size_t len);
/* The flags byte that goes with h. */
uint8_t hc_vfrag_flags(const hc_vfrag_hdr *h);

/* How many fragments a frame of frame_len bytes needs (1..HC_VFRAG_MAX), or 0 when it is empty or
 * larger than HC_VFRAME_MAX. */
unsigned hc_vfrag_count(size_t frame_len);
/* Writes fragment `index` of the frame (header from h with index/count filled in, then its piece
 * of the payload) to out; returns the plaintext length, 0 when cap is too small or index is out
 * of range. *flags gets media byte 1. */
size_t hc_vfrag_build(uint8_t *out, size_t cap, const hc_vfrag_hdr *frame, const uint8_t *data, size_t frame_len,
                      unsigned index, uint8_t *flags);

typedef struct {
    int used;
    hc_vfrag_hdr hdr;          /* of the first fragment seen (index ignored) */
    uint32_t have;             /* bitmap of fragments received */
    size_t last_len;           /* the last fragment's payload length, once seen */
    uint64_t order;            /* when the slot was taken (eviction: oldest first) */
    uint8_t data[HC_VFRAME_MAX];
} hc_vreasm_slot;

typedef struct {
    hc_vreasm_slot slot[HC_VREASM_SLOTS];
    uint64_t next_order;
    uint32_t done_seq;         /* the last frame completed (valid when any_done) */
    int any_done;
    /* counters */
    uint64_t fragments, frames, duplicates, refused, abandoned, stale;
} hc_vreasm;

/* A frame put back together: data points into the reassembler, valid until the next push. */
typedef struct {
    hc_vfrag_hdr hdr;
    const uint8_t *data;
    size_t len;
} hc_vframe;

enum {
    HC_VR_PENDING = 0,      /* stored; the frame is not complete yet */
    HC_VR_DONE = 1,         /* *out holds a complete frame */
    HC_VR_DUPLICATE = 2,    /* a fragment already held (or of a frame already completed): ignored */
    HC_VR_STALE = 3,        /* older than a frame already completed: ignored */
    HC_VR_REFUSED = -1,     /* a header that does not parse or contradicts the rest of its frame */
};

void hc_vreasm_init(hc_vreasm *r);
/* flags: media byte 1; pt/len: the decrypted fragment (header and payload). */
int hc_vreasm_push(hc_vreasm *r, uint8_t flags, const uint8_t *pt, size_t len, hc_vframe *out);

#endif
