"""Helpers for hushcall's multi-process tests: start a relay and headless participants, read their
JSON event lines, send them commands, and always stop every process we started.

A test script imports this module, wraps its body in `with Harness() as h:` and reports each
check with h.check(name, condition, detail). Every process runs under `timeout` as well, so
nothing outlives a crashed test.

Real time on a busy machine: every deadline a test gives here (wait, wait_event, exit_code, the
relay's and the host's start) is stretched by SLOW, the machine's measured slowness
(tests/slowness.py; 1.0 when idle), and scaled(s) stretches any other. A deadline is how long to
wait at most for something that must happen, so on a loaded machine the test waits longer instead
of failing; what it checks does not change. Protocol timers that a test shortens (heartbeats) are
stretched the same way (FAST_HEARTBEAT_MS).
"""
import json
import os
import queue
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import slowness  # noqa: E402

SANITIZER_RE = re.compile(r"ERROR: (Address|Leak|Memory|Thread)Sanitizer|runtime error: |"
                          r"ERROR SUMMARY: [1-9]|definitely lost: [1-9]")

BIN = os.environ.get("HC_BIN", os.path.join(os.path.dirname(__file__), "..", "..", "build", "hushcall"))
BUILD = os.environ.get("HC_BUILD", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "build"))
AUDIOCMP = os.path.join(BUILD, "tools", "audiocmp")
SLOW = slowness.factor()
# Every line a headless participant prints is kept here, one file per script (<script>.jsonl,
# started afresh by each run), so that tests/e2e/headless_contract.py can check the whole suite's
# output against docs/headless.schema.json.
CAPTURE_DIR = os.environ.get("HC_HEADLESS_CAPTURE", os.path.join(BUILD, "test-logs", "headless-lines"))
_capture = {"f": None, "lock": threading.Lock()}


def _capture_line(line):
    with _capture["lock"]:
        if _capture["f"] is None:
            try:
                os.makedirs(CAPTURE_DIR, exist_ok=True)
                name = os.path.splitext(os.path.basename(sys.argv[0]))[0] or "script"
                _capture["f"] = open(os.path.join(CAPTURE_DIR, name + ".jsonl"), "w")
            except OSError:
                _capture["f"] = False
        if _capture["f"]:
            _capture["f"].write(line + "\n")
            _capture["f"].flush()
os.environ["HC_SLOW"] = str(SLOW)        # the same factor for every tool this test starts


def scaled(seconds):
    """A deadline of `seconds` on an idle machine, stretched by this machine's slowness."""
    return seconds * SLOW


# The heartbeat interval the meeting tests use instead of the default 2 s (faster tests), as
# milliseconds for --heartbeat-ms: 500 ms on an idle machine, longer on a busy one, so that a
# member on a starved CPU does not miss the leader's heartbeats for a reason other than a defect;
# never beyond the default (the relay's withhold-keybox attack holds a box 6 s, which must stay
# longer than a nonce is good for: two heartbeat intervals).
FAST_HEARTBEAT_MS = str(int(min(2000, 500 * SLOW)))


def tone_of(wav_path, *at):
    """audiocmp's tone analysis of a recording: dominant frequency, and the power share at each
    frequency in `at` (JSON, as a dict)."""
    argv = [AUDIOCMP, "--tone", wav_path]
    for f in at:
        argv += ["--at", str(f)]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=scaled(120))
    return json.loads(out.stdout)


class Proc:
    """A child process whose stdout is read line by line on a thread (JSON lines). Each event
    gets "_at": the wall-clock time this test read it."""

    def __init__(self, name, argv, env=None, stdin=True, capture=False):
        self.name = name
        self.capture = capture
        self.argv = argv
        self.events = []
        self.raw = []
        self.q = queue.Queue()
        self.lock = threading.Lock()
        self.p = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            start_new_session=True,
        )
        self.t = threading.Thread(target=self._reader, daemon=True)
        self.t.start()
        self.errt = threading.Thread(target=self._err_reader, daemon=True)
        self.err = []
        self.errt.start()

    def _reader(self):
        for line in self.p.stdout:
            line = line.decode("utf-8", "replace").rstrip("\n")
            if self.capture:
                _capture_line(line)
            with self.lock:
                self.raw.append(line)
            try:
                ev = json.loads(line)
            except ValueError:
                ev = {"event": "_unparsed", "line": line}
            if isinstance(ev, dict):
                ev["_at"] = time.time()       # when this test read it (wall clock)
            with self.lock:
                self.events.append(ev)
            self.q.put(ev)

    def _err_reader(self):
        for line in self.p.stderr:
            self.err.append(line.decode("utf-8", "replace").rstrip("\n"))

    def send(self, cmd):
        try:
            self.p.stdin.write((cmd + "\n").encode())
            self.p.stdin.flush()
        except (BrokenPipeError, OSError):
            pass

    def wait_event(self, pred, timeout=10.0, since=0):
        """Returns the first event (index >= since) matching pred, waiting up to timeout s
        (stretched by SLOW)."""
        end = time.time() + scaled(timeout)
        while True:
            with self.lock:
                for ev in self.events[since:]:
                    if pred(ev):
                        return ev
            left = end - time.time()
            if left <= 0:
                return None
            try:
                self.q.get(timeout=min(left, 0.1))
            except queue.Empty:
                pass

    def wait(self, name, timeout=10.0, since=0, **fields):
        return self.wait_event(lambda e: e.get("event") == name and all(e.get(k) == v for k, v in fields.items()),
                               timeout, since)

    def all(self, name, **fields):
        with self.lock:
            return [e for e in self.events if e.get("event") == name and all(e.get(k) == v for k, v in fields.items())]

    def count(self):
        with self.lock:
            return len(self.events)

    def exit_code(self, timeout=10.0):
        """The exit status, waiting up to timeout s (stretched by SLOW); None if still running.
        Once it has exited, everything it printed has been read too (events, stderr)."""
        try:
            rc = self.p.wait(timeout=scaled(timeout))
        except subprocess.TimeoutExpired:
            return None
        self.t.join(timeout=scaled(5))
        self.errt.join(timeout=scaled(5))
        return rc

    def _children(self):
        try:
            with open("/proc/%d/task/%d/children" % (self.p.pid, self.p.pid)) as f:
                return [int(x) for x in f.read().split()]
        except (OSError, ValueError):
            return []

    def send_signal(self, sig):
        """Signals the program itself exactly once. The argv starts with `timeout`, which would
        forward a signal sent to it (or to the group) to the program again, to its pid and to the
        group: a program that handles the first SIGTERM and has closed its handler by the time the
        second arrives (slow exit under ASan or valgrind) would then die of it."""
        kids = self._children()
        try:
            if kids:
                for k in kids:
                    os.kill(k, sig)
            else:
                os.killpg(self.p.pid, sig)
        except ProcessLookupError:
            pass

    def signal_until_gone(self, sig, timeout=10.0):
        """Signals the program again and again until it has exited (a person pressing Ctrl-C
        repeatedly): a second signal that lands after the program closed its watchers must not
        kill it. Returns the exit status of `timeout` (the program's own), or None."""
        kids = self._children()
        deadline = time.time() + scaled(timeout)
        while kids and self.p.poll() is None and time.time() < deadline:
            try:
                for k in kids:
                    os.kill(k, sig)
            except ProcessLookupError:
                break
        return self.exit_code(max(0.0, deadline - time.time()) / SLOW)

    def stop(self, sig=signal.SIGTERM, timeout=5.0):
        if self.p.poll() is None:
            self.send_signal(sig)
            try:
                self.p.wait(timeout=scaled(timeout))
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.p.wait()


class Checks:
    """PASS:/FAIL:/SKIP: lines and their counts, for a script (tests/run.sh counts the lines)."""
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, name, ok, detail=""):
        if ok:
            self.passed += 1
            print("PASS: %s" % name, flush=True)
        else:
            self.failed += 1
            print("FAIL: %s%s" % (name, (" - " + str(detail)) if detail else ""), flush=True)
            self.on_fail()
        return ok

    def on_fail(self):
        pass

    def skip(self, name, reason):
        print("SKIP: %s (%s)" % (name, reason), flush=True)

    def finish(self):
        print("%d passed, %d failed" % (self.passed, self.failed), flush=True)
        return 1 if self.failed else 0


class Harness(Checks):
    def __init__(self, verbose=None):
        super().__init__()
        self.procs = []
        self.tmp = tempfile.mkdtemp(prefix="hc-e2e-")
        self.verbose = verbose if verbose is not None else bool(os.environ.get("HC_E2E_VERBOSE"))
        self.homes = 0

    def __enter__(self):
        return self

    def __exit__(self, et, ev, tb):
        if et is not None:
            self.check("test ran to the end", False, "%s: %s" % (et.__name__, ev))
        self.stop_all()
        # Sanitizer builds (HC_BIN built with -fsanitize=...) and valgrind report on stderr, also
        # for processes that were only stopped: any such report fails the test.
        bad = []
        for p in self.procs:
            p.errt.join(timeout=5)
            bad += ["%s: %s" % (p.name, l) for l in p.err if SANITIZER_RE.search(l)]
        self.check("no process reported a sanitizer or memory error", not bad, bad[:8])
        shutil.rmtree(self.tmp, ignore_errors=True)
        return True

    def on_fail(self):
        self.dump()

    def dump(self):
        for p in self.procs:
            print("  --- %s (%s) rc=%s" % (p.name, " ".join(p.argv[:4]), p.p.poll()))
            for line in p.raw[-25:]:
                print("    out: " + line)
            for line in p.err[-10:]:
                print("    err: " + line)

    def home(self):
        self.homes += 1
        d = os.path.join(self.tmp, "home%d" % self.homes)
        os.makedirs(d, mode=0o700)
        return d

    def relay(self, *args, timeout=600, port=0):
        """port: listen there (a relay restarted on the port of one that died); 0 picks a free one."""
        argv = ["timeout", str(int(scaled(timeout))), BIN, "relay", "--listen", "127.0.0.1:%d" % port] + list(args)
        p = Proc("relay", argv)
        self.procs.append(p)
        ev = p.wait("listening", timeout=10)
        if not ev:
            raise RuntimeError("relay did not start: %s" % p.err)
        p.port = ev["port"]
        return p

    def participant(self, name, relay_port, meeting=None, args=(), home=None, timeout=600, env=None, wrap=()):
        """wrap: a command to run hushcall under (e.g. valgrind and its options)."""
        argv = ["timeout", str(int(scaled(timeout)))] + list(wrap) + [BIN, "host" if meeting is None else "join"]
        if meeting is not None:
            argv.append(meeting)
        argv += ["--relay", "127.0.0.1:%d" % relay_port, "--name", name, "--headless",
                 "--audio-in", "tone:440", "--audio-out", "null"] + list(args)
        e = dict(os.environ)
        e["HUSHCALL_HOME"] = home or self.home()
        if env:
            e.update(env)
        p = Proc(name, argv, env=e, capture="--headless" in argv)
        self.procs.append(p)
        return p

    def host(self, name, relay_port, args=(), wait=10, **kw):
        p = self.participant(name, relay_port, None, args, **kw)
        ev = p.wait("meeting", timeout=wait)
        if not ev:
            raise RuntimeError("host did not create a meeting: %s %s" % (p.raw[-5:], p.err[-5:]))
        p.meeting_id = ev["meeting_id"]
        return p

    def stop_all(self):
        for p in self.procs:
            p.stop()



def wait_all(procs, name, timeout=10.0, **fields):
    """Each process's first `name` event, all within one deadline of timeout s (stretched)."""
    end = time.time() + scaled(timeout)
    out = []
    for p in procs:
        ev = p.wait(name, timeout=max(0.0, end - time.time()) / SLOW, **fields)
        out.append(ev)
    return out


# ---- the screen as tmux shows it ----------------------------------------------------------------

_SGR_RE = re.compile(r"\x1b\[([0-9;:]*)m")
_OTHER_ESC_RE = re.compile(r"\x1b(\[[0-9;?]*[A-Za-z]|[()][A-Z0-9]|[=>78])")


def parse_capture(text, width):
    """`tmux capture-pane -e -p` output as rows of cells (char, fg, bg), each colour None (the
    terminal's default), ("16", n) for the 16 ANSI colours, ("256", n) or ("rgb", (r, g, b)).
    Each row is padded to `width` cells. Wide characters take two cells (the second is "")."""
    import unicodedata
    rows = []
    fg = bg = None
    for line in text.split("\n"):
        cells = []
        pos = 0
        while pos < len(line):
            if line[pos] == "\x1b":
                m = _SGR_RE.match(line, pos)
                if m:
                    parts = [int(p) if p else 0 for p in re.split(r"[;:]", m.group(1))] if m.group(1) else [0]
                    i = 0
                    while i < len(parts):
                        p = parts[i]
                        if p == 0:
                            fg = bg = None
                        elif 30 <= p <= 37:
                            fg = ("16", p - 30)
                        elif 90 <= p <= 97:
                            fg = ("16", p - 90 + 8)
                        elif 40 <= p <= 47:
                            bg = ("16", p - 40)
                        elif 100 <= p <= 107:
                            bg = ("16", p - 100 + 8)
                        elif p == 39:
                            fg = None
                        elif p == 49:
                            bg = None
                        elif p in (38, 48) and i + 1 < len(parts):
                            if parts[i + 1] == 5 and i + 2 < len(parts):
                                c = ("256", parts[i + 2])
                                i += 2
                            elif parts[i + 1] == 2 and i + 4 < len(parts):
                                c = ("rgb", tuple(parts[i + 2:i + 5]))
                                i += 4
                            else:
                                c = None
                            if p == 38:
                                fg = c
                            else:
                                bg = c
                        i += 1
                    pos = m.end()
                    continue
                m = _OTHER_ESC_RE.match(line, pos)
                pos = m.end() if m else pos + 1
                continue
            ch = line[pos]
            pos += 1
            if unicodedata.combining(ch) and cells:
                continue
            cells.append((ch, fg, bg))
            if unicodedata.east_asian_width(ch) in ("W", "F"):
                cells.append(("", fg, bg))
        cells = cells[:width] + [(" ", None, None)] * max(0, width - len(cells))
        rows.append(cells)
    return rows


def xterm_rgb(index):
    """The RGB value of an xterm-256 palette index, as xterm draws it by default."""
    ansi = [(0, 0, 0), (205, 0, 0), (0, 205, 0), (205, 205, 0), (0, 0, 238), (205, 0, 205), (0, 205, 205),
            (229, 229, 229), (127, 127, 127), (255, 0, 0), (0, 255, 0), (255, 255, 0), (92, 92, 255),
            (255, 0, 255), (0, 255, 255), (255, 255, 255)]
    if index < 16:
        return ansi[index]
    if index < 232:
        lv = [0, 95, 135, 175, 215, 255]
        i = index - 16
        return (lv[i // 36], lv[i // 6 % 6], lv[i % 6])
    g = 8 + 10 * (index - 232)
    return (g, g, g)


def color_rgb(c, default):
    """The RGB value a parsed colour stands for (None: default)."""
    if c is None:
        return default
    kind, v = c
    if kind == "rgb":
        return v
    return xterm_rgb(v)
