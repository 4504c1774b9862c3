#!/usr/bin/env python3
"""The headless contract (README "Headless mode", man page HEADLESS MODE, docs/headless.schema.json).

One meeting exercises most events and the answers to commands: a joiner told it is `waiting`
(--admit ask), `joined` with the meeting id, the contract `version` on each first line, `chat`
with `index`, ids on commands (`7 kick 3` -> "id":7) and the `ok` or `error` that answers each,
errors that name their command, a repeated lock answered, kicking yourself refused as such, and
`participant_left` with the real reason (denied, kicked, connection_lost, left).

Then every line printed here, and every line the other scripts' headless participants printed
(tests/e2e/hclib.py keeps them in build/test-logs/headless-lines/), is validated against the
schema, and the schema is checked to name every event app/events.c can print. The validator is
the small subset of JSON Schema the schema uses (below), so no package is needed; when the
jsonschema package is there, it checks the schema itself and every line as well.
"""
import glob
import json
import os
import re
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hclib  # noqa: E402
from hclib import Harness  # noqa: E402

ROOT = os.environ.get("HC_ROOT", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
SCHEMA = json.load(open(os.path.join(ROOT, "docs", "headless.schema.json")))

# ---- a validator for the part of JSON Schema (2020-12) that docs/headless.schema.json uses ----

KNOWN = {"$schema", "$id", "$ref", "$defs", "title", "description", "type", "const", "enum", "properties",
         "required", "additionalProperties", "items", "oneOf", "minimum", "maximum", "maxLength", "pattern"}


def _type_ok(v, t):
    if t == "object":
        return isinstance(v, dict)
    if t == "array":
        return isinstance(v, list)
    if t == "string":
        return isinstance(v, str)
    if t == "integer":
        return isinstance(v, int) and not isinstance(v, bool)
    if t == "number":
        return isinstance(v, (int, float)) and not isinstance(v, bool)
    if t == "boolean":
        return isinstance(v, bool)
    if t == "null":
        return v is None
    raise ValueError("type %r is not in the subset" % t)


def _resolve(ref):
    if not ref.startswith("#/"):
        raise ValueError("only local $ref: %r" % ref)
    node = SCHEMA
    for part in ref[2:].split("/"):
        node = node[part]
    return node


def errors(v, s, path="$"):
    """The reasons v does not match schema s (empty: it matches)."""
    unknown = set(s) - KNOWN
    if unknown:
        raise ValueError("schema keywords outside the subset: %s" % sorted(unknown))
    out = []
    if "$ref" in s:
        out += errors(v, _resolve(s["$ref"]), path)
    if "type" in s and not _type_ok(v, s["type"]):
        return out + ["%s: %r is not of type %s" % (path, v, s["type"])]
    if "const" in s and v != s["const"]:
        out.append("%s: %r is not %r" % (path, v, s["const"]))
    if "enum" in s and v not in s["enum"]:
        out.append("%s: %r is not one of %s" % (path, v, s["enum"]))
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        if "minimum" in s and v < s["minimum"]:
            out.append("%s: %r < %r" % (path, v, s["minimum"]))
        if "maximum" in s and v > s["maximum"]:
            out.append("%s: %r > %r" % (path, v, s["maximum"]))
    if isinstance(v, str):
        if "maxLength" in s and len(v) > s["maxLength"]:
            out.append("%s: longer than %d" % (path, s["maxLength"]))
        if "pattern" in s and not re.search(s["pattern"], v):
            out.append("%s: %r does not match %s" % (path, v, s["pattern"]))
    if isinstance(v, dict):
        props = s.get("properties", {})
        for k in s.get("required", []):
            if k not in v:
                out.append("%s: %s is missing" % (path, k))
        for k, x in v.items():
            if k in props:
                out += errors(x, props[k], "%s.%s" % (path, k))
            elif s.get("additionalProperties") is False:
                out.append("%s: %s is not in the schema" % (path, k))
            elif isinstance(s.get("additionalProperties"), dict):
                out += errors(x, s["additionalProperties"], "%s.%s" % (path, k))
    if isinstance(v, list) and "items" in s:
        for i, x in enumerate(v):
            out += errors(x, s["items"], "%s[%d]" % (path, i))
    if "oneOf" in s:
        ok = [b for b in s["oneOf"] if not errors(v, b, path)]
        if len(ok) != 1:
            out.append("%s: matches %d of the oneOf branches, not 1" % (path, len(ok)))
    return out


def event_errors(ev):
    """Errors of one event line: against its own definition (clear messages), then the whole schema."""
    if not isinstance(ev, dict):
        return ["not a JSON object"]
    d = SCHEMA["$defs"].get("event_%s" % ev.get("event"))
    if d is None:
        return ["event %r is not in the schema" % ev.get("event")]
    return errors(ev, d) or errors(ev, SCHEMA)


try:
    import jsonschema  # optional: a second opinion
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    JS = jsonschema.Draft202012Validator(SCHEMA)
except ImportError:
    JS = None


def validate_lines(h, label, lines):
    bad = []
    n = 0
    for line in lines:
        if not line.strip():
            continue
        n += 1
        try:
            ev = json.loads(line)
        except ValueError as e:
            bad.append("%s: not JSON (%s)" % (line[:120], e))
            continue
        errs = event_errors(ev)
        if not errs and JS is not None:
            errs = [e.message for e in JS.iter_errors(ev)]
        if errs:
            bad.append("%s: %s" % (line[:160], "; ".join(errs[:3])))
    h.check("%s: all %d lines match docs/headless.schema.json" % (label, n), n > 0 and not bad, bad[:6])
    return n


def cmd_ok(line):
    return not errors(line, SCHEMA["$defs"]["command"])


# ---- the meeting ----

with Harness() as h:
    # The schema itself: valid (when jsonschema can tell), the subset validator can fail, and every
    # event name app/events.c prints has a definition (and nothing else is defined).
    h.check("the schema is draft 2020-12%s" % ("" if JS else " (jsonschema not installed: not checked)"),
            SCHEMA.get("$schema") == "https://json-schema.org/draft/2020-12/schema")
    names = set(re.findall(r'return "([a-z_]+)";', open(os.path.join(ROOT, "app", "events.c")).read())) - {"unknown"}
    defined = {k[len("event_"):] for k in SCHEMA["$defs"] if k.startswith("event_")}
    h.check("the schema defines every event app/events.c names, plus ok", defined == names | {"ok"},
            "missing %s, extra %s" % (sorted(names | {"ok"} - defined), sorted(defined - names - {"ok"})))
    h.check("the validator refuses a wrong line",
            event_errors({"event": "chat", "t_ms": 1, "index": "2", "from": 2, "name": "", "text": ""}) and
            event_errors({"event": "joined", "t_ms": 1, "index": 2, "leader": 1}) and
            event_errors({"event": "lock_changed", "t_ms": 1, "locked": True, "extra": 1}) and
            event_errors({"event": "no_such_event", "t_ms": 1}) and
            not event_errors({"event": "ok", "t_ms": 3, "command": "lock", "id": 7}))
    good = ["mute", "7 kick 3", "chat hello there", "  12 video off", "pin 4", "deny 2\r", "end",
            "verify 31415 92653 58979 32384 62643 38327 95028 84197", "3 verify 3141592653589793238462643383279502884197"]
    badc = ["", "mutex", "kick", "kick x", "7", "video maybe", "-1 mute", "MUTE", "verify",
            "verify 31415 92653", "verify 31415-92653-58979-32384-62643-38327-95028-84197"]
    h.check("the command schema takes the commands and refuses others",
            all(cmd_ok(c) for c in good) and not any(cmd_ok(c) for c in badc),
            [c for c in good if not cmd_ok(c)] + [c for c in badc if cmd_ok(c)])

    sent = []

    def send(p, cmd):
        sent.append(cmd)
        p.send(cmd)

    relay = h.relay()
    alice = h.host("alice", relay.port, args=["--admit", "ask"])
    mid = alice.meeting_id
    a_first = alice.wait_event(lambda e: True, timeout=1)
    h.check("the host's first line is meeting and carries version 1",
            a_first and a_first["event"] == "meeting" and a_first.get("version") == 1, a_first)
    aj = alice.wait("joined", timeout=10)
    h.check("the host's joined carries the meeting id", aj and aj.get("meeting_id") == mid, aj)
    A = aj["index"] if aj else 1

    def joiner(name):
        p = h.participant(name, relay.port, mid)
        j = p.wait("joined", timeout=15)
        w = p.wait("waiting", timeout=15)
        r = alice.wait("admission_request", timeout=15, index=j["index"]) if j else None
        return p, j, w, r

    bob, bj, bw, br = joiner("bob")
    B = bj["index"] if bj else None
    first = bob.wait_event(lambda e: True, timeout=1)
    h.check("a joiner's first line is joined, with version 1 and the meeting id",
            first and first["event"] == "joined" and first.get("version") == 1 and first.get("meeting_id") == mid, first)
    h.check("a joiner waiting for admission is told so (waiting: its index, the leader, who leads)",
            bw and bw.get("index") == B and bw.get("leader") == A and bw.get("meeting_id") == mid and bw.get("name") == "alice", bw)
    h.check("the leader is asked", br is not None and br.get("name") == "bob", br)
    send(alice, "1 admit %d" % B)
    ok1 = alice.wait("ok", timeout=10, id=1)
    h.check("an admit with id 1 is answered with ok (command admit, id 1)", ok1 and ok1.get("command") == "admit", ok1)
    h.check("bob is admitted", bob.wait("key_epoch", timeout=15) is not None)
    h.check("only one waiting event", len(bob.all("waiting")) == 1, bob.all("waiting"))

    carol, cj, cw, cr = joiner("carol")
    C = cj["index"] if cj else None
    h.check("carol waits too", cw is not None and cr is not None)
    send(alice, "2 deny %d" % C)
    cl = carol.wait("left", timeout=10)
    h.check("carol is denied", cl and cl.get("reason") == "denied", cl)
    h.check("denied: exit status 4", carol.exit_code(timeout=10) == 4)
    al = alice.wait("participant_left", timeout=10, index=C)
    h.check("the leader's request closes: participant_left reason denied", al and al.get("reason") == "denied", al)

    dave, dj, dw, dr = joiner("dave")
    D = dj["index"] if dj else None
    send(alice, "3 admit %d" % D)
    h.check("dave is admitted", dave.wait("key_epoch", timeout=15) is not None)
    h.check("bob sees dave", bob.wait("participant_joined", timeout=15, index=D) is not None)

    send(bob, "chat hello from bob")
    ch = alice.wait("chat", timeout=10)
    h.check("chat carries index (and the old from, the same)", ch and ch.get("index") == B and ch.get("from") == B
            and ch.get("text") == "hello from bob", ch)

    n0 = alice.count()
    send(alice, "4 lock")
    lk = alice.wait("lock_changed", timeout=10, since=n0)
    h.check("lock: lock_changed carries the id", lk and lk.get("locked") is True and lk.get("id") == 4, lk)
    h.check("and ok follows", alice.wait("ok", timeout=10, id=4) is not None)
    send(alice, "5 lock")
    e5 = alice.wait("error", timeout=10, id=5)
    h.check("a repeated lock answers: error already_locked, naming the command",
            e5 and e5.get("code") == "already_locked" and e5.get("command") == "lock", e5)
    send(alice, "6 unlock")
    h.check("unlock", alice.wait("ok", timeout=10, id=6) is not None)
    send(alice, "7 unlock")
    e7 = alice.wait("error", timeout=10, id=7)
    h.check("a repeated unlock answers: error already_unlocked", e7 and e7.get("code") == "already_unlocked", e7)
    send(alice, "8 kick %d" % A)
    e8 = alice.wait("error", timeout=10, id=8)
    h.check("kicking yourself is refused as such (kick_self)", e8 and e8.get("code") == "kick_self" and e8.get("command") == "kick", e8)
    send(bob, "9 kick %d" % B)
    e9 = bob.wait("error", timeout=10, id=9)
    h.check("also for a member who does not lead", e9 and e9.get("code") == "kick_self", e9)
    send(bob, "10 lock")
    e10 = bob.wait("error", timeout=10, id=10)
    h.check("a member's lock: not_leader, naming lock, id 10",
            e10 and e10.get("code") == "not_leader" and e10.get("command") == "lock", e10)
    send(bob, "14 frobnicate")
    e14 = bob.wait("error", timeout=10, id=14)
    h.check("an unknown command: bad_command naming it", e14 and e14.get("code") == "bad_command" and e14.get("command") == "frobnicate", e14)
    send(bob, "kick x")
    ex = bob.wait("error", timeout=10, command="kick", code="bad_command")
    h.check("an error without id names its command and has no id", ex is not None and "id" not in ex, ex)

    nb = bob.count()
    send(alice, "11 kick %d" % D)
    ak = alice.wait("participant_left", timeout=10, index=D)
    h.check("kick: the leader's participant_left says kicked, with the id",
            ak and ak.get("reason") == "kicked" and ak.get("id") == 11, ak)
    bk = bob.wait("participant_left", timeout=10, since=nb, index=D)
    h.check("and the others' participant_left says kicked (the relay's MEMBER_LEFT reason)",
            bk and bk.get("reason") == "kicked", bk)
    dl = dave.wait("left", timeout=10)
    h.check("dave left: kicked", dl and dl.get("reason") == "kicked", dl)

    send(bob, "12 mute")
    m12 = bob.wait("mute_changed", timeout=10, id=12)
    h.check("mute answers with mute_changed carrying the id, then ok",
            m12 and m12.get("muted") is True and bob.wait("ok", timeout=10, id=12) is not None, m12)
    send(bob, "13 stats")
    s13 = bob.wait("stats", timeout=10, id=13)
    h.check("stats carries the id", s13 is not None and "senders" in s13, s13)

    eve, ej, ew, er = joiner("eve")
    E = ej["index"] if ej else None
    h.check("eve waits", ew is not None and er is not None)
    eve.stop(sig=signal.SIGKILL)
    ae = alice.wait("participant_left", timeout=15, index=E)
    h.check("a waiting asker killed: the leader's participant_left says connection_lost",
            ae and ae.get("reason") == "connection_lost", ae)

    na = alice.count()
    send(bob, "leave")
    abl = alice.wait("participant_left", timeout=10, since=na, index=B)
    h.check("bob leaves: participant_left reason left", abl and abl.get("reason") == "left", abl)
    h.check("bob exits 0", bob.exit_code(timeout=10) == 0)
    send(alice, "15 end")
    ae15 = alice.wait("left", timeout=10)
    h.check("end: left (ended) carries the id and no ok follows",
            ae15 and ae15.get("reason") == "ended" and ae15.get("id") == 15 and not alice.all("ok", id=15), ae15)
    alice.exit_code(timeout=10)
    for p in (alice, bob, carol, dave, eve):
        p.exit_code(timeout=10)

    h.check("every command sent matches the command schema", all(cmd_ok(c) for c in sent if c != "14 frobnicate"
                                                                 and c != "kick x"), [c for c in sent if not cmd_ok(c)])
    seen = set()
    lines = []
    for p in (alice, bob, carol, dave, eve):
        lines += p.raw
        seen |= {e.get("event") for e in p.events}
    validate_lines(h, "this meeting (%d kinds of event)" % len(seen), lines)
    wanted = {"meeting", "joined", "waiting", "admission_request", "participant_joined", "participant_left",
              "key_epoch", "security_code", "chat", "lock_changed", "mute_changed", "stats", "error", "ok", "left"}
    h.check("the meeting printed the events it was meant to", wanted <= seen, sorted(wanted - seen))

    # The rest of the suite's headless output (tests/run.sh runs this script after the others).
    mine = os.path.splitext(os.path.basename(sys.argv[0]))[0] + ".jsonl"
    files = sorted(f for f in glob.glob(os.path.join(hclib.CAPTURE_DIR, "*.jsonl")) if os.path.basename(f) != mine)
    if not files:
        h.skip("the other scripts' headless lines", "none kept yet in %s: run the whole suite" % hclib.CAPTURE_DIR)
    for f in files:
        with open(f, encoding="utf-8", errors="replace") as fh:
            ls = [l.rstrip("\n") for l in fh]
        if ls:
            validate_lines(h, os.path.basename(f), ls)
sys.exit(h.finish())
