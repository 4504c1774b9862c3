/* The simulated clock: a binary min-heap of events ordered by (due time, id). Ids grow, so
 * events due at the same time run in the order they were scheduled. Cancelling marks the event
 * (found by a linear scan: a simulated call has tens of pending events, not thousands) and it is
 * dropped when it reaches the top. */
#include "audio/vclock.h"

#include <stdlib.h>
#include <uv.h>

typedef struct {
    uint64_t t, id;
    hc_vclock_fn fn;
    void *ctx;
    int cancelled;
} vc_event;

struct hc_vclock {
    uint64_t now, next_id, ran;
    vc_event *heap;
    size_t n, cap;
    uint64_t (*late_ns)(void *ctx);
    void *late_ctx;
};

static int before(const vc_event *a, const vc_event *b) { return a->t < b->t || (a->t == b->t && a->id < b->id); }

static void swap(vc_event *a, vc_event *b) {
    vc_event t = *a;
    *a = *b;
    *b = t;
}

static void sift_up(hc_vclock *c, size_t i) {
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!before(&c->heap[i], &c->heap[p])) break;
        swap(&c->heap[i], &c->heap[p]);
        i = p;
    }
}

static void sift_down(hc_vclock *c, size_t i) {
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < c->n && before(&c->heap[l], &c->heap[m])) m = l;
        if (r < c->n && before(&c->heap[r], &c->heap[m])) m = r;
        if (m == i) break;
        swap(&c->heap[i], &c->heap[m]);
        i = m;
    }
}

static vc_event pop(hc_vclock *c) {
    vc_event top = c->heap[0];
    c->heap[0] = c->heap[--c->n];
    if (c->n) sift_down(c, 0);
    return top;
}

hc_vclock *hc_vclock_new(uint64_t start_ns) {
    hc_vclock *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->now = start_ns;
    c->next_id = 1;
    return c;
}

void hc_vclock_free(hc_vclock *c) {
    if (!c) return;
    free(c->heap);
    free(c);
}

uint64_t hc_vclock_now(const hc_vclock *c) { return c->now; }
uint64_t hc_clock_now(const hc_vclock *c) { return c ? c->now : uv_hrtime(); }
uint64_t hc_vclock_events_run(const hc_vclock *c) { return c->ran; }

uint64_t hc_vclock_at(hc_vclock *c, uint64_t t_ns, hc_vclock_fn fn, void *ctx) {
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 64;
        vc_event *h = realloc(c->heap, cap * sizeof *h);
        if (!h) return 0;
        c->heap = h;
        c->cap = cap;
    }
    if (t_ns < c->now) t_ns = c->now;
    if (c->late_ns) t_ns += c->late_ns(c->late_ctx);
    uint64_t id = c->next_id++;
    c->heap[c->n] = (vc_event){t_ns, id, fn, ctx, 0};
    sift_up(c, c->n++);
    return id;
}

void hc_vclock_cancel(hc_vclock *c, uint64_t id) {
    if (!id) return;
    for (size_t i = 0; i < c->n; i++)
        if (c->heap[i].id == id) {
            c->heap[i].cancelled = 1;
            return;
        }
}

void hc_vclock_run_until(hc_vclock *c, uint64_t t_end_ns) {
    if (t_end_ns < c->now) t_end_ns = c->now;
    while (c->n && c->heap[0].t <= t_end_ns) {
        vc_event e = pop(c);
        if (e.cancelled) continue;
        if (e.t > c->now) c->now = e.t;
        c->ran++;
        e.fn(e.ctx, c->now);
    }
    c->now = t_end_ns;
}

void hc_vclock_set_lateness(hc_vclock *c, uint64_t (*late_ns)(void *ctx), void *ctx) {
    c->late_ns = late_ns;
    c->late_ctx = ctx;
}
