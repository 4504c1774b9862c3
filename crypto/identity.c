/* Device identity and its on-disk store (PROTOCOL.md §2).
 *
 * The store is the only file access in crypto/ (crypto/storefile.c opens and replaces its file
 * with the checks every store in the home directory shares). It is careful because the file holds the
 * long-term signing key: the directory is created 0700, the file is born 0600 (O_EXCL, never
 * chmod-ed after the fact) as a temporary name and renamed into place only once complete, so a
 * crash never leaves a half-written identity. An existing file is never overwritten: if it is
 * readable by others, truncated or corrupt we refuse and say how to fix it, because silently
 * making a new identity would change the user's fingerprint and lose the old key.
 *
 * File format (72 bytes, all integers big-endian):
 *   offset  0  magic   "HCID"  (4 bytes)
 *   offset  4  u16     format version = 1
 *   offset  6  u16     key type = 1 (Ed25519)
 *   offset  8  seed    32 bytes (crypto_sign_seed_keypair input; the secret)
 *   offset 40  IVK     32 bytes (public key; must equal the one derived from the seed)
 * The IVK is redundant on purpose: re-deriving it from the seed and comparing is the self-check
 * that catches any flipped bit in either field. */
#include "crypto/identity.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sodium.h>

#include "crypto/bytes.h"
#include "crypto/storefile.h"

#define ID_FILE_NAME "identity"
#define ID_MAGIC "HCID"
#define ID_VERSION 1
#define ID_KEYTYPE_ED25519 1
#define ID_FILE_LEN (4 + 2 + 2 + 32 + HC_IVK_LEN)
/* create_file: another process installed an identity first; load that one instead. */
#define CREATE_LOST_RACE 100

/* Copies a + b into out; -1 if it does not fit. */
static int path_join(char out[HC_PATH_MAX], const char *a, const char *b) {
    int n = snprintf(out, HC_PATH_MAX, "%s%s", a, b);
    return n < 0 || n >= HC_PATH_MAX ? -1 : 0;
}

int hc_home_resolve(char out[HC_PATH_MAX], const char *cli_home) {
    const char *v;
    /* The environment wins over --home so a test harness or wrapper can pin the store of every
     * process it starts, whatever their command lines say. */
    if ((v = getenv("HUSHCALL_HOME")) && *v) return path_join(out, v, "");
    if (cli_home && *cli_home) return path_join(out, cli_home, "");
    /* XDG Base Directory spec: a relative XDG_CONFIG_HOME is invalid and must be ignored. */
    if ((v = getenv("XDG_CONFIG_HOME")) && v[0] == '/') return path_join(out, v, "/hushcall");
    if ((v = getenv("HOME")) && *v) return path_join(out, v, "/.config/hushcall");
    return -1;
}

void hc_identity_from_seed(hc_identity *id, const uint8_t seed[32]) {
    crypto_sign_seed_keypair(id->ivk, id->isk, seed);
}

void hc_identity_generate(hc_identity *id) {
    crypto_sign_keypair(id->ivk, id->isk);
}

void hc_identity_wipe(hc_identity *id) {
    sodium_memzero(id, sizeof *id);
}

void hc_fingerprint(char out[HC_FPR_LEN + 1], const uint8_t ivk[HC_IVK_LEN]) {
    static const char hex[] = "0123456789abcdef";
    uint8_t h[32];
    crypto_hash_sha256(h, ivk, HC_IVK_LEN);
    size_t o = 0;
    for (size_t i = 0; i < 10; i++) {
        if (i && i % 2 == 0) out[o++] = ' ';
        out[o++] = hex[h[i] >> 4];
        out[o++] = hex[h[i] & 15];
    }
    out[o] = '\0';
}

/* mkdir -p with mode 0700 for every component we create (parents too: a directory we make on
 * the user's behalf should not be wider than the one the key lives in). Existing components are
 * left as they are. */
static int mkdir_p(const char *dir, char *err, size_t errlen) {
    char p[HC_PATH_MAX];
    if (path_join(p, dir, "") < 0) { hc_store_seterr(err, errlen, "identity directory path is too long"); return -1; }
    size_t n = strlen(p);
    while (n > 1 && p[n - 1] == '/') p[--n] = '\0';
    for (size_t i = 1; i <= n; i++) {
        if (p[i] != '/' && p[i] != '\0') continue;
        char c = p[i];
        p[i] = '\0';
        if (mkdir(p, 0700) < 0 && errno != EEXIST) {
            hc_store_seterr(err, errlen, "cannot create directory %s: %s", p, strerror(errno));
            return -1;
        }
        p[i] = c;
    }
    return 0;
}

/* The directory must be ours, and ours alone to write: whoever can write it can replace the
 * identity file (hc_store_check_home). */
static hc_id_status check_dir(const char *dir, char *err, size_t errlen) {
    switch (hc_store_check_home(dir, err, errlen)) {
    case HC_STORE_OK: return HC_ID_LOADED;
    case HC_STORE_ERR_OWNER: case HC_STORE_ERR_MODE: return HC_ID_ERR_PERMS;
    default: return HC_ID_ERR_IO;
    }
}

static int create_file(const char *path, hc_identity *id, char *err, size_t errlen) {
    uint8_t seed[32], buf[ID_FILE_LEN];
    randombytes_buf(seed, sizeof seed);
    hc_identity_from_seed(id, seed);
    hc_wr w = hc_wr_init(buf, sizeof buf);
    hc_wr_bytes(&w, ID_MAGIC, 4);
    hc_wr_u16(&w, ID_VERSION);
    hc_wr_u16(&w, ID_KEYTYPE_ED25519);
    hc_wr_bytes(&w, seed, sizeof seed);
    hc_wr_bytes(&w, id->ivk, HC_IVK_LEN);
    sodium_memzero(seed, sizeof seed);
    if (w.err || w.len != ID_FILE_LEN) {
        sodium_memzero(buf, sizeof buf);
        hc_identity_wipe(id);
        hc_store_seterr(err, errlen, "internal error encoding the identity file");
        return HC_ID_ERR_IO;
    }
    /* A temporary file born 0600 (the secret is never in a file anyone else could open), renamed
     * into place only if no identity exists yet, so two processes creating one at once cannot
     * overwrite each other's (the loser then loads the winner's). */
    int rc = hc_store_replace(path, buf, w.len, 1);
    int saved = errno;
    sodium_memzero(buf, sizeof buf);
    if (rc < 0) {
        hc_identity_wipe(id);
        if (saved == EEXIST) return CREATE_LOST_RACE;
        hc_store_seterr(err, errlen, "cannot store identity file %s: %s", path, strerror(saved));
        return HC_ID_ERR_IO;
    }
    return HC_ID_CREATED;
}

/* Reads and checks an existing identity file. Returns LOADED, an error, or 1 if it is absent. */
static int load_file(const char *path, hc_identity *id, char *err, size_t errlen) {
    int fd;
    struct stat st;
    switch (hc_store_open(path, "identity file", HC_STORE_NOFOLLOW | HC_STORE_OWNED, &fd, &st, err, errlen)) {
    case HC_STORE_OK: break;
    case HC_STORE_ABSENT: return 1;
    case HC_STORE_ERR_LINK: {
        char why[HC_PATH_MAX + 64];
        snprintf(why, sizeof why, "%s", err ? err : "");
        hc_store_seterr(err, errlen, "%s. Replace it with the real file (mv), or remove the link to create a new identity", why);
        return HC_ID_ERR_PERMS;
    }
    case HC_STORE_ERR_OWNER: return HC_ID_ERR_PERMS;
    case HC_STORE_ERR_TYPE: return HC_ID_ERR_CORRUPT;
    default: return HC_ID_ERR_IO;
    }
    if (st.st_mode & 077) {
        hc_store_seterr(err, errlen,
               "identity file %s is readable or writable by group or others (mode %04o); it holds your "
               "secret key, so it is not used. Fix it with: chmod 600 %s (if others may have read it, "
               "move it away instead to make a new identity)",
               path, (unsigned)(st.st_mode & 07777), path);
        close(fd);
        return HC_ID_ERR_PERMS;
    }

    uint8_t buf[ID_FILE_LEN + 1];
    size_t got = 0;
    while (got < sizeof buf) {
        ssize_t r = read(fd, buf + got, sizeof buf - got);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            hc_store_seterr(err, errlen, "cannot read identity file %s: %s", path, strerror(errno));
            sodium_memzero(buf, sizeof buf);
            close(fd);
            return HC_ID_ERR_IO;
        }
        if (r == 0) break;
        got += (size_t)r;
    }
    close(fd);

    const char *why = NULL;
    hc_rd r = hc_rd_init(buf, got);
    const uint8_t *magic = hc_rd_take(&r, 4);
    uint16_t version = hc_rd_u16(&r), type = hc_rd_u16(&r);
    const uint8_t *seed = hc_rd_take(&r, 32);
    const uint8_t *ivk = hc_rd_take(&r, HC_IVK_LEN);
    if (got != ID_FILE_LEN || !hc_rd_done(&r))
        why = got < ID_FILE_LEN ? "it is truncated" : "it is longer than an identity file";
    else if (memcmp(magic, ID_MAGIC, 4) != 0)
        why = "it is not a hushcall identity file (bad magic)";
    else if (version != ID_VERSION || type != ID_KEYTYPE_ED25519)
        why = "it has an unknown format version or key type (made by a newer hushcall?)";
    else {
        hc_identity_from_seed(id, seed);
        if (sodium_memcmp(id->ivk, ivk, HC_IVK_LEN) != 0) {
            why = "its public key does not match its secret key (the file is damaged)";
            hc_identity_wipe(id);
        }
    }
    sodium_memzero(buf, sizeof buf);
    if (why) {
        hc_store_seterr(err, errlen,
               "identity file %s is unusable: %s (%lld bytes, %d expected). It was left untouched. Restore it "
               "from a backup, or move it away (mv %s %s.bad) to create a new identity with a new fingerprint",
               path, why, (long long)st.st_size, ID_FILE_LEN, path, path);
        return HC_ID_ERR_CORRUPT;
    }
    return HC_ID_LOADED;
}

hc_id_status hc_identity_load_or_create(const char *dir, hc_identity *id, char *err, size_t errlen) {
    char path[HC_PATH_MAX];
    if (err && errlen) err[0] = '\0';
    memset(id, 0, sizeof *id);
    if (!dir || !*dir) { hc_store_seterr(err, errlen, "no identity directory given"); return HC_ID_ERR_IO; }
    if (path_join(path, dir, "/" ID_FILE_NAME) < 0) { hc_store_seterr(err, errlen, "identity path is too long"); return HC_ID_ERR_IO; }
    if (mkdir_p(dir, err, errlen) < 0) return HC_ID_ERR_IO;
    hc_id_status st = check_dir(dir, err, errlen);
    if (st != HC_ID_LOADED) return st;

    /* Two rounds at most: if another process created the file between our look and our rename,
     * we load the file it made. */
    for (int round = 0; round < 2; round++) {
        int rc = load_file(path, id, err, errlen);
        if (rc != 1) return (hc_id_status)rc;
        rc = create_file(path, id, err, errlen);
        if (rc != CREATE_LOST_RACE) return (hc_id_status)rc;
    }
    hc_store_seterr(err, errlen, "identity file %s keeps appearing and disappearing; try again", path);
    return HC_ID_ERR_IO;
}
