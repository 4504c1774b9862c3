/* The meeting state machine: lifecycle, frame dispatch and the participant's side of the
 * protocol (key boxes, roster, heartbeats, leader change). See app/meeting.h. */
#include "app/meeting_internal.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/commands.h"
#include "app/names.h"
#include "crypto/bytes.h"

#define PING_MS 5000
#define RESUME_RETRY_MAX_MS 1000   /* a member waiting for its leader asks again at most this often */
#define RESUME_RANK_STEP_MS 1000   /* takeover: each later member in join order waits this much more */

int hc_admit_parse(const char *s, hc_admit_policy *out) {
    if (!strcmp(s, "auto")) *out = HC_ADMIT_AUTO;
    else if (!strcmp(s, "ask")) *out = HC_ADMIT_ASK;
    else if (!strcmp(s, "known")) *out = HC_ADMIT_KNOWN;
    else return -1;
    return 0;
}

const char *hc_admit_name(hc_admit_policy p) {
    return p == HC_ADMIT_ASK ? "ask" : p == HC_ADMIT_KNOWN ? "known" : "auto";
}

void mt_set_admit(hc_meeting *m, hc_admit_policy p) {
    if (m->admit_known && m->admit == p) return;
    m->admit = p;
    m->admit_known = 1;
    hc_event ev = {.type = HC_EV_ADMIT_POLICY, .reason = hc_admit_name(p)};
    mt_emit(m, &ev);
}

void hc_meeting_config_defaults(hc_meeting_config *c) {
    memset(c, 0, sizeof *c);
    c->admit = HC_ADMIT_AUTO;
    c->heartbeat_ms = 2000;
    c->miss_limit = 5;
    c->rekey_s = 300;
    c->join_batch_ms = 200;
    c->switch_timeout_ms = 1000;
    c->old_key_ms = 10000;
    c->nonce_rotate_ms = 2000;
    c->unknown_kid_ms = 200;
    c->suite = HC_SUITE_CHACHA;
}

/* ---- output helpers ---- */

/* The clock never goes back: a reading older than one already seen is taken as "no time
 * passed", so no unsigned difference below can underflow into a timeout. */
static void set_now(hc_meeting *m, uint64_t now_ms) {
    if (now_ms > m->now) m->now = now_ms;
}

int mt_valid_index(uint32_t index) { return index >= 1 && index <= MT_INDEX_MAX; }

static mt_rate *rate_slot(hc_meeting *m, const char *kind) {
    for (size_t i = 0; i < m->n_rates; i++)
        if (!strcmp(m->rates[i].kind, kind)) return &m->rates[i];
    if (m->n_rates == MT_RATE_KINDS) return NULL;
    mt_rate *r = &m->rates[m->n_rates++];
    r->kind = kind;
    r->window_start = m->now;
    r->n = r->suppressed = 0;
    return r;
}

static void rate_summary(hc_meeting *m, mt_rate *r) {
    if (!r->suppressed) return;
    char text[160];
    snprintf(text, sizeof text, "%u more '%s' events in %u s were not shown (rate limit)", r->suppressed, r->kind,
             ALERT_WINDOW_MS / 1000);
    r->suppressed = 0;
    hc_event ev = {.type = HC_EV_NOTICE, .text = text};
    mt_emit(m, &ev);
}

int mt_rate_ok(hc_meeting *m, const char *kind, uint32_t burst) {
    mt_rate *r = rate_slot(m, kind);
    if (!r) return 1;
    if (m->now - r->window_start >= ALERT_WINDOW_MS) {
        rate_summary(m, r);
        r->window_start = m->now;
        r->n = 0;
    }
    if (r->n < burst) {
        r->n++;
        return 1;
    }
    r->suppressed++;
    return 0;
}

/* Summaries of windows that ended (called from the tick). */
static void rate_tick(hc_meeting *m) {
    for (size_t i = 0; i < m->n_rates; i++) {
        mt_rate *r = &m->rates[i];
        if (r->suppressed && m->now - r->window_start >= ALERT_WINDOW_MS) {
            rate_summary(m, r);
            r->window_start = m->now;
            r->n = 0;
        }
    }
}

void mt_emit(hc_meeting *m, hc_event *ev) {
    ev->t_ms = m->now - m->t0;
    if (m->io.event) m->io.event(m->io.ctx, ev);
}

void mt_alert(hc_meeting *m, const char *kind, const char *fmt, ...) {
    if (!mt_rate_ok(m, kind, ALERT_BURST)) return;
    char detail[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    hc_event ev = {.type = HC_EV_SECURITY_ALERT, .kind = kind, .detail = detail};
    mt_emit(m, &ev);
}

void mt_notice(hc_meeting *m, const char *fmt, ...) {
    if (!mt_rate_ok(m, "notice", NOTICE_BURST)) return;
    char text[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    hc_event ev = {.type = HC_EV_NOTICE, .text = text};
    mt_emit(m, &ev);
}

void mt_error(hc_meeting *m, const char *code, const char *text) {
    hc_event ev = {.type = HC_EV_ERROR, .code = code, .text = text};
    mt_emit(m, &ev);
}

void mt_send(hc_meeting *m, const hc_msg *msg) {
    size_t n = hc_msg_encode(msg, m->scratch, sizeof m->scratch);
    if (n && m->io.send_ctrl) m->io.send_ctrl(m->io.ctx, m->scratch, n);
}

/* ---- members ---- */

mt_member *mt_find(const hc_meeting *m, uint32_t index) { return hc_itab_get(&m->by_index, index); }

static int is_gone(const hc_meeting *m, uint32_t index) {
    return index <= MT_INDEX_MAX && (m->gone[index >> 3] >> (index & 7)) & 1;
}

mt_member *mt_get(hc_meeting *m, uint32_t index) {
    mt_member *x = mt_find(m, index);
    if (x) return x;
    /* Indexes are 1..65535 and never reused: nothing else, and no evicted one, gets an entry. */
    if (!mt_valid_index(index) || is_gone(m, index)) return NULL;
    if (m->n_mem >= MT_MEMBERS_CAP) {
        m->sweep_all = 1;
        if (!m->table_full_noted) {
            m->table_full_noted = 1;
            mt_notice(m, "the relay lists more members than any meeting can have; ignoring the excess");
        }
        return NULL;
    }
    if (m->n_mem == m->cap_mem) {
        size_t nc = m->cap_mem ? m->cap_mem * 2 : 16;
        mt_member **nm = realloc(m->mem, nc * sizeof *nm);
        if (!nm) return NULL;
        m->mem = nm;
        m->cap_mem = nc;
    }
    x = calloc(1, sizeof *x);
    if (!x) return NULL;
    x->index = index;
    if (hc_itab_set(&m->by_index, index, x) < 0) {
        free(x);
        return NULL;
    }
    /* Members come in join order, so nearly always at the end: the shift below is O(1) then. */
    size_t i = m->n_mem;
    while (i > 0 && m->mem[i - 1]->index > index) { m->mem[i] = m->mem[i - 1]; i--; }
    m->mem[i] = x;
    m->n_mem++;
    return x;
}

int mt_is_roster_member(const hc_meeting *m, uint32_t index) {
    return m->have_roster && hc_roster_find(m->roster, index) != NULL;
}

/* A member nobody needs any more: gone per the relay and in no list (certified, pending or
 * the leader's own). Its binding, keys and counters can go. */
static int evictable(const hc_meeting *m, const mt_member *x) {
    if (x->index == m->self || x->index == m->leader || x->listed) return 0;
    if (m->self == m->leader) return !x->in_roster && !x->waiting && !x->pending_admit;
    if (m->have_roster && (hc_roster_find(m->roster, x->index) || hc_roster_find_waiting(m->roster, x->index)))
        return 0;
    if (m->have_pending && (hc_roster_find(m->pending, x->index) || hc_roster_find_waiting(m->pending, x->index)))
        return 0;
    return 1;
}

/* A member that may have become evictable: the next tick's sweep looks at it. */
void mt_sweep_push(hc_meeting *m, mt_member *x) {
    if (!x || x->sweep_queued || m->sweep_all) return;
    if (m->n_sweep_q == m->cap_sweep_q) {
        size_t nc = m->cap_sweep_q ? m->cap_sweep_q * 2 : 16;
        uint32_t *nq = realloc(m->sweep_q, nc * sizeof *nq);
        if (!nq) { m->sweep_all = 1; return; }
        m->sweep_q = nq;
        m->cap_sweep_q = nc;
    }
    m->sweep_q[m->n_sweep_q++] = x->index;
    x->sweep_queued = 1;
}

/* Frees departed members (from the tick only: no caller holds a member pointer then). Their
 * indexes are remembered as gone, so a relay cannot bring them back. Only the candidates are
 * looked at (a departure, a list that dropped someone), everyone only after a leader change or
 * when the table is full: a leave storm costs each member O(1) per leaver, not O(members). */
static void sweep(hc_meeting *m) {
    size_t evicted = 0;
    for (size_t k = 0; k < (m->sweep_all ? m->n_mem : m->n_sweep_q); k++) {
        mt_member *x = m->sweep_all ? m->mem[k] : mt_find(m, m->sweep_q[k]);
        if (!x) continue;
        x->sweep_queued = 0;
        if (x->evict || !evictable(m, x)) continue;
        x->evict = 1;
        evicted++;
        mt_emit_participant_left(m, x, "left");
        mt_forget_member_keys(m, x->index);
        if (x->have_binding) m->gone[x->index >> 3] |= (uint8_t)(1u << (x->index & 7));
        hc_itab_set(&m->by_index, x->index, NULL);
    }
    m->sweep_all = 0;
    m->n_sweep_q = 0;
    if (!evicted) return;
    size_t w = 0;
    for (size_t i = 0; i < m->n_mem; i++) {
        mt_member *x = m->mem[i];
        if (!x->evict) {
            m->mem[w++] = x;
            continue;
        }
        sodium_memzero(x, sizeof *x);
        free(x);
    }
    m->n_mem = w;
    if (m->n_mem < MT_MEMBERS_CAP) m->table_full_noted = 0;
}

/* Joiners the relay lists that have not announced (shown as "joining", joining_tick): counted as
 * they change, so the tick does not count the table. */
static int counts_as_joining(const hc_meeting *m, const mt_member *x) {
    return x->listed && !x->have_binding && x->index != m->self;
}

void mt_set_listed(hc_meeting *m, mt_member *x, int listed) {
    int before = counts_as_joining(m, x);
    x->listed = listed;
    m->n_joining += (uint32_t)(counts_as_joining(m, x) - before);
}

/* The binding of x arrived (its first valid announcement, or our own). */
static void set_bound(hc_meeting *m, mt_member *x) {
    int before = counts_as_joining(m, x);
    x->have_binding = 1;
    x->bound_since = m->now;
    m->n_joining += (uint32_t)(counts_as_joining(m, x) - before);
}

/* ---- unlisted members (PROTOCOL.md §5.5) ----
 *
 * Relay-listed members that announced themselves to us, yet the leader's list never shows them
 * (a ghost with a made-up announcement, a fake-leader victim). A member that joined and has not
 * announced is not checked: an honest relay lists such a joiner too (a slow client, one that
 * connected and said nothing), so it is only shown as joining (joining_tick); it holds no key. An
 * honest relay forwards every first announcement to the leader as well, which then lists the
 * member as admitted or waiting (or denies it), so an announced member missing from the
 * certified list after the grace period is something an honest relay cannot cause.
 *
 * Each member is looked at when its grace period ends (a queue in time order: listing and
 * announcing happen now, and the grace is constant), and again at once whenever a list stops
 * showing it after that: O(1) per member and event, never a pass over everyone per tick. */

/* The grace, plus how far behind the leader's heartbeats arrive now (their lag, PROTOCOL.md §5.5,
 * up to the miss limit): a member listed and announced reaches the leader's list after a round
 * trip through the relay, which a queue in front of a busy leader or member lengthens for
 * everything alike. A relay cannot use this to hide a ghost for long: lag it builds up past the
 * miss limit is heartbeat_stale, and the extension stops there. */
static uint64_t unlisted_grace(const hc_meeting *m) {
    uint64_t lag = m->hb_last_lag > 0 ? (uint64_t)m->hb_last_lag : 0, limit = mt_miss_limit_ms(m);
    return 3ull * m->cfg.heartbeat_ms + 1000 + (lag < limit ? lag : limit);
}

static void unlisted_schedule(hc_meeting *m, mt_member *x);

static uint64_t unlisted_since(const mt_member *x) {
    return x->listed_since > x->bound_since ? x->listed_since : x->bound_since;
}

static void unlisted_check(hc_meeting *m, mt_member *x) {
    if (!x->listed || !x->have_binding || x->unlisted_alerted || x->index == m->self || x->index == m->leader) return;
    if (m->now - unlisted_since(x) < unlisted_grace(m)) {
        unlisted_schedule(m, x);          /* the lag grew since it was queued: again later */
        return;
    }
    int known;
    if (m->self == m->leader) known = x->in_roster || x->waiting || x->pending_admit || x->denied || x->badsig_alerted;
    else known = mt_is_roster_member(m, x->index) || (m->have_roster && hc_roster_find_waiting(m->roster, x->index));
    if (known) return;
    x->unlisted_alerted = 1;
    mt_alert(m, "unlisted_member",
             "the relay says member %u is in the meeting, but the leader's participant list does not include it",
             x->index);
}

/* x is listed and announced since now: look at it when its grace ends. */
static void unlisted_schedule(hc_meeting *m, mt_member *x) {
    if (!x->listed || !x->have_binding || x->unlisted_alerted || x->index == m->self) return;
    if (m->uq_n == m->uq_cap) {
        size_t nc = m->uq_cap ? m->uq_cap * 2 : 64;
        mt_due *nq = malloc(nc * sizeof *nq);
        if (!nq) return;
        for (size_t i = 0; i < m->uq_n; i++) nq[i] = m->uq[(m->uq_head + i) % m->uq_cap];
        free(m->uq);
        m->uq = nq;
        m->uq_cap = nc;
        m->uq_head = 0;
    }
    size_t t = (m->uq_head + m->uq_n++) % m->uq_cap;
    m->uq[t].index = x->index;
    m->uq[t].due = unlisted_since(x) + unlisted_grace(m);
}

/* A list stopped showing x (or the leader changed): if its grace is over, it is checked at the
 * next tick, once what came in the same read has been handled (the relay's MEMBER_LEFT for a
 * kicked member comes with the list that drops it); otherwise the queue still holds it. */
void mt_unlisted_recheck(hc_meeting *m, mt_member *x) {
    if (!x || !x->listed || !x->have_binding || x->unlisted_alerted) return;
    if (m->n_rq == m->cap_rq) {
        size_t nc = m->cap_rq ? m->cap_rq * 2 : 16;
        uint32_t *nq = realloc(m->rq, nc * sizeof *nq);
        if (!nq) return;
        m->rq = nq;
        m->cap_rq = nc;
    }
    m->rq[m->n_rq++] = x->index;
}

static void check_unlisted(hc_meeting *m) {
    for (size_t i = 0; i < m->n_rq; i++) {
        mt_member *x = mt_find(m, m->rq[i]);
        if (x) unlisted_check(m, x);   /* checks the grace itself */
    }
    m->n_rq = 0;
    while (m->uq_n && m->uq[m->uq_head].due <= m->now) {
        uint32_t index = m->uq[m->uq_head].index;
        m->uq_head = (m->uq_head + 1) % m->uq_cap;
        m->uq_n--;
        mt_member *x = mt_find(m, index);
        if (x) unlisted_check(m, x);
    }
}

void mt_emit_participant_joined(hc_meeting *m, mt_member *x) {
    if (x->joined_emitted || !x->have_binding || x->index == m->self) return;
    x->joined_emitted = 1;
    hc_event ev = {.type = HC_EV_PARTICIPANT_JOINED, .index = x->index, .name = x->b.name, .fingerprint = x->fpr};
    mt_emit(m, &ev);
}

/* The reason a member left, for participant_left. It is the relay's word (MEMBER_LEFT is not
 * end-to-end authenticated), which is all anyone but the leaver can know; our own kick we know. */
static const char *gone_reason(uint8_t why, const char *fallback) {
    switch (why) {
    case 0: return fallback;
    case HC_LEFT_NORMAL + 1: return "left";
    case HC_LEFT_CONNECTION_LOST + 1: return "connection_lost";
    case HC_LEFT_KICKED + 1: return "kicked";
    case HC_LEFT_DENIED + 1: return "denied";
    case HC_LEFT_SECURITY + 1: return "security";
    case HC_LEFT_HEARTBEAT_TIMEOUT + 1: return "timeout";   /* it stopped hearing the leader */
    case HC_LEFT_ENDED + 1: return "ended";
    case HC_LEFT_IDLE + 1: return "timeout";                /* the relay stopped hearing it */
    default: return "unknown";                              /* a reason this version does not know */
    }
}

/* Shown once for someone the front end was told about: a participant, or (leader) someone whose
 * admission_request it got, so that a request whose asker went away is closed too. */
void mt_emit_participant_left(hc_meeting *m, mt_member *x, const char *reason) {
    if (!x->joined_emitted && !x->asked) return;
    x->joined_emitted = 0;
    x->asked = 0;
    hc_event ev = {.type = HC_EV_PARTICIPANT_LEFT, .index = x->index, .name = x->b.name,
                   .fingerprint = x->fpr, .reason = gone_reason(x->gone_why, reason)};
    mt_emit(m, &ev);
}

/* ---- lifecycle ---- */

hc_meeting *hc_meeting_new(const hc_meeting_config *cfg, const hc_meeting_io *io, uint64_t now_ms) {
    hc_meeting *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    m->cfg = *cfg;
    if (m->cfg.heartbeat_ms < 20) m->cfg.heartbeat_ms = 20;
    if (m->cfg.heartbeat_ms > 10000) m->cfg.heartbeat_ms = 10000;  /* PROTOCOL.md §5: at least every 10 s */
    if (!m->cfg.miss_limit) m->cfg.miss_limit = 5;
    if (!m->cfg.nonce_rotate_ms) m->cfg.nonce_rotate_ms = 2000;
    /* The relay passes a member's rotations on at most once per this (PROTOCOL.md §3.4): rotating
     * faster would leave the leader sealing with nonces we no longer accept. */
    if (m->cfg.nonce_rotate_ms < HC_NONCE_ROTATE_MIN_MS) m->cfg.nonce_rotate_ms = HC_NONCE_ROTATE_MIN_MS;
    if (!m->cfg.takeover_ms) m->cfg.takeover_ms = 3000;
    if (m->cfg.resume) {
        m->cfg.create = 0;
        snprintf(m->cfg.meeting_id, sizeof m->cfg.meeting_id, "%s", m->cfg.resume->meeting_id);
    }
    if (!m->cfg.suite) m->cfg.suite = HC_SUITE_CHACHA;
    m->io = *io;
    m->t0 = m->now = now_ms;
    m->phase = HC_MT_CONNECTING;
    m->roster = calloc(1, sizeof *m->roster);
    m->pending = calloc(1, sizeof *m->pending);
    m->rtmp = calloc(1, sizeof *m->rtmp);
    m->unknown[UNK_AUDIO] = calloc(UNKNOWN_BUF_MAX, sizeof *m->unknown[UNK_AUDIO]);
    m->unknown[UNK_VIDEO] = calloc(UNKNOWN_BUF_MAX, sizeof *m->unknown[UNK_VIDEO]);
    if (!m->roster || !m->pending || !m->rtmp || !m->unknown[UNK_AUDIO] || !m->unknown[UNK_VIDEO] ||
        hc_hmap_init(&m->rx) < 0) {
        hc_meeting_free(m);
        return NULL;
    }
    return m;
}

void hc_meeting_free(hc_meeting *m) {
    if (!m) return;
    mt_keys_wipe(m);
    mt_leader_wipe(m);
    hc_ephemeral_wipe(&m->eph);
    sodium_memzero(m->leader_pk_k, sizeof m->leader_pk_k);
    for (size_t i = 0; i < m->n_mem; i++) {
        sodium_memzero(m->mem[i], sizeof *m->mem[i]);
        free(m->mem[i]);
    }
    free(m->mem);
    hc_itab_free(&m->by_index);
    free(m->sweep_q);
    free(m->uq);
    free(m->rq);
    free(m->rbuf);
    hc_roster *rs[3] = {m->roster, m->pending, m->rtmp};
    for (int i = 0; i < 3; i++)
        if (rs[i]) hc_roster_free(rs[i]);
    free(m->roster);
    free(m->pending);
    free(m->rtmp);
    free(m->unknown[UNK_AUDIO]);
    free(m->unknown[UNK_VIDEO]);
    hc_hmap_free(&m->rx);
    free(m);
}

void mt_leave(hc_meeting *m, const char *reason, int exit_status, int tell_relay) {
    if (m->phase == HC_MT_LEFT) return;
    if (tell_relay && m->phase == HC_MT_IN) {
        hc_msg l;
        hc_msg_init(&l, HC_MSG_LEAVE);
        l.flag = !strcmp(reason, "security") ? HC_LEFT_SECURITY
                 : !strcmp(reason, "heartbeat_timeout") ? HC_LEFT_HEARTBEAT_TIMEOUT : HC_LEFT_NORMAL;
        mt_send(m, &l);
    }
    m->phase = HC_MT_LEFT;
    snprintf(m->left_reason, sizeof m->left_reason, "%s", reason);
    m->exit_status = exit_status;
    /* Keys are wiped the moment we are out: nothing later can use them. */
    mt_keys_wipe(m);
    mt_leader_wipe(m);
    hc_ephemeral_wipe(&m->eph);
    sodium_memzero(m->leader_pk_k, sizeof m->leader_pk_k);
    m->leader_k_for = 0;
    m->have_leader_k = 0;
    for (size_t i = 0; i < m->n_mem; i++) {
        sodium_memzero(m->mem[i]->k, sizeof m->mem[i]->k);
        m->mem[i]->have_k = 0;
    }
    hc_event ev = {.type = HC_EV_LEFT, .reason = reason};
    mt_emit(m, &ev);
}

/* Re-creates the meeting we were in on a relay that has lost it, signed by our identity. */
static void send_resume(hc_meeting *m) {
    const hc_meeting_resume *r = m->cfg.resume;
    hc_msg q;
    hc_msg_init(&q, HC_MSG_RESUME);
    snprintf(q.meeting_id, sizeof q.meeting_id, "%s", r->meeting_id);
    snprintf(q.name, sizeof q.name, "%s", m->cfg.name);
    memcpy(q.ivk, m->cfg.id->ivk, 32);
    memcpy(q.uuid, r->uuid, HC_UUID_LEN);
    if (hc_resume_sign(q.sig, q.meeting_id, q.uuid, q.ivk, m->cfg.id->isk) < 0) return;
    mt_send(m, &q);
    m->R.sent_resume = 1;
}

int mt_resume_knows(const hc_meeting *m, const uint8_t ivk[32]) {
    const hc_meeting_resume *r = m->cfg.resume;
    if (!r) return 0;
    if (!sodium_memcmp(r->leader_ivk, ivk, 32)) return 1;
    for (size_t i = 0; i < r->n_ivks; i++)
        if (!sodium_memcmp(r->ivks[i], ivk, 32)) return 1;
    return 0;
}

/* What the relay shows us after a reconnect is not the meeting we were in: an alert, and we
 * leave rather than merge into it (PROTOCOL.md §11.10). */
static void resume_mismatch(hc_meeting *m, const char *fmt, const char *arg) {
    mt_alert(m, "resume_mismatch", fmt, arg);
    mt_leave(m, "security", HC_EXIT_SECURITY, 1);
}

void hc_meeting_start(hc_meeting *m, uint64_t now_ms) {
    set_now(m, now_ms);
    if (m->phase != HC_MT_CONNECTING) return;
    m->R.sent_resume = 0;
    hc_msg j;
    hc_msg_init(&j, m->cfg.create ? HC_MSG_CREATE : HC_MSG_JOIN);
    snprintf(j.name, sizeof j.name, "%s", m->cfg.name);
    if (!m->cfg.create) {
        snprintf(j.meeting_id, sizeof j.meeting_id, "%s", m->cfg.meeting_id);
        j.flag = 1;  /* our IVK lets a locked meeting's relay let a known member back in */
        memcpy(j.ivk, m->cfg.id->ivk, 32);
    }
    mt_send(m, &j);
    m->phase = HC_MT_JOINING;
}

/* Posts our binding with the newest liveness nonce (first join and every rotation). */
static void announce(hc_meeting *m) {
    memcpy(m->my_binding.nonce, m->nonces[0], HC_NONCE_LEN);
    uint8_t enc[HC_BINDING_MAX];
    size_t n = hc_binding_encode(&m->my_binding, enc, sizeof enc);
    if (!n) return;
    hc_msg a;
    hc_msg_init(&a, HC_MSG_ANNOUNCE);
    a.data = enc;
    a.data_len = n;
    hc_binding_sign(a.sig, enc, n, m->cfg.id->isk);
    mt_send(m, &a);
    if (!m->announced) {            /* the first binding is the one the roster must list */
        m->announced = 1;
        hc_hash(m->my_bhash, enc, n);
    }
    mt_member *self = mt_get(m, m->self);
    if (self && !self->have_binding) {
        set_bound(m, self);
        self->b = m->my_binding;
        memcpy(self->bhash, m->my_bhash, 32);
        hc_fingerprint(self->fpr, m->cfg.id->ivk);
    }
    if (self) memcpy(self->nonce, m->nonces[0], HC_NONCE_LEN);
}

/* How long a nonce is good for, and how often we make one (PROTOCOL.md §3.4): a box sealed with a
 * nonce made up to nonce_window() ago opens, and the leader's newest nonce of ours is at most one
 * rotation old when it seals, so a box has window - rotation to come back (a busy leader, a long
 * queue) and the relay can hold one back at most `window` after its nonce was made. */
static uint64_t nonce_window(const hc_meeting *m) { return 2ull * m->cfg.nonce_rotate_ms; }
uint64_t mt_nonce_rotation(const hc_meeting *m) {
    uint64_t r = m->cfg.nonce_rotate_ms / 2;
    return r < HC_NONCE_ROTATE_MIN_MS ? HC_NONCE_ROTATE_MIN_MS : r;
}

static void rotate_nonce(hc_meeting *m) {
    int keep = m->n_nonces < NONCES_MAX ? m->n_nonces : NONCES_MAX - 1;
    memmove(m->nonces[1], m->nonces[0], (size_t)keep * HC_NONCE_LEN);
    memmove(&m->nonce_made[1], &m->nonce_made[0], (size_t)keep * sizeof m->nonce_made[0]);
    randombytes_buf(m->nonces[0], HC_NONCE_LEN);
    m->nonce_made[0] = m->now;
    m->n_nonces = keep + 1;
    m->next_nonce_ms = m->now + mt_nonce_rotation(m);
}

/* The relay lists a member (JOINED lists everyone in join order, MEMBER_JOINED adds one): its
 * place in join order is what decides who leads next (§8.3). */
static void mark_listed(hc_meeting *m, mt_member *x) {
    if (!x || x->listed) return;
    mt_set_listed(m, x, 1);
    x->listed_since = m->now;
    x->join_seq = ++m->join_seq_next;
    unlisted_schedule(m, x);
}

static void on_joined(hc_meeting *m, const hc_msg *j) {
    if (m->phase != HC_MT_JOINING) return;
    int made = m->cfg.create || m->R.sent_resume;   /* we asked to lead this meeting */
    if (!mt_valid_index(j->index) || !mt_valid_index(j->leader) || (made && j->leader != j->index)) {
        /* Index 0 would alias "no leader" state; above 65535 it does not fit the KID. */
        mt_error(m, "protocol", "the relay's JOINED names an impossible member or leader index");
        mt_leave(m, "relay_closed", HC_EXIT_RELAY, 0);
        return;
    }
    if (m->cfg.resume && (strcmp(j->meeting_id, m->cfg.resume->meeting_id) || (!made && j->leader == j->index))) {
        /* We asked to join: a relay that makes us the leader of a meeting under that id made it
         * up itself (nobody resumed the one we were in). */
        snprintf(m->meeting_id, sizeof m->meeting_id, "%s", j->meeting_id);
        m->phase = HC_MT_IN;
        resume_mismatch(m, "the relay answered our return to meeting %s with a meeting of its own making", m->cfg.resume->meeting_id);
        return;
    }
    snprintf(m->meeting_id, sizeof m->meeting_id, "%s", j->meeting_id);
    memcpy(m->uuid, j->uuid, HC_UUID_LEN);
    if (m->cfg.resume) m->R.new_instance = memcmp(m->uuid, m->cfg.resume->uuid, HC_UUID_LEN) != 0;
    m->self = j->index;
    m->leader = j->leader;
    m->phase = HC_MT_IN;
    m->hb_last_ok_ms = m->now;
    m->hb_rejected = 0;
    mt_get(m, m->self);
    mt_get(m, m->leader);
    for (uint16_t i = 0; i < j->n_members; i++) {
        uint32_t idx = hc_get_u32(j->members + 4 * i);
        mark_listed(m, mt_get(m, idx));
    }
    if (m->io.media_token) m->io.media_token(m->io.ctx, j->token);
    if (m->cfg.create) {
        hc_event ev = {.type = HC_EV_MEETING, .meeting_id = m->meeting_id, .uuid = m->uuid};
        mt_emit(m, &ev);
    }
    hc_event ev = {.type = HC_EV_JOINED, .index = m->self, .leader = m->leader, .meeting_id = m->meeting_id};
    mt_emit(m, &ev);

    hc_ephemeral_generate(&m->eph);
    memset(&m->my_binding, 0, sizeof m->my_binding);
    snprintf(m->my_binding.meeting_id, sizeof m->my_binding.meeting_id, "%s", m->meeting_id);
    memcpy(m->my_binding.uuid, m->uuid, HC_UUID_LEN);
    m->my_binding.index = m->self;
    memcpy(m->my_binding.ivk, m->cfg.id->ivk, 32);
    memcpy(m->my_binding.pk, m->eph.pk, 32);
    snprintf(m->my_binding.name, sizeof m->my_binding.name, "%s", m->cfg.name);
    rotate_nonce(m);
    announce(m);
    if (m->self == m->leader) {
        mt_update_code(m);
        mt_leader_begin(m);
    }
}

static int fatal_error_status(uint16_t code, const char **reason) {
    switch (code) {
    case HC_ERR_KICKED: *reason = "kicked"; return HC_EXIT_REMOVED;
    case HC_ERR_DENIED: *reason = "denied"; return HC_EXIT_REMOVED;
    case HC_ERR_ENDED: *reason = "ended"; return HC_EXIT_REMOVED;
    case HC_ERR_LOCKED: *reason = "locked"; return HC_EXIT_REMOVED;
    case HC_ERR_NO_SUCH_MEETING: *reason = "no_such_meeting"; return HC_EXIT_RELAY;
    case HC_ERR_MEETING_FULL: *reason = "meeting_full"; return HC_EXIT_RELAY;
    case HC_ERR_TOO_MANY_MEETINGS: *reason = "relay_full"; return HC_EXIT_RELAY;
    case HC_ERR_INDEXES_EXHAUSTED: *reason = "meeting_full"; return HC_EXIT_RELAY;
    case HC_ERR_RATE_LIMITED: *reason = "rate_limited"; return HC_EXIT_RELAY;
    case HC_ERR_TOO_MANY_CONNECTIONS: case HC_ERR_IDLE: case HC_ERR_BACKLOG: case HC_ERR_SHUTDOWN:
    case HC_ERR_BAD_VERSION: case HC_ERR_MALFORMED: case HC_ERR_TOO_LARGE: case HC_ERR_UNKNOWN_TYPE:
        *reason = "relay_closed"; return HC_EXIT_RELAY;
    default: return 0;  /* not fatal (e.g. not_leader, protocol) */
    }
}

/* Rejoining: the relay has no meeting under our id yet (the leader has not re-created it), or
 * someone re-created it first. Returns 1 when handled here. */
static int resume_on_error(hc_meeting *m, uint16_t code) {
    const hc_meeting_resume *r = m->cfg.resume;
    if (!r || m->phase != HC_MT_JOINING) return 0;
    if (code == HC_ERR_EXISTS) {          /* resumed by someone else meanwhile: join it */
        m->R.retry_at = m->now ? m->now : 1;
        m->R.sent_resume = 0;
        m->R.exists = 1;
        return 1;
    }
    if (code != HC_ERR_NO_SUCH_MEETING) return 0;
    m->R.exists = 0;                      /* gone again: whoever re-created it left */
    if (!m->R.refused_since) {
        m->R.refused_since = m->now;
        if (!r->was_leader)
            mt_notice(m, "the relay has no meeting %s yet: waiting for its leader to bring it back", r->meeting_id);
    }
    /* The leader re-creates it at once; a member asks again, ever less often. */
    uint64_t delay = r->was_leader ? 0 : 250ull << (m->R.tries < 2 ? m->R.tries : 2);
    if (delay > RESUME_RETRY_MAX_MS) delay = RESUME_RETRY_MAX_MS;
    m->R.tries++;
    m->R.retry_at = m->now + delay;
    if (!m->R.retry_at) m->R.retry_at = 1;
    return 1;
}

/* The next request of a member (or leader) waiting for the meeting to exist again: RESUME when it
 * is our turn to re-create it (the leader at once, the others in join order after takeover_ms),
 * else JOIN. */
static void resume_retry(hc_meeting *m) {
    const hc_meeting_resume *r = m->cfg.resume;
    m->R.retry_at = 0;
    uint64_t turn = r->was_leader ? 0
                    : r->rank == HC_RESUME_NO_RANK ? UINT64_MAX
                    : m->cfg.takeover_ms + (uint64_t)r->rank * RESUME_RANK_STEP_MS;
    if (!m->R.exists && m->R.refused_since && m->now - m->R.refused_since >= turn) {
        if (!r->was_leader) mt_notice(m, "the leader has not come back: re-creating meeting %s ourselves", r->meeting_id);
        send_resume(m);
        return;
    }
    m->R.sent_resume = 0;
    m->phase = HC_MT_CONNECTING;
    hc_meeting_start(m, m->now);
}

static void on_error(hc_meeting *m, const hc_msg *e) {
    if (resume_on_error(m, e->code)) return;
    /* In the meeting, or getting back into it (a relay node of a cluster that lost the node the
     * meeting lived on sends everyone off to come back, also those not in yet). */
    if (e->code == HC_ERR_SHUTDOWN && m->cfg.reconnect && (m->phase == HC_MT_IN || m->cfg.resume)) {
        mt_notice(m, "the relay is shutting down (a restart?): we will try to get back into the meeting");
        return;   /* it closes the connection next; the session reconnects */
    }
    char text[HC_ERROR_TEXT_MAX + 1];
    size_t n = e->data_len < HC_ERROR_TEXT_MAX ? e->data_len : HC_ERROR_TEXT_MAX;
    /* The relay's text is untrusted: keep printable ASCII only. */
    for (size_t i = 0; i < n; i++) text[i] = (e->data[i] >= 0x20 && e->data[i] < 0x7F) ? (char)e->data[i] : '?';
    text[n] = 0;
    const char *reason = NULL;
    int st = fatal_error_status(e->code, &reason);
    if (st || mt_rate_ok(m, "relay_error", ALERT_BURST)) mt_error(m, hc_err_code_name(e->code), text);
    if (st) mt_leave(m, reason, st, 0);
}

/* Rejoining after a reconnect: the leader of what the relay shows us must be the one we had, or
 * (the leader did not come back) a member of the last roster we held, and a meeting instance
 * other than ours needs a resume statement by that leader. Returns -1 after leaving. */
static int check_resumed_leader(hc_meeting *m, const hc_binding *b) {
    const hc_meeting_resume *r = m->cfg.resume;
    if (!r || m->self == m->leader || m->R.leader_checked) return 0;
    m->R.leader_checked = 1;
    if (m->R.new_instance && !m->R.statement_ok) {
        resume_mismatch(m, "the relay came back with a different meeting under id %s: nobody from the meeting we were in resumed it", m->meeting_id);
        return -1;
    }
    if (m->R.new_instance ? sodium_memcmp(b->ivk, m->R.statement_ivk, 32) != 0 : !mt_resume_knows(m, b->ivk)) {
        resume_mismatch(m, "meeting %s came back led by someone who was not the one who resumed it", m->meeting_id);
        return -1;
    }
    if (sodium_memcmp(b->ivk, r->leader_ivk, 32))
        mt_notice(m, "meeting %s resumed under a new leader, %s: compare the security code again", m->meeting_id, b->name);
    return 0;
}

/* A resume statement, first on the board of a meeting someone re-created (PROTOCOL.md §11.10).
 * Only a member coming back to the meeting it names can check it; a newcomer ignores it. */
static void on_resume_statement(hc_meeting *m, const hc_msg *s) {
    const hc_meeting_resume *r = m->cfg.resume;
    /* Back in the very instance we were in: its statement (if it was itself resumed once) speaks
     * of where it came from, not of us. */
    if (!r || !m->R.new_instance || m->self == m->leader || m->R.statement_ok || m->R.leader_checked) return;
    if (strcmp(s->meeting_id, m->meeting_id) || memcmp(s->uuid, r->uuid, HC_UUID_LEN)) {
        resume_mismatch(m, "the relay's meeting %s continues another meeting, not the one we were in", m->meeting_id);
        return;
    }
    if (hc_resume_verify(s->sig, s->meeting_id, s->uuid, s->ivk) < 0) {
        resume_mismatch(m, "the statement that meeting %s was resumed is not validly signed", m->meeting_id);
        return;
    }
    if (!mt_resume_knows(m, s->ivk)) {
        char fpr[HC_FPR_LEN + 1];
        hc_fingerprint(fpr, s->ivk);
        char t[HC_MEETING_ID_MAX + HC_FPR_LEN + 8];
        snprintf(t, sizeof t, "%s (%s)", m->meeting_id, fpr);
        resume_mismatch(m, "meeting %s was re-created by someone who was not in it", t);
        return;
    }
    m->R.statement_ok = 1;
    memcpy(m->R.statement_ivk, s->ivk, 32);
}

/* PROTOCOL.md §3.2: a signed name that could pass for another one (invisible characters,
 * direction marks, stray spaces) is refused, never shown: one alert per member with the name
 * escaped, the leader does not admit it, and a member whose leader it is leaves. Returns 1 when
 * refused. */
static int refuse_name(hc_meeting *m, mt_member *x, const hc_binding *b) {
    char why[HC_NAME_WHY_MAX];
    if (hc_name_check(b->name, why, sizeof why) == 0) return 0;
    if (!x->badname_alerted) {
        x->badname_alerted = 1;
        char shown[96];                    /* whole characters only: the alert has room for ~90 bytes */
        hc_name_escape(shown, sizeof shown, b->name);
        mt_alert(m, "bad_name", "member %u announced the name '%s', which could pass for another name (%s): refused",
                 b->index, shown, why);
        if (m->self == m->leader && !x->denied) mt_leader_deny(m, x, "its display name breaks the name rules");
        /* A leader we cannot show is a leader we cannot verify: leave now, for what it is,
         * rather than wait for its heartbeats to time out as if the network had failed. */
        if (b->index == m->leader && m->self != m->leader) mt_leave(m, "security", HC_EXIT_SECURITY, 1);
    }
    return 1;
}

/* Someone's ANNOUNCE (first or a nonce rotation). */
static void on_announce(hc_meeting *m, const hc_msg *a) {
    hc_binding b;
    if (hc_binding_decode(&b, a->data, a->data_len) < 0) {
        mt_alert(m, "bad_announcement", "an announcement could not be decoded");
        return;
    }
    if (b.index == m->self) return;
    if (!mt_valid_index(b.index)) {
        mt_alert(m, "bad_announcement", "an announcement names member %u, an index no meeting has", b.index);
        return;
    }
    mt_member *x = mt_find(m, b.index);   /* created only for a valid signature (below) */
    if (m->self == m->leader && !mt_leader_announce_budget(m, x)) return;   /* a flood: dropped unchecked */
    if (hc_binding_verify(a->sig, a->data, a->data_len) < 0) {
        /* swap-key and rename land here: the relay changed a signed binding. */
        if (!x || !x->badsig_alerted) {
            if (x) x->badsig_alerted = 1;
            mt_alert(m, "bad_signature",
                     "the announcement of member %u ('%s') has an invalid signature: its key or name was changed in transit",
                     b.index, b.name);
        }
        return;
    }
    if (strcmp(b.meeting_id, m->meeting_id) || memcmp(b.uuid, m->uuid, HC_UUID_LEN)) {
        mt_alert(m, "wrong_meeting", "member %u announced itself for another meeting", b.index);
        return;
    }
    if (!x) x = mt_get(m, b.index);
    if (!x) return;                        /* departed (index not reused) or the table is full */
    int first = !x->have_binding;
    if (first && refuse_name(m, x, &b)) return;
    if (first) {
        x->b = b;
        set_bound(m, x);
        unlisted_schedule(m, x);
        hc_hash(x->bhash, a->data, a->data_len);
        hc_fingerprint(x->fpr, b.ivk);
        if (m->have_roster) {
            const hc_roster_entry *e = hc_roster_find(m->roster, b.index);
            if (e && sodium_memcmp(e->hash, x->bhash, 32))
                mt_alert(m, "roster_binding_mismatch",
                         "member %u's announcement differs from the one in the leader's participant list", b.index);
            else if (e) mt_emit_participant_joined(m, x);
        }
    } else if (memcmp(x->b.ivk, b.ivk, 32) || memcmp(x->b.pk, b.pk, 32) || strcmp(x->b.name, b.name)) {
        mt_alert(m, "announcement_changed", "member %u tried to change its keys or name mid-meeting", b.index);
        return;
    }
    memcpy(x->nonce, b.nonce, HC_NONCE_LEN);
    x->nonce_rx_ms = m->now;
    if (b.index == m->leader && first) {
        if (check_resumed_leader(m, &b) < 0) return;
        mt_update_code(m);
    }
    if (m->self == m->leader) mt_leader_on_announce(m, x, first);
}

/* ---- key boxes ---- */

static int leader_key(hc_meeting *m, uint8_t k[HC_BOXKEY_LEN]) {
    if (!m->have_leader_k || m->leader_k_for != m->leader) {
        mt_member *l = mt_find(m, m->leader);
        if (!l || !l->have_binding) return -1;
        if (hc_pairwise_key(m->leader_pk_k, l->b.pk, m->eph.sk) < 0) return -1;
        m->leader_k_for = m->leader;
        m->have_leader_k = 1;
    }
    memcpy(k, m->leader_pk_k, HC_BOXKEY_LEN);
    return 0;
}

static void on_keybox(hc_meeting *m, const hc_msg *kb) {
    if (m->self == m->leader) return;
    if (kb->index != m->leader) {
        mt_notice(m, "ignored a key box from member %u, who is not the leader", kb->index);
        return;
    }
    hc_box_meta meta;
    if (hc_box_meta_decode(&meta, kb->data, kb->data_len) < 0) {
        mt_alert(m, "keybox_malformed", "a key box could not be decoded");
        return;
    }
    if (strcmp(meta.meeting_id, m->meeting_id) || memcmp(meta.uuid, m->uuid, HC_UUID_LEN) ||
        meta.leader_index != m->leader || meta.recipient_index != m->self) {
        mt_alert(m, "keybox_misdirected", "a key box was made for another meeting, leader or member");
        return;
    }
    uint8_t k[HC_BOXKEY_LEN], mk[HC_MK_LEN];
    if (leader_key(m, k) < 0) {
        mt_notice(m, "a key box arrived before the leader's announcement; dropped");
        return;
    }
    uint32_t epoch;
    uint16_t suite;
    int ok = hc_keybox_open(mk, &epoch, &suite, k, kb->data, kb->data_len, kb->data2, kb->data2_len);
    sodium_memzero(k, sizeof k);
    if (ok < 0) {
        mt_alert(m, "keybox_auth", "a key box failed to open: it was not sealed for us by the leader");
        return;
    }
    /* Both checks below read authenticated fields; the epoch first, so an old box re-delivered
     * is reported as the rollback it is, and a new box held back as the delay it is. Epochs
     * increase per leader: a successor may number its key like one its predecessor made (§4.5). */
    mt_member *lm = mt_find(m, m->leader);
    if (!lm) return;
    if (epoch <= lm->box_epoch) {
        sodium_memzero(mk, sizeof mk);
        mt_alert(m, "key_rollback", "a key box for epoch %u arrived after epoch %u: old key re-delivered (rollback or replay)",
                 epoch, lm->box_epoch);
        return;
    }
    int fresh = 0;
    uint64_t age = 0;
    for (int i = 0; i < m->n_nonces; i++)
        if (!sodium_memcmp(meta.nonce, m->nonces[i], HC_NONCE_LEN)) {
            age = m->now - m->nonce_made[i];
            fresh = age < nonce_window(m);
        }
    if (!fresh) {
        /* PROTOCOL.md §3.4: only nonces made within the window count, so a box held back is worthless. */
        sodium_memzero(mk, sizeof mk);
        if (age)
            mt_alert(m, "stale_keybox", "a key box arrived with a liveness nonce made %llu ms ago (good for %llu ms): it was "
                     "held back and delivered late", (unsigned long long)age, (unsigned long long)nonce_window(m));
        else
            mt_alert(m, "stale_keybox", "a key box arrived with an old liveness nonce: it was held back and delivered late");
        return;
    }
    if (!hc_sframe_suite_available(suite)) {
        sodium_memzero(mk, sizeof mk);
        mt_alert(m, "unsupported_suite", "the leader chose cipher suite 0x%04x, which this machine cannot run", suite);
        return;
    }
    mt_install_epoch(m, epoch, m->leader, mk, suite);
    sodium_memzero(mk, sizeof mk);
    lm->box_epoch = epoch;
    hc_msg ack;
    hc_msg_init(&ack, HC_MSG_KEYACK);
    ack.epoch = epoch;
    mt_send(m, &ack);
    mt_follow_certified(m);
}

/* ---- roster and heartbeats ---- */

/* What changed between the certified roster and the one being certified, entry by entry. */
static void roster_change(void *ctx, uint32_t index, int was, const hc_roster_entry *old, int is,
                          const hc_roster_entry *now) {
    hc_meeting *m = ctx;
    if (m->phase != HC_MT_IN) return;
    if (is == 1) {
        if (was == 1)
            mt_alert(m, "roster_entry_changed", "member %u's entry changed in the participant list while it stayed", index);
        mt_member *x = mt_get(m, index);
        if (!x) return;
        x->waiting = 0;
        if (x->have_binding && sodium_memcmp(x->bhash, now->hash, 32)) {
            mt_alert(m, "roster_binding_mismatch",
                     "member %u's announcement differs from the one in the leader's participant list", index);
            return;
        }
        mt_emit_participant_joined(m, x);
    } else if (is == 2) {
        mt_member *x = mt_get(m, index);
        if (x) x->waiting = 1;
    } else {
        (void)old;
        mt_member *x = mt_find(m, index);
        if (!x) return;
        x->waiting = 0;
        /* Still listed by the relay, yet off the leader's list: the leader removed it. */
        if (was == 1) mt_emit_participant_left(m, x, x->listed ? "removed" : "left");
        mt_unlisted_recheck(m, x);
        mt_sweep_push(m, x);
    }
}

/* PROTOCOL.md §5.4: the pending roster becomes the certified one. Only what changed since the
 * previous certified roster is looked at (a join or a leave touches one entry), so certifying
 * costs a member one comparison per entry, not a lookup per entry. */
static void apply_roster(hc_meeting *m) {
    hc_roster *nr = m->pending, *old = m->roster;
    int had_old = m->have_roster;
    if (nr->leader != m->leader) {
        mt_alert(m, "roster_leader_mismatch", "the participant list names member %u as leader, not %u", nr->leader, m->leader);
        return;
    }
    const hc_roster_entry *me = hc_roster_find(nr, m->self);
    if (me && sodium_memcmp(me->hash, m->my_bhash, 32)) {
        mt_alert(m, "own_entry_substituted",
                 "the leader's participant list holds a different key for you: your announcement was substituted");
        mt_leave(m, "security", HC_EXIT_SECURITY, 1);
        return;
    }
    if (!me && !hc_roster_find_waiting(nr, m->self) && m->was_in_roster) {
        mt_notice(m, "the leader removed you from the participant list");
        mt_leave(m, "removed", HC_EXIT_REMOVED, 1);
        return;
    }
    if (me) m->was_in_roster = 1;
    if (!me && hc_roster_find_waiting(nr, m->self) && !m->waiting_emitted) {
        /* The leader's signed list shows us waiting for admission (--admit ask): say so once,
         * the joiner would otherwise see nothing at all until admitted or denied. */
        m->waiting_emitted = 1;
        mt_member *l = mt_find(m, m->leader);
        hc_event ev = {.type = HC_EV_WAITING, .index = m->self, .leader = m->leader, .meeting_id = m->meeting_id,
                       .name = l && l->have_binding ? l->b.name : NULL, .fingerprint = l && l->have_binding ? l->fpr : NULL};
        mt_emit(m, &ev);
    }
    /* certified first: what the changes below look at (unlisted members) is the new list */
    m->roster = nr;
    m->pending = old;
    memcpy(m->roster_hash, m->pending_hash, 32);
    m->have_roster = 1;
    m->have_pending = 0;
    hc_roster_changes(had_old ? old : NULL, nr, roster_change, m);
    if (nr->locked != m->locked) {
        hc_event ev = {.type = HC_EV_LOCK_CHANGED, .flag = nr->locked};
        mt_emit(m, &ev);
    }
    m->locked = nr->locked;
    mt_set_admit(m, (hc_admit_policy)nr->admit);
}

/* Monotonic clocks of two machines run at nearly the same rate; the offset may drift this much
 * without counting as delay: 1 ms per 5 s of the leader's time (200 ppm, far beyond a real quartz
 * with or without NTP), so a meeting of any length is not mistaken for an attack. */
#define HB_DRIFT_DIV 5000

uint64_t mt_miss_limit_ms(const hc_meeting *m) {
    uint64_t interval = m->hb_interval_est > m->cfg.heartbeat_ms ? m->hb_interval_est : m->cfg.heartbeat_ms;
    return (uint64_t)m->cfg.miss_limit * interval;
}

/* How far behind the heartbeat with timestamp ts is, arriving at `at`: its offset (arrival minus
 * timestamp) minus the smallest offset seen from this leader, less the tolerated clock drift.
 * Both clocks are monotonic, so an honest network adds only its queueing delay. */
static int64_t hb_lag(const hc_meeting *m, uint64_t at, uint64_t ts) {
    int64_t lag = (int64_t)(at - ts - m->hb_base_off);
    return lag - (int64_t)((ts - m->hb_base_ts) / HB_DRIFT_DIV);
}

int mt_certified_state_stale(const hc_meeting *m) {
    if (m->self == m->leader || !m->hb_have_base) return 0;
    /* Our newest heartbeat as the leader's clock would read now: anything older than the limit
     * may hide a kick, so we send nothing under it. */
    return hb_lag(m, m->now, m->hb_last_ts) > (int64_t)mt_miss_limit_ms(m);
}

/* Staleness of a valid heartbeat (PROTOCOL.md §5.5): one that arrives more than the miss limit
 * later than the least delayed one of this leader was held back. After a stall, what the network
 * buffered arrives late: no sign of anything. Late heartbeats that keep coming at their pace, each
 * a little later, are a relay at work. Returns 1 when the heartbeat is fresh. */
static int hb_fresh(hc_meeting *m, uint64_t ts, int may_alert) {
    int64_t lag = hb_lag(m, m->now, ts);
    m->hb_last_lag = lag;
    uint64_t limit = mt_miss_limit_ms(m);
    if (lag <= (int64_t)limit) return 1;
    if (may_alert && !m->stalled && m->now - m->hb_last_ok_ms < limit / 2) {
        mt_alert(m, "heartbeat_stale",
                 "the leader's heartbeats arrive %lld ms later than they did (limit %llu ms): someone is holding "
                 "them back; not sending until fresh ones arrive",
                 (long long)lag, (unsigned long long)limit);
        m->hb_rejected++;
    }
    return 0;
}

/* A valid heartbeat (timestamp ts, certifying `epoch`) whose roster we hold: it restarts the
 * missed-heartbeat timer if fresh, the pending roster it certified applies, and its epoch is the
 * newest certified. `late`: its roster came after it (a copy we asked for), so its lateness is
 * the copy's round trip, not a sign of a relay holding heartbeats back. */
static void hb_settle(hc_meeting *m, uint64_t ts, uint32_t epoch, int use_pending, int late) {
    if (hb_fresh(m, ts, !late)) {
        m->hb_last_ok_ms = m->now;
        m->hb_rejected = 0;
        if (m->stalled) {
            m->stalled = 0;
            hc_event ev = {.type = HC_EV_RECONNECTED, .text = "the leader's heartbeats arrive again: sending resumed",
                           .meeting_id = m->meeting_id, .after_ms = m->now - m->stalled_since};
            mt_emit(m, &ev);
        }
    }
    if (use_pending) {
        apply_roster(m);
        if (m->phase != HC_MT_IN) return;
    }
    if (m->have_want && m->have_roster && m->want_v <= m->roster->v) m->have_want = 0;
    if (epoch > m->certified_epoch) {
        m->certified_epoch = epoch;
        /* Our key of that number, if another leader made it, is not this one: it goes, and we
         * stay silent (key_missing) until the current leader's box arrives. */
        mt_epoch_collision(m, m->certified_epoch, m->leader);
    }
    mt_follow_certified(m);
}

/* A valid heartbeat certified a roster we do not hold: our copy (built from the leader's deltas)
 * does not hash to it, e.g. we joined between a delta and its heartbeat, or a delta was lost or
 * garbled. We ask the relay for the leader's whole roster, once per version, and certify it when
 * a copy hashes to what the heartbeat certified (want_resolve). Until then the heartbeat counts as
 * one that failed a check: it is not fresh, so a relay that keeps the roster from us has the miss
 * limit, as before, and no more. One that has not delivered it within half the limit is told. */
static void want_roster(hc_meeting *m, const hc_hb_fields *hb) {
    if (!m->have_want || m->want_v != hb->v || sodium_memcmp(m->want_hash, hb->roster_hash, 32)) {
        m->have_want = 1;
        m->want_v = hb->v;
        memcpy(m->want_hash, hb->roster_hash, 32);
        m->want_since = m->now;
        m->want_alerted = 0;
    }
    m->want_ts = hb->ts_ms;
    m->want_epoch = hb->epoch;
    m->hb_rejected++;
    if (m->want_asked_v < hb->v) {
        m->want_asked_v = hb->v;
        hc_msg g;
        hc_msg_init(&g, HC_MSG_ROSTER_GET);
        g.value = hb->v;
        mt_send(m, &g);
    } else if (!m->want_alerted && m->now - m->want_since > mt_miss_limit_ms(m) / 2) {
        m->want_alerted = 1;
        mt_alert(m, "roster_mismatch",
                 "the leader's heartbeats certify participant list version %u, which the relay has not delivered "
                 "(asked %llu ms ago)", hb->v, (unsigned long long)(m->now - m->want_since));
    }
}

static void on_heartbeat(hc_meeting *m, const hc_msg *msg) {
    if (m->self == m->leader) return;
    const hc_hb_fields *hb = &msg->hb;
    mt_member *l = mt_find(m, m->leader);
    if (!l || !l->have_binding) {
        mt_notice(m, "a heartbeat arrived before the leader's announcement");
        return;
    }
    if (m->hb_have_last && (hb->t <= m->hb_last_t || hb->ts_ms <= m->hb_last_ts)) {
        mt_alert(m, "heartbeat_replay", "a heartbeat was replayed (counter %llu, last accepted %llu)",
                 (unsigned long long)hb->t, (unsigned long long)m->hb_last_t);
        m->hb_rejected++;
        return;
    }
    if (m->hb_have_last && sodium_memcmp(hb->prev, m->hb_last, 32)) {
        mt_alert(m, "heartbeat_chain", "a heartbeat does not chain to the last one accepted");
        m->hb_rejected++;
        return;
    }
    const hc_roster *r = NULL;
    int use_pending = 0;
    if (m->have_pending && !sodium_memcmp(hb->roster_hash, m->pending_hash, 32)) {
        r = m->pending;
        use_pending = 1;
    } else if (m->have_roster && !sodium_memcmp(hb->roster_hash, m->roster_hash, 32)) {
        r = m->roster;
    }
    if (r && use_pending && m->have_roster && r->v <= m->roster->v) {
        mt_alert(m, "roster_mismatch", "a participant list with version %u does not follow version %u", r->v, m->roster->v);
        m->hb_rejected++;
        return;
    }
    if (r && r->v != hb->v) {
        mt_alert(m, "roster_mismatch", "a heartbeat's list version %u does not match the list (%u)", hb->v, r->v);
        m->hb_rejected++;
        return;
    }
    if (!r && m->have_roster && hb->v <= m->roster->v) {
        /* versions only increase: no copy of an older list than ours can be certified */
        mt_alert(m, "roster_mismatch", "a heartbeat certifies a participant list (version %u) we did not receive", hb->v);
        m->hb_rejected++;
        return;
    }
    uint8_t h[32];
    hc_heartbeat_hash(h, l->bhash, hb->roster_hash, hb->v, hb->t, hb->epoch, hb->prev, hb->ts_ms);
    if (hc_verify_hash(hb->sig, l->b.ivk, HC_CTX_SIG_PARTICIPANTS, h) < 0) {
        mt_alert(m, "heartbeat_forged", "a heartbeat is not signed by the leader");
        m->hb_rejected++;
        return;
    }
    /* Learn the leader's pace: a leader configured slower than us (up to the 10 s maximum) must
     * not make us leave. The pace is read from the leader's signed timestamps, not from arrival
     * times: a relay that holds heartbeats back once must not stretch the miss limit for good
     * (it cannot drop one without breaking the chain, so signed gaps are the leader's own). */
    if (m->hb_have_last) {
        uint64_t gap = hb->ts_ms - m->hb_last_ts;   /* > 0: checked above */
        if (gap > 10000) gap = 10000;
        if (gap > m->hb_interval_est) m->hb_interval_est = gap;
    }
    m->hb_last_t = hb->t;
    m->hb_last_ts = hb->ts_ms;
    memcpy(m->hb_last, h, 32);
    m->hb_have_last = 1;
    /* Staleness baseline: the smallest offset between our clock and the leader's signed time.
     * A valid heartbeat held back stays the chain head and what it certifies applies (it only
     * moves us forward), but it does not count as fresh: the missed-heartbeat timer runs on, and
     * sending stops once our newest state is that old (PROTOCOL.md §5.5). */
    uint64_t off = m->now - hb->ts_ms;
    if (!m->hb_have_base || (int64_t)(off - m->hb_base_off) < 0) {
        m->hb_base_off = off;
        m->hb_base_ts = hb->ts_ms;
        m->hb_have_base = 1;
    }
    if (!r) {
        hb_fresh(m, hb->ts_ms, 1);   /* held back too? (the lag is the same whatever the roster) */
        if (m->have_pending && m->pending->v == hb->v) {
            /* We hold this very version, built from the base it starts from: an honest relay
             * passes the leader's deltas on as they are, so ours was changed on the way. As with
             * a changed whole roster, the heartbeat is refused; the leader's copy repairs it. */
            mt_alert(m, "roster_mismatch", "the participant list version %u we built from the relay's changes is not "
                     "the one the leader certified", hb->v);
            m->have_pending = 0;
        }
        want_roster(m, hb);
        return;
    }
    hb_settle(m, hb->ts_ms, hb->epoch, use_pending, 0);
}

/* The roster we asked for (want_roster) may be the pending one now. */
static void want_resolve(hc_meeting *m) {
    if (!m->have_want || !m->have_pending || m->pending->v != m->want_v) return;
    if (sodium_memcmp(m->pending_hash, m->want_hash, 32)) {
        /* The leader certified another list of this version: ours came garbled. */
        mt_alert(m, "roster_mismatch", "the participant list delivered as version %u is not the one the leader certified",
                 m->want_v);
        m->have_pending = 0;
        return;
    }
    m->have_want = 0;
    hb_settle(m, m->want_ts, m->want_epoch, 1, 1);
}

/* A roster we now hold as pending: from a delta or a whole copy. */
static void set_pending(hc_meeting *m, const uint8_t hash[32]) {
    hc_roster *t = m->pending;
    m->pending = m->rtmp;
    m->rtmp = t;
    memcpy(m->pending_hash, hash, 32);
    m->have_pending = 1;
    want_resolve(m);
}

/* The newest roster we hold, which a delta applies to: the pending one if it is newer than the
 * certified one. NULL with *v = 0: none (the empty roster of a meeting that has none yet). */
static const hc_roster *newest_roster(const hc_meeting *m) {
    if (m->have_pending && (!m->have_roster || m->pending->v > m->roster->v)) return m->pending;
    return m->have_roster ? m->roster : NULL;
}

static void on_roster_delta(hc_meeting *m, const hc_msg *msg) {
    if (m->self == m->leader) return;
    const hc_roster *base = newest_roster(m);
    uint32_t vb, v, have = base ? base->v : 0;
    if (hc_roster_delta_versions(msg->data, msg->data_len, &vb, &v) < 0) return;
    /* One we hold already (a joiner's board carries it whole), or one that starts from a list we
     * do not hold (we missed one): the heartbeat will tell whether we need the whole list. */
    if (v <= have || vb != have) return;
    int rc = hc_roster_delta_apply(base, msg->data, msg->data_len, m->rtmp);
    if (rc < 0) {
        if (rc == -1)
            mt_alert(m, "roster_malformed", "a change of the participant list could not be decoded or applied");
        return;
    }
    uint8_t h[32];
    hc_roster_hash(m->rtmp, h);
    set_pending(m, h);
}

/* A part of the leader's whole roster: from the board when we join, or the copy we asked for.
 * Parts come in order on our connection; anything else starts over. */
static void on_roster(hc_meeting *m, const hc_msg *msg) {
    if (m->self == m->leader) return;
    if (msg->offset == 0) {
        if (m->rbuf_total != msg->value || !m->rbuf) {
            free(m->rbuf);
            m->rbuf = malloc(msg->value);   /* at most HC_ROSTER_ENC_MAX: checked when decoded */
            if (!m->rbuf) { m->rbuf_total = m->rbuf_len = 0; return; }
        }
        m->rbuf_total = msg->value;
        m->rbuf_len = 0;
    } else if (msg->offset != m->rbuf_len || msg->value != m->rbuf_total || !m->rbuf) {
        mt_notice(m, "ignored a part of the participant list that came out of order");
        m->rbuf_len = m->rbuf_total = 0;
        return;
    }
    memcpy(m->rbuf + m->rbuf_len, msg->data, msg->data_len);
    m->rbuf_len += msg->data_len;
    if (m->rbuf_len < m->rbuf_total) return;
    m->rbuf_len = 0;
    if (hc_roster_decode(m->rtmp, m->rbuf, m->rbuf_total) < 0) {
        mt_alert(m, "roster_malformed", "a participant list could not be decoded");
        return;
    }
    uint8_t h[32];
    hc_roster_hash(m->rtmp, h);
    /* A big buffer is not kept for the rest of the meeting: copies are rare. */
    if (m->rbuf_total > 4096) {
        free(m->rbuf);
        m->rbuf = NULL;
        m->rbuf_total = 0;
    }
    if ((m->have_roster && !sodium_memcmp(h, m->roster_hash, 32)) || (m->have_pending && !sodium_memcmp(h, m->pending_hash, 32)))
        return;   /* one we hold already */
    if (m->have_want && m->rtmp->v < m->want_v) {
        /* older than what a heartbeat certified: of no use, and only a lying relay sends it */
        mt_alert(m, "roster_mismatch", "the relay sent participant list version %u after the leader certified version %u",
                 m->rtmp->v, m->want_v);
        return;
    }
    set_pending(m, h);
}

void mt_update_code(hc_meeting *m) {
    mt_member *l = mt_find(m, m->leader);
    if (!l || !l->have_binding) return;
    char code[HC_CODE_STR_LEN + 1];
    hc_security_code(code, l->b.ivk);
    if (!strcmp(code, m->code) && m->code_leader == m->leader) return;
    snprintf(m->code, sizeof m->code, "%s", code);
    m->code_leader = m->leader;
    int conflict = 0;
    m->code_verified = m->cfg.is_verified ? m->cfg.is_verified(m->cfg.store_ctx, l->b.ivk, l->b.name, &conflict) : 0;
    if (conflict)
        mt_alert(m, "verified_name_conflict",
                 "a leader named '%s' was verified before with a different key: this may be an impostor", l->b.name);
    hc_event ev = {.type = HC_EV_SECURITY_CODE, .code = m->code, .leader = m->leader, .flag = m->code_verified,
                   .name = l->b.name};
    mt_emit(m, &ev);
}

/* A leader change that the rules do not explain (PROTOCOL.md §8.3): the relay names a new leader
 * while the current one never left, or someone other than the earliest-joined member of our last
 * roster still present. A relay that splits a meeting names a second leader to part of it. We
 * follow (the new leader is in our roster), but say it: only comparing the code shows whom the
 * others follow. */
static void check_leader_change(hc_meeting *m, uint32_t nl, const mt_member *old) {
    if (old && old->listed) {
        mt_alert(m, "unexpected_leader",
                 "the relay named member %u as the new leader while the leader, member %u, never left: the meeting "
                 "may have been split; compare the security code again", nl, old->index);
        return;
    }
    const mt_member *first = NULL;
    for (size_t i = 0; i < m->n_mem; i++) {
        const mt_member *x = m->mem[i];
        if (!x->listed || x->index == m->leader || !mt_is_roster_member(m, x->index)) continue;
        if (!first || x->join_seq < first->join_seq) first = x;
    }
    if (first && first->index != nl)
        mt_alert(m, "unexpected_leader",
                 "the relay named member %u as the new leader, but member %u joined earlier and is still here: the "
                 "meeting may have been split; compare the security code again", nl, first->index);
}

static void on_leader(hc_meeting *m, uint32_t nl) {
    if (nl == m->leader) return;
    if (m->cfg.resume && m->R.new_instance && !m->R.statement_ok && !m->R.sent_resume) {
        /* Back after a reconnect in a meeting instance nobody we knew re-created: whoever the
         * relay names, this is not our meeting (not even with us as its leader). */
        resume_mismatch(m, "the relay came back with a different meeting under id %s: nobody from the meeting we were in resumed it", m->meeting_id);
        return;
    }
    /* PROTOCOL.md §8: only a member of the last certified roster may lead. */
    mt_member *x = mt_find(m, nl);
    /* Back after a reconnect and holding no roster of this instance yet: the roster we had
     * stands in for it (the relay may name a leader among those who returned before us). */
    int known_from_resume = m->cfg.resume && !m->have_roster && x && x->have_binding && mt_resume_knows(m, x->b.ivk);
    if (nl != m->self && !known_from_resume && (!mt_is_roster_member(m, nl) || !x || !x->have_binding)) {
        mt_alert(m, "leader_not_in_roster", "the relay named member %u as the new leader, but it is not in the last participant list", nl);
        mt_leave(m, "security", HC_EXIT_SECURITY, 1);
        return;
    }
    mt_member *old = mt_find(m, m->leader);
    if (m->have_roster) check_leader_change(m, nl, old);
    if (old) mt_emit_participant_left(m, old, "left");
    if (m->leader == m->self) {
        /* Only a lying relay demotes a leader that is still here; drop the leader-side state
         * (batches, a switch in progress, the lock list) so none of it runs under another leader. */
        mt_leader_wipe(m);
        m->L.force_rekey = 0;
        for (size_t i = 0; i < m->n_mem; i++) m->mem[i]->pending_admit = 0;
    }
    m->leader = nl;
    mt_keys_leader_changed(m);
    m->hb_have_last = 0;
    m->hb_last_t = m->hb_last_ts = 0;
    m->hb_last_ok_ms = m->now;
    m->hb_interval_est = 0;
    m->hb_rejected = 0;
    m->hb_have_base = 0;
    m->hb_last_lag = 0;
    m->have_pending = 0;
    m->have_want = 0;
    m->want_asked_v = 0;
    m->rbuf_len = 0;
    m->leader_k_for = 0;
    m->have_leader_k = 0;
    m->sweep_all = 1;
    hc_event ev = {.type = HC_EV_LEADER_CHANGED, .leader = nl, .name = x ? x->b.name : m->cfg.name,
                   .fingerprint = x ? x->fpr : ""};
    mt_emit(m, &ev);
    mt_update_code(m);
    if (nl == m->self) mt_leader_begin(m);
    /* Whom the unlisted-member check trusts has changed (the old leader is checked now, and a
     * new leader goes by its own lists). */
    for (size_t i = 0; i < m->n_mem && m->phase == HC_MT_IN; i++) mt_unlisted_recheck(m, m->mem[i]);
}

/* Encrypted application messages: chat text, mute state, receiver reports. */
static void on_chat(hc_meeting *m, const hc_msg *c) {
    uint8_t pt[CHAT_TEXT_MAX + 64];
    int n = mt_open_chat(m, c->index, c->data, c->data_len, pt, sizeof pt);
    if (n < 1) return;
    mt_member *x = mt_find(m, c->index);
    if (!x || !x->have_binding) return;
    switch (pt[0]) {
    case APP_TEXT: {
        char text[CHAT_TEXT_MAX + 1];
        size_t tl = (size_t)n - 1;
        if (tl > CHAT_TEXT_MAX) {  /* senders never make longer texts: drop, never overflow */
            mt_notice(m, "dropped an over-long chat message from member %u", x->index);
            break;
        }
        memcpy(text, pt + 1, tl);
        text[tl] = 0;
        hc_event ev = {.type = HC_EV_CHAT, .index = x->index, .name = x->b.name, .text = text};
        mt_emit(m, &ev);
        break;
    }
    case APP_STATE:
        if (n >= 2 && (pt[1] & 1) != x->muted) {
            x->muted = pt[1] & 1;
            hc_event ev = {.type = HC_EV_MUTE_CHANGED, .index = x->index, .flag = x->muted, .name = x->b.name};
            mt_emit(m, &ev);
        }
        break;
    case APP_REPORT: {
        hc_rd r = hc_rd_init(pt + 1, (size_t)n - 1);
        uint16_t cnt = hc_rd_u16(&r);
        for (uint16_t i = 0; i < cnt && !r.err; i++) {
            uint32_t idx = hc_rd_u32(&r);
            uint8_t loss = hc_rd_u8(&r);
            if (!r.err && idx == m->self && m->io.loss_report) m->io.loss_report(m->io.ctx, x->index, loss);
        }
        break;
    }
    default:
        break;
    }
}

void hc_meeting_on_frame(hc_meeting *m, const uint8_t *body, size_t len, uint64_t now_ms) {
    set_now(m, now_ms);
    if (m->phase == HC_MT_LEFT) return;
    hc_msg msg;
    hc_wire_err e;
    if (hc_msg_decode(&msg, body, len, &e) < 0) {
        mt_notice(m, "ignored a malformed frame from the relay (%s)", hc_wire_err_name(e));
        return;
    }
    m->last_rx_ms = m->now;
    if (msg.type == HC_MSG_JOINED) { on_joined(m, &msg); return; }
    if (msg.type == HC_MSG_ERROR) { on_error(m, &msg); return; }
    if (m->phase != HC_MT_IN) return;
    switch (msg.type) {
    case HC_MSG_ANNOUNCE: on_announce(m, &msg); break;
    case HC_MSG_KEYBOX: on_keybox(m, &msg); break;
    case HC_MSG_KEYACK:
        if (m->self == m->leader) mt_leader_on_keyack(m, msg.index, msg.epoch);
        break;
    case HC_MSG_ROSTER: on_roster(m, &msg); break;
    case HC_MSG_ROSTER_DELTA: on_roster_delta(m, &msg); break;
    case HC_MSG_HEARTBEAT: on_heartbeat(m, &msg); break;
    case HC_MSG_LEADER: on_leader(m, msg.index); break;
    case HC_MSG_MEMBER_JOINED: {
        if (msg.index == m->self) break;   /* news about ourselves: we know better */
        mark_listed(m, mt_get(m, msg.index));
        break;
    }
    case HC_MSG_MEMBER_LEFT: {
        if (msg.index == m->self) break;
        mt_member *x = mt_find(m, msg.index);
        if (!x) break;
        mt_set_listed(m, x, 0);
        if (!x->gone_why) x->gone_why = (uint8_t)(msg.flag < 255 ? msg.flag + 1 : 255);   /* a kick of ours stays */
        if (m->self == m->leader) {
            mt_leader_member_gone(m, x);
            mt_emit_participant_left(m, x, "left");   /* a waiting asker: its request is over */
        }
        mt_forget_member_keys(m, x->index);
        mt_sweep_push(m, x);
        break;
    }
    case HC_MSG_CHAT: on_chat(m, &msg); break;
    case HC_MSG_RESUME: on_resume_statement(m, &msg); break;
    case HC_MSG_PONG:
        if (msg.opaque <= m->now) m->rtt_ms = (double)(m->now - msg.opaque);
        break;
    case HC_MSG_PING: {
        hc_msg p;
        hc_msg_init(&p, HC_MSG_PONG);
        p.opaque = msg.opaque;
        mt_send(m, &p);
        break;
    }
    case HC_MSG_MEDIA_READY:
        if (m->io.media_ready) m->io.media_ready(m->io.ctx);
        break;
    case HC_MSG_VIDEO:
        if ((msg.flag == HC_VOP_KEYREQ || msg.flag == HC_VOP_STATUS) && m->io.video_ctrl)
            m->io.video_ctrl(m->io.ctx, msg.flag, msg.index, msg.value);
        break;
    case HC_MSG_LOCKED_OUT:
        /* The relay's word only (it could make it up or keep it back): news for the leader who
         * locked the meeting, never a reason to act. The name was checked as names are. */
        if (m->self == m->leader && m->locked)
            mt_notice(m, "the lock turned someone away: %u attempt%s to join, the latest as \"%s\" (unlock with l to let people in)",
                      (unsigned)(msg.value ? msg.value : 1), msg.value > 1 ? "s" : "", msg.name);
        break;
    default:
        break;
    }
}

void hc_meeting_on_media(hc_meeting *m, const uint8_t *pkt, size_t len, uint64_t now_ms) {
    set_now(m, now_ms);
    if (m->phase != HC_MT_IN) return;
    mt_media_in(m, pkt, len, 0);
}

void hc_meeting_on_disconnected(hc_meeting *m, const char *why, uint64_t now_ms) {
    set_now(m, now_ms);
    if (m->phase == HC_MT_LEFT) return;
    mt_error(m, "connection_lost", why ? why : "the connection to the relay was lost");
    mt_leave(m, "connection_lost", HC_EXIT_RELAY, 0);
}

/* Tells the front ends how many members the relay lists that have not announced themselves yet
 * (shown as "joining"; they hold no key and are not participants). Only changes are emitted. */
static void joining_tick(hc_meeting *m) {
    uint32_t n = m->n_joining;
    if (n == m->joining_told) return;
    m->joining_told = n;
    hc_event ev = {.type = HC_EV_JOINING, .members = n};
    mt_emit(m, &ev);
}

void hc_meeting_tick(hc_meeting *m, uint64_t now_ms) {
    set_now(m, now_ms);
    if (m->phase == HC_MT_JOINING && m->cfg.resume && m->R.retry_at && m->now >= m->R.retry_at) resume_retry(m);
    if (m->phase != HC_MT_IN) return;
    uint64_t now = m->now;
    if (now >= m->next_nonce_ms) {
        rotate_nonce(m);
        announce(m);
    }
    if (now >= m->next_ping_ms) {
        hc_msg p;
        hc_msg_init(&p, HC_MSG_PING);
        p.opaque = now;
        mt_send(m, &p);
        m->next_ping_ms = now + PING_MS;
    }
    uint64_t interval = m->hb_interval_est > m->cfg.heartbeat_ms ? m->hb_interval_est : m->cfg.heartbeat_ms;
    uint64_t limit = mt_miss_limit_ms(m);
    if (m->self != m->leader && !m->stalled && m->cfg.stall_ms && !m->hb_rejected &&
        now - m->hb_last_ok_ms > limit) {
        /* Nothing arrived: the relay or the network stalled. We stop sending (what we would send
         * is certified by a roster older than the limit) but keep everything else, and carry on
         * the moment the leader's heartbeats arrive again (PROTOCOL.md §5.5). */
        m->stalled = 1;
        m->stalled_since = now;
        char detail[200];
        snprintf(detail, sizeof detail,
                 "nothing from the leader for %llu ms: the relay or the network stalled; sending paused, waiting up to %u s",
                 (unsigned long long)(now - m->hb_last_ok_ms), m->cfg.stall_ms / 1000);
        hc_event ev = {.type = HC_EV_RECONNECTING, .reason = "stalled", .text = detail, .after_ms = m->cfg.stall_ms};
        mt_emit(m, &ev);
    }
    if (m->self != m->leader &&
        (m->stalled ? m->hb_rejected > 0 || now - m->stalled_since > m->cfg.stall_ms
                    : now - m->hb_last_ok_ms > limit)) {
        /* Silence alone is a stall of the network or the relay (which can always stop forwarding):
         * a connectivity failure. Only heartbeats that arrived and failed the checks meanwhile
         * are a sign that someone is hiding the leader's real ones. Either way we leave: the
         * limit bounds how long a change such as a kick can be hidden (PROTOCOL.md §5.5). */
        int tampered = m->hb_rejected > 0;
        char detail[220];
        if (tampered)
            snprintf(detail, sizeof detail,
                     "no valid heartbeat from the leader for %llu ms (limit %u x %llu ms), and %u that failed the checks: leaving",
                     (unsigned long long)(now - m->hb_last_ok_ms), m->cfg.miss_limit, (unsigned long long)interval,
                     m->hb_rejected);
        else
            snprintf(detail, sizeof detail,
                     "lost contact with the meeting: nothing from the leader for %llu ms (limit %u x %llu ms); the network or the relay stalled",
                     (unsigned long long)(now - m->hb_last_ok_ms), m->cfg.miss_limit, (unsigned long long)interval);
        hc_event ev = {.type = HC_EV_HEARTBEAT_TIMEOUT, .detail = detail,
                       .reason = tampered ? "security" : "connectivity"};
        mt_emit(m, &ev);
        mt_leave(m, "heartbeat_timeout", tampered ? HC_EXIT_SECURITY : HC_EXIT_RELAY, 1);
        return;
    }
    if (m->R.relay_lock_at && m->self == m->leader && m->locked && now >= m->R.relay_lock_at) {
        m->R.relay_lock_at = 0;
        hc_msg l;
        hc_msg_init(&l, HC_MSG_LOCK);
        l.flag = 1;
        mt_send(m, &l);
    }
    check_unlisted(m);
    joining_tick(m);
    mt_keys_tick(m);
    if (m->self == m->leader) mt_leader_tick(m);
    if ((m->n_sweep_q || m->sweep_all) && m->phase == HC_MT_IN) sweep(m);
    rate_tick(m);
}

uint64_t hc_meeting_next_deadline(const hc_meeting *m) {
    uint64_t d = m->now + 50;
    if (m->phase == HC_MT_JOINING && m->R.retry_at && m->R.retry_at < d) d = m->R.retry_at;
    if (m->phase != HC_MT_IN) return d;
    if (m->next_nonce_ms < d) d = m->next_nonce_ms;
    if (m->self == m->leader) {
        if (m->L.next_hb_ms && m->L.next_hb_ms < d) d = m->L.next_hb_ms;
        if (m->L.batch_deadline && m->L.batch_deadline < d) d = m->L.batch_deadline;
        if (m->L.switching && m->L.switch_deadline < d) d = m->L.switch_deadline;
    }
    return d < m->now ? m->now : d;
}

static void send_app(hc_meeting *m, const uint8_t *pt, size_t len) {
    uint8_t sf[CHAT_TEXT_MAX + 128];
    int n = mt_seal_chat(m, pt, len, sf, sizeof sf);
    if (n < 0) return;
    hc_msg c;
    hc_msg_init(&c, HC_MSG_CHAT);
    c.data = sf;
    c.data_len = (size_t)n;
    mt_send(m, &c);
}

void mt_send_state(hc_meeting *m) {
    uint8_t st[2] = {APP_STATE, (uint8_t)(m->muted ? 1 : 0)};
    if (m->have_tx) send_app(m, st, sizeof st);
}

static void set_muted(hc_meeting *m, int muted) {
    if (m->muted == muted) return;
    m->muted = muted;
    mt_send_state(m);
    hc_event ev = {.type = HC_EV_MUTE_CHANGED, .index = m->self, .flag = muted, .name = m->cfg.name};
    mt_emit(m, &ev);
}

int hc_meeting_command(hc_meeting *m, const hc_command *cmd, uint64_t now_ms) {
    set_now(m, now_ms);
    if (m->phase != HC_MT_IN) {
        mt_error(m, "not_in_meeting", m->phase == HC_MT_LEFT ? "we have left the meeting" : "not in the meeting yet");
        return -1;
    }
    switch (cmd->type) {
    case HC_CMD_MUTE: set_muted(m, 1); return 0;
    case HC_CMD_UNMUTE: set_muted(m, 0); return 0;
    case HC_CMD_TOGGLE_MUTE: set_muted(m, !m->muted); return 0;
    case HC_CMD_CHAT: {
        size_t tl = cmd->text ? strlen(cmd->text) : 0;
        if (!tl) { mt_error(m, "bad_command", "empty chat message"); return -1; }
        if (tl > CHAT_TEXT_MAX) { mt_error(m, "bad_command", "chat message too long (1000 bytes at most)"); return -1; }
        if (!m->have_tx) { mt_error(m, "no_key", "no meeting key yet: chat is sent only end-to-end encrypted"); return -1; }
        if (!mt_may_send(m)) {
            /* Not silence: the leader just changed (its key comes within a second or so), or a
             * key is missing or stale; sending under the old one could be read by whoever left. */
            mt_error(m, "no_key", "no current meeting key (the leader changed, or its key has not reached us): "
                                  "chat is sent only end-to-end encrypted; try again in a moment");
            return -1;
        }
        uint8_t pt[CHAT_TEXT_MAX + 1];
        pt[0] = APP_TEXT;
        memcpy(pt + 1, cmd->text, tl);
        send_app(m, pt, tl + 1);
        return 0;
    }
    case HC_CMD_VERIFY: {
        mt_member *l = mt_find(m, m->leader);
        if (!m->code[0] || !l || !l->have_binding) { mt_error(m, "no_code", "the leader's identity is not known yet"); return -1; }
        /* Bound to the code the person compared: a verify sent after the leader (and so the code)
         * changed, or with digits misread, must not mark the new leader as verified. */
        if (!cmd->text || !hc_code_matches(cmd->text, m->code)) {
            mt_error(m, "code_mismatch",
                     "that is not the security code of this meeting's leader now: compare the current code "
                     "(the last security_code) again; not verified");
            return -1;
        }
        char why[1024] = "";
        if (m->io.remember_verified &&
            m->io.remember_verified(m->io.ctx, l->b.ivk, l->b.name, why, sizeof why) < 0) {
            /* Shown as verified now but unknown at the next meeting would teach the user that
             * the mark comes and goes: better not verified, and why, so they can retry. */
            char text[1100];
            snprintf(text, sizeof text, "%s; the security code is not marked as verified",
                     why[0] ? why : "could not save the verified leader");
            mt_error(m, "not_saved", text);
            return -1;
        }
        m->code_verified = 1;
        hc_event ev = {.type = HC_EV_VERIFIED, .flag = 1, .code = m->code, .leader = m->leader, .name = l->b.name};
        mt_emit(m, &ev);
        hc_event ev2 = {.type = HC_EV_SECURITY_CODE, .code = m->code, .leader = m->leader, .flag = 1, .name = l->b.name};
        mt_emit(m, &ev2);
        return 0;
    }
    case HC_CMD_LEAVE:
        mt_leave(m, "left", HC_EXIT_OK, 1);
        return 0;
    case HC_CMD_END:
        if (m->self != m->leader) { mt_error(m, "not_leader", "only the leader can end the meeting for everyone"); return -1; }
        {
            hc_msg e;
            hc_msg_init(&e, HC_MSG_END);
            mt_send(m, &e);
        }
        mt_leave(m, "ended", HC_EXIT_OK, 0);
        return 0;
    case HC_CMD_LOCK: case HC_CMD_UNLOCK: case HC_CMD_KICK: case HC_CMD_ADMIT: case HC_CMD_DENY:
        if (cmd->type == HC_CMD_KICK && cmd->index == m->self) {
            /* Refused as what it is, whoever asks: not "no such participant". */
            mt_error(m, "kick_self", "you cannot kick yourself: leave (or, as the leader, end the meeting for everyone)");
            return -1;
        }
        if (m->self != m->leader) { mt_error(m, "not_leader", "only the meeting leader can do that"); return -1; }
        if ((cmd->type == HC_CMD_LOCK || cmd->type == HC_CMD_UNLOCK) && m->locked == (cmd->type == HC_CMD_LOCK)) {
            /* Nothing changes, but a command is never answered with silence. */
            if (m->locked) mt_error(m, "already_locked", "the meeting is already locked");
            else mt_error(m, "already_unlocked", "the meeting is not locked");
            return -1;
        }
        return mt_leader_command(m, cmd);
    case HC_CMD_STATS:
    case HC_CMD_DEVICES:
    case HC_CMD_VIDEO_ON: case HC_CMD_VIDEO_OFF: case HC_CMD_PIN: case HC_CMD_UNPIN:
        return 0;  /* answered by the session, which owns the audio and video side */
    }
    return -1;
}

int hc_meeting_send_report(hc_meeting *m, const uint32_t *senders, const uint8_t *loss_pct, size_t n, uint64_t now_ms) {
    set_now(m, now_ms);
    if (m->phase != HC_MT_IN || !m->have_tx || n > 150) return -1;
    uint8_t pt[1 + 2 + 150 * 5];
    hc_wr w = hc_wr_init(pt, sizeof pt);
    hc_wr_u8(&w, APP_REPORT);
    hc_wr_u16(&w, (uint16_t)n);
    for (size_t i = 0; i < n; i++) {
        hc_wr_u32(&w, senders[i]);
        hc_wr_u8(&w, loss_pct[i]);
    }
    send_app(m, pt, w.len);
    return 0;
}

/* ---- accessors ---- */

hc_meeting_phase hc_meeting_phase_get(const hc_meeting *m) { return m->phase; }
const char *hc_meeting_id(const hc_meeting *m) { return m->meeting_id; }
uint32_t hc_meeting_self_index(const hc_meeting *m) { return m->self; }
uint32_t hc_meeting_leader_index(const hc_meeting *m) { return m->leader; }
int hc_meeting_is_leader(const hc_meeting *m) { return m->phase == HC_MT_IN && m->self == m->leader; }
uint32_t hc_meeting_send_epoch(const hc_meeting *m) { return m->send_epoch; }
uint32_t hc_meeting_highest_epoch(const hc_meeting *m) { return m->highest_epoch; }
const char *hc_meeting_code(const hc_meeting *m) { return m->code; }
int hc_meeting_code_verified(const hc_meeting *m) { return m->code_verified; }
int hc_meeting_locked(const hc_meeting *m) { return m->locked; }
int hc_meeting_admit_policy(const hc_meeting *m) { return m->admit_known ? (int)m->admit : -1; }
int hc_meeting_muted(const hc_meeting *m) { return m->muted; }
const char *hc_meeting_left_reason(const hc_meeting *m) { return m->left_reason; }
int hc_meeting_exit_status(const hc_meeting *m) { return m->exit_status; }
double hc_meeting_rtt_ms(const hc_meeting *m) { return m->rtt_ms; }
void hc_meeting_switch_stats(const hc_meeting *m, uint64_t *by_acks, uint64_t *by_timeout) {
    *by_acks = m->L.cert_by_acks;
    *by_timeout = m->L.cert_by_timeout;
}

void hc_meeting_announce_stats(const hc_meeting *m, uint64_t *verified, uint64_t *capped) {
    *verified = m->L.announce_verified;
    *capped = m->L.announce_capped;
}

size_t hc_meeting_roster_size(const hc_meeting *m) {
    /* a leader's roster is the last one it sent, which lists exactly its members */
    return m->have_roster ? m->roster->n : 0;
}

int hc_meeting_roster_id(const hc_meeting *m, uint32_t *v, uint8_t hash[32]) {
    if (!m->have_roster) return -1;
    *v = m->roster->v;
    memcpy(hash, m->roster_hash, 32);
    return 0;
}

size_t hc_meeting_members(const hc_meeting *m, hc_member_info *out, size_t cap) {
    size_t k = 0;
    int leading = m->self == m->leader;
    for (size_t i = 0; i < m->n_mem && k < cap; i++) {
        mt_member *x = m->mem[i];
        if (!x->have_binding) continue;
        int in_roster = leading ? x->in_roster : mt_is_roster_member(m, x->index);
        int waiting = leading ? x->waiting : (m->have_roster && hc_roster_find_waiting(m->roster, x->index) != NULL);
        if (!in_roster && !waiting && x->index != m->self) continue;
        hc_member_info *o = &out[k++];
        o->index = x->index;
        o->name = x->b.name;
        o->fingerprint = x->fpr;
        o->is_leader = x->index == m->leader;
        o->is_self = x->index == m->self;
        o->muted = x->index == m->self ? m->muted : x->muted;
        o->waiting = waiting;
        o->in_roster = in_roster;
        o->rx = x->rx;
    }
    return k;
}

int hc_meeting_stalled(const hc_meeting *m) { return m->stalled; }
uint64_t hc_meeting_last_rx_ms(const hc_meeting *m) { return m->last_rx_ms; }

int hc_meeting_resume_export(const hc_meeting *m, hc_meeting_resume *out) {
    memset(out, 0, sizeof *out);
    const mt_member *l = mt_find(m, m->leader);
    int leading = m->self == m->leader;
    if (!m->meeting_id[0] || !l || !l->have_binding) return -1;
    if (!leading && !mt_is_roster_member(m, m->self)) return -1;   /* never keyed in: nothing to resume */
    snprintf(out->meeting_id, sizeof out->meeting_id, "%s", m->meeting_id);
    memcpy(out->uuid, m->uuid, HC_UUID_LEN);
    memcpy(out->leader_ivk, l->b.ivk, 32);
    out->was_leader = leading;
    out->epoch = m->highest_epoch > m->L.epoch ? m->highest_epoch : m->L.epoch;
    if (m->send_epoch > out->epoch) out->epoch = m->send_epoch;
    out->locked = m->locked;
    out->admit = m->admit_known ? m->admit : m->cfg.admit;
    out->ivks = calloc(m->n_mem ? m->n_mem : 1, 32);
    if (!out->ivks) return -1;
    uint32_t before = 0;
    for (size_t i = 0; i < m->n_mem; i++) {
        const mt_member *x = m->mem[i];
        if (!x->have_binding || !(leading ? x->in_roster || x->index == m->self : mt_is_roster_member(m, x->index)))
            continue;
        memcpy(out->ivks[out->n_ivks++], x->b.ivk, 32);
        if (x->index != m->leader && x->index < m->self) before++;   /* indexes follow join order */
    }
    out->rank = leading ? 0 : before;
    /* The lock list a resuming leader keeps: its own, or (a member taking over) the roster's. */
    size_t nl = leading ? m->L.n_lock_ivks : out->n_ivks;
    if (out->locked && nl) {
        out->lock_ivks = calloc(nl, 32);
        if (!out->lock_ivks) { hc_meeting_resume_free(out); return -1; }
        memcpy(out->lock_ivks, leading ? (const void *)m->L.lock_ivks : (const void *)out->ivks, nl * 32);
        out->n_lock_ivks = nl;
    }
    return 0;
}

void hc_meeting_resume_free(hc_meeting_resume *r) {
    if (!r) return;
    free(r->ivks);
    free(r->lock_ivks);
    memset(r, 0, sizeof *r);
}

int hc_meeting_debug_mk(const hc_meeting *m, uint32_t epoch, uint8_t mk[32]) {
    const mt_epoch *e = mt_epoch_get(m, epoch);
    if (!e) return -1;
    memcpy(mk, e->mk, 32);
    return 0;
}
