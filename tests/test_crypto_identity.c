/* Device identity store: resolution order, first-use creation with safe permissions, stable
 * reloads, and refusal (without touching the file) of unsafe, truncated or corrupt files. */
#include "tests/testutil.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sodium.h>

#include "crypto/identity.h"

static char tmpdir[256];

static int make_tmp(void **state) {
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/hc-idtest-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int remove_tmp(void **state) {
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static void sub(char *out, size_t cap, const char *name) { snprintf(out, cap, "%s/%s", tmpdir, name); }

static size_t read_file(const char *path, uint8_t *buf, size_t cap) {
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    size_t n = fread(buf, 1, cap, f);
    fclose(f);
    return n;
}

static void write_file(const char *path, const uint8_t *buf, size_t n, mode_t mode) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(buf, 1, n, f), n);
    fclose(f);
    assert_int_equal(chmod(path, mode), 0);
}

static int count_entries(const char *dir) {
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(d);
    return n;
}

static void test_home_resolution_order(void **state) {
    (void)state;
    char out[HC_PATH_MAX];
    setenv("HUSHCALL_HOME", "/env/home", 1);
    setenv("XDG_CONFIG_HOME", "/xdg", 1);
    setenv("HOME", "/home/u", 1);
    assert_int_equal(hc_home_resolve(out, "/cli"), 0);
    assert_string_equal(out, "/env/home");
    unsetenv("HUSHCALL_HOME");
    assert_int_equal(hc_home_resolve(out, "/cli"), 0);
    assert_string_equal(out, "/cli");
    assert_int_equal(hc_home_resolve(out, NULL), 0);
    assert_string_equal(out, "/xdg/hushcall");
    setenv("HUSHCALL_HOME", "", 1); /* empty means unset */
    assert_int_equal(hc_home_resolve(out, NULL), 0);
    assert_string_equal(out, "/xdg/hushcall");
    setenv("XDG_CONFIG_HOME", "relative", 1); /* invalid per the XDG spec: ignored */
    assert_int_equal(hc_home_resolve(out, NULL), 0);
    assert_string_equal(out, "/home/u/.config/hushcall");
    unsetenv("XDG_CONFIG_HOME");
    assert_int_equal(hc_home_resolve(out, NULL), 0);
    assert_string_equal(out, "/home/u/.config/hushcall");
    unsetenv("HOME");
    assert_int_equal(hc_home_resolve(out, NULL), -1);
    unsetenv("HUSHCALL_HOME");
}

static void test_create_then_load_same(void **state) {
    (void)state;
    char dir[512], path[600], err[512];
    sub(dir, sizeof dir, "a/b/c");
    snprintf(path, sizeof path, "%s/identity", dir);
    hc_identity id1, id2;
    assert_int_equal(hc_identity_load_or_create(dir, &id1, err, sizeof err), HC_ID_CREATED);
    struct stat st;
    assert_int_equal(stat(dir, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    char parent[512];
    sub(parent, sizeof parent, "a");
    assert_int_equal(stat(parent, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(st.st_size, 72);
    assert_int_equal(count_entries(dir), 1); /* no temp file left behind */
    assert_int_equal(hc_identity_load_or_create(dir, &id2, err, sizeof err), HC_ID_LOADED);
    assert_memory_equal(&id1, &id2, sizeof id1);
    /* The pair works: a signature by the stored key verifies under the stored IVK. */
    uint8_t sig[64];
    hc_sign(sig, id2.isk, "test", (const uint8_t *)"m", 1);
    assert_int_equal(hc_verify(sig, id1.ivk, "test", (const uint8_t *)"m", 1), 0);
    /* File format: magic, version 1, type 1, seed, IVK. */
    uint8_t buf[100];
    assert_int_equal(read_file(path, buf, sizeof buf), 72);
    assert_memory_equal(buf, "HCID\0\1\0\1", 8);
    assert_memory_equal(buf + 40, id1.ivk, 32);
    assert_memory_equal(buf + 8, id1.isk, 32); /* libsodium's sk = seed || ivk */
    char f1[HC_FPR_LEN + 1];
    hc_fingerprint(f1, id1.ivk);
    assert_int_equal(strlen(f1), 24);
    for (int i = 0; i < 24; i++) {
        if (i % 5 == 4) assert_int_equal(f1[i], ' ');
        else assert_true((f1[i] >= '0' && f1[i] <= '9') || (f1[i] >= 'a' && f1[i] <= 'f'));
    }
    hc_identity_wipe(&id1);
    uint8_t zero[sizeof id1];
    memset(zero, 0, sizeof zero);
    assert_memory_equal(&id1, zero, sizeof id1);
    hc_identity_wipe(&id2);
}

/* Writes `bytes` as the identity in a fresh directory and checks it is refused with `want`,
 * that the message names the file, and that the file is left exactly as it was. */
static void expect_refused(const char *name, const uint8_t *bytes, size_t n, mode_t mode, hc_id_status want,
                           const char *must_mention) {
    char dir[512], path[600], err[1024];
    sub(dir, sizeof dir, name);
    assert_int_equal(mkdir(dir, 0700), 0);
    snprintf(path, sizeof path, "%s/identity", dir);
    write_file(path, bytes, n, mode);
    hc_identity id;
    memset(&id, 0x55, sizeof id);
    assert_int_equal(hc_identity_load_or_create(dir, &id, err, sizeof err), want);
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, must_mention));
    uint8_t back[200];
    struct stat st;
    assert_int_equal(read_file(path, back, sizeof back), n);
    assert_memory_equal(back, bytes, n);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, mode);
    assert_int_equal(count_entries(dir), 1);
    uint8_t zero[sizeof id];
    memset(zero, 0, sizeof zero);
    assert_memory_equal(&id, zero, sizeof id); /* no half-loaded key */
}

static void good_file(uint8_t buf[72]) {
    uint8_t seed[32];
    hc_identity id;
    randombytes_buf(seed, 32);
    hc_identity_from_seed(&id, seed);
    memcpy(buf, "HCID\0\1\0\1", 8);
    memcpy(buf + 8, seed, 32);
    memcpy(buf + 40, id.ivk, 32);
    hc_identity_wipe(&id);
}

static void test_refuses_unsafe_or_corrupt(void **state) {
    (void)state;
    uint8_t buf[80];
    good_file(buf);
    expect_refused("perm640", buf, 72, 0640, HC_ID_ERR_PERMS, "chmod 600");
    expect_refused("perm604", buf, 72, 0604, HC_ID_ERR_PERMS, "chmod 600");
    expect_refused("perm620", buf, 72, 0620, HC_ID_ERR_PERMS, "chmod 600");
    expect_refused("trunc0", buf, 0, 0600, HC_ID_ERR_CORRUPT, "truncated");
    expect_refused("trunc71", buf, 71, 0600, HC_ID_ERR_CORRUPT, "truncated");
    expect_refused("trunc40", buf, 40, 0600, HC_ID_ERR_CORRUPT, "truncated");
    buf[72] = '\n';
    expect_refused("long73", buf, 73, 0600, HC_ID_ERR_CORRUPT, "longer");
    uint8_t bad[72];
    memcpy(bad, buf, 72);
    bad[0] = 'X';
    expect_refused("magic", bad, 72, 0600, HC_ID_ERR_CORRUPT, "magic");
    memcpy(bad, buf, 72);
    bad[5] = 2;
    expect_refused("version", bad, 72, 0600, HC_ID_ERR_CORRUPT, "version");
    memcpy(bad, buf, 72);
    bad[20] ^= 1; /* seed damaged: derived key no longer matches */
    expect_refused("seedflip", bad, 72, 0600, HC_ID_ERR_CORRUPT, "does not match");
    memcpy(bad, buf, 72);
    bad[71] ^= 0x80; /* stored IVK damaged */
    expect_refused("ivkflip", bad, 72, 0600, HC_ID_ERR_CORRUPT, "does not match");
    randombytes_buf(bad, 72);
    expect_refused("garbage", bad, 72, 0600, HC_ID_ERR_CORRUPT, "move it away");
    /* The intact file loads. */
    char dir[512], path[600], err[512];
    sub(dir, sizeof dir, "intact");
    assert_int_equal(mkdir(dir, 0700), 0);
    snprintf(path, sizeof path, "%s/identity", dir);
    write_file(path, buf, 72, 0600);
    hc_identity id;
    assert_int_equal(hc_identity_load_or_create(dir, &id, err, sizeof err), HC_ID_LOADED);
    assert_memory_equal(id.ivk, buf + 40, 32);
    hc_identity_wipe(&id);
}

static void test_refuses_symlink_and_open_directory(void **state) {
    (void)state;
    char dir[512], path[600], target[600], err[1024];
    hc_identity id;
    uint8_t buf[72];
    good_file(buf);
    /* A symlink in place of the file is not followed. */
    sub(dir, sizeof dir, "link");
    assert_int_equal(mkdir(dir, 0700), 0);
    snprintf(target, sizeof target, "%s/real", dir);
    write_file(target, buf, 72, 0600);
    snprintf(path, sizeof path, "%s/identity", dir);
    assert_int_equal(symlink(target, path), 0);
    assert_true(hc_identity_load_or_create(dir, &id, err, sizeof err) < 0);
    assert_non_null(strstr(err, "symbolic link"));
    /* A directory others can write: refused before anything is created in it. */
    sub(dir, sizeof dir, "openDir");
    assert_int_equal(mkdir(dir, 0700), 0);
    assert_int_equal(chmod(dir, 0777), 0);
    assert_int_equal(hc_identity_load_or_create(dir, &id, err, sizeof err), HC_ID_ERR_PERMS);
    assert_non_null(strstr(err, "chmod 700"));
    assert_int_equal(count_entries(dir), 0);
    /* A directory of another user (issue 11 point 6): refused, nothing created in it. Root
     * only (chown); the test suite runs as root. */
    if (geteuid() == 0) {
        sub(dir, sizeof dir, "otherUser");
        assert_int_equal(mkdir(dir, 0700), 0);
        assert_int_equal(chown(dir, 65534, (gid_t)-1), 0);
        assert_int_equal(hc_identity_load_or_create(dir, &id, err, sizeof err), HC_ID_ERR_PERMS);
        if (!strstr(err, "belongs to another user") || !strstr(err, dir))
            fail_msg("expected the directory and 'belongs to another user' in: %s", err);
        assert_int_equal(count_entries(dir), 0);
    }
    /* The store path is a file, not a directory. */
    sub(dir, sizeof dir, "afile");
    write_file(dir, buf, 1, 0600);
    assert_true(hc_identity_load_or_create(dir, &id, err, sizeof err) < 0);
    assert_true(strlen(err) > 0);
}

static void test_generate_and_seed(void **state) {
    (void)state;
    hc_identity a, b;
    uint8_t seed[32] = {0};
    hc_identity_from_seed(&a, seed);
    hc_identity_from_seed(&b, seed);
    assert_memory_equal(&a, &b, sizeof a);
    seed[0] = 1;
    hc_identity_from_seed(&b, seed);
    assert_memory_not_equal(a.ivk, b.ivk, 32);
    hc_identity_generate(&a);
    hc_identity_generate(&b);
    assert_memory_not_equal(a.ivk, b.ivk, 32);
    hc_identity_wipe(&a);
    hc_identity_wipe(&b);
}

int main(void) {
    if (sodium_init() < 0) return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_home_resolution_order),
        cmocka_unit_test(test_create_then_load_same),
        cmocka_unit_test(test_refuses_unsafe_or_corrupt),
        cmocka_unit_test(test_refuses_symlink_and_open_directory),
        cmocka_unit_test(test_generate_and_seed),
    };
    return cmocka_run_group_tests(tests, make_tmp, remove_tmp);
}
