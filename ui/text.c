/* UTF-8 decoding with replacement, display width, code and duration formats (see text.h). */
#include "ui/text.h"

#include <stdio.h>
#include <string.h>

size_t hc_utf8_next(const char *str, size_t n, uint32_t *cp, int *valid) {
    const unsigned char *s = (const unsigned char *)str;
    uint32_t c = s[0], min;
    size_t len;
    *valid = 1;
    if (c < 0x80) { *cp = c; return 1; }
    if (c >= 0xC2 && c <= 0xDF) { len = 2; c &= 0x1F; min = 0x80; }
    else if (c >= 0xE0 && c <= 0xEF) { len = 3; c &= 0x0F; min = 0x800; }
    else if (c >= 0xF0 && c <= 0xF4) { len = 4; c &= 0x07; min = 0x10000; }
    else goto bad;
    if (n < len) goto bad;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) goto bad;
        c = (c << 6) | (s[i] & 0x3F);
    }
    /* Overlong forms, UTF-16 surrogates and values past U+10FFFF are not UTF-8 (RFC 3629). */
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) goto bad;
    *cp = c;
    return len;
bad:
    *cp = HC_CP_REPLACEMENT;
    *valid = 0;
    return 1;
}

size_t hc_utf8_put(uint32_t cp, char out[4]) {
    if (cp < 0x80) { out[0] = (char)cp; return 1; }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6)); out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp >= 0xD800 && cp <= 0xDFFF) return 0;
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12)); out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    if (cp > 0x10FFFF) return 0;
    out[0] = (char)(0xF0 | (cp >> 18)); out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

typedef struct { uint32_t lo, hi; } range;

static int in_ranges(uint32_t cp, const range *r, size_t n) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (cp < r[mid].lo) hi = mid;
        else if (cp > r[mid].hi) lo = mid + 1;
        else return 1;
    }
    return 0;
}

static const range zero_width[] = {
    {0x0300, 0x036F}, {0x0483, 0x0489}, {0x0591, 0x05BD}, {0x05BF, 0x05BF}, {0x05C1, 0x05C2},
    {0x05C4, 0x05C5}, {0x05C7, 0x05C7}, {0x0610, 0x061A}, {0x064B, 0x065F}, {0x0670, 0x0670},
    {0x06D6, 0x06DC}, {0x06DF, 0x06E4}, {0x06E7, 0x06E8}, {0x06EA, 0x06ED}, {0x0900, 0x0902},
    {0x093A, 0x093A}, {0x093C, 0x093C}, {0x0941, 0x0948}, {0x094D, 0x094D}, {0x0951, 0x0957},
    {0x0E31, 0x0E31}, {0x0E34, 0x0E3A}, {0x0E47, 0x0E4E}, {0x1AB0, 0x1AFF}, {0x1DC0, 0x1DFF},
    {0x200B, 0x200F}, {0x20D0, 0x20FF}, {0xFE00, 0xFE0F}, {0xFE20, 0xFE2F}, {0xFEFF, 0xFEFF},
    {0xE0100, 0xE01EF},
};

static const range wide[] = {
    {0x1100, 0x115F}, {0x231A, 0x231B}, {0x2329, 0x232A}, {0x23E9, 0x23EC}, {0x23F0, 0x23F0},
    {0x23F3, 0x23F3}, {0x25FD, 0x25FE}, {0x2614, 0x2615}, {0x2648, 0x2653}, {0x267F, 0x267F},
    {0x2693, 0x2693}, {0x26A1, 0x26A1}, {0x26AA, 0x26AB}, {0x26BD, 0x26BE}, {0x26C4, 0x26C5},
    {0x26CE, 0x26CE}, {0x26D4, 0x26D4}, {0x26EA, 0x26EA}, {0x26F2, 0x26F3}, {0x26F5, 0x26F5},
    {0x26FA, 0x26FA}, {0x26FD, 0x26FD}, {0x2705, 0x2705}, {0x270A, 0x270B}, {0x2728, 0x2728},
    {0x274C, 0x274C}, {0x274E, 0x274E}, {0x2753, 0x2755}, {0x2757, 0x2757}, {0x2795, 0x2797},
    {0x27B0, 0x27B0}, {0x27BF, 0x27BF}, {0x2B1B, 0x2B1C}, {0x2B50, 0x2B50}, {0x2B55, 0x2B55},
    {0x2E80, 0x303E}, {0x3041, 0x33FF}, {0x3400, 0x4DBF}, {0x4E00, 0x9FFF}, {0xA000, 0xA4CF},
    {0xA960, 0xA97F}, {0xAC00, 0xD7A3}, {0xF900, 0xFAFF}, {0xFE10, 0xFE19}, {0xFE30, 0xFE6F},
    {0xFF00, 0xFF60}, {0xFFE0, 0xFFE6}, {0x1F004, 0x1F004}, {0x1F0CF, 0x1F0CF}, {0x1F18E, 0x1F18E},
    {0x1F191, 0x1F19A}, {0x1F200, 0x1F251}, {0x1F300, 0x1F64F}, {0x1F680, 0x1F6FF},
    {0x1F7E0, 0x1F7EB}, {0x1F90C, 0x1F9FF}, {0x1FA70, 0x1FAFF}, {0x20000, 0x2FFFD},
    {0x30000, 0x3FFFD},
};

int hc_cp_unsafe(uint32_t cp) {
    return cp < 0x20 || (cp >= 0x7F && cp < 0xA0) || (cp >= 0x202A && cp <= 0x202E) ||
           (cp >= 0x2066 && cp <= 0x2069) || cp == 0x061C || cp == 0x2028 || cp == 0x2029;
}

int hc_cp_width(uint32_t cp) {
    if (cp < 0x300) return 1;
    if (in_ranges(cp, zero_width, sizeof zero_width / sizeof zero_width[0])) return 0;
    if (in_ranges(cp, wide, sizeof wide / sizeof wide[0])) return 2;
    return 1;
}

int hc_text_width(const char *s) {
    int w = 0;
    size_t n = strlen(s);
    while (n) {
        uint32_t cp;
        int ok;
        size_t k = hc_utf8_next(s, n, &cp, &ok);
        w += hc_cp_unsafe(cp) ? 1 : hc_cp_width(cp);
        s += k; n -= k;
    }
    return w;
}

void hc_text_copy(char *out, size_t cap, const char *s) {
    if (!cap) return;
    size_t n = s ? strlen(s) : 0, o = 0;
    while (n) {
        uint32_t cp;
        int ok;
        size_t k = hc_utf8_next(s, n, &cp, &ok);
        if (o + k >= cap) break;
        memcpy(out + o, s, k);
        o += k; s += k; n -= k;
    }
    out[o] = 0;
}

int hc_code_format(char out[48], const char *s) {
    char digits[41];
    size_t nd = 0, other = 0;
    if (!s) s = "";
    for (const char *p = s; *p; p++) {
        if (*p >= '0' && *p <= '9') { if (nd < 40) digits[nd] = *p; nd++; }
        else if (*p != ' ' && *p != '-') other++;
    }
    if (nd == 40 && !other) {
        size_t o = 0;
        for (size_t i = 0; i < 40; i++) {
            if (i && i % 5 == 0) out[o++] = ' ';
            out[o++] = digits[i];
        }
        out[o] = 0;
        return 1;
    }
    while (*s == ' ') s++;
    hc_text_copy(out, 48, s);
    size_t len = strlen(out);
    while (len && out[len - 1] == ' ') out[--len] = 0;
    return 0;
}

void hc_format_duration(char *out, size_t cap, uint64_t ms) {
    uint64_t s = ms / 1000;
    snprintf(out, cap, "%llu:%02u:%02u", (unsigned long long)(s / 3600), (unsigned)(s / 60 % 60),
             (unsigned)(s % 60));
}
