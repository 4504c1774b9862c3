/* The call's figures as a person reads them: the `stats` event's JSON object (the headless
 * contract, made by the session) turned into a table the screen's /stats panel draws. Parsed with
 * json-c; unknown fields are ignored and missing ones stay 0, so the panel follows the contract
 * as it grows. Pure data, no curses. */
#ifndef HC_UI_STATS_H
#define HC_UI_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/binding.h"

typedef struct {
    uint32_t index;
    char name[HC_NAME_MAX + 1];
    int has_audio;                /* listed in "senders" */
    uint64_t received, lost, late, concealed, fec_recovered;
    uint64_t ok, decrypt_fail, replay;
    double loss_pct, jitter_ms;
    int delay_ms, muted;
    int has_video;                /* listed in video.rx */
    int video_live;
    double video_fps, video_kbps;
    uint64_t video_decoded, video_dropped, video_freezes;
} hc_stats_sender;

typedef struct {
    int valid;                    /* a stats object was parsed */
    uint64_t t_ms;                /* when (the event's time) */
    uint32_t epoch;
    double rtt_ms;
    struct {
        uint64_t frames, dtx_skipped, bytes;
        double kbps;              /* recent send rate (0 when the session does not say) */
        int muted, loss_hint;
        uint64_t capture_overruns, capture_underruns, playback_underruns, playback_overruns;
    } tx;
    int has_video;                /* the object had a "video" block */
    struct {
        int camera, paused;
        uint64_t frames_sent, keyframes;
        double fps, kbps;
        long long receivers;      /* -1: not known */
    } vtx;
    size_t n;                     /* senders, audio and video merged by index, ascending */
    hc_stats_sender *senders;     /* owned; at most HC_STATS_SENDERS_MAX */
} hc_stats;

#define HC_STATS_SENDERS_MAX 4096

/* Replaces *st with the figures in json (the stats event's text). Returns 0, or -1 when json is
 * not a stats object (then *st is left as it was). */
int hc_stats_parse(hc_stats *st, const char *json, uint64_t t_ms);
void hc_stats_free(hc_stats *st);

#endif
