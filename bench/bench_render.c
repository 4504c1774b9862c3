/* bench_render: pictures to terminal cells (ui/picture.h), libchafa against half-blocks, by
 * measurement. Nothing is asserted: figures and ratios for people; ui/picture.c's default
 * renderer and the figures behind it come from here.
 *
 * Clips (NFRAMES frames each, 4 s at 15 fps): "pattern" (hc_pattern_draw, the built-in moving
 * test picture) and "camera-like" (the same plus fresh sensor noise per frame, hc_pattern_noise),
 * at 160x90 (what a call sends by default) and 320x180. Boxes: 80x24, 120x40, 200x60 cells.
 * Per renderer, mode and box:
 *   - PSNR: each frame's cells re-rasterised at 8 x 16 pixels per cell (glyph coverage mixing fg
 *     over bg, hc_picture_psnr) against the source frame scaled to the same pixels, over R, G, B;
 *   - CPU per frame: this thread's CPU time around hc_picture_render (chafa is set to render on
 *     the calling thread, and the process CPU time is printed beside it to show no other thread
 *     worked), p50 and p99;
 *   - bytes per frame a terminal would be sent, only changed cells written against the previous
 *     frame (the first frame: every cell): per changed cell its glyph's bytes, an SGR for the
 *     colours that differ from the last ones sent (fg and bg in one sequence when both do; a space
 *     needs no fg, a full block no bg) and a cursor move (CSI row;col H) when it does not follow
 *     the last cell written; SGR state unknown at the start of each frame (other parts of the
 *     screen are painted in between);
 *   - heap allocations per frame, counted by this program's own malloc/calloc/realloc (they wrap
 *     glibc's __libc_* functions). ui/picture.c's own state allocates nothing at a fixed size;
 *     what is counted is libyuv's (its filtering scaler takes one row buffer per plane per call,
 *     so 3 when the picture is scaled, 0 when it is already the renderer's size) and chafa's. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/bench_util.h"
#include "ui/picture.h"
#include "video/pattern.h"

#define NFRAMES 60
#define FPS 15
#define CELL_W 8
#define CELL_H 16

/* ---- allocation counter ---------------------------------------------------------------------
 * glibc's allocator under its internal names; every allocation in the process passes here. */
extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t m);
extern void *__libc_realloc(void *p, size_t n);
static unsigned long n_allocs;

void *malloc(size_t n)
{
    n_allocs++;
    return __libc_malloc(n);
}

void *calloc(size_t n, size_t m)
{
    n_allocs++;
    return __libc_calloc(n, m);
}

void *realloc(void *p, size_t n)
{
    n_allocs++;
    return __libc_realloc(p, n);
}

static double process_cpu_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec * 1e-6;
}

/* ---- bytes a terminal is sent ------------------------------------------------------------ */

static int digits(int v)
{
    return v >= 100 ? 3 : v >= 10 ? 2 : 1;
}

static int same_color(hc_color a, hc_color b)
{
    return a.kind == b.kind && !memcmp(a.v, b.v, 3);
}

/* The parameters of one colour in an SGR sequence, without ESC [ and m: "38;5;N", "38;2;R;G;B",
 * "3N"/"9N" (16 colours), or nothing (no colour). bg: +10. */
static int sgr_len(hc_color c, hc_pic_mode mode)
{
    switch (c.kind) {
    case HC_COLOR_256:
        if (mode == HC_PIC_16) return 2;          /* 31 or 91; bg 41 or 101 (one more, below) */
        return 5 + digits(c.v[0]);
    case HC_COLOR_RGB: return 7 + digits(c.v[0]) + digits(c.v[1]) + digits(c.v[2]);
    default: return 0;
    }
}

static size_t frame_bytes(const hc_pic_cell *prev, const hc_pic_cell *cur, int w, int h, hc_pic_mode mode,
                          int *changed)
{
    size_t bytes = 0;
    int last_x = -1, last_y = -1, have_fg = 0, have_bg = 0;
    hc_color fg = {0}, bg = {0};
    *changed = 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            const hc_pic_cell *c = &cur[y * w + x];
            if (prev) {
                const hc_pic_cell *p = &prev[y * w + x];
                if (!strcmp(p->ch, c->ch) && same_color(p->fg, c->fg) && same_color(p->bg, c->bg)) continue;
            }
            (*changed)++;
            if (!(y == last_y && x == last_x + 1)) bytes += 4 + (size_t)digits(y + 1) + (size_t)digits(x + 1);
            int need_fg = strcmp(c->ch, " ") != 0, need_bg = strcmp(c->ch, "\xE2\x96\x88") != 0;
            int set_fg = need_fg && c->fg.kind && (!have_fg || !same_color(fg, c->fg));
            int set_bg = need_bg && c->bg.kind && (!have_bg || !same_color(bg, c->bg));
            if (set_fg || set_bg) {
                bytes += 3;                                          /* ESC [ ... m */
                if (set_fg) bytes += (size_t)sgr_len(c->fg, mode);
                if (set_bg) bytes += (size_t)sgr_len(c->bg, mode) + (c->bg.kind == HC_COLOR_256 && mode == HC_PIC_16 && c->bg.v[0] >= 8);
                if (set_fg && set_bg) bytes += 1;                    /* ; */
            }
            if (set_fg) fg = c->fg, have_fg = 1;
            if (set_bg) bg = c->bg, have_bg = 1;
            bytes += strlen(c->ch);
            last_x = x, last_y = y;
        }
    return bytes;
}

/* ---- runs -------------------------------------------------------------------------------- */

typedef struct {
    double psnr, cpu_p50, cpu_p99, cpu_mean, proc_ratio, bytes_first, bytes_mean, changed_pct, allocs;
} result;

static int run(hc_pic_opts o, int sw, int sh, int camera, int w, int h, result *res)
{
    hc_video_frame src;
    if (hc_video_frame_alloc(&src, sw, sh) < 0) return -1;
    hc_picture *p = hc_picture_new(&o);
    size_t ncell = (size_t)w * (size_t)h;
    hc_pic_cell *prev = malloc(ncell * sizeof *prev);
    static double cpu[NFRAMES];
    double psnr_sum = 0, bytes_sum = 0, thread_sum = 0, proc_sum = 0, changed_sum = 0, allocs_sum = 0;
    uint32_t lcg = 12345;
    int ok = p && prev;
    memset(res, 0, sizeof *res);
    /* one frame first, to size the state: the figures are per frame at a fixed size */
    hc_pattern_draw(&src, 0, 0);
    if (ok && !hc_picture_render(p, &src, w, h)) ok = 0;
    for (int i = 0; i < NFRAMES && ok; i++) {
        hc_pattern_draw(&src, (uint32_t)i + 1, (uint32_t)(i * 1000 / FPS));
        if (camera) hc_pattern_noise(&src, &lcg);
        unsigned long a0 = n_allocs;
        double c0 = hc_bench_cpu_ms(), q0 = process_cpu_ms();
        const hc_pic_cell *cells = hc_picture_render(p, &src, w, h);
        double c1 = hc_bench_cpu_ms(), q1 = process_cpu_ms();
        allocs_sum += (double)(n_allocs - a0);
        if (!cells) { ok = 0; break; }
        cpu[i] = c1 - c0;
        thread_sum += c1 - c0;
        proc_sum += q1 - q0;
        psnr_sum += hc_picture_psnr(cells, w, h, CELL_W, CELL_H, &src);
        int changed;
        size_t b = frame_bytes(i ? prev : NULL, cells, w, h, o.mode, &changed);
        if (i == 0) res->bytes_first = (double)b;
        else bytes_sum += (double)b, changed_sum += changed;
        memcpy(prev, cells, ncell * sizeof *prev);
    }
    if (ok) {
        hc_bench_dist d = hc_bench_distof(cpu, NFRAMES);
        res->psnr = psnr_sum / NFRAMES;
        res->cpu_p50 = d.p50;
        res->cpu_p99 = d.p99;
        res->cpu_mean = d.mean;
        res->proc_ratio = thread_sum > 0 ? proc_sum / thread_sum : 0;
        res->bytes_mean = bytes_sum / (NFRAMES - 1);
        res->changed_pct = 100.0 * changed_sum / (NFRAMES - 1) / (double)ncell;
        res->allocs = allocs_sum / NFRAMES;
    }
    free(prev);
    hc_picture_free(p);
    hc_video_frame_free(&src);
    return ok ? 0 : -1;
}

static void print_row(const char *label, const result *r)
{
    printf("  %-24s %6.2f dB | CPU %6.3f ms p50 %6.3f p99 = %5.2f %% of a core at %d fps (process/thread %.2f) | "
           "%6.0f B first, %6.0f B/frame (%5.1f %% cells changed) = %6.1f KB/s | %6.1f allocs/frame\n",
           label, r->psnr, r->cpu_p50, r->cpu_p99, r->cpu_mean * FPS / 10.0, FPS, r->proc_ratio, r->bytes_first,
           r->bytes_mean, r->changed_pct, r->bytes_mean * FPS / 1000.0, r->allocs);
}

static void compare(const char *label, hc_pic_mode mode, int sw, int sh, int camera, int w, int h)
{
    result hb, ch;
    hc_pic_opts oh = {.renderer = HC_PIC_HALFBLOCK, .mode = mode}, oc = {.renderer = HC_PIC_CHAFA, .mode = mode};
    char l[128];
    printf("\n %s, %s %dx%d, %dx%d cells, %s:\n", label, camera ? "camera-like" : "pattern", sw, sh, w, h,
           hc_pic_mode_name(mode));
    int a = run(oh, sw, sh, camera, w, h, &hb), b = run(oc, sw, sh, camera, w, h, &ch);
    if (a == 0) print_row("half-blocks", &hb);
    else printf("  half-blocks: failed\n");
    if (mode == HC_PIC_256) {                 /* what the screen draws: with colour hysteresis */
        result hy;
        hc_pic_opts o = oh;
        o.hysteresis = HC_PIC_HYSTERESIS;
        snprintf(l, sizeof l, "half-blocks, hyst. %d", HC_PIC_HYSTERESIS);
        if (run(o, sw, sh, camera, w, h, &hy) == 0) print_row(l, &hy);
    }
    if (b == 0) print_row("libchafa", &ch);
    else printf("  libchafa: failed\n");
    if (a || b) return;
    snprintf(l, sizeof l, "libchafa / half-blocks");
    printf("  %-24s %+6.2f dB | CPU x%.2f (p50), x%.2f (p99) | bytes/frame x%.2f\n", l, ch.psnr - hb.psnr,
           hb.cpu_p50 > 0 ? ch.cpu_p50 / hb.cpu_p50 : 0, hb.cpu_p99 > 0 ? ch.cpu_p99 / hb.cpu_p99 : 0,
           hb.bytes_mean > 0 ? ch.bytes_mean / hb.bytes_mean : 0);
}

int main(void)
{
    static const int boxes[3][2] = {{80, 24}, {120, 40}, {200, 60}};
    printf("pictures to terminal cells, %d frames per run, cells re-rasterised at %dx%d pixels; "
           "no timing is asserted\n",
           NFRAMES, CELL_W, CELL_H);
    /* the default mode, every box, both clips, at the call's default picture size and twice it */
    for (int s = 0; s < 2; s++)
        for (int camera = 0; camera <= 1; camera++)
            for (int b = 0; b < 3; b++)
                compare("256 colours", HC_PIC_256, 160 << s, 90 << s, camera, boxes[b][0], boxes[b][1]);
    /* the other modes at one box */
    for (int m = HC_PIC_TRUECOLOR; m <= HC_PIC_MONO; m++) compare("other mode", (hc_pic_mode)m, 160, 90, 1, 120, 40);
    /* chafa's knobs: how much search (work factor) and ordered dithering buy */
    printf("\n libchafa's knobs, camera-like 160x90, 120x40 cells, 256 colours:\n");
    static const struct {
        float work;
        int dither;
        const char *label;
    } knobs[] = {{0.1f, 0, "work 0.1"}, {0, 0, "work 0.5 (default)"}, {1.0f, 0, "work 1.0"}, {0, 1, "ordered dither"}};
    for (size_t k = 0; k < sizeof knobs / sizeof knobs[0]; k++) {
        hc_pic_opts o = {.renderer = HC_PIC_CHAFA, .mode = HC_PIC_256, .chafa_work = knobs[k].work,
                         .chafa_dither = knobs[k].dither};
        result r;
        if (run(o, 160, 90, 1, 120, 40, &r) == 0) print_row(knobs[k].label, &r);
    }
    /* colour hysteresis: how many bytes a little PSNR buys (the screen uses HC_PIC_HYSTERESIS) */
    printf("\n half-blocks' colour hysteresis, 256 colours, 160x90, 120x40 cells:\n");
    for (int camera = 0; camera <= 1; camera++)
        for (int hy = 0; hy <= 48; hy = hy ? hy * 2 : 6) {
            hc_pic_opts o = {.renderer = HC_PIC_HALFBLOCK, .mode = HC_PIC_256, .hysteresis = hy};
            result r;
            char l[64];
            snprintf(l, sizeof l, "%s, %d", camera ? "camera-like" : "pattern", hy);
            if (run(o, 160, 90, camera, 120, 40, &r) == 0) print_row(l, &r);
        }
    printf("\n default renderer: %s\n", hc_pic_renderer_name(HC_PIC_DEFAULT));
    return 0;
}
