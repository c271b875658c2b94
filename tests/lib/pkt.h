/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Test packet builder: Ethernet (+VLAN tags) / IPv4 (+options) or IPv6 (+hop-by-hop,
 * fragment headers) / TCP, UDP or ICMP, with knobs to make every malformed
 * variant the data plane must recognise.  Checksums are correct unless a
 * knob breaks the header.
 */
#ifndef GEOFW_TEST_PKT_H
#define GEOFW_TEST_PKT_H

#include <linux/types.h>
#include <stddef.h>

enum { PKT_FRAG_NONE = 0, PKT_FRAG_FIRST = 1, PKT_FRAG_LATER = 2 };

struct pkt_opts {
	__u16 vlan[3];		/* TPIDs of VLAN tags, outermost first; 0 ends */
	__u16 ethertype;	/* non-IP frame of this type when set */
	const char *src;	/* source address; family from its form */
	const char *dst;	/* destination; default 192.0.2.1 / 2001:db8::1 */
	__u8 proto;		/* IPPROTO_TCP (default), _UDP or _ICMP(V6) */
	__u16 sport, dport;	/* default 40000 → 80 */
	__u8 tcp_flags;		/* default SYN */
	__u8 ip_opts;		/* IPv4 options bytes (multiple of 4, ≤ 40) */
	__u8 ihl;		/* IPv4 IHL override (0: computed) */
	__u8 version;		/* IP version nibble override (0: correct) */
	__u16 tot_len;		/* IPv4 total length override (0: computed) */
	__u8 frag;		/* PKT_FRAG_* */
	__u8 v6_hbh;		/* IPv6 hop-by-hop header before the rest */
	__u8 icmp_type;		/* ICMP(v6) type (default echo request) */
	__u8 hop_limit;		/* IPv6 hop limit / IPv4 TTL (default 64) */
	size_t payload;		/* L4 payload bytes */
	size_t truncate;	/* cut the frame to this length (0: whole) */
};

/* Build into buf; returns the frame length, or 0 on a bad spec. */
size_t pkt_build(const struct pkt_opts *o, __u8 *buf, size_t cap);

/* Internet checksum helpers, independent of the data plane's own code. */
__u16 pkt_csum(const void *data, size_t len, __u32 sum);
__u32 pkt_csum_add(const void *data, size_t len, __u32 sum);

#endif
