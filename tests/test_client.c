/* The client transport against the real relay server (net/relay.c) on 127.0.0.1, both on one
 * libuv loop: connect, create/join, media registration and exchange, reconnect after a relay
 * restart, connect timeout; and the server's own I/O: backlog disconnects, impairment. */
#include "tests/testutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <netinet/in.h>
#include <sodium.h>
#include <sys/socket.h>
#include <unistd.h>

#include "crypto/sframe.h"
#include "net/client.h"
#include "net/media.h"
#include "net/relay.h"
#include "net/wire.h"

static uv_loop_t loop;
static uv_timer_t pulse;

static void on_pulse(uv_timer_t *t) { (void)t; }

/* Runs the loop until cond() holds or ms pass (a deadline: stretched on a busy machine); returns
 * cond(). A 5 ms pulse keeps it waking. */
static int run_until(int (*cond)(void *), void *arg, uint64_t ms) {
    uv_update_time(&loop);
    uint64_t end = uv_now(&loop) + (uint64_t)((double)ms * hc_test_slow());
    while (!cond(arg) && uv_now(&loop) < end) uv_run(&loop, UV_RUN_ONCE);
    return cond(arg);
}

/* Runs the loop for ms of loop time (not stretched: what must not have happened yet in ms). */
static void run_for(uint64_t ms) {
    uv_update_time(&loop);
    uint64_t end = uv_now(&loop) + ms;
    while (uv_now(&loop) < end) uv_run(&loop, UV_RUN_ONCE);
}

static int setup(void **state) {
    (void)state;
    assert_int_equal(uv_loop_init(&loop), 0);
    uv_timer_init(&loop, &pulse);
    uv_timer_start(&pulse, on_pulse, 5, 5);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    uv_close((uv_handle_t *)&pulse, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
    return 0;
}

/* ---- a relay on the loop ---- */

typedef struct {
    hc_relay_server *srv;
    int stopped;
} relay_box;

static void relay_start(relay_box *rb, uint16_t port, const hc_relay_server_config *base) {
    hc_relay_server_config cfg;
    if (base) cfg = *base; else hc_relay_server_config_defaults(&cfg);
    cfg.port = port;
    char err[200];
    memset(rb, 0, sizeof *rb);
    int rc = -1;
    for (int i = 0; i < 50 && rc < 0; i++) {     /* a just-closed port may take a moment */
        rc = hc_relay_server_start(&rb->srv, &loop, &cfg, err, sizeof err);
        if (rc < 0) run_for(20);
    }
    if (rc < 0) fail_msg("relay start: %s", err);
}

static void on_relay_stopped(void *arg) { ((relay_box *)arg)->stopped = 1; }
static int relay_is_stopped(void *arg) { return ((relay_box *)arg)->stopped; }

static void relay_stop(relay_box *rb) {
    hc_relay_server_stop(rb->srv, on_relay_stopped, rb);
    assert_true(run_until(relay_is_stopped, rb, 3000));
}

/* ---- a participant ---- */

typedef struct {
    hc_client *c;
    const char *name;
    int connected, disconnects, retries, final_fail, media_ready, closed;
    char last_why[400];
    char meeting_id[HC_MEETING_ID_MAX + 1];
    uint32_t index;
    uint8_t token[16];
    int joined, errors;
    uint16_t last_error;
    int media_rx, pongs;
    uint64_t pong_order_ok, last_pong;
    uint32_t media_from[8];
    uint64_t t_last_media;
} part;

static void p_connected(void *ctx) { ((part *)ctx)->connected++; }

static void p_frame(void *ctx, const uint8_t *body, size_t len) {
    part *p = ctx;
    hc_msg m;
    assert_int_equal(hc_msg_decode(&m, body, len, NULL), 0);
    switch (m.type) {
    case HC_MSG_JOINED:
        p->joined = 1;
        p->index = m.index;
        memcpy(p->meeting_id, m.meeting_id, sizeof p->meeting_id);
        memcpy(p->token, m.token, 16);
        hc_client_register_media(p->c, m.token);
        break;
    case HC_MSG_ERROR:
        p->errors++;
        p->last_error = m.code;
        break;
    case HC_MSG_PONG:
        if (m.opaque == p->last_pong + 1) p->pong_order_ok++;
        p->last_pong = m.opaque;
        p->pongs++;
        break;
    default:
        break;
    }
}

static void p_disconnected(void *ctx, const char *why, int will_retry) {
    part *p = ctx;
    p->disconnects++;
    if (will_retry) p->retries++; else p->final_fail++;
    snprintf(p->last_why, sizeof p->last_why, "%s", why);
}

static void p_media(void *ctx, const uint8_t *pkt, size_t len) {
    part *p = ctx;
    hc_media_info mi;
    assert_int_equal(hc_media_parse(&mi, pkt, len), 0);
    uint32_t from = (uint32_t)((mi.kid >> 8) & 0xFFFF);
    if (from < 8) p->media_from[from]++;
    p->media_rx++;
    p->t_last_media = uv_now(&loop);
}

static void p_media_ready(void *ctx) { ((part *)ctx)->media_ready++; }

static void part_new(part *p, const char *name, uint16_t port, uint64_t timeout_ms) {
    memset(p, 0, sizeof *p);
    p->name = name;
    hc_client_config cfg = {"127.0.0.1", port, 0, timeout_ms};
    hc_client_callbacks cb = {p, p_connected, p_frame, p_disconnected, p_media, p_media_ready};
    char err[100];
    assert_int_equal(hc_client_new(&p->c, &loop, &cfg, &cb, err, sizeof err), 0);
}

static void p_closed(void *arg) { ((part *)arg)->closed = 1; }
static int part_is_closed(void *arg) { return ((part *)arg)->closed; }

static void part_close(part *p) {
    hc_client_close(p->c, p_closed, p);
    assert_true(run_until(part_is_closed, p, 3000));
}

static void send_msg(part *p, const hc_msg *m) {
    uint8_t buf[1024];
    size_t n = hc_msg_encode(m, buf, sizeof buf);
    assert_true(n > 0);
    assert_int_equal(hc_client_send(p->c, buf, n), 0);
}

static void create_or_join(part *p, const char *meeting_id) {
    hc_msg m;
    hc_msg_init(&m, meeting_id ? HC_MSG_JOIN : HC_MSG_CREATE);
    if (meeting_id) memcpy(m.meeting_id, meeting_id, strlen(meeting_id) + 1);
    snprintf(m.name, sizeof m.name, "%s", p->name);
    send_msg(p, &m);
}

static size_t media_pkt(uint8_t *out, uint32_t index, uint64_t ctr) {
    out[0] = hc_media_byte0(HC_MEDIA_AUDIO);
    out[1] = 0x90;
    size_t h = hc_sframe_header_encode(out + 2, hc_kid_make(HC_STREAM_AUDIO, index, 1), ctr);
    memset(out + 2 + h, 0xCD, 60);
    return 2 + h + 60;
}

static int is_connected(void *a) { return ((part *)a)->connected > 0; }
static int is_joined(void *a) { return ((part *)a)->joined; }
static int is_ready(void *a) { return ((part *)a)->media_ready > 0; }

/* a creates a meeting and b joins it, both connected and with their media endpoints confirmed. */
static void join_pair(part *a, part *b) {
    hc_client_start(a->c);
    assert_true(run_until(is_connected, a, 2000));
    create_or_join(a, NULL);
    assert_true(run_until(is_joined, a, 2000));
    hc_client_start(b->c);
    assert_true(run_until(is_connected, b, 2000));
    create_or_join(b, a->meeting_id);
    assert_true(run_until(is_joined, b, 2000));
    assert_true(run_until(is_ready, a, 2000));
    assert_true(run_until(is_ready, b, 2000));
}
static int has_final_fail(void *a) { return ((part *)a)->final_fail > 0; }
typedef struct { part *p; int n; } want_media;
static int got_media(void *a) { want_media *w = a; return w->p->media_rx >= w->n; }
typedef struct { relay_box *rb; uint64_t n; } relay_members_are;
static int members_are(void *a) {
    relay_members_are *m = a;
    return hc_relay_get_stats(hc_relay_server_core(m->rb->srv))->members == m->n;
}
/* Every packet the impairment let through (and every duplicate) has arrived. */
typedef struct { part *p; const hc_relay_io_stats *io; int sent; } all_forwarded;
static int all_delivered(void *a) {
    all_forwarded *f = a;
    return (uint64_t)f->p->media_rx >= (uint64_t)f->sent - f->io->impair_dropped + f->io->impair_duplicated;
}

/* Connect, create, join, register, and media both ways; never back to the sender. */
static void test_meeting_roundtrip(void **state) {
    (void)state;
    relay_box rb;
    relay_start(&rb, 0, NULL);
    uint16_t port = hc_relay_server_port(rb.srv);
    part a, b;
    part_new(&a, "alice", port, 5000);
    part_new(&b, "bob", port, 5000);
    join_pair(&a, &b);
    assert_int_equal(a.index, 1);
    assert_int_equal(b.index, 2);
    assert_int_equal(a.media_ready, 1);
    uint8_t pkt[128];
    for (uint64_t i = 0; i < 20; i++) {
        size_t n = media_pkt(pkt, a.index, i);
        assert_int_equal(hc_client_send_media(a.c, pkt, n), 0);
        n = media_pkt(pkt, b.index, i);
        assert_int_equal(hc_client_send_media(b.c, pkt, n), 0);
    }
    want_media wb = {&b, 20}, wa = {&a, 20};
    assert_true(run_until(got_media, &wb, 2000));
    assert_true(run_until(got_media, &wa, 2000));
    run_for(50);
    assert_int_equal(b.media_from[1], 20);
    assert_int_equal(b.media_from[2], 0);   /* nothing of its own came back */
    assert_int_equal(a.media_from[2], 20);
    assert_int_equal(a.media_from[1], 0);
    const hc_relay_io_stats *io = hc_relay_server_io_stats(rb.srv);
    assert_true(io->udp_tx >= 40);
    assert_true(hc_relay_get_stats(hc_relay_server_core(rb.srv))->media_register >= 2);
    /* a closed client flushes: its LEAVE reaches the relay */
    hc_msg m;
    hc_msg_init(&m, HC_MSG_LEAVE);
    send_msg(&b, &m);
    part_close(&b);
    relay_members_are rm = {&rb, 1};
    run_until(members_are, &rm, 1000);
    assert_int_equal(hc_relay_get_stats(hc_relay_server_core(rb.srv))->members, 1);
    part_close(&a);
    relay_stop(&rb);
}

/* The relay goes away and comes back on the same port: the client reconnects and works again. */
static void test_reconnect_after_restart(void **state) {
    (void)state;
    relay_box rb;
    relay_start(&rb, 0, NULL);
    uint16_t port = hc_relay_server_port(rb.srv);
    part a;
    part_new(&a, "alice", port, 5000);
    hc_client_start(a.c);
    assert_true(run_until(is_connected, &a, 2000));
    create_or_join(&a, NULL);
    assert_true(run_until(is_joined, &a, 2000));
    relay_stop(&rb);
    assert_true(run_until(has_final_fail, &a, 2000));        /* told, and no retry by itself */
    assert_int_equal(a.last_error, HC_ERR_SHUTDOWN);         /* ERROR(shutdown) arrived first */
    assert_non_null(strstr(a.last_why, "lost"));
    assert_int_equal(hc_client_send(a.c, (const uint8_t *)"x", 1), -1);
    /* reconnect while nothing listens: it retries with backoff until the relay is back */
    a.joined = 0;
    int before = a.connected;
    hc_client_reconnect(a.c);
    run_for(450);
    assert_true(a.retries >= 2);
    assert_int_equal(a.connected, before);
    relay_start(&rb, port, NULL);
    for (int i = 0; i < 300 && a.connected == before; i++) run_for(10);
    assert_int_equal(a.connected, before + 1);
    create_or_join(&a, NULL);
    assert_true(run_until(is_joined, &a, 2000));
    a.media_ready = 0;
    assert_true(run_until(is_ready, &a, 2000));
    part_close(&a);
    relay_stop(&rb);
}

/* A port on 127.0.0.1 where nothing listens. */
static uint16_t dead_port(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    socklen_t sl = sizeof sa;
    getsockname(fd, (struct sockaddr *)&sa, &sl);
    close(fd);
    return ntohs(sa.sin_port);
}

/* Nothing listens: a clear error once connect_timeout_ms has passed, after retries. */
static void test_connect_timeout(void **state) {
    (void)state;
    uint16_t dead = dead_port();
    part a;
    part_new(&a, "alice", dead, 700);
    uv_update_time(&loop);
    uint64_t t0 = uv_now(&loop);
    hc_client_start(a.c);
    assert_true(run_until(has_final_fail, &a, 3000));
    uint64_t dt = uv_now(&loop) - t0;
    assert_true(dt >= 300 && (double)dt < 2000 * hc_test_slow());
    assert_true(a.retries >= 1);
    assert_int_equal(a.connected, 0);
    assert_non_null(strstr(a.last_why, "could not connect"));
    part_close(&a);
}

/* A client that never reads: the relay drops it once its control backlog passes the limit,
 * and the meeting next to it carries on. */
static void test_server_backlog(void **state) {
    (void)state;
    hc_relay_server_config cfg;
    hc_relay_server_config_defaults(&cfg);
    cfg.sendq_max = 8192;
    cfg.core.join_timeout_ms = 0;   /* the flooder never joins: only its backlog may end it here */
    relay_box rb;
    relay_start(&rb, 0, &cfg);
    uint16_t port = hc_relay_server_port(rb.srv);
    part a;
    part_new(&a, "alice", port, 5000);
    hc_client_start(a.c);
    assert_true(run_until(is_connected, &a, 2000));
    create_or_join(&a, NULL);
    assert_true(run_until(is_joined, &a, 2000));

    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int small = 4096;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    fcntl(fd, F_SETFL, O_NONBLOCK);
    static uint8_t pings[14 * 4096];
    for (int i = 0; i < 4096; i++) {
        hc_msg m;
        hc_msg_init(&m, HC_MSG_PING);
        m.opaque = (uint64_t)i;
        hc_msg_encode(&m, pings + 14 * i, 14);
    }
    const hc_relay_io_stats *io = hc_relay_server_io_stats(rb.srv);
    uv_update_time(&loop);
    uint64_t end = uv_now(&loop) + (uint64_t)(8000 * hc_test_slow());
    size_t sent = 0;
    int dead = 0;
    while (!io->backlog_disconnects && uv_now(&loop) < end) {
        ssize_t w = send(fd, pings, sizeof pings, MSG_NOSIGNAL);
        if (w > 0) sent += (size_t)w;
        else if (w < 0 && errno != EAGAIN) { dead = 1; break; }
        uv_run(&loop, UV_RUN_NOWAIT);
    }
    print_message("sent %zu bytes of PING before the relay gave up (dead=%d)\n", sent, dead);
    assert_int_equal(io->backlog_disconnects, 1);
    assert_int_equal(hc_relay_get_stats(hc_relay_server_core(rb.srv))->ctrl_disconnects_backlog, 1);
    run_for(100);
    close(fd);
    /* the live client is unaffected */
    a.pongs = 0;
    hc_msg m;
    hc_msg_init(&m, HC_MSG_PING);
    send_msg(&a, &m);
    for (int i = 0; i < 100 && !a.pongs; i++) run_for(10);
    assert_int_equal(a.pongs, 1);
    assert_int_equal(a.final_fail, 0);
    part_close(&a);
    relay_stop(&rb);
}

/* Impairment on forwarded media: loss, duplicates and delay really happen, by the numbers. */
static void test_server_impairment(void **state) {
    (void)state;
    hc_relay_server_config cfg;
    hc_relay_server_config_defaults(&cfg);
    char err[100];
    assert_int_equal(hc_impair_parse("loss=30,dup=10,delay=40,jitter=10,seed=5,control=1", &cfg.impair, err, sizeof err), 0);
    relay_box rb;
    relay_start(&rb, 0, &cfg);
    uint16_t port = hc_relay_server_port(rb.srv);
    part a, b;
    part_new(&a, "alice", port, 5000);
    part_new(&b, "bob", port, 5000);
    join_pair(&a, &b);
    /* control frames are delayed (40 +- 10 ms) but never lost or reordered */
    uv_update_time(&loop);
    uint64_t t0 = uv_now(&loop);
    a.pongs = 0;
    a.last_pong = 0;
    a.pong_order_ok = 0;
    for (uint64_t i = 1; i <= 30; i++) {
        hc_msg m;
        hc_msg_init(&m, HC_MSG_PING);
        m.opaque = i;
        send_msg(&a, &m);
    }
    for (int i = 0; i < 300 && a.pongs < 30; i++) run_for(5);
    assert_int_equal(a.pongs, 30);
    assert_int_equal(a.pong_order_ok, 30);
    assert_true(uv_now(&loop) - t0 >= 25);
    /* media: 400 packets from a to b */
    uint8_t pkt[128];
    uv_update_time(&loop);
    uint64_t t_send = uv_now(&loop);
    for (uint64_t i = 0; i < 400; i++) {
        size_t n = media_pkt(pkt, a.index, i);
        hc_client_send_media(a.c, pkt, n);
        if (i % 50 == 49) run_for(2);
    }
    const hc_relay_io_stats *io = hc_relay_server_io_stats(rb.srv);
    all_forwarded af = {&b, io, 400};
    run_until(all_delivered, &af, 1000);   /* the delayed ones too (40 +- 10 ms) */
    print_message("received %d of 400; dropped %llu, duplicated %llu, delayed %llu\n", b.media_rx,
                  (unsigned long long)io->impair_dropped, (unsigned long long)io->impair_duplicated,
                  (unsigned long long)io->impair_delayed);
    assert_true(io->impair_dropped > 80 && io->impair_dropped < 160);      /* 30 % of 400 = 120 */
    assert_true(io->impair_duplicated > 10 && io->impair_duplicated < 60);  /* 10 % of ~280 */
    assert_int_equal((uint64_t)b.media_rx, 400 - io->impair_dropped + io->impair_duplicated);
    assert_true(b.t_last_media - t_send >= 30);
    part_close(&a);
    part_close(&b);
    relay_stop(&rb);
}

/* The delay pool is bounded: when it is full, copies are dropped and counted, never queued. */
static void test_impair_pool_full(void **state) {
    (void)state;
    hc_relay_server_config cfg;
    hc_relay_server_config_defaults(&cfg);
    char err[100];
    assert_int_equal(hc_impair_parse("delay=300,seed=1", &cfg.impair, err, sizeof err), 0);
    cfg.delay_pool = 8;
    relay_box rb;
    relay_start(&rb, 0, &cfg);
    uint16_t port = hc_relay_server_port(rb.srv);
    part a, b;
    part_new(&a, "alice", port, 5000);
    part_new(&b, "bob", port, 5000);
    join_pair(&a, &b);
    uint8_t pkt[128];
    uv_update_time(&loop);
    uint64_t t_sent = uv_now(&loop);
    for (uint64_t i = 0; i < 50; i++) {
        size_t n = media_pkt(pkt, a.index, i);
        hc_client_send_media(a.c, pkt, n);
    }
    run_for(100);
    /* all held for 300 ms: nothing has arrived, unless this process stalled past that (then the
     * statement cannot be checked here, and the counts below still are) */
    uv_update_time(&loop);
    if (uv_now(&loop) - t_sent < 290) assert_int_equal(b.media_rx, 0);
    want_media w8 = {&b, 8};
    run_until(got_media, &w8, 1000);      /* the 8 held copies, after 300 ms */
    run_for(20);                          /* and nothing more */
    const hc_relay_io_stats *io = hc_relay_server_io_stats(rb.srv);
    assert_int_equal(io->impair_delayed, 8);
    assert_int_equal(io->impair_queue_full, 42);
    assert_int_equal(b.media_rx, 8);
    part_close(&a);
    part_close(&b);
    relay_stop(&rb);
}

/* The media attacks through the real server: replay-media sends extra copies (route->extra),
 * tamper-media changes bytes in flight. */
static int media_diff;
static uint8_t media_ref[128];
static size_t media_ref_len;

static void count_tampered(void *ctx, const uint8_t *pkt, size_t len) {
    p_media(ctx, pkt, len);
    /* every packet we send has the same payload after the header: compare the tail */
    if (len == media_ref_len && memcmp(pkt + len - 40, media_ref + len - 40, 40)) media_diff++;
}

static void test_server_media_attacks(void **state) {
    (void)state;
    for (int mode = 0; mode < 2; mode++) {
        hc_relay_server_config cfg;
        hc_relay_server_config_defaults(&cfg);
        cfg.core.attack = mode ? HC_ATTACK_TAMPER_MEDIA : HC_ATTACK_REPLAY_MEDIA;
        relay_box rb;
        relay_start(&rb, 0, &cfg);
        uint16_t port = hc_relay_server_port(rb.srv);
        part a, b;
        part_new(&a, "alice", port, 5000);
        memset(&b, 0, sizeof b);
        b.name = "bob";
        hc_client_config ccfg = {"127.0.0.1", port, 0, 5000};
        hc_client_callbacks cb = {&b, p_connected, p_frame, p_disconnected, count_tampered, p_media_ready};
        char err[100];
        assert_int_equal(hc_client_new(&b.c, &loop, &ccfg, &cb, err, sizeof err), 0);
        join_pair(&a, &b);
        media_diff = 0;
        uint8_t pkt[128];
        for (uint64_t i = 0; i < 40; i++) {
            size_t n = media_pkt(pkt, a.index, 100 + i);   /* same header length for all */
            memcpy(media_ref, pkt, n);
            media_ref_len = n;
            hc_client_send_media(a.c, pkt, n);
            run_for(2);
        }
        want_media w = {&b, mode == 0 ? 41 : 40};   /* replay: the extra copies too */
        run_until(got_media, &w, 1000);
        run_for(20);
        if (mode == 0) {
            print_message("replay-media: %d received for 40 sent\n", b.media_rx);
            assert_true(b.media_rx > 40);               /* the extra copies arrived */
        } else {
            print_message("tamper-media: %d of %d received were changed\n", media_diff, b.media_rx);
            assert_int_equal(b.media_rx, 40);
            assert_true(media_diff >= 5);
        }
        part_close(&a);
        part_close(&b);
        relay_stop(&rb);
    }
}

/* A TCP server in this process that is not a relay: "silent" accepts and says nothing, "http"
 * answers as a web server would. The client must give up with the protocol message. */
typedef struct {
    uv_tcp_t srv, conn;
    int http, accepted;
} fake_srv;

static void fake_written(uv_write_t *w, int status) { (void)status; free(w); }

static void fake_accept(uv_stream_t *srv, int status) {
    fake_srv *f = srv->data;
    if (status < 0 || f->accepted) return;
    uv_tcp_init(&loop, &f->conn);
    if (uv_accept(srv, (uv_stream_t *)&f->conn) < 0) return;
    f->accepted = 1;
    if (f->http) {
        static char resp[] = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
        uv_buf_t b = uv_buf_init(resp, sizeof resp - 1);
        uv_write_t *w = malloc(sizeof *w);
        uv_write(w, (uv_stream_t *)&f->conn, &b, 1, fake_written);
    }
}

static void not_a_relay(int http) {
    fake_srv f;
    memset(&f, 0, sizeof f);
    f.http = http;
    struct sockaddr_in a;
    uv_ip4_addr("127.0.0.1", 0, &a);
    uv_tcp_init(&loop, &f.srv);
    f.srv.data = &f;
    assert_int_equal(uv_tcp_bind(&f.srv, (const struct sockaddr *)&a, 0), 0);
    assert_int_equal(uv_listen((uv_stream_t *)&f.srv, 4, fake_accept), 0);
    struct sockaddr_in got;
    int gl = sizeof got;
    uv_tcp_getsockname(&f.srv, (struct sockaddr *)&got, &gl);
    part p;
    memset(&p, 0, sizeof p);
    hc_client_config cfg = {.host = "127.0.0.1", .port = ntohs(got.sin_port), .connect_timeout_ms = 3000,
                            .handshake_timeout_ms = 300};
    hc_client_callbacks cb = {&p, p_connected, p_frame, p_disconnected, p_media, p_media_ready};
    char err[100];
    assert_int_equal(hc_client_new(&p.c, &loop, &cfg, &cb, err, sizeof err), 0);
    hc_client_start(p.c);
    assert_true(run_until(has_final_fail, &p, 5000));     /* never hangs */
    assert_int_equal(p.connected, 1);
    if (!strstr(p.last_why, "that port does not speak the hushcall protocol")) fail_msg("why: %s", p.last_why);
    if (!http && !strstr(p.last_why, "did not answer within")) fail_msg("why: %s", p.last_why);
    if (http && !strstr(p.last_why, "is not a hushcall relay")) fail_msg("why: %s", p.last_why);
    part_close(&p);
    if (f.accepted) uv_close((uv_handle_t *)&f.conn, NULL);
    uv_close((uv_handle_t *)&f.srv, NULL);
    run_for(50);
}

/* A list of relays (nodes of one cluster): the first, where nothing listens, is left at once for
 * the second (no backoff); after the second is lost, a reconnect goes to the next one, the third;
 * hc_client_current says which. */
static void test_relay_list(void **state) {
    (void)state;
    uint16_t dead = dead_port();
    relay_box r2, r3;
    relay_start(&r2, 0, NULL);
    relay_start(&r3, 0, NULL);
    hc_relay_list list;
    char spec[100];
    /* (Addresses, not names: a machine without /etc/hosts asks DNS for "localhost".) */
    snprintf(spec, sizeof spec, "127.0.0.1:%u,127.0.0.1:%u,127.0.0.1:%u", dead,
             hc_relay_server_port(r2.srv), hc_relay_server_port(r3.srv));
    assert_int_equal(hc_parse_relay_list(spec, &list), 0);
    assert_int_equal(list.n, 3);
    part a;
    memset(&a, 0, sizeof a);
    a.name = "alice";
    hc_client_config cfg = {.connect_timeout_ms = 5000, .relays = &list};
    hc_client_callbacks cb = {&a, p_connected, p_frame, p_disconnected, p_media, p_media_ready};
    char err[100];
    assert_int_equal(hc_client_new(&a.c, &loop, &cfg, &cb, err, sizeof err), 0);
    uv_update_time(&loop);
    uint64_t t0 = uv_now(&loop);
    hc_client_start(a.c);
    assert_true(run_until(is_connected, &a, 2000));
    assert_true((double)(uv_now(&loop) - t0) < 150 * hc_test_slow());   /* no 200 ms backoff first */
    const char *host;
    uint16_t port;
    hc_client_current(a.c, &host, &port);
    assert_int_equal(port, hc_relay_server_port(r2.srv));
    create_or_join(&a, NULL);
    assert_true(run_until(is_joined, &a, 2000));
    assert_true(run_until(is_ready, &a, 2000));
    /* the relay it is on goes: the next connection is to the one after it */
    relay_stop(&r2);
    assert_true(run_until(has_final_fail, &a, 2000));
    int before = a.connected;
    a.joined = 0;
    hc_client_reconnect(a.c);
    for (int i = 0; i < 200 && a.connected == before; i++) run_for(10);
    assert_int_equal(a.connected, before + 1);
    hc_client_current(a.c, &host, &port);
    assert_int_equal(port, hc_relay_server_port(r3.srv));
    assert_string_equal(host, "127.0.0.1");
    create_or_join(&a, NULL);
    assert_true(run_until(is_joined, &a, 2000));
    a.media_ready = 0;
    assert_true(run_until(is_ready, &a, 2000));   /* media goes to the new relay too */
    part_close(&a);
    relay_stop(&r3);
    /* malformed lists */
    assert_int_equal(hc_parse_relay_list("a:1,,b:2", &list), -1);
    assert_int_equal(hc_parse_relay_list("a:1,b:0", &list), -1);
    assert_int_equal(hc_parse_relay_list("a:1,b", &list), -1);
    assert_int_equal(hc_parse_relay_list("a:1,b:2,c:3,d:4,e:5,f:6,g:7,h:8,i:9", &list), -1);
    assert_int_equal(hc_parse_relay_list("[::1]:7400,h:1", &list), 0);
    assert_string_equal(list.host[0], "::1");
}

static void test_silent_server(void **state) { (void)state; not_a_relay(0); }
static void test_http_server(void **state) { (void)state; not_a_relay(1); }

int main(void) {
    if (sodium_init() < 0) return 1;
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_meeting_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reconnect_after_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connect_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_relay_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_silent_server, setup, teardown),
        cmocka_unit_test_setup_teardown(test_http_server, setup, teardown),
        cmocka_unit_test_setup_teardown(test_server_backlog, setup, teardown),
        cmocka_unit_test_setup_teardown(test_server_impairment, setup, teardown),
        cmocka_unit_test_setup_teardown(test_impair_pool_full, setup, teardown),
        cmocka_unit_test_setup_teardown(test_server_media_attacks, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
