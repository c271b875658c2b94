/* SPDX-License-Identifier: GPL-2.0-only */
/* Per-CPU counters; `fwctl stats` sums the CPUs. */
#ifndef GEOFW_MAPS_STATS_BPF_H
#define GEOFW_MAPS_STATS_BPF_H

#include "geofw.h"

/* gfw_cnt_reason[enum geofw_reason]: packets and bytes per verdict reason. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, GEOFW_R_MAX);
	__type(key, __u32);
	__type(value, struct geofw_reason_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} gfw_cnt_reason SEC(".maps");

/* gfw_cnt_action[enum geofw_action]: packets and bytes per action taken. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, GEOFW_ACT_MAX);
	__type(key, __u32);
	__type(value, struct geofw_reason_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} gfw_cnt_action SEC(".maps");

/* gfw_cnt_country[country id]: blocked, passed and logged packets. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, GEOFW_MAX_COUNTRIES);
	__type(key, __u32);
	__type(value, struct geofw_country_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} gfw_cnt_country SEC(".maps");

/* gfw_cnt_rule[rule id]: hits per allow/block rule. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, GEOFW_MAX_RULE_IDS);
	__type(key, __u32);
	__type(value, struct geofw_rule_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} gfw_cnt_rule SEC(".maps");

/* gfw_cnt_resp[enum geofw_resp_event]: what the TC responder did. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, GEOFW_RESP_MAX);
	__type(key, __u32);
	__type(value, struct geofw_resp_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} gfw_cnt_resp SEC(".maps");

/* gfw_events: sampled blocked packets (struct geofw_event) for fwctl log. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, GEOFW_EVENTS_BYTES);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} gfw_events SEC(".maps");

/* gfw_evt_limit[0]: per-CPU rate limiter of the drop log. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct geofw_event_limit);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} gfw_evt_limit SEC(".maps");

/* gfw_cnt_asn[AS number]: blocked, passed and logged packets an AS rule decided. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, GEOFW_GEO_SLOTS * GEOFW_MAX_ASN_CLASSES);	/* old + new rules */
	__type(key, __u32);
	__type(value, struct geofw_asn_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} gfw_cnt_asn SEC(".maps");

/* gfw_cnt_rl[rate limit index]: passed, limited and ban requests. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, GEOFW_MAX_RATELIMITS);
	__type(key, __u32);
	__type(value, struct geofw_rl_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} gfw_cnt_rl SEC(".maps");

#endif
