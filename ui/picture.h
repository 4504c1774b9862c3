/* Pictures to terminal cells: an I420 picture (video/frame.h) drawn into a box of W x H cells,
 * each cell one glyph with a foreground and a background colour, for a front end to paint and
 * for tests to read back (hc_picture_blit puts them into a grid). No curses and no I/O here.
 *
 * Two renderers, compared by bench/bench_render.c (figures and the choice: ui/picture.c):
 *   - half-blocks: every cell is '▀' with fg = the upper pixel and bg = the lower one (a box of
 *     W x H cells shows W x 2H pixels); libyuv scales and converts, colours are the nearest in
 *     the mode's palette;
 *   - libchafa: chafa picks, per cell, a block symbol (halves, quadrants, eighths) and the two
 *     colours that match the cell's 8x8 pixels best.
 * The box is filled (the picture is stretched to it): the caller picks a box of the picture's
 * shape. A terminal cell is about twice as tall as wide.
 *
 * State is kept between frames: buffers and chafa's canvas are allocated when the box or the
 * picture size changes, never per frame at a fixed size (hc_picture_allocs counts it). */
#ifndef HC_UI_PICTURE_H
#define HC_UI_PICTURE_H

#include <stdint.h>

#include "ui/grid.h"
#include "video/frame.h"

typedef enum {
    HC_PIC_256 = 0,     /* the default: xterm-256 colours 16..255 (the 6x6x6 cube and 24 greys),
                           the same on every 256-colour terminal (0..15 follow the theme) */
    HC_PIC_TRUECOLOR,   /* 24-bit RGB: only where the terminal says so (COLORTERM=truecolor) */
    HC_PIC_16,          /* the 16 ANSI colours (indices 0..15) */
    HC_PIC_MONO,        /* no colour: block and shade symbols in the terminal's own colours,
                           assuming a light foreground on a dark background */
    HC_PIC_ASCII,       /* no colour, ASCII only (--ascii): a brightness ramp */
    HC_PIC_MODES
} hc_pic_mode;

typedef enum {
    HC_PIC_DEFAULT = 0, /* the better one by measurement (ui/picture.c) */
    HC_PIC_HALFBLOCK,
    HC_PIC_CHAFA,
} hc_pic_renderer;

typedef struct {
    hc_pic_renderer renderer;
    hc_pic_mode mode;
    /* libchafa's knobs, for the benchmark: work factor 0..1 (0: the default) and dithering
     * (0 none, the default: dither noise changes cells from frame to frame; 1 ordered). */
    float chafa_work;
    int chafa_dither;
    /* Half-blocks in 256 and 16 colours: a pixel keeps the colour it had in the last frame while
     * that colour is at most this much farther from it (RGB distance, 0..441) than the nearest
     * one. Noise and slow drifts then change fewer cells, so fewer bytes reach the terminal, for
     * a little PSNR (bench_render). 0: none; the screen uses HC_PIC_HYSTERESIS. */
    int hysteresis;
} hc_pic_opts;

#define HC_PIC_HYSTERESIS 12

/* One rendered cell: a single-width glyph (UTF-8, NUL-terminated) and its colours; HC_COLOR_NONE
 * in the monochrome and ASCII modes. */
typedef struct {
    char ch[5];
    hc_color fg, bg;
} hc_pic_cell;

/* Boxes from 1 x 1 up to this many cells (larger terminals get a box of at most this size). */
#define HC_PIC_MAX_W 500
#define HC_PIC_MAX_H 250

typedef struct hc_picture hc_picture;

/* NULL opts: the defaults. Returns NULL when out of memory. */
hc_picture *hc_picture_new(const hc_pic_opts *opts);
void hc_picture_free(hc_picture *p);
/* Another colour mode for the next frames (rebuilds the state when it changes). */
void hc_picture_set_mode(hc_picture *p, hc_pic_mode mode);
hc_pic_renderer hc_picture_renderer(const hc_picture *p);   /* never HC_PIC_DEFAULT */
/* Renders f into a w x h box: w * h cells, row by row, valid until the next call. NULL when the
 * box is outside 1..HC_PIC_MAX_*, f has no planes or a size outside 1..HC_VIDEO_MAX_*, or memory
 * runs out. */
const hc_pic_cell *hc_picture_render(hc_picture *p, const hc_video_frame *f, int w, int h);
/* How many times the state was allocated (once, then once per change of box, picture size or
 * mode): for the tests that check frames reuse it. */
unsigned hc_picture_allocs(const hc_picture *p);

/* Puts w x h rendered cells into g with their top-left at (x, y), clipped to the grid: cells
 * outside it are not written. style is what the cells' text style says (the colours override it). */
void hc_picture_blit(hc_grid *g, int x, int y, const hc_pic_cell *cells, int w, int h, uint8_t style);

/* How much of pixel (px, py) of a cw x ch pixel cell a glyph covers with its foreground colour,
 * 0..255, for every glyph the colour modes draw (space, the block elements U+2580..U+259F with
 * the shades as an even mix); -1 for another glyph. For re-rasterising cells into pixels. */
int hc_picture_coverage(const char *glyph, int px, int py, int cw, int ch);
/* The RGB value of an xterm-256 palette index, as xterm draws it by default. */
void hc_picture_palette(int index, uint8_t rgb[3]);
/* The RGB value a colour stands for (NONE: def). */
void hc_picture_color_rgb(hc_color c, const uint8_t def[3], uint8_t rgb[3]);

/* For tests and benchmarks: the cells re-rasterised (each cell cw x ch pixels, its glyph's
 * coverage mixing fg over bg; a NONE colour as a light grey on black terminal shows it) against
 * f scaled to the same w*cw x h*ch pixels with libyuv: PSNR over R, G and B in dB (99 when
 * identical), or -1 when a glyph's coverage is unknown, a size is out of range or memory runs out. */
double hc_picture_psnr(const hc_pic_cell *cells, int w, int h, int cw, int ch, const hc_video_frame *f);

const char *hc_pic_mode_name(hc_pic_mode m);
const char *hc_pic_renderer_name(hc_pic_renderer r);

#endif
