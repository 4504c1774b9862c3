#!/usr/bin/env python3
"""The real PortAudio path in a call: two `hushcall` participants (host + join, headless) with
--audio-in device and --audio-out device, through a real relay, on a private PulseAudio that this
test starts itself (tests/pulse-ctl.sh, headless-audio.md). Four extra null sinks:

  micA  <- pacat plays a 1000 Hz tone     A: PULSE_SOURCE=micA.monitor PULSE_SINK=spkA
  micB  <- pacat plays a 1500 Hz tone     B: PULSE_SOURCE=micB.monitor PULSE_SINK=spkB
  spkA  -> parec records what A plays
  spkB  -> parec records what B plays

So each participant captures its own tone from its "microphone" through PortAudio, sends it
(Opus, SFrame, UDP, relay), and plays what it receives to its "speaker" through PortAudio. A's
speaker must carry B's 1500 Hz and not A's own 1000 Hz; B's the other way round.

PulseAudio, its tools and ALSA's pulse plugin are installed by the Makefile, so when one is
missing or the daemon does not start, that is a failure (saying why), not a skip. Every process
runs under `timeout`; the participants and the pacat/parec clients are stopped before the daemon
(a client hangs if the daemon goes first)."""
import json
import math
import os
import re
import shutil
import struct
import subprocess
import sys
import time
import wave

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hclib import Harness, tone_of  # noqa: E402

ROOT = os.environ.get("HC_ROOT", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
BUILD = os.environ.get("HC_BUILD", os.path.join(ROOT, "build"))
CMP = os.path.join(BUILD, "tools", "audiocmp")
CTL = os.path.join(ROOT, "tests", "pulse-ctl.sh")
PULSE_PLUGIN = "/usr/lib/x86_64-linux-gnu/alsa-lib/libasound_module_pcm_pulse.so"
RATE = 48000
F_A, F_B = 1000, 1500
CALL_S = 8.0
NAME = "audio_device_call"


class GiveUp(Exception):
    pass


def give_up(reason):
    """PulseAudio did not start although everything it needs is installed: a failure."""
    print("FAIL: %s (%s)" % (NAME, reason), flush=True)
    raise GiveUp()


def tone_raw(path, hz, seconds, amp=0.4):
    n = int(seconds * RATE)
    with open(path, "wb") as f:
        f.write(b"".join(struct.pack("<h", int(amp * 32767 * math.sin(2 * math.pi * hz * i / RATE)))
                         for i in range(n)))


def raw_to_wav(raw, wav_path):
    with open(raw, "rb") as f:
        data = f.read()
    data = data[: len(data) // 2 * 2]
    with wave.open(wav_path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(data)
    return len(data) // 2 / RATE


# The Makefile installs all of these: a missing one is a failure, not a reason to skip.
for t in ("pulseaudio", "pactl", "parec", "pacat"):
    if not shutil.which(t):
        print("FAIL: %s (%s is not installed; the Makefile installs pulseaudio and pulseaudio-utils)" % (NAME, t))
        sys.exit(1)
if not os.path.exists(PULSE_PLUGIN):
    print("FAIL: %s (ALSA's pulse plugin is missing: libasound2-plugins, which the Makefile installs)" % NAME)
    sys.exit(1)
if not os.access(CMP, os.X_OK):
    print("FAIL: %s (%s not built; run make tests-build)" % (NAME, CMP))
    sys.exit(1)

h = Harness()
work = h.tmp
pa_dir = os.path.join(work, "pa")
env = dict(os.environ, PA_DIR=pa_dir, PA_EXTRA_SINKS="micA micB spkA spkB")
# Under ASan, ALSA's pcm plugins leak a few allocations in their constructors and are dlclose'd
# before exit ("<unknown module>"): collect LeakSanitizer's reports in files, judge them below.
env["LSAN_OPTIONS"] = "exitcode=0:log_path=%s/lsan%s" % (work, (":" + os.environ["LSAN_OPTIONS"]) if os.environ.get("LSAN_OPTIONS") else "")
clients = []


def stop_clients():
    for p in clients:
        if p.poll() is None:
            p.terminate()
    for p in clients:
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


started = False
try:
    r = subprocess.run(["sh", CTL, "start"], env=env, capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        log = ""
        try:
            with open(os.path.join(pa_dir, "pulse.log")) as f:
                log = " ".join(f.read().splitlines()[-3:])
        except OSError:
            pass
        give_up("PulseAudio could not start: %s %s" % ((r.stdout + r.stderr).strip()[-200:], log[-200:]))
    started = True
    m = re.search(r"PULSE_SERVER=(\S+) PULSE_COOKIE=(\S+)",
                  subprocess.run(["sh", CTL, "env"], env=env, capture_output=True, text=True).stdout)
    env["PULSE_SERVER"], env["PULSE_COOKIE"] = m.group(1), m.group(2)
    pa_env = dict(env)
    pa_env.pop("LSAN_OPTIONS", None)

    # the "microphones": each plays its participant's tone (longer than the call)
    for name, hz in (("micA", F_A), ("micB", F_B)):
        raw = os.path.join(work, name + ".raw")
        tone_raw(raw, hz, CALL_S + 10)
        clients.append(subprocess.Popen(["timeout", "60", "pacat", "--playback", "-d", name, "--raw",
                                         "--format=s16le", "--rate=%d" % RATE, "--channels=1", "--latency-msec=20", raw],
                                        env=pa_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    # the "speakers": record what each participant plays
    recs = {}
    for name in ("spkA", "spkB"):
        raw = os.path.join(work, name + ".raw")
        recs[name] = raw
        f = open(raw, "wb")
        clients.append(subprocess.Popen(["timeout", "60", "parec", "-d", name + ".monitor", "--raw", "--format=s16le",
                                         "--rate=%d" % RATE, "--channels=1", "--latency-msec=10"],
                                        env=pa_env, stdout=f, stderr=subprocess.DEVNULL))
        f.close()

    relay = h.relay(timeout=60)
    dev = ["--audio-in", "device", "--audio-out", "device"]
    a = h.host("dev-a", relay.port, dev, timeout=40,
               env={**env, "PULSE_SOURCE": "micA.monitor", "PULSE_SINK": "spkA"})
    b = h.participant("dev-b", relay.port, a.meeting_id, dev, timeout=40,
                      env={**env, "PULSE_SOURCE": "micB.monitor", "PULSE_SINK": "spkB"})
    ja, jb = a.wait("joined", timeout=10), b.wait("joined", timeout=10)
    h.check("%s: both participants join with device audio" % NAME, ja is not None and jb is not None,
            (a.err[-3:], b.err[-3:]))
    time.sleep(CALL_S)
    st = {}
    for p, other in ((a, jb), (b, ja)):
        since = p.count()
        p.send("stats")
        ev = p.wait("stats", timeout=5, since=since) or {}
        peer = [s for s in ev.get("senders", []) if other and s.get("index") == other.get("index")]
        st[p.name] = (peer[0] if peer else {}, ev.get("tx", {}))
    for p in (a, b):
        p.send("leave")
    codes = [a.exit_code(10), b.exit_code(10)]
    h.check("%s: both leave cleanly (exit 0, no hang in the audio device)" % NAME, codes == [0, 0], codes)
    relay.stop()
    stop_clients()

    for who, spk, hear, own in (("A", "spkA", F_B, F_A), ("B", "spkB", F_A, F_B)):
        wav_path = os.path.join(work, spk + ".wav")
        secs = raw_to_wav(recs[spk], wav_path)
        t = tone_of(wav_path, hear, own)
        peer, tx = st["dev-" + who.lower()]
        print("# %s's speaker (%.1f s recorded): %s | %s hears the other: received %s lost %s concealed %s "
              "delay %s ms | its tx: frames %s, capture overruns %s underruns %s, playback underruns %s overruns %s" %
              (who, secs, json.dumps(t), who, peer.get("received"), peer.get("lost"), peer.get("concealed"),
               peer.get("delay_ms"), tx.get("frames"), tx.get("capture_overruns"), tx.get("capture_underruns"),
               tx.get("playback_underruns"), tx.get("playback_overruns")), flush=True)
        ok = (abs(t["tone_hz"] - hear) <= 5 and t["share_%d" % hear] > 0.5 and t["share_%d" % own] < 0.05
              and t["rms_dbfs"] > -35)
        h.check("%s: %s's speaker carries the other's %d Hz and not its own %d Hz (dominant %.1f Hz, share %.3f vs "
                "own %.3f, %.1f dBFS)" % (NAME, who, hear, own, t["tone_hz"], t["share_%d" % hear],
                                          t["share_%d" % own], t["rms_dbfs"]), ok, t)
        h.check("%s: %s received the other's audio through the relay (%s packets, %s frames sent)" %
                (NAME, who, peer.get("received"), tx.get("frames")),
                (peer.get("received") or 0) >= 100 and (tx.get("frames") or 0) >= 100, (peer, tx))
    leaks = []
    for f in os.listdir(work):
        if not f.startswith("lsan"):
            continue
        with open(os.path.join(work, f)) as fh:
            for block in re.split(r"\n(?=(?:Direct|Indirect) leak)", fh.read()):
                mm = re.search(r"^\s*#1 .*$", block, re.M)
                if mm and re.search(r"audio/|app/|net/|crypto/|ui/", mm.group(0)):
                    leaks.append(block.strip().splitlines()[0] + " " + mm.group(0).strip())
    if leaks:
        h.check("%s: no memory leak in hushcall code" % NAME, False, leaks[:3])
except GiveUp:
    pass
finally:
    h.stop_all()
    stop_clients()
    subprocess.run(["sh", CTL, "stop"], env=env, capture_output=True, timeout=30)
if not started:                        # the daemon did not start: reported above
    shutil.rmtree(work, ignore_errors=True)
    sys.exit(1)
h.__exit__(None, None, None)
sys.exit(h.finish())
