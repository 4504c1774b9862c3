/* UTF-8 text for the screen and for JSON lines: decoding that never fails (invalid bytes become
 * U+FFFD), display width, and the few fixed formats every front end shows the same way
 * (security code groups, call duration). Pure functions, no locale: names and chat come from
 * other people, so nothing here may trust them to be valid UTF-8 or free of control characters. */
#ifndef HC_UI_TEXT_H
#define HC_UI_TEXT_H

#include <stddef.h>
#include <stdint.h>

#define HC_CP_REPLACEMENT 0xFFFDu

/* Decodes one code point from s (n > 0 bytes available). Returns the bytes consumed (>= 1);
 * *cp is the code point, or HC_CP_REPLACEMENT and *valid = 0 for an invalid, overlong,
 * surrogate or truncated sequence (then exactly one byte is consumed, so decoding resyncs). */
size_t hc_utf8_next(const char *s, size_t n, uint32_t *cp, int *valid);
/* Encodes cp (<= 0x10FFFF, not a surrogate) into out; returns 1..4, or 0 if not encodable. */
size_t hc_utf8_put(uint32_t cp, char out[4]);

/* Columns a code point takes in a terminal: 0 (combining / zero-width), 1, or 2 (East Asian
 * wide, most emoji). A compact table (Markus Kuhn's wcwidth ranges, abridged): terminals
 * disagree on the rarest characters anyway, so the TUI places every cell explicitly. */
int hc_cp_width(uint32_t cp);
/* Characters we never draw as themselves: C0/C1 controls, DEL, and the bidirectional
 * overrides/isolates a display name could use to look like someone else's. */
int hc_cp_unsafe(uint32_t cp);
/* Display width of a UTF-8 string (unsafe characters count as the 1 column of their '?'). */
int hc_text_width(const char *s);

/* Copies at most cap-1 bytes of s into out without cutting a UTF-8 sequence in half. */
void hc_text_copy(char *out, size_t cap, const char *s);

/* Normalises a security code to "ddddd ddddd ddddd ddddd ddddd ddddd ddddd ddddd" (8 groups of
 * 5 digits, single spaces) when s holds exactly 40 digits (any separators); otherwise copies s
 * trimmed. out needs 48 bytes. Returns 1 when the result is a well-formed code. */
int hc_code_format(char out[48], const char *s);

/* "h:mm:ss" (hours unbounded). */
void hc_format_duration(char *out, size_t cap, uint64_t ms);

#endif
