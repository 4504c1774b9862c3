#include "audio/pa_device.h"

#include <alsa/asoundlib.h>
#include <jack/jack.h>
#include <portaudio.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "audio/ring.h"

#define HC_PA_BLOCK 480                /* 10 ms per callback */
#define HC_PA_RING 16384               /* 341 ms of samples each way */

/* --- library lifetime ---------------------------------------------------------------------------- */
static pthread_mutex_t pa_lock = PTHREAD_MUTEX_INITIALIZER;
static int pa_refs;

static void alsa_quiet(const char *file, int line, const char *fn, int e, const char *fmt, ...) {
    (void)file; (void)line; (void)fn; (void)e; (void)fmt;
}
static void jack_quiet(const char *msg) { (void)msg; }

int hc_pa_acquire(char *err, size_t errlen) {
    pthread_mutex_lock(&pa_lock);
    if (pa_refs == 0) {
        snd_lib_error_set_handler(alsa_quiet);
        jack_set_error_function(jack_quiet);
        jack_set_info_function(jack_quiet);
        PaError pe = Pa_Initialize();
        if (pe != paNoError) {
            pthread_mutex_unlock(&pa_lock);
            snprintf(err, errlen, "cannot initialise PortAudio: %s", Pa_GetErrorText(pe));
            return -1;
        }
    }
    pa_refs++;
    pthread_mutex_unlock(&pa_lock);
    return 0;
}

void hc_pa_release(void) {
    pthread_mutex_lock(&pa_lock);
    if (pa_refs > 0 && --pa_refs == 0) Pa_Terminate();
    pthread_mutex_unlock(&pa_lock);
}

/* --- devices ------------------------------------------------------------------------------------- */
void hc_pa_device_list(char *buf, size_t len) {
    size_t off = 0;
    int n = Pa_GetDeviceCount();
    buf[0] = 0;
    if (n <= 0) {
        snprintf(buf, len, "none");
        return;
    }
    PaDeviceIndex din = Pa_GetDefaultInputDevice(), dout = Pa_GetDefaultOutputDevice();
    for (int i = 0; i < n && off < len; i++) {
        const PaDeviceInfo *d = Pa_GetDeviceInfo(i);
        if (!d) continue;
        int k = snprintf(buf + off, len - off, "%s#%d '%s' (in %d, out %d%s%s)", i ? ", " : "", i, d->name,
                         d->maxInputChannels, d->maxOutputChannels, i == din ? ", default in" : "",
                         i == dout ? ", default out" : "");
        if (k < 0) break;
        off += (size_t)k;
    }
}

static int channels(const PaDeviceInfo *d, int want_input) {
    return want_input ? d->maxInputChannels : d->maxOutputChannels;
}

/* A device error: the message, then the device table to choose from (listed only now, when it
 * is needed). Returns -1. */
static int __attribute__((format(printf, 3, 4))) device_error(char *err, size_t errlen, const char *fmt, ...) {
    if (!errlen) return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    char list[1500];
    hc_pa_device_list(list, sizeof list);
    size_t off = strlen(err);
    snprintf(err + off, errlen - off, "; devices: %s", list);
    return -1;
}

int hc_pa_find_device(const hc_audio_spec *spec, int want_input, char *err, size_t errlen) {
    const char *dir = want_input ? "input" : "output";
    int n = Pa_GetDeviceCount();
    if (n <= 0) {
        snprintf(err, errlen,
                 "no audio devices: PortAudio found none (no sound card, or no sound server running); "
                 "use --audio-in wav:FILE|tone:HZ|silence and --audio-out wav:FILE|null to run without one");
        return -1;
    }
    int idx = -1;
    if (spec->device_index >= 0) {
        if (spec->device_index >= n) return device_error(err, errlen, "no audio device #%d", spec->device_index);
        idx = spec->device_index;
    } else if (!spec->arg[0]) {
        idx = want_input ? Pa_GetDefaultInputDevice() : Pa_GetDefaultOutputDevice();
        if (idx < 0) return device_error(err, errlen, "no default audio %s device", dir);
    } else {
        for (int i = 0; i < n && idx < 0; i++) {       /* exact name first ... */
            const PaDeviceInfo *d = Pa_GetDeviceInfo(i);
            if (d && channels(d, want_input) > 0 && !strcmp(d->name, spec->arg)) idx = i;
        }
        for (int i = 0; i < n && idx < 0; i++) {       /* ... then a case-insensitive substring */
            const PaDeviceInfo *d = Pa_GetDeviceInfo(i);
            if (d && channels(d, want_input) > 0 && strcasestr(d->name, spec->arg)) idx = i;
        }
        if (idx < 0) return device_error(err, errlen, "no audio %s device matches '%s'", dir, spec->arg);
    }
    const PaDeviceInfo *d = Pa_GetDeviceInfo(idx);
    if (!d || channels(d, want_input) < 1)
        return device_error(err, errlen, "audio device #%d '%s' has no %s channels", idx, d ? d->name : "?", dir);
    return idx;
}

static int open_stream(PaStream **st, int idx, int want_input, const hc_device_opts *dev, PaStreamCallback *cb,
                       void *user, char *err, size_t errlen) {
    const PaDeviceInfo *d = Pa_GetDeviceInfo(idx);
    int lat_ms = dev && dev->latency_ms > 0 ? dev->latency_ms : HC_PA_DEFAULT_LATENCY_MS;
    PaStreamParameters p = {idx, 1, paFloat32, lat_ms / 1000.0, NULL};
    /* 48 kHz explicitly: these devices report 44100 as their default, and Opus runs at 48000. */
    PaError pe = Pa_OpenStream(st, want_input ? &p : NULL, want_input ? NULL : &p, 48000, HC_PA_BLOCK, paNoFlag, cb,
                               user);
    if (pe != paNoError) {
        *st = NULL;
        return device_error(err, errlen, "cannot open audio %s device #%d '%s' at 48000 Hz mono: %s",
                            want_input ? "input" : "output", idx, d->name, Pa_GetErrorText(pe));
    }
    return 0;
}

static void free_async(uv_handle_t *h) { free(h); }

/* The wake-up handle exists only while a stream runs: stop() closes it, so that once the loop
 * has run after hc_audio_engine_stop() no handle of ours is left (the owner may then free the
 * engine and close the loop). Its memory goes in its own close callback. */
static uv_async_t *open_async(uv_loop_t *loop, uv_async_cb cb, void *data) {
    uv_async_t *a = calloc(1, sizeof *a);
    if (!a) return NULL;
    if (uv_async_init(loop, a, cb)) {
        free(a);
        return NULL;
    }
    a->data = data;
    return a;
}

static void close_async(uv_async_t **a) {
    if (!*a) return;
    (*a)->data = NULL;
    uv_close((uv_handle_t *)*a, free_async);
    *a = NULL;
}

/* --- what capture and playback share ------------------------------------------------------------- */
/* A device stream of either direction: the stream, the ring between its real-time callback and the
 * loop, the wake-up handle the callback signals, one frame of scratch for the loop side, and the
 * latency PortAudio reports. */
typedef struct {
    PaStream *stream;
    hc_ring ring;
    uv_async_t *async;                 /* while running; own allocation, freed by its close callback */
    float *frame;
    double latency_s;
    int running, have_pa;
} pa_io;

/* Opens the device the spec names at 48 kHz mono, its ring and scratch frame; writes its
 * description to desc. On failure, pa_io_close undoes what was done. */
static int pa_io_open(pa_io *io, const hc_audio_spec *spec, int want_input, size_t frame_samples,
                      const hc_device_opts *dev, PaStreamCallback *cb, void *user, char *desc, size_t desclen,
                      char *err, size_t errlen) {
    io->frame = calloc(frame_samples, sizeof *io->frame);
    if (!io->frame || hc_ring_init(&io->ring, HC_PA_RING)) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (hc_pa_acquire(err, errlen)) return -1;
    io->have_pa = 1;
    int idx = hc_pa_find_device(spec, want_input, err, errlen);
    if (idx < 0) return -1;
    if (open_stream(&io->stream, idx, want_input, dev, cb, user, err, errlen)) return -1;
    const PaStreamInfo *si = Pa_GetStreamInfo(io->stream);
    io->latency_s = si ? (want_input ? si->inputLatency : si->outputLatency) : 0;
    snprintf(desc, desclen, "device #%d '%s' (PortAudio, %.0f ms)", idx, Pa_GetDeviceInfo(idx)->name,
             io->latency_s * 1000);
    return 0;
}

/* A wake-up handle to the loop first (the callback signals it), then the stream; on failure,
 * nothing stays open. */
static int pa_io_start(pa_io *io, uv_loop_t *loop, uv_async_cb wake, void *data, const char *what,
                       const char *desc, char *err, size_t errlen) {
    if (!(io->async = open_async(loop, wake, data))) {
        snprintf(err, errlen, "cannot create the audio wake-up handle");
        return -1;
    }
    io->running = 1;
    PaError pe = Pa_StartStream(io->stream);
    if (pe != paNoError) {
        io->running = 0;
        close_async(&io->async);
        snprintf(err, errlen, "cannot start audio %s %s: %s", what, desc, Pa_GetErrorText(pe));
        return -1;
    }
    return 0;
}

static void pa_io_stop(pa_io *io) {
    if (!io->running) return;
    io->running = 0;
    Pa_AbortStream(io->stream);      /* returns once the callback will not run again */
    close_async(&io->async);
}

static void pa_io_close(pa_io *io) {
    pa_io_stop(io);
    if (io->stream) Pa_CloseStream(io->stream);
    close_async(&io->async);
    if (io->have_pa) hc_pa_release();
    hc_ring_free(&io->ring);
    free(io->frame);
}

/* --- capture ------------------------------------------------------------------------------------- */
typedef struct {
    hc_audio_source base;
    pa_io io;
    _Atomic uint64_t overruns, underruns;
} pa_source;

/* Real-time thread: copy into the ring, count trouble, wake the loop. Nothing else. */
static int capture_cb(const void *in, void *out, unsigned long n, const PaStreamCallbackTimeInfo *ti,
                      PaStreamCallbackFlags flags, void *user) {
    (void)out; (void)ti;
    pa_source *s = user;
    if (flags & paInputOverflow) atomic_fetch_add_explicit(&s->overruns, 1, memory_order_relaxed);
    if (flags & paInputUnderflow) atomic_fetch_add_explicit(&s->underruns, 1, memory_order_relaxed);
    if (in) {
        if (hc_ring_write(&s->io.ring, in, n) < n)   /* the loop is not keeping up */
            atomic_fetch_add_explicit(&s->overruns, 1, memory_order_relaxed);
    } else {
        atomic_fetch_add_explicit(&s->underruns, 1, memory_order_relaxed);
    }
    uv_async_send(s->io.async);
    return paContinue;
}

static void capture_wake(uv_async_t *a) {
    pa_source *s = a->data;
    if (!s) return;
    s->base.overruns = atomic_load_explicit(&s->overruns, memory_order_relaxed);
    s->base.underruns = atomic_load_explicit(&s->underruns, memory_order_relaxed);
    size_t n = s->base.frame_samples;
    while (s->io.running && hc_ring_readable(&s->io.ring) >= n) {
        size_t queued = hc_ring_readable(&s->io.ring);
        uint64_t now = uv_hrtime();
        uint64_t back = (uint64_t)((s->io.latency_s + (double)queued / 48000.0) * 1e9);
        hc_ring_read(&s->io.ring, s->io.frame, n);
        s->base.on_frame(s->base.ctx, s->io.frame, n, now > back ? now - back : 0);
    }
}

static int pa_source_start(hc_audio_source *b, char *err, size_t errlen) {
    pa_source *s = (pa_source *)b;
    if (s->io.running) return 0;
    hc_ring_drain(&s->io.ring);
    return pa_io_start(&s->io, b->loop, capture_wake, s, "capture from", b->desc, err, errlen);
}

static void pa_source_stop(hc_audio_source *b) { pa_io_stop(&((pa_source *)b)->io); }

static void pa_source_close(hc_audio_source *b) {
    pa_source *s = (pa_source *)b;
    pa_io_close(&s->io);
    free(s);
}

static const hc_source_ops pa_source_ops = {"device", pa_source_start, pa_source_stop, pa_source_close};

int hc_pa_source_open(hc_audio_source **out, const hc_audio_spec *spec, uv_loop_t *loop, size_t frame_samples,
                      const hc_device_opts *dev, hc_source_frame_fn fn, void *ctx, char *err, size_t errlen) {
    *out = NULL;
    pa_source *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    hc_source_base_init(&s->base, &pa_source_ops, loop, frame_samples, fn, ctx);
    if (pa_io_open(&s->io, spec, 1, frame_samples, dev, capture_cb, s, s->base.desc, sizeof s->base.desc, err,
                   errlen)) {
        pa_source_close(&s->base);
        return -1;
    }
    *out = &s->base;
    return 0;
}

/* --- playback ------------------------------------------------------------------------------------ */
typedef struct {
    hc_audio_sink base;
    pa_io io;
    _Atomic uint64_t underruns, overruns;
    _Atomic int counting;              /* underruns count only once real audio was queued */
    size_t target;                     /* ring fill the loop keeps: one frame plus two callbacks */
    uint64_t ring_overruns;            /* loop side: ring full (counted here, not in the callback) */
} pa_sink;

static int playback_cb(const void *in, void *out, unsigned long n, const PaStreamCallbackTimeInfo *ti,
                       PaStreamCallbackFlags flags, void *user) {
    (void)in; (void)ti;
    pa_sink *s = user;
    float *o = out;
    if (flags & paOutputUnderflow) atomic_fetch_add_explicit(&s->underruns, 1, memory_order_relaxed);
    if (flags & paOutputOverflow) atomic_fetch_add_explicit(&s->overruns, 1, memory_order_relaxed);
    size_t got = hc_ring_read(&s->io.ring, o, n);
    if (got < n) {
        memset(o + got, 0, (n - got) * sizeof *o);
        if (atomic_load_explicit(&s->counting, memory_order_relaxed))
            atomic_fetch_add_explicit(&s->underruns, 1, memory_order_relaxed);
    }
    uv_async_send(s->io.async);
    return paContinue;
}

static void playback_fill(pa_sink *s) {
    size_t n = s->base.frame_samples;
    while (s->io.running && hc_ring_readable(&s->io.ring) + n <= s->target) {
        if (hc_ring_writable(&s->io.ring) < n) {
            s->ring_overruns++;
            break;
        }
        uint64_t ahead = (uint64_t)((s->io.latency_s + (double)hc_ring_readable(&s->io.ring) / 48000.0) * 1e9);
        s->base.pull(s->base.ctx, s->io.frame, n, uv_hrtime() + ahead);
        hc_ring_write(&s->io.ring, s->io.frame, n);
    }
}

static void playback_wake(uv_async_t *a) {
    pa_sink *s = a->data;
    if (!s) return;
    playback_fill(s);
    s->base.underruns = atomic_load_explicit(&s->underruns, memory_order_relaxed);
    s->base.overruns = atomic_load_explicit(&s->overruns, memory_order_relaxed) + s->ring_overruns;
    atomic_store_explicit(&s->counting, 1, memory_order_relaxed);
}

static int pa_sink_start(hc_audio_sink *b, char *err, size_t errlen) {
    pa_sink *s = (pa_sink *)b;
    if (s->io.running) return 0;
    hc_ring_drain(&s->io.ring);
    /* Prefill with silence so the first callbacks find something while the loop catches up. */
    float z[HC_PA_BLOCK] = {0};
    for (size_t q = 0; q + HC_PA_BLOCK <= s->target; q += HC_PA_BLOCK) hc_ring_write(&s->io.ring, z, HC_PA_BLOCK);
    return pa_io_start(&s->io, b->loop, playback_wake, s, "playback on", b->desc, err, errlen);
}

static void pa_sink_stop(hc_audio_sink *b) { pa_io_stop(&((pa_sink *)b)->io); }

static void pa_sink_close(hc_audio_sink *b) {
    pa_sink *s = (pa_sink *)b;
    pa_io_close(&s->io);
    free(s);
}

static const hc_sink_ops pa_sink_ops = {"device", pa_sink_start, pa_sink_stop, pa_sink_close, NULL};

int hc_pa_sink_open(hc_audio_sink **out, const hc_audio_spec *spec, uv_loop_t *loop, size_t frame_samples,
                    const hc_device_opts *dev, hc_sink_pull_fn pull, void *ctx, char *err, size_t errlen) {
    *out = NULL;
    pa_sink *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    hc_sink_base_init(&s->base, &pa_sink_ops, loop, frame_samples, pull, ctx);
    s->target = frame_samples + 2 * HC_PA_BLOCK;
    if (pa_io_open(&s->io, spec, 0, frame_samples, dev, playback_cb, s, s->base.desc, sizeof s->base.desc, err,
                   errlen)) {
        pa_sink_close(&s->base);
        return -1;
    }
    *out = &s->base;
    return 0;
}
