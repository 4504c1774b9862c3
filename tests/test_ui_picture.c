/* Pictures to cells (ui/picture.h) and the grid's cell colours (ui/grid.h): known pictures give
 * the expected colours in every mode and with both renderers; the 16-colour and monochrome modes
 * use no 256-colour index, the ASCII mode no byte >= 0x80; boxes from 1x1 to 500x200 and
 * pictures from 2x2 to 1920x1080 are drawn inside their box and nowhere else (run it under
 * ASan too); the renderer's state is reused across frames and rebuilt when a size changes; grid
 * colours are additive (text clears them, old cells have none). */
#include "tests/testutil.h"

#include <libyuv.h>

#include "ui/grid.h"
#include "ui/picture.h"
#include "video/pattern.h"

static const hc_pic_renderer renderers[2] = {HC_PIC_HALFBLOCK, HC_PIC_CHAFA};

/* A picture of one colour, made with libyuv's own RGB to I420 conversion. */
static void fill_rgb(hc_video_frame *f, int x0, int y0, int w, int h, uint8_t r, uint8_t g, uint8_t b)
{
    uint8_t *argb = malloc((size_t)w * (size_t)h * 4);
    assert_non_null(argb);
    for (int i = 0; i < w * h; i++) argb[4 * i] = b, argb[4 * i + 1] = g, argb[4 * i + 2] = r, argb[4 * i + 3] = 255;
    /* x0, y0 even: the chroma of the region is its own */
    ARGBToI420(argb, w * 4, f->y + (size_t)y0 * (size_t)f->stride_y + (size_t)x0, f->stride_y,
               f->u + (size_t)(y0 / 2) * (size_t)f->stride_u + (size_t)(x0 / 2), f->stride_u,
               f->v + (size_t)(y0 / 2) * (size_t)f->stride_v + (size_t)(x0 / 2), f->stride_v, w, h);
    free(argb);
}

static hc_picture *make(hc_pic_renderer r, hc_pic_mode m)
{
    hc_pic_opts o = {.renderer = r, .mode = m};
    hc_picture *p = hc_picture_new(&o);
    assert_non_null(p);
    assert_int_equal(hc_picture_renderer(p), r);
    return p;
}

/* The colour a cell shows at pixel (px, py) of an 8 x 16 cell. */
static void shown_at(const hc_pic_cell *c, int px, int py, uint8_t rgb[3])
{
    static const uint8_t black[3] = {0, 0, 0};
    int k = hc_picture_coverage(c->ch, px, py, 8, 16);
    assert_true(k == 0 || k == 255);
    hc_picture_color_rgb(k ? c->fg : c->bg, black, rgb);
}

/* Every colour a cell shows (the ones its glyph covers at some pixel) is `want`. */
static void assert_shows(const hc_pic_cell *c, hc_color want)
{
    int fg_used = 0, bg_used = 0;
    for (int py = 0; py < 16; py++)
        for (int px = 0; px < 8; px++) {
            int k = hc_picture_coverage(c->ch, px, py, 8, 16);
            assert_true(k >= 0);
            if (k > 0) fg_used = 1;
            if (k < 255) bg_used = 1;
        }
    if (fg_used) {
        assert_int_equal(c->fg.kind, want.kind);
        assert_int_equal(c->fg.v[0], want.v[0]);
    }
    if (bg_used) {
        assert_int_equal(c->bg.kind, want.kind);
        assert_int_equal(c->bg.v[0], want.v[0]);
    }
}

static hc_color idx(int i)
{
    return (hc_color){HC_COLOR_256, {(uint8_t)i, 0, 0}};
}

/* Solid pictures give, in every cell, the palette colour nearest to them: in 256-colour mode the
 * cube or grey (never 0..15), in 16-colour mode the ANSI colour, in 24-bit mode the colour
 * itself (within the I420 round trip: pure blue comes back as 0, 0, 248). */
static void test_solid_colours(void **st)
{
    (void)st;
    static const struct {
        uint8_t r, g, b;
        int i256, i16;    /* expected indices (-1: not checked in 16 colours) */
    } cases[] = {
        {255, 0, 0, 196, 9},       {0, 255, 0, 46, 10},   {0, 0, 255, 21, -1},     {255, 255, 255, 231, 15},
        {0, 0, 0, 16, 0},          {128, 128, 128, 244, -1}, {255, 135, 0, 208, -1}, {0, 135, 175, 31, -1},
        {48, 48, 48, 236, -1},
    };
    hc_video_frame f;
    assert_int_equal(hc_video_frame_alloc(&f, 64, 36), 0);
    for (int r = 0; r < 2; r++)
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            fill_rgb(&f, 0, 0, 64, 36, cases[i].r, cases[i].g, cases[i].b);
            hc_picture *p = make(renderers[r], HC_PIC_256);
            const hc_pic_cell *c = hc_picture_render(p, &f, 8, 3);
            assert_non_null(c);
            for (int k = 0; k < 24; k++) assert_shows(&c[k], idx(cases[i].i256));
            hc_picture_set_mode(p, HC_PIC_16);
            c = hc_picture_render(p, &f, 8, 3);
            assert_non_null(c);
            for (int k = 0; k < 24 && cases[i].i16 >= 0; k++) assert_shows(&c[k], idx(cases[i].i16));
            hc_picture_set_mode(p, HC_PIC_TRUECOLOR);
            c = hc_picture_render(p, &f, 8, 3);
            assert_non_null(c);
            for (int k = 0; k < 24; k++) {
                uint8_t rgb[3];
                shown_at(&c[k], 3, 3, rgb);
                assert_int_equal(c[k].fg.kind, HC_COLOR_RGB);
                assert_true(abs(rgb[0] - cases[i].r) <= 8 && abs(rgb[1] - cases[i].g) <= 8 &&
                            abs(rgb[2] - cases[i].b) <= 8);
            }
            hc_picture_free(p);
        }
    hc_video_frame_free(&f);
}

/* The half-block quantisers against a brute-force search: for colours across the RGB cube, the
 * 256-colour cell is the nearest of 16..255 and the 16-colour cell the nearest of 0..15 (in RGB
 * distance) to the colour the 24-bit cell shows for the same picture. */
static long dist_to(int index, const uint8_t v[3])
{
    uint8_t p[3];
    hc_picture_palette(index, p);
    return (long)(p[0] - v[0]) * (p[0] - v[0]) + (long)(p[1] - v[1]) * (p[1] - v[1]) + (long)(p[2] - v[2]) * (p[2] - v[2]);
}

static void test_nearest_palette(void **st)
{
    (void)st;
    hc_video_frame f;
    assert_int_equal(hc_video_frame_alloc(&f, 16, 16), 0);
    hc_picture *tc = make(HC_PIC_HALFBLOCK, HC_PIC_TRUECOLOR), *c256 = make(HC_PIC_HALFBLOCK, HC_PIC_256),
               *c16 = make(HC_PIC_HALFBLOCK, HC_PIC_16);
    int checked = 0;
    for (int r = 0; r < 256; r += 17)
        for (int g = 0; g < 256; g += 17)
            for (int b = 0; b < 256; b += 17) {
                fill_rgb(&f, 0, 0, 16, 16, (uint8_t)r, (uint8_t)g, (uint8_t)b);
                const hc_pic_cell *t = hc_picture_render(tc, &f, 1, 1);
                assert_non_null(t);
                const uint8_t *v = t->bg.v;
                long bd[2] = {1L << 40, 1L << 40};
                for (int i = 0; i < 256; i++) {
                    long d = dist_to(i, v);
                    int k = i >= 16;
                    if (d < bd[k]) bd[k] = d;
                }
                const hc_pic_cell *a = hc_picture_render(c256, &f, 1, 1), *b16 = hc_picture_render(c16, &f, 1, 1);
                assert_non_null(a);
                assert_non_null(b16);
                /* ties (equal distance) may go either way */
                assert_true(a->bg.v[0] >= 16);
                assert_int_equal(dist_to(a->bg.v[0], v), bd[1]);
                assert_true(b16->bg.v[0] < 16);
                assert_int_equal(dist_to(b16->bg.v[0], v), bd[0]);
                checked++;
            }
    assert_int_equal(checked, 16 * 16 * 16);
    hc_picture_free(tc);
    hc_picture_free(c256);
    hc_picture_free(c16);
    hc_video_frame_free(&f);
}

/* A picture split in two: left half red, right half blue, split at a cell boundary; and white
 * over black split in the middle of a cell row: that row shows white above, black below. */
static void test_split_picture(void **st)
{
    (void)st;
    hc_video_frame f;
    assert_int_equal(hc_video_frame_alloc(&f, 64, 36), 0);
    for (int r = 0; r < 2; r++) {
        hc_picture *p = make(renderers[r], HC_PIC_256);
        fill_rgb(&f, 0, 0, 32, 36, 255, 0, 0);
        fill_rgb(&f, 32, 0, 32, 36, 0, 0, 255);
        const hc_pic_cell *c = hc_picture_render(p, &f, 8, 4);
        assert_non_null(c);
        for (int y = 0; y < 4; y++)
            for (int x = 0; x < 8; x++) assert_shows(&c[y * 8 + x], idx(x < 4 ? 196 : 21));
        fill_rgb(&f, 0, 0, 64, 18, 255, 255, 255);
        fill_rgb(&f, 0, 18, 64, 18, 0, 0, 0);
        c = hc_picture_render(p, &f, 8, 3);     /* the split is at 1.5 rows */
        assert_non_null(c);
        for (int x = 0; x < 8; x++) {
            uint8_t up[3], down[3];
            assert_shows(&c[x], idx(231));
            assert_shows(&c[16 + x], idx(16));
            shown_at(&c[8 + x], 4, 3, up);
            shown_at(&c[8 + x], 4, 12, down);
            assert_int_equal(up[0], 255);
            assert_int_equal(down[0], 0);
        }
        hc_picture_free(p);
    }
    hc_video_frame_free(&f);
}

/* The pattern (and its camera-like version): the cells, re-rasterised, resemble the picture (PSNR
 * against it, far above what a wrong colour order or a shifted row would give), the corner stamp
 * is dark and light where the picture is, and each mode keeps to its colours. */
static void test_pattern(void **st)
{
    (void)st;
    hc_video_frame f;
    assert_int_equal(hc_video_frame_alloc(&f, 320, 180), 0);
    uint32_t lcg = 7;
    for (int cam = 0; cam < 2; cam++) {
        hc_pattern_draw(&f, 40, 1234);
        if (cam) hc_pattern_noise(&f, &lcg);
        for (int r = 0; r < 2; r++)
            for (int m = 0; m < HC_PIC_MODES; m++) {
                hc_picture *p = make(renderers[r], (hc_pic_mode)m);
                const hc_pic_cell *c = hc_picture_render(p, &f, 80, 24);
                assert_non_null(c);
                for (int k = 0; k < 80 * 24; k++) {
                    assert_true(c[k].ch[0] != 0);
                    const hc_color *col[2] = {&c[k].fg, &c[k].bg};
                    for (int j = 0; j < 2; j++) {
                        switch (m) {
                        case HC_PIC_256:
                            assert_int_equal(col[j]->kind, HC_COLOR_256);
                            assert_true(col[j]->v[0] >= 16);
                            break;
                        case HC_PIC_TRUECOLOR: assert_int_equal(col[j]->kind, HC_COLOR_RGB); break;
                        case HC_PIC_16:
                            assert_int_equal(col[j]->kind, HC_COLOR_256);
                            assert_true(col[j]->v[0] < 16);
                            break;
                        default: assert_int_equal(col[j]->kind, HC_COLOR_NONE); break;
                        }
                    }
                    for (const char *s = c[k].ch; m == HC_PIC_ASCII && *s; s++) assert_true((unsigned char)*s < 0x80);
                }
                /* ASCII glyphs have no coverage table; every other mode's do */
                double q = hc_picture_psnr(c, 80, 24, 8, 16, &f);
                /* measured (half-blocks, libchafa): 256 colours 24.3, 25.0; 24-bit 28.9, 31.7;
                 * 16 colours 16.0, 11.7; mono 16.6, 9.3 dB */
                double floor_db[HC_PIC_MODES] = {22, 26, 10, 8, -1};
                if (m == HC_PIC_ASCII) assert_true(q < 0);
                else assert_true(q >= floor_db[m]);
                /* the stamp's first row: frame 40 = bits 101000 at the end of 32 blocks of 4 px
                 * = 128 px of 320, in 80 columns: 32 columns, the last six are 4 px each. In
                 * colour, its light blocks are brighter than its dark ones. */
                if (m == HC_PIC_256 || m == HC_PIC_TRUECOLOR) {
                    uint8_t on[3], off[3];
                    shown_at(&c[26], 4, 1, on);      /* bit 5 of 40: 1 */
                    shown_at(&c[27], 4, 1, off);     /* bit 4: 0 */
                    assert_true(on[0] > off[0] + 100);
                }
                hc_picture_free(p);
            }
    }
    hc_video_frame_free(&f);
}

/* Blits the ASCII rendering into an ASCII grid: no byte >= 0x80 anywhere. */
static void test_ascii_grid(void **st)
{
    (void)st;
    hc_video_frame f;
    assert_int_equal(hc_video_frame_alloc(&f, 160, 90), 0);
    hc_pattern_draw(&f, 3, 0);
    for (int r = 0; r < 2; r++) {
        hc_picture *p = make(renderers[r], HC_PIC_ASCII);
        hc_grid g = {0};
        assert_int_equal(hc_grid_init(&g, 40, 12, 1), 0);
        const hc_pic_cell *c = hc_picture_render(p, &f, 40, 12);
        assert_non_null(c);
        hc_picture_blit(&g, 0, 0, c, 40, 12, HC_STY_NORMAL);
        int nonblank = 0;
        for (int y = 0; y < 12; y++) {
            char row[512];
            size_t n = hc_grid_row(&g, y, row, sizeof row);
            assert_int_equal(n, 40);
            for (size_t i = 0; i < n; i++) {
                assert_true((unsigned char)row[i] < 0x80 && (unsigned char)row[i] >= 0x20);
                nonblank += row[i] != ' ';
            }
        }
        assert_true(nonblank > 40);   /* a picture, not an empty box */
        /* and a colour rendering blitted into an ASCII grid is cut down to ASCII too */
        hc_picture_set_mode(p, HC_PIC_256);
        c = hc_picture_render(p, &f, 40, 12);
        hc_picture_blit(&g, 0, 0, c, 40, 12, HC_STY_NORMAL);
        for (int y = 0; y < 12; y++) {
            char row[512];
            size_t n = hc_grid_row(&g, y, row, sizeof row);
            for (size_t i = 0; i < n; i++) assert_true((unsigned char)row[i] < 0x80);
        }
        assert_int_equal(hc_grid_cat(&g, 5, 5)->fg.kind, HC_COLOR_256);
        hc_grid_free(&g);
        hc_picture_free(p);
    }
    hc_video_frame_free(&f);
}

/* Boxes from 1x1 to 500x200, pictures from 2x2 to 1920x1080: every cell of the box is drawn
 * (a glyph), blitting it at an offset into a larger grid writes the box and nothing around it;
 * sizes out of range are refused. Under ASan a write past the cells would stop the test. */
static void test_box_bounds(void **st)
{
    (void)st;
    static const int boxes[][2] = {{1, 1}, {2, 1}, {1, 3}, {3, 2}, {17, 5}, {80, 24}, {500, 1}, {1, 200}, {500, 200}};
    static const int pics[][2] = {{2, 2}, {4, 2}, {2, 6}, {6, 4}, {160, 90}, {1920, 1080}};
    for (size_t pi = 0; pi < sizeof pics / sizeof pics[0]; pi++) {
        hc_video_frame f;
        assert_int_equal(hc_video_frame_alloc(&f, pics[pi][0], pics[pi][1]), 0);
        hc_pattern_draw(&f, 9, 0);
        for (int r = 0; r < 2; r++)
            for (int m = 0; m < HC_PIC_MODES; m++) {
                hc_picture *p = make(renderers[r], (hc_pic_mode)m);
                for (size_t bi = 0; bi < sizeof boxes / sizeof boxes[0]; bi++) {
                    int w = boxes[bi][0], h = boxes[bi][1];
                    /* the largest box with every picture in the default mode only (time) */
                    if (w * h > 10000 && (m != HC_PIC_256 || (pi != 0 && pi != 5))) continue;
                    const hc_pic_cell *c = hc_picture_render(p, &f, w, h);
                    assert_non_null(c);
                    for (int k = 0; k < w * h; k++) {
                        assert_true(c[k].ch[0] != 0);
                        assert_true(strlen(c[k].ch) <= 4);
                    }
                    hc_grid g = {0};
                    assert_int_equal(hc_grid_init(&g, w + 4, h + 4, 0), 0);
                    hc_grid_fill(&g, 0, 0, w + 4, h + 4, HC_STY_DIM);
                    for (int y = 0; y < h + 4; y++) hc_grid_repeat(&g, 0, y, w + 4, HC_STY_DIM, "#");
                    hc_picture_blit(&g, 2, 1, c, w, h, HC_STY_NORMAL);
                    for (int y = 0; y < h + 4; y++)
                        for (int x = 0; x < w + 4; x++) {
                            const hc_cell *gc = hc_grid_cat(&g, x, y);
                            int inside = x >= 2 && x < 2 + w && y >= 1 && y < 1 + h;
                            assert_int_equal(gc->style, inside ? HC_STY_NORMAL : HC_STY_DIM);
                            if (!inside) {
                                assert_string_equal(gc->ch, "#");
                                assert_int_equal(gc->fg.kind, HC_COLOR_NONE);
                                assert_int_equal(gc->bg.kind, HC_COLOR_NONE);
                            }
                        }
                    /* clipped at every edge: a box larger than the grid, placed off its corner */
                    hc_picture_blit(&g, -3, -2, c, w, h, HC_STY_NORMAL);
                    hc_picture_blit(&g, w + 1, h + 3, c, w, h, HC_STY_NORMAL);
                    hc_grid_free(&g);
                }
                assert_null(hc_picture_render(p, &f, 0, 1));
                assert_null(hc_picture_render(p, &f, 1, 0));
                assert_null(hc_picture_render(p, &f, HC_PIC_MAX_W + 1, 1));
                assert_null(hc_picture_render(p, &f, 1, HC_PIC_MAX_H + 1));
                hc_picture_free(p);
            }
        hc_video_frame_free(&f);
    }
    /* a picture without planes or with a size out of range */
    hc_picture *p = make(HC_PIC_HALFBLOCK, HC_PIC_256);
    hc_video_frame none = {0};
    assert_null(hc_picture_render(p, &none, 4, 4));
    assert_null(hc_picture_render(p, NULL, 4, 4));
    hc_video_frame f;
    assert_int_equal(hc_video_frame_alloc(&f, 8, 8), 0);
    f.w = HC_VIDEO_MAX_W + 2;
    assert_null(hc_picture_render(p, &f, 4, 4));
    f.w = 8;
    f.stride_y = 4;
    assert_null(hc_picture_render(p, &f, 4, 4));
    f.stride_y = 8;
    assert_non_null(hc_picture_render(p, &f, 4, 4));
    hc_video_frame_free(&f);
    hc_picture_free(p);
}

/* Frames of one size reuse the state (no allocation, the same cells); a new box, a new picture
 * size or a new mode rebuild it once; what is drawn after a change is the new picture. */
static void test_state_reuse(void **st)
{
    (void)st;
    hc_video_frame a, b;
    assert_int_equal(hc_video_frame_alloc(&a, 160, 90), 0);
    assert_int_equal(hc_video_frame_alloc(&b, 320, 180), 0);
    for (int r = 0; r < 2; r++) {
        hc_picture *p = make(renderers[r], HC_PIC_256);
        assert_int_equal(hc_picture_allocs(p), 0);
        const hc_pic_cell *first = NULL;
        for (int i = 0; i < 10; i++) {
            fill_rgb(&a, 0, 0, 160, 90, i & 1 ? 255 : 0, 0, i & 1 ? 0 : 255);
            const hc_pic_cell *c = hc_picture_render(p, &a, 40, 12);
            assert_non_null(c);
            if (!first) first = c;
            assert_ptr_equal(c, first);
            assert_shows(&c[100], idx(i & 1 ? 196 : 21));   /* each frame drawn anew */
        }
        assert_int_equal(hc_picture_allocs(p), 1);
        const hc_pic_cell *c = hc_picture_render(p, &a, 30, 10);     /* a new box */
        assert_non_null(c);
        assert_int_equal(hc_picture_allocs(p), 2);
        fill_rgb(&b, 0, 0, 320, 180, 0, 255, 0);
        c = hc_picture_render(p, &b, 30, 10);                        /* a new picture size */
        assert_int_equal(hc_picture_allocs(p), 3);
        for (int k = 0; k < 300; k++) assert_shows(&c[k], idx(46));
        c = hc_picture_render(p, &b, 30, 10);
        assert_int_equal(hc_picture_allocs(p), 3);
        hc_picture_set_mode(p, HC_PIC_16);
        hc_picture_set_mode(p, HC_PIC_16);
        c = hc_picture_render(p, &b, 30, 10);
        assert_int_equal(hc_picture_allocs(p), 4);
        for (int k = 0; k < 300; k++) assert_shows(&c[k], idx(10));
        hc_picture_free(p);
    }
    hc_video_frame_free(&a);
    hc_video_frame_free(&b);
}

/* Glyph coverage: the cells' glyphs as a terminal draws them. */
static void test_coverage(void **st)
{
    (void)st;
    assert_int_equal(hc_picture_coverage(" ", 3, 3, 8, 16), 0);
    assert_int_equal(hc_picture_coverage("\xE2\x96\x88", 7, 15, 8, 16), 255);          /* █ */
    assert_int_equal(hc_picture_coverage("\xE2\x96\x80", 0, 7, 8, 16), 255);           /* ▀ */
    assert_int_equal(hc_picture_coverage("\xE2\x96\x80", 0, 8, 8, 16), 0);
    assert_int_equal(hc_picture_coverage("\xE2\x96\x84", 0, 8, 8, 16), 255);           /* ▄ */
    assert_int_equal(hc_picture_coverage("\xE2\x96\x81", 0, 13, 8, 16), 0);            /* ▁ lower 1/8 */
    assert_int_equal(hc_picture_coverage("\xE2\x96\x81", 0, 14, 8, 16), 255);
    assert_int_equal(hc_picture_coverage("\xE2\x96\x8F", 0, 5, 8, 16), 255);           /* ▏ left 1/8 */
    assert_int_equal(hc_picture_coverage("\xE2\x96\x8F", 1, 5, 8, 16), 0);
    assert_int_equal(hc_picture_coverage("\xE2\x96\x8A", 5, 5, 8, 16), 255);           /* ▊ left 3/4 */
    assert_int_equal(hc_picture_coverage("\xE2\x96\x8A", 6, 5, 8, 16), 0);
    assert_int_equal(hc_picture_coverage("\xE2\x96\x90", 4, 0, 8, 16), 255);           /* ▐ */
    assert_int_equal(hc_picture_coverage("\xE2\x96\x90", 3, 0, 8, 16), 0);
    assert_int_equal(hc_picture_coverage("\xE2\x96\x94", 0, 1, 8, 16), 255);           /* ▔ */
    assert_int_equal(hc_picture_coverage("\xE2\x96\x94", 0, 2, 8, 16), 0);
    assert_int_equal(hc_picture_coverage("\xE2\x96\x95", 7, 9, 8, 16), 255);           /* ▕ */
    assert_int_equal(hc_picture_coverage("\xE2\x96\x95", 6, 9, 8, 16), 0);
    assert_int_equal(hc_picture_coverage("\xE2\x96\x92", 6, 9, 8, 16), 128);           /* ▒ */
    /* quadrants ▚ (upper left + lower right) and ▟ (all but upper left) */
    assert_int_equal(hc_picture_coverage("\xE2\x96\x9A", 1, 1, 8, 16), 255);
    assert_int_equal(hc_picture_coverage("\xE2\x96\x9A", 6, 1, 8, 16), 0);
    assert_int_equal(hc_picture_coverage("\xE2\x96\x9A", 1, 14, 8, 16), 0);
    assert_int_equal(hc_picture_coverage("\xE2\x96\x9A", 6, 14, 8, 16), 255);
    assert_int_equal(hc_picture_coverage("\xE2\x96\x9F", 1, 1, 8, 16), 0);
    assert_int_equal(hc_picture_coverage("\xE2\x96\x9F", 6, 1, 8, 16), 255);
    assert_int_equal(hc_picture_coverage("\xE2\x96\x9F", 1, 14, 8, 16), 255);
    /* other glyphs and pixels outside the cell are unknown */
    assert_int_equal(hc_picture_coverage("a", 0, 0, 8, 16), -1);
    assert_int_equal(hc_picture_coverage("\xE2\x96\x80", 8, 0, 8, 16), -1);
    assert_int_equal(hc_picture_coverage("", 0, 0, 8, 16), -1);
    /* the palette: cube, greys, and xterm's 16 */
    uint8_t rgb[3];
    hc_picture_palette(196, rgb);
    assert_memory_equal(rgb, ((uint8_t[]){255, 0, 0}), 3);
    hc_picture_palette(31, rgb);
    assert_memory_equal(rgb, ((uint8_t[]){0, 135, 175}), 3);
    hc_picture_palette(244, rgb);
    assert_memory_equal(rgb, ((uint8_t[]){128, 128, 128}), 3);
    hc_picture_palette(12, rgb);
    assert_memory_equal(rgb, ((uint8_t[]){92, 92, 255}), 3);
}

/* Grid colours: additive. Cells start without colours, text leaves none, hc_grid_put sets both
 * and text written over it clears them; a wide or unsafe glyph is put as '?'. The cell stays
 * small and without padding (compared and copied per frame). */
static void test_grid_colour(void **st)
{
    (void)st;
    assert_int_equal(sizeof(hc_cell), 12 + 1 + 1 + 4 + 4);
    hc_grid g = {0};
    assert_int_equal(hc_grid_init(&g, 10, 3, 0), 0);
    hc_grid_text(&g, 0, 0, 10, HC_STY_BOLD, "hello");
    for (int x = 0; x < 10; x++) {
        assert_int_equal(hc_grid_cat(&g, x, 0)->fg.kind, HC_COLOR_NONE);
        assert_int_equal(hc_grid_cat(&g, x, 0)->bg.kind, HC_COLOR_NONE);
    }
    hc_color red = {HC_COLOR_256, {196, 0, 0}}, rgb = {HC_COLOR_RGB, {1, 2, 3}};
    hc_grid_put(&g, 2, 1, "\xE2\x96\x80", HC_STY_NORMAL, red, rgb);
    const hc_cell *c = hc_grid_cat(&g, 2, 1);
    assert_string_equal(c->ch, "\xE2\x96\x80");
    assert_int_equal(c->width, 1);
    assert_memory_equal(&c->fg, &red, sizeof red);
    assert_memory_equal(&c->bg, &rgb, sizeof rgb);
    hc_grid_put(&g, 10, 1, "x", HC_STY_NORMAL, red, red);     /* outside: nothing, no crash */
    hc_grid_put(&g, -1, 1, "x", HC_STY_NORMAL, red, red);
    hc_grid_put(&g, 3, 1, "\xE6\xBC\xA2", HC_STY_NORMAL, red, red);   /* 漢: two columns */
    assert_string_equal(hc_grid_cat(&g, 3, 1)->ch, "?");
    assert_int_equal(hc_grid_cat(&g, 4, 1)->width, 1);
    hc_grid_put(&g, 4, 1, "\x1b", HC_STY_NORMAL, red, red);
    assert_string_equal(hc_grid_cat(&g, 4, 1)->ch, "?");
    hc_grid_text(&g, 0, 1, 10, HC_STY_NORMAL, "text over");
    for (int x = 0; x < 10; x++) assert_int_equal(hc_grid_cat(&g, x, 1)->fg.kind, HC_COLOR_NONE);
    hc_grid_put(&g, 0, 2, "\xE2\x96\x80", HC_STY_NORMAL, red, red);
    hc_grid_clear(&g);
    assert_int_equal(hc_grid_cat(&g, 0, 2)->fg.kind, HC_COLOR_NONE);
    assert_string_equal(hc_grid_cat(&g, 0, 2)->ch, " ");
    /* a wide character written over a picture cell's neighbour clears the cell it covers */
    hc_grid_put(&g, 1, 0, "\xE2\x96\x80", HC_STY_NORMAL, red, red);
    hc_grid_text(&g, 0, 0, 10, HC_STY_NORMAL, "\xE6\xBC\xA2");
    assert_int_equal(hc_grid_cat(&g, 1, 0)->width, 0);
    assert_int_equal(hc_grid_cat(&g, 1, 0)->fg.kind, HC_COLOR_NONE);
    hc_grid_free(&g);
}

/* Colour hysteresis (what the screen uses): on a camera-like clip far fewer cells change from
 * frame to frame and the picture stays within a dB of the plain nearest colours; a new state
 * (another box) starts from the plain colours. */
static void test_hysteresis(void **st)
{
    (void)st;
    hc_video_frame f;
    assert_int_equal(hc_video_frame_alloc(&f, 160, 90), 0);
    hc_pic_opts plain = {.renderer = HC_PIC_HALFBLOCK, .mode = HC_PIC_256};
    hc_pic_opts sticky = plain;
    sticky.hysteresis = HC_PIC_HYSTERESIS;
    hc_picture *a = hc_picture_new(&plain), *b = hc_picture_new(&sticky);
    assert_non_null(a);
    assert_non_null(b);
    enum { W = 60, H = 20, N = 20 };
    static hc_pic_cell pa[W * H], pb[W * H];
    uint32_t lcg = 7;
    long changed_a = 0, changed_b = 0;
    double psnr_a = 0, psnr_b = 0;
    for (int i = 0; i < N; i++) {
        hc_pattern_draw(&f, (uint32_t)i, 0);
        hc_pattern_noise(&f, &lcg);
        const hc_pic_cell *ca = hc_picture_render(a, &f, W, H), *cb = hc_picture_render(b, &f, W, H);
        assert_non_null(ca);
        assert_non_null(cb);
        psnr_a += hc_picture_psnr(ca, W, H, 8, 16, &f);
        psnr_b += hc_picture_psnr(cb, W, H, 8, 16, &f);
        for (int k = 0; k < W * H && i; k++) {
            changed_a += memcmp(&pa[k].fg, &ca[k].fg, sizeof ca[k].fg) || memcmp(&pa[k].bg, &ca[k].bg, sizeof ca[k].bg);
            changed_b += memcmp(&pb[k].fg, &cb[k].fg, sizeof cb[k].fg) || memcmp(&pb[k].bg, &cb[k].bg, sizeof cb[k].bg);
        }
        memcpy(pa, ca, sizeof pa);
        memcpy(pb, cb, sizeof pb);
    }
    printf("hysteresis %d: %ld cells changed (plain %ld), %.2f dB (plain %.2f)\n", HC_PIC_HYSTERESIS, changed_b,
           changed_a, psnr_b / N, psnr_a / N);
    assert_true(changed_b * 10 < changed_a * 7);          /* at least 30 % fewer changes */
    assert_true(psnr_b / N > psnr_a / N - 1.0);
    /* a new state (another box) starts from the nearest colours: the first frame is the plain one */
    const hc_pic_cell *ca = hc_picture_render(a, &f, W + 2, H), *cb = hc_picture_render(b, &f, W + 2, H);
    for (int k = 0; k < (W + 2) * H; k++) {
        assert_memory_equal(&ca[k].fg, &cb[k].fg, sizeof ca[k].fg);
        assert_memory_equal(&ca[k].bg, &cb[k].bg, sizeof ca[k].bg);
    }
    hc_picture_free(a);
    hc_picture_free(b);
    hc_video_frame_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_solid_colours), cmocka_unit_test(test_nearest_palette),
        cmocka_unit_test(test_split_picture),
        cmocka_unit_test(test_pattern),       cmocka_unit_test(test_ascii_grid),
        cmocka_unit_test(test_box_bounds),    cmocka_unit_test(test_state_reuse),
        cmocka_unit_test(test_coverage),      cmocka_unit_test(test_grid_colour),
        cmocka_unit_test(test_hysteresis),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
