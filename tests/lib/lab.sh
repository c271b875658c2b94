# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
#
# The namespace lab shared by the e2e tests and `make demo`.  Source it, call
# lab_up, use the helpers, and everything it made (namespaces, links, pins,
# daemons, temp files) goes away on exit, also on failure or Ctrl-C.
#
#   srv  (the protected host: geofwd attaches to its three veths)
#    ├─ gfw1 192.0.2.1/24    2001:db8:1::1/64  ── c1 "blocked-ip"   192.0.2.2      2001:db8:1::2  (US)
#    ├─ gfw2 198.51.100.1/24 2001:db8:2::1/64  ── c2 "allowed"      198.51.100.2   2001:db8:2::2  (DE)
#    └─ gfw3 203.0.113.1/24  2001:db8:3::1/64  ── c3 "blocked-cc"   203.0.113.2    2001:db8:3::2  (RU)
#
# Countries come from tests/fixtures/mkmmdb.pl's lab.mmdb.  Only documentation
# ranges are used, and only inside the lab's own namespaces.
#
# geofwd runs in srv's network namespace through nsenter --net, which keeps
# the host's mount namespace, so its pins live in the host bpffs under a
# private directory (LAB_PIN) and outlive the daemon as they would in
# production; `ip netns exec` would give it a throwaway bpffs.

LAB_ID=${LAB_ID:-$$}
LAB_PFX=gfwt$LAB_ID
LAB_PIN=/sys/fs/bpf/geofw-test-$LAB_ID
LAB_DIR=
LAB_PIDS=()
NGINX_PID=
BUILD=${BUILD:-build}
T_FAILED=0

# ---- reporting (the format tests/run.sh counts) --------------------------------

ok() { echo "ok $*"; }
not_ok() { echo "not ok $1"; shift; [ $# -gt 0 ] && echo "# $*"; T_FAILED=$((T_FAILED + 1)); }
skip() { echo "ok $1 # SKIP $2"; }

# check NAME CMD...: ok when CMD succeeds.
check() {
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then
		ok "$name"
	else
		not_ok "$name" "command failed: $* :: $(echo "$out" | tail -3 | tr '\n' ' ')"
	fi
}

# check_fails NAME CMD...: ok when CMD fails.
check_fails() {
	local name=$1
	shift
	if "$@" >/dev/null 2>&1; then
		not_ok "$name" "expected failure: $*"
	else
		ok "$name"
	fi
}

# expect_eq NAME ACTUAL EXPECTED
expect_eq() {
	if [ "$2" == "$3" ]; then ok "$1"; else not_ok "$1" "got '$2', expected '$3'"; fi
}

# expect_match NAME TEXT REGEX
expect_match() {
	if [[ $2 =~ $3 ]]; then ok "$1"; else not_ok "$1" "'$(echo "$2" | head -5)' does not match /$3/"; fi
}

# ---- namespaces ------------------------------------------------------------------

ns() { echo "$LAB_PFX-$1"; }
in_ns() { local n=$1; shift; ip netns exec "$(ns "$n")" "$@"; }
# Run in a namespace's network but the host's mounts (bpffs pins stay shared).
in_net() { local n=$1; shift; nsenter --net="/run/netns/$(ns "$n")" "$@"; }

lab_cleanup() {
	local pid n
	json_report
	# nginx first and gently: killing its master with -9 orphans the workers.
	if [ -n "${NGINX_PID:-}" ]; then
		kill -TERM "$NGINX_PID" 2>/dev/null
		wait "$NGINX_PID" 2>/dev/null
		NGINX_PID=
	fi
	if [ "$T_FAILED" -gt 0 ] && [ -n "$LAB_DIR" ] && [ -f "$LAB_DIR/geofwd.log" ]; then
		echo "# geofwd log (last 30 lines):"
		tail -30 "$LAB_DIR/geofwd.log" | sed 's/^/#   /'
	fi
	for pid in "${LAB_PIDS[@]}"; do
		kill -9 "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	LAB_PIDS=()
	for n in srv c1 c2 c3; do
		# Whatever still runs in a lab namespace (nginx, a flood) goes too.
		ip netns pids "$(ns "$n")" 2>/dev/null | xargs -r kill -9 2>/dev/null
		ip netns del "$(ns "$n")" 2>/dev/null
	done
	rm -rf "$LAB_PIN"
	[ -n "$LAB_DIR" ] && rm -rf "$LAB_DIR"
	LAB_DIR=
}

lab_on_exit() {
	local status=$?
	json_report || status=1
	lab_cleanup
	exit $status
}

# ---- JSON: every document fwctl -j gives a test is parsed ------------------------

JSON_VALID=tests/lib/json_valid.py

# json_record TEXT ARGS...: parse what `fwctl ARGS` printed (fwctl() calls
# this for every -j run); a failure is kept for json_report.
json_record() {
	local text=$1 why
	shift
	[ -n "$LAB_DIR" ] || return 0
	echo "$*" >>"$LAB_DIR/json.runs"
	if ! why=$(printf '%s' "$text" | /usr/bin/python3 "$JSON_VALID" 2>&1 >/dev/null); then
		printf 'fwctl %s: %s\n' "$*" "$why" >>"$LAB_DIR/json.bad"
	fi
}

# json_report: one result for all the -j output of the run (lab_cleanup
# calls it, so every script that builds the lab reports it).
json_report() {
	local n
	[ -n "$LAB_DIR" ] && [ -f "$LAB_DIR/json.runs" ] || return 0
	n=$(wc -l <"$LAB_DIR/json.runs")
	rm -f "$LAB_DIR/json.runs"	# reported once, also when called again
	if [ -s "$LAB_DIR/json.bad" ]; then
		not_ok json/every_document_valid "$(head -3 "$LAB_DIR/json.bad" | tr '\n' ' ')"
		return 1
	fi
	ok json/every_document_valid
	echo "# $n fwctl -j outputs parsed with Python's json"
}

# lab_up: namespaces, veths, addresses, fixture databases, a config.
lab_up() {
	local i srvif v4 v6 c
	trap lab_on_exit EXIT
	trap 'exit 130' INT TERM
	LAB_DIR=$(mktemp -d "/tmp/geofw-lab.XXXXXX")
	mkdir -p /run/netns "$LAB_DIR/state"
	for n in srv c1 c2 c3; do
		ip netns add "$(ns "$n")" || return 1
		in_ns "$n" ip link set lo up
	done
	local -a V4=(192.0.2 198.51.100 203.0.113)
	for i in 1 2 3; do
		srvif=gfw$i
		v4=${V4[$((i - 1))]}
		v6=2001:db8:$i
		c=c$i
		ip link add "$srvif" netns "$(ns srv)" type veth peer name eth0 netns "$(ns "$c")" || return 1
		in_ns srv ip addr add "$v4.1/24" dev "$srvif"
		in_ns srv ip -6 addr add "$v6::1/64" dev "$srvif" nodad
		in_ns srv ip link set "$srvif" up
		in_ns "$c" ip addr add "$v4.2/24" dev eth0
		in_ns "$c" ip -6 addr add "$v6::2/64" dev eth0 nodad
		in_ns "$c" ip link set eth0 up
	done
	perl tests/fixtures/mkmmdb.pl "$LAB_DIR" >/dev/null || return 1
	cp packaging/403.html "$LAB_DIR/403.html"
	lab_config
}

# lab_config [EXTRA LINES]: write $LAB_DIR/geofw.conf.
lab_config() {
	cat > "$LAB_DIR/geofw.conf" <<-EOF
	# geofw lab configuration (tests/lib/lab.sh)
	Interfaces = gfw1 gfw2 gfw3
	XdpMode = ${LAB_XDP_MODE:-auto}
	GeoIPDatabase = $LAB_DIR/lab.mmdb
	CountryMode = block
	Countries = RU
	CountryAction = http403
	UnknownCountry = pass
	HttpPorts = 80 8080
	Http403Body = $LAB_DIR/403.html
	StateDirectory = $LAB_DIR/state
	Socket = $LAB_DIR/geofwd.sock
	LogLevel = info
	$*
	EOF
}

# geofwd_start [ARGS]: start the daemon in srv, wait until it answers.
geofwd_start() {
	# nsenter directly, not through a function: $! must be geofwd itself.
	nsenter --net="/run/netns/$(ns srv)" "$BUILD/geofwd" -c "$LAB_DIR/geofw.conf" \
		--pin-dir "$LAB_PIN" "$@" >>"$LAB_DIR/geofwd.log" 2>&1 &
	GEOFWD_PID=$!
	LAB_PIDS+=("$GEOFWD_PID")
	# 30 s: loading and proving the programs is CPU work, and on a busy
	# machine (suites side by side, tests/run.sh) it takes more than 10 s.
	local i
	for i in $(seq 1 300); do
		if [ -S "$LAB_DIR/geofwd.sock" ] && fwctl status 2>/dev/null | grep -q '^geofwd: running'; then
			return 0
		fi
		if ! kill -0 "$GEOFWD_PID" 2>/dev/null; then
			echo "# geofwd exited; log:"
			sed 's/^/#   /' "$LAB_DIR/geofwd.log" | tail -20
			return 1
		fi
		sleep 0.1
	done
	echo "# geofwd did not answer within 30 s"
	return 1
}

geofwd_kill9() {
	kill -9 "$GEOFWD_PID" 2>/dev/null
	wait "$GEOFWD_PID" 2>/dev/null
}

geofwd_stop() {
	kill -TERM "$GEOFWD_PID" 2>/dev/null
	wait "$GEOFWD_PID" 2>/dev/null
}

fwctl() {
	local a out st
	for a in "$@"; do
		[ "$a" = -j ] || [ "$a" = --json ] || continue
		# JSON output: also parsed (json_record), then passed on.
		out=$(in_net srv "$BUILD/fwctl" --socket "$LAB_DIR/geofwd.sock" --pin-dir "$LAB_PIN" "$@")
		st=$?
		[ -n "$out" ] && printf '%s\n' "$out"
		json_record "$out" "$@"
		return $st
	done
	in_net srv "$BUILD/fwctl" --socket "$LAB_DIR/geofwd.sock" --pin-dir "$LAB_PIN" "$@"
}

# ---- traffic -----------------------------------------------------------------------

# wait_for SECONDS CMD...: CMD succeeds within SECONDS (polled, output hidden).
wait_for() {
	local end=$(( $(date +%s) + $1 ))
	shift
	while ! "$@" >/dev/null 2>&1; do
		[ "$(date +%s)" -lt "$end" ] || return 1
		sleep 0.2
	done
}

# reach CLIENT ADDR: one ping gets an answer within 1 s.
reach() { in_ns "$1" ping -c 1 -W 1 -q "$2" >/dev/null 2>&1; }

# http CLIENT URL: "CODE BODY-BYTES", curl's exit status kept.
http() { in_ns "$1" curl -s -o /dev/null -w '%{http_code} %{size_download}' --max-time 3 "$2"; }

# Start nginx in srv on port 80 (IPv4 and IPv6) serving a known page.
nginx_up() {
	mkdir -p "$LAB_DIR/www" "$LAB_DIR/nginx"
	echo "geofw lab: welcome" > "$LAB_DIR/www/index.html"
	# nginx's workers drop root: they must be able to read the page.
	chmod 755 "$LAB_DIR" "$LAB_DIR/www"
	chmod 644 "$LAB_DIR/www/index.html"
	cat > "$LAB_DIR/nginx/nginx.conf" <<-EOF
	daemon off;
	pid $LAB_DIR/nginx/nginx.pid;
	error_log $LAB_DIR/nginx/error.log;
	events { worker_connections 256; }
	http {
		access_log $LAB_DIR/nginx/access.log;
		client_body_temp_path $LAB_DIR/nginx;
		proxy_temp_path $LAB_DIR/nginx;
		fastcgi_temp_path $LAB_DIR/nginx;
		uwsgi_temp_path $LAB_DIR/nginx;
		scgi_temp_path $LAB_DIR/nginx;
		server {
			listen 80;
			listen [::]:80;
			listen 443;
			root $LAB_DIR/www;
		}
	}
	EOF
	ip netns exec "$(ns srv)" nginx -c "$LAB_DIR/nginx/nginx.conf" >/dev/null 2>&1 &
	NGINX_PID=$!
	LAB_PIDS+=("$NGINX_PID")
	local i
	for i in $(seq 1 50); do
		in_ns srv ss -ltn 2>/dev/null | grep -q ':80 ' && return 0
		sleep 0.1
	done
	return 1
}
