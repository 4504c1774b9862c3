/* The relay core in memory: malformed control frames, routing rules, the board, leaders,
 * limits and loudest-K forwarding. No sockets; a fake clock. */
#include <arpa/inet.h>

#include "tests/testutil.h"
#include "net/roster.h"
#include "tests/relay_harness.h"

/* ---- a live meeting that must survive everything else in a test ---- */

typedef struct {
    char id[HC_MEETING_ID_MAX + 1];
    uint8_t uuid[16];
    uint32_t ia, ib;                   /* leader A on conn 1, member B on conn 2 */
    uint8_t ta[16], tb[16];
} live;

#define LIVE_A 1
#define LIVE_B 2
#define LIVE_IP_A 201
#define LIVE_IP_B 202

static void live_setup(hh *h, live *L) {
    hc_media_route rt;
    assert_int_equal(hh_connect(h, LIVE_A, LIVE_IP_A), 0);
    assert_int_equal(hh_connect(h, LIVE_B, LIVE_IP_B), 0);
    L->ia = hh_join(h, LIVE_A, NULL, "alice", L->id, L->uuid, L->ta);
    assert_int_equal(L->ia, 1);
    L->ib = hh_join(h, LIVE_B, L->id, "bob", NULL, NULL, L->tb);
    assert_int_equal(L->ib, 2);
    uint8_t f[512];
    size_t n = hh_announce(f, sizeof f, L->id, L->uuid, L->ia, "alice");
    hh_bytes(h, LIVE_A, f, n);
    n = hh_announce(f, sizeof f, L->id, L->uuid, L->ib, "bob");
    hh_bytes(h, LIVE_B, f, n);
    hh_register(h, L->ta, LIVE_IP_A, 5000, &rt);
    assert_non_null(rt.reply);
    hh_register(h, L->tb, LIVE_IP_B, 5000, &rt);
    hh_drain(h, LIVE_A);
    hh_drain(h, LIVE_B);
}

/* The live meeting still works: media both ways, a chat, a ping; nobody was closed. */
static void live_check(hh *h, live *L) {
    hc_media_route rt;
    uint8_t pkt[128];
    size_t n = hh_media(pkt, L->ia, 10, 7);
    assert_int_equal(hh_media_from(h, LIVE_IP_A, 5000, pkt, n, &rt), 1);
    assert_true(hh_route_has(&rt, LIVE_IP_B, 5000));
    n = hh_media(pkt, L->ib, 10, 7);
    assert_int_equal(hh_media_from(h, LIVE_IP_B, 5000, pkt, n, &rt), 1);
    assert_true(hh_route_has(&rt, LIVE_IP_A, 5000));
    hc_msg m;
    hc_msg_init(&m, HC_MSG_CHAT);
    uint8_t chat[40] = {1, 2, 3};
    m.data = chat;
    m.data_len = sizeof chat;
    hh_drain(h, LIVE_A);
    hh_send(h, LIVE_B, &m);
    hc_msg r;
    assert_true(hh_find(h, LIVE_A, HC_MSG_CHAT, &r));
    assert_int_equal(r.index, L->ib);
    hc_msg_init(&m, HC_MSG_PING);
    m.opaque = 0x1234;
    hh_send(h, LIVE_A, &m);
    assert_true(hh_find(h, LIVE_A, HC_MSG_PONG, &r));
    assert_true(r.opaque == 0x1234);
    assert_false(h->c[LIVE_A].close_req);
    assert_false(h->c[LIVE_B].close_req);
    assert_string_equal(hc_relay_conn_meeting(h->r, LIVE_A), L->id);
    assert_string_equal(hc_relay_conn_meeting(h->r, LIVE_B), L->id);
}

/* ---- malformed control frames: table-driven ---- */

/* Hex with spaces; "HH*N" repeats a byte N times. Returns the byte count. */
static size_t unhex_rep(uint8_t *out, size_t cap, const char *s) {
    size_t n = 0;
    while (*s) {
        if (*s == ' ') { s++; continue; }
        unsigned v;
        assert_int_equal(sscanf(s, "%2x", &v), 1);
        s += 2;
        size_t rep = 1;
        if (*s == '*') {
            char *end;
            rep = strtoul(s + 1, &end, 10);
            s = end;
        }
        assert_true(n + rep <= cap);
        memset(out + n, (int)v, rep);
        n += rep;
    }
    return n;
}

typedef struct {
    const char *name;
    const char *hex;          /* frame body, or the whole stream when raw */
    int raw;                  /* hex already includes the length prefix */
    int in_meeting;           /* the connection joins the live meeting first */
    uint16_t code;            /* ERROR code expected */
    hc_wire_err kind;         /* counter expected to grow */
} bad_case;

static const bad_case bad_cases[] = {
    {"empty body", "", 0, 0, HC_ERR_MALFORMED, HC_WERR_TRUNCATED},
    {"version byte only", "01", 0, 0, HC_ERR_MALFORMED, HC_WERR_TRUNCATED},
    {"bad version 2", "02 11 00*8", 0, 0, HC_ERR_BAD_VERSION, HC_WERR_BAD_VERSION},
    {"bad version 0", "00 01", 0, 0, HC_ERR_BAD_VERSION, HC_WERR_BAD_VERSION},
    {"unknown type 0", "01 00", 0, 0, HC_ERR_UNKNOWN_TYPE, HC_WERR_UNKNOWN_TYPE},
    {"unknown type 99", "01 63 00", 0, 0, HC_ERR_UNKNOWN_TYPE, HC_WERR_UNKNOWN_TYPE},
    {"CREATE empty name", "01 01 0000 00000000", 0, 0, HC_ERR_MALFORMED, HC_WERR_BAD_FIELD},
    {"CREATE name of 65 bytes", "01 01 0041 61*65 00000000", 0, 0, HC_ERR_MALFORMED, HC_WERR_BAD_FIELD},
    {"CREATE invalid UTF-8 name", "01 01 0002 c328 00000000", 0, 0, HC_ERR_MALFORMED, HC_WERR_BAD_FIELD},
    {"CREATE overlong UTF-8 name", "01 01 0002 c0af 00000000", 0, 0, HC_ERR_MALFORMED, HC_WERR_BAD_FIELD},
    {"CREATE name with newline", "01 01 0003 610a62 00000000", 0, 0, HC_ERR_MALFORMED, HC_WERR_BAD_FIELD},
    {"CREATE name with bidi override", "01 01 0004 61e280ae 00000000", 0, 0, HC_ERR_MALFORMED, HC_WERR_BAD_FIELD},
    {"CREATE name runs past the end", "01 01 000a 616263", 0, 0, HC_ERR_MALFORMED, HC_WERR_TRUNCATED},
    {"CREATE caps truncated", "01 01 0003 616263 0000", 0, 0, HC_ERR_MALFORMED, HC_WERR_TRUNCATED},
    {"CREATE trailing byte", "01 01 0003 616263 00000000 ff", 0, 0, HC_ERR_MALFORMED, HC_WERR_TRAILING},
    {"JOIN non-digit meeting id", "01 02 0004 31326134 0003 616263 00000000 00", 0, 0, HC_ERR_MALFORMED, HC_WERR_BAD_FIELD},
    {"JOIN meeting id of 21 digits", "01 02 0015 31*21 0003 616263 00000000 00", 0, 0, HC_ERR_MALFORMED, HC_WERR_BAD_FIELD},
    {"JOIN empty meeting id", "01 02 0000 0003 616263 00000000 00", 0, 0, HC_ERR_MALFORMED, HC_WERR_BAD_FIELD},
    {"JOIN has_ivk = 2", "01 02 0002 3132 0003 616263 00000000 02", 0, 0, HC_ERR_MALFORMED, HC_WERR_BAD_FIELD},
    {"JOIN ivk truncated", "01 02 0002 3132 0003 616263 00000000 01 00*10", 0, 0, HC_ERR_MALFORMED, HC_WERR_TRUNCATED},
    {"JOIN empty name", "01 02 0002 3132 0000 00000000 00", 0, 0, HC_ERR_MALFORMED, HC_WERR_BAD_FIELD},
    {"PING truncated", "01 11 0000", 0, 0, HC_ERR_MALFORMED, HC_WERR_TRUNCATED},
    {"PING trailing byte", "01 11 00*8 00", 0, 0, HC_ERR_MALFORMED, HC_WERR_TRAILING},
    {"JOINED n_members says 5, has 2", "01 03 0002 3132 00*16 00000001 00000001 00*16 00 0005 00000001 00000002", 0,
     0, HC_ERR_MALFORMED, HC_WERR_TRUNCATED},
    {"JOINED n_members says 1, has 2", "01 03 0002 3132 00*16 00000001 00000001 00*16 00 0001 00000001 00000002", 0,
     0, HC_ERR_MALFORMED, HC_WERR_TRAILING},
    {"ERROR text of 257 bytes", "01 04 0002 0101 61*257", 0, 0, HC_ERR_MALFORMED, HC_WERR_BAD_FIELD},
    {"MEMBER_JOINED invalid UTF-8", "01 0c 00000001 0001 ff", 0, 0, HC_ERR_MALFORMED, HC_WERR_BAD_FIELD},
    {"LOCKED_OUT empty name", "01 18 00000001 0000", 0, 0, HC_ERR_MALFORMED, HC_WERR_BAD_FIELD},
    {"length prefix 0xFFFFFFFF", "ffffffff 0101", 1, 0, HC_ERR_TOO_LARGE, HC_WERR_TOO_LARGE},
    {"length prefix max_frame + 1", "00010001 01", 1, 0, HC_ERR_TOO_LARGE, HC_WERR_TOO_LARGE},
    {"KEYBOX box of 3 bytes", "01 06 00000001 0004 01020304 0003 aabbcc", 0, 1, HC_ERR_MALFORMED, HC_WERR_BAD_FIELD},
    {"KEYBOX empty meta", "01 06 00000001 0000 004e 00*78", 0, 1, HC_ERR_MALFORMED, HC_WERR_BAD_FIELD},
    {"KEYBOX box length past the end", "01 06 00000001 0004 01020304 004e 00*10", 0, 1, HC_ERR_MALFORMED, HC_WERR_TRUNCATED},
    {"ANNOUNCE empty binding", "01 05 0000 00*64", 0, 1, HC_ERR_MALFORMED, HC_WERR_BAD_FIELD},
    {"ANNOUNCE signature truncated", "01 05 0003 010203 00*10", 0, 1, HC_ERR_MALFORMED, HC_WERR_TRUNCATED},
    {"HEARTBEAT truncated", "01 09 00*40", 0, 1, HC_ERR_MALFORMED, HC_WERR_TRUNCATED},
    {"LOCK flag 2", "01 0f 02", 0, 1, HC_ERR_MALFORMED, HC_WERR_BAD_FIELD},
    {"KEYACK trailing byte", "01 07 00000000 00000001 00", 0, 1, HC_ERR_MALFORMED, HC_WERR_TRAILING},
    {"CHAT empty", "01 10 00000000 0000", 0, 1, HC_ERR_MALFORMED, HC_WERR_BAD_FIELD},
    {"ROSTER empty part", "01 08 00000100 00000000 0000", 0, 1, HC_ERR_MALFORMED, HC_WERR_BAD_FIELD},
    {"ROSTER part past its end", "01 08 00000020 0000001e 0004 01020304", 0, 1, HC_ERR_MALFORMED, HC_WERR_BAD_FIELD},
    {"ROSTER larger than any roster", "01 08 01000000 00000000 0004 01020304", 0, 1, HC_ERR_MALFORMED, HC_WERR_BAD_FIELD},
    {"ROSTER_DELTA shorter than its header", "01 19 0003 010203", 0, 1, HC_ERR_MALFORMED, HC_WERR_BAD_FIELD},
    {"ROSTER_GET truncated", "01 1a 0000", 0, 1, HC_ERR_MALFORMED, HC_WERR_TRUNCATED},
    {"LEAVE without reason", "01 0b", 0, 1, HC_ERR_MALFORMED, HC_WERR_TRUNCATED},
    {"KICK truncated index", "01 0e 0000", 0, 1, HC_ERR_MALFORMED, HC_WERR_TRUNCATED},
};

static void test_malformed_table(void **state) {
    (void)state;
    hc_relay_config cfg;
    hc_relay_config_defaults(&cfg);
    hh *h = hh_new(&cfg);
    live L;
    live_setup(h, &L);
    size_t ncases = sizeof bad_cases / sizeof bad_cases[0];
    assert_true(ncases >= 20);
    for (size_t i = 0; i < ncases; i++) {
        const bad_case *bc = &bad_cases[i];
        uint64_t id = 10 + i;
        print_message("case %2zu: %-34s -> %s / %s\n", i, bc->name, hc_err_code_name(bc->code),
                      hc_wire_err_name(bc->kind));
        assert_int_equal(hh_connect(h, id, 10 + (uint32_t)i), 0);
        uint32_t idx = 0;
        if (bc->in_meeting) {
            idx = hh_join(h, id, L.id, "mallory", NULL, NULL, NULL);
            assert_true(idx > 0);
            hh_drain(h, id);
            hh_drain(h, LIVE_A);
            hh_drain(h, LIVE_B);
        }
        uint8_t body[1024], frame[1100];
        size_t bl = unhex_rep(body, sizeof body, bc->hex), fl;
        if (bc->raw) {
            memcpy(frame, body, bl);
            fl = bl;
        } else {
            hc_put_u32(frame, (uint32_t)bl);
            memcpy(frame + 4, body, bl);
            fl = bl + 4;
        }
        uint64_t before = hc_relay_get_stats(h->r)->ctrl_errors[bc->kind];
        uint64_t before_total = 0, after_total = 0;
        for (int k = 0; k < HC_WERR_COUNT; k++) before_total += hc_relay_get_stats(h->r)->ctrl_errors[k];
        /* Feed one byte at a time for half the cases: framing must not depend on chunking. */
        if (i % 2)
            for (size_t b = 0; b < fl; b++) hh_bytes(h, id, frame + b, 1);
        else
            hh_bytes(h, id, frame, fl);
        hc_msg m;
        assert_true(hh_find(h, id, HC_MSG_ERROR, &m));
        assert_int_equal(m.code, bc->code);
        assert_true(m.data_len > 0);
        assert_true(h->c[id].close_req);
        assert_int_equal(hc_relay_get_stats(h->r)->ctrl_errors[bc->kind], before + 1);
        for (int k = 0; k < HC_WERR_COUNT; k++) after_total += hc_relay_get_stats(h->r)->ctrl_errors[k];
        assert_int_equal(after_total, before_total + 1);
        /* Anything more on a closing connection is ignored. */
        hh_bytes(h, id, frame, fl);
        assert_int_equal(hh_count(h, id, HC_MSG_ERROR), 0);
        hh_pump(h);
        if (bc->in_meeting) {
            assert_true(hh_find(h, LIVE_A, HC_MSG_MEMBER_LEFT, &m));
            assert_int_equal(m.index, idx);
        }
        live_check(h, &L);
    }
    assert_int_equal(hc_relay_get_stats(h->r)->connections, 2);
    assert_int_equal(hc_relay_get_stats(h->r)->members, 2);
    hh_free(h);
}

/* Valid frames at the wrong time get ERROR(protocol) or ERROR(not_leader) but keep the connection. */
static void test_protocol_errors(void **state) {
    (void)state;
    hc_relay_config cfg;
    hc_relay_config_defaults(&cfg);
    hh *h = hh_new(&cfg);
    live L;
    live_setup(h, &L);
    hc_msg m, r;
    assert_int_equal(hh_connect(h, 3, 3), 0);
    /* ANNOUNCE before JOIN */
    uint8_t f[512];
    size_t n = hh_announce(f, sizeof f, L.id, L.uuid, 3, "carol");
    hh_bytes(h, 3, f, n);
    assert_true(hh_find(h, 3, HC_MSG_ERROR, &r));
    assert_int_equal(r.code, HC_ERR_PROTOCOL);
    /* relay-to-client types from a client */
    hc_msg_init(&m, HC_MSG_MEDIA_READY);
    hh_send(h, 3, &m);
    assert_true(hh_find(h, 3, HC_MSG_ERROR, &r));
    assert_int_equal(r.code, HC_ERR_PROTOCOL);
    assert_false(h->c[3].close_req);
    /* join, then JOIN again */
    assert_int_equal(hh_join(h, 3, L.id, "carol", NULL, NULL, NULL), 3);
    hc_msg_init(&m, HC_MSG_JOIN);
    hh_copy_id(m.meeting_id, L.id);
    snprintf(m.name, sizeof m.name, "carol");
    hh_send(h, 3, &m);
    assert_true(hh_find(h, 3, HC_MSG_ERROR, &r));
    assert_int_equal(r.code, HC_ERR_PROTOCOL);
    /* announcing for someone else */
    n = hh_announce(f, sizeof f, L.id, L.uuid, L.ib, "bob");
    hh_bytes(h, 3, f, n);
    assert_true(hh_find(h, 3, HC_MSG_ERROR, &r));
    assert_int_equal(r.code, HC_ERR_PROTOCOL);
    /* leader-only messages from a member */
    uint16_t leader_only[] = {HC_MSG_KICK, HC_MSG_LOCK, HC_MSG_END, HC_MSG_ROSTER, HC_MSG_ROSTER_DELTA,
                              HC_MSG_HEARTBEAT, HC_MSG_DENY};
    uint8_t ro[20] = {1};
    for (size_t i = 0; i < sizeof leader_only / sizeof leader_only[0]; i++) {
        hc_msg_init(&m, (uint8_t)leader_only[i]);
        m.index = L.ia;
        m.value = 100;
        m.data = ro;
        m.data_len = sizeof ro;
        hh_send(h, 3, &m);
        assert_true(hh_find(h, 3, HC_MSG_ERROR, &r));
        assert_int_equal(r.code, HC_ERR_NOT_LEADER);
    }
    assert_false(h->c[3].close_req);
    assert_true(hc_relay_get_stats(h->r)->ctrl_protocol_errors >= 10);
    for (int k = 0; k < HC_WERR_COUNT; k++) assert_int_equal(hc_relay_get_stats(h->r)->ctrl_errors[k], 0);
    live_check(h, &L);
    hh_free(h);
}

/* ---- media routing ---- */

static void test_media_routing(void **state) {
    (void)state;
    hc_relay_config cfg;
    hc_relay_config_defaults(&cfg);
    hh *h = hh_new(&cfg);
    hc_media_route rt;
    uint8_t pkt[256];
    char id1[HC_MEETING_ID_MAX + 1], id2[HC_MEETING_ID_MAX + 1];
    uint8_t t[8][16], uuid[16];
    /* meeting 1: conns 1,2,3 (ips 1,2,3); meeting 2: conns 4,5 (ips 4,5); conn 6 in meeting 1 without UDP */
    for (uint64_t c = 1; c <= 6; c++) assert_int_equal(hh_connect(h, c, (uint32_t)c), 0);
    assert_int_equal(hh_join(h, 1, NULL, "a", id1, uuid, t[1]), 1);
    assert_int_equal(hh_join(h, 2, id1, "b", NULL, NULL, t[2]), 2);
    assert_int_equal(hh_join(h, 3, id1, "c", NULL, NULL, t[3]), 3);
    assert_int_equal(hh_join(h, 4, NULL, "d", id2, NULL, t[4]), 1);
    assert_int_equal(hh_join(h, 5, id2, "e", NULL, NULL, t[5]), 2);
    assert_int_equal(hh_join(h, 6, id1, "f", NULL, NULL, t[6]), 4);
    for (int c = 1; c <= 5; c++) {
        hh_drain(h, (uint64_t)c);
        assert_int_equal(hh_register(h, t[c], (uint32_t)c, 6000, &rt), 0);
        assert_non_null(rt.reply);
        assert_int_equal(rt.reply_len, 17);
        assert_int_equal(rt.reply[0], hc_media_byte0(HC_MEDIA_REGISTERED));
        assert_memory_equal(rt.reply + 1, t[c], 16);
        hc_msg m;
        assert_true(hh_find(h, (uint64_t)c, HC_MSG_MEDIA_READY, &m));
    }
    const hc_relay_stats *st = hc_relay_get_stats(h->r);
    /* 1 -> 2 and 3, never back to 1, never to meeting 2, never to 6 (no endpoint) */
    size_t n = hh_media(pkt, 1, 20, 1);
    assert_int_equal(hh_media_from(h, 1, 6000, pkt, n, &rt), 2);
    assert_true(hh_route_has(&rt, 2, 6000));
    assert_true(hh_route_has(&rt, 3, 6000));
    assert_false(hh_route_has(&rt, 1, 6000));
    assert_false(hh_route_has(&rt, 4, 6000));
    assert_false(hh_route_has(&rt, 5, 6000));
    /* meeting 2: 4 -> 5 only (index 1 is also used in meeting 1: endpoints, not indexes, decide) */
    n = hh_media(pkt, 1, 20, 1);
    assert_int_equal(hh_media_from(h, 4, 6000, pkt, n, &rt), 1);
    assert_true(hh_route_has(&rt, 5, 6000));
    /* unregistered endpoint: dropped even with a valid-looking KID */
    uint64_t unreg = st->media_drop_unregistered;
    n = hh_media(pkt, 2, 20, 1);
    assert_int_equal(hh_media_from(h, 2, 6001, pkt, n, &rt), 0);
    assert_int_equal(hh_media_from(h, 99, 6000, pkt, n, &rt), 0);
    assert_int_equal(st->media_drop_unregistered, unreg + 2);
    /* spoofed sender index: 1's endpoint claiming to be 2 */
    uint64_t spoof = st->media_drop_spoofed;
    n = hh_media(pkt, 2, 20, 1);
    assert_int_equal(hh_media_from(h, 1, 6000, pkt, n, &rt), 0);
    assert_int_equal(st->media_drop_spoofed, spoof + 1);
    /* REGISTER with an unknown token */
    uint8_t bogus[16] = {9};
    assert_int_equal(hh_register(h, bogus, 50, 6000, &rt), 0);
    assert_null(rt.reply);
    assert_int_equal(st->media_drop_unregistered, unreg + 3);
    /* malformed datagrams */
    uint64_t mal = st->media_drop_malformed;
    uint8_t junk[1500];
    memset(junk, 0x11, sizeof junk);
    assert_int_equal(hh_media_from(h, 1, 6000, junk, 0, &rt), 0);
    assert_int_equal(hh_media_from(h, 1, 6000, junk, 1, &rt), 0);
    assert_int_equal(hh_media_from(h, 1, 6000, junk, sizeof junk, &rt), 0);
    pkt[0] = 0x21;  /* version 2 */
    assert_int_equal(hh_media_from(h, 1, 6000, pkt, n, &rt), 0);
    uint8_t shortp[8];
    size_t sl = hh_media(pkt, 1, 20, 1);
    memcpy(shortp, pkt, 5);  /* no room for a tag */
    assert_int_equal(hh_media_from(h, 1, 6000, shortp, 5, &rt), 0);
    (void)sl;
    assert_int_equal(st->media_drop_malformed, mal + 5);
    /* re-registering from a new port moves the endpoint; the old one no longer counts */
    assert_int_equal(hh_register(h, t[2], 2, 6002, &rt), 0);
    n = hh_media(pkt, 2, 20, 2);
    assert_int_equal(hh_media_from(h, 2, 6000, pkt, n, &rt), 0);
    assert_int_equal(hh_media_from(h, 2, 6002, pkt, n, &rt), 2);
    n = hh_media(pkt, 1, 20, 3);
    assert_int_equal(hh_media_from(h, 1, 6000, pkt, n, &rt), 2);
    assert_true(hh_route_has(&rt, 2, 6002));
    assert_false(hh_route_has(&rt, 2, 6000));
    /* a member who left stops receiving and sending */
    hc_msg m;
    hc_msg_init(&m, HC_MSG_LEAVE);
    hh_send(h, 3, &m);
    n = hh_media(pkt, 1, 20, 4);
    assert_int_equal(hh_media_from(h, 1, 6000, pkt, n, &rt), 1);
    assert_false(hh_route_has(&rt, 3, 6000));
    n = hh_media(pkt, 3, 20, 4);
    assert_int_equal(hh_media_from(h, 3, 6000, pkt, n, &rt), 0);
    hh_free(h);
}

/* Two members behind one endpoint (e.g. a NAT mapping reused): the second registration takes the
 * endpoint over, and the first member leaving must not unregister the second one. */
static void test_shared_endpoint(void **state) {
    (void)state;
    hc_relay_config cfg;
    hc_relay_config_defaults(&cfg);
    hh *h = hh_new(&cfg);
    hc_media_route rt;
    uint8_t pkt[256], t[4][16];
    char id[HC_MEETING_ID_MAX + 1];
    for (uint64_t c = 1; c <= 3; c++) assert_int_equal(hh_connect(h, c, (uint32_t)c), 0);
    assert_int_equal(hh_join(h, 1, NULL, "a", id, NULL, t[1]), 1);
    assert_int_equal(hh_join(h, 2, id, "b", NULL, NULL, t[2]), 2);
    assert_int_equal(hh_join(h, 3, id, "c", NULL, NULL, t[3]), 3);
    hh_register(h, t[1], 1, 7000, &rt);
    hh_register(h, t[2], 9, 7000, &rt);
    hh_register(h, t[3], 9, 7000, &rt);   /* same endpoint as 2 */
    hc_msg m;
    hc_msg_init(&m, HC_MSG_LEAVE);
    hh_send(h, 2, &m);
    size_t n = hh_media(pkt, 3, 20, 1);
    assert_int_equal(hh_media_from(h, 9, 7000, pkt, n, &rt), 1);   /* 3 still sends */
    n = hh_media(pkt, 1, 20, 1);
    assert_int_equal(hh_media_from(h, 1, 7000, pkt, n, &rt), 1);   /* and receives */
    assert_true(hh_route_has(&rt, 9, 7000));
    hh_free(h);
}

/* ---- key boxes: only to their recipient; a rekey to N members costs N frames ---- */

static void send_box(hh *h, uint64_t conn, uint32_t to) {
    hc_msg m;
    uint8_t meta[40], box[HC_BOX_LEN];
    memset(meta, 0x33, sizeof meta);
    memset(box, (int)to, sizeof box);
    hc_msg_init(&m, HC_MSG_KEYBOX);
    m.index = to;
    m.data = meta;
    m.data_len = sizeof meta;
    m.data2 = box;
    m.data2_len = sizeof box;
    hh_send(h, conn, &m);
}

static void test_keybox_unicast(void **state) {
    (void)state;
    hc_relay_config cfg;
    hc_relay_config_defaults(&cfg);
    hh *h = hh_new(&cfg);
    enum { N = 30 };
    char id[HC_MEETING_ID_MAX + 1];
    for (uint64_t c = 1; c <= N; c++) {
        assert_int_equal(hh_connect(h, c, (uint32_t)c), 0);
        assert_int_equal(hh_join(h, c, c == 1 ? NULL : id, "m", c == 1 ? id : NULL, NULL, NULL), (uint32_t)c);
    }
    for (uint64_t c = 1; c <= N; c++) hh_drain(h, c);
    const hc_relay_stats *st = hc_relay_get_stats(h->r);
    uint64_t out0 = st->ctrl_out, boxes0 = st->keyboxes_routed;
    for (uint32_t to = 2; to <= N; to++) send_box(h, 1, to);
    assert_int_equal(st->ctrl_out - out0, N - 1);            /* O(N) egress: one frame per member */
    assert_int_equal(st->keyboxes_routed - boxes0, N - 1);
    for (uint64_t c = 2; c <= N; c++) {
        hc_msg m;
        assert_true(hh_next(h, c, &m));
        assert_int_equal(m.type, HC_MSG_KEYBOX);
        assert_int_equal(m.index, 1);                        /* peer = the leader */
        assert_int_equal(m.data2_len, HC_BOX_LEN);
        assert_int_equal(m.data2[0], (uint8_t)c);            /* its own box */
        assert_false(hh_next(h, c, &m));
    }
    hc_msg m;
    assert_false(hh_next(h, 1, &m));
    /* KEYACK goes to the leader only, with the acking member's index */
    hc_msg_init(&m, HC_MSG_KEYACK);
    m.epoch = 7;
    hh_send(h, 5, &m);
    assert_true(hh_next(h, 1, &m));
    assert_int_equal(m.type, HC_MSG_KEYACK);
    assert_int_equal(m.index, 5);
    assert_int_equal(m.epoch, 7);
    for (uint64_t c = 2; c <= N; c++) assert_false(hh_next(h, c, &m));
    /* a box from a non-leader is refused and goes nowhere */
    send_box(h, 3, 4);
    assert_true(hh_find(h, 3, HC_MSG_ERROR, &m));
    assert_int_equal(m.code, HC_ERR_NOT_LEADER);
    assert_false(hh_next(h, 4, &m));
    hh_free(h);
}

/* ---- the board ---- */

/* A leader's frame of version v: a whole roster in one part (its first 4 bytes are the version,
 * which is all the relay reads of it), a delta, or a heartbeat of that version. */
static size_t mk_frame(uint8_t *out, uint8_t type, uint8_t fill, uint32_t v) {
    hc_msg m;
    uint8_t data[100];
    memset(data, fill, sizeof data);
    hc_put_u32(data, v);
    hc_msg_init(&m, type);
    m.data = data;
    m.data_len = sizeof data;
    m.value = sizeof data;
    m.hb.v = v;
    m.hb.t = v;
    memset(m.hb.sig, fill, 64);
    hc_hash(m.hb.roster_hash, data, sizeof data);
    return hc_msg_encode(&m, out, 512);
}

static void test_late_joiner_board(void **state) {
    (void)state;
    hc_relay_config cfg;
    hc_relay_config_defaults(&cfg);
    hh *h = hh_new(&cfg);
    char id[HC_MEETING_ID_MAX + 1];
    uint8_t uuid[16] = {0}, ann_a[512], ann_b[512], ann_b2[512], ro1[512], ro2[512], ro3[512], hb1[512], hb2[512];
    hc_msg m;
    for (uint64_t c = 1; c <= 4; c++) assert_int_equal(hh_connect(h, c, (uint32_t)c), 0);
    assert_int_equal(hh_join(h, 1, NULL, "alice", id, uuid, NULL), 1);
    size_t la = hh_announce(ann_a, sizeof ann_a, id, uuid, 1, "alice");
    hh_bytes(h, 1, ann_a, la);
    assert_int_equal(hh_join(h, 2, id, "bob", NULL, NULL, NULL), 2);
    size_t lb = hh_announce(ann_b, sizeof ann_b, id, uuid, 2, "bob");
    hh_bytes(h, 2, ann_b, lb);
    size_t lb2 = hh_announce(ann_b2, sizeof ann_b2, id, uuid, 2, "bob");  /* (new identity: refused) */
    size_t lr1 = mk_frame(ro1, HC_MSG_ROSTER, 1, 1), lh1 = mk_frame(hb1, HC_MSG_HEARTBEAT, 1, 1);
    size_t lr2 = mk_frame(ro2, HC_MSG_ROSTER, 2, 2), lh2 = mk_frame(hb2, HC_MSG_HEARTBEAT, 2, 2);
    size_t lr3 = mk_frame(ro3, HC_MSG_ROSTER, 3, 3);
    hh_drain(h, 2);
    hh_bytes(h, 1, ro1, lr1);
    hh_bytes(h, 1, hb1, lh1);
    hh_bytes(h, 1, ro2, lr2);
    hh_bytes(h, 1, hb2, lh2);
    /* members get the heartbeats; the whole rosters are for the board only */
    size_t rosters = 0, heartbeats = 0;
    while (hh_next(h, 2, &m)) {
        rosters += m.type == HC_MSG_ROSTER;
        heartbeats += m.type == HC_MSG_HEARTBEAT;
    }
    assert_int_equal(rosters, 0);
    assert_int_equal(heartbeats, 2);
    hh_bytes(h, 2, ann_b2, lb2);
    assert_true(hh_find(h, 2, HC_MSG_ERROR, &m));   /* a second identity for the same member */
    /* Carol joins late: JOINED, then both announcements, the certified roster and its heartbeat. */
    hh_drain(h, 1);
    assert_int_equal(hh_join(h, 3, id, "carol", NULL, NULL, NULL), 3);
    hh_conn *c = &h->c[3];
    uint8_t *p = c->buf + c->off;
    size_t left = c->len - c->off;
    size_t want = la + lb + lr2 + lh2;
    assert_int_equal(left, want);
    assert_memory_equal(p, ann_a, la);
    assert_memory_equal(p + la, ann_b, lb);
    assert_memory_equal(p + la + lb, ro2, lr2);
    assert_memory_equal(p + la + lb + lr2, hb2, lh2);
    /* members already there hear of her */
    assert_true(hh_find(h, 1, HC_MSG_MEMBER_JOINED, &m));
    assert_int_equal(m.index, 3);
    assert_string_equal(m.name, "carol");
    /* A roster no heartbeat has certified yet comes after the heartbeat, as the pending one:
     * the next heartbeat (and the deltas after it) apply to it as to everyone's. */
    hh_bytes(h, 1, ro3, lr3);
    assert_int_equal(hh_join(h, 4, id, "dave", NULL, NULL, NULL), 4);
    c = &h->c[4];
    p = c->buf + c->off;
    left = c->len - c->off;
    size_t lc = 0;   /* carol has not announced: her announcement is not on the board */
    assert_int_equal(left, la + lb + lc + lr2 + lh2 + lr3);
    assert_memory_equal(p + la + lb + lr2 + lh2, ro3, lr3);
    hh_free(h);
}

/* The whole roster comes in parts, in order; it is kept for the board only. Members get the
 * deltas the leader sends. A member that asks for the whole roster (ROSTER_GET) gets the
 * certified one, each version once however often it asks. */
static void test_roster_parts_deltas_and_copies(void **state) {
    (void)state;
    hc_relay_config cfg;
    hc_relay_config_defaults(&cfg);
    hh *h = hh_new(&cfg);
    char id[HC_MEETING_ID_MAX + 1];
    uint8_t uuid[16] = {0};
    for (uint64_t c = 1; c <= 3; c++) assert_int_equal(hh_connect(h, c, (uint32_t)c), 0);
    assert_int_equal(hh_join(h, 1, NULL, "alice", id, uuid, NULL), 1);
    assert_int_equal(hh_join(h, 2, id, "bob", NULL, NULL, NULL), 2);
    /* a roster of 150000 bytes in three parts, version 7 */
    size_t total = 150000;
    uint8_t *enc = malloc(total);
    memset(enc, 0x5C, total);
    hc_put_u32(enc, 7);
    uint8_t *fr = malloc(HC_FRAME_MAX_DEFAULT + 64);
    hc_msg m;
    for (size_t off = 0; off < total;) {
        off = hc_msg_roster_part(&m, enc, total, off);
        hh_send(h, 1, &m);
    }
    uint8_t delta[40] = {0}, hb[512];
    hc_put_u32(delta, 6);
    hc_put_u32(delta + 4, 7);
    hc_msg_init(&m, HC_MSG_ROSTER_DELTA);
    m.data = delta;
    m.data_len = sizeof delta;
    hh_drain(h, 2);
    hh_send(h, 1, &m);
    assert_true(hh_next(h, 2, &m));
    assert_int_equal(m.type, HC_MSG_ROSTER_DELTA);           /* the delta goes to members as it came */
    assert_memory_equal(m.data, delta, sizeof delta);
    assert_int_equal(hc_relay_get_stats(h->r)->roster_deltas, 1);
    size_t lh = mk_frame(hb, HC_MSG_HEARTBEAT, 7, 7);
    hh_bytes(h, 1, hb, lh);
    assert_true(hh_next(h, 2, &m));
    assert_int_equal(m.type, HC_MSG_HEARTBEAT);
    assert_false(hh_next(h, 2, &m));                           /* no whole roster */
    /* bob asks for it: the three parts of version 7, in order; once */
    hc_msg_init(&m, HC_MSG_ROSTER_GET);
    m.value = 7;
    for (int ask = 0; ask < 3; ask++) hh_send(h, 2, &m);
    size_t got = 0;
    for (int part = 0; part < 3; part++) {
        hc_msg r;
        assert_true(hh_next(h, 2, &r));
        assert_int_equal(r.type, HC_MSG_ROSTER);
        assert_int_equal(r.offset, got);
        assert_int_equal(r.value, total);
        assert_memory_equal(r.data, enc + got, r.data_len);
        got += r.data_len;
    }
    assert_int_equal(got, total);
    assert_false(hh_next(h, 2, &m));
    assert_int_equal(hc_relay_get_stats(h->r)->roster_gets, 3);
    assert_int_equal(hc_relay_get_stats(h->r)->roster_copies, 1);
    /* a newer version than the board holds: nothing */
    hc_msg_init(&m, HC_MSG_ROSTER_GET);
    m.value = 8;
    hh_send(h, 2, &m);
    assert_false(hh_next(h, 2, &m));
    /* parts out of order: nothing of that roster reaches the board (carol gets version 7) */
    hc_msg_init(&m, HC_MSG_ROSTER);
    m.value = (uint32_t)total;
    m.offset = HC_ROSTER_CHUNK;
    m.data = enc;
    m.data_len = HC_ROSTER_CHUNK;
    hc_put_u32(enc, 8);
    hh_send(h, 1, &m);
    assert_int_equal(hh_join(h, 3, id, "carol", NULL, NULL, NULL), 3);
    size_t rosters = 0;
    hc_msg r;
    while (hh_next(h, 3, &r))
        if (r.type == HC_MSG_ROSTER) {
            rosters++;
            if (r.offset == 0) assert_int_equal(hc_get_u32(r.data), 7);
        }
    assert_int_equal(rosters, 3);
    free(enc);
    free(fr);
    hh_free(h);
}

/* A meeting of 5000 (--max-members 5000, the most there can be): the last joiner's JOINED lists
 * all 5000 in one frame, the next JOIN is meeting_full, and the members are found by index (a
 * key box for the last one reaches it). */
static void test_five_thousand_members(void **state) {
    (void)state;
    hc_relay_config cfg;
    hc_relay_config_defaults(&cfg);
    cfg.max_members = 6000;                 /* clamped to what a roster holds */
    cfg.max_conns_per_addr = 10000;
    cfg.max_unjoined_per_addr = 10000;
    cfg.join_rate_addr = cfg.join_rate_meeting = 0;
    hh *h = hh_new(&cfg);
    char id[HC_MEETING_ID_MAX + 1];
    assert_int_equal(hh_connect(h, 1, 1), 0);
    assert_int_equal(hh_join(h, 1, NULL, "alice", id, NULL, NULL), 1);
    hc_msg j;
    hc_msg_init(&j, HC_MSG_JOIN);
    hh_copy_id(j.meeting_id, id);
    snprintf(j.name, sizeof j.name, "bot");
    uint8_t f[512];
    size_t fl = hc_msg_encode(&j, f, sizeof f);
    struct sockaddr_in sa;
    hh_addr(&sa, 9, 1);
    for (uint64_t c = HH_CONNS; c < HH_CONNS + HC_ROSTER_MAX_ENTRIES - 2; c++) {   /* frames to these are not kept */
        assert_int_equal(hc_relay_on_connect(h->r, c, (struct sockaddr *)&sa, h->now), 0);
        hc_relay_on_bytes(h->r, c, f, fl, h->now);
    }
    assert_int_equal(hc_relay_get_stats(h->r)->members, HC_ROSTER_MAX_ENTRIES - 1);
    assert_int_equal(hh_connect(h, 2, 2), 0);
    hh_send(h, 2, &j);
    hc_msg m;
    assert_true(hh_next(h, 2, &m));
    assert_int_equal(m.type, HC_MSG_JOINED);
    assert_int_equal(m.n_members, HC_ROSTER_MAX_ENTRIES);
    assert_int_equal(hc_get_u32(m.members + 4 * (HC_ROSTER_MAX_ENTRIES - 1)), m.index);
    uint32_t last = m.index;
    assert_int_equal(hh_connect(h, 3, 3), 0);
    hh_send(h, 3, &j);
    assert_true(hh_find(h, 3, HC_MSG_ERROR, &m));
    assert_int_equal(m.code, HC_ERR_MEETING_FULL);
    /* a key box from the leader for the last member reaches it */
    hh_drain(h, 2);
    uint8_t meta[40] = {1}, box[HC_BOX_LEN] = {0};
    hc_msg b;
    hc_msg_init(&b, HC_MSG_KEYBOX);
    b.index = last;
    b.data = meta;
    b.data_len = sizeof meta;
    b.data2 = box;
    b.data2_len = sizeof box;
    hh_send(h, 1, &b);
    assert_true(hh_next(h, 2, &m));
    assert_int_equal(m.type, HC_MSG_KEYBOX);
    assert_int_equal(m.index, 1);
    hh_free(h);
}

/* ---- RESUME: re-creating a meeting the relay does not have (PROTOCOL.md §11.10) ---- */

static void test_resume(void **state) {
    (void)state;
    hc_relay_config cfg;
    hc_relay_config_defaults(&cfg);
    hh *h = hh_new(&cfg);
    for (uint64_t c = 1; c <= 4; c++) assert_int_equal(hh_connect(h, c, (uint32_t)c), 0);
    uint8_t ivk[32], isk[64], prev[16];
    crypto_sign_keypair(ivk, isk);
    randombytes_buf(prev, sizeof prev);
    hc_msg q, m;
    hc_msg_init(&q, HC_MSG_RESUME);
    hh_copy_id(q.meeting_id, "4242424242");
    snprintf(q.name, sizeof q.name, "alice");
    memcpy(q.ivk, ivk, 32);
    memcpy(q.uuid, prev, 16);
    /* a statement that does not verify is refused (the connection stays, to try again) */
    assert_int_equal(hc_resume_sign(q.sig, q.meeting_id, q.uuid, q.ivk, isk), 0);
    q.sig[0] ^= 1;
    hh_send(h, 1, &q);
    assert_true(hh_next(h, 1, &m));
    assert_int_equal(m.type, HC_MSG_ERROR);
    assert_int_equal(m.code, HC_ERR_BAD_RESUME);
    assert_false(h->c[1].close_req);
    /* signed by the key it names: the meeting exists again under that id, with us as leader */
    q.sig[0] ^= 1;
    hh_send(h, 1, &q);
    assert_true(hh_next(h, 1, &m));
    assert_int_equal(m.type, HC_MSG_JOINED);
    assert_string_equal(m.meeting_id, "4242424242");
    assert_int_equal(m.index, 1);
    assert_int_equal(m.leader, 1);
    assert_memory_not_equal(m.uuid, prev, 16);   /* a new instance */
    uint8_t uuid[16];
    memcpy(uuid, m.uuid, 16);
    assert_int_equal(hc_relay_get_stats(h->r)->meetings_resumed, 1);
    /* a second RESUME of the same id: it exists, join it */
    hh_send(h, 2, &q);
    assert_true(hh_next(h, 2, &m));
    assert_int_equal(m.type, HC_MSG_ERROR);
    assert_int_equal(m.code, HC_ERR_EXISTS);
    /* the leader's announcements must carry the key that signed the statement */
    uint8_t ann[512];
    size_t la = hh_announce(ann, sizeof ann, "4242424242", uuid, 1, "alice");   /* another identity */
    hh_drain(h, 1);
    hh_bytes(h, 1, ann, la);
    assert_true(hh_find(h, 1, HC_MSG_ERROR, &m));
    assert_int_equal(m.code, HC_ERR_PROTOCOL);
    /* a joiner gets the statement first, before anything else on the board */
    assert_int_equal(hh_join(h, 3, "4242424242", "bob", NULL, NULL, NULL), 2);
    assert_true(hh_next(h, 3, &m));
    assert_int_equal(m.type, HC_MSG_RESUME);
    assert_memory_equal(m.ivk, ivk, 32);
    assert_memory_equal(m.uuid, prev, 16);
    assert_int_equal(hc_resume_verify(m.sig, m.meeting_id, m.uuid, m.ivk), 0);
    /* an honest relay never makes up a meeting for a JOIN */
    assert_int_equal(hh_join(h, 4, "5555555555", "carol", NULL, NULL, NULL), 0);
    hh_free(h);
}

/* ---- leaders, indexes, end of meeting ---- */

static void leader_case(int by_disconnect) {
    hc_relay_config cfg;
    hc_relay_config_defaults(&cfg);
    hh *h = hh_new(&cfg);
    char id[HC_MEETING_ID_MAX + 1];
    uint8_t uuid[16] = {0}, f[512];
    for (uint64_t c = 1; c <= 4; c++) {
        assert_int_equal(hh_connect(h, c, (uint32_t)c), 0);
        assert_int_equal(hh_join(h, c, c == 1 ? NULL : id, "m", c == 1 ? id : NULL, c == 1 ? uuid : NULL, NULL),
                         (uint32_t)c);
        size_t n = hh_announce(f, sizeof f, id, uuid, (uint32_t)c, "m");
        hh_bytes(h, c, f, n);
    }
    /* 2 leaves first, so the earliest remaining after the leader is 3 */
    hc_msg m;
    hc_msg_init(&m, HC_MSG_LEAVE);
    hh_send(h, 2, &m);
    for (uint64_t c = 1; c <= 4; c++) hh_drain(h, c);
    if (by_disconnect) {
        hc_relay_on_disconnect(h->r, 1, h->now);
        h->c[1].closed = 1;
    } else {
        hc_msg_init(&m, HC_MSG_LEAVE);
        hh_send(h, 1, &m);
    }
    for (uint64_t c = 3; c <= 4; c++) {
        assert_true(hh_next(h, c, &m));
        assert_int_equal(m.type, HC_MSG_MEMBER_LEFT);
        assert_int_equal(m.index, 1);
        assert_int_equal(m.flag, by_disconnect ? HC_LEFT_CONNECTION_LOST : HC_LEFT_NORMAL);
        assert_true(hh_next(h, c, &m));
        assert_int_equal(m.type, HC_MSG_LEADER);
        assert_int_equal(m.index, 3);
    }
    /* the new leader gets the others' latest announcements (their newest liveness nonces) */
    assert_true(hh_find(h, 3, HC_MSG_ANNOUNCE, &m));
    /* and now has the leader's powers */
    hc_msg_init(&m, HC_MSG_LOCK);
    m.flag = 1;
    hh_send(h, 3, &m);
    assert_true(hh_find(h, 4, HC_MSG_LOCK, &m));
    hc_msg_init(&m, HC_MSG_LOCK);
    hh_send(h, 4, &m);
    assert_true(hh_find(h, 4, HC_MSG_ERROR, &m));
    assert_int_equal(m.code, HC_ERR_NOT_LEADER);
    hh_free(h);
}

static void test_leader_change_leave(void **state) { (void)state; leader_case(0); }
static void test_leader_change_disconnect(void **state) { (void)state; leader_case(1); }

static void test_indexes_and_end(void **state) {
    (void)state;
    hc_relay_config cfg;
    hc_relay_config_defaults(&cfg);
    hh *h = hh_new(&cfg);
    char id[HC_MEETING_ID_MAX + 1];
    for (uint64_t c = 1; c <= 6; c++) assert_int_equal(hh_connect(h, c, (uint32_t)c), 0);
    assert_int_equal(hh_join(h, 1, NULL, "a", id, NULL, NULL), 1);
    assert_int_equal(hh_join(h, 2, id, "b", NULL, NULL, NULL), 2);
    hc_msg m;
    hc_msg_init(&m, HC_MSG_LEAVE);
    hh_send(h, 2, &m);
    assert_int_equal(hh_join(h, 3, id, "c", NULL, NULL, NULL), 3);   /* 2 is not reused */
    assert_int_equal(hh_join(h, 2, id, "b", NULL, NULL, NULL), 4);   /* nor for the same connection */
    assert_int_equal(hc_relay_get_stats(h->r)->meetings, 1);
    for (uint64_t c = 1; c <= 3; c++) {
        hc_msg_init(&m, HC_MSG_LEAVE);
        hh_send(h, c, &m);
    }
    /* the last one out ends the meeting: its id is gone */
    assert_int_equal(hc_relay_get_stats(h->r)->meetings, 0);
    assert_int_equal(hc_relay_get_stats(h->r)->members, 0);
    hc_msg_init(&m, HC_MSG_JOIN);
    hh_copy_id(m.meeting_id, id);
    snprintf(m.name, sizeof m.name, "late");
    hh_send(h, 5, &m);
    assert_true(hh_next(h, 5, &m));
    assert_int_equal(m.type, HC_MSG_ERROR);
    assert_int_equal(m.code, HC_ERR_NO_SUCH_MEETING);
    /* a new meeting starts from index 1 with a new uuid and a new board */
    char id2[HC_MEETING_ID_MAX + 1];
    assert_int_equal(hh_join(h, 6, NULL, "a", id2, NULL, NULL), 1);
    assert_int_equal(h->c[6].len, h->c[6].off);   /* nothing but JOINED: the old board is gone */
    /* END by the leader: everyone else gets ERROR(ended) and is closed */
    assert_int_equal(hh_join(h, 5, id2, "b", NULL, NULL, NULL), 2);
    hc_msg_init(&m, HC_MSG_END);
    hh_send(h, 6, &m);
    assert_true(hh_find(h, 5, HC_MSG_ERROR, &m));
    assert_int_equal(m.code, HC_ERR_ENDED);
    assert_true(h->c[5].close_req);
    assert_int_equal(hc_relay_get_stats(h->r)->meetings, 0);
    hh_free(h);
}

/* ---- limits ---- */

/* What a live client does with the relay's PINGs: answers each with PONG. */
static void hh_answer_pings(hh *h, uint64_t id) {
    hc_msg m;
    while (hh_next(h, id, &m)) {
        if (m.type != HC_MSG_PING) continue;
        hc_msg p;
        hc_msg_init(&p, HC_MSG_PONG);
        p.opaque = m.opaque;
        hh_send(h, id, &p);
    }
}

static void hh_heartbeat(hh *h, uint64_t id, uint64_t t, uint64_t ts_ms) {
    hc_msg m;
    hc_msg_init(&m, HC_MSG_HEARTBEAT);
    m.hb.v = 1;
    m.hb.t = t;
    m.hb.ts_ms = ts_ms;
    hh_send(h, id, &m);
}

/* JOIN; 0 when JOINED came back, else the ERROR code (or 0xFFFF for anything else). */
static unsigned join_code(hh *h, uint64_t id, const char *mid) {
    hc_msg m;
    hc_msg_init(&m, HC_MSG_JOIN);
    hh_copy_id(m.meeting_id, mid);
    snprintf(m.name, sizeof m.name, "j");
    hh_send(h, id, &m);
    if (!hh_next(h, id, &m)) return 0xFFFF;
    return m.type == HC_MSG_JOINED ? 0 : m.type == HC_MSG_ERROR ? m.code : 0xFFFF;
}

static void hh_reuse(hh *h, uint64_t id) {
    free(h->c[id].buf);
    memset(&h->c[id], 0, sizeof h->c[id]);
}

/* A leader that stops heartbeating is probed, then dropped well inside the members' miss limit
 * (5 x 2 s), and the next member leads. One that answers the probe stays, and a relay that was
 * itself stopped does not blame its members for the silence. */
static void test_silent_leader(void **state) {
    (void)state;
    hc_relay_config cfg;
    hc_relay_config_defaults(&cfg);
    hh *h = hh_new(&cfg);
    const hc_relay_stats *st = hc_relay_get_stats(h->r);
    char id[HC_MEETING_ID_MAX + 1];
    for (uint64_t c = 1; c <= 3; c++) assert_int_equal(hh_connect(h, c, (uint32_t)c), 0);
    assert_int_equal(hh_join(h, 1, NULL, "lead", id, NULL, NULL), 1);
    assert_int_equal(hh_join(h, 2, id, "b", NULL, NULL, NULL), 2);
    assert_int_equal(hh_join(h, 3, id, "c", NULL, NULL, NULL), 3);
    /* the leader heartbeats every 2 s for 20 s, with a burst after a roster at the start: nothing
     * happens to it; the members PING every 5 s as clients do */
    uint64_t t = 0, ts = 50000;
    hh_heartbeat(h, 1, ++t, ts);
    hh_heartbeat(h, 1, ++t, ts + 3);
    for (int i = 1; i <= 400; i++) {
        h->now += 50;
        hh_answer_pings(h, 1);
        if (i % 40 == 0) hh_heartbeat(h, 1, ++t, ts += 2000);
        if (i % 100 == 0)
            for (uint64_t c = 2; c <= 3; c++) {
                hc_msg p;
                hc_msg_init(&p, HC_MSG_PING);
                hh_send(h, c, &p);
            }
        hc_relay_tick(h->r, h->now);
    }
    assert_int_equal(st->leader_silent, 0);
    assert_false(h->c[1].close_req);
    /* the relay stops for 5 s (SIGSTOP): on its return nobody is dropped or even probed */
    h->now += 5000;
    hc_relay_tick(h->r, h->now);
    assert_int_equal(st->leader_silent, 0);
    uint64_t probes = st->leader_probes;
    h->now += 50;
    hh_heartbeat(h, 1, ++t, ts += 2000);
    hc_relay_tick(h->r, h->now);
    assert_int_equal(st->leader_probes, probes);
    /* now the leader freezes: probed after 2 intervals, dropped one interval later (6 s < 10 s) */
    hh_drain(h, 2);
    uint64_t frozen = h->now, dropped = 0;
    for (int i = 0; i < 200 && !dropped; i++) {
        h->now += 50;
        if (i % 20 == 0)
            for (uint64_t c = 2; c <= 3; c++) {
                hc_msg p;
                hc_msg_init(&p, HC_MSG_PING);
                hh_send(h, c, &p);
            }
        hc_relay_tick(h->r, h->now);
        if (st->leader_silent) dropped = h->now - frozen;
    }
    assert_int_equal(st->leader_silent, 1);
    assert_true(dropped >= 5900 && dropped <= 6200);
    assert_true(st->leader_probes > probes);
    assert_true(h->c[1].close_req);
    hc_msg m;
    assert_true(hh_find(h, 2, HC_MSG_MEMBER_LEFT, &m));
    assert_int_equal(m.index, 1);
    assert_int_equal(m.flag, HC_LEFT_IDLE);
    assert_true(hh_find(h, 2, HC_MSG_LEADER, &m));
    assert_int_equal(m.index, 2);
    hh_pump(h);
    /* the new leader never heartbeats but answers every probe: it stays, and its pace is learned */
    for (int i = 0; i < 600; i++) {
        h->now += 50;
        hh_answer_pings(h, 2);
        if (i % 100 == 0) {
            hc_msg p;
            hc_msg_init(&p, HC_MSG_PING);
            hh_send(h, 3, &p);
        }
        hc_relay_tick(h->r, h->now);
    }
    assert_int_equal(st->leader_silent, 1);
    assert_false(h->c[2].close_req);
    hh_free(h);
}

/* JOINs are rate-limited per address and per meeting; connections that never join have their own
 * per-address cap (the oldest goes) and a deadline, so they cannot lock out real users. */
static void test_join_limits(void **state) {
    (void)state;
    hc_relay_config cfg;
    hc_relay_config_defaults(&cfg);
    cfg.max_conns_per_addr = 1000;
    hh *h = hh_new(&cfg);
    const hc_relay_stats *st = hc_relay_get_stats(h->r);
    hc_msg m;
    char id[HC_MEETING_ID_MAX + 1];
    assert_int_equal(hh_connect(h, 1, 1), 0);
    assert_int_equal(hh_join(h, 1, NULL, "lead", id, NULL, NULL), 1);
    /* per address: a burst of 30 (3 s at 10/s) with the leader's CREATE; then refused */
    uint64_t c = 2;
    int ok = 0;
    for (; c < 60; c++) {
        assert_int_equal(hh_connect(h, c, 1), 0);
        unsigned code = join_code(h, c, id);
        if (!code) { ok++; continue; }
        assert_int_equal(code, HC_ERR_RATE_LIMITED);
        break;
    }
    assert_int_equal(ok, 29);
    assert_true(h->c[c].close_req);
    assert_int_equal(st->joins_rate_limited, 1);
    hh_pump(h);
    /* another address is not affected; a second later this one may join 10 more */
    hh_reuse(h, c);
    assert_int_equal(hh_connect(h, c, 2), 0);
    assert_true(hh_join(h, c, id, "y", NULL, NULL, NULL) > 0);
    h->now += 1000;
    hc_relay_tick(h->r, h->now);
    for (int k = 0; k < 10; k++) {
        c++;
        assert_int_equal(hh_connect(h, c, 1), 0);
        assert_true(hh_join(h, c, id, "z", NULL, NULL, NULL) > 0);
    }
    c++;
    assert_int_equal(hh_connect(h, c, 1), 0);
    assert_int_equal(join_code(h, c, id), HC_ERR_RATE_LIMITED);
    assert_int_equal(st->joins_rate_limited, 2);
    hh_free(h);
    /* per meeting: 60 (3 s at 20/s) from many addresses, then refused */
    h = hh_new(&cfg);
    st = hc_relay_get_stats(h->r);
    assert_int_equal(hh_connect(h, 1, 1), 0);
    assert_int_equal(hh_join(h, 1, NULL, "lead", id, NULL, NULL), 1);
    ok = 0;
    unsigned code = 0;
    for (c = 2; c < 100; c++) {
        assert_int_equal(hh_connect(h, c, (uint32_t)(10 + c)), 0);
        if ((code = join_code(h, c, id))) break;
        ok++;
    }
    assert_int_equal(ok, 60);
    assert_int_equal(code, HC_ERR_RATE_LIMITED);
    assert_int_equal(st->joins_rate_limited, 1);
    hh_free(h);

    /* unjoined connections: 16 per address; the 17th closes the oldest, never itself */
    h = hh_new(&cfg);
    st = hc_relay_get_stats(h->r);
    for (c = 1; c <= 17; c++) assert_int_equal(hh_connect(h, c, 5), 0);
    assert_true(h->c[1].close_req);
    assert_true(hh_find(h, 1, HC_MSG_ERROR, &m));
    assert_int_equal(m.code, HC_ERR_TOO_MANY_CONNECTIONS);
    for (c = 2; c <= 17; c++) assert_false(h->c[c].close_req);
    assert_int_equal(st->unjoined_evicted, 1);
    hh_pump(h);
    assert_int_equal(hh_join(h, 17, NULL, "real", id, NULL, NULL), 1);   /* the newest joins */
    /* ... and 20 more idle ones from the same NAT do not touch it */
    for (c = 18; c <= 37; c++) assert_int_equal(hh_connect(h, c, 5), 0);
    assert_false(h->c[17].close_req);
    /* deadline: unjoined connections go after 10 s, the member stays (it pings) */
    for (int i = 0; i < 210; i++) {
        h->now += 50;
        if (i % 60 == 0) {
            hc_msg p;
            hc_msg_init(&p, HC_MSG_PING);
            hh_send(h, 17, &p);
        }
        hh_answer_pings(h, 17);
        hc_relay_tick(h->r, h->now);
    }
    for (c = 18; c <= 37; c++) assert_true(h->c[c].close_req);
    assert_false(h->c[17].close_req);
    assert_true(st->join_timeouts >= 16);
    hh_free(h);
}

static int connect6(hh *h, uint64_t id, const char *addr) {
    struct sockaddr_in6 sa;
    memset(&sa, 0, sizeof sa);
    sa.sin6_family = AF_INET6;
    sa.sin6_port = htons((uint16_t)(40000 + id));
    assert_int_equal(inet_pton(AF_INET6, addr, &sa.sin6_addr), 1);
    h->c[id].connected = 1;
    return hc_relay_on_connect(h->r, id, (struct sockaddr *)&sa, h->now);
}

/* Per-address limits count an IPv6 /64 as one address (a subscriber holds a whole /64), an IPv4
 * address by itself, and an IPv4-mapped IPv6 address as the IPv4 address. */
static void test_addr_ipv6_prefix(void **state) {
    (void)state;
    hc_relay_config cfg;
    hc_relay_config_defaults(&cfg);
    cfg.max_unjoined_per_addr = 2;
    cfg.max_conns_per_addr = 2;
    hh *h = hh_new(&cfg);
    const hc_relay_stats *st = hc_relay_get_stats(h->r);
    hc_msg m;
    /* three addresses of one /64: the third closes the oldest */
    assert_int_equal(connect6(h, 1, "2001:db8:1:2::1"), 0);
    assert_int_equal(connect6(h, 2, "2001:db8:1:2::ffff:2"), 0);
    assert_int_equal(connect6(h, 3, "2001:db8:1:2:aaaa:bbbb:cccc:3"), 0);
    assert_true(h->c[1].close_req);
    assert_true(hh_find(h, 1, HC_MSG_ERROR, &m));
    assert_int_equal(m.code, HC_ERR_TOO_MANY_CONNECTIONS);
    assert_false(h->c[2].close_req);
    assert_false(h->c[3].close_req);
    assert_int_equal(st->unjoined_evicted, 1);
    hh_pump(h);
    /* the next /64 is another address */
    assert_int_equal(connect6(h, 4, "2001:db8:1:3::1"), 0);
    assert_int_equal(connect6(h, 5, "2001:db8:1:3::2"), 0);
    assert_int_equal(st->unjoined_evicted, 1);
    /* ::ffff:10.1.2.3 is 10.1.2.3 */
    struct sockaddr_in s4;
    memset(&s4, 0, sizeof s4);
    s4.sin_family = AF_INET;
    s4.sin_port = htons(40006);
    s4.sin_addr.s_addr = htonl(0x0A010203);
    assert_int_equal(connect6(h, 6, "::ffff:10.1.2.3"), 0);
    h->c[7].connected = 1;
    assert_int_equal(hc_relay_on_connect(h->r, 7, (struct sockaddr *)&s4, h->now), 0);
    assert_int_equal(connect6(h, 8, "::ffff:10.1.2.3"), 0);
    assert_true(h->c[6].close_req);
    assert_int_equal(st->unjoined_evicted, 2);
    hh_pump(h);
    /* ... but 10.1.2.4 is not */
    assert_int_equal(connect6(h, 9, "::ffff:10.1.2.4"), 0);
    assert_false(h->c[7].close_req);
    assert_false(h->c[8].close_req);
    /* joined connections: two from the /64, a third is refused */
    char id[HC_MEETING_ID_MAX + 1];
    assert_int_equal(hh_join(h, 2, NULL, "a", id, NULL, NULL), 1);
    assert_int_equal(hh_join(h, 3, id, "b", NULL, NULL, NULL), 2);
    assert_int_equal(connect6(h, 10, "2001:db8:1:2:ffff::10"), 0);
    assert_int_equal(join_code(h, 10, id), HC_ERR_TOO_MANY_CONNECTIONS);
    assert_int_equal(st->conns_refused, 1);
    /* from the other /64 it joins */
    assert_int_equal(hh_join(h, 4, id, "d", NULL, NULL, NULL), 3);
    hh_pump(h);
    hh_free(h);
}

/* JOIN-then-close churn cannot use up a meeting's indexes: once the fresh ones are gone, indexes
 * of joiners that never announced serve again; an announced member's index never does. */
static void test_index_reuse(void **state) {
    (void)state;
    hc_relay_config cfg;
    hc_relay_config_defaults(&cfg);
    cfg.join_rate_addr = cfg.join_rate_meeting = 0;
    hh *h = hh_new(&cfg);
    const hc_relay_stats *st = hc_relay_get_stats(h->r);
    char id[HC_MEETING_ID_MAX + 1];
    uint8_t uuid[16] = {0};
    assert_int_equal(hh_connect(h, 1, 1), 0);
    assert_int_equal(hh_join(h, 1, NULL, "lead", id, uuid, NULL), 1);
    /* member 2 announces, then leaves: 2 is burnt for good */
    assert_int_equal(hh_connect(h, 2, 2), 0);
    assert_int_equal(hh_join(h, 2, id, "b", NULL, NULL, NULL), 2);
    uint8_t f[512];
    size_t n = hh_announce(f, sizeof f, id, uuid, 2, "b");
    hh_bytes(h, 2, f, n);
    h->c[2].close_req = 1;
    hh_pump(h);
    uint32_t last = 0;
    int seen2 = 0;
    for (uint32_t k = 0; k < 70000; k++) {
        hh_reuse(h, 3);
        assert_int_equal(hh_connect(h, 3, 3), 0);
        last = hh_join(h, 3, id, "churn", NULL, NULL, NULL);
        assert_true(last >= 3 && last <= 65535);
        seen2 |= last == 2;
        h->c[3].close_req = 1;
        hh_pump(h);
        if (k % 1000 == 0) hh_drain(h, 1);
    }
    assert_false(seen2);
    assert_true(st->indexes_reused >= 70000 - 65533);
    hh_free(h);
}

static void test_limits(void **state) {
    (void)state;
    hc_relay_config cfg;
    hc_relay_config_defaults(&cfg);
    cfg.max_meetings = 2;
    cfg.max_members = 3;
    cfg.max_conns_per_addr = 3;
    cfg.idle_timeout_ms = 1000;
    hh *h = hh_new(&cfg);
    const hc_relay_stats *st = hc_relay_get_stats(h->r);
    hc_msg m;
    char id[HC_MEETING_ID_MAX + 1];
    /* per-address limit of joined connections: the 4th from 127.0.0.7 may connect (it counts as
     * unjoined) but its JOIN is refused with a clear error */
    for (uint64_t c = 1; c <= 4; c++) assert_int_equal(hh_connect(h, c, 7), 0);
    assert_int_equal(hh_join(h, 1, NULL, "x", id, NULL, NULL), 1);
    assert_int_equal(hh_join(h, 2, NULL, "x", NULL, NULL, NULL), 1);
    assert_int_equal(hh_join(h, 3, id, "x", NULL, NULL, NULL), 2);
    hc_msg_init(&m, HC_MSG_JOIN);
    hh_copy_id(m.meeting_id, id);
    snprintf(m.name, sizeof m.name, "e");
    hh_send(h, 4, &m);
    assert_true(hh_next(h, 4, &m));
    assert_int_equal(m.type, HC_MSG_ERROR);
    assert_int_equal(m.code, HC_ERR_TOO_MANY_CONNECTIONS);
    assert_true(h->c[4].close_req);
    assert_int_equal(st->conns_refused, 1);
    hh_pump(h);
    for (uint64_t c = 1; c <= 4; c++) {                     /* start again with the meetings */
        h->c[c].close_req = 1;
        hh_pump(h);
        free(h->c[c].buf);
        memset(&h->c[c], 0, sizeof h->c[c]);
        assert_int_equal(hh_connect(h, c, 7), 0);
    }
    assert_int_equal(hh_connect(h, 6, 8), 0);               /* another address is fine */
    assert_int_equal(hh_connect(h, 7, 10), 0);
    /* meetings */
    assert_int_equal(hh_join(h, 1, NULL, "a", id, NULL, NULL), 1);
    assert_int_equal(hh_join(h, 2, NULL, "b", NULL, NULL, NULL), 1);
    hc_msg_init(&m, HC_MSG_CREATE);
    snprintf(m.name, sizeof m.name, "c");
    hh_send(h, 3, &m);
    assert_true(hh_next(h, 3, &m));
    assert_int_equal(m.type, HC_MSG_ERROR);
    assert_int_equal(m.code, HC_ERR_TOO_MANY_MEETINGS);
    assert_false(h->c[3].close_req);                        /* it may still join one */
    /* members */
    assert_int_equal(hh_join(h, 3, id, "c", NULL, NULL, NULL), 2);
    assert_int_equal(hh_join(h, 6, id, "d", NULL, NULL, NULL), 3);
    hc_msg_init(&m, HC_MSG_JOIN);
    hh_copy_id(m.meeting_id, id);
    snprintf(m.name, sizeof m.name, "e");
    hh_send(h, 7, &m);
    assert_true(hh_next(h, 7, &m));
    assert_int_equal(m.type, HC_MSG_ERROR);
    assert_int_equal(m.code, HC_ERR_MEETING_FULL);
    /* idle timeout: conn 1 keeps pinging, the others stay silent */
    for (int t = 0; t < 6; t++) {
        h->now += 300;
        hh_answer_pings(h, 1);       /* it leads: it answers the relay's probe as clients do */
        hc_msg_init(&m, HC_MSG_PING);
        hh_send(h, 1, &m);
        hc_relay_tick(h->r, h->now);
    }
    assert_false(h->c[1].close_req);
    assert_true(h->c[2].close_req);
    assert_true(hh_find(h, 2, HC_MSG_ERROR, &m));
    assert_int_equal(m.code, HC_ERR_IDLE);
    assert_true(st->idle_closed + st->leader_silent >= 3);   /* 2 (leads its own meeting), 3, 6 */
    hh_pump(h);
    assert_int_equal(st->members, 1);
    /* backlog: the I/O layer reports a full send queue; the member is removed and closed */
    assert_int_equal(hh_connect(h, 8, 9), 0);
    assert_int_equal(hh_join(h, 8, id, "slow", NULL, NULL, NULL), 4);
    hh_drain(h, 1);
    hc_relay_on_backlog(h->r, 8, h->now);
    assert_true(h->c[8].close_req);
    assert_int_equal(st->ctrl_disconnects_backlog, 1);
    assert_true(hh_find(h, 1, HC_MSG_MEMBER_LEFT, &m));
    assert_int_equal(m.index, 4);
    hh_pump(h);
    hh_free(h);
}

/* UDP keepalives and media count as activity: a listener that is quiet on TCP stays. */
static void test_idle_udp_keepalive(void **state) {
    (void)state;
    hc_relay_config cfg;
    hc_relay_config_defaults(&cfg);
    cfg.idle_timeout_ms = 1000;
    hh *h = hh_new(&cfg);
    hc_media_route rt;
    char id[HC_MEETING_ID_MAX + 1];
    uint8_t t[4][16], pkt[128];
    for (uint64_t c = 1; c <= 3; c++) {
        assert_int_equal(hh_connect(h, c, (uint32_t)c), 0);
        assert_int_equal(hh_join(h, c, c == 1 ? NULL : id, "m", c == 1 ? id : NULL, NULL, t[c]), (uint32_t)c);
        hh_register(h, t[c], (uint32_t)c, 9000, &rt);
    }
    for (int i = 0; i < 10; i++) {          /* 3 s: 1 talks, 2 sends keepalives, 3 is silent */
        h->now += 300;
        hh_answer_pings(h, 1);              /* 1 leads (no heartbeats here): it answers the relay's probe */
        size_t n = hh_media(pkt, 1, 30, (uint64_t)i);
        hh_media_from(h, 1, 9000, pkt, n, &rt);
        uint8_t ka[17];
        hc_media_control(ka, HC_MEDIA_KEEPALIVE, t[2]);
        hh_media_from(h, 2, 9000, ka, sizeof ka, &rt);
        hc_relay_tick(h->r, h->now);
    }
    assert_false(h->c[1].close_req);
    assert_false(h->c[2].close_req);
    assert_true(h->c[3].close_req);
    hh_free(h);
}

/* Locked meetings refuse new joiners; a member of the roster may rejoin with its IVK. */
static void test_locked(void **state) {
    (void)state;
    hc_relay_config cfg;
    hc_relay_config_defaults(&cfg);
    hh *h = hh_new(&cfg);
    char id[HC_MEETING_ID_MAX + 1];
    uint8_t uuid[16] = {0}, f[512];
    for (uint64_t c = 1; c <= 3; c++) assert_int_equal(hh_connect(h, c, (uint32_t)c), 0);
    assert_int_equal(hh_join(h, 1, NULL, "a", id, uuid, NULL), 1);
    size_t n = hh_announce(f, sizeof f, id, uuid, 1, "a");
    hh_bytes(h, 1, f, n);
    hc_msg m;
    hc_msg_init(&m, HC_MSG_LOCK);
    m.flag = 1;
    hh_send(h, 1, &m);
    hc_msg_init(&m, HC_MSG_JOIN);
    hh_copy_id(m.meeting_id, id);
    snprintf(m.name, sizeof m.name, "x");
    hh_send(h, 2, &m);
    assert_true(hh_find(h, 2, HC_MSG_ERROR, &m));
    assert_int_equal(m.code, HC_ERR_LOCKED);
    hh_free(h);
}

/* ---- loudest-K ---- */

static void test_loudest(void **state) {
    (void)state;
    hc_relay_config cfg;
    hc_relay_config_defaults(&cfg);
    cfg.forward_loudest = 1;
    hh *h = hh_new(&cfg);
    hc_media_route rt;
    char id[HC_MEETING_ID_MAX + 1];
    uint8_t t[4][16], pkt[128];
    for (uint64_t c = 1; c <= 3; c++) {
        assert_int_equal(hh_connect(h, c, (uint32_t)c), 0);
        assert_int_equal(hh_join(h, c, c == 1 ? NULL : id, "m", c == 1 ? id : NULL, NULL, t[c]), (uint32_t)c);
        hh_register(h, t[c], (uint32_t)c, 8000, &rt);
    }
    /* 1 is quiet (-90 dBov), 2 is loud (-20 dBov); 3 listens. The quiet one speaks first. */
    size_t fwd[4] = {0};
    uint64_t ctr = 0;
    for (int step = 0; step < 100; step++) {    /* 2 s of 20 ms frames */
        h->now += 20;
        for (uint32_t s = 1; s <= 2; s++) {
            size_t n = hh_media(pkt, s, s == 1 ? 90 : 20, ctr++);
            size_t k = hh_media_from(h, s, 8000, pkt, n, &rt);
            if (step >= 50) fwd[s] += k > 0;
        }
    }
    assert_int_equal(fwd[2], 50);   /* the louder one is forwarded */
    assert_int_equal(fwd[1], 0);    /* the quieter one is not */
    assert_true(hc_relay_get_stats(h->r)->media_drop_not_loudest >= 50);
    /* 1 becomes much louder (-0 dBov, voice bit set) and is admitted; 2 then drops out */
    fwd[1] = fwd[2] = 0;
    for (int step = 0; step < 100; step++) {
        h->now += 20;
        for (uint32_t s = 1; s <= 2; s++) {
            size_t n = hh_media(pkt, s, s == 1 ? 0x80 : 20, ctr++);
            size_t k = hh_media_from(h, s, 8000, pkt, n, &rt);
            if (step >= 50) fwd[s] += k > 0;
        }
    }
    assert_int_equal(fwd[1], 50);
    assert_int_equal(fwd[2], 0);
    /* video is never subject to loudest-K */
    size_t n = hh_media(pkt, 2, 127, ctr++);
    pkt[0] = hc_media_byte0(HC_MEDIA_VIDEO);
    assert_int_equal(hh_media_from(h, 2, 8000, pkt, n, &rt), 2);
    hh_free(h);
}

/* ---- attacks that act on the media path (the control-path ones are the meeting tests' job) ---- */

static void test_media_attacks(void **state) {
    (void)state;
    for (int mode = 0; mode < 2; mode++) {
        hc_relay_config cfg;
        hc_relay_config_defaults(&cfg);
        cfg.attack = mode ? HC_ATTACK_REPLAY_MEDIA : HC_ATTACK_TAMPER_MEDIA;
        hh *h = hh_new(&cfg);
        hc_media_route rt;
        char id[HC_MEETING_ID_MAX + 1];
        uint8_t t[3][16], pkt[128], orig[128];
        for (uint64_t c = 1; c <= 2; c++) {
            assert_int_equal(hh_connect(h, c, (uint32_t)c), 0);
            assert_int_equal(hh_join(h, c, c == 1 ? NULL : id, "m", c == 1 ? id : NULL, NULL, t[c]), (uint32_t)c);
            hh_register(h, t[c], (uint32_t)c, 8000, &rt);
        }
        int changed = 0, extras = 0;
        for (int i = 0; i < 20; i++) {
            size_t n = hh_media(pkt, 1, 30, (uint64_t)i);
            memcpy(orig, pkt, n);
            assert_int_equal(hh_media_from(h, 1, 8000, pkt, n, &rt), 1);
            changed += memcmp(orig, pkt, n) != 0;
            extras += rt.extra != NULL;
            if (rt.extra) assert_int_equal(rt.extra[0], hc_media_byte0(HC_MEDIA_AUDIO));
        }
        if (mode) assert_true(extras > 0); else assert_true(changed > 0);
        hh_free(h);
    }
}

/* Frames split at every possible point and coalesced several per chunk give the same result. */
static void test_chunking(void **state) {
    (void)state;
    hc_relay_config cfg;
    hc_relay_config_defaults(&cfg);
    hh *h = hh_new(&cfg);
    uint8_t stream[4096];
    size_t n = 0;
    for (int i = 0; i < 20; i++) {
        hc_msg m;
        hc_msg_init(&m, HC_MSG_PING);
        m.opaque = (uint64_t)i;
        n += hc_msg_encode(&m, stream + n, sizeof stream - n);
    }
    assert_int_equal(hh_connect(h, 1, 1), 0);
    for (size_t off = 0; off < n;) {
        size_t k = 1 + (off * 7) % 23;
        if (k > n - off) k = n - off;
        hh_bytes(h, 1, stream + off, k);
        off += k;
    }
    hc_msg m;
    for (int i = 0; i < 20; i++) {
        assert_true(hh_next(h, 1, &m));
        assert_int_equal(m.type, HC_MSG_PONG);
        assert_true(m.opaque == (uint64_t)i);
    }
    hh_free(h);
}

int main(void) {
    if (sodium_init() < 0) return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_malformed_table),
        cmocka_unit_test(test_protocol_errors),
        cmocka_unit_test(test_media_routing),
        cmocka_unit_test(test_shared_endpoint),
        cmocka_unit_test(test_keybox_unicast),
        cmocka_unit_test(test_late_joiner_board),
        cmocka_unit_test(test_roster_parts_deltas_and_copies),
        cmocka_unit_test(test_five_thousand_members),
        cmocka_unit_test(test_resume),
        cmocka_unit_test(test_leader_change_leave),
        cmocka_unit_test(test_leader_change_disconnect),
        cmocka_unit_test(test_indexes_and_end),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_silent_leader),
        cmocka_unit_test(test_join_limits),
        cmocka_unit_test(test_index_reuse),
        cmocka_unit_test(test_addr_ipv6_prefix),
        cmocka_unit_test(test_idle_udp_keepalive),
        cmocka_unit_test(test_locked),
        cmocka_unit_test(test_loudest),
        cmocka_unit_test(test_media_attacks),
        cmocka_unit_test(test_chunking),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
