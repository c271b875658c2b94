# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
#
# A real CrowdSec Local API for the tests and benchmarks, inside the lab's
# srv namespace (source tests/lib/lab.sh first, then lab_up).  Debian's
# crowdsec runs as LAPI alone: -no-cs -no-capi, a config without
# crowdsec_service and online_client, its own data dir and SQLite database
# under $LAB_DIR (removed with it), no hub download, listening on 127.0.0.1:8080
# of srv.  It is ready in about 0.15 s.
#
#   lapi_setup      config files;  lapi_up / lapi_down  start / stop it
#   cscli ARGS      cscli on that config (output in $CS/cscli.log)
#   lapi_bouncer F  a machine and a bouncer "geofw"; its key into file F

LAPI_PID=

lapi_setup() {
	CS=$LAB_DIR/crowdsec
	mkdir -p "$CS/data" "$CS/hub"
	cat >"$CS/config.yaml" <<EOF
common:
  daemonize: false
  log_media: stdout
  log_level: info
  working_dir: $CS
config_paths:
  config_dir: $CS/
  data_dir: $CS/data/
  simulation_path: $CS/simulation.yaml
  hub_dir: $CS/hub/
  index_path: $CS/hub/.index.json
  notification_dir: $CS/notifications/
  plugin_dir: /usr/lib/crowdsec/plugins/
cscli:
  output: human
db_config:
  log_level: info
  type: sqlite
  use_wal: false
  db_path: $CS/data/crowdsec.db
api:
  client:
    credentials_path: $CS/local_api_credentials.yaml
  server:
    log_level: info
    listen_uri: 127.0.0.1:8080
    profiles_path: $CS/profiles.yaml
    trusted_ips:
      - 127.0.0.1
prometheus:
  enabled: false
EOF
	cat >"$CS/profiles.yaml" <<EOF
name: default_ip_remediation
filters:
 - Alert.Remediation == true && Alert.GetScope() == "Ip"
decisions:
 - type: ban
   duration: 4h
on_success: break
EOF
	echo "simulation: off" >"$CS/simulation.yaml"
}

cscli() { in_ns srv /usr/bin/cscli -c "$CS/config.yaml" "$@" >>"$CS/cscli.log" 2>&1; }

lapi_up() {
	ip netns exec "$(ns srv)" crowdsec -c "$CS/config.yaml" -no-cs -no-capi >>"$CS/lapi.log" 2>&1 &
	LAPI_PID=$!
	LAB_PIDS+=("$LAPI_PID")
	wait_for 10 in_ns srv curl -s -o /dev/null --max-time 1 http://127.0.0.1:8080/
}

lapi_down() {
	kill -TERM "$LAPI_PID" 2>/dev/null
	wait "$LAPI_PID" 2>/dev/null
	LAPI_PID=
}

lapi_bouncer() {
	local key
	cscli machines add m1 --password 'geofw-test-Passw0rd' -f "$CS/local_api_credentials.yaml" \
		-u http://127.0.0.1:8080 || return 1
	key=$(in_ns srv /usr/bin/cscli -c "$CS/config.yaml" bouncers add geofw -o raw 2>/dev/null)
	[ -n "$key" ] || return 1
	printf '%s\n' "$key" >"$1"
	chmod 600 "$1"
}
