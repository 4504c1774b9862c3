/* Member index -> pointer, in O(1): a two-level table over indexes 0..65535 (256 pages of 256
 * slots, a page allocated when its first slot is set and freed with its last). A meeting of 1000
 * consecutive indexes costs 4 pages (8 KB) plus the 2 KB directory, where a flat table would
 * cost 512 KB for every participant that holds one. Used for members by the meeting state
 * machine and the relay, whose lookups by index sit on the path of every frame. */
#ifndef HC_ITAB_H
#define HC_ITAB_H

#include <stdint.h>

#define HC_ITAB_MAX 0xFFFFu   /* largest index held */

typedef struct {
    void **page[256];
    uint16_t used[256];       /* slots set per page */
} hc_itab;

/* A zeroed hc_itab is empty and ready. */
static inline void *hc_itab_get(const hc_itab *t, uint32_t index) {
    if (index > HC_ITAB_MAX) return 0;
    void **p = t->page[index >> 8];
    return p ? p[index & 0xFF] : 0;
}
/* Sets (val != NULL) or clears a slot. Returns 0, or -1 for an index out of range or out of memory. */
int hc_itab_set(hc_itab *t, uint32_t index, void *val);
void hc_itab_free(hc_itab *t);

#endif
