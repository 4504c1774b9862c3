/* Meeting-key boxes (PROTOCOL.md §3.3): how the leader hands the meeting key to one member.
 *
 *   K_i  = HKDF-SHA256(salt = "", ikm = crypto_box_beforenm(pk_i, sk_L), info = "hushcall-1-KDF-MeetingKeyBox", 32)
 *   Meta = lp(meeting_id) || meeting_uuid || u32(leader_index) || u32(i) || liveness_nonce_i
 *   AD   = H("hushcall-1-AD-MeetingKeyBox") || H(Meta)
 *   box  = nonce(24) || XChaCha20-Poly1305(K_i, nonce, AD, MK || u32(epoch) || u16(suite))
 *
 * K_i is symmetric (the member computes it from pk_L and its own sk), and the leader caches it
 * per member for the whole meeting so a rekey costs one AEAD per member. */
#ifndef HC_KEYBOX_H
#define HC_KEYBOX_H

#include <stddef.h>
#include <stdint.h>
#include "crypto/binding.h"

#define HC_MK_LEN 32
#define HC_BOXKEY_LEN 32
#define HC_BOX_PT_LEN (HC_MK_LEN + 4 + 2)
#define HC_BOX_LEN (24 + HC_BOX_PT_LEN + 16)
#define HC_META_MAX (2 + HC_MEETING_ID_MAX + HC_UUID_LEN + 4 + 4 + HC_NONCE_LEN)

typedef struct {
    char meeting_id[HC_MEETING_ID_MAX + 1];
    uint8_t uuid[HC_UUID_LEN];
    uint32_t leader_index;
    uint32_t recipient_index;
    uint8_t nonce[HC_NONCE_LEN];      /* the recipient's liveness nonce */
} hc_box_meta;

/* Ephemeral X25519 pair for one meeting; sk is wiped on leave. */
typedef struct {
    uint8_t pk[HC_PK_LEN];
    uint8_t sk[32];
} hc_ephemeral;
void hc_ephemeral_generate(hc_ephemeral *e);
void hc_ephemeral_wipe(hc_ephemeral *e);

/* K_i from their public key and our secret key. Returns 0, -1 on a degenerate public key. */
int hc_pairwise_key(uint8_t k[HC_BOXKEY_LEN], const uint8_t their_pk[HC_PK_LEN], const uint8_t my_sk[32]);

size_t hc_box_meta_encode(const hc_box_meta *m, uint8_t *out, size_t cap);
int hc_box_meta_decode(hc_box_meta *m, const uint8_t *in, size_t len);

/* Seals MK/epoch/suite for the member whose Meta is given (encoded form). Returns 0, or -1 for
 * an empty Meta. */
int hc_keybox_seal(uint8_t box[HC_BOX_LEN], const uint8_t k[HC_BOXKEY_LEN],
                   const uint8_t *meta, size_t meta_len,
                   const uint8_t mk[HC_MK_LEN], uint32_t epoch, uint16_t suite);
/* Opens a box. Returns 0 and fills mk/epoch/suite, or -1 if anything (key, Meta, nonce,
 * ciphertext, tag, length) is wrong; on failure mk is zeroed. */
int hc_keybox_open(uint8_t mk[HC_MK_LEN], uint32_t *epoch, uint16_t *suite,
                   const uint8_t k[HC_BOXKEY_LEN], const uint8_t *meta, size_t meta_len,
                   const uint8_t *box, size_t box_len);

#endif
