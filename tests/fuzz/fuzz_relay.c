/* libFuzzer target: the relay core fed an arbitrary script of events. The input is read as
 * operations on up to 8 fake connections: connect, raw bytes, well-formed CREATE/JOIN/ANNOUNCE
 * (so the fuzzer reaches meetings without guessing ids), disconnect, backlog, clock ticks,
 * raw datagrams and media from registered endpoints. The first byte picks the configuration,
 * attack modes included. Oracles: no crash, no leak (the relay is freed per input), and every
 * frame the relay sends must decode. No main(): `make fuzz` links libFuzzer's. */
#include <netinet/in.h>
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/binding.h"
#include "crypto/bytes.h"
#include "crypto/sframe.h"
#include "net/media.h"
#include "net/relay_core.h"
#include "net/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NC 8

typedef struct {
    int up, close_req;
    uint32_t index;
    uint8_t token[16], uuid[16];
    char mid[HC_MEETING_ID_MAX + 1];
    uint16_t port;
} fconn;

static fconn fc[NC];
static char last_mid[HC_MEETING_ID_MAX + 1];
static uint8_t isk[64], ivk[32];

static void io_send(void *ctx, uint64_t id, const uint8_t *f, size_t len) {
    (void)ctx;
    if (id >= NC || len < 4 || hc_get_u32(f) != len - 4) abort();
    hc_msg m;
    if (hc_msg_decode(&m, f + 4, len - 4, NULL) < 0) abort();      /* the relay sent garbage */
    if (m.type == HC_MSG_JOINED) {
        fc[id].index = m.index;
        memcpy(fc[id].token, m.token, 16);
        memcpy(fc[id].uuid, m.uuid, 16);
        memcpy(fc[id].mid, m.meeting_id, sizeof fc[id].mid);
        memcpy(last_mid, m.meeting_id, sizeof last_mid);
    }
}

static void io_close(void *ctx, uint64_t id) {
    (void)ctx;
    if (id < NC) fc[id].close_req = 1;
}

static void addr(struct sockaddr_in *sa, uint8_t host, uint16_t port) {
    memset(sa, 0, sizeof *sa);
    sa->sin_family = AF_INET;
    sa->sin_port = htons(port);
    sa->sin_addr.s_addr = htonl(0x7F000000u | host);
}

static void pump(hc_relay *r, uint64_t now) {
    for (int i = 0; i < NC; i++)
        if (fc[i].up && fc[i].close_req) {
            fc[i].up = 0;
            hc_relay_on_disconnect(r, (uint64_t)i, now);
        }
}

static void send_msg(hc_relay *r, uint64_t id, const hc_msg *m, uint64_t now) {
    static uint8_t buf[4096];
    size_t n = hc_msg_encode(m, buf, sizeof buf);
    if (n) hc_relay_on_bytes(r, id, buf, n, now);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static int init;
    if (!init) {
        if (sodium_init() < 0) abort();
        crypto_sign_keypair(ivk, isk);
        init = 1;
    }
    if (size < 1) return 0;
    memset(fc, 0, sizeof fc);
    last_mid[0] = 0;
    hc_relay_config cfg;
    hc_relay_config_defaults(&cfg);
    cfg.attack = (hc_attack)(data[0] % HC_ATTACK_COUNT);
    cfg.forward_loudest = (data[0] >> 4) % 4;
    cfg.max_frame = data[0] & 0x80 ? 512 : HC_FRAME_MAX_DEFAULT;
    cfg.max_members = 6;
    cfg.max_meetings = 3;
    cfg.max_conns_per_addr = 5;
    cfg.idle_timeout_ms = 5000;
    cfg.attack_hold_ms = 300;
    hc_relay_io io = {NULL, io_send, io_close, NULL};
    hc_relay *r = hc_relay_new(&cfg, &io);
    if (!r) return 0;
    uint64_t now = 1000;
    size_t p = 1;
#define NEXT() (p < size ? data[p++] : 0)
    while (p < size) {
        uint8_t op = NEXT(), arg = NEXT();
        uint64_t id = arg % NC;
        fconn *c = &fc[id];
        switch (op % 12) {
        case 0: {   /* connect */
            if (c->up) break;
            struct sockaddr_in sa;
            addr(&sa, (uint8_t)(1 + (arg >> 3) % 3), (uint16_t)(1000 + id));
            memset(c, 0, sizeof *c);
            c->up = 1;
            hc_relay_on_connect(r, id, (struct sockaddr *)&sa, now);
            break;
        }
        case 1: {   /* raw bytes */
            size_t n = NEXT();
            if (n > size - p) n = size - p;
            if (c->up) hc_relay_on_bytes(r, id, data + p, n, now);
            p += n;
            break;
        }
        case 2:     /* disconnect */
            if (c->up) { c->up = 0; hc_relay_on_disconnect(r, id, now); }
            break;
        case 3:     /* backlog */
            if (c->up) hc_relay_on_backlog(r, id, now);
            break;
        case 4:     /* time passes */
            now += (uint64_t)NEXT() * 20;
            hc_relay_tick(r, now);
            break;
        case 5: {   /* CREATE or JOIN the last meeting */
            if (!c->up) break;
            hc_msg m;
            hc_msg_init(&m, (arg & 0x80) || !last_mid[0] ? HC_MSG_CREATE : HC_MSG_JOIN);
            memcpy(m.meeting_id, last_mid, sizeof last_mid);
            m.name[0] = (char)('a' + id);
            m.flag = arg & 0x40 ? 1 : 0;
            memcpy(m.ivk, ivk, 32);
            send_msg(r, id, &m, now);
            break;
        }
        case 6: {   /* a well-formed ANNOUNCE for this member */
            if (!c->up || !c->index) break;
            hc_binding b;
            memset(&b, 0, sizeof b);
            memcpy(b.meeting_id, c->mid, sizeof b.meeting_id);
            memcpy(b.uuid, c->uuid, 16);
            b.index = arg & 0x80 ? c->index + 1 : c->index;
            memcpy(b.ivk, ivk, 32);
            memset(b.pk, arg, 32);
            b.name[0] = 'x';
            memset(b.nonce, NEXT(), sizeof b.nonce);
            uint8_t enc[HC_BINDING_MAX];
            size_t el = hc_binding_encode(&b, enc, sizeof enc);
            if (!el) break;
            hc_msg m;
            hc_msg_init(&m, HC_MSG_ANNOUNCE);
            m.data = enc;
            m.data_len = el;
            hc_binding_sign(m.sig, enc, el, isk);
            send_msg(r, id, &m, now);
            break;
        }
        case 7: {   /* other well-formed control messages with fuzzed fields */
            if (!c->up) break;
            static const uint8_t types[] = {HC_MSG_KEYBOX, HC_MSG_KEYACK, HC_MSG_ROSTER, HC_MSG_HEARTBEAT,
                                            HC_MSG_LEAVE, HC_MSG_KICK, HC_MSG_LOCK, HC_MSG_CHAT,
                                            HC_MSG_PING, HC_MSG_DENY, HC_MSG_END};
            hc_msg m;
            hc_msg_init(&m, types[arg % sizeof types]);
            uint8_t blob[HC_BOX_LEN + 40];
            memset(blob, NEXT(), sizeof blob);
            m.index = NEXT() % 8;
            m.flag = NEXT() & 1;
            m.data = blob;
            m.data_len = 1 + NEXT() % 40;
            m.data2 = blob;
            m.data2_len = HC_BOX_LEN;
            m.hb.t = arg;
            send_msg(r, id, &m, now);
            break;
        }
        case 8: {   /* REGISTER / KEEPALIVE with this member's token */
            if (!c->index) break;
            uint8_t pkt[17];
            hc_media_control(pkt, arg & 1 ? HC_MEDIA_KEEPALIVE : HC_MEDIA_REGISTER, c->token);
            struct sockaddr_in sa;
            c->port = (uint16_t)(2000 + id + (arg & 0x10 ? 0 : 100));
            addr(&sa, (uint8_t)(1 + id % 2), c->port);
            hc_media_route rt;
            hc_relay_on_media(r, (struct sockaddr *)&sa, sizeof sa, pkt, sizeof pkt, now, &rt);
            break;
        }
        case 9: {   /* media from this member's endpoint */
            if (!c->index) break;
            uint8_t pkt[HC_MEDIA_MAX];
            pkt[0] = hc_media_byte0(arg & 0x20 ? HC_MEDIA_VIDEO : HC_MEDIA_AUDIO);
            pkt[1] = NEXT();
            uint32_t idx = arg & 0x40 ? c->index + 1 : c->index;
            size_t h = hc_sframe_header_encode(pkt + 2, hc_kid_make(1, idx, 1), NEXT());
            size_t len = 2 + h + 16 + NEXT();
            memset(pkt + 2 + h, 0x42, len - 2 - h);
            struct sockaddr_in sa;
            addr(&sa, (uint8_t)(1 + id % 2), c->port ? c->port : 9);
            hc_media_route rt;
            size_t nd = hc_relay_on_media(r, (struct sockaddr *)&sa, sizeof sa, pkt, len, now, &rt);
            if (nd != rt.n_dests) abort();
            for (size_t i = 0; i < nd; i++)
                if (!rt.dests[i] || rt.dests[i]->ss_family != AF_INET) abort();
            if (rt.extra && (rt.extra_len == 0 || rt.extra_len > HC_MEDIA_MAX)) abort();
            now += 20;
            break;
        }
        case 10: {  /* a raw datagram */
            size_t n = NEXT() * 6u;
            if (n > size - p) n = size - p;
            uint8_t pkt[2048];
            memcpy(pkt, data + p, n);
            p += n;
            struct sockaddr_in sa;
            addr(&sa, (uint8_t)(1 + arg % 2), (uint16_t)(2000 + arg % 16));
            hc_media_route rt;
            hc_relay_on_media(r, (struct sockaddr *)&sa, sizeof sa, pkt, n, now, &rt);
            if (rt.reply && rt.reply_len != 17) abort();
            break;
        }
        case 11:    /* a closed connection is delivered back later, as the I/O layer does */
            pump(r, now);
            break;
        }
        if (op & 0x80) pump(r, now);
    }
    hc_relay_shutdown(r);
    pump(r, now);
    const hc_relay_stats *st = hc_relay_get_stats(r);
    if (st->connections > NC || st->members > st->connections) abort();
    for (int i = 0; i < NC; i++)
        if (fc[i].up) hc_relay_on_disconnect(r, (uint64_t)i, now);
    if (st->connections || st->members || st->meetings) abort();
    hc_relay_free(r);
    return 0;
}
