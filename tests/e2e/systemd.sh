#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The .deb under real systemd: a Debian 12 root (debootstrap --variant=minbase,
# cached in BUILD/nspawn/root) booted with systemd-nspawn, an ephemeral copy
# each run.  Inside it, through nsenter into the container's PID 1:
# dpkg -i geofw_*.deb; Type=notify: `systemctl start` returns with XDP
# already attached to host0; `systemctl reload` applies a changed config;
# `systemctl restart` keeps enforcing (pings from the host side all lost
# during the restart); `systemctl stop` leaves the pinned programs
# enforcing; a member of group geofw can run `fwctl status`, a non-member
# cannot; `systemd-analyze security geofwd` (recorded in
# BUILD/nspawn/security.txt); without bpffs the unit fails saying so, not at
# the NAMESPACE step.
#
# The container gets a fresh bpffs of its own (mounted under the run's temp
# directory, bound to its /sys/fs/bpf), the host end of its veth goes into a
# namespace of this run, and only 192.0.2.0/24 and 2001:db8:: are used.  All
# of it goes away on exit, also on failure.
set -u
cd "$(dirname "$0")/../.." || exit 2
# Only the reporting helpers (ok, not_ok, skip); no lab is built.
source tests/lib/lab.sh

for tool in systemd-nspawn debootstrap nsenter; do
	if ! command -v "$tool" >/dev/null; then
		skip systemd "$tool missing (make deps installs systemd-container, debootstrap)"
		exit 0
	fi
done
[ "$(id -u)" -eq 0 ] || { skip systemd "needs root"; exit 0; }

ID=$$
MACHINE=gfwt$ID
HOSTNS=gfwt$ID-h
VETH=ve-$MACHINE
VETH=${VETH:0:15}
CACHE=$BUILD/nspawn
ROOT=$CACHE/root
W=$(mktemp -d /tmp/geofw-nspawn.XXXXXX)
NSPAWN_PID=
LEADER=

cleanup() {
	if [ -n "$NSPAWN_PID" ] && kill -0 "$NSPAWN_PID" 2>/dev/null; then
		kill -TERM "$NSPAWN_PID" 2>/dev/null	# nspawn: container poweroff
		for _ in $(seq 1 40); do kill -0 "$NSPAWN_PID" 2>/dev/null || break; sleep 0.25; done
		kill -KILL "$NSPAWN_PID" 2>/dev/null
		wait "$NSPAWN_PID" 2>/dev/null
	fi
	ip netns del "$HOSTNS" 2>/dev/null
	ip link del "$VETH" 2>/dev/null
	mountpoint -q "$W/bpffs" && umount "$W/bpffs"
	rm -rf "$CACHE"/.#root* 2>/dev/null	# the ephemeral copy, if nspawn was killed
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- the cached root ---------------------------------------------------------------
mirror() {
	local m
	m=$(grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2; exit}')
	[ -n "$m" ] || m=$(awk '$1 == "deb" && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null)
	echo "${m:-http://deb.debian.org/debian}"
}
if [ ! -f "$ROOT/.geofw-root" ]; then
	t0=$(date +%s)
	rm -rf "$ROOT" "$ROOT.tmp"
	mkdir -p "$CACHE"
	if ! timeout 600 debootstrap --variant=minbase \
		--include=systemd,systemd-sysv,dbus,iproute2,iputils-ping,procps \
		bookworm "$ROOT.tmp" "$(mirror)" > "$CACHE/debootstrap.log" 2>&1; then
		not_ok systemd/debootstrap "$(tail -5 "$CACHE/debootstrap.log" | tr '\n' ' ')"
		rm -rf "$ROOT.tmp"; exit 1
	fi
	touch "$ROOT.tmp/.geofw-root"
	mv "$ROOT.tmp" "$ROOT"
	echo "# debootstrap: $(( $(date +%s) - t0 )) s (cached in $ROOT from now on)"
fi
ok systemd/root

# The package, and what it depends on installed in the root (cached too).
# e2e/deb's package when it is newer than every file of the tree (tests/run.sh
# runs deb first): a second package build would only cost minutes.
deb=$BUILD/geofw_$(dpkg-parsechangelog -l packaging/debian/changelog -S Version)_$(dpkg-architecture -qDEB_HOST_ARCH).deb
if [ -f "$deb" ] && [ -z "$(find . \( -path "./$BUILD" -o -path ./build-asan -o -path ./.git -o -path ./tests \) -prune \
	-o -type f -newer "$deb" -print -quit)" ]; then
	echo "# $deb is newer than every source file: not built again"
else
	DEB_BUILD_OPTIONS="parallel=$(nproc) ${DEB_BUILD_OPTIONS:-}" make -s deb BUILD="$BUILD" >"$W/deb.log" 2>&1 ||
		{ not_ok systemd/deb "$(tail -5 "$W/deb.log")"; exit 1; }
fi
deps=$(dpkg-deb -f "$deb" Depends | tr ',' '\n' | sed 's/(.*)//; s/|.*//; s/ //g' | grep -v '^$' | tr '\n' ' ')
# shellcheck disable=SC2086
if ! chroot "$ROOT" dpkg -s $deps >/dev/null 2>&1; then
	cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
	# shellcheck disable=SC2086
	if ! chroot "$ROOT" sh -c "apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -qq --no-install-recommends $deps" > "$W/apt.log" 2>&1; then
		not_ok systemd/root_depends "$(tail -5 "$W/apt.log" | tr '\n' ' ')"; exit 1
	fi
fi
ok systemd/root_depends

# ---- boot --------------------------------------------------------------------------
mkdir -p "$W/bpffs"
mount -t bpf bpf "$W/bpffs" || { not_ok systemd/bpffs "cannot mount a bpffs"; exit 1; }
systemd-nspawn -q -D "$ROOT" -x -b --register=no --keep-unit --machine="$MACHINE" \
	--network-veth --bind="$W/bpffs:/sys/fs/bpf" --bind-ro="$(realpath "$deb"):/tmp/geofw.deb" \
	--capability=CAP_BPF,CAP_NET_ADMIN,CAP_SYS_ADMIN,CAP_PERFMON \
	--system-call-filter='bpf perf_event_open' > "$W/console.log" 2>&1 &
NSPAWN_PID=$!
ct() { nsenter -t "$LEADER" -m -u -i -n -p -C -- env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"; }
# The container's init: the child of nspawn that runs systemd, looked up on
# every try (nspawn's first child is short-lived: on a loaded machine a
# lookup made once could catch it, and every later try asked a process
# that was gone — the boot failed with the container up and waiting).
state=
LEADER=
for _ in $(seq 1 120); do
	LEADER=$(ps --ppid "$NSPAWN_PID" -o pid=,comm= 2>/dev/null | awk '$2 == "systemd" { print $1; exit }')
	[ -n "$LEADER" ] && state=$(ct systemctl is-system-running 2>/dev/null)
	[[ $state == running || $state == degraded ]] && break
	sleep 0.5
done
if [[ $state == running || $state == degraded ]]; then
	ok systemd/boot
else
	not_ok systemd/boot "state '$state'; console: $(tail -5 "$W/console.log" | tr '\n' ' ')"; exit 1
fi

# Host side of the veth in a namespace of this run.
ip netns add "$HOSTNS" && ip link set "$VETH" netns "$HOSTNS" || { not_ok systemd/veth "no $VETH"; exit 1; }
hn() { ip netns exec "$HOSTNS" "$@"; }
hn ip link set lo up
hn ip addr add 192.0.2.1/24 dev "$VETH"
hn ip -6 addr add 2001:db8::1/64 dev "$VETH" nodad
hn ip link set "$VETH" up
ct ip addr add 192.0.2.2/24 dev host0
ct ip -6 addr add 2001:db8::2/64 dev host0 nodad
ct ip link set host0 up
reach() { hn ping -c 1 -W 1 -q "$1" >/dev/null 2>&1; }
for _ in $(seq 1 20); do reach 192.0.2.2 && break; sleep 0.25; done
if reach 192.0.2.2 && reach 2001:db8::2; then ok systemd/veth_reach; else not_ok systemd/veth_reach; fi
xdp_on() { ct ip -d link show host0 | grep -q 'prog/xdp'; }
journal() { ct journalctl -q -u geofwd --no-pager -o cat; }

# ---- install -----------------------------------------------------------------------
if out=$(ct dpkg -i /tmp/geofw.deb 2>&1); then ok systemd/dpkg_install; else not_ok systemd/dpkg_install "$out"; exit 1; fi
# The postinst started it (no interface configured yet: nothing attached).
if [ "$(ct systemctl is-active geofwd)" = active ]; then ok systemd/started_on_install; else
	not_ok systemd/started_on_install "$(journal | tail -5 | tr '\n' ' ')"; fi
expect_show() {
	local v; v=$(ct systemctl show -P "$2" geofwd)
	if [ "$v" = "$3" ]; then ok "$1"; else not_ok "$1" "$2=$v, want $3"; fi
}
expect_show systemd/type_notify Type notify
expect_show systemd/enabled UnitFileState enabled

# Type=notify: active only once XDP is on host0.
ct systemctl stop geofwd
ct sed -i 's/^Interfaces =.*/Interfaces = host0/' /etc/geofw/geofw.conf
if xdp_on; then not_ok systemd/no_xdp_before_start "XDP already on host0"; else ok systemd/no_xdp_before_start; fi
if out=$(ct timeout 60 systemctl start geofwd 2>&1); then ok systemd/start; else
	not_ok systemd/start "$out $(journal | tail -5 | tr '\n' ' ')"; fi
if xdp_on && [ "$(ct systemctl is-active geofwd)" = active ]; then
	ok systemd/active_means_attached
else
	not_ok systemd/active_means_attached "$(ct ip -d link show host0 | tr '\n' ' ')"
fi
ready_line=$(journal | grep -n 'ready: 1 interface' | tail -1 | cut -d: -f1)
[ -n "$ready_line" ] && ok systemd/ready_logged || not_ok systemd/ready_logged "$(journal | tail -5 | tr '\n' ' ')"

# Enforcement: block the host end's address.
if out=$(ct fwctl add-block 192.0.2.1 --comment "systemd.sh" 2>&1); then ok systemd/fwctl_add_block; else not_ok systemd/fwctl_add_block "$out"; fi
if ! reach 192.0.2.2; then ok systemd/blocked; else not_ok systemd/blocked "192.0.2.1 still answered"; fi
if reach 2001:db8::2; then ok systemd/other_passes; else not_ok systemd/other_passes "2001:db8::1 lost too"; fi

# reload: DropLog on, applied without a restart.
pid_before=$(ct systemctl show -P MainPID geofwd)
ct sed -i 's/^DropLog = .*/DropLog = on/' /etc/geofw/geofw.conf
if out=$(ct timeout 30 systemctl reload geofwd 2>&1); then ok systemd/reload; else not_ok systemd/reload "$out"; fi
for _ in $(seq 1 40); do journal | grep -q '^drop log: on' && break; sleep 0.25; done
if journal | grep -q '^SIGHUP: reloading' && journal | grep -q '^drop log: on'; then
	ok systemd/reload_applied
else
	not_ok systemd/reload_applied "$(journal | tail -5 | tr '\n' ' ')"
fi
expect_show systemd/reload_same_pid MainPID "$pid_before"
reach 192.0.2.2
for _ in $(seq 1 20); do journal | grep -q '^drop: src=192.0.2.1 ' && break; sleep 0.25; done
if journal | grep -q '^drop: src=192.0.2.1 '; then ok systemd/droplog_in_journal; else not_ok systemd/droplog_in_journal; fi

# restart: pings every 50 ms from before to after it, none answered.
hn ping -i 0.05 -c 80 -W 1 192.0.2.2 > "$W/ping.txt" 2>&1 &
ping_pid=$!
sleep 0.5
if out=$(ct timeout 60 systemctl restart geofwd 2>&1); then ok systemd/restart; else not_ok systemd/restart "$out"; fi
wait "$ping_pid"
sent=$(sed -n 's/^\([0-9]*\) packets transmitted, \([0-9]*\) received.*/\1/p' "$W/ping.txt")
recv=$(sed -n 's/^\([0-9]*\) packets transmitted, \([0-9]*\) received.*/\2/p' "$W/ping.txt")
if [ "${sent:-0}" -ge 40 ] && [ "${recv:-x}" = 0 ]; then
	ok systemd/restart_keeps_enforcing
else
	not_ok systemd/restart_keeps_enforcing "sent ${sent:-?} answered ${recv:-?}"
fi
[ "$(ct systemctl show -P MainPID geofwd)" != "$pid_before" ] && ok systemd/restart_new_pid || not_ok systemd/restart_new_pid

# fwctl for group geofw only.
ct useradd -M -G geofw gfwop
ct useradd -M gfwother
if out=$(ct runuser -u gfwop -- fwctl status 2>&1) && [[ $out == *"geofwd: running"* ]]; then
	ok systemd/fwctl_status_member
else
	not_ok systemd/fwctl_status_member "$out"
fi
if out=$(ct runuser -u gfwother -- fwctl status 2>&1); then
	not_ok systemd/fwctl_status_non_member "succeeded: $out"
else
	ok systemd/fwctl_status_non_member
	echo "# non-member: $(echo "$out" | head -2 | tr '\n' ' ')"
fi

# The exposure report, recorded (docs/packaging.md explains each line).
ct systemd-analyze security --no-pager geofwd > "$CACHE/security.txt" 2>&1
score=$(grep -o 'Overall exposure level for geofwd.service: .*' "$CACHE/security.txt")
if [ -n "$score" ]; then ok systemd/analyze_security; echo "# $score"; else
	not_ok systemd/analyze_security "$(head -3 "$CACHE/security.txt")"; fi

# stop: programs stay attached and pinned, still blocking.
ct systemctl stop geofwd
if [ "$(ct systemctl is-active geofwd)" != active ] && xdp_on && [ -d "$W/bpffs/geofw" ] && ! reach 192.0.2.2; then
	ok systemd/stop_keeps_enforcing
else
	not_ok systemd/stop_keeps_enforcing "$(ct ip -d link show host0 | grep -c xdp) xdp, pins: $(ls "$W/bpffs" | tr '\n' ' ')"
fi

# No bpffs at all: the start fails, and says why.
ct umount /sys/fs/bpf
ct systemctl reset-failed geofwd 2>/dev/null
if ct timeout 60 systemctl start geofwd >/dev/null 2>&1; then
	not_ok systemd/no_bpffs_fails "started without bpffs"
else
	ok systemd/no_bpffs_fails
fi
log=$(journal | tail -20)
if grep -q 'bpffs is not mounted at /sys/fs/bpf' <<<"$log"; then ok systemd/no_bpffs_message; else
	not_ok systemd/no_bpffs_message "$(tail -5 <<<"$log" | tr '\n' ' ')"; fi
if ! ct journalctl -q -b --no-pager -o cat | grep -q 'step NAMESPACE'; then ok systemd/no_bpffs_not_namespace; else
	not_ok systemd/no_bpffs_not_namespace "$(ct journalctl -q -b --no-pager -o cat | grep 'NAMESPACE' | tail -2)"; fi

exit $((T_FAILED > 0))
