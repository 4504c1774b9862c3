/* Colour pairs for picture cells (see cpair.h). */
#include "ui/cpair.h"

#include <curses.h>
#include <stdint.h>
#include <stdlib.h>

#define NKEYS 65536                      /* fg * 256 + bg */

struct hc_cpairs {
    int first, limit;
    int next_new;                        /* the next pair never defined */
    int32_t *pair_of;                    /* [NKEYS]: the pair of two colours, 0: none */
    /* per pair (indexed by pair - first) */
    uint16_t *key;
    uint32_t *refs;                      /* cells on the screen in this pair */
    int32_t *prev, *next;                /* the released list (refs 0), oldest first; -1: none */
    int32_t head, tail;
    unsigned long recycled;
};

hc_cpairs *hc_cpairs_new(int first, int limit) {
    if (first < 1 || limit <= first) return NULL;
    hc_cpairs *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    size_t n = (size_t)(limit - first);
    t->first = first;
    t->limit = limit;
    t->next_new = first;
    t->head = t->tail = -1;
    t->pair_of = calloc(NKEYS, sizeof *t->pair_of);
    t->key = calloc(n, sizeof *t->key);
    t->refs = calloc(n, sizeof *t->refs);
    t->prev = malloc(n * sizeof *t->prev);
    t->next = malloc(n * sizeof *t->next);
    if (!t->pair_of || !t->key || !t->refs || !t->prev || !t->next) {
        hc_cpairs_free(t);
        return NULL;
    }
    return t;
}

void hc_cpairs_free(hc_cpairs *t) {
    if (!t) return;
    free(t->pair_of);
    free(t->key);
    free(t->refs);
    free(t->prev);
    free(t->next);
    free(t);
}

static int key_of(const hc_cell *c) {
    if (c->fg.kind != HC_COLOR_256 || c->bg.kind != HC_COLOR_256) return -1;
    return c->fg.v[0] << 8 | c->bg.v[0];
}

static void unlink_released(hc_cpairs *t, int i) {
    if (t->prev[i] >= 0) t->next[t->prev[i]] = t->next[i];
    else t->head = t->next[i];
    if (t->next[i] >= 0) t->prev[t->next[i]] = t->prev[i];
    else t->tail = t->prev[i];
}

static void append_released(hc_cpairs *t, int i) {
    t->prev[i] = t->tail;
    t->next[i] = -1;
    if (t->tail >= 0) t->next[t->tail] = i;
    else t->head = i;
    t->tail = i;
}

int hc_cpairs_take(hc_cpairs *t, const hc_cell *c) {
    int k = key_of(c);
    if (k < 0) return -1;
    int pair = t->pair_of[k];
    if (pair) {
        int i = pair - t->first;
        if (t->refs[i]++ == 0) unlink_released(t, i);
        return pair;
    }
    if (t->next_new < t->limit) {
        pair = t->next_new++;
    } else if (t->head >= 0) {            /* the pair released longest ago gets the new colours */
        int i = t->head;
        unlink_released(t, i);
        pair = t->first + i;
        if (t->pair_of[t->key[i]] == pair) t->pair_of[t->key[i]] = 0;
        t->recycled++;
    } else {
        return -1;                         /* every pair is on the screen */
    }
    if (init_extended_pair(pair, c->fg.v[0], c->bg.v[0]) != OK) {
        append_released(t, pair - t->first);   /* not usable: keep it for a later try */
        return -1;
    }
    int i = pair - t->first;
    t->key[i] = (uint16_t)k;
    t->refs[i] = 1;
    t->pair_of[k] = pair;
    return pair;
}

void hc_cpairs_release(hc_cpairs *t, const hc_cell *c) {
    int k = key_of(c);
    if (k < 0 || !t->pair_of[k]) return;
    int i = t->pair_of[k] - t->first;
    if (t->refs[i] && --t->refs[i] == 0) append_released(t, i);
}

void hc_cpairs_release_all(hc_cpairs *t) {
    for (int i = 0; i < t->next_new - t->first; i++)
        if (t->refs[i]) {
            t->refs[i] = 0;
            append_released(t, i);
        }
}

unsigned hc_cpairs_defined(const hc_cpairs *t) { return (unsigned)(t->next_new - t->first); }
unsigned long hc_cpairs_recycled(const hc_cpairs *t) { return t->recycled; }
