#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The Debian package on this machine: make deb, lintian (no error, every
# warning explained in docs/packaging.md), apt-get install ./geofw_*.deb,
# every file of the package in place, group geofw, conffiles, the enabled
# unit, geofwd --check-config, systemd-analyze verify, an edited conffile
# kept across a reinstall, apt-get remove, apt-get purge, and the machine as
# before (nothing under /etc/geofw, /var/lib/geofw, /run/geofw, no geofw
# path under /usr, /lib, /etc or /var/lib, no group).  The package is purged
# on every exit, also on failure.
#
# Package scripts run with a private bpffs on /sys/fs/bpf (their own mount
# namespace): the prerm's geofwd --cleanup must never touch the host's
# default pin directory.
set -u
cd "$(dirname "$0")/../.." || exit 2
# Only the reporting helpers (ok, not_ok, skip); no lab is built.
source tests/lib/lab.sh

for tool in dpkg-buildpackage dh lintian apt-get unshare; do
	if ! command -v "$tool" >/dev/null; then
		skip deb "$tool missing (make deps installs debhelper, lintian, dpkg-dev)"
		exit 0
	fi
done
if [ "$(id -u)" -ne 0 ]; then
	skip deb "needs root (apt-get install)"; exit 0
fi
if dpkg-query -W -f='${Status}' geofw 2>/dev/null | grep -qv 'not-installed'; then
	skip deb "package geofw is installed on this machine; not touching it"; exit 0
fi
for p in /etc/geofw /var/lib/geofw /run/geofw; do
	if [ -e "$p" ]; then skip deb "$p exists (make install?); not touching it"; exit 0; fi
done
if getent group geofw >/dev/null; then
	skip deb "group geofw exists; not touching it"; exit 0
fi

# pkg CMD...: CMD in a private mount namespace with its own bpffs.
pkg() {
	unshare -m --propagation private bash -c \
		'mount -t bpf bpf /sys/fs/bpf && exec "$@"' pkg "$@"
}
export DEBIAN_FRONTEND=noninteractive
tmp=$(mktemp -d /tmp/geofw-deb.XXXXXX)
cleanup() {
	if dpkg-query -W -f='${Status}' geofw 2>/dev/null | grep -qv 'not-installed'; then
		pkg apt-get purge -y -qq geofw >/dev/null 2>&1 || echo "# cleanup: apt-get purge geofw failed"
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# geofw paths outside the package database, before and after.
footprint() {
	find /usr /lib /etc /var/lib /run -xdev \( -name '*geofw*' -o -name 'fwctl*' \) \
		-not -path '/run/netns/*' -not -path '/run/user/*' 2>/dev/null | sort
}
footprint > "$tmp/before"

t0=$(date +%s)
# On every CPU (debhelper's make -j): the package build is most of this suite.
if out=$(DEB_BUILD_OPTIONS="parallel=$(nproc) ${DEB_BUILD_OPTIONS:-}" make -s deb BUILD="$BUILD" 2>&1); then
	ok deb/build
else
	not_ok deb/build "$(echo "$out" | tail -20)"; exit 1
fi
echo "# make deb: $(( $(date +%s) - t0 )) s"
ver=$(dpkg-parsechangelog -l packaging/debian/changelog -S Version)
arch=$(dpkg-architecture -qDEB_HOST_ARCH)
deb=$BUILD/geofw_${ver}_${arch}.deb
if [ -f "$deb" ]; then ok deb/file_name; else not_ok deb/file_name "$deb missing"; exit 1; fi

# Real dependencies, from the libraries the binaries link.
depends=$(dpkg-deb -f "$deb" Depends)
for lib in libbpf1 libc6 libmaxminddb0; do
	if [[ $depends == *"$lib "* ]]; then ok "deb/depends_$lib"; else not_ok "deb/depends_$lib" "$depends"; fi
done

lintian --pedantic -I "$BUILD/deb/geofw_${ver}_${arch}.changes" > "$tmp/lintian" 2>&1
sed 's/^/# lintian: /' "$tmp/lintian"
if grep -q '^E:' "$tmp/lintian"; then
	not_ok lintian/no_errors "$(grep '^E:' "$tmp/lintian" | tr '\n' ' ')"
else
	ok lintian/no_errors
fi
undoc=""
for tag in $(sed -n 's/^[WI]: geofw[^:]*: \([a-z0-9.-]*\).*/\1/p' "$tmp/lintian" | sort -u); do
	grep -q "^| \`$tag\`" docs/packaging.md || undoc="$undoc $tag"
done

if [ -z "$undoc" ]; then ok lintian/tags_documented; else
	not_ok lintian/tags_documented "not explained in docs/packaging.md:$undoc"; fi

# ---- install ---------------------------------------------------------------------
if out=$(pkg apt-get install -y -qq "./$deb" 2>&1); then
	ok install/apt_get_install
else
	not_ok install/apt_get_install "$(echo "$out" | tail -10)"; exit 1
fi
missing=""
while read -r path; do
	[ -e "$path" ] || missing="$missing $path"
done < <(dpkg-deb --fsys-tarfile "$deb" | tar -t | sed 's|^\./|/|; s|/$||' | grep -v '^$')
if [ -z "$missing" ]; then ok install/every_file; else not_ok install/every_file "missing:$missing"; fi
for f in /usr/sbin/geofwd /usr/sbin/fwctl; do
	if [ -x "$f" ]; then ok "install/$f"; else not_ok "install/$f" "not executable"; fi
done
for f in /lib/systemd/system/geofwd.service /usr/lib/sysusers.d/geofw.conf \
	 /usr/lib/tmpfiles.d/geofw.conf /usr/share/man/man8/geofwd.8.gz \
	 /usr/share/man/man8/fwctl.8.gz /usr/share/man/man5/geofw.conf.5.gz \
	 /usr/share/bash-completion/completions/fwctl /usr/share/doc/geofw/copyright \
	 /usr/share/doc/geofw/examples/geofw.json /etc/geofw/geofw.conf /etc/geofw/403.html \
	 /etc/fail2ban/action.d/geofw.conf; do
	if [ -f "$f" ]; then ok "install/$f"; else not_ok "install/$f" "missing"; fi
done
if getent group geofw >/dev/null; then ok install/group_geofw; else not_ok install/group_geofw; fi
if [ "$(stat -c '%a %U %G' /var/lib/geofw 2>/dev/null)" = "750 root root" ]; then
	ok install/state_dir
else
	not_ok install/state_dir "$(stat -c '%a %U %G' /var/lib/geofw 2>&1)"
fi
if [ -d /run/geofw ]; then ok install/runtime_dir; else not_ok install/runtime_dir; fi
conffiles=$(dpkg-query -W -f='${Conffiles}' geofw)
for f in /etc/geofw/geofw.conf /etc/geofw/403.html /etc/fail2ban/action.d/geofw.conf; do
	if [[ $conffiles == *" $f "* ]]; then ok "install/conffile_$f"; else not_ok "install/conffile_$f" "$conffiles"; fi
done
if [ -L /etc/systemd/system/multi-user.target.wants/geofwd.service ]; then
	ok install/unit_enabled
else
	not_ok install/unit_enabled "no multi-user.target.wants/geofwd.service"
fi
if out=$(/usr/sbin/geofwd --check-config 2>&1); then
	ok install/check_config
else
	not_ok install/check_config "$out"
fi
if out=$(systemd-analyze verify --man=no /lib/systemd/system/geofwd.service 2>&1) && [ -z "$out" ]; then
	ok install/systemd_analyze_verify
else
	not_ok install/systemd_analyze_verify "$out"
fi
if grep -qx 'ExecStart=/usr/sbin/geofwd' /lib/systemd/system/geofwd.service; then
	ok install/unit_exec_start
else
	not_ok install/unit_exec_start
fi
if [ "$(man -w geofwd 2>/dev/null)" = /usr/share/man/man8/geofwd.8.gz ]; then
	ok install/man_geofwd
else
	not_ok install/man_geofwd "man -w geofwd: $(man -w geofwd 2>&1)"
fi
if out=$(bash -c 'source /usr/share/bash-completion/completions/fwctl && complete -p fwctl' 2>&1); then
	ok install/bash_completion
else
	not_ok install/bash_completion "$out"
fi
if /usr/sbin/fwctl --version 2>&1 | grep -q "^fwctl $(sed -n 's/^#define GEOFW_VERSION "\(.*\)".*/\1/p' include/geofw.h) "; then
	ok install/fwctl_version
else
	not_ok install/fwctl_version "$(/usr/sbin/fwctl --version 2>&1)"
fi

# An operator's edit of a conffile survives a reinstall.
echo "# edited by deb.sh" >> /etc/geofw/geofw.conf
pkg apt-get install -y -qq --reinstall "./$deb" >/dev/null 2>&1
if tail -1 /etc/geofw/geofw.conf | grep -qx '# edited by deb.sh'; then
	ok install/conffile_kept_on_reinstall
else
	not_ok install/conffile_kept_on_reinstall
fi

# ---- remove, purge ---------------------------------------------------------------
if out=$(pkg apt-get remove -y -qq geofw 2>&1); then ok remove/apt_get_remove; else not_ok remove/apt_get_remove "$out"; fi
if [ ! -e /usr/sbin/geofwd ] && [ -f /etc/geofw/geofw.conf ]; then
	ok remove/keeps_config
else
	not_ok remove/keeps_config
fi
if out=$(pkg apt-get purge -y -qq geofw 2>&1); then ok purge/apt_get_purge; else not_ok purge/apt_get_purge "$out"; fi
if ! dpkg-query -W -f='${Status}' geofw 2>/dev/null | grep -qv 'not-installed'; then
	ok purge/not_in_dpkg
else
	not_ok purge/not_in_dpkg "$(dpkg-query -W -f='${Status}' geofw)"
fi
left=""
for p in /etc/geofw /var/lib/geofw /run/geofw; do [ -e "$p" ] && left="$left $p"; done
if [ -z "$left" ]; then ok purge/directories_gone; else not_ok purge/directories_gone "left:$left"; fi
if ! getent group geofw >/dev/null; then ok purge/group_gone; else not_ok purge/group_gone; fi
footprint > "$tmp/after"
if diff=$(diff "$tmp/before" "$tmp/after"); then
	ok purge/machine_as_before
else
	not_ok purge/machine_as_before "$(echo "$diff" | tr '\n' ' ')"
fi
exit $((T_FAILED > 0))
