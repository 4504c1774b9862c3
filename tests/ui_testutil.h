/* Shared by the screen's unit tests (after tests/testutil.h): a meeting state as the session gives it. */
#ifndef HC_UI_TESTUTIL_H
#define HC_UI_TESTUTIL_H

#include <stdio.h>

#include "ui/uistate.h"

/* A screen's state (ASCII off) for meeting 482915736, encrypted at epoch 3, led by leader, with
 * this code in *st (the participants are the caller's). */
static inline hc_ui *hc_test_ui_new(hc_view_state *st, const char *leader, const char *code) {
    hc_ui *ui = hc_ui_new(0);
    assert_non_null(ui);
    snprintf(st->meeting_id, sizeof st->meeting_id, "482915736");
    st->e2ee = 1;
    snprintf(st->leader_name, sizeof st->leader_name, "%s", leader);
    st->epoch = 3;
    snprintf(st->code, sizeof st->code, "%s", code);
    return ui;
}

#endif
