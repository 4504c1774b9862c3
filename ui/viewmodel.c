/* The pure view model (see viewmodel.h). Every function here only reads the UI state and writes
 * the grid. */
#include "ui/viewmodel.h"

#include <stdio.h>
#include <string.h>

#include "ui/keys.h"
#include "ui/text.h"

/* The glyphs that differ between UTF-8 and ASCII terminals. */
typedef struct {
    const char *hline, *vline, *tl, *tr, *bl, *br;
    const char *ramp[8];
    const char *empty;     /* an unlit meter cell */
    const char *dash;      /* " — " */
    const char *sep;       /* " · " between status items */
    const char *check;
    const char *warn;      /* in the E2EE badge while a security alert stands */
} glyphs;

static const glyphs utf8_glyphs = {
    "\xE2\x94\x80", "\xE2\x94\x82", "\xE2\x94\x8C", "\xE2\x94\x90", "\xE2\x94\x94", "\xE2\x94\x98",
    {"\xE2\x96\x81", "\xE2\x96\x82", "\xE2\x96\x83", "\xE2\x96\x84", "\xE2\x96\x85", "\xE2\x96\x86",
     "\xE2\x96\x87", "\xE2\x96\x88"},
    "\xC2\xB7", " \xE2\x80\x94 ", " \xC2\xB7 ", "\xE2\x9C\x94 ", "\xE2\x9A\xA0",
};
static const glyphs ascii_glyphs = {
    "-", "|", "+", "+", "+", "+",
    {"#", "#", "#", "#", "#", "#", "#", "#"},
    ".", " - ", " | ", "", "!",
};

static const glyphs *G(const hc_grid *g) { return g->ascii ? &ascii_glyphs : &utf8_glyphs; }

int hc_vm_level_cells(int level_dbfs, int n) {
    if (level_dbfs <= -60) return 0;
    if (level_dbfs >= 0) return n;
    return ((level_dbfs + 60) * n + 30) / 60;
}

static void meter(hc_grid *g, int x, int y, int n, int level, uint8_t on, uint8_t off) {
    int lit = hc_vm_level_cells(level, n);
    for (int i = 0; i < n; i++) {
        const char *gl = i < lit ? G(g)->ramp[i * 8 / n] : G(g)->empty;
        hc_grid_text_clip(g, x + i, y, 1, i < lit ? on : off, gl);
    }
}

/* A box-drawing frame around the w x h rectangle at (x, y) (its edges are the rectangle's). */
static void frame(hc_grid *g, int x, int y, int w, int h, uint8_t style) {
    const glyphs *gl = G(g);
    hc_grid_text_clip(g, x, y, 1, style, gl->tl);
    hc_grid_repeat(g, x + 1, y, w - 2, style, gl->hline);
    hc_grid_text_clip(g, x + w - 1, y, 1, style, gl->tr);
    for (int r = 1; r < h - 1; r++) {
        hc_grid_text_clip(g, x, y + r, 1, style, gl->vline);
        hc_grid_text_clip(g, x + w - 1, y + r, 1, style, gl->vline);
    }
    hc_grid_text_clip(g, x, y + h - 1, 1, style, gl->bl);
    hc_grid_repeat(g, x + 1, y + h - 1, w - 2, style, gl->hline);
    hc_grid_text_clip(g, x + w - 1, y + h - 1, 1, style, gl->br);
}

/* before + name + after in at most maxw columns, the name shrinking first: the fixed parts
 * (a number, a fingerprint, "y/n") stay whole as long as there is room for them at all. Returns
 * the columns written. */
static int text_with_name(hc_grid *g, int x, int y, int maxw, uint8_t style, uint8_t name_style,
                          const char *before, const char *name, const char *after) {
    int bw = hc_grid_width(g, before), aw = hc_grid_width(g, after), nw = hc_grid_width(g, name);
    int room = maxw - bw - aw;
    if (room < 4) room = 4;                  /* a screen too narrow for that cuts the end instead */
    if (nw > room) nw = room;
    int x0 = x;
    x += hc_grid_text(g, x, y, maxw, style, before);
    x += hc_grid_text(g, x, y, nw < x0 + maxw - x ? nw : x0 + maxw - x, name_style, name);
    x += hc_grid_text(g, x, y, x0 + maxw - x, style, after);
    return x - x0;
}

/* ---- header and code ---- */

static void header(hc_grid *g, const hc_ui *ui) {
    const hc_view_state *st = &ui->st;
    char buf[160], dur[32];
    int w = g->w, x = 0;
    hc_grid_fill(g, 0, 0, w, 1, HC_STY_HEADER);
    if (w >= 100) x += hc_grid_text(g, x, 0, w - x, HC_STY_HEADER, " hushcall ");
    snprintf(buf, sizeof buf, " meeting %s ", st->meeting_id[0] ? st->meeting_id : "(connecting)");
    x += hc_grid_text(g, x, 0, w - x, HC_STY_HEADER, buf);
    x += hc_grid_text(g, x, 0, w - x, HC_STY_HEADER, " ");
    if (st->e2ee && ui->alert_active && ui->alert_level >= HC_ALERT_REFUSED) {
        /* Still encrypted, but not "all is well": an attack was seen and is not dealt with. */
        char b[32];
        snprintf(b, sizeof b, " E2EE %s ALERT ", G(g)->warn);
        x += hc_grid_text(g, x, 0, w - x, HC_STY_ALERT, b);
    } else if (st->e2ee) {
        x += hc_grid_text(g, x, 0, w - x, HC_STY_OK, " E2EE ");
    } else if (st->reconnecting) {
        /* Not "not encrypted": nothing is sent until the resumed meeting has a new key. */
        x += hc_grid_text(g, x, 0, w - x, HC_STY_WARN, w >= 100 ? " RECONNECTING: nothing is sent " : " RECONNECTING ");
    } else {
        /* Say why, where there is room: the key has not arrived, or the roster does not check. */
        const char *why = w >= 100 ? (st->epoch ? " NOT ENCRYPTED YET: checking the roster "
                                                : " NOT ENCRYPTED YET: waiting for key ")
                                   : " NOT ENCRYPTED YET ";
        x += hc_grid_text(g, x, 0, w - x, HC_STY_BAD, why);
    }
    /* The right side: LOCKED, epoch, duration; the leader's name gets what is left. */
    hc_format_duration(dur, sizeof dur, st->duration_ms);
    snprintf(buf, sizeof buf, " epoch %u  %s ", (unsigned)st->epoch, dur);
    int right = hc_grid_width(g, buf);
    int rx = w - right;
    if (rx < x) rx = x;
    hc_grid_text(g, rx, 0, w - rx, HC_STY_HEADER, buf);
    if (st->locked && rx - 8 > x) {
        rx -= 8;
        hc_grid_text(g, rx, 0, 8, HC_STY_WARN, " LOCKED ");
    }
    if (st->admit[0]) {   /* who may walk in: the meeting's policy, kept by a new leader */
        snprintf(buf, sizeof buf, " admit %s ", st->admit);
        int aw = hc_grid_width(g, buf);
        if (rx - aw > x + 10) {
            rx -= aw;
            hc_grid_text(g, rx, 0, aw, HC_STY_HEADER, buf);
        }
    }
    if (rx - x > 10) {
        x += hc_grid_text(g, x, 0, rx - x, HC_STY_HEADER, "  leader ");
        hc_grid_text(g, x, 0, rx - x - 1, HC_STY_HEADER, st->leader_name[0] ? st->leader_name : "?");
    }
}

static void code_line(hc_grid *g, const hc_ui *ui, int y) {
    char code[48];
    int w = g->w, x = 0;
    x += hc_grid_text(g, x, y, w - x, HC_STY_NORMAL, " code ");
    if (!hc_code_format(code, ui->st.code)) {
        hc_grid_text(g, x, y, w - x, HC_STY_DIM, code[0] ? code
                                                  : ui->st.reconnecting ? "(reconnecting: shown again when the meeting is back)"
                                                                        : "(waiting for the leader's identity)");
        return;
    }
    x += hc_grid_text(g, x, y, w - x, HC_STY_CODE, code);
    x += hc_grid_text(g, x, y, w - x, HC_STY_NORMAL, "  ");
    if (ui->st.is_leader) {
        /* The leader's own code is not to be verified by the leader: it is the reference. */
        hc_grid_text(g, x, y, w - x, HC_STY_LEADER,
                     w >= 100 ? " YOU LEAD: read this code to the others " : " YOU LEAD: read it aloud ");
    } else if (ui->st.verified) {
        char v[32];
        snprintf(v, sizeof v, " %sVERIFIED ", G(g)->check);
        hc_grid_text(g, x, y, w - x, HC_STY_OK, v);
    } else {
        char v[48];
        snprintf(v, sizeof v, " NOT VERIFIED%spress v ", G(g)->dash);
        hc_grid_text(g, x, y, w - x, HC_STY_WARN, v);
    }
}

static void alert_line(hc_grid *g, const hc_ui *ui, int y) {
    char buf[400];
    if (ui->alert_active) {
        /* The count and the key stay whole; a long alert text is cut (the log has all of it). */
        hc_grid_fill(g, 0, y, g->w, 1, HC_STY_ALERT);
        char tail[64];
        if (ui->alert_more) snprintf(tail, sizeof tail, " (+%u more in the log)  x: dismiss ", ui->alert_more);
        else snprintf(tail, sizeof tail, " x: dismiss ");
        int tw = hc_grid_width(g, tail);
        snprintf(buf, sizeof buf, " !! %s", ui->alert_text);
        hc_grid_text(g, 0, y, g->w - tw, HC_STY_ALERT, buf);
        hc_grid_text_right(g, g->w, y, HC_STY_ALERT, tail);
    } else if (ui->st.net_note) {
        /* The meeting's own state, while it lasts. Audio and camera trouble are not on this line:
         * they are log lines, so x never has something it cannot dismiss. */
        snprintf(buf, sizeof buf, " %s", ui->st.net_note);
        hc_grid_text(g, 0, y, g->w, HC_STY_WARN, buf);
    } else {
        hc_grid_repeat(g, 0, y, g->w, HC_STY_DIM, G(g)->hline);
    }
}

static void admission_line(hc_grid *g, const hc_ui *ui, int y, const hc_ui_person *p) {
    char buf[200];
    size_t waiting = ui->n_pending > 1 ? ui->n_pending - 1 : 0;
    hc_grid_fill(g, 0, y, g->w, 1, HC_STY_WARN);
    const char *tail = " a: admit  d: deny ";
    int tw = hc_grid_width(g, tail);
    /* Who it is: the number and the fingerprint matter more than the end of a long name. */
    if (waiting) snprintf(buf, sizeof buf, "  #%u  %s  (+%zu waiting)", (unsigned)p->index, p->fingerprint, waiting);
    else snprintf(buf, sizeof buf, "  #%u  %s", (unsigned)p->index, p->fingerprint);
    text_with_name(g, 0, y, g->w - tw, HC_STY_WARN, HC_STY_WARN, " WANTS TO JOIN: ", p->name, buf);
    hc_grid_text_right(g, g->w, y, HC_STY_WARN, tail);
}

/* ---- participants ---- */

typedef struct {
    int sel, idx, name, fp, role, mic, level, loss, jit;   /* start columns */
    int name_w, fp_w, level_w;
    int full_fp;
} columns;

static columns list_columns(int w) {
    columns c;
    c.full_fp = w >= 120;
    c.fp_w = c.full_fp ? 24 : 9;
    c.level_w = w >= 120 ? 12 : 8;
    /* fixed: sel 2, idx 4, name+1, fp+1, role 11, mic 6, level+1, loss 6, jitter 6 */
    int fixed = 2 + 4 + 1 + c.fp_w + 1 + 11 + 6 + c.level_w + 1 + 6 + 6;
    c.name_w = w - fixed;
    if (c.name_w > 40) c.name_w = 40;
    if (c.name_w < 4) c.name_w = 4;
    c.sel = 0;
    c.idx = 2;
    c.name = 6;
    c.fp = c.name + c.name_w + 1;
    c.role = c.fp + c.fp_w + 1;
    c.mic = c.role + 11;
    c.level = c.mic + 6;
    c.loss = c.level + c.level_w + 1;
    c.jit = c.loss + 6;
    return c;
}

static void list_header(hc_grid *g, const hc_ui *ui, int y, const columns *c) {
    char buf[64];
    hc_grid_fill(g, 0, y, g->w, 1, HC_STY_DIM);
    hc_grid_text(g, c->idx, y, 3, HC_STY_DIM, "  #");
    if (ui->joining) snprintf(buf, sizeof buf, "NAME (%zu, +%u joining)", ui->st.n_participants, (unsigned)ui->joining);
    else snprintf(buf, sizeof buf, "NAME (%zu)", ui->st.n_participants);
    hc_grid_text(g, c->name, y, c->name_w, HC_STY_DIM, buf);
    hc_grid_text(g, c->fp, y, c->fp_w, HC_STY_DIM, c->full_fp ? "FINGERPRINT" : "KEY");
    hc_grid_text(g, c->role, y, 10, HC_STY_DIM, "ROLE");
    hc_grid_text(g, c->mic, y, 5, HC_STY_DIM, "MIC");
    hc_grid_text(g, c->level, y, c->level_w, HC_STY_DIM, "LEVEL");
    hc_grid_text(g, c->loss, y, 5, HC_STY_DIM, " LOSS");
    hc_grid_text(g, c->jit, y, 6, HC_STY_DIM, "JITTER");
    if (ui->st.rtt_ms > 0 && c->jit + 8 + 14 <= g->w) {
        snprintf(buf, sizeof buf, "rtt %.0f ms", ui->st.rtt_ms);
        hc_grid_text_right(g, g->w - 1, y, HC_STY_DIM, buf);
    }
}

static void list_row(hc_grid *g, const hc_ui *ui, const hc_view_participant *p, int y, const columns *c, int selected) {
    uint8_t sel = selected ? HC_STY_SEL : 0;
    char buf[64];
    hc_grid_fill(g, 0, y, g->w, 1, (uint8_t)(HC_STY_NORMAL | sel));
    if (selected) hc_grid_text(g, c->sel, y, 2, (uint8_t)(HC_STY_BOLD | sel), ">");
    snprintf(buf, sizeof buf, "%3u", (unsigned)p->index);
    hc_grid_text(g, c->idx, y, 3, (uint8_t)(HC_STY_DIM | sel), buf);
    hc_grid_text(g, c->name, y, c->name_w, (uint8_t)((p->is_leader ? HC_STY_LEADER : HC_STY_BOLD) | sel),
                 p->name[0] ? p->name : "?");
    char fp[25];
    hc_text_copy(fp, c->full_fp ? sizeof fp : 10, p->fingerprint);
    hc_grid_text(g, c->fp, y, c->fp_w, (uint8_t)(HC_STY_DIM | sel), fp);
    const char *role = p->waiting ? "waiting" : p->is_leader && p->is_self ? "leader,you"
                     : p->is_leader ? "leader" : p->is_self ? "you" : "";
    hc_grid_text(g, c->role, y, 10, (uint8_t)((p->waiting ? HC_STY_WARN : p->is_leader ? HC_STY_LEADER : HC_STY_NORMAL) | sel), role);
    if (p->muted) hc_grid_text(g, c->mic, y, 5, (uint8_t)(HC_STY_MUTED | sel), "MUTED");
    else hc_grid_text(g, c->mic, y, 5, (uint8_t)(HC_STY_DIM | sel), "on");
    /* Our own voice reaches nobody before we hold the key: not "talking" then. */
    int talking = p->talking && (!p->is_self || ui->st.e2ee);
    meter(g, c->level, y, c->level_w, p->muted ? -127 : p->level_dbfs,
          (uint8_t)((talking ? HC_STY_TALK : HC_STY_METER) | sel), (uint8_t)(HC_STY_DIM | sel));
    if (!p->is_self && !p->waiting) {
        double loss = p->loss_pct < 0 ? 0 : p->loss_pct > 100 ? 100 : p->loss_pct;
        snprintf(buf, sizeof buf, "%4.*f%%", loss >= 99.95 ? 0 : 1, loss);
        hc_grid_text(g, c->loss, y, 5, (uint8_t)((loss >= 5 ? HC_STY_WARN : HC_STY_NORMAL) | sel), buf);
        double j = p->jitter_ms < 0 ? 0 : p->jitter_ms > 9999 ? 9999 : p->jitter_ms;
        snprintf(buf, sizeof buf, "%4.0fms", j);
        hc_grid_text(g, c->jit, y, 6, (uint8_t)((j >= 60 ? HC_STY_WARN : HC_STY_NORMAL) | sel), buf);
    }
}

static size_t list_first(const hc_ui *ui, int rows) {
    size_t n = ui->st.n_participants, first = ui->part_scroll;
    if (rows <= 0 || n <= (size_t)rows) return 0;
    /* The stored scroll is a hint; the selection must be visible whatever the window size. */
    if (ui->has_sel) {
        if (ui->sel_pos < first) first = ui->sel_pos;
        if (ui->sel_pos >= first + (size_t)rows) first = ui->sel_pos - (size_t)rows + 1;
    }
    if (first > n - (size_t)rows) first = n - (size_t)rows;
    return first;
}

/* ---- log ---- */

/* The i-th wrapped line of an entry, as a byte range of its text. Breaks at the last space that
 * fits when there is one. Returns the number of lines when i < 0. */
static int wrap(const hc_grid *g, const char *s, int width, int i, size_t *off, size_t *len) {
    size_t n = strlen(s), pos = 0;
    int line = 0;
    if (width < 1) width = 1;
    do {
        int w;
        size_t k = hc_grid_fit(g, s + pos, n - pos, width, &w);
        if (k == 0 && pos < n) k = 1;                      /* never stall */
        if (pos + k < n && s[pos + k] != ' ') {
            size_t b = k;
            while (b > 0 && s[pos + b - 1] != ' ') b--;
            if (b > (size_t)width / 3) k = b;                      /* not for one very long word */
        }
        if (line == i) { *off = pos; *len = k; return line; }
        pos += k;
        if (pos < n && s[pos] == ' ') pos++;               /* the space we broke at */
        line++;
    } while (pos < n);
    return line;
}

static uint8_t log_style(hc_log_kind k) {
    return k == HC_LOG_ALERT ? HC_STY_ALERT : k == HC_LOG_CHAT ? HC_STY_CHAT : HC_STY_NORMAL;
}

static void log_area(hc_grid *g, const hc_ui *ui, int y0, int rows) {
    const int pre = 6;                                     /* "mm:ss " */
    int width = g->w - pre - 1;
    size_t count = hc_log_count(&ui->log);
    if (rows <= 0) return;
    size_t scroll = ui->log_scroll;
    if (scroll) {
        size_t total = 0;
        for (size_t e = 0; e < count; e++) total += (size_t)wrap(g, hc_log_get(&ui->log, e)->text, width, -1, NULL, NULL);
        size_t max = total > (size_t)rows ? total - (size_t)rows : 0;
        if (scroll > max) scroll = max;
    }
    /* Lines are counted from the bottom: k = 0 is the newest entry's last line. */
    size_t acc = 0;
    for (size_t e = count; e-- > 0 && acc < scroll + (size_t)rows;) {
        const hc_log_entry *le = hc_log_get(&ui->log, e);
        int nl = wrap(g, le->text, width, -1, NULL, NULL);
        for (int li = nl - 1; li >= 0; li--, acc++) {
            if (acc < scroll) continue;
            if (acc >= scroll + (size_t)rows) break;
            int y = y0 + rows - 1 - (int)(acc - scroll);
            size_t off = 0, len = 0;
            char line[HC_LOG_TEXT];
            wrap(g, le->text, width, li, &off, &len);
            memcpy(line, le->text + off, len);
            line[len] = 0;
            if (li == 0) {
                char ts[16];
                uint64_t s = le->t_ms / 1000;
                if (s >= 6000) snprintf(ts, sizeof ts, "%3uh", (unsigned)(s / 3600 % 1000));
                else snprintf(ts, sizeof ts, "%02u:%02u", (unsigned)(s / 60), (unsigned)(s % 60));
                hc_grid_text(g, 0, y, pre, HC_STY_DIM, ts);
            }
            hc_grid_text(g, pre, y, g->w - pre, log_style(le->kind), line);
        }
    }
}

static void render(hc_grid *g, const hc_ui *ui, hc_layout *lay, int fresh);

/* ---- the video view ---- */

/* The label under a tile: the selection mark and the name (which shrinks first), then, right-
 * aligned so that the tiles' meters line up: the talking meter, MUTED, FROZEN and PINNED. */
static void tile_label(hc_grid *g, const hc_ui *ui, const hc_tile *t, const hc_view_participant *p, int frozen) {
    int x = t->label.x, y = t->label.y, w = t->label.w;
    int selected = hc_ui_selected(ui) == p;
    uint8_t sel = selected ? HC_STY_SEL : 0;
    hc_grid_fill(g, x, y, w, 1, (uint8_t)(HC_STY_NORMAL | sel));
    int pinned = ui->pinned && ui->pinned == p->index;
    int meter_w = w >= 40 ? 8 : w >= 24 ? 4 : 0;
    /* What does not fit goes: PINNED first, then the meter (MUTED and FROZEN always stay). */
    int right = (p->muted ? 6 : 0) + (frozen ? 7 : 0);
    if (pinned && w - right - 7 - (meter_w ? meter_w + 1 : 0) < 10) pinned = 0;
    right += pinned ? 7 : 0;
    if (meter_w && w - right - meter_w - 1 < 8) meter_w = 0;
    right += meter_w ? meter_w + 1 : 0;
    text_with_name(g, x, y, w - right, (uint8_t)(HC_STY_NORMAL | sel),
                   (uint8_t)((p->is_leader ? HC_STY_LEADER : HC_STY_BOLD) | sel), selected ? "> " : "  ",
                   p->name[0] ? p->name : "?", p->is_self && strcmp(p->name, "you") ? " (you)" : "");
    int rx = x + w - right;
    if (rx < x) rx = x;
    if (meter_w) {
        int talking = p->talking && !p->muted && (!p->is_self || ui->st.e2ee);
        rx++;
        meter(g, rx, y, meter_w, p->muted ? -127 : p->level_dbfs, (uint8_t)((talking ? HC_STY_TALK : HC_STY_METER) | sel),
              (uint8_t)(HC_STY_DIM | sel));
        rx += meter_w;
    }
    if (p->muted) rx += hc_grid_text(g, rx, y, x + w - rx, (uint8_t)(HC_STY_MUTED | sel), " MUTED");
    if (frozen) rx += hc_grid_text(g, rx, y, x + w - rx, (uint8_t)(HC_STY_WARN | sel), " FROZEN");
    if (pinned) hc_grid_text(g, rx, y, x + w - rx, (uint8_t)(HC_STY_BOLD | sel), " PINNED");
}

/* A line of text centred in a box (cut to it). */
static void centred(hc_grid *g, const hc_rect *r, int y, uint8_t style, const char *s) {
    if (y < r->y || y >= r->y + r->h) return;
    int tw = hc_grid_width(g, s);
    int x = r->x + (tw < r->w ? (r->w - tw) / 2 : 0);
    hc_grid_text(g, x, y, r->x + r->w - x, style, s);
}

/* Where a picture of f's shape goes in a tile's box. */
static hc_rect picture_box(const hc_tile *t, const hc_video_frame *f) {
    int x, y, w, h;
    hc_video_fit(t->pic.w, t->pic.h, f->w, f->h, &x, &y, &w, &h);
    return (hc_rect){t->pic.x + x, t->pic.y + y, w, h};
}

/* One tile: the picture (the cells last drawn for it, or with fresh the newest picture), or
 * when there is none a frame with who it is and why there is no picture; the label under it. */
static void draw_tile(hc_grid *g, const hc_ui *ui, int slot, const hc_tile *t, int fresh) {
    const hc_rect *r = &t->pic;
    hc_grid_fill(g, r->x, r->y, r->w, r->h + 1, HC_STY_NORMAL);
    const hc_view_participant *p = t->index ? hc_ui_find(ui, t->index) : NULL;
    if (!p) {
        centred(g, r, r->y + r->h / 2, HC_STY_DIM, ui->st.reconnecting ? "(reconnecting)" : "nobody else is here yet");
        return;
    }
    const hc_video_frame *f = hc_vpics_get(ui->pics, t->index);
    const hc_pic_cell *cells = NULL;
    hc_rect b = {0, 0, 0, 0};
    if (f) {
        b = picture_box(t, f);
        cells = hc_vpics_cells(ui->pics, slot, t->index, b.w, b.h, fresh);
    }
    if (cells) {
        hc_picture_blit(g, b.x, b.y, cells, b.w, b.h, HC_STY_NORMAL);
    } else {
        /* No picture (yet): a frame, the name, and why. */
        if (r->w >= 3 && r->h >= 3) frame(g, r->x, r->y, r->w, r->h, HC_STY_DIM);
        hc_rect in = {r->x + 1, r->y, r->w - 2, r->h};
        int mid = r->y + r->h / 2;
        if (r->h >= 4) centred(g, &in, mid - 1, p->is_leader ? HC_STY_LEADER : HC_STY_BOLD, p->name[0] ? p->name : "?");
        centred(g, &in, mid, HC_STY_DIM, p->is_self ? "starting your camera" : "no video");
    }
    tile_label(g, ui, t, p, cells && !p->video_live);
}

/* The tiles, and under them a few lines of the log (chat stays readable). */
static void video_body(hc_grid *g, const hc_ui *ui, int y, int y_end, hc_layout *l, int fresh) {
    int rows = y_end - y;
    int log_rows = rows >= 30 ? rows / 5 : rows >= 14 ? 3 : rows >= 8 ? 1 : 0;
    int tiles_h = rows - (log_rows ? log_rows + 1 : 0);
    hc_video_cast cast;
    hc_video_cast_choose(ui->parts, ui->st.n_participants, ui->pinned, ui->speaker, ui->st.camera_on, ui->pics, &cast);
    int k = cast.n_thumbs + (cast.self != 0);
    hc_tiles *tl = &l->tiles;
    hc_video_geometry((hc_rect){0, y, g->w, tiles_h}, k, tl);
    l->video = 1;
    if (tl->n) {
        tl->t[0].index = cast.main;
        for (int i = 0; i < cast.n_thumbs; i++) tl->t[1 + i].index = cast.thumbs[i];
        if (cast.self) {
            tl->t[1 + cast.n_thumbs].index = cast.self;
            tl->t[1 + cast.n_thumbs].kind = HC_TILE_SELF;
        }
        for (int i = 0; i < tl->n; i++) draw_tile(g, ui, i, &tl->t[i], fresh);
    } else if (tiles_h > 0) {
        hc_grid_text(g, 2, y + (tiles_h - 1) / 2, g->w - 2, HC_STY_DIM, "(no room for pictures: make the window taller)");
    }
    y += tiles_h;
    if (!log_rows) return;
    hc_grid_repeat(g, 0, y, g->w, HC_STY_DIM, G(g)->hline);
    hc_grid_text(g, 2, y, g->w - 4, HC_STY_DIM, ui->log_scroll ? " log (scrolled back: PgDn for newer) " : " log ");
    /* Who Up/Down selected (p pins them), also when they have no tile. */
    const hc_view_participant *sel = hc_ui_selected(ui);
    if (sel && g->w >= 60) {
        char buf[HC_NAME_MAX + 64];
        snprintf(buf, sizeof buf, " selected #%u %s: p %s ", (unsigned)sel->index, sel->name,
                 ui->pinned == sel->index ? "unpins" : "pins");
        int bw = hc_grid_width(g, buf), room = g->w / 2;
        if (bw > room) bw = room;
        hc_grid_text(g, g->w - 2 - bw, y, bw, HC_STY_DIM, buf);
    }
    y++;
    l->log_y = y;
    l->log_rows = log_rows;
    log_area(g, ui, y, log_rows);
}

/* Pictures into a box of the grid. */
int hc_vm_video_step(hc_grid *g, const hc_ui *ui, hc_layout *lay) {
    if (!lay->video) return 0;
    int stale = 0;
    for (int i = 0; i < lay->tiles.n; i++)
        if (lay->tiles.t[i].index && hc_vpics_stale(ui->pics, i, lay->tiles.t[i].index)) stale++;
    if (!stale) return 0;
    /* In place only where the tile showed a picture of this member at this size and nothing lies
     * on top: otherwise the whole frame again (same cells elsewhere: nothing else is written). */
    int in_place = ui->dialog == HC_DLG_NONE;
    for (int i = 0; i < lay->tiles.n && in_place; i++) {
        const hc_tile *t = &lay->tiles.t[i];
        const hc_video_frame *f = t->index ? hc_vpics_get(ui->pics, t->index) : NULL;
        if (!f || !hc_vpics_stale(ui->pics, i, t->index)) continue;
        hc_rect b = picture_box(t, f);
        if (!hc_vpics_shown(ui->pics, i, t->index, b.w, b.h)) in_place = 0;
    }
    if (!in_place) {
        render(g, ui, lay, 1);
        return stale;
    }
    for (int i = 0; i < lay->tiles.n; i++) {
        const hc_tile *t = &lay->tiles.t[i];
        if (!t->index || !hc_vpics_stale(ui->pics, i, t->index)) continue;
        hc_rect b = picture_box(t, hc_vpics_get(ui->pics, t->index));
        hc_picture_blit(g, b.x, b.y, hc_vpics_cells(ui->pics, i, t->index, b.w, b.h, 1), b.w, b.h, HC_STY_NORMAL);
    }
    return stale;
}

/* ---- input and status ---- */

static void input_line(hc_grid *g, const hc_ui *ui, int y) {
    if (!ui->input_active) {
        char hint[96];
        snprintf(hint, sizeof hint, " Enter: chat%s/: command%s?: help", G(g)->sep, G(g)->sep);
        hc_grid_text(g, 0, y, g->w, HC_STY_DIM, hint);
        return;
    }
    int cmd = ui->input[0] == '/';
    const char *prompt = cmd ? " command " : " chat> ";
    int x = hc_grid_text(g, 0, y, g->w, HC_STY_KEY, prompt);
    int right = g->w;
    if (ui->input_len >= HC_UI_INPUT_WARN) {
        /* Near the limit, the bytes used: a message is never cut, so the user sees it coming. */
        char cnt[32];
        snprintf(cnt, sizeof cnt, " %zu/%d ", ui->input_len, HC_UI_INPUT_MAX);
        if (hc_grid_width(g, cnt) + x + 8 <= g->w)
            right = hc_grid_text_right(g, g->w, y, ui->input_len >= HC_UI_INPUT_MAX ? HC_STY_WARN : HC_STY_DIM, cnt);
    }
    int avail = right - x - 1;                             /* one column for the cursor */
    const char *s = ui->input;
    int w = hc_grid_width(g, s);
    if (avail < 1) return;
    if (w > avail) {
        /* Show the end of a long line, where the user is typing. */
        while (*s && hc_grid_width(g, s) > avail - 1) {
            uint32_t cp;
            int ok;
            s += hc_utf8_next(s, strlen(s), &cp, &ok);
        }
        x += hc_grid_text_clip(g, x, y, 1, HC_STY_DIM, g->ascii ? "<" : "\xE2\x80\xA6");
    }
    x += hc_grid_text(g, x, y, right - x, HC_STY_INPUT, s);
    g->cursor_x = x < g->w ? x : g->w - 1;
    g->cursor_y = y;
}

/* A key hint of the status line: its label as the state makes it. */
static const char *hint_label(const hc_keydef *k, const hc_view_state *st, int video_view) {
    if (k->key == 'm' && st->self_muted) return "unmute";
    if (k->key == 'l' && st->locked) return "unlock";
    if (k->key == 'v' && st->is_leader) return "code";      /* the leader shows it, never verifies it */
    if (k->key == 't' && video_view) return "list";
    return k->status;
}

static int hint_width(const hc_grid *g, const hc_keydef *k, const hc_view_state *st, int video_view) {
    return hc_grid_width(g, k->key_label) + 1 + hc_grid_width(g, hint_label(k, st, video_view)) + 2;
}

static void status_line(hc_grid *g, const hc_ui *ui, int y) {
    const hc_view_state *st = &ui->st;
    hc_grid_fill(g, 0, y, g->w, 1, HC_STY_STATUS);
    int x = 0;
    /* The mic badge first, always visible (barnard's transmit badge). Before we hold the meeting
     * key nothing we say is sent, so it never says TALKING then. */
    int talking = st->self_talking && st->e2ee;
    if (st->self_muted) {
        x += hc_grid_text(g, x, y, g->w - x, HC_STY_MUTED, " MIC MUTED ");
    } else {
        x += hc_grid_text(g, x, y, g->w - x, HC_STY_STATUS, " MIC ");
        meter(g, x, y, 6, st->self_level_dbfs, talking ? HC_STY_TALK : HC_STY_METER, HC_STY_STATUS);
        x += 6;
        x += hc_grid_text(g, x, y, g->w - x, talking ? HC_STY_TALK : HC_STY_STATUS,
                          talking ? " TALKING " : st->e2ee ? " live    " : " no key  ");
    }
    /* Beside it, always visible too: is my camera on? */
    x += hc_grid_text(g, x, y, g->w - x, HC_STY_STATUS, " ");
    x += hc_grid_text(g, x, y, g->w - x, st->camera_on ? HC_STY_WARN : HC_STY_STATUS,
                      st->camera_on ? " CAM ON " : " CAM OFF ");
    x += hc_grid_text(g, x, y, g->w - x, HC_STY_STATUS, " ");
    size_t n;
    const hc_keydef *t = hc_keys_table(&n);
    /* "q leave" is always there: its room is kept while the other hints are placed. */
    int keep = 0;
    for (size_t i = 0; i < n; i++)
        if (t[i].key == 'q' && t[i].status) keep = hint_width(g, &t[i], st, ui->video_view);
    int full = 0;
    for (size_t i = 0; i < n; i++) {
        if (!t[i].status || ((t[i].flags & HC_KEYF_LEADER) && !st->is_leader)) continue;
        int is_q = t[i].key == 'q';
        int need = hint_width(g, &t[i], st, ui->video_view);
        if (is_q ? x + need > g->w : full || x + need + keep > g->w) {   /* whole hints, in order */
            full = 1;
            continue;
        }
        if (is_q) keep = 0;
        x += hc_grid_text(g, x, y, g->w - x, HC_STY_KEY, t[i].key_label);
        x += hc_grid_text(g, x, y, g->w - x, HC_STY_STATUS, " ");
        x += hc_grid_text(g, x, y, g->w - x, HC_STY_STATUS, hint_label(&t[i], st, ui->video_view));
        x += hc_grid_text(g, x, y, g->w - x, HC_STY_STATUS, "  ");
    }
}

/* ---- dialogs ---- */

/* The rectangle dialogs are centred in: on a usable screen, between the alert line and the status
 * line, so the header, the code, the verified state, the alert and `q leave` stay in sight. */
typedef struct { int x, y, w, h; } box;

static box dialog_box(hc_grid *g, const box *area, int want_w, int want_h, const char *title) {
    box b;
    b.w = want_w + 4 < area->w ? want_w + 4 : area->w;
    b.h = want_h + 2 < area->h ? want_h + 2 : area->h;
    b.x = area->x + (area->w - b.w) / 2;
    b.y = area->y + (area->h - b.h) / 2;
    hc_grid_fill(g, b.x, b.y, b.w, b.h, HC_STY_DIALOG);
    frame(g, b.x, b.y, b.w, b.h, HC_STY_BORDER);
    char t[96];
    snprintf(t, sizeof t, " %s ", title);
    hc_grid_text(g, b.x + 2, b.y, b.w - 4, HC_STY_BORDER, t);
    return b;
}

/* A line inside a dialog box (row r from the top border). */
static void dtext(hc_grid *g, const box *b, int r, uint8_t style, const char *s) {
    if (r < 1 || r > b->h - 2) return;
    hc_grid_text(g, b->x + 2, b->y + r, b->w - 4, style, s);
}

/* The same with a name in it that shrinks first. */
static void dtext_name(hc_grid *g, const box *b, int r, uint8_t style, const char *before, const char *name,
                       const char *after) {
    if (r < 1 || r > b->h - 2) return;
    text_with_name(g, b->x + 2, b->y + r, b->w - 4, style, style, before, name, after);
}

/* Seven-segment digits, 3x3, ASCII only so they look the same everywhere. */
static const char *const big_digit[10][3] = {
    {" _ ", "| |", "|_|"}, {"   ", "  |", "  |"}, {" _ ", " _|", "|_ "}, {" _ ", " _|", " _|"},
    {"   ", "|_|", "  |"}, {" _ ", "|_ ", " _|"}, {" _ ", "|_ ", "|_|"}, {" _ ", "  |", "  |"},
    {" _ ", "|_|", "|_|"}, {" _ ", "|_|", " _|"},
};

static void big_code(hc_grid *g, const box *b, int r, const char *code) {
    /* code is "ddddd ddddd ..." (47 chars): groups 0-3 on the first band, 4-7 on the second. */
    for (int band = 0; band < 2; band++)
        for (int row = 0; row < 3; row++) {
            char line[96];
            size_t o = 0;
            for (int grp = 0; grp < 4; grp++) {
                if (grp) { memcpy(line + o, "    ", 4); o += 4; }
                for (int d = 0; d < 5; d++) {
                    int c = code[(band * 4 + grp) * 6 + d] - '0';
                    if (c < 0 || c > 9) c = 8;
                    memcpy(line + o, big_digit[c][row], 3);
                    o += 3;
                }
            }
            line[o] = 0;
            dtext(g, b, r + band * 4 + row, HC_STY_CODE, line);
        }
}

static void verify_dialog(hc_grid *g, const box *area, const hc_ui *ui) {
    const char *code = ui->dialog_code;
    int lead = ui->st.is_leader;
    int big = g->w >= 78 && area->h >= 17;
    box b = dialog_box(g, area, 72, big ? 15 : 8, lead ? "Your security code" : "Verify the security code");
    int r = 1;
    char buf[160];
    dtext(g, &b, r++, HC_STY_DIALOG, lead ? "You lead: read this code aloud; everyone compares it with their screen."
                                          : "Read the code aloud; everyone compares it with their own screen.");
    r++;
    if (big) { big_code(g, &b, r, code); r += 8; }
    snprintf(buf, sizeof buf, "code  %s", code);
    dtext(g, &b, r++, HC_STY_CODE, buf);
    dtext_name(g, &b, r++, HC_STY_DIALOG, "leader ", ui->st.leader_name[0] ? ui->st.leader_name : "?", lead ? " (you)" : "");
    r++;
    if (lead) {
        /* Nothing to confirm: the code is the leader's own. */
        dtext(g, &b, r++, HC_STY_BOLD, "Anyone whose code differs must say so: the meeting may be intercepted.");
        dtext(g, &b, r++, HC_STY_DIM, "any key closes");
        return;
    }
    dtext(g, &b, r++, HC_STY_BOLD, "Does everyone read the same code? y/n");
    dtext(g, &b, r++, HC_STY_DIM, "y: yes, it matches   n: no, it differs   Esc: not now");
}

static void quit_dialog(hc_grid *g, const box *area, const hc_ui *ui) {
    box b = dialog_box(g, area, 44, ui->st.is_leader ? 3 : 2, "Leave");
    dtext(g, &b, 1, HC_STY_BOLD, "Leave the meeting? y/n");
    dtext(g, &b, 2, HC_STY_DIM, "y: leave   n: stay");
    if (ui->st.is_leader) dtext(g, &b, 3, HC_STY_DIM, "e: end the meeting for everyone");
}

static void kick_dialog(hc_grid *g, const box *area, const hc_ui *ui) {
    char buf[160];
    box b = dialog_box(g, area, 56, 4, "Remove a participant");
    snprintf(buf, sizeof buf, " (#%u) from the meeting? y/n", (unsigned)ui->kick_target.index);
    dtext_name(g, &b, 1, HC_STY_BOLD, "Remove ", ui->kick_target.name, buf);
    dtext(g, &b, 2, HC_STY_DIM, ui->kick_target.fingerprint);
    dtext(g, &b, 3, HC_STY_DIM, "y: remove (the meeting key changes)   n: cancel");
}

static void leader_dialog(hc_grid *g, const box *area, const hc_ui *ui) {
    char buf[160], code[48];
    if (!hc_code_format(code, ui->st.code) && ui->last_code[0]) memcpy(code, ui->last_code, sizeof code);
    if (ui->notice_self_leads) {
        /* What becoming the leader means, where a member who never led will read it. */
        box b = dialog_box(g, area, 70, 8, "You are the leader now");
        dtext(g, &b, 1, HC_STY_BOLD, "The leader left: you lead this meeting now.");
        dtext(g, &b, 2, HC_STY_DIALOG, "Newcomers wait for you: a admits, d denies (the banner shows who).");
        dtext(g, &b, 3, HC_STY_DIALOG, "k removes the selected person, l locks the meeting, e (in q) ends it.");
        snprintf(buf, sizeof buf, "Your security code: %s", code[0] ? code : "(not known yet)");
        dtext(g, &b, 5, HC_STY_CODE, buf);
        dtext(g, &b, 6, HC_STY_DIALOG, "Read it aloud: everyone must compare the new code.");
        dtext(g, &b, 8, HC_STY_DIM, "v: show it large   Esc: close");
        return;
    }
    box b = dialog_box(g, area, 70, 7, "The leader changed");
    const char *who = ui->st.leader_name[0] ? ui->st.leader_name : ui->notice_leader[0] ? ui->notice_leader : "?";
    dtext_name(g, &b, 1, HC_STY_BOLD, "The meeting leader is now ", who, ".");
    snprintf(buf, sizeof buf, "New security code: %s", code[0] ? code : "(not known yet)");
    dtext(g, &b, 2, HC_STY_CODE, buf);
    dtext(g, &b, 4, HC_STY_DIALOG, "Everyone must compare the new code again, aloud.");
    dtext(g, &b, 5, HC_STY_DIALOG, "A code that differs means someone may be listening in.");
    dtext(g, &b, 7, HC_STY_DIM, "v: verify now   Esc: later");
}

static void dismiss_dialog(hc_grid *g, const box *area, const hc_ui *ui) {
    (void)ui;
    box b = dialog_box(g, area, 66, 5, "Dismiss the security alert?");
    dtext(g, &b, 1, HC_STY_BOLD, "This alert means someone may be listening in or impersonating.");
    dtext(g, &b, 2, HC_STY_DIALOG, "Dismiss it only once you know why it happened (compare the code");
    dtext(g, &b, 3, HC_STY_DIALOG, "again, aloud). It stays in the log either way.");
    dtext(g, &b, 5, HC_STY_DIM, "y: dismiss   n: keep it on the alert line");
}

static void help_dialog(hc_grid *g, const box *area, const hc_ui *ui) {
    size_t n;
    const hc_keydef *t = hc_keys_table(&n);
    char lines[64][128];
    uint8_t styles[64];
    int nl = 0, maxw = 0;
    for (int pass = 0; pass < 2; pass++) {
        snprintf(lines[nl], sizeof lines[nl], "%s", pass ? "Commands (type / first)" : "Keys");
        styles[nl++] = HC_STY_BOLD;
        for (size_t i = 0; i < n && nl < 63; i++) {
            if ((t[i].key_label != NULL) != !pass) continue;
            hc_keys_help_line(&t[i], lines[nl], sizeof lines[nl]);
            styles[nl++] = HC_STY_DIALOG;
        }
    }
    for (int i = 0; i < nl; i++) {
        int w = hc_grid_width(g, lines[i]);
        if (w > maxw) maxw = w;
    }
    /* Two columns when it all fits side by side and not in one. */
    int avail_h = area->h - 3;
    int cols = (nl > avail_h && 2 * maxw + 3 <= area->w - 4) ? 2 : 1;
    int per = (nl + cols - 1) / cols;
    int vis = per < avail_h ? per : avail_h;
    if (vis < 1) vis = 1;
    int max_scroll = per - vis;
    int scroll = ui->help_scroll < max_scroll ? ui->help_scroll : max_scroll;
    if (scroll < 0) scroll = 0;
    box b = dialog_box(g, area, cols * maxw + (cols - 1) * 3, vis + 1, "Help: keys and commands");
    for (int c = 0; c < cols; c++)
        for (int r = 0; r < vis; r++) {
            int i = c * per + scroll + r;
            if (i >= nl || (c == 0 && i >= per)) break;
            hc_grid_text(g, b.x + 2 + c * (maxw + 3), b.y + 1 + r, c ? b.w - 4 - (maxw + 3) : maxw, styles[i], lines[i]);
        }
    dtext(g, &b, vis + 1, HC_STY_DIM,
          max_scroll > 0 ? "Up/Down: scroll   any other key closes" : "any key closes");
}

/* ---- the /stats panel ---- */

/* The receive table's columns after the number and the name (each figure right-aligned under its
 * heading). */
#define STATS_COLUMNS "  loss jitter concealed   late   lost    FEC buffer mic"

/* One row of the panel: left, then (for a sender) a name that shrinks to the name column, then
 * right. */
typedef struct {
    uint8_t style;
    char left[64];
    const char *name;
    char right[200];
} stats_row;

/* The figures of a sender the panel names: its name from the report, else from the list. */
static const char *sender_name(const hc_ui *ui, const hc_stats_sender *s) {
    if (s->name[0]) return s->name;
    const hc_view_participant *p = hc_ui_find(ui, s->index);
    return p && p->name[0] ? p->name : "?";
}

/* A row about one sender: its number, then its name in the name column. */
static void sender_cols(stats_row *r, const hc_ui *ui, const hc_stats_sender *x) {
    snprintf(r->left, sizeof r->left, "%4u ", (unsigned)x->index);
    r->name = sender_name(ui, x);
}

static double pct(uint64_t part, uint64_t whole) { return whole ? 100.0 * (double)part / (double)whole : 0; }

/* Row i of the panel; 0 past the end. Sections: the meeting, what you send, what you receive
 * (a table), refused frames and device trouble (only when there are some), video. */
static int stats_row_at(const hc_ui *ui, int i, stats_row *r) {
    const hc_stats *st = &ui->stats;
    int k = 0;
    memset(r, 0, sizeof *r);
    r->style = HC_STY_DIALOG;
#define ROW(...) do { if (i == k++) { snprintf(r->right, sizeof r->right, __VA_ARGS__); return 1; } } while (0)
    uint64_t s = st->t_ms / 1000;
    ROW("Meeting key epoch %u   round trip %.0f ms   (figures of %02u:%02u)", (unsigned)st->epoch, st->rtt_ms,
        (unsigned)(s / 60), (unsigned)(s % 60));
    ROW("%s", "");
    if (i == k++) {
        r->style = HC_STY_BOLD;
        snprintf(r->right, sizeof r->right, "You send%s", st->tx.muted ? " (muted)" : "");
        return 1;
    }
    ROW("  %.1f kbit/s, %llu frames, %llu silent ones skipped (DTX, %.0f%%), FEC for %d%% loss", st->tx.kbps,
        (unsigned long long)st->tx.frames, (unsigned long long)st->tx.dtx_skipped,
        pct(st->tx.dtx_skipped, st->tx.frames + st->tx.dtx_skipped), st->tx.loss_hint);
    ROW("%s", "");
    size_t n_audio = 0;
    for (size_t j = 0; j < st->n; j++) n_audio += st->senders[j].has_audio;
    if (i == k++) {
        r->style = HC_STY_BOLD;
        snprintf(r->left, sizeof r->left, "   # ");
        r->name = "Received from";
        snprintf(r->right, sizeof r->right, "%s", STATS_COLUMNS);
        return 1;
    }
    if (!n_audio) ROW("  (nobody's audio has reached you yet)");
    for (size_t j = 0; j < st->n; j++) {
        const hc_stats_sender *x = &st->senders[j];
        if (!x->has_audio) continue;
        if (i == k++) {
            sender_cols(r, ui, x);
            snprintf(r->right, sizeof r->right, "%5.1f%% %4.0fms %9llu %6llu %6llu %6llu %4dms %3s",
                     x->loss_pct < 0 ? 0 : x->loss_pct > 100 ? 100 : x->loss_pct, x->jitter_ms,
                     (unsigned long long)x->concealed, (unsigned long long)x->late, (unsigned long long)x->lost,
                     (unsigned long long)x->fec_recovered, x->delay_ms, x->muted ? "off" : "on");
            if (x->loss_pct >= 5) r->style = HC_STY_WARN;
            return 1;
        }
    }
    for (size_t j = 0; j < st->n; j++) {
        const hc_stats_sender *x = &st->senders[j];
        if (!x->decrypt_fail && !x->replay) continue;
        if (i == k++) {
            r->style = HC_STY_WARN;
            sender_cols(r, ui, x);
            snprintf(r->right, sizeof r->right, "refused %llu forged and %llu replayed frames (%llu good)",
                     (unsigned long long)x->decrypt_fail, (unsigned long long)x->replay, (unsigned long long)x->ok);
            return 1;
        }
    }
    if (st->tx.capture_overruns || st->tx.capture_underruns || st->tx.playback_underruns || st->tx.playback_overruns)
        ROW("Audio device: capture %llu overruns, %llu underruns, playback %llu underruns, %llu overruns",
            (unsigned long long)st->tx.capture_overruns, (unsigned long long)st->tx.capture_underruns,
            (unsigned long long)st->tx.playback_underruns, (unsigned long long)st->tx.playback_overruns);
    if (ui->out.known) {
        /* Over SSH the picture can cost more than the call itself. */
        ROW("%s", "");
        if (i == k++) {
            r->style = HC_STY_BOLD;
            snprintf(r->right, sizeof r->right, "This screen");
            return 1;
        }
        ROW("  %.1f KB/s written to the terminal (%.1f MB in all); video painted at %.1f pictures/s",
            ui->out.bytes_per_s / 1000.0, (double)ui->out.bytes / 1e6, ui->out.video_fps);
    }
    if (!st->has_video) return 0;
    ROW("%s", "");
    if (i == k++) {
        r->style = HC_STY_BOLD;
        snprintf(r->right, sizeof r->right, "Video");
        return 1;
    }
    if (!st->vtx.camera) ROW("  your camera is off");
    else if (st->vtx.paused) ROW("  your camera is on; paused: nobody receives your video now");
    else ROW("  your camera: %.1f fps, %.1f kbit/s, %llu frames (%llu keyframes) to %lld receivers", st->vtx.fps,
             st->vtx.kbps, (unsigned long long)st->vtx.frames_sent, (unsigned long long)st->vtx.keyframes,
             st->vtx.receivers < 0 ? 0 : st->vtx.receivers);
    for (size_t j = 0; j < st->n; j++) {
        const hc_stats_sender *x = &st->senders[j];
        if (!x->has_video) continue;
        if (i == k++) {
            sender_cols(r, ui, x);
            snprintf(r->right, sizeof r->right, "%-6s %4.1f fps %6.1f kbit/s %5llu dropped %4llu frozen",
                     x->video_live ? "live" : "frozen", x->video_fps, x->video_kbps,
                     (unsigned long long)x->video_dropped, (unsigned long long)x->video_freezes);
            return 1;
        }
    }
#undef ROW
    return 0;
}

/* The panel's display lines: a sender row is one line in fixed columns; a text row wraps, its
 * further lines indented. Draws the lines in [first, first + n) at (x, y) in w columns (n = 0:
 * draws nothing) and returns how many lines there are in all. */
static int stats_lines(hc_grid *g, const hc_ui *ui, int x0, int y0, int w, int name_w, int first, int n) {
    stats_row r;
    int line = 0;
    for (int i = 0; stats_row_at(ui, i, &r); i++) {
        if (r.name) {
            if (line >= first && line < first + n) {
                int x = x0, y = y0 + line - first, end = x0 + w;
                x += hc_grid_text(g, x, y, end - x, r.style, r.left);
                hc_grid_text(g, x, y, name_w < end - x ? name_w : end - x, r.style, r.name);
                x += name_w + 1;
                if (x < end) hc_grid_text(g, x, y, end - x, r.style, r.right);
            }
            line++;
            continue;
        }
        int nl = wrap(g, r.right, w - 4, -1, NULL, NULL);
        for (int li = 0; li < nl; li++, line++) {
            if (line < first || line >= first + n) continue;
            size_t off = 0, len = 0;
            char part[sizeof r.right];
            wrap(g, r.right, w - 4, li, &off, &len);
            memcpy(part, r.right + off, len);
            part[len] = 0;
            hc_grid_text(g, x0 + (li ? 4 : 0), y0 + line - first, w - (li ? 4 : 0), r.style, part);
        }
    }
    return line;
}

static void stats_dialog(hc_grid *g, const box *area, const hc_ui *ui) {
    int inner_w = area->w - 4 < 100 ? area->w - 4 : 100;
    if (inner_w < 8) return;                          /* no room for a panel at all */
    int rows = stats_lines(g, ui, 0, 0, inner_w, 0, 0, 0);
    int avail = area->h - 3;                          /* borders and the key line */
    int vis = rows < avail ? rows : avail;
    if (vis < 1) vis = 1;
    int max_scroll = rows - vis;
    int scroll = ui->stats_scroll < max_scroll ? ui->stats_scroll : max_scroll;
    if (scroll < 0) scroll = 0;
    box b = dialog_box(g, area, inner_w, vis + 1, "Call statistics");
    int w = b.w - 4;
    /* The name column: what the fixed columns leave, at most 24. */
    int name_w = w - 5 - hc_grid_width(g, STATS_COLUMNS) - 1;
    if (name_w > 24) name_w = 24;
    if (name_w < 6) name_w = 6;
    stats_lines(g, ui, b.x + 2, b.y + 1, w, name_w, scroll, vis);
    char keys[120];
    if (max_scroll > 0)
        snprintf(keys, sizeof keys, "Up/Down PgUp/PgDn: scroll (%d-%d of %d)   r: refresh   any other key closes",
                 scroll + 1, scroll + vis, rows);
    else
        snprintf(keys, sizeof keys, "r: refresh   any other key closes");
    dtext(g, &b, vis + 1, HC_STY_DIM, keys);
}

/* ---- a screen too small ---- */

/* Wrapped text from row y on; returns the next free row. */
static int para(hc_grid *g, int y, int y_end, uint8_t style, const char *s) {
    int n = wrap(g, s, g->w, -1, NULL, NULL);
    for (int li = 0; li < n && y < y_end; li++, y++) {
        size_t off = 0, len = 0;
        char line[HC_LOG_TEXT];
        wrap(g, s, g->w, li, &off, &len);
        memcpy(line, s + off, len);
        line[len] = 0;
        hc_grid_fill(g, 0, y, g->w, 1, style);
        hc_grid_text(g, 0, y, g->w, style, line);
    }
    return y;
}

/* Below HC_UI_MIN_W x HC_UI_MIN_H the screen would have to cut the code or the verified state:
 * it says so instead, keeps a standing alert and how to leave in sight, and the keys still work
 * (a dialog, such as the leave question, is drawn on top). */
static void too_small(hc_grid *g, const hc_ui *ui, hc_layout *l) {
    char buf[400];
    int y = 0, bottom = g->h > 1 ? g->h - 1 : g->h;
    snprintf(buf, sizeof buf, "hushcall: make the window at least %dx%d (it is %dx%d)", HC_UI_MIN_W, HC_UI_MIN_H,
             g->w, g->h);
    y = para(g, y, bottom, HC_STY_WARN, buf);
    if (ui->alert_active && y < bottom) {
        snprintf(buf, sizeof buf, "!! %s", ui->alert_text);
        l->alert_y = y;
        y = para(g, y, bottom, HC_STY_ALERT, buf);
    }
    if (g->h > 1) {
        hc_grid_fill(g, 0, g->h - 1, g->w, 1, HC_STY_STATUS);
        int x = hc_grid_text(g, 0, g->h - 1, g->w, HC_STY_KEY, "q");
        hc_grid_text(g, x, g->h - 1, g->w - x, HC_STY_STATUS, " leave");
    }
}

/* ---- the frame ---- */

static void render(hc_grid *g, const hc_ui *ui, hc_layout *lay, int fresh) {
    hc_layout l;
    memset(&l, 0, sizeof l);
    hc_grid_clear(g);
    int h = g->h, y = 0;
    l.alert_y = -1;
    l.input_y = l.status_y = -1;
    box area = {0, 0, g->w, g->h};
    if (g->w < HC_UI_MIN_W || h < HC_UI_MIN_H) {
        too_small(g, ui, &l);
        goto dialogs;
    }
    header(g, ui);
    y++;
    code_line(g, ui, y++);
    alert_line(g, ui, y);
    l.alert_y = ui->alert_active ? y : -1;
    y++;
    area.y = y;                                            /* dialogs: below the alert line... */
    area.h = h - 1 - y;                                    /* ...and above the status line */
    hc_ui_person who;
    if (ui->st.is_leader && hc_ui_waiting_first(ui, &who)) admission_line(g, ui, y++, &who);
    l.status_y = h - 1;
    l.input_y = h - 2;
    if (ui->video_view) {
        video_body(g, ui, y, l.input_y, &l, fresh);
        goto bottom;
    }
    /* What is left: list header + rows, log separator + rows. The list gets up to about half,
     * but at least 3 rows when the screen has them; the log the rest. */
    int rem = l.input_y - y - 2;
    if (rem < 0) rem = 0;
    int n = (int)(ui->st.n_participants < 10000 ? ui->st.n_participants : 10000);
    int list_rows = n;
    int cap = rem / 2 > 3 ? rem / 2 : (rem < 3 ? rem : 3);
    if (list_rows > cap) list_rows = cap;
    if (list_rows < 1 && rem >= 2) list_rows = 1;          /* room for "nobody here yet" */
    columns c = list_columns(g->w);
    list_header(g, ui, y++, &c);
    l.list_y = y;
    l.list_rows = list_rows;
    l.list_first = list_first(ui, list_rows);
    if (!n && list_rows > 0)
        hc_grid_text(g, 2, y, g->w - 2, HC_STY_DIM, ui->st.reconnecting ? "(reconnecting: the list comes back with the meeting)" : "(nobody yet)");
    for (int r = 0; r < list_rows && l.list_first + (size_t)r < (size_t)n; r++) {
        size_t i = l.list_first + (size_t)r;
        list_row(g, ui, &ui->parts[i], y + r, &c, ui->has_sel && i == ui->sel_pos);
    }
    /* A scroll hint on the list header when people are out of view. */
    if (n > list_rows && list_rows > 0) {
        char more[48];
        snprintf(more, sizeof more, "%zu-%zu of %d", l.list_first + 1, l.list_first + (size_t)list_rows, n);
        hc_grid_text(g, c.name + c.name_w - hc_grid_width(g, more), l.list_y - 1, hc_grid_width(g, more),
                     HC_STY_DIM, more);
    }
    y += list_rows;
    hc_grid_repeat(g, 0, y, g->w, HC_STY_DIM, G(g)->hline);
    hc_grid_text(g, 2, y, g->w - 4, HC_STY_DIM, ui->log_scroll ? " log (scrolled back: PgDn for newer) " : " log ");
    y++;
    l.log_y = y;
    l.log_rows = l.input_y - y;
    if (l.log_rows < 0) l.log_rows = 0;
    log_area(g, ui, l.log_y, l.log_rows);
bottom:
    input_line(g, ui, l.input_y);
    status_line(g, ui, l.status_y);

dialogs:
    switch (ui->dialog) {
    case HC_DLG_HELP: help_dialog(g, &area, ui); break;
    case HC_DLG_VERIFY: verify_dialog(g, &area, ui); break;
    case HC_DLG_QUIT: quit_dialog(g, &area, ui); break;
    case HC_DLG_KICK: kick_dialog(g, &area, ui); break;
    case HC_DLG_LEADER: leader_dialog(g, &area, ui); break;
    case HC_DLG_STATS: stats_dialog(g, &area, ui); break;
    case HC_DLG_DISMISS: dismiss_dialog(g, &area, ui); break;
    case HC_DLG_NONE: break;
    }
    if (ui->dialog != HC_DLG_NONE) g->cursor_x = g->cursor_y = -1;
    if (lay) *lay = l;
}

void hc_vm_render(hc_grid *g, const hc_ui *ui, hc_layout *lay) { render(g, ui, lay, 0); }
