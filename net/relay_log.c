/* The relay's operator log (net/relay_log.h). */
#include "net/relay_log.h"

#include <string.h>
#include <time.h>

#include "net/wire.h"
#include "ui/json.h"

static const char *const level_names[] = {"error", "warn", "info", "debug"};

int hc_rlog_level_parse(const char *s, hc_rlog_level *out) {
    for (int i = 0; i < 4; i++)
        if (!strcmp(s, level_names[i])) { *out = (hc_rlog_level)i; return 0; }
    return -1;
}

const char *hc_rlog_level_name(hc_rlog_level l) { return (unsigned)l < 4 ? level_names[l] : "info"; }

static const char *left_name(uint8_t reason) {
    switch (reason) {
    case HC_LEFT_NORMAL: return "left";
    case HC_LEFT_CONNECTION_LOST: return "connection_lost";
    case HC_LEFT_KICKED: return "kicked";
    case HC_LEFT_DENIED: return "denied";
    case HC_LEFT_SECURITY: return "security";
    case HC_LEFT_HEARTBEAT_TIMEOUT: return "heartbeat_timeout";
    case HC_LEFT_ENDED: return "ended";
    case HC_LEFT_IDLE: return "idle";
    default: return "other";
    }
}

static uint64_t wall_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int begin(const hc_relay_log *lg, hc_json *j, hc_rlog_level lvl, const char *event) {
    if (!lg || !lg->f || lvl > lg->level) return 0;
    hc_json_init(j);
    hc_json_begin(j, event, wall_ms());
    hc_json_str(j, "level", level_names[lvl]);
    return 1;
}

static void finish(const hc_relay_log *lg, hc_json *j) {
    size_t len;
    const char *line = hc_json_end(j, &len);
    /* One write per line, flushed at once: a crash or a `tail -f` never sees half a line. */
    if (line) { fwrite(line, 1, len, lg->f); fflush(lg->f); }
    hc_json_free(j);
}

/* Refusals that mean a limit was hit or a client misbehaved are warnings; the ordinary ones
 * (a wrong meeting id, a locked meeting, the relay shutting down) are info. */
static hc_rlog_level refusal_level(uint16_t code) {
    switch (code) {
    case HC_ERR_NO_SUCH_MEETING: case HC_ERR_LOCKED: case HC_ERR_KICKED: case HC_ERR_DENIED:
    case HC_ERR_ENDED: case HC_ERR_IDLE: case HC_ERR_SHUTDOWN: case HC_ERR_EXISTS: case HC_ERR_NOT_LEADER:
        return HC_RLOG_INFO;
    default: return HC_RLOG_WARN;
    }
}

void hc_relay_log_event(const hc_relay_log *lg, const hc_relay_event *ev) {
    hc_json j;
    switch (ev->type) {
    case HC_REV_MEETING_CREATED:
    case HC_REV_MEETING_ENDED:
        if (!begin(lg, &j, HC_RLOG_INFO, ev->type == HC_REV_MEETING_CREATED ? "meeting_created" : "meeting_ended")) return;
        hc_json_str(&j, "meeting_id", ev->meeting_id);
        break;
    case HC_REV_MEMBER_JOINED:
        if (!begin(lg, &j, HC_RLOG_INFO, "member_joined")) return;
        hc_json_u64(&j, "conn", ev->conn);
        hc_json_str(&j, "meeting_id", ev->meeting_id);
        hc_json_u64(&j, "index", ev->index);
        if (lg->names) hc_json_str(&j, "name", ev->name);   /* escaped: names are untrusted bytes */
        break;
    case HC_REV_MEMBER_LEFT:
        if (!begin(lg, &j, HC_RLOG_INFO, "member_left")) return;
        if (ev->conn) hc_json_u64(&j, "conn", ev->conn);
        hc_json_str(&j, "meeting_id", ev->meeting_id);
        hc_json_u64(&j, "index", ev->index);
        hc_json_str(&j, "reason", left_name(ev->reason));
        break;
    case HC_REV_REFUSED:
        if (!begin(lg, &j, refusal_level(ev->code), "refused")) return;
        hc_json_u64(&j, "conn", ev->conn);
        if (ev->meeting_id && *ev->meeting_id) hc_json_str(&j, "meeting_id", ev->meeting_id);
        if (ev->index) hc_json_u64(&j, "index", ev->index);
        hc_json_str(&j, "code", hc_err_code_name(ev->code));
        hc_json_str(&j, "message", ev->text);   /* the relay's own text, never the client's */
        break;
    default: return;
    }
    finish(lg, &j);
}

void hc_relay_log_conn(const hc_relay_log *lg, hc_rlog_level lvl, const char *event, uint64_t conn,
                       const char *addr, const char *reason) {
    hc_json j;
    if (!begin(lg, &j, lvl, event)) return;
    hc_json_u64(&j, "conn", conn);
    if (addr) hc_json_str(&j, "addr", addr);
    if (reason) hc_json_str(&j, "reason", reason);
    finish(lg, &j);
}

void hc_relay_log_msg(const hc_relay_log *lg, hc_rlog_level lvl, const char *event, const char *msg) {
    hc_json j;
    if (!begin(lg, &j, lvl, event)) return;
    hc_json_str(&j, "message", msg);
    finish(lg, &j);
}
