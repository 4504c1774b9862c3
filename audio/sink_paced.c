/* A sink paced by the loop clock: the pacer ticks once per frame, the engine mixes exactly that
 * frame (so jitter buffers and statistics advance as they would with a sound card), and the
 * consumer takes it. Nothing outside says when a tick must come, so the engine may move them
 * (shift) to just after the packets' arrival. */
#include <stdio.h>
#include <stdlib.h>

#include "audio/pacer.h"
#include "audio/paced.h"

typedef struct {
    hc_audio_sink base;
    hc_sink_ops ops;
    const hc_consumer_ops *con;
    void *state;
    hc_pacer *pacer;
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
    if (p->con->consume) p->con->consume(p->state, p->frame, n, now_ns);
}

static int paced_start(hc_audio_sink *s, char *err, size_t errlen) {
    paced_sink *p = (paced_sink *)s;
    if (p->pacer) return 0;
    p->pacer = hc_pacer_start(s->loop, s->vclock, (uint64_t)s->frame_samples * 1000000000ull / 48000, tick, p);
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

static void paced_shift(hc_audio_sink *s, int64_t delta_ns) {
    paced_sink *p = (paced_sink *)s;
    hc_pacer_shift(p->pacer, delta_ns);
}

static void paced_close(hc_audio_sink *s) {
    paced_sink *p = (paced_sink *)s;
    paced_stop(s);
    if (p->con->free) p->con->free(p->state);
    free(p->frame);
    free(p);
}

int hc_paced_sink_open(hc_audio_sink **out, uv_loop_t *loop, size_t frame_samples, const char *kind,
                       const hc_consumer_ops *ops, void *state, const char *desc, hc_sink_pull_fn pull, void *ctx,
                       char *err, size_t errlen) {
    *out = NULL;
    paced_sink *p = calloc(1, sizeof *p);
    if (p) p->frame = calloc(frame_samples, sizeof *p->frame);
    if (!p || !p->frame) {
        free(p);
        if (ops->free) ops->free(state);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    p->ops = (hc_sink_ops){kind, paced_start, paced_stop, paced_close, paced_shift};
    hc_sink_base_init(&p->base, &p->ops, loop, frame_samples, pull, ctx);
    p->con = ops;
    p->state = state;
    snprintf(p->base.desc, sizeof p->base.desc, "%s", desc);
    *out = &p->base;
    return 0;
}

/* --- function sink (benchmarks, tests) -------------------------------------------------------- */
typedef struct {
    hc_sink_consume_fn consume;
    void *ctx;
} func_con;

static void func_consume(void *state, const float *pcm, size_t n, uint64_t t_play_ns) {
    func_con *c = state;
    c->consume(c->ctx, pcm, n, t_play_ns);
}

static const hc_consumer_ops func_ops = {func_consume, free};

int hc_sink_func_open(hc_audio_sink **out, uv_loop_t *loop, size_t frame_samples, hc_sink_consume_fn consume,
                      void *consume_ctx, hc_sink_pull_fn pull, void *ctx, char *err, size_t errlen) {
    func_con *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    c->consume = consume;
    c->ctx = consume_ctx;
    return hc_paced_sink_open(out, loop, frame_samples, "function", &func_ops, c, "function", pull, ctx, err, errlen);
}
