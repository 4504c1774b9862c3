/* Roster encoding, deltas and the heartbeat hash chain input. */
#include "net/roster.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/bytes.h"
#include "crypto/sig.h"

void hc_roster_init(hc_roster *r) { memset(r, 0, sizeof *r); }

void hc_roster_free(hc_roster *r) {
    free(r->members);
    free(r->waiting);
    free(r->pages[0]);
    free(r->pages[1]);
    memset(r, 0, sizeof *r);
}

void hc_roster_clear(hc_roster *r) {
    r->n = r->n_waiting = 0;
    r->pages_ok = 0;
}

static int grow(hc_roster_entry **a, size_t *cap, size_t want) {
    if (want <= *cap) return 0;
    size_t nc = *cap ? *cap : 16;
    while (nc < want) nc *= 2;
    if (nc > HC_ROSTER_MAX_ENTRIES) nc = HC_ROSTER_MAX_ENTRIES;
    if (nc < want) return -1;
    hc_roster_entry *n = realloc(*a, nc * sizeof *n);
    if (!n) return -1;
    *a = n;
    *cap = nc;
    return 0;
}

int hc_roster_reserve(hc_roster *r, size_t n, size_t w) {
    if (n + w > HC_ROSTER_MAX_ENTRIES) return -1;
    return grow(&r->members, &r->cap_members, n) < 0 || grow(&r->waiting, &r->cap_waiting, w) < 0 ? -1 : 0;
}

int hc_roster_copy(hc_roster *dst, const hc_roster *src) {
    if (dst == src) return 0;
    if (hc_roster_reserve(dst, src->n, src->n_waiting) < 0) return -1;
    dst->v = src->v;
    dst->locked = src->locked;
    dst->admit = src->admit;
    dst->leader = src->leader;
    dst->n = src->n;
    dst->n_waiting = src->n_waiting;
    if (src->n) memcpy(dst->members, src->members, src->n * sizeof *src->members);
    if (src->n_waiting) memcpy(dst->waiting, src->waiting, src->n_waiting * sizeof *src->waiting);
    dst->pages_ok = 0;
    for (int l = 0; src->pages_ok && l < 2; l++) {
        if (src->n_pages[l] > dst->cap_pages[l]) {
            hc_roster_page *np = realloc(dst->pages[l], src->n_pages[l] * sizeof *np);
            if (!np) return 0;          /* the digests are a cache: recomputed when needed */
            dst->pages[l] = np;
            dst->cap_pages[l] = src->n_pages[l];
        }
        if (src->n_pages[l]) memcpy(dst->pages[l], src->pages[l], src->n_pages[l] * sizeof *src->pages[l]);
        dst->n_pages[l] = src->n_pages[l];
    }
    dst->pages_ok = src->pages_ok;
    return 0;
}

int hc_roster_add(hc_roster *r, int waiting, uint32_t index, const uint8_t hash[32]) {
    hc_roster_entry *a = waiting ? r->waiting : r->members;
    size_t n = waiting ? r->n_waiting : r->n;
    if ((n && a[n - 1].index >= index) ||
        hc_roster_reserve(r, r->n + (waiting ? 0 : 1), r->n_waiting + (waiting ? 1 : 0)) < 0)
        return -1;
    hc_roster_entry *e = waiting ? &r->waiting[r->n_waiting++] : &r->members[r->n++];
    e->index = index;
    memcpy(e->hash, hash, 32);
    r->pages_ok = 0;
    return 0;
}

size_t hc_roster_encoded_len(const hc_roster *r) {
    return HC_ROSTER_HDR_LEN + HC_ROSTER_ENTRY_LEN * (r->n + r->n_waiting);
}

static uint8_t flags_of(const hc_roster *r) { return (uint8_t)((r->locked ? 1 : 0) | r->admit << 1); }

static int header_ok(const hc_roster *r) {
    return r->admit >= HC_ROSTER_ADMIT_AUTO && r->admit <= HC_ROSTER_ADMIT_KNOWN &&
           r->n + r->n_waiting <= HC_ROSTER_MAX_ENTRIES;
}

static int ascending(const hc_roster_entry *e, size_t n) {
    for (size_t i = 1; i < n; i++)
        if (e[i].index <= e[i - 1].index) return 0;
    return 1;
}

static void wr_entries(hc_wr *w, const hc_roster_entry *e, size_t n) {
    hc_wr_u16(w, (uint16_t)n);
    for (size_t i = 0; i < n; i++) {
        hc_wr_u32(w, e[i].index);
        hc_wr_bytes(w, e[i].hash, 32);
    }
}

size_t hc_roster_encode(const hc_roster *r, uint8_t *out, size_t cap) {
    if (!header_ok(r) || !ascending(r->members, r->n) || !ascending(r->waiting, r->n_waiting)) return 0;
    hc_wr w = hc_wr_init(out, cap);
    hc_wr_u32(&w, r->v);
    hc_wr_u8(&w, flags_of(r));
    hc_wr_u32(&w, r->leader);
    wr_entries(&w, r->members, r->n);
    wr_entries(&w, r->waiting, r->n_waiting);
    return w.err ? 0 : w.len;
}

/* ---- the roster hash, by pages ---- */

#define PAGE_ENTRIES (1u << HC_ROSTER_PAGE_SHIFT)

/* H(the entries of one page): at most 64 entries, encoded as in the roster. */
static void page_digest(const hc_roster_entry *e, size_t n, uint8_t out[32]) {
    uint8_t buf[PAGE_ENTRIES * HC_ROSTER_ENTRY_LEN];
    hc_wr w = hc_wr_init(buf, sizeof buf);
    for (size_t i = 0; i < n; i++) {
        hc_wr_u32(&w, e[i].index);
        hc_wr_bytes(&w, e[i].hash, 32);
    }
    crypto_hash_sha256(out, buf, w.len);
}

/* The page digests of one list of r. Where base's digests are valid, a page the delta did not
 * touch (`touched`: its pages, ascending; NULL with base NULL: none is reused) keeps base's
 * digest: its entries are the same. Returns 0, or -1 out of memory. */
static int pages_build(hc_roster *r, int list, const hc_roster *base, const uint32_t *touched, size_t nt) {
    const hc_roster_entry *e = list ? r->waiting : r->members;
    size_t n = list ? r->n_waiting : r->n, bi = 0, ti = 0;
    r->n_pages[list] = 0;
    for (size_t i = 0; i < n;) {
        uint32_t page = e[i].index >> HC_ROSTER_PAGE_SHIFT;
        size_t j = i + 1;
        while (j < n && e[j].index >> HC_ROSTER_PAGE_SHIFT == page) j++;
        if (r->n_pages[list] == r->cap_pages[list]) {
            size_t nc = r->cap_pages[list] ? r->cap_pages[list] * 2 : 16;
            hc_roster_page *np = realloc(r->pages[list], nc * sizeof *np);
            if (!np) return -1;
            r->pages[list] = np;
            r->cap_pages[list] = nc;
        }
        hc_roster_page *pg = &r->pages[list][r->n_pages[list]++];
        pg->page = page;
        int reused = 0;
        if (base) {
            while (ti < nt && touched[ti] < page) ti++;
            while (bi < base->n_pages[list] && base->pages[list][bi].page < page) bi++;
            if (!(ti < nt && touched[ti] == page) && bi < base->n_pages[list] && base->pages[list][bi].page == page) {
                memcpy(pg->digest, base->pages[list][bi].digest, 32);
                reused = 1;
            }
        }
        if (!reused) page_digest(e + i, j - i, pg->digest);
        i = j;
    }
    return 0;
}

void hc_roster_hash(hc_roster *r, uint8_t out[32]) {
    if (!r->pages_ok) r->pages_ok = pages_build(r, 0, NULL, NULL, 0) == 0 && pages_build(r, 1, NULL, NULL, 0) == 0;
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    uint8_t hdr[HC_ROSTER_HDR_LEN];
    hc_wr w = hc_wr_init(hdr, sizeof hdr);
    hc_wr_u32(&w, r->v);
    hc_wr_u8(&w, flags_of(r));
    hc_wr_u32(&w, r->leader);
    hc_wr_u16(&w, (uint16_t)r->n);
    hc_wr_u16(&w, (uint16_t)r->n_waiting);
    crypto_hash_sha256_update(&st, hdr, w.len);
    for (int list = 0; list < 2; list++) {
        const hc_roster_entry *e = list ? r->waiting : r->members;
        size_t n = list ? r->n_waiting : r->n;
        uint8_t rec[36];
        if (r->pages_ok) {
            rec[0] = (uint8_t)(r->n_pages[list] >> 8);
            rec[1] = (uint8_t)r->n_pages[list];
            crypto_hash_sha256_update(&st, rec, 2);
            for (size_t k = 0; k < r->n_pages[list]; k++) {
                hc_put_u32(rec, r->pages[list][k].page);
                memcpy(rec + 4, r->pages[list][k].digest, 32);
                crypto_hash_sha256_update(&st, rec, 36);
            }
            continue;
        }
        /* out of memory for the cache: the same digests, computed as we go */
        size_t pages = 0;
        for (size_t i = 0; i < n; i++)
            pages += !i || e[i].index >> HC_ROSTER_PAGE_SHIFT != e[i - 1].index >> HC_ROSTER_PAGE_SHIFT;
        rec[0] = (uint8_t)(pages >> 8);
        rec[1] = (uint8_t)pages;
        crypto_hash_sha256_update(&st, rec, 2);
        for (size_t i = 0; i < n;) {
            uint32_t page = e[i].index >> HC_ROSTER_PAGE_SHIFT;
            size_t j = i + 1;
            while (j < n && e[j].index >> HC_ROSTER_PAGE_SHIFT == page) j++;
            hc_put_u32(rec, page);
            page_digest(e + i, j - i, rec + 4);
            crypto_hash_sha256_update(&st, rec, 36);
            i = j;
        }
    }
    crypto_hash_sha256_final(&st, out);
}

static int rd_entries(hc_rd *rd, hc_roster *r, int waiting) {
    size_t cnt = hc_rd_u16(rd);
    if (rd->err || hc_roster_reserve(r, waiting ? r->n : cnt, waiting ? cnt : 0) < 0) return -1;
    hc_roster_entry *e = waiting ? r->waiting : r->members;
    for (size_t i = 0; i < cnt; i++) {
        e[i].index = hc_rd_u32(rd);
        if (hc_rd_copy(rd, e[i].hash, 32) < 0) return -1;
        if (i && e[i].index <= e[i - 1].index) return -1;
    }
    if (waiting) r->n_waiting = cnt; else r->n = cnt;
    return 0;
}

int hc_roster_decode(hc_roster *r, const uint8_t *in, size_t len) {
    hc_rd rd = hc_rd_init(in, len);
    hc_roster_clear(r);   /* and its page digests */
    r->v = hc_rd_u32(&rd);
    uint8_t flags = hc_rd_u8(&rd);
    r->leader = hc_rd_u32(&rd);
    /* bit 0 locked, bits 1-2 the admission policy (3 is none), the others 0 */
    if (rd.err || flags >> 3 || (flags >> 1) > HC_ROSTER_ADMIT_KNOWN) return -1;
    r->locked = flags & 1;
    r->admit = flags >> 1;
    if (rd_entries(&rd, r, 0) < 0 || rd_entries(&rd, r, 1) < 0 || !hc_rd_done(&rd)) {
        hc_roster_clear(r);
        return -1;
    }
    return 0;
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

/* ---- deltas ----
 *
 * Both rosters are sorted, so the delta is one merge of their entries by index: an index only in
 * `from` leaves, one only in `to` (or whose list or hash differs) is written with the list it is
 * on now. Applying it is the same merge the other way round. Both are O(entries): a change costs
 * every member one pass over its own copy and the bytes of the change, not the whole list. */

/* Where an index stands in a roster: 0 absent, 1 member, 2 waiting, with its entry. */
typedef struct {
    const hc_roster_entry *m, *w;
    size_t nm, nw, im, iw;
} cursor;

static cursor cursor_of(const hc_roster *r) {
    cursor c = {r ? r->members : NULL, r ? r->waiting : NULL, r ? r->n : 0, r ? r->n_waiting : 0, 0, 0};
    return c;
}

/* The smallest index not yet passed in either list, or UINT64_MAX at the end. */
static uint64_t cursor_peek(const cursor *c) {
    uint64_t a = c->im < c->nm ? c->m[c->im].index : UINT64_MAX;
    uint64_t b = c->iw < c->nw ? c->w[c->iw].index : UINT64_MAX;
    return a < b ? a : b;
}

/* Takes index `ix` off the cursor: which list held it (0 none) and its entry. */
static int cursor_take(cursor *c, uint64_t ix, const hc_roster_entry **e) {
    int where = 0;
    *e = NULL;
    if (c->im < c->nm && c->m[c->im].index == ix) { *e = &c->m[c->im++]; where = 1; }
    if (c->iw < c->nw && c->w[c->iw].index == ix) {
        /* in both lists: malformed for a roster we built; the waiting entry is the later word */
        *e = &c->w[c->iw++];
        where = 2;
    }
    return where;
}

void hc_roster_changes(const hc_roster *from, const hc_roster *to, hc_roster_change_cb cb, void *ctx) {
    cursor a = cursor_of(from), b = cursor_of(to);
    for (;;) {
        uint64_t ia = cursor_peek(&a), ib = cursor_peek(&b), ix = ia < ib ? ia : ib;
        if (ix == UINT64_MAX) break;
        const hc_roster_entry *ea, *eb;
        int wa = cursor_take(&a, ix, &ea), wb = cursor_take(&b, ix, &eb);
        if (wa == wb && !memcmp(ea->hash, eb->hash, 32)) continue;   /* unchanged */
        cb(ctx, (uint32_t)ix, wa, ea, wb, eb);
    }
}

typedef struct {
    hc_wr w;
    size_t count;
} delta_writer;

static void write_change(void *ctx, uint32_t index, int was, const hc_roster_entry *old, int is,
                         const hc_roster_entry *now) {
    delta_writer *d = ctx;
    (void)was;
    (void)old;
    hc_wr_u32(&d->w, index);
    hc_wr_u8(&d->w, (uint8_t)(is == 0 ? HC_RDELTA_REMOVE : is == 1 ? HC_RDELTA_MEMBER : HC_RDELTA_WAITING));
    if (is) hc_wr_bytes(&d->w, now->hash, 32);
    d->count++;
}

size_t hc_roster_delta_encode(const hc_roster *from, const hc_roster *to, uint8_t *out, size_t cap) {
    uint32_t v_base = from ? from->v : 0;
    if (!header_ok(to) || to->v <= v_base) return 0;
    delta_writer d = {hc_wr_init(out, cap), 0};
    hc_wr_u32(&d.w, v_base);
    hc_wr_u32(&d.w, to->v);
    hc_wr_u8(&d.w, flags_of(to));
    hc_wr_u32(&d.w, to->leader);
    hc_wr_u16(&d.w, 0);                 /* the count, patched below */
    hc_roster_changes(from, to, write_change, &d);
    if (d.w.err || d.count > 0xFFFF) return 0;
    out[HC_ROSTER_DELTA_HDR_LEN - 2] = (uint8_t)(d.count >> 8);
    out[HC_ROSTER_DELTA_HDR_LEN - 1] = (uint8_t)d.count;
    return d.w.len;
}

int hc_roster_delta_versions(const uint8_t *in, size_t len, uint32_t *v_base, uint32_t *v) {
    if (len < 8) return -1;
    *v_base = hc_get_u32(in);
    *v = hc_get_u32(in + 4);
    return 0;
}

int hc_roster_delta_apply(const hc_roster *base, const uint8_t *in, size_t len, hc_roster *out) {
    if (out == base) return -1;
    hc_rd rd = hc_rd_init(in, len);
    uint32_t v_base = hc_rd_u32(&rd), v = hc_rd_u32(&rd);
    uint8_t flags = hc_rd_u8(&rd);
    uint32_t leader = hc_rd_u32(&rd);
    size_t count = hc_rd_u16(&rd);
    if (rd.err || flags >> 3 || (flags >> 1) > HC_ROSTER_ADMIT_KNOWN || v <= v_base) return -1;
    if ((base ? base->v : 0) != v_base) return -2;
    /* The result holds at most base's entries plus the additions. */
    size_t bn = base ? base->n : 0, bw = base ? base->n_waiting : 0;
    size_t room_m = bn + count, room_w = bw + count;
    if (room_m > HC_ROSTER_MAX_ENTRIES) room_m = HC_ROSTER_MAX_ENTRIES;
    if (room_w > HC_ROSTER_MAX_ENTRIES) room_w = HC_ROSTER_MAX_ENTRIES;
    hc_roster_clear(out);
    if (grow(&out->members, &out->cap_members, room_m) < 0 || grow(&out->waiting, &out->cap_waiting, room_w) < 0)
        return -1;
    /* the pages the changes touch: only those are hashed again */
    uint32_t *touched = malloc((count ? count : 1) * sizeof *touched);
    size_t nt = 0;
    if (!touched) return -1;
    cursor a = cursor_of(base);
    uint64_t last = 0;
    int first = 1;
    for (size_t k = 0;; k++) {
        uint64_t ix = UINT64_MAX;
        uint8_t op = 0;
        const uint8_t *hash = NULL;
        if (k < count) {
            ix = hc_rd_u32(&rd);
            op = hc_rd_u8(&rd);
            if (op != HC_RDELTA_REMOVE) hash = hc_rd_take(&rd, 32);
            if (rd.err || op > HC_RDELTA_WAITING || (!first && ix <= last)) goto bad;
            first = 0;
            last = ix;
            uint32_t page = (uint32_t)(ix >> HC_ROSTER_PAGE_SHIFT);
            if (!nt || touched[nt - 1] != page) touched[nt++] = page;
        }
        /* base entries before the next change stay as they are */
        for (uint64_t ia; (ia = cursor_peek(&a)) < ix;) {
            const hc_roster_entry *e;
            int where = cursor_take(&a, ia, &e);
            if (where == 1 && out->n < room_m) out->members[out->n++] = *e;
            else if (where == 2 && out->n_waiting < room_w) out->waiting[out->n_waiting++] = *e;
            else goto bad;
        }
        if (ix == UINT64_MAX) break;
        const hc_roster_entry *old;
        int was = cursor_take(&a, ix, &old);
        if (op == HC_RDELTA_REMOVE) {
            if (!was) goto bad;                       /* removes what is not there */
            continue;
        }
        if ((was == 1 && op == HC_RDELTA_MEMBER) || (was == 2 && op == HC_RDELTA_WAITING)) {
            if (!memcmp(old->hash, hash, 32)) goto bad;   /* not a change: no delta says it */
        }
        hc_roster_entry *e;
        if (op == HC_RDELTA_MEMBER) {
            if (out->n >= room_m) goto bad;
            e = &out->members[out->n++];
        } else {
            if (out->n_waiting >= room_w) goto bad;
            e = &out->waiting[out->n_waiting++];
        }
        e->index = (uint32_t)ix;
        memcpy(e->hash, hash, 32);
    }
    if (!hc_rd_done(&rd) || out->n + out->n_waiting > HC_ROSTER_MAX_ENTRIES) goto bad;
    out->v = v;
    out->locked = flags & 1;
    out->admit = flags >> 1;
    out->leader = leader;
    if (base && base->pages_ok)
        out->pages_ok = pages_build(out, 0, base, touched, nt) == 0 && pages_build(out, 1, base, touched, nt) == 0;
    free(touched);
    return 0;
bad:
    free(touched);
    hc_roster_clear(out);
    return -1;
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
