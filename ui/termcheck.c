/* Whether the terminal can show the screen (frontend.h: hc_tui_check_terminal). Apart from tui.c
 * because <term.h> defines a macro for every terminfo capability name (key_command, lines...). */
#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <term.h>
#include <unistd.h>

#include "ui/frontend.h"

int hc_tui_check_terminal(const char *instead, char *err, size_t errlen) {
    const char *term = getenv("TERM");
    int status = 0;
    if (!instead) instead = "use --headless (JSON lines) instead";
    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
        snprintf(err, errlen, "the screen needs a terminal on stdin and stdout; %s", instead);
        return -1;
    }
    if (!term || !*term) {
        snprintf(err, errlen, "TERM is not set, so the screen cannot be drawn; %s", instead);
        return -1;
    }
    /* setupterm reads the terminfo entry and writes nothing to the terminal; the entry is dropped
     * again, so newterm later starts from scratch. */
    TERMINAL *saved = cur_term;
    if (setupterm((char *)term, STDOUT_FILENO, &status) != OK) {
        snprintf(err, errlen, "the terminal type TERM=%.64s is unknown here, so the screen cannot be drawn; %s",
                 term, instead);
        set_curterm(saved);
        return -1;
    }
    /* Cursor addressing and clearing: without them nothing can be placed (TERM=dumb has neither). */
    char *cup = tigetstr((char *)"cup"), *clr = tigetstr((char *)"clear");
    int ok = cup && cup != (char *)-1 && clr && clr != (char *)-1;
    TERMINAL *mine = set_curterm(saved);
    if (mine && mine != saved) del_curterm(mine);
    if (!ok) {
        snprintf(err, errlen, "the terminal (TERM=%.64s) cannot move the cursor, so the screen cannot be drawn; %s",
                 term, instead);
        return -1;
    }
    return 0;
}
