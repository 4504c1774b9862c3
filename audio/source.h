/* Audio sources: where the engine's 48 kHz mono frames come from.
 *
 * A small vtable (as baresip's ausrc): each kind fills in start/stop/close and calls on_frame once
 * per frame on the loop thread. Files, tones and silence are paced by the loop clock (pacer.h);
 * a device is paced by its own clock through a lock-free ring (pa_device.c). */
#ifndef HC_AUDIO_SOURCE_H
#define HC_AUDIO_SOURCE_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "audio/spec.h"

/* One frame of frame_samples mono floats at 48 kHz. t_first_ns: uv_hrtime() estimate of when the
 * first sample of the frame was captured. */
typedef void (*hc_source_frame_fn)(void *ctx, const float *pcm, size_t n, uint64_t t_first_ns);

typedef struct hc_audio_source hc_audio_source;

typedef struct {
    const char *kind;
    int (*start)(hc_audio_source *s, char *err, size_t errlen);
    void (*stop)(hc_audio_source *s);
    void (*close)(hc_audio_source *s);      /* stops if needed and frees */
} hc_source_ops;

struct hc_audio_source {
    const hc_source_ops *ops;
    uv_loop_t *loop;
    /* Loop-paced kinds: the simulated clock that paces them (vclock.h), set before start; NULL
     * for real time. Devices have a clock of their own. */
    struct hc_vclock *vclock;
    size_t frame_samples;
    hc_source_frame_fn on_frame;
    void *ctx;
    char desc[300];
    int finished;                            /* a file source reached its end (plays silence now) */
    uint64_t overruns, underruns;            /* device sources: see pa_device.c */
};

/* Options that only devices use. */
typedef struct {
    int latency_ms;          /* PortAudio suggested latency */
} hc_device_opts;

/* Sets the fields every source shares. */
void hc_source_base_init(hc_audio_source *s, const hc_source_ops *ops, uv_loop_t *loop, size_t frame_samples,
                         hc_source_frame_fn fn, void *ctx);

int hc_src_tone_open(hc_audio_source **out, uv_loop_t *loop, size_t frame_samples, double hz,
                     hc_source_frame_fn fn, void *ctx, char *err, size_t errlen);
int hc_src_silence_open(hc_audio_source **out, uv_loop_t *loop, size_t frame_samples, hc_source_frame_fn fn,
                        void *ctx, char *err, size_t errlen);
int hc_src_wav_open(hc_audio_source **out, uv_loop_t *loop, size_t frame_samples, const char *path,
                    hc_source_frame_fn fn, void *ctx, char *err, size_t errlen);

/* A source whose samples come from a function (benchmarks, tests), paced like a file. */
typedef void (*hc_source_fill_fn)(void *fill_ctx, float *pcm, size_t n, uint64_t t_first_ns);
int hc_src_func_open(hc_audio_source **out, uv_loop_t *loop, size_t frame_samples, hc_source_fill_fn fill,
                     void *fill_ctx, hc_source_frame_fn fn, void *ctx, char *err, size_t errlen);

/* Any spec (device, wav, tone, silence). */
int hc_source_open(hc_audio_source **out, const hc_audio_spec *spec, uv_loop_t *loop, size_t frame_samples,
                   const hc_device_opts *dev, hc_source_frame_fn fn, void *ctx, char *err, size_t errlen);

#endif
