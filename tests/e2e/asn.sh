#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# AS rules in the namespace lab (tests/lib/lab.sh) with the fixture ASN
# database (tests/fixtures/mkmmdb.pl: c1 192.0.2.0/24 AS64500, c2
# 198.51.100.0/24 AS64502, c3 203.0.113.0/24 AS64503, the country-blocked
# client): a blocked AS's traffic drops, an allowed AS passes its country
# block, a new database that moves c2's prefix into a blocked AS takes
# effect when the file is replaced while a blocked client's packets keep
# being dropped (none leaks across the switch), a bad replacement keeps the
# tables in force, and AS rules without a database fail --check-config.
# Runtime AS rules (fwctl block-asn/allow-asn, the rule store): they drop
# and pass traffic, expire by themselves (--ttl), join geofw.conf's rules
# with the precedence of prefix rules, survive a restart, are listed and
# exported, the 255th AS is refused, and without ASNDatabase they are kept
# and reported as not enforced.
set -u
cd "$(dirname "$0")/../.." || exit 2
source tests/lib/lab.sh

PY=/usr/bin/python3

# put SRC DST: the way geoipupdate replaces a file (rename into place).
put() { cp "$1" "$2.tmp" && mv -f "$2.tmp" "$2"; }
# asn_config LINE...: the lab configuration with these lines added.
asn_config() { lab_config "$(printf '%s\n' "$@")"; }
log_has() { grep -q -- "$1" "$LAB_DIR/geofwd.log"; }
log_count() { grep -c -- "$1" "$LAB_DIR/geofwd.log"; }
replaced_after() { [ "$(log_count "asn (ASN database file replaced)")" -gt "$1" ]; }
# asn_blocked AS: packets of AS blocked, summed over CPUs, read with bpftool.
asn_blocked() {
	bpftool -j map dump pinned "$LAB_PIN/gfw_cnt_asn" 2>/dev/null | "$PY" -c '
import json, sys
want = int(sys.argv[1]); total = 0
for e in json.load(sys.stdin):
    f = e.get("formatted", e)
    if int(f["key"]) == want:
        total += sum(v["value"]["blocked"] for v in f["values"])
print(total)' "$1"
}

lab_up || { not_ok lab_up "cannot build the lab"; exit 1; }
ASN=$LAB_DIR/asn
mkdir -p "$ASN"
put "$LAB_DIR/lab-asn.mmdb" "$ASN/asn.mmdb"

# --- AS rules need a database -------------------------------------------------------
asn_config "BlockASN = AS64500"
out=$("$BUILD/geofwd" -c "$LAB_DIR/geofw.conf" --check-config 2>&1)
expect_eq no_db/check_config_fails "$?" 1
expect_match no_db/check_config_says_why "$out" "BlockASN or AllowASN is set but ASNDatabase = none"
asn_config "ASNDatabase = $LAB_DIR/lab.mmdb" "BlockASN = AS64500"
out=$("$BUILD/geofwd" -c "$LAB_DIR/geofw.conf" --check-config 2>&1)
expect_eq country_db/check_config_fails "$?" 1
expect_match country_db/says_why "$out" "no network has an AS number"

# --- block an AS, allow an AS past its country block --------------------------------
asn_config "ASNDatabase = $ASN/asn.mmdb" "BlockASN = AS64500 AS64501" "AllowASN = 64503" \
	"MetricsListen = 127.0.0.1:9748"
check check_config "$BUILD/geofwd" -c "$LAB_DIR/geofw.conf" --check-config
geofwd_start || { not_ok geofwd_start "geofwd did not start"; exit 1; }
ok geofwd_start
check_fails block/c1_as64500_dropped reach c1 192.0.2.1
check_fails block/c1_v6_dropped reach c1 2001:db8:1::1
check block/c2_other_as_passes reach c2 198.51.100.1
expect_match status/asn_line "$(fwctl status)" "asn: .*asn.mmdb: 3 ASes with rules, 4 IPv4 \+ 74 IPv6 prefixes"
check allow/c3_allowed_as_passes_country_block reach c3 203.0.113.1
check allow/c3_v6 reach c3 2001:db8:3::1
n=$(asn_blocked 64500)
if [ "${n:-0}" -ge 2 ]; then ok block/counter_bpftool; else not_ok block/counter_bpftool "gfw_cnt_asn[64500].blocked = '$n'"; fi
expect_match stats/text "$(fwctl stats)" "AS64500 +[1-9][0-9]* +0 +0"
expect_match stats/allowed_as "$(fwctl stats)" "AS64503 +0 +[1-9][0-9]* +0"
n=$(fwctl -j stats | "$PY" -c 'import json, sys; print([a["blocked"] for a in json.load(sys.stdin)["ases"] if a["asn"] == 64500][0])')
if [ "${n:-0}" -ge 2 ]; then ok stats/json; else not_ok stats/json "ases[64500].blocked = '$n'"; fi
expect_match metrics/asn_packets "$(in_ns srv curl -sf --max-time 5 http://127.0.0.1:9748/metrics)" \
	'geofw_asn_packets_total\{asn="64500",verdict="blocked"\} [1-9]'
out=$(fwctl asn verify --db "$ASN/asn.mmdb" --samples 20000)
expect_eq asn_verify/exit_0 "$?" 0
expect_match asn_verify/no_mismatch "$out" "mismatches: 0"
expect_match asn_verify/ases "$out" "ASes with rules: 3"
out=$(fwctl asn show AS64501 --db "$ASN/asn.mmdb")
expect_match asn_show/counts "$out" "^AS64501 in .*: 1 IPv4 prefixes \(64 addresses\), 1 IPv6 prefixes"
expect_match asn_show/rule "$out" "rule in force: block, drop"
expect_match asn_show/prefix "$out" "203.0.113.64/26"
expect_match asn_show/prefix6 "$out" "2001:db8:3::100/120"
check_fails asn_show/bad_as fwctl asn show AS0 --db "$ASN/asn.mmdb"
expect_match lookup/blocked_as "$(fwctl lookup 192.0.2.2)" "^192.0.2.2: drop \(blocked AS64500"
expect_match lookup/allowed_as "$(fwctl lookup 2001:db8:3::2)" "^2001:db8:3::2: pass \(allowed AS64503"
expect_eq lookup/json_as_rule "$(fwctl -j lookup 192.0.2.2 | "$PY" -c 'import json, sys; print(json.load(sys.stdin)["as_rule"])')" 64500

# --- the file replaced: c2's prefix moves to AS64501 (blocked) ------------------------
# c1 (AS64500 in both databases) pings all along: not one reply may come back.
in_ns c1 ping -i 0.01 -c 400 -W 1 -q 192.0.2.1 >"$LAB_DIR/ping-c1.txt" 2>&1 &
PING=$!
LAB_PIDS+=("$PING")
sleep 0.5
before=$(log_count "asn (ASN database file replaced)")
put "$LAB_DIR/lab-asn2.mmdb" "$ASN/asn.mmdb"
if wait_for 10 replaced_after "$before"; then
	ok reload/file_replaced_loaded
else
	not_ok reload/file_replaced_loaded "$(tail -3 "$LAB_DIR/geofwd.log")"
fi
check_fails reload/c2_moved_to_blocked_as reach c2 198.51.100.1
check_fails reload/c2_v6_moved reach c2 2001:db8:2::1
wait "$PING"
expect_match reload/no_packet_leaked "$(cat "$LAB_DIR/ping-c1.txt")" " 0 received"

# --- a bad replacement keeps the tables in force -------------------------------------
put "$LAB_DIR/lab.mmdb" "$ASN/asn.mmdb"
if wait_for 10 log_has "no network has an AS number"; then ok bad/refused; else not_ok bad/refused "$(tail -3 "$LAB_DIR/geofwd.log")"; fi
expect_match bad/status_says_so "$(fwctl status)" "asn: last error: load failed: .*no network has an AS number.*the previous ASN tables stay in force"
check_fails bad/c2_still_blocked reach c2 198.51.100.1
check bad/c3_still_allowed reach c3 203.0.113.1
check_fails bad/fwctl_reload_fails fwctl reload
check_fails bad/c1_still_blocked reach c1 192.0.2.1

# --- fwctl reload with new lists --------------------------------------------------------
put "$LAB_DIR/lab-asn.mmdb" "$ASN/asn.mmdb"
asn_config "ASNDatabase = $ASN/asn.mmdb" "BlockASN = AS64502"
check reload/fwctl_reload fwctl reload
check reload/c1_unblocked reach c1 192.0.2.1
check_fails reload/c2_blocked reach c2 198.51.100.1
check_fails reload/c3_country_block_again reach c3 203.0.113.1
asn_config "ASNDatabase = $ASN/asn.mmdb"
check reload/no_rules fwctl reload
check reload/c2_passes_without_rules reach c2 198.51.100.1

# --- runtime AS rules: fwctl, the rule store -------------------------------------------
METRICS="MetricsListen = 127.0.0.1:9748"
asn_config "ASNDatabase = $ASN/asn.mmdb" "$METRICS"
check runtime/reload fwctl reload
# asn_rows: the runtime AS rows listed as JSON, one "TYPE ASN SOURCE ACTION" a line.
asn_rows() {
	fwctl -j list asns | "$PY" -c '
import json, sys
for r in json.load(sys.stdin):
    print(r["type"], r["asn"], r["source"], r.get("action", "-"), r.get("expires", 0) > 0, r["comment"])'
}
check runtime/block_asn fwctl block-asn AS64500 --comment "lab scanner"
check_fails runtime/c1_dropped reach c1 192.0.2.1
check_fails runtime/c1_v6_dropped reach c1 2001:db8:1::1
check runtime/c2_passes reach c2 198.51.100.1
out=$(fwctl list asns)
expect_match runtime/list "$out" "^block-asn AS64500 +drop +cli"
expect_match runtime/list_comment "$out" "# lab scanner"
expect_match runtime/list_json "$(asn_rows)" "^block-asn 64500 cli drop False lab scanner$"
expect_match runtime/list_source "$(fwctl list --source cli)" "block-asn AS64500"
expect_eq runtime/list_other_source "$(fwctl list asns --source crowdsec)" ""
expect_match runtime/export "$(fwctl export)" "#asn block AS64500 source=cli action=drop comment=lab scanner"
expect_match runtime/lookup "$(fwctl lookup 192.0.2.2)" "^192.0.2.2: drop \(blocked AS64500"
expect_match runtime/lookup_asn_db "$(fwctl lookup 192.0.2.2 --asn-db "$LAB_DIR/lab-asn2.mmdb")" "AS64500"
check_fails runtime/lookup_asn_db_bad fwctl lookup 192.0.2.2 --asn-db ""

# allow-asn overrides a country block, and wins over a block of the AS
check_fails runtime/c3_country_blocked reach c3 203.0.113.1
out=$(fwctl -j allow-asn AS64503 --comment crawler)
expect_eq runtime/allow_asn_json "$("$PY" -c 'import json, sys; a = json.load(sys.stdin); print(a["ok"], a["what"], a["count"], a["enforced"])' <<<"$out")" "True allowed-asn 1 True"
check runtime/c3_allowed_past_country reach c3 203.0.113.1
check runtime/block_allowed_as fwctl block-asn AS64503 --action reject
check runtime/allow_wins_over_block reach c3 203.0.113.1
check runtime/del_allow_asn fwctl del-allow-asn AS64503
check_fails runtime/c3_blocked_by_as reach c3 203.0.113.1
check runtime/unblock_c3 fwctl unblock-asn AS64503
out=$(fwctl del-allow-asn AS64503 2>&1)
expect_eq runtime/del_allow_missing_exit "$?" 1
expect_match runtime/del_allow_missing_says "$out" "AS64503 is not allowed by a runtime rule"

# unblock-asn restores
check runtime/unblock_asn fwctl unblock-asn AS64500
check runtime/c1_passes_again reach c1 192.0.2.1
out=$(fwctl unblock-asn AS64500 2>&1)
expect_eq runtime/unblock_missing_exit "$?" 1
expect_match runtime/unblock_missing_says "$out" "AS64500 is not blocked by a runtime rule"

# --ttl: the kernel stops matching at expiry, the sweep removes the row and
# rebuilds the tables (late by at most ~1 s + the rebuild: design notes).
t0=$(date +%s.%N)
check ttl/block fwctl block-asn 64502 --ttl 2s
check_fails ttl/c2_dropped reach c2 198.51.100.1
if wait_for 6 reach c2 198.51.100.1; then
	ok ttl/expired_passes_again
	echo "# c2 passes again $(echo "$(date +%s.%N) - $t0" | bc) s after block-asn --ttl 2s"
else
	not_ok ttl/expired_passes_again "c2 still dropped 6 s after a 2 s TTL"
fi
no_row() { ! fwctl list asns | grep -q "AS$1"; }
if wait_for 5 no_row 64502; then ok ttl/row_swept; else not_ok ttl/row_swept "$(fwctl list asns)"; fi
if wait_for 5 log_has "asn (expiry)"; then ok ttl/tables_rebuilt; else not_ok ttl/tables_rebuilt "$(tail -3 "$LAB_DIR/geofwd.log")"; fi

# --- the store keeps them across a restart -----------------------------------------------
check restart/block fwctl block-asn AS64500 --action reject --ttl 1h --comment kept
# AS64499 sorts first and has a port-scoped rule only (a class without an
# AS rule): the AS rules after it are still read from the pins.
check restart/port_only_as fwctl block-asn AS64499 --ports 22/tcp
expect_match restart/asn_show_after_port_only "$(fwctl asn show AS64500 --db "$ASN/asn.mmdb")" \
	"rule in force: block, reject \(expires\)"
expect_match restart/asn_verify_after_port_only "$(fwctl asn verify --db "$ASN/asn.mmdb" --samples 2000 2>&1)" \
	"ASes with rules: 2,"
geofwd_stop
check_fails restart/pins_enforce_while_stopped reach c1 192.0.2.1
expect_match restart/list_from_pins "$(fwctl list asns 2>/dev/null)" "^block-asn AS64500 +reject +expires in"
expect_eq restart/port_only_not_listed_as_asn_rule "$(fwctl list asns 2>/dev/null | grep -c AS64499)" 0
expect_eq restart/list_from_pins_json "$(fwctl -j list 2>/dev/null | "$PY" -c 'import json, sys; print([(r["asn"], r["action"], r["source"]) for r in json.load(sys.stdin) if r["type"] == "block-asn"])')" "[(64500, 'reject', None)]"
geofwd_start || { not_ok restart/geofwd_start "geofwd did not start"; exit 1; }
check_fails restart/c1_still_dropped reach c1 192.0.2.1
check restart/port_only_unblock fwctl unblock-asn AS64499 --ports 22/tcp
expect_match restart/list "$(asn_rows)" "^block-asn 64500 cli reject True kept$"
expect_match restart/status "$(fwctl status)" "AS rules: 1 blocked \+ 0 allowed ASes in force \(of at most 254\)"

# --- union with geofw.conf ------------------------------------------------------------------
asn_config "ASNDatabase = $ASN/asn.mmdb" "BlockASN = AS64500" "ASNAction = log" "$METRICS"
check config/reload fwctl reload
out=$(fwctl list asns)
expect_match config/listed_as_config "$out" "^block-asn AS64500 +log +config"
expect_match config/runtime_listed "$out" "block-asn AS64500 +reject +expires in [0-9]+m[0-9]+s +cli"
expect_match config/strictest_wins "$(fwctl lookup 192.0.2.2)" "reject \(blocked AS64500"
check config/unblock_runtime fwctl unblock-asn AS64500
expect_match config/config_rule_left "$(fwctl lookup 192.0.2.2)" "logged AS64500"
out=$(fwctl unblock-asn AS64500 2>&1)
expect_eq config/config_rule_not_removable "$?" 1
# An expiring runtime drop over geofw.conf's log: the drop wins while it
# lasts, the log takes over once it expired (the kernel's class stops
# matching at expiry, the sweep's rebuild brings the log rule in).
check config/drop_over_log fwctl block-asn AS64500 --ttl 2s
expect_match config/drop_wins "$(fwctl lookup 192.0.2.2)" "drop \(blocked AS64500"
expiry=$("$PY" -c 'import json, sys; print([r["expires"] for r in json.load(sys.stdin) if r["source"] == "cli"][0])' <<<"$(fwctl -j list asns)")
logged_64500() { fwctl lookup 192.0.2.2 | grep -q "logged AS64500"; }
if wait_for 6 logged_64500; then
	ok config/log_takes_over_after_expiry
	# wait_for polls every 0.2 s: the figure is at most that much late.
	echo "# the log rule took over $(echo "$(date +%s.%N) - $expiry" | bc) s after the drop's expiry"
else
	not_ok config/log_takes_over_after_expiry "$(fwctl lookup 192.0.2.2)"
fi
check config/c1_log_passes reach c1 192.0.2.1

# --- at most 254 ASes (one byte of class id), geofw.conf's included ------------------------
check limit/253_more fwctl block-asn $(seq 65000 65252)
expect_eq limit/status_json "$(fwctl -j status | "$PY" -c 'import json, sys; a = json.load(sys.stdin)["asn_rules"]; print(a["ases"], a["blocked_in_force"], a["enforced"])')" "254 254 True"
out=$(fwctl block-asn 65300 2>&1)
expect_eq limit/255th_refused "$?" 1
expect_match limit/names_the_limit "$out" "at most 254 ASes can have rules .*this would make 255: nothing changed"
expect_eq limit/rolled_back "$(fwctl list asns --source cli | grep -c '^block-asn')" 253
check limit/c1_still_logged reach c1 192.0.2.1
check limit/unblock fwctl unblock-asn $(seq 65000 65252)

# --- a change while the database file is bad: refused, rolled back ------------------------
count_bad() { [ "$(log_count "no network has an AS number")" -gt "$1" ]; }
before=$(log_count "no network has an AS number")
put "$LAB_DIR/lab.mmdb" "$ASN/asn.mmdb"
wait_for 10 count_bad "$before"
out=$(fwctl block-asn AS64502 2>&1)
expect_eq baddb/block_refused "$?" 1
expect_match baddb/says_why "$out" "no network has an AS number"
expect_eq baddb/row_rolled_back "$(fwctl list asns --source cli)" ""
check baddb/c2_not_blocked reach c2 198.51.100.1
expect_match baddb/tables_in_force_stay "$(fwctl lookup 192.0.2.2)" "logged AS64500"
before=$(log_count "asn (ASN database file replaced)")
put "$LAB_DIR/lab-asn.mmdb" "$ASN/asn.mmdb"
wait_for 10 replaced_after "$before"
check baddb/block_after_repair fwctl block-asn AS64502
check_fails baddb/c2_blocked reach c2 198.51.100.1
check baddb/del_source fwctl del-source cli
check baddb/c2_passes_after_del_source reach c2 198.51.100.1

# --- no ASNDatabase: kept, reported, not enforced -------------------------------------------
asn_config "$METRICS"
check nodb/reload fwctl reload
out=$(fwctl block-asn AS64502 2>&1)
expect_eq nodb/block_exit_1 "$?" 1
expect_match nodb/block_says "$out" "ok: blocked-asn 1 \(stored, NOT enforced: no ASNDatabase in"
out=$(fwctl -j block-asn AS64501)
expect_eq nodb/block_json_exit_1 "$?" 1
expect_match nodb/block_json "$("$PY" -c 'import json, sys; a = json.load(sys.stdin); print(a["ok"], a["enforced"], a["reason"])' <<<"$out")" "^True False no ASNDatabase in .*\(2 AS rules stored\)"
out=$(fwctl status)
expect_eq nodb/status_exit_1 "$?" 1
expect_match nodb/status_first_line "$(echo "$out" | head -1)" "^AS rules: NOT enforced: no ASNDatabase in .*2 AS rules stored"
expect_eq nodb/status_json "$(fwctl -j status | "$PY" -c 'import json, sys; a = json.load(sys.stdin)["asn_rules"]; print(a["configured"], a["enforced"])')" "True False"
expect_match nodb/metrics "$(in_ns srv curl -sf --max-time 5 http://127.0.0.1:9748/metrics)" "geofw_asn_rules_enforced 0"
check nodb/unblock fwctl unblock-asn AS64502 AS64501
check nodb/status_ok fwctl status

[ "$T_FAILED" -eq 0 ]
