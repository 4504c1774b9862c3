/* YUV4MPEG2 reading and writing (see y4m.h). */
#include "video/y4m.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Reads one header line (up to '\n') into buf: its length, -1 when longer than the buffer, -2 at
 * a clean end of file, -3 when the file ends inside the line (truncated). */
static int read_line(FILE *f, char *buf, size_t cap)
{
    size_t n = 0;
    int c;
    while ((c = fgetc(f)) != EOF) {
        if (c == '\n') { buf[n] = 0; return (int)n; }
        if (n + 1 >= cap) return -1;
        buf[n++] = (char)c;
    }
    return n ? -3 : -2;
}

/* A header number: decimal digits only, the whole token, within [lo, hi]. atoi/sscanf("%d") were
 * used before: "W160x" was read as 160, and a number too large for an int is undefined behaviour
 * in both, on bytes from an untrusted file. 0, or -1. */
static int parse_num(const char *s, const char *end, long lo, long hi, int *out)
{
    if (s == end) return -1;
    long v = 0;
    int neg = 0;
    if (*s == '-') { neg = 1; s++; }
    if (s == end) return -1;
    for (; s < end; s++) {
        if (*s < '0' || *s > '9') return -1;
        if (v > 100000000L) return -1;            /* far beyond any limit: stop before overflowing */
        v = v * 10 + (*s - '0');
    }
    if (neg) v = -v;
    if (v < lo || v > hi) return -1;
    *out = (int)v;
    return 0;
}

int hc_y4m_reader_open(hc_y4m_reader *r, const char *path, char *err, size_t errlen)
{
    memset(r, 0, sizeof *r);
    r->f = fopen(path, "rb");
    if (!r->f) { snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno)); return -1; }
    char line[512];
    if (read_line(r->f, line, sizeof line) < 0 || strncmp(line, "YUV4MPEG2 ", 10)) {
        snprintf(err, errlen, "%s is not a YUV4MPEG2 (.y4m) file", path);
        goto fail;
    }
    r->fps_num = 15;
    r->fps_den = 1;
    int have_w = 0, have_h = 0;
    for (char *tok = strtok(line + 10, " "); tok; tok = strtok(NULL, " ")) {
        const char *end = tok + strlen(tok);
        switch (tok[0]) {
        case 'W':
        case 'H': {
            /* parsed strictly and range-checked here, so the size check below sees real numbers */
            int v;
            if (parse_num(tok + 1, end, -100000, 100000, &v) < 0) {
                snprintf(err, errlen, "%s: the %s tag '%.40s' is not a number", path, tok[0] == 'W' ? "width (W)" : "height (H)",
                         tok);
                goto fail;
            }
            if (tok[0] == 'W') r->w = v, have_w = 1;
            else r->h = v, have_h = 1;
            break;
        }
        case 'F': {
            /* The file's rate is informational (a y4m source is paced at the call's fps), so a
             * missing or unusable F tag falls back to 15/1 instead of refusing the file; it is
             * still parsed strictly, never leaving a zero or negative rate for a consumer. */
            const char *colon = strchr(tok + 1, ':');
            int num, den;
            if (colon && parse_num(tok + 1, colon, 1, 1000000, &num) == 0 && parse_num(colon + 1, end, 1, 1000000, &den) == 0)
                r->fps_num = num, r->fps_den = den;
            break;
        }
        case 'C':
            if (strcmp(tok, "C420") && strcmp(tok, "C420jpeg") && strcmp(tok, "C420paldv") && strcmp(tok, "C420mpeg2")) {
                snprintf(err, errlen, "%s: colour space %.40s is not supported (use 4:2:0, e.g. C420jpeg)", path, tok + 1);
                goto fail;
            }
            break;
        default: break;
        }
    }
    if (!have_w || !have_h) {
        snprintf(err, errlen, "%s: the header has no %s tag", path, !have_w ? "width (W)" : "height (H)");
        goto fail;
    }
    if (r->w < 2 || r->h < 2 || r->w > HC_VIDEO_MAX_W || r->h > HC_VIDEO_MAX_H || (r->w & 1) || (r->h & 1)) {
        snprintf(err, errlen, "%s: picture size %dx%d is not usable (even sizes up to %dx%d)", path, r->w, r->h,
                 HC_VIDEO_MAX_W, HC_VIDEO_MAX_H);
        goto fail;
    }
    r->data_start = ftell(r->f);
    return 0;
fail:
    fclose(r->f);
    r->f = NULL;
    return -1;
}

int hc_y4m_reader_next(hc_y4m_reader *r, hc_video_frame *f, char *err, size_t errlen)
{
    char line[256];
    int n = read_line(r->f, line, sizeof line);
    if (n == -2) return 0;
    if (n == -3) {   /* the file ends inside a FRAME line: cut off, not merely damaged */
        snprintf(err, errlen, "y4m: the file is truncated: it ends inside the FRAME line of picture %llu",
                 (unsigned long long)r->frames_read + 1);
        return -1;
    }
    /* "FRAME" alone or followed by parameters; "FRAMEX" is not a frame header */
    if (n < 0 || strncmp(line, "FRAME", 5) || (line[5] && line[5] != ' ')) {
        snprintf(err, errlen, "damaged y4m file (no FRAME header before picture %llu)", (unsigned long long)r->frames_read + 1);
        return -1;
    }
    if (f->w != r->w || f->h != r->h) { snprintf(err, errlen, "y4m: picture of the wrong size"); return -1; }
    for (int y = 0; y < r->h; y++)
        if (fread(f->y + (size_t)y * (size_t)f->stride_y, 1, (size_t)r->w, r->f) != (size_t)r->w) goto cut;
    for (int p = 0; p < 2; p++) {
        uint8_t *base = p ? f->v : f->u;
        int stride = p ? f->stride_v : f->stride_u;
        for (int y = 0; y < r->h / 2; y++)
            if (fread(base + (size_t)y * (size_t)stride, 1, (size_t)r->w / 2, r->f) != (size_t)r->w / 2) goto cut;
    }
    r->frames_read++;
    return 1;
cut:
    /* the file ends inside a picture: say so, and which one, so the reason is clear in a log */
    snprintf(err, errlen, "y4m: the file is truncated: picture %llu is shorter than %dx%d I420",
             (unsigned long long)r->frames_read + 1, r->w, r->h);
    return -1;
}

int hc_y4m_reader_rewind(hc_y4m_reader *r) { return fseek(r->f, r->data_start, SEEK_SET); }

void hc_y4m_reader_close(hc_y4m_reader *r)
{
    if (r->f) fclose(r->f);
    r->f = NULL;
}

int hc_y4m_writer_open(hc_y4m_writer *w, const char *path, int fps, char *err, size_t errlen)
{
    memset(w, 0, sizeof *w);
    snprintf(w->path, sizeof w->path, "%s", path);
    w->fps = fps > 0 ? fps : 15;
    w->f = fopen(path, "wb");
    if (!w->f) { snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno)); return -1; }
    return 0;
}

static int put_plane(FILE *f, const uint8_t *p, int stride, int w, int h)
{
    for (int y = 0; y < h; y++)
        if (fwrite(p + (size_t)y * (size_t)stride, 1, (size_t)w, f) != (size_t)w) return -1;
    return 0;
}

int hc_y4m_writer_put(hc_y4m_writer *w, const hc_video_frame *f)
{
    if (!w->f) return -1;
    if (!w->w) {
        w->w = f->w;
        w->h = f->h;
        fprintf(w->f, "YUV4MPEG2 W%d H%d F%d:1 Ip A1:1 C420jpeg\n", w->w, w->h, w->fps);
    }
    const hc_video_frame *src = f;
    if (f->w != w->w || f->h != w->h) {   /* the sender changed size: keep the file's */
        if (!w->scaled.owned && hc_video_frame_alloc(&w->scaled, w->w, w->h) < 0) return -1;
        hc_video_frame_copy_scaled(&w->scaled, f);
        src = &w->scaled;
    }
    if (fputs("FRAME\n", w->f) < 0 || put_plane(w->f, src->y, src->stride_y, w->w, w->h) ||
        put_plane(w->f, src->u, src->stride_u, w->w / 2, w->h / 2) ||
        put_plane(w->f, src->v, src->stride_v, w->w / 2, w->h / 2))
        return -1;
    fflush(w->f);
    w->frames_written++;
    return 0;
}

void hc_y4m_writer_close(hc_y4m_writer *w)
{
    if (w->f) fclose(w->f);
    w->f = NULL;
    hc_video_frame_free(&w->scaled);
}
