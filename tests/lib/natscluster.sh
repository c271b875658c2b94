# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
#
# A nats-server cluster with JetStream for the fleet test and bench
# (tests/e2e/fleet.sh, bench/fleet.sh): node I (1 to 3) is server nI,
# clients on port 4221+I, routes between the nodes on 127.0.0.1:6222-6224 of
# the namespace they run in; its config, JetStream store and log are in
# DIR/natsI.  Needs nothing else: no lab, no namespace helpers.

# nats_node_conf DIR I CLUSTER MAX_FILE_STORE [MORE]: DIR/natsI/nats.conf,
# MORE (e.g. an accounts block) at its end.
nats_node_conf() {
	local dir=$1/nats$2 i=$2
	mkdir -p "$dir"
	cat > "$dir/nats.conf" <<-EOC
	server_name: n$i
	listen: 0.0.0.0:$((4221 + i))
	jetstream { store_dir: "$dir/js", max_memory_store: 64MB, max_file_store: $4 }
	cluster {
		name: $3
		listen: 127.0.0.1:$((6221 + i))
		routes: [ nats-route://127.0.0.1:6222, nats-route://127.0.0.1:6223, nats-route://127.0.0.1:6224 ]
	}
	${5:-}
	EOC
}

# nats_cluster_ready DIR [SECONDS]: 0 once a node logged a JetStream meta
# leader (the cluster takes KV requests), 1 when none did within SECONDS (15).
nats_cluster_ready() {
	local i
	for i in $(seq 1 $(( ${2:-15} * 10 ))); do
		grep -q "JetStream cluster new metadata leader\|Self is new JetStream cluster metadata leader" \
			"$1"/nats*/log 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}
