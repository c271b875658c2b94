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
libnats-dev nats-server libcurl4-openssl-dev libjansson-dev
crowdsec fail2ban
libmaxmind-db-writer-perl
iproute2 iputils-ping ethtool curl netcat-openbsd tcpdump python3-scapy nginx-light util-linux
python3-cryptography openssl
nftables iptables ipset wrk prometheus
libclang-rt-14-dev valgrind
debhelper dpkg-dev lintian debootstrap systemd-container
qemu-system-x86 busybox-static kmod cpio
"

# Debian 12's own kernel, booted in qemu by tests/e2e/debian12_kernel.sh: the
# package linux-image-amd64 points at, kept as a .deb (not installed: the
# host's kernel and boot loader stay as they are).
KERNEL_DIR=/var/cache/geofw/debian12-kernel

kernel_deb() {
	ls "$KERNEL_DIR"/linux-image-*.deb 2>/dev/null | tail -1
}

fetch_kernel() {
	pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
	      sed -n 's/^ *Depends: \(linux-image-[0-9].*\)$/\1/p' | head -1)
	if [ -z "$pkg" ]; then
		echo "deps: linux-image-amd64 is not in the package lists: no Debian 12 kernel for tests/e2e/debian12_kernel.sh" >&2
		return 1
	fi
	mkdir -p "$KERNEL_DIR"
	tmp=$(mktemp -d -p "$KERNEL_DIR")
	# apt-get download writes as _apt where it can, as root otherwise
	chmod 755 "$tmp"
	if (cd "$tmp" && apt-get download -qq "$pkg" 2>/dev/null) && ls "$tmp"/*.deb >/dev/null 2>&1; then
		rm -f "$KERNEL_DIR"/linux-image-*.deb
		mv "$tmp"/*.deb "$KERNEL_DIR"/
		rmdir "$tmp"
		echo "deps: kept $(basename "$(kernel_deb)") in $KERNEL_DIR"
	else
		rm -rf "$tmp"
		echo "deps: cannot download $pkg" >&2
		return 1
	fi
}

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
		missing="$missing $p"
	fi
done

if [ -z "$missing" ] && [ -n "$(kernel_deb)" ]; then
	echo "deps: all $(echo $PKGS | wc -w) packages present, and $(basename "$(kernel_deb)")"
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	if [ -z "$missing" ]; then
		echo "deps: no Debian 12 kernel package in $KERNEL_DIR (as root, make deps fetches it): tests/e2e/debian12_kernel.sh will skip" >&2
		exit 0
	fi
	echo "deps: missing packages:$missing" >&2
	echo "deps: run as root (or: apt-get install$missing)" >&2
	exit 1
fi

if [ -z "$missing" ]; then
	apt-get update -qq
	fetch_kernel || echo "deps: tests/e2e/debian12_kernel.sh will skip" >&2
	exit 0
fi

echo "deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
# crowdsec's postinst registers with CrowdSec's online API and fails on a host
# without internet unless this file exists and is not empty (its
# README.Debian).  The tests run their own LAPI with -no-capi; this file is
# never read by them.
case " $missing " in
*" crowdsec "*)
	if [ ! -s /etc/crowdsec/online_api_credentials.yaml ]; then
		mkdir -p /etc/crowdsec
		printf '# written by geofw install-deps.sh: no online API (offline host)\nurl: http://127.0.0.1:1/\nlogin: offline\npassword: offline\n' \
			>/etc/crowdsec/online_api_credentials.yaml
	fi
	;;
esac
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
# nginx-light, prometheus (installed for promtool), crowdsec and fail2ban
# start servers on the host from their postinst; the tests run their own inside namespaces, so
# keep the host's ones out of the way.
if [ -d /run/systemd/system ]; then
	for unit in nginx prometheus crowdsec fail2ban; do
		if systemctl is-active -q "$unit" 2>/dev/null; then
			systemctl disable --now "$unit" >/dev/null 2>&1 || true
		fi
	done
fi
[ -n "$(kernel_deb)" ] || fetch_kernel || echo "deps: tests/e2e/debian12_kernel.sh will skip" >&2
echo "deps: done"
