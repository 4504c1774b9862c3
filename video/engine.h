/* A participant's video, as the audio engine is its audio: the camera (or pattern, or file), the
 * sender (encode, keyframes, fragments), a receiver per member whose video arrives, the latest
 * picture of each for the screen, and --video-out recording. The session only moves bytes
 * between it and the meeting (seal/open happen there); the engine never sees a key.
 *
 * The source runs on the loop (a camera captures on its own thread); everything else is driven
 * by calls that carry the time, so the receiving side runs in tests without a loop. */
#ifndef HC_VIDEO_ENGINE_H
#define HC_VIDEO_ENGINE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <uv.h>

#include "video/frame.h"
#include "video/spec.h"

#define HC_VIDEO_RX_MAX 16        /* senders whose video we decode at once (the relay sends last-N) */

typedef struct {
    hc_video_spec in;             /* HC_VIDEO_NONE: no camera until `video on` (then: the camera) */
    hc_video_spec out;            /* HC_VIDEO_Y4M: record; else nothing */
    int w, h, fps, kbps;
    /* When the camera cannot be opened, send the pattern instead, and say so in the CAMERA_ON
     * event's text (the demo: a newcomer turning the camera on sees a picture either way). */
    int fallback_pattern;
    struct hc_vclock *vclock;     /* tests: pace loop-driven sources on a simulated clock */
} hc_video_config;

void hc_video_config_defaults(hc_video_config *c);   /* none, 160x90, 15 fps, 100 kbit/s */

enum { HC_VIDEO_EV_STARTED, HC_VIDEO_EV_STOPPED, HC_VIDEO_EV_CAMERA_ON, HC_VIDEO_EV_CAMERA_OFF,
       HC_VIDEO_EV_CAMERA_ERROR };

typedef struct {
    void *ctx;
    /* Seal and send one fragment (app: hc_meeting_send_video). 0, or -1 when not sent. */
    int (*send)(void *ctx, uint8_t flags, const uint8_t *pt, size_t len);
    /* Whether we hold a sending key now. */
    int (*can_send)(void *ctx);
    /* A VIDEO control frame to the relay (net/wire.h HC_VOP_*). */
    void (*ctrl)(void *ctx, uint8_t op, uint32_t index, uint32_t value);
    /* HC_VIDEO_EV_*: index for STARTED/STOPPED, text for the camera ones. */
    void (*event)(void *ctx, int type, uint32_t index, const char *text);
    /* A new picture became the one shown of a member (index 0: our own, the self-view): a front
     * end paints it now rather than at its next redraw (hc_video_engine_picture has it). NULL:
     * not wanted. */
    void (*picture)(void *ctx, uint32_t index);
} hc_video_callbacks;

typedef struct hc_video_engine hc_video_engine;

/* Opens the recording file if any (the source opens on hc_video_engine_camera). 0, or -1. */
int hc_video_engine_new(hc_video_engine **out, uv_loop_t *loop, const hc_video_config *cfg,
                        const hc_video_callbacks *cb, char *err, size_t errlen);
void hc_video_engine_free(hc_video_engine *e);
/* Camera on (the configured source; with none: the camera) or off. On: 0, or -1 with the reason
 * (also sent as a CAMERA_ERROR event); the call goes on without our video either way. */
int hc_video_engine_camera(hc_video_engine *e, int on, char *err, size_t errlen);
int hc_video_engine_camera_on(const hc_video_engine *e);
const char *hc_video_engine_describe(const hc_video_engine *e);
/* We are in the meeting (and again after a reconnect): tell the relay what we offer and pin. */
void hc_video_engine_joined(hc_video_engine *e);
/* A decrypted video fragment from a member. */
void hc_video_engine_receive(hc_video_engine *e, uint32_t sender, uint8_t flags, const uint8_t *pt, size_t len,
                             uint64_t now_ms);
/* A VIDEO control frame from the relay. */
void hc_video_engine_ctrl(hc_video_engine *e, uint8_t op, uint32_t index, uint32_t value);
/* An epoch that added members came into use: they need a keyframe. */
void hc_video_engine_members_added(hc_video_engine *e);
/* A member left: its receiver goes (a STOPPED event if its video was up). */
void hc_video_engine_forget_sender(hc_video_engine *e, uint32_t index);
/* Pin a member's video (0: unpin). */
void hc_video_engine_pin(hc_video_engine *e, uint32_t index);
/* Who talks now (the loudest member, 0: nobody): --video-out without sender= records them. */
void hc_video_engine_set_speaker(hc_video_engine *e, uint32_t index);
/* Lip sync: a sender's pictures wait hold_ms after they are decoded before they are shown (and
 * recorded), to match how long its audio waits beyond the network: the sender's audio frame, the
 * codec's look-ahead and our jitter buffer's target (capped at 400 ms; 0: shown at once). The
 * session sets it from the audio engine as that changes. */
void hc_video_engine_set_av_hold(hc_video_engine *e, uint32_t sender, uint32_t hold_ms);
/* When the next held picture is due (UINT64_MAX: none), and showing what is due by now_ms: the
 * session arms a timer for it, so a picture waits its hold to the millisecond, not to a tick. */
uint64_t hc_video_engine_next_due(const hc_video_engine *e);
void hc_video_engine_show_due(hc_video_engine *e, uint64_t now_ms);
/* Timers (call every ~50 ms): requests while frozen, stopped senders, rates; held pictures due. */
void hc_video_engine_tick(hc_video_engine *e, uint64_t now_ms);

/* For front ends: the latest picture shown of a member (valid until the next engine call), live = 1
 * when current, 0 when frozen. NULL when none, and again once the member's video stopped (nothing
 * for HC_VRX_STOPPED_MS: a camera turned off shows as no picture, not as a frozen one for ever).
 * index 0 = our own (the self-view). */
const hc_video_frame *hc_video_engine_picture(const hc_video_engine *e, uint32_t index, int *live);

/* The stats block: `"video":{...}` without the leading comma. */
void hc_video_engine_stats_json(const hc_video_engine *e, FILE *f);

#endif
