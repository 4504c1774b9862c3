#!/usr/bin/env python3
"""The video view on the real screen (issue 14): `hushcall demo` in a 120x40 tmux pane, read back
with `capture-pane -e` (the cells' colours from the escape codes, tests/e2e/hclib.py):

  - the list view is the default; t shows the tiles, t again the list, and t the tiles again;
  - the tiles hold pictures in 256 colours whose cells change between two captures (the bots send
    the moving pattern), and whose top-right corner is the pattern's magenta marker: what is shown
    is what was sent, in its place;
  - /stats shows the bytes written to the terminal a second and the pictures painted a second, at
    most 15 although two senders send 15 each;
  - c turns the camera on: CAM ON in the status line, a log line that says the pattern stands in
    for a missing camera, and the self-view (a tile labelled with our name, pictures above it);
  - at 80x24 with video on, the header, the code line, an alert (v then n: the codes differ) on
    the alert line and the status line with `q leave` are all there, and so are pictures;
  - a resize (80x24 -> 120x40, 120x40 -> 100x30) redraws without leftovers: the cells that carry
    picture colours are exactly those a full redraw (Ctrl-L) gives, and they form whole tiles
    (filled rectangles) above the log;
  - q, y leaves with status 0, the terminal in cooked mode with echo (stty -a), no process left;
  - with NO_COLOR, on an 8-colour terminal (TERM=xterm) and with --ascii, the tiles are drawn with
    block and shade symbols (or an ASCII ramp) and no cell carries a 256-colour background.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hclib  # noqa: E402
from hclib import Checks, scaled  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
BIN = os.path.abspath(hclib.BIN)
SOCK = "hc-ui-video-%d" % os.getpid()
CHECKS = Checks()
check = CHECKS.check


def tm(*args):
    return subprocess.run(["tmux", "-L", SOCK] + list(args), capture_output=True, text=True, timeout=30)


def pane_size():
    out = tm("display", "-p", "-t", "v", "#{pane_width} #{pane_height}").stdout.split()
    return int(out[0]), int(out[1])


def text():
    return tm("capture-pane", "-p", "-t", "v").stdout


def cells():
    w, _ = pane_size()
    # -N: trailing spaces too (tmux drops them otherwise, coloured or not)
    return hclib.parse_capture(tm("capture-pane", "-p", "-e", "-N", "-t", "v").stdout, w)


def is_pic(c):
    """A picture cell: its background from the 256-colour palette (the screen's own styles use the
    16 ANSI colours; a picture's space may have been erased with its background colour, by curses'
    clear-to-end-of-line or erase-characters, and then tmux reports no foreground)."""
    return c[2] is not None and c[2][0] == "256"


def pic_mask(rows):
    return {(x, y) for y, r in enumerate(rows) for x, c in enumerate(r) if is_pic(c)}


def wait(pred, secs, every=0.1):
    end = time.time() + scaled(secs)
    while time.time() < end:
        v = pred()
        if v:
            return v
        time.sleep(every)
    return pred()


def dump(label):
    print("    --- %s" % label)
    for line in text().rstrip("\n").split("\n"):
        print("    | " + line)


def regions(mask):
    """Connected groups of picture cells (4-neighbours): one per tile. Bounding boxes and cells."""
    left = set(mask)
    out = []
    while left:
        start = left.pop()
        todo, group = [start], {start}
        while todo:
            x, y = todo.pop()
            for n in ((x + 1, y), (x - 1, y), (x, y + 1), (x, y - 1)):
                if n in left:
                    left.discard(n)
                    group.add(n)
                    todo.append(n)
        xs = [p[0] for p in group]
        ys = [p[1] for p in group]
        out.append({"x0": min(xs), "x1": max(xs), "y0": min(ys), "y1": max(ys), "cells": group})
    return out


def magenta(c):
    for col in (c[1], c[2]):
        if col and col[0] == "256":
            r, g, b = hclib.xterm_rgb(col[1])
            if r >= 215 and g <= 95 and b >= 215:
                return True
    return False


def main():
    if not shutil.which("tmux"):
        check("tmux is installed (package tmux; the Makefile installs it)", False)
        return 1
    if not os.access(BIN, os.X_OK):
        check("program present", False, BIN)
        return 1
    tmp = tempfile.mkdtemp(prefix="hc-ui-video-")
    home, tdir = os.path.join(tmp, "home"), os.path.join(tmp, "tmp")
    os.makedirs(home, mode=0o700)
    os.makedirs(tdir, mode=0o700)
    status, pidf = os.path.join(tmp, "status"), os.path.join(tmp, "pid")
    cmd = ("cd '%s' && env LANG=C.UTF-8 LC_ALL=C.UTF-8 TERM=tmux-256color HUSHCALL_HOME='%s' TMPDIR='%s' "
           "LSAN_OPTIONS='exitcode=0:log_path=%s/lsan' "
           "sh -c 'echo $$ > %s; exec %s demo --name Tester --audio-in silence --audio-out null'; "
           "echo $? > %s; sleep 600") % (ROOT, home, tdir, tmp, pidf, BIN, status)
    try:
        tm("new-session", "-d", "-s", "v", "-x", "120", "-y", "40", cmd)
        run(status, pidf)
        # without 256 colours: symbols in the terminal's own colours, or an ASCII ramp
        for n, (label, env, args, glyphs) in enumerate((
                ("NO_COLOR", "NO_COLOR=1 TERM=tmux-256color", "", "\u2580\u2584\u2591\u2592\u2593\u2588"),
                ("TERM=xterm (8 colours)", "TERM=xterm", "", "\u2580\u2584\u2591\u2592\u2593\u2588"),
                ("--ascii", "TERM=tmux-256color", "--ascii", ".:-=+*#%@"))):
            symbols_run(tmp, "s%d" % n, label, env, args, glyphs)
    finally:
        tm("kill-server")
        lsan = [os.path.join(tmp, f) for f in os.listdir(tmp) if f.startswith("lsan")]
        if lsan:
            subprocess.run([sys.executable, os.path.join(ROOT, "tests", "lsan_ours.py"), "demo video run"] + lsan)
        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if CHECKS.failed else 0


def symbols_run(tmp, name, label, env, args, glyphs):
    """The video view without 256 colours: pictures of symbols (no cell with a 256-colour
    background), and q, y leaves."""
    home = os.path.join(tmp, name)
    os.makedirs(home, mode=0o700)
    tm("new-session", "-d", "-s", name, "-x", "100", "-y", "30",
       "cd '%s' && env LANG=C.UTF-8 LC_ALL=C.UTF-8 %s HUSHCALL_HOME='%s' TMPDIR='%s' %s demo %s --audio-in silence "
       "--audio-out null; sleep 600" % (ROOT, env, home, home, BIN, args))
    shot = lambda: tm("capture-pane", "-p", "-t", name).stdout  # noqa: E731
    if not wait(lambda: "NAME (3)" in shot(), 15):
        check("%s: in the meeting" % label, False, shot()[-300:])
        return
    tm("send-keys", "-t", name, "t")

    def drawn():
        rows = hclib.parse_capture(tm("capture-pane", "-p", "-e", "-N", "-t", name).stdout, 100)
        marks = sum(1 for r in rows[3:-3] for c in r if c[0] in glyphs)
        coloured = sum(1 for r in rows for c in r if is_pic(c))
        return (marks, coloured) if marks > 300 else None
    got = wait(drawn, 10)
    check("%s: the video view draws pictures with symbols (%s), no 256-colour cells" % (label, glyphs),
          got is not None and got[1] == 0, "%r" % (got,))
    tm("send-keys", "-t", name, "q")
    wait(lambda: "Leave the meeting? y/n" in shot(), 5)
    tm("send-keys", "-t", name, "y")
    wait(lambda: "$" in shot() or "Leave" not in shot(), 5)


def run(status, pidf):
    # ---- the list first, then t ----
    ok = wait(lambda: re.search(r"epoch [1-9]", text()) and "NAME (3)" in text(), 15)
    if not check("demo: in the meeting, the list view is the default (NAME (3))", ok):
        dump("screen")
        return
    wait(lambda: "Bob (bot)'s video started" in text() and "Ada (bot)'s video started" in text(), 10)
    tm("send-keys", "-t", "v", "t")
    ok = wait(lambda: "NAME (" not in text() and len(pic_mask(cells())) > 1000, 10)
    if not check("t: the video view, tiles of 256-colour picture cells", ok):
        dump("after t")
        return

    # ---- moving pictures, and the corner marker ----
    a = cells()
    time.sleep(0.7)
    b = cells()
    both = pic_mask(a) & pic_mask(b)
    changed = sum(1 for (x, y) in both if a[y][x] != b[y][x])
    check("the tiles' cells change between two captures 0.7 s apart (%d of %d changed)" % (changed, len(both)),
          changed >= 20)

    groups = [g for g in regions(pic_mask(b)) if (g["x1"] - g["x0"]) >= 15]
    marked, misplaced = 0, 0
    for g in groups:
        w, h = g["x1"] - g["x0"] + 1, g["y1"] - g["y0"] + 1
        corner = [(x, y) for (x, y) in g["cells"] if magenta(b[y][x])]
        top_right = [(x, y) for (x, y) in corner if y <= g["y0"] + max(2, h // 4) and x >= g["x1"] - max(3, w // 3)]
        if len(top_right) >= 2:
            marked += 1
        misplaced += len(corner) - len(top_right)
        print("    tile %dx%d at %d,%d: %d magenta cells in its top-right corner" % (w, h, g["x0"], g["y0"], len(top_right)))
    check("each bot's tile shows the pattern's magenta marker in its top-right corner (%d of %d tiles, "
          "%d magenta cells elsewhere)" % (marked, len(groups), misplaced),
          len(groups) >= 2 and marked >= 2 and misplaced == 0)
    if marked < 2:
        dump("tiles")

    # ---- the pace and the bytes, in /stats ----
    # Two bots at 15 pictures/s each: pictures arrive some 30 times a second, painted at most 15.
    tm("send-keys", "-t", "v", "/stats", "Enter")
    m = wait(lambda: re.search(r"([\d.]+) KB/s written to the terminal .* painted at ([\d.]+) pictures/s",
                               text().replace("\n", " ")), 5)
    time.sleep(scaled(1.2))                      # a second's figures with the panel open
    m = re.search(r"([\d.]+) KB/s written to the terminal .* painted at ([\d.]+) pictures/s", text().replace("\n", " ")) or m
    check("/stats: bytes written to the terminal a second (%s KB/s) and pictures painted, at most 15 a second (%s)"
          % (m.group(1) if m else "?", m.group(2) if m else "?"),
          m is not None and float(m.group(1)) > 1 and 0 < float(m.group(2)) <= 15.5)
    tm("send-keys", "-t", "v", "Escape")
    wait(lambda: "Call statistics" not in text(), 5)

    # ---- t toggles ----
    tm("send-keys", "-t", "v", "t")
    ok = wait(lambda: "NAME (3)" in text() and not pic_mask(cells()), 5)
    check("t again: the list, no picture cells", ok)
    tm("send-keys", "-t", "v", "t")
    ok = wait(lambda: "NAME (" not in text() and len(pic_mask(cells())) > 1000, 5)
    check("t once more: the tiles again", ok)

    # ---- the camera ----
    last = lambda: text().rstrip("\n").split("\n")[-1]  # noqa: E731
    check("CAM OFF in the status line while the camera is off", "CAM OFF" in last())
    tm("send-keys", "-t", "v", "c")
    ok = wait(lambda: "CAM ON" in last(), 5)
    check("c: CAM ON beside the mic badge", ok and "MIC" in last())
    check("c without a camera: the log says the pattern stands in",
          wait(lambda: re.search(r"camera on: pattern .*instead of a camera", text().replace("\n", " ")), 5))

    def self_view():
        rows = cells()
        for y, r in enumerate(rows):
            line = "".join(c[0] for c in r)
            i = line.find("Tester")
            if i >= 0 and y > 3 and sum(1 for x in range(max(0, i - 2), min(len(r), i + 10)) if is_pic(rows[y - 1][x])) >= 5:
                return True
        return False
    check("c: the self-view, a tile of pictures labelled with our name", wait(self_view, 5))

    # ---- 80x24: the lines that must stay ----
    tm("resize-window", "-t", "v", "-x", "80", "-y", "24")
    wait(lambda: pane_size() == (80, 24), 5)
    tm("send-keys", "-t", "v", "v")
    wait(lambda: "Does everyone read the same code" in text(), 5)
    tm("send-keys", "-t", "v", "n")
    ok = wait(lambda: text().split("\n")[2].startswith(" !! CODES DIFFER"), 5)
    lines = text().split("\n")
    check("80x24: the alert on the alert line with video on", ok, lines[2] if len(lines) > 2 else "")
    check("80x24: the header and the code line with its verified state",
          "meeting " in lines[0] and re.search(r"code \d{5}( \d{5}){7} +NOT VERIFIED", lines[1]) is not None,
          "%r / %r" % (lines[0], lines[1]))
    check("80x24: the status line with the mic and camera badges and q leave",
          "MIC" in last() and "CAM ON" in last() and "q leave" in last(), last())
    check("80x24: pictures shown (%d cells)" % len(pic_mask(cells())), len(pic_mask(cells())) > 300)
    if CHECKS.failed:
        dump("80x24")

    # ---- resizes redraw without leftovers ----
    for (w, h) in ((120, 40), (100, 30)):
        tm("resize-window", "-t", "v", "-x", str(w), "-y", str(h))
        wait(lambda: pane_size() == (w, h), 5)
        time.sleep(scaled(0.6))
        after = pic_mask(cells())
        tm("send-keys", "-t", "v", "C-l")
        time.sleep(scaled(0.6))
        full = pic_mask(cells())
        extra, missing = after - full, full - after
        check("resize to %dx%d: picture cells exactly where a full redraw puts them (%d cells; %d left over, "
              "%d missing)" % (w, h, len(full), len(extra), len(missing)), full and not extra and not missing)
        # and where the layout puts them: whole rectangles (tiles), all above the log
        lines = text().split("\n")
        log_y = next((y for y, l in enumerate(lines) if l.startswith("\u2500\u2500 log")), h)
        bad = [g for g in regions(full) if g["y1"] >= log_y or
               len(g["cells"]) != (g["x1"] - g["x0"] + 1) * (g["y1"] - g["y0"] + 1)]
        check("resize to %dx%d: every group of picture cells is a whole tile above the log (%d groups, %d not)"
              % (w, h, len(regions(full)), len(bad)), full and not bad)
        if bad:
            dump("after the resize to %dx%d" % (w, h))

    # ---- leaving ----
    pid = int(open(pidf).read().strip())
    tm("send-keys", "-t", "v", "q")
    wait(lambda: "Leave the meeting? y/n" in text(), 5)
    tm("send-keys", "-t", "v", "y")
    st = wait(lambda: os.path.exists(status) and open(status).read().strip(), 10)
    check("q, y: exit status 0", st == "0", "status %r" % st)
    tty = tm("display", "-p", "-t", "v", "#{pane_tty}").stdout.strip()
    modes = subprocess.run(["stty", "-a", "-F", tty], capture_output=True, text=True).stdout.split()
    check("the terminal is sane afterwards (icanon, echo)", "icanon" in modes and "echo" in modes,
          " ".join(m for m in modes if m.lstrip("-") in ("icanon", "echo")))
    check("the alternate screen is gone", tm("display", "-p", "-t", "v", "#{alternate_on}").stdout.strip() == "0")
    try:
        os.kill(pid, 0)
        alive = True
    except ProcessLookupError:
        alive = False
    check("no process left behind (pid %d)" % pid, not alive)


if __name__ == "__main__":
    sys.exit(main())
