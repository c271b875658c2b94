/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * TCP replies built in place: the received skb becomes our answer and leaves
 * through the interface it came in on, so no socket, route lookup or
 * conntrack entry is ever involved.
 *
 * The reply keeps the frame's L2 header (MACs swapped, VLAN tags untouched)
 * and gets a fresh plain IP header (20-byte IPv4 without options, or 40-byte
 * IPv6 without extension headers) and TCP header at the same L3 offset, so
 * options or extension headers of the incoming packet simply disappear.  All
 * reads go through bpf_skb_load_bytes and all writes through
 * bpf_skb_store_bytes, which cope with non-linear skbs and keep a
 * CHECKSUM_COMPLETE skb->csum consistent.
 *
 * Checksums are computed in full here.  BPF cannot change skb->ip_summed,
 * so a packet that arrived CHECKSUM_PARTIAL (only ever from a veth, tun or
 * virtio peer on the same host, never from a NIC) leaves with it: its local
 * receiver trusts the checksum anyway, but a device recomputing it on the way
 * out would get it wrong.  Internet-facing interfaces do not see such packets.
 */
#ifndef GEOFW_REPLY_H
#define GEOFW_REPLY_H

#include "geofw.h"
#include "parse.h"

#ifndef TC_ACT_OK
#define TC_ACT_OK		0
#define TC_ACT_SHOT		2
#define TC_ACT_REDIRECT		7
#endif

#define TCP_FLAG_FIN		0x01
#define TCP_FLAG_SYN		0x02
#define TCP_FLAG_RST		0x04
#define TCP_FLAG_PSH		0x08
#define TCP_FLAG_ACK		0x10

#define TCPOPT_EOL		0
#define TCPOPT_NOP		1
#define TCPOPT_MSS		2
#define TCP_MAX_OPTLEN		40

#define REPLY_TTL		64
#define REPLY_WINDOW		65535
#define REPLY_MSS_V4		1460	/* what we accept: 1500-byte MTU */
#define REPLY_MSS_V6		1440

/* Payload goes from the response map value to the packet through a stack
 * buffer, a chunk at a time: the verifier cannot prove a variable slice of
 * the map value in bounds, bpf_dynptr_read checks it at run time. */
#define REPLY_CHUNK		128
#define REPLY_MAX_CHUNKS	((GEOFW_HTTP403_MAX + REPLY_CHUNK - 1) / REPLY_CHUNK)

/* The incoming segment, as much of it as a reply needs. */
struct geofw_seg {
	__u8  saddr[16];	/* client; IPv4 in the first 4 bytes */
	__u8  daddr[16];	/* us */
	__u32 seq, ack;		/* host order */
	__u16 l3_off, l4_off;
	__u16 payload;		/* TCP payload bytes */
	__u16 window;		/* unscaled: our SYN-ACK never offers scaling */
	__u16 sport_be, dport_be;
	__u8  ipv6;		/* the packet's own family (v4-mapped stays IPv6) */
	__u8  flags;
	__u8  doff;		/* TCP header length in bytes */
	__u8  pad;
};

/*
 * A helper's size argument: m + 1 clamped to max, for m = the size wanted - 1
 * (a caller has checked that at least one byte is wanted).  Computed in one
 * 64-bit register so that both bounds hold on the very register the helper
 * gets, for any verifier: Linux 6.1's (Debian 12's) learns nothing from
 * "n != 0", nor from a check made on a zero-extended copy, and saw possibly
 * zero-sized reads.  The barriers keep the compiler from rewriting the result
 * as a copy of the caller's expression.
 */
static __always_inline __u64 helper_size(__u64 m, const __u64 max)
{
	barrier_var(m);
	if (m > max - 1)
		m = max - 1;
	barrier_var(m);
	return m + 1;
}

/*
 * The payload chunk reply_send copies: a per-CPU buffer (not pinned, nothing
 * to keep) rather than 132 bytes of stack.  The program's deepest chain of
 * frames (geofw_tc, page_values, fmt_addr) must stay within the 512 bytes
 * every verifier allows; Linux 6.1's (Debian 12's) counted 544 with the
 * chunk on the stack.
 */
struct reply_chunk {
	__u8 b[REPLY_CHUNK + 4];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct reply_chunk);
} gfw_reply_chunk SEC(".maps");

/* What to send back. */
struct geofw_reply {
	__u32 seq, ack;
	__u8  flags;
	__u8  mss_opt;		/* append an MSS option (SYN-ACK) */
	__u16 data_off;		/* slice of the response carried … */
	__u16 data_len;		/* … 0 for none */
	__u16 pad;
};

struct reply_ip4 {
	__u8  ver_ihl;
	__u8  tos;
	__u16 tot_len;
	__u16 id;
	__u16 frag_off;
	__u8  ttl;
	__u8  protocol;
	__u16 check;
	__u8  saddr[4];
	__u8  daddr[4];
};

struct reply_ip6 {
	__u32 ver_tc_flow;
	__u16 payload_len;
	__u8  nexthdr;
	__u8  hop_limit;
	__u8  saddr[16];
	__u8  daddr[16];
};

struct reply_tcp {
	__u16 sport;
	__u16 dport;
	__u32 seq;
	__u32 ack;
	__u8  doff;		/* data offset << 4 */
	__u8  flags;
	__u16 window;
	__u16 check;
	__u16 urg;
	__u8  opt[4];		/* MSS option when doff says 6 */
};

/* 32-bit ones' complement sum (as bpf_csum_diff returns it) → checksum. */
static __always_inline __u16 csum_fold32(__u64 sum)
{
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

/* Read the incoming TCP segment; 0, or -1 when it cannot be answered. */
static __always_inline int seg_read(struct __sk_buff *skb, const struct geofw_pkt *pkt,
				    struct geofw_seg *seg)
{
	__u8 th[20], ip0;
	__u16 ip_len;
	__s32 l4_len;

	seg->l3_off = pkt->l3_off;
	seg->l4_off = pkt->l4_off;
	seg->sport_be = pkt->sport_be;
	seg->dport_be = pkt->dport_be;
	if (bpf_skb_load_bytes(skb, seg->l3_off, &ip0, 1) ||
	    bpf_skb_load_bytes(skb, seg->l4_off, th, sizeof(th)))
		return -1;

	seg->ipv6 = (ip0 >> 4) == 6;
	if (seg->ipv6) {
		/* The L4 length is what the payload length leaves after the
		 * extension headers the parser walked. */
		if (bpf_skb_load_bytes(skb, seg->l3_off + 4, &ip_len, 2) ||
		    bpf_skb_load_bytes(skb, seg->l3_off + 8, seg->saddr, 16) ||
		    bpf_skb_load_bytes(skb, seg->l3_off + 24, seg->daddr, 16))
			return -1;
		l4_len = (__s32)bpf_ntohs(ip_len) + GEOFW_IPV6_HLEN -
			 (__s32)(seg->l4_off - seg->l3_off);
	} else {
		if (bpf_skb_load_bytes(skb, seg->l3_off + 2, &ip_len, 2) ||
		    bpf_skb_load_bytes(skb, seg->l3_off + 12, seg->saddr, 4) ||
		    bpf_skb_load_bytes(skb, seg->l3_off + 16, seg->daddr, 4))
			return -1;
		l4_len = (__s32)bpf_ntohs(ip_len) - (__s32)(seg->l4_off - seg->l3_off);
	}

	seg->seq = (__u32)th[4] << 24 | (__u32)th[5] << 16 | (__u32)th[6] << 8 | th[7];
	seg->ack = (__u32)th[8] << 24 | (__u32)th[9] << 16 | (__u32)th[10] << 8 | th[11];
	seg->doff = (th[12] >> 4) * 4;
	seg->flags = th[13];
	seg->window = (__u16)((__u16)th[14] << 8 | th[15]);
	if (seg->doff < 20 || l4_len < seg->doff)
		return -1;
	seg->payload = (__u16)(l4_len - seg->doff);
	return 0;
}

/*
 * Walking TCP options is a loop whose step depends on the data; unrolled or
 * as a bounded loop the verifier explores every path through it and gives
 * up.  bpf_loop() has it check one step instead.  The buffer has 64 bytes for
 * 40 of options so that indexes masked with 63 stay provably inside.
 */
struct mss_walk {
	__u8  opt[64];
	__u32 optlen;
	__u32 i;
	__u32 mss;
};

static long mss_walk_step(__u32 round, void *ctx)
{
	struct mss_walk *w = ctx;
	__u32 i = w->i;
	__u8 kind, len;

	(void)round;
	if (i >= w->optlen)
		return 1;
	kind = w->opt[i & 63];
	if (kind == TCPOPT_EOL)
		return 1;
	if (kind == TCPOPT_NOP) {
		w->i = i + 1;
		return 0;
	}
	if (i + 2 > w->optlen)
		return 1;
	len = w->opt[(i + 1) & 63];
	if (len < 2 || i + len > w->optlen)
		return 1;
	if (kind == TCPOPT_MSS && len == 4) {
		w->mss = (__u32)w->opt[(i + 2) & 63] << 8 | w->opt[(i + 3) & 63];
		return 1;
	}
	w->i = i + len;
	return 0;
}

/* The MSS option of a SYN, or the RFC default when it has none. */
static __always_inline __u32 seg_mss(struct __sk_buff *skb, const struct geofw_seg *seg)
{
	struct mss_walk w = { .mss = TCP_DEFAULT_MSS };
	__u64 n;

	/* No options, or more than a TCP header holds: the default. */
	if (seg->doff <= 20 || seg->doff > 20 + TCP_MAX_OPTLEN)
		return TCP_DEFAULT_MSS;
	n = helper_size((__u64)seg->doff - 21, TCP_MAX_OPTLEN);
	w.optlen = (__u32)n;
	if (bpf_skb_load_bytes(skb, seg->l4_off + 20, w.opt, n))
		return TCP_DEFAULT_MSS;
	/* Each step consumes at least one byte: optlen steps suffice. */
	bpf_loop(TCP_MAX_OPTLEN, mss_walk_step, &w, 0);
	return w.mss;
}

/*
 * Rewrite skb into the reply r to seg, carrying r->data_len bytes of the
 * response (GEOFW_HTTP403_MAX bytes of map value) from r->data_off, and send
 * it back out.  Returns TC_ACT_REDIRECT, or -1 when a helper failed (the skb
 * may be half rewritten: drop it).
 */
static __always_inline int reply_send(struct __sk_buff *skb, const struct geofw_seg *seg,
				      const struct geofw_reply *r, void *response)
{
	const __u64 wflags = BPF_F_RECOMPUTE_CSUM | BPF_F_INVALIDATE_HASH;
	__u32 l3 = seg->l3_off, iplen, tcplen, l4, tot;
	struct reply_tcp tcp = {};
	__u8 mac[12], tmp[6];
	__u64 sum = 0;
	__u32 i;

	iplen = seg->ipv6 ? GEOFW_IPV6_HLEN : GEOFW_IPV4_HLEN;
	tcplen = r->mss_opt ? 24 : 20;
	l4 = l3 + iplen;
	tot = l4 + tcplen + r->data_len;

	tcp.sport = seg->dport_be;
	tcp.dport = seg->sport_be;
	tcp.seq = bpf_htonl(r->seq);
	tcp.ack = bpf_htonl(r->ack);
	tcp.doff = (__u8)(tcplen / 4) << 4;
	tcp.flags = r->flags;
	tcp.window = r->flags & TCP_FLAG_RST ? 0 : bpf_htons(REPLY_WINDOW);
	if (r->mss_opt) {
		__u16 mss = seg->ipv6 ? REPLY_MSS_V6 : REPLY_MSS_V4;

		tcp.opt[0] = TCPOPT_MSS;
		tcp.opt[1] = 4;
		tcp.opt[2] = (__u8)(mss >> 8);
		tcp.opt[3] = (__u8)mss;
	}

	if (bpf_skb_load_bytes(skb, 0, mac, sizeof(mac)))
		return -1;
	__builtin_memcpy(tmp, mac, 6);
	__builtin_memcpy(mac, mac + 6, 6);
	__builtin_memcpy(mac + 6, tmp, 6);

	if (bpf_skb_change_tail(skb, tot, 0) ||
	    bpf_skb_store_bytes(skb, 0, mac, sizeof(mac), wflags))
		return -1;

	/* IP header, and the address part of the TCP pseudo-header sum. */
	if (seg->ipv6) {
		struct reply_ip6 ip6 = {
			.ver_tc_flow = bpf_htonl(0x60000000),
			.payload_len = bpf_htons((__u16)(tcplen + r->data_len)),
			.nexthdr = GEOFW_IPPROTO_TCP,
			.hop_limit = REPLY_TTL,
		};

		__builtin_memcpy(ip6.saddr, seg->daddr, 16);
		__builtin_memcpy(ip6.daddr, seg->saddr, 16);
		sum = bpf_csum_diff(NULL, 0, (__be32 *)ip6.saddr, 32, 0);
		if (bpf_skb_store_bytes(skb, l3, &ip6, sizeof(ip6), wflags))
			return -1;
	} else {
		struct reply_ip4 ip4 = {
			.ver_ihl = 0x45,
			.tot_len = bpf_htons((__u16)(iplen + tcplen + r->data_len)),
			.frag_off = bpf_htons(0x4000),	/* DF */
			.ttl = REPLY_TTL,
			.protocol = GEOFW_IPPROTO_TCP,
		};

		__builtin_memcpy(ip4.saddr, seg->daddr, 4);
		__builtin_memcpy(ip4.daddr, seg->saddr, 4);
		ip4.check = csum_fold32(bpf_csum_diff(NULL, 0, (__be32 *)&ip4, sizeof(ip4), 0));
		sum = bpf_csum_diff(NULL, 0, (__be32 *)ip4.saddr, 8, 0);
		if (bpf_skb_store_bytes(skb, l3, &ip4, sizeof(ip4), wflags))
			return -1;
	}
	/* Pseudo-header protocol and length words, in wire order like the rest. */
	sum += bpf_htons(GEOFW_IPPROTO_TCP) + bpf_htons((__u16)(tcplen + r->data_len));

	/* Payload, a chunk at a time; every chunk starts at an offset that is a
	 * multiple of 4 from the TCP header, so 32-bit partial sums add up. */
	if (r->data_len) {
		struct bpf_dynptr dp;
		struct reply_chunk *c;
		__u32 zero = 0;
		__u8 *buf;

		c = bpf_map_lookup_elem(&gfw_reply_chunk, &zero);
		if (!c || !response || bpf_dynptr_from_mem(response, GEOFW_HTTP403_MAX, 0, &dp))
			return -1;
		buf = c->b;
		/* Unrolled, 64-bit: each chunk's offset is a constant and its
		 * size a bounded value the verifier can follow to the helpers. */
#pragma unroll
		for (i = 0; i < REPLY_MAX_CHUNKS; i++) {
			__u64 done = i * REPLY_CHUNK, n, len = r->data_len;

			if (done >= len)
				break;
			n = helper_size(len - done - 1, REPLY_CHUNK);
			/* Zero tail: the sum runs over whole 32-bit words. */
			__builtin_memset(buf, 0, sizeof(c->b));
			if (bpf_dynptr_read(buf, (__u32)n, &dp, (__u32)(r->data_off + done), 0))
				return -1;
			sum += bpf_csum_diff(NULL, 0, (__be32 *)buf, (__u32)((n + 3) & ~3ull), 0);
			if (bpf_skb_store_bytes(skb, l4 + tcplen + (__u32)done, buf, (__u32)n, wflags))
				return -1;
		}
	}

	sum += bpf_csum_diff(NULL, 0, (__be32 *)&tcp, tcplen, 0);
	tcp.check = csum_fold32(sum);
	if (bpf_skb_store_bytes(skb, l4, &tcp, tcplen, wflags))
		return -1;

	return bpf_redirect(skb->ifindex, 0);
}

#endif
