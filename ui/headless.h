/* The headless front end's two formats, exposed for tests (the front end itself is created with
 * hc_headless_new in frontend.h).
 *
 * Output: one JSON object per line, each with "event" and "t_ms":
 *   meeting {meeting_id, uuid}            joined {index, leader}
 *   participant_joined {index, name, fingerprint}
 *   participant_left {index, name, fingerprint, reason}
 *   leader_changed {leader, name, fingerprint}   key_epoch {epoch, members}
 *   security_code {code, leader, verified}       security_alert {kind, detail}
 *   heartbeat_timeout {detail}            chat {from, name, text}
 *   admission_request {index, name, fingerprint} mute_changed {index, muted}
 *   lock_changed {locked}                 verified {verified, code, leader}
 *   notice {text}                         stats {...the session's JSON object, spliced in}
 *   left {reason}                         error {code, message}
 * Missing strings are "". A code is "ddddd ddddd ... ddddd" (8 groups of 5 digits).
 *
 * Input: one command per line (at most HC_HEADLESS_LINE_MAX bytes; a trailing CR is ignored,
 * blank lines are skipped):
 *   mute | unmute | chat TEXT | lock | unlock | kick INDEX | admit INDEX | deny INDEX |
 *   verify | stats | devices | leave | end
 * Anything else prints {"event":"error","code":"bad_command","message":...} and reading goes on. */
#ifndef HC_UI_HEADLESS_H
#define HC_UI_HEADLESS_H

#include <stddef.h>

#include "app/events.h"
#include "ui/json.h"

#define HC_HEADLESS_LINE_MAX 4096

/* Parses one command line (without its newline). On success fills cmd (cmd->text points into
 * line) and returns 0; otherwise writes a message to err and returns -1. */
int hc_headless_parse(const char *line, hc_command *cmd, char *err, size_t errlen);

/* Formats one event as a JSON line (ending in "\n") in j. Returns the line, or NULL when the
 * event cannot be formatted (too large). */
const char *hc_headless_format(hc_json *j, const hc_event *ev, size_t *len);

#endif
