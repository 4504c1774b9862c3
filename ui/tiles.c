/* The video view's data (see tiles.h). */
#include "ui/tiles.h"

#include <stdlib.h>
#include <string.h>

/* ---- who is shown ---- */

static int in_meeting(const hc_view_participant *p) { return !p->waiting; }

static int present(const hc_view_participant *parts, size_t n, uint32_t index) {
    for (size_t i = 0; index && i < n; i++)
        if (parts[i].index == index && !parts[i].is_self && in_meeting(&parts[i])) return 1;
    return 0;
}

void hc_video_cast_choose(const hc_view_participant *parts, size_t n, uint32_t pinned, uint32_t speaker,
                          int camera_on, const hc_vpics *pics, hc_video_cast *out) {
    memset(out, 0, sizeof *out);
    if (present(parts, n, pinned)) out->main = pinned;
    else if (present(parts, n, speaker)) out->main = speaker;
    for (int pass = 0; pass < 2 && !out->main; pass++)      /* with a picture first, then anyone */
        for (size_t i = 0; i < n && !out->main; i++)
            if (!parts[i].is_self && in_meeting(&parts[i]) && (pass || (pics && hc_vpics_has(pics, parts[i].index))))
                out->main = parts[i].index;
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < n && out->n_thumbs < HC_TILE_THUMBS; i++) {
            const hc_view_participant *p = &parts[i];
            if (p->is_self || !in_meeting(p) || p->index == out->main) continue;
            int has = pics && hc_vpics_has(pics, p->index);
            if (pass == 0 ? has : !has) out->thumbs[out->n_thumbs++] = p->index;
        }
    for (size_t i = 0; i < n && camera_on; i++)
        if (parts[i].is_self) out->self = parts[i].index;
}

/* ---- geometry ---- */

/* A box of the default picture's shape (16:9) in cells: 32 columns for 9 rows. */
static int cols_for_rows(int rows) { return (rows * 32 + 4) / 9; }
static int rows_for_cols(int cols) { return cols * 9 / 32; }

/* The largest 16:9 box in w x h. */
static void fit169(int w, int h, int *bw, int *bh) {
    if (w < 1 || h < 1) { *bw = *bh = 0; return; }
    int rh = h, cw = cols_for_rows(h);
    if (cw > w) {
        cw = w;
        rh = rows_for_cols(w);
        if (rh < 1) rh = 1;
    }
    *bw = cw;
    *bh = rh;
}

void hc_video_fit(int w, int h, int pw, int ph, int *x, int *y, int *bw, int *bh) {
    *x = *y = 0;
    *bw = w > 0 ? w : 0;
    *bh = h > 0 ? h : 0;
    if (w < 1 || h < 1 || pw < 1 || ph < 1) return;
    /* In pixels the box is w x 2h; the picture fills it in one direction. */
    if ((long)pw * 2 * h > (long)ph * w) {              /* wider than the box: full width */
        int rh = (int)(((long)w * ph + pw) / (2L * pw));
        if (rh < 1) rh = 1;
        if (rh > h) rh = h;
        *bh = rh;
        *y = (h - rh) / 2;
    } else {                                            /* taller: full height */
        int cw = (int)(((long)2 * h * pw + ph / 2) / ph);
        if (cw < 1) cw = 1;
        if (cw > w) cw = w;
        *bw = cw;
        *x = (w - cw) / 2;
    }
}

enum { ARR_COLUMN, ARR_TWO_COLUMNS, ARR_ROW };

typedef struct {
    long area;
    int arr, mw, mh, sw, sh;
} plan;

/* One arrangement with side boxes sh rows tall (label lines excluded): the main box it leaves. */
static int try_plan(int arr, int W, int H, int k, int sh, plan *p) {
    int sw = cols_for_rows(sh), mw = 0, mh = 0;
    if (k == 0) {
        fit169(W, H - 1, &mw, &mh);
        sh = sw = 0;
    } else if (arr == ARR_COLUMN) {
        if (k * (sh + 1) > H || sw + 1 >= W) return 0;
        fit169(W - sw - 1, H - 1, &mw, &mh);
    } else if (arr == ARR_TWO_COLUMNS) {
        int rows = (k + 1) / 2;
        if (k < 3 || rows * (sh + 1) > H || 2 * sw + 2 >= W) return 0;
        fit169(W - 2 * sw - 2, H - 1, &mw, &mh);
    } else {
        if (k * sw + (k - 1) > W || sh + 1 >= H - 1) return 0;
        fit169(W, H - 1 - (sh + 1), &mw, &mh);
    }
    if (mw < 8 || mh < 2) return 0;
    if (k && 2 * sh > mh) return 0;            /* the speaker is large: twice a thumbnail's height */
    p->area = (long)mw * mh + (long)k * sw * sh;
    p->arr = arr;
    p->mw = mw, p->mh = mh, p->sw = sw, p->sh = sh;
    return 1;
}

static void set_tile(hc_tile *t, hc_tile_kind kind, int x, int y, int w, int h) {
    t->kind = kind;
    t->pic = (hc_rect){x, y, w, h};
    t->label = (hc_rect){x, y + h, w, 1};
}

void hc_video_geometry(hc_rect a, int k, hc_tiles *out) {
    memset(out, 0, sizeof *out);
    if (k < 0) k = 0;
    if (k > HC_TILES_MAX - 1) k = HC_TILES_MAX - 1;
    plan best = {.area = -1}, p;
    for (int arr = ARR_COLUMN; arr <= ARR_ROW; arr++)
        for (int sh = 1; sh < a.h; sh++) {
            /* The most picture; on a tie the first arrangement and the smaller thumbnails. */
            if (try_plan(arr, a.w, a.h, k, sh, &p) && p.area > best.area) best = p;
            if (!k) break;
        }
    if (best.area < 0) return;
    int k_tiles = k;
    out->n = 1 + k_tiles;
    int x0, y0 = a.y;
    if (best.arr == ARR_ROW) {
        x0 = a.x + (a.w - best.mw) / 2;
        set_tile(&out->t[0], HC_TILE_MAIN, x0, y0, best.mw, best.mh);
        int row_w = k * best.sw + (k - 1), rx = a.x + (a.w - row_w) / 2, ry = y0 + best.mh + 1;
        for (int i = 0; i < k; i++) set_tile(&out->t[1 + i], HC_TILE_THUMB, rx + i * (best.sw + 1), ry, best.sw, best.sh);
        return;
    }
    int cols = best.arr == ARR_TWO_COLUMNS ? 2 : k ? 1 : 0;
    int group = best.mw + cols * (best.sw + 1);
    x0 = a.x + (a.w - group) / 2;
    set_tile(&out->t[0], HC_TILE_MAIN, x0, y0, best.mw, best.mh);
    int rows = cols == 2 ? (k + 1) / 2 : k;
    for (int i = 0; i < k; i++) {
        int c = rows ? i / rows : 0, r = rows ? i % rows : 0;
        set_tile(&out->t[1 + i], HC_TILE_THUMB, x0 + best.mw + 1 + c * (best.sw + 1), y0 + r * (best.sh + 1), best.sw,
                 best.sh);
    }
}

/* ---- the pictures ---- */

typedef struct {
    int used;
    uint32_t index;
    hc_video_frame f;              /* owned; reallocated only when the size changes */
    uint64_t serial;               /* which picture this is (newer pictures: larger) */
} pic_slot;

typedef struct {
    hc_picture *pic;
    uint32_t index;
    int w, h;
    uint64_t serial;               /* of the picture rendered (0: nothing rendered) */
    const hc_pic_cell *cells;
} tile_cache;

struct hc_vpics {
    pic_slot p[HC_VPICS_MAX];
    tile_cache t[HC_TILES_MAX];
    hc_pic_mode mode;
    hc_pic_renderer renderer;
    uint64_t serial;
    unsigned long renders;
};

hc_vpics *hc_vpics_new(void) {
    hc_vpics *v = calloc(1, sizeof *v);
    if (!v) return NULL;
    v->mode = HC_PIC_256;
    v->renderer = HC_PIC_DEFAULT;
    return v;
}

static void drop_tiles(hc_vpics *v) {
    for (int i = 0; i < HC_TILES_MAX; i++) {
        hc_picture_free(v->t[i].pic);
        memset(&v->t[i], 0, sizeof v->t[i]);
    }
}

void hc_vpics_free(hc_vpics *v) {
    if (!v) return;
    for (int i = 0; i < HC_VPICS_MAX; i++) hc_video_frame_free(&v->p[i].f);
    drop_tiles(v);
    free(v);
}

void hc_vpics_set_mode(hc_vpics *v, hc_pic_mode mode) {
    if ((unsigned)mode >= HC_PIC_MODES || mode == v->mode) return;
    v->mode = mode;
    drop_tiles(v);
}

hc_pic_mode hc_vpics_mode(const hc_vpics *v) { return v->mode; }

void hc_vpics_set_renderer(hc_vpics *v, hc_pic_renderer r) {
    if (r == v->renderer) return;
    v->renderer = r;
    drop_tiles(v);
}

static pic_slot *find(const hc_vpics *v, uint32_t index) {
    for (int i = 0; i < HC_VPICS_MAX; i++)
        if (v->p[i].used && v->p[i].index == index) return (pic_slot *)&v->p[i];
    return NULL;
}

int hc_vpics_put(hc_vpics *v, uint32_t index, const hc_video_frame *f) {
    if (!f || !f->y || !f->u || !f->v || f->w < 2 || f->h < 2 || f->w > HC_VIDEO_MAX_W || f->h > HC_VIDEO_MAX_H ||
        (f->w & 1) || (f->h & 1))
        return -1;
    pic_slot *s = find(v, index);
    if (!s) {
        for (int i = 0; i < HC_VPICS_MAX && !s; i++)
            if (!v->p[i].used) s = &v->p[i];
        if (!s) {                       /* full: the picture updated longest ago goes */
            s = &v->p[0];
            for (int i = 1; i < HC_VPICS_MAX; i++)
                if (v->p[i].serial < s->serial) s = &v->p[i];
        }
    }
    if (!s->f.owned || s->f.w != f->w || s->f.h != f->h) {
        hc_video_frame_free(&s->f);
        if (hc_video_frame_alloc(&s->f, f->w, f->h) < 0) {
            s->used = 0;
            return -1;
        }
    }
    hc_video_frame_copy_scaled(&s->f, f);
    s->used = 1;
    s->index = index;
    s->serial = ++v->serial;
    return 0;
}

void hc_vpics_drop(hc_vpics *v, uint32_t index) {
    pic_slot *s = find(v, index);
    if (s) s->used = 0;                 /* the planes stay allocated for the next member */
}

void hc_vpics_retain(hc_vpics *v, const hc_view_participant *parts, size_t n) {
    for (int i = 0; i < HC_VPICS_MAX; i++) {
        if (!v->p[i].used) continue;
        size_t k = 0;
        while (k < n && parts[k].index != v->p[i].index) k++;
        if (k == n) v->p[i].used = 0;
    }
}

int hc_vpics_has(const hc_vpics *v, uint32_t index) { return find(v, index) != NULL; }

const hc_video_frame *hc_vpics_get(const hc_vpics *v, uint32_t index) {
    const pic_slot *s = find(v, index);
    return s ? &s->f : NULL;
}

int hc_vpics_stale(const hc_vpics *v, int slot, uint32_t index) {
    const pic_slot *s = find(v, index);
    if (!s || slot < 0 || slot >= HC_TILES_MAX) return 0;
    return v->t[slot].index != index || v->t[slot].serial != s->serial;
}

int hc_vpics_shown(const hc_vpics *v, int slot, uint32_t index, int w, int h) {
    if (slot < 0 || slot >= HC_TILES_MAX) return 0;
    const tile_cache *c = &v->t[slot];
    return c->cells && c->index == index && c->w == w && c->h == h;
}

const hc_pic_cell *hc_vpics_cells(hc_vpics *v, int slot, uint32_t index, int w, int h, int fresh) {
    pic_slot *s = find(v, index);
    if (!s || slot < 0 || slot >= HC_TILES_MAX) return NULL;
    tile_cache *c = &v->t[slot];
    int same = c->cells && c->index == index && c->w == w && c->h == h;
    if (same && (!fresh || c->serial == s->serial)) return c->cells;
    if (!c->pic) {
        /* colour hysteresis: about half the bytes for a quarter of a dB (bench_render) */
        hc_pic_opts o = {.renderer = v->renderer, .mode = v->mode, .hysteresis = HC_PIC_HYSTERESIS};
        c->pic = hc_picture_new(&o);
        if (!c->pic) return NULL;
    }
    const hc_pic_cell *cells = hc_picture_render(c->pic, &s->f, w, h);
    if (!cells) {
        c->cells = NULL;
        return NULL;
    }
    c->cells = cells;
    c->index = index;
    c->w = w;
    c->h = h;
    c->serial = s->serial;
    v->renders++;
    return cells;
}

unsigned long hc_vpics_renders(const hc_vpics *v) { return v->renders; }
