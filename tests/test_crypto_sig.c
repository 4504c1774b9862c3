/* Context signatures: Sign(ISK, ctx, M) = Ed25519 over H(ctx) || H(M). A signature holds only
 * for its own context, message and key, and any flipped bit breaks it. */
#include "tests/testutil.h"

#include <sodium.h>

#include "crypto/contexts.h"
#include "crypto/identity.h"
#include "crypto/sig.h"

static const char *all_ctx[] = {
    HC_CTX_SIG_ANNOUNCEMENT, HC_CTX_SIG_PARTICIPANTS, HC_CTX_KDF_KEYBOX,
    HC_CTX_AD_KEYBOX, HC_CTX_SECURITY_CODE, HC_CTX_KDF_FRAMEKEY,
};
#define NCTX (sizeof all_ctx / sizeof all_ctx[0])

static void test_sign_verify_roundtrip(void **state) {
    (void)state;
    hc_identity id;
    hc_identity_generate(&id);
    const uint8_t m[] = "the binding bytes";
    uint8_t sig[HC_SIG_LEN];
    for (size_t c = 0; c < NCTX; c++) {
        hc_sign(sig, id.isk, all_ctx[c], m, sizeof m);
        assert_int_equal(hc_verify(sig, id.ivk, all_ctx[c], m, sizeof m), 0);
    }
    /* Empty message is a message like any other. */
    hc_sign(sig, id.isk, HC_CTX_SIG_ANNOUNCEMENT, NULL, 0);
    assert_int_equal(hc_verify(sig, id.ivk, HC_CTX_SIG_ANNOUNCEMENT, NULL, 0), 0);
    assert_int_equal(hc_verify(sig, id.ivk, HC_CTX_SIG_ANNOUNCEMENT, m, 1), -1);
    hc_identity_wipe(&id);
}

/* The construction is exactly Ed25519(H(ctx) || H(M)): check against libsodium directly. */
static void test_construction_is_hash_concat(void **state) {
    (void)state;
    hc_identity id;
    uint8_t seed[32];
    for (int i = 0; i < 32; i++) seed[i] = (uint8_t)i;
    hc_identity_from_seed(&id, seed);
    const uint8_t m[] = {1, 2, 3};
    uint8_t in[64], sig[64], ref[64];
    crypto_hash_sha256(in, (const uint8_t *)HC_CTX_SIG_PARTICIPANTS, strlen(HC_CTX_SIG_PARTICIPANTS));
    crypto_hash_sha256(in + 32, m, sizeof m);
    crypto_sign_detached(ref, NULL, in, 64, id.isk);
    hc_sign(sig, id.isk, HC_CTX_SIG_PARTICIPANTS, m, sizeof m);
    assert_memory_equal(sig, ref, 64);
    uint8_t hm[32];
    hc_hash(hm, m, sizeof m);
    assert_memory_equal(hm, in + 32, 32);
    hc_sign_hash(sig, id.isk, HC_CTX_SIG_PARTICIPANTS, hm);
    assert_memory_equal(sig, ref, 64);
    assert_int_equal(hc_verify_hash(ref, id.ivk, HC_CTX_SIG_PARTICIPANTS, hm), 0);
    hc_identity_wipe(&id);
}

static void test_never_under_other_context(void **state) {
    (void)state;
    hc_identity id;
    hc_identity_generate(&id);
    const uint8_t m[] = "message";
    uint8_t sig[HC_SIG_LEN], hm[32];
    hc_hash(hm, m, sizeof m);
    for (size_t a = 0; a < NCTX; a++) {
        hc_sign(sig, id.isk, all_ctx[a], m, sizeof m);
        for (size_t b = 0; b < NCTX; b++) {
            int want = a == b ? 0 : -1;
            assert_int_equal(hc_verify(sig, id.ivk, all_ctx[b], m, sizeof m), want);
            assert_int_equal(hc_verify_hash(sig, id.ivk, all_ctx[b], hm), want);
        }
        /* Nor under a context that differs by a suffix or is empty. */
        assert_int_equal(hc_verify(sig, id.ivk, "hushcall-1-Sig-Announcement ", m, sizeof m), -1);
        assert_int_equal(hc_verify(sig, id.ivk, "", m, sizeof m), -1);
    }
    hc_identity_wipe(&id);
}

static void test_changed_message_fails(void **state) {
    (void)state;
    hc_identity id;
    hc_identity_generate(&id);
    uint8_t m[40], sig[HC_SIG_LEN];
    for (size_t i = 0; i < sizeof m; i++) m[i] = (uint8_t)(i * 7);
    hc_sign(sig, id.isk, HC_CTX_SIG_ANNOUNCEMENT, m, sizeof m);
    for (size_t bit = 0; bit < sizeof m * 8; bit++) {
        m[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        assert_int_equal(hc_verify(sig, id.ivk, HC_CTX_SIG_ANNOUNCEMENT, m, sizeof m), -1);
        m[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    assert_int_equal(hc_verify(sig, id.ivk, HC_CTX_SIG_ANNOUNCEMENT, m, sizeof m - 1), -1);
    assert_int_equal(hc_verify(sig, id.ivk, HC_CTX_SIG_ANNOUNCEMENT, m, sizeof m), 0);
    hc_identity_wipe(&id);
}

static void test_other_key_fails(void **state) {
    (void)state;
    hc_identity a, b;
    hc_identity_generate(&a);
    hc_identity_generate(&b);
    const uint8_t m[] = "x";
    uint8_t sig[HC_SIG_LEN];
    hc_sign(sig, a.isk, HC_CTX_SIG_ANNOUNCEMENT, m, sizeof m);
    assert_int_equal(hc_verify(sig, b.ivk, HC_CTX_SIG_ANNOUNCEMENT, m, sizeof m), -1);
    assert_int_equal(hc_verify(sig, a.ivk, HC_CTX_SIG_ANNOUNCEMENT, m, sizeof m), 0);
    /* Each bit of the verification key matters too. */
    for (size_t bit = 0; bit < HC_IVK_LEN * 8; bit++) {
        a.ivk[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        assert_int_equal(hc_verify(sig, a.ivk, HC_CTX_SIG_ANNOUNCEMENT, m, sizeof m), -1);
        a.ivk[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    hc_identity_wipe(&a);
    hc_identity_wipe(&b);
}

static void test_every_signature_bit_flip_fails(void **state) {
    (void)state;
    hc_identity id;
    hc_identity_generate(&id);
    const uint8_t m[] = "heartbeat";
    uint8_t sig[HC_SIG_LEN];
    hc_sign(sig, id.isk, HC_CTX_SIG_PARTICIPANTS, m, sizeof m);
    for (size_t bit = 0; bit < HC_SIG_LEN * 8; bit++) {
        sig[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        assert_int_equal(hc_verify(sig, id.ivk, HC_CTX_SIG_PARTICIPANTS, m, sizeof m), -1);
        sig[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    assert_int_equal(hc_verify(sig, id.ivk, HC_CTX_SIG_PARTICIPANTS, m, sizeof m), 0);
    hc_identity_wipe(&id);
}

int main(void) {
    if (sodium_init() < 0) return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sign_verify_roundtrip),
        cmocka_unit_test(test_construction_is_hash_concat),
        cmocka_unit_test(test_never_under_other_context),
        cmocka_unit_test(test_changed_message_fails),
        cmocka_unit_test(test_other_key_fails),
        cmocka_unit_test(test_every_signature_bit_flip_fails),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
