/* Sample-rate conversion with libsamplerate (band-limited sinc), never hand-written DSP.
 * Streaming form: the converter pulls input through a callback, so a file can be converted as it
 * is played without loading it whole. */
#ifndef HC_AUDIO_RESAMPLE_H
#define HC_AUDIO_RESAMPLE_H

#include <stddef.h>

/* Supplies up to n mono input samples into buf; returns how many (0 = end of input). */
typedef size_t (*hc_resample_pull_fn)(void *ctx, float *buf, size_t n);

typedef struct hc_resampler hc_resampler;

/* 0, or -1 with err. in_rate == out_rate is allowed (samples pass through unchanged). */
int hc_resampler_new(hc_resampler **out, int in_rate, int out_rate, hc_resample_pull_fn pull, void *ctx,
                     char *err, size_t errlen);
/* Up to n output samples; fewer only at the end of input. */
size_t hc_resampler_read(hc_resampler *r, float *out, size_t n);
void hc_resampler_free(hc_resampler *r);

/* One-shot conversion of a whole buffer; *out is malloc'ed (caller frees). 0 or -1. */
int hc_resample_buffer(const float *in, size_t n, int in_rate, int out_rate, float **out, size_t *out_n);

#endif
