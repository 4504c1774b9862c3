/* In-memory harness around the sans-I/O relay core for unit tests and fuzzing: fake
 * connections collect what the core sends, closes are delivered back like the I/O layer does. */
#ifndef HC_TEST_RELAY_HARNESS_H
#define HC_TEST_RELAY_HARNESS_H

#include <netinet/in.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/binding.h"
#include "crypto/bytes.h"
#include "crypto/sframe.h"
#include "net/media.h"
#include "net/relay_core.h"
#include "net/wire.h"

#define HH_CONNS 256

typedef struct {
    uint8_t *buf;
    size_t len, cap, off;
    int connected, close_req, closed;
    uint8_t last[70000];           /* body of the last frame read */
    size_t frames;                 /* frames received in total */
} hh_conn;

typedef struct {
    hc_relay *r;
    hh_conn *c;                    /* HH_CONNS entries, heap: each is ~70 KB */
    uint64_t now;
} hh;

static inline void hh_io_send(void *ctx, uint64_t id, const uint8_t *f, size_t len) {
    hh *h = ctx;
    if (id >= HH_CONNS) return;
    hh_conn *c = &h->c[id];
    if (c->len + len > c->cap) {
        size_t nc = c->cap ? c->cap : 4096;
        while (nc < c->len + len) nc *= 2;
        uint8_t *nb = realloc(c->buf, nc);
        if (!nb) abort();
        c->buf = nb;
        c->cap = nc;
    }
    memcpy(c->buf + c->len, f, len);
    c->len += len;
    c->frames++;
}

static inline void hh_io_close(void *ctx, uint64_t id) {
    hh *h = ctx;
    if (id < HH_CONNS) h->c[id].close_req = 1;
}

static inline void hh_copy_id(char *dst, const char *src) {
    size_t l = strnlen(src, HC_MEETING_ID_MAX);
    memcpy(dst, src, l);
    dst[l] = 0;
}

static inline hh *hh_new(const hc_relay_config *cfg) {
    hh *h = calloc(1, sizeof *h);
    h->c = calloc(HH_CONNS, sizeof *h->c);
    hc_relay_io io = {h, hh_io_send, hh_io_close};
    h->r = hc_relay_new(cfg, &io);
    h->now = 1000;
    return h;
}

/* Delivers pending closes to the core, as the I/O layer does once a close completes. */
static inline void hh_pump(hh *h) {
    for (int again = 1; again;) {
        again = 0;
        for (int i = 0; i < HH_CONNS; i++) {
            hh_conn *c = &h->c[i];
            if (c->connected && c->close_req && !c->closed) {
                c->closed = 1;
                hc_relay_on_disconnect(h->r, (uint64_t)i, h->now);
                again = 1;
            }
        }
    }
}

static inline void hh_free(hh *h) {
    hc_relay_free(h->r);
    for (int i = 0; i < HH_CONNS; i++) free(h->c[i].buf);
    free(h->c);
    free(h);
}

static inline void hh_addr(struct sockaddr_in *sa, uint32_t host_last_octet, uint16_t port) {
    memset(sa, 0, sizeof *sa);
    sa->sin_family = AF_INET;
    sa->sin_port = htons(port);
    sa->sin_addr.s_addr = htonl(0x7F000000u | host_last_octet);
}

static inline int hh_connect(hh *h, uint64_t id, uint32_t ip_octet) {
    struct sockaddr_in sa;
    hh_addr(&sa, ip_octet, (uint16_t)(40000 + id));
    h->c[id].connected = 1;
    return hc_relay_on_connect(h->r, id, (struct sockaddr *)&sa, h->now);
}

static inline void hh_bytes(hh *h, uint64_t id, const uint8_t *p, size_t len) {
    hc_relay_on_bytes(h->r, id, p, len, h->now);
}

static inline void hh_send(hh *h, uint64_t id, const hc_msg *m) {
    uint8_t buf[HC_FRAME_MAX_DEFAULT + 16];
    size_t n = hc_msg_encode(m, buf, sizeof buf);
    if (!n) abort();
    hh_bytes(h, id, buf, n);
}

/* Next frame sent to conn id: 1 and decoded into m (valid until the next call), 0 if none. */
static inline int hh_next(hh *h, uint64_t id, hc_msg *m) {
    hh_conn *c = &h->c[id];
    if (c->len - c->off < 4) return 0;
    uint32_t fl = hc_get_u32(c->buf + c->off);
    if (fl > sizeof c->last || c->len - c->off - 4 < fl) abort();
    memcpy(c->last, c->buf + c->off + 4, fl);
    c->off += 4 + fl;
    if (hc_msg_decode(m, c->last, fl, NULL) < 0) abort();   /* the relay must only send valid frames */
    return 1;
}

/* Skips frames until one of this type; 1 if found. */
static inline int hh_find(hh *h, uint64_t id, uint8_t type, hc_msg *m) {
    while (hh_next(h, id, m))
        if (m->type == type) return 1;
    return 0;
}

static inline size_t hh_count(hh *h, uint64_t id, uint8_t type) {
    hc_msg m;
    size_t n = 0;
    while (hh_next(h, id, &m)) n += m.type == type;
    return n;
}

static inline void hh_drain(hh *h, uint64_t id) { h->c[id].off = h->c[id].len; }

/* CREATE or JOIN; returns the member index from JOINED (0 on failure) and the meeting id. */
static inline uint32_t hh_join(hh *h, uint64_t id, const char *meeting_id, const char *name, char *id_out,
                               uint8_t uuid_out[16], uint8_t token_out[16]) {
    hc_msg m;
    hc_msg_init(&m, meeting_id ? HC_MSG_JOIN : HC_MSG_CREATE);
    if (meeting_id) hh_copy_id(m.meeting_id, meeting_id);
    snprintf(m.name, sizeof m.name, "%s", name);
    hh_send(h, id, &m);
    hc_msg r;
    if (!hh_next(h, id, &r) || r.type != HC_MSG_JOINED) return 0;
    if (id_out) hh_copy_id(id_out, r.meeting_id);
    if (uuid_out) memcpy(uuid_out, r.uuid, 16);
    if (token_out) memcpy(token_out, r.token, 16);
    return r.index;
}

/* The ANNOUNCE frame of a binding, signed with isk (a key other than the binding's IVK makes a
 * forgery). Returns its size, 0 if it does not fit. */
static inline size_t hh_announce_frame(uint8_t *out, size_t cap, const hc_binding *b, const uint8_t isk[64]) {
    uint8_t enc[HC_BINDING_MAX];
    size_t el = hc_binding_encode(b, enc, sizeof enc);
    hc_msg m;
    hc_msg_init(&m, HC_MSG_ANNOUNCE);
    m.data = enc;
    m.data_len = el;
    hc_binding_sign(m.sig, enc, el, isk);
    return hc_msg_encode(&m, out, cap);
}

/* A signed ANNOUNCE frame for a member (a fresh identity each time). */
static inline size_t hh_announce(uint8_t *out, size_t cap, const char *mid, const uint8_t uuid[16], uint32_t index,
                                 const char *name) {
    uint8_t ivk[32], isk[64];
    crypto_sign_keypair(ivk, isk);
    hc_binding b;
    memset(&b, 0, sizeof b);
    hh_copy_id(b.meeting_id, mid);
    memcpy(b.uuid, uuid, 16);
    b.index = index;
    memcpy(b.ivk, ivk, 32);
    randombytes_buf(b.pk, sizeof b.pk);
    snprintf(b.name, sizeof b.name, "%s", name);
    randombytes_buf(b.nonce, sizeof b.nonce);
    return hh_announce_frame(out, cap, &b, isk);
}

/* An AUDIO datagram from sender `index` (its KID carries the index). */
static inline size_t hh_media(uint8_t *out, uint32_t index, uint8_t level, uint64_t ctr) {
    out[0] = hc_media_byte0(HC_MEDIA_AUDIO);
    out[1] = level;
    size_t h = hc_sframe_header_encode(out + 2, hc_kid_make(HC_STREAM_AUDIO, index, 1), ctr);
    memset(out + 2 + h, 0xAB, 40);   /* stands in for ciphertext and tag */
    return 2 + h + 40;
}

static inline size_t hh_register(hh *h, const uint8_t token[16], uint32_t ip_octet, uint16_t port,
                                 hc_media_route *rt) {
    uint8_t pkt[17];
    hc_media_control(pkt, HC_MEDIA_REGISTER, token);
    struct sockaddr_in sa;
    hh_addr(&sa, ip_octet, port);
    return hc_relay_on_media(h->r, (struct sockaddr *)&sa, sizeof sa, pkt, 17, h->now, rt);
}

static inline size_t hh_media_from(hh *h, uint32_t ip_octet, uint16_t port, uint8_t *pkt, size_t len,
                                   hc_media_route *rt) {
    struct sockaddr_in sa;
    hh_addr(&sa, ip_octet, port);
    return hc_relay_on_media(h->r, (struct sockaddr *)&sa, sizeof sa, pkt, len, h->now, rt);
}

/* Does the route include the endpoint 127.0.0.ip:port? */
static inline int hh_route_has(const hc_media_route *rt, uint32_t ip_octet, uint16_t port) {
    struct sockaddr_in sa;
    hh_addr(&sa, ip_octet, port);
    for (size_t i = 0; i < rt->n_dests; i++) {
        const struct sockaddr_in *d = (const struct sockaddr_in *)rt->dests[i];
        if (d->sin_family == AF_INET && d->sin_port == sa.sin_port && d->sin_addr.s_addr == sa.sin_addr.s_addr)
            return 1;
    }
    return 0;
}

#endif
