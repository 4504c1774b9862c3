/* An in-memory meeting: N participant state machines and one relay core, wired together with
 * queues and a fake clock. No sockets, no threads: every test is deterministic apart from the
 * keys. Used by tests/test_meeting.c and bench/bench_meeting.c.
 *
 * Delivery is queued, not immediate, so no state machine is re-entered from its own callbacks,
 * and per-connection order is kept like TCP. A test can intercept frames in either direction
 * (sim->on_to_relay / sim->on_to_client) to tamper, drop or record them. */
#ifndef HC_SIM_H
#define HC_SIM_H

#include <netinet/in.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/meeting.h"
#include "crypto/identity.h"
#include "crypto/keybox.h"
#include "crypto/sig.h"
#include "net/media.h"
#include "net/relay_core.h"
#include "net/wire.h"

#define SIM_MAX 64
#define SIM_EV_MAX 4096

typedef struct {
    hc_event_type type;
    uint64_t t_ms;
    uint32_t index, leader, epoch, members;
    int flag;
    char kind[40], text[1100], code[64], name[80], reason[40];
} sim_event;

typedef struct sim_msg {
    struct sim_msg *next;
    int to_relay;                 /* 1: client -> relay (control), 0: relay -> client */
    int media;                    /* datagram */
    int close;                    /* the relay closed this participant's connection */
    int who;                      /* participant slot */
    uint64_t due;
    size_t len;
    uint8_t data[];
} sim_msg;

typedef struct sim sim;

typedef struct {
    sim *s;
    int slot;
    int active;
    hc_identity id;
    hc_meeting *m;
    uint64_t conn;
    struct sockaddr_in addr;      /* fake media endpoint */
    uint8_t token[16];
    int have_token;
    sim_event *ev;
    size_t n_ev;
    size_t media_rx;              /* decrypted audio payloads delivered */
    uint32_t last_media_sender;
    uint8_t last_media[256];
    size_t last_media_len;
    hc_meeting_config cfg;        /* what its meeting was made from (a rejoin makes a new one) */
    hc_meeting_resume resume;     /* sim_relay_restart: the meeting it goes back to */
} sim_part;

struct sim {
    hc_relay *relay;
    hc_relay_config rcfg;
    uint64_t now;
    sim_part p[SIM_MAX];
    sim_msg *head, *tail;
    uint64_t next_conn;
    /* Interceptors: return 0 to drop the frame; may modify it in place (len via *len). */
    int (*on_to_relay)(sim *s, int who, uint8_t *frame, size_t *len, void *arg);
    int (*on_to_client)(sim *s, int who, uint8_t *frame, size_t *len, void *arg);
    void *arg;
    /* Saving a verified leader (hc_meeting_io.remember_verified); NULL: always saved. */
    int (*remember)(sim *s, int who, const uint8_t ivk[32], const char *name, char *err, size_t errlen);
    uint64_t ctrl_frames_to_clients, ctrl_bytes_to_clients;
    uint64_t heartbeats_seen[SIM_MAX]; /* heartbeat frames delivered per participant */
};

static void sim_enqueue(sim *s, int to_relay, int media, int who, const uint8_t *d, size_t len) {
    sim_msg *q = malloc(sizeof *q + len);
    if (!q) abort();
    q->next = NULL;
    q->to_relay = to_relay;
    q->media = media;
    q->close = 0;
    q->who = who;
    q->due = s->now;
    q->len = len;
    if (len) memcpy(q->data, d, len);
    if (s->tail) s->tail->next = q; else s->head = q;
    s->tail = q;
}

static int sim_slot_of_conn(sim *s, uint64_t conn) {
    for (int i = 0; i < SIM_MAX; i++)
        if (s->p[i].active && s->p[i].conn == conn) return i;
    return -1;
}

/* ---- relay io ---- */
static void sim_relay_send(void *ctx, uint64_t conn, const uint8_t *frame, size_t len) {
    sim *s = ctx;
    int w = sim_slot_of_conn(s, conn);
    if (w >= 0) sim_enqueue(s, 0, 0, w, frame, len);
}
/* Like the real I/O layer, closing happens later, after queued frames were delivered. */
static void sim_relay_close(void *ctx, uint64_t conn) {
    sim *s = ctx;
    int w = sim_slot_of_conn(s, conn);
    if (w < 0) return;
    sim_enqueue(s, 0, 0, w, NULL, 0);
    s->tail->close = 1;
}

/* ---- meeting io ---- */
static void sim_send_ctrl(void *ctx, const uint8_t *frame, size_t len) {
    sim_part *p = ctx;
    sim_enqueue(p->s, 1, 0, p->slot, frame, len);
}
static void sim_send_media(void *ctx, const uint8_t *pkt, size_t len) {
    sim_part *p = ctx;
    sim_enqueue(p->s, 1, 1, p->slot, pkt, len);
}
static void sim_event_cb(void *ctx, const hc_event *ev) {
    sim_part *p = ctx;
    if (!p->ev) p->ev = calloc(SIM_EV_MAX, sizeof *p->ev);
    if (p->n_ev >= SIM_EV_MAX) return;
    sim_event *e = &p->ev[p->n_ev++];
    e->type = ev->type;
    e->t_ms = ev->t_ms;
    e->index = ev->index;
    e->leader = ev->leader;
    e->epoch = ev->epoch;
    e->members = ev->members;
    e->flag = ev->flag;
    snprintf(e->kind, sizeof e->kind, "%s", ev->kind ? ev->kind : "");
    snprintf(e->text, sizeof e->text, "%s", ev->text ? ev->text : ev->detail ? ev->detail : "");
    snprintf(e->code, sizeof e->code, "%s", ev->code ? ev->code : "");
    snprintf(e->name, sizeof e->name, "%s", ev->name ? ev->name : "");
    snprintf(e->reason, sizeof e->reason, "%s", ev->reason ? ev->reason : "");
    if (getenv("SIM_VERBOSE"))
        fprintf(stderr, "[%6llu] p%d %s %s %s %s %s\n", (unsigned long long)p->s->now, p->slot,
                hc_event_type_name(ev->type), e->kind, e->code, e->text, e->reason);
}
static int sim_remember(void *ctx, const uint8_t ivk[32], const char *name, char *err, size_t errlen) {
    sim_part *p = ctx;
    return p->s->remember ? p->s->remember(p->s, p->slot, ivk, name, err, errlen) : 0;
}
static void sim_media_cb(void *ctx, uint32_t sender, const uint8_t *payload, size_t len) {
    sim_part *p = ctx;
    p->media_rx++;
    p->last_media_sender = sender;
    p->last_media_len = len < sizeof p->last_media ? len : sizeof p->last_media;
    memcpy(p->last_media, payload, p->last_media_len);
}
static void sim_media_token(void *ctx, const uint8_t token[16]) {
    sim_part *p = ctx;
    memcpy(p->token, token, 16);
    p->have_token = 1;
    uint8_t reg[17];
    hc_media_control(reg, HC_MEDIA_REGISTER, token);
    sim_enqueue(p->s, 1, 1, p->slot, reg, sizeof reg);
}

static sim *sim_new(const hc_relay_config *rcfg) {
    sim *s = calloc(1, sizeof *s);
    if (rcfg) s->rcfg = *rcfg; else hc_relay_config_defaults(&s->rcfg);
    hc_relay_io io = {s, sim_relay_send, sim_relay_close};
    s->relay = hc_relay_new(&s->rcfg, &io);
    s->now = 1000000;
    s->next_conn = 1;
    return s;
}

static hc_meeting_config sim_default_cfg(void) {
    hc_meeting_config c;
    hc_meeting_config_defaults(&c);
    return c;
}

static hc_meeting_io sim_io(sim_part *p) {
    hc_meeting_io io = {.ctx = p, .send_ctrl = sim_send_ctrl, .send_media = sim_send_media, .event = sim_event_cb,
                        .media = sim_media_cb, .media_token = sim_media_token, .remember_verified = sim_remember};
    return io;
}

/* A participant's meeting object in a free slot, not connected yet: create (host) or join
 * meeting_id. cfg may be NULL for defaults. Returns the slot. */
static int sim_part_make(sim *s, const char *name, int create, const char *meeting_id, const hc_meeting_config *cfg,
                         const hc_identity *id) {
    int i = 0;
    while (i < SIM_MAX && s->p[i].active) i++;
    if (i == SIM_MAX) abort();
    sim_part *p = &s->p[i];
    memset(p, 0, sizeof *p);
    p->s = s;
    p->slot = i;
    p->active = 1;
    if (id) p->id = *id; else hc_identity_generate(&p->id);
    hc_meeting_config c = cfg ? *cfg : sim_default_cfg();
    c.id = &p->id;
    snprintf(c.name, sizeof c.name, "%s", name);
    c.create = create;
    if (meeting_id) snprintf(c.meeting_id, sizeof c.meeting_id, "%s", meeting_id);
    p->cfg = c;
    hc_meeting_io io = sim_io(p);
    p->m = hc_meeting_new(&c, &io, s->now);
    p->addr.sin_family = AF_INET;
    /* Each participant its own address, as people on different machines: the relay's
     * per-address limits (unjoined connections, JOIN rate) are tested on their own. */
    p->addr.sin_addr.s_addr = htonl(0x7f000001u + (uint32_t)i);
    p->addr.sin_port = htons((uint16_t)(20000 + i));
    return i;
}

/* Adds a participant: create (host) or join meeting_id. cfg may be NULL for defaults. */
static int sim_add(sim *s, const char *name, int create, const char *meeting_id, const hc_meeting_config *cfg,
                   const hc_identity *id) {
    int i = sim_part_make(s, name, create, meeting_id, cfg, id);
    sim_part *p = &s->p[i];
    p->conn = s->next_conn++;
    hc_relay_on_connect(s->relay, p->conn, (const struct sockaddr *)&p->addr, s->now);
    hc_meeting_start(p->m, s->now);
    return i;
}

static int sim_slot_of_endpoint(sim *s, const struct sockaddr_storage *ss) {
    const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
    for (int i = 0; i < SIM_MAX; i++)
        if (s->p[i].active && s->p[i].addr.sin_port == a->sin_port) return i;
    return -1;
}

/* Delivers everything queued (and what that causes) until the queues are empty. */
static void sim_flush(sim *s) {
    int guard = 0;
    while (s->head && guard++ < 10000000) {
        sim_msg *q = s->head;
        s->head = q->next;
        if (!s->head) s->tail = NULL;
        sim_part *p = &s->p[q->who];
        if (q->close) {
            if (p->conn) hc_relay_on_disconnect(s->relay, p->conn, s->now);
            p->conn = 0;
            if (p->active && p->m) hc_meeting_on_disconnected(p->m, "the relay closed the connection", s->now);
        } else if (q->to_relay && q->media) {
            hc_media_route rt;
            uint8_t buf[HC_MEDIA_MAX];
            size_t len = q->len < sizeof buf ? q->len : sizeof buf;
            memcpy(buf, q->data, len);
            size_t n = hc_relay_on_media(s->relay, (const struct sockaddr *)&p->addr, sizeof p->addr, buf, len, s->now, &rt);
            for (size_t d = 0; d < n; d++) {
                int w = sim_slot_of_endpoint(s, rt.dests[d]);
                if (w >= 0) sim_enqueue(s, 0, 1, w, buf, len);
                if (w >= 0 && rt.extra) sim_enqueue(s, 0, 1, w, rt.extra, rt.extra_len);
            }
        } else if (q->to_relay) {
            size_t len = q->len;
            if (p->conn && (!s->on_to_relay || s->on_to_relay(s, q->who, q->data, &len, s->arg)))
                hc_relay_on_bytes(s->relay, p->conn, q->data, len, s->now);
        } else if (q->media) {
            if (p->active && p->m) hc_meeting_on_media(p->m, q->data, q->len, s->now);
        } else {
            size_t len = q->len;
            if (p->active && p->m && (!s->on_to_client || s->on_to_client(s, q->who, q->data, &len, s->arg))) {
                s->ctrl_frames_to_clients++;
                s->ctrl_bytes_to_clients += len;
                if (len > 5 && q->data[5] == HC_MSG_HEARTBEAT) s->heartbeats_seen[q->who]++;
                hc_meeting_on_frame(p->m, q->data + 4, len - 4, s->now);
            }
        }
        free(q);
    }
}

/* Every participant's timers, at the fake clock's time. */
static void sim_tick_parts(sim *s) {
    for (int i = 0; i < SIM_MAX; i++)
        if (s->p[i].active && s->p[i].m) hc_meeting_tick(s->p[i].m, s->now);
}

/* Advances the fake clock in steps, ticking everyone and delivering all traffic. */
static void sim_run(sim *s, uint64_t ms, uint64_t step) {
    uint64_t end = s->now + ms;
    sim_flush(s);
    while (s->now < end) {
        s->now += step;
        sim_tick_parts(s);
        hc_relay_tick(s->relay, s->now);
        sim_flush(s);
    }
}

/* Disconnects a participant's control connection (as if its process died). */
static void sim_drop(sim *s, int i) {
    sim_part *p = &s->p[i];
    if (p->conn) hc_relay_on_disconnect(s->relay, p->conn, s->now);
    p->conn = 0;
    if (p->m) hc_meeting_on_disconnected(p->m, "test dropped the connection", s->now);
}

static void sim_remove(sim *s, int i) {
    sim_part *p = &s->p[i];
    if (p->conn) hc_relay_on_disconnect(s->relay, p->conn, s->now);
    hc_meeting_free(p->m);
    hc_meeting_resume_free(&p->resume);
    p->m = NULL;
    free(p->ev);
    p->ev = NULL;
    hc_identity_wipe(&p->id);
    p->active = 0;
}

static void sim_free(sim *s) {
    sim_flush(s);
    for (int i = 0; i < SIM_MAX; i++)
        if (s->p[i].active) sim_remove(s, i);
    while (s->head) {
        sim_msg *q = s->head;
        s->head = q->next;
        free(q);
    }
    hc_relay_free(s->relay);
    free(s);
}

/* Participant i lost its connection and gets back into its meeting on a new one, as the session
 * does: what a rejoin needs is kept, a new meeting object connects. -1 when it had nothing to
 * export (it keeps the previous resume context, if any). */
/* Participant i's meeting object is replaced by a fresh one that goes back to the meeting it was
 * in (what the session does after a lost connection). -1 when there was nothing to export. */
static int sim_part_renew(sim *s, int i) {
    sim_part *p = &s->p[i];
    hc_meeting_resume r;
    int rc = 0;
    if (hc_meeting_resume_export(p->m, &r) == 0) {
        hc_meeting_resume_free(&p->resume);
        p->resume = r;
    } else {
        rc = -1;
    }
    hc_meeting_free(p->m);
    hc_meeting_config c = p->cfg;
    c.resume = &p->resume;
    hc_meeting_io io = sim_io(p);
    p->m = hc_meeting_new(&c, &io, s->now);
    p->have_token = 0;
    return rc;
}

static int sim_rejoin(sim *s, int i) {
    sim_part *p = &s->p[i];
    if (p->conn) hc_relay_on_disconnect(s->relay, p->conn, s->now);
    int rc = sim_part_renew(s, i);
    p->conn = s->next_conn++;
    hc_relay_on_connect(s->relay, p->conn, (const struct sockaddr *)&p->addr, s->now);
    hc_meeting_start(p->m, s->now);
    return rc;
}

/* The relay dies (everything in flight is lost) and a new one, which knows nothing, starts in its
 * place (rcfg NULL: the same settings). Every participant whose back[slot] is set gets back into
 * the meeting it was in, as the session does after a lost connection: it keeps what a rejoin needs
 * (hc_meeting_resume_export), its old meeting object goes and a new one connects. The others are
 * gone with the relay (removed). Returns how many could not export (0 when all had a meeting). */
static int sim_relay_restart(sim *s, const int back[SIM_MAX], const hc_relay_config *rcfg) {
    while (s->head) {
        sim_msg *q = s->head;
        s->head = q->next;
        free(q);
    }
    s->tail = NULL;
    hc_relay_free(s->relay);
    if (rcfg) s->rcfg = *rcfg;
    hc_relay_io rio = {s, sim_relay_send, sim_relay_close};
    s->relay = hc_relay_new(&s->rcfg, &rio);
    int failed = 0;
    for (int i = 0; i < SIM_MAX; i++) {
        sim_part *p = &s->p[i];
        if (!p->active) continue;
        p->conn = 0;
        if (!back[i] || !p->m) { sim_remove(s, i); continue; }
        failed += sim_rejoin(s, i) < 0;
    }
    return failed;
}

/* One frame to a meeting object as if from the relay (outside any sim: benches, made-up peers). */
static void sim_feed(hc_meeting *m, const hc_msg *msg, uint64_t now) {
    static uint8_t buf[HC_FRAME_MAX_DEFAULT + 64];
    size_t n = hc_msg_encode(msg, buf, sizeof buf);
    if (!n) abort();
    hc_meeting_on_frame(m, buf + 4, n - 4, now);
}

/* A member made up on the spot, told to m as the relay would: MEMBER_JOINED, then its validly
 * signed announcement (a fresh identity and ephemeral key) for that meeting id and instance. With
 * id_out, its identity is kept there (to sign as it later: a made-up leader's heartbeats), with
 * bhash_out the hash of its binding. */
static void sim_feed_member_id(hc_meeting *m, const char *meeting_id, const uint8_t uuid[16], uint32_t index,
                               const char *name, uint64_t now, hc_identity *id_out, uint8_t bhash_out[32]) {
    hc_msg a;
    hc_msg_init(&a, HC_MSG_MEMBER_JOINED);
    a.index = index;
    snprintf(a.name, sizeof a.name, "%s", name);
    sim_feed(m, &a, now);
    hc_identity id;
    hc_identity_generate(&id);
    hc_ephemeral e;
    hc_ephemeral_generate(&e);
    hc_binding b;
    memset(&b, 0, sizeof b);
    snprintf(b.meeting_id, sizeof b.meeting_id, "%s", meeting_id);
    memcpy(b.uuid, uuid, 16);
    b.index = index;
    memcpy(b.ivk, id.ivk, 32);
    memcpy(b.pk, e.pk, 32);
    snprintf(b.name, sizeof b.name, "%s", name);
    randombytes_buf(b.nonce, sizeof b.nonce);
    uint8_t enc[HC_BINDING_MAX];
    hc_msg_init(&a, HC_MSG_ANNOUNCE);
    a.data = enc;
    a.data_len = hc_binding_encode(&b, enc, sizeof enc);
    hc_binding_sign(a.sig, enc, a.data_len, id.isk);
    if (bhash_out) hc_hash(bhash_out, enc, a.data_len);
    sim_feed(m, &a, now);
    if (id_out) *id_out = id;
    hc_identity_wipe(&id);
    hc_ephemeral_wipe(&e);
}

static void sim_feed_member(hc_meeting *m, const char *meeting_id, const uint8_t uuid[16], uint32_t index,
                            const char *name, uint64_t now) {
    sim_feed_member_id(m, meeting_id, uuid, index, name, now, NULL, NULL);
}

/* A meeting of n: slot 0 hosts, the others join; returns the sim with everyone settled. */
static sim *sim_meeting_of(int n, const hc_meeting_config *cfg) {
    sim *s = sim_new(NULL);
    sim_add(s, "p0", 1, NULL, cfg, NULL);
    sim_run(s, 100, 10);
    for (int i = 1; i < n; i++) {
        char name[16];
        snprintf(name, sizeof name, "p%d", i);
        sim_add(s, name, 0, hc_meeting_id(s->p[0].m), cfg, NULL);
    }
    sim_run(s, 1500, 10);
    return s;
}

/* What `act` costs the relay's control output in a settled meeting of n (frames and bytes to
 * every client until 1 s later): e.g. a join or a leave, to compare meetings of two sizes. */
static void sim_cost_of(int n, void (*act)(sim *s, int n), uint64_t *frames, uint64_t *bytes) {
    sim *s = sim_meeting_of(n, NULL);
    uint64_t f0 = s->ctrl_frames_to_clients, b0 = s->ctrl_bytes_to_clients;
    act(s, n);
    sim_flush(s);
    sim_run(s, 1000, 10);
    if (frames) *frames = s->ctrl_frames_to_clients - f0;
    if (bytes) *bytes = s->ctrl_bytes_to_clients - b0;
    sim_free(s);
}

/* Event helpers. */
static size_t sim_count(const sim *s, int i, hc_event_type t, const char *kind) {
    size_t n = 0;
    for (size_t k = 0; k < s->p[i].n_ev; k++)
        if (s->p[i].ev[k].type == t && (!kind || !strcmp(s->p[i].ev[k].kind, kind))) n++;
    return n;
}

static const sim_event *sim_last(const sim *s, int i, hc_event_type t) {
    for (size_t k = s->p[i].n_ev; k > 0; k--)
        if (s->p[i].ev[k - 1].type == t) return &s->p[i].ev[k - 1];
    return NULL;
}

static const char *sim_meeting_id(const sim *s, int i) { return hc_meeting_id(s->p[i].m); }

#endif
