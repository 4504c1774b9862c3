/* YUV4MPEG2 files (C420 variants only): a reader for y4m: sources and a writer for --video-out,
 * so a headless participant's pictures can be checked frame by frame (tests, benchmarks) or
 * watched with any player. */
#ifndef HC_VIDEO_Y4M_H
#define HC_VIDEO_Y4M_H

#include <stddef.h>
#include <stdio.h>

#include "video/frame.h"

typedef struct {
    FILE *f;
    int w, h;
    int fps_num, fps_den;      /* the F tag; 15/1 when it is missing or unusable (informational:
                                * a y4m source is paced at the call's rate) */
    long data_start;           /* offset of the first FRAME, for looping */
    uint64_t frames_read;
} hc_y4m_reader;

/* Opens and checks the header. 0, or -1 with a reason. */
int hc_y4m_reader_open(hc_y4m_reader *r, const char *path, char *err, size_t errlen);
/* Reads the next picture into f (which owns planes of the file's size). 1 read, 0 end of file,
 * -1 a damaged file (reason in err). */
int hc_y4m_reader_next(hc_y4m_reader *r, hc_video_frame *f, char *err, size_t errlen);
/* Back to the first picture. */
int hc_y4m_reader_rewind(hc_y4m_reader *r);
void hc_y4m_reader_close(hc_y4m_reader *r);

typedef struct {
    FILE *f;
    int w, h, fps;             /* fixed by the first picture written; later sizes are scaled to it */
    hc_video_frame scaled;     /* the scaling buffer (allocated once) */
    uint64_t frames_written;
    char path[256];
} hc_y4m_writer;

/* Creates the file; nothing is written until the first picture. fps <= 0 writes the default
 * 15/1. 0, or -1 with a reason. */
int hc_y4m_writer_open(hc_y4m_writer *w, const char *path, int fps, char *err, size_t errlen);
int hc_y4m_writer_put(hc_y4m_writer *w, const hc_video_frame *f);
void hc_y4m_writer_close(hc_y4m_writer *w);

#endif
