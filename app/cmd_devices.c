/* `hushcall devices`: the audio devices PortAudio sees, to pick --audio-in / --audio-out. */
#include <stdio.h>
#include <string.h>

#include "app/commands.h"
#include "audio/engine.h"

static void devices_usage(void) {
    printf("usage: hushcall devices\n"
           "\n"
           "Lists the audio devices PortAudio sees: index, name (host API), input and output\n"
           "channels, the device's default sample rate, and which are the default input and output.\n"
           "hushcall always opens a device at 48000 Hz mono, whatever its default rate.\n"
           "\n"
           "Pick one with --audio-in / --audio-out:\n"
           "  device            the default device (the default)\n"
           "  device:INDEX      by index in this list\n"
           "  device:NAME       by exact name, else the first name containing NAME (any case)\n"
           "Without a sound card, use --audio-in wav:FILE|tone:HZ|silence and\n"
           "--audio-out wav:FILE|null. With PulseAudio, start it before hushcall: ALSA looks for\n"
           "the server only once, when PortAudio starts.\n"
           "\n"
           "options:\n"
           "  -h, --help   show this help\n"
           "\n"
           "exit status: 0 success (also when there are no devices: it says so), 1 PortAudio failed,\n"
           "             2 bad command line\n");
}

int hc_cmd_devices(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            devices_usage();
            return HC_EXIT_OK;
        }
        fprintf(stderr, "hushcall devices: unknown option '%s' (see 'hushcall devices --help')\n", argv[i]);
        return HC_EXIT_USAGE;
    }
    char err[512];
    if (hc_audio_list_devices(stdout, err, sizeof err)) {
        fprintf(stderr, "hushcall devices: %s\n", err);
        return HC_EXIT_ERROR;
    }
    return HC_EXIT_OK;
}
