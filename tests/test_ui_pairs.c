/* Colour pairs for video on the ncurses screen (ui/cpair.h), driven as the front end drives them:
 * a screen of cells, each frame's changed cells written, the pair of an overwritten cell released
 * and the new cell's taken. The screen writes to /dev/null, so no terminal is needed.
 *
 *   - ncurses 6.4's own alloc_pair() does not recycle when its table is full (it returns -1):
 *     checked here, since that is why the pairs are ours;
 *   - a call's pictures (the pattern with fresh sensor noise each frame): 10 000 frames, a few
 *     thousand pairs, every cell in a pair of its own two colours;
 *   - the worst case: 10 000 frames of cells in random colours on a terminal with 32767 pairs
 *     (fewer than the 240 x 240 combinations of colours 16..255): the table fills within dozens
 *     of frames and is recycled for the rest; a pair on the screen is never redefined (every cell
 *     of every frame checked), the screen's style pairs are never touched, and the heap does not
 *     grow over the second half. */
#include "tests/testutil.h"

#include <curses.h>
#include <malloc.h>

#include "ui/cpair.h"
#include "ui/picture.h"
#include "video/pattern.h"

#define FRAMES 10000
#define STYLE_PAIRS 15

static size_t heap_now(void) { return mallinfo2().uordblks; }

typedef struct {
    FILE *out, *in;
    SCREEN *scr;
} screen;

static void screen_open(screen *s, const char *term) {
    s->out = fopen("/dev/null", "w");
    s->in = fopen("/dev/null", "r");
    assert_non_null(s->out);
    assert_non_null(s->in);
    s->scr = newterm(term, s->out, s->in);
    assert_non_null(s->scr);
    set_term(s->scr);
    assert_int_equal(start_color(), OK);
    use_default_colors();
    assert_true(COLORS >= 256);
    /* the screen's own styles: fixed pairs that video must never take */
    for (int p = 1; p <= STYLE_PAIRS; p++) init_pair((short)p, (short)(p % 8), -1);
}

static void screen_close(screen *s) {
    for (short p = 1; p <= STYLE_PAIRS; p++) {
        short fg, bg;
        assert_int_equal(pair_content(p, &fg, &bg), OK);
        assert_int_equal(fg, p % 8);
        assert_int_equal(bg, -1);
    }
    endwin();
    delscreen(s->scr);
    fclose(s->out);
    fclose(s->in);
}

/* Why cpair.c exists: alloc_pair() stops at a full table instead of recycling. */
static void test_alloc_pair_does_not_recycle(void **state) {
    (void)state;
    screen s;
    screen_open(&s, "rxvt-unicode-256color");
    int failed = 0;
    for (int fg = 16; fg < 256 && !failed; fg++)
        for (int bg = 16; bg < 256 && !failed; bg++)
            if (alloc_pair(fg, bg) < 0) failed = 1;
    printf("alloc_pair: %s after the table's %d pairs\n", failed ? "fails" : "still works", COLOR_PAIRS);
    assert_true(failed);                              /* if this fails, alloc_pair recycles now */
    screen_close(&s);
}

/* Random colours from 16..255 for every cell (a half-block picture cannot ask for that many:
 * the two pixels of a cell share their chroma in 4:2:0, which keeps a real clip to some thousands
 * of combinations; libchafa's cells, or a 4:4:4 picture, could). */
static void noise_cells(hc_pic_cell *c, int n, uint32_t *lcg) {
    for (int k = 0; k < n; k++) {
        *lcg = *lcg * 1664525u + 1013904223u;
        c[k].fg = (hc_color){HC_COLOR_256, {(uint8_t)(16 + (*lcg >> 8) % 240), 0, 0}};
        c[k].bg = (hc_color){HC_COLOR_256, {(uint8_t)(16 + (*lcg >> 20) % 240), 0, 0}};
        memcpy(c[k].ch, "\xE2\x96\x80", 4);
    }
}

typedef struct {
    unsigned defined;
    unsigned long recycled;
    ssize_t heap_growth;           /* over the second half of the run */
} run_result;

/* FRAMES frames into a w x h screen: changed cells written as the front end writes them. */
static run_result run(const char *term, int noise, int w, int h) {
    run_result r = {0, 0, 0};
    screen s;
    screen_open(&s, term);
    hc_cpairs *t = hc_cpairs_new(STYLE_PAIRS + 1, COLOR_PAIRS);
    assert_non_null(t);
    hc_cell *shown = calloc((size_t)w * (size_t)h, sizeof *shown);
    hc_pic_cell *rnd = calloc((size_t)w * (size_t)h, sizeof *rnd);
    assert_non_null(shown);
    assert_non_null(rnd);
    hc_video_frame f;
    assert_int_equal(hc_video_frame_alloc(&f, 160, 90), 0);
    hc_picture *pic = hc_picture_new(NULL);
    assert_non_null(pic);
    uint32_t lcg = 1;
    size_t heap_mid = 0;
    for (int i = 0; i < FRAMES; i++) {
        const hc_pic_cell *c;
        if (noise) {
            noise_cells(rnd, w * h, &lcg);
            c = rnd;
        } else {
            hc_pattern_draw(&f, (uint32_t)i, (uint32_t)i * 67u);
            hc_pattern_noise(&f, &lcg);
            c = hc_picture_render(pic, &f, w, h);
            assert_non_null(c);
        }
        for (int k = 0; k < w * h; k++) {
            hc_cell cell = {.width = 1, .fg = c[k].fg, .bg = c[k].bg};
            if (i && !memcmp(&shown[k].fg, &cell.fg, sizeof cell.fg) && !memcmp(&shown[k].bg, &cell.bg, sizeof cell.bg))
                continue;                             /* unchanged: not written */
            if (i) hc_cpairs_release(t, &shown[k]);
            int pair = hc_cpairs_take(t, &cell);
            assert_true(pair > STYLE_PAIRS && pair < COLOR_PAIRS);   /* always one, never a style's */
            shown[k] = cell;
            wattr_set(stdscr, A_NORMAL, 0, &pair);
            mvwaddstr(stdscr, k / w, k % w, c[k].ch);
        }
        /* every cell on the screen is in a pair of its own colours: none was redefined under it */
        for (int k = 0; k < w * h; k++) {
            int pair = hc_cpairs_take(t, &shown[k]), fg = -2, bg = -2;
            hc_cpairs_release(t, &shown[k]);
            assert_int_equal(extended_pair_content(pair, &fg, &bg), OK);
            assert_int_equal(fg, shown[k].fg.v[0]);
            assert_int_equal(bg, shown[k].bg.v[0]);
        }
        wnoutrefresh(stdscr);
        doupdate();
        if (i == FRAMES / 2) heap_mid = heap_now();
    }
    r.heap_growth = (ssize_t)heap_now() - (ssize_t)heap_mid;
    r.defined = hc_cpairs_defined(t);
    r.recycled = hc_cpairs_recycled(t);
    printf("%s (%d pairs), %s, %dx%d cells, %d frames: %u pairs defined, %lu redefined, heap %+zd bytes over "
           "the second half\n",
           term, COLOR_PAIRS, noise ? "random colours" : "camera-like clip", w, h, FRAMES, r.defined, r.recycled,
           r.heap_growth);
    hc_picture_free(pic);
    hc_video_frame_free(&f);
    free(rnd);
    free(shown);
    hc_cpairs_free(t);
    screen_close(&s);
    return r;
}

/* A call's pictures: a few thousand pairs, far from the table's end; nothing grows. */
static void test_pairs_camera_like(void **state) {
    (void)state;
    run_result r = run("xterm-256color", 0, 64, 18);
    assert_int_equal(r.recycled, 0);
    assert_true(r.heap_growth <= 64 * 1024);
}

/* The worst case: the table fills and is recycled, and memory stays where it was. */
static void test_pairs_recycled(void **state) {
    (void)state;
    run_result r = run("rxvt-unicode-256color", 1, 48, 13);
    assert_int_equal(r.defined, 32767 - STYLE_PAIRS - 1);   /* the whole table was used... */
    assert_true(r.recycled > 1000000);                      /* ...and recycled, not grown */
    assert_true(r.heap_growth <= 64 * 1024);
}

/* A screen with more cells than pairs: the cells that find none are drawn without (-1), and
 * pairs come back when cells are overwritten. */
static void test_pairs_exhausted(void **state) {
    (void)state;
    screen s;
    screen_open(&s, "rxvt-unicode-256color");
    hc_cpairs *t = hc_cpairs_new(20, 24);             /* four pairs */
    assert_non_null(t);
    hc_cell c[6];
    for (int k = 0; k < 6; k++)
        c[k] = (hc_cell){.width = 1, .fg = {HC_COLOR_256, {(uint8_t)(16 + k), 0, 0}}, .bg = {HC_COLOR_256, {17, 0, 0}}};
    for (int k = 0; k < 4; k++) assert_int_equal(hc_cpairs_take(t, &c[k]), 20 + k);
    assert_int_equal(hc_cpairs_take(t, &c[4]), -1);            /* all four on the screen */
    assert_int_equal(hc_cpairs_take(t, &c[1]), 21);            /* the same colours share */
    hc_cpairs_release(t, &c[1]);
    hc_cpairs_release(t, &c[1]);                               /* now nothing uses pair 21 */
    hc_cpairs_release(t, &c[2]);                               /* nor 22 */
    assert_int_equal(hc_cpairs_take(t, &c[4]), 21);            /* released longest ago */
    assert_int_equal(hc_cpairs_take(t, &c[5]), 22);
    int fg, bg;
    extended_pair_content(21, &fg, &bg);
    assert_int_equal(fg, 20);
    hc_cpairs_release_all(t);                                  /* a full repaint */
    assert_int_equal(hc_cpairs_take(t, &c[1]), 20);            /* the oldest of those released */
    assert_int_equal(hc_cpairs_recycled(t), 3);
    /* a cell that is not a picture cell has no pair */
    hc_cell text = {.width = 1};
    assert_int_equal(hc_cpairs_take(t, &text), -1);
    hc_cpairs_free(t);
    screen_close(&s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alloc_pair_does_not_recycle), cmocka_unit_test(test_pairs_camera_like),
        cmocka_unit_test(test_pairs_recycled), cmocka_unit_test(test_pairs_exhausted)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
