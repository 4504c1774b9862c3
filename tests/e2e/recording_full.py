#!/usr/bin/env python3
"""A member recording the call (--audio-out wav:FILE) onto a disk that fills up, through a real
relay on loopback. We run as root, so permissions cannot make a disk "full": the member runs
with a file-size limit (RLIMIT_FSIZE, what `ulimit -f` sets) of a 44-byte header and 64 KiB of
audio, and with SIGXFSZ at its default action, as a shell starts it; hushcall itself must ignore
that signal so the write past the limit fails with EFBIG, the way a full disk gives ENOSPC.

Asserted: exactly one `recording_failed` event (path, error "File too large", recorded_ms of
what fits), also by the time the member has left; the member keeps running and keeps receiving
the host's audio (its stats' received count still rises, the frames it no longer records are
counted in tx.recording_dropped); the file is a valid WAV of exactly the audio that fit; and the
member leaves with status 0 when told to. Every process runs under `timeout` and is stopped by
the harness."""
import errno
import os
import sys
import time
import wave

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hclib import Harness, scaled  # noqa: E402

AUDIO_BYTES = 64 * 1024
LIMIT = 44 + AUDIO_BYTES           # the WAV header and 64 KiB of 16-bit samples: ~0.68 s
SAMPLES = AUDIO_BYTES // 2
# Runs the rest of argv with the limit set and SIGXFSZ back at its default (python ignores it,
# and an ignored signal stays ignored across exec: the test would then not see whether hushcall
# ignores it itself).
WRAP = [sys.executable, "-c",
        "import os, resource, signal, sys; n = int(sys.argv[1]);"
        " resource.setrlimit(resource.RLIMIT_FSIZE, (n, n));"
        " signal.signal(signal.SIGXFSZ, signal.SIG_DFL);"
        " os.execvp(sys.argv[2], sys.argv[2:])", str(LIMIT)]


def stats(p, sender):
    """Asks for a stats line; returns (received from sender, tx.recording_dropped) or None."""
    since = p.count()
    p.send("stats")
    ev = p.wait("stats", timeout=5, since=since)
    if not ev:
        return None
    rx = [s for s in ev.get("senders", []) if s.get("index") == sender]
    return (rx[0].get("received", 0) if rx else 0), ev.get("tx", {}).get("recording_dropped")


def rises(p, sender, before, timeout=10):
    """Polls stats until both counters are above `before`; returns the last sample seen. A
    deadline for something that must happen, not a measurement."""
    end = time.time() + scaled(timeout)
    last = None
    while time.time() < end:
        last = stats(p, sender)
        if last and last[0] > before[0] and last[1] is not None and last[1] > before[1]:
            return last
        time.sleep(0.2)
    return last


with Harness() as h:
    rec = os.path.join(h.tmp, "call.wav")
    relay = h.relay(timeout=120)
    host = h.host("host", relay.port, ["--audio-in", "tone:440", "--audio-out", "null"], timeout=90)
    member = h.participant("recorder", relay.port, host.meeting_id,
                           ["--audio-in", "silence", "--audio-out", "wav:" + rec], timeout=90, wrap=WRAP)
    joined = member.wait("joined", timeout=15)
    h.check("the recording member joins", joined is not None)
    ev = member.wait("recording_failed", timeout=15)
    h.check("recording_failed is reported when the file cannot grow", ev is not None, member.raw[-5:])
    ev = ev or {}
    h.check("it names the file", ev.get("path") == rec, ev)
    h.check("it gives the write's error (EFBIG)", ev.get("error") == os.strerror(errno.EFBIG), ev)
    h.check("it says how much audio the file holds", ev.get("recorded_ms") == SAMPLES * 1000 // 48000, ev)

    # the call goes on: still running, still receiving the host; the lost frames are counted
    host_index = joined["leader"] if joined else None
    first = stats(member, host_index)
    h.check("the member answers after the failure", first is not None and member.p.poll() is None,
            (first, member.p.poll()))
    later = rises(member, host_index, first or (0, 0))
    h.check("it keeps receiving the host's audio and counting the frames it does not record",
            first is not None and later is not None and later[0] > first[0] and later[1] > first[1] > 0,
            (first, later))
    h.check("still exactly one recording_failed", len(member.all("recording_failed")) == 1,
            member.all("recording_failed"))
    h.check("the host still has the member", not host.all("participant_left"), host.all("participant_left"))

    # the file: a valid WAV of exactly what fit under the limit
    size = os.path.getsize(rec) if os.path.exists(rec) else -1
    h.check("the file stopped at the limit", size == LIMIT, size)
    try:
        with wave.open(rec) as w:
            shape = (w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getnframes())
    except (OSError, EOFError, wave.Error) as e:
        shape = repr(e)
    h.check("the file is a valid WAV of the audio written (mono, 16 bit, 48 kHz)", shape == (1, 2, 48000, SAMPLES), shape)

    member.send("leave")
    rc = member.exit_code(10)
    h.check("the member leaves with status 0", rc == 0, (rc, member.err[-5:]))
    h.check("one recording_failed in all it printed", len(member.all("recording_failed")) == 1,
            member.all("recording_failed"))
    host.send("leave")
    h.check("the host leaves with status 0", host.exit_code(10) == 0, host.p.poll())

sys.exit(h.finish())
