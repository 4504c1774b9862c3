/* A source paced by the loop clock: the pacer ticks once per frame, the generator fills the
 * frame, the engine gets it. */
#include <stdio.h>
#include <stdlib.h>

#include "audio/pacer.h"
#include "audio/paced.h"

typedef struct {
    hc_audio_source base;          /* first: users see only this */
    hc_source_ops ops;
    const hc_generator_ops *gen;
    void *state;
    hc_pacer *pacer;
    float *frame;
} paced_source;

void hc_source_base_init(hc_audio_source *s, const hc_source_ops *ops, uv_loop_t *loop, size_t frame_samples,
                         hc_source_frame_fn fn, void *ctx) {
    s->ops = ops;
    s->loop = loop;
    s->frame_samples = frame_samples;
    s->on_frame = fn;
    s->ctx = ctx;
}

static void tick(void *ctx, uint64_t now_ns) {
    paced_source *p = ctx;
    size_t n = p->base.frame_samples;
    /* The frame is complete now, so its first sample was "captured" one frame ago. */
    uint64_t t_first = now_ns - (uint64_t)n * 1000000000ull / 48000;
    p->gen->fill(p->state, p->frame, n, t_first, &p->base.finished);
    p->base.on_frame(p->base.ctx, p->frame, n, t_first);
}

static int paced_start(hc_audio_source *s, char *err, size_t errlen) {
    paced_source *p = (paced_source *)s;
    if (p->pacer) return 0;
    p->pacer = hc_pacer_start(s->loop, s->vclock, (uint64_t)s->frame_samples * 1000000000ull / 48000, tick, p);
    if (!p->pacer) {
        snprintf(err, errlen, "cannot start a timer for %s", s->desc);
        return -1;
    }
    return 0;
}

static void paced_stop(hc_audio_source *s) {
    paced_source *p = (paced_source *)s;
    hc_pacer_stop(p->pacer);       /* closes the timer: nothing of ours stays on the loop */
    p->pacer = NULL;
}

static void paced_close(hc_audio_source *s) {
    paced_source *p = (paced_source *)s;
    paced_stop(s);
    if (p->gen->free) p->gen->free(p->state);
    free(p->frame);
    free(p);
}

int hc_paced_source_open(hc_audio_source **out, uv_loop_t *loop, size_t frame_samples, const char *kind,
                         const hc_generator_ops *ops, void *state, const char *desc, hc_source_frame_fn fn,
                         void *ctx, char *err, size_t errlen) {
    *out = NULL;
    paced_source *p = calloc(1, sizeof *p);
    if (p) p->frame = calloc(frame_samples, sizeof *p->frame);
    if (!p || !p->frame) {
        free(p);
        if (ops->free) ops->free(state);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    p->ops = (hc_source_ops){kind, paced_start, paced_stop, paced_close};
    hc_source_base_init(&p->base, &p->ops, loop, frame_samples, fn, ctx);
    p->gen = ops;
    p->state = state;
    snprintf(p->base.desc, sizeof p->base.desc, "%s", desc);
    *out = &p->base;
    return 0;
}

/* --- function source (benchmarks, tests) ------------------------------------------------------ */
typedef struct {
    hc_source_fill_fn fill;
    void *ctx;
} func_gen;

static void func_fill(void *state, float *pcm, size_t n, uint64_t t_first_ns, int *finished) {
    (void)finished;
    func_gen *g = state;
    g->fill(g->ctx, pcm, n, t_first_ns);
}

static const hc_generator_ops func_ops = {func_fill, free};

int hc_src_func_open(hc_audio_source **out, uv_loop_t *loop, size_t frame_samples, hc_source_fill_fn fill,
                     void *fill_ctx, hc_source_frame_fn fn, void *ctx, char *err, size_t errlen) {
    func_gen *g = calloc(1, sizeof *g);
    if (!g) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    g->fill = fill;
    g->ctx = fill_ctx;
    return hc_paced_source_open(out, loop, frame_samples, "function", &func_ops, g, "function", fn, ctx, err, errlen);
}
