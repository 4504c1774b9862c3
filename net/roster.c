/* Roster encoding and the heartbeat hash chain input. */
#include "net/roster.h"

#include <string.h>

#include "crypto/bytes.h"
#include "crypto/sig.h"

static void wr_entries(hc_wr *w, const hc_roster_entry *e, size_t n) {
    hc_wr_u16(w, (uint16_t)n);
    for (size_t i = 0; i < n; i++) {
        if (i && e[i].index <= e[i - 1].index) { w->err = 1; return; }
        hc_wr_u32(w, e[i].index);
        hc_wr_bytes(w, e[i].hash, 32);
    }
}

size_t hc_roster_encode(const hc_roster *r, uint8_t *out, size_t cap) {
    if (r->n > HC_ROSTER_MAX_ENTRIES || r->n_waiting > HC_ROSTER_MAX_ENTRIES) return 0;
    hc_wr w = hc_wr_init(out, cap);
    hc_wr_u32(&w, r->v);
    if (r->admit < HC_ROSTER_ADMIT_AUTO || r->admit > HC_ROSTER_ADMIT_KNOWN) return 0;
    hc_wr_u8(&w, (uint8_t)((r->locked ? 1 : 0) | r->admit << 1));
    hc_wr_u32(&w, r->leader);
    wr_entries(&w, r->members, r->n);
    wr_entries(&w, r->waiting, r->n_waiting);
    return w.err ? 0 : w.len;
}

static int rd_entries(hc_rd *rd, hc_roster_entry *e, size_t *n) {
    size_t cnt = hc_rd_u16(rd);
    if (rd->err || cnt > HC_ROSTER_MAX_ENTRIES) return -1;
    for (size_t i = 0; i < cnt; i++) {
        e[i].index = hc_rd_u32(rd);
        if (hc_rd_copy(rd, e[i].hash, 32) < 0) return -1;
        if (i && e[i].index <= e[i - 1].index) return -1;
    }
    *n = cnt;
    return 0;
}

int hc_roster_decode(hc_roster *r, const uint8_t *in, size_t len) {
    hc_rd rd = hc_rd_init(in, len);
    r->v = hc_rd_u32(&rd);
    uint8_t flags = hc_rd_u8(&rd);
    r->leader = hc_rd_u32(&rd);
    /* bit 0 locked, bits 1-2 the admission policy (3 is none), the others 0 */
    if (rd.err || flags >> 3 || (flags >> 1) > HC_ROSTER_ADMIT_KNOWN) return -1;
    r->locked = flags & 1;
    r->admit = flags >> 1;
    if (rd_entries(&rd, r->members, &r->n) < 0) return -1;
    if (rd_entries(&rd, r->waiting, &r->n_waiting) < 0) return -1;
    return hc_rd_done(&rd) ? 0 : -1;
}

static const hc_roster_entry *bsearch_entry(const hc_roster_entry *e, size_t n, uint32_t index) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (e[mid].index == index) return &e[mid];
        if (e[mid].index < index) lo = mid + 1; else hi = mid;
    }
    return NULL;
}

const hc_roster_entry *hc_roster_find(const hc_roster *r, uint32_t index) {
    return bsearch_entry(r->members, r->n, index);
}

const hc_roster_entry *hc_roster_find_waiting(const hc_roster *r, uint32_t index) {
    return bsearch_entry(r->waiting, r->n_waiting, index);
}

void hc_heartbeat_hash(uint8_t out[32], const uint8_t h_binding_leader[32], const uint8_t roster_hash[32],
                       uint32_t v, uint64_t t, uint32_t epoch, const uint8_t prev[32], uint64_t ts_ms) {
    uint8_t buf[32 + 32 + 4 + 8 + 4 + 32 + 8];
    hc_wr w = hc_wr_init(buf, sizeof buf);
    hc_wr_bytes(&w, h_binding_leader, 32);
    hc_wr_bytes(&w, roster_hash, 32);
    hc_wr_u32(&w, v);
    hc_wr_u64(&w, t);
    hc_wr_u32(&w, epoch);
    hc_wr_bytes(&w, prev, 32);
    hc_wr_u64(&w, ts_ms);
    hc_hash(out, buf, w.len);
}
