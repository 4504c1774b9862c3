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

#define HC_UI_INPUT_MAX 1000     /* bytes in the input line; also the longest chat we send */
#define HC_UI_PENDING_MAX 8      /* admission requests remembered at once */
#define HC_UI_PARTS_MAX 4096     /* participants copied from a state (more are not shown) */

typedef enum {
    HC_DLG_NONE,
    HC_DLG_HELP,      /* the key/command table */
    HC_DLG_VERIFY,    /* the code, large: "Does everyone read the same code? y/n" */
    HC_DLG_QUIT,      /* "Leave the meeting? y/n" (leader: e ends it for everyone) */
    HC_DLG_KICK,      /* "Remove NAME? y/n" */
    HC_DLG_LEADER,    /* the leader changed: compare the new code */
} hc_dialog;

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

    int input_active;
    char input[HC_UI_INPUT_MAX + 1];
    size_t input_len;

    hc_dialog dialog;
    char dialog_code[48];         /* the code the verify dialog showed (must still match on y) */
    hc_ui_person kick_target;

    /* The newest unacknowledged security alert: shown on its own line until dismissed. */
    int alert_active;
    unsigned alert_more;          /* further alerts since the shown one was raised */
    char alert_text[300];

    hc_ui_person pending[HC_UI_PENDING_MAX];
    size_t n_pending;
    uint32_t joining;             /* listed by the relay, not announced yet: no key, not participants */

    char last_code[48];           /* the last security code seen, to notice a new leader */
    char notice_leader[HC_NAME_MAX + 1];

    uint64_t now_ms;              /* newest event time seen, for local log lines */
    int quit_requested;           /* a LEAVE/END command was sent */
    hc_log log;
} hc_ui;

hc_ui *hc_ui_new(int ascii);
void hc_ui_free(hc_ui *ui);

/* Takes a deep copy of st. A changed security code (leader change) opens the notice dialog. */
void hc_ui_set_state(hc_ui *ui, const hc_view_state *st);
/* Applies an event: log line, alert, admission request, notices. */
void hc_ui_on_event(hc_ui *ui, const hc_event *ev);
/* A local message in the log (help, errors in typed commands). */
void hc_ui_note(hc_ui *ui, hc_log_kind kind, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Raises the persistent alert (also logged as an alert). */
void hc_ui_alert(hc_ui *ui, const char *text);

/* Participant lookup in the copied state. */
const hc_view_participant *hc_ui_find(const hc_ui *ui, uint32_t index);
const hc_view_participant *hc_ui_selected(const hc_ui *ui);
/* The first person waiting for admission (pending request, else a waiting participant). */
int hc_ui_waiting_first(const hc_ui *ui, hc_ui_person *out);
void hc_ui_pending_remove(hc_ui *ui, uint32_t index);
/* Moves the selection by delta rows, keeping it inside the visible window. */
void hc_ui_select_move(hc_ui *ui, int delta);

#endif
