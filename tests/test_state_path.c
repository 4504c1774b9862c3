/* Where the participant's log goes (app/config.c hc_log_path, issue 12 point 15): under the home
 * when HUSHCALL_HOME or --home pin one (unchanged), else in the XDG state directory
 * ($XDG_STATE_HOME/hushcall, default ~/.local/state/hushcall), created 0700; a relative
 * XDG_STATE_HOME is ignored as the spec says. The identity and verified store stay in the home. */
#include "tests/testutil.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "app/config.h"
#include "crypto/identity.h"

static char tmp[256];

static int setup(void **state) {
    (void)state;
    snprintf(tmp, sizeof tmp, "/tmp/hc-test-state-XXXXXX");
    if (!mkdtemp(tmp)) return -1;
    unsetenv("HUSHCALL_HOME");
    unsetenv("XDG_STATE_HOME");
    unsetenv("XDG_CONFIG_HOME");
    setenv("HOME", tmp, 1);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    return system(cmd) == 0 ? 0 : -1;
}

static mode_t dir_mode(const char *p) {
    struct stat st;
    if (stat(p, &st) < 0 || !S_ISDIR(st.st_mode)) return (mode_t)-1;
    return st.st_mode & 07777;
}

static void test_default_is_local_state(void **state) {
    (void)state;
    char home[HC_PATH_MAX], log[HC_PATH_MAX + 32], want[HC_PATH_MAX + 64];
    assert_int_equal(hc_home_resolve(home, NULL), 0);
    snprintf(want, sizeof want, "%s/.config/hushcall", tmp);
    assert_string_equal(home, want);                 /* the identity stays where it was */
    hc_log_path(log, sizeof log, NULL, home);
    snprintf(want, sizeof want, "%s/.local/state/hushcall/hushcall.log", tmp);
    assert_string_equal(log, want);
    snprintf(want, sizeof want, "%s/.local/state/hushcall", tmp);
    assert_int_equal(dir_mode(want), 0700);
}

static void test_xdg_state_home(void **state) {
    (void)state;
    char home[HC_PATH_MAX], log[HC_PATH_MAX + 32], want[HC_PATH_MAX + 64], xdg[300];
    snprintf(xdg, sizeof xdg, "%s/st/deep", tmp);
    setenv("XDG_STATE_HOME", xdg, 1);
    assert_int_equal(hc_home_resolve(home, NULL), 0);
    hc_log_path(log, sizeof log, NULL, home);
    snprintf(want, sizeof want, "%s/hushcall/hushcall.log", xdg);
    assert_string_equal(log, want);
    snprintf(want, sizeof want, "%s/hushcall", xdg);
    assert_int_equal(dir_mode(want), 0700);
    /* relative: ignored, the default is used */
    setenv("XDG_STATE_HOME", "relative/dir", 1);
    hc_log_path(log, sizeof log, NULL, home);
    snprintf(want, sizeof want, "%s/.local/state/hushcall/hushcall.log", tmp);
    assert_string_equal(log, want);
}

static void test_pinned_home_keeps_everything(void **state) {
    (void)state;
    char home[HC_PATH_MAX], log[HC_PATH_MAX + 32], want[HC_PATH_MAX + 64], pin[300];
    snprintf(pin, sizeof pin, "%s/pinned", tmp);
    setenv("XDG_STATE_HOME", tmp, 1);
    /* --home DIR */
    assert_int_equal(hc_home_resolve(home, pin), 0);
    hc_log_path(log, sizeof log, pin, home);
    snprintf(want, sizeof want, "%s/hushcall.log", home);
    assert_string_equal(log, want);
    /* HUSHCALL_HOME */
    setenv("HUSHCALL_HOME", pin, 1);
    assert_int_equal(hc_home_resolve(home, NULL), 0);
    hc_log_path(log, sizeof log, NULL, home);
    snprintf(want, sizeof want, "%s/hushcall.log", home);
    assert_string_equal(log, want);
    snprintf(want, sizeof want, "%s/hushcall", tmp);
    assert_int_equal(dir_mode(want), (mode_t)-1);   /* no state directory made */
}

static void test_uncreatable_state_dir_falls_back_to_home(void **state) {
    (void)state;
    char home[HC_PATH_MAX], log[HC_PATH_MAX + 32], want[HC_PATH_MAX + 64], file[300];
    snprintf(file, sizeof file, "%s/afile", tmp);
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fclose(f);
    setenv("XDG_STATE_HOME", file, 1);               /* a file where a directory should be */
    assert_int_equal(hc_home_resolve(home, NULL), 0);
    hc_log_path(log, sizeof log, NULL, home);
    snprintf(want, sizeof want, "%s/hushcall.log", home);
    assert_string_equal(log, want);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_default_is_local_state, setup, teardown),
        cmocka_unit_test_setup_teardown(test_xdg_state_home, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pinned_home_keeps_everything, setup, teardown),
        cmocka_unit_test_setup_teardown(test_uncreatable_state_dir_falls_back_to_home, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
