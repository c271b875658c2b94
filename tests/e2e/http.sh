#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# user/lib/http.h (the libcurl GET of CrowdSec and the feeds) against real
# servers, through tests/tools/httpget: nginx in a namespace of this test
# (127.0.0.1 there) for answers, validators, redirects and errors, and a
# small Python server for what nginx will not do (a truncated body, an
# answer that never comes).
#
#   get/        200: body, ETag, Last-Modified; the extra header reaches nginx
#   cond/       If-None-Match and If-Modified-Since: 304 reported as such;
#               a stale ETag gets the body
#   errors/     404 and 403 as "HTTP N (URL)"; refused connect; timeout;
#               truncated body; body over the cap (with and without a
#               Content-Length); credentials and query kept out of messages
#   redirect/   none followed by default; a chain of 2 within the limit;
#               over the limit; to file:// refused
#
# Usage: BUILD=build bash tests/e2e/http.sh   (from the repo root, root)
set -u
cd "$(dirname "$0")/../.." || exit 2
BUILD=${BUILD:-build}
T_FAILED=0
NS=gfwt$$-http
DIR=$(mktemp -d /tmp/geofw-http.XXXXXX)
PIDS=()

ok() { echo "ok $*"; }
not_ok() { echo "not ok $1"; shift; [ $# -gt 0 ] && echo "# $*"; T_FAILED=$((T_FAILED + 1)); }
expect_match() {
	if [[ $2 =~ $3 ]]; then ok "$1"; else not_ok "$1" "'$(echo "$2" | head -6 | tr '\n' '|')' does not match /$3/"; fi
}

cleanup() {
	local p
	for p in "${PIDS[@]}"; do
		kill -TERM "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	ip netns pids "$NS" 2>/dev/null | xargs -r kill -9 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	rm -rf "$DIR"
}
trap 'cleanup; exit $(( T_FAILED > 0 ))' EXIT
trap 'exit 130' INT TERM

if [ ! -x "$BUILD/tests/tools/httpget" ]; then
	not_ok http/tool "$BUILD/tests/tools/httpget missing (make build-tests)"
	exit 1
fi
command -v nginx >/dev/null 2>&1 || { echo "ok http # SKIP nginx is not installed"; exit 0; }

mkdir -p /run/netns "$DIR/www" "$DIR/nginx"
ip netns add "$NS" || exit 1
ip netns exec "$NS" ip link set lo up
printf '192.0.2.0/24\n198.51.100.7\n' >"$DIR/www/list.txt"
head -c 100 /dev/zero | tr '\0' 'x' >"$DIR/www/big.txt"
chmod 755 "$DIR" "$DIR/www"
chmod 644 "$DIR/www/"*
cat >"$DIR/nginx/nginx.conf" <<EOF
daemon off;
pid $DIR/nginx/nginx.pid;
error_log $DIR/nginx/error.log;
events { worker_connections 64; }
http {
	log_format key '\$request_uri key=\$http_x_api_key';
	access_log $DIR/nginx/access.log key;
	client_body_temp_path $DIR/nginx;
	proxy_temp_path $DIR/nginx;
	fastcgi_temp_path $DIR/nginx;
	uwsgi_temp_path $DIR/nginx;
	scgi_temp_path $DIR/nginx;
	server {
		listen 127.0.0.1:8081;
		root $DIR/www;
		location = /forbidden { default_type application/json;
			return 403 '{"message":"access forbidden"}'; }
		location = /r1 { return 301 /list.txt; }
		location = /r2 { return 302 /r1; }
		location = /r3 { return 302 /r2; }
		location = /rfile { return 302 file:///etc/passwd; }
		location = /chunked-big { default_type text/plain; chunked_transfer_encoding on;
			return 200 '$(head -c 100 /dev/zero | tr '\0' 'y')'; }
	}
}
EOF
ip netns exec "$NS" nginx -c "$DIR/nginx/nginx.conf" >/dev/null 2>&1 &
PIDS+=($!)
cat >"$DIR/liar.py" <<'EOF'
# /trunc: promises 100 bytes, sends 10 and closes; /hang: never answers.
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 8082))
s.listen(8)
while True:
    c, _ = s.accept()
    req = c.recv(4096).decode(errors="replace")
    if req.startswith("GET /trunc"):
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789")
        c.close()
    else:
        time.sleep(30)
        c.close()
EOF
ip netns exec "$NS" /usr/bin/python3 "$DIR/liar.py" >/dev/null 2>&1 &
PIDS+=($!)
for _ in $(seq 1 50); do
	ip netns exec "$NS" ss -ltn 2>/dev/null | grep -q '127.0.0.1:8081 ' &&
		ip netns exec "$NS" ss -ltn 2>/dev/null | grep -q '127.0.0.1:8082 ' && break
	sleep 0.1
done

get() { ip netns exec "$NS" "$BUILD/tests/tools/httpget" "$@" 2>&1; }
field() { awk -v k="$1" '$1 == k { sub("^" k " ", ""); print; exit }'; }
U=http://127.0.0.1:8081

# ---- get ---------------------------------------------------------------------------------

out=$(get -H "X-Api-Key: k3y-123" "$U/list.txt")
expect_match http/get/ok "$out" "^ret 0 status 200 not_modified 0 len 26"
expect_match http/get/body "$out" $'body:\n192\\.0\\.2\\.0/24\n198\\.51\\.100\\.7'
etag=$(echo "$out" | field etag)
lm=$(echo "$out" | field last_modified)
expect_match http/get/etag "$etag" '^".+"$'
expect_match http/get/last_modified "$lm" '^[A-Z][a-z]{2}, [0-9]{2} [A-Z][a-z]{2} [0-9]{4} [0-9:]{8} GMT$'
expect_match http/get/header_sent "$(cat "$DIR/nginx/access.log")" '/list.txt key=k3y-123'

# ---- conditional ---------------------------------------------------------------------------

expect_match http/cond/if_none_match "$(get --etag "$etag" "$U/list.txt")" \
	"^ret 0 status 304 not_modified 1 len 0"
expect_match http/cond/if_modified_since "$(get --since "$lm" "$U/list.txt")" \
	"^ret 0 status 304 not_modified 1 len 0"
expect_match http/cond/stale_etag "$(get --etag '"0-0"' "$U/list.txt")" \
	"^ret 0 status 200 not_modified 0 len 26"
expect_match http/cond/old_date "$(get --since 'Thu, 01 Jan 1998 00:00:00 GMT' "$U/list.txt")" \
	"^ret 0 status 200 not_modified 0 len 26"

# ---- errors ----------------------------------------------------------------------------------

out=$(get "$U/nope.txt")
expect_match http/errors/404 "$out" "ret -71 status 404 .*"$'\n'".*error HTTP 404 \\(http://127\\.0\\.0\\.1:8081/nope\\.txt\\)"
expect_match http/errors/403_with_message "$(get "$U/forbidden")" \
	'error HTTP 403 \(http://127\.0\.0\.1:8081/forbidden\): \{"message":"access forbidden"\}'
expect_match http/errors/refused "$(get http://127.0.0.1:8083/x)" \
	"ret -111 .*error curl: Couldn't connect to server \\(http://127\\.0\\.0\\.1:8083/x\\)"
expect_match http/errors/truncated "$(get http://127.0.0.1:8082/trunc)" \
	"ret -5 .*error curl: Transferred a partial file \\(http://127\\.0\\.0\\.1:8082/trunc\\)"
t0=$(date +%s%N)
out=$(get --timeout 1000 http://127.0.0.1:8082/hang)
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
expect_match http/errors/timeout "$out" "ret -110 .*error curl: Timeout was reached \\(http://127\\.0\\.0\\.1:8082/hang\\)"
if [ "$ms" -lt 5000 ]; then ok http/errors/timeout_kept; else not_ok http/errors/timeout_kept "$ms ms"; fi
expect_match http/errors/cap_content_length "$(get --max-body 50 "$U/big.txt")" \
	"ret -27 .*error body larger than the cap of 50 bytes \\(http://127\\.0\\.0\\.1:8081/big\\.txt\\)"
expect_match http/errors/cap_exact "$(get --max-body 100 "$U/big.txt")" "^ret 0 status 200 not_modified 0 len 100"
expect_match http/errors/cap_chunked "$(get --max-body 50 "$U/chunked-big")" \
	"ret -27 .*error body larger than the cap of 50 bytes"
expect_match http/errors/secrets_not_shown "$(get 'http://user:secret@127.0.0.1:8081/nope.txt?token=abc')" \
	"error HTTP 404 \\(http://127\\.0\\.0\\.1:8081/nope\\.txt\\)"$'\nbody:'
expect_match http/errors/html_page_not_in_message "$(get "$U/nope.txt")" \
	"error HTTP 404 \\(http://127\\.0\\.0\\.1:8081/nope\\.txt\\)"$'\nbody:'

# ---- redirects ----------------------------------------------------------------------------------

expect_match http/redirect/none_by_default "$(get "$U/r1")" "ret -71 status 301 .*error HTTP 301"
expect_match http/redirect/chain_of_2 "$(get --redirects 2 "$U/r2")" "^ret 0 status 200 not_modified 0 len 26"
expect_match http/redirect/over_limit "$(get --redirects 2 "$U/r3")" \
	"ret -5 .*error curl: Number of redirects hit maximum amount"
out=$(get --redirects 3 --allow-file "$U/rfile")
expect_match http/redirect/to_file_refused "$out" "ret -1 .*error curl: .*\\(http://127\\.0\\.0\\.1:8081/rfile\\)"
if echo "$out" | grep -q 'root:'; then not_ok http/redirect/no_file_content "read /etc/passwd"
else ok http/redirect/no_file_content; fi

exit 0
