# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
#
# What the bench scripts share: namespaces, daemons, pins and temp files
# that go away on exit (also on failure or Ctrl-C), the GeoIP database,
# geofwd in a namespace, kernel memory readings.  Source it, then call
# bench_init NAME.
#
# Only TEST-NET addresses are used, and only on veths between namespaces this
# file creates; the host's own network is never touched.

BUILD=${BUILD:-build}
BENCH_DB_GZ=${BENCH_DB_GZ:-../shared/data/GeoLite2-Country.mmdb.gz}
# The blocked countries of the data-plane bench: the issue's ten, plus GB
# and FR so the sets hold 100k+ IPv4 prefixes (the ten alone merge to ~56k).
BENCH_COUNTRIES=${BENCH_COUNTRIES:-CN RU IR KP BR IN VN ID PK NG GB FR}

BENCH_NAME=
BENCH_PFX=
BENCH_DIR=
BENCH_PIN=
BENCH_NS=()
BENCH_PIDS=()

# header_help FILE: the comment block at the top of FILE, as help text.
header_help() { awk 'NR > 2 && !/^#/ { exit } NR > 2 { sub(/^# ?/, ""); print }' "$1"; }

say() { printf '%s: %s\n' "$BENCH_NAME" "$*" >&2; }
die() { say "error: $*"; exit 1; }

bench_cleanup() {
	local pid n
	# Best effort from here on: a step that fails must not stop the rest.
	set +e
	for pid in "${BENCH_PIDS[@]}"; do
		# geofwd gets SIGTERM first: with --detach-on-exit it removes its
		# programs and pins itself.
		kill -TERM "$pid" 2>/dev/null
	done
	for pid in "${BENCH_PIDS[@]}"; do
		for _ in 1 2 3 4 5 6 7 8 9 10; do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.2
		done
		kill -9 "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	BENCH_PIDS=()
	for n in "${BENCH_NS[@]}"; do
		# Whatever still runs in a bench namespace (nginx, wrk) goes too;
		# deleting the namespace takes its veths, nft tables, ipsets and
		# iptables rules with it.
		ip netns pids "$n" 2>/dev/null | xargs -r kill -9 2>/dev/null
		ip netns del "$n" 2>/dev/null
	done
	BENCH_NS=()
	[ -n "$BENCH_PIN" ] && rm -rf "$BENCH_PIN"
	[ -n "$BENCH_DIR" ] && rm -rf "$BENCH_DIR"
	BENCH_DIR=
}

bench_on_exit() {
	local status=$?
	bench_cleanup
	exit $status
}

# bench_init NAME: temp dir, pin dir name (everything a bench pins goes
# under $BENCH_PIN), traps.
bench_init() {
	BENCH_NAME=$1
	BENCH_PFX=gfwb$$
	trap bench_on_exit EXIT
	trap 'exit 130' INT TERM
	[ "$(id -u)" = 0 ] || die "needs root (namespaces, BPF, netfilter)"
	BENCH_DIR=$(mktemp -d "/tmp/geofw-bench-$1.XXXXXX")
	BENCH_PIN=/sys/fs/bpf/geofw-bench-$$
	mkdir -p /run/netns
	# bpffs is not mounted everywhere (DESIGN.md §3); the pins need it.
	if [ "$(stat -f -c %T /sys/fs/bpf 2>/dev/null)" != bpf_fs ]; then
		mount -t bpf bpf /sys/fs/bpf || die "cannot mount bpffs at /sys/fs/bpf"
	fi
	mkdir -p "$BENCH_PIN"
}

# ns NAME: the full name of a bench namespace.
ns() { echo "$BENCH_PFX-$1"; }

# ns_add NAME: a namespace with lo up.
ns_add() {
	ip netns add "$(ns "$1")" || die "cannot create namespace $(ns "$1")"
	BENCH_NS+=("$(ns "$1")")
	ip -n "$(ns "$1")" link set lo up
}

# in_ns NAME CMD...: run in the namespace (with its own /sys).
in_ns() { local n=$1; shift; ip netns exec "$(ns "$n")" "$@"; }
# in_net NAME CMD...: the namespace's network, the host's mounts (so pins
# under /sys/fs/bpf are the host's).
in_net() { local n=$1; shift; nsenter --net="/run/netns/$(ns "$n")" "$@"; }

# need FILE...: the built binaries a bench uses.
need() {
	local f
	for f in "$@"; do
		[ -x "$f" ] || die "$f missing: build it first (make all bench-tools)"
	done
}

# bench_db: the GeoIP database as a plain .mmdb in the temp dir; its path on
# stdout, nothing and status 1 when the compressed file is absent.
bench_db() {
	local out=$BENCH_DIR/GeoLite2-Country.mmdb
	[ -f "$out" ] && { echo "$out"; return 0; }
	[ -r "$BENCH_DB_GZ" ] || return 1
	case $BENCH_DB_GZ in
	*.gz) gzip -dc "$BENCH_DB_GZ" > "$out" || return 1 ;;
	*) cp "$BENCH_DB_GZ" "$out" || return 1 ;;
	esac
	echo "$out"
}

now() { date +%s.%N; }
# elapsed T0: seconds since T0, 3 decimals.
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }'; }

# kmem_kb: unreclaimable slab + vmalloc + per-CPU, in kB.  Reclaimable slab
# (dentries, inodes) moves with any file activity on the machine, and what
# the firewalls allocate (BPF maps, nft set elements, ipset buckets) is never
# reclaimable.
kmem_kb() {
	awk '/^SUnreclaim:|^VmallocUsed:|^Percpu:/ { s += $2 } END { print s }' /proc/meminfo
}

# kmem_cg_kb: the kernel memory charged to this process's memory cgroup, in
# kB, or nothing when there is no such counter (cgroup v2 root).  Charges
# follow the allocating process, so unlike /proc/meminfo it does not move
# with whatever else the machine does; but the kernel does not charge every
# allocation to a cgroup (BPF maps and nft sets it does, ipset's buckets it
# does not), so it is a cross-check, and a stand-in only for BPF maps.
kmem_cg_kb() {
	local v1 v2
	v1=$(awk -F: '$2 == "memory" { print $3 }' /proc/self/cgroup)
	v2=$(awk -F: '$1 == "0" { print $3 }' /proc/self/cgroup)
	if [ -n "$v1" ] && [ -r "/sys/fs/cgroup/memory$v1/memory.kmem.usage_in_bytes" ]; then
		echo $(( $(cat "/sys/fs/cgroup/memory$v1/memory.kmem.usage_in_bytes") / 1024 ))
	elif [ -n "$v2" ] && [ -r "/sys/fs/cgroup$v2/memory.stat" ]; then
		awk '$1 == "kernel" { print int($2 / 1024) }' "/sys/fs/cgroup$v2/memory.stat"
	fi
}

# kmem_settle: let RCU callbacks and deferred frees run before a reading.
kmem_settle() { sleep "${1:-1}"; }

# kmem_kb_median: kmem_kb five times over a second, the median, so that a
# short-lived allocation elsewhere on the machine does not make the reading.
kmem_kb_median() {
	local v=() i
	for i in 1 2 3 4 5; do
		v+=("$(kmem_kb)")
		[ $i = 5 ] || sleep 0.25
	done
	median "${v[@]}"
}

# geofwd_conf FILE IFACES DB [EXTRA LINES...]: a configuration for the bench.
geofwd_conf() {
	local file=$1 ifaces=$2 db=$3
	shift 3
	cp packaging/403.html "$BENCH_DIR/403.html"
	mkdir -p "$BENCH_DIR/state"
	{
		echo "# written by bench/$BENCH_NAME"
		echo "Interfaces = $ifaces"
		echo "XdpMode = native"
		echo "GeoIPDatabase = $db"
		echo "CountryMode = block"
		echo "Http403Body = $BENCH_DIR/403.html"
		echo "StateDirectory = $BENCH_DIR/state"
		echo "Socket = $BENCH_DIR/geofwd.sock"
		echo "LogLevel = warning"
		local l
		for l in "$@"; do echo "$l"; done
	} > "$file"
}

# geofwd_start NSNAME CONF: geofwd in the namespace's network (host mounts,
# pins under $BENCH_PIN/geofw), waits until it answers.  Sets GEOFWD_PID.
geofwd_start() {
	local n=$1 conf=$2 i
	nsenter --net="/run/netns/$(ns "$n")" "$BUILD/geofwd" -c "$conf" \
		--pin-dir "$BENCH_PIN/geofw" --detach-on-exit >>"$BENCH_DIR/geofwd.log" 2>&1 &
	GEOFWD_PID=$!
	BENCH_PIDS+=("$GEOFWD_PID")
	GEOFWD_NS=$n
	for i in $(seq 1 300); do
		if [ -S "$BENCH_DIR/geofwd.sock" ] && fwctl status 2>/dev/null | grep -q '^geofwd: running'; then
			return 0
		fi
		if ! kill -0 "$GEOFWD_PID" 2>/dev/null; then
			say "geofwd exited; its log:"
			grep -v '^[0-9]*: (\|^; ' "$BENCH_DIR/geofwd.log" | tail -15 >&2
			return 1
		fi
		sleep 0.1
	done
	say "geofwd did not answer within 30 s"
	return 1
}

fwctl() {
	in_net "$GEOFWD_NS" "$BUILD/fwctl" --socket "$BENCH_DIR/geofwd.sock" \
		--pin-dir "$BENCH_PIN/geofw" "$@"
}

# median V...: the median of numbers (the lower middle for an even count).
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

