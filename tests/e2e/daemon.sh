#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# geofwd + fwctl with real traffic in the namespace lab (tests/lib/lab.sh):
# every fwctl command proves its effect with ping/UDP from the clients, IPv4
# and IPv6; restart continuity under a flood; hotplug; TTL; bad inputs.
set -u
cd "$(dirname "$0")/../.." || exit 2
source tests/lib/lab.sh

FLOOD=$BUILD/tests/tools/udpflood

lab_up || { not_ok lab_up "cannot build the lab"; exit 1; }
geofwd_start || { not_ok geofwd_start "geofwd did not start"; exit 1; }
ok geofwd_start

# --- baseline: policy of the lab config (RU blocked with http403) ------------
check baseline/allowed_v4 reach c2 198.51.100.1
check baseline/allowed_v6 reach c2 2001:db8:2::1
check baseline/us_v4 reach c1 192.0.2.1
check_fails baseline/ru_blocked_v4 reach c3 203.0.113.1
check_fails baseline/ru_blocked_v6 reach c3 2001:db8:3::1
out=$(fwctl status)
expect_match status/attached "$out" "interface gfw1: attached"
expect_match status/geoip "$out" "geoip: .*lab.mmdb"

# --- add-block / del-block ----------------------------------------------------------
check add_block/v4 fwctl add-block 192.0.2.2 --comment "lab test"
check_fails add_block/v4_effect reach c1 192.0.2.1
check add_block/v6 fwctl add-block 2001:db8:1::/64 --action drop
check_fails add_block/v6_effect reach c1 2001:db8:1::1
check add_block/other_client_unaffected reach c2 198.51.100.1
out=$(fwctl list blocks)
expect_match list/shows_block "$out" "192\.0\.2\.2/32.*drop"
expect_match list/shows_comment "$out" "lab test"
out=$(fwctl lookup 192.0.2.2)
expect_match lookup/block_rule "$out" "drop.*192\.0\.2\.2/32"
out=$(fwctl -j list blocks)
expect_match list/json "$out" '"prefix":"192\.0\.2\.2/32"'
check del_block/v4 fwctl del-block 192.0.2.2
check del_block/v4_effect reach c1 192.0.2.1
check del_block/v6 fwctl del-block 2001:db8:1::/64
check del_block/v6_effect reach c1 2001:db8:1::1
check_fails del_block/absent_refused fwctl del-block 192.0.2.77
# counts: a prefix named twice is one rule; a change that changes nothing says so
expect_eq count/duplicate_once "$(fwctl add-block 192.0.2.70 192.0.2.70)" "ok: blocked 1"
expect_match count/duplicate_once_json "$(fwctl -j del-block 192.0.2.70 192.0.2.70)" '"count":1,"changed":1'
expect_eq count/unblock_not_listed "$(fwctl unblock-country FR)" "ok: unblock-country 1 (0 changed)"
expect_match count/unblock_not_listed_json "$(fwctl -j unblock-country FR)" '"count":1,"changed":0'

# --- allow beats the country policy --------------------------------------------------
check allow/v4 fwctl allow 203.0.113.2 --comment "partner"
check allow/v4_effect reach c3 203.0.113.1
check allow/v6 fwctl allow 2001:db8:3::2
check allow/v6_effect reach c3 2001:db8:3::1
out=$(fwctl lookup 203.0.113.2)
expect_match lookup/allowlist "$out" "pass.*allow"
check del_allow/v4 fwctl del-allow 203.0.113.2
check_fails del_allow/v4_effect reach c3 203.0.113.1
check del_allow/v6 fwctl del-allow 2001:db8:3::2

# --- countries ---------------------------------------------------------------------
out=$(fwctl lookup 203.0.113.2)
expect_match lookup/country "$out" "RU"
check block_country/de fwctl block-country DE --action drop
check_fails block_country/de_effect_v4 reach c2 198.51.100.1
check_fails block_country/de_effect_v6 reach c2 2001:db8:2::1
# -j list countries gives each blocked country's action, as the text does
expect_match list/countries_actions "$(fwctl list countries)" "DE\(drop\) RU\(http403\)"
expect_match list/countries_json_actions "$(fwctl -j list countries)" '"actions":\{"DE":"drop","RU":"http403"\}'
check unblock_country/de fwctl unblock-country DE
check unblock_country/de_effect reach c2 198.51.100.1
check country_mode/allow fwctl country-mode allow
# allow mode: the list (RU) is what passes now; DE and US are blocked
check country_mode/allow_ru_passes reach c3 203.0.113.1
check_fails country_mode/allow_de_blocked reach c2 198.51.100.1
check country_mode/block fwctl country-mode block
check country_mode/block_de_passes reach c2 198.51.100.1
check_fails country_mode/block_ru_blocked reach c3 203.0.113.1

# --- import ------------------------------------------------------------------------
cat > "$LAB_DIR/drop.txt" <<'EOF'
; Spamhaus-style list
192.0.2.2/32 ; SBL000001
# a comment
2001:db8:1::2
EOF
check import/file fwctl import "$LAB_DIR/drop.txt"
check_fails import/effect_v4 reach c1 192.0.2.1
check_fails import/effect_v6 reach c1 2001:db8:1::1
echo "198.51.100.99" > "$LAB_DIR/drop.txt"
check import/replace fwctl import --replace "$LAB_DIR/drop.txt"
check import/replace_effect reach c1 192.0.2.1
printf '192.0.2.2\n010.1.1.1\n' > "$LAB_DIR/bad.txt"
check_fails import/bad_line_refused fwctl import "$LAB_DIR/bad.txt"
check import/bad_is_all_or_nothing reach c1 192.0.2.1

# --- TTL -----------------------------------------------------------------------------
check ttl/add fwctl add-block 192.0.2.2 --ttl 2s
check_fails ttl/blocked reach c1 192.0.2.1
sleep 2.5
check ttl/expired reach c1 192.0.2.1
out=$(fwctl list blocks)
if [[ $out == *192.0.2.2/32* ]]; then not_ok ttl/gone_from_list "$out"; else ok ttl/gone_from_list; fi

# --- stats -------------------------------------------------------------------------
out=$(fwctl stats)
expect_match stats/by_reason "$out" "country_block"
out=$(fwctl -j stats)
expect_match stats/json "$out" '"reasons"'

# --- restart continuity: kill -9 under a flood from a blocked source ---------------
check continuity/block fwctl add-block 192.0.2.2
in_ns srv nft -f - <<'EOF'
table inet gfwtest {
	chain pre {
		type filter hook prerouting priority -300;
		ip saddr 192.0.2.2 udp dport 9 counter
	}
}
EOF
in_ns c1 "$FLOOD" 192.0.2.1 9 20000 5000 >"$LAB_DIR/flood.out" 2>&1 &
flood=$!
sleep 1
geofwd_kill9
sleep 0.5
geofwd_start || not_ok continuity/restart "geofwd did not come back"
wait $flood
sent=$(cat "$LAB_DIR/flood.out")
arrived=$(in_ns srv nft list chain inet gfwtest pre | sed -n 's/.*counter packets \([0-9]*\).*/\1/p')
expect_eq continuity/flood_sent "$sent" 20000
expect_eq continuity/zero_reached_server "$arrived" 0
out=$(fwctl list blocks)
expect_match continuity/rules_kept "$out" "192\.0\.2\.2/32"

# --- incompatible pins: replaced without a moment unfiltered -----------------------------
# Pins claiming another ABI version: geofwd must build fresh maps beside them
# and switch the programs through the existing links while the old ones
# keep enforcing.
geofwd_stop
expect_match list/countries_json_actions_pins "$(fwctl -j list countries 2>/dev/null)" \
	'"actions":\{"RU":"http403"\}'
# the key of geofw.conf, as geofw.conf(5) spells it
expect_match lookup/pins_unknown_country_key "$(fwctl lookup 2001:db8:ffff::1 2>/dev/null)" \
	"no country for this address; UnknownCountry = pass"
printf -v bad_meta '%s' "66 6f 65 67 63 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00"
bpftool map update pinned "$LAB_PIN/gfw_meta" key hex 00 00 00 00 value hex $bad_meta
# and a map of an older ABI that this one no longer has (ABI 7 dropped
# gfw_rl_state): its pin must go with the old maps, not stay forever.
bpftool map create "$LAB_PIN/gfw_rl_state" type hash key 4 value 4 entries 1 name gfw_rl_state
in_ns srv nft reset counters table inet gfwtest >/dev/null
in_ns c1 "$FLOOD" 192.0.2.1 9 10000 5000 >"$LAB_DIR/flood.out" 2>&1 &
flood=$!
sleep 0.5
geofwd_start || not_ok incompatible/restart "geofwd did not start over incompatible pins"
wait $flood
arrived=$(in_ns srv nft list chain inet gfwtest pre | sed -n 's/.*counter packets \([0-9]*\).*/\1/p')
expect_eq incompatible/zero_reached_server "$arrived" 0
expect_match incompatible/logged "$(cat "$LAB_DIR/geofwd.log")" "incompatible; replaced"
[ ! -e "$LAB_PIN/gfw_rl_state" ] && ok incompatible/stale_map_unpinned ||
	not_ok incompatible/stale_map_unpinned "$LAB_PIN/gfw_rl_state still pinned"
out=$(fwctl -j status)
expect_match incompatible/status_ok "$out" '"running":true'
out=$(fwctl list blocks)
expect_match incompatible/rules_kept "$out" "192\.0\.2\.2/32"
check_fails incompatible/still_enforced reach c1 192.0.2.1

# --- canary frames: a program that is wrong for the device is refused ------------------
# The test hook gives the Ethernet veth the L3 entry: it would pass the
# blocked client.  Its canary frames disagree with the host decision, so the
# link keeps the program in force, and status says so with exit 1.
xdp_id() { in_ns srv ip link show "$1" | sed -n 's/.*prog\/xdp id \([0-9]*\).*/\1/p'; }
geofwd_stop
old_id=$(xdp_id gfw1)
export GEOFW_TEST_WRONG_ENTRY=1
geofwd_start || not_ok canary/start "geofwd did not start"
unset GEOFW_TEST_WRONG_ENTRY
expect_eq canary/program_in_force_kept "$(xdp_id gfw1)" "$old_id"
check_fails canary/still_enforced reach c1 192.0.2.1
out=$(fwctl status 2>&1)
expect_eq canary/status_exit_1 "$?" 1
expect_match canary/status_says_refused "$out" "gfw1: attached.*new XDP program refused: canary 'blocked from 192\.0\.2\.2 \(udp\)': XDP_PASS, expected XDP_DROP; the program in force stays"
expect_match canary/status_first_lines "$(echo "$out" | head -3)" "refused on 3 interfaces"
out=$(fwctl -j status)
expect_match canary/status_json "$out" '"program_refused":true'
expect_match canary/logged "$(cat "$LAB_DIR/geofwd.log")" "gfw1: new XDP program refused"
geofwd_stop
geofwd_start || not_ok canary/restart "geofwd did not start"
new_id=$(xdp_id gfw1)
if [ -n "$new_id" ] && [ "$new_id" != "$old_id" ]; then ok canary/good_program_switched; else
	not_ok canary/good_program_switched "xdp id $old_id -> $new_id"; fi
out=$(fwctl -j status)
expect_match canary/status_json_clear "$out" '"program_refused":false'
check_fails canary/enforced_after reach c1 192.0.2.1

# --- hotplug: the veth is deleted and re-created --------------------------------------
in_ns srv ip link del gfw1
ip link add gfw1 netns "$(ns srv)" type veth peer name eth0 netns "$(ns c1)"
in_ns srv ip addr add 192.0.2.1/24 dev gfw1
in_ns srv ip link set gfw1 up
in_ns c1 ip addr add 192.0.2.2/24 dev eth0
in_ns c1 ip link set eth0 up
attached=no
for i in $(seq 1 20); do
	if in_ns srv ip link show gfw1 | grep -q 'prog/xdp'; then attached=yes; break; fi
	sleep 0.05
done
expect_eq hotplug/reattached_within_1s "$attached" yes
check_fails hotplug/enforced reach c1 192.0.2.1
check del_block/after_hotplug fwctl del-block 192.0.2.2

# --- bad inputs ----------------------------------------------------------------------
for bad in 010.1.1.1 1.2.3 0x7f.0.0.1 203.0.113.7/24 192.0.2.0/33 0.0.0.0/0 "192.0.2.1 junk"; do
	fwctl add-block "$bad" >/dev/null 2>&1
	expect_eq "bad_input/cidr '$bad' exit 2" "$?" 2
done
fwctl block-country RUS >/dev/null 2>&1
expect_eq "bad_input/country RUS exit 2" "$?" 2
fwctl add-block 192.0.2.9 --ttl 0s >/dev/null 2>&1
expect_eq "bad_input/ttl 0s exit 2" "$?" 2
out=$(fwctl add-block 203.0.113.7/24 2>&1)
expect_match bad_input/host_bits_message "$out" "203\.0\.113\.0/24"
out=$(fwctl list blocks)
if [[ $out == *203.0.113* ]]; then not_ok bad_input/nothing_changed "$out"; else ok bad_input/nothing_changed; fi
out=$(in_net srv setpriv --reuid=65534 --regid=65534 --clear-groups \
	"$BUILD/fwctl" --socket "$LAB_DIR/geofwd.sock" add-block 192.0.2.9 2>&1)
status=$?
expect_eq bad_input/non_root_refused_exit "$status" 1
expect_match bad_input/non_root_message "$out" "[Pp]ermission denied"

# A broken config on SIGHUP: rejected, logged, the running policy stays.
cp "$LAB_DIR/geofw.conf" "$LAB_DIR/geofw.conf.good"
echo "NoSuchKey = 1" >> "$LAB_DIR/geofw.conf"
kill -HUP "$GEOFWD_PID"
sleep 0.5
check sighup_bad_config/daemon_alive kill -0 "$GEOFWD_PID"
check_fails sighup_bad_config/policy_kept reach c3 203.0.113.1
expect_match sighup_bad_config/logged "$(cat "$LAB_DIR/geofwd.log")" "geofw.conf:[0-9]+: .*NoSuchKey"
cp "$LAB_DIR/geofw.conf.good" "$LAB_DIR/geofw.conf"

# A broken config at start: exit 1 with FILE:LINE, nothing attached.
echo "XdpMode = fast" > "$LAB_DIR/bad.conf"
out=$(in_net srv "$BUILD/geofwd" -c "$LAB_DIR/bad.conf" --pin-dir "$LAB_PIN-bad" 2>&1)
status=$?
expect_eq bad_config/exit_1 "$status" 1
expect_match bad_config/file_line "$out" "bad.conf:1: XdpMode"
check_fails bad_config/no_pins test -e "$LAB_PIN-bad"

# --- stop keeps enforcement; --cleanup removes everything ------------------------------
check stop/add_block fwctl add-block 192.0.2.2
geofwd_stop
check_fails stop/enforcement_stays reach c1 192.0.2.1
check stop/stats_without_daemon fwctl stats
check stop/status_without_daemon fwctl status
# An interface re-created while geofwd is stopped has no XDP program: the
# pins' status says so first and exits 1.
in_ns srv ip link del gfw2
ip link add gfw2 netns "$(ns srv)" type veth peer name eth0 netns "$(ns c2)"
in_ns srv ip addr add 198.51.100.1/24 dev gfw2
in_ns srv ip -6 addr add 2001:db8:2::1/64 dev gfw2 nodad
in_ns srv ip link set gfw2 up
in_ns c2 ip addr add 198.51.100.2/24 dev eth0
in_ns c2 ip -6 addr add 2001:db8:2::2/64 dev eth0 nodad
in_ns c2 ip link set eth0 up
out=$(fwctl status 2>&1)
expect_eq stop/recreated_status_exit_1 "$?" 1
expect_eq stop/recreated_first_line "$(head -1 <<<"$out")" \
	"gfw2: NOT protected (re-created while geofwd is not running; start geofwd)"
out=$(fwctl -j status 2>/dev/null)
expect_eq stop/recreated_status_json_exit_1 "$?" 1
expect_match stop/recreated_status_json "$out" '"not_protected":\["gfw2"\]'
check cleanup/run in_net srv "$BUILD/geofwd" -c "$LAB_DIR/geofw.conf" --pin-dir "$LAB_PIN" --cleanup
check cleanup/pins_gone test ! -e "$LAB_PIN"
check cleanup/traffic_flows reach c1 192.0.2.1
out=$(in_ns srv ip link show gfw1)
if [[ $out == *prog/xdp* ]]; then not_ok cleanup/xdp_detached "$out"; else ok cleanup/xdp_detached; fi

# --- --detach-on-exit: stopping takes the firewall away ---------------------------------
geofwd_start --detach-on-exit || not_ok detach_on_exit/start "geofwd did not start"
check detach_on_exit/block fwctl add-block 192.0.2.2
check_fails detach_on_exit/enforced reach c1 192.0.2.1
geofwd_stop
check detach_on_exit/traffic_flows reach c1 192.0.2.1
check detach_on_exit/pins_gone test ! -e "$LAB_PIN"
out=$(in_ns srv ip link show gfw1)
if [[ $out == *prog/xdp* ]]; then not_ok detach_on_exit/xdp_detached "$out"; else ok detach_on_exit/xdp_detached; fi
out=$(in_ns srv tc filter show dev gfw1 ingress)
if [[ $out == *geofw_tc* ]]; then not_ok detach_on_exit/tc_detached "$out"; else ok detach_on_exit/tc_detached; fi

exit $((T_FAILED > 0))
