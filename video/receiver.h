/* The receiving half of video, per sender: decrypted fragments in, pictures out. Sans-I/O (the
 * caller passes the time), so loss, reordering and recovery are tested without a network.
 *
 * Fragments are put back together (fragment.h, bounded), checked, and decoded (vp8.h) only when
 * the decoder's references are intact: a keyframe always; a recovery frame when we hold the
 * keyframe it names; an inter frame when it directly follows the last frame decoded. Anything
 * else would show a damaged picture, so the last good picture stays up, marked frozen, and the
 * receiver asks the sender (through the relay) for a refresh: a recovery frame when we hold its
 * latest keyframe, a keyframe when we do not. Requests repeat while frozen, at a bounded pace. */
#ifndef HC_VIDEO_RECEIVER_H
#define HC_VIDEO_RECEIVER_H

#include <stddef.h>
#include <stdint.h>

#include "video/fragment.h"
#include "video/frame.h"
#include "video/vp8.h"

#define HC_VRX_REQ_GAP_MS 150        /* at most one request per sender this often */
#define HC_VRX_STOPPED_MS 2000       /* no frame for this long: the sender's video stopped */

/* A picture decoded: pic is valid during the call only. capture_ms and seq from the sender. */
typedef void (*hc_vrx_picture_fn)(void *ctx, uint32_t sender, const hc_video_frame *pic, uint32_t capture_ms,
                                  uint32_t seq);
/* Ask the sender for a refresh (need_key: 1 = a keyframe, 0 = a recovery frame will do). */
typedef void (*hc_vrx_request_fn)(void *ctx, uint32_t sender, int need_key);

typedef struct {
    uint64_t fragments, frames, decoded, keyframes, recoveries, undecodable, decode_errors, refused;
    uint64_t freezes, requests, bytes;
} hc_video_rx_stats;

typedef struct {
    uint32_t sender;
    hc_vreasm reasm;
    hc_vp8_dec *dec;
    int have_key;                /* a keyframe of this sender decoded; key_seq is it */
    uint32_t key_seq;
    int chain_ok;                /* last_seq decoded and nothing lost since */
    uint32_t last_seq;
    int live;                    /* a picture is up and current (0: none yet, or frozen) */
    int started;                 /* at least one picture was shown */
    int want_request;            /* frozen or waiting: a request is owed */
    int want_key;
    uint64_t last_request_ms, last_frame_ms;
    uint32_t last_capture_ms;
    hc_video_rx_stats st;
} hc_video_receiver;

/* 0, or -1 (the decoder could not be set up). max_w/max_h bound what the decoder accepts. */
int hc_video_receiver_init(hc_video_receiver *r, uint32_t sender, int max_w, int max_h);
void hc_video_receiver_free(hc_video_receiver *r);
/* One decrypted fragment. Calls pic when a picture was decoded, req when a refresh is owed. */
void hc_video_receiver_fragment(hc_video_receiver *r, uint8_t flags, const uint8_t *pt, size_t len, uint64_t now_ms,
                                hc_vrx_picture_fn pic, hc_vrx_request_fn req, void *ctx);
/* Timers: repeats an owed request (HC_VRX_REQ_GAP_MS). Returns 1 when the sender's video just
 * stopped (nothing for HC_VRX_STOPPED_MS), else 0. */
int hc_video_receiver_tick(hc_video_receiver *r, uint64_t now_ms, hc_vrx_request_fn req, void *ctx);

#endif
