/* Meeting security code: the digit rule against Discord DAVE's vectors, a pinned hushcall
 * vector (independently computed with Python hashlib + cryptography's Ed25519), the format,
 * and that the code follows the leader's key and nothing else. */
#include "tests/testutil.h"

#include <ctype.h>
#include <sodium.h>

#include "crypto/identity.h"
#include "crypto/seccode.h"

static void test_digits5_dave_vectors(void **state) {
    (void)state;
    uint8_t b[30];
    char out[64];
    hc_test_unhex(b, sizeof b, "aabbccddee");
    hc_digits5(out, b, 1);
    assert_string_equal(out, "05870");
    hc_test_unhex(b, sizeof b, "aabbccddeebbccddeeffccddeeffaaddeeffaabbeeffaabbccffaabbccdd");
    hc_digits5(out, b, 6);
    assert_string_equal(out, "058708105556138052119572494877");
    /* Extremes: all zero, all 0xff (2^40-1 = 1099511627775 -> 27775). */
    memset(b, 0, sizeof b);
    hc_digits5(out, b, 2);
    assert_string_equal(out, "0000000000");
    memset(b, 0xff, sizeof b);
    hc_digits5(out, b, 1);
    assert_string_equal(out, "27775");
}

/* Seed 00 01 .. 1f -> IVK -> code. Written down in docs/PROTOCOL.md as the reference vector. */
static void test_hushcall_vector(void **state) {
    (void)state;
    uint8_t seed[32], want[32];
    for (int i = 0; i < 32; i++) seed[i] = (uint8_t)i;
    hc_identity id;
    hc_identity_from_seed(&id, seed);
    hc_test_unhex(want, sizeof want, "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8");
    assert_memory_equal(id.ivk, want, 32);
    char code[HC_CODE_STR_LEN + 1];
    hc_security_code(code, id.ivk);
    assert_string_equal(code, "62358 12718 51726 68672 16030 75348 15189 30677");
    char fpr[HC_FPR_LEN + 1];
    hc_fingerprint(fpr, id.ivk);
    assert_string_equal(fpr, "5647 5aa7 5463 474c 0285");
    hc_identity_wipe(&id);
}

static void check_format(const char *code) {
    assert_int_equal(strlen(code), HC_CODE_STR_LEN);
    assert_int_equal(HC_CODE_STR_LEN, 47);
    for (size_t i = 0; i < HC_CODE_STR_LEN; i++) {
        if (i % 6 == 5) assert_int_equal(code[i], ' ');
        else assert_true(isdigit((unsigned char)code[i]));
    }
}

static void test_format_and_dependence_on_ivk(void **state) {
    (void)state;
    char a[HC_CODE_STR_LEN + 1], b[HC_CODE_STR_LEN + 1];
    for (int round = 0; round < 50; round++) {
        hc_identity x, y;
        hc_identity_generate(&x);
        hc_identity_generate(&y);
        hc_security_code(a, x.ivk);
        check_format(a);
        /* Deterministic: the same leader gives every member the same code. */
        hc_security_code(b, x.ivk);
        assert_string_equal(a, b);
        /* Another leader: another code. */
        hc_security_code(b, y.ivk);
        check_format(b);
        assert_string_not_equal(a, b);
        hc_identity_wipe(&x);
        hc_identity_wipe(&y);
    }
    /* Any single flipped bit of the leader's key changes the code. */
    uint8_t ivk[32];
    for (int i = 0; i < 32; i++) ivk[i] = (uint8_t)(i * 13);
    hc_security_code(a, ivk);
    for (int bit = 0; bit < 256; bit++) {
        ivk[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        hc_security_code(b, ivk);
        assert_string_not_equal(a, b);
        ivk[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
}

/* verify CODE (issue 11 point 7): the code as typed, with or without blanks, and nothing else. */
static void test_code_as_typed(void **state) {
    (void)state;
    const char *code = "31415 92653 58979 32384 62643 38327 95028 84197";
    char d[HC_CODE_DIGITS + 1];
    assert_int_equal(hc_code_digits(d, code), 0);
    assert_string_equal(d, "3141592653589793238462643383279502884197");
    static const char *same[] = {"3141592653589793238462643383279502884197", " 31415\t92653 58979 32384 62643 38327 95028 84197 ",
                                 "3 1 4 1 5 9 2 6 5 3 5 8 9 7 9 3 2 3 8 4 6 2 6 4 3 3 8 3 2 7 9 5 0 2 8 8 4 1 9 7"};
    for (size_t i = 0; i < sizeof same / sizeof same[0]; i++) assert_true(hc_code_matches(same[i], code));
    static const char *other[] = {"", "31415", "31415 92653 58979 32384 62643 38327 95028 8419",
                                  "31415 92653 58979 32384 62643 38327 95028 841970",
                                  "31415 92653 58979 32384 62643 38327 95028 84198",
                                  "31415-92653-58979-32384-62643-38327-95028-84197",
                                  "31415 92653 58979 32384 62643 38327 95028 8419x"};
    for (size_t i = 0; i < sizeof other / sizeof other[0]; i++) assert_false(hc_code_matches(other[i], code));
    assert_false(hc_code_matches(NULL, code));
    assert_int_equal(hc_code_digits(d, "1234567890123456789012345678901234567890123"), -1);   /* no overflow */
}

int main(void) {
    if (sodium_init() < 0) return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_digits5_dave_vectors),
        cmocka_unit_test(test_hushcall_vector),
        cmocka_unit_test(test_format_and_dependence_on_ivk),
        cmocka_unit_test(test_code_as_typed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
