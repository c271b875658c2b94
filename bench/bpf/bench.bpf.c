// SPDX-License-Identifier: GPL-2.0-only
/*
 * Benchmark programs, run through BPF_PROG_RUN by bench/geofw-bench.c.
 *
 * Every program draws its source address from bench_keys (a table filled by
 * the harness, walked by a counter) and writes it into the frame before
 * doing its work, so a million repeats see a million lookups over many
 * addresses rather than one cached one.  bench_noop does only the drawing:
 * it is the baseline the others are measured against.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "geofw.h"
#include "../../maps/policy.bpf.h"
#include "../../maps/geo.bpf.h"
#include "../../maps/stats.bpf.h"
#include "xdp_main.h"

char LICENSE[] SEC("license") = "GPL";

#define BENCH_KEYS 65536

struct bench_key {
	__u8 addr[16];
};

/* bench_keys[i]: the source addresses, drawn in turn. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, BENCH_KEYS);
	__type(key, __u32);
	__type(value, struct bench_key);
} bench_keys SEC(".maps");

/* bench_lpm4/6: the same geo prefixes in plain LPM tries, for contrast. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, GEOFW_MAX_GEO_V4);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct geofw_lpm_v4);
	__type(value, struct geofw_geo);
} bench_lpm4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, GEOFW_MAX_GEO_V6);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct geofw_lpm_v6);
	__type(value, struct geofw_geo);
} bench_lpm6 SEC(".maps");

/*
 * Prototype (issue 17 measurement): the data plane's IPv4 levels (strides
 * 16/8/8, include/geofw.h) in fixed-size plain arrays, every lookup inlined
 * and no outer map: what the calls into the per-database rows and chunks
 * cost (docs/design-notes.md "Per-packet cost"), with 16-bit and 32-bit /24
 * entries.  Filled by geofw-bench from the same image as the geo tables.
 */
#define BENCH_G3_NODES 16384
#define BENCH_G3_CHUNKS 32768

struct bench_g3_top {
	__u16 e[65536];
};

struct bench_g3_node {
	__u16 e[256];
};

/* The same with 32-bit /24 entries (twice the node memory). */
struct bench_g3_wnode {
	__u32 e[256];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, BENCH_G3_NODES);
	__type(key, __u32);
	__type(value, struct bench_g3_wnode);
} bench_g3_wnode SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bench_g3_top);
} bench_g3_top SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, BENCH_G3_NODES);
	__type(key, __u32);
	__type(value, struct bench_g3_node);
} bench_g3_node SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, BENCH_G3_CHUNKS);
	__type(key, __u32);
	__type(value, struct geofw_geo4_chunk);
} bench_g3_chunk SEC(".maps");

static __always_inline __u8 g3_lookup(__u32 a, const int wide)
{
	struct geofw_geo4_chunk *c;
	struct bench_g3_top *t;
	__u32 k = 0, e;

	t = bpf_map_lookup_elem(&bench_g3_top, &k);
	if (!t)
		return 0;
	e = t->e[a >> 16];
	if (e < 256)
		return (__u8)e;
	k = e - 256u;
	if (wide) {
		struct bench_g3_wnode *n = bpf_map_lookup_elem(&bench_g3_wnode, &k);

		if (!n)
			return 0;
		e = n->e[(a >> 8) & 0xff];
	} else {
		struct bench_g3_node *n = bpf_map_lookup_elem(&bench_g3_node, &k);

		if (!n)
			return 0;
		e = n->e[(a >> 8) & 0xff];
	}
	if (e < 256)
		return (__u8)e;
	k = e - 256u;
	c = bpf_map_lookup_elem(&bench_g3_chunk, &k);
	return c ? c->country[a & 0xff] : 0;
}

/*
 * Prototype (issue 17, "TLB: small inner maps"): the same three levels with
 * the rows and chunks split into many small inner arrays of one
 * ARRAY_OF_MAPS each.  An array map whose whole area (312-byte header +
 * values) is at most 32 KiB (PAGE_SIZE << PAGE_ALLOC_COSTLY_ORDER) is
 * kmalloc'ed by __bpf_map_area_alloc, i.e. lies in the kernel's direct map
 * (large pages), where a bigger one is vmalloc'ed in 4-KiB pages: 63 rows
 * of 512 B or 126 chunks of 256 B per inner map.  References are sparse so
 * that no division is needed: row ref = map << 6 | index (index < 63),
 * chunk ref = map << 7 | index (index < 126).  The inner maps have one
 * size and no BPF_F_INNER_MAP, so the verifier inlines both lookups.
 */
#define BENCH_G3S_ROWS_PER_MAP 63
#define BENCH_G3S_CHUNKS_PER_MAP 126

struct g3s_row_inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, BENCH_G3S_ROWS_PER_MAP);
	__type(key, __u32);
	__type(value, struct bench_g3_node);
};

struct g3s_chunk_inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, BENCH_G3S_CHUNKS_PER_MAP);
	__type(key, __u32);
	__type(value, struct geofw_geo4_chunk);
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bench_g3_top);
} bench_g3s_top SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__array(values, struct g3s_row_inner);
} bench_g3s_rows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 512);
	__type(key, __u32);
	__array(values, struct g3s_chunk_inner);
} bench_g3s_chunks SEC(".maps");

static __always_inline __u8 g3s_lookup(__u32 a)
{
	struct geofw_geo4_chunk *c;
	struct bench_g3_node *n;
	struct bench_g3_top *t;
	__u32 k = 0, e;
	void *inner;

	t = bpf_map_lookup_elem(&bench_g3s_top, &k);
	if (!t)
		return 0;
	e = t->e[a >> 16];
	if (e < 256)
		return (__u8)e;
	e -= 256u;
	k = e >> 6;
	inner = bpf_map_lookup_elem(&bench_g3s_rows, &k);
	if (!inner)
		return 0;
	k = e & 63;
	n = bpf_map_lookup_elem(inner, &k);
	if (!n)
		return 0;
	e = n->e[(a >> 8) & 0xff];
	if (e < 256)
		return (__u8)e;
	e -= 256u;
	k = e >> 7;
	inner = bpf_map_lookup_elem(&bench_g3s_chunks, &k);
	if (!inner)
		return 0;
	k = e & 127;
	c = bpf_map_lookup_elem(inner, &k);
	return c ? c->country[a & 0xff] : 0;
}

/*
 * Prototype (issue 17): the same three levels with a smaller working set,
 * to measure whether the walk leaves DRAM when the rows and chunks fit in
 * the cache this VM gets (docs/design-notes.md "TLB: small inner maps").
 * A /16 of few runs is one 64-byte line of up to 21 runs (start byte,
 * 16-bit entry), else a 512-byte row; a /24 of few runs is one 32-byte
 * line of up to 16 runs (start byte, id), else a 256-byte chunk.  Unused
 * runs repeat the last one.  Each level is one big value so that a line
 * can be 64-byte aligned (the value starts 312 bytes into the map).
 * Entries: < 256 id; top: 256 + line row, 256 + 16384 + full row; row:
 * 256 + line chunk, 256 + 32768 + full chunk.
 */
#define G4L_ROWL 16384		/* 64-byte row lines */
#define G4L_ROWF 4096		/* 512-byte rows */
#define G4L_CHL 32768		/* 32-byte chunk lines */
#define G4L_CHF 8192		/* 256-byte chunks */

struct g4l_rowl {
	__u8 start[21];
	__u8 pad;
	__u16 e[21];
};

struct g4l_chl {
	__u8 start[16];
	__u8 id[16];
};

struct bench_g4l_rows {
	__u8 pad[8];		/* 312 + 8: 64-byte aligned lines */
	struct g4l_rowl l[G4L_ROWL];
	struct bench_g3_node f[G4L_ROWF];
};

struct bench_g4l_chunks {
	__u8 pad[8];
	struct g4l_chl l[G4L_CHL];
	struct geofw_geo4_chunk f[G4L_CHF];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bench_g3_top);
} bench_g4l_top SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bench_g4l_rows);
} bench_g4l_rows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bench_g4l_chunks);
} bench_g4l_chunks SEC(".maps");

/* The entry of the last run starting at or before b: branchless select. */
#define G4L_SCAN(line, vals, n, b, r)						\
	do {									\
		int _i;								\
		(r) = (line)->vals[0];						\
		_Pragma("unroll")						\
		for (_i = 1; _i < (n); _i++) {					\
			__u32 _d = (__u32)((__s32)((b) - (__u32)(line)->start[_i]) >> 31); \
			(r) = ((line)->vals[_i] & ~_d) | ((r) & _d);		\
		}								\
	} while (0)

static __always_inline __u8 g4l_lookup(__u32 a)
{
	struct bench_g4l_chunks *cs;
	struct bench_g4l_rows *rs;
	struct bench_g3_top *t;
	__u32 k = 0, e, b;

	t = bpf_map_lookup_elem(&bench_g4l_top, &k);
	rs = bpf_map_lookup_elem(&bench_g4l_rows, &k);
	cs = bpf_map_lookup_elem(&bench_g4l_chunks, &k);
	if (!t || !rs || !cs)
		return 0;
	e = t->e[a >> 16];
	if (e < 256)
		return (__u8)e;
	e -= 256;
	b = (a >> 8) & 0xff;
	if (e < G4L_ROWL) {
		struct g4l_rowl *l = &rs->l[e];

		G4L_SCAN(l, e, 21, b, e);
	} else {
		e -= G4L_ROWL;
		if (e >= G4L_ROWF)
			return 0;
		e = rs->f[e].e[b];
	}
	if (e < 256)
		return (__u8)e;
	e -= 256;
	b = a & 0xff;
	if (e < G4L_CHL) {
		struct g4l_chl *l = &cs->l[e];
		__u32 r;

		G4L_SCAN(l, id, 16, b, r);
		return (__u8)r;
	}
	e -= G4L_CHL;
	if (e >= G4L_CHF)
		return 0;
	return cs->f[e].country[b];
}

const volatile __u32 bench_mask = BENCH_KEYS - 1;
__u32 bench_idx;

/* Write the next key as the frame's source: IPv4 or IPv6 frame, no VLAN. */
static __always_inline int draw(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 idx = bench_idx++ & bench_mask;
	struct bench_key *k = bpf_map_lookup_elem(&bench_keys, &idx);
	__u8 *p = data;

	if (!k || data + 14 + 40 > data_end)
		return -1;
	if (p[12] == 0x08)
		__builtin_memcpy(p + 14 + 12, k->addr, 4);
	else
		__builtin_memcpy(p + 14 + 8, k->addr, 16);
	return 0;
}

SEC("xdp")
int bench_noop(struct xdp_md *ctx)
{
	return draw(ctx) ? XDP_ABORTED : XDP_PASS;
}

SEC("xdp")
int bench_parse(struct xdp_md *ctx)
{
	struct geofw_pkt pkt = {};

	if (draw(ctx))
		return XDP_ABORTED;
	geofw_parse((void *)(long)ctx->data, (void *)(long)ctx->data_end, &pkt);
	return pkt.family ? XDP_PASS : XDP_DROP;
}

/* The start of a lookup program: the config, a key drawn, the frame parsed.
 * -1: go on; else the verdict to return. */
static __always_inline int lookup_start(struct xdp_md *ctx, struct geofw_pkt *pkt,
					struct geofw_config **cfg)
{
	__u32 zero = 0;

	*cfg = bpf_map_lookup_elem(&gfw_config, &zero);
	if (!*cfg || draw(ctx))
		return XDP_ABORTED;
	if (geofw_parse((void *)(long)ctx->data, (void *)(long)ctx->data_end, pkt))
		return XDP_DROP;
	return -1;
}

SEC("xdp")
int bench_geo(struct xdp_md *ctx)
{
	struct geofw_pkt pkt = {};
	struct geofw_config *cfg;
	int ret = lookup_start(ctx, &pkt, &cfg);

	if (ret >= 0 || !cfg)
		return ret >= 0 ? ret : XDP_ABORTED;
	return (pkt.family == 4 ? geo_country_v4(pkt.saddr, cfg->geo_slot & 1) :
				  geo_country_v6(pkt.saddr, cfg->geo_slot & 1)) ? XDP_PASS : XDP_DROP;
}

/* The start of a prototype's run: a key drawn, the frame parsed, its IPv4
 * source (host order) in *a.  -1: go on; else the verdict to return. */
static __always_inline int proto_start(struct xdp_md *ctx, __u32 *a)
{
	struct geofw_pkt pkt = {};

	if (draw(ctx))
		return XDP_ABORTED;
	if (geofw_parse((void *)(long)ctx->data, (void *)(long)ctx->data_end, &pkt))
		return XDP_DROP;
	if (pkt.family != 4)
		return XDP_PASS;
	__builtin_memcpy(a, pkt.saddr, 4);
	*a = bpf_ntohl(*a);
	return -1;
}

static __always_inline int geo3_run(struct xdp_md *ctx, const int wide)
{
	__u32 a;
	int ret = proto_start(ctx, &a);

	if (ret >= 0)
		return ret;
	return g3_lookup(a, wide) ? XDP_PASS : XDP_DROP;
}

SEC("xdp")
int bench_geo3(struct xdp_md *ctx)
{
	return geo3_run(ctx, 0);
}

SEC("xdp")
int bench_geo3w(struct xdp_md *ctx)
{
	return geo3_run(ctx, 1);
}

/* The run-list prototype against the fixed arrays for one address (host
 * order): geofw-bench checks that they agree before it measures. */
__u32 bench_check_addr, bench_check_g3, bench_check_g4l;

SEC("xdp")
int bench_geo4l_check(struct xdp_md *ctx __attribute__((unused)))
{
	bench_check_g3 = g3_lookup(bench_check_addr, 0);
	bench_check_g4l = g4l_lookup(bench_check_addr);
	return XDP_PASS;
}

SEC("xdp")
int bench_geo4l(struct xdp_md *ctx)
{
	__u32 a;
	int ret = proto_start(ctx, &a);

	if (ret >= 0)
		return ret;
	return g4l_lookup(a) ? XDP_PASS : XDP_DROP;
}

/*
 * The machine's memory latency as the data plane sees it: bench_mem_lines is a
 * 16 MiB array of 64-byte lines holding random line numbers; each packet
 * hashes its source into the first bench_mem_mask + 1 lines and follows
 * bench_mem_hops (1 or 2) dependent loads.  Rows of geofw-bench put the
 * table walks' figures beside what one random load into N MiB costs.  With
 * bench_mem_cas, the packet also reads the clock and moves a word of the
 * line it reached with compare-and-exchange: what the rate limiter must do
 * at least for a source whose state is not in its CPU's cache (the GCRA
 * word of gfw_rl_sets, a 2 MiB table).
 */
#define BENCH_MEM_LINES (16 << 20 >> 6)
struct bench_line {
	__u32 next[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, BENCH_MEM_LINES);
	__type(key, __u32);
	__type(value, struct bench_line);
} bench_mem_lines SEC(".maps");

__u32 bench_mem_mask = BENCH_MEM_LINES - 1, bench_mem_hops = 1, bench_mem_cas;

SEC("xdp")
int bench_mem(struct xdp_md *ctx)
{
	struct bench_line *l;
	__u32 a, i;
	int ret = proto_start(ctx, &a);

	if (ret >= 0)
		return ret;
	i = (a * 2654435761u ^ a >> 15) & bench_mem_mask;
	l = bpf_map_lookup_elem(&bench_mem_lines, &i);
	if (!l)
		return XDP_ABORTED;
	if (bench_mem_hops > 1) {
		i = l->next[a & 15] & bench_mem_mask;
		l = bpf_map_lookup_elem(&bench_mem_lines, &i);
		if (!l)
			return XDP_ABORTED;
	}
	if (bench_mem_cas) {
		__u64 *w = (__u64 *)&l->next[14], old = *(volatile __u64 *)w;
		__u64 now = bpf_ktime_get_ns();

		/* bit 0 of next[14] and next[15]: still line numbers */
		if (__sync_val_compare_and_swap(w, old, old ^ ((now & 1) * 0x100000001ull)) != old)
			return XDP_ABORTED;
	}
	return l->next[0] & 1 ? XDP_PASS : XDP_DROP;
}

SEC("xdp")
int bench_geo3s(struct xdp_md *ctx)
{
	__u32 a;
	int ret = proto_start(ctx, &a);

	if (ret >= 0)
		return ret;
	return g3s_lookup(a) ? XDP_PASS : XDP_DROP;
}

/* The frame length as the helper gives it, against data_end - data (what
 * a program without frags support may use): the helper call's cost. */
__u64 bench_len_sum;

SEC("xdp")
int bench_len_helper(struct xdp_md *ctx)
{
	if (draw(ctx))
		return XDP_ABORTED;
	bench_len_sum += bpf_xdp_get_buff_len(ctx);
	return XDP_PASS;
}

SEC("xdp")
int bench_len_direct(struct xdp_md *ctx)
{
	if (draw(ctx))
		return XDP_ABORTED;
	bench_len_sum += (__u64)((long)ctx->data_end - (long)ctx->data);
	return XDP_PASS;
}

SEC("xdp")
int bench_lpm(struct xdp_md *ctx)
{
	struct geofw_pkt pkt = {};
	struct geofw_geo *g;

	if (draw(ctx))
		return XDP_ABORTED;
	if (geofw_parse((void *)(long)ctx->data, (void *)(long)ctx->data_end, &pkt))
		return XDP_DROP;
	if (pkt.family == 4) {
		struct geofw_lpm_v4 key = { .prefixlen = 32 };

		__builtin_memcpy(key.addr, pkt.saddr, 4);
		g = bpf_map_lookup_elem(&bench_lpm4, &key);
	} else {
		struct geofw_lpm_v6 key = { .prefixlen = 128 };

		__builtin_memcpy(key.addr, pkt.saddr, 16);
		g = bpf_map_lookup_elem(&bench_lpm6, &key);
	}
	return g ? XDP_PASS : XDP_DROP;
}

/* The AS rule lookup of the decision: class table + class record. */
SEC("xdp")
int bench_asn(struct xdp_md *ctx)
{
	struct geofw_pkt pkt = {};
	struct geofw_config *cfg;
	int ret = lookup_start(ctx, &pkt, &cfg);

	if (ret >= 0 || !cfg)
		return ret >= 0 ? ret : XDP_ABORTED;
	return asn_lookup(&pkt, cfg) ? XDP_DROP : XDP_PASS;
}

/* The whole firewall, exactly the code of geofw_xdp. */
SEC("xdp")
int bench_full(struct xdp_md *ctx)
{
	if (draw(ctx))
		return XDP_ABORTED;
	return geofw_xdp_run(ctx);
}

/*
 * What a call costs: bench_call calls a global (noinline) function four
 * times a packet.  On a kernel that sends every return through a return
 * thunk (the SRSO "Safe RET" mitigation of AMD Zen, retbleed's on Intel),
 * a call and its return cost far more than the few instructions they are:
 * helper calls and non-inlined map lookups pay it too.
 */
__attribute__((noinline)) int bench_callee(__u64 a, __u64 b)
{
	return (int)((a ^ b) & 1);
}

SEC("xdp")
int bench_call(struct xdp_md *ctx)
{
	int r = 0, i;

	if (draw(ctx))
		return XDP_ABORTED;
	for (i = 0; i < 4; i++)
		r += bench_callee((__u64)i, bench_idx);
	return r & 0x100 ? XDP_DROP : XDP_PASS;
}
