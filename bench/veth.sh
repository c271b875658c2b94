#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Drop rate on veth pairs: geofw against the kernel's own firewalls, with
# the same blocked prefixes, measured interleaved in one run.
#
#   bench/veth.sh [--quick] [--rounds N] [--seconds S] [--queues N] [--perf DIR]
#                 [--json FILE]
#
#   tx namespace                       rx namespace
#   t_xdp   ── veth ──  r_xdp    (A) bare XDP_DROP (trafficgen sink): the limit
#   t_geofw ── veth ──  r_geofw  (B) geofw: geofwd, GeoLite2, countries blocked
#   t_nft   ── veth ──  r_nft    (C) nftables netdev ingress, interval set
#   t_ipset ── veth ──  r_ipset  (D) iptables raw PREROUTING + ipset hash:net
#   t_lpm   ── veth ──  r_lpm    (E) XDP + a plain LPM trie (for reference)
#   t_mem   ── veth ──  r_mem    (F) XDP + one random load into a table of
#                                    BENCH_MEM_REF (MiB[,loads]; 2 MiB, 1 load):
#                                    what a cache miss costs on this path
#
# Then geofw with two generator cores against one (issue 17: the drop rate
# scales, no cache line shared by the CPUs is written per packet): rounds
# of one generator, then one on each CPU at once, both on t_geofw, and the
# same on t_xdp in the same rounds (bare XDP_DROP: what the path itself
# scales to on this machine, printed beside geofw's figure).  The checked
# figure is per core second like the rest (two generators: the frames
# dropped over the CPU time of both, times two; 2.0 is perfect scaling), so
# other work on the machine does not decide it; the wall-clock ratio is in
# the JSON too.  Every veth has one queue per CPU (--queues N to change
# it): with the veth default of one, both generators' frames share one
# ring (its lock taken by both CPUs for every bulk of frames) and one NAPI
# instance, shared lines that belong to the bench, not to the receiver
# (docs/design-notes.md, "veth").
#
# Every receiver is in place for the whole run, each on its own veth, so a
# round only changes which veth the generator sends out of: A B C D E A B…
# The generator (build/trafficgen send, pinned to one CPU) stamps a random
# source from the blocked prefixes into every frame.  Its frames are
# received in the generator's own softirq on the same core, so a figure is
# what one core does generating and receiving; the ratios are what the
# receivers differ by.  What counts is what the receiver says it dropped:
# the sinks' and geofw's counters, the nft rule's and the iptables rule's.
# The rate is per second of that core's time (the generator's CPU time,
# which includes the softirq work done in its context, plus what that CPU's
# ksoftirqd did meanwhile): on a machine where other work takes turns on
# the core, wall-clock rates measure the other work too.  Both are in the
# JSON, with the share of the core the generator got.
#
# --perf DIR: `perf record` on the generator core during the first round of
# each receiver (DIR/NAME.data), the kernel symbols of the generator's
# samples in DIR/NAME.top (perf's overhead is in that round's figure), and
# for geofw the samples inside geofw_xdp by source line in DIR/geofw.lines
# (trafficgen lines: perf cannot annotate BPF programs on this machine).
set -eu
cd "$(dirname "$0")/.."
source bench/lib.sh

ROUNDS=3
SECONDS_EACH=6
JSON=
NQ=$(nproc)
PERF_DIR=
while [ $# -gt 0 ]; do
	case $1 in
	--quick) ROUNDS=1; SECONDS_EACH=2 ;;
	--rounds) ROUNDS=$2; shift ;;
	--seconds) SECONDS_EACH=$2; shift ;;
	--json) JSON=$2; shift ;;
	--queues) NQ=$2; shift ;;
	--perf) PERF_DIR=$2; shift ;;
	-h|--help) header_help "$0"; exit 0 ;;
	*) echo "veth.sh: unknown argument $1" >&2; exit 2 ;;
	esac
	shift
done

bench_init veth
IPT=${BENCH_IPTABLES:-iptables}
TG=$BUILD/trafficgen
need "$TG" "$BUILD/benchdata" "$BUILD/geofwd" "$BUILD/fwctl"

if ! DB=$(bench_db); then
	say "SKIPPED: $BENCH_DB_GZ absent (the blocked prefixes come from it)"
	[ -z "$JSON" ] || echo '{"skipped":"GeoIP database absent"}' > "$JSON"
	exit 0
fi

RECEIVERS="xdp geofw nft ipset lpm mem"
MEM_REF=${BENCH_MEM_REF:-2,1}
declare -A NAME=(
	[xdp]="A bare XDP_DROP"
	[geofw]="B geofw (XDP, GeoLite2)"
	[nft]="C nftables netdev ingress set"
	[ipset]="D iptables raw + ipset hash:net"
	[lpm]="E XDP + plain LPM trie"
	[mem]="F XDP + $(echo "$MEM_REF" | awk -F, '{ printf "%s random load%s into %s MiB", ($2 ? $2 : 1), ($2 > 1 ? "s" : ""), $1 }')"
)
# The keys of the JSON (and of run.sh's table).
declare -A KEY=([xdp]=xdp_drop [geofw]=geofw [nft]=nft_ingress_set [ipset]=iptables_ipset [lpm]=xdp_lpm_trie [mem]=xdp_memory_reference)

# ---- data -------------------------------------------------------------------
PREFIXES=$BENCH_DIR/blocked.txt
# shellcheck disable=SC2086
GEO=$("$BUILD/benchdata" geo --db "$DB" --countries "$(echo $BENCH_COUNTRIES | tr ' ' ,)" \
	--out "$PREFIXES") || die "cannot extract the blocked prefixes"
N_PREFIXES=$(wc -l < "$PREFIXES")
say "$N_PREFIXES IPv4 prefixes of $BENCH_COUNTRIES"

# ---- lab ------------------------------------------------------------------------
ns_add tx
ns_add rx
# One queue per CPU on every veth.  A veth created without numrxqueues has
# one receive queue: frames sent on two CPUs then go into one ptr_ring,
# its producer spinlock taken by both CPUs for every bulk of frames (with
# two generators on one queue, 15% of their time was that lock's slow path
# and lock/unlock), and one NAPI instance receives both CPUs' frames
# wherever it runs.  That is the bench's shared line, not the receiver's (a
# NIC spreads flows over queues with RSS): veth_xdp_xmit picks the peer's
# queue by the sending CPU (smp_processor_id() % queues), so with a queue
# per CPU each generator's frames are received on its own CPU, in its own
# NAPI.
i=0
for r in $RECEIVERS; do
	ip link add "t_$r" netns "$(ns tx)" numtxqueues "$NQ" numrxqueues "$NQ" type veth \
		peer name "r_$r" netns "$(ns rx)" numtxqueues "$NQ" numrxqueues "$NQ"
	# A /30 each: 198.51.100.(4i+1) on the receiver, .(4i+2) on the sender.
	ip -n "$(ns rx)" addr add "198.51.100.$((4 * i + 1))/30" dev "r_$r"
	ip -n "$(ns tx)" addr add "198.51.100.$((4 * i + 2))/30" dev "t_$r"
	ip -n "$(ns rx)" link set "r_$r" up
	ip -n "$(ns tx)" link set "t_$r" up
	# GRO gives the veth a NAPI instance, which frames sent with XDP_TX
	# need to be received at all when no XDP program is attached (C, D).
	in_ns rx ethtool -K "r_$r" gro on >/dev/null
	i=$((i + 1))
done
# No IPv6 autoconfiguration or neighbour discovery chatter in the counts.
for n in tx rx; do
	in_ns $n sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
done
mac() { ip -n "$(ns rx)" -j link show "$1" | jq -r '.[0].address'; }
dst_ip() {
	local i=0 r
	for r in $RECEIVERS; do
		[ "$r" = "$1" ] && { echo "198.51.100.$((4 * i + 1))"; return; }
		i=$((i + 1))
	done
}

# ---- receivers ---------------------------------------------------------------
# sink NAME [ARGS]: a trafficgen sink on r_NAME, its counter pinned.
sink() {
	local r=$1
	shift
	in_net rx "$TG" sink --dev "r_$r" --pin "$BENCH_PIN/$r" "$@" > "$BENCH_DIR/$r.out" 2>&1 &
	BENCH_PIDS+=("$!")
	for _ in $(seq 1 100); do grep -q ready "$BENCH_DIR/$r.out" 2>/dev/null && break; sleep 0.1; done
	grep -q ready "$BENCH_DIR/$r.out" || die "the $r sink did not attach: $(cat "$BENCH_DIR/$r.out")"
}
# (A) the bare XDP_DROP program.
sink xdp

# (B) geofw, the real thing: geofwd, the whole GeoLite2 database, the
# countries blocked by policy.
geofwd_conf "$BENCH_DIR/geofw.conf" r_geofw "$DB" "Countries = $BENCH_COUNTRIES" \
	"CountryAction = drop" "UnknownCountry = pass"
t0=$(now)
geofwd_start rx "$BENCH_DIR/geofw.conf" || die "geofwd did not start"
say "geofwd up in $(elapsed "$t0") s"
fwctl status | grep -q 'r_geofw: attached' || die "geofwd did not attach to r_geofw: $(fwctl status)"

# (C) nftables: the prefixes in an interval set, matched at netdev ingress.
# auto-merge joins adjacent prefixes into one interval, as an operator
# would load such a set (GeoLite2's 121,111 prefixes of the bench become
# 59,816 intervals): nft at its best, not at its largest.
{
	echo "table netdev gfwb {"
	echo "	set blocked { type ipv4_addr; flags interval; auto-merge; elements = {"
	sed 's/$/,/' "$PREFIXES"
	echo "	} }"
	echo "	chain ingress {"
	echo "		type filter hook ingress device r_nft priority 0; policy accept;"
	echo "		ip saddr @blocked counter drop"
	echo "	}"
	echo "}"
} > "$BENCH_DIR/blocked.nft"
t0=$(now)
in_ns rx nft -f "$BENCH_DIR/blocked.nft" || die "nft -f failed"
NFT_LOAD_S=$(elapsed "$t0")

# (D) iptables raw PREROUTING (before conntrack) matching an ipset hash:net.
{
	echo "create gfwb hash:net family inet hashsize 65536 maxelem $((N_PREFIXES * 2))"
	sed 's/^/add gfwb /' "$PREFIXES"
} > "$BENCH_DIR/blocked.ipset"
t0=$(now)
in_ns rx ipset restore -f "$BENCH_DIR/blocked.ipset" || die "ipset restore failed"
IPSET_LOAD_S=$(elapsed "$t0")
in_ns rx "$IPT" -t raw -A PREROUTING -i r_ipset -m set --match-set gfwb src -j DROP
say "sets loaded: nft -f $NFT_LOAD_S s, ipset restore $IPSET_LOAD_S s ($($IPT -V))"

# (E) the prefixes in a plain BPF LPM trie.
sink lpm --lpm "$PREFIXES"

# (F) the reference: a table walk's floor on this machine.  The smallest
# exact table of GeoLite2's IPv4 countries is about 1 MB (407,845 runs of
# one country at 3 bytes a run, docs/design-notes.md), so a lookup that
# leaves the top level costs at least one random load into a table of that
# order; F measures what one such load costs a frame.
sink mem --mem "$MEM_REF"

# dropped RECEIVER: the receiver's own count of the frames it dropped.
dropped() {
	case $1 in
	xdp|lpm|mem) in_net rx "$TG" count "$BENCH_PIN/$1" ;;
	geofw) fwctl -j stats | jq '[.actions[] | select(.action == "drop") | .packets] | add' ;;
	nft) in_ns rx nft -j list chain netdev gfwb ingress |
		jq '[.nftables[] | .rule? // empty | .expr[] | .counter? // empty | .packets] | add' ;;
	ipset) in_ns rx "$IPT" -t raw -L PREROUTING -v -x -n | awk '/match-set gfwb/ { s += $1 } END { print s + 0 }' ;;
	esac
}

# ---- rounds ---------------------------------------------------------------------
calc() { awk "BEGIN { $1 }"; }
# The last CPU: the same core for every round.
GEN_CPU=$(( $(nproc) - 1 ))
# Softirq work the generator's context leaves over runs in that CPU's
# ksoftirqd: it is part of the receiving cost, so it counts as core time.
KSOFTIRQD=$(pgrep -x "ksoftirqd/$GEN_CPU" || true)
ksoftirqd_s() {
	if [ -n "$KSOFTIRQD" ]; then
		awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$KSOFTIRQD/stat"
	else
		echo 0
	fi
}
# perf_summary NAME: what --perf keeps of a receiver's round.
perf_summary() {
	local data=$PERF_DIR/$1.data id
	perf report -i "$data" --comm trafficgen --percentage relative --no-children --sort sym --stdio -g none 2>/dev/null |
		grep '%' | head -25 > "$PERF_DIR/$1.top"
	[ "$1" = geofw ] || return 0
	id=$(ip -n "$(ns rx)" -d -j link show r_geofw | jq '.[0].xdp.prog.id // empty')
	[ -n "$id" ] && "$TG" lines "$id" > "$PERF_DIR/geofw.jit" || return 0
	# Each sample to the last line starting at or before its offset
	# (mawk has no hex input: bash converts).
	perf script -i "$data" --comm trafficgen -F ip,sym,symoff 2>/dev/null |
		sed -n 's/.*_geofw_xdp+0x\([0-9a-f]*\).*/\1/p' | sort | uniq -c |
		while read -r n off; do echo "S $((16#$off)) $n"; done > "$PERF_DIR/geofw.samples"
	while read -r off rest; do echo "L $((16#$off)) $rest"; done < "$PERF_DIR/geofw.jit" |
		cat - "$PERF_DIR/geofw.samples" |
		awk '$1 == "L" { off[++n] = $2; $1 = $2 = ""; line[n] = substr($0, 3); next }
		     { best = 0
		       for (i = 1; i <= n; i++) if (off[i] <= $2 && (!best || off[i] >= off[best])) best = i
		       c[line[best]] += $3; t += $3 }
		     END { for (l in c) printf "%6d %5.1f%% %s\n", c[l], 100 * c[l] / t, l }' |
		sort -rn > "$PERF_DIR/geofw.lines"
}
[ -z "$PERF_DIR" ] || { mkdir -p "$PERF_DIR"; command -v perf >/dev/null || die "--perf: perf missing"; }
declare -A RATES WALL SHARE SENT DROPPED
for round in $(seq 1 "$ROUNDS"); do
	for r in $RECEIVERS; do
		perf_pid=""
		started=()
		if [ -n "$PERF_DIR" ] && [ "$round" = 1 ]; then
			# From the first frame (not while the generator fills its
			# sources) for most of the round.
			rm -f "$BENCH_DIR/started"
			started=(--started "$BENCH_DIR/started")
			(
				for _ in $(seq 1 500); do [ -e "$BENCH_DIR/started" ] && break; sleep 0.01; done
				exec perf record -q -C "$GEN_CPU" -o "$PERF_DIR/$r.data" -- \
					sleep "$(calc "print $SECONDS_EACH * 0.8")" >/dev/null 2>&1
			) &
			perf_pid=$!
		fi
		before=$(dropped "$r")
		k0=$(ksoftirqd_s)
		out=$(in_net tx taskset -c "$GEN_CPU" "$TG" send --dev "t_$r" --dst-mac "$(mac "r_$r")" \
			--dst "$(dst_ip "$r")" --prefixes "$PREFIXES" --seconds "$SECONDS_EACH" --seed "$round" \
			"${started[@]}") || die "the generator failed on t_$r"
		k1=$(ksoftirqd_s)
		after=$(dropped "$r")
		[ -z "$perf_pid" ] || { wait "$perf_pid"; perf_summary "$r"; }
		secs=$(echo "$out" | jq .seconds)
		cpu=$(calc "print $(echo "$out" | jq .cpu_seconds) + $k1 - $k0")
		sent=$(echo "$out" | jq .sent)
		d=$((after - before))
		rate=$(awk -v d="$d" -v s="$cpu" 'BEGIN { printf "%.4f", d / s / 1e6 }')
		wall=$(awk -v d="$d" -v s="$secs" 'BEGIN { printf "%.4f", d / s / 1e6 }')
		share=$(awk -v c="$cpu" -v s="$secs" 'BEGIN { printf "%.2f", c / s }')
		RATES[$r]="${RATES[$r]:-} $rate"
		WALL[$r]="${WALL[$r]:-} $wall"
		SHARE[$r]="${SHARE[$r]:-} $share"
		SENT[$r]=$(( ${SENT[$r]:-0} + sent ))
		DROPPED[$r]=$(( ${DROPPED[$r]:-0} + d ))
		say "round $round $r: $rate Mpps per core second, $wall per wall second (core share $share; dropped $d of $sent)"
	done
done

# ---- two generator cores ----------------------------------------------------------
# send_on R CPU SEED OUT: one generator on CPU into t_R, its JSON to OUT.
send_on() {
	in_net tx taskset -c "$2" "$TG" send --dev "t_$1" --dst-mac "$(mac "r_$1")" \
		--dst "$(dst_ip "$1")" --prefixes "$PREFIXES" --seconds "$SECONDS_EACH" --seed "$3" > "$4"
}
ksoftirqd_all() {
	local pid s=0 c
	for c in $(seq 0 $(( $(nproc) - 1 ))); do
		pid=$(pgrep -x "ksoftirqd/$c" || true)
		[ -z "$pid" ] || s=$(awk -v s="$s" -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", s + ($14 + $15) / hz }' "/proc/$pid/stat")
	done
	echo "$s"
}
# Bare XDP_DROP is measured the same way beside geofw, in the same rounds:
# what the path itself (generator, veth, NAPI) does with two CPUs is the
# ceiling of geofw's figure on this machine.
SCALED="xdp geofw"
declare -A SCALE_CORE SCALE_WALL
if [ "$(nproc)" -ge 2 ]; then
	for round in $(seq 1 "$ROUNDS"); do
		for r in $SCALED; do
			before=$(dropped "$r"); k0=$(ksoftirqd_all)
			send_on "$r" "$GEN_CPU" "$round" "$BENCH_DIR/one.json" || die "the generator failed on t_$r"
			k1=$(ksoftirqd_all); after=$(dropped "$r")
			d1=$((after - before))
			c1=$(calc "print $(jq .cpu_seconds "$BENCH_DIR/one.json") + $k1 - $k0")
			w1=$(jq .seconds "$BENCH_DIR/one.json")
			before=$(dropped "$r"); k0=$(ksoftirqd_all)
			send_on "$r" 0 "$round" "$BENCH_DIR/two0.json" & p0=$!
			send_on "$r" 1 "$((round + 100))" "$BENCH_DIR/two1.json" & p1=$!
			wait $p0 && wait $p1 || die "a generator failed on t_$r (two cores)"
			k1=$(ksoftirqd_all); after=$(dropped "$r")
			d2=$((after - before))
			c2=$(calc "print $(jq .cpu_seconds "$BENCH_DIR/two0.json") + $(jq .cpu_seconds "$BENCH_DIR/two1.json") + $k1 - $k0")
			w2=$(jq -s 'map(.seconds) | max' "$BENCH_DIR/two0.json" "$BENCH_DIR/two1.json")
			sc=$(calc "printf \"%.3f\", 2 * ($d2 / $c2) / ($d1 / $c1)")
			sw=$(calc "printf \"%.3f\", ($d2 / $w2) / ($d1 / $w1)")
			SCALE_CORE[$r]="${SCALE_CORE[$r]:-} $sc"
			SCALE_WALL[$r]="${SCALE_WALL[$r]:-} $sw"
			say "round $round $r, two generator cores / one: $sc per core second, $sw per wall second (dropped $d2 vs $d1)"
		done
	done
fi

# ---- results ------------------------------------------------------------------
arr() { echo "$1" | awk '{ printf "["; for (i = 1; i <= NF; i++) printf "%s%s", (i > 1 ? "," : ""), $i; printf "]" }'; }
declare -A MED
for r in $RECEIVERS; do
	# shellcheck disable=SC2086
	MED[$r]=$(median ${RATES[$r]})
	[ "$(calc "print (${MED[$r]} > 0)")" = 1 ] || die "$r dropped nothing: is it attached?"
	# A receiver that lets frames through would look fast: say so.
	if [ "$(calc "print (${DROPPED[$r]} < ${SENT[$r]} * 0.99)")" = 1 ]; then
		say "WARNING: $r dropped ${DROPPED[$r]} of ${SENT[$r]} frames sent"
	fi
done
XDP_NS=$(calc "printf \"%.1f\", 1000 / ${MED[xdp]}")
R_XDP=$(calc "printf \"%.3f\", ${MED[geofw]} / ${MED[xdp]}")
R_NFT=$(calc "printf \"%.3f\", ${MED[geofw]} / ${MED[nft]}")
R_IPSET=$(calc "printf \"%.3f\", ${MED[geofw]} / ${MED[ipset]}")
R_LPM=$(calc "printf \"%.3f\", ${MED[geofw]} / ${MED[lpm]}")
R_MEM=$(calc "printf \"%.3f\", ${MED[mem]} / ${MED[xdp]}")
# Issue 17's targets.
P_XDP=$(calc "print ($R_XDP >= 0.75) ? \"true\" : \"false\"")
P_NFT=$(calc "print ($R_NFT >= 10) ? \"true\" : \"false\"")
P_IPSET=$(calc "print ($R_IPSET >= 10) ? \"true\" : \"false\"")
P_LPM=$(calc "print ($R_LPM >= 6) ? \"true\" : \"false\"")
R_2CPU=null R_2CPU_WALL=null P_2CPU=null R_2CPU_XDP=null R_2CPU_XDP_WALL=null
if [ -n "${SCALE_CORE[geofw]:-}" ]; then
	# shellcheck disable=SC2086
	{
		R_2CPU=$(median ${SCALE_CORE[geofw]})
		R_2CPU_WALL=$(median ${SCALE_WALL[geofw]})
		R_2CPU_XDP=$(median ${SCALE_CORE[xdp]})
		R_2CPU_XDP_WALL=$(median ${SCALE_WALL[xdp]})
	}
	P_2CPU=$(calc "print ($R_2CPU >= 1.8) ? \"true\" : \"false\"")
fi
verdict() { [ "$1" = true ] && echo PASS || echo MISS; }

printf '\n%-34s %8s %12s %17s\n' "receiver (median of $ROUNDS x ${SECONDS_EACH}s)" "Mpps" "of XDP_DROP" "ns over XDP_DROP"
RJSON='{}'
for r in $RECEIVERS; do
	# What the receiver adds per frame to the bare XDP_DROP path
	# (generator, veth, drop), independent of how cheap that path is.
	above=$(calc "printf \"%.0f\", 1000 / ${MED[$r]} - 1000 / ${MED[xdp]}")
	pct=$(calc "printf \"%.0f\", 100 * ${MED[$r]} / ${MED[xdp]}")
	printf '%-34s %8.3f %11s%% %17s\n' "${NAME[$r]}" "${MED[$r]}" "$pct" "$above"
	RJSON=$(echo "$RJSON" | jq -c --arg k "${KEY[$r]}" --arg name "${NAME[$r]}" \
		--argjson mpps "${MED[$r]}" --argjson above "$above" \
		--argjson rounds "$(arr "${RATES[$r]}")" --argjson wall "$(arr "${WALL[$r]}")" \
		--argjson share "$(arr "${SHARE[$r]}")" --argjson sent "${SENT[$r]}" --argjson dropped "${DROPPED[$r]}" \
		'.[$k] = {name: $name, mpps: $mpps, ns_over_xdp_drop: $above, rounds_mpps: $rounds,
			  rounds_mpps_wall: $wall, rounds_core_share: $share, sent: $sent, dropped: $dropped}')
done
echo "the XDP_DROP path costs $XDP_NS ns a frame (generate, transmit, receive, drop)"
printf '%-34s %8s  %s\n' "geofw / XDP_DROP" "$R_XDP" "$(verdict "$P_XDP") >= 0.75"
printf '%-34s %8s  %s\n' "geofw / nft ingress set" "$R_NFT" "$(verdict "$P_NFT") >= 10"
printf '%-34s %8s  %s\n' "geofw / ipset" "$R_IPSET" "$(verdict "$P_IPSET") >= 10"
printf '%-34s %8s  %s\n' "geofw / XDP + plain LPM trie" "$R_LPM" "$(verdict "$P_LPM") >= 6"
printf '%-34s %8s  %s\n' "reference F / XDP_DROP" "$R_MEM" "(no target: one cache miss's share of the path)"
[ "$R_2CPU" = null ] ||
	printf '%-34s %8s  %s (wall clock %s; bare XDP_DROP %s, wall %s)\n' \
		"geofw, two generator cores / one" "$R_2CPU" "$(verdict "$P_2CPU") >= 1.8" \
		"$R_2CPU_WALL" "$R_2CPU_XDP" "$R_2CPU_XDP_WALL"

[ -z "$JSON" ] || jq -n --argjson geo "$GEO" --arg countries "$BENCH_COUNTRIES" --arg ipt "$($IPT -V)" \
	--argjson rounds "$ROUNDS" --argjson seconds "$SECONDS_EACH" --argjson cpu "$GEN_CPU" \
	--argjson nft_load "$NFT_LOAD_S" --argjson ipset_load "$IPSET_LOAD_S" \
	--argjson rx "$RJSON" --argjson xdp_ns "$XDP_NS" \
	--argjson r_xdp "$R_XDP" --argjson r_nft "$R_NFT" --argjson r_ipset "$R_IPSET" \
	--argjson p_xdp "$P_XDP" --argjson p_nft "$P_NFT" --argjson p_ipset "$P_IPSET" \
	--argjson r_lpm "$R_LPM" --argjson p_lpm "$P_LPM" --argjson r_mem "$R_MEM" \
	--argjson r_2cpu "$R_2CPU" --argjson r_2cpu_wall "$R_2CPU_WALL" --argjson p_2cpu "$P_2CPU" \
	--argjson r_2cpu_xdp "$R_2CPU_XDP" --argjson r_2cpu_xdp_wall "$R_2CPU_XDP_WALL" \
	--argjson queues "$NQ" \
	'{countries: $countries, prefixes: $geo, rounds: $rounds, seconds_each: $seconds,
	  generator_cpu: $cpu, veth_queues: $queues, iptables: $ipt, set_load_s: {nft: $nft_load, ipset: $ipset_load},
	  rate_basis: "frames dropped per second of the generator core (its CPU time, softirq included)",
	  receivers: $rx,
	  mpps: ($rx | map_values(.mpps)),
	  ns_per_frame: ({xdp_drop_path: $xdp_ns} + ($rx | del(.xdp_drop) | map_values(.ns_over_xdp_drop))),
	  ratios: {geofw_vs_xdp_drop: $r_xdp, geofw_vs_nft: $r_nft, geofw_vs_ipset: $r_ipset,
		   geofw_vs_lpm: $r_lpm, memory_reference_vs_xdp_drop: $r_mem,
		   geofw_two_cpus_vs_one: $r_2cpu,
		   geofw_two_cpus_vs_one_wall: $r_2cpu_wall,
		   xdp_drop_two_cpus_vs_one: $r_2cpu_xdp,
		   xdp_drop_two_cpus_vs_one_wall: $r_2cpu_xdp_wall},
	  targets: {geofw_vs_xdp_drop: {min: 0.75, pass: $p_xdp},
		    geofw_vs_nft: {min: 10, pass: $p_nft},
		    geofw_vs_ipset: {min: 10, pass: $p_ipset},
		    geofw_vs_lpm: {min: 6, pass: $p_lpm},
		    geofw_two_cpus_vs_one: {min: 1.8, pass: $p_2cpu}}}' > "$JSON"
