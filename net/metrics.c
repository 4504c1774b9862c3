/* The relay's Prometheus endpoint (net/metrics.h). */
#include "net/metrics.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/wire.h"

#define METRICS_BUF 65536

struct hc_metrics {
    struct MHD_Daemon *d;
    pthread_mutex_t mu;
    hc_metrics_snapshot snap;
    uint16_t port;
};

typedef struct { char *buf; size_t cap, len; } out;

static void put(out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(out *o, const char *fmt, ...) {
    if (o->len >= o->cap) return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
    va_end(ap);
    if (n > 0) o->len += (size_t)n;
    if (o->len >= o->cap) o->len = o->cap;
}

/* One metric with its HELP and TYPE lines and a single unlabelled sample. */
static void metric(out *o, const char *name, const char *type, const char *help, uint64_t v) {
    put(o, "# HELP hushcall_relay_%s %s\n# TYPE hushcall_relay_%s %s\nhushcall_relay_%s %" PRIu64 "\n", name, help,
        name, type, name, v);
}
static void family(out *o, const char *name, const char *type, const char *help) {
    put(o, "# HELP hushcall_relay_%s %s\n# TYPE hushcall_relay_%s %s\n", name, help, name, type);
}
static void sample(out *o, const char *name, const char *label, const char *lv, uint64_t v) {
    put(o, "hushcall_relay_%s{%s=\"%s\"} %" PRIu64 "\n", name, label, lv, v);
}

size_t hc_metrics_render(const hc_metrics_snapshot *s, char *buf, size_t cap) {
    out o = {buf, cap, 0};
    const hc_relay_stats *st = &s->st;
    const hc_relay_io_stats *io = &s->io;
    if (cap) buf[0] = 0;
    /* gauges: what is there now */
    put(&o, "# HELP hushcall_relay_uptime_seconds Seconds since the relay started.\n"
            "# TYPE hushcall_relay_uptime_seconds gauge\nhushcall_relay_uptime_seconds %.3f\n",
        (double)s->uptime_ms / 1000.0);
    metric(&o, "meetings", "gauge", "Meetings hosted now.", st->meetings);
    metric(&o, "members", "gauge", "Members in meetings now.", st->members);
    metric(&o, "connections", "gauge", "Control connections open now.", st->connections);
    /* counters: totals since start (Prometheus convention: _total) */
    metric(&o, "meetings_created_total", "counter", "Meetings created (including resumed).", st->meetings_created);
    metric(&o, "meetings_resumed_total", "counter", "Meetings re-created by RESUME.", st->meetings_resumed);
    metric(&o, "joins_total", "counter", "Members admitted to a meeting (CREATE, JOIN, RESUME).", st->joins);
    metric(&o, "ctrl_in_total", "counter", "Control frames received.", st->ctrl_in);
    metric(&o, "ctrl_out_total", "counter", "Control frames sent.", st->ctrl_out);
    metric(&o, "media_in_total", "counter", "Media datagrams received.", st->media_in);
    metric(&o, "media_out_total", "counter", "Media datagrams forwarded.", st->media_out);
    metric(&o, "udp_rx_total", "counter", "UDP datagrams read.", io->udp_rx);
    metric(&o, "udp_tx_total", "counter", "UDP datagrams handed to the kernel.", io->udp_tx);
    metric(&o, "tcp_bytes_in_total", "counter", "Control bytes received.", io->tcp_bytes_in);
    metric(&o, "tcp_bytes_out_total", "counter", "Control bytes sent.", io->tcp_bytes_out);
    metric(&o, "media_register_total", "counter", "Media endpoint registrations.", st->media_register);
    metric(&o, "keyboxes_routed_total", "counter", "Key boxes routed to members.", st->keyboxes_routed);
    metric(&o, "roster_deltas_total", "counter", "Roster deltas from leaders, each forwarded to every member.",
           st->roster_deltas);
    metric(&o, "roster_copies_total", "counter", "Whole rosters sent to members that asked for one.", st->roster_copies);
    metric(&o, "leader_probes_total", "counter", "PINGs sent to leaders whose heartbeats were late.", st->leader_probes);
    metric(&o, "indexes_reused_total", "counter", "Never-announced member indexes handed out again.", st->indexes_reused);

    family(&o, "media_dropped_total", "counter", "Media datagrams not forwarded, by reason.");
    sample(&o, "media_dropped_total", "reason", "malformed", st->media_drop_malformed);
    sample(&o, "media_dropped_total", "reason", "unregistered", st->media_drop_unregistered);
    sample(&o, "media_dropped_total", "reason", "spoofed", st->media_drop_spoofed);
    sample(&o, "media_dropped_total", "reason", "not_loudest", st->media_drop_not_loudest);
    sample(&o, "media_dropped_total", "reason", "queue", st->media_drop_queue + io->udp_drop_queue);
    sample(&o, "media_dropped_total", "reason", "send_error", io->udp_send_errors);
    sample(&o, "media_dropped_total", "reason", "impair", st->media_drop_impair + io->impair_dropped);
    sample(&o, "media_dropped_total", "reason", "impair_queue_full", io->impair_queue_full);

    family(&o, "ctrl_errors_total", "counter", "Control frames refused, by kind (malformed kinds and protocol).");
    for (int e = 1; e < HC_WERR_COUNT; e++)
        sample(&o, "ctrl_errors_total", "kind", hc_wire_err_name((hc_wire_err)e), st->ctrl_errors[e]);
    sample(&o, "ctrl_errors_total", "kind", "protocol", st->ctrl_protocol_errors);

    family(&o, "disconnects_total", "counter", "Connections closed or refused by the relay, by reason.");
    sample(&o, "disconnects_total", "reason", "backlog", io->backlog_disconnects);
    sample(&o, "disconnects_total", "reason", "refused_per_addr", st->conns_refused);
    sample(&o, "disconnects_total", "reason", "refused_global", io->conns_rejected_global);
    sample(&o, "disconnects_total", "reason", "idle", st->idle_closed);
    sample(&o, "disconnects_total", "reason", "leader_silent", st->leader_silent);
    sample(&o, "disconnects_total", "reason", "unjoined_evicted", st->unjoined_evicted);
    sample(&o, "disconnects_total", "reason", "join_timeout", st->join_timeouts);
    sample(&o, "disconnects_total", "reason", "join_rate_limited", st->joins_rate_limited);
    sample(&o, "disconnects_total", "reason", "flood", st->ctrl_flood_closed);

    family(&o, "announce_total", "counter", "Announcements: nonce rotations received, sent on to a leader (at most one per member per 500 ms), first ones refused.");
    sample(&o, "announce_total", "what", "rotations", st->announce_rotations);
    sample(&o, "announce_total", "what", "rotations_forwarded", st->announce_rotations_fwd);
    sample(&o, "announce_total", "what", "refused", st->announce_refused);

    family(&o, "impair_total", "counter", "Impairment (tests): media copies duplicated or delayed, control frames delayed.");
    sample(&o, "impair_total", "what", "duplicated", io->impair_duplicated);
    sample(&o, "impair_total", "what", "delayed", io->impair_delayed);
    sample(&o, "impair_total", "what", "ctrl_delayed", io->ctrl_delayed);

    metric(&o, "video_in_total", "counter", "Video datagrams received.", st->video_in);
    metric(&o, "video_out_total", "counter", "Video datagrams forwarded.", st->video_out);
    metric(&o, "video_frames_total", "counter", "Video frames ended, as senders flag them.", st->video_frames);
    metric(&o, "video_keyframes_total", "counter", "Video keyframes started, as senders flag them.", st->video_keyframes);
    metric(&o, "video_keyreq_in_total", "counter", "Keyframe requests from receivers.", st->video_keyreq_in);
    metric(&o, "video_keyreq_out_total", "counter", "Merged keyframe requests sent to senders.", st->video_keyreq_out);
    metric(&o, "video_not_selected_total", "counter", "Video not forwarded: sender not among last-N or pins.", st->video_drop_not_selected);
    metric(&o, "video_wait_key_total", "counter", "Video not forwarded: receiver waits for a keyframe.", st->video_drop_wait_key);
    metric(&o, "video_status_sent_total", "counter", "Video STATUS messages sent to senders.", st->video_status_sent);
    metric(&o, "video_ctrl_ignored_total", "counter", "VIDEO control frames that made no sense.", st->video_ctrl_ignored);

    /* The busiest meetings with video, like the stats line's video_meetings (the id is all digits:
     * safe in a label value). */
    if (s->n_video) {
        static const char *const vn[] = {"members", "cameras", "in", "out", "frames", "keyframes", "keyreq_in", "keyreq_out"};
        for (int k = 0; k < 8; k++) {
            char name[64];
            snprintf(name, sizeof name, "video_meeting_%s%s", vn[k], k < 2 ? "" : "_total");
            family(&o, name, k < 2 ? "gauge" : "counter", "Per meeting (the busiest with video), as in --stats-interval's video_meetings.");
            for (size_t i = 0; i < s->n_video; i++) {
                const hc_relay_video_meeting *v = &s->video[i];
                uint64_t val[] = {v->members, v->cameras, v->in, v->out, v->frames, v->keyframes, v->keyreq_in, v->keyreq_out};
                sample(&o, name, "meeting_id", v->meeting_id, val[k]);
            }
        }
    }
    return o.len < cap ? o.len : cap ? cap - 1 : 0;
}

static enum MHD_Result answer(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                              const char *version, const char *upload, size_t *upload_len, void **con_cls) {
    (void)version; (void)upload; (void)upload_len; (void)con_cls;
    hc_metrics *m = cls;
    struct MHD_Response *r;
    unsigned status;
    if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
        static const char msg[] = "only GET\n";
        r = MHD_create_response_from_buffer(sizeof msg - 1, (void *)msg, MHD_RESPMEM_PERSISTENT);
        status = MHD_HTTP_METHOD_NOT_ALLOWED;
    } else if (strcmp(url, "/metrics") && strcmp(url, "/")) {
        static const char msg[] = "not found: the metrics are at /metrics\n";
        r = MHD_create_response_from_buffer(sizeof msg - 1, (void *)msg, MHD_RESPMEM_PERSISTENT);
        status = MHD_HTTP_NOT_FOUND;
    } else {
        hc_metrics_snapshot snap;
        pthread_mutex_lock(&m->mu);
        snap = m->snap;
        pthread_mutex_unlock(&m->mu);
        char *buf = malloc(METRICS_BUF);
        if (!buf) return MHD_NO;
        size_t n = hc_metrics_render(&snap, buf, METRICS_BUF);
        r = MHD_create_response_from_buffer(n, buf, MHD_RESPMEM_MUST_FREE);
        if (!r) { free(buf); return MHD_NO; }
        MHD_add_response_header(r, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
        status = MHD_HTTP_OK;
    }
    if (!r) return MHD_NO;
    enum MHD_Result ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

hc_metrics *hc_metrics_start(const char *host, uint16_t port, char *err, size_t errlen) {
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
    struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons(port);
    } else if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons(port);
        flags |= MHD_USE_IPv6;
    } else {
        snprintf(err, errlen, "'%s' is not a numeric IPv4 or IPv6 address", host);
        return NULL;
    }
    hc_metrics *m = calloc(1, sizeof *m);
    if (!m) { snprintf(err, errlen, "out of memory"); return NULL; }
    pthread_mutex_init(&m->mu, NULL);
    /* A scraper gets a few connections and a short timeout: the endpoint cannot be used to hold
     * the relay's descriptors. */
    m->d = MHD_start_daemon(flags, port, NULL, NULL, answer, m, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
                            MHD_OPTION_CONNECTION_LIMIT, (unsigned)16, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10,
                            MHD_OPTION_END);
    if (!m->d) {
        snprintf(err, errlen, "cannot serve metrics on %s:%u (address in use or not local?)", host, port);
        pthread_mutex_destroy(&m->mu);
        free(m);
        return NULL;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(m->d, MHD_DAEMON_INFO_BIND_PORT);
    m->port = di ? di->port : port;
    return m;
}

uint16_t hc_metrics_port(const hc_metrics *m) { return m->port; }

void hc_metrics_update(hc_metrics *m, const hc_metrics_snapshot *snap) {
    pthread_mutex_lock(&m->mu);
    m->snap = *snap;
    pthread_mutex_unlock(&m->mu);
}

void hc_metrics_stop(hc_metrics *m) {
    if (!m) return;
    MHD_stop_daemon(m->d);
    pthread_mutex_destroy(&m->mu);
    free(m);
}
