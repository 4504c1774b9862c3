/* wav:FILE - any file libsndfile reads, converted to 48 kHz mono as it plays (wavfile.c); after
 * its end the source plays silence, so the call goes on. */
#include <stdio.h>
#include <string.h>

#include "audio/paced.h"
#include "audio/wavfile.h"

static void wav_fill(void *state, float *pcm, size_t n, uint64_t t, int *finished) {
    (void)t;
    size_t got = *finished ? 0 : hc_wav_reader_read(state, pcm, n);
    if (got < n) {
        memset(pcm + got, 0, (n - got) * sizeof *pcm);
        *finished = 1;
    }
}

static void wav_free(void *state) { hc_wav_reader_close(state); }

static const hc_generator_ops wav_ops = {wav_fill, wav_free};

int hc_src_wav_open(hc_audio_source **out, uv_loop_t *loop, size_t frame_samples, const char *path,
                    hc_source_frame_fn fn, void *ctx, char *err, size_t errlen) {
    hc_wav_reader *r;
    if (hc_wav_reader_open(&r, path, 48000, err, errlen)) return -1;
    char desc[300];
    snprintf(desc, sizeof desc, "wav:%s (%d Hz, %d ch)", path, hc_wav_reader_file_rate(r),
             hc_wav_reader_file_channels(r));
    return hc_paced_source_open(out, loop, frame_samples, "wav", &wav_ops, r, desc, fn, ctx, err, errlen);
}
