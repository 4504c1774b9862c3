#!/usr/bin/env python3
"""The relay's operator side (issue 12, point 16): one JSON log line per connection opened/closed,
meeting created/ended, member joined/left (index, no names unless --log-names), refusals with
levels (--log-level), and the Prometheus endpoint (--metrics) whose counters move after a call.
Nothing secret or content-bearing may appear in the log: no names, no security code, no chat."""
import json
import os
import socket
import struct
import subprocess
import sys
import time
import urllib.request

from hclib import BIN, FAST_HEARTBEAT_MS, Harness, scaled

FAST = ["--heartbeat-ms", FAST_HEARTBEAT_MS]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def log_lines(lines):
    out = []
    for l in lines:
        l = l.strip()
        if l.startswith("{"):
            try:
                out.append(json.loads(l))
            except ValueError:
                out.append({"event": "UNPARSABLE", "line": l})
    return out


def wait_log(get, pred, timeout=10):
    end = time.time() + scaled(timeout)
    while time.time() < end:
        if any(pred(e) for e in log_lines(get())):
            return True
        time.sleep(0.05)
    return False


def garbage(port):
    """A connection that sends a frame of an unknown version: the relay refuses it (a warn line)."""
    s = socket.create_connection(("127.0.0.1", port))
    body = bytes([99, 1, 0, 0])
    s.sendall(struct.pack(">I", len(body)) + body)
    s.settimeout(scaled(5))
    try:
        while s.recv(4096):
            pass
    except OSError:
        pass
    s.close()


def scrape(port):
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=scaled(5)) as r:
        return r.headers.get("Content-Type", ""), r.read().decode()


def samples(text):
    vals = {}
    for l in text.splitlines():
        if l and not l.startswith("#"):
            k, v = l.rsplit(" ", 1)
            vals[k] = float(v)
    return vals


def call(h, relay, names=("alice", "bob")):
    a = h.host(names[0], relay.port, FAST)
    b = h.participant(names[1], relay.port, a.meeting_id, FAST)
    code = b.wait("security_code", timeout=20)
    a.send("chat hello from the meeting")
    time.sleep(0.2)
    b.stop()
    a.wait("participant_left", timeout=10)
    a.stop()
    return a.meeting_id, code and code.get("code")


with Harness() as h:
    # --- command-line errors ---
    for bad in (["--metrics", "example.com:9400"], ["--metrics", "127.0.0.1"], ["--log-level", "loud"]):
        r = subprocess.run([BIN, "relay"] + bad, capture_output=True, text=True, timeout=scaled(10))
        h.check("relay %s is a command-line error (2)" % " ".join(bad), r.returncode == 2 and "bad value" in r.stderr,
                (r.returncode, r.stderr))

    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    r = subprocess.run([BIN, "relay", "--listen", "127.0.0.1:0", "--metrics", "127.0.0.1:%d" % busy.getsockname()[1]],
                       capture_output=True, text=True, timeout=scaled(10))
    busy.close()
    h.check("a metrics port in use is a runtime error (1) that says so",
            r.returncode == 1 and "cannot serve metrics" in r.stderr and "listening" not in r.stdout, (r.returncode, r.stderr))

    # --- default log (stderr, info) and metrics ---
    mport = free_port()
    relay = h.relay("--metrics", "127.0.0.1:%d" % mport)
    h.check("the listening line names the metrics port", relay.all("listening")[0].get("metrics_port") == mport,
            relay.all("listening"))
    ctype, before = scrape(mport)
    h.check("metrics answer in the Prometheus text format", ctype.startswith("text/plain") and "version=0.0.4" in ctype, ctype)
    b0 = samples(before)
    mid, code = call(h, relay)
    h.check("the call ran (a security code)", bool(code), code)
    ok = wait_log(lambda: relay.err, lambda e: e.get("event") == "meeting_ended" and e.get("meeting_id") == mid)
    h.check("meeting_ended is logged once the last member left", ok, relay.err[-10:])
    garbage(relay.port)
    wait_log(lambda: relay.err, lambda e: e.get("event") == "refused")
    time.sleep(0.2)        # one relay tick for the snapshot
    _, after = scrape(mport)
    a0 = samples(after)
    ev = log_lines(relay.err)
    kinds = [e["event"] for e in ev]
    h.check("every log line is JSON with event, t_ms and level",
            ev and all("t_ms" in e and e.get("level") in ("error", "warn", "info", "debug") for e in ev), relay.err[:5])
    for k in ("connection_opened", "connection_closed", "meeting_created", "member_joined", "member_left",
              "meeting_ended", "refused"):
        h.check("log has %s" % k, k in kinds, kinds)
    opened = [e for e in ev if e["event"] == "connection_opened"]
    h.check("connection_opened carries conn and the source address",
            opened and all(isinstance(e.get("conn"), int) and e.get("addr") == "127.0.0.1" for e in opened), opened)
    joined = [e for e in ev if e["event"] == "member_joined"]
    h.check("two member_joined with the meeting id and distinct indexes, no name",
            len(joined) == 2 and all(e["meeting_id"] == mid and "name" not in e for e in joined)
            and len({e["index"] for e in joined}) == 2, joined)
    left = [e for e in ev if e["event"] == "member_left"]
    h.check("member_left carries index and a reason", left and all("index" in e and e.get("reason") for e in left), left)
    created = [e for e in ev if e["event"] == "meeting_created"]
    h.check("meeting_created names the meeting", [e["meeting_id"] for e in created] == [mid], created)
    ref = [e for e in ev if e["event"] == "refused"]
    h.check("the bad frame is refused at level warn with its code",
            any(e["level"] == "warn" and e.get("code") == "bad_version" for e in ref), ref)
    text = "\n".join(relay.err)
    secrets = ["alice", "bob", "hello from the meeting"] + ([code] if code else []) + (code.split(" ")[:2] if code else [])
    h.check("no name, chat or security code in the log", not any(s in text for s in secrets),
            [s for s in secrets if s in text])

    # metrics: HELP and TYPE for every family, the right types, counters moved by the call
    fams = {}
    for l in after.splitlines():
        if l.startswith("# TYPE "):
            _, _, n, t = l.split(" ")
            fams[n] = t
    helps = {l.split(" ")[2] for l in after.splitlines() if l.startswith("# HELP ")}
    names = {k.split("{")[0] for k in a0}
    h.check("every sample has HELP and TYPE lines", names and names <= set(fams) and names <= helps, names - set(fams))
    h.check("all names are hushcall_relay_*", all(n.startswith("hushcall_relay_") for n in names), names)
    h.check("gauges and counters typed right",
            fams.get("hushcall_relay_meetings") == "gauge" and fams.get("hushcall_relay_members") == "gauge"
            and fams.get("hushcall_relay_connections") == "gauge" and fams.get("hushcall_relay_joins_total") == "counter"
            and all(t == "counter" for n, t in fams.items() if n.endswith("_total")), fams)
    h.check("joins_total and meetings_created_total moved with the call",
            a0.get("hushcall_relay_joins_total", 0) - b0.get("hushcall_relay_joins_total", 0) == 2
            and a0.get("hushcall_relay_meetings_created_total", 0) - b0.get("hushcall_relay_meetings_created_total", 0) == 1,
            (b0.get("hushcall_relay_joins_total"), a0.get("hushcall_relay_joins_total")))
    h.check("media and control counters moved",
            a0.get("hushcall_relay_media_in_total", 0) > b0.get("hushcall_relay_media_in_total", 0)
            and a0.get("hushcall_relay_ctrl_in_total", 0) > b0.get("hushcall_relay_ctrl_in_total", 0), "")
    h.check("the bad frame is counted", a0.get('hushcall_relay_ctrl_errors_total{kind="bad_version"}', 0) >= 1,
            [k for k in a0 if "ctrl_errors" in k])
    h.check("gauges back to 0 after the call", a0.get("hushcall_relay_meetings") == 0 and a0.get("hushcall_relay_members") == 0,
            (a0.get("hushcall_relay_meetings"), a0.get("hushcall_relay_members")))
    relay.stop()

    # --- --log FILE --log-names ---
    lf = os.path.join(h.tmp, "relay.log")
    relay2 = h.relay("--log", lf, "--log-names")
    mid2, _ = call(h, relay2, ("carol", "dave"))
    wait_log(lambda: open(lf).read().splitlines(), lambda e: e.get("event") == "meeting_ended")
    ev2 = log_lines(open(lf).read().splitlines())
    h.check("--log FILE: the lines go to the file, not stderr",
            any(e["event"] == "member_joined" for e in ev2) and not log_lines(relay2.err), relay2.err[-5:])
    h.check("--log-names: member_joined carries the names",
            sorted(e.get("name", "") for e in ev2 if e["event"] == "member_joined") == ["carol", "dave"], ev2)
    relay2.stop()

    # --- --log-level warn hides info ---
    relay3 = h.relay("--log-level", "warn")
    call(h, relay3, ("erin", "frank"))
    garbage(relay3.port)
    wait_log(lambda: relay3.err, lambda e: e.get("event") == "refused")
    ev3 = log_lines(relay3.err)
    h.check("--log-level warn: no info lines, the refusal (warn) is there",
            ev3 and all(e["level"] in ("warn", "error") for e in ev3) and any(e["event"] == "refused" for e in ev3), ev3)
    relay3.stop()
sys.exit(h.finish())
