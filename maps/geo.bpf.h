/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Geo tables: source address → country id (layout in include/geofw.h).
 * Each table is an array of GEOFW_GEO_SLOTS inner maps; user space builds a
 * new generation in the free slot and flips config.geo_slot.
 *
 * The inner maps below are templates: user space creates each generation's
 * maps at the size its database needs (user/lib/geotable.c), up to the
 * GEOFW_MAX_GEO* limits.  The kernel checks an inner map against the
 * template by type, key and value size and flags, not by max_entries (for
 * the array only because of BPF_F_INNER_MAP), so the templates hold one
 * entry and cost nothing.
 */
#ifndef GEOFW_MAPS_GEO_BPF_H
#define GEOFW_MAPS_GEO_BPF_H

#include "geofw.h"

/*
 * clang emits the value types of inner map templates as forward declarations
 * (they are two pointers away from any global), which libbpf cannot size.
 * This read-only variable (264 bytes of .rodata, never read) makes them full
 * BTF types; user space also uses them to give the inner maps it creates
 * BTF, so bpftool prints their fields.
 */
struct geofw_geo_btf {
	struct geofw_geo4_rowval geo4_rowval;
	struct geofw_geo4_chunkval geo4_chunkval;
	struct geofw_geo6_node geo6_node;
	struct geofw_geo geo;
	struct geofw_lpm_v6 lpm_v6;
};
static const struct geofw_geo_btf geofw_geo_btf_anchor __attribute__((used));

/* The IPv4 rows and chunks are mmapable only for their alignment: the
 * values of such an array start on a page, so each 64-byte row line is one
 * cache line (include/geofw.h).  Nothing maps them. */
struct geo4_flat_inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);			/* sized per database */
	__uint(map_flags, BPF_F_INNER_MAP | BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct geofw_geo4_rowval);
};

struct geo4_more_inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);			/* sized per database */
	__uint(map_flags, BPF_F_INNER_MAP | BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct geofw_geo4_chunkval);
};

struct geo6_tree_inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);			/* sized per database */
	__uint(map_flags, BPF_F_INNER_MAP);
	__type(key, __u32);
	__type(value, struct geofw_geo6_node);
};

struct geo6_more_inner {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 1);			/* sized per database */
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct geofw_lpm_v6);
	__type(value, struct geofw_geo);
};

/* gfw_geo4_top[slot]: an entry per IPv4 /16; a plain array, so its lookup
 * is inlined and the slot needs no outer map (include/geofw.h). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, GEOFW_GEO_SLOTS);
	__type(key, __u32);
	__type(value, struct geofw_geo4_top);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} gfw_geo4_top SEC(".maps");

/* gfw_geo4_flat[slot]: the /24 entries of each /16 of several ids, a line or a full row. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, GEOFW_GEO_SLOTS);
	__type(key, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__array(values, struct geo4_flat_inner);
} gfw_geo4_flat SEC(".maps");

/* gfw_geo4_more[slot]: per-address ids of the /24s that hold longer prefixes, a line or a full chunk. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, GEOFW_GEO_SLOTS);
	__type(key, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__array(values, struct geo4_more_inner);
} gfw_geo4_more SEC(".maps");

/* gfw_geo6_top[slot]: an entry per IPv6 first-level bucket (/19 of
 * 2000::/3, other /3s); a plain array, inlined, no outer map (include/geofw.h). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, GEOFW_GEO_SLOTS);
	__type(key, __u32);
	__type(value, struct geofw_geo6_top);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} gfw_geo6_top SEC(".maps");

/* gfw_geo6_tree[slot]: the buckets' B+-trees of IPv6 intervals (upper 64 bits) → id. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, GEOFW_GEO_SLOTS);
	__type(key, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__array(values, struct geo6_tree_inner);
} gfw_geo6_tree SEC(".maps");

/* gfw_geo6_more[slot]: IPv6 prefixes longer than /64 → id. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, GEOFW_GEO_SLOTS);
	__type(key, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__array(values, struct geo6_more_inner);
} gfw_geo6_more SEC(".maps");

/* The ASN class tables: the same layout, an AS class id per address
 * (include/geofw.h), their own slots (config.asn_slot). */

/* gfw_asn4_top[slot]: AS class ids per /16, as gfw_geo4_top. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, GEOFW_GEO_SLOTS);
	__type(key, __u32);
	__type(value, struct geofw_geo4_top);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} gfw_asn4_top SEC(".maps");

/* gfw_asn4_flat[slot]: AS class ids, rows as gfw_geo4_flat. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, GEOFW_GEO_SLOTS);
	__type(key, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__array(values, struct geo4_flat_inner);
} gfw_asn4_flat SEC(".maps");

/* gfw_asn4_more[slot]: per-address class ids of the /24s that hold longer prefixes. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, GEOFW_GEO_SLOTS);
	__type(key, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__array(values, struct geo4_more_inner);
} gfw_asn4_more SEC(".maps");

/* gfw_asn6_top[slot]: AS class ids per IPv6 bucket, as gfw_geo6_top. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, GEOFW_GEO_SLOTS);
	__type(key, __u32);
	__type(value, struct geofw_geo6_top);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} gfw_asn6_top SEC(".maps");

/* gfw_asn6_tree[slot]: the buckets' B+-trees of IPv6 intervals (upper 64 bits) → class id. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, GEOFW_GEO_SLOTS);
	__type(key, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__array(values, struct geo6_tree_inner);
} gfw_asn6_tree SEC(".maps");

/* gfw_asn6_more[slot]: IPv6 prefixes longer than /64 → class id. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, GEOFW_GEO_SLOTS);
	__type(key, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__array(values, struct geo6_more_inner);
} gfw_asn6_more SEC(".maps");

#endif
