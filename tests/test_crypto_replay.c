/* Replay window (256 CTRs per KID): unit cases, the "update only after the tag verified" rule
 * with real SFrame frames, per-KID isolation, and a differential test against a plain
 * set-of-seen-counters model over more than 10^6 seeded random operations. */
#include "tests/testutil.h"

#include <sodium.h>

#include "crypto/replay.h"
#include "crypto/sframe.h"

static void accept(hc_replay *r, uint64_t ctr) {
    assert_int_equal(hc_replay_check(r, ctr), HC_REPLAY_OK);
    hc_replay_update(r, ctr);
}

static void test_in_order_and_duplicate(void **state) {
    (void)state;
    hc_replay r;
    hc_replay_init(&r);
    for (uint64_t c = 0; c < 1000; c++) {
        accept(&r, c);
        assert_int_equal(hc_replay_check(&r, c), HC_REPLAY_DUPLICATE);
    }
    assert_true(r.top == 999);
    for (uint64_t c = 999 - 255; c <= 999; c++) assert_int_equal(hc_replay_check(&r, c), HC_REPLAY_DUPLICATE);
    assert_int_equal(hc_replay_check(&r, 999 - 256), HC_REPLAY_TOO_OLD);
    assert_int_equal(hc_replay_check(&r, 0), HC_REPLAY_TOO_OLD);
    assert_int_equal(hc_replay_check(&r, 1000), HC_REPLAY_OK);
    /* A fresh window accepts anything first, including CTR 0 and 2^64-1. */
    hc_replay_init(&r);
    assert_int_equal(hc_replay_check(&r, 0), HC_REPLAY_OK);
    assert_int_equal(hc_replay_check(&r, UINT64_MAX), HC_REPLAY_OK);
    accept(&r, UINT64_MAX);
    assert_int_equal(hc_replay_check(&r, UINT64_MAX), HC_REPLAY_DUPLICATE);
    accept(&r, UINT64_MAX - 255);
    assert_int_equal(hc_replay_check(&r, UINT64_MAX - 256), HC_REPLAY_TOO_OLD);
}

static void test_reordered_within_window(void **state) {
    (void)state;
    hc_replay r;
    hc_replay_init(&r);
    accept(&r, 100);
    accept(&r, 300);     /* 101..299 missing */
    for (uint64_t c = 299; c >= 45; c--) {
        if (300 - c >= HC_REPLAY_WINDOW) {
            assert_int_equal(hc_replay_check(&r, c), HC_REPLAY_TOO_OLD);
        } else if (c == 100) {
            assert_int_equal(hc_replay_check(&r, c), HC_REPLAY_DUPLICATE);
        } else {
            accept(&r, c);  /* late but inside the window: once */
            assert_int_equal(hc_replay_check(&r, c), HC_REPLAY_DUPLICATE);
        }
    }
    assert_true(r.top == 300);
    /* The window edge exactly: top - 255 is in, top - 256 is out. */
    hc_replay_init(&r);
    accept(&r, 1000);
    accept(&r, 1000 - 255);
    assert_int_equal(hc_replay_check(&r, 1000 - 256), HC_REPLAY_TOO_OLD);
}

static void test_jumps_ahead(void **state) {
    (void)state;
    /* Shifts of every size around word and window boundaries keep exactly the right bits. */
    const uint64_t jumps[] = {1, 2, 63, 64, 65, 127, 128, 129, 191, 192, 193, 255, 256, 257, 1000, 1ull << 40};
    for (size_t j = 0; j < sizeof jumps / sizeof jumps[0]; j++) {
        hc_replay r;
        hc_replay_init(&r);
        /* every even CTR in [1000, 1256) */
        for (uint64_t c = 1000; c < 1256; c += 2) accept(&r, c);
        uint64_t top = 1254 + jumps[j];
        accept(&r, top);
        for (uint64_t back = 1; back < 300; back++) {
            uint64_t c = top - back;
            hc_replay_result want;
            if (back >= HC_REPLAY_WINDOW) want = HC_REPLAY_TOO_OLD;
            else if (c >= 1000 && c < 1256 && c % 2 == 0) want = HC_REPLAY_DUPLICATE;
            else want = HC_REPLAY_OK;
            assert_int_equal(hc_replay_check(&r, c), want);
        }
    }
    /* A jump bigger than the window clears it: everything in the new window is fresh. */
    hc_replay r;
    hc_replay_init(&r);
    for (uint64_t c = 0; c < 256; c++) accept(&r, c);
    accept(&r, 255 + 300);
    for (uint64_t c = 300; c < 255 + 300; c++) assert_int_equal(hc_replay_check(&r, c), HC_REPLAY_OK);
    assert_int_equal(hc_replay_check(&r, 299), HC_REPLAY_TOO_OLD);
    assert_int_equal(hc_replay_check(&r, 255 + 300), HC_REPLAY_DUPLICATE);
}

/* The receiver path in the order the header prescribes: check, open, then update. */
static int receive(hc_replay *r, const hc_sframe_key *k, const uint8_t *frame, size_t len) {
    uint64_t kid, ctr, got;
    uint8_t pt[256];
    if (hc_sframe_header_decode(frame, len, &kid, &ctr) < 0) return -10;
    hc_replay_result rr = hc_replay_check(r, ctr);
    if (rr != HC_REPLAY_OK) return rr;
    if (hc_sframe_open(k, frame, len, NULL, 0, pt, sizeof pt, &got) < 0) return -3;
    assert_true(got == ctr);
    hc_replay_update(r, got);
    return 0;
}

static int seal_at(const hc_sframe_key *k, uint64_t ctr, uint8_t *out, size_t cap) {
    const uint8_t pt[] = "audio";
    return hc_sframe_seal(k, ctr, NULL, 0, pt, sizeof pt, out, cap);
}

static void test_forged_high_ctr_does_not_advance(void **state) {
    (void)state;
    uint8_t base[32] = {7}, f[128];
    hc_sframe_key k;
    assert_int_equal(hc_sframe_key_init(&k, HC_SUITE_CHACHA, 0x1000105, base, sizeof base), 0);
    hc_replay r;
    hc_replay_init(&r);
    for (uint64_t c = 0; c < 5; c++) {
        int n = seal_at(&k, c, f, sizeof f);
        assert_int_equal(receive(&r, &k, f, (size_t)n), 0);
    }
    /* A genuine frame at CTR 1000000 with its tag damaged: rejected by the AEAD. */
    int n = seal_at(&k, 1000000, f, sizeof f);
    f[n - 1] ^= 0x80;
    assert_int_equal(receive(&r, &k, f, (size_t)n), -3);
    /* And a made-up one: valid header, random body. */
    size_t hl = hc_sframe_header_encode(f, k.kid, UINT64_MAX);
    randombytes_buf(f + hl, 6 + 16);
    assert_int_equal(receive(&r, &k, f, hl + 22), -3);
    assert_true(r.top == 4);
    /* The window did not move: genuine lower CTRs (new ones and late ones) still pass. */
    for (uint64_t c = 5; c < 300; c++) {
        n = seal_at(&k, c, f, sizeof f);
        assert_int_equal(receive(&r, &k, f, (size_t)n), 0);
        assert_int_equal(receive(&r, &k, f, (size_t)n), HC_REPLAY_DUPLICATE);
    }
    hc_sframe_key_wipe(&k);
}

static void test_per_kid_isolation(void **state) {
    (void)state;
    uint8_t mk[32] = {1}, uuid[16] = {2}, f[128];
    hc_sframe_key ka, kb;
    assert_int_equal(hc_frame_key(&ka, HC_SUITE_CHACHA, mk, uuid, "555", 1, 1, HC_STREAM_AUDIO), 0);
    assert_int_equal(hc_frame_key(&kb, HC_SUITE_CHACHA, mk, uuid, "555", 1, 2, HC_STREAM_AUDIO), 0);
    assert_true(ka.kid != kb.kid);
    hc_replay ra, rb;
    hc_replay_init(&ra);
    hc_replay_init(&rb);
    /* Same CTRs under two KIDs: both accepted, each once. */
    for (uint64_t c = 0; c < 10; c++) {
        int n = seal_at(&ka, c, f, sizeof f);
        assert_int_equal(receive(&ra, &ka, f, (size_t)n), 0);
        assert_int_equal(receive(&ra, &ka, f, (size_t)n), HC_REPLAY_DUPLICATE);
        n = seal_at(&kb, c, f, sizeof f);
        assert_int_equal(receive(&rb, &kb, f, (size_t)n), 0);
        assert_int_equal(receive(&rb, &kb, f, (size_t)n), HC_REPLAY_DUPLICATE);
    }
    /* A big jump in one KID's window leaves the other alone. */
    int n = seal_at(&ka, 100000, f, sizeof f);
    assert_int_equal(receive(&ra, &ka, f, (size_t)n), 0);
    n = seal_at(&kb, 10, f, sizeof f);
    assert_int_equal(receive(&rb, &kb, f, (size_t)n), 0);
    assert_int_equal(hc_replay_check(&ra, 10), HC_REPLAY_TOO_OLD);
    /* A frame of one KID does not open under the other's key. */
    n = seal_at(&ka, 11, f, sizeof f);
    assert_int_equal(receive(&rb, &kb, f, (size_t)n), -3);
    hc_sframe_key_wipe(&ka);
    hc_sframe_key_wipe(&kb);
}

/* ---- differential test ----
 * Model: every accepted CTR in a hash set, plus the highest accepted. A CTR is too old when it
 * is 256 or more below the highest, a duplicate when it is in the set, fresh otherwise: the
 * window's semantics without any bitmap. */
typedef struct {
    uint64_t *keys;
    uint8_t *used;
    size_t cap;
    uint64_t max;
    int have_max;
} model;

static uint64_t rng_state;
static uint64_t rnd(void) { /* splitmix64: seeded, reproducible */
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static size_t slot(const model *m, uint64_t k) {
    size_t i = (size_t)((k * 0x9E3779B97F4A7C15ull) >> 40) & (m->cap - 1);
    while (m->used[i] && m->keys[i] != k) i = (i + 1) & (m->cap - 1);
    return i;
}

static hc_replay_result model_check(const model *m, uint64_t c) {
    if (!m->have_max || c > m->max) return HC_REPLAY_OK;
    if (m->max - c >= HC_REPLAY_WINDOW) return HC_REPLAY_TOO_OLD;
    return m->used[slot(m, c)] ? HC_REPLAY_DUPLICATE : HC_REPLAY_OK;
}

static void model_add(model *m, uint64_t c) {
    size_t i = slot(m, c);
    m->used[i] = 1;
    m->keys[i] = c;
    if (!m->have_max || c > m->max) m->max = c;
    m->have_max = 1;
}

static void test_differential_vs_set_model(void **state) {
    (void)state;
    enum { SEQS = 2500, OPS = 420, CAP = 1024 };
    model m = {malloc(CAP * sizeof(uint64_t)), malloc(CAP), CAP, 0, 0};
    assert_non_null(m.keys);
    assert_non_null(m.used);
    rng_state = 0x68757368u; /* "hush" */
    long ops = 0, accepted = 0, dups = 0, old = 0, forged = 0;
    for (int s = 0; s < SEQS; s++) {
        hc_replay r;
        hc_replay_init(&r);
        memset(m.used, 0, CAP);
        m.have_max = 0;
        m.max = 0;
        /* Start near 0, in the middle, or near the top of the counter space. */
        uint64_t start = s % 3 == 0 ? rnd() % 300 : s % 3 == 1 ? rnd() >> 2 : UINT64_MAX - rnd() % 5000;
        uint64_t recent[64] = {0};
        int nrecent = 0;
        for (int i = 0; i < OPS; i++) {
            uint64_t base = m.have_max ? m.max : start, c, x = rnd(), kind = x % 100;
            if (kind < 40) c = base + 1 + (x >> 8) % 3;                       /* small steps */
            else if (kind < 70) c = base - (x >> 8) % 320;                    /* reorder, some too old */
            else if (kind < 85) c = nrecent ? recent[(x >> 8) % (uint64_t)nrecent] : base; /* duplicate */
            else if (kind < 95) c = base + 256 + (x >> 8) % 100000;           /* big jump */
            else c = base + (x >> 8) % 600;                                   /* anywhere near */
            if (kind >= 40 && kind < 70 && c > base) c = 0;                   /* no wrap below zero */
            if ((kind < 40 || kind >= 85) && c < base) c = UINT64_MAX;        /* no wrap past the top */
            int is_forged = (rnd() % 20) == 0; /* tag fails: check, but never update */
            hc_replay_result want = model_check(&m, c), got = hc_replay_check(&r, c);
            if (got != want)
                fail_msg("seq %d op %d ctr %llu: window %d, model %d", s, i, (unsigned long long)c, got, want);
            if (got == HC_REPLAY_OK && !is_forged) {
                hc_replay_update(&r, c);
                model_add(&m, c);
                recent[nrecent < 64 ? nrecent++ : (int)(rnd() % 64)] = c;
                accepted++;
            }
            forged += is_forged;
            dups += got == HC_REPLAY_DUPLICATE;
            old += got == HC_REPLAY_TOO_OLD;
            ops++;
        }
    }
    free(m.keys);
    free(m.used);
    print_message("differential: %ld ops, %ld accepted, %ld duplicates, %ld too old, %ld forged\n",
                  ops, accepted, dups, old, forged);
    assert_true(ops >= 1000000);
    /* The mix really exercised every outcome. */
    assert_true(accepted > ops / 4 && dups > ops / 20 && old > ops / 50 && forged > ops / 40);
}

int main(void) {
    if (sodium_init() < 0) return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_in_order_and_duplicate),
        cmocka_unit_test(test_reordered_within_window),
        cmocka_unit_test(test_jumps_ahead),
        cmocka_unit_test(test_forged_high_ctr_does_not_advance),
        cmocka_unit_test(test_per_kid_isolation),
        cmocka_unit_test(test_differential_vs_set_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
