/* audio_dev: one call participant on real audio devices, without the network.
 *
 *   engine "tx"  (in: --play SPEC, e.g. tone:1000)  --payloads-->  engine "dev" (out: device)
 *   engine "dev" (in: device)                       --payloads-->  engine "rec" (out: wav:FILE)
 *
 * So the process plays its own signal to the output device through the whole send/receive path
 * (Opus, jitter buffer, PortAudio sink), and records what its input device hears through the same
 * path (PortAudio source, Opus, ...) to a WAV file. Two of these cross-wired through PulseAudio
 * null sinks are two participants hearing each other (tests/e2e/audio_device.sh).
 *
 * usage: audio_dev [--play SPEC] [--record FILE] [--seconds S] [--in-dev SPEC] [--out-dev SPEC]
 *                  [--latency-ms N] [--frame-ms N]
 *        audio_dev --list          (the device table, as `hushcall devices`)
 * Prints one JSON line of statistics. Exit 0; 1 with the engine's error on stderr. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "audio/engine.h"

static hc_audio_engine *tx, *dev, *rec;
static uv_timer_t stop_timer;

static void tx_payload(void *ctx, const uint8_t *p, size_t len, uint8_t level) {
    (void)ctx; (void)level;
    hc_audio_engine_receive(dev, 1, p, len);
}

static void dev_payload(void *ctx, const uint8_t *p, size_t len, uint8_t level) {
    (void)ctx; (void)level;
    hc_audio_engine_receive(rec, 2, p, len);
}

static void on_stop(uv_timer_t *t) {
    (void)t;
    hc_audio_engine_stop(tx);
    hc_audio_engine_stop(dev);
    hc_audio_engine_stop(rec);
}

int main(int argc, char **argv) {
    const char *play = "tone:1000", *record = NULL, *in_dev = "device", *out_dev = "device";
    double seconds = 4;
    int latency = 0, frame_ms = 20;
    char err[2048];
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--list")) {
            if (hc_audio_list_devices(stdout, err, sizeof err)) {
                fprintf(stderr, "audio_dev: %s\n", err);
                return 1;
            }
            return 0;
        }
        if (!v) goto usage;
        i++;
        if (!strcmp(a, "--play")) play = v;
        else if (!strcmp(a, "--record")) record = v;
        else if (!strcmp(a, "--seconds")) seconds = atof(v);
        else if (!strcmp(a, "--in-dev")) in_dev = v;
        else if (!strcmp(a, "--out-dev")) out_dev = v;
        else if (!strcmp(a, "--latency-ms")) latency = atoi(v);
        else if (!strcmp(a, "--frame-ms")) frame_ms = atoi(v);
        else goto usage;
    }
    {
        char rec_spec[1100];
        snprintf(rec_spec, sizeof rec_spec, "%s%s", record ? "wav:" : "null", record ? record : "");
        uv_loop_t loop;
        uv_loop_init(&loop);
        hc_audio_config c;
        hc_audio_config_defaults(&c);
        c.frame_ms = frame_ms;
        c.device_latency_ms = latency;
        hc_audio_config ct = c, cd = c, cr = c;
        ct.in_spec = play, ct.out_spec = "null";
        cd.in_spec = in_dev, cd.out_spec = out_dev;
        cr.in_spec = "silence", cr.out_spec = rec_spec;
        hc_audio_callbacks cbt = {NULL, tx_payload}, cbd = {NULL, dev_payload}, cbr = {NULL, NULL};
        int rc = 0;
        if (hc_audio_engine_new(&rec, &loop, &cr, &cbr, err, sizeof err) ||
            hc_audio_engine_new(&dev, &loop, &cd, &cbd, err, sizeof err) ||
            hc_audio_engine_new(&tx, &loop, &ct, &cbt, err, sizeof err) ||
            hc_audio_engine_start(rec, err, sizeof err) || hc_audio_engine_start(dev, err, sizeof err) ||
            hc_audio_engine_start(tx, err, sizeof err)) {
            fprintf(stderr, "audio_dev: %s\n", err);
            rc = 1;
        } else {
            uv_timer_init(&loop, &stop_timer);
            uv_timer_start(&stop_timer, on_stop, (uint64_t)(seconds * 1000), 0);
            uv_run(&loop, UV_RUN_DEFAULT);
            uv_close((uv_handle_t *)&stop_timer, NULL);
            hc_audio_tx_stats st;
            hc_audio_rx_stats heard, played;
            hc_audio_engine_tx_stats(dev, &st);
            hc_audio_engine_rx_stats(dev, 1, &played);
            if (hc_audio_engine_rx_stats(rec, 2, &heard)) memset(&heard, 0, sizeof heard);
            printf("{\"in\":\"%s\",\"out\":\"%s\",\"played\":\"%s\",\"capture_overruns\":%llu,"
                   "\"capture_underruns\":%llu,\"playback_underruns\":%llu,\"playback_overruns\":%llu,"
                   "\"frames_captured_sent\":%llu,\"dtx_skipped\":%llu,\"input_level_dbfs\":%d,"
                   "\"played_frames\":%llu,\"recorded_frames\":%llu}\n",
                   hc_audio_engine_describe_in(dev), hc_audio_engine_describe_out(dev),
                   hc_audio_engine_describe_in(tx), (unsigned long long)st.capture_overruns,
                   (unsigned long long)st.capture_underruns, (unsigned long long)st.playback_underruns,
                   (unsigned long long)st.playback_overruns, (unsigned long long)st.frames_sent,
                   (unsigned long long)st.dtx_skipped, st.level_dbfs, (unsigned long long)played.frames,
                   (unsigned long long)heard.frames);
        }
        hc_audio_engine_free(tx);
        hc_audio_engine_free(dev);
        hc_audio_engine_free(rec);
        uv_run(&loop, UV_RUN_DEFAULT);
        if (uv_loop_close(&loop)) {
            fprintf(stderr, "audio_dev: handles left open\n");
            rc = 1;
        }
        return rc;
    }
usage:
    fprintf(stderr, "usage: audio_dev [--play SPEC] [--record FILE] [--seconds S] [--in-dev SPEC] "
                    "[--out-dev SPEC] [--latency-ms N] [--frame-ms N] | --list\n");
    return 2;
}
