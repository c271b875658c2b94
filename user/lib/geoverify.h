/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Geo verification: the country the data plane computes for an address
 * (geofw_geo_probe through BPF_PROG_RUN on a crafted frame, no traffic)
 * against libmaxminddb's answer for the same database files: with several,
 * the first file that has a country for the address (geofw_geoip_merge()).
 */
#ifndef GEOFW_GEOVERIFY_H
#define GEOFW_GEOVERIFY_H

#include <stdbool.h>
#include <stddef.h>

#include "asntable.h"
#include "geoip.h"

#define GEOFW_VERIFY_MISMATCHES 10

struct geofw_verify_mismatch {
	char addr[48];
	unsigned int want, got;		/* country ids: libmaxminddb, data plane */
};

struct geofw_verify_result {
	size_t random_checked, edges_checked, agreed;
	size_t skipped;			/* aliased IPv6 ranges (below), not checked */
	/* IPv6 addresses no database could answer: every one is IPv4-only.
	 * Checked (no country expected), counted in agreed or mismatches. */
	size_t v6_not_covered;
	/* IPv6 addresses carrying an IPv4 one (v4-mapped, compatible, 6to4,
	 * 64:ff9b::/96): judged, and checked, as that IPv4 address. */
	size_t v6_as_v4;
	size_t n_mismatch;		/* all of them; the first few are listed */
	struct geofw_verify_mismatch mismatch[GEOFW_VERIFY_MISMATCHES];
	double seconds;
};

/*
 * Check `samples` random addresses of each family (IPv6 drawn from 2000::/3
 * half of the time, so most land inside the database) and, when db is
 * non-NULL, the first and last address of each of its prefixes.  readers[]
 * are the database files in force, in GeoIPDatabase order; db the tables
 * were built from (merged when several).  Addresses whose answers differ by
 * design are skipped and counted: in an IPv6 database the IPv4-compatible
 * ::/96, Teredo 2001::/32 and 6to4 2002::/16, which libmaxminddb aliases to
 * IPv4 and the firewall does not.  0 or -errno.
 */
int geofw_geo_verify(int probe_fd, struct geofw_geoip_reader *const *readers, size_t n_readers,
		     const struct geofw_geoip_db *db, size_t samples, unsigned int seed,
		     struct geofw_verify_result *res);

/* Country the data plane gives one address (family 4 or 6), or -errno. */
int geofw_geo_probe(int probe_fd, int family, const __u8 *addr);

/* The AS number whose rule the data plane applies to one address (family 4
 * or 6; 0 = no AS rule), through the geofw_asn_probe program, or -errno. */
long long geofw_asn_probe(int probe_fd, int family, const __u8 *addr);

struct geofw_asn_verify_result {
	size_t random_checked, edges_checked, agreed, n_mismatch;
	struct {
		char addr[48];
		__u32 want, got;	/* AS with a rule per libmaxminddb (0 = none), kernel */
	} mismatch[GEOFW_VERIFY_MISMATCHES];
	double seconds;
};

/*
 * Check `samples` random addresses of each family and, when db is non-NULL,
 * the first and last address of each of its prefixes: the kernel's AS must
 * be libmaxminddb's AS for the address when that AS has a rule in cl, else
 * none (an expired rule counts as a mismatch: verify rules in force).  reader: the database opened with
 * opts.asn_class set.  The aliased IPv6 ranges are skipped as in
 * geofw_geo_verify().  0 or -errno.
 */
int geofw_asn_verify(int probe_fd, struct geofw_geoip_reader *reader,
		     const struct geofw_asn_classes *cl, const struct geofw_geoip_db *db,
		     size_t samples, unsigned int seed, struct geofw_asn_verify_result *res);

#endif
