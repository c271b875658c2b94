/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Packet parsing (BPF-only header, but free of helpers and maps so the same
 * code can be compiled for the host by the fuzz harness).
 *
 * A cursor walks the frame; each parser checks bounds against data_end,
 * advances the cursor and says what comes next.  The result is a small
 * struct geofw_pkt with what the decision needs: the source address (an
 * IPv6 source carrying an IPv4 address is turned into IPv4, v6_embedded_v4),
 * and L4 protocol and ports when they are in this fragment.
 *
 * Two entries: geofw_parse() for frames with an Ethernet header,
 * geofw_parse_l3() for devices without one (tun, wireguard, ppp, ipip, gre,
 * sit, ip6tnl), where the frame starts at the IP header and its first nibble
 * says the version.
 */
#ifndef GEOFW_PARSE_H
#define GEOFW_PARSE_H

#include "geofw.h"

#define GEOFW_ETH_P_IP		0x0800
#define GEOFW_ETH_P_IPV6	0x86DD
#define GEOFW_ETH_P_8021Q	0x8100
#define GEOFW_ETH_P_8021AD	0x88A8

#define GEOFW_IPPROTO_HOPOPTS	0
#define GEOFW_IPPROTO_TCP	6
#define GEOFW_IPPROTO_UDP	17
#define GEOFW_IPPROTO_ROUTING	43
#define GEOFW_IPPROTO_FRAGMENT	44
#define GEOFW_IPPROTO_AH	51
#define GEOFW_IPPROTO_DSTOPTS	60
#define GEOFW_IPPROTO_ICMPV6	58

#define GEOFW_ETH_HLEN		14
#define GEOFW_VLAN_HLEN		4
#define GEOFW_IPV4_HLEN		20
#define GEOFW_IPV6_HLEN		40

/*
 * Loads at any alignment.  In BPF a plain load is what the verifier and the
 * JIT handle best (packet data is byte-addressed there); the host build (fuzz
 * harness, fwctl lookup) goes through memcpy, where a misaligned pointer
 * dereference would be undefined behaviour.
 */
#ifdef __bpf__
#define GEOFW_LD(type, p)	(*(const type *)(p))
#else
#define GEOFW_LD(type, p)	({ type v_; __builtin_memcpy(&v_, (p), sizeof(v_)); v_; })
#endif

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

enum geofw_parse_result {
	GEOFW_PARSE_IP = 0,	/* pkt is filled in */
	GEOFW_PARSE_NON_IP,	/* not IPv4/IPv6: pass */
	GEOFW_PARSE_MALFORMED,	/* pkt->malformed says which class */
};

struct geofw_pkt {
	__u8  family;		/* 4 or 6 (after the embedded-IPv4 conversion) */
	__u8  l4proto;		/* IPPROTO_*, 0 when not reached */
	__u8  has_l4;		/* sport/dport/tcp_flags are valid */
	__u8  fragment;		/* 1: first fragment, 2: later fragment */
	__u8  vlan_depth;
	__u8  malformed;	/* enum geofw_malformed when MALFORMED */
	__u8  tcp_flags;
	__u8  icmp6_type;	/* ICMPv6 type when l4proto is ICMPv6, else 0 */
	__u16 l3_off;		/* offset of the IP header in the frame */
	__u16 l4_off;		/* offset of the L4 header, when has_l4 */
	__u16 sport_be;
	__u16 dport_be;
	__u8  hop_limit;	/* IPv6 only */
	__u8  l4_unreached;	/* IPv6: the header chain was not followed to its end */
	__u8  pad[2];
	__u8  saddr[16];	/* IPv4 in the first 4 bytes */
};

struct geofw_cursor {
	const __u8 *pos;
	const __u8 *start;
	const __u8 *end;
};

static __always_inline int cursor_has(const struct geofw_cursor *c, __u32 len)
{
	return c->pos + len <= c->end;
}

static __always_inline __u16 load_be16(const __u8 *p)
{
	return (__u16)((__u16)p[0] << 8 | p[1]);
}

/* Ethernet + up to GEOFW_MAX_VLAN_DEPTH tags; returns the ethertype or -1. */
static __always_inline int parse_eth(struct geofw_cursor *c, struct geofw_pkt *pkt)
{
	__u16 proto;
	int i;

	if (!cursor_has(c, GEOFW_ETH_HLEN)) {
		pkt->malformed = GEOFW_MF_RUNT;
		return -1;
	}
	proto = load_be16(c->pos + 12);
	c->pos += GEOFW_ETH_HLEN;

#pragma unroll
	for (i = 0; i < GEOFW_MAX_VLAN_DEPTH + 1; i++) {
		if (proto != GEOFW_ETH_P_8021Q && proto != GEOFW_ETH_P_8021AD)
			return proto;
		if (i == GEOFW_MAX_VLAN_DEPTH) {
			pkt->malformed = GEOFW_MF_VLAN_DEPTH;
			return -1;
		}
		if (!cursor_has(c, GEOFW_VLAN_HLEN)) {
			pkt->malformed = GEOFW_MF_RUNT;
			return -1;
		}
		proto = load_be16(c->pos + 2);
		c->pos += GEOFW_VLAN_HLEN;
		pkt->vlan_depth++;
	}
	return proto;
}

static __always_inline void parse_l4(struct geofw_cursor *c, struct geofw_pkt *pkt)
{
	if (pkt->fragment == 2)
		return;
	if (pkt->l4proto == GEOFW_IPPROTO_TCP) {
		if (!cursor_has(c, 20))
			return;
		pkt->tcp_flags = c->pos[13];
	} else if (pkt->l4proto == GEOFW_IPPROTO_UDP) {
		if (!cursor_has(c, 8))
			return;
	} else {
		if (pkt->l4proto == GEOFW_IPPROTO_ICMPV6 && cursor_has(c, 4))
			pkt->icmp6_type = c->pos[0];
		return;
	}
	pkt->sport_be = GEOFW_LD(__u16, c->pos);
	pkt->dport_be = GEOFW_LD(__u16, c->pos + 2);
	pkt->l4_off = (__u16)(c->pos - c->start);
	pkt->has_l4 = 1;
}

static __always_inline int parse_ipv4(struct geofw_cursor *c, struct geofw_pkt *pkt)
{
	const __u8 *ip = c->pos;
	__u32 ihl, tot_len;
	__u16 frag;

	if (!cursor_has(c, GEOFW_IPV4_HLEN)) {
		pkt->malformed = GEOFW_MF_IPV4_TRUNC;
		return -1;
	}
	ihl = (__u32)(ip[0] & 0x0f) * 4;
	if ((ip[0] >> 4) != 4 || ihl < GEOFW_IPV4_HLEN) {
		pkt->malformed = GEOFW_MF_IPV4_IHL;
		return -1;
	}
	if (!cursor_has(c, ihl)) {
		pkt->malformed = GEOFW_MF_IPV4_TRUNC;
		return -1;
	}
	tot_len = load_be16(ip + 2);
	if (tot_len < ihl) {
		pkt->malformed = GEOFW_MF_IPV4_TOTLEN;
		return -1;
	}

	pkt->family = 4;
	pkt->l3_off = (__u16)(ip - c->start);
	pkt->l4proto = ip[9];
	__builtin_memcpy(pkt->saddr, ip + 12, 4);
	frag = load_be16(ip + 6);
	if (frag & 0x1fff)
		pkt->fragment = 2;
	else if (frag & 0x2000)
		pkt->fragment = 1;
	c->pos += ihl;
	parse_l4(c, pkt);
	return 0;
}

/*
 * An IPv4 address carried in an IPv6 source, judged as that IPv4 address
 * (rules and country) the way the stack itself treats it: v4-mapped
 * ::ffff:a.b.c.d, IPv4-compatible ::a.b.c.d (RFC 4291 §2.5.5.1; not :: and
 * ::1, which are IPv6's own), 6to4 2002:a.b.c.d::/48 (RFC 3056) and the
 * NAT64 well-known prefix 64:ff9b::/96 (RFC 6052).  Teredo (2001::/32) is
 * not unwrapped: docs/design-notes.md says why.  1 with out[0..3] set, or 0.
 */
static __always_inline int v6_embedded_v4(const __u8 *a, __u8 *out)
{
	const __u8 *v4 = a + 12;

	if (GEOFW_LD(__u64, a) == 0 && GEOFW_LD(__u16, a + 8) == 0) {
		if (GEOFW_LD(__u16, a + 10) == 0xffff)
			goto found;
		if (GEOFW_LD(__u16, a + 10) == 0 &&
		    (GEOFW_LD(__u16, a + 12) | a[14] | (a[15] & 0xfe)) != 0)
			goto found;
		return 0;
	}
	if (a[0] == 0x20 && a[1] == 0x02) {
		v4 = a + 2;
		goto found;
	}
	if (a[0] == 0x00 && a[1] == 0x64 && a[2] == 0xff && a[3] == 0x9b &&
	    GEOFW_LD(__u32, a + 4) == 0 && GEOFW_LD(__u32, a + 8) == 0)
		goto found;
	return 0;
found:
	__builtin_memcpy(out, v4, 4);
	return 1;
}

/*
 * A source inside one of the configured NAT64 prefixes (gfw_nat64): the IPv4
 * address follows the prefix, skipping the reserved bits 64-71 (RFC 6052
 * §2.2).  1 with out[0..3] set, or 0.
 */
static __always_inline int v6_nat64_v4(const __u8 *a, const struct geofw_nat64 *t, __u8 *out)
{
	__u32 i, j, k, n = t->count;

	if (n > GEOFW_MAX_NAT64)
		n = GEOFW_MAX_NAT64;
	for (i = 0; i < n; i++) {
		const struct geofw_nat64_prefix *p = &t->prefix[i];
		__u32 bytes = (p->prefixlen / 8) & 15;
		int match = bytes >= 4 && bytes <= 12;

		for (j = 0; j < 12 && match; j++)
			if (j < bytes && a[j] != p->addr[j])
				match = 0;
		if (!match)
			continue;
		for (k = 0; k < 4; k++) {
			j = bytes + k;
			if (bytes <= 8 && j >= 8)
				j++;
			out[k] = a[j & 15];
		}
		return 1;
	}
	return 0;
}

static __always_inline int parse_ipv6(struct geofw_cursor *c, struct geofw_pkt *pkt)
{
	const __u8 *ip = c->pos;
	__u8 next;
	int i;

	if (!cursor_has(c, GEOFW_IPV6_HLEN) || (ip[0] >> 4) != 6) {
		pkt->malformed = GEOFW_MF_IPV6_TRUNC;
		return -1;
	}
	pkt->l3_off = (__u16)(ip - c->start);
	if (v6_embedded_v4(ip + 8, pkt->saddr)) {
		pkt->family = 4;
	} else {
		pkt->family = 6;
		__builtin_memcpy(pkt->saddr, ip + 8, 16);
	}
	next = ip[6];
	pkt->hop_limit = ip[7];
	c->pos += GEOFW_IPV6_HLEN;

	/* Walk extension headers only to find L4; the decision needs only the
	 * source, so a chain we cannot follow just leaves has_l4 = 0. */
	pkt->l4_unreached = 1;
#pragma unroll
	for (i = 0; i < GEOFW_MAX_IPV6_EXTHDRS; i++) {
		__u32 len;

		if (next == GEOFW_IPPROTO_HOPOPTS || next == GEOFW_IPPROTO_ROUTING ||
		    next == GEOFW_IPPROTO_DSTOPTS) {
			if (!cursor_has(c, 8))
				return 0;
			len = ((__u32)c->pos[1] + 1) * 8;
		} else if (next == GEOFW_IPPROTO_AH) {
			if (!cursor_has(c, 8))
				return 0;
			len = ((__u32)c->pos[1] + 2) * 4;
		} else if (next == GEOFW_IPPROTO_FRAGMENT) {
			__u16 off;

			if (!cursor_has(c, 8))
				return 0;
			len = 8;
			off = load_be16(c->pos + 2);
			pkt->fragment = (off & 0xfff8) ? 2 : 1;
		} else {
			break;
		}
		next = c->pos[0];
		if (!cursor_has(c, len))
			return 0;
		c->pos += len;
	}
	pkt->l4proto = next;
	if (i < GEOFW_MAX_IPV6_EXTHDRS) {
		pkt->l4_unreached = 0;
		parse_l4(c, pkt);
	}
	return 0;
}

/*
 * Neighbour discovery (router/neighbour solicitation and advertisement,
 * redirect) is link-local by construction (hop limit 255, RFC 4861): a
 * blocked host on the same link must still resolve us, or it could never
 * receive the reset or the 403 page it is owed.
 */
static __always_inline int geofw_is_nd(const struct geofw_pkt *pkt)
{
	return pkt->family == 6 && pkt->l4proto == GEOFW_IPPROTO_ICMPV6 &&
	       pkt->hop_limit == 255 && pkt->icmp6_type >= 133 && pkt->icmp6_type <= 137;
}

/* Parse a frame; fills pkt (which must be zeroed by the caller). */
static __always_inline enum geofw_parse_result
geofw_parse(const void *data, const void *data_end, struct geofw_pkt *pkt)
{
	struct geofw_cursor c = { .pos = data, .start = data, .end = data_end };
	int proto;

	proto = parse_eth(&c, pkt);
	if (proto < 0)
		return GEOFW_PARSE_MALFORMED;
	if (proto == GEOFW_ETH_P_IP)
		return parse_ipv4(&c, pkt) ? GEOFW_PARSE_MALFORMED : GEOFW_PARSE_IP;
	if (proto == GEOFW_ETH_P_IPV6)
		return parse_ipv6(&c, pkt) ? GEOFW_PARSE_MALFORMED : GEOFW_PARSE_IP;
	return GEOFW_PARSE_NON_IP;
}

/* Parse a packet that starts at its IP header (no link-layer header). */
static __always_inline enum geofw_parse_result
geofw_parse_l3(const void *data, const void *data_end, struct geofw_pkt *pkt)
{
	struct geofw_cursor c = { .pos = data, .start = data, .end = data_end };

	if (!cursor_has(&c, 1)) {
		pkt->malformed = GEOFW_MF_RUNT;
		return GEOFW_PARSE_MALFORMED;
	}
	if ((c.pos[0] >> 4) == 4)
		return parse_ipv4(&c, pkt) ? GEOFW_PARSE_MALFORMED : GEOFW_PARSE_IP;
	if ((c.pos[0] >> 4) == 6)
		return parse_ipv6(&c, pkt) ? GEOFW_PARSE_MALFORMED : GEOFW_PARSE_IP;
	return GEOFW_PARSE_NON_IP;	/* MPLS over GRE, …: as on Ethernet */
}

#endif
