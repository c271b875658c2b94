#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# fwctl without geofwd: help at every level, usage errors (exit 2, the
# parser's message, nothing sent), a daemon that is not there (exit 1), JSON
# errors, and the man page and bash completion that ship with it.
#
# Never touches a running geofw: every command that would reach geofwd or
# the pins is pointed at paths in a private temporary directory.
#
# Usage: BUILD=build bash tests/e2e/fwctl_usage.sh   (from the repo root)
set -u

BUILD=${BUILD:-build}
FWCTL=$BUILD/fwctl
T=fwctl_usage
failed=0

ok() { echo "ok $T/$1"; }
not_ok() {
	echo "not ok $T/$1"
	shift
	local line
	for line in "$@"; do
		printf '%s\n' "$line" | sed 's/^/# /'
	done
	failed=1
}

if [ ! -x "$FWCTL" ]; then
	not_ok binary "$FWCTL is missing: run make first"
	exit 1
fi

tmp=$(mktemp -d /tmp/geofw-fwctl-usage.XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT
SOCK=$tmp/none/geofwd.sock	# no such socket
PINS=$tmp/nopins		# no such pins
ISO=(-s "$SOCK" --pin-dir "$PINS")

# run NAME WANT_STATUS ARGS...: runs fwctl, keeps stdout/stderr in $out/$err.
run() {
	local name=$1 want=$2
	shift 2
	"$FWCTL" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
	status=$?
	out=$(cat "$tmp/out")
	err=$(cat "$tmp/err")
	local a why
	for a in "$@"; do
		[ "$a" = -j ] || [ "$a" = --json ] || continue
		# Every -j output, errors included, parses as JSON.
		if ! why=$(/usr/bin/python3 "$(dirname "$0")/../lib/json_valid.py" <"$tmp/out" 2>&1 >/dev/null); then
			not_ok "$name" "fwctl $*: not valid JSON: $why" "stdout: ${out:0:300}"
			return 1
		fi
		break
	done
	if [ "$status" -ne "$want" ]; then
		not_ok "$name" "fwctl $*" "exit status $status, expected $want" \
			"stdout: ${out:0:300}" "stderr: ${err:0:300}"
		return 1
	fi
	return 0
}

# expect NAME WANT_STATUS STREAM TEXT ARGS...: status and a fixed string in
# stdout or stderr.
expect() {
	local name=$1 want=$2 stream=$3 text=$4
	shift 4
	run "$name" "$want" "$@" || return
	local got=$out
	[ "$stream" = err ] && got=$err
	if [[ $got != *"$text"* ]]; then
		not_ok "$name" "fwctl $*" "std$stream lacks: $text" "std$stream: ${got:0:400}"
		return
	fi
	ok "$name"
}

# ---- help at every level ------------------------------------------------------

commands=(add-block del-block allow del-allow block-asn unblock-asn allow-asn del-allow-asn
	  block-country unblock-country country-mode
	  import del-source export reload list status lookup stats "geo verify" "asn show"
	  "asn verify" "feed list" "feed refresh" "feed confirm" help version)

for form in --help -h help; do
	if run "top_help_$form" 0 $form; then
		missing=()
		for c in "${commands[@]}" "Usage: fwctl" "Exit status:" "Examples:" \
			 "--json" "--socket PATH" "--pin-dir DIR" "--timeout SEC"; do
			[[ $out == *"$c"* ]] || missing+=("$c")
		done
		wide=$(printf '%s\n' "$out" | awk 'length($0) > 79')
		if [ ${#missing[@]} -gt 0 ] || [ -n "$wide" ] || [ -n "$err" ]; then
			not_ok "top_help_$form" "missing: ${missing[*]}" "over 79 columns: $wide" \
				"stderr: $err"
		else
			ok "top_help_$form"
		fi
	fi
done

for c in "${commands[@]}"; do
	# shellcheck disable=SC2086 # "geo verify" is two words on purpose
	expect "help_${c// /_}" 0 out "Usage: fwctl $c" help $c
	# shellcheck disable=SC2086
	expect "${c// /_}_--help" 0 out "Usage: fwctl $c" $c --help
done
expect help_geo 0 out "Usage: fwctl geo COMMAND" geo help
expect help_geo_--help 0 out "verify" geo --help
expect help_wins 0 out "Usage: fwctl add-block" add-block 1.2.3 --ttl 0s --help
expect help_json 0 out '{"help":"Usage: fwctl' -j help
# Options refused without --ports say so in the help.
expect help_allow_ttl_ports 0 out "--ttl DURATION      with --ports only" help allow
expect help_block_country_ttl_ports 0 out "--ttl DURATION      with --ports only" help block-country
expect help_block_country_comment_ports 0 out "--comment TEXT      with --ports only" help block-country
expect allow_ttl_without_ports 2 err "allow: option '--ttl' does not apply to this command without --ports" \
	"${ISO[@]}" allow 192.0.2.0/24 --ttl 1h
expect help_country_mode_key 0 out "UnknownCountry of geofw.conf" help country-mode
expect help_unknown 2 err "help: unknown command 'frobnicate'" help frobnicate

expect version 0 out "fwctl " version
expect version_flag 0 out "fwctl " --version
expect version_json 0 out '"abi_version":' -j version

# ---- usage errors: exit 2, the parser's message, nothing sent ----------------------

run no_command 2 && {
	if [[ $err == *"Usage: fwctl"* && -z $out ]]; then ok no_command
	else not_ok no_command "stderr: $err" "stdout: $out"; fi
}
expect unknown_command 2 err "fwctl: unknown command 'frobnicate' (try 'fwctl help')" \
	"${ISO[@]}" frobnicate
expect unknown_option 2 err "unknown option '--frob'" "${ISO[@]}" --frob list
expect unknown_cmd_option 2 err "add-block: unknown option '--frob'" \
	"${ISO[@]}" add-block 203.0.113.0/24 --frob
expect bad_cidr 2 err "fwctl: add-block: 1.2.3: not an IPv4 or IPv6 address" \
	"${ISO[@]}" add-block 1.2.3
expect bad_cidr_octal 2 err "010.1.1.1: not an IPv4 or IPv6 address" \
	"${ISO[@]}" add-block 010.1.1.1
expect bad_cidr_len 2 err "203.0.113.0/33: prefix length must be 0-32 for IPv4" \
	"${ISO[@]}" add-block 203.0.113.0/33
expect bad_cidr_host_bits 2 err "host bits set; did you mean 203.0.113.0/24?" \
	"${ISO[@]}" add-block 203.0.113.7/24
expect bad_cidr_zero 2 err "/0 matches every IPv4 address; use --force" \
	"${ISO[@]}" add-block 0.0.0.0/0
expect bad_batch 2 err "add-block: 1.2.3: not an IPv4 or IPv6 address" \
	"${ISO[@]}" add-block 203.0.113.0/24 1.2.3 198.51.100.0/24
expect bad_ttl 2 err "--ttl: 0s: a duration must be greater than zero" \
	"${ISO[@]}" add-block 203.0.113.0/24 --ttl 0s
expect bad_action 2 err "--action deny: unknown action" \
	"${ISO[@]}" add-block 203.0.113.0/24 --action deny
expect ttl_past_store_limit 2 err "--ttl: 17000000000 seconds: the expiry would be past the rule store's limit (UNIX time 18446744073" \
	"${ISO[@]}" add-block 192.0.2.60 --ttl 17000000000
expect ttl_on_del 2 err "del-block: option '--ttl' does not apply to this command" \
	"${ISO[@]}" del-block 203.0.113.0/24 --ttl 1h
expect bad_country 2 err "block-country: QQ: unknown country code" \
	"${ISO[@]}" block-country RU QQ
expect bad_country_len 2 err "RUS: a country is two letters" "${ISO[@]}" block-country RUS
expect bad_mode 2 err "country-mode: 'deny': expected block or allow" \
	"${ISO[@]}" country-mode deny
expect bad_lookup 2 err "expected a single address, not a prefix" \
	"${ISO[@]}" lookup 203.0.113.0/24
expect bad_timeout 2 err "--timeout: 0: a duration must be greater than zero" \
	"${ISO[@]}" -t 0 reload
expect global_after_cmd 2 err "'-s' is an option of fwctl: put it before the command" \
	reload -s "$SOCK"
# Options that exclude each other: usage errors, whichever the pair.
expect local_fleet 2 err "--local and --fleet exclude each other" \
	"${ISO[@]}" add-block 192.0.2.50 --local --fleet
expect source_fleet 2 err "add-block: --source and --fleet exclude each other" \
	"${ISO[@]}" add-block 192.0.2.50 --source fail2ban --fleet
printf '192.0.2.51\n' >"$tmp/l.txt"
expect replace_fleet 2 err "import: --replace and --fleet exclude each other" \
	"${ISO[@]}" import "$tmp/l.txt" --fleet --replace
expect bad_cidr_json 2 out '{"error":"add-block: 1.2.3: not an IPv4 or IPv6 address"}' \
	"${ISO[@]}" -j add-block 1.2.3
expect unknown_command_json 2 out '{"error":"unknown command' "${ISO[@]}" -j frobnicate
# -j after the command word: the usage error is JSON too, whatever word
# the parser stopped at.
expect bad_cidr_json_after 2 out '{"error":"add-block: bogus: not an IPv4 or IPv6 address"}' \
	"${ISO[@]}" add-block bogus -j
expect bad_list_json_after 2 out "{\"error\":\"list: 'bogus': expected blocks" \
	"${ISO[@]}" list -j bogus
run usage_stdout_clean 2 "${ISO[@]}" add-block 1.2.3 &&
	{ if [ -z "$out" ]; then ok usage_stdout_clean
	  else not_ok usage_stdout_clean "stdout: $out"; fi; }

# ---- no geofwd: exit 1 ---------------------------------------------------------------

expect daemon_down 1 err "fwctl: geofwd is not running (no socket at $SOCK)" \
	"${ISO[@]}" add-block 203.0.113.0/24
for c in "del-block 203.0.113.0/24" "allow 192.0.2.0/24" "del-allow 192.0.2.0/24" \
	 "block-country RU" "unblock-country RU" "country-mode allow" reload; do
	# shellcheck disable=SC2086
	expect "daemon_down_${c%% *}" 1 err "geofwd is not running (no socket at $SOCK)" \
		"${ISO[@]}" $c
done
expect daemon_down_json 1 out "{\"error\":\"geofwd is not running (no socket at $SOCK)\"}" \
	"${ISO[@]}" -j add-block 203.0.113.0/24
printf '203.0.113.0/24\n' >"$tmp/list.txt"
expect daemon_down_import 1 err "geofwd is not running" "${ISO[@]}" import "$tmp/list.txt"
expect import_missing_file 1 err "$tmp/absent.txt: No such file or directory" \
	"${ISO[@]}" import "$tmp/absent.txt"
expect import_directory 1 err "Is a directory" "${ISO[@]}" import "$tmp"

# A socket file nobody listens on (geofwd crashed) is "not running" too.
if /usr/bin/python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET); s.bind(sys.argv[1])' \
	"$tmp/stale.sock" 2>/dev/null; then
	expect daemon_stale_socket 1 err "geofwd is not running (no socket at $tmp/stale.sock)" \
		-s "$tmp/stale.sock" --pin-dir "$PINS" reload
else
	echo "ok $T/daemon_stale_socket # SKIP python3 cannot create a unix socket"
fi

# A geofwd that takes the request and stalls: the change may still be
# applied when it resumes, and fwctl says so (a read does not).
if /usr/bin/python3 -c 'import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET); s.bind(sys.argv[1]); s.listen(8)
print("ready", flush=True)
conns = []
end = time.time() + 20
while time.time() < end:
    s.settimeout(end - time.time())
    try:
        conns.append(s.accept()[0])
    except OSError:
        break' "$tmp/stall.sock" >"$tmp/stall.out" 2>&1 &
then
	stall=$!
	for _ in $(seq 50); do [ -S "$tmp/stall.sock" ] && break; sleep 0.1; done
	expect stalled_change 1 err "no answer from geofwd within 1.0 s; the request was delivered and geofwd may still apply it (check with fwctl list)" \
		-s "$tmp/stall.sock" --pin-dir "$PINS" -t 1 add-block 192.0.2.80
	run stalled_read 1 -s "$tmp/stall.sock" --pin-dir "$PINS" -t 1 export &&
		{ if [[ $err == *"no answer from geofwd within 1.0 s"* && $err != *delivered* ]]; then
			ok stalled_read
		  else not_ok stalled_read "stderr: $err"; fi; }
	kill "$stall" 2>/dev/null
	wait "$stall" 2>/dev/null
fi

# Read-only commands fall back to the pins, which are not there either.
expect list_down_no_pins 1 err "geofwd is not running (no socket at $SOCK) and no geofw maps are pinned at $PINS" \
	"${ISO[@]}" list
expect status_down_no_pins 1 err "no geofw maps are pinned at $PINS" "${ISO[@]}" status
expect lookup_no_pins 1 err "no geofw maps pinned at $PINS" "${ISO[@]}" lookup 203.0.113.7
expect stats_no_pins 1 err "no geofw maps pinned at $PINS" "${ISO[@]}" stats
expect stats_no_pins_json 1 out "{\"error\":\"no geofw maps pinned at $PINS" \
	"${ISO[@]}" -j stats

# ---- man page and completion ------------------------------------------------------------

MAN=packaging/man/fwctl.8
if ! command -v groff >/dev/null; then
	echo "ok $T/man_page # SKIP groff missing"
elif [ ! -f "$MAN" ]; then
	not_ok man_page "$MAN is missing"
else
	warn=$(groff -man -Tutf8 -ww -z "$MAN" 2>&1)
	text=$(groff -man -Tutf8 "$MAN" 2>/dev/null | sed 's/\x1b\[[0-9;]*m//g; s/.\x08//g')
	missing=()
	for c in "${commands[@]}" "EXIT STATUS" "FILES" "EXAMPLES" "SEE ALSO" "geofwd(8)" \
		 "geofw.conf(5)" --ttl --action --comment --force --replace --source --watch --samples \
		 --db --asn-db --json --socket --pin-dir --timeout; do
		[[ $text == *"$c"* ]] || missing+=("$c")
	done
	if [ -n "$warn" ] || [ ${#missing[@]} -gt 0 ]; then
		not_ok man_page "groff: $warn" "missing: ${missing[*]}"
	else
		ok man_page
	fi
	# One synopsis line per entry: two .B lines of the same command under
	# one .TP are an edit gone wrong.
	twice=$(awk '/^\.TP/ { tp = NR; next }
		NR == tp + 1 && /^\.B / { w = $2; next }
		NR == tp + 2 && /^\.B / && $2 == w { print NR ": " $0 }' "$MAN")
	# The synopsis of these commands reads as their --help's Usage line.
	wide=$(groff -man -Tutf8 -rLL=300n "$MAN" 2>/dev/null | sed 's/\x1b\[[0-9;]*m//g; s/.\x08//g; s/‐/-/g')
	differ=()
	for c in list lookup export stats status del-source reload "geo verify"; do
		# shellcheck disable=SC2086
		u=$("$FWCTL" help $c | sed -n '1,/^$/p' | tr -s ' \n' ' ' | sed 's/^Usage: fwctl //; s/ $//')
		[[ $wide == *"$u"* ]] || differ+=("$u")
	done
	if [ -n "$twice" ] || [ ${#differ[@]} -gt 0 ]; then
		not_ok man_synopsis "two synopsis lines: $twice" "not in fwctl(8): ${differ[*]}"
	else
		ok man_synopsis
	fi
	# The drop log's country=- is "not looked up" as often as "none".
	flat=$(tr -s ' \n' '  ' <<<"$wide")
	if [[ $flat == *"country=- means the address has none"* ]] ||
	   [[ $flat != *"only when the country step runs"* ]]; then
		not_ok man_log_country "fwctl(8) says country=- means the address has none"
	else
		ok man_log_country
	fi
fi

COMP=packaging/bash-completion/fwctl
if [ ! -f "$COMP" ]; then
	not_ok completion "$COMP is missing"
else
	# complete WORDS...: what the completion offers for the last word.
	got=$(bash -c '
		source "$1"; shift
		COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
		COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
		_fwctl fwctl "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
		printf "%s\n" "${COMPREPLY[@]}" | sort | tr "\n" " "
		printf "| "
		COMP_WORDS=(fwctl add-block 203.0.113.0/24 --action ""); COMP_CWORD=4
		_fwctl fwctl "" --action
		printf "%s\n" "${COMPREPLY[@]}" | sort | tr "\n" " "
		printf "| "
		COMP_WORDS=(fwctl block-country r); COMP_CWORD=2
		_fwctl fwctl r block-country
		printf "%s\n" "${COMPREPLY[@]}" | sort | tr "\n" " "
		printf "| "
		COMP_WORDS=(fwctl geo ""); COMP_CWORD=2
		_fwctl fwctl "" geo
		printf "%s\n" "${COMPREPLY[@]}" | sort | tr "\n" " "
	' _ "$COMP" fwctl a 2>&1)
	want="add-block allow allow-asn asn | drop http403 log reject | RE RO RS RU RW | help verify "
	if [ "$got" = "$want" ]; then
		ok completion
	else
		not_ok completion "got:  $got" "want: $want"
	fi
fi

exit $failed
