/* The one key and command table. Every key, every /command, the `?` help screen, /help and the
 * status line hints come from hc_keys_table(), so the help cannot go stale (baresip's command
 * table idea). Handlers change the local UI state (uistate.h) and send hc_commands through the
 * front end's callbacks; no curses here, so tests drive the UI with plain key codes. */
#ifndef HC_UI_KEYS_H
#define HC_UI_KEYS_H

#include <stddef.h>

#include "ui/frontend.h"
#include "ui/uistate.h"

/* Keys that are not characters (characters are their Unicode code point). Front ends map their
 * own key codes (curses KEY_UP, ...) to these. */
enum {
    HC_KEY_NONE = 0,
    HC_KEY_BASE = 0x110000,
    HC_KEY_UP, HC_KEY_DOWN, HC_KEY_LEFT, HC_KEY_RIGHT, HC_KEY_PGUP, HC_KEY_PGDN,
    HC_KEY_HOME, HC_KEY_END, HC_KEY_ENTER, HC_KEY_ESC, HC_KEY_BACKSPACE, HC_KEY_DELETE,
    HC_KEY_TAB, HC_KEY_KILL_LINE /* Ctrl-U */, HC_KEY_KILL_WORD /* Ctrl-W */,
};

#define HC_KEYF_LEADER 1u    /* only the leader may use it */
#define HC_KEYF_ARG 2u       /* the command needs an argument (a participant number) */
#define HC_KEYF_INFO 4u      /* a line of help only (dialog answers); not dispatched */

typedef struct hc_keydef hc_keydef;
typedef struct {
    hc_ui *ui;
    const hc_frontend_callbacks *cb;
    const hc_keydef *def;
    const char *arg;         /* the argument of a typed command, "" for a key */
    int typed;               /* 1: from a /command, 0: from a key */
    int key;                 /* the key pressed (0 for a typed command) */
} hc_keyctx;

struct hc_keydef {
    int key, key2;           /* HC_KEY_* or a character; 0: no key */
    const char *key_label;   /* as shown in help: "m", "Enter", "Up/Down" */
    const char *name;        /* command name without '/', or NULL */
    const char *alias;       /* a second name, or NULL */
    const char *arg;         /* argument placeholder ("N"), or NULL */
    const char *help;
    const char *status;      /* short hint for the status line, or NULL */
    unsigned flags;
    int (*run)(const hc_keyctx *c);   /* 0 done, -1 refused (a log line says why) */
};

const hc_keydef *hc_keys_table(size_t *n);

/* Feeds one key to the UI (dialogs, input line, then the table). Returns 1 when the screen may
 * have changed. */
int hc_ui_key(hc_ui *ui, int key, const hc_frontend_callbacks *cb);
/* Runs one typed command line ("/kick 3" or "kick 3"). Unknown commands and bad arguments put
 * a helpful message in the log. Returns 0 when the command ran, -1 otherwise. */
int hc_ui_command_line(hc_ui *ui, const char *line, const hc_frontend_callbacks *cb);

/* One help line for a table entry: "  m          mute or unmute your microphone". */
size_t hc_keys_help_line(const hc_keydef *k, char *out, size_t cap);
/* The whole help text (every entry, one per line, with headings); returns the length. */
size_t hc_keys_help_text(char *out, size_t cap);

/* Parses a participant number ("3" or "#3"). Returns 0, or -1. */
int hc_parse_index(const char *s, uint32_t *out);

#endif
