/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The 403 page a blocked client gets: which page (reason class × country,
 * gfw_resp_select) and its placeholders filled per response (include/geofw.h
 * "403 pages").  Fields have fixed widths, padded with spaces, so the page's
 * length and Content-Length never depend on the values.
 *
 * A page with placeholders is copied into a per-CPU scratch buffer and the
 * values written over its fields; reply.h then sends a slice of that buffer
 * exactly as it sends a static page.  Every value is a function of the
 * packet, the XDP verdict in the metadata and the clock's minute, so a
 * retransmitted segment carries the same bytes unless a minute ended in
 * between; segments never end inside a field (responder.h), so a client
 * never assembles one field from two different answers.
 */
#ifndef GEOFW_PAGE_H
#define GEOFW_PAGE_H

#include "geofw.h"
#include "reply.h"
#include "refcode.h"

#define VAL_W		64	/* per value in the scratch: indexes masked with 63 */

struct addr_fmt {
	__u32 g[8];		/* IPv6 groups, or the 4 octets */
	__u32 best_at, best;	/* IPv6: the zero run written as "::" */
	__u32 pos, run;
	__u8  out[64];
};

struct resp_scratch {
	__u8 data[GEOFW_HTTP403_MAX];
	__u8 val[8][VAL_W];		/* by enum geofw_resp_field_kind */
	struct addr_fmt fmt;
};

/* Per-CPU buffer the page is rendered in (not pinned: nothing to keep). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct resp_scratch);
} gfw_resp_scratch SEC(".maps");

/* What the verdict says about the client, for the page. */
struct page_input {
	__u8  cls;		/* enum geofw_resp_class */
	__u8  country_id;
	__u8  pad[2];
	__u32 subject;		/* rule id, or the AS number for asn */
};

/*
 * Address text.  The formatting state lives in the scratch map value, and a
 * compiler barrier ends each loop step: the verifier reads it back as an
 * unknown number, so the paths of one step (digit counts, "::") meet again
 * at the next instead of multiplying — kept in registers, 8 groups of
 * choices were more than its million instructions.  The loops are unrolled:
 * as loops, the compiler placed a latch before its header, reached by
 * falling through, which Linux 6.1's verifier (Debian 12's) rejects as a
 * back-edge; unrolled, the program also verifies in fewer instructions
 * (geofw_tc 509,728 -> 482,790 on 6.18).
 */
static __always_inline char hex_digit(__u32 x)
{
	x &= 15;
	return (char)(x < 10 ? '0' + x : 'a' + x - 10);
}

static __always_inline void out_put(struct addr_fmt *f, char c)
{
	__u32 pos = f->pos;

	f->out[pos & 63] = (__u8)c;
	f->pos = (pos + 1) & 63;
}

static __always_inline void fmt_v4(struct addr_fmt *f)
{
	__u32 i, x;

#pragma unroll
	for (i = 0; i < 4; i++) {
		x = f->g[i & 7] & 0xff;
		if (i)
			out_put(f, '.');
		if (x >= 100)
			out_put(f, (char)('0' + x / 100));
		if (x >= 10)
			out_put(f, (char)('0' + x / 10 % 10));
		out_put(f, (char)('0' + x % 10));
		asm volatile("" ::: "memory");
	}
}

static __always_inline void fmt_v6(struct addr_fmt *f)
{
	__u32 i, x;

	f->best = 0;
	f->best_at = 8;
	f->run = 0;
#pragma unroll
	for (i = 0; i < 8; i++) {
		if (f->g[i & 7]) {
			f->run = 0;
		} else {
			f->run = f->run + 1;
			if (f->run > f->best && f->run >= 2) {
				f->best = f->run;
				f->best_at = i + 1 - f->run;
			}
		}
		asm volatile("" ::: "memory");
	}
#pragma unroll
	for (i = 0; i < 8; i++) {
		__u32 at = f->best_at, len = f->best;

		x = f->g[i & 7] & 0xffff;
		if (i >= at && i < at + len) {
			if (i == at) {
				out_put(f, ':');
				out_put(f, ':');
			}
		} else {
			if (x >= 0x1000)
				out_put(f, hex_digit(x >> 12));
			if (x >= 0x100)
				out_put(f, hex_digit(x >> 8));
			if (x >= 0x10)
				out_put(f, hex_digit(x >> 4));
			out_put(f, hex_digit(x));
			if (i < 7 && i + 1 != at)
				out_put(f, ':');
		}
		asm volatile("" ::: "memory");
	}
}

/*
 * RFC 5952 text of the client's address: IPv4 dotted; IPv6 in lower-case
 * hex without leading zeros, the first longest run of two or more zero
 * groups as "::", and ::ffff:a.b.c.d for a v4-mapped one.  Space-padded.
 */
static __noinline void fmt_addr(struct addr_fmt *f, __u8 *v, const struct geofw_seg *seg)
{
	const __u8 *a = seg->saddr;
	__u32 i;

	f->pos = 0;
	if (!seg->ipv6) {
		for (i = 0; i < 4; i++)
			f->g[i] = a[i];
		fmt_v4(f);
	} else if (!(a[0] | a[1] | a[2] | a[3] | a[4] | a[5] | a[6] | a[7] | a[8] | a[9]) &&
		   a[10] == 0xff && a[11] == 0xff) {
		__builtin_memcpy(f->out, "::ffff:", 7);
		f->pos = 7;
		for (i = 0; i < 4; i++)
			f->g[i] = a[12 + i];
		fmt_v4(f);
	} else {
		for (i = 0; i < 8; i++)
			f->g[i] = (__u32)a[2 * i] << 8 | a[2 * i + 1];
		fmt_v6(f);
	}
	asm volatile("" ::: "memory");
	{
		__u32 n = f->pos;

#pragma unroll
		for (i = 0; i < GEOFW_RESP_FIELD_MAX; i++)
			v[i] = i < n ? f->out[i] : ' ';
	}
}

/* "YYYY-MM-DD HH:MM UTC" of a UNIX time (civil_from_days, H. Hinnant). */
static __always_inline void fmt_time(__u8 *v, __u64 unix_s)
{
	__u64 days = unix_s / 86400, sod = unix_s % 86400;
	__u64 z = days + 719468, era = z / 146097, doe = z - era * 146097;
	__u64 yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	__u64 y = yoe + era * 400, doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	__u64 mp = (5 * doy + 2) / 153, d = doy - (153 * mp + 2) / 5 + 1;
	__u64 m = mp < 10 ? mp + 3 : mp - 9, h = sod / 3600, mi = sod / 60 % 60;

	y += m <= 2;
	v[0] = (__u8)('0' + y / 1000 % 10);
	v[1] = (__u8)('0' + y / 100 % 10);
	v[2] = (__u8)('0' + y / 10 % 10);
	v[3] = (__u8)('0' + y % 10);
	v[4] = '-';
	v[5] = (__u8)('0' + m / 10);
	v[6] = (__u8)('0' + m % 10);
	v[7] = '-';
	v[8] = (__u8)('0' + d / 10);
	v[9] = (__u8)('0' + d % 10);
	v[10] = ' ';
	v[11] = (__u8)('0' + h / 10);
	v[12] = (__u8)('0' + h % 10);
	v[13] = ':';
	v[14] = (__u8)('0' + mi / 10);
	v[15] = (__u8)('0' + mi % 10);
	__builtin_memcpy(v + 16, " UTC", 4);
}

static __always_inline void fmt_ref(__u8 *v, __u64 code)
{
	__u32 i;

#pragma unroll
	for (i = 0; i < GEOFW_REF_LEN; i++)
		v[i] = (__u8)ref_digit((__u32)(code >> (5 * (GEOFW_REF_LEN - 1 - i))));
}

/* Compute the values of the kinds the page uses.  A function of its own
 * (a BPF subprogram): its stack is not added to the responder's. */
static __noinline void page_values(struct resp_scratch *s, const struct geofw_resp_page *page,
					const struct geofw_resp_pages_state *st,
					const struct geofw_seg *seg, const struct page_input *in)
{
	__u32 kinds = page->field_kinds, cid = in->country_id, cls = in->cls & 7;
	__u64 unix_s = (__u64)((__s64)bpf_ktime_get_boot_ns() + st->utc_offset_ns) / 1000000000ull;

	if (kinds & (1u << GEOFW_FIELD_ADDR))
		fmt_addr(&s->fmt, s->val[GEOFW_FIELD_ADDR], seg);
	if (kinds & (1u << GEOFW_FIELD_COUNTRY)) {
		s->val[GEOFW_FIELD_COUNTRY][0] = (__u8)st->country_code[cid & 0xff][0];
		s->val[GEOFW_FIELD_COUNTRY][1] = (__u8)st->country_code[cid & 0xff][1];
	}
	if (kinds & (1u << GEOFW_FIELD_REASON))
		__builtin_memcpy(s->val[GEOFW_FIELD_REASON], st->class_name[cls],
				 GEOFW_FIELD_W_REASON);
	if (kinds & (1u << GEOFW_FIELD_TIME))
		fmt_time(s->val[GEOFW_FIELD_TIME], unix_s);
	if (kinds & (1u << GEOFW_FIELD_REF)) {
		__u8 *v = s->val[GEOFW_FIELD_REF];

		if (st->ref_key[0] | st->ref_key[1])
			fmt_ref(v, ref_make(st->ref_key[0], st->ref_key[1], cls, cid,
					    (__u32)(unix_s / 60), in->subject));
		else
			__builtin_memset(v, '-', GEOFW_REF_LEN);	/* no key yet */
	}
}

/*
 * The page's bytes with every field filled, in the per-CPU scratch buffer
 * (a static page is copied too: one path for the verifier, and ~50 ns).
 * NULL on a helper failure.
 */
static __always_inline void *page_render(const struct geofw_resp_page *page,
					 const struct geofw_resp_pages_state *st,
					 const struct geofw_seg *seg, const struct page_input *in)
{
	struct resp_scratch *s;
	struct bpf_dynptr dp;
	__u32 zero = 0, i, j;

	s = bpf_map_lookup_elem(&gfw_resp_scratch, &zero);
	if (!s || bpf_dynptr_from_mem((void *)page->data, sizeof(page->data), 0, &dp) ||
	    bpf_dynptr_read(s->data, sizeof(s->data), &dp, 0, 0))
		return NULL;
	if (!page->n_fields)
		return s->data;
	page_values(s, page, st, seg, in);
	for (i = 0; i < GEOFW_RESP_MAX_FIELDS; i++) {
		const struct geofw_resp_field *f = &page->field[i];
		__u32 off = f->off, w = f->width;
		const __u8 *v;

		if (i >= page->n_fields)
			break;
		/* user space keeps fields inside; the verifier wants it seen */
		if (off > GEOFW_HTTP403_MAX - GEOFW_RESP_FIELD_MAX || w > GEOFW_RESP_FIELD_MAX)
			continue;
		v = s->val[f->kind & 7];
#pragma unroll
		for (j = 0; j < GEOFW_RESP_FIELD_MAX; j++)
			if (j < w)
				s->data[off + j] = v[j];
	}
	return s->data;
}

#endif
