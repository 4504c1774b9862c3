/* SIGINT and SIGTERM over a command's whole run.
 *
 * libuv puts back the default action when the last watcher of a signal is closed. A participant
 * closes its watchers when it leaves, and the relay when it has stopped; a second signal that
 * came after that, while the process was still freeing and flushing, would kill it with status
 * 128+n instead of its own clean exit. Second signals are common: timeout(1) sends one to the
 * child and one to its process group, and people press Ctrl-C twice. So a command keeps one
 * watcher per signal that does not hold its loop open, and closes them only after its loop has
 * ended, with the signals blocked, leaving them ignored for the last steps to exit. The threads
 * a command starts (libuv's pool, the audio callback) are started with the signals blocked, so
 * that they always go to the loop's thread: none can take one to its default action. */
#ifndef HC_APP_SIGNALS_H
#define HC_APP_SIGNALS_H

#include <signal.h>
#include <uv.h>

typedef void (*hc_signal_fn)(void *arg, int signum);

typedef struct {
    uv_signal_t w[2];          /* SIGINT, SIGTERM */
    hc_signal_fn fn;
    void *arg;
} hc_signals;

/* Starts watching SIGINT and SIGTERM (the watchers do not keep the loop running); fn, if not
 * NULL, is called for every one that arrives. */
void hc_signals_start(hc_signals *s, uv_loop_t *loop, hc_signal_fn fn, void *arg);
/* After uv_run has returned: closes the watchers; from here on both signals are ignored. */
void hc_signals_end(hc_signals *s, uv_loop_t *loop);

/* Blocks SIGINT and SIGTERM in the calling thread before it starts other threads (they inherit
 * the mask); *old is for hc_signals_unmask, which the calling thread calls once they started.
 * A signal that comes in between waits, and is handled after the unmask. */
void hc_signals_mask(sigset_t *old);
void hc_signals_unmask(const sigset_t *old);

#endif
