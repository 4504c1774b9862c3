/* What a meeting tells its front ends (headless JSON lines, the ncurses screen) and what they
 * ask of it. Produced by the meeting state machine and the session; consumed by ui/ front ends.
 * String fields point to storage owned by the producer, valid only during the callback. */
#ifndef HC_EVENTS_H
#define HC_EVENTS_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    HC_EV_MEETING,            /* host only, first: meeting_id, uuid */
    HC_EV_JOINED,             /* index (self), leader, meeting_id */
    HC_EV_PARTICIPANT_JOINED, /* index, name, fingerprint (a member the leader's roster admitted) */
    HC_EV_PARTICIPANT_LEFT,   /* index, name, fingerprint, reason ("left", "kicked", "denied", "timeout",
                                 "connection_lost", "security", "ended", "removed", "unknown"): a
                                 participant, or (leader) someone whose admission_request was shown */
    HC_EV_LEADER_CHANGED,     /* leader, name, fingerprint */
    HC_EV_KEY_EPOCH,          /* epoch, members: we now send under this epoch */
    HC_EV_SECURITY_CODE,      /* code, leader, flag = verified; also when the leader changes */
    HC_EV_SECURITY_ALERT,     /* kind, detail */
    HC_EV_HEARTBEAT_TIMEOUT,  /* detail, reason = "connectivity" (a stall) or "security" (heartbeats failed checks) */
    HC_EV_CHAT,               /* index (from), name, text */
    HC_EV_ADMISSION_REQUEST,  /* index, name, fingerprint: waiting for admit/deny (leader, --admit ask) */
    HC_EV_MUTE_CHANGED,       /* index, flag = muted (any participant, self included) */
    HC_EV_LOCK_CHANGED,       /* flag = locked */
    HC_EV_VERIFIED,           /* flag = verified, code, leader: the user confirmed the code */
    HC_EV_NOTICE,             /* text: something a person should know (log line) */
    HC_EV_STATS,              /* text = a JSON object with per-sender counters (headless) */
    HC_EV_LEFT,               /* reason: we left the meeting (the session ends) */
    HC_EV_ERROR,              /* code (short name), text (human message) */
    HC_EV_JOINING,            /* members = how many the relay lists that have not announced yet (no key) */
    HC_EV_RECORDING_FAILED,   /* path, text (the write's error), recorded_ms: --audio-out wav:FILE
                                 could not be written; the recording stopped, the call goes on */
    HC_EV_RECONNECTING,       /* reason ("connection_lost" | "stalled"), text, after_ms = how long we
                                 keep trying: the relay is lost; sending pauses, devices stay open */
    HC_EV_RECONNECTED,        /* text, after_ms = how long it took, meeting_id: keyed in again */
    HC_EV_VIDEO_STARTED,      /* index, name: the first picture of a member's video was decoded */
    HC_EV_VIDEO_STOPPED,      /* index, name, reason ("stopped" | "left"): no picture for 2 s, or it left */
    HC_EV_CAMERA,             /* flag = on, text (what it captures, or why it stopped), reason
                                 ("user" | "error"): our own video source started or stopped */
    HC_EV_WAITING,            /* index (self), leader, meeting_id, name and fingerprint (the leader's):
                                 the leader's signed list shows us waiting for admission (--admit ask) */
    HC_EV_ADMIT_POLICY,       /* reason = "auto" | "ask" | "known": the meeting's admission policy as
                                 the leader's signed list says (first known, changed, or inherited by
                                 a new leader) */
} hc_event_type;

typedef struct {
    hc_event_type type;
    uint64_t t_ms;            /* ms since the session started */
    uint32_t index, leader, epoch, members;
    int flag;
    const char *meeting_id, *name, *fingerprint, *code, *kind, *detail, *text, *reason;
    const uint8_t *uuid;      /* 16 bytes, HC_EV_MEETING */
    const char *path;         /* HC_EV_RECORDING_FAILED */
    uint64_t recorded_ms;     /* HC_EV_RECORDING_FAILED: audio in the file (a valid WAV of that length) */
    uint64_t after_ms;        /* HC_EV_RECONNECTING, HC_EV_RECONNECTED */
} hc_event;

const char *hc_event_type_name(hc_event_type t);

/* Commands from a person or a script (headless stdin, TUI keys and /commands). */
typedef enum {
    HC_CMD_MUTE, HC_CMD_UNMUTE, HC_CMD_TOGGLE_MUTE, HC_CMD_CHAT, HC_CMD_LOCK, HC_CMD_UNLOCK,
    HC_CMD_KICK, HC_CMD_ADMIT, HC_CMD_DENY, HC_CMD_VERIFY, HC_CMD_STATS, HC_CMD_LEAVE, HC_CMD_END,
    HC_CMD_DEVICES, HC_CMD_VIDEO_ON, HC_CMD_VIDEO_OFF, HC_CMD_PIN, HC_CMD_UNPIN,
} hc_command_type;

typedef struct {
    hc_command_type type;
    uint32_t index;           /* KICK, ADMIT, DENY, PIN */
    const char *text;         /* CHAT; VERIFY: the security code the person compared (40 digits,
                                 blanks allowed): anything else is refused; LEAVE: NULL when a
                                 person or script asked, else why the front end cannot go on
                                 (HC_LEAVE_OUTPUT_LOST) */
} hc_command;

/* LEAVE from a headless front end whose standard output is closed (its controller died): the
 * session leaves at once and exits with HC_EXIT_ERROR. */
#define HC_LEAVE_OUTPUT_LOST "output_lost"

#endif
