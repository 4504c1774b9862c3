/* SIGINT and SIGTERM over a command's whole run: see signals.h for why. */
#include "app/signals.h"

#include <signal.h>

static const int watched[2] = {SIGINT, SIGTERM};

static void on_signal(uv_signal_t *h, int signum) {
    hc_signals *s = h->data;
    if (s->fn) s->fn(s->arg, signum);
}

void hc_signals_start(hc_signals *s, uv_loop_t *loop, hc_signal_fn fn, void *arg) {
    s->fn = fn;
    s->arg = arg;
    for (int i = 0; i < 2; i++) {
        uv_signal_init(loop, &s->w[i]);
        s->w[i].data = s;
        uv_signal_start(&s->w[i], on_signal, watched[i]);
        uv_unref((uv_handle_t *)&s->w[i]);
    }
}

void hc_signals_mask(sigset_t *old) {
    sigset_t set;
    sigemptyset(&set);
    for (int i = 0; i < 2; i++) sigaddset(&set, watched[i]);
    pthread_sigmask(SIG_BLOCK, &set, old);
}

void hc_signals_unmask(const sigset_t *old) { pthread_sigmask(SIG_SETMASK, old, NULL); }

void hc_signals_end(hc_signals *s, uv_loop_t *loop) {
    /* Blocked while the watchers close (which puts back the default action) and until they are
     * ignored: one arriving in between stays pending, and is discarded once ignored. */
    sigset_t old;
    hc_signals_mask(&old);
    for (int i = 0; i < 2; i++) uv_close((uv_handle_t *)&s->w[i], NULL);
    uv_run(loop, UV_RUN_NOWAIT);        /* completes the closes */
    for (int i = 0; i < 2; i++) signal(watched[i], SIG_IGN);
    hc_signals_unmask(&old);
}
