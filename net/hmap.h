/* A small open-addressing hash map from short byte keys (<= 32 bytes) to pointers. The relay
 * uses it for connections, meetings, media tokens, endpoints and per-address connection counts
 * (lookups on the forwarding path must not allocate or scan), a meeting for its receive keys. Keys are copied in; values are borrowed. Hash: SipHash with a
 * per-map random key, so a hostile peer cannot force collisions. */
#ifndef HC_HMAP_H
#define HC_HMAP_H

#include <stddef.h>
#include <stdint.h>

#define HC_HMAP_KEY_MAX 32

typedef struct {
    uint8_t klen;             /* 0 = empty slot; 0xFF = deleted */
    uint8_t key[HC_HMAP_KEY_MAX];
    void *val;
} hc_hmap_slot;

typedef struct {
    hc_hmap_slot *slots;
    size_t cap, count, used;  /* used = live + deleted */
    uint8_t sipkey[16];
} hc_hmap;

int hc_hmap_init(hc_hmap *m);
void hc_hmap_free(hc_hmap *m);
void *hc_hmap_get(const hc_hmap *m, const void *key, size_t klen);
/* Inserts or replaces. Returns 0, or -1 (out of memory or key too long). */
int hc_hmap_put(hc_hmap *m, const void *key, size_t klen, void *val);
/* Removes; returns the old value or NULL. */
void *hc_hmap_del(hc_hmap *m, const void *key, size_t klen);

/* Iteration over the live entries, in slot order:
 *     hc_hmap_slot *s;
 *     for (size_t i = 0; (s = hc_hmap_next(m, &i));) ... s->key, s->klen, s->val ...
 * The entry just returned may be removed (hc_hmap_del_slot, or hc_hmap_del of any key) without
 * disturbing the iteration; nothing may be put while it runs (that can move every entry). */
hc_hmap_slot *hc_hmap_next(const hc_hmap *m, size_t *i);
/* Removes the entry in a slot hc_hmap_next returned; returns its value. */
void *hc_hmap_del_slot(hc_hmap *m, hc_hmap_slot *s);

#endif
