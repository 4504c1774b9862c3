/* The sending half of a participant's video: pictures in, encrypted-ready fragments out.
 * Sans-I/O: the caller passes the time and gets fragments through a callback (which seals and
 * sends them, app/session.c), so the whole path runs in tests without a loop or a socket.
 *
 * It encodes with VP8 (vp8.h), chooses keyframes and recovery frames with the keyframe policy
 * (keyframe.h), and splits each frame into fragments (fragment.h). It pauses while the relay
 * says nobody receives us, and starts again with a keyframe. Nothing here allocates per frame. */
#ifndef HC_VIDEO_SENDER_H
#define HC_VIDEO_SENDER_H

#include <stddef.h>
#include <stdint.h>

#include "net/media.h"
#include "video/fragment.h"
#include "video/frame.h"
#include "video/keyframe.h"
#include "video/vp8.h"

/* Seal and send one fragment: flags is media byte 1, pt the fragment's plaintext. 0, or -1 when
 * it could not be sent (no sending key yet): the frame is then lost and the next one is a
 * keyframe, so nobody waits on a chain that never started. */
typedef int (*hc_vsend_fn)(void *ctx, uint8_t flags, const uint8_t *pt, size_t len);

typedef struct {
    uint64_t frames_in, frames_sent, frames_skipped_paused, frames_dropped, fragments_sent;
    uint64_t bytes_sent, keyframes, recoveries, keyreqs, send_failed, pauses;
    uint64_t fragments_repeated;   /* second copies of keyframe and recovery fragments */
    uint64_t max_frame_bytes;
} hc_video_sender_stats;

typedef struct {
    hc_vp8_params p;
    hc_vp8_enc *enc;
    hc_keyframe_policy kf;
    uint32_t seq;                /* next frame number on the wire */
    uint32_t key_seq;            /* the last keyframe sent */
    int have_key;
    int paused;                  /* the relay says nobody receives us */
    int restart;                 /* the next frame must be a keyframe (after a pause or a failed send) */
    hc_vsend_fn send;
    void *ctx;
    hc_video_sender_stats st;
    uint8_t frame[HC_VFRAME_MAX];
    uint8_t frag[HC_MEDIA_MAX];
} hc_video_sender;

/* 0, or -1 with a reason (the encoder could not be set up). */
int hc_video_sender_init(hc_video_sender *s, const hc_vp8_params *p, hc_vsend_fn send, void *ctx, char *err,
                         size_t errlen);
void hc_video_sender_free(hc_video_sender *s);
/* One picture from the source (of the encoder's size). can_send: the meeting holds a sending key
 * (when it does not, nothing is encoded: a frame nobody can decrypt would only break the chain). */
void hc_video_sender_frame(hc_video_sender *s, const hc_video_frame *f, int can_send, uint64_t now_ms);
/* A receiver asked (via the relay): need_key 1 = it holds no keyframe of ours. */
void hc_video_sender_keyreq(hc_video_sender *s, int need_key);
/* An epoch that added members came into use. */
void hc_video_sender_members_added(hc_video_sender *s);
/* The relay's count of our receivers: 0 pauses encoding. */
void hc_video_sender_receivers(hc_video_sender *s, uint32_t n);

#endif
