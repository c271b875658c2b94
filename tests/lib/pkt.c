// SPDX-License-Identifier: GPL-2.0-only
#include "pkt.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

__u32 pkt_csum_add(const void *data, size_t len, __u32 sum)
{
	const __u8 *p = data;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (__u32)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (__u32)p[len - 1] << 8;
	return sum;
}

__u16 pkt_csum(const void *data, size_t len, __u32 sum)
{
	sum = pkt_csum_add(data, len, sum);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

static void put16(__u8 *p, __u16 v)
{
	p[0] = (__u8)(v >> 8);
	p[1] = (__u8)v;
}

/* L4 header + payload at p; returns its length.  The checksum needs the
 * pseudo-header sum, passed in. */
static size_t build_l4(const struct pkt_opts *o, __u8 *p, __u32 pseudo, int v6)
{
	__u8 proto = o->proto ? o->proto : IPPROTO_TCP;
	size_t hlen, len, i;
	__u16 csum;

	if (proto == IPPROTO_TCP)
		hlen = 20;
	else
		hlen = 8;
	len = hlen + o->payload;
	memset(p, 0, hlen);
	for (i = 0; i < o->payload; i++)
		p[hlen + i] = (__u8)('a' + i % 26);

	if (proto == IPPROTO_TCP || proto == IPPROTO_UDP) {
		put16(p, o->sport ? o->sport : 40000);
		put16(p + 2, o->dport ? o->dport : 80);
	}
	if (proto == IPPROTO_TCP) {
		put16(p + 4, 0x1234);		/* seq */
		put16(p + 6, 0x5678);
		p[12] = 5 << 4;			/* data offset */
		p[13] = o->tcp_flags ? o->tcp_flags : 0x02;
		put16(p + 14, 65535);		/* window */
		csum = pkt_csum(p, len, pseudo + proto + (__u32)len);
		put16(p + 16, csum);
	} else if (proto == IPPROTO_UDP) {
		put16(p + 4, (__u16)len);
		csum = pkt_csum(p, len, pseudo + proto + (__u32)len);
		put16(p + 6, csum ? csum : 0xffff);
	} else {
		p[0] = o->icmp_type ? o->icmp_type : v6 ? 128 : 8;	/* echo request */
		csum = pkt_csum(p, len, v6 ? pseudo + proto + (__u32)len : 0);
		put16(p + 2, csum);
	}
	return len;
}

size_t pkt_build(const struct pkt_opts *o, __u8 *buf, size_t cap)
{
	static const __u8 dmac[6] = { 0x02, 0, 0, 0, 0, 0x01 };
	static const __u8 smac[6] = { 0x02, 0, 0, 0, 0, 0x02 };
	__u8 proto = o->proto ? o->proto : IPPROTO_TCP;
	struct in6_addr s6, d6;
	struct in_addr s4, d4;
	size_t off = 12, len;
	int i, v6;

	if (cap < 1600)
		return 0;
	memset(buf, 0, cap);
	memcpy(buf, dmac, 6);
	memcpy(buf + 6, smac, 6);
	for (i = 0; i < 3 && o->vlan[i]; i++) {
		put16(buf + off, o->vlan[i]);
		put16(buf + off + 2, (__u16)(100 + i));	/* VLAN id */
		off += 4;
	}

	if (o->ethertype) {
		put16(buf + off, o->ethertype);
		off += 2;
		memset(buf + off, 0xab, 46);	/* ARP/LLDP-sized body */
		len = off + 46;
		goto out;
	}

	v6 = o->src && strchr(o->src, ':');
	if (v6) {
		__u8 *ip, next = proto;
		size_t l4, ext = 0;
		__u32 pseudo;

		if (inet_pton(AF_INET6, o->src, &s6) != 1 ||
		    inet_pton(AF_INET6, o->dst ? o->dst : "2001:db8::1", &d6) != 1)
			return 0;
		put16(buf + off, 0x86DD);
		off += 2;
		ip = buf + off;
		ip[0] = (__u8)((o->version ? o->version : 6) << 4);
		ip[7] = o->hop_limit ? o->hop_limit : 64;
		memcpy(ip + 8, &s6, 16);
		memcpy(ip + 24, &d6, 16);
		if (o->frag) {
			__u8 *f = ip + 40 + (o->v6_hbh ? 8 : 0);

			f[0] = next;
			put16(f + 2, o->frag == PKT_FRAG_LATER ? (185 << 3) : 1); /* M=1 */
			f[4] = 0xde;
			next = 44;
			ext += 8;
		}
		if (o->v6_hbh) {
			__u8 *h = ip + 40;

			h[0] = next;
			h[1] = 0;		/* 8 bytes */
			h[2] = 1;		/* PadN */
			h[3] = 4;
			next = 0;
			ext += 8;
		}
		ip[6] = next;
		pseudo = pkt_csum_add(ip + 8, 32, 0);
		l4 = o->frag == PKT_FRAG_LATER ? (memset(ip + 40 + ext, 0x5a, 64), 64) :
			build_l4(o, ip + 40 + ext, pseudo, 1);
		put16(ip + 4, (__u16)(ext + l4));
		len = off + 40 + ext + l4;
	} else {
		__u8 *ip, ihl_bytes;
		size_t l4;
		__u32 pseudo;

		if (!o->src || inet_pton(AF_INET, o->src, &s4) != 1 ||
		    inet_pton(AF_INET, o->dst ? o->dst : "192.0.2.1", &d4) != 1)
			return 0;
		put16(buf + off, 0x0800);
		off += 2;
		ip = buf + off;
		ihl_bytes = (__u8)(20 + o->ip_opts);
		ip[0] = (__u8)((o->version ? o->version : 4) << 4 |
			       (o->ihl ? o->ihl : ihl_bytes / 4));
		if (o->frag == PKT_FRAG_FIRST)
			put16(ip + 6, 0x2000);
		else if (o->frag == PKT_FRAG_LATER)
			put16(ip + 6, 185);
		ip[8] = o->hop_limit ? o->hop_limit : 64;
		ip[9] = proto;
		memcpy(ip + 12, &s4, 4);
		memcpy(ip + 16, &d4, 4);
		for (i = 0; i < o->ip_opts; i++)	/* NOPs, then EOL */
			ip[20 + i] = i + 1 == o->ip_opts ? 0 : 1;
		pseudo = pkt_csum_add(ip + 12, 8, 0);
		l4 = o->frag == PKT_FRAG_LATER ? (memset(ip + ihl_bytes, 0x5a, 64), 64) :
			build_l4(o, ip + ihl_bytes, pseudo, 0);
		put16(ip + 2, o->tot_len ? o->tot_len : (__u16)(ihl_bytes + l4));
		put16(ip + 10, pkt_csum(ip, ihl_bytes, 0));
		len = off + ihl_bytes + l4;
	}
out:
	if (len < 60)
		len = 60;	/* Ethernet minimum, zero padded */
	if (o->truncate && o->truncate < len)
		len = o->truncate;
	return len;
}
