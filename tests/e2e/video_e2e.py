#!/usr/bin/env python3
"""Video through a real relay on loopback: a host sends the built-in pattern (each picture
stamped with its frame number and capture time), members record what they decode
(--video-out y4m:FILE) and tests/tools/videocmp draws each recorded picture's original again
from its stamp, so quality and loss are measured on what a receiver actually showed.

Asserted, per scenario (each with a relay of its own):
  clean      every frame number between the first and the last shown arrives, PSNR-Y >= 32 dB
             for every picture; a member joining 5 s later shows the host's video within 1 s of
             holding the key (its video_started against its key_epoch);
  loss 5 %   (relay --impair loss=5, seeded) every picture shown is clean (>= 30 dB: a damaged
             one is never shown), each freeze after a loss ends within 500 ms of sender time,
             and the receiver's keyframe requests are counted (receiver and relay);
  tamper     (--attack tamper-media) modified video fragments fail authentication (counted as
             video_decrypt_fail, alert media_auth_failed) and no damaged picture is shown;
  replay     (--attack replay-media) replayed video fragments are caught (video_replay) and no
             picture is shown twice.
Every process runs under `timeout` and is stopped by the harness."""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hclib import BUILD, Harness, scaled  # noqa: E402

VIDEOCMP = os.path.join(BUILD, "tools", "videocmp")


def videocmp(path):
    out = subprocess.run([VIDEOCMP, path], capture_output=True, text=True, timeout=scaled(60))
    try:
        return json.loads(out.stdout)
    except ValueError:
        return {"error": out.stderr}


def stats(p, timeout=5):
    since = p.count()
    p.send("stats")
    return p.wait("stats", timeout=timeout, since=since) or {}


def sender_stats(st, index):
    s = [x for x in st.get("senders", []) if x.get("index") == index]
    return s[0] if s else {}


def video_rx(st, index):
    s = [x for x in st.get("video", {}).get("rx", []) if x.get("index") == index]
    return s[0] if s else {}


def call(h, relay_args, name, seconds, late=False):
    """A host sending the pattern and one recording member; returns (host, member, recording)."""
    relay = h.relay(*relay_args, "--stats-interval", "1", timeout=120)
    host = h.host("host-" + name, relay.port, ["--video-in", "pattern"], timeout=90)
    rec = os.path.join(h.tmp, name + ".y4m")
    m = h.participant("rec-" + name, relay.port, host.meeting_id,
                      ["--audio-in", "silence", "--video-out", "y4m:" + rec], timeout=90)
    joined = m.wait("joined", timeout=15)
    h.check("%s: the member joins" % name, joined is not None, m.raw[-5:])
    started = m.wait("video_started", timeout=10)
    h.check("%s: the host's video starts at the member" % name, started is not None and joined is not None
            and started.get("index") == joined.get("leader"), (started, m.raw[-5:]))
    time.sleep(seconds)
    return relay, host, m, rec, (joined or {}).get("leader")


with Harness() as h:
    # -- clean, and a late joiner
    relay, host, m, rec, hi = call(h, [], "clean", 5)
    late_rec = os.path.join(h.tmp, "late.y4m")
    late = h.participant("late", relay.port, host.meeting_id,
                         ["--audio-in", "silence", "--video-out", "y4m:" + late_rec], timeout=90)
    key = late.wait("key_epoch", timeout=15)
    vs = late.wait("video_started", timeout=10)
    h.check("clean: a late joiner is keyed", key is not None, late.raw[-5:])
    dt = (vs["t_ms"] - key["t_ms"]) if key and vs else None
    print("late: the first picture came %s ms after the key" % dt, flush=True)
    h.check("clean: the late joiner shows video within 1 s of holding the key", dt is not None and dt <= 1000,
            (dt, late.raw[-6:]))
    time.sleep(3)
    st = stats(m)
    m.send("leave")
    late.send("leave")
    m.exit_code(timeout=10)
    late.exit_code(timeout=10)
    r = videocmp(rec)
    print("clean:", json.dumps(r), flush=True)
    h.check("clean: pictures recorded", r.get("stamped", 0) >= 80, r)
    h.check("clean: every frame number arrives (none missing between first and last)", r.get("missing") == 0, r)
    h.check("clean: PSNR-Y >= 32 dB for every picture", r.get("psnr_min", 0) >= 32, r)
    h.check("clean: no picture shown twice", r.get("repeats") == 0, r)
    rl = videocmp(late_rec)
    print("late:", json.dumps(rl), flush=True)
    h.check("clean: the late joiner's pictures are clean (>= 32 dB, none missing)",
            rl.get("stamped", 0) >= 20 and rl.get("psnr_min", 0) >= 32 and rl.get("missing") == 0, rl)
    vr = video_rx(st, hi)
    h.check("clean: stats count the decoded pictures", vr.get("decoded", 0) >= 80 and vr.get("fps", 0) > 10, vr)
    # capture -> decoded on one machine: percentiles over a window of pictures, in order
    h.check("clean: stats give the video latency percentiles",
            vr.get("latency_window", 0) >= 50 and
            0 <= vr.get("latency_p50_ms", -1) <= vr.get("latency_p95_ms", -1) <= vr.get("latency_max_ms", -1), vr)
    h.stop_all()

    # -- 5 % loss on every forwarded datagram
    relay, host, m, rec, hi = call(h, ["--impair", "loss=5,seed=7"], "loss", 12)
    st = stats(m)
    rs = relay.all("stats")
    m.send("leave")
    m.exit_code(timeout=10)
    r = videocmp(rec)
    print("loss:", json.dumps(r), flush=True)
    vr = video_rx(st, hi)
    print("loss: receiver", json.dumps(vr), flush=True)
    h.check("loss: pictures recorded", r.get("stamped", 0) >= 100, r)
    h.check("loss: frames were lost (the impairment works)", r.get("missing", 0) > 0, r)
    h.check("loss: every picture shown is clean (PSNR-Y >= 30 dB)", r.get("psnr_min", 0) >= 30, r)
    h.check("loss: each freeze ends within 500 ms of the loss", 0 < r.get("recovery_ms_max", 0) <= 500, r)
    h.check("loss: the receiver counts its keyframe requests", vr.get("keyframe_requests", 0) > 0, vr)
    last = rs[-1] if rs else {}
    h.check("loss: the relay counts keyframe requests", last.get("video", {}).get("keyreq_in", 0) > 0,
            last.get("video"))
    vm = [x for x in last.get("video_meetings", []) if x.get("meeting_id") == host.meeting_id]
    h.check("loss: the relay counts this meeting's video apart (datagrams, frames, keyframes, requests)",
            len(vm) == 1 and vm[0].get("in", 0) > 100 and vm[0].get("frames", 0) > 50 and
            vm[0].get("keyframes", 0) > 0 and vm[0].get("keyreq_in", 0) > 0 and vm[0].get("cameras") == 1 and
            vm[0].get("in") <= last.get("video", {}).get("in", 0), last.get("video_meetings"))
    h.stop_all()

    # -- a relay that modifies media
    relay, host, m, rec, hi = call(h, ["--attack", "tamper-media"], "tamper", 5)
    st = stats(m)
    alert = m.wait("security_alert", timeout=5, kind="media_auth_failed")
    m.send("leave")
    m.exit_code(timeout=10)
    s = sender_stats(st, hi)
    h.check("tamper: modified video fragments fail authentication", s.get("video_decrypt_fail", 0) > 0, s)
    h.check("tamper: the alert is raised", alert is not None, m.raw[-5:])
    r = videocmp(rec)
    print("tamper:", json.dumps(r), flush=True)
    h.check("tamper: no damaged picture is shown", r.get("stamped", 0) > 20 and r.get("psnr_min", 0) >= 30, r)
    h.stop_all()

    # -- a relay that replays media
    relay, host, m, rec, hi = call(h, ["--attack", "replay-media"], "replay", 5)
    st = stats(m)
    m.send("leave")
    m.exit_code(timeout=10)
    s = sender_stats(st, hi)
    h.check("replay: replayed video fragments are caught", s.get("video_replay", 0) > 0, s)
    r = videocmp(rec)
    print("replay:", json.dumps(r), flush=True)
    h.check("replay: no picture is shown twice", r.get("stamped", 0) > 20 and r.get("repeats") == 0, r)
    h.stop_all()

sys.exit(h.finish())
