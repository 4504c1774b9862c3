/* Spec -> source or sink: the one place that knows every kind. */
#include <stdio.h>

#include "audio/pa_device.h"
#include "audio/sink.h"
#include "audio/source.h"

int hc_source_open(hc_audio_source **out, const hc_audio_spec *spec, uv_loop_t *loop, size_t frame_samples,
                   const hc_device_opts *dev, hc_source_frame_fn fn, void *ctx, char *err, size_t errlen) {
    switch (spec->kind) {
    case HC_SPEC_DEVICE: return hc_pa_source_open(out, spec, loop, frame_samples, dev, fn, ctx, err, errlen);
    case HC_SPEC_WAV: return hc_src_wav_open(out, loop, frame_samples, spec->arg, fn, ctx, err, errlen);
    case HC_SPEC_TONE: return hc_src_tone_open(out, loop, frame_samples, spec->tone_hz, fn, ctx, err, errlen);
    case HC_SPEC_SILENCE: return hc_src_silence_open(out, loop, frame_samples, fn, ctx, err, errlen);
    case HC_SPEC_NULL: break;
    }
    snprintf(err, errlen, "'null' is not an audio input");
    return -1;
}

int hc_sink_open(hc_audio_sink **out, const hc_audio_spec *spec, uv_loop_t *loop, size_t frame_samples,
                 const hc_device_opts *dev, hc_sink_pull_fn pull, void *ctx, char *err, size_t errlen) {
    switch (spec->kind) {
    case HC_SPEC_DEVICE: return hc_pa_sink_open(out, spec, loop, frame_samples, dev, pull, ctx, err, errlen);
    case HC_SPEC_WAV: return hc_sink_wav_open(out, loop, frame_samples, spec->arg, pull, ctx, err, errlen);
    case HC_SPEC_NULL: return hc_sink_null_open(out, loop, frame_samples, pull, ctx, err, errlen);
    case HC_SPEC_TONE:
    case HC_SPEC_SILENCE: break;
    }
    snprintf(err, errlen, "a tone or silence is not an audio output");
    return -1;
}
