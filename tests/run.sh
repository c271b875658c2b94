#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Run every test suite and print one summary line:
#	N passed, N failed, N skipped
# Suites: the C suites built in BUILD/tests/*/run (unit, prog), then every
# tests/e2e/*.sh.  Each prints "ok NAME", "not ok NAME" or
# "ok NAME # SKIP reason" lines; a suite that dies without saying why (exit
# status not 0, killed, timed out, or not one result line) counts as one
# failure.  Exit status is non-zero when anything failed.
#
# Suites run GEOFW_TEST_JOBS at a time (default 3): each builds its own world
# (namespaces gfwt<pid>-*, pins /sys/fs/bpf/geofw-test-<pid>*, temp
# directories, servers inside its namespaces), so they do not see each
# other.  The suites in ALONE run with no other suite of this run: they
# install packages on the host or measure time.  Each suite's output is kept
# and printed whole, in the order above, with its seconds.  The longest
# suites start first (seconds of the last run, BUILD/tests/suite-seconds, or
# tests/suite-seconds).  GEOFW_TEST_JOBS=1 runs them one after another in
# that order, output as it comes.  GEOFW_TEST_TIMEOUT (seconds, default
# 1200) ends a suite that hangs (SIGTERM: its traps clean up).
#
# Usage: tests/run.sh [BUILD] [FILTER]   FILTER: substring of suite paths;
#	several separated by commas (a suite matching any of them runs)
set -u

BUILD=${1:-build}
FILTER=${2:-}
JOBS=${GEOFW_TEST_JOBS:-3}
TIMEOUT=${GEOFW_TEST_TIMEOUT:-1200}
cd "$(dirname "$0")/.." || exit 2
[[ $JOBS =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: GEOFW_TEST_JOBS must be a number >= 1" >&2; exit 2; }
[[ $TIMEOUT =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: GEOFW_TEST_TIMEOUT must be seconds >= 1" >&2; exit 2; }

# Never next to another suite of this run (docs/design-notes.md, "Tests run
# side by side"): deb and systemd install the package (dpkg's lock, /etc/geofw,
# make deb in BUILD), packaging runs make install from BUILD; ratelimit,
# control_stall, observability and responder_watch assert what happens
# within a second or count packets against a clock; debian12_kernel runs a
# guest under software emulation that takes both CPUs.
ALONE=" e2e/deb e2e/systemd e2e/packaging e2e/ratelimit e2e/control_stall e2e/observability e2e/responder_watch e2e/debian12_kernel "

# ---- the suites, in the order they are reported ------------------------------------------

# wanted PATH: PATH matches FILTER
wanted() {
	local pats p
	[ -n "$FILTER" ] || return 0
	IFS=, read -ra pats <<<"$FILTER"
	for p in "${pats[@]}"; do [[ $1 == *"$p"* ]] && return 0; done
	return 1
}

NAMES=() CMDS=()
for bin in "$BUILD"/tests/*/run; do
	[ -x "$bin" ] || continue
	suite=$(basename "$(dirname "$bin")")
	wanted "$suite" || continue
	NAMES+=("$suite"); CMDS+=("$bin")
done
for t in tests/e2e/*.sh; do
	[ -f "$t" ] || continue
	wanted "$t" || continue
	NAMES+=("e2e/$(basename "$t" .sh)"); CMDS+=("$t")
done
N=${#NAMES[@]}

# suite_cmd I: suite I's command line (into CMD)
suite_cmd() {
	local c=${CMDS[$1]}
	if [[ $c == *.sh ]]; then CMD=(env BUILD="$BUILD" bash "$c"); else CMD=("$c"); fi
}

passed=0 failed=0 skipped=0
failures=()
W=$(mktemp -d /tmp/geofw-run.XXXXXX)
declare -A SLOT=()	# PID of a running suite's timeout -> suite index
STATUS=() SECS=()

# report I: suite I's lines (not ok, comments, skips; all of them with
# JOBS=1, which already showed them) and counts, from its output $W/I.out.
report() {
	local i=$1 out=$W/$1.out line
	local -i n_ok n_fail n_skip st=${STATUS[$1]}
	[ "$JOBS" -eq 1 ] || { echo "== ${NAMES[$i]}"; grep -E '^(not ok|#|ok .* # SKIP)' "$out"; }
	n_ok=$(grep -cE '^ok ' "$out")
	n_skip=$(grep -cE '^ok .* # SKIP' "$out")
	n_fail=$(grep -cE '^not ok ' "$out")
	while IFS= read -r line; do
		failures+=("${line#not ok }")
	done < <(grep -E '^not ok ' "$out")
	if [ "$n_fail" -eq 0 ] && { [ "$st" -ne 0 ] || [ "$n_ok" -eq 0 ]; }; then
		n_fail=1
		if [ "$st" -eq 124 ]; then
			failures+=("${NAMES[$i]} (timed out after $TIMEOUT s)")
		elif [ "$st" -ne 0 ]; then
			failures+=("${NAMES[$i]} (exited with status $st)")
		else
			failures+=("${NAMES[$i]} (exited without a result)")
		fi
	fi
	passed=$((passed + n_ok - n_skip))
	skipped=$((skipped + n_skip))
	failed=$((failed + n_fail))
	echo "   $((n_ok - n_skip)) passed, $n_fail failed, $n_skip skipped (${SECS[$i]} s)"
}

# ---- one after another (GEOFW_TEST_JOBS=1): output as it comes --------------------------------

T0=$SECONDS
if [ "$JOBS" -eq 1 ]; then
	for ((i = 0; i < N; i++)); do
		echo "== ${NAMES[$i]}"
		suite_cmd "$i"
		t0=$SECONDS
		timeout -k 30 "$TIMEOUT" "${CMD[@]}" 2>&1 </dev/null | tee "$W/$i.out" |
			grep -E '^(not ok|#|ok .* # SKIP)'
		STATUS[i]=${PIPESTATUS[0]}
		SECS[i]=$((SECONDS - t0))
		report "$i"
	done
else

# ---- side by side ------------------------------------------------------------------------------

# The order they start in: ALONE suites first, one by one in the order
# above (e2e/deb's package is then fresh for e2e/systemd), then the rest,
# longest first by the seconds of an earlier run.
SECONDS_FILE=$BUILD/tests/suite-seconds
[ -f "$SECONDS_FILE" ] || SECONDS_FILE=tests/suite-seconds
declare -A PREV=()
if [ -f "$SECONDS_FILE" ]; then
	while read -r name s; do
		[[ $s =~ ^[0-9]+$ ]] && PREV[$name]=$s
	done < "$SECONDS_FILE"
fi
mapfile -t ORDER < <(for ((i = 0; i < N; i++)); do
	if [[ $ALONE == *" ${NAMES[$i]} "* ]]; then
		printf '1 0 %d\n' "$i"
	else
		printf '0 %d %d\n' "${PREV[${NAMES[$i]}]:-0}" "$i"
	fi
done | sort -k1,1nr -k2,2nr -k3,3n | awk '{ print $3 }')

START=()
running=0 next=0
start_suite() {	# start_suite I: in the background, output to $W/I.out
	suite_cmd "$1"
	START[$1]=$SECONDS
	# In a subshell that outlives it: a suite killed by a signal is
	# reported as its exit status, not by bash's job notice.
	(timeout -k 30 "$TIMEOUT" "${CMD[@]}" >"$W/$1.out" 2>&1 </dev/null; exit $?) 2>>"$W/$1.out" &
	SLOT[$!]=$1
	running=$((running + 1))
}
reap() {	# reap: wait for one suite to end; print every finished one whose turn it is
	local pid= st i p
	wait -n -p pid
	st=$?
	if [ -z "$pid" ] || [ -z "${SLOT[$pid]:-}" ]; then
		# Interrupted, or bash already reaped it: find one that ended.
		pid=
		for p in "${!SLOT[@]}"; do
			kill -0 "$p" 2>/dev/null || { pid=$p; break; }
		done
		[ -n "$pid" ] || { sleep 0.2; return 0; }
		wait "$pid"
		st=$?
	fi
	i=${SLOT[$pid]}
	unset "SLOT[$pid]"
	STATUS[i]=$st
	SECS[i]=$((SECONDS - START[i]))
	running=$((running - 1))
	# On a terminal, a word of progress while the report waits for its turn.
	[ -t 2 ] && [ "$i" -ne "$next" ] &&
		echo "   (${NAMES[$i]} done in ${SECS[$i]} s, reported in order)" >&2
	while [ "$next" -lt "$N" ] && [ -n "${STATUS[$next]:-}" ]; do
		report "$next"
		next=$((next + 1))
	done
}
stop_all() {	# Ctrl-C, SIGTERM: each running suite gets SIGTERM (its traps clean up)
	local pid
	# SIGTERM to each suite's timeout (the subshell's child): timeout passes
	# it on to the suite.
	for pid in "${!SLOT[@]}"; do
		kill -TERM $(ps -o pid= --ppid "$pid") 2>/dev/null
	done
	wait
	rm -rf "$W"
	exit 130
}
trap stop_all INT TERM

for i in "${ORDER[@]}"; do
	if [[ $ALONE == *" ${NAMES[$i]} "* ]]; then
		while [ "$running" -gt 0 ]; do reap; done
		start_suite "$i"
		reap
		continue
	fi
	while [ "$running" -ge "$JOBS" ]; do reap; done
	start_suite "$i"
done
while [ "$running" -gt 0 ]; do reap; done
trap - INT TERM
fi

# The seconds of this run, for the order of the next one.
if [ -d "$BUILD/tests" ]; then
	{
		for ((i = 0; i < N; i++)); do echo "${NAMES[$i]} ${SECS[$i]}"; done
		[ -f "$BUILD/tests/suite-seconds" ] && cat "$BUILD/tests/suite-seconds"
	} | awk '!seen[$1]++' > "$W/seconds" && mv "$W/seconds" "$BUILD/tests/suite-seconds"
fi
rm -rf "$W"

if [ "${#failures[@]}" -gt 0 ]; then
	echo
	echo "failed:"
	printf '  %s\n' "${failures[@]}"
fi
echo
echo "# $N suites in $((SECONDS - T0)) s, $JOBS at a time"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
