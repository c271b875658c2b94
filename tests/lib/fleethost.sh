# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
#
# geofwd hosts of the small fleet tests (fleet_tls.sh, fleet_creds.sh): host
# H runs in namespace hH (from lab.sh's ns) with its config, state and
# socket under $D/H and its pins in $LAB_PIN-H; GPID[H] is its PID.  The
# caller sets D, declares GPID and writes $D/H/geofw.conf.

g_start() {	# g_start H: start, wait until it answers
	local h=$1 i
	nsenter --net="/run/netns/$(ns "h$h")" "$BUILD/geofwd" -c "$D/$h/geofw.conf" \
		--pin-dir "$LAB_PIN-$h" >>"$D/$h/geofwd.log" 2>&1 &
	GPID[$h]=$!
	for i in $(seq 1 300); do
		f "$h" status 2>/dev/null | grep -q '^geofwd: running' && return 0
		kill -0 "${GPID[$h]}" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}
g_stop() {	# g_stop H: SIGTERM; 1 when it is still running 5 s later (then killed)
	local i ret=0
	kill -TERM "${GPID[$1]}" 2>/dev/null
	for i in $(seq 1 50); do kill -0 "${GPID[$1]}" 2>/dev/null || break; sleep 0.1; done
	kill -0 "${GPID[$1]}" 2>/dev/null && { ret=1; kill -9 "${GPID[$1]}"; }
	wait "${GPID[$1]}" 2>/dev/null
	unset "GPID[$1]"
	return $ret
}
f() {	# f H ARGS: fwctl on host H
	local h=$1
	shift
	nsenter --net="/run/netns/$(ns "h$h")" "$BUILD/fwctl" --socket "$D/$h/geofwd.sock" \
		--pin-dir "$LAB_PIN-$h" "$@"
}
blocked() {	# blocked H IP: H's data plane blocks IP (BPF_PROG_RUN on its pins)
	f "$1" lookup "$2" -j 2>/dev/null | grep -q '"action":"drop"'
}
connected() {	# connected H MS: fleet status says connected within MS
	local i
	for i in $(seq 1 $(( $2 / 100 ))); do
		f "$1" fleet status 2>/dev/null | grep -q '^connected: yes' && return 0
		sleep 0.1
	done
	return 1
}
