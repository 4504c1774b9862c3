/* What --video-in and --video-out name, parsed and checked once, at the command line, so a typo
 * is a usage error (exit 2) before anything connects. */
#ifndef HC_VIDEO_SPEC_H
#define HC_VIDEO_SPEC_H

#include <stddef.h>

typedef enum {
    HC_VIDEO_NONE = 0,         /* no camera (the default: off until the user turns it on) */
    HC_VIDEO_PATTERN,          /* the built-in moving test picture (pattern.h) */
    HC_VIDEO_Y4M,              /* a .y4m file, looped (in) / recorded (out) */
    HC_VIDEO_CAMERA,           /* V4L2: /dev/video0 or the device named */
} hc_video_kind;

typedef struct {
    hc_video_kind kind;
    char path[256];            /* Y4M: the file; CAMERA: the device ("" = /dev/video0) */
    int sender;                /* --video-out only: the member index to record, -1 = the active speaker */
} hc_video_spec;

/* "none", "pattern", "y4m:FILE", "camera", "camera:/dev/videoN". 0, or -1 with a reason. */
int hc_video_spec_parse_in(hc_video_spec *s, const char *text, char *err, size_t errlen);
/* "y4m:FILE" or "y4m:FILE,sender=N". 0, or -1 with a reason. */
int hc_video_spec_parse_out(hc_video_spec *s, const char *text, char *err, size_t errlen);
/* "WxH": even, 32x18 up to 1920x1080. 0, or -1 with a reason. */
int hc_video_size_parse(int *w, int *h, const char *text, char *err, size_t errlen);

#endif
