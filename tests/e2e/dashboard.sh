#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The Grafana dashboard (packaging/grafana/geofw.json) queries only metrics
# that geofwd's /metrics exposes: scraped from a real geofwd in the namespace
# lab with GeoIP, the responder, the drop log, a rule in force and a fleet
# (a one-node NATS server), so the families shown only in those states are
# there too.  A dashboard naming an
# unknown metric must make the checker fail (checked on a copy).
set -u
cd "$(dirname "$0")/../.." || exit 2
source tests/lib/lab.sh

DASH=packaging/grafana/geofw.json
CHECK=tests/tools/dashboard_metrics.py
PORT=9746

if out=$(python3 -m json.tool "$DASH" 2>&1 >/dev/null); then
	ok dashboard/valid_json
else
	not_ok dashboard/valid_json "$out"; exit 1
fi
# Every panel says what it shows (docs/operations.md describes them too).
missing=$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
def walk(ps):
    for p in ps:
        yield p
        yield from walk(p.get("panels", []))
print(" ".join(str(p.get("title")) for p in walk(d["panels"])
               if p["type"] != "row" and not p.get("description")))' "$DASH")
expect_eq dashboard/panels_described "$missing" ""

lab_up || { not_ok lab_up "cannot build the lab"; exit 1; }
# The fleet panels: a one-node NATS with JetStream beside geofwd (srv's
# namespace, its loopback), so that the geofw_fleet_* families are there.
command -v nats-server >/dev/null || { not_ok dashboard/nats "nats-server missing: make deps"; exit 1; }
mkdir -p "$LAB_DIR/nats"
printf 'listen: 127.0.0.1:4222\njetstream { store_dir: "%s" }\n' "$LAB_DIR/nats/js" \
	> "$LAB_DIR/nats/nats.conf"
ip netns exec "$(ns srv)" nats-server -c "$LAB_DIR/nats/nats.conf" >"$LAB_DIR/nats/log" 2>&1 &
LAB_PIDS+=("$!")
lab_config "$(printf "%s\n" "MetricsListen = 127.0.0.1:$PORT" "DropLog = on" "DropLogRate = 5" \
	"FleetServers = nats://127.0.0.1:4222" "FleetReplicas = 1")"
geofwd_start || { not_ok geofwd_start "geofwd did not start"; exit 1; }
fwctl add-block 192.0.2.2 >/dev/null
reach c1 192.0.2.1
reach c3 203.0.113.1
metrics=$LAB_DIR/metrics.txt
if in_ns srv curl -sf --max-time 5 "http://127.0.0.1:$PORT/metrics" > "$metrics"; then
	ok dashboard/scrape
else
	not_ok dashboard/scrape "no /metrics on 127.0.0.1:$PORT"; exit 1
fi

if out=$(python3 "$CHECK" "$DASH" "$metrics" 2>&1); then
	ok dashboard/metrics_exist
	echo "$out" | grep '^#'
else
	not_ok dashboard/metrics_exist "$(echo "$out" | tr '\n' ' ')"
fi

# The check can fail: one panel naming a metric geofwd does not have.
python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
p = [p for p in d["panels"] if p.get("targets")][0]
p["targets"][0]["expr"] = "rate(geofw_no_such_metric_total[5m])"
json.dump(d, open(sys.argv[2], "w"))' "$DASH" "$LAB_DIR/bad.json"
out=$(python3 "$CHECK" "$LAB_DIR/bad.json" "$metrics" 2>&1)
status=$?
if [ "$status" -eq 1 ] && [[ $out == *geofw_no_such_metric_total* ]]; then
	ok dashboard/unknown_metric_fails
else
	not_ok dashboard/unknown_metric_fails "status $status: $out"
fi
exit $((T_FAILED > 0))
