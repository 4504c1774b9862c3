#!/usr/bin/env bash
# audio_call: what a 1:1 call costs, measured on real `hushcall` processes through a real relay on
# loopback (performance.md G4, G10). Nothing is asserted.
#
# 1. Both talking for 30 s: the host sends espeak-ng speech (with its natural pauses; converted
#    to 48 kHz here first, as a microphone delivers it, so the figure is not that of resampling a
#    22.05 kHz file), the member a steady 440 Hz tone; each decodes the other. CPU of each participant process over the 30 s
#    (utime + stime from /proc/PID/stat, as getrusage would give it), target <= 3 % of one core.
# 2. The same at --bitrate 24000 for 10 s (the bitrate goal G10 is stated for).
# 3. Both silent for 10 s: Opus DTX (frames that are DTX are not sent).
# Wire bitrate per stream from the sender's own counters (payload = u16 seq + Opus, and packets)
# plus the fixed per-packet framing: relay header 2 B, SFrame header 7 B (config, 4-byte KID,
# 2-byte CTR), AEAD tag 16 B, UDP 8 B, IPv4 20 B = 53 B. The relay's own count of media
# datagrams received (--stats-interval) cross-checks the packet rate.
# Targets (G10): <= 48 kbit/s per active stream (that goal is for 24 kbit/s Opus; hushcall's
# default is 32 kbit/s), <= 4 kbit/s in silence.
set -u
HC_ROOT=${HC_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
HC_BIN=${HC_BIN:-$HC_ROOT/build/hushcall}
[ -x "$HC_BIN" ] || { echo "audio_call: skipped: $HC_BIN not built"; exit 0; }
command -v espeak-ng >/dev/null || { echo "audio_call: skipped: espeak-ng missing"; exit 0; }
export HC_BIN
PYTHONPATH=$HC_ROOT/tests/e2e exec timeout 300 python3 - <<'PY'
import array, json, os, shutil, subprocess, time, wave
from hclib import Harness

OVERHEAD = 2 + 7 + 16 + 8 + 20          # bytes per media datagram beyond the payload (see above)
TEXT = ("The quick brown fox jumps over the lazy dog. Hushcall sends its audio end to end encrypted, "
        "and the jitter buffer keeps it smooth while packets are lost. Seven silver swans swam silently "
        "seaward, while a bright yellow kite drifted high above the old harbour wall on a windy afternoon. ")
TICK = os.sysconf("SC_CLK_TCK")


def cpu_s(p):
    """utime + stime of the hushcall process under `timeout`, in seconds."""
    kids = p._children()
    pid = kids[0] if kids else p.p.pid
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def stats(p):
    since = p.count()
    p.send("stats")
    return p.wait("stats", timeout=5, since=since) or {}


def relay_media_in(relay):
    st = [e for e in relay.events if e.get("event") == "stats"]
    return (st[-1]["media_in"], st[-1]["uptime_ms"]) if st else (0, 0)


def stream(name, tx0, tx1, secs, frame_ms):
    frames, nbytes = tx1["frames"] - tx0["frames"], tx1["bytes"] - tx0["bytes"]
    dtx = tx1["dtx_skipped"] - tx0["dtx_skipped"]
    pps = frames / secs
    payload_kbps = nbytes * 8 / secs / 1000
    wire_kbps = (nbytes + OVERHEAD * frames) * 8 / secs / 1000
    active = frames * frame_ms / 1000.0          # seconds of audio actually sent
    act_kbps = (nbytes + OVERHEAD * frames) * 8 / active / 1000 if frames else 0
    print("  %-28s %6.1f pkt/s, payload %5.1f kbit/s, wire %5.1f kbit/s averaged over %.0f s; "
          "while sending (%.0f%% of frames; %d DTX frames not sent) %5.1f kbit/s on the wire, %.1f B/packet payload"
          % (name, pps, payload_kbps, wire_kbps, secs, 100.0 * frames / max(1, frames + dtx), dtx, act_kbps,
             nbytes / max(1, frames)))
    return wire_kbps, act_kbps


h = Harness()                  # (not `with`: its exit prints a PASS line, out of place in a benchmark)
try:
    w = h.tmp
    raw = os.path.join(w, "s22.wav")
    subprocess.run(["espeak-ng", "-w", raw, TEXT * 2], check=True, timeout=60)
    with wave.open(raw) as r:
        rate = r.getframerate()
        x = array.array("h", r.readframes(r.getnframes()))
    n = int(len(x) * 48000 / rate)
    y = array.array("h", bytes(2 * n))
    for i in range(n):                       # linear interpolation is enough for a CPU figure
        t = i * rate / 48000.0
        k = int(t)
        f = t - k
        y[i] = int(x[k] * (1 - f) + (x[k + 1] if k + 1 < len(x) else 0) * f)
    raw = os.path.join(w, "s.wav")
    with wave.open(raw, "wb") as o:
        o.setnchannels(1)
        o.setsampwidth(2)
        o.setframerate(48000)
        o.writeframes(y.tobytes())
    secs = n / 48000
    print("speech: %.1f s of espeak-ng (looped text), 32 kbit/s Opus VOIP 20 ms, FEC and DTX on" % secs)

    relay = h.relay("--stats-interval", "1", timeout=200)
    host = h.host("speaker", relay.port, ["--audio-in", "wav:" + raw, "--audio-out", "null"], timeout=200)
    member = h.participant("toner", relay.port, host.meeting_id, ["--audio-in", "tone:440", "--audio-out", "null"],
                           timeout=200)
    member.wait("key_epoch", timeout=10)
    time.sleep(2.0)
    c0 = {p.name: cpu_s(p) for p in (host, member)}
    s0 = {p.name: stats(p)["tx"] for p in (host, member)}
    m0 = relay_media_in(relay)
    t0 = time.time()
    time.sleep(30.0)
    el = time.time() - t0
    c1 = {p.name: cpu_s(p) for p in (host, member)}
    s1 = {p.name: stats(p)["tx"] for p in (host, member)}
    m1 = relay_media_in(relay)
    print("1:1 call, both talking, %.1f s:" % el)
    for p, what in ((host, "sends speech, decodes a tone"), (member, "sends a tone, decodes speech")):
        print("  client CPU %-8s %5.2f%% of one core (%s)   target <= 3%%"
              % (p.name, 100.0 * (c1[p.name] - c0[p.name]) / el, what))
    stream("speech stream (host)", s0["speaker"], s1["speaker"], el, 20)
    stream("tone stream (member)", s0["toner"], s1["toner"], el, 20)
    if m1[1] > m0[1]:
        print("  relay side: %.1f media datagrams/s received from the two (both streams together)"
              % ((m1[0] - m0[0]) * 1000.0 / (m1[1] - m0[1])))
    for p in (host, member):
        p.send("leave")
    [p.exit_code(10) for p in (host, member)]

    # the same at 24 kbit/s
    br = ["--bitrate", "24000"]
    host = h.host("speaker24", relay.port, ["--audio-in", "wav:" + raw, "--audio-out", "null"] + br, timeout=100)
    member = h.participant("toner24", relay.port, host.meeting_id, ["--audio-in", "tone:440", "--audio-out", "null"] + br,
                           timeout=100)
    member.wait("key_epoch", timeout=10)
    time.sleep(2.0)
    s0 = {p.name: stats(p)["tx"] for p in (host, member)}
    t0 = time.time()
    time.sleep(10.0)
    el = time.time() - t0
    s1 = {p.name: stats(p)["tx"] for p in (host, member)}
    print("the same with --bitrate 24000, %.1f s:   target <= 48 kbit/s per active stream" % el)
    stream("speech stream (host)", s0["speaker24"], s1["speaker24"], el, 20)
    stream("tone stream (member)", s0["toner24"], s1["toner24"], el, 20)
    for p in (host, member):
        p.send("leave")
    [p.exit_code(10) for p in (host, member)]

    # silence: DTX
    host = h.host("quiet-a", relay.port, ["--audio-in", "silence", "--audio-out", "null"], timeout=100)
    member = h.participant("quiet-b", relay.port, host.meeting_id, ["--audio-in", "silence", "--audio-out", "null"],
                           timeout=100)
    member.wait("key_epoch", timeout=10)
    time.sleep(2.0)
    s0 = stats(host)["tx"]
    m0 = relay_media_in(relay)
    c0 = cpu_s(host)
    t0 = time.time()
    time.sleep(10.0)
    el = time.time() - t0
    s1 = stats(host)["tx"]
    m1 = relay_media_in(relay)
    c1 = cpu_s(host)
    print("both silent (digital silence -> Opus DTX), %.1f s:" % el)
    stream("silent stream", s0, s1, el, 20)
    print("  target <= 4 kbit/s in silence; client CPU %.2f%% of one core" % (100.0 * (c1 - c0) / el))
    if m1[1] > m0[1]:
        print("  relay side: %.1f media datagrams/s received from the two" % ((m1[0] - m0[0]) * 1000.0 / (m1[1] - m0[1])))
    for p in (host, member):
        p.send("leave")
    [p.exit_code(10) for p in (host, member)]
    relay.stop()
finally:
    h.stop_all()
    shutil.rmtree(h.tmp, ignore_errors=True)
PY
