/* The headless front end: JSON lines out, commands in (formats in headless.h). For bots, tests
 * and scripts. It owns no terminal, so stop and destroy are about libuv handles only. */
#include "ui/headless.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "crypto/seccode.h"
#include "ui/frontend.h"
#include "ui/keys.h"
#include "ui/text.h"

/* ---- command parsing ---- */

static const struct {
    const char *name;
    hc_command_type type;
    int arg;          /* 0 none, 1 index, 2 text, 3 on|off, 4 security code */
} commands[] = {
    {"mute", HC_CMD_MUTE, 0},     {"unmute", HC_CMD_UNMUTE, 0}, {"chat", HC_CMD_CHAT, 2},
    {"lock", HC_CMD_LOCK, 0},     {"unlock", HC_CMD_UNLOCK, 0}, {"kick", HC_CMD_KICK, 1},
    {"admit", HC_CMD_ADMIT, 1},   {"deny", HC_CMD_DENY, 1},     {"verify", HC_CMD_VERIFY, 4},
    {"stats", HC_CMD_STATS, 0},   {"devices", HC_CMD_DEVICES, 0}, {"leave", HC_CMD_LEAVE, 0},
    {"end", HC_CMD_END, 0},       {"video", HC_CMD_VIDEO_ON, 3}, {"pin", HC_CMD_PIN, 1},
    {"unpin", HC_CMD_UNPIN, 0},
};

static int valid_utf8(const char *s) {
    size_t n = strlen(s);
    while (n) {
        uint32_t cp;
        int ok;
        size_t k = hc_utf8_next(s, n, &cp, &ok);
        if (!ok) return 0;
        s += k; n -= k;
    }
    return 1;
}

int hc_headless_parse_id(const char **line, uint64_t *id) {
    const char *p = *line;
    while (*p == ' ' || *p == '\t') p++;
    size_t n = 0;
    uint64_t v = 0;
    while (p[n] >= '0' && p[n] <= '9') {
        if (n == HC_HEADLESS_ID_DIGITS) return 0;        /* too long to be an id: not one */
        v = v * 10 + (uint64_t)(p[n] - '0');
        n++;
    }
    if (!n || (p[n] && p[n] != ' ' && p[n] != '\t')) return 0;
    p += n;
    while (*p == ' ' || *p == '\t') p++;
    *line = p;
    *id = v;
    return 1;
}

int hc_headless_parse(const char *line, hc_command *cmd, char *err, size_t errlen) {
    const char *p = line;
    while (*p == ' ' || *p == '\t') p++;
    const char *word = p;
    while (*p && *p != ' ' && *p != '\t') p++;
    size_t wl = (size_t)(p - word);
    const char *rest = *p ? p + 1 : p;          /* chat text: everything after one separator */
    const char *arg = rest;
    while (*arg == ' ' || *arg == '\t') arg++;
    size_t al = strlen(arg);
    while (al && (arg[al - 1] == ' ' || arg[al - 1] == '\t')) al--;
    memset(cmd, 0, sizeof *cmd);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strlen(commands[i].name) != wl || strncmp(commands[i].name, word, wl)) continue;
        cmd->type = commands[i].type;
        switch (commands[i].arg) {
        case 0:
            if (al) { snprintf(err, errlen, "%s takes no argument", commands[i].name); return -1; }
            return 0;
        case 1: {
            char num[24];
            if (!al || al >= sizeof num) { snprintf(err, errlen, "usage: %s INDEX", commands[i].name); return -1; }
            memcpy(num, arg, al);
            num[al] = 0;
            if (num[0] == '#' || hc_parse_index(num, &cmd->index)) {
                snprintf(err, errlen, "%s: INDEX must be a participant number", commands[i].name);
                return -1;
            }
            return 0;
        }
        case 4: {
            char digits[HC_CODE_DIGITS + 1];
            if (!al || hc_code_digits(digits, arg) < 0) {
                snprintf(err, errlen, "usage: verify CODE (the 40-digit security code you compared, spaces allowed)");
                return -1;
            }
            cmd->text = arg;
            return 0;
        }
        case 3:
            if (al == 2 && !strncmp(arg, "on", 2)) cmd->type = HC_CMD_VIDEO_ON;
            else if (al == 3 && !strncmp(arg, "off", 3)) cmd->type = HC_CMD_VIDEO_OFF;
            else { snprintf(err, errlen, "usage: %s on|off", commands[i].name); return -1; }
            return 0;
        default:
            if (!al) { snprintf(err, errlen, "usage: chat TEXT"); return -1; }
            if (!valid_utf8(rest)) { snprintf(err, errlen, "chat: TEXT is not valid UTF-8"); return -1; }
            cmd->text = rest;
            return 0;
        }
    }
    if (!wl) snprintf(err, errlen, "empty command");
    else snprintf(err, errlen, "unknown command '%.*s' (mute, unmute, chat TEXT, lock, unlock, kick INDEX, "
                  "admit INDEX, deny INDEX, verify CODE, stats, devices, video on|off, pin INDEX, unpin, leave, end)", (int)(wl > 40 ? 40 : wl), word);
    return -1;
}

/* ---- event formatting ---- */

static void code_field(hc_json *j, const char *code) {
    char c[48];
    hc_code_format(c, code);
    hc_json_str(j, "code", c);
}

const char *hc_headless_format(hc_json *j, const hc_event *ev, size_t *len) {
    return hc_headless_format_ex(j, ev, NULL, len);
}

const char *hc_headless_format_ex(hc_json *j, const hc_event *ev, const hc_headless_extra *x, size_t *len) {
    hc_json_begin(j, hc_event_type_name(ev->type), ev->t_ms);
    if (x && x->version) hc_json_u64(j, "version", (uint64_t)x->version);
    switch (ev->type) {
    case HC_EV_MEETING: {
        char hex[33] = "";
        if (ev->uuid)
            for (int i = 0; i < 16; i++) snprintf(hex + 2 * i, 3, "%02x", ev->uuid[i]);
        hc_json_str(j, "meeting_id", ev->meeting_id);
        hc_json_str(j, "uuid", hex);
        break;
    }
    case HC_EV_JOINED:
        hc_json_u64(j, "index", ev->index);
        hc_json_u64(j, "leader", ev->leader);
        hc_json_str(j, "meeting_id", ev->meeting_id);
        break;
    case HC_EV_WAITING:
        hc_json_u64(j, "index", ev->index);
        hc_json_u64(j, "leader", ev->leader);
        hc_json_str(j, "meeting_id", ev->meeting_id);
        hc_json_str(j, "name", ev->name);
        hc_json_str(j, "fingerprint", ev->fingerprint);
        break;
    case HC_EV_PARTICIPANT_JOINED:
    case HC_EV_PARTICIPANT_LEFT:
    case HC_EV_ADMISSION_REQUEST:
        hc_json_u64(j, "index", ev->index);
        hc_json_str(j, "name", ev->name);
        hc_json_str(j, "fingerprint", ev->fingerprint);
        if (ev->type == HC_EV_PARTICIPANT_LEFT) hc_json_str(j, "reason", ev->reason);
        break;
    case HC_EV_LEADER_CHANGED:
        hc_json_u64(j, "leader", ev->leader);
        hc_json_str(j, "name", ev->name);
        hc_json_str(j, "fingerprint", ev->fingerprint);
        break;
    case HC_EV_KEY_EPOCH:
        hc_json_u64(j, "epoch", ev->epoch);
        hc_json_u64(j, "members", ev->members);
        break;
    case HC_EV_SECURITY_CODE:
        code_field(j, ev->code);
        hc_json_u64(j, "leader", ev->leader);
        hc_json_bool(j, "verified", ev->flag);
        break;
    case HC_EV_SECURITY_ALERT:
        hc_json_str(j, "kind", ev->kind);
        hc_json_str(j, "detail", ev->detail);
        break;
    case HC_EV_HEARTBEAT_TIMEOUT:
        hc_json_str(j, "cause", ev->reason ? ev->reason : "security");
        hc_json_str(j, "detail", ev->detail);
        break;
    case HC_EV_JOINING:
        hc_json_u64(j, "count", ev->members);
        break;
    case HC_EV_CHAT:
        hc_json_u64(j, "index", ev->index);
        hc_json_u64(j, "from", ev->index);   /* the same: the name before version 1, kept for old scripts */
        hc_json_str(j, "name", ev->name);
        hc_json_str(j, "text", ev->text);
        break;
    case HC_EV_MUTE_CHANGED:
        hc_json_u64(j, "index", ev->index);
        hc_json_bool(j, "muted", ev->flag);
        break;
    case HC_EV_LOCK_CHANGED:
        hc_json_bool(j, "locked", ev->flag);
        break;
    case HC_EV_ADMIT_POLICY:
        hc_json_str(j, "policy", ev->reason);
        break;
    case HC_EV_VERIFIED:
        hc_json_bool(j, "verified", ev->flag);
        code_field(j, ev->code);
        hc_json_u64(j, "leader", ev->leader);
        break;
    case HC_EV_NOTICE:
        hc_json_str(j, "text", ev->text);
        break;
    case HC_EV_STATS:
        /* The session hands us a JSON object; anything else is kept, as a string. */
        if (hc_json_splice(j, ev->text)) hc_json_str(j, "text", ev->text);
        break;
    case HC_EV_LEFT:
        hc_json_str(j, "reason", ev->reason);
        break;
    case HC_EV_ERROR:
        hc_json_str(j, "code", ev->code);
        hc_json_str(j, "message", ev->text);
        break;
    case HC_EV_RECONNECTING:
        hc_json_str(j, "reason", ev->reason);
        hc_json_str(j, "detail", ev->text);
        hc_json_u64(j, "give_up_ms", ev->after_ms);
        break;
    case HC_EV_RECONNECTED:
        hc_json_str(j, "meeting_id", ev->meeting_id);
        hc_json_u64(j, "after_ms", ev->after_ms);
        hc_json_str(j, "detail", ev->text);
        break;
    case HC_EV_VIDEO_STARTED:
    case HC_EV_VIDEO_STOPPED:
        hc_json_u64(j, "index", ev->index);
        hc_json_str(j, "name", ev->name);
        if (ev->type == HC_EV_VIDEO_STOPPED) hc_json_str(j, "reason", ev->reason);
        break;
    case HC_EV_CAMERA:
        hc_json_bool(j, "on", ev->flag);
        hc_json_str(j, "reason", ev->reason);
        hc_json_str(j, "detail", ev->text);
        break;
    case HC_EV_RECORDING_FAILED:
        hc_json_str(j, "path", ev->path);
        hc_json_str(j, "error", ev->text);
        hc_json_u64(j, "recorded_ms", ev->recorded_ms);
        break;
    }
    if (x && x->command) hc_json_str(j, "command", x->command);
    if (x && x->has_id) hc_json_u64(j, "id", x->id);
    return hc_json_end(j, len);
}

/* ---- the front end ---- */

enum { IN_NONE, IN_STREAM, IN_FILE };

typedef struct {
    hc_frontend fe;
    int in_fd;
    FILE *out;
    int out_broken;
    uv_loop_t *loop;
    hc_frontend_callbacks cb;
    int in_kind;
    union {
        uv_handle_t handle;
        uv_stream_t stream;
        uv_tty_t tty;
        uv_pipe_t pipe;
        uv_tcp_t tcp;
    } in;
    int in_open;
    int in_flags;                 /* fd flags to restore (pipes are made non-blocking) */
    uv_fs_t fsreq;
    int fs_busy;
    char rbuf[4096];
    uv_signal_t sig[3];
    int sig_open[3];
    /* Our reader (the controlling program) going away: noticed on a failed write, or by the
     * watch timer while there is nothing to write. Either way we leave the meeting at once: a
     * participant nobody hears from must not stay on (as a leader it would admit people). */
    uv_timer_t out_watch;
    int out_watch_open;
    int out_lost;                 /* the leave was asked for */
    int sig_seen;
    uint64_t first_sig_ms;          /* loop time of the first leave signal */
    char line[HC_HEADLESS_LINE_MAX + 1];
    size_t line_len;
    int too_long;                 /* discarding the rest of an over-long line */
    hc_json json;
    int printed;                  /* a line went out: the first one carries the contract's version */
    /* The command being run: its answers (events printed meanwhile) carry its id, an error names
     * it, and with an id it ends with "ok" unless it was refused or ended the meeting. */
    int in_cmd, cmd_has_id, cmd_errors, cmd_left;
    uint64_t cmd_id;
    char cmd_name[48];
    /* Our own lines (bad_command) have no event to take t_ms from: we continue the session's
     * clock from the last event seen, by the loop's clock. */
    uint64_t last_t_ms, last_t_loop;
    int started, stopped, destroyed, pending, depth;
} headless;

static const int sig_nums[3] = {SIGINT, SIGTERM, SIGHUP};

static void maybe_free(headless *h) {
    if (!h->destroyed || h->pending || h->depth) return;
    hc_json_free(&h->json);
    free(h);
}

static void on_out_watch(uv_timer_t *t);

static void output_broken(headless *h) {
    if (h->out_broken) return;
    h->out_broken = 1;
    /* Not from here: a write fails inside the meeting's own event callback, which must not be
     * re-entered with a LEAVE. The watch timer asks for it on the next loop turn. */
    if (h->out_watch_open && !h->stopped) uv_timer_start(&h->out_watch, on_out_watch, 0, 0);
}

static void emit_line(headless *h, const char *line, size_t len) {
    if (!line || h->out_broken) return;
    if (fwrite(line, 1, len, h->out) != len || fflush(h->out)) output_broken(h);
}

/* What goes with an event: the version on the first line, the command it answers. */
static hc_headless_extra extra_for(headless *h, const hc_event *ev) {
    hc_headless_extra x = {0};
    if (!h->printed) x.version = HC_HEADLESS_VERSION;
    if (h->in_cmd) {
        x.has_id = h->cmd_has_id;
        x.id = h->cmd_id;
        if (ev && ev->type == HC_EV_ERROR) x.command = h->cmd_name;
    }
    return x;
}

static void emit_event(headless *h, const hc_event *ev) {
    hc_headless_extra x = extra_for(h, ev);
    size_t len;
    const char *l = hc_headless_format_ex(&h->json, ev, &x, &len);
    if (!l) {
        hc_event e = {.type = HC_EV_ERROR, .t_ms = ev->t_ms, .code = "too_large",
                      .text = "an event too large to print was dropped"};
        x = extra_for(h, &e);
        l = hc_headless_format_ex(&h->json, &e, &x, &len);
    }
    if (h->in_cmd) {
        if (ev->type == HC_EV_ERROR) h->cmd_errors++;
        if (ev->type == HC_EV_LEFT) h->cmd_left++;
    }
    if (l) h->printed = 1;
    emit_line(h, l, len);
}

static uint64_t own_t_ms(headless *h) {
    uv_update_time(h->loop);
    return h->last_t_ms + (uv_now(h->loop) - h->last_t_loop);
}

static void emit_error(headless *h, const char *code, const char *msg) {
    hc_event ev = {.type = HC_EV_ERROR, .code = code, .text = msg, .t_ms = own_t_ms(h)};
    emit_event(h, &ev);
}

/* A command with an id that was carried out: {"event":"ok","t_ms":..,"command":..,"id":..}. */
static void emit_ok(headless *h) {
    hc_headless_extra x = extra_for(h, NULL);
    hc_json_begin(&h->json, "ok", own_t_ms(h));
    if (x.version) hc_json_u64(&h->json, "version", (uint64_t)x.version);
    hc_json_str(&h->json, "command", h->cmd_name);
    hc_json_u64(&h->json, "id", h->cmd_id);
    size_t len;
    const char *l = hc_json_end(&h->json, &len);
    if (l) h->printed = 1;
    emit_line(h, l, len);
}

static void command(headless *h, const hc_command *cmd) {
    if (!h->cb.command) return;
    h->depth++;
    h->cb.command(h->cb.ctx, cmd);
    h->depth--;
}

/* How often a quiet front end checks that its reader is still there. poll() with no events asks
 * only for POLLERR/POLLHUP/POLLNVAL: a pipe whose reading end is closed reports POLLERR, a hung
 * up terminal or a socket shut in both directions POLLHUP. A socket half-closed for writing by
 * the controller (its commands ended) reports neither: end of input never leaves the meeting. */
#define OUT_WATCH_MS 200

static int out_gone(headless *h) {
    int fd = fileno(h->out);
    if (fd < 0) return 0;
    struct pollfd p = {.fd = fd, .events = 0};
    return poll(&p, 1, 0) == 1 && (p.revents & (POLLERR | POLLHUP | POLLNVAL));
}

static void on_out_watch(uv_timer_t *t) {
    headless *h = t->data;
    if (h->stopped || h->out_lost) return;
    if (!h->out_broken && !out_gone(h)) return;
    h->out_broken = 1;
    h->out_lost = 1;
    uv_timer_stop(&h->out_watch);
    /* Nobody reads our events any more: say so where a person may still look, and leave. */
    fprintf(stderr, "hushcall: standard output was closed (the program reading the events is gone): "
                    "leaving the meeting\n");
    hc_command cmd = {.type = HC_CMD_LEAVE, .text = HC_LEAVE_OUTPUT_LOST};
    command(h, &cmd);
    maybe_free(h);
}

static void run_line(headless *h) {
    char *l = h->line;
    h->line[h->line_len] = 0;
    if (h->line_len && l[h->line_len - 1] == '\r') l[h->line_len - 1] = 0;
    h->line_len = 0;
    const char *p = l;
    while (*p == ' ' || *p == '\t') p++;
    if (!*p) return;
    hc_command cmd;
    char err[256];
    h->in_cmd = 1;
    h->cmd_errors = h->cmd_left = 0;
    h->cmd_has_id = hc_headless_parse_id(&p, &h->cmd_id);
    /* The command's name as given (its first word, bounded), for the answer to name. */
    size_t wl = 0;
    while (p[wl] && p[wl] != ' ' && p[wl] != '\t' && wl < sizeof h->cmd_name - 1) wl++;
    memcpy(h->cmd_name, p, wl);
    h->cmd_name[wl] = 0;
    if (hc_headless_parse(p, &cmd, err, sizeof err)) emit_error(h, "bad_command", err);
    else command(h, &cmd);
    if (h->cmd_has_id && !h->cmd_errors && !h->cmd_left && !h->stopped) emit_ok(h);
    h->in_cmd = 0;
}

static void feed(headless *h, const char *buf, size_t n) {
    for (size_t i = 0; i < n && !h->stopped; i++) {
        char c = buf[i];
        if (c == '\n') {
            if (h->too_long) {
                h->too_long = 0;
                h->line_len = 0;
                emit_error(h, "bad_command", "command line longer than 4096 bytes");
            } else {
                run_line(h);
            }
        } else if (h->too_long) {
            continue;
        } else if (h->line_len == HC_HEADLESS_LINE_MAX) {
            h->too_long = 1;                 /* bounded: drop the rest of this line */
        } else {
            h->line[h->line_len++] = c;
        }
    }
}

static void on_close(uv_handle_t *hd) {
    headless *h = hd->data;
    h->pending--;
    maybe_free(h);
}

static void close_input(headless *h) {
    if (h->in_open) {
        h->in_open = 0;
        if (h->in_flags >= 0) fcntl(h->in_fd, F_SETFL, h->in_flags);
        uv_close(&h->in.handle, on_close);
    }
}

/* End of input: a last line without newline still counts. EOF never leaves the meeting: a bot
 * may run with stdin closed or from /dev/null. */
static void input_eof(headless *h) {
    if (h->too_long) { h->too_long = 0; h->line_len = 0; emit_error(h, "bad_command", "command line longer than 4096 bytes"); }
    else if (h->line_len) run_line(h);
}

static void on_alloc(uv_handle_t *hd, size_t want, uv_buf_t *buf) {
    headless *h = hd->data;
    (void)want;
    *buf = uv_buf_init(h->rbuf, sizeof h->rbuf);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
    headless *h = s->data;
    h->depth++;
    if (n > 0) {
        feed(h, buf->base, (size_t)n);
    } else if (n < 0) {
        if (n != UV_EOF) {
            char msg[128];
            snprintf(msg, sizeof msg, "reading commands: %s", uv_strerror((int)n));
            emit_error(h, "stdin", msg);
        }
        if (!h->stopped) input_eof(h);
        close_input(h);
    }
    h->depth--;
    maybe_free(h);
}

static void file_read(headless *h);

static void on_fs_read(uv_fs_t *req) {
    headless *h = req->data;
    ssize_t n = req->result;
    uv_fs_req_cleanup(req);
    h->fs_busy = 0;
    h->pending--;
    h->depth++;
    if (n > 0 && !h->stopped) {
        feed(h, h->rbuf, (size_t)n);
        if (!h->stopped) file_read(h);
    } else if (!h->stopped) {
        input_eof(h);
    }
    h->depth--;
    maybe_free(h);
}

static void file_read(headless *h) {
    uv_buf_t b = uv_buf_init(h->rbuf, sizeof h->rbuf);
    h->fsreq.data = h;
    if (uv_fs_read(h->loop, &h->fsreq, h->in_fd, &b, 1, -1, on_fs_read) == 0) {
        h->fs_busy = 1;
        h->pending++;
    }
}

static void on_signal(uv_signal_t *s, int signum) {
    headless *h = s->data;
    if (h->sig_seen++) {
        /* Again, a second or more after the first: the user means it. Default action, now. */
        if (!hc_fe_signal_forces_quit(h->first_sig_ms, uv_now(h->loop))) return;
        fflush(h->out);
        signal(signum, SIG_DFL);
        raise(signum);
        return;
    }
    h->first_sig_ms = uv_now(h->loop);
    hc_command cmd = {.type = HC_CMD_LEAVE};
    command(h, &cmd);
    maybe_free(h);
}

static int hl_start(hc_frontend *f, uv_loop_t *loop, const hc_frontend_callbacks *cb, char *err, size_t errlen) {
    headless *h = f->impl;
    (void)err; (void)errlen;
    if (h->started) return 0;
    h->started = 1;
    h->loop = loop;
    h->last_t_loop = uv_now(loop);
    if (cb) h->cb = *cb;
    for (int i = 0; i < 3; i++) {
        struct sigaction old;
        if (sigaction(sig_nums[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN) continue;
        if (uv_signal_init(loop, &h->sig[i])) continue;
        h->sig[i].data = h;
        h->sig_open[i] = 1;
        uv_signal_start(&h->sig[i], on_signal, sig_nums[i]);
        uv_unref((uv_handle_t *)&h->sig[i]);   /* signals alone do not keep the loop alive */
    }
    if (uv_timer_init(loop, &h->out_watch) == 0) {
        h->out_watch.data = h;
        h->out_watch_open = 1;
        uv_timer_start(&h->out_watch, on_out_watch, OUT_WATCH_MS, OUT_WATCH_MS);
        uv_unref((uv_handle_t *)&h->out_watch);   /* nor does watching our reader */
    }
    h->in_flags = -1;
    if (h->in_fd < 0) return 0;
    uv_handle_type t = uv_guess_handle(h->in_fd);
    int flags = fcntl(h->in_fd, F_GETFL);
    int rc = -1;
    switch (t) {
    case UV_TTY:
        rc = uv_tty_init(loop, &h->in.tty, h->in_fd, 1);
        break;
    case UV_NAMED_PIPE:
        if ((rc = uv_pipe_init(loop, &h->in.pipe, 0)) == 0 && (rc = uv_pipe_open(&h->in.pipe, h->in_fd))) {
            h->in.handle.data = h;
            h->pending++;
            uv_close(&h->in.handle, on_close);
            rc = -2;
        }
        h->in_flags = flags;
        break;
    case UV_TCP:
        if ((rc = uv_tcp_init(loop, &h->in.tcp)) == 0 && (rc = uv_tcp_open(&h->in.tcp, h->in_fd))) {
            h->in.handle.data = h;
            h->pending++;
            uv_close(&h->in.handle, on_close);
            rc = -2;
        }
        h->in_flags = flags;
        break;
    case UV_FILE:
        /* A file or /dev/null: not pollable, read it through the thread pool. */
        h->in_kind = IN_FILE;
        file_read(h);
        return 0;
    default:
        return 0;                            /* closed or unusable: no commands, not an error */
    }
    if (rc) { h->in_flags = -1; return 0; }
    h->in_kind = IN_STREAM;
    h->in.handle.data = h;
    h->in_open = 1;
    h->pending++;
    if (uv_read_start(&h->in.stream, on_alloc, on_read)) close_input(h);
    return 0;
}

static void hl_on_event(hc_frontend *f, const hc_event *ev) {
    headless *h = f->impl;
    if (h->loop) {
        h->last_t_ms = ev->t_ms;
        h->last_t_loop = uv_now(h->loop);
    }
    emit_event(h, ev);
}

static void hl_stop(hc_frontend *f) {
    headless *h = f->impl;
    if (h->stopped) return;
    h->stopped = 1;
    if (h->out) fflush(h->out);
    if (!h->started) return;
    close_input(h);
    if (h->out_watch_open) {
        h->out_watch_open = 0;
        h->pending++;
        uv_close((uv_handle_t *)&h->out_watch, on_close);
    }
    for (int i = 0; i < 3; i++)
        if (h->sig_open[i]) {
            h->sig_open[i] = 0;
            h->pending++;
            uv_close((uv_handle_t *)&h->sig[i], on_close);
        }
    /* A file read in flight finishes on the thread pool; on_fs_read then sees stopped. */
}

static void hl_destroy(hc_frontend *f) {
    headless *h = f->impl;
    hl_stop(f);
    h->destroyed = 1;
    maybe_free(h);
}

static const hc_frontend_ops headless_ops = {
    .name = "headless",
    .start = hl_start,
    .on_event = hl_on_event,
    .update = NULL,      /* a program reads events; the state is for screens (no redraw timer) */
    .stop = hl_stop,
    .destroy = hl_destroy,
};

hc_frontend *hc_headless_new_fds(int in_fd, FILE *out) {
    headless *h = calloc(1, sizeof *h);
    if (!h) return NULL;
    h->in_fd = in_fd;
    h->out = out ? out : stdout;
    hc_json_init(&h->json);
    h->fe.ops = &headless_ops;
    h->fe.impl = h;
    return &h->fe;
}

hc_frontend *hc_headless_new(void) { return hc_headless_new_fds(STDIN_FILENO, stdout); }
