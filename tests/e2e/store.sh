#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The rule store (StateDirectory/rules.db) in the namespace lab
# (tests/lib/lab.sh), with real traffic where a rule must show:
#
#   storm/     8 clients adding rules at once (tests/tools/ctlstorm), geofwd
#              killed with SIGKILL in the middle: after the restart every
#              acknowledged rule is in the database and in the kernel, and
#              the kernel holds exactly what the database holds (nothing
#              half-applied)
#   sources/   an imported list and a cli rule on one prefix: the stricter
#              action is enforced, the other takes over when it goes; list
#              and export by source; export | import round-trips (action
#              and expiry too)
#   kernel_full/ an import one entry larger than a map: the kernel refuses,
#              the change is rolled back, the entries already written leave
#              the map again, enforcement goes on
#   expiry/    a TTL rule across a faked reboot (GEOFW_TEST_BOOT_OFFSET_NS):
#              the database keeps the wall-clock expiry, the kernel gets it
#              against the new boot clock
#   damaged/   rules.db cut short, then overwritten with garbage: geofwd
#              refuses to start naming the file and what to do, the pinned
#              programs keep enforcing the rules in force
#   migrate/   a state file of the previous format is imported on the first
#              start and kept as rules.v1.bak
#   readonly/  the state directory read-only at start: the rules in it are
#              enforced, a change is refused saying why, the kernel is
#              unchanged
#
# Usage: BUILD=build bash tests/e2e/store.sh   (from the repo root, root)
set -u
cd "$(dirname "$0")/../.." || exit 2
source tests/lib/lab.sh

STORM=$BUILD/tests/tools/ctlstorm
STATE=$LAB_DIR/state
[ -x "$STORM" ] || { not_ok store/tools "$STORM missing: make build-tests"; exit 1; }

lab_up || { not_ok lab_up "cannot build the lab"; exit 1; }
STATE=$LAB_DIR/state
geofwd_start || { not_ok geofwd_start "geofwd did not start"; exit 1; }
ok geofwd_start

# The kernel's block prefixes (pinned maps, read by fwctl while geofwd is
# down) and the database's (sqlite3, read-only), one per line, sorted.
kernel_blocks() { fwctl list blocks | awk '$1 == "block" { print $2 }' | sort; }
db_blocks() {
	sqlite3 -readonly "$STATE/rules.db" \
		"SELECT prefix FROM rules WHERE kind=1 UNION SELECT 'list:' || source FROM lists" |
		grep -v '^list:' | sort -u
}

# ---- storm: kill -9 during 8 concurrent clients --------------------------------
ACKED=$LAB_DIR/acked.txt
: > "$ACKED"
in_net srv "$STORM" --socket "$LAB_DIR/geofwd.sock" --clients 8 --total 20000 \
	--prefix 2001:db8:77:: --acked "$ACKED" > "$LAB_DIR/storm.out" 2>&1 &
STORM_PID=$!
for i in $(seq 1 100); do [ "$(wc -l < "$ACKED")" -ge 300 ] && break; sleep 0.05; done
geofwd_kill9
wait "$STORM_PID"
n_acked=$(wc -l < "$ACKED")
echo "# storm: $(cat "$LAB_DIR/storm.out")"
check storm/some_acked test "$n_acked" -ge 300
check storm/killed_midway test "$n_acked" -lt 20000
# While geofwd is down the pins keep enforcing: the lab's RU client stays out.
check_fails storm/enforcing_while_down reach c3 203.0.113.1
if geofwd_start; then ok storm/restart; else not_ok storm/restart "geofwd did not come back"; fi
geofwd_stop	# pins stay: fwctl reads the kernel's maps now
sed 's|$|/128|' "$ACKED" | sort -u > "$LAB_DIR/acked.sorted"
kernel_blocks > "$LAB_DIR/kernel.sorted"
db_blocks > "$LAB_DIR/db.sorted"
missing_db=$(comm -23 "$LAB_DIR/acked.sorted" "$LAB_DIR/db.sorted" | wc -l)
missing_k=$(comm -23 "$LAB_DIR/acked.sorted" "$LAB_DIR/kernel.sorted" | wc -l)
expect_eq storm/every_acked_in_db "$missing_db" 0
expect_eq storm/every_acked_in_kernel "$missing_k" 0
# Unacknowledged changes are either whole (committed, answer lost) or gone:
# the kernel and the database agree on every prefix.
expect_eq storm/kernel_equals_db "$(diff "$LAB_DIR/kernel.sorted" "$LAB_DIR/db.sorted" | grep -c '^[<>]')" 0
echo "# $n_acked acknowledged, $(wc -l < "$LAB_DIR/db.sorted") in the database"
geofwd_start || not_ok storm/restart2 "geofwd did not come back"

# ---- sources: precedence, list/export by source, round trip ----------------------
printf '192.0.2.2\n198.51.100.77/32\n' > "$LAB_DIR/feed.txt"
check sources/import fwctl import "$LAB_DIR/feed.txt" --action log --comment "shadow list"
check sources/log_passes reach c1 192.0.2.1
check sources/cli_drop fwctl add-block 192.0.2.2 --action drop
check_fails sources/stricter_wins reach c1 192.0.2.1
expect_match sources/lookup_drop "$(fwctl lookup 192.0.2.2)" "drop"
out=$(fwctl list --source import:feed.txt)
expect_match sources/list_by_source "$out" "198\.51\.100\.77/32.*import:feed\.txt"
if [[ $out == *cli* ]]; then not_ok sources/list_only_source "$out"; else ok sources/list_only_source; fi
check sources/del_source_cli fwctl del-source cli
check sources/list_takes_over reach c1 192.0.2.1
expect_match sources/lookup_log "$(fwctl lookup 192.0.2.2)" "log"
fwctl export --source import:feed.txt > "$LAB_DIR/exported.txt"
expect_eq sources/export_lines "$(grep -vc '^#' "$LAB_DIR/exported.txt")" 2
check sources/del_source_list fwctl del-source import:feed.txt
expect_match sources/gone "$(fwctl lookup 192.0.2.2)" "pass"
cp "$LAB_DIR/exported.txt" "$LAB_DIR/feed.txt"
check sources/reimport fwctl import "$LAB_DIR/feed.txt" --action drop
check_fails sources/reimport_enforced reach c1 192.0.2.1
out=$(fwctl export --source import:feed.txt | grep -v '^#' | awk '{ print $1 }')
expect_eq sources/round_trip "$(echo "$out" | tr '\n' ' ')" "192.0.2.2/32 198.51.100.77/32 "
check sources/cleanup fwctl del-source import:feed.txt
# Action and expiry come back too: import reads what export wrote after
# each entry.  An expiry already past skips the entry; a bad one is refused.
printf '192.0.2.9\n198.51.100.9\n' > "$LAB_DIR/drop.txt"
check sources/import_http403 fwctl import "$LAB_DIR/drop.txt" --action http403 --ttl 1h
mkdir -p "$LAB_DIR/x"
fwctl export --source import:drop.txt > "$LAB_DIR/x/drop.txt"
check sources/del_exported fwctl del-source import:drop.txt
check sources/import_exported fwctl import "$LAB_DIR/x/drop.txt"
expect_eq sources/round_trip_annotations "$(fwctl export --source import:drop.txt)" \
	"$(cat "$LAB_DIR/x/drop.txt")"
printf '192.0.2.10/32 # source=cli action=drop expires=1000\n' > "$LAB_DIR/x/old.txt"
expect_match sources/expired_skipped "$(fwctl import "$LAB_DIR/x/old.txt")" \
	"imported 0 entries .*1 expired skipped"
printf '192.0.2.10/32 # source=cli action=block\n' > "$LAB_DIR/x/bad.txt"
expect_match sources/bad_annotation "$(fwctl import "$LAB_DIR/x/bad.txt" 2>&1)" \
	"bad\.txt:1: annotation action=block: not a block action"
check sources/cleanup_annotated fwctl del-source import:drop.txt
check_fails sources/absent_source fwctl del-source import:nothing

# ---- the kernel refuses: a full map rolls the change back ----------------------
# One more IPv6 network than the CIDR map holds: the last write fails, the
# transaction is rolled back and the entries already written come out again.
awk 'BEGIN { for (i = 0; i <= 262144; i++) printf "2001:db8:%x:%x::/64\n", int(i / 65536) + 16, i % 65536 }' \
	> "$LAB_DIR/toobig.txt"
out=$(fwctl import "$LAB_DIR/toobig.txt" 2>&1)
expect_eq kernel_full/refused "$?" 1
expect_match kernel_full/says_why "$out" "map is full"
echo "# fwctl: $(echo "$out" | head -1)"
expect_eq kernel_full/no_rows "$(sqlite3 -readonly "$STATE/rules.db" \
	"SELECT count(*) FROM lists WHERE source='import:toobig.txt'")" 0
expect_match kernel_full/first_not_in_kernel "$(fwctl lookup 2001:db8:10::1)" "pass"
# The last one the kernel took (entry 262143) is gone again too.
expect_match kernel_full/last_written_removed "$(fwctl lookup 2001:db8:13:ffff::1)" "pass"
check_fails kernel_full/still_enforcing reach c3 203.0.113.1
check kernel_full/next_change_ok fwctl add-block 2001:db8:10::/64
check kernel_full/cleanup fwctl del-block 2001:db8:10::/64

# ---- expiry across a faked reboot -----------------------------------------------
check expiry/add fwctl add-block 192.0.2.2 --ttl 1h
exp_db=$(sqlite3 -readonly "$STATE/rules.db" "SELECT expires FROM rules WHERE prefix='192.0.2.2/32'")
geofwd_stop
# As after a reboot: the same wall clock, a boot clock 600 s behind the one
# the rule was added under.  The kernel value must follow the new clock.
OFFSET=-600000000000
GEOFW_TEST_BOOT_OFFSET_NS=$OFFSET geofwd_start || not_ok expiry/restart "geofwd did not start"
exp_db2=$(sqlite3 -readonly "$STATE/rules.db" "SELECT expires FROM rules WHERE prefix='192.0.2.2/32'")
expect_eq expiry/db_keeps_wall_clock "$exp_db2" "$exp_db"
kns=$(bpftool -j map lookup pinned "$LAB_PIN/gfw_block_ip4" key 192 0 2 2 2>/dev/null |
	jq -r '.formatted.value.expires_ns // .value.expires_ns // empty')
read -r up _ < /proc/uptime
# Seconds left as the kernel sees them on the faked clock, against the
# database's wall-clock expiry: equal within a few seconds.
left=$(awk -v k="${kns:-0}" -v u="$up" -v e="$exp_db" -v now="$(date +%s)" \
	'BEGIN { printf "%d", (k / 1e9 - (u - 600)) - (e - now) }')
echo "# kernel expires_ns $kns; boot clock faked 600 s behind; db expiry in $((exp_db - $(date +%s))) s"
check expiry/kernel_on_new_boot_clock test "${left#-}" -le 5
check_fails expiry/still_enforced reach c1 192.0.2.1
expect_match expiry/list_shows_ttl "$(fwctl list blocks)" "192\.0\.2\.2/32.*expires in 59m"
geofwd_stop
geofwd_start || not_ok expiry/restart2 "geofwd did not start"
check expiry/cleanup fwctl del-block 192.0.2.2

# ---- damaged database -------------------------------------------------------------
check damaged/rule fwctl add-block 192.0.2.2 --comment "before the damage"
geofwd_stop
cp "$STATE/rules.db" "$LAB_DIR/rules.db.good"
size=$(stat -c %s "$STATE/rules.db")
truncate -s $((size / 2)) "$STATE/rules.db"
if geofwd_start >/dev/null 2>&1; then not_ok damaged/truncated_refused "geofwd started"; geofwd_stop
else ok damaged/truncated_refused; fi
log=$(tail -5 "$LAB_DIR/geofwd.log")
expect_match damaged/names_file "$log" "rules\.db"
expect_match damaged/says_what_to_do "$log" "Restore the file from a backup"
check_fails damaged/still_enforcing_rule reach c1 192.0.2.1
check_fails damaged/still_enforcing_country reach c3 203.0.113.1
head -c 8192 /dev/urandom > "$STATE/rules.db"
if geofwd_start >/dev/null 2>&1; then not_ok damaged/garbage_refused "geofwd started"; geofwd_stop
else ok damaged/garbage_refused; fi
check_fails damaged/garbage_still_enforcing reach c1 192.0.2.1
cp "$LAB_DIR/rules.db.good" "$STATE/rules.db"
if geofwd_start; then ok damaged/restored; else not_ok damaged/restored "geofwd did not start"; fi
expect_match damaged/rule_back "$(fwctl list blocks)" "192\.0\.2\.2/32"
check damaged/cleanup fwctl del-block 192.0.2.2

# ---- migration from the text state file -----------------------------------------------
geofwd_stop
rm -f "$STATE"/rules.db*
cat > "$STATE/rules" <<'EOF2'
# geofw state v1
next-rule-id 4
allow 203.0.113.2/32 id=1 comment="partner"
block 192.0.2.2/32 drop id=2 source="cli" comment="from v1"
block 2001:db8:1::2/128 drop id=3 source="import:old.txt"
list id=3 source="import:old.txt"
EOF2
if geofwd_start; then ok migrate/start; else not_ok migrate/start "geofwd did not start"; fi
check migrate/backup_kept test -f "$STATE/rules.v1.bak"
check_fails migrate/old_file_gone test -e "$STATE/rules"
out=$(fwctl list)
expect_match migrate/block_listed "$out" "192\.0\.2\.2/32.*cli"
expect_match migrate/comment_kept "$out" "from v1"
expect_match migrate/list_source_kept "$out" "2001:db8:1::2/128.*import:old\.txt"
check_fails migrate/block_enforced reach c1 192.0.2.1
check_fails migrate/v6_enforced reach c1 2001:db8:1::1
check migrate/allow_enforced reach c3 203.0.113.1
geofwd_stop
if geofwd_start; then ok migrate/second_start; else not_ok migrate/second_start "no start"; fi
check migrate/backup_stays test -f "$STATE/rules.v1.bak"

# ---- read-only state directory ------------------------------------------------------
geofwd_stop
mount --bind "$STATE" "$STATE" && mount -o remount,bind,ro "$STATE" || not_ok readonly/mount "cannot bind-mount read-only"
if geofwd_start; then ok readonly/starts; else not_ok readonly/starts "geofwd did not start"; fi
expect_match readonly/warns "$(cat "$LAB_DIR/geofwd.log")" "read-only file system"
out=$(fwctl add-block 198.51.100.2 2>&1)
expect_eq readonly/add_refused "$?" 1
expect_match readonly/says_why "$out" "read-only"
echo "# fwctl: $out"
check readonly/kernel_unchanged reach c2 198.51.100.1
check_fails readonly/rules_enforced reach c1 192.0.2.1
geofwd_stop
umount "$STATE"
if geofwd_start; then ok readonly/writable_again; else not_ok readonly/writable_again "no start"; fi
check readonly/add_ok fwctl add-block 198.51.100.2
check_fails readonly/add_enforced reach c2 198.51.100.1

geofwd_stop
exit $((T_FAILED > 0))
