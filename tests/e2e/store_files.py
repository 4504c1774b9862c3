#!/usr/bin/env python3
"""The files of $HUSHCALL_HOME seen from outside, with the real binary.

At startup, a `config` or `verified` that is a FIFO, a directory or has a bad line is refused at
once with one plain line naming the file and what is wrong: exit status 2 for the config (bad
config), 1 for the verified-leader store (a store error, like the identity store). A FIFO used to
hang the start with SIGINT and SIGTERM blocked; each start here runs under `timeout -s KILL`, so a
hang shows as a failed check (status 137), not as a stuck test.

In a meeting, a `verify` whose save fails (here: `verified` replaced by a directory) reports an
error and does not mark the code verified; once the store can be written, it does."""
import os
import re
import stat
import subprocess
import sys

from hclib import BIN, Harness, scaled


def start(home):
    """Starts `hushcall host` with this home and an unreachable relay; returns (status, stdout,
    stderr). A start that got past the files would retry the relay until the timeout kills it."""
    env = dict(os.environ, HUSHCALL_HOME=home)
    argv = ["timeout", "-s", "KILL", str(int(scaled(15))), BIN, "host", "--headless", "--name", "alice",
            "--relay", "127.0.0.1:9", "--audio-in", "silence", "--audio-out", "null"]
    r = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, capture_output=True, timeout=scaled(60))
    return r.returncode, r.stdout.decode("utf-8", "replace"), r.stderr.decode("utf-8", "replace")


def refused(h, name, home, status, *words):
    rc, out, err = start(home)
    lines = [l for l in err.split("\n") if l]
    # killed by timeout: 137, or -9 when the KILL reached timeout itself too (same process group)
    h.check("%s: exits on its own (no hang)" % name, rc not in (124, 137, -9), "status %d" % rc)
    h.check("%s: exit status %d" % (name, status), rc == status, "status %d" % rc)
    h.check("%s: one plain line on stderr" % name, len(lines) == 1 and lines[0].startswith("hushcall: "), lines)
    for w in words:
        h.check("%s: the line says '%s'" % (name, w), bool(lines) and w in lines[0], lines)
    h.check("%s: no events printed" % name, out == "", out[:200])


def screen_start(h, env, expect):
    """Starts `hushcall host` on a pseudo-terminal (the screen opens hushcall.log at once; the
    relay is unreachable, so it stays retrying) until `expect` exists, then stops it."""
    import pty
    import signal
    import time
    m, s = pty.openpty()
    p = subprocess.Popen([BIN, "host", "--relay", "127.0.0.1:9", "--name", "alice", "--audio-in", "silence",
                          "--audio-out", "null"], stdin=s, stdout=s, stderr=s, env=env, start_new_session=True)
    os.close(s)
    os.set_blocking(m, False)
    end = time.time() + scaled(10)
    while time.time() < end and not os.path.exists(expect) and p.poll() is None:
        try:
            os.read(m, 65536)          # keep the terminal drained
        except OSError:
            pass
        time.sleep(0.05)
    found = os.path.exists(expect)
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(scaled(10))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    os.close(m)
    return found


def xdg_log(h):
    """Issue 12 point 15: without HUSHCALL_HOME/--home the log is XDG state
    (~/.local/state/hushcall, or $XDG_STATE_HOME/hushcall), the identity stays in ~/.config/hushcall;
    with HUSHCALL_HOME everything stays in that home."""
    base = {k: v for k, v in os.environ.items() if k not in ("HUSHCALL_HOME", "XDG_STATE_HOME", "XDG_CONFIG_HOME")}
    top = h.home()
    env = dict(base, HOME=top, TERM="xterm")
    log = os.path.join(top, ".local", "state", "hushcall", "hushcall.log")
    h.check("XDG: the log goes to ~/.local/state/hushcall/hushcall.log", screen_start(h, env, log), os.listdir(top))
    h.check("XDG: the identity stays in ~/.config/hushcall",
            os.path.exists(os.path.join(top, ".config", "hushcall", "identity"))
            and not os.path.exists(os.path.join(top, ".config", "hushcall", "hushcall.log")), os.listdir(top))
    sd = os.path.dirname(log)
    mode = stat.S_IMODE(os.stat(sd).st_mode) if os.path.isdir(sd) else None
    h.check("XDG: the state directory is 0700", mode == 0o700, mode)
    st = os.path.join(top, "state")
    env2 = dict(env, XDG_STATE_HOME=st)
    h.check("XDG: $XDG_STATE_HOME/hushcall/hushcall.log when XDG_STATE_HOME is set",
            screen_start(h, env2, os.path.join(st, "hushcall", "hushcall.log")), os.listdir(top))
    pinned = h.home()
    env3 = dict(env2, HUSHCALL_HOME=pinned)
    h.check("XDG: with HUSHCALL_HOME the log stays in that home",
            screen_start(h, env3, os.path.join(pinned, "hushcall.log")), os.listdir(pinned))
    h.check("XDG: with HUSHCALL_HOME nothing is written to the state directory",
            os.path.isdir(os.path.join(st, "hushcall"))
            and sorted(os.listdir(os.path.join(st, "hushcall"))) == ["hushcall.log"]
            and sorted(os.listdir(pinned)) == ["hushcall.log", "identity"], (os.listdir(pinned),))


def main():
    with Harness() as h:
        xdg_log(h)
        ivk = "00112233445566778899aabbccddeeff" * 2

        home = h.home()
        cfg = os.path.join(home, "config")
        os.mkfifo(cfg, 0o600)
        refused(h, "config FIFO", home, 2, cfg, "FIFO")
        os.unlink(cfg)
        os.mkdir(cfg, 0o700)
        refused(h, "config directory", home, 2, cfg, "a directory")
        os.rmdir(cfg)

        ver = os.path.join(home, "verified")
        os.mkfifo(ver, 0o600)
        refused(h, "verified FIFO", home, 1, ver, "FIFO")
        os.unlink(ver)
        os.mkdir(ver, 0o700)
        refused(h, "verified directory", home, 1, ver, "a directory")
        os.rmdir(ver)

        # Issue 11 point 6: files or a home of another user would let that user name their own key
        # as your verified leader. We run as root: chown to nobody (65534) stands for "another user".
        other = 65534
        with open(ver, "w") as f:
            f.write("%s alice\n" % ivk)
        os.chmod(ver, 0o600)
        os.chown(ver, other, -1)
        refused(h, "verified of another user", home, 1, ver, "belongs to another user")
        os.chown(ver, os.geteuid(), -1)
        os.chown(home, other, -1)
        refused(h, "home of another user", home, 1, home, "belongs to another user")
        os.chown(home, os.geteuid(), -1)
        os.chmod(home, 0o770)
        refused(h, "home writable by the group", home, 1, home, "chmod 700")
        os.chmod(home, 0o700)
        os.unlink(ver)

        def store(data):
            with open(ver, "wb") as f:
                f.write(data)
            os.chmod(ver, 0o600)

        store(("%s Bob\n%s Al" % (ivk, ivk)).encode() + b"\0ice\n")
        refused(h, "verified NUL in a name", home, 1, ver + ":2: ", "NUL")
        store(("# " + "x" * 10000 + "\n\n%s Bob\nnot an entry\n" % ivk).encode())
        refused(h, "verified malformed line after a long comment", home, 1, ver + ":4: malformed line")
        store(("%s Bob\n%s" % (ivk, ivk[:20])).encode())
        refused(h, "verified last line cut short", home, 1, ver + ":2: ", "incomplete")
        os.unlink(ver)

        # A verify that cannot be saved.
        relay = h.relay()
        home = h.home()
        ver = os.path.join(home, "verified")
        a = h.host("alice", relay.port, home=home)
        code = a.wait("security_code", timeout=10)
        h.check("verify: the host has a security code", code is not None and code.get("verified") is False, code)
        # Issue 11 point 7: verify names the code compared; a wrong one is refused, naming the command.
        a.send("verify 00000 00000 00000 00000 00000 00000 00000 00000")
        e = a.wait("error", timeout=10, code="code_mismatch")
        h.check("verify with another code: error code_mismatch naming the command",
                e is not None and e.get("command") == "verify", a.raw[-3:])
        h.check("verify with another code: not verified, nothing saved",
                a.all("verified") == [] and not os.path.exists(ver), os.listdir(home))
        a.send("verify")
        e = a.wait("error", timeout=10, code="bad_command")
        h.check("verify without a code: bad_command, usage verify CODE",
                e is not None and "verify CODE" in e.get("message", ""), a.raw[-3:])
        os.mkdir(ver, 0o700)
        a.send("verify " + code["code"])
        e = a.wait("error", timeout=10, code="not_saved")
        msg = (e or {}).get("message", "")
        h.check("verify not saved: an error not_saved", e is not None, a.raw[-5:])
        h.check("verify not saved: it says why", "could not save the verified leader" in msg and
                "a directory" in msg, msg)
        h.check("verify not saved: it says the code is not verified", "not marked as verified" in msg, msg)
        n = a.count()
        a.send("stats")                     # a round trip: anything the verify caused is out by now
        a.wait("stats", timeout=10, since=n)
        h.check("verify not saved: no verified event", a.all("verified") == [], a.all("verified"))
        h.check("verify not saved: no security_code shown as verified",
                not [x for x in a.all("security_code") if x.get("verified")], a.all("security_code"))
        h.check("verify not saved: the directory is left as it was", os.path.isdir(ver) and os.listdir(ver) == [])

        os.rmdir(ver)
        a.send("verify " + code["code"].replace(" ", ""))       # the digits without their spaces
        v = a.wait("verified", timeout=10)
        h.check("verify saved: a verified event", v is not None and v.get("verified") is True, a.raw[-5:])
        try:
            with open(ver, "rb") as f:
                text = f.read().decode("utf-8", "replace")
            mode = stat.S_IMODE(os.stat(ver).st_mode)
        except OSError as ex:
            text, mode = str(ex), None
        h.check("verify saved: one line, the leader's key and name",
                re.fullmatch(r"[0-9a-f]{64} alice\n", text) is not None, text[:200])
        h.check("verify saved: mode 0600", mode == 0o600, mode)
        h.check("verify saved: no temporary file left", sorted(os.listdir(home)) == ["identity", "verified"],
                os.listdir(home))
        a.send("leave")
        h.check("leave: exit status 0", a.exit_code(10) == 0)
        relay.stop()
    return h.finish()


if __name__ == "__main__":
    sys.exit(main())
