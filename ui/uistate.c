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
    ui->pics = hc_vpics_new();
    if (!ui->pics) {
        free(ui);
        return NULL;
    }
    return ui;
}

void hc_ui_free(hc_ui *ui) {
    if (!ui) return;
    hc_stats_free(&ui->stats);
    hc_vpics_free(ui->pics);
    free(ui->parts);
    free(ui);
}

void hc_ui_clock(hc_ui *ui, uint64_t t_ms) {
    if (t_ms > ui->now_ms) ui->now_ms = t_ms;
}

void hc_ui_note(hc_ui *ui, hc_log_kind kind, const char *fmt, ...) {
    char buf[HC_LOG_TEXT];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    hc_log_add(&ui->log, kind, ui->now_ms, buf);
}

void hc_ui_alert(hc_ui *ui, hc_alert_level level, const char *text) {
    /* The line shows the worst alert: one at least as bad replaces it (the newest of the worst
     * matters most), a weaker one never does, so a flood of lesser alerts cannot push an impostor
     * warning out of sight. Either way it is counted, and every one is in the log. */
    hc_log_add(&ui->log, HC_LOG_ALERT, ui->now_ms, text);
    ui->alert_serial++;
    if (ui->alert_active) {
        ui->alert_more++;
        if (level < ui->alert_level) return;
    } else {
        ui->alert_more = 0;
    }
    ui->alert_active = 1;
    ui->alert_level = level;
    hc_text_copy(ui->alert_text, sizeof ui->alert_text, text);
}

hc_alert_level hc_ui_alert_level(const char *kind) {
    /* Tampering the checks caught and threw away, where nothing was decrypted, accepted or
     * changed: worth knowing, but not "someone may be listening". Everything else (a substituted
     * key, a forged or mismatching list, an impostor, a rollback, and any kind added later) is. */
    static const char *const refused[] = {
        "media_auth_failed", "media_replay", "bad_announcement", "keybox_malformed", "keybox_auth",
        "stale_keybox", "unsupported_suite", "roster_malformed", "wrong_meeting", "key_missing",
    };
    for (size_t i = 0; kind && i < sizeof refused / sizeof refused[0]; i++)
        if (!strcmp(kind, refused[i])) return HC_ALERT_REFUSED;
    return HC_ALERT_SECURITY;
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

/* The active speaker: the loudest member talking now; while nobody talks, the last one stays, so
 * a pause between sentences does not move the tiles. Someone who left is nobody. (A pin stays as
 * the video engine keeps it, across a reconnect too: the tiles ignore a pinned member who is not
 * there.) */
static void update_speaker(hc_ui *ui, size_t n) {
    uint32_t loud = 0;
    int best = -1000, speaker_here = 0;
    for (size_t i = 0; i < n; i++) {
        const hc_view_participant *p = &ui->parts[i];
        if (p->index == ui->speaker) speaker_here = 1;
        if (p->is_self || p->waiting || p->muted || !p->talking) continue;
        if (p->level_dbfs > best) best = p->level_dbfs, loud = p->index;
    }
    if (loud) ui->speaker = loud;
    else if (!speaker_here) ui->speaker = 0;
}

void hc_ui_picture(hc_ui *ui, uint32_t index, const hc_video_frame *pic) {
    if (pic) hc_vpics_put(ui->pics, index, pic);
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
        /* The picture belongs to the session and is only valid during its update() call: a copy
         * is kept when there is none yet (newer ones come through hc_ui_picture), and none when
         * the session has none (the member's video stopped). */
        if (!ui->parts[i].video) {
            hc_vpics_drop(ui->pics, ui->parts[i].index);
            ui->parts[i].video_live = 1;      /* no picture: nothing is frozen */
        }
        else if (!hc_vpics_has(ui->pics, ui->parts[i].index)) hc_vpics_put(ui->pics, ui->parts[i].index, ui->parts[i].video);
        ui->parts[i].video = NULL;
    }
    hc_vpics_retain(ui->pics, ui->parts, n);
    update_speaker(ui, n);
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
    ui->st.relay = NULL;
    if (st->relay && st->relay[0]) hc_text_copy(ui->relay, sizeof ui->relay, st->relay);
    /* What the farewell line names, kept when the state forgets it (a lost meeting is empty). */
    if (ui->st.meeting_id[0]) hc_text_copy(ui->known_meeting, sizeof ui->known_meeting, ui->st.meeting_id);
    if (ui->st.leader_name[0]) hc_text_copy(ui->known_leader, sizeof ui->known_leader, ui->st.leader_name);
    hc_ui_clock(ui, st->t_ms);
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

/* What becoming the leader means, said once in the log (the dialog says it too). */
static void note_now_leading(hc_ui *ui) {
    hc_ui_note(ui, HC_LOG_ALERT,
               "you are now the leader: newcomers wait for you (a admits, d denies), k removes someone, "
               "l locks the meeting; read your security code aloud so everyone can compare it");
}

void hc_ui_on_event(hc_ui *ui, const hc_event *ev) {
    char nb[24], code[48];
    if (ev->t_ms > ui->now_ms) ui->now_ms = ev->t_ms;
    const char *name = ev->name ? ev->name : "?";
    const char *fp = ev->fingerprint ? ev->fingerprint : "";
    switch (ev->type) {
    case HC_EV_MEETING:
        if (ev->meeting_id) hc_text_copy(ui->known_meeting, sizeof ui->known_meeting, ev->meeting_id);
        hc_ui_note(ui, HC_LOG_INFO, "meeting %s created: others join with this id",
                   ev->meeting_id ? ev->meeting_id : "?");
        break;
    case HC_EV_JOINED:
        ui->self_index = ev->index;
        ui->was_in = 1;
        if (ev->meeting_id) hc_text_copy(ui->known_meeting, sizeof ui->known_meeting, ev->meeting_id);
        if (ev->index == ev->leader)
            hc_ui_note(ui, HC_LOG_INFO, "joined as #%u: you lead this meeting", (unsigned)ev->index);
        else
            hc_ui_note(ui, HC_LOG_INFO, "joined as #%u; the leader is #%u", (unsigned)ev->index, (unsigned)ev->leader);
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
        hc_text_copy(ui->known_leader, sizeof ui->known_leader, name);
        ui->notice_self_leads = ui->self_index && ev->leader == ui->self_index;
        if (ui->notice_self_leads) note_now_leading(ui);
        else
            hc_ui_note(ui, HC_LOG_ALERT, "the leader is now %s (#%u, %s): compare the new security code",
                       name, (unsigned)ev->leader, fp);
        /* Only a change: the first leader we learn of is not news. */
        if (ui->last_code[0]) ui->dialog = HC_DLG_LEADER;
        break;
    case HC_EV_KEY_EPOCH:
        hc_ui_note(ui, HC_LOG_INFO, "new meeting key, epoch %u (%u member%s)", (unsigned)ev->epoch,
                   (unsigned)ev->members, ev->members == 1 ? "" : "s");
        break;
    case HC_EV_SECURITY_CODE:
        hc_code_format(code, ev->code);
        if (ev->flag && ui->verified_code[0] && !strcmp(code, ui->verified_code)) {
            /* The confirmation's echo: the `verified` line said it already. */
        } else if (ui->self_index && ev->leader == ui->self_index) {
            /* Nobody verifies their own code: the leader reads it out, the others compare it. */
            hc_ui_note(ui, HC_LOG_INFO, "security code %s: you lead, so read it aloud for the others to compare", code);
        } else {
            hc_ui_note(ui, HC_LOG_INFO, "security code %s: %s", code,
                       ev->flag ? "verified" : "NOT verified (press v to compare it with everyone)");
        }
        code_seen(ui, ev->code);
        break;
    case HC_EV_SECURITY_ALERT: {
        char t[300];
        snprintf(t, sizeof t, "SECURITY ALERT: %s%s%s", ev->kind ? ev->kind : "alert",
                 ev->detail && *ev->detail ? ": " : "", ev->detail ? ev->detail : "");
        hc_text_copy(ui->last_alert, sizeof ui->last_alert, t);
        hc_ui_alert(ui, hc_ui_alert_level(ev->kind), t);
        break;
    }
    case HC_EV_HEARTBEAT_TIMEOUT: {
        /* The meeting is over either way, so it stays on the alert line; but a stall is a
         * connection problem and says so: only heartbeats that failed the checks are security. */
        char t[300];
        int stall = ev->reason && !strcmp(ev->reason, "connectivity");
        snprintf(t, sizeof t, "%s: %s", stall ? "CONNECTION LOST" : "HEARTBEAT TIMEOUT",
                 ev->detail ? ev->detail : "no heartbeat from the leader");
        hc_text_copy(ui->last_alert, sizeof ui->last_alert, ev->detail ? ev->detail : t);
        hc_ui_alert(ui, stall ? HC_ALERT_CONNECTION : HC_ALERT_SECURITY, t);
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
        if (ev->flag) memcpy(ui->verified_code, code, sizeof code);
        else ui->verified_code[0] = 0;
        hc_ui_note(ui, HC_LOG_INFO, "security code %s %s", code,
                   ev->flag ? "VERIFIED: remembered for this leader" : "no longer verified");
        break;
    case HC_EV_NOTICE:
        hc_ui_note(ui, HC_LOG_INFO, "%s", ev->text ? ev->text : "");
        break;
    case HC_EV_STATS:
        /* A panel, not raw JSON in the log: /stats opens it, and it follows each new report. */
        if (hc_stats_parse(&ui->stats, ev->text, ev->t_ms) < 0) {
            hc_ui_note(ui, HC_LOG_INFO, "the call's statistics could not be read");
            break;
        }
        if (ui->stats_wanted && ui->dialog == HC_DLG_NONE) {
            ui->dialog = HC_DLG_STATS;
            ui->stats_scroll = 0;
        }
        ui->stats_wanted = 0;
        break;
    case HC_EV_LEFT:
        hc_text_copy(ui->left_reason, sizeof ui->left_reason, ev->reason && *ev->reason ? ev->reason : "unknown");
        hc_ui_note(ui, HC_LOG_INFO, "you left the meeting%s%s", ev->reason && *ev->reason ? ": " : "",
                   ev->reason ? ev->reason : "");
        break;
    case HC_EV_ERROR:
        hc_text_copy(ui->last_error, sizeof ui->last_error, ev->text ? ev->text : "");
        hc_text_copy(ui->last_error_code, sizeof ui->last_error_code, ev->code ? ev->code : "");
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
        /* A log line, not an alert: a camera is not a security matter. An error is said once, in
         * words (the engine's text: what failed and that the call goes on without our video). */
        if (ev->reason && !strcmp(ev->reason, "error"))
            hc_ui_note(ui, HC_LOG_INFO, "camera: %s", ev->text && *ev->text ? ev->text : "it stopped");
        else
            hc_ui_note(ui, HC_LOG_INFO, "camera %s%s%s", ev->flag ? "on" : "off", ev->text && *ev->text ? ": " : "",
                       ev->text ? ev->text : "");
        break;
    case HC_EV_WAITING:
        hc_ui_note(ui, HC_LOG_INFO, "waiting for the leader (%s) to admit you", name);
        break;
    case HC_EV_RECORDING_FAILED:
        /* Something to know, not a threat: an ordinary log line, never the alert line, which is
         * for the meeting's security. */
        hc_ui_note(ui, HC_LOG_INFO, "recording to %s stopped: %s (%.1f s recorded); the call goes on",
                   ev->path ? ev->path : "?", ev->text ? ev->text : "write failed", (double)ev->recorded_ms / 1000.0);
        break;
    }
}

/* ---- the farewell line ---- */

size_t hc_ui_farewell(const hc_ui *ui, char *out, size_t cap) {
    if (!cap) return 0;
    out[0] = 0;
    const char *r = ui->left_reason;
    if (!r[0] || !strcmp(r, "left")) return 0;
    if (!strcmp(r, "ended") && (ui->quit_requested || ui->st.is_leader)) return 0;   /* we ended it */
    char mid[HC_MEETING_ID_MAX + 16], leader[HC_NAME_MAX + 24], relay[300];
    snprintf(mid, sizeof mid, "%s%s", ui->known_meeting[0] ? "meeting " : "the meeting", ui->known_meeting);
    if (ui->known_leader[0]) snprintf(leader, sizeof leader, "the leader (%s)", ui->known_leader);
    else snprintf(leader, sizeof leader, "the leader");
    if (ui->relay[0]) snprintf(relay, sizeof relay, "the relay at %s", ui->relay);
    else snprintf(relay, sizeof relay, "the relay");
    const char *err = ui->last_error[0] ? ui->last_error : NULL;
    char buf[1200];
    size_t bc = sizeof buf;
    int n;
    if (!strcmp(r, "kicked") || !strcmp(r, "removed"))
        n = snprintf(buf, bc, "hushcall: you were removed from %s by %s", mid, leader);
    else if (!strcmp(r, "ended"))
        n = snprintf(buf, bc, "hushcall: %s ended %s for everyone", leader, mid);
    else if (!strcmp(r, "denied"))
        n = snprintf(buf, bc, "hushcall: %s did not let you into %s", leader, mid);
    else if (!strcmp(r, "locked"))
        n = snprintf(buf, bc, "hushcall: %s is locked: its leader lets nobody new in", mid);
    else if (!strcmp(r, "no_such_meeting"))
        n = snprintf(buf, bc, "hushcall: %s has no %s (check the id, and that it has not ended)", relay, mid);
    else if (!strcmp(r, "meeting_full") || !strcmp(r, "relay_full") || !strcmp(r, "rate_limited"))
        n = snprintf(buf, bc, "hushcall: %s refused %s: %s", relay, mid, err ? err : r);
    else if (!strcmp(r, "relay_closed"))
        n = snprintf(buf, bc, "hushcall: %s ended the connection%s%s", relay, err ? ": " : "", err ? err : "");
    else if (!strcmp(r, "connection_lost") && !ui->was_in && err)   /* the error names the relay */
        n = snprintf(buf, bc, "hushcall: gave up %s%s: %s", ui->known_meeting[0] ? "joining " : "creating a meeting",
                     ui->known_meeting[0] ? mid : "", err);
    else if (!strcmp(r, "connection_lost") && !ui->was_in)
        n = snprintf(buf, bc, "hushcall: cannot reach %s", relay);
    else if (!strcmp(r, "connection_lost"))
        n = snprintf(buf, bc, "hushcall: lost %s, so you left %s%s%s", relay, mid, err ? ": " : "", err ? err : "");
    else if (!strcmp(r, "heartbeat_timeout") || !strcmp(r, "security"))
        n = snprintf(buf, bc, "hushcall: you left %s%s%s%s", mid,
                     !strcmp(r, "security") ? " for a security reason" : "", ui->last_alert[0] ? ": " : "", ui->last_alert);
    else
        n = snprintf(buf, bc, "hushcall: you left %s: %s%s%s", mid, r, err ? ": " : "", err ? err : "");
    if (n < 0) return 0;
    /* One line whatever the peers' names hold, cut on a character boundary. */
    for (char *c = buf; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7F) *c = ' ';
    hc_text_copy(out, cap, buf);
    return strlen(out);
}
