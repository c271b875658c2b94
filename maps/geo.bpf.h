/* SPDX-License-Identifier: GPL-2.0-only */
/* Geo tables: source prefix → country id. */
#ifndef GEOFW_MAPS_GEO_BPF_H
#define GEOFW_MAPS_GEO_BPF_H

#include "geofw.h"

/* gfw_geo4: IPv4 prefix → country id. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, GEOFW_MAX_GEO_V4);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct geofw_lpm_v4);
	__type(value, struct geofw_geo);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} gfw_geo4 SEC(".maps");

/* gfw_geo6: IPv6 prefix → country id. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, GEOFW_MAX_GEO_V6);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct geofw_lpm_v6);
	__type(value, struct geofw_geo);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} gfw_geo6 SEC(".maps");

#endif
