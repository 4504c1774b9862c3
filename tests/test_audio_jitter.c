/* Jitter buffer: reorder, loss bursts, duplicates, late frames, u16 wraparound, DTX gaps, a long
 * pause, clock drift of +-0.1 % over minutes, huge seq jumps, and garbage. Time is explicit: each
 * scenario is a list of packet arrival times and a playout clock ticking once per frame. */
#include "tests/testutil.h"

#include "audio/jitter.h"

#define F_US 20000
#define MAXP 20000

typedef struct {
    int64_t arrive_us;         /* < 0: dropped */
    int64_t send_us;
    uint16_t seq;
    int dup;                   /* also deliver a copy dup_after_us later */
    int64_t dup_after_us;
} pkt;

typedef struct {
    int frames, fec, loss, silence, insert, none;
    int64_t first_ext;
    int64_t last_ext;
    int order_ok;
    int64_t min_delay_us, max_delay_us;   /* playout time - send time of played packets */
    int64_t min_delay_late_us, max_delay_late_us;   /* same, after settle_us */
} result;

static uint64_t rng_state = 1;
static double rnd(void) {
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (double)((rng_state * 2685821657736338717ull) >> 11) / 9007199254740992.0;
}

#define MAXOUT 40000
static hc_jb_kind out_kind[MAXOUT];
static int64_t out_ext[MAXOUT], out_t[MAXOUT];
static int out_delay[MAXOUT];          /* hc_jb_delay_us after each tick */
static uint64_t out_lost[MAXOUT];      /* jb->c.lost after each tick */

/* The extended seq the buffer gives the scenario's first packet p[0] (it arrives first in every
 * scenario, and the buffer numbers its first packet 2^24 + seq). */
static int64_t first_ext_of_stream(const hc_jb *jb, const pkt *p) {
    (void)jb;
    return ((int64_t)1 << 24) + p[0].seq;
}

/* Deliver packets in arrival order while the receiver plays one frame every F_US (phase offset
 * get_phase_us). talking(t) gives the hint the engine would derive from decoded audio. */
static void simulate(hc_jb *jb, pkt *p, int n, int64_t until_us, int64_t get_phase_us, int64_t settle_us,
                     int (*talking)(int64_t t_us), result *r) {
    /* events: arrivals (and duplicate arrivals), sorted by time */
    static int64_t at[2 * MAXP];
    static int idx[2 * MAXP];
    int ne = 0;
    for (int i = 0; i < n; i++) {
        if (p[i].arrive_us < 0) continue;
        at[ne] = p[i].arrive_us, idx[ne++] = i;
        if (p[i].dup) at[ne] = p[i].arrive_us + p[i].dup_after_us, idx[ne++] = i;
    }
    for (int i = 1; i < ne; i++) {      /* insertion sort: nearly sorted already */
        int64_t a = at[i];
        int b = idx[i], j = i - 1;
        while (j >= 0 && at[j] > a) at[j + 1] = at[j], idx[j + 1] = idx[j], j--;
        at[j + 1] = a, idx[j + 1] = b;
    }
    memset(r, 0, sizeof *r);
    r->order_ok = 1;
    r->first_ext = r->last_ext = -1;
    r->min_delay_us = r->min_delay_late_us = INT64_MAX;
    r->max_delay_us = r->max_delay_late_us = INT64_MIN;
    int e = 0, nout = 0;
    static uint8_t payload[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    for (int64_t t = get_phase_us; t < until_us; t += F_US) {
        while (e < ne && at[e] <= t) {
            pkt *q = &p[idx[e]];
            payload[0] = (uint8_t)q->seq;
            hc_jb_put(jb, q->seq, payload, sizeof payload, at[e]);
            e++;
        }
        if (talking) hc_jb_set_talking(jb, talking(t));
        hc_jb_out o;
        hc_jb_get(jb, t, &o);
        /* the payload's first byte is the low byte of its seq: it must be this slot's packet */
        if (o.kind == HC_JB_FRAME) assert_int_equal(o.data[0], (uint8_t)o.ext);
        if (nout < MAXOUT) {
            out_kind[nout] = o.kind, out_ext[nout] = o.ext, out_t[nout] = t;
            out_delay[nout] = hc_jb_delay_us(jb), out_lost[nout] = jb->c.lost;
            nout++;
        }
    }
    /* Tally. Slots after the last packet (the end of the stream) are not part of the scenario. */
    for (int i = 0; i < nout; i++) {
        hc_jb_kind k = out_kind[i];
        int64_t ext = out_ext[i], t = out_t[i];
        if (k != HC_JB_NONE && k != HC_JB_INSERT && ext > jb->highest) continue;
        switch (k) {
        case HC_JB_NONE: r->none++; break;
        case HC_JB_FRAME:
            r->frames++;
            {
                /* send time of this slot: packets are numbered from the stream's first seq */
                int64_t kidx = ext - first_ext_of_stream(jb, p);
                if (kidx >= 0 && kidx < n) {
                    int64_t d = t - p[kidx].send_us;
                    if (d < r->min_delay_us) r->min_delay_us = d;
                    if (d > r->max_delay_us) r->max_delay_us = d;
                    if (t >= settle_us) {
                        if (d < r->min_delay_late_us) r->min_delay_late_us = d;
                        if (d > r->max_delay_late_us) r->max_delay_late_us = d;
                    }
                }
            }
            break;
        case HC_JB_FEC: r->fec++; break;
        case HC_JB_LOSS: r->loss++; break;
        case HC_JB_SILENCE: r->silence++; break;
        case HC_JB_INSERT: r->insert++; break;
        }
        if (k == HC_JB_FRAME || k == HC_JB_FEC || k == HC_JB_LOSS || k == HC_JB_SILENCE) {
            if (r->last_ext >= 0 && ext != r->last_ext + 1 && ext != r->last_ext + 2) r->order_ok = 0;
            if (r->first_ext < 0) r->first_ext = ext;
            r->last_ext = ext;
        }
    }
}

/* A regular sender: seq start+k sent at k*F*(1+drift), network delay base + jitter*U[0,1). */
static int make_stream(pkt *p, int n, uint16_t start, double drift, int64_t base_us, int64_t jitter_us) {
    for (int k = 0; k < n; k++) {
        p[k].seq = (uint16_t)(start + k);
        p[k].send_us = (int64_t)((double)k * F_US * (1.0 + drift));
        p[k].arrive_us = p[k].send_us + base_us + (int64_t)(rnd() * (double)jitter_us);
        p[k].dup = 0;
    }
    return n;
}

static int always_talking(int64_t t) { (void)t; return 1; }

static void test_in_order_clean(void **st) {
    (void)st;
    static pkt p[MAXP];
    static hc_jb jb;
    hc_jb_init(&jb, F_US);
    int n = make_stream(p, 400, 1000, 0, 5000, 0);
    result r;
    simulate(&jb, p, n, 400 * F_US + 100000, 3000, 0, always_talking, &r);
    /* When probation ends, the target steps down by almost two frames; this talker never pauses
     * and these ticks cannot be re-phased, so once the excess reaches 2.5 frames one frame is
     * skipped during speech. */
    assert_int_equal(r.frames + (int)jb.c.skipped, 400);
    assert_true(jb.c.skipped <= 1);
    assert_int_equal(jb.c.lost, 0);
    assert_int_equal(jb.c.late, 0);
    assert_int_equal(r.fec + r.loss + r.insert, 0);
    assert_true(r.order_ok);
    /* After probation (5 s of audio without loss), with no jitter and no loss the target is only
     * the margin of a tenth of a frame: a wait after the packet's arrival, not a whole frame,
     * and no FEC frame. */
    assert_int_equal(hc_jb_delay_us(&jb), F_US / 10);
    /* network 5 ms + target (on probation: one frame + the FEC frame) + tick phase < 1 frame */
    assert_true(r.min_delay_us >= 5000 && r.max_delay_us <= 5000 + 2 * F_US + F_US);
}

static void test_reorder(void **st) {
    (void)st;
    static pkt p[MAXP];
    static hc_jb jb;
    hc_jb_init(&jb, F_US);
    int n = make_stream(p, 300, 7, 0, 5000, 2000);
    for (int k = 20; k + 1 < n; k += 10) p[k].arrive_us = p[k + 1].arrive_us + 3000;  /* k after k+1 */
    result r;
    simulate(&jb, p, n, 300 * F_US + 200000, 1000, 0, always_talking, &r);
    print_message("reorder: frames %d fec %d loss %d insert %d lost %llu late %llu delay %d us\n", r.frames, r.fec,
                  r.loss, r.insert, (unsigned long long)jb.c.lost, (unsigned long long)jb.c.late, hc_jb_delay_us(&jb));
    /* The first reorders come on probation (a frame + the FEC frame of delay), and by its end the
     * measured jitter covers them (23 ms), so none is late. */
    assert_int_equal(r.frames, 300);
    assert_int_equal(jb.c.lost, 0);
    assert_int_equal(jb.c.late, 0);
    assert_true(hc_jb_delay_us(&jb) >= 23000);
    assert_true(r.order_ok);
}

static void test_loss_bursts(void **st) {
    (void)st;
    static pkt p[MAXP];
    static hc_jb jb;
    hc_jb_init(&jb, F_US);
    int n = make_stream(p, 400, 500, 0, 5000, 0);
    int dropped = 0, bursts = 0;
    const int burst_at[] = {50, 100, 200, 300}, burst_len[] = {1, 3, 5, 2};
    for (int b = 0; b < 4; b++, bursts++)
        for (int k = 0; k < burst_len[b]; k++, dropped++) p[burst_at[b] + k].arrive_us = -1;
    result r;
    simulate(&jb, p, n, 400 * F_US + 100000, 2000, 0, always_talking, &r);
    assert_int_equal(r.frames, 400 - dropped);
    assert_int_equal(jb.c.lost, dropped);
    /* The first burst comes on probation (FEC frame in place), and every loss keeps the FEC frame
     * for 10 s: the last slot of each burst is rebuilt from the next packet's FEC; the others
     * concealed. No insert. */
    assert_int_equal(r.insert, 0);
    assert_int_equal(r.fec, bursts);
    assert_int_equal(r.loss, dropped - bursts);
    /* margin + the FEC frame (the probation's extra frame is still on its slow way down) */
    assert_true(hc_jb_delay_us(&jb) >= F_US + F_US / 10 && hc_jb_delay_us(&jb) <= F_US + F_US / 10 + 500);
    assert_true(r.order_ok);
    assert_true(hc_jb_loss_pct(&jb) > 0);
}

static void test_duplicates(void **st) {
    (void)st;
    static pkt p[MAXP];
    static hc_jb jb;
    hc_jb_init(&jb, F_US);
    int n = make_stream(p, 100, 0, 0, 5000, 0);
    int dups = 0;
    for (int k = 10; k < n; k += 7, dups++) {
        p[k].dup = 1;
        p[k].dup_after_us = (k % 2) ? 1000 : 80000;  /* some while buffered, some after playout */
    }
    result r;
    simulate(&jb, p, n, 100 * F_US + 200000, 2000, 0, always_talking, &r);
    assert_int_equal(r.frames, 100);
    assert_int_equal(jb.c.duplicates, dups);
    assert_int_equal(jb.c.lost, 0);
    assert_int_equal(jb.c.late, 0);
    assert_int_equal(jb.c.received, 100);
}

static void test_late_frame(void **st) {
    (void)st;
    static pkt p[MAXP];
    static hc_jb jb;
    hc_jb_init(&jb, F_US);
    int n = make_stream(p, 200, 40000, 0, 5000, 0);
    p[100].arrive_us += 400000;      /* 400 ms late: far past its slot, beyond the 200 ms cap */
    result r;
    simulate(&jb, p, n, 200 * F_US + 300000, 2000, 0, always_talking, &r);
    assert_int_equal(jb.c.late, 1);
    assert_int_equal(jb.c.lost, 1);
    assert_int_equal(r.frames, 199);
    assert_true(hc_jb_delay_us(&jb) <= HC_JB_MAX_DELAY_US);
}

static void test_seq_wraparound(void **st) {
    (void)st;
    static pkt p[MAXP];
    static hc_jb jb;
    hc_jb_init(&jb, F_US);
    int n = make_stream(p, 300, 65400, 0, 5000, 3000);   /* 65400 .. 65535, 0 .. 163 */
    p[140].arrive_us = -1;                                 /* a loss right after the wrap */
    result r;
    simulate(&jb, p, n, 300 * F_US + 200000, 1000, 0, always_talking, &r);
    assert_int_equal(r.frames, 299);
    assert_int_equal(jb.c.lost, 1);
    assert_int_equal(jb.c.out_of_range, 0);
    assert_int_equal(jb.c.resyncs, 0);
    assert_true(r.order_ok);
    assert_int_equal(r.last_ext - r.first_ext, 299);
}

/* talking until 1.0 s, quiet 1.0-1.6 s (the DTX pause), then talking again */
static int talk_dtx(int64_t t) { return t < 1000000 || t >= 1600000; }

static void test_dtx_gap(void **st) {
    (void)st;
    static pkt p[MAXP];
    static hc_jb jb;
    hc_jb_init(&jb, F_US);
    int n = make_stream(p, 150, 9, 0, 5000, 0);
    /* Opus sends ~10 frames after the voice stops, then nothing (DTX) until the voice is back;
     * the quiet frames are 50..59 (1.0-1.2 s), DTX drops 60..89 */
    for (int k = 60; k < 90; k++) p[k].arrive_us = -1;
    result r;
    simulate(&jb, p, n, 150 * F_US + 100000, 2000, 0, talk_dtx, &r);
    assert_int_equal(jb.c.lost, 0);
    assert_int_equal(r.loss + r.fec, 0);
    assert_int_equal(r.silence, 30);
    assert_int_equal(r.frames, 120);
    assert_true(r.order_ok);
    assert_true(hc_jb_loss_pct(&jb) == 0.0);
}

static void test_long_pause_while_talking(void **st) {
    (void)st;
    static pkt p[MAXP];
    static hc_jb jb;
    hc_jb_init(&jb, F_US);
    int n = make_stream(p, 200, 9, 0, 5000, 0);
    for (int k = 50; k < 150; k++) p[k].arrive_us = -1;    /* muted mid-word for 2 s */
    result r;
    simulate(&jb, p, n, 200 * F_US + 100000, 2000, 0, always_talking, &r);
    /* a few frames concealed, then silence; not counted as 100 lost frames */
    assert_int_equal(jb.c.lost, 0);
    assert_int_equal(r.loss, HC_JB_MAX_CONCEAL);
    assert_int_equal(r.frames, 100);
    assert_true(jb.c.silence_slots >= 95);
}

/* speech with pauses: 3 s talking, 1 s quiet */
static int talk_pauses(int64_t t) { return (t / 1000000) % 4 != 3; }

static void drift_case(double drift) {
    static pkt p[MAXP];
    static hc_jb jb;
    hc_jb_init(&jb, F_US);
    rng_state = 42;
    const int n = 15000;                         /* 5 minutes of 20 ms frames */
    make_stream(p, n, 123, drift, 10000, 10000);  /* 10 ms + up to 10 ms jitter */
    result r;
    simulate(&jb, p, n, p[n - 1].send_us + 400000, 7000, 20000000, talk_pauses, &r);
    print_message("drift %+.1f%%: frames %d inserted %llu skipped %llu lost %llu late %llu delay %d us, "
                  "playout delay after 20 s: %lld..%lld us\n",
                  drift * 100, r.frames, (unsigned long long)jb.c.inserted, (unsigned long long)jb.c.skipped,
                  (unsigned long long)jb.c.lost, (unsigned long long)jb.c.late, hc_jb_delay_us(&jb),
                  (long long)r.min_delay_late_us, (long long)r.max_delay_late_us);
    /* 0.1 % of 15000 frames = 15 frames of drift to absorb */
    if (drift > 0) {
        assert_true(jb.c.inserted >= 10 && jb.c.inserted <= 25);
        assert_true(jb.c.skipped <= 3);
    } else {
        assert_true(jb.c.skipped >= 10 && jb.c.skipped <= 25);
        assert_true(jb.c.inserted <= 3);
    }
    assert_true(jb.c.late <= 5);
    assert_true(jb.c.lost <= 5);
    /* neither growing nor starving: the delay stays within network delay + target + 2 frames */
    assert_true(r.min_delay_late_us >= 10000);
    assert_true(r.max_delay_late_us <= 10000 + 10000 + hc_jb_delay_us(&jb) + 2 * F_US);
    assert_true((uint64_t)r.frames + jb.c.skipped + jb.c.lost >= (uint64_t)n - 2);
}

static void test_drift_plus(void **st) { (void)st; drift_case(+0.001); }
static void test_drift_minus(void **st) { (void)st; drift_case(-0.001); }

static void test_jitter_raises_delay_capped(void **st) {
    (void)st;
    static pkt p[MAXP];
    static hc_jb jb;
    hc_jb_init(&jb, F_US);
    rng_state = 7;
    int n = make_stream(p, 500, 0, 0, 5000, 60000);     /* 60 ms of jitter */
    result r;
    simulate(&jb, p, n, 500 * F_US + 300000, 1000, 0, always_talking, &r);
    assert_true(hc_jb_delay_us(&jb) >= 60000);
    assert_true(jb.c.late <= 10);
    hc_jb_init(&jb, F_US);
    n = make_stream(p, 500, 0, 0, 5000, 500000);        /* 500 ms of jitter: capped at 200 ms */
    simulate(&jb, p, n, 500 * F_US + 800000, 1000, 0, always_talking, &r);
    assert_int_equal(hc_jb_delay_us(&jb), HC_JB_MAX_DELAY_US);
}

/* The FEC frame of delay: on probation from the stream's start (5 s of audio), then off. One loss
 * alone is concealed and leaves it off; a second loss within 10 s of audio turns it on again at
 * once (one insert); it goes after 10 s of audio without loss. Each time it goes, the target steps
 * down and playout gives the frames back by skips in a pause. A lone loss is forgotten after 10 s:
 * the next one, later than that, is alone again. */
static void test_fec_frame_hysteresis(void **st) {
    (void)st;
    static hc_jb jb;
    hc_jb_init(&jb, F_US);
    uint8_t d[4] = {0};
    hc_jb_out o;
    enum { N = 1700 };
    static int delay[N], inserted[N];
    for (int k = 0; k < N; k++) {              /* 34 s; packets 400, 450, 1000 and 1510 are lost */
        int64_t t = (int64_t)k * F_US;
        if (k != 400 && k != 450 && k != 1000 && k != 1510) hc_jb_put(&jb, (uint16_t)k, d, sizeof d, t + 5000);
        hc_jb_set_talking(&jb, talk_pauses(t));
        hc_jb_get(&jb, t + 8000, &o);
        delay[k] = hc_jb_delay_us(&jb);
        inserted[k] = (int)jb.c.inserted;
    }
    print_message("fec frame: delay %d us on probation, %d after it, %d after a lone loss, %d after a second, "
                  "%d 9.8 s later, %d 10.2 s later, %d after a lone loss, %d after one 10.2 s later; inserted %llu, "
                  "skipped %llu\n", delay[200], delay[300], delay[405], delay[455], delay[940], delay[960],
                  delay[1005], delay[1515], (unsigned long long)jb.c.inserted, (unsigned long long)jb.c.skipped);
    assert_int_equal(delay[200], 2 * F_US);                 /* probation: a frame + the FEC frame */
    assert_int_equal(delay[300], F_US / 10);                /* 6 s: stepped down to the margin */
    assert_int_equal(delay[405], F_US / 10);                /* a lone loss: concealed, no FEC frame */
    assert_int_equal(inserted[405], inserted[399]);
    assert_int_equal(delay[455], F_US + F_US / 10);         /* a second within 10 s: the FEC frame ... */
    assert_int_equal(inserted[455] - inserted[449], 1);     /* ... taken at once by one insert */
    assert_int_equal(delay[940], F_US + F_US / 10);         /* held for 10 s of audio */
    assert_int_equal(delay[960], F_US / 10);
    assert_int_equal(delay[1005], F_US / 10);               /* alone again */
    assert_int_equal(delay[1515], F_US / 10);               /* 10.2 s after the last: alone too */
    assert_int_equal(delay[N - 1], F_US / 10);
    assert_int_equal(inserted[N - 1], inserted[455]);
    assert_true(jb.c.skipped >= 2 && jb.c.skipped <= 4);   /* given back, in pauses */
    assert_int_equal(jb.c.lost, 4);
}

/* With jitter, packets after a lost one are already buffered when its slot is played, so a burst
 * is counted slot by slot: two adjacent losses are still one loss (the FEC frame stays off); a
 * separate loss 4 s later is the second one and brings it back. */
static void test_fec_frame_burst_with_jitter(void **st) {
    (void)st;
    static hc_jb jb;
    static pkt p[MAXP];
    enum { N = 800 };
    hc_jb_init(&jb, F_US);
    rng_state = 7;
    make_stream(p, N, 0, 0, 5000, 45000);
    p[400].arrive_us = p[401].arrive_us = p[600].arrive_us = -1;
    result r;
    simulate(&jb, p, N, (int64_t)N * F_US + 60000, 60000, 0, always_talking, &r);   /* tick k: slot k */
    const int *delay = out_delay;
    assert_int_equal(out_lost[430], 2);                  /* both slots of the burst were counted */
    print_message("burst with 45 ms jitter: delay %d us before it, %d after it, %d after a loss 4 s later\n",
                  delay[395], delay[430], delay[630]);
    assert_true(delay[395] > 30000);                     /* the jitter is what sets the delay */
    assert_true(abs(delay[430] - delay[395]) < F_US / 2); /* the burst: no FEC frame */
    assert_true(delay[630] - delay[395] >= F_US * 3 / 4); /* the second loss: the FEC frame */
    assert_int_equal(jb.c.lost, 3);
}

/* Slack: how long after its due time each packet is played (a re-phasable playout clock moves
 * its ticks by it); extra: the playout clock's own irregularity, added to the target. */
static void test_slack_and_extra(void **st) {
    (void)st;
    static hc_jb jb;
    hc_jb_init(&jb, F_US);
    hc_jb_set_talking(&jb, 0);       /* quiet: the probation's excess delay is given back at once */
    uint8_t d[4] = {0};
    hc_jb_out o;
    int64_t sl;
    assert_int_equal(hc_jb_take_slack(&jb, &sl), -1);
    /* packets arrive 5 ms after their send time, ticks come 12 ms after it: after probation they
     * are due at 5 + 2 ms (the margin), so each is played 5 ms after its due time */
    for (int k = 0; k < 350; k++) {
        int64_t t = (int64_t)k * F_US;
        hc_jb_put(&jb, (uint16_t)k, d, sizeof d, t + 5000);
        hc_jb_get(&jb, t + 12000, &o);
        if (k < 300) {
            hc_jb_take_slack(&jb, &sl);
            continue;
        }
        assert_int_equal(o.kind, HC_JB_FRAME);
        assert_int_equal(hc_jb_take_slack(&jb, &sl), 0);
        assert_true(sl >= 4999 && sl <= 5001);
        assert_int_equal(hc_jb_take_slack(&jb, &sl), -1);   /* once per played packet */
    }
    assert_int_equal(hc_jb_delay_us(&jb), F_US / 10);
    uint64_t corrections = jb.c.inserted + jb.c.skipped;
    /* ticks that may come up to 4 ms early: the target grows by that, the slack shrinks by it */
    hc_jb_set_extra_us(&jb, 4000);
    for (int k = 350; k < 360; k++) {
        int64_t t = (int64_t)k * F_US;
        hc_jb_put(&jb, (uint16_t)k, d, sizeof d, t + 5000);
        hc_jb_get(&jb, t + 12000, &o);
        assert_int_equal(o.kind, HC_JB_FRAME);
        assert_int_equal(hc_jb_take_slack(&jb, &sl), 0);
    }
    assert_int_equal(hc_jb_delay_us(&jb), F_US / 10 + 4000);
    assert_true(sl >= 999 && sl <= 1001);
    assert_int_equal(jb.c.inserted + jb.c.skipped, corrections);
    assert_int_equal(jb.c.lost, 0);
}

/* A re-phased playout clock (file/null sink): the buffer leaves the delay to the clock and skips
 * nothing when probation ends; the slack it reports is what the clock may move sooner. */
static void test_rephased_no_skip(void **st) {
    (void)st;
    static hc_jb jb;
    hc_jb_init(&jb, F_US);
    hc_jb_set_rephased(&jb, 1);
    hc_jb_set_talking(&jb, 0);
    uint8_t d[4] = {0};
    hc_jb_out o;
    int64_t sl = -1;
    for (int k = 0; k < 400; k++) {
        int64_t t = (int64_t)k * F_US;
        hc_jb_put(&jb, (uint16_t)k, d, sizeof d, t + 5000);
        hc_jb_get(&jb, t + 12000, &o);
        if (k >= 2) assert_int_equal(o.kind, HC_JB_FRAME);   /* filling up to 40 ms before */
        hc_jb_take_slack(&jb, &sl);
    }
    assert_int_equal(hc_jb_delay_us(&jb), F_US / 10);
    assert_int_equal(jb.c.skipped + jb.c.inserted, 0);
    /* on probation slot s was due at 5 + 40 ms + s * F and played at the tick 12 ms after send
     * time + 2 frames: 7 ms after due; the 40 ms target became 2 ms, so now 45 ms after due */
    assert_true(sl >= 44900 && sl <= 45100);
}

static void test_seq_jump_resync(void **st) {
    (void)st;
    static hc_jb jb;
    hc_jb_init(&jb, F_US);
    uint8_t d[4] = {0};
    hc_jb_out o;
    int64_t t = 0;
    for (int k = 0; k < 50; k++, t += F_US) {
        hc_jb_put(&jb, (uint16_t)k, d, sizeof d, t + 1000);
        hc_jb_get(&jb, t + 5000, &o);
    }
    /* a sender restart far away in seq space: ignored twice, followed on the third */
    assert_int_equal(hc_jb_put(&jb, 30000, d, sizeof d, t), HC_JB_PUT_OUT_OF_RANGE);
    assert_int_equal(hc_jb_put(&jb, 30001, d, sizeof d, t + F_US), HC_JB_PUT_OUT_OF_RANGE);
    assert_int_equal(hc_jb_put(&jb, 30002, d, sizeof d, t + 2 * F_US), HC_JB_PUT_RESYNC);
    assert_int_equal(jb.c.resyncs, 1);
    t += 2 * F_US;
    int frames = 0;
    for (int k = 3; k < 40; k++, t += F_US) {
        hc_jb_put(&jb, (uint16_t)(30000 + k), d, sizeof d, t + 1000);
        hc_jb_get(&jb, t + 5000, &o);
        if (o.kind == HC_JB_FRAME) frames++;
    }
    assert_true(frames >= 30);
    /* invalid input */
    assert_int_equal(hc_jb_put(&jb, 1, NULL, 3, t), HC_JB_PUT_INVALID);
    assert_int_equal(hc_jb_put(&jb, 1, d, 0, t), HC_JB_PUT_INVALID);
    static uint8_t big[HC_JB_MAX_PAYLOAD + 1];
    assert_int_equal(hc_jb_put(&jb, 1, big, sizeof big, t), HC_JB_PUT_INVALID);
}

static void test_garbage_bounded(void **st) {
    (void)st;
    static hc_jb jb;
    static uint8_t d[HC_JB_MAX_PAYLOAD];
    hc_jb_init(&jb, F_US);
    rng_state = 99;
    int64_t t = 0;
    for (int i = 0; i < 200000; i++) {
        size_t len = (size_t)(rnd() * HC_JB_MAX_PAYLOAD) + 1;
        d[0] = (uint8_t)i;
        uint16_t seq = rnd() < 0.5 ? (uint16_t)(rnd() * 65536) : (uint16_t)(i / 3);
        hc_jb_put(&jb, seq, d, len, t);
        if (i % 3 == 0) {
            hc_jb_out o;
            hc_jb_get(&jb, t, &o);
            if (o.kind == HC_JB_FRAME || o.kind == HC_JB_FEC) assert_true(o.len >= 1 && o.len <= HC_JB_MAX_PAYLOAD);
        }
        t += (int64_t)(rnd() * 20000);
        /* bounded by construction: playout never lags the newest packet by more than the buffer */
        assert_true(hc_jb_delay_us(&jb) <= HC_JB_MAX_DELAY_US);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_in_order_clean),
        cmocka_unit_test(test_reorder),
        cmocka_unit_test(test_loss_bursts),
        cmocka_unit_test(test_duplicates),
        cmocka_unit_test(test_late_frame),
        cmocka_unit_test(test_seq_wraparound),
        cmocka_unit_test(test_dtx_gap),
        cmocka_unit_test(test_long_pause_while_talking),
        cmocka_unit_test(test_drift_plus),
        cmocka_unit_test(test_drift_minus),
        cmocka_unit_test(test_jitter_raises_delay_capped),
        cmocka_unit_test(test_fec_frame_hysteresis),
        cmocka_unit_test(test_fec_frame_burst_with_jitter),
        cmocka_unit_test(test_slack_and_extra),
        cmocka_unit_test(test_rephased_no_skip),
        cmocka_unit_test(test_seq_jump_resync),
        cmocka_unit_test(test_garbage_bounded),
    };
    return cmocka_run_group_tests_name("audio_jitter", tests, NULL, NULL);
}
