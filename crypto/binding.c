/* The announcement binding (PROTOCOL.md §3.2): strict encoding, decoding and signing.
 *
 * Decoding is strict so that there is exactly one byte string for each binding: the decoder
 * accepts only what the encoder can produce (re-encoding a decoded binding gives the input back),
 * which leaves a relay no room to smuggle anything past a signature check. */
#include "crypto/binding.h"

#include <string.h>
#include <sodium.h>

#include "crypto/bytes.h"
#include "crypto/contexts.h"

int hc_valid_meeting_id(const char *s, size_t len) {
    if (!s || len < 1 || len > HC_MEETING_ID_MAX) return 0;
    for (size_t i = 0; i < len; i++)
        if (s[i] < '0' || s[i] > '9') return 0;
    return 1;
}

/* Code points a display name must not contain: anything that moves the cursor, changes line,
 * or reorders text in a terminal could make one name look like another or corrupt the UI.
 * C0 and C1 controls, DEL, the Unicode line/paragraph separators, and the bidirectional
 * embedding/override/isolate controls (the "Trojan Source" characters). */
static int forbidden_cp(uint32_t cp) {
    return cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F) || cp == 0x2028 || cp == 0x2029 ||
           (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069);
}

/* 1..HC_NAME_MAX bytes of well-formed UTF-8 (RFC 3629: shortest form, no surrogates,
 * at most U+10FFFF) without forbidden code points. */
int hc_valid_name(const char *s, size_t len) {
    if (!s || len < 1 || len > HC_NAME_MAX) return 0;
    const uint8_t *p = (const uint8_t *)s;
    size_t i = 0;
    while (i < len) {
        uint8_t c = p[i];
        uint32_t cp, min;
        size_t n;
        if (c < 0x80) { cp = c; n = 1; min = 0; }
        else if ((c & 0xE0) == 0xC0) { cp = c & 0x1F; n = 2; min = 0x80; }
        else if ((c & 0xF0) == 0xE0) { cp = c & 0x0F; n = 3; min = 0x800; }
        else if ((c & 0xF8) == 0xF0) { cp = c & 0x07; n = 4; min = 0x10000; }
        else return 0;
        if (n > len - i) return 0;
        for (size_t k = 1; k < n; k++) {
            if ((p[i + k] & 0xC0) != 0x80) return 0;
            cp = (cp << 6) | (p[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
        if (forbidden_cp(cp)) return 0;
        i += n;
    }
    return 1;
}

size_t hc_binding_encode(const hc_binding *b, uint8_t *out, size_t cap) {
    size_t idlen = strnlen(b->meeting_id, sizeof b->meeting_id);
    size_t namelen = strnlen(b->name, sizeof b->name);
    if (!hc_valid_meeting_id(b->meeting_id, idlen) || !hc_valid_name(b->name, namelen)) return 0;
    hc_wr w = hc_wr_init(out, cap);
    hc_wr_lp(&w, b->meeting_id, idlen);
    hc_wr_bytes(&w, b->uuid, HC_UUID_LEN);
    hc_wr_u32(&w, b->index);
    hc_wr_bytes(&w, b->ivk, HC_IVK_LEN);
    hc_wr_bytes(&w, b->pk, HC_PK_LEN);
    hc_wr_lp(&w, b->name, namelen);
    hc_wr_bytes(&w, b->nonce, HC_NONCE_LEN);
    return w.err ? 0 : w.len;
}

int hc_binding_decode(hc_binding *b, const uint8_t *in, size_t len) {
    memset(b, 0, sizeof *b);
    if (!in || len > HC_BINDING_MAX) return -1;
    hc_rd r = hc_rd_init(in, len);
    size_t idlen, namelen;
    const uint8_t *id = hc_rd_lp(&r, &idlen);
    if (!id || !hc_valid_meeting_id((const char *)id, idlen)) goto bad;
    memcpy(b->meeting_id, id, idlen);
    hc_rd_copy(&r, b->uuid, HC_UUID_LEN);
    b->index = hc_rd_u32(&r);
    hc_rd_copy(&r, b->ivk, HC_IVK_LEN);
    hc_rd_copy(&r, b->pk, HC_PK_LEN);
    const uint8_t *name = hc_rd_lp(&r, &namelen);
    if (!name || !hc_valid_name((const char *)name, namelen)) goto bad;
    memcpy(b->name, name, namelen);
    hc_rd_copy(&r, b->nonce, HC_NONCE_LEN);
    if (!hc_rd_done(&r)) goto bad;
    return 0;
bad:
    memset(b, 0, sizeof *b);
    return -1;
}

void hc_binding_sign(uint8_t sig[HC_SIG_LEN], const uint8_t *enc, size_t len, const uint8_t isk[HC_ISK_LEN]) {
    hc_sign(sig, isk, HC_CTX_SIG_ANNOUNCEMENT, enc, len);
}

static size_t resume_encode(uint8_t *out, const char *meeting_id, const uint8_t prev_uuid[HC_UUID_LEN],
                            const uint8_t ivk[HC_IVK_LEN]) {
    size_t n = strlen(meeting_id);
    if (!hc_valid_meeting_id(meeting_id, n) || n > HC_MEETING_ID_MAX) return 0;
    out[0] = (uint8_t)(n >> 8);
    out[1] = (uint8_t)n;
    memcpy(out + 2, meeting_id, n);
    memcpy(out + 2 + n, prev_uuid, HC_UUID_LEN);
    memcpy(out + 2 + n + HC_UUID_LEN, ivk, HC_IVK_LEN);
    return 2 + n + HC_UUID_LEN + HC_IVK_LEN;
}

int hc_resume_sign(uint8_t sig[HC_SIG_LEN], const char *meeting_id, const uint8_t prev_uuid[HC_UUID_LEN],
                   const uint8_t ivk[HC_IVK_LEN], const uint8_t isk[HC_ISK_LEN]) {
    uint8_t enc[2 + HC_MEETING_ID_MAX + HC_UUID_LEN + HC_IVK_LEN];
    size_t n = resume_encode(enc, meeting_id, prev_uuid, ivk);
    if (!n) return -1;
    hc_sign(sig, isk, HC_CTX_SIG_RESUME, enc, n);
    return 0;
}

int hc_resume_verify(const uint8_t sig[HC_SIG_LEN], const char *meeting_id, const uint8_t prev_uuid[HC_UUID_LEN],
                     const uint8_t ivk[HC_IVK_LEN]) {
    uint8_t enc[2 + HC_MEETING_ID_MAX + HC_UUID_LEN + HC_IVK_LEN];
    size_t n = resume_encode(enc, meeting_id, prev_uuid, ivk);
    if (!n) return -1;
    return hc_verify(sig, ivk, HC_CTX_SIG_RESUME, enc, n);
}

int hc_binding_verify(const uint8_t sig[HC_SIG_LEN], const uint8_t *enc, size_t len) {
    hc_binding b;
    /* Only a well-formed binding can be valid: the IVK is taken from a fully parsed binding,
     * never from bytes at a guessed offset. */
    if (hc_binding_decode(&b, enc, len) < 0) return -1;
    return hc_verify(sig, b.ivk, HC_CTX_SIG_ANNOUNCEMENT, enc, len);
}
