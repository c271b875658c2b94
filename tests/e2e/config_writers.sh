#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# One writer per field of gfw_config (docs/maps.md): `fwctl log --follow`
# is started and stopped over and over, from two loops, while geofwd takes
# 10,000 add-blocks (in 500 commands, into all four block maps).  A writer
# that put back a stale copy of the whole record would leave a rules_present
# bit clear and the data plane would skip a populated block map.  Afterwards
# every one of the 10,000 rules is checked against the XDP program itself
# (BPF_PROG_RUN, one crafted frame from each rule's address), the lab
# clients' blocked addresses with real pings, and the drop-log rate lease
# must be back at 0.
set -u
cd "$(dirname "$0")/../.." || exit 2
source tests/lib/lab.sh

PY=/usr/bin/python3
N_RULES=10000
PER_CMD=20

# The field of the pinned config record.
config_field() {
	bpftool -j map lookup pinned "$LAB_PIN/gfw_config" key 0 0 0 0 | "$PY" -c '
import json, sys
print(json.load(sys.stdin)["formatted"]["value"][sys.argv[1]])' "$1"
}

lab_up || { not_ok lab_up "cannot build the lab"; exit 1; }
ok lab_up
lab_config "DropLog = off"
geofwd_start || { not_ok geofwd_start "geofwd did not start"; exit 1; }
reach c1 192.0.2.1 && reach c2 198.51.100.1
in_ns c1 ping -6 -c 1 -W 1 -q 2001:db8:1::1 >/dev/null 2>&1
in_ns c2 ping -6 -c 1 -W 1 -q 2001:db8:2::1 >/dev/null 2>&1

# 10,000 distinct rules in the documentation ranges: the lab clients'
# addresses first (one in each block map), then every /32 of 203.0.113.0/24
# and the upper half of 198.51.100.0/24, /30s of its lower half, and IPv6
# /128s and /64s, interleaved so that every command touches several maps.
RULES=$LAB_DIR/rules.txt
"$PY" - "$N_RULES" >"$RULES" <<-'EOF'
	import sys
	n = int(sys.argv[1])
	out = ["192.0.2.2", "2001:db8:1::2", "198.51.100.0/30", "2001:db8:2::/64"]
	v4 = ["203.0.113.%d" % i for i in range(256)] + ["198.51.100.%d" % i for i in range(128, 256)]
	nets4 = ["198.51.100.%d/30" % i for i in range(4, 128, 4)]
	k = 0
	while len(out) < n:
	    if k % 10 == 0 and v4:
	        out.append(v4.pop())
	    elif k % 10 == 5 and nets4:
	        out.append(nets4.pop())
	    elif k % 2:
	        out.append("2001:db8:ff:%x::%x" % (k >> 12, (k & 0xfff) + 1))
	    else:
	        out.append("2001:db8:%x:%x::/64" % (0x100 + (k >> 12), k & 0xfff))
	    k += 1
	print("\n".join(out))
	EOF

# fwctl log started and stopped, as fast as it goes, for the whole run.
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
		# A fwctl that ignores SIGTERM is a failure, not a hung suite.
		for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		if kill -0 "$p" 2>/dev/null; then
			echo "$p" >> "$LAB_DIR/log-stuck"
			kill -9 "$p" 2>/dev/null
		fi
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
mapfile -t all <"$RULES"
for ((i = 0; i < ${#all[@]}; i += PER_CMD)); do
	if ! out=$(fwctl add-block "${all[@]:i:PER_CMD}" 2>&1); then
		failed_cmd="add-block ${all[i]} and $((PER_CMD - 1)) more: $out"
		break
	fi
done
touch "$STOP"
wait "$LOOP1" "$LOOP2"
if [ -s "$LAB_DIR/log-stuck" ]; then
	not_ok writers/log_follow_stops_on_sigterm \
		"fwctl log --follow still ran 5 s after SIGTERM, $(wc -l < "$LAB_DIR/log-stuck") time(s) (then killed)"
else
	ok writers/log_follow_stops_on_sigterm
fi
echo "# ${#all[@]} add-blocks in $(( ${#all[@]} / PER_CMD )) commands, $(( $(date +%s) - t0 )) s;" \
     "fwctl log started and stopped $(awk '{ n += $1 } END { print n + 0 }' \
     "$LAB_DIR/log-runs" 2>/dev/null) times meanwhile"
if [ -n "$failed_cmd" ]; then
	not_ok writers/add_blocks "$failed_cmd"
else
	ok writers/add_blocks
fi

# Every block map holds entries: every bit must be set.
expect_eq writers/rules_present "$(config_field rules_present)" 60
expect_eq writers/events_rate_given_back "$(config_field events_rate)" 0

# Every rule through the XDP program on gfw1: a UDP frame from the rule's
# first address must be dropped (XDP_DROP = 1).
prog=$(in_ns srv bpftool -j net show dev gfw1 | "$PY" -c '
import json, sys
for d in json.load(sys.stdin):
    for x in d.get("xdp", []):
        print(x["id"]); sys.exit(0)')
if [ -z "$prog" ]; then
	not_ok writers/prog_run_every_rule "no XDP program on gfw1"
elif out=$("$PY" - "$prog" "$RULES" 2>&1 <<-'EOF'
	import ctypes, ipaddress, os, platform, struct, sys
	SYS_BPF = {"x86_64": 321, "aarch64": 280}[platform.machine()]
	BPF_PROG_TEST_RUN, BPF_PROG_GET_FD_BY_ID = 10, 13
	libc = ctypes.CDLL(None, use_errno=True)
	def bpf(cmd, attr):
	    buf = ctypes.create_string_buffer(attr, len(attr))
	    r = libc.syscall(SYS_BPF, cmd, buf, len(attr))
	    if r < 0:
	        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
	    return r, buf.raw
	fd, _ = bpf(BPF_PROG_GET_FD_BY_ID, struct.pack("III", int(sys.argv[1]), 0, 0))
	def frame(src):
	    udp = struct.pack("!HHHH", 40000, 9, 12, 0) + b"test"
	    if src.version == 4:
	        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
	                         src.packed, ipaddress.ip_address("192.0.2.1").packed)
	        return b"\x02" * 6 + b"\x04" * 6 + b"\x08\x00" + ip + udp
	    ip = struct.pack("!IHBB16s16s", 6 << 28, len(udp), 17, 64, src.packed,
	                     ipaddress.ip_address("2001:db8:1::1").packed)
	    return b"\x02" * 6 + b"\x04" * 6 + b"\x86\xdd" + ip + udp
	def verdict(addr):
	    data = ctypes.create_string_buffer(frame(addr))
	    attr = struct.pack("IIIIQQII", fd, 0, len(data) - 1, 0, ctypes.addressof(data), 0, 1, 0)
	    _, raw = bpf(BPF_PROG_TEST_RUN, attr + b"\0" * (80 - len(attr)))
	    return struct.unpack_from("I", raw, 4)[0]
	# The check itself: an address no rule covers (US) passes (XDP_PASS = 2).
	if verdict(ipaddress.ip_address("192.0.2.77")) != 2:
	    sys.exit("192.0.2.77, under no rule, is not passed: the check is broken")
	bad = []
	rules = [l.strip() for l in open(sys.argv[2]) if l.strip()]
	for c in rules:
	    retval = verdict(ipaddress.ip_network(c).network_address)
	    if retval != 1:
	        bad.append("%s: %d" % (c, retval))
	print("%d of %d rules not enforced%s" % (len(bad), len(rules),
	      (", first " + ", ".join(bad[:3])) if bad else ""))
	sys.exit(1 if bad else 0)
	EOF
); then
	ok writers/prog_run_every_rule
	echo "# BPF_PROG_RUN: $out"
else
	not_ok writers/prog_run_every_rule "$out"
fi

# And the lab's own clients, with real traffic.
check_fails writers/c1_v4_blocked reach c1 192.0.2.1
check_fails writers/c1_v6_blocked in_ns c1 ping -6 -c 1 -W 1 -q 2001:db8:1::1
check_fails writers/c2_v4_net_blocked reach c2 198.51.100.1
check_fails writers/c2_v6_net_blocked in_ns c2 ping -6 -c 1 -W 1 -q 2001:db8:2::1

exit $((T_FAILED > 0))
