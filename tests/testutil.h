/* Shared includes and helpers for hushcall's cmocka unit tests. */
#ifndef HC_TESTUTIL_H
#define HC_TESTUTIL_H

#include <setjmp.h>
#include <signal.h>
#include <sys/resource.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

/* Hex string -> bytes; returns the byte count (fails the test on bad hex or overflow). */
static inline size_t hc_test_unhex(uint8_t *out, size_t cap, const char *hex) {
    size_t n = strlen(hex);
    assert_true(n % 2 == 0);
    assert_true(n / 2 <= cap);
    for (size_t i = 0; i < n / 2; i++) {
        unsigned v;
        assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
        out[i] = (uint8_t)v;
    }
    return n / 2;
}

/* The machine's slowness (tests/run.sh measures it with tests/slowness.py and passes HC_SLOW):
 * unit tests that wait in real time stretch their deadlines by it, never their measurements. */
static inline double hc_test_slow(void) {
    const char *s = getenv("HC_SLOW");
    double f = s ? atof(s) : 1.0;
    return f >= 1.0 ? f : 1.0;
}

/* Test data directory (tests run from the repository root); the RFC 9605 vectors live there. */
static inline const char *hc_test_data_dir(void) {
    const char *d = getenv("HC_TEST_DATA");
    return d ? d : "tests/data";
}

/* A "full disk" that needs no privileges (root ignores file permissions): limits the size of
 * files this process writes (RLIMIT_FSIZE) with SIGXFSZ ignored, so a write past the limit fails
 * with EFBIG (after a short write up to it) instead of killing the test. Nothing may print while
 * the limit holds (the test's own log is a file too): set it, run the writes, restore it. */
typedef struct {
    struct rlimit rl;
    struct sigaction sa;
} hc_test_fsize;

static inline void hc_test_fsize_limit(hc_test_fsize *saved, rlim_t bytes) {
    struct sigaction ign;
    memset(&ign, 0, sizeof ign);
    ign.sa_handler = SIG_IGN;
    assert_int_equal(sigaction(SIGXFSZ, &ign, &saved->sa), 0);
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &saved->rl), 0);
    struct rlimit rl = saved->rl;
    rl.rlim_cur = bytes;
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &rl), 0);
}

static inline void hc_test_fsize_restore(const hc_test_fsize *saved) {
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &saved->rl), 0);
    assert_int_equal(sigaction(SIGXFSZ, &saved->sa, NULL), 0);
}

#endif
