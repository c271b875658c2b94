#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# `make bench`: every benchmark of geofw in one run, one table, one JSON.
#
#   bench/run.sh [--quick] [--only NAME,...] [--out DIR]
#
#   lookup    build/geofw-bench: per-packet cost through BPF_PROG_RUN and
#             the GeoLite2 load + switch
#   veth      bench/veth.sh: drop rate on veth pairs, geofw against bare
#             XDP_DROP, nftables and iptables + ipset
#   ctlplane  bench/ctlplane.sh: database and blocklist loads, kernel memory
#   http403   bench/http403.sh: 403 pages per second, geofw against nginx
#   store     bench/store.sh: the rule store with 1M rules: import, one
#             add-block against ipset/nft, 8 concurrent clients, restart,
#             database size and RSS (run alone: --only store)
#   fleet     bench/fleet.sh: NATS JetStream fleet: add-block on one host to
#             enforcement on another (p50/p99 over 1,000 changes), 10,000-
#             rule import propagation
#
# Prints one table with every figure, its target (PASS/MISS) and the
# command that reproduces the row, and writes DIR/results.json (DIR is
# $BUILD/bench).  Each part's own output is kept in DIR/NAME.log.  --quick
# (under two minutes) is for development: shorter runs, smaller sets, and
# the targets that need the full sizes are not checked.
#
# The data comes from ../shared/data/GeoLite2-Country.mmdb.gz (BENCH_DB_GZ),
# uncompressed into a temp dir for the run; without it, what needs it is
# skipped and says so.  Exit status: 0 when every part ran (targets missed
# or not), 1 when a part failed.
set -eu
cd "$(dirname "$0")/.."

BUILD=${BUILD:-build}
export BUILD
export BENCH_DB_GZ=${BENCH_DB_GZ:-../shared/data/GeoLite2-Country.mmdb.gz}
QUICK=
ONLY=lookup,veth,ctlplane,http403,store,fleet
OUT=
while [ $# -gt 0 ]; do
	case $1 in
	--quick) QUICK=--quick ;;
	--only) ONLY=$2; shift ;;
	--out) OUT=$2; shift ;;
	-h|--help) awk 'NR > 2 && !/^#/ { exit } NR > 2 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
	*) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
	esac
	shift
done
OUT=${OUT:-$BUILD/bench}
# Ctrl-C stops the part running (which cleans up after itself) and the run.
trap 'exit 130' INT TERM
mkdir -p "$OUT"
[ "$(id -u)" = 0 ] || { echo "run.sh: needs root (namespaces, BPF, netfilter)" >&2; exit 1; }
for f in geofw-bench geofwd fwctl trafficgen benchdata; do
	[ -x "$BUILD/$f" ] || { echo "run.sh: $BUILD/$f missing: run 'make bench'" >&2; exit 1; }
done
for t in jq nft ipset iptables wrk nginx ethtool; do
	command -v $t >/dev/null || { echo "run.sh: $t missing: run 'make deps'" >&2; exit 1; }
done

START=$(date +%s)
FAILED=()
SKIPPED=()
[ -r "$BENCH_DB_GZ" ] || SKIPPED+=("$BENCH_DB_GZ absent: no GeoLite2 load figures, the geo lookup rows measure empty tables, no veth drop rates")

# part NAME CMD...: run one part, its stdout and stderr into OUT/NAME.log,
# its progress lines (stderr) on the terminal too.
part() {
	local name=$1 t0 status
	shift
	case ",$ONLY," in *",$name,"*) ;; *) return 0 ;; esac
	t0=$(date +%s)
	echo "== $name: $*" >&2
	# stdout to the log, stderr through tee to the terminal and beside.
	set +e
	"$@" 2>&1 > "$OUT/$name.log" | tee "$OUT/$name.err" >&2
	status=${PIPESTATUS[0]}
	set -e
	cat "$OUT/$name.err" >> "$OUT/$name.log"
	rm -f "$OUT/$name.err"
	if [ $status -ne 0 ]; then
		FAILED+=("$name (exit $status, see $OUT/$name.log)")
		echo "== $name FAILED (exit $status) after $(( $(date +%s) - t0 )) s" >&2
	else
		echo "== $name done in $(( $(date +%s) - t0 )) s" >&2
	fi
}

rm -f "$OUT"/{lookup,veth,ctlplane,http403,store,fleet}.json
part lookup "$BUILD/geofw-bench" $QUICK --db "$BENCH_DB_GZ" --json "$OUT/lookup.json"
part veth bench/veth.sh $QUICK --json "$OUT/veth.json"
part ctlplane bench/ctlplane.sh $QUICK --json "$OUT/ctlplane.json"
part http403 bench/http403.sh $QUICK --json "$OUT/http403.json"
part store bench/store.sh $QUICK --json "$OUT/store.json"
part fleet bench/fleet.sh $QUICK --json "$OUT/fleet.json"
DURATION=$(( $(date +%s) - START ))

# ---- the table ------------------------------------------------------------------------
j() { local f=$OUT/$1.json; shift; [ -s "$f" ] && jq -r "$@" "$f" 2>/dev/null || true; }
have() { [ -s "$OUT/$1.json" ] && ! jq -e '.skipped' "$OUT/$1.json" >/dev/null 2>&1; }
Q=${QUICK:+ --quick}
TARGETS='[]'
# check NAME VALUE OP LIMIT: record a checked target in TARGETS, its
# verdict in T ("PASS <= 2").  Not in a subshell, or the record is lost.
check() {
	local ok
	ok=$(awk -v v="$2" -v l="$4" -v op="$3" 'BEGIN { print (op == "<=" ? v <= l : v >= l) ? "true" : "false" }')
	TARGETS=$(echo "$TARGETS" | jq -c --arg n "$1" --argjson v "$2" --arg op "$3" --argjson l "$4" \
		--argjson ok "$ok" '. + [{target: $n, value: $v, op: $op, limit: $l, pass: $ok}]')
	if [ "$ok" = true ]; then T="PASS $3 $4"; else T="MISS $3 $4"; fi
}
row() { printf '  %-44s %16s  %-15s %s\n' "$1" "$2" "$3" "$4"; }
mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

TABLE=$OUT/table.txt
{
echo
echo "geofw benchmarks — $(uname -r), $(nproc) CPUs, $(date -u '+%Y-%m-%d %H:%M UTC')${QUICK:+ — QUICK run}"
echo
printf '  %-44s %16s  %-15s %s\n' "figure" "value" "target" "reproduce"

if have lookup; then
	echo "per packet, BPF_PROG_RUN: ns (+ above the no-op; the geo lookup target row: above parse-only)"
	while IFS=$'\t' read -r name fam keys ns above tgt; do
		T=""
		[ "$tgt" = 0 ] || check "lookup: $name v$fam $keys (ns)" "$above" "<=" "$tgt"
		row "$name, v$fam $keys" "$ns (+$above)" "$T" "$BUILD/geofw-bench$Q"
	done < <(j lookup '.lookup[] | [.row, .family, .keys, .ns, .above_noop_ns, .target_ns] | @tsv')
	load=$(j lookup .geo_load_switch_s)
	if awk -v v="$load" 'BEGIN { exit !(v > 0) }'; then
		check "GeoLite2 load + switch (s)" "$load" "<=" 1
		row "GeoLite2 load + switch (geofw-bench)" "$load s" "$T" "$BUILD/geofw-bench$Q"
		row "geo tables, computed size" "$(j lookup '.geo_kernel_bytes / 1048576 * 10 | round / 10') MB" "" "$BUILD/geofw-bench$Q"
	fi
fi

if have veth; then
	echo "drop rate on a veth pair, Mpps per second of the generator core ($(j veth .prefixes.prefixes_v4) blocked prefixes, median of $(j veth .rounds) x $(j veth .seconds_each) s, interleaved)"
	while IFS=$'\t' read -r name mpps above; do
		row "$name" "$mpps Mpps" "" "bench/veth.sh$Q"
		[ -z "$above" ] || row "  per frame over XDP_DROP" "$above ns" "" "bench/veth.sh$Q"
	done < <(j veth '.receivers[] | [.name, .mpps, (if .ns_over_xdp_drop == 0 then null else .ns_over_xdp_drop end)] | @tsv')
	row "the XDP_DROP path, per frame" "$(j veth .ns_per_frame.xdp_drop_path) ns" "" "bench/veth.sh$Q"
	check "geofw / XDP_DROP" "$(j veth .ratios.geofw_vs_xdp_drop)" ">=" 0.75
	row "geofw / XDP_DROP" "$(j veth .ratios.geofw_vs_xdp_drop)" "$T" "bench/veth.sh$Q"
	check "geofw / nft ingress set" "$(j veth .ratios.geofw_vs_nft)" ">=" 10
	row "geofw / nft ingress set" "$(j veth .ratios.geofw_vs_nft)" "$T" "bench/veth.sh$Q"
	check "geofw / ipset" "$(j veth .ratios.geofw_vs_ipset)" ">=" 10
	row "geofw / ipset" "$(j veth .ratios.geofw_vs_ipset)" "$T" "bench/veth.sh$Q"
	check "geofw / XDP + plain LPM trie" "$(j veth .ratios.geofw_vs_lpm)" ">=" 6
	row "geofw / XDP + plain LPM trie" "$(j veth .ratios.geofw_vs_lpm)" "$T" "bench/veth.sh$Q"
	# No target: what one cache miss leaves of the XDP_DROP path here (the
	# ceiling of geofw / XDP_DROP for a lookup that leaves the top level).
	row "reference: $(j veth '.receivers.xdp_memory_reference.name | sub("^F "; "")') / XDP_DROP" "$(j veth '.ratios.memory_reference_vs_xdp_drop // "-"')" "" "bench/veth.sh$Q"
	two=$(j veth '.ratios.geofw_two_cpus_vs_one // empty')
	if [ -n "$two" ]; then
		check "geofw: two generator CPUs / one" "$two" ">=" 1.8
		row "geofw, two generator CPUs / one" "$two (wall $(j veth .ratios.geofw_two_cpus_vs_one_wall))" "$T" "bench/veth.sh$Q"
		# The same figure for bare XDP_DROP in the same rounds: the most
		# this machine's veth path shows (2.0 is perfect scaling).
		row "  bare XDP_DROP, two CPUs / one" "$(j veth '.ratios.xdp_drop_two_cpus_vs_one // "-"') (wall $(j veth '.ratios.xdp_drop_two_cpus_vs_one_wall // "-"'))" "" "bench/veth.sh$Q"
	else
		row "geofw, two generator CPUs / one" "-" "(needs 2 CPUs)" "bench/veth.sh$Q"
	fi
	row "nft -f of the blocked prefixes" "$(j veth .set_load_s.nft) s" "" "bench/veth.sh$Q"
	row "ipset restore of the blocked prefixes" "$(j veth .set_load_s.ipset) s" "" "bench/veth.sh$Q"
fi

if have ctlplane; then
	n=$(j ctlplane '.blocklist.entries | if . % 1000000 == 0 then "\(. / 1000000)M" elif . % 1000 == 0 then "\(. / 1000)k" else "\(.)" end')
	echo "control plane (kernel memory: unreclaimable slab + vmalloc + per-CPU taken, checked against what the release gives back; [charged to the bench cgroup])"
	cgmb() { local v; v=$(j ctlplane "$1"); [ -n "$v" ] && [ "$v" != null ] && echo " [$(mb "$v")]" || true; }
	# kmem PART [TARGET]: the "its kernel memory" row of .PART; when the
	# machine-wide readings never agreed, only the cgroup's figure.
	kmem() {
		local name="  its kernel memory" v
		v=$(j ctlplane ".$1.kernel_kb // empty")
		if [ -n "$v" ]; then v="$(mb "$v") MB"; else v="-"; name="$name (machine busy)"; fi
		row "$name" "$v$(cgmb ".$1.cgroup_kb")" "${2:-}" "bench/ctlplane.sh$Q"
	}
	row "geofw maps + programs, no data" "" "" "bench/ctlplane.sh$Q"
	kmem geofw_base
	if [ "$(j ctlplane .geofw_geo_load)" != null ]; then
		row "GeoLite2 load + switch via geofwd (reload)" "$(j ctlplane .geofw_geo_load.seconds) s" "" "bench/ctlplane.sh$Q"
		# BPF maps are charged in full to their creator's cgroup: that
		# figure stands in when the machine-wide one was disturbed.
		check "geo tables kernel memory (MB)" \
			"$(mb "$(j ctlplane '.geofw_geo_load | .kernel_kb // .cgroup_kb')")" "<=" 48
		kmem geofw_geo_load "$T"
	fi
	s=$(j ctlplane .geofw_import.seconds)
	T="(1M only)"
	[ "$(j ctlplane .blocklist.entries)" -lt 1000000 ] || check "fwctl import of a 1M blocklist (s)" "$s" "<=" 2
	row "fwctl import of a $n-entry blocklist" "$s s" "$T" "bench/ctlplane.sh$Q"
	kmem geofw_import
	row "nft -f, the same $n (interval set)" "$(j ctlplane .nft.seconds) s" "" "bench/ctlplane.sh$Q"
	kmem nft
	row "ipset restore, the same $n (hash:net)" "$(j ctlplane .ipset.seconds) s" "" "bench/ctlplane.sh$Q"
	kmem ipset
	row "  ipset's own count of it" "$(mb "$(j ctlplane .ipset.ipset_reported_kb)") MB" "" "bench/ctlplane.sh$Q"
fi

if have http403; then
	echo "403 responses per second (wrk -c$(j http403 .connections), $(j http403 .seconds) s each)"
	row "geofw TC responder, blocked client" "$(j http403 '.geofw_responder.rps | round') req/s" "" "bench/http403.sh$Q"
	row "  page with placeholders / static page" "$(j http403 '.pages.ratio')" ">= 0.90" "bench/http403.sh$Q"
	row "nginx return 403, connection per request" "$(j http403 '.nginx_close.rps | round') req/s" "" "bench/http403.sh$Q"
	row "nginx return 403, keep-alive" "$(j http403 '.nginx_keepalive.rps | round') req/s" "" "bench/http403.sh$Q"
fi

if have store; then
	n=$(j store '.rules | if . % 1000000 == 0 then "\(. / 1000000)M" elif . % 1000 == 0 then "\(. / 1000)k" else "\(.)" end')
	big=$(j store '.rules >= 1000000')
	echo "rule store (rules.db, fsync per commit; $n rules in force)"
	# srow LABEL VALUE TARGET-NAME FIELD OP LIMIT: a row whose target is
	# checked on 1M runs only.
	srow() {
		T="(1M only)"
		[ "$big" != true ] || check "$3" "$(j store ".$4")" "$5" "$6"
		row "$1" "$2" "$T" "bench/store.sh$Q"
	}
	row "fwctl import of $n / ipset restore" "$(j store .import_s) / $(j store .ipset_restore_s) s" "" "bench/store.sh$Q"
	srow "  ratio" "$(j store .import_vs_ipset)" "fwctl import / ipset restore, 1M" import_vs_ipset "<=" 0.5
	row "fwctl add-block / ipset add, $n in force" "$(j store .add_block_s) / $(j store .ipset_add_s) s" "" "bench/store.sh$Q"
	srow "  ratio" "$(j store .add_vs_ipset)" "add-block / ipset add, 1M in force" add_vs_ipset "<=" 2
	row "nft add element, $n interval set" "$(j store .nft_add_element_s) s" "" "bench/store.sh$Q"
	srow "8 clients, 10,000 add-block" "$(j store .storm_acked_per_s)/s" \
		"8 clients: acknowledged changes/s" storm_acked_per_s ">=" 2000
	srow "restart after kill -9: ready" "$(j store .restart_ready_s) s" \
		"restart with 1M rules: ready (s)" restart_ready_s "<=" 3
	row "rules.db (+ WAL)" "$(j store '.db_kb / 1024 | round') (+$(j store '.wal_kb / 1024 | round')) MB" "" "bench/store.sh$Q"
	row "geofwd RSS" "$(j store '.geofwd_rss_kb / 1024 | round') MB" "" "bench/store.sh$Q"
fi

if have fleet; then
	echo "fleet (NATS JetStream KV, 3 nodes, bucket with 3 replicas; A and C in namespaces of their own)"
	row "add-block on A to drop on C, p50 / max" "$(j fleet .latency_ms.p50) / $(j fleet .latency_ms.max) ms" "" "bench/fleet.sh$Q"
	check "fleet: add-block on A to enforcement on C, p99 (ms)" "$(j fleet .latency_ms.p99)" "<=" 1000
	row "  p99 over $(j fleet .changes) changes" "$(j fleet .latency_ms.p99) ms" "$T" "bench/fleet.sh$Q"
	row "import --fleet $(j fleet .import.entries): answer/ack/on C" \
		"$(j fleet .import.answered_s) / $(j fleet .import.published_s) / $(j fleet .import.on_c_s) s" "" "bench/fleet.sh$Q"
fi

echo
PASS=$(echo "$TARGETS" | jq '[.[] | select(.pass)] | length')
MISS=$(echo "$TARGETS" | jq '[.[] | select(.pass | not)] | length')
echo "targets: $PASS PASS, $MISS MISS; run took $DURATION s; results in $OUT/results.json"
for s in "${SKIPPED[@]}"; do echo "SKIPPED: $s"; done
for f in "${FAILED[@]}"; do echo "FAILED: $f"; done
} > "$TABLE"
cat "$TABLE"

# ---- results.json ----------------------------------------------------------------------
part_json() { if [ -s "$OUT/$1.json" ]; then cat "$OUT/$1.json"; else echo null; fi; }
jq -n --argjson quick "$([ -n "$QUICK" ] && echo true || echo false)" \
	--arg kernel "$(uname -r)" --argjson cpus "$(nproc)" \
	--arg cpu "$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)" \
	--arg date "$(date -u +%FT%TZ)" --argjson duration "$DURATION" \
	--argjson lookup "$(part_json lookup)" --argjson veth "$(part_json veth)" \
	--argjson ctlplane "$(part_json ctlplane)" --argjson http403 "$(part_json http403)" \
	--argjson store "$(part_json store)" --argjson fleet "$(part_json fleet)" \
	--argjson targets "$TARGETS" \
	--argjson skipped "$(printf '%s\n' "${SKIPPED[@]}" | jq -R . | jq -s 'map(select(length > 0))')" \
	--argjson failed "$(printf '%s\n' "${FAILED[@]}" | jq -R . | jq -s 'map(select(length > 0))')" \
	'{date: $date, quick: $quick, duration_s: $duration,
	  machine: {kernel: $kernel, cpus: $cpus, cpu: $cpu},
	  targets: $targets, skipped: $skipped, failed: $failed,
	  lookup: $lookup, veth: $veth, ctlplane: $ctlplane, http403: $http403,
	  store: $store, fleet: $fleet}' > "$OUT/results.json"

[ ${#FAILED[@]} -eq 0 ]
