/* The control protocol between participants and the relay (TCP), sans-I/O.
 *
 * Frame:   u32 length (of everything after this field) || u8 version (1) || u8 type || payload
 * A frame is at most `max_frame` bytes after the length field (default 64 KiB). Every field is
 * big-endian; lp(x) is a u16 length then bytes. Decoding is strict: every length is checked,
 * unknown types and versions are rejected, trailing bytes are an error. Message layouts are
 * documented per type below and in docs/PROTOCOL.md §11.
 *
 * Decoded variable-length fields point into the frame buffer: a decoded hc_msg is valid only
 * while that buffer is. */
#ifndef HC_WIRE_H
#define HC_WIRE_H

#include <stddef.h>
#include <stdint.h>
#include "crypto/binding.h"
#include "crypto/keybox.h"

#define HC_WIRE_VERSION 1
#define HC_FRAME_MAX_DEFAULT 65536u
#define HC_FRAME_MAX_LIMIT (16u << 20)   /* largest --max-frame accepted */
#define HC_TOKEN_LEN 16
#define HC_ERROR_TEXT_MAX 256
/* The shortest liveness-nonce rotation period a member may use (PROTOCOL.md §3.4): the relay passes
 * a member's rotations on at most once per this, so the leader verifies at most that many. */
#define HC_NONCE_ROTATE_MIN_MS 500
#define HC_LOCKED_OUT_MS 2000    /* the relay tells a leader about lock refusals at most this often */

typedef enum {
    HC_MSG_CREATE = 1,        /* c->r  lp(name) u32(caps)                          new meeting, join as leader */
    HC_MSG_JOIN = 2,          /* c->r  lp(meeting_id) lp(name) u32(caps) u8(has_ivk) [ivk32] */
    HC_MSG_JOINED = 3,        /* r->c  lp(meeting_id) uuid16 u32(index) u32(leader) token16 u8(locked)
                                       u16(n) n*u32(member index, in join order) */
    HC_MSG_ERROR = 4,         /* r->c  u16(code) lp(text)                           then usually close */
    HC_MSG_ANNOUNCE = 5,      /* both  lp(binding) sig64                           see crypto/binding.h */
    HC_MSG_KEYBOX = 6,        /* both  u32(peer) lp(meta) lp(box)  peer = recipient (c->r) / leader (r->c) */
    HC_MSG_KEYACK = 7,        /* both  u32(peer) u32(epoch)        peer = 0 (c->r) / acking member (r->c) */
    HC_MSG_ROSTER = 8,        /* both  u32(total) u32(offset) lp(part)  the whole participant list (net/roster.h)
                               * in parts: c->r for the relay's board, r->c from the board */
    HC_MSG_HEARTBEAT = 9,     /* both  u32(v) u64(t) u32(epoch) u64(ts_ms) prev32 roster_hash32 sig64 */
    HC_MSG_LEADER = 10,       /* r->c  u32(leader) u8(reason)      leader changed */
    HC_MSG_LEAVE = 11,        /* c->r  u8(reason) */
    HC_MSG_MEMBER_JOINED = 12,/* r->c  u32(index) lp(name)         informational only, unauthenticated */
    HC_MSG_MEMBER_LEFT = 13,  /* r->c  u32(index) u8(reason) */
    HC_MSG_KICK = 14,         /* c->r  u32(index)                  leader only */
    HC_MSG_LOCK = 15,         /* c->r  u8(locked)                  leader only; r->c  u8(locked) */
    HC_MSG_CHAT = 16,         /* both  u32(peer) lp(sframe)        peer = 0 (c->r) / sender (r->c) */
    HC_MSG_PING = 17,         /* both  u64(opaque) */
    HC_MSG_PONG = 18,         /* both  u64(opaque)                 echo of PING */
    HC_MSG_DENY = 19,         /* c->r  u32(index)                  leader only: admission denied */
    HC_MSG_END = 20,          /* c->r  (empty)                     leader only: end for everyone */
    HC_MSG_MEDIA_READY = 21,  /* r->c  (empty)                     UDP endpoint registered */
    HC_MSG_RESUME = 22,       /* both  lp(meeting_id) lp(name) u32(caps) ivk32 prev_uuid16 sig64
                               * c->r: re-create a meeting the relay no longer has, as its leader;
                               * r->c: the statement, first on the board of a resumed meeting */
    HC_MSG_VIDEO = 23,        /* both  u8(op) u32(index) u32(value)  video forwarding (HC_VOP_*): availability
                               * only, it carries no picture and no key */
    HC_MSG_LOCKED_OUT = 24,   /* r->c  u32(count) lp(name)         to the leader: the lock turned `count` JOINs
                               * away since the last such frame, the latest under `name`; at most one per
                               * HC_LOCKED_OUT_MS per meeting; informational only, unauthenticated */
    HC_MSG_ROSTER_DELTA = 25, /* both  lp(delta)                   the change from roster v_base to v (net/roster.h):
                               * c->r from the leader, forwarded to every member */
    HC_MSG_ROSTER_GET = 26,   /* c->r  u32(v)                      a member asks for the whole roster (version v or
                               * newer): its own copy does not hash to what a heartbeat certified */
    HC_MSG_TYPE_MAX = 26
} hc_msg_type;

/* VIDEO operations. c->r: OFFER (value 1: my camera is on, 0: off), PIN (index: the sender I
 * want to see whatever its loudness; HC_VIDEO_UNPIN: none), KEYREQ (index: the sender whose
 * picture I lack; value 1: I hold no keyframe of it, 0: I lost frames since its keyframe).
 * r->c: KEYREQ (value as above, merged over every receiver; index 0), STATUS (value: how many
 * members receive your video now; 0: pause encoding). */
enum { HC_VOP_OFFER = 1, HC_VOP_PIN = 2, HC_VOP_KEYREQ = 3, HC_VOP_STATUS = 4, HC_VOP_MAX = 4 };
#define HC_VIDEO_UNPIN 0xFFFFFFFFu

/* Error codes in ERROR frames. */
typedef enum {
    HC_ERR_BAD_VERSION = 1,
    HC_ERR_MALFORMED = 2,
    HC_ERR_NO_SUCH_MEETING = 3,
    HC_ERR_MEETING_FULL = 4,
    HC_ERR_LOCKED = 5,
    HC_ERR_TOO_MANY_MEETINGS = 6,
    HC_ERR_NOT_LEADER = 7,
    HC_ERR_KICKED = 8,
    HC_ERR_DENIED = 9,
    HC_ERR_ENDED = 10,
    HC_ERR_TOO_MANY_CONNECTIONS = 11,
    HC_ERR_IDLE = 12,
    HC_ERR_BACKLOG = 13,
    HC_ERR_TOO_LARGE = 14,
    HC_ERR_UNKNOWN_TYPE = 15,
    HC_ERR_PROTOCOL = 16,     /* valid frame at the wrong time (e.g. JOIN twice, ANNOUNCE before JOIN) */
    HC_ERR_SHUTDOWN = 17,
    HC_ERR_INDEXES_EXHAUSTED = 18,
    HC_ERR_RATE_LIMITED = 19, /* too many CREATE/JOIN from one address or into one meeting: try later */
    HC_ERR_EXISTS = 20,       /* RESUME of a meeting the relay has: JOIN it instead */
    HC_ERR_BAD_RESUME = 21,   /* RESUME whose signature does not verify under its IVK */
} hc_err_code;
const char *hc_err_code_name(uint16_t code);

/* Reasons in LEAVE / MEMBER_LEFT / LEADER. */
enum {
    HC_LEFT_NORMAL = 0, HC_LEFT_CONNECTION_LOST = 1, HC_LEFT_KICKED = 2, HC_LEFT_DENIED = 3,
    HC_LEFT_SECURITY = 4, HC_LEFT_HEARTBEAT_TIMEOUT = 5, HC_LEFT_ENDED = 6, HC_LEFT_IDLE = 7,
};

typedef struct {
    uint32_t v;               /* roster version */
    uint64_t t;               /* heartbeat counter, from 1 per leader */
    uint32_t epoch;           /* key epoch certified for sending */
    uint64_t ts_ms;           /* leader's clock */
    uint8_t prev[32];         /* H_{i-1} */
    uint8_t roster_hash[32];  /* H(roster_v) */
    uint8_t sig[64];          /* Sign(ISK_L, "hushcall-1-Sig-ParticipantList", H_i) */
} hc_hb_fields;

typedef struct {
    uint8_t version;
    uint8_t type;
    uint32_t index;           /* JOINED self; KEYBOX/KEYACK/CHAT peer; LEADER leader; MEMBER_* / KICK / DENY index */
    uint32_t leader;          /* JOINED */
    uint32_t caps;            /* CREATE, JOIN */
    uint32_t epoch;           /* KEYACK */
    uint16_t code;            /* ERROR */
    uint8_t flag;             /* JOINED/LOCK locked; LEAVE/MEMBER_LEFT/LEADER reason; JOIN has_ivk */
    uint64_t opaque;          /* PING, PONG */
    uint32_t value;           /* VIDEO (flag = op); LOCKED_OUT count; ROSTER total length; ROSTER_GET version */
    uint32_t offset;          /* ROSTER: where this part starts in the roster's encoding */
    char meeting_id[HC_MEETING_ID_MAX + 1];   /* JOIN, JOINED, RESUME */
    char name[HC_NAME_MAX + 1];               /* CREATE, JOIN, MEMBER_JOINED, RESUME, LOCKED_OUT */
    uint8_t uuid[HC_UUID_LEN];                /* JOINED; RESUME: the instance resumed */
    uint8_t token[HC_TOKEN_LEN];              /* JOINED */
    uint8_t ivk[32];                          /* JOIN when flag = 1, RESUME */
    uint8_t sig[64];                          /* ANNOUNCE, RESUME */
    const uint8_t *data; size_t data_len;     /* ANNOUNCE binding, KEYBOX meta, ROSTER part, ROSTER_DELTA,
                                               * CHAT, ERROR text */
    const uint8_t *data2; size_t data2_len;   /* KEYBOX box */
    const uint8_t *members; uint16_t n_members; /* JOINED: n_members big-endian u32s */
    hc_hb_fields hb;                          /* HEARTBEAT */
} hc_msg;

/* Why a frame was rejected; the relay counts these by kind. */
typedef enum {
    HC_WERR_NONE = 0,
    HC_WERR_TRUNCATED,        /* shorter than its own fields say */
    HC_WERR_TOO_LARGE,        /* length prefix over the limit */
    HC_WERR_BAD_VERSION,
    HC_WERR_UNKNOWN_TYPE,
    HC_WERR_BAD_FIELD,        /* a field with a bad length or content */
    HC_WERR_TRAILING,         /* bytes after the last field */
    HC_WERR_COUNT
} hc_wire_err;
const char *hc_wire_err_name(hc_wire_err e);

/* Initialises a message of a type (all other fields zero). */
void hc_msg_init(hc_msg *m, uint8_t type);
/* The ROSTER message carrying the part of a whole roster's encoding (`total` bytes at enc) that
 * starts at `off` (HC_ROSTER_CHUNK bytes at most, net/roster.h); returns where the next part
 * starts (total after the last):  for (size_t off = 0; off < total;) { off = hc_msg_roster_part(...); send }
 * The message points into enc. */
size_t hc_msg_roster_part(hc_msg *m, const uint8_t *enc, size_t total, size_t off);
/* Encodes a complete frame (with the length prefix). Returns its size, or 0 if it does not fit
 * in cap or a field is out of bounds. */
size_t hc_msg_encode(const hc_msg *m, uint8_t *out, size_t cap);
/* Decodes a frame body (everything after the length field). Returns 0, or -1 with *err set. */
int hc_msg_decode(hc_msg *m, const uint8_t *body, size_t len, hc_wire_err *err);
const char *hc_msg_type_name(uint8_t type);
/* Upper bound of an encoded frame of this message (for buffer sizing). */
size_t hc_msg_encoded_size(const hc_msg *m);

/* Splits a TCP byte stream into frames. The buffer holds only the frame being received and
 * grows with the bytes actually received of it (4 KiB steps), never past max_frame + 4; it is
 * given back once a frame larger than 4 KiB has been taken out. So an idle connection costs
 * nothing, a half-sent frame costs what was sent, and a hostile one cannot make it grow further. */
typedef struct {
    uint8_t *buf;
    size_t cap, len;          /* allocated; buffered bytes of the current frame (prefix included) */
    size_t max_frame;
    hc_wire_err err;          /* sticky: once set, the stream is unusable */
} hc_frame_reader;

void hc_frame_reader_init(hc_frame_reader *r, size_t max_frame);
void hc_frame_reader_free(hc_frame_reader *r);
/* Appends bytes; returns how many were taken (no more than the current frame needs: take it out
 * with next, then push the rest), or -1 after an error (oversized length prefix, out of memory). */
long hc_frame_reader_push(hc_frame_reader *r, const uint8_t *data, size_t len);
/* Returns 1 and the next frame body (valid until the next push/next call), 0 when more bytes are
 * needed, -1 after an error. */
int hc_frame_reader_next(hc_frame_reader *r, const uint8_t **body, size_t *len);

#endif
