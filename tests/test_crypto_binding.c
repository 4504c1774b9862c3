/* Announcement binding: strict decoding (every malformation rejected), round trips, and the
 * signature over it (a relay can change nothing, not even the display name). */
#include "tests/testutil.h"

#include <sodium.h>

#include "crypto/binding.h"
#include "crypto/contexts.h"
#include "crypto/identity.h"

static void make_binding(hc_binding *b, const char *mid, const char *name, const hc_identity *id) {
    memset(b, 0, sizeof *b);
    snprintf(b->meeting_id, sizeof b->meeting_id, "%s", mid);
    for (int i = 0; i < HC_UUID_LEN; i++) b->uuid[i] = (uint8_t)(0x10 + i);
    b->index = 0x01020304;
    memcpy(b->ivk, id->ivk, HC_IVK_LEN);
    for (int i = 0; i < HC_PK_LEN; i++) b->pk[i] = (uint8_t)(0x80 + i);
    snprintf(b->name, sizeof b->name, "%s", name);
    for (int i = 0; i < HC_NONCE_LEN; i++) b->nonce[i] = (uint8_t)(0xC0 + i);
}

static void assert_binding_equal(const hc_binding *a, const hc_binding *b) {
    assert_string_equal(a->meeting_id, b->meeting_id);
    assert_memory_equal(a->uuid, b->uuid, HC_UUID_LEN);
    assert_int_equal(a->index, b->index);
    assert_memory_equal(a->ivk, b->ivk, HC_IVK_LEN);
    assert_memory_equal(a->pk, b->pk, HC_PK_LEN);
    assert_string_equal(a->name, b->name);
    assert_memory_equal(a->nonce, b->nonce, HC_NONCE_LEN);
}

static const char *name64 = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_";

static void test_roundtrip_valid(void **state) {
    (void)state;
    hc_identity id;
    hc_identity_generate(&id);
    const char *ids[] = {"0", "42", "12345678901234567890", "00000"};
    const char *names[] = {"A", "Alice", "Zoë Ångström", "日本語の名前", "emoji \xF0\x9F\x98\x80 ok", name64,
                           "tab-free name with spaces", "\xE2\x80\x8B" /* zero-width space: not a control */};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
        for (size_t j = 0; j < sizeof names / sizeof names[0]; j++) {
            hc_binding b, d;
            uint8_t enc[HC_BINDING_MAX], enc2[HC_BINDING_MAX];
            make_binding(&b, ids[i], names[j], &id);
            size_t n = hc_binding_encode(&b, enc, sizeof enc);
            assert_int_equal(n, 2 + strlen(ids[i]) + 16 + 4 + 32 + 32 + 2 + strlen(names[j]) + 24);
            /* Layout: lp(meeting_id) first, nonce last. */
            assert_int_equal((enc[0] << 8) | enc[1], strlen(ids[i]));
            assert_memory_equal(enc + 2, ids[i], strlen(ids[i]));
            assert_memory_equal(enc + n - HC_NONCE_LEN, b.nonce, HC_NONCE_LEN);
            assert_int_equal(hc_binding_decode(&d, enc, n), 0);
            assert_binding_equal(&b, &d);
            assert_int_equal(hc_binding_encode(&d, enc2, sizeof enc2), n);
            assert_memory_equal(enc, enc2, n);
            /* A buffer one byte short: refused, not truncated. */
            assert_int_equal(hc_binding_encode(&b, enc, n - 1), 0);
        }
    /* The largest binding fits HC_BINDING_MAX exactly. */
    hc_binding b;
    uint8_t enc[HC_BINDING_MAX];
    make_binding(&b, "12345678901234567890", name64, &id);
    assert_int_equal(hc_binding_encode(&b, enc, sizeof enc), HC_BINDING_MAX);
    hc_identity_wipe(&id);
}

static void test_encode_rejects_bad_fields(void **state) {
    (void)state;
    hc_identity id;
    hc_identity_generate(&id);
    uint8_t enc[HC_BINDING_MAX * 2];
    hc_binding b;
    const char *bad_ids[] = {"", "12a", " 12", "-1", "1.5"};
    for (size_t i = 0; i < sizeof bad_ids / sizeof bad_ids[0]; i++) {
        make_binding(&b, bad_ids[i], "ok", &id);
        assert_int_equal(hc_binding_encode(&b, enc, sizeof enc), 0);
    }
    make_binding(&b, "1", "ok", &id);
    memset(b.meeting_id, '1', sizeof b.meeting_id); /* 21 digits, no NUL */
    assert_int_equal(hc_binding_encode(&b, enc, sizeof enc), 0);
    const char *bad_names[] = {"", "a\nb", "\x1b[31mred", "del\x7f", "\xC3", "\xC0\x80", "\xED\xA0\x80",
                               "\xF4\x90\x80\x80", "\xC2\x85", "\xE2\x80\xAE" "evil", "\xE2\x81\xA6" "x", "\xE2\x80\xA8"};
    for (size_t i = 0; i < sizeof bad_names / sizeof bad_names[0]; i++) {
        make_binding(&b, "1", bad_names[i], &id);
        assert_int_equal(hc_binding_encode(&b, enc, sizeof enc), 0);
    }
    make_binding(&b, "1", "x", &id);
    memset(b.name, 'n', sizeof b.name); /* 65 bytes, no NUL */
    assert_int_equal(hc_binding_encode(&b, enc, sizeof enc), 0);
    hc_identity_wipe(&id);
}

static void test_valid_name_rules(void **state) {
    (void)state;
    static const struct { const char *s; int ok; } cases[] = {
        {"a", 1}, {"\xC2\xA0", 1} /* NBSP */, {"\xF0\x9F\x98\x80", 1}, {"\xEF\xBF\xBD", 1}, {"\xF4\x8F\xBF\xBF", 1},
        {"\x01", 0}, {"\x1f", 0}, {"\x7f", 0}, {"\xC2\x80", 0}, {"\xC2\x9F", 0},          /* C0, DEL, C1 */
        {"\xE2\x80\xA8", 0}, {"\xE2\x80\xA9", 0},                                          /* LS, PS */
        {"\xE2\x80\xAA", 0}, {"\xE2\x80\xAE", 0}, {"\xE2\x81\xA6", 0}, {"\xE2\x81\xA9", 0}, /* bidi */
        {"\x80", 0}, {"\xBF", 0}, {"\xC1\xBF", 0}, {"\xE0\x80\x80", 0}, {"\xF0\x80\x80\x80", 0}, /* stray, overlong */
        {"\xED\xBF\xBF", 0}, {"\xF4\x90\x80\x80", 0}, {"\xF8\x88\x80\x80\x80", 0}, {"\xFF", 0},  /* surrogate, >10FFFF */
        {"\xE2\x82", 0}, {"\xF0\x9F\x98", 0}, {"\xC3\x28", 0},                              /* truncated, bad cont. */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_int_equal(hc_valid_name(cases[i].s, strlen(cases[i].s)), cases[i].ok);
    assert_int_equal(hc_valid_name("a\0b", 3), 0); /* embedded NUL */
    assert_int_equal(hc_valid_name(name64, 64), 1);
    assert_int_equal(hc_valid_name("x", 0), 0);
    char n65[65];
    memset(n65, 'x', 65);
    assert_int_equal(hc_valid_name(n65, 65), 0);
    assert_int_equal(hc_valid_meeting_id("0123", 4), 1);
    assert_int_equal(hc_valid_meeting_id("", 0), 0);
    assert_int_equal(hc_valid_meeting_id("123456789012345678901", 21), 0);
    assert_int_equal(hc_valid_meeting_id("12\x00", 3), 0);
    assert_int_equal(hc_valid_meeting_id("1a", 2), 0);
}

/* Builds a binding byte by byte so malformed variants can be made. */
static size_t raw_binding(uint8_t *out, const char *mid, size_t mid_len, int mid_lp_delta,
                          const char *name, size_t name_len, int name_lp_delta) {
    size_t o = 0;
    size_t l = mid_len + (size_t)mid_lp_delta;
    out[o++] = (uint8_t)(l >> 8);
    out[o++] = (uint8_t)l;
    memcpy(out + o, mid, mid_len);
    o += mid_len;
    memset(out + o, 0x11, 16 + 4 + 32 + 32);
    o += 16 + 4 + 32 + 32;
    l = name_len + (size_t)name_lp_delta;
    out[o++] = (uint8_t)(l >> 8);
    out[o++] = (uint8_t)l;
    memcpy(out + o, name, name_len);
    o += name_len;
    memset(out + o, 0x22, 24);
    return o + 24;
}

static void test_decode_rejects_malformed(void **state) {
    (void)state;
    uint8_t raw[512];
    hc_binding d;
    size_t n = raw_binding(raw, "12345", 5, 0, "Bob", 3, 0);
    assert_int_equal(hc_binding_decode(&d, raw, n), 0);
    /* Every truncation and an extra byte. */
    for (size_t t = 0; t < n; t++) assert_int_equal(hc_binding_decode(&d, raw, t), -1);
    raw[n] = 0;
    assert_int_equal(hc_binding_decode(&d, raw, n + 1), -1);
    /* Wrong lengths in the lp fields. */
    for (int delta = -3; delta <= 3; delta++) {
        if (!delta) continue;
        n = raw_binding(raw, "12345", 5, delta, "Bob", 3, 0);
        assert_int_equal(hc_binding_decode(&d, raw, n), -1);
        n = raw_binding(raw, "12345", 5, 0, "Bob", 3, delta);
        assert_int_equal(hc_binding_decode(&d, raw, n), -1);
    }
    n = raw_binding(raw, "12345", 5, 0xFF00, "Bob", 3, 0);
    assert_int_equal(hc_binding_decode(&d, raw, n), -1);
    /* Field contents. */
    n = raw_binding(raw, "12a45", 5, 0, "Bob", 3, 0);
    assert_int_equal(hc_binding_decode(&d, raw, n), -1);
    n = raw_binding(raw, "", 0, 0, "Bob", 3, 0);
    assert_int_equal(hc_binding_decode(&d, raw, n), -1);
    n = raw_binding(raw, "123456789012345678901", 21, 0, "Bob", 3, 0);
    assert_int_equal(hc_binding_decode(&d, raw, n), -1);
    n = raw_binding(raw, "12345678901234567890", 20, 0, "Bob", 3, 0);
    assert_int_equal(hc_binding_decode(&d, raw, n), 0);
    n = raw_binding(raw, "1", 1, 0, "", 0, 0);
    assert_int_equal(hc_binding_decode(&d, raw, n), -1);
    char n65[65];
    memset(n65, 'x', 65);
    n = raw_binding(raw, "1", 1, 0, n65, 65, 0);
    assert_int_equal(hc_binding_decode(&d, raw, n), -1);
    n = raw_binding(raw, "1", 1, 0, n65, 64, 0);
    assert_int_equal(hc_binding_decode(&d, raw, n), 0);
    const char *bad_names[] = {"a\nb", "\x1b", "\xC0\x80", "\xFF", "\xE2\x80\xAE", "x\0y", "\xC3"};
    const size_t bad_len[] = {3, 1, 2, 1, 3, 3, 1};
    for (size_t i = 0; i < sizeof bad_names / sizeof bad_names[0]; i++) {
        n = raw_binding(raw, "1", 1, 0, bad_names[i], bad_len[i], 0);
        assert_int_equal(hc_binding_decode(&d, raw, n), -1);
    }
    /* Failure leaves no partial result behind. */
    n = raw_binding(raw, "777", 3, 0, "\x01", 1, 0);
    assert_int_equal(hc_binding_decode(&d, raw, n), -1);
    assert_string_equal(d.meeting_id, "");
    assert_int_equal(hc_binding_decode(&d, NULL, 0), -1);
}

static void test_sign_verify(void **state) {
    (void)state;
    hc_identity id, other;
    hc_identity_generate(&id);
    hc_identity_generate(&other);
    hc_binding b;
    uint8_t enc[HC_BINDING_MAX], sig[HC_SIG_LEN];
    make_binding(&b, "987654321", "Carol", &id);
    size_t n = hc_binding_encode(&b, enc, sizeof enc);
    hc_binding_sign(sig, enc, n, id.isk);
    assert_int_equal(hc_binding_verify(sig, enc, n), 0);
    assert_int_equal(hc_verify(sig, id.ivk, HC_CTX_SIG_ANNOUNCEMENT, enc, n), 0);
    /* Every bit of the binding: the relay can change nothing (key, name, index, nonce...). */
    for (size_t bit = 0; bit < n * 8; bit++) {
        enc[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        assert_int_equal(hc_binding_verify(sig, enc, n), -1);
        enc[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    /* Rename attack: re-encoded with another name. */
    hc_binding r = b;
    snprintf(r.name, sizeof r.name, "Mallory");
    uint8_t enc2[HC_BINDING_MAX];
    size_t n2 = hc_binding_encode(&r, enc2, sizeof enc2);
    assert_int_equal(hc_binding_verify(sig, enc2, n2), -1);
    /* Key substitution: the relay swaps in its own IVK and signs with it... under the wrong
     * context, or swaps the pk and keeps the old signature. Both fail. */
    r = b;
    memcpy(r.ivk, other.ivk, HC_IVK_LEN);
    n2 = hc_binding_encode(&r, enc2, sizeof enc2);
    hc_sign(sig, other.isk, HC_CTX_SIG_PARTICIPANTS, enc2, n2);
    assert_int_equal(hc_binding_verify(sig, enc2, n2), -1);
    hc_binding_sign(sig, enc2, n2, other.isk);
    assert_int_equal(hc_binding_verify(sig, enc2, n2), 0); /* its own binding: valid, but for its own IVK */
    /* A signature by a key that is not the binding's IVK fails. */
    hc_binding_sign(sig, enc, n, other.isk);
    assert_int_equal(hc_binding_verify(sig, enc, n), -1);
    /* A malformed binding never verifies, even with a signature over those exact bytes. */
    enc[n] = 0;
    hc_binding_sign(sig, enc, n + 1, id.isk);
    assert_int_equal(hc_binding_verify(sig, enc, n + 1), -1);
    hc_identity_wipe(&id);
    hc_identity_wipe(&other);
}

int main(void) {
    if (sodium_init() < 0) return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_valid),
        cmocka_unit_test(test_encode_rejects_bad_fields),
        cmocka_unit_test(test_valid_name_rules),
        cmocka_unit_test(test_decode_rejects_malformed),
        cmocka_unit_test(test_sign_verify),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
