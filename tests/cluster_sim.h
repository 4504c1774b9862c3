/* An in-memory relay cluster: N cluster nodes (net/cluster_core.h, each with its relay core) over
 * a fake bus, a fake lease bucket (KV with revisions and a TTL) and fake UDP, with participants that
 * are real meeting state machines (tests/sim.h) connected to any node. One fake clock; no sockets,
 * no threads. Nodes can be killed (everything of theirs vanishes at once, as with kill -9), cut
 * from the bus, and bus messages can be dropped, to test what the cluster does about it. */
#ifndef HC_CLUSTER_SIM_H
#define HC_CLUSTER_SIM_H

#include "net/cluster_core.h"
#include "tests/sim.h"

#define CS_NODES 8
#define CS_KV_MAX 256

typedef struct cs_bus {
    struct cs_bus *next;
    int from;                     /* node that published (-1: none) */
    char subject[96];
    size_t len;
    uint8_t data[];
} cs_bus;

typedef struct cs_udp {
    struct cs_udp *next;
    int from_node, sock;
    struct sockaddr_storage to;
    size_t len;
    uint8_t data[];
} cs_udp;

typedef struct cs_kvq {
    struct cs_kvq *next;
    int node;
    hc_kv_req req;
} cs_kvq;

typedef struct csim csim;

typedef struct {
    csim *c;
    int i;
    hc_cluster *cl;
    int up, bus_up;
    uint64_t next_conn;
    struct sockaddr_in main, media;   /* its relay port, its node socket */
    uint64_t published;
    uint64_t kv_requests, kv_gets;
} cs_node;

struct csim {
    sim *s;                       /* participants, their queues and events (its relay is unused) */
    cs_node n[CS_NODES];
    int nn;
    int node_of[SIM_MAX];         /* the node each participant is connected to (-1: none) */
    int last_node[SIM_MAX];       /* ... or was last */
    uint64_t rejoin_at[SIM_MAX];  /* reconnecting: when it tries the next node (0: not) */
    int auto_rejoin;              /* participants with reconnect on get back in by themselves */
    /* --workers: a participant's UDP flow lands on this node instead of its TCP connection's
     * (-1, the default: the same node), as SO_REUSEPORT hashes each on its own */
    int udp_node[SIM_MAX];
    cs_bus *bh, *bt;
    cs_udp *uh, *ut;
    cs_kvq *kh, *kt;
    struct { char key[HC_MEETING_ID_MAX + 1]; char value[HC_CL_NAME_MAX + 1]; uint64_t rev, at; int used; } kv[CS_KV_MAX];
    uint64_t kv_rev;
    int kv_down;
    uint64_t ttl_ms;
    /* Drops bus messages: return 1 to drop (a lossy bus, a restart of it). */
    int (*bus_drop)(csim *c, int from, int to, const uint8_t *msg, size_t len, void *arg);
    void *arg;
    hc_relay_config rcfg;
    hc_cluster_config ccfg;
    uint64_t bus_msgs, down_msgs;
    uint8_t last_dgram[HC_CL_DGRAM_MAX];   /* the latest node-to-node datagram delivered, and to whom */
    size_t last_dgram_len;
    int last_dgram_to;
};

/* ---- node io ---- */
static void cs_publish(void *ctx, const char *subject, const uint8_t *p, size_t len) {
    cs_node *n = ctx;
    csim *c = n->c;
    if (!n->bus_up) return;
    cs_bus *b = malloc(sizeof *b + len);
    if (!b) abort();
    b->next = NULL;
    b->from = n->i;
    snprintf(b->subject, sizeof b->subject, "%s", subject);
    b->len = len;
    memcpy(b->data, p, len);
    if (c->bt) c->bt->next = b; else c->bh = b;
    c->bt = b;
    n->published++;
    c->bus_msgs++;
    if (len > 1 && p[1] == HC_CL_DOWN) c->down_msgs++;
}

static void cs_kv(void *ctx, const hc_kv_req *req) {
    cs_node *n = ctx;
    cs_kvq *q = calloc(1, sizeof *q);
    if (!q) abort();
    q->node = n->i;
    q->req = *req;
    if (n->c->kt) n->c->kt->next = q; else n->c->kh = q;
    n->c->kt = q;
    n->kv_requests++;
    n->kv_gets += req->op == HC_KV_GET;
}

static int cs_slot_of(csim *c, int node, uint64_t conn) {
    for (int i = 0; i < SIM_MAX; i++)
        if (c->s->p[i].active && c->node_of[i] == node && c->s->p[i].conn == conn) return i;
    return -1;
}

static int cs_conn_send(void *ctx, uint64_t conn, const uint8_t *frame, size_t len) {
    cs_node *n = ctx;
    int w = cs_slot_of(n->c, n->i, conn);
    if (w >= 0) sim_enqueue(n->c->s, 0, 0, w, frame, len);
    return 0;
}

static void cs_conn_close(void *ctx, uint64_t conn) {
    cs_node *n = ctx;
    int w = cs_slot_of(n->c, n->i, conn);
    if (w < 0) return;
    sim_enqueue(n->c->s, 0, 0, w, NULL, 0);
    n->c->s->tail->close = 1;
}

static void cs_udp_send(void *ctx, int sock, const uint8_t *pkt, size_t len, const struct sockaddr_storage *to) {
    cs_node *n = ctx;
    csim *c = n->c;
    cs_udp *u = malloc(sizeof *u + len);
    if (!u) abort();
    u->next = NULL;
    u->from_node = n->i;
    u->sock = sock;
    u->to = *to;
    u->len = len;
    memcpy(u->data, pkt, len);
    if (c->ut) c->ut->next = u; else c->uh = u;
    c->ut = u;
}

static void cs_udp_flush(void *ctx) { (void)ctx; }

static void cs_log(void *ctx, int warn, const char *event, const char *detail) {
    cs_node *n = ctx;
    if (getenv("SIM_VERBOSE"))
        fprintf(stderr, "[%6llu] node%d %s%s %s\n", (unsigned long long)n->c->s->now, n->i, warn ? "WARN " : "", event, detail);
}

static void cs_node_start(csim *c, int i) {
    cs_node *n = &c->n[i];
    n->c = c;
    n->i = i;
    hc_cluster_config cc = c->ccfg;
    snprintf(cc.node, sizeof cc.node, "node%d", i);
    n->media.sin_family = AF_INET;
    n->media.sin_addr.s_addr = htonl(0x0a000100u + (uint32_t)i);
    n->media.sin_port = htons(7401);
    n->main.sin_family = AF_INET;
    n->main.sin_addr.s_addr = htonl(0x0a000000u + (uint32_t)i);
    n->main.sin_port = htons(7400);
    memset(&cc.advertise, 0, sizeof cc.advertise);
    memcpy(&cc.advertise, &n->media, sizeof n->media);
    cc.incarnation = c->s->now * 1000 + (uint64_t)i + 1;   /* grows with each start */
    hc_cluster_io io = {n, cs_publish, cs_kv, cs_conn_send, cs_conn_close, cs_udp_send, cs_udp_flush, cs_log, NULL};
    n->cl = hc_cluster_new(&cc, &c->rcfg, &io, c->s->now);
    if (!n->cl) abort();
    n->up = 1;
    n->bus_up = 1;
    n->next_conn = 1;
    hc_cluster_on_bus_state(n->cl, 1, c->s->now);
}

/* nodes: how many; ccfg/rcfg NULL for defaults (heartbeats every 100 ms, dead after 600 ms). */
static csim *cs_new(int nodes, const hc_cluster_config *ccfg, const hc_relay_config *rcfg) {
    csim *c = calloc(1, sizeof *c);
    if (!c) abort();
    c->s = sim_new(rcfg);
    c->rcfg = c->s->rcfg;
    if (ccfg) {
        c->ccfg = *ccfg;
    } else {
        hc_cluster_config_defaults(&c->ccfg);
        c->ccfg.hb_ms = 100;
        c->ccfg.dead_ms = 600;
        c->ccfg.lease_ttl_ms = 6000;
    }
    snprintf(c->ccfg.cluster, sizeof c->ccfg.cluster, "t");
    for (int k = 0; k < 32; k++) c->ccfg.key[k] = (uint8_t)(k * 7 + 1);
    c->ttl_ms = c->ccfg.lease_ttl_ms;
    c->nn = nodes;
    for (int i = 0; i < SIM_MAX; i++) c->node_of[i] = c->udp_node[i] = -1;
    for (int i = 0; i < nodes; i++) cs_node_start(c, i);
    return c;
}

static int cs_subject_match(const char *sub, const char *subject) {
    size_t l = strlen(sub);
    if (l >= 2 && !strcmp(sub + l - 2, ".>")) return !strncmp(sub, subject, l - 1);
    return !strcmp(sub, subject);
}

static void cs_kv_answer(csim *c, cs_kvq *q) {
    hc_kv_res r;
    memset(&r, 0, sizeof r);
    r.id = q->req.id;
    int k = -1, free_slot = -1;
    for (int i = 0; i < CS_KV_MAX; i++) {
        if (c->kv[i].used && c->s->now >= c->kv[i].at + c->ttl_ms) c->kv[i].used = 0;   /* TTL */
        if (c->kv[i].used && !strcmp(c->kv[i].key, q->req.key)) k = i;
        if (!c->kv[i].used && free_slot < 0) free_slot = i;
    }
    if (c->kv_down) {
        r.status = HC_KV_FAILED;
    } else if (q->req.op == HC_KV_GET) {
        if (k < 0) r.status = HC_KV_NOT_FOUND;
        else {
            snprintf(r.value, sizeof r.value, "%s", c->kv[k].value);
            r.rev = c->kv[k].rev;
        }
    } else if (q->req.op == HC_KV_DELETE) {
        if (k >= 0) c->kv[k].used = 0;
    } else if ((q->req.op == HC_KV_CREATE && k >= 0) || (q->req.op == HC_KV_UPDATE && (k < 0 || c->kv[k].rev != q->req.rev))) {
        r.status = HC_KV_CONFLICT;
    } else {
        if (k < 0) k = free_slot;
        if (k < 0) abort();
        c->kv[k].used = 1;
        snprintf(c->kv[k].key, sizeof c->kv[k].key, "%s", q->req.key);
        snprintf(c->kv[k].value, sizeof c->kv[k].value, "%s", q->req.value);
        c->kv[k].rev = ++c->kv_rev;
        c->kv[k].at = c->s->now;
        r.rev = c->kv[k].rev;
    }
    cs_node *n = &c->n[q->node];
    if (n->up && n->bus_up) hc_cluster_on_kv(n->cl, &r, c->s->now);
}

static int cs_node_of_media(csim *c, const struct sockaddr_storage *to) {
    const struct sockaddr_in *a = (const struct sockaddr_in *)to;
    for (int i = 0; i < c->nn; i++)
        if (c->n[i].up && a->sin_addr.s_addr == c->n[i].media.sin_addr.s_addr && a->sin_port == c->n[i].media.sin_port) return i;
    return -1;
}

/* A participant's connection is gone: with reconnecting on it tries the next node shortly (the
 * session's client moves on to the next relay of its list), else it is out. */
static void cs_lost(csim *c, int slot, const char *why) {
    sim_part *p = &c->s->p[slot];
    if (!p->active || !p->m) return;
    if (c->auto_rejoin && p->cfg.reconnect && hc_meeting_phase_get(p->m) != HC_MT_LEFT) {
        c->rejoin_at[slot] = c->s->now + 200;
        return;
    }
    hc_meeting_on_disconnected(p->m, why, c->s->now);
}

static void cs_rejoin(csim *c, int i, int node);

/* Reconnections that are due, each to the next node that is up after the one it was on. */
static void cs_rejoins(csim *c) {
    for (int i = 0; i < SIM_MAX; i++) {
        if (!c->rejoin_at[i] || c->s->now < c->rejoin_at[i] || !c->s->p[i].active) continue;
        int nd = c->last_node[i];
        for (int k = 1; k <= c->nn; k++) {
            int t = (c->last_node[i] + k) % c->nn;
            if (c->n[t].up) { nd = t; break; }
        }
        if (!c->n[nd].up) { c->rejoin_at[i] = c->s->now + 200; continue; }
        cs_rejoin(c, i, nd);
    }
}

/* One pass over every queue; returns how much it moved. */
static int cs_step(csim *c) {
    int moved = 0;
    sim *s = c->s;
    /* participants <-> nodes (control and media) */
    while (s->head) {
        moved++;
        sim_msg *q = s->head;
        s->head = q->next;
        if (!s->head) s->tail = NULL;
        sim_part *p = &s->p[q->who];
        int nd = c->node_of[q->who];
        cs_node *n = nd >= 0 && c->n[nd].up ? &c->n[nd] : NULL;
        if (q->close) {
            if (n && p->conn) hc_cluster_on_disconnect(n->cl, p->conn, s->now);
            p->conn = 0;
            c->node_of[q->who] = -1;
            cs_lost(c, q->who, "the relay closed the connection");
        } else if (q->to_relay && q->media) {
            if (c->udp_node[q->who] >= 0 && c->n[c->udp_node[q->who]].up) n = &c->n[c->udp_node[q->who]];
            if (n && p->conn) {
                uint8_t buf[HC_MEDIA_MAX + 8];
                size_t len = q->len < sizeof buf ? q->len : sizeof buf;
                memcpy(buf, q->data, len);
                hc_cluster_on_udp(n->cl, (const struct sockaddr *)&p->addr, sizeof p->addr, buf, len, s->now);
            }
        } else if (q->to_relay) {
            if (n && p->conn) hc_cluster_on_bytes(n->cl, p->conn, q->data, q->len, s->now);
        } else if (q->media) {
            if (p->active && p->m) hc_meeting_on_media(p->m, q->data, q->len, s->now);
        } else if (p->active && p->m && q->len >= 6) {
            s->ctrl_frames_to_clients++;
            s->ctrl_bytes_to_clients += q->len;
            if (q->data[5] == HC_MSG_HEARTBEAT) s->heartbeats_seen[q->who]++;
            hc_meeting_on_frame(p->m, q->data + 4, q->len - 4, s->now);
        }
        free(q);
    }
    /* the bus */
    cs_bus *bl = c->bh;
    c->bh = c->bt = NULL;
    while (bl) {
        moved++;
        cs_bus *b = bl;
        bl = b->next;
        for (int i = 0; i < c->nn; i++) {
            cs_node *n = &c->n[i];
            if (!n->up || !n->bus_up) continue;
            char own[96], all[96];
            hc_cluster_subjects(n->cl, own, sizeof own, all, sizeof all);
            if (!cs_subject_match(own, b->subject) && !cs_subject_match(all, b->subject)) continue;
            if (c->bus_drop && c->bus_drop(c, b->from, i, b->data, b->len, c->arg)) continue;
            hc_cluster_on_bus(n->cl, b->data, b->len, s->now);
        }
        free(b);
    }
    /* the lease bucket */
    cs_kvq *kl = c->kh;
    c->kh = c->kt = NULL;
    while (kl) {
        moved++;
        cs_kvq *q = kl;
        kl = q->next;
        cs_kv_answer(c, q);
        free(q);
    }
    /* UDP */
    cs_udp *ul = c->uh;
    c->uh = c->ut = NULL;
    while (ul) {
        moved++;
        cs_udp *u = ul;
        ul = u->next;
        if (u->sock == 1) {
            int to = cs_node_of_media(c, &u->to);
            if (to >= 0 && u->len <= sizeof c->last_dgram) {
                memcpy(c->last_dgram, u->data, u->len);
                c->last_dgram_len = u->len;
                c->last_dgram_to = to;
            }
            if (to >= 0) hc_cluster_on_node_udp(c->n[to].cl, (const struct sockaddr *)&c->n[u->from_node].media, u->data, u->len, s->now);
        } else {
            int w = sim_slot_of_endpoint(s, &u->to);
            /* a participant takes media only from the address it sends to (as the client checks):
             * its node, or the worker its UDP flow lands on (the same address with workers) */
            int from_ok = w >= 0 && (c->node_of[w] == u->from_node || c->udp_node[w] == u->from_node);
            if (from_ok) sim_enqueue(s, 0, 1, w, u->data, u->len);
        }
        free(u);
    }
    return moved;
}

static void cs_flush(csim *c) {
    int guard = 0;
    while (cs_step(c) && guard++ < 100000) {}
}

static void cs_run(csim *c, uint64_t ms, uint64_t step) {
    sim *s = c->s;
    uint64_t end = s->now + ms;
    cs_flush(c);
    while (s->now < end) {
        s->now += step;
        sim_tick_parts(s);
        for (int i = 0; i < c->nn; i++)
            if (c->n[i].up) hc_cluster_tick(c->n[i].cl, s->now);
        cs_rejoins(c);
        cs_flush(c);
    }
}

static void cs_connect(csim *c, int slot, int node) {
    sim_part *p = &c->s->p[slot];
    cs_node *n = &c->n[node];
    c->node_of[slot] = node;
    c->last_node[slot] = node;
    c->rejoin_at[slot] = 0;
    p->conn = n->next_conn++;
    hc_cluster_on_connect(n->cl, p->conn, (const struct sockaddr *)&p->addr, c->s->now);
}

/* A participant on node `node`: host (meeting_id NULL) or join. cfg NULL: defaults with
 * reconnecting on (as hushcall host/join). */
static int cs_add(csim *c, int node, const char *name, const char *meeting_id, const hc_meeting_config *cfg) {
    hc_meeting_config mc = cfg ? *cfg : sim_default_cfg();
    if (!cfg) mc.reconnect = 1;
    int i = sim_part_make(c->s, name, meeting_id == NULL, meeting_id, &mc, NULL);
    cs_connect(c, i, node);
    hc_meeting_start(c->s->p[i].m, c->s->now);
    return i;
}

/* Participant i lost its connection and gets back in through `node`, as the session does
 * (sim_rejoin, but to a node of the cluster). */
static void cs_rejoin(csim *c, int i, int node) {
    sim *s = c->s;
    sim_part *p = &s->p[i];
    int was = c->node_of[i];
    if (was >= 0 && c->n[was].up && p->conn) hc_cluster_on_disconnect(c->n[was].cl, p->conn, s->now);
    sim_part_renew(s, i);
    cs_connect(c, i, node);
    hc_meeting_start(p->m, s->now);
}

/* kill -9: the node and everything it held vanish (what it had queued too); its participants see
 * their connection drop. */
static void cs_kill(csim *c, int node) {
    cs_node *n = &c->n[node];
    n->up = 0;
    for (cs_bus **pp = &c->bh; *pp;) {
        cs_bus *b = *pp;
        if (b->from != node) { pp = &b->next; continue; }
        *pp = b->next;
        free(b);
    }
    c->bt = NULL;
    for (cs_bus *b = c->bh; b; b = b->next) c->bt = b;
    hc_cluster_free(n->cl);
    n->cl = NULL;
    for (int i = 0; i < SIM_MAX; i++) {
        sim_part *p = &c->s->p[i];
        if (!p->active || c->node_of[i] != node) continue;
        c->node_of[i] = -1;
        p->conn = 0;
        cs_lost(c, i, "connection lost");
    }
}

/* A killed node starts again (a new incarnation, knowing nothing). */
static void cs_restart(csim *c, int node) {
    if (c->n[node].up) return;
    cs_node_start(c, node);
}

/* The node's bus connection goes (0) or comes back (1). */
static void cs_bus_link(csim *c, int node, int up) {
    c->n[node].bus_up = up;
    if (c->n[node].up) hc_cluster_on_bus_state(c->n[node].cl, up, c->s->now);
}

static void cs_free(csim *c) {
    cs_flush(c);
    for (int i = 0; i < SIM_MAX; i++)
        if (c->s->p[i].active) {
            c->s->p[i].conn = 0;
            sim_remove(c->s, i);
        }
    for (int i = 0; i < c->nn; i++)
        if (c->n[i].up) hc_cluster_free(c->n[i].cl);
    while (c->bh) { cs_bus *b = c->bh; c->bh = b->next; free(b); }
    while (c->uh) { cs_udp *u = c->uh; c->uh = u->next; free(u); }
    while (c->kh) { cs_kvq *q = c->kh; c->kh = q->next; free(q); }
    sim_free(c->s);
    free(c);
}

static const char *cs_kv_value(csim *c, const char *key) {
    for (int i = 0; i < CS_KV_MAX; i++)
        if (c->kv[i].used && !strcmp(c->kv[i].key, key) && c->s->now < c->kv[i].at + c->ttl_ms) return c->kv[i].value;
    return NULL;
}

#endif
