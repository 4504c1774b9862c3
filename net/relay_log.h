/* The relay's operator log: one JSON object per line (to stderr or a file), for what happens on
 * the relay — connections opened/closed, meetings created/ended, members joined/left, refusals
 * (limits hit, malformed frames, attacks refused). Never keys or content; member display names
 * only when the operator asks (--log-names), since they are the one personal thing the relay sees.
 *
 *   {"event":"member_joined","t_ms":1796425200123,"level":"info","conn":3,"meeting_id":"0123456789","index":1}
 *
 * t_ms is wall-clock time (milliseconds since 1970) so lines can be matched to other logs. */
#ifndef HC_RELAY_LOG_H
#define HC_RELAY_LOG_H

#include <stdint.h>
#include <stdio.h>
#include "net/relay_core.h"

typedef enum { HC_RLOG_ERROR = 0, HC_RLOG_WARN = 1, HC_RLOG_INFO = 2, HC_RLOG_DEBUG = 3 } hc_rlog_level;

typedef struct {
    FILE *f;             /* NULL: logging off */
    hc_rlog_level level;  /* lines above this level are not written */
    int names;           /* --log-names: member_joined carries the display name */
} hc_relay_log;

/* "error"|"warn"|"info"|"debug" -> level; -1 for anything else. */
int hc_rlog_level_parse(const char *s, hc_rlog_level *out);
const char *hc_rlog_level_name(hc_rlog_level l);
/* A core event (net/relay_core.h) as one line. */
void hc_relay_log_event(const hc_relay_log *lg, const hc_relay_event *ev);
/* I/O-level events (net/relay.c). addr may be NULL. */
void hc_relay_log_conn(const hc_relay_log *lg, hc_rlog_level lvl, const char *event, uint64_t conn,
                       const char *addr, const char *reason);
/* A free-form line: {"event":EVENT,...,"message":MSG} (start, stop, metrics endpoint). */
void hc_relay_log_msg(const hc_relay_log *lg, hc_rlog_level lvl, const char *event, const char *msg);

#endif
