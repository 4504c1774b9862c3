/* A session: one participant in one meeting, on a libuv loop. It wires the transport
 * (net/client.h), the meeting state machine (app/meeting.h), the audio engine (audio/engine.h)
 * and a front end (ui/frontend.h) together and only moves bytes between them; decisions live in
 * those parts. Several sessions can share one loop (the demo runs two bots and you). */
#ifndef HC_SESSION_H
#define HC_SESSION_H

#include <stdint.h>
#include <uv.h>

#include "app/meeting.h"
#include "net/addr.h"
#include "audio/engine.h"
#include "ui/frontend.h"
#include "video/engine.h"

typedef struct {
    char relay_host[256];
    uint16_t relay_port;
    hc_relay_list relays;         /* several relays (nodes of one cluster): instead of host and port */
    char home[4096];              /* resolved $HUSHCALL_HOME (identity, verified leaders, log) */
    hc_meeting_config meeting;    /* name, create/meeting_id, admit, timers (id filled in by the session) */
    hc_audio_config audio;
    hc_video_config video;        /* hc_video_config_defaults: no camera, no recording */
    int audio_fallback;           /* a failing device falls back to silence/null (TUI, demo) */
    uint32_t stats_ms;            /* emit a stats event this often (0 = only on request) */
    /* After the relay connection is lost (or the relay stalls), keep trying to get back into the
     * same meeting for this long (PROTOCOL.md §11.10); 0 = leave at once (exit 5). */
    uint32_t reconnect_s;
    const hc_identity *identity;  /* NULL: load or create the one in home */
    /* Extra observer of events (the demo follows its bots); may be NULL. */
    void (*observer)(void *ctx, const hc_event *ev);
    void *observer_ctx;
} hc_session_config;

typedef struct hc_session hc_session;

/* Creates a session; the front end is owned by the session from now on. Returns 0, or -1 with
 * a message (identity store, verified store, audio device). */
int hc_session_new(hc_session **out, uv_loop_t *loop, const hc_session_config *cfg, hc_frontend *fe,
                   char *err, size_t errlen);
/* Starts the front end, audio and the connection. */
int hc_session_start(hc_session *s, char *err, size_t errlen);
/* Leaves the meeting (as the `leave` command does). */
void hc_session_leave(hc_session *s);
/* Runs a command as if the person had typed it. */
void hc_session_command(hc_session *s, const hc_command *cmd);
/* The microphone goes quiet (1) or speaks again (0) without a mute: nothing is sent meanwhile and
 * nobody is told, as when a person simply stops talking. For the demo's bots, which take turns. */
void hc_session_pause(hc_session *s, int paused);
/* Called once when the session has finished and released its handles. */
void hc_session_on_done(hc_session *s, void (*done)(void *arg, hc_session *s), void *arg);
int hc_session_finished(const hc_session *s);
int hc_session_exit_status(const hc_session *s);
const char *hc_session_meeting_id(const hc_session *s);
hc_meeting *hc_session_meeting(hc_session *s);
void hc_session_free(hc_session *s);

#endif
