/* The headless front end: each event's JSON line (names, fields, escaping), command parsing,
 * and the front end on a real libuv loop with a pipe, a file and /dev/null as stdin. */
#include "tests/testutil.h"

#include <fcntl.h>
#include <unistd.h>
#include <uv.h>

#include "ui/frontend.h"
#include "ui/headless.h"

static hc_json J;

static const char *fmt(const hc_event *ev) {
    size_t len;
    const char *l = hc_headless_format(&J, ev, &len);
    assert_non_null(l);
    assert_int_equal(strlen(l), len);
    assert_int_equal(l[len - 1], '\n');
    assert_null(memchr(l, '\n', len - 1));          /* exactly one line */
    return l;
}

static void expect(hc_event ev, const char *want) {
    const char *l = fmt(&ev);
    char w[4096];
    snprintf(w, sizeof w, "%s\n", want);
    assert_string_equal(l, w);
}

static int setup(void **state) { (void)state; hc_json_init(&J); return 0; }
static int teardown(void **state) { (void)state; hc_json_free(&J); return 0; }

static const uint8_t uuid[16] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                                 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
#define CODE "31415 92653 58979 32384 62643 38327 95028 84197"

static void test_each_event(void **state) {
    (void)state;
    expect((hc_event){.type = HC_EV_MEETING, .t_ms = 1, .meeting_id = "482915736", .uuid = uuid},
           "{\"event\":\"meeting\",\"t_ms\":1,\"meeting_id\":\"482915736\",\"uuid\":\"00112233445566778899aabbccddeeff\"}");
    expect((hc_event){.type = HC_EV_JOINED, .t_ms = 2, .index = 3, .leader = 1, .meeting_id = "482915736"},
           "{\"event\":\"joined\",\"t_ms\":2,\"index\":3,\"leader\":1,\"meeting_id\":\"482915736\"}");
    expect((hc_event){.type = HC_EV_WAITING, .t_ms = 2, .index = 3, .leader = 1, .meeting_id = "482915736",
                      .name = "alice", .fingerprint = "ab"},
           "{\"event\":\"waiting\",\"t_ms\":2,\"index\":3,\"leader\":1,\"meeting_id\":\"482915736\",\"name\":\"alice\",\"fingerprint\":\"ab\"}");
    expect((hc_event){.type = HC_EV_PARTICIPANT_JOINED, .t_ms = 3, .index = 4, .name = "bob", .fingerprint = "abcd ef01 2345 6789 abcd"},
           "{\"event\":\"participant_joined\",\"t_ms\":3,\"index\":4,\"name\":\"bob\",\"fingerprint\":\"abcd ef01 2345 6789 abcd\"}");
    expect((hc_event){.type = HC_EV_PARTICIPANT_LEFT, .t_ms = 4, .index = 4, .name = "bob", .fingerprint = "ab", .reason = "kicked"},
           "{\"event\":\"participant_left\",\"t_ms\":4,\"index\":4,\"name\":\"bob\",\"fingerprint\":\"ab\",\"reason\":\"kicked\"}");
    expect((hc_event){.type = HC_EV_LEADER_CHANGED, .t_ms = 5, .leader = 2, .name = "carol", .fingerprint = "cd"},
           "{\"event\":\"leader_changed\",\"t_ms\":5,\"leader\":2,\"name\":\"carol\",\"fingerprint\":\"cd\"}");
    expect((hc_event){.type = HC_EV_KEY_EPOCH, .t_ms = 6, .epoch = 7, .members = 3},
           "{\"event\":\"key_epoch\",\"t_ms\":6,\"epoch\":7,\"members\":3}");
    expect((hc_event){.type = HC_EV_SECURITY_CODE, .t_ms = 7, .code = CODE " ", .leader = 1, .flag = 0},
           "{\"event\":\"security_code\",\"t_ms\":7,\"code\":\"" CODE "\",\"leader\":1,\"verified\":false}");
    expect((hc_event){.type = HC_EV_SECURITY_CODE, .t_ms = 7, .code = "3141592653589793238462643383279502884197", .leader = 1, .flag = 1},
           "{\"event\":\"security_code\",\"t_ms\":7,\"code\":\"" CODE "\",\"leader\":1,\"verified\":true}");
    expect((hc_event){.type = HC_EV_SECURITY_ALERT, .t_ms = 8, .kind = "roster_mismatch", .detail = "x"},
           "{\"event\":\"security_alert\",\"t_ms\":8,\"kind\":\"roster_mismatch\",\"detail\":\"x\"}");
    expect((hc_event){.type = HC_EV_HEARTBEAT_TIMEOUT, .t_ms = 9, .detail = "5 missed", .reason = "connectivity"},
           "{\"event\":\"heartbeat_timeout\",\"t_ms\":9,\"cause\":\"connectivity\",\"detail\":\"5 missed\"}");
    expect((hc_event){.type = HC_EV_HEARTBEAT_TIMEOUT, .t_ms = 9, .detail = "5 missed", .reason = "security"},
           "{\"event\":\"heartbeat_timeout\",\"t_ms\":9,\"cause\":\"security\",\"detail\":\"5 missed\"}");
    expect((hc_event){.type = HC_EV_JOINING, .t_ms = 9, .members = 3},
           "{\"event\":\"joining\",\"t_ms\":9,\"count\":3}");
    expect((hc_event){.type = HC_EV_CHAT, .t_ms = 10, .index = 2, .name = "bob", .text = "hi"},
           "{\"event\":\"chat\",\"t_ms\":10,\"index\":2,\"from\":2,\"name\":\"bob\",\"text\":\"hi\"}");
    expect((hc_event){.type = HC_EV_ADMISSION_REQUEST, .t_ms = 11, .index = 9, .name = "eve", .fingerprint = "ef"},
           "{\"event\":\"admission_request\",\"t_ms\":11,\"index\":9,\"name\":\"eve\",\"fingerprint\":\"ef\"}");
    expect((hc_event){.type = HC_EV_MUTE_CHANGED, .t_ms = 12, .index = 2, .flag = 1},
           "{\"event\":\"mute_changed\",\"t_ms\":12,\"index\":2,\"muted\":true}");
    expect((hc_event){.type = HC_EV_LOCK_CHANGED, .t_ms = 13, .flag = 0},
           "{\"event\":\"lock_changed\",\"t_ms\":13,\"locked\":false}");
    expect((hc_event){.type = HC_EV_VERIFIED, .t_ms = 14, .flag = 1, .code = CODE, .leader = 1},
           "{\"event\":\"verified\",\"t_ms\":14,\"verified\":true,\"code\":\"" CODE "\",\"leader\":1}");
    expect((hc_event){.type = HC_EV_NOTICE, .t_ms = 15, .text = "hello"},
           "{\"event\":\"notice\",\"t_ms\":15,\"text\":\"hello\"}");
    expect((hc_event){.type = HC_EV_STATS, .t_ms = 16, .text = " {\"rtt_ms\":23,\n\"senders\":[{\"index\":2}]} "},
           "{\"event\":\"stats\",\"t_ms\":16,\"rtt_ms\":23, \"senders\":[{\"index\":2}]}");
    expect((hc_event){.type = HC_EV_STATS, .t_ms = 16, .text = "{ }"}, "{\"event\":\"stats\",\"t_ms\":16}");
    expect((hc_event){.type = HC_EV_STATS, .t_ms = 16, .text = "not json"},
           "{\"event\":\"stats\",\"t_ms\":16,\"text\":\"not json\"}");
    expect((hc_event){.type = HC_EV_LEFT, .t_ms = 17, .reason = "kicked by the leader"},
           "{\"event\":\"left\",\"t_ms\":17,\"reason\":\"kicked by the leader\"}");
    expect((hc_event){.type = HC_EV_ERROR, .t_ms = 18, .code = "not_leader", .text = "only the leader can lock"},
           "{\"event\":\"error\",\"t_ms\":18,\"code\":\"not_leader\",\"message\":\"only the leader can lock\"}");
    expect((hc_event){.type = HC_EV_RECORDING_FAILED, .t_ms = 19, .path = "/tmp/rec \"1\".wav",
                      .text = "No space left on device", .recorded_ms = 61234},
           "{\"event\":\"recording_failed\",\"t_ms\":19,\"path\":\"/tmp/rec \\\"1\\\".wav\",\"error\":\"No space left on device\",\"recorded_ms\":61234}");
    expect((hc_event){.type = HC_EV_RECONNECTING, .t_ms = 20, .reason = "stalled", .text = "waiting", .after_ms = 30000},
           "{\"event\":\"reconnecting\",\"t_ms\":20,\"reason\":\"stalled\",\"detail\":\"waiting\",\"give_up_ms\":30000}");
    expect((hc_event){.type = HC_EV_RECONNECTED, .t_ms = 21, .meeting_id = "482915736", .after_ms = 812, .text = "back"},
           "{\"event\":\"reconnected\",\"t_ms\":21,\"meeting_id\":\"482915736\",\"after_ms\":812,\"detail\":\"back\"}");
    /* Missing strings are empty strings; big numbers stay exact. */
    expect((hc_event){.type = HC_EV_PARTICIPANT_LEFT, .t_ms = UINT64_MAX, .index = UINT32_MAX},
           "{\"event\":\"participant_left\",\"t_ms\":18446744073709551615,\"index\":4294967295,\"name\":\"\",\"fingerprint\":\"\",\"reason\":\"\"}");
    expect((hc_event){.type = HC_EV_MEETING, .t_ms = 0},
           "{\"event\":\"meeting\",\"t_ms\":0,\"meeting_id\":\"\",\"uuid\":\"\"}");
}

static void test_escaping(void **state) {
    (void)state;
    expect((hc_event){.type = HC_EV_CHAT, .index = 1, .name = "a\"b\\c", .text = "line1\nline2\r\ttab\b\f\x01\x1f\x7f"},
           "{\"event\":\"chat\",\"t_ms\":0,\"index\":1,\"from\":1,\"name\":\"a\\\"b\\\\c\",\"text\":\"line1\\nline2\\r\\ttab\\u0008\\u000c\\u0001\\u001f\\u007f\"}");
    /* Valid UTF-8 passes through; invalid bytes, overlongs, surrogates become U+FFFD. */
    expect((hc_event){.type = HC_EV_NOTICE, .text = "caf\xC3\xA9 \xF0\x9F\x98\x80"},
           "{\"event\":\"notice\",\"t_ms\":0,\"text\":\"caf\xC3\xA9 \xF0\x9F\x98\x80\"}");
    expect((hc_event){.type = HC_EV_NOTICE, .text = "a\xFF" "b\xC0\xAF" "c\xED\xA0\x80" "d\xE2\x82"},
           "{\"event\":\"notice\",\"t_ms\":0,\"text\":\"a\xEF\xBF\xBD" "b\xEF\xBF\xBD\xEF\xBF\xBD"
           "c\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD" "d\xEF\xBF\xBD\xEF\xBF\xBD\"}");
    expect((hc_event){.type = HC_EV_NOTICE, .text = "\xE2\x80\xA8"},
           "{\"event\":\"notice\",\"t_ms\":0,\"text\":\"\\u2028\"}");
}

static void test_huge_event(void **state) {
    (void)state;
    size_t n = HC_JSON_MAX;                   /* escaping doubles it: past the cap */
    char *big = malloc(n + 1);
    memset(big, '"', n);
    big[n] = 0;
    hc_event ev = {.type = HC_EV_NOTICE, .text = big};
    size_t len;
    assert_null(hc_headless_format(&J, &ev, &len));
    free(big);
    /* The builder recovers for the next line. */
    expect((hc_event){.type = HC_EV_LOCK_CHANGED, .flag = 1}, "{\"event\":\"lock_changed\",\"t_ms\":0,\"locked\":true}");
}

#define CODE40 "31415 92653 58979 32384 62643 38327 95028 84197"

static void test_parse_commands(void **state) {
    (void)state;
    struct { const char *line; hc_command_type type; uint32_t index; const char *text; } ok[] = {
        {"mute", HC_CMD_MUTE, 0, NULL},       {"unmute", HC_CMD_UNMUTE, 0, NULL},
        {"lock", HC_CMD_LOCK, 0, NULL},       {"unlock", HC_CMD_UNLOCK, 0, NULL},
        {"verify 31415 92653 58979 32384 62643 38327 95028 84197", HC_CMD_VERIFY, 0,
         "31415 92653 58979 32384 62643 38327 95028 84197"},
        {"verify 3141592653589793238462643383279502884197 ", HC_CMD_VERIFY, 0,      /* digits without spaces; */
         "3141592653589793238462643383279502884197 "},                             /* the meeting reads the digits */
        {"stats", HC_CMD_STATS, 0, NULL},
        {"leave", HC_CMD_LEAVE, 0, NULL},     {"end", HC_CMD_END, 0, NULL},
        {"devices", HC_CMD_DEVICES, 0, NULL}, {"kick 3", HC_CMD_KICK, 3, NULL},
        {"admit 12", HC_CMD_ADMIT, 12, NULL}, {"deny 4294967295", HC_CMD_DENY, 4294967295u, NULL},
        {"chat hello world", HC_CMD_CHAT, 0, "hello world"},
        {"chat  two  spaces ", HC_CMD_CHAT, 0, " two  spaces "},
        {"chat caf\xC3\xA9", HC_CMD_CHAT, 0, "caf\xC3\xA9"},
        {"  mute  ", HC_CMD_MUTE, 0, NULL},   {"kick  5 ", HC_CMD_KICK, 5, NULL},
    };
    char err[256];
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        hc_command c;
        if (hc_headless_parse(ok[i].line, &c, err, sizeof err)) fail_msg("'%s': %s", ok[i].line, err);
        assert_int_equal(c.type, ok[i].type);
        assert_int_equal(c.index, ok[i].index);
        if (ok[i].text) assert_string_equal(c.text, ok[i].text);
        else assert_null(c.text);
    }
    const char *bad[] = {"", "   ", "MUTE", "mutex", "mute now", "kick", "kick x", "kick -1", "kick 1 2",
                         "kick #1", "kick 4294967296", "chat", "chat   ", "chat \xFF", "frobnicate 3", "/mute",
                         /* verify is bound to the code compared (issue 11 point 7): no code, too few or
                          * too many digits, anything but digits and blanks */
                         "verify", "verify  ", "verify 31415 92653 58979 32384 62643 38327 95028 8419",
                         "verify 31415 92653 58979 32384 62643 38327 95028 841970",
                         "verify 31415-92653-58979-32384-62643-38327-95028-84197", "verify yes"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        hc_command c;
        err[0] = 0;
        if (!hc_headless_parse(bad[i], &c, err, sizeof err)) fail_msg("'%s' accepted", bad[i]);
        assert_true(err[0]);
    }
}

/* ---- the front end on a loop ---- */

typedef struct {
    hc_command cmds[16];
    char texts[16][128];
    int n;
    uv_loop_t *loop;
    hc_frontend *fe;
    int stop_on_leave;
} sink;

static void on_cmd(void *ctx, const hc_command *cmd) {
    sink *s = ctx;
    assert_true(s->n < 16);
    s->cmds[s->n] = *cmd;
    if (cmd->text) snprintf(s->texts[s->n], sizeof s->texts[s->n], "%s", cmd->text);
    s->n++;
    if (cmd->type == HC_CMD_LEAVE && s->stop_on_leave) {
        /* The session may tear the front end down inside this callback. */
        s->fe->ops->stop(s->fe);
        s->fe->ops->destroy(s->fe);
        s->fe = NULL;
    }
}

static void stop_loop(uv_timer_t *t) { uv_stop(t->loop); }

static void run_ms(uv_loop_t *loop, uint64_t ms) {
    uv_timer_t t;
    uv_timer_init(loop, &t);
    uv_timer_start(&t, stop_loop, ms, 0);
    uv_run(loop, UV_RUN_DEFAULT);
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
}

static char *slurp(FILE *f) {
    fflush(f);
    long n = ftell(f);
    char *b = calloc(1, (size_t)n + 1);
    rewind(f);
    assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
    return b;
}

static size_t count(const char *hay, const char *needle) {
    size_t n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p++) n++;
    return n;
}

static void finish(uv_loop_t *loop, hc_frontend *fe) {
    if (fe) {
        fe->ops->stop(fe);
        fe->ops->destroy(fe);
    }
    uv_run(loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(loop), 0);
}

static void test_pipe_input(void **state) {
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    int p[2];
    assert_int_equal(pipe(p), 0);
    FILE *out = tmpfile();
    sink s = {.loop = &loop};
    hc_frontend *fe = hc_headless_new_fds(p[0], out);
    s.fe = fe;
    hc_frontend_callbacks cb = {.ctx = &s, .command = on_cmd};
    char err[128];
    assert_int_equal(fe->ops->start(fe, &loop, &cb, err, sizeof err), 0);
    hc_event ev = {.type = HC_EV_NOTICE, .t_ms = 1000, .text = "hi"};
    fe->ops->on_event(fe, &ev);
    const char *in = "mute\nchat hello there\r\nbogus\n\nkick 3\n";
    assert_int_equal(write(p[1], in, strlen(in)), (ssize_t)strlen(in));
    /* A line over 4 KiB, sent in pieces, is rejected once and does not stop reading. */
    char big[5000];
    memset(big, 'a', sizeof big);
    memcpy(big, "chat ", 5);
    assert_int_equal(write(p[1], big, sizeof big), (ssize_t)sizeof big);
    assert_int_equal(write(p[1], big, sizeof big), (ssize_t)sizeof big);
    assert_int_equal(write(p[1], "\nunmute\nverify " CODE40, 15 + 47), 15 + 47);
    run_ms(&loop, 100);
    assert_int_equal(s.n, 4);
    assert_int_equal(s.cmds[0].type, HC_CMD_MUTE);
    assert_int_equal(s.cmds[1].type, HC_CMD_CHAT);
    assert_string_equal(s.texts[1], "hello there");
    assert_int_equal(s.cmds[2].type, HC_CMD_KICK);
    assert_int_equal(s.cmds[2].index, 3);
    assert_int_equal(s.cmds[3].type, HC_CMD_UNMUTE);
    /* EOF: the unterminated last line still counts; nothing leaves the meeting. */
    close(p[1]);
    run_ms(&loop, 50);
    assert_int_equal(s.n, 5);
    assert_int_equal(s.cmds[4].type, HC_CMD_VERIFY);
    assert_string_equal(s.texts[4], CODE40);
    for (int i = 0; i < s.n; i++) assert_int_not_equal(s.cmds[i].type, HC_CMD_LEAVE);
    /* Still alive after EOF: events are still printed. */
    hc_event ev2 = {.type = HC_EV_LOCK_CHANGED, .t_ms = 2000, .flag = 1};
    fe->ops->on_event(fe, &ev2);
    finish(&loop, fe);
    close(p[0]);
    char *o = slurp(out);
    assert_non_null(strstr(o, "{\"event\":\"notice\",\"t_ms\":1000,\"version\":1,\"text\":\"hi\"}\n"));
    assert_int_equal(count(o, "\"version\""), 1);    /* the first line only */
    assert_int_equal(count(o, "\"code\":\"bad_command\""), 2);
    assert_non_null(strstr(o, "unknown command 'bogus'"));
    assert_non_null(strstr(o, "longer than 4096 bytes"));
    assert_non_null(strstr(o, "{\"event\":\"lock_changed\",\"t_ms\":2000,\"locked\":true}\n"));
    /* Our own error lines carry a t_ms continuing the session's clock. */
    assert_null(strstr(o, "\"t_ms\":0,"));
    free(o);
    fclose(out);
}

static void test_devnull_and_file_input(void **state) {
    (void)state;
    /* /dev/null: EOF at once, no command, no error, the front end keeps running. */
    uv_loop_t loop;
    uv_loop_init(&loop);
    int fd = open("/dev/null", O_RDONLY);
    FILE *out = tmpfile();
    sink s = {.loop = &loop};
    hc_frontend *fe = hc_headless_new_fds(fd, out);
    hc_frontend_callbacks cb = {.ctx = &s, .command = on_cmd};
    char err[128];
    assert_int_equal(fe->ops->start(fe, &loop, &cb, err, sizeof err), 0);
    run_ms(&loop, 50);
    assert_int_equal(s.n, 0);
    finish(&loop, fe);
    close(fd);
    char *o = slurp(out);
    assert_string_equal(o, "");
    free(o);
    fclose(out);

    /* A regular file of commands, ending with leave; the session stops us inside LEAVE. */
    FILE *cmds = tmpfile();
    fputs("unmute\nlock\nleave\nmute\n", cmds);
    fflush(cmds);
    rewind(cmds);
    uv_loop_init(&loop);
    out = tmpfile();
    memset(&s, 0, sizeof s);
    s.loop = &loop;
    s.stop_on_leave = 1;
    fe = hc_headless_new_fds(fileno(cmds), out);
    s.fe = fe;
    assert_int_equal(fe->ops->start(fe, &loop, &cb, err, sizeof err), 0);
    run_ms(&loop, 100);
    assert_int_equal(s.n, 3);
    assert_int_equal(s.cmds[2].type, HC_CMD_LEAVE);
    assert_null(s.fe);
    finish(&loop, NULL);
    fclose(cmds);
    fclose(out);
}

static void test_no_input(void **state) {
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    FILE *out = tmpfile();
    hc_frontend *fe = hc_headless_new_fds(-1, out);
    char err[128];
    assert_int_equal(fe->ops->start(fe, &loop, NULL, err, sizeof err), 0);
    hc_event ev = {.type = HC_EV_LEFT, .t_ms = 5, .reason = "done"};
    fe->ops->on_event(fe, &ev);
    assert_null(fe->ops->update);   /* no redraws: the session starts no redraw timer for it */
    finish(&loop, fe);
    char *o = slurp(out);
    /* The first line carries the contract's version. */
    assert_string_equal(o, "{\"event\":\"left\",\"t_ms\":5,\"version\":1,\"reason\":\"done\"}\n");
    free(o);
    fclose(out);
    /* Destroy without start or stop. */
    fe = hc_headless_new();
    assert_non_null(fe);
    fe->ops->destroy(fe);
}

/* A session stand-in that answers at once, as the real one does (inside the command call). */
static void on_cmd_answer(void *ctx, const hc_command *cmd) {
    sink *s = ctx;
    on_cmd(ctx, cmd);
    hc_event ev = {.t_ms = 50};
    if (cmd->type == HC_CMD_KICK) { ev.type = HC_EV_ERROR; ev.code = "kick_self"; ev.text = "you cannot kick yourself"; }
    else if (cmd->type == HC_CMD_MUTE) { ev.type = HC_EV_MUTE_CHANGED; ev.index = 1; ev.flag = 1; }
    else if (cmd->type == HC_CMD_LEAVE) { ev.type = HC_EV_LEFT; ev.reason = "left"; }
    else return;
    s->fe->ops->on_event(s->fe, &ev);
}

static void test_command_ids(void **state) {
    (void)state;
    const char *l = " 7  kick 3";
    uint64_t id = 0;
    assert_int_equal(hc_headless_parse_id(&l, &id), 1);
    assert_int_equal(id, 7);
    assert_string_equal(l, "kick 3");
    const char *no[] = {"kick 3", "7kick", "1234567890123456 mute", "-1 mute", ""};
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) {
        l = no[i];
        assert_int_equal(hc_headless_parse_id(&l, &id), 0);
        assert_ptr_equal(l, no[i]);
    }

    uv_loop_t loop;
    uv_loop_init(&loop);
    int p[2];
    assert_int_equal(pipe(p), 0);
    FILE *out = tmpfile();
    sink s = {.loop = &loop};
    hc_frontend *fe = hc_headless_new_fds(p[0], out);
    s.fe = fe;
    hc_frontend_callbacks cb = {.ctx = &s, .command = on_cmd_answer};
    char err[128];
    assert_int_equal(fe->ops->start(fe, &loop, &cb, err, sizeof err), 0);
    const char *in = "7 kick 3\n8 mute\n9 frob\nkick x\nmute\n11 chat hi there\n10 leave\n";
    assert_int_equal(write(p[1], in, strlen(in)), (ssize_t)strlen(in));
    close(p[1]);
    run_ms(&loop, 100);
    assert_int_equal(s.n, 5);
    assert_string_equal(s.texts[3], "hi there");          /* the id is not part of the text */
    finish(&loop, fe);
    close(p[0]);
    char *o = slurp(out);
    const char *want =
        /* refused by the session: the error names the command and carries the id; no "ok" */
        "{\"event\":\"error\",\"t_ms\":50,\"version\":1,\"code\":\"kick_self\",\"message\":\"you cannot kick yourself\",\"command\":\"kick\",\"id\":7}\n"
        /* carried out: its answer carries the id, then "ok" */
        "{\"event\":\"mute_changed\",\"t_ms\":50,\"index\":1,\"muted\":true,\"id\":8}\n"
        "{\"event\":\"ok\",\"t_ms\":";
    assert_memory_equal(o, want, strlen(want));
    /* ok's t_ms continues the session's clock (50 and a little): not compared */
    const char *okl = o + strlen(want);
    okl = strchr(okl, ',');
    assert_non_null(okl);
    assert_memory_equal(okl, ",\"command\":\"mute\",\"id\":8}\n", 26);
    /* refused by the parser: the same */
    assert_non_null(strstr(o, "\"code\":\"bad_command\",\"message\":\"unknown command 'frob'"));
    assert_non_null(strstr(o, "\"command\":\"frob\",\"id\":9}\n"));
    assert_non_null(strstr(o, "INDEX must be a participant number\",\"command\":\"kick\"}\n"));
    /* no id: no "ok", and an answer without "id" */
    assert_non_null(strstr(o, "{\"event\":\"mute_changed\",\"t_ms\":50,\"index\":1,\"muted\":true}\n"));
    assert_non_null(strstr(o, "\"command\":\"chat\",\"id\":11}\n"));
    /* a command that ends the meeting is answered by "left", which stays the last line */
    const char *tail = "{\"event\":\"left\",\"t_ms\":50,\"reason\":\"left\",\"id\":10}\n";
    size_t ol = strlen(o), tl = strlen(tail);
    assert_true(ol >= tl);
    assert_string_equal(o + ol - tl, tail);
    assert_int_equal(count(o, "\"event\":\"ok\""), 2);
    free(o);
    fclose(out);
}

/* Runs the loop until the sink has n commands or about 5 s (x slowness) have passed. */
static void run_until_cmds(uv_loop_t *loop, sink *s, int n) {
    for (int i = 0; i < 50 * hc_test_slow() && s->n < n; i++) run_ms(loop, 100);
}

static void test_output_closed_leaves(void **state) {
    (void)state;
    /* A quiet front end whose reader went away (the pipe's reading end closed, nothing to write):
     * the watch notices and asks the session to leave, saying why. */
    uv_loop_t loop;
    uv_loop_init(&loop);
    int p[2];
    assert_int_equal(pipe(p), 0);
    FILE *out = fdopen(p[1], "w");
    assert_non_null(out);
    sink s = {.loop = &loop};
    hc_frontend *fe = hc_headless_new_fds(-1, out);
    s.fe = fe;
    hc_frontend_callbacks cb = {.ctx = &s, .command = on_cmd};
    char err[128];
    assert_int_equal(fe->ops->start(fe, &loop, &cb, err, sizeof err), 0);
    run_ms(&loop, 50);
    assert_int_equal(s.n, 0);                 /* a reader that is there: nothing happens */
    close(p[0]);
    run_until_cmds(&loop, &s, 1);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.cmds[0].type, HC_CMD_LEAVE);
    assert_string_equal(s.texts[0], HC_LEAVE_OUTPUT_LOST);
    /* Events after that are dropped quietly, and the leave is asked for once. */
    hc_event ev = {.type = HC_EV_LEFT, .t_ms = 5, .reason = "left"};
    fe->ops->on_event(fe, &ev);
    run_ms(&loop, 300);
    assert_int_equal(s.n, 1);
    finish(&loop, fe);
    fclose(out);

    /* A write that fails (here: a full device, which poll does not report): the next loop turn
     * asks for the leave, not the event callback that failed. */
    uv_loop_init(&loop);
    out = fopen("/dev/full", "w");
    assert_non_null(out);
    memset(&s, 0, sizeof s);
    s.loop = &loop;
    fe = hc_headless_new_fds(-1, out);
    s.fe = fe;
    assert_int_equal(fe->ops->start(fe, &loop, &cb, err, sizeof err), 0);
    hc_event n = {.type = HC_EV_NOTICE, .t_ms = 1, .text = "hi"};
    fe->ops->on_event(fe, &n);
    assert_int_equal(s.n, 0);
    run_until_cmds(&loop, &s, 1);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.cmds[0].type, HC_CMD_LEAVE);
    assert_string_equal(s.texts[0], HC_LEAVE_OUTPUT_LOST);
    finish(&loop, fe);
    fclose(out);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_event),
        cmocka_unit_test(test_escaping),
        cmocka_unit_test(test_huge_event),
        cmocka_unit_test(test_parse_commands),
        cmocka_unit_test(test_pipe_input),
        cmocka_unit_test(test_devnull_and_file_input),
        cmocka_unit_test(test_no_input),
        cmocka_unit_test(test_output_closed_leaves),
        cmocka_unit_test(test_command_ids),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
