/* The relay core: meetings, members, bulletin board, routing. See net/relay_core.h.
 *
 * Ownership: a connection (conn) may hold one member; a member belongs to one meeting. A meeting
 * lives while it has members. Frames kept on the board (announcements, latest roster and
 * heartbeat) are complete encoded frames so late joiners get exactly the bytes others got. */
#include "net/relay_core.h"

#include <netinet/in.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/binding.h"
#include "crypto/bytes.h"
#include "crypto/contexts.h"
#include "crypto/keybox.h"
#include "crypto/sframe.h"
#include "net/hmap.h"
#include "net/itab.h"
#include "net/loudest.h"
#include "net/media.h"
#include "net/roster.h"

#define FAKE_HB_MS 500           /* fake-leader heartbeat period */
#define REPLAY_MEDIA_EVERY 5     /* replay-media: re-send every Nth forwarded packet */
#define TAMPER_MEDIA_EVERY 4     /* tamper-media: corrupt every Nth forwarded packet */
#define VIDEO_LAST_N_MAX 16
#define VGATE_MAX (VIDEO_LAST_N_MAX + 1)  /* senders one receiver gets video from: last-N and a pin */
#define VIDEO_RECOMPUTE_MS 500   /* how often the last-N video set is chosen again */
#define VIDEO_STICKY 10.0        /* loudness bonus of a sender already shown: no flapping */
#define KEYREQ_MERGE_MS 500      /* at most one keyframe request per sender in this time */
#define LEADER_PROBE_BEATS 2     /* heartbeat intervals without one before the relay PINGs the leader */
#define LEADER_PROBE_MIN_MS 500  /* ... and the shortest interval it assumes */
#define LEADER_PONG_MIN_MS 1000  /* the shortest wait for the PONG: a live but loaded leader answers */
#define HB_PACE_MAX_MS 10000     /* the largest heartbeat interval a leader may use (PROTOCOL.md §5.2) */
#define RELAY_STALL_MS 1000      /* a tick this late means the relay itself stalled */
#define JOIN_BURST_S 3           /* join rate limits allow a burst of this many seconds' worth */
#define ADDR_GC_MS 1000
#define CTRL_BURST_MIN 8192      /* the smallest member control burst (member_ctrl_burst) */
#define ROT_EARLY_MS (HC_NONCE_ROTATE_MIN_MS / 2)  /* how early a rotation may pass: network jitter */
#define INDEX_MAX 0xFFFF         /* member indexes 1..65535 (KID sender bits) */

/* A token bucket: `rate` per second, at most `burst` saved up. */
typedef struct {
    double tokens;
    uint64_t t;
    int init;
} bucket;

static void bucket_fill(bucket *b, double rate, double burst, uint64_t now) {
    if (!b->init) {
        b->init = 1;
        b->tokens = burst;
        b->t = now;
        return;
    }
    if (now > b->t) b->tokens += (double)(now - b->t) * rate / 1000.0;
    if (b->tokens > burst) b->tokens = burst;
    b->t = now;
}

/* Takes `cost` tokens of a bucket refilled at `rate` per second up to `burst`; 1 if it held them. */
static int bucket_spend(bucket *b, double rate, double burst, double cost, uint64_t now) {
    bucket_fill(b, rate, burst, now);
    if (b->tokens < cost) return 0;
    b->tokens -= cost;
    return 1;
}

/* Takes one token of a JOIN bucket; 1 if there was one. rate 0 = unlimited. */
static int bucket_take(bucket *b, uint32_t rate, uint64_t now) {
    return !rate || bucket_spend(b, rate, (double)rate * JOIN_BURST_S, 1.0, now);
}

static int bucket_full(bucket *b, uint32_t rate, uint64_t now) {
    if (!rate || !b->init) return 1;
    bucket_fill(b, rate, (double)rate * JOIN_BURST_S, now);
    return b->tokens >= (double)rate * JOIN_BURST_S;
}

typedef struct frame {
    uint8_t *p;
    size_t len;
} frame;

/* A whole roster as the leader sent it: the ROSTER frames of its parts (PROTOCOL.md §5.1), kept
 * as they came so a joiner or a member asking for a copy gets exactly those bytes. */
#define ROSTER_PARTS_MAX 8      /* 180 KB in parts of 60 KiB: 3; more is a leader gone wrong */
typedef struct {
    frame part[ROSTER_PARTS_MAX];
    size_t n;
    uint32_t v;                 /* the roster's version (its first 4 bytes) */
    size_t total, got;          /* bytes of the encoding; received so far */
} rparts;

typedef struct meeting meeting;
typedef struct conn conn;

typedef struct member {
    uint32_t index;
    conn *c;
    meeting *mt;
    char name[HC_NAME_MAX + 1];
    uint8_t token[HC_TOKEN_LEN];
    frame first_announce, last_announce;  /* encoded ANNOUNCE frames */
    uint8_t ivk[32];
    int has_ivk;
    uint8_t join_ivk[32];        /* the IVK its JOIN named (the lock hint), if has_join_ivk */
    int has_join_ivk;
    /* Nonce rotations go on to the leader at most once per HC_NONCE_ROTATE_MIN_MS, the newest:
     * when the next may go (rotation_due), and whether last_announce is one still to go. */
    uint64_t rot_tat;
    int rot_held;
    struct sockaddr_storage ep;
    socklen_t eplen;
    uint8_t epkey[HC_HMAP_KEY_MAX];
    size_t epkey_len;
    hc_loud loud;                /* loudest-K forwarding, and the video last-N choice */
    uint64_t forwarded;          /* media packets forwarded from this member */
    /* video: what this member offers, whom it pins, whose video it gets (a gate opens at a
     * keyframe's first fragment, so a receiver never starts in the middle of a picture) */
    int video_offer, in_vset;
    int video_offer_sent;        /* it has sent an OFFER: its word, not its datagrams, says on/off */
    uint32_t pin;                /* 0: none */
    struct { uint32_t sender; int open; } gate[VGATE_MAX];
    size_t n_gates;
    uint32_t video_receivers;    /* last STATUS sent; UINT32_MAX: none yet */
    uint32_t video_receivers_now;
    uint8_t keyreq_pending;      /* bit 0: a request is owed; bit 1: someone holds no keyframe */
    int keyreq_new_pair;         /* video_recompute: a receiver started getting it this time */
    uint64_t keyreq_sent_ms;
    uint32_t roster_sent_v;      /* the newest board roster sent to it whole (ROSTER_GET answers one
                                    version once: asking again cannot make the relay resend 180 KB) */
    /* attacks */
    frame last_box;              /* rollback-key: the previous box delivered to this member */
    int split_side;              /* split-leader: it follows the second leader */
} member;

struct meeting {
    char id[HC_MEETING_ID_MAX + 1];
    uint8_t uuid[HC_UUID_LEN];
    member **members;            /* join order */
    size_t n, cap;
    hc_itab by_index;            /* index -> member, O(1) */
    uint32_t next_index;
    size_t n_rot_held;           /* members whose newest rotation waits for its turn (rot_held) */
    /* Indexes of members that left before the relay stored any announcement of theirs: nobody
     * holds a binding for them and no key was ever boxed to them, so they may be handed out again
     * once the fresh ones are used up (JOIN churn must not close a meeting for good). Allocated on
     * first use: INDEX_MAX + 1 bits. */
    uint64_t *reusable;
    uint32_t reuse_cursor;
    bucket joins;                /* JOIN rate limit of this meeting */
    member *leader;
    /* Leader liveness: when its last heartbeat arrived, that heartbeat's signed timestamp, and
     * the largest step between consecutive timestamps (its pace). */
    uint64_t hb_rx_ms, hb_ts;
    uint64_t hb_pace_ms;
    uint64_t probe_sent_ms, probe_opaque;   /* our PING to a silent leader, awaiting its PONG */
    int locked;
    uint8_t (*lock_ivks)[32];    /* IVKs allowed to rejoin while locked */
    size_t n_lock_ivks;
    uint64_t locked_out_ms;      /* when the leader was last told of JOINs the lock refused */
    uint32_t locked_out;         /* refused since then, not told yet */
    frame heartbeat, first_heartbeat;
    frame resume;                /* RESUME statement of the leader that re-created this meeting */
    /* The board's roster, the newest a heartbeat certified; the newest the leader sent, not yet
     * certified; and one whose parts are still arriving. */
    rparts roster, roster_pending, roster_build;
    uint64_t heartbeats;
    const struct sockaddr_storage **dests;  /* scratch for media routing, capacity cap */
    uint8_t replay_buf[HC_MEDIA_MAX];
    size_t replay_len;
    uint32_t replay_sender;
    uint32_t ghost_index;        /* ghost attack: the index of the member who never joined */
    frame ghost_announce;        /* ghost attack: its made-up, validly signed announcement */
    hc_loud_set top;             /* loudest-K: the senders currently forwarded */
    member *vset[VIDEO_LAST_N_MAX]; /* last-N video: the senders whose video everyone gets */
    size_t n_vset;
    uint64_t vset_next_ms;       /* when to choose again (0: at the next chance) */
    struct {                     /* this meeting's share of the video counters in hc_relay_stats */
        uint64_t in, out, frames, keyframes, keyreq_in, keyreq_out;
    } vc;
    int fake_done;               /* fake-leader: one victim per meeting */
    member *lag_victim;          /* lag-heartbeats: whose rosters and heartbeats are held back */
    member *split_leader;        /* split-leader: the second leader, while the split lasts */
    int split_done;              /* ... one split per meeting */
    int split_armed;             /* ... everyone was listed when a heartbeat certified split_arm_epoch */
    uint32_t split_arm_epoch;
    uint64_t lag_ms;             /* ... by this much, growing with every heartbeat */
    /* fake-leader attack: the relay's own identity and meeting key for its victim */
    struct {
        int active;
        member *victim;
        uint8_t isk[64], ivk[32];
        hc_ephemeral eph;
        uint8_t binding_hash[32];
        frame announce;
        uint8_t mk[32];
        uint32_t epoch;
        uint64_t t, next_hb_ms, last_ts;
        uint8_t prev[32];
        uint32_t roster_v;
    } fake;
};

/* Per source address: joined and unjoined connections are counted apart, so connections that
 * never join cannot lock out the real users behind the same NAT; the unjoined ones form a list,
 * oldest first. The slot outlives its connections while its JOIN bucket is refilling. */
typedef struct addr_slot {
    uint32_t joined, unjoined;
    conn *uj_head, *uj_tail;
    bucket joins;
} addr_slot;

struct conn {
    uint64_t id;
    uint8_t addrkey[HC_HMAP_KEY_MAX];
    size_t addrkey_len;
    addr_slot *as;
    conn *uj_prev, *uj_next;     /* in as's unjoined list while c->counted_joined is 0 */
    int counted_joined;
    uint64_t unjoined_since;
    hc_frame_reader rd;
    member *m;
    uint64_t last_rx_ms;
    bucket ctrl;                 /* control bytes it may still send while a member (not leading) */
    int closing;
};

typedef struct held {
    struct held *next;
    uint64_t conn, due_ms;
    frame f;
} held;

struct hc_relay {
    hc_relay_config cfg;
    hc_relay_io io;
    hc_relay_stats st;
    hc_hmap conns, meetings, tokens, endpoints, addrs;
    held *held;                  /* frames delayed on purpose (withhold-keybox) */
    uint64_t now_ms;
    uint64_t last_tick_ms, resume_ms;   /* resume_ms: when the relay last came back from a stall */
    uint64_t next_addr_gc_ms;
    uint8_t reply[17];           /* REGISTERED datagram */
    char next_id[HC_MEETING_ID_MAX + 1];   /* cluster: the id the next CREATE makes its meeting under */
    uint8_t scratch[HC_FRAME_MAX_DEFAULT + 8];   /* encoding buffer for small relay-made frames */
};

/* ------------------------------------------------------------------------------------------ */

const char *hc_attack_name(hc_attack a) {
    static const char *const n[] = {"none", "swap-key", "fake-leader", "replay-heartbeat", "drop-heartbeats",
                                    "withhold-keybox", "rollback-key", "tamper-media", "replay-media",
                                    "rename", "ghost", "rehost", "lag-heartbeats", "split-leader"};
    return (unsigned)a < HC_ATTACK_COUNT ? n[a] : "unknown";
}

int hc_attack_parse(const char *s, hc_attack *out) {
    for (int a = 0; a < HC_ATTACK_COUNT; a++)
        if (!strcmp(s, hc_attack_name((hc_attack)a))) { *out = (hc_attack)a; return 0; }
    return -1;
}

const char *hc_attack_describe(hc_attack a) {
    switch (a) {
    case HC_ATTACK_SWAP_KEY: return "replaces members' ephemeral keys in their announcements";
    case HC_ATTACK_FAKE_LEADER: return "tells the first member to join that a relay-made identity is the leader";
    case HC_ATTACK_REPLAY_HEARTBEAT: return "re-sends the first heartbeat after every later one";
    case HC_ATTACK_DROP_HEARTBEATS: return "stops forwarding heartbeats";
    case HC_ATTACK_WITHHOLD_KEYBOX: return "delivers key boxes late";
    case HC_ATTACK_ROLLBACK_KEY: return "re-delivers each member's previous key box after the new one";
    case HC_ATTACK_TAMPER_MEDIA: return "flips bits in forwarded media";
    case HC_ATTACK_REPLAY_MEDIA: return "re-sends forwarded media";
    case HC_ATTACK_RENAME: return "renames members in their announcements";
    case HC_ATTACK_GHOST: return "lists a member who never joined, with a made-up announcement";
    case HC_ATTACK_REHOST: return "answers a JOIN for a meeting it does not have with a new meeting under that id";
    case HC_ATTACK_LAG_HEARTBEATS: return "delays one member's heartbeats by a lag that grows with each one";
    case HC_ATTACK_SPLIT_LEADER: return "names a second leader to half the members while the first stays";
    default: return "behaves honestly";
    }
}

void hc_relay_config_defaults(hc_relay_config *c) {
    memset(c, 0, sizeof *c);
    c->max_meetings = 1000;
    c->max_members = 1000;
    c->max_frame = HC_FRAME_MAX_DEFAULT;
    c->max_conns_per_addr = 64;
    c->max_unjoined_per_addr = 16;
    c->join_timeout_ms = 10000;
    c->join_rate_addr = 10;
    c->join_rate_meeting = 20;
    c->member_ctrl_rate = 64 * 1024;
    c->member_ctrl_burst = 256 * 1024;
    c->idle_timeout_ms = 15000;
    c->attack_hold_ms = 6000;
    c->attack_after = 2;
    c->video_last_n = 4;
}

/* ---- small helpers ---- */

static void frame_set(frame *f, const uint8_t *p, size_t len) {
    uint8_t *n = malloc(len ? len : 1);
    if (!n) return;  /* keep the old copy: the board degrades, it does not crash */
    memcpy(n, p, len);
    free(f->p);
    f->p = n;
    f->len = len;
}

static void frame_clear(frame *f) {
    free(f->p);
    f->p = NULL;
    f->len = 0;
}

static void rparts_clear(rparts *rp) {
    for (size_t i = 0; i < rp->n; i++) frame_clear(&rp->part[i]);
    memset(rp, 0, sizeof *rp);
}

/* Moves a roster from one slot of the board to another (the source is left empty). */
static void rparts_move(rparts *to, rparts *from) {
    rparts_clear(to);
    *to = *from;
    memset(from, 0, sizeof *from);
}

static int rparts_complete(const rparts *rp) { return rp->n && rp->got == rp->total; }

static void send_frame(hc_relay *r, conn *c, const uint8_t *p, size_t len) {
    if (!c || c->closing) return;
    r->st.ctrl_out++;
    r->io.send(r->io.ctx, c->id, p, len);
}

static void send_msg(hc_relay *r, conn *c, const hc_msg *m) {
    size_t n = hc_msg_encode(m, r->scratch, sizeof r->scratch);
    if (n) send_frame(r, c, r->scratch, n);
}

static void send_rparts(hc_relay *r, conn *c, const rparts *rp) {
    for (size_t i = 0; i < rp->n; i++) send_frame(r, c, rp->part[i].p, rp->part[i].len);
}

static void emit(hc_relay *r, hc_relay_event_type type, uint64_t connid, const char *mid, uint32_t index,
                 const char *name, uint8_t reason, uint16_t code, const char *text) {
    if (!r->io.event) return;
    hc_relay_event ev = {type, connid, mid ? mid : "", index, name, reason, code, text};
    r->io.event(r->io.ctx, &ev);
}

static void send_error(hc_relay *r, conn *c, uint16_t code, const char *text) {
    /* Every refusal the relay makes goes through here: one place reports them all. */
    emit(r, HC_REV_REFUSED, c->id, c->m ? c->m->mt->id : "", c->m ? c->m->index : 0, NULL, 0, code, text);
    hc_msg m;
    hc_msg_init(&m, HC_MSG_ERROR);
    m.code = code;
    m.data = (const uint8_t *)text;
    m.data_len = strlen(text);
    send_msg(r, c, &m);
}

static void close_conn(hc_relay *r, conn *c) {
    if (c->closing) return;
    c->closing = 1;
    r->io.close(r->io.ctx, c->id);
}

static conn *get_conn(const hc_relay *r, uint64_t id) { return hc_hmap_get(&r->conns, &id, sizeof id); }

/* ---- per-address accounting: joined and unjoined connections ---- */

static void unjoined_unlink(conn *c) {
    addr_slot *a = c->as;
    if (!a || c->counted_joined || (!c->uj_prev && a->uj_head != c)) return;
    if (c->uj_prev) c->uj_prev->uj_next = c->uj_next; else a->uj_head = c->uj_next;
    if (c->uj_next) c->uj_next->uj_prev = c->uj_prev; else a->uj_tail = c->uj_prev;
    c->uj_prev = c->uj_next = NULL;
    a->unjoined--;
}

/* Closes the oldest unjoined connections of an address until it is within its cap: a newcomer
 * always gets its chance to JOIN, and whoever holds connections open without joining loses them. */
static void unjoined_enforce_cap(hc_relay *r, addr_slot *a) {
    while (a->unjoined > r->cfg.max_unjoined_per_addr && a->uj_head) {
        conn *old = a->uj_head;
        unjoined_unlink(old);
        if (old->closing) continue;
        r->st.unjoined_evicted++;
        send_error(r, old, HC_ERR_TOO_MANY_CONNECTIONS,
                   "too many connections from your address have not joined a meeting; this one was the oldest");
        close_conn(r, old);
    }
}

/* c is (again) not in a meeting: it counts as unjoined, with a fresh deadline to join. */
static void conn_set_unjoined(hc_relay *r, conn *c) {
    addr_slot *a = c->as;
    if (!a) return;
    if (c->counted_joined) {
        c->counted_joined = 0;
        a->joined--;
    } else if (c->uj_prev || a->uj_head == c) {
        return;  /* already listed */
    }
    c->uj_prev = a->uj_tail;
    c->uj_next = NULL;
    if (a->uj_tail) a->uj_tail->uj_next = c; else a->uj_head = c;
    a->uj_tail = c;
    a->unjoined++;
    c->unjoined_since = r->now_ms;
    unjoined_enforce_cap(r, a);
}

static void conn_set_joined(conn *c) {
    if (!c->as || c->counted_joined) return;
    unjoined_unlink(c);
    c->counted_joined = 1;
    c->as->joined++;
}

/* Frees an address slot once nothing refers to it and its JOIN bucket has refilled (else closing
 * every connection would reset the rate limit). */
static void addr_slot_maybe_free(hc_relay *r, const uint8_t *key, size_t klen, addr_slot *a) {
    if (a->joined || a->unjoined || !bucket_full(&a->joins, r->cfg.join_rate_addr, r->now_ms)) return;
    hc_hmap_del(&r->addrs, key, klen);
    free(a);
}

/* The key of an address: with_port, the exact endpoint (media); without, whom the per-address
 * limits count. Those count an IPv4 address, but an IPv6 /64: one subscriber gets a whole /64
 * (RFC 6177), so counting full addresses would give one machine 2^64 fresh quotas. An IPv4-mapped
 * IPv6 address (::ffff:a.b.c.d, a dual-stack socket) is the IPv4 address it maps. */
static size_t addr_key(uint8_t *k, const struct sockaddr *sa, int with_port) {
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
        if (!with_port && IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
            k[0] = 4;
            memcpy(k + 1, s6->sin6_addr.s6_addr + 12, 4);
            return 5;
        }
        k[0] = 6;
        if (!with_port) {
            memcpy(k + 1, &s6->sin6_addr, 8);
            return 9;
        }
        memcpy(k + 1, &s6->sin6_addr, 16);
        memcpy(k + 17, &s6->sin6_port, 2);
        return 19;
    }
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
        k[0] = 4;
        memcpy(k + 1, &s4->sin_addr, 4);
        if (!with_port) return 5;
        memcpy(k + 5, &s4->sin_port, 2);
        return 7;
    }
    k[0] = 0;
    return 1;
}

/* ---- meetings ---- */

/* id: NULL for a fresh random id, else the id a RESUME re-creates (the caller checked it is free). */
static meeting *meeting_new(hc_relay *r, const char *id) {
    meeting *mt = calloc(1, sizeof *mt);
    if (!mt) return NULL;
    mt->cap = 8;
    mt->members = calloc(mt->cap, sizeof *mt->members);
    mt->dests = calloc(mt->cap, sizeof *mt->dests);
    if (!mt->members || !mt->dests) goto fail;
    /* A fresh 10-digit id from the CSPRNG, unique on this relay (or the cluster's, reserved). */
    char reserved[HC_MEETING_ID_MAX + 1];
    if (!id && r->next_id[0]) {
        snprintf(reserved, sizeof reserved, "%s", r->next_id);
        r->next_id[0] = 0;
        id = reserved;
    }
    if (id) snprintf(mt->id, sizeof mt->id, "%s", id);
    for (int tries = 0; !id && tries < 100; tries++) {
        uint64_t v = 0;
        randombytes_buf(&v, sizeof v);
        snprintf(mt->id, sizeof mt->id, "%010llu", (unsigned long long)(v % 10000000000ULL));
        if (!hc_hmap_get(&r->meetings, mt->id, strlen(mt->id))) break;
    }
    if (hc_hmap_get(&r->meetings, mt->id, strlen(mt->id))) goto fail;
    randombytes_buf(mt->uuid, sizeof mt->uuid);
    mt->next_index = 1;
    if (hc_hmap_put(&r->meetings, mt->id, strlen(mt->id), mt) < 0) goto fail;
    r->st.meetings++;
    r->st.meetings_created++;
    emit(r, HC_REV_MEETING_CREATED, 0, mt->id, 0, NULL, 0, 0, NULL);
    return mt;
fail:
    free(mt->members);
    free(mt->dests);
    free(mt);
    return NULL;
}

static void fake_wipe(meeting *mt) {
    sodium_memzero(mt->fake.isk, sizeof mt->fake.isk);
    sodium_memzero(mt->fake.mk, sizeof mt->fake.mk);
    hc_ephemeral_wipe(&mt->fake.eph);
    frame_clear(&mt->fake.announce);
    mt->fake.active = 0;
}

static void meeting_free(hc_relay *r, meeting *mt) {
    hc_hmap_del(&r->meetings, mt->id, strlen(mt->id));
    rparts_clear(&mt->roster);
    rparts_clear(&mt->roster_pending);
    rparts_clear(&mt->roster_build);
    frame_clear(&mt->heartbeat);
    frame_clear(&mt->first_heartbeat);
    frame_clear(&mt->ghost_announce);
    frame_clear(&mt->resume);
    fake_wipe(mt);
    free(mt->lock_ivks);
    free(mt->reusable);
    hc_itab_free(&mt->by_index);
    free(mt->members);
    free(mt->dests);
    emit(r, HC_REV_MEETING_ENDED, 0, mt->id, 0, NULL, 0, 0, NULL);
    free(mt);
    r->st.meetings--;
}

static member *find_member(const meeting *mt, uint32_t index) { return hc_itab_get(&mt->by_index, index); }

/* A frame to every member except `except`. */
static void broadcast(hc_relay *r, meeting *mt, const member *except, const uint8_t *p, size_t len) {
    for (size_t i = 0; i < mt->n; i++)
        if (mt->members[i] != except) send_frame(r, mt->members[i]->c, p, len);
}

/* A whole roster encoding as ROSTER frames in parts, each passed to `out`. 0, or -1 when a part
 * cannot be encoded. */
static int roster_frames(hc_relay *r, const uint8_t *enc, size_t elen,
                         void (*out)(hc_relay *r, void *arg, const uint8_t *f, size_t flen), void *arg) {
    for (size_t off = 0; off < elen;) {
        hc_msg m;
        off = hc_msg_roster_part(&m, enc, elen, off);
        size_t n = hc_msg_encode(&m, r->scratch, sizeof r->scratch);
        if (!n) return -1;
        out(r, arg, r->scratch, n);
    }
    return 0;
}

static void broadcast_msg(hc_relay *r, meeting *mt, const member *except, const hc_msg *m) {
    size_t n = hc_msg_encode(m, r->scratch, sizeof r->scratch);
    if (n) broadcast(r, mt, except, r->scratch, n);
}

static int is_fake_victim(const meeting *mt, const member *m) {
    return mt->fake.active && mt->fake.victim == m;
}

/* The leader a member follows: the second one for its side of a split (split-leader attack). */
static member *leader_of(const meeting *mt, const member *m) {
    return mt->split_leader && m && m->split_side ? mt->split_leader : mt->leader;
}

/* ---- fake-leader attack: a relay-made leader for one victim ---- */

static int entry_cmp(const void *a, const void *b) {
    uint32_t x = ((const hc_roster_entry *)a)->index, y = ((const hc_roster_entry *)b)->index;
    return x < y ? -1 : x > y;
}

static void send_to_member(hc_relay *r, void *arg, const uint8_t *f, size_t flen) {
    send_frame(r, ((member *)arg)->c, f, flen);
}

static void fake_send_heartbeat(hc_relay *r, meeting *mt) {
    member *v = mt->fake.victim;
    if (!v || !mt->leader) return;
    /* A roster that lists everyone the victim can see, with the fake leader in place of the real one. */
    hc_roster_entry *es = calloc(mt->n ? mt->n : 1, sizeof *es);
    hc_roster ro;
    hc_roster_init(&ro);
    size_t ne = 0;
    for (size_t i = 0; es && i < mt->n && ne < HC_ROSTER_MAX_ENTRIES; i++) {
        member *m = mt->members[i];
        hc_roster_entry e = {m->index, {0}};
        if (m == mt->leader) memcpy(e.hash, mt->fake.binding_hash, 32);
        else if (m->first_announce.p) {
            hc_msg am;
            if (hc_msg_decode(&am, m->first_announce.p + 4, m->first_announce.len - 4, NULL) < 0) continue;
            hc_hash(e.hash, am.data, am.data_len);
        } else continue;
        es[ne++] = e;
    }
    if (es) qsort(es, ne, sizeof *es, entry_cmp);
    ro.v = ++mt->fake.roster_v;
    ro.leader = mt->leader->index;
    for (size_t i = 0; es && i < ne; i++) hc_roster_add(&ro, 0, es[i].index, es[i].hash);
    free(es);
    uint8_t *enc = malloc(hc_roster_encoded_len(&ro));
    size_t elen = enc ? hc_roster_encode(&ro, enc, hc_roster_encoded_len(&ro)) : 0;
    uint8_t rh[32], h[32];
    hc_roster_hash(&ro, rh);
    hc_roster_free(&ro);
    if (!elen || roster_frames(r, enc, elen, send_to_member, v) < 0) {
        free(enc);
        return;
    }
    hc_msg m;
    free(enc);
    hc_msg_init(&m, HC_MSG_HEARTBEAT);
    m.hb.v = mt->fake.roster_v;
    m.hb.t = ++mt->fake.t;
    m.hb.epoch = mt->fake.epoch;
    /* strictly increasing, even for two heartbeats in one millisecond */
    m.hb.ts_ms = r->now_ms > mt->fake.last_ts ? r->now_ms : mt->fake.last_ts + 1;
    mt->fake.last_ts = m.hb.ts_ms;
    memcpy(m.hb.prev, mt->fake.prev, 32);
    memcpy(m.hb.roster_hash, rh, 32);
    hc_heartbeat_hash(h, mt->fake.binding_hash, rh, m.hb.v, m.hb.t, m.hb.epoch, m.hb.prev, m.hb.ts_ms);
    hc_sign_hash(m.hb.sig, mt->fake.isk, HC_CTX_SIG_PARTICIPANTS, h);
    memcpy(mt->fake.prev, h, 32);
    send_msg(r, v->c, &m);
    mt->fake.next_hb_ms = r->now_ms + FAKE_HB_MS;
}

/* The victim announced itself: the fake leader admits it with a key box of its own. */
static void fake_admit(hc_relay *r, meeting *mt, const hc_binding *b) {
    uint8_t k[32], meta[HC_META_MAX], box[HC_BOX_LEN];
    if (hc_pairwise_key(k, b->pk, mt->fake.eph.sk) < 0) return;
    hc_box_meta bm;
    memset(&bm, 0, sizeof bm);
    snprintf(bm.meeting_id, sizeof bm.meeting_id, "%s", mt->id);
    memcpy(bm.uuid, mt->uuid, 16);
    bm.leader_index = mt->leader->index;
    bm.recipient_index = b->index;
    memcpy(bm.nonce, b->nonce, HC_NONCE_LEN);
    size_t ml = hc_box_meta_encode(&bm, meta, sizeof meta);
    if (!mt->fake.epoch) {
        randombytes_buf(mt->fake.mk, 32);
        mt->fake.epoch = 1;
    }
    hc_keybox_seal(box, k, meta, ml, mt->fake.mk, mt->fake.epoch, HC_SUITE_CHACHA);
    sodium_memzero(k, sizeof k);
    hc_msg m;
    hc_msg_init(&m, HC_MSG_KEYBOX);
    m.index = mt->leader->index;
    m.data = meta;
    m.data_len = ml;
    m.data2 = box;
    m.data2_len = sizeof box;
    send_msg(r, mt->fake.victim->c, &m);
    fake_send_heartbeat(r, mt);
}

/* Makes the relay's impostor identity: same index and display name as the real leader. */
static void fake_start(hc_relay *r, meeting *mt, member *victim) {
    if (!mt->leader || !mt->leader->first_announce.p) return;
    hc_msg am;
    hc_binding b;
    if (hc_msg_decode(&am, mt->leader->first_announce.p + 4, mt->leader->first_announce.len - 4, NULL) < 0 ||
        hc_binding_decode(&b, am.data, am.data_len) < 0)
        return;
    crypto_sign_keypair(mt->fake.ivk, mt->fake.isk);
    hc_ephemeral_generate(&mt->fake.eph);
    memcpy(b.ivk, mt->fake.ivk, 32);
    memcpy(b.pk, mt->fake.eph.pk, 32);
    randombytes_buf(b.nonce, sizeof b.nonce);
    uint8_t enc[HC_BINDING_MAX];
    size_t elen = hc_binding_encode(&b, enc, sizeof enc);
    if (!elen) return;
    hc_msg m;
    hc_msg_init(&m, HC_MSG_ANNOUNCE);
    m.data = enc;
    m.data_len = elen;
    hc_binding_sign(m.sig, enc, elen, mt->fake.isk);
    hc_hash(mt->fake.binding_hash, enc, elen);
    size_t n = hc_msg_encode(&m, r->scratch, sizeof r->scratch);
    frame_set(&mt->fake.announce, r->scratch, n);
    mt->fake.active = 1;
    mt->fake.victim = victim;
    memset(mt->fake.prev, 0, 32);
}

/* ---- ghost attack: a member who never joined, with an announcement that looks real ---- */

/* A listed member that never announced is what an honest relay shows for a silent joiner, so
 * the ghost gets a binding of its own (fresh identity, signed) that joiners hold: a member with
 * an announcement that the leader's signed roster never lists is what clients alert on. */
static void ghost_start(hc_relay *r, meeting *mt) {
    mt->ghost_index = 60000 + (uint32_t)randombytes_uniform(5000);
    uint8_t ivk[32], isk[64];
    crypto_sign_keypair(ivk, isk);
    hc_ephemeral e;
    hc_ephemeral_generate(&e);
    hc_binding b;
    memset(&b, 0, sizeof b);
    snprintf(b.meeting_id, sizeof b.meeting_id, "%s", mt->id);
    memcpy(b.uuid, mt->uuid, 16);
    b.index = mt->ghost_index;
    memcpy(b.ivk, ivk, 32);
    memcpy(b.pk, e.pk, 32);
    snprintf(b.name, sizeof b.name, "%s", "guest");
    randombytes_buf(b.nonce, sizeof b.nonce);
    hc_ephemeral_wipe(&e);
    uint8_t enc[HC_BINDING_MAX];
    size_t elen = hc_binding_encode(&b, enc, sizeof enc);
    if (elen) {
        hc_msg m;
        hc_msg_init(&m, HC_MSG_ANNOUNCE);
        m.data = enc;
        m.data_len = elen;
        hc_binding_sign(m.sig, enc, elen, isk);
        size_t n = hc_msg_encode(&m, r->scratch, sizeof r->scratch);
        if (n) frame_set(&mt->ghost_announce, r->scratch, n);
    }
    sodium_memzero(isk, sizeof isk);
}

/* ---- membership ---- */

static void send_board(hc_relay *r, meeting *mt, member *to) {
    /* First, so a returning member can check whose meeting this is before anything else. */
    if (mt->resume.p && to != mt->leader) send_frame(r, to->c, mt->resume.p, mt->resume.len);
    for (size_t i = 0; i < mt->n; i++) {
        member *m = mt->members[i];
        if (m == to || !m->last_announce.p) continue;
        if (is_fake_victim(mt, to) && m == mt->leader) {
            send_frame(r, to->c, mt->fake.announce.p, mt->fake.announce.len);
            continue;
        }
        /* The first binding is what a member checks and keeps; a later one differs only in its
         * nonce, which only a leader uses (a new leader gets everyone's newest at LEADER). So a
         * joiner gets one announcement per member, not two. */
        send_frame(r, to->c, m->first_announce.p, m->first_announce.len);
    }
    if (mt->ghost_announce.p && to != mt->leader) send_frame(r, to->c, mt->ghost_announce.p, mt->ghost_announce.len);
    if (is_fake_victim(mt, to)) return;  /* the impostor makes its own roster and heartbeats */
    /* The certified roster with the heartbeat that certified it, then the newest roster the
     * leader sent if no heartbeat has yet: the joiner holds it as pending, and the deltas and
     * the heartbeat that follow apply to it as to everyone's. */
    if (rparts_complete(&mt->roster)) {
        send_rparts(r, to->c, &mt->roster);
        to->roster_sent_v = mt->roster.v;
    }
    if (mt->heartbeat.p) send_frame(r, to->c, mt->heartbeat.p, mt->heartbeat.len);
    if (rparts_complete(&mt->roster_pending) && (!rparts_complete(&mt->roster) || mt->roster_pending.v > mt->roster.v))
        send_rparts(r, to->c, &mt->roster_pending);
}

static void send_joined(hc_relay *r, meeting *mt, member *m) {
    size_t n = mt->n + (mt->ghost_index ? 1 : 0);
    uint8_t *list = malloc(4 * n + 4);
    if (!list) return;
    size_t k = 0;
    for (size_t i = 0; i < mt->n; i++) hc_put_u32(list + 4 * k++, mt->members[i]->index);
    if (mt->ghost_index && m != mt->leader) hc_put_u32(list + 4 * k++, mt->ghost_index);
    hc_msg j;
    hc_msg_init(&j, HC_MSG_JOINED);
    snprintf(j.meeting_id, sizeof j.meeting_id, "%s", mt->id);
    memcpy(j.uuid, mt->uuid, 16);
    j.index = m->index;
    j.leader = mt->leader->index;
    memcpy(j.token, m->token, HC_TOKEN_LEN);
    j.flag = (uint8_t)mt->locked;
    j.members = list;
    j.n_members = (uint16_t)k;
    send_msg(r, m->c, &j);
    free(list);
}

#define REUSE_WORDS ((INDEX_MAX + 1 + 63) / 64)

static int index_available(const meeting *mt) {
    if (mt->next_index <= INDEX_MAX) return 1;
    if (!mt->reusable) return 0;
    for (size_t w = 0; w < REUSE_WORDS; w++)
        if (mt->reusable[w]) return 1;
    return 0;
}

/* The next fresh index; once all are used, one that no member ever announced under. 0 = none. */
static uint32_t take_index(hc_relay *r, meeting *mt) {
    if (mt->next_index <= INDEX_MAX) return mt->next_index++;
    if (!mt->reusable) return 0;
    for (size_t k = 0; k < REUSE_WORDS; k++) {
        size_t w = (mt->reuse_cursor + k) % REUSE_WORDS;
        if (!mt->reusable[w]) continue;
        unsigned b = (unsigned)__builtin_ctzll(mt->reusable[w]);
        mt->reusable[w] &= ~(1ull << b);
        mt->reuse_cursor = (uint32_t)w;
        r->st.indexes_reused++;
        return (uint32_t)(w * 64 + b);
    }
    return 0;
}

static void give_back_index(meeting *mt, uint32_t index) {
    if (!index || index > INDEX_MAX) return;
    if (!mt->reusable && !(mt->reusable = calloc(REUSE_WORDS, sizeof *mt->reusable))) return;  /* stays used */
    mt->reusable[index / 64] |= 1ull << (index % 64);
}

static member *add_member(hc_relay *r, meeting *mt, conn *c, const char *name) {
    if (mt->n == mt->cap) {
        size_t ncap = mt->cap * 2;
        member **nm = realloc(mt->members, ncap * sizeof *nm);
        if (!nm) return NULL;
        mt->members = nm;
        const struct sockaddr_storage **nd = realloc(mt->dests, ncap * sizeof *nd);
        if (!nd) return NULL;
        mt->dests = nd;
        mt->cap = ncap;
    }
    member *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    m->video_receivers = UINT32_MAX;
    m->c = c;
    m->mt = mt;
    snprintf(m->name, sizeof m->name, "%s", name);
    randombytes_buf(m->token, sizeof m->token);
    if (hc_hmap_put(&r->tokens, m->token, sizeof m->token, m) < 0) { free(m); return NULL; }
    m->index = take_index(r, mt);   /* the caller checked index_available */
    if (hc_itab_set(&mt->by_index, m->index, m) < 0) {
        hc_hmap_del(&r->tokens, m->token, sizeof m->token);
        give_back_index(mt, m->index);
        free(m);
        return NULL;
    }
    mt->members[mt->n++] = m;
    c->m = m;
    conn_set_joined(c);
    r->st.members++;
    r->st.joins++;
    emit(r, HC_REV_MEMBER_JOINED, c->id, mt->id, m->index, m->name, 0, 0, NULL);
    return m;
}

static void leader_liveness_reset(hc_relay *r, meeting *mt) {
    mt->hb_rx_ms = r->now_ms;
    mt->hb_ts = 0;
    mt->hb_pace_ms = 0;
    mt->probe_sent_ms = 0;
}

/* The roster a heartbeat certified (the board's), decoded; NULL when there is none. Free with
 * board_roster_free. */
static hc_roster *board_roster(const meeting *mt) {
    if (!rparts_complete(&mt->roster)) return NULL;
    uint8_t *enc = malloc(mt->roster.total);
    hc_roster *ro = malloc(sizeof *ro);
    if (!enc || !ro) goto fail;
    hc_roster_init(ro);
    size_t got = 0;
    for (size_t i = 0; i < mt->roster.n; i++) {
        hc_msg m;
        const frame *f = &mt->roster.part[i];
        if (f->len < 4 || hc_msg_decode(&m, f->p + 4, f->len - 4, NULL) < 0 || m.type != HC_MSG_ROSTER ||
            m.offset != got || m.data_len > mt->roster.total - got)
            goto fail;
        memcpy(enc + got, m.data, m.data_len);
        got += m.data_len;
    }
    if (got != mt->roster.total || hc_roster_decode(ro, enc, got) < 0) goto fail;
    free(enc);
    return ro;
fail:
    free(enc);
    if (ro) hc_roster_free(ro);
    free(ro);
    return NULL;
}

static void board_roster_free(hc_roster *ro) {
    if (ro) hc_roster_free(ro);
    free(ro);
}

/* Who leads next (PROTOCOL.md §8.3): the earliest-joined remaining member of the certified roster,
 * which is whom members accept; a joiner that never announced (or is still waiting) cannot lead.
 * Without a roster (or nobody of it left), the earliest-joined member. Before the board drops
 * the departing leader's roster. */
static member *next_leader(const meeting *mt, const member *leaving) {
    hc_roster *ro = board_roster(mt);
    member *pick = NULL;
    for (size_t i = 0; ro && i < mt->n && !pick; i++)
        if (mt->members[i] != leaving && hc_roster_find(ro, mt->members[i]->index)) pick = mt->members[i];
    board_roster_free(ro);
    for (size_t i = 0; i < mt->n && !pick; i++)
        if (mt->members[i] != leaving) pick = mt->members[i];
    return pick;
}

static void choose_leader(hc_relay *r, meeting *mt, member *next, uint8_t reason) {
    mt->leader = next;
    if (!mt->leader) return;
    leader_liveness_reset(r, mt);
    hc_msg lm;
    hc_msg_init(&lm, HC_MSG_LEADER);
    lm.index = mt->leader->index;
    lm.flag = reason;  /* why the previous leader went */
    broadcast_msg(r, mt, NULL, &lm);
    /* The new leader needs every member's newest liveness nonce: send it the latest announcements
     * (held rotations included: they go now, and the next may follow a rotation period later). */
    for (size_t i = 0; i < mt->n; i++) {
        member *m = mt->members[i];
        if (m != mt->leader && m->last_announce.p)
            send_frame(r, leader_of(mt, m)->c, m->last_announce.p, m->last_announce.len);
        m->rot_tat = r->now_ms + HC_NONCE_ROTATE_MIN_MS;
        m->rot_held = 0;
    }
    mt->n_rot_held = 0;
}

/* Whether m's newest announcement may go to the leader now. The pace is kept as the time the next
 * one is due (a "theoretical arrival time", advanced by one period per announcement passed on), so
 * a rotation arriving a little early (network jitter, up to ROT_EARLY_MS) passes at once without
 * the next being held longer: one per period on average, never more than one per half period. */
static int rotation_due(const hc_relay *r, const member *m) { return r->now_ms + ROT_EARLY_MS >= m->rot_tat; }

/* An announcement of m went to the leader (or everyone): the next may follow a period later. */
static void rotation_sent(hc_relay *r, member *m) {
    m->rot_tat = (m->rot_tat > r->now_ms ? m->rot_tat : r->now_ms) + HC_NONCE_ROTATE_MIN_MS;
}

/* A nonce rotation of m goes to the leader now. */
static void rotation_forward(hc_relay *r, meeting *mt, member *m) {
    if (m->rot_held) {
        m->rot_held = 0;
        mt->n_rot_held--;
    }
    rotation_sent(r, m);
    r->st.announce_rotations_fwd++;
    send_frame(r, leader_of(mt, m)->c, m->last_announce.p, m->last_announce.len);
}

/* Rotations held back for their turn whose turn has come. */
static void rotations_release(hc_relay *r, meeting *mt) {
    for (size_t i = 0; mt->n_rot_held && i < mt->n; i++) {
        member *m = mt->members[i];
        if (m->rot_held && rotation_due(r, m)) rotation_forward(r, mt, m);
    }
}

static void remove_member(hc_relay *r, member *m, uint8_t reason) {
    meeting *mt = m->mt;
    size_t i = 0;
    while (i < mt->n && mt->members[i] != m) i++;
    if (i == mt->n) return;
    memmove(&mt->members[i], &mt->members[i + 1], (mt->n - i - 1) * sizeof *mt->members);
    mt->n--;
    hc_itab_set(&mt->by_index, m->index, NULL);
    hc_loud_forget(&mt->top, &m->loud);
    for (size_t t = 0; t < mt->n_vset; t++)
        if (mt->vset[t] == m) { mt->vset[t] = mt->vset[--mt->n_vset]; break; }
    mt->vset_next_ms = 0;
    hc_hmap_del(&r->tokens, m->token, sizeof m->token);
    /* The endpoint may have been taken over by another member since: only remove our own. */
    if (m->epkey_len && hc_hmap_get(&r->endpoints, m->epkey, m->epkey_len) == m)
        hc_hmap_del(&r->endpoints, m->epkey, m->epkey_len);
    if (m->c) {
        m->c->m = NULL;
        conn_set_unjoined(r, m->c);
    }
    if (mt->fake.victim == m) fake_wipe(mt), mt->fake.victim = NULL;
    if (mt->lag_victim == m) mt->lag_victim = NULL, mt->lag_ms = 0;
    if (mt->split_leader == m) mt->split_leader = NULL;
    if (m->rot_held) mt->n_rot_held--;
    int was_leader = mt->leader == m;
    member *next = was_leader ? next_leader(mt, m) : NULL;
    uint32_t index = m->index;
    /* Nobody can hold a binding of a member whose announcement the relay never stored, and the
     * leader boxes keys only to members whose binding it holds: the index may serve again. */
    if (!m->first_announce.p) give_back_index(mt, index);
    frame_clear(&m->first_announce);
    frame_clear(&m->last_announce);
    frame_clear(&m->last_box);
    emit(r, HC_REV_MEMBER_LEFT, m->c ? m->c->id : 0, mt->id, index, NULL, reason, 0, NULL);
    free(m);
    r->st.members--;
    if (mt->n == 0) {               /* last one out: the meeting and its board are gone */
        meeting_free(r, mt);
        return;
    }
    hc_msg lm;
    hc_msg_init(&lm, HC_MSG_MEMBER_LEFT);
    lm.index = index;
    lm.flag = reason;
    broadcast_msg(r, mt, NULL, &lm);
    if (was_leader) {
        /* The old leader's roster and heartbeat chain end with it. */
        rparts_clear(&mt->roster);
        rparts_clear(&mt->roster_pending);
        rparts_clear(&mt->roster_build);
        frame_clear(&mt->heartbeat);
        frame_clear(&mt->first_heartbeat);
        mt->heartbeats = 0;
        choose_leader(r, mt, next, reason);
    }
}

/* ---- control messages ---- */

/* A JOIN the lock refused: the leader hears of it (LOCKED_OUT), at most once per
 * HC_LOCKED_OUT_MS, so a stranger knocking in a loop costs the leader one small frame per period
 * whatever its rate; the count says how many were refused since the last one it was told of. */
static void tell_leader_locked_out(hc_relay *r, meeting *mt, const char *name) {
    if (mt->locked_out < UINT32_MAX) mt->locked_out++;
    if (!mt->leader || (mt->locked_out_ms && r->now_ms - mt->locked_out_ms < HC_LOCKED_OUT_MS)) return;
    hc_msg n;
    hc_msg_init(&n, HC_MSG_LOCKED_OUT);
    n.value = mt->locked_out;
    snprintf(n.name, sizeof n.name, "%s", name);
    send_msg(r, mt->leader->c, &n);
    mt->locked_out = 0;
    mt->locked_out_ms = r->now_ms ? r->now_ms : 1;
}

static int ivk_in_lock_snapshot(const meeting *mt, const uint8_t ivk[32]) {
    for (size_t i = 0; i < mt->n_lock_ivks; i++)
        if (!memcmp(mt->lock_ivks[i], ivk, 32)) return 1;
    return 0;
}

static int join_allowed_locked(const meeting *mt, const hc_msg *m) {
    return m->flag && ivk_in_lock_snapshot(mt, m->ivk);
}

static void handle_create_join(hc_relay *r, conn *c, const hc_msg *m) {
    if (c->m) { r->st.ctrl_protocol_errors++; send_error(r, c, HC_ERR_PROTOCOL, "already in a meeting on this connection"); return; }
    /* Every attempt costs a token, failed ones too: scanning meeting ids is as limited as churn. */
    if (c->as && !bucket_take(&c->as->joins, r->cfg.join_rate_addr, r->now_ms)) {
        r->st.joins_rate_limited++;
        send_error(r, c, HC_ERR_RATE_LIMITED, "too many joins from your address; try again in a few seconds");
        close_conn(r, c);
        return;
    }
    if (c->as && c->as->joined >= r->cfg.max_conns_per_addr) {
        r->st.conns_refused++;
        send_error(r, c, HC_ERR_TOO_MANY_CONNECTIONS, "too many connections from your address are in meetings");
        close_conn(r, c);
        return;
    }
    meeting *mt = NULL;
    int creates = m->type == HC_MSG_CREATE || m->type == HC_MSG_RESUME;
    if (m->type != HC_MSG_CREATE) mt = hc_hmap_get(&r->meetings, m->meeting_id, strlen(m->meeting_id));
    if (m->type == HC_MSG_RESUME) {
        if (mt) { send_error(r, c, HC_ERR_EXISTS, "this meeting is running on this relay: join it"); return; }
        /* Only the holder of the IVK can re-create a meeting in its name; the members check that
         * it is the leader they had (the relay cannot know). */
        if (hc_resume_verify(m->sig, m->meeting_id, m->uuid, m->ivk) < 0) {
            r->st.ctrl_protocol_errors++;
            send_error(r, c, HC_ERR_BAD_RESUME, "the resume statement's signature does not verify");
            return;
        }
    } else if (m->type == HC_MSG_JOIN && !mt && r->cfg.attack == HC_ATTACK_REHOST) {
        creates = 1;      /* attack: a meeting of its own making under the id the joiner asked for */
    }
    if (creates) {
        if (r->st.meetings >= r->cfg.max_meetings) {
            send_error(r, c, HC_ERR_TOO_MANY_MEETINGS, "this relay hosts the most meetings it allows; try later");
            return;
        }
        mt = meeting_new(r, m->type == HC_MSG_CREATE ? NULL : m->meeting_id);
        if (!mt) { send_error(r, c, HC_ERR_TOO_MANY_MEETINGS, "the relay could not create a meeting"); return; }
    } else {
        if (!mt) { send_error(r, c, HC_ERR_NO_SUCH_MEETING, "no meeting with this id on this relay"); return; }
        if (mt->n >= r->cfg.max_members) { send_error(r, c, HC_ERR_MEETING_FULL, "the meeting is full"); return; }
        if (mt->locked && !join_allowed_locked(mt, m)) {
            send_error(r, c, HC_ERR_LOCKED, "the meeting is locked by its leader");
            tell_leader_locked_out(r, mt, m->name);
            return;
        }
        if (!bucket_take(&mt->joins, r->cfg.join_rate_meeting, r->now_ms)) {
            r->st.joins_rate_limited++;
            send_error(r, c, HC_ERR_RATE_LIMITED, "too many people are joining this meeting right now; try again in a few seconds");
            close_conn(r, c);
            return;
        }
        if (!index_available(mt)) {
            send_error(r, c, HC_ERR_INDEXES_EXHAUSTED, "this meeting has had too many joins; start a new one");
            return;
        }
    }
    member *nm = add_member(r, mt, c, m->name);
    if (!nm) {
        if (mt->n == 0) meeting_free(r, mt);
        send_error(r, c, HC_ERR_MEETING_FULL, "the relay is out of memory");
        return;
    }
    if (m->type == HC_MSG_JOIN && m->flag) {
        memcpy(nm->join_ivk, m->ivk, 32);
        nm->has_join_ivk = 1;
    }
    if (creates) {
        mt->leader = nm;
        leader_liveness_reset(r, mt);
        if (m->type == HC_MSG_RESUME) {
            /* The board keeps the statement for every joiner; the leader's announcements must
             * carry the IVK it signed with. */
            uint8_t *fr = r->scratch;
            size_t flen = hc_msg_encode(m, fr, sizeof r->scratch);
            if (flen) frame_set(&mt->resume, fr, flen);
            memcpy(nm->ivk, m->ivk, 32);
            nm->has_ivk = 1;
            r->st.meetings_resumed++;
        }
        if (r->cfg.attack == HC_ATTACK_GHOST) ghost_start(r, mt);
    } else if (r->cfg.attack == HC_ATTACK_FAKE_LEADER && !mt->fake_done) {
        mt->fake_done = 1;
        fake_start(r, mt, nm);
    }
    send_joined(r, mt, nm);
    send_board(r, mt, nm);
    hc_msg jm;
    hc_msg_init(&jm, HC_MSG_MEMBER_JOINED);
    jm.index = nm->index;
    snprintf(jm.name, sizeof jm.name, "%s", nm->name);
    size_t jn = hc_msg_encode(&jm, r->scratch, sizeof r->scratch);   /* once, for everyone */
    for (size_t i = 0; jn && i < mt->n; i++) {
        member *o = mt->members[i];
        if (o == nm) continue;
        if (is_fake_victim(mt, nm) && o == mt->leader) continue;  /* the real leader never hears of the victim */
        send_frame(r, o->c, r->scratch, jn);
    }
}

/* Applies the announcement attacks to a copy of the frame. Returns the frame to forward. */
static size_t tamper_announce(hc_relay *r, const hc_msg *m, uint8_t *out, size_t cap) {
    hc_binding b;
    if (hc_binding_decode(&b, m->data, m->data_len) < 0) return 0;
    if (r->cfg.attack == HC_ATTACK_SWAP_KEY) {
        hc_ephemeral e;
        hc_ephemeral_generate(&e);
        memcpy(b.pk, e.pk, 32);
        hc_ephemeral_wipe(&e);
    } else {
        snprintf(b.name, sizeof b.name, "%s", "mallory");
    }
    uint8_t enc[HC_BINDING_MAX];
    size_t elen = hc_binding_encode(&b, enc, sizeof enc);
    hc_msg t = *m;
    t.data = enc;
    t.data_len = elen;
    return hc_msg_encode(&t, out, cap);
}

/* A first announcement must carry the identity key its JOIN named; while the meeting is locked, one
 * of the lock snapshot's. Otherwise a stranger could get past the lock hint by naming a member's
 * public key in JOIN and then stay in the meeting under a binding of its own. Returns 0 when it may
 * go on; else the member was refused (and, locked out, removed). */
static int first_announce_allowed(hc_relay *r, member *me, const hc_binding *b) {
    meeting *mt = me->mt;
    int hint_ok = !me->has_join_ivk || !memcmp(me->join_ivk, b->ivk, 32);
    if (mt->locked && me != mt->leader && (!me->has_join_ivk || !hint_ok || !ivk_in_lock_snapshot(mt, b->ivk))) {
        r->st.announce_refused++;
        conn *c = me->c;
        send_error(r, c, HC_ERR_LOCKED, "the meeting is locked by its leader: your announcement is not of a key it lets in");
        remove_member(r, me, HC_LEFT_DENIED);
        close_conn(r, c);
        return -1;
    }
    if (!hint_ok) {
        r->st.announce_refused++;
        r->st.ctrl_protocol_errors++;
        send_error(r, me->c, HC_ERR_PROTOCOL, "announcement is not of the identity key your JOIN named");
        return -1;
    }
    return 0;
}

static void handle_announce(hc_relay *r, member *me, const hc_msg *m, const uint8_t *body, size_t len) {
    meeting *mt = me->mt;
    hc_binding b;
    /* An honest relay keeps members from posting for one another: the binding must be the
     * sender's own (signature checking is the clients' job). */
    if (hc_binding_decode(&b, m->data, m->data_len) < 0 || b.index != me->index || strcmp(b.meeting_id, mt->id) ||
        memcmp(b.uuid, mt->uuid, 16)) {
        r->st.ctrl_protocol_errors++;
        send_error(r, me->c, HC_ERR_PROTOCOL, "announcement does not match this member");
        return;
    }
    if (me->has_ivk && memcmp(me->ivk, b.ivk, 32)) {
        r->st.ctrl_protocol_errors++;
        send_error(r, me->c, HC_ERR_PROTOCOL, "announcement changes the identity key");
        return;
    }
    if (!me->first_announce.p && first_announce_allowed(r, me, &b) < 0) return;
    memcpy(me->ivk, b.ivk, 32);
    me->has_ivk = 1;
    /* Re-encode with the length prefix: the board keeps whole frames. */
    uint8_t *fr = r->scratch;
    size_t flen = 4 + len;
    hc_put_u32(fr, (uint32_t)len);
    memcpy(fr + 4, body, len);
    if ((r->cfg.attack == HC_ATTACK_SWAP_KEY || r->cfg.attack == HC_ATTACK_RENAME) && me != mt->leader) {
        uint8_t tmp[HC_BINDING_MAX + 128];
        size_t tl = tamper_announce(r, m, tmp, sizeof tmp);
        if (tl) { memcpy(fr, tmp, tl); flen = tl; }
    }
    int first = me->first_announce.p == NULL;
    if (first) frame_set(&me->first_announce, fr, flen);
    frame_set(&me->last_announce, fr, flen);
    if (is_fake_victim(mt, me)) {
        if (first) {
            for (size_t i = 0; i < mt->n; i++)
                if (mt->members[i] != me && mt->members[i] != mt->leader) send_frame(r, mt->members[i]->c, fr, flen);
            fake_admit(r, mt, &b);
        }
        return;
    }
    if (first) {
        rotation_sent(r, me);
        broadcast(r, mt, me, fr, flen);
        return;
    }
    r->st.announce_rotations++;
    if (!leader_of(mt, me) || leader_of(mt, me) == me) return;
    /* Nonce rotations matter only to the leader, which seals the next key box with the newest. A
     * member rotates at most once per HC_NONCE_ROTATE_MIN_MS, so one rotation per that period,
     * the newest, is all the leader needs: a stream of them is held back and only the last goes
     * (when its turn comes), so however fast a member re-announces, the leader verifies one of its
     * announcements per period. */
    if (rotation_due(r, me)) {
        rotation_forward(r, mt, me);
    } else if (!me->rot_held) {
        me->rot_held = 1;
        mt->n_rot_held++;
    }
}

/* A part of the leader's whole roster (PROTOCOL.md §5.1, §11.5). Parts come in order on the
 * leader's connection; once all are in, the roster is the board's pending one until a heartbeat
 * of its version certifies it. A part out of order drops what was gathered: a leader that sends
 * garbage gets no board roster, and members that need a copy wait for the next one. */
static void roster_part_in(hc_relay *r, meeting *mt, const hc_msg *m, const uint8_t *fr, size_t flen) {
    rparts *b = &mt->roster_build;
    if (m->offset == 0) {
        rparts_clear(b);
        if (m->data_len < 4) { r->st.ctrl_protocol_errors++; return; }
        b->v = hc_get_u32(m->data);
        b->total = m->value;
    } else if (!b->n || m->offset != b->got || m->value != b->total || b->n == ROSTER_PARTS_MAX) {
        rparts_clear(b);
        r->st.ctrl_protocol_errors++;
        return;
    }
    frame_set(&b->part[b->n], fr, flen);
    if (!b->part[b->n].p) { rparts_clear(b); return; }
    b->n++;
    b->got += m->data_len;
    if (b->got == b->total) rparts_move(&mt->roster_pending, b);
}

/* Attack modes: a frame for c sent at due_ms instead of now. Kept in order (appended), so frames
 * held for one connection arrive in the order they were sent. */
static void hold_frame(hc_relay *r, conn *c, const uint8_t *fr, size_t flen, uint64_t due_ms) {
    held *h = calloc(1, sizeof *h);
    if (!h) return;
    frame_set(&h->f, fr, flen);
    h->conn = c->id;
    h->due_ms = due_ms;
    held **pp = &r->held;
    while (*pp) pp = &(*pp)->next;
    *pp = h;
}

static void deliver_box(hc_relay *r, member *to, const uint8_t *fr, size_t flen) {
    meeting *mt = to->mt;
    r->st.keyboxes_routed++;
    if (r->cfg.attack == HC_ATTACK_WITHHOLD_KEYBOX && to != mt->leader) {
        hold_frame(r, to->c, fr, flen, r->now_ms + r->cfg.attack_hold_ms);
        return;
    }
    send_frame(r, to->c, fr, flen);
    if (r->cfg.attack == HC_ATTACK_ROLLBACK_KEY) {
        if (to->last_box.p) send_frame(r, to->c, to->last_box.p, to->last_box.len);
        frame_set(&to->last_box, fr, flen);
    }
}

/* split-leader attack: once at least 4 members are in the certified roster and a heartbeat has
 * certified a key made after that (everyone holds it), the earliest joiner after the leader is
 * named leader to itself and every second member after it in join order; from then on each side
 * gets only its own leader's lists, heartbeats and boxes (media and chat still reach everyone).
 * The real leader never leaves. */
static void split_maybe(hc_relay *r, meeting *mt, uint32_t hb_epoch) {
    if (mt->split_done || mt->n < 4) return;
    if (!mt->split_armed || hb_epoch <= mt->split_arm_epoch) {
        hc_roster *ro = board_roster(mt);
        size_t listed = 0;
        for (size_t i = 0; ro && i < mt->n; i++) listed += hc_roster_find(ro, mt->members[i]->index) != NULL;
        board_roster_free(ro);
        if (listed == mt->n && !mt->split_armed) {
            mt->split_armed = 1;
            mt->split_arm_epoch = hb_epoch;
        }
        return;
    }
    mt->split_done = 1;
    size_t k = 0;
    for (size_t i = 0; i < mt->n; i++) {
        member *x = mt->members[i];
        if (x == mt->leader) continue;
        x->split_side = k++ % 2 == 0;
        if (x->split_side && !mt->split_leader) mt->split_leader = x;
    }
    hc_msg lm;
    hc_msg_init(&lm, HC_MSG_LEADER);
    lm.index = mt->split_leader->index;
    size_t n = hc_msg_encode(&lm, r->scratch, sizeof r->scratch);
    for (size_t i = 0; i < mt->n; i++)
        if (mt->members[i]->split_side) send_frame(r, mt->members[i]->c, r->scratch, n);
    /* its side's newest nonces, as after a real leader change */
    for (size_t i = 0; i < mt->n; i++) {
        member *x = mt->members[i];
        if (x->split_side && x != mt->split_leader && x->last_announce.p)
            send_frame(r, mt->split_leader->c, x->last_announce.p, x->last_announce.len);
    }
}

static void on_video_ctrl(hc_relay *r, member *m, const hc_msg *v, uint64_t now);
static void video_tick(hc_relay *r, meeting *mt, uint64_t now);

static int require_leader(hc_relay *r, member *me) {
    if (me->mt->leader == me || me->mt->split_leader == me) return 1;
    r->st.ctrl_protocol_errors++;
    send_error(r, me->c, HC_ERR_NOT_LEADER, "only the meeting leader may do that");
    return 0;
}

static void handle_in_meeting(hc_relay *r, conn *c, const hc_msg *m, const uint8_t *body, size_t len) {
    member *me = c->m;
    meeting *mt = me->mt;
    hc_msg o;
    switch (m->type) {
    case HC_MSG_ANNOUNCE:
        handle_announce(r, me, m, body, len);
        break;
    case HC_MSG_KEYBOX: {
        member *to = find_member(mt, m->index);
        if (is_fake_victim(mt, to)) break;  /* impostor's victim: drop real boxes */
        if (!require_leader(r, me)) break;
        if (!to || to == me || leader_of(mt, to) != me) break;   /* split-leader: each side its own */
        o = *m;
        o.index = me->index;
        size_t n = hc_msg_encode(&o, r->scratch, sizeof r->scratch);
        if (n) deliver_box(r, to, r->scratch, n);
        break;
    }
    case HC_MSG_KEYACK:
        if (is_fake_victim(mt, me)) {     /* the impostor certifies its own epoch */
            fake_send_heartbeat(r, mt);
            break;
        }
        if (!leader_of(mt, me) || leader_of(mt, me) == me) break;
        o = *m;
        o.index = me->index;
        send_msg(r, leader_of(mt, me)->c, &o);
        break;
    case HC_MSG_ROSTER:
    case HC_MSG_ROSTER_DELTA:
    case HC_MSG_HEARTBEAT: {
        if (!require_leader(r, me)) break;
        uint8_t *fr = r->scratch;
        hc_put_u32(fr, (uint32_t)len);
        memcpy(fr + 4, body, len);
        size_t flen = len + 4;
        if (me == mt->split_leader) {     /* split-leader: the second leader's side only, no board */
            for (size_t i = 0; i < mt->n; i++)
                if (mt->members[i] != me && mt->members[i]->split_side) send_frame(r, mt->members[i]->c, fr, flen);
            break;
        }
        if (m->type == HC_MSG_ROSTER) {
            /* The whole roster is for the board: members get the leader's deltas, and the whole
             * list only when they join or when their copy does not hash to what a heartbeat
             * certified (ROSTER_GET). Sending it to everyone on every change was O(N^2). */
            roster_part_in(r, mt, m, fr, flen);
            break;
        }
        if (m->type == HC_MSG_ROSTER_DELTA) {
            r->st.roster_deltas++;
        } else {
            /* The board keeps a roster only together with the heartbeat that certifies it, so a
             * late joiner never gets a new list with an old heartbeat. */
            if (rparts_complete(&mt->roster_pending) && mt->roster_pending.v == m->hb.v)
                rparts_move(&mt->roster, &mt->roster_pending);
            /* The leader is alive; its pace is read from its own signed timestamps, as members do. */
            if (mt->hb_ts && m->hb.ts_ms > mt->hb_ts) {
                uint64_t step = m->hb.ts_ms - mt->hb_ts;
                if (step > HB_PACE_MAX_MS) step = HB_PACE_MAX_MS;
                if (step > mt->hb_pace_ms) mt->hb_pace_ms = step;
            }
            if (m->hb.ts_ms > mt->hb_ts) mt->hb_ts = m->hb.ts_ms;
            mt->hb_rx_ms = r->now_ms;
            mt->probe_sent_ms = 0;
            frame_set(&mt->heartbeat, fr, flen);
            mt->heartbeats++;
            if (!mt->first_heartbeat.p) frame_set(&mt->first_heartbeat, fr, flen);
            if (r->cfg.attack == HC_ATTACK_DROP_HEARTBEATS && mt->heartbeats > r->cfg.attack_after) break;
        }
        if (r->cfg.attack == HC_ATTACK_LAG_HEARTBEATS && !mt->lag_victim)
            for (size_t i = 0; i < mt->n && !mt->lag_victim; i++)
                if (mt->members[i] != me) mt->lag_victim = mt->members[i];   /* the earliest joiner */
        for (size_t i = 0; i < mt->n; i++) {
            member *t = mt->members[i];
            if (t == me || is_fake_victim(mt, t) || leader_of(mt, t) != me) continue;
            if (t == mt->lag_victim) {
                /* Half the leader's interval more with every heartbeat: each arrives a little
                 * later, and no gap between two comes near the members' miss limit. */
                if (m->type == HC_MSG_HEARTBEAT) mt->lag_ms += (mt->hb_pace_ms ? mt->hb_pace_ms : LEADER_PROBE_MIN_MS) / 2;
                hold_frame(r, t->c, fr, flen, r->now_ms + mt->lag_ms);
                continue;
            }
            send_frame(r, t->c, fr, flen);
            if (m->type == HC_MSG_HEARTBEAT && r->cfg.attack == HC_ATTACK_REPLAY_HEARTBEAT &&
                mt->heartbeats > r->cfg.attack_after && mt->first_heartbeat.p)
                send_frame(r, t->c, mt->first_heartbeat.p, mt->first_heartbeat.len);
        }
        if (m->type == HC_MSG_HEARTBEAT && r->cfg.attack == HC_ATTACK_SPLIT_LEADER) split_maybe(r, mt, m->hb.epoch);
        break;
    }
    case HC_MSG_ROSTER_GET:
        /* A member whose copy of the roster does not hash to what a heartbeat certified (it
         * joined between a delta and its heartbeat, or the relay garbled a delta): the board's
         * certified roster, the one its heartbeat came with. Each version goes to a member once,
         * so asking again costs the relay nothing; the impostor's victim and the second leader's
         * side follow rosters the board does not keep. */
        r->st.roster_gets++;
        if (me == mt->leader || is_fake_victim(mt, me) || leader_of(mt, me) != mt->leader ||
            !rparts_complete(&mt->roster) || mt->roster.v < m->value || mt->roster.v <= me->roster_sent_v)
            break;
        me->roster_sent_v = mt->roster.v;
        r->st.roster_copies++;
        send_rparts(r, me->c, &mt->roster);
        break;
    case HC_MSG_LEAVE:
        remove_member(r, me, m->flag <= HC_LEFT_IDLE ? m->flag : HC_LEFT_NORMAL);
        break;
    case HC_MSG_KICK:
    case HC_MSG_DENY: {
        if (!require_leader(r, me)) break;
        member *t = find_member(mt, m->index);
        if (!t || t == me) break;
        int kick = m->type == HC_MSG_KICK;
        conn *tc = t->c;
        send_error(r, tc, kick ? HC_ERR_KICKED : HC_ERR_DENIED,
                   kick ? "you were removed from the meeting by its leader" : "the leader did not admit you");
        remove_member(r, t, kick ? HC_LEFT_KICKED : HC_LEFT_DENIED);
        close_conn(r, tc);
        break;
    }
    case HC_MSG_LOCK:
        if (!require_leader(r, me)) break;
        mt->locked = m->flag;
        free(mt->lock_ivks);
        mt->lock_ivks = NULL;
        mt->n_lock_ivks = 0;
        if (mt->locked && (mt->lock_ivks = calloc(mt->n, 32))) {
            for (size_t i = 0; i < mt->n; i++)
                if (mt->members[i]->has_ivk) memcpy(mt->lock_ivks[mt->n_lock_ivks++], mt->members[i]->ivk, 32);
        }
        broadcast_msg(r, mt, me, m);
        break;
    case HC_MSG_CHAT:
        o = *m;
        o.index = me->index;
        broadcast_msg(r, mt, me, &o);
        break;
    case HC_MSG_VIDEO:
        on_video_ctrl(r, me, m, r->now_ms);
        break;
    case HC_MSG_END: {
        if (!require_leader(r, me)) break;
        /* Everyone else is told and disconnected; the meeting is gone when the last leaves. */
        while (mt->n > 1) {
            member *t = mt->members[mt->members[0] == me ? 1 : 0];
            conn *tc = t->c;
            send_error(r, tc, HC_ERR_ENDED, "the leader ended the meeting");
            remove_member(r, t, HC_LEFT_ENDED);
            close_conn(r, tc);
        }
        remove_member(r, me, HC_LEFT_ENDED);
        break;
    }
    default:
        r->st.ctrl_protocol_errors++;
        send_error(r, c, HC_ERR_PROTOCOL, "unexpected message");
        break;
    }
}

/* A member other than the leader pays for every control frame it sends out of its budget; one
 * that spends faster than the budget refills is flooding (no participant sends that much) and is
 * disconnected, before its frames can pile up in anyone else's send queue (PROTOCOL.md §11.3).
 * Returns 0 when the frame may be handled. */
static int ctrl_budget(hc_relay *r, conn *c, size_t len) {
    if (!c->m || c->m->mt->leader == c->m || !r->cfg.member_ctrl_rate) return 0;
    double cost = len + 4 < HC_RELAY_FRAME_COST_MIN ? HC_RELAY_FRAME_COST_MIN : (double)(len + 4);
    if (bucket_spend(&c->ctrl, r->cfg.member_ctrl_rate, r->cfg.member_ctrl_burst, cost, r->now_ms)) return 0;
    r->st.ctrl_flood_closed++;
    send_error(r, c, HC_ERR_RATE_LIMITED, "you sent control messages far faster than a participant does: disconnected");
    remove_member(r, c->m, HC_LEFT_CONNECTION_LOST);
    close_conn(r, c);
    return -1;
}

void hc_relay_on_frame(hc_relay *r, uint64_t id, const uint8_t *body, size_t len, uint64_t now_ms) {
    r->now_ms = now_ms;
    conn *c = get_conn(r, id);
    if (!c || c->closing) return;
    c->last_rx_ms = now_ms;
    r->st.ctrl_in++;
    if (ctrl_budget(r, c, len) < 0) return;
    hc_msg m;
    hc_wire_err e;
    if (hc_msg_decode(&m, body, len, &e) < 0) {
        r->st.ctrl_errors[e]++;
        static const char *const why[HC_WERR_COUNT] = {
            [HC_WERR_TRUNCATED] = "malformed frame: a field runs past the end",
            [HC_WERR_TOO_LARGE] = "frame too large",
            [HC_WERR_BAD_VERSION] = "unsupported protocol version (this relay speaks version 1)",
            [HC_WERR_UNKNOWN_TYPE] = "unknown message type",
            [HC_WERR_BAD_FIELD] = "malformed frame: a field has a bad length or value",
            [HC_WERR_TRAILING] = "malformed frame: bytes after the last field",
        };
        uint16_t code = e == HC_WERR_BAD_VERSION ? HC_ERR_BAD_VERSION
                        : e == HC_WERR_UNKNOWN_TYPE ? HC_ERR_UNKNOWN_TYPE : HC_ERR_MALFORMED;
        send_error(r, c, code, why[e] ? why[e] : "malformed frame");
        close_conn(r, c);
        return;
    }
    switch (m.type) {
    case HC_MSG_PING: {
        hc_msg p;
        hc_msg_init(&p, HC_MSG_PONG);
        p.opaque = m.opaque;
        send_msg(r, c, &p);
        return;
    }
    case HC_MSG_PONG:
        /* The answer to our probe of a silent leader: it is alive, so its heartbeat interval is at
         * least the silence we saw (the pace from timestamps can start too short: the first
         * heartbeats of a meeting come in bursts, after every roster). */
        if (c->m && c->m->mt->leader == c->m && c->m->mt->probe_sent_ms && m.opaque == c->m->mt->probe_opaque) {
            meeting *mt = c->m->mt;
            uint64_t quiet = now_ms - mt->hb_rx_ms;
            if (quiet > HB_PACE_MAX_MS) quiet = HB_PACE_MAX_MS;
            if (quiet > mt->hb_pace_ms) mt->hb_pace_ms = quiet;
            mt->probe_sent_ms = 0;
        }
        return;
    case HC_MSG_CREATE:
    case HC_MSG_JOIN:
    case HC_MSG_RESUME:
        /* A cluster node looks the meeting up first; it may be served by another node. */
        if (!c->m && r->io.join_hook && r->io.join_hook(r->io.ctx, id, &m)) return;
        handle_create_join(r, c, &m);
        return;
    case HC_MSG_JOINED: case HC_MSG_ERROR: case HC_MSG_LEADER: case HC_MSG_MEMBER_JOINED:
    case HC_MSG_MEMBER_LEFT: case HC_MSG_MEDIA_READY: case HC_MSG_LOCKED_OUT:
        r->st.ctrl_protocol_errors++;
        send_error(r, c, HC_ERR_PROTOCOL, "that message only travels from the relay to clients");
        return;
    default:
        if (!c->m) {
            r->st.ctrl_protocol_errors++;
            send_error(r, c, HC_ERR_PROTOCOL, "join or create a meeting first");
            return;
        }
        handle_in_meeting(r, c, &m, body, len);
    }
}

/* ---- connections ---- */

hc_relay *hc_relay_new(const hc_relay_config *cfg, const hc_relay_io *io) {
    hc_relay *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    r->cfg = *cfg;
    if (!r->cfg.max_frame) r->cfg.max_frame = HC_FRAME_MAX_DEFAULT;
    /* A meeting's every member fits the roster (and its JOINED list, one frame). */
    if (r->cfg.max_members > HC_ROSTER_MAX_ENTRIES) r->cfg.max_members = HC_ROSTER_MAX_ENTRIES;
    if (r->cfg.forward_loudest > HC_LOUDEST_MAX) r->cfg.forward_loudest = HC_LOUDEST_MAX;
    if (r->cfg.video_last_n > VIDEO_LAST_N_MAX) r->cfg.video_last_n = VIDEO_LAST_N_MAX;
    /* A burst must hold any frame a participant sends (a chat line is about 1 KiB). */
    if (r->cfg.member_ctrl_burst < CTRL_BURST_MIN) r->cfg.member_ctrl_burst = CTRL_BURST_MIN;
    r->io = *io;
    if (hc_hmap_init(&r->conns) || hc_hmap_init(&r->meetings) || hc_hmap_init(&r->tokens) ||
        hc_hmap_init(&r->endpoints) || hc_hmap_init(&r->addrs)) {
        hc_relay_free(r);
        return NULL;
    }
    return r;
}

int hc_relay_on_connect(hc_relay *r, uint64_t id, const struct sockaddr *addr, uint64_t now_ms) {
    r->now_ms = now_ms;
    conn *c = calloc(1, sizeof *c);
    if (!c) return -1;
    c->id = id;
    c->last_rx_ms = now_ms;
    hc_frame_reader_init(&c->rd, r->cfg.max_frame);
    c->addrkey_len = addr_key(c->addrkey, addr, 0);
    addr_slot *a = hc_hmap_get(&r->addrs, c->addrkey, c->addrkey_len);
    if (!a) {
        a = calloc(1, sizeof *a);
        if (!a || hc_hmap_put(&r->addrs, c->addrkey, c->addrkey_len, a) < 0) {
            free(a);
            hc_frame_reader_free(&c->rd);
            free(c);
            return -1;
        }
    }
    c->as = a;
    hc_hmap_put(&r->conns, &id, sizeof id, c);
    r->st.connections++;
    conn_set_unjoined(r, c);   /* may close the address's oldest unjoined connection, never this one */
    return 0;
}

void hc_relay_on_bytes(hc_relay *r, uint64_t id, const uint8_t *data, size_t len, uint64_t now_ms) {
    conn *c = get_conn(r, id);
    while (c && !c->closing && len) {
        long took = hc_frame_reader_push(&c->rd, data, len);
        if (took < 0) break;
        data += took;
        len -= (size_t)took;
        const uint8_t *body;
        size_t blen;
        int k;
        while ((k = hc_frame_reader_next(&c->rd, &body, &blen)) == 1) {
            hc_relay_on_frame(r, id, body, blen, now_ms);
            if (!(c = get_conn(r, id)) || c->closing) return;
        }
        if (k < 0) break;
    }
    if (c && !c->closing && c->rd.err) {
        r->st.ctrl_errors[HC_WERR_TOO_LARGE]++;
        send_error(r, c, HC_ERR_TOO_LARGE, "frame larger than this relay accepts");
        close_conn(r, c);
    }
}

static void conn_free(hc_relay *r, conn *c) {
    hc_hmap_del(&r->conns, &c->id, sizeof c->id);
    if (c->as) {
        if (c->counted_joined) c->as->joined--;
        else unjoined_unlink(c);
        c->counted_joined = 0;
        addr_slot_maybe_free(r, c->addrkey, c->addrkey_len, c->as);
        c->as = NULL;
    }
    hc_frame_reader_free(&c->rd);
    free(c);
    r->st.connections--;
}

void hc_relay_on_disconnect(hc_relay *r, uint64_t id, uint64_t now_ms) {
    r->now_ms = now_ms;
    conn *c = get_conn(r, id);
    if (!c) return;
    if (c->m) remove_member(r, c->m, HC_LEFT_CONNECTION_LOST);
    conn_free(r, c);
}

void hc_relay_on_backlog(hc_relay *r, uint64_t id, uint64_t now_ms) {
    r->now_ms = now_ms;
    conn *c = get_conn(r, id);
    if (!c || c->closing) return;
    r->st.ctrl_disconnects_backlog++;
    if (c->m) remove_member(r, c->m, HC_LEFT_CONNECTION_LOST);
    close_conn(r, c);
}

void hc_relay_tick(hc_relay *r, uint64_t now_ms) {
    r->now_ms = now_ms;
    /* Held frames (withhold-keybox) whose time has come. */
    for (held **pp = &r->held; *pp;) {
        held *h = *pp;
        if (h->due_ms > now_ms) { pp = &h->next; continue; }
        *pp = h->next;
        conn *c = get_conn(r, h->conn);
        if (c) send_frame(r, c, h->f.p, h->f.len);
        frame_clear(&h->f);
        free(h);
    }
    hc_hmap_slot *vs;
    for (size_t i = 0; (vs = hc_hmap_next(&r->meetings, &i));) {
        video_tick(r, vs->val, now_ms);
        rotations_release(r, vs->val);
    }
    /* A tick this late means the relay itself was stopped (SIGSTOP, a swapped-out VM): what it did
     * not hear meanwhile says nothing about its members, so silence counts from now. */
    int stalled = r->last_tick_ms && now_ms - r->last_tick_ms > RELAY_STALL_MS;
    if (stalled) r->resume_ms = now_ms;
    r->last_tick_ms = now_ms;
    /* Silent leaders: a leader that stopped heartbeating (a frozen process, a closed lid) would
     * otherwise hold the meeting until every member times out. After LEADER_PROBE_BEATS of its
     * intervals without a heartbeat the relay PINGs it; no PONG within one more interval (at
     * least 1 s, time for a loaded leader to answer) and it is gone, well inside the members'
     * miss limit (5 intervals by default), so the next member takes over and rekeys. The PING
     * keeps a live leader whose pace we underestimated. */
    uint64_t silent[64];
    size_t n_silent = 0;
    hc_hmap_slot *s;
    for (size_t i = 0; r->cfg.idle_timeout_ms && n_silent < 64 && (s = hc_hmap_next(&r->meetings, &i));) {
        meeting *mt = s->val;
        if (!mt->leader || !mt->leader->c || mt->leader->c->closing) continue;
        if (stalled) mt->probe_sent_ms = 0;
        uint64_t beat = mt->hb_pace_ms > LEADER_PROBE_MIN_MS ? mt->hb_pace_ms : LEADER_PROBE_MIN_MS;
        if (mt->probe_sent_ms) {
            uint64_t wait = beat > LEADER_PONG_MIN_MS ? beat : LEADER_PONG_MIN_MS;
            if (now_ms - mt->probe_sent_ms > wait) silent[n_silent++] = mt->leader->c->id;
            continue;
        }
        uint64_t since = mt->hb_rx_ms > r->resume_ms ? mt->hb_rx_ms : r->resume_ms;
        if (now_ms - since > LEADER_PROBE_BEATS * beat) {
            hc_msg p;
            hc_msg_init(&p, HC_MSG_PING);
            randombytes_buf(&mt->probe_opaque, sizeof mt->probe_opaque);
            p.opaque = mt->probe_opaque;
            mt->probe_sent_ms = now_ms;
            r->st.leader_probes++;
            send_msg(r, mt->leader->c, &p);
        }
    }
    for (size_t i = 0; i < n_silent; i++) {
        conn *c = get_conn(r, silent[i]);
        if (!c || !c->m) continue;
        r->st.leader_silent++;
        send_error(r, c, HC_ERR_IDLE, "no heartbeat from you for too long: the meeting went on with another leader");
        remove_member(r, c->m, HC_LEFT_IDLE);
        close_conn(r, c);
    }
    /* Silent members, connections that never joined, and fake-leader heartbeats. Collect first:
     * closing mutates the map. */
    uint64_t idle[64];
    int idle_joined[64];
    size_t n_idle = 0;
    for (size_t i = 0; n_idle < 64 && (s = hc_hmap_next(&r->conns, &i));) {
        conn *c = s->val;
        if (!c->closing) {
            uint64_t heard = c->last_rx_ms > r->resume_ms ? c->last_rx_ms : r->resume_ms;
            uint64_t since = c->unjoined_since > r->resume_ms ? c->unjoined_since : r->resume_ms;
            if (c->m && r->cfg.idle_timeout_ms && now_ms - heard > r->cfg.idle_timeout_ms) {
                idle_joined[n_idle] = 1;
                idle[n_idle++] = c->id;
            } else if (!c->m && r->cfg.join_timeout_ms && now_ms - since > r->cfg.join_timeout_ms) {
                idle_joined[n_idle] = 0;
                idle[n_idle++] = c->id;
            }
        }
        if (c->m && c->m->mt->fake.active && c->m == c->m->mt->fake.victim && c->m->mt->fake.epoch &&
            now_ms >= c->m->mt->fake.next_hb_ms)
            fake_send_heartbeat(r, c->m->mt);
    }
    for (size_t i = 0; i < n_idle; i++) {
        conn *c = get_conn(r, idle[i]);
        if (!c) continue;
        if (idle_joined[i]) {
            r->st.idle_closed++;
            send_error(r, c, HC_ERR_IDLE, "nothing heard from you for too long");
            if (c->m) remove_member(r, c->m, HC_LEFT_IDLE);
        } else {
            r->st.join_timeouts++;
            send_error(r, c, HC_ERR_IDLE, "no CREATE or JOIN in time");
        }
        close_conn(r, c);
    }
    /* Address slots kept only for their JOIN bucket go once it has refilled. */
    if (now_ms >= r->next_addr_gc_ms) {
        r->next_addr_gc_ms = now_ms + ADDR_GC_MS;
        for (size_t i = 0; (s = hc_hmap_next(&r->addrs, &i));) {
            addr_slot *a = s->val;
            if (a->joined || a->unjoined || !bucket_full(&a->joins, r->cfg.join_rate_addr, now_ms)) continue;
            hc_hmap_del_slot(&r->addrs, s);
            free(a);
        }
    }
}

void hc_relay_shutdown(hc_relay *r) {
    hc_hmap_slot *s;
    for (size_t i = 0; (s = hc_hmap_next(&r->conns, &i));) {
        conn *c = s->val;
        send_error(r, c, HC_ERR_SHUTDOWN, "the relay is shutting down");
        close_conn(r, c);
    }
}

void hc_relay_free(hc_relay *r) {
    if (!r) return;
    hc_hmap_slot *s;
    for (size_t i = 0; (s = hc_hmap_next(&r->conns, &i));) {
        conn *c = s->val;
        if (c->m) {
            c->m->c = NULL;
            c->m = NULL;
        }
    }
    /* Free meetings (and their members) first, then connections. The last member out frees
     * its meeting, which removes only that meeting's entry: the iteration goes on. */
    for (size_t i = 0; (s = hc_hmap_next(&r->meetings, &i));) {
        meeting *mt = s->val;
        while (mt->n > 1) remove_member(r, mt->members[mt->n - 1], HC_LEFT_NORMAL);
        remove_member(r, mt->members[0], HC_LEFT_NORMAL);
    }
    for (size_t i = 0; (s = hc_hmap_next(&r->conns, &i));) {
        conn *c = s->val;
        hc_frame_reader_free(&c->rd);
        free(c);
    }
    while (r->held) {
        held *h = r->held;
        r->held = h->next;
        frame_clear(&h->f);
        free(h);
    }
    hc_hmap_free(&r->conns);
    hc_hmap_free(&r->meetings);
    hc_hmap_free(&r->tokens);
    hc_hmap_free(&r->endpoints);
    for (size_t i = 0; (s = hc_hmap_next(&r->addrs, &i));) free(s->val);
    hc_hmap_free(&r->addrs);
    free(r);
}

/* ---- media ---- */

static void media_register(hc_relay *r, member *m, const struct sockaddr *from, socklen_t fromlen) {
    uint8_t key[HC_HMAP_KEY_MAX];
    if ((size_t)fromlen > sizeof m->ep) return;
    size_t klen = addr_key(key, from, 1);
    if (m->epkey_len && (m->epkey_len != klen || memcmp(m->epkey, key, klen)) &&
        hc_hmap_get(&r->endpoints, m->epkey, m->epkey_len) == m)
        hc_hmap_del(&r->endpoints, m->epkey, m->epkey_len);
    /* One endpoint, one member: whoever registered it before no longer sends or receives there
     * (else its media would arrive twice at the same socket, and leaving would unregister us). */
    member *prev = hc_hmap_get(&r->endpoints, key, klen);
    if (prev && prev != m) {
        prev->eplen = 0;
        prev->epkey_len = 0;
    }
    memcpy(&m->ep, from, fromlen);
    m->eplen = fromlen;
    memcpy(m->epkey, key, klen);
    m->epkey_len = klen;
    hc_hmap_put(&r->endpoints, key, klen, m);
    /* A new receiver: its video gates (and the keyframe requests they cause) are set up at the
     * next chance, before the epoch that keys it comes into use, so the keyframe made for that
     * epoch passes its open gate at once. */
    m->mt->vset_next_ms = 0;
}

/* ---- video: last-N, pins, keyframe gates, merged keyframe requests ----
 *
 * Everyone gets the video of the N loudest members whose camera is on (the audio level tracker
 * above, smoothed; a sender already shown keeps its place unless another is clearly louder),
 * plus the one sender each receiver pins. For each (receiver, sender) pair the relay forwards
 * nothing until a keyframe starts, and asks the sender for one when a pair is new, so a picture
 * never starts mid-stream. A sender is told how many receive it (STATUS) so it can stop
 * encoding for nobody. All of this is availability: the relay sees flags and sizes, never a
 * picture, and lying about any of it can starve video, not read it. */

static void video_keyreq(hc_relay *r, member *s, int need_key, uint64_t now) {
    s->keyreq_pending |= (uint8_t)(1 | (need_key ? 2 : 0));
    if (!s->c || now - s->keyreq_sent_ms < KEYREQ_MERGE_MS) return;   /* merged: sent by the tick */
    hc_msg v;
    hc_msg_init(&v, HC_MSG_VIDEO);
    v.flag = HC_VOP_KEYREQ;
    v.value = (s->keyreq_pending & 2) ? 1 : 0;
    s->keyreq_pending = 0;
    s->keyreq_sent_ms = now;
    r->st.video_keyreq_out++;
    s->mt->vc.keyreq_out++;
    send_msg(r, s->c, &v);
}

static int gate_find(const member *d, uint32_t sender) {
    for (size_t g = 0; g < d->n_gates; g++)
        if (d->gate[g].sender == sender) return (int)g;
    return -1;
}

static int vset_has(const meeting *mt, const member *s) {
    for (size_t i = 0; i < mt->n_vset; i++)
        if (mt->vset[i] == s) return 1;
    return 0;
}

/* Chooses the last-N set, then each receiver's senders (closing gates of senders it no longer
 * gets, opening closed ones for new senders and asking those for a keyframe), then tells each
 * sender how many receive it. O(members * N). */
static void video_recompute(hc_relay *r, meeting *mt, uint64_t now) {
    mt->vset_next_ms = now + VIDEO_RECOMPUTE_MS;
    size_t k = r->cfg.video_last_n;
    member *pick[VIDEO_LAST_N_MAX];
    double score[VIDEO_LAST_N_MAX];
    size_t np = 0;
    for (size_t i = 0; i < mt->n; i++) {      /* join order: ties go to who came first */
        member *s = mt->members[i];
        s->in_vset = 0;
        if (!s->video_offer || !k) continue;
        double sc = hc_loud_now(&s->loud, now) + (vset_has(mt, s) ? VIDEO_STICKY : 0);
        if (np < k) { pick[np] = s; score[np++] = sc; continue; }
        size_t lo = 0;
        for (size_t j = 1; j < np; j++)
            if (score[j] < score[lo]) lo = j;
        if (sc > score[lo]) { pick[lo] = s; score[lo] = sc; }
    }
    mt->n_vset = np;
    for (size_t i = 0; i < np; i++) {
        mt->vset[i] = pick[i];
        pick[i]->in_vset = 1;
    }
    for (size_t i = 0; i < mt->n; i++) mt->members[i]->video_receivers_now = 0;
    for (size_t i = 0; i < mt->n; i++) {
        member *d = mt->members[i];
        uint32_t want[VGATE_MAX];
        size_t nw = 0;
        if (d->eplen) {
            for (size_t j = 0; j < mt->n_vset; j++)
                if (mt->vset[j] != d) want[nw++] = mt->vset[j]->index;
            if (d->pin && d->pin != d->index) {
                member *p = find_member(mt, d->pin);
                if (p && !p->in_vset) want[nw++] = p->index;
            }
        }
        /* keep the gates still wanted, in place; drop the others */
        size_t w = 0;
        for (size_t g = 0; g < d->n_gates; g++) {
            int keep = 0;
            for (size_t j = 0; j < nw; j++) keep |= want[j] == d->gate[g].sender;
            if (keep) d->gate[w++] = d->gate[g];
        }
        d->n_gates = w;
        for (size_t j = 0; j < nw; j++) {
            member *s = find_member(mt, want[j]);
            if (!s) continue;
            s->video_receivers_now++;
            if (gate_find(d, want[j]) >= 0 || d->n_gates == VGATE_MAX) continue;
            d->gate[d->n_gates].sender = want[j];
            d->gate[d->n_gates].open = 0;
            d->n_gates++;
            s->keyreq_new_pair = 1;
        }
    }
    /* One request per sender for all the pairs this choice opened: they are one event, and one
     * keyframe serves them all. Asking once per pair sent the first at once and left the others
     * owed, so every OFFER or set change with two or more new receivers cost a second keyframe
     * 500 ms later that nobody needed. */
    for (size_t i = 0; i < mt->n; i++) {
        member *s = mt->members[i];
        if (!s->keyreq_new_pair) continue;
        s->keyreq_new_pair = 0;
        video_keyreq(r, s, 1, now);
    }
    for (size_t i = 0; i < mt->n; i++) {
        member *s = mt->members[i];
        if (!s->c || (!s->video_offer && s->video_receivers == UINT32_MAX)) continue;
        uint32_t now_n = s->video_offer ? s->video_receivers_now : 0;
        if (now_n == s->video_receivers) continue;
        s->video_receivers = now_n;
        hc_msg v;
        hc_msg_init(&v, HC_MSG_VIDEO);
        v.flag = HC_VOP_STATUS;
        v.value = now_n;
        r->st.video_status_sent++;
        send_msg(r, s->c, &v);
    }
}

static size_t video_dests(hc_relay *r, meeting *mt, member *s, uint8_t flags, uint64_t now) {
    r->st.video_in++;
    mt->vc.in++;
    /* A camera turned on without OFFER (an old client): offer it. Only for a member that never
     * sent an OFFER: after an explicit OFFER 0 the datagrams still in flight (UDP overtakes or
     * trails the TCP frame) must not turn the camera back on in the relay's view, or a camera
     * that is off would keep a last-N place, and the receivers' gates, for good, and the sender
     * would be told it has receivers again. */
    if (!s->video_offer && !s->video_offer_sent) {
        s->video_offer = 1;
        mt->vset_next_ms = 0;
    }
    if (!mt->vset_next_ms || now >= mt->vset_next_ms) video_recompute(r, mt, now);
    if ((flags & 0x01) && (flags & 0x02)) { r->st.video_keyframes++; mt->vc.keyframes++; }
    if (flags & 0x04) { r->st.video_frames++; mt->vc.frames++; }
    size_t n = 0;
    int selected = 0;
    for (size_t i = 0; i < mt->n; i++) {
        member *d = mt->members[i];
        if (d == s || !d->eplen) continue;
        int g = gate_find(d, s->index);
        if (g < 0) continue;
        selected = 1;
        if (!d->gate[g].open) {
            if ((flags & 0x03) != 0x03) { r->st.video_drop_wait_key++; continue; }
            d->gate[g].open = 1;
        }
        mt->dests[n++] = &d->ep;
    }
    if (!selected) r->st.video_drop_not_selected++;
    r->st.video_out += n;
    mt->vc.out += n;
    return n;
}

static void on_video_ctrl(hc_relay *r, member *m, const hc_msg *v, uint64_t now) {
    meeting *mt = m->mt;
    switch (v->flag) {
    case HC_VOP_OFFER:
        if ((v->value != 0) != (m->video_offer != 0)) mt->vset_next_ms = 0;
        m->video_offer = v->value != 0;
        m->video_offer_sent = 1;
        if (!m->video_offer) m->keyreq_pending = 0;
        video_recompute(r, mt, now);
        return;
    case HC_VOP_PIN:
        m->pin = v->index == HC_VIDEO_UNPIN ? 0 : v->index;
        video_recompute(r, mt, now);
        return;
    case HC_VOP_KEYREQ: {
        member *s = find_member(mt, v->index);
        /* only for a sender whose video this member gets */
        if (!s || s == m || gate_find(m, v->index) < 0) { r->st.video_ctrl_ignored++; return; }
        r->st.video_keyreq_in++;
        mt->vc.keyreq_in++;
        video_keyreq(r, s, v->value != 0, now);
        return;
    }
    default:
        r->st.video_ctrl_ignored++;
        return;
    }
}

/* From the tick: merged keyframe requests whose window has passed; last-N chosen again. */
static void video_tick(hc_relay *r, meeting *mt, uint64_t now) {
    int any_video = 0;
    for (size_t i = 0; i < mt->n; i++) {
        member *s = mt->members[i];
        any_video |= s->video_offer;
        if (s->keyreq_pending && now - s->keyreq_sent_ms >= KEYREQ_MERGE_MS)
            video_keyreq(r, s, (s->keyreq_pending & 2) != 0, now);
    }
    if (any_video && (!mt->vset_next_ms || now >= mt->vset_next_ms)) video_recompute(r, mt, now);
}

static size_t media_route(hc_relay *r, member *s, const hc_media_info *mi, uint8_t *pkt, size_t len, uint64_t now_ms,
                          hc_media_route *route);

size_t hc_relay_on_media(hc_relay *r, const struct sockaddr *from, socklen_t fromlen,
                         uint8_t *pkt, size_t len, uint64_t now_ms, hc_media_route *route) {
    memset(route, 0, sizeof *route);
    r->st.media_in++;
    hc_media_info mi;
    if (hc_media_parse(&mi, pkt, len) < 0) { r->st.media_drop_malformed++; return 0; }
    if (mi.type == HC_MEDIA_REGISTER || mi.type == HC_MEDIA_KEEPALIVE) {
        member *m = hc_hmap_get(&r->tokens, mi.token, HC_TOKEN_LEN);
        if (!m) { r->st.media_drop_unregistered++; return 0; }
        media_register(r, m, from, fromlen);
        /* A member whose UDP keepalives arrive is alive even when its TCP connection is quiet
         * (a listener sends no control frames for minutes): the idle timeout must not drop it. */
        if (m->c) m->c->last_rx_ms = now_ms;
        if (mi.type == HC_MEDIA_REGISTER) {
            r->st.media_register++;
            route->reply_len = hc_media_control(r->reply, HC_MEDIA_REGISTERED, m->token);
            route->reply = r->reply;
            if (m->c) {
                hc_msg rm;
                hc_msg_init(&rm, HC_MSG_MEDIA_READY);
                send_msg(r, m->c, &rm);
            }
        }
        return 0;
    }
    if (mi.type != HC_MEDIA_AUDIO && mi.type != HC_MEDIA_VIDEO) { r->st.media_drop_malformed++; return 0; }
    uint8_t key[HC_HMAP_KEY_MAX];
    size_t klen = addr_key(key, from, 1);
    member *s = hc_hmap_get(&r->endpoints, key, klen);
    if (!s) { r->st.media_drop_unregistered++; return 0; }
    if (((mi.kid >> 8) & 0xFFFF) != (s->index & 0xFFFF)) { r->st.media_drop_spoofed++; return 0; }
    if (s->c) s->c->last_rx_ms = now_ms;   /* a talker is alive too */
    return media_route(r, s, &mi, pkt, len, now_ms, route);
}

size_t hc_relay_on_media_peer(hc_relay *r, const char *meeting_id, uint8_t *pkt, size_t len, uint64_t now_ms,
                              hc_media_route *route) {
    memset(route, 0, sizeof *route);
    r->st.media_in++;
    hc_media_info mi;
    if (hc_media_parse(&mi, pkt, len) < 0 || (mi.type != HC_MEDIA_AUDIO && mi.type != HC_MEDIA_VIDEO)) {
        r->st.media_drop_malformed++;
        return 0;
    }
    meeting *mt = hc_hmap_get(&r->meetings, meeting_id, strlen(meeting_id));
    member *s = mt ? find_member(mt, (uint32_t)((mi.kid >> 8) & 0xFFFF)) : NULL;
    if (!s) { r->st.media_drop_unregistered++; return 0; }
    return media_route(r, s, &mi, pkt, len, now_ms, route);
}

/* Where a datagram of member s goes: loudest-K, then the other members (audio) or the receivers
 * of its video; attack modes last. */
static size_t media_route(hc_relay *r, member *s, const hc_media_info *mi_, uint8_t *pkt, size_t len, uint64_t now_ms,
                          hc_media_route *route) {
    hc_media_info mi = *mi_;
    meeting *mt = s->mt;
    if (mi.type == HC_MEDIA_AUDIO) hc_loud_track(&s->loud, mi.level, now_ms);
    if (r->cfg.forward_loudest && mi.type == HC_MEDIA_AUDIO && !hc_loud_admit(&mt->top, r->cfg.forward_loudest, &s->loud, now_ms)) {
        r->st.media_drop_not_loudest++;
        return 0;
    }
    size_t n = 0;
    if (mi.type == HC_MEDIA_VIDEO) {
        n = video_dests(r, mt, s, mi.level, now_ms);
    } else {
        for (size_t i = 0; i < mt->n; i++) {
            member *d = mt->members[i];
            if (d != s && d->eplen) mt->dests[n++] = &d->ep;
        }
    }
    if (!n) return 0;
    s->forwarded++;
    /* Counted per sender, so every sender's stream is hit whatever the interleaving. */
    if (r->cfg.attack == HC_ATTACK_TAMPER_MEDIA && s->forwarded % TAMPER_MEDIA_EVERY == 0)
        pkt[len - 1 - (s->forwarded / TAMPER_MEDIA_EVERY) % 8] ^= 0x10;  /* a bit of the tag or ciphertext */
    if (r->cfg.attack == HC_ATTACK_REPLAY_MEDIA) {
        /* Replay a packet of the same sender, so the copies reach exactly its receivers. */
        if (mt->replay_len && mt->replay_sender == s->index && s->forwarded % REPLAY_MEDIA_EVERY == 0) {
            route->extra = mt->replay_buf;
            route->extra_len = mt->replay_len;
            mt->replay_len = 0;
        } else if (!mt->replay_len) {
            memcpy(mt->replay_buf, pkt, len);
            mt->replay_len = len;
            mt->replay_sender = s->index;
        }
    }
    route->dests = mt->dests;
    route->n_dests = n;
    route->meeting_id = mt->id;
    r->st.media_out += n + (route->extra ? n : 0);
    return n;
}

const hc_relay_stats *hc_relay_get_stats(const hc_relay *r) { return &r->st; }

const char *hc_relay_conn_meeting(const hc_relay *r, uint64_t id) {
    conn *c = get_conn(r, id);
    return c && c->m ? c->m->mt->id : "";
}

void hc_relay_next_meeting_id(hc_relay *r, const char *id) { snprintf(r->next_id, sizeof r->next_id, "%s", id); }

int hc_relay_has_meeting(const hc_relay *r, const char *id) {
    return hc_hmap_get(&r->meetings, id, strlen(id)) != NULL;
}

void hc_relay_evict_meeting(hc_relay *r, const char *id, uint16_t code, const char *text) {
    meeting *mt = hc_hmap_get(&r->meetings, id, strlen(id));
    /* Members leave when their connections are gone (hc_relay_on_disconnect), not here: the
     * meeting and its list stay whole while we go through it. */
    for (size_t i = 0; mt && i < mt->n; i++) {
        conn *c = mt->members[i]->c;
        if (!c || c->closing) continue;
        send_error(r, c, code, text);
        close_conn(r, c);
    }
}

int hc_relay_token_member(const hc_relay *r, const uint8_t token[HC_TOKEN_LEN], char meeting_id[HC_MEETING_ID_MAX + 1],
                          uint32_t *index) {
    const member *m = hc_hmap_get(&r->tokens, token, HC_TOKEN_LEN);
    if (!m) return 0;
    snprintf(meeting_id, HC_MEETING_ID_MAX + 1, "%s", m->mt->id);
    *index = m->index;
    return 1;
}

size_t hc_relay_video_meetings(const hc_relay *r, hc_relay_video_meeting *out, size_t max) {
    size_t n = 0;
    hc_hmap_slot *sl;
    for (size_t i = 0; max && (sl = hc_hmap_next(&r->meetings, &i));) {
        const meeting *mt = sl->val;
        if (!mt->vc.in && !mt->vc.keyreq_in) continue;
        hc_relay_video_meeting v;
        memset(&v, 0, sizeof v);
        snprintf(v.meeting_id, sizeof v.meeting_id, "%s", mt->id);
        v.members = (uint32_t)mt->n;
        for (size_t k = 0; k < mt->n; k++) v.cameras += mt->members[k]->video_offer ? 1u : 0u;
        v.in = mt->vc.in;
        v.out = mt->vc.out;
        v.frames = mt->vc.frames;
        v.keyframes = mt->vc.keyframes;
        v.keyreq_in = mt->vc.keyreq_in;
        v.keyreq_out = mt->vc.keyreq_out;
        /* keep the busiest: insertion into a list sorted by datagrams in, descending */
        size_t at = n < max ? n : max;
        while (at > 0 && out[at - 1].in < v.in) at--;
        if (at >= max) continue;
        size_t last = n < max ? n : max - 1;
        memmove(&out[at + 1], &out[at], (last - at) * sizeof *out);
        out[at] = v;
        if (n < max) n++;
    }
    return n;
}
