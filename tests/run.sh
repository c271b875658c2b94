#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Run every test suite and print one summary line:
#	N passed, N failed, N skipped
# Suites: the C suites built in BUILD/tests/*/run (unit, prog), then every
# tests/e2e/*.sh.  Each prints "ok NAME", "not ok NAME" or
# "ok NAME # SKIP reason" lines; a suite that dies without saying why counts
# as one failure.  Exit status is non-zero when anything failed.
#
# Usage: tests/run.sh [BUILD] [FILTER]   FILTER: substring of suite paths
set -u

BUILD=${1:-build}
FILTER=${2:-}
cd "$(dirname "$0")/.." || exit 2

passed=0 failed=0 skipped=0
failures=()

run_suite() {
	local name=$1; shift
	local out status before_failed=$failed
	local -i n_ok=0 n_fail=0 n_skip=0

	echo "== $name"
	local t0=$SECONDS
	out=$(mktemp)
	"$@" 2>&1 | tee "$out" | grep -E '^(not ok|#|ok .* # SKIP)' 
	status=${PIPESTATUS[0]}
	n_ok=$(grep -cE '^ok ' "$out" | tr -d ' ')
	n_skip=$(grep -cE '^ok .* # SKIP' "$out" | tr -d ' ')
	n_fail=$(grep -cE '^not ok ' "$out" | tr -d ' ')
	while IFS= read -r line; do
		failures+=("${line#not ok }")
	done < <(grep -E '^not ok ' "$out")
	rm -f "$out"
	if [ "$status" -ne 0 ] && [ "$n_fail" -eq 0 ]; then
		n_fail=1
		failures+=("$name (exited with status $status)")
	fi
	passed=$((passed + n_ok - n_skip))
	skipped=$((skipped + n_skip))
	failed=$((failed + n_fail))
	echo "   $((n_ok - n_skip)) passed, $n_fail failed, $n_skip skipped ($((SECONDS - t0)) s)"
	[ "$failed" -eq "$before_failed" ]
}

for bin in "$BUILD"/tests/*/run; do
	[ -x "$bin" ] || continue
	suite=$(basename "$(dirname "$bin")")
	[[ -z $FILTER || $suite == *"$FILTER"* ]] || continue
	run_suite "$suite" "$bin"
done

for t in tests/e2e/*.sh; do
	[ -f "$t" ] || continue
	[[ -z $FILTER || $t == *"$FILTER"* ]] || continue
	run_suite "e2e/$(basename "$t" .sh)" env BUILD="$BUILD" bash "$t"
done

if [ "${#failures[@]}" -gt 0 ]; then
	echo
	echo "failed:"
	printf '  %s\n' "${failures[@]}"
fi
echo
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
