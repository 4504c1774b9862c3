#include "audio/wavfile.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* The writer is plain POSIX I/O rather than libsndfile: a recording can fail part way (a full
 * disk, a file-size limit, an I/O error) and what is left must then be a valid file of exactly
 * what was written, with the errno of the write that failed for the message. libsndfile keeps
 * counting frames it could not write (its header then claims more than the file holds), accepts
 * writes after a failure, and has only a text for the cause. 16-bit mono PCM needs a 44-byte
 * header and nothing else. */
#define WAV_HEADER 44
#define WAV_DATA_MAX (UINT32_MAX - 36u - 1u)   /* the RIFF size is a u32; keep it even */

struct hc_wav_writer {
    int fd;
    int rate;
    int seekable;             /* a pipe gets one header that cannot be updated */
    int err;                  /* errno of the first failure; from then on writes are refused */
    uint64_t data_bytes;      /* PCM bytes in the file after the header */
    uint8_t buf[HC_WAV_CHUNK * 2];
};

static void put_le16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void put_le32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static void wav_header(uint8_t h[WAV_HEADER], int rate, uint32_t data_bytes) {
    memcpy(h, "RIFF", 4);
    put_le32(h + 4, 36u + data_bytes);
    memcpy(h + 8, "WAVEfmt ", 8);
    put_le32(h + 16, 16);                      /* fmt chunk size */
    put_le16(h + 20, 1);                       /* PCM */
    put_le16(h + 22, 1);                       /* mono */
    put_le32(h + 24, (uint32_t)rate);
    put_le32(h + 28, (uint32_t)rate * 2u);     /* bytes per second */
    put_le16(h + 32, 2);                       /* bytes per frame */
    put_le16(h + 34, 16);                      /* bits per sample */
    memcpy(h + 36, "data", 4);
    put_le32(h + 40, data_bytes);
}

/* Writes all of p, or fails with errno set; *done says how much reached the file either way
 * (a full disk or a size limit first gives a short write, then the error). */
static int write_all(int fd, const uint8_t *p, size_t n, size_t *done) {
    *done = 0;
    while (*done < n) {
        ssize_t k = write(fd, p + *done, n - *done);
        if (k < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        if (k == 0) {
            errno = EIO;
            return -1;
        }
        *done += (size_t)k;
    }
    return 0;
}

/* The sizes in the header, rewritten in place (8 bytes at offsets 4 and 40, within blocks the
 * file already has: this works on a full disk too). */
static int update_header(hc_wav_writer *w) {
    if (!w->seekable) return 0;
    uint8_t h[WAV_HEADER];
    wav_header(h, w->rate, (uint32_t)w->data_bytes);
    static const off_t at[2] = {4, 40};
    for (int i = 0; i < 2; i++) {
        ssize_t k = pwrite(w->fd, h + at[i], 4, at[i]);
        if (k != 4) {
            if (k >= 0) errno = EIO;           /* a short write of 4 bytes: no errno of its own */
            return -1;
        }
    }
    return 0;
}

int hc_wav_writer_open(hc_wav_writer **out, const char *path, int rate, char *err, size_t errlen) {
    *out = NULL;
    hc_wav_writer *w = calloc(1, sizeof *w);
    if (!w) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    w->rate = rate;
    w->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (w->fd < 0) {
        snprintf(err, errlen, "cannot write audio file '%s': %s", path, strerror(errno));
        free(w);
        return -1;
    }
    w->seekable = lseek(w->fd, 0, SEEK_CUR) >= 0;
    uint8_t h[WAV_HEADER];
    /* A pipe cannot be rewound: its header says "as long as it goes" (the largest sizes). */
    wav_header(h, rate, w->seekable ? 0 : WAV_DATA_MAX);
    size_t done;
    if (write_all(w->fd, h, sizeof h, &done) < 0) {
        snprintf(err, errlen, "cannot write audio file '%s': %s", path, strerror(errno));
        close(w->fd);
        free(w);
        return -1;
    }
    *out = w;
    return 0;
}

static int16_t to_s16(float x) {
    /* As libsndfile with clipping on: scale by 32767 and saturate instead of wrapping. */
    float v = x * 32767.0f;
    if (v >= 32767.0f) return 32767;
    if (v <= -32768.0f) return -32768;
    if (v != v) return 0;                      /* NaN */
    return (int16_t)lrintf(v);
}

/* Stops the recording after a failed write: the file keeps the whole samples that reached it (a
 * byte of a half-written one is cut off) and a header that says so. Best effort: the first error
 * is the one reported. */
static void fail_write(hc_wav_writer *w, int e, size_t partial) {
    w->err = e;
    w->data_bytes += partial;
    if (w->data_bytes & 1) {
        w->data_bytes--;
        /* if this fails too, a stray byte after the data chunk is all that is wrong */
        int rc = w->seekable ? ftruncate(w->fd, (off_t)(WAV_HEADER + w->data_bytes)) : 0;
        (void)rc;
    }
    (void)update_header(w);
}

int hc_wav_writer_write(hc_wav_writer *w, const float *x, size_t n) {
    if (w->err) {
        errno = w->err;
        return -1;
    }
    while (n) {
        size_t k = n < HC_WAV_CHUNK ? n : HC_WAV_CHUNK;
        if (w->data_bytes + 2 * k > WAV_DATA_MAX) {
            fail_write(w, EFBIG, 0);           /* a WAV file cannot say more than 4 GiB */
            errno = w->err;
            return -1;
        }
        for (size_t i = 0; i < k; i++) put_le16(w->buf + 2 * i, (uint16_t)to_s16(x[i]));
        size_t done;
        if (write_all(w->fd, w->buf, 2 * k, &done) < 0) {
            fail_write(w, errno, done);
            errno = w->err;
            return -1;
        }
        w->data_bytes += done;
        x += k;
        n -= k;
    }
    /* after every write, so a killed process still leaves a playable file */
    if (update_header(w) < 0) {
        fail_write(w, errno, 0);
        errno = w->err;
        return -1;
    }
    return 0;
}

int hc_wav_writer_error(const hc_wav_writer *w) { return w->err; }
uint64_t hc_wav_writer_samples(const hc_wav_writer *w) { return w->data_bytes / 2; }

void hc_wav_writer_close(hc_wav_writer *w) {
    if (!w) return;
    close(w->fd);
    free(w);
}

int hc_wav_write_all(const char *path, int rate, const float *x, size_t n, char *err, size_t errlen) {
    hc_wav_writer *w;
    if (hc_wav_writer_open(&w, path, rate, err, errlen)) return -1;
    int rc = hc_wav_writer_write(w, x, n);
    if (rc) snprintf(err, errlen, "write to '%s' failed: %s", path, strerror(w->err));
    hc_wav_writer_close(w);
    return rc;
}
