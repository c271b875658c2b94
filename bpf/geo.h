/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Geo lookup: source address → country id.  Everything the data plane knows
 * about the geo tables is behind geo_country_v4() and geo_country_v6()
 * (layout: include/geofw.h, docs/maps.md).
 *
 * The IPv6 lookups and the IPv4 AS class walk below the /16s are global
 * (non-static, noinline) BPF functions: the verifier checks a tree descent
 * or a run-line scan once on its own instead of once per path through the
 * parser, which keeps the whole program far below the verifier's
 * complexity limit.  The IPv4 geo lookup, on the path of every IPv4
 * packet, is inline: the /16 entry (one array access, the whole lookup for
 * most addresses), then at most two values of straight-line code
 * (docs/design-notes.md "Run lines in the tables (ABI 9)").
 */
#ifndef GEOFW_GEO_H
#define GEOFW_GEO_H

#include "geofw.h"

/*
 * The inner table of a slot.  A switch fills the free slot, flips
 * config.geo_slot, and empties the old slot 100 ms later; a packet that read
 * the slot just before the flip and finds it empty takes the other one.
 */
static __always_inline void *geo_table(void *outer, __u32 slot)
{
	void *inner = bpf_map_lookup_elem(outer, &slot);

	if (!inner) {
		slot ^= 1;
		inner = bpf_map_lookup_elem(outer, &slot);
	}
	return inner;
}

/* The entry of the run of b (0..255) in a run line (a row line's e or a
 * chunk line's id, n runs): the last run that starts at or before b.
 * Starts and b are below 256, so start <= b is the sign bit of b - start,
 * turned into a mask that selects the run's entry or keeps the one so far:
 * four instructions a run, no branch (a branch per run would make the
 * verifier walk 2^20 paths per line).  Unused runs repeat the last one, so
 * no count is needed. */
#define GEO4_RUN(line, vals, n, b)							\
	({										\
		__u32 _e = (line)->vals[0], _keep;					\
		int _i;									\
											\
		_Pragma("unroll")							\
		for (_i = 1; _i < (n); _i++) {						\
			_keep = (__u32)((__s32)((b) - (line)->start[_i]) >> 31);	\
			_e = ((line)->vals[_i] & ~_keep) | (_e & _keep);		\
		}									\
		_e;									\
	})

/* The value of a row or chunk that holds b: the line itself, or the value
 * of a full one that holds b's 32 entries. */
static __always_inline __u32 geo4_value_key(__u32 e, __u32 b)
{
	if (e < GEOFW_GEO4_FULL)
		return e - GEOFW_GEO4_REF;
	return (e - GEOFW_GEO4_FULL) * GEOFW_GEO4_FULL_VALUES + (b >> 5);
}

/* The /16 entry of a (the IPv4 address in host order) in top, the /16
 * array of a table (geo or ASN class): an id (< GEOFW_GEO4_REF) or a
 * reference to its row.  One inlined array access, 128 KiB of entries that
 * stay in cache: all a lookup costs for a /16 of one id. */
static __always_inline __u32 table_top_v4(void *top, __u32 a, __u32 slot)
{
	struct geofw_geo4_top *t = bpf_map_lookup_elem(top, &slot);

	return t ? t->e[a >> 16] : GEOFW_COUNTRY_NONE;
}

/* The id of a in a split /16 whose entry is e: flat, more are the outer
 * maps of the table's rows and chunks (layout in include/geofw.h).  One
 * value per level, a line or a slice of a full row or chunk, in arrays
 * sized per database. */
static __always_inline int table_walk_v4(void *flat, void *more, __u32 e, __u32 a, __u32 slot)
{
	struct geofw_geo4_chunkval *chunk;
	struct geofw_geo4_rowval *row;
	__u32 key, b;
	void *inner;

	inner = geo_table(flat, slot);
	if (!inner)
		return GEOFW_COUNTRY_NONE;
	b = (a >> 8) & 0xff;
	key = geo4_value_key(e, b);
	row = bpf_map_lookup_elem(inner, &key);
	if (!row)
		return GEOFW_COUNTRY_NONE;
	e = e < GEOFW_GEO4_FULL ? GEO4_RUN(&row->line, e, GEOFW_GEO4_ROW_RUNS, b) : row->e[b & 31];
	if (e < GEOFW_GEO4_REF)
		return (int)e;
	inner = geo_table(more, slot);
	if (!inner)
		return GEOFW_COUNTRY_NONE;
	b = a & 0xff;
	key = geo4_value_key(e, b);
	chunk = bpf_map_lookup_elem(inner, &key);
	if (!chunk)
		return GEOFW_COUNTRY_NONE;
	if (e < GEOFW_GEO4_FULL)
		return (int)GEO4_RUN(&chunk->line, id, GEOFW_GEO4_CHUNK_RUNS, b);
	return chunk->id[b & 31];
}

/* The geo lookup is inline, on the path of every IPv4 packet.  Keys inside
 * GeoLite2, its time over the run-line prototype's in the same run (the
 * same walk in fixed, inlined arrays): 1.00 inline, 1.29 with the walk in
 * a global function, 1.42 with ABI 8's rows.  The scans inline on every
 * parser path cost the verifier 44,000 instructions of geofw_xdp. */
static __always_inline int geofw_geo_lookup_v4(__u32 a, __u32 slot)
{
	__u32 e = table_top_v4(&gfw_geo4_top, a, slot & 1);

	return e < GEOFW_GEO4_REF ? (int)e : table_walk_v4(&gfw_geo4_flat, &gfw_geo4_more, e, a,
							    slot & 1);
}

/* The AS class walk below the /16s is a global function: the verifier
 * checks its scans once (inline too, they took geofw_xdp from 490,322
 * verified instructions to 668,751); only packets from a split /16 of the
 * class table pay the call, and only while AS rules are in force. */
__attribute__((noinline)) int geofw_asn_walk_v4(__u32 e, __u32 a, __u32 slot)
{
	return table_walk_v4(&gfw_asn4_flat, &gfw_asn4_more, e, a, slot & 1);
}

static __always_inline int geofw_asn_lookup_v4(__u32 a, __u32 slot)
{
	__u32 e = table_top_v4(&gfw_asn4_top, a, slot & 1);

	return e < GEOFW_GEO4_REF ? (int)e : geofw_asn_walk_v4(e, a, slot);
}

/* Index of the last key <= x, y = x + 1: keys are sorted offsets below 2^61
 * (or GEOFW_GEO6_KEY_NONE), key[0] <= x on every node the descent reaches,
 * so key <= x is the sign bit of key - y — three instructions a key, no
 * branch (a branch per key would make the verifier walk 2^15 paths per
 * node). */
static __always_inline __u32 geo6_node_rank(const struct geofw_geo6_node *n, __u64 y)
{
	__u64 j = 0;
	int i;

#pragma unroll
	for (i = 1; i < GEOFW_GEO6_FANOUT; i++)
		j += (n->key[i] - y) >> 63;
	return (__u32)j;
}

/* hi, lo: the upper and lower 64 bits of the IPv6 address, host order;
 * top: the first-level array of a table (geo or ASN class), tree_outer,
 * more_outer: its outer maps of subtree nodes and of longer prefixes
 * (layout in include/geofw.h).  A bucket of one id (every address outside
 * the allocated space, most of 2000::/3) costs one inlined array access;
 * the others one node per level of their own subtree. */
static __always_inline int table_lookup_v6(void *top, void *tree_outer, void *more_outer,
					   __u64 hi, __u64 lo, __u32 slot)
{
	struct geofw_geo6_node *node = NULL;
	struct geofw_geo6_top *t;
	__u32 idx, level, depth, e, b, j = 0;
	__u64 y;
	void *tree, *more;

	slot &= 1;
	t = bpf_map_lookup_elem(top, &slot);
	if (!t)
		return GEOFW_COUNTRY_NONE;
	b = GEOFW_GEO6_BUCKET(hi);
	if (b >= GEOFW_GEO6_TOP_ENTRIES)
		return GEOFW_COUNTRY_NONE;
	e = t->e[b];
	if (e < GEOFW_GEO6_SUB)
		return (int)e;
	tree = geo_table(tree_outer, slot);
	if (!tree)
		return GEOFW_COUNTRY_NONE;
	depth = e >> 24;
	idx = e & GEOFW_GEO6_ROOT_MASK;
	y = GEOFW_GEO6_OFFSET(hi) + 1;
	for (level = 0; level < GEOFW_GEO6_MAX_DEPTH; level++) {
		node = bpf_map_lookup_elem(tree, &idx);
		if (!node)
			return GEOFW_COUNTRY_NONE;
		j = geo6_node_rank(node, y);
		if (level + 1 >= depth)
			break;
		idx = node->in.child + j;
	}
	if (!node)
		return GEOFW_COUNTRY_NONE;
	{
		__u8 id = node->country[j & (GEOFW_GEO6_FANOUT - 1)];
		struct geofw_lpm_v6 key = { .prefixlen = 128 };
		struct geofw_geo *geo;

		if (id != GEOFW_COUNTRY_MORE)
			return id;
		more = geo_table(more_outer, slot);
		if (!more)
			return GEOFW_COUNTRY_NONE;
		hi = bpf_cpu_to_be64(hi);
		lo = bpf_cpu_to_be64(lo);
		__builtin_memcpy(key.addr, &hi, 8);
		__builtin_memcpy(key.addr + 8, &lo, 8);
		geo = bpf_map_lookup_elem(more, &key);
		return geo ? geo->country_id : GEOFW_COUNTRY_NONE;
	}
}

/* Global functions (checked once each by the verifier): map pointers cannot
 * be their arguments, so each table has its own. */
__attribute__((noinline)) int geofw_geo_lookup_v6(__u64 hi, __u64 lo, __u32 slot)
{
	return table_lookup_v6(&gfw_geo6_top, &gfw_geo6_tree, &gfw_geo6_more, hi, lo, slot);
}

__attribute__((noinline)) int geofw_asn_lookup_v6(__u64 hi, __u64 lo, __u32 slot)
{
	return table_lookup_v6(&gfw_asn6_top, &gfw_asn6_tree, &gfw_asn6_more, hi, lo, slot);
}

static __always_inline __u8 geo_country_v4(const __u8 *addr, __u32 slot)
{
	__u32 a;

	__builtin_memcpy(&a, addr, 4);
	return (__u8)geofw_geo_lookup_v4(bpf_ntohl(a), slot);
}

static __always_inline __u8 geo_country_v6(const __u8 *addr, __u32 slot)
{
	__u64 hi, lo;

	__builtin_memcpy(&hi, addr, 8);
	__builtin_memcpy(&lo, addr + 8, 8);
	return (__u8)geofw_geo_lookup_v6(bpf_be64_to_cpu(hi), bpf_be64_to_cpu(lo), slot);
}

/* The AS class of a source address: 1..254 when its AS has a rule, else 0. */
static __always_inline __u8 asn_class_v4(const __u8 *addr, __u32 slot)
{
	__u32 a;

	__builtin_memcpy(&a, addr, 4);
	return (__u8)geofw_asn_lookup_v4(bpf_ntohl(a), slot);
}

static __always_inline __u8 asn_class_v6(const __u8 *addr, __u32 slot)
{
	__u64 hi, lo;

	__builtin_memcpy(&hi, addr, 8);
	__builtin_memcpy(&lo, addr + 8, 8);
	return (__u8)geofw_asn_lookup_v6(bpf_be64_to_cpu(hi), bpf_be64_to_cpu(lo), slot);
}

#endif
