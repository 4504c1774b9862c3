/* Signatures with context (PROTOCOL.md §2): Sign(ISK, ctx, M) is a detached Ed25519 signature
 * over H(ctx) || H(M), H = SHA-256. A signature made under one context never verifies under
 * another, nor over a changed message. */
#ifndef HC_SIG_H
#define HC_SIG_H

#include <stddef.h>
#include <stdint.h>

#define HC_SIG_LEN 64
#define HC_IVK_LEN 32
#define HC_ISK_LEN 64

void hc_sign(uint8_t sig[HC_SIG_LEN], const uint8_t isk[HC_ISK_LEN], const char *ctx,
             const uint8_t *m, size_t mlen);
/* Returns 0 when valid, -1 otherwise. */
int hc_verify(const uint8_t sig[HC_SIG_LEN], const uint8_t ivk[HC_IVK_LEN], const char *ctx,
              const uint8_t *m, size_t mlen);
/* Same, with H(M) already computed (heartbeats sign a hash the caller builds). */
void hc_sign_hash(uint8_t sig[HC_SIG_LEN], const uint8_t isk[HC_ISK_LEN], const char *ctx,
                  const uint8_t hm[32]);
int hc_verify_hash(const uint8_t sig[HC_SIG_LEN], const uint8_t ivk[HC_IVK_LEN], const char *ctx,
                   const uint8_t hm[32]);

/* H = SHA-256, used throughout the protocol. */
void hc_hash(uint8_t out[32], const uint8_t *m, size_t mlen);

#endif
