#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# geofwd cannot be stalled by a client (geofwd(8), Control socket): the passed
# descriptor is read by the event loop with a 20 s deadline and a 64 MiB
# cap.  A client whose import drips one line every 8 s must not delay other
# clients' `fwctl status`; it is refused at the deadline with a message that
# says so.  /dev/zero and a file over the cap are refused with a clear message
# and without geofwd holding more than the cap.
set -u
cd "$(dirname "$0")/../.." || exit 2
source tests/lib/lab.sh

PY=/usr/bin/python3

ms() { echo $(( $(date +%s%N) / 1000000 )); }

# status_ms: how long one `fwctl status` takes, in ms (fails if it fails).
status_ms() {
	local t0 t1
	t0=$(ms)
	fwctl status >/dev/null 2>&1 || return 1
	t1=$(ms)
	echo $((t1 - t0))
}

# kib FIELD: a line of geofwd's /proc status (VmRSS, VmHWM), in kB.
kib() { awk -v f="$1:" '$1 == f { print $2 }' "/proc/$GEOFWD_PID/status"; }

lab_up || { not_ok lab_up "cannot build the lab"; exit 1; }
ok lab_up
geofwd_start || { not_ok geofwd_start "geofwd did not start"; exit 1; }

# What status costs here without any import (fwctl's own start included).
base_max=0
for i in 1 2 3 4 5; do
	t=$(status_ms) || { not_ok stall/status_baseline "fwctl status failed"; break; }
	[ "$t" -gt "$base_max" ] && base_max=$t
done
echo "# fwctl status without an import: at most $base_max ms"

# --- a dripping import ------------------------------------------------------------
# One valid line every 8 s on a pipe that stays open.
"$PY" -c '
import sys, time
for i in range(10):
    sys.stdout.write("198.51.100.%d\n" % (200 + i)); sys.stdout.flush()
    time.sleep(8)' 2>/dev/null | fwctl import - >"$LAB_DIR/drip.out" 2>&1 &
DRIP=$!
LAB_PIDS+=("$DRIP")
sleep 0.5
worst=0 slow=0
for i in $(seq 1 8); do
	t=$(status_ms) || { t=99999; }
	# One retry: a loaded machine may stall any process for a moment;
	# the stall this guards against is seconds, every time.
	[ "$t" -gt $((base_max + 100)) ] && t=$(status_ms || echo 99999)
	[ "$t" -gt "$worst" ] && worst=$t
	[ "$t" -gt $((base_max + 100)) ] && slow=$((slow + 1))
	sleep 0.3
done
echo "# fwctl status while an import drips: at most $worst ms"
if [ "$slow" -eq 0 ]; then
	ok stall/status_not_delayed
else
	not_ok stall/status_not_delayed "$slow of 8 status calls took over $((base_max + 100)) ms" \
	       "(worst $worst ms) while an import dripped"
fi
check stall/list_answers fwctl list

# The drip is refused at the deadline (20 s after it started), nothing imported.
t0=$(ms)
wait "$DRIP"
drip_status=$?
took=$(( $(ms) - t0 ))
out=$(cat "$LAB_DIR/drip.out")
if [ "$drip_status" -ne 0 ] && [[ $out =~ "did not arrive within 20 s" ]]; then
	ok stall/drip_refused_at_deadline
else
	not_ok stall/drip_refused_at_deadline "exit $drip_status after $took ms more: $out"
fi
expect_eq stall/drip_imported_nothing "$(fwctl list | grep -c '198\.51\.100\.2')" 0

# --- connections that never send a request -------------------------------------------
# 20 of them (more than the 16 that may wait): nobody waits for them.
"$PY" - "$LAB_DIR/geofwd.sock" >"$LAB_DIR/idle.out" 2>&1 <<-'EOF' &
	import socket, sys, time
	conns = []
	for i in range(20):
	    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
	    s.connect(sys.argv[1])
	    conns.append(s)
	time.sleep(3)
	EOF
IDLE=$!
LAB_PIDS+=("$IDLE")
sleep 0.5
worst=0 slow=0 all=
for i in 1 2 3 4 5; do
	t=$(status_ms) || t=99999
	all="$all $t"
	[ "$t" -gt $((base_max + 100)) ] && t=$(status_ms || echo 99999)
	[ "$t" -gt "$worst" ] && worst=$t
	[ "$t" -gt $((base_max + 100)) ] && slow=$((slow + 1))
done
echo "# fwctl status beside 20 connections without a request: at most $worst ms ($all)"
if [ "$slow" -eq 0 ]; then
	ok stall/idle_connections_not_waited_for
else
	not_ok stall/idle_connections_not_waited_for "$slow of 5 status calls took over" \
	       "$((base_max + 100)) ms (worst $worst ms)"
fi
wait "$IDLE"

# --- input over the cap ------------------------------------------------------------
hwm0=$(kib VmHWM)
out=$(fwctl import /dev/zero 2>&1)
st=$?
if [ "$st" -ne 0 ] && [[ $out =~ "is larger than 64 MiB" ]]; then
	ok stall/dev_zero_refused
else
	not_ok stall/dev_zero_refused "exit $st: $out"
fi
hwm1=$(kib VmHWM)
echo "# geofwd peak memory: $((hwm0 / 1024)) MiB before /dev/zero, $((hwm1 / 1024)) MiB after"
if [ $((hwm1 - hwm0)) -le $(( (64 + 16) * 1024 )) ]; then
	ok stall/dev_zero_memory_bounded
else
	not_ok stall/dev_zero_memory_bounded "peak grew by $(( (hwm1 - hwm0) / 1024 )) MiB"
fi
truncate -s 65M "$LAB_DIR/huge.txt"
out=$(fwctl import "$LAB_DIR/huge.txt" 2>&1)
if [ $? -ne 0 ] && [[ $out =~ "huge.txt is larger than 64 MiB" ]]; then
	ok stall/large_file_refused
else
	not_ok stall/large_file_refused "$out"
fi
check stall/status_after fwctl status

# A normal import still works, over a pipe and from a file.
printf '192.0.2.2\n' | fwctl import - >/dev/null 2>&1
check_fails stall/pipe_import_enforced reach c1 192.0.2.1

exit $((T_FAILED > 0))
