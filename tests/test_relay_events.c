/* The relay core's operator events (hc_relay_io.event, issue 12 point 16) and their log lines
 * (net/relay_log.c): meeting created/ended, member joined/left with index and reason, every
 * refusal with its code; names only with names=1, escaped; levels filter. In memory, no sockets. */
#include "tests/testutil.h"
#include "tests/relay_harness.h"

#include "net/relay_log.h"

#define MAXEV 64
typedef struct {
    hc_relay_event_type type;
    uint64_t conn;
    char mid[HC_MEETING_ID_MAX + 1];
    uint32_t index;
    char name[128];
    uint8_t reason;
    uint16_t code;
} rec;
static rec evs[MAXEV];
static size_t nev;

static void on_event(void *ctx, const hc_relay_event *ev) {
    (void)ctx;
    if (nev == MAXEV) return;
    rec *r = &evs[nev++];
    memset(r, 0, sizeof *r);
    r->type = ev->type;
    r->conn = ev->conn;
    snprintf(r->mid, sizeof r->mid, "%s", ev->meeting_id ? ev->meeting_id : "");
    r->index = ev->index;
    if (ev->name) snprintf(r->name, sizeof r->name, "%s", ev->name);
    r->reason = ev->reason;
    r->code = ev->code;
}

static hh *events_hh(void) {
    hc_relay_config cfg;
    hc_relay_config_defaults(&cfg);
    hh *h = hh_new(&cfg);
    hc_relay_free(h->r);
    hc_relay_io io = {h, hh_io_send, hh_io_close, on_event};
    h->r = hc_relay_new(&cfg, &io);
    nev = 0;
    return h;
}

static void test_core_reports_the_meeting_lifecycle(void **state) {
    (void)state;
    hh *h = events_hh();
    char id[HC_MEETING_ID_MAX + 1];
    assert_int_equal(hh_connect(h, 1, 10), 0);
    assert_int_equal(hh_connect(h, 2, 11), 0);
    assert_int_equal(hh_join(h, 1, NULL, "alice", id, NULL, NULL), 1);
    assert_int_equal(nev, 2);
    assert_int_equal(evs[0].type, HC_REV_MEETING_CREATED);
    assert_string_equal(evs[0].mid, id);
    assert_int_equal(evs[1].type, HC_REV_MEMBER_JOINED);
    assert_int_equal(evs[1].conn, 1);
    assert_int_equal(evs[1].index, 1);
    assert_string_equal(evs[1].name, "alice");
    /* a wrong meeting id: refused, with its code */
    assert_int_equal(hh_join(h, 2, "0000000000", "bob", NULL, NULL, NULL), 0);
    assert_int_equal(nev, 3);
    assert_int_equal(evs[2].type, HC_REV_REFUSED);
    assert_int_equal(evs[2].code, HC_ERR_NO_SUCH_MEETING);
    assert_int_equal(evs[2].conn, 2);
    assert_int_equal(hh_join(h, 2, id, "bob", NULL, NULL, NULL), 2);
    assert_int_equal(evs[3].type, HC_REV_MEMBER_JOINED);
    assert_int_equal(evs[3].index, 2);
    /* bob's connection goes: member_left, connection lost */
    hc_relay_on_disconnect(h->r, 2, h->now);
    h->c[2].closed = 1;
    assert_int_equal(nev, 5);
    assert_int_equal(evs[4].type, HC_REV_MEMBER_LEFT);
    assert_int_equal(evs[4].index, 2);
    assert_int_equal(evs[4].reason, HC_LEFT_CONNECTION_LOST);
    assert_string_equal(evs[4].mid, id);
    /* the last one out ends the meeting */
    hc_relay_on_disconnect(h->r, 1, h->now);
    h->c[1].closed = 1;
    assert_int_equal(nev, 7);
    assert_int_equal(evs[5].type, HC_REV_MEMBER_LEFT);
    assert_int_equal(evs[5].index, 1);
    assert_int_equal(evs[6].type, HC_REV_MEETING_ENDED);
    assert_string_equal(evs[6].mid, id);
    hh_free(h);
}

static void test_malformed_frame_is_a_refusal(void **state) {
    (void)state;
    hh *h = events_hh();
    assert_int_equal(hh_connect(h, 3, 12), 0);
    const uint8_t bad[] = {0, 0, 0, 4, 99, 1, 0, 0};   /* protocol version 99 */
    hh_bytes(h, 3, bad, sizeof bad);
    assert_int_equal(nev, 1);
    assert_int_equal(evs[0].type, HC_REV_REFUSED);
    assert_int_equal(evs[0].code, HC_ERR_BAD_VERSION);
    assert_string_equal(evs[0].mid, "");
    hh_free(h);
}

static char *read_all(FILE *f) {
    static char buf[8192];
    fflush(f);
    rewind(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    return buf;
}

static void test_log_lines_names_and_levels(void **state) {
    (void)state;
    FILE *f = tmpfile();
    assert_non_null(f);
    hc_relay_log lg = {f, HC_RLOG_INFO, 0};
    hc_relay_event j = {HC_REV_MEMBER_JOINED, 4, "0123456789", 3, "Eve \"the\"\n\x01", 0, 0, NULL};
    hc_relay_log_event(&lg, &j);
    char *t = read_all(f);
    assert_non_null(strstr(t, "\"event\":\"member_joined\""));
    assert_non_null(strstr(t, "\"level\":\"info\""));
    assert_non_null(strstr(t, "\"index\":3"));
    assert_non_null(strstr(t, "\"meeting_id\":\"0123456789\""));
    assert_null(strstr(t, "Eve"));                       /* no names by default */
    lg.names = 1;
    hc_relay_log_event(&lg, &j);
    t = read_all(f);
    assert_non_null(strstr(t, "\"name\":\"Eve \\\"the\\\"\\n\\u0001\""));   /* escaped, one line */
    size_t lines = 0;
    for (const char *q = t; *q; q++) lines += *q == '\n';
    assert_int_equal(lines, 2);                          /* the name's newline did not split a line */
    /* warn: info lines are not written, warn ones are */
    fclose(f);
    f = tmpfile();
    lg.f = f;
    lg.level = HC_RLOG_WARN;
    hc_relay_log_event(&lg, &j);
    hc_relay_event info = {HC_REV_REFUSED, 5, "", 0, NULL, 0, HC_ERR_NO_SUCH_MEETING, "no meeting"};
    hc_relay_log_event(&lg, &info);
    hc_relay_log_conn(&lg, HC_RLOG_INFO, "connection_opened", 5, "127.0.0.1", NULL);
    assert_string_equal(read_all(f), "");
    hc_relay_event lim = {HC_REV_REFUSED, 5, "", 0, NULL, 0, HC_ERR_RATE_LIMITED, "too many joins"};
    hc_relay_log_event(&lg, &lim);
    t = read_all(f);
    assert_non_null(strstr(t, "\"event\":\"refused\""));
    assert_non_null(strstr(t, "\"level\":\"warn\""));
    assert_non_null(strstr(t, "\"code\":\"rate_limited\""));
    fclose(f);
    hc_rlog_level l;
    assert_int_equal(hc_rlog_level_parse("debug", &l), 0);
    assert_int_equal(l, HC_RLOG_DEBUG);
    assert_int_equal(hc_rlog_level_parse("loud", &l), -1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_core_reports_the_meeting_lifecycle),
        cmocka_unit_test(test_malformed_frame_is_a_refusal),
        cmocka_unit_test(test_log_lines_names_and_levels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
