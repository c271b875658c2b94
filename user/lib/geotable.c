// SPDX-License-Identifier: GPL-2.0-only
#include "geotable.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

#define FLAT4_ENTRIES (1u << 24)
#define FANOUT GEOFW_GEO6_FANOUT

/* ---- IPv4 ------------------------------------------------------------------ */

static __u32 v4_host(const __u8 *a)
{
	return (__u32)a[0] << 24 | (__u32)a[1] << 16 | (__u32)a[2] << 8 | a[3];
}

static int cmp_by_len(const void *pa, const void *pb)
{
	const struct geofw_geo_prefix *a = pa, *b = pb;

	if (a->prefixlen != b->prefixlen)
		return a->prefixlen < b->prefixlen ? -1 : 1;
	return memcmp(a->addr, b->addr, 16);
}

static int find_more4(const struct geofw_geo_image *img, __u32 key)
{
	size_t lo = 0, hi = img->n_more4;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (img->more4[mid].key < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < img->n_more4 && img->more4[lo].key == key ? (int)lo : -1;
}

static int cmp_more4(const void *pa, const void *pb)
{
	const struct geofw_geo4_more_entry *a = pa, *b = pb;

	return a->key < b->key ? -1 : a->key > b->key;
}

/*
 * Shorter prefixes first, so longer ones overwrite them (longest match).  A
 * /24 that gets a longer prefix becomes a chunk that starts as a copy of what
 * covered the /24 so far.  Chunks are created in a first pass and sorted, so
 * the second pass finds them by binary search.
 */
static int build_v4(const struct geofw_geo_prefix *in, size_t n, const struct geofw_geo_limits *lim,
		    struct geofw_geo_image *img)
{
	struct geofw_geo_prefix *p;
	size_t i, cap = 0;
	int err = 0;

	img->flat4 = calloc(FLAT4_ENTRIES, 1);
	p = malloc((n ? n : 1) * sizeof(*p));
	if (!img->flat4 || !p) {
		free(p);
		return -ENOMEM;
	}
	memcpy(p, in, n * sizeof(*p));
	qsort(p, n, sizeof(*p), cmp_by_len);

	for (i = 0; i < n; i++) {
		__u32 a = v4_host(p[i].addr), first, count;

		if (p[i].prefixlen > 32 || !p[i].country_id ||
		    p[i].country_id > GEOFW_COUNTRY_MAX_ID) {
			err = -EINVAL;
			goto out;
		}
		if (p[i].prefixlen > 24)
			break;
		first = p[i].prefixlen ? (a >> 8) & ~((1u << (24 - p[i].prefixlen)) - 1) : 0;
		count = 1u << (24 - p[i].prefixlen);
		memset(img->flat4 + first, p[i].country_id, count);
	}

	/* Chunks for the /24s that hold longer prefixes. */
	for (size_t j = i; j < n; j++) {
		__u32 key = v4_host(p[j].addr) >> 8;

		if (p[j].prefixlen > 32 || !p[j].country_id ||
		    p[j].country_id > GEOFW_COUNTRY_MAX_ID) {
			err = -EINVAL;
			goto out;
		}
		if (img->flat4[key] == GEOFW_COUNTRY_MORE)
			continue;
		if (img->n_more4 == cap) {
			void *grown;

			cap = cap ? cap * 2 : 1024;
			grown = realloc(img->more4, cap * sizeof(*img->more4));
			if (!grown) {
				err = -ENOMEM;
				goto out;
			}
			img->more4 = grown;
		}
		img->more4[img->n_more4].key = key;
		memset(img->more4[img->n_more4].chunk.country, img->flat4[key], 256);
		img->n_more4++;
		img->flat4[key] = GEOFW_COUNTRY_MORE;
	}
	/* Counted to the end, so the error says how many there are. */
	if (img->n_more4 > lim->more4) {
		err = log_err(-E2BIG, "geo tables: " GEOFW_MAP_GEO4_MORE ": the database has %zu "
			      "IPv4 /24s holding prefixes longer than /24 (%zu such prefixes); "
			      "the limit is %zu", img->n_more4, n - i, lim->more4);
		goto out;
	}
	if (img->n_more4)
		qsort(img->more4, img->n_more4, sizeof(*img->more4), cmp_more4);

	for (; i < n; i++) {
		__u32 a = v4_host(p[i].addr);
		int c = find_more4(img, a >> 8);

		memset(img->more4[c].chunk.country + (a & 0xff), p[i].country_id,
		       1u << (32 - p[i].prefixlen));
	}
out:
	free(p);
	return err;
}

/* ---- IPv6 ------------------------------------------------------------------ */

struct interval {
	__u64 start, end;	/* inclusive, upper 64 bits */
	__u8 country_id;
	__u8 more;		/* a /64 holding longer prefixes */
	__u8 len;		/* prefix length, 65 for "more" /64s */
	size_t order;		/* input order: later wins among equals */
};

static __u64 v6_hi(const __u8 *a)
{
	__u64 v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | a[i];
	return v;
}

/* Outer intervals first: by start, then longer span, then input order. */
static int cmp_interval(const void *pa, const void *pb)
{
	const struct interval *a = pa, *b = pb;

	if (a->start != b->start)
		return a->start < b->start ? -1 : 1;
	if (a->len != b->len)
		return a->len < b->len ? -1 : 1;
	return a->order < b->order ? -1 : a->order > b->order;
}

struct bounds {
	__u64 *key;
	__u8 *cc;
	size_t n, cap;
};

/* Coverage changes to cc at pos (positions only grow). */
static int bounds_set(struct bounds *b, __u64 pos, __u8 cc)
{
	if (b->n && b->key[b->n - 1] == pos) {
		b->cc[b->n - 1] = cc;
		if (b->n > 1 && b->cc[b->n - 2] == cc)
			b->n--;
		return 0;
	}
	if (b->n && b->cc[b->n - 1] == cc)
		return 0;
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 4096;
		__u64 *k = realloc(b->key, cap * sizeof(*k));
		__u8 *c;

		if (!k)
			return -ENOMEM;
		b->key = k;
		c = realloc(b->cc, cap);
		if (!c)
			return -ENOMEM;
		b->cc = c;
		b->cap = cap;
	}
	b->key[b->n] = pos;
	b->cc[b->n] = cc;
	b->n++;
	return 0;
}

static int cmp_lpm6(const void *pa, const void *pb)
{
	const struct geofw_geo6_more_entry *a = pa, *b = pb;
	int c = memcmp(a->key.addr, b->key.addr, 16);

	return c ? c : (a->key.prefixlen > b->key.prefixlen) - (a->key.prefixlen < b->key.prefixlen);
}

/* Prefixes longer than /64 go to the LPM trie, plus, for each /64 holding
 * them, that /64 with the country of what covers it (if anything). */
static int collect_more6(const struct geofw_geo_prefix *in, size_t n, const struct geofw_geo_limits *lim,
			 struct interval *iv, size_t *n_iv, struct geofw_geo_image *img)
{
	size_t i, k = 0;

	for (i = 0; i < n; i++)
		k += in[i].prefixlen > 64;
	if (!k)
		return 0;
	/* The exact count (with the /64 covers) is checked once deduplicated. */
	if (k > lim->more6)
		return log_err(-E2BIG, "geo tables: " GEOFW_MAP_GEO6_MORE ": the database has %zu "
			       "IPv6 prefixes longer than /64; the limit is %zu", k, lim->more6);
	img->more6 = calloc(k * 2, sizeof(*img->more6));
	if (!img->more6)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		struct geofw_geo6_more_entry *e;

		if (in[i].prefixlen <= 64)
			continue;
		e = &img->more6[img->n_more6++];
		e->key.prefixlen = in[i].prefixlen;
		memcpy(e->key.addr, in[i].addr, 16);
		e->country_id = in[i].country_id;
		/* One "more" interval per prefix; duplicates of a /64 are harmless. */
		iv[*n_iv] = (struct interval){ .start = v6_hi(in[i].addr), .end = v6_hi(in[i].addr),
					       .more = 1, .len = 65, .order = i };
		(*n_iv)++;
	}
	return 0;
}

/*
 * The B+-tree over the interval starts, stored level by level from the root.
 * The last leaf is padded with copies of its last key (the rank lands on a
 * copy, with the same country).  An inner node keeps the index of its last
 * child in country[0]; its unused keys are ~0 and the descent never goes
 * past that child, so a level needs no padding nodes.
 */
static int build_tree6(const struct bounds *b, const struct geofw_geo_limits *lim,
		       struct geofw_geo_image *img)
{
	size_t level_n[GEOFW_GEO6_MAX_DEPTH], total = 1, i, j, lvl;
	struct geofw_geo6_header *hdr;
	struct geofw_geo6_node *nodes;
	int depth = 1, l;

	/* level_n[0] is the leaves, level_n[depth - 1] the root. */
	level_n[0] = (b->n + FANOUT - 1) / FANOUT;
	while (level_n[depth - 1] > 1) {
		if (depth == GEOFW_GEO6_MAX_DEPTH)
			return log_err(-E2BIG, "geo tables: " GEOFW_MAP_GEO6_TREE ": the database "
				       "has %zu IPv6 intervals; a tree of depth %d holds at most "
				       "%llu", b->n, GEOFW_GEO6_MAX_DEPTH,
				       (unsigned long long)1 << (4 * GEOFW_GEO6_MAX_DEPTH));
		level_n[depth] = (level_n[depth - 1] + FANOUT - 1) / FANOUT;
		depth++;
	}
	for (l = 0; l < depth; l++)
		total += level_n[l];
	if (total > lim->tree6_nodes)
		return log_err(-E2BIG, "geo tables: " GEOFW_MAP_GEO6_TREE ": the database needs "
			       "%zu tree nodes (%zu IPv6 intervals); the limit is %zu", total, b->n,
			       lim->tree6_nodes);
	nodes = calloc(total, sizeof(*nodes));
	if (!nodes)
		return -ENOMEM;

	/* Header: where each level starts, root (tree level 0) first. */
	hdr = (struct geofw_geo6_header *)&nodes[0];
	hdr->magic = GEOFW_META_MAGIC;
	hdr->depth = (__u32)depth;
	hdr->level_start[0] = 1;
	for (l = 1; l <= depth; l++)
		hdr->level_start[l] = hdr->level_start[l - 1] + (__u32)level_n[depth - l];

	for (lvl = 0; lvl < (size_t)depth; lvl++) {
		struct geofw_geo6_node *nd = &nodes[hdr->level_start[depth - 1 - lvl]];

		for (i = 0; i < level_n[lvl]; i++) {
			for (j = 0; j < FANOUT; j++) {
				size_t k = i * FANOUT + j;

				if (lvl == 0) {
					k = k < b->n ? k : b->n - 1;
					nd[i].key[j] = b->key[k];
					nd[i].country[j] = b->cc[k];
				} else if (k < level_n[lvl - 1]) {
					nd[i].key[j] = nodes[hdr->level_start[depth - lvl] + k].key[0];
					nd[i].country[0] = (__u8)j;
				} else {
					nd[i].key[j] = ~0ull;
				}
			}
		}
	}
	img->tree6 = nodes;
	img->n_tree6 = total;
	return 0;
}

static int build_v6(const struct geofw_geo_prefix *in, size_t n, const struct geofw_geo_limits *lim,
		    struct geofw_geo_image *img)
{
	struct bounds b = {};
	struct interval *iv, *stack;
	size_t n_iv = 0, sp = 0, i;
	int err;

	iv = calloc(n * 2 + 1, sizeof(*iv));
	stack = calloc(n * 2 + 1, sizeof(*stack));
	if (!iv || !stack) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		__u64 s = v6_hi(in[i].addr), mask;

		if (in[i].prefixlen > 128 || !in[i].country_id ||
		    in[i].country_id > GEOFW_COUNTRY_MAX_ID) {
			err = -EINVAL;
			goto out;
		}
		if (in[i].prefixlen > 64)
			continue;
		mask = in[i].prefixlen ? ~0ull << (64 - in[i].prefixlen) : 0;
		iv[n_iv++] = (struct interval){ .start = s & mask, .end = (s & mask) | ~mask,
						.country_id = in[i].country_id,
						.len = in[i].prefixlen, .order = i };
	}
	if ((err = collect_more6(in, n, lim, iv, &n_iv, img)))
		goto out;
	qsort(iv, n_iv, sizeof(*iv), cmp_interval);

	/* Sweep with a stack of open intervals: the top one is what covers. */
	if ((err = bounds_set(&b, 0, GEOFW_COUNTRY_NONE)))
		goto out;
	for (i = 0; i <= n_iv; i++) {
		while (sp && (i == n_iv || stack[sp - 1].end < iv[i].start)) {
			struct interval top = stack[--sp];

			if (top.end == ~0ull)
				continue;
			/* Inner intervals end first; skip ends already passed. */
			if ((err = bounds_set(&b, top.end + 1,
					      sp ? stack[sp - 1].country_id : GEOFW_COUNTRY_NONE)))
				goto out;
		}
		if (i == n_iv)
			break;
		if (iv[i].more) {
			__u8 cover = sp ? stack[sp - 1].country_id : GEOFW_COUNTRY_NONE;
			struct geofw_geo6_more_entry *e;

			/* The /64 itself in the trie, with what covered it. */
			if (cover && (!sp || stack[sp - 1].more == 0)) {
				e = &img->more6[img->n_more6++];
				e->key.prefixlen = 64;
				for (int k = 0; k < 8; k++)
					e->key.addr[k] = (__u8)(iv[i].start >> (56 - 8 * k));
				e->country_id = cover;
			}
			iv[i].country_id = GEOFW_COUNTRY_MORE;
		}
		if ((err = bounds_set(&b, iv[i].start, iv[i].country_id)))
			goto out;
		stack[sp++] = iv[i];
	}
	if (img->n_more6) {
		size_t w = 0;

		/* Equal keys: the later entry (a real >/64 prefix or the cover of a
		 * /64 listed twice) is as good as any, keep one. */
		qsort(img->more6, img->n_more6, sizeof(*img->more6), cmp_lpm6);
		for (i = 0; i < img->n_more6; i++) {
			if (w && !cmp_lpm6(&img->more6[w - 1], &img->more6[i])) {
				if (img->more6[i].key.prefixlen > 64)
					img->more6[w - 1] = img->more6[i];
				continue;
			}
			img->more6[w++] = img->more6[i];
		}
		img->n_more6 = w;
		if (w > lim->more6) {
			err = log_err(-E2BIG, "geo tables: " GEOFW_MAP_GEO6_MORE ": the database "
				      "needs %zu entries (IPv6 prefixes longer than /64 and the /64s "
				      "holding them); the limit is %zu", w, lim->more6);
			goto out;
		}
	}
	err = build_tree6(&b, lim, img);
out:
	free(b.key);
	free(b.cc);
	free(iv);
	free(stack);
	return err;
}

int geofw_geo_build(const struct geofw_geo_prefix *v4, size_t n_v4,
		    const struct geofw_geo_prefix *v6, size_t n_v6,
		    struct geofw_geo_image *img)
{
	return geofw_geo_build_limited(v4, n_v4, v6, n_v6, NULL, img);
}

int geofw_geo_build_limited(const struct geofw_geo_prefix *v4, size_t n_v4,
			    const struct geofw_geo_prefix *v6, size_t n_v6,
			    const struct geofw_geo_limits *limits, struct geofw_geo_image *img)
{
	static const struct geofw_geo_limits kernel = {
		.more4 = GEOFW_MAX_GEO4_MORE,
		.more6 = GEOFW_MAX_GEO6_MORE,
		.tree6_nodes = GEOFW_MAX_GEO6_NODES,
	};
	struct geofw_geo_limits lim = kernel;
	int err;

	/* Lower limits only: the kernel-side ones are the ceiling. */
	if (limits) {
		lim.more4 = limits->more4 && limits->more4 < lim.more4 ? limits->more4 : lim.more4;
		lim.more6 = limits->more6 && limits->more6 < lim.more6 ? limits->more6 : lim.more6;
		lim.tree6_nodes = limits->tree6_nodes && limits->tree6_nodes < lim.tree6_nodes ?
				  limits->tree6_nodes : lim.tree6_nodes;
	}
	memset(img, 0, sizeof(*img));
	err = build_v4(v4, n_v4, &lim, img);
	if (!err)
		err = build_v6(v6, n_v6, &lim, img);
	if (err) {
		geofw_geo_image_free(img);
		return err;
	}
	img->n_v4 = n_v4;
	img->n_v6 = n_v6;
	return 0;
}

void geofw_geo_image_free(struct geofw_geo_image *img)
{
	free(img->flat4);
	free(img->more4);
	free(img->tree6);
	free(img->more6);
	memset(img, 0, sizeof(*img));
}

/* ---- lookup (the data plane's algorithm, in C) ------------------------------ */

/* Longest match in more6 (sorted by address, then length, as cmp_lpm6):
 * the address cut to each length from /128 up to /64, found exactly. */
static __u8 lookup_more6(const struct geofw_geo_image *img, const __u8 *addr)
{
	struct geofw_geo6_more_entry want = {};
	int len;

	for (len = 128; len >= 64; len--) {
		size_t lo = 0, hi = img->n_more6;

		memcpy(want.key.addr, addr, 16);
		if (len % 8)
			want.key.addr[len / 8] &= (__u8)(0xff00 >> (len % 8));
		if (len < 128)
			memset(want.key.addr + (len + 7) / 8, 0, (size_t)(16 - (len + 7) / 8));
		want.key.prefixlen = (__u32)len;
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;

			if (cmp_lpm6(&img->more6[mid], &want) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo < img->n_more6 && !cmp_lpm6(&img->more6[lo], &want))
			return img->more6[lo].country_id;
	}
	return GEOFW_COUNTRY_NONE;
}

__u8 geofw_geo_image_lookup(const struct geofw_geo_image *img, int family, const __u8 *addr)
{
	if (family == 4) {
		__u32 a = v4_host(addr);
		__u8 id = img->flat4 ? img->flat4[a >> 8] : GEOFW_COUNTRY_NONE;
		int c;

		if (id != GEOFW_COUNTRY_MORE)
			return id;
		c = find_more4(img, a >> 8);
		return c < 0 ? GEOFW_COUNTRY_NONE : img->more4[c].chunk.country[a & 0xff];
	} else {
		const struct geofw_geo6_header *hdr;
		const struct geofw_geo6_node *node = NULL;
		__u64 x = v6_hi(addr);
		__u32 idx, j = 0, level;

		if (!img->tree6)
			return GEOFW_COUNTRY_NONE;
		hdr = (const struct geofw_geo6_header *)&img->tree6[0];
		idx = hdr->level_start[0];
		for (level = 0; level < hdr->depth; level++) {
			int k;

			node = &img->tree6[idx];
			for (j = 0, k = 1; k < FANOUT; k++)
				j += node->key[k] <= x;
			if (level + 1 < hdr->depth) {
				if (j > node->country[0])
					j = node->country[0];
				idx = hdr->level_start[level + 1] +
				      (idx - hdr->level_start[level]) * FANOUT + j;
			}
		}
		if (node->country[j] != GEOFW_COUNTRY_MORE)
			return node->country[j];
		return lookup_more6(img, addr);
	}
}

/* ---- the kernel's IPv4 layout (include/geofw.h) -------------------------------- */

/* Whether a /16 of the image holds more than one id (or a chunk). */
static bool split16(const struct geofw_geo_image *img, __u32 s16)
{
	const __u8 *f = img->flat4 + ((size_t)s16 << 8);
	int i;

	for (i = 0; i < 256; i++)
		if (f[i] != f[0] || f[i] == GEOFW_COUNTRY_MORE)
			return true;
	return false;
}

/* Rows of gfw_geo4_flat: one per split /16. */
static size_t rows4_count(const struct geofw_geo_image *img)
{
	size_t n = 0;
	__u32 s16;

	for (s16 = 0; img->flat4 && s16 < 65536; s16++)
		n += split16(img, s16);
	return n;
}

/* The /16 entries (top) and the rows of gfw_geo4_flat (rows4_count() of
 * them, in *out) for img; chunk i of gfw_geo4_more is img->more4[i]. */
static int rows4_make(const struct geofw_geo_image *img, struct geofw_geo4_top *top,
		      struct geofw_geo4_row **out)
{
	size_t n = rows4_count(img), next = 0, chunk = 0;
	struct geofw_geo4_row *rows;
	__u32 s16, i;

	/* build_v4 holds the chunks to the limit; the rows are checked here. */
	if (n > GEOFW_MAX_GEO4_ROWS || img->n_more4 > GEOFW_MAX_GEO4_MORE)
		return log_err(-E2BIG, "geo tables: " GEOFW_MAP_GEO4_FLAT ": the database has "
			       "%zu IPv4 /16s of more than one id; the limit is %u", n,
			       GEOFW_MAX_GEO4_ROWS);
	rows = calloc(n ? n : 1, sizeof(*rows));
	if (!rows)
		return -ENOMEM;
	for (s16 = 0; s16 < 65536; s16++) {
		const __u8 *f = img->flat4 + ((size_t)s16 << 8);
		struct geofw_geo4_row *r;

		if (!split16(img, s16)) {
			top->e[s16] = f[0];
			continue;
		}
		top->e[s16] = (__u16)(GEOFW_GEO4_REF + next);
		r = &rows[next++];
		for (i = 0; i < 256; i++) {
			if (f[i] != GEOFW_COUNTRY_MORE) {
				r->e[i] = f[i];
				continue;
			}
			/* more4 is sorted by key: walked in the same order */
			if (chunk >= img->n_more4 || img->more4[chunk].key != (s16 << 8 | i)) {
				free(rows);
				return log_err(-EINVAL, "geo tables: chunk of %u.%u.%u.0/24 missing",
					       s16 >> 8, s16 & 0xff, i);
			}
			r->e[i] = (__u16)(GEOFW_GEO4_REF + chunk++);
		}
	}
	*out = rows;
	return 0;
}

/*
 * Arrays are one allocation of their values (the /16 entries 128 KiB, rows
 * of 512 B, chunks of 256 B); a gfw_geo6_more entry is an LPM leaf plus, on average, one
 * intermediate node (measured 133 B, docs/design-notes.md).
 */
size_t geofw_geo_image_kernel_bytes(const struct geofw_geo_image *img)
{
	return sizeof(struct geofw_geo4_top) + rows4_count(img) * sizeof(struct geofw_geo4_row) +
	       img->n_more4 * sizeof(struct geofw_geo4_chunk) +
	       img->n_tree6 * sizeof(struct geofw_geo6_node) +
	       img->n_more6 * 133;
}

/* ---- install ------------------------------------------------------------------ */

struct inner_fds {
	int flat4, more4, tree6, more6;
};

static __u32 btf_id(const struct btf *btf, const char *name, int kind)
{
	int id = btf ? btf__find_by_name_kind(btf, name, kind) : -1;

	return id > 0 ? (__u32)id : 0;
}

static int create_inner(const struct btf *btf, enum bpf_map_type type, const char *name,
			__u32 key_size, __u32 value_size, __u32 max_entries, __u32 flags,
			const char *key_type, int key_kind, const char *value_type)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = flags);
	__u32 kid = btf_id(btf, key_type, key_kind), vid = btf_id(btf, value_type, BTF_KIND_STRUCT);
	int fd;

	if (btf && kid && vid) {
		opts.btf_fd = (__u32)btf__fd(btf);
		opts.btf_key_type_id = kid;
		opts.btf_value_type_id = vid;
	}
	fd = bpf_map_create(type, name, key_size, value_size, max_entries, &opts);
	if (fd < 0 && opts.btf_fd) {
		/* Without BTF the table works the same; only bpftool shows hex. */
		opts.btf_fd = opts.btf_key_type_id = opts.btf_value_type_id = 0;
		fd = bpf_map_create(type, name, key_size, value_size, max_entries, &opts);
	}
	return fd < 0 ? -errno : fd;
}

static void close_inner(struct inner_fds *f)
{
	int *fds[] = { &f->flat4, &f->more4, &f->tree6, &f->more6 };
	size_t i;

	for (i = 0; i < 4; i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
}

static int fill_inner(const struct geofw_geo_image *img, const struct geofw_geo4_row *rows,
		      size_t n_rows, const struct inner_fds *f)
{
	__u32 k;
	size_t i;

	for (k = 0; k < n_rows; k++)
		if (bpf_map_update_elem(f->flat4, &k, &rows[k], 0))
			return -errno;
	for (k = 0; k < img->n_more4; k++)
		if (bpf_map_update_elem(f->more4, &k, &img->more4[k].chunk, 0))
			return -errno;
	for (k = 0; k < img->n_tree6; k++)
		if (bpf_map_update_elem(f->tree6, &k, &img->tree6[k], 0))
			return -errno;
	for (i = 0; i < img->n_more6; i++) {
		struct geofw_geo v = { .country_id = img->more6[i].country_id };

		if (bpf_map_update_elem(f->more6, &img->more6[i].key, &v, 0))
			return -errno;
	}
	return 0;
}

/* The outer maps of one kind of table (geo or ASN class), and names. */
struct outer_set {
	int top4;				/* the /16 entries, by slot (no inner map) */
	int flat4, more4, tree6, more6;
	const char *what;			/* for messages: "geo", "asn" */
	const char *names[4];			/* inner map names */
};

static struct outer_set geo_outer(const struct geofw_maps *m)
{
	return (struct outer_set){ m->geo4_top, m->geo4_flat, m->geo4_more, m->geo6_tree,
				   m->geo6_more, "geo",
				   { "gfw_g4_flat", "gfw_g4_more", "gfw_g6_tree", "gfw_g6_more" } };
}

static struct outer_set asn_outer(const struct geofw_maps *m)
{
	return (struct outer_set){ m->asn4_top, m->asn4_flat, m->asn4_more, m->asn6_tree,
				   m->asn6_more, "asn",
				   { "gfw_a4_flat", "gfw_a4_more", "gfw_a6_tree", "gfw_a6_more" } };
}

static int outer_set(const struct outer_set *o, __u32 slot, const struct inner_fds *f)
{
	if (bpf_map_update_elem(o->flat4, &slot, &f->flat4, 0) ||
	    bpf_map_update_elem(o->more4, &slot, &f->more4, 0) ||
	    bpf_map_update_elem(o->tree6, &slot, &f->tree6, 0) ||
	    bpf_map_update_elem(o->more6, &slot, &f->more6, 0))
		return -errno;
	return 0;
}

static void outer_clear(const struct outer_set *o, __u32 slot)
{
	static const struct geofw_geo4_top none;

	/* No /16 refers on: every IPv4 address has no id in this slot. */
	bpf_map_update_elem(o->top4, &slot, &none, 0);
	bpf_map_delete_elem(o->flat4, &slot);
	bpf_map_delete_elem(o->more4, &slot);
	bpf_map_delete_elem(o->tree6, &slot);
	bpf_map_delete_elem(o->more6, &slot);
}

/* Create and fill the inner maps of img and place them in slot `slot` of o.
 * On error the slot is empty again. */
static int place_image(const struct outer_set *o, const struct btf *btf,
		       const struct geofw_geo_image *img, __u32 slot, struct inner_fds *f)
{
	struct geofw_geo4_top *top;
	struct geofw_geo4_row *rows = NULL;
	size_t n_rows;
	int err;

	if (!img->flat4 || !img->tree6)
		return log_err(-EINVAL, "%s: empty image", o->what);
	if (!(top = calloc(1, sizeof(*top))))
		return -ENOMEM;
	if ((err = rows4_make(img, top, &rows))) {
		free(top);
		return err;
	}
	n_rows = rows4_count(img);
	f->flat4 = create_inner(btf, BPF_MAP_TYPE_ARRAY, o->names[0], 4,
				sizeof(struct geofw_geo4_row), n_rows ? (__u32)n_rows : 1,
				BPF_F_INNER_MAP, "__u32", BTF_KIND_TYPEDEF, "geofw_geo4_row");
	f->more4 = create_inner(btf, BPF_MAP_TYPE_ARRAY, o->names[1], 4,
				sizeof(struct geofw_geo4_chunk),
				img->n_more4 ? (__u32)img->n_more4 : 1, BPF_F_INNER_MAP,
				"__u32", BTF_KIND_TYPEDEF, "geofw_geo4_chunk");
	f->tree6 = create_inner(btf, BPF_MAP_TYPE_ARRAY, o->names[2], 4,
				sizeof(struct geofw_geo6_node), (__u32)img->n_tree6,
				BPF_F_INNER_MAP, "__u32", BTF_KIND_TYPEDEF, "geofw_geo6_node");
	f->more6 = create_inner(btf, BPF_MAP_TYPE_LPM_TRIE, o->names[3],
				sizeof(struct geofw_lpm_v6), sizeof(struct geofw_geo),
				img->n_more6 ? (__u32)img->n_more6 : 1, BPF_F_NO_PREALLOC,
				"geofw_lpm_v6", BTF_KIND_STRUCT, "geofw_geo");
	if (f->flat4 < 0 || f->more4 < 0 || f->tree6 < 0 || f->more6 < 0) {
		err = f->flat4 < 0 ? f->flat4 : f->more4 < 0 ? f->more4 :
		      f->tree6 < 0 ? f->tree6 : f->more6;
		log_err(err, "%s: cannot create tables: %s", o->what, strerror(-err));
		goto fail;
	}
	if ((err = fill_inner(img, rows, n_rows, f))) {
		log_err(err, "%s: cannot fill tables: %s", o->what, strerror(-err));
		goto fail;
	}
	/* The inner maps first, then the /16 entries that refer to them: the
	 * slot is not in force yet, but nothing may point at a missing row. */
	if ((err = outer_set(o, slot, f)) ||
	    (bpf_map_update_elem(o->top4, &slot, top, 0) && (err = -errno))) {
		log_err(err, "%s: cannot place tables in slot %u: %s", o->what, slot, strerror(-err));
		goto fail;
	}
	free(top);
	free(rows);
	return 0;
fail:
	free(top);
	free(rows);
	outer_clear(o, slot);
	return err;
}

/* A packet that read the old slot just before the flip may still be about
 * to look it up: keep the old tables for far longer than any XDP run (the
 * data plane also falls back to the other slot). */
#define OLD_SLOT_GRACE_US (100 * 1000)

int geofw_geo_install(const struct geofw_maps *m, const struct btf *btf,
		      const struct geofw_geo_image *img)
{
	struct inner_fds f = { -1, -1, -1, -1 };
	struct outer_set o = geo_outer(m);
	struct geofw_config cfg;
	__u32 old, new;
	int err;

	if ((err = geofw_config_read(m, &cfg)))
		return log_err(err, "geo: cannot read config: %s", strerror(-err));
	old = cfg.geo_slot & 1;
	new = old ^ 1;
	if ((err = place_image(&o, btf, img, new, &f)))
		goto out;
	/* The switch: one byte in the config record. */
	if ((err = geofw_config_switch_geo_slot(m, (__u8)new))) {
		log_err(err, "geo: cannot switch to slot %u: %s", new, strerror(-err));
		outer_clear(&o, new);
		goto out;
	}
	usleep(OLD_SLOT_GRACE_US);
	outer_clear(&o, old);
out:
	close_inner(&f);
	return err;
}

/* Counters of ASes that no longer have a rule go (the map holds the rules
 * of two generations at most). */
static void drop_stale_counters(const struct geofw_maps *m, const struct geofw_asn_class *classes,
				size_t n_classes)
{
	__u32 key, next, stale[GEOFW_GEO_SLOTS * GEOFW_MAX_ASN_CLASSES];
	size_t n = 0, i;
	void *prev = NULL;

	while (n < sizeof(stale) / sizeof(stale[0]) &&
	       !bpf_map_get_next_key(m->cnt_asn, prev, &next)) {
		bool keep = false;

		for (i = 0; i < n_classes && !keep; i++)
			keep = classes[i].asn == next;
		if (!keep)
			stale[n++] = next;
		key = next;
		prev = &key;
	}
	for (i = 0; i < n; i++)
		bpf_map_delete_elem(m->cnt_asn, &stale[i]);
}

int geofw_asn_install(const struct geofw_maps *m, const struct btf *btf,
		      const struct geofw_geo_image *img, const struct geofw_asn_class *classes,
		      size_t n_classes)
{
	struct inner_fds f = { -1, -1, -1, -1 };
	struct outer_set o = asn_outer(m);
	struct geofw_config cfg;
	__u32 old, new, id, key;
	size_t i;
	int err;

	if (n_classes > GEOFW_ASN_CLASS_MAX_ID)
		return log_err(-E2BIG, "asn: %zu ASes with rules, more than the limit of %u",
			       n_classes, GEOFW_ASN_CLASS_MAX_ID);
	if ((err = geofw_config_read(m, &cfg)))
		return log_err(err, "asn: cannot read config: %s", strerror(-err));
	old = cfg.asn_slot & 1;
	new = cfg.asn_present ? old ^ 1 : old;
	/* The classes of the new slot first (the slot is not in force), class
	 * ids 1..n_classes, the rest cleared. */
	for (id = 1; id < GEOFW_MAX_ASN_CLASSES; id++) {
		struct geofw_asn_class c = {};

		if (id <= n_classes)
			c = classes[id - 1];
		key = GEOFW_ASN_CLASS_KEY(new, id);
		if (bpf_map_update_elem(m->asn_class, &key, &c, 0))
			return log_err(-errno, "asn: cannot write class %u: %s", id, strerror(errno));
	}
	/* A counter for every AS with a rule; existing counts stay. */
	for (i = 0; i < n_classes; i++) {
		int ncpu = libbpf_num_possible_cpus();
		struct geofw_asn_stats *zero;

		if (ncpu <= 0)
			return log_err(-EINVAL, "asn: cannot count CPUs");
		zero = calloc((size_t)ncpu, sizeof(*zero));
		if (!zero)
			return log_err(-ENOMEM, "asn: out of memory");
		err = bpf_map_update_elem(m->cnt_asn, &classes[i].asn, zero, BPF_NOEXIST);
		free(zero);
		if (err && errno != EEXIST)
			return log_err(-errno, "asn: cannot create counter of AS%u: %s",
				       classes[i].asn, strerror(errno));
	}
	if (cfg.asn_present)
		err = place_image(&o, btf, img, new, &f);
	else {
		/* Nothing in force: both slots are free, fill this one. */
		outer_clear(&o, new ^ 1);
		err = place_image(&o, btf, img, new, &f);
	}
	if (err)
		goto out;
	if ((err = geofw_config_switch_asn_slot(m, (__u8)new, true))) {
		log_err(err, "asn: cannot switch to slot %u: %s", new, strerror(-err));
		outer_clear(&o, new);
		goto out;
	}
	if (new != old) {
		usleep(OLD_SLOT_GRACE_US);
		outer_clear(&o, old);
	}
	drop_stale_counters(m, classes, n_classes);
out:
	close_inner(&f);
	return err;
}

int geofw_asn_clear(const struct geofw_maps *m)
{
	struct outer_set o = asn_outer(m);
	int err = geofw_config_switch_asn_slot(m, 0, false);

	usleep(OLD_SLOT_GRACE_US);
	outer_clear(&o, 0);
	outer_clear(&o, 1);
	drop_stale_counters(m, NULL, 0);
	return err;
}

int geofw_geo_clear(const struct geofw_maps *m)
{
	struct outer_set o = geo_outer(m);

	outer_clear(&o, 0);
	outer_clear(&o, 1);
	return 0;
}
