/* Video (stream 2) through the meeting state machine, in the in-process simulation (tests/sim.h:
 * N participants and a real relay core, fake clock): fragments sealed under the sender's stream-2
 * KID open at the others with the same bytes and flags; tampered, replayed and unknown-key
 * datagrams are refused and counted; a member who left cannot open what is sent after the switch;
 * the unknown-KID buffer keeps audio and video apart; the audio and video counters are apart. The
 * meeting does not look inside a fragment, so the plaintexts are fragment headers plus a pattern. */
#include "tests/testutil.h"

#include <sodium.h>

#include "app/commands.h"
#include "app/meeting_internal.h"
#include "crypto/bytes.h"
#include "crypto/sframe.h"
#include "video/fragment.h"
/* sim.h's helpers this file does not need (sim_drop, sim_last, sim_relay_restart) */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#include "tests/sim.h"
#pragma GCC diagnostic pop

#define LOG_MAX 512

/* What each participant's io.video / io.video_ctrl / io.media got. */
typedef struct {
    size_t n;                     /* video fragments delivered */
    uint32_t sender;              /* of the last one */
    uint8_t flags;
    size_t len;
    uint8_t data[HC_MEDIA_MAX];
    uint32_t seq[LOG_MAX];        /* frame seq (plaintext bytes 0..3) of each, in order */
    size_t n_audio;
    uint8_t audio[LOG_MAX];       /* first payload byte of each audio frame, in order */
    size_t n_ctrl;
    uint8_t ctrl_op;
    uint32_t ctrl_value;
} vrx;

static vrx vr[SIM_MAX];

static void on_video(void *ctx, uint32_t sender, uint8_t flags, const uint8_t *pt, size_t len) {
    sim_part *p = ctx;
    vrx *v = &vr[p->slot];
    assert_true(len <= sizeof v->data);
    if (v->n < LOG_MAX) v->seq[v->n] = len >= 4 ? hc_get_u32(pt) : (uint32_t)UINT32_MAX;
    v->n++;
    v->sender = sender;
    v->flags = flags;
    v->len = len;
    memcpy(v->data, pt, len);
}

static void on_video_ctrl(void *ctx, uint8_t op, uint32_t index, uint32_t value) {
    sim_part *p = ctx;
    vrx *v = &vr[p->slot];
    (void)index;
    v->n_ctrl++;
    v->ctrl_op = op;
    v->ctrl_value = value;
}

static void on_audio(void *ctx, uint32_t sender, const uint8_t *payload, size_t len) {
    sim_part *p = ctx;
    vrx *v = &vr[p->slot];
    if (v->n_audio < LOG_MAX) v->audio[v->n_audio] = len ? payload[0] : 0;
    v->n_audio++;
    sim_media_cb(ctx, sender, payload, len);
}

/* The sim's io has no video callbacks: add them to participant i's meeting. */
static void hook(sim *s, int i) {
    memset(&vr[i], 0, sizeof vr[i]);
    s->p[i].m->io.video = on_video;
    s->p[i].m->io.video_ctrl = on_video_ctrl;
    s->p[i].m->io.media = on_audio;
}

/* A meeting of n: slot 0 hosts, the others join; everyone settled and hooked. */
static sim *meeting_of(int n) {
    sim *s = sim_new(NULL);
    sim_add(s, "p0", 1, NULL, NULL, NULL);
    hook(s, 0);
    sim_run(s, 100, 10);
    for (int i = 1; i < n; i++) {
        sim_add(s, "p", 0, sim_meeting_id(s, 0), NULL, NULL);
        hook(s, i);
    }
    sim_run(s, 1500, 10);
    for (int i = 0; i < n; i++) assert_int_equal(hc_meeting_phase_get(s->p[i].m), HC_MT_IN);
    return s;
}

static uint32_t idx(sim *s, int i) { return hc_meeting_self_index(s->p[i].m); }

/* What participant i counts of sender `from`. */
static hc_rx_counters rx_of(sim *s, int i, int from) {
    hc_member_info mi[16];
    size_t n = hc_meeting_members(s->p[i].m, mi, 16);
    for (size_t k = 0; k < n; k++)
        if (mi[k].index == idx(s, from)) return mi[k].rx;
    fail_msg("member %d unknown to %d", from, i);
    hc_rx_counters none = {0};
    return none;
}

/* A fragment plaintext: the 15-byte header of frame `seq`, then plen bytes of a pattern of seq. */
static size_t frag_pt(uint8_t *out, uint32_t seq, uint8_t flags, size_t plen) {
    hc_vfrag_hdr h = {.seq = seq, .index = (flags & HC_VFLAG_START) ? 0 : 1, .count = 2, .capture_ms = 1000 + seq,
                      .kind = (flags & HC_VFLAG_KEY) ? HC_VKIND_KEY : HC_VKIND_INTER,
                      .ref_key = (flags & HC_VFLAG_KEY) ? seq : 0};
    hc_vfrag_hdr_write(out, &h);
    for (size_t i = 0; i < plen; i++) out[HC_VFRAG_HDR_LEN + i] = (uint8_t)(seq * 31 + i * 7);
    return HC_VFRAG_HDR_LEN + plen;
}

/* Removes the one datagram just queued by a sender (so it reaches nobody) and copies it to out. */
static size_t take_sent(sim *s, uint8_t *out) {
    sim_msg *q = s->tail;
    assert_non_null(q);
    assert_ptr_equal(s->head, q);       /* the queue was flushed before the send */
    assert_true(q->to_relay && q->media);
    memcpy(out, q->data, q->len);
    size_t len = q->len;
    s->head = s->tail = NULL;
    free(q);
    return len;
}

/* Seals one fragment at `from` and takes the datagram off the wire. */
static size_t seal_video(sim *s, int from, uint8_t flags, uint32_t seq, size_t plen, uint8_t *out) {
    uint8_t pt[HC_MEDIA_MAX];
    size_t n = frag_pt(pt, seq, flags, plen);
    sim_flush(s);
    assert_int_equal(hc_meeting_send_video(s->p[from].m, flags, pt, n, s->now), 0);
    return take_sent(s, out);
}

static size_t seal_audio(sim *s, int from, uint8_t tag, uint8_t *out) {
    uint8_t pl[40];
    memset(pl, tag, sizeof pl);
    sim_flush(s);
    assert_int_equal(hc_meeting_send_audio(s->p[from].m, pl, sizeof pl, 0x80 | 20, s->now), 0);
    return take_sent(s, out);
}

/* Sends a fragment from `from` through the relay; checks each other member that got it saw the
 * same bytes, flags and sender. Returns how many got it. */
static int send_video(sim *s, int from, uint8_t flags, uint32_t seq, size_t plen) {
    uint8_t pt[HC_MEDIA_MAX];
    size_t n = frag_pt(pt, seq, flags, plen);
    size_t before[SIM_MAX];
    for (int i = 0; i < SIM_MAX; i++) before[i] = vr[i].n;
    assert_int_equal(hc_meeting_send_video(s->p[from].m, flags, pt, n, s->now), 0);
    sim_flush(s);
    int got = 0;
    for (int i = 0; i < SIM_MAX; i++) {
        if (!s->p[i].active || vr[i].n == before[i]) continue;
        assert_true(i != from);
        assert_int_equal(vr[i].n, before[i] + 1);
        assert_int_equal(vr[i].sender, idx(s, from));
        assert_int_equal(vr[i].flags, flags);
        assert_int_equal(vr[i].len, n);
        assert_memory_equal(vr[i].data, pt, n);
        got++;
    }
    return got;
}

static void offer(sim *s, int i) {
    assert_int_equal(hc_meeting_video_ctrl(s->p[i].m, HC_VOP_OFFER, 0, 1), 0);
    sim_flush(s);
}

#define KS (HC_VFLAG_KEY | HC_VFLAG_START)

/* ---- a fragment opens at the others ---- */

static void test_video_fragment_opens(void **st) {
    (void)st;
    sim *s = meeting_of(3);
    offer(s, 1);
    /* the relay told the sender (through io.video_ctrl) that two members receive it */
    assert_true(vr[1].n_ctrl >= 1);
    assert_int_equal(vr[1].ctrl_op, HC_VOP_STATUS);
    assert_int_equal(vr[1].ctrl_value, 2);
    /* the datagram as it leaves: type VIDEO, byte 1 the flags, the stream-2 KID of the sender in
     * its sending epoch, at most 1400 bytes for the largest fragment */
    uint8_t pt[HC_MEDIA_MAX];
    size_t n = frag_pt(pt, 7, KS, HC_VFRAG_PAYLOAD_MAX);
    sim_flush(s);
    assert_int_equal(hc_meeting_send_video(s->p[1].m, KS, pt, n, s->now), 0);
    sim_msg *q = s->tail;
    assert_true(q->to_relay && q->media);
    assert_true(q->len <= HC_MEDIA_MAX);
    hc_media_info mi;
    assert_int_equal(hc_media_parse(&mi, q->data, q->len), 0);
    assert_int_equal(mi.type, HC_MEDIA_VIDEO);
    assert_int_equal(mi.level, KS);
    uint8_t stream, e8;
    uint32_t sender;
    hc_kid_split(mi.kid, &stream, &sender, &e8);
    assert_int_equal(stream, HC_STREAM_VIDEO);
    assert_int_equal(sender, idx(s, 1));
    assert_int_equal(e8, hc_meeting_send_epoch(s->p[1].m) & 0xFF);
    /* the plaintext is not in the datagram */
    for (size_t off = 0; off + 16 <= q->len; off++) assert_true(memcmp(q->data + off, pt + HC_VFRAG_HDR_LEN, 16) != 0);
    sim_flush(s);
    for (int i = 0; i < 3; i += 2) {
        assert_int_equal(vr[i].n, 1);
        assert_int_equal(vr[i].sender, idx(s, 1));
        assert_int_equal(vr[i].flags, KS);
        assert_int_equal(vr[i].len, n);
        assert_memory_equal(vr[i].data, pt, n);
    }
    assert_int_equal(vr[1].n, 0);                    /* never back to the sender */
    /* more fragments, other sizes and flags; the others send too */
    assert_int_equal(send_video(s, 1, HC_VFLAG_KEY | HC_VFLAG_END, 7, 300), 2);
    assert_int_equal(send_video(s, 1, HC_VFLAG_START | HC_VFLAG_END, 8, 1), 2);
    assert_int_equal(send_video(s, 1, 0, 9, 0), 2);
    offer(s, 0);
    assert_int_equal(send_video(s, 0, KS, 1, 900), 2);
    assert_int_equal(send_video(s, 0, HC_VFLAG_END, 1, 100), 2);
    /* a fragment too large for one datagram is refused at the sender */
    uint8_t big[HC_MEDIA_MAX];
    memset(big, 1, sizeof big);
    assert_int_equal(hc_meeting_send_video(s->p[1].m, 0, big, HC_VFRAG_HDR_LEN + HC_VFRAG_PAYLOAD_MAX + 1, s->now), -1);
    /* counted as video, not as audio; no alert anywhere */
    hc_rx_counters c = rx_of(s, 2, 1);
    assert_int_equal(c.video_ok, 4);
    assert_int_equal(c.ok, 0);
    assert_int_equal(c.auth_fail + c.replay + c.unknown_kid + c.too_old, 0);
    assert_int_equal(rx_of(s, 2, 0).video_ok, 2);
    assert_int_equal(rx_of(s, 1, 0).video_ok, 2);
    for (int i = 0; i < 3; i++) assert_int_equal(sim_count(s, i, HC_EV_SECURITY_ALERT, NULL), 0);
    sim_free(s);
}

/* Mute is for audio: a muted member's video still goes out, its audio does not. */
static void test_video_not_muted(void **st) {
    (void)st;
    sim *s = meeting_of(2);
    offer(s, 1);
    hc_command mute = {.type = HC_CMD_MUTE};
    assert_int_equal(hc_meeting_command(s->p[1].m, &mute, s->now), 0);
    sim_run(s, 100, 10);
    assert_int_equal(hc_meeting_send_audio(s->p[1].m, (const uint8_t *)"x", 1, 0x80, s->now), -1);
    assert_int_equal(send_video(s, 1, KS, 3, 500), 1);
    sim_free(s);
}

/* ---- tampering ---- */

static void test_tampered_video_refused(void **st) {
    (void)st;
    sim *s = meeting_of(2);
    offer(s, 1);
    assert_int_equal(send_video(s, 1, KS, 1, 600), 1);
    uint8_t pkt[HC_MEDIA_MAX], bad[HC_MEDIA_MAX];
    size_t len = seal_video(s, 1, HC_VFLAG_END, 1, 400, pkt);
    uint64_t kid, ctr;
    int hl = hc_sframe_header_decode(pkt + HC_MEDIA_HDR_LEN, len - HC_MEDIA_HDR_LEN, &kid, &ctr);
    assert_true(hl > 0);
    size_t hdr = HC_MEDIA_HDR_LEN + (size_t)hl;   /* media header + SFrame header */
    /* one byte each: the relay-visible flags (authenticated, so it cannot be turned into a
     * keyframe start or an end), the ciphertext (first, middle, last), the tag (first, last). (A
     * changed SFrame counter is caught too, but as a replay when it names one already seen.) */
    const size_t pos[] = {1, 1, 1, hdr, hdr + 200, len - 17, len - 16, len - 1};
    const uint8_t flip[] = {HC_VFLAG_KEY, HC_VFLAG_START, HC_VFLAG_END, 0x80, 0x01, 0x40, 0x01, 0x80};
    size_t nt = sizeof pos / sizeof pos[0];
    hc_rx_counters c0 = rx_of(s, 0, 1);
    for (size_t t = 0; t < nt; t++) {
        memcpy(bad, pkt, len);
        bad[pos[t]] ^= flip[t];
        hc_meeting_on_media(s->p[0].m, bad, len, s->now);
        hc_rx_counters c = rx_of(s, 0, 1);
        assert_int_equal(c.video_auth_fail, c0.video_auth_fail + t + 1);
        assert_int_equal(c.auth_fail, c0.auth_fail + t + 1);
        assert_int_equal(c.video_ok, c0.video_ok);
        assert_int_equal(vr[0].n, 1);    /* never delivered */
    }
    /* a cut datagram (a tag byte short) is refused and counted the same way */
    hc_meeting_on_media(s->p[0].m, pkt, len - 1, s->now);
    assert_int_equal(rx_of(s, 0, 1).video_auth_fail, c0.video_auth_fail + nt + 1);
    /* the failures did not move the replay window: the genuine datagram still opens, once */
    hc_meeting_on_media(s->p[0].m, pkt, len, s->now);
    assert_int_equal(vr[0].n, 2);
    assert_int_equal(vr[0].flags, HC_VFLAG_END);
    uint8_t pt[HC_MEDIA_MAX];
    size_t n = frag_pt(pt, 1, HC_VFLAG_END, 400);
    assert_int_equal(vr[0].len, n);
    assert_memory_equal(vr[0].data, pt, n);
    hc_rx_counters c = rx_of(s, 0, 1);
    assert_int_equal(c.video_ok, c0.video_ok + 1);
    assert_int_equal(c.ok, 0);
    /* past the threshold the user is told, once */
    assert_int_equal(sim_count(s, 0, HC_EV_SECURITY_ALERT, "media_auth_failed"), 1);
    sim_free(s);
}

/* The datagram type is authenticated too: an audio datagram relabelled as video (or the other way)
 * is never delivered as the other kind. */
static void test_relabelled_type_refused(void **st) {
    (void)st;
    sim *s = meeting_of(2);
    offer(s, 1);
    assert_int_equal(send_video(s, 1, KS, 1, 600), 1);
    uint8_t a[HC_MEDIA_MAX], v[HC_MEDIA_MAX];
    size_t al = seal_audio(s, 1, 'A', a);
    size_t vl = seal_video(s, 1, HC_VFLAG_END, 1, 200, v);
    a[0] = hc_media_byte0(HC_MEDIA_VIDEO);
    v[0] = hc_media_byte0(HC_MEDIA_AUDIO);
    size_t vn = vr[0].n, an = vr[0].n_audio;
    hc_meeting_on_media(s->p[0].m, a, al, s->now);
    hc_meeting_on_media(s->p[0].m, v, vl, s->now);
    assert_int_equal(vr[0].n, vn);
    assert_int_equal(vr[0].n_audio, an);
    hc_rx_counters c = rx_of(s, 0, 1);
    assert_int_equal(c.video_ok, 1);
    assert_int_equal(c.ok, 0);
    sim_free(s);
}

/* ---- replay ---- */

static void test_replayed_video_refused(void **st) {
    (void)st;
    sim *s = meeting_of(3);
    offer(s, 1);
    assert_int_equal(send_video(s, 1, KS, 1, 600), 2);
    uint8_t pkt[HC_MEDIA_MAX];
    size_t len = seal_video(s, 1, HC_VFLAG_END, 1, 300, pkt);
    /* the genuine one through the relay, then the same bytes again (the relay replays it, twice) */
    for (int k = 0; k < 3; k++) {
        sim_enqueue(s, 1, 1, 1, pkt, len);
        sim_flush(s);
    }
    for (int i = 0; i < 3; i += 2) {
        assert_int_equal(vr[i].n, 2);
        hc_rx_counters c = rx_of(s, i, 1);
        assert_int_equal(c.video_ok, 2);
        assert_int_equal(c.video_replay, 2);
        assert_int_equal(c.replay, 2);
        assert_int_equal(c.video_auth_fail, 0);
    }
    /* an older fragment played after newer ones is refused as well */
    uint8_t old[HC_MEDIA_MAX];
    size_t ol = seal_video(s, 1, 0, 2, 100, old);
    assert_int_equal(send_video(s, 1, 0, 3, 100), 2);
    sim_enqueue(s, 1, 1, 1, old, ol);     /* late, but never seen: it opens */
    sim_flush(s);
    assert_int_equal(vr[0].n, 4);
    assert_int_equal(vr[0].seq[3], 2);
    sim_enqueue(s, 1, 1, 1, old, ol);     /* again: refused */
    sim_flush(s);
    assert_int_equal(vr[0].n, 4);
    assert_int_equal(rx_of(s, 0, 1).video_replay, 3);
    assert_int_equal(sim_count(s, 0, HC_EV_SECURITY_ALERT, "media_replay"), 1);
    sim_free(s);
}

/* ---- a member who left ---- */

/* Tries every key a participant ever held (and nearby epoch labels) on a captured datagram. */
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

static size_t harvest_mks(sim *s, int i, uint8_t mks[][32], uint32_t *epochs, size_t cap) {
    size_t n = 0;
    uint32_t hi = hc_meeting_highest_epoch(s->p[i].m);
    for (uint32_t e = 1; e <= hi && n < cap; e++)
        if (hc_meeting_debug_mk(s->p[i].m, e, mks[n]) == 0) epochs[n++] = e;
    return n;
}

/* A member leaves; its meeting object is kept. Video sent after the switch that followed reaches
 * it neither through its meeting object nor with any key it ever held. */
static void test_leaver_cannot_open_later_video(void **st) {
    (void)st;
    sim *s = meeting_of(3);
    offer(s, 0);
    assert_int_equal(send_video(s, 0, KS, 1, 500), 2);
    uint8_t mks[16][32];
    uint32_t ep[16];
    size_t n = harvest_mks(s, 2, mks, ep, 16);
    assert_true(n >= 1);
    uint8_t uuid[16];
    char mid[HC_MEETING_ID_MAX + 1];
    memcpy(uuid, s->p[2].m->uuid, 16);
    snprintf(mid, sizeof mid, "%s", sim_meeting_id(s, 0));
    /* sanity: what is sent before the leave opens with those keys */
    uint8_t pre[HC_MEDIA_MAX];
    size_t pl = seal_video(s, 0, HC_VFLAG_END, 1, 300, pre);
    assert_true(opens_with_any(mks, ep, n, uuid, mid, pre, pl));
    uint32_t before = hc_meeting_send_epoch(s->p[0].m);
    hc_command leave = {.type = HC_CMD_LEAVE};
    hc_meeting_command(s->p[2].m, &leave, s->now);
    sim_run(s, 1500, 10);
    assert_true(hc_meeting_send_epoch(s->p[0].m) > before);
    assert_int_equal(hc_meeting_send_epoch(s->p[1].m), hc_meeting_send_epoch(s->p[0].m));
    size_t got = vr[2].n;
    for (int from = 0; from < 2; from++) {
        if (from == 1) offer(s, 1);
        uint8_t pkt[HC_MEDIA_MAX];
        size_t len = seal_video(s, from, KS, 10, 800, pkt);
        assert_false(opens_with_any(mks, ep, n, uuid, mid, pkt, len));
        hc_meeting_on_media(s->p[2].m, pkt, len, s->now);
        sim_run(s, 300, 10);
        assert_int_equal(vr[2].n, got);
    }
    /* the ones who stayed still see each other */
    assert_int_equal(send_video(s, 1, KS, 11, 200), 1);
    assert_int_equal(vr[0].n, 1);
    sim_free(s);
}

/* A member the relay drops while its client runs on, unaware, holding every key it had: after
 * the switch that followed, video fed to it is not delivered (it lacks the key) and is counted,
 * and no key it holds opens it. */
static void test_dropped_member_cannot_open_later_video(void **st) {
    (void)st;
    sim *s = meeting_of(3);
    offer(s, 0);
    assert_int_equal(send_video(s, 0, KS, 1, 500), 2);
    uint8_t mks[16][32];
    uint32_t ep[16];
    size_t n = harvest_mks(s, 2, mks, ep, 16);
    uint8_t uuid[16];
    char mid[HC_MEETING_ID_MAX + 1];
    memcpy(uuid, s->p[2].m->uuid, 16);
    snprintf(mid, sizeof mid, "%s", sim_meeting_id(s, 0));
    uint8_t pre[HC_MEDIA_MAX];      /* sealed before the drop, delivered after the switch */
    size_t pl = seal_video(s, 0, HC_VFLAG_END, 1, 300, pre);
    uint32_t before = hc_meeting_send_epoch(s->p[0].m);
    /* the relay loses it; its meeting object hears nothing of that (set aside while the others go on) */
    hc_meeting *frozen = s->p[2].m;
    hc_relay_on_disconnect(s->relay, s->p[2].conn, s->now);
    s->p[2].conn = 0;
    s->p[2].m = NULL;
    sim_run(s, 1500, 10);
    s->p[2].m = frozen;
    assert_true(hc_meeting_send_epoch(s->p[0].m) > before);
    assert_int_equal(hc_meeting_phase_get(frozen), HC_MT_IN);
    assert_int_equal(hc_meeting_highest_epoch(frozen), before);
    hc_rx_counters c0 = rx_of(s, 2, 0);
    uint8_t pkt[HC_MEDIA_MAX];
    size_t len = seal_video(s, 0, KS, 20, 800, pkt);
    assert_false(opens_with_any(mks, ep, n, uuid, mid, pkt, len));
    size_t got = vr[2].n;
    hc_meeting_on_media(frozen, pkt, len, s->now);
    sim_run(s, 400, 10);   /* past the unknown-KID wait */
    assert_int_equal(vr[2].n, got);
    hc_rx_counters c = rx_of(s, 2, 0);
    assert_int_equal(c.video_ok, c0.video_ok);
    assert_int_equal(c.unknown_kid, c0.unknown_kid + 1);
    /* while a fragment under a key it holds still opens there: it is the key that is missing */
    hc_meeting_on_media(frozen, pre, pl, s->now);
    assert_int_equal(vr[2].n, got + 1);
    assert_int_equal(vr[2].seq[got], 1);
    hc_meeting_on_disconnected(frozen, "test over", s->now);
    sim_free(s);
}

/* ---- the unknown-KID buffer: audio and video apart ---- */

typedef struct {
    int who;
    size_t n;
    uint8_t *f[256];
    size_t len[256];
} held;

/* Holds the control frames to one participant (its key box among them). */
static int hold_frames(sim *s, int who, uint8_t *frame, size_t *len, void *arg) {
    (void)s;
    held *h = arg;
    if (who != h->who) return 1;
    assert_true(h->n < 256);
    h->f[h->n] = malloc(*len);
    assert_non_null(h->f[h->n]);
    memcpy(h->f[h->n], frame, *len);
    h->len[h->n++] = *len;
    return 0;
}

static void release_frames(sim *s, held *h) {
    s->on_to_client = NULL;
    for (size_t i = 0; i < h->n; i++) {
        hc_meeting_on_frame(s->p[h->who].m, h->f[i] + 4, h->len[i] - 4, s->now);
        free(h->f[i]);
    }
    h->n = 0;
}

/* A rekey whose box to participant 2 is held back: the others send under a KID 2 does not know.
 * 2 gets audio, then a burst of video larger than the video buffer; once the key arrives every
 * buffered audio frame plays, in order, and the newest 64 video fragments are delivered. */
static void test_unknown_kid_budgets_apart(void **st) {
    (void)st;
    sim *s = meeting_of(3);
    offer(s, 1);
    assert_int_equal(send_video(s, 1, KS, 1, 300), 2);
    held h = {.who = 2};
    s->on_to_client = hold_frames;
    s->arg = &h;
    int j = sim_add(s, "late", 0, sim_meeting_id(s, 0), NULL, NULL);
    hook(s, j);
    sim_run(s, 1500, 10);
    uint32_t known = hc_meeting_highest_epoch(s->p[2].m);
    assert_true(hc_meeting_send_epoch(s->p[1].m) > known);
    assert_true(h.n > 0);
    size_t a0 = vr[2].n_audio, v0 = vr[2].n;
    hc_rx_counters c0 = rx_of(s, 2, 1);
    enum { NA = 10, NV = 100 };
    uint8_t pkt[HC_MEDIA_MAX];
    for (int i = 0; i < NA; i++) {
        size_t len = seal_audio(s, 1, (uint8_t)('a' + i), pkt);
        hc_meeting_on_media(s->p[2].m, pkt, len, s->now);
    }
    for (int i = 0; i < NV; i++) {
        size_t len = seal_video(s, 1, i ? 0 : KS, 100 + (uint32_t)i, 1000, pkt);
        hc_meeting_on_media(s->p[2].m, pkt, len, s->now);
    }
    assert_int_equal(vr[2].n_audio, a0);
    assert_int_equal(vr[2].n, v0);
    release_frames(s, &h);
    sim_run(s, 50, 10);
    assert_true(hc_meeting_highest_epoch(s->p[2].m) > known);
    /* every audio frame, in order */
    assert_int_equal(vr[2].n_audio, a0 + NA);
    for (int i = 0; i < NA; i++) assert_int_equal(vr[2].audio[a0 + (size_t)i], 'a' + i);
    /* the newest UNKNOWN_BUF_MAX video fragments, in order */
    assert_int_equal(vr[2].n, v0 + UNKNOWN_BUF_MAX);
    for (size_t i = 0; i < UNKNOWN_BUF_MAX; i++) assert_int_equal(vr[2].seq[v0 + i], 100 + NV - UNKNOWN_BUF_MAX + i);
    hc_rx_counters c = rx_of(s, 2, 1);
    assert_int_equal(c.ok, c0.ok + NA);
    assert_int_equal(c.video_ok, c0.video_ok + UNKNOWN_BUF_MAX);
    assert_int_equal(c.auth_fail, c0.auth_fail);
    /* the fragments pushed out of the full ring are counted, not lost silently */
    assert_int_equal(c.unknown_kid, c0.unknown_kid + (NV - UNKNOWN_BUF_MAX));
    /* and 2 is a full member again: it gets what is sent now (the joiner too, from a keyframe) */
    assert_int_equal(send_video(s, 1, KS, 200, 100), 3);
    sim_free(s);
}

/* The other way round: a burst of audio does not push out buffered video either. */
static void test_unknown_kid_audio_burst_keeps_video(void **st) {
    (void)st;
    sim *s = meeting_of(3);
    offer(s, 1);
    assert_int_equal(send_video(s, 1, KS, 1, 300), 2);
    held h = {.who = 2};
    s->on_to_client = hold_frames;
    s->arg = &h;
    int j = sim_add(s, "late", 0, sim_meeting_id(s, 0), NULL, NULL);
    hook(s, j);
    sim_run(s, 1500, 10);
    assert_true(hc_meeting_send_epoch(s->p[1].m) > hc_meeting_highest_epoch(s->p[2].m));
    size_t a0 = vr[2].n_audio, v0 = vr[2].n;
    uint8_t pkt[HC_MEDIA_MAX];
    for (int i = 0; i < 5; i++) {
        size_t len = seal_video(s, 1, i ? 0 : KS, 50 + (uint32_t)i, 1000, pkt);
        hc_meeting_on_media(s->p[2].m, pkt, len, s->now);
    }
    for (int i = 0; i < 3 * UNKNOWN_BUF_MAX; i++) {
        size_t len = seal_audio(s, 1, (uint8_t)i, pkt);
        hc_meeting_on_media(s->p[2].m, pkt, len, s->now);
    }
    release_frames(s, &h);
    sim_run(s, 50, 10);
    assert_int_equal(vr[2].n, v0 + 5);
    for (size_t i = 0; i < 5; i++) assert_int_equal(vr[2].seq[v0 + i], 50 + i);
    assert_int_equal(vr[2].n_audio, a0 + UNKNOWN_BUF_MAX);   /* audio's own budget: the newest 64 */
    assert_int_equal(vr[2].audio[a0], (uint8_t)(2 * UNKNOWN_BUF_MAX));
    sim_free(s);
}

/* ---- counters ---- */

static void test_video_and_audio_counters_apart(void **st) {
    (void)st;
    sim *s = meeting_of(2);
    offer(s, 1);
    uint8_t pkt[HC_MEDIA_MAX];
    /* 3 audio, 5 video, through the relay */
    for (int i = 0; i < 3; i++) {
        assert_int_equal(hc_meeting_send_audio(s->p[1].m, (const uint8_t *)"hi", 2, 0x80, s->now), 0);
        sim_flush(s);
    }
    for (int i = 0; i < 5; i++) assert_int_equal(send_video(s, 1, i ? 0 : KS, 1 + (uint32_t)i, 100), 1);
    hc_rx_counters c = rx_of(s, 0, 1);
    assert_int_equal(c.ok, 3);
    assert_int_equal(c.video_ok, 5);
    assert_int_equal(vr[0].n_audio, 3);
    assert_int_equal(vr[0].n, 5);
    /* a tampered audio frame: auth_fail, not video_auth_fail */
    size_t len = seal_audio(s, 1, 'x', pkt);
    pkt[len - 1] ^= 1;
    hc_meeting_on_media(s->p[0].m, pkt, len, s->now);
    c = rx_of(s, 0, 1);
    assert_int_equal(c.auth_fail, 1);
    assert_int_equal(c.video_auth_fail, 0);
    /* a tampered video fragment: both */
    len = seal_video(s, 1, 0, 9, 100, pkt);
    pkt[len - 1] ^= 1;
    hc_meeting_on_media(s->p[0].m, pkt, len, s->now);
    c = rx_of(s, 0, 1);
    assert_int_equal(c.auth_fail, 2);
    assert_int_equal(c.video_auth_fail, 1);
    /* a replayed audio frame: replay, not video_replay; a replayed video one: both */
    len = seal_audio(s, 1, 'y', pkt);
    hc_meeting_on_media(s->p[0].m, pkt, len, s->now);
    hc_meeting_on_media(s->p[0].m, pkt, len, s->now);
    c = rx_of(s, 0, 1);
    assert_int_equal(c.ok, 4);
    assert_int_equal(c.replay, 1);
    assert_int_equal(c.video_replay, 0);
    len = seal_video(s, 1, 0, 10, 100, pkt);
    hc_meeting_on_media(s->p[0].m, pkt, len, s->now);
    hc_meeting_on_media(s->p[0].m, pkt, len, s->now);
    c = rx_of(s, 0, 1);
    assert_int_equal(c.video_ok, 6);
    assert_int_equal(c.replay, 2);
    assert_int_equal(c.video_replay, 1);
    assert_int_equal(c.ok, 4);
    /* audio and video of one sender have their own keys and replay windows: the same counter
     * value in both streams is no replay */
    assert_int_equal(vr[0].n_audio, 4);
    assert_int_equal(vr[0].n, 6);
    sim_free(s);
}

int main(void) {
    if (sodium_init() < 0) return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_video_fragment_opens),
        cmocka_unit_test(test_video_not_muted),
        cmocka_unit_test(test_tampered_video_refused),
        cmocka_unit_test(test_relabelled_type_refused),
        cmocka_unit_test(test_replayed_video_refused),
        cmocka_unit_test(test_leaver_cannot_open_later_video),
        cmocka_unit_test(test_dropped_member_cannot_open_later_video),
        cmocka_unit_test(test_unknown_kid_budgets_apart),
        cmocka_unit_test(test_unknown_kid_audio_burst_keeps_video),
        cmocka_unit_test(test_video_and_audio_counters_apart),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
