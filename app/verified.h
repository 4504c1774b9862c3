/* Verified leaders (PROTOCOL.md §7, like SSH's known_hosts): after a person confirms a meeting's
 * security code, the leader's identity key is remembered in $HUSHCALL_HOME/verified, so a later
 * meeting with the same leader shows "verified" at once, and the same display name with a
 * different key is flagged loudly.
 *
 * File: one line per leader, "<64 hex digits of IVK> <display name>", mode 0600; lines of any
 * length ('#' comments), no NUL bytes. It must be a regular file owned by us, never a symlink.
 * Saving rewrites it whole (temporary file, fsync, rename, fsync of the directory), so a full
 * disk or a crash never leaves a partial line. */
#ifndef HC_VERIFIED_H
#define HC_VERIFIED_H

#include <stddef.h>
#include <stdint.h>

#include "app/names.h"
#include "crypto/binding.h"

typedef struct {
    uint8_t ivk[32];
    char name[HC_NAME_MAX + 1];
    hc_name_key key;              /* what names are compared by (app/names.h) */
} hc_verified_entry;

typedef struct {
    char path[4096];
    hc_verified_entry *e;
    size_t n, cap;
} hc_verified_store;

/* Loads home/verified (a missing file is an empty store). Returns 0, or -1 with err (unreadable,
 * not a regular file, readable by others, or a malformed line, a NUL byte or an incomplete last
 * line, named by number). */
int hc_verified_load(hc_verified_store *s, const char *home, char *err, size_t errlen);
void hc_verified_free(hc_verified_store *s);
/* Matches hc_meeting_config.is_verified: 1 when ivk is remembered; *conflict when a name that
 * could be taken for this one (hc_name_key_match: the same confusable skeleton, with or without
 * case) was remembered with another key. */
int hc_verified_check(void *store, const uint8_t ivk[32], const char *name, int *conflict);
/* Remembers ivk: the file as it is now plus one line, replaced atomically. Returns 0, or -1 with
 * err ("could not save the verified leader ...: No space left on device"); then the file keeps
 * its old content and ivk is not remembered, in memory either. */
int hc_verified_add(hc_verified_store *s, const uint8_t ivk[32], const char *name, char *err, size_t errlen);

#endif
