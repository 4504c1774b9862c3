/* Loop-paced sources and sinks, shared by every kind that has no clock of its own (tone,
 * silence, wav, null, function). The pacing lives here once; each kind is a small generator
 * (fills a frame) or consumer (takes a frame) in its own file. */
#ifndef HC_AUDIO_PACED_H
#define HC_AUDIO_PACED_H

#include "audio/sink.h"
#include "audio/source.h"

typedef struct {
    /* Fill pcm with the next n samples; set *finished once the input has ended (then fill
     * silence: the call goes on). */
    void (*fill)(void *state, float *pcm, size_t n, uint64_t t_first_ns, int *finished);
    void (*free)(void *state);
} hc_generator_ops;

typedef struct {
    void (*consume)(void *state, const float *pcm, size_t n, uint64_t t_play_ns);
    void (*free)(void *state);
} hc_consumer_ops;

/* Takes ownership of state (freed with ops->free, also on failure). desc: for describe_in/out. */
int hc_paced_source_open(hc_audio_source **out, uv_loop_t *loop, size_t frame_samples, const char *kind,
                         const hc_generator_ops *ops, void *state, const char *desc, hc_source_frame_fn fn,
                         void *ctx, char *err, size_t errlen);
int hc_paced_sink_open(hc_audio_sink **out, uv_loop_t *loop, size_t frame_samples, const char *kind,
                       const hc_consumer_ops *ops, void *state, const char *desc, hc_sink_pull_fn pull, void *ctx,
                       char *err, size_t errlen);

#endif
