/* Opening and replacing the files of the home directory (see crypto/storefile.h). */
#include "crypto/storefile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int (*hc_store_fault)(const char *step);

void hc_store_seterr(char *err, size_t errlen, const char *fmt, ...) {
    if (!err || !errlen) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

const char *hc_store_kind(mode_t mode) {
    if (S_ISREG(mode)) return "a regular file";
    if (S_ISDIR(mode)) return "a directory";
    if (S_ISFIFO(mode)) return "a FIFO (named pipe)";
    if (S_ISSOCK(mode)) return "a socket";
    if (S_ISCHR(mode)) return "a character device";
    if (S_ISBLK(mode)) return "a block device";
    if (S_ISLNK(mode)) return "a symbolic link";
    return "not a regular file";
}

static hc_store_status check(const struct stat *st, const char *path, const char *what, unsigned flags, char *err,
                             size_t errlen) {
    if (S_ISLNK(st->st_mode)) {
        hc_store_seterr(err, errlen, "%s %s is a symbolic link; refusing to use it", what, path);
        return HC_STORE_ERR_LINK;
    }
    if (!S_ISREG(st->st_mode)) {
        hc_store_seterr(err, errlen, "%s %s is %s, not a regular file; refusing to use it", what, path,
               hc_store_kind(st->st_mode));
        return HC_STORE_ERR_TYPE;
    }
    if ((flags & HC_STORE_OWNED) && st->st_uid != geteuid()) {
        hc_store_seterr(err, errlen, "%s %s belongs to another user (uid %u); refusing to use it", what, path,
               (unsigned)st->st_uid);
        return HC_STORE_ERR_OWNER;
    }
    return HC_STORE_OK;
}

hc_store_status hc_store_check_home(const char *dir, char *err, size_t errlen) {
    struct stat st;
    if (stat(dir, &st) < 0) {
        hc_store_seterr(err, errlen, "cannot access the hushcall home directory %s: %s", dir, strerror(errno));
        return HC_STORE_ERR_IO;
    }
    if (!S_ISDIR(st.st_mode)) {
        hc_store_seterr(err, errlen, "%s is %s, not a directory; choose another hushcall home with --home or HUSHCALL_HOME",
                        dir, hc_store_kind(st.st_mode));
        return HC_STORE_ERR_TYPE;
    }
    /* Not ours: its owner can replace the identity or the verified list under us (rename over a
     * file of ours needs only write access to the directory), so nothing in it can be trusted. */
    if (st.st_uid != geteuid()) {
        hc_store_seterr(err, errlen,
                        "the hushcall home directory %s belongs to another user (uid %u), who could replace your "
                        "identity or your verified leaders; refusing to use it (use a home of your own, or as its "
                        "owner: chown %u %s)",
                        dir, (unsigned)st.st_uid, (unsigned)geteuid(), dir);
        return HC_STORE_ERR_OWNER;
    }
    if (st.st_mode & (S_IWGRP | S_IWOTH)) {
        hc_store_seterr(err, errlen,
                        "the hushcall home directory %s is writable by group or others (mode %04o), so someone else "
                        "could replace your identity or your verified leaders; fix it with: chmod 700 %s",
                        dir, (unsigned)(st.st_mode & 07777), dir);
        return HC_STORE_ERR_MODE;
    }
    return HC_STORE_OK;
}

hc_store_status hc_store_open(const char *path, const char *what, unsigned flags, int *fd, struct stat *st,
                              char *err, size_t errlen) {
    int nofollow = (flags & HC_STORE_NOFOLLOW) != 0;
    struct stat pre;
    *fd = -1;
    /* Look before opening: open(2) itself blocks on a FIFO without a writer, and with SIGINT and
     * SIGTERM blocked during startup nothing but SIGKILL would end the wait. */
    if ((nofollow ? lstat(path, &pre) : stat(path, &pre)) < 0) {
        if (errno == ENOENT) return HC_STORE_ABSENT;
        hc_store_seterr(err, errlen, "cannot access %s %s: %s", what, path, strerror(errno));
        return HC_STORE_ERR_IO;
    }
    hc_store_status r = check(&pre, path, what, flags, err, errlen);
    if (r != HC_STORE_OK) return r;
    /* O_NONBLOCK: if a FIFO was swapped in after the look, open returns at once instead of
     * waiting, and the fstat below refuses it. Regular files ignore the flag, so reads are normal.
     * O_NOCTTY: a terminal swapped in must not become our controlling terminal. */
    int f = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC | (nofollow ? O_NOFOLLOW : 0));
    if (f < 0) {
        if (errno == ENOENT) return HC_STORE_ABSENT;          /* removed since the look */
        if (nofollow && errno == ELOOP) {
            hc_store_seterr(err, errlen, "%s %s is a symbolic link; refusing to use it", what, path);
            return HC_STORE_ERR_LINK;
        }
        hc_store_seterr(err, errlen, "cannot open %s %s: %s", what, path, strerror(errno));
        return HC_STORE_ERR_IO;
    }
    if (fstat(f, st) < 0) {
        hc_store_seterr(err, errlen, "cannot stat %s %s: %s", what, path, strerror(errno));
        close(f);
        return HC_STORE_ERR_IO;
    }
    r = check(st, path, what, flags, err, errlen);          /* what we opened, not what we looked at */
    if (r != HC_STORE_OK) {
        close(f);
        return r;
    }
    *fd = f;
    return HC_STORE_OK;
}

/* A fault injected by a test for this step, as errno (0: none). */
static int fault(const char *step) {
    int e = hc_store_fault ? hc_store_fault(step) : 0;
    if (e) errno = e;
    return e;
}

static int write_all(int fd, const uint8_t *p, size_t n) {
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) return -1;
        if (w == 0) { errno = EIO; return -1; }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Moves tmp to path. noreplace: only if path does not exist yet (two processes creating an
 * identity at once cannot overwrite each other's); renameat2 RENAME_NOREPLACE does that
 * atomically, file systems without it get link(2), which also fails on an existing target. */
static int install(const char *tmp, const char *path, int noreplace) {
    if (!noreplace) return rename(tmp, path);
    if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) == 0) return 0;
    if (errno != EINVAL && errno != ENOSYS && errno != ENOTSUP) return -1;
    if (link(tmp, path) < 0) return -1;
    unlink(tmp);
    return 0;
}

int hc_store_replace(const char *path, const void *data, size_t len, int noreplace) {
    /* The temporary file must be in the same directory: rename(2) is atomic only within one
     * file system, and the directory is what gets fsync-ed. */
    char dir[PATH_MAX], tmp[PATH_MAX];
    const char *slash = strrchr(path, '/');
    size_t dlen = slash ? (size_t)(slash - path) + 1 : 0;  /* with the slash */
    if (dlen + 1 > sizeof dir) { errno = ENAMETOOLONG; return -1; }
    if (slash) {
        memcpy(dir, path, dlen);
        dir[dlen > 1 ? dlen - 1 : 1] = '\0';               /* "/a/b/" -> "/a/b"; "/" stays */
    } else {
        snprintf(dir, sizeof dir, ".");
    }
    int fd = -1;
    for (int attempt = 0; attempt < 8 && fd < 0; attempt++) {
        int n = snprintf(tmp, sizeof tmp, "%.*s.%s.tmp.%08x", (int)dlen, path, path + dlen,
                         (unsigned)randombytes_random());
        if (n < 0 || (size_t)n >= sizeof tmp) { errno = ENAMETOOLONG; return -1; }
        if (fault("open")) return -1;
        /* 0600 from the first moment, and O_EXCL|O_NOFOLLOW: never someone else's file or link. */
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0 && errno != EEXIST) return -1;
    }
    if (fd < 0) return -1;
    int ok = !fault("write") && write_all(fd, data, len) == 0 && !fault("fsync") && fsync(fd) == 0;
    int saved = errno;
    if (close(fd) < 0 && ok) { ok = 0; saved = errno; }
    if (ok && (fault("rename") || install(tmp, path, noreplace) < 0)) { ok = 0; saved = errno; }
    if (!ok) {
        unlink(tmp);
        errno = saved;
        return -1;
    }
    /* Make the rename itself durable. A file system that cannot sync a directory (EINVAL) has
     * nothing more to offer; anything else is reported: the new file is in place, but a crash
     * now could bring the old one back. */
    if (fault("dirsync")) return -1;
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) return -1;
    int r = fsync(dfd);
    saved = errno;
    close(dfd);
    if (r < 0 && saved != EINVAL && saved != ENOTSUP) {
        errno = saved;
        return -1;
    }
    return 0;
}
