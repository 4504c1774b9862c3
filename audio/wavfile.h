/* WAV (or anything libsndfile reads) in, WAV out.
 * The reader always yields mono float at the rate asked for: channels are averaged and the rate is
 * converted with libsamplerate, streaming, so files of any length use bounded memory.
 * The writer writes 16-bit PCM mono and keeps the header up to date after every write, so a file
 * is valid even if the process is killed (by `timeout`, say) before it closes it. */
#ifndef HC_AUDIO_WAVFILE_H
#define HC_AUDIO_WAVFILE_H

#include <stddef.h>
#include <stdint.h>

typedef struct hc_wav_reader hc_wav_reader;

int hc_wav_reader_open(hc_wav_reader **out, const char *path, int out_rate, char *err, size_t errlen);
/* Up to n samples at out_rate; fewer only at the end of the file. */
size_t hc_wav_reader_read(hc_wav_reader *r, float *out, size_t n);
int hc_wav_reader_file_rate(const hc_wav_reader *r);
int hc_wav_reader_file_channels(const hc_wav_reader *r);
double hc_wav_reader_seconds(const hc_wav_reader *r);
void hc_wav_reader_close(hc_wav_reader *r);

/* Whole file at out_rate, mono; *out malloc'ed. 0, or -1 with err. */
int hc_wav_read_all(const char *path, int out_rate, float **out, size_t *n, char *err, size_t errlen);

typedef struct hc_wav_writer hc_wav_writer;

int hc_wav_writer_open(hc_wav_writer **out, const char *path, int rate, char *err, size_t errlen);
/* 0, or -1 with errno set. The first failure (ENOSPC, EFBIG, EIO...) stops the writer: the file
 * is left a valid WAV of the whole samples written until then, and every later write returns -1
 * without touching it. */
int hc_wav_writer_write(hc_wav_writer *w, const float *x, size_t n);
/* The errno of the failure that stopped the writer, 0 while it works. */
int hc_wav_writer_error(const hc_wav_writer *w);
/* Samples in the file (what its header says). */
uint64_t hc_wav_writer_samples(const hc_wav_writer *w);
void hc_wav_writer_close(hc_wav_writer *w);
int hc_wav_write_all(const char *path, int rate, const float *x, size_t n, char *err, size_t errlen);

#endif
