/* The pure view model: (hc_view_state copy + local UI state + terminal size) -> a grid of cells
 * with text and styles. No curses, no I/O, no clock: the same inputs always give the same
 * screen, which is what the unit tests check.
 *
 * Layout, top to bottom (usable from 80x24 up; smaller sizes degrade but never overflow):
 *   header      meeting id, E2EE / NOT ENCRYPTED YET badge, leader, LOCKED, epoch, duration
 *   code        the security code in 8 groups of 5 and VERIFIED / NOT VERIFIED - press v
 *   alert       the persistent security alert (red) until dismissed; else "reconnecting" while
 *               the relay is lost; else the audio note
 *   admission   (leader, when someone waits) name + fingerprint, a: admit, d: deny
 *   list        participants: #, name, fingerprint, role, mic, live level bar, loss, jitter
 *   (or, in the video view that t toggles, the tiles: the active speaker or the pinned member
 *   large, up to three thumbnails and our own small self-view while the camera is on, each with
 *   a label line: name, talking meter, MUTED, FROZEN, PINNED; see ui/tiles.h)
 *   log         events and chat, newest at the bottom, wrapped
 *   input       chat or /command being typed (or a hint)
 *   status      your mic badge and camera badge (CAM ON / CAM OFF; both always visible) and the
 *               main keys
 * plus a centred dialog on top (help, verify, leave, kick, leader changed). */
#ifndef HC_UI_VIEWMODEL_H
#define HC_UI_VIEWMODEL_H

#include <stddef.h>

#include "ui/grid.h"
#include "ui/uistate.h"

/* What the frame looked like, fed back into the UI state so keys can scroll the list and log by
 * what is actually visible. */
typedef struct {
    int list_y, list_rows;     /* participant rows shown */
    size_t list_first;         /* first participant shown */
    int log_y, log_rows;
    int input_y, status_y;
    int alert_y;               /* -1 when no alert line */
    int video;                 /* the video view was drawn: tiles holds its tiles */
    hc_tiles tiles;
} hc_layout;

/* Draws the whole screen into g (already sized with hc_grid_init). lay may be NULL. Tiles show the
 * pictures they showed last (a new picture is drawn by hc_vm_video_step); a tile that is new, for
 * another member or of another size shows the newest one. */
void hc_vm_render(hc_grid *g, const hc_ui *ui, hc_layout *lay);

/* The video's own pace: the pictures newer than what the tiles of lay (the last hc_vm_render's)
 * show are drawn into g, and nothing else is. When that cannot be done in place (a dialog is
 * open, a tile had no picture yet), the whole screen is drawn again with the newest pictures.
 * Returns how many tiles got a new picture. */
int hc_vm_video_step(hc_grid *g, const hc_ui *ui, hc_layout *lay);

/* The level bar for a dBFS value: cells filled of n (-60 dBFS and below: none, 0 dBFS: all). */
int hc_vm_level_cells(int level_dbfs, int n);

#endif
