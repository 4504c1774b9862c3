/* The announcement binding (PROTOCOL.md §3.2): what a participant signs when it joins.
 *
 *   Binding = lp(meeting_id) || meeting_uuid(16) || u32(index) || IVK(32) || pk(32)
 *             || lp(display_name) || liveness_nonce(24)
 *   sig     = Sign(ISK, "hushcall-1-Sig-Announcement", Binding)
 *
 * The display name is inside the signed binding, so a relay cannot rename anyone. Decoding is
 * strict: exact length, meeting id of 1..HC_MEETING_ID_MAX decimal digits, name of 1..HC_NAME_MAX
 * bytes of valid UTF-8 without control characters. */
#ifndef HC_BINDING_H
#define HC_BINDING_H

#include <stddef.h>
#include <stdint.h>
#include "crypto/sig.h"

#define HC_MEETING_ID_MAX 20
#define HC_NAME_MAX 64
#define HC_UUID_LEN 16
#define HC_PK_LEN 32
#define HC_NONCE_LEN 24
#define HC_BINDING_MAX (2 + HC_MEETING_ID_MAX + HC_UUID_LEN + 4 + HC_IVK_LEN + HC_PK_LEN + 2 + HC_NAME_MAX + HC_NONCE_LEN)

typedef struct {
    char meeting_id[HC_MEETING_ID_MAX + 1];
    uint8_t uuid[HC_UUID_LEN];
    uint32_t index;
    uint8_t ivk[HC_IVK_LEN];
    uint8_t pk[HC_PK_LEN];            /* ephemeral X25519 public key for this meeting */
    char name[HC_NAME_MAX + 1];
    uint8_t nonce[HC_NONCE_LEN];      /* liveness nonce */
} hc_binding;

/* Returns the encoded length (> 0), or 0 if a field is out of bounds. */
size_t hc_binding_encode(const hc_binding *b, uint8_t *out, size_t cap);
/* Returns 0, or -1 for any malformed input. */
int hc_binding_decode(hc_binding *b, const uint8_t *in, size_t len);
void hc_binding_sign(uint8_t sig[HC_SIG_LEN], const uint8_t *enc, size_t len, const uint8_t isk[HC_ISK_LEN]);
/* Checks the signature under the IVK carried inside the binding itself. 0 = valid. */
int hc_binding_verify(const uint8_t sig[HC_SIG_LEN], const uint8_t *enc, size_t len);

/* The resume statement (PROTOCOL.md §11.10): a leader re-creating its meeting on a relay that
 * lost it signs which instance it continues.
 *   Resume = lp(meeting_id) || previous meeting_uuid(16) || IVK(32)
 *   sig    = Sign(ISK, "hushcall-1-Sig-Resume", Resume)
 * Returns 0, or -1 for a meeting id that is not 1..20 digits. */
int hc_resume_sign(uint8_t sig[HC_SIG_LEN], const char *meeting_id, const uint8_t prev_uuid[HC_UUID_LEN],
                   const uint8_t ivk[HC_IVK_LEN], const uint8_t isk[HC_ISK_LEN]);
/* 0 when sig is a valid resume statement of (meeting_id, prev_uuid) by ivk. */
int hc_resume_verify(const uint8_t sig[HC_SIG_LEN], const char *meeting_id, const uint8_t prev_uuid[HC_UUID_LEN],
                     const uint8_t ivk[HC_IVK_LEN]);

/* Field checks shared with the wire decoder. */
int hc_valid_meeting_id(const char *s, size_t len);
int hc_valid_name(const char *s, size_t len);

#endif
