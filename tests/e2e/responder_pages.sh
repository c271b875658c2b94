#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# 403 pages that help: blocked clients of two countries (c3 RU by the
# country policy, c1 US by an IP rule) each get their own page with their
# own address and a reference code, over IPv4 and IPv6; `fwctl ref` decodes
# each code to the rule or policy that blocked, refuses an altered or forged
# code, and still decodes after a restart (the key is kept).  HEAD gets the
# headers only, a TLS hello on port 80 a reset, and a reload with a bad page
# keeps the pages in force.
set -u
cd "$(dirname "$0")/../.." || exit 2
source tests/lib/lab.sh

lab_up || { not_ok lab_up "cannot build the lab"; exit 1; }
cp packaging/403-placeholders.html "$LAB_DIR/403.html"
cat > "$LAB_DIR/403-us.html" <<'PAGE'
<html lang="en-US"><body><h1>US page</h1><p>addr={{addr}}|ref={{ref}}|country={{country}}|</p></body></html>
PAGE
lab_config "$(printf '%s\n' "Http403Page = US $LAB_DIR/403-us.html" "Http403RefHeader = on" \
	"Http403RefRetention = 7d")"
nginx_up || { not_ok nginx_up "nginx did not start"; exit 1; }
geofwd_start || { not_ok geofwd_start "geofwd did not start"; exit 1; }
ok setup
check ip_rule fwctl add-block 192.0.2.2 2001:db8:1::2 --action http403 --comment "e2e pages"

# field VALUE-AFTER-KEY: "ref=XXXX|" → XXXX (trailing padding removed)
field() { sed -n "s/.*$1\([^|<]*\)[|<].*/\1/p" <<<"$2" | head -1 | sed 's/ *$//'; }

declare -A CODE
# --- each client its page, its address, its code --------------------------------------
for row in "c3 http://203.0.113.1/ 203.0.113.2 RU default" \
	   "c3 http://[2001:db8:3::1]/ 2001:db8:3::2 RU default" \
	   "c1 http://192.0.2.1/ 192.0.2.2 US us" \
	   "c1 http://[2001:db8:1::1]/ 2001:db8:1::2 US us"; do
	read -r cl url addr cc page <<<"$row"
	name="page/$cl/$addr"
	out=$(in_ns "$cl" curl -s -i --max-time 3 "$url")
	# the body's bytes as received ($(...) drops the final newline)
	size=$(in_ns "$cl" curl -s -o /dev/null -w '%{size_download}' --max-time 3 "$url")
	expect_match "$name status" "$out" $'^HTTP/1.1 403 Forbidden\r'
	hdrs=${out%%$'\r\n\r\n'*}
	body=${out#*$'\r\n\r\n'}
	cl_hdr=$(sed -n 's/^Content-Length: \([0-9]*\)\r$/\1/p' <<<"$hdrs")
	expect_eq "$name exact_content_length" "$cl_hdr" "$size"
	ref_hdr=$(sed -n 's/^X-Geofw-Ref: \(.*\)\r$/\1/p' <<<"$hdrs")
	if [ "$page" = us ]; then
		expect_match "$name us_page" "$body" '<h1>US page</h1>'
		expect_match "$name content_language" "$hdrs" $'Content-Language: en-US\r'
		expect_eq "$name own_address" "$(field 'addr=' "$body")" "$addr"
		expect_eq "$name country" "$(field 'country=' "$body")" "$cc"
		code=$(field 'ref=' "$body")
	else
		expect_match "$name default_page" "$body" 'contact the site.s support'
		expect_match "$name content_language" "$hdrs" $'Content-Language: en\r'
		expect_match "$name own_address" "$body" "your address <code>$addr *</code> \\($cc\\)"
		expect_match "$name reason" "$body" 'blocked your connection \(country *\)'
		code=$(sed -n 's/.*reference <code>\([0-9A-Z]*\)<.*/\1/p' <<<"$body")
	fi
	expect_match "$name code_12_chars" "$code" '^[0-9ABCDEFGHJKMNPQRSTVWXYZ]{12}$'
	expect_eq "$name x_geofw_ref_header" "$ref_hdr" "$code"
	CODE[$cl$addr]=$code
done

# --- fwctl ref: the rule or the policy, and the fix ----------------------------------------
out=$(fwctl ref "${CODE[c1192.0.2.2]}")
expect_match ref/ip_rule "$out" 'reason: +ip'
expect_match ref/ip_rule_named "$out" 'blocked by: rule [0-9]+: http403 192\.0\.2\.2/32, source cli \("e2e pages"\)'
expect_match ref/ip_country "$out" 'country: +US'
expect_match ref/ip_fix "$out" 'fwctl allow ADDR'
out=$(fwctl ref "${CODE[c12001:db8:1::2]}")
expect_match ref/ip6_rule_named "$out" 'rule [0-9]+: http403 2001:db8:1::2/128'
out=$(fwctl ref "${CODE[c3203.0.113.2]}")
expect_match ref/country "$out" 'reason: +country'
expect_match ref/country_policy "$out" 'country policy: RU .* blocked country'
expect_match ref/country_fix "$out" 'fwctl unblock-country RU'
when=$(date -u +%Y-%m-%d)
expect_match ref/when "$out" "when: +$when [0-9]{2}:[0-9]{2} UTC"
json=$(fwctl ref -j "$(tr 'A-Z' 'a-z' <<<"${CODE[c3203.0.113.2]}")")
expect_match ref/json_lower_case "$json" '"reason": ?"country".*"country": ?"RU"'

# --- altered and forged codes are refused -----------------------------------------------
c=${CODE[c1192.0.2.2]}
last=${c:11:1}; [ "$last" = 0 ] && alt=1 || alt=0
check_fails ref/altered_refused fwctl ref "${c:0:11}$alt"
out=$(fwctl ref "${c:0:11}$alt" 2>&1)
expect_match ref/altered_message "$out" 'does not verify'
# Same fields, another reason (country instead of ip): the MAC no longer matches.
check_fails ref/reason_changed_refused fwctl ref "$(printf '%s' "$c" | sed 's/^./2/')"
check_fails ref/forged_refused fwctl ref 7ZZZZZZZZZZZ
check_fails ref/not_a_code fwctl ref HELLO-WORLD!

# --- HEAD: headers only; TLS on port 80: reset -----------------------------------------------
out=$(in_ns c3 curl -s -I --max-time 3 http://203.0.113.1/)
expect_match head/status "$out" $'^HTTP/1.1 403 Forbidden\r'
expect_match head/content_length "$out" 'Content-Length: [0-9]+'
head_bytes=$(in_ns c3 curl -s -I --max-time 3 -o /dev/null -w '%{size_download}' http://203.0.113.1/)
expect_eq head/no_body "$head_bytes" 0
res=$(in_ns c3 /usr/bin/python3 - <<'PY'
import socket
s = socket.create_connection(("203.0.113.1", 80), timeout=3)
s.sendall(b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + b"\x00" * 32)
try:
    data = s.recv(4096)
    print("data" if data else "closed")
except ConnectionResetError:
    print("reset")
PY
)
expect_eq not_http/reset "$res" reset

# --- a bad page keeps the pages in force ------------------------------------------------------
printf '<p>{{adress}}</p>\n' > "$LAB_DIR/403-bad.html"
cp "$LAB_DIR/geofw.conf" "$LAB_DIR/geofw.conf.good"
echo "Http403Page = ip $LAB_DIR/403-bad.html" >> "$LAB_DIR/geofw.conf"
out=$(fwctl reload 2>&1)
expect_match reload/bad_page_refused "$out" '403-bad.html:1: unknown placeholder \{\{adress\}\}'
out=$(in_ns c1 curl -s --max-time 3 http://192.0.2.1/)
expect_match reload/pages_in_force "$out" '<h1>US page</h1>'
cp "$LAB_DIR/geofw.conf.good" "$LAB_DIR/geofw.conf"

# --- codes survive a restart (the key is kept in StateDirectory) ------------------------------
geofwd_stop
geofwd_start || not_ok restart "geofwd did not start again"
out=$(fwctl ref "${CODE[c3203.0.113.2]}")
expect_match restart/code_still_decodes "$out" 'reason: +country'
keys=$(stat -c '%a' "$LAB_DIR/state/refkeys")
expect_eq restart/key_file_private "$keys" 600

exit $((T_FAILED > 0))
