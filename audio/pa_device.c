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

/* Starting and stopping a stream is the same for capture and playback: a wake-up handle to the
 * loop first (the callback signals it), then the stream; on failure, nothing stays open. */
static int stream_start(PaStream *stream, uv_loop_t *loop, uv_async_t **async, uv_async_cb wake, void *data,
                        int *running, const char *what, const char *desc, char *err, size_t errlen) {
    if (!(*async = open_async(loop, wake, data))) {
        snprintf(err, errlen, "cannot create the audio wake-up handle");
        return -1;
    }
    *running = 1;
    PaError pe = Pa_StartStream(stream);
    if (pe != paNoError) {
        *running = 0;
        close_async(async);
        snprintf(err, errlen, "cannot start audio %s %s: %s", what, desc, Pa_GetErrorText(pe));
        return -1;
    }
    return 0;
}

static void stream_stop(PaStream *stream, uv_async_t **async, int *running) {
    if (!*running) return;
    *running = 0;
    Pa_AbortStream(stream);          /* returns once the callback will not run again */
    close_async(async);
}

/* --- capture ------------------------------------------------------------------------------------- */
typedef struct {
    hc_audio_source base;
    PaStream *stream;
    hc_ring ring;
    uv_async_t *async;                 /* while running; own allocation, freed by its close callback */
    _Atomic uint64_t overruns, underruns;
    float *frame;
    double latency_s;
    int running, have_pa;
} pa_source;

/* Real-time thread: copy into the ring, count trouble, wake the loop. Nothing else. */
static int capture_cb(const void *in, void *out, unsigned long n, const PaStreamCallbackTimeInfo *ti,
                      PaStreamCallbackFlags flags, void *user) {
    (void)out; (void)ti;
    pa_source *s = user;
    if (flags & paInputOverflow) atomic_fetch_add_explicit(&s->overruns, 1, memory_order_relaxed);
    if (flags & paInputUnderflow) atomic_fetch_add_explicit(&s->underruns, 1, memory_order_relaxed);
    if (in) {
        if (hc_ring_write(&s->ring, in, n) < n)      /* the loop is not keeping up */
            atomic_fetch_add_explicit(&s->overruns, 1, memory_order_relaxed);
    } else {
        atomic_fetch_add_explicit(&s->underruns, 1, memory_order_relaxed);
    }
    uv_async_send(s->async);
    return paContinue;
}

static void capture_wake(uv_async_t *a) {
    pa_source *s = a->data;
    if (!s) return;
    s->base.overruns = atomic_load_explicit(&s->overruns, memory_order_relaxed);
    s->base.underruns = atomic_load_explicit(&s->underruns, memory_order_relaxed);
    size_t n = s->base.frame_samples;
    while (s->running && hc_ring_readable(&s->ring) >= n) {
        size_t queued = hc_ring_readable(&s->ring);
        uint64_t now = uv_hrtime();
        uint64_t back = (uint64_t)((s->latency_s + (double)queued / 48000.0) * 1e9);
        hc_ring_read(&s->ring, s->frame, n);
        s->base.on_frame(s->base.ctx, s->frame, n, now > back ? now - back : 0);
    }
}

static int pa_source_start(hc_audio_source *b, char *err, size_t errlen) {
    pa_source *s = (pa_source *)b;
    if (s->running) return 0;
    hc_ring_drain(&s->ring);
    return stream_start(s->stream, b->loop, &s->async, capture_wake, s, &s->running, "capture from", b->desc, err,
                        errlen);
}

static void pa_source_stop(hc_audio_source *b) {
    pa_source *s = (pa_source *)b;
    stream_stop(s->stream, &s->async, &s->running);
}

static void pa_source_close(hc_audio_source *b) {
    pa_source *s = (pa_source *)b;
    pa_source_stop(b);
    if (s->stream) Pa_CloseStream(s->stream);
    close_async(&s->async);
    if (s->have_pa) hc_pa_release();
    hc_ring_free(&s->ring);
    free(s->frame);
    free(s);
}

static const hc_source_ops pa_source_ops = {"device", pa_source_start, pa_source_stop, pa_source_close};

int hc_pa_source_open(hc_audio_source **out, const hc_audio_spec *spec, uv_loop_t *loop, size_t frame_samples,
                      const hc_device_opts *dev, hc_source_frame_fn fn, void *ctx, char *err, size_t errlen) {
    *out = NULL;
    pa_source *s = calloc(1, sizeof *s);
    if (!s) goto oom;
    hc_source_base_init(&s->base, &pa_source_ops, loop, frame_samples, fn, ctx);
    s->frame = calloc(frame_samples, sizeof *s->frame);
    if (!s->frame || hc_ring_init(&s->ring, HC_PA_RING)) goto oom;
    if (hc_pa_acquire(err, errlen)) goto fail;
    s->have_pa = 1;
    int idx = hc_pa_find_device(spec, 1, err, errlen);
    if (idx < 0) goto fail;
    if (open_stream(&s->stream, idx, 1, dev, capture_cb, s, err, errlen)) goto fail;
    const PaStreamInfo *si = Pa_GetStreamInfo(s->stream);
    s->latency_s = si ? si->inputLatency : 0;
    snprintf(s->base.desc, sizeof s->base.desc, "device #%d '%s' (PortAudio, %.0f ms)", idx,
             Pa_GetDeviceInfo(idx)->name, s->latency_s * 1000);
    *out = &s->base;
    return 0;
oom:
    snprintf(err, errlen, "out of memory");
fail:
    if (s) pa_source_close(&s->base);
    return -1;
}

/* --- playback ------------------------------------------------------------------------------------ */
typedef struct {
    hc_audio_sink base;
    PaStream *stream;
    hc_ring ring;
    uv_async_t *async;
    _Atomic uint64_t underruns, overruns;
    _Atomic int counting;              /* underruns count only once real audio was queued */
    float *frame;
    size_t target;                     /* ring fill the loop keeps: one frame plus two callbacks */
    double latency_s;
    uint64_t ring_overruns;            /* loop side: ring full (counted here, not in the callback) */
    int running, have_pa;
} pa_sink;

static int playback_cb(const void *in, void *out, unsigned long n, const PaStreamCallbackTimeInfo *ti,
                       PaStreamCallbackFlags flags, void *user) {
    (void)in; (void)ti;
    pa_sink *s = user;
    float *o = out;
    if (flags & paOutputUnderflow) atomic_fetch_add_explicit(&s->underruns, 1, memory_order_relaxed);
    if (flags & paOutputOverflow) atomic_fetch_add_explicit(&s->overruns, 1, memory_order_relaxed);
    size_t got = hc_ring_read(&s->ring, o, n);
    if (got < n) {
        memset(o + got, 0, (n - got) * sizeof *o);
        if (atomic_load_explicit(&s->counting, memory_order_relaxed))
            atomic_fetch_add_explicit(&s->underruns, 1, memory_order_relaxed);
    }
    uv_async_send(s->async);
    return paContinue;
}

static void playback_fill(pa_sink *s) {
    size_t n = s->base.frame_samples;
    while (s->running && hc_ring_readable(&s->ring) + n <= s->target) {
        if (hc_ring_writable(&s->ring) < n) {
            s->ring_overruns++;
            break;
        }
        uint64_t ahead = (uint64_t)((s->latency_s + (double)hc_ring_readable(&s->ring) / 48000.0) * 1e9);
        s->base.pull(s->base.ctx, s->frame, n, uv_hrtime() + ahead);
        hc_ring_write(&s->ring, s->frame, n);
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
    if (s->running) return 0;
    hc_ring_drain(&s->ring);
    /* Prefill with silence so the first callbacks find something while the loop catches up. */
    float z[HC_PA_BLOCK] = {0};
    for (size_t q = 0; q + HC_PA_BLOCK <= s->target; q += HC_PA_BLOCK) hc_ring_write(&s->ring, z, HC_PA_BLOCK);
    return stream_start(s->stream, b->loop, &s->async, playback_wake, s, &s->running, "playback on", b->desc, err,
                        errlen);
}

static void pa_sink_stop(hc_audio_sink *b) {
    pa_sink *s = (pa_sink *)b;
    stream_stop(s->stream, &s->async, &s->running);
}

static void pa_sink_close(hc_audio_sink *b) {
    pa_sink *s = (pa_sink *)b;
    pa_sink_stop(b);
    if (s->stream) Pa_CloseStream(s->stream);
    close_async(&s->async);
    if (s->have_pa) hc_pa_release();
    hc_ring_free(&s->ring);
    free(s->frame);
    free(s);
}

static const hc_sink_ops pa_sink_ops = {"device", pa_sink_start, pa_sink_stop, pa_sink_close, NULL};

int hc_pa_sink_open(hc_audio_sink **out, const hc_audio_spec *spec, uv_loop_t *loop, size_t frame_samples,
                    const hc_device_opts *dev, hc_sink_pull_fn pull, void *ctx, char *err, size_t errlen) {
    *out = NULL;
    pa_sink *s = calloc(1, sizeof *s);
    if (!s) goto oom;
    hc_sink_base_init(&s->base, &pa_sink_ops, loop, frame_samples, pull, ctx);
    s->frame = calloc(frame_samples, sizeof *s->frame);
    if (!s->frame || hc_ring_init(&s->ring, HC_PA_RING)) goto oom;
    s->target = frame_samples + 2 * HC_PA_BLOCK;
    if (hc_pa_acquire(err, errlen)) goto fail;
    s->have_pa = 1;
    int idx = hc_pa_find_device(spec, 0, err, errlen);
    if (idx < 0) goto fail;
    if (open_stream(&s->stream, idx, 0, dev, playback_cb, s, err, errlen)) goto fail;
    const PaStreamInfo *si = Pa_GetStreamInfo(s->stream);
    s->latency_s = si ? si->outputLatency : 0;
    snprintf(s->base.desc, sizeof s->base.desc, "device #%d '%s' (PortAudio, %.0f ms)", idx,
             Pa_GetDeviceInfo(idx)->name, s->latency_s * 1000);
    *out = &s->base;
    return 0;
oom:
    snprintf(err, errlen, "out of memory");
fail:
    if (s) pa_sink_close(&s->base);
    return -1;
}
