#include "audio/resample.h"

#include <math.h>
#include <samplerate.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HC_RESAMPLE_CHUNK 1024

struct hc_resampler {
    SRC_STATE *src;            /* NULL when the rates are equal */
    double ratio;
    hc_resample_pull_fn pull;
    void *ctx;
    float chunk[HC_RESAMPLE_CHUNK];
};

/* libsamplerate's callback: hand it the next chunk of input. */
static long src_input(void *cb_data, float **data) {
    hc_resampler *r = cb_data;
    *data = r->chunk;
    return (long)r->pull(r->ctx, r->chunk, HC_RESAMPLE_CHUNK);
}

int hc_resampler_new(hc_resampler **out, int in_rate, int out_rate, hc_resample_pull_fn pull, void *ctx,
                     char *err, size_t errlen) {
    *out = NULL;
    if (in_rate <= 0 || out_rate <= 0 || (double)out_rate / in_rate > 256 || (double)in_rate / out_rate > 256) {
        snprintf(err, errlen, "cannot convert %d Hz to %d Hz", in_rate, out_rate);
        return -1;
    }
    hc_resampler *r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    r->pull = pull;
    r->ctx = ctx;
    r->ratio = (double)out_rate / in_rate;
    if (in_rate != out_rate) {
        int e = 0;
        r->src = src_callback_new(src_input, SRC_SINC_MEDIUM_QUALITY, 1, &e, r);
        if (!r->src) {
            snprintf(err, errlen, "libsamplerate: %s", src_strerror(e));
            free(r);
            return -1;
        }
    }
    *out = r;
    return 0;
}

size_t hc_resampler_read(hc_resampler *r, float *out, size_t n) {
    if (!r->src) {
        size_t got = 0;
        while (got < n) {
            size_t k = r->pull(r->ctx, out + got, n - got);
            if (k == 0) break;
            got += k;
        }
        return got;
    }
    long got = src_callback_read(r->src, r->ratio, (long)n, out);
    return got > 0 ? (size_t)got : 0;
}

void hc_resampler_free(hc_resampler *r) {
    if (!r) return;
    if (r->src) src_delete(r->src);
    free(r);
}

int hc_resample_buffer(const float *in, size_t n, int in_rate, int out_rate, float **out, size_t *out_n) {
    *out = NULL;
    *out_n = 0;
    if (in_rate <= 0 || out_rate <= 0) return -1;
    double ratio = (double)out_rate / in_rate;
    size_t cap = (size_t)ceil((double)n * ratio) + 16;
    float *o = malloc((cap ? cap : 1) * sizeof *o);
    if (!o) return -1;
    if (in_rate == out_rate) {
        memcpy(o, in, n * sizeof *in);
        *out = o;
        *out_n = n;
        return 0;
    }
    SRC_DATA d = {0};
    d.data_in = in;
    d.input_frames = (long)n;
    d.data_out = o;
    d.output_frames = (long)cap;
    d.src_ratio = ratio;
    d.end_of_input = 1;
    if (src_simple(&d, SRC_SINC_BEST_QUALITY, 1) != 0) {
        free(o);
        return -1;
    }
    *out = o;
    *out_n = (size_t)d.output_frames_gen;
    return 0;
}
