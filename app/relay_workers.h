/* `hushcall relay --workers N`: N relay processes on one machine that serve one port together, as
 * N nodes of a cluster (PROTOCOL.md §14.8), so that every core forwards media.
 *
 * The parent binds the relay's TCP and UDP port N times with SO_REUSEPORT (the kernel spreads
 * connections and media flows over the workers), forks the workers with their pair of sockets,
 * says `listening` once they all are, restarts one that dies, and stops them all on SIGINT or
 * SIGTERM. A participant's TCP connection and its UDP flow may land on different workers: the
 * worker that gets the UDP asks the others on the bus which member the token is (net/cluster_core.c).
 * Without --cluster the parent runs a private NATS server (nats-server on 127.0.0.1, JetStream in a
 * temporary directory, a random password) and a random cluster key for them. */
#ifndef HC_APP_RELAY_WORKERS_H
#define HC_APP_RELAY_WORKERS_H

#include "net/relay.h"

#define HC_RELAY_WORKERS_MAX 64

/* One per core (at least 1). */
int hc_relay_workers_auto(void);
/* Runs n workers; run(cfg, ready_fd) is one worker's relay (in the child). Returns the exit status. */
int hc_relay_workers_run(hc_relay_server_config *cfg, int n, int (*run)(hc_relay_server_config *cfg, int ready_fd));

#endif
