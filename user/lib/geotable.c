// SPDX-License-Identifier: GPL-2.0-only
#include "geotable.h"

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

/* The address range of first-level bucket r, counted in address order
 * (the /3 below 2000::/3, its 2^16 /19s, the /3s above), and its entry. */
#define TOP6_RANGES (GEOFW_GEO6_TOP_ENTRIES - 1)

static __u32 bucket_range(__u32 r, __u64 *start, __u64 *end)
{
	const __u32 n19 = 1u << GEOFW_GEO6_TOP_BITS;
	const int w = 61 - GEOFW_GEO6_TOP_BITS;

	if (r == 0 || r > n19) {
		__u64 s3 = r ? r - n19 + 1 : 0;

		*start = s3 << 61;
		*end = *start | ((1ull << 61) - 1);
	} else {
		*start = 1ull << 61 | (__u64)(r - 1) << w;
		*end = *start | ((1ull << w) - 1);
	}
	return GEOFW_GEO6_BUCKET(*start);
}

/* Nodes of a subtree over c interval starts, and its depth. */
static size_t subtree_nodes(size_t c, int *depth)
{
	size_t n = 0, lv = (c + FANOUT - 1) / FANOUT;

	*depth = 1;
	n = lv;
	while (lv > 1) {
		lv = (lv + FANOUT - 1) / FANOUT;
		n += lv;
		(*depth)++;
	}
	return n;
}

/*
 * One bucket's B+-tree, appended at nodes[*used]: the bucket's start with the
 * id covering it, then the starts b->key[i..k) inside the bucket.  Leaves
 * first (the last one padded with copies of its last key: the rank lands on
 * a copy, with the same id), then each level above them; an inner node's
 * children are consecutive, its unused keys GEOFW_GEO6_KEY_NONE (above every
 * offset: the descent never goes past its last child).  Keys are offsets
 * from the bucket's start.  Returns the first-level entry.
 */
static __u32 build_subtree(const struct bounds *b, __u64 start, __u8 cover, size_t i, size_t k,
			   struct geofw_geo6_node *nodes, size_t *used)
{
	size_t c = 1 + (k - i), lv = (c + FANOUT - 1) / FANOUT, below = *used, p, j;
	int depth = 1;

	for (p = 0; p < lv; p++) {
		struct geofw_geo6_node *nd = &nodes[*used + p];

		for (j = 0; j < FANOUT; j++) {
			size_t m = p * FANOUT + j < c ? p * FANOUT + j : c - 1;

			nd->key[j] = m ? b->key[i + m - 1] - start : 0;
			nd->country[j] = m ? b->cc[i + m - 1] : cover;
		}
	}
	*used += lv;
	while (lv > 1) {
		size_t up = (lv + FANOUT - 1) / FANOUT;

		for (p = 0; p < up; p++) {
			struct geofw_geo6_node *nd = &nodes[*used + p];
			size_t first = below + p * FANOUT;

			nd->in.child = (__u32)first;
			for (j = 0; j < FANOUT; j++)
				nd->key[j] = p * FANOUT + j < lv ? nodes[first + j].key[0] :
					     GEOFW_GEO6_KEY_NONE;
		}
		below = *used;
		*used += up;
		lv = up;
		depth++;
	}
	return (__u32)depth << 24 | (__u32)(*used - 1);
}

/*
 * The first level and the subtrees of the buckets that hold more than one
 * id (include/geofw.h).  Two passes over the buckets: count the nodes (the
 * limit is checked before anything is allocated), then build.
 */
static int build_tree6(const struct bounds *b, const struct geofw_geo_limits *lim,
		       struct geofw_geo_image *img)
{
	struct geofw_geo6_node *nodes = NULL;
	size_t total = 0, used = 0, i, k;
	int pass, depth;
	__u32 r;

	img->top6 = calloc(1, sizeof(*img->top6));
	if (!img->top6)
		return -ENOMEM;
	for (pass = 0; pass < 2; pass++) {
		for (r = 0, i = 0; r < TOP6_RANGES; r++) {
			__u64 start, end;
			__u32 e = bucket_range(r, &start, &end);
			__u8 cover;

			/* b->key[0] is 0: the last start <= the bucket's start covers it */
			while (i < b->n && b->key[i] <= start)
				i++;
			cover = b->cc[i - 1];
			for (k = i; k < b->n && b->key[k] <= end; k++)
				;
			if (k == i) {
				img->top6->e[e] = cover;
			} else if (pass == 0) {
				total += subtree_nodes(1 + (k - i), &depth);
				if (depth > GEOFW_GEO6_MAX_DEPTH)
					return log_err(-E2BIG, "geo tables: " GEOFW_MAP_GEO6_TREE ": the "
						       "database has %zu IPv6 intervals in one /%d; a "
						       "tree of depth %d holds at most %llu", k - i + 1,
						       r && r <= 1u << GEOFW_GEO6_TOP_BITS ?
						       3 + GEOFW_GEO6_TOP_BITS : 3, GEOFW_GEO6_MAX_DEPTH,
						       (unsigned long long)1 << (4 * GEOFW_GEO6_MAX_DEPTH));
			} else {
				img->top6->e[e] = build_subtree(b, start, cover, i, k, nodes, &used);
			}
			i = k;
		}
		if (pass == 0) {
			if (total > lim->tree6_nodes)
				return log_err(-E2BIG, "geo tables: " GEOFW_MAP_GEO6_TREE ": the database "
					       "needs %zu tree nodes (%zu IPv6 intervals); the limit is %zu",
					       total, b->n, lim->tree6_nodes);
			nodes = calloc(total ? total : 1, sizeof(*nodes));
			if (!nodes)
				return -ENOMEM;
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
	free(img->top6);
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
		const struct geofw_geo6_node *node = NULL;
		__u64 x = v6_hi(addr), off = GEOFW_GEO6_OFFSET(x);
		__u32 e, idx, depth, j = 0, level;

		if (!img->top6)
			return GEOFW_COUNTRY_NONE;
		e = img->top6->e[GEOFW_GEO6_BUCKET(x)];
		if (e < GEOFW_GEO6_SUB)
			return (__u8)e;
		depth = e >> 24;
		idx = e & GEOFW_GEO6_ROOT_MASK;
		for (level = 0; level < depth; level++) {
			int k;

			node = &img->tree6[idx];
			for (j = 0, k = 1; k < FANOUT; k++)
				j += node->key[k] <= off;
			if (level + 1 < depth)
				idx = node->in.child + j;
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

/*
 * The runs of 256 entries: their starts and entries in start[] and val[]
 * (max slots, unused ones repeating the last run) when they fit; returns
 * the number of runs.  Entries are ids or chunk references, each chunk's
 * reference its own, so a chunk is a run of its own.
 */
static unsigned runs256(const __u16 *v, unsigned max, __u8 *start, __u16 *val)
{
	unsigned n = 0, i;

	for (i = 0; i < 256; i++) {
		if (i && v[i] == v[i - 1])
			continue;
		if (n < max && start) {
			start[n] = (__u8)i;
			val[n] = v[i];
		}
		n++;
	}
	for (i = n; start && n <= max && i < max; i++) {
		start[i] = start[n - 1];
		val[i] = val[n - 1];
	}
	return n;
}

/* One level of the layout (rows or chunks) while it is built. */
struct level4 {
	size_t n;		/* rows or chunks */
	__u16 *ent;		/* 256 entries of each */
	__u16 *ref;		/* the reference to each: GEOFW_GEO4_REF + line, GEOFW_GEO4_FULL + block */
	size_t lines, full, values;
};

static void level4_free(struct level4 *lv)
{
	free(lv->ent);
	free(lv->ref);
}

static int level4_alloc(struct level4 *lv, size_t n)
{
	lv->n = n;
	lv->ent = malloc((n ? n : 1) * 256 * sizeof(*lv->ent));
	lv->ref = malloc((n ? n : 1) * sizeof(*lv->ref));
	return lv->ent && lv->ref ? 0 : -ENOMEM;
}

/* Lines for the rows or chunks of at most max_runs runs, in order, as many
 * as the limit allows; full ones for the rest, in blocks after the lines. */
static int level4_place(struct level4 *lv, unsigned max_runs, const struct geofw_geo4_limits *lim,
			const char *what, const char *table, const char *items)
{
	size_t i, fit = 0, line = 0, block, blocks;

	for (i = 0; i < lv->n; i++)
		fit += runs256(lv->ent + i * 256, max_runs, NULL, NULL) <= max_runs;
	lv->lines = fit < lim->lines ? fit : lim->lines;
	lv->full = lv->n - lv->lines;
	block = (lv->lines + GEOFW_GEO4_FULL_VALUES - 1) / GEOFW_GEO4_FULL_VALUES;
	blocks = block + lv->full;
	if (blocks > lim->blocks && !table)
		return -E2BIG;
	if (blocks > lim->blocks)
		return log_err(-E2BIG, "%s tables: %s: the database has %zu %s, %zu of them too "
			       "varied for a line, which need %zu blocks of %d values; the limit "
			       "is %zu", what, table, lv->n, items, lv->n - fit, blocks,
			       GEOFW_GEO4_FULL_VALUES, lim->blocks);
	for (i = 0; i < lv->n; i++) {
		if (line < lv->lines && runs256(lv->ent + i * 256, max_runs, NULL, NULL) <= max_runs)
			lv->ref[i] = (__u16)(GEOFW_GEO4_REF + line++);
		else
			lv->ref[i] = (__u16)(GEOFW_GEO4_FULL + block++);
	}
	lv->values = lv->full ? block * GEOFW_GEO4_FULL_VALUES : lv->lines;
	return 0;
}

/* geotable.h; the install is in geotable_install.c. */
int geofw_geo4_layout_make(const struct geofw_geo_image *img, const char *what,
			   const char *const tables[2], const struct geofw_geo4_limits *limits,
			   struct geofw_geo4_top *top, struct geofw_geo4_layout *out)
{
	struct geofw_geo4_limits lim = { GEOFW_MAX_GEO4_LINES, GEOFW_MAX_GEO4_BLOCKS };
	struct level4 rows = {}, chunks = {};
	size_t i, r = 0, c = 0;
	__u32 s16, b;
	int err;

	memset(out, 0, sizeof(*out));
	if (limits && limits->lines && limits->lines < lim.lines)
		lim.lines = limits->lines;
	if (limits && limits->blocks && limits->blocks < lim.blocks)
		lim.blocks = limits->blocks;
	if (!img->flat4)
		return log_err(-EINVAL, "%s tables: empty image", what);
	if ((err = level4_alloc(&chunks, img->n_more4)) ||
	    (err = level4_alloc(&rows, rows4_count(img))))
		goto out;
	for (i = 0; i < chunks.n; i++)
		for (b = 0; b < 256; b++)
			chunks.ent[i * 256 + b] = img->more4[i].chunk.country[b];
	if ((err = level4_place(&chunks, GEOFW_GEO4_CHUNK_RUNS, &lim, what, tables[1],
				"IPv4 /24s holding prefixes longer than /24")))
		goto out;
	for (s16 = 0; s16 < 65536; s16++) {
		const __u8 *f = img->flat4 + ((size_t)s16 << 8);
		__u16 *e;

		if (!split16(img, s16)) {
			top->e[s16] = f[0];
			continue;
		}
		e = rows.ent + r++ * 256;
		for (b = 0; b < 256; b++) {
			if (f[b] != GEOFW_COUNTRY_MORE) {
				e[b] = f[b];
				continue;
			}
			/* more4 is sorted by key: walked in the same order */
			if (c >= img->n_more4 || img->more4[c].key != (s16 << 8 | b)) {
				err = log_err(-EINVAL, "%s tables: chunk of %u.%u.%u.0/24 missing",
					      what, s16 >> 8, s16 & 0xff, b);
				goto out;
			}
			e[b] = chunks.ref[c++];
		}
	}
	if ((err = level4_place(&rows, GEOFW_GEO4_ROW_RUNS, &lim, what, tables[0],
				"IPv4 /16s of more than one id")))
		goto out;
	for (s16 = 0, r = 0; s16 < 65536; s16++)
		if (split16(img, s16))
			top->e[s16] = rows.ref[r++];

	out->rows = calloc(rows.values ? rows.values : 1, sizeof(*out->rows));
	out->chunks = calloc(chunks.values ? chunks.values : 1, sizeof(*out->chunks));
	if (!out->rows || !out->chunks) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < rows.n; i++) {
		const __u16 *e = rows.ent + i * 256;
		__u16 ref = rows.ref[i];

		if (ref < GEOFW_GEO4_FULL) {
			struct geofw_geo4_rowval *v = &out->rows[ref - GEOFW_GEO4_REF];

			runs256(e, GEOFW_GEO4_ROW_RUNS, v->line.start, v->line.e);
		} else {
			memcpy(out->rows[(size_t)(ref - GEOFW_GEO4_FULL) * GEOFW_GEO4_FULL_VALUES].e,
			       e, 256 * sizeof(*e));
		}
	}
	for (i = 0; i < chunks.n; i++) {
		const __u16 *e = chunks.ent + i * 256;
		__u16 ref = chunks.ref[i];

		if (ref < GEOFW_GEO4_FULL) {
			struct geofw_geo4_chunkval *v = &out->chunks[ref - GEOFW_GEO4_REF];
			__u16 id[GEOFW_GEO4_CHUNK_RUNS];

			runs256(e, GEOFW_GEO4_CHUNK_RUNS, v->line.start, id);
			for (b = 0; b < GEOFW_GEO4_CHUNK_RUNS; b++)
				v->line.id[b] = (__u8)id[b];
		} else {
			memcpy(out->chunks[(size_t)(ref - GEOFW_GEO4_FULL) * GEOFW_GEO4_FULL_VALUES].id,
			       img->more4[i].chunk.country, 256);
		}
	}
	out->n_rows = rows.values;
	out->n_chunks = chunks.values;
	out->row_lines = rows.lines;
	out->row_full = rows.full;
	out->chunk_lines = chunks.lines;
	out->chunk_full = chunks.full;
out:
	level4_free(&rows);
	level4_free(&chunks);
	if (err)
		geofw_geo4_layout_free(out);
	return err;
}

void geofw_geo4_layout_free(struct geofw_geo4_layout *l)
{
	free(l->rows);
	free(l->chunks);
	memset(l, 0, sizeof(*l));
}

/*
 * Arrays are one allocation of their values (the /16 entries 128 KiB, row
 * values of 64 B, chunk values of 32 B, the IPv4 row and chunk levels laid
 * out as the install does, the IPv6 first level 256 KiB, nodes of 144 B);
 * a gfw_geo6_more entry is an LPM leaf plus, on average, one intermediate
 * node (measured 133 B, docs/design-notes.md).  An image whose IPv4 levels
 * do not fit counts them as full rows and chunks.
 */
size_t geofw_geo_image_kernel_bytes(const struct geofw_geo_image *img)
{
	static const char *const quiet[2];
	size_t v4 = rows4_count(img) * 512 + img->n_more4 * 256;
	struct geofw_geo4_top *top = calloc(1, sizeof(*top));
	struct geofw_geo4_layout l;

	if (top && img->flat4 && !geofw_geo4_layout_make(img, "geo", quiet, NULL, top, &l)) {
		v4 = l.n_rows * sizeof(*l.rows) + l.n_chunks * sizeof(*l.chunks);
		geofw_geo4_layout_free(&l);
	}
	free(top);
	return sizeof(struct geofw_geo4_top) + v4 +
	       sizeof(struct geofw_geo6_top) + img->n_tree6 * sizeof(struct geofw_geo6_node) +
	       img->n_more6 * 133;
}
