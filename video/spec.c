/* Parsing --video-in, --video-out and --video-size. */
#include "video/spec.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "video/frame.h"

static int set_path(hc_video_spec *s, const char *p, size_t n, const char *what, char *err, size_t errlen)
{
    if (n == 0) { snprintf(err, errlen, "%s needs a file name after \"y4m:\"", what); return -1; }
    if (n >= sizeof s->path) { snprintf(err, errlen, "%s: the path is too long", what); return -1; }
    memcpy(s->path, p, n);
    s->path[n] = 0;
    return 0;
}

int hc_video_spec_parse_in(hc_video_spec *s, const char *t, char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    s->sender = -1;
    if (!strcmp(t, "none")) { s->kind = HC_VIDEO_NONE; return 0; }
    if (!strcmp(t, "pattern")) { s->kind = HC_VIDEO_PATTERN; return 0; }
    if (!strcmp(t, "camera")) { s->kind = HC_VIDEO_CAMERA; return 0; }
    if (!strncmp(t, "camera:", 7)) {
        s->kind = HC_VIDEO_CAMERA;
        if (!t[7]) { snprintf(err, errlen, "--video-in camera: needs a device after the colon (camera:/dev/video0)"); return -1; }
        return set_path(s, t + 7, strlen(t + 7), "--video-in", err, errlen);
    }
    if (!strncmp(t, "y4m:", 4)) {
        s->kind = HC_VIDEO_Y4M;
        return set_path(s, t + 4, strlen(t + 4), "--video-in", err, errlen);
    }
    snprintf(err, errlen, "--video-in \"%s\": use none, pattern, y4m:FILE, camera or camera:/dev/videoN", t);
    return -1;
}

int hc_video_spec_parse_out(hc_video_spec *s, const char *t, char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    s->sender = -1;
    if (strncmp(t, "y4m:", 4)) {
        snprintf(err, errlen, "--video-out \"%s\": use y4m:FILE or y4m:FILE,sender=N", t);
        return -1;
    }
    s->kind = HC_VIDEO_Y4M;
    const char *p = t + 4, *comma = strstr(p, ",sender=");
    size_t n = comma ? (size_t)(comma - p) : strlen(p);
    if (set_path(s, p, n, "--video-out", err, errlen)) return -1;
    if (comma) {
        const char *num = comma + 8;
        char *end;
        errno = 0;
        long v = strtol(num, &end, 10);
        if (!*num || *end || errno || v < 0 || v > 0xFFFF) {
            snprintf(err, errlen, "--video-out: sender=\"%s\" is not a member number (0..65535)", num);
            return -1;
        }
        s->sender = (int)v;
    }
    return 0;
}

int hc_video_size_parse(int *w, int *h, const char *t, char *err, size_t errlen)
{
    char *end;
    errno = 0;
    long a = strtol(t, &end, 10);
    if (end == t || (*end != 'x' && *end != 'X') || errno) goto bad;
    const char *q = end + 1;
    long b = strtol(q, &end, 10);
    if (end == q || *end || errno) goto bad;
    if (a < 32 || b < 18 || a > HC_VIDEO_MAX_W || b > HC_VIDEO_MAX_H || (a & 1) || (b & 1)) {
        snprintf(err, errlen, "--video-size %s: width and height must be even, from 32x18 to %dx%d", t, HC_VIDEO_MAX_W,
                 HC_VIDEO_MAX_H);
        return -1;
    }
    *w = (int)a;
    *h = (int)b;
    return 0;
bad:
    snprintf(err, errlen, "--video-size \"%s\": use WIDTHxHEIGHT, e.g. 160x90", t);
    return -1;
}
