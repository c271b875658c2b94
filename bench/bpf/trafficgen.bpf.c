// SPDX-License-Identifier: GPL-2.0-only
/*
 * The bench's packet generator and its reference receiver.
 *
 * tg_send runs through BPF_PROG_RUN with BPF_F_TEST_XDP_LIVE_FRAMES on the
 * sending veth (bench/trafficgen.c): each frame of the batch gets the next
 * source address of tg_sources and leaves with XDP_TX, which the test runner
 * turns into a transmit out of that veth, i.e. a receive on its peer.  The
 * frame memory is recycled between batches, so the program writes the whole
 * source and its checksum every time instead of patching what it finds.
 *
 * tg_sink is the receiver that does nothing but drop: the upper bound every
 * other receiver of bench/veth.sh is compared with.  tg_lpm_sink drops what
 * a plain BPF LPM trie of the blocked prefixes matches: what geofw would
 * cost without its flat /24 table.  tg_mem_sink drops every IPv4 frame after
 * tg_mem_hops dependent loads at random lines (by a hash of the source) of
 * the first tg_mem_lines of tg_mem: what a cache miss into a table of that
 * size costs on this path, the reference for a table walk's figure.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "../trafficgen.h"

char LICENSE[] SEC("license") = "GPL";

#define ETH_HLEN_BYTES	14
#define ETH_P_IP_VALUE	0x0800	/* a macro, not in vmlinux.h */

/* tg_sources[i]: the source address of frame i (mod the table size). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, TG_MAX_SOURCES);
	__type(key, __u32);
	__type(value, struct tg_source);
} tg_sources SEC(".maps");

/* tg_lpm: the blocked prefixes, for tg_lpm_sink. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, TG_MAX_LPM);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct tg_lpm_key);
	__type(value, __u8);
} tg_lpm SEC(".maps");

/* tg_sink_drops[0]: frames tg_sink or tg_lpm_sink dropped, per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} tg_sink_drops SEC(".maps");

/* tg_mem: 64-byte lines of random line numbers, for tg_mem_sink (sized
 * by trafficgen sink --mem before load: one entry otherwise). */
struct tg_line {
	__u32 next[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tg_line);
} tg_mem SEC(".maps");

/* Lines of tg_mem in use - 1 (a power of two minus one) and the loads a
 * frame makes (1 or 2), set before load. */
const volatile __u32 tg_mem_mask = 0;
const volatile __u32 tg_mem_hops = 1;
/* Lines between two used ones (1: a contiguous table; 64: one line in each
 * 4-KiB page, the same number of lines over 64 times the pages). */
const volatile __u32 tg_mem_stride = 1;

/* Sources in use - 1 (a power of two minus one), set before load. */
const volatile __u32 tg_mask = 0;

/* Next source.  Live frames run on one CPU per BPF_PROG_RUN call, and the
 * generator makes one call at a time, so a plain counter is enough. */
__u32 tg_next;

SEC("xdp")
int tg_send(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct iphdr *ip = data + ETH_HLEN_BYTES;
	__u32 i = tg_next++ & tg_mask;
	struct tg_source *src;

	if ((void *)(ip + 1) > data_end)
		return XDP_ABORTED;
	src = bpf_map_lookup_elem(&tg_sources, &i);
	if (!src)
		return XDP_ABORTED;
	ip->saddr = src->saddr_be;
	ip->check = src->check_be;
	return XDP_TX;
}

/* Count a frame dropped, and drop it. */
static __always_inline int sink_drop(void)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&tg_sink_drops, &zero);

	if (n)
		*n += 1;
	return XDP_DROP;
}

/* The IPv4 source of a frame (network order) in *saddr_be: 0, or -1 for a
 * frame that is not IPv4. */
static __always_inline int sink_saddr(struct xdp_md *ctx, __u32 *saddr_be)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = data + ETH_HLEN_BYTES;

	if ((void *)(ip + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP_VALUE))
		return -1;
	*saddr_be = ip->saddr;
	return 0;
}

SEC("xdp")
int tg_sink(struct xdp_md *ctx)
{
	(void)ctx;
	return sink_drop();
}

SEC("xdp")
int tg_lpm_sink(struct xdp_md *ctx)
{
	struct tg_lpm_key key = { .prefixlen = 32 };

	if (sink_saddr(ctx, &key.addr_be) || !bpf_map_lookup_elem(&tg_lpm, &key))
		return XDP_PASS;
	return sink_drop();
}

SEC("xdp")
int tg_mem_sink(struct xdp_md *ctx)
{
	struct tg_line *l;
	__u32 a, i;

	if (sink_saddr(ctx, &a))
		return XDP_PASS;
	a = bpf_ntohl(a);
	i = ((a * 2654435761u ^ a >> 15) & tg_mem_mask) * tg_mem_stride;
	l = bpf_map_lookup_elem(&tg_mem, &i);
	if (!l)
		return XDP_PASS;
	if (tg_mem_hops > 1) {
		i = (l->next[a & 15] & tg_mem_mask) * tg_mem_stride;
		l = bpf_map_lookup_elem(&tg_mem, &i);
		if (!l)
			return XDP_PASS;
	}
	if (l->next[0] == ~0u)	/* never: keeps the load */
		return XDP_PASS;
	return sink_drop();
}
