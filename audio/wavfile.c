#include "audio/wavfile.h"

#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audio/resample.h"

#define HC_WAV_CHUNK 1024
#define HC_WAV_MAX_CHANNELS 64

struct hc_wav_reader {
    SNDFILE *sf;
    SF_INFO info;
    hc_resampler *rs;
    float interleaved[HC_WAV_CHUNK * 8];  /* HC_WAV_CHUNK/channels frames per read */
};

/* Pull function for the resampler: read interleaved frames and average the channels. */
static size_t read_mono(void *ctx, float *buf, size_t n) {
    hc_wav_reader *r = ctx;
    size_t ch = (size_t)r->info.channels;
    size_t max_frames = sizeof r->interleaved / sizeof r->interleaved[0] / ch;
    if (n > max_frames) n = max_frames;
    sf_count_t got = sf_readf_float(r->sf, r->interleaved, (sf_count_t)n);
    if (got <= 0) return 0;
    for (sf_count_t i = 0; i < got; i++) {
        float s = 0;
        for (size_t c = 0; c < ch; c++) s += r->interleaved[(size_t)i * ch + c];
        buf[i] = s / (float)ch;
    }
    return (size_t)got;
}

int hc_wav_reader_open(hc_wav_reader **out, const char *path, int out_rate, char *err, size_t errlen) {
    *out = NULL;
    hc_wav_reader *r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    r->sf = sf_open(path, SFM_READ, &r->info);
    if (!r->sf) {
        snprintf(err, errlen, "cannot read audio file '%s': %s", path, sf_strerror(NULL));
        free(r);
        return -1;
    }
    if (r->info.channels < 1 || r->info.channels > HC_WAV_MAX_CHANNELS || r->info.samplerate < 1000 ||
        r->info.samplerate > 768000) {
        snprintf(err, errlen, "audio file '%s': unsupported layout (%d channels, %d Hz)", path, r->info.channels,
                 r->info.samplerate);
        sf_close(r->sf);
        free(r);
        return -1;
    }
    /* int16/int24 files decode to [-1, 1) floats; keep libsndfile's default normalisation. */
    char e2[200];
    if (hc_resampler_new(&r->rs, r->info.samplerate, out_rate, read_mono, r, e2, sizeof e2)) {
        snprintf(err, errlen, "audio file '%s': %s", path, e2);
        sf_close(r->sf);
        free(r);
        return -1;
    }
    *out = r;
    return 0;
}

size_t hc_wav_reader_read(hc_wav_reader *r, float *out, size_t n) { return hc_resampler_read(r->rs, out, n); }
int hc_wav_reader_file_rate(const hc_wav_reader *r) { return r->info.samplerate; }
int hc_wav_reader_file_channels(const hc_wav_reader *r) { return r->info.channels; }
double hc_wav_reader_seconds(const hc_wav_reader *r) { return (double)r->info.frames / r->info.samplerate; }

void hc_wav_reader_close(hc_wav_reader *r) {
    if (!r) return;
    hc_resampler_free(r->rs);
    sf_close(r->sf);
    free(r);
}

int hc_wav_read_all(const char *path, int out_rate, float **out, size_t *n, char *err, size_t errlen) {
    *out = NULL;
    *n = 0;
    hc_wav_reader *r;
    if (hc_wav_reader_open(&r, path, out_rate, err, errlen)) return -1;
    size_t cap = (size_t)(hc_wav_reader_seconds(r) * out_rate) + 4096, len = 0;
    float *buf = malloc(cap * sizeof *buf);
    if (!buf) {
        hc_wav_reader_close(r);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (;;) {
        if (len == cap) {
            float *nb = realloc(buf, 2 * cap * sizeof *buf);
            if (!nb) {
                free(buf);
                hc_wav_reader_close(r);
                snprintf(err, errlen, "out of memory");
                return -1;
            }
            buf = nb;
            cap *= 2;
        }
        size_t k = hc_wav_reader_read(r, buf + len, cap - len);
        if (k == 0) break;
        len += k;
    }
    hc_wav_reader_close(r);
    *out = buf;
    *n = len;
    return 0;
}

struct hc_wav_writer {
    SNDFILE *sf;
};

int hc_wav_writer_open(hc_wav_writer **out, const char *path, int rate, char *err, size_t errlen) {
    *out = NULL;
    SF_INFO info = {0};
    info.samplerate = rate;
    info.channels = 1;
    info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
    SNDFILE *sf = sf_open(path, SFM_WRITE, &info);
    if (!sf) {
        snprintf(err, errlen, "cannot write audio file '%s': %s", path, sf_strerror(NULL));
        return -1;
    }
    /* Rewrite the header on every write: a killed process still leaves a playable file. */
    sf_command(sf, SFC_SET_UPDATE_HEADER_AUTO, NULL, SF_TRUE);
    /* Saturate instead of wrapping when a float is outside [-1, 1]. */
    sf_command(sf, SFC_SET_CLIPPING, NULL, SF_TRUE);
    hc_wav_writer *w = calloc(1, sizeof *w);
    if (!w) {
        sf_close(sf);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    w->sf = sf;
    *out = w;
    return 0;
}

int hc_wav_writer_write(hc_wav_writer *w, const float *x, size_t n) {
    return sf_writef_float(w->sf, x, (sf_count_t)n) == (sf_count_t)n ? 0 : -1;
}

void hc_wav_writer_close(hc_wav_writer *w) {
    if (!w) return;
    sf_close(w->sf);
    free(w);
}

int hc_wav_write_all(const char *path, int rate, const float *x, size_t n, char *err, size_t errlen) {
    hc_wav_writer *w;
    if (hc_wav_writer_open(&w, path, rate, err, errlen)) return -1;
    int rc = hc_wav_writer_write(w, x, n);
    if (rc) snprintf(err, errlen, "write to '%s' failed", path);
    hc_wav_writer_close(w);
    return rc;
}
