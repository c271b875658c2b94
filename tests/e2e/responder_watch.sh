#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# reject and http403 fail closed without the TC program (issue 11 §3).  Under
# a SYN flood from a blocked http403 source (c3, RU) at nginx in srv:
#  - the clsact qdisc is deleted while geofwd runs: geofwd logs it and
#    re-attaches; from 1 s after the deletion no SYN reaches srv's stack;
#  - the qdisc is deleted while geofwd is stopped: XDP alone turns the verdict
#    into a drop (responder_missing), no SYN reaches the stack after 1 s;
#  - another TC program runs first and lets everything through: XDP notices
#    that its hand-offs go unacknowledged and drops; geofwd reports it, and
#    `fwctl reload` re-arms the responder once the chain is repaired.
# "Reaches the stack" is srv's Tcp InSegs counter (/proc/net/snmp), which
# counts every TCP segment the stack receives; nothing else talks TCP to srv
# meanwhile.
set -u
cd "$(dirname "$0")/../.." || exit 2
source tests/lib/lab.sh

PY=/usr/bin/python3

lab_up || { not_ok lab_up "cannot build the lab"; exit 1; }
nginx_up || { not_ok nginx_up "nginx did not start"; exit 1; }
geofwd_start || { not_ok geofwd_start "geofwd did not start"; exit 1; }
ok setup

in_segs() { in_ns srv awk '$1 == "Tcp:" && $2 ~ /^[0-9]/ { print $11 }' /proc/net/snmp; }
# flood SECONDS: SYNs from c3 at srv:80 in the background.
flood() {
	in_ns c3 "$PY" tests/tools/synflood.py 203.0.113.2 203.0.113.1 80 "$1" 2000 >/dev/null 2>&1 &
	FLOOD_PID=$!
	LAB_PIDS+=("$FLOOD_PID")
}
# quiet NAME: over 2 s, srv's stack receives no TCP segment.
quiet() {
	local a b
	a=$(in_segs); sleep 2; b=$(in_segs)
	if [ "$a" = "$b" ]; then ok "$1 (InSegs $a)"; else not_ok "$1" "InSegs $a -> $b: $((b - a)) segments reached the stack"; fi
}
page() { in_ns c3 curl -s -o /dev/null -w '%{http_code}' --max-time 3 http://203.0.113.1/; }
has_filter() { in_ns srv tc filter show dev gfw3 ingress | grep -q 'geofw_tc'; }

expect_eq before/403 "$(page)" 403

# --- the qdisc goes while geofwd runs --------------------------------------------------------
flood 6
sleep 0.5
in_ns srv tc qdisc del dev gfw3 clsact
sleep 1
quiet running/no_syn_after_1s
for i in $(seq 1 20); do has_filter && break; sleep 0.1; done
if has_filter; then ok running/reattached; else not_ok running/reattached "no geofw_tc filter on gfw3"; fi
log=$(cat "$LAB_DIR/geofwd.log")
expect_match running/logged_missing "$log" 'gfw3: TC responder filter gone \(clsact qdisc or filter deleted\); re-attaching'
expect_match running/logged_reattached "$log" 'gfw3: TC responder re-attached'
wait "$FLOOD_PID" 2>/dev/null
expect_eq running/403_again "$(page)" 403

# --- the qdisc goes while geofwd is stopped --------------------------------------------------
geofwd_stop
missing0=$(fwctl -j stats | "$PY" -c 'import json,sys; print([e["packets"] for e in json.load(sys.stdin)["responder"] if e["event"]=="responder_missing"][0])')
flood 6
sleep 0.5
in_ns srv tc qdisc del dev gfw3 clsact
sleep 1
quiet stopped/no_syn_after_1s
wait "$FLOOD_PID" 2>/dev/null
missing1=$(fwctl -j stats | "$PY" -c 'import json,sys; print([e["packets"] for e in json.load(sys.stdin)["responder"] if e["event"]=="responder_missing"][0])')
if [ "${missing1:-0}" -gt "${missing0:-0}" ]; then
	ok "stopped/counted_responder_missing ($missing0 -> $missing1)"
else
	not_ok stopped/counted_responder_missing "$missing0 -> $missing1"
fi
geofwd_start || { not_ok stopped/restart "geofwd did not start"; exit 1; }
expect_eq stopped/403_after_restart "$(page)" 403

# A healthy responder is never reported stalled (short exchanges, idle gaps).
if grep -q 'sees no marked packets' "$LAB_DIR/geofwd.log"; then
	not_ok healthy/never_stalled "$(grep 'sees no marked packets' "$LAB_DIR/geofwd.log" | head -3)"
else
	ok healthy/never_stalled
fi

# --- another TC program runs first and passes everything -----------------------------------------
if err=$(in_ns srv tc filter add dev gfw3 ingress prio 1 bpf da obj "$BUILD/tests/bpf/tc_pass.bpf.o" sec tc 2>&1); then
	flood 6
	sleep 1.2
	quiet shadowed/no_syn_after_1s
	wait "$FLOOD_PID" 2>/dev/null
	out=$(fwctl status 2>&1)
	expect_match shadowed/status_says "$out" 'gfw3: attached.*TC responder sees no marked packets'
	expect_match shadowed/logged "$(cat "$LAB_DIR/geofwd.log")" 'gfw3: TC responder sees no marked packets .*fwctl reload'
	in_ns srv tc filter del dev gfw3 ingress prio 1
	check shadowed/reload fwctl reload
	expect_eq shadowed/403_after_reload "$(page)" 403
else
	not_ok shadowed/first_filter "cannot put a TC program first: $err"
fi

exit $((T_FAILED > 0))
