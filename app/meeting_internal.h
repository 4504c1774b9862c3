/* Internal state of the meeting state machine, shared by its parts:
 *   meeting.c         lifecycle, frame dispatch, participant side (boxes, roster, heartbeats)
 *   meeting_leader.c  leader side (admission, rekey, roster, heartbeats)
 *   meeting_keys.c    epochs, frame keys, media and chat sealing/opening
 * Not for use outside app/meeting*.c. */
#ifndef HC_MEETING_INTERNAL_H
#define HC_MEETING_INTERNAL_H

#include "app/meeting.h"
#include "crypto/contexts.h"
#include "crypto/keybox.h"
#include "crypto/replay.h"
#include "crypto/seccode.h"
#include "crypto/sframe.h"
#include "net/hmap.h"
#include "net/itab.h"
#include "net/media.h"
#include "net/roster.h"
#include "net/wire.h"

#define MAX_EPOCHS 8              /* epochs held at once for decryption */
#define UNKNOWN_BUF_MAX 64        /* frames waiting for a key we do not hold yet, per kind: */
enum { UNK_AUDIO, UNK_VIDEO, UNK_KINDS };   /* a video burst must not push out audio */
#define ALERT_THRESHOLD 3         /* failures from one sender before a security alert */
#define CHAT_TEXT_MAX 1000
#define MT_INDEX_MAX 65535        /* member indexes are 1..65535 (PROTOCOL.md §3.1, KID sender bits) */
/* Members held at once: those a roster lists (5000) plus as many the relay lists that the roster
 * does not yet or no longer shows, and some slack. A relay that lists more is lying (its
 * --max-members is at most 5000); entries beyond this are not created. Departed members are
 * evicted (sweep() in meeting.c), so churn over a long meeting does not add up. */
#define MT_MEMBERS_CAP (2 * HC_ROSTER_MAX_ENTRIES + 64)
/* Departures are keyed out in batches: the first leave into a quiet meeting at once, then at most
 * one leave rekey per this (PROTOCOL.md §4.2): what a leaver can read after it left is bounded by
 * this plus the switch-over. */
#define LEAVE_BATCH_MS 250
/* Epochs the leader tracks acks for at once (a switch-over in progress and the rekeys of the
 * batches that came during it). */
#define SWITCH_SLOTS 8
#define NONCES_MAX 5              /* 2 x nonce_rotate_ms / (nonce_rotate_ms / 2), and the newest */
/* Alerts (per kind), notices and relay errors: at most ALERT_BURST events per ALERT_WINDOW_MS
 * each; the rest are counted and summarised once per window, so a relay cannot flood the user. */
#define ALERT_BURST 5
#define NOTICE_BURST 20
#define ALERT_WINDOW_MS 10000
#define MT_RATE_KINDS 48
#define RELAY_LOCK_RESTORE_MS 30000 /* a resumed locked meeting: the relay's lock hint waits for the others */

/* Plaintext kinds inside the encrypted chat stream (stream 3). */
enum { APP_TEXT = 1, APP_STATE = 2, APP_REPORT = 3 };

typedef struct {
    uint32_t index;
    int have_binding;
    uint64_t bound_since;         /* when the binding arrived (unlisted-member grace counts from here) */
    hc_binding b;                 /* first binding (the one the roster hashes) */
    uint8_t bhash[32];
    char fpr[HC_FPR_LEN + 1];
    uint8_t nonce[HC_NONCE_LEN];  /* newest liveness nonce announced (leader seals with it) */
    uint64_t nonce_rx_ms;         /* when it reached us (our clock) */
    /* relay's view */
    int listed;
    uint64_t listed_since;
    uint32_t join_seq;            /* order in which the relay listed it (1 = earliest; 0 = never) */
    int unlisted_alerted;
    int sweep_queued;             /* its index is in the eviction candidates (sweep_q) */
    /* as a leader: the highest epoch it boxed to us (per leader: PROTOCOL.md §4.5 rollback rule) */
    uint32_t box_epoch;
    /* leader's view */
    int in_roster, waiting, pending_admit, denied;
    uint8_t k[HC_BOXKEY_LEN];     /* cached pairwise key with this member (leader) */
    int have_k;
    /* leader: per switch slot (L.sw, epoch % SWITCH_SLOTS), whether the slot's epoch was boxed to
     * it and whether it acked that epoch */
    uint8_t boxed_bits, ack_bits;
    int departing;                /* leader: the relay reported it gone; it leaves the roster at the
                                     next batch (at most LEAVE_BATCH_MS later) */
    /* announced state */
    int muted;
    int joined_emitted;
    int asked;                    /* leader: an admission_request was shown for it (a departure
                                     then closes it with participant_left) */
    uint8_t gone_why;             /* why it left, as the relay's MEMBER_LEFT says (HC_LEFT_* + 1;
                                     0: not known) or as we did it (kick) */
    /* receive counters and alert bookkeeping */
    hc_rx_counters rx;
    uint64_t auth_fail_recent, replay_recent;
    int auth_alerted, replay_alerted;
    int badsig_alerted;
    int badname_alerted;          /* its signed name breaks the name rules (app/names.h): refused */
    uint64_t announce_tat;        /* leader: its announcement budget (mt_leader_announce_budget) */
    /* Receive keys are never derived again for epochs below this (set when the relay reports the
     * member gone), so a fake MEMBER_LEFT cannot reset a replay window for a replay. */
    uint32_t rx_floor;
    /* Split view (PROTOCOL.md §12): since when its frames have arrived only under epochs we never
     * received (0: the last one opened), and whether that was reported. */
    uint64_t foreign_since;
    uint32_t foreign_gen;         /* foreign_since counts only within this send-epoch switch */
    int foreign_alerted;
    int evict;                    /* sweep(): marked for eviction */
} mt_member;

typedef struct {
    uint32_t index;
    uint64_t due;
} mt_due;

typedef struct {
    const char *kind;             /* a string literal */
    uint64_t window_start;
    uint32_t n, suppressed;
} mt_rate;

/* An epoch is its number and the leader that made it (PROTOCOL.md §4.5): two leaders may number
 * a key alike (a successor that missed its predecessor's last box), and the table holds one of
 * them per number, the current leader's. */
typedef struct {
    uint32_t epoch;
    uint32_t leader;              /* index of the leader that made it */
    uint8_t mk[HC_MK_LEN];
    uint16_t suite;
    uint64_t retire_at;           /* 0 while current; else wipe at this time */
} mt_epoch;

/* Receive state for one KID: key and replay window. */
typedef struct {
    hc_sframe_key key;
    hc_replay win;
    uint32_t epoch, sender;       /* what rx_remove selects by */
} mt_rxkey;

typedef struct {
    uint64_t at_ms;
    size_t len;
    uint8_t pkt[HC_MEDIA_MAX];
} mt_buffered;

struct hc_meeting {
    hc_meeting_config cfg;
    hc_meeting_io io;
    hc_meeting_phase phase;
    uint64_t t0, now;
    char left_reason[32];
    int exit_status;

    /* meeting */
    char meeting_id[HC_MEETING_ID_MAX + 1];
    uint8_t uuid[HC_UUID_LEN];
    uint32_t self, leader;
    int locked;
    /* The admission policy: part of the certified state (roster flags), so a new leader inherits
     * it (PROTOCOL.md §3.5); cfg.admit is only the policy of a meeting we create. */
    hc_admit_policy admit;
    int admit_known;

    /* our keys */
    hc_ephemeral eph;
    hc_binding my_binding;
    uint8_t my_bhash[32];
    /* Liveness nonces (PROTOCOL.md §3.4), [0] newest, each with the time we made it: a box is
     * accepted under a nonce made less than 2 x nonce_rotate_ms ago, and we rotate twice per
     * nonce_rotate_ms (at most every HC_NONCE_ROTATE_MIN_MS), so at most NONCES_MAX are live. */
    uint8_t nonces[NONCES_MAX][HC_NONCE_LEN];
    uint64_t nonce_made[NONCES_MAX];
    int n_nonces;
    uint64_t next_nonce_ms;
    int muted;
    uint64_t next_ping_ms;
    double rtt_ms;

    /* members (ascending index), and the same by index in O(1) */
    mt_member **mem;
    size_t n_mem, cap_mem;
    hc_itab by_index;
    /* Evicted indexes whose binding we held: never re-created (a relay must not bring back a
     * departed member). Indexes we never saw a binding for may come back: an honest relay reuses
     * those of joiners that left without announcing (PROTOCOL.md §11.3, JOIN). */
    uint8_t gone[(MT_INDEX_MAX + 1) / 8 + 1];
    /* Members that may have become evictable (the relay reported them gone, or a list dropped
     * them): sweep() looks at these only, so a departure costs O(1), not a pass over everyone. */
    uint32_t *sweep_q;
    size_t n_sweep_q, cap_sweep_q;
    int sweep_all;                        /* look at everyone once (a leader change, a whole new list) */
    /* Unlisted-member checks (check_unlisted): when each member the relay lists and whose binding
     * we hold has had its grace period. Enqueued in time order (the grace is constant), so the
     * tick pops only what is due: O(1) per member, not a pass over the table every 50 ms. */
    mt_due *uq;
    size_t uq_head, uq_n, uq_cap;
    uint32_t *rq;                         /* members a list stopped showing: checked at the next tick */
    size_t n_rq, cap_rq;
    uint32_t n_joining;                   /* listed, no binding (not ourselves): shown as joining */
    uint32_t join_seq_next;               /* last join_seq given */
    int table_full_noted;

    /* epochs */
    mt_epoch epochs[MAX_EPOCHS];
    size_t n_epochs;
    uint32_t highest_epoch;               /* highest number ever held, any leader (numbering, resume) */
    uint32_t send_epoch;
    uint32_t send_leader;                 /* the leader that made send_epoch: we send only while it
                                           * is the current leader (0: none) */
    uint32_t certified_epoch;             /* newest epoch the current leader's heartbeats certified */
    uint32_t switch_gen;                  /* send-epoch switches so far (split-view clocks restart) */
    int key_missing_told;                 /* alerted that a certified epoch's key is missing */
    hc_sframe_sender tx_audio, tx_chat, tx_video;
    int have_tx;
    hc_hmap rx;                           /* KID (8 bytes) -> mt_rxkey* */
    mt_buffered *unknown[UNK_KINDS];      /* rings of frames with unknown KIDs, one per kind */
    size_t unknown_head[UNK_KINDS], n_unknown[UNK_KINDS];

    /* leader identity as we know it */
    uint8_t leader_pk_k[HC_BOXKEY_LEN];   /* pairwise key with the leader (participant side) */
    uint32_t leader_k_for;                /* leader index that key belongs to */
    int have_leader_k;
    char code[HC_CODE_STR_LEN + 1];
    uint32_t code_leader;
    int code_verified;

    /* roster and heartbeats (participant side; the leader's roster is the last one it sent) */
    hc_roster *roster;                    /* certified */
    uint8_t roster_hash[32];
    int have_roster;
    hc_roster *pending;                   /* received or built from deltas, not yet certified */
    uint8_t pending_hash[32];
    int have_pending;
    hc_roster *rtmp;                      /* scratch: a delta applied, a whole roster decoded */
    uint8_t *rbuf;                        /* a whole roster arriving in parts (ROSTER frames) */
    size_t rbuf_len, rbuf_total;
    /* A valid heartbeat certified a roster we do not hold (want): we asked the relay for the
     * leader's whole roster (ROSTER_GET) and certify it when a copy hashes to what was certified.
     * Until then the heartbeat is not fresh (PROTOCOL.md §5.3). */
    int have_want, want_alerted;
    uint32_t want_v, want_epoch, want_asked_v;
    uint8_t want_hash[32];
    uint64_t want_ts, want_since;
    int was_in_roster;                    /* we have appeared in a roster of this leader */
    int waiting_emitted;                  /* the leader's list shows us waiting: told once */
    uint64_t hb_last_t, hb_last_ts;
    uint8_t hb_last[32];
    int hb_have_last;
    uint64_t hb_last_ok_ms;               /* time of the last valid heartbeat (or join/leader change) */
    uint64_t hb_interval_est;             /* longest gap seen between valid heartbeats (<= 10 s) */
    uint32_t hb_rejected;                 /* heartbeats that failed a check since the last valid one:
                                           * a timeout with none is a stall, not tampering */
    /* Staleness (PROTOCOL.md §5.5): the smallest offset between our clock at arrival and the
     * leader's signed timestamp (mod 2^64: the clocks have unrelated origins), and that
     * heartbeat's timestamp. A heartbeat whose offset exceeds it by more than the miss limit was
     * held back: it does not count as fresh. */
    uint64_t hb_base_off, hb_base_ts;
    int hb_have_base;
    int64_t hb_last_lag;                  /* the lag of the newest valid heartbeat (0 after a leader change) */
    uint32_t joining_told;                /* members listed by the relay but not announced, last reported */
    int hb_timeout_fired;

    /* leader side */
    struct {
        uint8_t mk[HC_MK_LEN];
        uint32_t epoch;                   /* newest epoch made */
        uint32_t roster_v;
        uint64_t t;
        uint8_t prev[32];
        uint64_t next_hb_ms, batch_deadline, switch_deadline, next_rekey_ms;
        uint64_t last_batch_ms;           /* when the last batch (joins and leaves) was keyed */
        int switching;                    /* `epoch` is not certified yet; switch_deadline was set by
                                           * the first rekey of the switch and is never pushed back */
        /* Epochs made during the switch, each with the boxes sent to members still here and the
         * acks of it: the newest that every recipient acked is certified (if no member left since
         * it was made), so a join storm's rekeys do not keep each other from being certified. */
        struct { uint32_t epoch; size_t needed, got; int valid; } sw[SWITCH_SLOTS];
        size_t n_pending;                 /* members admitted, waiting for the next batch */
        int force_rekey;                  /* rekey at batch_deadline even without joins */
        uint64_t takeover_until;          /* a new leader's first key waits for fresh nonces until then */
        uint8_t (*lock_ivks)[32];
        size_t n_lock_ivks;
        uint64_t last_ts;
        uint64_t announce_tat_unknown;    /* the budget shared by indexes we hold no entry for */
        uint64_t announce_verified, announce_capped;   /* announcements checked / dropped unchecked */
        uint64_t cert_by_acks, cert_by_timeout;        /* certifications: all acked / the deadline */
    } L;

    /* rejoining after a lost relay connection (cfg.resume, PROTOCOL.md §11.10) */
    struct {
        int sent_resume;                  /* our last request was a RESUME */
        uint64_t retry_at;                /* send the next JOIN / RESUME then (0: awaiting an answer) */
        uint64_t refused_since;           /* first no_such_meeting from this relay */
        uint32_t tries;
        int exists;                       /* the relay said someone re-created it: JOIN, not RESUME */
        int new_instance;                 /* JOINED names another uuid than the one we were in */
        int statement_ok;                 /* a valid resume statement for our meeting arrived */
        uint8_t statement_ivk[32];        /* ... signed by this key */
        int leader_checked;
        uint64_t relay_lock_at;           /* leader: when to restore the relay's lock hint (0: none) */
    } R;
    int stalled;                          /* no heartbeat for the miss limit: sending paused */
    uint64_t stalled_since, last_rx_ms;

    mt_rate rates[MT_RATE_KINDS];
    size_t n_rates;
    int announced;                        /* my_bhash holds our first binding's hash */

    uint8_t scratch[HC_FRAME_MAX_DEFAULT + 64];
};

/* ---- meeting.c ---- */
void mt_emit(hc_meeting *m, hc_event *ev);
void mt_alert(hc_meeting *m, const char *kind, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void mt_notice(hc_meeting *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void mt_error(hc_meeting *m, const char *code, const char *text);   /* HC_EV_ERROR, not rate-limited */
void mt_send(hc_meeting *m, const hc_msg *msg);
mt_member *mt_find(const hc_meeting *m, uint32_t index);
mt_member *mt_get(hc_meeting *m, uint32_t index);   /* find or create; NULL for an invalid,
                                                       evicted index or a full table */
int mt_valid_index(uint32_t index);
/* Rate limit for events the relay can trigger: returns 1 when an event of this kind may be
 * emitted now (kind: a string literal). */
int mt_rate_ok(hc_meeting *m, const char *kind, uint32_t burst);
void mt_leave(hc_meeting *m, const char *reason, int exit_status, int tell_relay);
void mt_update_code(hc_meeting *m);
/* The meeting's admission policy is (now) p: tell the front ends when it is news. */
void mt_set_admit(hc_meeting *m, hc_admit_policy p);
void mt_emit_participant_joined(hc_meeting *m, mt_member *x);
void mt_emit_participant_left(hc_meeting *m, mt_member *x, const char *reason);
void mt_send_state(hc_meeting *m);
/* The identity key was in the roster of the meeting we resume (the leader's included). */
int mt_resume_knows(const hc_meeting *m, const uint8_t ivk[32]);
int mt_is_roster_member(const hc_meeting *m, uint32_t index);
/* The relay lists x, or no longer does (keeps the joining count). */
void mt_set_listed(hc_meeting *m, mt_member *x, int listed);
/* x may have become evictable (sweep() at the next tick looks at it). */
void mt_sweep_push(hc_meeting *m, mt_member *x);
/* A list stopped showing x: check it for the unlisted-member alert at the next tick (if its grace
 * is over by then; otherwise its turn in the queue comes). */
void mt_unlisted_recheck(hc_meeting *m, mt_member *x);
/* miss_limit x max(own heartbeat interval, the leader's learned pace), in ms. */
uint64_t mt_miss_limit_ms(const hc_meeting *m);
/* A member's certified state is older than the miss limit, judged by the leader's clock. */
int mt_certified_state_stale(const hc_meeting *m);

/* ---- meeting_leader.c ---- */
void mt_leader_begin(hc_meeting *m);                       /* we became leader (create or change) */
void mt_leader_on_announce(hc_meeting *m, mt_member *x, int first);
void mt_leader_deny(hc_meeting *m, mt_member *x, const char *why);   /* not admitted; the relay removes it */
/* Before checking the signature of an announcement of member x (NULL: an index we hold no entry
 * for): 1 when it is within that member's budget, 0 when it is dropped unchecked. */
int mt_leader_announce_budget(hc_meeting *m, mt_member *x);
void mt_leader_on_keyack(hc_meeting *m, uint32_t from, uint32_t epoch);
void mt_leader_member_gone(hc_meeting *m, mt_member *x);   /* left, kicked or denied */
void mt_leader_tick(hc_meeting *m);
int mt_leader_command(hc_meeting *m, const hc_command *cmd);
void mt_leader_wipe(hc_meeting *m);

/* ---- meeting_keys.c ---- */
/* Holds (epoch, leader); an epoch of that number made by another leader is dropped first. */
/* How often a member draws a new liveness nonce (twice per nonce_rotate_ms, PROTOCOL.md §3.4). */
uint64_t mt_nonce_rotation(const hc_meeting *m);
int mt_install_epoch(hc_meeting *m, uint32_t epoch, uint32_t leader, const uint8_t mk[32], uint16_t suite);
/* Drops the epoch of this number if another leader made it (a collision, §4.5). */
void mt_epoch_collision(hc_meeting *m, uint32_t epoch, uint32_t leader);
void mt_switch_send_epoch(hc_meeting *m, uint32_t epoch);   /* start sending under epoch */
/* Sends under the newest epoch of the current leader that its heartbeats certified, if held. */
void mt_follow_certified(hc_meeting *m);
/* The leader changed: epochs of earlier leaders are kept old_key_ms for frames in flight, never
 * sent under again. */
void mt_keys_leader_changed(hc_meeting *m);
const mt_epoch *mt_epoch_get(const hc_meeting *m, uint32_t epoch);
void mt_keys_tick(hc_meeting *m);                           /* retire old epochs, flush buffers */
void mt_keys_wipe(hc_meeting *m);
/* We may send now: under a key of the current leader that is the newest it certified, with a
 * certified state no older than the miss limit (PROTOCOL.md §4.3, §5.5). */
int mt_may_send(hc_meeting *m);
int mt_seal_chat(hc_meeting *m, const uint8_t *pt, size_t len, uint8_t *out, size_t cap);
/* Opens a stream-3 frame from `from`; returns plaintext length or -1 (counted). */
int mt_open_chat(hc_meeting *m, uint32_t from, const uint8_t *in, size_t len, uint8_t *pt, size_t cap);
void mt_media_in(hc_meeting *m, const uint8_t *pkt, size_t len, int from_buffer);
void mt_forget_member_keys(hc_meeting *m, uint32_t index);

#endif
