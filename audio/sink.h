/* Audio sinks: where the engine's mixed 48 kHz mono frames go.
 *
 * The sink pulls: when it needs a frame (on its clock), it calls pull, and the engine runs the
 * jitter buffers, decoders and mixer for exactly that frame. Files and null are paced by the loop
 * clock; a device by its own clock through a lock-free ring. */
#ifndef HC_AUDIO_SINK_H
#define HC_AUDIO_SINK_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "audio/engine.h"
#include "audio/source.h"
#include "audio/spec.h"

/* Fill pcm with the next n samples. t_play_ns: uv_hrtime() estimate of when the first one plays. */
typedef void (*hc_sink_pull_fn)(void *ctx, float *pcm, size_t n, uint64_t t_play_ns);

typedef struct hc_audio_sink hc_audio_sink;

typedef struct {
    const char *kind;
    int (*start)(hc_audio_sink *s, char *err, size_t errlen);
    void (*stop)(hc_audio_sink *s);
    void (*close)(hc_audio_sink *s);
    /* Move the playout clock: the next pulls come delta_ns later (< 0: sooner). Only sinks
     * whose clock is ours (files, null, functions); NULL for a device, whose clock is its own. */
    void (*shift)(hc_audio_sink *s, int64_t delta_ns);
} hc_sink_ops;

struct hc_audio_sink {
    const hc_sink_ops *ops;
    uv_loop_t *loop;
    /* Loop-paced kinds: the simulated clock that paces them (vclock.h), set before start; NULL
     * for real time. Devices have a clock of their own. */
    struct hc_vclock *vclock;
    size_t frame_samples;
    hc_sink_pull_fn pull;
    void *ctx;
    char desc[300];
    uint64_t underruns, overruns;            /* device sinks */
    /* A recording that can no longer be written says so here, once (set by the engine before
     * start; NULL: a line on stderr), then counts the frames it did not record in dropped. */
    void (*on_failed)(void *ctx, const hc_audio_recording_failure *f);
    void *failed_ctx;
    uint64_t dropped;
};

void hc_sink_base_init(hc_audio_sink *s, const hc_sink_ops *ops, uv_loop_t *loop, size_t frame_samples,
                       hc_sink_pull_fn pull, void *ctx);

int hc_sink_null_open(hc_audio_sink **out, uv_loop_t *loop, size_t frame_samples, hc_sink_pull_fn pull, void *ctx,
                      char *err, size_t errlen);
int hc_sink_wav_open(hc_audio_sink **out, uv_loop_t *loop, size_t frame_samples, const char *path,
                     hc_sink_pull_fn pull, void *ctx, char *err, size_t errlen);
/* A sink that hands every frame to a function (benchmarks, tests), paced like a file. */
typedef void (*hc_sink_consume_fn)(void *consume_ctx, const float *pcm, size_t n, uint64_t t_play_ns);
int hc_sink_func_open(hc_audio_sink **out, uv_loop_t *loop, size_t frame_samples, hc_sink_consume_fn consume,
                      void *consume_ctx, hc_sink_pull_fn pull, void *ctx, char *err, size_t errlen);

int hc_sink_open(hc_audio_sink **out, const hc_audio_spec *spec, uv_loop_t *loop, size_t frame_samples,
                 const hc_device_opts *dev, hc_sink_pull_fn pull, void *ctx, char *err, size_t errlen);

#endif
