#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The CrowdSec bouncer with many decisions (docs/design-notes.md, "CrowdSec
# bouncer"): a real LAPI in the lab (tests/lib/lapi.sh) holding N IP
# decisions (cscli decisions import), geofwd started against it; prints how
# long the whole-set pull took (request, answer, parse: the worker) and its
# apply (one transaction and kernel diff: the main thread), then the same
# for a delta of D new decisions and a restart of geofwd with the rules
# already in its store (the whole set replaced by an identical one).
#
#   BUILD=build bash bench/crowdsec.sh [N [D]]     (root, from the repo root)
set -u
cd "$(dirname "$0")/.." || exit 2
source tests/lib/lab.sh
N=${1:-20000}
D=${2:-1000}

command -v crowdsec >/dev/null 2>&1 || { echo "crowdsec is not installed"; exit 0; }
lab_up || exit 1
source tests/lib/lapi.sh
lapi_setup
lapi_up || { echo "LAPI did not start"; exit 1; }
lapi_bouncer "$LAB_DIR/crowdsec.key" || { echo "no bouncer key"; exit 1; }

# N addresses of 2001:db8:ff00::/40 (documentation prefix), then D more.
decisions() {
	awk -v from="$1" -v n="$2" 'BEGIN { print "duration,scope,value";
		for (i = from; i < from + n; i++)
			printf "4h,ip,2001:db8:ff%02x:%x::1\n", int(i / 65536), i % 65536 }'
}
decisions 0 "$N" >"$LAB_DIR/n.csv"
decisions "$N" "$D" >"$LAB_DIR/d.csv"
t0=$(date +%s.%N)
cscli decisions import -i "$LAB_DIR/n.csv" || { echo "import failed"; exit 1; }
echo "cscli import of $N decisions: $(echo "$(date +%s.%N) - $t0" | bc) s"

lab_config "$(printf 'CrowdSecURL = http://127.0.0.1:8080/\nCrowdSecAPIKeyFile = %s\nCrowdSecInterval = 1s\n' \
	"$LAB_DIR/crowdsec.key")"
geofwd_start || exit 1
wait_for 120 grep -q "whole set from LAPI" "$LAB_DIR/geofwd.log"
grep -o "whole set from LAPI.*" "$LAB_DIR/geofwd.log" | tail -1
cscli decisions import -i "$LAB_DIR/d.csv"
wait_for 60 grep -q "$D new, 0 deleted" "$LAB_DIR/geofwd.log"
grep -o "crowdsec: $D new.*" "$LAB_DIR/geofwd.log" | tail -1
geofwd_stop
: >"$LAB_DIR/geofwd.log"
geofwd_start || exit 1
wait_for 120 grep -q "whole set from LAPI" "$LAB_DIR/geofwd.log"
echo "restart: $(grep -o "whole set from LAPI.*" "$LAB_DIR/geofwd.log" | tail -1)"
echo "rules in force: $(fwctl status | grep 'source crowdsec')"
lapi_down
