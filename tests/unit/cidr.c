// SPDX-License-Identifier: GPL-2.0-only
/* Address, CIDR, country code and duration parsing (user/lib/cidr.c). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cidr.h"
#include "test.h"

#define ZERO	GEOFW_CIDR_ALLOW_ZERO
#define HOST	GEOFW_CIDR_ALLOW_HOST_BITS
#define ADDR	GEOFW_CIDR_ADDR_ONLY

/* Rows: accepted with this canonical form, or rejected with this text. */
#define OK(in, flags, canon)	{ in, flags, canon, NULL }
#define BAD(in, flags, msg)	{ in, flags, NULL, msg }

static const struct {
	const char *in;
	unsigned int flags;
	const char *out;	/* canonical form when accepted */
	const char *err;	/* part of the message when rejected */
} parse_rows[] = {
	/* accepted, IPv4 */
	OK("203.0.113.0/24", 0, "203.0.113.0/24"),
	OK("203.0.113.7", 0, "203.0.113.7/32"),
	OK("203.0.113.7/32", 0, "203.0.113.7/32"),
	OK("203.0.113.6/31", 0, "203.0.113.6/31"),
	OK("128.0.0.0/1", 0, "128.0.0.0/1"),
	OK("0.0.0.0/0", ZERO, "0.0.0.0/0"),
	OK("0.0.0.0", 0, "0.0.0.0/32"),
	OK("255.255.255.255", 0, "255.255.255.255/32"),
	BAD("198.51.101.0/23", 0, "host bits set; did you mean 198.51.100.0/23?"),
	OK("198.51.100.0/22", 0, "198.51.100.0/22"),
	OK("198.51.96.0/20", 0, "198.51.96.0/20"),
	/* accepted, IPv6 */
	OK("2001:db8::/32", 0, "2001:db8::/32"),
	OK("2001:db8::1", 0, "2001:db8::1/128"),
	OK("2001:db8::1/128", 0, "2001:db8::1/128"),
	OK("2001:db8::/127", 0, "2001:db8::/127"),
	OK("8000::/1", 0, "8000::/1"),
	OK("::/0", ZERO, "::/0"),
	OK("::", 0, "::/128"),
	OK("::1", 0, "::1/128"),
	OK("2001:DB8::/32", 0, "2001:db8::/32"),
	OK("2001:0db8:0000::/48", 0, "2001:db8::/48"),
	OK("2001:db8:0:0:0:0:0:1", 0, "2001:db8::1/128"),
	OK("::203.0.113.7", 0, "::203.0.113.7/128"),
	/* IPv4-mapped IPv6 */
	OK("::ffff:203.0.113.7", 0, "203.0.113.7/32"),
	OK("::ffff:203.0.113.7/128", 0, "203.0.113.7/32"),
	OK("::ffff:203.0.113.0/120", 0, "203.0.113.0/24"),
	OK("::ffff:cb00:7100/120", 0, "203.0.113.0/24"),
	OK("::FFFF:203.0.113.0/127", 0, "203.0.113.0/31"),
	OK("::ffff:0.0.0.0/96", ZERO, "0.0.0.0/0"),
	BAD("::ffff:0.0.0.0/96", 0, "/0 matches every IPv4 address"),
	BAD("::ffff:203.0.113.0/95", 0, "IPv4-mapped prefix must be /96 or longer"),
	BAD("::ffff:203.0.113.0/64", 0, "IPv4-mapped prefix must be /96 or longer"),
	BAD("::ffff:203.0.113.7/120", 0, "host bits set; did you mean 203.0.113.0/24?"),
	OK("::ffff:203.0.113.7/120", HOST, "203.0.113.0/24"),
	BAD("::ffff:010.1.1.1", 0, "not an IPv4 or IPv6 address"),
	/* flags */
	OK("203.0.113.7/24", HOST, "203.0.113.0/24"),
	OK("2001:db8::1/32", HOST, "2001:db8::/32"),
	OK("203.0.113.7/0", HOST | ZERO, "0.0.0.0/0"),
	OK("203.0.113.7", ADDR, "203.0.113.7/32"),
	OK("2001:db8::7", ADDR, "2001:db8::7/128"),
	OK("::ffff:203.0.113.7", ADDR, "203.0.113.7/32"),
	BAD("203.0.113.0/24", ADDR, "203.0.113.0/24: expected a single address, not a prefix"),
	BAD("203.0.113.7/32", ADDR, "expected a single address"),
	BAD("2001:db8::/32", ADDR, "expected a single address"),
	BAD("203.0.113.0/", ADDR, "expected a single address"),
	/* bad addresses */
	BAD("", 0, "empty address"),
	BAD("010.1.1.1", 0, "010.1.1.1: not an IPv4 or IPv6 address"),
	BAD("010.1.1.0/24", 0, "not an IPv4 or IPv6 address"),
	BAD("1.2.3", 0, "1.2.3: not an IPv4 or IPv6 address"),
	BAD("1.2.3/24", 0, "not an IPv4 or IPv6 address"),
	BAD("0x7f.0.0.1", 0, "not an IPv4 or IPv6 address"),
	BAD("1.2.3.4.5", 0, "not an IPv4 or IPv6 address"),
	BAD("256.1.1.1", 0, "not an IPv4 or IPv6 address"),
	BAD("1.2.3.4x", 0, "not an IPv4 or IPv6 address"),
	BAD("1.2.3.4 ", 0, "not an IPv4 or IPv6 address"),
	BAD(" 1.2.3.4", 0, "not an IPv4 or IPv6 address"),
	BAD("1.2. 3.4", 0, "not an IPv4 or IPv6 address"),
	BAD("1.2.3.4 /24", 0, "not an IPv4 or IPv6 address"),
	BAD("/24", 0, "not an IPv4 or IPv6 address"),
	BAD("/", 0, "not an IPv4 or IPv6 address"),
	BAD("localhost", 0, "not an IPv4 or IPv6 address"),
	BAD("2001:db8::1%eth0", 0, "not an IPv4 or IPv6 address"),
	BAD("2001:db8:::1", 0, "not an IPv4 or IPv6 address"),
	BAD("2001:db8::g", 0, "not an IPv4 or IPv6 address"),
	BAD("1:2:3:4:5:6:7:8:9", 0, "not an IPv4 or IPv6 address"),
	BAD("[2001:db8::1]", 0, "not an IPv4 or IPv6 address"),
	BAD("1.2.3.4\x01", 0, "1.2.3.4?: not an IPv4 or IPv6 address"),
	BAD("\xff\xfe", 0, "??: not an IPv4 or IPv6 address"),
	/* bad prefix lengths */
	BAD("203.0.113.0/", 0, "203.0.113.0/: missing prefix length after '/'"),
	BAD("203.0.113.0/08", 0, "prefix length has a leading zero"),
	BAD("203.0.113.0/024", 0, "prefix length has a leading zero"),
	BAD("203.0.113.0/00", ZERO, "prefix length has a leading zero"),
	BAD("2001:db8::/032", 0, "prefix length has a leading zero"),
	BAD("203.0.113.0/+24", 0, "prefix length must be a decimal number"),
	BAD("203.0.113.0/-24", 0, "prefix length must be a decimal number"),
	BAD("203.0.113.0/24x", 0, "prefix length must be a decimal number"),
	BAD("203.0.113.0/ 24", 0, "prefix length must be a decimal number"),
	BAD("203.0.113.0/24 ", 0, "prefix length must be a decimal number"),
	BAD("203.0.113.0/0x18", 0, "prefix length must be a decimal number"),
	BAD("203.0.113.0/24/24", 0, "prefix length must be a decimal number"),
	BAD("203.0.113.0/2.4", 0, "prefix length must be a decimal number"),
	BAD("203.0.113.0/33", 0, "203.0.113.0/33: prefix length must be 0-32 for IPv4"),
	BAD("203.0.113.0/99999999999999999999", 0, "must be 0-32 for IPv4"),
	BAD("2001:db8::/129", 0, "2001:db8::/129: prefix length must be 0-128 for IPv6"),
	BAD("2001:db8::/1280", 0, "must be 0-128 for IPv6"),
	/* /0 */
	BAD("0.0.0.0/0", 0, "0.0.0.0/0: /0 matches every IPv4 address; use --force"),
	BAD("::/0", 0, "::/0: /0 matches every IPv6 address; use --force"),
	BAD("203.0.113.7/0", 0, "/0 matches every IPv4 address"),
	BAD("203.0.113.7/0", ZERO, "host bits set; did you mean 0.0.0.0/0?"),
	/* host bits */
	BAD("203.0.113.7/24", 0, "203.0.113.7/24: host bits set; did you mean 203.0.113.0/24?"),
	BAD("203.0.113.1/31", 0, "did you mean 203.0.113.0/31?"),
	BAD("203.0.113.7/1", 0, "did you mean 128.0.0.0/1?"),
	BAD("2001:db8::1/32", 0, "2001:db8::1/32: host bits set; did you mean 2001:db8::/32?"),
	BAD("2001:db8::1/127", 0, "did you mean 2001:db8::/127?"),
	BAD("2001:db8:ffff::/33", 0, "did you mean 2001:db8:8000::/33?"),
};

void test_cidr_parse(void)
{
	size_t i;

	for (i = 0; i < sizeof(parse_rows) / sizeof(parse_rows[0]); i++) {
		const typeof(parse_rows[0]) *row = &parse_rows[i];

		SUBTEST("%s (flags %#x)", row->in, row->flags) {
			struct geofw_cidr c, before;
			char err[GEOFW_ERRLEN] = "", buf[GEOFW_CIDR_STRLEN];
			int r;

			memset(&c, 0xa5, sizeof(c));
			before = c;
			r = geofw_cidr_parse(row->in, row->flags, &c, err, sizeof(err));
			if (row->out) {
				if (!ASSERT_OK(r, err))
					continue;
				ASSERT_OK(geofw_cidr_format(&c, buf, sizeof(buf)), "format");
				ASSERT_STREQ(buf, row->out, "canonical");
				ASSERT_TRUE(!geofw_cidr_has_host_bits(&c), "no host bits");
				ASSERT_TRUE(c.family == 4 ? !memcmp(c.addr + 4,
					    "\0\0\0\0\0\0\0\0\0\0\0\0", 12) : 1,
					    "unused bytes zero");
			} else {
				ASSERT_EQ(r, -EINVAL, "rejected");
				ASSERT_TRUE(strstr(err, row->err) != NULL, err);
				ASSERT_TRUE(!strchr(err, '\n'), "one line");
				ASSERT_MEMEQ(&c, &before, sizeof(c), "out untouched");
			}
		}
	}
}

void test_cidr_parse_edge(void)
{
	struct geofw_cidr c;
	char err[GEOFW_ERRLEN], tiny[8], *big;

	SUBTEST("NULL text") {
		ASSERT_EQ(geofw_cidr_parse(NULL, 0, &c, err, sizeof(err)), -EINVAL, "NULL");
		ASSERT_STREQ(err, "empty address", "message");
	}
	SUBTEST("NULL err buffer") {
		ASSERT_EQ(geofw_cidr_parse("1.2.3", 0, &c, NULL, 0), -EINVAL, "rejected");
		ASSERT_OK(geofw_cidr_parse("203.0.113.0/24", 0, &c, NULL, 0), "accepted");
	}
	SUBTEST("short err buffer is truncated") {
		ASSERT_EQ(geofw_cidr_parse("1.2.3", 0, &c, tiny, sizeof(tiny)), -EINVAL, "rejected");
		ASSERT_EQ(strlen(tiny), sizeof(tiny) - 1, "truncated");
	}
	SUBTEST("long input is echoed shortened") {
		big = malloc(10001);
		memset(big, 'a', 10000);
		big[10000] = '\0';
		ASSERT_EQ(geofw_cidr_parse(big, 0, &c, err, sizeof(err)), -EINVAL, "rejected");
		ASSERT_TRUE(strstr(err, "aaa...: not an IPv4 or IPv6 address") != NULL, err);
		ASSERT_TRUE(strlen(err) < 120, "short message");
		big[10] = '/';
		ASSERT_EQ(geofw_cidr_parse(big, 0, &c, err, sizeof(err)), -EINVAL, "long prefix");
		memcpy(big, "2001:db8::/", 11);
		ASSERT_EQ(geofw_cidr_parse(big, 0, &c, err, sizeof(err)), -EINVAL, "long prefix");
		ASSERT_TRUE(strstr(err, "decimal number") != NULL, err);
		memset(big + 11, '9', 10000 - 11);
		ASSERT_EQ(geofw_cidr_parse(big, 0, &c, err, sizeof(err)), -EINVAL, "many digits");
		ASSERT_TRUE(strstr(err, "0-128") != NULL, err);
		free(big);
	}
}

void test_cidr_format(void)
{
	static const char *const canon[] = {
		"203.0.113.0/24", "203.0.113.7/32", "0.0.0.0/0", "128.0.0.0/1",
		"255.255.255.254/31", "2001:db8::/32", "::/0", "2001:db8::1/128",
		"fe80::/10", "2001:db8:1:2:3:4:5:6/128", "::203.0.113.7/128",
	};
	struct geofw_cidr c, again;
	char buf[GEOFW_CIDR_STRLEN], err[GEOFW_ERRLEN];
	size_t i;

	for (i = 0; i < sizeof(canon) / sizeof(canon[0]); i++) {
		SUBTEST("round trip %s", canon[i]) {
			ASSERT_OK(geofw_cidr_parse(canon[i], ZERO, &c, err, sizeof(err)), err);
			ASSERT_OK(geofw_cidr_format(&c, buf, sizeof(buf)), "format");
			ASSERT_STREQ(buf, canon[i], "text");
			ASSERT_OK(geofw_cidr_parse(buf, ZERO, &again, err, sizeof(err)), err);
			ASSERT_EQ(geofw_cidr_cmp(&c, &again), 0, "same prefix");
		}
	}
	SUBTEST("longest text fits GEOFW_CIDR_STRLEN") {
		ASSERT_OK(geofw_cidr_parse("::ffff:255.255.255.255", 0, &c, err, sizeof(err)), err);
		memset(c.addr, 0xff, sizeof(c.addr));
		c.family = 6;
		c.prefixlen = 128;
		ASSERT_OK(geofw_cidr_format(&c, buf, sizeof(buf)), "format");
		ASSERT_STREQ(buf, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128", "text");
	}
	SUBTEST("small buffer") {
		ASSERT_OK(geofw_cidr_parse("203.0.113.0/24", 0, &c, err, sizeof(err)), err);
		ASSERT_EQ(geofw_cidr_format(&c, buf, 14), -ENOSPC, "14 bytes");
		ASSERT_OK(geofw_cidr_format(&c, buf, 15), "15 bytes");
		ASSERT_EQ(geofw_cidr_format(&c, buf, 0), -ENOSPC, "0 bytes");
	}
	SUBTEST("bad family or length") {
		memset(&c, 0, sizeof(c));
		c.family = 5;
		ASSERT_EQ(geofw_cidr_format(&c, buf, sizeof(buf)), -EINVAL, "family 5");
		c.family = 4;
		c.prefixlen = 33;
		ASSERT_EQ(geofw_cidr_format(&c, buf, sizeof(buf)), -EINVAL, "v4 /33");
	}
	SUBTEST("bare address") {
		static const __u8 a4[4] = { 203, 0, 113, 7 };
		static const __u8 a6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };

		ASSERT_OK(geofw_addr_format(4, a4, buf, sizeof(buf)), "v4");
		ASSERT_STREQ(buf, "203.0.113.7", "v4 text");
		ASSERT_OK(geofw_addr_format(6, a6, buf, sizeof(buf)), "v6");
		ASSERT_STREQ(buf, "2001:db8::1", "v6 text");
		ASSERT_EQ(geofw_addr_format(4, a4, buf, 11), -ENOSPC, "small buffer");
		ASSERT_EQ(geofw_addr_format(2, a4, buf, sizeof(buf)), -EINVAL, "family");
	}
}

static const struct {
	const char *net, *addr;
	bool in;
} contains_rows[] = {
	{ "203.0.113.0/24", "203.0.113.0", true },
	{ "203.0.113.0/24", "203.0.113.255", true },
	{ "203.0.113.0/24", "203.0.114.0", false },
	{ "203.0.113.0/24", "203.0.112.255", false },
	{ "203.0.113.7/32", "203.0.113.7", true },
	{ "203.0.113.7/32", "203.0.113.6", false },
	{ "128.0.0.0/1", "255.1.2.3", true },
	{ "128.0.0.0/1", "127.255.255.255", false },
	{ "0.0.0.0/0", "198.51.100.1", true },
	{ "0.0.0.0/0", "2001:db8::1", false },
	{ "203.0.113.0/24", "::ffff:203.0.113.9", true },
	{ "203.0.113.0/24", "::ffff:198.51.100.9", false },
	{ "2001:db8::/32", "2001:db8:ffff::1", true },
	{ "2001:db8::/32", "2001:db9::1", false },
	{ "2001:db8::/33", "2001:db8:7fff::1", true },
	{ "2001:db8::/33", "2001:db8:8000::1", false },
	{ "::/0", "2001:db8::1", true },
	{ "::/0", "203.0.113.1", false },
	{ "2001:db8::1/128", "2001:db8::1", true },
	{ "2001:db8::/32", "203.0.113.1", false },
};

void test_cidr_contains(void)
{
	size_t i;

	for (i = 0; i < sizeof(contains_rows) / sizeof(contains_rows[0]); i++) {
		const typeof(contains_rows[0]) *row = &contains_rows[i];

		SUBTEST("%s in %s", row->addr, row->net) {
			char err[GEOFW_ERRLEN];
			struct geofw_cidr net;
			__u8 a[16];
			int fam;

			ASSERT_OK(geofw_cidr_parse(row->net, ZERO, &net, err, sizeof(err)), err);
			fam = strchr(row->addr, ':') ? 6 : 4;
			ASSERT_EQ(inet_pton(fam == 4 ? AF_INET : AF_INET6, row->addr, a), 1,
				  "inet_pton");
			ASSERT_EQ(geofw_cidr_contains(&net, a, fam), row->in, "contains");
		}
	}
}

static struct geofw_cidr P(const char *text)
{
	struct geofw_cidr c;
	char err[GEOFW_ERRLEN];

	if (!ASSERT_OK(geofw_cidr_parse(text, ZERO, &c, err, sizeof(err)), err))
		memset(&c, 0, sizeof(c));
	return c;
}

void test_cidr_mask_cmp(void)
{
	/* In geofw_cidr_cmp() order. */
	static const char *const sorted[] = {
		"0.0.0.0/0", "0.0.0.0/8", "10.0.0.0/8", "10.0.0.0/16", "203.0.113.0/24",
		"203.0.113.0/25", "203.0.113.128/25", "255.255.255.255/32",
		"::/0", "::1/128", "2001:db8::/32", "2001:db8::/48", "2001:db8:1::/48",
	};
	struct geofw_cidr c, d;
	size_t i, j;

	SUBTEST("order") {
		for (i = 0; i < sizeof(sorted) / sizeof(sorted[0]); i++) {
			for (j = 0; j < sizeof(sorted) / sizeof(sorted[0]); j++) {
				struct geofw_cidr a = P(sorted[i]), b = P(sorted[j]);
				int r = geofw_cidr_cmp(&a, &b);

				if (!ASSERT_EQ(r < 0 ? -1 : r > 0, i < j ? -1 : i > j,
					       sorted[i]))
					break;
			}
		}
	}
	SUBTEST("mask") {
		static const struct { __u8 len; __u8 in[4], out[4]; } m[] = {
			{ 0, { 203, 0, 113, 7 }, { 0, 0, 0, 0 } },
			{ 1, { 203, 0, 113, 7 }, { 128, 0, 0, 0 } },
			{ 7, { 255, 255, 255, 255 }, { 254, 0, 0, 0 } },
			{ 8, { 203, 0, 113, 7 }, { 203, 0, 0, 0 } },
			{ 23, { 203, 0, 113, 7 }, { 203, 0, 112, 0 } },
			{ 31, { 203, 0, 113, 7 }, { 203, 0, 113, 6 } },
			{ 32, { 203, 0, 113, 7 }, { 203, 0, 113, 7 } },
		};

		for (i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
			memset(&c, 0, sizeof(c));
			c.family = 4;
			c.prefixlen = m[i].len;
			memcpy(c.addr, m[i].in, 4);
			ASSERT_EQ(geofw_cidr_has_host_bits(&c),
				  memcmp(m[i].in, m[i].out, 4) != 0, "has host bits");
			geofw_cidr_mask(&c);
			ASSERT_MEMEQ(c.addr, m[i].out, 4, "masked");
			ASSERT_TRUE(!geofw_cidr_has_host_bits(&c), "clean after mask");
		}
		memset(&c, 0xff, sizeof(c));
		c.family = 6;
		c.prefixlen = 65;
		geofw_cidr_mask(&c);
		ASSERT_EQ(c.addr[7], 0xff, "byte 7");
		ASSERT_EQ(c.addr[8], 0x80, "byte 8");
		ASSERT_EQ(c.addr[9], 0, "byte 9");
		ASSERT_EQ(c.addr[15], 0, "byte 15");
		c.prefixlen = 128;
		memset(c.addr, 0xff, 16);
		geofw_cidr_mask(&c);
		ASSERT_EQ(c.addr[15], 0xff, "/128 keeps all");
	}
	SUBTEST("equal after masking") {
		c = P("203.0.113.0/24");
		ASSERT_OK(geofw_cidr_parse("203.0.113.99/24", HOST, &d, NULL, 0), "parse");
		ASSERT_EQ(geofw_cidr_cmp(&c, &d), 0, "same");
	}
}

void test_cidr_lpm(void)
{
	struct geofw_lpm_v4 k4;
	struct geofw_lpm_v6 k6;
	struct geofw_cidr c, d;

	SUBTEST("v4 round trip") {
		c = P("203.0.113.0/24");
		ASSERT_OK(geofw_cidr_to_lpm_v4(&c, &k4), "to");
		ASSERT_EQ(k4.prefixlen, 24, "prefixlen");
		ASSERT_MEMEQ(k4.addr, "\xcb\x00\x71\x00", 4, "addr");
		ASSERT_OK(geofw_cidr_from_lpm_v4(&k4, &d), "from");
		ASSERT_EQ(geofw_cidr_cmp(&c, &d), 0, "same");
		ASSERT_EQ(geofw_cidr_to_lpm_v6(&c, &k6), -EINVAL, "wrong family");
	}
	SUBTEST("v6 round trip") {
		c = P("2001:db8::/32");
		ASSERT_OK(geofw_cidr_to_lpm_v6(&c, &k6), "to");
		ASSERT_EQ(k6.prefixlen, 32, "prefixlen");
		ASSERT_MEMEQ(k6.addr, c.addr, 16, "addr");
		ASSERT_OK(geofw_cidr_from_lpm_v6(&k6, &d), "from");
		ASSERT_EQ(geofw_cidr_cmp(&c, &d), 0, "same");
		ASSERT_EQ(geofw_cidr_to_lpm_v4(&c, &k4), -EINVAL, "wrong family");
	}
	SUBTEST("from key masks host bits") {
		k4.prefixlen = 24;
		memcpy(k4.addr, "\xcb\x00\x71\x07", 4);
		ASSERT_OK(geofw_cidr_from_lpm_v4(&k4, &d), "from v4");
		c = P("203.0.113.0/24");
		ASSERT_EQ(geofw_cidr_cmp(&c, &d), 0, "masked v4");
		memset(&k6, 0xff, sizeof(k6));
		k6.prefixlen = 16;
		ASSERT_OK(geofw_cidr_from_lpm_v6(&k6, &d), "from v6");
		c = P("ffff::/16");
		ASSERT_EQ(geofw_cidr_cmp(&c, &d), 0, "masked v6");
	}
	SUBTEST("bad key length") {
		k4.prefixlen = 33;
		ASSERT_EQ(geofw_cidr_from_lpm_v4(&k4, &d), -EINVAL, "v4 /33");
		k6.prefixlen = 129;
		ASSERT_EQ(geofw_cidr_from_lpm_v6(&k6, &d), -EINVAL, "v6 /129");
	}
}

static const struct {
	const char *in;
	const char *out;	/* NULL: rejected */
} cc_rows[] = {
	{ "RU", "RU" }, { "ru", "RU" }, { "Ru", "RU" }, { "zz", "ZZ" }, { "aZ", "AZ" },
	{ "", NULL }, { "R", NULL }, { "RUS", NULL }, { "R1", NULL }, { "12", NULL },
	{ " RU", NULL }, { "RU ", NULL }, { "R-", NULL }, { "@A", NULL }, { "[A", NULL },
	{ "`a", NULL }, { "{a", NULL }, { "\xc3\xa9", NULL }, { "R\n", NULL },
};

void test_cc_parse(void)
{
	char out[3], err[GEOFW_ERRLEN];
	size_t i;

	for (i = 0; i < sizeof(cc_rows) / sizeof(cc_rows[0]); i++) {
		SUBTEST("%s", cc_rows[i].in) {
			int r = geofw_cc_parse(cc_rows[i].in, out, err, sizeof(err));

			if (cc_rows[i].out) {
				ASSERT_OK(r, err);
				ASSERT_STREQ(out, cc_rows[i].out, "code");
			} else {
				ASSERT_EQ(r, -EINVAL, "rejected");
				ASSERT_TRUE(strstr(err, "a country is two letters (ISO 3166-1 alpha-2), e.g. RU") != NULL, err);
			}
		}
	}
	SUBTEST("message") {
		ASSERT_EQ(geofw_cc_parse("RUS", out, err, sizeof(err)), -EINVAL, "RUS");
		ASSERT_STREQ(err, "RUS: a country is two letters (ISO 3166-1 alpha-2), e.g. RU",
			     "text");
		ASSERT_EQ(geofw_cc_parse(NULL, out, err, sizeof(err)), -EINVAL, "NULL");
	}
}

static const struct {
	const char *in;
	__u64 secs;		/* 0: rejected */
	const char *err;
} dur_rows[] = {
	{ "30s", 30, NULL },
	{ "10m", 600, NULL },
	{ "2h", 7200, NULL },
	{ "7d", 604800, NULL },
	{ "1w", 604800, NULL },
	{ "1h30m", 5400, NULL },
	{ "1w2d3h4m5s", 604800 + 2 * 86400 + 3 * 3600 + 4 * 60 + 5, NULL },
	{ "1d12h", 129600, NULL },
	{ "1h0m", 3600, NULL },
	{ "90", 90, NULL },
	{ "1", 1, NULL },
	{ "01m", 60, NULL },
	{ "3600s", 3600, NULL },
	{ "100000m", 6000000, NULL },
	{ "18446744073s", 18446744073ULL, NULL },
	{ "", 0, "empty duration" },
	{ "0", 0, "greater than zero" },
	{ "0s", 0, "greater than zero" },
	{ "0h0m", 0, "greater than zero" },
	{ "-5m", 0, "cannot be negative" },
	{ "-5", 0, "cannot be negative" },
	{ "+5m", 0, "a duration is a number with a unit" },
	{ "5x", 0, "a duration is a number with a unit" },
	{ "m", 0, "a duration is a number with a unit" },
	{ "1H", 0, "a duration is a number with a unit" },
	{ "1.5h", 0, "a duration is a number with a unit" },
	{ " 5m", 0, "a duration is a number with a unit" },
	{ "5m ", 0, "a duration is a number with a unit" },
	{ "5 m", 0, "a duration is a number with a unit" },
	{ "1h30", 0, "a duration is a number with a unit" },
	{ "5mm", 0, "a duration is a number with a unit" },
	{ "30m1h", 0, "largest to smallest" },
	{ "1h1h", 0, "largest to smallest" },
	{ "1s1w", 0, "largest to smallest" },
	{ "18446744074s", 0, "too long" },
	{ "18446744073709551615", 0, "too long" },
	{ "18446744073709551616", 0, "too long" },
	{ "99999999999999999999999999w", 0, "too long" },
	{ "30500000000w", 0, "too long" },
	{ "99999999999999999999x", 0, "a duration is a number with a unit" },
};

void test_duration_parse(void)
{
	char err[GEOFW_ERRLEN];
	size_t i;

	for (i = 0; i < sizeof(dur_rows) / sizeof(dur_rows[0]); i++) {
		const typeof(dur_rows[0]) *row = &dur_rows[i];

		SUBTEST("%s", row->in) {
			__u64 s = 12345;
			int r = geofw_duration_parse(row->in, &s, err, sizeof(err));

			if (row->secs) {
				ASSERT_OK(r, err);
				ASSERT_EQ(s, row->secs, "seconds");
			} else {
				ASSERT_EQ(r, -EINVAL, "rejected");
				ASSERT_EQ(s, 12345, "out untouched");
				ASSERT_TRUE(strstr(err, row->err) != NULL, err);
			}
		}
	}
	SUBTEST("maximum") {
		__u64 s;

		ASSERT_EQ(GEOFW_DURATION_MAX, 18446744073ULL, "max");
		ASSERT_OK(geofw_duration_parse("18446744073", &s, NULL, 0), "max accepted");
		ASSERT_EQ(geofw_duration_parse(NULL, &s, NULL, 0), -EINVAL, "NULL");
	}
}
