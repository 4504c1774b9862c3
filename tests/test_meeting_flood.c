/* A flood of announcements against the real state machines and the real relay core (issue 11,
 * point 1), on a fake clock (tests/sim.h): the leader checks a bounded number of a member's
 * announcements however many a relay hands it, and a member flooding the relay is thrown out
 * while the leader stays in charge and the meeting goes on. */
#include "tests/testutil.h"

#include <sodium.h>

#include "app/commands.h"
/* sim.h's helpers this file does not need (sim_drop, sim_last, sim_relay_restart) */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#include "tests/sim.h"
#pragma GCC diagnostic pop
#include "tests/relay_harness.h"

static uint64_t verified(sim *s, int i) {
    uint64_t v, c;
    hc_meeting_announce_stats(s->p[i].m, &v, &c);
    return v;
}

static uint64_t capped(sim *s, int i) {
    uint64_t v, c;
    hc_meeting_announce_stats(s->p[i].m, &v, &c);
    return c;
}

/* How many of the others decrypt one audio payload of `from`. */
static size_t heard_by(sim *s, int from) {
    size_t before[SIM_MAX], n = 0;
    for (int i = 0; i < SIM_MAX; i++) before[i] = s->p[i].media_rx;
    hc_meeting_send_audio(s->p[from].m, (const uint8_t *)"hi", 2, 0x80 | 20, s->now);
    sim_flush(s);
    for (int i = 0; i < SIM_MAX; i++) n += i != from && s->p[i].active && s->p[i].media_rx > before[i];
    return n;
}

/* ---- the leader's budget: a relay that hands it every copy ---- */

typedef struct {
    int leader;
    uint32_t member;              /* whose announcements are multiplied */
    int copies;                   /* extra copies of each of its rotations */
    uint8_t bad[512];             /* a forged announcement for an index nobody holds */
    size_t bad_len;
    int bad_copies;
    size_t handed;                /* announcements handed to the leader in total */
} dup_ctx;

static int multiply_to_leader(sim *s, int who, uint8_t *frame, size_t *len, void *arg) {
    dup_ctx *d = arg;
    if (who != d->leader || *len < 6 || frame[5] != HC_MSG_ANNOUNCE) return 1;
    hc_msg a;
    hc_binding b;
    if (hc_msg_decode(&a, frame + 4, *len - 4, NULL) < 0 || hc_binding_decode(&b, a.data, a.data_len) < 0) return 1;
    if (b.index != d->member) return 1;
    /* The leader is not executing now (the sim delivers one frame at a time): hand it the copies
     * straight away, then the frame itself. */
    for (int i = 0; i < d->copies; i++, d->handed++) hc_meeting_on_frame(s->p[who].m, frame + 4, *len - 4, s->now);
    for (int i = 0; i < d->bad_copies; i++, d->handed++)
        hc_meeting_on_frame(s->p[who].m, d->bad + 4, d->bad_len - 4, s->now);
    d->handed++;
    return 1;
}

/* However many copies of announcements a relay hands the leader, it checks at most a few per
 * member per rotation period; the meeting keeps its keys (the newest nonce still gets through). */
static void test_leader_caps_verification(void **st) {
    (void)st;
    sim *s = sim_new(NULL);
    sim_add(s, "lead", 1, NULL, NULL, NULL);
    sim_run(s, 100, 10);
    int b = sim_add(s, "bob", 0, sim_meeting_id(s, 0), NULL, NULL);
    sim_run(s, 1500, 10);
    assert_true(hc_meeting_send_epoch(s->p[b].m) > 0);
    uint64_t v0 = verified(s, 0), c0 = capped(s, 0);
    /* every rotation of bob reaches the leader 1000 times, with 1000 forged announcements for an
     * index the leader holds no entry for */
    dup_ctx d = {.leader = 0, .member = hc_meeting_self_index(s->p[b].m), .copies = 999, .bad_copies = 1000};
    uint8_t ivk[32], isk[64], other_ivk[32], other_isk[64];
    crypto_sign_keypair(ivk, isk);
    crypto_sign_keypair(other_ivk, other_isk);
    hc_binding fb;
    memset(&fb, 0, sizeof fb);
    snprintf(fb.meeting_id, sizeof fb.meeting_id, "%s", sim_meeting_id(s, 0));
    fb.index = 777;
    memcpy(fb.ivk, ivk, 32);
    snprintf(fb.name, sizeof fb.name, "forged");
    d.bad_len = hh_announce_frame(d.bad, sizeof d.bad, &fb, other_isk);   /* not signed by its key */
    s->on_to_client = multiply_to_leader;
    s->arg = &d;
    sim_run(s, 10000, 10);          /* bob rotates every 2 s: 5 rotations */
    uint64_t v = verified(s, 0) - v0, c = capped(s, 0) - c0;
    print_message("announcements handed to the leader: %zu, checked %llu, dropped unchecked %llu\n", d.handed,
                  (unsigned long long)v, (unsigned long long)c);
    assert_true(d.handed >= 5 * 2000);
    /* per rotation: a budget of 4 for bob and 4 shared by unknown indexes, refilled by 2 s */
    assert_true(v <= 6 * 8);
    assert_int_equal(v + c, d.handed);
    /* the meeting works: a rekey (a new member) reaches bob under its newest nonce */
    s->on_to_client = NULL;
    uint32_t e = hc_meeting_send_epoch(s->p[b].m);
    int c3 = sim_add(s, "carol", 0, sim_meeting_id(s, 0), NULL, NULL);
    sim_run(s, 1500, 10);
    assert_true(hc_meeting_send_epoch(s->p[b].m) > e);
    assert_int_equal(sim_count(s, b, HC_EV_SECURITY_ALERT, "stale_keybox"), 0);
    assert_int_equal(heard_by(s, b), 2);
    assert_int_equal(heard_by(s, c3), 2);
    /* one forged announcement was checked at least: the leader reported it */
    assert_true(sim_count(s, 0, HC_EV_SECURITY_ALERT, "bad_signature") >= 1);
    sodium_memzero(isk, sizeof isk);
    sodium_memzero(other_isk, sizeof other_isk);
    sim_free(s);
}

/* ---- a member flooding the relay ---- */

typedef struct {
    int rogue;
    uint8_t first[512];           /* its first announcement */
    size_t first_len;
} catch_ctx;

static int catch_first_announce(sim *s, int who, uint8_t *frame, size_t *len, void *arg) {
    catch_ctx *k = arg;
    (void)s;
    if (who == k->rogue && !k->first_len && *len <= sizeof k->first && *len > 5 && frame[5] == HC_MSG_ANNOUNCE) {
        memcpy(k->first, frame, *len);
        k->first_len = *len;
    }
    return 1;
}

/* Every half second of the flood: bob speaks and chats; counts what reached both others. */
typedef struct {
    int bob, carol;
    uint64_t next;
    size_t checks, heard, chats;
} probe;

static void run_probing(sim *s, probe *p, uint64_t ms) {
    for (uint64_t t = 0; t < ms; t += 10) {
        sim_run(s, 10, 10);
        if (s->now < p->next) continue;
        p->next = s->now + 500;
        p->checks++;
        p->heard += heard_by(s, p->bob) == 2;
        size_t before = sim_count(s, 0, HC_EV_CHAT, NULL) + sim_count(s, p->carol, HC_EV_CHAT, NULL);
        hc_command c = {.type = HC_CMD_CHAT, .text = "still here"};
        assert_int_equal(hc_meeting_command(s->p[p->bob].m, &c, s->now), 0);
        sim_flush(s);
        p->chats += sim_count(s, 0, HC_EV_CHAT, NULL) + sim_count(s, p->carol, HC_EV_CHAT, NULL) - before == 2;
    }
}

/* A participant kept waiting (--admit ask) re-announces 20 000 times a second for 10 s, joining
 * again each time it is thrown out: the relay throws it out each time, the leader stays, checks a
 * bounded number of announcements, and the others keep talking, chatting and rekeying. */
static void test_flood_meeting_survives(void **st) {
    (void)st;
    hc_meeting_config ask = sim_default_cfg();
    ask.admit = HC_ADMIT_ASK;
    sim *s = sim_new(NULL);
    const hc_relay_stats *rs = hc_relay_get_stats(s->relay);
    sim_add(s, "lead", 1, NULL, &ask, NULL);
    sim_run(s, 100, 10);
    int who[3] = {0};
    for (int k = 1; k <= 2; k++) {
        who[k] = sim_add(s, k == 1 ? "bob" : "carol", 0, sim_meeting_id(s, 0), NULL, NULL);
        sim_run(s, 500, 10);
        hc_command a = {.type = HC_CMD_ADMIT, .index = hc_meeting_self_index(s->p[who[k]].m)};
        assert_int_equal(hc_meeting_command(s->p[0].m, &a, s->now), 0);
        sim_run(s, 1000, 10);
    }
    uint32_t leader = hc_meeting_self_index(s->p[0].m);
    catch_ctx k = {0};
    s->on_to_relay = catch_first_announce;
    s->arg = &k;
    int sessions = 0;
    uint64_t v0 = verified(s, 0);
    probe pr = {.bob = who[1], .carol = who[2], .next = s->now};
    uint32_t epoch0 = hc_meeting_send_epoch(s->p[who[1]].m);
    uint64_t end = s->now + 10000;
    static uint8_t burst[200 * 300];
    while (s->now < end) {
        /* (re)join the rogue; it announces itself, then floods */
        k.rogue = sim_add(s, "rogue", 0, sim_meeting_id(s, 0), NULL, NULL);
        k.first_len = 0;
        sessions++;
        run_probing(s, &pr, 50);
        assert_true(k.first_len > 0);
        hc_msg a;
        hc_binding b;
        assert_int_equal(hc_msg_decode(&a, k.first + 4, k.first_len - 4, NULL), 0);
        assert_int_equal(hc_binding_decode(&b, a.data, a.data_len), 0);
        size_t n = 0;
        for (int i = 0; i < 200; i++) {       /* 200 distinct, validly signed rotations */
            randombytes_buf(b.nonce, sizeof b.nonce);
            n += hh_announce_frame(burst + n, sizeof burst - n, &b, s->p[k.rogue].id.isk);
        }
        /* 200 every 10 ms until the relay closes it, for at most 1 s */
        for (int t = 0; t < 100 && s->p[k.rogue].conn; t++) {
            hc_relay_on_bytes(s->relay, s->p[k.rogue].conn, burst, n, s->now);
            run_probing(s, &pr, 10);
        }
        run_probing(s, &pr, 100);
        assert_int_equal(s->p[k.rogue].conn, 0);             /* the relay closed it */
        sim_remove(s, k.rogue);
    }
    uint64_t v = verified(s, 0) - v0;
    print_message("%d rogue sessions, %llu members thrown out for flooding, %llu rotations at the relay, %llu "
                  "passed on; the leader checked %llu announcements; of %zu checks, %zu chats and %zu audio got through\n",
                  sessions, (unsigned long long)rs->ctrl_flood_closed, (unsigned long long)rs->announce_rotations,
                  (unsigned long long)rs->announce_rotations_fwd, (unsigned long long)v, pr.checks, pr.chats, pr.heard);
    assert_true(sessions >= 5);
    assert_int_equal(rs->ctrl_flood_closed, (uint64_t)sessions);
    assert_int_equal(rs->ctrl_disconnects_backlog, 0);
    assert_true(rs->announce_rotations_fwd <= (uint64_t)sessions * 2 + 20);
    assert_true(v <= (uint64_t)sessions * 4 + 40);
    /* the leader is still in charge, nobody else left or was alarmed */
    for (int i = 1; i <= 2; i++) {
        assert_int_equal(hc_meeting_phase_get(s->p[who[i]].m), HC_MT_IN);
        assert_int_equal(hc_meeting_leader_index(s->p[who[i]].m), leader);
        assert_int_equal(sim_count(s, who[i], HC_EV_LEADER_CHANGED, NULL), 0);
        assert_int_equal(sim_count(s, who[i], HC_EV_SECURITY_ALERT, NULL), 0);
    }
    assert_true(hc_meeting_is_leader(s->p[0].m));
    assert_int_equal(hc_meeting_phase_get(s->p[0].m), HC_MT_IN);
    assert_true(pr.checks >= 19);
    assert_int_equal(pr.chats, pr.checks);
    assert_int_equal(pr.heard, pr.checks);
    /* and it still rekeys: a new member is admitted and keyed */
    int d = sim_add(s, "dave", 0, sim_meeting_id(s, 0), NULL, NULL);
    sim_run(s, 500, 10);
    hc_command a = {.type = HC_CMD_ADMIT, .index = hc_meeting_self_index(s->p[d].m)};
    assert_int_equal(hc_meeting_command(s->p[0].m, &a, s->now), 0);
    sim_run(s, 1500, 10);
    assert_true(hc_meeting_send_epoch(s->p[who[1]].m) > epoch0);
    assert_int_equal(heard_by(s, d), 3);
    sim_free(s);
}

int main(void) {
    if (sodium_init() < 0) return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_leader_caps_verification),
        cmocka_unit_test(test_flood_meeting_survives),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
