/* null - frames are mixed (so receive statistics stay live) and dropped. */
#include "audio/paced.h"

static const hc_consumer_ops null_ops = {NULL, NULL};

int hc_sink_null_open(hc_audio_sink **out, uv_loop_t *loop, size_t frame_samples, hc_sink_pull_fn pull, void *ctx,
                      char *err, size_t errlen) {
    return hc_paced_sink_open(out, loop, frame_samples, "null", &null_ops, NULL, "null", pull, ctx, err, errlen);
}
