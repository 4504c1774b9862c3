/* The relay server: libuv around the sans-I/O core (net/relay_core.h). It only moves bytes:
 * TCP control connections are fed to the core, UDP media goes through the core's forwarding
 * decision and out with batched syscalls (recvmmsg/sendmmsg), and optional seeded impairment
 * (net/impair.h) is applied to what leaves.
 *
 * Embedding (the demo runs a relay in its own process):
 *
 *   hc_relay_server_config cfg;
 *   hc_relay_server_config_defaults(&cfg);          // 127.0.0.1:0 picks a free port
 *   hc_relay_server *srv;
 *   if (hc_relay_server_start(&srv, loop, &cfg, err, sizeof err) < 0) ...;
 *   uint16_t port = hc_relay_server_port(srv);        // TCP and UDP on this port
 *   ... uv_run(loop) ...
 *   hc_relay_server_stop(srv, done, arg);            // ERROR(shutdown) to all, flush, close, free
 *
 * Everything runs on the loop passed in; no call blocks. */
#ifndef HC_RELAY_H
#define HC_RELAY_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <uv.h>

#include "net/cluster.h"
#include "net/cluster_core.h"
#include "net/impair.h"
#include "net/relay_core.h"
#include "net/relay_log.h"

#define HC_RELAY_DEFAULT_PORT 7400
#define HC_RELAY_SENDQ_DEFAULT (1u << 20)      /* control bytes queued per connection */
#define HC_RELAY_MAX_CONNS_DEFAULT 20000       /* all connections together */
#define HC_RELAY_DELAY_POOL_DEFAULT 8192       /* impaired media copies waiting at once */

typedef struct {
    hc_relay_config core;
    char host[64];                 /* numeric IPv4 or IPv6 address to listen on */
    uint16_t port;                 /* 0 = any free port (TCP and UDP get the same number) */
    size_t sendq_max;              /* per-connection control backlog limit, bytes */
    uint32_t max_conns;            /* all TCP connections together */
    hc_impair_spec impair;         /* .enabled = 0: none */
    size_t delay_pool;             /* impairment: delayed media copies held at most */
    uint32_t stats_interval_ms;    /* 0 = no periodic stats */
    FILE *stats_out;               /* where stats lines go (default stdout) */
    int udp_rcvbuf, udp_sndbuf;    /* socket buffer sizes asked for (0 = 4 MiB) */
    hc_relay_log log;              /* operator log (.f = NULL: none) */
    char metrics_host[64];         /* Prometheus endpoint (net/metrics.h); "" = off */
    uint16_t metrics_port;         /* 0 = any free port */
    /* A node of a cluster (PROTOCOL.md §14); enabled = 0: a relay on its own, no NATS. */
    struct {
        int enabled;
        hc_cluster_config node;    /* names, key, timers (advertise is filled in at start) */
        hc_cluster_bus_config bus; /* NATS (subjects and bucket are filled in at start) */
        char advertise_host[64];   /* the address other nodes send media to ("" = the listen address) */
        uint16_t advertise_port;   /* the node socket's port (0 = any free one) */
    } cluster;
    /* --workers: the TCP and UDP sockets on the relay's port, opened (SO_REUSEPORT) by the parent */
    int have_fds, tcp_fd, udp_fd;
} hc_relay_server_config;

/* I/O-level counters (the core's are in hc_relay_stats). */
typedef struct {
    uint64_t conns_accepted, conns_rejected_global, conns_closed;
    uint64_t tcp_bytes_in, tcp_bytes_out;
    uint64_t backlog_disconnects;      /* control backlog over sendq_max */
    uint64_t udp_rx, udp_rx_truncated; /* datagrams read; larger than a media datagram */
    uint64_t udp_tx;                   /* datagrams handed to the kernel */
    uint64_t udp_drop_queue;           /* EAGAIN/ENOBUFS on send: dropped, never blocked */
    uint64_t udp_send_errors;          /* other per-datagram send errors */
    uint64_t recv_batches, send_batches;
    uint64_t impair_dropped, impair_duplicated, impair_delayed, impair_queue_full;
    uint64_t ctrl_delayed;
    uint64_t node_rx, node_tx;         /* node-to-node datagrams (cluster) */
} hc_relay_io_stats;

typedef struct hc_relay_server hc_relay_server;

void hc_relay_server_config_defaults(hc_relay_server_config *c);
/* --workers: n pairs of TCP and UDP sockets on one port (port 0: a free one, *port_out says
 * which), each with SO_REUSEPORT, so n processes serve the port together (the kernel spreads new
 * connections and UDP flows over them). Returns 0, or -1 with a message in err. */
int hc_relay_bind_shared(const char *host, uint16_t port, int n, int *tcp_fds, int *udp_fds, uint16_t *port_out,
                         char *err, size_t errlen);
/* Binds TCP and UDP on the same port and starts serving on loop. Returns 0, or -1 with a
 * message in err (address in use, bad address, out of memory). */
int hc_relay_server_start(hc_relay_server **out, uv_loop_t *loop, const hc_relay_server_config *cfg,
                          char *err, size_t errlen);
uint16_t hc_relay_server_port(const hc_relay_server *s);
/* The metrics endpoint's port (0 when it is off). */
uint16_t hc_relay_server_metrics_port(const hc_relay_server *s);
const char *hc_relay_server_host(const hc_relay_server *s);
/* The core (for stats and test helpers); owned by the server. */
hc_relay *hc_relay_server_core(hc_relay_server *s);
/* The cluster node (NULL when not in a cluster), and its node socket's port (0: none). */
hc_cluster *hc_relay_server_cluster(hc_relay_server *s);
uint16_t hc_relay_server_node_port(const hc_relay_server *s);
const hc_relay_io_stats *hc_relay_server_io_stats(const hc_relay_server *s);
/* Meetings listed in the stats' "video_meetings" (the busiest with video). */
#define HC_RELAY_STATS_VIDEO_MEETINGS 8
/* One JSON object (no newline) with the core's and the I/O layer's counters, per meeting the
 * video counters of the busiest few, and a cluster node's; returns its length (truncated to
 * cap - 1 like snprintf: 8192 bytes always hold it). */
size_t hc_relay_server_stats_json(const hc_relay_server *s, char *buf, size_t cap);
/* Clean shutdown: ERROR(shutdown) to every client, flush (bounded by a short linger), close every
 * handle, free everything, then call done(arg) on the loop. The server must not be used after. */
void hc_relay_server_stop(hc_relay_server *s, void (*done)(void *arg), void *arg);

#endif
