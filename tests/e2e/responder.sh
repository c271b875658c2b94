#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The kernel 403 responder and the reject action with a real web server:
# nginx serves the allowed client; blocked clients (by country and by IP,
# IPv4 and IPv6) get the configured 403 page from the TC program, port 443
# gets a reset, and nginx never sees them.
set -u
cd "$(dirname "$0")/../.." || exit 2
source tests/lib/lab.sh

lab_up || { not_ok lab_up "cannot build the lab"; exit 1; }
nginx_up || { not_ok nginx_up "nginx did not start"; exit 1; }
geofwd_start || { not_ok geofwd_start "geofwd did not start"; exit 1; }
ok setup

body=$(cat "$LAB_DIR/403.html")

# --- the allowed client gets the site ------------------------------------------------
out=$(in_ns c2 curl -s --max-time 3 http://198.51.100.1/)
expect_eq allowed/v4_page "$out" "geofw lab: welcome"
out=$(in_ns c2 curl -s --max-time 3 'http://[2001:db8:2::1]/')
expect_eq allowed/v6_page "$out" "geofw lab: welcome"

# --- blocked by country: the 403 page from the kernel, within a second -----------------
for url in http://203.0.113.1/ 'http://[2001:db8:3::1]/' http://203.0.113.1:8080/x; do
	name="country_403/${url#http://}"
	start=$(date +%s%N)
	out=$(in_ns c3 curl -s -i --max-time 3 "$url")
	status=$?
	ms=$(( ($(date +%s%N) - start) / 1000000 ))
	expect_eq "$name curl_exit" "$status" 0
	expect_match "$name status_line" "$out" $'^HTTP/1.1 403 Forbidden\r'
	expect_match "$name headers" "$out" $'Content-Type: text/html; charset=utf-8\r\n.*Connection: close\r\n.*Cache-Control: no-store'
	got_body=${out#*$'\r\n\r\n'}
	expect_eq "$name exact_body" "$got_body" "$body"
	if [ "$ms" -lt 1000 ]; then ok "$name under_1s (${ms} ms)"; else not_ok "$name under_1s" "${ms} ms"; fi
done

# --- blocked by IP with the http403 action ----------------------------------------------
check ip_403/add fwctl add-block 192.0.2.2 2001:db8:1::2 --action http403
out=$(in_ns c1 curl -s -o /dev/null -w '%{http_code}' --max-time 3 http://192.0.2.1/)
expect_eq ip_403/v4 "$out" 403
out=$(in_ns c1 curl -s -o /dev/null -w '%{http_code}' --max-time 3 'http://[2001:db8:1::1]/')
expect_eq ip_403/v6 "$out" 403

# --- port 443 from a blocked client: reset, fast -------------------------------------------
for url in https://203.0.113.1/ 'https://[2001:db8:3::1]/'; do
	start=$(date +%s%N)
	in_ns c3 curl -s --max-time 5 "$url" >/dev/null 2>&1
	status=$?
	ms=$(( ($(date +%s%N) - start) / 1000000 ))
	# 7: connection refused (RST to the SYN); never 28 (timeout)
	expect_eq "reject_443/${url#https://} curl_exit_7" "$status" 7
	if [ "$ms" -lt 1000 ]; then ok "reject_443/${url#https://} under_1s (${ms} ms)"; else not_ok "reject_443/${url#https://} under_1s" "${ms} ms"; fi
done

# --- reject action: RST on every port ----------------------------------------------------
check reject/set fwctl add-block 192.0.2.2 --action reject
in_ns c1 curl -s --max-time 3 http://192.0.2.1/ >/dev/null 2>&1
expect_eq reject/port80_refused "$?" 7

# --- a bounded load from a blocked client: every request gets 403 -------------------------
codes=$(in_ns c3 curl -s --parallel --parallel-max 32 --max-time 10 -o /dev/null \
	-w '%{http_code}\n' "http://203.0.113.1/load?[1-10000]" 2>/dev/null | sort | uniq -c)
expect_match load/10000_all_403 "$codes" '^ *10000 403$'
stats=$(fwctl stats)
echo "$stats" | grep -iE 'http403|synack|cookie|rst' | sed 's/^/# /'

# --- the web server never saw a blocked client ------------------------------------------------
log=$(cat "$LAB_DIR/nginx/access.log")
if grep -qE '^(203\.0\.113\.2|192\.0\.2\.2|2001:db8:3::2|2001:db8:1::2) ' <<<"$log"; then
	not_ok nginx/no_blocked_requests "$(grep -cE '^(203\.0\.113\.2|192\.0\.2\.2)' <<<"$log") requests"
else
	ok nginx/no_blocked_requests
fi
expect_match nginx/allowed_logged "$log" '^198\.51\.100\.2 '
conns=$(in_ns srv ss -tan)
if grep -qE '203\.0\.113\.2|2001:db8:3::2' <<<"$conns"; then
	not_ok srv/no_sockets_for_blocked "$conns"
else
	ok srv/no_sockets_for_blocked
fi

exit $((T_FAILED > 0))
