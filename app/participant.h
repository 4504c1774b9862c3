/* Running one participant as a process (`hushcall host` / `hushcall join`): resolve the home
 * directory, read the config file, apply the command line on top, pick the front end, run the
 * session until it ends and turn the outcome into an exit status. */
#ifndef HC_PARTICIPANT_H
#define HC_PARTICIPANT_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    int host;                     /* 1: create the meeting; 0: join meeting_id */
    const char *meeting_id;
    const char *relay, *name, *home, *audio_in, *audio_out, *admit;   /* NULL: config or default */
    int headless, ascii, no_color, low_delay;
    int frame_ms, bitrate;        /* 0: default */
    uint32_t stats_ms, heartbeat_ms, miss_limit, rekey_s;             /* 0: default */
    uint16_t suite;               /* 0: default */
    int reconnect_s;              /* -1: default (HC_RECONNECT_S_DEFAULT); 0: off */
    const char *video_in, *video_out, *video_size;   /* NULL: default (none, no recording, 160x90) */
    int video_fps, video_kbps;    /* 0: default (15, 100) */
} hc_participant_options;

#define HC_RECONNECT_S_DEFAULT 30

void hc_participant_options_init(hc_participant_options *o);
/* A config audio value as an audio spec: a bare device name becomes "device:NAME". */
const char *hc_config_audio_spec(const char *value, char *buf, size_t cap);
int hc_participant_run(const hc_participant_options *o);

#endif
