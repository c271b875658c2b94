#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# `make demo`: the firewall at work in the namespace lab of tests/lib/lab.sh,
# with real traffic, one short step per feature:
#
#   1. an allowed client (DE) gets the page, IPv4 and IPv6
#   2. a client of a blocked country (RU) gets the kernel's 403 page; its
#      ping is dropped
#   3. fwctl add-block takes effect live
#   4. fwctl lookup explains the verdicts
#   5. the counters, through fwctl stats and through bpftool alone
#
# then a summary with PASS/FAIL per step.  Exit status 0 only when every step
# behaved as expected.  Everything it creates (namespaces, pins, geofwd,
# nginx, temp files) is removed on exit, also on failure or Ctrl-C.
#
# Usage: tests/demo.sh [BUILD]     (as root; BUILD defaults to build)
set -u

BUILD=${1:-${BUILD:-build}}
cd "$(dirname "$0")/.." || exit 2

# ---- presentation ---------------------------------------------------------------

if [ -t 1 ]; then
	BOLD=$'\e[1m' DIM=$'\e[2m' RED=$'\e[31m' GREEN=$'\e[32m' CYAN=$'\e[36m' RESET=$'\e[0m'
else
	BOLD='' DIM='' RED='' GREEN='' CYAN='' RESET=''
fi

die() {
	echo "demo: $*" >&2
	exit 1
}

# The pin directory and socket an operator would have; the lab's geofwd uses
# private ones, which the lab's fwctl function passes along.
PIN_SHOWN=/sys/fs/bpf/geofw

STEP_TITLES=()
STEP_RESULTS=()
step_ok=1

step() {
	step_ok=1
	STEP_TITLES+=("$2")
	printf '\n%s%s. %s%s\n' "$BOLD" "$1" "$2" "$RESET"
	printf '   %s%s%s\n' "$DIM" "$3" "$RESET"
}

# prompt HOST COMMAND: the command as typed on HOST (srv is the server).
prompt() {
	local sign='$'
	[ "$1" = srv ] && sign='#'
	printf '   %s%s%s %s%s\n' "$CYAN" "$1" "$sign" "$2" "$RESET"
}

# Indented command output.
show() { sed 's/^/     /'; }

# expect DESCRIPTION CMD...: a check inside a step; a failure is shown.
expect() {
	local what=$1
	shift
	if ! "$@"; then
		printf '     %sexpected: %s%s\n' "$RED" "$what" "$RESET"
		step_ok=0
	fi
}

step_end() {
	if [ "$step_ok" = 1 ]; then
		STEP_RESULTS+=(PASS)
		printf '   %s-> PASS%s\n' "$GREEN" "$RESET"
	else
		STEP_RESULTS+=(FAIL)
		T_FAILED=$((T_FAILED + 1))	# lab.sh prints the geofwd log on exit
		printf '   %s-> FAIL%s\n' "$RED" "$RESET"
	fi
}

matches() { [[ $1 =~ $2 ]]; }
# alive PID: exists and is not a zombie (exited, waiting for its parent).
alive() { [ -r "/proc/$1/stat" ] && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]; }
same_nonzero() { [[ $1 =~ ^[0-9]+$ ]] && [ "$1" = "$2" ] && [ "$1" -gt 0 ]; }

# ping_line CLIENT ADDR: ping once; print ping's summary line; status kept.
ping_line() {
	local out status
	out=$(in_ns "$1" ping -c 1 -W 1 "$2" 2>&1)
	status=$?
	echo "$out" | grep 'packets transmitted' | sed 's/, time.*//'
	return $status
}

# ---- preconditions ---------------------------------------------------------------

[ "$(id -u)" = 0 ] || die "run as root (it creates network namespaces and loads BPF programs)"
for f in "$BUILD/geofwd" "$BUILD/fwctl"; do
	[ -x "$f" ] || die "$f is missing: run 'make' first"
done
for t in ip nsenter nginx curl ping bpftool perl python3; do
	command -v "$t" >/dev/null || die "$t is not installed: run 'make deps'"
done

source tests/lib/lab.sh

# ---- the lab ------------------------------------------------------------------------

cat <<EOF
${BOLD}geofw demo${RESET}: the firewall in a lab of network namespaces on this machine
(nothing outside the lab is touched, and everything goes away at the end).

    c1  192.0.2.2     2001:db8:1::2   US  --+
    c2  198.51.100.2  2001:db8:2::2   DE  --+--  srv: nginx on port 80, geofwd
    c3  203.0.113.2   2001:db8:3::2   RU  --+    (XDP + TC on its three links)

  Policy (geofw.conf): CountryMode = block, Countries = RU,
  CountryAction = http403 (HttpPorts = 80 8080), everything else passes.
  Commands are shown as on a real host: "c2\$" runs on client c2, "srv#" on
  the server.  (In the lab, fwctl also gets this lab's --socket and --pin-dir.)

EOF

printf 'Setting up: namespaces and links... '
lab_up || { echo "${RED}failed${RESET}"; exit 1; }
printf 'nginx... '
nginx_up || { echo "${RED}failed${RESET}"; T_FAILED=1; exit 1; }
printf 'geofwd... '
geofwd_start || { echo "${RED}failed${RESET}"; T_FAILED=1; exit 1; }
echo "${GREEN}ready${RESET}"
fwctl status | grep '^interface' | show

# ---- 1. allowed ----------------------------------------------------------------------

step 1 "An allowed client gets the page" \
	"c2 is in DE, a country the policy does not list: its packets pass XDP untouched."
prompt c2 "curl http://198.51.100.1/"
out=$(in_ns c2 curl -s --max-time 3 http://198.51.100.1/ 2>&1)
echo "$out" | show
expect "the page from nginx over IPv4" matches "$out" "geofw lab: welcome"
prompt c2 "curl http://[2001:db8:2::1]/"
out=$(in_ns c2 curl -s --max-time 3 'http://[2001:db8:2::1]/' 2>&1)
echo "$out" | show
expect "the page from nginx over IPv6" matches "$out" "geofw lab: welcome"
step_end

# ---- 2. blocked country ----------------------------------------------------------------

step 2 "A blocked country gets a 403 page from the kernel" \
	"c3 is in RU: XDP marks its packets, the TC responder answers; nginx never sees them."
prompt c3 "curl -i http://203.0.113.1/          (status line and title shown)"
out=$(in_ns c3 curl -si --max-time 3 http://203.0.113.1/ 2>&1 | tr -d '\r')
status_line=$(echo "$out" | head -1)
title=$(echo "$out" | grep -o '<title>.*</title>' | head -1)
printf '%s\n%s\n' "$status_line" "$title" | show
expect "HTTP/1.1 403 Forbidden" [ "$status_line" = "HTTP/1.1 403 Forbidden" ]
expect "the 403 page's title" [ "$title" = "<title>403 Forbidden</title>" ]
prompt c3 "curl -i http://[2001:db8:3::1]/      (status line shown)"
out=$(in_ns c3 curl -si --max-time 3 'http://[2001:db8:3::1]/' 2>&1 | tr -d '\r' | head -1)
echo "$out" | show
expect "HTTP/1.1 403 Forbidden over IPv6" [ "$out" = "HTTP/1.1 403 Forbidden" ]
seen=$(grep -cE '^(203\.0\.113\.2|2001:db8:3::2) ' "$LAB_DIR/nginx/access.log" 2>/dev/null)
echo "(nginx's access log has ${seen:-0} requests from c3: the kernel answered)" | show
expect "no request from c3 in nginx's log" [ "${seen:-0}" = 0 ]
prompt c3 "ping -c 1 -W 1 203.0.113.1"
out=$(ping_line c3 203.0.113.1)
status=$?
echo "$out" | show
expect "no reply: dropped by XDP" [ "$status" != 0 ]
expect "ping sent its request" matches "$out" "1 packets transmitted, 0 received"
step_end

# ---- 3. add-block ----------------------------------------------------------------------

step 3 "Blocking an address takes effect at once" \
	"c1 (US) passes; fwctl add-block puts it in the kernel's blocklist, no restart."
prompt c1 "ping -c 1 -W 1 192.0.2.1"
out=$(ping_line c1 192.0.2.1)
status=$?
echo "$out" | show
expect "a reply before the block" [ "$status" = 0 ]
prompt srv 'fwctl add-block 192.0.2.2 --comment "demo"'
out=$(fwctl add-block 192.0.2.2 --comment "demo" 2>&1)
status=$?
echo "$out" | show
expect "fwctl add-block succeeds" [ "$status" = 0 ]
prompt c1 "ping -c 1 -W 1 192.0.2.1"
out=$(ping_line c1 192.0.2.1)
status=$?
echo "$out" | show
expect "no reply after the block" [ "$status" != 0 ]
expect "ping sent its request" matches "$out" "1 packets transmitted, 0 received"
step_end

# ---- 4. lookup -------------------------------------------------------------------------

step 4 "fwctl lookup explains a verdict" \
	"It runs the data plane's decision over the maps in force, for any source address."
prompt srv "fwctl lookup 203.0.113.2"
out=$(fwctl lookup 203.0.113.2 2>&1)
echo "$out" | show
expect "http403 because of the country RU" matches "$out" "http403.*RU"
prompt srv "fwctl lookup 192.0.2.2"
out=$(fwctl lookup 192.0.2.2 2>&1)
echo "$out" | show
expect "drop because of the block rule" matches "$out" "drop.*192\.0\.2\.2/32"
prompt srv "fwctl lookup 198.51.100.2"
out=$(fwctl lookup 198.51.100.2 2>&1)
echo "$out" | show
expect "pass: DE is not listed" matches "$out" "pass.*DE"
step_end

# ---- 5. counters -----------------------------------------------------------------------

step 5 "Counters, with fwctl and with bpftool alone" \
	"Per-CPU BPF maps pinned by name, summed by fwctl, readable by any BPF tool."
prompt srv "fwctl stats                          (by reason and by country)"
stats=$(fwctl stats 2>&1)
# The two sections this demo is about; the full output also has actions,
# rules and the TCP responder.
echo "$stats" | awk '/^Packets by reason/ || /^Packets by country/ {on = 1}
	/^$/ {on = 0} on' | show
json=$(fwctl -j stats 2>/dev/null)
# Reason names by number, from the ABI header (enum geofw_reason).
REASON=()
while read -r num name; do
	REASON[num]=${name,,}
done < <(sed -n 's/^[[:space:]]*GEOFW_R_\([A-Z0-9_]*\)[[:space:]]*= \([0-9]*\),.*/\2 \1/p' include/geofw.h)
AWK_SUM='/"key"/ {k = $2 + 0} /"packets"/ {n[k] += $2} END {for (k in n) if (n[k]) print k, n[k]}'
prompt srv "bpftool map dump pinned $PIN_SHOWN/gfw_cnt_reason |"
printf '   %s       awk %s%s\n' "$CYAN" "'$AWK_SUM'" "$RESET"
dump=$(bpftool map dump pinned "$LAB_PIN/gfw_cnt_reason" 2>&1 | awk "$AWK_SUM" | sort -n)
echo "$dump" | while read -r k n; do
	printf '%-3s %-8s  # %s\n' "$k" "$n" "${REASON[$k]:-?}"
done | show
echo "(reason number, packets summed over CPUs  # name from enum geofw_reason)" | show
# The same numbers both ways (no traffic of these kinds in between).
for r in country_block block_ip; do
	from_fwctl=$(echo "$json" | python3 -c 'import json,sys
r = sys.argv[1]
print(next(e["packets"] for e in json.load(sys.stdin)["reasons"] if e["reason"] == r))' "$r" 2>/dev/null)
	from_bpftool=0
	for k in "${!REASON[@]}"; do
		[ "${REASON[$k]}" = "$r" ] || continue
		from_bpftool=$(echo "$dump" | awk -v k="$k" '$1 == k {print $2}')
	done
	expect "$r: fwctl (${from_fwctl:-?}) and bpftool (${from_bpftool:-0}) agree, non-zero" \
		same_nonzero "$from_fwctl" "${from_bpftool:-0}"
done
step_end

# ---- cleanup and summary -------------------------------------------------------------------

printf '\nCleaning up... '
pin=$LAB_PIN pfx=$LAB_PFX dir=$LAB_DIR
# Every process of the lab: geofwd, nginx and its workers.
pids=$(for n in srv c1 c2 c3; do ip netns pids "$(ns "$n")" 2>/dev/null; done)
# nginx first, gently: its master stops and reaps its workers.
kill -TERM "$NGINX_PID" 2>/dev/null
for _ in $(seq 1 20); do alive "$NGINX_PID" || break; sleep 0.1; done
lab_cleanup
left=()
ip netns list 2>/dev/null | grep -q "^$pfx-" && left+=("namespaces")
[ -e "$pin" ] && left+=("$pin")
[ -e "$dir" ] && left+=("$dir")
for p in $pids $GEOFWD_PID $NGINX_PID; do
	for _ in 1 2 3 4 5 6 7 8 9 10; do alive "$p" || break; sleep 0.1; done
	if alive "$p"; then
		left+=("process $p ($(tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null))")
	fi
done
if [ ${#left[@]} -eq 0 ]; then
	echo "namespaces, pins, geofwd, nginx and temp files removed"
else
	echo "${RED}left behind: ${left[*]}${RESET}"
fi

printf '\n%sSummary%s\n' "$BOLD" "$RESET"
failed=0
for i in "${!STEP_TITLES[@]}"; do
	if [ "${STEP_RESULTS[$i]}" = PASS ]; then
		printf '  %sPASS%s  %d. %s\n' "$GREEN" "$RESET" $((i + 1)) "${STEP_TITLES[$i]}"
	else
		printf '  %sFAIL%s  %d. %s\n' "$RED" "$RESET" $((i + 1)) "${STEP_TITLES[$i]}"
		failed=$((failed + 1))
	fi
done
if [ ${#left[@]} -eq 0 ]; then
	printf '  %sPASS%s  Nothing left behind\n' "$GREEN" "$RESET"
else
	printf '  %sFAIL%s  Nothing left behind: %s\n' "$RED" "$RESET" "${left[*]}"
	failed=$((failed + 1))
fi
total=$((${#STEP_TITLES[@]} + 1))
if [ "$failed" -eq 0 ]; then
	printf '%sAll %d checks passed.%s\n' "$GREEN" "$total" "$RESET"
	exit 0
fi
printf '%s%d of %d checks failed.%s\n' "$RED" "$failed" "$total" "$RESET"
exit 1
