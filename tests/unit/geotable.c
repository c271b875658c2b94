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
