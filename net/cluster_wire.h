/* What relay nodes of a cluster say to each other (PROTOCOL.md §14), sans-I/O: the messages they
 * publish on the bus (NATS) and the datagrams they send one another directly (UDP). Pure codecs:
 * no allocation, no I/O; every length is checked, decoding is strict.
 *
 * Bus message (one NATS message):
 *     u8 version (1) || u8 type || lp8(src node) || u64 src incarnation || u64 dst incarnation
 *     || u64 seq || body
 *   dst incarnation is the receiver's as the sender knows it (0: unknown, or a message to all);
 *   seq numbers the sender's messages to that receiver (types below HC_CL_UNSEQ; 0 otherwise).
 *
 * Node-to-node datagram (UDP, from one node's peer socket to another's):
 *     u8 0x1C || u8 kind || lp8(src node) || u64 src incarnation || u64 counter || lp8(meeting id)
 *     || [kind VIDEO_TO: u8 n || n * u16 recipient index] || u16 len || media datagram (len)
 *     || tag(16) = BLAKE2b-128 keyed with the cluster key, over everything before it
 *   The media datagram inside is the participant's, verbatim (SFrame ciphertext: nodes hold no key
 *   to it either). The counter is strictly increasing per source incarnation, so a receiver drops
 *   replays (a window of HC_REPLAY_WINDOW) and a stranger without the key can inject nothing. */
#ifndef HC_CLUSTER_WIRE_H
#define HC_CLUSTER_WIRE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "net/media.h"
#include "net/wire.h"

#define HC_CL_VERSION 1
#define HC_CL_NAME_MAX 32          /* node and cluster names: 1..32 of [A-Za-z0-9_-] */
#define HC_CL_PEERS_MAX 64         /* nodes a heartbeat or a plan lists */
#define HC_CL_DOWN_CONNS_MAX 4096  /* connections one DOWN message names */
#define HC_CL_RECIPIENTS_MAX 64    /* members one VIDEO_TO datagram names */
#define HC_CL_TAG_LEN 16
#define HC_CL_DGRAM_BYTE0 0x1C     /* version 1, type 0xC: never a participant's datagram type */
/* Largest node-to-node datagram: a media datagram and the largest header around it. */
#define HC_CL_DGRAM_MAX (HC_MEDIA_MAX + 80 + 2 * HC_CL_RECIPIENTS_MAX + HC_CL_TAG_LEN)

typedef enum {
    /* sequenced, from one node to one other (per-link order, retransmitted on a gap) */
    HC_CL_OPEN = 1,    /* edge -> home: conn u64, addr, meeting: a participant's connection, proxied */
    HC_CL_UP = 2,      /* edge -> home: conn u64, bytes: what the participant sent (raw TCP bytes) */
    HC_CL_DOWN = 3,    /* home -> edge: n conns u64, frame: one control frame for each of them */
    HC_CL_CLOSE = 4,   /* both: conn u64, u8 reason: the connection is gone (edge) / closed (home) */
    HC_CL_REG = 5,     /* media node -> home: token, meeting: that member's UDP endpoint is at the sender */
    HC_CL_DROP = 6,    /* home -> media node: meeting, index: that member's media is no longer ours */
    HC_CL_PLAN = 7,    /* home -> nodes: meeting, the nodes that forward its media */
    HC_CL_REGA = 8,    /* control node -> media node: token, meeting, index, home: answer to REGQ */
    HC_CL_UNSEQ = 16,
    /* unsequenced, to one node */
    HC_CL_NACK = 16,   /* seq u64 = the first one missing: send again from there */
    HC_CL_FENCED = 17, /* the link was broken here (you were counted dead, or a gap could not be
                        * filled): everything between us is dropped; drop yours and say HELLO */
    HC_CL_HELLO = 18,  /* answer to FENCED: dropped too; both count from seq 1 again */
    /* to every node */
    HC_CL_HB = 32,     /* addr = advertised media address, peers: (node, incarnation, last seq sent) */
    HC_CL_REGQ = 33,   /* token: whose participant is this (a UDP registration arrived here)? */
    HC_CL_BYE = 34,    /* the sender is stopping: count it dead now */
} hc_cl_type;

typedef struct {
    char node[HC_CL_NAME_MAX + 1];
    uint64_t inc;
    uint64_t seq;
} hc_cl_peer_entry;

typedef struct {
    uint8_t type;
    char src[HC_CL_NAME_MAX + 1];
    uint64_t src_inc, dst_inc, seq;
    uint64_t conn;                              /* OPEN UP CLOSE */
    char meeting[HC_MEETING_ID_MAX + 1];        /* OPEN REG DROP PLAN REGA */
    struct sockaddr_storage addr;               /* OPEN (the participant's), HB (advertised) */
    uint8_t reason;                             /* CLOSE */
    uint8_t token[HC_TOKEN_LEN];                /* REG REGA REGQ */
    uint32_t index;                             /* DROP REGA */
    char home[HC_CL_NAME_MAX + 1];              /* REGA */
    const uint8_t *data; size_t data_len;       /* UP bytes, DOWN frame (a whole frame) */
    const uint8_t *conns; uint32_t n_conns;     /* DOWN: n_conns big-endian u64 */
    /* HB peers / PLAN nodes (inc and seq unused for PLAN) */
    hc_cl_peer_entry peers[HC_CL_PEERS_MAX];
    uint32_t n_peers;
} hc_cl_msg;

int hc_cl_name_ok(const char *s);
void hc_cl_msg_init(hc_cl_msg *m, uint8_t type);
/* Returns the encoded length, or 0 when it does not fit or a field is out of bounds. */
size_t hc_cl_msg_encode(const hc_cl_msg *m, uint8_t *out, size_t cap);
/* Upper bound of the encoded size (for buffers). */
size_t hc_cl_msg_size(const hc_cl_msg *m);
/* Returns 0, or -1 for anything malformed. Pointers (data, conns) point into in. */
int hc_cl_msg_decode(hc_cl_msg *m, const uint8_t *in, size_t len);
uint64_t hc_cl_down_conn(const hc_cl_msg *m, uint32_t i);

/* ---- node-to-node datagrams ---- */
typedef enum {
    HC_CLD_AUDIO = 1,     /* a talker's audio: to every local member of the meeting but the sender */
    HC_CLD_VIDEO_TO = 2,  /* video for the listed members (the home chose them) */
    HC_CLD_VIDEO_HOME = 3,/* a sender's video, to the meeting's home, which chooses who gets it */
} hc_cld_kind;

typedef struct {
    uint8_t kind;
    char src[HC_CL_NAME_MAX + 1];
    uint64_t src_inc, counter;
    char meeting[HC_MEETING_ID_MAX + 1];
    uint16_t recipients[HC_CL_RECIPIENTS_MAX];
    uint8_t n_recipients;
    const uint8_t *media; size_t media_len;
} hc_cld;

/* Encodes and tags; returns the length or 0. */
size_t hc_cld_encode(const hc_cld *d, const uint8_t key[32], uint8_t *out, size_t cap);
/* Checks the tag (constant time) and decodes; returns 0, -1 malformed, -2 bad tag. */
int hc_cld_decode(hc_cld *d, const uint8_t key[32], const uint8_t *in, size_t len);

/* Socket addresses on the bus: u8 family (4|6) || address (4|16) || u16 port. */
size_t hc_cl_addr_put(uint8_t *out, const struct sockaddr_storage *a);

#endif
