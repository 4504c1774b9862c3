/* `hushcall devices`: the audio devices PortAudio sees, to pick --audio-in / --audio-out, then the
 * cameras (V4L2 capture devices), to pick --video-in. */
#include <stdio.h>
#include <string.h>

#include "app/commands.h"
#include "audio/engine.h"
#include "video/v4l2.h"

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
           "Then it lists the cameras: each V4L2 capture device among /dev/video0..63, its name,\n"
           "and the formats it offers that hushcall can use (YUYV, MJPG). Pick one with --video-in:\n"
           "  camera                  /dev/video0\n"
           "  camera:/dev/videoN      the device named\n"
           "Without a camera, use --video-in pattern|y4m:FILE (the default, none, sends no video).\n"
           "\n"
           "options:\n"
           "  -h, --help   show this help\n"
           "\n"
           "exit status: 0 success (also when there are no audio devices or no cameras: it says so),\n"
           "             1 PortAudio failed,\n"
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
    printf("\n");
    if (hc_camera_list(stdout, err, sizeof err)) {
        fprintf(stderr, "hushcall devices: %s\n", err);
        return HC_EXIT_ERROR;
    }
    return HC_EXIT_OK;
}
