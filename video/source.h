/* Video sources: where a participant's pictures come from.
 *
 * The same small vtable as audio/source.h: each kind fills in start/stop/close and calls on_frame
 * on the loop thread, once per picture, at the requested size (sources scale with libyuv).
 * Pattern and file sources are paced by the loop clock (audio/pacer.h); a camera is paced by the
 * device and captured on a thread of its own (capture blocks), handing pictures to the loop
 * through a pre-allocated slot. on_error reports a camera that failed or went away mid-call
 * (the call goes on without video); it is called on the loop thread, once. */
#ifndef HC_VIDEO_SOURCE_H
#define HC_VIDEO_SOURCE_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "video/frame.h"
#include "video/spec.h"

struct hc_vclock;
typedef struct hc_video_source hc_video_source;

typedef void (*hc_video_frame_fn)(void *ctx, const hc_video_frame *f);
typedef void (*hc_video_error_fn)(void *ctx, const char *message);

typedef struct {
    const char *kind;
    int (*start)(hc_video_source *s, char *err, size_t errlen);
    void (*stop)(hc_video_source *s);
    void (*close)(hc_video_source *s);      /* stops if needed and frees */
} hc_video_source_ops;

struct hc_video_source {
    const hc_video_source_ops *ops;
    uv_loop_t *loop;
    struct hc_vclock *vclock;   /* loop-paced kinds: a simulated clock (tests), NULL = real time */
    int w, h, fps;              /* what on_frame delivers */
    hc_video_frame_fn on_frame;
    hc_video_error_fn on_error;
    void *ctx;
    char desc[300];             /* for people: "pattern 160x90 @ 15 fps", "camera /dev/video0 (YUYV 640x480)" */
    uint64_t frames;            /* delivered */
    uint64_t dropped;           /* captured but not delivered (the loop was busy) */
};

typedef struct {
    int w, h, fps;
    struct hc_vclock *vclock;
} hc_video_source_params;

/* Opens (does not start) the source a spec names. HC_VIDEO_NONE is an error here: no source. */
int hc_video_source_open(hc_video_source **out, const hc_video_spec *spec, uv_loop_t *loop,
                         const hc_video_source_params *p, hc_video_frame_fn fn, hc_video_error_fn efn,
                         void *ctx, char *err, size_t errlen);

/* Sets the fields every source shares. */
void hc_video_source_base_init(hc_video_source *s, const hc_video_source_ops *ops, uv_loop_t *loop,
                               const hc_video_source_params *p, hc_video_frame_fn fn, hc_video_error_fn efn,
                               void *ctx);

int hc_vsrc_pattern_open(hc_video_source **out, uv_loop_t *loop, const hc_video_source_params *p,
                         hc_video_frame_fn fn, hc_video_error_fn efn, void *ctx, char *err, size_t errlen);
int hc_vsrc_y4m_open(hc_video_source **out, uv_loop_t *loop, const hc_video_source_params *p, const char *path,
                     hc_video_frame_fn fn, hc_video_error_fn efn, void *ctx, char *err, size_t errlen);
/* device "" means /dev/video0. See v4l2.h. */
int hc_vsrc_camera_open(hc_video_source **out, uv_loop_t *loop, const hc_video_source_params *p, const char *device,
                        hc_video_frame_fn fn, hc_video_error_fn efn, void *ctx, char *err, size_t errlen);

#endif
