#!/bin/sh
# pulse-ctl.sh start|stop|status|env - a private, headless PulseAudio for audio tests
# (written from shared/reference/headless-audio.md).
#
# Everything lives in $PA_DIR (socket, pid file, log, cookie, HOME, XDG_RUNTIME_DIR), so parallel
# jobs can each have their own daemon and no user's daemon is ever touched. Two null sinks,
# vsink and vsink2 (48 kHz), make a "virtual cable" for two participants:
#   PULSE_SINK=vsink  PULSE_SOURCE=vsink2.monitor  <participant A>
#   PULSE_SINK=vsink2 PULSE_SOURCE=vsink.monitor   <participant B>
# A 10 ms parec on each monitor keeps the null sinks ticking in small blocks; without it a new
# stream's first callback comes 0.8-1.7 s late. PA_EXTRA_SINKS="micA spkA ..." adds more null
# sinks (48 kHz, with keep-alives too), e.g. a "microphone" per participant fed by pacat and a
# "speaker" per participant recorded from its monitor. stop signals only the pids this script started
# (read from $PA_DIR), and waits for them; a zombie counts as gone.
#
# Use: export PA_DIR=$(mktemp -d); tests/pulse-ctl.sh start && eval "$(tests/pulse-ctl.sh env)"
#      ...; tests/pulse-ctl.sh stop      (stop the audio clients first: see pitfall 5 of the note)
set -u
PA_DIR=${PA_DIR:-$PWD/pa}
export XDG_RUNTIME_DIR="$PA_DIR/xdg" HOME="$PA_DIR/home"
SOCK="$PA_DIR/pulse.sock"; PIDF="$XDG_RUNTIME_DIR/pulse/pid"; LOG="$PA_DIR/pulse.log"
KA="$PA_DIR/keepalive.pids"
export PULSE_SERVER="unix:$SOCK" PULSE_COOKIE="$PA_DIR/cookie"

running() { [ -n "$1" ] && grep -q pulseaudio "/proc/$1/comm" 2>/dev/null &&
            ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }
alive() { pid=$(cat "$PIDF" 2>/dev/null) && running "$pid"; }

case "${1:-}" in
start)
  for t in pulseaudio pactl parec; do
    command -v $t >/dev/null 2>&1 || { echo "pulse-ctl: $t is not installed" >&2; exit 1; }
  done
  if alive && pactl info >/dev/null 2>&1; then echo "already running pid $pid"; exit 0; fi
  mkdir -p "$HOME" "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
  rm -f "$SOCK" "$PIDF"
  # -D returns once the modules are loaded; -n: no default.pa, only what is asked for here
  pulseaudio -D -n --exit-idle-time=-1 --disallow-exit --disallow-module-loading=no \
    --log-target=file:"$LOG" \
    --load="module-native-protocol-unix auth-anonymous=1 socket=$SOCK" \
    --load="module-null-sink sink_name=vsink rate=48000 sink_properties=device.description=vsink" \
    --load="module-null-sink sink_name=vsink2 rate=48000 sink_properties=device.description=vsink2" \
    || { echo "pulse-ctl: pulseaudio failed to start, see $LOG" >&2; exit 1; }
  pactl set-default-sink vsink && pactl set-default-source vsink.monitor ||
    { echo "pulse-ctl: the daemon does not answer on $SOCK" >&2; exit 1; }
  for s in ${PA_EXTRA_SINKS:-}; do
    pactl load-module module-null-sink sink_name="$s" rate=48000 sink_properties=device.description="$s" >/dev/null ||
      { echo "pulse-ctl: cannot add the null sink $s" >&2; exit 1; }
  done
  : > "$KA"
  for s in vsink vsink2 ${PA_EXTRA_SINKS:-}; do
    parec --raw --latency-msec=10 -d "$s.monitor" >/dev/null 2>&1 &
    echo $! >> "$KA"
  done
  # settled when every sink reports a latency under 50 ms (about 2 s after start); a pactl that
  # answers nothing (no sinks listed) is not settled
  i=0; while [ $i -lt 80 ]; do
    pactl list sinks 2>/dev/null | awk '/^\tLatency:/ { n++; if ($2 > 50000) bad=1 } END { exit bad || n < 2 }' && break
    sleep 0.05; i=$((i+1)); done
  if alive; then echo "started pid $pid"; else echo "pulse-ctl: the daemon died, see $LOG" >&2; exit 1; fi ;;
stop)
  for k in $(cat "$KA" 2>/dev/null); do grep -q parec "/proc/$k/comm" 2>/dev/null && kill "$k"; done
  rm -f "$KA"
  if alive; then kill -TERM "$pid"; i=0
    while running "$pid" && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done
    running "$pid" && kill -KILL "$pid"; echo "stopped pid $pid"
  else echo "not running"; fi
  rm -f "$SOCK" "$PIDF" ;;
status) if alive; then echo "running pid $pid"; else echo "not running"; exit 1; fi ;;
env) echo "export PULSE_SERVER=unix:$SOCK PULSE_COOKIE=$PA_DIR/cookie" ;;
*) echo "usage: $0 start|stop|status|env" >&2; exit 2 ;;
esac
