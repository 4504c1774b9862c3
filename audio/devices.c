/* `hushcall devices`: the PortAudio device table. */
#include <portaudio.h>
#include <stdio.h>

#include "audio/engine.h"
#include "audio/pa_device.h"

int hc_audio_list_devices(FILE *out, char *err, size_t errlen) {
    if (hc_pa_acquire(err, errlen)) return -1;
    int n = Pa_GetDeviceCount();
    if (n < 0) {
        snprintf(err, errlen, "PortAudio cannot list devices: %s", Pa_GetErrorText(n));
        hc_pa_release();
        return -1;
    }
    fprintf(out, "%s\n", Pa_GetVersionText());
    if (n == 0) {
        fprintf(out, "no audio devices found: no sound card, or no sound server running (with PulseAudio, "
                     "start it before hushcall).\nWithout a device, use --audio-in wav:FILE|tone:HZ|silence "
                     "and --audio-out wav:FILE|null.\n");
        hc_pa_release();
        return 0;
    }
    PaDeviceIndex din = Pa_GetDefaultInputDevice(), dout = Pa_GetDefaultOutputDevice();
    fprintf(out, "%5s  %-32s %4s %4s %8s  %s\n", "index", "name", "in", "out", "rate", "default");
    for (int i = 0; i < n; i++) {
        const PaDeviceInfo *d = Pa_GetDeviceInfo(i);
        if (!d) continue;
        const PaHostApiInfo *h = Pa_GetHostApiInfo(d->hostApi);
        char name[80];
        snprintf(name, sizeof name, "%s%s%s%s", d->name, h ? " (" : "", h ? h->name : "", h ? ")" : "");
        fprintf(out, "%5d  %-32s %4d %4d %8.0f  %s%s%s\n", i, name, d->maxInputChannels, d->maxOutputChannels,
                d->defaultSampleRate, i == din ? "in" : "", i == din && i == dout ? "," : "", i == dout ? "out" : "");
    }
    fprintf(out, "select with --audio-in device:INDEX|NAME and --audio-out device:INDEX|NAME "
                 "(hushcall always opens devices at 48000 Hz mono)\n");
    hc_pa_release();
    return 0;
}
