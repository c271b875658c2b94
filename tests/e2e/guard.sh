#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# What geofwd refuses changes nothing in force, and what it cannot keep it
# says (tests/lib/lab.sh, real traffic: nginx in srv, curl from the clients):
#
#   - a second geofwd on the same pins, or on the same control socket
#   - a reload refused for a bad GeoIP database or a bad 403 page
#   - a start refused for a bad 403 page, or an empty rules.db
#   - XdpMode changed by a reload (the kernel runs one mode at a time)
#   - an XDP link detached from outside geofwd
#   - rules.db removed while geofwd runs
set -u
cd "$(dirname "$0")/../.." || exit 2
source tests/lib/lab.sh

lab_up || { not_ok lab_up "cannot build the lab"; exit 1; }
nginx_up || { not_ok nginx_up "nginx did not start"; exit 1; }
geofwd_start -d || { not_ok geofwd_start "geofwd did not start"; exit 1; }
ok geofwd_start

CONF=$LAB_DIR/geofw.conf
cp "$CONF" "$LAB_DIR/good.conf"

# enforced NAME: the lab's policy is what the interfaces do: the DE client
# gets the site, the RU client the kernel's 403 page (its size as at start).
enforced() {
	expect_match "$1/de_gets_the_site" "$(http c2 http://198.51.100.1/)" '^200 '
	expect_eq "$1/ru_gets_the_403_page" "$(http c3 http://203.0.113.1/)" "$PAGE403"
}

# The id of the XDP program on gfw1, as the kernel says.
xdp_id() {
	in_ns srv ip -d link show gfw1 | sed -n 's/.*prog\/xdp id \([0-9]*\).*/\1/p' | head -1
}

# The id of the program geofwd says it runs.
status_xdp_id() {
	fwctl -j status | python3 -c 'import json,sys; print(json.load(sys.stdin)["programs"]["xdp_id"])'
}

log_has() { grep -c -- "$1" "$LAB_DIR/geofwd.log"; }

# wait_log PATTERN [TENTHS]: until the log holds PATTERN.
wait_log() {
	local i
	for i in $(seq 1 "${2:-50}"); do
		grep -q -- "$1" "$LAB_DIR/geofwd.log" && return 0
		sleep 0.1
	done
	return 1
}

# geofwd_once ARGS...: run another geofwd in srv to its exit (at most 30 s),
# its output in $LAB_DIR/once.log; its exit status.
geofwd_once() {
	timeout 30 nsenter --net="/run/netns/$(ns srv)" "$BUILD/geofwd" "$@" \
		>"$LAB_DIR/once.log" 2>&1
}

PAGE403=$(http c3 http://203.0.113.1/)
expect_match baseline/ru_gets_403 "$PAGE403" '^403 '
enforced baseline
ID0=$(xdp_id)
expect_eq baseline/status_names_the_attached_program "$(status_xdp_id)" "$ID0"

# --- a second geofwd on the same pins: refused before it touches them ----------
sed -e 's/^Countries = RU/Countries = DE/' \
	-e "s|^Socket = .*|Socket = $LAB_DIR/second.sock|" \
	-e "s|^StateDirectory = .*|StateDirectory = $LAB_DIR/state2|" "$CONF" >"$LAB_DIR/second.conf"
geofwd_once -c "$LAB_DIR/second.conf" --pin-dir "$LAB_PIN" --detach-on-exit
expect_eq second_pins/exits_1 "$?" 1
expect_match second_pins/says_why "$(cat "$LAB_DIR/once.log")" \
	"another geofwd is running with the pins in $LAB_PIN; nothing was changed"
expect_eq second_pins/program_untouched "$(xdp_id)" "$ID0"
check second_pins/pins_kept test -e "$LAB_PIN/links/xdp-gfw1"
check second_pins/first_status_ok fwctl status
enforced second_pins
check second_pins/first_still_takes_changes fwctl add-block 192.0.2.2
check_fails second_pins/change_enforced reach c1 192.0.2.1
check second_pins/change_undone fwctl del-block 192.0.2.2

# --- a second geofwd on the same socket (other pins): refused before it loads ---
geofwd_once -c "$CONF" --pin-dir "$LAB_PIN/second"
expect_eq second_socket/exits_1 "$?" 1
expect_match second_socket/says_why "$(cat "$LAB_DIR/once.log")" "another geofwd is listening there"
expect_eq second_socket/no_program_loaded "$(ls "$LAB_PIN/second" 2>/dev/null | grep -vc '^links$')" 0
expect_eq second_socket/program_untouched "$(xdp_id)" "$ID0"
enforced second_socket

# --- a reload refused for a bad database changes nothing -----------------------
echo "not a MaxMind database" >"$LAB_DIR/bad.mmdb"
sed -e 's/^Countries = RU/Countries = DE/' \
	-e "s|^GeoIPDatabase = .*|GeoIPDatabase = $LAB_DIR/bad.mmdb|" "$LAB_DIR/good.conf" >"$CONF"
out=$(fwctl reload 2>&1)
expect_eq reload_bad_db/exits_1 "$?" 1
expect_match reload_bad_db/says_why "$out" "bad\.mmdb"
expect_match reload_bad_db/countries_in_force "$(fwctl list countries)" "RU"
out=$(fwctl list countries)
if [[ $out == *DE* ]]; then not_ok reload_bad_db/new_countries_not_applied "$out"; else ok reload_bad_db/new_countries_not_applied; fi
enforced reload_bad_db
expect_match reload_bad_db/status_counts_it "$(fwctl status)" "reloads ok, 1 failed"

# --- a reload refused for a bad 403 page keeps the page in force ---------------
sed 's/{{addr}}/{{adress}}/' "$LAB_DIR/403.html" >"$LAB_DIR/bad403.html"
grep -q '{{adress}}' "$LAB_DIR/bad403.html" || sed -i 's/<body>/<body>{{adress}}/' "$LAB_DIR/bad403.html"
sed "s|^Http403Body = .*|Http403Body = $LAB_DIR/bad403.html|" "$LAB_DIR/good.conf" >"$CONF"
out=$(fwctl reload 2>&1)
expect_eq reload_bad_page/exits_1 "$?" 1
expect_match reload_bad_page/says_why "$out" "bad403\.html.*adress"
enforced reload_bad_page
out=$(nsenter --net="/run/netns/$(ns srv)" "$BUILD/geofwd" -c "$CONF" --check-config 2>&1)
expect_eq reload_bad_page/check_config_fails "$?" 1
cp "$LAB_DIR/good.conf" "$CONF"
check reload_good/ok fwctl reload
enforced reload_good

# --- a database the reload does not change, unreadable: the rest applies --------
# (the shipped config names a database geoipupdate may not have fetched yet:
# a reload for another key must not be refused for it)
cp "$LAB_DIR/lab.mmdb" "$LAB_DIR/lab.mmdb.good"
echo "truncated by a failed download" >"$LAB_DIR/lab.mmdb"
sed 's/^Countries = RU/Countries = RU DE/' "$LAB_DIR/good.conf" >"$CONF"
out=$(fwctl reload 2>&1)
expect_eq reload_same_bad_db/exits_1 "$?" 1
expect_match reload_same_bad_db/says_applied "$out" "configuration applied, but load failed: .*lab\.mmdb"
expect_match reload_same_bad_db/de_now_blocked "$(http c2 http://198.51.100.1/)" '^403 '
expect_eq reload_same_bad_db/ru_still_403 "$(http c3 http://203.0.113.1/)" "$PAGE403"
cp "$LAB_DIR/lab.mmdb.good" "$LAB_DIR/lab.mmdb"
cp "$LAB_DIR/good.conf" "$CONF"
check reload_same_bad_db/repaired fwctl reload
enforced reload_same_bad_db

# --- XdpMode changed by a reload: moved, never left without a program ----------
mode_of() { fwctl status | sed -n 's/^interface gfw1: attached, XDP \([a-z]*\) mode.*/\1/p'; }
MODE0=$(mode_of)
OTHER=generic
[ "$MODE0" = generic ] && OTHER=native
canary0=$(log_has "canary frames")
sed "s/^XdpMode = .*/XdpMode = $OTHER/" "$LAB_DIR/good.conf" >"$CONF"
check xdp_mode/reload_ok fwctl reload
expect_eq xdp_mode/moved "$(mode_of)" "$OTHER"
expect_match xdp_mode/logged "$(cat "$LAB_DIR/geofwd.log")" "gfw1: XDP moved from $MODE0 to $OTHER mode"
check xdp_mode/status_ok fwctl status
enforced xdp_mode
# -d survives the reload: the new links' canary runs are logged at debug level.
if [ "$(log_has "canary frames")" -gt "$canary0" ]; then ok xdp_mode/debug_kept_after_reload; else not_ok xdp_mode/debug_kept_after_reload "no debug line after the reload"; fi
cp "$LAB_DIR/good.conf" "$CONF"
check xdp_mode/back_reload_ok fwctl reload
expect_eq xdp_mode/back "$(mode_of)" "$MODE0"
enforced xdp_mode_back

# --- an XDP link detached from outside geofwd is attached again ----------------
link=$(bpftool -j link show pinned "$LAB_PIN/links/xdp-gfw1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
check detached/detach bpftool link detach id "$link"
if wait_log "gfw1: the XDP program was detached from outside geofwd" 30; then ok detached/noticed; else not_ok detached/noticed "no log line within 3 s"; fi
for _ in $(seq 1 30); do [ -n "$(xdp_id)" ] && break; sleep 0.1; done
check detached/attached_again test -n "$(xdp_id)"
enforced detached
check detached/status_ok fwctl status

# --- rules.db removed while geofwd runs: changes refused, status says so -------
check store_removed/add_before fwctl add-block 192.0.2.2
rm -f "$LAB_DIR/state/rules.db" "$LAB_DIR/state/rules.db-wal" "$LAB_DIR/state/rules.db-shm"
out=$(fwctl add-block 192.0.2.3 2>&1)
expect_eq store_removed/change_refused "$?" 1
expect_match store_removed/says_why "$out" "rules\.db was removed or replaced while geofwd runs"
out=$(fwctl status 2>&1)
expect_eq store_removed/status_exits_1 "$?" 1
expect_match store_removed/status_says_so "$out" "rules: changes REFUSED"
check_fails store_removed/rules_in_force_stay reach c1 192.0.2.1

# A restart makes a new, empty store: the pinned rules go, with a warning.
geofwd_stop
geofwd_start -d || not_ok store_removed/restart "geofwd did not start"
if wait_log "did not exist and was created empty; the 1 rules the pinned maps held" 10; then
	ok store_removed/restart_warns
else
	not_ok store_removed/restart_warns "no warning in the log"
fi
check store_removed/restart_enforces_the_store reach c1 192.0.2.1

# --- an empty rules.db: the start is refused, the pins keep enforcing ----------
check empty_db/add fwctl add-block 192.0.2.2
geofwd_stop
: >"$LAB_DIR/state/rules.db"
rm -f "$LAB_DIR/state/rules.db-wal" "$LAB_DIR/state/rules.db-shm"
geofwd_once -c "$CONF" --pin-dir "$LAB_PIN"
expect_eq empty_db/start_refused "$?" 1
expect_match empty_db/says_why "$(cat "$LAB_DIR/once.log")" "rules\.db: the file is empty \(0 bytes\)"
check_fails empty_db/pins_keep_enforcing reach c1 192.0.2.1
enforced empty_db

# --- a start refused for a bad 403 page: nothing in force changes --------------
rm -f "$LAB_DIR/state/rules.db"
sed -e 's/^Countries = RU/Countries = DE/' "$LAB_DIR/good.conf" >"$CONF"
echo "Http403Page = DE $LAB_DIR/bad403.html" >>"$CONF"
geofwd_once -c "$CONF" --pin-dir "$LAB_PIN"
expect_eq bad_page_start/refused "$?" 1
expect_match bad_page_start/says_why "$(cat "$LAB_DIR/once.log")" "bad403\.html.*adress"
enforced bad_page_start
check_fails bad_page_start/pinned_rules_kept reach c1 192.0.2.1

[ "$T_FAILED" -eq 0 ]
