/* Front ends: what shows the meeting to a person (ncurses) or a program (headless JSON lines).
 * A small vtable, as baresip does for its UI modules: the session calls these; the front end
 * calls back with commands. */
#ifndef HC_FRONTEND_H
#define HC_FRONTEND_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>
#include "app/events.h"
#include "crypto/binding.h"

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
} hc_view_participant;

/* The meeting as the screen shows it; rebuilt by the session several times per second. */
typedef struct {
    char meeting_id[HC_MEETING_ID_MAX + 1];
    int e2ee;                 /* we hold the current epoch's key and the roster checks out */
    char leader_name[HC_NAME_MAX + 1];
    uint32_t epoch;
    uint64_t duration_ms;
    char code[48];            /* "ddddd ddddd ... " or "" before the leader is known */
    int verified;
    int locked;
    int is_leader;            /* we are the leader */
    int self_muted, self_talking, self_level_dbfs;
    double rtt_ms;
    const char *audio_in, *audio_out;   /* descriptions */
    const char *audio_note;   /* e.g. "no audio device: using silence/null" or NULL */
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
    void (*update)(hc_frontend *f, const hc_view_state *st);
    /* Restores the terminal / flushes output; the front end may be freed afterwards. */
    void (*stop)(hc_frontend *f);
    void (*destroy)(hc_frontend *f);
} hc_frontend_ops;

struct hc_frontend {
    const hc_frontend_ops *ops;
    void *impl;
};

#endif
