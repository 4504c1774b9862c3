/* A relay node in a cluster, sans-I/O; see net/cluster_core.h and PROTOCOL.md §14.
 *
 * Who holds what:
 * - rconn: a participant's TCP connection to this node. LOCAL (the relay core serves it: its
 *   meeting is homed here, or it has not joined yet), PENDING (its CREATE/JOIN/RESUME waits for
 *   the lease bucket) or PROXIED (its meeting is homed at another node: its bytes go up that link).
 *   Once it is in a meeting we also know its member index and media token (read from JOINED).
 * - vconn: at a home, a participant connected to another node, as the relay core sees it.
 * - home: a meeting homed here: the lease (its KV revision), and which node forwards each remote
 *   member's media (the plan, sent to those nodes).
 * - mm / emeet: a participant whose UDP endpoint is at this node while its meeting is homed
 *   elsewhere, and this node's part of that meeting's media (the plan, loudest-K).
 * - peer: another node: liveness, the link (sequence numbers both ways, a retransmit buffer),
 *   the replay window of its datagrams, and frames batched for it during one relay core call.
 *
 * Re-entrancy: the relay core calls back (send, close, event, join hook) only into functions that
 * queue or publish; anything that would call the core again (a virtual connection to drop) is
 * deferred and run when the outer call returns (run_deferred). */
#include "net/cluster_core.h"

#include <netinet/in.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/bytes.h"
#include "crypto/replay.h"
#include "net/hmap.h"
#include "net/loudest.h"
#include "net/media.h"

#define VIRT_BIT (1ull << 63)
#define SLOT_SHIFT 40
#define CONN_MASK ((1ull << SLOT_SHIFT) - 1)
#define NACK_EVERY_MS 200        /* the same gap is asked for again at most this often */
#define FENCE_TELL_MS 500        /* a fenced node is told so at most this often */
#define REGQ_EVERY_MS 500        /* one token lookup per token per this */
#define REGQ_KEEP_MS 3000        /* an unanswered lookup is forgotten after this */
#define REGQ_RATE 50             /* lookups per second at most (strangers' made-up tokens) */
#define JOIN_TRIES 6             /* lease lookups/attempts per CREATE, JOIN or RESUME */
#define UNKNOWN_RETRY_MS 200     /* a lease of a node not heard of yet, during our grace period */
#define REMOTE_LOUD_MAX 64       /* per meeting, remote talkers whose loudness an edge tracks */
#define WRAP_SLOTS 256           /* node-to-node datagrams built per UDP flush */
#define PEERS_MAX 1024           /* nodes a node keeps state for (a bus with more names is abused) */
#define ROUTE_KEEP_MS 5000       /* an edge trusts a lookup (meeting -> live home) this long */
#define ROUTES_MAX 65536
#define VCONNS_MAX 100000        /* participants at other nodes in this node's meetings, at most */
#define SHUTDOWN_TEXT "this relay node is shutting down"

typedef struct rmsg {             /* a sequenced message kept for resending */
    struct rmsg *next;
    uint64_t seq;
    size_t len;
    char subject[96];
    uint8_t data[];
} rmsg;

typedef struct peer {
    char name[HC_CL_NAME_MAX + 1];
    uint16_t slot;               /* our small number for it (virtual connection ids, synthetic endpoints) */
    uint64_t inc;                /* its incarnation (0: not heard yet) */
    int alive, fenced;
    uint64_t last_heard, fence_told_ms;
    struct sockaddr_storage media;
    int have_media;
    /* link, our side: what we send it */
    uint64_t tx_seq;
    rmsg *ring_head, *ring_tail;
    size_t ring_bytes;
    /* link, its side: what it sends us */
    uint64_t rx_next, nack_for, nack_ms, hb_tail;
    hc_replay win;               /* its datagrams' counters */
    /* DOWN frames for it in the relay core call under way (one frame, several connections) */
    uint8_t *b_frame;
    size_t b_len, b_cap;
    uint64_t *b_conns;
    uint32_t b_n, b_conns_cap;
    char b_meeting[HC_MEETING_ID_MAX + 1];
} peer;

enum { RC_LOCAL = 0, RC_PENDING, RC_PROXIED };

typedef struct rconn {
    uint64_t id;
    struct sockaddr_storage addr;
    int state, closing;
    /* pending */
    uint8_t *frame;              /* the CREATE/JOIN/RESUME, re-encoded (a whole frame) */
    size_t frame_len;
    uint8_t type;
    char meeting[HC_MEETING_ID_MAX + 1];
    int tries;
    uint64_t retry_at;           /* a lookup to redo at this time (0: none) */
    /* proxied */
    peer *home;
    uint64_t home_inc;
    /* its membership, read from JOINED (the media token says which member a UDP endpoint is) */
    int has_ctl;
    char ctl_meeting[HC_MEETING_ID_MAX + 1];
    uint32_t ctl_index;
    uint8_t token[HC_TOKEN_LEN];
} rconn;

typedef struct vconn {
    uint64_t id;                 /* VIRT_BIT | slot | remote id */
    peer *p;
    uint64_t remote;
    char meeting[HC_MEETING_ID_MAX + 1];
} vconn;

typedef struct {
    uint32_t index;
    peer *p;
} media_at;

typedef struct home {
    char id[HC_MEETING_ID_MAX + 1];
    uint64_t rev;                /* the lease's revision (0: not confirmed yet) */
    uint64_t confirmed_ms, renew_at;
    int kv_busy, in_core;
    media_at *at;                /* remote members' media nodes */
    size_t n_at, cap_at;
    peer *plan[HC_CL_PEERS_MAX];
    size_t n_plan;
} home;

struct emeet;

typedef struct mm {
    uint8_t token[HC_TOKEN_LEN];
    uint32_t index;
    struct emeet *em;
    struct sockaddr_storage ep;
    socklen_t eplen;
    uint8_t epkey[HC_HMAP_KEY_MAX];
    size_t epkey_len;
    hc_loud loud;
} mm;

typedef struct emeet {
    char id[HC_MEETING_ID_MAX + 1];
    peer *home;
    mm **m;
    size_t n, cap;
    peer *plan[HC_CL_PEERS_MAX];
    size_t n_plan;
    int have_plan;
    hc_loud_set top;
    struct { uint32_t index; hc_loud loud; } rs[REMOTE_LOUD_MAX];   /* remote talkers */
    size_t n_rs;
} emeet;

typedef struct regq {
    uint8_t token[HC_TOKEN_LEN];
    struct sockaddr_storage ep;
    socklen_t eplen;
    uint64_t asked_ms, first_ms;
} regq;

/* A lookup's answer, kept a little: a join storm into one meeting asks the bucket once. */
typedef struct route {
    char meeting[HC_MEETING_ID_MAX + 1];
    peer *p;
    uint64_t inc, until;
} route;

typedef enum { KV_FOR_JOIN = 1, KV_FOR_LEASE } kv_purpose;
typedef struct kvop {
    uint64_t id;
    kv_purpose purpose;
    hc_kv_op op;
    uint64_t conn;               /* KV_FOR_JOIN */
    char meeting[HC_MEETING_ID_MAX + 1];
} kvop;

struct hc_cluster {
    hc_cluster_config cfg;
    hc_relay_config rcfg;
    hc_cluster_io io;
    hc_relay *core;
    hc_cluster_stats st;
    uint64_t inc, now;
    char subj_all[96], subj_own[96];
    peer **peers;
    size_t n_peers;
    hc_hmap peers_by_name, rconns, vconns, homes, tokens /* -> rconn */, mms /* token -> mm */,
        mm_eps /* endpoint -> mm */, mm_idx /* meeting+index -> mm */, emeets, kvops, regqs, routes;
    uint64_t next_kv;
    int bus_up;
    uint64_t bus_since, last_tick, next_hb, started;
    double regq_tokens;
    uint64_t regq_t;
    uint64_t feeding;            /* a frame handed back to the core: its join hook lets it through */
    uint64_t *deferred;          /* virtual connections to hand to hc_relay_on_disconnect */
    size_t n_deferred, cap_deferred;
    int depth;                   /* nesting of entry points (run_deferred at the outermost) */
    uint64_t dgram_counter;
    uint8_t (*wraps)[HC_CL_DGRAM_MAX];
    size_t n_wraps;
    int freeing;                 /* hc_cluster_free: the relay core's last events go nowhere */
    uint8_t *enc;                /* encoding buffer for bus messages */
    size_t enc_cap;
};

/* ------------------------------------------------------------------------------------------ */

void hc_cluster_config_defaults(hc_cluster_config *c) {
    memset(c, 0, sizeof *c);
    snprintf(c->cluster, sizeof c->cluster, "hushcall");
    c->hb_ms = 250;
    c->dead_ms = 1500;
    c->lease_ttl_ms = 15000;
    c->ring_bytes = 4u << 20;
}


static void cl_log(hc_cluster *cl, int warn, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void cl_log(hc_cluster *cl, int warn, const char *event, const char *fmt, ...) {
    if (!cl->io.log) return;
    char d[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d, sizeof d, fmt, ap);
    va_end(ap);
    cl->io.log(cl->io.ctx, warn, event, d);
}

static uint64_t rand64(void) {
    uint64_t v = 0;
    while (!v) randombytes_buf(&v, sizeof v);
    return v;
}

/* ---- synthetic endpoints: a member whose UDP endpoint is at another node, as the relay core
 * sees it. 100::/64 is the IPv6 discard-only prefix (RFC 6666): no datagram comes from there. */

static void synth_addr(struct sockaddr_storage *ss, uint16_t slot, uint32_t index, const uint8_t token[16]) {
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
    s6->sin6_family = AF_INET6;
    uint8_t *a = s6->sin6_addr.s6_addr;
    a[0] = 0x01;
    a[8] = (uint8_t)(slot >> 8);
    a[9] = (uint8_t)slot;
    a[10] = (uint8_t)(index >> 8);
    a[11] = (uint8_t)index;
    memcpy(a + 12, token, 4);
    memcpy(&s6->sin6_port, token + 4, 2);
}

static int is_synth(const struct sockaddr_storage *ss) {
    static const uint8_t pfx[8] = {0x01, 0, 0, 0, 0, 0, 0, 0};
    return ss->ss_family == AF_INET6 && !memcmp(((const struct sockaddr_in6 *)ss)->sin6_addr.s6_addr, pfx, 8);
}

static int is_synth_sa(const struct sockaddr *sa) {
    return sa->sa_family == AF_INET6 && is_synth((const struct sockaddr_storage *)(const void *)sa);
}

static uint16_t synth_slot(const struct sockaddr_storage *ss) {
    const uint8_t *a = ((const struct sockaddr_in6 *)ss)->sin6_addr.s6_addr;
    return (uint16_t)(a[8] << 8 | a[9]);
}

static uint32_t synth_index(const struct sockaddr_storage *ss) {
    const uint8_t *a = ((const struct sockaddr_in6 *)ss)->sin6_addr.s6_addr;
    return (uint32_t)(a[10] << 8 | a[11]);
}

static size_t ep_key(uint8_t *k, const struct sockaddr *sa) {
    uint8_t b[19];
    size_t n = hc_cl_addr_put(b, (const struct sockaddr_storage *)(const void *)sa);
    memcpy(k, b, n);
    return n;
}

static socklen_t ss_len(const struct sockaddr_storage *ss) {
    return ss->ss_family == AF_INET6 ? (socklen_t)sizeof(struct sockaddr_in6) : (socklen_t)sizeof(struct sockaddr_in);
}

/* ---- peers ---- */

static peer *peer_find(const hc_cluster *cl, const char *name) {
    return hc_hmap_get(&cl->peers_by_name, name, strlen(name));
}

static peer *peer_by_slot(const hc_cluster *cl, uint16_t slot) {
    return slot < cl->n_peers ? cl->peers[slot] : NULL;
}

static peer *peer_get(hc_cluster *cl, const char *name) {
    peer *p = peer_find(cl, name);
    if (p || cl->n_peers >= PEERS_MAX) return p;
    p = calloc(1, sizeof *p);
    peer **np = realloc(cl->peers, (cl->n_peers + 1) * sizeof *np);
    if (!p || !np) { free(p); if (np) cl->peers = np; return NULL; }
    cl->peers = np;
    snprintf(p->name, sizeof p->name, "%s", name);
    p->slot = (uint16_t)cl->n_peers;
    p->rx_next = 1;
    hc_replay_init(&p->win);
    if (hc_hmap_put(&cl->peers_by_name, p->name, strlen(p->name), p) < 0) { free(p); return NULL; }
    cl->peers[cl->n_peers++] = p;
    return p;
}

static int peer_usable(const peer *p) { return p && p->alive && !p->fenced && p->inc; }

static void ring_clear(peer *p) {
    while (p->ring_head) {
        rmsg *m = p->ring_head;
        p->ring_head = m->next;
        free(m);
    }
    p->ring_tail = NULL;
    p->ring_bytes = 0;
}

/* ---- the bus ---- */

static void publish(hc_cluster *cl, const char *subject, const uint8_t *p, size_t len) {
    cl->st.bus_out++;
    cl->st.bus_bytes_out += len;
    cl->io.publish(cl->io.ctx, subject, p, len);
}

static void subject_for(const hc_cluster *cl, const peer *p, const char *meeting, char *out, size_t cap) {
    snprintf(out, cap, "hc.%s.n.%s.%s", cl->cfg.cluster, p->name, meeting && meeting[0] ? meeting : "_");
}

static void down_flush(hc_cluster *cl, peer *p);

/* A sequenced message to p: numbered, kept for resending, published. */
static void link_send(hc_cluster *cl, peer *p, hc_cl_msg *m, const char *meeting) {
    if (!peer_usable(p)) return;
    if (p->b_n) down_flush(cl, p);   /* frames batched for p go first: per-connection order */
    snprintf(m->src, sizeof m->src, "%s", cl->cfg.node);
    m->src_inc = cl->inc;
    m->dst_inc = p->inc;
    m->seq = p->tx_seq + 1;
    size_t need = hc_cl_msg_size(m);
    uint8_t *buf = need <= cl->enc_cap ? cl->enc : malloc(need);
    if (!buf) return;
    size_t n = hc_cl_msg_encode(m, buf, need);
    if (!n) {
        if (buf != cl->enc) free(buf);
        return;
    }
    p->tx_seq++;
    rmsg *r = malloc(sizeof *r + n);
    if (r) {
        r->next = NULL;
        r->seq = p->tx_seq;
        r->len = n;
        subject_for(cl, p, meeting, r->subject, sizeof r->subject);
        memcpy(r->data, buf, n);
        if (p->ring_tail) p->ring_tail->next = r; else p->ring_head = r;
        p->ring_tail = r;
        p->ring_bytes += n;
        /* Bounded: the oldest go. A NACK for one of them breaks the link (fence). */
        while (p->ring_bytes > cl->cfg.ring_bytes && p->ring_head && p->ring_head != r) {
            rmsg *o = p->ring_head;
            p->ring_head = o->next;
            p->ring_bytes -= o->len;
            free(o);
        }
        publish(cl, r->subject, r->data, r->len);
    }
    if (buf != cl->enc) free(buf);
}

/* An unsequenced message to p (NACK, FENCED, HELLO). */
static void unseq_send(hc_cluster *cl, peer *p, hc_cl_msg *m) {
    snprintf(m->src, sizeof m->src, "%s", cl->cfg.node);
    m->src_inc = cl->inc;
    m->dst_inc = p->inc;
    uint8_t buf[256];
    size_t n = hc_cl_msg_encode(m, buf, sizeof buf);
    char subj[96];
    subject_for(cl, p, NULL, subj, sizeof subj);
    if (n) publish(cl, subj, buf, n);
}

static void all_send(hc_cluster *cl, hc_cl_msg *m) {
    snprintf(m->src, sizeof m->src, "%s", cl->cfg.node);
    m->src_inc = cl->inc;
    size_t n = hc_cl_msg_encode(m, cl->enc, cl->enc_cap);
    if (n) publish(cl, cl->subj_all, cl->enc, n);
}

/* ---- frames for connections at other nodes, batched per node ---- */

static void down_flush(hc_cluster *cl, peer *p) {
    if (!p->b_n) return;
    uint32_t n = p->b_n;
    p->b_n = 0;   /* link_send flushes first: not again */
    hc_cl_msg m;
    hc_cl_msg_init(&m, HC_CL_DOWN);
    uint8_t *conns = malloc(8 * (size_t)n);
    if (!conns) return;
    for (uint32_t i = 0; i < n; i++) {
        hc_put_u32(conns + 8 * i, (uint32_t)(p->b_conns[i] >> 32));
        hc_put_u32(conns + 8 * i + 4, (uint32_t)p->b_conns[i]);
    }
    m.conns = conns;
    m.n_conns = n;
    m.data = p->b_frame;
    m.data_len = p->b_len;
    cl->st.down_msgs++;
    cl->st.down_frames += n;
    link_send(cl, p, &m, p->b_meeting);
    free(conns);
}

static void down_flush_all(hc_cluster *cl) {
    for (size_t i = 0; i < cl->n_peers; i++) down_flush(cl, cl->peers[i]);
}

/* A frame the relay core sends to a virtual connection: batched with the same frame to other
 * connections of the same node (a broadcast crosses the bus once per node). */
static void down_add(hc_cluster *cl, vconn *v, const uint8_t *frame, size_t len) {
    peer *p = v->p;
    if (!peer_usable(p)) return;
    if (p->b_n && (p->b_len != len || memcmp(p->b_frame, frame, len) || strcmp(p->b_meeting, v->meeting) ||
                   p->b_n == HC_CL_DOWN_CONNS_MAX))
        down_flush(cl, p);
    if (!p->b_n) {
        if (p->b_cap < len) {
            uint8_t *nf = realloc(p->b_frame, len);
            if (!nf) return;
            p->b_frame = nf;
            p->b_cap = len;
        }
        memcpy(p->b_frame, frame, len);
        p->b_len = len;
        snprintf(p->b_meeting, sizeof p->b_meeting, "%s", v->meeting);
    }
    if (p->b_n == p->b_conns_cap) {
        uint32_t nc = p->b_conns_cap ? p->b_conns_cap * 2 : 16;
        uint64_t *nb = realloc(p->b_conns, nc * sizeof *nb);
        if (!nb) return;
        p->b_conns = nb;
        p->b_conns_cap = nc;
    }
    p->b_conns[p->b_n++] = v->remote;
}

/* ---- deferred work: calls into the relay core that must wait for the current one to return ---- */

static void defer_disconnect(hc_cluster *cl, uint64_t v) {
    if (cl->n_deferred == cl->cap_deferred) {
        size_t nc = cl->cap_deferred ? cl->cap_deferred * 2 : 64;
        uint64_t *nd = realloc(cl->deferred, nc * sizeof *nd);
        if (!nd) return;
        cl->deferred = nd;
        cl->cap_deferred = nc;
    }
    cl->deferred[cl->n_deferred++] = v;
}

static void enter(hc_cluster *cl, uint64_t now) {
    cl->depth++;
    cl->now = now;
}

static void leave(hc_cluster *cl) {
    if (--cl->depth) return;
    cl->depth++;
    while (cl->n_deferred) {
        uint64_t v = cl->deferred[--cl->n_deferred];
        hc_relay_on_disconnect(cl->core, v, cl->now);
    }
    down_flush_all(cl);
    cl->depth--;
}

/* ---- the relay core's io ---- */

static rconn *rconn_get(const hc_cluster *cl, uint64_t id) { return hc_hmap_get(&cl->rconns, &id, sizeof id); }
static vconn *vconn_get(const hc_cluster *cl, uint64_t id) { return hc_hmap_get(&cl->vconns, &id, sizeof id); }

/* A JOINED on its way to one of our participants: remember which member it is (its media token
 * says so when its UDP endpoint registers, here or at another node of ours). */
static void snoop(hc_cluster *cl, rconn *c, const uint8_t *frame, size_t len) {
    if (len < 6 || frame[5] != HC_MSG_JOINED || c->has_ctl) return;
    hc_msg m;
    if (hc_msg_decode(&m, frame + 4, len - 4, NULL) < 0) return;
    c->has_ctl = 1;
    snprintf(c->ctl_meeting, sizeof c->ctl_meeting, "%s", m.meeting_id);
    c->ctl_index = m.index;
    memcpy(c->token, m.token, HC_TOKEN_LEN);
    hc_hmap_put(&cl->tokens, c->token, HC_TOKEN_LEN, c);
}

static void core_send(void *ctx, uint64_t conn, const uint8_t *frame, size_t len) {
    hc_cluster *cl = ctx;
    if (cl->freeing) return;
    if (conn & VIRT_BIT) {
        vconn *v = vconn_get(cl, conn);
        if (v) down_add(cl, v, frame, len);
        return;
    }
    rconn *c = rconn_get(cl, conn);
    if (c) snoop(cl, c, frame, len);
    cl->io.conn_send(cl->io.ctx, conn, frame, len);
}

static void vconn_forget(hc_cluster *cl, vconn *v) {
    hc_hmap_del(&cl->vconns, &v->id, sizeof v->id);
    cl->st.virtual_conns--;
    free(v);
}

static void core_close(void *ctx, uint64_t conn) {
    hc_cluster *cl = ctx;
    if (cl->freeing) return;
    if (!(conn & VIRT_BIT)) {
        cl->io.conn_close(cl->io.ctx, conn);
        return;
    }
    vconn *v = vconn_get(cl, conn);
    if (!v) return;
    hc_cl_msg m;
    hc_cl_msg_init(&m, HC_CL_CLOSE);
    m.conn = v->remote;
    link_send(cl, v->p, &m, v->meeting);
    vconn_forget(cl, v);
    defer_disconnect(cl, conn);
}

static void home_event(hc_cluster *cl, const hc_relay_event *ev);

static void core_event(void *ctx, const hc_relay_event *ev) {
    hc_cluster *cl = ctx;
    if (cl->freeing) return;
    home_event(cl, ev);
    if (cl->io.relay_event) cl->io.relay_event(cl->io.ctx, ev);
}

/* ---- homes (meetings homed here): the lease ---- */

static home *home_get(const hc_cluster *cl, const char *id) { return hc_hmap_get(&cl->homes, id, strlen(id)); }

static home *home_add(hc_cluster *cl, const char *id) {
    home *h = home_get(cl, id);
    if (h) return h;
    h = calloc(1, sizeof *h);
    if (!h) return NULL;
    snprintf(h->id, sizeof h->id, "%s", id);
    if (hc_hmap_put(&cl->homes, h->id, strlen(h->id), h) < 0) { free(h); return NULL; }
    cl->st.leases++;
    return h;
}

static void plan_send(hc_cluster *cl, home *h, peer *const *old, size_t n_old);

static void home_free(hc_cluster *cl, home *h, int tell) {
    if (tell) {
        /* The nodes that forward its media let it go: an empty plan. */
        peer *old[HC_CL_PEERS_MAX];
        size_t n_old = h->n_plan;
        memcpy(old, h->plan, n_old * sizeof *old);
        h->n_plan = 0;
        plan_send(cl, h, old, n_old);
    }
    hc_hmap_del(&cl->homes, h->id, strlen(h->id));
    free(h->at);
    free(h);
    cl->st.leases--;
}

static uint64_t kv_request(hc_cluster *cl, kv_purpose purpose, hc_kv_op op, const char *meeting, uint64_t rev,
                           uint64_t conn) {
    kvop *k = calloc(1, sizeof *k);
    if (!k) return 0;
    k->id = ++cl->next_kv;
    k->purpose = purpose;
    k->op = op;
    k->conn = conn;
    snprintf(k->meeting, sizeof k->meeting, "%s", meeting);
    if (hc_hmap_put(&cl->kvops, &k->id, sizeof k->id, k) < 0) { free(k); return 0; }
    hc_kv_req r;
    memset(&r, 0, sizeof r);
    r.op = op;
    r.id = k->id;
    snprintf(r.key, sizeof r.key, "%s", meeting);
    snprintf(r.value, sizeof r.value, "%s", cl->cfg.node);
    r.rev = rev;
    cl->io.kv(cl->io.ctx, &r);
    return k->id;
}

static void lease_op(hc_cluster *cl, home *h, hc_kv_op op) {
    h->kv_busy = 1;
    kv_request(cl, KV_FOR_LEASE, op, h->id, h->rev, 0);
}

/* We hold the lease no longer (another node took the meeting over, or it lapsed unseen): its
 * members are sent away, to get back in where it is now. */
static void home_lost(hc_cluster *cl, home *h, const char *why) {
    cl->st.leases_lost++;
    cl_log(cl, 1, "lease_lost", "meeting %s: %s", h->id, why);
    char id[HC_MEETING_ID_MAX + 1];
    snprintf(id, sizeof id, "%s", h->id);
    home_free(cl, h, 1);
    if (hc_relay_has_meeting(cl->core, id)) {
        cl->st.meetings_evicted++;
        hc_relay_evict_meeting(cl->core, id, HC_ERR_SHUTDOWN, "this meeting moved to another relay node: reconnect");
    }
}

static void lease_result(hc_cluster *cl, const kvop *k, const hc_kv_res *res) {
    home *h = home_get(cl, k->meeting);
    if (!h) {
        /* Gone meanwhile (the meeting ended): a lease we just made or renewed is dropped. */
        if (res->status == HC_KV_OK && (k->op == HC_KV_CREATE || k->op == HC_KV_UPDATE))
            kv_request(cl, KV_FOR_LEASE, HC_KV_DELETE, k->meeting, 0, 0);
        return;
    }
    h->kv_busy = 0;
    switch (k->op) {
    case HC_KV_CREATE:
    case HC_KV_UPDATE:
        if (res->status == HC_KV_OK) {
            if (!h->rev) cl->st.leases_taken++;
            h->rev = res->rev;
            h->confirmed_ms = cl->now;
            h->renew_at = cl->now + cl->cfg.lease_ttl_ms / 3;
            if (k->op == HC_KV_UPDATE) cl->st.lease_renewals++;
            return;
        }
        if (res->status == HC_KV_CONFLICT) {     /* someone else's now, or lapsed: look */
            lease_op(cl, h, HC_KV_GET);
            return;
        }
        cl->st.lease_renew_failed++;
        h->renew_at = cl->now + 500;
        return;
    case HC_KV_GET:
        if (res->status == HC_KV_NOT_FOUND) {
            lease_op(cl, h, HC_KV_CREATE);
        } else if (res->status == HC_KV_OK && !strcmp(res->value, cl->cfg.node)) {
            /* ours (a lease of this node's earlier life, or renewed meanwhile): keep it */
            if (!h->rev) cl->st.leases_taken++;
            h->rev = res->rev;
            h->confirmed_ms = cl->now;
            h->renew_at = cl->now + cl->cfg.lease_ttl_ms / 3;
        } else if (res->status == HC_KV_OK) {
            home_lost(cl, h, "another node holds its lease");
        } else {
            cl->st.lease_renew_failed++;
            h->renew_at = cl->now + 500;
        }
        return;
    default:
        return;
    }
}

/* Renewals. While the bus is away nothing can be asked (nor can any other node take a lease);
 * once it is back a renewal that fails shows whether the lease lapsed and was taken meanwhile. */
static void lease_tick(hc_cluster *cl) {
    if (!cl->bus_up) return;
    hc_hmap_slot *s;
    home *lost[32];
    size_t n_lost = 0;
    for (size_t i = 0; (s = hc_hmap_next(&cl->homes, &i));) {
        home *h = s->val;
        if (h->kv_busy || cl->now < h->renew_at) continue;
        if (!h->in_core && !hc_relay_has_meeting(cl->core, h->id)) {
            /* reserved for a CREATE that never made its meeting */
            if (h->rev && cl->now - h->confirmed_ms > cl->cfg.lease_ttl_ms / 3) {
                kv_request(cl, KV_FOR_LEASE, HC_KV_DELETE, h->id, 0, 0);
                if (n_lost < 32) lost[n_lost++] = h;
            }
            continue;
        }
        if (h->rev) lease_op(cl, h, HC_KV_UPDATE);
        else lease_op(cl, h, HC_KV_GET);
    }
    for (size_t i = 0; i < n_lost; i++) home_free(cl, lost[i], 0);
}

/* ---- the plan: which nodes forward a meeting's media ---- */

static void plan_send(hc_cluster *cl, home *h, peer *const *old, size_t n_old) {
    hc_cl_msg m;
    hc_cl_msg_init(&m, HC_CL_PLAN);
    snprintf(m.meeting, sizeof m.meeting, "%s", h->id);
    if (h->n_plan) {
        snprintf(m.peers[m.n_peers++].node, HC_CL_NAME_MAX + 1, "%s", cl->cfg.node);
        for (size_t i = 0; i < h->n_plan && m.n_peers < HC_CL_PEERS_MAX; i++)
            snprintf(m.peers[m.n_peers++].node, HC_CL_NAME_MAX + 1, "%s", h->plan[i]->name);
    }
    peer *to[2 * HC_CL_PEERS_MAX];
    size_t n_to = 0;
    for (size_t i = 0; i < h->n_plan; i++) to[n_to++] = h->plan[i];
    for (size_t i = 0; i < n_old; i++) {
        int dup = 0;
        for (size_t j = 0; j < n_to; j++) dup |= to[j] == old[i];
        if (!dup) to[n_to++] = old[i];
    }
    for (size_t i = 0; i < n_to; i++) {
        hc_cl_msg c = m;
        link_send(cl, to[i], &c, h->id);
    }
}

static void plan_update(hc_cluster *cl, home *h) {
    peer *np[HC_CL_PEERS_MAX];
    size_t n = 0;
    for (size_t i = 0; i < h->n_at; i++) {
        int dup = 0;
        for (size_t j = 0; j < n; j++) dup |= np[j] == h->at[i].p;
        if (!dup && n < HC_CL_PEERS_MAX) np[n++] = h->at[i].p;
    }
    int same = n == h->n_plan;
    for (size_t i = 0; same && i < n; i++) {
        int found = 0;
        for (size_t j = 0; j < h->n_plan; j++) found |= h->plan[j] == np[i];
        same = found;
    }
    if (same) return;
    peer *old[HC_CL_PEERS_MAX];
    size_t n_old = h->n_plan;
    memcpy(old, h->plan, n_old * sizeof *old);
    memcpy(h->plan, np, n * sizeof *np);
    h->n_plan = n;
    plan_send(cl, h, old, n_old);
}

/* A member's media moved away from the node that had it (or the member left). */
static void home_media_gone(hc_cluster *cl, home *h, uint32_t index, int tell) {
    for (size_t i = 0; i < h->n_at; i++) {
        if (h->at[i].index != index) continue;
        if (tell) {
            hc_cl_msg m;
            hc_cl_msg_init(&m, HC_CL_DROP);
            snprintf(m.meeting, sizeof m.meeting, "%s", h->id);
            m.index = index;
            link_send(cl, h->at[i].p, &m, h->id);
        }
        h->at[i] = h->at[--h->n_at];
        plan_update(cl, h);
        return;
    }
}

static void home_media_at(hc_cluster *cl, home *h, uint32_t index, peer *p) {
    for (size_t i = 0; i < h->n_at; i++) {
        if (h->at[i].index != index) continue;
        if (h->at[i].p == p) return;
        home_media_gone(cl, h, index, 1);
        break;
    }
    if (h->n_at == h->cap_at) {
        size_t nc = h->cap_at ? h->cap_at * 2 : 8;
        media_at *na = realloc(h->at, nc * sizeof *na);
        if (!na) return;
        h->at = na;
        h->cap_at = nc;
    }
    h->at[h->n_at].index = index;
    h->at[h->n_at].p = p;
    h->n_at++;
    plan_update(cl, h);
}

static void home_event(hc_cluster *cl, const hc_relay_event *ev) {
    home *h;
    switch (ev->type) {
    case HC_REV_MEETING_CREATED:
        h = home_add(cl, ev->meeting_id);
        if (!h) return;
        h->in_core = 1;
        if (!h->rev && !h->kv_busy) lease_op(cl, h, HC_KV_GET);   /* not reserved first (a resume from
                                                                  * another node, --attack rehost) */
        return;
    case HC_REV_MEETING_ENDED:
        h = home_get(cl, ev->meeting_id);
        if (!h) return;
        kv_request(cl, KV_FOR_LEASE, HC_KV_DELETE, h->id, 0, 0);
        home_free(cl, h, 1);
        return;
    case HC_REV_MEMBER_LEFT:
        h = home_get(cl, ev->meeting_id);
        if (h) home_media_gone(cl, h, ev->index, 1);
        return;
    default:
        return;
    }
}

/* ---- participants' connections: joins looked up in the lease bucket ---- */

static void rconn_clear_pending(rconn *c) {
    free(c->frame);
    c->frame = NULL;
    c->frame_len = 0;
    c->retry_at = 0;
}

/* The relay core serves it: the frame goes to the core as if it had just arrived. */
static void feed_local(hc_cluster *cl, rconn *c) {
    uint8_t *f = c->frame;
    size_t n = c->frame_len;
    c->frame = NULL;
    c->state = RC_LOCAL;
    rconn_clear_pending(c);
    cl->st.joins_routed_local++;
    cl->feeding = c->id;
    hc_relay_on_frame(cl->core, c->id, f + 4, n - 4, cl->now);
    cl->feeding = 0;
    free(f);
}

/* Its meeting is at p: from now on its bytes go up the link, and the core here forgets it. */
static void proxy_to(hc_cluster *cl, rconn *c, peer *p) {
    c->state = RC_PROXIED;
    c->home = p;
    c->home_inc = p->inc;
    cl->st.proxied++;
    cl->st.proxied_total++;
    cl->st.joins_routed_remote++;
    hc_relay_on_disconnect(cl->core, c->id, cl->now);
    hc_cl_msg m;
    hc_cl_msg_init(&m, HC_CL_OPEN);
    m.conn = c->id;
    m.addr = c->addr;
    snprintf(m.meeting, sizeof m.meeting, "%s", c->meeting);
    link_send(cl, p, &m, c->meeting);
    hc_cl_msg_init(&m, HC_CL_UP);
    m.conn = c->id;
    m.data = c->frame;
    m.data_len = c->frame_len;
    link_send(cl, p, &m, c->meeting);
    rconn_clear_pending(c);
}

/* No answer from the lease bucket: the participant tries again later (it reconnects). */
static void join_unavailable(hc_cluster *cl, rconn *c) {
    cl->st.lookups_failed++;
    rconn_clear_pending(c);
    c->state = RC_LOCAL;
    hc_msg e;
    hc_msg_init(&e, HC_MSG_ERROR);
    e.code = HC_ERR_SHUTDOWN;
    static const char t[] = "the relay cluster cannot look this meeting up right now; try again";
    e.data = (const uint8_t *)t;
    e.data_len = sizeof t - 1;
    size_t n = hc_msg_encode(&e, cl->enc, cl->enc_cap);
    if (n) cl->io.conn_send(cl->io.ctx, c->id, cl->enc, n);
    c->closing = 1;
    cl->io.conn_close(cl->io.ctx, c->id);
}

static void random_meeting_id(char *out) {
    uint64_t v = 0;
    randombytes_buf(&v, sizeof v);
    snprintf(out, HC_MEETING_ID_MAX + 1, "%010llu", (unsigned long long)(v % 10000000000ULL));
}

static void join_lookup(hc_cluster *cl, rconn *c) {
    if (++c->tries > JOIN_TRIES) { join_unavailable(cl, c); return; }
    if (c->type != HC_MSG_CREATE) {
        /* A meeting homed here, its lease confirmed within a third of its TTL: no need to ask. */
        home *h = home_get(cl, c->meeting);
        if (h && h->rev && cl->now - h->confirmed_ms < cl->cfg.lease_ttl_ms / 3 && hc_relay_has_meeting(cl->core, h->id)) {
            feed_local(cl, c);
            return;
        }
        /* Asked a moment ago, homed at a node still alive in the same life: go there. */
        route *r = hc_hmap_get(&cl->routes, c->meeting, strlen(c->meeting));
        if (r && cl->now < r->until && peer_usable(r->p) && r->p->inc == r->inc) {
            proxy_to(cl, c, r->p);
            return;
        }
    }
    if (c->type == HC_MSG_CREATE) {
        /* A fresh id, reserved in the bucket before the core makes the meeting under it. */
        random_meeting_id(c->meeting);
        kv_request(cl, KV_FOR_JOIN, HC_KV_CREATE, c->meeting, 0, c->id);
    } else {
        kv_request(cl, KV_FOR_JOIN, HC_KV_GET, c->meeting, 0, c->id);
    }
}

static void route_keep(hc_cluster *cl, const char *meeting, peer *p) {
    route *r = hc_hmap_get(&cl->routes, meeting, strlen(meeting));
    if (!r) {
        if (cl->routes.count >= ROUTES_MAX) {       /* full: the stale ones go */
            hc_hmap_slot *s;
            for (size_t i = 0; (s = hc_hmap_next(&cl->routes, &i));) {
                route *o = s->val;
                if (cl->now >= o->until) {
                    hc_hmap_del_slot(&cl->routes, s);
                    free(o);
                }
            }
            if (cl->routes.count >= ROUTES_MAX) return;
        }
        if (!(r = calloc(1, sizeof *r))) return;
        snprintf(r->meeting, sizeof r->meeting, "%s", meeting);
        if (hc_hmap_put(&cl->routes, r->meeting, strlen(r->meeting), r) < 0) { free(r); return; }
    }
    r->p = p;
    r->inc = p->inc;
    r->until = cl->now + ROUTE_KEEP_MS;
}

/* Just started or back on the bus: a node we have not heard of yet may well be alive. */
static int in_grace(const hc_cluster *cl) {
    return !cl->bus_up || cl->now - cl->bus_since < cl->cfg.dead_ms || cl->now - cl->started < cl->cfg.dead_ms;
}

static void join_result(hc_cluster *cl, const kvop *k, const hc_kv_res *res) {
    rconn *c = rconn_get(cl, k->conn);
    if (!c || c->state != RC_PENDING || c->closing) {
        if (k->op == HC_KV_CREATE && res->status == HC_KV_OK)      /* reserved for nobody: free it */
            kv_request(cl, KV_FOR_LEASE, HC_KV_DELETE, k->meeting, 0, 0);
        return;
    }
    if (res->status == HC_KV_FAILED) { join_unavailable(cl, c); return; }
    home *h;
    switch (k->op) {
    case HC_KV_CREATE:
        if (res->status == HC_KV_CONFLICT) {           /* taken meanwhile: look (or another id) */
            if (c->type == HC_MSG_CREATE) join_lookup(cl, c);
            else if (++c->tries <= JOIN_TRIES) kv_request(cl, KV_FOR_JOIN, HC_KV_GET, c->meeting, 0, c->id);
            else join_unavailable(cl, c);
            return;
        }
        __attribute__((fallthrough));   /* ours now */
    case HC_KV_UPDATE:
        if (res->status == HC_KV_CONFLICT) {
            if (++c->tries <= JOIN_TRIES) kv_request(cl, KV_FOR_JOIN, HC_KV_GET, c->meeting, 0, c->id);
            else join_unavailable(cl, c);
            return;
        }
        h = home_add(cl, c->meeting);
        if (h) {
            if (!h->rev) cl->st.leases_taken++;
            if (k->op == HC_KV_UPDATE) {
                cl->st.leases_taken_over++;
                cl_log(cl, 0, "lease_taken_over", "meeting %s: its home node is gone", c->meeting);
            }
            h->rev = res->rev;
            h->confirmed_ms = cl->now;
            h->renew_at = cl->now + cl->cfg.lease_ttl_ms / 3;
        }
        if (c->type == HC_MSG_CREATE) hc_relay_next_meeting_id(cl->core, c->meeting);
        feed_local(cl, c);
        return;
    case HC_KV_GET:
        break;
    default:
        return;
    }
    /* Whose is it? */
    if (res->status == HC_KV_NOT_FOUND) {
        if (c->type == HC_MSG_RESUME) kv_request(cl, KV_FOR_JOIN, HC_KV_CREATE, c->meeting, 0, c->id);
        else feed_local(cl, c);        /* no such meeting anywhere: the core says so */
        return;
    }
    if (!strcmp(res->value, cl->cfg.node)) {
        h = home_get(cl, c->meeting);
        if (!h && c->type == HC_MSG_RESUME && (h = home_add(cl, c->meeting))) {
            /* a lease of this node's earlier life: ours again */
            h->rev = res->rev;
            h->confirmed_ms = cl->now;
            h->renew_at = cl->now + cl->cfg.lease_ttl_ms / 3;
        }
        feed_local(cl, c);
        return;
    }
    peer *p = peer_find(cl, res->value);
    if (peer_usable(p)) {
        route_keep(cl, c->meeting, p);
        proxy_to(cl, c, p);
        return;
    }
    if (!p && in_grace(cl)) {            /* a node we have not heard yet: ask again shortly */
        c->retry_at = cl->now + UNKNOWN_RETRY_MS;
        return;
    }
    if (c->type == HC_MSG_RESUME) {
        /* Its home is dead: the one who resumes it here takes the lease over (compare-and-set on
         * the revision we read, so of several nodes only one wins). */
        kv_request(cl, KV_FOR_JOIN, HC_KV_UPDATE, c->meeting, res->rev, c->id);
        return;
    }
    feed_local(cl, c);                   /* a JOIN: the core says no_such_meeting, the leader resumes */
}

static int core_join_hook(void *ctx, uint64_t conn, const hc_msg *m) {
    hc_cluster *cl = ctx;
    if ((conn & VIRT_BIT) || conn == cl->feeding) return 0;   /* served here: the home's core decides */
    rconn *c = rconn_get(cl, conn);
    if (!c) return 0;
    if (c->state == RC_PENDING) return 1;                     /* one at a time */
    size_t need = hc_msg_encoded_size(m);
    uint8_t *f = malloc(need);
    size_t n = f ? hc_msg_encode(m, f, need) : 0;
    if (!n) { free(f); return 0; }
    c->state = RC_PENDING;
    c->frame = f;
    c->frame_len = n;
    c->type = m->type;
    c->tries = 0;
    snprintf(c->meeting, sizeof c->meeting, "%s", m->type == HC_MSG_CREATE ? "" : m->meeting_id);
    join_lookup(cl, c);
    return 1;
}

/* ---- edge media: members whose UDP endpoint is here, their meeting homed elsewhere ---- */

static emeet *emeet_get(const hc_cluster *cl, const char *id) { return hc_hmap_get(&cl->emeets, id, strlen(id)); }

static emeet *emeet_add(hc_cluster *cl, const char *id, peer *home_p) {
    emeet *e = emeet_get(cl, id);
    if (e) {
        if (home_p) e->home = home_p;
        return e;
    }
    e = calloc(1, sizeof *e);
    if (!e) return NULL;
    snprintf(e->id, sizeof e->id, "%s", id);
    e->home = home_p;
    if (hc_hmap_put(&cl->emeets, e->id, strlen(e->id), e) < 0) { free(e); return NULL; }
    return e;
}

static size_t idx_key(uint8_t *k, const char *meeting, uint32_t index) {
    size_t l = strlen(meeting);
    memcpy(k, meeting, l);
    k[l] = (uint8_t)(index >> 8);
    k[l + 1] = (uint8_t)index;
    return l + 2;
}

static void mm_free(hc_cluster *cl, mm *x) {
    emeet *e = x->em;
    hc_hmap_del(&cl->mms, x->token, HC_TOKEN_LEN);
    if (x->epkey_len && hc_hmap_get(&cl->mm_eps, x->epkey, x->epkey_len) == x) hc_hmap_del(&cl->mm_eps, x->epkey, x->epkey_len);
    uint8_t k[32];
    size_t kl = idx_key(k, e->id, x->index);
    if (hc_hmap_get(&cl->mm_idx, k, kl) == x) hc_hmap_del(&cl->mm_idx, k, kl);
    hc_loud_forget(&e->top, &x->loud);
    for (size_t i = 0; i < e->n; i++)
        if (e->m[i] == x) { e->m[i] = e->m[--e->n]; break; }
    free(x);
    cl->st.media_members--;
}

static void emeet_free(hc_cluster *cl, emeet *e) {
    while (e->n) mm_free(cl, e->m[e->n - 1]);
    hc_hmap_del(&cl->emeets, e->id, strlen(e->id));
    free(e->m);
    free(e);
}

static void emeet_maybe_free(hc_cluster *cl, emeet *e) {
    if (!e->n && !e->have_plan) emeet_free(cl, e);
}

static void mm_set_ep(hc_cluster *cl, mm *x, const struct sockaddr *from, socklen_t fromlen) {
    uint8_t k[HC_HMAP_KEY_MAX];
    size_t kl = ep_key(k, from);
    if (x->epkey_len == kl && !memcmp(x->epkey, k, kl)) return;
    if (x->epkey_len && hc_hmap_get(&cl->mm_eps, x->epkey, x->epkey_len) == x) hc_hmap_del(&cl->mm_eps, x->epkey, x->epkey_len);
    mm *prev = hc_hmap_get(&cl->mm_eps, k, kl);
    if (prev && prev != x) prev->eplen = 0, prev->epkey_len = 0;   /* one endpoint, one member */
    memset(&x->ep, 0, sizeof x->ep);
    memcpy(&x->ep, from, (size_t)fromlen <= sizeof x->ep ? (size_t)fromlen : sizeof x->ep);
    x->eplen = fromlen;
    memcpy(x->epkey, k, kl);
    x->epkey_len = kl;
    hc_hmap_put(&cl->mm_eps, k, kl, x);
}

static void reply_registered(hc_cluster *cl, const uint8_t token[16], const struct sockaddr *from, socklen_t fromlen) {
    if (cl->n_wraps == WRAP_SLOTS) {
        cl->io.udp_flush(cl->io.ctx);
        cl->n_wraps = 0;
    }
    uint8_t *b = cl->wraps[cl->n_wraps++];
    hc_media_control(b, HC_MEDIA_REGISTERED, token);
    struct sockaddr_storage to;
    memset(&to, 0, sizeof to);
    memcpy(&to, from, (size_t)fromlen <= sizeof to ? (size_t)fromlen : sizeof to);
    cl->io.udp_send(cl->io.ctx, 0, b, 17, &to);
}

/* A member of a meeting homed at p registered its UDP endpoint here. */
static mm *mm_register(hc_cluster *cl, const uint8_t token[16], const char *meeting, uint32_t index, peer *p,
                       const struct sockaddr *from, socklen_t fromlen) {
    mm *x = hc_hmap_get(&cl->mms, token, HC_TOKEN_LEN);
    if (!x) {
        emeet *e = emeet_add(cl, meeting, p);
        if (!e) return NULL;
        if (e->n == e->cap) {
            size_t nc = e->cap ? e->cap * 2 : 8;
            mm **nm = realloc(e->m, nc * sizeof *nm);
            if (!nm) return NULL;
            e->m = nm;
            e->cap = nc;
        }
        x = calloc(1, sizeof *x);
        if (!x) return NULL;
        memcpy(x->token, token, HC_TOKEN_LEN);
        x->index = index;
        x->em = e;
        if (hc_hmap_put(&cl->mms, x->token, HC_TOKEN_LEN, x) < 0) { free(x); return NULL; }
        uint8_t k[32];
        size_t kl = idx_key(k, meeting, index);
        hc_hmap_put(&cl->mm_idx, k, kl, x);
        e->m[e->n++] = x;
        cl->st.media_members++;
    }
    mm_set_ep(cl, x, from, fromlen);
    hc_cl_msg m;
    hc_cl_msg_init(&m, HC_CL_REG);
    memcpy(m.token, token, HC_TOKEN_LEN);
    snprintf(m.meeting, sizeof m.meeting, "%s", meeting);
    link_send(cl, x->em->home, &m, meeting);
    return x;
}

/* ---- state shared with a node: dropped when the link to it breaks ---- */

static void send_shutdown_close(hc_cluster *cl, rconn *c, const char *text) {
    hc_msg e;
    hc_msg_init(&e, HC_MSG_ERROR);
    e.code = HC_ERR_SHUTDOWN;
    e.data = (const uint8_t *)text;
    e.data_len = strlen(text);
    size_t n = hc_msg_encode(&e, cl->enc, cl->enc_cap);
    if (n) cl->io.conn_send(cl->io.ctx, c->id, cl->enc, n);
    c->closing = 1;
    cl->io.conn_close(cl->io.ctx, c->id);
}

static void drop_state(hc_cluster *cl, peer *p, const char *why) {
    hc_hmap_slot *s;
    /* participants here whose meeting is homed at p: they get back in (the meeting is resumed
     * elsewhere if p is gone for good) */
    size_t n_closed = 0;
    for (size_t i = 0; (s = hc_hmap_next(&cl->rconns, &i));) {
        rconn *c = s->val;
        if (c->state != RC_PROXIED || c->home != p || c->closing) continue;
        send_shutdown_close(cl, c, "the relay node serving this meeting was lost: reconnect");
        if (c->has_ctl && hc_hmap_get(&cl->tokens, c->token, HC_TOKEN_LEN) == c) hc_hmap_del(&cl->tokens, c->token, HC_TOKEN_LEN);
        c->has_ctl = 0;
        cl->st.proxied--;
        c->home = NULL;
        n_closed++;
    }
    /* participants at p in meetings homed here: gone, in one go (one batch of MEMBER_LEFT) */
    uint64_t *gone = NULL;
    size_t n_gone = 0, cap = 0;
    for (size_t i = 0; (s = hc_hmap_next(&cl->vconns, &i));) {
        vconn *v = s->val;
        if (v->p != p) continue;
        if (n_gone == cap) {
            cap = cap ? cap * 2 : 64;
            uint64_t *ng = realloc(gone, cap * sizeof *ng);
            if (!ng) break;
            gone = ng;
        }
        gone[n_gone++] = v->id;
    }
    for (size_t i = 0; i < n_gone; i++) {
        vconn *v = vconn_get(cl, gone[i]);
        if (v) vconn_forget(cl, v);
        defer_disconnect(cl, gone[i]);
    }
    free(gone);
    /* media: meetings homed at p, and our meetings' members whose media p forwarded */
    emeet *drop[64];
    size_t nd;
    do {
        nd = 0;
        for (size_t i = 0; nd < 64 && (s = hc_hmap_next(&cl->emeets, &i));) {
            emeet *e = s->val;
            if (e->home == p) drop[nd++] = e;
        }
        for (size_t i = 0; i < nd; i++) emeet_free(cl, drop[i]);
    } while (nd == 64);
    for (size_t i = 0; (s = hc_hmap_next(&cl->emeets, &i));) {
        emeet *e = s->val;
        for (size_t j = 0; j < e->n_plan; j++)
            if (e->plan[j] == p) { e->plan[j] = e->plan[--e->n_plan]; break; }
    }
    for (size_t i = 0; (s = hc_hmap_next(&cl->homes, &i));) {
        home *h = s->val;
        for (size_t j = 0; j < h->n_at;) {
            if (h->at[j].p == p) h->at[j] = h->at[--h->n_at];
            else j++;
        }
        for (size_t j = 0; j < h->n_plan; j++)
            if (h->plan[j] == p) { h->plan[j] = h->plan[--h->n_plan]; break; }
    }
    for (size_t i = 0; (s = hc_hmap_next(&cl->homes, &i));) plan_update(cl, s->val);
    p->b_n = 0;
    if (n_closed || n_gone) cl_log(cl, 1, "node_state_dropped", "node %s (%s): %zu participants here sent to reconnect, %zu there gone",
                                 p->name, why, n_closed, n_gone);
}

/* The link to p is broken (p counted dead, or a gap that cannot be filled): drop what depends on
 * it and tell p, which does likewise and says HELLO; both count from 1 again. */
static void fence(hc_cluster *cl, peer *p, const char *why) {
    if (p->fenced) return;
    cl->st.peers_fenced_total++;
    if (p->alive) {
        p->alive = 0;
        cl->st.peers_alive--;
    }
    p->fenced = 1;
    drop_state(cl, p, why);
    ring_clear(p);
    p->tx_seq = 0;
    p->rx_next = 1;
    p->hb_tail = 0;
    p->fence_told_ms = cl->now;
    hc_cl_msg m;
    hc_cl_msg_init(&m, HC_CL_FENCED);
    unseq_send(cl, p, &m);
}

static void peer_up(hc_cluster *cl, peer *p) {
    if (p->alive) return;
    p->alive = 1;
    cl->st.peers_alive++;
    cl_log(cl, 0, "node_up", "node %s", p->name);
}

/* p has a new incarnation (it restarted): everything of its former life is gone. */
static void peer_new_life(hc_cluster *cl, peer *p, uint64_t inc) {
    if (p->inc) {
        drop_state(cl, p, "restarted");
        cl_log(cl, 0, "node_restarted", "node %s", p->name);
    }
    if (p->alive) {
        p->alive = 0;
        cl->st.peers_alive--;
    }
    p->inc = inc;
    p->fenced = 0;
    ring_clear(p);
    p->tx_seq = 0;
    p->rx_next = 1;
    p->hb_tail = 0;
    p->nack_for = 0;
    hc_replay_init(&p->win);
}

static void nack(hc_cluster *cl, peer *p) {
    if (p->nack_for == p->rx_next && cl->now - p->nack_ms < NACK_EVERY_MS) return;
    p->nack_for = p->rx_next;
    p->nack_ms = cl->now;
    cl->st.nacks_sent++;
    hc_cl_msg m;
    hc_cl_msg_init(&m, HC_CL_NACK);
    m.seq = p->rx_next;
    unseq_send(cl, p, &m);
}

static void resend(hc_cluster *cl, peer *p, uint64_t from) {
    if (from > p->tx_seq) return;
    if (!p->ring_head || p->ring_head->seq > from) {
        fence(cl, p, "messages it missed are no longer held");
        return;
    }
    for (rmsg *r = p->ring_head; r; r = r->next) {
        if (r->seq < from) continue;
        cl->st.resent++;
        publish(cl, r->subject, r->data, r->len);
    }
}

/* ---- messages from other nodes ---- */

/* The home's id for a participant connection at node p (its id there: conn). */
static uint64_t virt_id(const peer *p, uint64_t conn) {
    return VIRT_BIT | ((uint64_t)p->slot << SLOT_SHIFT) | (conn & CONN_MASK);
}

static void on_open(hc_cluster *cl, peer *p, const hc_cl_msg *m) {
    uint64_t id = virt_id(p, m->conn);
    if (vconn_get(cl, id)) return;
    vconn *v = cl->st.virtual_conns < VCONNS_MAX ? calloc(1, sizeof *v) : NULL;
    if (!v) {                          /* full: the edge closes it */
        hc_cl_msg c;
        hc_cl_msg_init(&c, HC_CL_CLOSE);
        c.conn = m->conn;
        link_send(cl, p, &c, m->meeting);
        return;
    }
    v->id = id;
    v->p = p;
    v->remote = m->conn;
    snprintf(v->meeting, sizeof v->meeting, "%s", m->meeting);
    if (hc_hmap_put(&cl->vconns, &v->id, sizeof v->id, v) < 0) { free(v); return; }
    cl->st.virtual_conns++;
    cl->st.virtual_total++;
    hc_relay_on_connect(cl->core, id, (const struct sockaddr *)&m->addr, cl->now);
}

static void on_up(hc_cluster *cl, peer *p, const hc_cl_msg *m) {
    uint64_t id = virt_id(p, m->conn);
    if (!vconn_get(cl, id)) return;
    hc_relay_on_bytes(cl->core, id, m->data, m->data_len, cl->now);
}

static void on_down(hc_cluster *cl, peer *p, const hc_cl_msg *m) {
    for (uint32_t i = 0; i < m->n_conns; i++) {
        rconn *c = rconn_get(cl, hc_cl_down_conn(m, i));
        if (!c || c->state != RC_PROXIED || c->home != p || c->closing) continue;
        snoop(cl, c, m->data, m->data_len);
        cl->io.conn_send(cl->io.ctx, c->id, m->data, m->data_len);
    }
}

static void on_close(hc_cluster *cl, peer *p, const hc_cl_msg *m) {
    uint64_t id = virt_id(p, m->conn);
    vconn *v = vconn_get(cl, id);
    if (v) {                              /* at the home: the participant's connection is gone */
        vconn_forget(cl, v);
        hc_relay_on_disconnect(cl->core, id, cl->now);
        return;
    }
    rconn *c = rconn_get(cl, m->conn);    /* at the edge: the home closed it */
    if (!c || c->state != RC_PROXIED || c->home != p || c->closing) return;
    c->closing = 1;
    cl->io.conn_close(cl->io.ctx, c->id);
}

static void on_reg(hc_cluster *cl, peer *p, const hc_cl_msg *m) {
    char mid[HC_MEETING_ID_MAX + 1];
    uint32_t index;
    home *h = home_get(cl, m->meeting);
    if (!h || !hc_relay_token_member(cl->core, m->token, mid, &index) || strcmp(mid, m->meeting)) return;
    struct sockaddr_storage ss;
    synth_addr(&ss, p->slot, index, m->token);
    uint8_t reg[17];
    hc_media_control(reg, HC_MEDIA_REGISTER, m->token);
    hc_media_route rt;
    hc_relay_on_media(cl->core, (const struct sockaddr *)&ss, ss_len(&ss), reg, sizeof reg, cl->now, &rt);
    home_media_at(cl, h, index, p);
}

static void on_drop(hc_cluster *cl, peer *p, const hc_cl_msg *m) {
    uint8_t k[32];
    size_t kl = idx_key(k, m->meeting, m->index);
    mm *x = hc_hmap_get(&cl->mm_idx, k, kl);
    if (!x || x->em->home != p) return;
    emeet *e = x->em;
    mm_free(cl, x);
    emeet_maybe_free(cl, e);
}

/* The plan of a meeting we forward media of (we registered a member of it first, so an unknown
 * meeting's plan is nothing to us). */
static void on_plan(hc_cluster *cl, peer *p, const hc_cl_msg *m) {
    emeet *e = emeet_get(cl, m->meeting);
    if (!e || e->home != p) return;
    int listed = 0;
    for (uint32_t i = 0; i < m->n_peers; i++) listed |= !strcmp(m->peers[i].node, cl->cfg.node);
    if (!listed) {
        emeet_free(cl, e);
        return;
    }
    e->home = p;
    e->have_plan = 1;
    e->n_plan = 0;
    for (uint32_t i = 0; i < m->n_peers; i++) {
        peer *q = peer_find(cl, m->peers[i].node);
        if (q && e->n_plan < HC_CL_PEERS_MAX) e->plan[e->n_plan++] = q;
    }
}

static void on_regq(hc_cluster *cl, peer *p, const hc_cl_msg *m) {
    rconn *c = hc_hmap_get(&cl->tokens, m->token, HC_TOKEN_LEN);
    if (!c || !c->has_ctl) return;
    hc_cl_msg a;
    hc_cl_msg_init(&a, HC_CL_REGA);
    memcpy(a.token, m->token, HC_TOKEN_LEN);
    snprintf(a.meeting, sizeof a.meeting, "%s", c->ctl_meeting);
    a.index = c->ctl_index;
    snprintf(a.home, sizeof a.home, "%s", c->state == RC_PROXIED && c->home ? c->home->name : cl->cfg.node);
    cl->st.regq_answered++;
    link_send(cl, p, &a, a.meeting);
}

static void on_rega(hc_cluster *cl, const hc_cl_msg *m) {
    regq *q = hc_hmap_get(&cl->regqs, m->token, HC_TOKEN_LEN);
    if (!q) return;
    peer *h = peer_find(cl, m->home);
    if (peer_usable(h)) {
        mm_register(cl, m->token, m->meeting, m->index, h, (const struct sockaddr *)&q->ep, q->eplen);
        reply_registered(cl, m->token, (const struct sockaddr *)&q->ep, q->eplen);
    }
    hc_hmap_del(&cl->regqs, m->token, HC_TOKEN_LEN);
    free(q);
}

static void on_hb(hc_cluster *cl, peer *p, const hc_cl_msg *m) {
    if (m->addr.ss_family == AF_INET || m->addr.ss_family == AF_INET6) {
        p->media = m->addr;
        p->have_media = 1;
    }
    /* Tail loss: what it says it had sent us by its previous heartbeat must have arrived by now. */
    for (uint32_t i = 0; i < m->n_peers; i++) {
        if (strcmp(m->peers[i].node, cl->cfg.node) || m->peers[i].inc != cl->inc) continue;
        if (p->hb_tail >= p->rx_next) {
            cl->st.gaps++;
            nack(cl, p);
        }
        p->hb_tail = m->peers[i].seq;
    }
}

static void deliver(hc_cluster *cl, peer *p, const hc_cl_msg *m) {
    switch (m->type) {
    case HC_CL_OPEN: on_open(cl, p, m); break;
    case HC_CL_UP: on_up(cl, p, m); break;
    case HC_CL_DOWN: on_down(cl, p, m); break;
    case HC_CL_CLOSE: on_close(cl, p, m); break;
    case HC_CL_REG: on_reg(cl, p, m); break;
    case HC_CL_DROP: on_drop(cl, p, m); break;
    case HC_CL_PLAN: on_plan(cl, p, m); break;
    case HC_CL_REGA: on_rega(cl, m); break;
    default: break;
    }
}

void hc_cluster_on_bus(hc_cluster *cl, const uint8_t *data, size_t len, uint64_t now) {
    enter(cl, now);
    hc_cl_msg m;
    cl->st.bus_in++;
    cl->st.bus_bytes_in += len;
    if (hc_cl_msg_decode(&m, data, len) < 0) {
        cl->st.bus_bad++;
        goto out;
    }
    if (!strcmp(m.src, cl->cfg.node)) {
        if (m.src_inc != cl->inc && m.type == HC_CL_HB)
            cl_log(cl, 1, "node_name_clash", "another node calls itself %s", cl->cfg.node);
        goto out;
    }
    int unicast = m.type < HC_CL_HB;
    if (unicast && m.dst_inc && m.dst_inc != cl->inc) {   /* for an earlier life of this node */
        cl->st.stale_dropped++;
        goto out;
    }
    peer *p = peer_get(cl, m.src);
    if (!p) goto out;
    /* Incarnations grow with each start (wall-clock time): an older one's messages still in
     * flight after a restart are stale. */
    if (m.src_inc < p->inc) {
        cl->st.stale_dropped++;
        goto out;
    }
    if (p->inc != m.src_inc) peer_new_life(cl, p, m.src_inc);
    if (p->fenced) {
        if (m.type == HC_CL_FENCED && m.dst_inc == cl->inc) {
            /* both sides broke the link at once: ours is dropped already */
            hc_cl_msg h;
            hc_cl_msg_init(&h, HC_CL_HELLO);
            unseq_send(cl, p, &h);
        } else if (m.type == HC_CL_HELLO && m.dst_inc == cl->inc) {
            p->fenced = 0;
            p->rx_next = 1;
            p->hb_tail = 0;
            p->last_heard = now;
            peer_up(cl, p);
        } else if (now - p->fence_told_ms >= FENCE_TELL_MS) {
            p->fence_told_ms = now;
            hc_cl_msg f;
            hc_cl_msg_init(&f, HC_CL_FENCED);
            unseq_send(cl, p, &f);
        }
        goto out;
    }
    p->last_heard = now;
    peer_up(cl, p);
    switch (m.type) {
    case HC_CL_HB:
        on_hb(cl, p, &m);
        goto out;
    case HC_CL_BYE:
        fence(cl, p, "stopping");
        goto out;
    case HC_CL_REGQ:
        on_regq(cl, p, &m);
        goto out;
    case HC_CL_NACK:
        cl->st.nacks_received++;
        resend(cl, p, m.seq);
        goto out;
    case HC_CL_FENCED: {
        /* p broke the link: drop what we share, count from 1, and say so */
        drop_state(cl, p, "it broke the link");
        ring_clear(p);
        p->tx_seq = 0;
        p->rx_next = 1;
        p->hb_tail = 0;
        hc_cl_msg h;
        hc_cl_msg_init(&h, HC_CL_HELLO);
        unseq_send(cl, p, &h);
        goto out;
    }
    case HC_CL_HELLO:
        /* p says it started afresh while we had not broken anything: make it mutual */
        fence(cl, p, "it started the link afresh");
        goto out;
    default:
        break;
    }
    /* sequenced */
    if (m.seq < p->rx_next) goto out;          /* a resend we already have */
    if (m.seq > p->rx_next) {                  /* a gap: ask for it again, drop until it comes */
        cl->st.gaps++;
        nack(cl, p);
        goto out;
    }
    p->rx_next++;
    deliver(cl, p, &m);
out:
    leave(cl);
}

void hc_cluster_on_kv(hc_cluster *cl, const hc_kv_res *res, uint64_t now) {
    enter(cl, now);
    kvop *k = hc_hmap_del(&cl->kvops, &res->id, sizeof res->id);
    if (k) {
        if (k->purpose == KV_FOR_JOIN) join_result(cl, k, res);
        else lease_result(cl, k, res);
        free(k);
    }
    leave(cl);
}

void hc_cluster_on_bus_state(hc_cluster *cl, int connected, uint64_t now) {
    enter(cl, now);
    if (connected && !cl->bus_up) {
        cl->bus_up = 1;
        cl->bus_since = now;
        /* Nobody is blamed for the silence while we were away from the bus. */
        for (size_t i = 0; i < cl->n_peers; i++) cl->peers[i]->last_heard = now;
        cl->next_hb = now;
        cl_log(cl, 0, "bus_connected", "%s", cl->cfg.cluster);
    } else if (!connected && cl->bus_up) {
        cl->bus_up = 0;
        cl_log(cl, 1, "bus_disconnected", "%s", cl->cfg.cluster);
    }
    leave(cl);
}

/* ---- timers ---- */

static void send_hb(hc_cluster *cl) {
    hc_cl_msg m;
    hc_cl_msg_init(&m, HC_CL_HB);
    m.addr = cl->cfg.advertise;
    for (size_t i = 0; i < cl->n_peers && m.n_peers < HC_CL_PEERS_MAX; i++) {
        peer *p = cl->peers[i];
        if (!p->inc || p->fenced) continue;
        snprintf(m.peers[m.n_peers].node, HC_CL_NAME_MAX + 1, "%s", p->name);
        m.peers[m.n_peers].inc = p->inc;
        m.peers[m.n_peers].seq = p->tx_seq;
        m.n_peers++;
    }
    all_send(cl, &m);
}

void hc_cluster_tick(hc_cluster *cl, uint64_t now) {
    enter(cl, now);
    /* A tick this late means we were stopped ourselves: nobody else is blamed for it. */
    if (cl->last_tick && now - cl->last_tick > cl->cfg.dead_ms / 2)
        for (size_t i = 0; i < cl->n_peers; i++) cl->peers[i]->last_heard = now;
    cl->last_tick = now;
    if (cl->bus_up && now >= cl->next_hb) {
        cl->next_hb = now + cl->cfg.hb_ms;
        send_hb(cl);
    }
    if (cl->bus_up && now - cl->bus_since >= cl->cfg.dead_ms) {
        for (size_t i = 0; i < cl->n_peers; i++) {
            peer *p = cl->peers[i];
            if (!p->alive || p->fenced || now - p->last_heard <= cl->cfg.dead_ms) continue;
            cl->st.peers_dead_total++;
            cl_log(cl, 1, "node_dead", "node %s: not heard for %llu ms", p->name, (unsigned long long)(now - p->last_heard));
            fence(cl, p, "not heard");
        }
    }
    lease_tick(cl);
    /* pending joins waiting to look again */
    hc_hmap_slot *s;
    for (size_t i = 0; (s = hc_hmap_next(&cl->rconns, &i));) {
        rconn *c = s->val;
        if (c->state == RC_PENDING && c->retry_at && now >= c->retry_at) {
            c->retry_at = 0;
            kv_request(cl, KV_FOR_JOIN, HC_KV_GET, c->meeting, 0, c->id);
        }
    }
    /* unanswered token lookups */
    for (size_t i = 0; (s = hc_hmap_next(&cl->regqs, &i));) {
        regq *q = s->val;
        if (now - q->first_ms <= REGQ_KEEP_MS) continue;
        hc_hmap_del_slot(&cl->regqs, s);
        free(q);
    }
    hc_relay_tick(cl->core, now);
    leave(cl);
}

/* ---- participants' connections ---- */

int hc_cluster_on_connect(hc_cluster *cl, uint64_t conn, const struct sockaddr *addr, uint64_t now) {
    enter(cl, now);
    rconn *c = calloc(1, sizeof *c);
    if (c) {
        c->id = conn;
        memcpy(&c->addr, addr, addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in));
        if (hc_hmap_put(&cl->rconns, &c->id, sizeof c->id, c) < 0) { free(c); c = NULL; }
    }
    int rc = c ? hc_relay_on_connect(cl->core, conn, addr, now) : -1;
    leave(cl);
    return rc;
}

void hc_cluster_on_bytes(hc_cluster *cl, uint64_t conn, const uint8_t *data, size_t len, uint64_t now) {
    enter(cl, now);
    rconn *c = rconn_get(cl, conn);
    if (c && c->state == RC_PROXIED) {
        if (!c->closing && peer_usable(c->home) && c->home->inc == c->home_inc) {
            hc_cl_msg m;
            hc_cl_msg_init(&m, HC_CL_UP);
            m.conn = conn;
            m.data = data;
            m.data_len = len;
            link_send(cl, c->home, &m, c->has_ctl ? c->ctl_meeting : c->meeting);
        }
    } else {
        hc_relay_on_bytes(cl->core, conn, data, len, now);
    }
    leave(cl);
}

static void rconn_free(hc_cluster *cl, rconn *c) {
    if (c->has_ctl && hc_hmap_get(&cl->tokens, c->token, HC_TOKEN_LEN) == c) hc_hmap_del(&cl->tokens, c->token, HC_TOKEN_LEN);
    rconn_clear_pending(c);
    hc_hmap_del(&cl->rconns, &c->id, sizeof c->id);
    free(c);
}

void hc_cluster_on_disconnect(hc_cluster *cl, uint64_t conn, uint64_t now) {
    enter(cl, now);
    rconn *c = rconn_get(cl, conn);
    if (c && c->state == RC_PROXIED) {
        if (c->home) {              /* still served (drop_state clears it when the link broke) */
            hc_cl_msg m;
            hc_cl_msg_init(&m, HC_CL_CLOSE);
            m.conn = conn;
            m.reason = HC_LEFT_CONNECTION_LOST;
            if (c->home->inc == c->home_inc) link_send(cl, c->home, &m, c->has_ctl ? c->ctl_meeting : c->meeting);
            cl->st.proxied--;
        }
    } else {
        hc_relay_on_disconnect(cl->core, conn, now);
    }
    if (c) rconn_free(cl, c);
    leave(cl);
}

void hc_cluster_on_backlog(hc_cluster *cl, uint64_t conn, uint64_t now) {
    enter(cl, now);
    rconn *c = rconn_get(cl, conn);
    if (c && c->state == RC_PROXIED) {
        /* the I/O layer closes it; the home hears of it from on_disconnect */
    } else {
        hc_relay_on_backlog(cl->core, conn, now);
    }
    leave(cl);
}

/* ---- media ---- */

static uint8_t *wrap_slot(hc_cluster *cl) {
    if (cl->n_wraps == WRAP_SLOTS) {
        cl->io.udp_flush(cl->io.ctx);
        cl->n_wraps = 0;
    }
    return cl->wraps[cl->n_wraps++];
}

void hc_cluster_udp_flushed(hc_cluster *cl) { cl->n_wraps = 0; }

static void send_to_node(hc_cluster *cl, peer *p, hc_cld *d) {
    if (!peer_usable(p) || !p->have_media) return;
    snprintf(d->src, sizeof d->src, "%s", cl->cfg.node);
    d->src_inc = cl->inc;
    d->counter = ++cl->dgram_counter;
    uint8_t *b = wrap_slot(cl);
    size_t n = hc_cld_encode(d, cl->cfg.key, b, HC_CL_DGRAM_MAX);
    if (!n) { cl->n_wraps--; return; }
    cl->st.dgram_out++;
    cl->io.udp_send(cl->io.ctx, 1, b, n, &p->media);
}

/* The relay core's decision for a datagram, carried out: participants here directly, members
 * whose media is at another node through that node (audio: one copy per node, which fans it out;
 * video: the members chosen, by index). Audio that came from another node goes to participants
 * here only: its sender's node sent every other node its own copy. */
static void route_out(hc_cluster *cl, const uint8_t *pkt, size_t len, const hc_media_route *rt, int video, int from_node) {
    peer *nodes[HC_CL_PEERS_MAX];
    uint16_t rcpt[HC_CL_PEERS_MAX][HC_CL_RECIPIENTS_MAX];
    uint8_t n_rcpt[HC_CL_PEERS_MAX];
    size_t n_nodes = 0;
    for (size_t i = 0; i < rt->n_dests; i++) {
        const struct sockaddr_storage *d = rt->dests[i];
        if (!is_synth(d)) {
            cl->io.udp_send(cl->io.ctx, 0, pkt, len, d);
            cl->st.media_local_out++;
            continue;
        }
        if (!video && from_node) continue;
        peer *p = peer_by_slot(cl, synth_slot(d));
        if (!p) continue;
        size_t k = 0;
        while (k < n_nodes && nodes[k] != p) k++;
        if (k == n_nodes) {
            if (n_nodes == HC_CL_PEERS_MAX) continue;
            nodes[n_nodes] = p;
            n_rcpt[n_nodes++] = 0;
        }
        if (!video) continue;
        if (n_rcpt[k] == HC_CL_RECIPIENTS_MAX) {   /* full: this batch goes now */
            hc_cld dd;
            memset(&dd, 0, sizeof dd);
            dd.kind = HC_CLD_VIDEO_TO;
            snprintf(dd.meeting, sizeof dd.meeting, "%s", rt->meeting_id);
            memcpy(dd.recipients, rcpt[k], sizeof rcpt[k]);
            dd.n_recipients = n_rcpt[k];
            dd.media = pkt;
            dd.media_len = len;
            send_to_node(cl, p, &dd);
            n_rcpt[k] = 0;
        }
        rcpt[k][n_rcpt[k]++] = (uint16_t)synth_index(d);
    }
    for (size_t k = 0; k < n_nodes; k++) {
        hc_cld d;
        memset(&d, 0, sizeof d);
        d.kind = video ? HC_CLD_VIDEO_TO : HC_CLD_AUDIO;
        snprintf(d.meeting, sizeof d.meeting, "%s", rt->meeting_id);
        if (video) {
            if (!n_rcpt[k]) continue;
            memcpy(d.recipients, rcpt[k], sizeof rcpt[k]);
            d.n_recipients = n_rcpt[k];
        }
        d.media = pkt;
        d.media_len = len;
        send_to_node(cl, nodes[k], &d);
    }
    if (rt->extra && rt->extra_len && rt->extra_len <= HC_MEDIA_MAX) {   /* --attack replay-media */
        uint8_t *b = wrap_slot(cl);
        memcpy(b, rt->extra, rt->extra_len);
        for (size_t i = 0; i < rt->n_dests; i++)
            if (!is_synth(rt->dests[i])) cl->io.udp_send(cl->io.ctx, 0, b, rt->extra_len, rt->dests[i]);
    }
}

static hc_loud *remote_loud(emeet *e, uint32_t index, uint64_t now) {
    for (size_t i = 0; i < e->n_rs; i++)
        if (e->rs[i].index == index) return &e->rs[i].loud;
    size_t k = e->n_rs;
    if (k == REMOTE_LOUD_MAX) {        /* the one heard least recently goes */
        k = 0;
        for (size_t i = 1; i < e->n_rs; i++)
            if (e->rs[i].loud.t < e->rs[k].loud.t) k = i;
        hc_loud_forget(&e->top, &e->rs[k].loud);
    } else {
        e->n_rs++;
    }
    e->rs[k].index = index;
    memset(&e->rs[k].loud, 0, sizeof e->rs[k].loud);
    (void)now;
    return &e->rs[k].loud;
}

/* Audio to the participants of e here, but its sender. */
static void edge_fanout(hc_cluster *cl, emeet *e, const hc_media_info *mi, hc_loud *loud, const uint8_t *pkt,
                        size_t len, uint32_t sender) {
    if (loud) {
        hc_loud_track(loud, mi->level, cl->now);
        if (cl->rcfg.forward_loudest && !hc_loud_admit(&e->top, cl->rcfg.forward_loudest, loud, cl->now)) {
            cl->st.media_not_loudest++;
            return;
        }
    }
    for (size_t i = 0; i < e->n; i++) {
        mm *d = e->m[i];
        if (d->index == sender || !d->eplen) continue;
        cl->io.udp_send(cl->io.ctx, 0, pkt, len, &d->ep);
        cl->st.media_local_out++;
    }
}

/* A datagram from a participant whose meeting is homed elsewhere. */
static void edge_media(hc_cluster *cl, mm *s, const hc_media_info *mi, const uint8_t *pkt, size_t len) {
    emeet *e = s->em;
    if (((mi->kid >> 8) & 0xFFFF) != (s->index & 0xFFFF)) return;   /* spoofed */
    hc_cld d;
    memset(&d, 0, sizeof d);
    snprintf(d.meeting, sizeof d.meeting, "%s", e->id);
    d.media = pkt;
    d.media_len = len;
    if (mi->type == HC_MEDIA_VIDEO) {      /* the home chooses who gets video */
        d.kind = HC_CLD_VIDEO_HOME;
        send_to_node(cl, e->home, &d);
        return;
    }
    size_t before = cl->st.media_not_loudest;
    edge_fanout(cl, e, mi, &s->loud, pkt, len, s->index);
    if (cl->st.media_not_loudest != before) return;
    d.kind = HC_CLD_AUDIO;
    if (!e->have_plan) {
        send_to_node(cl, e->home, &d);
        return;
    }
    for (size_t i = 0; i < e->n_plan; i++) {
        hc_cld c = d;
        send_to_node(cl, e->plan[i], &c);
    }
}

static int regq_allowed(hc_cluster *cl) {
    if (cl->now > cl->regq_t) {
        cl->regq_tokens += (double)(cl->now - cl->regq_t) * REGQ_RATE / 1000.0;
        if (cl->regq_tokens > REGQ_RATE) cl->regq_tokens = REGQ_RATE;
    }
    cl->regq_t = cl->now;
    if (cl->regq_tokens < 1) return 0;
    cl->regq_tokens -= 1;
    return 1;
}

/* A UDP registration with a token no one here knows: the node holding its participant's control
 * connection says which member it is (with SO_REUSEPORT workers, a participant's TCP and UDP may
 * land on different nodes). */
static void ask_token(hc_cluster *cl, const uint8_t token[16], const struct sockaddr *from, socklen_t fromlen) {
    regq *q = hc_hmap_get(&cl->regqs, token, HC_TOKEN_LEN);
    if (q && cl->now - q->asked_ms < REGQ_EVERY_MS) return;
    if (!regq_allowed(cl)) return;
    if (!q) {
        if (cl->regqs.count >= 4096 || !(q = calloc(1, sizeof *q))) return;
        memcpy(q->token, token, HC_TOKEN_LEN);
        q->first_ms = cl->now;
        if (hc_hmap_put(&cl->regqs, q->token, HC_TOKEN_LEN, q) < 0) { free(q); return; }
    }
    memcpy(&q->ep, from, (size_t)fromlen <= sizeof q->ep ? (size_t)fromlen : sizeof q->ep);
    q->eplen = fromlen;
    q->asked_ms = cl->now;
    cl->st.regq_sent++;
    hc_cl_msg m;
    hc_cl_msg_init(&m, HC_CL_REGQ);
    memcpy(m.token, token, HC_TOKEN_LEN);
    all_send(cl, &m);
}

void hc_cluster_on_udp(hc_cluster *cl, const struct sockaddr *from, socklen_t fromlen, uint8_t *pkt, size_t len,
                       uint64_t now) {
    enter(cl, now);
    hc_media_info mi;
    if (is_synth_sa(from)) goto out;        /* nobody sends from the discard prefix */
    if (hc_media_parse(&mi, pkt, len) < 0) goto core;
    if (mi.type == HC_MEDIA_REGISTER || mi.type == HC_MEDIA_KEEPALIVE) {
        mm *x = hc_hmap_get(&cl->mms, mi.token, HC_TOKEN_LEN);
        if (x) {                            /* a member of a meeting homed elsewhere: ours */
            mm_set_ep(cl, x, from, fromlen);
            if (mi.type == HC_MEDIA_REGISTER) reply_registered(cl, x->token, from, fromlen);
            goto out;
        }
        rconn *c = hc_hmap_get(&cl->tokens, mi.token, HC_TOKEN_LEN);
        if (c && c->state == RC_PROXIED && peer_usable(c->home)) {
            if (mm_register(cl, mi.token, c->ctl_meeting, c->ctl_index, c->home, from, fromlen))
                reply_registered(cl, mi.token, from, fromlen);
            goto out;
        }
        char mid[HC_MEETING_ID_MAX + 1];
        uint32_t index;
        if (hc_relay_token_member(cl->core, mi.token, mid, &index)) {
            /* homed here, endpoint here: if another node forwarded its media so far, no more */
            home *h = home_get(cl, mid);
            if (h) home_media_gone(cl, h, index, 1);
            goto core;
        }
        ask_token(cl, mi.token, from, fromlen);
        goto out;
    }
    if (mi.type == HC_MEDIA_AUDIO || mi.type == HC_MEDIA_VIDEO) {
        uint8_t k[HC_HMAP_KEY_MAX];
        size_t kl = ep_key(k, from);
        mm *x = hc_hmap_get(&cl->mm_eps, k, kl);
        if (x) {
            edge_media(cl, x, &mi, pkt, len);
            goto out;
        }
    }
core:;
    hc_media_route rt;
    size_t n = hc_relay_on_media(cl->core, from, fromlen, pkt, len, now, &rt);
    if (rt.reply && rt.reply_len == 17) {
        uint8_t *b = wrap_slot(cl);
        memcpy(b, rt.reply, 17);
        struct sockaddr_storage to;
        memset(&to, 0, sizeof to);
        memcpy(&to, from, (size_t)fromlen <= sizeof to ? (size_t)fromlen : sizeof to);
        cl->io.udp_send(cl->io.ctx, 0, b, 17, &to);
    }
    if (n) route_out(cl, pkt, len, &rt, pkt[0] == hc_media_byte0(HC_MEDIA_VIDEO), 0);
out:
    leave(cl);
}

void hc_cluster_on_node_udp(hc_cluster *cl, const struct sockaddr *from, uint8_t *pkt, size_t len, uint64_t now) {
    enter(cl, now);
    (void)from;
    hc_cld d;
    int rc = hc_cld_decode(&d, cl->cfg.key, pkt, len);
    cl->st.dgram_in++;
    if (rc == -2) { cl->st.dgram_bad_tag++; goto out; }
    if (rc < 0) { cl->st.dgram_bad++; goto out; }
    peer *p = peer_find(cl, d.src);
    if (!peer_usable(p) || p->inc != d.src_inc) { cl->st.dgram_unknown++; goto out; }
    if (hc_replay_check(&p->win, d.counter) != HC_REPLAY_OK) { cl->st.dgram_replay++; goto out; }
    hc_replay_update(&p->win, d.counter);
    hc_media_info mi;
    if (hc_media_parse(&mi, d.media, d.media_len) < 0 || (mi.type != HC_MEDIA_AUDIO && mi.type != HC_MEDIA_VIDEO)) {
        cl->st.dgram_bad++;
        goto out;
    }
    /* The media is forwarded verbatim, from where it lies in the caller's buffer. */
    uint8_t *media = pkt + (d.media - pkt);
    if (d.kind == HC_CLD_AUDIO || d.kind == HC_CLD_VIDEO_HOME) {
        if (home_get(cl, d.meeting)) {
            hc_media_route rt;
            size_t n = hc_relay_on_media_peer(cl->core, d.meeting, media, d.media_len, now, &rt);
            if (n) route_out(cl, media, d.media_len, &rt, d.kind == HC_CLD_VIDEO_HOME, 1);
            goto out;
        }
        if (d.kind == HC_CLD_VIDEO_HOME) goto out;
        emeet *e = emeet_get(cl, d.meeting);
        if (!e) goto out;
        uint32_t sender = (uint32_t)((mi.kid >> 8) & 0xFFFF);
        edge_fanout(cl, e, &mi, remote_loud(e, sender, now), media, d.media_len, sender);
        goto out;
    }
    /* VIDEO_TO: the members the home chose */
    for (unsigned i = 0; i < d.n_recipients; i++) {
        uint8_t k[32];
        size_t kl = idx_key(k, d.meeting, d.recipients[i]);
        mm *x = hc_hmap_get(&cl->mm_idx, k, kl);
        if (!x || !x->eplen) continue;
        cl->io.udp_send(cl->io.ctx, 0, media, d.media_len, &x->ep);
        cl->st.media_local_out++;
    }
out:
    leave(cl);
}

/* ------------------------------------------------------------------------------------------ */

hc_cluster *hc_cluster_new(const hc_cluster_config *cfg, const hc_relay_config *relay_cfg, const hc_cluster_io *io,
                           uint64_t now) {
    if (!hc_cl_name_ok(cfg->cluster) || !hc_cl_name_ok(cfg->node)) return NULL;
    hc_cluster *cl = calloc(1, sizeof *cl);
    if (!cl) return NULL;
    cl->cfg = *cfg;
    if (!cl->cfg.hb_ms) cl->cfg.hb_ms = 250;
    if (!cl->cfg.dead_ms) cl->cfg.dead_ms = 1500;
    if (cl->cfg.dead_ms < 2 * cl->cfg.hb_ms) cl->cfg.dead_ms = 2 * cl->cfg.hb_ms;
    if (!cl->cfg.lease_ttl_ms) cl->cfg.lease_ttl_ms = 15000;
    if (!cl->cfg.ring_bytes) cl->cfg.ring_bytes = 4u << 20;
    cl->rcfg = *relay_cfg;
    cl->io = *io;
    cl->inc = cfg->incarnation ? cfg->incarnation : rand64() >> 1;
    cl->enc_cap = (relay_cfg->max_frame ? relay_cfg->max_frame : HC_FRAME_MAX_DEFAULT) + 64 * 1024 +
                  8 * HC_CL_DOWN_CONNS_MAX;
    cl->enc = malloc(cl->enc_cap);
    cl->now = cl->started = cl->last_tick = now;
    cl->regq_tokens = REGQ_RATE;
    cl->regq_t = now;
    snprintf(cl->subj_all, sizeof cl->subj_all, "hc.%s.all", cl->cfg.cluster);
    snprintf(cl->subj_own, sizeof cl->subj_own, "hc.%s.n.%s.>", cl->cfg.cluster, cl->cfg.node);
    cl->wraps = calloc(WRAP_SLOTS, sizeof *cl->wraps);
    int bad = !cl->wraps || !cl->enc;
    hc_hmap *maps[] = {&cl->peers_by_name, &cl->rconns, &cl->vconns, &cl->homes, &cl->tokens, &cl->mms,
                       &cl->mm_eps, &cl->mm_idx, &cl->emeets, &cl->kvops, &cl->regqs, &cl->routes};
    for (size_t i = 0; i < sizeof maps / sizeof *maps; i++) bad |= hc_hmap_init(maps[i]) < 0;
    hc_relay_io rio = {cl, core_send, core_close, core_event, core_join_hook};
    if (!bad) cl->core = hc_relay_new(relay_cfg, &rio);
    if (bad || !cl->core) {
        hc_cluster_free(cl);
        return NULL;
    }
    return cl;
}

void hc_cluster_free(hc_cluster *cl) {
    if (!cl) return;
    cl->freeing = 1;
    hc_relay_free(cl->core);
    hc_hmap_slot *s;
    for (size_t i = 0; (s = hc_hmap_next(&cl->emeets, &i));) {
        emeet *e = s->val;
        while (e->n) {
            mm *x = e->m[--e->n];
            free(x);
        }
        free(e->m);
        free(e);
    }
    for (size_t i = 0; (s = hc_hmap_next(&cl->homes, &i));) {
        home *h = s->val;
        free(h->at);
        free(h);
    }
    hc_hmap *own[] = {&cl->rconns, &cl->vconns, &cl->kvops, &cl->regqs, &cl->routes};
    for (size_t k = 0; k < sizeof own / sizeof *own; k++)
        for (size_t i = 0; (s = hc_hmap_next(own[k], &i));) {
            if (own[k] == &cl->rconns) free(((rconn *)s->val)->frame);
            free(s->val);
        }
    for (size_t i = 0; i < cl->n_peers; i++) {
        peer *p = cl->peers[i];
        ring_clear(p);
        free(p->b_frame);
        free(p->b_conns);
        free(p);
    }
    free(cl->peers);
    hc_hmap *maps[] = {&cl->peers_by_name, &cl->rconns, &cl->vconns, &cl->homes, &cl->tokens, &cl->mms,
                       &cl->mm_eps, &cl->mm_idx, &cl->emeets, &cl->kvops, &cl->regqs, &cl->routes};
    for (size_t i = 0; i < sizeof maps / sizeof *maps; i++) hc_hmap_free(maps[i]);
    free(cl->deferred);
    free(cl->wraps);
    free(cl->enc);
    free(cl);
}

void hc_cluster_shutdown(hc_cluster *cl) {
    enter(cl, cl->now);
    hc_cl_msg m;
    hc_cl_msg_init(&m, HC_CL_BYE);
    all_send(cl, &m);
    hc_hmap_slot *s;
    for (size_t i = 0; (s = hc_hmap_next(&cl->rconns, &i));) {
        rconn *c = s->val;
        if (c->state == RC_PROXIED && !c->closing) send_shutdown_close(cl, c, SHUTDOWN_TEXT);
    }
    hc_relay_shutdown(cl->core);
    leave(cl);
}

hc_relay *hc_cluster_relay(hc_cluster *cl) { return cl->core; }
const hc_cluster_stats *hc_cluster_get_stats(const hc_cluster *cl) { return &cl->st; }
uint64_t hc_cluster_incarnation(const hc_cluster *cl) { return cl->inc; }

void hc_cluster_subjects(const hc_cluster *cl, char *own, size_t owncap, char *all, size_t allcap) {
    snprintf(own, owncap, "%s", cl->subj_own);
    snprintf(all, allcap, "%s", cl->subj_all);
}

void hc_cluster_bucket(const hc_cluster *cl, char *out, size_t cap) { snprintf(out, cap, "hc_%s_homes", cl->cfg.cluster); }
