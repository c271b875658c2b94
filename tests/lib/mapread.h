/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Reads of the kernel maps that only the tests need (geofwd and fwctl read
 * counters in bulk, through geofw_percpu_array_sum and the metrics code):
 * one counter slot summed over CPUs, one block rule as the kernel holds it,
 * the size of the country table.  The tests know the map layout on their own,
 * so a rule the library put into the wrong map is seen.
 */
#ifndef GEOFW_TEST_MAPREAD_H
#define GEOFW_TEST_MAPREAD_H

#include "cidr.h"
#include "maps.h"

/* Slot key of a per-CPU array (fd), words u64 per value, summed over CPUs
 * into out[words]: 0 or -errno. */
int t_percpu_read(int fd, __u32 key, __u64 *out, size_t words);

int t_cnt_reason_read(const struct geofw_maps *m, __u32 reason,
		      struct geofw_reason_stats *out);
int t_cnt_action_read(const struct geofw_maps *m, __u32 action,
		      struct geofw_reason_stats *out);
int t_cnt_country_read(const struct geofw_maps *m, __u32 country_id,
		       struct geofw_country_stats *out);
int t_cnt_rule_read(const struct geofw_maps *m, __u32 rule_id,
		    struct geofw_rule_stats *out);

/* The block rule for exactly c (/32 and /128 in the exact-match hashes, other
 * prefixes in the LPM tries): 0, or -ENOENT when there is none. */
int t_block_get(const struct geofw_maps *m, const struct geofw_cidr *c,
		struct geofw_block *val);

/* Number of country ids in use (ids are 1..count). */
unsigned int t_country_count(void);

#endif
