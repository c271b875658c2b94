#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# geofw on Debian 12's own kernel (Linux 6.1), whatever kernel this machine
# runs: an operator of Debian 12 edge hosts runs bookworm's kernel, whose
# verifier is older and stricter than this machine's (6.1 refused the TC
# program four ways that 6.18 accepts: docs/design-notes.md, "Debian 12's
# kernel").  The kernel package that `make deps` keeps in
# /var/cache/geofw/debian12-kernel is booted in qemu (software emulation);
# the guest sees this machine's files through 9p, read-only, under a tmpfs
# overlay, and runs from this tree:
#
#	ok debian12_kernel/boot			the guest ran Linux 6.1
#	ok debian12_kernel/prog/canary/...	the XDP programs load and decide
#						as the host's decision code says
#	ok debian12_kernel/prog/tc_...		the TC responder's checks
#	ok debian12_kernel/lab/...		geofwd in a namespace lab: XDP
#						native on veth, the TC responder
#						attached, the site for an allowed
#						client, the kernel's 403 page and
#						reset for blocked ones
#
# Usage: BUILD=build bash tests/e2e/debian12_kernel.sh   (from the repo root)
#	GEOFW_DEBIAN12_KERNEL_DEB=FILE	the linux-image .deb to boot
#	GEOFW_DEBIAN12_GUEST="CMD"	run CMD in the guest instead (from the
#					repo root, output as it comes)
set -u

BUILD=${BUILD:-build}
T=debian12_kernel

# In the guest: geofwd's main job in the lab of tests/lib/lab.sh (what
# e2e/responder checks on this machine's kernel, without its load test,
# which software emulation would take minutes over).
if [ "${1:-}" = --lab ]; then
	source tests/lib/lab.sh
	lab_up || { not_ok lab/up "cannot build the lab"; exit 1; }
	nginx_up || { not_ok lab/nginx "nginx did not start"; exit 1; }
	geofwd_start || { not_ok lab/geofwd "geofwd did not start"; exit 1; }
	st=$(fwctl status)
	for i in gfw1 gfw2 gfw3; do
		expect_match "lab/attached/$i" "$st" "interface $i: attached, XDP native mode, TC responder on"
	done
	# Slow clients: software emulation runs the kernel about 15 times
	# slower than this machine.
	out=$(in_ns c2 curl -s --max-time 20 http://198.51.100.1/)
	expect_eq lab/allowed_site "$out" "geofw lab: welcome"
	out=$(in_ns c3 curl -s -i --max-time 20 http://203.0.113.1/)
	expect_match lab/country_403 "$out" $'^HTTP/1.1 403 Forbidden\r'
	expect_eq lab/country_403_body "${out#*$'\r\n\r\n'}" "$(cat "$LAB_DIR/403.html")"
	out=$(in_ns c3 curl -s -i --max-time 20 'http://[2001:db8:3::1]/')
	expect_match lab/country_403_v6 "$out" $'^HTTP/1.1 403 Forbidden\r'
	in_ns c3 curl -s --max-time 20 https://203.0.113.1/ >/dev/null 2>&1
	expect_eq lab/reject_443_refused "$?" 7
	if grep -qE '^(203\.0\.113\.2|2001:db8:3::2) ' "$LAB_DIR/nginx/access.log"; then
		not_ok lab/nginx_never_saw_blocked "$(cat "$LAB_DIR/nginx/access.log")"
	else
		ok lab/nginx_never_saw_blocked
	fi
	exit $((T_FAILED > 0))
fi
REPO=$(pwd)
TIMEOUT=${GEOFW_DEBIAN12_TIMEOUT:-600}

deb=${GEOFW_DEBIAN12_KERNEL_DEB:-}
if [ -z "$deb" ]; then
	deb=$(ls /var/cache/geofw/debian12-kernel/linux-image-*.deb 2>/dev/null | sort -V | tail -1)
fi
qemu=$(command -v qemu-system-x86_64)
busybox=/bin/busybox
if [ "$(uname -m)" != x86_64 ]; then
	echo "ok $T # SKIP the guest is an x86_64 Debian kernel"
	exit 0
fi
for need in "$deb:the Debian 12 kernel package (make deps)" "$qemu:qemu-system-x86 (make deps)" \
	    "$(command -v depmod):kmod (make deps)" "$(command -v cpio):cpio (make deps)"; do
	if [ -z "${need%%:*}" ] || [ ! -e "${need%%:*}" ]; then
		echo "ok $T # SKIP missing: ${need#*:}"
		exit 0
	fi
done
if ! "$busybox" --list 2>/dev/null | grep -qx modprobe || ldd "$busybox" >/dev/null 2>&1; then
	echo "ok $T # SKIP missing: a static busybox (busybox-static, make deps)"
	exit 0
fi
if [ ! -x "$BUILD/tests/prog/run" ]; then
	echo "not ok $T/build # $BUILD/tests/prog/run missing: make build-tests"
	exit 1
fi

work=$(mktemp -d) || exit 1
qpid=
cleanup() {
	[ -n "$qpid" ] && kill "$qpid" 2>/dev/null && wait "$qpid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 143' TERM INT

# The kernel and the modules the guest needs: 9p over virtio, the overlay,
# veth, clsact and cls_bpf for tests that build namespaces.
dpkg-deb -x "$deb" "$work/pkg" || { echo "not ok $T/unpack # $deb"; exit 1; }
kver=$(ls "$work/pkg/lib/modules" | head -1)
kernel=$work/pkg/boot/vmlinuz-$kver
mods="virtio_pci 9pnet_virtio 9p overlay veth sch_ingress cls_bpf"
depmod -b "$work/pkg" "$kver" 2>/dev/null
init=$work/initrd
mkdir -p "$init"/{bin,sbin,dev,proc,sys,lower,upper,root,lib/modules/"$kver"}
cp "$busybox" "$init/bin/busybox"
for a in sh mount modprobe mkdir chroot poweroff cat sed; do ln -s busybox "$init/bin/$a"; done
ln -s ../bin/busybox "$init/sbin/modprobe"	# the kernel's module autoload
for m in $(for m in $mods; do modprobe -d "$work/pkg" -S "$kver" --show-depends "$m"; done 2>/dev/null |
	   awk '/^insmod/ { print $2 }' | sort -u); do
	rel=${m#*/lib/modules/$kver/}
	mkdir -p "$init/lib/modules/$kver/$(dirname "$rel")"
	cp "$m" "$init/lib/modules/$kver/$rel"
done
depmod -b "$init" "$kver" 2>/dev/null

if [ -n "${GEOFW_DEBIAN12_GUEST:-}" ]; then
	guest_cmd=$GEOFW_DEBIAN12_GUEST
else
	# Each group's results; one that ends badly without a "not ok" line
	# (a crash) is one failure.
	guest_cmd="for f in canary tc_; do
	'$BUILD/tests/prog/run' \$f >/tmp/out 2>&1; rc=\$?; cat /tmp/out
	[ \$rc -eq 0 ] || grep -q '^not ok' /tmp/out || echo \"not ok prog/\$f # exit status \$rc\"
done
BUILD='$BUILD' bash tests/e2e/debian12_kernel.sh --lab >/tmp/out 2>&1; rc=\$?; cat /tmp/out
[ \$rc -eq 0 ] || grep -q '^not ok' /tmp/out || echo \"not ok lab # exit status \$rc\""
fi
printf '%s\n' "$guest_cmd" >"$init/guest-cmd"
cat >"$init/init" <<EOF
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in $mods; do modprobe \$m || echo "# guest: modprobe \$m failed"; done
mount -t 9p -o trans=virtio,version=9p2000.L,ro host /lower &&
mount -t tmpfs upper /upper && mkdir -p /upper/u /upper/w &&
mount -t overlay -o lowerdir=/lower,upperdir=/upper/u,workdir=/upper/w root /root ||
	{ echo "GUEST-NO-ROOT"; poweroff -f; }
mount -t proc proc /root/proc
mount -t sysfs sys /root/sys
mount -t devtmpfs dev /root/dev
mount -t bpf bpf /root/sys/fs/bpf
mount -t tmpfs tmp /root/tmp
mount -t tmpfs run /root/run
cp /guest-cmd /root/tmp/guest-cmd
echo "GUEST-KERNEL \$(cat /proc/sys/kernel/osrelease)"
chroot /root /bin/sh -c 'cd $REPO && . /tmp/guest-cmd'
echo "GUEST-RC \$?"
poweroff -f
EOF
chmod +x "$init/init"
(cd "$init" && find . | cpio -o -H newc 2>/dev/null | gzip -1 >"$work/initrd.gz")

# Software emulation: this machine offers no usable nested KVM.
out=$work/console
timeout "$TIMEOUT" "$qemu" -accel tcg -cpu max -smp 2 -m 2048 -nographic -no-reboot -nic none \
	-kernel "$kernel" -initrd "$work/initrd.gz" \
	-virtfs local,path=/,mount_tag=host,security_model=none,readonly=on,multidevs=remap \
	-append "console=ttyS0 quiet panic=-1" >"$out" 2>"$work/qemu.err" </dev/null &
qpid=$!
if [ -n "${GEOFW_DEBIAN12_GUEST:-}" ]; then
	tail -f "$out" --pid="$qpid" 2>/dev/null | tr -d '\r' &
fi
wait "$qpid"
qrc=$?
qpid=
tr -d '\r' <"$out" >"$out.txt"
[ -n "${GEOFW_DEBIAN12_GUEST:-}" ] && exit 0

release=$(sed -n 's/.*GUEST-KERNEL //p' "$out.txt")
if [ -z "$release" ]; then
	echo "not ok $T/boot # no guest (qemu exit $qrc)"
	grep -hv '^$' "$work/qemu.err" "$out.txt" | tail -15 | sed 's/^/# /'
	exit 1
fi
echo "ok $T/boot # Linux $release, $(basename "$deb")"
# The guest's results, named under this suite, with their comments.
sed -n -e 's/^\(not \)\{0,1\}ok \(.*\)$/\1ok '"$T"'\/\2/p' -e '/^#/p' "$out.txt"
if ! grep -q 'GUEST-RC ' "$out.txt"; then
	echo "not ok $T/guest # the guest did not finish (timeout ${TIMEOUT}s or crash)"
	tail -15 "$out.txt" | sed 's/^/# /'
	exit 1
fi
! grep -q '^not ok ' "$out.txt"
