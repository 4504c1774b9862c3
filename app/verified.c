/* The verified-leader store (see app/verified.h). */
#include "app/verified.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/storefile.h"

static int push(hc_verified_store *s, const uint8_t ivk[32], const char *name) {
    if (s->n == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 8;
        hc_verified_entry *ne = realloc(s->e, nc * sizeof *ne);
        if (!ne) return -1;
        s->e = ne;
        s->cap = nc;
    }
    hc_verified_entry *e = &s->e[s->n];
    memcpy(e->ivk, ivk, 32);
    snprintf(e->name, sizeof e->name, "%s", name);
    if (hc_name_key_make(&e->key, e->name) < 0) return -1;
    s->n++;
    return 0;
}

/* What the file is called in messages. */
#define WHAT "verified-leaders file"

/* Never through a symlink (the list decides whose code shows as verified), never a FIFO or
 * device (startup would hang or read garbage), only a file of ours. */
#define OPEN_FLAGS (HC_STORE_NOFOLLOW | HC_STORE_OWNED)

int hc_verified_load(hc_verified_store *s, const char *home, char *err, size_t errlen) {
    memset(s, 0, sizeof *s);
    snprintf(s->path, sizeof s->path, "%s/verified", home);
    /* The file's owner and type are checked below; the directory's here, or its owner could swap
     * in a file of ours with their key in it. A home that does not exist yet is an empty store
     * (the identity store creates it 0700). */
    struct stat dst;
    if (stat(home, &dst) < 0 && errno == ENOENT) return 0;
    if (hc_store_check_home(home, err, errlen) != HC_STORE_OK) return -1;
    int fd;
    struct stat st;
    hc_store_status r = hc_store_open(s->path, WHAT, OPEN_FLAGS, &fd, &st, err, errlen);
    if (r == HC_STORE_ABSENT) return 0;
    if (r != HC_STORE_OK) return -1;
    if (st.st_mode & 077) {
        close(fd);
        snprintf(err, errlen, "%s is accessible by other users; fix it with: chmod 600 %s", s->path, s->path);
        return -1;
    }
    FILE *f = fdopen(fd, "r");
    if (!f) {
        snprintf(err, errlen, "cannot read %s: %s", s->path, strerror(errno));
        close(fd);
        return -1;
    }
    /* getline: a line of any length is one line (a long comment is fine, and a line number in a
     * message is the one an editor shows). */
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    int ln = 0, rc = 0;
    while ((got = getline(&line, &cap, f)) >= 0) {
        ln++;
        size_t l = (size_t)got;
        int newline = l && line[l - 1] == '\n';
        if (newline) line[--l] = 0;
        if (l && line[l - 1] == '\r') line[--l] = 0;       /* edited on Windows */
        /* A NUL would silently cut the line short for every string function below. */
        if (memchr(line, 0, l)) {
            snprintf(err, errlen, "%s:%d: NUL byte in the line", s->path, ln);
            rc = -1;
            break;
        }
        if (!l || line[0] == '#') continue;
        uint8_t ivk[32];
        size_t bin = 0;
        const char *end = NULL;
        if (l < 66 || line[64] != ' ' ||
            sodium_hex2bin(ivk, sizeof ivk, line, 64, NULL, &bin, &end) != 0 || bin != 32 ||
            !hc_valid_name(line + 65, l - 65) || l - 65 > HC_NAME_MAX) {
            /* Without its newline the last line was most likely cut short (an older hushcall
             * appended in place and the disk filled, or it crashed): say so, and keep the file
             * as it is for the user to complete or delete the line. A complete last line without
             * a newline (edited by hand) parses and is kept. */
            if (!newline)
                snprintf(err, errlen,
                         "%s:%d: the last line is incomplete (no newline at its end; cut short when a save was "
                         "interrupted?): complete it or delete it", s->path, ln);
            else
                snprintf(err, errlen, "%s:%d: malformed line (expected 64 hex digits, a space, a name)", s->path, ln);
            rc = -1;
            break;
        }
        if (push(s, ivk, line + 65) < 0) {
            snprintf(err, errlen, "%s: out of memory", s->path);
            rc = -1;
            break;
        }
    }
    /* getline's -1 is also a read error: a store read halfway must not pass for a shorter one. */
    if (!rc && ferror(f)) {
        snprintf(err, errlen, "cannot read %s: %s", s->path, strerror(errno));
        rc = -1;
    }
    free(line);
    fclose(f);
    if (rc) hc_verified_free(s);
    return rc;
}

void hc_verified_free(hc_verified_store *s) {
    for (size_t i = 0; i < s->n; i++) hc_name_key_free(&s->e[i].key);
    free(s->e);
    s->e = NULL;
    s->n = s->cap = 0;
}

int hc_verified_check(void *store, const uint8_t ivk[32], const char *name, int *conflict) {
    hc_verified_store *s = store;
    int found = 0;
    *conflict = 0;
    /* A name that cannot be keyed (out of memory) is compared byte for byte at least. */
    hc_name_key k;
    int keyed = name && hc_name_key_make(&k, name) == 0;
    for (size_t i = 0; i < s->n; i++) {
        if (!sodium_memcmp(s->e[i].ivk, ivk, 32)) found = 1;
        else if (name && ((keyed && hc_name_key_match(&s->e[i].key, &k)) || !strcmp(s->e[i].name, name)))
            *conflict = 1;
    }
    if (keyed) hc_name_key_free(&k);
    if (found) *conflict = 0;  /* the same person may have several devices; a match wins */
    return found;
}

/* The whole file as it is now, in *buf (malloc-ed, *len bytes; NULL and 0 when absent). */
static int read_current(const hc_verified_store *s, char **buf, size_t *len, char *err, size_t errlen) {
    *buf = NULL;
    *len = 0;
    int fd;
    struct stat st;
    hc_store_status r = hc_store_open(s->path, WHAT, OPEN_FLAGS, &fd, &st, err, errlen);
    if (r == HC_STORE_ABSENT) return 0;
    if (r != HC_STORE_OK) return -1;
    size_t cap = 0, n = 0;
    char *b = NULL;
    for (;;) {
        if (n == cap) {
            size_t nc = cap ? cap * 2 : (size_t)st.st_size + 256;
            char *nb = realloc(b, nc);
            if (!nb) { free(b); close(fd); snprintf(err, errlen, "out of memory"); return -1; }
            b = nb;
            cap = nc;
        }
        ssize_t got = read(fd, b + n, cap - n);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) {
            snprintf(err, errlen, "cannot read %s: %s", s->path, strerror(errno));
            free(b);
            close(fd);
            return -1;
        }
        if (got == 0) break;
        n += (size_t)got;
    }
    close(fd);
    *buf = b;
    *len = n;
    return 0;
}

int hc_verified_add(hc_verified_store *s, const uint8_t ivk[32], const char *name, char *err, size_t errlen) {
    int conflict;
    if (hc_verified_check(s, ivk, name, &conflict)) return 0;
    /* The new store is the file as it is now (comments, and entries another hushcall process
     * added since we loaded) plus one line, written whole to a temporary file and renamed over
     * the old one: a full disk or a crash leaves either the old store or the new one, never a
     * partial line that would stop the next start. */
    char why[4600];
    char *old;
    size_t oldlen;
    if (read_current(s, &old, &oldlen, why, sizeof why) < 0) {
        snprintf(err, errlen, "could not save the verified leader: %s", why);
        return -1;
    }
    char hex[65];
    sodium_bin2hex(hex, sizeof hex, ivk, 32);
    size_t namelen = strlen(name), cap = oldlen + 1 + 64 + 1 + namelen + 1;
    char *buf = malloc(cap);
    if (!buf) {
        free(old);
        snprintf(err, errlen, "could not save the verified leader: out of memory");
        return -1;
    }
    size_t n = 0;
    if (oldlen) memcpy(buf, old, oldlen);
    n = oldlen;
    free(old);
    if (n && buf[n - 1] != '\n') buf[n++] = '\n';     /* a last line typed without its newline */
    memcpy(buf + n, hex, 64);
    n += 64;
    buf[n++] = ' ';
    memcpy(buf + n, name, namelen);
    n += namelen;
    buf[n++] = '\n';
    int rc = hc_store_replace(s->path, buf, n, 0);
    int saved = errno;
    free(buf);
    if (rc < 0) {
        snprintf(err, errlen, "could not save the verified leader to %s: %s", s->path, strerror(saved));
        return -1;
    }
    if (push(s, ivk, name) < 0) {
        snprintf(err, errlen, "out of memory after saving the verified leader");
        return -1;
    }
    return 0;
}
