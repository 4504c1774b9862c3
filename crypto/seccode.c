/* Meeting security code (PROTOCOL.md §7) and the 5-digit group rule shared with Signal and
 * Discord's DAVE: each group is 5 bytes read as a big-endian 40-bit integer, mod 100000,
 * zero-padded. 2^40 is not a multiple of 10^5, but the bias (about 10^-7) is negligible. */
#include "crypto/seccode.h"

#include <string.h>
#include <sodium.h>

#include "crypto/contexts.h"
#include "crypto/sig.h"

void hc_digits5(char *out, const uint8_t *bytes, size_t n_groups) {
    for (size_t g = 0; g < n_groups; g++) {
        uint64_t v = 0;
        for (size_t i = 0; i < 5; i++) v = (v << 8) | bytes[5 * g + i];
        v %= 100000;
        for (size_t d = 5; d-- > 0;) {
            out[5 * g + d] = (char)('0' + v % 10);
            v /= 10;
        }
    }
    out[5 * n_groups] = '\0';
}

void hc_security_code(char out[HC_CODE_STR_LEN + 1], const uint8_t ivk_leader[32]) {
    uint8_t in[64], h[crypto_hash_sha512_BYTES];
    char digits[HC_CODE_DIGITS + 1];
    hc_hash(in, (const uint8_t *)HC_CTX_SECURITY_CODE, strlen(HC_CTX_SECURITY_CODE));
    hc_hash(in + 32, ivk_leader, 32);
    crypto_hash_sha512(h, in, sizeof in);
    hc_digits5(digits, h, HC_CODE_GROUPS);
    size_t o = 0;
    for (size_t g = 0; g < HC_CODE_GROUPS; g++) {
        if (g) out[o++] = ' ';
        memcpy(out + o, digits + 5 * g, 5);
        o += 5;
    }
    out[o] = '\0';
}

int hc_code_digits(char out[HC_CODE_DIGITS + 1], const char *typed) {
    size_t n = 0;
    for (const char *p = typed; p && *p; p++) {
        if (*p == ' ' || *p == '\t') continue;
        if (*p < '0' || *p > '9' || n == HC_CODE_DIGITS) return -1;
        out[n++] = *p;
    }
    out[n] = '\0';
    return n == HC_CODE_DIGITS ? 0 : -1;
}

int hc_code_matches(const char *typed, const char *code) {
    char a[HC_CODE_DIGITS + 1], b[HC_CODE_DIGITS + 1];
    return hc_code_digits(a, typed) == 0 && hc_code_digits(b, code) == 0 && !memcmp(a, b, sizeof a);
}
