/* Device identity: the long-term Ed25519 key pair (IVK/ISK), its on-disk store and its
 * fingerprint for people. The store is the only file crypto/ touches (through crypto/storefile.h).
 *
 * Store location (first that applies): $HUSHCALL_HOME, the --home option, $XDG_CONFIG_HOME/hushcall,
 * ~/.config/hushcall. The directory is created 0700, the file `identity` 0600. A file that group
 * or others can read or write, a directory they can write, or a file that is truncated or corrupt
 * is refused (never overwritten). The file format is described in identity.c. */
#ifndef HC_IDENTITY_H
#define HC_IDENTITY_H

#include <stddef.h>
#include <stdint.h>
#include "crypto/sig.h"

typedef struct {
    uint8_t ivk[HC_IVK_LEN]; /* public verification key */
    uint8_t isk[HC_ISK_LEN]; /* secret signing key (libsodium form: seed || ivk); wipe on release */
} hc_identity;

#define HC_FPR_LEN 24        /* "abcd ef01 2345 6789 abcd": 20 hex digits in groups of 4 */
#define HC_PATH_MAX 4096

typedef enum {
    HC_ID_LOADED = 0,        /* an existing identity was read */
    HC_ID_CREATED = 1,       /* none existed: a new one was made and stored */
    HC_ID_ERR_PERMS = -1,    /* file readable/writable by group/others (or not ours), directory writable by them */
    HC_ID_ERR_CORRUPT = -2,  /* wrong size, bad magic, or the key pair does not match */
    HC_ID_ERR_IO = -3,       /* cannot create, read or write */
} hc_id_status;

/* Resolves the home directory. `cli_home` is the --home value or NULL. Returns 0, -1 if no
 * candidate exists (no HOME either). */
int hc_home_resolve(char out[HC_PATH_MAX], const char *cli_home);

/* Loads `dir`/identity, or creates it (and `dir`) when absent. On error, writes a sentence a
 * person understands into err. */
hc_id_status hc_identity_load_or_create(const char *dir, hc_identity *id, char *err, size_t errlen);

/* Makes a fresh identity in memory (tests, bots that must not touch disk). */
void hc_identity_generate(hc_identity *id);
/* Deterministic identity from a 32-byte seed (test vectors). */
void hc_identity_from_seed(hc_identity *id, const uint8_t seed[32]);
void hc_identity_wipe(hc_identity *id);

/* First 10 bytes of H(IVK) as 20 lowercase hex digits in groups of 4, NUL-terminated. */
void hc_fingerprint(char out[HC_FPR_LEN + 1], const uint8_t ivk[HC_IVK_LEN]);

#endif
