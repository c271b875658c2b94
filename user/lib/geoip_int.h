/* SPDX-License-Identifier: GPL-2.0-only */
/* The MaxMind DB walker's internals, shared by geoip.c (the reader),
 * geoip_walk.c (the tree walk) and geoip_merge.c.  geoip.h is the interface. */
#ifndef GEOFW_GEOIP_INT_H
#define GEOFW_GEOIP_INT_H

#include <maxminddb.h>

#include "geoip.h"

#define DATA_SEPARATOR_LEN		16
#define META_MARKER_LEN		14	/* "\xab\xcd\xefMaxMind.com" */
#define IPV4_SUBTREE_DEPTH	96	/* ::/96 holds the IPv4 space */

/* Classification of a data record: a country id, or one of these. */
#define CC_NONE		0
#define CC_REFUSED	(-1)
#define CC_NO_RULE	(-2)	/* ASN database: an AS number, its AS has no rule */

struct geofw_geoip_reader {
	MMDB_s mmdb;
	char *path;
	enum geofw_geoip_schema schema;
	struct geofw_geoip_field field;
	struct geofw_geoip_field fallback;	/* depth 0 when unused */
	__u32 node_count;
	__u32 data_len;		/* data section up to the metadata marker */
	unsigned int (*asn_class)(void *ctx, __u32 asn);	/* ASN database, else NULL */
	void *asn_ctx;
};

/* geoip.c: a data record's country id (or CC_*), its code in example */
int geoip_classify(const struct geofw_geoip_reader *r, __u32 offset, int *id,
		   char *example, size_t example_size);
double geoip_now_ms(void);

/* geoip_walk.c */
unsigned int geoip_count_countries(const struct geofw_geo_prefix *v4, size_t n4,
				   const struct geofw_geo_prefix *v6, size_t n6);

#endif
