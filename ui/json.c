/* JSON line building and string escaping (see json.h). */
#include "ui/json.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ui/text.h"

void hc_json_init(hc_json *j) { memset(j, 0, sizeof *j); }

void hc_json_free(hc_json *j) {
    free(j->buf);
    memset(j, 0, sizeof *j);
}

static void put(hc_json *j, const char *s, size_t n) {
    if (j->overflow) return;
    if (j->len + n + 1 > j->cap) {
        size_t cap = j->cap ? j->cap : 256;
        while (cap < j->len + n + 1) cap *= 2;
        if (cap > HC_JSON_MAX) { j->overflow = 1; return; }
        char *b = realloc(j->buf, cap);
        if (!b) { j->overflow = 1; return; }
        j->buf = b;
        j->cap = cap;
    }
    memcpy(j->buf + j->len, s, n);
    j->len += n;
    j->buf[j->len] = 0;
}

static void puts_(hc_json *j, const char *s) { put(j, s, strlen(s)); }

void hc_json_escape(hc_json *j, const char *s) {
    if (!s) return;
    size_t n = strlen(s);
    while (n) {
        uint32_t cp;
        int ok;
        size_t k = hc_utf8_next(s, n, &cp, &ok);
        char esc[8];
        if (!ok) {
            put(j, "\xEF\xBF\xBD", 3);            /* U+FFFD for each invalid byte */
        } else if (cp == '"') {
            put(j, "\\\"", 2);
        } else if (cp == '\\') {
            put(j, "\\\\", 2);
        } else if (cp == '\n') {
            put(j, "\\n", 2);
        } else if (cp == '\r') {
            put(j, "\\r", 2);
        } else if (cp == '\t') {
            put(j, "\\t", 2);
        } else if (cp < 0x20 || cp == 0x7F) {
            snprintf(esc, sizeof esc, "\\u%04x", (unsigned)cp);
            put(j, esc, 6);
        } else if (cp == 0x2028 || cp == 0x2029) {
            /* Valid JSON raw, but line separators for JavaScript readers of our lines. */
            snprintf(esc, sizeof esc, "\\u%04x", (unsigned)cp);
            put(j, esc, 6);
        } else {
            put(j, s, k);
        }
        s += k; n -= k;
    }
}

static void key(hc_json *j, const char *k) {
    if (j->fields++) put(j, ",", 1);
    put(j, "\"", 1);
    hc_json_escape(j, k);
    put(j, "\":", 2);
}

void hc_json_begin(hc_json *j, const char *event, uint64_t t_ms) {
    j->len = 0;
    j->fields = 0;
    j->overflow = 0;
    put(j, "{", 1);
    hc_json_str(j, "event", event);
    hc_json_u64(j, "t_ms", t_ms);
}

void hc_json_str(hc_json *j, const char *k, const char *val) {
    key(j, k);
    put(j, "\"", 1);
    hc_json_escape(j, val ? val : "");
    put(j, "\"", 1);
}

void hc_json_u64(hc_json *j, const char *k, uint64_t v) {
    char b[24];
    key(j, k);
    snprintf(b, sizeof b, "%" PRIu64, v);
    puts_(j, b);
}

void hc_json_bool(hc_json *j, const char *k, int v) {
    key(j, k);
    puts_(j, v ? "true" : "false");
}

int hc_json_splice(hc_json *j, const char *obj) {
    if (!obj) return -1;
    const char *a = obj, *b = obj + strlen(obj);
    while (a < b && (*a == ' ' || *a == '\t' || *a == '\n' || *a == '\r')) a++;
    while (b > a && (b[-1] == ' ' || b[-1] == '\t' || b[-1] == '\n' || b[-1] == '\r')) b--;
    if (b - a < 2 || *a != '{' || b[-1] != '}') return -1;
    a++; b--;
    const char *c = a;
    while (c < b && (*c == ' ' || *c == '\t' || *c == '\n' || *c == '\r')) c++;
    if (c == b) return 0;                          /* "{}": nothing to add */
    put(j, ",", 1);
    j->fields++;
    for (const char *p = c; p < b; p++) {
        char ch = (*p == '\n' || *p == '\r') ? ' ' : *p;
        put(j, &ch, 1);
    }
    return 0;
}

const char *hc_json_end(hc_json *j, size_t *len) {
    put(j, "}\n", 2);
    if (j->overflow) { if (len) *len = 0; return NULL; }
    if (len) *len = j->len;
    return j->buf;
}
