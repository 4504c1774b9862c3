/* Relay nodes that form a cluster (net/cluster_core.c), in process: three or more nodes with their
 * relay cores over a fake bus, a fake lease bucket and fake UDP, participants that are real
 * meeting state machines (tests/cluster_sim.h), one fake clock. Each test states the property it
 * checks; assertions are on values. */
#include "tests/testutil.h"

#include <sodium.h>

#include "net/cluster_wire.h"
/* sim.h and cluster_sim.h are headers of static helpers; this file uses only some of them. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#include "tests/cluster_sim.h"
#pragma GCC diagnostic pop

static const char *mid(csim *c, int slot) { return sim_meeting_id(c->s, slot); }

/* A meeting of n participants spread over the nodes round-robin (slot i on node i % nodes);
 * slot 0 hosts on node 0. Everyone is settled when it returns. */
static csim *spread(int nodes, int n) {
    csim *c = cs_new(nodes, NULL, NULL);
    cs_run(c, 300, 10);                         /* nodes hear each other */
    cs_add(c, 0, "p0", NULL, NULL);
    cs_run(c, 200, 10);
    for (int i = 1; i < n; i++) {
        char name[16];
        snprintf(name, sizeof name, "p%d", i);
        cs_add(c, i % nodes, name, mid(c, 0), NULL);
        cs_run(c, 300, 10);
    }
    cs_run(c, 1500, 10);
    return c;
}

static uint32_t epoch_of(csim *c, int i) { return hc_meeting_send_epoch(c->s->p[i].m); }

static void assert_all_in(csim *c, int n, uint32_t epoch) {
    for (int i = 0; i < n; i++) {
        if (!c->s->p[i].active) continue;
        assert_int_equal(hc_meeting_phase_get(c->s->p[i].m), HC_MT_IN);
        assert_int_equal(epoch_of(c, i), epoch);
        assert_int_equal(hc_meeting_roster_size(c->s->p[i].m), (size_t)n);
    }
}

/* One audio payload from `from`: how many others decrypted it. */
static size_t speak(csim *c, int from, const char *what) {
    size_t before[SIM_MAX];
    for (int i = 0; i < SIM_MAX; i++) before[i] = c->s->p[i].media_rx;
    assert_int_equal(hc_meeting_send_audio(c->s->p[from].m, (const uint8_t *)what, strlen(what), 0x80 | 20, c->s->now), 0);
    cs_flush(c);
    size_t got = 0;
    for (int i = 0; i < SIM_MAX; i++)
        if (i != from && c->s->p[i].active && c->s->p[i].media_rx > before[i]) {
            assert_memory_equal(c->s->p[i].last_media, what, strlen(what));
            got++;
        }
    return got;
}

static size_t chats(csim *c, int i, const char *text) {
    size_t n = 0;
    for (size_t k = 0; k < c->s->p[i].n_ev; k++)
        if (c->s->p[i].ev[k].type == HC_EV_CHAT && !strcmp(c->s->p[i].ev[k].text, text)) n++;
    return n;
}

static size_t alerts(csim *c, int n) {
    size_t a = 0;
    for (int i = 0; i < n; i++)
        if (c->s->p[i].active)
            a += sim_count(c->s, i, HC_EV_SECURITY_ALERT, NULL) + sim_count(c->s, i, HC_EV_HEARTBEAT_TIMEOUT, NULL);
    return a;
}

static int node_alive_count(csim *c, int node) {
    return (int)hc_cluster_get_stats(c->n[node].cl)->peers_alive;
}

static int all_hear(csim *c, const int *who, int n);

/* ---- the codecs ---- */

static void test_wire_roundtrip_and_strict(void **st) {
    (void)st;
    uint8_t buf[4096];
    hc_cl_msg m, d;
    hc_cl_msg_init(&m, HC_CL_OPEN);
    snprintf(m.src, sizeof m.src, "edge-1");
    m.src_inc = 7;
    m.dst_inc = 9;
    m.seq = 3;
    m.conn = 0x123456789aULL;
    struct sockaddr_in *a = (struct sockaddr_in *)&m.addr;
    a->sin_family = AF_INET;
    a->sin_addr.s_addr = htonl(0x7f000001);
    a->sin_port = htons(5555);
    snprintf(m.meeting, sizeof m.meeting, "0123456789");
    size_t n = hc_cl_msg_encode(&m, buf, sizeof buf);
    assert_true(n > 0);
    assert_int_equal(hc_cl_msg_decode(&d, buf, n), 0);
    assert_int_equal(d.type, HC_CL_OPEN);
    assert_string_equal(d.src, "edge-1");
    assert_true(d.src_inc == 7 && d.dst_inc == 9 && d.seq == 3 && d.conn == 0x123456789aULL);
    assert_int_equal(((struct sockaddr_in *)&d.addr)->sin_port, htons(5555));
    assert_string_equal(d.meeting, "0123456789");
    /* every truncation and one byte too many are refused */
    for (size_t k = 0; k < n; k++) assert_int_equal(hc_cl_msg_decode(&d, buf, k), -1);
    buf[n] = 0;
    assert_int_equal(hc_cl_msg_decode(&d, buf, n + 1), -1);
    /* a sequenced type without a sequence number, a bad name, a non-digit meeting id */
    m.seq = 0;
    n = hc_cl_msg_encode(&m, buf, sizeof buf);
    assert_int_equal(hc_cl_msg_decode(&d, buf, n), -1);
    m.seq = 1;
    snprintf(m.src, sizeof m.src, "a.b");
    assert_int_equal(hc_cl_msg_encode(&m, buf, sizeof buf), 0);
    snprintf(m.src, sizeof m.src, "ok");
    snprintf(m.meeting, sizeof m.meeting, "12x");
    assert_int_equal(hc_cl_msg_encode(&m, buf, sizeof buf), 0);

    /* DOWN carries a whole frame and its connections */
    uint8_t frame[10] = {0, 0, 0, 6, 1, HC_MSG_PING, 1, 2, 3, 4};
    uint8_t conns[16] = {0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 1, 0, 0, 0, 6};
    hc_cl_msg_init(&m, HC_CL_DOWN);
    snprintf(m.src, sizeof m.src, "h");
    m.src_inc = 1;
    m.seq = 1;
    m.data = frame;
    m.data_len = sizeof frame;
    m.conns = conns;
    m.n_conns = 2;
    n = hc_cl_msg_encode(&m, buf, sizeof buf);
    assert_int_equal(hc_cl_msg_decode(&d, buf, n), 0);
    assert_int_equal(d.n_conns, 2);
    assert_true(hc_cl_down_conn(&d, 0) == 5 && hc_cl_down_conn(&d, 1) == ((1ULL << 32) | 6));
    assert_memory_equal(d.data, frame, sizeof frame);
    frame[3] = 7;                                   /* its length prefix must match */
    n = hc_cl_msg_encode(&m, buf, sizeof buf);
    assert_int_equal(hc_cl_msg_decode(&d, buf, n), -1);
}

static void test_node_datagram_tag(void **st) {
    (void)st;
    uint8_t key[32], other[32], buf[HC_CL_DGRAM_MAX], media[60];
    randombytes_buf(key, sizeof key);
    randombytes_buf(other, sizeof other);
    memset(media, 0x42, sizeof media);
    hc_cld d, o;
    memset(&d, 0, sizeof d);
    d.kind = HC_CLD_VIDEO_TO;
    snprintf(d.src, sizeof d.src, "n1");
    d.src_inc = 5;
    d.counter = 77;
    snprintf(d.meeting, sizeof d.meeting, "42");
    d.n_recipients = 2;
    d.recipients[0] = 3;
    d.recipients[1] = 65535;
    d.media = media;
    d.media_len = sizeof media;
    size_t n = hc_cld_encode(&d, key, buf, sizeof buf);
    assert_true(n > sizeof media + HC_CL_TAG_LEN);
    assert_int_equal(hc_cld_decode(&o, key, buf, n), 0);
    assert_true(o.kind == HC_CLD_VIDEO_TO && o.counter == 77 && o.n_recipients == 2 && o.recipients[1] == 65535);
    assert_memory_equal(o.media, media, sizeof media);
    /* a stranger's key, and any flipped bit, fail the tag */
    assert_int_equal(hc_cld_decode(&o, other, buf, n), -2);
    for (size_t k = 1; k < n; k++) {
        buf[k] ^= 0x01;
        assert_int_equal(hc_cld_decode(&o, key, buf, n), -2);
        buf[k] ^= 0x01;
    }
}

/* ---- liveness ---- */

static void test_nodes_see_each_other_and_a_dead_one(void **st) {
    (void)st;
    csim *c = cs_new(3, NULL, NULL);
    cs_run(c, 300, 10);
    for (int i = 0; i < 3; i++) assert_int_equal(node_alive_count(c, i), 2);
    cs_kill(c, 2);
    /* not before dead_ms (600 ms) of silence, then at once */
    cs_run(c, 450, 10);
    assert_int_equal(node_alive_count(c, 0), 2);
    cs_run(c, 300, 10);
    assert_int_equal(node_alive_count(c, 0), 1);
    assert_int_equal(node_alive_count(c, 1), 1);
    assert_int_equal(hc_cluster_get_stats(c->n[0].cl)->peers_dead_total, 1);
    cs_free(c);
}

static void test_bus_outage_blames_nobody(void **st) {
    (void)st;
    csim *c = cs_new(3, NULL, NULL);
    cs_run(c, 300, 10);
    /* node 0 loses the bus for 2 s (far past dead_ms): it counts nobody dead meanwhile, and
     * once it is back nobody counts it dead either */
    cs_bus_link(c, 0, 0);
    cs_run(c, 2000, 10);
    assert_int_equal(hc_cluster_get_stats(c->n[0].cl)->peers_dead_total, 0);
    cs_bus_link(c, 0, 1);
    cs_run(c, 1000, 10);
    assert_int_equal(hc_cluster_get_stats(c->n[0].cl)->peers_dead_total, 0);
    for (int i = 0; i < 3; i++) assert_int_equal(node_alive_count(c, i), 2);
    cs_free(c);
}

/* ---- one meeting across three nodes ---- */

static void test_meeting_across_three_nodes(void **st) {
    (void)st;
    csim *c = spread(3, 6);
    /* one meeting, one home: everyone in it, one code, one epoch */
    const char *code = hc_meeting_code(c->s->p[0].m);
    assert_true(strlen(code) > 0);
    for (int i = 1; i < 6; i++) {
        assert_string_equal(mid(c, i), mid(c, 0));
        assert_string_equal(hc_meeting_code(c->s->p[i].m), code);
    }
    uint32_t e = epoch_of(c, 0);
    assert_true(e >= 6);                         /* a rekey per join: epochs rose across nodes */
    assert_all_in(c, 6, e);
    /* the lease names node 0, the other nodes proxy */
    assert_string_equal(cs_kv_value(c, mid(c, 0)), "node0");
    assert_int_equal(hc_cluster_get_stats(c->n[1].cl)->proxied, 2);
    assert_int_equal(hc_cluster_get_stats(c->n[2].cl)->proxied, 2);
    assert_int_equal(hc_cluster_get_stats(c->n[0].cl)->virtual_conns, 4);
    /* media endpoints stay where the participants are: at the edges for members there */
    assert_int_equal(hc_cluster_get_stats(c->n[0].cl)->media_members, 0);
    assert_int_equal(hc_cluster_get_stats(c->n[1].cl)->media_members, 2);
    /* audio from every node reaches everyone, one copy per other node */
    for (int from = 0; from < 3; from++) {
        uint64_t out = hc_cluster_get_stats(c->n[from].cl)->dgram_out;
        assert_int_equal(speak(c, from, "hello"), 5);
        assert_int_equal(hc_cluster_get_stats(c->n[from].cl)->dgram_out - out, 2);
    }
    /* chat from a member on node 2 reaches everyone */
    hc_command cmd = {.type = HC_CMD_CHAT, .text = "over the cluster"};
    assert_int_equal(hc_meeting_command(c->s->p[5].m, &cmd, c->s->now), 0);
    cs_run(c, 50, 10);
    for (int i = 0; i < 5; i++) assert_int_equal(chats(c, i, "over the cluster"), 1);
    /* a leave on node 1 rekeys everyone */
    hc_command leave = {.type = HC_CMD_LEAVE};
    hc_meeting_command(c->s->p[4].m, &leave, c->s->now);
    cs_run(c, 1500, 10);
    assert_true(epoch_of(c, 0) > e);
    for (int i = 0; i < 4; i++) assert_int_equal(epoch_of(c, i), epoch_of(c, 0));
    assert_int_equal(epoch_of(c, 5), epoch_of(c, 0));
    assert_int_equal(alerts(c, 6), 0);
    cs_free(c);
}

/* A node-to-node datagram taken off the wire and sent again is a replay: dropped, counted, and no
 * participant gets it twice; one bit changed fails the tag; the same bytes under a stranger's key
 * fail it too. */
static void test_node_datagram_replay(void **st) {
    (void)st;
    csim *c = spread(3, 6);
    assert_int_equal(speak(c, 1, "once"), 5);
    int to = c->last_dgram_to;
    uint8_t d[HC_CL_DGRAM_MAX];
    size_t n = c->last_dgram_len;
    memcpy(d, c->last_dgram, n);
    const hc_cluster_stats *s = hc_cluster_get_stats(c->n[to].cl);
    uint64_t replays = s->dgram_replay, bad = s->dgram_bad_tag;
    size_t rx[SIM_MAX];
    for (int i = 0; i < SIM_MAX; i++) rx[i] = c->s->p[i].media_rx;
    uint8_t copy[HC_CL_DGRAM_MAX];
    memcpy(copy, d, n);
    hc_cluster_on_node_udp(c->n[to].cl, (const struct sockaddr *)&c->n[0].media, copy, n, c->s->now);
    cs_flush(c);
    assert_int_equal(s->dgram_replay, replays + 1);
    memcpy(copy, d, n);
    copy[n / 2] ^= 0x40;
    hc_cluster_on_node_udp(c->n[to].cl, (const struct sockaddr *)&c->n[0].media, copy, n, c->s->now);
    cs_flush(c);
    assert_int_equal(s->dgram_bad_tag, bad + 1);
    for (int i = 0; i < SIM_MAX; i++) assert_int_equal(c->s->p[i].media_rx, rx[i]);
    cs_free(c);
}

/* A broadcast crosses the bus once per node, whatever the number of members there. */
static void test_broadcast_once_per_node(void **st) {
    (void)st;
    csim *c = spread(3, 9);                      /* 3 members on each node */
    uint64_t before = c->down_msgs;
    hc_command cmd = {.type = HC_CMD_CHAT, .text = "one copy per node"};
    assert_int_equal(hc_meeting_command(c->s->p[0].m, &cmd, c->s->now), 0);
    cs_flush(c);
    for (int i = 1; i < 9; i++) assert_int_equal(chats(c, i, "one copy per node"), 1);
    assert_int_equal(c->down_msgs - before, 2);  /* to node 1 and node 2, not to 6 members */
    cs_free(c);
}

/* Workers: a participant's TCP connection at one node and its UDP flow at another (the kernel
 * hashes them apart). The node its UDP lands on asks who it is (REGQ), the node with its
 * connection answers, and media flows as if both were at one node. */
static void test_udp_at_another_node(void **st) {
    (void)st;
    csim *c = cs_new(2, NULL, NULL);
    cs_run(c, 300, 10);
    c->udp_node[1] = 0;                          /* TCP at node 1, UDP at node 0 (the home) */
    c->udp_node[2] = 1;                          /* TCP at node 0 (the home), UDP at node 1 */
    c->udp_node[3] = 0;                          /* TCP at node 1, UDP at node 0 */
    int h = cs_add(c, 0, "p0", NULL, NULL);
    cs_run(c, 200, 10);
    for (int i = 1; i < 4; i++) {
        char name[16];
        snprintf(name, sizeof name, "p%d", i);
        cs_add(c, i % 2 ? 1 : 0, name, mid(c, h), NULL);
        cs_run(c, 300, 10);
    }
    cs_run(c, 1500, 10);
    assert_all_in(c, 4, epoch_of(c, 0));
    int all[] = {0, 1, 2, 3};
    assert_true(all_hear(c, all, 4));
    assert_true(hc_cluster_get_stats(c->n[1].cl)->regq_sent >= 1);   /* p2's UDP at node 1 */
    assert_true(hc_cluster_get_stats(c->n[0].cl)->regq_answered >= 1);
    assert_int_equal(alerts(c, 4), 0);
    cs_free(c);
}

/* A join storm does not wait on the lease bucket: the home answers joins into its own meetings
 * without asking it, an edge asks once and goes on from what it learnt. */
static void test_join_lookups_kept(void **st) {
    (void)st;
    csim *c = spread(3, 9);                      /* three joins at each node, 300 ms apart */
    assert_int_equal(c->n[0].kv_gets, 0);
    assert_int_equal(c->n[1].kv_gets, 1);
    assert_int_equal(c->n[2].kv_gets, 1);
    assert_int_equal(hc_cluster_get_stats(c->n[1].cl)->proxied, 3);
    cs_free(c);
}

/* ---- failures ---- */

/* The index each participant has now, and whether every pair of the listed hears each other. */
static int all_hear(csim *c, const int *who, int n) {
    for (int k = 0; k < n; k++) {
        size_t before[SIM_MAX];
        for (int i = 0; i < SIM_MAX; i++) before[i] = c->s->p[i].media_rx;
        if (hc_meeting_send_audio(c->s->p[who[k]].m, (const uint8_t *)"ping", 4, 0x80 | 20, c->s->now) < 0) return 0;
        cs_flush(c);
        for (int j = 0; j < n; j++)
            if (j != k && c->s->p[who[j]].media_rx == before[who[j]]) return 0;
    }
    return 1;
}

/* Whether m's certified roster lists none of gone[] (indexes in the meeting instance m is in). */
static int roster_without(hc_meeting *m, const uint32_t *gone, int n_gone) {
    hc_member_info mi[64];
    size_t n = hc_meeting_members(m, mi, 64);
    for (size_t i = 0; i < n; i++)
        for (int g = 0; g < n_gone; g++)
            if (mi[i].in_roster && mi[i].index == gone[g]) return 0;
    return 1;
}

/* Runs until every listed participant is in, keyed under one epoch above `above` whose roster
 * lists none of gone[] (the members that were lost) and lists every one of them, and they hear
 * one another; returns how long that took (ms), or 0 if not within max_ms. */
static uint64_t until_back_without(csim *c, const int *who, int n, uint32_t above, const uint32_t *gone, int n_gone,
                                   uint64_t max_ms) {
    uint64_t t0 = c->s->now;
    while (c->s->now - t0 < max_ms) {
        cs_run(c, 20, 10);
        int ok = 1;
        uint32_t e = epoch_of(c, who[0]);
        for (int k = 0; k < n && ok; k++) {
            hc_meeting *m = c->s->p[who[k]].m;
            ok = hc_meeting_phase_get(m) == HC_MT_IN && hc_meeting_send_epoch(m) == e && e > above &&
                 hc_meeting_roster_size(m) >= (size_t)n && roster_without(m, gone, n_gone);
        }
        if (ok && all_hear(c, who, n)) {
            if (getenv("CS_DEBUG")) fprintf(stderr, "  back after %llu ms\n", (unsigned long long)(c->s->now - t0));
            return c->s->now - t0;
        }
    }
    if (getenv("CS_DEBUG"))
        for (int k = 0; k < n; k++)
            fprintf(stderr, "  p%d phase %d epoch %u roster %zu leader %u self %u mid %s\n", who[k],
                    hc_meeting_phase_get(c->s->p[who[k]].m), hc_meeting_send_epoch(c->s->p[who[k]].m),
                    hc_meeting_roster_size(c->s->p[who[k]].m), hc_meeting_leader_index(c->s->p[who[k]].m),
                    hc_meeting_self_index(c->s->p[who[k]].m), mid(c, who[k]));
    return 0;
}

static uint64_t until_back(csim *c, const int *who, int n, uint32_t above, uint64_t max_ms) {
    return until_back_without(c, who, n, above, NULL, 0, max_ms);
}

static int same_meeting(csim *c, const int *who, int n, const char *id) {
    for (int k = 0; k < n; k++)
        if (strcmp(mid(c, who[k]), id)) return 0;
    return 1;
}

/* An edge node dies (kill -9): the home counts it dead and lets its members go in one go, the
 * others are rekeyed and hear one another again within 3 s of the kill, with no alert; the members
 * it had get back in through another node. */
static void test_edge_node_dies(void **st) {
    (void)st;
    csim *c = spread(3, 6);
    c->auto_rejoin = 1;
    char id[HC_MEETING_ID_MAX + 1];
    snprintf(id, sizeof id, "%s", mid(c, 0));
    uint32_t e0 = epoch_of(c, 0);
    uint32_t gone[] = {hc_meeting_self_index(c->s->p[2].m), hc_meeting_self_index(c->s->p[5].m)};
    cs_kill(c, 2);                               /* p2 and p5 were there */
    int rest[] = {0, 1, 3, 4};
    uint64_t t = until_back_without(c, rest, 4, e0, gone, 2, 3000);
    /* the two from node 2 reconnected and are back too: after them, all six again */
    int all[] = {0, 1, 2, 3, 4, 5};
    uint64_t t6 = until_back(c, all, 6, e0, 5000);
    assert_true(t > 0 && t <= 3000);
    assert_true(t6 > 0);
    assert_true(same_meeting(c, all, 6, id));
    assert_int_equal(hc_cluster_get_stats(c->n[0].cl)->peers_dead_total, 1);
    assert_int_equal(alerts(c, 6), 0);
    cs_free(c);
}

/* The home dies: the other nodes send their members of it to get back in, the leader re-creates
 * the meeting (RESUME) at a node that takes its lease over, and everyone is back in the same
 * meeting, keyed and hearing one another, within 3 s of the kill; no alert. */
static void test_home_node_dies(void **st) {
    (void)st;
    csim *c = spread(3, 6);
    c->auto_rejoin = 1;
    char id[HC_MEETING_ID_MAX + 1], code[100];
    snprintf(id, sizeof id, "%s", mid(c, 0));
    snprintf(code, sizeof code, "%s", hc_meeting_code(c->s->p[0].m));
    uint32_t e0 = epoch_of(c, 0);
    cs_kill(c, 0);                               /* the home, with the leader p0 and p3 */
    int all[] = {0, 1, 2, 3, 4, 5};
    uint64_t t = until_back(c, all, 6, e0, 6000);
    assert_true(t > 0 && t <= 3000);
    assert_true(same_meeting(c, all, 6, id));
    /* the leader resumed it: the same security code */
    for (int i = 0; i < 6; i++) assert_string_equal(hc_meeting_code(c->s->p[i].m), code);
    const char *holder = cs_kv_value(c, id);
    assert_non_null(holder);
    assert_true(!strcmp(holder, "node1") || !strcmp(holder, "node2"));
    int taken = 0;
    for (int n = 1; n < 3; n++) taken += (int)hc_cluster_get_stats(c->n[n].cl)->leases_taken_over;
    assert_int_equal(taken, 1);
    assert_int_equal(alerts(c, 6), 0);
    cs_free(c);
}

/* The leader's node dies while the meeting is homed elsewhere: the home lets its members go, the
 * earliest remaining member leads and rekeys; the others hear one another within 3 s. */
static void test_leader_node_dies(void **st) {
    (void)st;
    csim *c = cs_new(3, NULL, NULL);
    c->auto_rejoin = 1;
    cs_run(c, 300, 10);
    int h = cs_add(c, 0, "host", NULL, NULL);
    cs_run(c, 200, 10);
    char id[HC_MEETING_ID_MAX + 1];
    snprintf(id, sizeof id, "%s", mid(c, h));
    int a = cs_add(c, 1, "a", id, NULL);         /* will lead, on node 1 */
    cs_run(c, 300, 10);
    int b = cs_add(c, 2, "b", id, NULL);
    cs_run(c, 300, 10);
    int d = cs_add(c, 0, "d", id, NULL);
    cs_run(c, 300, 10);
    int e = cs_add(c, 1, "e", id, NULL);
    cs_run(c, 1500, 10);
    hc_command leave = {.type = HC_CMD_LEAVE};
    hc_meeting_command(c->s->p[h].m, &leave, c->s->now);   /* the host goes: a leads, home stays node 0 */
    cs_run(c, 1500, 10);
    assert_true(hc_meeting_is_leader(c->s->p[a].m));
    assert_string_equal(cs_kv_value(c, id), "node0");
    uint32_t e0 = epoch_of(c, a);
    uint32_t gone[] = {hc_meeting_self_index(c->s->p[a].m), hc_meeting_self_index(c->s->p[e].m)};
    cs_kill(c, 1);                               /* a (the leader) and e */
    int rest[] = {b, d};
    uint64_t t = until_back_without(c, rest, 2, e0, gone, 2, 3000);
    assert_true(t > 0 && t <= 3000);
    assert_true(hc_meeting_is_leader(c->s->p[b].m));
    int all[] = {a, b, d, e};
    assert_true(until_back(c, all, 4, e0, 5000) > 0);
    assert_true(same_meeting(c, all, 4, id));
    assert_int_equal(alerts(c, 6), 0);
    cs_free(c);
}

/* A lossy bus: every 7th message between nodes vanishes. Gaps are asked for again (NACK) and
 * filled from the sender's buffer, so no frame is lost or reordered: the meeting goes on, keyed,
 * with no alert and no link broken. */
static int drop_every_7th(csim *c, int from, int to, const uint8_t *msg, size_t len, void *arg) {
    (void)c;
    (void)from;
    (void)to;
    (void)arg;
    static unsigned k;
    if (len < 2 || msg[1] >= HC_CL_UNSEQ) return 0;   /* sequenced messages only */
    return ++k % 7 == 0;
}

static void test_lossy_bus_resends(void **st) {
    (void)st;
    csim *c = spread(3, 6);
    c->bus_drop = drop_every_7th;
    uint32_t e0 = epoch_of(c, 0);
    hc_command leave = {.type = HC_CMD_LEAVE};
    hc_meeting_command(c->s->p[5].m, &leave, c->s->now);
    cs_run(c, 3000, 10);
    int rest[] = {0, 1, 2, 3, 4};
    assert_true(until_back(c, rest, 5, e0, 3000) > 0);
    uint64_t nacks = 0, resent = 0, fenced = 0;
    for (int n = 0; n < 3; n++) {
        nacks += hc_cluster_get_stats(c->n[n].cl)->nacks_sent;
        resent += hc_cluster_get_stats(c->n[n].cl)->resent;
        fenced += hc_cluster_get_stats(c->n[n].cl)->peers_fenced_total;
    }
    assert_true(nacks > 0 && resent > 0);
    assert_int_equal(fenced, 0);
    assert_int_equal(alerts(c, 5), 0);
    cs_free(c);
}

/* The bus goes away for everyone for a while (a NATS restart) and comes back: nobody is counted
 * dead, what was sent meanwhile and lost is sent again, the meeting goes on without a rejoin. */
static int bus_down;
static int drop_all_while_down(csim *c, int from, int to, const uint8_t *msg, size_t len, void *arg) {
    (void)c;
    (void)from;
    (void)to;
    (void)msg;
    (void)len;
    (void)arg;
    return bus_down;
}

static void test_bus_restart(void **st) {
    (void)st;
    csim *c = spread(3, 6);
    c->auto_rejoin = 1;
    c->bus_drop = drop_all_while_down;
    uint64_t joins = c->s->p[0].n_ev;
    bus_down = 1;
    for (int n = 0; n < 3; n++) hc_cluster_on_bus_state(c->n[n].cl, 0, c->s->now);
    cs_run(c, 1200, 10);                          /* twice the node timeout */
    bus_down = 0;
    for (int n = 0; n < 3; n++) hc_cluster_on_bus_state(c->n[n].cl, 1, c->s->now);
    cs_run(c, 1500, 10);
    for (int n = 0; n < 3; n++) {
        assert_int_equal(hc_cluster_get_stats(c->n[n].cl)->peers_dead_total, 0);
        assert_int_equal(hc_cluster_get_stats(c->n[n].cl)->peers_fenced_total, 0);
    }
    int all[] = {0, 1, 2, 3, 4, 5};
    assert_true(all_hear(c, all, 6));
    for (int i = 0; i < 6; i++) {
        assert_int_equal(hc_meeting_phase_get(c->s->p[i].m), HC_MT_IN);
        assert_int_equal(sim_count(c->s, i, HC_EV_RECONNECTED, NULL), 0);
    }
    (void)joins;
    assert_int_equal(alerts(c, 6), 0);
    cs_free(c);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wire_roundtrip_and_strict),
        cmocka_unit_test(test_node_datagram_tag),
        cmocka_unit_test(test_nodes_see_each_other_and_a_dead_one),
        cmocka_unit_test(test_bus_outage_blames_nobody),
        cmocka_unit_test(test_meeting_across_three_nodes),
        cmocka_unit_test(test_broadcast_once_per_node),
        cmocka_unit_test(test_node_datagram_replay),
        cmocka_unit_test(test_join_lookups_kept),
        cmocka_unit_test(test_udp_at_another_node),
        cmocka_unit_test(test_edge_node_dies),
        cmocka_unit_test(test_home_node_dies),
        cmocka_unit_test(test_leader_node_dies),
        cmocka_unit_test(test_lossy_bus_resends),
        cmocka_unit_test(test_bus_restart),
    };
    if (sodium_init() < 0) return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
