/* SPDX-License-Identifier: GPL-2.0-only */
/* Counter updates: per-CPU maps, so plain increments are exact. */
#ifndef GEOFW_STATS_H
#define GEOFW_STATS_H

#include "geofw.h"

static __always_inline void count_reason(__u32 reason, __u32 action, __u64 bytes)
{
	struct geofw_reason_stats *st;

	st = bpf_map_lookup_elem(&gfw_cnt_reason, &reason);
	if (st) {
		st->packets++;
		st->bytes += bytes;
	}
	st = bpf_map_lookup_elem(&gfw_cnt_action, &action);
	if (st) {
		st->packets++;
		st->bytes += bytes;
	}
}

static __always_inline void count_rule(__u32 rule_id)
{
	struct geofw_rule_stats *st;

	if (!rule_id)
		return;
	st = bpf_map_lookup_elem(&gfw_cnt_rule, &rule_id);
	if (st)
		st->hits++;
}

static __always_inline void count_country(__u32 country_id, __u8 action)
{
	struct geofw_country_stats *st;

	st = bpf_map_lookup_elem(&gfw_cnt_country, &country_id);
	if (!st)
		return;
	if (action == GEOFW_ACT_PASS)
		st->passed++;
	else if (action == GEOFW_ACT_LOG)
		st->logged++;
	else
		st->blocked++;
}

#endif
