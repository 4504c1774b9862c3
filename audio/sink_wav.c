/* wav:FILE - 16-bit 48 kHz mono WAV, header kept valid after every write (wavfile.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audio/paced.h"
#include "audio/wavfile.h"

typedef struct {
    hc_wav_writer *w;
    int failed;
    char path[256];
} wav_con;

static void wav_consume(void *state, const float *pcm, size_t n, uint64_t t) {
    (void)t;
    wav_con *c = state;
    if (!c->failed && hc_wav_writer_write(c->w, pcm, n)) {
        c->failed = 1;      /* a full disk must not end the call: say so once and stop recording */
        fprintf(stderr, "hushcall: writing %s failed; recording stopped\n", c->path);
    }
}

static void wav_free(void *state) {
    wav_con *c = state;
    hc_wav_writer_close(c->w);
    free(c);
}

static const hc_consumer_ops wav_ops = {wav_consume, wav_free};

int hc_sink_wav_open(hc_audio_sink **out, uv_loop_t *loop, size_t frame_samples, const char *path,
                     hc_sink_pull_fn pull, void *ctx, char *err, size_t errlen) {
    wav_con *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (hc_wav_writer_open(&c->w, path, 48000, err, errlen)) {
        free(c);
        return -1;
    }
    snprintf(c->path, sizeof c->path, "%s", path);
    char desc[300];
    snprintf(desc, sizeof desc, "wav:%s", path);
    return hc_paced_sink_open(out, loop, frame_samples, "wav", &wav_ops, c, desc, pull, ctx, err, errlen);
}
