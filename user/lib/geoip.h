/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * MaxMind DB (.mmdb) country databases → sorted prefix tables.
 *
 * libmaxminddb only answers "which record holds this address"; the kernel
 * tables need the whole database as (prefix, country) pairs.  The loader
 * walks the search tree once, validating every record as untrusted input,
 * maps each record's country code to a geofw country id (countries.h),
 * merges sibling prefixes of the same country and returns one sorted array
 * per family.  The arrays partition the covered space: an address found in
 * none of them has no country.
 *
 * In an IPv6 database the IPv4 space is the subtree at ::/96; it is returned
 * once, as IPv4.  Its aliases (::ffff:0:0/96, 2001::/32, 2002::/16) and
 * ::/96 itself are left out of the IPv6 array: the data plane looks up
 * IPv4-mapped sources as IPv4, and Teredo/6to4 sources get no country.
 */
#ifndef GEOFW_GEOIP_H
#define GEOFW_GEOIP_H

#include <stddef.h>
#include <sys/socket.h>

#include "geofw.h"

#define GEOFW_GEOIP_MAX_FIELD_DEPTH	8	/* path elements of a field spec */
#define GEOFW_GEOIP_FIELD_MAX_LEN	256	/* field spec, with its NUL */
#define GEOFW_GEOIP_INVALID_EXAMPLES	8

/* One network: IPv4 in addr[0..3] with prefixlen 0..32, IPv6 0..128.  The
 * bits of addr past prefixlen are zero. */
struct geofw_geo_prefix {
	__u8 addr[16];
	__u8 prefixlen;
	__u8 country_id;	/* 1..GEOFW_COUNTRY_MAX_ID */
};

/* Where a record keeps its country code. */
enum geofw_geoip_schema {
	GEOFW_GEOIP_SCHEMA_GEOIP2 = 1,	/* country.iso_code, else registered_country.iso_code */
	GEOFW_GEOIP_SCHEMA_FLAT,	/* country_code (DB-IP lite, ip-location-db) */
	GEOFW_GEOIP_SCHEMA_CUSTOM,	/* the caller's field path */
	GEOFW_GEOIP_SCHEMA_ASN,		/* autonomous_system_number (GeoLite2-ASN, ip-location-db) */
};

/* A parsed field spec such as "country iso_code".  path[] is NULL-terminated
 * and points into buf: pass the struct by pointer, never copy it. */
struct geofw_geoip_field {
	char buf[GEOFW_GEOIP_FIELD_MAX_LEN];
	const char *path[GEOFW_GEOIP_MAX_FIELD_DEPTH + 1];
	unsigned int depth;
};

struct geofw_geoip_opts {
	/* NULL-terminated path to the country code, e.g. {"country",
	 * "iso_code", NULL}, elements as geofw_geoip_parse_field() accepts
	 * them.  NULL detects the schema from the first record with data:
	 * `country_code` present → flat, else GeoIP2. */
	const char *const *field_path;
	/* Prefixes per family after merging; more is an error.  0 means
	 * GEOFW_MAX_GEO_V4 / GEOFW_MAX_GEO_V6. */
	size_t max_prefixes_v4, max_prefixes_v6;
	/* An ASN database: when set, a network's id is asn_class(asn_ctx, its
	 * autonomous_system_number), 1..GEOFW_ASN_CLASS_MAX_ID, or 0 to leave it
	 * out (an AS without a rule).  field_path is ignored; a database where
	 * no network gets a class loads as empty, not as an error. */
	unsigned int (*asn_class)(void *ctx, __u32 asn);
	void *asn_ctx;
};

struct geofw_geoip_report {
	char database_type[64];			/* metadata, truncated */
	char field[GEOFW_GEOIP_FIELD_MAX_LEN];	/* path used, "country iso_code" */
	enum geofw_geoip_schema schema;
	__u64 build_epoch;			/* metadata, seconds since 1970 */
	unsigned int ip_version;		/* 4 or 6 */
	unsigned int record_size;		/* bits: 24, 28 or 32 */
	__u32 node_count;
	size_t raw_v4, raw_v6;			/* prefixes before merging */
	size_t n_v4, n_v6;			/* after, as returned */
	unsigned int countries;			/* distinct country ids returned */
	/* Networks (tree leaves) whose record has a code we refuse (not
	 * [A-Z]{2} or not in countries.h), and the first few such codes. */
	size_t invalid_codes;
	unsigned int n_invalid_examples;
	char invalid_examples[GEOFW_GEOIP_INVALID_EXAMPLES][16];
	/* Networks whose record has no country at all (not an error). */
	size_t no_country;
	/* ASN database: networks of ASes without a rule (left out). */
	size_t asn_no_rule;
	double walk_ms;				/* copy, open, walk and merge */
};

struct geofw_geoip_db {
	struct geofw_geo_prefix *v4, *v6;	/* sorted by address */
	size_t n_v4, n_v6;
	struct geofw_geoip_report report;
};

/*
 * Parses a field spec (the config's `Field=`): path elements separated by
 * single spaces, at most GEOFW_GEOIP_MAX_FIELD_DEPTH, none empty or holding
 * control characters: "country iso_code", "country_code".  Returns 0 or
 * -EINVAL; the reason goes to *why when why is non-NULL (for a caller that
 * reports file:line itself), else it is logged.
 */
int geofw_geoip_parse_field(const char *spec, struct geofw_geoip_field *out,
			    const char **why);

/*
 * Loads the database at path.  The file is copied into memory first, so a
 * file replaced or rewritten during the load yields either version or a
 * clean error, never SIGBUS.  Returns 0, or -errno after logging one error
 * "geoip: PATH: reason": -ENOENT/-EACCES/… when the file cannot be read,
 * -EINVAL when it is not a valid MaxMind DB (empty, bad metadata, corrupt
 * search tree or data), -ENODATA when no network has a usable country,
 * -E2BIG when a family has more prefixes than allowed, -ENOMEM.  On error
 * *out is all zeroes (geofw_geoip_free() on it is harmless).
 */
int geofw_geoip_load(const char *path, const struct geofw_geoip_opts *opts,
		     struct geofw_geoip_db *out);
void geofw_geoip_free(struct geofw_geoip_db *db);

/*
 * Several databases in force at once (GeoIPDatabase = a.mmdb b.mmdb; e.g.
 * ip-location-db's IPv4-only and IPv6-only files): merged in the order
 * given, an address that more than one covers takes the country of the
 * first that covers it.  A database covers an address when it has a usable
 * country for it: a record without a country, or with a refused code, does
 * not hide what a later database says.  The inputs stay as they are.
 * Returns 0, -E2BIG when the merged prefixes of a family are more than
 * GEOFW_MAX_GEO_V4 / GEOFW_MAX_GEO_V6, or -ENOMEM (logged).  out->report is
 * the first database's, with the merged counts and countries.
 */
int geofw_geoip_merge(const struct geofw_geoip_db *dbs, size_t n, struct geofw_geoip_db *out);

/*
 * Single lookups through libmaxminddb with the same schema and code rules as
 * geofw_geoip_load(), for verification tools (fwctl lookup, tests).  Note
 * the tree semantics differ on purpose for the aliased IPv6 ranges (see the
 * top of this file): here they resolve like libmaxminddb does.
 */
struct geofw_geoip_reader;

/* Errors as geofw_geoip_load() (logged), minus -ENODATA and -E2BIG. */
int geofw_geoip_open(const char *path, const struct geofw_geoip_opts *opts,
		     struct geofw_geoip_reader **out);
/* *country_id: 1..254, or GEOFW_COUNTRY_NONE when the address has no record,
 * no country or a refused code.  0, -EAFNOSUPPORT (IPv6 address, IPv4
 * database) or -EINVAL (corrupt database; not logged). */
int geofw_geoip_lookup(struct geofw_geoip_reader *r, const struct sockaddr *sa,
		       unsigned int *country_id);
/* An ASN database's record for an address (opened with opts.asn_class
 * set): *asn 0 when the address has no record or no AS number; org gets
 * autonomous_system_organization ("" when absent), control characters
 * replaced by '?'.  0, -EAFNOSUPPORT or -EINVAL as geofw_geoip_lookup(). */
int geofw_geoip_lookup_asn(struct geofw_geoip_reader *r, const struct sockaddr *sa,
			   __u32 *asn, char *org, size_t org_size);
void geofw_geoip_close(struct geofw_geoip_reader *r);

#endif
