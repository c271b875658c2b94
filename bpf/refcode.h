/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Reference codes of the 403 page (layout in include/geofw.h): the bits, the
 * keyed MAC and the twelve Crockford base32 characters.  Free of helpers and
 * maps like siphash.h, so geofwd and fwctl compile the very same functions
 * to decode what the TC program encoded.
 */
#ifndef GEOFW_REFCODE_H
#define GEOFW_REFCODE_H

#include "geofw.h"
#include "siphash.h"

#define REF_CLASS_SHIFT		57
#define REF_COUNTRY_SHIFT	49
#define REF_MINUTE_SHIFT	33
#define REF_SUBJECT_SHIFT	17
#define REF_MAC_MASK		((1ull << GEOFW_REF_MAC_BITS) - 1)

_Static_assert(3 + 8 + GEOFW_REF_MINUTE_BITS + 16 + GEOFW_REF_MAC_BITS == 5 * GEOFW_REF_LEN,
	       "reference code bits");

/* The 60 bits without the MAC. */
static __always_inline __u64 ref_fields(__u32 cls, __u32 country_id, __u32 minute, __u32 subject)
{
	return (__u64)(cls & 7) << REF_CLASS_SHIFT |
	       (__u64)(country_id & 0xff) << REF_COUNTRY_SHIFT |
	       (__u64)(minute & 0xffff) << REF_MINUTE_SHIFT |
	       (__u64)(subject & 0xffff) << REF_SUBJECT_SHIFT;
}

/* The MAC over the fields and the full minute and subject (which the code
 * only carries modulo 2^16). */
static __always_inline __u64 ref_mac(__u64 k0, __u64 k1, __u64 fields, __u32 minute,
				     __u32 subject)
{
	__u64 m[2] = { fields, (__u64)minute | (__u64)subject << 32 };

	return siphash24(k0, k1, m, 2) & REF_MAC_MASK;
}

static __always_inline __u64 ref_make(__u64 k0, __u64 k1, __u32 cls, __u32 country_id,
				      __u32 minute, __u32 subject)
{
	__u64 f = ref_fields(cls, country_id, minute, subject);

	return f | ref_mac(k0, k1, f, minute, subject);
}

/* Crockford base32 digit v (0..31): 0-9, then A-Z without I, L, O, U. */
static __always_inline char ref_digit(__u32 v)
{
	char c;

	v &= 31;
	if (v < 10)
		return (char)('0' + v);
	c = (char)('A' + v - 10);
	if (c >= 'I')
		c++;
	if (c >= 'L')
		c++;
	if (c >= 'O')
		c++;
	if (c >= 'U')
		c++;
	return c;
}

#endif
