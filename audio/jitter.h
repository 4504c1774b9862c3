/* Adaptive jitter buffer for one sender. Pure: no clock, no codec, no allocation after init, so
 * every decision can be unit-tested with explicit times.
 *
 * Timing model. Packet seq s (extended to 64 bits across u16 wraps) was sent at s * F on the
 * sender's clock (F = frame duration), so its "transit" r = arrival - s * F is the network delay
 * plus an unknown constant clock offset. base = the smallest r of the last few seconds (the
 * fastest path); r - base is each packet's jitter. The target delay T is a high percentile of that
 * jitter, plus a margin of a tenth of a frame, plus the irregularity of the receiver's own playout
 * ticks (hc_jb_set_extra_us); at most 200 ms. T is a wait after the fastest path's arrival, not a
 * whole frame: with no jitter a packet is played at the first playout tick after it arrived (the
 * buffer still holds up to HC_JB_SLOTS frames when the jitter asks for them). Slot s is played
 * when the playout clock p = (now - base - T) / F reaches s.
 *
 * The FEC frame. While there is loss, T has one more frame, so the next packet is usually there
 * to rebuild a lost one from its FEC; it goes HC_JB_FEC_HOLD_US of received audio after the last
 * loss. Once it is off, one loss alone is concealed and does not bring it back; a second one
 * within HC_JB_FEC_HOLD_US of audio does (a path that loses packets, not a single accident).
 * A new stream starts on probation: until HC_JB_PROBATION_US of its audio came without loss,
 * T is at least one frame plus the FEC frame. Lowering the delay later is free for a playout clock
 * that is re-phased (its ticks just come sooner) and happens in a pause otherwise; raising it
 * mid-speech needs an inserted frame, so the delay starts high and comes down, rather than
 * growing with every early surprise. A loss that brings the FEC frame back turns it on at once,
 * with one insert next to the slot being concealed anyway. Because base follows the newest
 * packets, sender/receiver clock drift (a slowly moving r) is tracked too; the difference between
 * p and the slot being played is corrected by inserting or skipping a whole frame, preferably
 * while the talker is quiet (a shift during speech is audible). How late each slot was played
 * against its due time (hc_jb_take_slack) lets a receiver whose playout clock can be moved (a file
 * or null sink) move it to just after the due time, so that the phase of its ticks adds no delay.
 *
 * Gaps. A missing slot is "lost" when a later packet already arrived (then the engine rebuilds it
 * from the next packet's FEC if that one is buffered, else conceals it). When nothing later has
 * arrived, the sender may simply have stopped sending: Opus DTX (only after ~200 ms of silence,
 * so the talker was quiet before it) or mute. Such a gap is played as silence and is not loss if
 * the talker was quiet when it began; if the talker was speaking it is concealed and counted as
 * lost once a packet ends it, unless it lasted longer than any plausible loss burst.
 *
 * Bounded: a fixed number of slots; packets too far ahead of playout are dropped (and after a
 * few in a row the buffer resynchronises, e.g. when the sender restarted its counter). */
#ifndef HC_AUDIO_JITTER_H
#define HC_AUDIO_JITTER_H

#include <stddef.h>
#include <stdint.h>

#define HC_JB_SLOTS 64                 /* power of two; >= 200 ms / 10 ms + reorder room */
#define HC_JB_MAX_PAYLOAD 1275         /* one Opus frame at most */
#define HC_JB_WINDOW 256               /* transit samples kept for the delay estimate */
#define HC_JB_MAX_DELAY_US 200000
#define HC_JB_WINDOW_US 3000000        /* how far back base and the jitter percentile look */
#define HC_JB_MAX_LOSS_BURST 15        /* a longer silent gap after speech counts as a pause (mute) */
#define HC_JB_MAX_CONCEAL 5            /* conceal at most this many slots of an open gap, then silence */
#define HC_JB_FEC_HOLD_US 10000000     /* keep the FEC frame this long (of audio) after the last loss */
#define HC_JB_PROBATION_US 5000000     /* a new stream: this much audio without loss before the delay drops */
#define HC_JB_LOSS_BUCKETS 5           /* loss_pct covers the last 5 seconds */

typedef enum {
    HC_JB_NONE,      /* nothing to play yet (no packet, or still buffering): silence */
    HC_JB_FRAME,     /* decode data/len (the packet of this slot) */
    HC_JB_FEC,       /* this slot is lost; rebuild it from data/len, the NEXT packet's FEC */
    HC_JB_LOSS,      /* this slot is lost; conceal (PLC) */
    HC_JB_SILENCE,   /* the sender is not sending (DTX, mute): silence, not loss */
    HC_JB_INSERT,    /* playout stretched by one frame to raise the delay: conceal, slot unchanged */
} hc_jb_kind;

typedef struct {
    hc_jb_kind kind;
    const uint8_t *data;
    size_t len;
    int64_t ext;               /* extended seq of the slot (FRAME, FEC, LOSS, SILENCE) */
} hc_jb_out;

typedef enum {
    HC_JB_PUT_OK,
    HC_JB_PUT_DUPLICATE,
    HC_JB_PUT_LATE,
    HC_JB_PUT_OUT_OF_RANGE,
    HC_JB_PUT_RESYNC,          /* accepted as the first packet of a new stream */
    HC_JB_PUT_INVALID,
} hc_jb_put_result;

typedef struct {
    uint64_t received, played, lost, late, duplicates, fec, concealed, silence_slots;
    uint64_t inserted, skipped, out_of_range, resyncs;
} hc_jb_counters;

typedef struct {
    int64_t ext;
    uint16_t len;
    uint8_t state;             /* 0 empty, 1 holds an unplayed packet, 2 its packet was played */
    uint8_t data[HC_JB_MAX_PAYLOAD];
} hc_jb_slot;

typedef struct {
    int64_t t_us, r_us;
} hc_jb_sample;

typedef struct {
    int frame_us;
    int started, playing;
    int64_t highest, play;     /* extended seqs */
    hc_jb_slot slots[HC_JB_SLOTS];
    hc_jb_sample win[HC_JB_WINDOW];
    int win_n, win_head;
    int64_t base_us;
    int target_us;             /* what the jitter asks for */
    double cur_target_us;      /* what playout uses: rises at once, falls slowly */
    double jitter_us;          /* RFC 3550 interarrival jitter */
    int64_t last_r_us;
    int talking;               /* hint from the decoded audio: is the talker speaking? */
    int gap_pending, gap_quiet, gap_run;
    int oor_run;
    int64_t loss_bucket_sec[HC_JB_LOSS_BUCKETS];
    uint32_t loss_expected[HC_JB_LOSS_BUCKETS], loss_lost[HC_JB_LOSS_BUCKETS];
    int64_t last_now_us;
    int64_t fec_clean_frames;      /* packets played since the last loss (or the stream's start) */
    int fec_had_loss;              /* this stream had a loss (else it is on probation) */
    int fec_insert_due;            /* the FEC frame was just turned on: take it by an insert now */
    int fec_strike;                /* the FEC frame is off and one loss came (see count_lost) */
    int64_t fec_strike_frames;     /* packets played since that loss */
    int extra_us;                  /* irregularity of the receiver's playout clock (set by the engine) */
    int rephased;                  /* the playout clock follows the target (hc_jb_set_rephased) */
    int64_t slack_us;              /* last played packet: how long after its due time it was played */
    int slack_valid;               /* slack_us is new since the last hc_jb_take_slack() */
    hc_jb_counters c;
} hc_jb;

/* frame_us: the sender's frame duration (hushcall senders use 10, 20 or 40 ms; 60 ms is accepted). */
void hc_jb_init(hc_jb *jb, int frame_us);
hc_jb_put_result hc_jb_put(hc_jb *jb, uint16_t seq, const uint8_t *data, size_t len, int64_t now_us);
/* One call per frame slot of playout. The returned data stays valid until the next put/get. */
void hc_jb_get(hc_jb *jb, int64_t now_us, hc_jb_out *out);
void hc_jb_set_talking(hc_jb *jb, int talking);
/* How irregular the receiver's playout ticks are (microseconds between the earliest and latest
 * tick against a steady clock): added to the target, so that an early tick still finds its packet.
 * 0 for a playout clock that is re-phased instead (see hc_jb_take_slack). */
void hc_jb_set_extra_us(hc_jb *jb, int extra_us);
/* The receiver moves its playout ticks instead (a file or null sink): later when the target
 * rises, sooner when packets are played later than due. Such a sink is not listened to live, so
 * continuity matters more than delay: the buffer itself skips a slot only when it is 4 frames
 * behind (with several senders the ticks can follow only the one with the least slack; the
 * others keep theirs rather than lose a frame). */
void hc_jb_set_rephased(hc_jb *jb, int on);
/* For the last packet played since the previous call (kind FRAME): now - its due time, in
 * microseconds (>= 0 normally; the due time already includes the target delay). Returns 0 and
 * sets *slack_us, or -1 if no packet was played since. */
int hc_jb_take_slack(hc_jb *jb, int64_t *slack_us);
/* Current playout target in microseconds, and the loss over the last few seconds in percent. */
int hc_jb_delay_us(const hc_jb *jb);
double hc_jb_loss_pct(const hc_jb *jb);

#endif
