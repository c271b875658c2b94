/* SPDX-License-Identifier: GPL-2.0-only */
/* Policy maps: what the pins are, runtime knobs, allow/block rules, countries. */
#ifndef GEOFW_MAPS_POLICY_BPF_H
#define GEOFW_MAPS_POLICY_BPF_H

#include "geofw.h"

/* gfw_meta[0]: ABI version and policy mode the pinned maps were built for. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct geofw_meta);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} gfw_meta SEC(".maps");

/* gfw_config[0]: runtime knobs (country mode, default and malformed verdicts);
 * mapped by user space, one writer per field (include/geofw.h). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct geofw_config);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} gfw_config SEC(".maps");

/* gfw_allow4: IPv4 CIDRs that always pass (checked first). */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, GEOFW_MAX_ALLOW);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct geofw_lpm_v4);
	__type(value, struct geofw_allow);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} gfw_allow4 SEC(".maps");

/* gfw_allow6: IPv6 CIDRs that always pass (checked first). */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, GEOFW_MAX_ALLOW);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct geofw_lpm_v6);
	__type(value, struct geofw_allow);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} gfw_allow6 SEC(".maps");

/* gfw_block_ip4: blocked single IPv4 addresses (/32), one hash probe. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, GEOFW_MAX_BLOCK_IP);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct geofw_ip4);
	__type(value, struct geofw_block);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} gfw_block_ip4 SEC(".maps");

/* gfw_block_ip6: blocked single IPv6 addresses (/128), one hash probe. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, GEOFW_MAX_BLOCK_IP);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct geofw_ip6);
	__type(value, struct geofw_block);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} gfw_block_ip6 SEC(".maps");

/* gfw_block_net4: blocked IPv4 networks shorter than /32. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, GEOFW_MAX_BLOCK_NET);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct geofw_lpm_v4);
	__type(value, struct geofw_block);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} gfw_block_net4 SEC(".maps");

/* gfw_block_net6: blocked IPv6 networks shorter than /128. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, GEOFW_MAX_BLOCK_NET);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct geofw_lpm_v6);
	__type(value, struct geofw_block);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} gfw_block_net6 SEC(".maps");

/* gfw_block4_bits[bit >> 6]: the IPv4 rule prefilters, a bit per /24
 * covered by a block rule and per /16 holding a block or an allow rule
 * (include/geofw.h). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, GEOFW_BLOCK4_BITS_WORDS);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} gfw_block4_bits SEC(".maps");

/* gfw_block6_bits[bit >> 6]: bit per hashed /128 with an exact block (prefilter). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, GEOFW_BLOCK6_BITS_WORDS);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} gfw_block6_bits SEC(".maps");

/* gfw_country[country id]: listed flag and block action of each country. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, GEOFW_MAX_COUNTRIES);
	__type(key, __u32);
	__type(value, struct geofw_country);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} gfw_country SEC(".maps");

/* gfw_responder[0]: HTTP ports, page slot in force, reference-code key, clock offset. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct geofw_responder);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} gfw_responder SEC(".maps");

/* gfw_resp_pages[slot * 16 + page]: 403 responses with their placeholder fields. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, GEOFW_RESP_SLOTS * GEOFW_RESP_MAX_PAGES);
	__type(key, __u32);
	__type(value, struct geofw_resp_page);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} gfw_resp_pages SEC(".maps");

/* gfw_resp_select[slot]: page index by reason class and country id. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, GEOFW_RESP_SLOTS);
	__type(key, __u32);
	__type(value, struct geofw_resp_select);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} gfw_resp_select SEC(".maps");

/* gfw_nat64[0]: NAT64 prefixes of the config; sources in them are judged as IPv4. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct geofw_nat64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} gfw_nat64 SEC(".maps");

/* gfw_resp_watch[ifindex]: TC responder liveness (XDP hand-off, TC ack) per interface. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, GEOFW_MAX_RESP_WATCH);
	__type(key, __u32);
	__type(value, struct geofw_resp_watch);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} gfw_resp_watch SEC(".maps");

/* gfw_resp_flow[client address, ports]: token bucket of 403 response segments per flow. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, GEOFW_MAX_RESP_FLOW);
	__type(key, struct geofw_resp_flow_key);
	__type(value, struct geofw_resp_flow);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} gfw_resp_flow SEC(".maps");

/* gfw_asn_class[slot << 8 | class id]: AS number, allow/block and action of each AS class. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, GEOFW_GEO_SLOTS * GEOFW_MAX_ASN_CLASSES);
	__type(key, __u32);
	__type(value, struct geofw_asn_class);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} gfw_asn_class SEC(".maps");

/* ---- port-scoped policy (ABI 4) ---- */

/* gfw_port[slot, proto, port]: port sets holding the port (mapped by user space). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, GEOFW_PORT_ENTRIES);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct geofw_port);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} gfw_port SEC(".maps");

/* gfw_port_set[slot, set]: the allow-only policy of each port set. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * GEOFW_MAX_PORT_SETS);
	__type(key, __u32);
	__type(value, struct geofw_port_set);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} gfw_port_set SEC(".maps");

/* gfw_port_net4[slot, prefix]: port-scoped IPv4 rules, shorter prefixes merged in. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 2 * GEOFW_MAX_PORT_NETS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct geofw_port_lpm_v4);
	__type(value, struct geofw_port_net);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} gfw_port_net4 SEC(".maps");

/* gfw_port_net6[slot, prefix]: port-scoped IPv6 rules, shorter prefixes merged in. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 2 * GEOFW_MAX_PORT_NETS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct geofw_port_lpm_v6);
	__type(value, struct geofw_port_net);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} gfw_port_net6 SEC(".maps");

/* gfw_port_bits[bit >> 6]: IPv4 /24s and hashed IPv6 /32s some port prefix covers. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, GEOFW_PORT_BITS_WORDS);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} gfw_port_bits SEC(".maps");

/* gfw_port_cc[slot, country id]: port-scoped country blocks and allow-only listings. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * GEOFW_MAX_COUNTRIES);
	__type(key, __u32);
	__type(value, struct geofw_port_cc);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} gfw_port_cc SEC(".maps");

/* gfw_port_asn[GEOFW_PORT_ASN_KEY(slot, hash of the AS + probe)]: port-scoped
 * AS rules (ABI 6; an array since ABI 8, so lookups are inlined). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * GEOFW_PORT_ASN_ENTRIES);
	__type(key, __u32);
	__type(value, struct geofw_port_asn);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} gfw_port_asn SEC(".maps");

/* ---- rate limits (ABI 4) ---- */

/* gfw_rl_rule[slot * 8 + i]: the rate limits of each slot. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * GEOFW_MAX_RATELIMITS);
	__type(key, __u32);
	__type(value, struct geofw_rl_rule);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} gfw_rl_rule SEC(".maps");

/* gfw_rl_sets[set]: GCRA words (tag, arrival time) of 8 sources, shared by
 * all CPUs; mmapable so that each set is one cache line (page-aligned values). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, GEOFW_RL_SETS);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct geofw_rl_set);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} gfw_rl_sets SEC(".maps");

/* gfw_rl_bans[set]: when each way's source last asked for a ban. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, GEOFW_RL_SETS);
	__type(key, __u32);
	__type(value, struct geofw_rl_bans);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} gfw_rl_bans SEC(".maps");

/* gfw_rl_front[slot]: per CPU, the allowance taken in batches (a cache, not pinned). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, GEOFW_RL_FRONT_SLOTS);
	__type(key, __u32);
	__type(value, struct geofw_rl_front);
} gfw_rl_front SEC(".maps");

/* gfw_rl_events: ban requests (struct geofw_rl_event) for geofwd. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, GEOFW_RL_EVENTS_BYTES);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} gfw_rl_events SEC(".maps");

#endif
