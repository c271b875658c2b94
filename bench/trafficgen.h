/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What bench/bpf/trafficgen.bpf.c and bench/trafficgen.c share: the table of
 * source addresses the generator stamps into its frames.
 */
#ifndef GEOFW_TRAFFICGEN_H
#define GEOFW_TRAFFICGEN_H

/* Sources drawn in turn; a power of two so the index is a mask. */
#define TG_MAX_SOURCES	(1u << 18)

/*
 * One source: the address and the IPv4 header checksum of the template
 * frame carrying it, computed in user space so the generator only stores
 * two words per frame (the receivers' stack path checks the checksum).
 */
struct tg_source {
	__u32 saddr_be;
	__u16 check_be;
	__u16 pad;
};
_Static_assert(sizeof(struct tg_source) == 8, "tg_source size");

/* Prefixes the LPM-trie receiver can hold. */
#define TG_MAX_LPM	(1u << 20)

/* Its key: an IPv4 prefix, the address in network order. */
struct tg_lpm_key {
	__u32 prefixlen;
	__u32 addr_be;
};
_Static_assert(sizeof(struct tg_lpm_key) == 8, "tg_lpm_key size");

#endif
