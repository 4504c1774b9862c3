/* A participant's video (see engine.h). */
#include "video/engine.h"

#include <stdlib.h>
#include <string.h>

#include "net/wire.h"
#include "video/receiver.h"
#include "video/sender.h"
#include "video/source.h"
#include "video/y4m.h"

#define RATE_MS 1000              /* fps and kbit/s over this window */
/* Latency percentiles are over the last this many pictures of a sender (17 s at 15 fps): a
 * window, so the stats of a long call show its present and not its start (the first pictures
 * wait for the key). A fixed ring: recording a picture's latency allocates nothing. */
#define LAT_WINDOW 256
/* Lip sync: a decoded picture waits as long as the sender's audio waits beyond the network (its
 * frame, the codec's look-ahead, our jitter buffer: hc_video_engine_set_av_hold), so picture and
 * sound come out together. At most this many pictures wait per sender (8 at 15 fps is 530 ms,
 * more than the hold's cap); a ninth shows the oldest at once rather than grow. */
#define HOLD_MAX 8
#define HOLD_CAP_MS 400

typedef struct {
    int used;
    hc_video_receiver rx;
    hc_video_frame pic;           /* the latest picture (owned; reallocated only when the size changes) */
    int have_pic;
    uint64_t last_use_ms;
    /* rates */
    uint64_t win_decoded, win_bytes;
    double fps, kbps;
    int64_t latency_ms;           /* capture -> decoded, last frame (same-machine clocks only) */
    double latency_sum;
    uint64_t latency_n;
    int32_t lat[LAT_WINDOW];      /* the last pictures' latencies (ring; lat_n of them are valid) */
    unsigned lat_head, lat_n;
    /* pictures decoded but not yet due (lip sync), oldest first; frames reallocated only when
     * the size changes */
    uint32_t hold_ms;
    hc_video_frame held[HOLD_MAX];
    uint64_t held_due[HOLD_MAX];
    unsigned held_head, held_n;
    uint64_t last_due;            /* pictures never show out of order when the hold shrinks */
} rx_slot;

struct hc_video_engine {
    uv_loop_t *loop;
    hc_video_config cfg;
    hc_video_callbacks cb;
    hc_video_source *src;
    int camera_on;
    char desc[300];
    hc_video_sender tx;
    int tx_ready;
    hc_video_frame self;          /* what we sent last (the self-view) */
    int have_self;
    rx_slot rx[HC_VIDEO_RX_MAX];
    hc_y4m_writer out;
    int recording;
    uint32_t speaker, recorded, pin;
    uint32_t receivers;           /* the relay's last STATUS (UINT32_MAX: none yet) */
    uint64_t now, win_start, win_tx_frames, win_tx_bytes;
    double tx_fps, tx_kbps;
    uint64_t recorded_frames;
};

static void slot_free(rx_slot *r)
{
    hc_video_receiver_free(&r->rx);
    hc_video_frame_free(&r->pic);
    for (int k = 0; k < HOLD_MAX; k++) hc_video_frame_free(&r->held[k]);
    memset(r, 0, sizeof *r);
}

void hc_video_config_defaults(hc_video_config *c)
{
    memset(c, 0, sizeof *c);
    c->in.kind = HC_VIDEO_NONE;
    c->in.sender = c->out.sender = -1;
    c->out.kind = HC_VIDEO_NONE;
    c->w = 160;
    c->h = 90;
    c->fps = 15;
    c->kbps = 100;
}

static void ev(hc_video_engine *e, int type, uint32_t index, const char *text)
{
    if (e->cb.event) e->cb.event(e->cb.ctx, type, index, text);
}

static int tx_send(void *ctx, uint8_t flags, const uint8_t *pt, size_t len)
{
    hc_video_engine *e = ctx;
    return e->cb.send ? e->cb.send(e->cb.ctx, flags, pt, len) : -1;
}

int hc_video_engine_new(hc_video_engine **out, uv_loop_t *loop, const hc_video_config *cfg,
                        const hc_video_callbacks *cb, char *err, size_t errlen)
{
    hc_video_engine *e = calloc(1, sizeof *e);
    if (!e) { snprintf(err, errlen, "out of memory"); return -1; }
    e->loop = loop;
    e->cfg = *cfg;
    e->cb = *cb;
    e->receivers = UINT32_MAX;
    if (cfg->out.kind == HC_VIDEO_Y4M) {
        if (hc_y4m_writer_open(&e->out, cfg->out.path, cfg->fps, err, errlen) < 0) {
            free(e);
            return -1;
        }
        e->recording = 1;
    }
    *out = e;
    return 0;
}

static void close_source(hc_video_engine *e)
{
    if (e->src) e->src->ops->close(e->src);
    e->src = NULL;
    if (e->tx_ready) hc_video_sender_free(&e->tx);
    e->tx_ready = 0;
    e->camera_on = 0;
    e->have_self = 0;
}

void hc_video_engine_free(hc_video_engine *e)
{
    if (!e) return;
    close_source(e);
    for (int i = 0; i < HC_VIDEO_RX_MAX; i++)
        if (e->rx[i].used) slot_free(&e->rx[i]);
    hc_video_frame_free(&e->self);
    if (e->recording) hc_y4m_writer_close(&e->out);
    free(e);
}

static int can_send(hc_video_engine *e) { return e->cb.can_send ? e->cb.can_send(e->cb.ctx) : 1; }

static void on_frame(void *ctx, const hc_video_frame *f)
{
    hc_video_engine *e = ctx;
    if (!e->tx_ready) return;
    uint64_t before = e->tx.st.bytes_sent, frames = e->tx.st.frames_sent;
    hc_video_sender_frame(&e->tx, f, can_send(e), e->now ? e->now : uv_now(e->loop));
    e->win_tx_bytes += e->tx.st.bytes_sent - before;
    e->win_tx_frames += e->tx.st.frames_sent - frames;
    if (e->self.owned) {
        hc_video_frame_copy_scaled(&e->self, f);
        e->have_self = 1;
        if (e->cb.picture) e->cb.picture(e->cb.ctx, 0);
    }
}

/* Called on the loop thread (sources promise it), at most once per source. */
static void on_error(void *ctx, const char *message)
{
    hc_video_engine *e = ctx;
    char text[400];
    snprintf(text, sizeof text, "%s; the call goes on without your video", message);
    close_source(e);
    if (e->cb.ctrl) e->cb.ctrl(e->cb.ctx, HC_VOP_OFFER, 0, 0);
    ev(e, HC_VIDEO_EV_CAMERA_ERROR, 0, text);
}

/* Opens and starts the source spec names. 0, or -1 with why (nothing left open). */
static int open_source(hc_video_engine *e, const hc_video_spec *spec, const hc_video_source_params *p, char *why,
                       size_t whylen)
{
    if (hc_video_source_open(&e->src, spec, e->loop, p, on_frame, on_error, e, why, whylen) < 0) {
        e->src = NULL;
        return -1;
    }
    if (e->src->ops->start(e->src, why, whylen) < 0) {
        e->src->ops->close(e->src);
        e->src = NULL;
        return -1;
    }
    return 0;
}

int hc_video_engine_camera(hc_video_engine *e, int on, char *err, size_t errlen)
{
    if (!on) {
        if (!e->camera_on) return 0;
        close_source(e);
        if (e->cb.ctrl) e->cb.ctrl(e->cb.ctx, HC_VOP_OFFER, 0, 0);
        ev(e, HC_VIDEO_EV_CAMERA_OFF, 0, "");
        return 0;
    }
    if (e->camera_on) return 0;
    hc_video_spec spec = e->cfg.in;
    if (spec.kind == HC_VIDEO_NONE) spec.kind = HC_VIDEO_CAMERA;   /* `video on` without --video-in */
    hc_vp8_params vp = {.w = e->cfg.w, .h = e->cfg.h, .fps = e->cfg.fps, .kbps = e->cfg.kbps};
    char why[300];
    if (hc_video_sender_init(&e->tx, &vp, tx_send, e, why, sizeof why) < 0) {
        hc_video_sender_free(&e->tx);
        goto fail;
    }
    e->tx_ready = 1;
    if (e->receivers == 0) hc_video_sender_receivers(&e->tx, 0);
    if (!e->self.owned && hc_video_frame_alloc(&e->self, e->cfg.w, e->cfg.h) < 0) {
        snprintf(why, sizeof why, "out of memory");
        goto fail;
    }
    hc_video_source_params p = {.w = e->cfg.w, .h = e->cfg.h, .fps = e->cfg.fps, .vclock = e->cfg.vclock};
    char fell_back[340] = "";
    if (open_source(e, &spec, &p, why, sizeof why) < 0) {
        if (!e->cfg.fallback_pattern || spec.kind != HC_VIDEO_CAMERA) goto fail;
        /* No camera here (the demo): the pattern, and the reason in words, once. */
        snprintf(fell_back, sizeof fell_back, "%.300s", why);
        hc_video_spec pat = {.kind = HC_VIDEO_PATTERN, .sender = -1};
        if (open_source(e, &pat, &p, why, sizeof why) < 0) goto fail;
    }
    e->camera_on = 1;
    if (fell_back[0])
        snprintf(e->desc, sizeof e->desc, "%.60s instead of a camera (%.200s)", e->src->desc, fell_back);
    else
        snprintf(e->desc, sizeof e->desc, "%s", e->src->desc);
    if (e->cb.ctrl) e->cb.ctrl(e->cb.ctx, HC_VOP_OFFER, 0, 1);
    ev(e, HC_VIDEO_EV_CAMERA_ON, 0, e->desc);
    return 0;
fail:
    close_source(e);
    snprintf(err, errlen, "%s", why);
    char text[400];
    snprintf(text, sizeof text, "%s; the call goes on without your video", why);
    ev(e, HC_VIDEO_EV_CAMERA_ERROR, 0, text);
    return -1;
}

int hc_video_engine_camera_on(const hc_video_engine *e) { return e->camera_on; }
const char *hc_video_engine_describe(const hc_video_engine *e) { return e->camera_on ? e->desc : "off"; }

void hc_video_engine_joined(hc_video_engine *e)
{
    e->receivers = UINT32_MAX;
    if (e->tx_ready) hc_video_sender_receivers(&e->tx, 1);
    if (!e->cb.ctrl) return;
    if (e->camera_on) e->cb.ctrl(e->cb.ctx, HC_VOP_OFFER, 0, 1);
    if (e->pin) e->cb.ctrl(e->cb.ctx, HC_VOP_PIN, e->pin, 0);
}

static rx_slot *slot_for(hc_video_engine *e, uint32_t sender, int create)
{
    rx_slot *free_slot = NULL, *oldest = NULL;
    for (int i = 0; i < HC_VIDEO_RX_MAX; i++) {
        rx_slot *r = &e->rx[i];
        if (r->used && r->rx.sender == sender) return r;
        if (!r->used && !free_slot) free_slot = r;
        if (r->used && (!oldest || r->last_use_ms < oldest->last_use_ms)) oldest = r;
    }
    if (!create) return NULL;
    rx_slot *r = free_slot;
    if (!r) {            /* more senders than slots (a relay ignoring last-N): the stalest goes */
        r = oldest;
        if (r->rx.started) ev(e, HC_VIDEO_EV_STOPPED, r->rx.sender, "stopped");
        slot_free(r);
    }
    if (hc_video_receiver_init(&r->rx, sender, HC_VIDEO_MAX_W, HC_VIDEO_MAX_H) < 0) {
        hc_video_receiver_free(&r->rx);
        return NULL;
    }
    r->used = 1;
    return r;
}

static void rx_request(void *ctx, uint32_t sender, int need_key)
{
    hc_video_engine *e = ctx;
    if (e->cb.ctrl) e->cb.ctrl(e->cb.ctx, HC_VOP_KEYREQ, sender, need_key ? 1 : 0);
}

/* Copies pic into dst, (re)allocating dst only when the size differs. 0, or -1 out of memory. */
static int keep_copy(hc_video_frame *dst, const hc_video_frame *pic)
{
    if (!dst->owned || dst->w != pic->w || dst->h != pic->h) {
        hc_video_frame_free(dst);
        if (hc_video_frame_alloc(dst, pic->w, pic->h) < 0) return -1;
    }
    hc_video_frame_copy_scaled(dst, pic);
    return 0;
}

/* A picture is due: it becomes the one front ends draw, and the one recorded. */
static void show(hc_video_engine *e, rx_slot *r, const hc_video_frame *pic)
{
    if (keep_copy(&r->pic, pic) < 0) return;
    r->have_pic = 1;
    if (e->cb.picture) e->cb.picture(e->cb.ctx, r->rx.sender);
    uint32_t want = e->cfg.out.sender >= 0 ? (uint32_t)e->cfg.out.sender : e->recorded;
    if (e->recording && r->rx.sender == want) {
        hc_y4m_writer_put(&e->out, pic);
        e->recorded_frames++;
    }
}

static void show_due(hc_video_engine *e, rx_slot *r, uint64_t now_ms)
{
    while (r->held_n && r->held_due[r->held_head] <= now_ms) {
        show(e, r, &r->held[r->held_head]);
        r->held_head = (r->held_head + 1) % HOLD_MAX;
        r->held_n--;
    }
}

static void rx_picture(void *ctx, uint32_t sender, const hc_video_frame *pic, uint32_t capture_ms, uint32_t seq)
{
    hc_video_engine *e = ctx;
    rx_slot *r = slot_for(e, sender, 0);
    if (!r) return;
    (void)seq;
    uint64_t now = e->now;
    if (!r->hold_ms && !r->held_n) {
        show(e, r, pic);
    } else {
        if (r->held_n == HOLD_MAX) {   /* full: the oldest shows now rather than memory growing */
            show(e, r, &r->held[r->held_head]);
            r->held_head = (r->held_head + 1) % HOLD_MAX;
            r->held_n--;
        }
        unsigned k = (r->held_head + r->held_n) % HOLD_MAX;
        if (keep_copy(&r->held[k], pic) == 0) {
            uint64_t due = now + r->hold_ms;
            if (due < r->last_due) due = r->last_due;
            r->held_due[k] = r->last_due = due;
            r->held_n++;
        }
        show_due(e, r, now);
    }
    r->win_decoded++;
    r->latency_ms = (int32_t)(hc_video_clock_ms() - capture_ms);
    r->latency_sum += (double)r->latency_ms;
    r->latency_n++;
    r->lat[r->lat_head] = (int32_t)r->latency_ms;
    r->lat_head = (r->lat_head + 1) % LAT_WINDOW;
    if (r->lat_n < LAT_WINDOW) r->lat_n++;
}

void hc_video_engine_set_av_hold(hc_video_engine *e, uint32_t sender, uint32_t hold_ms)
{
    rx_slot *r = slot_for(e, sender, 0);
    if (r) r->hold_ms = hold_ms > HOLD_CAP_MS ? HOLD_CAP_MS : hold_ms;
}

uint64_t hc_video_engine_next_due(const hc_video_engine *e)
{
    uint64_t next = UINT64_MAX;
    for (int i = 0; i < HC_VIDEO_RX_MAX; i++) {
        const rx_slot *r = &e->rx[i];
        if (r->used && r->held_n && r->held_due[r->held_head] < next) next = r->held_due[r->held_head];
    }
    return next;
}

void hc_video_engine_show_due(hc_video_engine *e, uint64_t now_ms)
{
    e->now = now_ms;
    for (int i = 0; i < HC_VIDEO_RX_MAX; i++)
        if (e->rx[i].used) show_due(e, &e->rx[i], now_ms);
}

void hc_video_engine_receive(hc_video_engine *e, uint32_t sender, uint8_t flags, const uint8_t *pt, size_t len,
                             uint64_t now_ms)
{
    e->now = now_ms;
    rx_slot *r = slot_for(e, sender, 1);
    if (!r) return;
    r->last_use_ms = now_ms;
    r->win_bytes += len;
    /* --video-out without sender=: the speaker, or the first with video until someone speaks. */
    if (!e->recorded) e->recorded = sender;
    int was = r->rx.started;
    hc_video_receiver_fragment(&r->rx, flags, pt, len, now_ms, rx_picture, rx_request, e);
    if (!was && r->rx.started) ev(e, HC_VIDEO_EV_STARTED, sender, "");
}

void hc_video_engine_ctrl(hc_video_engine *e, uint8_t op, uint32_t index, uint32_t value)
{
    (void)index;
    if (op == HC_VOP_KEYREQ) {
        if (e->tx_ready) hc_video_sender_keyreq(&e->tx, value != 0);
    } else if (op == HC_VOP_STATUS) {
        e->receivers = value;
        if (e->tx_ready) hc_video_sender_receivers(&e->tx, value);
    }
}

void hc_video_engine_members_added(hc_video_engine *e)
{
    if (e->tx_ready) hc_video_sender_members_added(&e->tx);
}

void hc_video_engine_forget_sender(hc_video_engine *e, uint32_t index)
{
    rx_slot *r = slot_for(e, index, 0);
    if (!r) return;
    if (r->rx.started) ev(e, HC_VIDEO_EV_STOPPED, index, "left");
    slot_free(r);
    if (e->recorded == index) e->recorded = 0;
}

void hc_video_engine_pin(hc_video_engine *e, uint32_t index)
{
    e->pin = index;
    if (e->cb.ctrl) e->cb.ctrl(e->cb.ctx, HC_VOP_PIN, index ? index : HC_VIDEO_UNPIN, 0);
}

void hc_video_engine_set_speaker(hc_video_engine *e, uint32_t index)
{
    if (!index) return;
    e->speaker = index;
    /* Record the speaker only once its video is up: a switch to someone without a picture
     * would leave the recording frozen. */
    rx_slot *r = slot_for(e, index, 0);
    if (r && r->rx.started) e->recorded = index;
}

void hc_video_engine_tick(hc_video_engine *e, uint64_t now_ms)
{
    e->now = now_ms;
    for (int i = 0; i < HC_VIDEO_RX_MAX; i++) {
        rx_slot *r = &e->rx[i];
        if (!r->used) continue;
        show_due(e, r, now_ms);
        if (hc_video_receiver_tick(&r->rx, now_ms, rx_request, e)) {
            r->have_pic = 0;      /* a camera turned off is no picture, not a frozen one for ever */
            ev(e, HC_VIDEO_EV_STOPPED, r->rx.sender, "stopped");
        }
    }
    if (!e->win_start) e->win_start = now_ms;
    uint64_t span = now_ms - e->win_start;
    if (span >= RATE_MS) {
        double s = (double)span / 1000.0;
        e->tx_fps = (double)e->win_tx_frames / s;
        e->tx_kbps = (double)e->win_tx_bytes * 8.0 / 1000.0 / s;
        e->win_tx_frames = e->win_tx_bytes = 0;
        for (int i = 0; i < HC_VIDEO_RX_MAX; i++) {
            rx_slot *r = &e->rx[i];
            if (!r->used) continue;
            r->fps = (double)r->win_decoded / s;
            r->kbps = (double)r->win_bytes * 8.0 / 1000.0 / s;
            r->win_decoded = r->win_bytes = 0;
        }
        e->win_start = now_ms;
    }
}

const hc_video_frame *hc_video_engine_picture(const hc_video_engine *e, uint32_t index, int *live)
{
    if (index == 0) {
        if (live) *live = e->camera_on;
        return e->have_self ? &e->self : NULL;
    }
    for (int i = 0; i < HC_VIDEO_RX_MAX; i++) {
        const rx_slot *r = &e->rx[i];
        if (!r->used || r->rx.sender != index || !r->have_pic) continue;
        if (live) *live = r->rx.live;
        return &r->pic;
    }
    if (live) *live = 0;
    return NULL;
}

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return x < y ? -1 : x > y;
}

/* p50, p95 and max of a slot's latency window (nearest rank); all 0 when it is empty. Sorting a
 * copy happens only when stats are asked for, never per picture. */
static void latency_pcts(const rx_slot *r, int32_t *p50, int32_t *p95, int32_t *max)
{
    *p50 = *p95 = *max = 0;
    if (!r->lat_n) return;
    int32_t v[LAT_WINDOW];
    memcpy(v, r->lat, r->lat_n * sizeof v[0]);   /* the first lat_n entries, whatever their order */
    qsort(v, r->lat_n, sizeof v[0], cmp_i32);
    unsigned n = r->lat_n;
    *p50 = v[(n * 50 + 99) / 100 - 1];
    *p95 = v[(n * 95 + 99) / 100 - 1];
    *max = v[n - 1];
}

void hc_video_engine_stats_json(const hc_video_engine *e, FILE *f)
{
    const hc_video_sender_stats *t = &e->tx.st;
    fprintf(f,
            "\"video\":{\"camera\":%s,\"tx\":{\"frames_in\":%llu,\"frames_sent\":%llu,\"keyframes\":%llu,"
            "\"recoveries\":%llu,\"keyframe_requests\":%llu,\"paused\":%s,\"frames_skipped_paused\":%llu,"
            "\"frames_dropped\":%llu,\"fragments\":%llu,\"bytes\":%llu,\"max_frame_bytes\":%llu,\"fps\":%.1f,"
            "\"kbps\":%.1f,\"receivers\":%lld},\"recorded_frames\":%llu,\"rx\":[",
            e->camera_on ? "true" : "false", (unsigned long long)t->frames_in, (unsigned long long)t->frames_sent,
            (unsigned long long)t->keyframes, (unsigned long long)t->recoveries, (unsigned long long)t->keyreqs,
            e->tx_ready && e->tx.paused ? "true" : "false", (unsigned long long)t->frames_skipped_paused,
            (unsigned long long)t->frames_dropped, (unsigned long long)t->fragments_sent,
            (unsigned long long)t->bytes_sent, (unsigned long long)t->max_frame_bytes, e->tx_fps, e->tx_kbps,
            e->receivers == UINT32_MAX ? -1LL : (long long)e->receivers, (unsigned long long)e->recorded_frames);
    int first = 1;
    for (int i = 0; i < HC_VIDEO_RX_MAX; i++) {
        const rx_slot *r = &e->rx[i];
        if (!r->used) continue;
        const hc_video_rx_stats *s = &r->rx.st;
        int32_t p50, p95, pmax;
        latency_pcts(r, &p50, &p95, &pmax);
        fprintf(f,
                "%s{\"index\":%u,\"live\":%s,\"fragments\":%llu,\"frames\":%llu,\"decoded\":%llu,\"keyframes\":%llu,"
                "\"recoveries\":%llu,\"dropped\":%llu,\"decode_errors\":%llu,\"refused\":%llu,\"freezes\":%llu,"
                "\"keyframe_requests\":%llu,\"fps\":%.1f,\"kbps\":%.1f,\"latency_ms\":%lld,\"latency_avg_ms\":%.1f,"
                "\"latency_window\":%u,\"latency_p50_ms\":%ld,\"latency_p95_ms\":%ld,\"latency_max_ms\":%ld,"
                "\"av_hold_ms\":%u}",
                first ? "" : ",", r->rx.sender, r->rx.live ? "true" : "false", (unsigned long long)s->fragments,
                (unsigned long long)s->frames, (unsigned long long)s->decoded, (unsigned long long)s->keyframes,
                (unsigned long long)s->recoveries, (unsigned long long)s->undecodable,
                (unsigned long long)s->decode_errors, (unsigned long long)s->refused, (unsigned long long)s->freezes,
                (unsigned long long)s->requests, r->fps, r->kbps, (long long)r->latency_ms,
                r->latency_n ? r->latency_sum / (double)r->latency_n : 0.0, r->lat_n, (long)p50, (long)p95,
                (long)pmax, r->hold_ms);
        first = 0;
    }
    fprintf(f, "]}");
}
