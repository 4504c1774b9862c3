/* The audio engine: capture -> level/VAD -> Opus -> on_payload, and
 * receive -> per-sender jitter buffer -> decode/FEC/PLC -> mix -> sink.
 * Everything runs on the loop thread; sources and sinks call in once per frame. */
#include "audio/engine.h"

#include <stdlib.h>
#include <string.h>

#include "audio/engine_custom.h"
#include "audio/jitter.h"
#include "audio/level.h"
#include "audio/mixer.h"
#include "audio/opus_codec.h"
#include "audio/sink.h"
#include "audio/source.h"
#include "audio/spec.h"
#include "audio/vclock.h"

#define HC_AUDIO_MAX_SENDERS 32
#define HC_SENDER_IDLE_NS (5ull * 1000000000ull)   /* an idle sender may be evicted for a new one */
#define HC_FIFO_MAX (HC_OPUS_MAX_FRAME + 1920)
#define HC_DTX_SILENCE_DB (-62.0)     /* what Opus decodes around a DTX pause is far below speech */
/* Re-phasing a sink whose clock is ours (file, null, function). Its ticks follow the packets
 * instead of the jitter buffers inserting and skipping frames, so the output has no
 * discontinuity and no phase delay:
 * - when a sender's target delay rises, the ticks move later by as much, at once;
 * - over a window of ticks, the earliest any received packet was played after its due time (the
 *   slack) is how much sooner every tick could come: when it exceeds the margin plus a
 *   hysteresis, the ticks move that much sooner, less the margin (at most a frame per window);
 *   when it is below zero (a tick came before a packet was due), later by as much plus the margin.
 * The first window is short so a new call settles at once. */
#define HC_RP_WINDOW_MS 500
#define HC_RP_FIRST_TICKS 4
#define HC_RP_MARGIN_US 300
#define HC_RP_HYST_US 700
/* A device sink's pulls come when its ring has room, not on a steady clock: how irregular they
 * are (over the last HC_PULL_HIST pulls) is added to every jitter buffer's target. */
#define HC_PULL_HIST 64

/* One remote talker: its jitter buffer, decoder and the decoded samples not yet mixed. */
typedef struct {
    uint32_t id;
    int frame_samples;            /* the sender's frame length (its packets say) */
    int pending_frame_samples, pending_count;   /* a change of frame length, not yet believed */
    hc_jb jb;
    hc_opus_dec dec;
    float fifo[HC_FIFO_MAX];
    size_t fifo_len;
    hc_vad vad;
    double level_db;
    int last_delay_us;            /* its jitter buffer's target when last looked at */
    uint64_t frames, concealed, fec_recovered, last_rx_ns;
} rx_sender;

struct hc_audio_engine {
    uv_loop_t *loop;
    hc_audio_config cfg;
    hc_audio_callbacks cb;
    size_t frame_samples;
    hc_audio_source *src;
    hc_audio_sink *sink;
    int started;

    /* send side */
    hc_opus_enc enc;
    uint16_t seq;
    int muted;
    hc_vad vad;
    double level_db;
    uint8_t pkt[2 + HC_OPUS_MAX_PACKET];
    uint64_t frames_sent, dtx_skipped, bytes_sent;
    int enc_in_dtx;                  /* the encoder's last frame was DTX */

    /* receive side */
    rx_sender *senders[HC_AUDIO_MAX_SENDERS];
    uint64_t pulls;                 /* sink pulls so far */
    int64_t rp_min_slack_us;        /* re-phasing window: smallest slack seen, INT64_MAX if none */
    int rp_ticks, rp_window, rp_first;
    uint64_t rp_shifts;
    int64_t rp_shifted_us;          /* total re-phasing (for statistics) */
    int64_t pull_hist[HC_PULL_HIST];/* device sinks: pull time - k * frame period, ns */
    int pull_extra_us;
    float mix[1920];
    float tmp[HC_OPUS_MAX_FRAME];
};

/* The engine's clock: the packets' arrival times and the playout ticks must be on the same one. */
static uint64_t engine_now(const hc_audio_engine *e) { return hc_clock_now(e->cfg.vclock); }

void hc_audio_config_defaults(hc_audio_config *c) {
    memset(c, 0, sizeof *c);
    c->in_spec = "device";
    c->out_spec = "device";
    c->frame_ms = 20;
    c->bitrate = 32000;
    c->low_delay = 0;
    c->device_latency_ms = 60;
}

/* --- send path ----------------------------------------------------------------------------------- */
static void on_capture(void *ctx, const float *pcm, size_t n, uint64_t t_first_ns) {
    (void)t_first_ns;
    hc_audio_engine *e = ctx;
    int frame_ms = (int)(n / 48);
    e->level_db = hc_level_dbfs(pcm, n);
    int talking = hc_vad_update(&e->vad, e->level_db, frame_ms);
    uint16_t seq = e->seq++;          /* one slot per frame, sent or not: receivers see time pass */
    if (e->muted) return;             /* level is still measured: "talking while muted" */
    /* Digital silence (a muted or idle input, the end of a file) once the encoder is in DTX:
     * encoding it would cost as much as speech and yield one more DTX frame, so skip the call. */
    if (e->enc_in_dtx && e->level_db <= HC_LEVEL_FLOOR_DB) {
        e->dtx_skipped++;
        return;
    }
    hc_opus_enc_set_voice(&e->enc, talking);
    int len = hc_opus_enc_encode(&e->enc, pcm, e->pkt + 2, sizeof e->pkt - 2);
    if (len < 0) return;
    e->enc_in_dtx = hc_opus_is_dtx((size_t)len);
    if (e->enc_in_dtx) {              /* 1-2 bytes: "nothing changed", not worth a packet */
        e->dtx_skipped++;
        return;
    }
    e->pkt[0] = (uint8_t)(seq >> 8);
    e->pkt[1] = (uint8_t)seq;
    e->frames_sent++;
    e->bytes_sent += (uint64_t)len + 2;
    if (e->cb.on_payload)
        e->cb.on_payload(e->cb.ctx, e->pkt, (size_t)len + 2, hc_level_rfc6464(e->level_db, talking));
}

/* --- receive path -------------------------------------------------------------------------------- */
static void follow_target(hc_audio_engine *e, rx_sender *s);

static rx_sender *find_sender(const hc_audio_engine *e, uint32_t id) {
    for (int i = 0; i < HC_AUDIO_MAX_SENDERS; i++)
        if (e->senders[i] && e->senders[i]->id == id) return e->senders[i];
    return NULL;
}

static void free_sender(rx_sender *s) {
    if (!s) return;
    hc_opus_dec_free(&s->dec);
    free(s);
}

static rx_sender *new_sender(hc_audio_engine *e, uint32_t id, int frame_samples, uint64_t now_ns) {
    int slot = -1;
    for (int i = 0; i < HC_AUDIO_MAX_SENDERS && slot < 0; i++)
        if (!e->senders[i]) slot = i;
    if (slot < 0) {                   /* full: take over the longest-idle sender, if idle enough */
        uint64_t oldest = UINT64_MAX;
        for (int i = 0; i < HC_AUDIO_MAX_SENDERS; i++)
            if (e->senders[i]->last_rx_ns < oldest) {
                oldest = e->senders[i]->last_rx_ns;
                slot = i;
            }
        if (now_ns - oldest < HC_SENDER_IDLE_NS) return NULL;
        free_sender(e->senders[slot]);
        e->senders[slot] = NULL;
    }
    rx_sender *s = calloc(1, sizeof *s);
    char err[128];
    if (!s) return NULL;
    if (hc_opus_dec_init(&s->dec, err, sizeof err)) {
        free(s);
        return NULL;
    }
    s->id = id;
    s->frame_samples = frame_samples;
    hc_jb_init(&s->jb, frame_samples * 1000 / 48);
    hc_vad_init(&s->vad);
    s->level_db = HC_LEVEL_FLOOR_DB;
    s->last_delay_us = hc_jb_delay_us(&s->jb);
    e->senders[slot] = s;
    return s;
}

void hc_audio_engine_receive(hc_audio_engine *e, uint32_t sender, const uint8_t *payload, size_t len) {
    if (!e || !payload || len < 3 || len > 2 + HC_OPUS_MAX_PACKET) return;
    uint16_t seq = (uint16_t)(payload[0] << 8 | payload[1]);
    const uint8_t *pkt = payload + 2;
    size_t plen = len - 2;
    int n = hc_opus_packet_samples(pkt, plen);
    /* hushcall senders use 10, 20 or 40 ms; 60 ms is valid Opus, so accept it too. */
    if (n != 480 && n != 960 && n != 1920 && n != 2880) return;
    uint64_t now = engine_now(e);
    rx_sender *s = find_sender(e, sender);
    if (!s) s = new_sender(e, sender, n, now);
    if (!s) return;                   /* every slot taken by a sender heard from recently */
    s->last_rx_ns = now;
    if (n != s->frame_samples) {
        /* The sender changed its frame length (e.g. switched to low delay): new timeline. Only
         * after a few packets agree, so that stray or hostile packets cannot make us rebuild the
         * buffer on every packet. */
        if (n != s->pending_frame_samples) s->pending_frame_samples = n, s->pending_count = 0;
        if (++s->pending_count < 3) return;
        hc_jb_counters keep = s->jb.c;
        s->frame_samples = n;
        hc_jb_init(&s->jb, n * 1000 / 48);
        s->jb.c = keep;
        s->jb.c.resyncs++;
    }
    s->pending_count = 0;
    hc_jb_put(&s->jb, seq, pkt, plen, (int64_t)(now / 1000));
    follow_target(e, s);
}

/* Produce the sender's next frame (its own length) at the end of its FIFO. t_us: when its first
 * sample will be played, on the receiver clock. */
static void produce_frame(hc_audio_engine *e, rx_sender *s, int64_t t_us) {
    int m = s->frame_samples;
    float *out = s->fifo + s->fifo_len;
    hc_jb_out o;
    hc_jb_get(&s->jb, t_us, &o);
    int got = -1;
    switch (o.kind) {
    case HC_JB_NONE:
    case HC_JB_SILENCE:
        break;
    case HC_JB_FRAME:
        got = hc_opus_dec_decode(&s->dec, o.data, o.len, e->tmp, HC_OPUS_MAX_FRAME);
        if (got == m) {
            memcpy(out, e->tmp, (size_t)m * sizeof *out);
        } else {
            got = hc_opus_dec_plc(&s->dec, out, m);   /* a packet that parses but does not decode */
            if (got == m) s->concealed++;
        }
        s->frames++;
        break;
    case HC_JB_FEC:
        if (hc_opus_packet_may_have_fec(o.data, o.len) && (got = hc_opus_dec_fec(&s->dec, o.data, o.len, out, m)) == m) {
            s->fec_recovered++;
        } else {
            got = hc_opus_dec_plc(&s->dec, out, m);
            s->concealed++;
        }
        s->frames++;
        break;
    case HC_JB_LOSS:
        got = hc_opus_dec_plc(&s->dec, out, m);
        s->concealed++;
        s->frames++;
        break;
    case HC_JB_INSERT:
        if (s->vad.talking) {         /* stretching speech: conceal; in a pause: silence */
            got = hc_opus_dec_plc(&s->dec, out, m);
            s->concealed++;
            s->frames++;
        }
        break;
    }
    if (got != m) memset(out, 0, (size_t)m * sizeof *out);
    s->fifo_len += (size_t)m;
}

/* Device sinks: how irregular the pulls are against a steady clock of one frame per period. */
static void track_pulls(hc_audio_engine *e, uint64_t now_ns, size_t n) {
    uint64_t period_ns = (uint64_t)n * 1000000000ull / 48000;
    int64_t v = (int64_t)now_ns - (int64_t)(e->pulls * period_ns);
    e->pull_hist[e->pulls % HC_PULL_HIST] = v;
    e->pulls++;
    if (e->pulls < 8) return;        /* too few to say */
    int m = e->pulls < HC_PULL_HIST ? (int)e->pulls : HC_PULL_HIST;
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    for (int i = 0; i < m; i++) {
        if (e->pull_hist[i] < lo) lo = e->pull_hist[i];
        if (e->pull_hist[i] > hi) hi = e->pull_hist[i];
    }
    e->pull_extra_us = (int)((hi - lo) / 1000);
}

/* Paced sinks: move the ticks (see HC_RP_*). The window takes the smallest slack over every
 * sender, so moving sooner never makes any sender's packets late; with several senders whose
 * packets come at different phases, the others simply keep more slack. */
static void shift_ticks(hc_audio_engine *e, int64_t later_us) {
    e->sink->ops->shift(e->sink, later_us * 1000);
    e->rp_shifts++;
    e->rp_shifted_us -= later_us;
}

/* A sender's target delay rose (more jitter, the FEC frame): with a re-phasable sink the ticks
 * come that much later, instead of its jitter buffer inserting a frame. */
static void follow_target(hc_audio_engine *e, rx_sender *s) {
    int d = hc_jb_delay_us(&s->jb);
    if (e->started && e->sink->ops->shift && d > s->last_delay_us) shift_ticks(e, d - s->last_delay_us);
    s->last_delay_us = d;
}

static void rephase(hc_audio_engine *e, int64_t slack_us, int have_slack, size_t n) {
    if (!e->sink->ops->shift) return;
    if (have_slack && slack_us < e->rp_min_slack_us) e->rp_min_slack_us = slack_us;
    if (++e->rp_ticks < (e->rp_first ? HC_RP_FIRST_TICKS : e->rp_window)) return;
    if (e->rp_min_slack_us != INT64_MAX) {
        if (e->rp_min_slack_us > HC_RP_MARGIN_US + HC_RP_HYST_US) {
            int64_t d = e->rp_min_slack_us - HC_RP_MARGIN_US;
            int64_t frame_us = (int64_t)n * 1000 / 48;
            if (d > frame_us) d = frame_us;
            shift_ticks(e, -d);
        } else if (e->rp_min_slack_us < 0) {
            shift_ticks(e, HC_RP_MARGIN_US - e->rp_min_slack_us);
        }
        e->rp_first = 0;
    }
    e->rp_ticks = 0;
    e->rp_min_slack_us = INT64_MAX;
}

static void on_playback(void *ctx, float *pcm, size_t n, uint64_t t_play_ns) {
    hc_audio_engine *e = ctx;
    /* The jitter buffers run on the time of decoding, the same clock their packets' arrival
     * times are on; when the frame will reach the speaker (t_play_ns, later by the device's
     * buffering) does not change which packets can be here now. */
    (void)t_play_ns;
    uint64_t now_ns = engine_now(e);
    memset(pcm, 0, n * sizeof *pcm);
    int frame_ms = (int)(n / 48);
    if (!e->sink->ops->shift) track_pulls(e, now_ns, n);
    int64_t min_slack = INT64_MAX;
    int have_slack = 0;
    for (int i = 0; i < HC_AUDIO_MAX_SENDERS; i++) {
        rx_sender *s = e->senders[i];
        if (!s) continue;
        hc_jb_set_extra_us(&s->jb, e->pull_extra_us);
        hc_jb_set_rephased(&s->jb, e->sink->ops->shift != NULL);
        while (s->fifo_len < n) {
            /* the new frame starts playing after what is already queued */
            int64_t t_us = (int64_t)(now_ns / 1000) + (int64_t)s->fifo_len * 1000 / 48;
            produce_frame(e, s, t_us);
            /* a packet played later than due: this tick could have come that much sooner */
            int64_t sl;
            if (hc_jb_take_slack(&s->jb, &sl) == 0 && sl < min_slack) min_slack = sl, have_slack = 1;
        }
        follow_target(e, s);            /* a loss just turned the FEC frame on */
        s->level_db = hc_level_dbfs(s->fifo, n);
        int talking = hc_vad_update(&s->vad, s->level_db, frame_ms);
        /* The jitter buffer's hint: quiet once the VAD has let go, or at once when the decoded
         * frame is near digital silence (Opus enters DTX after 10 silent frames, which at 10 ms
         * frames is sooner than the VAD's hang time). */
        hc_jb_set_talking(&s->jb, talking && s->level_db >= HC_DTX_SILENCE_DB);
        hc_mix_add(pcm, s->fifo, n);
        s->fifo_len -= n;
        memmove(s->fifo, s->fifo + n, s->fifo_len * sizeof *s->fifo);
    }
    hc_mix_limit(pcm, n);
    rephase(e, min_slack, have_slack, n);
}

/* --- lifecycle ----------------------------------------------------------------------------------- */
static int engine_new(hc_audio_engine **out, uv_loop_t *loop, const hc_audio_config *cfg_in,
                      const hc_audio_callbacks *cb, const hc_audio_custom_io *io, char *err, size_t errlen) {
    *out = NULL;
    hc_audio_config cfg;
    hc_audio_config_defaults(&cfg);
    if (cfg_in) {
        if (cfg_in->in_spec) cfg.in_spec = cfg_in->in_spec;
        if (cfg_in->out_spec) cfg.out_spec = cfg_in->out_spec;
        if (cfg_in->frame_ms) cfg.frame_ms = cfg_in->frame_ms;
        if (cfg_in->bitrate) cfg.bitrate = cfg_in->bitrate;
        if (cfg_in->device_latency_ms) cfg.device_latency_ms = cfg_in->device_latency_ms;
        cfg.low_delay = cfg_in->low_delay;
        cfg.vclock = cfg_in->vclock;
    }
    if (cfg.low_delay) cfg.frame_ms = 10;
    hc_audio_spec in, outs;
    if (!(io && io->fill) && hc_audio_spec_parse(cfg.in_spec, 1, &in, err, errlen)) return -1;
    if (!(io && io->consume) && hc_audio_spec_parse(cfg.out_spec, 0, &outs, err, errlen)) return -1;
    if (cfg.vclock && ((!(io && io->fill) && in.kind == HC_SPEC_DEVICE) ||
                       (!(io && io->consume) && outs.kind == HC_SPEC_DEVICE))) {
        snprintf(err, errlen, "a simulated clock cannot pace an audio device (it has a clock of its own)");
        return -1;
    }

    hc_audio_engine *e = calloc(1, sizeof *e);
    if (!e) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    e->loop = loop;
    e->cfg = cfg;
    e->cfg.in_spec = e->cfg.out_spec = NULL;   /* the caller's strings need not outlive us */
    if (cb) e->cb = *cb;
    hc_vad_init(&e->vad);
    e->level_db = HC_LEVEL_FLOOR_DB;
    if (hc_opus_enc_init(&e->enc, cfg.frame_ms, cfg.bitrate, cfg.low_delay, err, errlen)) {
        free(e);
        return -1;
    }
    e->frame_samples = (size_t)e->enc.frame_samples;
    e->rp_min_slack_us = INT64_MAX;
    e->rp_first = 1;
    e->rp_window = HC_RP_WINDOW_MS / cfg.frame_ms;
    if (e->rp_window < HC_RP_FIRST_TICKS) e->rp_window = HC_RP_FIRST_TICKS;
    hc_device_opts dev = {cfg.device_latency_ms};
    int rc = io && io->fill
                 ? hc_src_func_open(&e->src, loop, e->frame_samples, io->fill, io->fill_ctx, on_capture, e, err, errlen)
                 : hc_source_open(&e->src, &in, loop, e->frame_samples, &dev, on_capture, e, err, errlen);
    if (!rc)
        rc = io && io->consume ? hc_sink_func_open(&e->sink, loop, e->frame_samples, io->consume, io->consume_ctx,
                                                   on_playback, e, err, errlen)
                               : hc_sink_open(&e->sink, &outs, loop, e->frame_samples, &dev, on_playback, e, err,
                                              errlen);
    if (rc) {
        hc_audio_engine_free(e);
        return -1;
    }
    e->src->vclock = e->sink->vclock = cfg.vclock;   /* before start, which makes their pacers */
    e->sink->on_failed = e->cb.on_recording_failed;
    e->sink->failed_ctx = e->cb.ctx;
    *out = e;
    return 0;
}

int hc_audio_engine_new(hc_audio_engine **out, uv_loop_t *loop, const hc_audio_config *cfg,
                        const hc_audio_callbacks *cb, char *err, size_t errlen) {
    return engine_new(out, loop, cfg, cb, cfg ? cfg->custom_io : NULL, err, errlen);
}

int hc_audio_engine_new_custom(hc_audio_engine **out, uv_loop_t *loop, const hc_audio_config *cfg,
                               const hc_audio_callbacks *cb, const hc_audio_custom_io *io, char *err,
                               size_t errlen) {
    return engine_new(out, loop, cfg, cb, io, err, errlen);
}

int hc_audio_engine_start(hc_audio_engine *e, char *err, size_t errlen) {
    if (e->started) return 0;
    if (e->sink->ops->start(e->sink, err, errlen)) return -1;
    if (e->src->ops->start(e->src, err, errlen)) {
        e->sink->ops->stop(e->sink);
        return -1;
    }
    e->started = 1;
    return 0;
}

void hc_audio_engine_stop(hc_audio_engine *e) {
    if (!e) return;
    if (e->src) e->src->ops->stop(e->src);
    if (e->sink) e->sink->ops->stop(e->sink);
    e->started = 0;
}

void hc_audio_engine_free(hc_audio_engine *e) {
    if (!e) return;
    hc_audio_engine_stop(e);
    /* close() hands the loop handles to uv_close; their memory goes in the close callbacks. */
    if (e->src) e->src->ops->close(e->src);
    if (e->sink) e->sink->ops->close(e->sink);
    for (int i = 0; i < HC_AUDIO_MAX_SENDERS; i++) free_sender(e->senders[i]);
    hc_opus_enc_free(&e->enc);
    free(e);
}

void hc_audio_engine_forget_sender(hc_audio_engine *e, uint32_t sender) {
    for (int i = 0; i < HC_AUDIO_MAX_SENDERS; i++)
        if (e->senders[i] && e->senders[i]->id == sender) {
            free_sender(e->senders[i]);
            e->senders[i] = NULL;
        }
}

void hc_audio_engine_set_muted(hc_audio_engine *e, int muted) { e->muted = muted != 0; }

void hc_audio_engine_set_loss_percent(hc_audio_engine *e, int pct) {
    if (pct < 0) pct = 0;
    if (pct > 100) pct = 100;
    if (pct != e->enc.loss_pct) hc_opus_enc_set_loss(&e->enc, pct);
}

/* --- stats --------------------------------------------------------------------------------------- */
int hc_audio_engine_rx_stats(const hc_audio_engine *e, uint32_t sender, hc_audio_rx_stats *st) {
    const rx_sender *s = find_sender(e, sender);
    memset(st, 0, sizeof *st);
    if (!s) return -1;
    st->frames = s->frames;
    st->received = s->jb.c.received;
    st->lost = s->jb.c.lost;
    st->late = s->jb.c.late;
    st->duplicates = s->jb.c.duplicates;
    st->concealed = s->concealed;
    st->fec_recovered = s->fec_recovered;
    st->loss_pct = hc_jb_loss_pct(&s->jb);
    st->jitter_ms = s->jb.jitter_us / 1000.0;
    st->delay_ms = (hc_jb_delay_us(&s->jb) + 500) / 1000;
    st->frame_ms = s->frame_samples / 48;
    st->level_dbfs = (int)(s->level_db - 0.5);
    st->talking = s->vad.talking;
    return 0;
}

void hc_audio_engine_tx_stats(const hc_audio_engine *e, hc_audio_tx_stats *st) {
    memset(st, 0, sizeof *st);
    st->frames_sent = e->frames_sent;
    st->dtx_skipped = e->dtx_skipped;
    st->bytes_sent = e->bytes_sent;
    st->capture_overruns = e->src ? e->src->overruns : 0;
    st->capture_underruns = e->src ? e->src->underruns : 0;
    st->playback_underruns = e->sink ? e->sink->underruns : 0;
    st->playback_overruns = e->sink ? e->sink->overruns : 0;
    st->recording_dropped = e->sink ? e->sink->dropped : 0;
    st->level_dbfs = (int)(e->level_db - 0.5);
    st->talking = e->vad.talking;
    st->muted = e->muted;
    st->loss_percent = e->enc.loss_pct;
}

int hc_audio_engine_jb_counters(const hc_audio_engine *e, uint32_t sender, hc_jb_counters *c) {
    const rx_sender *s = find_sender(e, sender);
    memset(c, 0, sizeof *c);
    if (!s) return -1;
    *c = s->jb.c;
    return 0;
}

void hc_audio_engine_playout_info(const hc_audio_engine *e, hc_audio_playout_info *pi) {
    pi->shifts = e->rp_shifts;
    pi->shifted_us = e->rp_shifted_us;
    pi->pull_extra_us = e->pull_extra_us;
}

int hc_audio_engine_frame_samples(const hc_audio_engine *e) { return (int)e->frame_samples; }
const char *hc_audio_engine_describe_in(const hc_audio_engine *e) { return e->src ? e->src->desc : "none"; }
const char *hc_audio_engine_describe_out(const hc_audio_engine *e) { return e->sink ? e->sink->desc : "none"; }
