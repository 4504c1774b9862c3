/* ui_preview: the ncurses front end against a fake meeting, for trying the screen (in tmux, or
 * by hand) before and apart from the real session. A 100 ms timer plays the session: it moves
 * the level bars, advances the clock, and sends a few events; commands from the screen change
 * the fake state the way the session would (m mutes, v+y verifies, l locks, k kicks, q+y leaves
 * and the program exits 0).
 *
 *   ui_preview [--ascii] [--no-color] [--log PATH] [--participants N] [--member]
 *              [--alert-after MS] [--leader-change-after MS] [--admission-after MS]
 *              [--exit-after MS] [--crash-after MS]
 *
 * --crash-after raises SIGSEGV, to check that the terminal is restored on a crash.
 */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "ui/frontend.h"

#define MAXP 200

typedef struct {
    uv_loop_t *loop;
    uv_timer_t timer;
    hc_frontend *fe;
    hc_view_state st;
    hc_view_participant p[MAXP];
    size_t n;
    uint64_t t_ms;
    uint32_t next_index;
    int leaving;
    long alert_after, leader_after, admission_after, exit_after, crash_after;
    int alert_done, leader_done, admission_done, chat_done, epoch_done;
    hc_view_participant waiting;
    int has_waiting;
} fake;

static const char *code1 = "31415 92653 58979 32384 62643 38327 95028 84197";
static const char *code2 = "27182 81828 45904 52353 60287 47135 26624 97757";

static void emit(fake *f, hc_event ev) {
    ev.t_ms = f->t_ms;
    f->fe->ops->on_event(f->fe, &ev);
}

static void add_participant(fake *f, const char *name, int self, int leader) {
    if (f->n >= MAXP) return;
    hc_view_participant *p = &f->p[f->n++];
    memset(p, 0, sizeof *p);
    p->index = f->next_index++;
    snprintf(p->name, sizeof p->name, "%s", name);
    unsigned h = p->index * 2654435761u;
    snprintf(p->fingerprint, sizeof p->fingerprint, "%04x %04x %04x %04x %04x", h >> 16 & 0xffff,
             h & 0xffff, (h >> 8) & 0xffff, (h * 7) & 0xffff, (h * 13) & 0xffff);
    p->is_self = self;
    p->is_leader = leader;
    p->level_dbfs = -127;
}

static void remove_participant(fake *f, uint32_t index, const char *reason) {
    for (size_t i = 0; i < f->n; i++) {
        if (f->p[i].index != index || f->p[i].is_self) continue;
        hc_event ev = {.type = HC_EV_PARTICIPANT_LEFT, .index = index, .name = f->p[i].name,
                       .fingerprint = f->p[i].fingerprint, .reason = reason};
        emit(f, ev);
        memmove(&f->p[i], &f->p[i + 1], (f->n - i - 1) * sizeof f->p[0]);
        f->n--;
        f->st.epoch++;
        hc_event ke = {.type = HC_EV_KEY_EPOCH, .epoch = f->st.epoch, .members = (uint32_t)f->n};
        emit(f, ke);
        return;
    }
}

static void push_state(fake *f) {
    f->st.n_participants = f->n;
    f->st.participants = f->p;
    f->fe->ops->update(f->fe, &f->st);
}

static void finish(fake *f, const char *reason) {
    if (f->leaving) return;
    f->leaving = 1;
    hc_event ev = {.type = HC_EV_LEFT, .reason = reason};
    emit(f, ev);
    /* As the session will: stop and destroy the front end right inside its command callback. */
    f->fe->ops->stop(f->fe);
    f->fe->ops->destroy(f->fe);
    f->fe = NULL;
    uv_timer_stop(&f->timer);
    uv_close((uv_handle_t *)&f->timer, NULL);
}

static void on_command(void *ctx, const hc_command *cmd) {
    fake *f = ctx;
    if (f->leaving) return;
    hc_view_participant *self = &f->p[0];
    switch (cmd->type) {
    case HC_CMD_TOGGLE_MUTE:
    case HC_CMD_MUTE:
    case HC_CMD_UNMUTE: {
        int m = cmd->type == HC_CMD_TOGGLE_MUTE ? !f->st.self_muted : cmd->type == HC_CMD_MUTE;
        f->st.self_muted = self->muted = m;
        hc_event ev = {.type = HC_EV_MUTE_CHANGED, .index = self->index, .flag = m};
        emit(f, ev);
        break;
    }
    case HC_CMD_VERIFY: {
        f->st.verified = 1;
        hc_event ev = {.type = HC_EV_VERIFIED, .flag = 1, .code = f->st.code, .leader = 1};
        emit(f, ev);
        break;
    }
    case HC_CMD_CHAT:
        /* Like the real meeting: our own chat is not echoed back as an event (the screen shows
         * it when sending); bob answers instead. */
        if (f->n > 1) {
            char reply[160];
            snprintf(reply, sizeof reply, "%s: got it", self->name);
            hc_event ev = {.type = HC_EV_CHAT, .index = f->p[1].index, .name = f->p[1].name, .text = reply};
            emit(f, ev);
        }
        break;
    case HC_CMD_LOCK:
    case HC_CMD_UNLOCK: {
        f->st.locked = cmd->type == HC_CMD_LOCK;
        hc_event ev = {.type = HC_EV_LOCK_CHANGED, .flag = f->st.locked};
        emit(f, ev);
        break;
    }
    case HC_CMD_KICK:
        remove_participant(f, cmd->index, "removed by the leader");
        break;
    case HC_CMD_ADMIT:
    case HC_CMD_DENY:
        if (f->has_waiting && f->waiting.index == cmd->index) {
            f->has_waiting = 0;
            if (cmd->type == HC_CMD_ADMIT && f->n < MAXP) {
                f->p[f->n] = f->waiting;
                f->p[f->n].waiting = 0;
                hc_event ev = {.type = HC_EV_PARTICIPANT_JOINED, .index = f->waiting.index,
                               .name = f->waiting.name, .fingerprint = f->waiting.fingerprint};
                f->n++;
                emit(f, ev);
            } else {
                hc_event ev = {.type = HC_EV_NOTICE, .text = "denied: they were turned away"};
                emit(f, ev);
            }
        }
        break;
    case HC_CMD_STATS: {
        hc_event ev = {.type = HC_EV_STATS, .text = "{\"rtt_ms\":23,\"senders\":[{\"index\":2,\"loss_pct\":0.5}]}"};
        emit(f, ev);
        break;
    }
    case HC_CMD_VIDEO_ON: case HC_CMD_VIDEO_OFF: case HC_CMD_PIN: case HC_CMD_UNPIN:
        break;     /* no video in the preview (the screen draws none yet) */
    case HC_CMD_DEVICES: {
        hc_event ev = {.type = HC_EV_NOTICE, .text = "audio in: fake sine  out: fake null sink"};
        emit(f, ev);
        break;
    }
    case HC_CMD_LEAVE:
        finish(f, "you left");
        return;
    case HC_CMD_END:
        finish(f, "you ended the meeting");
        return;
    }
    push_state(f);
}

static void tick(uv_timer_t *tm) {
    fake *f = tm->data;
    f->t_ms += 100;
    f->st.duration_ms = f->t_ms;
    f->st.t_ms = f->t_ms;
    double t = (double)f->t_ms / 1000.0;
    for (size_t i = 0; i < f->n; i++) {
        hc_view_participant *p = &f->p[i];
        /* Take turns talking: one speaker at a time, the rest quiet. */
        int speaker = (int)(t / 2.0) % (int)f->n;
        double lvl = ((int)i == speaker) ? -18 + 10 * sin(t * 7 + (double)i) : -55 + 3 * sin(t + (double)i);
        p->level_dbfs = p->muted ? -127 : (int)lvl;
        p->talking = !p->muted && (int)i == speaker;
        if (!p->is_self) {
            p->loss_pct = fabs(sin(t / 10 + (double)i)) * 3.0 * (double)(i % 3);
            p->jitter_ms = 8 + 6 * fabs(cos(t / 7 + (double)i)) + (double)i;
        }
    }
    f->st.self_level_dbfs = f->p[0].level_dbfs;
    f->st.self_talking = f->p[0].talking;
    if (!f->epoch_done && f->t_ms >= 300) {
        f->epoch_done = 1;
        f->st.epoch = 1;
        f->st.e2ee = 1;
        hc_event ke = {.type = HC_EV_KEY_EPOCH, .epoch = 1, .members = (uint32_t)f->n};
        emit(f, ke);
        snprintf(f->st.code, sizeof f->st.code, "%s", code1);
        hc_event ce = {.type = HC_EV_SECURITY_CODE, .code = f->st.code, .leader = 1, .flag = 0};
        emit(f, ce);
    }
    if (!f->chat_done && f->t_ms >= 1500 && f->n > 1) {
        f->chat_done = 1;
        hc_event ev = {.type = HC_EV_CHAT, .index = f->p[1].index, .name = f->p[1].name,
                       .text = "hi all, can you hear me? please compare the code"};
        emit(f, ev);
    }
    if (f->alert_after >= 0 && !f->alert_done && f->t_ms >= (uint64_t)f->alert_after) {
        f->alert_done = 1;
        hc_event ev = {.type = HC_EV_SECURITY_ALERT, .kind = "roster_mismatch",
                       .detail = "the relay's roster does not match the leader's signed roster"};
        emit(f, ev);
    }
    if (f->admission_after >= 0 && !f->admission_done && f->t_ms >= (uint64_t)f->admission_after) {
        f->admission_done = 1;
        memset(&f->waiting, 0, sizeof f->waiting);
        f->waiting.index = f->next_index++;
        snprintf(f->waiting.name, sizeof f->waiting.name, "mallory");
        snprintf(f->waiting.fingerprint, sizeof f->waiting.fingerprint, "dead beef 0bad f00d 1337");
        f->waiting.waiting = 1;
        f->has_waiting = 1;
        hc_event ev = {.type = HC_EV_ADMISSION_REQUEST, .index = f->waiting.index, .name = f->waiting.name,
                       .fingerprint = f->waiting.fingerprint};
        emit(f, ev);
    }
    if (f->leader_after >= 0 && !f->leader_done && f->t_ms >= (uint64_t)f->leader_after && f->n > 1) {
        f->leader_done = 1;
        for (size_t i = 0; i < f->n; i++) f->p[i].is_leader = i == 1;
        f->st.is_leader = 0;
        snprintf(f->st.leader_name, sizeof f->st.leader_name, "%s", f->p[1].name);
        hc_event lc = {.type = HC_EV_LEADER_CHANGED, .leader = f->p[1].index, .name = f->p[1].name,
                       .fingerprint = f->p[1].fingerprint};
        emit(f, lc);
        snprintf(f->st.code, sizeof f->st.code, "%s", code2);
        f->st.verified = 0;
        hc_event ce = {.type = HC_EV_SECURITY_CODE, .code = f->st.code, .leader = f->p[1].index};
        emit(f, ce);
    }
    if (f->crash_after >= 0 && f->t_ms >= (uint64_t)f->crash_after) raise(SIGSEGV);
    if (f->exit_after >= 0 && f->t_ms >= (uint64_t)f->exit_after) {
        finish(f, "time is up (--exit-after)");
        return;
    }
    push_state(f);
}

int main(int argc, char **argv) {
    static fake f;
    int ascii = 0, no_color = 0, member = 0, n = 5;
    const char *log = NULL;
    f.alert_after = f.leader_after = f.admission_after = f.exit_after = f.crash_after = -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--ascii")) ascii = 1;
        else if (!strcmp(a, "--no-color")) no_color = 1;
        else if (!strcmp(a, "--member")) member = 1;
        else if (!strcmp(a, "--log") && v) { log = v; i++; }
        else if (!strcmp(a, "--participants") && v) { n = atoi(v); i++; }
        else if (!strcmp(a, "--alert-after") && v) { f.alert_after = atol(v); i++; }
        else if (!strcmp(a, "--leader-change-after") && v) { f.leader_after = atol(v); i++; }
        else if (!strcmp(a, "--admission-after") && v) { f.admission_after = atol(v); i++; }
        else if (!strcmp(a, "--exit-after") && v) { f.exit_after = atol(v); i++; }
        else if (!strcmp(a, "--crash-after") && v) { f.crash_after = atol(v); i++; }
        else {
            fprintf(stderr, "usage: ui_preview [--ascii] [--no-color] [--log PATH] [--participants N] [--member]\n"
                            "       [--alert-after MS] [--leader-change-after MS] [--admission-after MS] [--exit-after MS]\n"
                            "       [--crash-after MS]\n");
            return 2;
        }
    }
    if (n < 1) n = 1;
    if (n > MAXP) n = MAXP;
    static const char *names[] = {"alice", "bob", "carol",
                                  "Dr. Maximilian Alexander von Longname-Hyphenated the Third", "dave",
                                  "erin", "frank", "grace"};
    f.next_index = 1;
    for (int i = 0; i < n; i++) {
        char nm[HC_NAME_MAX + 1];
        if (i < 8) snprintf(nm, sizeof nm, "%s", names[i]);
        else snprintf(nm, sizeof nm, "guest-%02d", i);
        add_participant(&f, nm, i == 0, member ? i == 1 : i == 0);
    }
    snprintf(f.st.meeting_id, sizeof f.st.meeting_id, "%s", "482915736");
    snprintf(f.st.leader_name, sizeof f.st.leader_name, "%s", member && n > 1 ? f.p[1].name : f.p[0].name);
    f.st.is_leader = !member;
    f.st.rtt_ms = 23;
    f.st.audio_in = "fake sine";
    f.st.audio_out = "fake null sink";

    f.loop = uv_default_loop();
    f.fe = hc_tui_new(ascii, no_color, log);
    if (!f.fe) { fprintf(stderr, "ui_preview: out of memory\n"); return 1; }
    hc_frontend_callbacks cb = {.ctx = &f, .command = on_command};
    char err[256];
    if (f.fe->ops->start(f.fe, f.loop, &cb, err, sizeof err)) {
        fprintf(stderr, "ui_preview: %s\n", err);
        f.fe->ops->destroy(f.fe);
        uv_run(f.loop, UV_RUN_DEFAULT);
        return 1;
    }
    /* While the screen is up, stderr goes to the --log file: this line must land there. */
    fprintf(stderr, "ui_preview: stderr goes to the log while the screen is up\n");
    if (!member) {
        hc_event me = {.type = HC_EV_MEETING, .meeting_id = f.st.meeting_id,
                       .uuid = (const uint8_t *)"0123456789abcdef"};
        emit(&f, me);
    }
    hc_event jo = {.type = HC_EV_JOINED, .index = f.p[0].index, .leader = member ? 2 : 1};
    emit(&f, jo);
    for (size_t i = 1; i < f.n; i++) {
        hc_event pj = {.type = HC_EV_PARTICIPANT_JOINED, .index = f.p[i].index, .name = f.p[i].name,
                       .fingerprint = f.p[i].fingerprint};
        emit(&f, pj);
    }
    push_state(&f);
    uv_timer_init(f.loop, &f.timer);
    f.timer.data = &f;
    uv_timer_start(&f.timer, tick, 100, 100);
    uv_run(f.loop, UV_RUN_DEFAULT);
    int rc = uv_loop_close(f.loop);
    return rc ? 1 : 0;
}
