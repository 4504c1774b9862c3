/* Shared includes and helpers for hushcall's cmocka unit tests. */
#ifndef HC_TESTUTIL_H
#define HC_TESTUTIL_H

#include <setjmp.h>
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

#endif
