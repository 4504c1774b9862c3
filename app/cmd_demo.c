/* `hushcall demo`: a whole meeting on this machine, in one process. An embedded relay on a free
 * loopback port, two bots (Ada hosts and leads, Bob joins) that take turns talking and say
 * something in chat, and you, joining with the full screen. Leaving the screen stops everything.
 *
 * The demo never touches your identity or your verified leaders: the bots are new every run, so
 * verifying Ada into your real store would flag the next demo's Ada as an impostor and teach you
 * to wave that alert away. Everyone in the demo, you included, gets a throwaway identity, and the
 * verified list lives in a temporary home that is removed at the end. Your config is only read.
 *
 * The bots behave as people do, so the screen looks like a real call: they talk in turns with
 * pauses (the level meters show who speaks; a pause is silence, not a mute, so it is not news
 * for the log), each says hello once in chat, and Bob mutes once for a while, as someone who
 * steps away. Both send video (the moving test picture), so the video view (t) shows pictures
 * and the active speaker switching as they take turns. */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "app/commands.h"
#include "app/config.h"
#include "app/names.h"
#include "app/session.h"
#include "app/signals.h"
#include "audio/spec.h"
#include "crypto/identity.h"
#include "net/relay.h"
#include "app/participant.h"
#include "ui/frontend.h"

/* Who talks (0 Ada, 1 Bob, -1 nobody) and for how long: a conversation, repeated. */
static const struct { int who; unsigned ms; } conversation[] = {
    {0, 4000}, {-1, 800}, {1, 3000}, {-1, 1500}, {0, 2500}, {1, 5000}, {-1, 2000},
    {0, 3500}, {-1, 600}, {1, 2000}, {-1, 3000}, {0, 1500}, {-1, 4000},
};
#define N_TURNS (sizeof conversation / sizeof conversation[0])
#define BOB_AWAY_AT_MS 90000   /* Bob mutes once, as someone who steps away... */
#define BOB_BACK_AT_MS 120000  /* ...and comes back */

typedef struct {
    uv_loop_t loop;
    hc_relay_server *relay;
    hc_session *ada, *bob, *you;
    hc_identity ada_id, bob_id, you_id;
    hc_session_config base;       /* shared settings (relay address, the demo's own home) */
    char meeting_id[HC_MEETING_ID_MAX + 1];
    uv_timer_t turns;
    int turn, turns_open;
    uint64_t talked_ms;           /* time since the conversation started */
    int bob_away;                 /* 0 before, 1 muted, 2 back */
    int ada_chatted, bob_chatted;
    int status;
    int stopping;
    char you_name[HC_NAME_MAX + 1];
    char logpath[HC_PATH_MAX + 32];
    int ascii, no_color;
    const char *audio_in, *audio_out;
    char inbuf[160], outbuf[160];
    char failed[1200];            /* a session that could not start: said once the screen is gone */
} demo;

static void bot_say(hc_session *s, const char *text) {
    hc_command c = {.type = HC_CMD_CHAT, .text = text};
    hc_session_command(s, &c);
}

static void set_muted(hc_session *s, int muted) {
    hc_command c = {.type = muted ? HC_CMD_MUTE : HC_CMD_UNMUTE};
    hc_session_command(s, &c);
}

/* The bot whose turn it is speaks; the other is quiet (paused, not muted: nobody is told). */
static void apply_turn(demo *d) {
    int who = conversation[d->turn % N_TURNS].who;
    if (d->ada && !hc_session_finished(d->ada)) hc_session_pause(d->ada, who != 0);
    if (d->bob && !hc_session_finished(d->bob)) hc_session_pause(d->bob, who != 1);
}

static void on_turn(uv_timer_t *t) {
    demo *d = t->data;
    if (d->stopping) return;
    d->talked_ms += conversation[d->turn % N_TURNS].ms;
    d->turn++;
    apply_turn(d);
    if (d->bob && !hc_session_finished(d->bob)) {
        if (d->bob_away == 0 && d->talked_ms >= BOB_AWAY_AT_MS) { d->bob_away = 1; set_muted(d->bob, 1); }
        else if (d->bob_away == 1 && d->talked_ms >= BOB_BACK_AT_MS) { d->bob_away = 2; set_muted(d->bob, 0); }
    }
    uv_timer_start(&d->turns, on_turn, conversation[d->turn % N_TURNS].ms, 0);
}

static void stop_all(demo *d);

static void session_done(void *arg, hc_session *s) {
    demo *d = arg;
    if (s == d->you) {
        d->status = hc_session_exit_status(s);
        stop_all(d);
    }
}

static void relay_stopped(void *arg) {
    demo *d = arg;
    d->relay = NULL;
}

static void turns_closed(uv_handle_t *h) { ((demo *)h->data)->turns_open = 0; }

static void stop_all(demo *d) {
    if (d->stopping) return;
    d->stopping = 1;
    if (d->ada) hc_session_leave(d->ada);
    if (d->bob) hc_session_leave(d->bob);
    if (d->you && !hc_session_finished(d->you)) hc_session_leave(d->you);
    if (d->turns_open) {
        uv_timer_stop(&d->turns);
        uv_close((uv_handle_t *)&d->turns, turns_closed);
    }
}

/* Once every session has finished, the relay can go too. */
static void maybe_stop_relay(demo *d) {
    if (!d->stopping || !d->relay) return;
    if ((d->ada && !hc_session_finished(d->ada)) || (d->bob && !hc_session_finished(d->bob)) ||
        (d->you && !hc_session_finished(d->you)))
        return;
    hc_relay_server *r = d->relay;
    d->relay = NULL;
    hc_relay_server_stop(r, relay_stopped, d);
}

static void bot_done(void *arg, hc_session *s) {
    (void)s;
    maybe_stop_relay(arg);
}

static void you_done(void *arg, hc_session *s) {
    demo *d = arg;
    session_done(d, s);
    maybe_stop_relay(d);
}

static int start_session(demo *d, hc_session **out, const char *name, int create, const hc_identity *id,
                         hc_frontend *fe, const char *in, const char *out_spec, int fallback,
                         void (*observer)(void *, const hc_event *), void (*done)(void *, hc_session *)) {
    hc_session_config c = d->base;
    hc_meeting_config_defaults(&c.meeting);
    snprintf(c.meeting.name, sizeof c.meeting.name, "%s", name);
    c.meeting.create = create;
    c.meeting.admit = HC_ADMIT_AUTO;
    if (!create) snprintf(c.meeting.meeting_id, sizeof c.meeting.meeting_id, "%s", d->meeting_id);
    hc_audio_config_defaults(&c.audio);
    hc_video_config_defaults(&c.video);
    /* The bots send the moving test picture from the start; your camera stays off until you press
     * c, and where there is no camera the demo sends the pattern for you (the log says so). */
    if (!fe) c.video.in.kind = HC_VIDEO_PATTERN;
    else c.video.fallback_pattern = 1;
    c.audio.in_spec = in;
    c.audio.out_spec = out_spec;
    c.audio_fallback = fallback;
    c.identity = id;
    c.observer = observer;
    c.observer_ctx = d;
    char err[1024];
    if (hc_session_new(out, &d->loop, &c, fe, err, sizeof err) < 0) {
        fprintf(stderr, "hushcall demo: %s: %s\n", name, err);
        return -1;
    }
    hc_session_on_done(*out, done, d);
    if (hc_session_start(*out, err, sizeof err) < 0) {
        snprintf(d->failed, sizeof d->failed, "%s: %s", name, err);
        hc_session_leave(*out);
        return -1;
    }
    apply_turn(d);                     /* a bot that joins mid-turn waits for its own */
    return 0;
}

static void bob_events(void *ctx, const hc_event *ev) {
    demo *d = ctx;
    /* Like Ada: only under a key that you hold too, or you could never read it. */
    if (ev->type == HC_EV_KEY_EPOCH && ev->members >= 3 && !d->bob_chatted && d->bob) {
        d->bob_chatted = 1;
        bot_say(d->bob, "Hello, Bob here. Ada leads this meeting: please check that the security code "
                        "on your screen matches ours, then press v.");
    }
}

static void ada_events(void *ctx, const hc_event *ev) {
    demo *d = ctx;
    if (ev->type == HC_EV_MEETING && !d->bob && !d->stopping) {
        snprintf(d->meeting_id, sizeof d->meeting_id, "%s", ev->meeting_id);
        /* Bob joins, then you, as two more participants of the same meeting. */
        if (start_session(d, &d->bob, "Bob (bot)", 0, &d->bob_id, NULL, "tone:330", "null", 0, bob_events,
                          bot_done) < 0 ||
            start_session(d, &d->you, d->you_name, 0, &d->you_id, hc_tui_new(d->ascii, d->no_color, d->logpath), d->audio_in,
                          d->audio_out, 1, NULL, you_done) < 0) {
            d->status = HC_EXIT_ERROR;
            stop_all(d);
        }
    }
    /* Greet once the key that includes you is in use: anything sent before is, by design,
     * unreadable to a newcomer. */
    if (ev->type == HC_EV_KEY_EPOCH && ev->members >= 3 && d->ada && !d->ada_chatted) {
        d->ada_chatted = 1;
        bot_say(d->ada, "Welcome! I'm Ada, a bot, and the leader of this demo meeting. "
                        "Everything you hear, see and read here is end-to-end encrypted. "
                        "Press t to see our video, c to turn your camera on.");
    }
}

/* The demo's own home: a new 0700 directory under $TMPDIR (else /tmp), for the verified list a
 * `v`, `y` writes. Returns 0, or -1 with err. */
static int demo_home(char out[HC_PATH_MAX], char *err, size_t errlen) {
    const char *t = getenv("TMPDIR");
    if (!t || t[0] != '/') t = "/tmp";
    int n = snprintf(out, HC_PATH_MAX, "%s/hushcall-demo-XXXXXX", t);
    if (n < 0 || n >= HC_PATH_MAX || !mkdtemp(out)) {
        snprintf(err, errlen, "cannot make a temporary home for the demo in %s: %s", t,
                 n >= HC_PATH_MAX ? "path too long" : strerror(errno));
        return -1;
    }
    return 0;
}

/* Removes the demo's home: it holds only files the demo wrote (verified and its temporary files). */
static void demo_home_remove(const char *home) {
    DIR *dir = opendir(home);
    if (dir) {
        struct dirent *e;
        char p[HC_PATH_MAX + 260];
        while ((e = readdir(dir)))
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
                snprintf(p, sizeof p, "%s/%s", home, e->d_name);
                unlink(p);
            }
        closedir(dir);
    }
    rmdir(home);
}

static void usage(FILE *f) {
    fprintf(f, "usage: hushcall demo [--name NAME] [--home DIR] [--ascii] [--no-color] [--audio-in SPEC]\n"
               "                     [--audio-out SPEC]\n\n"
               "A local demo call: an embedded relay on 127.0.0.1 (a free port), a meeting hosted by two\n"
               "bots that take turns talking, send video (t shows it) and say something in chat, and you\n"
               "joining on the full screen. c turns your camera on (the test picture where there is none).\n"
               "Your audio device is used when one works; otherwise the log says so and the demo\n"
               "runs with silence. Leaving (q, then y) stops everything it started.\n\n"
               "options:\n"
               "  --name NAME         your display name (config 'name'; default: $USER)\n"
               "  --home DIR          settings directory to read the config from (when $HUSHCALL_HOME is\n"
               "                      not set); the demo never uses or changes your identity or your\n"
               "                      verified leaders: everyone in it has a throwaway identity\n"
               "  --ascii             draw the screen with ASCII characters only\n"
               "  --no-color          no colours on the screen (also when NO_COLOR is set and not empty)\n"
               "  --audio-in SPEC     device[:NAME|INDEX] | wav:FILE | tone:HZ | silence (default device)\n"
               "  --audio-out SPEC    device[:NAME|INDEX] | wav:FILE | null (default device)\n"
               "  -h, --help          this text\n");
}

int hc_cmd_demo(int argc, char **argv) {
    enum { O_NAME = 256, O_HOME, O_ASCII, O_NOCOLOR, O_IN, O_OUT };
    static const struct option opts[] = {{"name", required_argument, 0, O_NAME}, {"home", required_argument, 0, O_HOME},
                                         {"ascii", no_argument, 0, O_ASCII}, {"no-color", no_argument, 0, O_NOCOLOR},
                                         {"audio-in", required_argument, 0, O_IN},
                                         {"audio-out", required_argument, 0, O_OUT}, {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    demo *d = calloc(1, sizeof *d);
    if (!d) return HC_EXIT_ERROR;
    const char *home_opt = NULL, *name = NULL;
    d->audio_in = NULL;
    d->audio_out = NULL;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'h': usage(stdout); free(d); return HC_EXIT_OK;
        case O_NAME: name = optarg; break;
        case O_HOME: home_opt = optarg; break;
        case O_ASCII: d->ascii = 1; break;
        case O_NOCOLOR: d->no_color = 1; break;
        case O_IN: d->audio_in = optarg; break;
        case O_OUT: d->audio_out = optarg; break;
        default:
            fprintf(stderr, "hushcall demo: unknown or incomplete option '%s' (see 'hushcall demo --help')\n",
                    argv[optind - 1]);
            free(d);
            return HC_EXIT_USAGE;
        }
    }
    char err[1024];
    if (hc_home_resolve(d->base.home, home_opt) < 0) {
        fprintf(stderr, "hushcall demo: cannot find a home directory; set HUSHCALL_HOME or use --home DIR\n");
        free(d);
        return HC_EXIT_USAGE;
    }
    hc_config conf;
    char cpath[HC_PATH_MAX + 16];
    snprintf(cpath, sizeof cpath, "%s/config", d->base.home);
    if (hc_config_load(&conf, cpath, err, sizeof err) < 0) {
        fprintf(stderr, "hushcall demo: %s\n", err);
        free(d);
        return HC_EXIT_USAGE;
    }
    for (int i = 0; i < 2; i++) {                /* as host/join: a bad spec is a usage error */
        const char *spec = i ? d->audio_out : d->audio_in;
        hc_audio_spec as;
        char aerr[HC_SPEC_ARG_MAX + 256];
        if (spec && hc_audio_spec_parse(spec, !i, &as, aerr, sizeof aerr) < 0) {
            fprintf(stderr, "hushcall demo: %s\n", aerr);
            free(d);
            return HC_EXIT_USAGE;
        }
    }
    /* The demo is a screen and nothing else (no --headless): without a terminal that can show
     * it (none at all, TERM=dumb) it cannot run, which is a usage error (2), as for host/join;
     * never a silent 0. Checked before anything touches the terminal. */
    if (hc_tui_check_terminal("the demo has no headless mode (for scripts: hushcall host --headless)", err,
                              sizeof err) < 0) {
        fprintf(stderr, "hushcall demo: %s\n", err);
        free(d);
        return HC_EXIT_USAGE;
    }
    char nmsg[HC_NAME_MSG_MAX];
    if (name && hc_name_check_msg(name, nmsg, sizeof nmsg) < 0) {   /* as host/join: a name you gave must be usable */
        fprintf(stderr, "hushcall demo: %s\n", nmsg);
        free(d);
        return HC_EXIT_USAGE;
    }
    if (!name) name = conf.name[0] ? conf.name : getenv("USER");
    if (!name || hc_name_check(name, NULL, 0) < 0) name = "you";
    snprintf(d->you_name, sizeof d->you_name, "%s", name);
    hc_log_path(d->logpath, sizeof d->logpath, home_opt, d->base.home);   /* XDG state dir unless a home is pinned */
    if (!d->audio_in)
        d->audio_in = conf.audio_in[0] ? hc_config_audio_spec(conf.audio_in, d->inbuf, sizeof d->inbuf) : "device";
    if (!d->audio_out)
        d->audio_out = conf.audio_out[0] ? hc_config_audio_spec(conf.audio_out, d->outbuf, sizeof d->outbuf) : "device";
    if (conf.ascii) d->ascii = 1;

    /* From here on, base.home is the demo's own home, never the user's. */
    if (demo_home(d->base.home, err, sizeof err) < 0) {
        fprintf(stderr, "hushcall demo: %s\n", err);
        free(d);
        return HC_EXIT_ERROR;
    }
    uv_loop_init(&d->loop);
    hc_relay_server_config rc;
    hc_relay_server_config_defaults(&rc);
    snprintf(rc.host, sizeof rc.host, "127.0.0.1");
    rc.port = 0;
    if (hc_relay_server_start(&d->relay, &d->loop, &rc, err, sizeof err) < 0) {
        fprintf(stderr, "hushcall demo: cannot start the embedded relay: %s\n", err);
        uv_loop_close(&d->loop);
        demo_home_remove(d->base.home);
        free(d);
        return HC_EXIT_ERROR;
    }
    snprintf(d->base.relay_host, sizeof d->base.relay_host, "127.0.0.1");
    d->base.relay_port = hc_relay_server_port(d->relay);
    hc_identity_generate(&d->ada_id);
    hc_identity_generate(&d->bob_id);
    hc_identity_generate(&d->you_id);
    d->status = HC_EXIT_OK;
    uv_timer_init(&d->loop, &d->turns);
    d->turns.data = d;
    d->turns_open = 1;
    uv_timer_start(&d->turns, on_turn, conversation[0].ms, 0);
    if (start_session(d, &d->ada, "Ada (bot)", 1, &d->ada_id, NULL, "tone:220", "null", 0, ada_events, bot_done) < 0) {
        d->status = HC_EXIT_ERROR;
        stop_all(d);
        maybe_stop_relay(d);
    }
    hc_signals keep;                   /* a signal after the screen closed must not kill the exit */
    hc_signals_start(&keep, &d->loop, NULL, NULL);
    uv_run(&d->loop, UV_RUN_DEFAULT);
    hc_signals_end(&keep, &d->loop);
    hc_session_free(d->ada);
    hc_session_free(d->bob);
    hc_session_free(d->you);
    /* Close callbacks may close further handles: run the loop until it can really close. */
    for (int pass = 0; uv_loop_close(&d->loop) == UV_EBUSY && pass < 100; pass++) uv_run(&d->loop, UV_RUN_NOWAIT);
    hc_identity_wipe(&d->ada_id);
    hc_identity_wipe(&d->bob_id);
    hc_identity_wipe(&d->you_id);
    demo_home_remove(d->base.home);
    if (d->failed[0]) fprintf(stderr, "hushcall demo: %s\n", d->failed);
    int st = d->status;
    free(d);
    return st;
}
