/* Verified leaders (PROTOCOL.md §7, like SSH's known_hosts): after a person confirms a meeting's
 * security code, the leader's identity key is remembered in $HUSHCALL_HOME/verified, so a later
 * meeting with the same leader shows "verified" at once, and the same display name with a
 * different key is flagged loudly.
 *
 * File: one line per leader, "<64 hex digits of IVK> <display name>", mode 0600. */
#ifndef HC_VERIFIED_H
#define HC_VERIFIED_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/binding.h"

typedef struct {
    uint8_t ivk[32];
    char name[HC_NAME_MAX + 1];
} hc_verified_entry;

typedef struct {
    char path[4096];
    hc_verified_entry *e;
    size_t n, cap;
} hc_verified_store;

/* Loads home/verified (a missing file is an empty store). Returns 0, or -1 with err (unreadable,
 * readable by others, or a malformed line, named by number). */
int hc_verified_load(hc_verified_store *s, const char *home, char *err, size_t errlen);
void hc_verified_free(hc_verified_store *s);
/* Matches hc_meeting_config.is_verified: 1 when ivk is remembered; *conflict when the same name
 * was remembered with another key. */
int hc_verified_check(void *store, const uint8_t ivk[32], const char *name, int *conflict);
/* Remembers ivk (appends to the file). Returns 0 or -1 with err. */
int hc_verified_add(hc_verified_store *s, const uint8_t ivk[32], const char *name, char *err, size_t errlen);

#endif
