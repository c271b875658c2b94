#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The fleet with NATS accounts and JWTs (FleetCredentials, issue 13): a
# nats-server in operator mode, its operator, accounts and users made at
# test time by tests/tools/natsjwt.py (nsc is not in Debian), and two
# geofwd hosts with .creds files: W may write the bucket, R only read it.
#
#   hub  nats-server 203.0.113.1:4222 (W's link), 203.0.113.5 (R's)
#   hW   up 203.0.113.2/30 ── hub     FleetCredentials = rw.creds
#   hR   up 203.0.113.6/30 ── hub     FleetCredentials = ro.creds
#
#   writer/    W connects with its .creds; its change comes back into its map
#   reader/    R connects read-only: refuses --fleet, follows W's changes
#   never_connected/ R, fresh and cut off at start, accepts a change as
#              pending; connected, it keeps it (refused, counted, logged)
#   bad_creds/ a .creds file the operator never signed: no connection, and
#              fleet status says why
#   refused_then_accepted/ R refused (libnats gives a connection up after the
#              same refusal twice), then the server set up anew with R's
#              operator: R joins without a restart
#
# Usage: BUILD=build bash tests/e2e/fleet_creds.sh   (from the repo root, root)
set -u
cd "$(dirname "$0")/../.." || exit 2
source tests/lib/lab.sh
source tests/lib/fleethost.sh

command -v nats-server >/dev/null 2>&1 || { skip fleet_creds "nats-server is not installed"; exit 0; }
python3 -c 'import cryptography' 2>/dev/null ||
	{ skip fleet_creds "python3-cryptography is not installed (Ed25519 for the JWTs)"; exit 0; }

D=$(mktemp -d /tmp/geofw-fleet-creds.XXXXXX)
declare -A GPID HUB
trap 'fleet_lab_cleanup W R; exit $(( T_FAILED > 0 ))' EXIT
trap 'exit 130' INT TERM

if out=$(python3 tests/tools/natsjwt.py "$D/jwt" rw ro:ro 2>&1) &&
   python3 tests/tools/natsjwt.py "$D/other" stranger >/dev/null 2>&1; then
	ok fleet_creds/jwts
else
	not_ok fleet_creds/jwts "$out"; exit 1
fi

fleet_lab W R || { not_ok fleet_creds/lab "cannot create namespaces"; exit 1; }

cat > "$D/nats.conf" <<-EOC
listen: 0.0.0.0:4222
jetstream { store_dir: "$D/js", max_memory_store: 32MB, max_file_store: 64MB }
include jwt/server.conf
EOC
nats_start "$D/nats.conf" && ok fleet_creds/server ||
	{ not_ok fleet_creds/server "nats-server did not start: $(tail -3 "$D/nats.log")"; exit 1; }

host_conf() {	# host_conf H CREDS
	fleet_host_conf "$1" "nats://${HUB[$1]}:4222" "FleetCredentials = $2" "FleetReplicas = 1"
}
# ---- writer ------------------------------------------------------------------------------------

host_conf W "$D/jwt/rw.creds"
g_start W || { not_ok fleet_creds/start_w "geofwd W did not start"; exit 1; }
if connected W 10000; then
	ok fleet_creds/writer/connected
	st=$(f W fleet status)
	[[ $st == *"read-only"* ]] && not_ok fleet_creds/writer/writable "$st" || ok fleet_creds/writer/writable
	comes_back fleet_creds/writer/change_comes_back W 192.0.2.81
else
	not_ok fleet_creds/writer/connected "$(f W fleet status | tr '\n' ' ')"
fi

# ---- reader ------------------------------------------------------------------------------------

host_conf R "$D/jwt/ro.creds"
g_start R || { not_ok fleet_creds/start_r "geofwd R did not start"; exit 1; }
if connected R 10000; then
	ok fleet_creds/reader/connected
	expect_match fleet_creds/reader/read_only "$(f R fleet status)" "read-only for this host"
	out=$(f R add-block 192.0.2.82 2>&1); st=$?
	[ $st -ne 0 ] && ok fleet_creds/reader/refused || not_ok fleet_creds/reader/refused "exit 0: $out"
	expect_match fleet_creds/reader/message "$out" "only allow reading"
	blocked_within R 192.0.2.81 5000 && ok fleet_creds/reader/follows ||
		not_ok fleet_creds/reader/follows "W's rule is not in force on R"
else
	not_ok fleet_creds/reader/connected "$(f R fleet status | tr '\n' ' ')"
fi

# ---- a read-only host that never connected: its change is kept, never dropped ---------------------

g_stop R
rm -rf "$D/R/state"; mkdir -p "$D/R/state"
in_ns hR ip link set upR down
g_start R || { not_ok fleet_creds/start_offline "geofwd R did not start"; exit 1; }
out=$(f R add-block 192.0.2.83)
expect_match fleet_creds/never_connected/pending "$out" "pending"
in_ns hR ip link set upR up
connected R 15000 || not_ok fleet_creds/never_connected/connects "R did not connect"
KEPT="pending: +1 change.*1 refused by the bucket \\(read-only credentials\\): kept"
status_within R 10000 "$KEPT"
expect_match fleet_creds/never_connected/kept "$(f R fleet status)" "$KEPT"
blocked W 192.0.2.83 && not_ok fleet_creds/never_connected/not_in_bucket "it reached W" ||
	ok fleet_creds/never_connected/not_in_bucket
expect_match fleet_creds/never_connected/logged "$(cat "$D/R/geofwd.log")" "1 change\\(s\\) made here stay pending"

# ---- credentials the operator never signed -------------------------------------------------------

g_stop R
host_conf R "$D/other/stranger.creds"
rm -rf "$D/R/state"; mkdir -p "$D/R/state"
g_start R || { not_ok fleet_creds/start_stranger "geofwd R did not start"; exit 1; }
status_within R 10000 "connected: no \\(cannot connect: "
expect_match fleet_creds/bad_creds/not_connected "$(f R fleet status)" "connected: no \\(cannot connect: "
g_stop R && ok fleet_creds/bad_creds/stops || not_ok fleet_creds/bad_creds/stops "geofwd ignored SIGTERM for 5 s"

# ---- refused, then accepted: a new connection, no restart --------------------------------------
# libnats closes a connection for good after the same refusal twice; an account replaced on the
# server (or a resolver not ready at its start) must not cut a host off until someone restarts it.
python3 tests/tools/natsjwt.py "$D/late" late >/dev/null 2>&1 ||
	{ not_ok fleet_creds/refused_then_accepted/jwts "natsjwt.py failed"; exit 1; }
host_conf R "$D/late/late.creds"
rm -rf "$D/R/state"; mkdir -p "$D/R/state"
g_start R || { not_ok fleet_creds/start_late "geofwd R did not start"; exit 1; }
status_within R 10000 "connected: no \\(cannot connect: " &&
	ok fleet_creds/refused_then_accepted/refused ||
	not_ok fleet_creds/refused_then_accepted/refused "$(f R fleet status | tr '\n' ' ')"
sleep 3		# past the second refusal (reconnect wait 0.5-1 s): libnats has given up
kill "$NPID" 2>/dev/null; wait "$NPID" 2>/dev/null
mv "$D/nats.log" "$D/nats-first.log"
sed 's|include jwt/server.conf|include late/server.conf|; s|/js"|/js-late"|' "$D/nats.conf" > "$D/nats-late.conf"
nats_start "$D/nats-late.conf" ||
	{ not_ok fleet_creds/refused_then_accepted/server "nats-server did not start: $(tail -3 "$D/nats.log")"; exit 1; }
if connected R 30000; then
	ok fleet_creds/refused_then_accepted/connects
else
	not_ok fleet_creds/refused_then_accepted/connects "$(f R fleet status | tr '\n' ' ')"
fi
g_stop R
exit 0
