/* The event log the screen shows: a fixed ring of the newest HC_LOG_CAP entries, each cut to
 * HC_LOG_TEXT bytes on a UTF-8 boundary. Bounded memory however long the meeting runs or however
 * chatty a peer is; the oldest entries fall off first. Security alerts are also kept apart in
 * the UI state (uistate.h), so even a flood of chat cannot push one out of sight. */
#ifndef HC_UI_LOG_H
#define HC_UI_LOG_H

#include <stddef.h>
#include <stdint.h>

#define HC_LOG_CAP 256
#define HC_LOG_TEXT 1152   /* the longest chat (1000 bytes) with its sender's name: never cut */

typedef enum { HC_LOG_INFO, HC_LOG_CHAT, HC_LOG_ALERT } hc_log_kind;

typedef struct {
    hc_log_kind kind;
    uint64_t t_ms;
    char text[HC_LOG_TEXT];
} hc_log_entry;

typedef struct {
    hc_log_entry e[HC_LOG_CAP];
    size_t head;      /* slot of the oldest entry */
    size_t count;
    uint64_t total;   /* entries ever added (dropped = total - count) */
} hc_log;

void hc_log_init(hc_log *l);
void hc_log_add(hc_log *l, hc_log_kind kind, uint64_t t_ms, const char *text);
void hc_log_addf(hc_log *l, hc_log_kind kind, uint64_t t_ms, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
size_t hc_log_count(const hc_log *l);
/* i = 0 is the oldest kept entry, count-1 the newest; NULL when out of range. */
const hc_log_entry *hc_log_get(const hc_log *l, size_t i);

#endif
