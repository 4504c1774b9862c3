/* wav:FILE - 16-bit 48 kHz mono WAV, header kept valid after every write (wavfile.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audio/paced.h"
#include "audio/wavfile.h"

typedef struct {
    hc_wav_writer *w;         /* NULL once the recording has stopped */
    hc_audio_sink *sink;      /* for the failure report and the dropped count */
    char *path;
} wav_con;

static void wav_consume(void *state, const float *pcm, size_t n, uint64_t t) {
    (void)t;
    wav_con *c = state;
    if (!c->w) {
        c->sink->dropped++;
        return;
    }
    if (!hc_wav_writer_write(c->w, pcm, n)) return;
    /* A full disk must not end the call: the recording stops here, the file stays a valid WAV
     * of what reached it, and the failure is reported once. The sink keeps pulling frames, so
     * the jitter buffers and statistics go on as they would with a sound card; those frames are
     * only counted. */
    hc_audio_recording_failure f = {c->path, hc_wav_writer_error(c->w),
                                    hc_wav_writer_samples(c->w) * 1000 / 48000};
    hc_wav_writer_close(c->w);        /* the descriptor goes now, not at the end of the call */
    c->w = NULL;
    c->sink->dropped++;
    snprintf(c->sink->desc, sizeof c->sink->desc, "wav:%s (recording stopped: %s)", c->path, strerror(f.errnum));
    if (c->sink->on_failed) c->sink->on_failed(c->sink->failed_ctx, &f);
    else fprintf(stderr, "hushcall: writing %s failed: %s; recording stopped\n", c->path, strerror(f.errnum));
}

static void wav_free(void *state) {
    wav_con *c = state;
    hc_wav_writer_close(c->w);
    free(c->path);
    free(c);
}

static const hc_consumer_ops wav_ops = {wav_consume, wav_free};

int hc_sink_wav_open(hc_audio_sink **out, uv_loop_t *loop, size_t frame_samples, const char *path,
                     hc_sink_pull_fn pull, void *ctx, char *err, size_t errlen) {
    wav_con *c = calloc(1, sizeof *c);
    if (c) c->path = strdup(path);
    if (!c || !c->path) {
        free(c);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (hc_wav_writer_open(&c->w, path, 48000, err, errlen)) {
        free(c->path);
        free(c);
        return -1;
    }
    char desc[300];
    snprintf(desc, sizeof desc, "wav:%s", path);
    if (hc_paced_sink_open(out, loop, frame_samples, "wav", &wav_ops, c, desc, pull, ctx, err, errlen)) return -1;
    c->sink = *out;
    return 0;
}
