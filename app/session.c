/* A participant's session on libuv: transport + meeting + audio + front end (app/session.h).
 * Only glue: every decision is made by the meeting state machine or the audio engine. */
#include "app/session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/commands.h"
#include "app/verified.h"
#include "crypto/identity.h"
#include "net/client.h"
#include "ui/json.h"

#define TICK_MS 50          /* the meeting wants a tick at least every 50 ms */
#define UI_MS 100
#define REPORT_MS 2000          /* how often we may tell others about loss we see */
#define LOSS_HINT_TTL_MS 10000  /* a receiver's report counts this long */
#define REPORTERS_MAX 32        /* receivers whose latest report we keep */
#define REPORTED_MAX 150        /* senders we keep our last report about */
/* A stalled meeting whose relay has sent nothing at all for this long gets a new connection: a
 * relay that is merely slow or was stopped for a while (up to this) keeps the call as it was. */
#define RELAY_SILENT_MS 15000
#define RECONNECT_BACKOFF_MAX_MS 1000   /* a restarted relay is found within a second */

struct hc_session {
    uv_loop_t *loop;
    hc_session_config cfg;
    hc_identity id;
    hc_verified_store vstore;
    hc_client *client;
    hc_meeting *m;
    hc_audio_engine *audio;
    hc_video_engine *video;
    int video_autostart;          /* --video-in given: turn the source on when we have joined */
    int output_lost;              /* the front end's output is gone: leave, exit status 1 */
    int joined_since_epoch;       /* someone joined since our last key epoch: they need a keyframe */
    hc_frontend *fe;
    int fe_started;
    uv_timer_t tick, ui;
    uv_timer_t vshow;             /* the next held video picture is due (lip sync) */
    uv_signal_t sigint, sigterm;
    int handles_open;
    int finishing, finished;
    int exit_status;
    void (*done)(void *arg, hc_session *s);
    void *done_arg;
    char audio_note[256];
    uint64_t t0, joined_at, next_report, next_stats;
    /* FEC: the loss others report about our stream (the worst recent one drives the encoder) */
    struct { uint32_t from; uint8_t loss; uint64_t at; } reporters[REPORTERS_MAX];
    int loss_hint;
    /* what we last reported about each sender: reports go out only while there is loss to
     * report (and once more when it ends), so an all-clear meeting sends none: O(N^2) otherwise */
    struct { uint32_t index; uint8_t loss; } reported[REPORTED_MAX];
    size_t n_reported;
    hc_view_participant *vp;
    hc_member_info *mi;
    size_t vcap;
    /* reconnecting (PROTOCOL.md §11.10) */
    hc_meeting_config mc;         /* what each meeting object is made from */
    hc_meeting_io mio;
    hc_meeting_resume resume;     /* the meeting to get back into */
    int have_resume, reconnecting;
    uint64_t reconnect_since, stall_seen_at;
    unsigned reconnects;
    char net_note[160];
    char relay_desc[280];         /* "host:port", for the screen to say which relay failed */
    int paused;                   /* hc_session_pause: the microphone goes quiet, nobody is told */
    /* the send rate /stats shows: the bytes sent at the start of the current window */
    uint64_t rate_bytes, rate_at;
    double tx_kbps;
};

static uint64_t now_ms(const hc_session *s) { return uv_now(s->loop); }

/* ---- events ---- */

static void finish_soon(hc_session *s);

static void deliver_event(hc_session *s, const hc_event *ev) {
    if (s->fe && s->fe_started) s->fe->ops->on_event(s->fe, ev);
    if (s->cfg.observer) s->cfg.observer(s->cfg.observer_ctx, ev);
}

static void session_notice(hc_session *s, const char *text) {
    hc_event ev = {.type = HC_EV_NOTICE, .text = text, .t_ms = now_ms(s) - s->t0};
    deliver_event(s, &ev);
}

/* ---- meeting io ---- */

static void m_send_ctrl(void *ctx, const uint8_t *frame, size_t len) {
    hc_session *s = ctx;
    if (s->client) hc_client_send(s->client, frame, len);
}
static void m_send_media(void *ctx, const uint8_t *pkt, size_t len) {
    hc_session *s = ctx;
    if (s->client) hc_client_send_media(s->client, pkt, len);
}
static void m_event(void *ctx, const hc_event *in) {
    hc_session *s = ctx;
    /* The meeting counts time from its own start, and a reconnect makes a new meeting object:
     * events carry the session's time, so the log's clock does not jump back after a resume. */
    hc_event copy = *in;
    copy.t_ms = now_ms(s) - s->t0;
    const hc_event *ev = &copy;
    deliver_event(s, ev);
    if (ev->type == HC_EV_JOINED && !s->joined_at) s->joined_at = now_ms(s);
    if (ev->type == HC_EV_RECONNECTING && !s->stall_seen_at) s->stall_seen_at = now_ms(s) ? now_ms(s) : 1;
    if (ev->type == HC_EV_RECONNECTED) s->stall_seen_at = 0;
    if (ev->type == HC_EV_KEY_EPOCH && s->reconnecting) {
        /* Keyed in again: the meeting is back. */
        s->reconnecting = 0;
        s->stall_seen_at = 0;
        s->reconnects++;
        char t[120];
        snprintf(t, sizeof t, "back in the meeting (reconnect %u)", s->reconnects);
        hc_event r = {.type = HC_EV_RECONNECTED, .meeting_id = hc_meeting_id(s->m), .text = t,
                      .after_ms = now_ms(s) - s->reconnect_since, .t_ms = now_ms(s) - s->t0};
        deliver_event(s, &r);
    }
    if (ev->type == HC_EV_LEFT) finish_soon(s);
    if (ev->type == HC_EV_PARTICIPANT_LEFT && s->audio) hc_audio_engine_forget_sender(s->audio, ev->index);
    if (s->video) {
        if (ev->type == HC_EV_PARTICIPANT_LEFT) hc_video_engine_forget_sender(s->video, ev->index);
        if (ev->type == HC_EV_PARTICIPANT_JOINED) s->joined_since_epoch = 1;
        /* An epoch that added members came into use: they can decrypt us from now on and need a
         * picture to start from. (Keyframes made before the switch are under the old key.) */
        if (ev->type == HC_EV_KEY_EPOCH && s->joined_since_epoch) {
            s->joined_since_epoch = 0;
            hc_video_engine_members_added(s->video);
        }
        /* --video-in other than none: the source starts once we are in the meeting, so the
         * first events stay meeting/joined (the headless contract) and the offer goes out at once. */
        if (ev->type == HC_EV_JOINED && s->video_autostart) {
            s->video_autostart = 0;
            char verr[320];   /* a source that fails (no camera) is told as a camera event */
            hc_video_engine_camera(s->video, 1, verr, sizeof verr);
        }
        if (ev->type == HC_EV_JOINED || ev->type == HC_EV_RECONNECTED) hc_video_engine_joined(s->video);
    }
}
static void arm_video_show(hc_session *s);
static void m_video(void *ctx, uint32_t sender, uint8_t flags, const uint8_t *payload, size_t len) {
    hc_session *s = ctx;
    if (!s->video) return;
    hc_video_engine_receive(s->video, sender, flags, payload, len, now_ms(s));
    arm_video_show(s);
}
static void m_video_ctrl(void *ctx, uint8_t op, uint32_t index, uint32_t value) {
    hc_session *s = ctx;
    if (s->video) hc_video_engine_ctrl(s->video, op, index, value);
}

/* ---- video engine callbacks ---- */

static int v_send(void *ctx, uint8_t flags, const uint8_t *pt, size_t len) {
    hc_session *s = ctx;
    return hc_meeting_send_video(s->m, flags, pt, len, now_ms(s));
}
static int v_can_send(void *ctx) {
    hc_session *s = ctx;
    return hc_meeting_phase_get(s->m) == HC_MT_IN && hc_meeting_send_epoch(s->m) > 0 && !s->reconnecting;
}
static void v_ctrl(void *ctx, uint8_t op, uint32_t index, uint32_t value) {
    hc_session *s = ctx;
    hc_meeting_video_ctrl(s->m, op, index, value);
}
/* A picture became the one shown: the screen paints it now (lip sync held it as long as needed). */
static void v_picture(void *ctx, uint32_t index) {
    hc_session *s = ctx;
    if (!s->fe || !s->fe_started || !s->fe->ops->picture || s->finishing) return;
    int live = 0;
    const hc_video_frame *pic = hc_video_engine_picture(s->video, index, &live);
    if (!pic) return;
    s->fe->ops->picture(s->fe, index ? index : hc_meeting_self_index(s->m), pic, live);
}
static const char *name_of_member(hc_session *s, uint32_t index);
static void v_event(void *ctx, int type, uint32_t index, const char *text) {
    hc_session *s = ctx;
    hc_event ev = {.t_ms = now_ms(s) - s->t0, .index = index, .text = text};
    switch (type) {
    case HC_VIDEO_EV_STARTED: ev.type = HC_EV_VIDEO_STARTED; ev.name = name_of_member(s, index); break;
    case HC_VIDEO_EV_STOPPED:
        ev.type = HC_EV_VIDEO_STOPPED;
        ev.name = name_of_member(s, index);
        ev.reason = text && *text ? text : "stopped";
        ev.text = NULL;
        break;
    case HC_VIDEO_EV_CAMERA_ON: ev.type = HC_EV_CAMERA; ev.flag = 1; ev.reason = "user"; break;
    case HC_VIDEO_EV_CAMERA_OFF: ev.type = HC_EV_CAMERA; ev.flag = 0; ev.reason = "user"; break;
    default: ev.type = HC_EV_CAMERA; ev.flag = 0; ev.reason = "error"; break;
    }
    deliver_event(s, &ev);
}
static void m_media(void *ctx, uint32_t sender, const uint8_t *payload, size_t len) {
    hc_session *s = ctx;
    if (s->audio) hc_audio_engine_receive(s->audio, sender, payload, len);
}
/* The worst loss any receiver reported in the last LOSS_HINT_TTL_MS tunes our FEC. */
static void update_loss_hint(hc_session *s) {
    uint64_t now = now_ms(s);
    int worst = 0;
    for (int i = 0; i < REPORTERS_MAX; i++)
        if (s->reporters[i].at && now - s->reporters[i].at <= LOSS_HINT_TTL_MS && s->reporters[i].loss > worst)
            worst = s->reporters[i].loss;
    if (worst != s->loss_hint) {
        s->loss_hint = worst;
        if (s->audio) hc_audio_engine_set_loss_percent(s->audio, worst);
    }
}

static void m_loss_report(void *ctx, uint32_t from, uint8_t loss) {
    hc_session *s = ctx;
    int slot = 0;
    for (int i = 0; i < REPORTERS_MAX; i++) {
        if (s->reporters[i].from == from && s->reporters[i].at) { slot = i; break; }
        if (s->reporters[i].at < s->reporters[slot].at) slot = i;   /* else the oldest goes */
    }
    s->reporters[slot].from = from;
    s->reporters[slot].loss = loss > 100 ? 100 : loss;
    s->reporters[slot].at = now_ms(s);
    update_loss_hint(s);
}
static int m_remember(void *ctx, const uint8_t ivk[32], const char *name, char *err, size_t errlen) {
    hc_session *s = ctx;
    return hc_verified_add(&s->vstore, ivk, name, err, errlen);
}
static void m_media_token(void *ctx, const uint8_t token[16]) {
    hc_session *s = ctx;
    if (s->client) hc_client_register_media(s->client, token);
}
static void m_media_ready(void *ctx) {
    hc_session *s = ctx;
    if (s->client) hc_client_media_confirmed(s->client);
}

/* ---- reconnecting ---- */

static size_t members(hc_session *s);

/* A fresh meeting object for the meeting we were in: the old one (and every key in it) goes; the
 * audio devices, the identity and the front end stay. */
static int replace_meeting(hc_session *s) {
    size_t n = members(s);
    for (size_t i = 0; i < n && s->audio; i++) hc_audio_engine_forget_sender(s->audio, s->mi[i].index);
    hc_meeting_config mc = s->mc;
    mc.resume = &s->resume;
    hc_meeting *nm = hc_meeting_new(&mc, &s->mio, now_ms(s));
    if (!nm) return -1;
    hc_meeting_free(s->m);
    s->m = nm;
    s->n_reported = 0;
    return 0;
}

/* The relay connection is gone (or the relay went silent): keep what a rejoin needs and connect
 * again. Returns 0 when there is nothing to go back to (we never got in) or the time is up. */
static int start_reconnect(hc_session *s, const char *why) {
    if (!s->cfg.reconnect_s || s->finishing || hc_meeting_phase_get(s->m) == HC_MT_LEFT) return 0;
    hc_meeting_resume r;
    if (hc_meeting_resume_export(s->m, &r) == 0) {   /* else keep the one from before */
        hc_meeting_resume_free(&s->resume);
        s->resume = r;
        s->have_resume = 1;
    }
    if (!s->have_resume) return 0;
    uint64_t now = now_ms(s);
    if (!s->reconnecting) {
        s->reconnecting = 1;
        s->reconnect_since = s->stall_seen_at ? s->stall_seen_at : now;
        char t[400];
        snprintf(t, sizeof t, "%.200s; getting back into meeting %s", why ? why : "connection to the relay lost",
                 s->resume.meeting_id);
        hc_event ev = {.type = HC_EV_RECONNECTING, .reason = "connection_lost", .text = t,
                       .after_ms = (uint64_t)s->cfg.reconnect_s * 1000, .t_ms = now - s->t0};
        deliver_event(s, &ev);
    } else if (now - s->reconnect_since >= (uint64_t)s->cfg.reconnect_s * 1000) {
        return 0;
    }
    if (replace_meeting(s) < 0) return 0;
    hc_client_reconnect(s->client);
    return 1;
}

/* Called every tick: a stalled meeting whose relay says nothing gets a new connection; an attempt
 * that has not got us back in time ends the session (exit 5). */
static void reconnect_tick(hc_session *s, uint64_t now) {
    if (!s->cfg.reconnect_s || s->finishing) return;
    uint64_t limit = (uint64_t)s->cfg.reconnect_s * 1000;
    if (s->reconnecting) {
        if (now - s->reconnect_since < limit || hc_meeting_phase_get(s->m) == HC_MT_LEFT) return;
        char t[200];
        snprintf(t, sizeof t, "could not get back into meeting %s within %u s", s->resume.meeting_id, s->cfg.reconnect_s);
        hc_meeting_on_disconnected(s->m, t, now);
        return;
    }
    if (hc_meeting_stalled(s->m)) {
        if (now - hc_meeting_last_rx_ms(s->m) >= RELAY_SILENT_MS) start_reconnect(s, "the relay stopped answering");
    }
}

/* ---- client callbacks ---- */

/* "host:port" of the relay the client is on (one of several, with a list). */
static void relay_desc_update(hc_session *s) {
    const char *host;
    uint16_t port;
    hc_client_current(s->client, &host, &port);
    snprintf(s->relay_desc, sizeof s->relay_desc, strchr(host, ':') ? "[%.255s]:%u" : "%.255s:%u", host, (unsigned)port);
}

static void c_connected(void *ctx) {
    hc_session *s = ctx;
    relay_desc_update(s);
    if (hc_meeting_phase_get(s->m) == HC_MT_CONNECTING) hc_meeting_start(s->m, now_ms(s));
}
static void c_frame(void *ctx, const uint8_t *body, size_t len) {
    hc_session *s = ctx;
    uint64_t now = now_ms(s);
    hc_meeting_on_frame(s->m, body, len, now);
    /* Something due at once (a join to key, a switch to certify) does not wait for the tick. */
    if (hc_meeting_next_deadline(s->m) <= now) hc_meeting_tick(s->m, now);
}
static void c_disconnected(void *ctx, const char *why, int will_retry) {
    hc_session *s = ctx;
    relay_desc_update(s);
    if (will_retry && s->reconnecting) return;   /* the screen says "reconnecting" meanwhile */
    if (will_retry) {
        char t[600];
        const char *host;
        uint16_t port;
        hc_client_current(s->client, &host, &port);
        snprintf(t, sizeof t, "cannot reach the relay at %.255s:%u (%.200s); retrying", host, port,
                 why ? why : "connection failed");
        session_notice(s, t);
        return;
    }
    if (start_reconnect(s, why)) return;
    hc_meeting_on_disconnected(s->m, why, now_ms(s));
}
static void c_media(void *ctx, const uint8_t *pkt, size_t len) {
    hc_session *s = ctx;
    hc_meeting_on_media(s->m, pkt, len, now_ms(s));
}

/* ---- audio ---- */

static void a_payload(void *ctx, const uint8_t *payload, size_t len, uint8_t level) {
    hc_session *s = ctx;
    hc_meeting_send_audio(s->m, payload, len, level, now_ms(s));
}

/* The engine calls this once, with the recording already stopped and the file left valid; the
 * meeting is not affected. Front ends get an event (headless: a JSON line; the screen: a log
 * line), and the screen keeps it as its audio note. */
static void a_recording_failed(void *ctx, const hc_audio_recording_failure *f) {
    hc_session *s = ctx;
    const char *why = strerror(f->errnum);
    snprintf(s->audio_note, sizeof s->audio_note, "recording to %.150s stopped: %.80s", f->path, why);
    hc_event ev = {.type = HC_EV_RECORDING_FAILED, .path = f->path, .text = why, .recorded_ms = f->recorded_ms,
                   .t_ms = now_ms(s) - s->t0};
    deliver_event(s, &ev);
}

/* ---- stats ---- */

static int ensure_cap(hc_session *s, size_t n) {
    if (n <= s->vcap) return 0;
    size_t nc = n * 2;
    hc_view_participant *vp = realloc(s->vp, nc * sizeof *vp);
    if (!vp) return -1;
    s->vp = vp;
    hc_member_info *mi = realloc(s->mi, nc * sizeof *mi);
    if (!mi) return -1;
    s->mi = mi;
    s->vcap = nc;
    return 0;
}

static size_t members(hc_session *s) {
    size_t cap = 16;
    for (;;) {
        if (ensure_cap(s, cap) < 0) return 0;
        size_t n = hc_meeting_members(s->m, s->mi, s->vcap);
        if (n < s->vcap) return n;
        cap = s->vcap * 2;
    }
}

static const char *name_of_member(hc_session *s, uint32_t index) {
    size_t n = members(s);
    for (size_t i = 0; i < n; i++)
        if (s->mi[i].index == index) return s->mi[i].name;
    return "";
}

static void emit_stats(hc_session *s) {
    size_t n = members(s);
    hc_json j; /* used only to escape names */
    hc_json_init(&j);
    char *out = NULL;
    size_t outlen = 0;
    FILE *f = open_memstream(&out, &outlen);  /* grows as needed: no length arithmetic here */
    if (!f) return;
    fprintf(f, "{\"epoch\":%u,\"rtt_ms\":%.1f,\"senders\":[", hc_meeting_send_epoch(s->m), hc_meeting_rtt_ms(s->m));
    int first = 1;
    for (size_t i = 0; i < n; i++) {
        hc_member_info *x = &s->mi[i];
        if (x->is_self) continue;
        hc_audio_rx_stats a;
        memset(&a, 0, sizeof a);
        if (s->audio) hc_audio_engine_rx_stats(s->audio, x->index, &a);
        j.len = 0;
        hc_json_escape(&j, x->name);
        fprintf(f,
                "%s{\"index\":%u,\"name\":\"%.*s\",\"ok\":%llu,\"decrypt_fail\":%llu,\"replay\":%llu,"
                "\"unknown_kid\":%llu,\"too_old\":%llu,\"received\":%llu,\"lost\":%llu,\"late\":%llu,"
                "\"concealed\":%llu,\"fec_recovered\":%llu,\"loss_pct\":%.1f,\"jitter_ms\":%.1f,"
                "\"delay_ms\":%d,\"muted\":%s,\"video_ok\":%llu,\"video_decrypt_fail\":%llu,\"video_replay\":%llu}",
                first ? "" : ",", x->index, (int)j.len, j.buf ? j.buf : "", (unsigned long long)x->rx.ok,
                (unsigned long long)x->rx.auth_fail, (unsigned long long)x->rx.replay,
                (unsigned long long)x->rx.unknown_kid, (unsigned long long)x->rx.too_old,
                (unsigned long long)a.received, (unsigned long long)a.lost, (unsigned long long)a.late,
                (unsigned long long)a.concealed, (unsigned long long)a.fec_recovered, a.loss_pct, a.jitter_ms,
                a.delay_ms, x->muted ? "true" : "false", (unsigned long long)x->rx.video_ok,
                (unsigned long long)x->rx.video_auth_fail, (unsigned long long)x->rx.video_replay);
        first = 0;
    }
    hc_audio_tx_stats t;
    memset(&t, 0, sizeof t);
    if (s->audio) hc_audio_engine_tx_stats(s->audio, &t);
    uint64_t ann_ok, ann_capped;
    hc_meeting_announce_stats(s->m, &ann_ok, &ann_capped);
    fprintf(f, "],\"announcements\":{\"verified\":%llu,\"capped\":%llu", (unsigned long long)ann_ok,
            (unsigned long long)ann_capped);
    fprintf(f,
            "},\"tx\":{\"frames\":%llu,\"dtx_skipped\":%llu,\"bytes\":%llu,\"kbps\":%.1f,\"muted\":%s,\"loss_hint\":%d,"
            "\"capture_overruns\":%llu,\"capture_underruns\":%llu,\"playback_underruns\":%llu,"
            "\"playback_overruns\":%llu,\"recording_dropped\":%llu,\"level_dbfs\":%d}}",
            (unsigned long long)t.frames_sent, (unsigned long long)t.dtx_skipped, (unsigned long long)t.bytes_sent,
            s->tx_kbps, hc_meeting_muted(s->m) ? "true" : "false", t.loss_percent, (unsigned long long)t.capture_overruns,
            (unsigned long long)t.capture_underruns, (unsigned long long)t.playback_underruns,
            (unsigned long long)t.playback_overruns, (unsigned long long)t.recording_dropped, t.level_dbfs);
    if (s->video) {
        /* replace the closing brace: the video block joins the object */
        fseek(f, -1, SEEK_CUR);
        fputc(',', f);
        hc_video_engine_stats_json(s->video, f);
        fputc('}', f);
    }
    int ok = fclose(f) == 0;
    if (ok) {
        hc_event ev = {.type = HC_EV_STATS, .text = out, .t_ms = now_ms(s) - s->t0};
        deliver_event(s, &ev);
    }
    free(out);
    hc_json_free(&j);
}

/* Tells the others how much of their audio we lose, so their encoders add FEC (PROTOCOL.md §6.7).
 * Only senders with loss are listed, plus a last 0 when a sender's loss ends: a meeting without
 * loss sends no reports at all (each report goes to everyone). */
static void send_report(hc_session *s) {
    if (!s->audio) return;
    size_t n = members(s), k = 0;
    uint32_t idx[REPORTED_MAX];
    uint8_t loss[REPORTED_MAX];
    for (size_t i = 0; i < n && k < REPORTED_MAX; i++) {
        if (s->mi[i].is_self) continue;
        hc_audio_rx_stats a;
        if (hc_audio_engine_rx_stats(s->audio, s->mi[i].index, &a) < 0 || a.received == 0) continue;
        double l = a.loss_pct < 0 ? 0 : a.loss_pct > 100 ? 100 : a.loss_pct;
        uint8_t now_loss = (uint8_t)(l + 0.5);
        size_t r = 0;
        while (r < s->n_reported && s->reported[r].index != s->mi[i].index) r++;
        uint8_t before = r < s->n_reported ? s->reported[r].loss : 0;
        if (now_loss == 0 && before == 0) continue;
        if (r == s->n_reported && s->n_reported < REPORTED_MAX) s->reported[s->n_reported++].index = s->mi[i].index;
        if (r < s->n_reported) s->reported[r].loss = now_loss;
        idx[k] = s->mi[i].index;
        loss[k++] = now_loss;
    }
    if (k) hc_meeting_send_report(s->m, idx, loss, k, now_ms(s));
}

/* The audio send rate over the last report window (kbit/s), for /stats. */
static void update_tx_rate(hc_session *s, uint64_t now) {
    if (!s->audio) return;
    hc_audio_tx_stats t;
    hc_audio_engine_tx_stats(s->audio, &t);
    if (s->rate_at && now > s->rate_at && t.bytes_sent >= s->rate_bytes)
        s->tx_kbps = (double)(t.bytes_sent - s->rate_bytes) * 8.0 / (double)(now - s->rate_at);
    s->rate_bytes = t.bytes_sent;
    s->rate_at = now;
}

/* ---- view ---- */

static void update_view(hc_session *s) {
    if (!s->fe || !s->fe_started || !s->fe->ops->update) return;
    size_t n = members(s);
    hc_view_state st;
    memset(&st, 0, sizeof st);
    snprintf(st.meeting_id, sizeof st.meeting_id, "%s", hc_meeting_id(s->m));
    if (!st.meeting_id[0] && !s->cfg.meeting.create)   /* the one we ask to join, until we are in */
        snprintf(st.meeting_id, sizeof st.meeting_id, "%s", s->cfg.meeting.meeting_id);
    st.relay = s->relay_desc;
    st.t_ms = now_ms(s) - s->t0;
    st.epoch = hc_meeting_send_epoch(s->m);
    st.e2ee = st.epoch > 0 && hc_meeting_phase_get(s->m) == HC_MT_IN;
    snprintf(st.code, sizeof st.code, "%s", hc_meeting_code(s->m));
    st.verified = hc_meeting_code_verified(s->m);
    st.locked = hc_meeting_locked(s->m);
    int admit = hc_meeting_admit_policy(s->m);
    if (admit >= 0) snprintf(st.admit, sizeof st.admit, "%s", hc_admit_name((hc_admit_policy)admit));
    st.is_leader = hc_meeting_is_leader(s->m);
    st.self_muted = hc_meeting_muted(s->m);
    st.rtt_ms = hc_meeting_rtt_ms(s->m);
    st.duration_ms = s->joined_at ? now_ms(s) - s->joined_at : 0;
    hc_audio_tx_stats t;
    memset(&t, 0, sizeof t);
    if (s->audio) {
        hc_audio_engine_tx_stats(s->audio, &t);
        st.audio_in = hc_audio_engine_describe_in(s->audio);
        st.audio_out = hc_audio_engine_describe_out(s->audio);
    }
    st.self_talking = t.talking && !s->paused;
    st.self_level_dbfs = t.level_dbfs;
    st.camera_on = s->video && hc_video_engine_camera_on(s->video);
    st.audio_note = s->audio_note[0] ? s->audio_note : NULL;
    uint64_t now = now_ms(s);
    if (s->reconnecting) {
        uint64_t limit = (uint64_t)s->cfg.reconnect_s * 1000, gone = now - s->reconnect_since;
        snprintf(s->net_note, sizeof s->net_note, "relay lost, reconnecting (%llu s left)",
                 (unsigned long long)((gone < limit ? limit - gone : 0) / 1000));
    } else if (hc_meeting_stalled(s->m)) {
        snprintf(s->net_note, sizeof s->net_note, "relay not answering: sending paused, waiting");
    } else {
        s->net_note[0] = 0;
    }
    st.net_note = s->net_note[0] ? s->net_note : NULL;
    /* While the meeting is being got back, the screen keeps saying which meeting it is (the new
     * meeting object knows its id only once the relay answers); reconnecting implies a resume
     * context (start_reconnect). */
    st.reconnecting = s->reconnecting;
    if (s->reconnecting && !st.meeting_id[0])
        snprintf(st.meeting_id, sizeof st.meeting_id, "%s", s->resume.meeting_id);
    for (size_t i = 0; i < n; i++) {
        hc_member_info *x = &s->mi[i];
        hc_view_participant *p = &s->vp[i];
        memset(p, 0, sizeof *p);
        p->index = x->index;
        snprintf(p->name, sizeof p->name, "%s", x->name);
        snprintf(p->fingerprint, sizeof p->fingerprint, "%s", x->fingerprint);
        p->is_leader = x->is_leader;
        p->is_self = x->is_self;
        p->muted = x->muted;
        p->waiting = x->waiting;
        p->level_dbfs = -127;
        if (x->is_leader) snprintf(st.leader_name, sizeof st.leader_name, "%s", x->name);
        /* Our own picture is engine index 0 (the self-view); the others by member index. */
        if (s->video) p->video = hc_video_engine_picture(s->video, x->is_self ? 0 : x->index, &p->video_live);
        if (x->is_self) {
            p->talking = t.talking && !x->muted && !s->paused;
            p->level_dbfs = t.level_dbfs;
        } else if (s->audio) {
            hc_audio_rx_stats a;
            if (hc_audio_engine_rx_stats(s->audio, x->index, &a) == 0) {
                p->talking = a.talking;
                p->level_dbfs = a.level_dbfs;
                p->loss_pct = a.loss_pct;
                p->jitter_ms = a.jitter_ms;
            }
        }
    }
    st.n_participants = n;
    st.participants = s->vp;
    s->fe->ops->update(s->fe, &st);
}

/* The member talking loudest now (0: nobody): whose video --video-out records. */
static uint32_t loudest_member(hc_session *s) {
    if (!s->audio) return 0;
    size_t n = members(s);
    uint32_t best = 0;
    int best_db = -127;
    for (size_t i = 0; i < n; i++) {
        if (s->mi[i].is_self) continue;
        hc_audio_rx_stats a;
        if (hc_audio_engine_rx_stats(s->audio, s->mi[i].index, &a) == 0 && a.talking && a.level_dbfs > best_db) {
            best = s->mi[i].index;
            best_db = a.level_dbfs;
        }
    }
    return best;
}

/* ---- lip sync ---- */

/* Opus's look-ahead at 48 kHz (OPUS_GET_LOOKAHEAD: 312 samples), which every audio frame waits
 * at the sender besides its own length. */
#define OPUS_LOOKAHEAD_MS 7

/* How long each member's audio waits beyond the network: its frame (the first sample waits for
 * the frame to fill), the codec's look-ahead, and our jitter buffer's target. Its pictures wait
 * as long after they are decoded, so the picture of a word shows when the word is heard. A
 * member whose audio we do not receive (muted, no audio yet) has no hold. */
static void update_av_holds(hc_session *s) {
    size_t n = members(s);
    for (size_t i = 0; i < n; i++) {
        if (s->mi[i].is_self) continue;
        hc_audio_rx_stats a;
        uint32_t hold = 0;
        if (s->audio && hc_audio_engine_rx_stats(s->audio, s->mi[i].index, &a) == 0 && a.received)
            hold = (uint32_t)(a.frame_ms + OPUS_LOOKAHEAD_MS + a.delay_ms);
        hc_video_engine_set_av_hold(s->video, s->mi[i].index, hold);
    }
}

static void on_video_show(uv_timer_t *t) {
    hc_session *s = t->data;
    if (s->finishing || !s->video) return;
    hc_video_engine_show_due(s->video, now_ms(s));
    arm_video_show(s);
}

static void arm_video_show(hc_session *s) {
    if (s->finishing) return;
    uint64_t due = hc_video_engine_next_due(s->video), now = now_ms(s);
    if (due == UINT64_MAX) return;
    uv_timer_start(&s->vshow, on_video_show, due > now ? due - now : 0, 0);
}

/* ---- timers ---- */

static void on_tick(uv_timer_t *t) {
    hc_session *s = t->data;
    uint64_t now = now_ms(s);
    hc_meeting_tick(s->m, now);
    if (s->finishing) return;
    reconnect_tick(s, now);
    if (s->finishing) return;
    if (s->video) {
        update_av_holds(s);
        hc_video_engine_tick(s->video, now);
        hc_video_engine_set_speaker(s->video, loudest_member(s));
        arm_video_show(s);
    }
    if (now >= s->next_report) {
        update_tx_rate(s, now);
        send_report(s);
        update_loss_hint(s);   /* reports age out when the loss is over */
        s->next_report = now + REPORT_MS;
    }
    if (s->cfg.stats_ms && now >= s->next_stats && hc_meeting_phase_get(s->m) == HC_MT_IN) {
        emit_stats(s);
        s->next_stats = now + s->cfg.stats_ms;
    }
}

static void on_ui(uv_timer_t *t) { update_view(t->data); }

static void on_signal(uv_signal_t *h, int signum) {
    hc_session *s = h->data;
    (void)signum;
    hc_session_leave(s);
}

/* ---- commands ---- */

static void fe_command(void *ctx, const hc_command *cmd) { hc_session_command(ctx, cmd); }

void hc_session_command(hc_session *s, const hc_command *cmd) {
    uint64_t now = now_ms(s);
    switch (cmd->type) {
    case HC_CMD_STATS:
        emit_stats(s);
        return;
    case HC_CMD_DEVICES: {
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        char err[256] = "";
        if (f) {
            if (hc_audio_list_devices(f, err, sizeof err) < 0) fprintf(f, "%s\n", err);
            fclose(f);
            for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) session_notice(s, line);
        }
        free(buf);
        return;
    }
    case HC_CMD_VIDEO_ON:
    case HC_CMD_VIDEO_OFF: {
        char err[320];
        s->video_autostart = 0;   /* the user decided: the start-up source waits no more */
        if (s->video) hc_video_engine_camera(s->video, cmd->type == HC_CMD_VIDEO_ON, err, sizeof err);
        update_view(s);
        return;
    }
    case HC_CMD_PIN:
    case HC_CMD_UNPIN:
        if (s->video) hc_video_engine_pin(s->video, cmd->type == HC_CMD_PIN ? cmd->index : 0);
        return;
    case HC_CMD_LEAVE:
        if (cmd->text && !strcmp(cmd->text, HC_LEAVE_OUTPUT_LOST)) {
            /* Whatever the phase (connecting, waiting to be admitted, in): nobody is there to
             * read what happens, so nobody may be represented by us. */
            s->output_lost = 1;
            hc_session_leave(s);
            return;
        }
        break;
    default:
        break;
    }
    hc_meeting_command(s->m, cmd, now);
    if (s->audio && (cmd->type == HC_CMD_MUTE || cmd->type == HC_CMD_UNMUTE || cmd->type == HC_CMD_TOGGLE_MUTE))
        hc_audio_engine_set_muted(s->audio, hc_meeting_muted(s->m) || s->paused);
    update_view(s);
}

void hc_session_pause(hc_session *s, int paused) {
    s->paused = paused != 0;
    if (s->audio) hc_audio_engine_set_muted(s->audio, hc_meeting_muted(s->m) || s->paused);
}

void hc_session_leave(hc_session *s) {
    if (s->finishing) return;
    if (hc_meeting_phase_get(s->m) == HC_MT_IN) {
        hc_command c = {.type = HC_CMD_LEAVE};
        hc_meeting_command(s->m, &c, now_ms(s));  /* emits "left", which finishes the session */
    } else {
        finish_soon(s);
    }
}

/* ---- lifecycle ---- */

/* The session is finished when its last handle (timers, signals, the transport) has closed. */
static void release(hc_session *s) {
    if (--s->handles_open == 0) {
        s->finished = 1;
        if (s->done) s->done(s->done_arg, s);
    }
}

static void handle_closed(uv_handle_t *h) { release(h->data); }

static void client_closed(void *arg) {
    hc_session *s = arg;
    s->client = NULL;
    release(s);
}

static void finish_cb(uv_timer_t *t) {
    hc_session *s = t->data;
    /* Status: why the meeting ended for us, or why we never got in. */
    int st = hc_meeting_exit_status(s->m);
    if (hc_meeting_phase_get(s->m) != HC_MT_LEFT) st = s->exit_status ? s->exit_status : HC_EXIT_OK;
    if (s->output_lost && st == HC_EXIT_OK) st = HC_EXIT_ERROR;   /* left because our output died */
    s->exit_status = st;
    if (s->audio) hc_audio_engine_stop(s->audio);
    if (s->video) {
        char e2[64];
        hc_video_engine_camera(s->video, 0, e2, sizeof e2);
    }
    if (s->fe && s->fe_started) {
        update_view(s);
        s->fe->ops->stop(s->fe);
        s->fe_started = 0;
    }
    uv_timer_stop(&s->tick);
    uv_timer_stop(&s->ui);
    uv_timer_stop(&s->vshow);
    uv_close((uv_handle_t *)&s->tick, handle_closed);
    uv_close((uv_handle_t *)&s->ui, handle_closed);
    uv_close((uv_handle_t *)&s->vshow, handle_closed);
    uv_close((uv_handle_t *)&s->sigint, handle_closed);
    uv_close((uv_handle_t *)&s->sigterm, handle_closed);
    if (s->client) {
        s->handles_open++;
        hc_client_close(s->client, client_closed, s);
    }
}

static void finish_soon(hc_session *s) {
    if (s->finishing) return;
    s->finishing = 1;
    /* Not from inside the callback that reported it: let the current stack unwind first. */
    uv_timer_stop(&s->ui);
    uv_timer_start(&s->ui, (uv_timer_cb)finish_cb, 0, 0);
}

int hc_session_new(hc_session **out, uv_loop_t *loop, const hc_session_config *cfg, hc_frontend *fe, char *err,
                   size_t errlen) {
    hc_session *s = calloc(1, sizeof *s);
    if (!s) { snprintf(err, errlen, "out of memory"); return -1; }
    s->loop = loop;
    s->cfg = *cfg;
    s->fe = fe;
    s->t0 = uv_now(loop);
    snprintf(s->relay_desc, sizeof s->relay_desc, strchr(cfg->relay_host, ':') ? "[%s]:%u" : "%s:%u",
             cfg->relay_host, (unsigned)cfg->relay_port);
    if (cfg->identity) {
        s->id = *cfg->identity;
    } else {
        hc_id_status r = hc_identity_load_or_create(cfg->home, &s->id, err, errlen);
        if (r < 0) goto fail;
    }
    if (hc_verified_load(&s->vstore, cfg->home, err, errlen) < 0) goto fail;

    hc_meeting_config mc = cfg->meeting;
    mc.id = &s->id;
    mc.is_verified = hc_verified_check;
    mc.store_ctx = &s->vstore;
    mc.resume = NULL;
    /* A stall waits as long as a reconnect would: both are the relay's absence. */
    mc.stall_ms = cfg->reconnect_s * 1000u;
    mc.reconnect = cfg->reconnect_s > 0;
    hc_meeting_io mio = {.ctx = s, .send_ctrl = m_send_ctrl, .send_media = m_send_media, .event = m_event,
                         .media = m_media, .loss_report = m_loss_report, .remember_verified = m_remember,
                         .media_token = m_media_token, .media_ready = m_media_ready, .video = m_video,
                         .video_ctrl = m_video_ctrl};
    s->mc = mc;
    s->mio = mio;
    s->m = hc_meeting_new(&mc, &mio, uv_now(loop));
    if (!s->m) { snprintf(err, errlen, "out of memory"); goto fail; }

    hc_audio_callbacks acb = {.ctx = s, .on_payload = a_payload, .on_recording_failed = a_recording_failed};
    char aerr[512];
    if (hc_audio_engine_new(&s->audio, loop, &cfg->audio, &acb, aerr, sizeof aerr) < 0) {
        if (!cfg->audio_fallback) {
            snprintf(err, errlen, "%s", aerr);
            goto fail;
        }
        hc_audio_config fb = cfg->audio;
        fb.in_spec = "silence";
        fb.out_spec = "null";
        snprintf(s->audio_note, sizeof s->audio_note, "no working audio device (%.180s): sending silence, not playing", aerr);
        char e2[256];
        if (hc_audio_engine_new(&s->audio, loop, &fb, &acb, e2, sizeof e2) < 0) {
            snprintf(err, errlen, "%s", e2);
            goto fail;
        }
    }

    hc_video_callbacks vcb = {.ctx = s, .send = v_send, .can_send = v_can_send, .ctrl = v_ctrl, .event = v_event,
                              .picture = v_picture};
    if (hc_video_engine_new(&s->video, loop, &cfg->video, &vcb, err, errlen) < 0) goto fail;

    hc_client_config ccfg = {.host = s->cfg.relay_host, .port = s->cfg.relay_port, .max_frame = 0,
                             .relays = s->cfg.relays.n > 1 ? &s->cfg.relays : NULL,
                             .connect_timeout_ms = 10000,
                             .backoff_max_ms = cfg->reconnect_s ? RECONNECT_BACKOFF_MAX_MS : 0};
    hc_client_callbacks ccb = {.ctx = s, .on_connected = c_connected, .on_frame = c_frame,
                               .on_disconnected = c_disconnected, .on_media = c_media};
    if (hc_client_new(&s->client, loop, &ccfg, &ccb, err, errlen) < 0) goto fail;

    uv_timer_init(loop, &s->tick);
    uv_timer_init(loop, &s->ui);
    uv_timer_init(loop, &s->vshow);
    uv_signal_init(loop, &s->sigint);
    uv_signal_init(loop, &s->sigterm);
    s->tick.data = s->ui.data = s->vshow.data = s->sigint.data = s->sigterm.data = s;
    s->handles_open = 5;
    *out = s;
    return 0;
fail:
    if (s->video) hc_video_engine_free(s->video);
    if (s->audio) hc_audio_engine_free(s->audio);
    hc_meeting_free(s->m);
    hc_verified_free(&s->vstore);
    if (!cfg->identity) hc_identity_wipe(&s->id);
    if (fe) fe->ops->destroy(fe);
    free(s);
    return -1;
}

int hc_session_start(hc_session *s, char *err, size_t errlen) {
    hc_frontend_callbacks fcb = {.ctx = s, .command = fe_command};
    if (s->fe) {
        if (s->fe->ops->start(s->fe, s->loop, &fcb, err, errlen) < 0) return -1;
        s->fe_started = 1;
    }
    if (s->audio_note[0]) session_notice(s, s->audio_note);
    char aerr[512];
    if (hc_audio_engine_start(s->audio, aerr, sizeof aerr) < 0) {
        snprintf(err, errlen, "%s", aerr);
        return -1;
    }
    s->video_autostart = s->video && s->cfg.video.in.kind != HC_VIDEO_NONE;
    hc_client_start(s->client);
    uv_timer_start(&s->tick, on_tick, TICK_MS, TICK_MS);
    if (s->fe && s->fe->ops->update) uv_timer_start(&s->ui, on_ui, UI_MS, UI_MS);  /* screens only */
    uv_signal_start(&s->sigint, on_signal, SIGINT);
    uv_signal_start(&s->sigterm, on_signal, SIGTERM);
    s->next_report = now_ms(s) + REPORT_MS;
    s->next_stats = now_ms(s) + s->cfg.stats_ms;
    return 0;
}

void hc_session_on_done(hc_session *s, void (*done)(void *arg, hc_session *s), void *arg) {
    s->done = done;
    s->done_arg = arg;
}

int hc_session_finished(const hc_session *s) { return s->finished; }
int hc_session_exit_status(const hc_session *s) { return s->exit_status; }
const char *hc_session_meeting_id(const hc_session *s) { return hc_meeting_id(s->m); }
hc_meeting *hc_session_meeting(hc_session *s) { return s->m; }

void hc_session_free(hc_session *s) {
    if (!s) return;
    if (s->video) hc_video_engine_free(s->video);
    if (s->audio) hc_audio_engine_free(s->audio);
    if (s->fe) s->fe->ops->destroy(s->fe);
    hc_meeting_free(s->m);
    hc_meeting_resume_free(&s->resume);
    hc_verified_free(&s->vstore);
    if (!s->cfg.identity) hc_identity_wipe(&s->id);
    free(s->vp);
    free(s->mi);
    free(s);
}
