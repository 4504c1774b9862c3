/* The key/command table and the key reducer (see keys.h). */
#include "ui/keys.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ui/text.h"

static void emit(const hc_keyctx *c, hc_command_type type, uint32_t index, const char *text) {
    hc_command cmd = {.type = type, .index = index, .text = text};
    if (type == HC_CMD_LEAVE || type == HC_CMD_END) c->ui->quit_requested = 1;
    if (c->cb && c->cb->command) c->cb->command(c->cb->ctx, &cmd);
}

int hc_parse_index(const char *s, uint32_t *out) {
    if (!s) return -1;
    if (*s == '#') s++;
    if (*s < '0' || *s > '9') return -1;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v > UINT32_MAX) return -1;
    *out = (uint32_t)v;
    return 0;
}

/* ---- handlers ---- */

static int h_toggle_mute(const hc_keyctx *c) { emit(c, HC_CMD_TOGGLE_MUTE, 0, NULL); return 0; }
static int h_mute(const hc_keyctx *c) { emit(c, HC_CMD_MUTE, 0, NULL); return 0; }
static int h_unmute(const hc_keyctx *c) { emit(c, HC_CMD_UNMUTE, 0, NULL); return 0; }
static int h_devices(const hc_keyctx *c) { emit(c, HC_CMD_DEVICES, 0, NULL); return 0; }
static int h_stats(const hc_keyctx *c) {
    c->ui->stats_wanted = 1;              /* the panel opens when the figures arrive */
    emit(c, HC_CMD_STATS, 0, NULL);
    return 0;
}
static int h_leave(const hc_keyctx *c) { emit(c, HC_CMD_LEAVE, 0, NULL); return 0; }
static int h_end(const hc_keyctx *c) { emit(c, HC_CMD_END, 0, NULL); return 0; }
static int h_lock(const hc_keyctx *c) { emit(c, HC_CMD_LOCK, 0, NULL); return 0; }
static int h_unlock(const hc_keyctx *c) { emit(c, HC_CMD_UNLOCK, 0, NULL); return 0; }
static int h_lock_toggle(const hc_keyctx *c) {
    emit(c, c->ui->st.locked ? HC_CMD_UNLOCK : HC_CMD_LOCK, 0, NULL);
    return 0;
}

static int h_verify(const hc_keyctx *c) {
    char code[48];
    if (!hc_code_format(code, c->ui->st.code)) {
        hc_ui_note(c->ui, HC_LOG_INFO, "no security code yet: it appears once the leader is known");
        return -1;
    }
    /* The leader's dialog shows the code to read aloud and asks nothing: a leader cannot verify
     * its own code, only the others can compare theirs with it. */
    memcpy(c->ui->dialog_code, code, sizeof code);
    c->ui->dialog = HC_DLG_VERIFY;
    return 0;
}

static int h_help(const hc_keyctx *c) {
    c->ui->help_scroll = 0;
    c->ui->dialog = HC_DLG_HELP;
    return 0;
}

static int h_quit_ask(const hc_keyctx *c) { c->ui->dialog = HC_DLG_QUIT; return 0; }

static int h_chat(const hc_keyctx *c) {
    c->ui->input_active = 1;
    c->ui->input_len = 0;
    c->ui->input[0] = 0;
    c->ui->input_full_noted = 0;
    return 0;
}

static int h_command(const hc_keyctx *c) {
    c->ui->input_active = 1;
    c->ui->input[0] = '/';
    c->ui->input[1] = 0;
    c->ui->input_len = 1;
    c->ui->input_full_noted = 0;
    return 0;
}

static int h_select(const hc_keyctx *c) {
    hc_ui_select_move(c->ui, c->key == HC_KEY_UP ? -1 : 1);
    return 0;
}

static int h_scroll_log(const hc_keyctx *c) {
    hc_ui *ui = c->ui;
    size_t page = ui->log_rows > 2 ? (size_t)ui->log_rows - 1 : 1;
    if (c->key == HC_KEY_PGUP) ui->log_scroll += page;
    else ui->log_scroll = ui->log_scroll > page ? ui->log_scroll - page : 0;
    /* The view model clamps to what exists; keep the number small anyway. */
    if (ui->log_scroll > (size_t)HC_LOG_CAP * 64) ui->log_scroll = (size_t)HC_LOG_CAP * 64;
    return 0;
}

/* Clears the alert line and says what went (the log keeps the alert itself). */
static void dismiss_alert(hc_ui *ui) {
    char what[300];
    hc_text_copy(what, sizeof what, ui->alert_text);
    unsigned more = ui->alert_more;
    ui->alert_active = 0;
    ui->alert_more = 0;
    ui->alert_level = HC_ALERT_NONE;
    if (more) hc_ui_note(ui, HC_LOG_INFO, "dismissed: %s (and %u more; all stay in the log)", what, more);
    else hc_ui_note(ui, HC_LOG_INFO, "dismissed: %s (it stays in the log)", what);
}

static int h_dismiss(const hc_keyctx *c) {
    if (!c->ui->alert_active) {
        hc_ui_note(c->ui, HC_LOG_INFO, "no alert to dismiss");
        return -1;
    }
    /* A security alert may mean someone is listening in: one stray key must not wave it away.
     * Ask first, and confirm only the alert that was on the line when x was pressed. */
    if (c->ui->alert_level >= HC_ALERT_SECURITY) {
        c->ui->dismiss_serial = c->ui->alert_serial;
        c->ui->dialog = HC_DLG_DISMISS;
        return 0;
    }
    dismiss_alert(c->ui);
    return 0;
}

/* A participant number typed after a command. */
static int target(const hc_keyctx *c, uint32_t *index) {
    if (hc_parse_index(c->arg, index)) {
        hc_ui_note(c->ui, HC_LOG_INFO, "/%s: '%s' is not a participant number (the # column of the list)",
                   c->def->name, c->arg);
        return -1;
    }
    return 0;
}

/* The participant a typed command names ("/kick 3"), or NULL with a log line saying why. */
static const hc_view_participant *typed_participant(const hc_keyctx *c) {
    uint32_t i;
    if (target(c, &i)) return NULL;
    const hc_view_participant *p = hc_ui_find(c->ui, i);
    if (!p) hc_ui_note(c->ui, HC_LOG_INFO, "/%s: there is no participant #%u", c->def->name, (unsigned)i);
    return p;
}

/* ---- video ---- */

static int h_view(const hc_keyctx *c) {
    c->ui->video_view = !c->ui->video_view;
    return 0;
}

static int h_camera(const hc_keyctx *c) {
    /* The camera's own event says what happened (on, off, or why it failed), in the log. */
    emit(c, c->ui->st.camera_on ? HC_CMD_VIDEO_OFF : HC_CMD_VIDEO_ON, 0, NULL);
    return 0;
}

static void pin(const hc_keyctx *c, const hc_view_participant *p) {
    hc_ui *ui = c->ui;
    if (p->is_self) {
        hc_ui_note(ui, HC_LOG_INFO, "that is you: your own picture is the small self-view");
        return;
    }
    ui->pinned = p->index;
    emit(c, HC_CMD_PIN, p->index, NULL);
    hc_ui_note(ui, HC_LOG_INFO, "pinned %s (#%u): shown large in the video view whoever talks (p again unpins)",
               p->name[0] ? p->name : "?", (unsigned)p->index);
}

static void unpin(const hc_keyctx *c) {
    c->ui->pinned = 0;
    emit(c, HC_CMD_UNPIN, 0, NULL);
    hc_ui_note(c->ui, HC_LOG_INFO, "unpinned: whoever talks is shown large");
}

/* Pinning follows the selection: the selected participant's video is pinned, and pinned again
 * it is unpinned. */
static int h_pin_selected(const hc_keyctx *c) {
    const hc_view_participant *p = hc_ui_selected(c->ui);
    if (!p) { hc_ui_note(c->ui, HC_LOG_INFO, "select a participant with Up/Down first"); return -1; }
    if (c->ui->pinned && p->index == c->ui->pinned) unpin(c);
    else pin(c, p);
    return 0;
}

static int h_pin(const hc_keyctx *c) {
    const hc_view_participant *p = typed_participant(c);
    if (!p) return -1;
    pin(c, p);
    return 0;
}

static int h_unpin(const hc_keyctx *c) {
    if (!c->ui->pinned) { hc_ui_note(c->ui, HC_LOG_INFO, "nobody is pinned"); return -1; }
    unpin(c);
    return 0;
}

static int h_kick_selected(const hc_keyctx *c) {
    const hc_view_participant *p = hc_ui_selected(c->ui);
    if (!p) { hc_ui_note(c->ui, HC_LOG_INFO, "select a participant with Up/Down first"); return -1; }
    if (p->is_self) { hc_ui_note(c->ui, HC_LOG_INFO, "you cannot remove yourself: q leaves"); return -1; }
    c->ui->kick_target.index = p->index;
    hc_text_copy(c->ui->kick_target.name, sizeof c->ui->kick_target.name, p->name);
    hc_text_copy(c->ui->kick_target.fingerprint, sizeof c->ui->kick_target.fingerprint, p->fingerprint);
    c->ui->dialog = HC_DLG_KICK;
    return 0;
}

static int h_kick(const hc_keyctx *c) {
    const hc_view_participant *p = typed_participant(c);
    if (!p) return -1;
    if (p->is_self) { hc_ui_note(c->ui, HC_LOG_INFO, "/kick: that is you; /quit leaves"); return -1; }
    emit(c, HC_CMD_KICK, p->index, NULL);
    return 0;
}

/* The person may be known only to the session (a request we did not see), so a typed number is
 * passed on; the session answers with an error event if nobody by that number waits. */
static int admit_or_deny(const hc_keyctx *c, int admit) {
    hc_ui_person who;
    if (c->typed) {
        uint32_t i;
        if (target(c, &i)) return -1;
        who.index = i;
    } else if (!hc_ui_waiting_first(c->ui, &who)) {
        hc_ui_note(c->ui, HC_LOG_INFO, "nobody is waiting to join");
        return -1;
    }
    hc_ui_pending_remove(c->ui, who.index);
    emit(c, admit ? HC_CMD_ADMIT : HC_CMD_DENY, who.index, NULL);
    return 0;
}
static int h_admit(const hc_keyctx *c) { return admit_or_deny(c, 1); }
static int h_deny(const hc_keyctx *c) { return admit_or_deny(c, 0); }

/* The table. Order is the order of the help screen and of the status line hints. */
static const hc_keydef table[] = {
    {'m', 0, "m", NULL, NULL, NULL, "mute or unmute your microphone", "mute", 0, h_toggle_mute},
    {'v', 0, "v", "verify", NULL, NULL, "compare the security code with everyone, then confirm it", "verify", 0, h_verify},
    {'?', 0, "?", "help", NULL, NULL, "this help", "help", 0, h_help},
    {HC_KEY_ENTER, 0, "Enter", NULL, NULL, NULL, "write a chat message (Enter sends, Esc cancels)", "chat", 0, h_chat},
    {'/', 0, "/", NULL, NULL, NULL, "type a command (below)", "command", 0, h_command},
    {'c', 0, "c", "camera", NULL, NULL, "turn your camera on or off (the CAM badge beside the mic badge)", "camera", 0, h_camera},
    {'t', 0, "t", NULL, NULL, NULL, "switch between the list and the video view", "video", 0, h_view},
    {'p', 0, "p", NULL, NULL, NULL, "pin the selected participant's video large (p again unpins)", NULL, 0, h_pin_selected},
    {'q', 0, "q", NULL, NULL, NULL, "leave the meeting (asks first)", "leave", 0, h_quit_ask},
    {HC_KEY_UP, HC_KEY_DOWN, "Up/Down", NULL, NULL, NULL, "select a participant (in the video view too: p pins)", NULL, 0, h_select},
    {HC_KEY_PGUP, HC_KEY_PGDN, "PgUp/PgDn", NULL, NULL, NULL, "scroll the log", NULL, 0, h_scroll_log},
    {'x', 0, "x", NULL, NULL, NULL, "dismiss the alert line (a security alert asks first; it stays in the log)", NULL, 0, h_dismiss},
    {'l', 0, "l", NULL, NULL, NULL, "lock or unlock the meeting (no new joins)", "lock", HC_KEYF_LEADER, h_lock_toggle},
    {'k', 0, "k", NULL, NULL, NULL, "remove the selected participant (asks first)", "kick", HC_KEYF_LEADER, h_kick_selected},
    {'a', 0, "a", NULL, NULL, NULL, "admit the person waiting to join", NULL, HC_KEYF_LEADER, h_admit},
    {'d', 0, "d", NULL, NULL, NULL, "deny the person waiting to join", NULL, HC_KEYF_LEADER, h_deny},
    {0, 0, "y/n", NULL, NULL, NULL, "answer the question in a dialog; Esc closes it", NULL, HC_KEYF_INFO, NULL},
    {0, 0, NULL, "mute", NULL, NULL, "mute your microphone", NULL, 0, h_mute},
    {0, 0, NULL, "unmute", NULL, NULL, "unmute your microphone", NULL, 0, h_unmute},
    {0, 0, NULL, "lock", NULL, NULL, "lock the meeting: nobody new can join", NULL, HC_KEYF_LEADER, h_lock},
    {0, 0, NULL, "unlock", NULL, NULL, "unlock the meeting", NULL, HC_KEYF_LEADER, h_unlock},
    {0, 0, NULL, "kick", NULL, "N", "remove participant N (the # in the list)", NULL, HC_KEYF_LEADER | HC_KEYF_ARG, h_kick},
    {0, 0, NULL, "admit", NULL, "N", "let waiting person N in", NULL, HC_KEYF_LEADER | HC_KEYF_ARG, h_admit},
    {0, 0, NULL, "deny", NULL, "N", "turn waiting person N away", NULL, HC_KEYF_LEADER | HC_KEYF_ARG, h_deny},
    {0, 0, NULL, "pin", NULL, "N", "pin participant N's video: shown large, and sent to you whoever talks", NULL, HC_KEYF_ARG, h_pin},
    {0, 0, NULL, "unpin", NULL, NULL, "unpin: whoever talks is shown large again", NULL, 0, h_unpin},
    {0, 0, NULL, "devices", NULL, NULL, "list the audio devices", NULL, 0, h_devices},
    {0, 0, NULL, "stats", NULL, NULL, "show call statistics: loss, jitter, rtt, what you send (a panel)", NULL, 0, h_stats},
    {0, 0, NULL, "quit", "leave", NULL, "leave the meeting now", NULL, 0, h_leave},
    {0, 0, NULL, "end", NULL, NULL, "end the meeting for everyone", NULL, HC_KEYF_LEADER, h_end},
};

const hc_keydef *hc_keys_table(size_t *n) {
    *n = sizeof table / sizeof table[0];
    return table;
}

size_t hc_keys_help_line(const hc_keydef *k, char *out, size_t cap) {
    char left[48] = "";
    if (k->key_label && k->name)
        snprintf(left, sizeof left, "%s, /%s", k->key_label, k->name);
    else if (k->key_label)
        snprintf(left, sizeof left, "%s", k->key_label);
    else
        snprintf(left, sizeof left, "/%s%s%s%s%s", k->name, k->arg ? " " : "", k->arg ? k->arg : "",
                 k->alias ? ", /" : "", k->alias ? k->alias : "");
    int n = snprintf(out, cap, "%-16s %s%s", left, k->help, (k->flags & HC_KEYF_LEADER) ? " (leader)" : "");
    if (n < 0) return 0;
    return (size_t)n < cap ? (size_t)n : cap ? cap - 1 : 0;
}

size_t hc_keys_help_text(char *out, size_t cap) {
    size_t o = 0, n;
    const hc_keydef *t = hc_keys_table(&n);
    if (!cap) return 0;
    out[0] = 0;
    for (int pass = 0; pass < 2; pass++) {
        o += (size_t)snprintf(out + o, cap - o, "%s\n", pass ? "Commands" : "Keys");
        if (o >= cap) return cap - 1;
        for (size_t i = 0; i < n; i++) {
            int is_key = t[i].key_label != NULL;
            if (is_key != !pass) continue;
            char line[160];
            hc_keys_help_line(&t[i], line, sizeof line);
            o += (size_t)snprintf(out + o, cap - o, "  %s\n", line);
            if (o >= cap) return cap - 1;
        }
    }
    return o;
}

static int allowed(hc_ui *ui, const hc_keydef *k, const char *what) {
    if (!(k->flags & HC_KEYF_LEADER) || ui->st.is_leader) return 1;
    if (ui->st.leader_name[0])
        hc_ui_note(ui, HC_LOG_INFO, "%s: only the leader can do that (the leader is %s)", what, ui->st.leader_name);
    else
        hc_ui_note(ui, HC_LOG_INFO, "%s: only the leader can do that", what);
    return 0;
}

int hc_ui_command_line(hc_ui *ui, const char *line, const hc_frontend_callbacks *cb) {
    char buf[HC_UI_INPUT_MAX + 1];
    while (*line == ' ' || *line == '\t') line++;
    if (*line == '/') line++;
    hc_text_copy(buf, sizeof buf, line);
    char *name = buf, *arg = buf;
    while (*arg && *arg != ' ' && *arg != '\t') arg++;
    if (*arg) *arg++ = 0;
    while (*arg == ' ' || *arg == '\t') arg++;
    size_t al = strlen(arg);
    while (al && (arg[al - 1] == ' ' || arg[al - 1] == '\t')) arg[--al] = 0;
    if (!*name) {
        hc_ui_note(ui, HC_LOG_INFO, "type a command after the /, for example /help");
        return -1;
    }
    size_t n;
    const hc_keydef *t = hc_keys_table(&n);
    const hc_keydef *k = NULL;
    for (size_t i = 0; i < n && !k; i++)
        if (t[i].name && (!strcmp(t[i].name, name) || (t[i].alias && !strcmp(t[i].alias, name)))) k = &t[i];
    if (!k) {
        const char *guess = NULL;
        for (size_t i = 0; i < n && !guess; i++)
            if (t[i].name && !strncmp(t[i].name, name, strlen(name))) guess = t[i].name;
        if (guess) hc_ui_note(ui, HC_LOG_INFO, "unknown command /%s: did you mean /%s? (/help lists them)", name, guess);
        else hc_ui_note(ui, HC_LOG_INFO, "unknown command /%s: /help lists the commands", name);
        return -1;
    }
    if ((k->flags & HC_KEYF_ARG) && !*arg) {
        hc_ui_note(ui, HC_LOG_INFO, "usage: /%s %s (%s)", k->name, k->arg, k->help);
        return -1;
    }
    if (!(k->flags & HC_KEYF_ARG) && *arg) {
        hc_ui_note(ui, HC_LOG_INFO, "/%s takes no argument (%s)", k->name, k->help);
        return -1;
    }
    char what[40];
    snprintf(what, sizeof what, "/%s", k->name);
    if (!allowed(ui, k, what)) return -1;
    hc_keyctx c = {.ui = ui, .cb = cb, .def = k, .arg = arg, .typed = 1, .key = 0};
    return k->run(&c);
}

static void submit(hc_ui *ui, const hc_frontend_callbacks *cb) {
    char text[HC_UI_INPUT_MAX + 1];
    memcpy(text, ui->input, ui->input_len + 1);
    ui->input_active = 0;
    ui->input_len = 0;
    ui->input[0] = 0;
    ui->input_full_noted = 0;
    if (text[0] == '/' && text[1] != '/') {
        hc_ui_command_line(ui, text, cb);
        return;
    }
    const char *msg = text[0] == '/' ? text + 1 : text;    /* "//x" sends "/x" */
    const char *p = msg;
    while (*p == ' ') p++;
    if (!*p) return;
    /* The meeting does not echo our own chat back (the relay does not return it to the sender),
     * so show it here. If sending fails, the session's error event follows it in the log. */
    const char *me = "you";
    for (size_t i = 0; i < ui->st.n_participants; i++)
        if (ui->parts[i].is_self && ui->parts[i].name[0]) me = ui->parts[i].name;
    hc_ui_note(ui, HC_LOG_CHAT, "<%s> %s", me, msg);
    hc_command cmd = {.type = HC_CMD_CHAT, .text = msg};
    if (cb && cb->command) cb->command(cb->ctx, &cmd);
}

static int input_key(hc_ui *ui, int key, const hc_frontend_callbacks *cb) {
    switch (key) {
    case HC_KEY_ENTER: submit(ui, cb); return 1;
    case HC_KEY_ESC: ui->input_active = 0; ui->input_len = 0; ui->input[0] = 0; ui->input_full_noted = 0; return 1;
    case HC_KEY_BACKSPACE:
        while (ui->input_len && (ui->input[ui->input_len - 1] & 0xC0) == 0x80) ui->input_len--;
        if (ui->input_len) ui->input_len--;
        ui->input[ui->input_len] = 0;
        return 1;
    case HC_KEY_KILL_LINE: ui->input_len = 0; ui->input[0] = 0; return 1;
    case HC_KEY_KILL_WORD:
        while (ui->input_len && ui->input[ui->input_len - 1] == ' ') ui->input_len--;
        while (ui->input_len && ui->input[ui->input_len - 1] != ' ') ui->input_len--;
        ui->input[ui->input_len] = 0;
        return 1;
    default: break;
    }
    if (key < 0x20 || key >= HC_KEY_BASE || hc_cp_unsafe((uint32_t)key)) return 0;
    char b[4];
    size_t k = hc_utf8_put((uint32_t)key, b);
    if (!k) return 0;
    if (ui->input_len + k > HC_UI_INPUT_MAX) {
        /* Full: nothing is cut later, so refuse here, and say so once (a paste may bring many). */
        if (!ui->input_full_noted)
            hc_ui_note(ui, HC_LOG_INFO, "a message holds at most %d bytes: this one is full (Enter sends it as it is)",
                       HC_UI_INPUT_MAX);
        ui->input_full_noted = 1;
        return 1;
    }
    memcpy(ui->input + ui->input_len, b, k);
    ui->input_len += k;
    ui->input[ui->input_len] = 0;
    return 1;
}

static int dialog_key(hc_ui *ui, int key, const hc_frontend_callbacks *cb) {
    hc_keyctx c = {.ui = ui, .cb = cb, .arg = "", .key = key};
    switch (ui->dialog) {
    case HC_DLG_HELP:
        if (key == HC_KEY_UP) ui->help_scroll = ui->help_scroll > 0 ? ui->help_scroll - 1 : 0;
        else if (key == HC_KEY_DOWN) ui->help_scroll++;
        else if (key == HC_KEY_PGUP) ui->help_scroll = ui->help_scroll > 10 ? ui->help_scroll - 10 : 0;
        else if (key == HC_KEY_PGDN) ui->help_scroll += 10;
        else ui->dialog = HC_DLG_NONE;
        return 1;
    case HC_DLG_VERIFY: {
        if (ui->st.is_leader) {               /* only shown to be read aloud: any key closes */
            ui->dialog = HC_DLG_NONE;
            return 1;
        }
        if (key == 'y' || key == 'Y') {
            char now[48];
            hc_code_format(now, ui->st.code);
            if (strcmp(now, ui->dialog_code)) {
                /* The leader changed while the user was comparing: never confirm a code they
                 * did not see. */
                hc_ui_note(ui, HC_LOG_ALERT, "the security code changed while you compared it: compare the new one");
                memcpy(ui->dialog_code, now, sizeof now);
                return 1;
            }
            ui->dialog = HC_DLG_NONE;
            emit(&c, HC_CMD_VERIFY, 0, ui->dialog_code);     /* the code the user saw, checked again */
        } else if (key == 'n' || key == 'N') {
            ui->dialog = HC_DLG_NONE;
            hc_ui_alert(ui, HC_ALERT_SECURITY, "CODES DIFFER: someone may be intercepting this meeting. Tell the others; leave with q");
        } else if (key == HC_KEY_ESC) {
            ui->dialog = HC_DLG_NONE;
        } else {
            return 0;
        }
        return 1;
    }
    case HC_DLG_QUIT:
        if (key == 'y' || key == 'Y') { ui->dialog = HC_DLG_NONE; emit(&c, HC_CMD_LEAVE, 0, NULL); }
        else if ((key == 'e' || key == 'E') && ui->st.is_leader) { ui->dialog = HC_DLG_NONE; emit(&c, HC_CMD_END, 0, NULL); }
        else if (key == 'n' || key == 'N' || key == HC_KEY_ESC || key == 'q') ui->dialog = HC_DLG_NONE;
        else return 0;
        return 1;
    case HC_DLG_KICK:
        if (key == 'y' || key == 'Y') { ui->dialog = HC_DLG_NONE; emit(&c, HC_CMD_KICK, ui->kick_target.index, NULL); }
        else if (key == 'n' || key == 'N' || key == HC_KEY_ESC) ui->dialog = HC_DLG_NONE;
        else return 0;
        return 1;
    case HC_DLG_LEADER:
        if (key == 'v' || key == 'V') { ui->dialog = HC_DLG_NONE; h_verify(&c); }
        else if (key == HC_KEY_ESC || key == HC_KEY_ENTER || key == 'n' || key == 'N') ui->dialog = HC_DLG_NONE;
        else return 0;
        return 1;
    case HC_DLG_STATS:
        if (key == HC_KEY_UP) ui->stats_scroll = ui->stats_scroll > 0 ? ui->stats_scroll - 1 : 0;
        else if (key == HC_KEY_DOWN) ui->stats_scroll++;
        else if (key == HC_KEY_PGUP) ui->stats_scroll = ui->stats_scroll > 10 ? ui->stats_scroll - 10 : 0;
        else if (key == HC_KEY_PGDN) ui->stats_scroll += 10;
        else if (key == HC_KEY_HOME) ui->stats_scroll = 0;
        else if (key == 'r' || key == 'R') emit(&c, HC_CMD_STATS, 0, NULL);
        else ui->dialog = HC_DLG_NONE;
        /* The view model clamps to what exists; keep the number small anyway. */
        if (ui->stats_scroll > HC_STATS_SENDERS_MAX * 4) ui->stats_scroll = HC_STATS_SENDERS_MAX * 4;
        return 1;
    case HC_DLG_DISMISS:
        if (key == 'y' || key == 'Y') {
            ui->dialog = HC_DLG_NONE;
            if (!ui->alert_active) return 1;
            if (ui->alert_serial != ui->dismiss_serial) {
                /* Another alert came while the user was reading the question: not that one. */
                hc_ui_note(ui, HC_LOG_ALERT, "a new alert came while you were deciding: read it first (x asks again)");
                return 1;
            }
            dismiss_alert(ui);
        } else if (key == 'n' || key == 'N' || key == HC_KEY_ESC) {
            ui->dialog = HC_DLG_NONE;
        } else {
            return 0;
        }
        return 1;
    case HC_DLG_NONE: break;
    }
    return 0;
}

int hc_ui_key(hc_ui *ui, int key, const hc_frontend_callbacks *cb) {
    if (ui->dialog != HC_DLG_NONE) return dialog_key(ui, key, cb);
    if (ui->input_active) return input_key(ui, key, cb);
    size_t n;
    const hc_keydef *t = hc_keys_table(&n);
    for (size_t i = 0; i < n; i++) {
        if ((t[i].flags & HC_KEYF_INFO) || !t[i].run || !key) continue;
        if (t[i].key != key && t[i].key2 != key) continue;
        if (!allowed(ui, &t[i], t[i].key_label)) return 1;
        hc_keyctx c = {.ui = ui, .cb = cb, .def = &t[i], .arg = "", .typed = 0, .key = key};
        t[i].run(&c);
        return 1;
    }
    if (key == HC_KEY_ESC) return 0;
    if (key > 0x20 && key < 0x7F) {
        hc_ui_note(ui, HC_LOG_INFO, "'%c' does nothing: ? shows the keys", key);
        return 1;
    }
    return 0;
}
