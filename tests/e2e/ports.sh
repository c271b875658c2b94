#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Port-scoped policy with real traffic: nginx on port 80 open to everyone
# the country policy lets in, a service on 22/tcp only for Germany
# (PortPolicy in geofw.conf), a UDP port closed to one network (PortBlock),
# then the same kinds of rules changed at runtime with fwctl, explained by
# fwctl lookup, expiring by themselves and kept across a restart.
set -u
cd "$(dirname "$0")/../.." || exit 2
source tests/lib/lab.sh

PY=/usr/bin/python3

lab_up || { not_ok lab_up "cannot build the lab"; exit 1; }
lab_config "PortPolicy = 22/tcp allow-only DE
PortBlock = 5353/udp 192.0.2.0/24"
nginx_up || { not_ok nginx_up "nginx did not start"; exit 1; }

# A web server on 22/tcp (any TCP service does) and a UDP receiver that
# counts datagrams per port.
in_ns srv "$PY" -m http.server 22 --bind :: --directory "$LAB_DIR/www" >/dev/null 2>&1 &
LAB_PIDS+=($!)
cat >"$LAB_DIR/udpcount.py" <<'PYEOF'
import socket, sys, select
out = sys.argv[1]
socks = {}
for port in (5353, 5354):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", port))
    socks[s] = port
counts = {5353: 0, 5354: 0}
while True:
    r, _, _ = select.select(list(socks), [], [], 0.2)
    for s in r:
        s.recv(2048)
        counts[socks[s]] += 1
    with open(out + ".tmp", "w") as f:
        f.write("%d %d\n" % (counts[5353], counts[5354]))
    import os
    os.replace(out + ".tmp", out)
PYEOF
in_ns srv "$PY" "$LAB_DIR/udpcount.py" "$LAB_DIR/udp.count" &
LAB_PIDS+=($!)
wait_for 5 in_ns srv sh -c "ss -ltn | grep -q ':22 '" || { not_ok setup "no server on 22"; exit 1; }
geofwd_start || { not_ok geofwd_start "geofwd did not start"; exit 1; }
ok setup

code() { in_ns "$1" curl -s -o /dev/null -w '%{http_code}' --max-time "${3:-2}" "$2"; }

# --- the config's rules ------------------------------------------------------------------
expect_eq conf/de_reaches_22 "$(code c2 http://198.51.100.1:22/)" 200
expect_eq conf/de_reaches_22_v6 "$(code c2 'http://[2001:db8:2::1]:22/')" 200
expect_eq conf/us_not_22 "$(code c1 http://192.0.2.1:22/)" 000
expect_eq conf/us_not_22_v6 "$(code c1 'http://[2001:db8:1::1]:22/')" 000
expect_eq conf/us_reaches_80 "$(code c1 http://192.0.2.1/)" 200
expect_eq conf/de_reaches_80 "$(code c2 http://198.51.100.1/)" 200
# RU is blocked everywhere by the country policy (403 on HTTP ports).
expect_eq conf/ru_403_on_80 "$(code c3 http://203.0.113.1/)" 403

udp() { in_ns "$1" bash -c "for i in 1 2 3 4 5; do echo x >/dev/udp/$2/$3; done"; }
udp_count() { cat "$LAB_DIR/udp.count" 2>/dev/null; }
udp c1 192.0.2.1 5353
udp c1 192.0.2.1 5354
udp c2 198.51.100.1 5353
# 5353: only c2's five; 5354: c1's five.
wait_for 3 sh -c "[ \"\$(cat '$LAB_DIR/udp.count')\" = '5 5' ]"
expect_eq conf/udp_5353_closed_to_c1_only "$(udp_count)" "5 5"

out=$(fwctl lookup 192.0.2.2 22/tcp)
expect_match lookup/us_22 "$out" '^192\.0\.2\.2: drop \(not listed by the allow-only policy of 22/tcp \(country US\)'
out=$(fwctl lookup 198.51.100.2 22/tcp)
expect_match lookup/de_22 "$out" '^198\.51\.100\.2: pass \(listed by the allow-only policy of 22/tcp'
out=$(fwctl lookup 192.0.2.2 5353/udp)
expect_match lookup/udp_block "$out" '^192\.0\.2\.2: drop \(port-scoped block rule'
out=$(fwctl lookup 192.0.2.2)
expect_match lookup/no_port_source_only "$out" 'give PORT/PROTO'
out=$(fwctl -j lookup 192.0.2.2 22/tcp)
expect_match lookup/json_reason "$out" '"reason": *"port_policy_block"'
out=$(fwctl list ports)
expect_match list/config_policy "$out" 'allow-only +22/tcp +DE .*config'
expect_match list/config_block "$out" 'block +5353/udp +192\.0\.2\.0/24 .*config'

# --- runtime rules --------------------------------------------------------------------------
check rt/allow_c1_22 fwctl allow 192.0.2.2 --ports 22/tcp --comment "c1 admin"
expect_eq rt/us_reaches_22_now "$(code c1 http://192.0.2.1:22/)" 200
expect_eq rt/us_v6_still_not_22 "$(code c1 'http://[2001:db8:1::1]:22/')" 000
out=$(fwctl list ports)
expect_match rt/listed "$out" 'allow +22/tcp +192\.0\.2\.2/32 +pass +id [0-9]+ +cli'
out=$(fwctl -j list ports)
expect_match rt/listed_json "$out" '"kind": *"allow"'
# export: import takes no ports, so the rule follows as a comment that says so
out=$(fwctl export --source cli)
expect_match rt/export_says_ports_left_out "$out" "# port-scoped rules, not read back by fwctl import"
expect_match rt/export_port_rule "$out" "#port allow 22/tcp 192\.0\.2\.2/32 source=cli comment=c1 admin"
check rt/del_allow fwctl del-allow 192.0.2.2 --ports 22/tcp
expect_eq rt/us_not_22_again "$(code c1 http://192.0.2.1:22/)" 000
check_fails rt/del_allow_again fwctl del-allow 192.0.2.2 --ports 22/tcp

check rt/block_country_80 fwctl block-country DE --ports 80,443/tcp
expect_eq rt/de_not_80 "$(code c2 http://198.51.100.1/)" 000
expect_eq rt/de_still_22 "$(code c2 http://198.51.100.1:22/)" 200
expect_eq rt/us_still_80 "$(code c1 http://192.0.2.1/)" 200
check rt/unblock_country_80 fwctl unblock-country DE --ports 80,443/tcp
expect_eq rt/de_80_again "$(code c2 http://198.51.100.1/)" 200

# The policy replaced: the office network instead of Germany.
check rt/policy_replace fwctl port-policy 22/tcp allow-only 192.0.2.0/24 --comment office
expect_eq rt/policy_office_in "$(code c1 http://192.0.2.1:22/)" 200
# The same port list's policy from geofw.conf (DE) still lists its own:
# one policy per port list, its list the union of both.
expect_eq rt/policy_lists_join_config "$(code c2 http://198.51.100.1:22/)" 200
expect_eq rt/policy_others_out "$(code c1 'http://[2001:db8:1::1]:22/')" 000
# A policy of another port list holding 22 must list the source too.
check rt/policy_second fwctl port-policy 1-1024/tcp allow-only 192.0.2.0/24
expect_eq rt/policy_both_needed "$(code c2 http://198.51.100.1:22/)" 000
expect_eq rt/policy_both_listed "$(code c1 http://192.0.2.1:22/)" 200
check rt/policy_none fwctl port-policy 22/tcp none
check rt/policy_second_none fwctl port-policy 1-1024/tcp none
expect_eq rt/config_policy_back "$(code c2 http://198.51.100.1:22/)" 200
expect_eq rt/config_policy_back_us "$(code c1 http://192.0.2.1:22/)" 000

# Expiry: a port-scoped block with a TTL goes by itself.  5 s: the check
# that it blocks (curl retries its SYN after 1 s, gives up after 2) must
# end before the TTL does, also on a loaded machine.
check rt/block_ttl fwctl add-block 198.51.100.2 --ports 22/tcp --ttl 5s
expect_eq rt/ttl_blocked "$(code c2 http://198.51.100.1:22/)" 000
if wait_for 12 sh -c "[ \"\$(ip netns exec $(ns c2) curl -s -o /dev/null -w '%{http_code}' --max-time 1 http://198.51.100.1:22/)\" = 200 ]"; then
	ok rt/ttl_expired
else
	not_ok rt/ttl_expired "still blocked 12 s after a 5 s TTL"
fi
out=$(fwctl list ports)
if grep -q '198\.51\.100\.2' <<<"$out"; then not_ok rt/ttl_row_gone "$out"; else ok rt/ttl_row_gone; fi

# Kept across a restart (the store), enforced while geofwd is down (pins).
check restart/block fwctl add-block 192.0.2.2 --ports 80/tcp --action reject
in_ns c1 curl -s --max-time 2 http://192.0.2.1/ >/dev/null 2>&1
expect_eq restart/reject_rst "$?" 7
geofwd_stop
in_ns c1 curl -s --max-time 2 http://192.0.2.1/ >/dev/null 2>&1
st=$?
if [ "$st" = 7 ] || [ "$st" = 28 ]; then ok restart/enforced_while_down; else not_ok restart/enforced_while_down "curl exit $st"; fi
geofwd_start || { not_ok restart/start "geofwd did not start"; exit 1; }
in_ns c1 curl -s --max-time 2 http://192.0.2.1/ >/dev/null 2>&1
expect_eq restart/kept "$?" 7
expect_eq restart/c2_80 "$(code c2 http://198.51.100.1/)" 200

# Counters: the reasons moved.
stats=$(fwctl stats)
expect_match stats/port_policy_block "$stats" 'port_policy_block +[1-9]'
expect_match stats/port_block "$stats" 'port_block +[1-9]'
# The live port-scoped rule with hits is named, not "(rule removed)" (the
# rules deleted above are).
out=$(sed -n '/^Rules with the most hits/,/^$/p' <<<"$stats")
expect_match stats/port_rule_named "$out" "block 192\.0\.2\.2/32 \(ports\)"
expect_match stats/json_port_rule "$(fwctl -j stats)" '"list":"block","prefix":"192\.0\.2\.2/32","prefixes":1,"ports":true'

# --- AS rules limited to ports ------------------------------------------------------------
# The fixture ASN database (tests/fixtures/mkmmdb.pl: c1 192.0.2.0/24
# AS64500, c2 198.51.100.0/24 AS64502, c3 203.0.113.0/24 AS64503).
check as/del_restart_block fwctl del-block 192.0.2.2 --ports 80/tcp
geofwd_stop
lab_config "ASNDatabase = $LAB_DIR/lab-asn.mmdb
PortBlockASN = 22/tcp AS64502"
geofwd_start || { not_ok as/start "geofwd did not start"; exit 1; }
expect_eq as/conf_c2_not_22 "$(code c2 http://198.51.100.1:22/)" 000
expect_eq as/conf_c2_reaches_80 "$(code c2 http://198.51.100.1/)" 200
expect_eq as/conf_c1_reaches_22 "$(code c1 http://192.0.2.1:22/)" 200
out=$(fwctl lookup 198.51.100.2 22/tcp)
expect_match as/lookup_conf_block "$out" '^198\.51\.100\.2: drop \(port-scoped block rule .*\(AS64502\)'
out=$(fwctl lookup 198.51.100.2 80/tcp)
expect_match as/lookup_other_port "$out" '^198\.51\.100\.2: pass'
out=$(fwctl list ports)
expect_match as/list_conf "$out" 'block +22/tcp +AS64502 .*config'

# Runtime: c1's AS blocked on 22 only, then unblocked.
check as/block_asn_22 fwctl block-asn AS64500 --ports 22/tcp --comment "c1's AS on ssh"
expect_eq as/c1_not_22 "$(code c1 http://192.0.2.1:22/)" 000
expect_eq as/c1_reaches_80 "$(code c1 http://192.0.2.1/)" 200
out=$(fwctl list ports)
expect_match as/listed "$out" 'block +22/tcp +AS64500 +drop +id [0-9]+ +cli'
out=$(fwctl -j list ports)
expect_match as/listed_json "$out" '"asn": *64500'
out=$(fwctl list asns)
if grep -q '64500' <<<"$out"; then not_ok as/not_a_source_only_rule "$out"; else ok as/not_a_source_only_rule; fi
check_fails as/no_fleet fwctl block-asn AS64500 --ports 22/tcp --fleet
check as/unblock_asn_22 fwctl unblock-asn AS64500 --ports 22/tcp
expect_eq as/c1_22_again "$(code c1 http://192.0.2.1:22/)" 200
check_fails as/unblock_again fwctl unblock-asn AS64500 --ports 22/tcp

# A port-scoped AS allow beats the country block on its port only: c3 (RU).
check as/allow_asn_22 fwctl allow-asn AS64503 --ports 22/tcp
expect_eq as/c3_reaches_22 "$(code c3 http://203.0.113.1:22/)" 200
expect_eq as/c3_still_403_on_80 "$(code c3 http://203.0.113.1/)" 403
check as/del_allow_asn_22 fwctl del-allow-asn AS64503 --ports 22/tcp
expect_eq as/c3_not_22_again "$(code c3 http://203.0.113.1:22/)" 000

# port-policy allow-only with an AS: only c3's AS reaches 22.
check as/policy_asn fwctl port-policy 22/tcp allow-only AS64503
expect_eq as/policy_c3_in "$(code c3 http://203.0.113.1:22/)" 200
expect_eq as/policy_c1_out "$(code c1 http://192.0.2.1:22/)" 000
check as/policy_none fwctl port-policy 22/tcp none
expect_eq as/policy_gone_c1_in "$(code c1 http://192.0.2.1:22/)" 200

# The real GeoLite2 ASN database: a port-scoped rule of a real AS is
# compiled into its tables and explained (documentation addresses are in
# no real AS, so this is checked with fwctl lookup, the decision code run on
# the host against the kernel's maps).
REAL=/work/shared/data/GeoLite2-ASN.mmdb.gz
if [ -f "$REAL" ] && gunzip -c "$REAL" >"$LAB_DIR/real-asn.mmdb" 2>/dev/null; then
	geofwd_stop
	lab_config "ASNDatabase = $LAB_DIR/real-asn.mmdb
PortBlockASN = 22/tcp AS13335"
	geofwd_start || { not_ok as/real_start "geofwd did not start"; exit 1; }
	out=$(fwctl lookup 1.1.1.1 22/tcp)
	expect_match as/real_blocked_on_22 "$out" '^1\.1\.1\.1: drop \(port-scoped block rule .*\(AS13335\)'
	out=$(fwctl lookup 1.1.1.1 443/tcp)
	expect_match as/real_passes_443 "$out" '^1\.1\.1\.1: pass'
	out=$(fwctl lookup 8.8.8.8 22/tcp)
	expect_match as/real_other_as_passes "$out" '^8\.8\.8\.8: pass'
	check as/real_runtime fwctl block-asn AS15169 --ports 53/udp
	out=$(fwctl lookup 8.8.8.8 53/udp)
	expect_match as/real_runtime_blocked "$out" '^8\.8\.8\.8: drop \(port-scoped block rule .*\(AS15169\)'
else
	skip as/real_geolite2 "no $REAL (the real GeoLite2 ASN database)"
fi

exit $((T_FAILED > 0))
