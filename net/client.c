/* The participant's transport to the relay (see net/client.h): a TCP control connection with
 * reconnect and backoff, and a UDP socket for media with registration and keepalives. Moves
 * bytes only; every call returns at once.
 *
 * Each TCP connection attempt gets its own heap object, so an old connection can finish closing
 * while a new one is being made. All handles and requests are counted; close frees the client
 * once the last of them has called back.
 *
 * on_media_ready is called once per registration, at the first confirmation: a REGISTERED
 * datagram from the relay, or the session calling hc_client_media_confirmed (MEDIA_READY on TCP). */
#include "net/client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/media.h"
#include "net/wire.h"

#define BACKOFF_FIRST_MS 200
#define BACKOFF_MAX_MS 5000
#define REGISTER_EVERY_MS 200
#define KEEPALIVE_EVERY_MS 10000
#define CLOSE_FLUSH_MS 2000      /* close(): queued frames get this long to leave */
#define HANDSHAKE_MS_DEFAULT 10000
#define ATTEMPT_MS 2000          /* one of several relays that does not connect in this time is left */
#define NOT_HUSHCALL "that port does not speak the hushcall protocol"

typedef struct tconn {
    uv_tcp_t tcp;
    uv_connect_t creq;
    uv_shutdown_t sreq;
    hc_client *c;
    int closing;
} tconn;

typedef struct {
    uv_write_t req;
    hc_client *c;
    size_t len;
    uint8_t data[];
} cwreq;

enum { ST_IDLE, ST_RESOLVING, ST_CONNECTING, ST_CONNECTED };

struct hc_client {
    uv_loop_t *loop;
    hc_client_config cfg;
    hc_relay_list relays;           /* one or more; host/port_s/cfg.port are the current one's */
    int cur, round_tries;
    char host[256];
    char port_s[8];
    hc_client_callbacks cb;
    int state;
    tconn *t;                       /* current connection attempt or connection */
    uv_getaddrinfo_t gai;
    int gai_busy;
    uv_timer_t retry_timer, media_timer;
    uv_udp_t udp;
    int udp_bound;
    struct sockaddr_storage relay;  /* resolved relay address (TCP and UDP) */
    int have_relay;
    hc_frame_reader rd;
    uint64_t deadline, backoff;
    int phase;                      /* a connect phase (retries allowed) is running */
    size_t pending;                 /* bytes queued on TCP */
    uint8_t token[16];
    int reg_active, media_ok;
    int live;                       /* handles and requests that still owe a callback */
    int closing;
    void (*done)(void *);
    void *done_arg;
    uint64_t gen;                   /* bumps on every disconnect: stops stale frame loops */
    int hs_wait;                    /* connected, no frame yet: retry_timer is the handshake deadline */
    int got_bytes;                  /* this connection sent us something */
    uint8_t rbuf[64 * 1024];
    uint8_t ubuf[2048];             /* > HC_MEDIA_MAX: larger datagrams are seen and dropped */
};

static uint64_t now_ms(hc_client *c) { return uv_now(c->loop); }

static void maybe_free(hc_client *c) {
    if (!c->closing || c->live) return;
    void (*done)(void *) = c->done;
    void *arg = c->done_arg;
    hc_frame_reader_free(&c->rd);
    free(c);
    if (done) done(arg);
}

static void on_handle_closed(uv_handle_t *h) {
    hc_client *c = h->data;
    c->live--;
    maybe_free(c);
}

static void on_tconn_closed(uv_handle_t *h) {
    tconn *t = h->data;
    hc_client *c = t->c;
    free(t);
    c->live--;
    maybe_free(c);
}

static void tconn_close(tconn *t) {
    if (!t || t->closing) return;
    t->closing = 1;
    uv_close((uv_handle_t *)&t->tcp, on_tconn_closed);
}

/* ---- connecting ---- */

static void attempt(hc_client *c);

static void select_relay(hc_client *c, int i) {
    c->cur = i;
    snprintf(c->host, sizeof c->host, "%s", c->relays.host[i]);
    c->cfg.port = c->relays.port[i];
    snprintf(c->port_s, sizeof c->port_s, "%u", c->cfg.port);
}

void hc_client_current(const hc_client *c, const char **host, uint16_t *port) {
    *host = c->host;
    *port = c->cfg.port;
}

static void on_retry(uv_timer_t *tm) {
    hc_client *c = tm->data;
    if (!c->closing && c->phase) attempt(c);
}

/* An attempt failed: try again after the backoff while the phase lasts, else give up. */
static void attempt_failed(hc_client *c, const char *why) {
    c->state = ST_IDLE;
    char msg[700];
    if (c->relays.n > 1 && ++c->round_tries < c->relays.n && now_ms(c) < c->deadline) {
        /* another relay of the list at once; the backoff is for when none answered */
        select_relay(c, (c->cur + 1) % c->relays.n);
        if (c->cb.on_disconnected) c->cb.on_disconnected(c->cb.ctx, why, 1);
        if (!c->closing && c->phase && c->state == ST_IDLE) attempt(c);
        return;
    }
    c->round_tries = 0;
    if (c->relays.n > 1) select_relay(c, (c->cur + 1) % c->relays.n);
    if (now_ms(c) + c->backoff < c->deadline) {
        uint64_t wait = c->backoff;
        c->backoff = c->backoff * 2 > c->cfg.backoff_max_ms ? c->cfg.backoff_max_ms : c->backoff * 2;
        uv_timer_start(&c->retry_timer, on_retry, wait, 0);
        /* The real times, so the message matches what happens (and the man page). */
        snprintf(msg, sizeof msg, "%s; next try in %.1f s, giving up in %.1f s", why, (double)wait / 1000,
                 (double)(c->deadline - now_ms(c)) / 1000);
        if (c->cb.on_disconnected) c->cb.on_disconnected(c->cb.ctx, msg, 1);
        return;
    }
    c->phase = 0;
    snprintf(msg, sizeof msg, "could not connect to the relay at %s:%u within %llu ms: %s", c->host, c->cfg.port,
             (unsigned long long)c->cfg.connect_timeout_ms, why);
    if (c->cb.on_disconnected) c->cb.on_disconnected(c->cb.ctx, msg, 0);
}

static void on_udp_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf);
static void on_udp_recv(uv_udp_t *u, ssize_t n, const uv_buf_t *buf, const struct sockaddr *from, unsigned flags);

static void ensure_udp(hc_client *c) {
    if (c->udp_bound || !c->have_relay) return;
    struct sockaddr_storage any;
    memset(&any, 0, sizeof any);
    if (c->relay.ss_family == AF_INET6) {
        uv_ip6_addr("::", 0, (struct sockaddr_in6 *)&any);
    } else {
        uv_ip4_addr("0.0.0.0", 0, (struct sockaddr_in *)&any);
    }
    if (uv_udp_bind(&c->udp, (struct sockaddr *)&any, 0) < 0) return;
    if (uv_udp_recv_start(&c->udp, on_udp_alloc, on_udp_recv) < 0) return;
    c->udp_bound = 1;
}

static void on_tcp_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
    tconn *t = h->data;
    (void)suggested;
    /* One buffer per client: each read is consumed before the next one is asked for. */
    *buf = uv_buf_init((char *)t->c->rbuf, sizeof t->c->rbuf);
}

/* Lets go of the current connection, if any: frame loops still running on it stop (gen), and
 * the media registration ends with it. */
static void drop_connection(hc_client *c) {
    if (c->hs_wait) uv_timer_stop(&c->retry_timer);
    c->hs_wait = 0;
    tconn_close(c->t);
    c->t = NULL;
    c->state = ST_IDLE;
    c->gen++;
    c->reg_active = 0;
    uv_timer_stop(&c->media_timer);
}

static void lost(hc_client *c, const char *why) {
    drop_connection(c);
    if (c->cb.on_disconnected) c->cb.on_disconnected(c->cb.ctx, why, 0);
}

static void on_tcp_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
    tconn *t = s->data;
    hc_client *c = t->c;
    if (t != c->t || c->closing) return;
    if (n < 0) {
        char why[600];
        if (c->hs_wait && c->got_bytes)    /* bytes, then a close, and never one whole frame */
            snprintf(why, sizeof why, "the server at %s:%u is not a hushcall relay: %s", c->host, c->cfg.port,
                     NOT_HUSHCALL);
        else
            snprintf(why, sizeof why, "connection to the relay lost: %s",
                     n == UV_EOF ? "closed by the relay" : uv_strerror((int)n));
        lost(c, why);
        return;
    }
    if (n > 0) c->got_bytes = 1;
    const uint8_t *p = (const uint8_t *)buf->base;
    size_t len = (size_t)n;
    uint64_t gen = c->gen;
    while (len) {
        long took = hc_frame_reader_push(&c->rd, p, len);
        if (took < 0) break;
        p += took;
        len -= (size_t)took;
        const uint8_t *body;
        size_t bl;
        int k;
        while ((k = hc_frame_reader_next(&c->rd, &body, &bl)) == 1) {
            if (c->hs_wait) {              /* a frame: the other side speaks our framing */
                c->hs_wait = 0;
                uv_timer_stop(&c->retry_timer);
            }
            if (c->cb.on_frame) c->cb.on_frame(c->cb.ctx, body, bl);
            /* The callback may have closed or reconnected us: stop touching this stream. */
            if (c->closing || c->gen != gen) return;
        }
        if (k < 0) break;
    }
    if (c->rd.err) {
        /* Before any frame, an impossible length is someone else's protocol ("HTTP/1.1 400"
         * reads as a 1.2 GB frame), not a relay with a bug: say which. */
        char why[600];
        if (c->hs_wait)
            snprintf(why, sizeof why, "the server at %s:%u is not a hushcall relay: %s", c->host, c->cfg.port,
                     NOT_HUSHCALL);
        else
            snprintf(why, sizeof why, "the relay sent a frame larger than allowed");
        lost(c, why);
    }
}

static void on_handshake_timeout(uv_timer_t *tm) {
    hc_client *c = tm->data;
    if (c->closing || !c->hs_wait) return;
    char why[600];
    snprintf(why, sizeof why,
             "the server at %s:%u accepted the connection but did not answer within %llu s: %s, or it is stalled",
             c->host, c->cfg.port, (unsigned long long)(c->cfg.handshake_timeout_ms / 1000), NOT_HUSHCALL);
    lost(c, why);
}

static void on_connect(uv_connect_t *req, int status) {
    tconn *t = req->data;
    hc_client *c = t->c;
    c->live--;                       /* the connect request */
    if (c->closing || t != c->t) { maybe_free(c); return; }
    if (c->relays.n > 1) uv_timer_stop(&c->retry_timer);
    if (status < 0) {
        tconn_close(t);
        c->t = NULL;
        attempt_failed(c, uv_strerror(status));
        return;
    }
    c->state = ST_CONNECTED;
    c->phase = 0;
    c->round_tries = 0;
    c->pending = 0;
    hc_frame_reader_free(&c->rd);
    hc_frame_reader_init(&c->rd, c->cfg.max_frame);
    uv_tcp_nodelay(&t->tcp, 1);
    uv_read_start((uv_stream_t *)&t->tcp, on_tcp_alloc, on_tcp_read);
    /* A port that accepts and then says nothing (a stopped process, a firewall's proxy, some
     * other service waiting for its client to speak) must not hang us: the relay answers our
     * first message at once, so no frame within the deadline ends the attempt. */
    c->hs_wait = 1;
    c->got_bytes = 0;
    uv_timer_start(&c->retry_timer, on_handshake_timeout, c->cfg.handshake_timeout_ms, 0);
    ensure_udp(c);
    if (c->cb.on_connected) c->cb.on_connected(c->cb.ctx);
}

static void on_attempt_timeout(uv_timer_t *tm) {
    hc_client *c = tm->data;
    if (c->closing || c->state != ST_CONNECTING || !c->t) return;
    tconn_close(c->t);               /* its connect request calls back cancelled, and is ignored */
    c->t = NULL;
    attempt_failed(c, "no answer");
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res) {
    hc_client *c = req->data;
    c->gai_busy = 0;
    c->live--;
    if (c->closing) {
        if (res) uv_freeaddrinfo(res);
        maybe_free(c);
        return;
    }
    if (status < 0 || !res) {
        char why[400];
        snprintf(why, sizeof why, "cannot resolve '%s': %s", c->host, uv_strerror(status));
        if (res) uv_freeaddrinfo(res);
        attempt_failed(c, why);
        return;
    }
    memset(&c->relay, 0, sizeof c->relay);
    memcpy(&c->relay, res->ai_addr, res->ai_addrlen);
    c->have_relay = 1;
    uv_freeaddrinfo(res);
    tconn *t = calloc(1, sizeof *t);
    if (!t) { attempt_failed(c, "out of memory"); return; }
    t->c = c;
    uv_tcp_init(c->loop, &t->tcp);
    t->tcp.data = t;
    c->live++;
    c->t = t;
    c->state = ST_CONNECTING;
    t->creq.data = t;
    int rc = uv_tcp_connect(&t->creq, &t->tcp, (const struct sockaddr *)&c->relay, on_connect);
    if (rc < 0) {
        tconn_close(t);
        c->t = NULL;
        attempt_failed(c, uv_strerror(rc));
        return;
    }
    c->live++;                       /* the connect request */
    /* A dead host of several answers nothing: the next one is tried instead of waiting for the
     * system's connect timeout (minutes). */
    if (c->relays.n > 1) uv_timer_start(&c->retry_timer, on_attempt_timeout, ATTEMPT_MS, 0);
}

static void attempt(hc_client *c) {
    if (c->gai_busy || c->closing) return;
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    c->gai.data = c;
    c->state = ST_RESOLVING;
    int rc = uv_getaddrinfo(c->loop, &c->gai, on_resolved, c->host, c->port_s, &hints);
    if (rc < 0) {
        attempt_failed(c, uv_strerror(rc));
        return;
    }
    c->gai_busy = 1;
    c->live++;
}

/* A connect phase: attempts with backoff until connect_timeout_ms from now. A resolution
 * still in flight is the phase's first attempt (attempt() waits for it). */
static void begin_phase(hc_client *c) {
    c->phase = 1;
    c->backoff = BACKOFF_FIRST_MS;
    uv_update_time(c->loop);
    c->deadline = now_ms(c) + c->cfg.connect_timeout_ms;
    attempt(c);
}

int hc_client_new(hc_client **out, uv_loop_t *loop, const hc_client_config *cfg, const hc_client_callbacks *cb,
                  char *err, size_t errlen) {
    *out = NULL;
    int listed = cfg->relays && cfg->relays->n > 0;
    if (listed ? cfg->relays->n > HC_RELAYS_MAX
               : (!cfg->host || !*cfg->host || strlen(cfg->host) > HC_RELAY_HOST_MAX || cfg->port == 0)) {
        snprintf(err, errlen, "bad relay address");
        return -1;
    }
    hc_client *c = calloc(1, sizeof *c);
    if (!c) { snprintf(err, errlen, "out of memory"); return -1; }
    c->loop = loop;
    c->cfg = *cfg;
    if (listed) {
        c->relays = *cfg->relays;
    } else {
        c->relays.n = 1;
        snprintf(c->relays.host[0], sizeof c->relays.host[0], "%s", cfg->host);
        c->relays.port[0] = cfg->port;
    }
    c->cfg.relays = NULL;
    select_relay(c, 0);
    c->cfg.host = c->host;
    if (!c->cfg.max_frame) c->cfg.max_frame = HC_FRAME_MAX_DEFAULT;
    if (!c->cfg.handshake_timeout_ms) c->cfg.handshake_timeout_ms = HANDSHAKE_MS_DEFAULT;
    if (!c->cfg.connect_timeout_ms) c->cfg.connect_timeout_ms = 10000;
    if (!c->cfg.backoff_max_ms) c->cfg.backoff_max_ms = BACKOFF_MAX_MS;
    if (cb) c->cb = *cb;
    hc_frame_reader_init(&c->rd, c->cfg.max_frame);
    uv_timer_init(loop, &c->retry_timer);
    uv_timer_init(loop, &c->media_timer);
    uv_udp_init(loop, &c->udp);
    c->retry_timer.data = c->media_timer.data = c->udp.data = c;
    c->live = 3;
    *out = c;
    return 0;
}

void hc_client_start(hc_client *c) {
    if (c->closing || c->state != ST_IDLE || c->phase) return;
    begin_phase(c);
}

void hc_client_reconnect(hc_client *c) {
    if (c->closing) return;
    drop_connection(c);
    uv_timer_stop(&c->retry_timer);
    /* The relay we were on may be the one that is gone: start with the next. */
    if (c->relays.n > 1) select_relay(c, (c->cur + 1) % c->relays.n);
    c->round_tries = 0;
    begin_phase(c);
}

/* ---- sending ---- */

static void on_written(uv_write_t *req, int status) {
    cwreq *w = (cwreq *)req;
    hc_client *c = w->c;
    (void)status;
    c->pending -= w->len;
    c->live--;
    free(w);
    maybe_free(c);
}

int hc_client_send(hc_client *c, const uint8_t *frame, size_t len) {
    if (c->closing || c->state != ST_CONNECTED || !c->t || !len) return -1;
    cwreq *w = malloc(sizeof *w + len);
    if (!w) return -1;
    memcpy(w->data, frame, len);
    w->len = len;
    w->c = c;
    uv_buf_t b = uv_buf_init((char *)w->data, (unsigned)len);
    if (uv_write(&w->req, (uv_stream_t *)&c->t->tcp, &b, 1, on_written) < 0) {
        free(w);
        return -1;
    }
    c->pending += len;
    c->live++;
    return 0;
}

/* ---- media ---- */

static void udp_send_control(hc_client *c, uint8_t type) {
    if (!c->udp_bound) return;
    uint8_t pkt[17];
    hc_media_control(pkt, type, c->token);
    uv_buf_t b = uv_buf_init((char *)pkt, sizeof pkt);
    uv_udp_try_send(&c->udp, &b, 1, (const struct sockaddr *)&c->relay);
}

static void on_media_timer(uv_timer_t *t) {
    hc_client *c = t->data;
    if (!c->reg_active) return;
    udp_send_control(c, c->media_ok ? HC_MEDIA_KEEPALIVE : HC_MEDIA_REGISTER);
}

static void confirm(hc_client *c) {
    if (c->media_ok) return;
    c->media_ok = 1;
    /* From now on only keepalives, so the relay's and any NAT's mapping stays. */
    uv_timer_start(&c->media_timer, on_media_timer, KEEPALIVE_EVERY_MS, KEEPALIVE_EVERY_MS);
    if (c->cb.on_media_ready) c->cb.on_media_ready(c->cb.ctx);
}

void hc_client_register_media(hc_client *c, const uint8_t token[16]) {
    if (c->closing) return;
    memcpy(c->token, token, 16);
    c->reg_active = 1;
    c->media_ok = 0;
    ensure_udp(c);
    udp_send_control(c, HC_MEDIA_REGISTER);
    uv_timer_start(&c->media_timer, on_media_timer, REGISTER_EVERY_MS, REGISTER_EVERY_MS);
}

void hc_client_media_confirmed(hc_client *c) {
    if (!c->closing && c->reg_active) confirm(c);
}

int hc_client_send_media(hc_client *c, const uint8_t *pkt, size_t len) {
    if (c->closing || !len || len > HC_MEDIA_MAX) return -1;
    if (!c->udp_bound || !c->media_ok) return 0;      /* not registered yet: dropped */
    uv_buf_t b = uv_buf_init((char *)pkt, (unsigned)len);
    int rc = uv_udp_try_send(&c->udp, &b, 1, (const struct sockaddr *)&c->relay);
    if (rc >= 0 || rc == UV_EAGAIN || rc == UV_ENOBUFS) return 0;   /* a full buffer drops, like the network */
    return -1;
}

static void on_udp_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
    hc_client *c = h->data;
    (void)suggested;
    *buf = uv_buf_init((char *)c->ubuf, sizeof c->ubuf);
}

static int same_addr(const struct sockaddr *a, const struct sockaddr_storage *b) {
    if (a->sa_family != b->ss_family) return 0;
    if (a->sa_family == AF_INET) {
        const struct sockaddr_in *x = (const struct sockaddr_in *)a, *y = (const struct sockaddr_in *)b;
        return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
    if (a->sa_family == AF_INET6) {
        const struct sockaddr_in6 *x = (const struct sockaddr_in6 *)a, *y = (const struct sockaddr_in6 *)b;
        return x->sin6_port == y->sin6_port && !memcmp(&x->sin6_addr, &y->sin6_addr, 16);
    }
    return 0;
}

static void on_udp_recv(uv_udp_t *u, ssize_t n, const uv_buf_t *buf, const struct sockaddr *from, unsigned flags) {
    hc_client *c = u->data;
    if (n <= 0 || !from || c->closing || (flags & UV_UDP_PARTIAL)) return;
    if (!same_addr(from, &c->relay)) return;          /* only the relay speaks to us here */
    hc_media_info mi;
    const uint8_t *p = (const uint8_t *)buf->base;
    if (hc_media_parse(&mi, p, (size_t)n) < 0) return;
    if (mi.type == HC_MEDIA_REGISTERED) {
        if (c->reg_active && !memcmp(mi.token, c->token, 16)) confirm(c);
        return;
    }
    if ((mi.type == HC_MEDIA_AUDIO || mi.type == HC_MEDIA_VIDEO) && c->cb.on_media) c->cb.on_media(c->cb.ctx, p, (size_t)n);
}

/* ---- closing ---- */

static void on_close_flush_timeout(uv_timer_t *tm) {
    hc_client *c = tm->data;
    if (c->t) {
        tconn_close(c->t);
        c->t = NULL;
    }
    uv_close((uv_handle_t *)&c->retry_timer, on_handle_closed);
}

static void on_shutdown(uv_shutdown_t *req, int status) {
    tconn *t = req->data;
    hc_client *c = t->c;
    (void)status;
    c->live--;
    tconn_close(t);
    if (c->t == t) c->t = NULL;
    uv_timer_stop(&c->retry_timer);
    if (!uv_is_closing((uv_handle_t *)&c->retry_timer)) uv_close((uv_handle_t *)&c->retry_timer, on_handle_closed);
    maybe_free(c);
}

void hc_client_close(hc_client *c, void (*done)(void *arg), void *arg) {
    if (c->closing) return;
    c->closing = 1;
    c->done = done;
    c->done_arg = arg;
    c->reg_active = 0;
    if (c->gai_busy) uv_cancel((uv_req_t *)&c->gai);
    uv_close((uv_handle_t *)&c->media_timer, on_handle_closed);
    uv_close((uv_handle_t *)&c->udp, on_handle_closed);
    uv_timer_stop(&c->retry_timer);
    tconn *t = c->t;
    if (t && c->state == ST_CONNECTED && c->pending) {
        /* Flush: shutdown waits for the queued writes, bounded by a timer. */
        t->sreq.data = t;
        if (uv_shutdown(&t->sreq, (uv_stream_t *)&t->tcp, on_shutdown) == 0) {
            c->live++;
            uv_timer_start(&c->retry_timer, on_close_flush_timeout, CLOSE_FLUSH_MS, 0);
            return;
        }
    }
    if (t) {
        tconn_close(t);
        c->t = NULL;
    }
    uv_close((uv_handle_t *)&c->retry_timer, on_handle_closed);
}
