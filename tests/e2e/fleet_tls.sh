#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The fleet over TLS (issue 13): a nats-server with JetStream and a `tls {}`
# block whose certificate an openssl CA made at test time; geofwd connects to
# tls://203.0.113.1:4222 with FleetTLSCA = that CA.
#
#   hub  nats-server 203.0.113.1:4222 (TLS only), certificate for IP 203.0.113.1
#   hT   up 203.0.113.2/30 ── hub     geofwd T: FleetTLSCA = the test CA
#   hX   up 203.0.113.6/30 ── hub     geofwd X: FleetTLSCA = another CA
#
#   connected/      T connects over TLS and follows its own change (the bucket
#                   delivers it back into T's kernel map)
#   wrong_ca/       X, whose CA did not sign the server's certificate, does
#                   not connect and fleet status says why; its --fleet
#                   changes stay pending, enforcement is unchanged
#                   (and SIGTERM still stops it at once)
#   plain_refused/  a nats:// URL to the TLS-only server does not connect
#
# Usage: BUILD=build bash tests/e2e/fleet_tls.sh   (from the repo root, root)
set -u
cd "$(dirname "$0")/../.." || exit 2
source tests/lib/lab.sh
source tests/lib/fleethost.sh

for t in nats-server openssl; do
	command -v $t >/dev/null 2>&1 || { skip fleet_tls "$t is not installed"; exit 0; }
done

D=$(mktemp -d /tmp/geofw-fleet-tls.XXXXXX)
declare -A GPID
trap 'fleet_lab_cleanup T X; exit $(( T_FAILED > 0 ))' EXIT
trap 'exit 130' INT TERM

# ---- a CA, a server certificate for 203.0.113.1, and a CA that signed nothing ----------

ossl() { openssl "$@" >>"$D/openssl.log" 2>&1; }
ossl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=geofw test CA" \
	-keyout "$D/ca.key" -out "$D/ca.pem" &&
ossl req -newkey rsa:2048 -nodes -subj "/CN=203.0.113.1" \
	-keyout "$D/server.key" -out "$D/server.csr" &&
printf 'subjectAltName = IP:203.0.113.1\nextendedKeyUsage = serverAuth\n' > "$D/san.ext" &&
ossl x509 -req -in "$D/server.csr" -CA "$D/ca.pem" -CAkey "$D/ca.key" -CAcreateserial \
	-days 2 -extfile "$D/san.ext" -out "$D/server.pem" &&
ossl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=another CA" \
	-keyout "$D/other.key" -out "$D/other.pem" ||
	{ not_ok fleet_tls/certificates "openssl failed: $(tail -3 "$D/openssl.log")"; exit 1; }
ok fleet_tls/certificates

# ---- namespaces, the server ----------------------------------------------------------------

declare -A HUB
fleet_lab T X || { not_ok fleet_tls/lab "cannot create namespaces"; exit 1; }
# X reaches the server through its own link: a route to 203.0.113.1.
in_ns hX ip route add 203.0.113.1/32 via 203.0.113.5
in_ns hub sysctl -qw net.ipv4.ip_forward=1

cat > "$D/nats.conf" <<-EOF
listen: 0.0.0.0:4222
jetstream { store_dir: "$D/js", max_memory_store: 32MB, max_file_store: 64MB }
tls { cert_file: "$D/server.pem", key_file: "$D/server.key", timeout: 2 }
accounts { EDGE { jetstream: enabled, users: [ { user: rw, password: rwpass } ] } }
EOF
nats_start "$D/nats.conf" && ok fleet_tls/server ||
	{ not_ok fleet_tls/server "nats-server did not start: $(tail -3 "$D/nats.log")"; exit 1; }

host_conf() {	# host_conf H URL CA
	mkdir -p "$D/$1"
	echo rwpass > "$D/$1/password"
	chmod 600 "$D/$1/password"
	fleet_host_conf "$1" "$2" "FleetUser = rw" "FleetPasswordFile = $D/$1/password" \
		"FleetReplicas = 1" "${3:+FleetTLSCA = $3}"
}
# ---- connected: the right CA ------------------------------------------------------------------

host_conf T tls://203.0.113.1:4222 "$D/ca.pem"
g_start T || { not_ok fleet_tls/start "geofwd T did not start"; exit 1; }
if connected T 10000; then
	ok fleet_tls/connected/tls
	expect_match fleet_tls/connected/status "$(f T fleet status)" "connected: yes, to tls://203.0.113.1:4222"
	comes_back fleet_tls/connected/change_comes_back T 192.0.2.77
else
	not_ok fleet_tls/connected/tls "$(f T fleet status | tr '\n' ' ')"
fi

# ---- wrong CA: no connection, a clear reason, changes kept ----------------------------------------

host_conf X tls://203.0.113.1:4222 "$D/other.pem"
g_start X || { not_ok fleet_tls/start_x "geofwd X did not start"; exit 1; }
status_within X 10000 "connected: no \\(cannot connect: "
st=$(f X fleet status)
expect_match fleet_tls/wrong_ca/not_connected "$st" "connected: no \\(cannot connect: "
f X add-block --local 192.0.2.78 >/dev/null
out=$(f X add-block 192.0.2.79)
expect_match fleet_tls/wrong_ca/change_pending "$out" "pending"
blocked X 192.0.2.78 && ok fleet_tls/wrong_ca/local_enforced ||
	not_ok fleet_tls/wrong_ca/local_enforced "the local rule is not in force on X"
blocked T 192.0.2.79 && not_ok fleet_tls/wrong_ca/nothing_sent "X's change reached the bucket" ||
	ok fleet_tls/wrong_ca/nothing_sent
if grep -q "certificate\|TLS\|SSL\|handshake" "$D/X/geofwd.log" "$D/nats.log"; then
	ok fleet_tls/wrong_ca/logged
else
	not_ok fleet_tls/wrong_ca/logged "no TLS error in X's log or the server's"
fi
# Never connected: SIGTERM must not wait for a connection that never comes.
g_stop X && ok fleet_tls/wrong_ca/stops || not_ok fleet_tls/wrong_ca/stops "geofwd X ignored SIGTERM for 5 s"

# ---- a plain nats:// URL to the TLS-only server --------------------------------------------------

host_conf X nats://203.0.113.1:4222 ""
rm -rf "$D/X/state"; mkdir -p "$D/X/state"
g_start X || { not_ok fleet_tls/start_plain "geofwd X did not start"; exit 1; }
status_within X 10000 "connected: no \\(cannot connect: "
expect_match fleet_tls/plain_refused "$(f X fleet status)" "connected: no \\(cannot connect: "
exit 0
