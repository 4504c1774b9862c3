/* HKDF-SHA256 against RFC 5869 test cases 1-3, HKDF-SHA512 against the SFrame suite-5 vector
 * (RFC 9605 test-vectors.json: base_key 00..0f, empty salt), and the length limits. */
#include "tests/testutil.h"

#include <sodium.h>

#include "crypto/hkdf.h"

static void check_hex(const uint8_t *got, size_t n, const char *want_hex) {
    uint8_t want[512];
    size_t wn = hc_test_unhex(want, sizeof want, want_hex);
    assert_int_equal(wn, n);
    assert_memory_equal(got, want, n);
}

static void fill_range(uint8_t *p, uint8_t from, size_t n) {
    for (size_t i = 0; i < n; i++) p[i] = (uint8_t)(from + i);
}

static void rfc5869_case(const uint8_t *salt, size_t salt_len, const uint8_t *ikm, size_t ikm_len,
                         const uint8_t *info, size_t info_len, size_t L, const char *prk_hex, const char *okm_hex) {
    uint8_t prk[32], okm[128], okm2[128];
    hc_hkdf_sha256_extract(prk, salt, salt_len, ikm, ikm_len);
    check_hex(prk, 32, prk_hex);
    assert_int_equal(hc_hkdf_sha256_expand(okm, L, prk, info, info_len), 0);
    check_hex(okm, L, okm_hex);
    assert_int_equal(hc_hkdf_sha256(okm2, L, salt, salt_len, ikm, ikm_len, info, info_len), 0);
    check_hex(okm2, L, okm_hex);
}

static void test_rfc5869_case1(void **state) {
    (void)state;
    uint8_t ikm[22], salt[13], info[10];
    memset(ikm, 0x0b, sizeof ikm);
    fill_range(salt, 0x00, sizeof salt);
    fill_range(info, 0xf0, sizeof info);
    rfc5869_case(salt, sizeof salt, ikm, sizeof ikm, info, sizeof info, 42,
                 "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5",
                 "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");
}

static void test_rfc5869_case2(void **state) {
    (void)state;
    uint8_t ikm[80], salt[80], info[80];
    fill_range(ikm, 0x00, 80);
    fill_range(salt, 0x60, 80);
    fill_range(info, 0xb0, 80);
    rfc5869_case(salt, sizeof salt, ikm, sizeof ikm, info, sizeof info, 82,
                 "06a6b88c5853361a06104c9ceb35b45cef760014904671014a193f40c15fc244",
                 "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c"
                 "59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71"
                 "cc30c58179ec3e87c14c01d5c1f3434f1d87");
}

static void test_rfc5869_case3_empty_salt_info(void **state) {
    (void)state;
    uint8_t ikm[22];
    memset(ikm, 0x0b, sizeof ikm);
    const char *prk = "19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04";
    const char *okm = "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8";
    rfc5869_case(NULL, 0, ikm, sizeof ikm, NULL, 0, 42, prk, okm);
    /* An empty salt is the same as HashLen zero bytes (RFC 5869 §2.2). */
    uint8_t zeros[32] = {0};
    rfc5869_case(zeros, sizeof zeros, ikm, sizeof ikm, NULL, 0, 42, prk, okm);
}

/* SFrame RFC 9605 vector, suite 0x0005 (HKDF-SHA512), kid 0x123. */
static void test_sha512_sframe_suite5(void **state) {
    (void)state;
    uint8_t base[16], prk[64], key[32], salt[12], label[64];
    fill_range(base, 0, 16);
    hc_hkdf_sha512_extract(prk, NULL, 0, base, sizeof base);
    check_hex(prk, 64, "0fc3ea6de6aac97a35f194cf9bed94d4b5230f1cb45a785c9fe5dce9c188938a"
                       "b6ba005bc4c0a19181599e9d1bcf7b74aca48b60bf5e254e546d809313e083a3");
    size_t ll = hc_test_unhex(label, sizeof label, "534672616d6520312e3020536563726574206b65792000000000000001230005");
    assert_int_equal(hc_hkdf_sha512_expand(key, sizeof key, prk, label, ll), 0);
    check_hex(key, 32, "d3e27b0d4a5ae9e55df01a70e6d4d28d969b246e2936f4b7a5d9b494da6b9633");
    ll = hc_test_unhex(label, sizeof label, "534672616d6520312e30205365637265742073616c742000000000000001230005");
    assert_int_equal(hc_hkdf_sha512_expand(salt, sizeof salt, prk, label, ll), 0);
    check_hex(salt, 12, "84991c167b8cd23c93708ec7");
    /* The one-call form agrees. */
    uint8_t key2[32];
    ll = hc_test_unhex(label, sizeof label, "534672616d6520312e3020536563726574206b65792000000000000001230005");
    assert_int_equal(hc_hkdf_sha512(key2, sizeof key2, NULL, 0, base, sizeof base, label, ll), 0);
    assert_memory_equal(key, key2, 32);
}

static void test_expand_limits_and_prefix(void **state) {
    (void)state;
    static uint8_t big[255 * 64 + 1];
    uint8_t prk[64] = {1}, shorter[100];
    assert_int_equal(hc_hkdf_sha256_expand(big, 255 * 32, prk, NULL, 0), 0);
    assert_int_equal(hc_hkdf_sha256_expand(big, 255 * 32 + 1, prk, NULL, 0), -1);
    assert_int_equal(hc_hkdf_sha256(big, 255 * 32 + 1, NULL, 0, prk, 32, NULL, 0), -1);
    assert_int_equal(hc_hkdf_sha512_expand(big, 255 * 64, prk, NULL, 0), 0);
    assert_int_equal(hc_hkdf_sha512_expand(big, 255 * 64 + 1, prk, NULL, 0), -1);
    assert_int_equal(hc_hkdf_sha512(big, 255 * 64 + 1, NULL, 0, prk, 32, NULL, 0), -1);
    /* OKM of a shorter length is a prefix of a longer one (same T(i) blocks). */
    assert_int_equal(hc_hkdf_sha256_expand(big, 200, prk, (const uint8_t *)"x", 1), 0);
    assert_int_equal(hc_hkdf_sha256_expand(shorter, 33, prk, (const uint8_t *)"x", 1), 0);
    assert_memory_equal(big, shorter, 33);
    /* A different info gives a different key. */
    assert_int_equal(hc_hkdf_sha256_expand(shorter, 32, prk, (const uint8_t *)"y", 1), 0);
    assert_memory_not_equal(big, shorter, 32);
    /* Zero-length output is allowed and writes nothing. */
    shorter[0] = 0xAA;
    assert_int_equal(hc_hkdf_sha256_expand(shorter, 0, prk, NULL, 0), 0);
    assert_int_equal(shorter[0], 0xAA);
}

int main(void) {
    if (sodium_init() < 0) return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc5869_case1),
        cmocka_unit_test(test_rfc5869_case2),
        cmocka_unit_test(test_rfc5869_case3_empty_salt_info),
        cmocka_unit_test(test_sha512_sframe_suite5),
        cmocka_unit_test(test_expand_limits_and_prefix),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
