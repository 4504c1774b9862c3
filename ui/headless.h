/* The headless front end's two formats, exposed for tests (the front end itself is created with
 * hc_headless_new in frontend.h).
 *
 * Output: one JSON object per line, each with "event" and "t_ms" (docs/headless.schema.json has
 * them all; the first line also carries "version", a line printed while a command with an id runs
 * carries "id", an error answering a command names it in "command"):
 *   meeting {meeting_id, uuid}            joined {index, leader, meeting_id}
 *   waiting {index, leader, meeting_id, name, fingerprint}
 *   ok {command, id}                      (a command with an id was carried out)
 *   participant_joined {index, name, fingerprint}
 *   participant_left {index, name, fingerprint, reason}
 *   leader_changed {leader, name, fingerprint}   key_epoch {epoch, members}
 *   security_code {code, leader, verified}       security_alert {kind, detail}
 *   heartbeat_timeout {detail}            chat {index, from (= index, deprecated), name, text}
 *   admission_request {index, name, fingerprint} mute_changed {index, muted}
 *   lock_changed {locked}                 verified {verified, code, leader}
 *   notice {text}                         stats {...the session's JSON object, spliced in}
 *   left {reason}                         error {code, message}
 * Missing strings are "". A code is "ddddd ddddd ... ddddd" (8 groups of 5 digits).
 *
 * Input: one command per line (at most HC_HEADLESS_LINE_MAX bytes; a trailing CR is ignored,
 * blank lines are skipped):
 *   mute | unmute | chat TEXT | lock | unlock | kick INDEX | admit INDEX | deny INDEX |
 *   verify | stats | devices | video on|off | pin INDEX | unpin | leave | end
 * optionally preceded by an id (hc_headless_parse_id): "7 kick 3".
 * Anything else prints {"event":"error","code":"bad_command","message":...} and reading goes on. */
#ifndef HC_UI_HEADLESS_H
#define HC_UI_HEADLESS_H

#include <stddef.h>
#include <stdint.h>

#include "app/events.h"
#include "ui/json.h"

#define HC_HEADLESS_LINE_MAX 4096
/* The contract's version, on the first line printed ("version"): raised when a field changes
 * meaning or goes away; new events and fields may appear within a version. */
#define HC_HEADLESS_VERSION 1
/* A command may start with an id of up to this many digits ("7 kick 3"): exact as a JSON number
 * in any reader (below 2^53). */
#define HC_HEADLESS_ID_DIGITS 15

/* What a line carries besides the event's own fields. */
typedef struct {
    int version;              /* nonzero: "version" (the first line) */
    int has_id;
    uint64_t id;              /* "id": the caller's id of the command this answers */
    const char *command;      /* "command": the command an error answers (NULL: none) */
} hc_headless_extra;

/* Takes a leading command id off *line ("7 kick 3" -> id 7, *line "kick 3"). Returns 1 if there
 * was one, else 0 and leaves *line alone. */
int hc_headless_parse_id(const char **line, uint64_t *id);

/* Parses one command line (without its newline). On success fills cmd (cmd->text points into
 * line) and returns 0; otherwise writes a message to err and returns -1. */
int hc_headless_parse(const char *line, hc_command *cmd, char *err, size_t errlen);

/* Formats one event as a JSON line (ending in "\n") in j. Returns the line, or NULL when the
 * event cannot be formatted (too large). */
const char *hc_headless_format(hc_json *j, const hc_event *ev, size_t *len);
/* The same with the extras (x may be NULL): "version" after t_ms, "command" and "id" last. */
const char *hc_headless_format_ex(hc_json *j, const hc_event *ev, const hc_headless_extra *x, size_t *len);

#endif
