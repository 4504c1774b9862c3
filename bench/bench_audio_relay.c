/* bench_audio_relay: PCM-in -> PCM-out latency of a 1:1 call through client, relay and client on
 * loopback (performance.md G1). Nothing is asserted.
 *
 * How: a real relay process (`$HC_BIN relay --listen 127.0.0.1:0`; run.sh sets HC_BIN) and, in
 * this process, two complete sessions (app/session.h: meeting, SFrame E2EE, UDP transport, audio
 * engine) on one libuv loop. The sessions' audio engines use the custom-io hooks
 * (hc_audio_config.custom_io): the host's input is a function that plays a train of 10 ms chirps
 * (300 -> 3000 Hz, Hann window) every 100 ms and notes when each chirp's first sample entered
 * (the source's capture time, uv_hrtime = CLOCK_MONOTONIC); the member's output is a function
 * that records every frame with the time it left the engine (the playout tick). Both ends are
 * therefore on one clock, and nothing but the real path lies between them: encode, seal, UDP to
 * the relay process, forward, UDP back, open, jitter buffer, decode, mix. Each chirp is found in
 * the member's output by normalised cross-correlation; latency = (time its first sample left) -
 * (time its first sample entered). It includes the frame (packetisation), Opus look-ahead, the
 * network path and the jitter buffer's wait; no device buffers.
 *
 * A new stream is on probation for 5 s of audio (jitter.h: a frame plus the FEC frame of delay
 * until the stream showed it needs neither): chirps in that phase are reported apart, and the
 * figures against the targets are over the >= 200 chirps after it.
 * Targets (performance.md section 9, G1): p50 <= 35 ms (p99 <= 45 ms) with 20 ms frames,
 * p50 <= 20 ms with --low-delay. */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include <sodium.h>

#include "app/session.h"
#include "audio/engine_custom.h"
#include "crypto/identity.h"

#define CHIRP 480                  /* 10 ms */
#define SPACING 4800               /* every 100 ms */
#define MAXCHIRPS 1000
#define PROBATION_S 5.0            /* jitter.h HC_JB_PROBATION_US */
#define SETTLE_S 6.5               /* measure from this long after the member's first audio */
#define MEASURE 210                /* chirps measured after settling (>= 200 found) */
#define MAXOUT (48000 * 60)

static float chirp[CHIRP];

typedef struct {
    uv_loop_t loop;
    const char *name;
    int relay_port;
    hc_audio_config audio;
    hc_session *host, *member;
    hc_identity host_id, member_id;
    hc_audio_custom_io io_host, io_member;
    uv_timer_t poll;
    int phase;                     /* 0 host joining, 1 member joining, 2 measuring, 3 leaving */
    uint64_t t_start_ns;
    double t_heard;                /* the member first decrypted the host's audio */
    uint32_t host_index;
    /* host input */
    uint64_t in_pos;
    double t_in[MAXCHIRPS];
    /* member output */
    float *out;
    double *out_t;
    size_t out_len, out_frames;
    char member_stats[4096];
    int sessions_done;
} bench;

static void fill(void *ctx, float *pcm, size_t n, uint64_t t_first_ns) {
    bench *b = ctx;
    for (size_t i = 0; i < n; i++) {
        uint64_t s = b->in_pos + i;
        uint64_t k = s / SPACING, off = s % SPACING;
        float v = 0;
        if (k < MAXCHIRPS) {
            if (off < CHIRP) v = chirp[off];
            if (off == 0) b->t_in[k] = (double)t_first_ns * 1e-9 + (double)i / 48000.0;
        }
        pcm[i] = v;
    }
    b->in_pos += n;
}

static void consume(void *ctx, const float *pcm, size_t n, uint64_t t_play_ns) {
    bench *b = ctx;
    if (b->out_len + n > MAXOUT) return;
    memcpy(b->out + b->out_len, pcm, n * sizeof *pcm);
    b->out_t[b->out_frames++] = (double)t_play_ns * 1e-9;
    b->out_len += n;
}

static void member_events(void *ctx, const hc_event *ev) {
    bench *b = ctx;
    if (ev->type == HC_EV_STATS && ev->text) snprintf(b->member_stats, sizeof b->member_stats, "%s", ev->text);
}

static void session_done(void *arg, hc_session *s) {
    bench *b = arg;
    (void)s;
    if (++b->sessions_done == 2) {
        uv_timer_stop(&b->poll);
        uv_close((uv_handle_t *)&b->poll, NULL);
    }
}

static hc_session *make(bench *b, int create) {
    hc_session_config c;
    memset(&c, 0, sizeof c);
    snprintf(c.relay_host, sizeof c.relay_host, "127.0.0.1");
    c.relay_port = (uint16_t)b->relay_port;
    snprintf(c.home, sizeof c.home, "/nonexistent-hushcall-bench");
    hc_meeting_config_defaults(&c.meeting);
    snprintf(c.meeting.name, sizeof c.meeting.name, create ? "host" : "member");
    c.meeting.create = create;
    if (!create) snprintf(c.meeting.meeting_id, sizeof c.meeting.meeting_id, "%s", hc_session_meeting_id(b->host));
    c.audio = b->audio;
    c.audio.in_spec = "silence";          /* replaced by the custom input where there is one */
    c.audio.out_spec = "null";
    c.audio.custom_io = create ? &b->io_host : &b->io_member;
    c.identity = create ? &b->host_id : &b->member_id;
    if (!create) {
        c.observer = member_events;
        c.observer_ctx = b;
    }
    hc_session *s;
    char err[512];
    if (hc_session_new(&s, &b->loop, &c, NULL, err, sizeof err) < 0 || hc_session_start(s, err, sizeof err) < 0) {
        fprintf(stderr, "bench_audio_relay: %s\n", err);
        exit(1);
    }
    hc_session_on_done(s, session_done, b);
    return s;
}

static void leave_all(bench *b) {
    b->phase = 3;
    hc_command st = {.type = HC_CMD_STATS};
    if (b->member) hc_session_command(b->member, &st);
    hc_session_leave(b->host);
    if (b->member) hc_session_leave(b->member);
    else b->sessions_done++;
}

static void on_poll(uv_timer_t *t) {
    bench *b = t->data;
    double elapsed = (double)(uv_hrtime() - b->t_start_ns) * 1e-9;
    if (b->phase < 3 && elapsed > 90) {           /* never hang */
        fprintf(stderr, "bench_audio_relay: %s: gave up in phase %d\n", b->name, b->phase);
        leave_all(b);
        return;
    }
    if (b->phase == 0 && hc_meeting_send_epoch(hc_session_meeting(b->host)) > 0) {
        b->host_index = hc_meeting_self_index(hc_session_meeting(b->host));
        b->member = make(b, 0);
        b->phase = 1;
    } else if (b->phase == 1) {
        hc_member_info mi[8];
        size_t n = hc_meeting_members(hc_session_meeting(b->member), mi, 8);
        for (size_t i = 0; i < n; i++)
            if (mi[i].index == b->host_index && mi[i].rx.ok > 0) {
                b->t_heard = (double)uv_hrtime() * 1e-9;
                b->phase = 2;
            }
    } else if (b->phase == 2) {
        /* enough chirps after settling, and time for the last one to come out */
        double need = b->t_heard + SETTLE_S + (double)MEASURE * SPACING / 48000 + 0.3;
        if ((double)uv_hrtime() * 1e-9 >= need) leave_all(b);
    }
}

static int cmp_d(const void *x, const void *y) {
    double a = *(const double *)x, c = *(const double *)y;
    return (a > c) - (a < c);
}

/* Latency of chirp k in ms, or -1 if it is not in the output. */
static double find_chirp(const bench *b, int k, double e_chirp) {
    size_t fsz = b->audio.low_delay ? 480 : (size_t)(48 * b->audio.frame_ms);
    size_t f0 = 0;
    while (f0 < b->out_frames && b->out_t[f0] < b->t_in[k]) f0++;
    size_t start = f0 * fsz, end = start + (size_t)(0.095 * 48000);
    double best = 0;
    size_t bp = 0;
    for (size_t p = start; p + CHIRP <= b->out_len && p < end; p++) {
        double xy = 0, yy = 0;
        for (int i = 0; i < CHIRP; i++) xy += (double)chirp[i] * b->out[p + i], yy += (double)b->out[p + i] * b->out[p + i];
        double c = yy > 0 ? xy / sqrt(e_chirp * yy) : 0;
        if (c > best) best = c, bp = p;
    }
    if (best < 0.6) return -1;
    double t_out = b->out_t[bp / fsz] + (double)(bp % fsz) / 48000.0;
    return (t_out - b->t_in[k]) * 1000.0;
}

static const char *json_num(const char *js, const char *key, char *buf, size_t len) {
    const char *p = js ? strstr(js, key) : NULL;
    if (!p) return "?";
    p += strlen(key);
    size_t i = 0;
    while (*p && *p != ',' && *p != '}' && i + 1 < len) buf[i++] = *p++;
    buf[i] = 0;
    return buf;
}

static int run(const char *name, int relay_port, int frame_ms, int low_delay, double target_p50) {
    bench *b = calloc(1, sizeof *b);
    b->name = name;
    b->relay_port = relay_port;
    hc_audio_config_defaults(&b->audio);
    b->audio.frame_ms = frame_ms;
    b->audio.low_delay = low_delay;
    b->io_host = (hc_audio_custom_io){fill, b, NULL, NULL};
    b->io_member = (hc_audio_custom_io){NULL, NULL, consume, b};
    b->out = calloc(MAXOUT, sizeof *b->out);
    b->out_t = calloc(MAXOUT / 480 + 1, sizeof *b->out_t);
    hc_identity_generate(&b->host_id);
    hc_identity_generate(&b->member_id);
    uv_loop_init(&b->loop);
    b->t_start_ns = uv_hrtime();
    b->host = make(b, 1);
    uv_timer_init(&b->loop, &b->poll);
    b->poll.data = b;
    uv_timer_start(&b->poll, on_poll, 5, 5);
    uv_run(&b->loop, UV_RUN_DEFAULT);
    hc_session_free(b->host);
    if (b->member) hc_session_free(b->member);
    uv_run(&b->loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&b->loop)) fprintf(stderr, "bench_audio_relay: loop still has handles\n");

    double e_chirp = 0;
    for (int i = 0; i < CHIRP; i++) e_chirp += (double)chirp[i] * chirp[i];
    static double lat[MAXCHIRPS], prob[MAXCHIRPS];
    int nl = 0, np = 0, missing = 0;
    for (int k = 0; k < MAXCHIRPS && b->t_in[k] > 0; k++) {
        double t = b->t_in[k];
        if (t < b->t_heard + 0.3) continue;                /* before the member could hear it */
        int settled = t >= b->t_heard + SETTLE_S;
        if (!settled && t > b->t_heard + PROBATION_S - 0.5) continue;   /* the step down */
        if (settled && nl >= MEASURE) break;
        double l = find_chirp(b, k, e_chirp);
        if (l < 0) {
            missing++;
            continue;
        }
        if (settled) lat[nl++] = l;
        else prob[np++] = l;
    }
    qsort(lat, (size_t)nl, sizeof lat[0], cmp_d);
    qsort(prob, (size_t)np, sizeof prob[0], cmp_d);
    char b1[32], b2[32], b3[32], b4[32];
    if (nl)
        printf("%-16s PCM-in -> PCM-out through the relay, %d chirps: p50 %.1f ms, p99 %.1f ms (min %.1f, max %.1f)"
               "   target p50 <= %.0f ms%s\n",
               name, nl, lat[nl / 2], lat[(nl * 99) / 100], lat[0], lat[nl - 1], target_p50,
               frame_ms == 20 && !low_delay ? ", p99 <= 45 ms" : "");
    else
        printf("%-16s no chirp came through (%d missing)\n", name, missing);
    if (np)
        printf("%-16s   first %.0f s of the stream (probation: a frame + the FEC frame of delay), %d chirps: p50 %.1f ms\n",
               "", PROBATION_S, np, prob[np / 2]);
    printf("%-16s   member's view of the host at the end: delay_ms %s, jitter_ms %s, lost %s, concealed %s; "
           "%d chirps not found\n",
           "", json_num(b->member_stats, "\"delay_ms\":", b1, sizeof b1),
           json_num(b->member_stats, "\"jitter_ms\":", b2, sizeof b2), json_num(b->member_stats, "\"lost\":", b3, sizeof b3),
           json_num(b->member_stats, "\"concealed\":", b4, sizeof b4), missing);
    hc_identity_wipe(&b->host_id);
    hc_identity_wipe(&b->member_id);
    free(b->out);
    free(b->out_t);
    free(b);
    return nl > 0 ? 0 : 1;
}

/* The relay: a separate process, as in a real call. Returns its pid and port. */
static pid_t start_relay(const char *bin, int *port) {
    int fd[2];
    if (pipe(fd)) return -1;
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        dup2(fd[1], 1);
        close(fd[0]);
        close(fd[1]);
        execl(bin, bin, "relay", "--listen", "127.0.0.1:0", (char *)NULL);
        _exit(127);
    }
    close(fd[1]);
    FILE *f = fdopen(fd[0], "r");
    char line[512];
    *port = 0;
    if (f && fgets(line, sizeof line, f)) {
        const char *p = strstr(line, "\"port\":");
        if (p) *port = atoi(p + 7);
    }
    if (f) fclose(f);       /* the relay prints nothing more unless asked to */
    if (*port <= 0) {
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
        return -1;
    }
    return pid;
}

int main(void) {
    if (sodium_init() < 0) return 1;
    signal(SIGPIPE, SIG_IGN);
    for (int i = 0; i < CHIRP; i++) {      /* 300 -> 3000 Hz, Hann window */
        double t = (double)i / 48000, T = (double)CHIRP / 48000;
        double ph = 2 * M_PI * (300 * t + (3000 - 300) * t * t / (2 * T));
        chirp[i] = (float)(0.5 * sin(ph) * (0.5 - 0.5 * cos(2 * M_PI * i / (CHIRP - 1))));
    }
    const char *bin = getenv("HC_BIN");
    if (!bin || access(bin, X_OK)) {
        printf("bench_audio_relay: skipped: no hushcall binary to run the relay (set HC_BIN; bench/run.sh does)\n");
        return 0;
    }
    int port;
    pid_t relay = start_relay(bin, &port);
    if (relay < 0) {
        printf("bench_audio_relay: the relay did not start (%s relay)\n", bin);
        return 1;
    }
    printf("1:1 call through a relay process on loopback (two sessions in this process: chirp train in, recorded "
           "out, one clock; no device buffers)\n");
    int rc = run("VOIP 20 ms", port, 20, 0, 35);
    rc |= run("LOWDELAY 10 ms", port, 10, 1, 20);
    fflush(stdout);
    kill(relay, SIGTERM);
    waitpid(relay, NULL, 0);
    return rc;
}
