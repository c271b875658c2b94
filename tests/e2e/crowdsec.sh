#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The CrowdSec bouncer (issue 14) against a real LAPI: Debian's crowdsec runs
# in the lab's srv namespace as a Local API alone (-no-cs -no-capi: its own
# config, SQLite database and data dir, no hub, no Central API) on 127.0.0.1
# there; geofwd (in srv too) pulls it every second.  cscli adds and deletes
# decisions; what geofwd enforces is seen in the clients' traffic.
#
#   startup/    a decision made before geofwd starts is enforced at start
#   ip/         --ip: c1 dropped; delete: c1 passes again
#   range/      --range --type captcha: c2 gets the 403 page (captcha ->
#               http403), ping dropped
#   country/    --scope Country --value DE: c2 (DE) blocked, listed as a
#               country rule of source crowdsec; delete: passes
#   ttl/        --duration 4s: blocked, then passes once it expired
#   overlap/    a short ban and a long captcha on one address: one rule, drop
#               first, the 403 page once the ban ended
#   refused/    a decision type not in CrowdSecAction: refused, counted, logged
#   as/         --scope AS (lab-asn.mmdb: c1 AS64500, c2 AS64502): a block-asn
#               rule of source crowdsec drops the AS's clients, AS64502 form
#               and captcha -> http403, a ban on the same AS makes one drop
#               rule; delete: passes; without ASNDatabase kept, status says
#               not enforced; beyond 254 ASes refused, counted, logged, the
#               rest applied, enforced once there is room
#   byhand/     fwctl del-source crowdsec, del-block, unblock-asn of rows LAPI
#               still holds: the next pull (a whole set) brings them back
#   down/       LAPI killed: the rules stay (also across a geofwd restart),
#               status and /metrics show the error, status exits 1
#   back/       LAPI back: the whole set is pulled, then deltas resume
#   badkey/     a wrong API key: HTTP 403 in status, rules kept
#   garbage/    an URL that answers something else (nginx): error, rules kept
#   off/        CrowdSecURL removed by a reload: the source's rules go
#
# Usage: BUILD=build bash tests/e2e/crowdsec.sh   (from the repo root, root)
set -u
cd "$(dirname "$0")/../.." || exit 2
source tests/lib/lab.sh

if ! command -v crowdsec >/dev/null 2>&1 || ! command -v cscli >/dev/null 2>&1; then
	skip crowdsec "crowdsec is not installed (packaging/install-deps.sh)"
	exit 0
fi

lab_up || { not_ok crowdsec/lab "lab_up failed"; exit 1; }
METRICS=127.0.0.1:9746
source tests/lib/lapi.sh
lapi_setup

unreach() { ! reach "$@"; }
status_has() { fwctl status 2>&1 | grep -q -- "$1"; }
status_lacks() { ! fwctl status 2>&1 | grep -q -- "$1"; }
metric() { in_ns srv curl -s --max-time 2 "http://$METRICS/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }


if ! lapi_up; then
	not_ok crowdsec/lapi_starts "$(tail -5 "$CS/lapi.log" | tr '\n' ' ')"
	exit 1
fi
ok crowdsec/lapi_starts
if ! lapi_bouncer "$LAB_DIR/crowdsec.key"; then
	not_ok crowdsec/bouncer_key "cscli bouncers add printed nothing: $(tail -3 "$CS/cscli.log" | tr '\n' ' ')"
	exit 1
fi
printf 'not-the-key\n' >"$LAB_DIR/wrong.key"
chmod 600 "$LAB_DIR/wrong.key"

# cs_config [URL [KEYFILE [ASNDB]]]
cs_config() {
	lab_config "$(printf 'CrowdSecURL = %s\nCrowdSecAPIKeyFile = %s\nCrowdSecInterval = 1s\nMetricsListen = %s\nASNDatabase = %s\n' \
		"${1:-http://127.0.0.1:8080/}" "${2:-$LAB_DIR/crowdsec.key}" "$METRICS" \
		"${3:-$LAB_DIR/lab-asn.mmdb}")"
}
cs_config

# ---- startup ---------------------------------------------------------------------------

cscli decisions add --ip 192.0.2.2 --duration 1h --reason geofw-test
nginx_up || not_ok crowdsec/nginx "nginx did not start"
check crowdsec/clients_pass_before reach c1 192.0.2.1
geofwd_start || { not_ok crowdsec/geofwd_start; exit 1; }
if wait_for 5 unreach c1 192.0.2.1; then ok crowdsec/startup/decision_enforced_at_start
else not_ok crowdsec/startup/decision_enforced_at_start "c1 still answered"; fi
check crowdsec/startup/others_pass reach c2 198.51.100.1
list=$(fwctl list --source crowdsec 2>&1)
expect_match crowdsec/startup/listed_with_source "$list" "192\.0\.2\.2/32 +drop .*crowdsec"
expect_match crowdsec/startup/comment_names_scenario "$list" "crowdsec ban: geofw-test"
wait_for 3 status_has "source crowdsec: 1 rule in force"
expect_match crowdsec/startup/status "$(fwctl status 2>&1)" "source crowdsec: 1 rule in force, last success [0-9]+s ago"

# ---- ip: delete --------------------------------------------------------------------------

cscli decisions delete --ip 192.0.2.2
if wait_for 4 reach c1 192.0.2.1; then ok crowdsec/ip/deleted_passes_again
else not_ok crowdsec/ip/deleted_passes_again "c1 still dropped"; fi
cscli decisions add --ip 2001:db8:1::2 --duration 1h
if wait_for 4 unreach c1 2001:db8:1::1; then ok crowdsec/ip/ipv6_dropped
else not_ok crowdsec/ip/ipv6_dropped "c1 answered over IPv6"; fi
check crowdsec/ip/ipv4_of_same_client_passes reach c1 192.0.2.1
cscli decisions delete --ip 2001:db8:1::2
wait_for 4 reach c1 2001:db8:1::1 || not_ok crowdsec/ip/ipv6_deleted

# ---- range, captcha -> http403 --------------------------------------------------------------

cscli decisions add --range 198.51.100.0/24 --type captcha --duration 1h
if wait_for 4 unreach c2 198.51.100.1; then ok crowdsec/range/ping_dropped
else not_ok crowdsec/range/ping_dropped "c2 still answered"; fi
expect_match crowdsec/range/captcha_gets_403 "$(http c2 http://198.51.100.1/)" "^403 "
expect_match crowdsec/range/listed_http403 "$(fwctl list --source crowdsec 2>&1)" \
	"198\.51\.100\.0/24 +http403 .*crowdsec"
cscli decisions delete --range 198.51.100.0/24
if wait_for 4 reach c2 198.51.100.1; then ok crowdsec/range/deleted_passes_again
else not_ok crowdsec/range/deleted_passes_again "c2 still dropped"; fi
expect_match crowdsec/range/page_again "$(http c2 http://198.51.100.1/)" "^200 "

# ---- country -----------------------------------------------------------------------------------

cscli decisions add --scope Country --value DE --duration 1h
if wait_for 4 unreach c2 198.51.100.1; then ok crowdsec/country/blocked
else not_ok crowdsec/country/blocked "c2 (DE) still answered"; fi
check crowdsec/country/other_country_passes reach c1 192.0.2.1
expect_match crowdsec/country/listed "$(fwctl list --source crowdsec 2>&1)" "country DE +drop .*crowdsec"
lj=$(fwctl -j list --source crowdsec 2>&1)
expect_match crowdsec/country/listed_json "$lj" '"type":"country_block","country":"DE","action":"drop"'
cscli decisions delete --value DE
if wait_for 4 reach c2 198.51.100.1; then ok crowdsec/country/deleted_passes_again
else not_ok crowdsec/country/deleted_passes_again "c2 still dropped"; fi
# The config's own country (RU: http403 page for c3) is untouched.
expect_match crowdsec/country/config_policy_kept "$(http c3 http://203.0.113.1/)" "^403 "

# ---- ttl ----------------------------------------------------------------------------------------

# 8 s: cscli itself can take seconds to start on a loaded machine, and the
# decision's clock runs from its creation (a 4 s one expired before a
# loaded run saw it blocked once, in 1 of 5 runs).
cscli decisions add --ip 192.0.2.2 --duration 8s
if wait_for 6 unreach c1 192.0.2.1; then ok crowdsec/ttl/blocked
else not_ok crowdsec/ttl/blocked "c1 still answered"; fi
if wait_for 14 reach c1 192.0.2.1; then ok crowdsec/ttl/expired_passes
else not_ok crowdsec/ttl/expired_passes "c1 still dropped after its duration"; fi
expect_eq crowdsec/ttl/row_gone "$(fwctl list --source crowdsec 2>&1 | grep -c 192.0.2.2)" 0

# ---- overlap: two decisions on one address -------------------------------------------------------

# Listed before the http check (a drop costs curl its 3 s): once the ban
# ends, the captcha's rule is written again only at the next pull.
cscli decisions add --ip 192.0.2.2 --duration 6s
cscli decisions add --ip 192.0.2.2 --type captcha --duration 1h
wait_for 3 unreach c1 192.0.2.1
expect_match crowdsec/overlap/one_rule "$(fwctl list --source crowdsec 2>&1 | grep -c '192\.0\.2\.2/32')" "^1$"
expect_match crowdsec/overlap/strictest_first "$(http c1 http://192.0.2.1/)" "^000 "
http_403() { http c1 http://192.0.2.1/ | grep -q '^403 '; }
if wait_for 12 http_403; then ok crowdsec/overlap/weaker_takes_over_after_expiry
else not_ok crowdsec/overlap/weaker_takes_over_after_expiry "$(http c1 http://192.0.2.1/)"; fi
cscli decisions delete --ip 192.0.2.2
if wait_for 4 reach c1 192.0.2.1; then ok crowdsec/overlap/deleted_passes
else not_ok crowdsec/overlap/deleted_passes "c1 still dropped"; fi

# ---- refused: a decision type not in CrowdSecAction ----------------------------------------------

cscli decisions add --ip 192.0.2.2 --type throttle --duration 1h
if wait_for 4 status_has "1 entry refused"; then ok crowdsec/refused/counted
else not_ok crowdsec/refused/counted "$(fwctl status 2>&1 | grep crowdsec)"; fi
check crowdsec/refused/not_enforced reach c1 192.0.2.1
expect_eq crowdsec/refused/metric "$(metric 'geofw_source_entries_refused_total{source="crowdsec"}')" 1
grep -q 'decision(s) refused, the others applied; first: new\[0\]: type not in CrowdSecAction: throttle' \
	"$LAB_DIR/geofwd.log"
expect_eq crowdsec/refused/logged_with_reason $? 0
cscli decisions delete --ip 192.0.2.2

# ---- as --------------------------------------------------------------------------------------------

http_is() { http "$1" "$2" | grep -q "^$3 "; }
cscli decisions add --scope AS --value 64500 --duration 1h --reason geofw-as
if wait_for 4 unreach c1 192.0.2.1; then ok crowdsec/as/blocked
else not_ok crowdsec/as/blocked "c1 (AS64500) still answered"; fi
check crowdsec/as/ipv6_blocked unreach c1 2001:db8:1::1
check crowdsec/as/other_as_passes reach c2 198.51.100.1
list=$(fwctl list --source crowdsec 2>&1)
expect_match crowdsec/as/listed_block_asn "$list" "^block-asn AS64500 +drop .*crowdsec"
expect_match crowdsec/as/comment "$list" "crowdsec ban: geofw-as"
expect_match crowdsec/as/status_enforced "$(fwctl status 2>&1)" \
	"AS rules: 1 blocked \+ 0 allowed ASes in force"
# The "AS64502" form; captcha -> http403; a ban on the same AS: one rule, drop.
cscli decisions add --scope AS --value AS64502 --type captcha --duration 1h
if wait_for 4 http_is c2 http://198.51.100.1/ 403; then ok crowdsec/as/as_prefix_captcha_403
else not_ok crowdsec/as/as_prefix_captcha_403 "$(http c2 http://198.51.100.1/)"; fi
cscli decisions add --scope AS --value 64502 --duration 1h
if wait_for 4 unreach c2 198.51.100.1; then ok crowdsec/as/ban_over_captcha_drops
else not_ok crowdsec/as/ban_over_captcha_drops "c2 still answered"; fi
expect_eq crowdsec/as/one_rule_per_as "$(fwctl list --source crowdsec 2>&1 | grep -c 'AS64502')" 1
# Without ASNDatabase the rules are kept and status says they are not enforced.
cs_config "" "" none
fwctl reload >/dev/null 2>&1
expect_match crowdsec/as/no_db_status "$(fwctl status 2>&1)" "AS rules: NOT enforced: no ASNDatabase"
expect_match crowdsec/as/no_db_rows_kept "$(fwctl list --source crowdsec 2>&1)" "^block-asn AS64500 "
cs_config
fwctl reload >/dev/null 2>&1
if wait_for 4 unreach c1 192.0.2.1; then ok crowdsec/as/db_back_enforced
else not_ok crowdsec/as/db_back_enforced "c1 answered"; fi
cscli decisions delete --value 64500
if wait_for 4 reach c1 192.0.2.1; then ok crowdsec/as/deleted_passes_again
else not_ok crowdsec/as/deleted_passes_again "c1 still dropped"; fi
cscli decisions delete --value 64502
cscli decisions delete --value AS64502
if wait_for 4 reach c2 198.51.100.1; then ok crowdsec/as/all_deleted_passes
else not_ok crowdsec/as/all_deleted_passes "c2 still dropped"; fi
expect_eq crowdsec/as/none_listed "$(fwctl list --source crowdsec 2>&1 | grep -c block-asn)" 0
# At most 254 ASes with rules: 254 of fwctl, then an AS decision is refused,
# counted and logged; an address decision still applies; room -> enforced.
refused0=$(metric 'geofw_source_entries_refused_total{source="crowdsec"}')
check crowdsec/as/limit_setup fwctl block-asn $(seq 65000 65253)
cscli decisions add --scope AS --value 64500 --duration 1h
cscli decisions add --ip 198.51.100.2 --duration 1h
if wait_for 4 unreach c2 198.51.100.1; then ok crowdsec/as/limit_rest_applies
else not_ok crowdsec/as/limit_rest_applies "c2 answered"; fi
metric_is() { [ "$(metric "$1")" = "$2" ]; }
if wait_for 4 metric_is 'geofw_source_entries_refused_total{source="crowdsec"}' $((refused0 + 1))
then ok crowdsec/as/limit_refused_counted
else not_ok crowdsec/as/limit_refused_counted "$(metric 'geofw_source_entries_refused_total{source="crowdsec"}'), was $refused0"; fi
check crowdsec/as/limit_refused_passes reach c1 192.0.2.1
expect_eq crowdsec/as/limit_not_listed "$(fwctl list --source crowdsec 2>&1 | grep -c AS64500)" 0
grep -q "crowdsec: 1 AS decision(s) refused, first AS64500: at most 254 ASes" "$LAB_DIR/geofwd.log"
expect_eq crowdsec/as/limit_logged $? 0
expect_match crowdsec/as/limit_status_not_failing "$(fwctl status 2>&1 | grep 'source crowdsec')" \
	"source crowdsec: [0-9]+ rules? in force, last success [0-9]+s ago, [0-9]+ entries refused$"
check crowdsec/as/limit_room fwctl unblock-asn 65000
if wait_for 4 unreach c1 192.0.2.1; then ok crowdsec/as/limit_enforced_once_room
else not_ok crowdsec/as/limit_enforced_once_room "c1 answered"; fi
expect_eq crowdsec/as/limit_counted_once "$(metric 'geofw_source_entries_refused_total{source="crowdsec"}')" \
	$((refused0 + 1))
fwctl unblock-asn $(seq 65001 65253) >/dev/null
cscli decisions delete --value 64500
cscli decisions delete --ip 198.51.100.2
wait_for 4 reach c1 192.0.2.1 || not_ok crowdsec/as/limit_cleanup "c1 still dropped"
wait_for 4 reach c2 198.51.100.1 || not_ok crowdsec/as/limit_cleanup "c2 still dropped"

# ---- byhand: rows removed with fwctl come back at the next pull ----------------------------------

# LAPI still holds the decisions: a delta names none of them, so only a
# whole set brings back what del-source, del-block or unblock-asn took.
cscli decisions add --ip 192.0.2.2 --duration 1h
cscli decisions add --ip 198.51.100.2 --duration 1h
cscli decisions add --scope AS --value 64503 --duration 1h
wait_for 4 unreach c1 192.0.2.1 || not_ok crowdsec/byhand/setup "c1 not blocked"
wait_for 4 unreach c2 198.51.100.1 || not_ok crowdsec/byhand/setup "c2 not blocked"
cs_listed() { fwctl list --source crowdsec 2>&1 | grep -q -- "$1"; }
wait_for 4 cs_listed '^block-asn AS64503 ' || not_ok crowdsec/byhand/setup "AS64503 not listed"
n_whole=$(grep -c "whole set from LAPI" "$LAB_DIR/geofwd.log")
expect_match crowdsec/byhand/del_source "$(fwctl del-source crowdsec 2>&1)" "ok: removed 3"
if wait_for 5 unreach c1 192.0.2.1; then ok crowdsec/byhand/del_source_pull_brings_back
else not_ok crowdsec/byhand/del_source_pull_brings_back "c1 answered: $(fwctl list --source crowdsec 2>&1 | tr '\n' ' ')"; fi
check crowdsec/byhand/del_source_brings_back_all unreach c2 198.51.100.1
check crowdsec/byhand/del_source_as_back cs_listed '^block-asn AS64503 '
check crowdsec/byhand/whole_set_pulled test "$(grep -c "whole set from LAPI" "$LAB_DIR/geofwd.log")" -gt "$n_whole"
expect_match crowdsec/byhand/del_block "$(fwctl del-block 198.51.100.2 2>&1)" "ok: unblocked 1"
if wait_for 5 unreach c2 198.51.100.1; then ok crowdsec/byhand/del_block_pull_brings_back
else not_ok crowdsec/byhand/del_block_pull_brings_back "c2 answered: $(fwctl list --source crowdsec 2>&1 | tr '\n' ' ')"; fi
check crowdsec/byhand/unblock_asn fwctl unblock-asn 64503
check crowdsec/byhand/unblock_asn_pull_brings_back wait_for 5 cs_listed '^block-asn AS64503 '
# Deltas resume: a deletion in LAPI still lifts the rule.
cscli decisions delete --ip 192.0.2.2
cscli decisions delete --ip 198.51.100.2
cscli decisions delete --value 64503
if wait_for 4 reach c1 192.0.2.1; then ok crowdsec/byhand/deletes_resume
else not_ok crowdsec/byhand/deletes_resume "c1 still dropped"; fi
wait_for 4 reach c2 198.51.100.1 || not_ok crowdsec/byhand/cleanup "c2 still dropped"
expect_match crowdsec/byhand/status_note_cleared "$(fwctl status 2>&1 | grep -c 'removed by hand')" "^0$"

# ---- down: LAPI killed, then back -----------------------------------------------------------------

cscli decisions add --ip 192.0.2.2 --duration 1h
wait_for 4 unreach c1 192.0.2.1 || not_ok crowdsec/down/setup "c1 not blocked"
expect_eq crowdsec/down/metric_up_before "$(metric 'geofw_source_up{source="crowdsec"}')" 1
lapi_down
if wait_for 5 status_has "source crowdsec: FAILING"; then ok crowdsec/down/status_says_failing
else not_ok crowdsec/down/status_says_failing "$(fwctl status 2>&1 | grep crowdsec)"; fi
st=$(fwctl status 2>&1)
expect_match crowdsec/down/status_names_error "$st" \
	"source crowdsec: FAILING, last error [0-9]+s ago: curl: Couldn't connect to server \(http://127\.0\.0\.1:8080/v1/decisions/stream"
fwctl status >/dev/null 2>&1
expect_eq crowdsec/down/status_exit_1 $? 1
sj=$(fwctl -j status 2>&1)
expect_match crowdsec/down/status_json "$sj" '"sources":\[\{"name":"crowdsec",.*"error":"curl: Couldn'"'"'t connect'
check crowdsec/down/rules_stay unreach c1 192.0.2.1
sleep 2
check crowdsec/down/rules_still_stay unreach c1 192.0.2.1
# A restart while LAPI is down: the rules come back from rules.db.
geofwd_stop
geofwd_start || not_ok crowdsec/down/geofwd_restarts
check crowdsec/down/rules_survive_restart unreach c1 192.0.2.1
wait_for 5 status_has "source crowdsec: FAILING"
expect_match crowdsec/down/restart_status "$(fwctl status 2>&1)" "source crowdsec: 1 rule in force, last success never"
errs=$(metric 'geofw_source_errors_total{source="crowdsec"}')
expect_match crowdsec/down/metric_errors "${errs:-none}" '^[1-9][0-9]*$'
expect_eq crowdsec/down/metric_up_0 "$(metric 'geofw_source_up{source="crowdsec"}')" 0
# LAPI back: the next pull asks for the whole set, then deltas resume.
n_whole=$(grep -c "whole set from LAPI" "$LAB_DIR/geofwd.log")
lapi_up || not_ok crowdsec/down/lapi_restarts "$(tail -3 "$CS/lapi.log" | tr '\n' ' ')"
if wait_for 5 status_lacks "FAILING"; then ok crowdsec/back/status_clear
else not_ok crowdsec/back/status_clear "$(fwctl status 2>&1 | grep crowdsec)"; fi
expect_eq crowdsec/back/whole_set_pulled "$(grep -c "whole set from LAPI" "$LAB_DIR/geofwd.log")" \
	$((n_whole + 1))
check crowdsec/back/rules_kept unreach c1 192.0.2.1
cscli decisions delete --ip 192.0.2.2
cscli decisions add --ip 198.51.100.2 --duration 1h
if wait_for 4 reach c1 192.0.2.1; then ok crowdsec/back/deletes_resume
else not_ok crowdsec/back/deletes_resume "c1 still dropped"; fi
if wait_for 4 unreach c2 198.51.100.1; then ok crowdsec/back/adds_resume
else not_ok crowdsec/back/adds_resume "c2 answered"; fi
fwctl status >/dev/null 2>&1
expect_eq crowdsec/back/status_exit_0 $? 0

# ---- bad key, garbage: errors shown, rules kept ---------------------------------------------------

cs_config http://127.0.0.1:8080/ "$LAB_DIR/wrong.key"
fwctl reload >/dev/null 2>&1
if wait_for 5 status_has "HTTP 403"; then ok crowdsec/badkey/status_http_403
else not_ok crowdsec/badkey/status_http_403 "$(fwctl status 2>&1 | grep crowdsec)"; fi
expect_match crowdsec/badkey/lapi_message "$(fwctl status 2>&1)" 'access forbidden'
check crowdsec/badkey/rules_stay unreach c2 198.51.100.1

cs_config http://127.0.0.1:80/ "$LAB_DIR/crowdsec.key"
fwctl reload >/dev/null 2>&1
if wait_for 5 status_has "HTTP 404"; then ok crowdsec/garbage/status_http_404
else not_ok crowdsec/garbage/status_http_404 "$(fwctl status 2>&1 | grep crowdsec)"; fi
check crowdsec/garbage/rules_stay unreach c2 198.51.100.1
# A 200 that is not a decisions stream: nginx's index page.
mkdir -p "$LAB_DIR/www/v1/decisions"
echo '<html>maintenance</html>' >"$LAB_DIR/www/v1/decisions/stream"
chmod -R a+rX "$LAB_DIR/www"
if wait_for 5 status_has "LAPI answer refused: not JSON"; then ok crowdsec/garbage/not_json_refused
else not_ok crowdsec/garbage/not_json_refused "$(fwctl status 2>&1 | grep crowdsec)"; fi
check crowdsec/garbage/rules_still_stay unreach c2 198.51.100.1

cs_config
fwctl reload >/dev/null 2>&1
if wait_for 5 status_lacks "FAILING"; then ok crowdsec/garbage/resumes
else not_ok crowdsec/garbage/resumes "$(fwctl status 2>&1 | grep crowdsec)"; fi

# ---- off: CrowdSecURL removed -------------------------------------------------------------------

lab_config "MetricsListen = $METRICS"
fwctl reload >/dev/null 2>&1
if wait_for 4 reach c2 198.51.100.1; then ok crowdsec/off/rules_removed
else not_ok crowdsec/off/rules_removed "c2 still dropped"; fi
expect_eq crowdsec/off/none_listed "$(fwctl list --source crowdsec 2>&1 | grep -c crowdsec)" 0
expect_eq crowdsec/off/not_in_status "$(fwctl status 2>&1 | grep -c 'source crowdsec')" 0

lapi_down
exit 0
