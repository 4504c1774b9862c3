/* `hushcall host` and `hushcall join`: one participant, with the ncurses screen or headless. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "app/commands.h"
#include "app/config.h"
#include "app/participant.h"
#include "app/session.h"
#include "audio/spec.h"
#include "crypto/identity.h"
#include "crypto/sframe.h"
#include "video/spec.h"

static void usage(FILE *f, int host) {
    if (host)
        fprintf(f, "usage: hushcall host [--relay HOST:PORT] [--name NAME] [OPTIONS]\n\n"
                   "Creates a meeting on the relay and joins it as its leader. The meeting id to share is\n"
                   "shown on screen (headless: the first line, {\"event\":\"meeting\",...}).\n\n");
    else
        fprintf(f, "usage: hushcall join MEETING_ID [--relay HOST:PORT] [--name NAME] [OPTIONS]\n\n"
                   "Joins a meeting by its id.\n\n");
    fprintf(f,
            "options:\n"
            "  --relay HOST:PORT     relay address (config key 'relay'; default 127.0.0.1:7400); several\n"
            "                        separated by commas are nodes of one cluster, tried in order\n"
            "  --name NAME           your display name, 1-64 bytes, no invisible characters, direction\n"
            "                        marks or stray spaces (config 'name'; default: $USER, else guest)\n"
            "  --home DIR            identity and settings directory (used when $HUSHCALL_HOME is not\n"
            "                        set; default $XDG_CONFIG_HOME/hushcall or ~/.config/hushcall)\n"
            "  --headless            no screen: one JSON object per line on stdout, commands on stdin\n"
            "  --ascii               draw the screen with ASCII characters only\n"
            "  --no-color            no colours on the screen (also when NO_COLOR is set and not empty)\n"
            "  --audio-in SPEC       device[:NAME|INDEX] | wav:FILE | tone:HZ | silence (config\n"
            "                        'audio_in'; default device)\n"
            "  --audio-out SPEC      device[:NAME|INDEX] | wav:FILE | null (config 'audio_out';\n"
            "                        default device)\n"
            "  --frame-ms N          Opus frame length: 10, 20 or 40 ms (default 20)\n"
            "  --bitrate N           Opus bitrate in bit/s (default 32000)\n"
            "  --low-delay           low-delay Opus (RESTRICTED_LOWDELAY) with 10 ms frames\n"
            "  --stats-ms N          headless: print a stats line every N ms (default: only on 'stats')\n"
            "  --video-in SPEC       none | pattern | y4m:FILE | camera | camera:/dev/videoN: what your\n"
            "                        camera sends (default none: the camera is off until you turn it on;\n"
            "                        headless: 'video on'; turning it on with none uses the camera)\n"
            "  --video-out SPEC      y4m:FILE[,sender=N]: record the pictures you receive (the active\n"
            "                        speaker's, or member N's) as a .y4m file\n"
            "  --video-size WxH      picture size sent, even, 32x18 to 1920x1080 (default 160x90)\n"
            "  --video-fps N         pictures per second sent, 1-30 (default 15)\n"
            "  --video-kbps N        VP8 bitrate in kbit/s, 20-2000 (default 100)\n");
    if (host)
        fprintf(f,
                "  --admit POLICY        who gets the meeting key: auto (everyone; default with --headless),\n"
                "                        ask (you admit each person; default on screen), known (only\n"
                "                        leaders you verified before) (config 'admit')\n"
                "  --suite SUITE         media cipher: chacha (ChaCha20-Poly1305, default) or aes\n"
                "                        (AES-256-GCM, RFC 9605 suite 5, where the CPU supports it)\n");
    fprintf(f,
            "  --heartbeat-ms N      leader heartbeat interval, 20-10000 ms (default 2000)\n"
            "  --miss-limit N        leave after N intervals without a valid heartbeat (default 5)\n"
            "  --rekey-s N           leader: new meeting key every N seconds anyway (default 300)\n"
            "  --reconnect-s N       when the relay is lost or stops answering, keep trying to get\n"
            "                        back into the same meeting for N s, 0-3600 (default 30; 0: leave\n"
            "                        at once)\n"
            "  -h, --help            this text\n\n"
            "headless commands (one per line on stdin): mute, unmute, chat TEXT, lock, unlock,\n"
            "kick INDEX, admit INDEX, deny INDEX, verify CODE, stats, devices, video on, video off,\n"
            "pin INDEX, unpin, leave, end (leader: end for everyone).\n\n"
            "exit status: 0 left normally, 1 runtime error, 2 bad usage or config, 3 left for a\n"
            "security reason (substituted key, missing or forged heartbeats, impostor leader),\n"
            "4 removed (kicked, denied, ended, locked), 5 relay unreachable or refused the meeting.\n");
}

static int parse_u32(const char *opt, const char *v, uint32_t lo, uint32_t hi, uint32_t *out) {
    char *end;
    unsigned long x = strtoul(v, &end, 10);
    if (!*v || *end || x < lo || x > hi) {
        fprintf(stderr, "hushcall: %s wants a number from %u to %u, not '%s'\n", opt, lo, hi, v);
        return -1;
    }
    *out = (uint32_t)x;
    return 0;
}

static int run(int argc, char **argv, int host) {
    enum { O_RELAY = 256, O_NAME, O_HOME, O_HEADLESS, O_ASCII, O_NOCOLOR, O_IN, O_OUT, O_FRAME, O_BITRATE, O_LOWDELAY,
           O_STATS, O_ADMIT, O_SUITE, O_HB, O_MISS, O_REKEY, O_RECONNECT, O_VIN, O_VOUT, O_VSIZE, O_VFPS,
           O_VKBPS };
    static const struct option opts[] = {
        {"relay", required_argument, 0, O_RELAY}, {"name", required_argument, 0, O_NAME},
        {"home", required_argument, 0, O_HOME}, {"headless", no_argument, 0, O_HEADLESS},
        {"ascii", no_argument, 0, O_ASCII}, {"no-color", no_argument, 0, O_NOCOLOR},
        {"audio-in", required_argument, 0, O_IN},
        {"audio-out", required_argument, 0, O_OUT}, {"frame-ms", required_argument, 0, O_FRAME},
        {"bitrate", required_argument, 0, O_BITRATE}, {"low-delay", no_argument, 0, O_LOWDELAY},
        {"stats-ms", required_argument, 0, O_STATS}, {"admit", required_argument, 0, O_ADMIT},
        {"suite", required_argument, 0, O_SUITE}, {"heartbeat-ms", required_argument, 0, O_HB},
        {"miss-limit", required_argument, 0, O_MISS}, {"rekey-s", required_argument, 0, O_REKEY},
        {"reconnect-s", required_argument, 0, O_RECONNECT},
        {"video-in", required_argument, 0, O_VIN}, {"video-out", required_argument, 0, O_VOUT},
        {"video-size", required_argument, 0, O_VSIZE}, {"video-fps", required_argument, 0, O_VFPS},
        {"video-kbps", required_argument, 0, O_VKBPS},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    hc_participant_options po;
    hc_participant_options_init(&po);
    po.host = host;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        uint32_t v;
        switch (c) {
        case 'h': usage(stdout, host); return HC_EXIT_OK;
        case O_RELAY: po.relay = optarg; break;
        case O_NAME: po.name = optarg; break;
        case O_HOME: po.home = optarg; break;
        case O_HEADLESS: po.headless = 1; break;
        case O_ASCII: po.ascii = 1; break;
        case O_NOCOLOR: po.no_color = 1; break;
        case O_IN: case O_OUT: {
            /* A typo in a spec is a command-line error (2), found before anything connects, not
             * a runtime failure (1) once the audio engine opens it. */
            hc_audio_spec as;
            char aerr[HC_SPEC_ARG_MAX + 256];
            if (hc_audio_spec_parse(optarg, c == O_IN, &as, aerr, sizeof aerr) < 0) {
                fprintf(stderr, "hushcall: %s\n", aerr);
                return HC_EXIT_USAGE;
            }
            if (c == O_IN) po.audio_in = optarg;
            else po.audio_out = optarg;
            break;
        }
        case O_FRAME:
            if (parse_u32("--frame-ms", optarg, 10, 40, &v) < 0) return HC_EXIT_USAGE;
            if (v != 10 && v != 20 && v != 40) {
                fprintf(stderr, "hushcall: --frame-ms must be 10, 20 or 40\n");
                return HC_EXIT_USAGE;
            }
            po.frame_ms = (int)v;
            break;
        case O_BITRATE:
            if (parse_u32("--bitrate", optarg, 6000, 510000, &v) < 0) return HC_EXIT_USAGE;
            po.bitrate = (int)v;
            break;
        case O_LOWDELAY: po.low_delay = 1; break;
        case O_STATS:
            if (parse_u32("--stats-ms", optarg, 100, 3600000, &v) < 0) return HC_EXIT_USAGE;
            po.stats_ms = v;
            break;
        case O_ADMIT:
            if (!host) { fprintf(stderr, "hushcall: --admit is for the host (the leader decides)\n"); return HC_EXIT_USAGE; }
            po.admit = optarg;
            break;
        case O_SUITE:
            if (!host) { fprintf(stderr, "hushcall: --suite is for the host (the leader picks it)\n"); return HC_EXIT_USAGE; }
            if (!strcmp(optarg, "chacha")) po.suite = HC_SUITE_CHACHA;
            else if (!strcmp(optarg, "aes")) po.suite = HC_SUITE_AES256GCM;
            else { fprintf(stderr, "hushcall: --suite is chacha or aes, not '%s'\n", optarg); return HC_EXIT_USAGE; }
            break;
        case O_HB:
            if (parse_u32("--heartbeat-ms", optarg, 20, 10000, &v) < 0) return HC_EXIT_USAGE;
            po.heartbeat_ms = v;
            break;
        case O_MISS:
            if (parse_u32("--miss-limit", optarg, 1, 1000, &v) < 0) return HC_EXIT_USAGE;
            po.miss_limit = v;
            break;
        case O_REKEY:
            if (parse_u32("--rekey-s", optarg, 1, 86400, &v) < 0) return HC_EXIT_USAGE;
            po.rekey_s = v;
            break;
        case O_RECONNECT:
            if (parse_u32("--reconnect-s", optarg, 0, 3600, &v) < 0) return HC_EXIT_USAGE;
            po.reconnect_s = (int)v;
            break;
        case O_VIN: case O_VOUT: case O_VSIZE: {
            /* Checked here, so a typo is a usage error before anything connects. */
            hc_video_spec vs;
            int w, h;
            char verr[320];
            int bad = c == O_VIN ? hc_video_spec_parse_in(&vs, optarg, verr, sizeof verr)
                      : c == O_VOUT ? hc_video_spec_parse_out(&vs, optarg, verr, sizeof verr)
                                    : hc_video_size_parse(&w, &h, optarg, verr, sizeof verr);
            if (bad) { fprintf(stderr, "hushcall: %s\n", verr); return HC_EXIT_USAGE; }
            if (c == O_VIN) po.video_in = optarg;
            else if (c == O_VOUT) po.video_out = optarg;
            else po.video_size = optarg;
            break;
        }
        case O_VFPS:
            if (parse_u32("--video-fps", optarg, 1, 30, &v) < 0) return HC_EXIT_USAGE;
            po.video_fps = (int)v;
            break;
        case O_VKBPS:
            if (parse_u32("--video-kbps", optarg, 20, 2000, &v) < 0) return HC_EXIT_USAGE;
            po.video_kbps = (int)v;
            break;
        case ':':
            fprintf(stderr, "hushcall %s: option '%s' needs a value (see 'hushcall %s --help')\n",
                    host ? "host" : "join", argv[optind - 1], host ? "host" : "join");
            return HC_EXIT_USAGE;
        default:
            /* One line, not the whole help: the mistake stays on the screen. */
            fprintf(stderr, "hushcall %s: unknown option '%s' (see 'hushcall %s --help')\n",
                    host ? "host" : "join", argv[optind - 1], host ? "host" : "join");
            return HC_EXIT_USAGE;
        }
    }
    if (!host) {
        if (optind >= argc) {
            fprintf(stderr, "hushcall join: which meeting? give its id, e.g. hushcall join 1234567890\n");
            return HC_EXIT_USAGE;
        }
        po.meeting_id = argv[optind++];
    }
    if (optind < argc) {
        fprintf(stderr, "hushcall %s: unexpected argument '%s'\n", host ? "host" : "join", argv[optind]);
        return HC_EXIT_USAGE;
    }
    return hc_participant_run(&po);
}

int hc_cmd_host(int argc, char **argv) { return run(argc, argv, 1); }
int hc_cmd_join(int argc, char **argv) { return run(argc, argv, 0); }
