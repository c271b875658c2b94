#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Install every Debian 12 package geofw needs to build, test, demo and bench.
# Idempotent: does nothing when all are present; runs `apt-get update` only
# when something is missing.
set -eu

PKGS="
make gcc clang llvm pkg-config
libbpf-dev bpftool libelf-dev zlib1g-dev
libmaxminddb-dev mmdb-bin libnl-3-dev libnl-route-3-dev libsqlite3-dev sqlite3
libnats-dev nats-server
libmaxmind-db-writer-perl
iproute2 iputils-ping ethtool curl netcat-openbsd tcpdump python3-scapy nginx-light util-linux
nftables iptables ipset wrk prometheus
libclang-rt-14-dev valgrind
debhelper dpkg-dev lintian debootstrap systemd-container
"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
		missing="$missing $p"
	fi
done

if [ -z "$missing" ]; then
	echo "deps: all $(echo $PKGS | wc -w) packages present"
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing packages:$missing" >&2
	echo "deps: run as root (or: apt-get install$missing)" >&2
	exit 1
fi

echo "deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
# nginx-light and prometheus (installed for promtool) start servers on the
# host from their postinst; the tests run their own inside namespaces, so
# keep the host's ones out of the way.
if [ -d /run/systemd/system ]; then
	for unit in nginx prometheus; do
		if systemctl is-active -q "$unit" 2>/dev/null; then
			systemctl disable --now "$unit" >/dev/null 2>&1 || true
		fi
	done
fi
echo "deps: done"
