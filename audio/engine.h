/* The audio engine: everything between the microphone and the network, and between the network
 * and the speaker, for one participant. The meeting layer sees only opaque payloads.
 *
 *   capture (source) -> frame -> level/VAD -> Opus encode (FEC, DTX) -> on_payload()
 *   hc_audio_engine_receive() -> per-sender jitter buffer -> decode / FEC / PLC -> mix -> sink
 *
 * Payload format (inside the SFrame ciphertext, so the relay never sees it):
 *   u16 seq (frame slot counter of the sender, +1 per frame duration, also across DTX gaps)
 *   || Opus packet
 *
 * All calls happen on the libuv loop thread. Sources and sinks are paced by the loop clock
 * (files, tones) or by the device (PortAudio, through a lock-free ring and uv_async); in tests,
 * files and tones may be paced by a simulated clock instead (cfg.vclock). */
#ifndef HC_AUDIO_ENGINE_H
#define HC_AUDIO_ENGINE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <uv.h>

typedef struct hc_audio_engine hc_audio_engine;
struct hc_audio_custom_io;             /* audio/engine_custom.h */

typedef struct {
    const char *in_spec;   /* "device", "device:NAME", "device:INDEX", "wav:FILE", "tone:HZ", "silence" */
    const char *out_spec;  /* "device", "device:NAME", "device:INDEX", "wav:FILE", "null" */
    int frame_ms;          /* 10, 20 (default) or 40; --low-delay forces 10 */
    int bitrate;           /* bits/s, default 32000 */
    int low_delay;         /* OPUS_APPLICATION_RESTRICTED_LOWDELAY with 10 ms frames */
    int device_latency_ms; /* PortAudio suggested latency, default 60 (>= 50 through ALSA's pulse plugin) */
    /* Benchmarks and tests: input and/or output are functions (audio/engine_custom.h), e.g. to
     * time every sample of a session's audio; NULL (the default) for in_spec/out_spec. Must
     * outlive the engine. */
    const struct hc_audio_custom_io *custom_io;
    /* Tests: run on this simulated clock (audio/vclock.h) instead of real time; every endpoint
     * must then be loop-paced (file, tone, silence, null, function), not a device. Must outlive
     * the engine. NULL (the default): real time. */
    struct hc_vclock *vclock;
} hc_audio_config;

void hc_audio_config_defaults(hc_audio_config *c);

/* A recording that stopped: --audio-out wav:FILE whose file could not be written. */
typedef struct {
    const char *path;
    int errnum;               /* of the write that failed: ENOSPC, EFBIG, EIO... */
    uint64_t recorded_ms;     /* audio in the file, which is left a valid WAV of that length */
} hc_audio_recording_failure;

typedef struct {
    void *ctx;
    /* One encoded frame to send. level is the RFC 6464 byte: bit 7 = voice activity,
     * bits 0..6 = level in -dBov (0 loudest, 127 silence). Not called for DTX frames that
     * need not be sent, nor while muted. */
    void (*on_payload)(void *ctx, const uint8_t *payload, size_t len, uint8_t level);
    /* The output file could not be written (a full disk, a file-size limit, an I/O error):
     * called once, with the recording already stopped. The call goes on: frames are still mixed
     * (jitter buffers, statistics), and those not recorded are counted in
     * hc_audio_tx_stats.recording_dropped. NULL: a line on stderr instead. */
    void (*on_recording_failed)(void *ctx, const hc_audio_recording_failure *f);
} hc_audio_callbacks;

/* Creates the engine and opens source and sink (not started). Returns 0, or -1 with a message
 * a person understands in err (for a device: which devices exist). */
int hc_audio_engine_new(hc_audio_engine **out, uv_loop_t *loop, const hc_audio_config *cfg,
                        const hc_audio_callbacks *cb, char *err, size_t errlen);
int hc_audio_engine_start(hc_audio_engine *e, char *err, size_t errlen);
/* Stops streams and timers; then hc_audio_engine_free() once the loop has run its close callbacks
 * (free may be called right after stop; it finishes closing handles itself). */
void hc_audio_engine_stop(hc_audio_engine *e);
void hc_audio_engine_free(hc_audio_engine *e);

/* A payload from another participant (already decrypted and replay-checked). */
void hc_audio_engine_receive(hc_audio_engine *e, uint32_t sender, const uint8_t *payload, size_t len);
/* Forget a sender who left (frees its jitter buffer and decoder). */
void hc_audio_engine_forget_sender(hc_audio_engine *e, uint32_t sender);

void hc_audio_engine_set_muted(hc_audio_engine *e, int muted);
/* Loss that receivers report about our stream, in percent: drives OPUS_SET_PACKET_LOSS_PERC and
 * the wideband cap that makes FEC effective. */
void hc_audio_engine_set_loss_percent(hc_audio_engine *e, int pct);

typedef struct {
    uint64_t frames;        /* frames played from this sender (decoded, FEC or concealed) */
    uint64_t received;      /* payloads received */
    uint64_t lost;          /* slots with no payload at playout time */
    uint64_t late;          /* payloads that arrived after their slot was played */
    uint64_t duplicates;
    uint64_t concealed;     /* PLC frames */
    uint64_t fec_recovered; /* frames rebuilt from the next packet's FEC */
    double loss_pct;        /* lost / (expected) over the last few seconds */
    double jitter_ms;       /* RFC 3550-style interarrival jitter */
    int delay_ms;           /* current jitter-buffer target */
    int frame_ms;           /* the sender's frame length (its packets say) */
    int level_dbfs;         /* RMS of the last decoded frames, -127..0 */
    int talking;            /* voice activity (with hang time) */
} hc_audio_rx_stats;

typedef struct {
    uint64_t frames_sent;
    uint64_t dtx_skipped;
    uint64_t bytes_sent;
    uint64_t capture_overruns, capture_underruns;   /* device rings */
    uint64_t playback_underruns, playback_overruns;
    uint64_t recording_dropped;   /* frames not recorded since the output file failed */
    int level_dbfs;         /* own microphone level */
    int talking;
    int muted;
    int loss_percent;       /* current FEC loss hint */
} hc_audio_tx_stats;

/* Returns 0 and fills st, or -1 for an unknown sender. */
int hc_audio_engine_rx_stats(const hc_audio_engine *e, uint32_t sender, hc_audio_rx_stats *st);
void hc_audio_engine_tx_stats(const hc_audio_engine *e, hc_audio_tx_stats *st);
/* Samples per frame at 48 kHz (480, 960 or 1920). */
int hc_audio_engine_frame_samples(const hc_audio_engine *e);

/* "device 'default' (PortAudio)", "wav:in.wav", ... for the UI and logs. */
const char *hc_audio_engine_describe_in(const hc_audio_engine *e);
const char *hc_audio_engine_describe_out(const hc_audio_engine *e);

/* `hushcall devices`: writes the PortAudio device table to out. Returns 0, or -1 with err. */
int hc_audio_list_devices(FILE *out, char *err, size_t errlen);

#endif
