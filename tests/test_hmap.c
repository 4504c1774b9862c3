/* net/hmap: put, get, delete, growth, and iteration (also while removing). */
#include "testutil.h"

#include <sodium.h>

#include "net/hmap.h"

static int setup(void **state) {
    (void)state;
    return sodium_init() < 0 ? -1 : 0;
}

static void test_put_get_del(void **state) {
    (void)state;
    hc_hmap m;
    assert_int_equal(hc_hmap_init(&m), 0);
    int a = 1, b = 2;
    assert_int_equal(hc_hmap_put(&m, "alpha", 5, &a), 0);
    assert_int_equal(hc_hmap_put(&m, "beta", 4, &b), 0);
    assert_ptr_equal(hc_hmap_get(&m, "alpha", 5), &a);
    assert_ptr_equal(hc_hmap_get(&m, "beta", 4), &b);
    assert_null(hc_hmap_get(&m, "alph", 4));
    assert_int_equal(hc_hmap_put(&m, "alpha", 5, &b), 0);       /* replace */
    assert_ptr_equal(hc_hmap_get(&m, "alpha", 5), &b);
    assert_int_equal(m.count, 2);
    assert_ptr_equal(hc_hmap_del(&m, "alpha", 5), &b);
    assert_null(hc_hmap_get(&m, "alpha", 5));
    assert_null(hc_hmap_del(&m, "alpha", 5));
    assert_int_equal(m.count, 1);
    uint8_t big[HC_HMAP_KEY_MAX + 1] = {0};
    assert_int_equal(hc_hmap_put(&m, big, sizeof big, &a), -1);  /* key too long */
    assert_int_equal(hc_hmap_put(&m, big, 0, &a), -1);
    hc_hmap_free(&m);
}

/* Every live entry exactly once, none of the deleted ones, across growth. */
static void test_iterate(void **state) {
    (void)state;
    enum { N = 500 };
    static int vals[N];
    hc_hmap m;
    assert_int_equal(hc_hmap_init(&m), 0);
    for (uint32_t k = 0; k < N; k++) {
        vals[k] = (int)k;
        assert_int_equal(hc_hmap_put(&m, &k, sizeof k, &vals[k]), 0);
    }
    for (uint32_t k = 0; k < N; k += 3) assert_non_null(hc_hmap_del(&m, &k, sizeof k));
    int seen[N] = {0};
    size_t n = 0;
    hc_hmap_slot *s;
    for (size_t i = 0; (s = hc_hmap_next(&m, &i));) {
        uint32_t k;
        assert_int_equal(s->klen, sizeof k);
        memcpy(&k, s->key, sizeof k);
        assert_true(k < N);
        assert_ptr_equal(s->val, &vals[k]);
        seen[k]++;
        n++;
    }
    assert_int_equal(n, m.count);
    for (uint32_t k = 0; k < N; k++) assert_int_equal(seen[k], k % 3 ? 1 : 0);
    hc_hmap_free(&m);
}

/* Removing the entry just returned (by slot or by key) does not disturb the iteration. */
static void test_remove_while_iterating(void **state) {
    (void)state;
    enum { N = 100 };
    static int vals[N];
    hc_hmap m;
    assert_int_equal(hc_hmap_init(&m), 0);
    for (uint32_t k = 0; k < N; k++) assert_int_equal(hc_hmap_put(&m, &k, sizeof k, &vals[k]), 0);
    size_t n = 0;
    hc_hmap_slot *s;
    for (size_t i = 0; (s = hc_hmap_next(&m, &i));) {
        uint32_t k;
        memcpy(&k, s->key, sizeof k);
        if (k % 2) assert_ptr_equal(hc_hmap_del_slot(&m, s), &vals[k]);
        else assert_ptr_equal(hc_hmap_del(&m, &k, sizeof k), &vals[k]);
        n++;
    }
    assert_int_equal(n, N);
    assert_int_equal(m.count, 0);
    size_t i = 0;
    assert_null(hc_hmap_next(&m, &i));
    for (uint32_t k = 0; k < N; k++) assert_null(hc_hmap_get(&m, &k, sizeof k));
    hc_hmap_free(&m);
    /* A freed (or never initialised) map iterates as empty. */
    i = 0;
    assert_null(hc_hmap_next(&m, &i));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_get_del),
        cmocka_unit_test(test_iterate),
        cmocka_unit_test(test_remove_while_iterating),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
