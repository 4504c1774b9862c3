/* The meeting state machine, sans-I/O: one participant (leader or not) of one meeting.
 *
 * Inputs: control frames from the relay, media datagrams, local commands and clock ticks.
 * Outputs (through hc_meeting_io): control frames and datagrams to send, events for front ends,
 * decrypted media for the audio engine. It never touches a socket, a file or the real clock, so
 * tests run many participants in one process with a fake clock (see tests/test_meeting.c).
 *
 * Implements PROTOCOL.md §3-§8: announce with signed binding and liveness nonce; leader
 * verification, admission policy, cached pairwise keys, per-recipient key boxes; rekey on joins
 * and leaves (batched), kick (at once), periodically and on leader change; ack-driven switch-over
 * certified by a heartbeat, its deadline never pushed back; old epochs kept 10 s then wiped; an
 * epoch is its number and its leader, rollback rejected per leader; signed, hash-chained
 * heartbeats; roster (up to 5000 entries, in parts) reaching members as deltas, fetched whole on a
 * mismatch, with the own-entry check and the certified lock and admission policy; missed-heartbeat
 * limit and staleness bound;
 * lock, kick; leader change checked against the last roster and join order; split-view alerts;
 * the security code. */
#ifndef HC_MEETING_H
#define HC_MEETING_H

#include <stddef.h>
#include <stdint.h>

#include "app/events.h"
#include "crypto/binding.h"
#include "crypto/identity.h"

typedef enum { HC_ADMIT_AUTO = 0, HC_ADMIT_ASK, HC_ADMIT_KNOWN } hc_admit_policy;
int hc_admit_parse(const char *s, hc_admit_policy *out);
const char *hc_admit_name(hc_admit_policy p);   /* "auto", "ask", "known" */

/* What a participant keeps of a meeting across a lost relay connection, to rejoin it
 * (PROTOCOL.md §11.10): made by hc_meeting_resume_export from the meeting it was in, handed to the
 * next meeting object in hc_meeting_config.resume. No meeting key survives: the resumed meeting
 * is keyed again. */
#define HC_RESUME_NO_RANK UINT32_MAX
typedef struct {
    char meeting_id[HC_MEETING_ID_MAX + 1];
    uint8_t uuid[HC_UUID_LEN];    /* the instance we were in */
    uint8_t leader_ivk[32];       /* its leader */
    int was_leader;
    /* Our place among the other members of the last certified roster, in join order (0 = the
     * earliest after the leader): who re-creates the meeting when the leader does not come back.
     * HC_RESUME_NO_RANK when we were not in it. */
    uint32_t rank;
    uint32_t epoch;               /* newest epoch we held or made: a resuming leader numbers on */
    int locked;
    hc_admit_policy admit;        /* the meeting's admission policy: a resuming leader keeps it */
    uint8_t (*ivks)[32];          /* identity keys of that roster's members, the leader's included */
    size_t n_ivks;
    uint8_t (*lock_ivks)[32];     /* the lock list (leader), or the roster's keys (member) */
    size_t n_lock_ivks;
} hc_meeting_resume;

typedef struct {
    const hc_identity *id;        /* borrowed; outlives the meeting */
    char name[HC_NAME_MAX + 1];
    int create;                   /* 1: host (CREATE and lead); 0: join meeting_id */
    char meeting_id[HC_MEETING_ID_MAX + 1];
    hc_admit_policy admit;
    uint32_t heartbeat_ms;        /* leader sends one at least this often (<= 10000), default 2000 */
    uint32_t miss_limit;          /* intervals without a valid heartbeat before leaving, default 5 */
    uint32_t rekey_s;             /* periodic rekey, default 300 */
    uint32_t join_batch_ms;       /* joins within this window share one rekey, default 200 */
    uint32_t switch_timeout_ms;   /* certify a new epoch after this even without all acks, default 1000 */
    uint32_t old_key_ms;          /* keep superseded epochs for decryption, default 10000 */
    uint32_t nonce_rotate_ms;     /* post a fresh liveness nonce this often, default 2000 */
    uint32_t unknown_kid_ms;      /* buffer frames under a KID we do not hold yet, default 200 */
    uint16_t suite;               /* SFrame suite the leader picks, default 0xF001 */
    /* Verified-leader store (the session owns the file). Returns 1 when ivk is remembered as
     * verified; sets *conflict when the same display name was verified with a different key. */
    int (*is_verified)(void *ctx, const uint8_t ivk[32], const char *name, int *conflict);
    void *store_ctx;
    /* Rejoin this meeting after a lost relay connection (borrowed; outlives the meeting), instead
     * of create / meeting_id. */
    const hc_meeting_resume *resume;
    /* 0: at the miss limit with nothing received, leave (exit 5). Else such a stall pauses sending
     * (HC_EV_RECONNECTING) until heartbeats arrive again, and we leave only after this much more. */
    uint32_t stall_ms;
    /* 1: the session reconnects when the connection is lost, so a relay that says it is shutting
     * down (a restart, an update) does not end the meeting for us. */
    int reconnect;
    /* Resuming: how long a member waits for the leader to re-create the meeting before the
     * earliest member does (plus 1 s per place in join order), default 3000. */
    uint32_t takeover_ms;
} hc_meeting_config;

void hc_meeting_config_defaults(hc_meeting_config *c);

typedef struct {
    void *ctx;
    void (*send_ctrl)(void *ctx, const uint8_t *frame, size_t len);
    void (*send_media)(void *ctx, const uint8_t *pkt, size_t len);
    void (*event)(void *ctx, const hc_event *ev);
    /* A decrypted, replay-checked media payload (stream 1 audio). */
    void (*media)(void *ctx, uint32_t sender, const uint8_t *payload, size_t len);
    /* A receiver report about our stream from another member: the loss it sees, in percent. */
    void (*loss_report)(void *ctx, uint32_t from, uint8_t loss_pct);
    /* The user confirmed the security code: remember this leader as verified. Returns 0 once it
     * is saved, or -1 with a sentence in err (the store could not be written): then the code is
     * not marked as verified, since the next meeting would not know it. */
    int (*remember_verified)(void *ctx, const uint8_t ivk[32], const char *name, char *err, size_t errlen);
    /* Registration token for the media socket (from JOINED). */
    void (*media_token)(void *ctx, const uint8_t token[16]);
    /* The relay confirmed our media endpoint (MEDIA_READY). */
    void (*media_ready)(void *ctx);
    /* One decrypted, replay-checked video fragment (stream 2): flags is the authenticated media
     * byte 1 (video/fragment.h HC_VFLAG_*), payload the fragment's plaintext. */
    void (*video)(void *ctx, uint32_t sender, uint8_t flags, const uint8_t *payload, size_t len);
    /* A VIDEO control frame from the relay (net/wire.h HC_VOP_KEYREQ / HC_VOP_STATUS). Unauthenticated:
     * the relay may lie about it, which costs video, never secrecy. */
    void (*video_ctrl)(void *ctx, uint8_t op, uint32_t index, uint32_t value);
} hc_meeting_io;

typedef struct hc_meeting hc_meeting;

hc_meeting *hc_meeting_new(const hc_meeting_config *cfg, const hc_meeting_io *io, uint64_t now_ms);
/* Wipes every key and frees. Safe on NULL. */
void hc_meeting_free(hc_meeting *m);

/* The control connection is up: sends CREATE or JOIN. */
void hc_meeting_start(hc_meeting *m, uint64_t now_ms);
/* One control frame body from the relay. */
void hc_meeting_on_frame(hc_meeting *m, const uint8_t *body, size_t len, uint64_t now_ms);
/* One media datagram from the relay. */
void hc_meeting_on_media(hc_meeting *m, const uint8_t *pkt, size_t len, uint64_t now_ms);
/* The control connection dropped: the meeting is over for us. */
void hc_meeting_on_disconnected(hc_meeting *m, const char *why, uint64_t now_ms);
/* Timers. Call at least every 50 ms, or at hc_meeting_next_deadline(). */
void hc_meeting_tick(hc_meeting *m, uint64_t now_ms);
uint64_t hc_meeting_next_deadline(const hc_meeting *m);
/* A local command (headless stdin, TUI). Returns 0, or -1 with an HC_EV_ERROR event emitted. */
int hc_meeting_command(hc_meeting *m, const hc_command *cmd, uint64_t now_ms);
/* Encrypts and sends one audio payload under the current sending epoch. Returns 0, or -1 when
 * we hold no sending key yet (or are muted/left). level: RFC 6464 byte for the relay header. */
int hc_meeting_send_audio(hc_meeting *m, const uint8_t *payload, size_t len, uint8_t level, uint64_t now_ms);
/* Encrypts and sends one video fragment (stream 2) under the current sending epoch: flags goes
 * into the authenticated media byte 1. Not affected by mute (that is audio). Returns 0, or -1 as
 * hc_meeting_send_audio. */
int hc_meeting_send_video(hc_meeting *m, uint8_t flags, const uint8_t *payload, size_t len, uint64_t now_ms);
/* Sends a VIDEO control frame to the relay (HC_VOP_OFFER / PIN / KEYREQ). 0, or -1 when not in
 * the meeting. */
int hc_meeting_video_ctrl(hc_meeting *m, uint8_t op, uint32_t index, uint32_t value);
/* Sends a receiver report (loss we see per sender) to the meeting, encrypted. */
int hc_meeting_send_report(hc_meeting *m, const uint32_t *senders, const uint8_t *loss_pct, size_t n, uint64_t now_ms);

/* ---- state for front ends and tests ---- */
typedef enum { HC_MT_CONNECTING, HC_MT_JOINING, HC_MT_IN, HC_MT_LEFT } hc_meeting_phase;

typedef struct {
    uint64_t ok, auth_fail, replay, unknown_kid, too_old;
    uint64_t video_ok;            /* video fragments opened */
    uint64_t video_auth_fail, video_replay;   /* of auth_fail / replay: video ones */
} hc_rx_counters;

typedef struct {
    uint32_t index;
    const char *name;             /* from the signed binding */
    const char *fingerprint;
    int is_leader, is_self, muted, waiting, in_roster;
    hc_rx_counters rx;
} hc_member_info;

hc_meeting_phase hc_meeting_phase_get(const hc_meeting *m);
const char *hc_meeting_id(const hc_meeting *m);
uint32_t hc_meeting_self_index(const hc_meeting *m);
uint32_t hc_meeting_leader_index(const hc_meeting *m);
int hc_meeting_is_leader(const hc_meeting *m);
/* The epoch we send under (0 = none yet), and the highest we hold. */
uint32_t hc_meeting_send_epoch(const hc_meeting *m);
uint32_t hc_meeting_highest_epoch(const hc_meeting *m);
/* "ddddd ddddd ..." or "" while the leader's identity is unknown. */
const char *hc_meeting_code(const hc_meeting *m);
int hc_meeting_code_verified(const hc_meeting *m);
int hc_meeting_locked(const hc_meeting *m);
/* The meeting's admission policy as certified (the leader: its own, inherited by a new leader),
 * or -1 while no certified roster has told us. */
int hc_meeting_admit_policy(const hc_meeting *m);
int hc_meeting_muted(const hc_meeting *m);
const char *hc_meeting_left_reason(const hc_meeting *m);
double hc_meeting_rtt_ms(const hc_meeting *m);
/* While leading: announcements whose signature we checked, and those dropped unchecked because
 * their member sent more than its budget (PROTOCOL.md §3.4). */
void hc_meeting_announce_stats(const hc_meeting *m, uint64_t *verified, uint64_t *capped);
/* While leading: epochs certified because every member acked one, and because the switch-over
 * timed out first (PROTOCOL.md §4.3). */
void hc_meeting_switch_stats(const hc_meeting *m, uint64_t *by_acks, uint64_t *by_timeout);
/* Exit status that fits why we left (app/commands.h). */
int hc_meeting_exit_status(const hc_meeting *m);
/* Members we know from signed bindings, self included, ascending index. */
size_t hc_meeting_members(const hc_meeting *m, hc_member_info *out, size_t cap);
size_t hc_meeting_roster_size(const hc_meeting *m);
/* The certified roster's version and hash (the leader: of the roster it sent last), so front ends
 * and tests can tell whether members agree. Returns 0, or -1 while there is none. */
int hc_meeting_roster_id(const hc_meeting *m, uint32_t *v, uint8_t hash[32]);

/* Sending is paused: no heartbeat for the miss limit and nothing that failed the checks. */
int hc_meeting_stalled(const hc_meeting *m);
/* When the last control frame from the relay arrived (0: none yet). */
uint64_t hc_meeting_last_rx_ms(const hc_meeting *m);
/* Keeps what a rejoin needs (see hc_meeting_resume). Returns 0, or -1 when there is nothing to
 * resume: we never got into the leader's roster, or do not know the leader. */
int hc_meeting_resume_export(const hc_meeting *m, hc_meeting_resume *out);
void hc_meeting_resume_free(hc_meeting_resume *r);

/* Test hooks: a copy of the meeting key of an epoch we hold (returns 0), and our ephemeral pk. */
int hc_meeting_debug_mk(const hc_meeting *m, uint32_t epoch, uint8_t mk[32]);

#endif
