/* The look-alike names of issue 11 point 5, each pretending to be "Alice": an invisible
 * character, a direction mark, a Cyrillic letter or a stray space makes the bytes differ while
 * the screen shows the same name. Shared by the name, verified-store and meeting tests. */
#ifndef HC_TEST_LOOKALIKES_H
#define HC_TEST_LOOKALIKES_H

static const struct {
    const char *what, *name;
} hc_lookalikes[] = {
    {"zero-width space", "Al\xE2\x80\x8B" "ice"},
    {"zero-width joiner", "Al\xE2\x80\x8D" "ice"},
    {"word joiner", "Al\xE2\x81\xA0" "ice"},
    {"soft hyphen", "Al\xC2\xAD" "ice"},
    {"BOM", "\xEF\xBB\xBF" "Alice"},
    {"LRM", "Alice\xE2\x80\x8E"},
    {"RLM", "Alice\xE2\x80\x8F"},
    {"ALM", "Alice\xD8\x9C"},
    {"Cyrillic A", "\xD0\x90lice"},
    {"trailing space", "Alice "},
    {"combining grapheme joiner", "Al\xCD\x8F" "ice"},
    {"Hangul filler", "Alice\xE3\x85\xA4"},
};
#define HC_N_LOOKALIKES (sizeof hc_lookalikes / sizeof hc_lookalikes[0])

#endif
