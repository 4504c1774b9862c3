/* The relay's Prometheus endpoint (`hushcall relay --metrics 127.0.0.1:9400`): GET /metrics answers
 * the counters of --stats-interval in the Prometheus text format (hushcall_relay_*), served by
 * libmicrohttpd.
 *
 * Threading: MHD runs its own polling thread (MHD_USE_INTERNAL_POLLING_THREAD) and never touches
 * the relay. The loop copies the counters into a snapshot under a mutex on every tick (50 ms);
 * a scrape formats the latest snapshot. We chose this over MHD_USE_NO_THREAD_SAFETY with its fd
 * polled by libuv because MHD's external-select mode needs its timeout re-armed after every call
 * and hands back several fds (listen socket and one per client) that would each need a uv_poll_t
 * kept in step with MHD's internal state: more code on the media path's loop, and a slow or
 * stalled scraper could cost the loop time. A thread copying ~100 integers under a mutex costs
 * the loop a memcpy per tick, and whatever a scraper does it cannot block the relay. */
#ifndef HC_METRICS_H
#define HC_METRICS_H

#include <stddef.h>
#include "net/relay.h"

typedef struct {
    hc_relay_stats st;
    hc_relay_io_stats io;
    uint64_t uptime_ms;
    size_t n_video;
    hc_relay_video_meeting video[HC_RELAY_STATS_VIDEO_MEETINGS];
} hc_metrics_snapshot;

typedef struct hc_metrics hc_metrics;

/* Listens on host:port (numeric address). Returns NULL with a message in err. */
hc_metrics *hc_metrics_start(const char *host, uint16_t port, char *err, size_t errlen);
/* The port it listens on (useful with port 0). */
uint16_t hc_metrics_port(const hc_metrics *m);
/* Called on the loop: replaces the snapshot (copied under the mutex). */
void hc_metrics_update(hc_metrics *m, const hc_metrics_snapshot *snap);
void hc_metrics_stop(hc_metrics *m);
/* The text exposition of a snapshot; returns its length (truncated to cap - 1 like snprintf). */
size_t hc_metrics_render(const hc_metrics_snapshot *s, char *buf, size_t cap);

#endif
