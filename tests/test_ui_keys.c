/* The key/command table and the key reducer: keys and /commands produce the right hc_commands,
 * dialogs ask first, bad input gets a helpful log line, help covers the whole table. */
#include "tests/testutil.h"

#include "ui/keys.h"
#include "ui/text.h"

#define CODE "31415 92653 58979 32384 62643 38327 95028 84197"

typedef struct {
    hc_command cmds[16];
    char texts[16][HC_UI_INPUT_MAX + 1];
    int n;
} sink;

static void on_cmd(void *ctx, const hc_command *cmd) {
    sink *s = ctx;
    assert_true(s->n < 16);
    s->cmds[s->n] = *cmd;
    if (cmd->text) {
        snprintf(s->texts[s->n], sizeof s->texts[s->n], "%s", cmd->text);
        s->cmds[s->n].text = s->texts[s->n];
    }
    s->n++;
}

typedef struct {
    hc_ui *ui;
    sink s;
    hc_frontend_callbacks cb;
    hc_view_state st;
    hc_view_participant p[4];
} fx;

static fx *make(int leader) {
    fx *f = calloc(1, sizeof *f);
    f->ui = hc_ui_new(0);
    f->cb.ctx = &f->s;
    f->cb.command = on_cmd;
    const char *names[] = {"alice", "bob", "carol"};
    for (int i = 0; i < 3; i++) {
        f->p[i].index = (uint32_t)i + 1;
        snprintf(f->p[i].name, sizeof f->p[i].name, "%s", names[i]);
        snprintf(f->p[i].fingerprint, sizeof f->p[i].fingerprint, "000%d ef01 2345 6789 abcd", i & 7);
        f->p[i].is_self = i == 0;
        f->p[i].is_leader = leader ? i == 0 : i == 1;
    }
    snprintf(f->st.code, sizeof f->st.code, CODE);
    snprintf(f->st.leader_name, sizeof f->st.leader_name, "%s", leader ? "alice" : "bob");
    f->st.is_leader = leader;
    f->st.n_participants = 3;
    f->st.participants = f->p;
    hc_ui_set_state(f->ui, &f->st);
    return f;
}

static void destroy(fx *f) {
    hc_ui_free(f->ui);
    free(f);
}

static const char *last_log(fx *f) {
    size_t n = hc_log_count(&f->ui->log);
    return n ? hc_log_get(&f->ui->log, n - 1)->text : "";
}

static void keys(fx *f, const char *s) {
    for (; *s; s++) hc_ui_key(f->ui, (unsigned char)*s, &f->cb);
}

static void test_mute_key(void **state) {
    (void)state;
    fx *f = make(0);
    hc_ui_key(f->ui, 'm', &f->cb);
    assert_int_equal(f->s.n, 1);
    assert_int_equal(f->s.cmds[0].type, HC_CMD_TOGGLE_MUTE);
    destroy(f);
}

static void test_verify_flow(void **state) {
    (void)state;
    fx *f = make(0);
    hc_ui_key(f->ui, 'v', &f->cb);
    assert_int_equal(f->ui->dialog, HC_DLG_VERIFY);
    assert_string_equal(f->ui->dialog_code, CODE);
    hc_ui_key(f->ui, 'm', &f->cb);                     /* other keys do nothing in the dialog */
    assert_int_equal(f->s.n, 0);
    hc_ui_key(f->ui, 'y', &f->cb);
    assert_int_equal(f->s.n, 1);
    assert_int_equal(f->s.cmds[0].type, HC_CMD_VERIFY);
    assert_string_equal(f->s.texts[0], CODE);          /* bound to the code the dialog showed */
    assert_int_equal(f->ui->dialog, HC_DLG_NONE);
    /* n: the codes differ -> a persistent alert, no command. */
    hc_ui_key(f->ui, 'v', &f->cb);
    hc_ui_key(f->ui, 'n', &f->cb);
    assert_int_equal(f->s.n, 1);
    assert_true(f->ui->alert_active);
    assert_non_null(strstr(f->ui->alert_text, "CODES DIFFER"));
    /* Esc: not now. */
    hc_ui_key(f->ui, 'v', &f->cb);
    hc_ui_key(f->ui, HC_KEY_ESC, &f->cb);
    assert_int_equal(f->ui->dialog, HC_DLG_NONE);
    assert_int_equal(f->s.n, 1);
    destroy(f);
}

static void test_verify_code_changed_meanwhile(void **state) {
    (void)state;
    fx *f = make(0);
    hc_ui_key(f->ui, 'v', &f->cb);
    /* The leader changes while the dialog is open: y must not confirm the new code unseen. */
    f->ui->st.code[0] = '9';
    hc_ui_key(f->ui, 'y', &f->cb);
    assert_int_equal(f->s.n, 0);
    assert_int_equal(f->ui->dialog, HC_DLG_VERIFY);
    assert_non_null(strstr(last_log(f), "changed while you compared"));
    hc_ui_key(f->ui, 'y', &f->cb);                     /* now they have seen it */
    assert_int_equal(f->s.n, 1);
    assert_int_equal(f->s.cmds[0].type, HC_CMD_VERIFY);
    /* Without a code there is nothing to verify. */
    f->st.code[0] = 0;
    hc_ui_set_state(f->ui, &f->st);
    hc_ui_key(f->ui, 'v', &f->cb);
    assert_int_equal(f->ui->dialog, HC_DLG_NONE);
    assert_non_null(strstr(last_log(f), "no security code yet"));
    destroy(f);
}

static void test_quit_asks(void **state) {
    (void)state;
    fx *f = make(0);
    hc_ui_key(f->ui, 'q', &f->cb);
    assert_int_equal(f->ui->dialog, HC_DLG_QUIT);
    hc_ui_key(f->ui, 'n', &f->cb);
    assert_int_equal(f->s.n, 0);
    hc_ui_key(f->ui, 'q', &f->cb);
    hc_ui_key(f->ui, 'e', &f->cb);                     /* not the leader: e does not end it */
    assert_int_equal(f->s.n, 0);
    hc_ui_key(f->ui, 'y', &f->cb);
    assert_int_equal(f->s.n, 1);
    assert_int_equal(f->s.cmds[0].type, HC_CMD_LEAVE);
    assert_true(f->ui->quit_requested);
    destroy(f);
    f = make(1);
    hc_ui_key(f->ui, 'q', &f->cb);
    hc_ui_key(f->ui, 'e', &f->cb);
    assert_int_equal(f->s.cmds[0].type, HC_CMD_END);
    destroy(f);
}

static void test_chat_input(void **state) {
    (void)state;
    fx *f = make(0);
    hc_ui_key(f->ui, HC_KEY_ENTER, &f->cb);
    assert_true(f->ui->input_active);
    keys(f, "hello wrld");
    hc_ui_key(f->ui, HC_KEY_BACKSPACE, &f->cb);
    hc_ui_key(f->ui, HC_KEY_BACKSPACE, &f->cb);
    hc_ui_key(f->ui, HC_KEY_BACKSPACE, &f->cb);
    keys(f, "orld m");                                 /* 'm' is text here, not mute */
    hc_ui_key(f->ui, 0xE9, &f->cb);                    /* é */
    hc_ui_key(f->ui, 0x1F600, &f->cb);                 /* an emoji */
    hc_ui_key(f->ui, 0x202E, &f->cb);                  /* a bidi override is refused */
    hc_ui_key(f->ui, HC_KEY_ENTER, &f->cb);
    assert_int_equal(f->s.n, 1);
    assert_int_equal(f->s.cmds[0].type, HC_CMD_CHAT);
    assert_string_equal(f->s.cmds[0].text, "hello world m\xC3\xA9\xF0\x9F\x98\x80");
    assert_false(f->ui->input_active);
    /* Our own message is shown at once (the meeting does not echo it back). */
    assert_string_equal(last_log(f), "<alice> hello world m\xC3\xA9\xF0\x9F\x98\x80");
    assert_int_equal(hc_log_get(&f->ui->log, hc_log_count(&f->ui->log) - 1)->kind, HC_LOG_CHAT);
    /* Backspace removes a whole UTF-8 character. */
    hc_ui_key(f->ui, HC_KEY_ENTER, &f->cb);
    hc_ui_key(f->ui, 0xE9, &f->cb);
    hc_ui_key(f->ui, HC_KEY_BACKSPACE, &f->cb);
    assert_int_equal(f->ui->input_len, 0);
    /* Esc cancels; an empty line sends nothing. */
    keys(f, "draft");
    hc_ui_key(f->ui, HC_KEY_ESC, &f->cb);
    assert_false(f->ui->input_active);
    hc_ui_key(f->ui, HC_KEY_ENTER, &f->cb);
    keys(f, "   ");
    hc_ui_key(f->ui, HC_KEY_ENTER, &f->cb);
    assert_int_equal(f->s.n, 1);
    /* "//x" sends "/x" as chat. */
    hc_ui_key(f->ui, HC_KEY_ENTER, &f->cb);
    keys(f, "//shrug");
    hc_ui_key(f->ui, HC_KEY_ENTER, &f->cb);
    assert_int_equal(f->s.cmds[1].type, HC_CMD_CHAT);
    assert_string_equal(f->s.cmds[1].text, "/shrug");
    destroy(f);
}

static void test_input_bounded(void **state) {
    (void)state;
    fx *f = make(0);
    hc_ui_key(f->ui, HC_KEY_ENTER, &f->cb);
    for (int i = 0; i < 5000; i++) hc_ui_key(f->ui, i % 2 ? 'a' : 0x20AC, &f->cb);   /* € is 3 bytes */
    assert_true(f->ui->input_len <= HC_UI_INPUT_MAX);
    assert_int_equal(strlen(f->ui->input), f->ui->input_len);
    hc_ui_key(f->ui, HC_KEY_KILL_LINE, &f->cb);
    assert_int_equal(f->ui->input_len, 0);
    keys(f, "one two");
    hc_ui_key(f->ui, HC_KEY_KILL_WORD, &f->cb);
    assert_string_equal(f->ui->input, "one ");
    destroy(f);
}

static void test_slash_commands(void **state) {
    (void)state;
    fx *f = make(1);
    struct { const char *line; hc_command_type type; uint32_t index; } ok[] = {
        {"/mute", HC_CMD_MUTE, 0},     {"/unmute", HC_CMD_UNMUTE, 0}, {"/lock", HC_CMD_LOCK, 0},
        {"/unlock", HC_CMD_UNLOCK, 0}, {"/kick 2", HC_CMD_KICK, 2},   {"/kick #3", HC_CMD_KICK, 3},
        {"/admit 7", HC_CMD_ADMIT, 7}, {"/deny  8 ", HC_CMD_DENY, 8}, {"/devices", HC_CMD_DEVICES, 0},
        {"/stats", HC_CMD_STATS, 0},   {"/quit", HC_CMD_LEAVE, 0},    {"/leave", HC_CMD_LEAVE, 0},
        {"/end", HC_CMD_END, 0},       {"  mute", HC_CMD_MUTE, 0},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        f->s.n = 0;
        assert_int_equal(hc_ui_command_line(f->ui, ok[i].line, &f->cb), 0);
        assert_int_equal(f->s.n, 1);
        assert_int_equal(f->s.cmds[0].type, ok[i].type);
        assert_int_equal(f->s.cmds[0].index, ok[i].index);
    }
    /* /verify and /help open their dialogs. */
    f->s.n = 0;
    assert_int_equal(hc_ui_command_line(f->ui, "/verify", &f->cb), 0);
    assert_int_equal(f->ui->dialog, HC_DLG_VERIFY);
    f->ui->dialog = HC_DLG_NONE;
    assert_int_equal(hc_ui_command_line(f->ui, "/help", &f->cb), 0);
    assert_int_equal(f->ui->dialog, HC_DLG_HELP);
    f->ui->dialog = HC_DLG_NONE;
    assert_int_equal(f->s.n, 0);
    destroy(f);
}

static void test_slash_command_errors(void **state) {
    (void)state;
    fx *f = make(1);
    struct { const char *line, *msg; } bad[] = {
        {"/frobnicate", "unknown command /frobnicate: /help lists"},
        {"/mu", "did you mean /mute?"},
        {"/kick", "usage: /kick N"},
        {"/kick bob", "'bob' is not a participant number"},
        {"/kick 99", "there is no participant #99"},
        {"/kick 1", "that is you"},
        {"/kick 99999999999", "not a participant number"},
        {"/admit -1", "not a participant number"},
        {"/mute now", "/mute takes no argument"},
        {"/", "type a command after the /"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(hc_ui_command_line(f->ui, bad[i].line, &f->cb), -1);
        if (!strstr(last_log(f), bad[i].msg)) fail_msg("%s -> '%s'", bad[i].line, last_log(f));
    }
    assert_int_equal(f->s.n, 0);
    destroy(f);
    /* Leader-only commands and keys, from a member. */
    f = make(0);
    const char *lead[] = {"/lock", "/unlock", "/kick 2", "/admit 2", "/deny 2", "/end"};
    for (size_t i = 0; i < sizeof lead / sizeof lead[0]; i++) {
        assert_int_equal(hc_ui_command_line(f->ui, lead[i], &f->cb), -1);
        assert_non_null(strstr(last_log(f), "only the leader can do that (the leader is bob)"));
    }
    const int lk[] = {'l', 'k', 'a', 'd'};
    for (size_t i = 0; i < 4; i++) {
        hc_ui_key(f->ui, lk[i], &f->cb);
        assert_non_null(strstr(last_log(f), "only the leader"));
    }
    assert_int_equal(f->s.n, 0);
    /* Typed through the input line. */
    hc_ui_key(f->ui, '/', &f->cb);
    keys(f, "mute");
    hc_ui_key(f->ui, HC_KEY_ENTER, &f->cb);
    assert_int_equal(f->s.n, 1);
    assert_int_equal(f->s.cmds[0].type, HC_CMD_MUTE);
    hc_ui_key(f->ui, 'Z', &f->cb);
    assert_non_null(strstr(last_log(f), "? shows the keys"));
    destroy(f);
}

static void test_leader_keys(void **state) {
    (void)state;
    fx *f = make(1);
    hc_ui_key(f->ui, 'l', &f->cb);
    assert_int_equal(f->s.cmds[0].type, HC_CMD_LOCK);
    f->st.locked = 1;
    hc_ui_set_state(f->ui, &f->st);
    hc_ui_key(f->ui, 'l', &f->cb);
    assert_int_equal(f->s.cmds[1].type, HC_CMD_UNLOCK);
    /* k on ourselves is refused; on bob it asks, then kicks bob. */
    hc_ui_key(f->ui, 'k', &f->cb);
    assert_int_equal(f->ui->dialog, HC_DLG_NONE);
    assert_non_null(strstr(last_log(f), "cannot remove yourself"));
    hc_ui_key(f->ui, HC_KEY_DOWN, &f->cb);
    hc_ui_key(f->ui, 'k', &f->cb);
    assert_int_equal(f->ui->dialog, HC_DLG_KICK);
    assert_string_equal(f->ui->kick_target.name, "bob");
    hc_ui_key(f->ui, 'y', &f->cb);
    assert_int_equal(f->s.cmds[2].type, HC_CMD_KICK);
    assert_int_equal(f->s.cmds[2].index, 2);
    /* a/d act on the first waiting person, in order. */
    hc_ui_key(f->ui, 'a', &f->cb);
    assert_int_equal(f->s.n, 3);
    assert_non_null(strstr(last_log(f), "nobody is waiting"));
    hc_event r1 = {.type = HC_EV_ADMISSION_REQUEST, .index = 7, .name = "dan", .fingerprint = "aaaa"};
    hc_event r2 = {.type = HC_EV_ADMISSION_REQUEST, .index = 8, .name = "eve", .fingerprint = "bbbb"};
    hc_ui_on_event(f->ui, &r1);
    hc_ui_on_event(f->ui, &r2);
    hc_ui_on_event(f->ui, &r1);                        /* a repeat is not queued twice */
    assert_int_equal(f->ui->n_pending, 2);
    hc_ui_key(f->ui, 'd', &f->cb);
    assert_int_equal(f->s.cmds[3].type, HC_CMD_DENY);
    assert_int_equal(f->s.cmds[3].index, 8);
    hc_ui_key(f->ui, 'a', &f->cb);
    assert_int_equal(f->s.cmds[4].type, HC_CMD_ADMIT);
    assert_int_equal(f->s.cmds[4].index, 7);
    assert_int_equal(f->ui->n_pending, 0);
    /* A request resolved elsewhere (joined) leaves the queue. */
    hc_ui_on_event(f->ui, &r2);
    hc_event j = {.type = HC_EV_PARTICIPANT_JOINED, .index = 8, .name = "eve"};
    hc_ui_on_event(f->ui, &j);
    assert_int_equal(f->ui->n_pending, 0);
    /* The queue is bounded. */
    for (uint32_t i = 0; i < 50; i++) {
        hc_event r = {.type = HC_EV_ADMISSION_REQUEST, .index = 100 + i, .name = "x"};
        hc_ui_on_event(f->ui, &r);
    }
    assert_int_equal(f->ui->n_pending, HC_UI_PENDING_MAX);
    assert_int_equal(f->ui->pending[HC_UI_PENDING_MAX - 1].index, 149);
    destroy(f);
}

static void test_help_text_covers_table(void **state) {
    (void)state;
    char help[8192];
    size_t len = hc_keys_help_text(help, sizeof help);
    assert_true(len > 0 && len < sizeof help - 1);
    size_t n;
    const hc_keydef *t = hc_keys_table(&n);
    for (size_t i = 0; i < n; i++) {
        char needle[64];
        if (t[i].key_label) {
            snprintf(needle, sizeof needle, "\n  %s", t[i].key_label);
            if (!strstr(help, needle)) fail_msg("help lacks key %s", t[i].key_label);
        }
        if (t[i].name) {
            snprintf(needle, sizeof needle, "/%s", t[i].name);
            if (!strstr(help, needle)) fail_msg("help lacks /%s", t[i].name);
        }
        if (t[i].alias) {
            snprintf(needle, sizeof needle, "/%s", t[i].alias);
            assert_non_null(strstr(help, needle));
        }
        assert_non_null(strstr(help, t[i].help));
    }
    /* Everything the issue asks for is in the table. */
    const char *need[] = {"\n  m ", "\n  v", "\n  ?", "\n  q ", "\n  Enter", "\n  / ", "\n  l ", "\n  k ",
                          "\n  a ", "\n  d ", "Up/Down", "/mute", "/unmute", "/verify", "/lock", "/unlock",
                          "/kick N", "/admit N", "/deny N", "/devices", "/stats", "/help", "/quit", "/leave", "/end"};
    for (size_t i = 0; i < sizeof need / sizeof need[0]; i++)
        if (!strstr(help, need[i])) fail_msg("help lacks '%s'", need[i]);
    /* Keys dispatch what the table says: every key entry has a handler. */
    for (size_t i = 0; i < n; i++)
        if (!(t[i].flags & HC_KEYF_INFO)) assert_non_null(t[i].run);
}

static void test_parse_index(void **state) {
    (void)state;
    uint32_t v;
    assert_int_equal(hc_parse_index("0", &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(hc_parse_index("#42", &v), 0);
    assert_int_equal(v, 42);
    assert_int_equal(hc_parse_index("4294967295", &v), 0);
    assert_int_equal(hc_parse_index("4294967296", &v), -1);
    assert_int_equal(hc_parse_index("", &v), -1);
    assert_int_equal(hc_parse_index("12a", &v), -1);
    assert_int_equal(hc_parse_index("-3", &v), -1);
    assert_int_equal(hc_parse_index(" 3", &v), -1);
    assert_int_equal(hc_parse_index(NULL, &v), -1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mute_key),
        cmocka_unit_test(test_verify_flow),
        cmocka_unit_test(test_verify_code_changed_meanwhile),
        cmocka_unit_test(test_quit_asks),
        cmocka_unit_test(test_chat_input),
        cmocka_unit_test(test_input_bounded),
        cmocka_unit_test(test_slash_commands),
        cmocka_unit_test(test_slash_command_errors),
        cmocka_unit_test(test_leader_keys),
        cmocka_unit_test(test_help_text_covers_table),
        cmocka_unit_test(test_parse_index),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
