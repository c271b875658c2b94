#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# One writer per field of gfw_config (docs/maps.md): `fwctl log --follow`
# is started and stopped over and over while geofwd takes 10,000 add-blocks
# (and the deletes in between that clear rules_present bits).  A writer that
# put back a stale copy of the whole record would leave a bit clear and the
# data plane would skip a populated block map.  Afterwards every rule of the
# final set is checked against the XDP program itself (BPF_PROG_RUN through
# bpftool, crafted frames) and the lab clients' blocked addresses with real
# pings; the drop-log rate lease is given back to 0.
set -u
cd "$(dirname "$0")/../.." || exit 2
source tests/lib/lab.sh

PY=/usr/bin/python3
ROUNDS=${ROUNDS:-500}		# x PER_ROUND add-blocks
PER_ROUND=20

# The field of the pinned config record.
config_field() {
	bpftool -j map lookup pinned "$LAB_PIN/gfw_config" key 0 0 0 0 | "$PY" -c '
import json, sys
print(json.load(sys.stdin)["formatted"]["value"][sys.argv[1]])' "$1"
}

# round_cidrs R: PER_ROUND CIDRs of all four block maps (exact v4/v6, nets
# v4/v6), different in every round, none of the lab's own addresses.
round_cidrs() {
	local r=$1 i
	for i in $(seq 0 $((PER_ROUND / 4 - 1))); do
		echo "203.0.113.$((100 + i))"			# exact v4 (RU /24)
		printf '2001:db8:ff:%x::%x\n' "$r" "$((i + 1))"	# exact v6
		echo "198.51.100.$((128 + (i % 8) * 16))/28"	# v4 nets
		printf '2001:db8:%x:%x::/64\n' "$((0x100 + r))" "$i"	# v6 nets
	done
}

lab_up || { not_ok lab_up "cannot build the lab"; exit 1; }
ok lab_up
lab_config "DropLog = off"
geofwd_start || { not_ok geofwd_start "geofwd did not start"; exit 1; }
reach c1 192.0.2.1 && reach c2 198.51.100.1
in_ns c1 ping -6 -c 1 -W 1 -q 2001:db8:1::1 >/dev/null 2>&1
in_ns c2 ping -6 -c 1 -W 1 -q 2001:db8:2::1 >/dev/null 2>&1

# fwctl log started and stopped, as fast as it goes, for the whole run, by
# two loops at once.
STOP=$LAB_DIR/stop-log-loop
log_loop() {
	local n=0 p
	while [ ! -e "$STOP" ]; do
		# nsenter execs fwctl: $! is fwctl itself, not a subshell.
		nsenter --net="/run/netns/$(ns srv)" "$BUILD/fwctl" --socket "$LAB_DIR/geofwd.sock" \
			--pin-dir "$LAB_PIN" log --follow --rate 7 >/dev/null 2>&1 &
		p=$!
		sleep 0.0$((RANDOM % 9 + 1))
		kill -TERM "$p" 2>/dev/null
		wait "$p" 2>/dev/null
		n=$((n + 1))
	done
	echo "$n" >> "$LAB_DIR/log-runs"
}
log_loop & LOOP1=$!
log_loop & LOOP2=$!
LAB_PIDS+=("$LOOP1" "$LOOP2")

failed_cmd=
t0=$(date +%s)
for r in $(seq 1 "$ROUNDS"); do
	mapfile -t cidrs < <(round_cidrs "$r")
	if ! out=$(fwctl add-block "${cidrs[@]}" 2>&1); then
		failed_cmd="add-block round $r: $out"
		break
	fi
	# Empty every map again but in the last round: the sync after the
	# delete clears the bits, the next add sets them.
	if [ "$r" -lt "$ROUNDS" ] && ! out=$(fwctl del-block "${cidrs[@]}" 2>&1); then
		failed_cmd="del-block round $r: $out"
		break
	fi
done
touch "$STOP"
wait "$LOOP1" "$LOOP2"
echo "# $((ROUNDS * PER_ROUND)) add-blocks in $(( $(date +%s) - t0 )) s, fwctl log started" \
     "and stopped $(awk '{ n += $1 } END { print n + 0 }' "$LAB_DIR/log-runs" 2>/dev/null) times meanwhile"
if [ -n "$failed_cmd" ]; then
	not_ok writers/add_blocks "$failed_cmd"
else
	ok writers/add_blocks
fi

# The lab clients' own addresses, one in each block map, added last.
check writers/add_lab_blocks fwctl add-block 192.0.2.2 2001:db8:1::2 198.51.100.0/30 2001:db8:2::/64

# Every block map holds entries: every bit must be set.
expect_eq writers/rules_present "$(config_field rules_present)" 60
expect_eq writers/events_rate_given_back "$(config_field events_rate)" 0

# Every rule of the final round through the XDP program on gfw1.
prog=$(in_ns srv bpftool -j net show dev gfw1 | "$PY" -c '
import json, sys
for d in json.load(sys.stdin):
    for x in d.get("xdp", []):
        print(x["id"]); sys.exit(0)')
if [ -z "$prog" ]; then
	not_ok writers/prog_run "no XDP program on gfw1"
else
	frames=$LAB_DIR/frames
	mkdir -p "$frames"
	mapfile -t cidrs < <(round_cidrs "$ROUNDS")
	# One frame per rule: a UDP datagram from the rule's first address.
	"$PY" - "$frames" "${cidrs[@]}" <<-'EOF'
	import ipaddress, struct, sys
	out = sys.argv[1]
	for n, c in enumerate(sys.argv[2:]):
	    src = ipaddress.ip_network(c).network_address
	    udp = struct.pack("!HHHH", 40000, 9, 8 + 4, 0) + b"test"
	    if src.version == 4:
	        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
	                         src.packed, ipaddress.ip_address("192.0.2.1").packed)
	        eth = b"\x02" * 6 + b"\x04" * 6 + b"\x08\x00"
	    else:
	        ip = struct.pack("!IHBB16s16s", 6 << 28, len(udp), 17, 64, src.packed,
	                         ipaddress.ip_address("2001:db8:1::1").packed)
	        eth = b"\x02" * 6 + b"\x04" * 6 + b"\x86\xdd"
	    open(f"{out}/{n}", "wb").write(eth + ip + udp)
	EOF
	bad=0 first=
	for n in $(seq 0 $(( ${#cidrs[@]} - 1 ))); do
		rv=$(bpftool prog run id "$prog" data_in "$frames/$n" repeat 1 2>&1 |
		     sed -n 's/^Return value: *\([0-9]*\).*/\1/p')
		if [ "$rv" != 1 ]; then	# XDP_DROP
			bad=$((bad + 1))
			[ -z "$first" ] && first="${cidrs[$n]}: return value '${rv:-none}'"
		fi
	done
	if [ "$bad" -eq 0 ]; then
		ok writers/prog_run_every_rule
	else
		not_ok writers/prog_run_every_rule "$bad of ${#cidrs[@]} rules not enforced, first $first"
	fi
fi

# And the lab's own clients, with real traffic.
check_fails writers/c1_v4_blocked reach c1 192.0.2.1
check_fails writers/c1_v6_blocked in_ns c1 ping -6 -c 1 -W 1 -q 2001:db8:1::1
check_fails writers/c2_v4_net_blocked reach c2 198.51.100.1
check_fails writers/c2_v6_net_blocked in_ns c2 ping -6 -c 1 -W 1 -q 2001:db8:2::1

exit $((T_FAILED > 0))
