#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Reliability of geofwd in the namespace lab (tests/lib/lab.sh), with real
# traffic counted by nftables: in srv's prerouting at priority -300 (what
# got past XDP) and in the clients' output (what was sent).
#
#   reload/    100 GeoIP reloads (two databases renamed into place in turn,
#              fwctl reload and SIGHUP; inotify alone once more) under a UDP
#              flood from the blocked country: not one of its packets reaches
#              srv, every one is judged country_block, allowed traffic all
#              arrives, and the reloads really happened (generation, log).
#   kill9/     kill -9 in the middle of a reload and of a burst of add-blocks
#              with concurrent allows, port-scoped blocks and AS blocks (plain
#              and on a port): enforcement never stops, acknowledged rules
#              survive.
#   badconf/   a config with a syntax error on SIGHUP is refused and logged;
#              the policy in force stays; the next good one applies.
#   geoip/     the database deleted, replaced with garbage, truncated: each
#              refused, the previous tables stay, status shows the error.
#   state/     the state directory full (a small tmpfs): add-block and
#              del-block fail with a clear error and change nothing; then
#              read-only when geofwd starts: its rules are enforced, a change
#              is refused; once writable again the next change applies.
#   acked/     every rule acknowledged "ok" is listed and enforced after
#              all of the above and one more kill -9.
#   asan/      geofwd and fwctl built with ASan+UBSan (make asan) through a
#              start - add-block - reload - list - stop cycle: no report.
#   valgrind/  geofwd under memcheck through start - reload - stop: no error,
#              nothing definitely or indirectly lost.
#
# Usage: BUILD=build bash tests/e2e/reliability.sh   (from the repo root, root)
#   SECTIONS="reload faults asan valgrind"   the parts to run (default all)
#   ASAN_BUILD=DIR   use the sanitizer binaries in DIR as they are; by default
#                    build-asan/, made with `make asan` when missing or older
#                    than a source file
#   RELOADS=N        reloads under flood (default 100)
set -u
cd "$(dirname "$0")/../.." || exit 2
source tests/lib/lab.sh

FLOOD=$BUILD/tests/tools/udpflood
ASAN_GIVEN=${ASAN_BUILD:+yes}
ASAN_BUILD=${ASAN_BUILD:-build-asan}
RELOADS=${RELOADS:-100}
SECTIONS=${SECTIONS:-reload faults asan valgrind}
T0=$SECONDS

[ -x "$FLOOD" ] || { not_ok setup/udpflood "$FLOOD missing: make build-tests"; exit 1; }

# ---- helpers -------------------------------------------------------------------------

# jstatus KEY...: a field of `fwctl -j status`, e.g. jstatus geoip generation.
jstatus() {
	fwctl -j status 2>/dev/null | python3 -c 'import json, sys
d = json.load(sys.stdin)
for k in sys.argv[1:]:
    d = d[k]
print(d)' "$@" 2>/dev/null
}

# reason NAME: packets of one reason counter (summed by fwctl from the maps).
reason() {
	fwctl -j stats 2>/dev/null | python3 -c 'import json, sys
print(next(e["packets"] for e in json.load(sys.stdin)["reasons"] if e["reason"] == sys.argv[1]))' \
		"$1" 2>/dev/null
}

# wait_for SECONDS CMD...: poll CMD every 0.05 s until it succeeds.
wait_for() {
	local deadline=$((SECONDS + $1))
	shift
	until "$@"; do
		[ $SECONDS -ge "$deadline" ] && return 1
		sleep 0.05
	done
}

gt() { [ "$1" -gt "$2" ] 2>/dev/null; }
ge() { [ "$1" -ge "$2" ] 2>/dev/null; }

# Conditions for wait_for, against the values saved in ok0, failed0, gen.
ok_grew() { gt "$(jstatus daemon reloads_ok)" "$ok0"; }
failed_grew() { gt "$(jstatus daemon reloads_failed)" "$failed0"; }
gen_grew() { gt "$(jstatus geoip generation)" "$gen"; }
running() { fwctl status 2>/dev/null | grep -q '^geofwd: running'; }

log_count() { grep -cE "$1" "$LAB_DIR/geofwd.log"; }

# counter NS NAME: packets of a named nft counter of table inet gfwrel.
counter() {
	in_ns "$1" nft list counter inet gfwrel "$2" 2>/dev/null |
		sed -n 's/.*packets \([0-9]*\).*/\1/p'
}

# flood CLIENT ADDR COUNT RATE: udpflood to ADDR port 9 in the background,
# its count in $LAB_DIR/flood-CLIENT.out.  Not through in_ns: $! must be the
# flood itself (ip netns exec execs), or kill would only hit a subshell.
flood() {
	ip netns exec "$(ns "$1")" "$FLOOD" "$2" 9 "$3" "$4" >"$LAB_DIR/flood-$1.out" 2>&1 &
	FLOOD_PID=$!
	LAB_PIDS+=("$FLOOD_PID")
}

# put_db SRC: rename a copy of SRC into place, as geoipupdate does.
put_db() {
	cp "$1" "$LAB_DIR/.lab.mmdb.new" && mv -f "$LAB_DIR/.lab.mmdb.new" "$LAB_DIR/lab.mmdb"
}

# c3 (RU, http403) is refused: no answer to ping, the 403 page on port 80.
c3_blocked() {
	! reach c3 203.0.113.1 && [[ $(http c3 http://203.0.113.1/) == "403 "* ]]
}

# Rules acknowledged with "ok": each must survive everything that follows.
ACKED=()
# ack_block NAME CIDR [ARGS]: an add-block that must be acknowledged.
ack_block() {
	local name=$1 cidr=$2 out
	shift 2
	if out=$(fwctl add-block "$cidr" "$@" 2>&1) && [[ $out == ok* ]]; then
		ACKED+=("$cidr")
		ok "$name"
	else
		not_ok "$name" "add-block $cidr: $out"
	fi
}

# copy_bins FROM TO [MORE FILES]: geofwd and fwctl of FROM into TO, and
# working (a copy taken while the linker writes them would not run).
copy_bins() {
	local from=$1 to=$2 _
	shift 2
	mkdir -p "$to"
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		if cp "$from/geofwd" "$from/fwctl" "$@" "$to/" 2>/dev/null &&
		   "$to/geofwd" --version >/dev/null 2>&1 && "$to/fwctl" --version >/dev/null 2>&1; then
			return 0
		fi
		sleep 1
	done
	return 1
}

daemon_up() { running || geofwd_start; }
daemon_down() { if running; then geofwd_stop; fi; }

STATE_MNT=
rel_on_exit() {
	local status=$?
	[ -n "$STATE_MNT" ] && mountpoint -q "$STATE_MNT" && umount -l "$STATE_MNT"
	lab_cleanup
	exit $status
}

# ---- the lab, with its state directory on a small tmpfs of its own -------------------

setup() {
	lab_up || { not_ok setup/lab_up "cannot build the lab"; exit 1; }
	trap rel_on_exit EXIT
	# In the host's mount namespace, where geofwd runs; unmounted on exit.
	STATE_MNT=$LAB_DIR/state
	mount -t tmpfs -o size=8m,mode=0750 gfwtest-state "$STATE_MNT" ||
		{ not_ok setup/state_tmpfs "cannot mount a tmpfs on $STATE_MNT"; exit 1; }
	# An ASN database, so the kill -9 burst can write AS rules too.
	lab_config "ASNDatabase = $LAB_DIR/lab-asn.mmdb"
	cp "$LAB_DIR/lab.mmdb" "$LAB_DIR/db-a.mmdb"
	cp "$LAB_DIR/lab2.mmdb" "$LAB_DIR/db-b.mmdb"
	# The binaries under test, copied: a rebuild during the run must not
	# swap them (or make them unreadable) halfway.
	copy_bins "$BUILD" "$LAB_DIR/bin" "$FLOOD" ||
		{ not_ok setup/binaries "cannot copy working binaries from $BUILD"; exit 1; }
	BUILD=$LAB_DIR/bin
	FLOOD=$BUILD/udpflood
	in_ns srv nft -f - <<-'EOF'
	table inet gfwrel {
		counter c2_in {}
		counter c3_in {}
		chain pre {
			type filter hook prerouting priority -300;
			ip saddr 198.51.100.2 udp dport 9 counter name c2_in
			ip saddr 203.0.113.2 udp dport 9 counter name c3_in
			ip6 saddr 2001:db8:3::2 udp dport 9 counter name c3_in
		}
	}
	EOF
	for c in c2 c3; do
		in_ns "$c" nft -f - <<-'EOF'
		table inet gfwrel {
			counter sent {}
			chain out {
				type filter hook output priority 0;
				udp dport 9 counter name sent
			}
		}
		EOF
	done
	geofwd_start || { not_ok setup/geofwd_start "geofwd did not start"; exit 1; }
	ok setup/geofwd_start
	check setup/allowed_reaches reach c2 198.51.100.1
	check setup/blocked_country_refused c3_blocked
}

# ---- 1. reloads under flood -------------------------------------------------------------

section_reload() {
	local gen0 gen1 reloads0 reloads1 logged0 cb0 cb1 flood2 flood3 i t out hups=0 fails=0
	local running2=no running3=no sent2 sent3 in2 in3

	daemon_up || return
	gen0=$(jstatus geoip generation)
	reloads0=$(jstatus daemon reloads_ok)
	cb0=$(reason country_block)
	logged0=$(log_count 'geoip \((fwctl reload|SIGHUP)\): .*lab\.mmdb')
	# Bounded floods, longer than the reloads can take, stopped once they
	# are done; the clients' nft counters say what was sent.
	# (300 s: 100 reloads took 105 s with the 2 CPUs shared by other suites)
	flood c3 203.0.113.1 3000000 10000
	flood3=$FLOOD_PID
	flood c2 198.51.100.1 600000 2000
	flood2=$FLOOD_PID
	sleep 0.3
	t=$SECONDS
	for i in $(seq 1 "$RELOADS"); do
		if ((i % 2)); then put_db "$LAB_DIR/db-b.mmdb"; else put_db "$LAB_DIR/db-a.mmdb"; fi
		if ((i % 10 == 0)); then
			# SIGHUP answers nobody: wait until its reload is counted.
			ok0=$(jstatus daemon reloads_ok)
			kill -HUP "$GEOFWD_PID"
			hups=$((hups + 1))
			if ! wait_for 5 ok_grew; then
				fails=$((fails + 1))
				echo "reload $i (SIGHUP): not counted within 5 s" >>"$LAB_DIR/reload-fails"
			fi
		elif ! out=$(fwctl reload 2>&1); then
			fails=$((fails + 1))
			echo "reload $i: $out" >>"$LAB_DIR/reload-fails"
		fi
	done
	t=$((SECONDS - t))
	kill -0 "$flood3" 2>/dev/null && running3=yes
	kill -0 "$flood2" 2>/dev/null && running2=yes
	sleep 0.3
	kill "$flood3" "$flood2" 2>/dev/null
	wait "$flood3" "$flood2" 2>/dev/null
	sleep 0.5	# the last packets in flight
	gen1=$(jstatus geoip generation)
	reloads1=$(jstatus daemon reloads_ok)
	sent3=$(counter c3 sent) in3=$(counter srv c3_in)
	sent2=$(counter c2 sent) in2=$(counter srv c2_in)
	cb1=$(reason country_block)
	echo "# $RELOADS reloads ($hups by SIGHUP) in ${t}s; c3 sent $sent3, c2 sent $sent2;" \
		"geo generation $gen0 -> $gen1"
	expect_eq reload/all_accepted "$fails" 0
	[ "$fails" -gt 0 ] && head -5 "$LAB_DIR/reload-fails" | sed 's/^/# /'
	check reload/counted ge "$((reloads1 - reloads0))" "$RELOADS"
	check reload/generation_advanced ge "$((gen1 - gen0))" "$RELOADS"
	check reload/logged ge "$(($(log_count 'geoip \((fwctl reload|SIGHUP)\): .*lab\.mmdb') - logged0))" \
		"$RELOADS"
	expect_eq reload/floods_outlasted_reloads "$running3 $running2" "yes yes"
	check reload/blocked_flood_sent gt "$sent3" 10000
	expect_eq reload/blocked_zero_reached_srv "$in3" 0
	# Every packet of the flood was judged with country data in force.
	check reload/blocked_all_judged_country_block ge "$((cb1 - cb0))" "$sent3"
	check reload/allowed_flood_sent gt "$sent2" 1000
	expect_eq reload/allowed_all_arrived "$in2" "$sent2"
	check reload/still_blocked c3_blocked
	check reload/still_allowed reach c2 198.51.100.1

	# geoipupdate's way alone: a file renamed into place, no signal, no fwctl.
	gen=$(jstatus geoip generation)
	put_db "$LAB_DIR/db-a.mmdb"
	check reload/inotify_rename wait_for 3 gen_grew
	expect_match reload/inotify_logged "$(tail -3 "$LAB_DIR/geofwd.log")" \
		"geoip \(database file replaced\): .*lab\.mmdb"
}

# ---- 2. faults ------------------------------------------------------------------------------

fault_kill9_reload() {
	local n reloader deadline last out

	ack_block kill9/rule_block 192.0.2.50 --comment "before kill -9"
	if out=$(fwctl allow 203.0.113.99 --comment "partner" 2>&1); then ok kill9/rule_allow; else
		not_ok kill9/rule_allow "$out"; fi
	in_ns srv nft reset counters table inet gfwrel >/dev/null
	flood c3 203.0.113.1 20000 5000
	sleep 0.5
	n=$(log_count ': reload$')
	fwctl reload >/dev/null 2>&1 &
	reloader=$!
	# No sleep between polls: a reload of the lab database takes ~0.1 s.
	deadline=$((SECONDS + 5))
	until [ "$(log_count ': reload$')" -gt "$n" ] || [ $SECONDS -ge $deadline ]; do :; done
	geofwd_kill9
	wait "$reloader" 2>/dev/null
	# The request is the last line: the kill came before the reload ended.
	last=$(grep -v '^ *$' "$LAB_DIR/geofwd.log" | tail -1)
	expect_match kill9/killed_mid_reload "$last" ": reload$"
	check_fails kill9/blocked_while_down reach c3 203.0.113.1
	check kill9/allowed_while_down reach c2 198.51.100.1
	if geofwd_start; then ok kill9/restart; else not_ok kill9/restart "geofwd did not come back"; fi
	wait "$FLOOD_PID"
	expect_eq kill9/flood_sent "$(cat "$LAB_DIR/flood-c3.out")" 20000
	expect_eq kill9/zero_reached_srv "$(counter srv c3_in)" 0
	out=$(fwctl list)
	expect_match kill9/block_kept "$out" "192\.0\.2\.50/32"
	expect_match kill9/allow_kept "$out" "203\.0\.113\.99/32"
	expect_match kill9/geoip_loaded "$(fwctl status)" "geoip: .*lab\.mmdb"
	check kill9/still_blocked c3_blocked
	check kill9/still_allowed reach c2 198.51.100.1
}

fault_kill9_burst() {
	local burst allows ports ases a out acked=() lost=()

	: >"$LAB_DIR/burst.acked"
	: >"$LAB_DIR/burst-allow.acked"
	: >"$LAB_DIR/burst-ports.acked"
	: >"$LAB_DIR/burst-asn.acked"
	(
		for i in $(seq 100 199); do
			fwctl add-block "192.0.2.$i" --comment burst >/dev/null 2>&1 && echo "192.0.2.$i"
		done
	) >"$LAB_DIR/burst.acked" &
	burst=$!
	# Concurrent writers of other kinds: allows and port-scoped blocks go
	# through the same group commit as the add-blocks.
	(
		for i in $(seq 100 199); do
			fwctl allow "198.51.100.$i" --comment burst >/dev/null 2>&1 &&
				echo "198.51.100.$i"
		done
	) >"$LAB_DIR/burst-allow.acked" &
	allows=$!
	(
		for i in $(seq 100 199); do
			fwctl add-block "203.0.113.$i" --ports 22/tcp --comment burst >/dev/null 2>&1 &&
				echo "203.0.113.$i"
		done
	) >"$LAB_DIR/burst-ports.acked" &
	ports=$!
	# AS rules: each one also rebuilds and switches the ASN tables before it
	# is acknowledged; every other one limited to a port.  AS numbers no
	# network of the lab has, so the traffic checks are not affected.
	(
		for i in $(seq 100 199); do
			if [ $((i % 2)) = 0 ]; then
				fwctl block-asn "AS64$i" --comment burst >/dev/null 2>&1 &&
					echo "AS64$i"
			else
				fwctl block-asn "AS64$i" --ports 22/tcp --comment burst \
					>/dev/null 2>&1 && echo "AS64$i 22/tcp"
			fi
		done
	) >"$LAB_DIR/burst-asn.acked" &
	ases=$!
	burst_started() { [ "$(wc -l <"$LAB_DIR/burst.acked")" -ge 15 ]; }
	wait_for 10 burst_started
	geofwd_kill9
	wait "$burst" "$allows" "$ports" "$ases"
	mapfile -t acked <"$LAB_DIR/burst.acked"
	ACKED+=("${acked[@]}")
	echo "# ${#acked[@]} of 100 add-blocks acknowledged before kill -9"
	check kill9/burst_some_acked gt "${#acked[@]}" 0
	check kill9/burst_killed_midway test "${#acked[@]}" -lt 100
	if geofwd_start; then ok kill9/burst_restart; else
		not_ok kill9/burst_restart "geofwd did not come back"; fi
	out=$(fwctl list blocks)
	for a in "${acked[@]}"; do
		[[ $out == *"$a/32 "* ]] || lost+=("$a")
	done
	expect_eq kill9/burst_none_lost "${lost[*]}" ""
	mapfile -t acked <"$LAB_DIR/burst-allow.acked"
	echo "# ${#acked[@]} of 100 concurrent allows acknowledged before kill -9"
	check kill9/burst_allows_some_acked test "${#acked[@]}" -gt 0
	lost=()
	out=$(fwctl list allows)
	for a in "${acked[@]}"; do
		[[ $out == *"$a/32 "* ]] || lost+=("$a")
	done
	expect_eq kill9/burst_allows_none_lost "${lost[*]}" ""
	mapfile -t acked <"$LAB_DIR/burst-ports.acked"
	echo "# ${#acked[@]} of 100 concurrent port-scoped blocks acknowledged before kill -9"
	check kill9/burst_ports_some_acked test "${#acked[@]}" -gt 0
	lost=()
	out=$(fwctl list ports)
	for a in "${acked[@]}"; do
		[[ $out == *"$a/32 "* ]] || lost+=("$a")
	done
	expect_eq kill9/burst_ports_none_lost "${lost[*]}" ""
	mapfile -t acked <"$LAB_DIR/burst-asn.acked"
	echo "# ${#acked[@]} of 100 concurrent AS blocks (half on 22/tcp) acknowledged before kill -9"
	check kill9/burst_asn_some_acked test "${#acked[@]}" -gt 0
	lost=()
	# The AS rules listed: "AS64100" for a block-asn, "AS64101 22/tcp"
	# for a port-scoped one.
	local have
	have=$(fwctl -j list | python3 -c 'import json, sys
for r in json.load(sys.stdin):
    if r.get("type") == "block-asn":
        print("AS%d" % r["asn"])
    elif r.get("type") == "port" and r.get("kind") == "block" and "asn" in r:
        print("AS%d %s" % (r["asn"], r["ports"]))')
	for a in "${acked[@]}"; do
		grep -qx "$a" <<<"$have" || lost+=("$a")
	done
	expect_eq kill9/burst_asn_none_lost "${lost[*]}" ""
	# The lab's later checks expect none of these rules.
	for a in $(cat "$LAB_DIR/burst-allow.acked"); do fwctl del-allow "$a" >/dev/null 2>&1; done
	for a in $(cat "$LAB_DIR/burst-ports.acked"); do
		fwctl del-block "$a" --ports 22/tcp >/dev/null 2>&1
	done
	while read -r a ports; do
		fwctl unblock-asn "$a" ${ports:+--ports "$ports"} >/dev/null 2>&1
	done <"$LAB_DIR/burst-asn.acked"
}

fault_bad_config() {
	local bad_line out

	cp "$LAB_DIR/geofw.conf" "$LAB_DIR/geofw.conf.good"
	failed0=$(jstatus daemon reloads_failed)
	echo "Countries RU US" >>"$LAB_DIR/geofw.conf"	# no "="
	bad_line=$(wc -l <"$LAB_DIR/geofw.conf")
	kill -HUP "$GEOFWD_PID"
	check badconf/sighup_refused wait_for 5 failed_grew
	check badconf/daemon_alive kill -0 "$GEOFWD_PID"
	expect_match badconf/logged_file_line "$(tail -5 "$LAB_DIR/geofwd.log")" \
		"geofw\.conf:$bad_line: .*configuration in force stays"
	out=$(fwctl reload 2>&1)
	expect_eq badconf/fwctl_reload_exit_1 "$?" 1
	expect_match badconf/fwctl_reload_says_why "$out" "geofw\.conf:$bad_line"
	check badconf/policy_kept c3_blocked
	check badconf/us_still_passes reach c1 192.0.2.1
	check badconf/allowed_still_passes reach c2 198.51.100.1
	# A good config that changes the policy: US joins the blocked countries.
	sed 's/^Countries = RU$/Countries = RU US/' "$LAB_DIR/geofw.conf.good" >"$LAB_DIR/geofw.conf"
	ok0=$(jstatus daemon reloads_ok)
	kill -HUP "$GEOFWD_PID"
	check badconf/good_sighup_applied wait_for 5 ok_grew
	check_fails badconf/us_now_blocked reach c1 192.0.2.1
	cp "$LAB_DIR/geofw.conf.good" "$LAB_DIR/geofw.conf"
	ok0=$(jstatus daemon reloads_ok)
	kill -HUP "$GEOFWD_PID"
	wait_for 5 ok_grew
	check badconf/us_passes_again reach c1 192.0.2.1
}

fault_geoip() {
	local n out

	gen=$(jstatus geoip generation)
	rm -f "$LAB_DIR/lab.mmdb"
	out=$(fwctl reload 2>&1)
	expect_eq geoip/deleted_reload_exit_1 "$?" 1
	expect_match geoip/deleted_says_why "$out" "lab\.mmdb.*No such file"
	expect_match geoip/deleted_status "$(fwctl status)" "geoip: last error: .*lab\.mmdb"
	check geoip/deleted_still_blocked c3_blocked
	expect_eq geoip/deleted_tables_kept "$(jstatus geoip generation)" "$gen"
	# A restart while the file is missing: the pinned tables stay in force,
	# and status must not say otherwise.
	geofwd_stop
	if geofwd_start; then ok geoip/deleted_restart; else not_ok geoip/deleted_restart "no start"; fi
	check geoip/deleted_restart_still_blocked c3_blocked
	expect_match geoip/deleted_restart_lookup "$(fwctl lookup 203.0.113.2)" "country RU"
	out=$(fwctl status)
	if [[ $out == *"no country data in force"* ]]; then
		not_ok geoip/deleted_restart_status_truthful "RU still blocked by the pinned tables, but:" \
			"$(echo "$out" | grep '^geoip' | tr '\n' ' ')"
	else
		ok geoip/deleted_restart_status_truthful
	fi

	n=$(log_count 'geoip \(database file replaced\).*load failed')
	head -c 65536 /dev/urandom >"$LAB_DIR/.lab.mmdb.new"
	mv -f "$LAB_DIR/.lab.mmdb.new" "$LAB_DIR/lab.mmdb"
	# Nobody asks: the inotify watch reloads, and must refuse.
	inotify_refused() { gt "$(log_count 'geoip \(database file replaced\).*load failed')" "$n"; }
	check geoip/garbage_refused wait_for 5 inotify_refused
	out=$(fwctl status)
	expect_match geoip/garbage_status "$out" "geoip: last error: .*lab\.mmdb"
	echo "# $(echo "$out" | grep 'last error')"
	check geoip/garbage_still_blocked c3_blocked
	check geoip/garbage_allowed_passes reach c2 198.51.100.1
	expect_eq geoip/garbage_tables_kept "$(jstatus geoip generation)" "$gen"

	head -c "$(($(stat -c %s "$LAB_DIR/db-a.mmdb") / 2))" "$LAB_DIR/db-a.mmdb" >"$LAB_DIR/lab.mmdb"
	out=$(fwctl reload 2>&1)
	expect_eq geoip/truncated_reload_exit_1 "$?" 1
	check geoip/truncated_still_blocked c3_blocked
	expect_eq geoip/truncated_tables_kept "$(jstatus geoip generation)" "$gen"

	put_db "$LAB_DIR/db-a.mmdb"
	check geoip/good_again_loaded wait_for 5 gen_grew
	out=$(fwctl status)
	if [[ $out == *"last error"* ]]; then not_ok geoip/error_cleared "$out"; else
		ok geoip/error_cleared; fi
	check geoip/good_again_blocked c3_blocked
}

fault_state_dir() {
	local out sum0

	# What the database holds, read beside geofwd as an operator would.
	rules_sum() { sqlite3 -readonly "$STATE_MNT/rules.db" \
		"SELECT kind,prefix,source,action,expires FROM rules ORDER BY 1,2,3" | md5sum; }
	dd if=/dev/zero of="$STATE_MNT/fill" bs=4k >/dev/null 2>&1	# until ENOSPC
	sum0=$(rules_sum)
	out=$(fwctl add-block 192.0.2.2 --comment "disk full" 2>&1)
	expect_eq state/full_add_exit_1 "$?" 1
	expect_match state/full_add_says_why "$out" "No space left on device"
	echo "# fwctl: $out"
	out=$(fwctl list blocks)
	if [[ $out == *192.0.2.2/32* ]]; then not_ok state/full_add_not_listed "$out"; else
		ok state/full_add_not_listed; fi
	expect_match state/full_add_not_in_maps "$(fwctl lookup 192.0.2.2)" "pass"
	check state/full_add_not_enforced reach c1 192.0.2.1
	out=$(fwctl del-block 192.0.2.50 2>&1)
	expect_eq state/full_del_exit_1 "$?" 1
	expect_match state/full_del_still_in_maps "$(fwctl lookup 192.0.2.50)" "drop.*192\.0\.2\.50/32"
	expect_match state/full_del_still_listed "$(fwctl list blocks)" "192\.0\.2\.50/32"
	expect_eq state/full_file_unchanged "$(rules_sum)" "$sum0"
	check state/full_enforcement_stays c3_blocked
	rm -f "$STATE_MNT/fill"
	ack_block state/freed_add 192.0.2.2 --comment "disk freed"
	check_fails state/freed_add_enforced reach c1 192.0.2.1

	# geofwd keeps rules.db open for writing, which a remount read-only
	# refuses (EBUSY): the directory is read-only from the start instead.
	geofwd_stop
	mount -o remount,ro "$STATE_MNT"
	geofwd_start || not_ok state/ro_start "geofwd did not start on a read-only state directory"
	out=$(fwctl add-block 2001:db8:1::2 2>&1)
	expect_eq state/ro_add_exit_1 "$?" 1
	expect_match state/ro_add_says_why "$out" "Read-only file system"
	out=$(fwctl list blocks)
	if [[ $out == *2001:db8:1::2/128* ]]; then not_ok state/ro_add_not_listed "$out"; else
		ok state/ro_add_not_listed; fi
	check state/ro_add_not_enforced reach c1 2001:db8:1::1
	check_fails state/ro_enforcement_stays reach c3 2001:db8:3::1
	geofwd_stop
	mount -o remount,rw "$STATE_MNT"
	geofwd_start || not_ok state/rw_start "geofwd did not start again"
	ack_block state/rw_add 2001:db8:1::2
	check_fails state/rw_add_enforced reach c1 2001:db8:1::1
}

fault_acked_rules() {
	local a out missing=() unenforced=()

	geofwd_kill9
	geofwd_start || not_ok acked/restart "geofwd did not come back"
	out=$(fwctl list blocks)
	for a in "${ACKED[@]}"; do
		[[ $a == */* ]] || { [[ $a == *:* ]] && a=$a/128 || a=$a/32; }
		[[ $out == *"$a "* ]] || missing+=("$a")
		[[ $(fwctl lookup "${a%/*}") == *"drop ("*"$a"* ]] || unenforced+=("$a")
	done
	echo "# ${#ACKED[@]} acknowledged rules checked"
	expect_eq acked/all_listed "${missing[*]}" ""
	expect_eq acked/all_in_maps "${unenforced[*]}" ""
	check_fails acked/enforced_v4 reach c1 192.0.2.1
	check_fails acked/enforced_v6 reach c1 2001:db8:1::1
	check acked/allowed_passes reach c2 198.51.100.1
}

section_faults() {
	daemon_up || return
	fault_kill9_reload
	fault_kill9_burst
	fault_bad_config
	fault_geoip
	fault_state_dir
	fault_acked_rules
}

# ---- 3. sanitizers --------------------------------------------------------------------------

section_asan() {
	local san_re='ERROR: AddressSanitizer|runtime error:|LeakSanitizer|ERROR: UndefinedBehaviorSanitizer'
	local san_err=$LAB_DIR/fwctl-asan.err mark reports status

	if [ -z "$ASAN_GIVEN" ] && { [ ! -x "$ASAN_BUILD/geofwd" ] || [ ! -x "$ASAN_BUILD/fwctl" ] ||
		[ -n "$(find user include bpf maps vmlinux.h -newer "$ASAN_BUILD/geofwd" -print -quit)" ]; }; then
		# -j: the sanitizer build is most of this suite's time when it runs.
		if ! make --no-print-directory -j"$(nproc)" asan ASAN_BUILD="$ASAN_BUILD" \
			>"$LAB_DIR/asan-build.log" 2>&1; then
			not_ok asan/build "$(tail -5 "$LAB_DIR/asan-build.log")"
			return
		fi
	fi
	copy_bins "$ASAN_BUILD" "$LAB_DIR/asan" ||
		{ not_ok asan/binaries "cannot copy working binaries from $ASAN_BUILD"; return; }
	ASAN_BUILD=$LAB_DIR/asan
	daemon_down
	export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
	export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
	if [ -f tests/e2e/lsan.supp ]; then
		export LSAN_OPTIONS=suppressions=$PWD/tests/e2e/lsan.supp:print_suppressions=0
	fi
	: >"$san_err"
	mark=$(wc -l <"$LAB_DIR/geofwd.log")
	asan_fwctl() { BUILD=$ASAN_BUILD fwctl "$@" 2>>"$san_err"; }
	if BUILD=$ASAN_BUILD geofwd_start; then
		ok asan/start
		check asan/add_block asan_fwctl add-block 192.0.2.88 --ttl 1h --comment asan
		check asan/allow asan_fwctl allow 198.51.100.77
		printf '198.51.100.200\n198.51.100.0/28 ; list\n' >"$LAB_DIR/asan-import.txt"
		check asan/import asan_fwctl import "$LAB_DIR/asan-import.txt"
		check asan/reload asan_fwctl reload
		ok0=$(jstatus daemon reloads_ok)
		kill -HUP "$GEOFWD_PID"
		check asan/sighup wait_for 10 ok_grew
		gen=$(jstatus geoip generation)
		put_db "$LAB_DIR/db-b.mmdb"
		check asan/inotify_reload wait_for 10 gen_grew
		check asan/list asan_fwctl list
		check asan/list_json asan_fwctl -j list
		check asan/status asan_fwctl status
		check asan/lookup asan_fwctl lookup 203.0.113.2
		check asan/stats asan_fwctl -j stats
		check asan/del_block asan_fwctl del-block 192.0.2.88
		check asan/del_allow asan_fwctl del-allow 198.51.100.77
		check_fails asan/bad_input asan_fwctl add-block 010.1.1.1
		check asan/enforced c3_blocked
		kill -TERM "$GEOFWD_PID"
		wait "$GEOFWD_PID"
		status=$?
		expect_eq asan/clean_exit "$status" 0
		check asan/stats_without_daemon asan_fwctl stats
	else
		not_ok asan/start "the ASan geofwd did not start"
	fi
	reports=$( (tail -n +"$((mark + 1))" "$LAB_DIR/geofwd.log"; cat "$san_err") | grep -E "$san_re")
	expect_eq asan/no_reports "$reports" ""
	if [ -n "$reports" ]; then
		(tail -n +"$((mark + 1))" "$LAB_DIR/geofwd.log"; cat "$san_err") |
			grep -A12 -E "$san_re" | head -40 | sed 's/^/#   /'
	fi
	unset ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS
}

# ---- 4. valgrind ---------------------------------------------------------------------------

# Valgrind 3.19 checks bpf(2)'s attr union field by field whatever size the
# caller passes: libbpf clears only the attr_sz bytes a command uses (the
# kernel reads no more), so fields past them look uninitialised, and
# BPF_MAP_GET_NEXT_KEY's NULL key (= "the first key") looks unaddressable.
# And when the clsact qdisc already exists (every restart), libbpf 1.1's
# bpf_tc_hook_create, on its error path (the "Exclusivity flag on" extack),
# branches on bytes of its own netlink reply buffer that nothing wrote
# (--track-origins: a malloc inside libbpf).
# All of this is inside libbpf, about libbpf's own buffers; key and value
# memory that geofw passes stays checked.
write_vg_supp() {
	local f
	for f in flags expected_attach_type prog_ifindex; do
		printf '{\n  libbpf-attr-%s\n  Memcheck:Param\n  bpf(attr->%s)\n  fun:syscall\n  obj:*/libbpf.so*\n}\n' \
			"$f" "$f"
	done
	printf '{\n  libbpf-get-next-key-null\n  Memcheck:Param\n  bpf(attr->key)\n  fun:syscall\n  fun:bpf_map_get_next_key\n}\n'
	printf '{\n  libbpf-netlink-reply\n  Memcheck:Cond\n  obj:*/libbpf.so*\n  ...\n  fun:bpf_tc_hook_create\n}\n'
}

section_valgrind() {
	local vg_log=$LAB_DIR/valgrind.log summary def ind status

	if ! command -v valgrind >/dev/null; then
		skip valgrind/memcheck "valgrind is not installed"
		return
	fi
	daemon_down
	write_vg_supp >"$LAB_DIR/valgrind.supp"
	nsenter --net="/run/netns/$(ns srv)" valgrind --tool=memcheck --leak-check=full \
		--show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect \
		--error-exitcode=99 --trace-children=no --log-file="$vg_log" \
		--suppressions="$LAB_DIR/valgrind.supp" \
		"$BUILD/geofwd" -c "$LAB_DIR/geofw.conf" --pin-dir "$LAB_PIN" \
		>>"$LAB_DIR/geofwd.log" 2>&1 &
	GEOFWD_PID=$!
	LAB_PIDS+=("$GEOFWD_PID")
	# Under valgrind geofwd needs ~30 s to start on an idle machine, most of
	# it in libbpf parsing the kernel's BTF (4 MB, once per BPF object).
	if wait_for 180 running; then
		ok valgrind/start
		check valgrind/add_block fwctl add-block 192.0.2.99
		check valgrind/reload fwctl reload
		check valgrind/del_block fwctl del-block 192.0.2.99
		check valgrind/list fwctl list
		check valgrind/enforced c3_blocked
	else
		not_ok valgrind/start "geofwd under valgrind did not answer within 180 s"
	fi
	kill -TERM "$GEOFWD_PID"
	wait "$GEOFWD_PID"
	status=$?
	expect_eq valgrind/exit_status "$status" 0
	summary=$(sed -n 's/^==[0-9]*== //p' "$vg_log")
	expect_match valgrind/no_errors "$summary" "ERROR SUMMARY: 0 errors"
	def=$(echo "$summary" | sed -n 's/.*definitely lost: \([0-9,]*\) bytes.*/\1/p')
	ind=$(echo "$summary" | sed -n 's/.*indirectly lost: \([0-9,]*\) bytes.*/\1/p')
	if [[ $summary == *"All heap blocks were freed"* ]]; then def=0 ind=0; fi
	expect_eq valgrind/definitely_lost "${def:-?}" 0
	expect_eq valgrind/indirectly_lost "${ind:-?}" 0
	# Warnings are not errors (bpf() commands valgrind does not know): shown.
	sed -n 's/^--[0-9]*-- //p' "$vg_log" | grep -iE 'warning|unhandled' | sort | uniq -c |
		head -5 | sed 's/^ */# valgrind: /'
	echo "$summary" | grep -E 'ERROR SUMMARY|in use at exit|possibly lost|still reachable' |
		sed 's/^/# valgrind: /'
	if [ "$status" != 0 ] || [[ $summary != *"ERROR SUMMARY: 0 errors"* ]]; then
		echo "# valgrind log (first errors):"
		grep -vE '^==[0-9]+== *$' "$vg_log" | head -60 | sed 's/^/#   /'
	fi
}

# ---- run ---------------------------------------------------------------------------------------

setup
for s in $SECTIONS; do
	t=$SECONDS
	case $s in
	reload) section_reload ;;
	faults) section_faults ;;
	asan) section_asan ;;
	valgrind) section_valgrind ;;
	*) not_ok "setup/sections" "unknown section $s"; continue ;;
	esac
	echo "# $s: $((SECONDS - t)) s"
done
echo "# runtime $((SECONDS - T0)) s"
exit $((T_FAILED > 0))
