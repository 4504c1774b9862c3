/* The camera source: V4L2 memory-mapped streaming capture on a thread of its own (dequeuing
 * blocks), converted to I420 at the requested size with libyuv (YUYV) or libturbojpeg + libyuv
 * (MJPEG), handed to the loop thread through a pre-allocated slot.
 *
 * Three pictures at the output size rotate without copies: the capture thread converts into
 * "back", then swaps it with "mid" under the lock and wakes the loop; the loop swaps "mid" with
 * "front" and delivers "front". A picture the loop has not taken when the next is ready is
 * replaced and counted as dropped: the newest picture matters, not every picture.
 *
 * Every device call goes through the seam (v4l2.h), so tests drive this code with a fake. */
#include <errno.h>
#include <fcntl.h>
#include <libyuv.h>
#include <linux/videodev2.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <turbojpeg.h>

#include "video/source.h"
#include "video/v4l2.h"

#define CAM_NBUF_WANT 4                /* device buffers: enough to ride out a slow conversion */
#define CAM_NBUF_MAX 32                /* VIDEO_MAX_FRAME: more than any driver gives */
#define CAM_POLL_MS 40                 /* how often the thread looks at the stop flag: stop() <= ~100 ms */
#define CAM_SPURIOUS_MAX 1000          /* "readable" with nothing to dequeue, in a row: a broken device */
#define CAM_BUF_MAX (32u << 20)       /* a device buffer bigger than this is a lie (1080p YUYV is 4 MB) */
#define CAM_REFUSED_MAX 60             /* refused pictures in a row before we say the camera is unusable */

typedef struct {
    void *start;
    size_t len;
} cam_buf;

typedef struct {
    hc_video_source base;
    char path[128];
    const hc_v4l2_io *io;              /* the seam, fixed at open */
    int fd;
    uint32_t fmt;                      /* V4L2_PIX_FMT_YUYV, _MJPEG or _JPEG */
    int cw, ch;                        /* capture size the driver agreed to */
    uint32_t bpl;                      /* YUYV bytes per line */
    int dev_fps;                       /* what the driver says after S_PARM; 0 = unknown */

    /* conversion scratch, allocated at open for the capture size */
    uint8_t *s420;                     /* I420 at cw x ch (even-padded) */
    int s420_w, s420_h;                /* its capacity */
    uint8_t *sjpg;                     /* 4:2:2 / 4:4:4 planes for JPEGs that are not 4:2:0 */
    size_t sjpg_len;
    tjhandle tj;

    hc_video_frame fr[3];              /* at base.w x base.h */
    int back, mid, front;              /* indices into fr: back is the thread's, front the loop's */

    /* device buffers, while streaming */
    cam_buf bufs[CAM_NBUF_MAX];
    int nbuf;

    uv_mutex_t lock;                   /* guards the fields down to errmsg */
    int mid_full;
    uint64_t dropped_t, refused_t;
    int err_pending;
    char errmsg[512];

    uv_async_t *async;                 /* while running; own allocation, freed by its close callback */
    uv_thread_t thread;
    atomic_int stop_flag;
    int running;                       /* loop side */
    int err_reported;
    int in_cb, close_pending;          /* close() called from inside our callback: deferred */
    uint64_t refused;                  /* loop-side copy */
    uint32_t seq;                      /* the thread's */
} cam;

static const hc_video_source_ops cam_ops;

static int xioctl(cam *c, unsigned long req, void *arg) {
    (void)c;
    return hc_v4l2_xioctl(c->fd, req, arg);
}

static int __attribute__((format(printf, 3, 4))) fail(char *err, size_t errlen, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    if (errlen) vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

static int pad2(int v) { return (v + 1) & ~1; }

/* --- the capture thread -------------------------------------------------------------------------- */
/* The thread's last word: the message for on_error, then it ends. gone: the device failed
 * (else it works but sends nothing usable). */
static void __attribute__((format(printf, 3, 4))) thread_fail2(cam *c, int gone, const char *fmt, ...) {
    char why[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    uv_mutex_lock(&c->lock);
    if (!c->err_pending) {
        snprintf(c->errmsg, sizeof c->errmsg, "the camera %s %s%s", c->path, gone ? "went away: " : "", why);
        c->err_pending = 1;
    }
    uv_mutex_unlock(&c->lock);
    uv_async_send(c->async);
}
#define thread_fail(c, ...) thread_fail2((c), 1, __VA_ARGS__)

/* Scales the region of an I420 picture that has the output's aspect ratio (centred) into dst:
 * a 4:3 camera in a 16:9 call loses a band top and bottom instead of being squashed. */
static void scale_into(cam *c, hc_video_frame *dst, const uint8_t *y, int sy, const uint8_t *u, int su,
                       const uint8_t *v, int sv, int w, int h) {
    (void)c;
    int cx = 0, cy = 0, cw = w, chh = h;
    if ((int64_t)w * dst->h > (int64_t)h * dst->w) {            /* wider than the output */
        cw = (int)((int64_t)h * dst->w / dst->h) & ~1;
        if (cw < 2) cw = w;
        cx = ((w - cw) / 2) & ~1;
    } else if ((int64_t)w * dst->h < (int64_t)h * dst->w) {     /* taller */
        chh = (int)((int64_t)w * dst->h / dst->w) & ~1;
        if (chh < 2) chh = h;
        cy = ((h - chh) / 2) & ~1;
    }
    I420Scale(y + (size_t)cy * sy + cx, sy, u + (size_t)(cy / 2) * su + cx / 2, su, v + (size_t)(cy / 2) * sv + cx / 2,
              sv, cw, chh, dst->y, dst->stride_y, dst->u, dst->stride_u, dst->v, dst->stride_v, dst->w, dst->h,
              kFilterBox);
}

static const char *convert_yuyv(cam *c, const uint8_t *src, size_t n, hc_video_frame *dst) {
    size_t need = (size_t)c->bpl * (size_t)(c->ch - 1) + 2 * (size_t)c->cw;
    if (n < need) return "a YUYV picture shorter than its size";
    int sw = c->s420_w, sh = c->s420_h;
    uint8_t *y = c->s420, *u = y + (size_t)sw * sh, *v = u + (size_t)(sw / 2) * (sh / 2);
    YUY2ToI420(src, (int)c->bpl, y, sw, u, sw / 2, v, sw / 2, c->cw, c->ch);
    scale_into(c, dst, y, sw, u, sw / 2, v, sw / 2, c->cw, c->ch);
    return NULL;
}

static const char *subsamp_name(int ss) {
    switch (ss) {
    case TJSAMP_440: return "JPEG with 4:4:0 chroma subsampling";
    case TJSAMP_411: return "JPEG with 4:1:1 chroma subsampling";
    case TJSAMP_GRAY: return "greyscale JPEG";
    default: return "JPEG with an unknown chroma subsampling";
    }
}

/* After a failed header read, libturbojpeg 2.1 leaves the handle mid-header and refuses every
 * later JPEG too (found by test_hostile_jpeg): one corrupt picture would end the camera. A new
 * handle after each failure; only corrupt pictures pay for the allocation. */
static const char *tj_failed(cam *c, const char *why) {
    tjDestroy(c->tj);
    c->tj = tjInitDecompress();
    return why;
}

static const char *convert_jpeg(cam *c, const uint8_t *src, size_t n, hc_video_frame *dst) {
    if (n < 4 || n > (size_t)0x7fffffff) return "a JPEG of impossible length";
    if (!c->tj && !(c->tj = tjInitDecompress())) return "a JPEG, and no decoder (out of memory)";
    int jw = 0, jh = 0, ss = -1, cs = -1;
    if (tjDecompressHeader3(c->tj, src, (unsigned long)n, &jw, &jh, &ss, &cs) < 0)
        return tj_failed(c, "a picture that is not a JPEG");
    /* The decoder would allocate and fill whatever the header claims: refuse before it runs. */
    if (jw < 2 || jh < 2 || jw > HC_VIDEO_MAX_W || jh > HC_VIDEO_MAX_H) return "a JPEG whose size is out of range";
    if (jw > c->cw || jh > c->ch) return "a JPEG larger than the negotiated size";
    if (cs != TJCS_YCbCr || (ss != TJSAMP_420 && ss != TJSAMP_422 && ss != TJSAMP_444))
        return cs != TJCS_YCbCr && ss != TJSAMP_GRAY ? "a JPEG in a colour space other than YCbCr" : subsamp_name(ss);
    int sw = c->s420_w, sh = c->s420_h;
    uint8_t *y = c->s420, *u = y + (size_t)sw * sh, *v = u + (size_t)(sw / 2) * (sh / 2);
    unsigned char *planes[3];
    int strides[3];
    if (ss == TJSAMP_420) {
        planes[0] = y, planes[1] = u, planes[2] = v;
        strides[0] = sw, strides[1] = strides[2] = sw / 2;
    } else {
        size_t pl = c->sjpg_len / 3;      /* room for one 4:4:4 plane at the capture size */
        planes[0] = c->sjpg, planes[1] = c->sjpg + pl, planes[2] = c->sjpg + 2 * pl;
        strides[0] = tjPlaneWidth(0, jw, ss);
        strides[1] = strides[2] = tjPlaneWidth(1, jw, ss);
    }
    /* tjPlaneWidth/Height round to the chroma block; check the planes fit what we allocated. */
    for (int k = 0; k < 3; k++) {
        int pw = tjPlaneWidth(k, jw, ss), ph = tjPlaneHeight(k, jh, ss);
        size_t cap = ss == TJSAMP_420 ? (k ? (size_t)(sw / 2) * (sh / 2) : (size_t)sw * sh) : c->sjpg_len / 3;
        if (pw < 1 || ph < 1 || pw > strides[k] || (size_t)strides[k] * (size_t)ph > cap)
            return "a JPEG whose planes do not fit";
    }
    if (tjDecompressToYUVPlanes(c->tj, src, (unsigned long)n, planes, jw, strides, jh, TJFLAG_FASTDCT) < 0 &&
        tjGetErrorCode(c->tj) != TJERR_WARNING)   /* a warning (truncated data) still gives a picture */
        return tj_failed(c, "a JPEG that does not decode");
    if (ss == TJSAMP_422)
        I422ToI420(planes[0], strides[0], planes[1], strides[1], planes[2], strides[2], y, sw, u, sw / 2, v, sw / 2,
                   jw, jh);
    else if (ss == TJSAMP_444)
        I444ToI420(planes[0], strides[0], planes[1], strides[1], planes[2], strides[2], y, sw, u, sw / 2, v, sw / 2,
                   jw, jh);
    scale_into(c, dst, y, sw, u, sw / 2, v, sw / 2, jw, jh);
    return NULL;
}

/* Hands the picture in "back" to the loop. */
static void publish(cam *c) {
    uv_mutex_lock(&c->lock);
    int t = c->back;
    c->back = c->mid;
    c->mid = t;
    if (c->mid_full) c->dropped_t++;
    c->mid_full = 1;
    uv_mutex_unlock(&c->lock);
    uv_async_send(c->async);
}

/* A camera that runs faster than asked (the driver ignored S_PARM, or has no such rate): keep
 * one picture per period, by the driver's timestamps (steady, and what the tests control), else
 * by the dequeue time. A picture is kept when it is at most a quarter period early, so 30 fps
 * becomes exactly 15, and the average never exceeds the rate asked for. */
static int skip_for_rate(cam *c, const struct v4l2_buffer *b, int64_t *next_due_us, uint32_t now_ms) {
    if (!c->dev_fps || c->dev_fps * 4 <= c->base.fps * 5) return 0;     /* within 25 %: keep all */
    int64_t t = b->timestamp.tv_sec || b->timestamp.tv_usec
                    ? (int64_t)b->timestamp.tv_sec * 1000000 + b->timestamp.tv_usec
                    : (int64_t)now_ms * 1000;
    int64_t period = 1000000 / c->base.fps;
    /* first picture, a clock that jumped back, or far behind (a stall): start again from t */
    if (*next_due_us == INT64_MIN || *next_due_us > t + 2 * period || *next_due_us < t - 2 * period)
        *next_due_us = t;
    if (t < *next_due_us - period / 4) return 1;
    *next_due_us += period;
    return 0;
}

static void capture_thread(void *arg) {
    cam *c = arg;
    int spurious = 0, refused_run = 0;
    int64_t next_due_us = INT64_MIN;
    while (!atomic_load(&c->stop_flag)) {
        struct pollfd p = {.fd = c->fd, .events = POLLIN};
        int r = c->io->poll(&p, 1, CAM_POLL_MS);
        if (r < 0) {
            if (errno == EINTR) continue;
            thread_fail(c, "poll: %s", strerror(errno));
            return;
        }
        if (r == 0) continue;
        if (p.revents & (POLLERR | POLLHUP | POLLNVAL)) {
            thread_fail(c, "the device reports an error (unplugged?)");
            return;
        }
        struct v4l2_buffer b;
        memset(&b, 0, sizeof b);
        b.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
        b.memory = V4L2_MEMORY_MMAP;
        if (xioctl(c, VIDIOC_DQBUF, &b) < 0) {
            if (errno == EAGAIN) {
                if (++spurious < CAM_SPURIOUS_MAX) continue;
                thread_fail(c, "it signals pictures but delivers none");
                return;
            }
            int e = errno;
            thread_fail(c, "%s (%s)", e == ENODEV ? "it was unplugged or its driver stopped" : "it stopped delivering pictures",
                        strerror(e));
            return;
        }
        spurious = 0;
        uint32_t now = hc_video_clock_ms();
        if (b.index >= (uint32_t)c->nbuf) {       /* cannot even give it back */
            thread_fail(c, "the driver returned buffer %u of %d", b.index, c->nbuf);
            return;
        }
        const char *why;
        hc_video_frame *dst = &c->fr[c->back];
        int skipped = skip_for_rate(c, &b, &next_due_us, now);
        if (skipped)
            why = NULL;
        else if (b.flags & V4L2_BUF_FLAG_ERROR)
            why = "a picture the driver marked as damaged";
        else if (b.bytesused > c->bufs[b.index].len)   /* our own record of the length, not the driver's */
            why = "a picture larger than its buffer";
        else if (c->fmt == V4L2_PIX_FMT_YUYV)
            why = convert_yuyv(c, c->bufs[b.index].start, b.bytesused, dst);
        else
            why = convert_jpeg(c, c->bufs[b.index].start, b.bytesused, dst);
        if (skipped) {
            /* faster than asked: this one is not wanted */
        } else if (why) {
            uv_mutex_lock(&c->lock);
            c->refused_t++;
            uv_mutex_unlock(&c->lock);
            if (++refused_run >= CAM_REFUSED_MAX) {
                thread_fail2(c, 0, "sends nothing hushcall can use (%s)", why);
                return;
            }
        } else {
            refused_run = 0;
            dst->seq = c->seq++;
            dst->capture_ms = now;
            publish(c);
        }
        if (xioctl(c, VIDIOC_QBUF, &b) < 0) {
            thread_fail(c, "cannot give a buffer back (%s)", strerror(errno));
            return;
        }
    }
}

/* --- the loop side ------------------------------------------------------------------------------- */
static void cam_free(cam *c);

static void on_wake(uv_async_t *a) {
    cam *c = a->data;
    if (!c) return;
    uv_mutex_lock(&c->lock);
    int have = c->mid_full;
    if (have) {
        int t = c->front;
        c->front = c->mid;
        c->mid = t;
        c->mid_full = 0;
    }
    c->base.dropped = c->dropped_t;
    c->refused = c->refused_t;
    int report = c->err_pending && !c->err_reported;
    char msg[sizeof c->errmsg];
    if (report) {
        c->err_reported = 1;
        memcpy(msg, c->errmsg, sizeof msg);
    }
    uv_mutex_unlock(&c->lock);
    c->in_cb = 1;
    if (have && c->running && !c->close_pending) {
        c->base.frames++;
        c->base.on_frame(c->base.ctx, &c->fr[c->front]);
    }
    if (report && c->running && !c->close_pending && c->base.on_error) c->base.on_error(c->base.ctx, msg);
    c->in_cb = 0;
    if (c->close_pending) cam_free(c);
}

static void free_async(uv_handle_t *h) { free(h); }

static void unmap_all(cam *c) {
    for (int i = 0; i < c->nbuf; i++)
        if (c->bufs[i].start) c->io->munmap(c->bufs[i].start, c->bufs[i].len);
    memset(c->bufs, 0, sizeof c->bufs);
    c->nbuf = 0;
    struct v4l2_requestbuffers rb;     /* frees the driver's buffers */
    memset(&rb, 0, sizeof rb);
    rb.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    rb.memory = V4L2_MEMORY_MMAP;
    xioctl(c, VIDIOC_REQBUFS, &rb);
}

static int busy_or(cam *c, int e, char *err, size_t errlen, const char *what) {
    if (e == EBUSY) return fail(err, errlen, "the camera %s is in use by another program", c->path);
    if (e == ENODEV) return fail(err, errlen, "the camera %s went away (%s)", c->path, strerror(e));
    return fail(err, errlen, "the camera %s: %s failed (%s)", c->path, what, strerror(e));
}

static int cam_start(hc_video_source *b, char *err, size_t errlen) {
    cam *c = (cam *)b;
    if (c->running) return 0;
    struct v4l2_requestbuffers rb;
    memset(&rb, 0, sizeof rb);
    rb.count = CAM_NBUF_WANT;
    rb.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    rb.memory = V4L2_MEMORY_MMAP;
    if (xioctl(c, VIDIOC_REQBUFS, &rb) < 0) {
        if (errno == EINVAL) return fail(err, errlen, "the camera %s does not support memory-mapped capture", c->path);
        return busy_or(c, errno, err, errlen, "requesting buffers");
    }
    if (rb.count < 2 || rb.count > CAM_NBUF_MAX) {
        c->nbuf = 0;
        unmap_all(c);
        return fail(err, errlen, "the camera %s gave %u capture buffers (hushcall needs 2 to %d)", c->path, rb.count,
                    CAM_NBUF_MAX);
    }
    size_t need = c->fmt == V4L2_PIX_FMT_YUYV ? (size_t)c->bpl * (size_t)c->ch : 64;
    for (uint32_t i = 0; i < rb.count; i++) {
        struct v4l2_buffer vb;
        memset(&vb, 0, sizeof vb);
        vb.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
        vb.memory = V4L2_MEMORY_MMAP;
        vb.index = i;
        if (xioctl(c, VIDIOC_QUERYBUF, &vb) < 0) {
            int e = errno;
            unmap_all(c);
            return busy_or(c, e, err, errlen, "querying a buffer");
        }
        if (vb.length < need || vb.length > CAM_BUF_MAX) {
            unmap_all(c);
            return fail(err, errlen, "the camera %s offers %u-byte buffers for %zu-byte pictures", c->path, vb.length,
                        need);
        }
        void *m = c->io->mmap(NULL, vb.length, PROT_READ | PROT_WRITE, MAP_SHARED, c->fd, (off_t)vb.m.offset);
        if (m == MAP_FAILED) {
            int e = errno;
            unmap_all(c);
            return busy_or(c, e, err, errlen, "mapping a buffer");
        }
        c->bufs[i].start = m;
        c->bufs[i].len = vb.length;
        c->nbuf = (int)i + 1;
        if (xioctl(c, VIDIOC_QBUF, &vb) < 0) {
            int e = errno;
            unmap_all(c);
            return busy_or(c, e, err, errlen, "queueing a buffer");
        }
    }
    enum v4l2_buf_type type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    if (xioctl(c, VIDIOC_STREAMON, &type) < 0) {
        int e = errno;
        unmap_all(c);
        return busy_or(c, e, err, errlen, "starting the stream");
    }
    c->async = calloc(1, sizeof *c->async);
    if (!c->async || uv_async_init(b->loop, c->async, on_wake)) {
        free(c->async);
        c->async = NULL;
        xioctl(c, VIDIOC_STREAMOFF, &type);
        unmap_all(c);
        return fail(err, errlen, "cannot create the camera's wake-up handle");
    }
    c->async->data = c;
    c->mid_full = 0;
    c->err_pending = 0;
    c->err_reported = 0;
    atomic_store(&c->stop_flag, 0);
    if (uv_thread_create(&c->thread, capture_thread, c)) {
        c->async->data = NULL;
        uv_close((uv_handle_t *)c->async, free_async);
        c->async = NULL;
        xioctl(c, VIDIOC_STREAMOFF, &type);
        unmap_all(c);
        return fail(err, errlen, "cannot start the camera thread");
    }
    c->running = 1;
    return 0;
}

static void cam_stop(hc_video_source *b) {
    cam *c = (cam *)b;
    if (!c->running) return;
    c->running = 0;
    atomic_store(&c->stop_flag, 1);
    uv_thread_join(&c->thread);           /* within one poll timeout */
    enum v4l2_buf_type type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    xioctl(c, VIDIOC_STREAMOFF, &type);   /* fails harmlessly on a device that went away */
    unmap_all(c);
    c->async->data = NULL;
    uv_close((uv_handle_t *)c->async, free_async);
    c->async = NULL;
    if (c->mid_full) c->dropped_t++;      /* captured, never delivered: the thread is gone, no lock needed */
    c->mid_full = 0;
    c->base.dropped = c->dropped_t;
    c->refused = c->refused_t;
}

static void cam_free(cam *c) {
    cam_stop(&c->base);
    if (c->fd >= 0) c->io->close(c->fd);
    if (c->tj) tjDestroy(c->tj);
    for (int i = 0; i < 3; i++) hc_video_frame_free(&c->fr[i]);
    free(c->s420);
    free(c->sjpg);
    uv_mutex_destroy(&c->lock);
    free(c);
}

static void cam_close(hc_video_source *b) {
    cam *c = (cam *)b;
    if (c->in_cb) {                       /* from on_frame / on_error: on_wake frees it on return */
        cam_stop(b);
        c->close_pending = 1;
        return;
    }
    cam_free(c);
}

static const hc_video_source_ops cam_ops = {"camera", cam_start, cam_stop, cam_close};

uint64_t hc_vsrc_camera_refused(const hc_video_source *s) {
    if (!s || s->ops != &cam_ops) return 0;
    return ((const cam *)s)->refused;
}

/* --- opening: device, capabilities, format, size, rate ---------------------------------------- */
/* "no camera at X": which /dev/video* nodes do exist, so the user knows what to name instead. */
static void missing_message(cam *c, char *err, size_t errlen) {
    char list[200] = "";
    size_t off = 0;
    for (int i = 0; i < 64; i++) {
        char p[32];
        snprintf(p, sizeof p, "/dev/video%d", i);
        if (!strcmp(p, c->path)) continue;
        int fd = c->io->open(p, O_RDWR | O_NONBLOCK);
        if (fd < 0 && errno == ENOENT) continue;
        if (fd >= 0) c->io->close(fd);
        if (off < sizeof list) {
            int n = snprintf(list + off, sizeof list - off, "%s%s", off ? ", " : "", p);
            if (n > 0) off += (size_t)n;
        }
    }
    if (!off)
        fail(err, errlen, "no camera at %s (this machine has no /dev/video* device)", c->path);
    else
        fail(err, errlen, "no camera at %s (devices here: %s; 'hushcall devices' lists the cameras)", c->path, list);
}

typedef struct {
    int w, h;
} wh;

/* The capture size for an output of w x h: the smallest the camera offers that covers it (we scale
 * down, never up), else its largest. Without VIDIOC_ENUM_FRAMESIZES, the output size itself (S_FMT
 * then says what the driver makes of it). */
static wh choose_size(cam *c, int w, int h) {
    wh best = {0, 0}, biggest = {0, 0};
    for (uint32_t i = 0; i < 256; i++) {
        struct v4l2_frmsizeenum fs;
        memset(&fs, 0, sizeof fs);
        fs.index = i;
        fs.pixel_format = c->fmt;
        if (xioctl(c, VIDIOC_ENUM_FRAMESIZES, &fs) < 0) break;
        if (fs.type == V4L2_FRMSIZE_TYPE_DISCRETE) {
            wh s = {(int)fs.discrete.width, (int)fs.discrete.height};
            if (s.w < 2 || s.h < 2 || s.w > HC_VIDEO_MAX_W || s.h > HC_VIDEO_MAX_H) continue;
            if ((int64_t)s.w * s.h > (int64_t)biggest.w * biggest.h) biggest = s;
            if (s.w >= w && s.h >= h && (!best.w || (int64_t)s.w * s.h < (int64_t)best.w * best.h)) best = s;
        } else {                          /* stepwise or continuous: one answer, the range */
            const struct v4l2_frmsize_stepwise *sw = &fs.stepwise;
            uint32_t sx = sw->step_width ? sw->step_width : 1, sy = sw->step_height ? sw->step_height : 1;
            uint32_t x = (uint32_t)w, y = (uint32_t)h;
            if (x < sw->min_width) x = sw->min_width;
            if (y < sw->min_height) y = sw->min_height;
            x = sw->min_width + (x - sw->min_width + sx - 1) / sx * sx;
            y = sw->min_height + (y - sw->min_height + sy - 1) / sy * sy;
            if (x > sw->max_width) x = sw->max_width;
            if (y > sw->max_height) y = sw->max_height;
            if (x > HC_VIDEO_MAX_W) x = HC_VIDEO_MAX_W;
            if (y > HC_VIDEO_MAX_H) y = HC_VIDEO_MAX_H;
            wh r = {(int)x, (int)y};
            return r;
        }
    }
    if (best.w) return best;
    if (biggest.w) return biggest;
    wh r = {w, h};
    return r;
}

static int negotiate(cam *c, char *err, size_t errlen) {
    c->fd = c->io->open(c->path, O_RDWR | O_NONBLOCK);
    if (c->fd < 0) {
        int e = errno;
        if (e == ENOENT) {
            missing_message(c, err, errlen);
            return -1;
        }
        if (e == EBUSY) return fail(err, errlen, "the camera %s is in use by another program", c->path);
        if (e == EACCES || e == EPERM)
            return fail(err, errlen, "no permission to open the camera %s (is your user in the 'video' group?)", c->path);
        return fail(err, errlen, "cannot open the camera %s: %s", c->path, strerror(e));
    }
    hc_v4l2_info info;
    if (hc_v4l2_query(c->fd, &info) < 0) {
        if (errno == EBUSY) return fail(err, errlen, "the camera %s is in use by another program", c->path);
        return fail(err, errlen, "%s is not a camera (not a V4L2 device: %s)", c->path, strerror(errno));
    }
    if (!info.capture) {
        if (info.caps & V4L2_CAP_VIDEO_CAPTURE_MPLANE)
            return fail(err, errlen, "%s ('%s') is not a capture device hushcall can use (multi-planar only)", c->path,
                        info.card);
        return fail(err, errlen,
                    "%s ('%s') is not a video capture device (a camera's second /dev/video node carries only "
                    "metadata; 'hushcall devices' lists the cameras)", c->path, info.card);
    }
    c->fmt = hc_v4l2_pick_format(&info);
    if (!c->fmt) {
        char list[200] = "";
        size_t off = 0;
        for (int i = 0; i < info.nformats && off < sizeof list; i++) {
            char fc[8];
            int n = snprintf(list + off, sizeof list - off, "%s%s", off ? ", " : "", hc_v4l2_fourcc_str(info.formats[i], fc));
            if (n > 0) off += (size_t)n;
        }
        return fail(err, errlen, "the camera %s offers no format hushcall can use: it offers %s (hushcall needs YUYV or MJPG)",
                    c->path, off ? list : "none");
    }
    wh want = choose_size(c, c->base.w, c->base.h);
    struct v4l2_format f;
    memset(&f, 0, sizeof f);
    f.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    f.fmt.pix.width = (uint32_t)want.w;
    f.fmt.pix.height = (uint32_t)want.h;
    f.fmt.pix.pixelformat = c->fmt;
    f.fmt.pix.field = V4L2_FIELD_ANY;
    if (xioctl(c, VIDIOC_S_FMT, &f) < 0) return busy_or(c, errno, err, errlen, "setting the format");
    char fc[8];
    if (f.fmt.pix.pixelformat != c->fmt)
        return fail(err, errlen, "the camera %s would not capture %s", c->path, hc_v4l2_fourcc_str(c->fmt, fc));
    /* Accept the size the driver chose, within what we can convert. */
    if (f.fmt.pix.width < 2 || f.fmt.pix.height < 2 || f.fmt.pix.width > HC_VIDEO_MAX_W ||
        f.fmt.pix.height > HC_VIDEO_MAX_H)
        return fail(err, errlen, "the camera %s offers %ux%u, outside what hushcall handles (2x2 to %dx%d)", c->path,
                    f.fmt.pix.width, f.fmt.pix.height, HC_VIDEO_MAX_W, HC_VIDEO_MAX_H);
    c->cw = (int)f.fmt.pix.width;
    c->ch = (int)f.fmt.pix.height;
    if (c->fmt == V4L2_PIX_FMT_YUYV) {
        if (c->cw & 1) return fail(err, errlen, "the camera %s offers YUYV at an odd width (%d)", c->path, c->cw);
        c->bpl = f.fmt.pix.bytesperline ? f.fmt.pix.bytesperline : 2u * (uint32_t)c->cw;
        if (c->bpl < 2u * (uint32_t)c->cw || c->bpl > 4u * HC_VIDEO_MAX_W)
            return fail(err, errlen, "the camera %s reports %u bytes per line for %d pixels", c->path, c->bpl, c->cw);
    }
    /* The rate, if the driver lets us choose (UVC does). */
    struct v4l2_streamparm sp;
    memset(&sp, 0, sizeof sp);
    sp.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    if (xioctl(c, VIDIOC_G_PARM, &sp) == 0 && (sp.parm.capture.capability & V4L2_CAP_TIMEPERFRAME)) {
        sp.parm.capture.timeperframe.numerator = 1;
        sp.parm.capture.timeperframe.denominator = (uint32_t)c->base.fps;
        if (xioctl(c, VIDIOC_S_PARM, &sp) == 0 && sp.parm.capture.timeperframe.numerator)
            c->dev_fps = (int)(sp.parm.capture.timeperframe.denominator / sp.parm.capture.timeperframe.numerator);
    }
    return 0;
}

static int alloc_buffers(cam *c, char *err, size_t errlen) {
    c->s420_w = pad2(c->cw);
    c->s420_h = pad2(c->ch);
    size_t ysz = (size_t)c->s420_w * (size_t)c->s420_h;
    c->s420 = malloc(ysz + ysz / 2);
    if (!c->s420) return fail(err, errlen, "out of memory");
    if (c->fmt != V4L2_PIX_FMT_YUYV) {
        c->sjpg_len = 3 * ysz;
        c->sjpg = malloc(c->sjpg_len);
        if (!c->sjpg || !(c->tj = tjInitDecompress())) return fail(err, errlen, "cannot set up the JPEG decoder");
    }
    for (int i = 0; i < 3; i++)
        if (hc_video_frame_alloc(&c->fr[i], c->base.w, c->base.h)) return fail(err, errlen, "out of memory");
    c->back = 0, c->mid = 1, c->front = 2;
    return 0;
}

int hc_vsrc_camera_open(hc_video_source **out, uv_loop_t *loop, const hc_video_source_params *p, const char *device,
                        hc_video_frame_fn fn, hc_video_error_fn efn, void *ctx, char *err, size_t errlen) {
    *out = NULL;
    int w = p && p->w ? p->w : 160, h = p && p->h ? p->h : 90, fps = p && p->fps > 0 ? p->fps : 15;
    if (w < 2 || h < 2 || (w & 1) || (h & 1) || w > HC_VIDEO_MAX_W || h > HC_VIDEO_MAX_H || fps > 240)
        return fail(err, errlen, "camera: bad output size %dx%d @ %d fps", w, h, fps);
    cam *c = calloc(1, sizeof *c);
    if (!c) return fail(err, errlen, "out of memory");
    /* The fields every source shares (what hc_video_source_base_init sets; set here so this file
     * stands on its own). */
    c->base.ops = &cam_ops;
    c->base.loop = loop;
    c->base.vclock = NULL;                /* a camera has a clock of its own */
    c->base.w = w, c->base.h = h, c->base.fps = fps;
    c->base.on_frame = fn;
    c->base.on_error = efn;
    c->base.ctx = ctx;
    c->fd = -1;
    c->io = hc_v4l2_io_get();
    const char *dev = device && device[0] ? device : "/dev/video0";
    if (strlen(dev) >= sizeof c->path) {
        free(c);
        return fail(err, errlen, "camera: the device name is too long");
    }
    snprintf(c->path, sizeof c->path, "%s", dev);
    if (uv_mutex_init(&c->lock)) {
        free(c);
        return fail(err, errlen, "cannot create a mutex");
    }
    if (negotiate(c, err, errlen) || alloc_buffers(c, err, errlen)) {
        cam_free(c);
        return -1;
    }
    char fc[8], rate[40] = "";
    if (c->dev_fps && c->dev_fps != fps) snprintf(rate, sizeof rate, ", the camera gives %d fps", c->dev_fps);
    snprintf(c->base.desc, sizeof c->base.desc, "camera %s (%s %dx%d -> %dx%d @ %d fps%s)", c->path,
             hc_v4l2_fourcc_str(c->fmt, fc), c->cw, c->ch, w, h, fps, rate);
    *out = &c->base;
    return 0;
}
