# hushcall — end-to-end encrypted meetings in the terminal.
#
#   make            build build/hushcall
#   make run        a local demo call (embedded relay, two bots, you in the TUI)
#   make test       the whole suite (unit, protocol, multi-process, audio, TUI)
#   make test-long  the tests that take minutes (a whole meeting with audio under valgrind)
#   make test-stress  five make test and five make sanitize runs on a clean clone of HEAD while
#                   stress-ng keeps both cores busy (STRESS_RUNS, STRESS_TARGETS)
#   make sanitize   the suite under ASan+UBSan
#   make valgrind   the unit suites, then a multi-process meeting, under valgrind
#   make fuzz       every fuzz target for FUZZ_SECONDS (default 60) each
#   make bench      benchmarks: figures and ratios, nothing asserted
#   make install    PREFIX=/usr/local (binary and man page)
#
# Missing Debian packages are installed on first use (we run as root on CI).

CC       ?= cc
PREFIX   ?= /usr/local
BUILD    ?= build
FUZZ_SECONDS ?= 60

# Libraries we link, as pkg-config names, and the Debian package that provides each.
PC_MODULES := libsodium libuv opus portaudio-2.0 alsa jack sndfile samplerate ncursesw vpx libturbojpeg libmicrohttpd icu-uc icu-i18n glib-2.0 chafa json-c libnats cmocka
DEB_libsodium     := libsodium-dev
DEB_libuv         := libuv1-dev
DEB_opus          := libopus-dev
DEB_portaudio-2.0 := portaudio19-dev
DEB_alsa          := libasound2-dev
DEB_jack          := libjack-jackd2-dev
DEB_sndfile       := libsndfile1-dev
DEB_samplerate    := libsamplerate0-dev
DEB_ncursesw      := libncurses-dev
DEB_vpx           := libvpx-dev
DEB_libturbojpeg  := libturbojpeg0-dev
DEB_libmicrohttpd := libmicrohttpd-dev
# chafa.pc requires glib-2.0, but Debian's libchafa-dev does not depend on libglib2.0-dev.
DEB_glib-2.0      := libglib2.0-dev
DEB_chafa         := libchafa-dev
DEB_json-c        := libjson-c-dev
DEB_cmocka        := libcmocka-dev
# NATS C client: the bus between relay nodes of a cluster (hushcall relay --cluster).
DEB_libnats       := libnats-dev
# ICU: Unicode properties, normalization and the UTS #39 confusables data for display names.
DEB_icu-uc        := libicu-dev
DEB_icu-i18n      := libicu-dev
# Programs the tests and tools use, and their packages.
TOOLS := pkg-config:pkg-config python3:python3 tmux:tmux espeak-ng:espeak-ng \
         pulseaudio:pulseaudio pactl:pulseaudio-utils clang:clang valgrind:valgrind pgrep:procps \
         nats-server:nats-server
# Files that no pkg-config module stands for (libyuv ships no .pc file).
FILES := /usr/include/libyuv.h:libyuv-dev \
         /usr/lib/x86_64-linux-gnu/alsa-lib/libasound_module_pcm_pulse.so:libasound2-plugins \
         /usr/lib/llvm-14/lib/clang/14.0.6/lib/linux/libclang_rt.fuzzer-x86_64.a:libclang-rt-14-dev

DEPS_STAMP := $(BUILD)/.deps-ok

WARN    := -Wall -Wextra -Werror -Wshadow -Wpointer-arith -Wstrict-prototypes -Wmissing-prototypes \
           -Wno-missing-field-initializers
CSTD    := -std=c11 -D_GNU_SOURCE
OPT     ?= -O2 -g
PKG_CFLAGS = $(shell pkg-config --cflags $(PC_MODULES) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(filter-out cmocka,$(PC_MODULES)) 2>/dev/null) -lyuv -lm -lpthread
CFLAGS_ALL  = $(CSTD) $(WARN) $(OPT) -I. $(PKG_CFLAGS) $(EXTRA_CFLAGS)
LDFLAGS_ALL = $(EXTRA_LDFLAGS)

LIB_DIRS := crypto net audio video ui app
LIB_SRC  := $(filter-out app/main.c,$(foreach d,$(LIB_DIRS),$(wildcard $(d)/*.c)))
LIB_OBJ  := $(patsubst %.c,$(BUILD)/obj/%.o,$(LIB_SRC))
MAIN_OBJ := $(BUILD)/obj/app/main.o
LIB_A    := $(BUILD)/libhushcall.a

TEST_SRC    := $(wildcard tests/test_*.c)
TEST_BIN    := $(patsubst tests/%.c,$(BUILD)/tests/%,$(TEST_SRC))
TOOL_SRC    := $(wildcard tests/tools/*.c)
TOOL_BIN    := $(patsubst tests/tools/%.c,$(BUILD)/tools/%,$(TOOL_SRC))
BENCH_SRC   := $(wildcard bench/*.c)
BENCH_BIN   := $(patsubst bench/%.c,$(BUILD)/bench/%,$(BENCH_SRC))
FUZZ_SRC    := $(wildcard tests/fuzz/fuzz_*.c)

.PHONY: all deps run test test-long test-stress check sanitize valgrind fuzz bench install clean tests-build FORCE

all: $(BUILD)/hushcall

# ---------------------------------------------------------------------------------------------
# Dependencies: install what is missing, once per build directory (re-checked when the Makefile
# changes). Each check is cheap; apt-get runs only when something is absent.
deps: $(DEPS_STAMP)
$(DEPS_STAMP): Makefile
	@missing=""; \
	for mp in $(foreach m,$(PC_MODULES),$(m):$(DEB_$(m))); do \
	  m=$${mp%%:*}; p=$${mp#*:}; \
	  command -v pkg-config >/dev/null 2>&1 && pkg-config --exists $$m || missing="$$missing $$p"; \
	done; \
	for t in $(TOOLS); do command -v $${t%%:*} >/dev/null 2>&1 || missing="$$missing $${t#*:}"; done; \
	for f in $(FILES); do [ -e $${f%%:*} ] || missing="$$missing $${f#*:}"; done; \
	if [ -n "$$missing" ]; then \
	  echo "deps: installing$$missing"; \
	  if [ "$$(id -u)" != 0 ]; then echo "deps: need root to install:$$missing" >&2; exit 1; fi; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing >/dev/null || \
	    { echo "deps: apt-get install failed" >&2; exit 1; }; \
	fi
	@mkdir -p $(BUILD) && touch $@

# ---------------------------------------------------------------------------------------------
# Build
$(BUILD)/obj/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -MMD -MP -c $< -o $@

# The archive is rebuilt from scratch when its list of sources changes (e.g. another LIB_DIRS),
# so it never keeps objects of files that are gone.
$(BUILD)/.libsrc: FORCE
	@mkdir -p $(BUILD)
	@echo '$(LIB_SRC)' | cmp -s - $@ || echo '$(LIB_SRC)' > $@

$(LIB_A): $(LIB_OBJ) $(BUILD)/.libsrc
	@rm -f $@
	ar rcs $@ $(LIB_OBJ)

FORCE:

$(BUILD)/hushcall: $(MAIN_OBJ) $(LIB_A)
	$(CC) $(CFLAGS_ALL) $(LDFLAGS_ALL) -o $@ $(MAIN_OBJ) $(LIB_A) $(PKG_LIBS)

$(BUILD)/tests/%: tests/%.c tests/testutil.h tests/ui_testutil.h $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(LDFLAGS_ALL) -o $@ $< $(LIB_A) $(PKG_LIBS) -lcmocka

$(BUILD)/tools/%: tests/tools/%.c $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(LDFLAGS_ALL) -o $@ $< $(LIB_A) $(PKG_LIBS)

$(BUILD)/bench/%: bench/%.c $(wildcard bench/*.h) $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(LDFLAGS_ALL) -o $@ $< $(LIB_A) $(PKG_LIBS)

# The load generator runs a thousand participants in one process, each checking the same
# signatures: it alone links a cache in front of Ed25519 verification (bench/loadgen.c says so in
# its report). Nothing else is built with it.
LOADGEN_WRAP := -Wl,--wrap=crypto_sign_verify_detached
$(BUILD)/bench/loadgen: bench/loadgen.c $(wildcard bench/*.h) $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(LDFLAGS_ALL) $(LOADGEN_WRAP) -o $@ $< $(LIB_A) $(PKG_LIBS)

# The loadgen is built with the tests: tests/e2e/loadgen_small.sh runs a scaled-down meeting.
tests-build: $(BUILD)/hushcall $(TEST_BIN) $(TOOL_BIN) $(BUILD)/bench/loadgen

-include $(LIB_OBJ:.o=.d) $(MAIN_OBJ:.o=.d)

# ---------------------------------------------------------------------------------------------
# Run, test
run: $(BUILD)/hushcall
	$(BUILD)/hushcall demo

test: tests-build
	@BUILD=$(BUILD) bash tests/run.sh

check: test

test-long: tests-build
	@BUILD=$(BUILD) bash tests/run.sh --long

# Not a build step: it clones HEAD (committed work only) and runs the suite there, under load.
STRESS_RUNS    ?= 5
STRESS_TARGETS ?= test sanitize
test-stress:
	@STRESS_RUNS=$(STRESS_RUNS) STRESS_TARGETS="$(STRESS_TARGETS)" bash tests/stress.sh

# ASan+UBSan: a separate build tree so normal objects are not mixed in. The instrumented binaries
# run about twice as slowly, so the real-time tests' deadlines stretch by that much more
# (HC_SLOW_BUILD, tests/slowness.py).
sanitize: deps
	@HC_SLOW_BUILD=$${HC_SLOW_BUILD:-2} $(MAKE) --no-print-directory BUILD=build-san \
	  OPT="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all" \
	  EXTRA_LDFLAGS="-fsanitize=address,undefined" test

# Unit tests under memcheck, then a whole meeting (join, chat, kick, leader change, end) with
# every participant process under memcheck.
valgrind: tests-build
	@BUILD=$(BUILD) HC_VALGRIND=1 bash tests/run.sh --unit-only
	@BUILD=$(BUILD) bash tests/run.sh meeting_valgrind

fuzz: deps
	@mkdir -p $(BUILD)/fuzz
	@set -e; for f in $(FUZZ_SRC); do \
	  n=$$(basename $$f .c); \
	  clang $(CSTD) -Wall -Wextra -Werror -O1 -g -I. $(PKG_CFLAGS) -fsanitize=fuzzer,address,undefined \
	    -o $(BUILD)/fuzz/$$n $$f $(LIB_SRC) $(PKG_LIBS); \
	done
	@set -e; for f in $(FUZZ_SRC); do \
	  n=$$(basename $$f .c); corpus=tests/fuzz/corpus/$${n#fuzz_}; mkdir -p $$corpus $(BUILD)/fuzz/new-$$n; \
	  echo "fuzz: $$n for $(FUZZ_SECONDS) s"; \
	  $(BUILD)/fuzz/$$n -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	    $(BUILD)/fuzz/new-$$n $$corpus > $(BUILD)/fuzz/$$n.log 2>&1 || \
	    { tail -40 $(BUILD)/fuzz/$$n.log; echo "fuzz: $$n FAILED"; exit 1; }; \
	  grep -E 'stat::number_of_executed_units|stat::peak_rss_mb' $(BUILD)/fuzz/$$n.log | sed "s/^/  /"; \
	done; echo "fuzz: all targets ran without a crash"

bench: $(BUILD)/hushcall $(BENCH_BIN) $(TOOL_BIN)
	@BUILD=$(BUILD) bash bench/run.sh

# ---------------------------------------------------------------------------------------------
install: $(BUILD)/hushcall
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 0755 $(BUILD)/hushcall $(DESTDIR)$(PREFIX)/bin/hushcall
	install -m 0644 docs/hushcall.1 $(DESTDIR)$(PREFIX)/share/man/man1/hushcall.1

clean:
	rm -rf build build-san
