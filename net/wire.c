/* Control frame encoding and decoding (see net/wire.h for the layouts). */
#include "net/wire.h"

#include <stdlib.h>
#include <string.h>

#include "crypto/bytes.h"
#include "net/roster.h"

static const char *const type_names[] = {
    [HC_MSG_CREATE] = "CREATE", [HC_MSG_JOIN] = "JOIN", [HC_MSG_JOINED] = "JOINED",
    [HC_MSG_ERROR] = "ERROR", [HC_MSG_ANNOUNCE] = "ANNOUNCE", [HC_MSG_KEYBOX] = "KEYBOX",
    [HC_MSG_KEYACK] = "KEYACK", [HC_MSG_ROSTER] = "ROSTER", [HC_MSG_HEARTBEAT] = "HEARTBEAT",
    [HC_MSG_LEADER] = "LEADER", [HC_MSG_LEAVE] = "LEAVE", [HC_MSG_MEMBER_JOINED] = "MEMBER_JOINED",
    [HC_MSG_MEMBER_LEFT] = "MEMBER_LEFT", [HC_MSG_KICK] = "KICK", [HC_MSG_LOCK] = "LOCK",
    [HC_MSG_CHAT] = "CHAT", [HC_MSG_PING] = "PING", [HC_MSG_PONG] = "PONG", [HC_MSG_DENY] = "DENY",
    [HC_MSG_END] = "END", [HC_MSG_MEDIA_READY] = "MEDIA_READY", [HC_MSG_RESUME] = "RESUME", [HC_MSG_VIDEO] = "VIDEO",
    [HC_MSG_LOCKED_OUT] = "LOCKED_OUT", [HC_MSG_ROSTER_DELTA] = "ROSTER_DELTA", [HC_MSG_ROSTER_GET] = "ROSTER_GET",
};

const char *hc_msg_type_name(uint8_t type) {
    if (type == 0 || type > HC_MSG_TYPE_MAX) return "UNKNOWN";
    return type_names[type];
}

const char *hc_err_code_name(uint16_t code) {
    switch (code) {
    case HC_ERR_BAD_VERSION: return "bad_version";
    case HC_ERR_MALFORMED: return "malformed";
    case HC_ERR_NO_SUCH_MEETING: return "no_such_meeting";
    case HC_ERR_MEETING_FULL: return "meeting_full";
    case HC_ERR_LOCKED: return "locked";
    case HC_ERR_TOO_MANY_MEETINGS: return "too_many_meetings";
    case HC_ERR_NOT_LEADER: return "not_leader";
    case HC_ERR_KICKED: return "kicked";
    case HC_ERR_DENIED: return "denied";
    case HC_ERR_ENDED: return "ended";
    case HC_ERR_TOO_MANY_CONNECTIONS: return "too_many_connections";
    case HC_ERR_IDLE: return "idle";
    case HC_ERR_BACKLOG: return "backlog";
    case HC_ERR_TOO_LARGE: return "too_large";
    case HC_ERR_UNKNOWN_TYPE: return "unknown_type";
    case HC_ERR_PROTOCOL: return "protocol";
    case HC_ERR_SHUTDOWN: return "shutdown";
    case HC_ERR_INDEXES_EXHAUSTED: return "indexes_exhausted";
    case HC_ERR_RATE_LIMITED: return "rate_limited";
    case HC_ERR_EXISTS: return "exists";
    case HC_ERR_BAD_RESUME: return "bad_resume";
    default: return "unknown";
    }
}

const char *hc_wire_err_name(hc_wire_err e) {
    switch (e) {
    case HC_WERR_NONE: return "none";
    case HC_WERR_TRUNCATED: return "truncated";
    case HC_WERR_TOO_LARGE: return "too_large";
    case HC_WERR_BAD_VERSION: return "bad_version";
    case HC_WERR_UNKNOWN_TYPE: return "unknown_type";
    case HC_WERR_BAD_FIELD: return "bad_field";
    case HC_WERR_TRAILING: return "trailing";
    default: return "unknown";
    }
}

void hc_msg_init(hc_msg *m, uint8_t type) {
    memset(m, 0, sizeof *m);
    m->version = HC_WIRE_VERSION;
    m->type = type;
}

size_t hc_msg_roster_part(hc_msg *m, const uint8_t *enc, size_t total, size_t off) {
    hc_msg_init(m, HC_MSG_ROSTER);
    m->value = (uint32_t)total;
    m->offset = (uint32_t)off;
    m->data = enc + off;
    m->data_len = total - off < HC_ROSTER_CHUNK ? total - off : HC_ROSTER_CHUNK;
    return off + m->data_len;
}

size_t hc_msg_encoded_size(const hc_msg *m) {
    /* Fixed parts are small; the variable ones are bounded by their lengths. */
    return 4 + 2 + 256 + 2 * HC_NAME_MAX + m->data_len + m->data2_len + 4u * m->n_members;
}

size_t hc_msg_encode(const hc_msg *m, uint8_t *out, size_t cap) {
    hc_wr w = hc_wr_init(out, cap);
    hc_wr_u32(&w, 0); /* length, patched below */
    hc_wr_u8(&w, m->version);
    hc_wr_u8(&w, m->type);
    switch (m->type) {
    case HC_MSG_CREATE:
        hc_wr_lp(&w, m->name, strlen(m->name));
        hc_wr_u32(&w, m->caps);
        break;
    case HC_MSG_JOIN:
        hc_wr_lp(&w, m->meeting_id, strlen(m->meeting_id));
        hc_wr_lp(&w, m->name, strlen(m->name));
        hc_wr_u32(&w, m->caps);
        hc_wr_u8(&w, m->flag ? 1 : 0);
        if (m->flag) hc_wr_bytes(&w, m->ivk, 32);
        break;
    case HC_MSG_RESUME:
        hc_wr_lp(&w, m->meeting_id, strlen(m->meeting_id));
        hc_wr_lp(&w, m->name, strlen(m->name));
        hc_wr_u32(&w, m->caps);
        hc_wr_bytes(&w, m->ivk, 32);
        hc_wr_bytes(&w, m->uuid, HC_UUID_LEN);
        hc_wr_bytes(&w, m->sig, 64);
        break;
    case HC_MSG_JOINED:
        hc_wr_lp(&w, m->meeting_id, strlen(m->meeting_id));
        hc_wr_bytes(&w, m->uuid, HC_UUID_LEN);
        hc_wr_u32(&w, m->index);
        hc_wr_u32(&w, m->leader);
        hc_wr_bytes(&w, m->token, HC_TOKEN_LEN);
        hc_wr_u8(&w, m->flag);
        hc_wr_u16(&w, m->n_members);
        hc_wr_bytes(&w, m->members, 4u * m->n_members);
        break;
    case HC_MSG_ERROR:
        hc_wr_u16(&w, m->code);
        hc_wr_lp(&w, m->data, m->data_len > HC_ERROR_TEXT_MAX ? HC_ERROR_TEXT_MAX : m->data_len);
        break;
    case HC_MSG_ANNOUNCE:
        hc_wr_lp(&w, m->data, m->data_len);
        hc_wr_bytes(&w, m->sig, 64);
        break;
    case HC_MSG_KEYBOX:
        hc_wr_u32(&w, m->index);
        hc_wr_lp(&w, m->data, m->data_len);
        hc_wr_lp(&w, m->data2, m->data2_len);
        break;
    case HC_MSG_KEYACK:
        hc_wr_u32(&w, m->index);
        hc_wr_u32(&w, m->epoch);
        break;
    case HC_MSG_ROSTER:
        hc_wr_u32(&w, m->value);
        hc_wr_u32(&w, m->offset);
        hc_wr_lp(&w, m->data, m->data_len);
        break;
    case HC_MSG_ROSTER_DELTA:
        hc_wr_lp(&w, m->data, m->data_len);
        break;
    case HC_MSG_ROSTER_GET:
        hc_wr_u32(&w, m->value);
        break;
    case HC_MSG_HEARTBEAT:
        hc_wr_u32(&w, m->hb.v);
        hc_wr_u64(&w, m->hb.t);
        hc_wr_u32(&w, m->hb.epoch);
        hc_wr_u64(&w, m->hb.ts_ms);
        hc_wr_bytes(&w, m->hb.prev, 32);
        hc_wr_bytes(&w, m->hb.roster_hash, 32);
        hc_wr_bytes(&w, m->hb.sig, 64);
        break;
    case HC_MSG_LEADER:
    case HC_MSG_MEMBER_LEFT:
        hc_wr_u32(&w, m->index);
        hc_wr_u8(&w, m->flag);
        break;
    case HC_MSG_LEAVE:
    case HC_MSG_LOCK:
        hc_wr_u8(&w, m->flag);
        break;
    case HC_MSG_MEMBER_JOINED:
        hc_wr_u32(&w, m->index);
        hc_wr_lp(&w, m->name, strlen(m->name));
        break;
    case HC_MSG_LOCKED_OUT:
        hc_wr_u32(&w, m->value);
        hc_wr_lp(&w, m->name, strlen(m->name));
        break;
    case HC_MSG_KICK:
    case HC_MSG_DENY:
        hc_wr_u32(&w, m->index);
        break;
    case HC_MSG_VIDEO:
        hc_wr_u8(&w, m->flag);
        hc_wr_u32(&w, m->index);
        hc_wr_u32(&w, m->value);
        break;
    case HC_MSG_CHAT:
        hc_wr_u32(&w, m->index);
        hc_wr_lp(&w, m->data, m->data_len);
        break;
    case HC_MSG_PING:
    case HC_MSG_PONG:
        hc_wr_u64(&w, m->opaque);
        break;
    case HC_MSG_END:
    case HC_MSG_MEDIA_READY:
        break;
    default:
        return 0;
    }
    if (w.err) return 0;
    hc_put_u32(out, (uint32_t)(w.len - 4));
    return w.len;
}

/* Copies an lp() string field into a NUL-terminated buffer after validating it. */
static int rd_string(hc_rd *r, char *dst, size_t max, int (*valid)(const char *, size_t), int allow_empty) {
    size_t n;
    const uint8_t *p = hc_rd_lp(r, &n);
    if (!p) return -1;
    if (n > max || (!allow_empty && n == 0)) return -2;
    if (n && valid && !valid((const char *)p, n)) return -2;
    memcpy(dst, p, n);
    dst[n] = 0;
    return 0;
}

int hc_msg_decode(hc_msg *m, const uint8_t *body, size_t len, hc_wire_err *err) {
    hc_wire_err e = HC_WERR_NONE;
    memset(m, 0, sizeof *m);
    if (len < 2) { e = HC_WERR_TRUNCATED; goto fail; }
    m->version = body[0];
    m->type = body[1];
    if (m->version != HC_WIRE_VERSION) { e = HC_WERR_BAD_VERSION; goto fail; }
    if (m->type == 0 || m->type > HC_MSG_TYPE_MAX) { e = HC_WERR_UNKNOWN_TYPE; goto fail; }
    hc_rd r = hc_rd_init(body + 2, len - 2);
    int s = 0; /* result of string reads: -1 truncated, -2 bad field */
    switch (m->type) {
    case HC_MSG_CREATE:
        s = rd_string(&r, m->name, HC_NAME_MAX, hc_valid_name, 0);
        m->caps = hc_rd_u32(&r);
        break;
    case HC_MSG_JOIN:
        s = rd_string(&r, m->meeting_id, HC_MEETING_ID_MAX, hc_valid_meeting_id, 0);
        if (!s) s = rd_string(&r, m->name, HC_NAME_MAX, hc_valid_name, 0);
        m->caps = hc_rd_u32(&r);
        m->flag = hc_rd_u8(&r);
        if (!r.err && m->flag > 1) s = -2;
        if (m->flag == 1) hc_rd_copy(&r, m->ivk, 32);
        break;
    case HC_MSG_RESUME:
        s = rd_string(&r, m->meeting_id, HC_MEETING_ID_MAX, hc_valid_meeting_id, 0);
        if (!s) s = rd_string(&r, m->name, HC_NAME_MAX, hc_valid_name, 0);
        m->caps = hc_rd_u32(&r);
        hc_rd_copy(&r, m->ivk, 32);
        hc_rd_copy(&r, m->uuid, HC_UUID_LEN);
        hc_rd_copy(&r, m->sig, 64);
        break;
    case HC_MSG_JOINED:
        s = rd_string(&r, m->meeting_id, HC_MEETING_ID_MAX, hc_valid_meeting_id, 0);
        hc_rd_copy(&r, m->uuid, HC_UUID_LEN);
        m->index = hc_rd_u32(&r);
        m->leader = hc_rd_u32(&r);
        hc_rd_copy(&r, m->token, HC_TOKEN_LEN);
        m->flag = hc_rd_u8(&r);
        m->n_members = hc_rd_u16(&r);
        m->members = hc_rd_take(&r, 4u * m->n_members);
        if (!r.err && m->flag > 1) s = -2;
        break;
    case HC_MSG_ERROR:
        m->code = hc_rd_u16(&r);
        m->data = hc_rd_lp(&r, &m->data_len);
        if (!r.err && m->data_len > HC_ERROR_TEXT_MAX) s = -2;
        break;
    case HC_MSG_ANNOUNCE:
        m->data = hc_rd_lp(&r, &m->data_len);
        hc_rd_copy(&r, m->sig, 64);
        if (!r.err && (m->data_len == 0 || m->data_len > HC_BINDING_MAX)) s = -2;
        break;
    case HC_MSG_KEYBOX:
        m->index = hc_rd_u32(&r);
        m->data = hc_rd_lp(&r, &m->data_len);
        m->data2 = hc_rd_lp(&r, &m->data2_len);
        if (!r.err && (m->data_len == 0 || m->data_len > HC_META_MAX || m->data2_len != HC_BOX_LEN)) s = -2;
        break;
    case HC_MSG_KEYACK:
        m->index = hc_rd_u32(&r);
        m->epoch = hc_rd_u32(&r);
        break;
    case HC_MSG_ROSTER:
        /* a part of a roster no larger than any roster can be, inside it */
        m->value = hc_rd_u32(&r);
        m->offset = hc_rd_u32(&r);
        m->data = hc_rd_lp(&r, &m->data_len);
        if (!r.err && (m->data_len == 0 || m->value < HC_ROSTER_HDR_LEN || m->value > HC_ROSTER_ENC_MAX ||
                       m->offset >= m->value || m->data_len > m->value - m->offset))
            s = -2;
        break;
    case HC_MSG_ROSTER_DELTA:
        m->data = hc_rd_lp(&r, &m->data_len);
        if (!r.err && m->data_len < HC_ROSTER_DELTA_HDR_LEN) s = -2;
        break;
    case HC_MSG_ROSTER_GET:
        m->value = hc_rd_u32(&r);
        break;
    case HC_MSG_HEARTBEAT:
        m->hb.v = hc_rd_u32(&r);
        m->hb.t = hc_rd_u64(&r);
        m->hb.epoch = hc_rd_u32(&r);
        m->hb.ts_ms = hc_rd_u64(&r);
        hc_rd_copy(&r, m->hb.prev, 32);
        hc_rd_copy(&r, m->hb.roster_hash, 32);
        hc_rd_copy(&r, m->hb.sig, 64);
        break;
    case HC_MSG_LEADER:
    case HC_MSG_MEMBER_LEFT:
        m->index = hc_rd_u32(&r);
        m->flag = hc_rd_u8(&r);
        break;
    case HC_MSG_LEAVE:
        m->flag = hc_rd_u8(&r);
        break;
    case HC_MSG_LOCK:
        m->flag = hc_rd_u8(&r);
        if (!r.err && m->flag > 1) s = -2;
        break;
    case HC_MSG_MEMBER_JOINED:
        m->index = hc_rd_u32(&r);
        s = rd_string(&r, m->name, HC_NAME_MAX, hc_valid_name, 0);
        break;
    case HC_MSG_LOCKED_OUT:
        m->value = hc_rd_u32(&r);
        s = rd_string(&r, m->name, HC_NAME_MAX, hc_valid_name, 0);
        break;
    case HC_MSG_KICK:
    case HC_MSG_DENY:
        m->index = hc_rd_u32(&r);
        break;
    case HC_MSG_VIDEO:
        m->flag = hc_rd_u8(&r);
        m->index = hc_rd_u32(&r);
        m->value = hc_rd_u32(&r);
        if (!r.err && (m->flag == 0 || m->flag > HC_VOP_MAX)) s = -2;
        break;
    case HC_MSG_CHAT:
        m->index = hc_rd_u32(&r);
        m->data = hc_rd_lp(&r, &m->data_len);
        if (!r.err && m->data_len == 0) s = -2;
        break;
    case HC_MSG_PING:
    case HC_MSG_PONG:
        m->opaque = hc_rd_u64(&r);
        break;
    case HC_MSG_END:
    case HC_MSG_MEDIA_READY:
        break;
    }
    if (s == -1 || r.err) { e = HC_WERR_TRUNCATED; goto fail; }
    if (s == -2) { e = HC_WERR_BAD_FIELD; goto fail; }
    if (r.off != r.len) { e = HC_WERR_TRAILING; goto fail; }
    if (err) *err = HC_WERR_NONE;
    return 0;
fail:
    if (err) *err = e;
    return -1;
}

/* ---- stream reassembly ----
 *
 * The buffer holds at most one frame, the one being received: push takes bytes only up to its
 * end, so a read that carries many small frames never makes the buffer larger than the largest
 * of them. Its capacity follows the bytes actually received, never the length prefix: a peer
 * that announces 64 KiB and sends 33 KB (and then nothing until the idle timeout) costs 36 KiB,
 * not 64. Once the frame has been taken out and the buffer is empty, a buffer larger than
 * READER_KEEP is freed, so one large frame is not paid for during the rest of the connection. */

#define READER_MIN 1024u    /* below one step, in steps of this: most frames are a few hundred
                                bytes, and every connection holds a buffer of that size */
#define READER_STEP 4096u   /* capacity grows in steps of this (a page) */
#define READER_KEEP 4096u   /* an empty buffer up to this size is kept for the next frame */

void hc_frame_reader_init(hc_frame_reader *r, size_t max_frame) {
    memset(r, 0, sizeof *r);
    r->max_frame = max_frame ? max_frame : HC_FRAME_MAX_DEFAULT;
}

void hc_frame_reader_free(hc_frame_reader *r) {
    free(r->buf);
    memset(r, 0, sizeof *r);
}

/* Called when nothing is buffered (the previous frame's body is no longer valid). */
static void reader_release(hc_frame_reader *r) {
    if (r->cap > READER_KEEP) {
        free(r->buf);
        r->buf = NULL;
        r->cap = 0;
    }
}

/* Makes room for `want` bytes of a frame whose total (prefix included) is at most `bound`.
 * Steps of READER_STEP keep the slack under a page while frames are at most 64 KiB (the default
 * max_frame): a byte-by-byte sender costs one realloc per 4 KiB, not one per byte. Beyond that
 * (a raised --max-frame, up to 16 MiB) the slack also grows by 1/16 of what is buffered, so a
 * large frame is copied a bounded number of times per byte (linear, not quadratic, in its size)
 * while the memory stays within 1/16 + one step of what was received. */
static int reader_reserve(hc_frame_reader *r, size_t want, size_t bound) {
    if (want <= r->cap) return 0;
    size_t unit = want < READER_STEP ? READER_MIN : READER_STEP;
    size_t ncap = (want + unit - 1) / unit * unit;
    ncap += want / 16 / READER_STEP * READER_STEP;
    if (ncap > bound) ncap = bound;
    uint8_t *nb = realloc(r->buf, ncap);
    if (!nb) return -1;
    r->buf = nb;
    r->cap = ncap;
    return 0;
}

long hc_frame_reader_push(hc_frame_reader *r, const uint8_t *data, size_t len) {
    if (r->err) return -1;
    if (r->len == 0) reader_release(r);
    size_t taken = 0;
    if (r->len < 4) {
        /* the length prefix first: until it is known, only its own bytes are taken */
        size_t k = 4 - r->len;
        if (k > len) k = len;
        if (k == 0) return 0;
        if (reader_reserve(r, r->len + k, r->max_frame + 4) < 0) { r->err = HC_WERR_TOO_LARGE; return -1; }
        memcpy(r->buf + r->len, data, k);
        r->len += k;
        taken = k;
        if (r->len < 4) return (long)taken;
    }
    uint32_t flen = hc_get_u32(r->buf);
    if (flen > r->max_frame) {
        /* nothing of an oversized frame is buffered; next() reports it (the error is sticky) */
        r->err = HC_WERR_TOO_LARGE;
        return taken ? (long)taken : -1;
    }
    size_t total = 4 + (size_t)flen;
    size_t k = total - r->len;               /* what this frame still needs; 0 when complete */
    if (k > len - taken) k = len - taken;
    if (k) {
        if (reader_reserve(r, r->len + k, total) < 0) { r->err = HC_WERR_TOO_LARGE; return -1; }
        memcpy(r->buf + r->len, data + taken, k);
        r->len += k;
        taken += k;
    }
    return (long)taken;
}

int hc_frame_reader_next(hc_frame_reader *r, const uint8_t **body, size_t *len) {
    if (r->err) return -1;
    if (r->len == 0) reader_release(r);
    if (r->len < 4) return 0;
    uint32_t flen = hc_get_u32(r->buf);
    if (flen > r->max_frame) { r->err = HC_WERR_TOO_LARGE; return -1; }
    if (r->len - 4 < flen) return 0;
    *body = r->buf + 4;
    *len = flen;
    /* The buffer held only this frame: it is empty now. The body stays readable until the next
     * call, which may free or overwrite it. */
    r->len = 0;
    return 1;
}
