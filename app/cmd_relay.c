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

#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include "app/commands.h"
#include "app/relay_workers.h"
#include "app/signals.h"
#include "crypto/storefile.h"
#include "net/addr.h"
#include "net/cluster_wire.h"
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
            "\n"
            "cluster (several relay nodes serve every meeting together; see PROTOCOL.md section 14):\n"
            "  --cluster URL           join the cluster whose NATS server is at URL (nats://HOST:PORT, or\n"
            "                          tls://HOST:PORT; several separated by commas). Off loopback, TLS\n"
            "                          and --cluster-auth are required\n"
            "  --node NAME             this node's name, unique in the cluster (1-32 of A-Z a-z 0-9 _ -)\n"
            "  --advertise HOST:PORT   where the other nodes send this node's media (UDP; bound on the\n"
            "                          --listen address). Default: the listen address and a free port\n"
            "  --cluster-key FILE      the secret every node shares (at least 32 bytes, e.g. from\n"
            "                          /dev/urandom; the file must not be readable by group or others):\n"
            "                          it tags every node-to-node datagram, so no one else can inject\n"
            "  --cluster-auth FILE     NATS credentials: one line USER:PASSWORD, or a NATS .creds file\n"
            "  --cluster-ca FILE       the CA certificate that signed the NATS server's (TLS)\n"
            "  --cluster-name NAME     the cluster's name on the bus (default hushcall)\n"
            "  --node-timeout S        a node not heard from for S seconds is dead (default 1.5)\n"
            "  --workers N|auto        N relay processes serving the port together, each a node of the\n"
            "                          cluster, so every core forwards media (auto: one per core; the\n"
            "                          default with --cluster; else 1). Without --cluster they run a\n"
            "                          private NATS server on 127.0.0.1 (nats-server must be installed)\n"
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

/* ---- cluster options ---- */

static int is_loopback(const char *host) {
    return !strcmp(host, "localhost") || !strncmp(host, "127.", 4) || !strcmp(host, "::1");
}

/* Each URL of a --cluster list: nats:// or tls://, an optional user@, HOST:PORT. Sets *loop_only
 * to whether every server is on loopback. */
static int cluster_url_scan(const char *list, int *loop_only, int *tls_all, const char **bad) {
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", list);
    *loop_only = 1;
    *tls_all = 1;
    char *save = NULL;
    int n = 0;
    for (char *u = strtok_r(buf, ",", &save); u; u = strtok_r(NULL, ",", &save), n++) {
        int tls = !strncmp(u, "tls://", 6);
        if (!tls && strncmp(u, "nats://", 7)) { *bad = "expected nats://HOST:PORT or tls://HOST:PORT"; return -1; }
        char *hp = strstr(u, "://") + 3;
        char *at = strrchr(hp, '@');
        if (at) hp = at + 1;
        char host[256];
        uint16_t port;
        if (hc_parse_hostport(hp, host, sizeof host, &port) < 0 || !port) { *bad = "expected nats://HOST:PORT"; return -1; }
        *loop_only &= is_loopback(host);
        *tls_all &= tls;
    }
    if (!n) { *bad = "expected nats://HOST:PORT"; return -1; }
    return 0;
}

static int cluster_url_check(const char *v, const char **bad) {
    int lo, tls;
    return cluster_url_scan(v, &lo, &tls, bad);
}

/* Reads a secret file: a regular file of ours that group and others cannot read. */
static ssize_t read_secret(const char *path, const char *what, uint8_t *buf, size_t cap) {
    char err[512];
    int fd;
    struct stat st;
    hc_store_status rc = hc_store_open(path, what, HC_STORE_OWNED, &fd, &st, err, sizeof err);
    if (rc == HC_STORE_ABSENT) {
        fprintf(stderr, "hushcall relay: %s %s does not exist\n", what, path);
        return -1;
    }
    if (rc != HC_STORE_OK) {
        fprintf(stderr, "hushcall relay: %s\n", err);
        return -1;
    }
    if (st.st_mode & 077) {
        fprintf(stderr, "hushcall relay: %s %s can be read by group or others; chmod 600 it\n", what, path);
        close(fd);
        return -1;
    }
    ssize_t n = read(fd, buf, cap);
    close(fd);
    if (n < 0 || (size_t)n == cap) {
        fprintf(stderr, "hushcall relay: cannot read %s %s (or it is larger than %zu bytes)\n", what, path, cap - 1);
        return -1;
    }
    return n;
}

/* The cluster's options, checked together. Returns 0, or -1 after saying what is wrong. */
static int cluster_options(hc_relay_server_config *cfg, const char *key_path, const char *auth_path) {
    if (!cfg->cluster.enabled) {
        if (cfg->cluster.node.node[0] || key_path || auth_path || cfg->cluster.bus.ca[0] || cfg->cluster.advertise_host[0]) {
            fprintf(stderr, "hushcall relay: --node, --advertise and --cluster-* need --cluster URL\n");
            return -1;
        }
        return 0;
    }
    if (!cfg->cluster.node.node[0]) {
        fprintf(stderr, "hushcall relay: --cluster needs --node NAME (unique in the cluster)\n");
        return -1;
    }
    if (!key_path) {
        fprintf(stderr, "hushcall relay: --cluster needs --cluster-key FILE: the secret every node shares, "
                        "e.g. head -c 32 /dev/urandom > key; chmod 600 key\n");
        return -1;
    }
    uint8_t buf[4096];
    ssize_t n = read_secret(key_path, "cluster key file", buf, sizeof buf);
    if (n < 0) return -1;
    if (n < 32) {
        fprintf(stderr, "hushcall relay: the cluster key file %s holds %zd bytes; it needs at least 32 random ones\n",
                key_path, n);
        return -1;
    }
    /* Whatever the file holds (raw bytes, hex, base64), the key is its hash. */
    static const char ctx[] = "hushcall-1-ClusterKey";
    crypto_generichash_state h;
    crypto_generichash_init(&h, NULL, 0, 32);
    crypto_generichash_update(&h, (const uint8_t *)ctx, sizeof ctx - 1);
    crypto_generichash_update(&h, buf, (size_t)n);
    crypto_generichash_final(&h, cfg->cluster.node.key, 32);
    sodium_memzero(buf, sizeof buf);
    int loop_only, tls_all;
    const char *bad = NULL;
    cluster_url_scan(cfg->cluster.bus.url, &loop_only, &tls_all, &bad);
    if (!loop_only && !tls_all && !cfg->cluster.bus.ca[0]) {
        fprintf(stderr, "hushcall relay: the NATS server is not on loopback: use tls://HOST:PORT and --cluster-ca "
                        "(the bus carries who is in which meeting)\n");
        return -1;
    }
    if (!loop_only && !auth_path) {
        fprintf(stderr, "hushcall relay: the NATS server is not on loopback: --cluster-auth FILE is needed\n");
        return -1;
    }
    if (auth_path) {
        char a[2048];
        n = read_secret(auth_path, "cluster credentials file", (uint8_t *)a, sizeof a);
        if (n < 0) return -1;
        a[n] = 0;
        if (strstr(a, "-----BEGIN NATS USER JWT-----")) {
            snprintf(cfg->cluster.bus.creds, sizeof cfg->cluster.bus.creds, "%s", auth_path);
        } else {
            char *nl = strpbrk(a, "\r\n");
            if (nl) *nl = 0;
            char *sep = strchr(a, ':');
            if (!sep || sep == a || !sep[1] || (size_t)(sep - a) >= sizeof cfg->cluster.bus.user ||
                strlen(sep + 1) >= sizeof cfg->cluster.bus.password) {
                fprintf(stderr, "hushcall relay: the cluster credentials file %s must hold one line USER:PASSWORD "
                                "(or be a NATS .creds file)\n", auth_path);
                sodium_memzero(a, sizeof a);
                return -1;
            }
            *sep = 0;
            memcpy(cfg->cluster.bus.user, a, strlen(a) + 1);
            memcpy(cfg->cluster.bus.password, sep + 1, strlen(sep + 1) + 1);
        }
        sodium_memzero(a, sizeof a);
    }
    if (cfg->core.max_frame > 512u * 1024) {
        fprintf(stderr, "hushcall relay: --max-frame above 524288 does not fit the cluster's bus messages\n");
        return -1;
    }
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

/* One relay server on its own loop until SIGINT or SIGTERM. A worker (ready_fd >= 0) writes one
 * byte to ready_fd once it listens; its parent says so for all of them. */
static int run_server(hc_relay_server_config *cfg, int ready_fd) {
    char err[512];
    relay_app a;
    memset(&a, 0, sizeof a);
    uv_loop_t loop;
    if (uv_loop_init(&loop) < 0) {
        fprintf(stderr, "hushcall relay: cannot create the event loop\n");
        return HC_EXIT_ERROR;
    }
    a.loop = &loop;
    if (hc_relay_server_start(&a.srv, &loop, cfg, err, sizeof err) < 0) {
        fprintf(stderr, "hushcall relay: %s\n", err);
        uv_run(&loop, UV_RUN_DEFAULT);     /* lets a half-started server free itself */
        uv_loop_close(&loop);
        return HC_EXIT_ERROR;
    }
    hc_signals_start(&a.sig, &loop, on_signal, &a);
    if (ready_fd >= 0) {
        char one = 1;
        if (write(ready_fd, &one, 1) != 1) { /* the parent is gone: it stops us */ }
        close(ready_fd);
    } else {
        char extra[200] = "";
        size_t n = 0;
        if (hc_relay_server_metrics_port(a.srv))
            n += (size_t)snprintf(extra + n, sizeof extra - n, ",\"metrics_port\":%u", hc_relay_server_metrics_port(a.srv));
        if (cfg->cluster.enabled)
            snprintf(extra + n, sizeof extra - n, ",\"node\":\"%s\",\"node_port\":%u", cfg->cluster.node.node,
                     hc_relay_server_node_port(a.srv));
        printf("{\"event\":\"listening\",\"addr\":\"%s\",\"port\":%u%s}\n", hc_relay_server_host(a.srv),
               hc_relay_server_port(a.srv), extra);
    }
    fflush(stdout);
    uv_run(&loop, UV_RUN_DEFAULT);
    hc_signals_end(&a.sig, &loop);
    int rc = uv_loop_close(&loop);
    if (cfg->cluster.enabled) hc_cluster_bus_global_close();
    fflush(stdout);
    if (rc < 0) {
        fprintf(stderr, "hushcall relay: handles left open at exit: %s\n", uv_strerror(rc));
        return HC_EXIT_ERROR;
    }
    return HC_EXIT_OK;
}

int hc_cmd_relay(int argc, char **argv) {
    hc_relay_server_config cfg;
    hc_relay_server_config_defaults(&cfg);
    cfg.port = HC_RELAY_DEFAULT_PORT;
    enum { O_LISTEN = 256, O_MEETINGS, O_MEMBERS, O_LOUDEST, O_LASTN, O_IMPAIR, O_ATTACK, O_STATS, O_FRAME, O_IDLE,
           O_PERADDR, O_SENDQ, O_JOINTO, O_UNJOINED, O_JOINRATE, O_LOG, O_LOGLEVEL, O_LOGNAMES, O_METRICS,
           O_CLUSTER, O_NODE, O_ADVERTISE, O_CKEY, O_CAUTH, O_CCA, O_CNAME, O_NODETO, O_WORKERS };
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
        {"cluster", required_argument, NULL, O_CLUSTER},
        {"node", required_argument, NULL, O_NODE},
        {"advertise", required_argument, NULL, O_ADVERTISE},
        {"cluster-key", required_argument, NULL, O_CKEY},
        {"cluster-auth", required_argument, NULL, O_CAUTH},
        {"cluster-ca", required_argument, NULL, O_CCA},
        {"cluster-name", required_argument, NULL, O_CNAME},
        {"node-timeout", required_argument, NULL, O_NODETO},
        {"workers", required_argument, NULL, O_WORKERS},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    optind = 1;
    opterr = 0;
    int o;
    unsigned long long u;
    uint64_t ms;
    char err[256];
    const char *log_path = NULL, *key_path = NULL, *auth_path = NULL;
    int workers_opt = 0;
    cfg.log.level = HC_RLOG_INFO;
    hc_cluster_config_defaults(&cfg.cluster.node);
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
        case O_CLUSTER:
            if (strlen(v) >= sizeof cfg.cluster.bus.url || cluster_url_check(v, &bad) < 0) {
                if (!bad) bad = "too long";
                break;
            }
            snprintf(cfg.cluster.bus.url, sizeof cfg.cluster.bus.url, "%s", v);
            cfg.cluster.enabled = 1;
            break;
        case O_NODE:
            if (!hc_cl_name_ok(v)) bad = "expected 1 to 32 of A-Z a-z 0-9 _ -";
            else snprintf(cfg.cluster.node.node, sizeof cfg.cluster.node.node, "%s", v);
            break;
        case O_CNAME:
            if (!hc_cl_name_ok(v)) bad = "expected 1 to 32 of A-Z a-z 0-9 _ -";
            else snprintf(cfg.cluster.node.cluster, sizeof cfg.cluster.node.cluster, "%s", v);
            break;
        case O_ADVERTISE: {
            struct sockaddr_in6 a6;
            struct sockaddr_in a4;
            if (parse_listen(v, cfg.cluster.advertise_host, sizeof cfg.cluster.advertise_host,
                             &cfg.cluster.advertise_port) < 0 ||
                (uv_ip4_addr(cfg.cluster.advertise_host, 0, &a4) && uv_ip6_addr(cfg.cluster.advertise_host, 0, &a6)))
                bad = "expected a numeric HOST:PORT, e.g. 10.0.0.5:7401";
            break;
        }
        case O_CKEY: key_path = v; break;
        case O_CAUTH: auth_path = v; break;
        case O_CCA:
            if (strlen(v) >= sizeof cfg.cluster.bus.ca) bad = "path too long";
            else snprintf(cfg.cluster.bus.ca, sizeof cfg.cluster.bus.ca, "%s", v);
            break;
        case O_NODETO:
            if (parse_seconds(v, &ms) < 0 || ms < 200 || ms > 600000) bad = "expected seconds, 0.2..600";
            else {
                cfg.cluster.node.dead_ms = (uint32_t)ms;
                cfg.cluster.node.hb_ms = (uint32_t)(ms / 6 > 50 ? ms / 6 : 50);   /* six chances to be heard */
            }
            break;
        case O_WORKERS:
            if (!strcmp(v, "auto")) workers_opt = hc_relay_workers_auto();
            else if (parse_uint(v, 1, HC_RELAY_WORKERS_MAX, &u) < 0) bad = "expected 1..64 or auto (one per core)";
            else workers_opt = (int)u;
            break;
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
    if (cluster_options(&cfg, key_path, auth_path) < 0) return HC_EXIT_USAGE;
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

    int workers = workers_opt ? workers_opt : cfg.cluster.enabled ? hc_relay_workers_auto() : 1;
    int rc;
    if (workers > 1) rc = hc_relay_workers_run(&cfg, workers, run_server);
    else rc = run_server(&cfg, -1);
    if (logf) fclose(logf);
    return rc;
}
