/* Colour pairs for picture cells on the ncurses screen. A video frame shows thousands of
 * (foreground, background) combinations of the 256 colours, and the next frame others, more over
 * a call than a terminal has pairs (32767 on many). ncurses 6.4's alloc_pair() is documented to
 * recycle the least recently allocated pair when the table is full, but returns -1 instead
 * (measured: tests/test_ui_pairs.c), so the pairs are kept here: each pair counts the cells on
 * the screen drawn in it, and a pair no cell uses any more is redefined for new colours, the one
 * released longest ago first. A pair still on the screen is never redefined (that would recolour
 * those cells), the table never runs out while the screen has fewer cells than pairs, and memory is
 * allocated once (256 KB for the colours-to-pair map), however long the call. Never ncurses'
 * direct-colour (24-bit) pairs. Needs a started screen with colours; one table per screen. */
#ifndef HC_UI_CPAIR_H
#define HC_UI_CPAIR_H

#include "ui/grid.h"

typedef struct hc_cpairs hc_cpairs;

/* Pairs first..limit-1 are this table's (the screen's styles keep the ones below first). NULL
 * when out of memory or there is no room. */
hc_cpairs *hc_cpairs_new(int first, int limit);
void hc_cpairs_free(hc_cpairs *t);
/* The pair for a cell with two xterm-256 colours (HC_COLOR_256), counted as used by one more cell
 * on the screen: the same pair as long as some cell uses those colours; when they are new, a pair
 * never used or the one released longest ago, defined for them. -1 for any other cell (drawn in
 * its style's colours), and when every pair is on the screen. */
int hc_cpairs_take(hc_cpairs *t, const hc_cell *c);
/* A cell drawn with hc_cpairs_take was overwritten on the screen: its pair counts one cell fewer. */
void hc_cpairs_release(hc_cpairs *t, const hc_cell *c);
/* Nothing is on the screen any more (it is drawn anew): every pair may be redefined. */
void hc_cpairs_release_all(hc_cpairs *t);
/* Pairs defined so far (at most limit - first) and redefined for other colours (tests). */
unsigned hc_cpairs_defined(const hc_cpairs *t);
unsigned long hc_cpairs_recycled(const hc_cpairs *t);

#endif
