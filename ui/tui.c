/* The ncurses front end: paints the view model's grid, turns keys into UI actions and commands,
 * and owns the terminal while it runs. All decisions about what to show live in the pure view
 * model (viewmodel.c) and the key table (keys.c); this file is only terminal plumbing.
 *
 * Flicker: each frame writes into stdscr only the cells that differ from the last frame's and
 * ends with one wnoutrefresh + doupdate; curses sends only what changed. Nothing ever calls
 * clear() except Ctrl-L.
 *
 * Video (the view t toggles): a picture is painted when it arrives (the session's picture op),
 * on a timer of its own at most 15 times a second, and only its tile's changed cells are written:
 * the rest of the screen is not drawn again for it (hc_vm_video_step). Colours: 256-colour pairs
 * kept by ui/cpair.c (a pair is redefined only once no cell on the screen uses it; ncurses 6.4's
 * alloc_pair does not recycle as documented: tests/test_ui_pairs.c, where memory also stays
 * bounded over 10 000 frames). Never 24-bit colour through ncurses' direct-colour pairs, and no
 * raw 24-bit SGR either, even where COLORTERM=truecolor says the terminal could: curses would not
 * know what those cells show, so every curses repaint over or beside a tile (a dialog, a
 * clear-to-end-of-line, a resize, Ctrl-L) would have to be followed by a full redraw of the
 * picture outside curses, for about 2 dB of PSNR (ui/picture.c's figures). 16 colours, monochrome,
 * NO_COLOR and --ascii draw the picture with block and shade symbols or an ASCII ramp in the
 * terminal's own colours.
 *
 * Bytes written: curses writes to fd 1 with write(2) itself, so a counting FILE* would see nothing.
 * Once the screen is set up, fd 1 becomes a pipe that a thread copies to the terminal, counting
 * (the /stats panel shows the rate); the terminal's modes are only ever set while fd 1 is the
 * terminal again (start, stop, the crash path).
 *
 * Terminal restoration on every exit path:
 *   stop            endwin, stderr and fd flags restored, handlers put back
 *   exit()          an atexit hook does the same if the screen is still up
 *   fatal signals   an async-signal-safe handler writes the reset sequences captured at start,
 *                   restores the saved termios, stderr and fd flags, then re-raises the signal
 *                   under its previous handler (so ASan or a core dump still happen)
 *   SIGINT/TERM/HUP HC_CMD_LEAVE through uv_signal (a graceful leave); another one a second or
 *                   more later restores the terminal and takes the default action.
 *
 * Global state: term_guard below, and only because a signal handler and an atexit hook cannot
 * be given a context pointer. One TUI at a time owns the terminal. */
#include <curses.h>
#include <errno.h>
#include <fcntl.h>
#include <langinfo.h>
#include <locale.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "ui/cpair.h"
#include "ui/frontend.h"
#include "ui/grid.h"
#include "ui/keys.h"
#include "ui/text.h"
#include "ui/tiles.h"
#include "ui/uistate.h"
#include "ui/viewmodel.h"

static const int fatal_signals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGQUIT};
#define N_FATAL (sizeof fatal_signals / sizeof fatal_signals[0])

static struct {
    volatile sig_atomic_t active;     /* curses owns the terminal */
    char reset[256];                  /* sgr0, cnorm, rmkx, rmcup, captured at start */
    size_t reset_len;
    struct termios tio;               /* the terminal modes before curses */
    int have_tio;
    int saved_stderr;                 /* the real fd 2 while it points at the log file */
    int in_flags, out_flags;          /* fd 0/1 status flags before libuv made them non-blocking */
    struct sigaction old[N_FATAL];
    int handlers_installed;
    int atexit_registered;
    /* The output counter: while it runs, fd 1 is a pipe and tty_fd the terminal. */
    int tty_fd;
    int pipe_r;
    pthread_t copier;
    int copier_running;
    volatile sig_atomic_t copier_quit; /* the crash path: the thread writes nothing more */
    atomic_ullong out_bytes;          /* written to the terminal since the screen started */
} term_guard = {.saved_stderr = -1, .in_flags = -1, .out_flags = -1, .tty_fd = -1, .pipe_r = -1};

/* Async-signal-safe: write, tcsetattr, dup2, fcntl only. */
static void raw_restore(void) {
    if (!term_guard.active) return;
    term_guard.active = 0;
    if (term_guard.tty_fd >= 0) {                     /* fd 1 is the counting pipe: the terminal again */
        term_guard.copier_quit = 1;
        dup2(term_guard.tty_fd, STDOUT_FILENO);
    }
    if (term_guard.reset_len) {
        ssize_t r = write(STDOUT_FILENO, term_guard.reset, term_guard.reset_len);
        (void)r;
    }
    if (term_guard.have_tio) tcsetattr(STDIN_FILENO, TCSANOW, &term_guard.tio);
    if (term_guard.in_flags >= 0) fcntl(STDIN_FILENO, F_SETFL, term_guard.in_flags);
    if (term_guard.out_flags >= 0) fcntl(STDOUT_FILENO, F_SETFL, term_guard.out_flags);
    if (term_guard.saved_stderr >= 0) dup2(term_guard.saved_stderr, STDERR_FILENO);
}

static void fatal_handler(int sig) {
    raw_restore();
    for (size_t i = 0; i < N_FATAL; i++)
        if (fatal_signals[i] == sig) sigaction(sig, &term_guard.old[i], NULL);
    /* Blocked while we run: delivered to the previous handler as soon as we return (and a fault
     * simply happens again under it). */
    raise(sig);
}

static void install_fatal_handlers(void) {
    if (term_guard.handlers_installed) return;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = fatal_handler;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < N_FATAL; i++) sigaction(fatal_signals[i], &sa, &term_guard.old[i]);
    term_guard.handlers_installed = 1;
}

static void remove_fatal_handlers(void) {
    if (!term_guard.handlers_installed) return;
    for (size_t i = 0; i < N_FATAL; i++) {
        struct sigaction cur;
        /* Put the old one back only if ours is still the one installed. */
        if (sigaction(fatal_signals[i], NULL, &cur) == 0 && cur.sa_handler == fatal_handler)
            sigaction(fatal_signals[i], &term_guard.old[i], NULL);
    }
    term_guard.handlers_installed = 0;
}

static void append_cap(const char *cap) {
    char *s = tigetstr((char *)cap);
    if (!s || s == (char *)-1) return;
    size_t n = strlen(s);
    if (term_guard.reset_len + n >= sizeof term_guard.reset) return;
    memcpy(term_guard.reset + term_guard.reset_len, s, n);
    term_guard.reset_len += n;
}

/* ---- the output counter: curses writes into a pipe, a thread copies it to the terminal ---- */

/* Copies what curses writes into the pipe to the terminal, counting. The terminal may be slow
 * (SSH): the thread blocks, the pipe fills, and curses blocks as it would on the terminal. fd 1
 * shares its file description with fd 0, which libuv made non-blocking: wait for room then. */
static void *copier_main(void *arg) {
    (void)arg;
    char buf[65536];
    for (;;) {
        ssize_t n = read(term_guard.pipe_r, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;                            /* every write end closed: the screen stopped */
        for (ssize_t o = 0; o < n && !term_guard.copier_quit;) {
            ssize_t w = write(term_guard.tty_fd, buf + o, (size_t)(n - o));
            if (w > 0) {
                o += w;
                atomic_fetch_add(&term_guard.out_bytes, (unsigned long long)w);
            } else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                struct pollfd pf = {.fd = term_guard.tty_fd, .events = POLLOUT};
                poll(&pf, 1, 100);
            } else if (w < 0 && errno == EINTR) {
                continue;
            } else {
                break;                                /* the terminal is gone: drop it */
            }
        }
    }
    return NULL;
}

/* fd 1 becomes the pipe. On failure the screen runs uncounted (out.known stays 0). */
static int copier_start(void) {
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) return -1;
    fcntl(p[1], F_SETPIPE_SZ, 1 << 20);               /* a whole 200x60 repaint in one write */
    int tty = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
    if (tty < 0) goto fail;
    term_guard.tty_fd = tty;
    term_guard.pipe_r = p[0];
    term_guard.copier_quit = 0;
    if (pthread_create(&term_guard.copier, NULL, copier_main, NULL)) goto fail;
    term_guard.copier_running = 1;
    fflush(stdout);
    if (dup2(p[1], STDOUT_FILENO) < 0) {
        close(p[1]);
        p[1] = -1;
        term_guard.copier_quit = 1;
        pthread_join(term_guard.copier, NULL);         /* its read ends: no write end is left */
        term_guard.copier_running = 0;
        goto fail;
    }
    close(p[1]);
    return 0;
fail:
    if (p[1] >= 0) close(p[1]);
    close(p[0]);
    if (tty >= 0) close(tty);
    term_guard.tty_fd = term_guard.pipe_r = -1;
    return -1;
}

/* fd 1 is the terminal again; what is still in the pipe reaches it before anything else. */
static void copier_stop(void) {
    if (term_guard.tty_fd < 0) return;
    fflush(stdout);
    dup2(term_guard.tty_fd, STDOUT_FILENO);           /* closes the last write end: the thread ends */
    if (term_guard.copier_running) pthread_join(term_guard.copier, NULL);
    term_guard.copier_running = 0;
    close(term_guard.pipe_r);
    close(term_guard.tty_fd);
    term_guard.pipe_r = term_guard.tty_fd = -1;
}

/* The terminal's fd (for its size): fd 1, or the counter's copy while fd 1 is the pipe. */
static int tty_out(void) { return term_guard.tty_fd >= 0 ? term_guard.tty_fd : STDOUT_FILENO; }

/* Normal-context restoration (stop, exit, second Ctrl-C). */
static void restore_terminal(void) {
    if (!term_guard.active) return;
    copier_stop();
    endwin();
    term_guard.active = 0;
    fflush(stderr);
    if (term_guard.in_flags >= 0) fcntl(STDIN_FILENO, F_SETFL, term_guard.in_flags);
    if (term_guard.out_flags >= 0) fcntl(STDOUT_FILENO, F_SETFL, term_guard.out_flags);
    if (term_guard.saved_stderr >= 0) {
        dup2(term_guard.saved_stderr, STDERR_FILENO);
        close(term_guard.saved_stderr);
        term_guard.saved_stderr = -1;
    }
    remove_fatal_handlers();
}

static void at_exit(void) { restore_terminal(); }

/* ---- the front end ---- */

#define N_SIG 4
static const int uv_sigs[N_SIG] = {SIGINT, SIGTERM, SIGHUP, SIGWINCH};

/* At most this many pictures a second are painted (a sender at 30 fps is drawn at 15). */
#define VIDEO_MIN_GAP_MS 66

typedef struct {
    hc_frontend fe;
    hc_ui *ui;
    hc_grid grid;
    hc_grid shown;                  /* what stdscr holds: only cells that differ are written */
    int shown_valid;
    hc_layout lay;
    hc_cpairs *pairs;               /* picture cells' colour pairs (NULL: symbols, own colours) */
    attr_t cur_attr;                /* what wattr_set was last given, while painting */
    int cur_pair;
    uv_timer_t vtimer;              /* the video's own pace */
    int vtimer_open, vtimer_armed;
    uint64_t last_video_ms;
    uint64_t video_frames;          /* pictures painted */
    uint64_t rate_at, rate_bytes, rate_frames;
    uint64_t started_ms;
    double video_cpu_ms;            /* this thread's CPU time drawing and writing pictures */
    /* time and bytes in the video view (for the log line at the end) */
    int in_video;
    uint64_t video_since_ms, video_ms;
    unsigned long long video_since_bytes, video_bytes;
    char *log_path;
    int ascii, color, no_color;
    uint64_t clock_base;            /* loop time at the session's clock 0 (from its updates) */
    uint64_t stats_asked_ms;        /* loop time of the last refresh of an open /stats panel */
    uv_loop_t *loop;
    hc_frontend_callbacks cb, key_cb;
    SCREEN *scr;
    uv_poll_t poll;
    int poll_open;
    uv_signal_t sig[N_SIG];
    int sig_open[N_SIG];
    int leave_signals;
    uint64_t first_sig_ms;          /* loop time of the first leave signal */
    int started, stopped, destroyed, pending, depth;
} tui;

static void maybe_free(tui *t) {
    if (!t->destroyed || t->pending || t->depth) return;
    hc_grid_free(&t->grid);
    hc_grid_free(&t->shown);
    hc_cpairs_free(t->pairs);
    hc_ui_free(t->ui);
    free(t->log_path);
    free(t);
}

/* Style -> curses attributes. Colour pairs when the terminal has them, otherwise bold, reverse,
 * underline and dim carry the same meaning. */
enum { P_HEADER = 1, P_OK, P_BAD, P_WARN, P_ALERT, P_CODE, P_LEADER, P_MUTED, P_TALK, P_METER,
       P_CHAT, P_STATUS, P_KEY, P_BORDER, P_DIM, P_FIRST_FREE };

static void init_colours(tui *t) {
    /* NO_COLOR (no-color.org): any value but "" turns colour off; bold, reverse, underline and
     * dim still carry every meaning, as on a monochrome terminal. */
    const char *nc = getenv("NO_COLOR");
    if (nc && *nc) t->no_color = 1;
    t->color = has_colors() && !t->no_color;
    if (!t->color) return;
    start_color();
    int bg = -1;
    if (use_default_colors() != OK) bg = COLOR_BLACK;
    init_pair(P_HEADER, COLOR_WHITE, COLOR_BLUE);
    init_pair(P_OK, COLOR_BLACK, COLOR_GREEN);
    init_pair(P_BAD, COLOR_WHITE, COLOR_RED);
    init_pair(P_WARN, COLOR_BLACK, COLOR_YELLOW);
    init_pair(P_ALERT, COLOR_WHITE, COLOR_RED);
    init_pair(P_CODE, COLOR_CYAN, bg);
    init_pair(P_LEADER, COLOR_YELLOW, bg);
    init_pair(P_MUTED, COLOR_RED, bg);
    init_pair(P_TALK, COLOR_GREEN, bg);
    init_pair(P_METER, COLOR_CYAN, bg);
    init_pair(P_CHAT, COLOR_GREEN, bg);
    init_pair(P_STATUS, COLOR_BLACK, COLOR_WHITE);
    init_pair(P_KEY, COLOR_BLUE, COLOR_WHITE);
    init_pair(P_BORDER, COLOR_CYAN, bg);
    init_pair(P_DIM, COLOR_WHITE, bg);
}

static attr_t style_attr(const tui *t, uint8_t style, short *pair) {
    int sel = (style & HC_STY_SEL) != 0;
    attr_t a = A_NORMAL;
    short p = 0;
    switch (style & 0x7F) {
    case HC_STY_DIM: a = A_DIM; break;
    case HC_STY_BOLD: a = A_BOLD; break;
    case HC_STY_HEADER: a = A_BOLD | (t->color ? 0 : A_REVERSE); p = P_HEADER; break;
    case HC_STY_OK: a = A_BOLD | (t->color ? 0 : A_REVERSE); p = P_OK; break;
    case HC_STY_BAD: a = A_BOLD | A_REVERSE * !t->color | A_BLINK * !t->color; p = P_BAD; break;
    case HC_STY_WARN: a = t->color ? A_BOLD : A_REVERSE; p = P_WARN; break;
    case HC_STY_ALERT: a = A_BOLD | (t->color ? 0 : A_REVERSE); p = P_ALERT; break;
    case HC_STY_CODE: a = A_BOLD; p = P_CODE; break;
    case HC_STY_LEADER: a = A_BOLD; p = P_LEADER; break;
    case HC_STY_MUTED: a = A_BOLD | (t->color ? 0 : A_UNDERLINE); p = P_MUTED; break;
    case HC_STY_TALK: a = A_BOLD; p = P_TALK; break;
    case HC_STY_METER: p = P_METER; break;
    case HC_STY_CHAT: p = P_CHAT; break;
    case HC_STY_STATUS: a = t->color ? 0 : A_REVERSE; p = P_STATUS; break;
    case HC_STY_KEY: a = A_BOLD | (t->color ? 0 : A_REVERSE); p = P_KEY; break;
    case HC_STY_BORDER: a = A_BOLD; p = P_BORDER; break;
    case HC_STY_INPUT: a = A_BOLD; break;
    default: break;
    }
    if (sel) a ^= A_REVERSE;
    *pair = t->color ? p : 0;
    return a;
}

static int same_color(hc_color a, hc_color b) { return a.kind == b.kind && !memcmp(a.v, b.v, 3); }

static int same_cell(const hc_cell *a, const hc_cell *b) {
    return a->width == b->width && a->style == b->style && same_color(a->fg, b->fg) && same_color(a->bg, b->bg) &&
           !strcmp(a->ch, b->ch);
}

/* One cell into stdscr: a picture cell in its 256-colour pair, anything else in its style.
 * Returns 1 when the cell took a pair (hc_cpairs_release when it is overwritten). */
static int put_cell(tui *t, int x, int y, const hc_cell *c) {
    attr_t a;
    int pair, took = 0;
    if (t->pairs && (pair = hc_cpairs_take(t->pairs, c)) >= 0) {
        a = A_NORMAL;
        took = 1;
    } else {
        short p;
        a = style_attr(t, c->style, &p);
        pair = p;
    }
    if (a != t->cur_attr || pair != t->cur_pair) {
        wattr_set(stdscr, a, 0, &pair);               /* opts: the pair as an int (more than 32767) */
        t->cur_attr = a;
        t->cur_pair = pair;
    }
    /* Each cell at its own position: a terminal that disagrees with our width table about one
     * character cannot shift the rest of the row. */
    mvwaddstr(stdscr, y, x, c->ch);
    return took;
}

/* Writes the cells of t->grid that differ from what stdscr holds (all of them after a resize),
 * then the cursor, then one doupdate: curses sends what changed on the terminal. */
static void flush_grid(tui *t) {
    int h, w;
    getmaxyx(stdscr, h, w);
    if (!t->shown_valid || t->shown.w != t->grid.w || t->shown.h != t->grid.h) {
        if (hc_grid_init(&t->shown, t->grid.w, t->grid.h, t->grid.ascii)) return;
        t->shown_valid = 0;
        if (t->pairs) hc_cpairs_release_all(t->pairs);   /* every cell is written anew */
    }
    t->cur_attr = (attr_t)-1;
    t->cur_pair = -1;
    for (int y = 0; y < t->grid.h && y < h; y++)
        for (int x = 0; x < t->grid.w && x < w; x++) {
            const hc_cell *c = hc_grid_cat(&t->grid, x, y);
            hc_cell *was = hc_grid_at(&t->shown, x, y);
            if (t->shown_valid && same_cell(c, was)) continue;
            if (t->shown_valid && t->pairs) hc_cpairs_release(t->pairs, was);   /* its pair: one cell fewer */
            *was = *c;
            if (!c->width) continue;                  /* the right half of a wide glyph */
            /* A cell that got no pair (none left) holds none: it is written again next time. */
            if (!put_cell(t, x, y, c)) was->fg = was->bg = (hc_color){0};
        }
    t->shown_valid = 1;
    wattr_set(stdscr, A_NORMAL, 0, NULL);
    if (t->grid.cursor_x >= 0) {
        curs_set(1);
        wmove(stdscr, t->grid.cursor_y, t->grid.cursor_x);
    } else {
        curs_set(0);
    }
    wnoutrefresh(stdscr);
    doupdate();
}

/* Counts the time and the bytes spent in the video view. */
static void video_view_account(tui *t, int now_in) {
    if (now_in == t->in_video) return;
    uint64_t now = uv_now(t->loop);
    unsigned long long bytes = atomic_load(&term_guard.out_bytes);
    if (now_in) {
        t->video_since_ms = now;
        t->video_since_bytes = bytes;
    } else {
        t->video_ms += now - t->video_since_ms;
        t->video_bytes += bytes - t->video_since_bytes;
    }
    t->in_video = now_in;
}

static void paint(tui *t) {
    if (!t->started || t->stopped || !term_guard.active) return;
    video_view_account(t, t->ui->video_view);
    int h, w;
    getmaxyx(stdscr, h, w);
    if (t->grid.w != w || t->grid.h != h) t->shown_valid = 0;
    if (hc_grid_init(&t->grid, w, h, t->ascii)) return;
    hc_vm_render(&t->grid, t->ui, &t->lay);
    t->ui->part_rows = t->lay.list_rows;
    t->ui->log_rows = t->lay.log_rows;
    flush_grid(t);
}

static double thread_cpu_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* The video's pace: the newest pictures into their tiles, nothing else (hc_vm_video_step). */
static void on_video(uv_timer_t *h) {
    tui *t = h->data;
    t->vtimer_armed = 0;
    if (!t->started || t->stopped || !term_guard.active) return;
    t->last_video_ms = uv_now(t->loop);
    double c0 = thread_cpu_ms();
    if (hc_vm_video_step(&t->grid, t->ui, &t->lay) <= 0) return;
    t->video_frames++;
    flush_grid(t);
    t->video_cpu_ms += thread_cpu_ms() - c0;
}

static void arm_video(tui *t) {
    if (t->vtimer_armed || !t->vtimer_open || !t->ui->video_view || t->stopped) return;
    uint64_t now = uv_now(t->loop), due = t->last_video_ms + VIDEO_MIN_GAP_MS;
    uv_timer_start(&t->vtimer, on_video, due > now ? due - now : 0, 0);
    t->vtimer_armed = 1;
}

/* The screen's own figures for the /stats panel: bytes written and pictures painted a second. */
static void update_rates(tui *t) {
    uint64_t now = uv_now(t->loop);
    if (!t->rate_at) {
        t->rate_at = now;
        return;
    }
    if (now - t->rate_at < 1000) return;
    double s = (double)(now - t->rate_at) / 1000.0;
    unsigned long long bytes = atomic_load(&term_guard.out_bytes);
    t->ui->out.known = term_guard.tty_fd >= 0;
    t->ui->out.bytes = bytes;
    t->ui->out.bytes_per_s = (double)(bytes - t->rate_bytes) / s;
    t->ui->out.video_fps = (double)(t->video_frames - t->rate_frames) / s;
    t->rate_bytes = bytes;
    t->rate_frames = t->video_frames;
    t->rate_at = now;
}

/* SIGWINCH (through uv_signal, which replaced ncurses' own handler): tell curses the new size.
 * resizeterm queues a KEY_RESIZE for the next read; on_input treats that as "repaint" only, or
 * the two would feed each other forever. */
static void resize(tui *t) {
    struct winsize ws;
    if (!t->started || t->stopped || !term_guard.active) return;
    if (ioctl(tty_out(), TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0 &&
        is_term_resized(ws.ws_row, ws.ws_col))
        resizeterm(ws.ws_row, ws.ws_col);
    paint(t);
}

/* Commands from keys pass through here so that a session tearing us down inside its callback
 * (stop + destroy during LEAVE) cannot free memory still in use. */
static void key_command(void *ctx, const hc_command *cmd) {
    tui *t = ctx;
    if (t->cb.command) t->cb.command(t->cb.ctx, cmd);
}

static int map_key(int rc, wint_t wc) {
    if (rc == KEY_CODE_YES) {
        switch (wc) {
        case KEY_UP: return HC_KEY_UP;
        case KEY_DOWN: return HC_KEY_DOWN;
        case KEY_LEFT: return HC_KEY_LEFT;
        case KEY_RIGHT: return HC_KEY_RIGHT;
        case KEY_PPAGE: return HC_KEY_PGUP;
        case KEY_NPAGE: return HC_KEY_PGDN;
        case KEY_HOME: return HC_KEY_HOME;
        case KEY_END: return HC_KEY_END;
        case KEY_ENTER: return HC_KEY_ENTER;
        case KEY_BACKSPACE: return HC_KEY_BACKSPACE;
        case KEY_DC: return HC_KEY_DELETE;
        default: return HC_KEY_NONE;
        }
    }
    switch (wc) {
    case '\n': case '\r': return HC_KEY_ENTER;
    case 27: return HC_KEY_ESC;
    case 127: case 8: return HC_KEY_BACKSPACE;
    case 21: return HC_KEY_KILL_LINE;
    case 23: return HC_KEY_KILL_WORD;
    case '\t': return HC_KEY_TAB;
    default: break;
    }
    if (wc < 0x20) return HC_KEY_NONE;
    return (int)wc;
}

static void on_input(uv_poll_t *p, int status, int events) {
    tui *t = p->data;
    (void)events;
    if (status < 0 || t->stopped) return;
    t->depth++;
    wint_t wc;
    int rc, n = 0;
    /* Drain what is there (a paste arrives as many keys); bounded so a flood cannot starve the
     * loop. */
    /* What the screen says of its own (our chat, a refusal) is stamped with the time now. */
    hc_ui_clock(t->ui, uv_now(t->loop) - t->clock_base);
    while (!t->stopped && n++ < 4096 && (rc = wget_wch(stdscr, &wc)) != ERR) {
        if (rc == KEY_CODE_YES && wc == KEY_RESIZE) continue;           /* repainted below */
        if (rc == OK && wc == 12) { clearok(curscr, TRUE); continue; }   /* Ctrl-L */
        int key = map_key(rc, wc);
        if (key != HC_KEY_NONE) hc_ui_key(t->ui, key, &t->key_cb);
    }
    if (!t->stopped) paint(t);
    t->depth--;
    maybe_free(t);
}

static void on_signal(uv_signal_t *s, int signum) {
    tui *t = s->data;
    if (signum == SIGWINCH) { resize(t); return; }
    if (t->leave_signals++) {
        if (!hc_fe_signal_forces_quit(t->first_sig_ms, uv_now(t->loop))) return;   /* the same request */
        restore_terminal();
        signal(signum, SIG_DFL);
        raise(signum);
        return;
    }
    t->first_sig_ms = uv_now(t->loop);
    t->depth++;
    hc_ui_note(t->ui, HC_LOG_INFO, "leaving (signal %d); if that hangs, send it again to quit at once", signum);
    hc_command cmd = {.type = HC_CMD_LEAVE};
    t->ui->quit_requested = 1;
    key_command(t, &cmd);
    if (!t->stopped) paint(t);
    t->depth--;
    maybe_free(t);
}

static void on_close(uv_handle_t *h) {
    tui *t = h->data;
    t->pending--;
    maybe_free(t);
}

static int redirect_stderr(const char *path) {
    int fd = open(path ? path : "/dev/null", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0 && path) fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    fflush(stderr);
    int saved = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
    if (saved < 0 || dup2(fd, STDERR_FILENO) < 0) {
        if (saved >= 0) close(saved);
        close(fd);
        return -1;
    }
    close(fd);
    term_guard.saved_stderr = saved;
    return 0;
}

static int tui_start(hc_frontend *f, uv_loop_t *loop, const hc_frontend_callbacks *cb, char *err, size_t errlen) {
    tui *t = f->impl;
    if (t->started) return 0;
    if (term_guard.active) { snprintf(err, errlen, "another screen owns the terminal"); return -1; }
    if (hc_tui_check_terminal(NULL, err, errlen) < 0) return -1;
    t->loop = loop;
    t->clock_base = uv_now(loop);
    if (cb) t->cb = *cb;
    t->key_cb.ctx = t;
    t->key_cb.command = key_command;

    /* UTF-8 only when the locale says so: ncursesw decodes and encodes with the C library. */
    const char *ctype = setlocale(LC_CTYPE, NULL);
    if (!ctype || !strcmp(ctype, "C") || !strcmp(ctype, "POSIX")) setlocale(LC_CTYPE, "");
    if (strcmp(nl_langinfo(CODESET), "UTF-8")) t->ascii = 1;
    t->ui->ascii = t->ascii;

    term_guard.have_tio = tcgetattr(STDIN_FILENO, &term_guard.tio) == 0;
    term_guard.in_flags = fcntl(STDIN_FILENO, F_GETFL);
    term_guard.out_flags = fcntl(STDOUT_FILENO, F_GETFL);
    if (redirect_stderr(t->log_path)) {
        snprintf(err, errlen, "cannot redirect stderr to %s: %s", t->log_path ? t->log_path : "/dev/null", strerror(errno));
        return -1;
    }
    t->scr = newterm(NULL, stdout, stdin);
    if (!t->scr) {
        dup2(term_guard.saved_stderr, STDERR_FILENO);
        close(term_guard.saved_stderr);
        term_guard.saved_stderr = -1;
        const char *term = getenv("TERM");
        snprintf(err, errlen, "cannot start the screen for TERM=%s (try --headless)", term ? term : "(unset)");
        return -1;
    }
    set_term(t->scr);
    term_guard.reset_len = 0;
    append_cap("sgr0");
    append_cap("cnorm");
    append_cap("rmkx");
    append_cap("rmcup");
    term_guard.active = 1;
    install_fatal_handlers();
    if (!term_guard.atexit_registered && atexit(at_exit) == 0) term_guard.atexit_registered = 1;

    cbreak();                       /* Ctrl-C still raises SIGINT: we turn it into LEAVE */
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    nodelay(stdscr, TRUE);
    set_escdelay(25);
    curs_set(0);
    init_colours(t);
    /* Pictures: 256 colours where the terminal has them (and colour is wanted); else block and
     * shade symbols in the terminal's own colours, or an ASCII ramp (ui/picture.h). */
    int pic256 = t->color && COLORS >= 256 && !t->ascii;
    /* The screen's styles keep pairs 1..P_DIM; pictures get the rest (a terminal with few pairs
     * and 256 colours draws symbols). */
    if (pic256 && COLOR_PAIRS > P_FIRST_FREE + 256) t->pairs = hc_cpairs_new(P_FIRST_FREE, COLOR_PAIRS);
    hc_vpics_set_mode(t->ui->pics, t->pairs ? HC_PIC_256 : t->ascii ? HC_PIC_ASCII : HC_PIC_MONO);
    /* For the benchmark (bench/video_screen.sh): libchafa instead of half-blocks. */
    const char *rend = getenv("HUSHCALL_RENDERER");
    if (rend && !strcmp(rend, "chafa")) hc_vpics_set_renderer(t->ui->pics, HC_PIC_CHAFA);
    t->started = 1;
    t->started_ms = uv_now(loop);
    atomic_store(&term_guard.out_bytes, 0);
    copier_start();                  /* from here on fd 1 is the counting pipe (when it could be made) */

    /* Signals after newterm: ncurses installs its own SIGINT/SIGTERM/SIGWINCH handlers, which
     * would end the process or swallow resizes; libuv's replace them. */
    for (int i = 0; i < N_SIG; i++) {
        struct sigaction old;
        if (uv_sigs[i] != SIGWINCH && sigaction(uv_sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN) continue;
        if (uv_signal_init(loop, &t->sig[i])) continue;
        t->sig[i].data = t;
        t->sig_open[i] = 1;
        uv_signal_start(&t->sig[i], on_signal, uv_sigs[i]);
        uv_unref((uv_handle_t *)&t->sig[i]);
    }
    if (uv_timer_init(loop, &t->vtimer) == 0) {
        t->vtimer.data = t;
        t->vtimer_open = 1;
    }
    if (uv_poll_init(loop, &t->poll, STDIN_FILENO) == 0) {
        t->poll.data = t;
        t->poll_open = 1;
        uv_poll_start(&t->poll, UV_READABLE, on_input);
    }
    if (t->log_path) hc_ui_note(t->ui, HC_LOG_INFO, "messages from libraries go to %s", t->log_path);
    paint(t);
    return 0;
}

static void tui_on_event(hc_frontend *f, const hc_event *ev) {
    tui *t = f->impl;
    hc_ui_on_event(t->ui, ev);
    paint(t);
}

static void tui_update(hc_frontend *f, const hc_view_state *st) {
    tui *t = f->impl;
    if (t->loop) t->clock_base = uv_now(t->loop) - st->t_ms;
    hc_ui_set_state(t->ui, st);
    if (t->loop) update_rates(t);
    /* An open /stats panel follows the call: new figures every second. */
    if (t->ui->dialog == HC_DLG_STATS && t->loop && uv_now(t->loop) - t->stats_asked_ms >= 1000) {
        t->stats_asked_ms = uv_now(t->loop);
        hc_command cmd = {.type = HC_CMD_STATS};
        t->depth++;
        key_command(t, &cmd);
        t->depth--;
        if (t->stopped) { maybe_free(t); return; }
    }
    paint(t);
}

static void tui_picture(hc_frontend *f, uint32_t index, const hc_video_frame *pic, int live) {
    tui *t = f->impl;
    (void)live;                     /* frozen or not: update() says, for the label */
    hc_ui_picture(t->ui, index, pic);
    arm_video(t);
}

static void tui_stop(hc_frontend *f) {
    tui *t = f->impl;
    if (t->stopped) return;
    t->stopped = 1;
    if (!t->started) return;
    /* Why the meeting ended, when it was not the user's doing: into the log while fd 2 still
     * points there, and on the terminal once the screen is gone (below). */
    char bye[1200];
    size_t bye_len = hc_ui_farewell(t->ui, bye, sizeof bye);
    if (bye_len && term_guard.saved_stderr >= 0) {
        fprintf(stderr, "%s\n", bye);
        fflush(stderr);
    }
    /* What the screen cost, for the log (and bench/video_screen.sh). */
    if (term_guard.saved_stderr >= 0 && term_guard.tty_fd >= 0) {
        video_view_account(t, 0);
        double s = (double)(uv_now(t->loop) - t->started_ms) / 1000.0, vs = (double)t->video_ms / 1000.0;
        unsigned long long bytes = atomic_load(&term_guard.out_bytes);
        fprintf(stderr,
                "screen: %llu bytes written to the terminal in %.1f s (%.1f KB/s); in the video view %llu bytes in "
                "%.1f s (%.1f KB/s), %llu pictures painted, %.3f ms CPU each (drawn and written)\n",
                bytes, s, s > 0 ? (double)bytes / s / 1000.0 : 0.0, t->video_bytes, vs,
                vs > 0 ? (double)t->video_bytes / vs / 1000.0 : 0.0, (unsigned long long)t->video_frames,
                t->video_frames ? t->video_cpu_ms / (double)t->video_frames : 0.0);
        fflush(stderr);
    }
    if (t->vtimer_open) {
        uv_timer_stop(&t->vtimer);
        t->vtimer_open = 0;
        t->pending++;
        uv_close((uv_handle_t *)&t->vtimer, on_close);
    }
    if (t->poll_open) {
        uv_poll_stop(&t->poll);
        t->poll_open = 0;
        t->pending++;
        uv_close((uv_handle_t *)&t->poll, on_close);
    }
    for (int i = 0; i < N_SIG; i++)
        if (t->sig_open[i]) {
            t->sig_open[i] = 0;
            t->pending++;
            uv_close((uv_handle_t *)&t->sig[i], on_close);
        }
    restore_terminal();
    if (t->scr) {
        delscreen(t->scr);
        t->scr = NULL;
    }
    if (bye_len) {
        fprintf(stderr, "%s\n", bye);
        fflush(stderr);
    }
}

static void tui_destroy(hc_frontend *f) {
    tui *t = f->impl;
    tui_stop(f);
    t->destroyed = 1;
    maybe_free(t);
}

static const hc_frontend_ops tui_ops = {
    .name = "tui",
    .start = tui_start,
    .on_event = tui_on_event,
    .update = tui_update,
    .picture = tui_picture,
    .stop = tui_stop,
    .destroy = tui_destroy,
};

hc_frontend *hc_tui_new(int ascii, int no_color, const char *stderr_log) {
    tui *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    t->ascii = ascii;
    t->no_color = no_color;
    t->ui = hc_ui_new(ascii);
    t->log_path = stderr_log ? strdup(stderr_log) : NULL;
    if (!t->ui || (stderr_log && !t->log_path)) {
        hc_ui_free(t->ui);
        free(t->log_path);
        free(t);
        return NULL;
    }
    t->fe.ops = &tui_ops;
    t->fe.impl = t;
    return &t->fe;
}
