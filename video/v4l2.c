/* The V4L2 seam (real system calls by default), device queries, and the camera listing. */
#include "video/v4l2.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/videodev2.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

/* --- the seam ------------------------------------------------------------------------------------ */
static int real_open(const char *path, int flags) { return open(path, flags); }
static int real_close(int fd) { return close(fd); }
static int real_ioctl(int fd, unsigned long request, void *arg) { return ioctl(fd, request, arg); }
static void *real_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t offset) {
    return mmap(addr, len, prot, flags, fd, offset);
}
static int real_munmap(void *addr, size_t len) { return munmap(addr, len); }
static int real_poll(struct pollfd *fds, nfds_t nfds, int timeout_ms) { return poll(fds, nfds, timeout_ms); }

static const hc_v4l2_io real_io = {real_open, real_close, real_ioctl, real_mmap, real_munmap, real_poll};
static const hc_v4l2_io *cur_io = &real_io;

const hc_v4l2_io *hc_v4l2_io_get(void) { return cur_io; }
void hc_v4l2_io_set(const hc_v4l2_io *io) { cur_io = io ? io : &real_io; }

/* --- queries ------------------------------------------------------------------------------------- */
int hc_v4l2_xioctl(int fd, unsigned long request, void *arg) {
    int r;
    do r = cur_io->ioctl(fd, request, arg);
    while (r < 0 && errno == EINTR);
    return r;
}

const char *hc_v4l2_fourcc_str(uint32_t fourcc, char *buf) {
    int be = (fourcc & (1u << 31)) != 0;     /* v4l2_fourcc_be: the top bit marks big-endian */
    fourcc &= ~(1u << 31);
    int n = 0;
    for (int i = 0; i < 4; i++) {
        unsigned char c = (unsigned char)(fourcc >> (8 * i));
        buf[n++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    while (n > 0 && buf[n - 1] == ' ') n--;
    strcpy(buf + n, be ? "-BE" : "");
    return buf;
}

/* Copies a driver's fixed-size, maybe unterminated string. */
static void copy_name(char *dst, size_t cap, const uint8_t *src, size_t srclen) {
    size_t n = 0;
    while (n < srclen && n + 1 < cap && src[n]) {
        dst[n] = (src[n] >= 0x20 && src[n] < 0x7f) ? (char)src[n] : '?';
        n++;
    }
    dst[n] = 0;
}

int hc_v4l2_query(int fd, hc_v4l2_info *info) {
    memset(info, 0, sizeof *info);
    struct v4l2_capability cap;
    memset(&cap, 0, sizeof cap);
    if (hc_v4l2_xioctl(fd, VIDIOC_QUERYCAP, &cap) < 0) return -1;
    copy_name(info->card, sizeof info->card, cap.card, sizeof cap.card);
    copy_name(info->driver, sizeof info->driver, cap.driver, sizeof cap.driver);
    /* capabilities covers the whole physical device; device_caps this node (a UVC camera's second
     * node is metadata only, with the same "capabilities"). */
    info->caps = (cap.capabilities & V4L2_CAP_DEVICE_CAPS) ? cap.device_caps : cap.capabilities;
    info->capture = (info->caps & V4L2_CAP_VIDEO_CAPTURE) && (info->caps & V4L2_CAP_STREAMING);
    if (!info->capture) return 0;
    for (uint32_t i = 0; i < 64 && info->nformats < HC_V4L2_MAX_FORMATS; i++) {
        struct v4l2_fmtdesc d;
        memset(&d, 0, sizeof d);
        d.index = i;
        d.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
        if (hc_v4l2_xioctl(fd, VIDIOC_ENUM_FMT, &d) < 0) break;
        info->formats[info->nformats++] = d.pixelformat;
    }
    return 0;
}

static int offers(const hc_v4l2_info *info, uint32_t f) {
    for (int i = 0; i < info->nformats; i++)
        if (info->formats[i] == f) return 1;
    return 0;
}

uint32_t hc_v4l2_pick_format(const hc_v4l2_info *info) {
    /* YUYV first: no decoding, and the size a call needs is small. Then Motion-JPEG. */
    static const uint32_t pref[] = {V4L2_PIX_FMT_YUYV, V4L2_PIX_FMT_MJPEG, V4L2_PIX_FMT_JPEG};
    for (size_t i = 0; i < sizeof pref / sizeof pref[0]; i++)
        if (offers(info, pref[i])) return pref[i];
    return 0;
}

/* --- the listing --------------------------------------------------------------------------------- */
int hc_camera_list(FILE *out, char *err, size_t errlen) {
    int found = 0, other = 0;
    for (int i = 0; i < 64; i++) {
        char path[32];
        snprintf(path, sizeof path, "/dev/video%d", i);
        int fd = cur_io->open(path, O_RDWR | O_NONBLOCK);
        if (fd < 0) {
            if (errno == ENOENT || errno == ENODEV || errno == ENXIO) continue;
            fprintf(out, "%-13s cannot open it: %s\n", path, errno == EACCES ? "permission denied (are you in "
                                                                              "the 'video' group?)" : strerror(errno));
            found++;
            continue;
        }
        hc_v4l2_info info;
        int r = hc_v4l2_query(fd, &info);
        cur_io->close(fd);
        if (r < 0 || !info.capture) {       /* not a camera: metadata nodes, codecs, radio */
            other++;
            continue;
        }
        if (!found) fprintf(out, "cameras:\n");
        found++;
        char usable[64] = "", all[256] = "";
        size_t ou = 0, oa = 0;
        for (int k = 0; k < info.nformats; k++) {
            char fc[8];
            hc_v4l2_fourcc_str(info.formats[k], fc);
            uint32_t f = info.formats[k];
            int ok = f == V4L2_PIX_FMT_YUYV || f == V4L2_PIX_FMT_MJPEG || f == V4L2_PIX_FMT_JPEG;
            if (ok && ou < sizeof usable) {
                int n = snprintf(usable + ou, sizeof usable - ou, "%s%s", ou ? ", " : "", fc);
                if (n > 0) ou += (size_t)n;
            }
            if (oa < sizeof all) {
                int n = snprintf(all + oa, sizeof all - oa, "%s%s", oa ? ", " : "", fc);
                if (n > 0) oa += (size_t)n;
            }
        }
        if (ou)
            fprintf(out, "  %-13s %s (%s)\n", path, info.card, usable);
        else
            fprintf(out, "  %-13s %s (offers %s: none hushcall can use, it needs YUYV or MJPG)\n", path, info.card,
                    oa ? all : "no formats");
    }
    if (!found)
        fprintf(out, "no cameras (no /dev/video* capture device%s)\n",
                other ? "; the /dev/video* nodes here cannot capture video" : "");
    else
        fprintf(out, "select with --video-in camera:/dev/videoN (--video-in camera is /dev/video0)\n");
    if (ferror(out)) {
        snprintf(err, errlen, "cannot write the camera list: %s", strerror(errno));
        return -1;
    }
    return 0;
}
