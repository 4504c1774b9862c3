/* SFrame (RFC 9605): every header vector, key schedule for all five RFC suites, suite 0x0005
 * end to end where AES-GCM runs, malformed headers, exhaustive bit flips, the sender's CTR
 * discipline, and pinned vectors for our private suite 0xF001 (computed independently with
 * Python's `cryptography` package: HKDF from hmac/hashlib, ChaCha20Poly1305 AEAD). */
#include "tests/testutil.h"

#include <errno.h>
#include <sodium.h>

#include "crypto/sframe.h"

/* ---- a tiny JSON reader, just enough for test-vectors.json --------------------------------
 * Numbers must be read as uint64 (kid and ctr go up to 2^64-1, beyond a double's precision),
 * so values are kept as text spans and converted by the caller. */
typedef struct { const char *p, *end; } span;

static const char *ws(const char *p, const char *end) {
    while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) p++;
    return p;
}

/* Returns the end of the value starting at p (after skipping whitespace), or NULL. */
static const char *skip_value(const char *p, const char *end) {
    p = ws(p, end);
    if (p >= end) return NULL;
    if (*p == '"') {
        for (p++; p < end; p++) {
            if (*p == '\\') { p++; continue; }
            if (*p == '"') return p + 1;
        }
        return NULL;
    }
    if (*p == '{' || *p == '[') {
        char close = *p == '{' ? '}' : ']';
        p = ws(p + 1, end);
        if (p < end && *p == close) return p + 1;
        for (;;) {
            if (close == '}') {
                p = skip_value(p, end); /* key */
                if (!p) return NULL;
                p = ws(p, end);
                if (p >= end || *p != ':') return NULL;
                p++;
            }
            p = skip_value(p, end);
            if (!p) return NULL;
            p = ws(p, end);
            if (p < end && *p == ',') { p++; continue; }
            if (p < end && *p == close) return p + 1;
            return NULL;
        }
    }
    while (p < end && (*p == '-' || *p == '+' || *p == '.' || (*p >= '0' && *p <= '9') ||
                       (*p >= 'a' && *p <= 'z') || *p == 'E'))
        p++;
    return p;
}

/* Looks up key in the object `obj` (starting at '{'); *val gets the value span. */
static int obj_get(span obj, const char *key, span *val) {
    const char *p = ws(obj.p, obj.end);
    if (p >= obj.end || *p != '{') return -1;
    p = ws(p + 1, obj.end);
    size_t kl = strlen(key);
    while (p < obj.end && *p == '"') {
        const char *k = p + 1, *kend = skip_value(p, obj.end);
        if (!kend) return -1;
        p = ws(kend, obj.end);
        if (p >= obj.end || *p != ':') return -1;
        const char *v = ws(p + 1, obj.end), *vend = skip_value(v, obj.end);
        if (!vend) return -1;
        if ((size_t)(kend - 1 - k) == kl && !memcmp(k, key, kl)) {
            val->p = v;
            val->end = vend;
            return 0;
        }
        p = ws(vend, obj.end);
        if (p < obj.end && *p == ',') p = ws(p + 1, obj.end);
    }
    return -1;
}

/* Iterates an array: *it starts at '[' (first call) and advances; returns 0 with *elem, or -1 at the end. */
static int arr_next(span *it, span *elem) {
    const char *p = ws(it->p, it->end);
    if (p < it->end && (*p == '[' || *p == ',')) p = ws(p + 1, it->end);
    if (p >= it->end || *p == ']') return -1;
    const char *e = skip_value(p, it->end);
    if (!e) return -1;
    elem->p = p;
    elem->end = e;
    it->p = e;
    return 0;
}

static uint64_t json_u64(span obj, const char *key) {
    span v;
    char buf[32];
    assert_int_equal(obj_get(obj, key, &v), 0);
    size_t n = (size_t)(v.end - v.p);
    assert_true(n > 0 && n < sizeof buf && v.p[0] >= '0' && v.p[0] <= '9');
    memcpy(buf, v.p, n);
    buf[n] = '\0';
    char *e;
    errno = 0;
    unsigned long long x = strtoull(buf, &e, 10);
    assert_int_equal(errno, 0);
    assert_true(*e == '\0');
    return (uint64_t)x;
}

/* A hex string value -> bytes. */
static size_t json_hex(span obj, const char *key, uint8_t *out, size_t cap) {
    span v;
    char buf[1024];
    assert_int_equal(obj_get(obj, key, &v), 0);
    size_t n = (size_t)(v.end - v.p);
    assert_true(n >= 2 && v.p[0] == '"' && v.end[-1] == '"' && n - 2 < sizeof buf);
    memcpy(buf, v.p + 1, n - 2);
    buf[n - 2] = '\0';
    return hc_test_unhex(out, cap, buf);
}

static char *json_text;
static span json_root;

static int load_vectors(void **state) {
    (void)state;
    char path[512];
    snprintf(path, sizeof path, "%s/sframe-rfc9605.json", hc_test_data_dir());
    FILE *f = fopen(path, "rb");
    if (!f) { fprintf(stderr, "cannot open %s\n", path); return -1; }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    json_text = malloc((size_t)n + 1);
    if (!json_text || fread(json_text, 1, (size_t)n, f) != (size_t)n) { fclose(f); return -1; }
    fclose(f);
    json_text[n] = '\0';
    json_root.p = json_text;
    json_root.end = json_text + n;
    return skip_value(json_root.p, json_root.end) ? 0 : -1;
}

static int free_vectors(void **state) {
    (void)state;
    free(json_text);
    json_text = NULL;
    return 0;
}

/* ---- RFC 9605 vectors ---- */

static void test_rfc_header_vectors(void **state) {
    (void)state;
    span arr, it, e;
    assert_int_equal(obj_get(json_root, "header", &arr), 0);
    it = arr;
    int count = 0;
    while (arr_next(&it, &e) == 0) {
        uint64_t kid = json_u64(e, "kid"), ctr = json_u64(e, "ctr"), k2, c2;
        uint8_t want[32], got[HC_SFRAME_HDR_MAX], ext[HC_SFRAME_HDR_MAX + 4];
        size_t wn = json_hex(e, "encoded", want, sizeof want);
        size_t n = hc_sframe_header_encode(got, kid, ctr);
        assert_int_equal(n, wn);
        assert_memory_equal(got, want, wn);
        assert_int_equal(hc_sframe_header_decode(want, wn, &k2, &c2), (int)wn);
        assert_true(k2 == kid && c2 == ctr);
        /* Followed by payload bytes: the header length is still exact. */
        memcpy(ext, want, wn);
        memset(ext + wn, 0xEE, 4);
        assert_int_equal(hc_sframe_header_decode(ext, wn + 4, &k2, &c2), (int)wn);
        assert_true(k2 == kid && c2 == ctr);
        /* Every truncation fails. */
        for (size_t t = 0; t < wn; t++) assert_int_equal(hc_sframe_header_decode(want, t, &k2, &c2), -1);
        count++;
    }
    assert_int_equal(count, 289);
}

static void test_rfc_key_schedule_all_suites(void **state) {
    (void)state;
    span arr, it, e;
    assert_int_equal(obj_get(json_root, "sframe", &arr), 0);
    it = arr;
    int seen = 0;
    while (arr_next(&it, &e) == 0) {
        uint16_t suite = (uint16_t)json_u64(e, "cipher_suite");
        uint64_t kid = json_u64(e, "kid"), ctr = json_u64(e, "ctr");
        uint8_t base[64], want[256], secret[64], key[64], salt[12], nonce[12], meta[64], label[64], hdr[HC_SFRAME_HDR_MAX];
        size_t nk, nn, nt, nh;
        assert_int_equal(hc_sframe_suite_params(suite, &nk, &nn, &nt, &nh), 0);
        size_t bl = json_hex(e, "base_key", base, sizeof base);
        assert_int_equal(hc_sframe_derive_raw(suite, kid, base, bl, secret, key, salt), 0);
        assert_int_equal(json_hex(e, "sframe_secret", want, sizeof want), nh);
        assert_memory_equal(secret, want, nh);
        assert_int_equal(json_hex(e, "sframe_key", want, sizeof want), nk);
        assert_memory_equal(key, want, nk);
        assert_int_equal(json_hex(e, "sframe_salt", want, sizeof want), nn);
        assert_memory_equal(salt, want, nn);
        hc_sframe_nonce(nonce, salt, nn, ctr);
        assert_int_equal(json_hex(e, "nonce", want, sizeof want), 12);
        assert_memory_equal(nonce, want, 12);
        /* Labels: text || u64(KID) || u16(suite), as the library builds them. */
        for (int which = 0; which < 2; which++) {
            const char *txt = which ? "SFrame 1.0 Secret salt " : "SFrame 1.0 Secret key ";
            size_t tl = strlen(txt);
            memcpy(label, txt, tl);
            for (int i = 0; i < 8; i++) label[tl + i] = (uint8_t)(kid >> (56 - 8 * i));
            label[tl + 8] = (uint8_t)(suite >> 8);
            label[tl + 9] = (uint8_t)suite;
            size_t wl = json_hex(e, which ? "sframe_salt_label" : "sframe_key_label", want, sizeof want);
            assert_int_equal(wl, tl + 10);
            assert_memory_equal(label, want, wl);
        }
        /* aad = header || metadata; ct starts with the header. */
        size_t hl = hc_sframe_header_encode(hdr, kid, ctr);
        size_t ml = json_hex(e, "metadata", meta, sizeof meta);
        size_t al = json_hex(e, "aad", want, sizeof want);
        assert_int_equal(al, hl + ml);
        assert_memory_equal(want, hdr, hl);
        assert_memory_equal(want + hl, meta, ml);
        json_hex(e, "ct", want, sizeof want);
        assert_memory_equal(want, hdr, hl);
        seen |= 1 << suite;
    }
    assert_int_equal(seen, 0x3E); /* suites 1..5, each once */
}

static void test_rfc_suite5_encrypt_decrypt(void **state) {
    (void)state;
    if (!crypto_aead_aes256gcm_is_available()) {
        assert_int_equal(hc_sframe_suite_available(HC_SUITE_AES256GCM), 0);
        skip();
    }
    span arr, it, e;
    assert_int_equal(obj_get(json_root, "sframe", &arr), 0);
    it = arr;
    int done = 0;
    while (arr_next(&it, &e) == 0) {
        if (json_u64(e, "cipher_suite") != 5) continue;
        uint64_t kid = json_u64(e, "kid"), ctr = json_u64(e, "ctr"), got_ctr = 0;
        uint8_t base[64], meta[64], pt[64], ct[128], out[128], back[64];
        size_t bl = json_hex(e, "base_key", base, sizeof base);
        size_t ml = json_hex(e, "metadata", meta, sizeof meta);
        size_t pl = json_hex(e, "pt", pt, sizeof pt);
        size_t cl = json_hex(e, "ct", ct, sizeof ct);
        hc_sframe_key k;
        assert_int_equal(hc_sframe_key_init(&k, HC_SUITE_AES256GCM, kid, base, bl), 0);
        int n = hc_sframe_seal(&k, ctr, meta, ml, pt, pl, out, sizeof out);
        assert_int_equal(n, (int)cl);
        assert_memory_equal(out, ct, cl);
        assert_int_equal(hc_sframe_open(&k, ct, cl, meta, ml, back, sizeof back, &got_ctr), (int)pl);
        assert_memory_equal(back, pt, pl);
        assert_true(got_ctr == ctr);
        ct[cl - 1] ^= 1;
        assert_int_equal(hc_sframe_open(&k, ct, cl, meta, ml, back, sizeof back, &got_ctr), -1);
        hc_sframe_key_wipe(&k);
        done = 1;
    }
    assert_true(done);
}

/* ---- header edge cases ---- */

static void test_header_rejects_malformed(void **state) {
    (void)state;
    uint64_t k, c;
    static const struct { const char *hex; } bad[] = {
        {""},              /* empty */
        {"80"},            /* X=1, KID byte missing */
        {"8005"},          /* KID 5 in 1 extra byte (must be inline) */
        {"8007"},          /* KID 7 likewise */
        {"9000ff"},        /* KID 0xff in 2 bytes, leading zero */
        {"0807"},          /* CTR 7 in 1 byte */
        {"0a000100"},      /* CTR 0x0100 in 3 bytes, leading zero */
        {"09"},            /* CTR bytes missing */
        {"0901"},          /* CTR truncated */
        {"8f08"},          /* CTR bytes missing after KID */
        {"f7"},            /* 8 KID bytes announced, none present */
        {"ff0000000000000001ff"}, /* 8 KID bytes with a leading zero */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t b[32];
        size_t n = hc_test_unhex(b, sizeof b, bad[i].hex);
        assert_int_equal(hc_sframe_header_decode(n ? b : (const uint8_t *)"", n, &k, &c), -1);
    }
    assert_int_equal(hc_sframe_header_decode(NULL, 0, &k, &c), -1);
    /* The minimal forms of the same values decode. */
    uint8_t ok1[] = {0x50}, ok2[] = {0x08, 0x08}, ok3[] = {0x80, 0x08}, ok4[] = {0x09, 0x01, 0x00};
    assert_int_equal(hc_sframe_header_decode(ok1, 1, &k, &c), 1);
    assert_true(k == 5 && c == 0);
    assert_int_equal(hc_sframe_header_decode(ok2, 2, &k, &c), 2);
    assert_true(k == 0 && c == 8);
    assert_int_equal(hc_sframe_header_decode(ok3, 2, &k, &c), 2);
    assert_true(k == 8 && c == 0);
    assert_int_equal(hc_sframe_header_decode(ok4, 3, &k, &c), 3);
    assert_true(k == 0 && c == 0x100);
    /* Every single config byte alone: valid exactly when both fields are inline. */
    for (unsigned cfg = 0; cfg < 256; cfg++) {
        uint8_t b = (uint8_t)cfg;
        int want = (cfg & 0x88) ? -1 : 1;
        assert_int_equal(hc_sframe_header_decode(&b, 1, &k, &c), want);
    }
    /* Extremes encode to 17 bytes and back. */
    uint8_t h[HC_SFRAME_HDR_MAX];
    assert_int_equal(hc_sframe_header_encode(h, UINT64_MAX, UINT64_MAX), 17);
    assert_int_equal(hc_sframe_header_decode(h, 17, &k, &c), 17);
    assert_true(k == UINT64_MAX && c == UINT64_MAX);
}

/* ---- seal/open ---- */

static const uint16_t suites[] = {HC_SUITE_CHACHA, HC_SUITE_AES256GCM};

static int key_for(hc_sframe_key *k, uint16_t suite, uint64_t kid) {
    uint8_t base[32];
    for (int i = 0; i < 32; i++) base[i] = (uint8_t)(0xA0 + i);
    return hc_sframe_key_init(k, suite, kid, base, sizeof base);
}

static void test_bitflip_exhaustive_both_suites(void **state) {
    (void)state;
    int ran = 0;
    for (size_t s = 0; s < 2; s++) {
        hc_sframe_key k;
        if (!hc_sframe_suite_available(suites[s])) { assert_int_equal(key_for(&k, suites[s], 1), -1); continue; }
        uint64_t kid = 0x1000703, ctr = 0x4567, got;
        assert_int_equal(key_for(&k, suites[s], kid), 0);
        uint8_t meta[] = {0x01, 0x02, 0x07, 0x55}, pt[] = "hello", frame[64], back[64];
        int n = hc_sframe_seal(&k, ctr, meta, sizeof meta, pt, sizeof pt, frame, sizeof frame);
        assert_int_equal(n, 1 + 4 + 2 + (int)sizeof pt + 16); /* config, KID, CTR, ct, tag */
        assert_int_equal(hc_sframe_open(&k, frame, (size_t)n, meta, sizeof meta, back, sizeof back, &got), (int)sizeof pt);
        assert_memory_equal(back, pt, sizeof pt);
        assert_true(got == ctr);
        /* Every bit of the frame: config byte, KID, CTR, ciphertext, tag. */
        for (int bit = 0; bit < n * 8; bit++) {
            frame[bit / 8] ^= (uint8_t)(1u << (bit % 8));
            assert_int_equal(hc_sframe_open(&k, frame, (size_t)n, meta, sizeof meta, back, sizeof back, &got), -1);
            frame[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        }
        /* Every bit of the metadata. */
        for (size_t bit = 0; bit < sizeof meta * 8; bit++) {
            meta[bit / 8] ^= (uint8_t)(1u << (bit % 8));
            assert_int_equal(hc_sframe_open(&k, frame, (size_t)n, meta, sizeof meta, back, sizeof back, &got), -1);
            meta[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        }
        /* Metadata missing, shortened or longer; every truncation; an extra byte. */
        assert_int_equal(hc_sframe_open(&k, frame, (size_t)n, NULL, 0, back, sizeof back, &got), -1);
        assert_int_equal(hc_sframe_open(&k, frame, (size_t)n, meta, sizeof meta - 1, back, sizeof back, &got), -1);
        uint8_t meta5[5];
        memcpy(meta5, meta, 4);
        meta5[4] = 0;
        assert_int_equal(hc_sframe_open(&k, frame, (size_t)n, meta5, 5, back, sizeof back, &got), -1);
        for (int t = 0; t < n; t++)
            assert_int_equal(hc_sframe_open(&k, frame, (size_t)t, meta, sizeof meta, back, sizeof back, &got), -1);
        frame[n] = 0;
        assert_int_equal(hc_sframe_open(&k, frame, (size_t)n + 1, meta, sizeof meta, back, sizeof back, &got), -1);
        /* The untouched frame still opens (nothing above changed state). */
        assert_int_equal(hc_sframe_open(&k, frame, (size_t)n, meta, sizeof meta, back, sizeof back, &got), (int)sizeof pt);
        hc_sframe_key_wipe(&k);
        ran++;
    }
    assert_true(ran >= 1);
}

static void test_open_wrong_key_kid_and_limits(void **state) {
    (void)state;
    for (size_t s = 0; s < 2; s++) {
        if (!hc_sframe_suite_available(suites[s])) continue;
        hc_sframe_key k, other_kid, other_base;
        uint64_t got;
        uint8_t base2[32] = {9};
        assert_int_equal(key_for(&k, suites[s], 77), 0);
        assert_int_equal(key_for(&other_kid, suites[s], 78), 0);
        assert_int_equal(hc_sframe_key_init(&other_base, suites[s], 77, base2, sizeof base2), 0);
        /* Different KIDs derive different keys and salts from one base key. */
        assert_memory_not_equal(k.key, other_kid.key, 32);
        assert_memory_not_equal(k.salt, other_kid.salt, 12);
        uint8_t pt[100], frame[200], back[100];
        for (int i = 0; i < 100; i++) pt[i] = (uint8_t)i;
        int n = hc_sframe_seal(&k, 5, NULL, 0, pt, sizeof pt, frame, sizeof frame);
        assert_true(n > 0);
        assert_int_equal(hc_sframe_open(&other_kid, frame, (size_t)n, NULL, 0, back, sizeof back, &got), -1);
        assert_int_equal(hc_sframe_open(&other_base, frame, (size_t)n, NULL, 0, back, sizeof back, &got), -1);
        /* Output buffer too small: refused, not truncated. */
        assert_int_equal(hc_sframe_open(&k, frame, (size_t)n, NULL, 0, back, 99, &got), -1);
        assert_int_equal(hc_sframe_seal(&k, 5, NULL, 0, pt, sizeof pt, frame, (size_t)n - 1), -1);
        assert_int_equal(hc_sframe_open(&k, frame, (size_t)n, NULL, 0, back, 100, &got), 100);
        assert_memory_equal(back, pt, 100);
        /* Metadata longer than the bound is refused on both sides. */
        static uint8_t bigmeta[HC_SFRAME_META_MAX + 1];
        assert_int_equal(hc_sframe_seal(&k, 6, bigmeta, sizeof bigmeta, pt, 1, frame, sizeof frame), -1);
        n = hc_sframe_seal(&k, 6, bigmeta, HC_SFRAME_META_MAX, pt, 1, frame, sizeof frame);
        assert_true(n > 0);
        assert_int_equal(hc_sframe_open(&k, frame, (size_t)n, bigmeta, HC_SFRAME_META_MAX, back, sizeof back, &got), 1);
        assert_int_equal(hc_sframe_open(&k, frame, (size_t)n, bigmeta, sizeof bigmeta, back, sizeof back, &got), -1);
        /* Empty plaintext: header + tag only. */
        n = hc_sframe_seal(&k, 7, NULL, 0, NULL, 0, frame, sizeof frame);
        assert_int_equal(n, 2 + 16);
        assert_int_equal(hc_sframe_open(&k, frame, (size_t)n, NULL, 0, back, 0, &got), 0);
        assert_true(got == 7);
        /* In place: plaintext already at out + header length. */
        uint8_t buf[200];
        size_t hl = hc_sframe_header_encode(buf, k.kid, 9);
        memcpy(buf + hl, pt, 50);
        n = hc_sframe_seal(&k, 9, NULL, 0, buf + hl, 50, buf, sizeof buf);
        assert_int_equal(n, (int)(hl + 50 + 16));
        assert_int_equal(hc_sframe_open(&k, buf, (size_t)n, NULL, 0, back, sizeof back, &got), 50);
        assert_memory_equal(back, pt, 50);
        /* NULLs are failures, not crashes. */
        assert_int_equal(hc_sframe_open(&k, NULL, 10, NULL, 0, back, sizeof back, &got), -1);
        assert_int_equal(hc_sframe_open(&k, frame, 18, NULL, 3, back, sizeof back, &got), -1);
        hc_sframe_key_wipe(&k);
        hc_sframe_key_wipe(&other_kid);
        hc_sframe_key_wipe(&other_base);
    }
    /* Unknown suites cannot be initialised or used. */
    hc_sframe_key k;
    uint8_t base[16] = {0};
    assert_int_equal(hc_sframe_key_init(&k, 0x0001, 1, base, 16), -1);
    assert_int_equal(hc_sframe_key_init(&k, 0xF002, 1, base, 16), -1);
    assert_int_equal(hc_sframe_suite_params(0xF002, NULL, NULL, NULL, NULL), -1);
    assert_int_equal(hc_sframe_suite_available(0x0004), 0);
}

static void test_sender_ctr_reuse_and_overflow(void **state) {
    (void)state;
    hc_sframe_key k;
    hc_sframe_sender s;
    uint8_t pt[] = "frame", out[64], back[64];
    uint64_t got;
    assert_int_equal(key_for(&k, HC_SUITE_CHACHA, 0x1000703), 0);
    hc_sframe_sender_init(&s, &k);
    /* CTRs go 0, 1, 2: each frame a fresh nonce. */
    for (uint64_t want = 0; want < 3; want++) {
        int n = hc_sframe_sender_seal(&s, NULL, 0, pt, sizeof pt, out, sizeof out);
        assert_true(n > 0);
        assert_int_equal(hc_sframe_open(&k, out, (size_t)n, NULL, 0, back, sizeof back, &got), (int)sizeof pt);
        assert_true(got == want);
    }
    /* A refused seal (buffer too small) does not burn a CTR. */
    assert_int_equal(hc_sframe_sender_seal(&s, NULL, 0, pt, sizeof pt, out, 4), -1);
    assert_true(s.next_ctr == 3);
    /* Near the end of the counter space. */
    s.next_ctr = UINT64_MAX - 1;
    int n = hc_sframe_sender_seal(&s, NULL, 0, pt, sizeof pt, out, sizeof out);
    assert_true(n > 0);
    assert_int_equal(hc_sframe_open(&k, out, (size_t)n, NULL, 0, back, sizeof back, &got), (int)sizeof pt);
    assert_true(got == UINT64_MAX - 1);
    assert_int_equal(s.exhausted, 0);
    n = hc_sframe_sender_seal(&s, NULL, 0, pt, sizeof pt, out, sizeof out);
    assert_int_equal(n, 1 + 4 + 8 + (int)sizeof pt + 16);
    assert_int_equal(hc_sframe_open(&k, out, (size_t)n, NULL, 0, back, sizeof back, &got), (int)sizeof pt);
    assert_true(got == UINT64_MAX);
    assert_int_equal(s.exhausted, 1);
    /* CTR 2^64-1 was used once: every later attempt is refused and writes nothing. */
    for (int i = 0; i < 3; i++) {
        memset(out, 0xCC, sizeof out);
        assert_int_equal(hc_sframe_sender_seal(&s, NULL, 0, pt, sizeof pt, out, sizeof out), -1);
        assert_int_equal(out[0], 0xCC);
    }
    hc_sframe_sender_wipe(&s);
    uint8_t zero[sizeof s];
    memset(zero, 0, sizeof zero);
    assert_memory_equal(&s, zero, sizeof s);
    hc_sframe_key_wipe(&k);
    assert_memory_equal(&k, zero, sizeof k);
}

/* ---- pinned 0xF001 vectors (independently computed, see the file comment) ---- */

static void test_f001_pinned_rfc_style(void **state) {
    (void)state;
    /* The RFC's suite inputs (base_key 00..0f, KID 0x123, CTR 0x4567, metadata "IETF SFrame WG",
     * pt "draft-ietf-sframe-enc") run through suite 0xF001. */
    uint8_t base[16], secret[64], key[32], salt[12], nonce[12], want[128], out[128], back[64];
    for (int i = 0; i < 16; i++) base[i] = (uint8_t)i;
    const char *meta = "IETF SFrame WG", *pt = "draft-ietf-sframe-enc";
    assert_int_equal(hc_sframe_derive_raw(HC_SUITE_CHACHA, 0x123, base, 16, secret, key, salt), 0);
    hc_test_unhex(want, sizeof want, "d926952ca8b7ec4a95941d1ada3a5203ceff8cceee34f574d23909eb314c40c0");
    assert_memory_equal(secret, want, 32);
    hc_test_unhex(want, sizeof want, "775fc938e75c0848ae1d9eef89dc8fe51a1b745884157db8b635bb66cec85ced");
    assert_memory_equal(key, want, 32);
    hc_test_unhex(want, sizeof want, "8af2538df7032686d0591dd2");
    assert_memory_equal(salt, want, 12);
    hc_sframe_nonce(nonce, salt, 12, 0x4567);
    hc_test_unhex(want, sizeof want, "8af2538df7032686d05958b5");
    assert_memory_equal(nonce, want, 12);

    hc_sframe_key k;
    assert_int_equal(hc_sframe_key_init(&k, HC_SUITE_CHACHA, 0x123, base, 16), 0);
    assert_memory_equal(k.key, key, 32);
    size_t wl = hc_test_unhex(want, sizeof want,
                              "99012345676a547de2343e04b1307730f9cd5c4d6fd8312e74cccab78ed295123877d31ab21ca327d888");
    int n = hc_sframe_seal(&k, 0x4567, (const uint8_t *)meta, strlen(meta), (const uint8_t *)pt, strlen(pt), out, sizeof out);
    assert_int_equal(n, (int)wl);
    assert_memory_equal(out, want, wl);
    /* Independently: the same bytes from libsodium's AEAD with the derived key and nonce. */
    uint8_t aad[64], ref[128];
    unsigned long long rl;
    memcpy(aad, out, 5);
    memcpy(aad + 5, meta, strlen(meta));
    crypto_aead_chacha20poly1305_ietf_encrypt(ref, &rl, (const uint8_t *)pt, strlen(pt), aad, 5 + strlen(meta), NULL, nonce, key);
    assert_int_equal(rl + 5, wl);
    assert_memory_equal(ref, out + 5, rl);
    uint64_t got;
    assert_int_equal(hc_sframe_open(&k, want, wl, (const uint8_t *)meta, strlen(meta), back, sizeof back, &got), (int)strlen(pt));
    assert_memory_equal(back, pt, strlen(pt));
    assert_true(got == 0x4567);
    hc_sframe_key_wipe(&k);
}

static void test_f001_pinned_hushcall_kdf(void **state) {
    (void)state;
    /* MK 00..1f, uuid 10..1f, meeting "123456789", epoch 3, sender 7, audio. */
    uint8_t mk[32], uuid[16], bk[32], want[128], out[128], back[64];
    for (int i = 0; i < 32; i++) mk[i] = (uint8_t)i;
    for (int i = 0; i < 16; i++) uuid[i] = (uint8_t)(0x10 + i);
    hc_frame_base_key(bk, mk, uuid, "123456789", 3, 7, HC_STREAM_AUDIO);
    hc_test_unhex(want, sizeof want, "fe4fa2f2690a2888d129bc4bacf6b0c58e682f4de5fe67bab7149dc5133c02cc");
    assert_memory_equal(bk, want, 32);
    assert_true(hc_kid_make(HC_STREAM_AUDIO, 7, 3) == 0x1000703);

    hc_sframe_key k;
    assert_int_equal(hc_frame_key(&k, HC_SUITE_CHACHA, mk, uuid, "123456789", 3, 7, HC_STREAM_AUDIO), 0);
    assert_true(k.kid == 0x1000703);
    const uint8_t meta[] = {0x01, 0x02, 0x07, 0x55};
    const char *pt = "hello, hushcall";
    size_t wl = hc_test_unhex(want, sizeof want,
                              "b0010007031007851a0c6a658544b07c01a0a781d7ce78c342a7f13bb74257ad2e60298a");
    int n = hc_sframe_seal(&k, 0, meta, sizeof meta, (const uint8_t *)pt, strlen(pt), out, sizeof out);
    assert_int_equal(n, (int)wl);
    assert_memory_equal(out, want, wl);
    wl = hc_test_unhex(want, sizeof want, "b90100070303e84c48366af1cf2f1899a3b6116a5b38bd");
    n = hc_sframe_seal(&k, 1000, NULL, 0, NULL, 0, out, sizeof out);
    assert_int_equal(n, (int)wl);
    assert_memory_equal(out, want, wl);
    uint64_t got;
    assert_int_equal(hc_sframe_open(&k, want, wl, NULL, 0, back, sizeof back, &got), 0);
    assert_true(got == 1000);
    hc_sframe_key_wipe(&k);
}

/* open(seal(x)) == x over many sizes, CTRs and metadata, both suites. */
static void test_roundtrip_many(void **state) {
    (void)state;
    for (size_t s = 0; s < 2; s++) {
        if (!hc_sframe_suite_available(suites[s])) continue;
        hc_sframe_key k;
        assert_int_equal(key_for(&k, suites[s], 0x3FFFF42), 0);
        static uint8_t pt[1300], frame[1300 + HC_SFRAME_OVERHEAD_MAX], back[1300];
        uint8_t meta[16];
        uint64_t ctrs[] = {0, 1, 7, 8, 255, 256, 65535, 1u << 24, UINT64_MAX / 3, UINT64_MAX};
        for (size_t len = 0; len <= 1300; len += 37) {
            randombytes_buf(pt, len);
            randombytes_buf(meta, sizeof meta);
            uint64_t ctr = ctrs[len % 10], got = 0;
            size_t ml = len % 17;
            int n = hc_sframe_seal(&k, ctr, meta, ml, pt, len, frame, sizeof frame);
            assert_true(n > 0);
            assert_int_equal(hc_sframe_open(&k, frame, (size_t)n, meta, ml, back, sizeof back, &got), (int)len);
            assert_memory_equal(back, pt, len);
            assert_true(got == ctr);
        }
        hc_sframe_key_wipe(&k);
    }
}

static void test_kid_layout_and_key_separation(void **state) {
    (void)state;
    uint8_t st, e8;
    uint32_t s16;
    uint64_t kid = hc_kid_make(HC_STREAM_CHAT, 0x12345, 0x1FF);
    assert_true(kid == ((uint64_t)3 << 24 | 0x2345 << 8 | 0xFF));
    hc_kid_split(kid, &st, &s16, &e8);
    assert_int_equal(st, 3);
    assert_int_equal(s16, 0x2345);
    assert_int_equal(e8, 0xFF);
    /* Every input of the base key matters. */
    uint8_t mk[32] = {1}, uuid[16] = {2}, a[32], b[32];
    hc_frame_base_key(a, mk, uuid, "42", 1, 1, 1);
    hc_frame_base_key(b, mk, uuid, "42", 1, 1, 1);
    assert_memory_equal(a, b, 32);
    hc_frame_base_key(b, mk, uuid, "43", 1, 1, 1);
    assert_memory_not_equal(a, b, 32);
    hc_frame_base_key(b, mk, uuid, "42", 2, 1, 1);
    assert_memory_not_equal(a, b, 32);
    hc_frame_base_key(b, mk, uuid, "42", 1, 2, 1);
    assert_memory_not_equal(a, b, 32);
    hc_frame_base_key(b, mk, uuid, "42", 1, 1, 2);
    assert_memory_not_equal(a, b, 32);
    uuid[15] ^= 1;
    hc_frame_base_key(b, mk, uuid, "42", 1, 1, 1);
    assert_memory_not_equal(a, b, 32);
    uuid[15] ^= 1;
    mk[31] ^= 1;
    hc_frame_base_key(b, mk, uuid, "42", 1, 1, 1);
    assert_memory_not_equal(a, b, 32);
    /* Invalid meeting ids are refused by hc_frame_key. */
    hc_sframe_key k;
    assert_int_equal(hc_frame_key(&k, HC_SUITE_CHACHA, mk, uuid, "", 1, 1, 1), -1);
    assert_int_equal(hc_frame_key(&k, HC_SUITE_CHACHA, mk, uuid, "12a", 1, 1, 1), -1);
    assert_int_equal(hc_frame_key(&k, HC_SUITE_CHACHA, mk, uuid, "123456789012345678901", 1, 1, 1), -1);
    assert_int_equal(hc_frame_key(&k, 0x0001, mk, uuid, "1", 1, 1, 1), -1);
    assert_int_equal(hc_frame_key(&k, HC_SUITE_CHACHA, mk, uuid, "12345678901234567890", 1, 1, 1), 0);
    hc_sframe_key_wipe(&k);
}

int main(void) {
    if (sodium_init() < 0) return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc_header_vectors),
        cmocka_unit_test(test_rfc_key_schedule_all_suites),
        cmocka_unit_test(test_rfc_suite5_encrypt_decrypt),
        cmocka_unit_test(test_header_rejects_malformed),
        cmocka_unit_test(test_bitflip_exhaustive_both_suites),
        cmocka_unit_test(test_open_wrong_key_kid_and_limits),
        cmocka_unit_test(test_sender_ctr_reuse_and_overflow),
        cmocka_unit_test(test_f001_pinned_rfc_style),
        cmocka_unit_test(test_f001_pinned_hushcall_kdf),
        cmocka_unit_test(test_roundtrip_many),
        cmocka_unit_test(test_kid_layout_and_key_separation),
    };
    return cmocka_run_group_tests(tests, load_vectors, free_vectors);
}
