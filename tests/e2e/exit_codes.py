#!/usr/bin/env python3
"""Every exit status of README's "Exit status" table, each from a command line that must give it
(issue 12, point 9). Each row: what is run -> the status it must end with and a fragment its
stderr must contain. Prints the table with the observed status, and fails on any mismatch."""
import os
import socket
import threading
import stat
import subprocess

from hclib import BIN, FAST_HEARTBEAT_MS, Harness, scaled

ROWS = []       # (status wanted, what, observed status, fragment wanted, fragment found)


def row(h, want, what, got, frag, err):
    found = frag.lower() in err.lower()
    ROWS.append((want, what, got, frag, found))
    h.check("exit %s: %s" % (want, what), got == want and found, "status %s, stderr %r" % (got, err[-300:]))


def run(h, want, what, argv, frag, home=None, stdin=subprocess.DEVNULL, env=None):
    """A command that ends by itself (usage errors, unusable stores, refusals)."""
    e = dict(os.environ)
    e["HUSHCALL_HOME"] = home or h.home()
    e.update(env or {})
    p = subprocess.run(["timeout", str(int(scaled(20))), BIN] + argv, stdin=stdin, capture_output=True,
                       env=e, text=True)
    row(h, want, what, p.returncode, frag, p.stderr)


class FakeServer:
    """A TCP server on 127.0.0.1 (free port) that is not a relay: 'silent' accepts and never
    answers, 'http' answers like a web server and closes. Stopped by stop()."""
    def __init__(self, mode):
        self.s = socket.socket()
        self.s.bind(("127.0.0.1", 0))
        self.s.listen(8)
        self.s.settimeout(0.2)
        self.port = self.s.getsockname()[1]
        self.mode, self.conns, self.done = mode, [], False
        self.t = threading.Thread(target=self.loop, daemon=True)
        self.t.start()

    def loop(self):
        while not self.done:
            try:
                c, _ = self.s.accept()
            except OSError:
                continue
            self.conns.append(c)
            if self.mode == "http":
                c.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")

    def stop(self):
        self.done = True
        self.t.join(5)
        for c in self.conns:
            c.close()
        self.s.close()


def table():
    print("\n  status  observed  message  command")
    for want, what, got, frag, found in ROWS:
        print("  %-6s  %-8s  %-7s  %s   [%r]" % (want, got, "ok" if found else "MISSING", what, frag))
    print(flush=True)


with Harness() as h:
    # 0: left normally
    relay = h.relay()
    a = h.host("alice", relay.port)
    a.send("leave")
    row(h, 0, "host --headless, then 'leave'", a.exit_code(10), '"reason":"left"', "".join(a.raw))

    # 1: runtime error: an identity store that cannot be used
    home = h.home()
    subprocess.run([BIN, "id"], env=dict(os.environ, HUSHCALL_HOME=home), capture_output=True, timeout=scaled(20))
    os.chmod(os.path.join(home, "identity"), stat.S_IRUSR | stat.S_IWUSR | stat.S_IRGRP | stat.S_IROTH)
    run(h, 1, "id (identity file mode 0644)", ["id"], "readable or writable by group or others", home=home)
    run(h, 1, "host (identity file mode 0644)", ["host", "--headless", "--relay", "127.0.0.1:%d" % relay.port,
                                                "--audio-in", "silence", "--audio-out", "null"],
        "readable or writable by group or others", home=home)
    notdir = os.path.join(h.home(), "file")
    open(notdir, "w").close()
    run(h, 1, "host (home is a file)", ["host", "--headless"], "Not a directory", home=notdir)

    # 2: bad command line or config file
    j = ["join", "1", "--headless", "--relay", "127.0.0.1:%d" % relay.port]
    run(h, 2, "join --audio-in tone:0", j + ["--audio-in", "tone:0"], "bad audio input 'tone:0'")
    run(h, 2, "join --audio-in tone:abc", j + ["--audio-in", "tone:abc"], "bad audio input 'tone:abc'")
    run(h, 2, "join --audio-in mic", j + ["--audio-in", "mic"], "bad audio input 'mic'")
    run(h, 2, "host --audio-out tone:440", ["host", "--audio-out", "tone:440"], "bad audio output")
    run(h, 2, "host --video-in bogus", ["host", "--video-in", "bogus"], "bogus")
    run(h, 2, "host --video-out nope:x", ["host", "--video-out", "nope:x"], "nope:x")
    run(h, 2, "demo --audio-in mic", ["demo", "--audio-in", "mic"], "bad audio input 'mic'")
    run(h, 2, "host --name ''", ["host", "--headless", "--name", ""], "the name must be")
    run(h, 2, "host --name '   '", ["host", "--headless", "--name", "   "], "it is blank")
    # Issue 11 point 5: names that could pass for another are refused, the character named and escaped.
    run(h, 2, "host --name 'Al<ZWSP>ice'", ["host", "--headless", "--name", "Al\u200bice"],
        "'Al<U+200B>ice' is not: it contains U+200B, an invisible character")
    run(h, 2, "join --name 'Alice<RLM>'", j + ["--name", "Alice\u200f"], "U+200F, a text-direction mark")
    run(h, 2, "host --name 'Alice '", ["host", "--headless", "--name", "Alice "], "it ends with a space")
    home = h.home()
    with open(os.path.join(home, "config"), "w") as f:
        f.write("name = Alice\u3164\n")
    run(h, 2, "config name = 'Alice<Hangul filler>'", ["host", "--headless"], "U+3164, an invisible character",
        home=home)
    run(h, 2, "host --bogus", ["host", "--bogus"], "see 'hushcall host --help'")
    run(h, 2, "join --bogus", ["join", "--bogus"], "see 'hushcall join --help'")
    run(h, 2, "join (no meeting id)", ["join"], "which meeting")
    run(h, 2, "hushcall frobnicate", ["frobnicate"], "unknown command")
    run(h, 2, "relay --listen example.com:0", ["relay", "--listen", "example.com:0"], "numeric")
    run(h, 2, "demo </dev/null", ["demo"], "needs a terminal")
    run(h, 2, "join on screen </dev/null (no --headless)", ["join", "1234567890"], "use --headless")
    chome = h.home()
    with open(os.path.join(chome, "config"), "w") as f:
        f.write("name = a\nnmae = b\n")
    run(h, 2, "host (config: unknown key)", ["host", "--headless"],
        os.path.join(chome, "config") + ":2: unknown key 'nmae'", home=chome)

    # 3: left for a security reason: the relay comes back with a meeting of its own under the id
    #    (resume_mismatch, README "When the relay goes away")
    r3 = h.relay()
    a = h.host("alice", r3.port)
    b = h.participant("bob", r3.port, a.meeting_id)
    b.wait("key_epoch", timeout=10)
    port = r3.port
    r3.stop()
    h.relay("--attack", "rehost", port=port)
    row(h, 3, "join; the relay restarts as an impostor (--attack rehost)", b.exit_code(30), "resume_mismatch", "".join(b.raw))
    a.stop()

    # 4: removed: the meeting is locked
    a = h.host("alice", relay.port)
    a.send("lock")
    a.wait("lock_changed", timeout=10, locked=True)
    b = h.participant("bob", relay.port, a.meeting_id)
    row(h, 4, "join a locked meeting", b.exit_code(20), '"reason":"locked"', "".join(b.raw))
    a.send("leave")
    a.exit_code(10)

    # 5: the relay refused: no such meeting
    b = h.participant("bob", relay.port, "99999999")
    row(h, 5, "join a meeting that does not exist", b.exit_code(20), "no_such_meeting", "".join(b.raw))

    # 5: a port that accepts TCP and never answers: the handshake deadline, not a hang
    fake = FakeServer("silent")
    b = h.participant("bob", fake.port, "1234567890", timeout=120)
    row(h, 5, "join via a server that accepts and never answers", b.exit_code(40),
        "did not answer within 10 s: that port does not speak the hushcall protocol", "".join(b.raw))
    fake.stop()
    # 5: a web server on the port is named as not a relay
    fake = FakeServer("http")
    b = h.participant("bob", fake.port, "1234567890", timeout=120)
    row(h, 5, "join via a server that answers HTTP/1.1 400", b.exit_code(20),
        "is not a hushcall relay: that port does not speak the hushcall protocol", "".join(b.raw))
    fake.stop()

    table()
    seen = {r[0] for r in ROWS if r[0] == r[2]}
    h.check("every status 0-5 of the README table was observed", seen == {0, 1, 2, 3, 4, 5}, sorted(seen))
