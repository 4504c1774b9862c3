/* Epochs and frame keys: which meeting keys we hold, which one we send under, and sealing and
 * opening of media (stream 1) and chat (stream 3) frames with per-sender SFrame keys.
 *
 * Receive keys are derived lazily per KID (stream, sender, epoch) and cached with their replay
 * window; only members whose signed announcement we hold get a key, so a relay cannot make us
 * derive keys for invented senders. Superseded epochs stay usable for old_key_ms, then every
 * key derived from them is wiped. */
#include "app/meeting_internal.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

enum { RX_OK, RX_UNKNOWN_EPOCH, RX_BAD };

const mt_epoch *mt_epoch_get(const hc_meeting *m, uint32_t epoch) {
    for (size_t i = 0; i < m->n_epochs; i++)
        if (m->epochs[i].epoch == epoch) return &m->epochs[i];
    return NULL;
}

/* Wipes and removes cached receive keys: those of one epoch, of one sender, or all of them. */
enum { RM_EPOCH, RM_SENDER, RM_ALL };
static void rx_remove(hc_meeting *m, int which, uint32_t value) {
    hc_hmap_slot *s;
    for (size_t i = 0; (s = hc_hmap_next(&m->rx, &i));) {
        mt_rxkey *k = s->val;
        if ((which == RM_EPOCH && k->epoch != value) || (which == RM_SENDER && k->sender != value)) continue;
        hc_hmap_del_slot(&m->rx, s);
        hc_sframe_key_wipe(&k->key);
        free(k);
    }
}

static void tx_wipe(hc_meeting *m) {
    hc_sframe_sender_wipe(&m->tx_audio);
    hc_sframe_sender_wipe(&m->tx_chat);
    hc_sframe_sender_wipe(&m->tx_video);
    m->have_tx = 0;
}

static void drop_epoch(hc_meeting *m, size_t i) {
    /* The key we send under goes with its epoch: nothing is sealed under a wiped MK's keys. */
    if (m->epochs[i].epoch == m->send_epoch && m->epochs[i].leader == m->send_leader) tx_wipe(m);
    rx_remove(m, RM_EPOCH, m->epochs[i].epoch);
    sodium_memzero(&m->epochs[i], sizeof m->epochs[i]);
    m->epochs[i] = m->epochs[--m->n_epochs];
}

void mt_epoch_collision(hc_meeting *m, uint32_t epoch, uint32_t leader) {
    for (size_t i = 0; i < m->n_epochs; i++)
        if (m->epochs[i].epoch == epoch && m->epochs[i].leader != leader) {
            drop_epoch(m, i);
            return;
        }
}

int mt_install_epoch(hc_meeting *m, uint32_t epoch, uint32_t leader, const uint8_t mk[32], uint16_t suite) {
    const mt_epoch *have = mt_epoch_get(m, epoch);
    if (have && have->leader == leader) return 0;
    mt_epoch_collision(m, epoch, leader);
    if (m->n_epochs == MAX_EPOCHS) {
        /* Full (many rekeys within old_key_ms): drop the oldest epoch, but never the one we send
         * under; a retired epoch goes before a current one. */
        size_t lo = MAX_EPOCHS;
        for (size_t i = 0; i < m->n_epochs; i++) {
            if (m->epochs[i].epoch == m->send_epoch) continue;
            if (lo == MAX_EPOCHS || m->epochs[i].epoch < m->epochs[lo].epoch) lo = i;
        }
        if (lo < MAX_EPOCHS) drop_epoch(m, lo);
    }
    mt_epoch *e = &m->epochs[m->n_epochs++];
    e->epoch = epoch;
    e->leader = leader;
    memcpy(e->mk, mk, HC_MK_LEN);
    e->suite = suite;
    e->retire_at = 0;
    if (epoch > m->highest_epoch) m->highest_epoch = epoch;
    return 0;
}

void mt_switch_send_epoch(hc_meeting *m, uint32_t epoch) {
    const mt_epoch *e = mt_epoch_get(m, epoch);
    if (!e || (e->leader == m->send_leader && m->have_tx && epoch <= m->send_epoch)) return;
    hc_sframe_key ka, kc, kv;
    if (hc_frame_key(&ka, e->suite, e->mk, m->uuid, m->meeting_id, epoch, m->self, HC_STREAM_AUDIO) < 0 ||
        hc_frame_key(&kc, e->suite, e->mk, m->uuid, m->meeting_id, epoch, m->self, HC_STREAM_CHAT) < 0 ||
        hc_frame_key(&kv, e->suite, e->mk, m->uuid, m->meeting_id, epoch, m->self, HC_STREAM_VIDEO) < 0) {
        hc_sframe_key_wipe(&ka);
        hc_sframe_key_wipe(&kc);
        return;
    }
    tx_wipe(m);
    hc_sframe_sender_init(&m->tx_audio, &ka);
    hc_sframe_sender_init(&m->tx_chat, &kc);
    hc_sframe_sender_init(&m->tx_video, &kv);
    hc_sframe_key_wipe(&ka);
    hc_sframe_key_wipe(&kc);
    hc_sframe_key_wipe(&kv);
    m->have_tx = 1;
    m->key_missing_told = 0;
    /* Older epochs (and any of an earlier leader) stay for frames still in flight, then go. */
    uint32_t leader = e->leader;
    for (size_t i = 0; i < m->n_epochs; i++)
        if ((m->epochs[i].epoch < epoch || m->epochs[i].leader != leader) && !m->epochs[i].retire_at)
            m->epochs[i].retire_at = m->now + m->cfg.old_key_ms;
    m->send_epoch = epoch;
    m->send_leader = leader;
    m->switch_gen++;   /* the others switch too: every member's split-view clock restarts (foreign_epoch) */
    hc_event ev = {.type = HC_EV_KEY_EPOCH, .epoch = epoch, .members = (uint32_t)hc_meeting_roster_size(m)};
    mt_emit(m, &ev);
    if (m->muted) mt_send_state(m);
}

void mt_follow_certified(hc_meeting *m) {
    const mt_epoch *best = NULL;
    for (size_t i = 0; i < m->n_epochs; i++) {
        const mt_epoch *e = &m->epochs[i];
        if (e->leader == m->leader && e->epoch <= m->certified_epoch && (!best || e->epoch > best->epoch)) best = e;
    }
    if (best) mt_switch_send_epoch(m, best->epoch);
}

void mt_keys_leader_changed(hc_meeting *m) {
    m->certified_epoch = 0;
    m->key_missing_told = 0;
    for (size_t i = 0; i < m->n_epochs; i++)
        if (m->epochs[i].leader != m->leader && !m->epochs[i].retire_at)
            m->epochs[i].retire_at = m->now + m->cfg.old_key_ms;
}

static mt_rxkey *rx_get(hc_meeting *m, uint64_t kid, int *why) {
    mt_rxkey *k = hc_hmap_get(&m->rx, &kid, sizeof kid);
    if (k) return k;
    uint8_t stream, e8;
    uint32_t sender;
    hc_kid_split(kid, &stream, &sender, &e8);
    *why = RX_BAD;
    if (kid >> 32 || sender == m->self) return NULL;
    mt_member *x = mt_find(m, sender);
    if (!x || !x->have_binding) return NULL;
    const mt_epoch *ep = NULL;
    for (size_t i = 0; i < m->n_epochs; i++)
        if ((m->epochs[i].epoch & 0xFF) == e8 && (!ep || m->epochs[i].epoch > ep->epoch)) ep = &m->epochs[i];
    if (!ep) { *why = RX_UNKNOWN_EPOCH; return NULL; }
    if (ep->epoch < x->rx_floor) return NULL;   /* the relay said it left: no fresh replay window */
    k = calloc(1, sizeof *k);
    if (!k) return NULL;
    if (hc_frame_key(&k->key, ep->suite, ep->mk, m->uuid, m->meeting_id, ep->epoch, sender, stream) < 0) {
        hc_sframe_key_wipe(&k->key);
        free(k);
        return NULL;
    }
    hc_replay_init(&k->win);
    k->epoch = ep->epoch;
    k->sender = sender;
    if (hc_hmap_put(&m->rx, &kid, sizeof kid, k) < 0) {
        hc_sframe_key_wipe(&k->key);
        free(k);
        return NULL;
    }
    return k;
}

static void count_auth_fail(hc_meeting *m, mt_member *x) {
    x->rx.auth_fail++;
    if (++x->auth_fail_recent >= ALERT_THRESHOLD && !x->auth_alerted) {
        x->auth_alerted = 1;
        mt_alert(m, "media_auth_failed", "%llu frames from member %u failed authentication: modified in transit",
                 (unsigned long long)x->auth_fail_recent, x->index);
    }
}

static void count_replay(hc_meeting *m, mt_member *x) {
    x->rx.replay++;
    if (++x->replay_recent >= ALERT_THRESHOLD && !x->replay_alerted) {
        x->replay_alerted = 1;
        mt_alert(m, "media_replay", "%llu frames from member %u were replayed", (unsigned long long)x->replay_recent,
                 x->index);
    }
}

/* Each buffer is a ring (unknown_head = oldest): a flood of frames under unknown epochs costs
 * one copy each, not a shift of the whole buffer. Audio and video have a ring each, so a
 * keyframe's burst of fragments cannot push out the audio that arrived with it. */
static void buffer_unknown(hc_meeting *m, int kind, const uint8_t *pkt, size_t len) {
    if (len > HC_MEDIA_MAX) return;
    if (m->n_unknown[kind] == UNKNOWN_BUF_MAX) {  /* full: the oldest frame goes */
        /* counted like one that timed out, so the stats show every frame lost for want of a key */
        const mt_buffered *old = &m->unknown[kind][m->unknown_head[kind]];
        hc_media_info oi;
        if (hc_media_parse(&oi, old->pkt, old->len) == 0) {
            mt_member *x = mt_find(m, (uint32_t)((oi.kid >> 8) & 0xFFFF));
            if (x) x->rx.unknown_kid++;
        }
        m->unknown_head[kind] = (m->unknown_head[kind] + 1) % UNKNOWN_BUF_MAX;
        m->n_unknown[kind]--;
    }
    mt_buffered *b = &m->unknown[kind][(m->unknown_head[kind] + m->n_unknown[kind]++) % UNKNOWN_BUF_MAX];
    b->at_ms = m->now;
    b->len = len;
    memcpy(b->pkt, pkt, len);
}

/* A split view (PROTOCOL.md §12): a listed member whose frames keep coming under an epoch we never
 * received follows another leader's keys: its KIDs name an epoch number we do not hold, or one we
 * hold from our leader (both leaders numbered a key alike) and not one of its frames opens.
 * Frames overtaking their box, or a key we know we lack (key_missing), last far less than
 * SPLIT_VIEW_MS; a keyless joiner (not yet keyed) judges nothing. The clock restarts with each of
 * our own epoch switches and each frame of that member that opens. */
#define SPLIT_VIEW_MS 2000
static void foreign_epoch(hc_meeting *m, mt_member *x, uint8_t e8, int unknown) {
    if (!m->have_tx || !x->listed || x->foreign_alerted) return;
    if (x->foreign_gen != m->switch_gen) {   /* a clock from before our last switch is void */
        x->foreign_gen = m->switch_gen;
        x->foreign_since = 0;
    }
    if (unknown && m->certified_epoch && (m->certified_epoch & 0xFF) == e8) return;   /* our box is late: key_missing */
    if (!x->foreign_since) {
        x->foreign_since = m->now ? m->now : 1;
        return;
    }
    /* ... plus the lag of the leader's heartbeats (at most the miss limit): a member far behind
     * the leader gets the box and the heartbeat of the epoch everyone sends under that much later */
    uint64_t lag = m->hb_last_lag > 0 ? (uint64_t)m->hb_last_lag : 0, limit = mt_miss_limit_ms(m);
    if (m->now - x->foreign_since < SPLIT_VIEW_MS + (lag < limit ? lag : limit)) return;
    x->foreign_alerted = 1;
    mt_alert(m, "split_view",
             "member %u ('%s') has sent only under keys we never received for %llu ms: it follows another leader, the "
             "meeting may have been split; compare the security code again",
             x->index, x->b.name, (unsigned long long)(m->now - x->foreign_since));
}

void mt_media_in(hc_meeting *m, const uint8_t *pkt, size_t len, int from_buffer) {
    hc_media_info mi;
    if (hc_media_parse(&mi, pkt, len) < 0 || (mi.type != HC_MEDIA_AUDIO && mi.type != HC_MEDIA_VIDEO)) return;
    uint8_t stream, e8;
    uint32_t sender;
    hc_kid_split(mi.kid, &stream, &sender, &e8);
    /* The datagram type and the KID's stream must agree: a relay must not get audio decoded as
     * video (both are authenticated, this is the cheap check before the key lookup). */
    int video = mi.type == HC_MEDIA_VIDEO;
    if (stream != (video ? HC_STREAM_VIDEO : HC_STREAM_AUDIO)) return;
    mt_member *x = mt_find(m, sender);
    int why = RX_BAD;
    mt_rxkey *k = rx_get(m, mi.kid, &why);
    if (!k || !x) {
        if (why == RX_UNKNOWN_EPOCH && !from_buffer && x && x->have_binding) {
            buffer_unknown(m, video ? UNK_VIDEO : UNK_AUDIO, pkt, len);
            foreign_epoch(m, x, e8, 1);
        } else if (x) {
            x->rx.unknown_kid++;
        }
        return;
    }
    hc_replay_result rr = hc_replay_check(&k->win, mi.ctr);
    if (rr == HC_REPLAY_DUPLICATE) {
        if (video) x->rx.video_replay++;
        count_replay(m, x);
        return;
    }
    if (rr == HC_REPLAY_TOO_OLD) { x->rx.too_old++; return; }
    uint8_t pt[HC_MEDIA_MAX];
    uint64_t ctr;
    int n = hc_sframe_open(&k->key, pkt + HC_MEDIA_HDR_LEN, len - HC_MEDIA_HDR_LEN, pkt, HC_MEDIA_HDR_LEN, pt,
                           sizeof pt, &ctr);
    if (n < 0) {
        if (video) x->rx.video_auth_fail++;
        count_auth_fail(m, x);
        foreign_epoch(m, x, e8, 0);
        return;
    }
    hc_replay_update(&k->win, ctr);
    x->foreign_since = 0;
    if (video) {
        x->rx.video_ok++;
        if (m->io.video) m->io.video(m->io.ctx, sender, mi.level, pt, (size_t)n);
        return;
    }
    x->rx.ok++;
    if (m->io.media) m->io.media(m->io.ctx, sender, pt, (size_t)n);
}

/* We may send while no newer epoch than ours is certified. When the leader has certified one
 * whose key never reached us (a box lost or held back), sending on under the old key would let
 * a member who just left read us: we go quiet until the key arrives. */
int mt_may_send(hc_meeting *m) {
    /* A stall past the miss limit: the roster we would send under may be older than the limit
     * allows (a kick could be hidden in what we did not receive). */
    if (m->stalled || mt_certified_state_stale(m)) return 0;
    /* Only under a key the current leader made: the one that left (or lost the leadership)
     * holds every key it made, and may have made a key of the same number as the new one. */
    int current = m->have_tx && m->send_leader == m->leader;
    /* (A joiner that was never keyed is only waiting for its first box: nothing is missing.) */
    if (m->send_epoch && m->certified_epoch && (!current || m->certified_epoch > m->send_epoch)) {
        if (!m->key_missing_told) {
            m->key_missing_told = 1;
            mt_alert(m, "key_missing", "the leader put epoch %u in use but its key has not reached us: "
                     "not sending until it does", m->certified_epoch);
        }
        return 0;
    }
    return current;
}

int hc_meeting_send_audio(hc_meeting *m, const uint8_t *payload, size_t len, uint8_t level, uint64_t now_ms) {
    if (now_ms > m->now) m->now = now_ms;
    if (m->phase != HC_MT_IN || m->muted || !mt_may_send(m)) return -1;
    uint8_t pkt[HC_MEDIA_MAX];
    if (len + HC_MEDIA_HDR_LEN + HC_SFRAME_OVERHEAD_MAX > sizeof pkt) return -1;
    pkt[0] = hc_media_byte0(HC_MEDIA_AUDIO);
    pkt[1] = level;
    int n = hc_sframe_sender_seal(&m->tx_audio, pkt, HC_MEDIA_HDR_LEN, payload, len, pkt + HC_MEDIA_HDR_LEN,
                                  sizeof pkt - HC_MEDIA_HDR_LEN);
    if (n < 0) return -1;
    if (m->io.send_media) m->io.send_media(m->io.ctx, pkt, (size_t)n + HC_MEDIA_HDR_LEN);
    return 0;
}

int hc_meeting_send_video(hc_meeting *m, uint8_t flags, const uint8_t *payload, size_t len, uint64_t now_ms) {
    if (now_ms > m->now) m->now = now_ms;
    if (m->phase != HC_MT_IN || !mt_may_send(m)) return -1;
    uint8_t pkt[HC_MEDIA_MAX];
    if (len + HC_MEDIA_HDR_LEN + HC_SFRAME_OVERHEAD_MAX > sizeof pkt) return -1;
    pkt[0] = hc_media_byte0(HC_MEDIA_VIDEO);
    pkt[1] = flags;
    int n = hc_sframe_sender_seal(&m->tx_video, pkt, HC_MEDIA_HDR_LEN, payload, len, pkt + HC_MEDIA_HDR_LEN,
                                  sizeof pkt - HC_MEDIA_HDR_LEN);
    if (n < 0) return -1;
    if (m->io.send_media) m->io.send_media(m->io.ctx, pkt, (size_t)n + HC_MEDIA_HDR_LEN);
    return 0;
}

int hc_meeting_video_ctrl(hc_meeting *m, uint8_t op, uint32_t index, uint32_t value) {
    if (m->phase != HC_MT_IN) return -1;
    hc_msg v;
    hc_msg_init(&v, HC_MSG_VIDEO);
    v.flag = op;
    v.index = index;
    v.value = value;
    mt_send(m, &v);
    return 0;
}

int mt_seal_chat(hc_meeting *m, const uint8_t *pt, size_t len, uint8_t *out, size_t cap) {
    if (!mt_may_send(m)) return -1;
    return hc_sframe_sender_seal(&m->tx_chat, NULL, 0, pt, len, out, cap);
}

int mt_open_chat(hc_meeting *m, uint32_t from, const uint8_t *in, size_t len, uint8_t *pt, size_t cap) {
    uint64_t kid, ctr;
    int hl = hc_sframe_header_decode(in, len, &kid, &ctr);
    if (hl < 0) return -1;
    uint8_t stream, e8;
    uint32_t sender;
    hc_kid_split(kid, &stream, &sender, &e8);
    mt_member *x = mt_find(m, from);
    if (stream != HC_STREAM_CHAT || sender != from || !x) return -1;
    /* Longer than any message we accept: dropped as oversized, not blamed on the network. */
    if (len - (size_t)hl > cap + HC_SFRAME_TAG_LEN) {
        mt_notice(m, "dropped an oversized message from member %u", from);
        return -1;
    }
    int why = RX_BAD;
    mt_rxkey *k = rx_get(m, kid, &why);
    if (!k) { x->rx.unknown_kid++; return -1; }
    hc_replay_result rr = hc_replay_check(&k->win, ctr);
    if (rr != HC_REPLAY_OK) { count_replay(m, x); return -1; }
    int n = hc_sframe_open(&k->key, in, len, NULL, 0, pt, cap, &ctr);
    if (n < 0) { count_auth_fail(m, x); return -1; }
    hc_replay_update(&k->win, ctr);
    return n;
}

/* The member left (or the relay says so): its cached keys go, and no key of an epoch held now is
 * derived for it again. Otherwise a fake MEMBER_LEFT would give its next frames a fresh replay
 * window, and old frames replayed then would play (or show) twice. A real rejoin has a new index. */
void mt_forget_member_keys(hc_meeting *m, uint32_t index) {
    rx_remove(m, RM_SENDER, index);
    mt_member *x = mt_find(m, index);
    if (x && m->highest_epoch < UINT32_MAX) x->rx_floor = m->highest_epoch + 1;
}

static void retry_unknown(hc_meeting *m, int kind);

void mt_keys_tick(hc_meeting *m) {
    for (size_t i = 0; i < m->n_epochs;) {
        if (m->epochs[i].retire_at && m->now >= m->epochs[i].retire_at) drop_epoch(m, i);
        else i++;
    }
    for (int kind = 0; kind < UNK_KINDS; kind++) retry_unknown(m, kind);
}

/* Frames waiting for a key: retry now (a box may have arrived), drop after unknown_kid_ms.
 * Kept frames are compacted towards the head of the ring, in order. */
static void retry_unknown(hc_meeting *m, int kind) {
    size_t w = 0, n = m->n_unknown[kind], head = m->unknown_head[kind];
    mt_buffered *ring = m->unknown[kind];
    for (size_t i = 0; i < n; i++) {
        mt_buffered *b = &ring[(head + i) % UNKNOWN_BUF_MAX];
        hc_media_info mi;
        if (hc_media_parse(&mi, b->pkt, b->len) < 0) continue;
        int why = RX_BAD;
        if (rx_get(m, mi.kid, &why)) {
            mt_media_in(m, b->pkt, b->len, 1);
            continue;
        }
        if (m->now - b->at_ms >= m->cfg.unknown_kid_ms || why != RX_UNKNOWN_EPOCH) {
            mt_member *x = mt_find(m, (uint32_t)((mi.kid >> 8) & 0xFFFF));
            if (x) x->rx.unknown_kid++;
            continue;
        }
        if (w != i) ring[(head + w) % UNKNOWN_BUF_MAX] = *b;
        w++;
    }
    m->n_unknown[kind] = w;
}

void mt_keys_wipe(hc_meeting *m) {
    while (m->n_epochs) drop_epoch(m, m->n_epochs - 1);
    rx_remove(m, RM_ALL, 0);
    tx_wipe(m);
    for (int kind = 0; kind < UNK_KINDS; kind++) {
        if (m->unknown[kind]) sodium_memzero(m->unknown[kind], UNKNOWN_BUF_MAX * sizeof *m->unknown[kind]);
        m->n_unknown[kind] = 0;
        m->unknown_head[kind] = 0;
    }
}
