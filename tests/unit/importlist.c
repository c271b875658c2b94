// SPDX-License-Identifier: GPL-2.0-only
/* Blocklist import (user/lib/importlist.c), from memory and from files. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "importlist.h"
#include "test.h"

#define FORCE	GEOFW_IMPORT_FORCE
#define MASK	GEOFW_IMPORT_MASK_HOST_BITS

static char tmpdir[64];

static bool make_tmpdir(void)
{
	strcpy(tmpdir, "/tmp/geofw-importlist-XXXXXX");
	return ASSERT_TRUE(mkdtemp(tmpdir) != NULL, "mkdtemp");
}

static void remove_tmpdir(void)
{
	if (ASSERT_OK(rmdir(tmpdir) ? -errno : 0, "rmdir"))
		tmpdir[0] = '\0';
}

static bool write_file(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "w");
	bool ok;

	if (!ASSERT_TRUE(f != NULL, path))
		return false;
	ok = fwrite(data, 1, len, f) == len;
	ok = fclose(f) == 0 && ok;
	return ASSERT_TRUE(ok, "write");
}

/* "a b c": the entries as canonical text, to compare with a table row. */
static void join(const struct geofw_importlist *l, char *buf, size_t len)
{
	char one[GEOFW_CIDR_STRLEN];
	size_t i, o = 0;

	buf[0] = '\0';
	for (i = 0; i < l->n && o < len; i++) {
		if (geofw_cidr_format(&l->v[i], one, sizeof(one)))
			strcpy(one, "?");
		o += snprintf(buf + o, len - o, "%s%s", i ? " " : "", one);
	}
}

static const char spamhaus_drop[] =
	"; Spamhaus DROP List 2024/06/13 - (c) 2024 The Spamhaus Project SLU\n"
	"; https://www.spamhaus.org/drop/drop.txt\n"
	"; Last-Modified: Thu, 13 Jun 2024 10:47:33 GMT\n"
	"; Expires: Thu, 13 Jun 2024 12:35:36 GMT\n"
	"203.0.113.0/24 ; SBL256894\n"
	"198.51.100.0/25 ; SBL000001\n"
	"198.51.100.128/25 ; SBL000002\n";

static const char spamhaus_json[] =
	"{\"cidr\":\"203.0.113.0/24\",\"sblid\":\"SBL256894\",\"rir\":\"apnic\"}\n"
	"{\"cidr\":\"198.51.100.0/25\",\"sblid\":\"SBL000001\",\"rir\":\"ripencc\"}\n"
	"{\"type\":\"metadata\",\"timestamp\":1718275653,\"size\":12345,\"records\":2,"
	"\"copyright\":\"(c) 2024 The Spamhaus Project SLU\","
	"\"terms\":\"https:\\/\\/www.spamhaus.org\\/drop\\/terms\\/\"}\n";

static const char firehol_netset[] =
	"#\n"
	"# firehol_level1\n"
	"#\n"
	"# ipv4 hash:net ipset\n"
	"#\n"
	"# Source: https://iplists.firehol.org/?ipset=firehol_level1\n"
	"# Maintainer      : FireHOL\n"
	"#\n"
	"198.51.100.0/24\n"
	"203.0.113.5\n"
	"203.0.113.64/26\n";

static const struct {
	const char *name;
	const char *in;
	unsigned int flags;
	const char *out;	/* entries, canonical and sorted */
	size_t dups, lines;
} ok_rows[] = {
	{ "empty", "", 0, "", 0, 0 },
	{ "only newline", "\n", 0, "", 0, 1 },
	{ "one line, no newline", "203.0.113.0/24", 0, "203.0.113.0/24", 0, 1 },
	{ "plain", "203.0.113.0/24\n198.51.100.7\n2001:db8::/32\n2001:db8:1::1\n", 0,
	  "198.51.100.7/32 203.0.113.0/24 2001:db8::/32 2001:db8:1::1/128", 0, 4 },
	{ "comments and blanks",
	  "# header\n; also a comment\n\n   \n\t\n203.0.113.0/24 # trailing\n"
	  "198.51.100.0/24;SBL1\n198.51.100.9#x\n\t2001:db8::1\t\n  # indented\n", 0,
	  "198.51.100.0/24 198.51.100.9/32 203.0.113.0/24 2001:db8::1/128", 0, 10 },
	{ "CRLF", "# c\r\n203.0.113.0/24\r\n\r\n198.51.100.0/24 ; x\r\n2001:db8::/48\r\n", 0,
	  "198.51.100.0/24 203.0.113.0/24 2001:db8::/48", 0, 5 },
	{ "CRLF, no final newline", "203.0.113.0/24\r\n198.51.100.1\r", 0,
	  "198.51.100.1/32 203.0.113.0/24", 0, 2 },
	{ "UTF-8 BOM", "\xef\xbb\xbf" "203.0.113.0/24\n", 0, "203.0.113.0/24", 0, 1 },
	{ "spamhaus drop", spamhaus_drop, 0,
	  "198.51.100.0/25 198.51.100.128/25 203.0.113.0/24", 0, 7 },
	{ "spamhaus json", spamhaus_json, 0, "198.51.100.0/25 203.0.113.0/24", 0, 3 },
	{ "json spacing, escapes, nesting",
	  " { \"sblid\" : \"S\\\"1\" , \"cidr\" : \"203.0.113.0\\/24\" , \"n\" : -1.5e3,"
	  " \"o\" : {\"a\":[1,true,false,null,{}],\"b\":[]} }\r\n"
	  "{\"\\u0063idr\":\"198.51.100.0/24\"}\n"
	  "{\"type\":\"metadata\",\"nested\":{\"x\":[[[]]]}}\n", 0,
	  "198.51.100.0/24 203.0.113.0/24", 0, 3 },
	{ "json deep nesting in a field not used",
	  "{\"x\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]],"
	  "\"cidr\":\"203.0.113.0/24\"}\n", 0, "203.0.113.0/24", 0, 1 },
	{ "json v6", "{\"cidr\":\"2001:db8::/32\",\"sblid\":\"SBL1\",\"rir\":\"arin\"}\n", 0,
	  "2001:db8::/32", 0, 1 },
	{ "firehol netset", firehol_netset, 0,
	  "198.51.100.0/24 203.0.113.5/32 203.0.113.64/26", 0, 11 },
	{ "mixed formats", "203.0.113.0/24\n{\"cidr\":\"198.51.100.0/24\"}\n", 0,
	  "198.51.100.0/24 203.0.113.0/24", 0, 2 },
	{ "duplicates",
	  "203.0.113.0/24\n203.0.113.0/24\n::ffff:203.0.113.0/120\n198.51.100.1\n"
	  "198.51.100.1/32\n{\"cidr\":\"203.0.113.0/24\"}\n203.0.113.0/25\n", 0,
	  "198.51.100.1/32 203.0.113.0/24 203.0.113.0/25", 4, 7 },
	{ "host bits masked", "203.0.113.7/24\n203.0.113.0/24\n2001:db8::1/64\n", MASK,
	  "203.0.113.0/24 2001:db8::/64", 1, 3 },
	{ "/0 forced", "0.0.0.0/0\n::/0\n", FORCE, "0.0.0.0/0 ::/0", 0, 2 },
	{ "v4-mapped", "::ffff:198.51.100.7\n", 0, "198.51.100.7/32", 0, 1 },
};

static const struct {
	const char *name;
	const char *in;
	unsigned int flags;
	const char *err;	/* after "NAME:" */
} bad_rows[] = {
	{ "bad address", "203.0.113.0/24\n1.2.3\n198.51.100.0/24\n", 0,
	  "2: 1.2.3: not an IPv4 or IPv6 address" },
	{ "line number counts comments", "# c\n\n; c\n203.0.113.0/24\n203.0.113.7/24\n", 0,
	  "5: 203.0.113.7/24: host bits set; did you mean 203.0.113.0/24?" },
	{ "host bits in a CRLF file", "203.0.113.0/24\r\n2001:db8::1/32 ; x\r\n", 0,
	  "2: 2001:db8::1/32: host bits set; did you mean 2001:db8::/32?" },
	{ "/0", "203.0.113.0/24\n0.0.0.0/0\n", 0,
	  "2: 0.0.0.0/0: /0 matches every IPv4 address; use --force if you mean it" },
	{ "/0 in json", "{\"cidr\":\"::/0\"}\n", 0, "1: ::/0: /0 matches every IPv6 address" },
	{ "leading zero", "010.1.1.1\n", 0, "1: 010.1.1.1: not an IPv4 or IPv6 address" },
	{ "prefix too long", "203.0.113.0/33\n", MASK | FORCE,
	  "1: 203.0.113.0/33: prefix length must be 0-32 for IPv4" },
	{ "last line without newline", "203.0.113.0/24\n203.0.113.0/2x", 0,
	  "2: 203.0.113.0/2x: prefix length must be a decimal number" },
	{ "two addresses", "203.0.113.1 203.0.113.2\n", 0,
	  "1: 203.0.113.1 203.0.113.2: one address or CIDR per line, then only a # or ; comment" },
	{ "text without comment marker", "203.0.113.0/24 SBL256894\n", 0,
	  "1: 203.0.113.0/24 SBL256894: one address or CIDR per line" },
	{ "range", "203.0.113.1-203.0.113.9\n", 0,
	  "1: 203.0.113.1-203.0.113.9: not an IPv4 or IPv6 address" },
	{ "control byte", "203.0.113.1\x01\n", 0, "1: 203.0.113.1?: not an IPv4" },
	{ "NUL byte", "203.0.113.0/24\n203.0.113.1\0\n", 0,
	  "2: NUL byte in line (not a text file?)" },
	{ "bare CR inside", "203.0.113.1\r203.0.113.2\n", 0, "1: 203.0.113.1?203.0.113.2: one address" },
	{ "json without cidr", "{\"sblid\":\"SBL1\"}\n", 0, "1: JSON line without a \"cidr\" field" },
	{ "json empty object", "{}\n", 0, "1: JSON line without a \"cidr\" field" },
	{ "json cidr number", "{\"cidr\":5}\n", 0, "1: \"cidr\" must be a string" },
	{ "json cidr twice", "{\"cidr\":\"203.0.113.0/24\",\"cidr\":\"198.51.100.0/24\"}\n", 0,
	  "1: malformed JSON at column 31: duplicate object key" },
	{ "json bad cidr", "{\"cidr\":\"203.0.113.7/24\"}\n", 0,
	  "1: 203.0.113.7/24: host bits set; did you mean 203.0.113.0/24?" },
	{ "json cidr with space", "{\"cidr\":\" 203.0.113.0/24\"}\n", 0, "1:  203.0.113.0/24: not an" },
	{ "json unterminated", "{\"cidr\":\"203.0.113.0/24\"\n", 0, "1: malformed JSON at column 24: '}' expected" },
	{ "json trailing text", "{\"cidr\":\"203.0.113.0/24\"} # x\n", 0, "1: malformed JSON at column 27" },
	{ "json trailing comma", "{\"cidr\":\"203.0.113.0/24\",}\n", 0, "1: malformed JSON" },
	{ "json single quotes", "{'cidr':'203.0.113.0/24'}\n", 0, "1: malformed JSON at column 2" },
	{ "json bad escape", "{\"cidr\":\"203.0.113.0\\x/24\"}\n", 0, "1: malformed JSON" },
	{ "json bad \\u", "{\"cidr\":\"\\u12\"}\n", 0, "1: malformed JSON" },
	{ "json control char in string", "{\"x\":\"a\tb\",\"cidr\":\"203.0.113.0/24\"}\n", 0,
	  "1: malformed JSON" },
	{ "json bad number", "{\"n\":01,\"cidr\":\"203.0.113.0/24\"}\n", 0, "1: malformed JSON" },
	{ "json bad literal", "{\"n\":tru,\"cidr\":\"203.0.113.0/24\"}\n", 0, "1: malformed JSON" },
	{ "json array line", "[\"203.0.113.0/24\"]\n", 0, "1: [\"203.0.113.0/24\"]: not an IPv4" },
	{ "json not UTF-8", "{\"x\":\"\xff\",\"cidr\":\"203.0.113.0/24\"}\n", 0,
	  "1: malformed JSON" },
	{ "json NUL escape", "{\"cidr\":\"203.0.113.0/24\\u0000\"}\n", 0, "1: malformed JSON" },
	{ "metadata not a string type", "{\"type\":1}\n", 0, "1: JSON line without a \"cidr\"" },
};

static void check_ok_row(int i, const struct geofw_importlist *l, int r, const char *err)
{
	char got[1024];

	if (!ASSERT_OK(r, err))
		return;
	join(l, got, sizeof(got));
	ASSERT_STREQ(got, ok_rows[i].out, "entries");
	ASSERT_EQ(l->duplicates, ok_rows[i].dups, "duplicates");
	ASSERT_EQ(l->lines, ok_rows[i].lines, "lines");
}

static void check_bad_row(int i, const char *name, const struct geofw_importlist *l, int r,
			  const char *err)
{
	char want[512];

	snprintf(want, sizeof(want), "%s:%s", name, bad_rows[i].err);
	ASSERT_EQ(r, -EINVAL, "rejected");
	ASSERT_TRUE(!strncmp(err, want, strlen(want)), err);
	ASSERT_TRUE(!strchr(err, '\n'), "one line");
	ASSERT_EQ(l->n, 0, "no entries (all or nothing)");
	ASSERT_TRUE(l->v == NULL, "vector freed");
}

void test_importlist_buf(void)
{
	struct geofw_importlist l;
	char err[GEOFW_ERRLEN];
	size_t i;
	int r;

	for (i = 0; i < sizeof(ok_rows) / sizeof(ok_rows[0]); i++) {
		SUBTEST("%s", ok_rows[i].name) {
			r = geofw_importlist_parse_buf(ok_rows[i].in, strlen(ok_rows[i].in), "t",
						       ok_rows[i].flags, &l, err, sizeof(err));
			check_ok_row(i, &l, r, err);
			geofw_importlist_free(&l);
		}
	}
	for (i = 0; i < sizeof(bad_rows) / sizeof(bad_rows[0]); i++) {
		SUBTEST("rejects %s", bad_rows[i].name) {
			const char *in = bad_rows[i].in;
			size_t len = strlen(in);

			if (!strcmp(bad_rows[i].name, "NUL byte"))
				len += 1 + strlen(in + len + 1);
			r = geofw_importlist_parse_buf(in, len, "t", bad_rows[i].flags, &l,
						       err, sizeof(err));
			check_bad_row(i, "t", &l, r, err);
		}
	}
}

/* The same tables through the streaming file reader. */
void test_importlist_file(void)
{
	struct geofw_importlist l;
	char err[GEOFW_ERRLEN], path[128];
	size_t i;
	int r;

	if (!make_tmpdir())
		return;
	snprintf(path, sizeof(path), "%s/list", tmpdir);
	for (i = 0; i < sizeof(ok_rows) / sizeof(ok_rows[0]); i++) {
		SUBTEST("%s", ok_rows[i].name) {
			if (!write_file(path, ok_rows[i].in, strlen(ok_rows[i].in)))
				continue;
			r = geofw_importlist_read(path, ok_rows[i].flags, &l, err, sizeof(err));
			check_ok_row(i, &l, r, err);
			geofw_importlist_free(&l);
		}
	}
	for (i = 0; i < sizeof(bad_rows) / sizeof(bad_rows[0]); i++) {
		SUBTEST("rejects %s", bad_rows[i].name) {
			const char *in = bad_rows[i].in;
			size_t len = strlen(in);

			if (!strcmp(bad_rows[i].name, "NUL byte"))
				len += 1 + strlen(in + len + 1);
			if (!write_file(path, in, len))
				continue;
			r = geofw_importlist_read(path, bad_rows[i].flags, &l, err, sizeof(err));
			check_bad_row(i, path, &l, r, err);
		}
	}
	SUBTEST("missing file") {
		char want[160];

		snprintf(want, sizeof(want), "%s/nope: No such file or directory", tmpdir);
		snprintf(path, sizeof(path), "%s/nope", tmpdir);
		r = geofw_importlist_read(path, 0, &l, err, sizeof(err));
		ASSERT_EQ(r, -ENOENT, "ENOENT");
		ASSERT_STREQ(err, want, "message");
		ASSERT_EQ(l.n, 0, "empty");
	}
	SUBTEST("directory") {
		r = geofw_importlist_read(tmpdir, 0, &l, err, sizeof(err));
		ASSERT_EQ(r, -EISDIR, "EISDIR");
		ASSERT_TRUE(strstr(err, "Is a directory") != NULL, err);
	}
	snprintf(path, sizeof(path), "%s/list", tmpdir);
	unlink(path);
	remove_tmpdir();
}

static void fill(char *p, char ch, size_t n)
{
	memset(p, ch, n);
}

/* Line length limit, at every position relative to the read buffer. */
void test_importlist_long_lines(void)
{
	const size_t max = GEOFW_IMPORT_LINE_MAX;
	const size_t big = 3 * 256 * 1024;
	struct geofw_importlist l;
	char err[GEOFW_ERRLEN], path[128];
	char *buf = malloc(big + 2 * max + 64);
	size_t len, pad, k;
	int r;

	if (!ASSERT_TRUE(buf != NULL, "malloc") || !make_tmpdir())
		goto out;
	snprintf(path, sizeof(path), "%s/long", tmpdir);

	SUBTEST("exactly the limit, LF and CRLF") {
		/* Spaces up to the limit, then the entry. */
		len = 0;
		fill(buf, ' ', max - 14);
		memcpy(buf + max - 14, "203.0.113.0/24\n", 15);
		len += max + 1;
		fill(buf + len, ' ', max - 15);
		memcpy(buf + len + max - 15, "198.51.100.0/24\r\n", 17);
		len += max + 2;
		r = geofw_importlist_parse_buf(buf, len, "t", 0, &l, err, sizeof(err));
		ASSERT_OK(r, err);
		ASSERT_EQ(l.n, 2, "entries");
		geofw_importlist_free(&l);
		if (write_file(path, buf, len)) {
			r = geofw_importlist_read(path, 0, &l, err, sizeof(err));
			ASSERT_OK(r, err);
			ASSERT_EQ(l.n, 2, "entries from file");
			geofw_importlist_free(&l);
		}
	}
	SUBTEST("one byte over") {
		fill(buf, ' ', max - 13);
		memcpy(buf + max - 13, "203.0.113.0/24\n", 15);
		len = max + 2;
		r = geofw_importlist_parse_buf(buf, len, "t", 0, &l, err, sizeof(err));
		ASSERT_EQ(r, -EINVAL, "rejected");
		ASSERT_STREQ(err, "t:1: line too long (more than 4096 bytes)", "message");
	}
	/* Many short lines, then an overlong one crossing the read buffer
	 * boundary at various offsets; both readers must agree. */
	for (pad = 0; pad < 3; pad++) {
		SUBTEST("overlong line after %zu bytes of entries", 256 * 1024 - 17 * pad - 5) {
			size_t lines = 0, target = 256 * 1024 - 17 * pad - 5;
			char want[256];

			len = 0;
			while (len + 16 <= target) {
				memcpy(buf + len, "203.0.113.0/24\n", 15);
				len += 15;
				lines++;
			}
			for (k = len; k < target; k++)
				buf[len++] = ' ';
			buf[len - 1] = '\n';
			lines++;
			fill(buf + len, 'x', 2 * max);
			len += 2 * max;
			buf[len++] = '\n';

			r = geofw_importlist_parse_buf(buf, len, "t", 0, &l, err, sizeof(err));
			snprintf(want, sizeof(want), "t:%zu: line too long", lines + 1);
			ASSERT_EQ(r, -EINVAL, "buf rejected");
			ASSERT_TRUE(!strncmp(err, want, strlen(want)), err);
			if (!write_file(path, buf, len))
				continue;
			r = geofw_importlist_read(path, 0, &l, err, sizeof(err));
			snprintf(want, sizeof(want), "%s:%zu: line too long", path, lines + 1);
			ASSERT_EQ(r, -EINVAL, "file rejected");
			ASSERT_TRUE(!strncmp(err, want, strlen(want)), err);
			ASSERT_EQ(l.n, 0, "no entries");
		}
	}
	unlink(path);
	remove_tmpdir();
out:
	free(buf);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* A list of 1,000,000 lines: mostly /32s, some CIDRs, IPv6, comments,
 * duplicates; streamed from a file and parsed from memory alike. */
void test_importlist_million(void)
{
	const size_t nlines = 1000000;
	struct geofw_importlist a, b;
	size_t i, len = 0, cap = nlines * 48, entries = 0;
	char err[GEOFW_ERRLEN], path[128];
	double t0, t_file, t_buf;
	char *buf = malloc(cap);
	int r;

	if (!ASSERT_TRUE(buf != NULL, "malloc") || !make_tmpdir())
		goto out;
	snprintf(path, sizeof(path), "%s/million.netset", tmpdir);
	for (i = 0; i < nlines; i++) {
		uint64_t x = rnd();
		__u32 v4 = (__u32)x;

		if (i % 1000 == 0) {
			len += sprintf(buf + len, "# block %zu\n", i / 1000);
			continue;
		}
		entries++;
		switch (i % 10) {
		case 0:
			len += sprintf(buf + len, "%u.%u.%u.0/24 ; SBL%zu\r\n", v4 >> 24,
				       (v4 >> 16) & 255, (v4 >> 8) & 255, i);
			break;
		case 1:
			len += sprintf(buf + len, "2001:db8:%x:%x::/64\n", (unsigned int)(x >> 32) & 0xffff,
				       (unsigned int)(x >> 48));
			break;
		case 2:
			/* A repeat of an earlier /32, to exercise dedup. */
			len += sprintf(buf + len, "203.0.113.%zu\n", i % 256);
			break;
		default:
			len += sprintf(buf + len, "%u.%u.%u.%u\n", v4 >> 24, (v4 >> 16) & 255,
				       (v4 >> 8) & 255, v4 & 255);
		}
	}
	if (!write_file(path, buf, len))
		goto cleanup;

	t0 = now_ms();
	r = geofw_importlist_read(path, 0, &a, err, sizeof(err));
	t_file = now_ms() - t0;
	if (!ASSERT_OK(r, err))
		goto cleanup;
	t0 = now_ms();
	r = geofw_importlist_parse_buf(buf, len, "mem", 0, &b, err, sizeof(err));
	t_buf = now_ms() - t0;
	if (ASSERT_OK(r, err)) {
		printf("# %zu lines (%zu bytes): %zu entries, %zu duplicates; "
		       "file %.0f ms, memory %.0f ms\n",
		       a.lines, len, a.n, a.duplicates, t_file, t_buf);
		ASSERT_EQ(a.lines, nlines, "lines");
		ASSERT_EQ(a.n + a.duplicates, entries, "entries + duplicates");
		ASSERT_TRUE(a.duplicates >= 100000 - 256, "duplicates found");
		ASSERT_EQ(a.n, b.n, "same count");
		ASSERT_EQ(a.duplicates, b.duplicates, "same duplicates");
		ASSERT_TRUE(a.n == b.n && !memcmp(a.v, b.v, a.n * sizeof(*a.v)), "same entries");
		for (i = 1; i < a.n; i++)
			if (!ASSERT_TRUE(geofw_cidr_cmp(&a.v[i - 1], &a.v[i]) < 0, "sorted, unique"))
				break;
		geofw_importlist_free(&b);
	}
	geofw_importlist_free(&a);

	/* A bad last line fails the whole million. */
	for (i = len - 1; buf[i - 1] != '\n'; i--)
		;
	memcpy(buf + i, "1.2.3\n", 6);
	fill(buf + i + 6, '\n', len - i - 6);
	r = geofw_importlist_parse_buf(buf, len, "mem", 0, &a, err, sizeof(err));
	ASSERT_EQ(r, -EINVAL, "bad line rejected");
	ASSERT_TRUE(strstr(err, ": 1.2.3: not an IPv4") != NULL, err);
	ASSERT_EQ(a.n, 0, "all or nothing");
cleanup:
	unlink(path);
	remove_tmpdir();
out:
	free(buf);
}

/* Arbitrary bytes never crash the parser, and an error never leaves entries.
 * (The libFuzzer target goes further; this is the quick in-tree version.) */
void test_importlist_garbage(void)
{
	static const char alphabet[] = "0123456789abcdef.:/ \t\r\n#;{}\"\\,[]uxcidr\0\xff";
	struct geofw_importlist l;
	char buf[512], err[GEOFW_ERRLEN];
	int i, r, ok = 0;

	for (i = 0; i < 20000; i++) {
		size_t len = rnd() % sizeof(buf), k;
		bool bytes = i % 2;

		for (k = 0; k < len; k++)
			buf[k] = bytes ? (char)rnd() : alphabet[rnd() % (sizeof(alphabet) - 1)];
		if (i % 3 == 0 && len > 40) {
			/* Mutate a valid line so some inputs get deep. */
			memcpy(buf, "{\"cidr\":\"2001:db8::/32\",\"x\":[1,{\"y\":2}]}\n", 40);
		}
		r = geofw_importlist_parse_buf(buf, len, "fuzz", i % 4, &l, err, sizeof(err));
		if (r) {
			if (!ASSERT_EQ(l.n, 0, "no entries on error") ||
			    !ASSERT_TRUE(!strncmp(err, "fuzz:", 5), err))
				break;
		} else {
			ok++;
		}
		geofw_importlist_free(&l);
	}
	printf("# %d random inputs, %d accepted\n", i, ok);
}

/* ---- feeds: named formats, per-entry refusal, minimum prefixes ------------------ */

static const struct {
	const char *name;
	int format;
	unsigned int column, min4, min6;
	const char *in;
	const char *out;
	size_t refused, too_wide;
	const char *first;		/* start of first_refused after "f:" */
} feed_rows[] = {
	{ "plain with comments", GEOFW_FORMAT_PLAIN, 0, 8, 16,
	  "# a list\n192.0.2.7\n; also a comment\n198.51.100.0/24 # why\n2001:db8::/32\n",
	  "192.0.2.7/32 198.51.100.0/24 2001:db8::/32", 0, 0, NULL },
	{ "plain: bad entries refused alone", GEOFW_FORMAT_PLAIN, 0, 8, 16,
	  "192.0.2.7\n192.0.2.300\n198.51.100.1/24\nhello\n203.0.113.0/24 extra\n203.0.113.9\n",
	  "192.0.2.7/32 203.0.113.9/32", 4, 0, "2: " },
	{ "plain: JSON lines are not plain", GEOFW_FORMAT_PLAIN, 0, 8, 16,
	  "{\"cidr\":\"192.0.2.0/24\"}\n198.51.100.9\n", "198.51.100.9/32", 1, 0, "1: " },
	{ "plain: /0 and wide prefixes refused", GEOFW_FORMAT_PLAIN, 0, 16, 32,
	  "0.0.0.0/0\n::/0\n10.0.0.0/8\n192.0.2.0/24\n2001::/16\n2001:db8::/32\n",
	  "192.0.2.0/24 2001:db8::/32", 0, 4,
	  "1: 0.0.0.0/0 is wider than the minimum /16" },
	{ "spamhaus DROP", GEOFW_FORMAT_SPAMHAUS, 0, 8, 16,
	  "; Spamhaus DROP List 2026/12/07\n; Expires: Mon, 07 Dec 2026 03:00:00 GMT\n"
	  "192.0.2.0/24 ; SBL000001\r\n203.0.113.128/25 ; SBL000002\r\n",
	  "192.0.2.0/24 203.0.113.128/25", 0, 0, NULL },
	{ "spamhaus JSON lines", GEOFW_FORMAT_SPAMHAUS, 0, 8, 16,
	  "{\"cidr\":\"192.0.2.0/24\",\"sblid\":\"SBL1\",\"rir\":\"ripencc\"}\n"
	  "{\"type\":\"metadata\",\"timestamp\":1,\"size\":2,\"records\":1}\n",
	  "192.0.2.0/24", 0, 0, NULL },
	{ "netset", GEOFW_FORMAT_NETSET, 0, 8, 16,
	  "#\n# firehol_level1\n#\n# Maintainer: FireHOL\n#\n224.0.0.0/3\n10.0.0.0/8\n"
	  "192.0.2.0/24\n198.51.100.7\n",
	  "10.0.0.0/8 192.0.2.0/24 198.51.100.7/32", 0, 1, "6: 224.0.0.0/3 is wider" },
	{ "csv first column with header", GEOFW_FORMAT_CSV, 1, 8, 16,
	  "ip,first_seen,reason\n192.0.2.7,2026-12-01,scan\n\"198.51.100.0/24\",x,\"a, b\"\n",
	  "192.0.2.7/32 198.51.100.0/24", 0, 0, NULL },
	{ "csv third column, quotes", GEOFW_FORMAT_CSV, 3, 8, 16,
	  "# exported\nid,name,addr\n1,\"x, \"\"y\"\"\",192.0.2.7\n2,z, 2001:db8::1 \n3,w\n",
	  "192.0.2.7/32 2001:db8::1/128", 1, 0, "5: no column 3" },
	{ "csv: an open quote", GEOFW_FORMAT_CSV, 1, 8, 16,
	  "192.0.2.1\n\"192.0.2.2\n", "192.0.2.1/32", 1, 0, "2: no column 1" },
	{ "HTML is all refused", GEOFW_FORMAT_PLAIN, 0, 8, 16,
	  "<html>\n<body>502 Bad Gateway</body>\n</html>\n", "", 3, 0, "1: " },
};

void test_importlist_feed_formats(void)
{
	struct geofw_importlist l;
	char err[GEOFW_ERRLEN], got[1024];
	size_t i;

	for (i = 0; i < sizeof(feed_rows) / sizeof(feed_rows[0]); i++) {
		const typeof(feed_rows[0]) *row = &feed_rows[i];
		struct geofw_importlist_opts o = {
			.format = row->format, .column = row->column, .min_prefix4 = row->min4,
			.min_prefix6 = row->min6, .per_entry = true,
		};

		SUBTEST("%s", row->name) {
			int r = geofw_importlist_parse_opts(row->in, strlen(row->in), "f", &o, &l,
							    err, sizeof(err));

			if (!ASSERT_OK(r, err))
				continue;
			join(&l, got, sizeof(got));
			ASSERT_STREQ(got, row->out, "entries");
			ASSERT_EQ(l.refused, row->refused, "refused");
			ASSERT_EQ(l.too_wide, row->too_wide, "too wide");
			if (row->first)
				ASSERT_TRUE(!strncmp(l.first_refused + 2, row->first,
						     strlen(row->first)), l.first_refused);
			else
				ASSERT_STREQ(l.first_refused, "", "nothing refused");
			geofw_importlist_free(&l);
		}
	}
	/* Without per_entry the minimum fails the whole list, naming the line. */
	SUBTEST("minimum, all or nothing") {
		struct geofw_importlist_opts o = { .format = GEOFW_FORMAT_PLAIN, .min_prefix4 = 8 };
		int r = geofw_importlist_parse_opts("192.0.2.1\n10.0.0.0/7\n", 21, "f", &o, &l,
						    err, sizeof(err));

		ASSERT_EQ(r, -EINVAL, "rejected");
		ASSERT_STREQ(err, "f:2: 10.0.0.0/7: /7 is shorter than the minimum /8", "message");
		ASSERT_EQ(l.n, 0, "nothing taken");
	}
	SUBTEST("format names") {
		int f;

		for (f = GEOFW_FORMAT_ANY; f < GEOFW_FORMAT_MAX; f++)
			ASSERT_EQ(geofw_list_format_parse(geofw_list_format_name(f)), f,
				  geofw_list_format_name(f));
		ASSERT_EQ(geofw_list_format_parse("json"), -1, "unknown");
		ASSERT_TRUE(geofw_list_format_name(GEOFW_FORMAT_MAX) == NULL, "out of range");
	}
}

/* What fwctl export writes after each entry comes back with it. */
void test_importlist_annotations(void)
{
	struct geofw_importlist_opts o = { .flags = GEOFW_IMPORT_ANNOTATIONS, .now = 1000 };
	struct geofw_importlist l;
	char err[GEOFW_ERRLEN], got[256];
	const char *in;

	SUBTEST("one list back") {
		in = "192.0.2.2/32 # source=import:drop.txt action=http403 expires=5000\n"
		     "198.51.100.2/32 # source=import:drop.txt action=http403 expires=5000 "
		     "comment=a b action=drop\n";
		if (ASSERT_OK(geofw_importlist_parse_opts(in, strlen(in), "f", &o, &l, err,
							  sizeof(err)), err)) {
			join(&l, got, sizeof(got));
			ASSERT_STREQ(got, "192.0.2.2/32 198.51.100.2/32", "entries");
			ASSERT_EQ(l.action, GEOFW_ACT_HTTP403, "action (comment= not read)");
			ASSERT_EQ(l.expires, 5000, "expires");
			ASSERT_EQ(l.annotated, 2, "annotated");
			ASSERT_TRUE(!l.mixed, "not mixed");
			geofw_importlist_free(&l);
		}
	}
	SUBTEST("expired skipped, mixed: strictest and longest") {
		in = "192.0.2.2 # source=cli action=log expires=999\n"
		     "192.0.2.3 # source=cli action=log expires=2000\n"
		     "192.0.2.4 # source=my list.txt action=reject\n"
		     "192.0.2.5 # a comment of someone else's action=bogus\n";
		if (ASSERT_OK(geofw_importlist_parse_opts(in, strlen(in), "f", &o, &l, err,
							  sizeof(err)), err)) {
			join(&l, got, sizeof(got));
			ASSERT_STREQ(got, "192.0.2.3/32 192.0.2.4/32 192.0.2.5/32", "entries");
			ASSERT_EQ(l.expired, 1, "expired");
			ASSERT_EQ(l.action, GEOFW_ACT_REJECT, "strictest");
			ASSERT_EQ(l.expires, 0, "longest: never");
			ASSERT_TRUE(l.mixed, "mixed");
			geofw_importlist_free(&l);
		}
	}
	SUBTEST("malformed annotations refused with the line") {
		in = "192.0.2.2 # source=cli action=drop\n192.0.2.3 # source=cli action=block\n";
		ASSERT_EQ(geofw_importlist_parse_opts(in, strlen(in), "f", &o, &l, err, sizeof(err)),
			  -EINVAL, "bad action");
		ASSERT_STREQ(err, "f:2: annotation action=block: not a block action (drop, reject, "
			     "http403, log)", "message");
		in = "192.0.2.2 # source=cli expires=12x\n";
		ASSERT_EQ(geofw_importlist_parse_opts(in, strlen(in), "f", &o, &l, err, sizeof(err)),
			  -EINVAL, "bad expiry");
		ASSERT_STREQ(err, "f:1: annotation expires=12x: not a time (UNIX seconds)", "message");
		in = "192.0.2.2 # source=cli action=pass\n";
		ASSERT_EQ(geofw_importlist_parse_opts(in, strlen(in), "f", &o, &l, err, sizeof(err)),
			  -EINVAL, "pass is no block action");
	}
	SUBTEST("without the flag, only comments") {
		o.flags = 0;
		in = "192.0.2.2 # source=cli action=block expires=1\n";
		if (ASSERT_OK(geofw_importlist_parse_opts(in, strlen(in), "f", &o, &l, err,
							  sizeof(err)), err)) {
			ASSERT_EQ(l.n, 1, "taken");
			ASSERT_EQ(l.action, 0, "no action read");
			geofw_importlist_free(&l);
		}
	}
}
