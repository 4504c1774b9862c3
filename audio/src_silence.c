/* silence - digital zeros (the encoder goes into DTX: almost nothing is sent). */
#include <string.h>

#include "audio/paced.h"

static void silence_fill(void *state, float *pcm, size_t n, uint64_t t, int *finished) {
    (void)state; (void)t; (void)finished;
    memset(pcm, 0, n * sizeof *pcm);
}

static const hc_generator_ops silence_ops = {silence_fill, NULL};

int hc_src_silence_open(hc_audio_source **out, uv_loop_t *loop, size_t frame_samples, hc_source_frame_fn fn,
                        void *ctx, char *err, size_t errlen) {
    return hc_paced_source_open(out, loop, frame_samples, "silence", &silence_ops, NULL, "silence", fn, ctx, err,
                                errlen);
}
