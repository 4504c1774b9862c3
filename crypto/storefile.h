/* The files hushcall keeps in its home directory (identity, verified, config): opening one for
 * reading only when it is a regular file, and replacing one atomically. One place for the checks,
 * so that the identity store, the verified-leader store and the config file cannot drift apart.
 *
 * Lives in crypto/ because crypto/ is the lowest layer and the identity store (crypto/identity.c)
 * is one of its users; it depends on nothing else of hushcall. */
#ifndef HC_STOREFILE_H
#define HC_STOREFILE_H

#include <stddef.h>
#include <sys/stat.h>

/* hc_store_open flags. */
#define HC_STORE_NOFOLLOW 1u   /* a symbolic link is refused (it could point anywhere) */
#define HC_STORE_OWNED 2u      /* a file not owned by the effective user is refused */

typedef enum {
    HC_STORE_OK = 0,           /* *fd is open for reading, *st describes it */
    HC_STORE_ABSENT = 1,       /* no such file (not an error for any of our stores) */
    HC_STORE_ERR_IO = -1,      /* cannot stat or open it (permissions, a path component missing) */
    HC_STORE_ERR_LINK = -2,    /* a symbolic link, with HC_STORE_NOFOLLOW */
    HC_STORE_ERR_TYPE = -3,    /* not a regular file: FIFO, directory, device, socket */
    HC_STORE_ERR_OWNER = -4,   /* owned by another user, with HC_STORE_OWNED */
    HC_STORE_ERR_MODE = -5,    /* hc_store_check_home: group or others may write the directory */
} hc_store_status;

/* Opens path read-only. `what` names the file in messages ("identity file"): on an error, err
 * gets one sentence naming `what`, the path and what is wrong ("config file /h/config is a FIFO
 * (named pipe), not a regular file; refusing to read it"). Never blocks: the type is checked
 * before opening (a FIFO would block open(2) until a writer came, a device could react to being
 * opened) and again on the open descriptor (the path may have been swapped in between). */
hc_store_status hc_store_open(const char *path, const char *what, unsigned flags, int *fd, struct stat *st,
                              char *err, size_t errlen);

/* The home directory itself (identity, verified leaders, config): whoever may write it can swap
 * any of those files for their own (a verified list naming their key as your trusted leader), so
 * it must be a directory (followed through a symbolic link: ~/.config may be one) owned by the
 * effective user, and neither group nor others may write it. Returns HC_STORE_OK, or ERR_IO
 * (cannot stat it), ERR_TYPE (not a directory), ERR_OWNER, ERR_MODE, with one sentence in err
 * that names the directory and the command that fixes it. */
hc_store_status hc_store_check_home(const char *dir, char *err, size_t errlen);

/* What a file of this mode is, for messages: "a directory", "a FIFO (named pipe)", ... */
const char *hc_store_kind(mode_t mode);

/* Writes data as the whole new content of path: a temporary file in the same directory (created
 * 0600 with O_EXCL under a random name), fsync, rename over path, fsync of the directory. On any
 * failure the temporary file is removed and path keeps its old content (except when only the
 * final directory fsync fails: then path may already be the new file, whole, but not durable).
 * noreplace: fail with EEXIST instead of replacing an existing path. Returns 0, or -1 with errno. */
int hc_store_replace(const char *path, const void *data, size_t len, int noreplace);

/* Tests only: when set, called before each step of hc_store_replace ("open", "write", "fsync",
 * "rename", "dirsync"); a non-zero return makes that step fail with that errno. Faults that are
 * hard to cause for real (fsync or rename failing) are how a failed save is tested. */
extern int (*hc_store_fault)(const char *step);

/* Formats a message into err (if err and errlen): the error texts of the home-directory files. */
void hc_store_seterr(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
