/* Pacing for sources and sinks that have no clock of their own (files, tones, silence, null): in
 * real time on the libuv loop, or on a simulated clock (vclock.h) in tests. One tick per frame
 * period, scheduled against the clock from a fixed start time rather than "period after the last
 * tick", so timer lateness never accumulates (a plain repeating uv_timer drifts behind by its
 * wake-up latency every period). A late wake-up runs the missed ticks at once (up to a bound;
 * after a longer stall it skips ahead rather than bursting). */
#ifndef HC_AUDIO_PACER_H
#define HC_AUDIO_PACER_H

#include <stdint.h>
#include <uv.h>

#include "audio/vclock.h"

/* now_ns: the clock's time (uv_hrtime(), or the vclock's) when the tick runs. */
typedef void (*hc_pacer_tick_fn)(void *ctx, uint64_t now_ns);

typedef struct hc_pacer hc_pacer;

/* Starts ticking every period_ns; first tick one period from now. On the real clock (libuv timers
 * on loop) when vc is NULL, else on the simulated clock vc. NULL on failure. */
hc_pacer *hc_pacer_start(uv_loop_t *loop, hc_vclock *vc, uint64_t period_ns, hc_pacer_tick_fn fn, void *ctx);
#define HC_PACER_MAX_CATCHUP 10        /* ticks run back to back after a late wake-up */
/* Ticks dropped so far because a wake-up came more than HC_PACER_MAX_CATCHUP periods late. */
uint64_t hc_pacer_skipped(const hc_pacer *p);
/* No tick runs after this returns. The memory goes when the loop has closed the timer (real
 * clock), at once or when the current tick returns (simulated clock). */
void hc_pacer_stop(hc_pacer *p);
/* Moves the schedule: every later tick comes delta_ns later (< 0: sooner). Called from a tick,
 * it takes effect once that tick returns; the next tick is never made due at once (it stays at
 * least HC_PACER_MIN_GAP_NS ahead), so one shift cannot cause a burst. */
#define HC_PACER_MIN_GAP_NS 1000000ull
void hc_pacer_shift(hc_pacer *p, int64_t delta_ns);

#endif
