/* Signatures with context (PROTOCOL.md §2), as in Zoom's design: the signed message is
 * H(ctx) || H(M). Hashing the context first gives every purpose a fixed-length, distinct prefix,
 * so a signature made for one purpose can never be replayed as one for another, whatever M is. */
#include "crypto/sig.h"

#include <string.h>
#include <sodium.h>

void hc_hash(uint8_t out[32], const uint8_t *m, size_t mlen) {
    crypto_hash_sha256(out, m, mlen);
}

static void signed_input(uint8_t in[64], const char *ctx, const uint8_t hm[32]) {
    hc_hash(in, (const uint8_t *)ctx, strlen(ctx));
    memcpy(in + 32, hm, 32);
}

void hc_sign_hash(uint8_t sig[HC_SIG_LEN], const uint8_t isk[HC_ISK_LEN], const char *ctx,
                  const uint8_t hm[32]) {
    uint8_t in[64];
    signed_input(in, ctx, hm);
    crypto_sign_detached(sig, NULL, in, sizeof in, isk);
}

int hc_verify_hash(const uint8_t sig[HC_SIG_LEN], const uint8_t ivk[HC_IVK_LEN], const char *ctx,
                   const uint8_t hm[32]) {
    uint8_t in[64];
    signed_input(in, ctx, hm);
    return crypto_sign_verify_detached(sig, in, sizeof in, ivk) == 0 ? 0 : -1;
}

void hc_sign(uint8_t sig[HC_SIG_LEN], const uint8_t isk[HC_ISK_LEN], const char *ctx,
             const uint8_t *m, size_t mlen) {
    uint8_t hm[32];
    hc_hash(hm, m, mlen);
    hc_sign_hash(sig, isk, ctx, hm);
}

int hc_verify(const uint8_t sig[HC_SIG_LEN], const uint8_t ivk[HC_IVK_LEN], const char *ctx,
              const uint8_t *m, size_t mlen) {
    uint8_t hm[32];
    hc_hash(hm, m, mlen);
    return hc_verify_hash(sig, ivk, ctx, hm);
}
