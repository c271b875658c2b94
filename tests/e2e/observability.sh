#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Observability in the namespace lab (tests/lib/lab.sh): geofwd's /metrics
# (Prometheus text, checked with promtool), its values against traffic,
# `fwctl stats -j` and the pinned maps, bad HTTP requests, the connection
# limits; the drop log through `fwctl log` and geofwd's DropLog, rate limited
# under a flood; `fwctl top`.
set -u
cd "$(dirname "$0")/../.." || exit 2
source tests/lib/lab.sh

FLOOD=$BUILD/tests/tools/udpflood
PY=/usr/bin/python3
PORT=9745
URL=http://127.0.0.1:$PORT/metrics
RATE=20				# DropLogRate / --rate of the flood tests
NCPU=$(nproc)

# conf LINE...: the lab configuration plus these lines.
conf() { lab_config "$(printf '%s\n' "$@")"; }

# config_rate: config.events_rate in the pinned config map.
config_rate() {
	bpftool -j map lookup pinned "$LAB_PIN/gfw_config" key 0 0 0 0 | "$PY" -c '
import json, sys
d = json.load(sys.stdin)
print(d["formatted"]["value"]["events_rate"])'
}

ms() { echo $(( $(date +%s%N) / 1000000 )); }

# scrape: the metrics text (curl's status kept).
scrape() { in_ns srv curl -sf --max-time 5 "$URL"; }

# value TEXT SERIES: the value of one series ("name" or "name{labels}").
value() { awk -v k="$2" '$1 == k { print $2; f = 1 } END { if (!f) print "absent" }' <<<"$1"; }

# raw REQUEST: send bytes to the listener, print the status line of the answer.
raw() {
	in_ns srv "$PY" - "$PORT" "$1" <<-'EOF'
	import socket, sys
	s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=8)
	s.sendall(sys.argv[2].encode("latin-1"))
	data = b""
	while True:
	    try:
	        b = s.recv(65536)
	    except ConnectionResetError:
	        break
	    if not b:
	        break
	    data += b
	print(data.split(b"\r\n", 1)[0].decode("latin-1"))
	EOF
}

# flood CLIENT DST COUNT RATE: UDP to port 9, prints the count sent.
flood() { in_ns "$1" "$FLOOD" "$2" 9 "$3" "$4"; }

# pinned_sum MAP KEYBYTES FIELD: one key's per-CPU values of a pinned
# per-CPU array, summed (KEYBYTES: "4 0 0 0", split on purpose).
pinned_sum() {
	# shellcheck disable=SC2086
	bpftool -j map lookup pinned "$LAB_PIN/$1" key $2 | "$PY" -c '
import json, sys
d = json.load(sys.stdin)
field = sys.argv[1]
print(sum(v["value"][field] for v in d["formatted"]["values"]))' "$3"
}

# Wait until a series has a value (up to 5 s); prints the last value seen.
wait_value() {
	local series=$1 want=$2 i v
	for i in $(seq 1 50); do
		v=$(value "$(scrape)" "$series")
		[ "$v" = "$want" ] && break
		sleep 0.1
	done
	echo "$v"
}

if ! command -v promtool >/dev/null; then
	echo "# promtool missing (Debian package prometheus): format checks skipped"
fi

lab_up || { not_ok lab_up "cannot build the lab"; exit 1; }
ok lab_up
# Neighbours resolved first: a flood's first packets must not wait on ARP.
reach c1 192.0.2.1; reach c2 198.51.100.1; reach c3 203.0.113.1

# --- off by default --------------------------------------------------------------
geofwd_start || { not_ok geofwd_start "geofwd did not start"; exit 1; }
if scrape >/dev/null 2>&1; then
	not_ok metrics/off_by_default "something answers on $URL"
else
	ok metrics/off_by_default
fi

# --- on: a reload opens the listener -----------------------------------------------------
conf "MetricsListen = 127.0.0.1:$PORT" "DropLog = off" "DropLogRate = $RATE"
check metrics/reload_on fwctl reload
body=$(scrape)
expect_match metrics/served "$body" "geofw_build_info"
hdr=$(in_ns srv curl -s -D - -o /dev/null --max-time 5 "$URL" | tr -d '\r')
expect_match metrics/status_200 "$hdr" "^HTTP/1.1 200 OK"
expect_match metrics/content_type "$hdr" "Content-Type: text/plain; version=0.0.4"
expect_match metrics/connection_close "$hdr" "Connection: close"
if command -v promtool >/dev/null; then
	if out=$(promtool check metrics <<<"$body" 2>&1); then
		ok metrics/promtool
	else
		not_ok metrics/promtool "$(echo "$out" | head -5 | tr '\n' ' ')"
	fi
else
	skip metrics/promtool "promtool missing (Debian package prometheus)"
fi
for s in 'geofw_xdp_attached{interface="gfw1",mode="native"}' \
	 'geofw_xdp_attached{interface="gfw1",mode="generic"}'; do
	[ "$(value "$body" "$s")" = 1 ] && attached=$s
done
expect_match metrics/attached_gfw1 "${attached:-none}" 'gfw1'
expect_eq metrics/responder_gfw3 "$(value "$body" 'geofw_responder_attached{interface="gfw3"}')" 1
expect_eq metrics/geoip_loaded "$(value "$body" geofw_geoip_loaded)" 1
expect_match metrics/geoip_build_time "$(value "$body" geofw_geoip_build_timestamp_seconds)" '^[1-9][0-9]+$'
expect_match metrics/geoip_prefixes_v4 "$(value "$body" 'geofw_geoip_prefixes{family="ipv4"}')" '^[1-9][0-9]*$'
expect_eq metrics/countries_listed "$(value "$body" 'geofw_countries_listed{mode="block"}')" 1
expect_eq metrics/reloads_ok "$(value "$body" 'geofw_reloads_total{result="success"}')" 1
expect_match metrics/last_reload "$(value "$body" geofw_last_reload_success_timestamp_seconds)" '^[1-9][0-9]+$'
expect_eq metrics/droplog_off "$(value "$body" geofw_droplog_rate)" 0

# --- values follow the traffic ----------------------------------------------------------
check rules/add_block fwctl add-block 192.0.2.2 --comment "obs test"
before=$(scrape)
sent=$(flood c3 203.0.113.1 200 2000)
# Within a second of the last render the same text is served (the counters
# are read at most once a second); the rule added above is not a counter and
# shows at once.
sleep 0.1
cached=$(scrape)
k='geofw_reason_packets_total{reason="country_block"}'
expect_eq metrics/reused_within_1s "$(value "$cached" "$k")" "$(value "$before" "$k")"
sleep 1.1
after=$(scrape)
k='geofw_country_packets_total{country="RU",verdict="blocked"}'
b=$(value "$before" "$k"); [ "$b" = absent ] && b=0
expect_eq metrics/ru_blocked_moves "$(( $(value "$after" "$k") - b ))" "$sent"
k='geofw_reason_packets_total{reason="country_block"}'
expect_eq metrics/reason_moves "$(( $(value "$after" "$k") - $(value "$before" "$k") ))" "$sent"
expect_eq metrics/rules_block_address "$(value "$after" 'geofw_rules{kind="block_address",family="ipv4"}')" 1
sent1=$(flood c1 192.0.2.1 30 1000)
sleep 1.1
after=$(scrape)
expect_match metrics/rule_hits "$(grep '^geofw_rule_hits_total{' <<<"$after")" " $sent1\$"

# The same numbers from fwctl stats -j and from the pinned maps (blocked
# traffic only: nothing else blocks in the lab between the two reads).
stats=$(fwctl -j stats)
# from_stats LIST KEY NAME FIELD: one number of `fwctl -j stats`.
from_stats() {
	"$PY" -c '
import json, sys
lst, key, name, field = sys.argv[1:]
print([e[field] for e in json.load(sys.stdin)[lst] if e[key] == name][0])' "$@" <<<"$stats"
}
expect_eq metrics/matches_fwctl_country \
	"$(value "$after" 'geofw_country_packets_total{country="RU",verdict="blocked"}')" \
	"$(from_stats countries country RU blocked)"
expect_eq metrics/matches_fwctl_reason \
	"$(value "$after" 'geofw_reason_packets_total{reason="block_ip"}')" \
	"$(from_stats reasons reason block_ip packets)"
# gfw_cnt_reason key 4 = GEOFW_R_COUNTRY_BLOCK (include/geofw.h)
expect_eq metrics/matches_pinned_map \
	"$(value "$after" 'geofw_reason_packets_total{reason="country_block"}')" \
	"$(pinned_sum gfw_cnt_reason "4 0 0 0" packets)"
expect_eq metrics/matches_fwctl_action \
	"$(value "$after" 'geofw_action_packets_total{action="drop"}')" \
	"$(from_stats actions action drop packets)"

# --- bad requests ----------------------------------------------------------------------------
expect_eq http/post_405 "$(raw $'POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n')" \
	"HTTP/1.1 405 Method Not Allowed"
expect_eq http/path_404 "$(raw $'GET /nope HTTP/1.1\r\n\r\n')" "HTTP/1.1 404 Not Found"
expect_eq http/root_404 "$(raw $'GET / HTTP/1.0\r\n\r\n')" "HTTP/1.1 404 Not Found"
expect_eq http/garbage_400 "$(raw $'HELLO\r\n\r\n')" "HTTP/1.1 400 Bad Request"
expect_eq http/version_400 "$(raw $'GET /metrics HTTP/2.0\r\n\r\n')" "HTTP/1.1 400 Bad Request"
expect_eq http/absolute_400 "$(raw $'GET http://x/metrics HTTP/1.1\r\n\r\n')" "HTTP/1.1 400 Bad Request"
pad=$(head -c 6000 /dev/zero | tr '\0' a)
expect_eq http/huge_400 "$(raw "GET /metrics HTTP/1.1"$'\r\n'"X-Pad: $pad"$'\r\n\r\n')" \
	"HTTP/1.1 400 Bad Request"
expect_eq http/head_200 "$(raw $'HEAD /metrics HTTP/1.0\r\n\r\n')" "HTTP/1.1 200 OK"
expect_eq http/query_200 "$(raw $'GET /metrics?name[]=x HTTP/1.1\r\nHost: a\r\n\r\n')" "HTTP/1.1 200 OK"
expect_eq http/bare_lf_200 "$(raw $'GET /metrics HTTP/1.0\n\n')" "HTTP/1.1 200 OK"

# --- limits: idle connections time out and never stall geofwd ---------------------------------
# 12 idle connections (the cap is 8): geofwd keeps answering fwctl, a
# scrape is still answered (it takes the slot of the oldest idle one), and
# the idle ones are closed after 5 s at the latest.
in_ns srv "$PY" - "$PORT" >"$LAB_DIR/idle.out" 2>&1 <<-'EOF' &
	import socket, sys, time
	conns = []
	for i in range(12):
	    conns.append(socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10))
	conns[0].sendall(b"GET /metr")	# a slow request: never finished
	t0 = time.time()
	closed = 0
	for c in conns[:8]:
	    try:
	        c.recv(1)
	    except OSError:
	        pass
	    closed += 1
	print("closed %d after %.1f s" % (closed, time.time() - t0))
	EOF
idle_pid=$!
LAB_PIDS+=("$idle_pid")
sleep 0.5
t0=$(ms)
check limits/fwctl_answers fwctl status
expect_eq limits/fwctl_fast "$(( $(ms) - t0 < 2000 ))" 1
expect_eq limits/scrape_beats_idle "$(raw $'GET /metrics HTTP/1.1\r\n\r\n')" "HTTP/1.1 200 OK"
wait "$idle_pid"
idle=$(cat "$LAB_DIR/idle.out")
expect_match limits/idle_closed "$idle" "closed 8 after [4-7]\.[0-9] s"
expect_eq limits/served_again "$(raw $'GET /metrics HTTP/1.1\r\n\r\n')" "HTTP/1.1 200 OK"

# --- fwctl log: reads the pinned ring, turns sampling on and off --------------------------------
out=$(fwctl log 2>&1)
expect_match log/nothing_queued "$out" "no samples queued; the drop log is off"
# nsenter execs fwctl: $! is fwctl itself, which gets the signals.
nsenter --net="/run/netns/$(ns srv)" "$BUILD/fwctl" --socket "$LAB_DIR/geofwd.sock" \
	--pin-dir "$LAB_PIN" -j log --follow --rate "$RATE" >"$LAB_DIR/log.json" 2>"$LAB_DIR/log.err" &
log_pid=$!
LAB_PIDS+=("$log_pid")
expect_eq log/rate_on "$(wait_value geofw_droplog_rate "$RATE")" "$RATE"
sent=$(flood c3 203.0.113.1 15000 5000)
# The flood used up this second's sample budget of its CPU; a new window
# (the limiter's is one second) gives the rule-blocked source its samples.
sleep 1.2
flood c1 192.0.2.1 20 10 >/dev/null
sleep 1
kill -INT "$log_pid"
wait "$log_pid"
expect_eq log/exit_status "$?" 0
expect_eq log/rate_restored "$(wait_value geofw_droplog_rate 0)" 0
n=$(wc -l <"$LAB_DIR/log.json")
expect_match log/flood_sent "$sent" '^1[0-9]{4}$'
# 3 s of flood cover up to 4 one-second windows, each RATE per CPU.
max=$((RATE * 4 * NCPU + 20))
echo "# fwctl log: $n samples for $sent flood packets in 3 s (limit $RATE/s per CPU, $NCPU CPUs: at most $max)"
if [ "$n" -ge "$RATE" ] && [ "$n" -le "$max" ]; then
	ok log/rate_limited
else
	not_ok log/rate_limited "$n samples for $sent packets; expected $RATE..$max"
fi
per_sec=$("$PY" -c '
import json, sys, collections
c = collections.Counter(int(json.loads(l)["time"]) for l in open(sys.argv[1]))
print(max(c.values()) if c else 0)' "$LAB_DIR/log.json")
echo "# fwctl log: at most $per_sec samples in one second"
if [ "$per_sec" -le $((RATE * NCPU * 2)) ]; then
	ok log/per_second_bound
else
	not_ok log/per_second_bound "$per_sec samples in one second (limit $RATE per CPU, $NCPU CPUs)"
fi
ru=$(grep -c '"src":"203.0.113.2","dst":"203.0.113.1","proto":"udp","sport":[0-9]*,"dport":9,'\
'"reason":"country_block","action":"drop","country":"RU","interface":"gfw3"' "$LAB_DIR/log.json")
expect_match log/flood_source "$ru" '^[1-9][0-9]*$'
# A rule decides before any country lookup: the sample has no country.
us=$(grep -c '"src":"192.0.2.2".*"reason":"block_ip","action":"drop","country":null,'\
'"interface":"gfw1","ifindex":[0-9]*,"rule_id":[1-9]' "$LAB_DIR/log.json")
expect_match log/block_rule_source "$us" '^[1-9][0-9]*$'
bad=$("$PY" -c '
import json, sys
n = 0
for l in open(sys.argv[1]):
    try:
        json.loads(l)
    except ValueError:
        n += 1
print(n)' "$LAB_DIR/log.json")
expect_eq log/json_lines "$bad" 0
body=$(scrape)
expect_match log/suppressed_counted "$(value "$body" geofw_droplog_suppressed_total)" '^[1-9][0-9]*$'

# Text form, and sampling stays on while something else holds it.
nsenter --net="/run/netns/$(ns srv)" "$BUILD/fwctl" --socket "$LAB_DIR/geofwd.sock" \
	--pin-dir "$LAB_PIN" log --follow --rate 5 >"$LAB_DIR/log.txt" 2>/dev/null &
log_pid=$!
LAB_PIDS+=("$log_pid")
wait_value geofw_droplog_rate 5 >/dev/null
flood c3 203.0.113.1 200 1000 >/dev/null
sleep 0.7
kill -TERM "$log_pid"
wait "$log_pid"
expect_match log/text_line "$(head -1 "$LAB_DIR/log.txt")" \
	'^[0-9-]+ [0-9:.]+ src=203\.0\.113\.2 dst=203\.0\.113\.1 proto=udp sport=[0-9]+ dport=9 '\
'reason=country_block action=drop country=RU iface=gfw3$'
expect_eq log/sigterm_restores "$(wait_value geofw_droplog_rate 0)" 0

# --- fwctl top ---------------------------------------------------------------------------------
flood c3 203.0.113.1 20000 5000 >/dev/null &
fl=$!
LAB_PIDS+=("$fl")
sleep 0.3
# Samples are limited per CPU (100/s here): the second source stays well
# under that, so the flood ranks first whichever CPUs the two land on.
flood c1 192.0.2.1 40 20 >/dev/null &
top=$(fwctl top -n --interval 2 -j)
wait "$fl"
top_src=$("$PY" -c 'import json,sys; print(json.load(sys.stdin)["sources"][0]["address"])' <<<"$top" 2>&1)
expect_eq top/flood_source_first "$top_src" 203.0.113.2
top_cc=$("$PY" -c 'import json,sys; print(json.load(sys.stdin)["countries"][0]["country"])' <<<"$top" 2>&1)
expect_eq top/country_first "$top_cc" RU
top_r=$("$PY" -c 'import json,sys; print(json.load(sys.stdin)["reasons"][0]["reason"])' <<<"$top" 2>&1)
expect_eq top/reason_first "$top_r" country_block
top_pps=$("$PY" -c 'import json,sys; print(int(json.load(sys.stdin)["totals"]["blocked_per_sec"]))' <<<"$top" 2>&1)
if [ "$top_pps" -ge 2500 ] 2>/dev/null && [ "$top_pps" -le 7000 ]; then
	ok top/blocked_rate
else
	not_ok top/blocked_rate "blocked_per_sec $top_pps, flood at 5000/s"
fi
expect_eq top/rate_restored "$(wait_value geofw_droplog_rate 0)" 0
flood c3 203.0.113.1 6000 3000 >/dev/null &
fl=$!
LAB_PIDS+=("$fl")
out=$(fwctl top --once --interval 1)
wait "$fl"
expect_match top/text "$out" "203\.0\.113\.2 +[0-9]+ +[0-9.]+% +[0-9.]+  RU  country_block/drop"
expect_match top/text_country "$out" $'Top countries:\n  COUNTRY +BLOCKED/S +LOGGED/S +PASSED/S\n  RU '
echo "# fwctl top --once --interval 1:"
echo "$out" | sed 's/^/#   /'

# --- geofwd's DropLog ----------------------------------------------------------------------------
conf "MetricsListen = 127.0.0.1:$PORT" "DropLog = on" "DropLogRate = $RATE"
check droplog/reload_on fwctl reload
expect_eq droplog/rate_set "$(wait_value geofw_droplog_rate "$RATE")" "$RATE"
lines0=$(grep -c 'drop: src=' "$LAB_DIR/geofwd.log")
sent=$(flood c3 203.0.113.1 15000 5000)
sleep 1
n=$(( $(grep -c 'drop: src=' "$LAB_DIR/geofwd.log") - lines0 ))
echo "# DropLog: $n log lines for $sent flood packets in 3 s (limit $RATE/s per CPU, $NCPU CPUs)"
if [ "$n" -ge "$RATE" ] && [ "$n" -le $((RATE * 4 * NCPU + 20)) ]; then
	ok droplog/rate_limited
else
	not_ok droplog/rate_limited "$n log lines for $sent packets; expected $RATE..$((RATE * 4 * NCPU + 20))"
fi
line=$(grep 'drop: src=203.0.113.2' "$LAB_DIR/geofwd.log" | tail -1)
expect_match droplog/line "$line" \
	'drop: src=203\.0\.113\.2 dst=203\.0\.113\.1 proto=udp sport=[0-9]+ dport=9 '\
'reason=country_block action=drop country=RU iface=gfw3$'
# A `fwctl log` meanwhile shares the samples and leaves geofwd's rate alone.
nsenter --net="/run/netns/$(ns srv)" "$BUILD/fwctl" --socket "$LAB_DIR/geofwd.sock" \
	--pin-dir "$LAB_PIN" log --follow --rate 5 >"$LAB_DIR/log2.txt" 2>/dev/null &
log_pid=$!
LAB_PIDS+=("$log_pid")
sleep 0.3
flood c3 203.0.113.1 3000 3000 >/dev/null
sleep 0.5
kill -INT "$log_pid"
wait "$log_pid"
expect_eq droplog/fwctl_leaves_rate "$(config_rate)" "$RATE"
shared=$(( $(wc -l <"$LAB_DIR/log2.txt") + $(grep -c 'drop: src=' "$LAB_DIR/geofwd.log") - lines0 - n ))
echo "# DropLog and fwctl log together: $shared samples for 3000 packets in 1 s"
if [ "$shared" -ge "$RATE" ] && [ "$shared" -le $((RATE * 2 * NCPU * 2 + 20)) ]; then
	ok droplog/shared_with_fwctl
else
	not_ok droplog/shared_with_fwctl "$shared samples"
fi
body=$(scrape)
expect_eq droplog/samples_metric "$(value "$body" geofw_droplog_samples_total)" \
	"$(grep -c 'drop: src=' "$LAB_DIR/geofwd.log")"

# --- counters survive a restart of geofwd; stopping ends the sampling ------------------------------
v1=$(value "$body" 'geofw_reason_packets_total{reason="country_block"}')
geofwd_stop
expect_eq restart/sampling_off "$(config_rate)" 0
if scrape >/dev/null 2>&1; then not_ok restart/listener_gone "still answering"; else ok restart/listener_gone; fi
# geofwd down: fwctl log reads the pins, and `| head` ends it cleanly.
flood c3 203.0.113.1 4000 2000 >/dev/null &
fl=$!
LAB_PIDS+=("$fl")
out=$(timeout 10 nsenter --net="/run/netns/$(ns srv)" "$BUILD/fwctl" --socket "$LAB_DIR/geofwd.sock" \
	--pin-dir "$LAB_PIN" log --follow --rate 5 2>&1 | head -3)
status=${PIPESTATUS[0]}
wait "$fl"
expect_match restart/log_without_geofwd "$out" 'src=203\.0\.113\.2 .* reason=country_block'
expect_eq restart/log_pipe_closed_status "$status" 0
expect_eq restart/log_pipe_restores "$(config_rate)" 0
geofwd_start || { not_ok restart/geofwd_start "geofwd did not start again"; exit 1; }
body=$(scrape)
v2=$(value "$body" 'geofw_reason_packets_total{reason="country_block"}')
if [ "$v2" -ge "$v1" ] 2>/dev/null; then ok restart/monotonic; else not_ok restart/monotonic "$v1 then $v2"; fi
expect_eq restart/droplog_on_again "$(value "$body" geofw_droplog_rate)" "$RATE"

# --- another address on reload; off again ------------------------------------------------------------
conf "MetricsListen = [::1]:9746"
check listen/reload_v6 fwctl reload
if in_ns srv curl -sf --max-time 5 "http://[::1]:9746/metrics" | grep -q '^geofw_build_info'; then
	ok listen/v6_served
else
	not_ok listen/v6_served "no metrics on [::1]:9746"
fi
if scrape >/dev/null 2>&1; then not_ok listen/old_closed "$URL still answers"; else ok listen/old_closed; fi
expect_eq listen/droplog_off "$(value "$(in_ns srv curl -sf --max-time 5 "http://[::1]:9746/metrics")" geofw_droplog_rate)" 0
lab_config
check listen/reload_off fwctl reload
if in_ns srv curl -sf --max-time 2 "http://[::1]:9746/metrics" >/dev/null 2>&1; then
	not_ok listen/off "still answering"
else
	ok listen/off
fi

exit $((T_FAILED > 0))
