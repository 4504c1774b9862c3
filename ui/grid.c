/* The cell grid (see grid.h). */
#include "ui/grid.h"

#include <stdlib.h>
#include <string.h>

#include "ui/text.h"

int hc_grid_init(hc_grid *g, int w, int h, int ascii) {
    if (w < 1) w = 1;
    if (h < 1) h = 1;
    if (w > HC_GRID_MAX_W) w = HC_GRID_MAX_W;
    if (h > HC_GRID_MAX_H) h = HC_GRID_MAX_H;
    if (!g->cells || g->w * g->h != w * h) {
        hc_cell *c = realloc(g->cells, sizeof *c * (size_t)w * (size_t)h);
        if (!c) return -1;
        g->cells = c;
    }
    g->w = w;
    g->h = h;
    g->ascii = ascii;
    hc_grid_clear(g);
    return 0;
}

void hc_grid_free(hc_grid *g) {
    free(g->cells);
    memset(g, 0, sizeof *g);
}

void hc_grid_clear(hc_grid *g) {
    /* Written directly, not through set_cell: fresh cells from realloc hold no valid widths. */
    g->cursor_x = g->cursor_y = -1;
    for (size_t i = 0; i < (size_t)g->w * (size_t)g->h; i++) {
        memcpy(g->cells[i].ch, " ", 2);
        g->cells[i].width = 1;
        g->cells[i].style = HC_STY_NORMAL;
        g->cells[i].fg = g->cells[i].bg = (hc_color){0};
    }
}

hc_cell *hc_grid_at(hc_grid *g, int x, int y) {
    if (!g->cells || x < 0 || y < 0 || x >= g->w || y >= g->h) return NULL;
    return &g->cells[(size_t)y * (size_t)g->w + (size_t)x];
}

const hc_cell *hc_grid_cat(const hc_grid *g, int x, int y) {
    return hc_grid_at((hc_grid *)g, x, y);
}

/* Writes a glyph without colours (text is drawn in its style's colours). */
static void set_cell(hc_grid *g, int x, int y, const char *bytes, size_t n, int width, uint8_t style) {
    hc_cell *c = hc_grid_at(g, x, y);
    if (!c) return;
    /* Overwriting half of a wide character leaves the other half as a plain space. */
    if (c->width == 0 && x > 0) {
        hc_cell *l = hc_grid_at(g, x - 1, y);
        if (l && l->width == 2) { strcpy(l->ch, " "); l->width = 1; }
    } else if (c->width == 2) {
        hc_cell *r = hc_grid_at(g, x + 1, y);
        if (r && r->width == 0) { strcpy(r->ch, " "); r->width = 1; }
    }
    memcpy(c->ch, bytes, n);
    c->ch[n] = 0;
    c->width = (uint8_t)width;
    c->style = style;
    c->fg = c->bg = (hc_color){0};
    if (width == 2) {
        hc_cell *r = hc_grid_at(g, x + 1, y);
        if (r) {
            if (r->width == 2) {
                hc_cell *rr = hc_grid_at(g, x + 2, y);
                if (rr && rr->width == 0) { strcpy(rr->ch, " "); rr->width = 1; }
            }
            r->ch[0] = 0; r->width = 0; r->style = style; r->fg = r->bg = (hc_color){0};
        }
    }
}

void hc_grid_fill(hc_grid *g, int x, int y, int w, int h, uint8_t style) {
    for (int r = y; r < y + h; r++)
        for (int c = x; c < x + w; c++) set_cell(g, c, r, " ", 1, 1, style);
}

/* One glyph as we will draw it: the bytes, its width, and how many input bytes it used. */
typedef struct {
    char b[12];
    size_t n;
    int w;
} glyph;

static size_t next_glyph(const hc_grid *g, const char *s, size_t len, glyph *out) {
    uint32_t cp;
    int ok;
    size_t k = hc_utf8_next(s, len, &cp, &ok);
    if (!ok || hc_cp_unsafe(cp) || (g->ascii && cp >= 0x80)) {
        out->b[0] = '?'; out->n = 1; out->w = 1;
        /* In ASCII mode a character and its combining marks become one '?'. */
        size_t used = k;
        while (g->ascii && used < len) {
            uint32_t c2;
            int ok2;
            size_t k2 = hc_utf8_next(s + used, len - used, &c2, &ok2);
            if (!ok2 || hc_cp_width(c2) != 0 || c2 < 0x300) break;
            used += k2;
        }
        return used;
    }
    int w = hc_cp_width(cp);
    if (w == 0) {                     /* a combining mark with nothing before it */
        out->b[0] = ' '; out->n = 1; out->w = 1;
        return k;
    }
    memcpy(out->b, s, k);
    out->n = k; out->w = w;
    /* Keep up to two following combining marks in the same cell. */
    size_t used = k;
    while (used < len) {
        uint32_t c2;
        int ok2;
        size_t k2 = hc_utf8_next(s + used, len - used, &c2, &ok2);
        if (!ok2 || hc_cp_unsafe(c2) || hc_cp_width(c2) != 0) break;
        /* ASCII mode drops the mark (e + U+0301 is drawn as e), so no byte >= 0x80 escapes. */
        if (!g->ascii && out->n + k2 < sizeof out->b) { memcpy(out->b + out->n, s + used, k2); out->n += k2; }
        used += k2;
    }
    return used;
}

static int text_width_g(const hc_grid *g, const char *s) {
    int w = 0;
    size_t len = strlen(s);
    glyph gl;
    while (len) {
        size_t k = next_glyph(g, s, len, &gl);
        w += gl.w;
        s += k; len -= k;
    }
    return w;
}

int hc_grid_width(const hc_grid *g, const char *s) { return text_width_g(g, s); }

size_t hc_grid_fit(const hc_grid *g, const char *s, size_t len, int maxw, int *w) {
    size_t used = 0;
    int col = 0;
    glyph gl;
    while (used < len) {
        size_t k = next_glyph(g, s + used, len - used, &gl);
        if (col + gl.w > maxw) break;
        col += gl.w;
        used += k;
    }
    if (w) *w = col;
    return used;
}

static int write_text(hc_grid *g, int x, int y, int maxw, uint8_t style, const char *s, int ellipsis) {
    if (!s || y < 0 || y >= g->h || x >= g->w) return 0;
    if (x < 0) { maxw += x; x = 0; }
    if (maxw > g->w - x) maxw = g->w - x;
    if (maxw <= 0) return 0;
    int total = text_width_g(g, s);
    int avail = maxw;
    const char *ell = g->ascii ? "..." : "\xE2\x80\xA6";   /* "…" */
    int ellw = g->ascii ? 3 : 1;
    int cut = total > maxw;
    if (cut && ellipsis) {
        if (maxw <= ellw) { ell = g->ascii ? "." : ell; ellw = 1; }
        avail = maxw - ellw;
    }
    int col = 0;
    size_t len = strlen(s);
    glyph gl;
    while (len) {
        size_t k = next_glyph(g, s, len, &gl);
        if (col + gl.w > avail) break;
        set_cell(g, x + col, y, gl.b, gl.n, gl.w, style);
        col += gl.w;
        s += k; len -= k;
    }
    if (cut && ellipsis) {
        /* A wide character that did not fit leaves a column: pad before the ellipsis. */
        while (col < avail) set_cell(g, x + col++, y, " ", 1, 1, style);
        for (const char *e = ell; *e && col < maxw;) {
            size_t n = g->ascii ? 1 : strlen(e);
            set_cell(g, x + col++, y, e, n, 1, style);
            e += n;
        }
    } else if (cut) {
        while (col < maxw) set_cell(g, x + col++, y, " ", 1, 1, style);
    }
    return col;
}

int hc_grid_text(hc_grid *g, int x, int y, int maxw, uint8_t style, const char *s) {
    return write_text(g, x, y, maxw, style, s, 1);
}

int hc_grid_text_clip(hc_grid *g, int x, int y, int maxw, uint8_t style, const char *s) {
    return write_text(g, x, y, maxw, style, s, 0);
}

int hc_grid_text_right(hc_grid *g, int x_end, int y, uint8_t style, const char *s) {
    int w = text_width_g(g, s);
    int x = x_end - w;
    if (x < 0) x = 0;
    hc_grid_text(g, x, y, x_end - x, style, s);
    return x;
}

void hc_grid_repeat(hc_grid *g, int x, int y, int n, uint8_t style, const char *glyph_s) {
    glyph gl;
    size_t len = strlen(glyph_s);
    if (!len) return;
    next_glyph(g, glyph_s, len, &gl);
    for (int i = 0; i < n; i++) {
        if (x + gl.w > g->w) break;
        set_cell(g, x, y, gl.b, gl.n, gl.w, style);
        x += gl.w;
    }
}

void hc_grid_put(hc_grid *g, int x, int y, const char *glyph_s, uint8_t style, hc_color fg, hc_color bg) {
    glyph gl;
    size_t len = glyph_s ? strlen(glyph_s) : 0;
    if (!hc_grid_at(g, x, y)) return;
    if (len) next_glyph(g, glyph_s, len, &gl);
    if (!len || gl.w != 1) { gl.b[0] = len ? '?' : ' '; gl.n = 1; }
    set_cell(g, x, y, gl.b, gl.n, 1, style);
    hc_cell *c = hc_grid_at(g, x, y);
    c->fg = fg;
    c->bg = bg;
}

size_t hc_grid_row(const hc_grid *g, int y, char *out, size_t cap) {
    size_t o = 0;
    if (!cap) return 0;
    for (int x = 0; x < g->w && y >= 0 && y < g->h; x++) {
        const hc_cell *c = hc_grid_cat(g, x, y);
        size_t n = strlen(c->ch);
        if (o + n + 1 > cap) break;
        memcpy(out + o, c->ch, n);
        o += n;
    }
    out[o] = 0;
    return o;
}
