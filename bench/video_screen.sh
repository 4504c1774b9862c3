#!/usr/bin/env bash
# video_screen: what the video view costs on a real terminal (issue 14, point 8). Nothing is
# asserted: figures for people.
#
# A three-party video call: a relay on loopback, two headless bots that send the built-in pattern
# (160x90, 15 fps) and a tone, and a third participant on the full screen in a tmux pane of
# 80x24, 120x40 and 200x60 cells, in the video view (t) with pictures drawn by half-blocks (the
# default) and by libchafa (HUSHCALL_RENDERER=chafa), plus the list view at 120x40 as the
# baseline. Per run, over HC_VSBENCH_SECS (default 10 s) after 2 s of settling:
#   - CPU per painted picture: this thread's CPU time to draw the new pictures into their tiles
#     and write the changed cells through curses (the screen's own figure, from its log line);
#   - bytes written to the terminal a second in the video view (the screen counts what reaches the
#     terminal: tui.c), and pictures painted a second;
#   - the screen client's CPU, % of one core: utime + stime of its process over the window
#     (/proc/PID/stat: all threads: audio, video decode, the screen).
# And the same call in `hushcall demo` (the relay, both bots and the screen in one process).
set -u
HC_ROOT=${HC_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
HC_BIN=${HC_BIN:-$HC_ROOT/build/hushcall}
HC_BUILD=${HC_BUILD:-$HC_ROOT/build}
[ -x "$HC_BIN" ] || { echo "video_screen: skipped: $HC_BIN not built"; exit 0; }
command -v tmux >/dev/null || { echo "video_screen: skipped: no tmux"; exit 0; }
export HC_BIN HC_BUILD HC_ROOT
PYTHONPATH=$HC_ROOT/tests/e2e exec timeout 600 python3 - <<'PY'
import os, re, subprocess, tempfile, time
from hclib import Harness

SECS = float(os.environ.get("HC_VSBENCH_SECS", "10"))
SETTLE = 2.0
TICK = os.sysconf("SC_CLK_TCK")
BIN = os.environ["HC_BIN"]
SOCK = "hc-bench-vscreen-%d" % os.getpid()
LINE = re.compile(r"screen: (\d+) bytes written to the terminal in ([\d.]+) s \(([\d.]+) KB/s\); in the video view "
                  r"(\d+) bytes in ([\d.]+) s \(([\d.]+) KB/s\), (\d+) pictures painted, ([\d.]+) ms CPU each")


def tm(*a):
    return subprocess.run(["tmux", "-L", SOCK] + list(a), capture_output=True, text=True, timeout=30).stdout


def cpu_s(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def wait_screen(name, pred, secs):
    end = time.time() + secs
    while time.time() < end:
        if pred(tm("capture-pane", "-p", "-t", name)):
            return True
        time.sleep(0.1)
    return False


def screen_run(tmp, name, w, h, renderer, video, argv):
    """One screen in tmux running argv; returns (figures from its log line, CPU % over the window)."""
    home = os.path.join(tmp, name)
    os.makedirs(home, mode=0o700)
    pidf = os.path.join(home, "pid")
    env = "LANG=C.UTF-8 TERM=tmux-256color HUSHCALL_HOME='%s' HUSHCALL_RENDERER=%s" % (home, renderer)
    tm("new-session", "-d", "-s", name, "-x", str(w), "-y", str(h),
       "env %s sh -c 'echo $$ > %s; exec %s'; sleep 30" % (env, pidf, " ".join(argv)))
    if not wait_screen(name, lambda s: re.search(r"epoch [1-9]", s) and "NAME (3)" in s, 20):
        print("  %s: never got in: %s" % (name, tm("capture-pane", "-p", "-t", name)[-400:]))
        return None, None
    pid = int(open(pidf).read())
    if video:
        tm("send-keys", "-t", name, "t")
    time.sleep(SETTLE)
    c0, t0 = cpu_s(pid), time.time()
    time.sleep(SECS)
    cpu = 100.0 * (cpu_s(pid) - c0) / (time.time() - t0)
    tm("send-keys", "-t", name, "q")
    time.sleep(0.3)
    tm("send-keys", "-t", name, "y")
    for _ in range(100):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    m = None
    log = os.path.join(home, "hushcall.log")
    if os.path.exists(log):
        for line in open(log, errors="replace"):
            m = LINE.search(line) or m
    return m, cpu


def row(label, m, cpu):
    if not m:
        print("  %-34s (no figures)" % label)
        return
    vs = float(m.group(5))
    fps = int(m.group(7)) / vs if vs > 0 else 0.0
    print("  %-34s %8.3f ms %9.1f KB/s %7.1f /s %8.1f %%" % (label, float(m.group(8)), float(m.group(6)), fps, cpu))


print("video_screen: a three-party call (two bots sending the pattern at 160x90, 15 fps), the third on")
print("the full screen in tmux; %g s windows. CPU per picture: drawing and writing its changed cells;" % SECS)
print("KB/s: bytes written to the terminal a second in the video view; client CPU: the screen's process.")
print()
print("  %-34s %11s %14s %9s %10s" % ("", "CPU/picture", "to terminal", "painted", "client CPU"))
with Harness() as h:
    relay = h.relay()
    bot = ["--video-in", "pattern", "--audio-out", "null"]
    ada = h.host("Ada", relay.port, bot + ["--audio-in", "tone:220"], timeout=600)
    bob = h.participant("Bob", relay.port, ada.meeting_id, bot + ["--audio-in", "tone:330"], timeout=600)
    bob.wait("key_epoch", timeout=10)
    tmp = tempfile.mkdtemp(prefix="hc-bench-vscreen-")
    join = [BIN, "join", ada.meeting_id, "--relay", "127.0.0.1:%d" % relay.port, "--name", "You",
            "--audio-in", "silence", "--audio-out", "null"]
    try:
        n = 0
        for (w, h_) in ((80, 24), (120, 40), (200, 60)):
            for renderer in ("half-blocks", "chafa"):
                n += 1
                m, cpu = screen_run(tmp, "s%d" % n, w, h_, renderer, True, join)
                row("%dx%d video view, %s" % (w, h_, "libchafa" if renderer == "chafa" else renderer), m, cpu)
        n += 1
        m, cpu = screen_run(tmp, "s%d" % n, 120, 40, "half-blocks", False, join)
        if m:
            print("  %-34s %11s %9.1f KB/s %9s %8.1f %%" % ("120x40 list view (baseline)", "-",
                                                          float(m.group(3)), "-", cpu))
        n += 1
        m, cpu = screen_run(tmp, "s%d" % n, 120, 40, "half-blocks", True,
                            [BIN, "demo", "--audio-in", "silence", "--audio-out", "null"])
        row("demo, 120x40 (all in one process)", m, cpu)
    finally:
        tm("kill-server")
        subprocess.run(["rm", "-rf", tmp])
PY
