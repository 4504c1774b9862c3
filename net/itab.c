/* The index table (see net/itab.h). */
#include "net/itab.h"

#include <stdlib.h>
#include <string.h>

int hc_itab_set(hc_itab *t, uint32_t index, void *val) {
    if (index > HC_ITAB_MAX) return -1;
    unsigned pg = index >> 8, slot = index & 0xFF;
    void **p = t->page[pg];
    if (!p) {
        if (!val) return 0;
        p = t->page[pg] = calloc(256, sizeof *p);
        if (!p) return -1;
    }
    if (!p[slot] && val) t->used[pg]++;
    else if (p[slot] && !val) t->used[pg]--;
    p[slot] = val;
    if (!t->used[pg]) {
        free(p);
        t->page[pg] = NULL;
    }
    return 0;
}

void hc_itab_free(hc_itab *t) {
    for (int i = 0; i < 256; i++) free(t->page[i]);
    memset(t, 0, sizeof *t);
}
