/* SFrame (RFC 9605): header codec, key schedule for every RFC suite plus our private 0xF001,
 * and seal/open for the two suites libsodium can run.
 *
 * The seal/open path neither allocates nor makes a syscall: the AAD (header || metadata) is
 * assembled in a bounded stack buffer, which is why metadata is limited to HC_SFRAME_META_MAX. */
#include "crypto/sframe.h"

#include <limits.h>
#include <string.h>

#include "crypto/binding.h"
#include "crypto/bytes.h"
#include "crypto/contexts.h"
#include "crypto/hkdf.h"

/* ---- header (RFC 9605 §4.3) --------------------------------------------------------------
 * config byte: X(1) K(3) Y(1) C(3). X=0: K is the KID (0..7); X=1: K+1 KID bytes follow.
 * Y/C likewise for the CTR. Values >= 8 use the shortest big-endian form. */

static size_t be_len(uint64_t v) {
    size_t n = 1;
    while (n < 8 && (v >> (8 * n))) n++;
    return n;
}

static void put_be(uint8_t *p, uint64_t v, size_t n) {
    for (size_t i = 0; i < n; i++) p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

size_t hc_sframe_header_encode(uint8_t out[HC_SFRAME_HDR_MAX], uint64_t kid, uint64_t ctr) {
    size_t o = 1;
    uint8_t cfg = 0;
    if (kid < 8) {
        cfg |= (uint8_t)(kid << 4);
    } else {
        size_t n = be_len(kid);
        cfg |= (uint8_t)(0x80 | ((n - 1) << 4));
        put_be(out + o, kid, n);
        o += n;
    }
    if (ctr < 8) {
        cfg |= (uint8_t)ctr;
    } else {
        size_t n = be_len(ctr);
        cfg |= (uint8_t)(0x08 | (n - 1));
        put_be(out + o, ctr, n);
        o += n;
    }
    out[0] = cfg;
    return o;
}

/* Reads one field (KID or CTR) given its 4 config bits. -1 if truncated or not minimal: a value
 * below 8 must be inline, and a multi-byte value must not start with a zero byte. */
static int read_field(hc_rd *r, unsigned bits, uint64_t *v) {
    if (!(bits & 8)) { *v = bits & 7; return 0; }
    size_t n = (bits & 7) + 1;
    const uint8_t *q = hc_rd_take(r, n);
    if (!q) return -1;
    uint64_t x = 0;
    for (size_t i = 0; i < n; i++) x = (x << 8) | q[i];
    if (n == 1 ? x < 8 : q[0] == 0) return -1;
    *v = x;
    return 0;
}

int hc_sframe_header_decode(const uint8_t *in, size_t len, uint64_t *kid, uint64_t *ctr) {
    if (!in || !len) return -1;
    hc_rd r = hc_rd_init(in, len);
    uint8_t cfg = hc_rd_u8(&r);
    uint64_t k, c;
    if (read_field(&r, cfg >> 4, &k) < 0 || read_field(&r, cfg & 15, &c) < 0) return -1;
    *kid = k;
    *ctr = c;
    return (int)r.off;
}

/* ---- key schedule (RFC 9605 §4.4.2) ---- */

int hc_sframe_suite_params(uint16_t suite, size_t *nk, size_t *nn, size_t *nt, size_t *nh) {
    size_t k, t, h;
    switch (suite) {
    case 0x0001: k = 48; t = 10; h = 32; break; /* AES_128_CTR_HMAC_SHA256_80 */
    case 0x0002: k = 48; t = 8; h = 32; break;  /* AES_128_CTR_HMAC_SHA256_64 */
    case 0x0003: k = 48; t = 4; h = 32; break;  /* AES_128_CTR_HMAC_SHA256_32 */
    case 0x0004: k = 16; t = 16; h = 32; break; /* AES_128_GCM_SHA256_128 */
    case 0x0005: k = 32; t = 16; h = 64; break; /* AES_256_GCM_SHA512_128 */
    case HC_SUITE_CHACHA: k = 32; t = 16; h = 32; break;
    default: return -1;
    }
    if (nk) *nk = k;
    if (nn) *nn = 12;
    if (nt) *nt = t;
    if (nh) *nh = h;
    return 0;
}

/* label = "SFrame 1.0 Secret key " or "... salt " || u64(KID) || u16(suite); note the trailing
 * space in the text part and that the KID is the full 8-byte form, not the header form. */
static size_t sframe_label(uint8_t out[40], const char *what, uint64_t kid, uint16_t suite) {
    hc_wr w = hc_wr_init(out, 40);
    hc_wr_bytes(&w, "SFrame 1.0 Secret ", 18);
    hc_wr_bytes(&w, what, strlen(what));
    hc_wr_u64(&w, kid);
    hc_wr_u16(&w, suite);
    return w.err ? 0 : w.len;
}

int hc_sframe_derive_raw(uint16_t suite, uint64_t kid, const uint8_t *base_key, size_t base_len,
                         uint8_t *secret, uint8_t *key, uint8_t *salt) {
    size_t nk, nn, nh;
    uint8_t klabel[40], slabel[40];
    if (hc_sframe_suite_params(suite, &nk, &nn, NULL, &nh) < 0 || !base_key) return -1;
    size_t kl = sframe_label(klabel, "key ", kid, suite), sl = sframe_label(slabel, "salt ", kid, suite);
    if (nh == HC_SHA512_LEN) {
        hc_hkdf_sha512_extract(secret, NULL, 0, base_key, base_len);
        hc_hkdf_sha512_expand(key, nk, secret, klabel, kl);
        hc_hkdf_sha512_expand(salt, nn, secret, slabel, sl);
    } else {
        hc_hkdf_sha256_extract(secret, NULL, 0, base_key, base_len);
        hc_hkdf_sha256_expand(key, nk, secret, klabel, kl);
        hc_hkdf_sha256_expand(salt, nn, secret, slabel, sl);
    }
    return 0;
}

void hc_sframe_nonce(uint8_t *nonce, const uint8_t *salt, size_t nn, uint64_t ctr) {
    memcpy(nonce, salt, nn);
    for (size_t i = 0; i < 8 && i < nn; i++) nonce[nn - 1 - i] ^= (uint8_t)(ctr >> (8 * i));
}

int hc_sframe_suite_available(uint16_t suite) {
    if (suite == HC_SUITE_CHACHA) return 1;
    if (suite == HC_SUITE_AES256GCM) return crypto_aead_aes256gcm_is_available() == 1;
    return 0;
}

int hc_sframe_key_init(hc_sframe_key *k, uint16_t suite, uint64_t kid, const uint8_t *base_key, size_t base_len) {
    uint8_t secret[HC_SHA512_LEN], key[48], salt[12];
    sodium_memzero(k, sizeof *k);
    if (!hc_sframe_suite_available(suite) || !base_key) return -1;
    if (hc_sframe_derive_raw(suite, kid, base_key, base_len, secret, key, salt) < 0) return -1;
    k->suite = suite;
    k->kid = kid;
    memcpy(k->key, key, sizeof k->key);
    memcpy(k->salt, salt, sizeof k->salt);
    if (suite == HC_SUITE_AES256GCM) crypto_aead_aes256gcm_beforenm(&k->aes, k->key);
    sodium_memzero(secret, sizeof secret);
    sodium_memzero(key, sizeof key);
    sodium_memzero(salt, sizeof salt);
    return 0;
}

void hc_sframe_key_wipe(hc_sframe_key *k) {
    sodium_memzero(k, sizeof *k);
}

/* ---- seal / open ---- */

/* aad = header || metadata, in the caller's stack buffer. */
static size_t build_aad(uint8_t aad[HC_SFRAME_HDR_MAX + HC_SFRAME_META_MAX], const uint8_t *hdr, size_t hlen,
                        const uint8_t *meta, size_t meta_len) {
    memcpy(aad, hdr, hlen);
    if (meta_len) memcpy(aad + hlen, meta, meta_len);
    return hlen + meta_len;
}

int hc_sframe_seal(const hc_sframe_key *k, uint64_t ctr, const uint8_t *meta, size_t meta_len,
                   const uint8_t *pt, size_t pt_len, uint8_t *out, size_t cap) {
    uint8_t aad[HC_SFRAME_HDR_MAX + HC_SFRAME_META_MAX], nonce[12];
    if (!k || !out || (meta_len && !meta) || (pt_len && !pt) || meta_len > HC_SFRAME_META_MAX) return -1;
    if (!hc_sframe_suite_available(k->suite)) return -1;
    uint8_t hdr[HC_SFRAME_HDR_MAX];
    size_t hlen = hc_sframe_header_encode(hdr, k->kid, ctr);
    if (pt_len > (size_t)INT_MAX - hlen - HC_SFRAME_TAG_LEN || cap < hlen + pt_len + HC_SFRAME_TAG_LEN) return -1;
    size_t alen = build_aad(aad, hdr, hlen, meta, meta_len);
    hc_sframe_nonce(nonce, k->salt, sizeof nonce, ctr);
    /* The header goes in after the AEAD ran, so a caller may seal in place with pt == out + hlen
     * as well as from a separate buffer. */
    unsigned long long clen = 0;
    if (k->suite == HC_SUITE_CHACHA)
        crypto_aead_chacha20poly1305_ietf_encrypt(out + hlen, &clen, pt, pt_len, aad, alen, NULL, nonce, k->key);
    else
        crypto_aead_aes256gcm_encrypt_afternm(out + hlen, &clen, pt, pt_len, aad, alen, NULL, nonce, &k->aes);
    memcpy(out, hdr, hlen);
    return (int)(hlen + clen);
}

int hc_sframe_open(const hc_sframe_key *k, const uint8_t *in, size_t len,
                   const uint8_t *meta, size_t meta_len, uint8_t *pt, size_t cap, uint64_t *ctr) {
    uint8_t aad[HC_SFRAME_HDR_MAX + HC_SFRAME_META_MAX], nonce[12];
    uint64_t kid, c;
    if (!k || !in || !pt || !ctr || (meta_len && !meta) || meta_len > HC_SFRAME_META_MAX) return -1;
    if (!hc_sframe_suite_available(k->suite) || len > (size_t)INT_MAX) return -1;
    int h = hc_sframe_header_decode(in, len, &kid, &c);
    if (h < 0 || kid != k->kid) return -1;
    size_t hlen = (size_t)h;
    if (len - hlen < HC_SFRAME_TAG_LEN) return -1;
    size_t clen = len - hlen, plen = clen - HC_SFRAME_TAG_LEN;
    if (cap < plen) return -1;
    size_t alen = build_aad(aad, in, hlen, meta, meta_len);
    hc_sframe_nonce(nonce, k->salt, sizeof nonce, c);
    int rc;
    if (k->suite == HC_SUITE_CHACHA)
        rc = crypto_aead_chacha20poly1305_ietf_decrypt(pt, NULL, NULL, in + hlen, clen, aad, alen, nonce, k->key);
    else
        rc = crypto_aead_aes256gcm_decrypt_afternm(pt, NULL, NULL, in + hlen, clen, aad, alen, nonce, &k->aes);
    if (rc != 0) return -1;
    *ctr = c;
    return (int)plen;
}

/* ---- sender: the one place that owns a CTR ---- */

void hc_sframe_sender_init(hc_sframe_sender *s, const hc_sframe_key *k) {
    memcpy(&s->key, k, sizeof s->key);
    s->next_ctr = 0;
    s->exhausted = 0;
}

int hc_sframe_sender_seal(hc_sframe_sender *s, const uint8_t *meta, size_t meta_len,
                          const uint8_t *pt, size_t pt_len, uint8_t *out, size_t cap) {
    /* (key, CTR) must never repeat (RFC 9605 §4.4.3): after 2^64-1 there is no CTR left and the
     * sender stops for good; the epoch must change before that (it changes every 5 minutes). */
    if (s->exhausted) return -1;
    int n = hc_sframe_seal(&s->key, s->next_ctr, meta, meta_len, pt, pt_len, out, cap);
    if (n < 0) return -1; /* nothing was encrypted, so the CTR is still unused */
    if (s->next_ctr == UINT64_MAX) s->exhausted = 1;
    else s->next_ctr++;
    return n;
}

void hc_sframe_sender_wipe(hc_sframe_sender *s) {
    sodium_memzero(s, sizeof *s);
}

/* ---- hushcall key derivation (PROTOCOL.md §6) ---- */

uint64_t hc_kid_make(uint8_t stream, uint32_t sender_index, uint32_t epoch) {
    return ((uint64_t)stream << 24) | ((uint64_t)(sender_index & 0xFFFF) << 8) | (epoch & 0xFF);
}

void hc_kid_split(uint64_t kid, uint8_t *stream, uint32_t *sender16, uint8_t *epoch8) {
    if (stream) *stream = (uint8_t)(kid >> 24);
    if (sender16) *sender16 = (uint32_t)((kid >> 8) & 0xFFFF);
    if (epoch8) *epoch8 = (uint8_t)kid;
}

void hc_frame_base_key(uint8_t base_key[32], const uint8_t mk[32], const uint8_t uuid[16],
                       const char *meeting_id, uint32_t epoch, uint32_t sender_index, uint8_t stream) {
    uint8_t info[sizeof HC_CTX_KDF_FRAMEKEY - 1 + 2 + HC_MEETING_ID_MAX + 4 + 4 + 1];
    size_t idlen = meeting_id ? strnlen(meeting_id, HC_MEETING_ID_MAX + 1) : 0;
    hc_wr w = hc_wr_init(info, sizeof info);
    hc_wr_bytes(&w, HC_CTX_KDF_FRAMEKEY, sizeof HC_CTX_KDF_FRAMEKEY - 1);
    hc_wr_lp(&w, meeting_id, idlen);
    hc_wr_u32(&w, epoch);
    hc_wr_u32(&w, sender_index);
    hc_wr_u8(&w, stream);
    if (w.err || idlen < 1 || idlen > HC_MEETING_ID_MAX) {
        /* A caller bug (hc_frame_key checks first). A random key fails safe: it decrypts nothing
         * and is shared with no one. */
        randombytes_buf(base_key, 32);
        return;
    }
    hc_hkdf_sha256(base_key, 32, uuid, HC_UUID_LEN, mk, 32, info, w.len);
}

int hc_frame_key(hc_sframe_key *k, uint16_t suite, const uint8_t mk[32], const uint8_t uuid[16],
                 const char *meeting_id, uint32_t epoch, uint32_t sender_index, uint8_t stream) {
    uint8_t base[32];
    sodium_memzero(k, sizeof *k);
    if (!meeting_id || !hc_valid_meeting_id(meeting_id, strnlen(meeting_id, HC_MEETING_ID_MAX + 1))) return -1;
    hc_frame_base_key(base, mk, uuid, meeting_id, epoch, sender_index, stream);
    int rc = hc_sframe_key_init(k, suite, hc_kid_make(stream, sender_index, epoch), base, sizeof base);
    sodium_memzero(base, sizeof base);
    return rc;
}
