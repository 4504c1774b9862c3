#!/usr/bin/env bash
# audio_pipe in real time: the quality figures of the test suite's audio pipeline runs (speech
# through two engines, seeded loss, jitter, reordering, duplicates, mute), measured on the wall
# clock on this machine as it is right now, stalls included. The suite asserts the same runs on a
# simulated clock (tests/e2e/audio_pipe.sh); the difference between the two is what this
# machine's scheduling costs. Nothing is asserted here.
HC_ROOT=${HC_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
echo "audio pipeline in real time (simulated-clock figures: tests/e2e/audio_pipe.sh), load $(cut -d' ' -f1-3 /proc/loadavg)"
HC_AUDIO_PIPE_REALTIME=1 exec bash "$HC_ROOT/tests/e2e/audio_pipe.sh"
