/* For benchmarks and tests: an engine whose input and/or output are functions (paced by the loop
 * clock like files), so a measurement can see every sample with its timestamp. */
#ifndef HC_AUDIO_ENGINE_CUSTOM_H
#define HC_AUDIO_ENGINE_CUSTOM_H

#include "audio/engine.h"
#include "audio/jitter.h"
#include "audio/sink.h"
#include "audio/source.h"

typedef struct hc_audio_custom_io {
    hc_source_fill_fn fill;        /* NULL: use cfg->in_spec */
    void *fill_ctx;
    hc_sink_consume_fn consume;    /* NULL: use cfg->out_spec */
    void *consume_ctx;
} hc_audio_custom_io;

int hc_audio_engine_new_custom(hc_audio_engine **out, uv_loop_t *loop, const hc_audio_config *cfg,
                               const hc_audio_callbacks *cb, const hc_audio_custom_io *io, char *err,
                               size_t errlen);

/* How the playout clock was handled: a sink whose clock is ours is re-phased (ticks moved sooner
 * to just after the packets' due times); a device sink's pull irregularity goes into the jitter
 * buffers' targets instead. */
typedef struct {
    uint64_t shifts;          /* re-phasings */
    int64_t shifted_us;       /* total, microseconds sooner */
    int pull_extra_us;        /* device sinks: pull irregularity added to every target */
} hc_audio_playout_info;
void hc_audio_engine_playout_info(const hc_audio_engine *e, hc_audio_playout_info *pi);

/* The jitter buffer's own counters for one sender (inserted/skipped frames, resyncs...). */
int hc_audio_engine_jb_counters(const hc_audio_engine *e, uint32_t sender, hc_jb_counters *c);

#endif
