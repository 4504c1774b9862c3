/* Pictures to terminal cells (see picture.h).
 *
 * The default renderer is half-blocks, by measurement (bench/bench_render.c, `make bench`, on
 * this project's 2-vCPU machine): 60 frames, 256 colours, each frame's cells re-rasterised at
 * 8 x 16 pixels per cell and compared with the frame (PSNR over R, G, B); CPU is thread time
 * per frame (p50); bytes per frame a terminal is sent with only changed cells written.
 *
 *                          half-blocks                    libchafa
 *   camera-like 160x90
 *     80 x 24 cells        22.7 dB  0.04 ms  11.5 KB      24.8 dB  10.2 ms  13.8 KB
 *     120 x 40 cells       22.7 dB  0.10 ms  29.0 KB      24.8 dB  24.7 ms  31.3 KB
 *     200 x 60 cells       23.8 dB  0.23 ms  62.3 KB      25.3 dB  55.0 ms  66.0 KB
 *   pattern 160x90
 *     80 x 24 cells        22.8 dB  0.04 ms   7.0 KB      24.9 dB   8.0 ms   9.1 KB
 *     120 x 40 cells       22.8 dB  0.10 ms  15.6 KB      24.9 dB  18.1 ms  17.8 KB
 *     200 x 60 cells       23.9 dB  0.20 ms  29.9 KB      25.4 dB  42.8 ms  36.3 KB
 *
 * libchafa draws 0.8-2.1 dB closer to the picture (its quadrants and eighths follow edges that
 * half-blocks blur; at 320x180 the gap is 0.8-1.8 dB), but costs 180-320 times the CPU: 8-63 ms
 * per frame, 12-94 % of a core at 15 fps on the loop thread, where half-blocks take at most
 * 0.3 ms (0.4 %). It also sends 4-63 % more bytes per frame (its symbol choice changes 48-77 %
 * of the cells from frame to frame, half-blocks 16-48 %) and allocates on the heap once per cell
 * per frame inside chafa (our state allocates nothing at a fixed size; libyuv's scaler takes a
 * row buffer per plane). Its work factor changes little (0.1: 24.7 dB, 20 ms; 1.0: 24.8 dB,
 * 25 ms) and ordered dithering costs both (24.1 dB, 58 % more bytes). In 24-bit colour libchafa
 * is 5.2 dB better (30.6 against 25.4 dB), again at 23 ms per frame; in 16 colours and monochrome
 * half-blocks are better (15.6 against 12.0, 16.5 against 10.6 dB: chafa's 16 colours are not
 * xterm's, and its two-colour mode thresholds where our ramp shades). So half-blocks are the
 * default in every mode; libchafa stays selectable (hc_pic_opts.renderer) for the benchmark.
 *
 * Colour hysteresis (hc_pic_opts.hysteresis, what the screen uses): a pixel keeps the colour it
 * had while that is within 12 (RGB distance) of the nearest one's. Same machine, 120 x 40 cells,
 * 256 colours: camera-like 28.0 -> 12.6 KB per frame (46.7 -> 18.5 % of the cells changed) for
 * 22.61 -> 22.37 dB; pattern 15.1 -> 9.9 KB for 22.68 -> 22.35 dB (6: 16.6 KB, 24: 9.5 KB and
 * 21.87 dB, 48: 7.3 KB and 20.32 dB on the camera-like clip).
 */
#include "ui/picture.h"

#include <chafa.h>
#include <libyuv.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ui/text.h"

#define DEFAULT_RENDERER HC_PIC_HALFBLOCK

/* chafa maps each cell to 8 x 8 pixels of its canvas. */
#define CHAFA_CELL 8

struct hc_picture {
    hc_pic_opts o;
    int w, h;                  /* the box the state is for (0: none yet) */
    int sw, sh;                /* the picture size it is for */
    int iw, ih;                /* the scaled picture the renderer reads */
    uint8_t *i420;             /* scaled I420 (y, then u, then v), when the picture is not iw x ih */
    uint8_t *argb;             /* iw x ih, libyuv ARGB (bytes B, G, R, A) */
    hc_pic_cell *cells;        /* w x h */
    ChafaCanvas *canvas;
    unsigned allocs;
};

/* ---------------------------------------------------------------------------------------------
 * Palettes */

/* xterm's defaults for the 16 ANSI colours (other terminals' themes differ: that is why the
 * 256-colour mode keeps to 16..255). */
static const uint8_t ansi16[16][3] = {
    {0, 0, 0},       {205, 0, 0},   {0, 205, 0},   {205, 205, 0},   {0, 0, 238},     {205, 0, 205},
    {0, 205, 205},   {229, 229, 229}, {127, 127, 127}, {255, 0, 0}, {0, 255, 0},     {255, 255, 0},
    {92, 92, 255},   {255, 0, 255}, {0, 255, 255}, {255, 255, 255},
};
static const uint8_t cube_level[6] = {0, 95, 135, 175, 215, 255};

void hc_picture_palette(int index, uint8_t rgb[3])
{
    if (index < 0 || index > 255) index = 0;
    if (index < 16) {
        memcpy(rgb, ansi16[index], 3);
    } else if (index < 232) {
        int i = index - 16;
        rgb[0] = cube_level[i / 36];
        rgb[1] = cube_level[i / 6 % 6];
        rgb[2] = cube_level[i % 6];
    } else {
        rgb[0] = rgb[1] = rgb[2] = (uint8_t)(8 + 10 * (index - 232));
    }
}

void hc_picture_color_rgb(hc_color c, const uint8_t def[3], uint8_t rgb[3])
{
    if (c.kind == HC_COLOR_256) hc_picture_palette(c.v[0], rgb);
    else if (c.kind == HC_COLOR_RGB) memcpy(rgb, c.v, 3);
    else memcpy(rgb, def, 3);
}

/* The nearest cube level of one channel: the levels are 0, 95, 135, ..., 255, so the midpoints
 * are 47.5, 115, 155, 195, 235. */
static int cube_of(int v)
{
    return v < 48 ? 0 : v < 115 ? 1 : (v - 35) / 40;
}

static int dist2(int r, int g, int b, int r2, int g2, int b2)
{
    return (r - r2) * (r - r2) + (g - g2) * (g - g2) + (b - b2) * (b - b2);
}

/* The nearest of 16..255 (cube or grey ramp) in RGB distance. */
static uint8_t nearest256(int r, int g, int b)
{
    int ri = cube_of(r), gi = cube_of(g), bi = cube_of(b);
    int dc = dist2(r, g, b, cube_level[ri], cube_level[gi], cube_level[bi]);
    int avg = (r + g + b) / 3;
    int k = avg < 8 ? 0 : (avg - 3) / 10;          /* greys are 8 + 10k, k = 0..23 */
    if (k > 23) k = 23;
    int gv = 8 + 10 * k;
    return dist2(r, g, b, gv, gv, gv) < dc ? (uint8_t)(232 + k) : (uint8_t)(16 + 36 * ri + 6 * gi + bi);
}

static uint8_t nearest16(int r, int g, int b)
{
    int best = 0, bd = 1 << 30;
    for (int i = 0; i < 16; i++) {
        int d = dist2(r, g, b, ansi16[i][0], ansi16[i][1], ansi16[i][2]);
        if (d < bd) bd = d, best = i;
    }
    return (uint8_t)best;
}

static hc_color idx_color(int i)
{
    return (hc_color){HC_COLOR_256, {(uint8_t)i, 0, 0}};
}

static hc_color rgb_color(uint32_t rgb)
{
    return (hc_color){HC_COLOR_RGB, {(uint8_t)(rgb >> 16), (uint8_t)(rgb >> 8), (uint8_t)rgb}};
}

/* ---------------------------------------------------------------------------------------------
 * Glyphs */

static const char *mode_names[HC_PIC_MODES] = {"256", "truecolor", "16", "mono", "ascii"};

const char *hc_pic_mode_name(hc_pic_mode m)
{
    return (unsigned)m < HC_PIC_MODES ? mode_names[m] : "?";
}

const char *hc_pic_renderer_name(hc_pic_renderer r)
{
    if (r == HC_PIC_DEFAULT) r = DEFAULT_RENDERER;
    return r == HC_PIC_CHAFA ? "libchafa" : "half-blocks";
}

static void set_glyph(hc_pic_cell *c, const char *s)
{
    size_t n = strlen(s);
    memcpy(c->ch, s, n + 1);
}

/* A code point from chafa as UTF-8; anything that is not a printable, single-width character
 * (chafa draws none, but this is what reaches the terminal) becomes '?'. */
static void set_cp(hc_pic_cell *c, uint32_t cp)
{
    if (cp < 0x20 || cp == 0x7F || cp > 0x10FFFF || (cp >= 0xD800 && cp < 0xE000) || hc_cp_unsafe(cp) ||
        hc_cp_width(cp) != 1) {
        set_glyph(c, "?");
    } else if (cp < 0x80) {
        c->ch[0] = (char)cp, c->ch[1] = 0;
    } else if (cp < 0x800) {
        c->ch[0] = (char)(0xC0 | cp >> 6), c->ch[1] = (char)(0x80 | (cp & 0x3F)), c->ch[2] = 0;
    } else if (cp < 0x10000) {
        c->ch[0] = (char)(0xE0 | cp >> 12), c->ch[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        c->ch[2] = (char)(0x80 | (cp & 0x3F)), c->ch[3] = 0;
    } else {
        c->ch[0] = (char)(0xF0 | cp >> 18), c->ch[1] = (char)(0x80 | (cp >> 12 & 0x3F));
        c->ch[2] = (char)(0x80 | (cp >> 6 & 0x3F)), c->ch[3] = (char)(0x80 | (cp & 0x3F)), c->ch[4] = 0;
    }
}

/* Quadrant bits of U+2596..U+259F: 1 upper left, 2 upper right, 4 lower left, 8 lower right. */
static const uint8_t quadrants[10] = {4, 8, 1, 1 | 4 | 8, 1 | 8, 1 | 2 | 4, 1 | 2 | 8, 2, 2 | 4, 2 | 4 | 8};

int hc_picture_coverage(const char *glyph, int px, int py, int cw, int ch)
{
    uint32_t cp;
    int ok;
    size_t len = glyph ? strlen(glyph) : 0;
    if (!len || cw < 1 || ch < 1 || px < 0 || py < 0 || px >= cw || py >= ch) return -1;
    if (hc_utf8_next(glyph, len, &cp, &ok) != len || !ok) return -1;
    /* Where the pixel's centre is, in eighths of the cell (0..15 halves of an eighth). */
    int x16 = (2 * px + 1) * 8 / cw, y16 = (2 * py + 1) * 8 / ch;   /* 0..15: centre * 16 */
    int in;
    if (cp == ' ') return 0;
    if (cp == 0x2588) return 255;
    if (cp == 0x2580) in = y16 < 8;                                /* upper half */
    else if (cp >= 0x2581 && cp <= 0x2587) in = y16 >= 16 - 2 * (int)(cp - 0x2580);   /* lower k/8 */
    else if (cp >= 0x2589 && cp <= 0x258F) in = x16 < 2 * (int)(0x2590 - cp);        /* left k/8 */
    else if (cp == 0x2590) in = x16 >= 8;                          /* right half */
    else if (cp >= 0x2591 && cp <= 0x2593) return 64 * (int)(cp - 0x2590);   /* shades: an even mix */
    else if (cp == 0x2594) in = y16 < 2;                           /* upper 1/8 */
    else if (cp == 0x2595) in = x16 >= 14;                         /* right 1/8 */
    else if (cp >= 0x2596 && cp <= 0x259F) in = quadrants[cp - 0x2596] >> ((y16 >= 8) * 2 + (x16 >= 8)) & 1;
    else return -1;
    return in ? 255 : 0;
}

/* ---------------------------------------------------------------------------------------------
 * State */

hc_picture *hc_picture_new(const hc_pic_opts *opts)
{
    hc_picture *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    if (opts) p->o = *opts;
    if (p->o.renderer != HC_PIC_HALFBLOCK && p->o.renderer != HC_PIC_CHAFA) p->o.renderer = DEFAULT_RENDERER;
    if ((unsigned)p->o.mode >= HC_PIC_MODES) p->o.mode = HC_PIC_256;
    /* chafa renders on the calling thread: pictures are drawn on the loop thread, between audio
     * callbacks, on machines with few cores; a worker pool per frame would compete with them.
     * (A process-wide setting: hushcall is chafa's only user in the process.) */
    if (p->o.renderer == HC_PIC_CHAFA) chafa_set_n_threads(1);
    return p;
}

static void drop_state(hc_picture *p)
{
    free(p->i420);
    free(p->argb);
    free(p->cells);
    if (p->canvas) chafa_canvas_unref(p->canvas);
    p->i420 = p->argb = NULL;
    p->cells = NULL;
    p->canvas = NULL;
    p->w = p->h = p->sw = p->sh = p->iw = p->ih = 0;
}

void hc_picture_free(hc_picture *p)
{
    if (!p) return;
    drop_state(p);
    free(p);
}

void hc_picture_set_mode(hc_picture *p, hc_pic_mode mode)
{
    if ((unsigned)mode >= HC_PIC_MODES || mode == p->o.mode) return;
    p->o.mode = mode;
    drop_state(p);
}

hc_pic_renderer hc_picture_renderer(const hc_picture *p)
{
    return p->o.renderer;
}

unsigned hc_picture_allocs(const hc_picture *p)
{
    return p->allocs;
}

static ChafaCanvas *chafa_make(const hc_picture *p, int w, int h)
{
    ChafaCanvasMode cm = CHAFA_CANVAS_MODE_INDEXED_240;
    /* Block elements only (halves, quadrants, eighths): terminals draw them edge to edge, often
     * geometrically rather than from the font, so what the cell shows is what chafa chose. */
    ChafaSymbolTags tags = CHAFA_SYMBOL_TAG_BLOCK | CHAFA_SYMBOL_TAG_SPACE;
    switch (p->o.mode) {
    case HC_PIC_256: cm = CHAFA_CANVAS_MODE_INDEXED_240; break;
    case HC_PIC_TRUECOLOR: cm = CHAFA_CANVAS_MODE_TRUECOLOR; break;
    case HC_PIC_16: cm = CHAFA_CANVAS_MODE_INDEXED_16; break;
    case HC_PIC_MONO: cm = CHAFA_CANVAS_MODE_FGBG; tags |= CHAFA_SYMBOL_TAG_STIPPLE; break;
    case HC_PIC_ASCII: cm = CHAFA_CANVAS_MODE_FGBG; tags = CHAFA_SYMBOL_TAG_ASCII; break;
    default: break;
    }
    ChafaSymbolMap *map = chafa_symbol_map_new();
    ChafaCanvasConfig *cfg = chafa_canvas_config_new();
    if (!map || !cfg) {
        if (map) chafa_symbol_map_unref(map);
        if (cfg) chafa_canvas_config_unref(cfg);
        return NULL;
    }
    chafa_symbol_map_add_by_tags(map, tags);
    chafa_canvas_config_set_geometry(cfg, w, h);
    chafa_canvas_config_set_canvas_mode(cfg, cm);
    chafa_canvas_config_set_symbol_map(cfg, map);
    chafa_canvas_config_set_dither_mode(cfg, p->o.chafa_dither == 1 ? CHAFA_DITHER_MODE_ORDERED : CHAFA_DITHER_MODE_NONE);
    if (p->o.chafa_work > 0 && p->o.chafa_work <= 1) chafa_canvas_config_set_work_factor(cfg, p->o.chafa_work);
    chafa_canvas_config_set_preprocessing_enabled(cfg, FALSE);
    ChafaCanvas *c = chafa_canvas_new(cfg);
    chafa_canvas_config_unref(cfg);
    chafa_symbol_map_unref(map);
    return c;
}

/* Sizes the state for a sw x sh picture in a w x h box; nothing happens when it already is. */
static int prepare(hc_picture *p, int sw, int sh, int w, int h)
{
    if (p->cells && p->w == w && p->h == h && p->sw == sw && p->sh == sh) return 0;
    drop_state(p);
    p->allocs++;
    int iw, ih;
    if (p->o.renderer == HC_PIC_CHAFA) {
        /* chafa scales to its canvas itself; a larger picture is scaled down to the canvas first
         * (libyuv's box filter), so the RGB copy never holds more than the canvas shows. */
        iw = sw < w * CHAFA_CELL ? sw : w * CHAFA_CELL;
        ih = sh < h * CHAFA_CELL ? sh : h * CHAFA_CELL;
    } else {
        iw = w;                /* one pixel per column, two per row */
        ih = 2 * h;
    }
    size_t ysz = (size_t)iw * (size_t)ih, csz = (size_t)((iw + 1) / 2) * (size_t)((ih + 1) / 2);
    p->cells = calloc((size_t)w * (size_t)h, sizeof *p->cells);
    p->argb = malloc(ysz * 4);
    if (iw != sw || ih != sh) p->i420 = malloc(ysz + 2 * csz);
    if (p->o.renderer == HC_PIC_CHAFA) p->canvas = chafa_make(p, w, h);
    if (!p->cells || !p->argb || ((iw != sw || ih != sh) && !p->i420) || (p->o.renderer == HC_PIC_CHAFA && !p->canvas)) {
        drop_state(p);
        return -1;
    }
    p->w = w, p->h = h, p->sw = sw, p->sh = sh, p->iw = iw, p->ih = ih;
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * Rendering */

/* Mono: "on" is the terminal's (light) foreground. A ramp of shades by the cell's mean
 * brightness, and a half block where one half is bright and the other dark. */
static const char *const mono_ramp[5] = {" ", "\xE2\x96\x91", "\xE2\x96\x92", "\xE2\x96\x93", "\xE2\x96\x88"};
static const char ascii_ramp[] = " .:-=+*#%@";

static int luma_full(int y)   /* limited-range luma (16..235) to 0..255 */
{
    int v = (y - 16) * 255 / 219;
    return v < 0 ? 0 : v > 255 ? 255 : v;
}

/* The palette colour for (r, g, b): the nearest, or the one the pixel had (prev, when it was a
 * palette colour) while that is within the hysteresis of the nearest's distance. */
static hc_color sticky(const hc_picture *p, hc_color prev, int r, int g, int b)
{
    uint8_t n = p->o.mode == HC_PIC_256 ? nearest256(r, g, b) : nearest16(r, g, b);
    if (p->o.hysteresis <= 0 || prev.kind != HC_COLOR_256 || prev.v[0] == n) return idx_color(n);
    uint8_t a[3], c[3];
    hc_picture_palette(prev.v[0], a);
    hc_picture_palette(n, c);
    double dp = sqrt((double)dist2(r, g, b, a[0], a[1], a[2])), dn = sqrt((double)dist2(r, g, b, c[0], c[1], c[2]));
    return dp <= dn + p->o.hysteresis ? prev : idx_color(n);
}

static void halfblock_cells(hc_picture *p, const uint8_t *Y, int stride_y)
{
    static const hc_color none = {0};
    for (int cy = 0; cy < p->h; cy++) {
        const uint8_t *up = p->argb + (size_t)(2 * cy) * (size_t)p->iw * 4, *lo = up + (size_t)p->iw * 4;
        const uint8_t *yu = Y + (size_t)(2 * cy) * (size_t)stride_y, *yl = yu + stride_y;
        hc_pic_cell *row = p->cells + (size_t)cy * (size_t)p->w;
        for (int cx = 0; cx < p->w; cx++) {
            hc_pic_cell *c = &row[cx];
            const uint8_t *a = up + 4 * cx, *b = lo + 4 * cx;   /* B, G, R, A */
            switch (p->o.mode) {
            case HC_PIC_256:
            case HC_PIC_16:
                /* c still holds the last frame's cell (the state is kept at a fixed size) */
                c->fg = sticky(p, c->fg, a[2], a[1], a[0]);
                c->bg = sticky(p, c->bg, b[2], b[1], b[0]);
                set_glyph(c, c->fg.v[0] == c->bg.v[0] ? " " : "\xE2\x96\x80");
                break;
            case HC_PIC_TRUECOLOR:
                c->fg = rgb_color((uint32_t)a[2] << 16 | (uint32_t)a[1] << 8 | a[0]);
                c->bg = rgb_color((uint32_t)b[2] << 16 | (uint32_t)b[1] << 8 | b[0]);
                set_glyph(c, memcmp(c->fg.v, c->bg.v, 3) ? "\xE2\x96\x80" : " ");
                break;
            default: {
                int t = luma_full(yu[cx]), l = luma_full(yl[cx]);
                c->fg = c->bg = none;
                if (p->o.mode == HC_PIC_ASCII) {
                    c->ch[0] = ascii_ramp[((t + l) / 2) * 10 / 256], c->ch[1] = 0;
                } else if (t >= 160 && l < 64) {
                    set_glyph(c, "\xE2\x96\x80");
                } else if (l >= 160 && t < 64) {
                    set_glyph(c, "\xE2\x96\x84");
                } else {
                    set_glyph(c, mono_ramp[((t + l) / 2) * 5 / 256]);
                }
                break;
            }
            }
        }
    }
}

static void chafa_cells(hc_picture *p)
{
    static const hc_color none = {0};
    chafa_canvas_draw_all_pixels(p->canvas, CHAFA_PIXEL_BGRA8_UNASSOCIATED, p->argb, p->iw, p->ih, p->iw * 4);
    for (int cy = 0; cy < p->h; cy++)
        for (int cx = 0; cx < p->w; cx++) {
            hc_pic_cell *c = &p->cells[(size_t)cy * (size_t)p->w + (size_t)cx];
            set_cp(c, chafa_canvas_get_char_at(p->canvas, cx, cy));
            if (p->o.mode == HC_PIC_MONO || p->o.mode == HC_PIC_ASCII) {
                c->fg = c->bg = none;
                continue;
            }
            gint fg = -1, bg = -1;
            /* The raw colours are the palette indices in the indexed modes, 0xRRGGBB in
             * truecolor; -1 is a colour the cell does not show (the foreground of a space). */
            chafa_canvas_get_raw_colors_at(p->canvas, cx, cy, &fg, &bg);
            int top = p->o.mode == HC_PIC_TRUECOLOR ? 0x1000000 : p->o.mode == HC_PIC_16 ? 16 : 256;
            if (bg < 0 || bg >= top) bg = fg;
            if (fg < 0 || fg >= top) fg = bg;
            if (fg < 0 || fg >= top) {
                c->fg = c->bg = none;
            } else if (p->o.mode == HC_PIC_TRUECOLOR) {
                c->fg = rgb_color((uint32_t)fg);
                c->bg = rgb_color((uint32_t)bg);
            } else {
                c->fg = idx_color(fg);
                c->bg = idx_color(bg);
            }
        }
}

const hc_pic_cell *hc_picture_render(hc_picture *p, const hc_video_frame *f, int w, int h)
{
    if (!p || !f || !f->y || !f->u || !f->v || w < 1 || h < 1 || w > HC_PIC_MAX_W || h > HC_PIC_MAX_H || f->w < 1 ||
        f->h < 1 || f->w > HC_VIDEO_MAX_W || f->h > HC_VIDEO_MAX_H || f->stride_y < f->w ||
        f->stride_u < (f->w + 1) / 2 || f->stride_v < (f->w + 1) / 2)
        return NULL;
    if (prepare(p, f->w, f->h, w, h) < 0) return NULL;
    const uint8_t *Y = f->y, *U = f->u, *V = f->v;
    int sy = f->stride_y, su = f->stride_u, sv = f->stride_v;
    if (p->i420) {
        int cw = (p->iw + 1) / 2;
        uint8_t *y = p->i420, *u = y + (size_t)p->iw * (size_t)p->ih, *v = u + (size_t)cw * (size_t)((p->ih + 1) / 2);
        I420Scale(f->y, f->stride_y, f->u, f->stride_u, f->v, f->stride_v, f->w, f->h, y, p->iw, u, cw, v, cw, p->iw,
                  p->ih, kFilterBox);
        Y = y, U = u, V = v, sy = p->iw, su = sv = cw;
    }
    int colour = p->o.mode != HC_PIC_MONO && p->o.mode != HC_PIC_ASCII;
    if (colour || p->o.renderer == HC_PIC_CHAFA)
        I420ToARGB(Y, sy, U, su, V, sv, p->argb, p->iw * 4, p->iw, p->ih);
    if (p->o.renderer == HC_PIC_CHAFA) chafa_cells(p);
    else halfblock_cells(p, Y, sy);
    return p->cells;
}

void hc_picture_blit(hc_grid *g, int x, int y, const hc_pic_cell *cells, int w, int h, uint8_t style)
{
    if (!cells) return;
    for (int r = 0; r < h; r++) {
        if (y + r < 0 || y + r >= g->h) continue;
        for (int c = 0; c < w; c++) {
            const hc_pic_cell *pc = &cells[(size_t)r * (size_t)w + (size_t)c];
            hc_grid_put(g, x + c, y + r, pc->ch, style, pc->fg, pc->bg);
        }
    }
}

double hc_picture_psnr(const hc_pic_cell *cells, int w, int h, int cw, int ch, const hc_video_frame *f)
{
    static const uint8_t term_fg[3] = {229, 229, 229}, term_bg[3] = {0, 0, 0};
    if (!cells || !f || w < 1 || h < 1 || cw < 1 || ch < 1 || cw > 64 || ch > 64 || w > HC_PIC_MAX_W ||
        h > HC_PIC_MAX_H || f->w < 1 || f->h < 1)
        return -1;
    int pw = w * cw, ph = h * ch, pcw = (pw + 1) / 2;
    if ((size_t)pw * (size_t)ph > (size_t)4096 * 4096) return -1;    /* 64 MB of reference pixels */
    size_t ysz = (size_t)pw * (size_t)ph, csz = (size_t)pcw * (size_t)((ph + 1) / 2);
    uint8_t *yuv = malloc(ysz + 2 * csz), *ref = malloc(ysz * 4);
    uint8_t *cov = malloc((size_t)cw * (size_t)ch);
    double sse = 0;
    int bad = !yuv || !ref || !cov;
    if (!bad) {
        uint8_t *u = yuv + ysz, *v = u + csz;
        I420Scale(f->y, f->stride_y, f->u, f->stride_u, f->v, f->stride_v, f->w, f->h, yuv, pw, u, pcw, v, pcw, pw, ph,
                  kFilterBox);
        I420ToARGB(yuv, pw, u, pcw, v, pcw, ref, pw * 4, pw, ph);
    }
    for (int cy = 0; cy < h && !bad; cy++)
        for (int cx = 0; cx < w && !bad; cx++) {
            const hc_pic_cell *c = &cells[(size_t)cy * (size_t)w + (size_t)cx];
            uint8_t fg[3], bg[3];
            hc_picture_color_rgb(c->fg, term_fg, fg);
            hc_picture_color_rgb(c->bg, term_bg, bg);
            for (int py = 0; py < ch && !bad; py++)
                for (int px = 0; px < cw; px++) {
                    int k = hc_picture_coverage(c->ch, px, py, cw, ch);
                    if (k < 0) { bad = 1; break; }
                    cov[py * cw + px] = (uint8_t)k;
                }
            for (int py = 0; py < ch && !bad; py++) {
                const uint8_t *r = ref + ((size_t)(cy * ch + py) * (size_t)pw + (size_t)(cx * cw)) * 4;
                for (int px = 0; px < cw; px++)
                    for (int i = 0; i < 3; i++) {
                        int k = cov[py * cw + px];
                        int shown = (k * fg[i] + (255 - k) * bg[i] + 127) / 255;
                        int d = shown - r[4 * px + 2 - i];      /* ARGB is stored B, G, R, A */
                        sse += (double)(d * d);
                    }
            }
        }
    free(yuv);
    free(ref);
    free(cov);
    if (bad) return -1;
    if (sse == 0) return 99.0;
    return 10.0 * log10(255.0 * 255.0 * 3.0 * (double)ysz / sse);
}
