/* The loop-paced sinks: wav file, null, function. A pacer ticks once per frame; each tick pulls
 * one mixed frame from the engine (so jitter buffers and statistics advance exactly as they would
 * with a sound card) and writes it to the file, drops it, or hands it to a function. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audio/pacer.h"
#include "audio/sink.h"
#include "audio/wavfile.h"

typedef enum { OUT_NULL, OUT_WAV, OUT_FUNC } out_kind;

typedef struct {
    hc_audio_sink base;
    out_kind kind;
    hc_pacer *pacer;
    hc_wav_writer *wav;
    int write_failed;
    hc_sink_consume_fn consume;
    void *consume_ctx;
    float *frame;
} paced_sink;

void hc_sink_base_init(hc_audio_sink *s, const hc_sink_ops *ops, uv_loop_t *loop, size_t frame_samples,
                       hc_sink_pull_fn pull, void *ctx) {
    s->ops = ops;
    s->loop = loop;
    s->frame_samples = frame_samples;
    s->pull = pull;
    s->ctx = ctx;
}

static void tick(void *ctx, uint64_t now_ns) {
    paced_sink *p = ctx;
    size_t n = p->base.frame_samples;
    p->base.pull(p->base.ctx, p->frame, n, now_ns);   /* the frame "plays" from now on */
    switch (p->kind) {
    case OUT_NULL:
        break;
    case OUT_WAV:
        if (!p->write_failed && hc_wav_writer_write(p->wav, p->frame, n)) {
            p->write_failed = 1;
            fprintf(stderr, "hushcall: writing %s failed; recording stopped\n", p->base.desc);
        }
        break;
    case OUT_FUNC:
        p->consume(p->consume_ctx, p->frame, n, now_ns);
        break;
    }
}

static int paced_start(hc_audio_sink *s, char *err, size_t errlen) {
    paced_sink *p = (paced_sink *)s;
    if (p->pacer) return 0;
    uint64_t period = (uint64_t)s->frame_samples * 1000000000ull / 48000;
    p->pacer = hc_pacer_start(s->loop, period, tick, p);
    if (!p->pacer) {
        snprintf(err, errlen, "cannot start a timer for %s", s->desc);
        return -1;
    }
    return 0;
}

static void paced_stop(hc_audio_sink *s) {
    paced_sink *p = (paced_sink *)s;
    hc_pacer_stop(p->pacer);
    p->pacer = NULL;
}

static void paced_close(hc_audio_sink *s) {
    paced_sink *p = (paced_sink *)s;
    paced_stop(s);
    hc_wav_writer_close(p->wav);
    free(p->frame);
    free(p);
}

static const hc_sink_ops null_ops = {"null", paced_start, paced_stop, paced_close};
static const hc_sink_ops wav_ops = {"wav", paced_start, paced_stop, paced_close};
static const hc_sink_ops func_ops = {"func", paced_start, paced_stop, paced_close};

static paced_sink *paced_new(const hc_sink_ops *ops, out_kind kind, uv_loop_t *loop, size_t frame_samples,
                             hc_sink_pull_fn pull, void *ctx, char *err, size_t errlen) {
    paced_sink *p = calloc(1, sizeof *p);
    if (p) p->frame = calloc(frame_samples, sizeof *p->frame);
    if (!p || !p->frame) {
        if (p) free(p);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    hc_sink_base_init(&p->base, ops, loop, frame_samples, pull, ctx);
    p->kind = kind;
    return p;
}

int hc_sink_null_open(hc_audio_sink **out, uv_loop_t *loop, size_t frame_samples, hc_sink_pull_fn pull, void *ctx,
                      char *err, size_t errlen) {
    paced_sink *p = paced_new(&null_ops, OUT_NULL, loop, frame_samples, pull, ctx, err, errlen);
    if (!p) return -1;
    snprintf(p->base.desc, sizeof p->base.desc, "null");
    *out = &p->base;
    return 0;
}

int hc_sink_wav_open(hc_audio_sink **out, uv_loop_t *loop, size_t frame_samples, const char *path,
                     hc_sink_pull_fn pull, void *ctx, char *err, size_t errlen) {
    paced_sink *p = paced_new(&wav_ops, OUT_WAV, loop, frame_samples, pull, ctx, err, errlen);
    if (!p) return -1;
    if (hc_wav_writer_open(&p->wav, path, 48000, err, errlen)) {
        free(p->frame);
        free(p);
        return -1;
    }
    snprintf(p->base.desc, sizeof p->base.desc, "wav:%s", path);
    *out = &p->base;
    return 0;
}

int hc_sink_func_open(hc_audio_sink **out, uv_loop_t *loop, size_t frame_samples, hc_sink_consume_fn consume,
                      void *consume_ctx, hc_sink_pull_fn pull, void *ctx, char *err, size_t errlen) {
    paced_sink *p = paced_new(&func_ops, OUT_FUNC, loop, frame_samples, pull, ctx, err, errlen);
    if (!p) return -1;
    p->consume = consume;
    p->consume_ctx = consume_ctx;
    snprintf(p->base.desc, sizeof p->base.desc, "function");
    *out = &p->base;
    return 0;
}
