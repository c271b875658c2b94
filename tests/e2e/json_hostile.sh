#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Every -j output is valid JSON whatever the names in it hold (user/lib/json.h):
# interfaces whose names hold '"', '\', a control character or bytes that are
# not UTF-8 (real devices in the lab, and configured ones that are absent),
# and import files named the same way.  Each document is parsed with Python's
# json, and the names must come back as they were (invalid UTF-8 bytes as
# U+FFFD), for geofwd's answers (status, list, import, errors) and fwctl's
# own output (stats, the drop log).
set -u
cd "$(dirname "$0")/../.." || exit 2
source tests/lib/lab.sh

PY=/usr/bin/python3

# jget EXPR: evaluate a Python expression over the JSON document d on stdin.
jget() { "$PY" -c 'import json, sys; d = json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }

lab_up || { not_ok lab_up "cannot build the lab"; exit 1; }
ok lab_up

# Devices in srv whose names need escaping.  The kernel takes any byte but
# '/', ':', white space and NUL; geofw.conf takes all but control characters.
Q='q"x\y'			# quote and backslash
U=$'u\xff\xfez'			# not UTF-8
# Each is one end of a veth pair in srv; frames sent into the other end
# (hp1, hp2) arrive on it.
k=0
for n in "$Q" "$U"; do
	k=$((k + 1))
	if ! in_ns srv ip link add "hp$k" type veth peer name "$n" 2>/dev/null; then
		not_ok hostile/devices "cannot create a device named $(printf '%q' "$n")"
		exit 1
	fi
	in_ns srv ip link set "hp$k" up
	in_ns srv ip link set "$n" up
done
ok hostile/devices
# hostile_config NAMES [LINES]: the lab configuration with these interfaces.
hostile_config() {
	local names=$1
	shift
	lab_config "$(printf '%s\n' "$@")"
	"$PY" -c '
import sys
path, names = sys.argv[1], sys.argv[2].encode("utf-8", "surrogateescape")
lines = open(path, "rb").read().split(b"\n")
lines = [b"Interfaces = " + names if l.startswith(b"Interfaces =") else l for l in lines]
open(path, "wb").write(b"\n".join(lines))' "$LAB_DIR/geofw.conf" "$names"
}
hostile_config "gfw1 gfw2 gfw3 $Q $U absent\"x"
geofwd_start || { not_ok geofwd_start "geofwd did not start"; exit 1; }

# --- geofwd's status ------------------------------------------------------------
st=$(fwctl -j status)
names=$(jget '"|".join(i["name"] for i in d["interfaces"])' <<<"$st")
expect_eq hostile/status_names "$names" $'gfw1|gfw2|gfw3|q"x\\y|u\ufffd\ufffdz|absent"x'
expect_eq hostile/status_attached "$("$PY" -c '
import json, sys
d = json.load(sys.stdin)
print([i["attached"] for i in d["interfaces"] if i["name"] == sys.argv[1]])' "$Q" <<<"$st")" "[True]"

# --- import files with hostile names ----------------------------------------------
F1=$'imp"quote\\back\xc3\xa9\xf0\x9f\x94\xa5.txt'	# ", \, é and a 4-byte character
printf '198.51.100.99\n' >"$LAB_DIR/$F1"
out=$(fwctl -j import "$LAB_DIR/$F1")
expect_eq hostile/import_source "$(jget 'd["source"]' <<<"$out")" \
	$'import:imp"quote\\back\u00e9\U0001f525.txt'
lst=$(fwctl -j list)
expect_eq hostile/list_source "$("$PY" -c '
import json, sys
d = json.load(sys.stdin)
rules = d if isinstance(d, list) else d.get("rules", d)
print([r["source"] for r in rules if r.get("prefix") == "198.51.100.99/32"][0])' <<<"$lst")" \
	$'import:imp"quote\\back\u00e9\U0001f525.txt'
# export -j: the block rules, one JSON document like list's.
lst=$(fwctl -j export)
expect_eq hostile/export_json_source "$("$PY" -c '
import json, sys
print([r["source"] for r in json.load(sys.stdin) if r["prefix"] == "198.51.100.99/32"][0])' <<<"$lst")" \
	$'import:imp"quote\\back\u00e9\U0001f525.txt'
# Refused imports: a bad line in a file with an overlong UTF-8 form in its
# name, and names with a control character or bytes that are not UTF-8
# (rule sources may hold neither): each error is a JSON document too.
F2=$'bad"\\\xc0\xafname.txt'
printf 'not an address\n' >"$LAB_DIR/$F2"
out=$(fwctl -j import "$LAB_DIR/$F2")
expect_match hostile/import_error "$(jget 'd["error"]' <<<"$out")" 'not an address'
F3=$'ctl\x01\x7fname.txt'
printf '198.51.100.98\n' >"$LAB_DIR/$F3"
out=$(fwctl -j import "$LAB_DIR/$F3")
expect_match hostile/import_control_char "$(jget 'd["error"]' <<<"$out")" 'control character'
F4=$'utf\xff\xfename.txt'
printf '198.51.100.98\n' >"$LAB_DIR/$F4"
out=$(fwctl -j import "$LAB_DIR/$F4")
expect_match hostile/import_not_utf8 "$(jget 'd["error"]' <<<"$out")" 'not valid UTF-8'
out=$(fwctl -j import --comment $'c"\\\xc3\xa9' "$LAB_DIR/$F1")
lst=$(fwctl -j list)
expect_eq hostile/comment_round_trip "$("$PY" -c '
import json, sys
d = json.load(sys.stdin)
rules = d if isinstance(d, list) else d.get("rules", d)
print([r["comment"] for r in rules if r.get("prefix") == "198.51.100.99/32"][0] ==
      "c\"\\\u00e9")' <<<"$lst")" True

# --- fwctl's own output: stats, status without geofwd, the drop log ----------------
check hostile/stats fwctl -j stats
check hostile/lookup fwctl -j lookup 198.51.100.99
hostile_config "gfw1 gfw2 gfw3 $Q $U" "DropLog = off" "MetricsListen = 127.0.0.1:9748"
check hostile/reload fwctl reload
# /metrics is not JSON, but the same names are label values there: the text
# must be UTF-8 with the names escaped by the text format's rules.
labels=$(in_ns srv curl -sf --max-time 5 http://127.0.0.1:9748/metrics | "$PY" -c '
import re, sys
text = sys.stdin.buffer.read().decode("utf-8")
print("|".join(re.findall("^geofw_xdp_attached[{]interface=\"(.*?)\",mode=", text, re.M)))' 2>&1)
expect_eq hostile/metrics_labels "$labels" $'gfw1|gfw2|gfw3|q\\"x\\\\y|u\ufffd\ufffdz'
# A blocked packet on each hostile device, sampled into the drop log: fwctl
# prints the kernel's name of the interface.
qidx=$(in_ns srv cat "/sys/class/net/$Q/ifindex")
nsenter --net="/run/netns/$(ns srv)" "$BUILD/fwctl" --socket "$LAB_DIR/geofwd.sock" \
	--pin-dir "$LAB_PIN" -j log --follow --rate 100 >"$LAB_DIR/log.json" 2>/dev/null &
log_pid=$!
LAB_PIDS+=("$log_pid")
sleep 0.5
# 198.51.100.99 is blocked: frames from it sent into hp1 and hp2 arrive on
# the hostile devices, whose XDP program drops and samples them.
in_ns srv "$PY" - hp1 hp2 <<-'EOF'
	import socket, struct, sys
	def frame(src):
	    udp = struct.pack("!HHHH", 40000, 9, 12, 0) + b"test"
	    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
	                     socket.inet_aton(src), socket.inet_aton("192.0.2.1"))
	    return b"\xff" * 6 + b"\x02" * 6 + b"\x08\x00" + ip + udp
	for name in sys.argv[1:]:
	    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
	    s.bind((name, 0))
	    for i in range(3):
	        s.send(frame("198.51.100.99"))
	EOF
sleep 1
kill -TERM "$log_pid"
wait "$log_pid"
if why=$("$PY" tests/lib/json_valid.py <"$LAB_DIR/log.json" 2>&1); then
	ok hostile/log_json_valid
else
	not_ok hostile/log_json_valid "$why"
fi
ifs=$("$PY" -c '
import json, sys
print("|".join(sorted({json.loads(l)["interface"] for l in open(sys.argv[1]) if l.strip()})))' \
	"$LAB_DIR/log.json" 2>/dev/null)
echo "# drop log interfaces: $ifs (ifindex of $Q: $qidx)"
expect_eq hostile/log_names "$ifs" $'q"x\\y|u\ufffd\ufffdz'

# A client geofwd refuses (not root, not in the group) asked for JSON: the
# refusal is a JSON document too.  The lab's LAB_DIR is private to root, so
# the socket is reached through a link in a directory anyone may enter.
pub=$(mktemp -d /tmp/geofw-pub.XXXXXX)
chmod 0755 "$pub"
ln "$LAB_DIR/geofwd.sock" "$pub/geofwd.sock" 2>/dev/null ||
	{ chmod 0711 "$LAB_DIR"; ln -s "$LAB_DIR/geofwd.sock" "$pub/geofwd.sock"; }
chmod 0666 "$LAB_DIR/geofwd.sock"
out=$(in_net srv setpriv --reuid=65534 --regid=65534 --clear-groups "$BUILD/fwctl" \
	--socket "$pub/geofwd.sock" -j reload 2>/dev/null)
rm -rf "$pub"
chmod 0660 "$LAB_DIR/geofwd.sock"
json_record "$out" "-j reload (refused client)"
expect_match hostile/refused_is_json "$(jget 'd["error"]' <<<"$out" 2>&1)" 'uid 65534'

# geofwd stopped: fwctl reads the pins and prints its own status.
geofwd_stop
st=$(fwctl -j status)
check hostile/status_from_pins "$PY" -c 'import json, sys; json.loads(sys.argv[1])' "$st"

exit $((T_FAILED > 0))
