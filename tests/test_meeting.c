/* The meeting protocol in process: real crypto, the real relay core, a fake clock (tests/sim.h).
 * Each test states the property it checks; assertions are on values, not on "it ran". */
#include "tests/testutil.h"

#include <sodium.h>

#include "app/commands.h"
#include "app/meeting_internal.h"
#include "crypto/bytes.h"
#include "crypto/keybox.h"
#include "crypto/sframe.h"
#include "net/roster.h"
#include "tests/sim.h"

#define meeting_of sim_meeting_of

static void assert_all_sending(sim *s, int n, uint32_t epoch) {
    for (int i = 0; i < n; i++) {
        if (!s->p[i].active || !s->p[i].m) continue;
        assert_int_equal(hc_meeting_phase_get(s->p[i].m), HC_MT_IN);
        assert_int_equal(hc_meeting_send_epoch(s->p[i].m), epoch);
    }
}

/* Sends one audio payload from slot `from` and returns how many others decrypted it. */
static size_t speak(sim *s, int from, const char *what) {
    size_t before[SIM_MAX];
    for (int i = 0; i < SIM_MAX; i++) before[i] = s->p[i].media_rx;
    hc_meeting_send_audio(s->p[from].m, (const uint8_t *)what, strlen(what), 0x80 | 20, s->now);
    sim_flush(s);
    size_t got = 0;
    for (int i = 0; i < SIM_MAX; i++)
        if (i != from && s->p[i].active && s->p[i].media_rx > before[i]) {
            assert_memory_equal(s->p[i].last_media, what, strlen(what));
            got++;
        }
    return got;
}

/* ---- joining, codes, epochs ---- */

static void test_three_join_same_code_and_epochs(void **st) {
    (void)st;
    sim *s = sim_new(NULL);
    sim_add(s, "p0", 1, NULL, NULL, NULL);
    sim_run(s, 100, 10);
    sim_add(s, "p1", 0, sim_meeting_id(s, 0), NULL, NULL);
    sim_run(s, 1000, 10);
    assert_all_sending(s, 2, 2);
    sim_add(s, "p2", 0, sim_meeting_id(s, 0), NULL, NULL);
    sim_run(s, 1000, 10);
    const char *code = hc_meeting_code(s->p[0].m);
    assert_int_equal(strlen(code), HC_CODE_STR_LEN);
    for (int i = 1; i < 3; i++) assert_string_equal(hc_meeting_code(s->p[i].m), code);
    /* epoch 1 for the host alone, then one rekey per join (the joins were far apart) */
    assert_all_sending(s, 3, 3);
    assert_int_equal(sim_count(s, 0, HC_EV_KEY_EPOCH, NULL), 3);
    assert_int_equal(sim_count(s, 2, HC_EV_KEY_EPOCH, NULL), 1);
    assert_int_equal(sim_last(s, 0, HC_EV_KEY_EPOCH)->members, 3);
    for (int i = 0; i < 3; i++) assert_int_equal(hc_meeting_roster_size(s->p[i].m), 3);
    assert_int_equal(speak(s, 1, "hello"), 2);
    assert_int_equal(speak(s, 0, "from the leader"), 2);
    /* every participant saw "joined" and the host saw "meeting" first */
    assert_int_equal(s->p[0].ev[0].type, HC_EV_MEETING);
    for (int i = 0; i < 3; i++) assert_int_equal(sim_count(s, i, HC_EV_JOINED, NULL), 1);
    /* participant_joined: the host sees two, the last joiner sees two (the others) */
    assert_int_equal(sim_count(s, 0, HC_EV_PARTICIPANT_JOINED, NULL), 2);
    assert_int_equal(sim_count(s, 2, HC_EV_PARTICIPANT_JOINED, NULL), 2);
    for (int i = 0; i < 3; i++) assert_int_equal(sim_count(s, i, HC_EV_SECURITY_ALERT, NULL), 0);
    sim_free(s);
}

static void test_join_batching(void **st) {
    (void)st;
    sim *s = sim_new(NULL);
    sim_add(s, "host", 1, NULL, NULL, NULL);
    sim_run(s, 100, 10);
    /* four joins within 200 ms share one rekey */
    for (int i = 1; i <= 4; i++) sim_add(s, "j", 0, sim_meeting_id(s, 0), NULL, NULL);
    sim_run(s, 1500, 10);
    assert_all_sending(s, 5, 2);
    assert_int_equal(speak(s, 3, "x"), 4);
    sim_free(s);
}

static void test_many_instances_one_process(void **st) {
    (void)st;
    sim *s = meeting_of(20, NULL);
    const char *code = hc_meeting_code(s->p[0].m);
    uint32_t e = hc_meeting_send_epoch(s->p[0].m);
    for (int i = 1; i < 20; i++) {
        assert_string_equal(hc_meeting_code(s->p[i].m), code);
        assert_int_equal(hc_meeting_send_epoch(s->p[i].m), e);
    }
    assert_int_equal(speak(s, 7, "all of you"), 19);
    sim_free(s);
}

/* ---- forward and backward secrecy across membership changes ---- */

/* Tries every key a participant ever held (and nearby epoch labels) on a captured packet. */
static int opens_with_any(const uint8_t mks[][32], const uint32_t *epochs, size_t n, const uint8_t *uuid,
                          const char *mid, const uint8_t *pkt, size_t len) {
    hc_media_info mi;
    if (hc_media_parse(&mi, pkt, len) < 0) return 0;
    uint8_t stream, e8;
    uint32_t sender;
    hc_kid_split(mi.kid, &stream, &sender, &e8);
    for (size_t i = 0; i < n; i++) {
        for (uint32_t delta = 0; delta < 4; delta++) {
            uint8_t base[32], pt[HC_MEDIA_MAX];
            uint64_t ctr;
            hc_sframe_key k;
            hc_frame_base_key(base, mks[i], uuid, mid, epochs[i] + delta, sender, stream);
            if (hc_sframe_key_init(&k, HC_SUITE_CHACHA, mi.kid, base, 32) < 0) continue;
            int r = hc_sframe_open(&k, pkt + 2, len - 2, pkt, 2, pt, sizeof pt, &ctr);
            hc_sframe_key_wipe(&k);
            if (r >= 0) return 1;
        }
    }
    return 0;
}

/* Records the MKs a participant holds (all epochs it has accepted so far). */
static size_t harvest_mks(sim *s, int i, uint8_t mks[][32], uint32_t *epochs, size_t n, size_t cap) {
    uint32_t hi = hc_meeting_highest_epoch(s->p[i].m);
    for (uint32_t e = 1; e <= hi && n < cap; e++) {
        int dup = 0;
        for (size_t k = 0; k < n; k++) dup |= epochs[k] == e;
        if (!dup && hc_meeting_debug_mk(s->p[i].m, e, mks[n]) == 0) epochs[n++] = e;
    }
    return n;
}

/* The audio datagram `from` sends next, as it leaves the client. */
static size_t grab_packet(sim *s, int from, uint8_t *out) {
    hc_meeting_send_audio(s->p[from].m, (const uint8_t *)"secret", 6, 0x80, s->now);
    /* the datagram is the last queued message */
    sim_msg *q = s->tail;
    assert_non_null(q);
    assert_true(q->to_relay && q->media);
    memcpy(out, q->data, q->len);
    size_t len = q->len;
    sim_flush(s);
    return len;
}

static void test_leaver_cannot_open_later_frames(void **st) {
    (void)st;
    sim *s = meeting_of(3, NULL);
    uint8_t mks[16][32];
    uint32_t ep[16];
    size_t n = harvest_mks(s, 2, mks, ep, 0, 16);
    assert_true(n >= 1);
    uint8_t uuid[16];
    char mid[32];
    snprintf(mid, sizeof mid, "%s", sim_meeting_id(s, 0));
    memcpy(uuid, s->p[2].m->uuid, 16);
    /* sanity: the leaver can open a frame of the current epoch */
    uint8_t pkt[HC_MEDIA_MAX];
    size_t len = grab_packet(s, 0, pkt);
    assert_true(opens_with_any(mks, ep, n, uuid, mid, pkt, len));
    uint32_t before = hc_meeting_send_epoch(s->p[0].m);
    hc_command leave = {.type = HC_CMD_LEAVE};
    hc_meeting_command(s->p[2].m, &leave, s->now);
    sim_run(s, 1500, 10);
    assert_true(hc_meeting_send_epoch(s->p[0].m) > before);
    assert_int_equal(hc_meeting_send_epoch(s->p[1].m), hc_meeting_send_epoch(s->p[0].m));
    for (int from = 0; from < 2; from++) {
        len = grab_packet(s, from, pkt);
        assert_false(opens_with_any(mks, ep, n, uuid, mid, pkt, len));
    }
    assert_int_equal(speak(s, 1, "still here"), 1);
    sim_free(s);
}

static void test_joiner_cannot_open_earlier_frames(void **st) {
    (void)st;
    sim *s = meeting_of(2, NULL);
    uint8_t old[4][HC_MEDIA_MAX];
    size_t oldlen[4];
    for (int i = 0; i < 4; i++) oldlen[i] = grab_packet(s, i % 2, old[i]);
    int j = sim_add(s, "late", 0, sim_meeting_id(s, 0), NULL, NULL);
    sim_run(s, 1500, 10);
    assert_int_equal(hc_meeting_phase_get(s->p[j].m), HC_MT_IN);
    uint8_t mks[16][32];
    uint32_t ep[16];
    size_t n = harvest_mks(s, j, mks, ep, 0, 16);
    assert_true(n >= 1);
    for (int i = 0; i < 4; i++)
        assert_false(opens_with_any(mks, ep, n, s->p[j].m->uuid, sim_meeting_id(s, 0), old[i], oldlen[i]));
    /* and fed to the state machine they are dropped, not played */
    size_t rx = s->p[j].media_rx;
    for (int i = 0; i < 4; i++) hc_meeting_on_media(s->p[j].m, old[i], oldlen[i], s->now);
    sim_run(s, 500, 10);
    assert_int_equal(s->p[j].media_rx, rx);
    assert_int_equal(speak(s, 0, "welcome"), 2);
    sim_free(s);
}

static void test_every_key_is_fresh(void **st) {
    (void)st;
    sim *s = meeting_of(2, NULL);
    uint8_t mks[64][32];
    uint32_t ep[64];
    size_t n = 0;
    for (int round = 0; round < 6; round++) {
        int j = sim_add(s, "x", 0, sim_meeting_id(s, 0), NULL, NULL);
        sim_run(s, 800, 10);
        n = harvest_mks(s, 0, mks, ep, n, 64);
        hc_command leave = {.type = HC_CMD_LEAVE};
        hc_meeting_command(s->p[j].m, &leave, s->now);
        sim_run(s, 800, 10);
        n = harvest_mks(s, 0, mks, ep, n, 64);
        sim_remove(s, j);
    }
    assert_true(n >= 10);
    for (size_t a = 0; a < n; a++) {
        int zero = 1;
        for (int b = 0; b < 32; b++) zero &= mks[a][b] == 0;
        assert_false(zero);
        for (size_t b = a + 1; b < n; b++) assert_true(memcmp(mks[a], mks[b], 32) != 0);
    }
    sim_free(s);
}

/* ---- key boxes: rollback, replay, misdirected, stale nonce ---- */

typedef struct {
    int target;
    uint8_t boxes[16][512];
    size_t lens[16];
    size_t n;
    int drop;
} box_tap;

static int tap_boxes(sim *s, int who, uint8_t *frame, size_t *len, void *arg) {
    (void)s;
    box_tap *t = arg;
    if (who == t->target && *len > 5 && frame[5] == HC_MSG_KEYBOX && t->n < 16) {
        memcpy(t->boxes[t->n], frame, *len);
        t->lens[t->n++] = *len;
        if (t->drop) return 0;
    }
    return 1;
}

static void deliver(sim *s, int who, const uint8_t *frame, size_t len) {
    hc_meeting_on_frame(s->p[who].m, frame + 4, len - 4, s->now);
    sim_flush(s);
}

static void test_box_rollback_replay_misdirected(void **st) {
    (void)st;
    box_tap t = {.target = 1};
    sim *s = sim_new(NULL);
    s->on_to_client = tap_boxes;
    s->arg = &t;
    sim_add(s, "host", 1, NULL, NULL, NULL);
    sim_run(s, 100, 10);
    sim_add(s, "b", 0, sim_meeting_id(s, 0), NULL, NULL);
    sim_run(s, 1000, 10);
    sim_add(s, "c", 0, sim_meeting_id(s, 0), NULL, NULL);
    sim_run(s, 1000, 10);
    assert_true(t.n >= 2);
    uint32_t hi = hc_meeting_highest_epoch(s->p[1].m);
    /* the previous box again: rollback */
    deliver(s, 1, t.boxes[t.n - 2], t.lens[t.n - 2]);
    assert_int_equal(sim_count(s, 1, HC_EV_SECURITY_ALERT, "key_rollback"), 1);
    /* the newest box again: a replay, also refused */
    deliver(s, 1, t.boxes[t.n - 1], t.lens[t.n - 1]);
    assert_int_equal(sim_count(s, 1, HC_EV_SECURITY_ALERT, "key_rollback"), 2);
    assert_int_equal(hc_meeting_highest_epoch(s->p[1].m), hi);
    /* b's box given to c: made for someone else */
    deliver(s, 2, t.boxes[t.n - 1], t.lens[t.n - 1]);
    assert_int_equal(sim_count(s, 2, HC_EV_SECURITY_ALERT, "keybox_misdirected"), 1);
    /* b's box with its recipient changed to c (a relay rewriting Meta): fails to open at c */
    uint8_t f[512];
    size_t fl = t.lens[t.n - 1];
    memcpy(f, t.boxes[t.n - 1], fl);
    hc_msg km;
    assert_int_equal(hc_msg_decode(&km, f + 4, fl - 4, NULL), 0);
    hc_box_meta meta;
    assert_int_equal(hc_box_meta_decode(&meta, km.data, km.data_len), 0);
    meta.recipient_index = hc_meeting_self_index(s->p[2].m);
    memcpy(meta.nonce, s->p[2].m->nonces[0], HC_NONCE_LEN);
    uint8_t menc[HC_META_MAX];
    size_t ml = hc_box_meta_encode(&meta, menc, sizeof menc);
    km.data = menc;
    km.data_len = ml;
    uint8_t f2[600];
    size_t f2l = hc_msg_encode(&km, f2, sizeof f2);
    deliver(s, 2, f2, f2l);
    assert_int_equal(sim_count(s, 2, HC_EV_SECURITY_ALERT, "keybox_auth"), 1);
    assert_int_equal(speak(s, 1, "ok"), 2);
    sim_free(s);
}

static void test_box_with_stale_nonce_rejected(void **st) {
    (void)st;
    box_tap t = {.target = 1, .drop = 1};
    sim *s = sim_new(NULL);
    s->on_to_client = tap_boxes;
    s->arg = &t;
    sim_add(s, "host", 1, NULL, NULL, NULL);
    sim_run(s, 100, 10);
    sim_add(s, "b", 0, sim_meeting_id(s, 0), NULL, NULL);
    sim_run(s, 300, 10);
    assert_int_equal(t.n, 1);          /* held back */
    assert_int_equal(hc_meeting_highest_epoch(s->p[1].m), 0);
    t.drop = 0;
    s->on_to_client = NULL;
    sim_run(s, 4500, 10);              /* b rotates its nonce twice (every 2 s) */
    deliver(s, 1, t.boxes[0], t.lens[0]);
    assert_int_equal(sim_count(s, 1, HC_EV_SECURITY_ALERT, "stale_keybox"), 1);
    assert_int_equal(hc_meeting_highest_epoch(s->p[1].m), 0);
    sim_free(s);
}

/* A member whose new key box is lost goes quiet once the leader certifies the new epoch: sending
 * on under the old key would let the member who just left read it. */
static void test_member_without_new_key_stops_sending(void **st) {
    (void)st;
    box_tap t = {.target = 1};
    sim *s = meeting_of(3, NULL);
    uint32_t e0 = hc_meeting_send_epoch(s->p[1].m);
    assert_int_equal(hc_meeting_send_audio(s->p[1].m, (const uint8_t *)"a", 1, 0, s->now), 0);
    t.drop = 1;
    s->on_to_client = tap_boxes;
    s->arg = &t;
    hc_command leave = {.type = HC_CMD_LEAVE};
    hc_meeting_command(s->p[2].m, &leave, s->now);
    sim_run(s, 1500, 10);   /* p1 never acks: the leader certifies after its 1 s timeout */
    assert_true(t.n >= 1);
    assert_true(hc_meeting_send_epoch(s->p[0].m) > e0);
    assert_int_equal(hc_meeting_send_epoch(s->p[1].m), e0);
    assert_int_equal(hc_meeting_send_audio(s->p[1].m, (const uint8_t *)"a", 1, 0, s->now), -1);
    hc_command c = {.type = HC_CMD_CHAT, .text = "still there?"};
    hc_meeting_command(s->p[1].m, &c, s->now);
    sim_run(s, 100, 10);
    assert_int_equal(sim_count(s, 0, HC_EV_CHAT, NULL), 0);
    assert_int_equal(sim_count(s, 1, HC_EV_SECURITY_ALERT, "key_missing"), 1);
    /* the box arrives after all (within its nonce's lifetime): sending resumes under the new key */
    s->on_to_client = NULL;
    deliver(s, 1, t.boxes[t.n - 1], t.lens[t.n - 1]);
    sim_run(s, 100, 10);
    assert_int_equal(hc_meeting_send_epoch(s->p[1].m), hc_meeting_send_epoch(s->p[0].m));
    assert_int_equal(speak(s, 1, "back"), 1);
    sim_free(s);
}

/* ---- heartbeats ---- */

typedef struct {
    uint64_t times[4096];
    size_t n;
    uint8_t frames[8][256];
    size_t lens[8];
    size_t nf;
} hb_tap;

static int tap_hb(sim *s, int who, uint8_t *frame, size_t *len, void *arg) {
    hb_tap *t = arg;
    if (who == 1 && *len > 5 && frame[5] == HC_MSG_HEARTBEAT) {
        if (t->n < 4096) t->times[t->n++] = s->now;
        if (t->nf < 8 && *len <= 256) { memcpy(t->frames[t->nf], frame, *len); t->lens[t->nf++] = *len; }
    }
    return 1;
}

static void test_heartbeat_gaps_never_exceed_interval(void **st) {
    (void)st;
    hb_tap *t = calloc(1, sizeof *t);
    hc_meeting_config c = sim_default_cfg();
    c.heartbeat_ms = 500;
    sim *s = sim_new(NULL);
    s->on_to_client = tap_hb;
    s->arg = t;
    sim_add(s, "host", 1, NULL, &c, NULL);
    sim_run(s, 100, 10);
    sim_add(s, "b", 0, sim_meeting_id(s, 0), &c, NULL);
    sim_run(s, 200, 10);
    size_t start = t->n;
    for (int k = 0; k < 5; k++) {   /* churn in between: rekeys must not delay heartbeats */
        int j = sim_add(s, "c", 0, sim_meeting_id(s, 0), &c, NULL);
        sim_run(s, 3000, 10);
        hc_command l = {.type = HC_CMD_LEAVE};
        hc_meeting_command(s->p[j].m, &l, s->now);
        sim_run(s, 3000, 10);
        sim_remove(s, j);
    }
    assert_true(t->n - start > 50);
    uint64_t maxgap = 0;
    for (size_t i = start + 1; i < t->n; i++)
        if (t->times[i] - t->times[i - 1] > maxgap) maxgap = t->times[i] - t->times[i - 1];
    assert_true(maxgap <= 500);
    assert_int_equal(sim_count(s, 1, HC_EV_SECURITY_ALERT, NULL), 0);
    assert_int_equal(hc_meeting_phase_get(s->p[1].m), HC_MT_IN);
    sim_free(s);
    free(t);
}

static void test_heartbeat_forged_replayed_out_of_chain(void **st) {
    (void)st;
    hb_tap *t = calloc(1, sizeof *t);
    sim *s = sim_new(NULL);
    s->on_to_client = tap_hb;
    s->arg = t;
    sim_add(s, "host", 1, NULL, NULL, NULL);
    sim_run(s, 100, 10);
    sim_add(s, "b", 0, sim_meeting_id(s, 0), NULL, NULL);
    sim_run(s, 5000, 10);
    assert_true(t->nf >= 3);
    /* replayed: an old valid heartbeat */
    deliver(s, 1, t->frames[1], t->lens[1]);
    assert_int_equal(sim_count(s, 1, HC_EV_SECURITY_ALERT, "heartbeat_replay"), 1);

    hc_meeting *L = s->p[0].m;
    /* out of chain: correctly signed by the leader, next counter, but a wrong previous hash */
    hc_msg hb;
    hc_msg_init(&hb, HC_MSG_HEARTBEAT);
    hb.hb.v = L->L.roster_v;
    hb.hb.t = L->L.t + 1;
    hb.hb.epoch = hc_meeting_send_epoch(L);
    hb.hb.ts_ms = s->now + 5;
    randombytes_buf(hb.hb.prev, 32);
    memcpy(hb.hb.roster_hash, L->roster_hash, 32);
    uint8_t h[32];
    hc_heartbeat_hash(h, L->my_bhash, hb.hb.roster_hash, hb.hb.v, hb.hb.t, hb.hb.epoch, hb.hb.prev, hb.hb.ts_ms);
    hc_sign_hash(hb.hb.sig, s->p[0].id.isk, HC_CTX_SIG_PARTICIPANTS, h);
    uint8_t f[512];
    size_t fl = hc_msg_encode(&hb, f, sizeof f);
    deliver(s, 1, f, fl);
    assert_int_equal(sim_count(s, 1, HC_EV_SECURITY_ALERT, "heartbeat_chain"), 1);

    /* forged: right chain, signed by someone else */
    memcpy(hb.hb.prev, L->L.prev, 32);
    hc_heartbeat_hash(h, L->my_bhash, hb.hb.roster_hash, hb.hb.v, hb.hb.t, hb.hb.epoch, hb.hb.prev, hb.hb.ts_ms);
    hc_identity other;
    hc_identity_generate(&other);
    hc_sign_hash(hb.hb.sig, other.isk, HC_CTX_SIG_PARTICIPANTS, h);
    hc_identity_wipe(&other);
    fl = hc_msg_encode(&hb, f, sizeof f);
    deliver(s, 1, f, fl);
    assert_int_equal(sim_count(s, 1, HC_EV_SECURITY_ALERT, "heartbeat_forged"), 1);

    /* the real chain continues to be accepted */
    sim_run(s, 3000, 10);
    assert_int_equal(hc_meeting_phase_get(s->p[1].m), HC_MT_IN);
    assert_int_equal(sim_count(s, 1, HC_EV_SECURITY_ALERT, NULL), 3);
    sim_free(s);
    free(t);
}

/* Drops the frames of one type to (on_to_client) or from (on_to_relay) one participant. */
typedef struct {
    int who;
    uint8_t type;
} frame_drop;

static int drop_frames(sim *s, int who, uint8_t *frame, size_t *len, void *arg) {
    const frame_drop *d = arg;
    (void)s;
    return !(who == d->who && *len > 5 && frame[5] == d->type);
}

static void test_missed_heartbeats_leave_and_wipe(void **st) {
    (void)st;
    sim *s = meeting_of(2, NULL);
    frame_drop d = {1, HC_MSG_HEARTBEAT};
    s->on_to_client = drop_frames;
    s->arg = &d;
    sim_run(s, 7900, 10);   /* the last good heartbeat is < 2 s old: 9.9 s < 5 x 2 s */
    assert_int_equal(hc_meeting_phase_get(s->p[1].m), HC_MT_IN);
    sim_run(s, 4000, 10);
    assert_int_equal(hc_meeting_phase_get(s->p[1].m), HC_MT_LEFT);
    assert_int_equal(sim_count(s, 1, HC_EV_HEARTBEAT_TIMEOUT, NULL), 1);
    assert_string_equal(hc_meeting_left_reason(s->p[1].m), "heartbeat_timeout");
    /* heartbeats that never arrive are a stall (the network, or a relay that stops forwarding):
     * a connectivity failure, not a security one */
    assert_int_equal(hc_meeting_exit_status(s->p[1].m), HC_EXIT_RELAY);
    assert_int_equal(sim_count(s, 1, HC_EV_SECURITY_ALERT, NULL), 0);
    for (size_t k = 0; k < s->p[1].n_ev; k++)
        if (s->p[1].ev[k].type == HC_EV_HEARTBEAT_TIMEOUT) assert_string_equal(s->p[1].ev[k].reason, "connectivity");
    uint8_t mk[32];
    for (uint32_t e = 1; e < 10; e++) assert_int_equal(hc_meeting_debug_mk(s->p[1].m, e, mk), -1);
    sim_free(s);
}

/* ---- a relay that restarts: reconnect and resume (PROTOCOL.md §11.10) ---- */

static int all_back[SIM_MAX] = {1, 1, 1, 1, 1, 1, 1, 1};

static size_t events_since(const sim *s, int i, size_t from, hc_event_type t, const char *kind) {
    size_t n = 0;
    for (size_t k = from; k < s->p[i].n_ev; k++)
        if (s->p[i].ev[k].type == t && (!kind || !strcmp(s->p[i].ev[k].kind, kind))) n++;
    return n;
}

/* The relay dies and comes back empty: the leader re-creates the meeting under its id, the others
 * rejoin it, and the call goes on under a new, higher epoch with the same code. A leader who asks
 * before admitting anyone does not ask again for those it had admitted. */
static void test_resume_after_relay_restart(void **st) {
    (void)st;
    sim *s = meeting_of(4, NULL);
    assert_all_sending(s, 4, hc_meeting_send_epoch(s->p[0].m));
    char id[32], code[64];
    snprintf(id, sizeof id, "%s", sim_meeting_id(s, 0));
    snprintf(code, sizeof code, "%s", hc_meeting_code(s->p[0].m));
    uint32_t epoch = hc_meeting_send_epoch(s->p[0].m);
    uint32_t old_index = hc_meeting_self_index(s->p[2].m);
    s->p[0].m->admit = HC_ADMIT_ASK;   /* the meeting asks (its policy goes with the resume) */
    size_t mark[4];
    for (int i = 0; i < 4; i++) mark[i] = s->p[i].n_ev;
    assert_int_equal(sim_relay_restart(s, all_back, NULL), 0);
    sim_run(s, 2000, 10);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(hc_meeting_phase_get(s->p[i].m), HC_MT_IN);
        assert_string_equal(sim_meeting_id(s, i), id);
        assert_string_equal(hc_meeting_code(s->p[i].m), code);
        assert_true(hc_meeting_send_epoch(s->p[i].m) > epoch);
        assert_int_equal(hc_meeting_send_epoch(s->p[i].m), hc_meeting_send_epoch(s->p[0].m));
        assert_int_equal(events_since(s, i, mark[i], HC_EV_SECURITY_ALERT, NULL), 0);
        assert_int_equal(events_since(s, i, mark[i], HC_EV_ADMISSION_REQUEST, NULL), 0);
    }
    assert_true(hc_meeting_is_leader(s->p[0].m));
    assert_int_equal(hc_meeting_roster_size(s->p[0].m), 4);
    assert_true(hc_meeting_self_index(s->p[2].m) != old_index || hc_meeting_self_index(s->p[2].m) <= 4);
    assert_int_equal(speak(s, 2, "after the restart"), 3);
    /* later one member's own connection drops: it gets back into this (resumed) instance, whose
     * board still carries the statement about the one before; that is no alert */
    size_t m3 = s->p[3].n_ev;
    assert_int_equal(sim_rejoin(s, 3), 0);
    sim_run(s, 1500, 10);
    assert_int_equal(hc_meeting_phase_get(s->p[3].m), HC_MT_IN);
    assert_true(hc_meeting_send_epoch(s->p[3].m) > 0);
    assert_int_equal(events_since(s, 3, m3, HC_EV_SECURITY_ALERT, NULL), 0);
    assert_string_equal(hc_meeting_code(s->p[3].m), code);
    assert_int_equal(speak(s, 3, "back again"), 3);
    /* a newcomer, who did not know the old meeting, still has to ask */
    sim_add(s, "new", 0, id, NULL, NULL);
    sim_run(s, 500, 10);
    assert_int_equal(events_since(s, 0, mark[0], HC_EV_ADMISSION_REQUEST, NULL), 1);
    sim_free(s);
}

/* The leader does not come back: after the takeover wait the earliest member of the last roster
 * re-creates the meeting, the others accept it (it was in their roster) and are told to compare
 * the new code. */
static void test_resume_without_the_leader(void **st) {
    (void)st;
    sim *s = meeting_of(4, NULL);
    char code[64];
    snprintf(code, sizeof code, "%s", hc_meeting_code(s->p[1].m));
    int back[SIM_MAX] = {0, 1, 1, 1};
    size_t mark[4];
    for (int i = 0; i < 4; i++) mark[i] = s->p[i].n_ev;
    sim_relay_restart(s, back, NULL);
    sim_run(s, 2500, 10);   /* inside the wait: nobody has taken over yet */
    for (int i = 1; i < 4; i++) assert_int_not_equal(hc_meeting_phase_get(s->p[i].m), HC_MT_IN);
    sim_run(s, 3000, 10);
    assert_true(hc_meeting_is_leader(s->p[1].m));
    for (int i = 1; i < 4; i++) {
        assert_int_equal(hc_meeting_phase_get(s->p[i].m), HC_MT_IN);
        assert_true(hc_meeting_send_epoch(s->p[i].m) > 0);
        assert_string_not_equal(hc_meeting_code(s->p[i].m), code);
        assert_string_equal(hc_meeting_code(s->p[i].m), hc_meeting_code(s->p[1].m));
        assert_int_equal(events_since(s, i, mark[i], HC_EV_SECURITY_ALERT, NULL), 0);
        assert_true(events_since(s, i, mark[i], HC_EV_SECURITY_CODE, NULL) >= 1);
    }
    for (int i = 2; i < 4; i++) {
        int told = 0;
        for (size_t k = mark[i]; k < s->p[i].n_ev; k++)
            if (s->p[i].ev[k].type == HC_EV_NOTICE && strstr(s->p[i].ev[k].text, "compare the security code")) told = 1;
        assert_true(told);
    }
    assert_int_equal(speak(s, 3, "new leader"), 2);
    sim_free(s);
}

/* Someone who was not in the meeting re-creates its id first (its own, validly signed resume
 * statement): every returning member says so and leaves; nobody merges into it. */
static void test_resume_by_a_stranger_is_an_alert(void **st) {
    (void)st;
    sim *s = meeting_of(3, NULL);
    int back[SIM_MAX] = {0, 1, 1};
    hc_meeting_resume fake;
    assert_int_equal(hc_meeting_resume_export(s->p[1].m, &fake), 0);
    fake.was_leader = 1;
    sim_relay_restart(s, back, NULL);
    hc_meeting_config mc = sim_default_cfg();
    mc.resume = &fake;
    int mallory = sim_add(s, "mallory", 0, NULL, &mc, NULL);
    sim_run(s, 3000, 10);
    assert_true(hc_meeting_is_leader(s->p[mallory].m));
    for (int i = 1; i < 3; i++) {
        assert_int_equal(hc_meeting_phase_get(s->p[i].m), HC_MT_LEFT);
        assert_int_equal(hc_meeting_exit_status(s->p[i].m), HC_EXIT_SECURITY);
        assert_int_equal(sim_count(s, i, HC_EV_SECURITY_ALERT, "resume_mismatch"), 1);
        assert_int_equal(hc_meeting_send_epoch(s->p[i].m), 0);
    }
    sim_free(s);
    hc_meeting_resume_free(&fake);
}

/* A relay that makes up a meeting under the id we come back to (--attack rehost): an alert. */
static void test_resume_into_a_made_up_meeting_is_an_alert(void **st) {
    (void)st;
    sim *s = meeting_of(3, NULL);
    hc_relay_config rc;
    hc_relay_config_defaults(&rc);
    rc.attack = HC_ATTACK_REHOST;
    sim_relay_restart(s, all_back, &rc);
    sim_run(s, 3000, 10);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(hc_meeting_phase_get(s->p[i].m), HC_MT_LEFT);
        assert_int_equal(hc_meeting_exit_status(s->p[i].m), HC_EXIT_SECURITY);
        assert_int_equal(sim_count(s, i, HC_EV_SECURITY_ALERT, "resume_mismatch"), 1);
    }
    sim_free(s);
}

/* A locked meeting stays locked across a resume: its members come back, a stranger does not. */
static void test_resume_keeps_the_lock(void **st) {
    (void)st;
    sim *s = meeting_of(3, NULL);
    hc_command lock = {.type = HC_CMD_LOCK};
    assert_int_equal(hc_meeting_command(s->p[0].m, &lock, s->now), 0);
    sim_run(s, 500, 10);
    sim_relay_restart(s, all_back, NULL);
    sim_run(s, 2000, 10);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(hc_meeting_phase_get(s->p[i].m), HC_MT_IN);
        assert_true(hc_meeting_locked(s->p[i].m));
        assert_true(hc_meeting_send_epoch(s->p[i].m) > 0);
    }
    int x = sim_add(s, "stranger", 0, sim_meeting_id(s, 0), NULL, NULL);
    sim_run(s, 1000, 10);
    assert_int_equal(hc_meeting_phase_get(s->p[x].m), HC_MT_LEFT);
    assert_int_equal(hc_meeting_exit_status(s->p[x].m), HC_EXIT_REMOVED);
    sim_free(s);
}

/* A stalled relay (SIGSTOP) loses nothing: what it would have sent arrives once it runs again,
 * in order, as over TCP. */
static int stall_on;
static struct held_frame { int who; size_t len; uint8_t data[HC_FRAME_MAX_DEFAULT + 8]; } *stall_held;
static size_t n_stall_held;
static int hold_all_to_clients(sim *s, int who, uint8_t *frame, size_t *len, void *arg) {
    (void)s; (void)arg;
    if (!stall_on) return 1;
    if (n_stall_held < 4096 && *len <= sizeof stall_held[0].data) {
        stall_held[n_stall_held].who = who;
        stall_held[n_stall_held].len = *len;
        memcpy(stall_held[n_stall_held++].data, frame, *len);
    }
    return 0;
}
static void stall_release(sim *s) {
    stall_on = 0;
    for (size_t k = 0; k < n_stall_held; k++) sim_enqueue(s, 0, 0, stall_held[k].who, stall_held[k].data, stall_held[k].len);
    n_stall_held = 0;
}

/* A relay that stalls past the miss limit and comes back: members pause sending (nothing sent
 * under a roster older than the limit) and carry on when the heartbeats arrive, without leaving
 * or an alert. A stall longer than stall_ms still ends with a connectivity failure. */
static void test_stall_pauses_then_resumes(void **st) {
    (void)st;
    hc_meeting_config c = sim_default_cfg();
    c.stall_ms = 8000;
    sim *s = meeting_of(3, &c);
    stall_held = calloc(4096, sizeof *stall_held);
    s->on_to_client = hold_all_to_clients;
    stall_on = 1;
    sim_run(s, 10500, 10);            /* 5 x 2 s without a heartbeat */
    for (int i = 1; i < 3; i++) {
        assert_int_equal(hc_meeting_phase_get(s->p[i].m), HC_MT_IN);
        assert_true(hc_meeting_stalled(s->p[i].m));
        assert_int_equal(sim_count(s, i, HC_EV_RECONNECTING, NULL), 1);
        assert_int_equal(hc_meeting_send_audio(s->p[i].m, (const uint8_t *)"x", 1, 0x80, s->now), -1);
    }
    stall_release(s);
    sim_run(s, 2500, 10);
    for (int i = 1; i < 3; i++) {
        assert_false(hc_meeting_stalled(s->p[i].m));
        assert_int_equal(sim_count(s, i, HC_EV_RECONNECTED, NULL), 1);
        assert_int_equal(sim_count(s, i, HC_EV_HEARTBEAT_TIMEOUT, NULL), 0);
        assert_int_equal(sim_count(s, i, HC_EV_SECURITY_ALERT, NULL), 0);
    }
    assert_int_equal(speak(s, 1, "still here"), 2);
    stall_on = 1;
    sim_run(s, 10500 + 8000 + 500, 10);
    for (int i = 1; i < 3; i++) {
        assert_int_equal(hc_meeting_phase_get(s->p[i].m), HC_MT_LEFT);
        assert_int_equal(hc_meeting_exit_status(s->p[i].m), HC_EXIT_RELAY);
        assert_int_equal(sim_count(s, i, HC_EV_HEARTBEAT_TIMEOUT, NULL), 1);
    }
    stall_on = 0;
    n_stall_held = 0;
    free(stall_held);
    sim_free(s);
}

static int forge_heartbeats(sim *s, int who, uint8_t *frame, size_t *len, void *arg) {
    (void)s; (void)arg;
    if (who == 1 && *len > 5 && frame[5] == HC_MSG_HEARTBEAT) frame[*len - 1] ^= 1;   /* the signature */
    return 1;
}

/* Heartbeats that arrive and fail the checks until the limit: someone hides the real ones. */
static void test_rejected_heartbeats_until_timeout_is_security(void **st) {
    (void)st;
    sim *s = meeting_of(2, NULL);
    s->on_to_client = forge_heartbeats;
    sim_run(s, 12000, 10);
    assert_int_equal(hc_meeting_phase_get(s->p[1].m), HC_MT_LEFT);
    assert_true(sim_count(s, 1, HC_EV_SECURITY_ALERT, "heartbeat_forged") >= 1);
    assert_int_equal(hc_meeting_exit_status(s->p[1].m), HC_EXIT_SECURITY);
    for (size_t k = 0; k < s->p[1].n_ev; k++)
        if (s->p[1].ev[k].type == HC_EV_HEARTBEAT_TIMEOUT) assert_string_equal(s->p[1].ev[k].reason, "security");
    sim_free(s);
}

/* A leader that goes silent (frozen process, closed lid) with the connection still open: the
 * relay drops it, the next member leads and rekeys, and nobody times out (5 x 2 s). */
static void test_silent_leader_is_replaced(void **st) {
    (void)st;
    sim *s = meeting_of(4, NULL);
    uint32_t e0 = hc_meeting_send_epoch(s->p[1].m);
    hc_meeting *frozen = s->p[0].m;
    s->p[0].m = NULL;                       /* not ticked, hears nothing, says nothing */
    sim_run(s, 14000, 10);
    for (int i = 1; i < 4; i++) {
        assert_int_equal(hc_meeting_phase_get(s->p[i].m), HC_MT_IN);
        assert_int_equal(hc_meeting_leader_index(s->p[i].m), 2);
        assert_int_equal(sim_count(s, i, HC_EV_HEARTBEAT_TIMEOUT, NULL), 0);
        assert_int_equal(sim_count(s, i, HC_EV_SECURITY_ALERT, NULL), 0);
        assert_int_equal(sim_count(s, i, HC_EV_LEADER_CHANGED, NULL), 1);
        assert_string_equal(hc_meeting_code(s->p[i].m), hc_meeting_code(s->p[1].m));
    }
    assert_true(hc_meeting_send_epoch(s->p[1].m) > e0);
    assert_all_sending(s, 4, hc_meeting_send_epoch(s->p[1].m));
    const hc_relay_stats *rs = hc_relay_get_stats(s->relay);
    assert_int_equal(rs->leader_silent, 1);
    /* media flows under the new key */
    uint64_t rx = s->p[3].media_rx;
    hc_meeting_send_audio(s->p[2].m, (const uint8_t *)"hello", 5, 0x80, s->now);
    sim_flush(s);
    assert_true(s->p[3].media_rx > rx);
    s->p[0].m = frozen;                     /* it thaws to a closed connection */
    hc_meeting_on_disconnected(frozen, "closed by the relay", s->now);
    assert_int_equal(hc_meeting_exit_status(frozen), HC_EXIT_RELAY);
    sim_free(s);
}

/* The new leader reads LEADER and the members' newest announcements (which the relay sends right
 * after it) in two reads, ticking in between, as a client on a real connection may. */
static int leader_read_split(sim *s, int who, uint8_t *frame, size_t *len, void *arg) {
    int *state = arg;   /* [0]: the slot that becomes leader; [1]: LEADER seen; [2]: ticks done */
    if (who != state[0] || *len < 6) return 1;
    if (frame[5] == HC_MSG_LEADER) {
        state[1] = 1;
    } else if (state[1] && frame[5] == HC_MSG_ANNOUNCE) {
        state[1] = 0;
        state[2]++;
        hc_meeting_tick(s->p[who].m, s->now);
    }
    return 1;
}

/* A silent leader is replaced while someone waits to be admitted (it joined and announced, the
 * silent leader never let it in). The new leader admits it, but keys no one before it holds the
 * members' newest liveness nonces, which the relay sends right after LEADER: their first ones,
 * all it held as a member, are long out of their window (rotations go to the leader only). Keyed
 * at once, its boxes were refused as stale_keybox and everyone waited for the next key. */
static void test_new_leader_waits_for_newest_nonces(void **st) {
    (void)st;
    sim *s = meeting_of(4, NULL);
    sim_run(s, 8000, 10);                   /* everyone's first nonce is out of its window */
    hc_meeting *frozen = s->p[0].m;
    s->p[0].m = NULL;                       /* the leader: not ticked, hears nothing, says nothing */
    sim_run(s, 1000, 10);
    int j = sim_add(s, "late", 0, sim_meeting_id(s, 1), NULL, NULL);
    int split[3] = {1, 0, 0};
    s->on_to_client = leader_read_split;
    s->arg = split;
    sim_run(s, 14000, 10);
    s->on_to_client = NULL;
    assert_int_equal(split[2], 1);           /* the read was split once */
    for (int i = 1; i < 4; i++) {
        assert_int_equal(hc_meeting_leader_index(s->p[i].m), 2);
        assert_int_equal(sim_count(s, i, HC_EV_SECURITY_ALERT, NULL), 0);
    }
    assert_int_equal(sim_count(s, j, HC_EV_SECURITY_ALERT, NULL), 0);
    assert_int_equal(hc_meeting_phase_get(s->p[j].m), HC_MT_IN);
    assert_int_equal(hc_meeting_roster_size(s->p[1].m), 4);
    assert_all_sending(s, 5, hc_meeting_send_epoch(s->p[1].m));
    s->p[0].m = frozen;
    hc_meeting_on_disconnected(frozen, "closed by the relay", s->now);
    sim_free(s);
}

/* Holds back the announcements (the members' newest nonces) that reach slot `who` after LEADER,
 * as a busy relay or cluster bus may: they come in a batch when the test lets them go. */
typedef struct {
    int who, armed, n;
    size_t len[32];
    uint8_t f[32][1024];
} held_announces;
static int hold_announces(sim *s, int who, uint8_t *frame, size_t *len, void *arg) {
    (void)s;
    held_announces *h = arg;
    if (who != h->who || *len < 6) return 1;
    if (frame[5] == HC_MSG_LEADER) h->armed = 1;
    if (!h->armed || frame[5] != HC_MSG_ANNOUNCE || h->n == 32 || *len > sizeof h->f[0]) return 1;
    memcpy(h->f[h->n], frame, *len);
    h->len[h->n++] = *len;
    return 0;
}

/* The leader leaves and the newest nonces reach its successor 600 ms after LEADER, later than
 * join_batch_ms (a cluster bus under a 900-member join storm). The successor keys no one until
 * they are there: sealed at join_batch_ms with the first nonces it held as a member, its boxes
 * were refused as stale_keybox by every member (seen with the cluster loadgen). */
static void test_new_leader_waits_for_late_nonces(void **st) {
    (void)st;
    sim *s = meeting_of(4, NULL);
    sim_run(s, 8000, 10);                   /* everyone's first nonce is out of its window */
    static held_announces h;
    memset(&h, 0, sizeof h);
    h.who = 1;
    s->on_to_client = hold_announces;
    s->arg = &h;
    hc_command l = {.type = HC_CMD_LEAVE};
    hc_meeting_command(s->p[0].m, &l, s->now);
    sim_run(s, 600, 10);
    s->on_to_client = NULL;
    assert_true(h.armed);
    assert_true(h.n >= 2);                  /* the other two members' newest nonces were held */
    assert_true(hc_meeting_is_leader(s->p[1].m));
    for (int i = 0; i < h.n; i++) sim_enqueue(s, 0, 0, 1, h.f[i], h.len[i]);
    sim_run(s, 3000, 10);
    for (int i = 1; i < 4; i++) {
        assert_int_equal(hc_meeting_leader_index(s->p[i].m), hc_meeting_self_index(s->p[1].m));
        assert_int_equal(sim_count(s, i, HC_EV_SECURITY_ALERT, NULL), 0);
        assert_int_equal(hc_meeting_phase_get(s->p[i].m), HC_MT_IN);
        assert_int_equal(hc_meeting_send_epoch(s->p[i].m), hc_meeting_send_epoch(s->p[1].m));
    }
    sim_free(s);
}

/* A frozen member (not the leader) is removed by the relay after its idle timeout (15 s, three of
 * the PINGs every client sends), and the leader rekeys it out: it held the key for 60 s before. */
static void test_silent_member_is_rekeyed_out(void **st) {
    (void)st;
    sim *s = meeting_of(3, NULL);
    uint32_t e0 = hc_meeting_send_epoch(s->p[0].m);
    hc_meeting *frozen = s->p[2].m;
    s->p[2].m = NULL;
    sim_run(s, 12500, 10);                                    /* 14 s since it was last heard */
    assert_int_equal(hc_meeting_send_epoch(s->p[0].m), e0);   /* not before the idle timeout */
    sim_run(s, 2500, 10);
    assert_true(hc_meeting_send_epoch(s->p[0].m) > e0);
    assert_all_sending(s, 2, hc_meeting_send_epoch(s->p[0].m));
    assert_int_equal(sim_count(s, 1, HC_EV_SECURITY_ALERT, NULL), 0);
    s->p[2].m = frozen;
    hc_meeting_on_disconnected(frozen, "closed by the relay", s->now);
    sim_free(s);
}

/* A connection that JOINs and never announces is a joiner the UI shows as joining, not an
 * attack: no alert anywhere, even long after the grace period. */
static void test_silent_joiner_is_not_an_alert(void **st) {
    (void)st;
    sim *s = meeting_of(3, NULL);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(0x7f0000c8);
    hc_relay_on_connect(s->relay, 9999, (const struct sockaddr *)&a, s->now);
    hc_msg j;
    hc_msg_init(&j, HC_MSG_JOIN);
    snprintf(j.meeting_id, sizeof j.meeting_id, "%s", sim_meeting_id(s, 0));
    snprintf(j.name, sizeof j.name, "quiet");
    uint8_t f[256];
    size_t n = hc_msg_encode(&j, f, sizeof f);
    hc_relay_on_bytes(s->relay, 9999, f, n, s->now);
    sim_flush(s);
    for (int t = 0; t < 12; t++) {          /* it pings, as a live client would */
        hc_msg p;
        hc_msg_init(&p, HC_MSG_PING);
        n = hc_msg_encode(&p, f, sizeof f);
        hc_relay_on_bytes(s->relay, 9999, f, n, s->now);
        sim_run(s, 1000, 10);
    }
    for (int i = 0; i < 3; i++) {
        assert_int_equal(sim_count(s, i, HC_EV_SECURITY_ALERT, NULL), 0);
        const sim_event *last = NULL;
        for (size_t k = 0; k < s->p[i].n_ev; k++)
            if (s->p[i].ev[k].type == HC_EV_JOINING) last = &s->p[i].ev[k];
        assert_non_null(last);
        assert_int_equal(last->members, 1);
    }
    hc_relay_on_disconnect(s->relay, 9999, s->now);
    sim_run(s, 200, 10);
    for (int i = 0; i < 3; i++) {
        const sim_event *last = NULL;
        for (size_t k = 0; k < s->p[i].n_ev; k++)
            if (s->p[i].ev[k].type == HC_EV_JOINING) last = &s->p[i].ev[k];
        assert_int_equal(last->members, 0);
    }
    sim_free(s);
}

/* ---- roster: own entry ---- */

typedef struct {
    hc_identity impostor;
    int done;
} swap_ctx;

/* Replaces member 1's first announcement with one made (and validly signed) by an impostor, and
 * the identity key its JOIN names with the impostor's, as a relay substituting the key would (the
 * honest relay refuses a first announcement of another key than the JOIN named). */
static int substitute_announce(sim *s, int who, uint8_t *frame, size_t *len, void *arg) {
    swap_ctx *c = arg;
    if (who != 1 || c->done || *len < 6) return 1;
    hc_msg a;
    if (frame[5] == HC_MSG_JOIN && hc_msg_decode(&a, frame + 4, *len - 4, NULL) == 0 && a.flag) {
        memcpy(a.ivk, c->impostor.ivk, 32);
        *len = hc_msg_encode(&a, frame, *len);
        return 1;
    }
    if (frame[5] != HC_MSG_ANNOUNCE) return 1;
    if (hc_msg_decode(&a, frame + 4, *len - 4, NULL) < 0) return 1;
    hc_binding b;
    if (hc_binding_decode(&b, a.data, a.data_len) < 0) return 1;
    c->done = 1;
    memcpy(b.ivk, c->impostor.ivk, 32);
    hc_ephemeral e;
    hc_ephemeral_generate(&e);
    memcpy(b.pk, e.pk, 32);
    uint8_t enc[HC_BINDING_MAX];
    size_t el = hc_binding_encode(&b, enc, sizeof enc);
    a.data = enc;
    a.data_len = el;
    hc_binding_sign(a.sig, enc, el, c->impostor.isk);
    *len = hc_msg_encode(&a, frame, 4096);
    (void)s;
    return 1;
}

static void test_own_entry_catches_substituted_key(void **st) {
    (void)st;
    swap_ctx c = {0};
    hc_identity_generate(&c.impostor);
    sim *s = sim_new(NULL);
    sim_add(s, "host", 1, NULL, NULL, NULL);
    sim_run(s, 100, 10);
    s->on_to_relay = substitute_announce;
    s->arg = &c;
    sim_add(s, "b", 0, sim_meeting_id(s, 0), NULL, NULL);
    sim_run(s, 2000, 10);
    assert_int_equal(c.done, 1);
    assert_int_equal(sim_count(s, 1, HC_EV_SECURITY_ALERT, "own_entry_substituted"), 1);
    assert_int_equal(hc_meeting_phase_get(s->p[1].m), HC_MT_LEFT);
    assert_int_equal(hc_meeting_exit_status(s->p[1].m), HC_EXIT_SECURITY);
    hc_identity_wipe(&c.impostor);
    sim_free(s);
}

/* ---- lock, kick, admission ---- */

static int drop_lock_to_relay(sim *s, int who, uint8_t *frame, size_t *len, void *arg) {
    (void)s; (void)who; (void)arg;
    return !(*len > 5 && frame[5] == HC_MSG_LOCK);
}

static void test_locked_meeting_admits_only_listed_keys(void **st) {
    (void)st;
    sim *s = meeting_of(2, NULL);
    hc_identity b_id = s->p[1].id;
    hc_command lock = {.type = HC_CMD_LOCK};
    assert_int_equal(hc_meeting_command(s->p[0].m, &lock, s->now), 0);
    sim_run(s, 500, 10);
    assert_int_equal(hc_meeting_locked(s->p[1].m), 1);
    /* an honest relay refuses a stranger */
    int x = sim_add(s, "stranger", 0, sim_meeting_id(s, 0), NULL, NULL);
    sim_run(s, 500, 10);
    assert_int_equal(hc_meeting_phase_get(s->p[x].m), HC_MT_LEFT);
    assert_string_equal(hc_meeting_left_reason(s->p[x].m), "locked");
    /* a relay that ignores the lock: the leader itself refuses the stranger (no key, denied) */
    hc_command unlock = {.type = HC_CMD_UNLOCK};
    hc_meeting_command(s->p[0].m, &unlock, s->now);
    sim_run(s, 200, 10);
    s->on_to_relay = drop_lock_to_relay;
    hc_meeting_command(s->p[0].m, &lock, s->now);
    sim_run(s, 200, 10);
    int y = sim_add(s, "stranger2", 0, sim_meeting_id(s, 0), NULL, NULL);
    sim_run(s, 1500, 10);
    assert_int_equal(hc_meeting_highest_epoch(s->p[y].m), 0);
    assert_int_equal(hc_meeting_phase_get(s->p[y].m), HC_MT_LEFT);
    assert_string_equal(hc_meeting_left_reason(s->p[y].m), "denied");
    /* a listed key may come back: b drops and rejoins with the same identity */
    sim_drop(s, 1);
    sim_run(s, 1500, 10);
    int b2 = sim_add(s, "b", 0, sim_meeting_id(s, 0), NULL, &b_id);
    sim_run(s, 1500, 10);
    assert_int_equal(hc_meeting_phase_get(s->p[b2].m), HC_MT_IN);
    assert_true(hc_meeting_send_epoch(s->p[b2].m) > 0);
    assert_int_equal(speak(s, b2, "back"), 1);
    sim_free(s);
}

static void test_kick_removes_and_rotates(void **st) {
    (void)st;
    sim *s = meeting_of(3, NULL);
    uint8_t mks[16][32];
    uint32_t ep[16];
    size_t n = harvest_mks(s, 2, mks, ep, 0, 16);
    uint32_t before = hc_meeting_send_epoch(s->p[0].m);
    hc_command k = {.type = HC_CMD_KICK, .index = hc_meeting_self_index(s->p[2].m)};
    assert_int_equal(hc_meeting_command(s->p[0].m, &k, s->now), 0);
    sim_run(s, 1500, 10);
    assert_int_equal(hc_meeting_phase_get(s->p[2].m), HC_MT_LEFT);
    assert_string_equal(hc_meeting_left_reason(s->p[2].m), "kicked");
    assert_int_equal(hc_meeting_exit_status(s->p[2].m), HC_EXIT_REMOVED);
    assert_true(hc_meeting_send_epoch(s->p[0].m) > before);
    assert_int_equal(hc_meeting_roster_size(s->p[1].m), 2);
    uint8_t pkt[HC_MEDIA_MAX];
    size_t len = grab_packet(s, 1, pkt);
    assert_false(opens_with_any(mks, ep, n, s->p[0].m->uuid, sim_meeting_id(s, 0), pkt, len));
    assert_int_equal(sim_count(s, 1, HC_EV_PARTICIPANT_LEFT, NULL), 1);
    sim_free(s);
}

static void test_admission_ask(void **st) {
    (void)st;
    hc_meeting_config c = sim_default_cfg();
    c.admit = HC_ADMIT_ASK;
    sim *s = sim_new(NULL);
    sim_add(s, "host", 1, NULL, &c, NULL);
    sim_run(s, 100, 10);
    int b = sim_add(s, "bob", 0, sim_meeting_id(s, 0), NULL, NULL);
    sim_run(s, 1500, 10);
    assert_int_equal(sim_count(s, 0, HC_EV_ADMISSION_REQUEST, NULL), 1);
    assert_string_equal(sim_last(s, 0, HC_EV_ADMISSION_REQUEST)->name, "bob");
    assert_int_equal(hc_meeting_highest_epoch(s->p[b].m), 0);       /* waiting: no key */
    assert_int_equal(hc_meeting_send_audio(s->p[b].m, (const uint8_t *)"x", 1, 0x80, s->now), -1);
    assert_int_equal(sim_count(s, b, HC_EV_SECURITY_ALERT, NULL), 0); /* and no false alarm */
    hc_command a = {.type = HC_CMD_ADMIT, .index = hc_meeting_self_index(s->p[b].m)};
    assert_int_equal(hc_meeting_command(s->p[0].m, &a, s->now), 0);
    sim_run(s, 1500, 10);
    assert_true(hc_meeting_send_epoch(s->p[b].m) > 0);
    assert_int_equal(speak(s, b, "thanks"), 1);
    int e = sim_add(s, "eve", 0, sim_meeting_id(s, 0), NULL, NULL);
    sim_run(s, 500, 10);
    hc_command d = {.type = HC_CMD_DENY, .index = hc_meeting_self_index(s->p[e].m)};
    assert_int_equal(hc_meeting_command(s->p[0].m, &d, s->now), 0);
    sim_run(s, 500, 10);
    assert_string_equal(hc_meeting_left_reason(s->p[e].m), "denied");
    assert_int_equal(hc_meeting_highest_epoch(s->p[e].m), 0);
    sim_free(s);
}

/* ---- leader change ---- */

static void test_leader_change(void **st) {
    (void)st;
    sim *s = meeting_of(3, NULL);
    char old_code[64];
    snprintf(old_code, sizeof old_code, "%s", hc_meeting_code(s->p[1].m));
    uint32_t before = hc_meeting_send_epoch(s->p[1].m);
    hc_command l = {.type = HC_CMD_LEAVE};
    hc_meeting_command(s->p[0].m, &l, s->now);
    sim_run(s, 2000, 10);
    assert_true(hc_meeting_is_leader(s->p[1].m));
    assert_int_equal(hc_meeting_leader_index(s->p[2].m), hc_meeting_self_index(s->p[1].m));
    for (int i = 1; i < 3; i++) {
        assert_int_equal(sim_count(s, i, HC_EV_LEADER_CHANGED, NULL), 1);
        assert_string_not_equal(hc_meeting_code(s->p[i].m), old_code);
        assert_true(hc_meeting_send_epoch(s->p[i].m) > before);
        assert_int_equal(sim_count(s, i, HC_EV_SECURITY_ALERT, NULL), 0);
    }
    assert_string_equal(hc_meeting_code(s->p[1].m), hc_meeting_code(s->p[2].m));
    assert_int_equal(speak(s, 2, "new boss"), 1);
    assert_int_equal(speak(s, 1, "hi"), 1);
    /* heartbeats from the new leader keep c in the meeting */
    sim_run(s, 15000, 10);
    assert_int_equal(hc_meeting_phase_get(s->p[2].m), HC_MT_IN);
    sim_free(s);
}

/* ---- verify ---- */

static int remember_calls;
static uint8_t remember_ivk[32];
static char remember_name[80];
static int remember_full_disk(sim *s, int who, const uint8_t ivk[32], const char *name, char *err, size_t errlen) {
    (void)s; (void)who;
    remember_calls++;
    memcpy(remember_ivk, ivk, 32);
    snprintf(remember_name, sizeof remember_name, "%s", name);
    snprintf(err, errlen, "could not save the verified leader to /h/verified: No space left on device");
    return -1;
}

/* A verify whose save failed says so and leaves the code not verified (state, events, and so
 * the screen): the next meeting with this leader would not know it either. */
static void test_verify_that_could_not_be_saved(void **st) {
    (void)st;
    sim *s = meeting_of(2, NULL);
    s->remember = remember_full_disk;
    size_t codes = sim_count(s, 1, HC_EV_SECURITY_CODE, NULL);
    hc_command v = {.type = HC_CMD_VERIFY, .text = hc_meeting_code(s->p[1].m)};
    assert_int_equal(hc_meeting_command(s->p[1].m, &v, s->now), -1);
    sim_flush(s);
    assert_int_equal(remember_calls, 1);
    assert_memory_equal(remember_ivk, s->p[0].id.ivk, 32);
    assert_string_equal(remember_name, "p0");
    assert_int_equal(hc_meeting_code_verified(s->p[1].m), 0);
    assert_int_equal(sim_count(s, 1, HC_EV_VERIFIED, NULL), 0);
    assert_int_equal(sim_count(s, 1, HC_EV_SECURITY_CODE, NULL), codes);
    const sim_event *e = sim_last(s, 1, HC_EV_ERROR);
    assert_non_null(e);
    assert_string_equal(e->code, "not_saved");
    if (!strstr(e->text, "No space left on device") || !strstr(e->text, "not marked as verified"))
        fail_msg("the error does not say why and what it means: %s", e->text);

    /* once it can be saved, the same command verifies */
    s->remember = NULL;
    assert_int_equal(hc_meeting_command(s->p[1].m, &v, s->now), 0);
    sim_flush(s);
    assert_int_equal(hc_meeting_code_verified(s->p[1].m), 1);
    assert_int_equal(sim_count(s, 1, HC_EV_VERIFIED, NULL), 1);
    assert_int_equal(sim_last(s, 1, HC_EV_SECURITY_CODE)->flag, 1);
    sim_free(s);
}

/* Issue 11 point 7: verify carries the code the person compared and is refused unless it is the
 * current leader's; a code read before a leader change does not verify the new leader. */
static void test_verify_is_bound_to_the_code(void **st) {
    (void)st;
    sim *s = meeting_of(3, NULL);
    char code[64], digits[64];
    snprintf(code, sizeof code, "%s", hc_meeting_code(s->p[2].m));
    size_t o = 0;
    for (const char *c = code; *c; c++)
        if (*c != ' ') digits[o++] = *c;
    digits[o] = 0;
    assert_int_equal(strlen(digits), 40);
    char wrong[64];
    snprintf(wrong, sizeof wrong, "%s", code);
    wrong[0] = wrong[0] == '9' ? '0' : (char)(wrong[0] + 1);
    const char *refused[] = {NULL, "", wrong, "12345", "31415 92653 58979 32384 62643 38327 95028 84197"};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        hc_command v = {.type = HC_CMD_VERIFY, .text = refused[i]};
        assert_int_equal(hc_meeting_command(s->p[2].m, &v, s->now), -1);
        const sim_event *e = sim_last(s, 2, HC_EV_ERROR);
        assert_non_null(e);
        assert_string_equal(e->code, "code_mismatch");
        assert_int_equal(hc_meeting_code_verified(s->p[2].m), 0);
        assert_int_equal(sim_count(s, 2, HC_EV_VERIFIED, NULL), 0);
    }
    /* the leader leaves: the code changes, and the old one no longer verifies anything */
    hc_command leave = {.type = HC_CMD_LEAVE};
    hc_meeting_command(s->p[0].m, &leave, s->now);
    sim_run(s, 3000, 10);
    assert_string_not_equal(hc_meeting_code(s->p[2].m), code);
    hc_command old = {.type = HC_CMD_VERIFY, .text = code};
    assert_int_equal(hc_meeting_command(s->p[2].m, &old, s->now), -1);
    assert_string_equal(sim_last(s, 2, HC_EV_ERROR)->code, "code_mismatch");
    assert_int_equal(hc_meeting_code_verified(s->p[2].m), 0);
    /* the current code, with or without its spaces, verifies */
    o = 0;
    for (const char *c = hc_meeting_code(s->p[2].m); *c; c++)
        if (*c != ' ') digits[o++] = *c;
    digits[o] = 0;
    hc_command ok = {.type = HC_CMD_VERIFY, .text = digits};
    assert_int_equal(hc_meeting_command(s->p[2].m, &ok, s->now), 0);
    assert_int_equal(hc_meeting_code_verified(s->p[2].m), 1);
    assert_int_equal(sim_count(s, 2, HC_EV_VERIFIED, NULL), 1);
    sim_free(s);
}

static void test_new_leader_not_in_roster_refused(void **st) {
    (void)st;
    sim *s = meeting_of(3, NULL);
    hc_msg lm;
    hc_msg_init(&lm, HC_MSG_LEADER);
    lm.index = 999;
    uint8_t f[64];
    size_t fl = hc_msg_encode(&lm, f, sizeof f);
    deliver(s, 2, f, fl);
    assert_int_equal(sim_count(s, 2, HC_EV_SECURITY_ALERT, "leader_not_in_roster"), 1);
    assert_int_equal(hc_meeting_phase_get(s->p[2].m), HC_MT_LEFT);
    assert_int_equal(hc_meeting_exit_status(s->p[2].m), HC_EXIT_SECURITY);
    sim_free(s);
}

/* ---- chat, mute, switch-over, old keys ---- */

static void test_chat_reaches_everyone_else_once(void **st) {
    (void)st;
    sim *s = meeting_of(4, NULL);
    hc_command c = {.type = HC_CMD_CHAT, .text = "hello everyone"};
    assert_int_equal(hc_meeting_command(s->p[2].m, &c, s->now), 0);
    sim_run(s, 100, 10);
    for (int i = 0; i < 4; i++) {
        size_t n = sim_count(s, i, HC_EV_CHAT, NULL);
        assert_int_equal(n, i == 2 ? 0 : 1);
        if (i != 2) {
            assert_string_equal(sim_last(s, i, HC_EV_CHAT)->text, "hello everyone");
            assert_string_equal(sim_last(s, i, HC_EV_CHAT)->name, "p2");
        }
    }
    hc_command m = {.type = HC_CMD_MUTE};
    hc_meeting_command(s->p[3].m, &m, s->now);
    sim_run(s, 100, 10);
    assert_int_equal(sim_last(s, 0, HC_EV_MUTE_CHANGED)->flag, 1);
    assert_int_equal(hc_meeting_send_audio(s->p[3].m, (const uint8_t *)"x", 1, 0, s->now), -1);
    sim_free(s);
}

static void test_switch_is_ack_driven_and_old_keys_expire(void **st) {
    (void)st;
    sim *s = meeting_of(2, NULL);
    uint32_t e0 = hc_meeting_send_epoch(s->p[1].m);
    uint8_t pkt[HC_MEDIA_MAX];
    size_t len = grab_packet(s, 0, pkt);   /* a frame under the old epoch, "in flight" */
    int j = sim_add(s, "c", 0, sim_meeting_id(s, 0), NULL, NULL);
    /* acks come back within a few ms on this fake network: the switch happens long before 1 s */
    sim_run(s, 260, 5);
    assert_int_equal(hc_meeting_send_epoch(s->p[0].m), e0 + 1);
    assert_int_equal(hc_meeting_send_epoch(s->p[j].m), e0 + 1);
    /* 9 s later the old frame still opens; after 11 s its key is gone */
    sim_run(s, 9000, 10);
    size_t rx = s->p[1].media_rx;
    uint8_t copy[HC_MEDIA_MAX];
    memcpy(copy, pkt, len);
    hc_meeting_on_media(s->p[1].m, copy, len, s->now);
    assert_int_equal(s->p[1].media_rx, rx);        /* duplicate of a frame it already opened */
    assert_true(hc_meeting_debug_mk(s->p[1].m, e0, copy) == 0);
    sim_run(s, 2000, 10);
    assert_int_equal(hc_meeting_debug_mk(s->p[1].m, e0, copy), -1);
    sim_free(s);
}

/* ---- relay attack modes, in process ---- */

static sim *attacked_meeting(hc_attack a, int n, const hc_meeting_config *cfg) {
    hc_relay_config rc;
    hc_relay_config_defaults(&rc);
    rc.attack = a;
    sim *s = sim_new(&rc);
    sim_add(s, "p0", 1, NULL, cfg, NULL);
    sim_run(s, 100, 10);
    for (int i = 1; i < n; i++) sim_add(s, "pj", 0, sim_meeting_id(s, 0), cfg, NULL);
    return s;
}

static void test_attack_swap_key_and_rename(void **st) {
    (void)st;
    hc_attack modes[2] = {HC_ATTACK_SWAP_KEY, HC_ATTACK_RENAME};
    for (int k = 0; k < 2; k++) {
        sim *s = attacked_meeting(modes[k], 3, NULL);
        sim_run(s, 3000, 10);
        /* the leader and the other member both see the broken signatures */
        assert_true(sim_count(s, 0, HC_EV_SECURITY_ALERT, "bad_signature") >= 1);
        assert_true(sim_count(s, 1, HC_EV_SECURITY_ALERT, "bad_signature") >= 1);
        assert_int_equal(hc_meeting_highest_epoch(s->p[1].m), 0);   /* never admitted */
        sim_free(s);
    }
}

static void test_attack_heartbeats(void **st) {
    (void)st;
    sim *s = attacked_meeting(HC_ATTACK_REPLAY_HEARTBEAT, 2, NULL);
    sim_run(s, 8000, 10);
    assert_true(sim_count(s, 1, HC_EV_SECURITY_ALERT, "heartbeat_replay") >= 1);
    assert_int_equal(hc_meeting_phase_get(s->p[1].m), HC_MT_IN);
    sim_free(s);
    s = attacked_meeting(HC_ATTACK_DROP_HEARTBEATS, 2, NULL);
    sim_run(s, 14000, 10);
    assert_int_equal(sim_count(s, 1, HC_EV_HEARTBEAT_TIMEOUT, NULL), 1);
    assert_int_equal(hc_meeting_phase_get(s->p[1].m), HC_MT_LEFT);
    sim_free(s);
    /* lag-heartbeats: the first joiner's heartbeats come ever later; it alone notices and leaves */
    s = attacked_meeting(HC_ATTACK_LAG_HEARTBEATS, 3, NULL);
    sim_run(s, 45000, 10);
    assert_true(sim_count(s, 1, HC_EV_SECURITY_ALERT, "heartbeat_stale") >= 1);
    assert_int_equal(hc_meeting_phase_get(s->p[1].m), HC_MT_LEFT);
    assert_int_equal(hc_meeting_exit_status(s->p[1].m), HC_EXIT_SECURITY);
    assert_int_equal(hc_meeting_phase_get(s->p[2].m), HC_MT_IN);
    assert_int_equal(sim_count(s, 2, HC_EV_SECURITY_ALERT, NULL), 0);
    sim_free(s);
}

static void test_attack_keybox(void **st) {
    (void)st;
    sim *s = attacked_meeting(HC_ATTACK_WITHHOLD_KEYBOX, 2, NULL);
    sim_run(s, 7000, 10);
    assert_true(sim_count(s, 1, HC_EV_SECURITY_ALERT, "stale_keybox") >= 1);
    assert_int_equal(hc_meeting_highest_epoch(s->p[1].m), 0);
    sim_free(s);
    s = attacked_meeting(HC_ATTACK_ROLLBACK_KEY, 2, NULL);
    sim_run(s, 1500, 10);
    sim_add(s, "c", 0, sim_meeting_id(s, 0), NULL, NULL);  /* a second box for b: the first comes back */
    sim_run(s, 1500, 10);
    assert_true(sim_count(s, 1, HC_EV_SECURITY_ALERT, "key_rollback") >= 1);
    assert_int_equal(hc_meeting_send_epoch(s->p[1].m), hc_meeting_send_epoch(s->p[0].m));
    sim_free(s);
}

static void test_attack_media(void **st) {
    (void)st;
    hc_attack modes[2] = {HC_ATTACK_TAMPER_MEDIA, HC_ATTACK_REPLAY_MEDIA};
    const char *kinds[2] = {"media_auth_failed", "media_replay"};
    for (int k = 0; k < 2; k++) {
        sim *s = attacked_meeting(modes[k], 2, NULL);
        sim_run(s, 1500, 10);
        for (int i = 0; i < 40; i++) {
            char w[24];
            snprintf(w, sizeof w, "frame %d", i);
            hc_meeting_send_audio(s->p[0].m, (const uint8_t *)w, strlen(w), 0x80, s->now);
            sim_run(s, 20, 20);
        }
        assert_int_equal(sim_count(s, 1, HC_EV_SECURITY_ALERT, kinds[k]), 1);
        hc_member_info mi[4];
        size_t n = hc_meeting_members(s->p[1].m, mi, 4);
        for (size_t i = 0; i < n; i++)
            if (mi[i].index == hc_meeting_self_index(s->p[0].m)) {
                if (k == 0) assert_true(mi[i].rx.auth_fail >= 5);
                else assert_true(mi[i].rx.replay >= 5);
                assert_true(mi[i].rx.ok >= 25);
            }
        sim_free(s);
    }
}

static void test_attack_ghost_and_fake_leader(void **st) {
    (void)st;
    sim *s = attacked_meeting(HC_ATTACK_GHOST, 3, NULL);
    sim_run(s, 9000, 10);
    assert_int_equal(sim_count(s, 1, HC_EV_SECURITY_ALERT, "unlisted_member"), 1);
    assert_int_equal(sim_count(s, 2, HC_EV_SECURITY_ALERT, "unlisted_member"), 1);
    sim_free(s);

    s = attacked_meeting(HC_ATTACK_FAKE_LEADER, 3, NULL);
    sim_run(s, 9000, 10);
    /* the victim (first joiner) sees a different code; the honest member sees the unlisted victim */
    assert_true(strlen(hc_meeting_code(s->p[1].m)) > 0);
    assert_string_not_equal(hc_meeting_code(s->p[1].m), hc_meeting_code(s->p[0].m));
    assert_string_equal(hc_meeting_code(s->p[2].m), hc_meeting_code(s->p[0].m));
    assert_int_equal(sim_count(s, 2, HC_EV_SECURITY_ALERT, "unlisted_member"), 1);
    assert_int_equal(hc_meeting_phase_get(s->p[1].m), HC_MT_IN);
    sim_free(s);
}

/* ---- the relay's side of key delivery ---- */

static void last_one_leaves(sim *s, int n) {
    hc_command leave = {.type = HC_CMD_LEAVE};
    hc_meeting_command(s->p[n - 1].m, &leave, s->now);
}

static void test_rekey_egress_is_linear(void **st) {
    (void)st;
    uint64_t frames[2];
    sim_cost_of(10, last_one_leaves, &frames[0], NULL);
    sim_cost_of(40, last_one_leaves, &frames[1], NULL);
    /* a leave costs a few frames per member (left notice, roster, heartbeats, one box), not N per member */
    assert_true(frames[1] < frames[0] * 4 * 2);
    assert_true(frames[1] < 40 * 12);
}


/* ---- hostile relay: state confusion, replay, memory, floods (review fixes) ---- */

/* Encodes and delivers one relay->client message to a participant. */
static void inject(sim *s, int who, const hc_msg *msg) {
    uint8_t *f = malloc(HC_FRAME_MAX_DEFAULT + 64);
    size_t fl = hc_msg_encode(msg, f, HC_FRAME_MAX_DEFAULT + 64);
    assert_true(fl > 4);
    deliver(s, who, f, fl);
    free(f);
}

static void inject_member(sim *s, int who, uint8_t type, uint32_t index) {
    hc_msg msg;
    hc_msg_init(&msg, type);
    msg.index = index;
    if (type == HC_MSG_MEMBER_JOINED) snprintf(msg.name, sizeof msg.name, "m%u", index);
    inject(s, who, &msg);
}

static int joined_leader_zero(sim *s, int who, uint8_t *frame, size_t *len, void *arg) {
    (void)s; (void)arg;
    if (who != 1 || *len < 6 || frame[5] != HC_MSG_JOINED) return 1;
    hc_msg j;
    assert_int_equal(hc_msg_decode(&j, frame + 4, *len - 4, NULL), 0);
    uint8_t members[64 * 4];
    memcpy(members, j.members, 4u * j.n_members);
    j.members = members;
    j.leader = 0;
    assert_int_equal(hc_msg_encode(&j, frame, *len), *len);
    return 1;
}

/* A JOINED that names member 0 as leader must not leave the participant with an all-zero
 * "pairwise key with the leader" that opens a box the relay sealed with its own meeting key. */
static void test_joined_with_invalid_leader_refused(void **st) {
    (void)st;
    sim *s = sim_new(NULL);
    sim_add(s, "host", 1, NULL, NULL, NULL);
    sim_run(s, 100, 10);
    s->on_to_client = joined_leader_zero;
    sim_add(s, "b", 0, sim_meeting_id(s, 0), NULL, NULL);
    sim_run(s, 100, 10);
    s->on_to_client = NULL;
    hc_meeting *b = s->p[1].m;
    hc_box_meta meta;
    memset(&meta, 0, sizeof meta);
    snprintf(meta.meeting_id, sizeof meta.meeting_id, "%s", sim_meeting_id(s, 0));
    memcpy(meta.uuid, s->p[0].m->uuid, 16);
    meta.leader_index = 0;
    meta.recipient_index = hc_meeting_self_index(b);
    memcpy(meta.nonce, b->nonces[0], HC_NONCE_LEN);
    uint8_t menc[HC_META_MAX], box[HC_BOX_LEN], zero[HC_BOXKEY_LEN] = {0}, mk[32];
    randombytes_buf(mk, sizeof mk);
    size_t ml = hc_box_meta_encode(&meta, menc, sizeof menc);
    assert_true(ml > 0);
    assert_int_equal(hc_keybox_seal(box, zero, menc, ml, mk, 7, HC_SUITE_CHACHA), 0);
    hc_msg kb;
    hc_msg_init(&kb, HC_MSG_KEYBOX);
    kb.index = 0;
    kb.data = menc;
    kb.data_len = ml;
    kb.data2 = box;
    kb.data2_len = sizeof box;
    inject(s, 1, &kb);
    assert_int_equal(hc_meeting_highest_epoch(b), 0);     /* the relay's key was not installed */
    assert_int_equal(hc_meeting_phase_get(b), HC_MT_LEFT);
    assert_int_equal(hc_meeting_exit_status(b), HC_EXIT_RELAY);
    sim_free(s);
}

typedef struct {
    uint8_t frame[2048];
    size_t len;
} chat_tap;

static int tap_chat(sim *s, int who, uint8_t *frame, size_t *len, void *arg) {
    (void)s;
    chat_tap *t = arg;
    if (who == 1 && *len > 5 && frame[5] == HC_MSG_CHAT && *len <= sizeof t->frame) {
        memcpy(t->frame, frame, *len);
        t->len = *len;
    }
    return 1;
}

/* A relay that says a member left (and came back) must not reset that member's replay windows:
 * the member's old frames replayed afterwards are still refused. */
static void test_fake_member_left_cannot_reopen_replay(void **st) {
    (void)st;
    chat_tap t = {0};
    sim *s = meeting_of(3, NULL);
    s->on_to_client = tap_chat;
    s->arg = &t;
    hc_command c = {.type = HC_CMD_CHAT, .text = "I vote yes"};
    assert_int_equal(hc_meeting_command(s->p[2].m, &c, s->now), 0);
    sim_run(s, 50, 10);
    assert_true(t.len > 0);
    assert_int_equal(sim_count(s, 1, HC_EV_CHAT, NULL), 1);
    uint8_t pkt[HC_MEDIA_MAX];
    size_t rx0 = s->p[1].media_rx;
    size_t len = grab_packet(s, 2, pkt);
    assert_int_equal(s->p[1].media_rx, rx0 + 1);
    s->on_to_client = NULL;
    uint32_t victim = hc_meeting_self_index(s->p[2].m);
    inject_member(s, 1, HC_MSG_MEMBER_LEFT, victim);
    inject_member(s, 1, HC_MSG_MEMBER_JOINED, victim);
    hc_meeting_on_media(s->p[1].m, pkt, len, s->now);
    deliver(s, 1, t.frame, t.len);
    assert_int_equal(s->p[1].media_rx, rx0 + 1);           /* the replayed frame was not played */
    assert_int_equal(sim_count(s, 1, HC_EV_CHAT, NULL), 1); /* nor the replayed chat shown */
    sim_free(s);
}

/* The relay's news about ourselves (MEMBER_LEFT / MEMBER_JOINED with our own index) is not
 * acted on: a leader told it left does not drop itself from its own roster. */
static void test_relay_news_about_self_ignored(void **st) {
    (void)st;
    sim *s = meeting_of(3, NULL);
    uint32_t e = hc_meeting_send_epoch(s->p[0].m);
    inject_member(s, 0, HC_MSG_MEMBER_LEFT, hc_meeting_self_index(s->p[0].m));
    inject_member(s, 1, HC_MSG_MEMBER_LEFT, hc_meeting_self_index(s->p[1].m));
    sim_run(s, 1500, 10);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(hc_meeting_phase_get(s->p[i].m), HC_MT_IN);
        assert_int_equal(hc_meeting_roster_size(s->p[i].m), 3);
        assert_int_equal(hc_meeting_send_epoch(s->p[i].m), e);
    }
    assert_int_equal(speak(s, 1, "still me"), 2);
    sim_free(s);
}

/* MEMBER_JOINED spam cannot grow the member table without bound, invalid indexes are never
 * created, and members who left are evicted (a long meeting with churn stays small). */
static void test_member_table_bounded(void **st) {
    (void)st;
    sim *s = meeting_of(2, NULL);
    hc_meeting *b = s->p[1].m;
    inject_member(s, 1, HC_MSG_MEMBER_JOINED, 0);
    inject_member(s, 1, HC_MSG_MEMBER_JOINED, 70000);
    inject_member(s, 1, HC_MSG_MEMBER_JOINED, 0xFFFFFFFFu);
    assert_null(mt_find(b, 0));
    assert_null(mt_find(b, 70000));
    assert_null(mt_find(b, 0xFFFFFFFFu));
    for (uint32_t i = 0; i < 6000; i++) inject_member(s, 1, HC_MSG_MEMBER_JOINED, 1000 + i);
    assert_true(b->n_mem <= MT_MEMBERS_CAP);
    /* the relay then says they all left: the table shrinks again */
    for (uint32_t i = 0; i < 6000; i++) inject_member(s, 1, HC_MSG_MEMBER_LEFT, 1000 + i);
    sim_run(s, 100, 10);
    assert_true(b->n_mem <= 4);
    assert_int_equal(hc_meeting_phase_get(b), HC_MT_IN);
    assert_int_equal(speak(s, 1, "fine"), 1);
    sim_free(s);

    s = meeting_of(2, NULL);
    for (int k = 0; k < 40; k++) {
        int j = sim_add(s, "churn", 0, sim_meeting_id(s, 0), NULL, NULL);
        sim_run(s, 300, 10);
        assert_true(hc_meeting_send_epoch(s->p[j].m) > 0);
        hc_command l = {.type = HC_CMD_LEAVE};
        hc_meeting_command(s->p[j].m, &l, s->now);
        sim_run(s, 300, 10);
        sim_remove(s, j);
    }
    assert_true(s->p[0].m->n_mem <= 4);
    assert_true(s->p[1].m->n_mem <= 4);
    assert_int_equal(speak(s, 1, "after churn"), 1);
    for (int i = 0; i < 2; i++) assert_int_equal(sim_count(s, i, HC_EV_SECURITY_ALERT, NULL), 0);
    sim_free(s);
}

typedef struct {
    int phase;                    /* 0 pass, 1 hold, 2 drop */
    uint8_t held[16][256];
    size_t lens[16];
    size_t n;
} hb_hold;

static int hold_heartbeats(sim *s, int who, uint8_t *frame, size_t *len, void *arg) {
    (void)s;
    hb_hold *h = arg;
    if (who != 1 || *len < 6 || frame[5] != HC_MSG_HEARTBEAT || h->phase == 0) return 1;
    if (h->phase == 1 && h->n < 16 && *len <= 256) {
        memcpy(h->held[h->n], frame, *len);
        h->lens[h->n++] = *len;
    }
    return 0;
}

/* The miss limit follows the leader's signed pace, not arrival gaps: a relay that holds the
 * heartbeats back once for 8 s cannot stretch the time it may later hide them to 5 x 8 s. */
static void test_delayed_heartbeats_do_not_stretch_miss_limit(void **st) {
    (void)st;
    hb_hold h = {0};
    sim *s = meeting_of(2, NULL);
    s->on_to_client = hold_heartbeats;
    s->arg = &h;
    h.phase = 1;
    sim_run(s, 8000, 10);
    assert_true(h.n >= 3);
    h.phase = 2;
    for (size_t i = 0; i < h.n; i++) deliver(s, 1, h.held[i], h.lens[i]);
    assert_int_equal(sim_count(s, 1, HC_EV_SECURITY_ALERT, NULL), 0);  /* late, but valid */
    assert_int_equal(hc_meeting_phase_get(s->p[1].m), HC_MT_IN);
    sim_run(s, 11000, 10);                 /* 5 x 2 s after the last one accepted, plus a tick */
    assert_int_equal(sim_count(s, 1, HC_EV_HEARTBEAT_TIMEOUT, NULL), 1);
    assert_int_equal(hc_meeting_phase_get(s->p[1].m), HC_MT_LEFT);
    sim_free(s);
}


/* A member whose announcement the old leader never processed (it left first) is admitted by
 * the new leader, instead of staying keyless and being reported as unlisted by everyone. */
static void test_new_leader_admits_member_the_old_one_missed(void **st) {
    (void)st;
    sim *s = meeting_of(2, NULL);
    frame_drop d = {0, HC_MSG_ANNOUNCE};
    s->on_to_client = drop_frames;
    s->arg = &d;
    int c = sim_add(s, "late", 0, sim_meeting_id(s, 0), NULL, NULL);
    sim_run(s, 500, 10);
    assert_int_equal(hc_meeting_highest_epoch(s->p[c].m), 0);
    s->on_to_client = NULL;
    hc_command l = {.type = HC_CMD_LEAVE};
    hc_meeting_command(s->p[0].m, &l, s->now);
    sim_run(s, 2000, 10);
    assert_true(hc_meeting_is_leader(s->p[1].m));
    assert_true(hc_meeting_send_epoch(s->p[c].m) > 0);
    assert_int_equal(hc_meeting_send_epoch(s->p[c].m), hc_meeting_send_epoch(s->p[1].m));
    assert_int_equal(speak(s, c, "let in"), 1);
    sim_run(s, 9000, 10);
    for (int i = 1; i <= c; i++) {
        assert_int_equal(hc_meeting_phase_get(s->p[i].m), HC_MT_IN);
        assert_int_equal(sim_count(s, i, HC_EV_SECURITY_ALERT, NULL), 0);
    }
    sim_free(s);
}

static size_t count_notices_with(const sim *s, int i, const char *needle) {
    size_t n = 0;
    for (size_t k = 0; k < s->p[i].n_ev; k++)
        if (s->p[i].ev[k].type == HC_EV_NOTICE && strstr(s->p[i].ev[k].text, needle)) n++;
    return n;
}

/* The leader hears of JOINs its lock turned away (LOCKED_OUT, PROTOCOL.md §11.3): at once for the
 * first, then at most one notice per HC_LOCKED_OUT_MS however fast a stranger knocks, with the
 * count of those it was not told of yet. Members hear nothing. */
static void test_leader_told_of_lock_refusals(void **st) {
    (void)st;
    sim *s = meeting_of(2, NULL);
    hc_command lock = {.type = HC_CMD_LOCK};
    assert_int_equal(hc_meeting_command(s->p[0].m, &lock, s->now), 0);
    sim_run(s, 500, 10);
    int x = sim_add(s, "Mallory", 0, sim_meeting_id(s, 0), NULL, NULL);
    sim_run(s, 300, 10);
    assert_string_equal(hc_meeting_left_reason(s->p[x].m), "locked");
    assert_int_equal(count_notices_with(s, 0, "the lock turned someone away"), 1);
    assert_int_equal(count_notices_with(s, 0, "1 attempt to join, the latest as \"Mallory\""), 1);
    assert_int_equal(count_notices_with(s, 1, "the lock turned"), 0);
    /* Five more within the period: no more notices now. */
    for (int k = 0; k < 5; k++) {
        char nm[24];
        snprintf(nm, sizeof nm, "knock%d", k);
        sim_add(s, nm, 0, sim_meeting_id(s, 0), NULL, NULL);
        sim_run(s, 100, 10);
    }
    assert_int_equal(count_notices_with(s, 0, "the lock turned someone away"), 1);
    /* After the period the next refusal brings them all: 5 untold + this one. */
    sim_run(s, HC_LOCKED_OUT_MS, 10);
    sim_add(s, "Eve", 0, sim_meeting_id(s, 0), NULL, NULL);
    sim_run(s, 300, 10);
    assert_int_equal(count_notices_with(s, 0, "the lock turned someone away"), 2);
    assert_int_equal(count_notices_with(s, 0, "6 attempts to join, the latest as \"Eve\""), 1);
    /* Unlocked, nobody is turned away and nothing is said. */
    hc_command unlock = {.type = HC_CMD_UNLOCK};
    hc_meeting_command(s->p[0].m, &unlock, s->now);
    sim_run(s, 500, 10);
    int y = sim_add(s, "Friend", 0, sim_meeting_id(s, 0), NULL, NULL);
    sim_run(s, 1500, 10);
    assert_int_equal(hc_meeting_phase_get(s->p[y].m), HC_MT_IN);
    assert_int_equal(count_notices_with(s, 0, "the lock turned someone away"), 2);
    sim_free(s);
}

/* A relay cannot flood the user with alerts or notices: a few per kind per 10 s are shown,
 * the rest are counted in one summary line. */
static void test_alert_and_notice_floods_are_limited(void **st) {
    (void)st;
    sim *s = meeting_of(2, NULL);
    size_t notices0 = sim_count(s, 1, HC_EV_NOTICE, NULL);
    uint8_t junk[60], sig[64] = {0};
    memset(junk, 0xAA, sizeof junk);
    hc_msg a;
    hc_msg_init(&a, HC_MSG_ANNOUNCE);
    a.data = junk;
    a.data_len = sizeof junk;
    memcpy(a.sig, sig, 64);
    hc_msg kb;
    hc_msg_init(&kb, HC_MSG_KEYBOX);
    uint8_t meta[20] = {1}, box[HC_BOX_LEN] = {0};
    kb.index = 4242;               /* not the leader: a notice each */
    kb.data = meta;
    kb.data_len = sizeof meta;
    kb.data2 = box;
    kb.data2_len = sizeof box;
    for (int i = 0; i < 300; i++) {
        inject(s, 1, &a);
        inject(s, 1, &kb);
    }
    size_t alerts = sim_count(s, 1, HC_EV_SECURITY_ALERT, "bad_announcement");
    assert_true(alerts >= 1 && alerts <= ALERT_BURST);
    assert_true(sim_count(s, 1, HC_EV_NOTICE, NULL) - notices0 <= NOTICE_BURST);
    sim_run(s, ALERT_WINDOW_MS + 500, 10);
    assert_int_equal(count_notices_with(s, 1, "bad_announcement"), 1);  /* the summary */
    /* a new window shows the next ones again */
    inject(s, 1, &a);
    assert_int_equal(sim_count(s, 1, HC_EV_SECURITY_ALERT, "bad_announcement"), alerts + 1);
    assert_int_equal(hc_meeting_phase_get(s->p[1].m), HC_MT_IN);
    sim_free(s);
}

/* A clock reading older than one already seen (a caller's bug, a clock step) is harmless: no
 * unsigned underflow turns it into a missed-heartbeat timeout. */
static void test_clock_going_back_is_harmless(void **st) {
    (void)st;
    sim *s = meeting_of(2, NULL);
    hc_meeting_tick(s->p[1].m, s->now - 5000);
    hc_meeting_tick(s->p[0].m, s->now - 5000);
    assert_int_equal(hc_meeting_phase_get(s->p[1].m), HC_MT_IN);
    assert_int_equal(sim_count(s, 1, HC_EV_HEARTBEAT_TIMEOUT, NULL), 0);
    sim_run(s, 3000, 10);
    assert_int_equal(hc_meeting_phase_get(s->p[1].m), HC_MT_IN);
    assert_int_equal(speak(s, 0, "on time"), 1);
    sim_free(s);
}

/* Kicking a member whose admission is still batched: it never gets a key, nobody else is
 * disturbed (no alert, no extra member). */
static void test_kick_during_join_batch(void **st) {
    (void)st;
    sim *s = meeting_of(2, NULL);
    int c = sim_add(s, "c", 0, sim_meeting_id(s, 0), NULL, NULL);
    sim_run(s, 30, 10);                    /* c's batch ran at once (quiet meeting) */
    int d = sim_add(s, "d", 0, sim_meeting_id(s, 0), NULL, NULL);
    sim_run(s, 30, 10);                    /* d waits for the next batch, 200 ms after c's */
    mt_member *x = mt_find(s->p[0].m, hc_meeting_self_index(s->p[d].m));
    assert_non_null(x);
    assert_true(x->pending_admit);
    hc_command k = {.type = HC_CMD_KICK, .index = x->index};
    assert_int_equal(hc_meeting_command(s->p[0].m, &k, s->now), 0);
    sim_run(s, 1500, 10);
    assert_int_equal(hc_meeting_phase_get(s->p[d].m), HC_MT_LEFT);
    assert_string_equal(hc_meeting_left_reason(s->p[d].m), "kicked");
    assert_int_equal(hc_meeting_highest_epoch(s->p[d].m), 0);
    for (int i = 0; i <= c; i++) {
        assert_int_equal(hc_meeting_roster_size(s->p[i].m), 3);
        assert_int_equal(sim_count(s, i, HC_EV_SECURITY_ALERT, NULL), 0);
    }
    assert_int_equal(speak(s, c, "three of us"), 2);
    sim_free(s);
}


/* ---- issue 11: epochs carry their leader (PROTOCOL.md §4.5, §8.3) ---- */

/* Whether `from`'s next audio frame opens with any key in mks: 0 also when it sends nothing. */
static int next_frame_opens_with(sim *s, int from, const uint8_t mks[][32], const uint32_t *ep, size_t n) {
    if (hc_meeting_send_audio(s->p[from].m, (const uint8_t *)"secret", 6, 0x80, s->now) < 0) return 0;
    sim_msg *q = s->tail;
    assert_non_null(q);
    assert_true(q->to_relay && q->media);
    int r = opens_with_any(mks, ep, n, s->p[from].m->uuid, sim_meeting_id(s, from), q->data, q->len);
    sim_flush(s);
    return r;
}

/* Four members; p3 leaves, so the leader boxes a new epoch E to everyone but p1, its successor.
 * mks/ep get the keys the leader holds then (what it keeps when it goes). */
typedef struct {
    box_tap t;
    uint8_t mks[4][32];
    uint32_t ep[4], e;
    size_t n;
} collision;

static sim *collision_setup(collision *c) {
    c->t.target = 1;
    c->t.drop = 1;
    sim *s = meeting_of(4, NULL);
    s->on_to_client = tap_boxes;
    s->arg = &c->t;
    hc_command leave = {.type = HC_CMD_LEAVE};
    hc_meeting_command(s->p[3].m, &leave, s->now);   /* a rekey at once */
    sim_run(s, 1500, 10);
    c->e = hc_meeting_send_epoch(s->p[0].m);
    assert_true(c->t.n >= 1);
    assert_int_equal(hc_meeting_send_epoch(s->p[2].m), c->e);
    assert_true(hc_meeting_highest_epoch(s->p[1].m) < c->e);
    c->n = harvest_mks(s, 0, c->mks, c->ep, 0, 4);
    assert_true(c->n >= 1);
    return s;
}

/* A leader boxes epoch E to everyone but its successor and leaves; the successor numbers its
 * own first key E too. Members take the new leader's E (an epoch is its number and its leader),
 * drop the old one, and never send again under a key the departed leader holds: not between the
 * leader change and the new key, and not after it. */
static void test_epoch_collision_across_leader_change(void **st) {
    (void)st;
    collision c = {0};
    sim *s = collision_setup(&c);
    assert_true(next_frame_opens_with(s, 2, c.mks, c.ep, c.n));   /* sanity: the leader reads p2 now */
    hc_command leave = {.type = HC_CMD_LEAVE};
    s->on_to_client = NULL;
    hc_meeting_command(s->p[0].m, &leave, s->now);
    sim_run(s, 20, 10);                               /* LEADER arrived, no new key yet */
    assert_int_equal(hc_meeting_leader_index(s->p[2].m), hc_meeting_self_index(s->p[1].m));
    assert_false(next_frame_opens_with(s, 2, c.mks, c.ep, c.n));
    assert_false(next_frame_opens_with(s, 1, c.mks, c.ep, c.n));
    hc_command chat = {.type = HC_CMD_CHAT, .text = "in the gap"};   /* refused, not dropped unsaid */
    assert_int_equal(hc_meeting_command(s->p[2].m, &chat, s->now), -1);
    assert_string_equal(sim_last(s, 2, HC_EV_ERROR)->code, "no_key");
    sim_run(s, 1500, 10);
    /* the successor made its own E: same number, another key */
    assert_int_equal(hc_meeting_send_epoch(s->p[1].m), c.e);
    assert_int_equal(hc_meeting_send_epoch(s->p[2].m), c.e);
    assert_int_equal(sim_count(s, 2, HC_EV_SECURITY_ALERT, "key_rollback"), 0);
    assert_false(next_frame_opens_with(s, 2, c.mks, c.ep, c.n));
    assert_false(next_frame_opens_with(s, 1, c.mks, c.ep, c.n));
    assert_int_equal(speak(s, 2, "under the new E"), 1);
    assert_int_equal(speak(s, 1, "and back"), 1);
    sim_free(s);
}

/* The same collision with the new leader's box to p2 lost: p2 drops the old leader's E and stays
 * silent (key_missing) until the new E arrives, instead of sending on under the old one. */
static void test_epoch_collision_without_the_new_box(void **st) {
    (void)st;
    collision c = {0};
    sim *s = collision_setup(&c);
    box_tap t2 = {.target = 2, .drop = 1};
    s->arg = &t2;
    hc_command leave = {.type = HC_CMD_LEAVE};
    hc_meeting_command(s->p[0].m, &leave, s->now);
    sim_run(s, 1500, 10);
    assert_int_equal(hc_meeting_send_epoch(s->p[1].m), c.e);
    assert_true(t2.n >= 1);
    assert_int_equal(hc_meeting_send_audio(s->p[2].m, (const uint8_t *)"x", 1, 0x80, s->now), -1);
    assert_false(next_frame_opens_with(s, 2, c.mks, c.ep, c.n));
    assert_int_equal(sim_count(s, 2, HC_EV_SECURITY_ALERT, "key_missing"), 1);
    uint8_t mk[32];
    assert_int_equal(hc_meeting_debug_mk(s->p[2].m, c.e, mk), -1);   /* the old leader's E is gone */
    s->on_to_client = NULL;
    deliver(s, 2, t2.boxes[t2.n - 1], t2.lens[t2.n - 1]);
    sim_run(s, 100, 10);
    assert_int_equal(speak(s, 2, "keyed again"), 1);
    assert_int_equal(sim_count(s, 2, HC_EV_SECURITY_ALERT, "key_rollback"), 0);
    sim_free(s);
}


/* ---- issue 11: staleness of the certified state (PROTOCOL.md §5.5) ---- */

/* Holds one member's ROSTER and HEARTBEAT frames back by a lag that grows by `step` ms with every
 * heartbeat (less than the interval, so no gap between arrivals reaches the miss limit). */
typedef struct {
    int target;
    uint64_t lag, step;
    uint64_t due[512];
    size_t lens[512];
    uint8_t (*frames)[600];
    size_t head, n;
} lag_tap;

static int tap_lag(sim *s, int who, uint8_t *frame, size_t *len, void *arg) {
    lag_tap *t = arg;
    if (who != t->target || *len < 6 || (frame[5] != HC_MSG_HEARTBEAT && frame[5] != HC_MSG_ROSTER)) return 1;
    if (frame[5] == HC_MSG_HEARTBEAT) t->lag += t->step;
    assert_true(t->n < 512 && *len <= 600);
    size_t k = (t->head + t->n++) % 512;
    memcpy(t->frames[k], frame, *len);
    t->lens[k] = *len;
    t->due[k] = s->now + t->lag;
    return 0;
}

/* Runs the meeting in 10 ms steps, delivering held frames when due (in order). */
static void lag_run(sim *s, lag_tap *t, uint64_t ms) {
    for (uint64_t done = 0; done < ms; done += 10) {
        sim_run(s, 10, 10);
        while (t->n && t->due[t->head] <= s->now) {
            size_t k = t->head;
            t->head = (t->head + 1) % 512;
            t->n--;
            if (s->p[t->target].active && s->p[t->target].m) deliver(s, t->target, t->frames[k], t->lens[k]);
        }
    }
}

/* A relay that delays one member's heartbeats by a lag growing slower than their interval keeps
 * every gap under the miss limit: before the bound on staleness that member went on sending
 * under the old key long after a kick, readable by the kicked one. Now the offset between the
 * leader's signed timestamps and our clock may drift by at most the miss limit: the member stops
 * sending once its certified state is older than that, says so, and leaves. */
static void test_growing_heartbeat_lag_is_bounded(void **st) {
    (void)st;
    lag_tap *t = calloc(1, sizeof *t);
    t->frames = calloc(512, sizeof *t->frames);
    t->target = 1;
    t->step = 1500;                     /* < the 2000 ms interval */
    sim *s = meeting_of(3, NULL);
    s->on_to_client = tap_lag;
    s->arg = t;
    while (t->lag < 7000) lag_run(s, t, 100);
    /* a lag within the limit is no alarm: p1 is in, certified and sending */
    assert_int_equal(hc_meeting_phase_get(s->p[1].m), HC_MT_IN);
    assert_int_equal(sim_count(s, 1, HC_EV_SECURITY_ALERT, NULL), 0);
    assert_int_equal(hc_meeting_send_audio(s->p[1].m, (const uint8_t *)"x", 1, 0x80, s->now), 0);
    sim_flush(s);
    uint8_t mks[8][32];
    uint32_t ep[8];
    size_t n = harvest_mks(s, 2, mks, ep, 0, 8);   /* the insider's keys */
    assert_true(n >= 1);
    assert_true(next_frame_opens_with(s, 1, mks, ep, n));
    while (t->lag < 15000) lag_run(s, t, 100);    /* and on, past the limit */
    hc_command k = {.type = HC_CMD_KICK, .index = hc_meeting_self_index(s->p[2].m)};
    assert_int_equal(hc_meeting_command(s->p[0].m, &k, s->now), 0);
    uint64_t kick = s->now;
    size_t readable_late = 0;
    while (s->now - kick < 25000) {
        lag_run(s, t, 100);
        /* limit (5 x 2 s) + the rekey's switch-over + a tick */
        if (s->now - kick > 11500 && next_frame_opens_with(s, 1, mks, ep, n)) readable_late++;
    }
    assert_int_equal(readable_late, 0);
    assert_true(sim_count(s, 1, HC_EV_SECURITY_ALERT, "heartbeat_stale") >= 1);
    assert_int_equal(hc_meeting_phase_get(s->p[1].m), HC_MT_LEFT);
    assert_int_equal(hc_meeting_exit_status(s->p[1].m), HC_EXIT_SECURITY);
    assert_string_equal(sim_last(s, 1, HC_EV_HEARTBEAT_TIMEOUT)->reason, "security");
    sim_free(s);
    free(t->frames);
    free(t);
}


/* ---- issue 11: who leads next, and a leader change the rules do not explain (§8.3, §12) ---- */


/* An early joiner that never announced holds no key and is in no roster: when the leader leaves,
 * the relay names the earliest-joined member of the certified roster, whom everyone accepts,
 * instead of the silent one (which members refuse as leader_not_in_roster and leave). */
static void test_silent_early_joiner_does_not_become_leader(void **st) {
    (void)st;
    sim *s = meeting_of(1, NULL);
    frame_drop d = {1, HC_MSG_ANNOUNCE};   /* "silent", the next to join, never announces */
    s->on_to_relay = drop_frames;
    s->arg = &d;
    sim_add(s, "silent", 0, sim_meeting_id(s, 0), NULL, NULL);
    sim_run(s, 300, 10);
    int b = sim_add(s, "b", 0, sim_meeting_id(s, 0), NULL, NULL);
    int c = sim_add(s, "c", 0, sim_meeting_id(s, 0), NULL, NULL);
    sim_run(s, 1500, 10);
    assert_int_equal(hc_meeting_roster_size(s->p[b].m), 3);
    hc_command l = {.type = HC_CMD_LEAVE};
    hc_meeting_command(s->p[0].m, &l, s->now);
    sim_run(s, 2000, 10);
    assert_true(hc_meeting_is_leader(s->p[b].m));
    assert_int_equal(hc_meeting_leader_index(s->p[c].m), hc_meeting_self_index(s->p[b].m));
    assert_int_equal(hc_meeting_phase_get(s->p[c].m), HC_MT_IN);
    assert_int_equal(sim_count(s, c, HC_EV_SECURITY_ALERT, NULL), 0);
    assert_int_equal(speak(s, c, "still on"), 1);
    sim_free(s);
}


static int rename_leader_for_3(sim *s, int who, uint8_t *frame, size_t *len, void *arg) {
    uint32_t *to = arg;
    if (who == 3 && *len > 9 && frame[5] == HC_MSG_LEADER) hc_put_u32(frame + 6, *to);
    (void)s;
    return 1;
}

/* A LEADER while the leader is still in the meeting, or naming someone other than the earliest-
 * joined member still here, is not a leader change the rules allow: the member follows (the new
 * leader is in its roster) but is told the meeting may be split and to compare the code again. */
static void test_unexpected_leader_is_an_alert(void **st) {
    (void)st;
    sim *s = meeting_of(4, NULL);
    hc_msg lm;
    hc_msg_init(&lm, HC_MSG_LEADER);
    lm.index = hc_meeting_self_index(s->p[1].m);
    uint8_t f[64];
    size_t fl = hc_msg_encode(&lm, f, sizeof f);
    deliver(s, 3, f, fl);                             /* the leader never left */
    assert_int_equal(sim_count(s, 3, HC_EV_SECURITY_ALERT, "unexpected_leader"), 1);
    assert_non_null(strstr(sim_last(s, 3, HC_EV_SECURITY_ALERT)->text, "compare the security code"));
    assert_int_equal(hc_meeting_leader_index(s->p[3].m), lm.index);
    assert_int_equal(hc_meeting_phase_get(s->p[3].m), HC_MT_IN);
    for (int i = 0; i < 3; i++) assert_int_equal(sim_count(s, i, HC_EV_SECURITY_ALERT, NULL), 0);
    sim_free(s);

    /* the leader leaves and the relay names p2 to p3, though p1 joined earlier and is still here */
    s = meeting_of(4, NULL);
    uint32_t to = hc_meeting_self_index(s->p[2].m);
    s->on_to_client = rename_leader_for_3;
    s->arg = &to;
    hc_command l = {.type = HC_CMD_LEAVE};
    hc_meeting_command(s->p[0].m, &l, s->now);
    sim_run(s, 100, 10);
    assert_int_equal(sim_count(s, 3, HC_EV_SECURITY_ALERT, "unexpected_leader"), 1);
    assert_int_equal(sim_count(s, 2, HC_EV_SECURITY_ALERT, NULL), 0);   /* an honest change */
    assert_int_equal(sim_count(s, 1, HC_EV_SECURITY_ALERT, NULL), 0);
    sim_free(s);
}

/* Everyone sends a frame every 20 ms, as a call does. */
static void talk_run(sim *s, uint64_t ms) {
    for (uint64_t t = 0; t < ms; t += 20) {
        for (int i = 0; i < SIM_MAX; i++)
            if (s->p[i].active && s->p[i].m) hc_meeting_send_audio(s->p[i].m, (const uint8_t *)"talk", 4, 0x80 | 20, s->now);
        sim_run(s, 20, 10);
    }
}

/* The relay names a second leader to half the meeting and keeps the halves apart: each half keeps
 * a roster listing everyone, and (before) nobody was told while audio between the halves died.
 * Now the second half hears of a leader change that the rules do not allow, and every member
 * reports the members of the other half whose frames keep coming under keys it never received. */
static void test_attack_split_leader(void **st) {
    (void)st;
    sim *s = attacked_meeting(HC_ATTACK_SPLIT_LEADER, 4, NULL);
    talk_run(s, 2000);
    assert_int_equal(hc_meeting_leader_index(s->p[2].m), hc_meeting_self_index(s->p[0].m));
    assert_int_equal(hc_meeting_leader_index(s->p[3].m), hc_meeting_self_index(s->p[1].m));
    assert_int_equal(sim_count(s, 1, HC_EV_SECURITY_ALERT, "unexpected_leader"), 1);
    assert_int_equal(sim_count(s, 3, HC_EV_SECURITY_ALERT, "unexpected_leader"), 1);
    talk_run(s, 3000);
    for (int i = 0; i < 4; i += 2)   /* the first half: the others' new keys never reach it */
        assert_int_equal(sim_count(s, i, HC_EV_SECURITY_ALERT, "split_view"), 2);
    talk_run(s, 12000);
    for (int i = 1; i < 4; i += 2)   /* the second half: once the first leader's keys retire */
        assert_int_equal(sim_count(s, i, HC_EV_SECURITY_ALERT, "split_view"), 2);
    assert_string_equal(hc_meeting_code(s->p[1].m), hc_meeting_code(s->p[3].m));
    assert_string_not_equal(hc_meeting_code(s->p[1].m), hc_meeting_code(s->p[0].m));
    for (int i = 0; i < 4; i++) assert_int_equal(hc_meeting_phase_get(s->p[i].m), HC_MT_IN);
    sim_free(s);
}


/* ---- issue 11: never a member keyed but not listed (PROTOCOL.md §3.5, §5.1) ---- */

typedef struct {
    uint8_t boxed[65536 / 8];     /* indexes the leader sent a key box for */
    size_t n_boxes, n_denied;
    uint8_t roster[HC_ROSTER_ENC_MAX];   /* the leader's last whole roster (its ROSTER parts) */
    size_t roster_len, roster_got;
} leader_out;

static int tap_leader_out(sim *s, int who, uint8_t *frame, size_t *len, void *arg) {
    (void)s;
    leader_out *o = arg;
    hc_msg m;
    if (who != 0 || hc_msg_decode(&m, frame + 4, *len - 4, NULL) < 0) return 1;
    if (m.type == HC_MSG_KEYBOX && m.index <= 65535) {
        o->boxed[m.index / 8] |= (uint8_t)(1u << (m.index % 8));
        o->n_boxes++;
    } else if (m.type == HC_MSG_DENY) {
        o->n_denied++;
    } else if (m.type == HC_MSG_ROSTER) {
        if (m.offset == 0) o->roster_got = 0;
        assert_int_equal(m.offset, o->roster_got);
        memcpy(o->roster + m.offset, m.data, m.data_len);
        o->roster_got += m.data_len;
        if (o->roster_got == m.value) o->roster_len = m.value;
    }
    return 1;
}

/* A relay lists (and forwards the announcements of) more members than one participant list can
 * hold. The leader admits up to what the list holds and refuses the rest with a clear reason:
 * it never boxes a key to a member its certified list does not show. */
static void test_roster_limit_never_keys_unlisted(void **st) {
    (void)st;
    leader_out *o = calloc(1, sizeof *o);
    sim *s = meeting_of(1, NULL);
    s->on_to_relay = tap_leader_out;
    s->arg = o;
    hc_meeting *L = s->p[0].m;
    const uint32_t extra = HC_ROSTER_MAX_ENTRIES + 40;     /* beyond what the list holds */
    for (uint32_t i = 0; i < extra; i++) {
        char name[16];
        snprintf(name, sizeof name, "m%u", 2 + i);
        sim_feed_member(L, sim_meeting_id(s, 0), L->uuid, 2 + i, name, s->now);
    }
    sim_run(s, 1500, 10);
    hc_roster *r = calloc(1, sizeof *r);
    assert_true(o->roster_len > 0);
    assert_int_equal(hc_roster_decode(r, o->roster, o->roster_len), 0);
    assert_true(o->roster_len > HC_ROSTER_CHUNK);          /* it went in parts */
    assert_true(r->n <= HC_ROSTER_MAX_ENTRIES);
    assert_true(r->n > HC_ROSTER_MAX_ENTRIES - 2);       /* filled up to the limit */
    size_t boxed = 0, unlisted = 0;
    for (uint32_t i = 0; i < 65536; i++)
        if (o->boxed[i / 8] >> (i % 8) & 1) {
            boxed++;
            if (!hc_roster_find(r, i)) unlisted++;
        }
    assert_int_equal(unlisted, 0);
    assert_int_equal(boxed, r->n - 1);
    assert_int_equal(o->n_denied, extra - (r->n - 1));   /* the rest are refused, not left waiting */
    assert_true(count_notices_with(s, 0, "participant list is full") >= 1);
    hc_roster_free(r);
    free(r);
    sim_free(s);
    free(o);
}


/* ---- issue 11: the admission policy is certified and inherited (PROTOCOL.md §3.5, §5.1, §8.3) ---- */

/* A meeting hosted with --admit ask, led next by a member whose own default is auto: the newcomer
 * is not let in unasked. The policy travels in the signed roster, every member knows it, and the
 * new leader asks (a headless one answers with admit/deny). */
static void test_admission_policy_is_inherited(void **st) {
    (void)st;
    hc_meeting_config ask = sim_default_cfg();
    ask.admit = HC_ADMIT_ASK;
    sim *s = meeting_of(1, &ask);                                     /* the host alone */
    assert_string_equal(sim_last(s, 0, HC_EV_ADMIT_POLICY)->reason, "ask");
    for (int i = 1; i <= 2; i++) {
        int j = sim_add(s, i == 1 ? "bot" : "carol", 0, sim_meeting_id(s, 0), NULL, NULL);   /* auto */
        sim_run(s, 500, 10);
        hc_command a = {.type = HC_CMD_ADMIT, .index = hc_meeting_self_index(s->p[j].m)};
        assert_int_equal(hc_meeting_command(s->p[0].m, &a, s->now), 0);
        sim_run(s, 1000, 10);
        assert_true(hc_meeting_send_epoch(s->p[j].m) > 0);
    }
    for (int i = 1; i <= 2; i++) {
        assert_int_equal(hc_meeting_admit_policy(s->p[i].m), HC_ADMIT_ASK);
        assert_string_equal(sim_last(s, i, HC_EV_ADMIT_POLICY)->reason, "ask");
    }
    hc_command l = {.type = HC_CMD_LEAVE};
    hc_meeting_command(s->p[0].m, &l, s->now);
    sim_run(s, 2000, 10);
    assert_true(hc_meeting_is_leader(s->p[1].m));
    assert_int_equal(hc_meeting_admit_policy(s->p[1].m), HC_ADMIT_ASK);
    int d = sim_add(s, "dave", 0, sim_meeting_id(s, 0), NULL, NULL);
    sim_run(s, 1500, 10);
    assert_int_equal(hc_meeting_highest_epoch(s->p[d].m), 0);        /* not in unasked */
    assert_int_equal(sim_count(s, 1, HC_EV_ADMISSION_REQUEST, NULL), 1);
    assert_string_equal(sim_last(s, 1, HC_EV_ADMISSION_REQUEST)->name, "dave");
    assert_int_equal(sim_count(s, d, HC_EV_WAITING, NULL), 1);
    assert_int_equal(hc_meeting_admit_policy(s->p[d].m), HC_ADMIT_ASK);
    hc_command a = {.type = HC_CMD_ADMIT, .index = hc_meeting_self_index(s->p[d].m)};
    assert_int_equal(hc_meeting_command(s->p[1].m, &a, s->now), 0);
    sim_run(s, 1500, 10);
    assert_true(hc_meeting_send_epoch(s->p[d].m) > 0);
    assert_int_equal(speak(s, d, "let in by the new leader"), 2);
    for (int i = 1; i <= d; i++) assert_int_equal(sim_count(s, i, HC_EV_SECURITY_ALERT, NULL), 0);
    sim_free(s);
}

int main(void) {
    if (sodium_init() < 0) return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_three_join_same_code_and_epochs),
        cmocka_unit_test(test_join_batching),
        cmocka_unit_test(test_many_instances_one_process),
        cmocka_unit_test(test_leaver_cannot_open_later_frames),
        cmocka_unit_test(test_joiner_cannot_open_earlier_frames),
        cmocka_unit_test(test_every_key_is_fresh),
        cmocka_unit_test(test_box_rollback_replay_misdirected),
        cmocka_unit_test(test_box_with_stale_nonce_rejected),
        cmocka_unit_test(test_member_without_new_key_stops_sending),
        cmocka_unit_test(test_heartbeat_gaps_never_exceed_interval),
        cmocka_unit_test(test_heartbeat_forged_replayed_out_of_chain),
        cmocka_unit_test(test_missed_heartbeats_leave_and_wipe),
        cmocka_unit_test(test_resume_after_relay_restart),
        cmocka_unit_test(test_resume_without_the_leader),
        cmocka_unit_test(test_resume_by_a_stranger_is_an_alert),
        cmocka_unit_test(test_resume_into_a_made_up_meeting_is_an_alert),
        cmocka_unit_test(test_resume_keeps_the_lock),
        cmocka_unit_test(test_stall_pauses_then_resumes),
        cmocka_unit_test(test_rejected_heartbeats_until_timeout_is_security),
        cmocka_unit_test(test_silent_leader_is_replaced),
        cmocka_unit_test(test_new_leader_waits_for_newest_nonces),
        cmocka_unit_test(test_new_leader_waits_for_late_nonces),
        cmocka_unit_test(test_silent_joiner_is_not_an_alert),
        cmocka_unit_test(test_silent_member_is_rekeyed_out),
        cmocka_unit_test(test_own_entry_catches_substituted_key),
        cmocka_unit_test(test_locked_meeting_admits_only_listed_keys),
        cmocka_unit_test(test_leader_told_of_lock_refusals),
        cmocka_unit_test(test_kick_removes_and_rotates),
        cmocka_unit_test(test_admission_ask),
        cmocka_unit_test(test_leader_change),
        cmocka_unit_test(test_verify_that_could_not_be_saved),
        cmocka_unit_test(test_verify_is_bound_to_the_code),
        cmocka_unit_test(test_new_leader_not_in_roster_refused),
        cmocka_unit_test(test_chat_reaches_everyone_else_once),
        cmocka_unit_test(test_switch_is_ack_driven_and_old_keys_expire),
        cmocka_unit_test(test_attack_swap_key_and_rename),
        cmocka_unit_test(test_attack_heartbeats),
        cmocka_unit_test(test_attack_keybox),
        cmocka_unit_test(test_attack_media),
        cmocka_unit_test(test_attack_ghost_and_fake_leader),
        cmocka_unit_test(test_rekey_egress_is_linear),
        cmocka_unit_test(test_joined_with_invalid_leader_refused),
        cmocka_unit_test(test_fake_member_left_cannot_reopen_replay),
        cmocka_unit_test(test_relay_news_about_self_ignored),
        cmocka_unit_test(test_member_table_bounded),
        cmocka_unit_test(test_delayed_heartbeats_do_not_stretch_miss_limit),
        cmocka_unit_test(test_new_leader_admits_member_the_old_one_missed),
        cmocka_unit_test(test_alert_and_notice_floods_are_limited),
        cmocka_unit_test(test_clock_going_back_is_harmless),
        cmocka_unit_test(test_kick_during_join_batch),
        cmocka_unit_test(test_epoch_collision_across_leader_change),
        cmocka_unit_test(test_epoch_collision_without_the_new_box),
        cmocka_unit_test(test_growing_heartbeat_lag_is_bounded),
        cmocka_unit_test(test_silent_early_joiner_does_not_become_leader),
        cmocka_unit_test(test_unexpected_leader_is_an_alert),
        cmocka_unit_test(test_attack_split_leader),
        cmocka_unit_test(test_roster_limit_never_keys_unlisted),
        cmocka_unit_test(test_admission_policy_is_inherited),
    };
    return cmocka_run_group_tests_name("meeting", tests, NULL, NULL);
}
