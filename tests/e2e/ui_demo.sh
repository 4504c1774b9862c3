#!/usr/bin/env bash
# The real thing on screen: `hushcall demo` (embedded relay, two bots, you) in a 100x30 tmux
# pane, checked with the same screen test as the preview: both bots listed, a 40-digit code in
# groups, NOT VERIFIED, epoch >= 1, m mutes, ? shows every key, v then y verifies, q then y exits
# with status 0 and leaves no process behind. Audio is silence/null so the test needs no device.
set -u
cd "$(dirname "$0")/../.." || exit 2
export HC_UI_PROG=${HC_BIN:-build/hushcall}
export HC_UI_ARGS="demo --audio-in silence --audio-out null"
export HC_UI_EXPECT_NAMES="Ada (bot)|Bob (bot)"
exec bash tests/e2e/ui_preview.sh
