/* The cluster's bus: a NATS connection (libnats) for a relay node, on its libuv loop.
 *
 * libnats runs its own I/O threads and delivers messages on a thread of its own; everything it
 * hands over (messages, connection state, answers of the lease bucket) is queued and taken up on
 * the loop through one uv_async, so the node (net/cluster_core.c) only ever runs on the loop.
 * JetStream KV calls block for a round trip (or a timeout when the bus is down), so they run on
 * worker threads of their own (four), never on the loop. Publishing from the loop only appends to the
 * connection's buffer (SendAsap: written at once), and while the bus is away libnats keeps what is
 * published in its reconnect buffer and sends it once back.
 *
 * Why not libnats' libuv adapter: it must attach from the loop thread on the first connect (so a
 * node could not start while NATS is down), it still delivers messages on a library thread, and a
 * blocking KV call on a loop-driven connection would wait for the very loop it blocks. */
#ifndef HC_CLUSTER_BUS_H
#define HC_CLUSTER_BUS_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "net/cluster_core.h"

typedef struct {
    char url[1024];              /* nats://HOST:PORT or tls://HOST:PORT, several separated by commas */
    char user[256], password[256];   /* "" = none */
    char creds[1024];            /* a NATS .creds file (JWT and nkey seed), instead of user/password */
    char ca[1024];               /* TLS: the CA's certificate file ("" = no TLS unless tls://) */
    char name[64];               /* the connection's name on the server */
    char own[96], all[96];       /* subjects to subscribe to */
    char bucket[64];             /* the lease bucket */
    uint32_t ttl_ms;             /* its TTL (when this node creates it) */
} hc_cluster_bus_config;

typedef struct {
    void *ctx;
    void (*message)(void *ctx, const uint8_t *p, size_t len);
    void (*state)(void *ctx, int connected);
    void (*kv)(void *ctx, const hc_kv_res *res);
    void (*log)(void *ctx, int warn, const char *event, const char *detail);
} hc_cluster_bus_callbacks;

typedef struct {
    uint64_t published, publish_failed, received, dropped_queue_full, kv_requests, kv_failed;
} hc_cluster_bus_stats;

typedef struct hc_cluster_bus hc_cluster_bus;

/* Starts connecting (it keeps trying while the server is down). Returns 0, or -1 with err. */
int hc_cluster_bus_start(hc_cluster_bus **out, uv_loop_t *loop, const hc_cluster_bus_config *cfg,
                         const hc_cluster_bus_callbacks *cb, char *err, size_t errlen);
void hc_cluster_bus_publish(hc_cluster_bus *b, const char *subject, const uint8_t *p, size_t len);
void hc_cluster_bus_kv(hc_cluster_bus *b, const hc_kv_req *req);
const hc_cluster_bus_stats *hc_cluster_bus_get_stats(const hc_cluster_bus *b);
/* Closes the connection, stops the workers, then calls done on the loop. The bus must not be used
 * after; its memory is given back by hc_cluster_bus_global_close. */
void hc_cluster_bus_stop(hc_cluster_bus *b, void (*done)(void *arg), void *arg);
/* Once per process, after the last bus is stopped: libnats' own threads end, then the stopped
 * buses are freed (until then one of those threads may still be in a callback of ours). */
void hc_cluster_bus_global_close(void);

#endif
