/* A simulated clock for the audio path: time moves only when the owner says so, and every timer
 * due by then runs in time order. With it, a test runs capture, network and playout of a whole
 * call in one process and asserts quality and timing on simulated time: a stalled or busy CPU
 * cannot make a frame late, and a seeded run gives the same figures every time.
 *
 * Engines and loop-paced sources and sinks take one through hc_audio_config.vclock (NULL, the
 * default, is the real clock: uv_hrtime() and libuv timers). Device endpoints keep their own
 * clock and cannot be used with it. A test may also make every wake-up late on purpose
 * (hc_vclock_set_lateness) to exercise the code that copes with a slow machine, deterministically. */
#ifndef HC_AUDIO_VCLOCK_H
#define HC_AUDIO_VCLOCK_H

#include <stdint.h>

typedef struct hc_vclock hc_vclock;
typedef void (*hc_vclock_fn)(void *ctx, uint64_t now_ns);

/* Starts at start_ns (a non-zero value keeps "time 0" free for "never"). NULL on out of memory. */
hc_vclock *hc_vclock_new(uint64_t start_ns);
/* Pending events are dropped without being run. */
void hc_vclock_free(hc_vclock *c);
uint64_t hc_vclock_now(const hc_vclock *c);

/* Runs fn(ctx, now) once at t_ns (a time already past runs at the next hc_vclock_run_until).
 * Returns an id for hc_vclock_cancel (never 0), or 0 when out of memory. */
uint64_t hc_vclock_at(hc_vclock *c, uint64_t t_ns, hc_vclock_fn fn, void *ctx);
/* An event that has not run yet will not run; an unknown or finished id is ignored. */
void hc_vclock_cancel(hc_vclock *c, uint64_t id);

/* Runs every event due at or before t_end_ns, earliest first (equal times in the order they were
 * scheduled; events that those schedule run too if due), then sets the time to t_end_ns. Time
 * never goes back: a t_end_ns in the past only runs what is due now. */
void hc_vclock_run_until(hc_vclock *c, uint64_t t_end_ns);

/* Every event from now on runs late by late_ns(ctx) (a fresh value each time, e.g. from a seeded
 * generator): the wake-up latency of a busy machine. NULL turns it off. */
void hc_vclock_set_lateness(hc_vclock *c, uint64_t (*late_ns)(void *ctx), void *ctx);

/* The audio path's time: c's when there is one, else the real clock (uv_hrtime()). Everything
 * that can run on either (engine, pacer, test tools) asks this, so they never disagree. */
uint64_t hc_clock_now(const hc_vclock *c);

/* How many events have run so far (for tests of the tests). */
uint64_t hc_vclock_events_run(const hc_vclock *c);

#endif
