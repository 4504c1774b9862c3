/* Local UI state and how events change it (see uistate.h). */
#include "ui/uistate.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ui/text.h"

hc_ui *hc_ui_new(int ascii) {
    hc_ui *ui = calloc(1, sizeof *ui);
    if (!ui) return NULL;
    ui->ascii = ascii;
    hc_log_init(&ui->log);
    return ui;
}

void hc_ui_free(hc_ui *ui) {
    if (!ui) return;
    free(ui->parts);
    free(ui);
}

void hc_ui_note(hc_ui *ui, hc_log_kind kind, const char *fmt, ...) {
    char buf[HC_LOG_TEXT];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    hc_log_add(&ui->log, kind, ui->now_ms, buf);
}

void hc_ui_alert(hc_ui *ui, const char *text) {
    /* A second alert replaces the shown text (the newest matters most) and is counted, so the
     * user knows there were several; all of them are in the log. */
    if (ui->alert_active) ui->alert_more++;
    else ui->alert_more = 0;
    ui->alert_active = 1;
    hc_text_copy(ui->alert_text, sizeof ui->alert_text, text);
    hc_log_add(&ui->log, HC_LOG_ALERT, ui->now_ms, text);
}

const hc_view_participant *hc_ui_find(const hc_ui *ui, uint32_t index) {
    for (size_t i = 0; i < ui->st.n_participants; i++)
        if (ui->parts[i].index == index) return &ui->parts[i];
    return NULL;
}

const hc_view_participant *hc_ui_selected(const hc_ui *ui) {
    if (!ui->has_sel || ui->sel_pos >= ui->st.n_participants) return NULL;
    return &ui->parts[ui->sel_pos];
}

static void fix_scroll(hc_ui *ui) {
    size_t n = ui->st.n_participants;
    size_t rows = ui->part_rows > 0 ? (size_t)ui->part_rows : 0;
    if (!rows) return;
    if (ui->sel_pos < ui->part_scroll) ui->part_scroll = ui->sel_pos;
    if (ui->sel_pos >= ui->part_scroll + rows) ui->part_scroll = ui->sel_pos - rows + 1;
    if (n > rows && ui->part_scroll > n - rows) ui->part_scroll = n - rows;
    if (n <= rows) ui->part_scroll = 0;
}

void hc_ui_select_move(hc_ui *ui, int delta) {
    size_t n = ui->st.n_participants;
    if (!n) return;
    long pos = (long)ui->sel_pos + delta;
    if (pos < 0) pos = 0;
    if (pos >= (long)n) pos = (long)n - 1;
    ui->sel_pos = (size_t)pos;
    ui->sel_index = ui->parts[pos].index;
    ui->has_sel = 1;
    fix_scroll(ui);
}

static void person_from(hc_ui_person *p, uint32_t index, const char *name, const char *fp) {
    p->index = index;
    hc_text_copy(p->name, sizeof p->name, name ? name : "?");
    hc_text_copy(p->fingerprint, sizeof p->fingerprint, fp ? fp : "");
}

void hc_ui_pending_remove(hc_ui *ui, uint32_t index) {
    for (size_t i = 0; i < ui->n_pending; i++) {
        if (ui->pending[i].index != index) continue;
        memmove(&ui->pending[i], &ui->pending[i + 1], (ui->n_pending - i - 1) * sizeof ui->pending[0]);
        ui->n_pending--;
        i--;
    }
}

int hc_ui_waiting_first(const hc_ui *ui, hc_ui_person *out) {
    if (ui->n_pending) { *out = ui->pending[0]; return 1; }
    for (size_t i = 0; i < ui->st.n_participants; i++) {
        const hc_view_participant *p = &ui->parts[i];
        if (p->waiting) { person_from(out, p->index, p->name, p->fingerprint); return 1; }
    }
    return 0;
}

static const char *name_of(const hc_ui *ui, uint32_t index, char *buf, size_t cap) {
    const hc_view_participant *p = hc_ui_find(ui, index);
    if (p) return p->name;
    snprintf(buf, cap, "#%u", (unsigned)index);
    return buf;
}

/* A security code we had not seen: when a different one replaces a known one, the leader (its
 * key) changed, and everyone must compare again (PROTOCOL.md §7). */
static void code_seen(hc_ui *ui, const char *raw) {
    char code[48];
    hc_code_format(code, raw);
    if (!code[0] || !strcmp(code, ui->last_code)) return;
    int changed = ui->last_code[0] != 0;
    memcpy(ui->last_code, code, sizeof code);
    if (changed) ui->dialog = HC_DLG_LEADER;
}

void hc_ui_set_state(hc_ui *ui, const hc_view_state *st) {
    size_t n = st->n_participants;
    if (!st->participants) n = 0;
    if (n > HC_UI_PARTS_MAX) n = HC_UI_PARTS_MAX;
    if (n > ui->parts_cap) {
        size_t cap = ui->parts_cap ? ui->parts_cap : 16;
        while (cap < n) cap *= 2;
        hc_view_participant *p = realloc(ui->parts, cap * sizeof *p);
        if (!p) n = ui->parts_cap;             /* keep what fits rather than fail */
        else { ui->parts = p; ui->parts_cap = cap; }
    }
    ui->st = *st;
    if (n) memcpy(ui->parts, st->participants, n * sizeof *ui->parts);
    for (size_t i = 0; i < n; i++) {          /* the session's strings may not be terminated */
        ui->parts[i].name[HC_NAME_MAX] = 0;
        ui->parts[i].fingerprint[24] = 0;
        /* The picture belongs to the session and is only valid during its update() call. */
        ui->parts[i].video = NULL;
    }
    ui->st.n_participants = n;
    ui->st.participants = ui->parts;
    ui->st.meeting_id[HC_MEETING_ID_MAX] = 0;
    ui->st.leader_name[HC_NAME_MAX] = 0;
    ui->st.code[sizeof ui->st.code - 1] = 0;
    hc_text_copy(ui->audio_in, sizeof ui->audio_in, st->audio_in ? st->audio_in : "");
    hc_text_copy(ui->audio_out, sizeof ui->audio_out, st->audio_out ? st->audio_out : "");
    hc_text_copy(ui->audio_note, sizeof ui->audio_note, st->audio_note ? st->audio_note : "");
    ui->st.audio_in = ui->audio_in;
    ui->st.audio_out = ui->audio_out;
    ui->st.audio_note = ui->audio_note[0] ? ui->audio_note : NULL;
    hc_text_copy(ui->net_note, sizeof ui->net_note, st->net_note ? st->net_note : "");
    ui->st.net_note = ui->net_note[0] ? ui->net_note : NULL;
    ui->have_state = 1;

    code_seen(ui, ui->st.code);

    /* Keep the selection on the same person; if they left, stay at the same row. */
    if (!n) { ui->has_sel = 0; ui->sel_pos = 0; ui->part_scroll = 0; return; }
    size_t pos = n;
    if (ui->has_sel)
        for (size_t i = 0; i < n; i++)
            if (ui->parts[i].index == ui->sel_index) { pos = i; break; }
    if (pos == n) pos = ui->sel_pos < n ? ui->sel_pos : n - 1;
    ui->sel_pos = pos;
    ui->sel_index = ui->parts[pos].index;
    ui->has_sel = 1;
    fix_scroll(ui);
}

void hc_ui_on_event(hc_ui *ui, const hc_event *ev) {
    char nb[24], code[48];
    if (ev->t_ms > ui->now_ms) ui->now_ms = ev->t_ms;
    const char *name = ev->name ? ev->name : "?";
    const char *fp = ev->fingerprint ? ev->fingerprint : "";
    switch (ev->type) {
    case HC_EV_MEETING:
        hc_ui_note(ui, HC_LOG_INFO, "meeting %s created: others join with this id",
                   ev->meeting_id ? ev->meeting_id : "?");
        break;
    case HC_EV_JOINED:
        hc_ui_note(ui, HC_LOG_INFO, "joined as #%u; the leader is #%u", (unsigned)ev->index,
                   (unsigned)ev->leader);
        break;
    case HC_EV_PARTICIPANT_JOINED:
        hc_ui_pending_remove(ui, ev->index);
        hc_ui_note(ui, HC_LOG_INFO, "%s joined (#%u, %s)", name, (unsigned)ev->index, fp);
        break;
    case HC_EV_PARTICIPANT_LEFT:
        hc_ui_pending_remove(ui, ev->index);
        hc_ui_note(ui, HC_LOG_INFO, "%s left (#%u)%s%s", name, (unsigned)ev->index,
                   ev->reason && *ev->reason ? ": " : "", ev->reason ? ev->reason : "");
        break;
    case HC_EV_LEADER_CHANGED:
        hc_text_copy(ui->notice_leader, sizeof ui->notice_leader, name);
        hc_ui_note(ui, HC_LOG_ALERT, "the leader is now %s (#%u, %s): compare the new security code",
                   name, (unsigned)ev->leader, fp);
        /* Only a change: the first leader we learn of is not news. */
        if (ui->last_code[0]) ui->dialog = HC_DLG_LEADER;
        break;
    case HC_EV_KEY_EPOCH:
        hc_ui_note(ui, HC_LOG_INFO, "new meeting key, epoch %u (%u members)", (unsigned)ev->epoch,
                   (unsigned)ev->members);
        break;
    case HC_EV_SECURITY_CODE:
        hc_code_format(code, ev->code);
        hc_ui_note(ui, HC_LOG_INFO, "security code %s: %s", code,
                   ev->flag ? "verified" : "NOT verified (press v to compare it with everyone)");
        code_seen(ui, ev->code);
        break;
    case HC_EV_SECURITY_ALERT: {
        char t[300];
        snprintf(t, sizeof t, "SECURITY ALERT: %s%s%s", ev->kind ? ev->kind : "alert",
                 ev->detail && *ev->detail ? ": " : "", ev->detail ? ev->detail : "");
        hc_ui_alert(ui, t);
        break;
    }
    case HC_EV_HEARTBEAT_TIMEOUT: {
        /* The meeting is over either way, so it stays on the alert line; but a stall is a
         * connection problem and says so: only heartbeats that failed the checks are security. */
        char t[300];
        int stall = ev->reason && !strcmp(ev->reason, "connectivity");
        snprintf(t, sizeof t, "%s: %s", stall ? "CONNECTION LOST" : "HEARTBEAT TIMEOUT",
                 ev->detail ? ev->detail : "no heartbeat from the leader");
        hc_ui_alert(ui, t);
        break;
    }
    case HC_EV_JOINING:
        /* Not news worth a log line each time: the list header shows the count. */
        ui->joining = ev->members;
        break;
    case HC_EV_CHAT:
        hc_ui_note(ui, HC_LOG_CHAT, "<%s> %s", ev->name ? ev->name : name_of(ui, ev->index, nb, sizeof nb),
                   ev->text ? ev->text : "");
        break;
    case HC_EV_ADMISSION_REQUEST: {
        hc_ui_pending_remove(ui, ev->index);
        if (ui->n_pending == HC_UI_PENDING_MAX) hc_ui_pending_remove(ui, ui->pending[0].index);
        person_from(&ui->pending[ui->n_pending++], ev->index, name, fp);
        hc_ui_note(ui, HC_LOG_ALERT, "%s (#%u, %s) asks to join: a admits, d denies", name,
                   (unsigned)ev->index, fp);
        break;
    }
    case HC_EV_MUTE_CHANGED: {
        const hc_view_participant *p = hc_ui_find(ui, ev->index);
        if (p && p->is_self) hc_ui_note(ui, HC_LOG_INFO, "you are %s", ev->flag ? "muted" : "unmuted");
        else hc_ui_note(ui, HC_LOG_INFO, "%s %s", name_of(ui, ev->index, nb, sizeof nb),
                        ev->flag ? "muted" : "unmuted");
        break;
    }
    case HC_EV_LOCK_CHANGED:
        hc_ui_note(ui, HC_LOG_INFO, "%s", ev->flag ? "meeting locked: nobody new can join" : "meeting unlocked");
        break;
    case HC_EV_ADMIT_POLICY: {
        /* The meeting's policy (the leader's signed list), which a new leader keeps. */
        const char *p = ev->reason ? ev->reason : "auto";
        hc_ui_note(ui, HC_LOG_INFO, "admission: %s", !strcmp(p, "ask") ? "ask (the leader admits each newcomer)"
                                                     : !strcmp(p, "known") ? "known (verified keys only)"
                                                                           : "auto (anyone with the meeting id)");
        break;
    }
    case HC_EV_VERIFIED:
        hc_code_format(code, ev->code);
        hc_ui_note(ui, HC_LOG_INFO, "security code %s %s", code,
                   ev->flag ? "VERIFIED: remembered for this leader" : "no longer verified");
        break;
    case HC_EV_NOTICE:
        hc_ui_note(ui, HC_LOG_INFO, "%s", ev->text ? ev->text : "");
        break;
    case HC_EV_STATS:
        hc_ui_note(ui, HC_LOG_INFO, "stats %s", ev->text ? ev->text : "{}");
        break;
    case HC_EV_LEFT:
        hc_ui_note(ui, HC_LOG_INFO, "you left the meeting%s%s", ev->reason && *ev->reason ? ": " : "",
                   ev->reason ? ev->reason : "");
        break;
    case HC_EV_ERROR:
        hc_ui_note(ui, HC_LOG_ALERT, "error%s%s: %s", ev->code ? " " : "", ev->code ? ev->code : "",
                   ev->text ? ev->text : "");
        break;
    case HC_EV_RECONNECTING:
        /* Not a security matter: the screen's status says "reconnecting" meanwhile (the session's
         * net note); the log keeps what happened. */
        hc_ui_note(ui, HC_LOG_ALERT, "relay lost, reconnecting: %s", ev->text ? ev->text : "");
        break;
    case HC_EV_RECONNECTED:
        hc_ui_note(ui, HC_LOG_INFO, "back in meeting %s after %.1f s", ev->meeting_id ? ev->meeting_id : "?",
                   (double)ev->after_ms / 1000.0);
        break;
    case HC_EV_VIDEO_STARTED:
        hc_ui_note(ui, HC_LOG_INFO, "%s's video started", name_of(ui, ev->index, nb, sizeof nb));
        break;
    case HC_EV_VIDEO_STOPPED:
        hc_ui_note(ui, HC_LOG_INFO, "%s's video stopped", name_of(ui, ev->index, nb, sizeof nb));
        break;
    case HC_EV_CAMERA:
        /* A log line, not an alert: a camera is not a security matter. */
        hc_ui_note(ui, HC_LOG_INFO, "camera %s%s%s", ev->flag ? "on" : "off", ev->text && *ev->text ? ": " : "",
                   ev->text ? ev->text : "");
        break;
    case HC_EV_WAITING:
        hc_ui_note(ui, HC_LOG_INFO, "waiting for the leader (%s) to admit you", name);
        break;
    case HC_EV_RECORDING_FAILED:
        /* Something to know, not a threat: an ordinary log line (the session also keeps it as the
         * audio note), never the alert line, which is for the meeting's security. */
        hc_ui_note(ui, HC_LOG_INFO, "recording to %s stopped: %s (%.1f s recorded); the call goes on",
                   ev->path ? ev->path : "?", ev->text ? ev->text : "write failed", (double)ev->recorded_ms / 1000.0);
        break;
    }
}
