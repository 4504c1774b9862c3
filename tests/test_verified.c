/* The verified-leader store ($HUSHCALL_HOME/verified, app/verified.c): lines of any length, line
 * numbers in errors, NUL bytes, a last line cut short, files that are not regular files, and
 * saves that fail (the old store must stay whole and the leader must not count as verified). */
#include "tests/testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <dirent.h>
#include <unistd.h>

#include "app/verified.h"
#include "crypto/storefile.h"
#include "tests/lookalikes.h"

#define HEX_A "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#define HEX_B "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100"

typedef struct {
    char home[256];
    char path[300];
} fx;

static int setup(void **state) {
    fx *f = calloc(1, sizeof *f);
    snprintf(f->home, sizeof f->home, "/tmp/hc-test-verified-XXXXXX");
    if (!f || !mkdtemp(f->home)) return -1;
    snprintf(f->path, sizeof f->path, "%s/verified", f->home);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fx *f = *state;
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->home);
    if (system(cmd) != 0) return -1;
    free(f);
    return 0;
}

static void write_file(const char *path, const char *data, size_t len) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    assert_int_equal(close(fd), 0);
}

/* The file's bytes (NUL-terminated; *len without the terminator). */
static char *read_whole(const char *path, size_t *len) {
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    char *buf = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (n + 4096 + 1 > cap) {
            cap = (n + 4096 + 1) * 2;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
        size_t r = fread(buf + n, 1, 4096, fp);
        n += r;
        if (r < 4096) break;
    }
    fclose(fp);
    buf[n] = 0;
    if (len) *len = n;
    return buf;
}

/* Entries in home besides `verified`: a temporary file left behind would show here. */
static int others_in(const char *home) {
    DIR *d = opendir(home);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && strcmp(e->d_name, "verified")) n++;
    closedir(d);
    return n;
}

static void ivk_of(uint8_t ivk[32], const char *hex) { assert_int_equal(hc_test_unhex(ivk, 32, hex), 32); }

/* A hang (the defect some of these tests catch: open(2) waiting on a FIFO forever) becomes a
 * failed assertion instead of the runner's timeout: without SA_RESTART the alarm interrupts the
 * blocked open with EINTR. Nothing is measured; on correct code no call ever waits. */
static void on_alarm(int sig) { (void)sig; }
static void hang_guard(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sigaction(SIGALRM, &sa, NULL);
    alarm((unsigned)(5 * hc_test_slow()));
}
static void hang_guard_off(void) { alarm(0); }

/* ---- reading ---- */

static void test_long_comment_lines_load(void **state) {
    fx *f = *state;
    /* a 603-byte comment line and a 10 000-byte one between two entries */
    size_t cap = 20000, n = 0;
    char *text = malloc(cap);
    assert_non_null(text);
    n += (size_t)snprintf(text + n, cap - n, "%s Alice\n", HEX_A);
    text[n++] = '#';
    memset(text + n, 'x', 602); n += 602; text[n++] = '\n';
    text[n++] = '#';
    memset(text + n, 'y', 9999); n += 9999; text[n++] = '\n';
    n += (size_t)snprintf(text + n, cap - n, "%s Bob\n", HEX_B);
    write_file(f->path, text, n);
    free(text);

    hc_verified_store s;
    char err[512] = "";
    if (hc_verified_load(&s, f->home, err, sizeof err) < 0) fail_msg("%s", err);
    assert_int_equal(s.n, 2);
    uint8_t a[32], b[32];
    ivk_of(a, HEX_A);
    ivk_of(b, HEX_B);
    assert_memory_equal(s.e[0].ivk, a, 32);
    assert_string_equal(s.e[0].name, "Alice");
    assert_memory_equal(s.e[1].ivk, b, 32);
    assert_string_equal(s.e[1].name, "Bob");
    hc_verified_free(&s);
}

static void test_errors_name_the_right_line(void **state) {
    fx *f = *state;
    /* line 1 an entry, line 2 a 10 000-byte comment, line 3 empty, line 4 malformed */
    size_t cap = 20000, n = 0;
    char *text = malloc(cap);
    assert_non_null(text);
    n += (size_t)snprintf(text + n, cap - n, "%s Alice\n#", HEX_A);
    memset(text + n, 'z', 9999); n += 9999;
    n += (size_t)snprintf(text + n, cap - n, "\n\nnot an entry\n%s Bob\n", HEX_B);
    write_file(f->path, text, n);
    free(text);

    hc_verified_store s;
    char err[512] = "", want[400];
    assert_int_equal(hc_verified_load(&s, f->home, err, sizeof err), -1);
    snprintf(want, sizeof want, "%s:4: malformed line", f->path);
    if (!strstr(err, want)) fail_msg("expected '%s' in: %s", want, err);
    assert_int_equal(s.n, 0);
}

static void test_nul_in_a_line_is_an_error(void **state) {
    fx *f = *state;
    /* "Al\0ice": the name must not silently become "Al" */
    char text[200];
    int n = snprintf(text, sizeof text, "%s Bob\n%s Al", HEX_B, HEX_A);
    memcpy(text + n, "\0ice\n", 5);
    write_file(f->path, text, (size_t)n + 5);
    hc_verified_store s;
    char err[512] = "", want[400];
    assert_int_equal(hc_verified_load(&s, f->home, err, sizeof err), -1);
    snprintf(want, sizeof want, "%s:2: ", f->path);
    if (!strstr(err, want) || !strstr(err, "NUL")) fail_msg("expected '%s' and 'NUL' in: %s", want, err);
    /* a NUL in a comment is just as wrong: the line is not what an editor shows */
    write_file(f->path, "# a\0b\n", 6);
    assert_int_equal(hc_verified_load(&s, f->home, err, sizeof err), -1);
    snprintf(want, sizeof want, "%s:1: ", f->path);
    if (!strstr(err, want) || !strstr(err, "NUL")) fail_msg("expected '%s' and 'NUL' in: %s", want, err);
}

static void test_last_line_without_newline(void **state) {
    fx *f = *state;
    hc_verified_store s;
    char err[512] = "", text[300], want[400];
    /* complete but without its newline (edited by hand): kept */
    int n = snprintf(text, sizeof text, "%s Alice\n%s Bob", HEX_A, HEX_B);
    write_file(f->path, text, (size_t)n);
    if (hc_verified_load(&s, f->home, err, sizeof err) < 0) fail_msg("%s", err);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.e[1].name, "Bob");
    hc_verified_free(&s);
    /* cut short (an older hushcall appended in place and the disk filled): refused, and the
     * message says why the line is incomplete rather than just "malformed" */
    n = snprintf(text, sizeof text, "%s Alice\n%.20s", HEX_A, HEX_B);
    write_file(f->path, text, (size_t)n);
    assert_int_equal(hc_verified_load(&s, f->home, err, sizeof err), -1);
    snprintf(want, sizeof want, "%s:2: ", f->path);
    if (!strstr(err, want) || !strstr(err, "newline")) fail_msg("expected '%s' and 'newline' in: %s", want, err);
    assert_int_equal(s.n, 0);
}

/* ---- files that are not regular files ---- */

static void test_directory_is_an_error(void **state) {
    fx *f = *state;
    assert_int_equal(mkdir(f->path, 0700), 0);
    hc_verified_store s;
    char err[512] = "";
    assert_int_equal(hc_verified_load(&s, f->home, err, sizeof err), -1);
    if (!strstr(err, f->path) || !strstr(err, "a directory")) fail_msg("expected the path and 'a directory' in: %s", err);
    assert_int_equal(s.n, 0);
}

static void test_fifo_and_socket_are_refused(void **state) {
    fx *f = *state;
    hc_verified_store s;
    char err[512] = "";
    assert_int_equal(mkfifo(f->path, 0600), 0);
    hang_guard();
    int rc = hc_verified_load(&s, f->home, err, sizeof err);
    hang_guard_off();
    assert_int_equal(rc, -1);
    if (!strstr(err, f->path) || !strstr(err, "FIFO")) fail_msg("expected the path and 'FIFO' in: %s", err);
    assert_int_equal(unlink(f->path), 0);

    int sk = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_true(sk >= 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    assert_true(strlen(f->path) < sizeof sa.sun_path);
    memcpy(sa.sun_path, f->path, strlen(f->path) + 1);
    assert_int_equal(bind(sk, (struct sockaddr *)&sa, sizeof sa), 0);
    rc = hc_verified_load(&s, f->home, err, sizeof err);
    close(sk);
    assert_int_equal(rc, -1);
    if (!strstr(err, f->path) || !strstr(err, "socket")) fail_msg("expected the path and 'socket' in: %s", err);
    assert_int_equal(unlink(f->path), 0);

    /* a FIFO put in place after a good load: saving must not hang on it either */
    write_file(f->path, HEX_B " Bob\n", 64 + 5);
    if (hc_verified_load(&s, f->home, err, sizeof err) < 0) fail_msg("%s", err);
    assert_int_equal(unlink(f->path), 0);
    assert_int_equal(mkfifo(f->path, 0600), 0);
    uint8_t a[32];
    ivk_of(a, HEX_A);
    hang_guard();
    rc = hc_verified_add(&s, a, "Alice", err, sizeof err);
    hang_guard_off();
    assert_int_equal(rc, -1);
    if (!strstr(err, "could not save the verified leader") || !strstr(err, "FIFO"))
        fail_msg("expected 'could not save the verified leader' and 'FIFO' in: %s", err);
    int conflict;
    assert_int_equal(hc_verified_check(&s, a, "Alice", &conflict), 0);
    struct stat st;
    assert_int_equal(lstat(f->path, &st), 0);
    assert_true(S_ISFIFO(st.st_mode));
    assert_int_equal(others_in(f->home), 0);
    hc_verified_free(&s);
}

/* ---- look-alike names (issue 11 point 5) ---- */

/* A verified "Alice", then a leader with another key whose name only looks like hers: each must
 * be flagged (conflict), whatever invisible character, direction mark, look-alike letter or
 * stray space makes the bytes differ. */
static void test_lookalike_of_a_verified_name_is_a_conflict(void **state) {
    fx *f = *state;
    write_file(f->path, HEX_A " Alice\n", 64 + 7);
    hc_verified_store s;
    char err[512] = "";
    if (hc_verified_load(&s, f->home, err, sizeof err) < 0) fail_msg("%s", err);
    uint8_t a[32], b[32];
    ivk_of(a, HEX_A);
    ivk_of(b, HEX_B);
    /* the same name and capitals besides the look-alikes */
    static const struct {
        const char *what, *name;
    } more[] = {{"the same name", "Alice"}, {"capitals", "ALICE"}};
    size_t n_imp = HC_N_LOOKALIKES + sizeof more / sizeof more[0];
    for (size_t i = 0; i < n_imp; i++) {
        const char *what = i < HC_N_LOOKALIKES ? hc_lookalikes[i].what : more[i - HC_N_LOOKALIKES].what;
        const char *name = i < HC_N_LOOKALIKES ? hc_lookalikes[i].name : more[i - HC_N_LOOKALIKES].name;
        int conflict = -1;
        assert_int_equal(hc_verified_check(&s, b, name, &conflict), 0);
        if (conflict != 1) fail_msg("%s: a verified 'Alice' and another key under this name is no conflict", what);
        /* Alice's own key under a look-alike spelling: verified, no alarm */
        assert_int_equal(hc_verified_check(&s, a, name, &conflict), 1);
        assert_int_equal(conflict, 0);
    }
    int conflict = -1;
    assert_int_equal(hc_verified_check(&s, b, "Alicia", &conflict), 0);
    assert_int_equal(conflict, 0);
    hc_verified_free(&s);
}

/* ---- ownership (issue 11 point 6): a store or home of another user is refused ---- */

#define OTHER_UID 65534     /* nobody; the tests run as root, so chown works */

static void test_store_of_another_user_is_refused(void **state) {
    fx *f = *state;
    if (geteuid() != 0) skip();
    write_file(f->path, HEX_B " Bob\n", 64 + 5);
    assert_int_equal(chown(f->path, OTHER_UID, (gid_t)-1), 0);
    hc_verified_store s;
    char err[512] = "";
    assert_int_equal(hc_verified_load(&s, f->home, err, sizeof err), -1);
    if (!strstr(err, f->path) || !strstr(err, "another user"))
        fail_msg("expected the path and 'another user' in: %s", err);
    assert_int_equal(s.n, 0);
}

static void test_home_of_another_user_is_refused(void **state) {
    fx *f = *state;
    if (geteuid() != 0) skip();
    write_file(f->path, HEX_B " Bob\n", 64 + 5);
    hc_verified_store s;
    char err[512] = "";
    assert_int_equal(chown(f->home, OTHER_UID, (gid_t)-1), 0);
    int rc = hc_verified_load(&s, f->home, err, sizeof err);
    assert_int_equal(chown(f->home, geteuid(), (gid_t)-1), 0);    /* teardown removes it */
    assert_int_equal(rc, -1);
    if (!strstr(err, f->home) || !strstr(err, "belongs to another user"))
        fail_msg("expected the home and 'belongs to another user' in: %s", err);
    assert_int_equal(s.n, 0);
    /* a home that group or others may write: refused the same way, with the chmod that fixes it */
    assert_int_equal(chmod(f->home, 0770), 0);
    rc = hc_verified_load(&s, f->home, err, sizeof err);
    assert_int_equal(chmod(f->home, 0700), 0);
    assert_int_equal(rc, -1);
    if (!strstr(err, "writable by group or others") || !strstr(err, "chmod 700"))
        fail_msg("expected 'writable by group or others' and 'chmod 700' in: %s", err);
    /* ours and 0700: loads */
    if (hc_verified_load(&s, f->home, err, sizeof err) < 0) fail_msg("%s", err);
    assert_int_equal(s.n, 1);
    hc_verified_free(&s);
}

/* ---- saving ---- */

static void test_failed_write_keeps_the_old_store(void **state) {
    fx *f = *state;
    const char *old = "# my leaders\n" HEX_B " Bob\n";
    write_file(f->path, old, strlen(old));
    hc_verified_store s;
    char err[512] = "";
    if (hc_verified_load(&s, f->home, err, sizeof err) < 0) fail_msg("%s", err);

    /* A full disk, for real: a file-size limit a few bytes past the current size, so a new line
     * does not fit. SIGXFSZ ignored: the write then fails with EFBIG instead of killing us. */
    struct rlimit was, lim;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &was), 0);
    lim = was;
    lim.rlim_cur = strlen(old) + 10;
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    uint8_t a[32];
    ivk_of(a, HEX_A);
    int rc = hc_verified_add(&s, a, "Alice", err, sizeof err);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &was), 0);
    signal(SIGXFSZ, prev);

    assert_int_equal(rc, -1);
    if (!strstr(err, "could not save the verified leader") || !strstr(err, strerror(EFBIG)))
        fail_msg("expected 'could not save the verified leader' and '%s' in: %s", strerror(EFBIG), err);
    int conflict;
    assert_int_equal(hc_verified_check(&s, a, "Alice", &conflict), 0);
    hc_verified_free(&s);
    /* the store on disk is exactly what it was, and still loads */
    size_t len;
    char *now = read_whole(f->path, &len);
    assert_int_equal(len, strlen(old));
    assert_string_equal(now, old);
    free(now);
    assert_int_equal(others_in(f->home), 0);
    if (hc_verified_load(&s, f->home, err, sizeof err) < 0) fail_msg("after the failed save: %s", err);
    assert_int_equal(s.n, 1);
    hc_verified_free(&s);
}

/* Faults that are hard to cause for real (fsync or rename failing, a full disk at a chosen
 * moment), injected through crypto/storefile.h's test hook. */
static const char *fail_step;
static int fault_at(const char *step) { return !strcmp(step, fail_step) ? ENOSPC : 0; }

static void test_injected_failures_keep_the_old_store(void **state) {
    fx *f = *state;
    const char *old = "# my leaders\n" HEX_B " Bob\n";
    write_file(f->path, old, strlen(old));
    hc_verified_store s;
    char err[512] = "";
    if (hc_verified_load(&s, f->home, err, sizeof err) < 0) fail_msg("%s", err);
    uint8_t a[32];
    ivk_of(a, HEX_A);
    int conflict;
    static const char *steps[] = {"open", "write", "fsync", "rename"};
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        fail_step = steps[i];
        hc_store_fault = fault_at;
        err[0] = 0;
        int rc = hc_verified_add(&s, a, "Alice", err, sizeof err);
        hc_store_fault = NULL;
        assert_int_equal(rc, -1);
        if (!strstr(err, "could not save the verified leader") || !strstr(err, strerror(ENOSPC)))
            fail_msg("%s: expected 'could not save the verified leader' and '%s' in: %s", steps[i], strerror(ENOSPC), err);
        assert_int_equal(hc_verified_check(&s, a, "Alice", &conflict), 0);
        char *now = read_whole(f->path, NULL);
        assert_string_equal(now, old);
        free(now);
        if (others_in(f->home)) fail_msg("%s: a temporary file was left behind", steps[i]);
    }
    /* The directory fsync failing comes after the rename: the new store is in place and whole,
     * but the save is reported as failed, because it may not survive a crash. */
    fail_step = "dirsync";
    hc_store_fault = fault_at;
    int rc = hc_verified_add(&s, a, "Alice", err, sizeof err);
    hc_store_fault = NULL;
    assert_int_equal(rc, -1);
    assert_non_null(strstr(err, strerror(ENOSPC)));
    assert_int_equal(hc_verified_check(&s, a, "Alice", &conflict), 0);
    assert_int_equal(others_in(f->home), 0);
    hc_verified_free(&s);
    write_file(f->path, old, strlen(old));

    /* And without faults: the whole file is rewritten, keeping its comment and an entry that
     * another hushcall process appended since we loaded; born 0600, nothing left beside it. */
    if (hc_verified_load(&s, f->home, err, sizeof err) < 0) fail_msg("%s", err);
    const char *other = HEX_A " Carol";                    /* typed by hand, without a newline */
    int fd = open(f->path, O_WRONLY | O_APPEND);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, other, strlen(other)), (ssize_t)strlen(other));
    close(fd);
    uint8_t d[32];
    memset(d, 0x5a, sizeof d);
    if (hc_verified_add(&s, d, "Dave", err, sizeof err) < 0) fail_msg("%s", err);
    assert_int_equal(hc_verified_check(&s, d, "Dave", &conflict), 1);
    char *now = read_whole(f->path, NULL);
    char want[400];
    snprintf(want, sizeof want, "%s%s\n%s Dave\n", old, other,
             "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a");
    assert_string_equal(now, want);
    free(now);
    struct stat st;
    assert_int_equal(stat(f->path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal(others_in(f->home), 0);
    hc_verified_free(&s);
    if (hc_verified_load(&s, f->home, err, sizeof err) < 0) fail_msg("%s", err);
    assert_int_equal(s.n, 3);
    assert_string_equal(s.e[1].name, "Carol");
    assert_string_equal(s.e[2].name, "Dave");
    hc_verified_free(&s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_long_comment_lines_load, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors_name_the_right_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nul_in_a_line_is_an_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_last_line_without_newline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_directory_is_an_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fifo_and_socket_are_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lookalike_of_a_verified_name_is_a_conflict, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_of_another_user_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_home_of_another_user_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_write_keeps_the_old_store, setup, teardown),
        cmocka_unit_test_setup_teardown(test_injected_failures_keep_the_old_store, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
