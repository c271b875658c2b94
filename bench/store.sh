#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The rule store (rules.db) under load, against ipset and nftables in the
# same run:
#
#   bench/store.sh [--quick] [--count N] [--json FILE]
#
#   import    fwctl import of a COUNT-entry list vs ipset restore of the same
#             list into a hash:net set (interleaved, median of 3 each)
#   add       one fwctl add-block with COUNT rules in force vs ipset add into
#             the COUNT-entry hash:net set vs nft add element into the
#             COUNT-entry interval set (median of 30, 30 and 5, interleaved;
#             each a new process, as an operator or a script runs them)
#   storm     8 clients adding 10,000 rules in total, one request each
#             (tests/tools/ctlstorm): acknowledged changes per second
#   restart   geofwd killed with SIGKILL and started again over the pins
#             with COUNT rules: seconds until it answers (reconcile by diff)
#   size      rules.db (+ WAL) and geofwd's RSS with COUNT rules
#
# The state directory is on the disk of /tmp (a commit is an fsync there).
# COUNT is 1,000,000 (100,000 with --quick, which then checks no target).
set -eu
cd "$(dirname "$0")/.."
source bench/lib.sh

COUNT=1000000
ROUNDS=3
ADDS=30
NFT_ADDS=3	# ~40 s each with a 1M interval set
JSON=
while [ $# -gt 0 ]; do
	case $1 in
	--quick) COUNT=100000; ROUNDS=1; ADDS=10; NFT_ADDS=2 ;;
	--count) COUNT=$2; shift ;;
	--json) JSON=$2; shift ;;
	-h|--help) header_help "$0"; exit 0 ;;
	*) echo "store.sh: unknown argument $1" >&2; exit 2 ;;
	esac
	shift
done

bench_init store
STORM=$BUILD/tests/tools/ctlstorm
need "$BUILD/benchdata" "$BUILD/geofwd" "$BUILD/fwctl" "$STORM"

LIST=$BENCH_DIR/blocklist-$COUNT.txt
"$BUILD/benchdata" blocklist --count "$COUNT" --out "$LIST" || die "cannot generate the blocklist"
mkdir -p "$BENCH_DIR/empty"
: > "$BENCH_DIR/empty/$(basename "$LIST")"
{
	echo "create gfwb hash:net family inet hashsize 262144 maxelem $((COUNT * 2))"
	sed 's/^/add gfwb /' "$LIST"
} > "$BENCH_DIR/blocklist.ipset"
{
	echo "table ip gfwb {"
	echo "	set blocked { type ipv4_addr; flags interval; elements = {"
	sed 's/$/,/' "$LIST"
	echo "	} }"
	echo "}"
} > "$BENCH_DIR/blocklist.nft"
say "blocklist: $COUNT entries"

ns_add st
geofwd_conf "$BENCH_DIR/geofw.conf" "" none
geofwd_start st "$BENCH_DIR/geofw.conf" || die "geofwd did not start"

# ---- import vs ipset restore, interleaved ------------------------------------------
G=() I=()
for r in $(seq 1 "$ROUNDS"); do
	t0=$(now); fwctl import "$LIST" >/dev/null || die "fwctl import failed"; G+=("$(elapsed "$t0")")
	fwctl import --replace "$BENCH_DIR/empty/$(basename "$LIST")" >/dev/null || die "unimport failed"
	t0=$(now); in_ns st ipset restore -f "$BENCH_DIR/blocklist.ipset" || die "ipset restore failed"
	I+=("$(elapsed "$t0")")
	in_ns st ipset destroy gfwb
	say "round $r: fwctl import ${G[-1]} s, ipset restore ${I[-1]} s"
done
IMPORT_S=$(median "${G[@]}"); IPSET_S=$(median "${I[@]}")
IMPORT_RATIO=$(awk -v a="$IMPORT_S" -v b="$IPSET_S" 'BEGIN { printf "%.2f", a / b }')

# ---- one change with COUNT rules in force ------------------------------------------
fwctl import "$LIST" >/dev/null || die "fwctl import failed"
in_ns st ipset restore -f "$BENCH_DIR/blocklist.ipset" || die "ipset restore failed"
in_ns st nft -f "$BENCH_DIR/blocklist.nft" || die "nft -f failed"
IN_FORCE=$(fwctl -j status | jq '.rules.block_ip4 + .rules.block_net4')
[ "$IN_FORCE" = "$COUNT" ] || die "geofwd holds $IN_FORCE rules, not $COUNT"
A=() S=() N=()
for i in $(seq 1 "$ADDS"); do
	addr=192.0.2.$i
	t0=$(now); fwctl add-block "$addr" >/dev/null || die "add-block failed"; A+=("$(elapsed "$t0")")
	t0=$(now); in_ns st ipset add gfwb "$addr" || die "ipset add failed"; S+=("$(elapsed "$t0")")
	[ "$i" -le "$NFT_ADDS" ] || continue
	t0=$(now); in_ns st nft add element ip gfwb blocked "{ $addr }" || die "nft add element failed"
	N+=("$(elapsed "$t0")")
done
ADD_S=$(median "${A[@]}"); IPSET_ADD_S=$(median "${S[@]}"); NFT_ADD_S=$(median "${N[@]}")
ADD_RATIO=$(awk -v a="$ADD_S" -v b="$IPSET_ADD_S" 'BEGIN { printf "%.2f", a / b }')
say "add with $COUNT in force: fwctl $ADD_S s, ipset $IPSET_ADD_S s, nft $NFT_ADD_S s"
in_ns st nft delete table ip gfwb
in_ns st ipset destroy gfwb

# ---- 8 clients, 10,000 changes -------------------------------------------------------
out=$(in_net st "$STORM" --socket "$BENCH_DIR/geofwd.sock" --clients 8 --total 10000)
say "storm: $out"
STORM_ACKED=$(echo "$out" | awk '{ print $2 }')
STORM_RATE=$(echo "$out" | awk '{ sub("/s", "", $10); print $10 }')
[ "$STORM_ACKED" = 10000 ] || die "storm: only $STORM_ACKED of 10000 acknowledged"

# ---- size, RSS, restart --------------------------------------------------------------
DB_KB=$(du -k "$BENCH_DIR/state/rules.db" | awk '{ print $1 }')
WAL_KB=$( (du -k "$BENCH_DIR/state/rules.db-wal" 2>/dev/null || echo 0) | awk '{ print $1 }')
RSS_KB=$(awk '/^VmRSS:/ { print $2 }' "/proc/$GEOFWD_PID/status")
say "rules.db $DB_KB KiB (+ WAL $WAL_KB KiB), geofwd RSS $RSS_KB KiB"
kill -KILL "$GEOFWD_PID"; wait "$GEOFWD_PID" 2>/dev/null || true
BENCH_PIDS=()
t0=$(now)
geofwd_start st "$BENCH_DIR/geofw.conf" || die "geofwd did not start again"
READY_S=$(elapsed "$t0")
say "restart over the pins with $((COUNT + ADDS + 10000)) rules: ready in $READY_S s"
RSS2_KB=$(awk '/^VmRSS:/ { print $2 }' "/proc/$GEOFWD_PID/status")

Q=$([ "$COUNT" -ge 1000000 ] && echo true || echo false)
pass() { if [ "$Q" = true ]; then awk -v v="$1" -v l="$3" -v op="$2" 'BEGIN { print (op == "<=" ? v <= l : v >= l) ? "true" : "false" }'; else echo null; fi; }
printf '\n%-52s %12s  %s\n' "rule store ($COUNT rules)" "value" "target"
printf '%-52s %12s\n' "fwctl import (median of $ROUNDS)" "$IMPORT_S s"
printf '%-52s %12s\n' "ipset restore, the same list" "$IPSET_S s"
printf '%-52s %12s  %s\n' "  import / ipset restore" "$IMPORT_RATIO" "<= 0.5 ($(pass "$IMPORT_RATIO" "<=" 0.5))"
printf '%-52s %12s\n' "fwctl add-block, $COUNT in force (median of $ADDS)" "$ADD_S s"
printf '%-52s %12s\n' "ipset add into the $COUNT hash:net" "$IPSET_ADD_S s"
printf '%-52s %12s\n' "nft add element into the $COUNT interval set (of $NFT_ADDS)" "$NFT_ADD_S s"
printf '%-52s %12s  %s\n' "  add-block / ipset add" "$ADD_RATIO" "<= 2 ($(pass "$ADD_RATIO" "<=" 2))"
printf '%-52s %12s  %s\n' "8 clients, 10,000 add-block: acknowledged/s" "$STORM_RATE" ">= 2000 ($(pass "$STORM_RATE" ">=" 2000))"
printf '%-52s %12s\n' "rules.db (+ WAL)" "$((DB_KB / 1024)) (+$((WAL_KB / 1024))) MB"
printf '%-52s %12s\n' "geofwd RSS (after the changes; after a restart)" "$((RSS_KB / 1024)); $((RSS2_KB / 1024)) MB"
printf '%-52s %12s  %s\n' "restart after kill -9: ready" "$READY_S s" "<= 3 ($(pass "$READY_S" "<=" 3))"

[ -z "$JSON" ] || jq -n --argjson count "$COUNT" \
	--argjson imp "$IMPORT_S" --argjson ips "$IPSET_S" --argjson ir "$IMPORT_RATIO" \
	--argjson add "$ADD_S" --argjson ipa "$IPSET_ADD_S" --argjson nfa "$NFT_ADD_S" \
	--argjson ar "$ADD_RATIO" --argjson rate "$STORM_RATE" --argjson db "$DB_KB" \
	--argjson wal "$WAL_KB" --argjson rss "$RSS_KB" --argjson rss2 "$RSS2_KB" \
	--argjson ready "$READY_S" \
	'{rules: $count, import_s: $imp, ipset_restore_s: $ips, import_vs_ipset: $ir,
	  add_block_s: $add, ipset_add_s: $ipa, nft_add_element_s: $nfa, add_vs_ipset: $ar,
	  storm_acked_per_s: $rate, db_kb: $db, wal_kb: $wal, geofwd_rss_kb: $rss,
	  geofwd_rss_restart_kb: $rss2, restart_ready_s: $ready}' > "$JSON"
