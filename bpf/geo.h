/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Geo lookup: source address → country id.  Everything the data plane knows
 * about the geo tables is behind these two functions, so the table layout
 * can change without touching the decision.
 */
#ifndef GEOFW_GEO_H
#define GEOFW_GEO_H

#include "geofw.h"

static __always_inline __u8 geo_country_v4(const __u8 *addr)
{
	struct geofw_lpm_v4 key = { .prefixlen = 32 };
	struct geofw_geo *geo;

	__builtin_memcpy(key.addr, addr, 4);
	geo = bpf_map_lookup_elem(&gfw_geo4, &key);
	return geo ? geo->country_id : GEOFW_COUNTRY_NONE;
}

static __always_inline __u8 geo_country_v6(const __u8 *addr)
{
	struct geofw_lpm_v6 key = { .prefixlen = 128 };
	struct geofw_geo *geo;

	__builtin_memcpy(key.addr, addr, 16);
	geo = bpf_map_lookup_elem(&gfw_geo6, &key);
	return geo ? geo->country_id : GEOFW_COUNTRY_NONE;
}

#endif
