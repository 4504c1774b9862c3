/* One participant as a process: config, command line, front end, session, exit status. */
#include "app/participant.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "app/commands.h"
#include "app/config.h"
#include "app/names.h"
#include "app/session.h"
#include "app/signals.h"
#include "net/addr.h"
#include "crypto/identity.h"
#include "crypto/sframe.h"
#include "ui/frontend.h"

void hc_participant_options_init(hc_participant_options *o) {
    memset(o, 0, sizeof *o);
    o->reconnect_s = -1;
}

const char *hc_config_audio_spec(const char *value, char *buf, size_t cap) {
    /* The config names a device as `hushcall devices` lists it; full specs are accepted too. */
    static const char *const kinds[] = {"device", "wav:", "tone:", "silence", "null"};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (!strncmp(value, kinds[i], strlen(kinds[i]))) return value;
    snprintf(buf, cap, "device:%s", value);
    return buf;
}

typedef struct {
    uv_loop_t *loop;
    int status;
} run_state;

static void session_done(void *arg, hc_session *s) {
    run_state *rs = arg;
    rs->status = hc_session_exit_status(s);
}

int hc_participant_run(const hc_participant_options *o) {
    char home[HC_PATH_MAX], err[1024];
    if (hc_home_resolve(home, o->home) < 0) {
        fprintf(stderr, "hushcall: cannot find a home directory; set HUSHCALL_HOME or use --home DIR\n");
        return HC_EXIT_USAGE;
    }
    /* Defaults < config file < command line. */
    hc_config conf;
    char cpath[HC_PATH_MAX + 16];
    snprintf(cpath, sizeof cpath, "%s/config", home);
    int cl = hc_config_load(&conf, cpath, err, sizeof err);
    if (cl < 0) {
        fprintf(stderr, "hushcall: %s\n", err);
        return cl == -2 ? HC_EXIT_ERROR : HC_EXIT_USAGE;
    }
    hc_session_config sc;
    memset(&sc, 0, sizeof sc);
    snprintf(sc.home, sizeof sc.home, "%s", home);
    const char *relay = o->relay ? o->relay : conf.relay[0] ? conf.relay : "127.0.0.1:7400";
    if (hc_parse_relay_list(relay, &sc.relays) < 0) {
        fprintf(stderr, "hushcall: the relay address '%s' is not HOST:PORT (or several, separated by commas, at most %d)\n",
                relay, HC_RELAYS_MAX);
        return HC_EXIT_USAGE;
    }
    snprintf(sc.relay_host, sizeof sc.relay_host, "%s", sc.relays.host[0]);
    sc.relay_port = sc.relays.port[0];
    hc_meeting_config *mc = &sc.meeting;
    hc_meeting_config_defaults(mc);
    /* Only the fallback ($USER unset or empty) becomes "guest"; a name the user gave that is
     * empty or blank is a mistake to report, not to paper over. */
    const char *name = o->name ? o->name : conf.name[0] ? conf.name : getenv("USER");
    if (!o->name && (!name || !*name)) name = "guest";
    char nmsg[HC_NAME_MSG_MAX];
    if (hc_name_check_msg(name, nmsg, sizeof nmsg) < 0) {
        fprintf(stderr, "hushcall: %s\n", nmsg);
        return HC_EXIT_USAGE;
    }
    snprintf(mc->name, sizeof mc->name, "%s", name);
    mc->create = o->host;
    if (!o->host) {
        if (!hc_valid_meeting_id(o->meeting_id, strlen(o->meeting_id))) {
            fprintf(stderr, "hushcall: a meeting id is 1-20 digits, not '%s'\n", o->meeting_id);
            return HC_EXIT_USAGE;
        }
        snprintf(mc->meeting_id, sizeof mc->meeting_id, "%s", o->meeting_id);
    }
    if (o->admit) {
        if (hc_admit_parse(o->admit, &mc->admit) < 0) {
            fprintf(stderr, "hushcall: --admit is auto, ask or known, not '%s'\n", o->admit);
            return HC_EXIT_USAGE;
        }
    } else {
        mc->admit = (conf.set & HC_CFG_ADMIT) ? conf.admit : o->headless ? HC_ADMIT_AUTO : HC_ADMIT_ASK;
    }
    if (o->heartbeat_ms) mc->heartbeat_ms = o->heartbeat_ms;
    if (o->miss_limit) mc->miss_limit = o->miss_limit;
    if (o->rekey_s) mc->rekey_s = o->rekey_s;
    /* Nonces rotate with the heartbeat so a held-back key box goes stale within two intervals. */
    mc->nonce_rotate_ms = mc->heartbeat_ms;
    if (o->suite) {
        if (!hc_sframe_suite_available(o->suite)) {
            fprintf(stderr, "hushcall: this CPU cannot run AES-256-GCM in libsodium; use --suite chacha\n");
            return HC_EXIT_USAGE;
        }
        mc->suite = o->suite;
    }
    hc_audio_config_defaults(&sc.audio);
    char inbuf[160], outbuf[160];
    sc.audio.in_spec = o->audio_in ? o->audio_in
                       : conf.audio_in[0] ? hc_config_audio_spec(conf.audio_in, inbuf, sizeof inbuf) : "device";
    sc.audio.out_spec = o->audio_out ? o->audio_out
                        : conf.audio_out[0] ? hc_config_audio_spec(conf.audio_out, outbuf, sizeof outbuf) : "device";
    if (o->frame_ms) sc.audio.frame_ms = o->frame_ms;
    if (o->bitrate) sc.audio.bitrate = o->bitrate;
    if (o->low_delay) { sc.audio.low_delay = 1; sc.audio.frame_ms = 10; }
    hc_video_config_defaults(&sc.video);
    char verr[320];
    if ((o->video_in && hc_video_spec_parse_in(&sc.video.in, o->video_in, verr, sizeof verr)) ||
        (o->video_out && hc_video_spec_parse_out(&sc.video.out, o->video_out, verr, sizeof verr)) ||
        (o->video_size && hc_video_size_parse(&sc.video.w, &sc.video.h, o->video_size, verr, sizeof verr))) {
        fprintf(stderr, "hushcall: %s\n", verr);
        return HC_EXIT_USAGE;
    }
    if (o->video_fps) sc.video.fps = o->video_fps;
    if (o->video_kbps) sc.video.kbps = o->video_kbps;
    sc.stats_ms = o->stats_ms;
    sc.reconnect_s = o->reconnect_s < 0 ? HC_RECONNECT_S_DEFAULT : (uint32_t)o->reconnect_s;
    /* On screen, a missing sound card should not stop you from joining; a bot must say so. */
    sc.audio_fallback = !o->headless;

    /* A screen that cannot be drawn (no terminal, TERM=dumb) is a usage error, said before the
     * terminal or the network is touched. */
    if (!o->headless && hc_tui_check_terminal(NULL, err, sizeof err) < 0) {
        fprintf(stderr, "hushcall: %s\n", err);
        return HC_EXIT_USAGE;
    }
    uv_loop_t loop;
    uv_loop_init(&loop);
    hc_frontend *fe;
    if (o->headless) {
        fe = hc_headless_new();
    } else {
        char logpath[HC_PATH_MAX + 32];
        hc_log_path(logpath, sizeof logpath, o->home, home);   /* XDG state dir unless a home is pinned */
        fe = hc_tui_new(o->ascii || conf.ascii, o->no_color, logpath);
    }
    if (!fe) {
        fprintf(stderr, "hushcall: out of memory\n");
        return HC_EXIT_ERROR;
    }
    hc_session *s;
    sigset_t sigmask;
    hc_signals_mask(&sigmask);          /* the threads the session starts inherit it (signals.h) */
    if (hc_session_new(&s, &loop, &sc, fe, err, sizeof err) < 0) {
        hc_signals_unmask(&sigmask);
        fprintf(stderr, "hushcall: %s\n", err);
        for (int pass = 0; uv_loop_close(&loop) == UV_EBUSY && pass < 100; pass++) uv_run(&loop, UV_RUN_NOWAIT);
        return HC_EXIT_ERROR;
    }
    run_state rs = {&loop, HC_EXIT_ERROR};
    hc_session_on_done(s, session_done, &rs);
    int started = hc_session_start(s, err, sizeof err);
    hc_signals_unmask(&sigmask);
    if (started < 0) {
        /* Said once the session (and a screen it may have started) is gone, so that it reaches
         * the terminal rather than the screen's log. */
        hc_session_leave(s);
        uv_run(&loop, UV_RUN_DEFAULT);
        hc_session_free(s);
        for (int pass = 0; uv_loop_close(&loop) == UV_EBUSY && pass < 100; pass++) uv_run(&loop, UV_RUN_NOWAIT);
        fprintf(stderr, "hushcall: %s\n", err);
        return HC_EXIT_ERROR;
    }
    /* The session turns SIGINT and SIGTERM into a leave; these watchers keep a second one from
     * killing the process after the session closed its own (signals.h). Started after the
     * session, so that the screen still sees whether the signals were inherited as ignored. */
    hc_signals keep;
    hc_signals_start(&keep, &loop, NULL, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    hc_signals_end(&keep, &loop);
    hc_session_free(s);
    /* Close callbacks may close further handles: run the loop until it can really close. */
    for (int pass = 0; uv_loop_close(&loop) == UV_EBUSY && pass < 100; pass++) uv_run(&loop, UV_RUN_NOWAIT);
    return rs.status;
}
