/* `hushcall relay`: the relay server as a command (options, banner, signals). The server itself
 * is net/relay.c; this file only turns a command line into its configuration. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <uv.h>

#include "app/commands.h"
#include "app/signals.h"
#include "net/addr.h"
#include "net/relay.h"
#include "net/roster.h"

static void relay_usage(FILE *f) {
    fprintf(f,
            "usage: hushcall relay [OPTIONS]\n"
            "\n"
            "Runs the relay that meetings go through. The relay routes control messages, keeps each\n"
            "meeting's bulletin board and forwards encrypted media; it never holds a key that decrypts\n"
            "anything. TCP (control) and UDP (media) listen on the same port.\n"
            "\n"
            "options:\n"
            "  --listen ADDR:PORT      where to listen (default 127.0.0.1:%d; port 0 picks a free one;\n"
            "                          IPv6 as [::1]:PORT). When ready, one line on stdout:\n"
            "                          {\"event\":\"listening\",\"addr\":\"ADDR\",\"port\":PORT}\n"
            "  --max-meetings N        meetings hosted at once (default 1000)\n"
            "  --max-members N         members per meeting, 1..5000 (default 1000)\n"
            "  --forward-loudest K     forward only the K loudest audio senders per meeting, 0..32\n"
            "                          (default 0 = everyone)\n"
            "  --video-last-n N        forward the video of the N loudest members whose camera is on,\n"
            "                          plus the one each receiver pins, 0..16 (default 4)\n"
            "  --impair SPEC           impair forwarded media, for tests: loss=P,delay=MS,jitter=MS,\n"
            "                          reorder=P,dup=P,seed=N[,control=1] (P in percent; control=1 also\n"
            "                          delays control frames, never dropping or reordering them)\n"
            "  --attack MODE           misbehave on purpose so clients can be seen to catch it: swap-key,\n"
            "                          fake-leader, replay-heartbeat, drop-heartbeats, withhold-keybox,\n"
            "                          rollback-key, tamper-media, replay-media, rename, ghost, rehost,\n"
            "                          lag-heartbeats, split-leader\n"
            "  --stats-interval S      print a JSON stats line on stdout every S seconds (default 0 = never)\n"
            "  --max-frame BYTES       largest control frame accepted, 1024..%u (default %u)\n"
            "  --idle-timeout S        a member heard from not at all (no control frame, UDP keepalive or\n"
            "                          media) for S seconds is gone (default 15: clients PING every 5 s;\n"
            "                          0 = never). A leader is PINGed after 2 heartbeat intervals without\n"
            "                          a heartbeat and dropped 1 interval later without an answer, so the\n"
            "                          next member leads before anyone's heartbeat limit (0 = never)\n"
            "  --join-timeout S        a connection must CREATE or JOIN within S seconds (default 10)\n"
            "  --max-conns-per-addr N  connections in meetings per source address (default 64)\n"
            "  --max-unjoined-per-addr N\n"
            "                          connections not (yet) in a meeting per source address (default 16);\n"
            "                          one more closes the oldest of them\n"
            "  --join-rate N,M         CREATE/JOIN per second: N per source address, M into one meeting,\n"
            "                          each with a burst of 3 s worth (default 10,20; 0 = unlimited)\n"
            "  --send-queue BYTES      control bytes queued per connection before it is dropped as too slow\n"
            "                          (default %u)\n"
            "  --log FILE              the operator log, one JSON line per event (connection opened/closed,\n"
            "                          meeting created/ended, member joined/left by index, refusals and\n"
            "                          limits hit), appended to FILE (default: stderr; - = stderr)\n"
            "  --log-level LEVEL       error, warn, info or debug (default info; refusals for limits and\n"
            "                          bad frames are warn)\n"
            "  --log-names             member_joined lines carry the display name (default: index only)\n"
            "  --metrics ADDR:PORT     serve Prometheus metrics (the --stats-interval counters, named\n"
            "                          hushcall_relay_*) at http://ADDR:PORT/metrics; numeric address\n"
            "                          (default off)\n"
            "  -h, --help              this text\n"
            "\n"
            "SIGINT or SIGTERM: every client gets ERROR(shutdown), then the relay exits with status 0.\n"
            "exit status: 0 after a signal, 1 runtime error (e.g. port in use), 2 bad option.\n",
            HC_RELAY_DEFAULT_PORT, HC_FRAME_MAX_LIMIT, HC_FRAME_MAX_DEFAULT, HC_RELAY_SENDQ_DEFAULT);
}

static int parse_uint(const char *v, unsigned long long lo, unsigned long long hi, unsigned long long *out) {
    char *end;
    if (!v || *v < '0' || *v > '9') return -1;
    errno = 0;
    unsigned long long x = strtoull(v, &end, 10);
    if (errno || *end || x < lo || x > hi) return -1;
    *out = x;
    return 0;
}

/* Seconds, possibly fractional ("0.5"), to milliseconds. */
static int parse_seconds(const char *v, uint64_t *ms) {
    char *end;
    if (!v || !*v) return -1;
    errno = 0;
    double d = strtod(v, &end);
    if (errno || *end || !isfinite(d) || d < 0 || d > 86400.0 * 365) return -1;
    *ms = (uint64_t)(d * 1000.0 + 0.5);
    return 0;
}

static int parse_listen(const char *v, char *host, size_t hostcap, uint16_t *port) {
    if (hc_parse_hostport(v, host, hostcap, port) < 0) return -1;
    if (!strcmp(host, "localhost")) snprintf(host, hostcap, "127.0.0.1");  /* we bind numeric addresses */
    return 0;
}

/* Descriptors the relay holds besides its connections: listening sockets, the log, the metrics
 * server, libuv's own. */
#define NOFILE_RESERVE 64

/* Every connection is a descriptor: a process started with the usual soft limit (1024) would
 * stop accepting at about a thousand members. The soft limit goes up to what --max-conns'
 * connections need, as far as the hard limit allows; beyond that the relay accepts only as many
 * connections as it has descriptors for (and says so), and a hard limit too low for one meeting
 * of --max-members is an error. Returns 0, or -1 with the sentence in err. */
static int raise_nofile(hc_relay_server_config *cfg, char *err, size_t errlen) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return 0;
    rlim_t want = (rlim_t)cfg->max_conns + NOFILE_RESERVE;
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
        struct rlimit n = rl;
        n.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= want ? want : rl.rlim_max;
        if (n.rlim_cur > rl.rlim_cur && setrlimit(RLIMIT_NOFILE, &n) == 0) rl.rlim_cur = n.rlim_cur;
    }
    if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= want) return 0;
    rlim_t need = (rlim_t)cfg->core.max_members + NOFILE_RESERVE;
    if (rl.rlim_cur < need) {
        snprintf(err, errlen,
                 "the open-file limit is %llu (hard limit %llu): too low for a meeting of --max-members %u, whose "
                 "every member holds a connection; raise the hard limit to at least %llu (ulimit -Hn as root, or "
                 "LimitNOFILE= in the service file) or lower --max-members",
                 (unsigned long long)rl.rlim_cur, (unsigned long long)rl.rlim_max, cfg->core.max_members,
                 (unsigned long long)need);
        return -1;
    }
    uint32_t was = cfg->max_conns;
    cfg->max_conns = (uint32_t)(rl.rlim_cur - NOFILE_RESERVE);
    if (cfg->max_conns >= was / 10 * 9) return 0;   /* a few short of the default: not worth a word */
    fprintf(stderr,
            "hushcall relay: the open-file limit (hard limit %llu) allows %u connections, fewer than the %u it "
            "would accept; raise it (LimitNOFILE= in the service file) for more\n",
            (unsigned long long)rl.rlim_max, cfg->max_conns, was);
    return 0;
}

typedef struct {
    uv_loop_t *loop;
    hc_relay_server *srv;
    hc_signals sig;
    int stopping;
} relay_app;

static void on_stopped(void *arg) {
    relay_app *a = arg;
    a->srv = NULL;
    fflush(stdout);
}

static void on_signal(void *arg, int signum) {
    relay_app *a = arg;
    if (a->stopping) return;
    a->stopping = 1;
    fprintf(stderr, "hushcall relay: %s received, shutting down\n", signum == SIGINT ? "SIGINT" : "SIGTERM");
    hc_relay_server_stop(a->srv, on_stopped, a);
}

int hc_cmd_relay(int argc, char **argv) {
    hc_relay_server_config cfg;
    hc_relay_server_config_defaults(&cfg);
    cfg.port = HC_RELAY_DEFAULT_PORT;
    enum { O_LISTEN = 256, O_MEETINGS, O_MEMBERS, O_LOUDEST, O_LASTN, O_IMPAIR, O_ATTACK, O_STATS, O_FRAME, O_IDLE,
           O_PERADDR, O_SENDQ, O_JOINTO, O_UNJOINED, O_JOINRATE, O_LOG, O_LOGLEVEL, O_LOGNAMES, O_METRICS };
    static const struct option opts[] = {
        {"listen", required_argument, NULL, O_LISTEN},
        {"max-meetings", required_argument, NULL, O_MEETINGS},
        {"max-members", required_argument, NULL, O_MEMBERS},
        {"forward-loudest", required_argument, NULL, O_LOUDEST},
        {"video-last-n", required_argument, NULL, O_LASTN},
        {"impair", required_argument, NULL, O_IMPAIR},
        {"attack", required_argument, NULL, O_ATTACK},
        {"stats-interval", required_argument, NULL, O_STATS},
        {"max-frame", required_argument, NULL, O_FRAME},
        {"idle-timeout", required_argument, NULL, O_IDLE},
        {"max-conns-per-addr", required_argument, NULL, O_PERADDR},
        {"send-queue", required_argument, NULL, O_SENDQ},
        {"join-timeout", required_argument, NULL, O_JOINTO},
        {"max-unjoined-per-addr", required_argument, NULL, O_UNJOINED},
        {"join-rate", required_argument, NULL, O_JOINRATE},
        {"log", required_argument, NULL, O_LOG},
        {"log-level", required_argument, NULL, O_LOGLEVEL},
        {"log-names", no_argument, NULL, O_LOGNAMES},
        {"metrics", required_argument, NULL, O_METRICS},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    optind = 1;
    opterr = 0;
    int o;
    unsigned long long u;
    uint64_t ms;
    char err[256];
    const char *log_path = NULL;
    cfg.log.level = HC_RLOG_INFO;
    while ((o = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        const char *v = optarg;
        const char *bad = NULL;
        switch (o) {
        case 'h': relay_usage(stdout); return HC_EXIT_OK;
        case O_LISTEN:
            if (parse_listen(v, cfg.host, sizeof cfg.host, &cfg.port) < 0) bad = "expected ADDR:PORT, e.g. 127.0.0.1:7400";
            else {
                /* The server binds numeric addresses only: a host name is a usage error (2) here,
                 * not a runtime failure (1) when the bind is tried. */
                struct sockaddr_in6 a6;
                struct sockaddr_in a4;
                if (uv_ip4_addr(cfg.host, 0, &a4) && uv_ip6_addr(cfg.host, 0, &a6))
                    bad = "the address must be a numeric IPv4 or IPv6 address, e.g. 0.0.0.0:7400";
            }
            break;
        case O_MEETINGS:
            if (parse_uint(v, 1, 1000000, &u) < 0) bad = "expected 1..1000000"; else cfg.core.max_meetings = (uint32_t)u;
            break;
        case O_MEMBERS:
            if (parse_uint(v, 1, HC_ROSTER_MAX_ENTRIES, &u) < 0) bad = "expected 1..5000"; else cfg.core.max_members = (uint32_t)u;
            break;
        case O_LOUDEST:
            if (parse_uint(v, 0, 32, &u) < 0) bad = "expected 0..32"; else cfg.core.forward_loudest = (uint32_t)u;
            break;
        case O_LASTN:
            if (parse_uint(v, 0, 16, &u) < 0) bad = "expected 0..16"; else cfg.core.video_last_n = (uint32_t)u;
            break;
        case O_IMPAIR:
            if (hc_impair_parse(v, &cfg.impair, err, sizeof err) < 0) {
                fprintf(stderr, "hushcall relay: --impair: %s\n", err);
                return HC_EXIT_USAGE;
            }
            break;
        case O_ATTACK:
            if (hc_attack_parse(v, &cfg.core.attack) < 0) bad = "unknown attack mode (see --help)";
            break;
        case O_STATS:
            if (parse_seconds(v, &ms) < 0 || (ms == 0 && strtod(v, NULL) > 0)) bad = "expected seconds >= 0.001";
            else cfg.stats_interval_ms = (uint32_t)(ms > 86400000 ? 86400000 : ms);
            break;
        case O_FRAME:
            if (parse_uint(v, 1024, HC_FRAME_MAX_LIMIT, &u) < 0) bad = "expected 1024..16777216";
            else cfg.core.max_frame = (uint32_t)u;
            break;
        case O_IDLE:
            if (parse_seconds(v, &ms) < 0) bad = "expected seconds >= 0"; else cfg.core.idle_timeout_ms = ms;
            break;
        case O_PERADDR:
            if (parse_uint(v, 1, 1000000, &u) < 0) bad = "expected 1..1000000"; else cfg.core.max_conns_per_addr = (uint32_t)u;
            break;
        case O_JOINTO:
            if (parse_seconds(v, &ms) < 0) bad = "expected seconds >= 0"; else cfg.core.join_timeout_ms = ms;
            break;
        case O_UNJOINED:
            if (parse_uint(v, 1, 1000000, &u) < 0) bad = "expected 1..1000000"; else cfg.core.max_unjoined_per_addr = (uint32_t)u;
            break;
        case O_JOINRATE: {
            char a[32], b[32];
            const char *comma = strchr(v, ',');
            unsigned long long ua, ub;
            if (!comma || (size_t)(comma - v) >= sizeof a || strlen(comma + 1) >= sizeof b) {
                bad = "expected N,M (per address, per meeting)";
                break;
            }
            memcpy(a, v, (size_t)(comma - v));
            a[comma - v] = 0;
            snprintf(b, sizeof b, "%s", comma + 1);
            if (parse_uint(a, 0, 1000000, &ua) < 0 || parse_uint(b, 0, 1000000, &ub) < 0) {
                bad = "expected N,M with 0..1000000 each";
                break;
            }
            cfg.core.join_rate_addr = (uint32_t)ua;
            cfg.core.join_rate_meeting = (uint32_t)ub;
            break;
        }
        case O_SENDQ:
            if (parse_uint(v, 1024, 1ull << 30, &u) < 0) bad = "expected 1024..1073741824"; else cfg.sendq_max = (size_t)u;
            break;
        case O_LOG: log_path = v; break;
        case O_LOGLEVEL:
            if (hc_rlog_level_parse(v, &cfg.log.level) < 0) bad = "expected error, warn, info or debug";
            break;
        case O_LOGNAMES: cfg.log.names = 1; break;
        case O_METRICS: {
            /* Numeric only, like --listen's bind: the endpoint is meant for 127.0.0.1 or a
             * monitoring network, never a name that resolves somewhere unexpected. */
            struct in6_addr a6;
            if (parse_listen(v, cfg.metrics_host, sizeof cfg.metrics_host, &cfg.metrics_port) < 0 ||
                (inet_pton(AF_INET, cfg.metrics_host, &a6) != 1 && inet_pton(AF_INET6, cfg.metrics_host, &a6) != 1)) {
                cfg.metrics_host[0] = 0;
                bad = "expected a numeric ADDR:PORT, e.g. 127.0.0.1:9400";
            }
            break;
        }
        case ':':
            fprintf(stderr, "hushcall relay: option '%s' needs a value\n", argv[optind - 1]);
            return HC_EXIT_USAGE;
        default:
            fprintf(stderr, "hushcall relay: unknown option '%s' (see hushcall relay --help)\n", argv[optind - 1]);
            return HC_EXIT_USAGE;
        }
        if (bad) {
            fprintf(stderr, "hushcall relay: bad value '%s' for --%s: %s\n", v, opts[o - O_LISTEN].name, bad);
            return HC_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "hushcall relay: unexpected argument '%s' (see hushcall relay --help)\n", argv[optind]);
        return HC_EXIT_USAGE;
    }
    signal(SIGPIPE, SIG_IGN);
    if (raise_nofile(&cfg, err, sizeof err) < 0) {
        fprintf(stderr, "hushcall relay: %s\n", err);
        return HC_EXIT_ERROR;
    }
    /* The operator log: stderr unless --log FILE (appended, so a restart keeps the history). */
    FILE *logf = NULL;
    if (log_path && strcmp(log_path, "-")) {
        logf = fopen(log_path, "a");
        if (!logf) {
            fprintf(stderr, "hushcall relay: cannot open the log file %s: %s\n", log_path, strerror(errno));
            return HC_EXIT_ERROR;
        }
    }
    cfg.log.f = logf ? logf : stderr;

    if (cfg.core.attack != HC_ATTACK_NONE)
        fprintf(stderr, "WARNING: attack mode '%s' is ON: this relay %s\n", hc_attack_name(cfg.core.attack),
                hc_attack_describe(cfg.core.attack));
    if (cfg.impair.enabled)
        fprintf(stderr, "hushcall relay: impairment ON for forwarded media: loss=%g%% delay=%ums jitter=%ums "
                        "reorder=%g%% dup=%g%% seed=%llu%s\n",
                cfg.impair.loss_pct, cfg.impair.delay_ms, cfg.impair.jitter_ms, cfg.impair.reorder_pct,
                cfg.impair.dup_pct, (unsigned long long)cfg.impair.seed,
                cfg.impair.control ? " (control frames delayed too)" : "");

    relay_app a;
    memset(&a, 0, sizeof a);
    uv_loop_t loop;
    if (uv_loop_init(&loop) < 0) {
        fprintf(stderr, "hushcall relay: cannot create the event loop\n");
        return HC_EXIT_ERROR;
    }
    a.loop = &loop;
    if (hc_relay_server_start(&a.srv, &loop, &cfg, err, sizeof err) < 0) {
        fprintf(stderr, "hushcall relay: %s\n", err);
        uv_run(&loop, UV_RUN_DEFAULT);     /* lets a half-started server free itself */
        uv_loop_close(&loop);
        if (logf) fclose(logf);
        return HC_EXIT_ERROR;
    }
    hc_signals_start(&a.sig, &loop, on_signal, &a);
    if (hc_relay_server_metrics_port(a.srv))
        printf("{\"event\":\"listening\",\"addr\":\"%s\",\"port\":%u,\"metrics_port\":%u}\n",
               hc_relay_server_host(a.srv), hc_relay_server_port(a.srv), hc_relay_server_metrics_port(a.srv));
    else
        printf("{\"event\":\"listening\",\"addr\":\"%s\",\"port\":%u}\n", hc_relay_server_host(a.srv),
               hc_relay_server_port(a.srv));
    fflush(stdout);
    uv_run(&loop, UV_RUN_DEFAULT);
    hc_signals_end(&a.sig, &loop);
    int rc = uv_loop_close(&loop);
    fflush(stdout);
    if (logf) fclose(logf);
    if (rc < 0) {
        fprintf(stderr, "hushcall relay: handles left open at exit: %s\n", uv_strerror(rc));
        return HC_EXIT_ERROR;
    }
    return HC_EXIT_OK;
}
