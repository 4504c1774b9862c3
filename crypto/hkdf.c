/* HKDF (RFC 5869) on libsodium's HMAC-SHA256/HMAC-SHA512.
 *
 * libsodium 1.0.18 has no HKDF API, so extract and expand are written here on top of the
 * incremental crypto_auth_hmacsha{256,512}_* functions. The PRK, every T(i) block and every HMAC
 * state hold key material, so each is wiped before returning. */
#include "crypto/hkdf.h"

#include <string.h>
#include <sodium.h>

/* The HMAC init functions are declared nonnull even for a zero-length key. An empty salt is
 * (RFC 5869 §2.2) the same as HashLen zero bytes, and HMAC pads short keys with zeros, so an
 * empty key through a dummy pointer gives exactly the RFC's result. */
static const uint8_t empty_salt[1] = {0};

void hc_hkdf_sha256_extract(uint8_t prk[32], const uint8_t *salt, size_t salt_len,
                            const uint8_t *ikm, size_t ikm_len) {
    crypto_auth_hmacsha256_state st;
    if (!salt || !salt_len) { salt = empty_salt; salt_len = 0; }
    crypto_auth_hmacsha256_init(&st, salt, salt_len);
    if (ikm_len) crypto_auth_hmacsha256_update(&st, ikm, ikm_len);
    crypto_auth_hmacsha256_final(&st, prk);
    sodium_memzero(&st, sizeof st);
}

void hc_hkdf_sha512_extract(uint8_t prk[64], const uint8_t *salt, size_t salt_len,
                            const uint8_t *ikm, size_t ikm_len) {
    crypto_auth_hmacsha512_state st;
    if (!salt || !salt_len) { salt = empty_salt; salt_len = 0; }
    crypto_auth_hmacsha512_init(&st, salt, salt_len);
    if (ikm_len) crypto_auth_hmacsha512_update(&st, ikm, ikm_len);
    crypto_auth_hmacsha512_final(&st, prk);
    sodium_memzero(&st, sizeof st);
}

/* T(0) = "", T(i) = HMAC(PRK, T(i-1) || info || i); OKM = first out_len bytes of T(1) || T(2)... */
int hc_hkdf_sha256_expand(uint8_t *out, size_t out_len, const uint8_t prk[32],
                          const uint8_t *info, size_t info_len) {
    if (out_len > 255 * HC_SHA256_LEN) return -1;
    crypto_auth_hmacsha256_state st;
    uint8_t t[HC_SHA256_LEN];
    size_t done = 0, tlen = 0;
    for (uint8_t i = 1; done < out_len; i++) {
        crypto_auth_hmacsha256_init(&st, prk, HC_SHA256_LEN);
        if (tlen) crypto_auth_hmacsha256_update(&st, t, tlen);
        if (info_len) crypto_auth_hmacsha256_update(&st, info, info_len);
        crypto_auth_hmacsha256_update(&st, &i, 1);
        crypto_auth_hmacsha256_final(&st, t);
        tlen = HC_SHA256_LEN;
        size_t n = out_len - done < tlen ? out_len - done : tlen;
        memcpy(out + done, t, n);
        done += n;
    }
    sodium_memzero(&st, sizeof st);
    sodium_memzero(t, sizeof t);
    return 0;
}

int hc_hkdf_sha512_expand(uint8_t *out, size_t out_len, const uint8_t prk[64],
                          const uint8_t *info, size_t info_len) {
    if (out_len > 255 * HC_SHA512_LEN) return -1;
    crypto_auth_hmacsha512_state st;
    uint8_t t[HC_SHA512_LEN];
    size_t done = 0, tlen = 0;
    for (uint8_t i = 1; done < out_len; i++) {
        crypto_auth_hmacsha512_init(&st, prk, HC_SHA512_LEN);
        if (tlen) crypto_auth_hmacsha512_update(&st, t, tlen);
        if (info_len) crypto_auth_hmacsha512_update(&st, info, info_len);
        crypto_auth_hmacsha512_update(&st, &i, 1);
        crypto_auth_hmacsha512_final(&st, t);
        tlen = HC_SHA512_LEN;
        size_t n = out_len - done < tlen ? out_len - done : tlen;
        memcpy(out + done, t, n);
        done += n;
    }
    sodium_memzero(&st, sizeof st);
    sodium_memzero(t, sizeof t);
    return 0;
}

int hc_hkdf_sha256(uint8_t *out, size_t out_len, const uint8_t *salt, size_t salt_len,
                   const uint8_t *ikm, size_t ikm_len, const uint8_t *info, size_t info_len) {
    uint8_t prk[HC_SHA256_LEN];
    if (out_len > 255 * HC_SHA256_LEN) return -1;
    hc_hkdf_sha256_extract(prk, salt, salt_len, ikm, ikm_len);
    int rc = hc_hkdf_sha256_expand(out, out_len, prk, info, info_len);
    sodium_memzero(prk, sizeof prk);
    return rc;
}

int hc_hkdf_sha512(uint8_t *out, size_t out_len, const uint8_t *salt, size_t salt_len,
                   const uint8_t *ikm, size_t ikm_len, const uint8_t *info, size_t info_len) {
    uint8_t prk[HC_SHA512_LEN];
    if (out_len > 255 * HC_SHA512_LEN) return -1;
    hc_hkdf_sha512_extract(prk, salt, salt_len, ikm, ikm_len);
    int rc = hc_hkdf_sha512_expand(out, out_len, prk, info, info_len);
    sodium_memzero(prk, sizeof prk);
    return rc;
}
