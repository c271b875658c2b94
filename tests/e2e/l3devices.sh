#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Interfaces without an Ethernet header are enforced (issue 11 §2): geofwd
# picks the XDP entry that parses from the IP header by the device's link
# type.  A real tun device in srv, driven by tests/tools/tunsend.py as the far
# end of a VPN would: blocked inner sources (by country and by IP, IPv4 and
# IPv6, 6to4) get no datagram through, allowed ones get all of them.  ipip,
# gre, sit, ip6gre, ip6tnl and wireguard are tested the same way where the
# kernel can create them; their parsing is in tests/prog/xdp_verdict.c (l3/*).
set -u
cd "$(dirname "$0")/../.." || exit 2
source tests/lib/lab.sh

PY=/usr/bin/python3
N=50

lab_up || { not_ok lab_up "cannot build the lab"; exit 1; }

# tun0 in srv: the local end 192.0.2.201 / 2001:db8:77::1; the sources
# arrive over it (routes back over tun0, so reverse-path checks agree).
in_ns srv ip tuntap add tun0 mode tun || { not_ok tun/create "ip tuntap add failed"; exit 1; }
in_ns srv ip addr add 192.0.2.201/32 dev tun0
in_ns srv ip -6 addr add 2001:db8:77::1/64 dev tun0 nodad
in_ns srv ip link set tun0 up
in_ns srv sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.tun0.rp_filter=0
ok tun/create

sed -i 's/^Interfaces = .*/Interfaces = gfw1 gfw2 gfw3 tun0/' "$LAB_DIR/geofw.conf"
geofwd_start || { not_ok geofwd_start "geofwd did not start"; exit 1; }
ok geofwd_start

# --- status: tun0 attached with the L3 entry ----------------------------------------------
out=$(fwctl status 2>&1)
expect_match status/tun0_attached "$out" 'interface tun0: attached, XDP [a-z]+ mode, link type none \(tun, wireguard\) \(parsed from the IP header\)'
check status/exit_0 fwctl status
json=$(fwctl -j status)
if $PY -c 'import json,sys; d=json.load(sys.stdin); t=[i for i in d["interfaces"] if i["name"]=="tun0"][0]; sys.exit(0 if t["l3"] and t["protected"] and t["link_type"]==65534 else 1)' <<<"$json"; then
	ok status/json_l3
else
	not_ok status/json_l3 "$json"
fi
prog=$(in_ns srv ip -d link show tun0)
expect_match tun0/xdp_program "$prog" 'prog/xdp.* name geofw_xdp_l3'

# --- traffic: country (RU blocked, DE allowed), IP rules, IPv4 in IPv6 ------------------------
check rules/block fwctl add-block 192.0.2.77 2001:db8:5::77
# 203.0.113.5 RU (http403: dropped on a device without responder), 2002:cb00:7105:: is
# 6to4 for it; 192.0.2.77 and 2001:db8:5::77 are IP-blocked.
out=$(in_ns srv "$PY" tests/tools/tunsend.py tun0 192.0.2.201 2001:db8:77::1 "$N" \
	203.0.113.5 2001:db8:3::5 2002:cb00:7105::5 192.0.2.77 2001:db8:5::77 \
	198.51.100.5 2001:db8:2::5 2002:c633:6405::5 2>&1)
echo "$out" | sed 's/^/# /'
# line NAME WANT: the tool's output has the line WANT exactly.
line() { if grep -qxF "$2" <<<"$out"; then ok "$1"; else not_ok "$1" "no line '$2'"; fi; }
for src in 203.0.113.5 2001:db8:3::5 2002:cb00:7105::5 192.0.2.77 2001:db8:5::77; do
	line "tun/blocked_gets_0/$src" "$src $N 0"
done
for src in 198.51.100.5 2001:db8:2::5 2002:c633:6405::5; do
	line "tun/allowed_gets_all/$src" "$src $N $N"
done
stats=$(fwctl stats)
expect_match tun/country_block_counted "$stats" 'country_block +[1-9]'

# --- fwctl lookup agrees for the 6to4 source ----------------------------------------------
out=$(fwctl lookup 2002:cb00:7105::5 2>&1)
expect_match lookup/6to4_judged_as_v4 "$out" 'RU'

# --- tunnel types this kernel may lack ------------------------------------------------------
for kind in ipip gre sit ip6gre ip6tnl wireguard; do
	case $kind in
	ip6gre|ip6tnl) args="local 2001:db8:1::1 remote 2001:db8:1::2" ;;
	wireguard) args="" ;;
	*) args="local 192.0.2.1 remote 192.0.2.2" ;;
	esac
	# shellcheck disable=SC2086
	if err=$(in_ns srv ip link add "t-$kind" type "$kind" $args 2>&1); then
		in_ns srv ip link del "t-$kind"
		skip "tunnel/$kind" "the kernel has $kind, but only tun is driven here; parsing: prog l3/*"
	else
		skip "tunnel/$kind" "this kernel cannot create $kind devices ($err); parsing covered by prog l3/*"
	fi
done

# --- a link type without a parser is refused by name ------------------------------------------
# (No such device can be created in a namespace here: infiniband, CAN and
# radiotap need hardware or modules this kernel lacks.)
if in_ns srv ip link add vcan0 type vcan 2>/dev/null; then
	sed -i 's/^Interfaces = .*/Interfaces = gfw1 vcan0/' "$LAB_DIR/geofw.conf"
	fwctl reload >/dev/null 2>&1
	out=$(fwctl status 2>&1); status=$?
	expect_match refuse/named "$out" 'interface vcan0: NOT protected: link type can \(ARPHRD 280\) cannot be parsed'
	expect_eq refuse/status_exit_1 "$status" 1
else
	skip refuse/named "no device type without a parser can be created here (vcan missing); geofwd refuses ARPHRD types it cannot parse (attach.c link_types)"
fi

exit $((T_FAILED > 0))
