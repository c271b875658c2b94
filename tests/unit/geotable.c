// SPDX-License-Identifier: GPL-2.0-only
/*
 * Geo table images against brute force: random nested prefix sets (both
 * families, every length, duplicates, /0, longer than /24 and /64), then
 * addresses at and around every prefix edge and at random, looked up in the
 * image with the data plane's algorithm and by scanning for the longest match.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "geotable.h"
#include "log.h"
#include "test.h"

static __u64 rng = 88172645463325252ull;

static __u64 rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static bool prefix_has(const struct geofw_geo_prefix *p, const __u8 *a)
{
	unsigned int k;

	for (k = 0; k < p->prefixlen / 8u; k++)
		if (p->addr[k] != a[k])
			return false;
	return !(p->prefixlen % 8) || !((p->addr[k] ^ a[k]) & (0xff00 >> (p->prefixlen % 8)));
}

/* Longest match; among equal prefixes the later one (as the builder does). */
static __u8 brute(const struct geofw_geo_prefix *v, size_t n, const __u8 *a)
{
	int best = -1;
	size_t i;

	for (i = 0; i < n; i++)
		if (prefix_has(&v[i], a) && (best < 0 || v[i].prefixlen >= v[best].prefixlen))
			best = (int)i;
	return best < 0 ? GEOFW_COUNTRY_NONE : v[best].country_id;
}

static void random_prefix(struct geofw_geo_prefix *p, int family, const struct geofw_geo_prefix *near)
{
	unsigned int bits = family == 4 ? 32 : 128, i;
	__u64 a = rnd(), b = rnd();

	memset(p, 0, sizeof(*p));
	memcpy(p->addr, &a, 8);
	memcpy(p->addr + 8, &b, 8);
	if (near)	/* share the start of another prefix, to nest */
		memcpy(p->addr, near->addr, rnd() % (bits / 8));
	if (family == 6 && rnd() % 3 == 0)
		p->addr[0] = 0x20;
	p->prefixlen = (__u8)(rnd() % (bits + 1));
	if (family == 6 && rnd() % 4)	/* lengths databases use most */
		p->prefixlen = (__u8)(16 + rnd() % 49);
	for (i = p->prefixlen; i < 128; i++)
		p->addr[i / 8] &= (__u8)~(0x80 >> (i % 8));
	p->country_id = (__u8)(1 + rnd() % GEOFW_COUNTRY_MAX_ID);
}

static void edge_addrs(const struct geofw_geo_prefix *p, int family, __u8 out[4][16])
{
	unsigned int bits = family == 4 ? 32 : 128, i;
	int k;

	memcpy(out[0], p->addr, 16);
	memcpy(out[1], p->addr, 16);
	for (i = p->prefixlen; i < bits; i++)
		out[1][i / 8] |= (__u8)(0x80 >> (i % 8));
	/* one below the first, one above the last */
	memcpy(out[2], out[0], 16);
	for (k = (int)bits / 8 - 1; k >= 0 && out[2][k]-- == 0; k--)
		;
	memcpy(out[3], out[1], 16);
	for (k = (int)bits / 8 - 1; k >= 0 && ++out[3][k] == 0; k--)
		;
}

/* The data plane's IPv4 walk (bpf/geo.h table_lookup_v4) over a layout,
 * written again from include/geofw.h: a line is scanned for the last run
 * starting at or before the byte, a full row or chunk read by index. */
static __u8 layout_lookup(const struct geofw_geo4_top *top, const struct geofw_geo4_layout *l,
			  __u32 a)
{
	__u32 e = top->e[a >> 16], b = (a >> 8) & 0xff, k;
	int i;

	if (e < GEOFW_GEO4_REF)
		return (__u8)e;
	if (e < GEOFW_GEO4_FULL) {
		const struct geofw_geo4_rowval *v = &l->rows[e - GEOFW_GEO4_REF];

		for (i = GEOFW_GEO4_ROW_RUNS - 1; v->line.start[i] > b; i--)
			;
		e = v->line.e[i];
	} else {
		k = (e - GEOFW_GEO4_FULL) * GEOFW_GEO4_FULL_VALUES + (b >> 5);
		if (k >= l->n_rows)
			return 0xee;	/* out of the array: never an id */
		e = l->rows[k].e[b & 31];
	}
	if (e < GEOFW_GEO4_REF)
		return (__u8)e;
	b = a & 0xff;
	if (e < GEOFW_GEO4_FULL) {
		const struct geofw_geo4_chunkval *v = &l->chunks[e - GEOFW_GEO4_REF];

		for (i = GEOFW_GEO4_CHUNK_RUNS - 1; v->line.start[i] > b; i--)
			;
		return v->line.id[i];
	}
	k = (e - GEOFW_GEO4_FULL) * GEOFW_GEO4_FULL_VALUES + (b >> 5);
	return k < l->n_chunks ? l->chunks[k].id[b & 31] : 0xee;
}

static const char *const geo_tables[2] = { GEOFW_MAP_GEO4_FLAT, GEOFW_MAP_GEO4_MORE };

/* The layout of img (under lim, NULL: the kernel's) answers as the image
 * for n addresses: every address of the /16 of a, then random ones. */
static size_t layout_mismatches(const struct geofw_geo_image *img,
				const struct geofw_geo4_limits *lim, struct geofw_geo4_layout *l,
				__u32 a)
{
	struct geofw_geo4_top *top = calloc(1, sizeof(*top));
	size_t bad = 0;
	__u32 i, x;

	if (!ASSERT_OK(geofw_geo4_layout_make(img, "geo", geo_tables, lim, top, l), "layout")) {
		free(top);
		return 1;
	}
	for (i = 0; i < 65536 + 200000; i++) {
		__u8 b[4];

		x = i < 65536 ? (a & 0xffff0000) | i : (__u32)rnd();
		b[0] = (__u8)(x >> 24), b[1] = (__u8)(x >> 16), b[2] = (__u8)(x >> 8), b[3] = (__u8)x;
		if (layout_lookup(top, l, x) != geofw_geo_image_lookup(img, 4, b) && !bad++)
			test__fail(__FILE__, __LINE__, "%u.%u.%u.%u: layout %u, image %u", b[0], b[1],
				   b[2], b[3], layout_lookup(top, l, x), geofw_geo_image_lookup(img, 4, b));
	}
	free(top);
	return bad;
}

static void check_family(int family, size_t n, bool nested)
{
	struct geofw_geo_prefix *v = calloc(n + 1, sizeof(*v));
	struct geofw_geo_image img;
	size_t i, bad = 0, checked = 0;
	int e;

	for (i = 0; i < n; i++)
		random_prefix(&v[i], family, nested && i ? &v[rnd() % i] : NULL);
	if (!ASSERT_OK(family == 4 ? geofw_geo_build(v, n, NULL, 0, &img) :
				     geofw_geo_build(NULL, 0, v, n, &img), "build"))
		goto out;
	for (i = 0; i < n; i++) {
		__u8 a[4][16];

		edge_addrs(&v[i], family, a);
		for (e = 0; e < 4; e++, checked++)
			if (geofw_geo_image_lookup(&img, family, a[e]) != brute(v, n, a[e]) && !bad++)
				test__fail(__FILE__, __LINE__, "prefix %zu /%u edge %d: image %u, brute %u",
					   i, v[i].prefixlen, e, geofw_geo_image_lookup(&img, family, a[e]),
					   brute(v, n, a[e]));
	}
	for (i = 0; i < 20000; i++, checked++) {
		__u64 x = rnd(), y = rnd();
		__u8 a[16];

		memcpy(a, &x, 8);
		memcpy(a + 8, &y, 8);
		if (geofw_geo_image_lookup(&img, family, a) != brute(v, n, a) && !bad++)
			test__fail(__FILE__, __LINE__, "random address: image %u, brute %u",
				   geofw_geo_image_lookup(&img, family, a), brute(v, n, a));
	}
	ASSERT_EQ(bad, 0, "mismatches");
	ASSERT_TRUE(checked > 20000, "addresses checked");
	if (family == 4) {
		/* the kernel's layout, and with 3 lines a level: the rest full */
		struct geofw_geo4_limits few = { .lines = 3 };
		struct geofw_geo4_layout l;
		__u32 a = (__u32)v[0].addr[0] << 24 | (__u32)v[0].addr[1] << 16;

		ASSERT_EQ(layout_mismatches(&img, NULL, &l, a), 0, "layout mismatches");
		geofw_geo4_layout_free(&l);
		ASSERT_EQ(layout_mismatches(&img, &few, &l, a), 0, "3 lines: mismatches");
		ASSERT_TRUE(l.row_lines <= 3 && l.chunk_lines <= 3, "3 lines at most");
		geofw_geo4_layout_free(&l);
	}
	geofw_geo_image_free(&img);
out:
	free(v);
}

void test_geotable_vs_brute_force(void)
{
	static const struct { const char *name; int family; size_t n; bool nested; } rows[] = {
		{ "v4_sparse", 4, 50, false },
		{ "v4_nested", 4, 400, true },
		{ "v4_many", 4, 3000, true },
		{ "v6_sparse", 6, 50, false },
		{ "v6_nested", 6, 400, true },
		{ "v6_many", 6, 3000, true },
		{ "v6_one", 6, 1, false },
	};
	size_t r;

	for (r = 0; r < sizeof(rows) / sizeof(rows[0]); r++)
		SUBTEST("%s", rows[r].name)
			check_family(rows[r].family, rows[r].n, rows[r].nested);
}

static struct geofw_geo_prefix P(const char *hex16, int len, int cc)
{
	struct geofw_geo_prefix p = { .prefixlen = (__u8)len, .country_id = (__u8)cc };
	unsigned int i;

	for (i = 0; i < 16 && hex16[2 * i]; i++)
		sscanf(hex16 + 2 * i, "%2hhx", &p.addr[i]);
	return p;
}

/* Hand-picked shapes: empty, everything, /0 under longer ones, a full /64
 * of longer prefixes, the top of the address space. */
void test_geotable_shapes(void)
{
	__u8 ones[16], zeros[16] = {};
	struct geofw_geo_image img;

	memset(ones, 0xff, 16);
	SUBTEST("empty") {
		if (ASSERT_OK(geofw_geo_build(NULL, 0, NULL, 0, &img), "build")) {
			ASSERT_EQ(geofw_geo_image_lookup(&img, 4, ones), 0, "v4");
			ASSERT_EQ(geofw_geo_image_lookup(&img, 6, ones), 0, "v6");
			ASSERT_EQ(img.n_tree6, 0, "no bucket split, no subtree");
			geofw_geo_image_free(&img);
		}
	}
	SUBTEST("default_routes") {
		struct geofw_geo_prefix v4[] = { P("00000000", 0, 7), P("cb007100", 24, 9) };
		struct geofw_geo_prefix v6[] = { P("", 0, 5), P("20010db8", 32, 6),
						 P("20010db8000000000000000000000000", 120, 8) };
		__u8 a[16] = { 0xcb, 0, 0x71, 0x05 };

		if (ASSERT_OK(geofw_geo_build(v4, 2, v6, 3, &img), "build")) {
			ASSERT_EQ(geofw_geo_image_lookup(&img, 4, zeros), 7, "0.0.0.0");
			ASSERT_EQ(geofw_geo_image_lookup(&img, 4, ones), 7, "255.255.255.255");
			ASSERT_EQ(geofw_geo_image_lookup(&img, 4, a), 9, "203.0.113.5");
			ASSERT_EQ(geofw_geo_image_lookup(&img, 6, ones), 5, "ffff::");
			ASSERT_EQ(geofw_geo_image_lookup(&img, 6, zeros), 5, "::");
			memcpy(a, "\x20\x01\x0d\xb8", 4);
			memset(a + 4, 0, 12);
			ASSERT_EQ(geofw_geo_image_lookup(&img, 6, a), 8, "2001:db8::");
			a[15] = 0xff;
			ASSERT_EQ(geofw_geo_image_lookup(&img, 6, a), 8, "2001:db8::ff");
			a[14] = 1;
			ASSERT_EQ(geofw_geo_image_lookup(&img, 6, a), 6, "2001:db8::1ff (same /64)");
			a[7] = 1;
			ASSERT_EQ(geofw_geo_image_lookup(&img, 6, a), 6, "2001:db8:0:1::");
			ASSERT_EQ(img.n_more6, 2, "the /120 and its /64 cover");
			geofw_geo_image_free(&img);
		}
	}
	SUBTEST("bad_input") {
		struct geofw_geo_prefix bad_len = P("00000000", 33, 1), bad_cc = P("00000000", 8, 0);

		ASSERT_ERR(geofw_geo_build(&bad_len, 1, NULL, 0, &img), "v4 /33");
		ASSERT_ERR(geofw_geo_build(&bad_cc, 1, NULL, 0, &img), "country 0");
		ASSERT_EQ(img.flat4 == NULL, 1, "image left empty");
	}
}

/* A table over its limit: -E2BIG, and the error names the table, the count
 * found and the limit (lowered here: the real ones take millions). */
void test_geotable_limits(void)
{
	struct geofw_geo_prefix v4[3], v6[4];
	struct geofw_geo_limits lim = {};
	struct geofw_geo_image img;
	int i;

	memset(v4, 0, sizeof(v4));
	memset(v6, 0, sizeof(v6));
	for (i = 0; i < 3; i++) {
		/* 198.18.i.0/25: three /24s holding a longer prefix */
		v4[i] = (struct geofw_geo_prefix){ .addr = { 198, 18, (__u8)i, 0 }, .prefixlen = 25,
						   .country_id = 1 };
		/* 2001:db8:0:i::1/128 under 2001:db8::/48 */
		v6[i] = (struct geofw_geo_prefix){ .addr = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, (__u8)i,
							     [15] = 1 }, .prefixlen = 128,
						   .country_id = 2 };
	}
	v6[3] = (struct geofw_geo_prefix){ .addr = { 0x20, 0x01, 0x0d, 0xb8 }, .prefixlen = 48,
					   .country_id = 3 };

	SUBTEST("at the limits") {
		lim = (struct geofw_geo_limits){ .more4 = 3, .more6 = 6 };
		if (ASSERT_OK(geofw_geo_build_limited(v4, 3, v6, 4, &lim, &img), "build")) {
			ASSERT_EQ(img.n_more4, 3, "chunks");
			/* three /128s and the three /64s holding them */
			ASSERT_EQ(img.n_more6, 6, "trie entries");
			lim.tree6_nodes = img.n_tree6;
			geofw_geo_image_free(&img);
			ASSERT_OK(geofw_geo_build_limited(v4, 3, v6, 4, &lim, &img), "tree at its limit");
			geofw_geo_image_free(&img);
		}
	}
	SUBTEST("gfw_geo4_more") {
		lim = (struct geofw_geo_limits){ .more4 = 2 };
		ASSERT_EQ(geofw_geo_build_limited(v4, 3, v6, 4, &lim, &img), -E2BIG, "build");
		ASSERT_STREQ(geofw_log_last_error(),
			     "geo tables: gfw_geo4_more: the database has 3 IPv4 /24s holding "
			     "prefixes longer than /24 (3 such prefixes); the limit is 2", "message");
	}
	SUBTEST("gfw_geo6_more, long prefixes") {
		lim = (struct geofw_geo_limits){ .more6 = 2 };
		ASSERT_EQ(geofw_geo_build_limited(v4, 3, v6, 4, &lim, &img), -E2BIG, "build");
		ASSERT_STREQ(geofw_log_last_error(),
			     "geo tables: gfw_geo6_more: the database has 3 IPv6 prefixes longer "
			     "than /64; the limit is 2", "message");
	}
	SUBTEST("gfw_geo6_more, with the /64s") {
		lim = (struct geofw_geo_limits){ .more6 = 5 };
		ASSERT_EQ(geofw_geo_build_limited(v4, 3, v6, 4, &lim, &img), -E2BIG, "build");
		ASSERT_STREQ(geofw_log_last_error(),
			     "geo tables: gfw_geo6_more: the database needs 6 entries (IPv6 prefixes "
			     "longer than /64 and the /64s holding them); the limit is 5", "message");
	}
	SUBTEST("gfw_geo6_tree") {
		/* two first-level buckets split (2001::/19, 2a00::/19): a leaf each */
		struct geofw_geo_prefix two[2] = {
			{ .addr = { 0x20, 0x01, 0x0d, 0xb8 }, .prefixlen = 48, .country_id = 3 },
			{ .addr = { 0x2a, 0x00, 0x00, 0x01 }, .prefixlen = 48, .country_id = 4 },
		};

		lim = (struct geofw_geo_limits){ .tree6_nodes = 1 };
		ASSERT_EQ(geofw_geo_build_limited(v4, 3, two, 2, &lim, &img), -E2BIG, "build");
		ASSERT_TRUE(strstr(geofw_log_last_error(), "geo tables: gfw_geo6_tree: the database "
				   "needs 2 tree nodes (") != NULL, geofw_log_last_error());
		ASSERT_TRUE(strstr(geofw_log_last_error(), "the limit is 1") != NULL, "limit named");
	}
	SUBTEST("above the kernel's limits: the kernel's") {
		lim = (struct geofw_geo_limits){ .more4 = (size_t)GEOFW_MAX_GEO4_MORE * 4 };
		if (ASSERT_OK(geofw_geo_build_limited(v4, 3, v6, 4, &lim, &img), "build"))
			geofw_geo_image_free(&img);
	}
}

/* 10.0.0.0/16 of id 1 with `extra` /24s of id 2 at 10.0.1.0, 10.0.3.0, ...
 * (two runs each), and 10.0.255.0/24 of id 3 when `last`: 1 + 2 * extra
 * (+ 1) runs of /24 entries. */
static size_t row_runs(struct geofw_geo_prefix *v, unsigned extra, bool last)
{
	size_t n = 0;
	unsigned i;

	v[n++] = (struct geofw_geo_prefix){ .addr = { 10, 0 }, .prefixlen = 16, .country_id = 1 };
	for (i = 0; i < extra; i++)
		v[n++] = (struct geofw_geo_prefix){ .addr = { 10, 0, (__u8)(2 * i + 1) },
						    .prefixlen = 24, .country_id = 2 };
	if (last)
		v[n++] = (struct geofw_geo_prefix){ .addr = { 10, 0, 255 }, .prefixlen = 24,
						    .country_id = 3 };
	return n;
}

/* 10.1.0.0/24 of id 1 (a /24 holding longer prefixes) with /32s of id 2 at
 * 10.1.0.1, .3, ... and 10.1.0.255 of id 3 when `last`. */
static size_t chunk_runs(struct geofw_geo_prefix *v, unsigned extra, bool last)
{
	size_t n = 0;
	unsigned i;

	v[n++] = (struct geofw_geo_prefix){ .addr = { 10, 1, 0 }, .prefixlen = 24, .country_id = 1 };
	for (i = 0; i < extra; i++)
		v[n++] = (struct geofw_geo_prefix){ .addr = { 10, 1, 0, (__u8)(2 * i + 1) },
						    .prefixlen = 32, .country_id = 2 };
	if (last)
		v[n++] = (struct geofw_geo_prefix){ .addr = { 10, 1, 0, 255 }, .prefixlen = 32,
						    .country_id = 3 };
	return n;
}

/* The IPv4 layout (include/geofw.h): a /16 of 21 runs is a row line, of 22
 * a full row; a /24 of 16 runs a chunk line, of 17 a full chunk; lines
 * over the limit are stored full; a level that does not fit even so is
 * refused with the table named.  Every address of the /16s is looked up
 * through the layout and compared with the image. */
void test_geotable_v4_lines(void)
{
	struct geofw_geo_prefix v[64];
	struct geofw_geo4_layout l;
	struct geofw_geo_image img;
	size_t n;

	static const struct {
		const char *name;
		bool chunk;		/* chunk_runs(), else row_runs() */
		unsigned extra;
		bool last;
		size_t lines, full, values;
	} shapes[] = {
		{ "a /16 of 21 runs: a row line", false, 10, false, 1, 0, 1 },
		{ "a /16 of 22 runs: a full row", false, 10, true, 0, 1, 8 },
		{ "a /24 of 16 runs: a chunk line", true, 7, true, 1, 0, 1 },
		{ "a /24 of 17 runs: a full chunk", true, 8, false, 0, 1, 8 },
	};

	for (size_t k = 0; k < sizeof(shapes) / sizeof(shapes[0]); k++)
		SUBTEST("%s", shapes[k].name) {
			bool c = shapes[k].chunk;

			n = c ? chunk_runs(v, shapes[k].extra, shapes[k].last) :
				row_runs(v, shapes[k].extra, shapes[k].last);
			if (ASSERT_OK(geofw_geo_build(v, n, NULL, 0, &img), "build")) {
				ASSERT_EQ(layout_mismatches(&img, NULL, &l, c ? 0x0a010000 : 0x0a000000), 0,
					  "mismatches");
				ASSERT_EQ(c ? l.chunk_lines : l.row_lines, shapes[k].lines, "lines");
				ASSERT_EQ(c ? l.chunk_full : l.row_full, shapes[k].full, "full");
				ASSERT_EQ(c ? l.n_chunks : l.n_rows, shapes[k].values, "values");
				/* a chunk's /16 holds its reference and id 0: a row line */
				if (c)
					ASSERT_EQ(l.row_lines, 1, "the chunk's /16: a row line");
				if (!c && shapes[k].lines)
					ASSERT_EQ(l.rows[0].line.start[20], 20, "the last run at 10.0.20.0");
				if (!c && shapes[k].full)
					ASSERT_EQ(l.rows[7].e[31], 3, "10.0.255.0/24: last entry of value 7");
				if (c && shapes[k].lines)
					ASSERT_EQ(l.chunks[0].line.id[15], 3, "10.1.0.255: the last run");
				geofw_geo4_layout_free(&l);
				geofw_geo_image_free(&img);
			}
		}
	SUBTEST("lines over the limit: stored full") {
		struct geofw_geo4_limits one = { .lines = 1 };
		struct geofw_geo_prefix w[64];
		size_t k;

		/* two /16s of 21 runs (10.0/16, 10.2/16) and two /24s of 16
		 * runs (10.1.0/24, 10.3.0/24) */
		n = row_runs(v, 10, false);
		n += chunk_runs(v + n, 7, true);
		k = n;
		for (size_t i = 0; i < k; i++) {
			w[i] = v[i];
			w[i].addr[1] += 2;
		}
		memcpy(v + n, w, k * sizeof(*v));
		n += k;
		if (ASSERT_OK(geofw_geo_build(v, n, NULL, 0, &img), "build")) {
			ASSERT_EQ(layout_mismatches(&img, &one, &l, 0x0a000000), 0, "10.0/16");
			ASSERT_EQ(l.row_lines, 1, "row lines");
			ASSERT_EQ(l.row_full, 3, "full rows");
			ASSERT_EQ(l.chunk_lines, 1, "chunk lines");
			ASSERT_EQ(l.chunk_full, 1, "full chunks");
			/* the line, then the full ones from the next block of 8 */
			ASSERT_EQ(l.n_rows, 32, "row values");
			ASSERT_EQ(l.n_chunks, 16, "chunk values");
			geofw_geo4_layout_free(&l);
			ASSERT_EQ(layout_mismatches(&img, &one, &l, 0x0a010000), 0, "10.1/16");
			geofw_geo4_layout_free(&l);
			ASSERT_EQ(layout_mismatches(&img, &one, &l, 0x0a020000), 0, "10.2/16");
			geofw_geo4_layout_free(&l);
			ASSERT_EQ(layout_mismatches(&img, &one, &l, 0x0a030000), 0, "10.3/16");
			geofw_geo4_layout_free(&l);
			geofw_geo_image_free(&img);
		}
	}
	SUBTEST("a level that does not fit: -E2BIG, the table named") {
		static const char *const asn_tables[2] = { GEOFW_MAP_ASN4_FLAT, GEOFW_MAP_ASN4_MORE };
		struct geofw_geo4_limits lim = { .lines = 1, .blocks = 2 };
		struct geofw_geo4_top *top = calloc(1, sizeof(*top));

		/* 10.0/16 of 22 runs and 10.1/16 holding a chunk of 17 runs:
		 * the chunk level needs 1 block, the rows 2 (one each) */
		n = row_runs(v, 10, true);
		n += chunk_runs(v + n, 8, false);
		if (top && ASSERT_OK(geofw_geo_build(v, n, NULL, 0, &img), "build")) {
			ASSERT_OK(geofw_geo4_layout_make(&img, "asn", asn_tables, &lim, top, &l),
				  "2 blocks fit");
			geofw_geo4_layout_free(&l);
			lim.blocks = 1;
			ASSERT_EQ(geofw_geo4_layout_make(&img, "asn", asn_tables, &lim, top, &l),
				  -E2BIG, "1 block");
			ASSERT_STREQ(geofw_log_last_error(),
				     "asn tables: gfw_asn4_flat: the database has 2 IPv4 /16s of "
				     "more than one id, 1 of them too varied for a line, which need "
				     "2 blocks of 8 values; the limit is 1", "message");
			ASSERT_TRUE(l.rows == NULL && l.chunks == NULL, "nothing left allocated");
			geofw_geo_image_free(&img);
		}
		free(top);
	}
}
