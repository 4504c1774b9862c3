/* PortAudio: library lifetime, device lookup, and the device source and sink.
 *
 * Pa_Initialize/Pa_Terminate are reference-counted so several engines (or `hushcall devices`
 * while a call runs) can share the library. Before the first Pa_Initialize, ALSA's and JACK's
 * error printers are replaced with silent ones: otherwise ALSA's probing and the JACK client
 * print ~80 lines to stderr at init and "underrun occurred" at any time, on top of the UI. */
#ifndef HC_AUDIO_PA_DEVICE_H
#define HC_AUDIO_PA_DEVICE_H

#include <stddef.h>

#include "audio/sink.h"
#include "audio/source.h"
#include "audio/spec.h"

#define HC_PA_DEFAULT_LATENCY_MS 60    /* >= 50 ms: less drops out through ALSA's pulse plugin */

int hc_pa_acquire(char *err, size_t errlen);
void hc_pa_release(void);

/* Index of the device a spec names (want_input: needs input channels, else output), or -1 with
 * err naming the devices that exist. Needs hc_pa_acquire. */
int hc_pa_find_device(const hc_audio_spec *spec, int want_input, char *err, size_t errlen);
/* "#0 'pulse' (in 32, out 32), #1 'default' (...)", or "none". */
void hc_pa_device_list(char *buf, size_t len);

int hc_pa_source_open(hc_audio_source **out, const hc_audio_spec *spec, uv_loop_t *loop, size_t frame_samples,
                      const hc_device_opts *dev, hc_source_frame_fn fn, void *ctx, char *err, size_t errlen);
int hc_pa_sink_open(hc_audio_sink **out, const hc_audio_spec *spec, uv_loop_t *loop, size_t frame_samples,
                    const hc_device_opts *dev, hc_sink_pull_fn pull, void *ctx, char *err, size_t errlen);

#endif
