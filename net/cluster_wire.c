/* Codecs for what cluster nodes say to each other; see net/cluster_wire.h. */
#include "net/cluster_wire.h"

#include <netinet/in.h>
#include <sodium.h>
#include <string.h>

#include "crypto/bytes.h"

int hc_cl_name_ok(const char *s) {
    size_t n = strnlen(s, HC_CL_NAME_MAX + 1);
    if (n == 0 || n > HC_CL_NAME_MAX) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

static int meeting_ok(const char *s) {
    size_t n = strnlen(s, HC_MEETING_ID_MAX + 1);
    if (n == 0 || n > HC_MEETING_ID_MAX) return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9') return 0;
    return 1;
}

void hc_cl_msg_init(hc_cl_msg *m, uint8_t type) {
    memset(m, 0, sizeof *m);
    m->type = type;
}

static void wr_lp8(hc_wr *w, const char *s) {
    size_t n = strlen(s);
    if (n > 255) { w->err = 1; return; }
    hc_wr_u8(w, (uint8_t)n);
    hc_wr_bytes(w, s, n);
}

/* Reads lp8 into dst (cap includes the NUL); then the caller checks the content. */
static int rd_lp8(hc_rd *r, char *dst, size_t cap) {
    size_t n = hc_rd_u8(r);
    if (n >= cap) { r->err = 1; return -1; }
    if (hc_rd_copy(r, dst, n) < 0) return -1;
    dst[n] = 0;
    if (memchr(dst, 0, n)) { r->err = 1; return -1; }
    return 0;
}

size_t hc_cl_addr_put(uint8_t *out, const struct sockaddr_storage *a) {
    if (a->ss_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)a;
        out[0] = 6;
        memcpy(out + 1, &s6->sin6_addr, 16);
        memcpy(out + 17, &s6->sin6_port, 2);
        return 19;
    }
    if (a->ss_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)a;
        out[0] = 4;
        memcpy(out + 1, &s4->sin_addr, 4);
        memcpy(out + 5, &s4->sin_port, 2);
        return 7;
    }
    out[0] = 0;
    return 1;
}

static void wr_addr(hc_wr *w, const struct sockaddr_storage *a) {
    uint8_t b[19];
    size_t n = hc_cl_addr_put(b, a);
    hc_wr_bytes(w, b, n);
}

static int rd_addr(hc_rd *r, struct sockaddr_storage *a) {
    memset(a, 0, sizeof *a);
    uint8_t fam = hc_rd_u8(r);
    if (fam == 4) {
        struct sockaddr_in *s4 = (struct sockaddr_in *)a;
        s4->sin_family = AF_INET;
        if (hc_rd_copy(r, &s4->sin_addr, 4) < 0 || hc_rd_copy(r, &s4->sin_port, 2) < 0) return -1;
        return 0;
    }
    if (fam == 6) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)a;
        s6->sin6_family = AF_INET6;
        if (hc_rd_copy(r, &s6->sin6_addr, 16) < 0 || hc_rd_copy(r, &s6->sin6_port, 2) < 0) return -1;
        return 0;
    }
    r->err = 1;
    return -1;
}

size_t hc_cl_msg_size(const hc_cl_msg *m) {
    size_t n = 2 + 1 + HC_CL_NAME_MAX + 24 + 8 + 19 + 1 + HC_MEETING_ID_MAX + 1 + HC_TOKEN_LEN + 4 + 1 + HC_CL_NAME_MAX;
    n += 2 + 8 * (size_t)m->n_conns + 4 + m->data_len;
    n += 1 + (size_t)m->n_peers * (1 + HC_CL_NAME_MAX + 16);
    return n;
}

size_t hc_cl_msg_encode(const hc_cl_msg *m, uint8_t *out, size_t cap) {
    if (!hc_cl_name_ok(m->src)) return 0;
    hc_wr w = hc_wr_init(out, cap);
    hc_wr_u8(&w, HC_CL_VERSION);
    hc_wr_u8(&w, m->type);
    wr_lp8(&w, m->src);
    hc_wr_u64(&w, m->src_inc);
    hc_wr_u64(&w, m->dst_inc);
    hc_wr_u64(&w, m->seq);
    switch (m->type) {
    case HC_CL_OPEN:
        if (!meeting_ok(m->meeting)) return 0;
        hc_wr_u64(&w, m->conn);
        wr_addr(&w, &m->addr);
        wr_lp8(&w, m->meeting);
        break;
    case HC_CL_UP:
        if (!m->data_len || m->data_len > UINT32_MAX) return 0;
        hc_wr_u64(&w, m->conn);
        hc_wr_u32(&w, (uint32_t)m->data_len);
        hc_wr_bytes(&w, m->data, m->data_len);
        break;
    case HC_CL_DOWN:
        if (!m->n_conns || m->n_conns > HC_CL_DOWN_CONNS_MAX || m->data_len < 6 || m->data_len > UINT32_MAX) return 0;
        hc_wr_u16(&w, (uint16_t)m->n_conns);
        hc_wr_bytes(&w, m->conns, 8 * (size_t)m->n_conns);
        hc_wr_u32(&w, (uint32_t)m->data_len);
        hc_wr_bytes(&w, m->data, m->data_len);
        break;
    case HC_CL_CLOSE:
        hc_wr_u64(&w, m->conn);
        hc_wr_u8(&w, m->reason);
        break;
    case HC_CL_REG:
        if (!meeting_ok(m->meeting)) return 0;
        hc_wr_bytes(&w, m->token, HC_TOKEN_LEN);
        wr_lp8(&w, m->meeting);
        break;
    case HC_CL_DROP:
        if (!meeting_ok(m->meeting)) return 0;
        wr_lp8(&w, m->meeting);
        hc_wr_u32(&w, m->index);
        break;
    case HC_CL_PLAN:
        if (!meeting_ok(m->meeting) || m->n_peers > HC_CL_PEERS_MAX) return 0;
        wr_lp8(&w, m->meeting);
        hc_wr_u8(&w, (uint8_t)m->n_peers);
        for (uint32_t i = 0; i < m->n_peers; i++) {
            if (!hc_cl_name_ok(m->peers[i].node)) return 0;
            wr_lp8(&w, m->peers[i].node);
        }
        break;
    case HC_CL_REGA:
        if (!meeting_ok(m->meeting) || !hc_cl_name_ok(m->home)) return 0;
        hc_wr_bytes(&w, m->token, HC_TOKEN_LEN);
        wr_lp8(&w, m->meeting);
        hc_wr_u32(&w, m->index);
        wr_lp8(&w, m->home);
        break;
    case HC_CL_NACK:
    case HC_CL_FENCED:
    case HC_CL_HELLO:
    case HC_CL_BYE:
        break;
    case HC_CL_HB:
        if (m->n_peers > HC_CL_PEERS_MAX) return 0;
        wr_addr(&w, &m->addr);
        hc_wr_u8(&w, (uint8_t)m->n_peers);
        for (uint32_t i = 0; i < m->n_peers; i++) {
            if (!hc_cl_name_ok(m->peers[i].node)) return 0;
            wr_lp8(&w, m->peers[i].node);
            hc_wr_u64(&w, m->peers[i].inc);
            hc_wr_u64(&w, m->peers[i].seq);
        }
        break;
    case HC_CL_REGQ:
        hc_wr_bytes(&w, m->token, HC_TOKEN_LEN);
        break;
    default:
        return 0;
    }
    return w.err ? 0 : w.len;
}

int hc_cl_msg_decode(hc_cl_msg *m, const uint8_t *in, size_t len) {
    hc_cl_msg_init(m, 0);
    hc_rd r = hc_rd_init(in, len);
    if (hc_rd_u8(&r) != HC_CL_VERSION) return -1;
    m->type = hc_rd_u8(&r);
    if (rd_lp8(&r, m->src, sizeof m->src) < 0 || !hc_cl_name_ok(m->src)) return -1;
    m->src_inc = hc_rd_u64(&r);
    m->dst_inc = hc_rd_u64(&r);
    m->seq = hc_rd_u64(&r);
    if (r.err || !m->src_inc) return -1;
    int seqd = m->type < HC_CL_UNSEQ;
    if (seqd && !m->seq) return -1;
    switch (m->type) {
    case HC_CL_OPEN:
        m->conn = hc_rd_u64(&r);
        if (rd_addr(&r, &m->addr) < 0 || rd_lp8(&r, m->meeting, sizeof m->meeting) < 0 || !meeting_ok(m->meeting))
            return -1;
        break;
    case HC_CL_UP: {
        m->conn = hc_rd_u64(&r);
        uint32_t n = hc_rd_u32(&r);
        m->data = hc_rd_take(&r, n);
        m->data_len = n;
        if (!m->data || !n) return -1;
        break;
    }
    case HC_CL_DOWN: {
        m->n_conns = hc_rd_u16(&r);
        if (!m->n_conns || m->n_conns > HC_CL_DOWN_CONNS_MAX) return -1;
        m->conns = hc_rd_take(&r, 8 * (size_t)m->n_conns);
        uint32_t n = hc_rd_u32(&r);
        m->data = hc_rd_take(&r, n);
        m->data_len = n;
        /* a whole control frame: its own length prefix, version and type */
        if (!m->conns || !m->data || n < 6 || hc_get_u32(m->data) != n - 4) return -1;
        break;
    }
    case HC_CL_CLOSE:
        m->conn = hc_rd_u64(&r);
        m->reason = hc_rd_u8(&r);
        break;
    case HC_CL_REG:
        if (hc_rd_copy(&r, m->token, HC_TOKEN_LEN) < 0 || rd_lp8(&r, m->meeting, sizeof m->meeting) < 0 ||
            !meeting_ok(m->meeting))
            return -1;
        break;
    case HC_CL_DROP:
        if (rd_lp8(&r, m->meeting, sizeof m->meeting) < 0 || !meeting_ok(m->meeting)) return -1;
        m->index = hc_rd_u32(&r);
        break;
    case HC_CL_PLAN:
        if (rd_lp8(&r, m->meeting, sizeof m->meeting) < 0 || !meeting_ok(m->meeting)) return -1;
        m->n_peers = hc_rd_u8(&r);
        if (m->n_peers > HC_CL_PEERS_MAX) return -1;
        for (uint32_t i = 0; i < m->n_peers; i++)
            if (rd_lp8(&r, m->peers[i].node, sizeof m->peers[i].node) < 0 || !hc_cl_name_ok(m->peers[i].node)) return -1;
        break;
    case HC_CL_REGA:
        if (hc_rd_copy(&r, m->token, HC_TOKEN_LEN) < 0 || rd_lp8(&r, m->meeting, sizeof m->meeting) < 0 ||
            !meeting_ok(m->meeting))
            return -1;
        m->index = hc_rd_u32(&r);
        if (rd_lp8(&r, m->home, sizeof m->home) < 0 || !hc_cl_name_ok(m->home)) return -1;
        break;
    case HC_CL_NACK:
        if (!m->seq) return -1;
        break;
    case HC_CL_FENCED:
    case HC_CL_HELLO:
    case HC_CL_BYE:
        break;
    case HC_CL_HB:
        if (rd_addr(&r, &m->addr) < 0) return -1;
        m->n_peers = hc_rd_u8(&r);
        if (m->n_peers > HC_CL_PEERS_MAX) return -1;
        for (uint32_t i = 0; i < m->n_peers; i++) {
            if (rd_lp8(&r, m->peers[i].node, sizeof m->peers[i].node) < 0 || !hc_cl_name_ok(m->peers[i].node)) return -1;
            m->peers[i].inc = hc_rd_u64(&r);
            m->peers[i].seq = hc_rd_u64(&r);
        }
        break;
    case HC_CL_REGQ:
        if (hc_rd_copy(&r, m->token, HC_TOKEN_LEN) < 0) return -1;
        break;
    default:
        return -1;
    }
    return hc_rd_done(&r) ? 0 : -1;
}

uint64_t hc_cl_down_conn(const hc_cl_msg *m, uint32_t i) {
    const uint8_t *p = m->conns + 8 * (size_t)i;
    return ((uint64_t)hc_get_u32(p) << 32) | hc_get_u32(p + 4);
}

/* ---- node-to-node datagrams ---- */

static void cld_tag(uint8_t tag[HC_CL_TAG_LEN], const uint8_t key[32], const uint8_t *p, size_t n) {
    crypto_generichash(tag, HC_CL_TAG_LEN, p, n, key, 32);
}

size_t hc_cld_encode(const hc_cld *d, const uint8_t key[32], uint8_t *out, size_t cap) {
    if (!hc_cl_name_ok(d->src) || !meeting_ok(d->meeting) || !d->media_len || d->media_len > HC_MEDIA_MAX ||
        d->kind < HC_CLD_AUDIO || d->kind > HC_CLD_VIDEO_HOME)
        return 0;
    hc_wr w = hc_wr_init(out, cap);
    hc_wr_u8(&w, HC_CL_DGRAM_BYTE0);
    hc_wr_u8(&w, d->kind);
    wr_lp8(&w, d->src);
    hc_wr_u64(&w, d->src_inc);
    hc_wr_u64(&w, d->counter);
    wr_lp8(&w, d->meeting);
    if (d->kind == HC_CLD_VIDEO_TO) {
        if (!d->n_recipients || d->n_recipients > HC_CL_RECIPIENTS_MAX) return 0;
        hc_wr_u8(&w, d->n_recipients);
        for (unsigned i = 0; i < d->n_recipients; i++) hc_wr_u16(&w, d->recipients[i]);
    }
    hc_wr_u16(&w, (uint16_t)d->media_len);
    hc_wr_bytes(&w, d->media, d->media_len);
    uint8_t *tag = hc_wr_reserve(&w, HC_CL_TAG_LEN);
    if (w.err || !tag) return 0;
    cld_tag(tag, key, out, w.len - HC_CL_TAG_LEN);
    return w.len;
}

int hc_cld_decode(hc_cld *d, const uint8_t key[32], const uint8_t *in, size_t len) {
    memset(d, 0, sizeof *d);
    if (len < 2 + HC_CL_TAG_LEN || len > HC_CL_DGRAM_MAX || in[0] != HC_CL_DGRAM_BYTE0) return -1;
    uint8_t tag[HC_CL_TAG_LEN];
    cld_tag(tag, key, in, len - HC_CL_TAG_LEN);
    if (sodium_memcmp(tag, in + len - HC_CL_TAG_LEN, HC_CL_TAG_LEN) != 0) return -2;
    hc_rd r = hc_rd_init(in, len - HC_CL_TAG_LEN);
    hc_rd_u8(&r);
    d->kind = hc_rd_u8(&r);
    if (d->kind < HC_CLD_AUDIO || d->kind > HC_CLD_VIDEO_HOME) return -1;
    if (rd_lp8(&r, d->src, sizeof d->src) < 0 || !hc_cl_name_ok(d->src)) return -1;
    d->src_inc = hc_rd_u64(&r);
    d->counter = hc_rd_u64(&r);
    if (rd_lp8(&r, d->meeting, sizeof d->meeting) < 0 || !meeting_ok(d->meeting)) return -1;
    if (d->kind == HC_CLD_VIDEO_TO) {
        d->n_recipients = hc_rd_u8(&r);
        if (!d->n_recipients || d->n_recipients > HC_CL_RECIPIENTS_MAX) return -1;
        for (unsigned i = 0; i < d->n_recipients; i++) d->recipients[i] = hc_rd_u16(&r);
    }
    size_t n = hc_rd_u16(&r);
    d->media = hc_rd_take(&r, n);
    d->media_len = n;
    if (!d->media || !n || n > HC_MEDIA_MAX || !hc_rd_done(&r)) return -1;
    return 0;
}
