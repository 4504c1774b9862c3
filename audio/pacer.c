#include "audio/pacer.h"

#include <stdlib.h>

struct hc_pacer {
    uv_timer_t timer;                  /* the real clock's wake-ups (unused with a vclock) */
    hc_vclock *vc;                     /* simulated time, or NULL */
    uint64_t vc_event;                 /* the pending wake-up on vc */
    uint64_t t0_ns, period_ns, k;      /* tick k is due at t0 + k * period */
    hc_pacer_tick_fn fn;
    void *ctx;
    int stopped, in_tick;
    int64_t shift_ns;                  /* asked for by hc_pacer_shift, applied between ticks */
    uint64_t skipped;                  /* ticks dropped after a stall */
};

static uint64_t now_ns(const hc_pacer *p) { return hc_clock_now(p->vc); }

static void on_close(uv_handle_t *h) { free(h->data); }

static void rearm(hc_pacer *p);

/* Applies a pending shift; the next tick stays at least HC_PACER_MIN_GAP_NS from now. */
static void apply_shift(hc_pacer *p, uint64_t now) {
    if (!p->shift_ns) return;
    uint64_t due = p->t0_ns + p->k * p->period_ns;
    int64_t d = p->shift_ns;
    p->shift_ns = 0;
    if (d < 0 && due < now + HC_PACER_MIN_GAP_NS - (uint64_t)d) {
        uint64_t floor_ns = now + HC_PACER_MIN_GAP_NS;
        d = due > floor_ns ? -(int64_t)(due - floor_ns) : 0;
    }
    p->t0_ns = (uint64_t)((int64_t)p->t0_ns + d);
}

/* A wake-up, on either clock: run what is due. */
static void wake(hc_pacer *p) {
    uint64_t now = now_ns(p);
    int ran = 0;
    p->in_tick = 1;
    while (!p->stopped && p->t0_ns + p->k * p->period_ns <= now) {
        if (ran == HC_PACER_MAX_CATCHUP) {   /* stalled: drop the backlog instead of a burst */
            uint64_t k = (now - p->t0_ns) / p->period_ns + 1;
            p->skipped += k - p->k;
            p->k = k;
            break;
        }
        p->fn(p->ctx, now);
        p->k++;
        ran++;
        if (p->shift_ns) break;        /* the schedule moves: recompute what is due */
    }
    p->in_tick = 0;
    if (p->stopped) {                  /* stopped from inside a tick: freed now that it is over */
        if (p->vc) free(p);
        return;
    }
    apply_shift(p, now_ns(p));
    rearm(p);
}

static void on_timer(uv_timer_t *t) { wake(t->data); }

static void on_vtick(void *ctx, uint64_t now) {
    (void)now;
    hc_pacer *p = ctx;
    p->vc_event = 0;
    wake(p);
}

static void rearm(hc_pacer *p) {
    uint64_t due = p->t0_ns + p->k * p->period_ns;
    if (p->vc) {
        hc_vclock_cancel(p->vc, p->vc_event);
        p->vc_event = hc_vclock_at(p->vc, due, on_vtick, p);
        return;
    }
    /* uv_timer_start's callback argument is fixed at init; restart with the same one. */
    uint64_t now = now_ns(p);
    uint64_t ms = due > now ? (due - now + 999999) / 1000000 : 0;
    uv_update_time(p->timer.loop);
    uv_timer_start(&p->timer, on_timer, ms, 0);
}

void hc_pacer_shift(hc_pacer *p, int64_t delta_ns) {
    if (!p || p->stopped) return;
    p->shift_ns += delta_ns;
    if (!p->in_tick) {
        apply_shift(p, now_ns(p));
        rearm(p);
    }
}

hc_pacer *hc_pacer_start(uv_loop_t *loop, hc_vclock *vc, uint64_t period_ns, hc_pacer_tick_fn fn, void *ctx) {
    hc_pacer *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    if (!vc && uv_timer_init(loop, &p->timer)) {
        free(p);
        return NULL;
    }
    p->timer.data = p;
    p->vc = vc;
    p->period_ns = period_ns;
    p->fn = fn;
    p->ctx = ctx;
    p->t0_ns = now_ns(p);
    p->k = 1;
    rearm(p);
    if (vc && !p->vc_event) {
        free(p);
        return NULL;
    }
    return p;
}

uint64_t hc_pacer_skipped(const hc_pacer *p) { return p ? p->skipped : 0; }

void hc_pacer_stop(hc_pacer *p) {
    if (!p || p->stopped) return;
    p->stopped = 1;
    if (p->vc) {
        hc_vclock_cancel(p->vc, p->vc_event);
        if (!p->in_tick) free(p);      /* else wake() frees it when the tick returns */
        return;
    }
    uv_timer_stop(&p->timer);
    uv_close((uv_handle_t *)&p->timer, on_close);
}
