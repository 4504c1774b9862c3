/* Display names that cannot pass for someone else's (see app/names.h). All Unicode knowledge is
 * ICU's: character properties, NFKC / NFKC_Casefold, and the UTS #39 confusables data. */
#include "app/names.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/uspoof.h>
#include <unicode/ustring.h>
#include <unicode/utf16.h>
#include <unicode/utf8.h>

#include "crypto/binding.h"

/* One spoof checker for the process: opening one loads the confusables data. Only
 * uspoof_check2UTF8 and uspoof_getSkeleton are called on it after setup, which ICU documents
 * as safe from several threads. */
static USpoofChecker *checker;
static pthread_once_t checker_once = PTHREAD_ONCE_INIT;

static void checker_open(void) {
    UErrorCode e = U_ZERO_ERROR;
    USpoofChecker *sc = uspoof_open(&e);
    /* INVISIBLE: the same nonspacing mark twice in a row on one letter ("é" + U+0301 shows as é). */
    if (U_SUCCESS(e)) uspoof_setChecks(sc, USPOOF_INVISIBLE, &e);
    if (U_FAILURE(e)) {
        if (sc) uspoof_close(sc);
        return;
    }
    checker = sc;
}

static USpoofChecker *get_checker(void) {
    pthread_once(&checker_once, checker_open);
    return checker;
}

/* What is wrong with this code point wherever it stands, as a noun phrase; NULL when nothing.
 * Bidi controls first: LRM, RLM and ALM are default-ignorable too, and "direction mark" says more. */
static const char *cp_problem(UChar32 c) {
    if (u_hasBinaryProperty(c, UCHAR_BIDI_CONTROL)) return "a text-direction mark or control";
    if (u_charType(c) == U_CONTROL_CHAR) return "a control character";
    if (u_charType(c) == U_LINE_SEPARATOR || u_charType(c) == U_PARAGRAPH_SEPARATOR) return "a line or paragraph separator";
    if (u_hasBinaryProperty(c, UCHAR_DEFAULT_IGNORABLE_CODE_POINT)) return "an invisible character";
    if (c != ' ' && u_isUWhiteSpace(c)) return "a space other than the plain space";
    return NULL;
}

static void say(char *why, size_t whylen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void say(char *why, size_t whylen, const char *fmt, ...) {
    if (!why || !whylen) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
}

int hc_name_check(const char *name, char *why, size_t whylen) {
    say(why, whylen, "%s", "");
    size_t n = name ? strlen(name) : 0;
    if (!n) { say(why, whylen, "it is empty"); return -1; }
    if (n > HC_NAME_MAX) { say(why, whylen, "it is longer than %d bytes", HC_NAME_MAX); return -1; }
    if (strspn(name, " ") == n) { say(why, whylen, "it is blank"); return -1; }
    const uint8_t *s = (const uint8_t *)name;
    int32_t len = (int32_t)n, i = 0;
    while (i < len) {
        int32_t at = i;
        UChar32 c;
        U8_NEXT(s, i, len, c);
        if (c < 0) { say(why, whylen, "it is not valid UTF-8 (byte %d)", (int)at + 1); return -1; }
        const char *p = cp_problem(c);
        if (p) { say(why, whylen, "it contains U+%04X, %s", (unsigned)c, p); return -1; }
        /* A byte 0x20 is always a whole character in UTF-8: the byte before is the character before. */
        if (c == ' ' && at > 0 && s[at - 1] == ' ') { say(why, whylen, "it has two spaces in a row"); return -1; }
    }
    if (name[0] == ' ') { say(why, whylen, "it starts with a space"); return -1; }
    if (name[n - 1] == ' ') { say(why, whylen, "it ends with a space"); return -1; }
    /* The structural rule the announcement decoder applies (crypto/binding.c): never accept here
     * what a peer would refuse to decode. */
    if (!hc_valid_name(name, n)) { say(why, whylen, "it is not UTF-8 text without control characters"); return -1; }
    USpoofChecker *sc = get_checker();
    if (!sc) { say(why, whylen, "the Unicode data to check it is not available"); return -1; }
    UErrorCode e = U_ZERO_ERROR;
    int32_t r = uspoof_checkUTF8(sc, name, len, NULL, &e);
    if (U_FAILURE(e)) { say(why, whylen, "the Unicode data to check it is not available"); return -1; }
    if (r & USPOOF_INVISIBLE) { say(why, whylen, "it repeats the same accent mark on one letter"); return -1; }
    return 0;
}

int hc_name_check_msg(const char *name, char *msg, size_t msglen) {
    char why[HC_NAME_WHY_MAX], shown[HC_NAME_ESCAPED_MAX];
    if (hc_name_check(name, why, sizeof why) == 0) return 0;
    hc_name_escape(shown, sizeof shown, name ? name : "");
    say(msg, msglen, "the name must be " HC_NAME_RULE "; '%s' is not: %s", shown, why);
    return -1;
}

void hc_name_escape(char *out, size_t cap, const char *name) {
    if (!cap) return;
    size_t o = 0;
    const uint8_t *s = (const uint8_t *)name;
    int32_t len = (int32_t)strlen(name), i = 0;
    while (i < len) {
        int32_t at = i;
        UChar32 c;
        U8_NEXT(s, i, len, c);
        char piece[16];
        const char *txt = piece;
        size_t pl;
        int edge_or_double = c == ' ' && (at == 0 || i == len || s[i] == ' ' || (at > 0 && s[at - 1] == ' '));
        if (c < 0) pl = (size_t)snprintf(piece, sizeof piece, "<0x%02X>", s[at]);
        else if (cp_problem(c) || edge_or_double) pl = (size_t)snprintf(piece, sizeof piece, "<U+%04X>", (unsigned)c);
        else { txt = name + at; pl = (size_t)(i - at); }
        if (o + pl >= cap) break;                            /* whole pieces only */
        memcpy(out + o, txt, pl);
        o += pl;
    }
    out[o] = '\0';
}

/* ---- comparison keys ---- */

/* A UTF-16 string of ICU's making: preflight, then fill. `fill` returns the length it needs. */
typedef int32_t (*fill_fn)(const void *ctx, const UChar *in, int32_t len, UChar *out, int32_t cap, UErrorCode *e);

static UChar *run(fill_fn f, const void *ctx, const UChar *in, int32_t len, int32_t *outlen) {
    UErrorCode e = U_ZERO_ERROR;
    int32_t need = f(ctx, in, len, NULL, 0, &e);
    if (e != U_BUFFER_OVERFLOW_ERROR && U_FAILURE(e)) return NULL;
    UChar *out = malloc(((size_t)need + 1) * sizeof *out);
    if (!out) return NULL;
    e = U_ZERO_ERROR;
    *outlen = f(ctx, in, len, out, need + 1, &e);
    if (U_FAILURE(e)) { free(out); return NULL; }
    return out;
}

static int32_t fill_normalize(const void *nz, const UChar *in, int32_t len, UChar *out, int32_t cap, UErrorCode *e) {
    return unorm2_normalize(nz, in, len, out, cap, e);
}

static int32_t fill_skeleton(const void *sc, const UChar *in, int32_t len, UChar *out, int32_t cap, UErrorCode *e) {
    return uspoof_getSkeleton(sc, 0, in, len, out, cap, e);
}

/* In place: drop default-ignorable code points (NFKC keeps them, NFKC_Casefold drops them), trim
 * white space at both ends and squash runs of it into one plain space. Names in the verified store
 * saved before the rules existed may have any of these. */
static int32_t squash(UChar *s, int32_t len) {
    int32_t i = 0, o = 0, space = 0;
    while (i < len) {
        UChar32 c;
        U16_NEXT(s, i, len, c);
        if (u_hasBinaryProperty(c, UCHAR_DEFAULT_IGNORABLE_CODE_POINT)) continue;
        if (u_isUWhiteSpace(c)) { space = o > 0; continue; }
        if (space) { s[o++] = ' '; space = 0; }
        U16_APPEND_UNSAFE(s, o, c);                          /* never longer than what was read */
    }
    return o;
}

static UChar *key_of(const UChar *u, int32_t ulen, int fold, int32_t *klen) {
    UErrorCode e = U_ZERO_ERROR;
    const UNormalizer2 *nz = fold ? unorm2_getNFKCCasefoldInstance(&e) : unorm2_getNFKCInstance(&e);
    USpoofChecker *sc = get_checker();
    if (U_FAILURE(e) || !sc) return NULL;
    int32_t nlen;
    UChar *norm = run(fill_normalize, nz, u, ulen, &nlen);
    if (!norm) return NULL;
    nlen = squash(norm, nlen);
    UChar *k = run(fill_skeleton, sc, norm, nlen, klen);
    free(norm);
    return k;
}

int hc_name_key_make(hc_name_key *key, const char *name) {
    memset(key, 0, sizeof *key);
    UErrorCode e = U_ZERO_ERROR;
    int32_t ulen = 0;
    u_strFromUTF8WithSub(NULL, 0, &ulen, name, -1, 0xFFFD, NULL, &e);
    if (e != U_BUFFER_OVERFLOW_ERROR && U_FAILURE(e)) return -1;
    UChar *u = malloc(((size_t)ulen + 1) * sizeof *u);
    if (!u) return -1;
    e = U_ZERO_ERROR;
    u_strFromUTF8WithSub(u, ulen + 1, &ulen, name, -1, 0xFFFD, NULL, &e);
    for (int f = 0; f < 2 && U_SUCCESS(e); f++)
        key->k[f] = key_of(u, ulen, f, &key->len[f]);
    free(u);
    if (U_FAILURE(e) || !key->k[0] || !key->k[1]) {
        hc_name_key_free(key);
        return -1;
    }
    return 0;
}

void hc_name_key_free(hc_name_key *key) {
    for (int f = 0; f < 2; f++) {
        free(key->k[f]);
        key->k[f] = NULL;
        key->len[f] = 0;
    }
}

int hc_name_key_match(const hc_name_key *a, const hc_name_key *b) {
    for (int f = 0; f < 2; f++)
        if (a->k[f] && b->k[f] && a->len[f] == b->len[f] &&
            !memcmp(a->k[f], b->k[f], (size_t)a->len[f] * sizeof(UChar)))
            return 1;
    return 0;
}

int hc_names_confusable(const char *a, const char *b) {
    hc_name_key ka, kb;
    int ra = hc_name_key_make(&ka, a), rb = hc_name_key_make(&kb, b);
    int match = ra == 0 && rb == 0 && hc_name_key_match(&ka, &kb);
    hc_name_key_free(&ka);
    hc_name_key_free(&kb);
    return match;
}
