/* The leader's side of the meeting: admission, key boxes, rekeying, the participant list and
 * heartbeats (PROTOCOL.md §3-§5, §8).
 *
 * The leader keeps each member's pairwise box key K_i for the whole meeting, so a rekey costs
 * one AEAD per member. A rekey never derives from the old key: every epoch's MK is fresh. */
#include "app/meeting_internal.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/bytes.h"

static void send_heartbeat(hc_meeting *m);

/* The leader's certified list is its own: rebuilt from member flags, then sent twice over. The
 * whole list goes to the relay in parts (ROSTER) for its board: joiners get it there, and so does
 * a member whose copy does not match. Members get the change since the previous list
 * (ROSTER_DELTA): a join or a leave costs each member a few dozen bytes, not the whole list. */
static void send_roster(hc_meeting *m) {
    hc_roster *r = m->rtmp;
    hc_roster_clear(r);
    r->v = ++m->L.roster_v;
    r->locked = m->locked;
    r->admit = (int)m->admit;
    r->leader = m->self;
    for (size_t i = 0; i < m->n_mem; i++) {
        mt_member *x = m->mem[i];
        if (!x->have_binding || (!x->in_roster && !x->waiting)) continue;
        /* past the limit an entry is left out (admission keeps to it: a last guard only) */
        hc_roster_add(r, !x->in_roster, x->index, x->bhash);
    }
    size_t cap = hc_roster_encoded_len(r);
    uint8_t *enc = malloc(cap), *delta = malloc(HC_ROSTER_DELTA_MAX);
    size_t n = enc ? hc_roster_encode(r, enc, cap) : 0;
    if (!n || !delta) {
        mt_notice(m, "the participant list could not be sent");
        free(enc);
        free(delta);
        return;
    }
    hc_roster_hash(r, m->roster_hash);
    for (size_t off = 0; off < n;) {
        hc_msg msg;
        off = hc_msg_roster_part(&msg, enc, n, off);
        mt_send(m, &msg);
    }
    /* A change too large for one frame goes without a delta: members fetch the whole list. */
    size_t dl = hc_roster_delta_encode(m->have_roster ? m->roster : NULL, r, delta, HC_ROSTER_DELTA_MAX);
    if (dl) {
        hc_msg msg;
        hc_msg_init(&msg, HC_MSG_ROSTER_DELTA);
        msg.data = delta;
        msg.data_len = dl;
        mt_send(m, &msg);
    }
    free(enc);
    free(delta);
    m->rtmp = m->roster;
    m->roster = r;
    m->have_roster = 1;
}

static void send_heartbeat(hc_meeting *m) {
    hc_msg msg;
    hc_msg_init(&msg, HC_MSG_HEARTBEAT);
    hc_hb_fields *hb = &msg.hb;
    hb->v = m->L.roster_v;
    hb->t = ++m->L.t;
    /* The epoch we send under, if we made it: a new leader certifies none until its own. */
    hb->epoch = m->send_leader == m->self ? m->send_epoch : 0;
    /* Timestamps strictly increase even if two heartbeats fall in one millisecond. */
    hb->ts_ms = m->now > m->L.last_ts ? m->now : m->L.last_ts + 1;
    m->L.last_ts = hb->ts_ms;
    memcpy(hb->prev, m->L.prev, 32);
    memcpy(hb->roster_hash, m->roster_hash, 32);
    uint8_t h[32];
    hc_heartbeat_hash(h, m->my_bhash, hb->roster_hash, hb->v, hb->t, hb->epoch, hb->prev, hb->ts_ms);
    hc_sign_hash(hb->sig, m->cfg.id->isk, HC_CTX_SIG_PARTICIPANTS, h);
    memcpy(m->L.prev, h, 32);
    mt_send(m, &msg);
    m->L.next_hb_ms = m->now + m->cfg.heartbeat_ms;
}

/* Epoch e is in use: tell everyone (heartbeat) and start sending under it ourselves. Epochs up
 * to e are settled; the switch is over once the newest one made is certified. */
static void certify(hc_meeting *m, uint32_t e) {
    for (int k = 0; k < SWITCH_SLOTS; k++)
        if (m->L.sw[k].valid && m->L.sw[k].epoch <= e) m->L.sw[k].valid = 0;
    if (e == m->L.epoch) m->L.switching = 0;
    mt_switch_send_epoch(m, e);
    send_heartbeat(m);
}

/* The newest epoch in flight that every member it was boxed to (and still here) acked, if any:
 * it is certified. An older one is as good as the newest when only joins came after it (its
 * holders are all in the list); a departure makes older ones useless (rekey drops them). */
static void certify_acked(hc_meeting *m) {
    uint32_t best = 0;
    for (int k = 0; k < SWITCH_SLOTS; k++)
        if (m->L.sw[k].valid && m->L.sw[k].got >= m->L.sw[k].needed && m->L.sw[k].epoch > best)
            best = m->L.sw[k].epoch;
    if (!best) return;
    m->L.cert_by_acks++;
    certify(m, best);
}

/* A fresh meeting key, boxed for every member with its cached K_i and newest nonce. `departure`:
 * someone who held the keys in flight left, so none of them may be certified now. */
static void rekey(hc_meeting *m, int departure) {
    uint32_t e = (m->L.epoch > m->highest_epoch ? m->L.epoch : m->highest_epoch) + 1;
    int slot = (int)(e % SWITCH_SLOTS);
    uint8_t bit = (uint8_t)(1u << slot);
    randombytes_buf(m->L.mk, sizeof m->L.mk);
    m->L.epoch = e;
    mt_install_epoch(m, e, m->self, m->L.mk, m->cfg.suite);
    hc_box_meta meta;
    memset(&meta, 0, sizeof meta);
    snprintf(meta.meeting_id, sizeof meta.meeting_id, "%s", m->meeting_id);
    memcpy(meta.uuid, m->uuid, HC_UUID_LEN);
    meta.leader_index = m->self;
    uint8_t menc[HC_META_MAX], box[HC_BOX_LEN];
    size_t boxed = 0;
    for (size_t i = 0; i < m->n_mem; i++) {
        mt_member *x = m->mem[i];
        x->boxed_bits &= (uint8_t)~bit;
        x->ack_bits &= (uint8_t)~bit;
        if (!x->in_roster || x->index == m->self || !x->have_k) continue;
        /* Only members the list we sent shows: nobody holds a key that the certified list hides. */
        if (!hc_roster_find(m->roster, x->index)) continue;
        x->boxed_bits |= bit;
        boxed++;
        meta.recipient_index = x->index;
        memcpy(meta.nonce, x->nonce, HC_NONCE_LEN);
        size_t ml = hc_box_meta_encode(&meta, menc, sizeof menc);
        hc_keybox_seal(box, x->k, menc, ml, m->L.mk, e, m->cfg.suite);
        hc_msg msg;
        hc_msg_init(&msg, HC_MSG_KEYBOX);
        msg.index = x->index;
        msg.data = menc;
        msg.data_len = ml;
        msg.data2 = box;
        msg.data2_len = sizeof box;
        mt_send(m, &msg);
    }
    sodium_memzero(m->L.mk, sizeof m->L.mk);  /* the epoch table holds the only copy */
    m->L.next_rekey_ms = m->now + (uint64_t)m->cfg.rekey_s * 1000;
    if (departure)
        for (int k = 0; k < SWITCH_SLOTS; k++) m->L.sw[k].valid = 0;
    m->L.sw[slot].epoch = e;
    m->L.sw[slot].needed = boxed;
    m->L.sw[slot].got = 0;
    m->L.sw[slot].valid = 1;
    if (!boxed) {
        certify(m, e);
    } else if (!m->L.switching) {
        /* A rekey during a switch does not move its deadline: in a join or leave storm a rekey
         * comes every batch, and a deadline pushed back by each would leave joiners waiting for
         * as long as the storm lasts, or for the slowest member's ack. */
        m->L.switching = 1;
        m->L.switch_deadline = m->now + m->cfg.switch_timeout_ms;
    }
}

/* Locking: the identity keys that may still come back while locked (a rejoin after a dropped
 * connection) are those of the members in the roster now. */
static void take_lock_list(hc_meeting *m) {
    free(m->L.lock_ivks);
    m->L.lock_ivks = calloc(m->n_mem ? m->n_mem : 1, 32);
    m->L.n_lock_ivks = 0;
    for (size_t i = 0; m->L.lock_ivks && i < m->n_mem; i++)
        if (m->mem[i]->in_roster) memcpy(m->L.lock_ivks[m->L.n_lock_ivks++], m->mem[i]->b.ivk, 32);
}

/* A roster change: list first, a heartbeat right after (PROTOCOL.md §5), then the new key. */
static void membership_changed(hc_meeting *m, int need_rekey, int departure) {
    send_roster(m);
    send_heartbeat(m);
    if (need_rekey) rekey(m, departure);
}

/* We re-created the meeting after a reconnect (PROTOCOL.md §11.10): epochs go on rising, and a
 * locked meeting stays locked with the same lock list. The relay's lock hint (a snapshot of who
 * has announced) would shut out the members who are still on their way back, so it waits. */
static void resume_begin(hc_meeting *m) {
    const hc_meeting_resume *r = m->cfg.resume;
    if (r->epoch > m->L.epoch) m->L.epoch = r->epoch;
    mt_set_admit(m, r->admit);                     /* the meeting's, not our own default */
    if (!r->locked || m->locked) return;
    m->locked = 1;
    free(m->L.lock_ivks);
    m->L.lock_ivks = calloc(r->n_lock_ivks ? r->n_lock_ivks : 1, 32);
    m->L.n_lock_ivks = 0;
    if (m->L.lock_ivks && r->n_lock_ivks) {
        memcpy(m->L.lock_ivks, r->lock_ivks, r->n_lock_ivks * 32);
        m->L.n_lock_ivks = r->n_lock_ivks;
    }
    m->R.relay_lock_at = m->now + RELAY_LOCK_RESTORE_MS;
}

void mt_leader_begin(hc_meeting *m) {
    hc_roster *prev = m->have_roster ? m->roster : NULL;
    /* The admission policy is the meeting's: a new leader keeps what the last certified list
     * says, whatever its own default (PROTOCOL.md §3.5, §8.3). */
    if (prev) mt_set_admit(m, (hc_admit_policy)prev->admit);
    else if (m->cfg.resume) resume_begin(m);
    else mt_set_admit(m, m->cfg.admit);
    m->L.roster_v = prev ? prev->v : 0;
    m->L.t = 0;
    memset(m->L.prev, 0, 32);
    m->L.batch_deadline = 0;
    m->L.takeover_until = 0;
    m->L.switching = 0;
    memset(m->L.sw, 0, sizeof m->L.sw);
    m->L.n_pending = 0;
    m->L.next_rekey_ms = m->now + (uint64_t)m->cfg.rekey_s * 1000;
    /* Take over the last certified list: its members keep their place (minus whoever left). */
    for (size_t i = 0; i < m->n_mem; i++) {
        mt_member *x = m->mem[i];
        x->in_roster = x->index == m->self ||
                       (prev && hc_roster_find(prev, x->index) && x->listed && x->have_binding);
        x->waiting = prev && hc_roster_find_waiting(prev, x->index) && x->listed && x->have_binding;
        x->pending_admit = 0;
        x->departing = 0;
        if ((x->in_roster || x->waiting) && x->index != m->self && !x->have_k) {
            if (hc_pairwise_key(x->k, x->b.pk, m->eph.sk) == 0) x->have_k = 1;
            else x->in_roster = x->waiting = 0;
        }
        if (x->in_roster) mt_emit_participant_joined(m, x);
    }
    if (prev && prev->locked) take_lock_list(m);   /* it stays locked under its new leader */
    if (!prev) {
        membership_changed(m, 1, 0);   /* a new meeting: we are alone, the first key is ours at once */
    } else {
        /* A leader change: list and heartbeat now, the new key shortly after, once the relay
         * has passed on every member's newest liveness nonce (it sends them right after LEADER). */
        membership_changed(m, 0, 0);
        m->L.force_rekey = 1;
        m->L.batch_deadline = m->now + m->cfg.join_batch_ms;
        /* Counted as a batch, so that nothing keys sooner: an admission (below: joiners the old
         * leader never let in) or a departure in the same read would otherwise key at the next
         * tick, with the first nonces we hold as a member, long out of their window. */
        m->L.last_batch_ms = m->now ? m->now : 1;
        /* And past that, until every listed member's newest nonce has come (at most one rotation
         * period): on a busy relay or cluster bus they can take longer than join_batch_ms. */
        m->L.takeover_until = m->now + m->cfg.nonce_rotate_ms;
    }
    for (size_t i = 0; i < m->n_mem; i++)
        if (m->mem[i]->waiting) {
            mt_member *x = m->mem[i];
            hc_event ev = {.type = HC_EV_ADMISSION_REQUEST, .index = x->index, .name = x->b.name, .fingerprint = x->fpr};
            x->asked = 1;
            mt_emit(m, &ev);
        }
    /* Members who announced but are in neither list: the old leader had not admitted them yet
     * (its join batch had not run, or it never saw the announcement). Admission is ours now;
     * otherwise they would wait for a key forever and everyone would report them as unlisted.
     * Admission sends frames but never adds or removes a member, so the loop index stays valid. */
    for (size_t i = 0; i < m->n_mem; i++) {
        mt_member *x = m->mem[i];
        if (x->index == m->self || !x->listed || !x->have_binding || x->in_roster || x->waiting || x->denied ||
            x->badsig_alerted)
            continue;
        mt_leader_on_announce(m, x, 1);
    }
}

/* x is (or is no longer) admitted and waiting for the next batch. */
static void set_pending_admit(hc_meeting *m, mt_member *x, int on) {
    if (x->pending_admit == on) return;
    x->pending_admit = on;
    if (on) m->L.n_pending++;
    else m->L.n_pending--;
}

static void deny(hc_meeting *m, mt_member *x, const char *why) {
    mt_notice(m, "not admitting member %u ('%s'): %s", x->index, x->b.name, why);
    int was_waiting = x->waiting;
    x->denied = 1;
    x->waiting = 0;
    set_pending_admit(m, x, 0);
    hc_msg msg;
    hc_msg_init(&msg, HC_MSG_DENY);
    msg.index = x->index;
    mt_send(m, &msg);
    if (was_waiting) membership_changed(m, 0, 0);
}

void mt_leader_deny(hc_meeting *m, mt_member *x, const char *why) { deny(m, x, why); }

/* What the next roster holds at most: members listed or about to be (pending), and members
 * waiting. From the list last sent and a count, never a pass over the table: admission runs for
 * every joiner. (A member that left stays counted until the batch that removes it.) */
static void list_counts(const hc_meeting *m, size_t *members, size_t *waiting) {
    *members = (m->have_roster ? m->roster->n : 0) + m->L.n_pending;
    *waiting = m->have_roster ? m->roster->n_waiting : 0;
}

/* The next batch (joins and leaves together) is keyed at the next tick if the last one was at
 * least `window` ago, else when it is: a burst costs one rekey per window, a lone change none of
 * the wait (leading edge, PROTOCOL.md §4.2). An earlier deadline already set stays. */
static void schedule_batch(hc_meeting *m, uint64_t window) {
    uint64_t earliest = m->L.last_batch_ms ? m->L.last_batch_ms + window : 0;
    uint64_t d = m->now >= earliest ? m->now : earliest;
    if (!d) d = 1;
    if (!m->L.batch_deadline || d < m->L.batch_deadline) m->L.batch_deadline = d;
}

static void admit(hc_meeting *m, mt_member *x) {
    size_t members, waiting;
    list_counts(m, &members, &waiting);
    int counted = x->in_roster || x->pending_admit || (m->have_roster && hc_roster_find_waiting(m->roster, x->index));
    if (!counted && members + waiting >= HC_ROSTER_MAX_ENTRIES) {
        /* The key goes only to whom the certified list shows, and it holds this many. */
        char why[96];
        snprintf(why, sizeof why, "the meeting's participant list is full (%d members)", HC_ROSTER_MAX_ENTRIES);
        deny(m, x, why);
        return;
    }
    if (!x->have_k) {
        if (hc_pairwise_key(x->k, x->b.pk, m->eph.sk) < 0) {
            deny(m, x, "its ephemeral key is unusable");
            return;
        }
        x->have_k = 1;
    }
    set_pending_admit(m, x, 1);
    schedule_batch(m, m->cfg.join_batch_ms);
}

static int ivk_in_lock_list(const hc_meeting *m, const uint8_t ivk[32]) {
    for (size_t i = 0; i < m->L.n_lock_ivks; i++)
        if (!sodium_memcmp(m->L.lock_ivks[i], ivk, 32)) return 1;
    return 0;
}

void mt_leader_on_announce(hc_meeting *m, mt_member *x, int first) {
    if (!first || x->index == m->self) return;  /* a nonce rotation: x->nonce is already updated */
    if (m->locked && !ivk_in_lock_list(m, x->b.ivk)) {
        deny(m, x, "the meeting is locked");
        return;
    }
    /* Coming back after a reconnect: whoever was in the roster before was admitted then. */
    if (mt_resume_knows(m, x->b.ivk)) {
        admit(m, x);
        return;
    }
    switch (m->admit) {
    case HC_ADMIT_AUTO:
        admit(m, x);
        break;
    case HC_ADMIT_KNOWN: {
        int conflict = 0;
        int known = ivk_in_lock_list(m, x->b.ivk) ||
                    (m->cfg.is_verified && m->cfg.is_verified(m->cfg.store_ctx, x->b.ivk, x->b.name, &conflict));
        if (known) admit(m, x);
        else deny(m, x, "its key is not among the verified ones (--admit known)");
        break;
    }
    case HC_ADMIT_ASK: {
        size_t members, waiting;
        list_counts(m, &members, &waiting);
        if (members + waiting >= HC_ROSTER_MAX_ENTRIES) {
            deny(m, x, "too many people are waiting to be admitted: the participant list is full");
            return;
        }
        x->waiting = 1;
        membership_changed(m, 0, 0);
        hc_event ev = {.type = HC_EV_ADMISSION_REQUEST, .index = x->index, .name = x->b.name, .fingerprint = x->fpr};
        x->asked = 1;
        mt_emit(m, &ev);
        break;
    }
    }
}

/* Announcements a member's budget holds at once; then one per rotation period. */
#define ANNOUNCE_BURST 4

/* Checking a signature is the costliest thing an announcement makes the leader do, and a member
 * (or a relay) can send announcements as fast as it likes. A member needs one checked per nonce
 * rotation, and rotates at most once per HC_NONCE_ROTATE_MIN_MS (PROTOCOL.md §3.4; the relay passes
 * on one per period): the leader checks at most ANNOUNCE_BURST at once and one per period
 * after that, per member index (GCRA: the budget is a "theoretical arrival time"), and drops the
 * rest unchecked. An honest member stays well inside it: its first announcement, its newest one
 * after a leader change, then one per rotation. */
int mt_leader_announce_budget(hc_meeting *m, mt_member *x) {
    uint64_t *tat = x ? &x->announce_tat : &m->L.announce_tat_unknown;
    uint64_t t = *tat > m->now ? *tat : m->now;
    if (t - m->now > (uint64_t)(ANNOUNCE_BURST - 1) * HC_NONCE_ROTATE_MIN_MS) {
        m->L.announce_capped++;
        return 0;
    }
    *tat = t + HC_NONCE_ROTATE_MIN_MS;
    m->L.announce_verified++;
    return 1;
}

/* Acks are counted, not looked up: the leader hears one per member per rekey, and checking
 * everyone on each was O(members^2) per rekey. */
void mt_leader_on_keyack(hc_meeting *m, uint32_t from, uint32_t epoch) {
    int k = (int)(epoch % SWITCH_SLOTS);
    uint8_t bit = (uint8_t)(1u << k);
    if (!m->L.switching || !m->L.sw[k].valid || m->L.sw[k].epoch != epoch) return;
    mt_member *x = mt_find(m, from);
    if (!x || !x->in_roster || !x->have_k || !(x->boxed_bits & bit) || (x->ack_bits & bit)) return;
    x->ack_bits |= bit;
    if (++m->L.sw[k].got >= m->L.sw[k].needed) certify_acked(m);
}

/* The batch: members admitted since the last one enter the list, members the relay reported
 * gone leave it, and one new list, heartbeat and (if anyone who holds the key left, anyone
 * joined, or `force`) one new key cover them all. */
static void run_batch(hc_meeting *m, int force) {
    m->L.batch_deadline = 0;
    m->L.last_batch_ms = m->now ? m->now : 1;
    int changed = 0, rekey_needed = force, departed = 0;
    for (size_t i = 0; i < m->n_mem; i++) {
        mt_member *x = m->mem[i];
        if (x->departing) {
            x->departing = 0;
            if (x->in_roster) rekey_needed = departed = 1;
            if (x->in_roster || x->waiting) changed = 1;
            x->in_roster = x->waiting = 0;
            mt_sweep_push(m, x);   /* no list holds it now */
            continue;
        }
        if (!x->pending_admit) continue;
        set_pending_admit(m, x, 0);
        x->waiting = 0;
        if (!x->listed) continue;  /* left while we were batching */
        x->in_roster = 1;
        changed = rekey_needed = 1;
        mt_emit_participant_joined(m, x);
    }
    if (changed) membership_changed(m, rekey_needed, departed);
    else if (rekey_needed) rekey(m, departed);
}

/* The relay says x left (or we kicked it): its pairwise key goes now, an admission not yet keyed
 * is off, and it leaves the list at the next batch, at most LEAVE_BATCH_MS from now (PROTOCOL.md
 * §4.2): a leave storm costs one rekey per window, not one per leaver. */
void mt_leader_member_gone(hc_meeting *m, mt_member *x) {
    set_pending_admit(m, x, 0);
    for (int k = 0; x->in_roster && x->have_k && k < SWITCH_SLOTS; k++)   /* nobody waits for its acks */
        if (m->L.sw[k].valid && (x->boxed_bits >> k & 1) && !(x->ack_bits >> k & 1) && m->L.sw[k].needed)
            m->L.sw[k].needed--;
    x->boxed_bits = x->ack_bits = 0;
    x->have_k = 0;
    sodium_memzero(x->k, sizeof x->k);
    if (x->in_roster || x->waiting) {
        if (x->in_roster) mt_emit_participant_left(m, x, "left");
        x->departing = 1;
        schedule_batch(m, LEAVE_BATCH_MS);
    }
    if (m->L.switching) certify_acked(m);
}

/* A new leader holds the nonces it got as a member: members' first ones, long out of their window
 * (rotations go to the leader only). Its first key waits until each listed member's nonce is one
 * that reached it within the last rotation (the relay sends the newest right after LEADER), for at
 * most takeover_until: a box sealed with an older one would be refused as stale_keybox, and the
 * member would go without a key until the next rekey (PROTOCOL.md §8.3). Only after a takeover,
 * for at most one rotation period, so the scan costs nothing in a steady meeting. */
static int awaiting_fresh_nonces(hc_meeting *m) {
    if (!m->L.takeover_until) return 0;
    if (m->now < m->L.takeover_until) {
        uint64_t rot = mt_nonce_rotation(m);
        for (size_t i = 0; i < m->n_mem; i++) {
            const mt_member *x = m->mem[i];
            if (x->in_roster && x->index != m->self && x->have_k && m->now - x->nonce_rx_ms > rot) return 1;
        }
    }
    m->L.takeover_until = 0;
    return 0;
}

void mt_leader_tick(hc_meeting *m) {
    if (m->L.batch_deadline && m->now >= m->L.batch_deadline && !awaiting_fresh_nonces(m)) {
        int force = m->L.force_rekey;
        m->L.force_rekey = 0;
        run_batch(m, force);
    }
    if (m->L.switching && m->now >= m->L.switch_deadline) {
        m->L.cert_by_timeout++;
        certify(m, m->L.epoch);
    }
    if (!m->L.switching && m->now >= m->L.next_rekey_ms) run_batch(m, 1);
    if (m->now >= m->L.next_hb_ms) send_heartbeat(m);
}

int mt_leader_command(hc_meeting *m, const hc_command *cmd) {
    switch (cmd->type) {
    case HC_CMD_LOCK:
    case HC_CMD_UNLOCK: {
        int lock = cmd->type == HC_CMD_LOCK;
        if (m->locked == lock) return 0;
        m->locked = lock;
        if (lock) {
            take_lock_list(m);
        } else {
            free(m->L.lock_ivks);
            m->L.lock_ivks = NULL;
            m->L.n_lock_ivks = 0;
        }
        hc_msg msg;
        hc_msg_init(&msg, HC_MSG_LOCK);
        msg.flag = (uint8_t)lock;
        mt_send(m, &msg);
        membership_changed(m, 0, 0);
        hc_event ev = {.type = HC_EV_LOCK_CHANGED, .flag = lock};
        mt_emit(m, &ev);
        return 0;
    }
    case HC_CMD_KICK: {
        mt_member *x = mt_find(m, cmd->index);
        if (!x || x->index == m->self || (!x->in_roster && !x->waiting && !x->pending_admit)) {
            mt_error(m, "bad_command", "no such participant to kick");
            return -1;
        }
        hc_msg msg;
        hc_msg_init(&msg, HC_MSG_KICK);
        msg.index = x->index;
        mt_send(m, &msg);
        mt_notice(m, "removed member %u ('%s') from the meeting", x->index, x->b.name);
        mt_set_listed(m, x, 0);
        x->gone_why = HC_LEFT_KICKED + 1;   /* we know why: participant_left says "kicked" */
        mt_leader_member_gone(m, x);
        run_batch(m, 0);              /* a kick is not batched: list and a key without it, now */
        mt_forget_member_keys(m, x->index);
        mt_sweep_push(m, x);
        return 0;
    }
    case HC_CMD_ADMIT:
    case HC_CMD_DENY: {
        mt_member *x = mt_find(m, cmd->index);
        if (!x || !x->waiting) {
            mt_error(m, "bad_command", "nobody with that number is waiting");
            return -1;
        }
        size_t members, waiting;
        list_counts(m, &members, &waiting);
        if (cmd->type == HC_CMD_DENY) {
            deny(m, x, "denied by the leader");
        } else if (m->locked && !ivk_in_lock_list(m, x->b.ivk)) {
            mt_error(m, "locked", "the meeting is locked: unlock it first to admit someone new");
            return -1;
        } else if (members >= HC_ROSTER_MAX_ENTRIES) {
            mt_error(m, "full", "the meeting's participant list is full: nobody more can be admitted");
            return -1;
        } else {
            admit(m, x);
            if (x->pending_admit) x->waiting = 0;
        }
        return 0;
    }
    default:
        return -1;
    }
}

void mt_leader_wipe(hc_meeting *m) {
    sodium_memzero(m->L.mk, sizeof m->L.mk);
    free(m->L.lock_ivks);
    m->L.lock_ivks = NULL;
    m->L.n_lock_ivks = 0;
    m->L.switching = 0;
    memset(m->L.sw, 0, sizeof m->L.sw);
    m->L.batch_deadline = 0;
    m->L.n_pending = 0;
}
