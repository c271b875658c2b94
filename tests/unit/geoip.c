// SPDX-License-Identifier: GPL-2.0-only
/*
 * The MaxMind DB walker (user/lib/geoip.c) against databases written by
 * MaxMind's own writer (tests/fixtures/mkmmdb.pl), damaged copies of them,
 * and, when present, the real GeoLite2-Country database.  libmaxminddb's own
 * lookups are the oracle: every returned prefix must agree with them at both
 * ends, and random addresses must have a country in our tables exactly when
 * libmaxminddb gives them one.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <maxminddb.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test.h"

#include "countries.h"
#include "geoip.h"
#include "geotable.h"
#include "log.h"

#define REAL_DB_GZ "../shared/data/GeoLite2-Country.mmdb.gz"
#define MARKER "\xab\xcd\xefMaxMind.com"
#define MARKER_LEN 14

/* ---- fixtures ------------------------------------------------------------ */

static char fx_dir[64];
static bool fx_failed;

static void fx_cleanup(void)
{
	struct dirent *de;
	char path[512];
	DIR *d;

	if (!fx_dir[0])
		return;
	d = opendir(fx_dir);
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", fx_dir, de->d_name);
		unlink(path);
	}
	if (d)
		closedir(d);
	rmdir(fx_dir);
}

/* The fixture directory, written once per run and removed at exit; NULL
 * (with the test skipped or failed) when it cannot be written. */
static const char *fixtures(void)
{
	char cmd[256];

	if (fx_failed) {
		test_skip("fixtures unavailable (see above)");
		return NULL;
	}
	if (fx_dir[0])
		return fx_dir;
	if (system("perl -MMaxMind::DB::Writer::Tree -e 1 2>/dev/null") != 0) {
		fx_failed = true;
		test_skip("perl module MaxMind::DB::Writer::Tree missing (Debian libmaxmind-db-writer-perl)");
		return NULL;
	}
	snprintf(fx_dir, sizeof(fx_dir), "/tmp/geofw-geoip.XXXXXX");
	if (!mkdtemp(fx_dir)) {
		fx_dir[0] = '\0';
		fx_failed = true;
		ASSERT_OK(-errno, "mkdtemp");
		return NULL;
	}
	atexit(fx_cleanup);
	snprintf(cmd, sizeof(cmd), "perl tests/fixtures/mkmmdb.pl %s", fx_dir);
	if (!ASSERT_OK(system(cmd), "tests/fixtures/mkmmdb.pl")) {
		fx_failed = true;
		return NULL;
	}
	return fx_dir;
}

static const char *fx(const char *name)
{
	static char path[8][256];
	static unsigned int next;
	char *p = path[next++ % 8];

	snprintf(p, sizeof(path[0]), "%s/%s", fx_dir, name);
	return p;
}

static int read_all(const char *path, __u8 **buf, size_t *len)
{
	struct stat st;
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0 || fstat(fd, &st)) {
		if (fd >= 0)
			close(fd);
		return -errno;
	}
	*len = (size_t)st.st_size;
	*buf = malloc(*len + 1);
	n = *buf ? read(fd, *buf, *len) : -1;
	close(fd);
	return n == (ssize_t)*len ? 0 : -EIO;
}

static int write_all(const char *path, const void *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = len ? write(fd, buf, len) : 0;
	close(fd);
	return n == (ssize_t)len ? 0 : -EIO;
}

/* Offset of the metadata (just past the last marker), 0 if none. */
static size_t metadata_offset(const __u8 *buf, size_t len)
{
	size_t off = 0;
	const __u8 *p = buf;

	while ((p = memmem(p, len - (size_t)(p - buf), MARKER, MARKER_LEN))) {
		p += MARKER_LEN;
		off = (size_t)(p - buf);
	}
	return off;
}

/* ---- log capture --------------------------------------------------------- */

static char last_err[1024];

static void capture_log(int level, const char *msg, void *ctx)
{
	(void)ctx;
	if (level == GEOFW_LOG_ERR)
		snprintf(last_err, sizeof(last_err), "%s", msg);
}

static void quiet_start(void)
{
	last_err[0] = '\0';
	geofw_log_set_sink(capture_log, NULL);
}

static void quiet_end(void)
{
	geofw_log_set_sink(NULL, NULL);
}

/* ---- helpers ------------------------------------------------------------- */

static unsigned int fam_bits(bool v6)
{
	return v6 ? 128 : 32;
}

static const char *fmt_prefix(const struct geofw_geo_prefix *p, bool v6, char *buf, size_t size)
{
	char a[INET6_ADDRSTRLEN];
	const char *cc = geofw_country_code(p->country_id);

	inet_ntop(v6 ? AF_INET6 : AF_INET, p->addr, a, sizeof(a));
	snprintf(buf, size, "%s/%u %s", a, p->prefixlen, cc ? cc : "??");
	return buf;
}

static void expect_prefixes(const struct geofw_geo_prefix *got, size_t n, bool v6,
			    const char *const *want, const char *what)
{
	size_t i, n_want = 0;
	char buf[80];

	while (want[n_want])
		n_want++;
	ASSERT_EQ(n, n_want, what);
	for (i = 0; i < n && i < n_want; i++)
		ASSERT_STREQ(fmt_prefix(&got[i], v6, buf, sizeof(buf)), want[i], what);
}

static void addr_last(const struct geofw_geo_prefix *p, unsigned int bits, __u8 *out)
{
	unsigned int i;

	memcpy(out, p->addr, 16);
	for (i = p->prefixlen; i < bits; i++)
		out[i / 8] |= 0x80 >> (i % 8);
}

static bool bit_at(const __u8 *a, unsigned int i)
{
	return a[i / 8] & (0x80 >> (i % 8));
}

/* Each prefix well formed, the array sorted, disjoint, and no two siblings
 * left unmerged. */
static bool check_shape(const struct geofw_geo_prefix *p, size_t n, bool v6, const char *what)
{
	unsigned int bits = fam_bits(v6), bytes = bits / 8, i;
	__u8 last[16], prev_last[16];
	bool ok = true;
	size_t k;

	for (k = 0; k < n && ok; k++) {
		ok &= ASSERT_TRUE(p[k].prefixlen <= bits, what);
		ok &= ASSERT_TRUE(p[k].country_id >= 1 && p[k].country_id <= GEOFW_COUNTRY_MAX_ID &&
				  geofw_country_code(p[k].country_id), what);
		for (i = p[k].prefixlen; i < 128 && ok; i++)
			ok &= ASSERT_TRUE(!bit_at(p[k].addr, i), what);
		addr_last(&p[k], bits, last);
		if (k) {
			ok &= ASSERT_TRUE(memcmp(prev_last, p[k].addr, bytes) < 0, what);
			if (p[k].prefixlen == p[k - 1].prefixlen && p[k].prefixlen &&
			    p[k].country_id == p[k - 1].country_id) {
				__u8 sib[16];

				memcpy(sib, p[k - 1].addr, 16);
				sib[(p[k].prefixlen - 1) / 8] ^= 0x80 >> ((p[k].prefixlen - 1) % 8);
				ok &= ASSERT_TRUE(memcmp(sib, p[k].addr, 16) ||
						  bit_at(p[k - 1].addr, p[k].prefixlen - 1), what);
			}
		}
		memcpy(prev_last, last, 16);
	}
	return ok;
}

/* Index of the prefix holding addr, or -1. */
static long find_prefix(const struct geofw_geo_prefix *p, size_t n, bool v6, const __u8 *addr)
{
	unsigned int bits = fam_bits(v6), bytes = bits / 8;
	size_t lo = 0, hi = n;
	__u8 last[16];

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (memcmp(p[mid].addr, addr, bytes) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return -1;
	addr_last(&p[lo - 1], bits, last);
	return memcmp(addr, last, bytes) <= 0 ? (long)lo - 1 : -1;
}

static bool covers_all(const struct geofw_geo_prefix *p, size_t n, bool v6)
{
	unsigned int bits = fam_bits(v6), bytes = bits / 8, i;
	__u8 expect[16] = { 0 }, last[16];
	size_t k;

	for (k = 0; k < n; k++) {
		if (memcmp(p[k].addr, expect, bytes))
			return false;
		addr_last(&p[k], bits, last);
		memcpy(expect, last, 16);
		for (i = bytes; i-- > 0;)
			if (++expect[i])
				break;
	}
	return n && !memcmp(expect, (__u8[16]){ 0 }, bytes);
}

/* ---- the oracle: libmaxminddb, independently of geoip.c ------------------ */

struct oracle {
	MMDB_s mmdb;
	const char *const *path;	/* NULL: GeoIP2 with its fallback */
};

static int oracle_country(struct oracle *o, bool v6, const __u8 *addr, bool *err)
{
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6 };
	struct sockaddr_in s4 = { .sin_family = AF_INET };
	MMDB_lookup_result_s res;
	MMDB_entry_data_s v;
	int merr = 0, st;

	if (v6)
		memcpy(&s6.sin6_addr, addr, 16);
	else
		memcpy(&s4.sin_addr, addr, 4);
	res = MMDB_lookup_sockaddr(&o->mmdb, v6 ? (struct sockaddr *)&s6 : (struct sockaddr *)&s4,
				   &merr);
	*err = merr != MMDB_SUCCESS;
	if (merr || !res.found_entry)
		return 0;
	if (o->path) {
		st = MMDB_aget_value(&res.entry, &v, o->path);
	} else {
		/* A missing key is MMDB_LOOKUP_PATH_DOES_NOT_MATCH_DATA_ERROR
		 * in libmaxminddb 1.7, "success without data" in others. */
		st = MMDB_get_value(&res.entry, &v, "country", "iso_code", NULL);
		if ((st == MMDB_SUCCESS && !v.has_data) ||
		    st == MMDB_LOOKUP_PATH_DOES_NOT_MATCH_DATA_ERROR)
			st = MMDB_get_value(&res.entry, &v, "registered_country", "iso_code", NULL);
	}
	if (st != MMDB_SUCCESS || !v.has_data || v.type != MMDB_DATA_TYPE_UTF8_STRING ||
	    v.data_size != 2)
		return 0;
	{
		char cc[3] = { v.utf8_string[0], v.utf8_string[1], 0 };

		return geofw_country_id(cc);
	}
}

/* IPv6 addresses whose answer differs on purpose: the IPv4 subtree and its
 * aliases (see geoip.h). */
static bool v6_aliased(const __u8 *a)
{
	static const __u8 zero[12], mapped[12] = { [10] = 0xff, [11] = 0xff };

	return !memcmp(a, zero, 12) || !memcmp(a, mapped, 12) ||
	       (a[0] == 0x20 && a[1] == 0x01 && !a[2] && !a[3]) || (a[0] == 0x20 && a[1] == 0x02);
}

static __u64 rng_state = 0x9e3779b97f4a7c15ull;

static __u64 rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void rnd_fill(__u8 *p, size_t n)
{
	while (n--)
		*p++ = (__u8)(rnd() >> 24);
}

/* Both ends of every prefix have its country per libmaxminddb. */
static bool check_ends(struct oracle *o, const struct geofw_geo_prefix *p, size_t n, bool v6,
		       const char *what)
{
	char buf[80], msg[160];
	__u8 last[16];
	bool err;
	size_t k;

	for (k = 0; k < n; k++) {
		int first = oracle_country(o, v6, p[k].addr, &err);
		int end;

		addr_last(&p[k], fam_bits(v6), last);
		end = oracle_country(o, v6, last, &err);
		if (first != p[k].country_id || end != p[k].country_id) {
			snprintf(msg, sizeof(msg), "%s: %s: libmaxminddb says %s … %s", what,
				 fmt_prefix(&p[k], v6, buf, sizeof(buf)),
				 geofw_country_code(first) ?: "none", geofw_country_code(end) ?: "none");
			ASSERT_TRUE(false, msg);
			return false;
		}
	}
	return true;
}

/* Compares one address: our tables vs libmaxminddb.  Returns false on a
 * mismatch (reported once by the caller). */
static bool agree(struct oracle *o, const struct geofw_geoip_db *db, bool v6, const __u8 *addr,
		  int *ours, int *theirs)
{
	long i = v6 ? find_prefix(db->v6, db->n_v6, true, addr) :
		      find_prefix(db->v4, db->n_v4, false, addr);
	bool err;

	*ours = i < 0 ? 0 : (v6 ? db->v6[i].country_id : db->v4[i].country_id);
	*theirs = oracle_country(o, v6, addr, &err);
	return !err && *ours == *theirs;
}

/*
 * n random addresses per family: a third uniform, a third inside a returned
 * prefix, a third just past one (the neighbour: a gap or another country).
 * 100% agreement expected.
 */
static void check_random(struct oracle *o, const struct geofw_geoip_db *db, size_t n,
			 const __u8 *v6_base, unsigned int v6_base_len, const char *what)
{
	size_t k, checked = 0, bad = 0;
	int fam;

	for (fam = 0; fam < 2; fam++) {
		bool v6 = fam;
		const struct geofw_geo_prefix *p = v6 ? db->v6 : db->v4;
		size_t np = v6 ? db->n_v6 : db->n_v4;
		unsigned int bits = fam_bits(v6), i;

		if (v6 && db->report.ip_version == 4)
			continue;
		for (k = 0; k < n; k++) {
			__u8 a[16] = { 0 };
			int ours, theirs;

			rnd_fill(a, bits / 8);
			if (k % 3 && np) {
				const struct geofw_geo_prefix *q = &p[rnd() % np];

				/* keep random low bits, the prefix's high bits */
				for (i = 0; i < q->prefixlen; i++) {
					a[i / 8] &= (__u8)~(0x80 >> (i % 8));
					a[i / 8] |= q->addr[i / 8] & (0x80 >> (i % 8));
				}
				if (k % 3 == 2) {
					addr_last(q, bits, a);
					for (i = bits / 8; i-- > 0;)
						if (++a[i])
							break;
				}
			} else if (v6 && v6_base) {
				for (i = 0; i < v6_base_len; i++) {
					a[i / 8] &= (__u8)~(0x80 >> (i % 8));
					a[i / 8] |= v6_base[i / 8] & (0x80 >> (i % 8));
				}
			}
			if (v6 && v6_aliased(a))
				continue;
			checked++;
			if (!agree(o, db, v6, a, &ours, &theirs) && bad++ < 5) {
				char s[INET6_ADDRSTRLEN], msg[200];

				inet_ntop(v6 ? AF_INET6 : AF_INET, a, s, sizeof(s));
				snprintf(msg, sizeof(msg), "%s: %s: ours %s, libmaxminddb %s", what, s,
					 geofw_country_code(ours) ?: "none",
					 geofw_country_code(theirs) ?: "none");
				ASSERT_TRUE(false, msg);
			}
		}
	}
	ASSERT_EQ(bad, 0, what);
	ASSERT_TRUE(checked >= n, what);
}

static int count_fds(void)
{
	struct dirent *de;
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	while (d && (de = readdir(d)))
		n += de->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
}

static bool db_is_empty(const struct geofw_geoip_db *db)
{
	static const struct geofw_geoip_db zero;

	return !memcmp(db, &zero, sizeof(zero));
}

/* ---- tests --------------------------------------------------------------- */

#define LONG_ELEMENT "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"	/* 31, config.h's limit */
#define LONG_FIELD LONG_ELEMENT " " LONG_ELEMENT " " LONG_ELEMENT " " LONG_ELEMENT " " \
	LONG_ELEMENT " " LONG_ELEMENT " " LONG_ELEMENT " " LONG_ELEMENT

void test_geoip_parse_field(void)
{
	static const struct {
		const char *spec;
		int depth;	/* -1: rejected */
	} rows[] = {
		{ "country iso_code", 2 },
		{ "country_code", 1 },
		{ "a b c d e f g h", 8 },
		{ "a b c d e f g h i", -1 },
		{ "", -1 },
		{ " country", -1 },
		{ "country ", -1 },
		{ "country  iso_code", -1 },
		{ "country\tiso_code", -1 },
		{ "country\niso_code", -1 },
		{ LONG_FIELD, 8 },		/* the longest config.h allows */
		{ LONG_FIELD "x", -1 },		/* 256 characters */
	};
	struct geofw_geoip_field f;
	const char *why;
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		SUBTEST("%zu", i) {
			why = NULL;
			int err = geofw_geoip_parse_field(rows[i].spec, &f, &why);

			if (rows[i].depth < 0) {
				ASSERT_EQ(err, -EINVAL, rows[i].spec);
				ASSERT_TRUE(why && *why, "reason given");
				ASSERT_EQ(f.depth, 0, "depth");
				continue;
			}
			ASSERT_OK(err, rows[i].spec);
			ASSERT_EQ(f.depth, rows[i].depth, "depth");
			ASSERT_TRUE(f.path[f.depth] == NULL, "NULL-terminated");
		}
	}
	SUBTEST("elements") {
		ASSERT_OK(geofw_geoip_parse_field("country iso_code", &f, NULL), "parse");
		ASSERT_STREQ(f.path[0], "country", "path[0]");
		ASSERT_STREQ(f.path[1], "iso_code", "path[1]");
	}
	SUBTEST("logged when no why") {
		quiet_start();
		ASSERT_EQ(geofw_geoip_parse_field("a  b", &f, NULL), -EINVAL, "parse");
		ASSERT_TRUE(strstr(last_err, "geoip: field \"a  b\"") != NULL, last_err);
		quiet_end();
	}
}

void test_geoip_geoip2(void)
{
	static const char *const want_v4[] = {
		"192.0.2.0/26 US",	/* nested: a /26, /29, /32 of other countries */
		"192.0.2.64/26 DE",
		"192.0.2.128/26 US",
		"192.0.2.192/29 US",
		"192.0.2.200/30 FR",
		"192.0.2.204/32 JP",
		"192.0.2.205/32 FR",
		"192.0.2.206/31 FR",
		"192.0.2.208/28 US",
		"192.0.2.224/27 US",
		"198.51.100.0/24 NL",	/* two records, one country: merged */
		"203.0.113.0/28 GB",	/* registered_country fallback */
		/* .16/28 zz, .32/28 X1, .48/28 ABC, .64/28 QQ: refused */
		"203.0.113.80/28 GB",
		"203.0.113.96/27 GB",
		/* .128/26: no country at all */
		"203.0.113.192/26 GB",
		NULL
	};
	static const char *const want_v6_head[] = {
		"2001:db8::/48 SE",
		"2001:db8:1::/48 NO",
		"2001:db8:2::/48 SE",
		"2001:db8:3::/48 CH",	/* country wins over registered_country */
		"2001:db8:4::/48 AT",	/* fallback */
		"2001:db8:5::/48 SE",
		NULL
	};
	struct geofw_geoip_db db;
	struct geofw_geoip_report *r = &db.report;
	char buf[80];
	size_t i;

	if (!fixtures())
		return;
	if (!ASSERT_OK(geofw_geoip_load(fx("geoip2.mmdb"), NULL, &db), "load"))
		return;
	SUBTEST("report") {
		ASSERT_STREQ(r->database_type, "GeoLite2-Country", "database_type");
		ASSERT_EQ(r->schema, GEOFW_GEOIP_SCHEMA_GEOIP2, "schema");
		ASSERT_STREQ(r->field, "country iso_code (else registered_country iso_code)", "field");
		ASSERT_EQ(r->ip_version, 6, "ip_version");
		ASSERT_EQ(r->record_size, 24, "record_size");
		ASSERT_TRUE(r->build_epoch > 1500000000, "build_epoch");
		ASSERT_TRUE(r->node_count > 128, "node_count");
		ASSERT_EQ(r->n_v4, db.n_v4, "n_v4");
		ASSERT_EQ(r->n_v6, db.n_v6, "n_v6");
		ASSERT_EQ(r->raw_v4, db.n_v4 + 1, "one merge in IPv4");
		ASSERT_EQ(r->raw_v6, db.n_v6, "nothing to merge in IPv6");
		ASSERT_EQ(r->countries, 10, "countries");
		ASSERT_EQ(r->invalid_codes, 4, "invalid_codes");
		ASSERT_EQ(r->n_invalid_examples, 4, "n_invalid_examples");
		ASSERT_STREQ(r->invalid_examples[0], "zz", "example 0");
		ASSERT_STREQ(r->invalid_examples[1], "X1", "example 1");
		ASSERT_STREQ(r->invalid_examples[2], "ABC", "example 2");
		ASSERT_STREQ(r->invalid_examples[3], "QQ", "example 3");
		ASSERT_EQ(r->no_country, 2, "no_country");
		ASSERT_TRUE(r->walk_ms >= 0 && r->walk_ms < 10000, "walk_ms");
	}
	SUBTEST("ipv4") {
		/* Read once from ::/96, not again through its three aliases. */
		expect_prefixes(db.v4, db.n_v4, false, want_v4, "v4");
		check_shape(db.v4, db.n_v4, false, "v4 shape");
	}
	SUBTEST("ipv6") {
		for (i = 0; want_v6_head[i]; i++)
			ASSERT_STREQ(i < db.n_v6 ? fmt_prefix(&db.v6[i], true, buf, sizeof(buf)) : "",
				     want_v6_head[i], "v6");
		/* 2001:db8::/32 minus the /48s above, minus 2001:db8:ffff::/48
		 * (no country): a staircase of SE prefixes up to it. */
		ASSERT_EQ(db.n_v6, 34, "n_v6");
		ASSERT_STREQ(fmt_prefix(&db.v6[db.n_v6 - 1], true, buf, sizeof(buf)),
			     "2001:db8:fffe::/48 SE", "last v6");
		check_shape(db.v6, db.n_v6, true, "v6 shape");
	}
	SUBTEST("no aliases in ipv6") {
		for (i = 0; i < db.n_v6; i++)
			if (!ASSERT_TRUE(!v6_aliased(db.v6[i].addr),
					 fmt_prefix(&db.v6[i], true, buf, sizeof(buf))))
				break;
	}
	geofw_geoip_free(&db);
	ASSERT_TRUE(db_is_empty(&db), "free zeroes");
}

void test_geoip_ipv4_only(void)
{
	static const char *const want[] = {
		"192.0.2.0/25 US", "192.0.2.128/25 CA", "198.51.100.0/24 BR", "203.0.113.7/32 AU",
		NULL
	};
	struct geofw_geoip_db db;

	if (!fixtures())
		return;
	if (!ASSERT_OK(geofw_geoip_load(fx("ipv4.mmdb"), NULL, &db), "load"))
		return;
	ASSERT_EQ(db.report.ip_version, 4, "ip_version");
	ASSERT_EQ(db.report.record_size, 28, "record_size");
	expect_prefixes(db.v4, db.n_v4, false, want, "v4");
	ASSERT_EQ(db.n_v6, 0, "n_v6");
	ASSERT_TRUE(db.v6 == NULL, "v6");
	geofw_geoip_free(&db);
}

void test_geoip_default_route(void)
{
	struct geofw_geoip_db db;
	char buf[80];
	long i;

	if (!fixtures())
		return;
	SUBTEST("ipv4 tree") {
		if (!ASSERT_OK(geofw_geoip_load(fx("default4.mmdb"), NULL, &db), "load"))
			continue;
		/* 0.0.0.0/0 US around 192.0.2.0/24 DE: 24 US prefixes + 1. */
		ASSERT_EQ(db.n_v4, 25, "n_v4");
		ASSERT_TRUE(covers_all(db.v4, db.n_v4, false), "covers all of IPv4");
		i = find_prefix(db.v4, db.n_v4, false, (__u8[16]){ 192, 0, 2, 77 });
		ASSERT_STREQ(i < 0 ? "" : fmt_prefix(&db.v4[i], false, buf, sizeof(buf)),
			     "192.0.2.0/24 DE", "192.0.2.77");
		check_shape(db.v4, db.n_v4, false, "shape");
		geofw_geoip_free(&db);
	}
	SUBTEST("ipv6 tree") {
		if (!ASSERT_OK(geofw_geoip_load(fx("default6.mmdb"), NULL, &db), "load"))
			continue;
		/* The tree ends above ::/96: one record covers all of IPv4. */
		ASSERT_EQ(db.n_v4, 1, "n_v4");
		ASSERT_STREQ(db.n_v4 ? fmt_prefix(&db.v4[0], false, buf, sizeof(buf)) : "",
			     "0.0.0.0/0 US", "v4");
		ASSERT_TRUE(covers_all(db.v6, db.n_v6, true), "covers all of IPv6");
		i = find_prefix(db.v6, db.n_v6, true,
				(__u8[16]){ 0x20, 0x01, 0x0d, 0xb8, [15] = 1 });
		ASSERT_STREQ(i < 0 ? "" : fmt_prefix(&db.v6[i], true, buf, sizeof(buf)),
			     "2001:db8::/32 DE", "2001:db8::1");
		check_shape(db.v6, db.n_v6, true, "shape");
		geofw_geoip_free(&db);
	}
}

void test_geoip_flat_schema(void)
{
	static const char *const want_v4[] = { "192.0.2.0/24 JP", "198.51.100.0/24 KR", NULL };
	static const char *const want_v6[] = { "2001:db8::/32 IN", NULL };
	struct geofw_geoip_db db;

	if (!fixtures())
		return;
	if (!ASSERT_OK(geofw_geoip_load(fx("flat.mmdb"), NULL, &db), "load"))
		return;
	ASSERT_EQ(db.report.schema, GEOFW_GEOIP_SCHEMA_FLAT, "schema");
	ASSERT_STREQ(db.report.field, "country_code", "field");
	ASSERT_EQ(db.report.record_size, 32, "record_size");
	expect_prefixes(db.v4, db.n_v4, false, want_v4, "v4");
	expect_prefixes(db.v6, db.n_v6, true, want_v6, "v6");
	ASSERT_EQ(db.report.invalid_codes, 1, "invalid_codes");
	ASSERT_STREQ(db.report.invalid_examples[0], "zz", "example");
	geofw_geoip_free(&db);
}

void test_geoip_field_path(void)
{
	static const char *const want_v4[] = { "192.0.2.0/24 IT", NULL };
	static const char *const want_v6[] = { "2001:db8::/32 ES", NULL };
	static const char *const auto_v4[] = { "192.0.2.0/24 FR", NULL };
	static const char *const wrong[] = { "country", "iso_code", NULL };
	static const char *const spaced[] = { "geo cc", NULL };
	struct geofw_geoip_opts opts = { 0 };
	struct geofw_geoip_field f;
	struct geofw_geoip_db db;

	if (!fixtures())
		return;
	SUBTEST("autodetect picks country_code") {
		if (!ASSERT_OK(geofw_geoip_load(fx("custom.mmdb"), NULL, &db), "load"))
			continue;
		expect_prefixes(db.v4, db.n_v4, false, auto_v4, "v4");
		geofw_geoip_free(&db);
	}
	SUBTEST("Field=geo cc") {
		if (!ASSERT_OK(geofw_geoip_parse_field("geo cc", &f, NULL), "parse"))
			continue;
		opts.field_path = f.path;
		if (!ASSERT_OK(geofw_geoip_load(fx("custom.mmdb"), &opts, &db), "load"))
			continue;
		ASSERT_EQ(db.report.schema, GEOFW_GEOIP_SCHEMA_CUSTOM, "schema");
		ASSERT_STREQ(db.report.field, "geo cc", "field");
		expect_prefixes(db.v4, db.n_v4, false, want_v4, "v4");
		expect_prefixes(db.v6, db.n_v6, true, want_v6, "v6");
		geofw_geoip_free(&db);
	}
	SUBTEST("explicit path absent from the data") {
		opts.field_path = wrong;
		quiet_start();
		ASSERT_EQ(geofw_geoip_load(fx("custom.mmdb"), &opts, &db), -ENODATA, "load");
		quiet_end();
		ASSERT_TRUE(strstr(last_err, "custom.mmdb") && strstr(last_err, "country iso_code"),
			    last_err);
		ASSERT_TRUE(db_is_empty(&db), "out empty");
	}
	SUBTEST("element with a space") {
		opts.field_path = spaced;
		quiet_start();
		ASSERT_EQ(geofw_geoip_load(fx("custom.mmdb"), &opts, &db), -EINVAL, "load");
		quiet_end();
		ASSERT_TRUE(db_is_empty(&db), "out empty");
	}
}

void test_geoip_limits(void)
{
	struct geofw_geoip_opts opts = { 0 };
	struct geofw_geoip_db db;

	if (!fixtures())
		return;
	/* geoip2.mmdb: 16 IPv4 prefixes merge into 15; 34 IPv6. */
	opts.max_prefixes_v4 = 15;
	opts.max_prefixes_v6 = 34;
	ASSERT_OK(geofw_geoip_load(fx("geoip2.mmdb"), &opts, &db), "at the limits");
	geofw_geoip_free(&db);

	quiet_start();
	opts.max_prefixes_v4 = 14;
	ASSERT_EQ(geofw_geoip_load(fx("geoip2.mmdb"), &opts, &db), -E2BIG, "v4 over");
	ASSERT_TRUE(strstr(last_err, "geoip2.mmdb") && strstr(last_err, "limit"), last_err);
	ASSERT_TRUE(db_is_empty(&db), "out empty");
	opts.max_prefixes_v4 = 15;
	opts.max_prefixes_v6 = 33;
	ASSERT_EQ(geofw_geoip_load(fx("geoip2.mmdb"), &opts, &db), -E2BIG, "v6 over");
	ASSERT_TRUE(db_is_empty(&db), "out empty");
	quiet_end();
}

/* Loads a damaged file: must fail cleanly, naming the file. */
static void expect_reject(const char *path, const char *reason_part)
{
	struct geofw_geoip_db db;
	int err;

	memset(&db, 0xa5, sizeof(db));
	quiet_start();
	err = geofw_geoip_load(path, NULL, &db);
	quiet_end();
	ASSERT_ERR(err, path);
	ASSERT_TRUE(err < 0, "negative errno");
	ASSERT_TRUE(db_is_empty(&db), "out left empty");
	ASSERT_TRUE(strncmp(last_err, "geoip: ", 7) == 0 && strstr(last_err, path), last_err);
	if (reason_part)
		ASSERT_TRUE(strstr(last_err, reason_part) != NULL, last_err);
	geofw_geoip_free(&db);
}

/* Whatever a damaged file holds, the load fails cleanly or returns
 * well-formed tables. */
static bool survive(const char *path)
{
	struct geofw_geoip_db db;
	bool ok = true;
	int err;

	quiet_start();
	err = geofw_geoip_load(path, NULL, &db);
	quiet_end();
	if (err) {
		ok &= ASSERT_TRUE(err < 0, "negative errno");
		ok &= ASSERT_TRUE(db_is_empty(&db), "out left empty");
		ok &= ASSERT_TRUE(strstr(last_err, path) != NULL, last_err);
		return ok;
	}
	ok &= check_shape(db.v4, db.n_v4, false, "v4 shape");
	ok &= check_shape(db.v6, db.n_v6, true, "v6 shape");
	geofw_geoip_free(&db);
	return ok;
}

struct tree_info {
	__u32 node_count;
	unsigned int record_bytes;	/* per node */
	size_t data_start, meta_start;
};

static bool tree_info(const char *path, const __u8 *buf, size_t len, struct tree_info *ti)
{
	MMDB_s m;

	if (!ASSERT_OK(MMDB_open(path, MMDB_MODE_MMAP, &m), "MMDB_open"))
		return false;
	ti->node_count = m.metadata.node_count;
	ti->record_bytes = m.metadata.record_size / 4;
	MMDB_close(&m);
	ti->data_start = (size_t)ti->node_count * ti->record_bytes + 16;
	ti->meta_start = metadata_offset(buf, len) - MARKER_LEN;
	return ASSERT_TRUE(ti->meta_start > ti->data_start, "layout");
}

/* 24-bit records only. */
static __u32 get_rec24(const __u8 *buf, __u32 node, int right)
{
	const __u8 *p = buf + node * 6 + right * 3;

	return (__u32)p[0] << 16 | p[1] << 8 | p[2];
}

static void set_rec24(__u8 *buf, __u32 node, int right, __u32 v)
{
	__u8 *p = buf + node * 6 + right * 3;

	p[0] = (__u8)(v >> 16);
	p[1] = (__u8)(v >> 8);
	p[2] = (__u8)v;
}

/* Metadata as libmaxminddb wants it, with our choice of node_count and
 * record_size, to reach past what the writer would produce. */
static size_t craft_metadata(__u8 *p, __u32 node_count, unsigned int record_size,
			     unsigned int ip_version)
{
	static const char *const keys[] = {
		"node_count", "record_size", "ip_version", "database_type", "languages",
		"binary_format_major_version", "binary_format_minor_version", "build_epoch",
		"description",
	};
	size_t n = 0, i, l;

	memcpy(p, MARKER, MARKER_LEN);
	n = MARKER_LEN;
	p[n++] = 0xe0 | 9;			/* map, 9 pairs */
	for (i = 0; i < 9; i++) {
		l = strlen(keys[i]);
		p[n++] = 0x40 | (__u8)l;	/* utf8_string */
		memcpy(p + n, keys[i], l);
		n += l;
		switch (i) {
		case 0:				/* uint32 */
			p[n++] = 0xc4;
			p[n++] = (__u8)(node_count >> 24);
			p[n++] = (__u8)(node_count >> 16);
			p[n++] = (__u8)(node_count >> 8);
			p[n++] = (__u8)node_count;
			break;
		case 1:				/* uint16 */
			p[n++] = 0xa1;
			p[n++] = (__u8)record_size;
			break;
		case 2:
			p[n++] = 0xa1;
			p[n++] = (__u8)ip_version;
			break;
		case 3:
			p[n++] = 0x41;
			p[n++] = 'x';
			break;
		case 4:				/* empty array (extended type 11) */
			p[n++] = 0x00;
			p[n++] = 0x04;
			break;
		case 5:
			p[n++] = 0xa1;
			p[n++] = 2;
			break;
		case 6:
			p[n++] = 0xa0;
			break;
		case 7:				/* uint64 (extended type 9) */
			p[n++] = 0x01;
			p[n++] = 0x02;
			p[n++] = 1;
			break;
		case 8:				/* empty map */
			p[n++] = 0xe0;
			break;
		}
	}
	return n;
}

/*
 * A synthetic database: a chain of `nodes` nodes, each one's right (or left)
 * record pointing at the next, the last one's at {country_code: "US"}, all
 * other records empty.  24-bit records.
 */
static size_t craft_chain(__u8 *buf, __u32 nodes, bool right, unsigned int ip_version)
{
	static const __u8 data[] = { 0xe1, 0x4c, 'c', 'o', 'u', 'n', 't', 'r', 'y', '_',
				     'c', 'o', 'd', 'e', 0x42, 'U', 'S' };
	size_t n;
	__u32 i;

	for (i = 0; i < nodes; i++) {
		set_rec24(buf, i, right, i + 1 < nodes ? i + 1 : nodes + 16);
		set_rec24(buf, i, !right, nodes);
	}
	n = (size_t)nodes * 6;
	memset(buf + n, 0, 16);
	n += 16;
	memcpy(buf + n, data, sizeof(data));
	n += sizeof(data);
	return n + craft_metadata(buf + n, nodes, 24, ip_version);
}

void test_geoip_malformed(void)
{
	__u8 *orig = NULL, *buf = NULL;
	char path[300], dpath[300];
	int fds = count_fds();
	struct tree_info ti;
	size_t len = 0, i;

	if (!fixtures())
		return;
	if (!ASSERT_OK(read_all(fx("geoip2.mmdb"), &orig, &len), "read geoip2.mmdb"))
		return;
	if (!tree_info(fx("geoip2.mmdb"), orig, len, &ti))
		goto out;
	buf = malloc(len + 4096);
	snprintf(path, sizeof(path), "%s/bad.mmdb", fx_dir);

	SUBTEST("missing file") {
		snprintf(dpath, sizeof(dpath), "%s/none.mmdb", fx_dir);
		expect_reject(dpath, "No such file");
	}
	SUBTEST("directory") {
		expect_reject(fx_dir, "not a regular file");
	}
	SUBTEST("zero length") {
		write_all(path, "", 0);
		expect_reject(path, "empty file");
	}
	SUBTEST("random bytes") {
		static const size_t sizes[] = { 1, 16, 100, 4096, 65536 };
		__u8 *r = malloc(65536);

		for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			rnd_fill(r, sizes[i]);
			write_all(path, r, sizes[i]);
			expect_reject(path, NULL);
		}
		free(r);
	}
	SUBTEST("truncated") {
		const size_t cuts[] = {
			1, 10, 100, ti.data_start / 2, ti.data_start - 1, ti.data_start,
			ti.data_start + 5, ti.meta_start, ti.meta_start + MARKER_LEN,
			ti.meta_start + MARKER_LEN + 10, len - 40, len - 1,
		};

		for (i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
			write_all(path, orig, cuts[i]);
			expect_reject(path, NULL);
		}
	}
	SUBTEST("data section cut") {
		/* Tree and metadata intact, data section halved: records point
		 * past its end. */
		size_t keep = (ti.meta_start - ti.data_start) / 2;

		memcpy(buf, orig, ti.data_start + keep);
		memcpy(buf + ti.data_start + keep, orig + ti.meta_start, len - ti.meta_start);
		write_all(path, buf, len - (ti.meta_start - ti.data_start - keep));
		expect_reject(path, NULL);
	}
	SUBTEST("record past the data section") {
		memcpy(buf, orig, len);
		set_rec24(buf, 0, 1, 0xffffff);
		write_all(path, buf, len);
		expect_reject(path, "outside the data section");
	}
	SUBTEST("record into the separator") {
		memcpy(buf, orig, len);
		set_rec24(buf, 0, 1, ti.node_count + 5);
		write_all(path, buf, len);
		expect_reject(path, "outside the data section");
	}
	SUBTEST("loop back to the root") {
		memcpy(buf, orig, len);
		set_rec24(buf, 0, 1, 0);
		write_all(path, buf, len);
		expect_reject(path, "reached twice");
	}
	SUBTEST("shared subtree") {
		memcpy(buf, orig, len);
		set_rec24(buf, 0, 1, get_rec24(buf, 0, 0));
		write_all(path, buf, len);
		expect_reject(path, "reached twice");
	}
	SUBTEST("deeper than the address width") {
		static const struct {
			unsigned int ip_version, nodes;
			bool right;
			const char *want;	/* NULL: rejected */
		} rows[] = {
			{ 6, 20, true, "ffff:f000::/20 US" },	/* the control */
			{ 6, 128, true, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128 US" },
			{ 6, 129, true, NULL },
			{ 6, 200, true, NULL },
			{ 4, 32, true, "255.255.255.255/32 US" },
			{ 4, 33, true, NULL },
			{ 6, 128, false, "0.0.0.0/32 US" },	/* ::/96 + 32 */
			{ 6, 129, false, NULL },
		};
		struct geofw_geoip_db db;
		char s[80];

		for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
			size_t n = craft_chain(buf, rows[i].nodes, rows[i].right,
					       rows[i].ip_version);

			write_all(path, buf, n);
			if (!rows[i].want) {
				expect_reject(path, "deeper than");
				continue;
			}
			if (!ASSERT_OK(geofw_geoip_load(path, NULL, &db), "control"))
				continue;
			if (db.n_v4)
				fmt_prefix(&db.v4[0], false, s, sizeof(s));
			else if (db.n_v6)
				fmt_prefix(&db.v6[0], true, s, sizeof(s));
			ASSERT_EQ(db.n_v4 + db.n_v6, 1, "one prefix");
			ASSERT_STREQ(s, rows[i].want, "prefix");
			geofw_geoip_free(&db);
		}
	}
	SUBTEST("data record garbage") {
		memcpy(buf, orig, len);
		memset(buf + ti.data_start, 0xff, ti.meta_start - ti.data_start);
		write_all(path, buf, len);
		expect_reject(path, NULL);
	}
	SUBTEST("node_count overflowing 32 bits") {
		/* libmaxminddb 1.7 sizes the tree in 32 bits: 2^29 + 1 nodes
		 * of 8 bytes "fit" in a few bytes. */
		size_t n = 0;

		memset(buf, 0, 64);
		memset(buf, 0xff, 4);
		n = 64;
		n += craft_metadata(buf + n, (1u << 29) + 1, 32, 6);
		write_all(path, buf, n);
		expect_reject(path, NULL);
	}
	SUBTEST("no country anywhere") {
		expect_reject(fx("nofield.mmdb"), "no network has a country");
	}
	SUBTEST("no network") {
		expect_reject(fx("empty.mmdb"), "no network");
	}
	SUBTEST("random flips in the search tree") {
		bool ok = true;

		for (i = 0; i < 300 && ok; i++) {
			unsigned int k, flips = 1 + rnd() % 8;

			memcpy(buf, orig, len);
			for (k = 0; k < flips; k++)
				buf[rnd() % ti.data_start] ^= (__u8)(1 + rnd() % 255);
			write_all(path, buf, len);
			ok = survive(path);
		}
	}
	SUBTEST("random flips anywhere") {
		bool ok = true;

		for (i = 0; i < 300 && ok; i++) {
			unsigned int k, flips = 1 + rnd() % 8;

			memcpy(buf, orig, len);
			for (k = 0; k < flips; k++)
				buf[rnd() % len] ^= (__u8)(1 + rnd() % 255);
			write_all(path, buf, len);
			ok = survive(path);
		}
	}
	SUBTEST("random search tree") {
		bool ok = true;

		for (i = 0; i < 100 && ok; i++) {
			memcpy(buf, orig, len);
			rnd_fill(buf, ti.data_start - 16);
			write_all(path, buf, len);
			ok = survive(path);
		}
	}
	unlink(path);
	ASSERT_EQ(count_fds(), fds, "no descriptor leaked");
out:
	free(buf);
	free(orig);
}

static void compare_fixture(const char *name, const char *const *field, bool flat)
{
	static const char *const country_code[] = { "country_code", NULL };
	struct geofw_geoip_opts opts = { .field_path = field };
	static const __u8 doc6[16] = { 0x20, 0x01, 0x0d, 0xb8 };
	struct geofw_geoip_reader *rd = NULL;
	struct oracle o = { .path = field ? field : flat ? country_code : NULL };
	struct geofw_geoip_db db;
	size_t k;

	if (!ASSERT_OK(geofw_geoip_load(fx(name), &opts, &db), "load"))
		return;
	if (!ASSERT_OK(MMDB_open(fx(name), MMDB_MODE_MMAP, &o.mmdb), "MMDB_open"))
		goto out;
	check_ends(&o, db.v4, db.n_v4, false, "v4 ends");
	check_ends(&o, db.v6, db.n_v6, true, "v6 ends");
	check_random(&o, &db, 3000, doc6, 32, "random");

	/* The library's own single lookups agree with the oracle too. */
	if (ASSERT_OK(geofw_geoip_open(fx(name), &opts, &rd), "geofw_geoip_open")) {
		for (k = 0; k < 2000; k++) {
			struct sockaddr_in6 s6 = { .sin6_family = AF_INET6 };
			struct sockaddr_in s4 = { .sin_family = AF_INET };
			bool v6 = k & 1, err;
			unsigned int id;
			int want;
			__u8 a[16] = { 0 };

			rnd_fill(a, 16);
			if (v6 && k & 2)
				memcpy(a, doc6, 4);
			else if (!v6 && k & 2)
				memcpy(a, (__u8[]){ 192, 0, 2 }, 3);
			want = oracle_country(&o, v6, a, &err);
			memcpy(&s6.sin6_addr, a, 16);
			memcpy(&s4.sin_addr, a, 4);
			if (v6 && db.report.ip_version == 4) {
				ASSERT_EQ(geofw_geoip_lookup(rd, (struct sockaddr *)&s6, &id),
					  -EAFNOSUPPORT, "v6 in v4 db");
				continue;
			}
			if (!ASSERT_OK(geofw_geoip_lookup(rd, v6 ? (struct sockaddr *)&s6 :
							  (struct sockaddr *)&s4, &id), "lookup") ||
			    !ASSERT_EQ(id, want, "geofw_geoip_lookup vs libmaxminddb"))
				break;
		}
		geofw_geoip_close(rd);
	}
	MMDB_close(&o.mmdb);
out:
	geofw_geoip_free(&db);
}

void test_geoip_vs_libmaxminddb(void)
{
	static const char *const geo_cc[] = { "geo", "cc", NULL };

	if (!fixtures())
		return;
	SUBTEST("geoip2") compare_fixture("geoip2.mmdb", NULL, false);
	SUBTEST("ipv4") compare_fixture("ipv4.mmdb", NULL, false);
	SUBTEST("default4") compare_fixture("default4.mmdb", NULL, false);
	SUBTEST("default6") compare_fixture("default6.mmdb", NULL, false);
	SUBTEST("flat") compare_fixture("flat.mmdb", NULL, true);
	SUBTEST("custom") compare_fixture("custom.mmdb", geo_cc, false);
	SUBTEST("shape-v4") compare_fixture("shape-v4.mmdb", NULL, true);
	SUBTEST("shape-v6") compare_fixture("shape-v6.mmdb", NULL, true);
}

struct shape {
	size_t v4_long, v4_long_24s, v6_long, v6_long_64s, v6_128, v6_32;
};

static void shape_of(const struct geofw_geoip_db *db, struct shape *sh)
{
	__u64 last64 = ~0ull;
	__u32 last24 = ~0u;
	size_t i;

	memset(sh, 0, sizeof(*sh));
	for (i = 0; i < db->n_v4; i++) {
		const __u8 *a = db->v4[i].addr;
		__u32 k = (__u32)a[0] << 16 | (__u32)a[1] << 8 | a[2];

		if (db->v4[i].prefixlen <= 24)
			continue;
		sh->v4_long++;
		sh->v4_long_24s += k != last24;
		last24 = k;
	}
	for (i = 0; i < db->n_v6; i++) {
		__u64 k = 0;
		int j;

		sh->v6_128 += db->v6[i].prefixlen == 128;
		sh->v6_32 += db->v6[i].prefixlen == 32;
		if (db->v6[i].prefixlen <= 64)
			continue;
		for (j = 0; j < 8; j++)
			k = k << 8 | db->v6[i].addr[j];
		sh->v6_long++;
		sh->v6_long_64s += k != last64;
		last64 = k;
	}
}

/* Every prefix's first and last address, through the built tables. */
static bool image_ends_agree(const struct geofw_geo_image *img, const struct geofw_geoip_db *db)
{
	size_t i;
	int fam;

	for (fam = 4; fam <= 6; fam += 2) {
		const struct geofw_geo_prefix *p = fam == 4 ? db->v4 : db->v6;
		size_t n = fam == 4 ? db->n_v4 : db->n_v6;

		for (i = 0; i < n; i++) {
			__u8 last[16];

			addr_last(&p[i], fam == 4 ? 32 : 128, last);
			if (!ASSERT_EQ(geofw_geo_image_lookup(img, fam, p[i].addr), p[i].country_id,
				       "first address") ||
			    !ASSERT_EQ(geofw_geo_image_lookup(img, fam, last), p[i].country_id,
				       "last address"))
				return false;
		}
	}
	return true;
}

/*
 * The shape of ip-location-db's country files (mkmmdb.pl): tens of
 * thousands of IPv6 prefixes longer than /64, /128s and /32s in an
 * IPv6-only file, prefixes longer than /24 in an IPv4-only one.  They load,
 * merge and build into kernel tables that answer like the files (the
 * kernel side of the same check is tests/prog/geo.c).
 */
void test_geoip_real_shapes(void)
{
	struct geofw_geoip_db v4 = {}, v6 = {}, both[2], merged = {};
	struct geofw_geo_image img = {};
	struct shape sh;

	if (!fixtures())
		return;
	if (!ASSERT_OK(geofw_geoip_load(fx("shape-v4.mmdb"), NULL, &v4), "load shape-v4") ||
	    !ASSERT_OK(geofw_geoip_load(fx("shape-v6.mmdb"), NULL, &v6), "load shape-v6"))
		goto out;
	SUBTEST("ipv4-only file") {
		ASSERT_EQ(v4.report.ip_version, 4, "ip_version");
		ASSERT_EQ(v4.report.schema, GEOFW_GEOIP_SCHEMA_FLAT, "flat schema detected");
		ASSERT_EQ(v4.n_v6, 0, "no IPv6");
		shape_of(&v4, &sh);
		ASSERT_EQ(v4.n_v4, 33025, "prefixes");
		ASSERT_EQ(sh.v4_long, 33024, "longer than /24");
		ASSERT_EQ(sh.v4_long_24s, 513, "in /24s");
	}
	SUBTEST("ipv6-only file") {
		ASSERT_EQ(v6.report.ip_version, 6, "ip_version");
		ASSERT_EQ(v6.n_v4, 0, "no IPv4");
		shape_of(&v6, &sh);
		ASSERT_EQ(sh.v6_32, 4096, "/32s");
		ASSERT_EQ(sh.v6_128, 12800, "/128s");
		/* 56 inserted per /64, the rest of each /64 in 59 more pieces. */
		ASSERT_EQ(sh.v6_long, 92000, "longer than /64");
		ASSERT_EQ(sh.v6_long_64s, 800, "in /64s");
		ASSERT_EQ(v6.n_v6, 98296, "prefixes");
	}
	SUBTEST("ipv6 tables past the old 32,768 limit") {
		if (ASSERT_OK(geofw_geo_build(v6.v4, v6.n_v4, v6.v6, v6.n_v6, &img), "build")) {
			/* Every long prefix; the /64s holding them need no cover
			 * entry (the long prefixes tile each of them). */
			ASSERT_EQ(img.n_more6, 92000, "trie entries");
			image_ends_agree(&img, &v6);
		}
		geofw_geo_image_free(&img);
	}
	SUBTEST("both files merged") {
		both[0] = v4;
		both[1] = v6;
		if (!ASSERT_OK(geofw_geoip_merge(both, 2, &merged), "merge"))
			break;
		ASSERT_EQ(merged.n_v4, v4.n_v4, "IPv4 from the IPv4 file");
		ASSERT_EQ(merged.n_v6, v6.n_v6, "IPv6 from the IPv6 file");
		ASSERT_MEMEQ(merged.v4, v4.v4, v4.n_v4 * sizeof(*v4.v4), "IPv4 prefixes");
		ASSERT_MEMEQ(merged.v6, v6.v6, v6.n_v6 * sizeof(*v6.v6), "IPv6 prefixes");
		ASSERT_EQ(merged.report.countries, 5, "countries");
		if (ASSERT_OK(geofw_geo_build(merged.v4, merged.n_v4, merged.v6, merged.n_v6, &img),
			      "build"))
			image_ends_agree(&img, &merged);
		geofw_geo_image_free(&img);
	}
out:
	geofw_geoip_free(&merged);
	geofw_geoip_free(&v4);
	geofw_geoip_free(&v6);
}

/* The country of addr in db (sorted, disjoint prefixes), 0 when none. */
static int covered_by(const struct geofw_geoip_db *db, bool v6, const __u8 *addr)
{
	long i = v6 ? find_prefix(db->v6, db->n_v6, true, addr) :
		      find_prefix(db->v4, db->n_v4, false, addr);

	return i < 0 ? 0 : v6 ? db->v6[i].country_id : db->v4[i].country_id;
}

/*
 * Merging overlapping databases: the first listed that covers an address
 * decides; a range one leaves out (a refused code, no country) is what the
 * next says.  Checked against the inputs, in both orders, on random
 * addresses and on both ends of every input prefix.
 */
void test_geoip_merge_order(void)
{
	static const char *const names[] = { "geoip2.mmdb", "ipv4.mmdb", "default4.mmdb",
					      "default6.mmdb", "flat.mmdb" };
	struct geofw_geoip_db dbs[5] = {}, merged = {};
	size_t i, k, n = sizeof(names) / sizeof(names[0]);
	int order;

	if (!fixtures())
		return;
	for (i = 0; i < n; i++)
		if (!ASSERT_OK(geofw_geoip_load(fx(names[i]), NULL, &dbs[i]), names[i]))
			goto out;
	for (order = 0; order < 2; order++) {
		struct geofw_geoip_db in[5];
		size_t bad = 0, j;

		for (i = 0; i < n; i++)
			in[i] = dbs[order ? n - 1 - i : i];
		if (!ASSERT_OK(geofw_geoip_merge(in, n, &merged), "merge"))
			break;
		/* Sorted and disjoint, as the loader returns them. */
		for (j = 1; j < merged.n_v4; j++) {
			__u8 end[16];

			addr_last(&merged.v4[j - 1], 32, end);
			bad += memcmp(end, merged.v4[j].addr, 4) >= 0;
		}
		for (j = 1; j < merged.n_v6; j++) {
			__u8 end[16];

			addr_last(&merged.v6[j - 1], 128, end);
			bad += memcmp(end, merged.v6[j].addr, 16) >= 0;
		}
		ASSERT_EQ(bad, 0, "sorted and disjoint");
		for (k = 0; k < 40000; k++) {
			bool v6 = k & 1;
			__u8 a[16] = { 0 };
			int want = 0, got;

			rnd_fill(a, v6 ? 16 : 4);
			if (k & 2)	/* inside the fixtures' ranges */
				memcpy(a, v6 ? (const __u8[]){ 0x20, 0x01, 0x0d, 0xb8 } :
					       (const __u8[]){ 192, 0, 2, 0 }, v6 ? 4 : 3);
			if (k & 4 && !v6)
				memcpy(a, (const __u8[]){ 203, 0, 113 }, 3);
			for (i = 0; i < n && !want; i++)
				want = covered_by(&in[i], v6, a);
			got = covered_by(&merged, v6, a);
			if (got != want && bad++ < 5) {
				char str[INET6_ADDRSTRLEN], msg[160];

				inet_ntop(v6 ? AF_INET6 : AF_INET, a, str, sizeof(str));
				snprintf(msg, sizeof(msg), "order %d: %s: merged %d, first cover %d",
					 order, str, got, want);
				ASSERT_TRUE(false, msg);
			}
		}
		ASSERT_EQ(bad, 0, "first cover decides");
		/* The first database's own prefixes are kept whole. */
		for (j = 0; j < in[0].n_v4; j++)
			ASSERT_EQ(covered_by(&merged, false, in[0].v4[j].addr), in[0].v4[j].country_id,
				  "first database wins");
		geofw_geoip_free(&merged);
	}
out:
	geofw_geoip_free(&merged);
	for (i = 0; i < n; i++)
		geofw_geoip_free(&dbs[i]);
}

/* The reader works on a private copy: the file truncated or rewritten in
 * place under it must not take the process down with SIGBUS. */
void test_geoip_reader_snapshot(void)
{
	struct sockaddr_in s4 = { .sin_family = AF_INET };
	struct geofw_geoip_reader *rd;
	char path[300];
	unsigned int id = 0;
	size_t len;
	__u8 *buf;

	if (!fixtures())
		return;
	if (!ASSERT_OK(read_all(fx("geoip2.mmdb"), &buf, &len), "read"))
		return;
	snprintf(path, sizeof(path), "%s/snap.mmdb", fx_dir);
	write_all(path, buf, len);
	free(buf);
	if (!ASSERT_OK(geofw_geoip_open(path, NULL, &rd), "open"))
		goto out;
	write_all(path, "", 0);
	inet_pton(AF_INET, "192.0.2.204", &s4.sin_addr);
	ASSERT_OK(geofw_geoip_lookup(rd, (struct sockaddr *)&s4, &id), "lookup");
	ASSERT_STREQ(geofw_country_code(id), "JP", "192.0.2.204");
	geofw_geoip_close(rd);
out:
	unlink(path);
}

void test_geoip_real_db(void)
{
	static const __u8 global6[16] = { 0x20 };
	struct geofw_geoip_report *r;
	struct geofw_geoip_db db;
	struct oracle o = { 0 };
	char path[300], cmd[700];
	struct stat st;

	if (stat(REAL_DB_GZ, &st)) {
		test_skip(REAL_DB_GZ " absent");
		return;
	}
	if (!fixtures())
		return;
	snprintf(path, sizeof(path), "%s/GeoLite2-Country.mmdb", fx_dir);
	snprintf(cmd, sizeof(cmd), "gzip -dc %s > %s", REAL_DB_GZ, path);
	if (!ASSERT_OK(system(cmd), "gzip -dc"))
		return;
	if (!ASSERT_OK(geofw_geoip_load(path, NULL, &db), "load"))
		goto out;
	r = &db.report;
	printf("# GeoLite2-Country: %.1f ms, %u nodes, IPv4 %zu -> %zu prefixes, IPv6 %zu -> %zu, %u countries\n",
	       r->walk_ms, r->node_count, r->raw_v4, r->n_v4, r->raw_v6, r->n_v6, r->countries);
	SUBTEST("report") {
		ASSERT_STREQ(r->database_type, "GeoLite2-Country", "database_type");
		ASSERT_EQ(r->schema, GEOFW_GEOIP_SCHEMA_GEOIP2, "schema");
		ASSERT_EQ(r->ip_version, 6, "ip_version");
		ASSERT_TRUE(db.n_v4 + db.n_v6 > 100000, "prefixes");
		ASSERT_TRUE(db.n_v4 > 100000 && db.n_v6 > 100000, "prefixes per family");
		ASSERT_TRUE(r->countries > 200, "countries");
		ASSERT_TRUE(r->n_v4 <= r->raw_v4 && r->n_v6 <= r->raw_v6, "merge shrinks");
		ASSERT_EQ(r->invalid_codes, 0, "invalid codes");
		ASSERT_TRUE(r->walk_ms < 1000, "walk under 1 s");
	}
	SUBTEST("shape") {
		check_shape(db.v4, db.n_v4, false, "v4");
		check_shape(db.v6, db.n_v6, true, "v6");
	}
	SUBTEST("no aliases in ipv6") {
		char buf[80];
		size_t i;

		for (i = 0; i < db.n_v6; i++)
			if (!ASSERT_TRUE(!v6_aliased(db.v6[i].addr),
					 fmt_prefix(&db.v6[i], true, buf, sizeof(buf))))
				break;
	}
	if (!ASSERT_OK(MMDB_open(path, MMDB_MODE_MMAP, &o.mmdb), "MMDB_open"))
		goto free;
	SUBTEST("prefix ends") {
		check_ends(&o, db.v4, db.n_v4, false, "v4");
		check_ends(&o, db.v6, db.n_v6, true, "v6");
	}
	SUBTEST("200k random addresses") {
		/* 100k per family; IPv6 uniform ones from 2000::/3. */
		check_random(&o, &db, 100000, global6, 3, "random");
	}
	MMDB_close(&o.mmdb);
free:
	geofw_geoip_free(&db);
out:
	unlink(path);
}
