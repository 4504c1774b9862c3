#include "audio/jitter.h"

#include <stdlib.h>
#include <string.h>

#define SLOT(jb, ext) (&(jb)->slots[(uint64_t)(ext) & (HC_JB_SLOTS - 1)])
#define EXT_ORIGIN ((int64_t)1 << 24)   /* first packet's extended seq: room to go below it */

static void reset_stream(hc_jb *jb) {
    jb->started = jb->playing = 0;
    jb->highest = jb->play = 0;
    for (int i = 0; i < HC_JB_SLOTS; i++) {
        jb->slots[i].state = 0;
        jb->slots[i].ext = -1;
    }
    jb->win_n = jb->win_head = 0;
    jb->base_us = 0;
    /* Probation: one frame plus the FEC frame, until the stream has shown what it needs. */
    jb->target_us = 2 * jb->frame_us + jb->extra_us;
    jb->cur_target_us = jb->target_us;
    jb->slack_valid = 0;
    jb->jitter_us = 0;
    jb->last_r_us = 0;
    jb->gap_pending = jb->gap_quiet = jb->gap_run = 0;
    jb->oor_run = 0;
    jb->fec_clean_frames = 0;         /* on probation */
    jb->fec_had_loss = 0;
    jb->fec_insert_due = 0;
    jb->fec_strike = 0;
}

void hc_jb_init(hc_jb *jb, int frame_us) {
    memset(jb, 0, sizeof *jb);
    jb->frame_us = frame_us > 0 ? frame_us : 20000;
    jb->talking = 1;        /* until told otherwise, a gap after audio may be loss */
    for (int i = 0; i < HC_JB_LOSS_BUCKETS; i++) jb->loss_bucket_sec[i] = -1;
    reset_stream(jb);
}

void hc_jb_set_talking(hc_jb *jb, int talking) { jb->talking = talking != 0; }

void hc_jb_set_extra_us(hc_jb *jb, int extra_us) {
    if (extra_us < 0) extra_us = 0;
    if (extra_us > HC_JB_MAX_DELAY_US) extra_us = HC_JB_MAX_DELAY_US;
    jb->extra_us = extra_us;
}

void hc_jb_set_rephased(hc_jb *jb, int on) { jb->rephased = on != 0; }

int hc_jb_take_slack(hc_jb *jb, int64_t *slack_us) {
    if (!jb->slack_valid) return -1;
    jb->slack_valid = 0;
    *slack_us = jb->slack_us;
    return 0;
}

int hc_jb_delay_us(const hc_jb *jb) { return (int)jb->cur_target_us; }

/* --- loss over the last few seconds, in one-second buckets ------------------------------------- */
static int bucket(hc_jb *jb) {
    int64_t sec = jb->last_now_us / 1000000;
    int i = (int)(((sec % HC_JB_LOSS_BUCKETS) + HC_JB_LOSS_BUCKETS) % HC_JB_LOSS_BUCKETS);
    if (jb->loss_bucket_sec[i] != sec) {
        jb->loss_bucket_sec[i] = sec;
        jb->loss_expected[i] = jb->loss_lost[i] = 0;
    }
    return i;
}

static void count_expected(hc_jb *jb, uint32_t n) { jb->loss_expected[bucket(jb)] += n; }

/* The FEC frame (see jitter.h): on probation, or within the hold after the last loss. */
static int on_probation(const hc_jb *jb) {
    return !jb->fec_had_loss && jb->fec_clean_frames * jb->frame_us < HC_JB_PROBATION_US;
}

static int fec_on(const hc_jb *jb) {
    return on_probation(jb) || (jb->fec_had_loss && jb->fec_clean_frames * jb->frame_us < HC_JB_FEC_HOLD_US);
}

/* Loss turns the FEC frame of delay on (again), unless the frame is off and this loss (one packet
 * or one burst: lost slots with no packet played in between, whether they are counted one by one
 * or at once) is the only one in the last HC_JB_FEC_HOLD_US of audio: one loss alone is
 * concealed, as the frame would cost delay for the next 10 s to rebuild losses that may never
 * come. The target rises at once, and playout takes the extra frame right away, next to the slot
 * that is being concealed anyway (a concealment of two frames once, instead of a stretch later in
 * the middle of clean speech). */
static void count_lost(hc_jb *jb, uint32_t n) {
    int i = bucket(jb);
    jb->loss_lost[i] += n;
    jb->c.lost += n;
    int was_on = fec_on(jb);
    if (!was_on && jb->fec_strike && jb->fec_strike_frames == 0) return;  /* the same burst */
    if (!was_on && !jb->fec_strike) {    /* one loss alone: conceal it, remember it */
        jb->fec_strike = 1;
        jb->fec_strike_frames = 0;
        return;
    }
    jb->fec_strike = 0;
    jb->fec_had_loss = 1;
    jb->fec_clean_frames = 0;
    if (!was_on) {
        jb->fec_insert_due = 1;
        jb->target_us += jb->frame_us;
        if (jb->target_us > HC_JB_MAX_DELAY_US) jb->target_us = HC_JB_MAX_DELAY_US;
        if (jb->target_us > jb->cur_target_us) jb->cur_target_us = jb->target_us;
    }
}

double hc_jb_loss_pct(const hc_jb *jb) {
    int64_t sec = jb->last_now_us / 1000000;
    uint64_t e = 0, l = 0;
    for (int i = 0; i < HC_JB_LOSS_BUCKETS; i++) {
        if (jb->loss_bucket_sec[i] < 0 || sec - jb->loss_bucket_sec[i] >= HC_JB_LOSS_BUCKETS) continue;
        e += jb->loss_expected[i];
        l += jb->loss_lost[i];
    }
    return e ? 100.0 * (double)l / (double)e : 0.0;
}

/* Slots of an open gap (played while nothing later had arrived) are settled once a later packet
 * shows up: a short gap after speech was loss; a long one was a pause (mute), and so is the rest of
 * that gap. */
static void settle_gap(hc_jb *jb) {
    if (jb->gap_pending > 0) {
        if (jb->gap_pending <= HC_JB_MAX_LOSS_BURST) {
            count_lost(jb, (uint32_t)jb->gap_pending);
            count_expected(jb, (uint32_t)jb->gap_pending);
        } else {
            jb->c.silence_slots += (uint64_t)jb->gap_pending;
            jb->gap_quiet = 1;
        }
    }
    jb->gap_pending = 0;
}

/* A packet was played: the gap (if any) is over. */
static void close_gap(hc_jb *jb) {
    settle_gap(jb);
    jb->gap_run = 0;
}

/* --- delay estimate ---------------------------------------------------------------------------- */
static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void update_target(hc_jb *jb, int64_t now) {
    int64_t vals[HC_JB_WINDOW];
    int n = 0;
    int64_t mn = INT64_MAX;
    for (int k = 0; k < jb->win_n; k++) {
        const hc_jb_sample *s = &jb->win[(jb->win_head - 1 - k + HC_JB_WINDOW) % HC_JB_WINDOW];
        if (n >= 16 && now - s->t_us > HC_JB_WINDOW_US) break;   /* old, and we have enough newer ones */
        vals[n++] = s->r_us;
        if (s->r_us < mn) mn = s->r_us;
    }
    if (n == 0) return;
    jb->base_us = mn;
    qsort(vals, (size_t)n, sizeof vals[0], cmp_i64);
    int idx = (n * 97 + 99) / 100 - 1;        /* ~97th percentile (the max for small windows) */
    if (idx >= n) idx = n - 1;
    if (idx < 0) idx = 0;
    int64_t spread = vals[idx] - mn;
    /* A little room beyond the measured spread (it is a percentile of a few seconds), and the
     * irregularity of the receiver's playout ticks: an early tick must still find its packet. */
    int64_t t = spread + jb->frame_us / 10 + jb->extra_us;
    /* On probation at least a frame; while there is loss (or on probation) the next packet is
     * kept at hand for FEC (see jitter.h). */
    if (on_probation(jb) && t < jb->frame_us) t = jb->frame_us;
    if (fec_on(jb)) t += jb->frame_us;
    if (t > HC_JB_MAX_DELAY_US) t = HC_JB_MAX_DELAY_US;
    jb->target_us = (int)t;
    if (t > jb->cur_target_us)
        jb->cur_target_us = (double)t;                          /* rise at once: avoid late packets */
    else
        jb->cur_target_us += ((double)t - jb->cur_target_us) / 64.0;  /* fall slowly */
}

/* A packet was played: one more frame of clean audio. When that ends probation or the FEC hold,
 * the delay steps down at once (a re-phased playout clock simply ticks sooner; otherwise the
 * frames are skipped in the next pause). */
static void clean_frame(hc_jb *jb, int64_t now) {
    int was_on = fec_on(jb);
    jb->fec_clean_frames++;
    if (jb->fec_strike && ++jb->fec_strike_frames * jb->frame_us >= HC_JB_FEC_HOLD_US) jb->fec_strike = 0;
    if (was_on && !fec_on(jb)) {
        update_target(jb, now);
        jb->cur_target_us = jb->target_us;
    }
}

static void add_sample(hc_jb *jb, int64_t ext, int64_t now) {
    int64_t r = now - ext * jb->frame_us;
    if (jb->win_n > 0) {
        int64_t d = r - jb->last_r_us;
        if (d < 0) d = -d;
        jb->jitter_us += ((double)d - jb->jitter_us) / 16.0;
    }
    jb->last_r_us = r;
    jb->win[jb->win_head] = (hc_jb_sample){now, r};
    jb->win_head = (jb->win_head + 1) % HC_JB_WINDOW;
    if (jb->win_n < HC_JB_WINDOW) jb->win_n++;
    update_target(jb, now);
}

/* --- put --------------------------------------------------------------------------------------- */
static void store(hc_jb *jb, int64_t ext, const uint8_t *data, size_t len) {
    hc_jb_slot *s = SLOT(jb, ext);
    s->ext = ext;
    s->len = (uint16_t)len;
    s->state = 1;
    memcpy(s->data, data, len);
    jb->c.received++;
    if (ext > jb->highest) jb->highest = ext;
}

static void start_stream(hc_jb *jb, uint16_t seq, const uint8_t *data, size_t len, int64_t now) {
    reset_stream(jb);
    int64_t ext = EXT_ORIGIN + seq;
    jb->started = 1;
    jb->highest = jb->play = ext;
    store(jb, ext, data, len);
    add_sample(jb, ext, now);
}

hc_jb_put_result hc_jb_put(hc_jb *jb, uint16_t seq, const uint8_t *data, size_t len, int64_t now) {
    if (!data || len == 0 || len > HC_JB_MAX_PAYLOAD) return HC_JB_PUT_INVALID;
    jb->last_now_us = now;
    if (!jb->started) {
        start_stream(jb, seq, data, len, now);
        return HC_JB_PUT_OK;
    }
    /* Extend relative to the playout position (it follows time, so it stays close to the sender's
     * counter even after a long mute); before playout, relative to the highest seq seen. */
    int64_t ref = jb->playing ? jb->play : jb->highest;
    int64_t ext = ref + (int16_t)(uint16_t)(seq - (uint16_t)ref);

    int in_range;
    if (jb->playing)
        in_range = ext >= jb->play - HC_JB_SLOTS && ext < jb->play + HC_JB_SLOTS;
    else
        in_range = ext > jb->highest - HC_JB_SLOTS / 2 && ext < jb->play + HC_JB_SLOTS;
    if (!in_range) {
        jb->c.out_of_range++;
        if (++jb->oor_run >= 3) {           /* the sender restarted or jumped: follow it */
            jb->c.resyncs++;
            start_stream(jb, seq, data, len, now);
            return HC_JB_PUT_RESYNC;
        }
        return HC_JB_PUT_OUT_OF_RANGE;
    }
    jb->oor_run = 0;

    hc_jb_slot *s = SLOT(jb, ext);
    if (s->ext == ext && s->state != 0) {
        jb->c.duplicates++;
        return HC_JB_PUT_DUPLICATE;
    }
    if (jb->playing && ext < jb->play) {
        jb->c.late++;
        add_sample(jb, ext, now);            /* it still tells us the delay is too short */
        return HC_JB_PUT_LATE;
    }
    if (!jb->playing && ext < jb->play) jb->play = ext;   /* reordered before playout began */
    store(jb, ext, data, len);
    settle_gap(jb);
    add_sample(jb, ext, now);
    return HC_JB_PUT_OK;
}

/* --- get --------------------------------------------------------------------------------------- */
static int have(const hc_jb *jb, int64_t ext) {
    const hc_jb_slot *s = &jb->slots[(uint64_t)ext & (HC_JB_SLOTS - 1)];
    return s->state == 1 && s->ext == ext;
}

void hc_jb_get(hc_jb *jb, int64_t now, hc_jb_out *o) {
    memset(o, 0, sizeof *o);
    o->kind = HC_JB_NONE;
    jb->last_now_us = now;
    if (!jb->started) return;
    double p = (double)(now - jb->base_us - (int64_t)jb->cur_target_us) / jb->frame_us;
    if (!jb->playing) {
        if (p < (double)jb->play) return;   /* still filling up to the target delay */
        jb->playing = 1;
    }
    double err = p - (double)jb->play;       /* > 0: playing later than needed; < 0: too early */
    int quiet = !jb->talking;
    /* Corrections: in a pause at once (a frame of silence more or less is inaudible), during
     * speech only when the delay is badly off or the packet for this slot is not here anyway.
     * The band between the insert and skip thresholds is wider than one frame, so one
     * correction can never trigger the opposite one. In a pause a whole frame of excess delay
     * is given back (err >= 1: e.g. the FEC frame once the loss is over). */
    if (err >= (jb->rephased ? 4.0 : quiet ? 1.0 : 2.5)) {
        /* Too much delay (target fell, or the sender's clock is faster): drop one slot. */
        hc_jb_slot *s = SLOT(jb, jb->play);
        if (have(jb, jb->play)) s->state = 2;
        jb->c.skipped++;
        jb->play++;
    } else if ((quiet ? err < -0.25 : (err < -1.0 || (err < -0.5 && (!have(jb, jb->play) || jb->fec_insert_due)))) ||
               (err < (jb->rephased ? -0.1 : 0.0) && !have(jb, jb->play) && jb->highest < jb->play)) {
        /* Too little delay (target rose, or the sender's clock is slower): play one extra frame.
         * While talking only when badly off or when the FEC frame was just turned on; and in any
         * case when this slot is not due yet and nothing of it or after it has arrived: waiting
         * a frame keeps that packet, which concealing the slot now would make late (a frame is
         * concealed either way, but this way nothing is lost). A re-phased clock's ticks sit just
         * after the due times and are moved later when they come early, so there a tick less
         * than the target's margin (a tenth of a frame) early is no reason: in a DTX or mute gap
         * the insert would only be a discontinuity in the output. */
        jb->fec_insert_due = 0;
        jb->c.inserted++;
        o->kind = HC_JB_INSERT;
        o->ext = jb->play;
        return;
    }

    jb->fec_insert_due = 0;
    int64_t ext = jb->play;
    hc_jb_slot *s = SLOT(jb, ext);
    o->ext = ext;
    if (have(jb, ext)) {
        close_gap(jb);
        /* how long after its due time (p == ext) this packet is played */
        jb->slack_us = (int64_t)((p - (double)ext) * jb->frame_us);
        jb->slack_valid = 1;
        o->kind = HC_JB_FRAME;
        o->data = s->data;
        o->len = s->len;
        s->state = 2;
        jb->c.played++;
        clean_frame(jb, now);
        count_expected(jb, 1);
    } else {
        /* Missing. If the talker was quiet when this gap began, the sender is in DTX (Opus only
         * enters it after ~200 ms of silence) or muted: silence, not loss. Otherwise, if something
         * later is here, this one was lost (or is late): rebuild it from the next packet's FEC or
         * conceal it. If nothing later is here yet, conceal for a while and settle the count when
         * the gap ends. */
        if (jb->gap_run == 0) jb->gap_quiet = quiet;
        jb->gap_run++;
        int later = have(jb, ext + 1) || jb->highest > ext;
        if (jb->gap_quiet) {
            o->kind = HC_JB_SILENCE;
            jb->c.silence_slots++;
        } else if (later) {
            settle_gap(jb);
            count_lost(jb, 1);
            count_expected(jb, 1);
            if (have(jb, ext + 1)) {
                hc_jb_slot *n = SLOT(jb, ext + 1);
                o->kind = HC_JB_FEC;
                o->data = n->data;
                o->len = n->len;
                jb->c.fec++;
            } else {
                o->kind = HC_JB_LOSS;
                jb->c.concealed++;
            }
        } else {
            jb->gap_pending++;
            if (jb->gap_run <= HC_JB_MAX_CONCEAL) {
                o->kind = HC_JB_LOSS;
                jb->c.concealed++;
            } else {
                o->kind = HC_JB_SILENCE;
            }
        }
    }
    jb->play++;
}
