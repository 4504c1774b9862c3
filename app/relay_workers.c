/* `hushcall relay --workers N`; see app/relay_workers.h. The parent does no relaying: it holds the
 * shared sockets (so a worker that dies is replaced on the very same ones, and connections that
 * arrive meanwhile wait in its queue), runs the private NATS server when there is no --cluster,
 * and waits for signals and dead children with sigwaitinfo. */
#include "app/relay_workers.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "app/commands.h"

#define READY_WAIT_MS 20000      /* every worker must listen within this */
#define RESTARTS_MAX 5           /* a worker that dies this often ... */
#define RESTART_WINDOW_S 10      /* ... within this is not started again: the relay stops */
#define STOP_WAIT_S 10           /* after SIGTERM, workers get this long before SIGKILL */

typedef struct {
    pid_t pid;
    time_t restarts[RESTARTS_MAX];
    int n_restarts;
} worker;

typedef struct {
    hc_relay_server_config base;
    int n;
    int tcp[HC_RELAY_WORKERS_MAX], udp[HC_RELAY_WORKERS_MAX];
    worker w[HC_RELAY_WORKERS_MAX];
    char names[HC_RELAY_WORKERS_MAX][HC_CL_NAME_MAX + 1];
    int (*run)(hc_relay_server_config *cfg, int ready_fd);
    /* the private NATS server (no --cluster) */
    pid_t nats;
    char dir[64], nats_bin[256];
    uint16_t nats_port;
    sigset_t sigs;
} workers;

int hc_relay_workers_auto(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > HC_RELAY_WORKERS_MAX ? HC_RELAY_WORKERS_MAX : (int)n;
}

/* ---- the private NATS server ---- */

static const char *find_nats(char *out, size_t cap) {
    const char *path = getenv("PATH");
    char buf[4096];
    snprintf(buf, sizeof buf, "%s:/usr/sbin:/usr/local/sbin:/usr/bin:/usr/local/bin", path ? path : "");
    char *save = NULL;
    for (char *d = strtok_r(buf, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
        snprintf(out, cap, "%s/nats-server", d);
        if (access(out, X_OK) == 0) return out;
    }
    return NULL;
}

static uint16_t free_port(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof sa;
    uint16_t port = 0;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 && getsockname(fd, (struct sockaddr *)&sa, &sl) == 0)
        port = ntohs(sa.sin_port);
    if (fd >= 0) close(fd);
    return port;
}

static int port_open(uint16_t port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int ok = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
    if (fd >= 0) close(fd);
    return ok;
}

static int nats_spawn(workers *W) {
    char port_s[8], js[96], conf[96], logp[96];
    snprintf(port_s, sizeof port_s, "%u", W->nats_port);
    snprintf(js, sizeof js, "%s/js", W->dir);
    snprintf(conf, sizeof conf, "%s/nats.conf", W->dir);
    snprintf(logp, sizeof logp, "%s/nats.log", W->dir);
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        sigprocmask(SIG_UNBLOCK, &W->sigs, NULL);
        int fd = open(logp, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        int nul = open("/dev/null", O_RDONLY);
        if (nul >= 0) dup2(nul, 0);
        execl(W->nats_bin, "nats-server", "-a", "127.0.0.1", "-p", port_s, "-js", "-sd", js, "-c", conf, (char *)NULL);
        _exit(127);
    }
    W->nats = pid;
    for (int i = 0; i < 200; i++) {           /* up to 10 s */
        if (port_open(W->nats_port)) return 0;
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) { W->nats = 0; return -1; }
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
    return -1;
}

static void rm_dir(const char *dir) {
    char p[160];
    static const char *const files[] = {"nats.conf", "nats.log"};
    for (size_t i = 0; i < 2; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, files[i]);
        unlink(p);
    }
    /* the JetStream store: nats-server's own layout, removed with rm -r */
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) { /* left behind in /tmp: nothing secret (leases) */ }
}

static int private_nats(workers *W) {
    hc_relay_server_config *c = &W->base;
    if (!find_nats(W->nats_bin, sizeof W->nats_bin)) {
        fprintf(stderr, "hushcall relay: --workers without --cluster runs a private NATS server, and nats-server is "
                        "not installed (apt install nats-server), or give --cluster URL\n");
        return -1;
    }
    snprintf(W->dir, sizeof W->dir, "/tmp/hushcall-relay-XXXXXX");
    if (!mkdtemp(W->dir)) {
        fprintf(stderr, "hushcall relay: cannot make a directory for the private NATS server: %s\n", strerror(errno));
        return -1;
    }
    /* a password nobody else knows: other local users cannot join this bus */
    uint8_t r[16];
    randombytes_buf(r, sizeof r);
    char pw[33];
    sodium_bin2hex(pw, sizeof pw, r, sizeof r);
    char conf[96];
    snprintf(conf, sizeof conf, "%s/nats.conf", W->dir);
    int fd = open(conf, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        fprintf(stderr, "hushcall relay: cannot write %s: %s\n", conf, strerror(errno));
        return -1;
    }
    fprintf(f, "authorization { users = [ {user: hushcall, password: \"%s\"} ] }\n", pw);
    fclose(f);
    for (int tries = 0; tries < 5; tries++) {
        W->nats_port = free_port();
        if (W->nats_port && nats_spawn(W) == 0) break;
        W->nats_port = 0;
    }
    if (!W->nats_port) {
        fprintf(stderr, "hushcall relay: the private NATS server did not start (see %s/nats.log)\n", W->dir);
        return -1;
    }
    c->cluster.enabled = 1;
    snprintf(c->cluster.bus.url, sizeof c->cluster.bus.url, "nats://127.0.0.1:%u", W->nats_port);
    snprintf(c->cluster.bus.user, sizeof c->cluster.bus.user, "hushcall");
    snprintf(c->cluster.bus.password, sizeof c->cluster.bus.password, "%s", pw);
    randombytes_buf(c->cluster.node.key, sizeof c->cluster.node.key);
    sodium_memzero(pw, sizeof pw);
    return 0;
}

/* ---- workers ---- */

static int start_worker(workers *W, int i) {
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) return -1;
    pid_t pid = fork();
    if (pid < 0) {
        close(p[0]);
        close(p[1]);
        return -1;
    }
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM);     /* never outlive the parent */
        close(p[0]);
        for (int k = 0; k < W->n; k++)
            if (k != i) {
                close(W->tcp[k]);
                close(W->udp[k]);
            }
        hc_relay_server_config c = W->base;
        c.have_fds = 1;
        c.tcp_fd = W->tcp[i];
        c.udp_fd = W->udp[i];
        snprintf(c.cluster.node.node, sizeof c.cluster.node.node, "%s", W->names[i]);
        if (c.cluster.advertise_port) c.cluster.advertise_port = (uint16_t)(c.cluster.advertise_port + i);
        sigprocmask(SIG_UNBLOCK, &W->sigs, NULL);
        _exit(W->run(&c, p[1]));
    }
    close(p[1]);
    W->w[i].pid = pid;
    return p[0];
}

/* Waits for one byte on each pipe (a worker listening), up to READY_WAIT_MS. */
static int wait_ready(int *fds, int n) {
    int left = n;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (left) {
        struct pollfd pf[HC_RELAY_WORKERS_MAX];
        int m = 0;
        for (int i = 0; i < n; i++)
            if (fds[i] >= 0) pf[m++] = (struct pollfd){fds[i], POLLIN, 0};
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        long spent = (now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000;
        if (spent >= READY_WAIT_MS || poll(pf, (nfds_t)m, (int)(READY_WAIT_MS - spent)) <= 0) return -1;
        for (int i = 0; i < n; i++) {
            if (fds[i] < 0) continue;
            for (int k = 0; k < m; k++) {
                if (pf[k].fd != fds[i] || !pf[k].revents) continue;
                char b;
                int ok = read(fds[i], &b, 1) == 1;
                close(fds[i]);
                fds[i] = -1;
                left--;
                if (!ok) return -1;            /* it died before listening */
            }
        }
    }
    return 0;
}

static void stop_all(workers *W) {
    for (int i = 0; i < W->n; i++)
        if (W->w[i].pid > 0) kill(W->w[i].pid, SIGTERM);
    time_t end = time(NULL) + STOP_WAIT_S;
    for (;;) {
        int left = 0;
        for (int i = 0; i < W->n; i++) {
            if (W->w[i].pid <= 0) continue;
            if (waitpid(W->w[i].pid, NULL, WNOHANG) == W->w[i].pid) W->w[i].pid = 0;
            else left++;
        }
        if (!left) break;
        if (time(NULL) >= end) {
            for (int i = 0; i < W->n; i++)
                if (W->w[i].pid > 0) kill(W->w[i].pid, SIGKILL);
        }
        struct timespec ts = {0, 20 * 1000000L};
        nanosleep(&ts, NULL);
    }
    if (W->nats > 0) {
        kill(W->nats, SIGTERM);
        waitpid(W->nats, NULL, 0);
        W->nats = 0;
    }
    if (W->dir[0]) rm_dir(W->dir);
}

/* A child died: a worker is started again on its sockets (unless it keeps dying), the private
 * NATS server too. Returns -1 when the relay must stop. */
static int reap(workers *W) {
    int st;
    pid_t pid;
    while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
        if (pid == W->nats) {
            fprintf(stderr, "hushcall relay: the private NATS server exited; starting it again\n");
            W->nats = 0;
            if (nats_spawn(W) < 0) return -1;
            continue;
        }
        for (int i = 0; i < W->n; i++) {
            if (W->w[i].pid != pid) continue;
            W->w[i].pid = 0;
            time_t now = time(NULL);
            int recent = 0;
            for (int k = 0; k < W->w[i].n_restarts; k++) recent += now - W->w[i].restarts[k] < RESTART_WINDOW_S;
            fprintf(stderr, "hushcall relay: worker %s exited (%s %d); %s\n", W->names[i],
                    WIFSIGNALED(st) ? "signal" : "status", WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st),
                    recent >= RESTARTS_MAX ? "it keeps failing: stopping" : "starting it again");
            if (recent >= RESTARTS_MAX) return -1;
            W->w[i].restarts[W->w[i].n_restarts++ % RESTARTS_MAX] = now;
            if (W->w[i].n_restarts > RESTARTS_MAX) W->w[i].n_restarts = RESTARTS_MAX;
            int fd = start_worker(W, i);
            if (fd >= 0) close(fd);     /* it says nothing more when it listens again */
        }
    }
    return 0;
}

int hc_relay_workers_run(hc_relay_server_config *cfg, int n, int (*run)(hc_relay_server_config *cfg, int ready_fd)) {
    static workers W;
    memset(&W, 0, sizeof W);
    W.base = *cfg;
    W.n = n;
    W.run = run;
    sigemptyset(&W.sigs);
    sigaddset(&W.sigs, SIGINT);
    sigaddset(&W.sigs, SIGTERM);
    sigaddset(&W.sigs, SIGCHLD);
    sigprocmask(SIG_BLOCK, &W.sigs, NULL);
    char err[300];
    uint16_t port;
    if (hc_relay_bind_shared(cfg->host, cfg->port, n, W.tcp, W.udp, &port, err, sizeof err) < 0) {
        fprintf(stderr, "hushcall relay: %s\n", err);
        return HC_EXIT_ERROR;
    }
    if (!cfg->cluster.enabled && private_nats(&W) < 0) {
        stop_all(&W);
        return HC_EXIT_ERROR;
    }
    const char *base = W.base.cluster.node.node[0] ? W.base.cluster.node.node : "w";
    for (int i = 0; i < n; i++) {
        if (strlen(base) > HC_CL_NAME_MAX - 4) {
            fprintf(stderr, "hushcall relay: --node is too long to number workers (at most %d characters)\n", HC_CL_NAME_MAX - 4);
            stop_all(&W);
            return HC_EXIT_USAGE;
        }
        char name[HC_CL_NAME_MAX + 16];
        snprintf(name, sizeof name, "%.28s%s%d", base, W.base.cluster.node.node[0] ? "-w" : "", i % 100);
        memcpy(W.names[i], name, HC_CL_NAME_MAX);
        W.names[i][HC_CL_NAME_MAX] = 0;
    }
    int ready[HC_RELAY_WORKERS_MAX];
    for (int i = 0; i < n; i++) ready[i] = start_worker(&W, i);
    for (int i = 0; i < n; i++)
        if (ready[i] < 0) {
            fprintf(stderr, "hushcall relay: cannot start worker %d: %s\n", i, strerror(errno));
            stop_all(&W);
            return HC_EXIT_ERROR;
        }
    if (wait_ready(ready, n) < 0) {
        fprintf(stderr, "hushcall relay: not every worker started\n");
        stop_all(&W);
        return HC_EXIT_ERROR;
    }
    printf("{\"event\":\"listening\",\"addr\":\"%s\",\"port\":%u,\"workers\":%d}\n", cfg->host, port, n);
    fflush(stdout);
    int rc = HC_EXIT_OK;
    for (;;) {
        siginfo_t si;
        int sig = sigwaitinfo(&W.sigs, &si);
        if (sig < 0) continue;
        if (sig == SIGCHLD) {
            if (reap(&W) < 0) {
                rc = HC_EXIT_ERROR;
                break;
            }
            continue;
        }
        fprintf(stderr, "hushcall relay: %s received, stopping %d workers\n", sig == SIGINT ? "SIGINT" : "SIGTERM", n);
        break;
    }
    stop_all(&W);
    for (int i = 0; i < n; i++) {
        close(W.tcp[i]);
        close(W.udp[i]);
    }
    return rc;
}
