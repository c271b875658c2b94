#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The fleet (NATS JetStream KV): how fast a change made on one host is
# enforced on another.
#
#   bench/fleet.sh [--quick] [--changes N] [--json FILE]
#
#   latency   CHANGES times: fwctl add-block of a new address on host A, then
#             host C's data plane is asked (fwctl lookup: the decision code
#             through BPF_PROG_RUN on C's pins) until it blocks the address;
#             p50, p99 and max of the time from the start of fwctl on A
#             (the poll adds at most its own ~10 ms)
#   import    fwctl import --fleet of a 10,000-entry list on A: seconds
#             until A has the answer, until the bucket acknowledged every
#             change (A's outbox empty), until all of it is in C's kernel map
#
# A 3-node nats-server cluster with JetStream (the bucket with 3 replicas)
# runs in a namespace of its own; A and C are geofwd in namespaces of their
# own with their own pins, state and socket, each linked to the cluster by a
# veth.  CHANGES is 1,000 (200 with --quick).
set -eu
cd "$(dirname "$0")/.."
source bench/lib.sh
source tests/lib/natscluster.sh

CHANGES=1000
IMPORT=10000
JSON=
while [ $# -gt 0 ]; do
	case $1 in
	--quick) CHANGES=200 ;;
	--changes) CHANGES=$2; shift ;;
	--json) JSON=$2; shift ;;
	-h|--help) header_help "$0"; exit 0 ;;
	*) echo "fleet.sh: unknown argument $1" >&2; exit 2 ;;
	esac
	shift
done

bench_init fleet
need "$BUILD/geofwd" "$BUILD/fwctl"
command -v nats-server >/dev/null || die "nats-server missing: run 'make deps'"

ns_add hub
declare -A HUB_IP=([A]=203.0.113.1 [C]=203.0.113.5) UP_IP=([A]=203.0.113.2 [C]=203.0.113.6)
for h in A C; do
	ns_add "h$h"
	ip link add "up$h" netns "$(ns "h$h")" type veth peer name "n$h" netns "$(ns hub)"
	in_ns "h$h" ip addr add "${UP_IP[$h]}/30" dev "up$h"
	in_ns "h$h" ip link set "up$h" up
	in_ns "h$h" ip link add gfw type veth peer name gfwp
	in_ns "h$h" ip link set gfw up
	in_ns "h$h" ip link set gfwp up
	in_ns hub ip addr add "${HUB_IP[$h]}/30" dev "n$h"
	in_ns hub ip link set "n$h" up
done

for i in 1 2 3; do
	nats_node_conf "$BENCH_DIR" "$i" geofwbench 512MB
	in_ns hub nats-server -c "$BENCH_DIR/nats$i/nats.conf" >>"$BENCH_DIR/nats$i/log" 2>&1 &
	BENCH_PIDS+=("$!")
done
nats_cluster_ready "$BENCH_DIR" || die "the NATS cluster has no JetStream leader after 15 s"

declare -A GPID
start_host() {	# start_host H
	local h=$1 d=$BENCH_DIR/$1 i
	mkdir -p "$d/state"
	cat > "$d/geofw.conf" <<-EOF
	Interfaces = gfw
	XdpMode = generic
	GeoIPDatabase = none
	StateDirectory = $d/state
	Socket = $d/geofwd.sock
	LogLevel = warning
	FleetServers = nats://${HUB_IP[$h]}:4222 nats://${HUB_IP[$h]}:4223 nats://${HUB_IP[$h]}:4224
	FleetReplicas = 3
	EOF
	in_net "h$h" "$BUILD/geofwd" -c "$d/geofw.conf" --pin-dir "$BENCH_PIN/$h" \
		>>"$d/geofwd.log" 2>&1 &
	GPID[$h]=$!
	BENCH_PIDS+=("$!")
	for i in $(seq 1 300); do
		fw "$h" fleet status 2>/dev/null | grep -q '^connected: yes' && return 0
		kill -0 "${GPID[$h]}" 2>/dev/null || { tail -5 "$d/geofwd.log" >&2; return 1; }
		sleep 0.1
	done
	return 1
}
fw() {	# fw H ARGS: fwctl on host H
	local h=$1
	shift
	in_net "h$h" "$BUILD/fwctl" --socket "$BENCH_DIR/$h/geofwd.sock" --pin-dir "$BENCH_PIN/$h" "$@"
}
start_host A || die "geofwd A did not connect to the fleet"
start_host C || die "geofwd C did not connect to the fleet"
ns_now() { date +%s%N; }

# ---- latency -------------------------------------------------------------------------
say "latency: $CHANGES changes, add-block on A until C's data plane blocks"
: > "$BENCH_DIR/latency_ms"
for i in $(seq 1 "$CHANGES"); do
	ip=$(printf '2001:db8:f1::%x' "$i")
	t0=$(ns_now)
	fw A add-block "$ip" >/dev/null || die "add-block on A failed"
	until fw C lookup "$ip" -j | grep -q '"action":"drop"'; do
		[ $(( ($(ns_now) - t0) / 1000000 )) -lt 30000 ] || die "$ip not blocked on C after 30 s"
	done
	echo $(( ($(ns_now) - t0) / 1000 )) >> "$BENCH_DIR/latency_ms"
done
pct() {	# pct P: the P-th percentile of the latencies, in ms (3 decimals)
	sort -n "$BENCH_DIR/latency_ms" | awk -v p="$1" '{ v[NR] = $1 }
		END { i = int(NR * p / 100 + 0.999999); if (i < 1) i = 1; printf "%.1f", v[i] / 1000 }'
}
P50=$(pct 50); P99=$(pct 99); PMAX=$(pct 100)
say "latency: p50 $P50 ms, p99 $P99 ms, max $PMAX ms"

# ---- 10,000-rule import ------------------------------------------------------------------
k6() { bpftool -j map dump pinned "$BENCH_PIN/C/gfw_block_ip6" 2>/dev/null | jq length; }
awk -v n="$IMPORT" 'BEGIN { for (i = 1; i <= n; i++) printf "2001:db8:f2::%x\n", i }' \
	> "$BENCH_DIR/list.txt"
before=$(k6)
t0=$(ns_now)
fw A import "$BENCH_DIR/list.txt" --fleet >/dev/null || die "import on A failed"
ACK_S=$(awk -v d=$(( $(ns_now) - t0 )) 'BEGIN { printf "%.3f", d / 1e9 }')
PUB_S=
while [ "$(k6)" -lt $((before + IMPORT)) ]; do
	[ $(( ($(ns_now) - t0) / 1000000000 )) -lt 300 ] || die "import not on C after 300 s"
	# Published: A's outbox is empty (every change acknowledged by the bucket).
	[ -n "$PUB_S" ] || [ "$(fw A fleet status -j | jq .pending)" != 0 ] ||
		PUB_S=$(awk -v d=$(( $(ns_now) - t0 )) 'BEGIN { printf "%.3f", d / 1e9 }')
	sleep 0.05
done
IMPORT_S=$(awk -v d=$(( $(ns_now) - t0 )) 'BEGIN { printf "%.3f", d / 1e9 }')
PUB_S=${PUB_S:-$IMPORT_S}
say "import: $IMPORT rules answered on A after $ACK_S s, all acknowledged by the bucket after $PUB_S s, in C's kernel map after $IMPORT_S s"

if [ -n "$JSON" ]; then
	jq -n --argjson changes "$CHANGES" --argjson p50 "$P50" --argjson p99 "$P99" \
		--argjson max "$PMAX" --argjson n "$IMPORT" --argjson ack "$ACK_S" \
		--argjson s "$IMPORT_S" --argjson pub "$PUB_S" \
		'{changes: $changes, latency_ms: {p50: $p50, p99: $p99, max: $max},
		  import: {entries: $n, answered_s: $ack, published_s: $pub, on_c_s: $s}}' > "$JSON"
fi
