/* The leader's participant list (PROTOCOL.md §5) and the heartbeat hash that certifies it.
 *
 *   Roster   = u32(v) || u8(flags: bit 0 locked, bits 1-2 admission policy) || u32(leader_index)
 *              || u16(n) || n * ( u32(index) || H(Binding_i) )        members, ascending index
 *              || u16(w) || w * ( u32(index) || H(Binding_i) )        waiting for admission
 *   H_i      = H( H(Binding_L) || H(Roster_v) || u32(v) || u64(t) || u32(epoch) || H_{i-1}
 *                 || u64(timestamp_ms) )
 *   sig      = Sign(ISK_L, "hushcall-1-Sig-ParticipantList", H_i)
 *
 * Display names are not repeated in the roster: H(Binding_i) covers the signed binding, which
 * carries the name, and a 1000-member roster must fit the 64 KiB control frame. */
#ifndef HC_ROSTER_H
#define HC_ROSTER_H

#include <stddef.h>
#include <stdint.h>

#define HC_ROSTER_MAX_ENTRIES 1024
/* A roster travels whole in one ROSTER frame (lp: at most 65532 bytes in a 64 KiB frame), so with
 * a full member list the waiting list holds what is left: 13 + 36 x (1024 + 795) bytes fit. A
 * leader admits and lists no more than these (PROTOCOL.md §3.5). */
#define HC_ROSTER_MAX_WAITING 795

typedef struct {
    uint32_t index;
    uint8_t hash[32];         /* H(Binding_i) of the binding the leader admitted */
} hc_roster_entry;

/* The admission policy in the roster's flags (bits 1-2): what a new leader inherits. */
enum { HC_ROSTER_ADMIT_AUTO = 0, HC_ROSTER_ADMIT_ASK = 1, HC_ROSTER_ADMIT_KNOWN = 2 };

typedef struct {
    uint32_t v;
    int locked;
    int admit;                /* HC_ROSTER_ADMIT_* */
    uint32_t leader;
    size_t n, n_waiting;
    hc_roster_entry members[HC_ROSTER_MAX_ENTRIES];
    hc_roster_entry waiting[HC_ROSTER_MAX_ENTRIES];
} hc_roster;

/* Returns the encoded length, or 0 if it does not fit (entries must be in ascending index). */
size_t hc_roster_encode(const hc_roster *r, uint8_t *out, size_t cap);
/* Strict decode: ascending unique indexes, no trailing bytes. Returns 0 or -1. */
int hc_roster_decode(hc_roster *r, const uint8_t *in, size_t len);
const hc_roster_entry *hc_roster_find(const hc_roster *r, uint32_t index);
const hc_roster_entry *hc_roster_find_waiting(const hc_roster *r, uint32_t index);

void hc_heartbeat_hash(uint8_t out[32], const uint8_t h_binding_leader[32], const uint8_t roster_hash[32],
                       uint32_t v, uint64_t t, uint32_t epoch, const uint8_t prev[32], uint64_t ts_ms);

#endif
