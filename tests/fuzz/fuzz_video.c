/* libFuzzer target: video fragment headers and reassembly (video/fragment.h), and the VP8 peek
 * that runs on every reassembled frame (video/vp8.h).
 *
 * The input is a sequence of records, each pushed into one reassembler:
 *   flags:u8   media byte 1 (0xFF: the flags that go with the header, so the rest is reached)
 *   ctl:u8     00xxxxxx  raw fragment of xxxxxx (0..63) bytes, which follow
 *              01xxxxxx  raw fragment, length xxxxxx:next byte (mod 1400), the bytes follow
 *                        (0x7F instead ends the records: the rest is the round-trip frame)
 *              1xxxxxxx  built fragment: 15 header bytes, a u16 payload length (mod 1352), then
 *                        xxxxxxx (0..127) bytes that start the payload; the rest of the payload
 *                        is filled in (so full 1350-byte middle fragments cost a few bytes)
 * Oracles (abort() on violation): every push returns one of the documented results and the
 * counters agree with the results seen; no more than the slots' worth of frames in progress,
 * each consistent with its bitmap; a completed frame is at most HC_VFRAME_MAX bytes of at most
 * HC_VFRAG_MAX fragments, lies inside the reassembler, and holds exactly the payloads accepted
 * for its seq (a shadow log of accepted fragments); hc_vp8_peek on it gives -1, 0 or 1 with
 * sane sizes. A parsed header re-encodes to its bytes. At the end the remaining input is
 * fragmented with hc_vfrag_build and reassembled in reverse order into a fresh reassembler.
 * No main(): `make fuzz` links libFuzzer's. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "video/fragment.h"
#include "video/vp8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define RAW_MAX 1400
#define MAX_RECORDS 512
#define FRAG_BUF (HC_VFRAG_HDR_LEN + HC_VFRAG_PAYLOAD_MAX + 2)

static hc_vreasm R, R2;

/* Shadow log of every accepted fragment (PENDING or DONE): where its payload is kept. */
typedef struct {
    uint32_t seq;
    uint8_t index;
    uint32_t off;
    uint32_t len;
} acc;
static acc log_[MAX_RECORDS];
static uint8_t arena[MAX_RECORDS * FRAG_BUF];
static size_t nlog, arena_used;

static uint32_t all_bits(unsigned count) {
    return count >= 32 ? 0xFFFFFFFFu : (1u << count) - 1u;
}

static void check_state(const hc_vreasm *r) {
    int used = 0;
    for (int i = 0; i < HC_VREASM_SLOTS; i++) {
        const hc_vreasm_slot *s = &r->slot[i];
        if (!s->used) continue;
        used++;
        if (s->hdr.count < 1 || s->hdr.count > HC_VFRAG_MAX || s->hdr.kind > HC_VKIND_RECOVERY) abort();
        if (s->have == 0 || (s->have & ~all_bits(s->hdr.count)) || s->have == all_bits(s->hdr.count)) abort();
        if (s->last_len > HC_VFRAG_PAYLOAD_MAX) abort();
        if (r->any_done && (int32_t)(s->hdr.seq - r->done_seq) <= 0) abort();
        for (int j = i + 1; j < HC_VREASM_SLOTS; j++)
            if (r->slot[j].used && r->slot[j].hdr.seq == s->hdr.seq) abort();
    }
    if (used > HC_VREASM_SLOTS) abort();
}

static void check_frame(const hc_vreasm *r, const hc_vframe *f) {
    if (f->len < 1 || f->len > HC_VFRAME_MAX) abort();
    if (f->hdr.count < 1 || f->hdr.count > HC_VFRAG_MAX || f->hdr.kind > HC_VKIND_RECOVERY) abort();
    if (f->hdr.kind == HC_VKIND_KEY && f->hdr.ref_key != f->hdr.seq) abort();
    if (f->len <= (size_t)(f->hdr.count - 1) * HC_VFRAG_PAYLOAD_MAX ||
        f->len > (size_t)f->hdr.count * HC_VFRAG_PAYLOAD_MAX)
        abort();
    if (!r->any_done || r->done_seq != f->hdr.seq) abort();
    int inside = 0;
    for (int i = 0; i < HC_VREASM_SLOTS; i++)
        if (f->data == r->slot[i].data) inside = 1;
    if (!inside) abort();
    /* every piece equals the latest accepted fragment of that seq and index */
    for (unsigned idx = 0; idx < f->hdr.count; idx++) {
        const acc *a = NULL;
        for (size_t k = nlog; k-- > 0;)
            if (log_[k].seq == f->hdr.seq && log_[k].index == idx) {
                a = &log_[k];
                break;
            }
        if (!a) abort();
        size_t off = (size_t)idx * HC_VFRAG_PAYLOAD_MAX;
        size_t want = idx + 1u < f->hdr.count ? HC_VFRAG_PAYLOAD_MAX : f->len - off;
        if (a->len != want || memcmp(f->data + off, arena + a->off, want) != 0) abort();
    }
    int w = -1, h = -1;
    int p = hc_vp8_peek(f->data, f->len, &w, &h);
    if (p < -1 || p > 1) abort();
    if (p == 1 && (w < 0 || w > 0x3fff || h < 0 || h > 0x3fff)) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    hc_vreasm_init(&R);
    nlog = arena_used = 0;
    uint64_t seen[5] = {0}, pushes = 0;
    size_t pos = 0;
    static uint8_t frag[RAW_MAX + 16];

    while (pos + 2 <= size && pushes < MAX_RECORDS) {
        uint8_t flags = data[pos], ctl = data[pos + 1];
        pos += 2;
        if (ctl == 0x7F) break;
        size_t len;
        if ((ctl & 0x80) == 0) {
            size_t want;
            if (ctl & 0x40) {
                if (pos >= size) break;
                want = ((size_t)(ctl & 0x3F) << 8 | data[pos++]) % RAW_MAX;
            } else {
                want = ctl & 0x3F;
            }
            len = want <= size - pos ? want : size - pos;
            /* an exact-size copy on the heap, so ASan sees a read past the fragment */
            uint8_t *copy = malloc(len ? len : 1);
            if (!copy) abort();
            memcpy(copy, data + pos, len);
            pos += len;
            hc_vfrag_hdr h;
            if (hc_vfrag_hdr_parse(&h, copy, len) == 0) {
                uint8_t re[HC_VFRAG_HDR_LEN];
                hc_vfrag_hdr_write(re, &h);
                if (memcmp(re, copy, HC_VFRAG_HDR_LEN) != 0) abort();
                if (flags == 0xFF) flags = hc_vfrag_flags(&h);
            }
            hc_vframe out;
            int r = hc_vreasm_push(&R, flags, copy, len, &out);
            pushes++;
            if (r < HC_VR_REFUSED || r > HC_VR_STALE) abort();
            seen[r + 1]++;
            if (r == HC_VR_PENDING || r == HC_VR_DONE) {
                /* accepted, so it parsed above and h holds its header */
                log_[nlog].seq = h.seq;
                log_[nlog].index = h.index;
                log_[nlog].off = (uint32_t)arena_used;
                log_[nlog].len = (uint32_t)(len - HC_VFRAG_HDR_LEN);
                memcpy(arena + arena_used, copy + HC_VFRAG_HDR_LEN, len - HC_VFRAG_HDR_LEN);
                arena_used += len - HC_VFRAG_HDR_LEN;
                nlog++;
            }
            if (r == HC_VR_DONE) check_frame(&R, &out);
            free(copy);
            check_state(&R);
            continue;
        }
        /* built fragment */
        if (size - pos < HC_VFRAG_HDR_LEN + 2) break;
        memcpy(frag, data + pos, HC_VFRAG_HDR_LEN);
        pos += HC_VFRAG_HDR_LEN;
        size_t plen = ((size_t)data[pos] << 8 | data[pos + 1]) % (HC_VFRAG_PAYLOAD_MAX + 2);
        pos += 2;
        size_t pre = ctl & 0x7F;
        if (pre > size - pos) pre = size - pos;
        if (pre > plen) pre = plen;
        memcpy(frag + HC_VFRAG_HDR_LEN, data + pos, pre);
        pos += pre;
        for (size_t i = pre; i < plen; i++) frag[HC_VFRAG_HDR_LEN + i] = (uint8_t)(i * 7u + frag[3] + frag[4]);
        const uint8_t *pt = frag;
        len = HC_VFRAG_HDR_LEN + plen;
        hc_vfrag_hdr h;
        int ok = hc_vfrag_hdr_parse(&h, pt, len) == 0;
        if (ok && flags == 0xFF) flags = hc_vfrag_flags(&h);
        hc_vframe out;
        int r = hc_vreasm_push(&R, flags, pt, len, &out);
        pushes++;
        if (r < HC_VR_REFUSED || r > HC_VR_STALE) abort();
        if (!ok && r != HC_VR_REFUSED) abort();
        seen[r + 1]++;
        if (r == HC_VR_PENDING || r == HC_VR_DONE) {
            log_[nlog].seq = h.seq;
            log_[nlog].index = h.index;
            log_[nlog].off = (uint32_t)arena_used;
            log_[nlog].len = (uint32_t)plen;
            memcpy(arena + arena_used, pt + HC_VFRAG_HDR_LEN, plen);
            arena_used += plen;
            nlog++;
        }
        if (r == HC_VR_DONE) check_frame(&R, &out);
        check_state(&R);
    }

    /* counters agree with what the pushes returned */
    if (R.fragments != pushes) abort();
    if (R.refused != seen[0] || R.frames != seen[HC_VR_DONE + 1] || R.duplicates != seen[HC_VR_DUPLICATE + 1] ||
        R.stale != seen[HC_VR_STALE + 1])
        abort();
    /* every frame completed or abandoned was started by an accepted fragment */
    if (R.frames + R.abandoned > seen[HC_VR_PENDING + 1] + seen[HC_VR_DONE + 1]) abort();

    /* Round trip of the rest of the input as one frame, fragments in reverse order. */
    size_t rest = size - pos;
    unsigned c = hc_vfrag_count(rest);
    if (c == 0) {
        if (rest != 0 && rest <= HC_VFRAME_MAX) abort();
        return 0;
    }
    hc_vreasm_init(&R2);
    hc_vfrag_hdr fh = {.seq = rest * 2654435761u, .capture_ms = 7, .kind = (uint8_t)(rest % 3)};
    fh.ref_key = fh.kind == HC_VKIND_KEY ? fh.seq : fh.seq - 1;
    hc_vframe out;
    int last = HC_VR_REFUSED;
    for (unsigned i = c; i-- > 0;) {
        uint8_t fl;
        size_t n = hc_vfrag_build(frag, sizeof frag, &fh, data + pos, rest, i, &fl);
        if (n <= HC_VFRAG_HDR_LEN || n > HC_VFRAG_HDR_LEN + HC_VFRAG_PAYLOAD_MAX) abort();
        last = hc_vreasm_push(&R2, fl, frag, n, &out);
        if (last != (i == 0 ? HC_VR_DONE : HC_VR_PENDING)) abort();
    }
    if (out.len != rest || memcmp(out.data, data + pos, rest) != 0 || out.hdr.count != c) abort();
    return 0;
}
