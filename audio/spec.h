/* Parsing of --audio-in / --audio-out specs:
 *   in:  device | device:NAME | device:INDEX | wav:FILE | tone:HZ | silence
 *   out: device | device:NAME | device:INDEX | wav:FILE | null
 * Errors are sentences a person can act on ("unknown audio input 'foo': expected ..."). */
#ifndef HC_AUDIO_SPEC_H
#define HC_AUDIO_SPEC_H

#include <stddef.h>

typedef enum {
    HC_SPEC_DEVICE,
    HC_SPEC_WAV,
    HC_SPEC_TONE,
    HC_SPEC_SILENCE,
    HC_SPEC_NULL,
} hc_spec_kind;

#define HC_SPEC_ARG_MAX 1024

typedef struct {
    hc_spec_kind kind;
    char arg[HC_SPEC_ARG_MAX]; /* device name, or file path; "" for the default device */
    int device_index;          /* device:INDEX, else -1 */
    double tone_hz;            /* tone:HZ */
} hc_audio_spec;

/* is_input selects which kinds are allowed. NULL or "" means "device". 0, or -1 with err. */
int hc_audio_spec_parse(const char *s, int is_input, hc_audio_spec *out, char *err, size_t errlen);

#endif
