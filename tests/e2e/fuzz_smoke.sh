#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Build the libFuzzer targets (tests/fuzz) and run each for a few seconds
# (FUZZ_SMOKE_SECONDS, default 5): a parser change that crashes, leaks or
# breaks a round trip on the seed corpus or shortly after is caught by
# `make test`.  Longer runs: `make fuzz`.
#
#	ok fuzz/NAME			the target ran clean
#	not ok fuzz/NAME		+ "# crash: FILE" and the sanitizer's summary
#	not ok fuzz_smoke/build		the targets did not build
#
# Usage: BUILD=build bash tests/e2e/fuzz_smoke.sh   (from the repo root)
set -u

BUILD=${BUILD:-build}
SECS=${FUZZ_SMOKE_SECONDS:-5}
T=fuzz_smoke

# libFuzzer comes with clang's runtime (Debian libclang-rt-14-dev).
CLANG=${CLANG:-clang}
rt=$("$CLANG" -print-file-name="libclang_rt.fuzzer-$(uname -m).a" 2>/dev/null)
if [ ! -f "$rt" ]; then
	rt=$("$CLANG" -print-resource-dir 2>/dev/null)/lib/linux/libclang_rt.fuzzer-$(uname -m).a
fi
if [ ! -f "$rt" ]; then
	echo "ok $T # SKIP libFuzzer runtime missing (libclang-rt-14-dev)"
	exit 0
fi

# A make of our own: not the jobserver of a `make test` that called us.
unset MAKEFLAGS MFLAGS MAKELEVEL
log=$(mktemp /tmp/geofw-fuzz-build.XXXXXX) || exit 1
trap 'rm -f "$log"' EXIT
if ! make -s -j"$(nproc 2>/dev/null || echo 1)" BUILD="$BUILD" fuzz-build >"$log" 2>&1; then
	echo "not ok $T/build"
	grep -E 'error|Error' "$log" | head -15 | sed 's/^/# /'
	exit 1
fi
echo "ok $T/build"

# Targets are single-threaded: one per CPU keeps the whole run short.
jobs=$(nproc 2>/dev/null || echo 1)
[ "$jobs" -gt 4 ] && jobs=4
FUZZ_JOBS=${FUZZ_JOBS:-$jobs} exec tests/fuzz/run.sh "$BUILD" "$SECS"
