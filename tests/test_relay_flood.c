/* The relay core against a member that floods (issue 11, point 1): nonce rotations reach the
 * leader at most once per rotation period, the newest; a member sending past its control budget
 * is disconnected and the receivers' queues never back up; a first announcement must carry the
 * key its JOIN named (and, locked, a key of the lock snapshot). No sockets; a fake clock. */
#include "tests/testutil.h"
#include "tests/relay_harness.h"

/* The I/O layer's send queue (net/relay.c, --send-queue default): a receiver with more unread
 * bytes than this is dropped as too slow. The tests apply the same rule to the fake connections. */
#define SENDQ (1u << 20)
/* A rotation may pass up to half a period early (network jitter), PROTOCOL.md §3.4. */
#define EARLY_MS (HC_NONCE_ROTATE_MIN_MS / 2)

typedef struct {
    uint8_t ivk[32], isk[64], pk[32];
    uint32_t index;
} ident;

typedef struct {
    char id[HC_MEETING_ID_MAX + 1];
    uint8_t uuid[16];
} mtg;

static void ident_new(ident *p) {
    crypto_sign_keypair(p->ivk, p->isk);
    randombytes_buf(p->pk, sizeof p->pk);
}

/* An announcement of p (a fresh nonce each time: a rotation), signed with isk (p's own unless the
 * caller names another: a stranger cannot sign for the key it names). */
static size_t announce(uint8_t *out, size_t cap, const mtg *g, const ident *p, const uint8_t *ivk, const uint8_t *isk) {
    hc_binding b;
    memset(&b, 0, sizeof b);
    hh_copy_id(b.meeting_id, g->id);
    memcpy(b.uuid, g->uuid, 16);
    b.index = p->index;
    memcpy(b.ivk, ivk ? ivk : p->ivk, 32);
    memcpy(b.pk, p->pk, 32);
    snprintf(b.name, sizeof b.name, "m%u", p->index);
    randombytes_buf(b.nonce, sizeof b.nonce);
    size_t n = hh_announce_frame(out, cap, &b, isk ? isk : p->isk);
    assert_true(n > 0);
    return n;
}

/* JOIN naming ivk as the lock hint (NULL: none); returns the index, 0 when refused (*code). */
static uint32_t join_hint(hh *h, uint64_t c, const char *mid, const uint8_t *ivk, uint16_t *code) {
    hc_msg m;
    hc_msg_init(&m, HC_MSG_JOIN);
    hh_copy_id(m.meeting_id, mid);
    snprintf(m.name, sizeof m.name, "j");
    if (ivk) {
        m.flag = 1;
        memcpy(m.ivk, ivk, 32);
    }
    hh_send(h, c, &m);
    hc_msg r;
    assert_true(hh_next(h, c, &r));
    if (code) *code = r.type == HC_MSG_ERROR ? r.code : 0;
    return r.type == HC_MSG_JOINED ? r.index : 0;
}

/* Leader on conn 1, members on conns 2..n, every one announced (first announcement). */
static void setup(hh *h, mtg *g, ident *p, int n) {
    for (int c = 1; c <= n; c++) {
        assert_int_equal(hh_connect(h, (uint64_t)c, (uint32_t)c), 0);
        ident_new(&p[c]);
        if (c == 1) {
            p[c].index = hh_join(h, 1, NULL, "lead", g->id, g->uuid, NULL);
        } else {
            p[c].index = join_hint(h, (uint64_t)c, g->id, p[c].ivk, NULL);
        }
        assert_int_equal(p[c].index, (uint32_t)c);
        uint8_t f[512];
        hh_bytes(h, (uint64_t)c, f, announce(f, sizeof f, g, &p[c], NULL, NULL));
    }
    for (int c = 1; c <= n; c++) hh_drain(h, (uint64_t)c);
}

/* Frames conn id has been sent and not read yet, as the I/O layer's queue would hold them. */
static size_t unread(hh *h, uint64_t id) { return h->c[id].len - h->c[id].off; }

/* Reads everything sent to conn id: counts ANNOUNCEs (the last one's binding in last/last_len). */
static size_t read_announces(hh *h, uint64_t id, uint8_t *last, size_t *last_len) {
    hc_msg m;
    size_t n = 0;
    while (hh_next(h, id, &m)) {
        if (m.type != HC_MSG_ANNOUNCE) continue;
        n++;
        if (last) {
            memcpy(last, m.data, m.data_len);
            *last_len = m.data_len;
        }
    }
    return n;
}

/* The binding inside an ANNOUNCE frame. */
static void binding_of(const uint8_t *frame, size_t len, uint8_t *out, size_t *out_len) {
    hc_msg m;
    assert_int_equal(hc_msg_decode(&m, frame + 4, len - 4, NULL), 0);
    memcpy(out, m.data, m.data_len);
    *out_len = m.data_len;
}

/* A stream of rotations reaches the leader as one per rotation period, the newest; members get
 * none; honestly paced rotations are not delayed; a leader change hands the newest over at once. */
static void test_rotations_coalesced(void **state) {
    (void)state;
    hc_relay_config cfg;
    hc_relay_config_defaults(&cfg);
    cfg.member_ctrl_rate = 0;          /* only the coalescing here */
    cfg.idle_timeout_ms = 0;           /* no heartbeats in this test: no silent-leader probes */
    hh *h = hh_new(&cfg);
    const hc_relay_stats *st = hc_relay_get_stats(h->r);
    mtg g;
    ident p[4];
    setup(h, &g, p, 3);
    uint8_t f[512], sent[HC_BINDING_MAX], got[HC_BINDING_MAX];
    size_t fl = 0, sl = 0, gl = 0;
    /* 1000 rotations at once, right after the first announcement */
    for (int i = 0; i < 1000; i++) {
        fl = announce(f, sizeof f, &g, &p[3], NULL, NULL);
        hh_bytes(h, 3, f, fl);
    }
    binding_of(f, fl, sent, &sl);
    assert_int_equal(read_announces(h, 1, NULL, NULL), 0);   /* within the period of the first */
    assert_int_equal(read_announces(h, 2, NULL, NULL), 0);   /* rotations never go to members */
    h->now += EARLY_MS - 1;
    hc_relay_tick(h->r, h->now);
    assert_int_equal(read_announces(h, 1, NULL, NULL), 0);
    h->now += 1;
    hc_relay_tick(h->r, h->now);
    assert_int_equal(read_announces(h, 1, got, &gl), 1);     /* one, and it is the newest */
    assert_int_equal(gl, sl);
    assert_memory_equal(got, sent, sl);
    assert_int_equal(st->announce_rotations, 1000);
    assert_int_equal(st->announce_rotations_fwd, 1);
    /* one every 100 ms for 5 s: about one per 500 ms gets through, always the newest */
    size_t fwd = 0;
    for (int i = 0; i < 50; i++) {
        h->now += 100;
        fl = announce(f, sizeof f, &g, &p[3], NULL, NULL);
        hh_bytes(h, 3, f, fl);
        hc_relay_tick(h->r, h->now);
        fwd += read_announces(h, 1, got, &gl);
    }
    h->now += HC_NONCE_ROTATE_MIN_MS;
    hc_relay_tick(h->r, h->now);
    fwd += read_announces(h, 1, got, &gl);
    binding_of(f, fl, sent, &sl);
    assert_memory_equal(got, sent, sl);
    print_message("50 rotations in 5 s: %zu reached the leader\n", fwd);
    assert_true(fwd >= 9 && fwd <= 11);
    /* an honest member rotating every period, its announcements arriving up to 200 ms early or
     * late (network jitter): each goes at once */
    for (int i = 0; i < 20; i++) {
        h->now += HC_NONCE_ROTATE_MIN_MS + (i % 2 ? 200 : -200);
        hh_bytes(h, 2, f, announce(f, sizeof f, &g, &p[2], NULL, NULL));
        assert_int_equal(read_announces(h, 1, NULL, NULL), 1);
    }
    /* a held rotation goes to a new leader at once with LEADER; the next waits its period */
    hh_bytes(h, 3, f, announce(f, sizeof f, &g, &p[3], NULL, NULL));
    h->now += 10;
    fl = announce(f, sizeof f, &g, &p[3], NULL, NULL);
    hh_bytes(h, 3, f, fl);
    binding_of(f, fl, sent, &sl);
    hh_drain(h, 2);
    hc_relay_on_disconnect(h->r, 1, h->now);
    h->c[1].closed = 1;
    assert_int_equal(read_announces(h, 2, got, &gl), 1);
    assert_memory_equal(got, sent, sl);
    hh_bytes(h, 3, f, announce(f, sizeof f, &g, &p[3], NULL, NULL));
    assert_int_equal(read_announces(h, 2, NULL, NULL), 0);
    h->now += HC_NONCE_ROTATE_MIN_MS;
    hc_relay_tick(h->r, h->now);
    assert_int_equal(read_announces(h, 2, NULL, NULL), 1);
    hh_free(h);
}

/* A member flooding rotations, or chat, is disconnected; the leader, which reads nothing during
 * the flood (busy, as a leader checking signatures is), never comes near its send-queue limit. */
static void test_flood_disconnects_sender(void **state) {
    (void)state;
    for (int kind = 0; kind < 2; kind++) {
        hc_relay_config cfg;
        hc_relay_config_defaults(&cfg);
        hh *h = hh_new(&cfg);
        const hc_relay_stats *st = hc_relay_get_stats(h->r);
        mtg g;
        ident p[4];
        setup(h, &g, p, 3);
        /* 1000 frames a millisecond: 64 distinct rotations (or one chat frame) over and over */
        static uint8_t chunk[1000 * 600];
        size_t n = 0, one = 0;         /* every rotation of one member has the same size */
        uint8_t chat[500];
        memset(chat, 0x5A, sizeof chat);
        for (int i = 0; i < 1000; i++) {
            if (kind == 0 && i < 64) {
                n += one = announce(chunk + n, sizeof chunk - n, &g, &p[3], NULL, NULL);
            } else if (kind == 0) {
                memcpy(chunk + n, chunk + (size_t)(i % 64) * one, one);
                n += one;
            } else {
                hc_msg m;
                hc_msg_init(&m, HC_MSG_CHAT);
                m.data = chat;
                m.data_len = sizeof chat;
                n += hc_msg_encode(&m, chunk + n, sizeof chunk - n);
            }
        }
        size_t max_unread[3] = {0};
        int backlog_closed = 0, frames = 0;
        for (int ms = 0; ms < 200 && !h->c[3].close_req; ms++, frames += 1000) {
            hh_bytes(h, 3, chunk, n);
            h->now++;
            hc_relay_tick(h->r, h->now);
            for (uint64_t c = 1; c <= 2; c++) {
                if (unread(h, c) > max_unread[c]) max_unread[c] = unread(h, c);
                if (unread(h, c) > SENDQ && !h->c[c].close_req) {   /* what net/relay.c would do */
                    hc_relay_on_backlog(h->r, c, h->now);
                    backlog_closed++;
                }
            }
        }
        print_message("%s flood: %d frames sent (%llu handled) before the flooder was %s; most unread bytes at the "
                      "leader %zu, at the member %zu\n", kind ? "chat" : "announcement", frames,
                      (unsigned long long)st->ctrl_in, h->c[3].close_req ? "closed" : "NOT closed", max_unread[1],
                      max_unread[2]);
        assert_true(h->c[3].close_req);
        hc_msg m;
        assert_true(hh_find(h, 3, HC_MSG_ERROR, &m));
        assert_int_equal(m.code, HC_ERR_RATE_LIMITED);
        assert_int_equal(st->ctrl_flood_closed, 1);
        assert_int_equal(backlog_closed, 0);
        assert_false(h->c[1].close_req);
        assert_false(h->c[2].close_req);
        /* one sender's share of anyone's queue is its burst (256 KiB), a quarter of the limit */
        assert_true(max_unread[1] <= cfg.member_ctrl_burst + 4096);
        assert_true(max_unread[2] <= cfg.member_ctrl_burst + 4096);
        hh_pump(h);
        assert_true(hh_find(h, 1, HC_MSG_MEMBER_LEFT, &m));
        assert_int_equal(m.index, p[3].index);
        assert_int_equal(st->members, 2);
        /* the meeting goes on: a chat from the member reaches the leader */
        hh_drain(h, 1);
        hc_msg_init(&m, HC_MSG_CHAT);
        m.data = chat;
        m.data_len = 10;
        hh_send(h, 2, &m);
        assert_true(hh_find(h, 1, HC_MSG_CHAT, &m));
        assert_int_equal(m.index, p[2].index);
        hh_free(h);
    }
}

/* What participants really send stays far inside the budget, for a long time; the leader is not
 * limited at all (a rekey of a large meeting is a burst of key boxes). */
static void test_budget_spares_participants(void **state) {
    (void)state;
    hc_relay_config cfg;
    hc_relay_config_defaults(&cfg);
    cfg.idle_timeout_ms = 0;
    hh *h = hh_new(&cfg);
    const hc_relay_stats *st = hc_relay_get_stats(h->r);
    mtg g;
    ident p[4];
    setup(h, &g, p, 3);
    uint8_t f[2048], text[1100];
    memset(text, 'x', sizeof text);
    for (int ms = 0; ms < 60000; ms += 10) {   /* a minute */
        hc_msg m;
        if (ms % HC_NONCE_ROTATE_MIN_MS == 0) hh_bytes(h, 2, f, announce(f, sizeof f, &g, &p[2], NULL, NULL));
        if (ms % 100 == 0) {                   /* a chat line of 1100 bytes ten times a second */
            hc_msg_init(&m, HC_MSG_CHAT);
            m.data = text;
            m.data_len = sizeof text;
            hh_send(h, 2, &m);
        }
        hc_msg_init(&m, HC_MSG_VIDEO);         /* keyframe requests, 100 a second (many frozen senders) */
        m.flag = HC_VOP_KEYREQ;
        m.index = p[3].index;
        m.value = 1;
        hh_send(h, 2, &m);
        if (ms % 5000 == 0) {
            hc_msg_init(&m, HC_MSG_PING);
            hh_send(h, 2, &m);
        }
        h->now += 10;
        hc_relay_tick(h->r, h->now);
        for (uint64_t c = 1; c <= 3; c++) hh_drain(h, c);
    }
    assert_false(h->c[2].close_req);
    /* the leader: 5000 key boxes at once */
    uint8_t meta[51] = {0}, box[HC_BOX_LEN] = {0};
    for (int i = 0; i < 5000; i++) {
        hc_msg m;
        hc_msg_init(&m, HC_MSG_KEYBOX);
        m.index = p[2].index;
        m.data = meta;
        m.data_len = sizeof meta;
        m.data2 = box;
        m.data2_len = sizeof box;
        hh_send(h, 1, &m);
    }
    assert_false(h->c[1].close_req);
    assert_int_equal(st->ctrl_flood_closed, 0);
    hh_free(h);
}

/* x joins on conn c naming `hint` in JOIN and announces itself with the key `ivk` (signed with its
 * own); returns the ERROR code it gets for that (0: none). The others' queues are emptied first. */
static uint16_t join_and_announce(hh *h, uint64_t c, const mtg *g, ident *x, const uint8_t *hint, const uint8_t *ivk) {
    assert_int_equal(hh_connect(h, c, (uint32_t)c), 0);
    x->index = join_hint(h, c, g->id, hint, NULL);
    assert_true(x->index > 0);
    for (uint64_t i = 1; i <= c; i++) hh_drain(h, i);
    uint8_t f[512];
    hh_bytes(h, c, f, announce(f, sizeof f, g, x, ivk, x->isk));
    hc_msg m;
    return hh_find(h, c, HC_MSG_ERROR, &m) ? m.code : 0;
}

/* A first announcement must carry the key its JOIN named; in a locked meeting a stranger naming a
 * member's key gets in at JOIN but is thrown out at an announcement of its own key, and one that
 * carries the member's key reaches only the leader (whose signature check refuses it). */
static void test_first_announcement_and_join_hint(void **state) {
    (void)state;
    hc_relay_config cfg;
    hc_relay_config_defaults(&cfg);
    hh *h = hh_new(&cfg);
    const hc_relay_stats *st = hc_relay_get_stats(h->r);
    mtg g;
    ident p[4], x;
    setup(h, &g, p, 2);
    ident_new(&x);
    hc_msg m;
    /* unlocked: an announcement of another key than the JOIN named is refused, not forwarded */
    assert_int_equal(join_and_announce(h, 3, &g, &x, p[2].ivk, NULL), HC_ERR_PROTOCOL);
    assert_false(h->c[3].close_req);
    assert_int_equal(read_announces(h, 1, NULL, NULL), 0);
    assert_int_equal(st->announce_refused, 1);
    hc_msg_init(&m, HC_MSG_LEAVE);
    hh_send(h, 3, &m);
    /* locked (the snapshot: the leader's and member 2's keys) */
    hc_msg_init(&m, HC_MSG_LOCK);
    m.flag = 1;
    hh_send(h, 1, &m);
    uint16_t code;
    assert_int_equal(join_hint(h, 3, g.id, x.ivk, &code), 0);   /* its own key: refused at JOIN */
    assert_int_equal(code, HC_ERR_LOCKED);
    hh_pump(h);
    /* naming member 2's key gets it in; announcing its own key throws it out */
    assert_int_equal(join_and_announce(h, 4, &g, &x, p[2].ivk, NULL), HC_ERR_LOCKED);
    assert_true(h->c[4].close_req);
    assert_int_equal(read_announces(h, 1, NULL, NULL), 0);
    assert_int_equal(read_announces(h, 2, NULL, NULL), 0);
    assert_int_equal(st->announce_refused, 2);
    hh_pump(h);
    assert_int_equal(st->members, 2);
    /* naming member 2's key and announcing it (signed with its own key: invalid) goes on to the
     * others, who refuse the signature; its rotations then count like anyone's */
    assert_int_equal(join_and_announce(h, 5, &g, &x, p[2].ivk, p[2].ivk), 0);
    assert_false(h->c[5].close_req);
    assert_int_equal(read_announces(h, 1, NULL, NULL), 1);
    assert_int_equal(st->announce_refused, 2);
    hh_free(h);
}

int main(void) {
    if (sodium_init() < 0) return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rotations_coalesced),
        cmocka_unit_test(test_flood_disconnects_sender),
        cmocka_unit_test(test_budget_spares_participants),
        cmocka_unit_test(test_first_announcement_and_join_hint),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
