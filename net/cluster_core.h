/* A relay node in a cluster, sans-I/O (PROTOCOL.md §14). It sits between the relay's I/O layer
 * (net/relay.c) and the relay core (net/relay_core.h), which it owns, and adds what a node needs to
 * serve any meeting of the cluster:
 *
 * - Node liveness: every node publishes a heartbeat on the bus; one not heard for dead_ms is dead.
 * - Links: per pair of nodes an ordered, sequenced stream over the bus, with a retransmit buffer
 *   and NACKs, so that a lost bus message (a NATS restart) costs a resend, never a frame out of
 *   order; a link that cannot be repaired is fenced and started afresh, dropping what depended on it.
 * - The home lease: a meeting lives in the relay core of one node, its home, which holds the
 *   meeting's key in the lease bucket (JetStream KV, compare-and-set on revisions, TTL renewed by
 *   the home). Joins that arrive elsewhere are looked up and proxied: the participant's connection
 *   becomes a virtual connection in the home's core (its bytes go up the link, the home's frames
 *   come down it, a broadcast once per node).
 * - Media: a node forwards its local talkers' datagrams itself, one copy per other node with
 *   members (node-to-node UDP, tagged with the cluster key); video goes through the home, which
 *   chooses who gets what as one relay would.
 *
 * Decisions about the cluster are here; sockets, NATS and its threads are in net/cluster.c and
 * net/relay.c. The KV is asked through io.kv and answers with hc_cluster_on_kv, so tests drive
 * everything with a fake bus, a fake KV and a fake clock. */
#ifndef HC_CLUSTER_CORE_H
#define HC_CLUSTER_CORE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "net/cluster_wire.h"
#include "net/relay_core.h"

typedef struct {
    char cluster[HC_CL_NAME_MAX + 1];   /* subject prefix: hc.<cluster>. */
    char node[HC_CL_NAME_MAX + 1];
    struct sockaddr_storage advertise;  /* where the other nodes send this node's media */
    uint8_t key[32];                    /* the cluster key (node-to-node datagram tags) */
    uint32_t hb_ms;                     /* heartbeat period, default 250 */
    uint32_t dead_ms;                   /* a node not heard for this long is dead, default 1500 */
    uint32_t lease_ttl_ms;              /* the lease bucket's TTL, default 15000; renewed every third */
    size_t ring_bytes;                  /* retransmit buffer per link, default 4 MiB */
    /* This life of the node: larger than any earlier one's (the I/O layer uses the wall clock in
     * microseconds), so messages of an earlier life still in flight are told apart; 0 = random. */
    uint64_t incarnation;
} hc_cluster_config;
void hc_cluster_config_defaults(hc_cluster_config *c);

typedef enum { HC_KV_GET = 1, HC_KV_CREATE, HC_KV_UPDATE, HC_KV_DELETE } hc_kv_op;
typedef enum {
    HC_KV_OK = 0,
    HC_KV_NOT_FOUND,     /* GET: no such key */
    HC_KV_CONFLICT,      /* CREATE: the key exists; UPDATE: another revision is the latest */
    HC_KV_FAILED,        /* no answer (bus down, timeout) */
} hc_kv_status;
typedef struct {
    hc_kv_op op;
    uint64_t id;                        /* echoed in the answer */
    char key[HC_MEETING_ID_MAX + 1];    /* a meeting id */
    char value[HC_CL_NAME_MAX + 1];     /* CREATE, UPDATE: the home node */
    uint64_t rev;                       /* UPDATE: only if this is the latest revision */
} hc_kv_req;
typedef struct {
    uint64_t id;
    hc_kv_status status;
    char value[HC_CL_NAME_MAX + 1];     /* GET */
    uint64_t rev;                       /* the key's revision now (GET, CREATE, UPDATE) */
} hc_kv_res;

typedef struct {
    void *ctx;
    /* the bus: publish one message (copied) */
    void (*publish)(void *ctx, const char *subject, const uint8_t *p, size_t len);
    /* the lease bucket: one asynchronous request; the answer comes later with hc_cluster_on_kv
     * (never from inside this call) */
    void (*kv)(void *ctx, const hc_kv_req *req);
    /* this node's participant connections (TCP): queue a frame (-1: its queue is full), close
     * after the queued frames (the I/O layer then calls hc_cluster_on_disconnect) */
    int (*conn_send)(void *ctx, uint64_t conn, const uint8_t *frame, size_t len);
    void (*conn_close)(void *ctx, uint64_t conn);
    /* UDP: sock 0 = the relay's port (to participants), 1 = the node socket (to nodes). pkt must
     * stay valid until udp_flush (or the end of the hc_cluster call that sent it). */
    void (*udp_send)(void *ctx, int sock, const uint8_t *pkt, size_t len, const struct sockaddr_storage *to);
    void (*udp_flush)(void *ctx);
    /* operator log (may be NULL): event name and a short detail */
    void (*log)(void *ctx, int warn, const char *event, const char *detail);
    /* relay core events, passed on (may be NULL) */
    void (*relay_event)(void *ctx, const hc_relay_event *ev);
} hc_cluster_io;

typedef struct {
    uint64_t peers_alive, peers_dead_total, peers_fenced_total;
    uint64_t bus_in, bus_out, bus_bytes_in, bus_bytes_out, bus_bad;
    uint64_t nacks_sent, nacks_received, resent, gaps, stale_dropped;
    uint64_t proxied, proxied_total, virtual_conns, virtual_total;
    uint64_t joins_routed_local, joins_routed_remote, lookups_failed;
    uint64_t leases, leases_taken, leases_taken_over, leases_lost, lease_renewals, lease_renew_failed;
    uint64_t meetings_evicted;
    uint64_t down_msgs, down_frames;           /* DOWN messages sent; frames they stood for */
    uint64_t media_members;                    /* participants whose UDP endpoint is here, meeting elsewhere */
    uint64_t dgram_in, dgram_out, dgram_bad_tag, dgram_bad, dgram_replay, dgram_unknown;
    uint64_t media_local_out, media_not_loudest, regq_sent, regq_answered;
} hc_cluster_stats;

typedef struct hc_cluster hc_cluster;

/* Makes the node and its relay core (relay_cfg as for a single relay). */
hc_cluster *hc_cluster_new(const hc_cluster_config *cfg, const hc_relay_config *relay_cfg, const hc_cluster_io *io,
                           uint64_t now_ms);
void hc_cluster_free(hc_cluster *cl);
hc_relay *hc_cluster_relay(hc_cluster *cl);
const hc_cluster_stats *hc_cluster_get_stats(const hc_cluster *cl);
uint64_t hc_cluster_incarnation(const hc_cluster *cl);
/* The subjects this node subscribes to: its own ("hc.<cluster>.n.<node>.>") and everyone's. */
void hc_cluster_subjects(const hc_cluster *cl, char *own, size_t owncap, char *all, size_t allcap);
/* The lease bucket's name. */
void hc_cluster_bucket(const hc_cluster *cl, char *out, size_t cap);

/* ---- from the I/O layer ---- */
/* A participant's TCP connection (as hc_relay_on_connect; -1 when refused). */
int hc_cluster_on_connect(hc_cluster *cl, uint64_t conn, const struct sockaddr *addr, uint64_t now_ms);
void hc_cluster_on_bytes(hc_cluster *cl, uint64_t conn, const uint8_t *data, size_t len, uint64_t now_ms);
void hc_cluster_on_disconnect(hc_cluster *cl, uint64_t conn, uint64_t now_ms);
void hc_cluster_on_backlog(hc_cluster *cl, uint64_t conn, uint64_t now_ms);
/* A datagram on the relay's port (participants) / on the node socket (other nodes). */
void hc_cluster_on_udp(hc_cluster *cl, const struct sockaddr *from, socklen_t fromlen, uint8_t *pkt, size_t len,
                       uint64_t now_ms);
void hc_cluster_on_node_udp(hc_cluster *cl, const struct sockaddr *from, uint8_t *pkt, size_t len, uint64_t now_ms);
/* The UDP layer flushed: buffers handed to udp_send may be reused. */
void hc_cluster_udp_flushed(hc_cluster *cl);
/* One message from the bus. */
void hc_cluster_on_bus(hc_cluster *cl, const uint8_t *p, size_t len, uint64_t now_ms);
/* The bus connection went up (1) or down (0). */
void hc_cluster_on_bus_state(hc_cluster *cl, int connected, uint64_t now_ms);
void hc_cluster_on_kv(hc_cluster *cl, const hc_kv_res *res, uint64_t now_ms);
/* Timers: heartbeats, liveness, lease renewal, the relay core's tick. Every 50 ms or so. */
void hc_cluster_tick(hc_cluster *cl, uint64_t now_ms);
/* Stopping: tell the other nodes (BYE) and every participant (ERROR shutdown). */
void hc_cluster_shutdown(hc_cluster *cl);

#endif
