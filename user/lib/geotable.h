/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Geo tables: from (prefix, country) lists to the kernel layout described in
 * include/geofw.h, and the atomic switch of a new generation into the maps.
 *
 * Building is pure C (no kernel), so the image can be checked against brute
 * force in unit tests, and geofw_geo_image_lookup() answers what the data
 * plane will answer.  `fwctl geo verify` checks the loaded kernel tables
 * against libmaxminddb's answers for the database file (geoverify.h).
 */
#ifndef GEOFW_GEOTABLE_H
#define GEOFW_GEOTABLE_H

#include <stddef.h>

#include "geofw.h"
#include "geoip.h"
#include "maps.h"

struct btf;

struct geofw_geo4_more_entry {
	__u32 key;				/* address >> 8 */
	struct geofw_geo4_chunk chunk;
};

struct geofw_geo6_more_entry {
	struct geofw_lpm_v6 key;
	__u8 country_id;
};

/* A complete generation of the geo tables, ready to be loaded. */
struct geofw_geo_image {
	__u8 *flat4;				/* 2^24 ids, one per /24 */
	struct geofw_geo4_more_entry *more4;
	size_t n_more4;
	struct geofw_geo6_top *top6;		/* IPv6 first level */
	struct geofw_geo6_node *tree6;		/* the buckets' subtrees */
	size_t n_tree6;
	struct geofw_geo6_more_entry *more6;
	size_t n_more6;
	size_t n_v4, n_v6;			/* prefixes it was built from */
};

/*
 * Build an image.  Prefixes may nest or repeat: the longest match wins, and
 * for equal prefixes the later one.  Country ids must be 1..GEOFW_COUNTRY_MAX_ID.
 * 0 or -ENOMEM / -E2BIG (a table over its GEOFW_MAX_GEO* limit: logged with
 * the table, the count and the limit) / -EINVAL (bad prefix length or
 * country id).
 */
int geofw_geo_build(const struct geofw_geo_prefix *v4, size_t n_v4,
		    const struct geofw_geo_prefix *v6, size_t n_v6,
		    struct geofw_geo_image *img);

/* Table limits (entries); 0 or above the GEOFW_MAX_GEO* value: that value. */
struct geofw_geo_limits {
	size_t more4;		/* gfw_geo4_more: /24s holding longer prefixes */
	size_t more6;		/* gfw_geo6_more: entries */
	size_t tree6_nodes;	/* gfw_geo6_tree: nodes */
};

/* geofw_geo_build() under lower limits (tests: a limit's error without a
 * database of millions of prefixes). */
int geofw_geo_build_limited(const struct geofw_geo_prefix *v4, size_t n_v4,
			    const struct geofw_geo_prefix *v6, size_t n_v6,
			    const struct geofw_geo_limits *limits, struct geofw_geo_image *img);
void geofw_geo_image_free(struct geofw_geo_image *img);

/* The country the data plane will find for an address (family 4: addr[0..3]). */
__u8 geofw_geo_image_lookup(const struct geofw_geo_image *img, int family, const __u8 *addr);

/* Kernel memory the image takes once loaded (values, keys and per-element
 * overhead of each map type, as the kernel allocates them). */
size_t geofw_geo_image_kernel_bytes(const struct geofw_geo_image *img);

/* The kernel's IPv4 layout of an image (include/geofw.h): the values of
 * the row level (gfw_geo4_flat) and of the chunk level (gfw_geo4_more). */
struct geofw_geo4_layout {
	struct geofw_geo4_rowval *rows;		/* n_rows values */
	struct geofw_geo4_chunkval *chunks;	/* n_chunks values */
	size_t n_rows, n_chunks;
	size_t row_lines, row_full;		/* /16s of more than one id: lines, full rows */
	size_t chunk_lines, chunk_full;		/* /24s holding longer prefixes: lines, full chunks */
};

/* Per level: lines and 8-value blocks (0 or above GEOFW_MAX_GEO4_LINES /
 * _BLOCKS: those; tests lower them to reach the overflow). */
struct geofw_geo4_limits {
	size_t lines, blocks;
};

/*
 * Lay img out: the /16 entries into top, the row and chunk values into
 * *out (freed with geofw_geo4_layout_free()).  A /16 of at most 21 runs is
 * a row line, a /24 of at most 16 runs a chunk line, the others full; the
 * lines beyond a level's limit are stored full.  what ("geo", "asn") and
 * tables[2] (the row and chunk maps) name the table in messages (NULL
 * names: no message, for sizing).  0, or
 * -ENOMEM, or -E2BIG when a level does not fit even so (logged with the
 * table, the count and the limit).
 */
int geofw_geo4_layout_make(const struct geofw_geo_image *img, const char *what,
			   const char *const tables[2], const struct geofw_geo4_limits *limits,
			   struct geofw_geo4_top *top, struct geofw_geo4_layout *out);
void geofw_geo4_layout_free(struct geofw_geo4_layout *l);

/*
 * Load the image into the free slot and flip config.geo_slot: packets see the
 * old tables or the new ones, never a mix.  The old generation is then
 * released.  btf (may be NULL) gives the inner maps BTF so bpftool prints
 * their fields.  On error nothing in force changes.
 */
int geofw_geo_install(const struct geofw_maps *m, const struct btf *btf,
		      const struct geofw_geo_image *img);

/* Remove every generation (no country for any address). */
int geofw_geo_clear(const struct geofw_maps *m);

/*
 * The ASN class tables (include/geofw.h): an image built by geofw_geo_build()
 * from (prefix, class id) pairs, and the class of each id: classes[i] is
 * class id i + 1.  The classes go into the free slot's half of
 * gfw_asn_class, a zeroed gfw_cnt_asn entry is made for every AS without
 * one, then the tables are placed and config.asn_slot flipped: packets see
 * the old tables with their classes or the new ones with theirs.  On error
 * nothing in force changes.
 */
int geofw_asn_install(const struct geofw_maps *m, const struct btf *btf,
		      const struct geofw_geo_image *img, const struct geofw_asn_class *classes,
		      size_t n_classes);

/* No ASN table in force (no AS rule decides). */
int geofw_asn_clear(const struct geofw_maps *m);

#endif
