/* Meeting-key boxes: the pairwise key is symmetric and bound to both parties, a box opens only
 * for its recipient with its exact Meta, and every change to Meta, nonce, ciphertext or tag, or
 * to the box length, makes it fail (and leaves no key behind). */
#include "tests/testutil.h"

#include <sodium.h>

#include "crypto/contexts.h"
#include "crypto/hkdf.h"
#include "crypto/keybox.h"

static void make_meta(hc_box_meta *m, const char *mid, uint32_t leader, uint32_t recipient) {
    memset(m, 0, sizeof *m);
    snprintf(m->meeting_id, sizeof m->meeting_id, "%s", mid);
    for (int i = 0; i < HC_UUID_LEN; i++) m->uuid[i] = (uint8_t)(0xA0 + i);
    m->leader_index = leader;
    m->recipient_index = recipient;
    for (int i = 0; i < HC_NONCE_LEN; i++) m->nonce[i] = (uint8_t)(recipient * 3 + i);
}

static void test_pairwise_key_symmetric(void **state) {
    (void)state;
    hc_ephemeral leader, a, b;
    hc_ephemeral_generate(&leader);
    hc_ephemeral_generate(&a);
    hc_ephemeral_generate(&b);
    uint8_t k_la[32], k_al[32], k_lb[32], k_bl[32];
    assert_int_equal(hc_pairwise_key(k_la, a.pk, leader.sk), 0);
    assert_int_equal(hc_pairwise_key(k_al, leader.pk, a.sk), 0);
    assert_memory_equal(k_la, k_al, 32);
    assert_int_equal(hc_pairwise_key(k_lb, b.pk, leader.sk), 0);
    assert_int_equal(hc_pairwise_key(k_bl, leader.pk, b.sk), 0);
    assert_memory_equal(k_lb, k_bl, 32);
    assert_memory_not_equal(k_la, k_lb, 32);
    /* K = HKDF-SHA256(salt "", crypto_box_beforenm(pk, sk), info ctx, 32). */
    uint8_t shared[32], ref[32];
    assert_int_equal(crypto_box_beforenm(shared, a.pk, leader.sk), 0);
    assert_int_equal(hc_hkdf_sha256(ref, 32, NULL, 0, shared, 32, (const uint8_t *)HC_CTX_KDF_KEYBOX,
                                    strlen(HC_CTX_KDF_KEYBOX)), 0);
    assert_memory_equal(ref, k_la, 32);
    /* The raw shared secret is not the box key (a KDF with its own context sits between). */
    assert_memory_not_equal(shared, k_la, 32);
    /* Low-order public key (all zero): refused, and the output is zeroed. */
    uint8_t zero_pk[32] = {0}, out[32], zeros[32] = {0};
    memset(out, 0xAA, sizeof out);
    assert_int_equal(hc_pairwise_key(out, zero_pk, leader.sk), -1);
    assert_memory_equal(out, zeros, 32);
    /* Wiping clears the secret. */
    hc_ephemeral_wipe(&a);
    assert_memory_equal(a.sk, zeros, 32);
    hc_ephemeral_wipe(&leader);
    hc_ephemeral_wipe(&b);
}

static void test_meta_roundtrip_and_malformed(void **state) {
    (void)state;
    hc_box_meta m, d;
    uint8_t enc[HC_META_MAX + 4], enc2[HC_META_MAX];
    make_meta(&m, "31415926535", 1, 0xFFFFFFFF);
    size_t n = hc_box_meta_encode(&m, enc, sizeof enc);
    assert_int_equal(n, 2 + 11 + 16 + 4 + 4 + 24);
    assert_int_equal(hc_box_meta_decode(&d, enc, n), 0);
    assert_string_equal(d.meeting_id, m.meeting_id);
    assert_memory_equal(d.uuid, m.uuid, 16);
    assert_int_equal(d.leader_index, 1);
    assert_true(d.recipient_index == 0xFFFFFFFF);
    assert_memory_equal(d.nonce, m.nonce, 24);
    assert_int_equal(hc_box_meta_encode(&d, enc2, sizeof enc2), n);
    assert_memory_equal(enc, enc2, n);
    for (size_t t = 0; t < n; t++) assert_int_equal(hc_box_meta_decode(&d, enc, t), -1);
    enc[n] = 0;
    assert_int_equal(hc_box_meta_decode(&d, enc, n + 1), -1);
    /* lp length off by one either way; a non-digit. */
    enc[1]++;
    assert_int_equal(hc_box_meta_decode(&d, enc, n), -1);
    enc[1] -= 2;
    assert_int_equal(hc_box_meta_decode(&d, enc, n), -1);
    enc[1]++;
    enc[4] = 'x';
    assert_int_equal(hc_box_meta_decode(&d, enc, n), -1);
    /* Bad meeting ids are not encoded; a short buffer is refused. */
    make_meta(&m, "", 1, 2);
    assert_int_equal(hc_box_meta_encode(&m, enc, sizeof enc), 0);
    make_meta(&m, "1x", 1, 2);
    assert_int_equal(hc_box_meta_encode(&m, enc, sizeof enc), 0);
    make_meta(&m, "12345678901234567890", 1, 2);
    assert_int_equal(hc_box_meta_encode(&m, enc, sizeof enc), HC_META_MAX);
    assert_int_equal(hc_box_meta_encode(&m, enc, HC_META_MAX - 1), 0);
}

typedef struct {
    uint8_t k_a[32], k_b[32];
    uint8_t meta_a[HC_META_MAX], meta_b[HC_META_MAX];
    size_t la, lb;
    uint8_t mk[32];
} fixture;

static void setup_fixture(fixture *f) {
    hc_ephemeral leader, a, b;
    hc_ephemeral_generate(&leader);
    hc_ephemeral_generate(&a);
    hc_ephemeral_generate(&b);
    assert_int_equal(hc_pairwise_key(f->k_a, a.pk, leader.sk), 0);
    assert_int_equal(hc_pairwise_key(f->k_b, b.pk, leader.sk), 0);
    hc_box_meta m;
    make_meta(&m, "2718281828", 1, 2);
    f->la = hc_box_meta_encode(&m, f->meta_a, sizeof f->meta_a);
    make_meta(&m, "2718281828", 1, 3);
    f->lb = hc_box_meta_encode(&m, f->meta_b, sizeof f->meta_b);
    assert_true(f->la > 0 && f->lb > 0);
    randombytes_buf(f->mk, 32);
    hc_ephemeral_wipe(&leader);
    hc_ephemeral_wipe(&a);
    hc_ephemeral_wipe(&b);
}

static void assert_failed_open(const uint8_t *mk, uint32_t epoch, uint16_t suite) {
    uint8_t zeros[32] = {0};
    assert_memory_equal(mk, zeros, 32);
    assert_int_equal(epoch, 0);
    assert_int_equal(suite, 0);
}

static void test_seal_open_and_recipient_binding(void **state) {
    (void)state;
    fixture f;
    setup_fixture(&f);
    uint8_t box[HC_BOX_LEN], box2[HC_BOX_LEN], mk[32];
    uint32_t epoch;
    uint16_t suite;
    assert_int_equal(HC_BOX_LEN, 24 + 32 + 4 + 2 + 16);
    assert_int_equal(hc_keybox_seal(box, f.k_a, f.meta_a, f.la, f.mk, 7, 0xF001), 0);
    assert_int_equal(hc_keybox_open(mk, &epoch, &suite, f.k_a, f.meta_a, f.la, box, sizeof box), 0);
    assert_memory_equal(mk, f.mk, 32);
    assert_int_equal(epoch, 7);
    assert_int_equal(suite, 0xF001);
    /* A box for A does not open for B: not with B's key, not with B's Meta, not with both. */
    assert_int_equal(hc_keybox_open(mk, &epoch, &suite, f.k_b, f.meta_a, f.la, box, sizeof box), -1);
    assert_failed_open(mk, epoch, suite);
    assert_int_equal(hc_keybox_open(mk, &epoch, &suite, f.k_a, f.meta_b, f.lb, box, sizeof box), -1);
    assert_failed_open(mk, epoch, suite);
    assert_int_equal(hc_keybox_open(mk, &epoch, &suite, f.k_b, f.meta_b, f.lb, box, sizeof box), -1);
    assert_failed_open(mk, epoch, suite);
    /* Random nonce: sealing the same thing twice gives different boxes, both valid. */
    assert_int_equal(hc_keybox_seal(box2, f.k_a, f.meta_a, f.la, f.mk, 7, 0xF001), 0);
    assert_memory_not_equal(box, box2, 24);
    assert_int_equal(hc_keybox_open(mk, &epoch, &suite, f.k_a, f.meta_a, f.la, box2, sizeof box2), 0);
    /* Empty Meta is refused on both sides. */
    assert_int_equal(hc_keybox_seal(box2, f.k_a, f.meta_a, 0, f.mk, 7, 0xF001), -1);
    assert_int_equal(hc_keybox_open(mk, &epoch, &suite, f.k_a, f.meta_a, 0, box, sizeof box), -1);
    assert_failed_open(mk, epoch, suite);
}

static void test_every_bit_of_box_and_meta(void **state) {
    (void)state;
    fixture f;
    setup_fixture(&f);
    uint8_t box[HC_BOX_LEN + 1], mk[32];
    uint32_t epoch;
    uint16_t suite;
    assert_int_equal(hc_keybox_seal(box, f.k_a, f.meta_a, f.la, f.mk, 0x01020304, 0x0005), 0);
    /* Nonce (bytes 0..23), ciphertext, tag: every bit. */
    for (size_t bit = 0; bit < HC_BOX_LEN * 8; bit++) {
        box[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        assert_int_equal(hc_keybox_open(mk, &epoch, &suite, f.k_a, f.meta_a, f.la, box, HC_BOX_LEN), -1);
        assert_failed_open(mk, epoch, suite);
        box[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    /* Meta (hence the AD): every bit. */
    for (size_t bit = 0; bit < f.la * 8; bit++) {
        f.meta_a[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        assert_int_equal(hc_keybox_open(mk, &epoch, &suite, f.k_a, f.meta_a, f.la, box, HC_BOX_LEN), -1);
        f.meta_a[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    /* Meta shortened or extended. */
    assert_int_equal(hc_keybox_open(mk, &epoch, &suite, f.k_a, f.meta_a, f.la - 1, box, HC_BOX_LEN), -1);
    f.meta_a[f.la] = 0;
    assert_int_equal(hc_keybox_open(mk, &epoch, &suite, f.k_a, f.meta_a, f.la + 1, box, HC_BOX_LEN), -1);
    /* Key: every bit. */
    for (size_t bit = 0; bit < 256; bit++) {
        f.k_a[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        assert_int_equal(hc_keybox_open(mk, &epoch, &suite, f.k_a, f.meta_a, f.la, box, HC_BOX_LEN), -1);
        f.k_a[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    /* Truncated and extended boxes. */
    for (size_t t = 0; t < HC_BOX_LEN; t++) {
        assert_int_equal(hc_keybox_open(mk, &epoch, &suite, f.k_a, f.meta_a, f.la, box, t), -1);
        assert_failed_open(mk, epoch, suite);
    }
    box[HC_BOX_LEN] = 0;
    assert_int_equal(hc_keybox_open(mk, &epoch, &suite, f.k_a, f.meta_a, f.la, box, HC_BOX_LEN + 1), -1);
    assert_int_equal(hc_keybox_open(mk, &epoch, &suite, f.k_a, f.meta_a, f.la, NULL, 0), -1);
    /* After all that, the genuine box still opens. */
    assert_int_equal(hc_keybox_open(mk, &epoch, &suite, f.k_a, f.meta_a, f.la, box, HC_BOX_LEN), 0);
    assert_memory_equal(mk, f.mk, 32);
    assert_true(epoch == 0x01020304);
    assert_int_equal(suite, 0x0005);
}

/* The AD is exactly H(ctx) || H(Meta): a box made by hand with libsodium opens. */
static void test_ad_construction(void **state) {
    (void)state;
    fixture f;
    setup_fixture(&f);
    uint8_t ad[64], pt[38], box[HC_BOX_LEN], mk[32];
    crypto_hash_sha256(ad, (const uint8_t *)HC_CTX_AD_KEYBOX, strlen(HC_CTX_AD_KEYBOX));
    crypto_hash_sha256(ad + 32, f.meta_a, f.la);
    memcpy(pt, f.mk, 32);
    pt[32] = 0; pt[33] = 0; pt[34] = 0x01; pt[35] = 0x00; /* epoch 256 */
    pt[36] = 0xF0; pt[37] = 0x01;
    randombytes_buf(box, 24);
    crypto_aead_xchacha20poly1305_ietf_encrypt(box + 24, NULL, pt, sizeof pt, ad, sizeof ad, NULL, box, f.k_a);
    uint32_t epoch;
    uint16_t suite;
    assert_int_equal(hc_keybox_open(mk, &epoch, &suite, f.k_a, f.meta_a, f.la, box, sizeof box), 0);
    assert_memory_equal(mk, f.mk, 32);
    assert_int_equal(epoch, 256);
    assert_int_equal(suite, 0xF001);
    /* The same box under an AD with another context string does not open. */
    crypto_hash_sha256(ad, (const uint8_t *)HC_CTX_KDF_KEYBOX, strlen(HC_CTX_KDF_KEYBOX));
    crypto_aead_xchacha20poly1305_ietf_encrypt(box + 24, NULL, pt, sizeof pt, ad, sizeof ad, NULL, box, f.k_a);
    assert_int_equal(hc_keybox_open(mk, &epoch, &suite, f.k_a, f.meta_a, f.la, box, sizeof box), -1);
}

int main(void) {
    if (sodium_init() < 0) return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pairwise_key_symmetric),
        cmocka_unit_test(test_meta_roundtrip_and_malformed),
        cmocka_unit_test(test_seal_open_and_recipient_binding),
        cmocka_unit_test(test_every_bit_of_box_and_meta),
        cmocka_unit_test(test_ad_construction),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
