/* V4L2 cameras: the seam every device call goes through, the camera listing, and what the
 * camera source (src_camera.c, hc_vsrc_camera_open in source.h) exposes beyond the common vtable.
 *
 * Why a seam: the machines hushcall is built and tested on have no /dev/video* and cannot load
 * v4l2loopback, so the capture code is exercised against a fake device that implements these
 * six calls in memory (tests/test_video_camera.c). The default is the real system calls. */
#ifndef HC_VIDEO_V4L2_H
#define HC_VIDEO_V4L2_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "video/source.h"

/* The device calls, with the system calls' conventions (-1 and errno on failure). ioctl is
 * retried on EINTR by the caller, not here. */
typedef struct {
    int (*open)(const char *path, int flags);
    int (*close)(int fd);
    int (*ioctl)(int fd, unsigned long request, void *arg);
    void *(*mmap)(void *addr, size_t len, int prot, int flags, int fd, off_t offset);
    int (*munmap)(void *addr, size_t len);
    int (*poll)(struct pollfd *fds, nfds_t nfds, int timeout_ms);
} hc_v4l2_io;

/* The calls in use: the real ones unless a test set others. */
const hc_v4l2_io *hc_v4l2_io_get(void);
/* Replaces the calls (NULL restores the real ones). Not thread-safe: set it before opening any
 * camera, and do not change it while one is open (the capture thread reads it). */
void hc_v4l2_io_set(const hc_v4l2_io *io);

/* "YUYV", "MJPG", "Y16 " -> "Y16" (trailing blanks dropped, unprintable bytes as '?', "-BE" for
 * big-endian variants). buf holds at least 8 bytes. */
const char *hc_v4l2_fourcc_str(uint32_t fourcc, char *buf);

/* Prints every V4L2 capture device among /dev/video0..63: its path, card name, and the formats it
 * offers that hushcall can use (YUYV, MJPEG), or "no cameras (...)". 0, or -1 with a reason in err
 * (only for a failure to write; finding no camera is not an error). */
int hc_camera_list(FILE *out, char *err, size_t errlen);

/* Pictures the camera delivered that were refused (bytesused beyond the buffer or short of a
 * picture, a JPEG that does not decode, claims a size beyond the negotiated one or uses a chroma
 * subsampling hushcall does not convert, a buffer flagged as an error by the driver). Readable
 * on the loop thread. 0 for a source that is not a camera. */
uint64_t hc_vsrc_camera_refused(const hc_video_source *s);

/* --- shared by v4l2.c and src_camera.c ---------------------------------------------------------- */
#define HC_V4L2_MAX_FORMATS 32

/* What VIDIOC_QUERYCAP and VIDIOC_ENUM_FMT say about an open device. */
typedef struct {
    char card[64];
    char driver[20];
    uint32_t caps;                 /* the node's capabilities (device_caps when the driver has them) */
    int capture;                   /* single-planar video capture with streaming I/O */
    int nformats;
    uint32_t formats[HC_V4L2_MAX_FORMATS];
} hc_v4l2_info;

/* ioctl through the seam, retried on EINTR. */
int hc_v4l2_xioctl(int fd, unsigned long request, void *arg);
/* QUERYCAP, then (for a capture node) ENUM_FMT. 0, or -1 with errno from QUERYCAP. */
int hc_v4l2_query(int fd, hc_v4l2_info *info);
/* The format hushcall uses among those offered: YUYV, else MJPEG, else JPEG; 0 for none. */
uint32_t hc_v4l2_pick_format(const hc_v4l2_info *info);

#endif
