/* Meeting-key boxes (PROTOCOL.md §3.3): the leader seals MK || epoch || suite for one member
 * under their pairwise key K_i; the AD binds the box to the Meta (meeting, leader, recipient,
 * liveness nonce) so a relay cannot redirect, replay into another meeting, or delay it past the
 * recipient's nonce rotation without the open failing. */
#include "crypto/keybox.h"

#include <string.h>
#include <sodium.h>

#include "crypto/bytes.h"
#include "crypto/contexts.h"
#include "crypto/hkdf.h"

void hc_ephemeral_generate(hc_ephemeral *e) {
    crypto_box_keypair(e->pk, e->sk);
}

void hc_ephemeral_wipe(hc_ephemeral *e) {
    sodium_memzero(e, sizeof *e);
}

int hc_pairwise_key(uint8_t k[HC_BOXKEY_LEN], const uint8_t their_pk[HC_PK_LEN], const uint8_t my_sk[32]) {
    uint8_t shared[crypto_box_BEFORENMBYTES];
    /* crypto_box_beforenm fails for low-order public keys (all-zero shared secret): such a key
     * would let the relay force a key it knows. */
    if (crypto_box_beforenm(shared, their_pk, my_sk) != 0) {
        sodium_memzero(shared, sizeof shared);
        sodium_memzero(k, HC_BOXKEY_LEN);
        return -1;
    }
    int rc = hc_hkdf_sha256(k, HC_BOXKEY_LEN, NULL, 0, shared, sizeof shared,
                            (const uint8_t *)HC_CTX_KDF_KEYBOX, strlen(HC_CTX_KDF_KEYBOX));
    sodium_memzero(shared, sizeof shared);
    return rc;
}

size_t hc_box_meta_encode(const hc_box_meta *m, uint8_t *out, size_t cap) {
    size_t idlen = strnlen(m->meeting_id, sizeof m->meeting_id);
    if (!hc_valid_meeting_id(m->meeting_id, idlen)) return 0;
    hc_wr w = hc_wr_init(out, cap);
    hc_wr_lp(&w, m->meeting_id, idlen);
    hc_wr_bytes(&w, m->uuid, HC_UUID_LEN);
    hc_wr_u32(&w, m->leader_index);
    hc_wr_u32(&w, m->recipient_index);
    hc_wr_bytes(&w, m->nonce, HC_NONCE_LEN);
    return w.err ? 0 : w.len;
}

int hc_box_meta_decode(hc_box_meta *m, const uint8_t *in, size_t len) {
    memset(m, 0, sizeof *m);
    if (!in || len > HC_META_MAX) return -1;
    hc_rd r = hc_rd_init(in, len);
    size_t idlen;
    const uint8_t *id = hc_rd_lp(&r, &idlen);
    if (!id || !hc_valid_meeting_id((const char *)id, idlen)) goto bad;
    memcpy(m->meeting_id, id, idlen);
    hc_rd_copy(&r, m->uuid, HC_UUID_LEN);
    m->leader_index = hc_rd_u32(&r);
    m->recipient_index = hc_rd_u32(&r);
    hc_rd_copy(&r, m->nonce, HC_NONCE_LEN);
    if (!hc_rd_done(&r)) goto bad;
    return 0;
bad:
    memset(m, 0, sizeof *m);
    return -1;
}

/* AD = H("hushcall-1-AD-MeetingKeyBox") || H(Meta) */
static void box_ad(uint8_t ad[64], const uint8_t *meta, size_t meta_len) {
    hc_hash(ad, (const uint8_t *)HC_CTX_AD_KEYBOX, strlen(HC_CTX_AD_KEYBOX));
    hc_hash(ad + 32, meta, meta_len);
}

int hc_keybox_seal(uint8_t box[HC_BOX_LEN], const uint8_t k[HC_BOXKEY_LEN],
                   const uint8_t *meta, size_t meta_len,
                   const uint8_t mk[HC_MK_LEN], uint32_t epoch, uint16_t suite) {
    uint8_t ad[64], pt[HC_BOX_PT_LEN];
    if (!meta || !meta_len) return -1;
    box_ad(ad, meta, meta_len);
    memcpy(pt, mk, HC_MK_LEN);
    hc_put_u32(pt + HC_MK_LEN, epoch);
    pt[HC_MK_LEN + 4] = (uint8_t)(suite >> 8);
    pt[HC_MK_LEN + 5] = (uint8_t)suite;
    /* A random 24-byte XChaCha nonce: no counter state to keep across rekeys or leaders. */
    randombytes_buf(box, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
    crypto_aead_xchacha20poly1305_ietf_encrypt(box + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, NULL,
                                               pt, sizeof pt, ad, sizeof ad, NULL, box, k);
    sodium_memzero(pt, sizeof pt);
    return 0;
}

int hc_keybox_open(uint8_t mk[HC_MK_LEN], uint32_t *epoch, uint16_t *suite,
                   const uint8_t k[HC_BOXKEY_LEN], const uint8_t *meta, size_t meta_len,
                   const uint8_t *box, size_t box_len) {
    uint8_t ad[64], pt[HC_BOX_PT_LEN];
    sodium_memzero(mk, HC_MK_LEN);
    *epoch = 0;
    *suite = 0;
    if (!meta || !meta_len || !box || box_len != HC_BOX_LEN) return -1;
    box_ad(ad, meta, meta_len);
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(pt, NULL, NULL,
                                                   box + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
                                                   HC_BOX_LEN - crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
                                                   ad, sizeof ad, box, k) != 0) {
        sodium_memzero(pt, sizeof pt);
        return -1;
    }
    memcpy(mk, pt, HC_MK_LEN);
    *epoch = hc_get_u32(pt + HC_MK_LEN);
    *suite = (uint16_t)((pt[HC_MK_LEN + 4] << 8) | pt[HC_MK_LEN + 5]);
    sodium_memzero(pt, sizeof pt);
    return 0;
}
