#!/usr/bin/env python3
"""Audio end to end through a real relay on loopback: `hushcall host` sends speech made here with
espeak-ng (--audio-in wav:FILE), a `hushcall join` member records what it plays (--audio-out
wav:FILE), and tests/tools/audiocmp compares the recording with what was sent (performance.md
section 7: lag, normalised cross-correlation, gaps). Everything in between is the real thing:
Opus, SFrame E2EE, UDP to `hushcall relay` and back, the jitter buffer, FEC/PLC.

This runs in real time, so it asserts what holds however busy the machine is: the member holds
the key before the first word, the speech arrives decrypted and decoded as the speech that was
sent (correlation >= 0.5, where a wrong or garbled stream gives about 0), the relay's loss is
seen, and in a mix every talker is heard. How good it sounds is a property of the pipeline that
a stalled CPU can spoil at any moment, so it is asserted on simulated time instead
(audio_pipe.sh: clean >= 0.90, 5 % loss >= 0.85 with no gap, 20 % loss + jitter >= 0.75), and
measured in real time by make bench; the figures of this run are printed too.

  clean                                   corr >= 0.5
  relay --impair loss=5,seed=N            corr >= 0.5, the loss counted by the member
  relay --impair loss=20,jitter=20,seed=N corr >= 0.5
  three talkers (two speeches, one tone) mixed at a fourth participant: each talker is in the
  mix (correlation with each speech well above that with a speech nobody sent; the tone's
  frequency carries its share of the power)

The speech files start with 3 s of silence (longer on a busy machine), so every member has
joined and holds the meeting key before the first word (a member records from its own start; audiocmp finds the lag). The
three single-talker runs use three relays at once; then the mix. Every process runs under
`timeout` and is stopped by the harness."""
import json
import os
import struct
import subprocess
import sys
import time
import wave

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hclib import SLOW, Harness, scaled, tone_of  # noqa: E402

BUILD = os.environ.get("HC_BUILD", os.path.join(os.path.dirname(__file__), "..", "..", "build"))
CMP = os.path.join(BUILD, "tools", "audiocmp")
PAD_IDLE_S = 3.0       # the silence before the first word on an idle machine
PAD_S = scaled(PAD_IDLE_S)
CORRECT = 0.5          # the right speech, decoded (see above); quality is audio_pipe.sh's
TONE_HZ = 1000

TEXT_A = ("The quick brown fox jumps over the lazy dog. Hushcall sends its audio end to end encrypted, "
          "and the jitter buffer keeps it smooth while packets are lost.")
TEXT_B = ("Seven silver swans swam silently seaward, while a bright yellow kite drifted high above "
          "the old harbour wall on a windy afternoon.")
TEXT_C = ("Nobody sends this sentence: it is the control that a mix must not resemble, about numbers "
          "like forty two, maps, rivers and mountains.")


def espeak(path, text, voice=None):
    argv = ["espeak-ng", "-w", path]
    if voice:
        argv += ["-v", voice]
    subprocess.run(argv + [text], check=True, timeout=60)


def read_wav(path):
    with wave.open(path) as w:
        assert w.getsampwidth() == 2 and w.getnchannels() == 1
        return w.getframerate(), w.readframes(w.getnframes())


def write_wav(path, rate, frames):
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(frames)


def padded(src, dst, pad_s=PAD_S, tail_s=0.5):
    rate, frames = read_wav(src)
    write_wav(dst, rate, b"\0\0" * int(pad_s * rate) + frames + b"\0\0" * int(tail_s * rate))
    return (len(frames) // 2) / rate


def tone_wav(dst, hz, seconds, amp, pad_s=PAD_S, rate=48000):
    import math
    n = int(seconds * rate)
    body = b"".join(struct.pack("<h", int(amp * 32767 * math.sin(2 * math.pi * hz * i / rate))) for i in range(n))
    write_wav(dst, rate, b"\0\0" * int(pad_s * rate) + body)


def cmp(ref, rec, max_lag_ms=4000):
    out = subprocess.run([CMP, ref, rec, "--max-lag-ms", str(max_lag_ms)], capture_output=True, text=True, timeout=scaled(120))
    if out.returncode != 0:
        raise RuntimeError("audiocmp failed: " + out.stderr)
    return json.loads(out.stdout)


def stats_of(p, sender_index):
    """Asks for a stats line; returns the entry for sender_index (or {})."""
    since = p.count()
    p.send("stats")
    ev = p.wait("stats", timeout=5, since=since)
    for s in (ev or {}).get("senders", []):
        if s.get("index") == sender_index:
            return s
    return {}


def call(h, name, impair, ref, rec, speech_s):
    """Starts a relay (with impairment), a host sending ref and a member recording to rec.
    Returns a dict with the processes (the caller waits and stops)."""
    args = ["--impair", impair] if impair else []
    relay = h.relay(*args, timeout=120)
    t_host = time.time()                 # its speech starts PAD_S after this
    host = h.host(name + "-host", relay.port, ["--audio-in", "wav:" + ref, "--audio-out", "null"], timeout=90)
    member = h.participant(name + "-member", relay.port, host.meeting_id,
                           ["--audio-in", "silence", "--audio-out", "wav:" + rec], timeout=90)
    return {"name": name, "relay": relay, "host": host, "member": member, "t0": time.time(), "speech_s": speech_s,
            "ref": ref, "rec": rec, "t_host": t_host}


def key_before_first_word(p, t_host):
    """p held a key (a key_epoch event) by the time the host's speech starts, less half a second."""
    by = t_host + PAD_S - 0.5
    ev = p.wait("key_epoch", timeout=max(0.0, by - time.time()) / SLOW)
    return ev is not None and ev["_at"] <= by


def joined_in_time(c):
    """The member holds a key before the speech starts (the pad)."""
    return key_before_first_word(c["member"], c["t_host"])


def finish(c):
    """Waits until the host's speech is over (plus playout), then the member's stats, leave."""
    host_index = (c["host"].all("joined") or [{}])[0].get("index")
    end = c["t0"] + PAD_S + c["speech_s"] + 1.5
    while time.time() < end:
        time.sleep(0.1)
    st = stats_of(c["member"], host_index)
    for p in (c["member"], c["host"]):
        p.send("leave")
    codes = [c["member"].exit_code(10), c["host"].exit_code(10)]
    c["relay"].stop()
    return st, codes


def body(h):
    w = h.tmp
    for n, text, voice in (("a", TEXT_A, None), ("b", TEXT_B, "en-us+f3"), ("c", TEXT_C, None)):
        espeak(os.path.join(w, n + "_raw.wav"), text, voice)
    sa = padded(os.path.join(w, "a_raw.wav"), os.path.join(w, "a.wav"))
    sb = padded(os.path.join(w, "b_raw.wav"), os.path.join(w, "b.wav"))
    padded(os.path.join(w, "c_raw.wav"), os.path.join(w, "c.wav"))
    tone_wav(os.path.join(w, "t.wav"), TONE_HZ, max(sa, sb) + 0.5, 0.08)

    # -- one talker, one listener: clean, 5 % loss, 20 % loss + 20 ms jitter (three relays at once)
    runs = [("clean", None), ("loss5", "loss=5,seed=21"), ("loss20_jitter20", "loss=20,jitter=20,seed=22")]
    calls = [call(h, n, imp, os.path.join(w, "a.wav"), os.path.join(w, "rec_%s.wav" % n), sa) for n, imp in runs]
    for c in calls:
        h.check("audio_e2e %s: the member holds the key before the speech starts" % c["name"], joined_in_time(c))
    res = {}
    for c in calls:
        st, codes = finish(c)
        h.check("audio_e2e %s: host and member leave cleanly" % c["name"], codes == [0, 0], codes)
        try:
            r = cmp(os.path.join(w, "a.wav"), c["rec"])
        except Exception as e:  # noqa: BLE001
            h.check("audio_e2e %s: recording compared" % c["name"], False, e)
            continue
        res[c["name"]] = (r, st)
        print("# %s: corr %.4f lag %.1f ms longest_gap %s ms gap_frames %s/%s | member sees host: received %s "
              "lost %s fec %s concealed %s late %s jitter %s ms delay %s ms" %
              (c["name"], r["corr"], r["lag_ms"], r["longest_gap_ms"], r["gap_frames"], r["speech_frames"],
               st.get("received"), st.get("lost"), st.get("fec_recovered"), st.get("concealed"),
               st.get("late"), st.get("jitter_ms"), st.get("delay_ms")), flush=True)
    if "clean" in res:
        r, st = res["clean"]
        h.check("audio_e2e clean: the speech arrives (correlation %.4f >= %.1f, lag %.1f ms, %s received)" %
                (r["corr"], CORRECT, r["lag_ms"], st.get("received")), r["corr"] >= CORRECT, r)
    if "loss5" in res:
        r, st = res["loss5"]
        h.check("audio_e2e 5%% loss: the speech arrives (correlation %.4f >= %.1f; lost %s, %s rebuilt by FEC, "
                "%s concealed)" % (r["corr"], CORRECT, st.get("lost"), st.get("fec_recovered"), st.get("concealed")),
                r["corr"] >= CORRECT, r)
        h.check("audio_e2e 5%% loss: the relay's loss is seen (%s lost of %s)" % (st.get("lost"), st.get("received")),
                (st.get("lost") or 0) > 0, st)
    if "loss20_jitter20" in res:
        r, st = res["loss20_jitter20"]
        h.check("audio_e2e 20%% loss + 20 ms jitter: the speech arrives (correlation %.4f >= %.1f; lost %s, FEC %s, "
                "delay %s ms)" % (r["corr"], CORRECT, st.get("lost"), st.get("fec_recovered"), st.get("delay_ms")),
                r["corr"] >= CORRECT, r)

    # -- three talkers mixed at a fourth: speech A (host), speech B, a tone; D records
    relay = h.relay(timeout=120)
    t_host = time.time()
    host = h.host("talker-a", relay.port, ["--audio-in", "wav:" + os.path.join(w, "a.wav"), "--audio-out", "null"],
                  timeout=90)
    t0 = time.time()
    rec = os.path.join(w, "rec_mix.wav")
    b = h.participant("talker-b", relay.port, host.meeting_id,
                      ["--audio-in", "wav:" + os.path.join(w, "b.wav"), "--audio-out", "null"], timeout=90)
    t = h.participant("talker-tone", relay.port, host.meeting_id,
                      ["--audio-in", "wav:" + os.path.join(w, "t.wav"), "--audio-out", "null"], timeout=90)
    d = h.participant("listener", relay.port, host.meeting_id, ["--audio-in", "silence", "--audio-out", "wav:" + rec],
                      timeout=90)
    keyed = [key_before_first_word(p, t_host) for p in (b, t, d)]
    h.check("audio_e2e mix: every talker and the listener hold a key before the first word", all(keyed), keyed)
    while time.time() < t0 + PAD_S + max(sa, sb) + 2.0:
        time.sleep(0.1)
    for p in (d, b, t, host):
        p.send("leave")
    codes = [p.exit_code(10) for p in (d, b, t, host)]
    relay.stop()
    h.check("audio_e2e mix: everyone leaves cleanly", codes == [0, 0, 0, 0], codes)
    try:
        ra = cmp(os.path.join(w, "a.wav"), rec, 5000)
        rb = cmp(os.path.join(w, "b.wav"), rec, 5000)
        rc = cmp(os.path.join(w, "c.wav"), rec, 5000)
        rt = tone_of(rec, TONE_HZ, 700)
        rt_a = tone_of(os.path.join(w, "rec_clean.wav"), TONE_HZ) if "clean" in res else {"share_%d" % TONE_HZ: 0}
    except Exception as e:  # noqa: BLE001
        h.check("audio_e2e mix: recording compared", False, e)
        return
    share = rt["share_%d" % TONE_HZ]
    print("# mix: corr with speech A %.4f (lag %.1f ms), speech B %.4f (lag %.1f ms), a speech nobody sent %.4f; "
          "%d Hz share %.3f (%.3f in the clean one-talker recording); rms %.1f dBFS" %
          (ra["corr"], ra["lag_ms"], rb["corr"], rb["lag_ms"], rc["corr"], TONE_HZ, share,
           rt_a["share_%d" % TONE_HZ], rt["rms_dbfs"]), flush=True)
    # Alone a talker correlates ~0.95 with the recording; mixed with another speech and a tone of
    # similar power, about sqrt(its share of the power); a speech nobody sent stays near 0.
    ctl = rc["corr"]
    h.check("audio_e2e mix: talker A is in the mix (corr %.3f >= 0.25 and >= 4x the control's %.3f)" %
            (ra["corr"], ctl), ra["corr"] >= 0.25 and ra["corr"] >= 4 * ctl, ra)
    h.check("audio_e2e mix: talker B is in the mix (corr %.3f >= 0.25 and >= 4x the control's %.3f)" %
            (rb["corr"], ctl), rb["corr"] >= 0.25 and rb["corr"] >= 4 * ctl, rb)
    h.check("audio_e2e mix: the tone talker is in the mix (%d Hz power share %.3f >= 0.05, vs %.3f without it)" %
            (TONE_HZ, share, rt_a["share_%d" % TONE_HZ]), share >= 0.05 and share >= 5 * rt_a["share_%d" % TONE_HZ],
            rt)


for tool in ("espeak-ng",):
    if subprocess.run(["sh", "-c", "command -v " + tool], capture_output=True).returncode:
        print("FAIL: audio_e2e (%s missing; the Makefile installs it)" % tool)
        sys.exit(1)
if not os.access(CMP, os.X_OK):
    print("FAIL: audio_e2e (%s not built; run make tests-build)" % CMP)
    sys.exit(1)
with Harness() as h:
    body(h)
sys.exit(h.finish())
