#!/usr/bin/env bash
# make test-long: the whole-meeting valgrind test (tests/e2e/meeting_valgrind.py) with everyone
# sending a tone, so that encoding, SFrame sealing and opening, the jitter buffer and decoding run
# under memcheck in a real meeting too. Four participants encoding under memcheck need more than
# two cores, so it runs with the longest heartbeat interval; about 40 s on an idle 2-core machine,
# several times that on a busy one.
cd "$(dirname "$0")/../.." || exit 2
HC_VG_AUDIO=tone:440 exec python3 tests/e2e/meeting_valgrind.py
