#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The fleet (issue 13): a real 3-node nats-server cluster with JetStream, a
# KV bucket with 3 replicas, and 3 geofwd hosts A, B, C, each in its own
# network namespace with its own pins, state directory and socket.  A client
# namespace sends pings to each host; what a host enforces is seen in that
# traffic (XDP drops it), never asked of geofwd.
#
#   hub  nats-server x3: 203.0.113.1 (A's link), .5 (B's), .9 (C's),
#        client ports 4222-4224, routes on 127.0.0.1:6222-6224
#   hA   up 203.0.113.2/30 ── hub      gfw 198.51.100.1/30 ── cl 198.51.100.2
#   hB   up 203.0.113.6/30 ── hub      gfw 198.51.100.5/30 ── cl 198.51.100.6
#   hC   up 203.0.113.10/30 ── hub     gfw 198.51.100.9/30 ── cl 198.51.100.10
#
#   propagate/   add-block on A: B and C drop within 1 s; del-block on B:
#                gone everywhere; fwctl list on C names source fleet
#   restart/     C stopped, a change made, C started: it enforces it as
#                soon as it reports ready (caught up before READY)
#   watch_lost/  the bucket's consumers deleted on the server (the hosts
#                stay connected): a change still reaches B and C within 12 s
#   one_down/    one NATS node killed: changes still propagate
#   all_down/    every NATS node killed: enforcement unchanged, a change on A
#                is pending (fwctl fleet status); NATS back: it reaches B, C
#   cutoff/      C's link to NATS down while changes happen; link up: it
#                converges
#   readonly/    a host whose NATS user may only read refuses --fleet with a
#                clear error and still follows the bucket
#   local/       a local rule on B survives every fleet catch-up
#   allow/       allow on A (scope fleet) lets B's client through on B only;
#                del-allow on C: gone everywhere; list shows the origin host
#   asn/         block-asn on A (the clients' AS in the fixture ASN database):
#                B, C and the read-only R drop; the read-only host refuses
#                block-asn --fleet; C stopped while unblock-asn on B and
#                again while block-asn on A: caught up before READY; the
#                254-AS limit on C refuses the fleet's AS there alone and
#                the next change still applies (also in C's catch-up);
#                allow-asn on B beats the block everywhere, del-allow-asn
#                on C ends it; a --ttl expires on every host
#   country/     block-country on A joins B's local policy (both in B's
#                kernel map); country-mode and unblock-country propagate
#   import/      a 10,000-rule import --fleet on A reaches B's and C's maps
#   concurrent/  A and B write one key at the same time, 25 rounds: every
#                host ends at the same revision with the same value
#   crash/       A killed between the bucket's ack and the outbox removal
#                (GEOFW_TEST_FLEET_CRASH_AFTER_ACK): a newer change from B
#                stands, a change already in the bucket is not sent twice
#
# Usage: BUILD=build bash tests/e2e/fleet.sh   (from the repo root, root)
set -u
cd "$(dirname "$0")/../.." || exit 2
source tests/lib/lab.sh
source tests/lib/fleethost.sh
source tests/lib/natscluster.sh

if ! command -v nats-server >/dev/null 2>&1; then
	skip fleet "nats-server is not installed (apt-get install nats-server)"
	exit 0
fi

HOSTS="A B C"
F_DIR=$(mktemp -d /tmp/geofw-fleet.XXXXXX)
D=$F_DIR	# tests/lib/fleethost.sh's hosts live in $D/H
declare -A GPID NPID HUB_IP UP_IP GFW_IP CL_IP
HUB_IP=([A]=203.0.113.1 [B]=203.0.113.5 [C]=203.0.113.9)
UP_IP=([A]=203.0.113.2 [B]=203.0.113.6 [C]=203.0.113.10)
GFW_IP=([A]=198.51.100.1 [B]=198.51.100.5 [C]=198.51.100.9)
CL_IP=([A]=198.51.100.2 [B]=198.51.100.6 [C]=198.51.100.10)

fleet_cleanup() {
	local p n h
	if [ "$T_FAILED" -gt 0 ]; then
		for h in $HOSTS R; do
			[ -f "$F_DIR/$h/geofwd.log" ] || continue
			echo "# geofwd $h log (last 15 lines):"
			tail -15 "$F_DIR/$h/geofwd.log" | sed 's/^/#   /'
		done
	fi
	for p in "${GPID[@]}" "${NPID[@]}"; do
		kill -9 "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	for n in hub hA hB hC hR cl; do
		ip netns pids "$(ns "$n")" 2>/dev/null | xargs -r kill -9 2>/dev/null
		ip netns del "$(ns "$n")" 2>/dev/null
	done
	for h in $HOSTS R; do rm -rf "$LAB_PIN-$h"; done
	rm -rf "$F_DIR"
}
trap 'fleet_cleanup; exit $(( T_FAILED > 0 ))' EXIT
trap 'exit 130' INT TERM

# ---- namespaces -----------------------------------------------------------------

mkdir -p /run/netns
for n in hub hA hB hC cl; do
	ip netns add "$(ns "$n")" || { not_ok fleet/lab "cannot create namespaces"; exit 1; }
	in_ns "$n" ip link set lo up
done
for h in $HOSTS; do
	ip link add "up$h" netns "$(ns "h$h")" type veth peer name "n$h" netns "$(ns hub)"
	in_ns "h$h" ip addr add "${UP_IP[$h]}/30" dev "up$h"
	in_ns "h$h" ip link set "up$h" up
	in_ns hub ip addr add "${HUB_IP[$h]}/30" dev "n$h"
	in_ns hub ip link set "n$h" up
	ip link add gfw netns "$(ns "h$h")" type veth peer name "c$h" netns "$(ns cl)"
	in_ns "h$h" ip addr add "${GFW_IP[$h]}/30" dev gfw
	in_ns "h$h" ip link set gfw up
	in_ns cl ip addr add "${CL_IP[$h]}/30" dev "c$h"
	in_ns cl ip link set "c$h" up
done

# ---- NATS: 3 nodes, JetStream, a read-write and a read-only user -----------------

# The read-only user may look up the bucket and follow it, nothing else.
NATS_ACCOUNTS=$(cat <<'EOF'
accounts {
	EDGE {
		jetstream: enabled
		users: [
			{ user: rw, password: rwpass }
			{ user: ro, password: ropass, permissions: {
				publish: { allow: ["$JS.API.INFO", "$JS.API.STREAM.NAMES", "$JS.API.STREAM.INFO.KV_geofw",
					"$JS.API.CONSUMER.CREATE.KV_geofw", "$JS.API.CONSUMER.CREATE.KV_geofw.>",
					"$JS.API.CONSUMER.DELETE.KV_geofw.>",
					"$JS.FC.KV_geofw.>", "$JS.ACK.KV_geofw.>"] }
				subscribe: { allow: ["_INBOX.>"] } } }
		]
	}
}
EOF
)
node_start() {	# node_start I: node I of the cluster (tests/lib/natscluster.sh)
	local i=$1
	ip netns exec "$(ns hub)" nats-server -c "$F_DIR/nats$i/nats.conf" \
		>>"$F_DIR/nats$i/log" 2>&1 &
	NPID[$i]=$!
}
nats_kill() { kill -9 "${NPID[$1]}" 2>/dev/null; wait "${NPID[$1]}" 2>/dev/null; unset "NPID[$1]"; }
for i in 1 2 3; do nats_node_conf "$F_DIR" "$i" geofwtest 256MB "$NATS_ACCOUNTS"; node_start "$i"; done
if nats_cluster_ready "$F_DIR"; then ok fleet/nats_cluster; else not_ok fleet/nats_cluster "no JetStream leader"; exit 1; fi

# ---- geofwd hosts -----------------------------------------------------------------

# The fixture ASN database: 198.51.100.0/24 (every client address) is AS64502.
mkdir -p "$F_DIR/mmdb"
perl tests/fixtures/mkmmdb.pl "$F_DIR/mmdb" >/dev/null ||
	{ not_ok fleet/fixtures "tests/fixtures/mkmmdb.pl failed"; exit 1; }

host_conf() {	# host_conf H USER PASSWORD [H2]: through H2's link (default H's)
	local h=$1 hub=${HUB_IP[${4:-$1}]}
	mkdir -p "$F_DIR/$h"
	printf '%s\n' "$3" > "$F_DIR/$h/password"
	chmod 600 "$F_DIR/$h/password"
	fleet_host_conf "$h" "nats://$hub:4222 nats://$hub:4223 nats://$hub:4224" \
		"ASNDatabase = $F_DIR/mmdb/lab-asn.mmdb" "FleetUser = $2" \
		"FleetPasswordFile = $F_DIR/$h/password" "FleetReplicas = 3" \
		"MetricsListen = 127.0.0.1:9745"
}
# g_start, g_stop, f: tests/lib/fleethost.sh.  g_stop waits up to 30 s
# here: a host that takes long to stop is not what these checks are about.
# pass H: the client's ping to host H is answered; drop H: it is not.
pass() { in_ns cl ping -c 1 -W 1 -q -I "${CL_IP[$1]}" "${GFW_IP[$1]}" >/dev/null 2>&1; }
# wait_drop H MS / wait_pass H MS: until the traffic says so; prints the ms.
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
wait_state() {	# wait_state drop|pass H MS T0
	local want=$1 h=$2 limit=$3 t0=$4
	while :; do
		if [ "$want" = pass ]; then
			in_ns cl ping -c 1 -W 0.3 -q -I "${CL_IP[$h]}" "${GFW_IP[$h]}" >/dev/null 2>&1 && break
		else
			in_ns cl ping -c 1 -W 0.2 -q -I "${CL_IP[$h]}" "${GFW_IP[$h]}" >/dev/null 2>&1 || break
		fi
		[ $(( $(now_ms) - t0 )) -gt "$limit" ] && { echo timeout; return 1; }
		sleep 0.02
	done
	echo $(( $(now_ms) - t0 ))
}
# drops_bc CHECK MS T0 WHAT: B's and C's clients dropped within MS of T0.
drops_bc() {
	local tB tC
	tB=$(wait_state drop B "$2" "$3"); tC=$(wait_state drop C "$2" "$3")
	if [ "$tB" != timeout ] && [ "$tC" != timeout ]; then
		ok "$1"
		echo "# $4: dropped on B after $tB ms, on C after $tC ms"
		return 0
	fi
	not_ok "$1" "B: $tB, C: $tC (ms, $2 at most)"
	return 1
}
fleet_rev() { f "$1" fleet status -j | python3 -c 'import json,sys; print(json.load(sys.stdin)["revision"])'; }
wait_eq() {	# wait_eq MS WANT CMD...: until CMD prints WANT
	local limit=$1 want=$2 t0
	shift 2
	t0=$(now_ms)
	while [ "$("$@")" != "$want" ]; do
		[ $(( $(now_ms) - t0 )) -gt "$limit" ] && return 1
		sleep 0.05
	done
}

for h in $HOSTS; do
	host_conf "$h" rw rwpass
	g_start "$h" || { not_ok "fleet/start_$h" "geofwd $h did not start"; exit 1; }
done
ok fleet/hosts_start
for h in $HOSTS; do
	pass "$h" || not_ok "fleet/baseline_$h" "client cannot reach host $h before any rule"
done
for i in $(seq 1 100); do f A fleet status | grep -q '^connected: yes' && break; sleep 0.1; done
expect_match fleet/status_connected "$(f A fleet status)" "connected: yes"

# ---- propagate ---------------------------------------------------------------------

T0=$(now_ms)
out=$(f A add-block 198.51.100.0/24 --comment "fleet test")
expect_match fleet/propagate/ack "$out" "^ok: blocked 1 \\(fleet: sent"
tB=$(wait_state drop B 1000 "$T0")
tC=$(wait_state drop C 1000 "$T0")
tA=$(wait_state drop A 1000 "$T0")
if [ "$tB" != timeout ] && [ "$tC" != timeout ]; then
	ok fleet/propagate/add_within_1s
	echo "# add-block on A: dropped on B after ${tB} ms, on C after ${tC} ms, on A after ${tA} ms"
else
	not_ok fleet/propagate/add_within_1s "B: $tB, C: $tC"
fi
expect_match fleet/propagate/list_source "$(f C list blocks)" "198.51.100.0/24.*fleet"
T0=$(now_ms)
f B del-block 198.51.100.0/24 >/dev/null
tA=$(wait_state pass A 2000 "$T0"); tC=$(wait_state pass C 2000 "$T0"); tB=$(wait_state pass B 2000 "$T0")
if [ "$tA" != timeout ] && [ "$tB" != timeout ] && [ "$tC" != timeout ]; then
	ok fleet/propagate/del_everywhere
	echo "# del-block on B: gone on A after ${tA} ms, C ${tC} ms, B ${tB} ms"
else
	not_ok fleet/propagate/del_everywhere "A: $tA B: $tB C: $tC"
fi

# ---- a watcher whose consumer is gone --------------------------------------------------
# The hosts stay connected, but the server no longer has the consumers
# their watchers read from (deleted here; the same happens when the node
# that held one dies and its replacement is slow to come, see one_down).
# The bucket's head, asked every 2 s, shows the change; a host whose
# watcher brings nothing for 3 s reads the bucket again.
jsapi() { in_ns hub python3 tests/tools/jsapi.py 127.0.0.1:4222 rw rwpass "$@"; }
names=$(jsapi '$JS.API.CONSUMER.NAMES.KV_geofw' '{}' |
	python3 -c 'import json,sys; print(" ".join(json.load(sys.stdin).get("consumers") or []))')
gone=0
for c in $names; do
	jsapi "\$JS.API.CONSUMER.DELETE.KV_geofw.$c" | grep -q '"success":true' && gone=$((gone + 1))
done
if [ "$gone" -ge 3 ]; then ok fleet/watch_lost/consumers_deleted; else
	not_ok fleet/watch_lost/consumers_deleted "deleted $gone of: $names"; fi
T0=$(now_ms)
f A add-block 198.51.100.0/24 >/dev/null	# every client
drops_bc fleet/watch_lost/propagates 12000 "$T0" "consumers deleted" ||
	for h in B C; do tail -4 "$F_DIR/$h/geofwd.log" | sed "s/^/#   geofwd $h: /"; done
expect_match fleet/watch_lost/status "$(f B fleet status)" "watcher: +read anew [1-9]"
f A del-block 198.51.100.0/24 >/dev/null
wait_state pass B 12000 "$(now_ms)" >/dev/null; wait_state pass C 12000 "$(now_ms)" >/dev/null

# ---- local rules are the host's own ---------------------------------------------------

f B add-block --local 192.0.2.99/32 >/dev/null
expect_match fleet/local/not_in_fleet "$(f A list blocks)" "^$"

# ---- restart: C down, change, C up ----------------------------------------------------

g_stop C 30
f A add-block 198.51.100.8/30 >/dev/null
wait_state drop B 2000 "$(now_ms)" >/dev/null
g_start C || not_ok fleet/restart/start "C did not start"
if ! pass C; then ok fleet/restart/converged_before_ready; else
	not_ok fleet/restart/converged_before_ready "C passes traffic the fleet blocks right after start"; fi
f A del-block 198.51.100.8/30 >/dev/null
wait_state pass C 2000 "$(now_ms)" >/dev/null

# ---- one NATS node down ------------------------------------------------------------------

# When the killed node led the JetStream meta group or the bucket's stream,
# the two left elect new leaders, each after 4-9 s without heartbeats
# (nats-server 2.9), one after the other: 8-20 s seen on an idle machine,
# 250 ms when the node led nothing.  The bound is the elections', not the
# fleet's.  What the hosts and servers said at the moment of a timeout is
# printed then (the logs at the end no longer show it).
one_down_state() {
	local h i
	echo "# A's add-block said: $added"
	for h in A B; do f "$h" fleet status 2>&1 | sed "s/^/#   $h: /"; done
	for h in A B; do tail -5 "$F_DIR/$h/geofwd.log" 2>/dev/null | sed "s/^/#   geofwd $h: /"; done
	for i in 1 3; do tail -4 "$F_DIR/nats$i/log" 2>/dev/null | sed "s/^/#   nats$i: /"; done
}
nats_kill 2
T0=$(now_ms)
added=$(f A add-block 198.51.100.4/30 2>&1)
t=$(wait_state drop B 30000 "$T0")
if [ "$t" != timeout ]; then ok fleet/one_down/propagates; echo "# one NATS node down: B drops after $t ms"
	[ "$t" -lt 10000 ] || one_down_state
else
	not_ok fleet/one_down/propagates "B still passes after 30 s"
	one_down_state
fi
f A del-block 198.51.100.4/30 >/dev/null
wait_state pass B 20000 "$(now_ms)" >/dev/null
node_start 2
sleep 1

# ---- all NATS nodes down -------------------------------------------------------------------

f A add-block 198.51.100.8/30 >/dev/null
wait_state drop C 20000 "$(now_ms)" >/dev/null
nats_kill 1; nats_kill 2; nats_kill 3
# A notices within its ping interval (1 s, 2 unanswered).
for i in $(seq 1 100); do f A fleet status | grep -q 'connected: no' && break; sleep 0.1; done
sleep 0.5
if ! pass C && pass B; then ok fleet/all_down/enforcement_unchanged
else not_ok fleet/all_down/enforcement_unchanged "C should drop, B pass"; fi
out=$(f A add-block 198.51.100.4/30)
expect_match fleet/all_down/ack_pending "$out" "pending"
expect_match fleet/all_down/status_pending "$(f A fleet status)" "pending: +1 change"
m=$(in_ns hA curl -s --max-time 3 http://127.0.0.1:9745/metrics)
expect_match fleet/all_down/metrics_disconnected "$m" $'\ngeofw_fleet_connected 0\n'
expect_match fleet/all_down/metrics_pending "$m" $'\ngeofw_fleet_pending_changes 1($|\n)'
expect_match fleet/all_down/metrics_revision "$m" $'\ngeofw_fleet_revision [1-9][0-9]*\n'
expect_match fleet/all_down/metrics_age "$m" $'\ngeofw_fleet_seconds_since_update [0-9]+\n'
pass B && ok fleet/all_down/not_applied_yet || not_ok fleet/all_down/not_applied_yet "B drops before NATS is back"
for i in 1 2 3; do node_start "$i"; done
T0=$(now_ms)
t=$(wait_state drop B 30000 "$T0")
if [ "$t" != timeout ]; then ok fleet/all_down/reaches_after_restart; echo "# NATS restarted: the pending change dropped on B after $t ms"
else not_ok fleet/all_down/reaches_after_restart "B still passes 30 s after NATS came back"; fi
expect_match fleet/all_down/pending_cleared "$(f A fleet status)" "pending: +0 change"
m=$(in_ns hA curl -s --max-time 3 http://127.0.0.1:9745/metrics)
expect_match fleet/all_down/metrics_reconnected "$m" $'\ngeofw_fleet_connected 1\n'
expect_match fleet/all_down/metrics_no_pending "$m" $'\ngeofw_fleet_pending_changes 0($|\n)'

# ---- cut off -----------------------------------------------------------------------------------

in_ns hC ip link set upC down
f A del-block 198.51.100.8/30 >/dev/null
sleep 1
pass C && not_ok fleet/cutoff/still_enforcing "C passes while cut off" || ok fleet/cutoff/still_enforcing
in_ns hC ip link set upC up
t=$(wait_state pass C 30000 "$(now_ms)")
[ "$t" != timeout ] && { ok fleet/cutoff/converges; echo "# link up: C in step after $t ms"; } ||
	not_ok fleet/cutoff/converges "C still drops 30 s after its link came back"

# ---- read-only host -------------------------------------------------------------------------

ip netns add "$(ns hR)"
in_ns hR ip link set lo up
ip link add upR netns "$(ns hR)" type veth peer name nR netns "$(ns hub)"
in_ns hR ip addr add 203.0.113.14/30 dev upR; in_ns hR ip link set upR up
in_ns hub ip addr add 203.0.113.13/30 dev nR; in_ns hub ip link set nR up
ip link add gfw netns "$(ns hR)" type veth peer name cR netns "$(ns cl)"
in_ns hR ip addr add 198.51.100.13/30 dev gfw; in_ns hR ip link set gfw up
in_ns cl ip addr add 198.51.100.14/30 dev cR; in_ns cl ip link set cR up
HUB_IP[R]=203.0.113.13; GFW_IP[R]=198.51.100.13; CL_IP[R]=198.51.100.14
host_conf R ro ropass R
if g_start R; then
	for i in $(seq 1 100); do f R fleet status | grep -q '^connected: yes' && break; sleep 0.1; done
	expect_match fleet/readonly/status "$(f R fleet status)" "read-only"
	out=$(f R add-block 192.0.2.7 2>&1); st=$?
	[ $st -ne 0 ] && ok fleet/readonly/refused || not_ok fleet/readonly/refused "exit 0: $out"
	expect_match fleet/readonly/message "$out" "only allow reading"
	T0=$(now_ms)
	f A add-block 198.51.100.12/30 >/dev/null
	t=$(wait_state drop R 3000 "$T0")
	[ "$t" != timeout ] && ok fleet/readonly/follows || not_ok fleet/readonly/follows "R passes"
else
	not_ok fleet/readonly/start "read-only host did not start"
fi

# ---- bulk: 1000 prefixes in one add-block on A, counted in C's kernel map ------------------------

k6() { bpftool -j map dump pinned "$LAB_PIN-$1/gfw_block_ip6" 2>/dev/null |
	python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'; }
before=$(k6 C)
mapfile -t BULK < <(for i in $(seq 1 1000); do printf '2001:db8:ff::%x\n' "$i"; done)
T0=$(now_ms)
f A add-block "${BULK[@]}" >/dev/null
t=timeout
while [ $(( $(now_ms) - T0 )) -lt 60000 ]; do
	[ "$(k6 C)" -ge $((before + 1000)) ] && { t=$(( $(now_ms) - T0 )); break; }
	sleep 0.1
done
[ "$t" != timeout ] && { ok fleet/bulk/1000_reach_C; echo "# 1000 prefixes from A in C's kernel map after $t ms"; } ||
	not_ok fleet/bulk/1000_reach_C "C's map has $(k6 C) entries, wanted $((before + 1000))"

# ---- allows of scope fleet ------------------------------------------------------------------

T0=$(now_ms)
f A add-block 198.51.100.0/24 >/dev/null
wait_state drop B 3000 "$T0" >/dev/null; wait_state drop C 3000 "$T0" >/dev/null
T0=$(now_ms)
out=$(f A allow "${CL_IP[B]}" --comment "fleet allow")
expect_match fleet/allow/ack "$out" "^ok: allowed 1 \\(fleet"
t=$(wait_state pass B 3000 "$T0")
[ "$t" != timeout ] && { ok fleet/allow/reaches_B; echo "# allow on A: B passes after $t ms"; } ||
	not_ok fleet/allow/reaches_B "B still drops its client"
pass C && not_ok fleet/allow/only_that_prefix "C's client passes" || ok fleet/allow/only_that_prefix
HOSTNAME_=$(hostname)
expect_match fleet/allow/list_origin "$(f C list allows)" "${CL_IP[B]}/32 .*fleet \\(from $HOSTNAME_\\)"
origin=$(f C list allows -j | python3 -c 'import json,sys
print([e.get("origin") for e in json.load(sys.stdin) if e["source"] == "fleet"][0])')
expect_eq fleet/allow/list_origin_json "$origin" "$HOSTNAME_"
T0=$(now_ms)
f C del-allow "${CL_IP[B]}" >/dev/null
t=$(wait_state drop B 3000 "$T0")
[ "$t" != timeout ] && ok fleet/allow/del_everywhere || not_ok fleet/allow/del_everywhere "B passes"
f A del-block 198.51.100.0/24 >/dev/null
wait_state pass B 3000 "$(now_ms)" >/dev/null; wait_state pass C 3000 "$(now_ms)" >/dev/null

# ---- AS rules of scope fleet --------------------------------------------------------------

# Every client address is in AS64502 (the fixture): what each host does with
# it is seen in the client's pings.
why() { f "$1" lookup "${CL_IP[$1]}" -j 2>&1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["explanation"])' 2>&1; }
# (all_down/ left B's client blocked by the fleet: 198.51.100.4/30)
f A del-block 198.51.100.4/30 >/dev/null
wait_state pass B 3000 "$(now_ms)" >/dev/null
for h in A B C; do
	pass "$h" || not_ok "fleet/asn/baseline_$h" "host $h drops its client before any AS rule: $(why "$h")"
done
T0=$(now_ms)
out=$(f A block-asn AS64502 --comment "fleet asn")
expect_match fleet/asn/ack "$out" "^ok: blocked-asn 1 \\(fleet: sent"
drops_bc fleet/asn/block_reaches_B_and_C 3000 "$T0" "block-asn on A"
[ "$(wait_state drop A 3000 "$T0")" != timeout ] && ok fleet/asn/block_on_A ||
	not_ok fleet/asn/block_on_A "A passes its client"
expect_match fleet/asn/list_source "$(f C list asns)" "block-asn AS64502 +drop +fleet \\(from $(hostname)\\)"
if [ -n "${GPID[R]:-}" ]; then
	[ "$(wait_state drop R 3000 "$T0")" != timeout ] && ok fleet/asn/readonly_follows ||
		not_ok fleet/asn/readonly_follows "R passes its client"
	out=$(f R block-asn AS64501 --fleet 2>&1); st=$?
	[ $st -ne 0 ] && ok fleet/asn/readonly_refused || not_ok fleet/asn/readonly_refused "exit 0: $out"
	expect_match fleet/asn/readonly_message "$out" "only allow reading"
	expect_eq fleet/asn/readonly_nothing_stored "$(f R list asns | grep -c AS64501)" 0
fi
# unblock-asn on B while C is stopped: every host passes, C as soon as it
# is up again (it catches up before READY).
g_stop C 30
T0=$(now_ms)
out=$(f B unblock-asn AS64502)
expect_match fleet/asn/unblock_ack "$out" "^ok: unblocked-asn 1 \\(fleet"
tA=$(wait_state pass A 3000 "$T0"); tB=$(wait_state pass B 3000 "$T0")
[ "$tA" != timeout ] && [ "$tB" != timeout ] && ok fleet/asn/unblock_everywhere ||
	not_ok fleet/asn/unblock_everywhere "A: $tA, B: $tB ($(why B))"
g_start C || not_ok fleet/asn/restart_C "C did not start"
pass C && ok fleet/asn/caught_up_unblock || not_ok fleet/asn/caught_up_unblock "C still drops after start"
expect_eq fleet/asn/caught_up_unblock_rows "$(f C list asns | grep -c AS64502)" 0
g_stop C 30
T0=$(now_ms)
f A block-asn AS64502 --action reject >/dev/null
wait_state drop B 3000 "$T0" >/dev/null
g_start C || not_ok fleet/asn/restart_C2 "C did not start"
pass C && not_ok fleet/asn/caught_up_block "C passes right after start" || ok fleet/asn/caught_up_block
expect_match fleet/asn/caught_up_block_rows "$(f C list asns)" "block-asn AS64502 +reject +fleet"
# Without --fleet or --local (FleetScope = fleet): the bucket's rule goes.
T0=$(now_ms)
f C unblock-asn AS64502 >/dev/null
tB=$(wait_state pass B 3000 "$T0"); tC=$(wait_state pass C 3000 "$T0")
[ "$tB" != timeout ] && [ "$tC" != timeout ] && ok fleet/asn/unblock_default_scope ||
	not_ok fleet/asn/unblock_default_scope "B: $tB ($(why B)), C: $tC ($(why C))"
# A local AS rule stays the host's own.
f B block-asn --local AS64502 >/dev/null
pass B && not_ok fleet/asn/local_on_B "B passes" || ok fleet/asn/local_on_B
sleep 0.5
pass A && ok fleet/asn/local_not_in_fleet || not_ok fleet/asn/local_not_in_fleet "A drops"
f B unblock-asn --local AS64502 >/dev/null
# The AS limit: C has 254 ASes of its own, so the fleet's AS64502 is one
# too many there: refused on C alone, and the next change still applies.
mapfile -t MANY < <(seq 65000 65253)
out=$(f C block-asn --local "${MANY[@]}")
expect_match fleet/asn/limit_setup "$out" "^ok: blocked-asn 254"
T0=$(now_ms)
f A block-asn AS64502 >/dev/null
t=$(wait_state drop B 3000 "$T0")
[ "$t" != timeout ] && ok fleet/asn/limit_B_applies || not_ok fleet/asn/limit_B_applies "B passes"
asn_refused() { f "$1" fleet status -j | python3 -c 'import json,sys; print(json.load(sys.stdin)["asn_refused"])'; }
wait_eq 3000 1 asn_refused C && ok fleet/asn/limit_refused_on_C ||
	not_ok fleet/asn/limit_refused_on_C "asn_refused on C: $(asn_refused C)"
pass C && ok fleet/asn/limit_C_passes || not_ok fleet/asn/limit_C_passes "C drops"
expect_match fleet/asn/limit_status "$(f C fleet status)" "AS rules: +1 of the bucket refused here"
expect_match fleet/asn/limit_logged "$(cat "$F_DIR/C/geofwd.log")" "key asn.block.AS64502 refused on this host"
T0=$(now_ms)
f A add-block "${CL_IP[C]}" >/dev/null
t=$(wait_state drop C 3000 "$T0")
[ "$t" != timeout ] && ok fleet/asn/limit_not_wedged || not_ok fleet/asn/limit_not_wedged "C ignores the next change"
f A del-block "${CL_IP[C]}" >/dev/null
wait_state pass C 3000 "$(now_ms)" >/dev/null
# ... and in C's catch-up at start: refused, the rest in step.
g_stop C 30
g_start C || not_ok fleet/asn/restart_C3 "C did not start"
pass C && ok fleet/asn/limit_catch_up || not_ok fleet/asn/limit_catch_up "C drops"
expect_eq fleet/asn/limit_catch_up_counted "$(asn_refused C)" 1
expect_eq fleet/asn/limit_catch_up_rows "$(f C list asns --source fleet | grep -c AS64502)" 0
expect_eq fleet/asn/limit_local_kept "$(f C list asns --source cli | grep -c '^block-asn')" 254
f C unblock-asn --local "${MANY[@]}" >/dev/null
f A unblock-asn AS64502 >/dev/null
wait_state pass B 3000 "$(now_ms)" >/dev/null
# allow-asn of scope fleet wins over a fleet block of the AS, on every host.
T0=$(now_ms)
f A block-asn AS64502 >/dev/null
wait_state drop C 3000 "$T0" >/dev/null
T0=$(now_ms)
out=$(f B allow-asn AS64502 --comment "fleet allow-asn")
expect_match fleet/asn/allow_ack "$out" "^ok: allowed-asn 1 \\(fleet"
tA=$(wait_state pass A 3000 "$T0"); tC=$(wait_state pass C 3000 "$T0")
[ "$tA" != timeout ] && [ "$tC" != timeout ] && ok fleet/asn/allow_everywhere ||
	not_ok fleet/asn/allow_everywhere "A: $tA ($(why A)), C: $tC ($(why C))"
expect_match fleet/asn/allow_listed "$(f A list asns)" "allow-asn AS64502 +fleet \\(from "
T0=$(now_ms)
f C del-allow-asn AS64502 >/dev/null
tA=$(wait_state drop A 3000 "$T0"); tB=$(wait_state drop B 3000 "$T0")
[ "$tA" != timeout ] && [ "$tB" != timeout ] && ok fleet/asn/del_allow_everywhere ||
	not_ok fleet/asn/del_allow_everywhere "A: $tA, B: $tB"
f A unblock-asn AS64502 >/dev/null
wait_state pass B 3000 "$(now_ms)" >/dev/null
# A --ttl: every host lets the AS through again at expiry, by itself.
T0=$(now_ms)
f A block-asn AS64502 --ttl 3s >/dev/null
dB=$(wait_state drop B 2000 "$T0"); dC=$(wait_state drop C 2000 "$T0")
tB=$(wait_state pass B 8000 "$T0"); tC=$(wait_state pass C 8000 "$T0")
# (the expiry is whole seconds from A's clock: 2 to 3 s after T0)
if [ "$dB" != timeout ] && [ "$dC" != timeout ] && [ "$tB" != timeout ] &&
   [ "$tC" != timeout ] && [ "$tB" -ge 1900 ]; then
	ok fleet/asn/ttl_expires_everywhere
	echo "# block-asn --ttl 3s on A: passes again on B after ${tB} ms, C ${tC} ms"
else
	not_ok fleet/asn/ttl_expires_everywhere "dropped: B $dB, C $dC; passed: B $tB ($(why B)), C $tC ($(why C))"
fi

# ---- country policy of scope fleet: joins each host's own -------------------------------------

# in_force H: the countries listed in the policy in force on H, "MODE CC CC"
in_force() { f "$1" list countries -j | python3 -c 'import json,sys
p=[e for e in json.load(sys.stdin) if e["type"] == "countries"]
e=[x for x in p if x["source"] == "in_force"] or p
print(e[0]["mode"], " ".join(e[0]["listed"]))'; }
# kernel_listed H: countries listed in H's kernel country map
kernel_listed() { bpftool -j map dump pinned "$LAB_PIN-$1/gfw_country" 2>/dev/null | python3 -c 'import json,sys
def listed(e):
    v = e.get("formatted", e)["value"]
    return v["listed"] if isinstance(v, dict) else int(v[0], 16)
print(sum(1 for e in json.load(sys.stdin) if listed(e)))'; }
f B block-country --local CN >/dev/null
out=$(f A block-country RU --action reject)
expect_match fleet/country/ack "$out" "^ok: block-country 1 \\(fleet"
wait_eq 3000 "block RU" in_force C && ok fleet/country/reaches_C ||
	not_ok fleet/country/reaches_C "C: $(in_force C)"
wait_eq 3000 "block CN RU" in_force B && ok fleet/country/joins_local_on_B ||
	not_ok fleet/country/joins_local_on_B "B: $(in_force B)"
expect_eq fleet/country/kernel_C "$(kernel_listed C)" 1
expect_eq fleet/country/kernel_B "$(kernel_listed B)" 2
expect_match fleet/country/list_fleet "$(f B list countries)" "countries \\(fleet\\): mode block .* RU\\(reject\\)"
# Allow mode: the listed RU is now the one country the fleet lets through.
f A country-mode allow --fleet >/dev/null
wait_eq 3000 "allow RU" in_force C && ok fleet/country/mode_allow ||
	not_ok fleet/country/mode_allow "C: $(in_force C)"
f A country-mode block >/dev/null
wait_eq 3000 "block RU" in_force C
f C unblock-country RU >/dev/null
wait_eq 3000 "block " in_force C && ok fleet/country/unblock_everywhere ||
	not_ok fleet/country/unblock_everywhere "C: $(in_force C)"
wait_eq 3000 "block CN" in_force B && ok fleet/country/local_kept_on_B ||
	not_ok fleet/country/local_kept_on_B "B: $(in_force B)"
f B unblock-country --local CN >/dev/null

# ---- 10,000-rule import on A: in B's and C's kernel maps ------------------------------------------

python3 -c 'for i in range(1, 10001): print("2001:db8:aa::%x" % i)' > "$F_DIR/list10k.txt"
bB=$(k6 B); bC=$(k6 C)
T0=$(now_ms)
out=$(f A import "$F_DIR/list10k.txt" --fleet --comment "fleet import")
tack=$(( $(now_ms) - T0 ))
expect_match fleet/import/ack "$out" "^ok: imported 10000 \\(fleet"
t=timeout
while [ $(( $(now_ms) - T0 )) -lt 120000 ]; do
	[ "$(k6 C)" -ge $((bC + 10000)) ] && [ "$(k6 B)" -ge $((bB + 10000)) ] &&
		{ t=$(( $(now_ms) - T0 )); break; }
	sleep 0.2
done
if [ "$t" != timeout ]; then
	ok fleet/import/10000_reach_B_and_C
	echo "# 10,000-rule import on A: answered after $tack ms, in B's and C's kernel maps after $t ms"
else
	not_ok fleet/import/10000_reach_B_and_C "B: $(( $(k6 B) - bB )), C: $(( $(k6 C) - bC )) of 10000"
fi
wait_eq 10000 0 eval 'f A fleet status -j | python3 -c "import json,sys; print(json.load(sys.stdin)[\"pending\"])"' &&
	ok fleet/import/outbox_empty || not_ok fleet/import/outbox_empty "A still has changes pending"
expect_match fleet/import/replace_refused "$(f A import "$F_DIR/list10k.txt" --fleet --replace 2>&1)" \
	"replace is for local lists"

# ---- concurrent writers: one key, two hosts, at once, many rounds ----------------------------------

# value H: action and comment of 192.0.2.50 on H
value() { f "$1" list blocks -j | python3 -c 'import json,sys
print(" ".join(e["action"] + "/" + e["comment"] for e in json.load(sys.stdin) if e["prefix"] == "192.0.2.50/32") or "none")'; }
ROUNDS=25
for i in $(seq 1 $ROUNDS); do
	f A add-block 192.0.2.50 --comment "A$i" >/dev/null & pa=$!
	f B add-block 192.0.2.50 --action reject --comment "B$i" >/dev/null & pb=$!
	wait "$pa" "$pb"
done
same() {	# the hosts' revision and value of 192.0.2.50, when all agree
	local h v r first=""
	for h in A B C R; do
		[ -n "${GPID[$h]:-}" ] || continue
		r=$(fleet_rev "$h"); v=$(value "$h")
		[ -z "$first" ] && first="$r $v"
		[ "$first" = "$r $v" ] || { echo differ; return; }
	done
	echo "$first"
}
T0=$(now_ms)
while s=$(same); [ "$s" = differ ] && [ $(( $(now_ms) - T0 )) -lt 10000 ]; do sleep 0.1; done
if [ "$s" != differ ]; then
	expect_match fleet/concurrent/last_round_wins "$s" "^[0-9]+ (drop/A$ROUNDS|reject/B$ROUNDS)$"
	echo "# concurrent writers, $ROUNDS rounds: every host at revision ${s%% *} with ${s#* }"
else
	not_ok fleet/concurrent/last_round_wins "hosts differ: A $(fleet_rev A) $(value A), B $(fleet_rev B) $(value B), C $(fleet_rev C) $(value C)"
fi
# Agreement is also what a host reading the bucket afresh gets.
g_stop C 30; g_start C || not_ok fleet/concurrent/restart "C did not start"
expect_eq fleet/concurrent/fresh_snapshot_agrees "$(value C)" "$(value A)"
# In step: fleet status says the bucket's last revision is the one applied.
wait_eq 5000 0 eval 'f C fleet status -j | python3 -c "import json,sys; print(json.load(sys.stdin)[\"lag\"])"' &&
	ok fleet/status/lag_zero || not_ok fleet/status/lag_zero "$(f C fleet status | grep revision)"

# ---- crash between the bucket's ack and the outbox row's removal ------------------------------------

g_stop A 30
GEOFW_TEST_FLEET_CRASH_AFTER_ACK=1 g_start A || not_ok fleet/crash/start "A did not start"
for i in $(seq 1 100); do f A fleet status | grep -q '^connected: yes' && break; sleep 0.1; done
f A add-block 192.0.2.60 --comment "before the crash" >/dev/null
# (bash reports the SIGKILLed job on stderr: not this test's output)
exec 4>&2 2>/dev/null
for i in $(seq 1 100); do kill -0 "${GPID[A]}" 2>/dev/null || break; sleep 0.05; done
exec 2>&4 4>&-
if ! kill -0 "${GPID[A]}" 2>/dev/null; then
	exec 4>&2 2>/dev/null
	wait "${GPID[A]}"; unset "GPID[A]"
	exec 2>&4 4>&-
	ok fleet/crash/killed_after_ack
	# Another host changes the key while A is down.
	f B add-block 192.0.2.60 --action reject --comment "newer, from B" >/dev/null
	wait_eq 3000 "reject/newer, from B" eval 'f C list blocks -j | python3 -c "import json,sys
print(\" \".join(e[\"action\"] + \"/\" + e[\"comment\"] for e in json.load(sys.stdin) if e[\"prefix\"] == \"192.0.2.60/32\"))"'
	rev=$(fleet_rev C)
	g_start A || not_ok fleet/crash/restart "A did not start again"
	wait_eq 5000 0 eval 'f A fleet status -j | python3 -c "import json,sys; print(json.load(sys.stdin)[\"pending\"])"'
	sleep 0.5
	expect_eq fleet/crash/newer_change_stands "$(fleet_rev C)" "$rev"
	expect_match fleet/crash/logged "$(cat "$F_DIR/A/geofwd.log")" "192.0.2.60/32 made here before a restart was not published"
	# The change itself reached the bucket before the crash: not sent twice.
	g_stop A 30
	GEOFW_TEST_FLEET_CRASH_AFTER_ACK=1 g_start A
	for i in $(seq 1 100); do f A fleet status | grep -q '^connected: yes' && break; sleep 0.1; done
	f A add-block 192.0.2.61 --comment "landed" >/dev/null
	exec 4>&2 2>/dev/null
	for i in $(seq 1 100); do kill -0 "${GPID[A]}" 2>/dev/null || break; sleep 0.05; done
	wait "${GPID[A]}"; unset "GPID[A]"
	exec 2>&4 4>&-
	sleep 0.5
	rev=$(fleet_rev C)
	g_start A || not_ok fleet/crash/restart2 "A did not start again"
	wait_eq 5000 0 eval 'f A fleet status -j | python3 -c "import json,sys; print(json.load(sys.stdin)[\"pending\"])"' &&
		ok fleet/crash/landed_row_cleared || not_ok fleet/crash/landed_row_cleared "still pending"
	sleep 0.5
	expect_eq fleet/crash/not_republished "$(fleet_rev C)" "$rev"
else
	not_ok fleet/crash/killed_after_ack "A still runs after the ack"
	g_stop A 30; g_start A
fi
f A del-block 192.0.2.50 192.0.2.60 192.0.2.61 >/dev/null

# ---- read-only host: known before the first connection -----------------------------------------------

if [ -n "${GPID[R]:-}" ]; then
	g_stop R 30
	in_ns hR ip link set upR down
	g_start R || not_ok fleet/readonly/restart "R did not start without NATS"
	out=$(f R add-block 192.0.2.9 2>&1); st=$?
	[ $st -ne 0 ] && ok fleet/readonly/refused_before_connect ||
		not_ok fleet/readonly/refused_before_connect "exit 0: $out"
	expect_match fleet/readonly/before_connect_message "$out" "only allow reading.*last connection"
	in_ns hR ip link set upR up
	T0=$(now_ms)
	for i in $(seq 1 100); do f R fleet status | grep -q '^connected: yes' && break; sleep 0.1; done
	echo "# read-only host: connected and probed $(( $(now_ms) - T0 )) ms after its link came up"
	T0=$(now_ms)
	f A del-block 198.51.100.12/30 >/dev/null
	t=$(wait_state pass R 3000 "$T0")
	[ "$t" != timeout ] && ok fleet/readonly/follows_after_restart ||
		not_ok fleet/readonly/follows_after_restart "R still drops"
fi

# ---- reload: FleetScope = local on B, the fleet restarts, B's changes stay on B --------------

sed -i 's/^FleetReplicas = 3$/FleetReplicas = 3\nFleetScope = local/' "$F_DIR/B/geofw.conf"
f B reload >/dev/null
out=$(f B add-block 192.0.2.98)
expect_match fleet/reload/scope_local "$(f B list blocks)" "192.0.2.98/32 .*cli"
sleep 1
expect_match fleet/reload/not_in_fleet "$(f A list blocks | grep 192.0.2.98)" "^$"
for i in $(seq 1 100); do f B fleet status | grep -q '^connected: yes' && break; sleep 0.1; done
expect_match fleet/reload/reconnected "$(f B fleet status)" "default:   local scope"

# ---- local rule survived every catch-up ---------------------------------------------------------

expect_match fleet/local/kept "$(f B list blocks)" "192.0.2.99/32.*cli"
# del-block in the default scope (fleet on A): the fleet does not block the
# prefix, so A's own rule goes.
f A add-block --local 192.0.2.97 >/dev/null
f A del-block 192.0.2.97 >/dev/null
expect_match fleet/local/del_default_scope "$(f A list blocks | grep 192.0.2.97)" "^$"
exit 0
