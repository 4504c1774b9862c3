/* The leader's participant list (PROTOCOL.md §5), its deltas, and the heartbeat hash that
 * certifies it.
 *
 *   Roster   = u32(v) || u8(flags: bit 0 locked, bits 1-2 admission policy) || u32(leader_index)
 *              || u16(n) || n * ( u32(index) || H(Binding_i) )        members, ascending index
 *              || u16(w) || w * ( u32(index) || H(Binding_i) )        waiting for admission
 *   Delta    = u32(v_base) || u32(v) || u8(flags) || u32(leader_index)
 *              || u16(c) || c * ( u32(index) || u8(op) || [H(Binding_i) unless op = 0] )
 *              op 0: leaves the roster; 1: listed as a member; 2: listed as waiting (ascending index)
 *   H(Roster) = H( u32(v) || u8(flags) || u32(leader_index) || u16(n) || u16(w)
 *                  || u16(pn) || pn * ( u32(page) || H(entries of that page) )     members
 *                  || u16(pw) || pw * ( u32(page) || H(entries of that page) ) )   waiting
 *              a page is the entries whose index >> HC_ROSTER_PAGE_SHIFT is `page`, ascending,
 *              each encoded as in the roster; only pages that hold an entry are listed
 *   H_i      = H( H(Binding_L) || H(Roster_v) || u32(v) || u64(t) || u32(epoch) || H_{i-1}
 *                 || u64(timestamp_ms) )
 *   sig      = Sign(ISK_L, "hushcall-1-Sig-ParticipantList", H_i)
 *
 * A heartbeat certifies the hash of the whole roster, whichever way a member came to hold it:
 * the leader's full copy, or its own copy with the leader's delta applied. The hash goes through
 * pages of 64 indexes so that a member re-hashes only the pages a change touches (a join: one
 * page, 2 KB) and the page digests (33 bytes each), not the whole list (180 KB at 5000). The relay forwards
 * deltas to members (O(changes) per member per change) and keeps the full roster for its board
 * and for members whose copy does not hash to what a heartbeat certified.
 *
 * Display names are not repeated in the roster: H(Binding_i) covers the signed binding, which
 * carries the name. A roster of 5000 entries (180 KB) travels split over several ROSTER frames
 * (HC_ROSTER_CHUNK bytes each); a delta travels in one. */
#ifndef HC_ROSTER_H
#define HC_ROSTER_H

#include <stddef.h>
#include <stdint.h>

/* Members per meeting at most (the relay's --max-members): a roster lists at most this many
 * entries, members and waiting together (PROTOCOL.md §3.5, §5.1). */
#define HC_ROSTER_MAX_ENTRIES 5000
#define HC_ROSTER_ENTRY_LEN 36
#define HC_ROSTER_HDR_LEN 13                  /* v, flags, leader, the two counts */
#define HC_ROSTER_ENC_MAX (HC_ROSTER_HDR_LEN + HC_ROSTER_ENTRY_LEN * HC_ROSTER_MAX_ENTRIES)
/* A full roster goes in pieces of at most this many bytes, each in one ROSTER frame (64 KiB). */
#define HC_ROSTER_CHUNK 61440
/* A delta must fit one ROSTER_DELTA frame (its lp field); a larger change goes as the full
 * roster only, and members fetch it. */
#define HC_ROSTER_DELTA_MAX 65000
#define HC_ROSTER_DELTA_HDR_LEN 15     /* v_base, v, flags, leader, the count */

typedef struct {
    uint32_t index;
    uint8_t hash[32];         /* H(Binding_i) of the binding the leader admitted */
} hc_roster_entry;

#define HC_ROSTER_PAGE_SHIFT 6   /* 64 indexes per page of the roster hash */
typedef struct {
    uint32_t page;
    uint8_t digest[32];       /* H(the entries of this page) */
} hc_roster_page;

/* The admission policy in the roster's flags (bits 1-2): what a new leader inherits. */
enum { HC_ROSTER_ADMIT_AUTO = 0, HC_ROSTER_ADMIT_ASK = 1, HC_ROSTER_ADMIT_KNOWN = 2 };

/* Delta operations. */
enum { HC_RDELTA_REMOVE = 0, HC_RDELTA_MEMBER = 1, HC_RDELTA_WAITING = 2 };

/* Entries live in two growable arrays (a 5000-entry roster is 180 KB, and every participant
 * holds two): initialise with hc_roster_init, release with hc_roster_free. */
typedef struct {
    uint32_t v;
    int locked;
    int admit;                /* HC_ROSTER_ADMIT_* */
    uint32_t leader;
    size_t n, n_waiting;
    hc_roster_entry *members; /* ascending index */
    hc_roster_entry *waiting; /* ascending index */
    size_t cap_members, cap_waiting;
    /* The page digests of each list, ascending (a cache for hc_roster_hash: valid while
     * pages_ok; a delta applied to a roster whose pages are valid recomputes only the pages it
     * touches). */
    hc_roster_page *pages[2];
    size_t n_pages[2], cap_pages[2];
    int pages_ok;
} hc_roster;

void hc_roster_init(hc_roster *r);
void hc_roster_free(hc_roster *r);
/* Empties the lists (capacity kept). */
void hc_roster_clear(hc_roster *r);
/* Room for n members and w waiting; 0 or -1 (out of memory, or more than the limit). */
int hc_roster_reserve(hc_roster *r, size_t n, size_t w);
int hc_roster_copy(hc_roster *dst, const hc_roster *src);
/* Appends an entry (indexes must come ascending); 0 or -1 (full, out of order, out of memory). */
int hc_roster_add(hc_roster *r, int waiting, uint32_t index, const uint8_t hash[32]);

/* Size of the encoding. */
size_t hc_roster_encoded_len(const hc_roster *r);
/* Returns the encoded length, or 0 if it does not fit (entries must be in ascending index). */
size_t hc_roster_encode(const hc_roster *r, uint8_t *out, size_t cap);
/* Strict decode: ascending unique indexes, at most HC_ROSTER_MAX_ENTRIES in all, no trailing
 * bytes. Returns 0, or -1 (malformed, or out of memory). */
int hc_roster_decode(hc_roster *r, const uint8_t *in, size_t len);
/* H(Roster) (above): the page digests are kept in r and only missing ones computed. Whoever
 * changes a roster's entries other than through these functions clears pages_ok. */
void hc_roster_hash(hc_roster *r, uint8_t out[32]);
const hc_roster_entry *hc_roster_find(const hc_roster *r, uint32_t index);
const hc_roster_entry *hc_roster_find_waiting(const hc_roster *r, uint32_t index);

/* Calls `cb` for every index whose place differs between two rosters (`from` may be NULL: the
 * empty roster), in ascending order: where it was and is (0 absent, 1 member, 2 waiting) and its
 * entries (NULL when absent). An entry whose hash changed counts as a change. O(entries). */
typedef void (*hc_roster_change_cb)(void *ctx, uint32_t index, int was, const hc_roster_entry *old, int is,
                                    const hc_roster_entry *now);
void hc_roster_changes(const hc_roster *from, const hc_roster *to, hc_roster_change_cb cb, void *ctx);

/* The delta that turns `from` into `to` (to->v must be above from->v; from may be NULL for the
 * empty roster of version 0). Returns its length, or 0 when it does not fit in cap. */
size_t hc_roster_delta_encode(const hc_roster *from, const hc_roster *to, uint8_t *out, size_t cap);
/* Reads a delta's versions (v_base, v) without applying it. 0, or -1 when it is too short. */
int hc_roster_delta_versions(const uint8_t *in, size_t len, uint32_t *v_base, uint32_t *v);
/* Applies a delta to base (whose version must be the delta's base) into out (not base).
 * Strict: the delta decodes exactly, its indexes ascend, v > v_base, a removal names an entry
 * of base, the result keeps the limits. Returns 0; -1 malformed or not applicable; -2 base is
 * not the version the delta starts from. If base's page digests are valid, out's are too, with
 * only the pages the delta touches recomputed. */
int hc_roster_delta_apply(const hc_roster *base, const uint8_t *in, size_t len, hc_roster *out);

void hc_heartbeat_hash(uint8_t out[32], const uint8_t h_binding_leader[32], const uint8_t roster_hash[32],
                       uint32_t v, uint64_t t, uint32_t epoch, const uint8_t prev[32], uint64_t ts_ms);

#endif
