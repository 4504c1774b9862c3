/* Meeting security code (PROTOCOL.md §7):
 *   code = digits(SHA-512(H("hushcall-1-SecurityCode") || H(IVK_leader)))
 * 40 decimal digits shown as 8 groups of 5. Group g = bytes [5g, 5g+5) as a big-endian integer
 * mod 100000, zero-padded (the Signal / Discord DAVE digit rule). */
#ifndef HC_SECCODE_H
#define HC_SECCODE_H

#include <stddef.h>
#include <stdint.h>

#define HC_CODE_GROUPS 8
#define HC_CODE_DIGITS 40
#define HC_CODE_STR_LEN (HC_CODE_DIGITS + HC_CODE_GROUPS - 1)   /* with spaces between groups */

/* The digit rule: n_groups groups of 5 digits from 5*n_groups bytes; out gets 5*n_groups digits
 * and a NUL, no separators. */
void hc_digits5(char *out, const uint8_t *bytes, size_t n_groups);
/* The code for a leader, as "ddddd ddddd ... ddddd" (NUL-terminated). */
void hc_security_code(char out[HC_CODE_STR_LEN + 1], const uint8_t ivk_leader[32]);

/* A code as someone typed it (digits, with or without spaces or tabs between them) as its 40
 * digits in out. Returns 0, or -1 when it is not exactly 40 digits and blanks. */
int hc_code_digits(char out[HC_CODE_DIGITS + 1], const char *typed);
/* 1 when typed (as hc_code_digits takes it) is the code `code` (as hc_security_code writes it). */
int hc_code_matches(const char *typed, const char *code);

#endif
