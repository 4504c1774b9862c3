/* The participant's transport to the relay, on libuv: one TCP control connection (framed as in
 * net/wire.h) and one UDP socket for media. Moves bytes only: it does not interpret messages.
 *
 * Connecting retries with exponential backoff (200 ms doubling to 5 s, or to `backoff_max_ms`) until `connect_timeout_ms`
 * has passed. Media registration (REGISTER with the token from JOINED) is re-sent every 200 ms
 * until the relay answers REGISTERED (or MEDIA_READY arrives on TCP), then a KEEPALIVE every
 * 10 s. No blocking calls. */
#ifndef HC_CLIENT_H
#define HC_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "net/addr.h"

typedef struct hc_client hc_client;

typedef struct {
    void *ctx;
    /* The control connection is up (first time or after a reconnect). */
    void (*on_connected)(void *ctx);
    /* One complete control frame body (after the length field; decode with hc_msg_decode). */
    void (*on_frame)(void *ctx, const uint8_t *body, size_t len);
    /* The connection failed or dropped. will_retry: the client keeps trying (only before the
     * first success, within connect_timeout_ms, or after hc_client_reconnect()). */
    void (*on_disconnected)(void *ctx, const char *why, int will_retry);
    /* A media datagram from the relay (AUDIO/VIDEO; control datagrams are handled inside). */
    void (*on_media)(void *ctx, const uint8_t *pkt, size_t len);
    /* UDP registration confirmed. */
    void (*on_media_ready)(void *ctx);
} hc_client_callbacks;

typedef struct {
    const char *host;             /* relay host name or address */
    uint16_t port;                /* TCP and UDP port */
    uint32_t max_frame;           /* default HC_FRAME_MAX_DEFAULT */
    uint64_t connect_timeout_ms;  /* default 10000 */
    uint32_t backoff_max_ms;      /* longest wait between attempts, default 5000 */
    /* After TCP connects, the first whole frame must come within this (default 10000): a port
     * that accepts but never answers, or answers in another protocol, ends the connection with
     * a message saying "that port does not speak the hushcall protocol". */
    uint64_t handshake_timeout_ms;
    /* Several relays (nodes of one cluster), tried in order: instead of host and port when set.
     * A failed attempt moves on to the next at once, and the backoff applies only once each was
     * tried; a reconnect starts with the one after the relay it was on; an attempt to one of
     * several that does not connect within 2 s is abandoned for the next. */
    const hc_relay_list *relays;
} hc_client_config;

int hc_client_new(hc_client **out, uv_loop_t *loop, const hc_client_config *cfg,
                  const hc_client_callbacks *cb, char *err, size_t errlen);
/* Starts connecting (resolving the host name without blocking). */
void hc_client_start(hc_client *c);
/* Drops the connection (if any) and connects again with backoff (to the next relay of a list). */
void hc_client_reconnect(hc_client *c);
/* The relay it is connected or connecting to. */
void hc_client_current(const hc_client *c, const char **host, uint16_t *port);
/* Queues a complete frame (from hc_msg_encode). Returns 0, or -1 when not connected. */
int hc_client_send(hc_client *c, const uint8_t *frame, size_t len);
/* Begins UDP registration with the token from JOINED (restarts it with a new token). */
void hc_client_register_media(hc_client *c, const uint8_t token[16]);
/* Sends one media datagram (dropped silently before registration completes). Returns 0 or -1. */
int hc_client_send_media(hc_client *c, const uint8_t *pkt, size_t len);
/* Marks UDP registration as confirmed (called by the session when MEDIA_READY arrives on TCP). */
void hc_client_media_confirmed(hc_client *c);
/* Flushes queued frames, closes both sockets, then calls done (on the loop) and frees itself. */
void hc_client_close(hc_client *c, void (*done)(void *arg), void *arg);

#endif
