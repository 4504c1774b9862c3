/* The loop-paced sources: tone, silence, wav file, function. They share one shape: a pacer
 * ticks once per frame and a generator fills the frame. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audio/pacer.h"
#include "audio/source.h"
#include "audio/wavfile.h"

#define HC_TONE_AMPLITUDE 0.3      /* about -13.5 dBFS RMS: clearly audible, far from clipping */

typedef enum { GEN_TONE, GEN_SILENCE, GEN_WAV, GEN_FUNC } gen_kind;

typedef struct {
    hc_audio_source base;          /* first: the vtable user sees only this */
    gen_kind gen;
    hc_pacer *pacer;
    double phase, step;            /* tone */
    hc_wav_reader *wav;            /* wav */
    hc_source_fill_fn fill;        /* func */
    void *fill_ctx;
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
    switch (p->gen) {
    case GEN_TONE:
        for (size_t i = 0; i < n; i++) {
            p->frame[i] = (float)(HC_TONE_AMPLITUDE * sin(p->phase));
            p->phase += p->step;
            if (p->phase > 2 * M_PI) p->phase -= 2 * M_PI;
        }
        break;
    case GEN_SILENCE:
        memset(p->frame, 0, n * sizeof *p->frame);
        break;
    case GEN_WAV: {
        size_t got = p->base.finished ? 0 : hc_wav_reader_read(p->wav, p->frame, n);
        if (got < n) {
            memset(p->frame + got, 0, (n - got) * sizeof *p->frame);   /* after the end: silence */
            p->base.finished = 1;
        }
        break;
    }
    case GEN_FUNC:
        p->fill(p->fill_ctx, p->frame, n, t_first);
        break;
    }
    p->base.on_frame(p->base.ctx, p->frame, n, t_first);
}

static int paced_start(hc_audio_source *s, char *err, size_t errlen) {
    paced_source *p = (paced_source *)s;
    if (p->pacer) return 0;
    uint64_t period = (uint64_t)s->frame_samples * 1000000000ull / 48000;
    p->pacer = hc_pacer_start(s->loop, period, tick, p);
    if (!p->pacer) {
        snprintf(err, errlen, "cannot start a timer for %s", s->desc);
        return -1;
    }
    return 0;
}

static void paced_stop(hc_audio_source *s) {
    paced_source *p = (paced_source *)s;
    hc_pacer_stop(p->pacer);
    p->pacer = NULL;
}

static void paced_close(hc_audio_source *s) {
    paced_source *p = (paced_source *)s;
    paced_stop(s);
    hc_wav_reader_close(p->wav);
    free(p->frame);
    free(p);
}

static const hc_source_ops tone_ops = {"tone", paced_start, paced_stop, paced_close};
static const hc_source_ops silence_ops = {"silence", paced_start, paced_stop, paced_close};
static const hc_source_ops wav_ops = {"wav", paced_start, paced_stop, paced_close};
static const hc_source_ops func_ops = {"func", paced_start, paced_stop, paced_close};

static paced_source *paced_new(const hc_source_ops *ops, gen_kind gen, uv_loop_t *loop, size_t frame_samples,
                               hc_source_frame_fn fn, void *ctx, char *err, size_t errlen) {
    paced_source *p = calloc(1, sizeof *p);
    if (p) p->frame = calloc(frame_samples, sizeof *p->frame);
    if (!p || !p->frame) {
        if (p) free(p);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    hc_source_base_init(&p->base, ops, loop, frame_samples, fn, ctx);
    p->gen = gen;
    return p;
}

int hc_src_tone_open(hc_audio_source **out, uv_loop_t *loop, size_t frame_samples, double hz,
                     hc_source_frame_fn fn, void *ctx, char *err, size_t errlen) {
    paced_source *p = paced_new(&tone_ops, GEN_TONE, loop, frame_samples, fn, ctx, err, errlen);
    if (!p) return -1;
    p->step = 2 * M_PI * hz / 48000.0;
    snprintf(p->base.desc, sizeof p->base.desc, "tone:%g Hz", hz);
    *out = &p->base;
    return 0;
}

int hc_src_silence_open(hc_audio_source **out, uv_loop_t *loop, size_t frame_samples, hc_source_frame_fn fn,
                        void *ctx, char *err, size_t errlen) {
    paced_source *p = paced_new(&silence_ops, GEN_SILENCE, loop, frame_samples, fn, ctx, err, errlen);
    if (!p) return -1;
    snprintf(p->base.desc, sizeof p->base.desc, "silence");
    *out = &p->base;
    return 0;
}

int hc_src_wav_open(hc_audio_source **out, uv_loop_t *loop, size_t frame_samples, const char *path,
                    hc_source_frame_fn fn, void *ctx, char *err, size_t errlen) {
    paced_source *p = paced_new(&wav_ops, GEN_WAV, loop, frame_samples, fn, ctx, err, errlen);
    if (!p) return -1;
    if (hc_wav_reader_open(&p->wav, path, 48000, err, errlen)) {
        free(p->frame);
        free(p);
        return -1;
    }
    snprintf(p->base.desc, sizeof p->base.desc, "wav:%s (%d Hz, %d ch)", path, hc_wav_reader_file_rate(p->wav),
             hc_wav_reader_file_channels(p->wav));
    *out = &p->base;
    return 0;
}

int hc_src_func_open(hc_audio_source **out, uv_loop_t *loop, size_t frame_samples, hc_source_fill_fn fill,
                     void *fill_ctx, hc_source_frame_fn fn, void *ctx, char *err, size_t errlen) {
    paced_source *p = paced_new(&func_ops, GEN_FUNC, loop, frame_samples, fn, ctx, err, errlen);
    if (!p) return -1;
    p->fill = fill;
    p->fill_ctx = fill_ctx;
    snprintf(p->base.desc, sizeof p->base.desc, "function");
    *out = &p->base;
    return 0;
}
