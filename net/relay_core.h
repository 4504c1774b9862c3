/* The relay's logic, sans-I/O: meetings, members, the bulletin board, routing of control frames
 * and the forwarding decision for media datagrams. The libuv server (net/relay.c) only moves
 * bytes; tests run this core in memory (many participants in one process, fake clock).
 *
 * The relay is trusted for availability only. It never holds a key that decrypts media or chat;
 * everything it could tamper with is signed or sealed, so clients detect it. For tests and demos
 * it can misbehave on purpose (`attack`), see PROTOCOL.md §9. */
#ifndef HC_RELAY_CORE_H
#define HC_RELAY_CORE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include "net/wire.h"

typedef enum {
    HC_ATTACK_NONE = 0,
    HC_ATTACK_SWAP_KEY,         /* replace a member's ephemeral pk in its ANNOUNCE */
    HC_ATTACK_FAKE_LEADER,      /* tell one member that a relay-made identity is the leader */
    HC_ATTACK_REPLAY_HEARTBEAT, /* re-send an old valid heartbeat */
    HC_ATTACK_DROP_HEARTBEATS,  /* stop forwarding heartbeats */
    HC_ATTACK_WITHHOLD_KEYBOX,  /* deliver key boxes late (after several nonce rotations) */
    HC_ATTACK_ROLLBACK_KEY,     /* re-deliver an older key box */
    HC_ATTACK_TAMPER_MEDIA,     /* flip bits in forwarded frames */
    HC_ATTACK_REPLAY_MEDIA,     /* re-send forwarded frames */
    HC_ATTACK_RENAME,           /* change a display name in transit */
    HC_ATTACK_GHOST,            /* list a member who never joined */
    HC_ATTACK_REHOST,           /* a JOIN for a meeting it does not have creates one under that id */
    HC_ATTACK_LAG_HEARTBEATS,   /* hold one member's rosters and heartbeats back by a growing lag */
    HC_ATTACK_SPLIT_LEADER,     /* name a second leader to half the members while the first stays */
    HC_ATTACK_COUNT
} hc_attack;
const char *hc_attack_name(hc_attack a);
/* "swap-key" -> HC_ATTACK_SWAP_KEY; returns -1 for an unknown name. */
int hc_attack_parse(const char *s, hc_attack *out);
/* One line describing what the relay does in this mode (for the warning banner). */
const char *hc_attack_describe(hc_attack a);

/* What a control frame counts against a member's budget at least (member_ctrl_rate): the relay's
 * work per frame does not shrink with the frame. */
#define HC_RELAY_FRAME_COST_MIN 128

typedef struct {
    uint32_t max_meetings;        /* default 1000 */
    uint32_t max_members;         /* per meeting, default 1000 */
    uint32_t max_frame;           /* control frame limit, default 64 KiB */
    uint32_t max_conns_per_addr;  /* joined connections per source address, default 64 */
    uint32_t max_unjoined_per_addr; /* connections that have not (yet) joined, per address, default 16;
                                     * one more closes the oldest of them */
    uint64_t join_timeout_ms;     /* a connection must CREATE or JOIN within this, default 10 s */
    uint32_t join_rate_addr;      /* CREATE/JOIN per second per source address (burst 3 s worth), default 10; 0 = unlimited */
    uint32_t join_rate_meeting;   /* JOIN per second per meeting (burst 3 s worth), default 20; 0 = unlimited */
    /* Control bytes per second a member other than the leader may send, and how many at once
     * (every frame counts at least HC_RELAY_FRAME_COST_MIN bytes); one more and it is disconnected
     * as a flooder, so that no receiver's send queue can back up from one sender (PROTOCOL.md
     * §11.3). Defaults 64 KiB/s and 256 KiB, far above what a participant sends; rate 0 =
     * unlimited. The leader is not limited: it sends every key box and roster, and can remove
     * anyone anyway. */
    uint32_t member_ctrl_rate, member_ctrl_burst;
    uint32_t forward_loudest;     /* K > 0: forward only the K loudest senders */
    uint32_t video_last_n;        /* video of the N loudest senders with a camera on (plus pins), 0..16, default 4 */
    uint64_t idle_timeout_ms;     /* a member that sends nothing (no control frame, no UDP keepalive, no
                                   * media) for this long is gone, default 15 s (clients PING every 5 s);
                                   * the leader: 3 heartbeat intervals at most (PROTOCOL.md §11.3) */
    hc_attack attack;
    uint64_t attack_hold_ms;      /* withhold-keybox: how long to hold a box (default 6 s) */
    uint32_t attack_after;        /* drop/replay-heartbeat: honest for this many heartbeats first (default 2) */
} hc_relay_config;
void hc_relay_config_defaults(hc_relay_config *c);

/* Something an operator may want to know (net/relay_log.h writes them as JSON lines). The core
 * only reports; the I/O layer decides what to print. name is a member's display name (untrusted
 * bytes: escape before printing); meeting_id is "" when the connection is not in a meeting. */
typedef enum {
    HC_REV_MEETING_CREATED, HC_REV_MEETING_ENDED, HC_REV_MEMBER_JOINED, HC_REV_MEMBER_LEFT,
    HC_REV_REFUSED,          /* an ERROR sent to a client: a limit hit, a bad frame, a refusal */
} hc_relay_event_type;
typedef struct {
    hc_relay_event_type type;
    uint64_t conn;
    const char *meeting_id;
    uint32_t index;          /* member index (joined/left), 0 if none */
    const char *name;        /* joined: the display name asked for */
    uint8_t reason;          /* left: HC_LEFT_* */
    uint16_t code;           /* refused: HC_ERR_* */
    const char *text;        /* refused: the message sent to the client */
} hc_relay_event;

/* What the core asks the I/O layer to do. All frames are complete control frames. */
typedef struct {
    void *ctx;
    /* Queue a frame on a connection. */
    void (*send)(void *ctx, uint64_t conn, const uint8_t *frame, size_t len);
    /* Close a connection after its queued frames are flushed; the I/O layer later calls
     * hc_relay_on_disconnect for it. */
    void (*close)(void *ctx, uint64_t conn);
    /* Optional (NULL: nothing reported): an event for the operator's log. Must not call back
     * into the core. */
    void (*event)(void *ctx, const hc_relay_event *ev);
    /* Optional (a cluster node, net/cluster_core.h): a CREATE, JOIN or RESUME from a connection
     * that is in no meeting. Return 1 to take it: the core does nothing more with the frame (the
     * cluster may hand it back later with hc_relay_on_frame). Must not call back into the core. */
    int (*join_hook)(void *ctx, uint64_t conn, const hc_msg *m);
} hc_relay_io;

typedef struct hc_relay hc_relay;

/* Counters (printed by --stats-interval; tests assert on them). */
typedef struct {
    uint64_t meetings, members, connections;          /* current */
    uint64_t meetings_created, joins;                 /* totals */
    uint64_t meetings_resumed;                        /* of those, re-created by RESUME */
    uint64_t ctrl_in, ctrl_out;
    uint64_t ctrl_errors[HC_WERR_COUNT];              /* malformed frames by kind */
    uint64_t ctrl_protocol_errors;                    /* valid frames at the wrong time / not allowed */
    uint64_t ctrl_disconnects_backlog, conns_refused, idle_closed;
    uint64_t leader_silent, leader_probes;            /* leaders removed for missing heartbeats; PINGs to silent ones */
    uint64_t unjoined_evicted, join_timeouts;         /* unjoined connections closed (per-address cap, deadline) */
    uint64_t joins_rate_limited;                      /* CREATE/JOIN refused by a rate limit */
    uint64_t ctrl_flood_closed;                       /* members disconnected for sending past their control budget */
    uint64_t announce_rotations, announce_rotations_fwd; /* nonce rotations received; sent on to a leader */
    uint64_t announce_refused;                        /* first announcements refused: not the JOIN's key, or locked out */
    uint64_t indexes_reused;                          /* never-announced member indexes handed out again */
    uint64_t media_in, media_out;
    uint64_t media_drop_malformed, media_drop_unregistered, media_drop_spoofed,
             media_drop_not_loudest, media_drop_queue, media_drop_impair, media_register;
    uint64_t keyboxes_routed;
    uint64_t roster_deltas;                           /* ROSTER_DELTA frames from leaders (each sent to every member) */
    uint64_t roster_gets, roster_copies;              /* ROSTER_GET from members; whole rosters sent in answer */
    /* video (availability only: the relay sees flags and sizes, never pictures) */
    uint64_t video_in, video_out;                     /* datagrams */
    uint64_t video_frames, video_keyframes;           /* frames ended / keyframes started, as senders flag them */
    uint64_t video_keyreq_in, video_keyreq_out;       /* keyframe requests from receivers; merged ones sent on */
    uint64_t video_drop_not_selected, video_drop_wait_key; /* not among last-N/pins; receiver waits for a keyframe */
    uint64_t video_status_sent, video_ctrl_ignored;   /* STATUS to senders; VIDEO frames that made no sense */
} hc_relay_stats;

hc_relay *hc_relay_new(const hc_relay_config *cfg, const hc_relay_io *io);
void hc_relay_free(hc_relay *r);

/* A new TCP connection from addr (used for the per-address limit). Returns 0, or -1 when it
 * was refused (the core has already queued an ERROR and asked to close it). */
int hc_relay_on_connect(hc_relay *r, uint64_t conn, const struct sockaddr *addr, uint64_t now_ms);
/* Bytes arrived on a connection: the core splits frames, decodes and handles them. */
void hc_relay_on_bytes(hc_relay *r, uint64_t conn, const uint8_t *data, size_t len, uint64_t now_ms);
/* One complete frame body (after the length field); used by on_bytes and by in-memory tests. */
void hc_relay_on_frame(hc_relay *r, uint64_t conn, const uint8_t *body, size_t len, uint64_t now_ms);
/* The connection is gone (peer closed, error, or after io->close). Leaves its meeting. */
void hc_relay_on_disconnect(hc_relay *r, uint64_t conn, uint64_t now_ms);
/* The I/O layer's send queue for conn overflowed with control frames: disconnect it. */
void hc_relay_on_backlog(hc_relay *r, uint64_t conn, uint64_t now_ms);
/* Timers: idle timeouts, held frames (attack modes). Call at least every 100 ms. */
void hc_relay_tick(hc_relay *r, uint64_t now_ms);
/* Shutdown: ERROR(SHUTDOWN) to every connection, then close them all. */
void hc_relay_shutdown(hc_relay *r);

/* ---- media ---- */
typedef struct {
    const struct sockaddr_storage *const *dests; /* where to send pkt (core-owned array) */
    size_t n_dests;
    const uint8_t *reply; size_t reply_len;     /* a datagram back to the sender (REGISTERED) */
    const uint8_t *extra; size_t extra_len;     /* replay-media: an older packet to send to dests too */
    const char *meeting_id;                     /* the sender's meeting (when n_dests > 0) */
} hc_media_route;

/* Decides what to do with one datagram. pkt may be modified in place (tamper-media). Returns
 * the number of destinations (0 = drop), filling route. No allocation. */
size_t hc_relay_on_media(hc_relay *r, const struct sockaddr *from, socklen_t fromlen,
                         uint8_t *pkt, size_t len, uint64_t now_ms, hc_media_route *route);

const hc_relay_stats *hc_relay_get_stats(const hc_relay *r);
/* One meeting's video counts (the same counters as hc_relay_stats.video_*, for one meeting). */
typedef struct {
    char meeting_id[HC_MEETING_ID_MAX + 1];
    uint32_t members, cameras;    /* members; members whose camera is on (OFFER) */
    uint64_t in, out, frames, keyframes, keyreq_in, keyreq_out;
} hc_relay_video_meeting;
/* Fills out with up to max meetings that carried video, those with the most video datagrams
 * in first. Returns how many. */
size_t hc_relay_video_meetings(const hc_relay *r, hc_relay_video_meeting *out, size_t max);
/* Test helper: the meeting a connection is in ("" if none). */
const char *hc_relay_conn_meeting(const hc_relay *r, uint64_t conn);

/* ---- for a cluster node (net/cluster_core.h) ---- */
/* The next CREATE makes its meeting under this id (reserved in the cluster's lease bucket first)
 * instead of a random one. */
void hc_relay_next_meeting_id(hc_relay *r, const char *id);
int hc_relay_has_meeting(const hc_relay *r, const char *id);
/* Every member of the meeting gets ERROR(code, text) and its connection closed (this node lost
 * the meeting's lease: its members get back in where the meeting is now). */
void hc_relay_evict_meeting(hc_relay *r, const char *id, uint16_t code, const char *text);
/* The member a media token belongs to: 1 with its meeting id and index, else 0. */
int hc_relay_token_member(const hc_relay *r, const uint8_t token[HC_TOKEN_LEN], char meeting_id[HC_MEETING_ID_MAX + 1],
                          uint32_t *index);
/* A media datagram another node of the cluster received from a member of meeting_id (the sender
 * is the KID's; the node checked it against its endpoint, and the node is authenticated): the
 * same decision as hc_relay_on_media after its endpoint checks. */
size_t hc_relay_on_media_peer(hc_relay *r, const char *meeting_id, uint8_t *pkt, size_t len, uint64_t now_ms,
                              hc_media_route *route);

#endif
