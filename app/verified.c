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

static int push(hc_verified_store *s, const uint8_t ivk[32], const char *name) {
    if (s->n == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 8;
        hc_verified_entry *ne = realloc(s->e, nc * sizeof *ne);
        if (!ne) return -1;
        s->e = ne;
        s->cap = nc;
    }
    memcpy(s->e[s->n].ivk, ivk, 32);
    snprintf(s->e[s->n].name, sizeof s->e[s->n].name, "%s", name);
    s->n++;
    return 0;
}

int hc_verified_load(hc_verified_store *s, const char *home, char *err, size_t errlen) {
    memset(s, 0, sizeof *s);
    snprintf(s->path, sizeof s->path, "%s/verified", home);
    /* Never through a symlink: the list decides whose code shows as verified. */
    int fd = open(s->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    FILE *f = fd >= 0 ? fdopen(fd, "r") : NULL;
    if (!f) {
        if (fd < 0 && errno == ENOENT) return 0;
        snprintf(err, errlen, "cannot read %s: %s", s->path,
                 errno == ELOOP ? "it is a symbolic link, which is refused" : strerror(errno));
        if (fd >= 0) close(fd);
        return -1;
    }
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && (st.st_mode & 077)) {
        fclose(f);
        snprintf(err, errlen, "%s is accessible by other users; fix it with: chmod 600 %s", s->path, s->path);
        return -1;
    }
    char line[512];
    int ln = 0;
    while (fgets(line, sizeof line, f)) {
        ln++;
        size_t l = strlen(line);
        while (l && (line[l - 1] == '\n' || line[l - 1] == '\r')) line[--l] = 0;
        if (!l || line[0] == '#') continue;
        uint8_t ivk[32];
        size_t bin = 0;
        const char *end = NULL;
        if (l < 66 || line[64] != ' ' ||
            sodium_hex2bin(ivk, sizeof ivk, line, 64, NULL, &bin, &end) != 0 || bin != 32 ||
            !hc_valid_name(line + 65, l - 65) || l - 65 > HC_NAME_MAX) {
            fclose(f);
            snprintf(err, errlen, "%s:%d: malformed line (expected 64 hex digits, a space, a name)", s->path, ln);
            hc_verified_free(s);
            return -1;
        }
        if (push(s, ivk, line + 65) < 0) break;
    }
    fclose(f);
    return 0;
}

void hc_verified_free(hc_verified_store *s) {
    free(s->e);
    s->e = NULL;
    s->n = s->cap = 0;
}

int hc_verified_check(void *store, const uint8_t ivk[32], const char *name, int *conflict) {
    hc_verified_store *s = store;
    int found = 0;
    *conflict = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (!sodium_memcmp(s->e[i].ivk, ivk, 32)) found = 1;
        else if (name && !strcmp(s->e[i].name, name)) *conflict = 1;
    }
    if (found) *conflict = 0;  /* the same person may have several devices; a match wins */
    return found;
}

int hc_verified_add(hc_verified_store *s, const uint8_t ivk[32], const char *name, char *err, size_t errlen) {
    int conflict;
    if (hc_verified_check(s, ivk, name, &conflict)) return 0;
    int fd = open(s->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "cannot write %s: %s", s->path, strerror(errno));
        return -1;
    }
    char hex[65], line[HC_NAME_MAX + 80];
    sodium_bin2hex(hex, sizeof hex, ivk, 32);
    int n = snprintf(line, sizeof line, "%s %s\n", hex, name);
    ssize_t w = write(fd, line, (size_t)n);
    close(fd);
    if (w != n) {
        snprintf(err, errlen, "cannot write %s", s->path);
        return -1;
    }
    return push(s, ivk, name);
}
