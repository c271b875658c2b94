#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# fail2ban bans through geofw (packaging/fail2ban/action.d/geofw.conf), with
# Debian's real fail2ban-server in the foreground (no systemd): its own
# socket, pid file and in-memory database, the polling backend, jails over
# test log files in which the test writes failed logins of the lab clients.
#
#   ban/       three failures of c1 (192.0.2.2): fail2ban bans, the rule is
#              in `fwctl list --source fail2ban` with the ban time as TTL, the
#              kernel drops c1's traffic; `fail2ban-client unban` lets it in
#   ipv6/      failures of 2001:db8:1::2 in a jail with ipv6_prefix=64: the
#              rule is 2001:db8:1::/64, c1's IPv6 traffic is dropped
#   expiry/    a jail with bantime = 4: the ban ends by itself and the address
#              passes again
#   forever/   bantime = -1: a rule without expiry
#   stop/      stopping fail2ban lifts its own bans and nothing else (a cli
#              rule on the same address and another cli rule stay)
#   source/    add-block refuses the sources geofwd fills itself
#
# Usage: BUILD=build bash tests/e2e/fail2ban.sh   (from the repo root, root)
set -u
cd "$(dirname "$0")/../.." || exit 2
source tests/lib/lab.sh

# Debian's fail2ban runs on Debian's python3 (not one earlier on PATH).
F2B_SERVER=/usr/bin/fail2ban-server
F2B_CLIENT=/usr/bin/fail2ban-client
PY=/usr/bin/python3
if [ ! -x "$F2B_SERVER" ] || [ ! -x "$F2B_CLIENT" ] || [ ! -x "$PY" ]; then
	skip fail2ban/installed "fail2ban or /usr/bin/python3 not installed (make deps)"
	exit 0
fi

lab_up || { not_ok lab_up "cannot build the lab"; exit 1; }
geofwd_start || { not_ok geofwd_start "geofwd did not start"; exit 1; }
ok geofwd_start

F2B=$LAB_DIR/fail2ban
F2B_PID=
mkdir -p "$F2B/action.d" "$F2B/filter.d"
cp packaging/fail2ban/action.d/geofw.conf "$F2B/action.d/geofw.conf"
: >"$LAB_DIR/auth.log"
: >"$LAB_DIR/short.log"
: >"$LAB_DIR/forever.log"

cat >"$F2B/fail2ban.conf" <<-END_CONF
	[Definition]
	loglevel = INFO
	logtarget = $F2B/fail2ban.log
	socket = $F2B/fail2ban.sock
	pidfile = $F2B/fail2ban.pid
	dbfile = :memory:
	syslogsocket = auto
END_CONF
cat >"$F2B/filter.d/lab.conf" <<-'END_FILTER'
	[Definition]
	failregex = ^Failed login from <HOST>$
	datepattern = {NONE}
END_FILTER
# The lab's fwctl: the build's binary, the lab's socket and pins.
act="geofw[fwctl=\"$PWD/$BUILD/fwctl\", fwctl_opts=\"--socket $LAB_DIR/geofwd.sock --pin-dir $LAB_PIN\""
cat >"$F2B/jail.conf" <<-END_JAIL
	[DEFAULT]
	backend = polling
	filter = lab
	maxretry = 3
	findtime = 600
	[lab]
	enabled = true
	logpath = $LAB_DIR/auth.log
	bantime = 3600
	action = $act, ipv6_prefix=64]
	[lab-short]
	enabled = true
	logpath = $LAB_DIR/short.log
	bantime = 4
	action = $act, source=fail2ban-short]
	[lab-forever]
	enabled = true
	logpath = $LAB_DIR/forever.log
	bantime = -1
	action = $act, source=fail2ban-forever]
END_JAIL

f2b_client() { "$PY" "$F2B_CLIENT" -c "$F2B" "$@"; }
f2b_cleanup() {
	if [ -n "$F2B_PID" ]; then
		kill -TERM "$F2B_PID" 2>/dev/null
		wait "$F2B_PID" 2>/dev/null
		F2B_PID=
	fi
}
f2b_on_exit() {
	local status=$?
	f2b_cleanup
	if [ "$T_FAILED" -gt 0 ] && [ -f "$F2B/fail2ban.log" ]; then
		echo "# fail2ban errors:"
		grep -m5 -A3 " ERROR " "$F2B/fail2ban.log" | sed 's/^/#   /'
	fi
	(exit "$status")	# lab_on_exit exits with the status it finds
	lab_on_exit
}
trap f2b_on_exit EXIT

# In srv's network namespace like geofwd; exec'd by nsenter, so $! is the
# server itself.
nsenter --net="/run/netns/$(ns srv)" "$PY" "$F2B_SERVER" -f -x -c "$F2B" \
	>"$F2B/server.out" 2>&1 &
F2B_PID=$!
LAB_PIDS+=("$F2B_PID")
if wait_for 20 f2b_client ping; then
	ok fail2ban/server_up
else
	not_ok fail2ban/server_up "$(tail -5 "$F2B/server.out" "$F2B/fail2ban.log" 2>/dev/null | tr '\n' ' ')"
	exit 1
fi

# fail LOG ADDR: three failed logins of ADDR, the jail's maxretry.
fail() { local i; for i in 1 2 3; do echo "Failed login from $2" >>"$LAB_DIR/$1"; done; }
# f2b_listed SOURCE PREFIX: geofw holds the prefix under SOURCE.
f2b_listed() { fwctl list blocks --source "$1" | awk -v p="$2" '$2 == p { f = 1 } END { exit !f }'; }
# rule_json SOURCE PREFIX: "SOURCE ttl|forever SECONDS-LEFT" from fwctl -j list.
rule_json() {
	fwctl -j list blocks --source "$1" | "$PY" -c '
import json, sys
for r in json.load(sys.stdin):
    if r["prefix"] == sys.argv[1]:
        left = r["expires"] - int(sys.argv[2]) if r["expires"] else 0
        print(r["source"], "ttl" if r["expires"] else "forever", left)' "$2" "$(date +%s)"
}
f2b_log_tail() { tail -5 "$F2B/fail2ban.log" 2>/dev/null | tr '\n' ' '; }
# within NAME SECONDS CMD...: ok when CMD succeeds within SECONDS.
within() {
	local name=$1
	shift
	if wait_for "$@"; then
		ok "$name"
	else
		not_ok "$name" "$(fwctl list blocks | tr '\n' ' ') $(f2b_log_tail)"
	fi
}

# A cli rule elsewhere before fail2ban starts banning: not fail2ban's to remove.
check source/cli_rule fwctl add-block 203.0.113.77 --comment operator

# ---- ban / unban -------------------------------------------------------------------
check ban/reach_before reach c1 192.0.2.1
fail auth.log 192.0.2.2
within ban/rule_added 10 f2b_listed fail2ban 192.0.2.2/32
read -r src kind left <<<"$(rule_json fail2ban 192.0.2.2/32)"
expect_eq ban/source "${src:-}" fail2ban
expect_eq ban/has_ttl "${kind:-}" ttl
if [ "${left:-0}" -gt 3500 ] && [ "${left:-0}" -le 3600 ]; then
	ok ban/ttl_is_bantime
else
	not_ok ban/ttl_is_bantime "expires in ${left:-?} s, bantime 3600"
fi
check_fails ban/kernel_drops reach c1 192.0.2.1
check ban/other_client_passes reach c2 198.51.100.1
expect_match ban/fail2ban_status "$(f2b_client status lab)" 'Banned IP list:[[:space:]]*192\.0\.2\.2'
check ban/unban f2b_client set lab unbanip 192.0.2.2
within ban/unban_restores 10 reach c1 192.0.2.1
check_fails ban/rule_removed f2b_listed fail2ban 192.0.2.2/32

# ---- IPv6, widened to the /64 ------------------------------------------------------
check ipv6/reach_before in_ns c1 ping -6 -c 1 -W 1 -q 2001:db8:1::1
fail auth.log 2001:db8:1::2
within ipv6/rule_is_slash64 10 f2b_listed fail2ban 2001:db8:1::/64
check_fails ipv6/kernel_drops in_ns c1 ping -6 -c 1 -W 1 -q 2001:db8:1::1
check ipv6/ipv4_passes reach c1 192.0.2.1
check ipv6/unban f2b_client set lab unbanip 2001:db8:1::2
within ipv6/unban_restores 10 in_ns c1 ping -6 -c 1 -W 1 -q 2001:db8:1::1

# ---- expiry: the ban ends by itself ------------------------------------------------
fail short.log 198.51.100.2
within expiry/rule_added 10 f2b_listed fail2ban-short 198.51.100.2/32
check_fails expiry/kernel_drops reach c2 198.51.100.1
within expiry/passes_again 15 reach c2 198.51.100.1
not_listed() { ! f2b_listed "$@"; }
within expiry/rule_gone 10 not_listed fail2ban-short 198.51.100.2/32

# ---- bantime = -1: no expiry in geofw ----------------------------------------------
fail forever.log 203.0.113.2
within forever/rule_added 10 f2b_listed fail2ban-forever 203.0.113.2/32
read -r src kind left <<<"$(rule_json fail2ban-forever 203.0.113.2/32)"
expect_eq forever/no_expiry "${kind:-}" forever

# ---- stop: fail2ban's bans go, the operator's stay ---------------------------------
fail auth.log 192.0.2.2
wait_for 10 f2b_listed fail2ban 192.0.2.2/32
check stop/cli_rule_same_address fwctl add-block 192.0.2.2 --comment operator
check stop/client_stop f2b_client stop
server_gone() { ! kill -0 "$F2B_PID" 2>/dev/null; }
within stop/server_exited 20 server_gone
wait "$F2B_PID" 2>/dev/null
F2B_PID=
expect_eq stop/fail2ban_rules_gone "$(fwctl list blocks | awk '$NF ~ /^fail2ban/' | wc -l)" 0
check stop/cli_rule_kept f2b_listed cli 192.0.2.2/32
check stop/other_cli_rule_kept f2b_listed cli 203.0.113.77/32
check_fails stop/still_dropped_by_cli reach c1 192.0.2.1
expect_eq stop/no_action_errors "$(grep -c ' ERROR ' "$F2B/fail2ban.log")" 0

# ---- sources geofwd fills itself are refused ---------------------------------------
for s in fleet crowdsec import:x feed:y; do
	out=$(fwctl add-block 192.0.2.99 --source "$s" 2>&1)
	expect_match "source/refused_$s" "$out" 'filled by geofwd itself'
done
out=$(fwctl add-block 192.0.2.99 --source $'bad\x01' 2>&1)
expect_match source/control_char_refused "$out" 'control character'

[ "$T_FAILED" -eq 0 ]
