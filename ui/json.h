/* One JSON object per line, built in a growable buffer with a hard cap (bounded memory): used by
 * the headless front end for every event it prints. Strings are escaped for JSON: quotes,
 * backslashes and control characters, and invalid UTF-8 is replaced by U+FFFD, so the output is
 * always valid UTF-8 JSON whatever a peer put in its name or chat. */
#ifndef HC_UI_JSON_H
#define HC_UI_JSON_H

#include <stddef.h>
#include <stdint.h>

#define HC_JSON_MAX (1u << 20)   /* longest line we build; past it the line is cut short (see overflow) */

typedef struct {
    char *buf;
    size_t len, cap;
    int fields;      /* fields written in the current object (for commas) */
    int overflow;    /* the cap or malloc was hit: the line is incomplete, do not print it */
} hc_json;

void hc_json_init(hc_json *j);
void hc_json_free(hc_json *j);
/* Starts a line: {"event":NAME,"t_ms":T */
void hc_json_begin(hc_json *j, const char *event, uint64_t t_ms);
void hc_json_str(hc_json *j, const char *key, const char *val);  /* NULL val -> "" */
void hc_json_u64(hc_json *j, const char *key, uint64_t v);
void hc_json_bool(hc_json *j, const char *key, int v);
/* Splices the members of a JSON object text ("{...}") into the current object. Returns 0, or -1
 * if obj does not look like an object (nothing is written then). Raw newlines inside it are
 * turned into spaces so the result stays one line. */
int hc_json_splice(hc_json *j, const char *obj);
/* Ends the object and the line ("}\n"). Returns the line, or NULL after an overflow. */
const char *hc_json_end(hc_json *j, size_t *len);

/* Appends s escaped as a JSON string body (without quotes). Exposed for tests. */
void hc_json_escape(hc_json *j, const char *s);

#endif
