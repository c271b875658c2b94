#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Threat feeds (Feed lines of geofw.conf) in the namespace lab
# (tests/lib/lab.sh): a real nginx in srv serves the feed files on
# http://192.0.2.1/, geofwd fetches them and the lab's clients are dropped or
# pass as the feeds say.
#
#   load/      the first fetch blocks c1 (192.0.2.2); the set is one
#              imported list of source feed:lab
#   refresh/   the file changes: `fwctl feed refresh` replaces the set now
#   interval/  a reload with `every 2s`: the next change comes in by itself
#   notmod/    nothing changed: nginx answers 304 to the ETag, nothing is
#              replaced
#   fail/      404, an HTML page, text that is no list, an answer with no
#              entry (comments only, /0s only), a truncated answer
#              (a server closing early): the last good set stays, the error
#              is in fwctl status, fwctl feed list and /metrics; the next
#              try comes sooner than the interval
#   guard/     /0 and prefixes shorter than FeedMinPrefixV4 refused (the
#              rest applied); more entries than FeedMaxEntries refused; a set
#              dropping more than FeedMaxDropShare held back until `fwctl
#              feed confirm`, or until the next fetch agrees
#   persist/   a failing feed (error, retry in 5 min) and a set held back
#              survive a restart
#   action/    a Feed line's action changed at a reload applies to the set
#              in force at once, while the server fails
#   formats/   spamhaus DROP and FireHOL netset files; a local file path
#   restart/   a restart enforces the set from rules.db without fetching
#   byhand/    rows removed with fwctl del-source / del-block: the next fetch
#              (fwctl feed refresh, a restart) is unconditional and brings
#              them back
#   remove/    a Feed line removed: its rules go at the reload
#
# Usage: BUILD=build bash tests/e2e/feeds.sh   (from the repo root, root)
set -u
cd "$(dirname "$0")/../.." || exit 2
source tests/lib/lab.sh

PORT=9761
MURL=http://127.0.0.1:$PORT/metrics
FILLER=$(for i in $(seq 1 9); do echo "2001:db8:ff::$i"; done)

lab_up || { not_ok lab_up "cannot build the lab"; exit 1; }
nginx_up || { not_ok nginx_up "nginx did not start"; exit 1; }
WWW=$LAB_DIR/www
ACCESS=$LAB_DIR/nginx/access.log

# put FILE TEXT: the file nginx serves, replaced at once (rename).
put() { printf '%s\n' "$2" > "$WWW/$1.tmp" && chmod 644 "$WWW/$1.tmp" && mv "$WWW/$1.tmp" "$WWW/$1"; }
# conf LINE...: the lab configuration plus these lines.
conf() { lab_config "$(printf '%s\n' "MetricsListen = 127.0.0.1:$PORT" "$@")"; }
blocked() { ! reach "$1" "$2"; }
entries() { fwctl -j feed list | /usr/bin/python3 -c '
import json, sys
for f in json.load(sys.stdin)["feeds"]:
    if f["name"] == sys.argv[1]: print(f["entries"])' "$1"; }
feed_field() { fwctl -j feed list | /usr/bin/python3 -c '
import json, sys
for f in json.load(sys.stdin)["feeds"]:
    if f["name"] == sys.argv[1]: print(f[sys.argv[2]])' "$1" "$2"; }
metric() { in_ns srv curl -sf --max-time 5 "$MURL" | awk -v k="$1" '$1 == k { print $2 }'; }
gets() { grep -c "\"GET /$1 " "$ACCESS"; }
list_has() { fwctl feed list | grep -q -- "$1"; }
status_has() { fwctl status | grep -q -- "$1"; }
rules_have() { fwctl list --source "feed:$1" | grep -q -- "$2"; }
entries_are() { [ "$(entries "$1")" = "$2" ]; }
count_304() { grep -c "\"GET /$1 HTTP/1.1\" 304" "$ACCESS"; }
more_304() { [ "$(count_304 "$1")" -gt "$2" ]; }
successes_above() { [ "$(successes "$1")" -gt "$2" ]; }
listening() { in_ns srv ss -ltn | grep -q "192.0.2.1:$1 "; }
successes() { fwctl -j status | /usr/bin/python3 -c '
import json, sys
for s in json.load(sys.stdin)["sources"]:
    if s["name"] == sys.argv[1]: print(s["successes"])' "$1"; }

# ---- load --------------------------------------------------------------------------
put lab.txt "# lab feed
192.0.2.2
$FILLER"
conf "Feed = lab http://192.0.2.1/lab.txt every 1h"
geofwd_start || { not_ok geofwd_start "geofwd did not start"; exit 1; }
ok geofwd_start
check load/c1_dropped wait_for 5 blocked c1 192.0.2.1
check load/c2_passes reach c2 198.51.100.1
expect_eq load/entries "$(entries lab)" 10
expect_match load/list_source "$(fwctl list --source feed:lab)" "192.0.2.2/32"
expect_match load/status_source "$(fwctl status)" "source feed:lab: 10 rules in force"
expect_eq load/metrics_up "$(metric 'geofw_source_up{source="feed:lab"}')" 1
expect_eq load/metrics_rules "$(metric 'geofw_source_rules{source="feed:lab"}')" 10

# ---- refresh -----------------------------------------------------------------------
put lab.txt "198.51.100.2
$FILLER"
expect_match refresh/answer "$(fwctl feed refresh lab)" "fetch started"
check refresh/c2_dropped wait_for 5 blocked c2 198.51.100.1
check refresh/c1_passes wait_for 5 reach c1 192.0.2.1
check_fails refresh/unknown_feed fwctl feed refresh nosuchfeed

# ---- 304: nothing changed, nothing replaced ----------------------------------------
n_before=$(gets lab.txt)
s_before=$(successes feed:lab)
expect_match notmod/refresh_json "$(fwctl -j feed refresh lab)" '"what":"refresh","feed":"lab"'
check notmod/fetched wait_for 5 successes_above feed:lab "$s_before"
check notmod/answered_304 grep -q '"GET /lab.txt HTTP/1.1" 304' "$ACCESS"
expect_eq notmod/one_more_get "$(gets lab.txt)" $((n_before + 1))
expect_eq notmod/no_replacement "$(grep -c 'feed lab: .* entries in force' "$LAB_DIR/geofwd.log")" 2
check notmod/still_dropped blocked c2 198.51.100.1

# ---- interval: a changed Feed line at reload, then changes come in by themselves ----
conf "Feed = lab http://192.0.2.1/lab.txt every 2s"
check interval/reload fwctl reload
put lab.txt "192.0.2.2
$FILLER"
check interval/c1_dropped wait_for 8 blocked c1 192.0.2.1
check interval/c2_passes wait_for 8 reach c2 198.51.100.1

# ---- failures keep the last good set -------------------------------------------------
mv "$WWW/lab.txt" "$WWW/lab.saved"
check fail/404_seen wait_for 8 status_has 'source feed:lab: FAILING.*HTTP 404'
check fail/404_kept blocked c1 192.0.2.1
expect_eq fail/404_entries "$(entries lab)" 10
expect_eq fail/metrics_down "$(metric 'geofw_source_up{source="feed:lab"}')" 0
check fail/metrics_errors test "$(metric 'geofw_source_errors_total{source="feed:lab"}')" -ge 1
expect_match fail/feed_list "$(fwctl feed list)" "FAILING: last error .*HTTP 404"
check_fails fail/status_exit fwctl status
put lab.txt "<html><head><title>502 Bad Gateway</title></head><body>oops</body></html>"
check fail/html wait_for 8 list_has 'looks like HTML'
check fail/html_kept blocked c1 192.0.2.1
put lab.txt "this is not
a list of addresses
at all"
check fail/garbage wait_for 8 list_has 'nothing in the answer is a plain entry'
check fail/garbage_kept blocked c1 192.0.2.1
expect_eq fail/garbage_entries "$(entries lab)" 10
# No entry at all (a list being regenerated, only /0s): a failure, not a
# set to hold back, and answers that agree do not empty the feed.
put lab.txt "# list being regenerated"
check fail/no_entries wait_for 8 list_has 'no entries in the answer (only comments'
sleep 4
expect_eq fail/no_entries_kept "$(entries lab)" 10
check_fails fail/no_entries_not_held list_has 'HELD BACK'
check fail/no_entries_c1_dropped blocked c1 192.0.2.1
put lab.txt "0.0.0.0/0
::/0"
check fail/only_too_wide wait_for 8 list_has 'nothing in the answer is usable: 2 prefixes'
sleep 4
expect_eq fail/only_too_wide_kept "$(entries lab)" 10
check_fails fail/only_too_wide_status fwctl status
mv "$WWW/lab.saved" "$WWW/lab.txt"
check fail/recovers wait_for 8 fwctl status
expect_eq fail/metrics_up_again "$(metric 'geofw_source_up{source="feed:lab"}')" 1

# A server that announces more than it sends (the connection closes early).
in_ns srv /usr/bin/python3 -c '
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("192.0.2.1", 8081)); s.listen(8)
while True:
    c, _ = s.accept(); c.recv(4096)
    c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nContent-Type: text/plain\r\n\r\n198.51.100.2\n2001:db8:ee::1\n")
    c.close()' &
TRUNC_PID=$!
LAB_PIDS+=("$TRUNC_PID")
wait_for 5 listening 8081 || not_ok fail/truncating_server "the test server did not start"
conf "Feed = lab http://192.0.2.1/lab.txt every 2s" "Feed = cut http://192.0.2.1:8081/cut.txt every 1h"
check fail/reload_cut fwctl reload
check fail/truncated wait_for 8 list_has 'partial file'
check fail/truncated_nothing_taken reach c2 198.51.100.1
expect_eq fail/truncated_entries "$(entries cut)" 0
expect_match fail/retry_sooner "$(grep 'feed cut: fetch failed' "$LAB_DIR/geofwd.log")" "next try in 300s"
kill "$TRUNC_PID" 2>/dev/null; wait "$TRUNC_PID" 2>/dev/null

# ---- guards ---------------------------------------------------------------------------
conf "Feed = lab http://192.0.2.1/lab.txt every 1h" "FeedMinPrefixV4 = 16" "FeedMaxEntries = 20" \
	"FeedMaxDropShare = 50%"
check guard/reload fwctl reload
put lab.txt "192.0.2.2
0.0.0.0/0
64.0.0.0/2
10.0.0.0/8
$FILLER"
fwctl feed refresh lab >/dev/null
check guard/min_prefix_refused wait_for 5 list_has 'entries refused'
expect_eq guard/min_prefix_rest_applied "$(entries lab)" 10
check_fails guard/no_slash0 rules_have lab '0.0.0.0/0'
check_fails guard/no_slash8 rules_have lab '10.0.0.0/8'
check guard/metrics_refused test "$(metric 'geofw_source_entries_refused_total{source="feed:lab"}')" -ge 3

put lab.txt "192.0.2.2
$FILLER
$(for i in $(seq 1 15); do echo "2001:db8:fe::$i"; done)"
fwctl feed refresh lab >/dev/null
check guard/max_entries wait_for 5 list_has 'more than FeedMaxEntries'
expect_eq guard/max_entries_kept "$(entries lab)" 10

# 10 in force, a set of 2 would remove 9 (90% > 50%): held back.
put lab.txt "198.51.100.2
2001:db8:ff::1"
fwctl feed refresh lab >/dev/null
check guard/held wait_for 5 list_has 'HELD BACK'
check guard/held_old_set_stays blocked c1 192.0.2.1
check guard/held_new_not_applied reach c2 198.51.100.1
expect_eq guard/held_json "$(feed_field lab held_back | grep -c "'entries': 2")" 1
expect_match guard/held_in_status "$(fwctl status)" "HELD BACK"
expect_eq guard/held_metric "$(metric 'geofw_source_held_back{source="feed:lab"}')" 1
expect_match guard/confirm "$(fwctl feed confirm lab)" "held set of 2 entries is in force"
check guard/confirmed_c2_dropped wait_for 3 blocked c2 198.51.100.1
check guard/confirmed_c1_passes wait_for 3 reach c1 192.0.2.1
expect_eq guard/held_metric_cleared "$(metric 'geofw_source_held_back{source="feed:lab"}')" 0
check_fails guard/confirm_nothing fwctl feed confirm lab

# Held again, then the next fetch brings the same set (a 304): applied.
put lab.txt "192.0.2.2
$FILLER"
fwctl feed refresh lab >/dev/null
wait_for 5 list_has 'entries in force: 10'
put lab.txt "2001:db8:ff::1"
fwctl feed refresh lab >/dev/null
check guard/held_again wait_for 5 list_has 'HELD BACK'
fwctl feed refresh lab >/dev/null
check guard/next_fetch_agrees wait_for 5 list_has 'entries in force: 1,'
check_fails guard/not_held_anymore list_has 'HELD BACK'
check guard/agreed_c1_passes wait_for 3 reach c1 192.0.2.1

# ---- persist: a failing feed and a held set survive a restart -------------------------------
put lab.txt "192.0.2.2
$FILLER"
put bad.txt "203.0.113.2"
conf "Feed = lab http://192.0.2.1/lab.txt every 1h" "Feed = bad http://192.0.2.1/bad.txt every 1h"
check persist/reload fwctl reload
check persist/lab_fetched wait_for 5 entries_are lab 10
check persist/bad_fetched wait_for 5 entries_are bad 1
rm "$WWW/bad.txt"
fwctl feed refresh bad >/dev/null
check persist/bad_failing wait_for 5 list_has 'FAILING: .*HTTP 404'
put lab.txt "2001:db8:ff::1"
fwctl feed refresh lab >/dev/null
check persist/held wait_for 5 list_has 'HELD BACK'
n_before=$(gets lab.txt)
geofwd_stop
geofwd_start || not_ok persist/start
sleep 1
expect_match persist/held_after_restart "$(fwctl feed list)" "HELD BACK since .*: a set of 1 entries that would remove 9 of 10"
expect_match persist/failing_after_restart "$(fwctl status)" "source feed:bad: FAILING, last error .*HTTP 404"
check_fails persist/status_exit_1 fwctl status
next_in=$(( $(feed_field bad next_fetch) - $(date +%s) ))
check persist/retry_soon test "$next_in" -le 300
expect_eq persist/no_refetch "$(gets lab.txt)" "$n_before"
check persist/old_set_stays blocked c1 192.0.2.1
expect_match persist/confirm "$(fwctl feed confirm lab)" "held set of 1 entries is in force"
check persist/confirmed_c1_passes wait_for 3 reach c1 192.0.2.1

# ---- action: a Feed line's new action applies to the set in force at once -------------------
put lab.txt "192.0.2.2
$FILLER"
conf "Feed = lab http://192.0.2.1/lab.txt every 1h action log"
check action/reload_log fwctl reload
check action/log_fetched wait_for 5 entries_are lab 10
check action/log_passes reach c1 192.0.2.1
mv "$WWW/lab.txt" "$WWW/lab.saved"	# the server fails from now on
conf "Feed = lab http://192.0.2.1/lab.txt every 1h action drop"
check action/reload_drop fwctl reload
check action/drop_at_once wait_for 3 blocked c1 192.0.2.1
expect_match action/listed_drop "$(fwctl list --source feed:lab | grep 192.0.2.2/32)" "192\.0\.2\.2/32 +drop "
check action/fetch_failing wait_for 5 list_has 'FAILING: .*HTTP 404'
mv "$WWW/lab.saved" "$WWW/lab.txt"

# ---- formats ----------------------------------------------------------------------------
put drop.txt "; Spamhaus DROP List 2026/12/07 - (c) 2026 The Spamhaus Project SLU
; https://www.spamhaus.org/drop/drop.txt
; Last-Modified: Mon, 07 Dec 2026 02:00:00 GMT
192.0.2.0/24 ; SBL000001
203.0.113.128/25 ; SBL000002"
put level1.netset "#
# firehol_level1
#
# An ipset made from blocklists that provide the maximum of protection
#
198.51.100.0/24
2001:db8:2::/48"
mkdir -p "$LAB_DIR/feeds"
printf 'cidr,reason\n"2001:db8:3::2",scanner\n198.51.100.77,spam\n' > "$LAB_DIR/feeds/local.csv"
conf "Feed = sh http://192.0.2.1/drop.txt format spamhaus every 1h" \
	"Feed = fh http://192.0.2.1/level1.netset format netset every 1h action drop" \
	"Feed = local $LAB_DIR/feeds/local.csv format csv column 1 every 1h"
check formats/reload fwctl reload
check formats/spamhaus_c1_dropped wait_for 5 blocked c1 192.0.2.1
check formats/netset_c2_dropped wait_for 5 blocked c2 198.51.100.1
expect_eq formats/spamhaus_entries "$(entries sh)" 2
expect_eq formats/netset_entries "$(entries fh)" 2
check formats/file_fetched wait_for 5 entries_are local 2
check formats/file_v6_dropped wait_for 5 sh -c "! ip netns exec $(ns c3) ping -6 -c 1 -W 1 -q 2001:db8:3::1"
check formats/removed_feed_lab_gone test -z "$(fwctl list --source feed:lab | grep -E '^block')"

# ---- restart: the set from rules.db, no fetch ---------------------------------------------
n_before=$(gets drop.txt)
geofwd_stop
check restart/enforced_while_down blocked c1 192.0.2.1
geofwd_start || not_ok restart/start
check restart/enforced blocked c1 192.0.2.1
expect_eq restart/entries "$(entries sh)" 2
sleep 1
expect_eq restart/no_refetch "$(gets drop.txt)" "$n_before"
expect_match restart/logged "$(cat "$LAB_DIR/geofwd.log")" "feed sh: the set of the last fetch is in force; next fetch in"
n304=$(count_304 drop.txt)
fwctl feed refresh sh >/dev/null
check restart/refresh_conditional wait_for 5 more_304 drop.txt "$n304"

# ---- byhand: rows removed with fwctl come back at the next fetch ---------------------------
# The validators were those of the set now gone: a 304 to them would keep
# the feed empty.
expect_match byhand/del_source "$(fwctl del-source feed:sh)" "ok: removed 2"
check byhand/del_source_removed reach c1 192.0.2.1
fwctl feed refresh sh >/dev/null
check byhand/refresh_brings_back wait_for 5 blocked c1 192.0.2.1
expect_eq byhand/refresh_entries "$(entries sh)" 2
expect_match byhand/del_block "$(fwctl del-block 198.51.100.0/24)" "ok: unblocked 1"
check byhand/del_block_removed reach c2 198.51.100.1
n_before=$(gets level1.netset)
geofwd_stop
geofwd_start || not_ok byhand/start
more_gets() { [ "$(gets "$1")" -gt "$2" ]; }
check byhand/restart_fetches wait_for 5 more_gets level1.netset "$n_before"
check byhand/restart_brings_back wait_for 5 blocked c2 198.51.100.1
expect_eq byhand/restart_entries "$(entries fh)" 2

# ---- remove ---------------------------------------------------------------------------------
conf "Feed = fh http://192.0.2.1/level1.netset format netset every 1h"
check remove/reload fwctl reload
check remove/c1_passes wait_for 3 reach c1 192.0.2.1
expect_eq remove/no_rules "$(fwctl list --source feed:sh | grep -c '^block')" 0
check remove/c2_still_dropped blocked c2 198.51.100.1
check_fails remove/not_listed list_has 'feed sh:'

exit $((T_FAILED > 0))
