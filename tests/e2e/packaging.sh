#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# make install into a scratch DESTDIR: every file lands where the unit, the
# man pages and the completion expect it; the unit passes systemd-analyze
# verify; the man pages render without groff warnings; the shipped config is
# valid.  Nothing outside the scratch directory is touched.
set -u
cd "$(dirname "$0")/../.." || exit 2
BUILD=${BUILD:-build}
failed=0
ok() { echo "ok $*"; }
not_ok() { echo "not ok $1"; shift; [ $# -gt 0 ] && echo "# $*"; failed=$((failed + 1)); }

dest=$(mktemp -d /tmp/geofw-install.XXXXXX)
trap 'rm -rf "$dest"' EXIT

if out=$(make -s install BUILD="$BUILD" DESTDIR="$dest" PREFIX=/usr 2>&1); then
	ok install/runs
else
	not_ok install/runs "$out"
fi
for f in usr/sbin/geofwd usr/sbin/fwctl usr/share/man/man8/geofwd.8 usr/share/man/man8/fwctl.8 \
	 usr/share/man/man5/geofw.conf.5 usr/share/bash-completion/completions/fwctl \
	 lib/systemd/system/geofwd.service usr/lib/tmpfiles.d/geofw.conf \
	 usr/lib/sysusers.d/geofw.conf etc/geofw/geofw.conf etc/geofw/403.html; do
	if [ -f "$dest/$f" ]; then ok "install/$f"; else not_ok "install/$f" "missing"; fi
done

# An operator's config survives a reinstall.
echo "# edited" >> "$dest/etc/geofw/geofw.conf"
make -s install BUILD="$BUILD" DESTDIR="$dest" PREFIX=/usr >/dev/null 2>&1
if tail -1 "$dest/etc/geofw/geofw.conf" | grep -q '^# edited$'; then
	ok install/config_not_overwritten
else
	not_ok install/config_not_overwritten
fi

# The unit as installed, verified against this build's binary.
sed "s|@SBINDIR@|$(realpath "$BUILD")|g" packaging/systemd/geofwd.service.in > "$dest/geofwd.service"
if out=$(systemd-analyze verify --man=no "$dest/geofwd.service" 2>&1); then
	ok unit/systemd_analyze_verify
else
	not_ok unit/systemd_analyze_verify "$out"
fi
unit=$(cat "$dest/lib/systemd/system/geofwd.service")
for want in '^Type=notify$' '^CapabilityBoundingSet=CAP_BPF CAP_NET_ADMIN' '^ProtectSystem=strict$' \
	    '^ReadWritePaths=-/sys/fs/bpf$' '^StateDirectory=geofw$' '^RuntimeDirectory=geofw$' \
	    '^NoNewPrivileges=yes$' '^ExecStart=/usr/sbin/geofwd$'; do
	if grep -qE "$want" <<<"$unit"; then ok "unit/has $want"; else not_ok "unit/has $want"; fi
done

for m in packaging/man/*.[0-9]; do
	if out=$(groff -man -Tutf8 -ww -z "$m" 2>&1) && [ -z "$out" ]; then
		ok "man/$(basename "$m")_renders_clean"
	else
		not_ok "man/$(basename "$m")_renders_clean" "$out"
	fi
done

if out=$("$BUILD/geofwd" -c "$dest/etc/geofw/geofw.conf" --check-config 2>&1); then
	ok config/shipped_config_valid
else
	not_ok config/shipped_config_valid "$out"
fi
out=$("$BUILD/geofwd" --help)
if [[ $out == *--check-config* && $out == *--cleanup* && $out == *"Exit status"* ]]; then
	ok help/geofwd
else
	not_ok help/geofwd
fi
"$BUILD/geofwd" --bogus >/dev/null 2>&1
if [ $? -eq 2 ]; then ok usage/geofwd_exit_2; else not_ok usage/geofwd_exit_2; fi

exit $((failed > 0))
