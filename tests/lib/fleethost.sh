# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
#
# geofwd hosts of the fleet tests (fleet.sh, fleet_tls.sh, fleet_creds.sh):
# host H runs in namespace hH (from lab.sh's ns) with its config, state and
# socket under $D/H and its pins in $LAB_PIN-H; GPID[H] is its PID.  The
# caller sets D, declares GPID and writes $D/H/geofw.conf (fleet_host_conf).

# fleet_host_conf H SERVERS [LINES...]: $D/H/geofw.conf for a fleet host on
# its gfw veth (generic XDP, no GeoIP), FleetServers = SERVERS, then LINES.
fleet_host_conf() {
	local h=$1 servers=$2 line
	shift 2
	mkdir -p "$D/$h/state"
	{
		echo "Interfaces = gfw"
		echo "XdpMode = generic"
		echo "GeoIPDatabase = none"
		echo "StateDirectory = $D/$h/state"
		echo "Socket = $D/$h/geofwd.sock"
		echo "FleetServers = $servers"
		for line in "$@"; do [ -z "$line" ] || echo "$line"; done
	} > "$D/$h/geofw.conf"
}

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
g_stop() {	# g_stop H [S]: SIGTERM; 1 when it still runs S (5) seconds later (then killed)
	local i ret=0
	kill -TERM "${GPID[$1]}" 2>/dev/null
	for i in $(seq 1 $(( ${2:-5} * 10 ))); do kill -0 "${GPID[$1]}" 2>/dev/null || break; sleep 0.1; done
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
blocked_within() {	# blocked_within H IP MS: blocked by H within MS
	local i
	for i in $(seq 1 $(( $3 / 100 ))); do blocked "$1" "$2" && return 0; sleep 0.1; done
	blocked "$1" "$2"
}
comes_back() {	# comes_back NAME H IP: add-block IP on H (to the bucket) is in H's data plane within 5 s
	f "$2" add-block "$3" >/dev/null
	blocked_within "$2" "$3" 5000 && ok "$1" || not_ok "$1" "$3 not blocked on $2"
}
connected() {	# connected H MS: fleet status says connected within MS
	local i
	for i in $(seq 1 $(( $2 / 100 ))); do
		f "$1" fleet status 2>/dev/null | grep -q '^connected: yes' && return 0
		sleep 0.1
	done
	return 1
}
# status_within H MS REGEX: fleet status (all of it) matches REGEX as
# expect_match matches it, within MS: a wait for a state, not a fixed sleep.
status_within() {
	local i
	for i in $(seq 1 $(( $2 / 100 ))); do
		[[ $(f "$1" fleet status 2>/dev/null) =~ $3 ]] && return 0
		sleep 0.1
	done
	return 1
}

# fleet_lab HOSTS...: namespaces hub and hH for each host H, lo up; host H's
# link to the hub is up$H (203.0.113.4i+2/30) and the hub's n$H (.4i+1, the
# server address H uses: HUB[H]); each host has a veth pair gfw/gfwp for
# geofwd to attach to.  Needs the associative array HUB declared.
fleet_lab() {
	local n h i=0
	mkdir -p /run/netns
	for n in hub "${@/#/h}"; do
		ip netns add "$(ns "$n")" || return 1
		in_ns "$n" ip link set lo up
	done
	for h in "$@"; do
		HUB[$h]=203.0.113.$((i * 4 + 1))
		ip link add "up$h" netns "$(ns "h$h")" type veth peer name "n$h" netns "$(ns hub)"
		in_ns hub ip addr add "${HUB[$h]}/30" dev "n$h"
		in_ns hub ip link set "n$h" up
		in_ns "h$h" ip addr add "203.0.113.$((i * 4 + 2))/30" dev "up$h"
		in_ns "h$h" ip link set "up$h" up
		in_ns "h$h" ip link add gfw type veth peer name gfwp
		in_ns "h$h" ip link set gfw up
		in_ns "h$h" ip link set gfwp up
		i=$((i + 1))
	done
}

# nats_start CONF: nats-server in the hub, NPID its PID; 1 when it is not
# ready within 10 s.
nats_start() {
	ip netns exec "$(ns hub)" nats-server -c "$1" >>"$D/nats.log" 2>&1 &
	NPID=$!
	for _ in $(seq 1 100); do
		grep -q "Server is ready" "$D/nats.log" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# fleet_lab_cleanup HOSTS...: after a failure the hosts' and the server's
# last log lines; then the daemons, namespaces, pins and $D go.
fleet_lab_cleanup() {
	local p n h
	if [ "$T_FAILED" -gt 0 ]; then
		for h in "$@"; do
			[ -f "$D/$h/geofwd.log" ] || continue
			echo "# geofwd $h log (last 10 lines):"
			tail -10 "$D/$h/geofwd.log" | sed 's/^/#   /'
		done
		[ -f "$D/nats.log" ] && tail -5 "$D/nats.log" | sed 's/^/# nats: /'
	fi
	for p in "${GPID[@]}" ${NPID:-}; do
		kill -9 "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	for n in hub "${@/#/h}"; do
		ip netns pids "$(ns "$n")" 2>/dev/null | xargs -r kill -9 2>/dev/null
		ip netns del "$(ns "$n")" 2>/dev/null
	done
	for h in "$@"; do rm -rf "$LAB_PIN-$h"; done
	rm -rf "$D"
}
