#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# 403 responses per second: geofw's TC responder answering a blocked client
# from the kernel, against nginx answering `return 403;` itself to an
# allowed client.  Same machine, same wrk, same duration.
#
#   bench/http403.sh [--quick] [--seconds S] [--json FILE]
#
#   srv ── g_blk 203.0.113.1  ──  blk 203.0.113.2   (RU: http403 by geofw)
#       └─ g_alw 198.51.100.1 ──  alw 198.51.100.2  (DE: passes to nginx)
#
# Countries come from the lab fixture database (tests/fixtures/mkmmdb.pl).
# The responder closes every connection after its one response, so nginx
# is measured that way too (wrk sends "Connection: close"); nginx with
# keep-alive, which the responder cannot do, is shown for reference.
set -eu
cd "$(dirname "$0")/.."
source bench/lib.sh

DURATION=10
JSON=
while [ $# -gt 0 ]; do
	case $1 in
	--quick) DURATION=3 ;;
	--seconds) DURATION=$2; shift ;;
	--json) JSON=$2; shift ;;
	-h|--help) header_help "$0"; exit 0 ;;
	*) echo "http403.sh: unknown argument $1" >&2; exit 2 ;;
	esac
	shift
done

bench_init http403
need "$BUILD/geofwd" "$BUILD/fwctl"
command -v wrk >/dev/null || die "wrk missing (apt-get install wrk)"
command -v nginx >/dev/null || die "nginx missing (apt-get install nginx-light)"
CONNS=${BENCH_WRK_CONNECTIONS:-64}
THREADS=2

# ---- lab ----------------------------------------------------------------------------
perl tests/fixtures/mkmmdb.pl "$BENCH_DIR" >/dev/null || die "cannot write the fixture databases"
ns_add srv
for c in blk alw; do
	ns_add $c
	case $c in
	blk) net=203.0.113 ;;
	alw) net=198.51.100 ;;
	esac
	ip link add "g_$c" netns "$(ns srv)" type veth peer name eth0 netns "$(ns $c)"
	ip -n "$(ns srv)" addr add "$net.1/24" dev "g_$c"
	ip -n "$(ns $c)" addr add "$net.2/24" dev eth0
	ip -n "$(ns srv)" link set "g_$c" up
	ip -n "$(ns $c)" link set eth0 up
	# wrk opens a connection per request: give it all the ports.
	in_ns $c sysctl -qw net.ipv4.ip_local_port_range="1024 65535" net.ipv4.tcp_tw_reuse=1
done

geofwd_conf "$BENCH_DIR/geofw.conf" "g_blk g_alw" "$BENCH_DIR/lab.mmdb" \
	"Countries = RU" "CountryAction = http403" "UnknownCountry = pass" "HttpPorts = 80"
geofwd_start srv "$BENCH_DIR/geofw.conf" || die "geofwd did not start"

mkdir -p "$BENCH_DIR/nginx"
cat > "$BENCH_DIR/nginx/nginx.conf" <<EOF
daemon off;
worker_processes auto;
pid $BENCH_DIR/nginx/nginx.pid;
error_log $BENCH_DIR/nginx/error.log;
events { worker_connections 4096; }
http {
	access_log off;
	client_body_temp_path $BENCH_DIR/nginx;
	proxy_temp_path $BENCH_DIR/nginx;
	fastcgi_temp_path $BENCH_DIR/nginx;
	uwsgi_temp_path $BENCH_DIR/nginx;
	scgi_temp_path $BENCH_DIR/nginx;
	server {
		listen 80 backlog=4096;
		location / { return 403; }
	}
}
EOF
in_ns srv nginx -c "$BENCH_DIR/nginx/nginx.conf" >/dev/null 2>&1 &
BENCH_PIDS+=("$!")
for _ in $(seq 1 50); do
	in_ns srv ss -ltn 2>/dev/null | grep -q ':80 ' && break
	sleep 0.1
done
in_ns srv ss -ltn | grep -q ':80 ' || die "nginx did not start: $(cat "$BENCH_DIR/nginx/error.log" 2>/dev/null)"

# Both paths answer 403, and from where they should.
code() { in_ns "$1" curl -s -o /dev/null -w '%{http_code}' --max-time 3 "$2" || true; }
[ "$(code blk http://203.0.113.1/)" = 403 ] || die "the blocked client does not get the 403 page"
[ "$(code alw http://198.51.100.1/)" = 403 ] || die "the allowed client does not reach nginx"
fwctl -j stats | jq -e '[.countries[] | select(.country == "RU") | .blocked] | add > 0' >/dev/null ||
	die "the blocked client's 403 was not counted by geofw"

# run_wrk CLIENT URL [wrk args]: requests/s, total requests, errors, 403s.
run_wrk() {
	local c=$1 url=$2 out rps req errs non2xx
	shift 2
	out=$(in_ns "$c" timeout $((DURATION + 30)) wrk -t "$THREADS" -c "$CONNS" -d "${DURATION}s" \
		--timeout 2s "$@" "$url") || die "wrk failed: $out"
	rps=$(echo "$out" | awk '/^Requests\/sec:/ { print $2 }')
	req=$(echo "$out" | awk '/requests in/ { print $1 }')
	errs=$(echo "$out" | awk '/Socket errors:/ { s = 0; for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+,?$/) s += $i; print s }')
	non2xx=$(echo "$out" | awk '/Non-2xx or 3xx responses:/ { print $NF }')
	echo "${rps:-0} ${req:-0} ${errs:-0} ${non2xx:-0}"
}

resp_http403() { fwctl -j stats | jq '[.responder[]? | select(.event == "http403") | .packets] | add // 0'; }

r0=$(resp_http403)
# Not in a pipe or a < <(...): a wrk failure must stop the bench.
W=$(run_wrk blk http://203.0.113.1/) || exit 1
read -r G_RPS G_REQ G_ERR G_403 <<< "$W"
r1=$(resp_http403)
KERNEL_403=$((r1 - r0))
say "geofw responder: $G_RPS req/s ($G_REQ requests, $G_403 403s, $G_ERR socket errors; the responder counted $KERNEL_403 pages)"
# Placeholders against the static page, interleaved (static, filled,
# static, filled): the page is switched by a reload, as an operator would.
cp packaging/403-placeholders.html "$BENCH_DIR/403-fields.html"
page_rps() {	# page_rps FILE: req/s with FILE as Http403Body
	sed -i "s|^Http403Body = .*|Http403Body = $1|" "$BENCH_DIR/geofw.conf"
	fwctl reload >/dev/null || die "reload with $1 failed"
	local w
	w=$(run_wrk blk http://203.0.113.1/) || exit 1
	echo "${w%% *}"
}
S1=$(page_rps "$BENCH_DIR/403.html") || exit 1
P1=$(page_rps "$BENCH_DIR/403-fields.html") || exit 1
in_ns blk curl -s --max-time 3 http://203.0.113.1/ | grep -q 'reference <code>[0-9A-Z]\{12\}<' ||
	die "the placeholder page has no reference code"
S2=$(page_rps "$BENCH_DIR/403.html") || exit 1
P2=$(page_rps "$BENCH_DIR/403-fields.html") || exit 1
S_RPS=$(awk -v a="$S1" -v b="$S2" 'BEGIN { print (a + b) / 2 }')
P_RPS=$(awk -v a="$P1" -v b="$P2" 'BEGIN { print (a + b) / 2 }')
# (no '>' in awk's print statements: it is a redirection there)
RATIO=$(awk -v s="$S_RPS" -v p="$P_RPS" 'BEGIN { r = 0; if (s != 0) r = p / s; printf "%.3f", r }')
say "static page: $S1 / $S2 req/s; placeholders (5 fields): $P1 / $P2 req/s; ratio $RATIO"

W=$(run_wrk alw http://198.51.100.1/ -H "Connection: close") || exit 1
read -r N_RPS N_REQ N_ERR N_403 <<< "$W"
say "nginx, a connection per request: $N_RPS req/s ($N_REQ requests, $N_403 403s, $N_ERR socket errors)"
W=$(run_wrk alw http://198.51.100.1/) || exit 1
read -r K_RPS K_REQ K_ERR K_403 <<< "$W"
say "nginx, keep-alive: $K_RPS req/s ($K_REQ requests, $K_403 403s, $K_ERR socket errors)"

printf '\n%-44s %10s\n' "403 responder (wrk -t$THREADS -c$CONNS, ${DURATION}s)" "req/s"
printf '%-44s %10.0f\n' "geofw TC responder, blocked client" "$G_RPS"
printf '%-44s %10.0f\n' "  static page (A B A B with the next row)" "$S_RPS"
printf '%-44s %10.0f\n' "  placeholders filled ({{addr}} … {{ref}})" "$P_RPS"
printf '%-44s %10s\n' "  placeholders / static (target >= 0.90)" "$RATIO"
printf '%-44s %10.0f\n' "nginx return 403, Connection: close" "$N_RPS"
printf '%-44s %10.0f\n' "nginx return 403, keep-alive (reference)" "$K_RPS"

[ -z "$JSON" ] || jq -n --argjson d "$DURATION" --argjson c "$CONNS" --argjson t "$THREADS" \
	--argjson g "$G_RPS" --argjson g_req "$G_REQ" --argjson g_err "$G_ERR" \
	--argjson g_403 "$G_403" --argjson g_k "$KERNEL_403" \
	--argjson n "$N_RPS" --argjson n_req "$N_REQ" --argjson n_err "$N_ERR" --argjson n_403 "$N_403" \
	--argjson k "$K_RPS" --argjson k_req "$K_REQ" --argjson k_err "$K_ERR" --argjson k_403 "$K_403" \
	--argjson s "$S_RPS" --argjson p "$P_RPS" --argjson ratio "$RATIO" \
	'{seconds: $d, connections: $c, threads: $t,
	  geofw_responder: {rps: $g, requests: $g_req, responses_403: $g_403, socket_errors: $g_err,
			    kernel_http403_sent: $g_k},
	  nginx_close: {rps: $n, requests: $n_req, responses_403: $n_403, socket_errors: $n_err},
	  nginx_keepalive: {rps: $k, requests: $k_req, responses_403: $k_403, socket_errors: $k_err},
	  pages: {static_rps: $s, placeholders_rps: $p, ratio: $ratio}}' > "$JSON"
