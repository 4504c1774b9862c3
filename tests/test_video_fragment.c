/* Video fragmenter and reassembler: header round trip and refusals, every frame size at the
 * edges, reorder (seeded permutations), duplication, loss, interleaving of two frames, eviction
 * by a third, hostile headers (each refused and counted, never read out of bounds: run under ASan),
 * u32 seq wrap-around and stale frames. */
#include "tests/testutil.h"

#include "video/fragment.h"

#define PKT_CAP (HC_VFRAG_HDR_LEN + HC_VFRAG_PAYLOAD_MAX)

typedef struct {
    uint8_t b[PKT_CAP];
    size_t len;
    uint8_t flags;
} frag;

static uint64_t rng_state = 1;
static uint32_t rnd32(void) {
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 2685821657736338717ull) >> 32);
}

/* Frame content that differs per seq and per byte, so a piece put at the wrong offset or taken
 * from another frame shows. */
static void fill_frame(uint8_t *d, size_t n, uint32_t seq) {
    for (size_t i = 0; i < n; i++) d[i] = (uint8_t)(i * 31u + (i >> 8) * 7u + seq * 13u + 1u);
}

static hc_vfrag_hdr mkhdr(uint32_t seq, int kind) {
    hc_vfrag_hdr h = {.seq = seq, .capture_ms = seq * 66u + 5u, .kind = (uint8_t)kind};
    h.ref_key = kind == HC_VKIND_KEY ? seq : seq - (seq % 10u);
    return h;
}

/* Fragments a frame; returns the count. */
static unsigned split(frag *f, uint32_t seq, int kind, const uint8_t *data, size_t n) {
    hc_vfrag_hdr h = mkhdr(seq, kind);
    unsigned c = hc_vfrag_count(n);
    for (unsigned i = 0; i < c; i++) {
        f[i].len = hc_vfrag_build(f[i].b, sizeof f[i].b, &h, data, n, i, &f[i].flags);
        assert_true(f[i].len > HC_VFRAG_HDR_LEN);
    }
    return c;
}

static int push(hc_vreasm *r, const frag *f, hc_vframe *out) {
    return hc_vreasm_push(r, f->flags, f->b, f->len, out);
}

static hc_vreasm R;     /* 86 KB: static, not on the stack */
static uint8_t frame_a[HC_VFRAME_MAX + 1], frame_b[HC_VFRAME_MAX + 1], frame_c[HC_VFRAME_MAX + 1];
static frag fa[HC_VFRAG_MAX], fb[HC_VFRAG_MAX], fc[HC_VFRAG_MAX];

static void test_header_roundtrip(void **state) {
    (void)state;
    hc_vfrag_hdr h = {.seq = 0xA1B2C3D4u, .index = 3, .count = 9, .capture_ms = 0x01020304u,
                      .kind = HC_VKIND_RECOVERY, .ref_key = 0xCAFEF00Du};
    uint8_t b[HC_VFRAG_HDR_LEN];
    hc_vfrag_hdr_write(b, &h);
    static const uint8_t want[HC_VFRAG_HDR_LEN] = {0xA1, 0xB2, 0xC3, 0xD4, 3, 9, 1, 2, 3, 4, 2, 0xCA, 0xFE, 0xF0, 0x0D};
    assert_memory_equal(b, want, sizeof want);
    hc_vfrag_hdr g;
    assert_int_equal(hc_vfrag_hdr_parse(&g, b, sizeof b), 0);
    assert_int_equal(g.seq, h.seq);
    assert_int_equal(g.index, 3);
    assert_int_equal(g.count, 9);
    assert_int_equal(g.capture_ms, h.capture_ms);
    assert_int_equal(g.kind, HC_VKIND_RECOVERY);
    assert_int_equal(g.ref_key, h.ref_key);
    assert_int_equal(hc_vfrag_flags(&g), 0);

    /* refusals */
    for (size_t n = 0; n < HC_VFRAG_HDR_LEN; n++) assert_int_equal(hc_vfrag_hdr_parse(&g, b, n), -1);
    uint8_t x[HC_VFRAG_HDR_LEN];
    memcpy(x, b, sizeof x), x[5] = 0;
    assert_int_equal(hc_vfrag_hdr_parse(&g, x, sizeof x), -1);
    memcpy(x, b, sizeof x), x[5] = 33;
    assert_int_equal(hc_vfrag_hdr_parse(&g, x, sizeof x), -1);
    memcpy(x, b, sizeof x), x[5] = 32, x[4] = 31;
    assert_int_equal(hc_vfrag_hdr_parse(&g, x, sizeof x), 0);
    memcpy(x, b, sizeof x), x[4] = 9;
    assert_int_equal(hc_vfrag_hdr_parse(&g, x, sizeof x), -1);
    memcpy(x, b, sizeof x), x[10] = 3;
    assert_int_equal(hc_vfrag_hdr_parse(&g, x, sizeof x), -1);
    memcpy(x, b, sizeof x), x[10] = HC_VKIND_KEY;     /* ref_key != seq */
    assert_int_equal(hc_vfrag_hdr_parse(&g, x, sizeof x), -1);
    memcpy(x + 11, x, 4);                             /* now it names itself */
    assert_int_equal(hc_vfrag_hdr_parse(&g, x, sizeof x), 0);
    assert_int_equal(g.kind, HC_VKIND_KEY);
}

static void test_flags_and_count(void **state) {
    (void)state;
    hc_vfrag_hdr h = {.seq = 1, .index = 0, .count = 1, .kind = HC_VKIND_KEY, .ref_key = 1};
    assert_int_equal(hc_vfrag_flags(&h), HC_VFLAG_KEY | HC_VFLAG_START | HC_VFLAG_END);
    h.count = 3;
    assert_int_equal(hc_vfrag_flags(&h), HC_VFLAG_KEY | HC_VFLAG_START);
    h.index = 1, h.kind = HC_VKIND_INTER;
    assert_int_equal(hc_vfrag_flags(&h), 0);
    h.index = 2, h.kind = HC_VKIND_RECOVERY;
    assert_int_equal(hc_vfrag_flags(&h), HC_VFLAG_END);

    assert_int_equal(hc_vfrag_count(0), 0);
    assert_int_equal(hc_vfrag_count(1), 1);
    assert_int_equal(hc_vfrag_count(1349), 1);
    assert_int_equal(hc_vfrag_count(1350), 1);
    assert_int_equal(hc_vfrag_count(1351), 2);
    assert_int_equal(hc_vfrag_count(2 * 1350), 2);
    assert_int_equal(hc_vfrag_count(32 * 1350), 32);
    assert_int_equal(hc_vfrag_count(32 * 1350 + 1), 0);

    /* build: index out of range, cap too small, empty or oversized frame -> 0 */
    uint8_t d[3000], out[PKT_CAP];
    fill_frame(d, sizeof d, 7);
    hc_vfrag_hdr f = mkhdr(7, HC_VKIND_INTER);
    uint8_t fl = 0xEE;
    assert_int_equal(hc_vfrag_build(out, sizeof out, &f, d, sizeof d, 3, &fl), 0);
    assert_int_equal(hc_vfrag_build(out, sizeof out - 1, &f, d, sizeof d, 0, &fl), 0);
    assert_int_equal(hc_vfrag_build(out, HC_VFRAG_HDR_LEN + 300, &f, d, sizeof d, 2, &fl), HC_VFRAG_HDR_LEN + 300);
    assert_int_equal(fl, HC_VFLAG_END);
    assert_int_equal(hc_vfrag_build(out, HC_VFRAG_HDR_LEN + 299, &f, d, sizeof d, 2, &fl), 0);
    assert_int_equal(hc_vfrag_build(out, sizeof out, &f, d, 0, 0, &fl), 0);
    assert_int_equal(hc_vfrag_build(out, sizeof out, &f, frame_a, HC_VFRAME_MAX + 1, 0, &fl), 0);
    assert_int_equal(hc_vfrag_build(out, sizeof out, &f, d, sizeof d, 1, &fl), PKT_CAP);
    assert_int_equal(fl, 0);
    hc_vfrag_hdr g;
    assert_int_equal(hc_vfrag_hdr_parse(&g, out, PKT_CAP), 0);
    assert_int_equal(g.index, 1);
    assert_int_equal(g.count, 3);
    assert_int_equal(g.seq, 7);
    assert_memory_equal(out + HC_VFRAG_HDR_LEN, d + 1350, 1350);
}

static void test_in_order_sizes(void **state) {
    (void)state;
    static const size_t sizes[] = {1, 2, 1349, 1350, 1351, 2 * 1350 - 1, 2 * 1350, 2 * 1350 + 1, 5000,
                                   31 * 1350 + 1, 32 * 1350 - 1, 32 * 1350};
    hc_vreasm_init(&R);
    uint32_t seq = 100;
    uint64_t pushes = 0;
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++, seq++) {
        size_t n = sizes[k];
        fill_frame(frame_a, n, seq);
        int kind = k % 3 == 0 ? HC_VKIND_KEY : (int)(k % 3) == 1 ? HC_VKIND_INTER : HC_VKIND_RECOVERY;
        unsigned c = split(fa, seq, kind, frame_a, n);
        assert_int_equal(c, (n + 1349) / 1350);
        hc_vframe out;
        memset(&out, 0, sizeof out);
        for (unsigned i = 0; i < c; i++, pushes++) {
            int r = push(&R, &fa[i], &out);
            assert_int_equal(r, i + 1 == c ? HC_VR_DONE : HC_VR_PENDING);
        }
        assert_int_equal(out.len, n);
        assert_int_equal(out.hdr.seq, seq);
        assert_int_equal(out.hdr.count, c);
        assert_int_equal(out.hdr.kind, kind);
        assert_int_equal(out.hdr.capture_ms, seq * 66u + 5u);
        assert_int_equal(out.hdr.ref_key, mkhdr(seq, kind).ref_key);
        assert_memory_equal(out.data, frame_a, n);
        assert_int_equal(R.done_seq, seq);
        assert_int_equal(R.any_done, 1);
        /* the slot is free again */
        assert_int_equal(R.slot[0].used + R.slot[1].used, 0);
    }
    assert_int_equal(R.frames, sizeof sizes / sizeof sizes[0]);
    assert_int_equal(R.fragments, pushes);
    assert_int_equal(R.refused + R.duplicates + R.stale + R.abandoned, 0);
    assert_int_equal(hc_vfrag_count(32 * 1350 + 1), 0);
}

static void shuffle(unsigned *p, unsigned n) {
    for (unsigned i = 0; i < n; i++) p[i] = i;
    for (unsigned i = n; i > 1; i--) {
        unsigned j = rnd32() % i, t = p[i - 1];
        p[i - 1] = p[j], p[j] = t;
    }
}

static void test_reorder_permutations(void **state) {
    (void)state;
    rng_state = 0x9E3779B97F4A7C15ull;
    hc_vreasm_init(&R);
    unsigned perm[HC_VFRAG_MAX];
    for (uint32_t seq = 1; seq <= 300; seq++) {
        size_t n = 1 + rnd32() % HC_VFRAME_MAX;
        fill_frame(frame_a, n, seq);
        unsigned c = split(fa, seq, HC_VKIND_INTER, frame_a, n);
        shuffle(perm, c);
        hc_vframe out;
        for (unsigned i = 0; i < c; i++) {
            int r = push(&R, &fa[perm[i]], &out);
            assert_int_equal(r, i + 1 == c ? HC_VR_DONE : HC_VR_PENDING);
        }
        assert_int_equal(out.len, n);
        assert_int_equal(out.hdr.seq, seq);
        assert_memory_equal(out.data, frame_a, n);
    }
    assert_int_equal(R.frames, 300);
    assert_int_equal(R.refused + R.duplicates + R.stale + R.abandoned, 0);
}

static void test_every_fragment_duplicated(void **state) {
    (void)state;
    rng_state = 77;
    hc_vreasm_init(&R);
    unsigned perm[HC_VFRAG_MAX];
    uint64_t dups = 0;
    for (uint32_t seq = 10; seq < 60; seq++) {
        size_t n = 1 + rnd32() % (8 * 1350);
        fill_frame(frame_a, n, seq);
        unsigned c = split(fa, seq, HC_VKIND_INTER, frame_a, n);
        shuffle(perm, c);
        hc_vframe out;
        int done = 0;
        for (unsigned i = 0; i < c; i++) {
            int r = push(&R, &fa[perm[i]], &out);
            if (i + 1 == c) {
                assert_int_equal(r, HC_VR_DONE);
                done = 1;
                assert_memory_equal(out.data, frame_a, n);
                assert_int_equal(out.len, n);
            } else {
                assert_int_equal(r, HC_VR_PENDING);
            }
            /* the copy right away: held (or the frame just completed) */
            hc_vframe o2;
            assert_int_equal(push(&R, &fa[perm[i]], &o2), HC_VR_DUPLICATE);
            dups++;
        }
        assert_true(done);
        /* and all of them again after completion */
        for (unsigned i = 0; i < c; i++, dups++) assert_int_equal(push(&R, &fa[i], &out), HC_VR_DUPLICATE);
    }
    assert_int_equal(R.frames, 50);
    assert_int_equal(R.duplicates, dups);
    assert_int_equal(R.refused + R.stale + R.abandoned, 0);
}

static void test_loss_of_one_fragment(void **state) {
    (void)state;
    hc_vreasm_init(&R);
    hc_vframe out;
    /* frame 1: 5 fragments, fragment 2 lost */
    fill_frame(frame_a, 5 * 1350 - 10, 1);
    unsigned c = split(fa, 1, HC_VKIND_KEY, frame_a, 5 * 1350 - 10);
    for (unsigned i = 0; i < c; i++)
        if (i != 2) assert_int_equal(push(&R, &fa[i], &out), HC_VR_PENDING);
    /* frames 2..4 complete; frame 1 is abandoned when frame 2 completes */
    for (uint32_t seq = 2; seq <= 4; seq++) {
        fill_frame(frame_b, 3000, seq);
        unsigned cb = split(fb, seq, HC_VKIND_INTER, frame_b, 3000);
        for (unsigned i = 0; i < cb; i++) assert_int_equal(push(&R, &fb[i], &out), i + 1 == cb ? HC_VR_DONE : HC_VR_PENDING);
        assert_int_equal(out.hdr.seq, seq);
        assert_memory_equal(out.data, frame_b, 3000);
    }
    assert_int_equal(R.frames, 3);
    assert_int_equal(R.abandoned, 1);
    /* the lost fragment arriving late cannot revive frame 1 */
    assert_int_equal(push(&R, &fa[2], &out), HC_VR_STALE);
    assert_int_equal(R.stale, 1);
    assert_int_equal(R.frames, 3);

    /* a loss in a frame that is followed by a single one-fragment frame: same, counted once */
    hc_vreasm_init(&R);
    split(fa, 50, HC_VKIND_INTER, frame_a, 3 * 1350);
    assert_int_equal(push(&R, &fa[0], &out), HC_VR_PENDING);
    assert_int_equal(push(&R, &fa[2], &out), HC_VR_PENDING);
    split(fb, 51, HC_VKIND_INTER, frame_b, 100);
    assert_int_equal(push(&R, &fb[0], &out), HC_VR_DONE);
    assert_int_equal(R.abandoned, 1);
    assert_int_equal(R.slot[0].used + R.slot[1].used, 0);
}

static void test_interleave_two(void **state) {
    (void)state;
    hc_vreasm_init(&R);
    size_t na = 7 * 1350 + 3, nb = 4 * 1350;
    fill_frame(frame_a, na, 20);
    fill_frame(frame_b, nb, 21);
    unsigned ca = split(fa, 20, HC_VKIND_KEY, frame_a, na), cb = split(fb, 21, HC_VKIND_INTER, frame_b, nb);
    hc_vframe out;
    /* a0 b0 a1 b1 ... with b's last fragment held back until a (the older frame) is complete:
     * both frames complete, nothing is abandoned */
    for (unsigned i = 0; i < ca || i + 1 < cb; i++) {
        if (i < ca) {
            assert_int_equal(push(&R, &fa[i], &out), i + 1 == ca ? HC_VR_DONE : HC_VR_PENDING);
            if (i + 1 == ca) {
                assert_int_equal(out.hdr.seq, 20);
                assert_int_equal(out.len, na);
                assert_memory_equal(out.data, frame_a, na);
            }
        }
        if (i + 1 < cb) assert_int_equal(push(&R, &fb[i], &out), HC_VR_PENDING);
    }
    assert_int_equal(R.frames, 1);
    assert_int_equal(R.done_seq, 20);
    assert_int_equal(push(&R, &fb[cb - 1], &out), HC_VR_DONE);
    assert_int_equal(out.hdr.seq, 21);
    assert_int_equal(out.len, nb);
    assert_memory_equal(out.data, frame_b, nb);
    assert_int_equal(R.frames, 2);
    assert_int_equal(R.abandoned, 0);

    /* the other way: the newer frame completes first and the older one is abandoned at once */
    hc_vreasm_init(&R);
    assert_int_equal(push(&R, &fa[0], &out), HC_VR_PENDING);
    for (unsigned i = 0; i < cb; i++) assert_int_equal(push(&R, &fb[i], &out), i + 1 == cb ? HC_VR_DONE : HC_VR_PENDING);
    assert_int_equal(R.abandoned, 1);
    assert_int_equal(push(&R, &fa[1], &out), HC_VR_STALE);
}

static void test_third_frame_evicts_oldest(void **state) {
    (void)state;
    hc_vreasm_init(&R);
    hc_vframe out;
    size_t n = 3 * 1350;
    fill_frame(frame_a, n, 30);
    fill_frame(frame_b, n, 31);
    fill_frame(frame_c, n, 32);
    split(fa, 30, HC_VKIND_INTER, frame_a, n);
    split(fb, 31, HC_VKIND_INTER, frame_b, n);
    split(fc, 32, HC_VKIND_INTER, frame_c, n);
    /* b first, then a (older seq, arrives later: the slot order and the seq order differ) */
    assert_int_equal(push(&R, &fb[0], &out), HC_VR_PENDING);
    assert_int_equal(push(&R, &fa[0], &out), HC_VR_PENDING);
    assert_int_equal(push(&R, &fc[0], &out), HC_VR_PENDING);   /* evicts seq 30, not 31 */
    assert_int_equal(R.abandoned, 1);
    assert_int_equal(push(&R, &fb[1], &out), HC_VR_PENDING);
    assert_int_equal(push(&R, &fb[2], &out), HC_VR_DONE);
    assert_int_equal(out.hdr.seq, 31);
    assert_memory_equal(out.data, frame_b, n);
    /* seq 30 is gone: its fragments are now stale */
    assert_int_equal(push(&R, &fa[1], &out), HC_VR_STALE);
    assert_int_equal(push(&R, &fc[1], &out), HC_VR_PENDING);
    assert_int_equal(push(&R, &fc[2], &out), HC_VR_DONE);
    assert_memory_equal(out.data, frame_c, n);
    assert_int_equal(R.frames, 2);
    assert_int_equal(R.abandoned, 1);

    /* a straggler older than both in-progress frames is dropped, not allowed to evict */
    hc_vreasm_init(&R);
    assert_int_equal(push(&R, &fb[0], &out), HC_VR_PENDING);
    assert_int_equal(push(&R, &fc[0], &out), HC_VR_PENDING);
    assert_int_equal(push(&R, &fa[0], &out), HC_VR_STALE);
    assert_int_equal(R.stale, 1);
    assert_int_equal(R.abandoned, 0);
    assert_int_equal(push(&R, &fb[1], &out), HC_VR_PENDING);
    assert_int_equal(push(&R, &fb[2], &out), HC_VR_DONE);
    assert_int_equal(out.hdr.seq, 31);
}

/* Pushes a hostile copy of a fragment; it must be refused and counted, and leave the state as
 * it was. */
static void expect_refused(const uint8_t *b, size_t len, uint8_t flags) {
    uint64_t before = R.refused, frames = R.frames;
    hc_vframe out;
    assert_int_equal(hc_vreasm_push(&R, flags, b, len, &out), HC_VR_REFUSED);
    assert_int_equal(R.refused, before + 1);
    assert_int_equal(R.frames, frames);
}

static void test_hostile_headers(void **state) {
    (void)state;
    hc_vreasm_init(&R);
    hc_vframe out;
    size_t n = 3 * 1350 + 100;
    fill_frame(frame_a, n, 40);
    unsigned c = split(fa, 40, HC_VKIND_INTER, frame_a, n);
    assert_int_equal(c, 4);
    assert_int_equal(push(&R, &fa[0], &out), HC_VR_PENDING);
    frag x;

    /* count 0, 33; index >= count */
    x = fa[1], x.b[5] = 0;
    expect_refused(x.b, x.len, x.flags);
    x = fa[1], x.b[5] = 33;
    expect_refused(x.b, x.len, x.flags);
    x = fa[1], x.b[4] = 4;
    expect_refused(x.b, x.len, x.flags);
    x = fa[1], x.b[4] = 200, x.b[5] = 200;
    expect_refused(x.b, x.len, x.flags);
    /* mismatched count for seq 40 (5 instead of 4, index 1 still a middle fragment) */
    x = fa[1], x.b[5] = 5;
    expect_refused(x.b, x.len, x.flags);
    /* mismatched kind (recovery), capture time, ref_key */
    x = fa[1], x.b[10] = HC_VKIND_RECOVERY;
    expect_refused(x.b, x.len, x.flags);
    x = fa[1], x.b[9] ^= 1;
    expect_refused(x.b, x.len, x.flags);
    x = fa[1], x.b[14] ^= 1;
    expect_refused(x.b, x.len, x.flags);
    /* mismatched kind, key (with a valid self ref_key and KEY flag) */
    x = fa[1], x.b[10] = HC_VKIND_KEY, memcpy(x.b + 11, x.b, 4);
    expect_refused(x.b, x.len, HC_VFLAG_KEY);
    /* unknown kind; key whose ref_key is not itself */
    x = fa[1], x.b[10] = 3;
    expect_refused(x.b, x.len, x.flags);
    x = fa[1], x.b[10] = HC_VKIND_KEY;
    expect_refused(x.b, x.len, HC_VFLAG_KEY);
    /* flags disagreeing: each bit flipped, an unknown bit */
    for (int bit = 0; bit < 8; bit++) {
        expect_refused(fa[1].b, fa[1].len, (uint8_t)(fa[1].flags ^ (1u << bit)));
        expect_refused(fa[3].b, fa[3].len, (uint8_t)(fa[3].flags ^ (1u << bit)));
    }
    expect_refused(fa[3].b, fa[3].len, (uint8_t)(fa[3].flags | 0x80));
    /* middle fragment short (by one, by all) and long by one (the buffer has room for it) */
    expect_refused(fa[1].b, fa[1].len - 1, fa[1].flags);
    expect_refused(fa[1].b, HC_VFRAG_HDR_LEN, fa[1].flags);
    {
        static uint8_t big[PKT_CAP + 64];
        memcpy(big, fa[1].b, fa[1].len);
        expect_refused(big, fa[1].len + 1, fa[1].flags);
        /* last fragment too long (MAX + 1) and empty */
        memcpy(big, fa[3].b, HC_VFRAG_HDR_LEN);
        expect_refused(big, HC_VFRAG_HDR_LEN + HC_VFRAG_PAYLOAD_MAX + 1, fa[3].flags);
        expect_refused(big, HC_VFRAG_HDR_LEN + HC_VFRAG_PAYLOAD_MAX + 64, fa[3].flags);
        expect_refused(fa[3].b, HC_VFRAG_HDR_LEN, fa[3].flags);
    }
    /* truncated headers: heap copies of exactly len bytes, so ASan sees any over-read */
    for (size_t len = 0; len < HC_VFRAG_HDR_LEN; len++) {
        uint8_t *t = malloc(len ? len : 1);
        assert_non_null(t);
        memcpy(t, fa[1].b, len);
        expect_refused(len ? t : NULL, len, fa[1].flags);
        free(t);
    }
    /* a one-fragment frame that is a lone middle piece: count 1 means index 0 is also the end */
    x = fa[3], x.b[4] = 0, x.b[5] = 1;
    expect_refused(x.b, x.len, 0);

    /* nothing of that disturbed frame 40: it completes with the right bytes */
    uint64_t refused = R.refused;
    assert_true(refused >= 40);
    assert_int_equal(push(&R, &fa[2], &out), HC_VR_PENDING);
    assert_int_equal(push(&R, &fa[1], &out), HC_VR_PENDING);
    assert_int_equal(push(&R, &fa[3], &out), HC_VR_DONE);
    assert_int_equal(out.len, n);
    assert_memory_equal(out.data, frame_a, n);
    assert_int_equal(R.frames, 1);
    assert_int_equal(R.refused, refused);
    assert_int_equal(R.duplicates + R.stale + R.abandoned, 0);

    /* The same header fields refused on the first fragment of a new seq (no slot yet), and an
     * exact-size heap copy of every valid fragment (the last one read to its very end). */
    hc_vreasm_init(&R);
    x = fa[0], x.b[5] = 33;
    expect_refused(x.b, x.len, x.flags);
    assert_int_equal(R.slot[0].used + R.slot[1].used, 0);
    for (unsigned i = 0; i < c; i++) {
        uint8_t *t = malloc(fa[i].len);
        assert_non_null(t);
        memcpy(t, fa[i].b, fa[i].len);
        assert_int_equal(hc_vreasm_push(&R, fa[i].flags, t, fa[i].len, &out), i + 1 == c ? HC_VR_DONE : HC_VR_PENDING);
        free(t);
    }
    assert_memory_equal(out.data, frame_a, n);
}

static void test_last_fragment_first_then_count_32(void **state) {
    (void)state;
    /* 32 fragments, the last first; the last piece is 1 byte */
    hc_vreasm_init(&R);
    size_t n = 31 * 1350 + 1;
    fill_frame(frame_a, n, 5);
    unsigned c = split(fa, 5, HC_VKIND_KEY, frame_a, n);
    assert_int_equal(c, 32);
    hc_vframe out;
    assert_int_equal(push(&R, &fa[31], &out), HC_VR_PENDING);
    for (unsigned i = 0; i < 31; i++) assert_int_equal(push(&R, &fa[i], &out), i == 30 ? HC_VR_DONE : HC_VR_PENDING);
    assert_int_equal(out.len, n);
    assert_true(out.len <= HC_VFRAME_MAX);
    assert_memory_equal(out.data, frame_a, n);
}

static void test_seq_wraparound(void **state) {
    (void)state;
    hc_vreasm_init(&R);
    hc_vframe out;
    uint32_t seq = 0xFFFFFFFDu;
    for (int k = 0; k < 6; k++, seq++) {
        size_t n = 2 * 1350 + (size_t)k;
        fill_frame(frame_a, n, seq);
        unsigned c = split(fa, seq, HC_VKIND_INTER, frame_a, n);
        /* reversed order, so the slot is found by seq across the wrap */
        for (unsigned i = c; i-- > 0;) assert_int_equal(push(&R, &fa[i], &out), i == 0 ? HC_VR_DONE : HC_VR_PENDING);
        assert_int_equal(out.hdr.seq, seq);
        assert_memory_equal(out.data, frame_a, n);
    }
    assert_int_equal(R.frames, 6);
    assert_int_equal(R.done_seq, 2);
    assert_int_equal(R.stale + R.refused + R.abandoned, 0);
    /* 0xFFFFFFFF is now older than 2: stale; 2 itself: duplicate; 3: fine */
    split(fa, 0xFFFFFFFFu, HC_VKIND_INTER, frame_a, 10);
    assert_int_equal(push(&R, &fa[0], &out), HC_VR_STALE);
    split(fa, 2, HC_VKIND_INTER, frame_a, 10);
    assert_int_equal(push(&R, &fa[0], &out), HC_VR_DUPLICATE);
    split(fa, 3, HC_VKIND_INTER, frame_a, 10);
    assert_int_equal(push(&R, &fa[0], &out), HC_VR_DONE);
    assert_int_equal(R.stale, 1);

    /* Eviction across the wrap: in progress 0xFFFFFFFF and 0; 1 evicts 0xFFFFFFFF (older in serial
     * terms though larger as a number); 0xFFFFFFFE is older than both and is dropped. */
    hc_vreasm_init(&R);
    fill_frame(frame_a, 3000, 0);
    split(fa, 0xFFFFFFFFu, HC_VKIND_INTER, frame_a, 3000);
    split(fb, 0, HC_VKIND_INTER, frame_a, 3000);
    split(fc, 1, HC_VKIND_INTER, frame_a, 3000);
    assert_int_equal(push(&R, &fb[0], &out), HC_VR_PENDING);
    assert_int_equal(push(&R, &fa[0], &out), HC_VR_PENDING);
    frag old[3];
    split(old, 0xFFFFFFFEu, HC_VKIND_INTER, frame_a, 3000);
    assert_int_equal(push(&R, &old[0], &out), HC_VR_STALE);
    assert_int_equal(push(&R, &fc[0], &out), HC_VR_PENDING);
    assert_int_equal(R.abandoned, 1);
    assert_int_equal(push(&R, &fb[1], &out), HC_VR_PENDING);
    assert_int_equal(push(&R, &fb[2], &out), HC_VR_DONE);
    assert_int_equal(out.hdr.seq, 0);
    assert_int_equal(push(&R, &fa[1], &out), HC_VR_STALE);    /* 0xFFFFFFFF before 0 */
}

static void test_stale_frames(void **state) {
    (void)state;
    hc_vreasm_init(&R);
    hc_vframe out;
    split(fa, 1000, HC_VKIND_INTER, frame_a, 500);
    assert_int_equal(push(&R, &fa[0], &out), HC_VR_DONE);
    static const uint32_t olds[] = {999, 1, 0, 1000u - 0x7FFFFFFFu};
    for (size_t k = 0; k < sizeof olds / sizeof olds[0]; k++) {
        split(fb, olds[k], HC_VKIND_INTER, frame_a, 500);
        assert_int_equal(push(&R, &fb[0], &out), HC_VR_STALE);
    }
    assert_int_equal(R.stale, 4);
    /* a huge jump forward (half the space minus one) is newer and accepted */
    split(fb, 1000u + 0x7FFFFFFFu, HC_VKIND_INTER, frame_a, 500);
    assert_int_equal(push(&R, &fb[0], &out), HC_VR_DONE);
    assert_int_equal(R.frames, 2);
    assert_int_equal(R.slot[0].used + R.slot[1].used, 0);
}

/* Random garbage and mutated fragments: bounded, counters add up. */
static void test_random_mutations(void **state) {
    (void)state;
    rng_state = 4242;
    hc_vreasm_init(&R);
    uint64_t seen[5] = {0};
    for (int iter = 0; iter < 20000; iter++) {
        uint32_t seq = rnd32() % 16;
        size_t n = 1 + rnd32() % (4 * 1350);
        unsigned c = split(fa, seq, (int)(rnd32() % 3), frame_a, n);
        unsigned i = rnd32() % c;
        frag x = fa[i];
        if (rnd32() % 3 == 0) x.b[rnd32() % HC_VFRAG_HDR_LEN] ^= (uint8_t)(1u << (rnd32() % 8));
        if (rnd32() % 5 == 0) x.len = rnd32() % (x.len + 1);
        if (rnd32() % 7 == 0) x.flags = (uint8_t)rnd32();
        hc_vframe out;
        int r = push(&R, &x, &out);
        assert_true(r >= HC_VR_REFUSED && r <= HC_VR_STALE);
        seen[r + 1]++;
        if (r == HC_VR_DONE) {
            assert_true(out.len >= 1 && out.len <= HC_VFRAME_MAX);
            assert_true(out.hdr.count >= 1 && out.hdr.count <= HC_VFRAG_MAX);
            assert_true(out.len > (size_t)(out.hdr.count - 1) * HC_VFRAG_PAYLOAD_MAX);
        }
    }
    assert_int_equal(R.fragments, 20000);
    assert_int_equal(R.refused, seen[0]);
    assert_int_equal(R.frames, seen[HC_VR_DONE + 1]);
    assert_int_equal(R.duplicates, seen[HC_VR_DUPLICATE + 1]);
    assert_int_equal(R.stale, seen[HC_VR_STALE + 1]);
    assert_true(R.refused > 0 && R.frames > 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_roundtrip),
        cmocka_unit_test(test_flags_and_count),
        cmocka_unit_test(test_in_order_sizes),
        cmocka_unit_test(test_reorder_permutations),
        cmocka_unit_test(test_every_fragment_duplicated),
        cmocka_unit_test(test_loss_of_one_fragment),
        cmocka_unit_test(test_interleave_two),
        cmocka_unit_test(test_third_frame_evicts_oldest),
        cmocka_unit_test(test_hostile_headers),
        cmocka_unit_test(test_last_fragment_first_then_count_32),
        cmocka_unit_test(test_seq_wraparound),
        cmocka_unit_test(test_stale_frames),
        cmocka_unit_test(test_random_mutations),
    };
    return cmocka_run_group_tests_name("video_fragment", tests, NULL, NULL);
}
