/* Front ends: what shows the meeting to a person (ncurses) or a program (headless JSON lines).
 * A small vtable, as baresip does for its UI modules: the session calls these; the front end
 * calls back with commands. */
#ifndef HC_FRONTEND_H
#define HC_FRONTEND_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <uv.h>
#include "app/events.h"
#include "crypto/binding.h"
#include "video/frame.h"

/* One participant as the screen shows it. */
typedef struct {
    uint32_t index;
    char name[HC_NAME_MAX + 1];
    char fingerprint[25];     /* "abcd ef01 2345 6789 abcd" */
    int is_leader, is_self;
    int muted;
    int talking;
    int level_dbfs;           /* -127 (silence) .. 0 */
    int waiting;              /* asked to be admitted (leader view, --admit ask) */
    double loss_pct, jitter_ms;
    /* Video, for any front end to draw: this member's latest decoded picture (I420; for the self
     * row, what our camera sends), or NULL when there is none. The pointer is valid only during
     * the update() call that passes it: a front end that keeps the state copies the pixels or
     * drops the pointer (hc_ui_set_state drops it). video_live: 1 the picture is current, 0 it
     * is frozen (the last good one, kept while a keyframe is asked for). */
    const hc_video_frame *video;
    int video_live;
} hc_view_participant;

/* The meeting as the screen shows it; rebuilt by the session several times per second. */
typedef struct {
    char meeting_id[HC_MEETING_ID_MAX + 1];   /* the meeting we are in (or asked to join) */
    int e2ee;                 /* we hold the current epoch's key and the roster checks out */
    char leader_name[HC_NAME_MAX + 1];
    uint32_t epoch;
    uint64_t duration_ms;
    char code[48];            /* "ddddd ddddd ... " or "" before the leader is known */
    int verified;
    int locked;
    char admit[8];            /* the meeting's certified admission policy: "auto", "ask", "known";
                                 "" while not known (header mark) */
    int is_leader;            /* we are the leader */
    int self_muted, self_talking, self_level_dbfs;
    int camera_on;            /* our video is being sent (or would be, once someone receives it) */
    double rtt_ms;
    const char *audio_in, *audio_out;   /* descriptions */
    const char *relay;        /* "host:port" of the relay, to say which one failed; or NULL */
    uint64_t t_ms;            /* the session's clock (ms since it started, as events' t_ms): the
                                 time of what the screen says of its own (chat we send, refusals) */
    const char *audio_note;   /* e.g. "no audio device: using silence/null" or NULL */
    const char *net_note;     /* "relay lost, reconnecting (27 s left)" while it is, else NULL */
    int reconnecting;         /* between a lost relay and the resumed meeting's key: nothing is
                                 sent, and the list and code come back with the meeting */
    size_t n_participants;    /* self included */
    const hc_view_participant *participants;
} hc_view_state;

typedef struct {
    void *ctx;
    void (*command)(void *ctx, const hc_command *cmd);
} hc_frontend_callbacks;

typedef struct hc_frontend hc_frontend;
typedef struct {
    const char *name;
    /* Starts the front end on the loop. Returns 0 or -1 with err. */
    int (*start)(hc_frontend *f, uv_loop_t *loop, const hc_frontend_callbacks *cb, char *err, size_t errlen);
    /* A meeting event (log lines, alerts, chat, prompts). */
    void (*on_event)(hc_frontend *f, const hc_event *ev);
    /* The current state, to redraw from (called ~10 times per second and after events). */
    void (*update)(hc_frontend *f, const hc_view_state *st);   /* NULL: no redraws wanted */
    /* A new picture of member index became the one shown (ours: our own index, the self-view),
     * as soon as it does, so video is drawn at its own pace and not at the 10 Hz of update():
     * pic is valid during the call only, live as hc_view_participant.video_live. update() still
     * carries the latest picture; whether one is there at all is what update() says. NULL: the
     * front end draws no video. */
    void (*picture)(hc_frontend *f, uint32_t index, const hc_video_frame *pic, int live);
    /* Restores the terminal / flushes output; the front end may be freed afterwards. */
    void (*stop)(hc_frontend *f);
    void (*destroy)(hc_frontend *f);
} hc_frontend_ops;

struct hc_frontend {
    const hc_frontend_ops *ops;
    void *impl;
};

/* ---- Constructors (added with the front ends; see ui/tui.c and ui/headless.c) ----
 *
 * Lifetime, for both: create -> start(loop) -> on_event / update ... -> stop -> destroy.
 * - stop restores the terminal at once and closes the front end's libuv handles; run the loop
 *   (until uv_run returns) before uv_loop_close so their close callbacks can run.
 * - destroy may be called right after stop, even from inside cb->command (for instance when a
 *   LEAVE command makes the session tear down synchronously): memory is released once the
 *   handles have closed and no callback of ours is on the stack. destroy without stop stops.
 * - Both front ends turn SIGINT, SIGTERM and SIGHUP into HC_CMD_LEAVE (once; another one at
 *   least HC_FE_FORCE_QUIT_MS after the first ends the process with the signal's default action
 *   after restoring the terminal, for a leave that seems stuck; one sooner is the same request
 *   again: timeout(1) signals the program and then its process group, and people press Ctrl-C
 *   twice in a hurry). A signal that is ignored when start runs (nohup, background jobs) stays
 *   ignored. A LEAVE must therefore be harmless when the session is already leaving. */
#define HC_FE_FORCE_QUIT_MS 1000

/* Does a repeated leave signal, first_ms and now_ms apart on the loop clock, mean "quit now"? */
static inline int hc_fe_signal_forces_quit(uint64_t first_ms, uint64_t now_ms) {
    return now_ms - first_ms >= HC_FE_FORCE_QUIT_MS;
}

/* The ncurses front end. ascii: draw with ASCII only (--ascii); it is also chosen when the locale
 * is not UTF-8 (start sets LC_CTYPE from the environment if the program left it at "C").
 * no_color: no colours (--no-color), only bold, reverse, underline and dim; also chosen when
 * NO_COLOR is set to anything but "" (no-color.org) or the terminal has no colours.
 * stderr_log: while the screen is active, fd 2 is appended to this file (created 0600) so that
 * library messages cannot corrupt the screen; NULL: /dev/null. The path is copied.
 * start fails (-1, err) when stdin/stdout are not a terminal or curses cannot start.
 * The terminal is restored on stop, on exit(), and on SIGSEGV/SIGBUS/SIGFPE/SIGILL/SIGABRT/
 * SIGQUIT (then the signal's previous handler runs). When the meeting ended against the user's
 * will (kicked, locked out, the relay lost...), stop prints one line saying why on the real
 * stderr once the screen is gone, and appends it to stderr_log too. Returns NULL when out of
 * memory. */
hc_frontend *hc_tui_new(int ascii, int no_color, const char *stderr_log);

/* Whether this terminal can show the screen, checked without writing anything to it: stdin and
 * stdout are a terminal, and $TERM's terminfo entry can address the cursor (cup) and clear
 * (clear), which TERM=dumb, an unknown TERM or an unset one cannot. Returns 0, or -1 with a
 * sentence in err ending with `instead` (NULL: a suggestion of --headless). Call it before
 * anything else touches the terminal (a refusal is a usage error, exit 2); start checks again. */
int hc_tui_check_terminal(const char *instead, char *err, size_t errlen);

/* The headless front end: one JSON object per line on stdout (flushed per line), commands on
 * stdin, one per line (see ui/headless.h for both formats). EOF on stdin only stops reading:
 * it never leaves the meeting. Returns NULL when out of memory. */
hc_frontend *hc_headless_new(void);
/* The same on other descriptors (tests, embedding): commands from in_fd (-1: none), JSON lines
 * to out. Neither is closed by the front end. */
hc_frontend *hc_headless_new_fds(int in_fd, FILE *out);

#endif
