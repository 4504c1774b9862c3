/* Display names that cannot pass for someone else's (PROTOCOL.md §3.2 "Display names", §7).
 *
 * A name is what people read to decide who is who, and the verified-leader store flags a known
 * name with a new key as a possible impostor. Both fail if two names look the same but differ in
 * bytes, so:
 *
 *   - hc_name_check refuses names with characters that do not show (Unicode default-ignorable
 *     code points: zero-width space and joiners, word joiner, soft hyphen, BOM, combining grapheme
 *     joiner, Hangul fillers, ...), text-direction marks and controls (LRM, RLM, ALM, embeddings,
 *     overrides, isolates), spaces other than the plain space, a space at either end or two in a
 *     row, the same accent mark repeated, and blank names. It applies where a name is accepted:
 *     --name, the config file, and every name that arrives in a signed announcement.
 *   - hc_name_key is what names are compared by: the UTS #39 confusable skeleton of the NFKC
 *     form, without default-ignorables, spaces trimmed and squashed; once as written and once
 *     case-folded (NFKC_Casefold). Two names are confusable when either pair of keys is equal:
 *     "Alice" with a Cyrillic "А", "ALICE", "A1ice", "AIice", fullwidth "Ａｌｉｃｅ".
 *
 * The Unicode data (properties, normalization, confusables) is ICU's, maintained with each
 * Unicode release, never a table of our own. */
#ifndef HC_NAMES_H
#define HC_NAMES_H

#include <stddef.h>
#include <stdint.h>

/* The rule in words, for messages and help texts. */
#define HC_NAME_RULE                                                                                  \
    "1 to 64 bytes of UTF-8 without invisible characters, text-direction marks, control characters, " \
    "spaces at either end or two spaces in a row"

/* Room for any reason hc_name_check gives. */
#define HC_NAME_WHY_MAX 160
/* Room for hc_name_escape's output of any name up to HC_NAME_MAX bytes ("<U+XXXXXX>" per byte). */
#define HC_NAME_ESCAPED_MAX (64 * 10 + 1)

/* 0 when name (NUL-terminated) is an acceptable display name; else -1, and why (if given) says
 * what is wrong in words, naming the code point ("it contains U+200B, an invisible character"). */
int hc_name_check(const char *name, char *why, size_t whylen);

/* hc_name_check, with a whole sentence for the user in msg when the name is refused: "the name
 * must be <the rule>; 'Al<U+200B>ice' is not: it contains U+200B, an invisible character". */
#define HC_NAME_MSG_MAX (sizeof HC_NAME_RULE + HC_NAME_ESCAPED_MAX + HC_NAME_WHY_MAX + 32)
int hc_name_check_msg(const char *name, char *msg, size_t msglen);

/* The name as text safe to show in a message about it: every code point hc_name_check objects to
 * (and any byte that is not UTF-8) written as <U+XXXX>, everything else as it is. */
void hc_name_escape(char *out, size_t cap, const char *name);

/* Comparison keys of a name (see above). Keys hold allocated memory: free them. */
typedef struct {
    uint16_t *k[2];      /* UTF-16: [0] as written, [1] case-folded; NULL when not made */
    int32_t len[2];
} hc_name_key;

/* Returns 0, or -1 (out of memory, or ICU failed); the key is then empty and matches nothing. */
int hc_name_key_make(hc_name_key *key, const char *name);
void hc_name_key_free(hc_name_key *key);
/* 1 when the names of a and b could be taken for each other. */
int hc_name_key_match(const hc_name_key *a, const hc_name_key *b);
/* The same for two names (makes and frees the keys). */
int hc_names_confusable(const char *a, const char *b);

#endif
