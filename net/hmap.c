/* Open addressing with linear probing and tombstones; grows at 70 % load. */
#include "net/hmap.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define DELETED 0xFF

int hc_hmap_init(hc_hmap *m) {
    memset(m, 0, sizeof *m);
    m->cap = 64;
    m->slots = calloc(m->cap, sizeof *m->slots);
    if (!m->slots) return -1;
    randombytes_buf(m->sipkey, sizeof m->sipkey);
    return 0;
}

void hc_hmap_free(hc_hmap *m) {
    free(m->slots);
    memset(m, 0, sizeof *m);
}

static size_t hash(const hc_hmap *m, const void *key, size_t klen) {
    uint8_t h[8];
    crypto_shorthash(h, key, klen, m->sipkey);
    uint64_t v;
    memcpy(&v, h, 8);
    return (size_t)v;
}

static hc_hmap_slot *find(const hc_hmap *m, const void *key, size_t klen) {
    size_t mask = m->cap - 1, i = hash(m, key, klen) & mask;
    for (size_t n = 0; n < m->cap; n++, i = (i + 1) & mask) {
        hc_hmap_slot *s = &m->slots[i];
        if (s->klen == 0) return NULL;
        if (s->klen == klen && !memcmp(s->key, key, klen)) return s;
    }
    return NULL;
}

void *hc_hmap_get(const hc_hmap *m, const void *key, size_t klen) {
    if (klen == 0 || klen > HC_HMAP_KEY_MAX) return NULL;
    hc_hmap_slot *s = find(m, key, klen);
    return s ? s->val : NULL;
}

static int grow(hc_hmap *m) {
    size_t ncap = m->count * 2 >= m->cap / 2 ? m->cap * 2 : m->cap; /* same size just drops tombstones */
    hc_hmap_slot *old = m->slots;
    size_t ocap = m->cap;
    hc_hmap_slot *ns = calloc(ncap, sizeof *ns);
    if (!ns) return -1;
    m->slots = ns;
    m->cap = ncap;
    m->count = m->used = 0;
    for (size_t i = 0; i < ocap; i++)
        if (old[i].klen && old[i].klen != DELETED) hc_hmap_put(m, old[i].key, old[i].klen, old[i].val);
    free(old);
    return 0;
}

int hc_hmap_put(hc_hmap *m, const void *key, size_t klen, void *val) {
    if (klen == 0 || klen > HC_HMAP_KEY_MAX) return -1;
    hc_hmap_slot *s = find(m, key, klen);
    if (s) { s->val = val; return 0; }
    if ((m->used + 1) * 10 > m->cap * 7 && grow(m) < 0) return -1;
    size_t mask = m->cap - 1, i = hash(m, key, klen) & mask;
    for (;; i = (i + 1) & mask) {
        s = &m->slots[i];
        if (s->klen == 0 || s->klen == DELETED) break;
    }
    if (s->klen == 0) m->used++;
    s->klen = (uint8_t)klen;
    memcpy(s->key, key, klen);
    s->val = val;
    m->count++;
    return 0;
}

void *hc_hmap_del_slot(hc_hmap *m, hc_hmap_slot *s) {
    void *v = s->val;
    s->klen = DELETED;
    s->val = NULL;
    m->count--;
    return v;
}

void *hc_hmap_del(hc_hmap *m, const void *key, size_t klen) {
    if (klen == 0 || klen > HC_HMAP_KEY_MAX) return NULL;
    hc_hmap_slot *s = find(m, key, klen);
    return s ? hc_hmap_del_slot(m, s) : NULL;
}

hc_hmap_slot *hc_hmap_next(const hc_hmap *m, size_t *i) {
    if (!m->slots) return NULL;   /* never initialised, freed, or its first allocation failed */
    while (*i < m->cap) {
        hc_hmap_slot *s = &m->slots[(*i)++];
        if (s->klen && s->klen != DELETED) return s;
    }
    return NULL;
}
