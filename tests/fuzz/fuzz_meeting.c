/* libFuzzer target: one participant's meeting state machine (app/meeting*.c) fed by a hostile
 * relay. Each input starts a fresh participant (index 2) of meeting 1234567890 and hands it a
 * valid JOINED (leader 1, members 1..3); the first byte says whether the leader's valid
 * announcement follows. The rest is a script of records
 *
 *     u8 kind || u8 len || len bytes
 *
 * interpreted as: raw control frame bodies, raw media datagrams, clock advances (with a tick),
 * commands, and frames the harness builds *validly* as the leader (index 1, fixed identity and
 * ephemeral key) or as member 3 would: key boxes sealed for the participant's real ephemeral
 * key and liveness nonces, rosters, chained signed heartbeats, SFrame media and chat under the
 * epochs it handed out, announcements, relay notices (LEADER, MEMBER_JOINED/LEFT), replays of
 * frames it sent before. So the fuzzer reaches every phase (keyed, certified, sending, leader
 * change, removal) instead of stopping at signature checks. Flag 8 makes the participant one
 * coming back after a reconnect (hc_meeting_config.resume, PROTOCOL.md §11.10): flag 16 keeps the
 * instance it was in, else the instance is new and flag 64 hands it the leader's valid resume
 * statement first; flag 32 first makes it wait (no_such_meeting) and take its turn to re-create
 * the meeting. Relay notices then include resume statements signed by the leader, member 3 or
 * the participant itself, for its instance or another.
 *
 * Oracles: no crash or sanitizer report, no leak (the meeting is freed per input), every event
 * string is a valid C string, and the state stays bounded (members, epochs, receive keys,
 * buffered frames). No main(): `make fuzz` links libFuzzer's. */
#include <sodium.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/commands.h"
#include "app/meeting_internal.h"
#include "crypto/binding.h"
#include "crypto/bytes.h"
#include "crypto/contexts.h"
#include "crypto/identity.h"
#include "crypto/keybox.h"
#include "crypto/sframe.h"
#include "crypto/sig.h"
#include "net/media.h"
#include "net/roster.h"
#include "net/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MID "1234567890"
#define SELF 2
#define LEADER 1
#define OTHER 3
#define NREPLAY 8
#define NEPOCH 16

static int inited;
static hc_identity me, leader_id, other_id;
static hc_ephemeral leader_eph, other_eph;
static const uint8_t uuid[16] = {0x75, 0x75, 0x69, 0x64, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};

typedef struct {
    uint64_t now;
    hc_meeting *m;
    /* what the participant told the relay */
    uint8_t pk[32], nonce[2][HC_NONCE_LEN], bhash[32];
    int have_pk, n_nonce;
    /* what "the leader" handed out */
    struct { uint32_t epoch; uint8_t mk[32]; } ep[NEPOCH];
    size_t n_ep;
    uint32_t next_epoch, roster_v;
    uint64_t hb_t, hb_ts;
    uint8_t hb_prev[32], roster_hash[32], leader_bhash[32], other_bhash[32];
    int have_roster;
    /* frames sent before, for replays */
    uint8_t *replay[NREPLAY];
    size_t replay_len[NREPLAY], n_replay;
    int is_media[NREPLAY];
    uint8_t buf[HC_FRAME_MAX_DEFAULT + 64];
} fstate;

static fstate F;
static const uint8_t prev_uuid[16] = {0x70, 0x72, 0x65, 0x76, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9};
static hc_meeting_resume resume_ctx;
static uint8_t resume_ivks[2][32];

/* ---- meeting io ---- */

static void io_ctrl(void *ctx, const uint8_t *frame, size_t len) {
    (void)ctx;
    hc_msg msg;
    if (len < 4 || hc_get_u32(frame) != len - 4 || hc_msg_decode(&msg, frame + 4, len - 4, NULL) < 0) abort();
    if (msg.type != HC_MSG_ANNOUNCE) return;
    hc_binding b;
    if (hc_binding_decode(&b, msg.data, msg.data_len) < 0 || hc_binding_verify(msg.sig, msg.data, msg.data_len) < 0)
        abort();  /* we must only ever announce a valid binding of our own */
    if (!F.have_pk) {
        memcpy(F.pk, b.pk, 32);
        hc_hash(F.bhash, msg.data, msg.data_len);
        F.have_pk = 1;
    }
    memcpy(F.nonce[1], F.nonce[0], HC_NONCE_LEN);
    memcpy(F.nonce[0], b.nonce, HC_NONCE_LEN);
    if (F.n_nonce < 2) F.n_nonce++;
}

static void io_media(void *ctx, const uint8_t *pkt, size_t len) {
    (void)ctx;
    hc_media_info mi;
    if (hc_media_parse(&mi, pkt, len) < 0) abort();  /* we must only ever send well-formed media */
}

static void io_event(void *ctx, const hc_event *ev) {
    (void)ctx;
    volatile size_t n = 0;
    const char *s[] = {ev->kind, ev->detail, ev->text, ev->code, ev->name, ev->reason, ev->fingerprint, ev->meeting_id};
    for (size_t i = 0; i < sizeof s / sizeof s[0]; i++)
        if (s[i]) n += strlen(s[i]);
    (void)n;
}

static void io_payload(void *ctx, uint32_t sender, const uint8_t *p, size_t len) {
    (void)ctx;
    if (sender == SELF || len > HC_MEDIA_MAX) abort();
    volatile uint8_t x = len ? p[len - 1] : 0;
    (void)x;
}

static void io_loss(void *ctx, uint32_t from, uint8_t loss) { (void)ctx; (void)from; (void)loss; }
/* Saving fails now and then, so that the path of a verify that could not be saved is explored. */
static int io_remember(void *ctx, const uint8_t ivk[32], const char *name, char *err, size_t errlen) {
    (void)ctx; (void)name;
    if (!(ivk[2] & 1)) return 0;
    snprintf(err, errlen, "could not save the verified leader: No space left on device");
    return -1;
}
static void io_token(void *ctx, const uint8_t t[16]) { (void)ctx; (void)t; }
static void io_ready(void *ctx) { (void)ctx; }

static int is_verified(void *ctx, const uint8_t ivk[32], const char *name, int *conflict) {
    (void)ctx; (void)name;
    *conflict = ivk[0] & 1;
    return ivk[1] & 1;
}

/* ---- feeding ---- */

static void remember(const uint8_t *f, size_t len, int media) {
    size_t i = F.n_replay++ % NREPLAY;
    free(F.replay[i]);
    F.replay[i] = malloc(len ? len : 1);
    if (!F.replay[i]) abort();
    memcpy(F.replay[i], f, len);
    F.replay_len[i] = len;
    F.is_media[i] = media;
}

static void feed_msg(const hc_msg *msg) {
    size_t n = hc_msg_encode(msg, F.buf, sizeof F.buf);
    if (!n) return;
    remember(F.buf + 4, n - 4, 0);
    hc_meeting_on_frame(F.m, F.buf + 4, n - 4, F.now);
}

static void feed_media(const uint8_t *pkt, size_t len) {
    remember(pkt, len, 1);
    hc_meeting_on_media(F.m, pkt, len, F.now);
}

static void announce_as(const hc_identity *id, const hc_ephemeral *eph, uint32_t index, const char *name,
                        const uint8_t nonce[HC_NONCE_LEN], uint8_t bhash_out[32]) {
    hc_binding b;
    memset(&b, 0, sizeof b);
    snprintf(b.meeting_id, sizeof b.meeting_id, "%s", MID);
    memcpy(b.uuid, uuid, 16);
    b.index = index;
    memcpy(b.ivk, id->ivk, 32);
    memcpy(b.pk, eph->pk, 32);
    snprintf(b.name, sizeof b.name, "%s", name);
    memcpy(b.nonce, nonce, HC_NONCE_LEN);
    uint8_t enc[HC_BINDING_MAX];
    size_t n = hc_binding_encode(&b, enc, sizeof enc);
    if (!n) abort();
    hc_msg a;
    hc_msg_init(&a, HC_MSG_ANNOUNCE);
    a.data = enc;
    a.data_len = n;
    hc_binding_sign(a.sig, enc, n, id->isk);
    if (bhash_out) hc_hash(bhash_out, enc, n);
    feed_msg(&a);
}

static const uint8_t *mk_of(uint32_t epoch) {
    for (size_t i = 0; i < F.n_ep; i++)
        if (F.ep[i].epoch == epoch) return F.ep[i].mk;
    return NULL;
}

/* An epoch the harness handed out, picked by a byte (0: the newest). */
static uint32_t pick_epoch(uint8_t sel) {
    if (!F.n_ep) return sel;
    if (!sel) return F.ep[F.n_ep - 1].epoch;
    if (sel < 0x80) return F.ep[sel % F.n_ep].epoch;
    return sel;  /* one we never made */
}

static void leader_keybox(const uint8_t *d, size_t n) {
    if (!F.have_pk) return;
    uint32_t epoch = n > 0 && d[0] ? d[0] : ++F.next_epoch;
    uint8_t nonce_sel = n > 1 ? d[1] : 0;
    uint16_t suite = n > 2 && d[2] == 0xFF ? HC_SUITE_AES256GCM : n > 2 && d[2] == 0xFE ? 0x0001 : HC_SUITE_CHACHA;
    hc_box_meta meta;
    memset(&meta, 0, sizeof meta);
    snprintf(meta.meeting_id, sizeof meta.meeting_id, "%s", MID);
    memcpy(meta.uuid, uuid, 16);
    meta.leader_index = LEADER;
    meta.recipient_index = n > 3 && d[3] == 0xFF ? OTHER : SELF;
    if (nonce_sel % 4 == 3) memset(meta.nonce, nonce_sel, HC_NONCE_LEN);
    else memcpy(meta.nonce, F.nonce[(nonce_sel % 4 == 1 && F.n_nonce > 1) ? 1 : 0], HC_NONCE_LEN);
    uint8_t mk[32];
    crypto_generichash(mk, sizeof mk, (const uint8_t *)&epoch, sizeof epoch, NULL, 0);
    if (!mk_of(epoch) && F.n_ep < NEPOCH) {
        F.ep[F.n_ep].epoch = epoch;
        memcpy(F.ep[F.n_ep++].mk, mk, 32);
    }
    uint8_t k[HC_BOXKEY_LEN], menc[HC_META_MAX], box[HC_BOX_LEN];
    if (hc_pairwise_key(k, F.pk, leader_eph.sk) < 0) return;
    size_t ml = hc_box_meta_encode(&meta, menc, sizeof menc);
    if (!ml || hc_keybox_seal(box, k, menc, ml, mk, epoch, suite) < 0) return;
    hc_msg msg;
    hc_msg_init(&msg, HC_MSG_KEYBOX);
    msg.index = n > 4 && d[4] == 0xFF ? OTHER : LEADER;
    msg.data = menc;
    msg.data_len = ml;
    msg.data2 = box;
    msg.data2_len = sizeof box;
    feed_msg(&msg);
}

static void leader_heartbeat(uint8_t epoch_sel, int fork) {
    hc_msg msg;
    hc_msg_init(&msg, HC_MSG_HEARTBEAT);
    hc_hb_fields *hb = &msg.hb;
    hb->v = F.roster_v;
    hb->t = ++F.hb_t;
    hb->epoch = epoch_sel == 0xFF ? 0 : pick_epoch(epoch_sel);
    hb->ts_ms = F.now > F.hb_ts ? F.now : F.hb_ts + 1;
    F.hb_ts = hb->ts_ms;
    memcpy(hb->prev, F.hb_prev, 32);
    if (fork) hb->prev[0] ^= 1;
    memcpy(hb->roster_hash, F.roster_hash, 32);
    uint8_t h[32];
    hc_heartbeat_hash(h, F.leader_bhash, hb->roster_hash, hb->v, hb->t, hb->epoch, hb->prev, hb->ts_ms);
    hc_sign_hash(hb->sig, leader_id.isk, HC_CTX_SIG_PARTICIPANTS, h);
    if (!fork) memcpy(F.hb_prev, h, 32);
    feed_msg(&msg);
}

/* A roster the leader signs off: bit 0 self, bit 1 OTHER, bit 2 self waiting, bit 3 locked,
 * bit 4 a wrong hash for self, bit 5 another leader index, bit 6 no heartbeat, bit 7 sent as a delta
 * from the last one (else whole); more bytes
 * add invented members. */
static void leader_roster(const uint8_t *d, size_t n) {
    uint8_t f = n ? d[0] : 0x03;
    static hc_roster r, prev;   /* zeroed: initialised; prev is the last roster sent */
    static int have_prev;
    hc_roster_clear(&r);
    r.v = ++F.roster_v;
    r.locked = (f >> 3) & 1;
    r.leader = (f & 0x20) ? OTHER : LEADER;
    uint8_t h[32];
    memcpy(h, F.leader_bhash, 32);
    hc_roster_add(&r, 0, LEADER, h);
    if ((f & 1) && !(f & 4)) {
        memcpy(h, F.bhash, 32);
        if (f & 0x10) h[0] ^= 1;
        hc_roster_add(&r, 0, SELF, h);
    }
    if (f & 2) hc_roster_add(&r, 0, OTHER, F.other_bhash);
    for (size_t i = 1; i < n; i++) {
        uint32_t idx = 3u + (uint32_t)i * 7u + d[i];
        memset(h, d[i], 32);
        hc_roster_add(&r, 0, idx, h);   /* refused when out of order or past the limit */
    }
    if (f & 4) hc_roster_add(&r, 1, SELF, F.bhash);
    static uint8_t big[HC_ROSTER_ENC_MAX];
    size_t len = hc_roster_encode(&r, big, sizeof big);
    if (!len) return;
    hc_msg msg;
    /* bit 7: as a delta from the last roster (what the relay forwards to members), else whole */
    if ((f & 0x80) && have_prev) {
        static uint8_t delta[HC_ROSTER_DELTA_MAX];
        size_t dl = hc_roster_delta_encode(&prev, &r, delta, sizeof delta);
        if (!dl) return;
        hc_msg_init(&msg, HC_MSG_ROSTER_DELTA);
        msg.data = delta;
        msg.data_len = dl;
        feed_msg(&msg);
    } else {
        for (size_t off = 0; off < len;) {
            off = hc_msg_roster_part(&msg, big, len, off);
            feed_msg(&msg);
        }
    }
    hc_roster_copy(&prev, &r);
    have_prev = 1;
    hc_roster_hash(&r, F.roster_hash);
    F.have_roster = 1;
    if (!(f & 0x40)) leader_heartbeat(n > 1 ? d[1] : 0, 0);
}

/* Media or chat sealed by the leader or OTHER under an epoch the harness made. */
static void member_frame(const uint8_t *d, size_t n, int chat) {
    if (n < 4) return;
    uint32_t sender = d[0] & 1 ? OTHER : LEADER;
    uint32_t epoch = pick_epoch(d[1]);
    const uint8_t *mk = mk_of(epoch);
    uint8_t fake[32];
    if (!mk) {
        memset(fake, d[1], 32);
        mk = fake;
    }
    uint64_t ctr = (uint64_t)d[2] << ((d[3] & 7) * 8);
    hc_sframe_key k;
    if (hc_frame_key(&k, HC_SUITE_CHACHA, mk, uuid, MID, epoch, sender, chat ? HC_STREAM_CHAT : HC_STREAM_AUDIO) < 0)
        return;
    const uint8_t *pt = d + 4;
    size_t plen = n - 4;
    uint8_t out[HC_MEDIA_MAX];
    if (chat) {
        int m = hc_sframe_seal(&k, ctr, NULL, 0, pt, plen, out, sizeof out);
        hc_sframe_key_wipe(&k);
        if (m < 0) return;
        hc_msg msg;
        hc_msg_init(&msg, HC_MSG_CHAT);
        msg.index = d[3] & 0x80 ? SELF : sender;
        msg.data = out;
        msg.data_len = (size_t)m;
        feed_msg(&msg);
    } else {
        out[0] = hc_media_byte0(HC_MEDIA_AUDIO);
        out[1] = d[3];
        int m = hc_sframe_seal(&k, ctr, out, 2, pt, plen, out + 2, sizeof out - 2);
        hc_sframe_key_wipe(&k);
        if (m < 0) return;
        feed_media(out, (size_t)m + 2);
    }
}

static void command(const uint8_t *d, size_t n) {
    static const hc_command_type types[] = {HC_CMD_MUTE, HC_CMD_UNMUTE, HC_CMD_TOGGLE_MUTE, HC_CMD_CHAT,
                                            HC_CMD_VERIFY, HC_CMD_LEAVE, HC_CMD_END, HC_CMD_LOCK,
                                            HC_CMD_UNLOCK, HC_CMD_KICK, HC_CMD_ADMIT, HC_CMD_DENY,
                                            HC_CMD_STATS};
    if (!n) return;
    hc_command c;
    memset(&c, 0, sizeof c);
    c.type = types[d[0] % (sizeof types / sizeof types[0])];
    c.index = n > 1 ? d[1] : 0;
    char text[CHAT_TEXT_MAX + 2];
    size_t tl = n > 2 ? n - 2 : 0;
    if (c.type == HC_CMD_CHAT && d[0] & 0x80) tl = CHAT_TEXT_MAX + 1;  /* over-long */
    for (size_t i = 0; i < tl; i++) text[i] = (char)(n > 2 ? (d[2 + i % (n - 2)] | 1) : 'x');
    text[tl] = 0;
    c.text = text;
    /* verify is bound to the code: now and then the right one, so the save path is explored too */
    if (c.type == HC_CMD_VERIFY && (d[0] & 0x40)) c.text = hc_meeting_code(F.m);
    hc_meeting_command(F.m, &c, F.now);
}

/* A resume statement for our meeting id, signed by the leader, member 3 or ourselves, naming the
 * instance we came from or another. */
static void feed_resume_statement(uint8_t signer, uint8_t which_uuid) {
    const hc_identity *id = signer % 3 == 0 ? &leader_id : signer % 3 == 1 ? &other_id : &me;
    hc_msg q;
    hc_msg_init(&q, HC_MSG_RESUME);
    snprintf(q.meeting_id, sizeof q.meeting_id, "%s", MID);
    snprintf(q.name, sizeof q.name, "r");
    memcpy(q.ivk, id->ivk, 32);
    memcpy(q.uuid, which_uuid & 1 ? uuid : prev_uuid, 16);
    if (hc_resume_sign(q.sig, q.meeting_id, q.uuid, q.ivk, id->isk) < 0) abort();
    if (which_uuid & 2) q.sig[5] ^= 1;
    feed_msg(&q);
}

static void relay_notice(const uint8_t *d, size_t n) {
    if (n < 2) return;
    static const uint8_t types[] = {HC_MSG_LEADER, HC_MSG_MEMBER_JOINED, HC_MSG_MEMBER_LEFT, HC_MSG_ERROR,
                                    HC_MSG_PING, HC_MSG_PONG, HC_MSG_MEDIA_READY, HC_MSG_KEYACK, HC_MSG_RESUME,
                                    HC_MSG_LOCKED_OUT};
    if (types[d[0] % sizeof types] == HC_MSG_RESUME) {
        feed_resume_statement(d[1], n > 2 ? d[2] : 0);
        return;
    }
    hc_msg msg;
    hc_msg_init(&msg, types[d[0] % sizeof types]);
    uint32_t idx = d[1];
    if (n > 2 && d[2] == 0xFF) idx = 0xFFFFFFFFu;
    else if (n > 3) idx |= (uint32_t)d[2] << 8 | (uint32_t)d[3] << 16;
    msg.index = idx;
    msg.code = (uint16_t)(d[1] % 22);
    msg.opaque = F.now - d[1];
    msg.epoch = idx;
    msg.value = idx;
    snprintf(msg.name, sizeof msg.name, "m%u", idx);
    feed_msg(&msg);
}

static void enforce_bounds(void) {
    const hc_meeting *m = F.m;
    if (m->n_mem > MT_MEMBERS_CAP || m->n_epochs > MAX_EPOCHS || m->n_unknown[UNK_AUDIO] > UNKNOWN_BUF_MAX || m->n_unknown[UNK_VIDEO] > UNKNOWN_BUF_MAX) abort();
    if (m->rx.count > 2 * MAX_EPOCHS * (m->n_mem + 1)) abort();
    if (m->n_rates > MT_RATE_KINDS) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!inited) {
        if (sodium_init() < 0) abort();
        uint8_t seed[32];
        memset(seed, 0x11, 32);
        hc_identity_from_seed(&me, seed);
        memset(seed, 0x22, 32);
        hc_identity_from_seed(&leader_id, seed);
        memset(seed, 0x33, 32);
        hc_identity_from_seed(&other_id, seed);
        memset(leader_eph.sk, 0x44, 32);
        crypto_scalarmult_base(leader_eph.pk, leader_eph.sk);
        memset(other_eph.sk, 0x55, 32);
        crypto_scalarmult_base(other_eph.pk, other_eph.sk);
        inited = 1;
    }
    memset(&F, 0, offsetof(fstate, buf));
    F.now = 1000000;
    hc_meeting_config cfg;
    hc_meeting_config_defaults(&cfg);
    cfg.id = &me;
    snprintf(cfg.name, sizeof cfg.name, "fuzz");
    snprintf(cfg.meeting_id, sizeof cfg.meeting_id, "%s", MID);
    cfg.is_verified = is_verified;
    uint8_t flags = size ? data[0] : 0;
    if (flags & 2) cfg.admit = HC_ADMIT_ASK;
    if (flags & 8) {
        memset(&resume_ctx, 0, sizeof resume_ctx);
        snprintf(resume_ctx.meeting_id, sizeof resume_ctx.meeting_id, "%s", MID);
        memcpy(resume_ctx.uuid, flags & 16 ? uuid : prev_uuid, 16);
        memcpy(resume_ctx.leader_ivk, leader_id.ivk, 32);
        memcpy(resume_ivks[0], leader_id.ivk, 32);
        memcpy(resume_ivks[1], other_id.ivk, 32);
        resume_ctx.ivks = resume_ivks;
        resume_ctx.n_ivks = 2;
        resume_ctx.rank = flags & 128 ? HC_RESUME_NO_RANK : 0;
        resume_ctx.epoch = 7;
        resume_ctx.locked = (flags & 4) != 0;
        resume_ctx.lock_ivks = resume_ivks;
        resume_ctx.n_lock_ivks = 2;
        cfg.resume = &resume_ctx;
        cfg.stall_ms = 3000;
        cfg.reconnect = 1;
    }
    hc_meeting_io io = {.ctx = NULL, .send_ctrl = io_ctrl, .send_media = io_media, .event = io_event,
                        .media = io_payload, .loss_report = io_loss, .remember_verified = io_remember,
                        .media_token = io_token, .media_ready = io_ready};
    F.m = hc_meeting_new(&cfg, &io, F.now);
    if (!F.m) abort();
    hc_meeting_start(F.m, F.now);
    if ((flags & 8) && (flags & 32)) {
        /* the relay does not have the meeting yet: ask again, then (rank 0) re-create it */
        hc_msg e;
        hc_msg_init(&e, HC_MSG_ERROR);
        e.code = HC_ERR_NO_SUCH_MEETING;
        for (int k = 0; k < 6; k++) {
            feed_msg(&e);
            for (int t = 0; t < 20; t++) {
                F.now += 50;
                hc_meeting_tick(F.m, F.now);
            }
        }
    }

    hc_msg j;
    hc_msg_init(&j, HC_MSG_JOINED);
    snprintf(j.meeting_id, sizeof j.meeting_id, "%s", MID);
    memcpy(j.uuid, uuid, 16);
    j.index = SELF;
    j.leader = LEADER;
    uint8_t members[12];
    hc_put_u32(members, LEADER);
    hc_put_u32(members + 4, SELF);
    hc_put_u32(members + 8, OTHER);
    j.members = members;
    j.n_members = 3;
    feed_msg(&j);
    uint8_t nonce[HC_NONCE_LEN];
    memset(nonce, 0x66, sizeof nonce);
    if ((flags & 8) && (flags & 64)) feed_resume_statement(0, 0);
    if (!(flags & 1)) {
        announce_as(&leader_id, &leader_eph, LEADER, "leader", nonce, F.leader_bhash);
        if (flags & 4) announce_as(&other_id, &other_eph, OTHER, "other", nonce, F.other_bhash);
    }

    size_t off = size ? 1 : 0;
    for (int rec = 0; rec < 400 && off + 2 <= size; rec++) {
        uint8_t kind = data[off];
        size_t len = data[off + 1];
        off += 2;
        if (len > size - off) len = size - off;
        const uint8_t *d = data + off;
        off += len;
        switch (kind % 13) {
        case 0: hc_meeting_on_frame(F.m, d, len, F.now); break;
        case 1: hc_meeting_on_media(F.m, d, len, F.now); break;
        case 2: {
            uint32_t ms = len ? d[0] : 20;
            if (len > 1) ms |= (uint32_t)d[1] << 8;  /* up to ~65 s */
            for (uint32_t t = 0; t < ms; t += 50) {
                F.now += ms - t < 50 ? ms - t : 50;
                hc_meeting_tick(F.m, F.now);
                (void)hc_meeting_next_deadline(F.m);
            }
            break;
        }
        case 3: command(d, len); break;
        case 4: leader_keybox(d, len); break;
        case 5: leader_roster(d, len); break;
        case 6: leader_heartbeat(len ? d[0] : 0, len > 1 && d[1] == 0xFF); break;
        case 7: member_frame(d, len, 0); break;
        case 8: member_frame(d, len, 1); break;
        case 9: {
            uint8_t nn[HC_NONCE_LEN];
            memset(nn, len ? d[0] : 0, sizeof nn);
            if (len > 1 && d[1] & 1) announce_as(&leader_id, &leader_eph, LEADER, len > 2 && d[2] == 1 ? "mallory" : "leader", nn,
                                                 F.leader_bhash[0] || F.leader_bhash[1] ? NULL : F.leader_bhash);
            else announce_as(&other_id, &other_eph, OTHER, "other", nn, F.other_bhash);
            break;
        }
        case 10: relay_notice(d, len); break;
        case 11: {
            if (!F.n_replay) break;
            size_t i = (len ? d[0] : 0) % (F.n_replay < NREPLAY ? F.n_replay : NREPLAY);
            uint8_t *copy = malloc(F.replay_len[i] ? F.replay_len[i] : 1);
            if (!copy) abort();
            memcpy(copy, F.replay[i], F.replay_len[i]);
            if (F.is_media[i]) hc_meeting_on_media(F.m, copy, F.replay_len[i], F.now);
            else hc_meeting_on_frame(F.m, copy, F.replay_len[i], F.now);
            free(copy);
            break;
        }
        case 12: {
            uint8_t pl[64];
            memset(pl, len ? d[0] : 0, sizeof pl);
            hc_meeting_send_audio(F.m, pl, len % sizeof pl, 0x80, F.now);
            uint32_t s[2] = {LEADER, OTHER};
            uint8_t l[2] = {len ? d[0] : 0, 5};
            hc_meeting_send_report(F.m, s, l, 2, F.now);
            break;
        }
        }
        enforce_bounds();
        /* read-only accessors must work in every state */
        hc_member_info mi[8];
        (void)hc_meeting_members(F.m, mi, 8);
        (void)hc_meeting_code(F.m);
        (void)hc_meeting_roster_size(F.m);
    }
    if (getenv("FUZZ_MEETING_DEBUG"))  /* to check what a seed reaches */
        fprintf(stderr, "phase %d send_epoch %u highest %u leader %u roster %zu members %zu reason '%s'\n",
                (int)hc_meeting_phase_get(F.m), hc_meeting_send_epoch(F.m), hc_meeting_highest_epoch(F.m),
                hc_meeting_leader_index(F.m), hc_meeting_roster_size(F.m), F.m->n_mem, hc_meeting_left_reason(F.m));
    hc_meeting_free(F.m);
    F.m = NULL;
    for (size_t i = 0; i < NREPLAY; i++) free(F.replay[i]);
    return 0;
}
