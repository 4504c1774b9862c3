/* Opening the video source a spec names, and the paced (pattern, file) sources. */
#include "video/source.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audio/pacer.h"
#include "video/pattern.h"
#include "video/y4m.h"

void hc_video_source_base_init(hc_video_source *s, const hc_video_source_ops *ops, uv_loop_t *loop,
                               const hc_video_source_params *p, hc_video_frame_fn fn, hc_video_error_fn efn, void *ctx)
{
    memset(s, 0, sizeof *s);
    s->ops = ops;
    s->loop = loop;
    s->vclock = p->vclock;
    s->w = p->w;
    s->h = p->h;
    s->fps = p->fps;
    s->on_frame = fn;
    s->on_error = efn;
    s->ctx = ctx;
}

int hc_video_source_open(hc_video_source **out, const hc_video_spec *spec, uv_loop_t *loop,
                         const hc_video_source_params *p, hc_video_frame_fn fn, hc_video_error_fn efn, void *ctx,
                         char *err, size_t errlen)
{
    *out = NULL;
    switch (spec->kind) {
    case HC_VIDEO_PATTERN: return hc_vsrc_pattern_open(out, loop, p, fn, efn, ctx, err, errlen);
    case HC_VIDEO_Y4M: return hc_vsrc_y4m_open(out, loop, p, spec->path, fn, efn, ctx, err, errlen);
    case HC_VIDEO_CAMERA: return hc_vsrc_camera_open(out, loop, p, spec->path, fn, efn, ctx, err, errlen);
    case HC_VIDEO_NONE: break;
    }
    snprintf(err, errlen, "no video source (use --video-in pattern, y4m:FILE or camera)");
    return -1;
}

/* ---- paced sources: one picture per 1/fps on the loop's (or a simulated) clock ---- */

typedef struct {
    hc_video_source base;
    hc_pacer *pacer;
    hc_video_frame frame;         /* the picture handed out, allocated once */
    uint32_t seq;
    /* y4m */
    hc_y4m_reader rd;
    hc_video_frame file;          /* the file's picture before scaling */
    int is_file;
    char failed[200];             /* why the file stopped (empty: it did not) */
} paced_src;

static uint32_t capture_ms_now(const paced_src *s)
{
    if (s->base.vclock) return (uint32_t)(hc_vclock_now(s->base.vclock) / 1000000u);
    return hc_video_clock_ms();
}

static void paced_tick(void *ctx, uint64_t now_ns)
{
    paced_src *s = ctx;
    (void)now_ns;
    uint32_t t = capture_ms_now(s);
    if (s->is_file) {
        char err[200];
        int r = hc_y4m_reader_next(&s->rd, &s->file, err, sizeof err);
        if (r == 0 && hc_y4m_reader_rewind(&s->rd) == 0) r = hc_y4m_reader_next(&s->rd, &s->file, err, sizeof err);
        if (r <= 0) {
            snprintf(s->failed, sizeof s->failed, "%s", r < 0 ? err : "the video file has no pictures");
            hc_pacer_stop(s->pacer);
            s->pacer = NULL;
            if (s->base.on_error) s->base.on_error(s->base.ctx, s->failed);
            return;
        }
        s->file.seq = s->seq;
        s->file.capture_ms = t;
        hc_video_frame_copy_scaled(&s->frame, &s->file);
    } else {
        hc_pattern_draw(&s->frame, s->seq, t);
    }
    s->frame.seq = s->seq++;
    s->frame.capture_ms = t;
    s->base.frames++;
    s->base.on_frame(s->base.ctx, &s->frame);
}

static int paced_start(hc_video_source *b, char *err, size_t errlen)
{
    paced_src *s = (paced_src *)b;
    if (s->pacer) return 0;
    /* A file that failed stays failed: started again it would replay up to the damage and report
     * it a second time, and source.h promises on_error once. Open it again to retry. */
    if (s->failed[0]) { snprintf(err, errlen, "%s", s->failed); return -1; }
    s->pacer = hc_pacer_start(b->loop, b->vclock, 1000000000ull / (uint64_t)b->fps, paced_tick, s);
    if (!s->pacer) { snprintf(err, errlen, "cannot start the video timer"); return -1; }
    return 0;
}

static void paced_stop(hc_video_source *b)
{
    paced_src *s = (paced_src *)b;
    if (s->pacer) hc_pacer_stop(s->pacer);
    s->pacer = NULL;
}

static void paced_close(hc_video_source *b)
{
    paced_src *s = (paced_src *)b;
    paced_stop(b);
    hc_video_frame_free(&s->frame);
    hc_video_frame_free(&s->file);
    if (s->is_file) hc_y4m_reader_close(&s->rd);
    free(s);
}

static const hc_video_source_ops pattern_ops = {"pattern", paced_start, paced_stop, paced_close};
static const hc_video_source_ops y4m_ops = {"y4m", paced_start, paced_stop, paced_close};

static paced_src *paced_new(const hc_video_source_ops *ops, uv_loop_t *loop, const hc_video_source_params *p,
                            hc_video_frame_fn fn, hc_video_error_fn efn, void *ctx, char *err, size_t errlen)
{
    if (p->fps < 1 || p->fps > 60) { snprintf(err, errlen, "video: %d fps is out of range (1..60)", p->fps); return NULL; }
    paced_src *s = calloc(1, sizeof *s);
    if (!s) { snprintf(err, errlen, "out of memory"); return NULL; }
    hc_video_source_base_init(&s->base, ops, loop, p, fn, efn, ctx);
    if (hc_video_frame_alloc(&s->frame, p->w, p->h) < 0) {
        snprintf(err, errlen, "video: cannot use the size %dx%d", p->w, p->h);
        free(s);
        return NULL;
    }
    return s;
}

int hc_vsrc_pattern_open(hc_video_source **out, uv_loop_t *loop, const hc_video_source_params *p,
                         hc_video_frame_fn fn, hc_video_error_fn efn, void *ctx, char *err, size_t errlen)
{
    paced_src *s = paced_new(&pattern_ops, loop, p, fn, efn, ctx, err, errlen);
    if (!s) return -1;
    snprintf(s->base.desc, sizeof s->base.desc, "pattern %dx%d @ %d fps", p->w, p->h, p->fps);
    *out = &s->base;
    return 0;
}

int hc_vsrc_y4m_open(hc_video_source **out, uv_loop_t *loop, const hc_video_source_params *p, const char *path,
                     hc_video_frame_fn fn, hc_video_error_fn efn, void *ctx, char *err, size_t errlen)
{
    paced_src *s = paced_new(&y4m_ops, loop, p, fn, efn, ctx, err, errlen);
    if (!s) return -1;
    s->is_file = 1;
    if (hc_y4m_reader_open(&s->rd, path, err, errlen) < 0 || hc_video_frame_alloc(&s->file, s->rd.w, s->rd.h) < 0) {
        hc_y4m_reader_close(&s->rd);
        hc_video_frame_free(&s->frame);
        free(s);
        return -1;
    }
    snprintf(s->base.desc, sizeof s->base.desc, "file %.200s (%dx%d, looped) -> %dx%d @ %d fps", path, s->rd.w, s->rd.h,
             p->w, p->h, p->fps);
    *out = &s->base;
    return 0;
}
