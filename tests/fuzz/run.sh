#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Run libFuzzer targets for a while each and report them like a test suite:
#	ok fuzz/NAME
#	# NAME: 123456 runs in 5 s, 24691 execs/s, cov 812, corpus 140
# or, when the target found a crash, leak, hang or broken invariant,
#	not ok fuzz/NAME
#	# crash: BUILD/fuzz/crashes/NAME/crash-…  (reproduce: BUILD/fuzz/fuzz_NAME FILE)
#	#   the sanitizer's summary
# Exit status is non-zero when any target failed.
#
# Inputs: the checked-in seeds (tests/fuzz/corpus/NAME), MaxMind DBs written
# by tests/fixtures/mkmmdb.pl for mmdb, and tests/fuzz/NAME.dict when there
# is one.  New inputs go to BUILD/fuzz/corpus/NAME, so a later run starts
# where earlier ones stopped.
#
# Usage: tests/fuzz/run.sh BUILD SECONDS [NAME...]
# NAME defaults to every tests/fuzz/fuzz_NAME.c.  FUZZ_JOBS=N runs N targets
# at a time (default 1: execs/s are only comparable one at a time).
set -u

BUILD=${1:?usage: $0 BUILD SECONDS [NAME...]}
SECS=${2:?usage: $0 BUILD SECONDS [NAME...]}
shift 2
cd "$(dirname "$0")/../.." || exit 2

FUZZ=$BUILD/fuzz
JOBS=${FUZZ_JOBS:-1}
names=("$@")
if [ "${#names[@]}" -eq 0 ]; then
	for src in tests/fuzz/fuzz_*.c; do
		src=${src##*/fuzz_}
		names+=("${src%.c}")
	done
fi

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tests/fuzz/lsan.supp:print_suppressions=0}

mkdir -p "$FUZZ/logs"

# MaxMind DB seeds, written rather than checked in (needs the Debian package
# libmaxmind-db-writer-perl; without it the checked-in seeds do).  Rewritten
# when the fixture script changes.
mmdb_seeds() {
	local dir=$FUZZ/seeds/mmdb

	[ "$dir/.stamp" -nt tests/fixtures/mkmmdb.pl ] && return 0
	rm -rf "$dir"
	mkdir -p "$dir"
	if perl tests/fixtures/mkmmdb.pl "$dir" >"$FUZZ/logs/mkmmdb.log" 2>&1; then
		touch "$dir/.stamp"
	else
		echo "# mmdb: tests/fixtures/mkmmdb.pl failed, only the checked-in seeds are used"
		sed 's/^/#   /' "$FUZZ/logs/mkmmdb.log" | head -5
	fi
}

stat_of() {
	sed -n "s/^stat::$1: *//p" "$2" | tail -1
}

# run_one NAME: runs a target, writes its report to logs/NAME.result and a
# summary line to logs/NAME.summary; status 0 when it ran clean.
run_one() {
	local name=$1
	local bin=$FUZZ/fuzz_$name log=$FUZZ/logs/$name.log res=$FUZZ/logs/$name.result
	local crashes=$FUZZ/crashes/$name work=$FUZZ/corpus/$name
	local dirs=("$work") opts=() status runs rate done_line cov corp artifact

	if [ ! -x "$bin" ]; then
		printf 'not ok fuzz/%s\n# %s is missing: make fuzz-build\n' "$name" "$bin" >"$res"
		printf '%-12s MISSING\n' "$name" >"$FUZZ/logs/$name.summary"
		return 1
	fi
	mkdir -p "$crashes" "$work"
	[ -d "tests/fuzz/corpus/$name" ] && dirs+=("tests/fuzz/corpus/$name")
	[ "$name" = mmdb ] && dirs+=("$FUZZ/seeds/mmdb")
	[ -f "tests/fuzz/$name.dict" ] && opts+=("-dict=tests/fuzz/$name.dict")
	# Past the 4096-byte line limits of the text formats and the
	# argument limit of requests (libFuzzer's default stops at 4096).
	case $name in
	config|importlist|ctl) opts+=(-max_len=9000) ;;
	esac

	# -timeout: one input running that long is a hang worth reporting.  The
	# outer timeout only guards against libFuzzer itself getting stuck.
	timeout -k 5 $((SECS * 2 + 60)) "$bin" \
		-max_total_time="$SECS" -timeout=20 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$crashes/" "${opts[@]}" "${dirs[@]}" \
		>"$log" 2>&1
	status=$?

	runs=$(stat_of number_of_executed_units "$log")
	rate=$(stat_of average_exec_per_sec "$log")
	done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1)
	cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$done_line")
	corp=$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<<"$done_line")
	artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)

	if [ "$status" -eq 0 ] && [ -z "$artifact" ]; then
		{
			echo "ok fuzz/$name"
			echo "# $name: ${runs:-?} runs in $SECS s, ${rate:-?} execs/s, cov ${cov:-?}, corpus ${corp:-?}"
		} >"$res"
		printf '%-12s %8s execs/s %11s runs  cov %s\n' "$name" "${rate:-?}" "${runs:-?}" \
			"${cov:-?}" >"$FUZZ/logs/$name.summary"
		return 0
	fi
	{
		echo "not ok fuzz/$name"
		if [ -n "$artifact" ]; then
			echo "# crash: $artifact  (reproduce: $bin $artifact)"
		else
			echo "# $bin exited with status $status and saved no input"
		fi
		# What broke (the invariant and its detail, or the sanitizer's
		# report), where in our code, and the summary.
		{
			grep -E -A1 'invariant broken' "$log" | head -2
			grep -E '^==[0-9]+==ERROR|runtime error' "$log" | head -2
			grep -E '^ +#[0-9]+ .*(user/lib|tests/fuzz)/' "$log" | head -4
			grep -E '^SUMMARY' "$log" | head -1
		} | sed -e 's/ (BuildId: [0-9a-f]*)//' -e 's/^/#   /'
		echo "# full log: $log"
	} >"$res"
	printf '%-12s FAILED  %s\n' "$name" "${artifact:-exit status $status}" \
		>"$FUZZ/logs/$name.summary"
	return 1
}

for name in "${names[@]}"; do
	[ "$name" = mmdb ] && mmdb_seeds
done

failed=0
pids=()
for name in "${names[@]}"; do
	rm -f "$FUZZ/logs/$name.result" "$FUZZ/logs/$name.summary"
	if [ "$JOBS" -le 1 ]; then
		run_one "$name" || failed=1
		cat "$FUZZ/logs/$name.result"
		continue
	fi
	while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do
		wait -n
	done
	run_one "$name" &
	pids+=($!)
done
if [ "$JOBS" -gt 1 ]; then
	for pid in "${pids[@]}"; do
		wait "$pid" || failed=1
	done
	for name in "${names[@]}"; do
		cat "$FUZZ/logs/$name.result"
	done
fi

if [ "${#names[@]}" -gt 1 ]; then
	echo "# --- $SECS s per target"
	for name in "${names[@]}"; do
		sed 's/^/# /' "$FUZZ/logs/$name.summary"
	done
fi
exit "$failed"
