/* The pure view model: layout at 80x24 and 200x50, truncation, scrolling, ASCII fallback,
 * dialogs, the persistent alert line. Assertions read the grid back as text. */
#include "tests/testutil.h"
#include "tests/ui_testutil.h"

#include "ui/keys.h"
#include "ui/text.h"
#include "ui/viewmodel.h"

#define CODE "31415 92653 58979 32384 62643 38327 95028 84197"
#define LONGNAME "Dr. Maximilian Alexander von Longname-Hyphenated the Third"
/* A stats event as the session makes it (app/session.c emit_stats), with a video block. */
#define STATS_JSON                                                                                         \
    "{\"epoch\":7,\"rtt_ms\":23.4,\"senders\":[{\"index\":2,\"name\":\"bob\",\"ok\":1500,"               \
    "\"decrypt_fail\":3,\"replay\":1,\"unknown_kid\":0,\"too_old\":0,\"received\":1490,\"lost\":12,"        \
    "\"late\":4,\"concealed\":16,\"fec_recovered\":5,\"loss_pct\":0.8,\"jitter_ms\":6.5,\"delay_ms\":60,"  \
    "\"muted\":false},{\"index\":3,\"name\":\"person-03\",\"ok\":10,\"received\":10,\"lost\":90,"         \
    "\"late\":0,\"concealed\":90,\"fec_recovered\":0,\"loss_pct\":9.5,\"jitter_ms\":40.0,\"delay_ms\":120," \
    "\"muted\":true}],\"tx\":{\"frames\":3000,\"dtx_skipped\":1000,\"bytes\":120000,\"kbps\":31.5,"        \
    "\"muted\":false,\"loss_hint\":2,\"capture_overruns\":0,\"capture_underruns\":0,"                      \
    "\"playback_underruns\":7,\"playback_overruns\":0,\"recording_dropped\":0,\"level_dbfs\":-30},"          \
    "\"video\":{\"camera\":true,\"tx\":{\"frames_sent\":450,\"keyframes\":3,\"paused\":false,\"fps\":15.0,"\
    "\"kbps\":98.5,\"receivers\":2},\"recorded_frames\":0,\"rx\":[{\"index\":2,\"live\":true,"              \
    "\"decoded\":440,\"dropped\":2,\"freezes\":1,\"fps\":14.8,\"kbps\":101.0}]}}"

typedef struct {
    hc_ui *ui;
    hc_grid g;
    hc_layout lay;
    hc_view_state st;
    hc_view_participant p[64];
} fx;

static void fill(fx *f, size_t n) {
    memset(f->p, 0, sizeof f->p);
    for (size_t i = 0; i < n; i++) {
        hc_view_participant *p = &f->p[i];
        p->index = (uint32_t)i + 1;
        if (i == 0) snprintf(p->name, sizeof p->name, "alice");
        else if (i == 1) snprintf(p->name, sizeof p->name, "bob");
        else snprintf(p->name, sizeof p->name, "person-%02zu", i + 1);
        snprintf(p->fingerprint, sizeof p->fingerprint, "%04zx ef01 2345 6789 abcd", i + 0xa000);
        p->is_self = i == 0;
        p->is_leader = i == 0;
        p->level_dbfs = i == 1 ? -6 : -127;
        p->talking = i == 1;
        p->muted = i == 2;
        p->loss_pct = i == 1 ? 2.5 : 0;
        p->jitter_ms = i == 1 ? 17 : 5;
    }
    f->st.n_participants = n;
    f->st.participants = f->p;
}

static fx *make(size_t n) {
    fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->ui = hc_test_ui_new(&f->st, "alice", CODE);
    f->st.duration_ms = 3723000;   /* 1:02:03 */
    f->st.is_leader = 1;
    f->st.self_level_dbfs = -20;
    fill(f, n);
    hc_ui_set_state(f->ui, &f->st);
    return f;
}

static void count_cmd(void *ctx, const hc_command *cmd) {
    (void)cmd;
    (*(int *)ctx)++;
}

static void destroy(fx *f) {
    hc_grid_free(&f->g);
    hc_ui_free(f->ui);
    free(f);
}

static void render(fx *f, int w, int h, int ascii) {
    f->ui->ascii = ascii;
    assert_int_equal(hc_grid_init(&f->g, w, h, ascii), 0);
    hc_vm_render(&f->g, f->ui, &f->lay);
    f->ui->part_rows = f->lay.list_rows;       /* as the front end feeds it back */
    f->ui->log_rows = f->lay.log_rows;
}

static char *row(fx *f, int y) {
    static char buf[8192];
    hc_grid_row(&f->g, y, buf, sizeof buf);
    return buf;
}

/* The first row from y0 on containing s, or -1. */
static int find_from(fx *f, const char *s, int y0) {
    for (int y = y0; y < f->g.h; y++)
        if (strstr(row(f, y), s)) return y;
    return -1;
}
static int find(fx *f, const char *s) { return find_from(f, s, 0); }
/* Below the header and code lines (the leader's name is in the header too). */
static int body(fx *f, const char *s) { return find_from(f, s, 2); }

static void dump(fx *f) {
    if (!getenv("HC_UI_DUMP")) return;
    for (int y = 0; y < f->g.h; y++) printf("|%s|\n", row(f, y));
}

/* Every row is exactly w columns: nothing overflows or wraps. */
static void assert_rows_fit(fx *f) {
    for (int y = 0; y < f->g.h; y++) {
        int w = 0;
        for (int x = 0; x < f->g.w; x++) w += hc_grid_cat(&f->g, x, y)->width;
        assert_int_equal(w, f->g.w);
        assert_int_equal(hc_text_width(row(f, y)), f->g.w);
    }
}

static void check_main_screen(fx *f) {
    assert_int_equal(find(f, "482915736"), 0);
    assert_int_equal(find(f, "E2EE"), 0);
    assert_int_equal(find(f, "leader alice"), 0);
    assert_int_equal(find(f, "epoch 3"), 0);
    assert_int_equal(find(f, "1:02:03"), 0);
    assert_int_equal(find(f, CODE), 1);
    if (f->ui->st.is_leader) {
        /* The leader reads its code out; it is never asked to verify it. */
        assert_int_equal(find(f, "YOU LEAD"), 1);
        assert_int_equal(find(f, "press v"), -1);
        assert_int_equal(find(f, "NOT VERIFIED"), -1);
    } else {
        assert_int_equal(find(f, "NOT VERIFIED"), 1);
        assert_true(find(f, "press v") == 1);
    }
    int a = body(f, "alice"), b = body(f, " bob ");
    assert_true(a > 1 && b > a);
    assert_non_null(strstr(row(f, a), "leader,you"));
    assert_non_null(strstr(row(f, b), "2.5%"));
    assert_non_null(strstr(row(f, b), "17ms"));
    assert_non_null(strstr(row(f, find(f, "person-03")), "MUTED"));
    int s = f->g.h - 1;
    assert_non_null(strstr(row(f, s), "MIC"));
    assert_non_null(strstr(row(f, s), "m mute"));
    assert_non_null(strstr(row(f, s), "? help"));
    assert_non_null(strstr(row(f, s), "q leave"));
    assert_rows_fit(f);
}

static void test_layout_80x24(void **state) {
    (void)state;
    fx *f = make(4);
    render(f, 80, 24, 0);
    dump(f);
    check_main_screen(f);
    assert_non_null(strstr(row(f, 1), "YOU LEAD: read it aloud"));
    /* A member's view: the verify prompt, with the em dash in UTF-8. */
    f->st.is_leader = 0;
    hc_ui_set_state(f->ui, &f->st);
    render(f, 80, 24, 0);
    check_main_screen(f);
    assert_non_null(strstr(row(f, 1), "NOT VERIFIED \xE2\x80\x94 press v"));
    /* The level bar of the talking participant. */
    assert_non_null(strstr(row(f, find(f, " bob ")), "\xE2\x96\x81\xE2\x96\x82\xE2\x96\x83"));
    assert_int_equal(f->lay.list_rows, 4);
    assert_true(f->lay.log_rows >= 8);
    destroy(f);
}

static void test_layout_200x50(void **state) {
    (void)state;
    fx *f = make(6);
    render(f, 200, 50, 0);
    dump(f);
    check_main_screen(f);
    /* Wide screens show the whole fingerprint. */
    assert_true(find(f, "a001 ef01 2345 6789 abcd") > 1);
    assert_true(find(f, "FINGERPRINT") > 1);
    destroy(f);
}

static void test_verified_and_not_encrypted(void **state) {
    (void)state;
    fx *f = make(3);
    f->st.is_leader = 0;               /* a member's view: the leader verifies nothing */
    f->st.verified = 1;
    f->st.e2ee = 0;
    f->st.epoch = 0;
    hc_ui_set_state(f->ui, &f->st);
    render(f, 80, 24, 0);
    assert_int_equal(find(f, "NOT ENCRYPTED YET"), 0);
    assert_int_equal(find(f, "E2EE"), -1);
    assert_int_equal(find(f, "VERIFIED"), 1);
    assert_int_equal(find(f, "NOT VERIFIED"), -1);
    render(f, 120, 30, 0);
    assert_int_equal(find(f, "waiting for key"), 0);
    /* No code yet: a clear placeholder, no verify prompt. */
    f->st.code[0] = 0;
    hc_ui_set_state(f->ui, &f->st);
    render(f, 80, 24, 0);
    assert_int_equal(find(f, "waiting for the leader"), 1);
    assert_int_equal(find(f, "press v"), -1);
    destroy(f);
}

static void test_long_names_truncated(void **state) {
    (void)state;
    fx *f = make(3);
    snprintf(f->p[1].name, sizeof f->p[1].name, LONGNAME);
    snprintf(f->p[2].name, sizeof f->p[2].name, "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E\xE3\x81\xAE\xE5\x90\x8D"
             "\xE5\x89\x8D\xE3\x81\xA8\xE3\x81\xA8\xE3\x81\xA6\xE3\x82\x82\xE9\x95\xB7\xE3\x81\x84");
    snprintf(f->st.leader_name, sizeof f->st.leader_name, LONGNAME);
    hc_ui_set_state(f->ui, &f->st);
    for (int pass = 0; pass < 2; pass++) {
        render(f, pass ? 200 : 80, pass ? 50 : 24, 0);
        dump(f);
        assert_rows_fit(f);
        int y = body(f, "Dr. Maximilian");
        assert_true(y > 1);
        assert_null(strstr(row(f, y), LONGNAME));                 /* cut ... */
        assert_non_null(strstr(row(f, y), "\xE2\x80\xA6"));      /* ... with an ellipsis */
        /* The next columns are still in place (the name did not push them). */
        const char *fp = strstr(row(f, y), "a001");
        assert_non_null(fp);
        int ya = body(f, "alice");
        int col_fp = hc_text_width(row(f, ya)) - hc_text_width(strstr(row(f, ya), "a000"));
        char before[8192];
        snprintf(before, sizeof before, "%.*s", (int)(fp - row(f, y)), row(f, y));
        assert_int_equal(hc_text_width(before), col_fp);
        /* The header cut the leader's name too, and kept epoch and duration. */
        assert_non_null(strstr(row(f, 0), "epoch 3"));
        assert_non_null(strstr(row(f, 0), "1:02:03"));
    }
    destroy(f);
}

static void test_scroll_30_participants(void **state) {
    (void)state;
    fx *f = make(30);
    render(f, 80, 24, 0);
    dump(f);
    int rows = f->lay.list_rows;
    assert_true(rows >= 3 && rows < 30);
    assert_true(body(f, "alice") > 1);
    assert_int_equal(find(f, "person-30"), -1);
    assert_non_null(strstr(row(f, f->lay.list_y - 1), "1-"));
    /* Down to the last participant: the window follows the selection. */
    for (int i = 0; i < 29; i++) hc_ui_key(f->ui, HC_KEY_DOWN, NULL);
    render(f, 80, 24, 0);
    dump(f);
    int y = find(f, "person-30");
    assert_true(y >= f->lay.list_y && y < f->lay.list_y + rows);
    assert_int_equal(row(f, y)[0], '>');
    assert_int_equal(body(f, "alice"), -1);
    assert_int_equal(f->lay.list_first, (size_t)(30 - rows));
    /* Back up one: the window does not move; to the top: it does. */
    hc_ui_key(f->ui, HC_KEY_UP, NULL);
    render(f, 80, 24, 0);
    assert_int_equal(f->lay.list_first, (size_t)(30 - rows));
    assert_int_equal(row(f, find(f, "person-29"))[0], '>');
    for (int i = 0; i < 40; i++) hc_ui_key(f->ui, HC_KEY_UP, NULL);
    render(f, 80, 24, 0);
    assert_int_equal(f->lay.list_first, 0);
    assert_int_equal(row(f, body(f, "alice"))[0], '>');
    /* The selection follows the person when someone above leaves. */
    hc_ui_key(f->ui, HC_KEY_DOWN, NULL);
    hc_ui_key(f->ui, HC_KEY_DOWN, NULL);              /* person-03 */
    memmove(&f->p[1], &f->p[2], 28 * sizeof f->p[0]);
    f->st.n_participants = 29;
    hc_ui_set_state(f->ui, &f->st);
    render(f, 80, 24, 0);
    assert_int_equal(row(f, find(f, "person-03"))[0], '>');
    assert_rows_fit(f);
    destroy(f);
}

static void test_ascii_fallback(void **state) {
    (void)state;
    fx *f = make(5);
    f->st.is_leader = 0;
    snprintf(f->p[1].name, sizeof f->p[1].name, "Zo\xC3\xAB \xE6\x97\xA5\xE6\x9C\xAC");
    f->st.self_talking = 1;
    hc_ui_set_state(f->ui, &f->st);
    hc_event ev = {.type = HC_EV_CHAT, .t_ms = 1000, .index = 2, .name = "Zo\xC3\xAB", .text = "caf\xC3\xA9 \xF0\x9F\x98\x80"};
    hc_ui_on_event(f->ui, &ev);
    hc_event al = {.type = HC_EV_SECURITY_ALERT, .t_ms = 1200, .kind = "roster", .detail = "\xE2\x80\xAE" "evil"};
    hc_ui_on_event(f->ui, &al);
    hc_event stats = {.type = HC_EV_STATS, .t_ms = 1300, .text = STATS_JSON};
    hc_ui_on_event(f->ui, &stats);
    for (int d = HC_DLG_NONE; d <= HC_DLG_DISMISS; d++) {
        f->ui->dialog = (hc_dialog)d;
        snprintf(f->ui->dialog_code, sizeof f->ui->dialog_code, CODE);
        f->ui->input_active = d == HC_DLG_NONE;
        snprintf(f->ui->input, sizeof f->ui->input, "h\xC3\xA9llo");
        f->ui->input_len = strlen(f->ui->input);
        for (int size = 0; size < 2; size++) {
            render(f, size ? 200 : 80, size ? 50 : 24, 1);
            for (int y = 0; y < f->g.h; y++)
                for (const unsigned char *c = (const unsigned char *)row(f, y); *c; c++) assert_true(*c < 0x80);
            assert_rows_fit(f);
        }
    }
    f->ui->dialog = HC_DLG_NONE;
    render(f, 80, 24, 1);
    dump(f);
    assert_int_equal(find(f, "NOT VERIFIED - press v"), 1);
    assert_true(find(f, "Zo? ??") > 1);
    assert_true(find(f, "#") > 1);                   /* the level bar */
    destroy(f);
}

static void test_alert_persists(void **state) {
    (void)state;
    fx *f = make(3);
    hc_event al = {.type = HC_EV_HEARTBEAT_TIMEOUT, .t_ms = 500, .detail = "no heartbeat from the leader for 10 s",
                   .reason = "security"};
    hc_ui_on_event(f->ui, &al);
    /* A flood of chat cannot push the alert off the screen. */
    for (int i = 0; i < 600; i++) {
        char t[64];
        snprintf(t, sizeof t, "message %d", i);
        hc_event c = {.type = HC_EV_CHAT, .t_ms = 1000 + (uint64_t)i, .index = 2, .name = "bob", .text = t};
        hc_ui_on_event(f->ui, &c);
    }
    assert_true(hc_log_count(&f->ui->log) <= HC_LOG_CAP);
    render(f, 80, 24, 0);
    dump(f);
    int y = find(f, "HEARTBEAT TIMEOUT");
    assert_int_equal(y, f->lay.alert_y);
    assert_true(y >= 0);
    assert_int_equal(hc_grid_cat(&f->g, 0, y)->style, HC_STY_ALERT);
    assert_true(find(f, "message 599") > y);
    /* Even under a dialog. */
    hc_ui_key(f->ui, '?', NULL);
    render(f, 80, 24, 0);
    assert_int_equal(find(f, "HEARTBEAT TIMEOUT"), y);
    hc_ui_key(f->ui, HC_KEY_ESC, NULL);
    /* A second alert is counted; x dismisses; the log keeps them. */
    hc_event a2 = {.type = HC_EV_SECURITY_ALERT, .t_ms = 3000, .kind = "key_substitution", .detail = "bob's key changed"};
    hc_ui_on_event(f->ui, &a2);
    render(f, 80, 24, 0);
    assert_true(find(f, "key_substitution") == y);
    assert_true(find(f, "+1 more") == y);
    /* A security alert is not waved away by one key: x asks, y confirms. */
    hc_ui_key(f->ui, 'x', NULL);
    assert_int_equal(f->ui->dialog, HC_DLG_DISMISS);
    render(f, 80, 24, 0);
    assert_true(find(f, "key_substitution") == y);
    assert_true(find(f, "Dismiss the security alert?") > y);
    hc_ui_key(f->ui, 'y', NULL);
    render(f, 80, 24, 0);
    assert_int_equal(f->lay.alert_y, -1);
    assert_int_equal(find(f, "HEARTBEAT"), -1);
    assert_true(find(f, "SECURITY ALERT: key_substitution") > 2);   /* still in the log */
    destroy(f);
}

/* A stall says "connection lost", not "heartbeat timeout"; joiners that have not announced are
 * counted in the list header, not listed as participants. */
static void test_stall_and_joining(void **state) {
    (void)state;
    fx *f = make(3);
    hc_event j = {.type = HC_EV_JOINING, .t_ms = 100, .members = 2};
    hc_ui_on_event(f->ui, &j);
    render(f, 80, 24, 0);
    assert_true(find(f, "NAME (3, +2 joining)") >= 0);
    j.members = 0;
    hc_ui_on_event(f->ui, &j);
    render(f, 80, 24, 0);
    assert_int_equal(find(f, "joining"), -1);
    assert_true(find(f, "NAME (3)") >= 0);
    hc_event st = {.type = HC_EV_HEARTBEAT_TIMEOUT, .t_ms = 500, .detail = "nothing from the leader for 10000 ms",
                   .reason = "connectivity"};
    hc_ui_on_event(f->ui, &st);
    render(f, 80, 24, 0);
    assert_true(find(f, "CONNECTION LOST: nothing from the leader") >= 0);
    assert_int_equal(find(f, "HEARTBEAT TIMEOUT"), -1);
    destroy(f);
}

/* While the relay is lost the alert line says so (not red: it is not a security matter), and the
 * log keeps what happened; once back, the line goes. */
static void test_reconnecting_line(void **state) {
    (void)state;
    fx *f = make(3);
    hc_event ev = {.type = HC_EV_RECONNECTING, .t_ms = 900, .reason = "connection_lost",
                   .text = "connection to the relay lost: closed by the relay; getting back into meeting 482915736",
                   .after_ms = 30000};
    hc_ui_on_event(f->ui, &ev);
    f->st.net_note = "relay lost, reconnecting (27 s left)";
    hc_ui_set_state(f->ui, &f->st);
    render(f, 80, 24, 0);
    dump(f);
    int y = find(f, "relay lost, reconnecting (27 s left)");
    assert_int_equal(y, 2);                       /* the line under the code */
    assert_int_equal(f->lay.alert_y, -1);         /* which is not a security alert */
    assert_true(hc_grid_cat(&f->g, 1, y)->style != HC_STY_ALERT);
    assert_int_equal(f->ui->alert_active, 0);
    assert_true(find(f, "relay lost, reconnecting: connection to the relay lost") > y);
    hc_event back = {.type = HC_EV_RECONNECTED, .t_ms = 1900, .meeting_id = "482915736", .after_ms = 1234};
    hc_ui_on_event(f->ui, &back);
    f->st.net_note = NULL;
    hc_ui_set_state(f->ui, &f->st);
    render(f, 80, 24, 0);
    assert_int_equal(find(f, "(27 s left)"), -1);
    assert_true(find(f, "back in meeting 482915736 after 1.2 s") > 2);
    check_main_screen(f);
    destroy(f);
}

/* Between the lost relay and the resumed meeting's key the header still names the meeting and says
 * "reconnecting" (nothing is sent), not "NOT ENCRYPTED YET", and the empty code line and list say
 * why they are empty. */
static void test_reconnecting_header(void **state) {
    (void)state;
    fx *f = make(0);
    f->st.e2ee = 0;
    f->st.epoch = 0;
    f->st.code[0] = 0;
    f->st.leader_name[0] = 0;
    f->st.reconnecting = 1;
    f->st.net_note = "relay lost, reconnecting (27 s left)";
    for (int w = 80; w <= 120; w += 40) {
        hc_ui_set_state(f->ui, &f->st);
        render(f, w, 24, 0);
        dump(f);
        assert_int_equal(find(f, "meeting 482915736"), 0);
        assert_int_equal(find(f, "RECONNECTING"), 0);
        assert_int_equal(find(f, "NOT ENCRYPTED"), -1);
        assert_int_equal(find(f, "(reconnecting: shown again when the meeting is back)"), 1);
        assert_true(find(f, "(reconnecting: the list comes back with the meeting)") > 2);
        assert_int_equal(find(f, "(nobody yet)"), -1);
        assert_rows_fit(f);
    }
    assert_true(find(f, "RECONNECTING: nothing is sent") == 0);   /* the wide screen says why */
    /* Back in: the ordinary header again. */
    f->st.reconnecting = 0;
    f->st.net_note = NULL;
    hc_ui_set_state(f->ui, &f->st);
    render(f, 120, 24, 0);
    assert_int_equal(find(f, "RECONNECTING"), -1);
    assert_int_equal(find(f, "NOT ENCRYPTED YET: waiting for key"), 0);
    assert_true(find(f, "(nobody yet)") > 2);
    destroy(f);
}

/* A recording that stopped (the disk is full) is news for the log, in the ordinary style: not a
 * security alert (no alert line, nothing red), and the call's screen stays as it was. */
static void test_recording_failed_is_a_log_line(void **state) {
    (void)state;
    fx *f = make(3);
    size_t before = hc_log_count(&f->ui->log);
    hc_event ev = {.type = HC_EV_RECORDING_FAILED, .t_ms = 700, .path = "/tmp/rec.wav",
                   .text = "No space left on device", .recorded_ms = 61234};
    hc_ui_on_event(f->ui, &ev);
    assert_int_equal(hc_log_count(&f->ui->log), before + 1);
    const hc_log_entry *le = hc_log_get(&f->ui->log, before);
    assert_non_null(le);
    assert_int_equal(le->kind, HC_LOG_INFO);
    assert_string_equal(le->text, "recording to /tmp/rec.wav stopped: No space left on device "
                                  "(61.2 s recorded); the call goes on");
    assert_int_equal(f->ui->alert_active, 0);
    render(f, 80, 24, 0);
    dump(f);
    int y = find(f, "recording to /tmp/rec.wav stopped");
    assert_true(y > 2);
    assert_int_equal(f->lay.alert_y, -1);
    assert_true(hc_grid_cat(&f->g, 0, y)->style != HC_STY_ALERT);
    check_main_screen(f);
    destroy(f);
}

static void test_admission_banner(void **state) {
    (void)state;
    fx *f = make(3);
    hc_event ev = {.type = HC_EV_ADMISSION_REQUEST, .t_ms = 10, .index = 9, .name = "mallory",
                   .fingerprint = "dead beef 0bad f00d 1337"};
    hc_ui_on_event(f->ui, &ev);
    render(f, 80, 24, 0);
    dump(f);
    int y = find(f, "WANTS TO JOIN");
    assert_true(y > 1);
    assert_non_null(strstr(row(f, y), "mallory"));
    assert_non_null(strstr(row(f, y), "dead beef 0bad f00d 1337"));
    assert_non_null(strstr(row(f, y), "a: admit"));
    assert_rows_fit(f);
    /* Not the leader: no banner. */
    f->st.is_leader = 0;
    hc_ui_set_state(f->ui, &f->st);
    render(f, 80, 24, 0);
    assert_int_equal(find(f, "WANTS TO JOIN"), -1);
    destroy(f);
}

static void test_verify_dialog_shows_code(void **state) {
    (void)state;
    fx *f = make(3);
    f->st.is_leader = 0;
    hc_ui_set_state(f->ui, &f->st);
    hc_ui_key(f->ui, 'v', NULL);
    render(f, 80, 24, 0);
    dump(f);
    assert_true(find(f, "Does everyone read the same code? y/n") > 0);
    assert_true(find(f, "code  " CODE) > 0);
    assert_true(find(f, " _ ") > 0);                 /* the large digits */
    assert_int_equal(f->g.cursor_x, -1);
    assert_rows_fit(f);
    /* Small screens: no large digits, still the code and the question. */
    render(f, 60, 16, 0);
    assert_true(find(f, CODE) > 0);
    assert_true(find(f, "Does everyone read") > 0);
    destroy(f);
}

/* The leader is not asked to verify its own code: v shows it to be read aloud, and y confirms
 * nothing (no verify command). */
static void test_leader_reads_its_code(void **state) {
    (void)state;
    fx *f = make(3);                                 /* alice: you, and the leader */
    render(f, 80, 24, 0);
    assert_non_null(strstr(row(f, 1), CODE "   YOU LEAD: read it aloud"));
    assert_int_equal(find(f, "press v"), -1);
    assert_int_equal(find(f, "v verify"), -1);
    assert_true(find(f, "v code") == f->g.h - 1);
    render(f, 120, 30, 0);
    assert_non_null(strstr(row(f, 1), "YOU LEAD: read this code to the others"));
    int cmds = 0;
    hc_frontend_callbacks cb = {.ctx = &cmds, .command = count_cmd};
    hc_ui_key(f->ui, 'v', &cb);
    render(f, 80, 24, 0);
    dump(f);
    assert_int_equal(f->ui->dialog, HC_DLG_VERIFY);
    assert_true(find(f, "You lead: read this code aloud") > 2);
    assert_true(find(f, "code  " CODE) > 2);
    assert_int_equal(find(f, "y/n"), -1);
    hc_ui_key(f->ui, 'y', &cb);
    assert_int_equal(f->ui->dialog, HC_DLG_NONE);
    assert_int_equal(cmds, 0);                       /* no verify sent */
    /* The log line of its code says so too. */
    hc_event j = {.type = HC_EV_JOINED, .t_ms = 5, .index = 1, .leader = 1};
    hc_ui_on_event(f->ui, &j);
    hc_event c = {.type = HC_EV_SECURITY_CODE, .t_ms = 6, .code = CODE, .leader = 1};
    hc_ui_on_event(f->ui, &c);
    const hc_log_entry *le = hc_log_get(&f->ui->log, hc_log_count(&f->ui->log) - 1);
    assert_non_null(strstr(le->text, "you lead, so read it aloud"));
    assert_null(strstr(le->text, "press v"));
    destroy(f);
}

static void test_help_dialog_lists_keys(void **state) {
    (void)state;
    fx *f = make(3);
    hc_ui_key(f->ui, '?', NULL);
    render(f, 100, 30, 0);
    dump(f);
    size_t n;
    const hc_keydef *t = hc_keys_table(&n);
    for (size_t i = 0; i < n; i++) {
        if (!t[i].key_label) continue;
        char needle[64];
        char needle2[64];
        snprintf(needle, sizeof needle, "\xE2\x94\x82 %s ", t[i].key_label);    /* "│ m " */
        snprintf(needle2, sizeof needle2, "\xE2\x94\x82 %s,", t[i].key_label);  /* "│ v, /verify" */
        if (find(f, needle) <= 0 && find(f, needle2) <= 0) fail_msg("help lacks key %s", t[i].key_label);
    }
    /* At 200x50 everything (keys and commands) is on screen at once. */
    render(f, 200, 50, 0);
    for (size_t i = 0; i < n; i++) {
        char needle[64];
        if (t[i].name) snprintf(needle, sizeof needle, "/%s", t[i].name);
        else snprintf(needle, sizeof needle, "%s ", t[i].key_label);
        assert_true(find(f, needle) >= 0);
    }
    /* Down scrolls, any other key closes. */
    render(f, 80, 24, 0);
    hc_ui_key(f->ui, HC_KEY_DOWN, NULL);
    assert_int_equal(f->ui->dialog, HC_DLG_HELP);
    hc_ui_key(f->ui, 'z', NULL);
    assert_int_equal(f->ui->dialog, HC_DLG_NONE);
    destroy(f);
}

static void test_leader_change_notice(void **state) {
    (void)state;
    fx *f = make(3);
    render(f, 80, 24, 0);
    assert_int_equal(f->ui->dialog, HC_DLG_NONE);          /* the first code is not news */
    hc_event lc = {.type = HC_EV_LEADER_CHANGED, .t_ms = 100, .leader = 2, .name = "bob", .fingerprint = "a001 ef01"};
    hc_ui_on_event(f->ui, &lc);
    assert_int_equal(f->ui->dialog, HC_DLG_LEADER);
    hc_ui_key(f->ui, HC_KEY_ESC, NULL);
    /* A new code in the state alone (no event) also opens it. */
    snprintf(f->st.code, sizeof f->st.code, "27182 81828 45904 52353 60287 47135 26624 97757");
    snprintf(f->st.leader_name, sizeof f->st.leader_name, "bob");
    hc_ui_set_state(f->ui, &f->st);
    render(f, 80, 24, 0);
    dump(f);
    assert_int_equal(f->ui->dialog, HC_DLG_LEADER);
    assert_true(find(f, "The meeting leader is now bob.") > 0);
    assert_true(find(f, "New security code: 27182 81828 45904 52353 60287 47135 26624 97757") > 0);
    hc_ui_key(f->ui, 'v', NULL);
    assert_int_equal(f->ui->dialog, HC_DLG_VERIFY);
    destroy(f);
}

static void test_input_line_and_log_wrap(void **state) {
    (void)state;
    fx *f = make(3);
    hc_event c = {.type = HC_EV_CHAT, .t_ms = 61000, .index = 2, .name = "bob",
                  .text = "a long message that certainly needs more than one line of the log at eighty "
                          "columns, so it wraps at a space and continues indented below the time"};
    hc_ui_on_event(f->ui, &c);
    hc_ui_key(f->ui, HC_KEY_ENTER, NULL);
    for (const char *s = "hello there"; *s; s++) hc_ui_key(f->ui, *s, NULL);
    render(f, 80, 24, 0);
    dump(f);
    int y = find(f, "01:01 <bob> a long message");
    assert_true(y > 0);
    assert_true(strncmp(row(f, y + 1), "      ", 6) == 0);
    assert_int_equal(find(f, " chat> hello there"), 22);
    assert_int_equal(f->g.cursor_y, 22);
    assert_int_equal(f->g.cursor_x, 7 + 11);
    /* A very long input shows its end and the cursor stays on screen. */
    for (int i = 0; i < 200; i++) hc_ui_key(f->ui, 'x', NULL);
    hc_ui_key(f->ui, 'E', NULL);
    render(f, 80, 24, 0);
    assert_true(f->g.cursor_x < 80);
    assert_non_null(strstr(row(f, 22), "xxE"));
    assert_rows_fit(f);
    destroy(f);
}

static void test_tiny_and_huge_sizes(void **state) {
    (void)state;
    fx *f = make(30);
    int sizes[][2] = {{1, 1}, {10, 3}, {20, 5}, {40, 10}, {79, 23}, {1000, 500}, {2000, 2000}};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        for (int d = HC_DLG_NONE; d <= HC_DLG_DISMISS; d++) {
            f->ui->dialog = (hc_dialog)d;
            render(f, sizes[i][0], sizes[i][1], 0);
            assert_rows_fit(f);
        }
    destroy(f);
}

static void test_level_cells(void **state) {
    (void)state;
    assert_int_equal(hc_vm_level_cells(-127, 8), 0);
    assert_int_equal(hc_vm_level_cells(-60, 8), 0);
    assert_int_equal(hc_vm_level_cells(-30, 8), 4);
    assert_int_equal(hc_vm_level_cells(0, 8), 8);
    assert_int_equal(hc_vm_level_cells(5, 8), 8);
}


/* The meeting's admission policy (certified, kept by a new leader) is a small mark in the header,
 * beside LOCKED; the leader's name keeps its place. Unknown: no mark. */
static void test_header_admission_mark(void **state) {
    (void)state;
    fx *f = make(3);
    render(f, 80, 24, 0);
    assert_null(strstr(row(f, 0), "admit"));
    f->st.locked = 1;
    snprintf(f->st.admit, sizeof f->st.admit, "ask");
    hc_ui_set_state(f->ui, &f->st);
    render(f, 80, 24, 0);
    dump(f);
    assert_non_null(strstr(row(f, 0), "admit ask"));
    assert_non_null(strstr(row(f, 0), "LOCKED"));
    assert_non_null(strstr(row(f, 0), "leader alice"));
    assert_non_null(strstr(row(f, 0), "epoch 3"));
    assert_rows_fit(f);
    destroy(f);
}

/* ---- issue 12: the screen tells a person what happens ---- */

static const char *log_last(fx *f) {
    size_t n = hc_log_count(&f->ui->log);
    return n ? hc_log_get(&f->ui->log, n - 1)->text : "";
}

static void ev(fx *f, hc_event e) { hc_ui_on_event(f->ui, &e); }

static char *farewell(fx *f) {
    static char buf[1200];
    hc_ui_farewell(f->ui, buf, sizeof buf);
    return buf;
}

/* Point 1: a meeting that ends against the user's will leaves one line saying why; leaving or
 * ending it yourself leaves none. */
static void test_farewell_says_why(void **state) {
    (void)state;
    fx *f = make(3);
    f->st.is_leader = 0;
    snprintf(f->st.leader_name, sizeof f->st.leader_name, "Alice");
    f->st.relay = "127.0.0.1:7400";
    hc_ui_set_state(f->ui, &f->st);
    ev(f, (hc_event){.type = HC_EV_JOINED, .t_ms = 10, .index = 3, .leader = 1, .meeting_id = "482915736"});
    assert_string_equal(farewell(f), "");                       /* still in */
    ev(f, (hc_event){.type = HC_EV_ERROR, .t_ms = 20, .code = "kicked", .text = "removed by the leader"});
    /* The session's last state names nobody any more: the names are kept from before. */
    f->st.leader_name[0] = 0;
    f->st.meeting_id[0] = 0;
    f->st.n_participants = 0;
    hc_ui_set_state(f->ui, &f->st);
    ev(f, (hc_event){.type = HC_EV_LEFT, .t_ms = 21, .reason = "kicked"});
    assert_string_equal(farewell(f), "hushcall: you were removed from meeting 482915736 by the leader (Alice)");
    destroy(f);

    struct { const char *reason, *error, *want; int joined; } cases[] = {
        {"ended", "the leader ended the meeting", "hushcall: the leader (Alice) ended meeting 482915736 for everyone", 1},
        {"denied", "not admitted", "hushcall: the leader (Alice) did not let you into meeting 482915736", 0},
        {"locked", "the meeting is locked by its leader", "hushcall: meeting 482915736 is locked: its leader lets nobody new in", 0},
        {"no_such_meeting", "no meeting with this id on this relay",
         "hushcall: the relay at 127.0.0.1:7400 has no meeting 482915736 (check the id, and that it has not ended)", 0},
        {"meeting_full", "the meeting is full", "hushcall: the relay at 127.0.0.1:7400 refused meeting 482915736: the meeting is full", 0},
        {"connection_lost", "could not connect to the relay at 127.0.0.1:7400 within 10000 ms: connection refused",
         "hushcall: gave up joining meeting 482915736: could not connect to the relay at 127.0.0.1:7400 within 10000 ms: "
         "connection refused", 0},
        {"connection_lost", "", "hushcall: cannot reach the relay at 127.0.0.1:7400", 0},
        {"connection_lost", "could not get back into meeting 482915736 within 30 s",
         "hushcall: lost the relay at 127.0.0.1:7400, so you left meeting 482915736: could not get back into meeting 482915736 within 30 s", 1},
        {"relay_closed", "the relay is shutting down", "hushcall: the relay at 127.0.0.1:7400 ended the connection: the relay is shutting down", 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        f = make(3);
        f->st.is_leader = 0;
        snprintf(f->st.leader_name, sizeof f->st.leader_name, "Alice");
        f->st.relay = "127.0.0.1:7400";
        hc_ui_set_state(f->ui, &f->st);
        if (cases[i].joined) ev(f, (hc_event){.type = HC_EV_JOINED, .t_ms = 10, .index = 3, .leader = 1, .meeting_id = "482915736"});
        ev(f, (hc_event){.type = HC_EV_ERROR, .t_ms = 20, .code = cases[i].reason, .text = cases[i].error});
        ev(f, (hc_event){.type = HC_EV_LEFT, .t_ms = 21, .reason = cases[i].reason});
        assert_string_equal(farewell(f), cases[i].want);
        destroy(f);
    }
    /* A heartbeat timeout and a security exit name what happened. */
    f = make(3);
    f->st.is_leader = 0;
    hc_ui_set_state(f->ui, &f->st);
    ev(f, (hc_event){.type = HC_EV_HEARTBEAT_TIMEOUT, .t_ms = 5, .reason = "connectivity",
                     .detail = "lost contact with the meeting: nothing from the leader for 10000 ms"});
    ev(f, (hc_event){.type = HC_EV_LEFT, .t_ms = 6, .reason = "heartbeat_timeout"});
    assert_string_equal(farewell(f), "hushcall: you left meeting 482915736: lost contact with the meeting: nothing from the leader for 10000 ms");
    destroy(f);
    f = make(3);
    ev(f, (hc_event){.type = HC_EV_SECURITY_ALERT, .t_ms = 5, .kind = "own_entry_substituted", .detail = "your key\nwas substituted"});
    ev(f, (hc_event){.type = HC_EV_LEFT, .t_ms = 6, .reason = "security"});
    assert_string_equal(farewell(f), "hushcall: you left meeting 482915736 for a security reason: "
                                     "SECURITY ALERT: own_entry_substituted: your key was substituted");
    destroy(f);
    /* Your own doing: nothing to explain. */
    f = make(3);
    ev(f, (hc_event){.type = HC_EV_LEFT, .t_ms = 6, .reason = "left"});
    assert_string_equal(farewell(f), "");
    destroy(f);
    f = make(3);                                  /* the leader ended it for everyone */
    hc_ui_key(f->ui, 'q', NULL);
    hc_ui_key(f->ui, 'e', NULL);
    ev(f, (hc_event){.type = HC_EV_LEFT, .t_ms = 6, .reason = "ended"});
    assert_string_equal(farewell(f), "");
    destroy(f);
}

/* Point 2: what the screen writes of its own (our chat, a refusal) has the time it happened, not
 * the time of the line before. */
static void test_own_lines_use_the_clock(void **state) {
    (void)state;
    fx *f = make(3);
    ev(f, (hc_event){.type = HC_EV_CHAT, .t_ms = 1000, .index = 2, .name = "bob", .text = "hi"});
    f->st.t_ms = 61000;                           /* a minute later, by the session's update */
    hc_ui_set_state(f->ui, &f->st);
    hc_ui_key(f->ui, HC_KEY_ENTER, NULL);
    for (const char *s = "hello"; *s; s++) hc_ui_key(f->ui, *s, NULL);
    hc_ui_key(f->ui, HC_KEY_ENTER, NULL);
    const hc_log_entry *le = hc_log_get(&f->ui->log, hc_log_count(&f->ui->log) - 1);
    assert_string_equal(le->text, "<alice> hello");
    assert_int_equal(le->t_ms, 61000);
    hc_ui_clock(f->ui, 125500);                   /* the front end's clock before a key */
    hc_ui_key(f->ui, 'z', NULL);                  /* a refusal */
    le = hc_log_get(&f->ui->log, hc_log_count(&f->ui->log) - 1);
    assert_non_null(strstr(le->text, "'z' does nothing"));
    assert_int_equal(le->t_ms, 125500);
    hc_ui_clock(f->ui, 100);                      /* never back */
    assert_int_equal(f->ui->now_ms, 125500);
    render(f, 80, 24, 0);
    assert_true(find(f, "01:01 <alice> hello") > 2);
    assert_true(find(f, "02:05 'z' does nothing") > 2);
    destroy(f);
}

/* Point 3: the longest chat (1000 bytes) is shown whole, wrapped, on every screen size (scrolling
 * back reaches its start); typing shows a counter near the limit and refuses more with a reason. */
static void test_long_chat_never_cut(void **state) {
    (void)state;
    fx *f = make(3);
    char msg[HC_UI_INPUT_MAX + 1];
    for (int i = 0; i < HC_UI_INPUT_MAX; i++) msg[i] = i % 10 == 9 ? ' ' : (char)('a' + i / 10 % 26);
    msg[HC_UI_INPUT_MAX - 1] = 'Z';               /* the very end */
    msg[HC_UI_INPUT_MAX] = 0;
    /* Older lines above it, so that paging back never stops short of the message's first line. */
    for (int i = 0; i < 60; i++) hc_ui_note(f->ui, HC_LOG_INFO, "older line %d", i);
    ev(f, (hc_event){.type = HC_EV_CHAT, .t_ms = 1000, .index = 2, .name = LONGNAME, .text = msg});
    char want[HC_LOG_TEXT];
    snprintf(want, sizeof want, "<%s> %s", LONGNAME, msg);
    assert_string_equal(log_last(f), want);       /* kept whole */
    int sizes[][2] = {{80, 24}, {120, 40}, {200, 50}};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        /* Read the log from the bottom up, a page at a time (PgUp), until the message's first
         * line: every character of it is on screen at some point, in order. Lines break at
         * spaces, so the comparison leaves the spaces out. */
        static char seen[16384];
        size_t ns = 0;
        int top = -1;
        seen[0] = 0;
        f->ui->log_scroll = 0;
        for (int page = 0; page < 40 && top < 0; page++) {
            render(f, sizes[k][0], sizes[k][1], 0);
            assert_rows_fit(f);
            for (int y = f->lay.log_y + f->lay.log_rows - 1; y >= f->lay.log_y && top < 0; y--) {
                const char *line = row(f, y) + 6;
                const char *start = strstr(line, "<Dr. ");
                if (start) { top = y; line = start; }
                char packed[1200];
                size_t np = 0;
                for (const char *c = line; *c && np < sizeof packed - 1; c++) if (*c != ' ') packed[np++] = *c;
                assert_true(ns + np < sizeof seen);
                memmove(seen + np, seen, ns);      /* this line comes before what was read */
                memcpy(seen, packed, np);
                ns += np;
            }
            f->ui->log_scroll += (size_t)f->lay.log_rows;
        }
        seen[ns] = 0;
        assert_true(top >= 0);
        static char b[16384];
        size_t nb = 0;
        for (const char *c = want; *c; c++) if (*c != ' ') b[nb++] = *c;
        b[nb] = 0;
        assert_string_equal(seen, b);
    }
    f->ui->log_scroll = 0;
    /* Typing: no counter far from the limit, one near it, "full" at it, and more is refused with
     * a reason (once) instead of being cut later. */
    hc_ui_key(f->ui, HC_KEY_ENTER, NULL);
    for (int i = 0; i < 799; i++) hc_ui_key(f->ui, 'a' + i % 26, NULL);
    render(f, 80, 24, 0);
    assert_null(strstr(row(f, f->lay.input_y), "/1000"));
    hc_ui_key(f->ui, 'x', NULL);
    render(f, 80, 24, 0);
    assert_non_null(strstr(row(f, f->lay.input_y), " 800/1000 "));
    size_t before = hc_log_count(&f->ui->log);
    for (int i = 0; i < 300; i++) hc_ui_key(f->ui, 'y', NULL);
    assert_int_equal(f->ui->input_len, HC_UI_INPUT_MAX);
    render(f, 80, 24, 0);
    assert_non_null(strstr(row(f, f->lay.input_y), " 1000/1000 "));
    assert_int_equal(hc_log_count(&f->ui->log), before + 1);
    assert_non_null(strstr(log_last(f), "at most 1000 bytes"));
    assert_rows_fit(f);
    destroy(f);
}

/* Point 4: /stats opens a readable panel (per sender, what you send, the round trip, the epoch,
 * video), not raw JSON in the log, and every row of it can be scrolled to. */
static void test_stats_panel(void **state) {
    (void)state;
    fx *f = make(3);
    int cmds = 0;
    hc_frontend_callbacks cb = {.ctx = &cmds, .command = count_cmd};
    assert_int_equal(hc_ui_command_line(f->ui, "/stats", &cb), 0);
    assert_int_equal(cmds, 1);
    size_t before = hc_log_count(&f->ui->log);
    ev(f, (hc_event){.type = HC_EV_STATS, .t_ms = 75000, .text = STATS_JSON});
    assert_int_equal(hc_log_count(&f->ui->log), before);          /* no JSON in the log */
    assert_int_equal(f->ui->dialog, HC_DLG_STATS);
    render(f, 80, 24, 0);
    dump(f);
    assert_rows_fit(f);
    assert_int_equal(find(f, "{\""), -1);
    assert_true(find(f, "Meeting key epoch 7   round trip 23 ms") > 2);
    assert_true(find(f, "31.5 kbit/s, 3000 frames, 1000 silent ones skipped (DTX, 25%)") > 2);
    int y = find(f, "   2 bob");
    assert_true(y > 2);
    assert_non_null(strstr(row(f, y), "  0.8%    6ms        16      4     12      5   60ms  on"));
    y = find(f, "   3 person-03");
    assert_true(y > 2);
    assert_non_null(strstr(row(f, y), "9.5%"));
    assert_non_null(strstr(row(f, y), " 120ms off"));
    assert_true(find(f, "refused 3 forged and 1 replayed frames") > 2);
    assert_true(find(f, "playback 7 underruns") > 2);
    y = find(f, "your camera: 15.0 fps, 98.5 kbit/s, 450 frames");
    assert_true(y > 2);
    assert_non_null(strstr(row(f, y + 1), "receivers"));           /* wrapped, not cut */
    y = find(f, "14.8 fps");
    assert_true(y > 2);
    assert_non_null(strstr(row(f, y), "bob"));
    assert_non_null(strstr(row(f, y), "live"));
    assert_non_null(strstr(row(f, y), "101.0 kbit/s     2 dropped    1 frozen"));
    for (int r = 0; r < f->g.h; r++) assert_null(strstr(row(f, r), "\xE2\x80\xA6"));   /* nothing cut */
    /* The header, the code and the alert line stay visible above the panel. */
    assert_int_equal(find(f, CODE), 1);
    /* r refreshes, another key closes. */
    hc_ui_key(f->ui, 'r', &cb);
    assert_int_equal(cmds, 2);
    assert_int_equal(f->ui->dialog, HC_DLG_STATS);
    hc_ui_key(f->ui, HC_KEY_ESC, &cb);
    assert_int_equal(f->ui->dialog, HC_DLG_NONE);
    /* A report nobody asked for (a refresh after closing) does not open it again. */
    ev(f, (hc_event){.type = HC_EV_STATS, .t_ms = 76000, .text = STATS_JSON});
    assert_int_equal(f->ui->dialog, HC_DLG_NONE);
    /* Many senders: the panel scrolls to every one of them. */
    char big[65536];
    size_t o = (size_t)snprintf(big, sizeof big, "{\"epoch\":9,\"rtt_ms\":5,\"senders\":[");
    for (int i = 0; i < 60; i++)
        o += (size_t)snprintf(big + o, sizeof big - o, "%s{\"index\":%d,\"name\":\"guest-%02d\",\"loss_pct\":%d.0,"
                              "\"jitter_ms\":1,\"muted\":false}", i ? "," : "", i + 2, i + 2, i % 7);
    snprintf(big + o, sizeof big - o, "],\"tx\":{\"frames\":1,\"bytes\":2,\"muted\":false}}");
    hc_ui_command_line(f->ui, "/stats", &cb);
    ev(f, (hc_event){.type = HC_EV_STATS, .t_ms = 77000, .text = big});
    assert_int_equal(f->ui->dialog, HC_DLG_STATS);
    render(f, 80, 24, 0);
    assert_true(find(f, "guest-02") > 2);
    assert_int_equal(find(f, "guest-61"), -1);
    assert_true(find(f, "scroll (1-") > 2);
    for (int i = 0; i < 10; i++) hc_ui_key(f->ui, HC_KEY_PGDN, &cb);
    render(f, 80, 24, 0);
    dump(f);
    assert_true(find(f, "guest-61") > 2);
    assert_rows_fit(f);
    destroy(f);
}

/* Point 5: below 80x24 the screen says how big it must be instead of cutting the code; at 80x24
 * the code line, the verified state, the alert line and `q leave` are whole, and long names
 * shrink before numbers, fingerprints and "y/n" do. */
static void test_small_terminal(void **state) {
    (void)state;
    fx *f = make(3);
    f->st.is_leader = 0;
    hc_ui_set_state(f->ui, &f->st);
    int small[][2] = {{79, 24}, {80, 23}, {60, 20}, {30, 8}};
    for (size_t i = 0; i < sizeof small / sizeof small[0]; i++) {
        render(f, small[i][0], small[i][1], 0);
        dump(f);
        assert_rows_fit(f);
        char want[64];
        snprintf(want, sizeof want, "(it is %dx%d)", small[i][0], small[i][1]);
        char all[8192] = "";                   /* the rows joined as one text: it may wrap */
        for (int y = 0; y < f->g.h; y++) {
            char r[1200];
            hc_text_copy(r, sizeof r, row(f, y));
            size_t l = strlen(r);
            while (l && r[l - 1] == ' ') r[--l] = 0;
            if (l) { strcat(all, r); strcat(all, " "); }
        }
        assert_non_null(strstr(all, "make the window at least 80x24"));
        assert_int_equal(find(f, "NOT VERIFIED"), -1);                 /* not cut: not shown */
        assert_non_null(strstr(row(f, f->g.h - 1), "q leave"));
    }
    /* q still works there, and shows its question. */
    hc_ui_key(f->ui, 'q', NULL);
    render(f, 60, 20, 0);
    assert_true(find(f, "Leave the meeting? y/n") >= 0);
    hc_ui_key(f->ui, HC_KEY_ESC, NULL);
    /* 80x24, everything long at once: a leader's list with a 64-byte name, muted, locked, someone
     * with a long name waiting, an alert. */
    char name64[HC_NAME_MAX + 1];
    memset(name64, 'W', HC_NAME_MAX);
    name64[HC_NAME_MAX] = 0;
    for (int lead = 0; lead < 2; lead++) {
        fx *g = make(5);
        snprintf(g->p[0].name, sizeof g->p[0].name, "%s", name64);
        snprintf(g->p[1].name, sizeof g->p[1].name, "%s", name64);
        snprintf(g->st.leader_name, sizeof g->st.leader_name, "%s", name64);
        g->st.is_leader = lead;
        g->st.self_muted = 1;
        g->st.locked = 1;
        hc_ui_set_state(g->ui, &g->st);
        ev(g, (hc_event){.type = HC_EV_ADMISSION_REQUEST, .t_ms = 10, .index = 9, .name = name64,
                         .fingerprint = "dead beef 0bad f00d 1337"});
        ev(g, (hc_event){.type = HC_EV_SECURITY_ALERT, .t_ms = 20, .kind = "roster_mismatch", .detail = "x"});
        render(g, 80, 24, 0);
        dump(g);
        assert_rows_fit(g);
        assert_non_null(strstr(row(g, 1), CODE));
        assert_non_null(strstr(row(g, 1), lead ? "YOU LEAD: read it aloud" : "NOT VERIFIED \xE2\x80\x94 press v"));
        assert_int_equal(g->lay.alert_y, 2);
        assert_non_null(strstr(row(g, 2), "SECURITY ALERT: roster_mismatch"));
        assert_non_null(strstr(row(g, 2), "x: dismiss"));
        assert_non_null(strstr(row(g, 23), "q leave"));
        assert_non_null(strstr(row(g, 0), "epoch 3"));
        if (lead) {
            int y = find(g, "WANTS TO JOIN");
            assert_true(y > 2);
            assert_non_null(strstr(row(g, y), "#9  dead beef 0bad f00d 1337"));
            assert_non_null(strstr(row(g, y), "a: admit  d: deny"));
            /* The kick question keeps its number and y/n. */
            hc_ui_key(g->ui, HC_KEY_DOWN, NULL);
            hc_ui_key(g->ui, 'k', NULL);
            render(g, 80, 24, 0);
            dump(g);
            assert_true(find(g, "(#2) from the meeting? y/n") > 2);
            assert_non_null(strstr(row(g, 1), CODE));          /* the dialog leaves the code in sight */
            assert_non_null(strstr(row(g, 23), "q leave"));
        }
        destroy(g);
    }
    destroy(f);
}

/* Point 7: the small things that clutter the screen. */
static void test_clutter(void **state) {
    (void)state;
    fx *f = make(3);
    /* "1 member", not "1 members". */
    ev(f, (hc_event){.type = HC_EV_KEY_EPOCH, .t_ms = 10, .epoch = 1, .members = 1});
    assert_string_equal(log_last(f), "new meeting key, epoch 1 (1 member)");
    ev(f, (hc_event){.type = HC_EV_KEY_EPOCH, .t_ms = 11, .epoch = 2, .members = 2});
    assert_string_equal(log_last(f), "new meeting key, epoch 2 (2 members)");
    /* Confirming the code: one log line, not two. */
    f->st.is_leader = 0;
    hc_ui_set_state(f->ui, &f->st);
    size_t n = hc_log_count(&f->ui->log);
    ev(f, (hc_event){.type = HC_EV_VERIFIED, .t_ms = 12, .flag = 1, .code = CODE, .leader = 2});
    ev(f, (hc_event){.type = HC_EV_SECURITY_CODE, .t_ms = 12, .flag = 1, .code = CODE, .leader = 2});
    assert_int_equal(hc_log_count(&f->ui->log), n + 1);
    assert_non_null(strstr(log_last(f), "VERIFIED"));
    /* The audio note is a log line (the session logs it), not a line x cannot dismiss. */
    f->st.audio_note = "no working audio device (no default output): sending silence, not playing";
    hc_ui_set_state(f->ui, &f->st);
    render(f, 80, 24, 0);
    assert_int_equal(find(f, "no working audio device"), -1);
    assert_int_equal(f->lay.alert_y, -1);
    /* x says what it dismissed. */
    ev(f, (hc_event){.type = HC_EV_SECURITY_ALERT, .t_ms = 13, .kind = "media_replay", .detail = "3 frames from member 2 were replayed"});
    hc_ui_key(f->ui, 'x', NULL);
    assert_int_equal(f->ui->dialog, HC_DLG_NONE);                  /* a lesser alert: at once */
    assert_string_equal(log_last(f), "dismissed: SECURITY ALERT: media_replay: 3 frames from member 2 were replayed "
                                     "(it stays in the log)");
    /* Waiting for the key: our voice reaches nobody, so no TALKING. */
    f->st.e2ee = 0;
    f->st.self_talking = 1;
    f->p[0].talking = 1;
    f->p[0].level_dbfs = -10;
    hc_ui_set_state(f->ui, &f->st);
    render(f, 80, 24, 0);
    dump(f);
    assert_int_equal(find(f, "TALKING"), -1);
    assert_non_null(strstr(row(f, 23), "no key"));
    int ya = body(f, "alice");
    for (int x = 0; x < f->g.w; x++) assert_true(hc_grid_cat(&f->g, x, ya)->style != HC_STY_TALK);
    f->st.e2ee = 1;
    hc_ui_set_state(f->ui, &f->st);
    render(f, 80, 24, 0);
    assert_non_null(strstr(row(f, 23), "TALKING"));
    destroy(f);
}

/* Point 7: a member who becomes the leader is told what that means. */
static void test_becoming_leader(void **state) {
    (void)state;
    fx *f = make(3);
    f->st.is_leader = 0;
    hc_ui_set_state(f->ui, &f->st);
    ev(f, (hc_event){.type = HC_EV_JOINED, .t_ms = 1, .index = 1, .leader = 2});
    ev(f, (hc_event){.type = HC_EV_LEADER_CHANGED, .t_ms = 100, .leader = 1, .name = "alice", .fingerprint = "a000 ef01"});
    assert_int_equal(f->ui->dialog, HC_DLG_LEADER);
    assert_non_null(strstr(log_last(f), "you are now the leader: newcomers wait for you (a admits, d denies), k removes"));
    f->st.is_leader = 1;
    hc_ui_set_state(f->ui, &f->st);
    render(f, 80, 24, 0);
    dump(f);
    assert_true(find(f, "you lead this meeting now") > 2);
    assert_true(find(f, "a admits, d denies") > 2);
    assert_true(find(f, "k removes the selected person, l locks the meeting") > 2);
    assert_true(find(f, "Your security code: " CODE) > 2);
    assert_int_equal(find(f, "compare the new security code"), -1);
    destroy(f);
}

/* Point 9 (issue 11.8): alerts rank by severity; the worst stays until dealt with; x on a
 * security alert asks first; the E2EE badge says an alert stands. */
static void test_alert_severity(void **state) {
    (void)state;
    fx *f = make(3);
    render(f, 80, 24, 0);
    assert_non_null(strstr(row(f, 0), " E2EE "));
    assert_int_equal(hc_grid_cat(&f->g, hc_text_width(row(f, 0)) - hc_text_width(strstr(row(f, 0), "E2EE")), 0)->style,
                     HC_STY_OK);
    ev(f, (hc_event){.type = HC_EV_SECURITY_ALERT, .t_ms = 10, .kind = "verified_name_conflict",
                     .detail = "\"Alice\" was verified with another key: an impostor?"});
    ev(f, (hc_event){.type = HC_EV_SECURITY_ALERT, .t_ms = 11, .kind = "media_replay", .detail = "frames replayed"});
    ev(f, (hc_event){.type = HC_EV_HEARTBEAT_TIMEOUT, .t_ms = 12, .reason = "connectivity", .detail = "stalled"});
    render(f, 80, 24, 0);
    dump(f);
    assert_true(find(f, "verified_name_conflict") == 2);        /* the worst stays */
    assert_true(find(f, "+2 more") == 2);
    assert_true(find(f, "media_replay") > 2);                     /* in the log */
    assert_non_null(strstr(row(f, 0), "E2EE \xE2\x9A\xA0 ALERT"));
    int bx = hc_text_width(row(f, 0)) - hc_text_width(strstr(row(f, 0), "E2EE"));
    assert_int_equal(hc_grid_cat(&f->g, bx, 0)->style, HC_STY_ALERT);
    render(f, 80, 24, 1);
    assert_non_null(strstr(row(f, 0), "E2EE ! ALERT"));
    /* x asks; n keeps it. */
    hc_ui_key(f->ui, 'x', NULL);
    assert_int_equal(f->ui->dialog, HC_DLG_DISMISS);
    hc_ui_key(f->ui, 'n', NULL);
    assert_int_equal(f->ui->dialog, HC_DLG_NONE);
    assert_true(f->ui->alert_active);
    /* A new alert while the question is open: y does not dismiss what was not seen. */
    hc_ui_key(f->ui, 'x', NULL);
    ev(f, (hc_event){.type = HC_EV_SECURITY_ALERT, .t_ms = 13, .kind = "roster_mismatch", .detail = "lists differ"});
    hc_ui_key(f->ui, 'y', NULL);
    assert_true(f->ui->alert_active);
    render(f, 80, 24, 0);
    assert_true(find(f, "roster_mismatch") == 2);                /* as bad: the newest shows */
    hc_ui_key(f->ui, 'x', NULL);
    hc_ui_key(f->ui, 'y', NULL);
    assert_false(f->ui->alert_active);
    render(f, 80, 24, 0);
    assert_int_equal(f->lay.alert_y, -1);
    assert_non_null(strstr(row(f, 0), " E2EE "));
    assert_null(strstr(row(f, 0), "ALERT"));
    assert_non_null(strstr(log_last(f), "dismissed: SECURITY ALERT: roster_mismatch"));
    /* A connection alert does not touch the badge; an unknown kind counts as a security one. */
    ev(f, (hc_event){.type = HC_EV_HEARTBEAT_TIMEOUT, .t_ms = 20, .reason = "connectivity", .detail = "stalled"});
    render(f, 80, 24, 0);
    assert_null(strstr(row(f, 0), "ALERT"));
    assert_int_equal(hc_ui_alert_level("a_check_added_later"), HC_ALERT_SECURITY);
    assert_int_equal(hc_ui_alert_level("media_auth_failed"), HC_ALERT_REFUSED);
    /* The codes differ: a security alert of the user's own. */
    f->st.is_leader = 0;
    hc_ui_set_state(f->ui, &f->st);
    hc_ui_key(f->ui, 'v', NULL);
    hc_ui_key(f->ui, 'n', NULL);
    assert_int_equal(f->ui->alert_level, HC_ALERT_SECURITY);
    destroy(f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layout_80x24),
        cmocka_unit_test(test_header_admission_mark),
        cmocka_unit_test(test_layout_200x50),
        cmocka_unit_test(test_verified_and_not_encrypted),
        cmocka_unit_test(test_long_names_truncated),
        cmocka_unit_test(test_scroll_30_participants),
        cmocka_unit_test(test_ascii_fallback),
        cmocka_unit_test(test_alert_persists),
        cmocka_unit_test(test_stall_and_joining),

        cmocka_unit_test(test_recording_failed_is_a_log_line),
        cmocka_unit_test(test_reconnecting_line),
        cmocka_unit_test(test_reconnecting_header),
        cmocka_unit_test(test_admission_banner),
        cmocka_unit_test(test_verify_dialog_shows_code),
        cmocka_unit_test(test_leader_reads_its_code),
        cmocka_unit_test(test_help_dialog_lists_keys),
        cmocka_unit_test(test_leader_change_notice),
        cmocka_unit_test(test_input_line_and_log_wrap),
        cmocka_unit_test(test_tiny_and_huge_sizes),
        cmocka_unit_test(test_level_cells),
        cmocka_unit_test(test_farewell_says_why),
        cmocka_unit_test(test_own_lines_use_the_clock),
        cmocka_unit_test(test_long_chat_never_cut),
        cmocka_unit_test(test_stats_panel),
        cmocka_unit_test(test_small_terminal),
        cmocka_unit_test(test_clutter),
        cmocka_unit_test(test_becoming_leader),
        cmocka_unit_test(test_alert_severity),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
