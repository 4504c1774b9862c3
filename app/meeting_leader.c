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

/* The leader's certified list is its own: rebuilt from member flags and sent as ROSTER. */
static void send_roster(hc_meeting *m) {
    hc_roster *r = m->roster;
    memset(r, 0, sizeof *r);
    r->v = ++m->L.roster_v;
    r->locked = m->locked;
    r->admit = (int)m->admit;
    r->leader = m->self;
    for (size_t i = 0; i < m->n_mem; i++) {
        mt_member *x = m->mem[i];
        if (!x->have_binding) continue;
        hc_roster_entry e = {x->index, {0}};
        memcpy(e.hash, x->bhash, 32);
        if (x->in_roster && r->n < HC_ROSTER_MAX_ENTRIES) r->members[r->n++] = e;
        else if (x->waiting && r->n_waiting < HC_ROSTER_MAX_ENTRIES) r->waiting[r->n_waiting++] = e;
    }
    size_t n = hc_roster_encode(r, m->scratch + 1024, sizeof m->scratch - 1024);
    if (!n) {
        mt_notice(m, "the participant list is too large to send");
        return;
    }
    hc_hash(m->roster_hash, m->scratch + 1024, n);
    m->have_roster = 1;
    /* Encode the frame from a copy: mt_send reuses the scratch buffer. */
    uint8_t *copy = malloc(n);
    if (!copy) return;
    memcpy(copy, m->scratch + 1024, n);
    hc_msg msg;
    hc_msg_init(&msg, HC_MSG_ROSTER);
    msg.data = copy;
    msg.data_len = n;
    mt_send(m, &msg);
    free(copy);
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

/* The new epoch is in use: tell everyone (heartbeat) and start sending under it ourselves. */
static void certify(hc_meeting *m) {
    m->L.switching = 0;
    mt_switch_send_epoch(m, m->L.epoch);
    send_heartbeat(m);
}

static size_t others_in_roster(const hc_meeting *m) {
    size_t n = 0;
    for (size_t i = 0; i < m->n_mem; i++) n += m->mem[i]->in_roster && m->mem[i]->index != m->self;
    return n;
}

/* A fresh meeting key, boxed for every member with its cached K_i and newest nonce. */
static void rekey(hc_meeting *m) {
    uint32_t e = (m->L.epoch > m->highest_epoch ? m->L.epoch : m->highest_epoch) + 1;
    randombytes_buf(m->L.mk, sizeof m->L.mk);
    m->L.epoch = e;
    mt_install_epoch(m, e, m->self, m->L.mk, m->cfg.suite);
    hc_box_meta meta;
    memset(&meta, 0, sizeof meta);
    snprintf(meta.meeting_id, sizeof meta.meeting_id, "%s", m->meeting_id);
    memcpy(meta.uuid, m->uuid, HC_UUID_LEN);
    meta.leader_index = m->self;
    uint8_t menc[HC_META_MAX], box[HC_BOX_LEN];
    for (size_t i = 0; i < m->n_mem; i++) {
        mt_member *x = m->mem[i];
        if (!x->in_roster || x->index == m->self || !x->have_k) continue;
        /* Only members the list we sent shows: nobody holds a key that the certified list hides. */
        if (!hc_roster_find(m->roster, x->index)) continue;
        x->acked = 0;
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
    if (others_in_roster(m) == 0) {
        certify(m);
    } else {
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
static void membership_changed(hc_meeting *m, int need_rekey) {
    send_roster(m);
    send_heartbeat(m);
    if (need_rekey) rekey(m);
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
    m->L.switching = 0;
    m->L.next_rekey_ms = m->now + (uint64_t)m->cfg.rekey_s * 1000;
    /* Take over the last certified list: its members keep their place (minus whoever left). */
    for (size_t i = 0; i < m->n_mem; i++) {
        mt_member *x = m->mem[i];
        x->in_roster = x->index == m->self ||
                       (prev && hc_roster_find(prev, x->index) && x->listed && x->have_binding);
        x->waiting = prev && hc_roster_find_waiting(prev, x->index) && x->listed && x->have_binding;
        x->pending_admit = 0;
        if ((x->in_roster || x->waiting) && x->index != m->self && !x->have_k) {
            if (hc_pairwise_key(x->k, x->b.pk, m->eph.sk) == 0) x->have_k = 1;
            else x->in_roster = x->waiting = 0;
        }
        if (x->in_roster) mt_emit_participant_joined(m, x);
    }
    if (prev && prev->locked) take_lock_list(m);   /* it stays locked under its new leader */
    if (!prev) {
        membership_changed(m, 1);   /* a new meeting: we are alone, the first key is ours at once */
    } else {
        /* A leader change: list and heartbeat now, the new key shortly after, once the relay
         * has passed on every member's newest liveness nonce (it sends them right after LEADER). */
        membership_changed(m, 0);
        m->L.force_rekey = 1;
        m->L.batch_deadline = m->now + m->cfg.join_batch_ms;
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

static void deny(hc_meeting *m, mt_member *x, const char *why) {
    mt_notice(m, "not admitting member %u ('%s'): %s", x->index, x->b.name, why);
    int was_waiting = x->waiting;
    x->denied = 1;
    x->waiting = x->pending_admit = 0;
    hc_msg msg;
    hc_msg_init(&msg, HC_MSG_DENY);
    msg.index = x->index;
    mt_send(m, &msg);
    if (was_waiting) membership_changed(m, 0);
}

void mt_leader_deny(hc_meeting *m, mt_member *x, const char *why) { deny(m, x, why); }

/* Members listed, or about to be (pending), and members waiting: what the next roster holds. */
static void list_counts(const hc_meeting *m, size_t *members, size_t *waiting) {
    *members = *waiting = 0;
    for (size_t i = 0; i < m->n_mem; i++) {
        *members += m->mem[i]->in_roster || m->mem[i]->pending_admit;
        *waiting += m->mem[i]->waiting;
    }
}

static void admit(hc_meeting *m, mt_member *x) {
    size_t members, waiting;
    list_counts(m, &members, &waiting);
    if (!x->in_roster && !x->pending_admit && members >= HC_ROSTER_MAX_ENTRIES) {
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
    x->pending_admit = 1;
    /* Leading-edge batching: a join into a quiet meeting is keyed at the next tick; joins that
     * follow within join_batch_ms of the last join rekey wait and share the next one. */
    if (!m->L.batch_deadline) {
        uint64_t earliest = m->L.last_batch_ms ? m->L.last_batch_ms + m->cfg.join_batch_ms : 0;
        m->L.batch_deadline = m->now >= earliest ? m->now : earliest;
        if (!m->L.batch_deadline) m->L.batch_deadline = 1;
    }
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
        if (waiting >= HC_ROSTER_MAX_WAITING) {
            deny(m, x, "too many people are waiting to be admitted: the participant list is full");
            return;
        }
        x->waiting = 1;
        membership_changed(m, 0);
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

void mt_leader_on_keyack(hc_meeting *m, uint32_t from, uint32_t epoch) {
    if (!m->L.switching || epoch != m->L.epoch) return;
    mt_member *x = mt_find(m, from);
    if (!x || !x->in_roster) return;
    x->acked = 1;
    for (size_t i = 0; i < m->n_mem; i++) {
        mt_member *y = m->mem[i];
        if (y->in_roster && y->index != m->self && y->have_k && !y->acked) return;
    }
    certify(m);
}

void mt_leader_member_gone(hc_meeting *m, mt_member *x) {
    int was_in = x->in_roster, was_waiting = x->waiting;
    x->in_roster = x->waiting = x->pending_admit = x->acked = 0;
    x->have_k = 0;
    sodium_memzero(x->k, sizeof x->k);
    if (was_in) {
        mt_emit_participant_left(m, x, "left");
        membership_changed(m, 1);  /* at once: the leaver must not read what follows */
    } else if (was_waiting) {
        membership_changed(m, 0);
    }
}

void mt_leader_tick(hc_meeting *m) {
    if (m->L.batch_deadline && m->now >= m->L.batch_deadline) {
        m->L.batch_deadline = 0;
        m->L.last_batch_ms = m->now;
        int any = 0;
        for (size_t i = 0; i < m->n_mem; i++) {
            mt_member *x = m->mem[i];
            if (!x->pending_admit) continue;
            x->pending_admit = 0;
            x->waiting = 0;
            if (!x->listed) continue;  /* left while we were batching */
            x->in_roster = 1;
            any = 1;
            mt_emit_participant_joined(m, x);
        }
        if (any) membership_changed(m, 1);
        else if (m->L.force_rekey) rekey(m);
        m->L.force_rekey = 0;
    }
    if (m->L.switching && m->now >= m->L.switch_deadline) certify(m);
    if (!m->L.switching && m->now >= m->L.next_rekey_ms) rekey(m);
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
        membership_changed(m, 0);
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
        x->listed = 0;
        x->gone_why = HC_LEFT_KICKED + 1;   /* we know why: participant_left says "kicked" */
        mt_leader_member_gone(m, x);  /* roster change + immediate rekey that excludes it */
        mt_forget_member_keys(m, x->index);
        m->sweep_pending = 1;
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
            x->waiting = 0;
            admit(m, x);
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
    m->L.batch_deadline = 0;
}
