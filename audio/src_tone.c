/* tone:HZ - a sine at about -13.5 dBFS RMS: clearly audible, far from clipping. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "audio/paced.h"

#define HC_TONE_AMPLITUDE 0.3

typedef struct {
    double phase, step;            /* radians, radians per sample (double: no drift over hours) */
} tone_gen;

static void tone_fill(void *state, float *pcm, size_t n, uint64_t t, int *finished) {
    (void)t; (void)finished;
    tone_gen *g = state;
    for (size_t i = 0; i < n; i++) {
        pcm[i] = (float)(HC_TONE_AMPLITUDE * sin(g->phase));
        g->phase += g->step;
        if (g->phase > 2 * M_PI) g->phase -= 2 * M_PI;
    }
}

static const hc_generator_ops tone_ops = {tone_fill, free};

int hc_src_tone_open(hc_audio_source **out, uv_loop_t *loop, size_t frame_samples, double hz,
                     hc_source_frame_fn fn, void *ctx, char *err, size_t errlen) {
    tone_gen *g = calloc(1, sizeof *g);
    if (!g) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    g->step = 2 * M_PI * hz / 48000.0;
    char desc[64];
    snprintf(desc, sizeof desc, "tone:%g Hz", hz);
    return hc_paced_source_open(out, loop, frame_samples, "tone", &tone_ops, g, desc, fn, ctx, err, errlen);
}
