/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Strict parsing and formatting of addresses, CIDR prefixes, country codes
 * and AS numbers: everything an operator types or a list file contains
 * (durations: timeutil.h, included here for the parsers that take both).
 *
 * Parsers return 0 or -EINVAL and put a one-line message into err (which may
 * be NULL); they never log, since the CLI prints the message and geofwd sends
 * it back over its socket.
 */
#ifndef GEOFW_CIDR_H
#define GEOFW_CIDR_H

#include <stdbool.h>
#include <stddef.h>

#include "geofw.h"
#include "timeutil.h"

/* A prefix; v4 uses addr[0..3], all unused bytes are zero, network order. */
struct geofw_cidr {
	__u8 family;		/* 4 or 6 */
	__u8 prefixlen;
	__u8 addr[16];
};

/* Flags of geofw_cidr_parse(). */
enum {
	/* Clear host bits instead of rejecting 203.0.113.7/24. */
	GEOFW_CIDR_ALLOW_HOST_BITS	= 1u << 0,
	/* Accept /0 (matches everything, so the caller must have asked for it). */
	GEOFW_CIDR_ALLOW_ZERO		= 1u << 1,
	/* A bare address only: any "/len" is an error. */
	GEOFW_CIDR_ADDR_ONLY		= 1u << 2,
};

/* Buffer sizes: formatted CIDR ("ffff:…:255.255.255.255/128" + NUL) and a
 * parser message that always fits. */
#define GEOFW_CIDR_STRLEN	52
#define GEOFW_ERRLEN		256


/*
 * Parse "ADDR" or "ADDR/LEN" (IPv4 or IPv6, inet_pton syntax, decimal LEN
 * without sign or leading zeros).  A bare address is a /32 or /128;
 * ::ffff:a.b.c.d/n (n >= 96) becomes the IPv4 prefix a.b.c.d/(n-96).
 */
int geofw_cidr_parse(const char *text, unsigned int flags, struct geofw_cidr *out,
		     char *err, size_t errlen);

/* "203.0.113.0/24", "2001:db8::/32": canonical text, length always shown.
 * 0, -ENOSPC when len is too small, -EINVAL for a bad family. */
int geofw_cidr_format(const struct geofw_cidr *c, char *buf, size_t len);
/* A bare address of family 4 or 6 ("203.0.113.7", "2001:db8::1"). */
int geofw_addr_format(int family, const __u8 *addr, char *buf, size_t len);

/* Does net contain addr (family 4 or 6)?  An IPv4-mapped IPv6 address is
 * matched as IPv4, as the data plane does. */
bool geofw_cidr_contains(const struct geofw_cidr *net, const __u8 *addr, int family);

/* Clear the bits beyond prefixlen; tell whether any are set. */
void geofw_cidr_mask(struct geofw_cidr *c);
bool geofw_cidr_has_host_bits(const struct geofw_cidr *c);

/* Order by family, address, prefix length (for qsort and dedup). */
int geofw_cidr_cmp(const struct geofw_cidr *a, const struct geofw_cidr *b);

/* To and from LPM trie keys; -EINVAL on a family or length mismatch.
 * from_lpm clears host bits, so its result is canonical. */
int geofw_cidr_to_lpm_v4(const struct geofw_cidr *c, struct geofw_lpm_v4 *key);
int geofw_cidr_to_lpm_v6(const struct geofw_cidr *c, struct geofw_lpm_v6 *key);
int geofw_cidr_from_lpm_v4(const struct geofw_lpm_v4 *key, struct geofw_cidr *c);
int geofw_cidr_from_lpm_v6(const struct geofw_lpm_v6 *key, struct geofw_cidr *c);

/* Two ASCII letters, any case → upper-case code in out ("ru" → "RU").
 * Syntax only: whether the code is known is geofw_country_id()'s job. */
int geofw_cc_parse(const char *text, char out[3], char *err, size_t errlen);

/* An AS number as operators write it: "AS64500", "as64500" or "64500",
 * 1..4294967295 in decimal, nothing else (no sign, space, leading zero or
 * asdot "1.10").  0 or -EINVAL. */
int geofw_asn_parse(const char *text, __u32 *asn);

#endif
