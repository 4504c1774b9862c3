/* The config file parser: defaults, every key, comments and blanks, quoting, errors with line
 * numbers, a missing file. */
#include "tests/testutil.h"

#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "app/config.h"

static int parse(hc_config *c, const char *text, char *err) {
    return hc_config_parse(c, text, strlen(text), "config", err, 256);
}

static void test_defaults_and_missing_file(void **state) {
    (void)state;
    hc_config c;
    char err[256] = "";
    assert_int_equal(hc_config_load(&c, "/nonexistent/dir/config", err, sizeof err), 0);
    assert_string_equal(c.name, "");
    assert_string_equal(c.relay, "");
    assert_int_equal(c.admit, HC_ADMIT_AUTO);
    assert_int_equal(c.ascii, 0);
    assert_int_equal(c.set, 0);
    assert_int_equal(parse(&c, "", err), 0);
    assert_int_equal(c.set, 0);
}

static void test_all_keys(void **state) {
    (void)state;
    hc_config c;
    char err[256];
    const char *text =
        "# hushcall config\n"
        "\n"
        "   # indented comment\n"
        "name = Alice Smith #1\n"
        "relay=relay.example.org:7400\n"
        "\taudio_in\t=\thw:1,0 \n"
        "audio_out = \"  spaced out  \"\r\n"
        "admit = known\n"
        "ascii = yes\n"
        "admit = ask";                                   /* no final newline; last one wins */
    if (parse(&c, text, err)) fail_msg("%s", err);
    assert_string_equal(c.name, "Alice Smith #1");
    assert_string_equal(c.relay, "relay.example.org:7400");
    assert_string_equal(c.audio_in, "hw:1,0");
    assert_string_equal(c.audio_out, "  spaced out  ");
    assert_int_equal(c.admit, HC_ADMIT_ASK);
    assert_int_equal(c.ascii, 1);
    assert_int_equal(c.set, HC_CFG_NAME | HC_CFG_RELAY | HC_CFG_AUDIO_IN | HC_CFG_AUDIO_OUT | HC_CFG_ADMIT | HC_CFG_ASCII);
    assert_int_equal(parse(&c, "relay = [::1]:7400\nname=Zo\xC3\xAB\nadmit=auto\nascii=off\n", err), 0);
    assert_string_equal(c.relay, "[::1]:7400");
    assert_string_equal(c.name, "Zo\xC3\xAB");
    assert_int_equal(c.admit, HC_ADMIT_AUTO);
    assert_int_equal(c.ascii, 0);
    /* several relays: nodes of one cluster */
    assert_int_equal(parse(&c, "relay = a.example:7400,[::1]:7401,10.0.0.2:7400\n", err), 0);
    assert_string_equal(c.relay, "a.example:7400,[::1]:7401,10.0.0.2:7400");
}

static void test_errors_have_line_numbers(void **state) {
    (void)state;
    struct { const char *text, *msg; } bad[] = {
        {"name = a\n\n# c\n\n\n\nnmae = bob\n", "config:7: unknown key 'nmae'"},
        {"admit = sometimes\n", "config:1: admit must be auto, ask or known"},
        {"name = ok\njust some words\n", "config:2: expected 'key = value'"},
        {"= value\n", "config:1: missing key"},
        {"name =\n", "config:1: name must be 1 to 64 bytes"},
        {"name = \"   \"\n", "config:1: name must be"},           /* blanks only */
        {"name = \"\t \"\n", "config:1: name must be"},
        {"name = \x1b[31mred\n", "config:1: name must be"},
        {"name = bad\xFFutf8\n", "config:1: name must be"},
        {"name = 12345678901234567890123456789012345678901234567890123456789012345\n", "config:1: name must be"},
        /* The binding's rule (hc_valid_name): no bidi overrides or line separators either, or the
         * file would load and the name be refused only when joining. */
        {"name = evil\xE2\x80\xAEgnp.exe\n", "config:1: name must be"},
        {"name = two\xE2\x80\xA8lines\n", "config:1: name must be"},
        /* Look-alikes (issue 11 point 5, app/names.h): invisible characters, direction marks,
         * doubled or edge spaces; the message says which. */
        {"name = Al\xE2\x80\x8Bice\n", "config:1: name must be"},
        {"name = Al\xE2\x80\x8Bice\n", "it contains U+200B, an invisible character"},
        {"name = Alice\xE2\x80\x8E\n", "U+200E, a text-direction mark"},
        {"name = \"Alice \"\n", "it ends with a space"},
        {"name = Alice  Smith\n", "it has two spaces in a row"},
        {"relay = nohost\n", "config:1: relay must be host:port"},
        {"relay = host:0\n", "config:1: relay must be host:port"},
        {"relay = host:65536\n", "config:1: relay must be host:port"},
        {"relay = a b:1\n", "config:1: relay must be"},
        {"relay = ::1:7400\n", "config:1: relay must be"},
        {"relay = []:7400\n", "config:1: relay must be"},
        {"relay = host:007400\n", "config:1: relay must be"},
        {"relay = [::1]7400\n", "config:1: relay must be"},
        {"relay = a:1,,b:2\n", "config:1: relay must be"},
        {"relay = a:1, b:2\n", "config:1: relay must be"},
        {"relay = a:1,::1:2\n", "config:1: relay must be"},
        {"ascii = maybe\n", "config:1: ascii must be yes or no"},
        {"audio_in = \n", "config:1: audio_in must be a device name"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        hc_config c;
        char err[256] = "";
        assert_int_equal(parse(&c, bad[i].text, err), -1);
        if (!strstr(err, bad[i].msg)) fail_msg("'%s' -> '%s'", bad[i].text, err);
    }
    /* A line too long, and a NUL inside a line. */
    char big[HC_CONFIG_LINE_MAX + 40];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    memcpy(big, "name = ", 7);
    hc_config c;
    char err[256];
    assert_int_equal(parse(&c, big, err), -1);
    assert_non_null(strstr(err, "config:1: line longer than"));
    assert_int_equal(hc_config_parse(&c, "name = a\0b\n", 11, "config", err, sizeof err), -1);
    assert_non_null(strstr(err, "NUL"));
}

static void test_load_file(void **state) {
    (void)state;
    char dir[] = "/tmp/hc_config_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[64];
    snprintf(path, sizeof path, "%s/config", dir);
    FILE *f = fopen(path, "w");
    fputs("name = bob\n\nadmit = nope\n", f);
    fclose(f);
    hc_config c;
    char err[256];
    assert_int_equal(hc_config_load(&c, path, err, sizeof err), -1);
    /* The whole path, so the user knows which of several config files is meant. */
    char want[160];
    snprintf(want, sizeof want, "%s:3: admit must be auto, ask or known, not 'nope'", path);
    assert_string_equal(err, want);
    f = fopen(path, "w");
    fputs("name = bob\nadmit = known\n", f);
    fclose(f);
    assert_int_equal(hc_config_load(&c, path, err, sizeof err), 0);
    assert_string_equal(c.name, "bob");
    assert_int_equal(c.admit, HC_ADMIT_KNOWN);
    /* A directory is not a config file. */
    assert_int_equal(hc_config_load(&c, dir, err, sizeof err), -1);
    unlink(path);
    rmdir(dir);
}

/* A hang (open(2) waiting for a writer on a FIFO, the defect this catches) becomes a failed
 * assertion instead of the runner's timeout: without SA_RESTART the alarm interrupts the blocked
 * open with EINTR. Nothing is measured; on correct code the load never waits. */
static void on_alarm(int sig) { (void)sig; }

static void test_non_regular_files_refused(void **state) {
    (void)state;
    char dir[] = "/tmp/hc_config_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[64], link[64];
    snprintf(path, sizeof path, "%s/config", dir);
    snprintf(link, sizeof link, "%s/config.link", dir);
    hc_config c;
    char err[512] = "";
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sigaction(SIGALRM, &sa, NULL);

    assert_int_equal(mkfifo(path, 0600), 0);
    alarm((unsigned)(5 * hc_test_slow()));
    int rc = hc_config_load(&c, path, err, sizeof err);
    alarm(0);
    assert_int_equal(rc, -1);
    if (!strstr(err, path) || !strstr(err, "FIFO")) fail_msg("expected the path and 'FIFO' in: %s", err);
    /* the config may be a symbolic link (dotfile managers), but not one to a FIFO */
    assert_int_equal(symlink("config", link), 0);
    alarm((unsigned)(5 * hc_test_slow()));
    rc = hc_config_load(&c, link, err, sizeof err);
    alarm(0);
    assert_int_equal(rc, -1);
    if (!strstr(err, link) || !strstr(err, "FIFO")) fail_msg("expected the link's path and 'FIFO' in: %s", err);
    assert_int_equal(unlink(path), 0);

    assert_int_equal(mkdir(path, 0700), 0);
    assert_int_equal(hc_config_load(&c, path, err, sizeof err), -1);
    if (!strstr(err, path) || !strstr(err, "a directory")) fail_msg("expected the path and 'a directory' in: %s", err);
    assert_int_equal(rmdir(path), 0);

    int sk = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_true(sk >= 0);
    struct sockaddr_un su = {.sun_family = AF_UNIX};
    memcpy(su.sun_path, path, strlen(path) + 1);
    assert_int_equal(bind(sk, (struct sockaddr *)&su, sizeof su), 0);
    rc = hc_config_load(&c, path, err, sizeof err);
    close(sk);
    assert_int_equal(rc, -1);
    if (!strstr(err, path) || !strstr(err, "socket")) fail_msg("expected the path and 'socket' in: %s", err);
    assert_int_equal(unlink(path), 0);

    assert_int_equal(hc_config_load(&c, "/dev/null", err, sizeof err), -1);
    if (!strstr(err, "/dev/null") || !strstr(err, "device")) fail_msg("expected '/dev/null' and 'device' in: %s", err);

    /* and a link to a regular file still works */
    FILE *f = fopen(path, "w");
    fputs("name = carol\n", f);
    fclose(f);
    assert_int_equal(hc_config_load(&c, link, err, sizeof err), 0);
    assert_string_equal(c.name, "carol");
    unlink(link);
    unlink(path);
    rmdir(dir);
}

static void test_set_directly(void **state) {
    (void)state;
    hc_config c;
    char err[256];
    hc_config_defaults(&c);
    assert_int_equal(hc_config_set(&c, "admit", "ask", err, sizeof err), 0);
    assert_int_equal(c.admit, HC_ADMIT_ASK);
    assert_int_equal(hc_config_set(&c, "volume", "11", err, sizeof err), -1);
    assert_non_null(strstr(err, "unknown key 'volume'"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_and_missing_file),
        cmocka_unit_test(test_all_keys),
        cmocka_unit_test(test_errors_have_line_numbers),
        cmocka_unit_test(test_load_file),
        cmocka_unit_test(test_non_regular_files_refused),
        cmocka_unit_test(test_set_directly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
