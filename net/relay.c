/* The relay server: libuv I/O around the sans-I/O core. Decisions stay in net/relay_core.c;
 * this file moves bytes and keeps every buffer bounded.
 *
 * Control (TCP): one uv_tcp per connection, reads go to hc_relay_on_bytes from one shared read
 * buffer. Frames the core sends are copied into one uv_write each; a connection whose queued
 * bytes pass sendq_max is handed to hc_relay_on_backlog (after the core call in progress has
 * returned: the core must never be re-entered from inside its own callback).
 *
 * Media (UDP): a plain non-blocking socket watched with uv_poll, drained with recvmmsg into
 * preallocated buffers, each datagram decided by hc_relay_on_media, and every copy to send
 * appended to one preallocated mmsghdr array that goes out with sendmmsg per receive batch.
 * A full socket buffer (EAGAIN) drops media instead of waiting: late audio is useless.
 * Nothing on this path allocates.
 *
 * Impairment (--impair): decided per destination copy by net/impair.c; delayed copies wait in a
 * preallocated pool ordered by a binary heap, and are dropped (and counted) when it is full.
 *
 * Cluster (cfg.cluster.enabled): every call that would go to the core goes to the cluster node
 * (net/cluster_core.h), which owns the core and decides what is served here and what elsewhere;
 * the bus is net/cluster.c, and node-to-node datagrams have a UDP socket of their own (the node
 * socket), drained and sent like the relay's port. */
#include "net/relay.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/hmap.h"
#include "net/media.h"
#include "net/metrics.h"

#define UDP_BATCH 64             /* datagrams per recvmmsg */
#define UDP_BATCHES_PER_WAKE 16  /* then let TCP and timers run (uv_poll is level-triggered) */
#define UDP_BUF 2048             /* > HC_MEDIA_MAX, so oversized datagrams are seen as such */
#define OUT_MAX 4096             /* copies per sendmmsg flush; >= 2 x the largest fan-out */
#define TICK_MS 50               /* core timers: idle timeouts, held frames */
#define LINGER_MS 1000           /* a closing connection gets this long to drain, then it is cut */
#define STOP_LINGER_MS 500       /* at shutdown, clients get this long to read ERROR(shutdown) */
#define READ_BUF (64 * 1024)

typedef struct sconn sconn;
struct sconn {
    uv_tcp_t tcp;
    uv_shutdown_t sreq;
    hc_relay_server *s;
    uint64_t id;
    int in_core;           /* the core knows this connection (on_disconnect is owed) */
    int logged;            /* connection_opened was logged: connection_closed is owed */
    int closing;           /* no more bytes to or from the core */
    int shutting, shut_done, eof;   /* FIN queued / sent / received */
    int handle_closing;
    int over;              /* control backlog passed the limit */
    uint64_t closing_since;
    size_t delayed_bytes, n_delayed;    /* control frames held by control impairment */
    uint64_t last_ctrl_due;
    sconn *prev, *next;                 /* all connections */
    sconn *next_over;                   /* pending hc_relay_on_backlog */
};

typedef struct wreq {
    uv_write_t req;
    size_t len;
    uint8_t data[];
} wreq;

typedef struct cdelay {              /* a control frame held by control impairment */
    struct cdelay *next;
    uint64_t conn, due;
    size_t len;
    uint8_t data[];
} cdelay;

typedef struct {                     /* an impaired media copy waiting for its time */
    uint64_t due, seq;
    struct sockaddr_storage to;
    uint16_t len;
    uint8_t buf[HC_MEDIA_MAX];
} dslot;

struct hc_relay_server {
    hc_relay_server_config cfg;
    uv_loop_t *loop;
    hc_relay *core;
    hc_cluster *cl;                 /* a cluster node owns the core; NULL: a relay on its own */
    hc_cluster_bus *bus;
    int node_fd;                    /* the node socket (cluster) */
    uv_poll_t node_poll;
    struct mmsghdr nout[OUT_MAX];   /* node socket send batch */
    struct iovec nout_iov[OUT_MAX];
    struct sockaddr_storage nout_to[OUT_MAX];
    size_t n_nout;
    hc_relay_io_stats io;
    hc_metrics *metrics;            /* NULL: no --metrics */
    uint16_t port;
    int family;

    uv_tcp_t listener;
    uv_timer_t tick, delay_timer, ctrl_timer, stop_timer;
    uv_poll_t udp_poll;
    int udp_fd;
    int open_handles;               /* handles still to be closed at stop */

    hc_hmap conns;                  /* id -> sconn */
    sconn *all;
    size_t n_conns, n_closing;
    uint64_t next_id;
    sconn *over_head;
    uint8_t rbuf[READ_BUF];

    /* UDP receive batch */
    struct mmsghdr rmsg[UDP_BATCH];
    struct iovec riov[UDP_BATCH];
    struct sockaddr_storage rfrom[UDP_BATCH];
    uint8_t rpkt[UDP_BATCH][UDP_BUF];
    uint8_t rreply[UDP_BATCH][17];
    uint8_t rextra[UDP_BATCH][HC_MEDIA_MAX];
    /* UDP send batch (destinations copied: a cluster node hands over addresses it may change) */
    struct mmsghdr out[OUT_MAX];
    struct iovec out_iov[OUT_MAX];
    struct sockaddr_storage out_to[OUT_MAX];
    size_t n_out;

    /* impairment */
    hc_impair imp;
    dslot *pool;
    uint32_t *heap, *free_list;
    size_t pool_cap, heap_n, free_n;
    uint64_t dseq;
    cdelay *cd_head, *cd_tail;
    uint64_t ctrl_armed;            /* due time the control timer is set for; UINT64_MAX: none */

    uint64_t next_stats_ms, started_ms;
    uint64_t linger_ms;             /* LINGER_MS, plus the longest control delay when impaired */
    int stopping, stop_closed;
    void (*done)(void *);
    void *done_arg;
};

static uint64_t now_ms(hc_relay_server *s) { return uv_now(s->loop); }

static socklen_t sa_len(const struct sockaddr_storage *ss) {
    return ss->ss_family == AF_INET6 ? (socklen_t)sizeof(struct sockaddr_in6) : (socklen_t)sizeof(struct sockaddr_in);
}

void hc_relay_server_config_defaults(hc_relay_server_config *c) {
    memset(c, 0, sizeof *c);
    hc_relay_config_defaults(&c->core);
    snprintf(c->host, sizeof c->host, "127.0.0.1");
    c->port = 0;
    c->sendq_max = HC_RELAY_SENDQ_DEFAULT;
    c->max_conns = HC_RELAY_MAX_CONNS_DEFAULT;
    c->delay_pool = HC_RELAY_DELAY_POOL_DEFAULT;
}

/* ------------------------------------------------------------------------------------------ */
/* TCP connections                                                                             */

static sconn *conn_get(hc_relay_server *s, uint64_t id) { return hc_hmap_get(&s->conns, &id, sizeof id); }

static size_t conn_queued(sconn *c) {
    return uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) + c->delayed_bytes;
}

static void maybe_finish(hc_relay_server *s);
static void after_core(hc_relay_server *s);

static void on_conn_closed(uv_handle_t *h) {
    sconn *c = h->data;
    hc_relay_server *s = c->s;
    if (c->in_core) {
        c->in_core = 0;
        if (s->cl) hc_cluster_on_disconnect(s->cl, c->id, now_ms(s));
        else hc_relay_on_disconnect(s->core, c->id, now_ms(s));
    }
    hc_hmap_del(&s->conns, &c->id, sizeof c->id);
    if (c->prev) c->prev->next = c->next; else s->all = c->next;
    if (c->next) c->next->prev = c->prev;
    if (c->closing) s->n_closing--;
    s->n_conns--;
    s->io.conns_closed++;
    if (c->logged) hc_relay_log_conn(&s->cfg.log, HC_RLOG_INFO, "connection_closed", c->id, NULL, NULL);
    free(c);
    after_core(s);
    maybe_finish(s);
}

static void mark_closing(sconn *c) {
    if (c->closing) return;
    c->closing = 1;
    c->closing_since = now_ms(c->s);
    c->s->n_closing++;
}

/* Closes the handle now; queued writes are cancelled. */
static void conn_close_now(sconn *c) {
    if (c->handle_closing) return;
    mark_closing(c);
    c->handle_closing = 1;
    uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
}

static void on_shutdown(uv_shutdown_t *req, int status) {
    sconn *c = req->data;
    c->shut_done = 1;
    /* FIN is out (or the peer is gone): wait for the peer's EOF so that closing never turns
     * unread input into a reset that could destroy the ERROR frame we just sent. */
    if (status < 0 || c->eof) conn_close_now(c);
}

/* Graceful close: send what is queued, then FIN, then wait (bounded) for the peer's FIN. */
static void conn_begin_shutdown(sconn *c) {
    if (c->shutting || c->handle_closing) return;
    if (c->n_delayed) return;            /* the control delay queue still holds frames for it */
    c->shutting = 1;
    c->sreq.data = c;
    if (uv_shutdown(&c->sreq, (uv_stream_t *)&c->tcp, on_shutdown) < 0) conn_close_now(c);
}

static void on_write(uv_write_t *req, int status) {
    wreq *w = (wreq *)req;
    sconn *c = req->data;
    c->s->io.tcp_bytes_out += status == 0 ? w->len : 0;
    free(w);
    (void)c;
}

static void write_now(sconn *c, const uint8_t *p, size_t len) {
    wreq *w = malloc(sizeof *w + len);
    if (!w) { conn_close_now(c); return; }
    memcpy(w->data, p, len);
    w->len = len;
    w->req.data = c;
    uv_buf_t b = uv_buf_init((char *)w->data, (unsigned)len);
    if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_write) < 0) {
        free(w);
        conn_close_now(c);
    }
}

static void mark_over(sconn *c) {
    if (c->over) return;
    c->over = 1;
    c->next_over = c->s->over_head;
    c->s->over_head = c;
}

static void ctrl_timer_arm_at(hc_relay_server *s, uint64_t due);

/* io->send: queue one control frame. */
static void io_send(void *ctx, uint64_t id, const uint8_t *frame, size_t len) {
    hc_relay_server *s = ctx;
    sconn *c = conn_get(s, id);
    if (!c || c->handle_closing || c->shutting || c->over) return;
    if (conn_queued(c) + len > s->cfg.sendq_max) {
        mark_over(c);               /* handled by after_core, outside the core */
        return;
    }
    if (s->cfg.impair.enabled && s->cfg.impair.control) {
        /* Delayed, never dropped; a frame never leaves before an earlier one to the same conn. */
        uint64_t due = now_ms(s) + hc_impair_control_delay(&s->imp);
        if (due < c->last_ctrl_due) due = c->last_ctrl_due;
        c->last_ctrl_due = due;
        cdelay *d = malloc(sizeof *d + len);
        if (!d) { mark_over(c); return; }
        d->next = NULL;
        d->conn = id;
        d->due = due;
        d->len = len;
        memcpy(d->data, frame, len);
        if (s->cd_tail) s->cd_tail->next = d; else s->cd_head = d;
        s->cd_tail = d;
        c->delayed_bytes += len;
        c->n_delayed++;
        s->io.ctrl_delayed++;
        ctrl_timer_arm_at(s, due);
        return;
    }
    write_now(c, frame, len);
}

/* io->close: the core is done with this connection. */
static void io_event(void *ctx, const hc_relay_event *ev) {
    hc_relay_server *s = ctx;
    hc_relay_log_event(&s->cfg.log, ev);
}

static void io_close(void *ctx, uint64_t id) {
    hc_relay_server *s = ctx;
    sconn *c = conn_get(s, id);
    if (!c) return;
    mark_closing(c);
    if (c->over) conn_close_now(c);     /* a backlog is not worth flushing */
    else conn_begin_shutdown(c);
}

/* Runs after every call into the core: backlog disconnects are decided by the core, but only
 * once it has returned, since they change the very lists it may be iterating. */
static void after_core(hc_relay_server *s) {
    while (s->over_head) {
        sconn *c = s->over_head;
        s->over_head = c->next_over;
        c->next_over = NULL;
        if (c->in_core && !c->handle_closing) {
            s->io.backlog_disconnects++;
            if (s->cl) hc_cluster_on_backlog(s->cl, c->id, now_ms(s));
            else hc_relay_on_backlog(s->core, c->id, now_ms(s));
        }
        conn_close_now(c);
    }
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
    (void)suggested;
    sconn *c = h->data;
    /* One buffer for all connections: read_cb consumes it before the next read. */
    *buf = uv_buf_init((char *)c->s->rbuf, READ_BUF);
}

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf) {
    sconn *c = st->data;
    hc_relay_server *s = c->s;
    (void)buf;
    if (n > 0) {
        s->io.tcp_bytes_in += (uint64_t)n;
        if (c->closing || !c->in_core) return;           /* draining before close: discard */
        if (s->cl) hc_cluster_on_bytes(s->cl, c->id, s->rbuf, (size_t)n, now_ms(s));
        else hc_relay_on_bytes(s->core, c->id, s->rbuf, (size_t)n, now_ms(s));
        after_core(s);
        return;
    }
    if (n == 0) return;
    if (n == UV_EOF) {
        c->eof = 1;
        mark_closing(c);
        uv_read_stop(st);
        if (c->shut_done) conn_close_now(c);                 /* both directions are done */
        else if (!c->shutting && !c->n_delayed) conn_begin_shutdown(c);  /* replies first, then close */
        return;
    }
    conn_close_now(c);                         /* reset or other error */
}

static void on_connection(uv_stream_t *server, int status) {
    hc_relay_server *s = server->data;
    if (status < 0) return;
    sconn *c = calloc(1, sizeof *c);
    if (!c) return;
    c->s = s;
    if (uv_tcp_init(s->loop, &c->tcp) < 0) { free(c); return; }
    c->tcp.data = c;
    c->id = ++s->next_id;
    c->next = s->all;
    if (s->all) s->all->prev = c;
    s->all = c;
    s->n_conns++;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) < 0 || hc_hmap_put(&s->conns, &c->id, sizeof c->id, c) < 0) {
        conn_close_now(c);
        return;
    }
    if (s->stopping || s->n_conns > s->cfg.max_conns) {
        /* Beyond the global limit the core never sees it: memory stays bounded. */
        s->io.conns_rejected_global++;
        if (!s->stopping)
            hc_relay_log_conn(&s->cfg.log, HC_RLOG_WARN, "refused", c->id, NULL, "max_conns");
        conn_close_now(c);
        return;
    }
    s->io.conns_accepted++;
    uv_tcp_nodelay(&c->tcp, 1);
    struct sockaddr_storage peer;
    int plen = sizeof peer;
    memset(&peer, 0, sizeof peer);
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&peer, &plen) < 0) {
        conn_close_now(c);
        return;
    }
    c->in_core = 1;
    if (s->cfg.log.f) {
        /* The source address, as any server logs it: the operator needs it against abuse. */
        char ip[INET6_ADDRSTRLEN + 8] = "?";
        if (peer.ss_family == AF_INET6) uv_ip6_name((struct sockaddr_in6 *)&peer, ip, sizeof ip);
        else uv_ip4_name((struct sockaddr_in *)&peer, ip, sizeof ip);
        c->logged = 1;
        hc_relay_log_conn(&s->cfg.log, HC_RLOG_INFO, "connection_opened", c->id, ip, NULL);
    }
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    if (s->cl) hc_cluster_on_connect(s->cl, c->id, (const struct sockaddr *)&peer, now_ms(s));
    else hc_relay_on_connect(s->core, c->id, (const struct sockaddr *)&peer, now_ms(s));
    after_core(s);
}

/* ------------------------------------------------------------------------------------------ */
/* Control impairment: held frames, released in order                                         */

static void ctrl_release(hc_relay_server *s, int all) {
    uint64_t now = now_ms(s);
    cdelay **pp = &s->cd_head, *last = NULL;
    while (*pp) {
        cdelay *d = *pp;
        sconn *c = conn_get(s, d->conn);
        /* Per connection the due times never decrease, so releasing in list order keeps the
         * order of each connection's frames. */
        if (c && !c->handle_closing && !all && d->due > now) {
            last = d;
            pp = &d->next;
            continue;
        }
        *pp = d->next;
        if (c) {
            c->delayed_bytes -= d->len;
            c->n_delayed--;
            if (!c->handle_closing) {
                write_now(c, d->data, d->len);
                if (c->closing && !c->n_delayed && !c->over) conn_begin_shutdown(c);
            }
        }
        free(d);
    }
    s->cd_tail = last;
}

static void ctrl_timer_arm(hc_relay_server *s);

static void on_ctrl_timer(uv_timer_t *t) {
    hc_relay_server *s = t->data;
    s->ctrl_armed = UINT64_MAX;
    ctrl_release(s, 0);
    ctrl_timer_arm(s);
}

/* Arms the timer for the earliest held frame. With `due` (a frame just added) only an earlier
 * deadline than the armed one re-arms, so adding a frame costs O(1); a timer run rescans. */
static void ctrl_timer_arm_at(hc_relay_server *s, uint64_t due) {
    if (s->stopping || due >= s->ctrl_armed) return;
    uint64_t now = now_ms(s);
    s->ctrl_armed = due;
    uv_timer_start(&s->ctrl_timer, on_ctrl_timer, due > now ? due - now : 0, 0);
}

static void ctrl_timer_arm(hc_relay_server *s) {
    uint64_t min = UINT64_MAX;
    for (cdelay *d = s->cd_head; d; d = d->next)
        if (d->due < min) min = d->due;
    s->ctrl_armed = UINT64_MAX;
    if (min != UINT64_MAX) ctrl_timer_arm_at(s, min);
}

/* ------------------------------------------------------------------------------------------ */
/* UDP media                                                                                  */

/* Sends a batch with sendmmsg; returns how many went. */
static size_t send_batch(hc_relay_server *s, int fd, struct mmsghdr *out, size_t n) {
    size_t i = 0;
    while (i < n) {
        unsigned want = (unsigned)(n - i);
        int r = sendmmsg(fd, out + i, want, MSG_DONTWAIT);
        if (r > 0) {
            i += (size_t)r;
            continue;
        }
        if (r < 0 && errno == EINTR) continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)) {
            s->io.udp_drop_queue += n - i;   /* never block the relay for media */
            return i;
        }
        s->io.udp_send_errors++;             /* this datagram failed (e.g. unreachable): skip it */
        i++;
    }
    return n;
}

static void udp_flush(hc_relay_server *s) {
    if (s->n_out) {
        s->io.udp_tx += send_batch(s, s->udp_fd, s->out, s->n_out);
        s->io.send_batches++;
    }
    s->n_out = 0;
    if (s->n_nout) s->io.node_tx += send_batch(s, s->node_fd, s->nout, s->n_nout);
    s->n_nout = 0;
    if (s->cl) hc_cluster_udp_flushed(s->cl);   /* buffers it handed over are free again */
}

static void msg_fill(struct mmsghdr *m, struct iovec *iov, struct sockaddr_storage *to_copy, const uint8_t *pkt,
                     size_t len, const struct sockaddr_storage *to) {
    iov->iov_base = (void *)pkt;
    iov->iov_len = len;
    memcpy(to_copy, to, sa_len(to));
    struct msghdr *h = &m->msg_hdr;
    h->msg_name = to_copy;
    h->msg_namelen = sa_len(to);
    h->msg_iov = iov;
    h->msg_iovlen = 1;
    h->msg_control = NULL;
    h->msg_controllen = 0;
    h->msg_flags = 0;
}

static void out_add(hc_relay_server *s, const uint8_t *pkt, size_t len, const struct sockaddr_storage *to) {
    if (s->n_out == OUT_MAX) udp_flush(s);
    size_t k = s->n_out++;
    msg_fill(&s->out[k], &s->out_iov[k], &s->out_to[k], pkt, len, to);
}

/* A datagram to another node, from the node socket. */
static void node_out_add(hc_relay_server *s, const uint8_t *pkt, size_t len, const struct sockaddr_storage *to) {
    if (s->n_nout == OUT_MAX) udp_flush(s);
    size_t k = s->n_nout++;
    msg_fill(&s->nout[k], &s->nout_iov[k], &s->nout_to[k], pkt, len, to);
}

/* Delay pool: a binary min-heap of slot indexes ordered by (due, seq). */
static int dless(const hc_relay_server *s, uint32_t a, uint32_t b) {
    const dslot *x = &s->pool[a], *y = &s->pool[b];
    return x->due < y->due || (x->due == y->due && x->seq < y->seq);
}

static void heap_push(hc_relay_server *s, uint32_t v) {
    size_t i = s->heap_n++;
    s->heap[i] = v;
    while (i && dless(s, s->heap[i], s->heap[(i - 1) / 2])) {
        uint32_t t = s->heap[i];
        s->heap[i] = s->heap[(i - 1) / 2];
        s->heap[(i - 1) / 2] = t;
        i = (i - 1) / 2;
    }
}

static uint32_t heap_pop(hc_relay_server *s) {
    uint32_t top = s->heap[0];
    s->heap[0] = s->heap[--s->heap_n];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < s->heap_n && dless(s, s->heap[l], s->heap[m])) m = l;
        if (r < s->heap_n && dless(s, s->heap[r], s->heap[m])) m = r;
        if (m == i) break;
        uint32_t t = s->heap[i];
        s->heap[i] = s->heap[m];
        s->heap[m] = t;
        i = m;
    }
    return top;
}

static void delay_push(hc_relay_server *s, const uint8_t *pkt, size_t len, const struct sockaddr_storage *to,
                       uint64_t due) {
    if (!s->free_n || len > HC_MEDIA_MAX) {
        s->io.impair_queue_full++;
        return;
    }
    uint32_t k = s->free_list[--s->free_n];
    dslot *d = &s->pool[k];
    d->due = due;
    d->seq = s->dseq++;
    memcpy(&d->to, to, sa_len(to));
    d->len = (uint16_t)len;
    memcpy(d->buf, pkt, len);
    heap_push(s, k);
    s->io.impair_delayed++;
}

static void on_delay_timer(uv_timer_t *t);

static void delay_arm(hc_relay_server *s) {
    if (!s->heap_n || s->stopping) return;
    uint64_t due = s->pool[s->heap[0]].due, now = now_ms(s);
    uv_timer_start(&s->delay_timer, on_delay_timer, due > now ? due - now : 0, 0);
}

static void on_delay_timer(uv_timer_t *t) {
    hc_relay_server *s = t->data;
    uint64_t now = now_ms(s);
    uint32_t done[OUT_MAX];
    for (;;) {
        size_t nd = 0;
        while (s->heap_n && s->pool[s->heap[0]].due <= now && nd < OUT_MAX) {
            uint32_t k = heap_pop(s);
            out_add(s, s->pool[k].buf, s->pool[k].len, &s->pool[k].to);
            done[nd++] = k;
        }
        udp_flush(s);
        for (size_t i = 0; i < nd; i++) s->free_list[s->free_n++] = done[i];
        if (nd < OUT_MAX) break;
    }
    delay_arm(s);
}

/* One copy to one destination, through the impairment when it is on. */
static void emit(hc_relay_server *s, const uint8_t *pkt, size_t len, const struct sockaddr_storage *to, uint64_t now) {
    if (!s->cfg.impair.enabled) {
        out_add(s, pkt, len, to);
        return;
    }
    uint32_t d[2];
    int k = hc_impair_decide(&s->imp, d);
    if (k == 0) { s->io.impair_dropped++; return; }
    if (k == 2) s->io.impair_duplicated++;
    for (int i = 0; i < k; i++) {
        if (d[i] == 0) out_add(s, pkt, len, to);
        else delay_push(s, pkt, len, to, now + d[i]);
    }
}

static void udp_process(hc_relay_server *s, int n) {
    uv_update_time(s->loop);
    uint64_t now = now_ms(s);
    for (int i = 0; i < n; i++) {
        struct msghdr *h = &s->rmsg[i].msg_hdr;
        size_t len = s->rmsg[i].msg_len;
        if ((h->msg_flags & MSG_TRUNC) || len > HC_MEDIA_MAX) {
            s->io.udp_rx_truncated++;
            len = HC_MEDIA_MAX + 1 <= UDP_BUF ? HC_MEDIA_MAX + 1 : UDP_BUF;  /* the core drops it as malformed */
        }
        if (s->cl) {        /* the node decides, and sends through cluster_udp_send */
            hc_cluster_on_udp(s->cl, (const struct sockaddr *)&s->rfrom[i], h->msg_namelen, s->rpkt[i], len, now);
            continue;
        }
        hc_media_route rt;
        size_t nd = hc_relay_on_media(s->core, (const struct sockaddr *)&s->rfrom[i], h->msg_namelen, s->rpkt[i], len,
                                      now, &rt);
        if (rt.reply && rt.reply_len == sizeof s->rreply[i]) {
            memcpy(s->rreply[i], rt.reply, rt.reply_len);
            out_add(s, s->rreply[i], rt.reply_len, &s->rfrom[i]);
        }
        if (!nd) continue;
        /* The route points into the core's per-meeting scratch, which the next datagram of the
         * same meeting overwrites: use it now. Destinations are member endpoints, which live
         * until the core processes a disconnect, never during this loop. */
        for (size_t d = 0; d < nd; d++) emit(s, s->rpkt[i], len, rt.dests[d], now);
        if (rt.extra && rt.extra_len <= HC_MEDIA_MAX) {
            memcpy(s->rextra[i], rt.extra, rt.extra_len);
            for (size_t d = 0; d < nd; d++) emit(s, s->rextra[i], rt.extra_len, rt.dests[d], now);
        }
    }
    udp_flush(s);
    if (s->cfg.impair.enabled) delay_arm(s);
    after_core(s);   /* REGISTER may have queued MEDIA_READY on a TCP connection */
}

/* One recvmmsg into the preallocated receive batch. */
static int recv_batch(hc_relay_server *s, int fd) {
    for (int i = 0; i < UDP_BATCH; i++) {
        s->rmsg[i].msg_hdr.msg_namelen = sizeof s->rfrom[i];
        s->rmsg[i].msg_hdr.msg_flags = 0;
    }
    return recvmmsg(fd, s->rmsg, UDP_BATCH, MSG_DONTWAIT, NULL);
}

/* Datagrams from other nodes of the cluster (node socket). */
static void on_node_udp(uv_poll_t *p, int status, int events) {
    hc_relay_server *s = p->data;
    if (status < 0 || !(events & UV_READABLE) || !s->cl) return;
    for (int b = 0; b < UDP_BATCHES_PER_WAKE; b++) {
        int n = recv_batch(s, s->node_fd);
        if (n <= 0) break;
        s->io.node_rx += (uint64_t)n;
        uv_update_time(s->loop);
        uint64_t now = now_ms(s);
        for (int i = 0; i < n; i++) {
            if (s->rmsg[i].msg_hdr.msg_flags & MSG_TRUNC) continue;
            hc_cluster_on_node_udp(s->cl, (const struct sockaddr *)&s->rfrom[i], s->rpkt[i], s->rmsg[i].msg_len, now);
        }
        udp_flush(s);
        if (s->cfg.impair.enabled) delay_arm(s);
        after_core(s);
        if (n < UDP_BATCH) break;
    }
}

static void on_udp(uv_poll_t *p, int status, int events) {
    hc_relay_server *s = p->data;
    if (status < 0 || !(events & UV_READABLE)) return;
    for (int b = 0; b < UDP_BATCHES_PER_WAKE; b++) {
        int n = recv_batch(s, s->udp_fd);
        if (n <= 0) break;
        s->io.udp_rx += (uint64_t)n;
        s->io.recv_batches++;
        udp_process(s, n);
        if (n < UDP_BATCH) break;
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Timers, stats                                                                              */

size_t hc_relay_server_stats_json(const hc_relay_server *s, char *buf, size_t cap) {
    const hc_relay_stats *st = hc_relay_get_stats(s->core);
    const hc_relay_io_stats *io = &s->io;
    char errs[512];
    size_t el = 0;
    for (int e = 1; e < HC_WERR_COUNT && el < sizeof errs; e++)
        el += (size_t)snprintf(errs + el, sizeof errs - el, "\"%s\":%" PRIu64 ",", hc_wire_err_name((hc_wire_err)e),
                               st->ctrl_errors[e]);
    int n = snprintf(
        buf, cap,
        "{\"event\":\"stats\",\"uptime_ms\":%" PRIu64 ",\"meetings\":%" PRIu64 ",\"members\":%" PRIu64
        ",\"connections\":%" PRIu64 ",\"meetings_created\":%" PRIu64 ",\"meetings_resumed\":%" PRIu64 ",\"joins\":%" PRIu64
        ",\"ctrl_in\":%" PRIu64 ",\"ctrl_out\":%" PRIu64 ",\"media_in\":%" PRIu64 ",\"media_out\":%" PRIu64
        ",\"udp_rx\":%" PRIu64 ",\"udp_tx\":%" PRIu64 ",\"tcp_bytes_in\":%" PRIu64 ",\"tcp_bytes_out\":%" PRIu64
        ",\"media_register\":%" PRIu64 ",\"keyboxes_routed\":%" PRIu64
        ",\"roster\":{\"deltas\":%" PRIu64 ",\"gets\":%" PRIu64 ",\"copies\":%" PRIu64 "}"
        ",\"drops\":{\"malformed\":%" PRIu64 ",\"unregistered\":%" PRIu64 ",\"spoofed\":%" PRIu64
        ",\"not_loudest\":%" PRIu64 ",\"queue\":%" PRIu64 ",\"send_error\":%" PRIu64 ",\"impair\":%" PRIu64
        ",\"impair_queue_full\":%" PRIu64 "}"
        ",\"ctrl_errors\":{%s\"protocol\":%" PRIu64 "}"
        ",\"disconnects\":{\"backlog\":%" PRIu64 ",\"refused_per_addr\":%" PRIu64 ",\"refused_global\":%" PRIu64
        ",\"idle\":%" PRIu64 ",\"leader_silent\":%" PRIu64 ",\"unjoined_evicted\":%" PRIu64
        ",\"join_timeout\":%" PRIu64 ",\"join_rate_limited\":%" PRIu64 ",\"flood\":%" PRIu64 "}"
        ",\"announce\":{\"rotations\":%" PRIu64 ",\"rotations_forwarded\":%" PRIu64 ",\"refused\":%" PRIu64 "}"
        ",\"leader_probes\":%" PRIu64 ",\"indexes_reused\":%" PRIu64
        ",\"impair\":{\"duplicated\":%" PRIu64 ",\"delayed\":%" PRIu64 ",\"ctrl_delayed\":%" PRIu64 "}"
        ",\"video\":{\"in\":%" PRIu64 ",\"out\":%" PRIu64 ",\"frames\":%" PRIu64 ",\"keyframes\":%" PRIu64
        ",\"keyreq_in\":%" PRIu64 ",\"keyreq_out\":%" PRIu64 ",\"not_selected\":%" PRIu64 ",\"wait_key\":%" PRIu64
        ",\"status_sent\":%" PRIu64 ",\"ctrl_ignored\":%" PRIu64 "},\"video_meetings\":[",
        uv_now(s->loop) - s->started_ms, st->meetings, st->members, st->connections, st->meetings_created, st->meetings_resumed, st->joins,
        st->ctrl_in, st->ctrl_out, st->media_in, st->media_out, io->udp_rx, io->udp_tx, io->tcp_bytes_in,
        io->tcp_bytes_out, st->media_register, st->keyboxes_routed, st->roster_deltas, st->roster_gets,
        st->roster_copies, st->media_drop_malformed,
        st->media_drop_unregistered, st->media_drop_spoofed, st->media_drop_not_loudest,
        st->media_drop_queue + io->udp_drop_queue, io->udp_send_errors, st->media_drop_impair + io->impair_dropped,
        io->impair_queue_full, errs, st->ctrl_protocol_errors, io->backlog_disconnects, st->conns_refused,
        io->conns_rejected_global, st->idle_closed, st->leader_silent, st->unjoined_evicted, st->join_timeouts,
        st->joins_rate_limited, st->ctrl_flood_closed, st->announce_rotations, st->announce_rotations_fwd,
        st->announce_refused, st->leader_probes, st->indexes_reused, io->impair_duplicated, io->impair_delayed, io->ctrl_delayed,
        st->video_in, st->video_out, st->video_frames, st->video_keyframes, st->video_keyreq_in, st->video_keyreq_out,
        st->video_drop_not_selected, st->video_drop_wait_key, st->video_status_sent, st->video_ctrl_ignored);
    if (n < 0) return 0;
    size_t len = (size_t)n;
    /* Per meeting, the busiest few with video: an operator sees which call the traffic is. */
    hc_relay_video_meeting vm[HC_RELAY_STATS_VIDEO_MEETINGS];
    size_t nv = hc_relay_video_meetings(s->core, vm, HC_RELAY_STATS_VIDEO_MEETINGS);
    for (size_t i = 0; i < nv && len < cap; i++) {
        n = snprintf(buf + len, cap - len,
                     "%s{\"meeting_id\":\"%s\",\"members\":%u,\"cameras\":%u,\"in\":%" PRIu64 ",\"out\":%" PRIu64
                     ",\"frames\":%" PRIu64 ",\"keyframes\":%" PRIu64 ",\"keyreq_in\":%" PRIu64 ",\"keyreq_out\":%" PRIu64 "}",
                     i ? "," : "", vm[i].meeting_id, vm[i].members, vm[i].cameras, vm[i].in, vm[i].out, vm[i].frames,
                     vm[i].keyframes, vm[i].keyreq_in, vm[i].keyreq_out);
        if (n < 0) return 0;
        len += (size_t)n;
    }
    if (len < cap) {
        n = snprintf(buf + len, cap - len, "]");
        if (n < 0) return 0;
        len += (size_t)n;
    }
    if (s->cl && len < cap) {
        const hc_cluster_stats *c = hc_cluster_get_stats(s->cl);
        const hc_cluster_bus_stats *b = s->bus ? hc_cluster_bus_get_stats(s->bus) : NULL;
        n = snprintf(buf + len, cap - len,
                     ",\"cluster\":{\"node\":\"%s\",\"nodes_alive\":%" PRIu64 ",\"nodes_dead\":%" PRIu64
                     ",\"links_fenced\":%" PRIu64 ",\"bus_in\":%" PRIu64 ",\"bus_out\":%" PRIu64
                     ",\"bus_bytes_in\":%" PRIu64 ",\"bus_bytes_out\":%" PRIu64 ",\"bus_bad\":%" PRIu64
                     ",\"bus_publish_failed\":%" PRIu64 ",\"bus_queue_dropped\":%" PRIu64
                     ",\"gaps\":%" PRIu64 ",\"nacks_sent\":%" PRIu64 ",\"nacks_received\":%" PRIu64 ",\"resent\":%" PRIu64
                     ",\"stale\":%" PRIu64 ",\"proxied\":%" PRIu64 ",\"virtual\":%" PRIu64
                     ",\"joins_local\":%" PRIu64 ",\"joins_remote\":%" PRIu64 ",\"lookups_failed\":%" PRIu64
                     ",\"leases\":%" PRIu64 ",\"leases_taken\":%" PRIu64 ",\"leases_taken_over\":%" PRIu64
                     ",\"leases_lost\":%" PRIu64 ",\"lease_renewals\":%" PRIu64 ",\"lease_renew_failed\":%" PRIu64
                     ",\"meetings_evicted\":%" PRIu64 ",\"down_msgs\":%" PRIu64 ",\"down_frames\":%" PRIu64
                     ",\"media_members\":%" PRIu64 ",\"node_dgram_in\":%" PRIu64 ",\"node_dgram_out\":%" PRIu64
                     ",\"node_dgram_bad_tag\":%" PRIu64 ",\"node_dgram_bad\":%" PRIu64 ",\"node_dgram_replay\":%" PRIu64
                     ",\"node_dgram_unknown\":%" PRIu64 ",\"media_local_out\":%" PRIu64 ",\"not_loudest\":%" PRIu64
                     ",\"token_lookups\":%" PRIu64 ",\"token_answers\":%" PRIu64 "}",
                     s->cfg.cluster.node.node, c->peers_alive, c->peers_dead_total, c->peers_fenced_total, c->bus_in,
                     c->bus_out, c->bus_bytes_in, c->bus_bytes_out, c->bus_bad, b ? b->publish_failed : 0,
                     b ? b->dropped_queue_full : 0, c->gaps, c->nacks_sent, c->nacks_received, c->resent,
                     c->stale_dropped, c->proxied, c->virtual_conns, c->joins_routed_local, c->joins_routed_remote,
                     c->lookups_failed, c->leases, c->leases_taken, c->leases_taken_over, c->leases_lost,
                     c->lease_renewals, c->lease_renew_failed, c->meetings_evicted, c->down_msgs, c->down_frames,
                     c->media_members, c->dgram_in, c->dgram_out, c->dgram_bad_tag, c->dgram_bad, c->dgram_replay,
                     c->dgram_unknown, c->media_local_out, c->media_not_loudest, c->regq_sent, c->regq_answered);
        if (n < 0) return 0;
        len += (size_t)n;
    }
    if (len < cap) {
        n = snprintf(buf + len, cap - len, "}");
        if (n < 0) return 0;
        len += (size_t)n;
    }
    return len < cap ? len : cap ? cap - 1 : 0;
}

static void metrics_snapshot(hc_relay_server *s) {
    hc_metrics_snapshot snap;
    snap.st = *hc_relay_get_stats(s->core);
    snap.io = s->io;
    snap.uptime_ms = uv_now(s->loop) - s->started_ms;
    snap.n_video = hc_relay_video_meetings(s->core, snap.video, HC_RELAY_STATS_VIDEO_MEETINGS);
    hc_metrics_update(s->metrics, &snap);
}

static void on_tick(uv_timer_t *t) {
    hc_relay_server *s = t->data;
    uint64_t now = now_ms(s);
    if (s->cl) {
        hc_cluster_tick(s->cl, now);
        udp_flush(s);
    } else {
        hc_relay_tick(s->core, now);
    }
    after_core(s);
    if (s->metrics) metrics_snapshot(s);   /* a scrape sees counters at most one tick old */
    if (s->n_closing) {
        /* Connections that do not drain in time are cut: a peer that never reads cannot pin
         * memory by keeping a closing connection half-open. */
        for (sconn *c = s->all; c; c = c->next)
            if (c->closing && !c->handle_closing && now - c->closing_since >= s->linger_ms) conn_close_now(c);
    }
    if (s->cfg.stats_interval_ms && now >= s->next_stats_ms) {
        s->next_stats_ms = now + s->cfg.stats_interval_ms;
        char line[8192];
        size_t n = hc_relay_server_stats_json(s, line, sizeof line);
        FILE *f = s->cfg.stats_out ? s->cfg.stats_out : stdout;
        fprintf(f, "%.*s\n", (int)n, line);
        fflush(f);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Cluster: the node's io, and the bus's callbacks                                            */

static void cl_publish(void *ctx, const char *subject, const uint8_t *p, size_t len) {
    hc_relay_server *s = ctx;
    if (s->bus) hc_cluster_bus_publish(s->bus, subject, p, len);
}

static void cl_kv(void *ctx, const hc_kv_req *req) {
    hc_relay_server *s = ctx;
    if (s->bus) hc_cluster_bus_kv(s->bus, req);
}

static int cl_conn_send(void *ctx, uint64_t conn, const uint8_t *frame, size_t len) {
    hc_relay_server *s = ctx;
    io_send(s, conn, frame, len);
    sconn *c = conn_get(s, conn);
    return c && c->over ? -1 : 0;
}

static void cl_udp_send(void *ctx, int sock, const uint8_t *pkt, size_t len, const struct sockaddr_storage *to) {
    hc_relay_server *s = ctx;
    if (sock) node_out_add(s, pkt, len, to);
    else emit(s, pkt, len, to, now_ms(s));
}

static void cl_udp_flush(void *ctx) { udp_flush(ctx); }

static void cl_log(void *ctx, int warn, const char *event, const char *detail) {
    hc_relay_server *s = ctx;
    hc_relay_log_msg(&s->cfg.log, warn ? HC_RLOG_WARN : HC_RLOG_INFO, event, detail);
}

static void bus_message(void *ctx, const uint8_t *p, size_t len) {
    hc_relay_server *s = ctx;
    if (!s->cl || s->stopping) return;
    hc_cluster_on_bus(s->cl, p, len, now_ms(s));
    udp_flush(s);
    after_core(s);
}

static void bus_state(void *ctx, int connected) {
    hc_relay_server *s = ctx;
    if (!s->cl || s->stopping) return;
    hc_cluster_on_bus_state(s->cl, connected, now_ms(s));
    after_core(s);
}

static void bus_kv(void *ctx, const hc_kv_res *res) {
    hc_relay_server *s = ctx;
    if (!s->cl || s->stopping) return;
    hc_cluster_on_kv(s->cl, res, now_ms(s));
    udp_flush(s);
    after_core(s);
}

/* ------------------------------------------------------------------------------------------ */
/* Start, stop                                                                                */

static int parse_addr(const char *host, uint16_t port, struct sockaddr_storage *ss) {
    memset(ss, 0, sizeof *ss);
    if (uv_ip4_addr(host, port, (struct sockaddr_in *)ss) == 0) return AF_INET;
    if (uv_ip6_addr(host, port, (struct sockaddr_in6 *)ss) == 0) return AF_INET6;
    return -1;
}

static void set_port(struct sockaddr_storage *ss, uint16_t port) {
    if (ss->ss_family == AF_INET) ((struct sockaddr_in *)ss)->sin_port = htons(port);
    else ((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
}

static void udp_buffers(int u, int rcv, int snd) {
    int rb = rcv ? rcv : 4 << 20, sb = snd ? snd : 4 << 20;
    setsockopt(u, SOL_SOCKET, SO_RCVBUF, &rb, sizeof rb);
    setsockopt(u, SOL_SOCKET, SO_SNDBUF, &sb, sizeof sb);
}

static uint16_t bound_port(int fd) {
    struct sockaddr_storage got;
    socklen_t gl = sizeof got;
    memset(&got, 0, sizeof got);
    getsockname(fd, (struct sockaddr *)&got, &gl);
    return ntohs(got.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&got)->sin6_port : ((struct sockaddr_in *)&got)->sin_port);
}

int hc_relay_bind_shared(const char *host, uint16_t port, int n, int *tcp_fds, int *udp_fds, uint16_t *port_out,
                         char *err, size_t errlen) {
    struct sockaddr_storage ss;
    int fam = parse_addr(host, port, &ss);
    if (fam < 0) {
        snprintf(err, errlen, "bad listen address '%s' (expected a numeric IPv4 or IPv6 address)", host);
        return -1;
    }
    int done = 0;
    for (int i = 0; i < n; i++) tcp_fds[i] = udp_fds[i] = -1;
    for (int i = 0; i < 2 * n; i++) {
        int udp = i % 2, k = i / 2;
        int fd = socket(fam, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        int one = 1;
        if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
            setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0 ||
            bind(fd, (struct sockaddr *)&ss, sa_len(&ss)) < 0) {
            snprintf(err, errlen, "cannot listen on %s:%u (%s, worker %d): %s", host, port, udp ? "UDP" : "TCP", k + 1,
                     strerror(errno));
            if (fd >= 0) close(fd);
            goto fail;
        }
        if (udp) {
            udp_buffers(fd, 0, 0);
            udp_fds[k] = fd;
        } else {
            tcp_fds[k] = fd;
        }
        if (!port) {                          /* the first picked it: the others take the same */
            port = bound_port(fd);
            set_port(&ss, port);
        }
        done++;
    }
    *port_out = port;
    return 0;
fail:
    for (int i = 0; i < n; i++) {
        if (tcp_fds[i] >= 0) close(tcp_fds[i]);
        if (udp_fds[i] >= 0) close(udp_fds[i]);
        tcp_fds[i] = udp_fds[i] = -1;
    }
    (void)done;
    return -1;
}

/* Binds a TCP socket and a UDP socket to the same port. With port 0, TCP picks the number and
 * UDP follows; when UDP's bind fails, another TCP port is tried. A worker's pair is its parent's. */
static int bind_pair(hc_relay_server *s, int *tfd, int *ufd, char *err, size_t errlen) {
    struct sockaddr_storage ss;
    if (s->cfg.have_fds) {
        *tfd = s->cfg.tcp_fd;
        *ufd = s->cfg.udp_fd;
        s->port = bound_port(*tfd);
        s->family = parse_addr(s->cfg.host, 0, &ss);
        return 0;
    }
    int fam = parse_addr(s->cfg.host, s->cfg.port, &ss);
    if (fam < 0) {
        snprintf(err, errlen, "bad listen address '%s' (expected a numeric IPv4 or IPv6 address)", s->cfg.host);
        return -1;
    }
    s->family = fam;
    for (int attempt = 0; attempt < 64; attempt++) {
        set_port(&ss, s->cfg.port);
        int t = socket(fam, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (t < 0) { snprintf(err, errlen, "socket: %s", strerror(errno)); return -1; }
        int one = 1;
        setsockopt(t, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(t, (struct sockaddr *)&ss, sa_len(&ss)) < 0) {
            snprintf(err, errlen, "cannot listen on %s:%u (TCP): %s", s->cfg.host, s->cfg.port, strerror(errno));
            close(t);
            return -1;
        }
        struct sockaddr_storage got;
        socklen_t gl = sizeof got;
        getsockname(t, (struct sockaddr *)&got, &gl);
        uint16_t port = ntohs(fam == AF_INET ? ((struct sockaddr_in *)&got)->sin_port
                                             : ((struct sockaddr_in6 *)&got)->sin6_port);
        int u = socket(fam, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (u < 0) { close(t); snprintf(err, errlen, "socket: %s", strerror(errno)); return -1; }
        set_port(&ss, port);
        if (bind(u, (struct sockaddr *)&ss, sa_len(&ss)) == 0) {
            udp_buffers(u, s->cfg.udp_rcvbuf, s->cfg.udp_sndbuf);
            *tfd = t;
            *ufd = u;
            s->port = port;
            return 0;
        }
        int e = errno;
        close(u);
        close(t);
        if (s->cfg.port != 0 || e != EADDRINUSE) {
            snprintf(err, errlen, "cannot listen on %s:%u (UDP): %s", s->cfg.host, port, strerror(e));
            return -1;
        }
    }
    snprintf(err, errlen, "no port free for both TCP and UDP on %s", s->cfg.host);
    return -1;
}

/* The node socket (cluster): UDP on the listen address and the advertised port (0: any free
 * one); the advertised address is what the other nodes are told to send to. */
static int bind_node(hc_relay_server *s, struct sockaddr_storage *adv, char *err, size_t errlen) {
    struct sockaddr_storage ss;
    const char *ahost = s->cfg.cluster.advertise_host[0] ? s->cfg.cluster.advertise_host : s->cfg.host;
    int fam = parse_addr(s->cfg.host, s->cfg.cluster.advertise_port, &ss);
    if (fam < 0 || parse_addr(ahost, 0, adv) < 0) {
        snprintf(err, errlen, "bad listen or advertise address");
        return -1;
    }
    if (!strcmp(ahost, "0.0.0.0") || !strcmp(ahost, "::")) {
        snprintf(err, errlen, "--advertise HOST:PORT is needed when listening on every address: the other "
                              "nodes must know where to send this node's media");
        return -1;
    }
    int u = socket(fam, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (u < 0) { snprintf(err, errlen, "socket: %s", strerror(errno)); return -1; }
    if (bind(u, (struct sockaddr *)&ss, sa_len(&ss)) < 0) {
        snprintf(err, errlen, "cannot bind the node socket on %s:%u (UDP): %s", s->cfg.host,
                 s->cfg.cluster.advertise_port, strerror(errno));
        close(u);
        return -1;
    }
    udp_buffers(u, 0, 0);
    set_port(adv, bound_port(u));
    s->node_fd = u;
    return 0;
}

static void server_free(hc_relay_server *s) {
    hc_metrics_stop(s->metrics);
    while (s->cd_head) {
        cdelay *d = s->cd_head;
        s->cd_head = d->next;
        free(d);
    }
    if (s->cl) hc_cluster_free(s->cl);   /* and its core */
    else hc_relay_free(s->core);
    if (s->node_fd >= 0) close(s->node_fd);
    hc_hmap_free(&s->conns);
    free(s->pool);
    free(s->heap);
    free(s->free_list);
    free(s);
}

static void on_failed_listener_closed(uv_handle_t *h) { server_free(h->data); }

int hc_relay_server_start(hc_relay_server **out, uv_loop_t *loop, const hc_relay_server_config *cfg, char *err,
                          size_t errlen) {
    *out = NULL;
    hc_relay_server *s = calloc(1, sizeof *s);
    if (!s) { snprintf(err, errlen, "out of memory"); return -1; }
    s->cfg = *cfg;
    if (!s->cfg.sendq_max) s->cfg.sendq_max = HC_RELAY_SENDQ_DEFAULT;
    if (!s->cfg.max_conns) s->cfg.max_conns = HC_RELAY_MAX_CONNS_DEFAULT;
    /* One member's control burst must never fill a receiver's send queue on its own: the flooder
     * is what gets disconnected, never the one it floods. */
    if (s->cfg.core.member_ctrl_burst > s->cfg.sendq_max / 4) s->cfg.core.member_ctrl_burst = (uint32_t)(s->cfg.sendq_max / 4);
    s->loop = loop;
    s->udp_fd = -1;
    s->node_fd = -1;
    s->ctrl_armed = UINT64_MAX;
    if (hc_hmap_init(&s->conns) < 0) { free(s); snprintf(err, errlen, "out of memory"); return -1; }
    if (s->cfg.cluster.enabled) {
        hc_cluster_config nc = s->cfg.cluster.node;
        if (bind_node(s, &nc.advertise, err, errlen) < 0) { hc_hmap_free(&s->conns); free(s); return -1; }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);       /* later lives have larger incarnations */
        nc.incarnation = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
        s->cfg.cluster.node = nc;
        hc_cluster_io cio = {s, cl_publish, cl_kv, cl_conn_send, io_close, cl_udp_send, cl_udp_flush, cl_log,
                             s->cfg.log.f ? io_event : NULL};
        uv_update_time(loop);
        s->cl = hc_cluster_new(&nc, &s->cfg.core, &cio, now_ms(s));
        if (s->cl) s->core = hc_cluster_relay(s->cl);
    } else {
        hc_relay_io io = {s, io_send, io_close, s->cfg.log.f ? io_event : NULL, NULL};
        s->core = hc_relay_new(&s->cfg.core, &io);
    }
    if (!s->core) {
        if (s->node_fd >= 0) close(s->node_fd);
        hc_hmap_free(&s->conns);
        free(s);
        snprintf(err, errlen, "out of memory, or a bad cluster or node name");
        return -1;
    }
    if (s->cfg.impair.enabled) {
        hc_impair_init(&s->imp, &s->cfg.impair);
        s->pool_cap = s->cfg.delay_pool ? s->cfg.delay_pool : HC_RELAY_DELAY_POOL_DEFAULT;
        s->pool = calloc(s->pool_cap, sizeof *s->pool);
        s->heap = calloc(s->pool_cap, sizeof *s->heap);
        s->free_list = calloc(s->pool_cap, sizeof *s->free_list);
        if (!s->pool || !s->heap || !s->free_list) {
            server_free(s);
            snprintf(err, errlen, "out of memory for the impairment delay pool");
            return -1;
        }
        for (size_t i = 0; i < s->pool_cap; i++) s->free_list[i] = (uint32_t)(s->pool_cap - 1 - i);
        s->free_n = s->pool_cap;
    }
    for (int i = 0; i < UDP_BATCH; i++) {
        s->riov[i].iov_base = s->rpkt[i];
        s->riov[i].iov_len = UDP_BUF;
        s->rmsg[i].msg_hdr.msg_iov = &s->riov[i];
        s->rmsg[i].msg_hdr.msg_iovlen = 1;
        s->rmsg[i].msg_hdr.msg_name = &s->rfrom[i];
    }
    int tfd, ufd;
    if (bind_pair(s, &tfd, &ufd, err, errlen) < 0) { server_free(s); return -1; }
    s->udp_fd = ufd;
    uv_tcp_init(loop, &s->listener);
    s->listener.data = s;
    int rc = uv_tcp_open(&s->listener, tfd);
    if (rc == 0) rc = uv_listen((uv_stream_t *)&s->listener, 511, on_connection);
    if (rc == 0) rc = uv_poll_init_socket(loop, &s->udp_poll, ufd);
    if (rc < 0) {
        /* Rare (out of descriptors or memory); the loop still owns the listener handle, so
         * close it properly and let the caller see the error right away. */
        snprintf(err, errlen, "cannot listen on %s:%u: %s", s->cfg.host, s->port, uv_strerror(rc));
        close(ufd);
        s->udp_fd = -1;
        uv_close((uv_handle_t *)&s->listener, on_failed_listener_closed);  /* frees s */
        return -1;
    }
    s->udp_poll.data = s;
    uv_poll_start(&s->udp_poll, UV_READABLE, on_udp);
    uv_timer_init(loop, &s->tick);
    uv_timer_init(loop, &s->delay_timer);
    uv_timer_init(loop, &s->ctrl_timer);
    uv_timer_init(loop, &s->stop_timer);
    s->tick.data = s->delay_timer.data = s->ctrl_timer.data = s->stop_timer.data = s;
    s->open_handles = 6;   /* listener, udp_poll, 4 timers */
    if (s->cl) {
        uv_poll_init_socket(loop, &s->node_poll, s->node_fd);
        s->node_poll.data = s;
        uv_poll_start(&s->node_poll, UV_READABLE, on_node_udp);
        s->open_handles++;
        hc_cluster_bus_config bc = s->cfg.cluster.bus;
        hc_cluster_subjects(s->cl, bc.own, sizeof bc.own, bc.all, sizeof bc.all);
        hc_cluster_bucket(s->cl, bc.bucket, sizeof bc.bucket);
        bc.ttl_ms = s->cfg.cluster.node.lease_ttl_ms ? s->cfg.cluster.node.lease_ttl_ms : 15000;
        snprintf(bc.name, sizeof bc.name, "hushcall relay %s", s->cfg.cluster.node.node);
        hc_cluster_bus_callbacks bcb = {s, bus_message, bus_state, bus_kv, cl_log};
        if (hc_cluster_bus_start(&s->bus, loop, &bc, &bcb, err, errlen) < 0) {
            uv_timer_start(&s->tick, on_tick, TICK_MS, TICK_MS);
            hc_relay_server_stop(s, NULL, NULL);   /* frees s once its handles are closed */
            return -1;
        }
        s->open_handles++;  /* the bus: stopped with the server */
    }
    uv_update_time(loop);
    s->started_ms = now_ms(s);
    s->linger_ms = LINGER_MS;
    if (s->cfg.impair.enabled && s->cfg.impair.control)
        s->linger_ms += (uint64_t)s->cfg.impair.delay_ms + s->cfg.impair.jitter_ms;
    s->next_stats_ms = s->started_ms + s->cfg.stats_interval_ms;
    if (s->cfg.metrics_host[0]) {
        /* Last, so that a failure here leaves nothing on the loop but what stop closes. */
        s->metrics = hc_metrics_start(s->cfg.metrics_host, s->cfg.metrics_port, err, errlen);
        if (!s->metrics) {
            uv_timer_start(&s->tick, on_tick, TICK_MS, TICK_MS);
            hc_relay_server_stop(s, NULL, NULL);   /* frees s once its handles are closed */
            return -1;
        }
        metrics_snapshot(s);
    }
    uv_timer_start(&s->tick, on_tick, TICK_MS, TICK_MS);
    *out = s;
    return 0;
}

uint16_t hc_relay_server_port(const hc_relay_server *s) { return s->port; }
uint16_t hc_relay_server_metrics_port(const hc_relay_server *s) { return s->metrics ? hc_metrics_port(s->metrics) : 0; }
const char *hc_relay_server_host(const hc_relay_server *s) { return s->cfg.host; }
hc_relay *hc_relay_server_core(hc_relay_server *s) { return s->core; }
hc_cluster *hc_relay_server_cluster(hc_relay_server *s) { return s->cl; }
uint16_t hc_relay_server_node_port(const hc_relay_server *s) { return s->node_fd >= 0 ? bound_port(s->node_fd) : 0; }
const hc_relay_io_stats *hc_relay_server_io_stats(const hc_relay_server *s) { return &s->io; }

static void on_handle_closed(uv_handle_t *h);

static void maybe_finish(hc_relay_server *s) {
    if (!s->stopping || s->n_conns) return;
    if (!s->stop_closed) {
        s->stop_closed = 1;
        uv_close((uv_handle_t *)&s->stop_timer, on_handle_closed);
    }
    if (s->open_handles) return;
    void (*done)(void *) = s->done;
    void *arg = s->done_arg;
    server_free(s);
    if (done) done(arg);
}

static void on_handle_closed(uv_handle_t *h) {
    hc_relay_server *s = h->data;
    if (h == (uv_handle_t *)&s->udp_poll && s->udp_fd >= 0) {
        close(s->udp_fd);
        s->udp_fd = -1;
    }
    if (h == (uv_handle_t *)&s->node_poll && s->node_fd >= 0) {
        close(s->node_fd);
        s->node_fd = -1;
    }
    s->open_handles--;
    maybe_finish(s);
}

static void on_bus_stopped(void *arg) {
    hc_relay_server *s = arg;
    s->bus = NULL;
    s->open_handles--;
    maybe_finish(s);
}

static void on_stop_timer(uv_timer_t *t) {
    hc_relay_server *s = t->data;
    for (sconn *c = s->all; c; c = c->next) conn_close_now(c);
}

void hc_relay_server_stop(hc_relay_server *s, void (*done)(void *arg), void *arg) {
    if (s->stopping) return;
    s->stopping = 1;
    s->done = done;
    s->done_arg = arg;
    if (s->cl) {
        hc_cluster_shutdown(s->cl);     /* BYE to the other nodes, then as below */
        udp_flush(s);
    } else {
        hc_relay_shutdown(s->core);     /* ERROR(shutdown) to everyone, then close */
    }
    after_core(s);
    ctrl_release(s, 1);                 /* held control frames go out now */
    for (sconn *c = s->all; c; c = c->next)
        if (c->closing && !c->n_delayed && !c->over) conn_begin_shutdown(c);
    uv_close((uv_handle_t *)&s->listener, on_handle_closed);
    uv_close((uv_handle_t *)&s->udp_poll, on_handle_closed);
    uv_close((uv_handle_t *)&s->tick, on_handle_closed);
    uv_close((uv_handle_t *)&s->delay_timer, on_handle_closed);
    uv_close((uv_handle_t *)&s->ctrl_timer, on_handle_closed);
    if (s->cl) {
        uv_close((uv_handle_t *)&s->node_poll, on_handle_closed);
        if (s->bus) hc_cluster_bus_stop(s->bus, on_bus_stopped, s);
    }
    if (s->n_conns) uv_timer_start(&s->stop_timer, on_stop_timer, STOP_LINGER_MS, 0);
    else maybe_finish(s);
}
