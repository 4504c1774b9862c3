"""Reads LeakSanitizer reports (files written with LSAN_OPTIONS=log_path=...) and prints the leaks
that belong to hushcall: those whose allocating frame (#1, the caller of malloc) is in our code.

Under `make sanitize`, PortAudio's ALSA probing loads pcm plugins that allocate in their
constructors and are dlclose()d before exit, so their leaks are reported against
"<unknown module>": third-party, not ours. Exit status 1 when a leak is ours, else 0.

    python3 tests/lsan_ours.py LABEL FILE...
"""
import re
import sys

OURS = re.compile(r"\b(crypto|net|audio|ui|app|tests)/[\w./-]+\.[ch]:\d+")


def main(label, files):
    ours = []
    for f in files:
        text = open(f, errors="replace").read()
        for block in re.split(r"\n(?=(?:Direct|Indirect) leak)", text):
            m = re.search(r"^\s*#1 .*$", block, re.M)
            if m and OURS.search(m.group(0)):
                ours.append(block.strip().splitlines()[0] + " at " + m.group(0).strip())
    if ours:
        print("FAIL: %s: memory leaked by hushcall code: %s" % (label, " | ".join(ours[:3])))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2:]))
