# Makefile - the common tasks, as thin wrappers over meson and scripts/.
#
#   make / make build   gcc build in build/ (-Dwerror=true)
#   make test           everything CI checks; last line "N passed, N failed, N skipped"
#   make bench          build, then run the benchmark
#   make lint           clang-format check and cppcheck
#   make format         apply .clang-format to every C file
#   make fuzz           libFuzzer targets in build-fuzz/, FUZZ_SECONDS (60) each
#   make install-check  install into a scratch DESTDIR and build a program with pkg-config
#   make arm-test       unit, ring, shm and sync tests built for aarch64, run under qemu-user
#   make soak           the ring under a full-speed publisher and slow subscribers for
#                       SOAK_MESSAGES (10^9) messages, every one checksummed (not in make test);
#                       then the sync crash tests for SOAK_SYNC_ROUNDS (10^5) killed holders each
#   make clean          remove every build directory
#
# Every target that builds first installs missing Debian packages
# (scripts/install-deps). Build variants live in build, build-asan,
# build-tsan and build-fuzz; scripts/setup-build knows their options.

FUZZ_SECONDS ?= 60
SOAK_MESSAGES ?= 1000000000
SOAK_SYNC_ROUNDS ?= 100000

.PHONY: all build test bench lint format fuzz install-check soak arm-test clean deps

all: build

deps:
	@scripts/install-deps

build: deps
	@scripts/setup-build build
	@meson compile -C build

test: deps
	@scripts/run-tests

bench: build
	build/tools/ipckit bench

lint: deps
	@scripts/lint

format: deps
	@scripts/lint --format

fuzz: deps
	@scripts/fuzz $(FUZZ_SECONDS)

install-check: build
	@scripts/install-check build

arm-test: deps
	@scripts/setup-build arm
	@meson compile -C build-arm
	meson test -C build-arm --suite unit --suite ring --suite shm --suite sync --timeout-multiplier 3 --print-errorlogs

soak: build
	IPK_RING_STRESS_N=$(SOAK_MESSAGES) build/tests/ring/test-ring_slow
	IPK_SYNC_ROUNDS=$(SOAK_SYNC_ROUNDS) build/tests/sync/test-sync_mutex_crash
	IPK_SYNC_ROUNDS=$(SOAK_SYNC_ROUNDS) build/tests/sync/test-sync_sem_crash

clean:
	rm -rf build build-asan build-tsan build-fuzz build-arm
