/* The front end's local state: everything the screen shows that is not in hc_view_state
 * (selection, scroll, the input line, the open dialog, the persistent security alert, people
 * waiting to be admitted, the event log), plus a private copy of the last hc_view_state, because
 * keys and events arrive between the session's updates and the session's pointers are only
 * valid during its call. Pure data and pure functions: no curses, no libuv, so the whole
 * behaviour of the screen is unit-testable. Keys are handled in keys.c, drawing in viewmodel.c. */
#ifndef HC_UI_UISTATE_H
#define HC_UI_UISTATE_H

#include <stddef.h>
#include <stdint.h>

#include "ui/frontend.h"
#include "ui/log.h"
#include "ui/stats.h"
#include "ui/tiles.h"

#define HC_UI_INPUT_MAX 1000     /* bytes in the input line; also the longest chat we send */
#define HC_UI_INPUT_WARN 800     /* from here on the input line counts the bytes used */
/* The smallest screen that shows everything a person must see at once: the code line, the
 * verified state, the alert line, the list, the log and `q leave`. Below it the screen says so. */
#define HC_UI_MIN_W 80
#define HC_UI_MIN_H 24
#define HC_UI_PENDING_MAX 8      /* admission requests remembered at once */
#define HC_UI_PARTS_MAX 4096     /* participants copied from a state (more are not shown) */

typedef enum {
    HC_DLG_NONE,
    HC_DLG_HELP,      /* the key/command table */
    HC_DLG_VERIFY,    /* the code, large: "Does everyone read the same code? y/n" */
    HC_DLG_QUIT,      /* "Leave the meeting? y/n" (leader: e ends it for everyone) */
    HC_DLG_KICK,      /* "Remove NAME? y/n" */
    HC_DLG_LEADER,    /* the leader changed: compare the new code (or: you lead now) */
    HC_DLG_STATS,     /* /stats: the call's figures as a scrollable panel */
    HC_DLG_DISMISS,   /* x on a security alert: "Dismiss it? y/n" */
} hc_dialog;

/* How bad an alert is; the alert line shows the worst one until it is dealt with. */
typedef enum {
    HC_ALERT_NONE = 0,
    HC_ALERT_CONNECTION,   /* the meeting was lost (a stall, the relay gone): not an attack */
    HC_ALERT_REFUSED,      /* tampering that was detected and refused (a forged media frame, a
                              malformed key box): nothing was read or changed */
    HC_ALERT_SECURITY,     /* someone may be listening in or impersonating: a substituted key, an
                              impostor leader, a forged list, codes that differ */
} hc_alert_level;

typedef struct {
    uint32_t index;
    char name[HC_NAME_MAX + 1];
    char fingerprint[25];
} hc_ui_person;

typedef struct {
    /* Copy of the session's last state; st.participants points at parts. */
    hc_view_state st;
    hc_view_participant *parts;
    size_t parts_cap;
    char audio_in[128], audio_out[128], audio_note[192], net_note[160];
    int have_state;

    int ascii;                    /* draw with ASCII only */

    /* Participant selection follows the person (by index) when the list changes. */
    int has_sel;
    uint32_t sel_index;
    size_t sel_pos;
    size_t part_scroll;           /* first list row shown */
    int part_rows;                /* list rows in the last frame (fed back by the front end) */
    size_t log_scroll;            /* lines scrolled back from the newest */
    int log_rows;
    int help_scroll;
    int stats_scroll;

    int input_active;
    char input[HC_UI_INPUT_MAX + 1];
    size_t input_len;
    int input_full_noted;         /* said once per message that it is at the limit */

    hc_dialog dialog;
    char dialog_code[48];         /* the code the verify dialog showed (must still match on y) */
    hc_ui_person kick_target;

    /* The worst unacknowledged alert (the newest of that level): shown on its own line until
     * dismissed. A weaker one never replaces it; it is counted and logged. */
    int alert_active;
    hc_alert_level alert_level;
    unsigned alert_more;          /* further alerts since the shown one was raised */
    char alert_text[300];
    unsigned alert_serial;        /* counts alerts: a dismissal confirms the one that was shown */
    unsigned dismiss_serial;      /* alert_serial when x asked "dismiss it?" */

    hc_ui_person pending[HC_UI_PENDING_MAX];
    size_t n_pending;
    uint32_t joining;             /* listed by the relay, not announced yet: no key, not participants */

    char last_code[48];           /* the last security code seen, to notice a new leader */
    char notice_leader[HC_NAME_MAX + 1];
    int notice_self_leads;        /* the leader change made us the leader */
    char verified_code[48];       /* the code just confirmed (its repeat is not logged again) */
    uint32_t self_index;          /* ours, from `joined` (0: not yet) */
    int was_in;                   /* we got into the meeting (joined) */

    /* Why the meeting ended, for the line printed once the screen is gone (hc_ui_farewell). */
    char left_reason[32];         /* "" while in the meeting */
    char last_error[300];         /* the last error's text (the relay's refusal, a lost link) */
    char last_error_code[32];
    char last_alert[300];         /* the last security alert, heartbeat timeout included */
    char known_meeting[HC_MEETING_ID_MAX + 1];   /* kept after the state forgets them */
    char known_leader[HC_NAME_MAX + 1];
    char relay[280];

    /* The video view (t) and what it shows. */
    int video_view;               /* 1: the tiles; 0: the list (the default) */
    uint32_t pinned;              /* the member pinned with p (large, and the relay sends their
                                     video to us whoever talks), 0: none */
    uint32_t speaker;             /* the active speaker: the loudest member talking, kept until
                                     another one talks (a pause does not switch the tiles) */
    hc_vpics *pics;               /* pictures kept between frames (ui/tiles.h) */
    /* What the screen writes to the terminal, as the front end counts it (the /stats panel). */
    struct {
        int known;                /* 0: the front end does not count */
        double bytes_per_s;       /* over the last second or so */
        uint64_t bytes;           /* since the screen started */
        double video_fps;         /* pictures painted per second */
    } out;

    hc_stats stats;               /* the latest /stats figures (the panel) */
    int stats_wanted;             /* /stats was asked for: open the panel when they come */

    uint64_t now_ms;              /* newest event time seen, for local log lines */
    int quit_requested;           /* a LEAVE/END command was sent */
    hc_log log;
} hc_ui;

hc_ui *hc_ui_new(int ascii);
void hc_ui_free(hc_ui *ui);

/* Takes a deep copy of st. A changed security code (leader change) opens the notice dialog.
 * Pictures: a member's picture is copied when none is kept yet (new ones come through
 * hc_ui_picture) and forgotten when st has none; the active speaker follows who talks. */
void hc_ui_set_state(hc_ui *ui, const hc_view_state *st);
/* A new picture of member index (the front end's picture op): kept for the video view. */
void hc_ui_picture(hc_ui *ui, uint32_t index, const hc_video_frame *pic);
/* Applies an event: log line, alert, admission request, notices. */
void hc_ui_on_event(hc_ui *ui, const hc_event *ev);
/* A local message in the log (help, errors in typed commands). */
void hc_ui_note(hc_ui *ui, hc_log_kind kind, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Raises the persistent alert (also logged as an alert). */
void hc_ui_alert(hc_ui *ui, hc_alert_level level, const char *text);
/* The level of a security alert by its kind (SECURITY_ALERT's `kind`); unknown kinds count as
 * HC_ALERT_SECURITY, so a new check is never played down. */
hc_alert_level hc_ui_alert_level(const char *kind);
/* The session's clock moved on (the front end calls it before a key is handled): what the screen
 * says of its own is stamped with this time. Never goes back. */
void hc_ui_clock(hc_ui *ui, uint64_t t_ms);
/* When the meeting ended against the user's will (removed, refused, the relay lost, a security
 * failure), the one line that says why, e.g. "hushcall: you were removed from meeting 1234 by the
 * leader (Alice)", without a newline. Returns its length; 0 (and "") when the user left or ended
 * the meeting or it has not ended. */
size_t hc_ui_farewell(const hc_ui *ui, char *out, size_t cap);

/* Participant lookup in the copied state. */
const hc_view_participant *hc_ui_find(const hc_ui *ui, uint32_t index);
const hc_view_participant *hc_ui_selected(const hc_ui *ui);
/* The first person waiting for admission (pending request, else a waiting participant). */
int hc_ui_waiting_first(const hc_ui *ui, hc_ui_person *out);
void hc_ui_pending_remove(hc_ui *ui, uint32_t index);
/* Moves the selection by delta rows, keeping it inside the visible window. */
void hc_ui_select_move(hc_ui *ui, int delta);

#endif
