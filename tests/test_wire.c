/* Control frames and media datagrams: round trips for every message type, strict decoding,
 * stream reassembly under arbitrary chunking, and media datagram parsing. */
#include "tests/testutil.h"

#include <sodium.h>

#include "crypto/bytes.h"
#include "crypto/sframe.h"
#include "net/media.h"
#include "net/roster.h"
#include "net/wire.h"

static uint8_t big[HC_FRAME_MAX_DEFAULT + 64];

/* Every type with its fields filled: encode, decode, re-encode gives the same bytes. */
static void test_roundtrip_all_types(void **state) {
    (void)state;
    uint8_t data[300], data2[HC_BOX_LEN], members[12];
    for (size_t i = 0; i < sizeof data; i++) data[i] = (uint8_t)i;
    memset(data2, 0x5A, sizeof data2);
    hc_put_u32(members, 1);
    hc_put_u32(members + 4, 2);
    hc_put_u32(members + 8, 7);
    for (uint8_t t = 1; t <= HC_MSG_TYPE_MAX; t++) {
        hc_msg m, d;
        hc_msg_init(&m, t);
        snprintf(m.name, sizeof m.name, "Zoë");
        snprintf(m.meeting_id, sizeof m.meeting_id, "0123456789");
        m.index = 42;
        m.leader = 1;
        m.caps = 0xA5A5;
        m.epoch = 9;
        m.code = HC_ERR_LOCKED;
        m.flag = 1;
        m.opaque = 0x0102030405060708ULL;
        m.value = 5000;                      /* ROSTER: a part of 300 bytes at 100 of 5000 */
        m.offset = t == HC_MSG_ROSTER ? 100 : 0;
        memset(m.uuid, 0x11, sizeof m.uuid);
        memset(m.token, 0x22, sizeof m.token);
        memset(m.ivk, 0x33, sizeof m.ivk);
        memset(m.sig, 0x44, sizeof m.sig);
        m.data = data;
        m.data_len = t == HC_MSG_ERROR ? 20 : t == HC_MSG_ANNOUNCE ? 100 : t == HC_MSG_KEYBOX ? HC_META_MAX : 300;
        m.data2 = data2;
        m.data2_len = sizeof data2;
        m.members = members;
        m.n_members = 3;
        m.hb.v = 3;
        m.hb.t = 4;
        m.hb.epoch = 5;
        m.hb.ts_ms = 6;
        memset(m.hb.prev, 7, 32);
        memset(m.hb.roster_hash, 8, 32);
        memset(m.hb.sig, 9, 64);
        size_t n = hc_msg_encode(&m, big, sizeof big);
        assert_true(n > 0);
        assert_true(n <= hc_msg_encoded_size(&m));
        assert_int_equal(hc_get_u32(big), n - 4);
        hc_wire_err e = HC_WERR_COUNT;
        assert_int_equal(hc_msg_decode(&d, big + 4, n - 4, &e), 0);
        assert_int_equal(e, HC_WERR_NONE);
        assert_int_equal(d.type, t);
        uint8_t again[HC_FRAME_MAX_DEFAULT];
        size_t n2 = hc_msg_encode(&d, again, sizeof again);
        assert_int_equal(n2, n);
        assert_memory_equal(again, big, n);
        assert_string_not_equal(hc_msg_type_name(t), "UNKNOWN");
    }
}

static void test_decode_fields(void **state) {
    (void)state;
    hc_msg m, d;
    hc_msg_init(&m, HC_MSG_JOIN);
    snprintf(m.meeting_id, sizeof m.meeting_id, "99");
    snprintf(m.name, sizeof m.name, "bob");
    m.flag = 1;
    memset(m.ivk, 0xEE, 32);
    size_t n = hc_msg_encode(&m, big, sizeof big);
    assert_int_equal(hc_msg_decode(&d, big + 4, n - 4, NULL), 0);
    assert_string_equal(d.meeting_id, "99");
    assert_string_equal(d.name, "bob");
    assert_int_equal(d.flag, 1);
    assert_int_equal(d.ivk[31], 0xEE);
    /* without an IVK the frame is 32 bytes shorter */
    m.flag = 0;
    assert_int_equal(hc_msg_encode(&m, big, sizeof big), n - 32);
}

/* Every strict prefix of a valid frame is rejected as truncated; any extra byte as trailing. */
static void test_prefixes_and_trailing(void **state) {
    (void)state;
    for (uint8_t t = 1; t <= HC_MSG_TYPE_MAX; t++) {
        hc_msg m, d;
        uint8_t data[64] = {1}, box[HC_BOX_LEN] = {0};
        hc_msg_init(&m, t);
        snprintf(m.name, sizeof m.name, "x");
        snprintf(m.meeting_id, sizeof m.meeting_id, "1");
        m.data = data;
        m.data_len = t == HC_MSG_KEYBOX ? 20 : sizeof data;
        m.data2 = box;
        m.data2_len = sizeof box;
        if (t == HC_MSG_VIDEO) m.flag = HC_VOP_OFFER;   /* op 0 is refused as a bad field */
        if (t == HC_MSG_ROSTER) m.value = 1000;         /* a part of a roster of 1000 bytes */
        size_t n = hc_msg_encode(&m, big, sizeof big);
        assert_true(n > 0);
        size_t body = n - 4;
        for (size_t k = 0; k < body; k++) {
            hc_wire_err e;
            int rc = hc_msg_decode(&d, big + 4, k, &e);
            if (rc == 0) {
                /* a shorter prefix may only decode when the type has no payload */
                fail_msg("type %s: prefix of %zu/%zu bytes decoded", hc_msg_type_name(t), k, body);
            }
            assert_true(e == HC_WERR_TRUNCATED || e == HC_WERR_BAD_FIELD);
        }
        big[n] = 0;
        hc_wire_err e;
        assert_int_equal(hc_msg_decode(&d, big + 4, body + 1, &e), -1);
        assert_int_equal(e, HC_WERR_TRAILING);
    }
}

static void test_encode_refuses(void **state) {
    (void)state;
    hc_msg m;
    hc_msg_init(&m, 0);
    assert_int_equal(hc_msg_encode(&m, big, sizeof big), 0);
    hc_msg_init(&m, HC_MSG_PING);
    assert_int_equal(hc_msg_encode(&m, big, 5), 0);          /* does not fit */
    hc_msg_init(&m, HC_MSG_CHAT);
    m.data = big;
    m.data_len = 70000;                                      /* over lp()'s 65535 */
    static uint8_t out[80000];
    assert_int_equal(hc_msg_encode(&m, out, sizeof out), 0);
    assert_string_equal(hc_msg_type_name(0), "UNKNOWN");
    assert_string_equal(hc_msg_type_name(200), "UNKNOWN");
    assert_string_equal(hc_err_code_name(HC_ERR_NO_SUCH_MEETING), "no_such_meeting");
    assert_string_equal(hc_err_code_name(999), "unknown");
    assert_string_equal(hc_wire_err_name(HC_WERR_TRAILING), "trailing");
}

/* ---- frame reader ---- */

static size_t make_stream(uint8_t *out, size_t cap, int nframes) {
    size_t n = 0;
    for (int i = 0; i < nframes; i++) {
        hc_msg m;
        uint8_t data[500];
        memset(data, i, sizeof data);
        hc_msg_init(&m, i % 2 ? HC_MSG_PING : HC_MSG_CHAT);
        m.opaque = (uint64_t)i;
        m.data = data;
        m.data_len = 1 + (size_t)(i * 37) % 499;
        n += hc_msg_encode(&m, out + n, cap - n);
    }
    return n;
}

static int read_all(hc_frame_reader *r, const uint8_t *s, size_t n, size_t (*chunk)(size_t off), int *types) {
    int got = 0;
    size_t off = 0;
    while (off < n) {
        size_t k = chunk(off);
        if (k > n - off) k = n - off;
        while (k) {
            long took = hc_frame_reader_push(r, s + off, k);
            if (took < 0) return -1;
            off += (size_t)took;
            k -= (size_t)took;
            const uint8_t *b;
            size_t bl;
            int rc;
            while ((rc = hc_frame_reader_next(r, &b, &bl)) == 1) {
                hc_msg m;
                if (hc_msg_decode(&m, b, bl, NULL) < 0) return -2;
                types[got++] = m.type;
            }
            if (rc < 0) return -1;
        }
    }
    return got;
}

static size_t chunk_1(size_t off) { (void)off; return 1; }
static size_t chunk_odd(size_t off) { return 1 + (off * 2654435761u) % 1500; }
static size_t chunk_all(size_t off) { (void)off; return SIZE_MAX; }

static void test_reader_chunking(void **state) {
    (void)state;
    static uint8_t s[64 * 1024];
    size_t n = make_stream(s, sizeof s, 60);
    size_t (*chunks[])(size_t) = {chunk_1, chunk_odd, chunk_all};
    for (int c = 0; c < 3; c++) {
        hc_frame_reader r;
        hc_frame_reader_init(&r, 0);
        int types[100];
        assert_int_equal(read_all(&r, s, n, chunks[c], types), 60);
        for (int i = 0; i < 60; i++) assert_int_equal(types[i], i % 2 ? HC_MSG_PING : HC_MSG_CHAT);
        assert_true(r.cap <= r.max_frame + 4);
        hc_frame_reader_free(&r);
    }
}

static void test_reader_limits(void **state) {
    (void)state;
    hc_frame_reader r;
    hc_frame_reader_init(&r, 1000);
    uint8_t hdr[4];
    hc_put_u32(hdr, 1001);
    assert_int_equal(hc_frame_reader_push(&r, hdr, 4), 4);
    const uint8_t *b;
    size_t bl;
    assert_int_equal(hc_frame_reader_next(&r, &b, &bl), -1);
    assert_int_equal(r.err, HC_WERR_TOO_LARGE);
    assert_int_equal(hc_frame_reader_push(&r, hdr, 4), -1);   /* sticky */
    hc_frame_reader_free(&r);
    /* the same prefix a byte at a time, then more bytes: the same error, nothing of it buffered */
    hc_frame_reader_init(&r, 1000);
    for (int i = 0; i < 4; i++) assert_int_equal(hc_frame_reader_push(&r, hdr + i, 1), 1);
    assert_int_equal(hc_frame_reader_push(&r, hdr, 4), -1);
    assert_int_equal(hc_frame_reader_next(&r, &b, &bl), -1);
    assert_int_equal(r.err, HC_WERR_TOO_LARGE);
    assert_true(r.cap <= 1004);
    hc_frame_reader_free(&r);
    /* exactly max_frame is fine, and the buffer never grows past max_frame + 4 */
    hc_frame_reader_init(&r, 1000);
    static uint8_t f[1004 * 3];
    for (int i = 0; i < 3; i++) {
        hc_put_u32(f + i * 1004, 1000);
        memset(f + i * 1004 + 4, i, 1000);
    }
    size_t off = 0;
    int got = 0;
    while (off < sizeof f) {
        long took = hc_frame_reader_push(&r, f + off, sizeof f - off);
        assert_true(took >= 0);
        off += (size_t)took;
        while (hc_frame_reader_next(&r, &b, &bl) == 1) {
            assert_int_equal(bl, 1000);
            assert_int_equal(b[0], got);
            got++;
        }
        assert_true(r.cap <= 1004);
    }
    assert_int_equal(got, 3);
    /* a zero-length frame is a frame (its body is then rejected by the decoder) */
    uint8_t z[4] = {0};
    assert_int_equal(hc_frame_reader_push(&r, z, 4), 4);
    assert_int_equal(hc_frame_reader_next(&r, &b, &bl), 1);
    assert_int_equal(bl, 0);
    hc_frame_reader_free(&r);
}

/* Pushes all of data, taking frames out (and checking them against want_len/want_byte when
 * given) whenever the reader asks for that; returns the frames read. After every push the
 * buffer's capacity must follow what it holds: at most the bytes buffered plus one 4 KiB step
 * (plus 1/16 of them for frames over 64 KiB, see net/wire.c), and never over max_frame + 4. */
static size_t cap_bound(const hc_frame_reader *r) {
    return r->len + r->len / 16 + 4096;
}

/* After a length prefix of max_frame and N bytes of that frame, the reader holds N + 4 bytes:
 * its capacity must not be the next power of two (a 64 KiB buffer for 33 KB received). Every N
 * in one push and dribbled byte by byte. */
static void test_reader_capacity_follows_bytes(void **state) {
    (void)state;
    static uint8_t s[4 + HC_FRAME_MAX_DEFAULT];
    const size_t ns[] = {1, 100, 4092, 4093, 4097, 8193, 16385, 32769, 33000, 40000, 65535};
    hc_put_u32(s, HC_FRAME_MAX_DEFAULT);
    for (size_t i = 4; i < sizeof s; i++) s[i] = (uint8_t)(i * 7);
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) {
        size_t n = ns[i];
        hc_frame_reader r;
        const uint8_t *b;
        size_t bl;
        hc_frame_reader_init(&r, 0);
        size_t off = 0;
        while (off < 4 + n) {
            long took = hc_frame_reader_push(&r, s + off, 4 + n - off);
            assert_true(took > 0);
            off += (size_t)took;
            assert_int_equal(hc_frame_reader_next(&r, &b, &bl), 0);
        }
        if (r.cap > n + 4 + 4096) fail_msg("prefix + %zu bytes in one push: capacity %zu", n, r.cap);
        hc_frame_reader_free(&r);
        hc_frame_reader_init(&r, 0);
        for (off = 0; off < 4 + n; off++) {
            assert_int_equal(hc_frame_reader_push(&r, s + off, 1), 1);
            if (r.cap > off + 1 + 4096) fail_msg("prefix + %zu bytes byte by byte: capacity %zu after %zu", n, r.cap, off + 1);
        }
        assert_int_equal(hc_frame_reader_next(&r, &b, &bl), 0);
        hc_frame_reader_free(&r);
    }
    /* a raised --max-frame: the same for a 16 MiB frame, where the steps grow with the frame
     * (1/16 of what is buffered) so that copying stays linear in its size */
    hc_frame_reader r;
    hc_frame_reader_init(&r, HC_FRAME_MAX_LIMIT);
    uint8_t hdr[4], chunk[1000];
    memset(chunk, 0x3C, sizeof chunk);
    hc_put_u32(hdr, HC_FRAME_MAX_LIMIT);
    assert_int_equal(hc_frame_reader_push(&r, hdr, 4), 4);
    size_t got = 0;
    while (got < 5u << 20) {
        assert_int_equal(hc_frame_reader_push(&r, chunk, sizeof chunk), (long)sizeof chunk);
        got += sizeof chunk;
        if (r.cap > cap_bound(&r)) fail_msg("16 MiB frame, %zu bytes in: capacity %zu", got, r.cap);
    }
    hc_frame_reader_free(&r);
}

/* A buffer that grew for one large frame is given back once that frame has been taken out:
 * a connection that once sent 64 KiB does not keep 64 KiB for the rest of its life. */
static void test_reader_shrinks_after_large_frame(void **state) {
    (void)state;
    static uint8_t f[4 + HC_FRAME_MAX_DEFAULT];
    hc_put_u32(f, HC_FRAME_MAX_DEFAULT);
    memset(f + 4, 0xAB, HC_FRAME_MAX_DEFAULT);
    hc_frame_reader r;
    hc_frame_reader_init(&r, 0);
    const uint8_t *b;
    size_t bl;
    for (int round = 0; round < 2; round++) {
        size_t off = 0;
        while (off < sizeof f) {
            long took = hc_frame_reader_push(&r, f + off, sizeof f - off);
            assert_true(took > 0);
            off += (size_t)took;
        }
        assert_int_equal(hc_frame_reader_next(&r, &b, &bl), 1);
        assert_int_equal(bl, HC_FRAME_MAX_DEFAULT);
        assert_int_equal(b[0], 0xAB);
        assert_int_equal(b[bl - 1], 0xAB);
        /* the body stays valid until the next call; that call finds the buffer empty */
        assert_int_equal(hc_frame_reader_next(&r, &b, &bl), 0);
        if (r.cap > 4096) fail_msg("round %d: %zu bytes kept after the frame was consumed", round, r.cap);
    }
    /* and it still reads small frames, in a small buffer */
    uint8_t ping[14];
    hc_msg m;
    hc_msg_init(&m, HC_MSG_PING);
    m.opaque = 77;
    assert_int_equal(hc_msg_encode(&m, ping, sizeof ping), sizeof ping);
    assert_int_equal(hc_frame_reader_push(&r, ping, sizeof ping), (long)sizeof ping);
    assert_int_equal(hc_frame_reader_next(&r, &b, &bl), 1);
    assert_int_equal(bl, sizeof ping - 4);
    assert_int_equal(hc_msg_decode(&m, b, bl, NULL), 0);
    assert_true(m.opaque == 77);
    assert_true(r.cap <= 4096);
    hc_frame_reader_free(&r);
}

static uint64_t rng_next(uint64_t *s) {   /* xorshift64*: a fixed seed gives the same run */
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ull;
}

/* Frames of every size up to max_frame (bodies of known content), split into chunks of seeded
 * random sizes from 1 byte to more than a frame, and byte by byte: every frame comes out whole
 * and in order, and the capacity follows the bytes buffered after every push. */
static void test_reader_random_chunks(void **state) {
    (void)state;
    enum { NF = 48 };
    static uint8_t s[NF * (4 + HC_FRAME_MAX_DEFAULT)];
    size_t lens[NF], n = 0;
    uint64_t seed = 0x9E3779B97F4A7C15ull;
    for (int i = 0; i < NF; i++) {
        uint64_t x = rng_next(&seed);
        /* a mix: tiny, around the 4 KiB steps, and large up to exactly max_frame */
        size_t len = i == 0 ? HC_FRAME_MAX_DEFAULT : i == 1 ? 0 : (x & 3) == 0 ? (size_t)(x >> 8) % 64
                   : (x & 3) == 1 ? 4090 + (size_t)(x >> 8) % 12 : (size_t)(x >> 8) % (HC_FRAME_MAX_DEFAULT + 1);
        lens[i] = len;
        hc_put_u32(s + n, (uint32_t)len);
        for (size_t k = 0; k < len; k++) s[n + 4 + k] = (uint8_t)(i * 31 + k);
        n += 4 + len;
    }
    for (int mode = 0; mode < 4; mode++) {   /* 0: byte by byte; 1-3: random chunks, three seeds */
        uint64_t cs = 0xC0FFEEull + (uint64_t)mode;
        hc_frame_reader r;
        hc_frame_reader_init(&r, 0);
        size_t off = 0;
        int got = 0;
        while (off < n) {
            size_t k = mode == 0 ? 1 : 1 + (size_t)(rng_next(&cs) % 70000);
            if (k > n - off) k = n - off;
            while (k) {
                long took = hc_frame_reader_push(&r, s + off, k);
                assert_true(took >= 0);
                off += (size_t)took;
                k -= (size_t)took;
                assert_true(r.cap <= r.max_frame + 4);
                if (r.cap > cap_bound(&r))
                    fail_msg("mode %d at byte %zu: capacity %zu for %zu buffered", mode, off, r.cap, r.len);
                const uint8_t *b;
                size_t bl;
                int rc;
                while ((rc = hc_frame_reader_next(&r, &b, &bl)) == 1) {
                    assert_true(got < NF);
                    assert_int_equal(bl, lens[got]);
                    for (size_t j = 0; j < bl; j++)
                        if (b[j] != (uint8_t)(got * 31 + j)) fail_msg("mode %d frame %d byte %zu", mode, got, j);
                    got++;
                }
                assert_int_equal(rc, 0);
            }
        }
        assert_int_equal(got, NF);
        assert_true(r.cap <= 4096);   /* everything consumed: no large buffer left behind */
        hc_frame_reader_free(&r);
    }
}

/* ---- media datagrams ---- */

static void test_media_parse(void **state) {
    (void)state;
    uint8_t p[HC_MEDIA_MAX + 10];
    hc_media_info mi;
    uint64_t kid = hc_kid_make(HC_STREAM_AUDIO, 513, 7);
    p[0] = hc_media_byte0(HC_MEDIA_AUDIO);
    p[1] = 0x85;
    size_t h = hc_sframe_header_encode(p + 2, kid, 300);
    memset(p + 2 + h, 0, 16);
    size_t n = 2 + h + 16;
    assert_int_equal(hc_media_parse(&mi, p, n), 0);
    assert_int_equal(mi.type, HC_MEDIA_AUDIO);
    assert_int_equal(mi.level, 0x85);
    assert_true(mi.kid == kid);
    assert_true(mi.ctr == 300);
    assert_int_equal((mi.kid >> 8) & 0xFFFF, 513);
    assert_int_equal(hc_media_parse(&mi, p, n - 1), -1);         /* no room for the tag */
    assert_int_equal(hc_media_parse(&mi, p, 2), -1);
    assert_int_equal(hc_media_parse(&mi, p, 0), -1);
    p[0] = 0x21;
    assert_int_equal(hc_media_parse(&mi, p, n), -1);             /* version 2 */
    p[0] = hc_media_byte0(5);
    assert_int_equal(hc_media_parse(&mi, p, n), -1);             /* unknown type */
    p[0] = hc_media_byte0(HC_MEDIA_VIDEO);
    assert_int_equal(hc_media_parse(&mi, p, n), 0);
    memset(p + n, 0, sizeof p - n);
    assert_int_equal(hc_media_parse(&mi, p, HC_MEDIA_MAX), 0);
    assert_int_equal(hc_media_parse(&mi, p, HC_MEDIA_MAX + 1), -1);  /* too large */
    uint8_t tok[16], c[17];
    memset(tok, 0x7C, sizeof tok);
    for (uint8_t t = HC_MEDIA_REGISTER; t <= HC_MEDIA_KEEPALIVE; t++) {
        assert_int_equal(hc_media_control(c, t, tok), 17);
        assert_int_equal(hc_media_parse(&mi, c, 17), 0);
        assert_int_equal(mi.type, t);
        assert_memory_equal(mi.token, tok, 16);
        assert_int_equal(hc_media_parse(&mi, c, 16), -1);
    }
}


/* H(Roster) from a roster's encoding, written from the text of PROTOCOL.md §5.1 (independent of
 * net/roster.c's page cache). */
static void reference_roster_hash(const uint8_t *enc, size_t len, uint8_t out[32]) {
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, enc, 9);                       /* v, flags, leader */
    size_t off = 9;
    uint16_t n = (uint16_t)(enc[off] << 8 | enc[off + 1]);
    size_t w_off = off + 2 + 36u * n;
    crypto_hash_sha256_update(&st, enc + off, 2);
    crypto_hash_sha256_update(&st, enc + w_off, 2);
    for (int list = 0; list < 2; list++) {
        size_t lo = list ? w_off : off;
        uint16_t cnt = (uint16_t)(enc[lo] << 8 | enc[lo + 1]);
        const uint8_t *e = enc + lo + 2;
        uint8_t rec[36];
        uint16_t pages = 0;
        for (size_t i = 0; i < cnt; i++)
            if (!i || hc_get_u32(e + 36 * i) >> 6 != hc_get_u32(e + 36 * (i - 1)) >> 6) pages++;
        rec[0] = (uint8_t)(pages >> 8);
        rec[1] = (uint8_t)pages;
        crypto_hash_sha256_update(&st, rec, 2);
        for (size_t i = 0; i < cnt;) {
            size_t j = i + 1;
            while (j < cnt && hc_get_u32(e + 36 * j) >> 6 == hc_get_u32(e + 36 * i) >> 6) j++;
            hc_put_u32(rec, hc_get_u32(e + 36 * i) >> 6);
            crypto_hash_sha256(rec + 4, e + 36 * i, 36 * (j - i));
            crypto_hash_sha256_update(&st, rec, 36);
            i = j;
        }
    }
    (void)len;
    crypto_hash_sha256_final(&st, out);
}

/* The roster's flags carry the lock (bit 0) and the admission policy (bits 1-2), signed with the
 * rest; any other bit, or policy 3, makes the roster malformed. A roster of the most entries a
 * meeting can have is HC_ROSTER_ENC_MAX bytes and goes in ROSTER frames of one part each. */
static void test_roster_flags_and_size(void **state) {
    (void)state;
    hc_roster r, d;
    hc_roster_init(&r);
    hc_roster_init(&d);
    uint8_t *buf = malloc(HC_ROSTER_ENC_MAX + 100);
    uint8_t h[32] = {0};
    r.v = 7;
    r.leader = 1;
    assert_int_equal(hc_roster_add(&r, 0, 1, h), 0);
    for (int locked = 0; locked < 2; locked++)
        for (int admit = HC_ROSTER_ADMIT_AUTO; admit <= HC_ROSTER_ADMIT_KNOWN; admit++) {
            r.locked = locked;
            r.admit = admit;
            size_t n = hc_roster_encode(&r, buf, HC_ROSTER_ENC_MAX);
            assert_true(n > 0);
            assert_int_equal(buf[4], locked | admit << 1);
            assert_int_equal(hc_roster_decode(&d, buf, n), 0);
            assert_int_equal(d.locked, locked);
            assert_int_equal(d.admit, admit);
        }
    size_t n = hc_roster_encode(&r, buf, HC_ROSTER_ENC_MAX);
    const uint8_t bad[] = {0x06, 0x07, 0x08, 0x10, 0x80};
    for (size_t i = 0; i < sizeof bad; i++) {
        buf[4] = bad[i];
        assert_int_equal(hc_roster_decode(&d, buf, n), -1);   /* 0x06, 0x07: policy 3 */
    }
    r.admit = 3;
    assert_int_equal(hc_roster_encode(&r, buf, HC_ROSTER_ENC_MAX), 0);
    r.admit = HC_ROSTER_ADMIT_ASK;
    /* the limit: members and waiting together */
    hc_roster_clear(&r);
    for (uint32_t i = 0; i < HC_ROSTER_MAX_ENTRIES - 300; i++) assert_int_equal(hc_roster_add(&r, 0, 1 + i, h), 0);
    for (uint32_t i = 0; i < 300; i++) assert_int_equal(hc_roster_add(&r, 1, 20000 + i, h), 0);
    assert_int_equal(hc_roster_add(&r, 1, 30000, h), -1);
    assert_int_equal(hc_roster_add(&r, 0, 1, h), -1);     /* out of order */
    n = hc_roster_encode(&r, buf, HC_ROSTER_ENC_MAX);
    assert_int_equal(n, HC_ROSTER_ENC_MAX);
    assert_int_equal(hc_roster_decode(&d, buf, n), 0);
    assert_int_equal(d.n + d.n_waiting, HC_ROSTER_MAX_ENTRIES);
    /* the roster hash as PROTOCOL.md §5.1 defines it, from the encoding: the header, the two
     * counts, then per list its pages of 64 indexes (number and H(entries)) */
    uint8_t h1[32], h2[32];
    hc_roster_hash(&r, h1);
    reference_roster_hash(buf, n, h2);
    assert_memory_equal(h1, h2, 32);
    /* a copy keeps the page digests; a decoded roster computes them afresh: same hash */
    hc_roster_copy(&d, &r);
    hc_roster_hash(&d, h2);
    assert_memory_equal(h1, h2, 32);
    assert_int_equal(hc_roster_decode(&d, buf, n), 0);
    hc_roster_hash(&d, h2);
    assert_memory_equal(h1, h2, 32);
    /* one changed entry changes it */
    d.waiting[d.n_waiting - 1].hash[31] ^= 1;
    d.pages_ok = 0;
    hc_roster_hash(&d, h2);
    assert_memory_not_equal(h1, h2, 32);
    /* one more entry than a meeting holds does not decode */
    memcpy(buf + n, buf + n - 36, 36);
    hc_put_u32(buf + n, 30000);
    buf[HC_ROSTER_HDR_LEN - 2 + 36 * (HC_ROSTER_MAX_ENTRIES - 300) + 1] = 45;   /* w = 301 */
    buf[HC_ROSTER_HDR_LEN - 2 + 36 * (HC_ROSTER_MAX_ENTRIES - 300)] = 1;
    assert_int_equal(hc_roster_decode(&d, buf, n + 36), -1);
    /* every part of the largest roster fits a control frame, and parts must lie inside it */
    hc_msg m, pd;
    size_t parts = 0;
    for (size_t off = 0; off < HC_ROSTER_ENC_MAX; parts++) {
        off = hc_msg_roster_part(&m, buf, HC_ROSTER_ENC_MAX, off);
        size_t fl = hc_msg_encode(&m, big, sizeof big);
        assert_true(fl > 0 && fl <= HC_FRAME_MAX_DEFAULT + 4);
        assert_int_equal(hc_msg_decode(&pd, big + 4, fl - 4, NULL), 0);
    }
    assert_int_equal(parts, 3);
    m.offset = HC_ROSTER_ENC_MAX - 10;      /* runs past the end */
    m.data_len = 11;
    size_t fl = hc_msg_encode(&m, big, sizeof big);
    hc_wire_err e;
    assert_int_equal(hc_msg_decode(&pd, big + 4, fl - 4, &e), -1);
    assert_int_equal(e, HC_WERR_BAD_FIELD);
    m.value = HC_ROSTER_ENC_MAX + 1;        /* larger than any roster */
    m.offset = 0;
    fl = hc_msg_encode(&m, big, sizeof big);
    assert_int_equal(hc_msg_decode(&pd, big + 4, fl - 4, &e), -1);
    free(buf);
    hc_roster_free(&r);
    hc_roster_free(&d);
}

/* A random roster: members and waiting entries drawn from indexes 1..span. */
static void random_roster(hc_roster *r, uint32_t v, uint32_t span, int pct_member, int pct_waiting) {
    hc_roster_clear(r);
    r->v = v;
    r->leader = 1;
    r->admit = (int)randombytes_uniform(3);
    r->locked = (int)randombytes_uniform(2);
    for (uint32_t i = 1; i <= span; i++) {
        uint32_t dice = randombytes_uniform(100);
        uint8_t h[32];
        memset(h, (int)(i * 7 + randombytes_uniform(2)), 32);   /* sometimes another hash */
        if ((int)dice < pct_member) hc_roster_add(r, 0, i, h);
        else if ((int)dice < pct_member + pct_waiting) hc_roster_add(r, 1, i, h);
    }
}

static int rosters_equal(hc_roster *a, hc_roster *b) {
    uint8_t ha[32], hb[32];
    hc_roster_hash(a, ha);
    hc_roster_hash(b, hb);
    return !memcmp(ha, hb, 32);
}

/* The header of a hand-made delta from version 5 to 6 (leader 1) with `count` changes to follow. */
static hc_wr delta_5_to_6(uint8_t *d, uint16_t count) {
    hc_wr w = hc_wr_init(d, HC_ROSTER_DELTA_MAX);
    hc_wr_u32(&w, 5);
    hc_wr_u32(&w, 6);
    hc_wr_u8(&w, 0);
    hc_wr_u32(&w, 1);
    hc_wr_u16(&w, count);
    return w;
}

/* A delta from one roster to another, applied to the first, gives the second exactly (the hash a
 * heartbeat certifies), whatever changed: joins, leaves, moves between the lists, flags, the
 * leader. It applies to that version only, and it is strict: a change that changes nothing, a
 * removal of an absent entry, indexes out of order, an unknown operation are refused. */
static void test_roster_delta(void **state) {
    (void)state;
    hc_roster a, b, out, empty;
    hc_roster_init(&a);
    hc_roster_init(&b);
    hc_roster_init(&out);
    hc_roster_init(&empty);
    uint8_t *d = malloc(HC_ROSTER_DELTA_MAX);
    for (int round = 0; round < 200; round++) {
        random_roster(&a, 10 + (uint32_t)round, 300, 60, 10);
        random_roster(&b, 11 + (uint32_t)round + randombytes_uniform(3), 300, 60, 10);
        if (round % 10 == 0) b.leader = 9;
        size_t dl = hc_roster_delta_encode(&a, &b, d, HC_ROSTER_DELTA_MAX);
        assert_true(dl >= HC_ROSTER_DELTA_HDR_LEN);
        uint8_t ha[32];
        hc_roster_hash(&a, ha);                 /* a's page digests: out reuses the untouched ones */
        assert_int_equal(hc_roster_delta_apply(&a, d, dl, &out), 0);
        assert_true(out.pages_ok);
        assert_true(rosters_equal(&out, &b));
        uint8_t *enc = malloc(HC_ROSTER_ENC_MAX), ref[32], got[32];
        size_t el = hc_roster_encode(&out, enc, HC_ROSTER_ENC_MAX);
        reference_roster_hash(enc, el, ref);
        hc_roster_hash(&out, got);
        assert_memory_equal(ref, got, 32);    /* the reused digests are the right ones */
        free(enc);
        uint32_t vb, v;
        assert_int_equal(hc_roster_delta_versions(d, dl, &vb, &v), 0);
        assert_int_equal(vb, a.v);
        assert_int_equal(v, b.v);
        /* on another version: not applicable; the empty roster is version 0 */
        assert_int_equal(hc_roster_delta_apply(&b, d, dl, &out), b.v == a.v ? 0 : -2);
        assert_int_equal(hc_roster_delta_apply(NULL, d, dl, &out), -2);
        /* every truncation and any extra byte is refused */
        for (size_t k = HC_ROSTER_DELTA_HDR_LEN; k < dl; k += 1 + dl / 50)
            assert_int_equal(hc_roster_delta_apply(&a, d, k, &out), -1);
        d[dl] = 0;
        assert_int_equal(hc_roster_delta_apply(&a, d, dl + 1, &out), -1);
    }
    /* from nothing: the first roster of a meeting */
    random_roster(&b, 1, 50, 80, 0);
    size_t dl = hc_roster_delta_encode(NULL, &b, d, HC_ROSTER_DELTA_MAX);
    assert_int_equal(hc_roster_delta_apply(NULL, d, dl, &out), 0);
    assert_true(rosters_equal(&out, &b));
    assert_int_equal(hc_roster_delta_encode(&b, &b, d, HC_ROSTER_DELTA_MAX), 0);   /* v must rise */
    /* hand-made deltas against a = {1 member, 2 waiting} */
    uint8_t h1[32], h2[32];
    memset(h1, 1, 32);
    memset(h2, 2, 32);
    hc_roster_clear(&a);
    a.v = 5;
    hc_roster_add(&a, 0, 1, h1);
    hc_roster_add(&a, 1, 2, h2);
    struct { const char *what; uint32_t index; uint8_t op; const uint8_t *hash; int rc; } cases[] = {
        {"a removal", 2, HC_RDELTA_REMOVE, NULL, 0},
        {"a move from waiting", 2, HC_RDELTA_MEMBER, h2, 0},
        {"a join", 3, HC_RDELTA_MEMBER, h1, 0},
        {"removal of an absent entry", 3, HC_RDELTA_REMOVE, NULL, -1},
        {"a member listed again as it is", 1, HC_RDELTA_MEMBER, h1, -1},
        {"an unknown operation", 3, 3, h1, -1},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        hc_wr w = delta_5_to_6(d, 1);
        hc_wr_u32(&w, cases[c].index);
        hc_wr_u8(&w, cases[c].op);
        if (cases[c].hash) hc_wr_bytes(&w, cases[c].hash, 32);
        int rc = hc_roster_delta_apply(&a, d, w.len, &out);
        if (rc != cases[c].rc) fail_msg("%s: %d, expected %d", cases[c].what, rc, cases[c].rc);
    }
    /* two changes out of order */
    hc_wr w = delta_5_to_6(d, 2);
    hc_wr_u32(&w, 4);
    hc_wr_u8(&w, HC_RDELTA_MEMBER);
    hc_wr_bytes(&w, h1, 32);
    hc_wr_u32(&w, 3);
    hc_wr_u8(&w, HC_RDELTA_MEMBER);
    hc_wr_bytes(&w, h1, 32);
    assert_int_equal(hc_roster_delta_apply(&a, d, w.len, &out), -1);
    /* a version that does not rise */
    hc_put_u32(d + 4, 5);
    assert_int_equal(hc_roster_delta_apply(&a, d, w.len, &out), -1);
    /* a change of 5000 joins does not fit one frame: no delta (members fetch the whole list) */
    hc_roster_clear(&b);
    b.v = 6;
    for (uint32_t i = 1; i <= HC_ROSTER_MAX_ENTRIES; i++) hc_roster_add(&b, 0, i, h1);
    assert_int_equal(hc_roster_delta_encode(&empty, &b, d, HC_ROSTER_DELTA_MAX), 0);
    free(d);
    hc_roster_free(&a);
    hc_roster_free(&b);
    hc_roster_free(&out);
    hc_roster_free(&empty);
}

int main(void) {
    if (sodium_init() < 0) return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_all_types),
        cmocka_unit_test(test_decode_fields),
        cmocka_unit_test(test_prefixes_and_trailing),
        cmocka_unit_test(test_encode_refuses),
        cmocka_unit_test(test_reader_chunking),
        cmocka_unit_test(test_reader_limits),
        cmocka_unit_test(test_reader_capacity_follows_bytes),
        cmocka_unit_test(test_reader_shrinks_after_large_frame),
        cmocka_unit_test(test_reader_random_chunks),
        cmocka_unit_test(test_media_parse),
        cmocka_unit_test(test_roster_flags_and_size),
        cmocka_unit_test(test_roster_delta),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
