#!/usr/bin/env bash
# `hushcall id`: identity creation, stable fingerprint, store resolution order, permissions,
# and refusal (without modification) of unsafe, truncated or garbage identity files.
# Prints one "PASS: name" or "FAIL: name" line per check.
set -u
BIN=${HC_BIN:-build/hushcall}
T=$(mktemp -d)
trap 'chmod -R u+rwx "$T" 2>/dev/null; rm -rf "$T"' EXIT
unset HUSHCALL_HOME XDG_CONFIG_HOME
export HOME=$T/homedir            # never touch the real ~/.config
fails=0

pass() { echo "PASS: $1"; }
fail() { echo "FAIL: $1${2:+ ($2)}"; fails=$((fails + 1)); }
check() { local name=$1; shift; if "$@"; then pass "$name"; else fail "$name"; fi; }
fpr_of() { sed -n 's/^fingerprint: //p' <<<"$1"; }
mode_of() { stat -c %a "$1"; }
sum_of() { sha256sum "$1" | cut -d' ' -f1; }
FPR_RE='^[0-9a-f]{4} [0-9a-f]{4} [0-9a-f]{4} [0-9a-f]{4} [0-9a-f]{4}$'

if [ ! -x "$BIN" ]; then fail "binary present" "$BIN not built"; exit 1; fi

# 1. first use creates the identity
out=$("$BIN" id --home "$T/a/b" 2>&1); rc=$?
f1=$(fpr_of "$out")
check "create: exit 0" test "$rc" = 0
check "create: first line is the fingerprint" grep -qE "^fingerprint: [0-9a-f]{4}( [0-9a-f]{4}){4}$" <<<"$(head -1 <<<"$out")"
check "create: fingerprint format" grep -qE "$FPR_RE" <<<"$f1"
check "create: identity path printed" grep -qx "identity: $T/a/b/identity" <<<"$out"
check "create: says it was created" grep -q "^created:" <<<"$out"
check "create: file exists" test -f "$T/a/b/identity"

# 2. the same fingerprint on later calls, and no "created" line
out2=$("$BIN" id --home "$T/a/b" 2>&1); rc=$?
out3=$("$BIN" id --home="$T/a/b" 2>&1)
check "reload: exit 0" test "$rc" = 0
check "reload: same fingerprint twice" test -n "$f1" -a "$(fpr_of "$out2")" = "$f1" -a "$(fpr_of "$out3")" = "$f1"
check "reload: not created again" bash -c '! grep -q "^created:" <<<"$1"' _ "$out2"

# 3. permissions of what was created
check "perms: directory 0700" test "$(mode_of "$T/a/b")" = 700
check "perms: parent directory created 0700" test "$(mode_of "$T/a")" = 700
check "perms: file 0600" test "$(mode_of "$T/a/b/identity")" = 600
check "perms: no temp files left" test "$(ls -A "$T/a/b")" = identity

# 4. HUSHCALL_HOME takes precedence over --home
out=$(HUSHCALL_HOME="$T/env" "$BIN" id --home "$T/a/b" 2>&1); rc=$?
check "precedence: HUSHCALL_HOME over --home" test "$rc" = 0 -a -f "$T/env/identity"
check "precedence: HUSHCALL_HOME path printed" grep -qx "identity: $T/env/identity" <<<"$out"
check "precedence: a different identity" test -n "$(fpr_of "$out")" -a -n "$f1" -a "$(fpr_of "$out")" != "$f1"
out=$(HUSHCALL_HOME="$T/env" "$BIN" id 2>&1)
check "precedence: HUSHCALL_HOME stable" grep -qx "identity: $T/env/identity" <<<"$out"

# 5. XDG_CONFIG_HOME, then ~/.config
out=$(XDG_CONFIG_HOME="$T/xdg" "$BIN" id 2>&1); rc=$?
check "xdg: XDG_CONFIG_HOME/hushcall used" test "$rc" = 0 -a -f "$T/xdg/hushcall/identity"
check "xdg: path printed" grep -qx "identity: $T/xdg/hushcall/identity" <<<"$out"
out=$("$BIN" id 2>&1); rc=$?
check "xdg: falls back to ~/.config/hushcall" test "$rc" = 0 -a -f "$HOME/.config/hushcall/identity"
check "xdg: --home beats XDG" bash -c 'XDG_CONFIG_HOME="$1/xdg" "$2" id --home "$1/a/b" | grep -qx "identity: $1/a/b/identity"' _ "$T" "$BIN"

# Refusal checks: the file must be left byte-for-byte and mode-for-mode as it was.
refused() { # name dir expected-words...
  local name=$1 dir=$2; shift 2
  local before mode_before out rc
  before=$(sum_of "$dir/identity"); mode_before=$(mode_of "$dir/identity")
  out=$("$BIN" id --home "$dir" 2>&1); rc=$?
  check "$name: non-zero exit (1)" test "$rc" = 1
  check "$name: no fingerprint printed" bash -c '! grep -q "^fingerprint:" <<<"$1"' _ "$out"
  check "$name: message names the file" grep -qF "$dir/identity" <<<"$out"
  for w in "$@"; do check "$name: message says '$w'" grep -qiF "$w" <<<"$out"; done
  check "$name: file unchanged" test "$(sum_of "$dir/identity")" = "$before" -a "$(mode_of "$dir/identity")" = "$mode_before"
}

# 6. group-readable file
mkdir -p "$T/g"; chmod 700 "$T/g"; cp "$T/a/b/identity" "$T/g/identity"; chmod 640 "$T/g/identity"
refused "group-readable" "$T/g" "chmod 600"
chmod 604 "$T/g/identity"
refused "other-readable" "$T/g" "chmod 600"
chmod 600 "$T/g/identity"
out=$("$BIN" id --home "$T/g" 2>&1)
check "group-readable: usable after chmod 600" test -n "$f1" -a "$(fpr_of "$out")" = "$f1"

# 7. truncated file
mkdir -p "$T/t"; chmod 700 "$T/t"; head -c 40 "$T/a/b/identity" > "$T/t/identity"; chmod 600 "$T/t/identity"
refused "truncated" "$T/t" "truncated"
: > "$T/t/identity"
refused "empty" "$T/t" "truncated"

# 8. garbage file (right size and wrong size)
mkdir -p "$T/x"; chmod 700 "$T/x"; head -c 72 /dev/urandom > "$T/x/identity"; chmod 600 "$T/x/identity"
refused "garbage" "$T/x" "not a hushcall identity"
printf 'not an identity file at all\n' > "$T/x/identity"
refused "garbage-text" "$T/x" "unusable"
# a bit flipped inside the key: the self-check catches it
cp "$T/a/b/identity" "$T/x/identity"; chmod 600 "$T/x/identity"
printf '\x00' | dd of="$T/x/identity" bs=1 seek=30 conv=notrunc status=none
printf '\xff' | dd of="$T/x/identity" bs=1 seek=31 conv=notrunc status=none
refused "corrupt-key" "$T/x" "does not match"

# 9. directory others can write
mkdir -p "$T/w"; chmod 777 "$T/w"
out=$("$BIN" id --home "$T/w" 2>&1); rc=$?
check "open-directory: refused with exit 1" test "$rc" = 1
check "open-directory: says chmod 700" grep -qF "chmod 700 $T/w" <<<"$out"
check "open-directory: nothing created" test -z "$(ls -A "$T/w")"

# 10. help and usage errors
out=$("$BIN" id --help 2>&1); rc=$?
check "help: exit 0" test "$rc" = 0
check "help: describes the store order" grep -q 'HUSHCALL_HOME' <<<"$out"
check "help: mentions --home" grep -q -- '--home' <<<"$out"
check "help: mentions fingerprint" grep -q 'fingerprint' <<<"$out"
check "help: mentions 0600" grep -q '0600' <<<"$out"
"$BIN" id --no-such-option >/dev/null 2>&1; rc=$?
check "usage: unknown option exits 2" test "$rc" = 2
"$BIN" id --home >/dev/null 2>&1; rc=$?
check "usage: --home without a value exits 2" test "$rc" = 2

exit 0
