/* The video view's data (issue 14): who is shown where, the pictures the screen keeps between
 * frames, and the cells each tile's picture was last drawn as. Pure: no curses, no clock, no I/O.
 * The view model draws the tiles with it (viewmodel.c); the ncurses front end feeds it pictures
 * and paints what changed (tui.c).
 *
 *   cast      the active speaker (or the pinned member) large, up to three thumbnails, and our
 *             own small self-view while our camera is on;
 *   geometry  where those tiles go in a rectangle of cells: a picture box of the pictures' shape
 *             (16:9: a half-block cell shows two pixels, one above the other, so a box of W x H
 *             cells is W x 2H pixels) with a label line under each box;
 *   pictures  a copy of the latest picture of each member (allocated when its size changes,
 *             never per picture), a counter that says which picture is newer, and per tile the
 *             rendered cells (ui/picture.h), so a redraw of the rest of the screen reuses them and
 *             only a new picture renders anew. */
#ifndef HC_UI_TILES_H
#define HC_UI_TILES_H

#include <stddef.h>
#include <stdint.h>

#include "ui/frontend.h"
#include "ui/picture.h"

#define HC_TILE_THUMBS 3
#define HC_TILES_MAX (2 + HC_TILE_THUMBS)     /* main, thumbnails, self */
#define HC_VPICS_MAX 17                        /* pictures kept: the 16 senders we decode, and ours */

typedef enum { HC_TILE_MAIN, HC_TILE_THUMB, HC_TILE_SELF } hc_tile_kind;

typedef struct {
    int x, y, w, h;
} hc_rect;

typedef struct {
    hc_tile_kind kind;
    uint32_t index;        /* the participant shown; 0 for a main tile when nobody else is here */
    hc_rect pic;           /* the picture's box */
    hc_rect label;         /* the line under it: name, talking meter, mute and frozen marks */
} hc_tile;

typedef struct {
    int n;
    hc_tile t[HC_TILES_MAX];
} hc_tiles;

/* Who is shown. */
typedef struct {
    uint32_t main;                        /* 0: nobody else is here (yet) */
    uint32_t thumbs[HC_TILE_THUMBS];
    int n_thumbs;
    uint32_t self;                        /* our index while the self-view shows (camera on), else 0 */
} hc_video_cast;

typedef struct hc_vpics hc_vpics;

/* The main tile: the pinned member, else the active speaker, else the first member with a
 * picture, else the first other member. Thumbnails: the other members, those with a picture
 * first, in list order (a stable order: tiles do not jump when someone speaks). People waiting
 * to be admitted are not in the meeting and get no tile. pics may be NULL (no pictures). */
void hc_video_cast_choose(const hc_view_participant *parts, size_t n, uint32_t pinned, uint32_t speaker,
                          int camera_on, const hc_vpics *pics, hc_video_cast *out);

/* Tiles for a cast of n_side side tiles (thumbnails, then the self-view) in the area: the main
 * box as large as the area allows with every side tile at most half its height, side tiles in a
 * column beside it, in two columns, or in a row under it, whichever shows the most picture.
 * Fills out->t[0] (main) and out->t[1..n_side] with kind and boxes; the caller sets the indices.
 * An area too small for a main box of 8 x 2 cells gets no tiles (out->n = 0). */
void hc_video_geometry(hc_rect area, int n_side, hc_tiles *out);

/* The largest box of cells inside w x h that shows a pw x ph picture in its shape, centred:
 * (*x, *y) its offset inside, (*bw, *bh) its size (a half-block cell is two pixels tall). */
void hc_video_fit(int w, int h, int pw, int ph, int *x, int *y, int *bw, int *bh);

/* ---- the pictures ---- */

hc_vpics *hc_vpics_new(void);
void hc_vpics_free(hc_vpics *v);
/* The colour mode and renderer pictures are drawn in (the front end's; the default: 256 colours,
 * half-blocks). A change redraws every tile. */
void hc_vpics_set_mode(hc_vpics *v, hc_pic_mode mode);
hc_pic_mode hc_vpics_mode(const hc_vpics *v);
void hc_vpics_set_renderer(hc_vpics *v, hc_pic_renderer r);
/* Keeps a copy of member index's picture (the newest one: it replaces the last). When all slots
 * are taken, the picture that has waited longest since its last update goes. 0, or -1 (out of
 * memory, or a picture without planes or outside HC_VIDEO_MAX_*: nothing is kept). */
int hc_vpics_put(hc_vpics *v, uint32_t index, const hc_video_frame *f);
/* Forgets member index's picture (its video stopped, or it left). */
void hc_vpics_drop(hc_vpics *v, uint32_t index);
/* Forgets the pictures of members not in parts (they left). */
void hc_vpics_retain(hc_vpics *v, const hc_view_participant *parts, size_t n);
/* Whether a picture of member index is kept. */
int hc_vpics_has(const hc_vpics *v, uint32_t index);
/* The kept picture of member index, or NULL. */
const hc_video_frame *hc_vpics_get(const hc_vpics *v, uint32_t index);
/* The rendered cells of member index's picture for tile slot (0..HC_TILES_MAX-1) in a box of
 * w x h cells, row by row; NULL when there is no picture (or rendering failed). fresh: render the
 * newest picture; 0: the cells the slot last rendered when it is still for that member and box,
 * so a redraw of the screen paints no picture the video's own pace has not (tui.c). Valid until
 * the next call for that slot. */
const hc_pic_cell *hc_vpics_cells(hc_vpics *v, int slot, uint32_t index, int w, int h, int fresh);
/* Whether tile slot's cells are of member index's picture in a box of w x h. */
int hc_vpics_shown(const hc_vpics *v, int slot, uint32_t index, int w, int h);
/* Whether member index has a newer picture than tile slot last rendered of it. */
int hc_vpics_stale(const hc_vpics *v, int slot, uint32_t index);
/* Pictures rendered so far (tests, the front end's figures). */
unsigned long hc_vpics_renders(const hc_vpics *v);

#endif
