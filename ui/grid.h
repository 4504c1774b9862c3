/* A screen as plain data: w x h cells, each one glyph (UTF-8, with up to two combining marks)
 * and a style. The view model draws into a grid; the ncurses front end paints it; tests read it
 * back as text. No curses here.
 *
 * Text written with hc_grid_text never leaves its box: it is cut to the given width with an
 * ellipsis, never wraps, and unsafe characters (controls, bidi overrides) are drawn as '?'. In
 * ASCII mode every non-ASCII character is drawn as '?', so an ASCII grid holds no byte >= 0x80. */
#ifndef HC_UI_GRID_H
#define HC_UI_GRID_H

#include <stddef.h>
#include <stdint.h>

/* Styles are meanings, not colours: the front end maps them to colour pairs, or to bold/reverse
 * on a monochrome terminal. HC_STY_SEL may be or-ed onto any style (the selected row). */
enum {
    HC_STY_NORMAL = 0,
    HC_STY_DIM,
    HC_STY_BOLD,
    HC_STY_HEADER,      /* the title bar */
    HC_STY_OK,          /* E2EE badge, VERIFIED */
    HC_STY_BAD,         /* NOT ENCRYPTED YET */
    HC_STY_WARN,        /* NOT VERIFIED, waiting person, audio note */
    HC_STY_ALERT,       /* security alerts: red, loud */
    HC_STY_CODE,        /* the security code digits */
    HC_STY_LEADER,
    HC_STY_MUTED,
    HC_STY_TALK,        /* level bar of someone talking */
    HC_STY_METER,       /* level bar, quiet */
    HC_STY_CHAT,
    HC_STY_STATUS,      /* the status line */
    HC_STY_KEY,         /* a key name in the status line or help */
    HC_STY_DIALOG,
    HC_STY_BORDER,
    HC_STY_INPUT,
    HC_STY_COUNT,
    HC_STY_SEL = 0x80,
};

/* An optional colour of a cell, beside its style: video cells carry the picture's colours so
 * that a front end can paint them and tests can read them back. Bytes only (no padding), so a
 * cell compares with memcmp and costs 4 bytes per colour. */
enum {
    HC_COLOR_NONE = 0,  /* the style's colour (every cell that is not a picture) */
    HC_COLOR_256,       /* an xterm-256 palette index in v[0] (0..15 are the 16 ANSI colours) */
    HC_COLOR_RGB,       /* 24-bit: v[0], v[1], v[2] = red, green, blue */
};
typedef struct {
    uint8_t kind;
    uint8_t v[3];
} hc_color;

typedef struct {
    char ch[12];        /* "" for the right half of a wide character */
    uint8_t width;      /* 1 or 2; 0 for the right half of a wide character */
    uint8_t style;
    hc_color fg, bg;    /* HC_COLOR_NONE unless a picture was put here (hc_grid_put) */
} hc_cell;

typedef struct {
    int w, h;
    int ascii;
    int cursor_x, cursor_y;   /* where the terminal cursor goes, or -1: hidden */
    hc_cell *cells;
} hc_grid;

#define HC_GRID_MAX_W 1000
#define HC_GRID_MAX_H 500

/* Sizes are clamped to 1..HC_GRID_MAX_*. Returns 0, or -1 when out of memory. Reuses the cells
 * if the grid is already allocated. Clears to spaces. */
int hc_grid_init(hc_grid *g, int w, int h, int ascii);
void hc_grid_free(hc_grid *g);
void hc_grid_clear(hc_grid *g);
hc_cell *hc_grid_at(hc_grid *g, int x, int y);
const hc_cell *hc_grid_cat(const hc_grid *g, int x, int y);
/* Fills a rectangle with spaces in style. */
void hc_grid_fill(hc_grid *g, int x, int y, int w, int h, uint8_t style);
/* Writes s at (x, y) in at most maxw columns (and never past the right edge); cut with an
 * ellipsis when longer. Returns the columns written. */
int hc_grid_text(hc_grid *g, int x, int y, int maxw, uint8_t style, const char *s);
/* Same, cutting at maxw without an ellipsis (for bars and fillers). */
int hc_grid_text_clip(hc_grid *g, int x, int y, int maxw, uint8_t style, const char *s);
/* Writes s right-aligned so that it ends at column x_end (exclusive). Returns its start. */
int hc_grid_text_right(hc_grid *g, int x_end, int y, uint8_t style, const char *s);
/* Columns s takes when written to this grid (ASCII mode turns every non-ASCII character into
 * one '?'). */
int hc_grid_width(const hc_grid *g, const char *s);
/* How many bytes of s fit in maxw columns (never cutting a character); *w gets their width. */
size_t hc_grid_fit(const hc_grid *g, const char *s, size_t len, int maxw, int *w);
/* Writes n copies of one glyph. */
void hc_grid_repeat(hc_grid *g, int x, int y, int n, uint8_t style, const char *glyph);
/* Puts one single-width glyph (its first character; unsafe or, in ASCII mode, non-ASCII
 * characters and wide ones become '?') with explicit colours at (x, y); nothing outside the grid.
 * Text written over the cell later clears its colours. */
void hc_grid_put(hc_grid *g, int x, int y, const char *glyph, uint8_t style, hc_color fg, hc_color bg);
/* Row y as UTF-8 text (trailing spaces kept); returns the length. For tests and dumps. */
size_t hc_grid_row(const hc_grid *g, int y, char *out, size_t cap);

#endif
