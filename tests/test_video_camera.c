/* The camera source against a fake V4L2 device (this machine has no /dev/video* and cannot load
 * v4l2loopback): the fake implements the seam (video/v4l2.h) in memory, answers the ioctls the
 * source uses, and delivers a known picture as YUYV or as real JPEGs made here with libturbojpeg.
 * It can be busy, missing, offer only formats hushcall cannot use, vanish after N pictures, report
 * POLLERR, and send hostile buffers (bytesused beyond the buffer, a JPEG claiming 8000x8000).
 *
 * The libuv loop runs with a deadline, so a source that hangs fails the test instead of blocking. */
#include "tests/testutil.h"

#include <errno.h>
#include <libyuv.h>
#include <linux/videodev2.h>
#include <pthread.h>
#include <sys/mman.h>
#include <time.h>
#include <turbojpeg.h>
#include <uv.h>

#include "video/frame.h"
#include "video/source.h"
#include "video/v4l2.h"

/* --- the fake device ----------------------------------------------------------------------------- */
#define FD_CAM 77                      /* /dev/video0: the camera */
#define FD_META 78                     /* /dev/video1: a UVC metadata node (not a capture device) */
#define FAKE_NBUF 8
#define PIC_W 320
#define PIC_H 180

typedef struct {
    /* configuration */
    int exists;                        /* /dev/video0 (and /dev/video1, the metadata node) exist */
    int open_errno;                    /* open fails with this (EBUSY) */
    int sfmt_errno;                    /* S_FMT fails with this */
    uint32_t formats[4];
    int nformats;
    struct { uint32_t w, h; } sizes[4];
    int nsizes;                        /* 0: ENUM_FRAMESIZES unsupported (EINVAL) */
    int vanish_after;                  /* DQBUF fails with vanish_errno after this many pictures; -1 never */
    int vanish_errno;                  /* ENODEV (unplugged) unless set */
    int stepwise;                      /* ENUM_FRAMESIZES answers one stepwise range */
    uint32_t querybuf_len;             /* QUERYBUF claims this length (a hostile driver); 0: the real one */
    uint32_t fixed_fps;                /* S_PARM ignored: the camera runs at this rate (0: as asked) */
    int pollerr_after;                 /* poll reports POLLERR after this many; -1 never */
    int hostile_every;                 /* every Nth picture (N >= 1): bytesused beyond the buffer */
    const uint8_t *payload;            /* each picture's bytes */
    size_t payload_len;
    const uint8_t *alt;                /* every alt_every-th picture instead (a hostile JPEG) */
    size_t alt_len;
    int alt_every;
    /* state */
    pthread_mutex_t mu;
    int open_fds, mapped, streaming, nbuf, dq, rr;
    size_t buflen;
    uint8_t *mem[FAKE_NBUF];
    int queued[FAKE_NBUF];
    uint32_t cur_w, cur_h, cur_fmt;
    uint32_t fps_den;
} fake_dev;

static fake_dev F;

static void fake_reset(uint32_t fmt, const uint8_t *payload, size_t len) {
    memset(&F, 0, sizeof F);
    pthread_mutex_init(&F.mu, NULL);
    F.exists = 1;
    F.formats[0] = V4L2_PIX_FMT_GREY;          /* something we cannot use comes first */
    F.formats[1] = fmt;
    F.nformats = 2;
    F.sizes[0].w = 640, F.sizes[0].h = 480;
    F.sizes[1].w = PIC_W, F.sizes[1].h = PIC_H;
    F.sizes[2].w = 1280, F.sizes[2].h = 720;
    F.nsizes = 3;
    F.vanish_after = F.pollerr_after = -1;
    F.payload = payload;
    F.payload_len = len;
}

static int fake_open(const char *path, int flags) {
    (void)flags;
    if (F.exists && !strcmp(path, "/dev/video0")) {
        if (F.open_errno) {
            errno = F.open_errno;
            return -1;
        }
        F.open_fds++;
        return FD_CAM;
    }
    if (F.exists && !strcmp(path, "/dev/video1")) {
        F.open_fds++;
        return FD_META;
    }
    errno = ENOENT;
    return -1;
}

static int fake_close(int fd) {
    assert_true(fd == FD_CAM || fd == FD_META);
    F.open_fds--;
    return 0;
}

static void free_bufs(void) {
    for (int i = 0; i < F.nbuf; i++) free(F.mem[i]);
    memset(F.mem, 0, sizeof F.mem);
    memset(F.queued, 0, sizeof F.queued);
    F.nbuf = 0;
}

static int fake_ioctl_locked(int fd, unsigned long req, void *arg) {
    if (fd == FD_META) {
        if (req != VIDIOC_QUERYCAP) {
            errno = ENOTTY;
            return -1;
        }
        struct v4l2_capability *c = arg;
        memset(c, 0, sizeof *c);
        strcpy((char *)c->driver, "uvcvideo");
        strcpy((char *)c->card, "Fake Camera");
        c->capabilities = V4L2_CAP_VIDEO_CAPTURE | V4L2_CAP_META_CAPTURE | V4L2_CAP_STREAMING | V4L2_CAP_DEVICE_CAPS;
        c->device_caps = V4L2_CAP_META_CAPTURE | V4L2_CAP_STREAMING;
        return 0;
    }
    assert_int_equal(fd, FD_CAM);
    switch (req) {
    case VIDIOC_QUERYCAP: {
        struct v4l2_capability *c = arg;
        memset(c, 0, sizeof *c);
        strcpy((char *)c->driver, "uvcvideo");
        strcpy((char *)c->card, "Fake Camera");
        c->capabilities = V4L2_CAP_VIDEO_CAPTURE | V4L2_CAP_META_CAPTURE | V4L2_CAP_STREAMING | V4L2_CAP_DEVICE_CAPS;
        c->device_caps = V4L2_CAP_VIDEO_CAPTURE | V4L2_CAP_STREAMING;
        return 0;
    }
    case VIDIOC_ENUM_FMT: {
        struct v4l2_fmtdesc *d = arg;
        if (d->type != V4L2_BUF_TYPE_VIDEO_CAPTURE || d->index >= (uint32_t)F.nformats) break;
        d->pixelformat = F.formats[d->index];
        return 0;
    }
    case VIDIOC_ENUM_FRAMESIZES: {
        struct v4l2_frmsizeenum *s = arg;
        if (F.stepwise && s->index == 0) {
            s->type = V4L2_FRMSIZE_TYPE_STEPWISE;
            s->stepwise.min_width = 48, s->stepwise.max_width = 1280, s->stepwise.step_width = 16;
            s->stepwise.min_height = 32, s->stepwise.max_height = 720, s->stepwise.step_height = 8;
            return 0;
        }
        if (F.stepwise || s->index >= (uint32_t)F.nsizes) break;
        s->type = V4L2_FRMSIZE_TYPE_DISCRETE;
        s->discrete.width = F.sizes[s->index].w;
        s->discrete.height = F.sizes[s->index].h;
        return 0;
    }
    case VIDIOC_S_FMT:
    case VIDIOC_G_FMT: {
        struct v4l2_format *f = arg;
        if (f->type != V4L2_BUF_TYPE_VIDEO_CAPTURE) break;
        if (req == VIDIOC_S_FMT) {
            if (F.sfmt_errno) {
                errno = F.sfmt_errno;
                return -1;
            }
            if (F.streaming) {
                errno = EBUSY;
                return -1;
            }
            int ok = 0;
            for (int i = 0; i < F.nformats; i++) ok |= F.formats[i] == f->fmt.pix.pixelformat;
            F.cur_fmt = ok ? f->fmt.pix.pixelformat : F.formats[0];
            /* like a driver: the listed size nearest the request */
            F.cur_w = F.sizes[0].w, F.cur_h = F.sizes[0].h;
            if (F.stepwise) F.cur_w = f->fmt.pix.width, F.cur_h = f->fmt.pix.height;
            for (int i = 0; i < F.nsizes; i++)
                if (F.sizes[i].w == f->fmt.pix.width && F.sizes[i].h == f->fmt.pix.height)
                    F.cur_w = F.sizes[i].w, F.cur_h = F.sizes[i].h;
        }
        memset(&f->fmt.pix, 0, sizeof f->fmt.pix);
        f->fmt.pix.width = F.cur_w;
        f->fmt.pix.height = F.cur_h;
        f->fmt.pix.pixelformat = F.cur_fmt;
        f->fmt.pix.field = V4L2_FIELD_NONE;
        f->fmt.pix.bytesperline = F.cur_fmt == V4L2_PIX_FMT_YUYV ? 2 * F.cur_w : 0;
        f->fmt.pix.sizeimage = 2 * F.cur_w * F.cur_h;
        return 0;
    }
    case VIDIOC_G_PARM:
    case VIDIOC_S_PARM: {
        struct v4l2_streamparm *p = arg;
        if (req == VIDIOC_S_PARM) F.fps_den = F.fixed_fps ? F.fixed_fps : p->parm.capture.timeperframe.denominator;
        memset(&p->parm, 0, sizeof p->parm);
        p->parm.capture.capability = V4L2_CAP_TIMEPERFRAME;
        p->parm.capture.timeperframe.numerator = 1;
        p->parm.capture.timeperframe.denominator = F.fps_den ? F.fps_den : 30;
        return 0;
    }
    case VIDIOC_REQBUFS: {
        struct v4l2_requestbuffers *r = arg;
        if (r->memory != V4L2_MEMORY_MMAP) break;
        if (F.streaming || F.mapped) {
            errno = EBUSY;
            return -1;
        }
        free_bufs();
        if (r->count == 0) return 0;
        F.nbuf = r->count > FAKE_NBUF ? FAKE_NBUF : (int)r->count;
        F.buflen = 2 * (size_t)F.cur_w * F.cur_h;
        for (int i = 0; i < F.nbuf; i++) assert_non_null(F.mem[i] = calloc(1, F.buflen));
        r->count = (uint32_t)F.nbuf;
        return 0;
    }
    case VIDIOC_QUERYBUF: {
        struct v4l2_buffer *b = arg;
        if (b->index >= (uint32_t)F.nbuf) break;
        b->length = F.querybuf_len ? F.querybuf_len : (uint32_t)F.buflen;
        b->m.offset = b->index * 4096u;
        return 0;
    }
    case VIDIOC_QBUF: {
        struct v4l2_buffer *b = arg;
        if (b->index >= (uint32_t)F.nbuf || F.queued[b->index]) break;
        F.queued[b->index] = 1;
        return 0;
    }
    case VIDIOC_DQBUF: {
        struct v4l2_buffer *b = arg;
        if (F.vanish_after >= 0 && F.dq >= F.vanish_after) {
            errno = F.vanish_errno ? F.vanish_errno : ENODEV;
            return -1;
        }
        if (!F.streaming) break;
        for (int k = 0; k < F.nbuf; k++) {
            int i = (F.rr + k) % F.nbuf;
            if (!F.queued[i]) continue;
            F.rr = i + 1;
            F.queued[i] = 0;
            F.dq++;
            const uint8_t *src = F.payload;
            size_t n = F.payload_len;
            if (F.alt && F.alt_every && F.dq % F.alt_every == 0) src = F.alt, n = F.alt_len;
            if (n > F.buflen) n = F.buflen;
            memcpy(F.mem[i], src, n);
            memset(b, 0, sizeof *b);
            b->type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
            b->memory = V4L2_MEMORY_MMAP;
            b->index = (uint32_t)i;
            b->bytesused = (uint32_t)n;
            b->length = (uint32_t)F.buflen;
            uint32_t fps = F.fps_den ? F.fps_den : 30;         /* timestamps at the device's rate */
            uint64_t us = 1000000ull + (uint64_t)(F.dq - 1) * (1000000u / fps);
            b->timestamp.tv_sec = (time_t)(us / 1000000);
            b->timestamp.tv_usec = (suseconds_t)(us % 1000000);
            if (F.hostile_every && F.dq % F.hostile_every == 0) b->bytesused = (uint32_t)F.buflen + 1000;
            return 0;
        }
        errno = EAGAIN;
        return -1;
    }
    case VIDIOC_STREAMON:
        if (!F.nbuf) break;
        F.streaming = 1;
        return 0;
    case VIDIOC_STREAMOFF:
        F.streaming = 0;
        memset(F.queued, 0, sizeof F.queued);
        return 0;
    default:
        errno = ENOTTY;
        return -1;
    }
    errno = EINVAL;
    return -1;
}

static int fake_ioctl(int fd, unsigned long req, void *arg) {
    pthread_mutex_lock(&F.mu);
    int r = fake_ioctl_locked(fd, req, arg);
    int e = errno;
    pthread_mutex_unlock(&F.mu);
    errno = e;
    return r;
}

static void *fake_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off) {
    (void)addr; (void)prot; (void)flags;
    pthread_mutex_lock(&F.mu);
    void *r = MAP_FAILED;
    size_t i = (size_t)off / 4096;
    if (fd == FD_CAM && off % 4096 == 0 && i < (size_t)F.nbuf && len == F.buflen) {
        r = F.mem[i];
        F.mapped++;
    }
    pthread_mutex_unlock(&F.mu);
    if (r == MAP_FAILED) errno = EINVAL;
    return r;
}

static int fake_munmap(void *addr, size_t len) {
    (void)addr; (void)len;
    pthread_mutex_lock(&F.mu);
    F.mapped--;
    pthread_mutex_unlock(&F.mu);
    return 0;
}

static void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* A picture every 4 ms while buffers are queued (a fast camera: the loop may not take every one). */
static int fake_poll(struct pollfd *fds, nfds_t n, int timeout_ms) {
    assert_int_equal(n, 1);
    sleep_ms(4);
    pthread_mutex_lock(&F.mu);
    int ready = 0, err = F.pollerr_after >= 0 && F.dq >= F.pollerr_after;
    for (int i = 0; i < F.nbuf; i++) ready |= F.queued[i];
    if (F.vanish_after >= 0 && F.dq >= F.vanish_after) ready = 1;
    ready = ready && F.streaming;
    pthread_mutex_unlock(&F.mu);
    fds[0].revents = 0;
    if (err) {
        fds[0].revents = POLLERR;
        return 1;
    }
    if (ready) {
        fds[0].revents = POLLIN;
        return 1;
    }
    sleep_ms(timeout_ms > 4 ? timeout_ms - 4 : 0);
    return 0;
}

static const hc_v4l2_io fake_io = {fake_open, fake_close, fake_ioctl, fake_mmap, fake_munmap, fake_poll};

/* --- the known picture and its encodings --------------------------------------------------------- */
static hc_video_frame pic;             /* PIC_W x PIC_H: smooth ramps, bands, a box (camera-like) */
static uint8_t yuyv[2 * PIC_W * PIC_H];
static uint8_t *jpg420, *jpg422, *jpg444, *jpg_huge;
static unsigned long jpg420_len, jpg422_len, jpg444_len, jpg_huge_len;

static void make_picture(void) {
    assert_int_equal(hc_video_frame_alloc(&pic, PIC_W, PIC_H), 0);
    for (int y = 0; y < PIC_H; y++)
        for (int x = 0; x < PIC_W; x++) {
            int v = 30 + x * 150 / PIC_W + ((y / 30) % 2) * 25;
            if (x >= 100 && x < 180 && y >= 50 && y < 120) v = 220 - (x - 100);
            pic.y[y * pic.stride_y + x] = (uint8_t)v;
        }
    for (int y = 0; y < PIC_H / 2; y++)
        for (int x = 0; x < PIC_W / 2; x++) {
            pic.u[y * pic.stride_u + x] = (uint8_t)(128 + (x - PIC_W / 4) / 4);
            pic.v[y * pic.stride_v + x] = (uint8_t)(128 + (y - PIC_H / 4) / 3);
        }
    I420ToYUY2(pic.y, pic.stride_y, pic.u, pic.stride_u, pic.v, pic.stride_v, yuyv, 2 * PIC_W, PIC_W, PIC_H);
}

/* Real JPEGs of the picture's own YCbCr planes (no RGB round trip, so the luma is comparable):
 * 4:2:0 directly, 4:2:2 and 4:4:4 from chroma upsampled with libyuv. */
static uint8_t *compress(int ss, unsigned long *len) {
    static uint8_t cu[PIC_W * PIC_H], cv[PIC_W * PIC_H];
    const unsigned char *planes[3] = {pic.y, pic.u, pic.v};
    int strides[3] = {pic.stride_y, pic.stride_u, pic.stride_v};
    if (ss == TJSAMP_422) {
        uint8_t *yy = malloc(PIC_W * PIC_H);
        assert_non_null(yy);
        I420ToI422(pic.y, pic.stride_y, pic.u, pic.stride_u, pic.v, pic.stride_v, yy, PIC_W, cu, PIC_W / 2, cv,
                   PIC_W / 2, PIC_W, PIC_H);
        free(yy);
        planes[1] = cu, planes[2] = cv;
        strides[1] = strides[2] = PIC_W / 2;
    } else if (ss == TJSAMP_444) {
        uint8_t *yy = malloc(PIC_W * PIC_H);
        assert_non_null(yy);
        I420ToI444(pic.y, pic.stride_y, pic.u, pic.stride_u, pic.v, pic.stride_v, yy, PIC_W, cu, PIC_W, cv, PIC_W,
                   PIC_W, PIC_H);
        free(yy);
        planes[1] = cu, planes[2] = cv;
        strides[1] = strides[2] = PIC_W;
    }
    tjhandle tj = tjInitCompress();
    assert_non_null(tj);
    unsigned char *out = NULL;
    assert_int_equal(tjCompressFromYUVPlanes(tj, planes, PIC_W, strides, PIC_H, ss, &out, len, 90, 0), 0);
    tjDestroy(tj);
    return out;
}

/* A real JPEG whose frame header (SOF0) is rewritten to claim 8000x8000. */
static uint8_t *huge_jpeg(unsigned long *len) {
    uint8_t *j = malloc(jpg420_len);
    assert_non_null(j);
    memcpy(j, jpg420, jpg420_len);
    *len = jpg420_len;
    for (unsigned long i = 0; i + 9 < *len; i++)
        if (j[i] == 0xff && j[i + 1] == 0xc0) {
            j[i + 5] = 8000 >> 8, j[i + 6] = 8000 & 0xff;      /* height */
            j[i + 7] = 8000 >> 8, j[i + 8] = 8000 & 0xff;      /* width */
            return j;
        }
    fail_msg("no SOF0 in the JPEG");
    return NULL;
}

static int setup_all(void **state) {
    (void)state;
    make_picture();
    jpg420 = compress(TJSAMP_420, &jpg420_len);
    jpg422 = compress(TJSAMP_422, &jpg422_len);
    jpg444 = compress(TJSAMP_444, &jpg444_len);
    jpg_huge = huge_jpeg(&jpg_huge_len);
    hc_v4l2_io_set(&fake_io);
    return 0;
}

static int teardown_all(void **state) {
    (void)state;
    hc_v4l2_io_set(NULL);
    hc_video_frame_free(&pic);
    tjFree(jpg420);
    tjFree(jpg422);
    tjFree(jpg444);
    free(jpg_huge);
    return 0;
}

/* --- running a source ---------------------------------------------------------------------------- */
typedef struct {
    uv_loop_t loop;
    hc_video_source *src;
    hc_video_frame ref;                /* the picture scaled to the output as the source scales it */
    int frames, errors, frames_after_error, bad_size, seq_bad, count_bad, time_bad;
    double min_psnr;
    uint32_t last_seq, t0;
    char errmsg[600];
    int close_in_error;
} run_ctx;

static void on_frame(void *ctx, const hc_video_frame *f) {
    run_ctx *r = ctx;
    if (r->errors) r->frames_after_error++;
    if (f->w != r->ref.w || f->h != r->ref.h) {
        r->bad_size++;
        return;
    }
    double p = hc_video_psnr_y(f, &r->ref);
    if (p < r->min_psnr) r->min_psnr = p;
    if (r->frames && f->seq <= r->last_seq) r->seq_bad++;
    /* every picture converted is either delivered or counted as dropped, in seq order */
    if ((uint64_t)f->seq + 1 != r->src->frames + r->src->dropped) r->count_bad++;
    uint32_t now = hc_video_clock_ms();
    if ((int32_t)(f->capture_ms - r->t0) < 0 || (int32_t)(now - f->capture_ms) < 0) r->time_bad++;
    r->last_seq = f->seq;
    r->frames++;
}

static void on_error(void *ctx, const char *msg) {
    run_ctx *r = ctx;
    r->errors++;
    snprintf(r->errmsg, sizeof r->errmsg, "%s", msg);
    if (r->close_in_error) {
        r->src->ops->close(r->src);
        r->src = NULL;
    }
}

static void tick(uv_timer_t *t) { (void)t; }

/* Runs the loop until cond holds or the (generous, slowness-stretched) deadline passes. */
static int run_until(run_ctx *r, int (*cond)(run_ctx *), double seconds) {
    uv_timer_t t;
    uv_timer_init(&r->loop, &t);
    uv_timer_start(&t, tick, 10, 10);
    uint64_t end = uv_hrtime() + (uint64_t)(seconds * hc_test_slow() * 1e9);
    int ok;
    while (!(ok = cond(r)) && uv_hrtime() < end) uv_run(&r->loop, UV_RUN_ONCE);
    uv_timer_stop(&t);
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(&r->loop, UV_RUN_NOWAIT);
    return ok;
}

static int want_frames;
static int got_frames(run_ctx *r) { return r->frames >= want_frames; }
static int got_error(run_ctx *r) { return r->errors > 0; }
static int never(run_ctx *r) { (void)r; return 0; }

static void ctx_init(run_ctx *r, int w, int h) {
    memset(r, 0, sizeof *r);
    assert_int_equal(uv_loop_init(&r->loop), 0);
    assert_int_equal(hc_video_frame_alloc(&r->ref, w, h), 0);
    hc_video_frame_copy_scaled(&r->ref, &pic);
    r->min_psnr = 1000;
    r->t0 = hc_video_clock_ms();
}

static int open_cam(run_ctx *r, const char *dev, int w, int h, char *err, size_t errlen) {
    hc_video_source_params p = {w, h, 15, NULL};
    return hc_vsrc_camera_open(&r->src, &r->loop, &p, dev, on_frame, on_error, r, err, errlen);
}

/* Closes the source and the loop; the device must be left as found: closed, unmapped, freed. */
static void ctx_done(run_ctx *r) {
    if (r->src) r->src->ops->close(r->src);
    r->src = NULL;
    uv_run(&r->loop, UV_RUN_NOWAIT);   /* the async handle's close callback */
    assert_int_equal(uv_loop_close(&r->loop), 0);
    hc_video_frame_free(&r->ref);
    assert_int_equal(F.open_fds, 0);
    assert_int_equal(F.mapped, 0);
    assert_int_equal(F.nbuf, 0);
    assert_int_equal(F.streaming, 0);
}

/* Captures n pictures and checks them: size, luma against the reference, seq, counts, clock. */
static void capture_and_check(run_ctx *r, int n, double min_psnr) {
    char err[512] = "";
    int rc = r->src->ops->start(r->src, err, sizeof err);
    if (rc) fail_msg("start: %s", err);
    want_frames = n;
    if (!run_until(r, got_frames, 20)) fail_msg("only %d pictures, errors %d (%s), refused %llu, dq %d", r->frames, r->errors, r->errmsg, (unsigned long long)hc_vsrc_camera_refused(r->src), F.dq);
    uint64_t t_stop = uv_hrtime();
    r->src->ops->stop(r->src);
    double stop_ms = (double)(uv_hrtime() - t_stop) / 1e6;   /* a figure, not asserted (shared machine) */
    int after_stop = r->frames;
    run_until(r, never, 0.1);          /* nothing arrives once stop() returned */
    assert_int_equal(r->frames, after_stop);
    assert_int_equal(r->bad_size, 0);
    assert_int_equal(r->seq_bad, 0);
    assert_int_equal(r->count_bad, 0);
    assert_int_equal(r->time_bad, 0);
    assert_int_equal(r->errors, 0);
    printf("    %d pictures, PSNR-Y min %.1f dB, %llu dropped, %llu refused, stop() %.1f ms (%s)\n", r->frames,
           r->min_psnr, (unsigned long long)r->src->dropped, (unsigned long long)hc_vsrc_camera_refused(r->src),
           stop_ms, r->src->desc);
    assert_true(r->min_psnr >= min_psnr);
}

/* --- tests --------------------------------------------------------------------------------------- */
static void test_yuyv(void **state) {
    (void)state;
    fake_reset(V4L2_PIX_FMT_MJPEG, yuyv, sizeof yuyv);
    F.formats[2] = V4L2_PIX_FMT_YUYV;                  /* both offered, MJPEG first: YUYV is preferred */
    F.nformats = 3;
    run_ctx r;
    ctx_init(&r, 160, 90);
    char err[512] = "";
    assert_int_equal(open_cam(&r, "", 160, 90, err, sizeof err), 0);
    /* the smallest listed size that covers 160x90, and the rate asked for */
    assert_string_equal(r.src->desc, "camera /dev/video0 (YUYV 320x180 -> 160x90 @ 15 fps)");
    assert_int_equal(F.cur_fmt, V4L2_PIX_FMT_YUYV);
    assert_int_equal(F.fps_den, 15);
    assert_int_equal(F.open_fds, 1);
    capture_and_check(&r, 30, 50.0);   /* YUYV keeps luma exactly: the scaled picture is identical */
    assert_int_equal(F.mapped, 0);     /* stop() gave the buffers back */
    assert_int_equal(hc_vsrc_camera_refused(r.src), 0);
    /* and it starts again */
    r.frames = 0;
    capture_and_check(&r, 10, 50.0);
    ctx_done(&r);
}

/* Without VIDIOC_ENUM_FRAMESIZES the requested size goes to S_FMT and the driver's answer is taken;
 * here it answers 640x480 (4:3), which is cropped (not squashed) to 16:9. */
static void test_yuyv_driver_size(void **state) {
    (void)state;
    static uint8_t big[2 * 640 * 480];
    fake_reset(V4L2_PIX_FMT_YUYV, big, sizeof big);
    F.nsizes = 0;
    F.sizes[0].w = 640, F.sizes[0].h = 480;
    /* the reference: the 4:3 picture, its centred 16:9 band scaled to 320x180 */
    hc_video_frame p43;
    assert_int_equal(hc_video_frame_alloc(&p43, 640, 480), 0);
    for (int y = 0; y < 480; y++)
        for (int x = 0; x < 640; x++) p43.y[y * 640 + x] = (uint8_t)(20 + x / 4 + (y / 40 % 2) * 30);
    I420ToYUY2(p43.y, p43.stride_y, p43.u, p43.stride_u, p43.v, p43.stride_v, big, 1280, 640, 480);
    run_ctx r;
    ctx_init(&r, 320, 180);
    hc_video_frame band = p43;
    band.h = 360;
    band.y += 60 * 640;
    band.u += 30 * 320;
    band.v += 30 * 320;
    hc_video_frame_copy_scaled(&r.ref, &band);
    char err[512] = "";
    assert_int_equal(open_cam(&r, "/dev/video0", 320, 180, err, sizeof err), 0);
    assert_string_equal(r.src->desc, "camera /dev/video0 (YUYV 640x480 -> 320x180 @ 15 fps)");
    capture_and_check(&r, 5, 50.0);
    ctx_done(&r);
    hc_video_frame_free(&p43);
}

static void mjpeg_case(const uint8_t *j, unsigned long len) {
    fake_reset(V4L2_PIX_FMT_MJPEG, j, len);
    run_ctx r;
    ctx_init(&r, 160, 90);
    char err[512] = "";
    assert_int_equal(open_cam(&r, "", 160, 90, err, sizeof err), 0);
    assert_string_equal(r.src->desc, "camera /dev/video0 (MJPG 320x180 -> 160x90 @ 15 fps)");
    capture_and_check(&r, 20, 30.0);
    assert_int_equal(hc_vsrc_camera_refused(r.src), 0);
    ctx_done(&r);
}

static void test_mjpeg_420(void **state) { (void)state; mjpeg_case(jpg420, jpg420_len); }
static void test_mjpeg_422(void **state) { (void)state; mjpeg_case(jpg422, jpg422_len); }
static void test_mjpeg_444(void **state) { (void)state; mjpeg_case(jpg444, jpg444_len); }


/* --- failures ------------------------------------------------------------------------------------ */
static void open_fails(const char *dev, const char *want) {
    run_ctx r;
    ctx_init(&r, 160, 90);
    char err[512] = "";
    assert_int_equal(open_cam(&r, dev, 160, 90, err, sizeof err), -1);
    assert_null(r.src);
    assert_string_equal(err, want);
    ctx_done(&r);
}

static void test_busy(void **state) {
    (void)state;
    fake_reset(V4L2_PIX_FMT_YUYV, yuyv, sizeof yuyv);
    F.open_errno = EBUSY;
    open_fails("", "the camera /dev/video0 is in use by another program");
    fake_reset(V4L2_PIX_FMT_YUYV, yuyv, sizeof yuyv);
    F.sfmt_errno = EBUSY;              /* V4L2 lets a second program open; it is refused at S_FMT */
    open_fails("/dev/video0", "the camera /dev/video0 is in use by another program");
}

static void test_missing(void **state) {
    (void)state;
    fake_reset(V4L2_PIX_FMT_YUYV, yuyv, sizeof yuyv);
    F.exists = 0;
    open_fails("", "no camera at /dev/video0 (this machine has no /dev/video* device)");
    fake_reset(V4L2_PIX_FMT_YUYV, yuyv, sizeof yuyv);
    open_fails("/dev/video5",
               "no camera at /dev/video5 (devices here: /dev/video0, /dev/video1; 'hushcall devices' lists the cameras)");
}

static void test_unsupported_format(void **state) {
    (void)state;
    fake_reset(v4l2_fourcc('Y', '1', '6', ' '), yuyv, sizeof yuyv);
    open_fails("", "the camera /dev/video0 offers no format hushcall can use: it offers GREY, Y16 "
                   "(hushcall needs YUYV or MJPG)");
}

static void test_not_capture(void **state) {
    (void)state;
    fake_reset(V4L2_PIX_FMT_YUYV, yuyv, sizeof yuyv);
    open_fails("/dev/video1", "/dev/video1 ('Fake Camera') is not a video capture device (a camera's second "
                              "/dev/video node carries only metadata; 'hushcall devices' lists the cameras)");
}

/* Starts, waits for on_error, then keeps the loop running a while: nothing more may arrive. */
static void fails_midway(run_ctx *r, const char *want_part) {
    char err[512] = "";
    if (r->src->ops->start(r->src, err, sizeof err)) fail_msg("start: %s", err);
    assert_true(run_until(r, got_error, 20));
    run_until(r, never, 0.3);
    assert_int_equal(r->errors, 1);
    assert_int_equal(r->frames_after_error, 0);
    printf("    on_error: %s (after %d pictures)\n", r->errmsg, r->frames);
    assert_non_null(strstr(r->errmsg, "the camera /dev/video0 "));
    assert_non_null(strstr(r->errmsg, want_part));
}

static void test_vanish(void **state) {
    (void)state;
    fake_reset(V4L2_PIX_FMT_YUYV, yuyv, sizeof yuyv);
    F.vanish_after = 5;
    run_ctx r;
    ctx_init(&r, 160, 90);
    char err[512] = "";
    assert_int_equal(open_cam(&r, "", 160, 90, err, sizeof err), 0);
    fails_midway(&r, "the camera /dev/video0 went away: it was unplugged or its driver stopped (No such device)");
    assert_true(r.frames >= 1 && r.frames <= 5);
    assert_true(r.min_psnr >= 50);
    int dq = F.dq;
    run_until(&r, never, 0.1);         /* the capture thread has ended: the device is not asked again */
    assert_int_equal(F.dq, dq);
    r.src->ops->stop(r.src);
    ctx_done(&r);
}

static void test_pollerr(void **state) {
    (void)state;
    fake_reset(V4L2_PIX_FMT_MJPEG, jpg420, jpg420_len);
    F.pollerr_after = 3;
    run_ctx r;
    ctx_init(&r, 160, 90);
    char err[512] = "";
    assert_int_equal(open_cam(&r, "", 160, 90, err, sizeof err), 0);
    fails_midway(&r, "the camera /dev/video0 went away: the device reports an error (unplugged?)");
    assert_true(r.frames <= 3);
    ctx_done(&r);                      /* close without stop: close stops */
}

static void test_eio(void **state) {
    (void)state;
    fake_reset(V4L2_PIX_FMT_YUYV, yuyv, sizeof yuyv);
    F.vanish_after = 4;
    F.vanish_errno = EIO;
    run_ctx r;
    ctx_init(&r, 160, 90);
    char err[512] = "";
    assert_int_equal(open_cam(&r, "", 160, 90, err, sizeof err), 0);
    fails_midway(&r, "the camera /dev/video0 went away: it stopped delivering pictures (Input/output error)");
    ctx_done(&r);
}

/* A driver that gives a size range: the request rounded up to its steps (160x96 for 160x90:
 * widths 48 + 16k, heights 32 + 8k). */
static void test_stepwise_size(void **state) {
    (void)state;
    static uint8_t buf[2 * 176 * 96];
    fake_reset(V4L2_PIX_FMT_YUYV, buf, sizeof buf);
    F.stepwise = 1;
    run_ctx r;
    ctx_init(&r, 160, 90);
    char err[512] = "";
    assert_int_equal(open_cam(&r, "", 160, 90, err, sizeof err), 0);
    assert_string_equal(r.src->desc, "camera /dev/video0 (YUYV 160x96 -> 160x90 @ 15 fps)");
    r.src->ops->close(r.src);
    r.src = NULL;
    ctx_done(&r);
}

/* The camera ignores the 15 fps asked for and runs at 30: every other picture is kept. */
static void test_rate_decimation(void **state) {
    (void)state;
    fake_reset(V4L2_PIX_FMT_YUYV, yuyv, sizeof yuyv);
    F.fixed_fps = 30;
    run_ctx r;
    ctx_init(&r, 160, 90);
    char err[512] = "";
    assert_int_equal(open_cam(&r, "", 160, 90, err, sizeof err), 0);
    assert_string_equal(r.src->desc, "camera /dev/video0 (YUYV 320x180 -> 160x90 @ 15 fps, the camera gives 30 fps)");
    capture_and_check(&r, 12, 50.0);
    /* after stop(), every converted picture was delivered or counted as dropped */
    uint64_t kept = r.src->frames + r.src->dropped;
    printf("    %d dequeued, %llu kept\n", F.dq, (unsigned long long)kept);
    assert_int_equal(kept, (uint64_t)(F.dq + 1) / 2);
    ctx_done(&r);
}

/* Buffers the driver claims are 1 GiB, or too small for the picture: start() refuses, nothing mapped. */
static void test_hostile_querybuf(void **state) {
    (void)state;
    uint32_t lens[2] = {1u << 30, 1000};
    for (int k = 0; k < 2; k++) {
        fake_reset(V4L2_PIX_FMT_YUYV, yuyv, sizeof yuyv);
        F.querybuf_len = lens[k];
        run_ctx r;
        ctx_init(&r, 160, 90);
        char err[512] = "";
        assert_int_equal(open_cam(&r, "", 160, 90, err, sizeof err), 0);
        assert_int_equal(r.src->ops->start(r.src, err, sizeof err), -1);
        char want[200];
        snprintf(want, sizeof want, "the camera /dev/video0 offers %u-byte buffers for 115200-byte pictures", lens[k]);
        assert_string_equal(err, want);
        assert_int_equal(F.mapped, 0);
        ctx_done(&r);
    }
}

/* The owner closes the source from inside on_error (the call goes on without video). */
static void test_close_in_on_error(void **state) {
    (void)state;
    fake_reset(V4L2_PIX_FMT_YUYV, yuyv, sizeof yuyv);
    F.vanish_after = 2;
    run_ctx r;
    ctx_init(&r, 160, 90);
    r.close_in_error = 1;
    char err[512] = "";
    assert_int_equal(open_cam(&r, "", 160, 90, err, sizeof err), 0);
    assert_int_equal(r.src->ops->start(r.src, err, sizeof err), 0);
    assert_true(run_until(&r, got_error, 20));
    assert_null(r.src);
    assert_int_equal(r.errors, 1);
    ctx_done(&r);
}

/* Every other buffer claims more bytes than it holds: refused and counted, the rest delivered. */
static void test_hostile_bytesused(void **state) {
    (void)state;
    fake_reset(V4L2_PIX_FMT_YUYV, yuyv, sizeof yuyv);
    F.hostile_every = 2;
    run_ctx r;
    ctx_init(&r, 160, 90);
    char err[512] = "";
    assert_int_equal(open_cam(&r, "", 160, 90, err, sizeof err), 0);
    capture_and_check(&r, 10, 50.0);
    uint64_t refused = hc_vsrc_camera_refused(r.src);
    assert_true(refused >= 9);
    assert_true(refused <= (uint64_t)F.dq / 2);
    ctx_done(&r);
}

/* Every other JPEG claims 8000x8000 (beyond HC_VIDEO_MAX_*); then a stream of bytes that are no JPEG. */
static void test_hostile_jpeg(void **state) {
    (void)state;
    static uint8_t junk[5000];
    for (size_t i = 0; i < sizeof junk; i++) junk[i] = (uint8_t)(i * 131 + 7);
    junk[0] = 0xff, junk[1] = 0xd8;    /* starts like a JPEG */
    const uint8_t *alts[2] = {jpg_huge, junk};
    size_t lens[2] = {jpg_huge_len, sizeof junk};
    for (int k = 0; k < 2; k++) {
        fake_reset(V4L2_PIX_FMT_MJPEG, jpg420, jpg420_len);
        F.alt = alts[k], F.alt_len = lens[k], F.alt_every = 2;
        run_ctx r;
        ctx_init(&r, 160, 90);
        char err[512] = "";
        assert_int_equal(open_cam(&r, "", 160, 90, err, sizeof err), 0);
        capture_and_check(&r, 10, 30.0);
        assert_true(hc_vsrc_camera_refused(r.src) >= 9);
        ctx_done(&r);
    }
}

/* A camera whose every picture is unusable (here greyscale JPEG) is reported, not silently dark. */
static void test_unusable_stream(void **state) {
    (void)state;
    tjhandle tj = tjInitCompress();
    assert_non_null(tj);
    unsigned char *gray = NULL;
    unsigned long glen = 0;
    const unsigned char *planes[3] = {pic.y, NULL, NULL};
    int strides[3] = {pic.stride_y, 0, 0};
    assert_int_equal(tjCompressFromYUVPlanes(tj, planes, PIC_W, strides, PIC_H, TJSAMP_GRAY, &gray, &glen, 90, 0), 0);
    tjDestroy(tj);
    fake_reset(V4L2_PIX_FMT_MJPEG, gray, glen);
    run_ctx r;
    ctx_init(&r, 160, 90);
    char err[512] = "";
    assert_int_equal(open_cam(&r, "", 160, 90, err, sizeof err), 0);
    fails_midway(&r, "the camera /dev/video0 sends nothing hushcall can use (greyscale JPEG)");
    assert_int_equal(r.frames, 0);
    assert_true(hc_vsrc_camera_refused(r.src) >= 60);
    ctx_done(&r);
    tjFree(gray);

    fake_reset(V4L2_PIX_FMT_YUYV, yuyv, sizeof yuyv);
    F.hostile_every = 1;
    ctx_init(&r, 160, 90);
    assert_int_equal(open_cam(&r, "", 160, 90, err, sizeof err), 0);
    fails_midway(&r, "the camera /dev/video0 sends nothing hushcall can use (a picture larger than its buffer)");
    assert_int_equal(r.frames, 0);
    ctx_done(&r);
}

static void test_fourcc(void **state) {
    (void)state;
    char b[8];
    assert_string_equal(hc_v4l2_fourcc_str(V4L2_PIX_FMT_YUYV, b), "YUYV");
    assert_string_equal(hc_v4l2_fourcc_str(V4L2_PIX_FMT_MJPEG, b), "MJPG");
    assert_string_equal(hc_v4l2_fourcc_str(v4l2_fourcc('Y', '1', '6', ' '), b), "Y16");
    assert_string_equal(hc_v4l2_fourcc_str(v4l2_fourcc_be('Y', '1', '6', ' '), b), "Y16-BE");
    assert_string_equal(hc_v4l2_fourcc_str(0x01020304, b), "????");
}

/* --- the listing --------------------------------------------------------------------------------- */
static char *list_cameras(void) {
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    assert_non_null(m);
    char err[256] = "";
    assert_int_equal(hc_camera_list(m, err, sizeof err), 0);
    fclose(m);
    assert_int_equal(F.open_fds, 0);   /* every node it opened is closed again */
    return buf;
}

static void test_list(void **state) {
    (void)state;
    fake_reset(V4L2_PIX_FMT_YUYV, yuyv, sizeof yuyv);
    F.formats[2] = V4L2_PIX_FMT_MJPEG;
    F.nformats = 3;
    char *out = list_cameras();
    printf("%s", out);
    /* the camera with its usable formats; the metadata node (/dev/video1) is not a camera */
    assert_string_equal(out, "cameras:\n"
                             "  /dev/video0   Fake Camera (YUYV, MJPG)\n"
                             "select with --video-in camera:/dev/videoN (--video-in camera is /dev/video0)\n");
    free(out);

    fake_reset(v4l2_fourcc('Y', '1', '6', ' '), yuyv, sizeof yuyv);
    out = list_cameras();
    assert_non_null(strstr(out, "/dev/video0   Fake Camera (offers GREY, Y16: none hushcall can use"));
    free(out);

    fake_reset(V4L2_PIX_FMT_YUYV, yuyv, sizeof yuyv);
    F.exists = 0;
    out = list_cameras();
    assert_string_equal(out, "no cameras (no /dev/video* capture device)\n");
    free(out);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_yuyv),
        cmocka_unit_test(test_yuyv_driver_size),
        cmocka_unit_test(test_mjpeg_420),
        cmocka_unit_test(test_mjpeg_422),
        cmocka_unit_test(test_mjpeg_444),
        cmocka_unit_test(test_busy),
        cmocka_unit_test(test_missing),
        cmocka_unit_test(test_unsupported_format),
        cmocka_unit_test(test_not_capture),
        cmocka_unit_test(test_vanish),
        cmocka_unit_test(test_pollerr),
        cmocka_unit_test(test_eio),
        cmocka_unit_test(test_stepwise_size),
        cmocka_unit_test(test_rate_decimation),
        cmocka_unit_test(test_hostile_querybuf),
        cmocka_unit_test(test_close_in_on_error),
        cmocka_unit_test(test_hostile_bytesused),
        cmocka_unit_test(test_hostile_jpeg),
        cmocka_unit_test(test_unusable_stream),
        cmocka_unit_test(test_fourcc),
        cmocka_unit_test(test_list),
    };
    return cmocka_run_group_tests(tests, setup_all, teardown_all);
}
