/* HKDF (RFC 5869) over HMAC-SHA256 and HMAC-SHA512, built on libsodium's HMAC because
 * libsodium 1.0.18 (Debian 12) has no HKDF API. Pure functions, no allocation. */
#ifndef HC_HKDF_H
#define HC_HKDF_H

#include <stddef.h>
#include <stdint.h>

#define HC_SHA256_LEN 32
#define HC_SHA512_LEN 64

/* prk = HMAC(salt, ikm). salt may be NULL/0 (RFC 5869: a string of HashLen zeros). */
void hc_hkdf_sha256_extract(uint8_t prk[32], const uint8_t *salt, size_t salt_len,
                            const uint8_t *ikm, size_t ikm_len);
void hc_hkdf_sha512_extract(uint8_t prk[64], const uint8_t *salt, size_t salt_len,
                            const uint8_t *ikm, size_t ikm_len);
/* okm = T(1) || T(2) || ... truncated to out_len. Returns 0, or -1 if out_len > 255*HashLen. */
int hc_hkdf_sha256_expand(uint8_t *out, size_t out_len, const uint8_t prk[32],
                          const uint8_t *info, size_t info_len);
int hc_hkdf_sha512_expand(uint8_t *out, size_t out_len, const uint8_t prk[64],
                          const uint8_t *info, size_t info_len);
/* Extract then expand. Returns 0 or -1. */
int hc_hkdf_sha256(uint8_t *out, size_t out_len, const uint8_t *salt, size_t salt_len,
                   const uint8_t *ikm, size_t ikm_len, const uint8_t *info, size_t info_len);
int hc_hkdf_sha512(uint8_t *out, size_t out_len, const uint8_t *salt, size_t salt_len,
                   const uint8_t *ikm, size_t ikm_len, const uint8_t *info, size_t info_len);

#endif
