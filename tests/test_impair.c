/* Impairment specs and decisions: parsing with clear errors, determinism per seed, rates. */
#include "tests/testutil.h"

#include <math.h>

#include "net/impair.h"

static void test_parse_valid(void **state) {
    (void)state;
    hc_impair_spec s;
    char err[200];
    assert_int_equal(hc_impair_parse("loss=5,delay=20,jitter=5,reorder=1.5,dup=0.5,seed=42", &s, err, sizeof err), 0);
    assert_true(s.enabled);
    assert_true(fabs(s.loss_pct - 5) < 1e-9);
    assert_int_equal(s.delay_ms, 20);
    assert_int_equal(s.jitter_ms, 5);
    assert_true(fabs(s.reorder_pct - 1.5) < 1e-9);
    assert_true(fabs(s.dup_pct - 0.5) < 1e-9);
    assert_true(s.seed == 42);
    assert_int_equal(s.control, 0);
    assert_int_equal(hc_impair_parse("delay=100,control=1", &s, err, sizeof err), 0);
    assert_int_equal(s.control, 1);
    assert_true(s.loss_pct == 0);
    assert_int_equal(hc_impair_parse("loss=100", &s, err, sizeof err), 0);
    assert_int_equal(hc_impair_parse("loss=0,seed=18446744073709551615", &s, err, sizeof err), 0);
    assert_true(s.seed == UINT64_MAX);
}

static void test_parse_invalid(void **state) {
    (void)state;
    static const struct { const char *spec, *msg; } bad[] = {
        {"", "empty"},
        {"loss", "KEY=VALUE"},
        {"loss=", "KEY=VALUE"},
        {"=5", "KEY=VALUE"},
        {"loss=101", "percentage"},
        {"loss=-1", "percentage"},
        {"loss=abc", "percentage"},
        {"loss=5%", "percentage"},
        {"loss=nan", "percentage"},
        {"delay=-5", "milliseconds"},
        {"delay=60001", "milliseconds"},
        {"delay=1.5", "milliseconds"},
        {"jitter=x", "milliseconds"},
        {"seed=-1", "unsigned"},
        {"seed=18446744073709551616", "unsigned"},
        {"control=2", "0 or 1"},
        {"bogus=1", "unknown impairment 'bogus'"},
        {"loss=1,loss=2", "twice"},
        {",,,", "empty"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        hc_impair_spec s;
        char err[200] = "";
        int rc = hc_impair_parse(bad[i].spec, &s, err, sizeof err);
        if (rc != -1 || !strstr(err, bad[i].msg))
            fail_msg("spec '%s': rc %d, error '%s' (wanted '%s')", bad[i].spec, rc, err, bad[i].msg);
    }
}

static void test_determinism(void **state) {
    (void)state;
    hc_impair_spec s;
    char err[100];
    assert_int_equal(hc_impair_parse("loss=10,delay=30,jitter=10,reorder=5,dup=5,seed=7", &s, err, sizeof err), 0);
    hc_impair a, b, c;
    hc_impair_init(&a, &s);
    hc_impair_init(&b, &s);
    s.seed = 8;
    hc_impair_init(&c, &s);
    int differ = 0;
    for (int i = 0; i < 10000; i++) {
        uint32_t da[2], db[2], dc[2];
        int ka = hc_impair_decide(&a, da), kb = hc_impair_decide(&b, db), kc = hc_impair_decide(&c, dc);
        assert_int_equal(ka, kb);
        assert_int_equal(da[0], db[0]);
        assert_int_equal(da[1], db[1]);
        differ += ka != kc || da[0] != dc[0];
        assert_int_equal(hc_impair_control_delay(&a), hc_impair_control_delay(&b));
    }
    assert_true(differ > 1000);   /* another seed is another sequence */
}

static void test_rates(void **state) {
    (void)state;
    hc_impair_spec s;
    char err[100];
    assert_int_equal(hc_impair_parse("loss=5,dup=2,reorder=3,delay=20,jitter=5,seed=1", &s, err, sizeof err), 0);
    hc_impair im;
    hc_impair_init(&im, &s);
    enum { N = 100000 };
    int lost = 0, dup = 0, reordered = 0;
    for (int i = 0; i < N; i++) {
        uint32_t d[2];
        int k = hc_impair_decide(&im, d);
        if (k == 0) { lost++; assert_int_equal(d[0], 0); continue; }
        dup += k == 2;
        for (int j = 0; j < k; j++) {
            assert_true(d[j] >= 15);
            if (d[j] > 25) reordered++;            /* beyond delay + jitter: reorder's extra */
            else assert_true(d[j] <= 25);
        }
    }
    /* Binomial standard deviation at N = 100k is ~0.07 % for 5 %: 0.5 % is > 7 sigma. */
    assert_true(fabs(100.0 * lost / N - 5.0) < 0.5);
    assert_true(fabs(100.0 * dup / (N - lost) - 2.0) < 0.4);
    assert_true(fabs(100.0 * reordered / (N - lost + dup) - 3.0) < 0.4);
    /* no impairment at all: every packet once, at once */
    assert_int_equal(hc_impair_parse("seed=3", &s, err, sizeof err), 0);
    hc_impair_init(&im, &s);
    for (int i = 0; i < 1000; i++) {
        uint32_t d[2];
        assert_int_equal(hc_impair_decide(&im, d), 1);
        assert_int_equal(d[0], 0);
    }
    /* 100 % loss drops everything; control frames are only ever delayed */
    assert_int_equal(hc_impair_parse("loss=100,delay=10,jitter=10,control=1", &s, err, sizeof err), 0);
    hc_impair_init(&im, &s);
    for (int i = 0; i < 1000; i++) {
        uint32_t d[2];
        assert_int_equal(hc_impair_decide(&im, d), 0);
        assert_true(hc_impair_control_delay(&im) <= 20);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_valid),
        cmocka_unit_test(test_parse_invalid),
        cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_rates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
