// SPDX-License-Identifier: GPL-2.0-only
/*
 * MaxMind DB files (user/lib/geoip.h): geofw_geoip_load() on any bytes,
 * written to a memfd and loaded through its /proc/self/fd path.  A database
 * is downloaded from the network by a cron job: it is untrusted input.
 *
 * The options (field path, prefix limits) are picked from a hash of the
 * input, so each input always runs the same way.  An accepted database must
 * come back as sorted, disjoint, canonical prefixes with valid country ids,
 * and libmaxminddb's own lookup (geofw_geoip_lookup) must agree with the
 * walk for addresses of those prefixes and, for IPv4, of the gaps between
 * them.  (IPv6 gaps include the ranges the walk leaves out on purpose.)
 *
 * libmaxminddb 1.7.1 leaks on some malformed metadata: tests/fuzz/lsan.supp.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"
#include "geoip.h"
#include "log.h"

#define LOOKUPS_PER_FAMILY	8

static void quiet(int level, const char *msg, void *ctx)
{
	(void)level;
	(void)msg;
	(void)ctx;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (!fuzz_verbose())
		geofw_log_set_sink(quiet, NULL);
	return 0;
}

static bool host_bits_clear(const struct geofw_geo_prefix *p, unsigned int bits)
{
	unsigned int i;

	for (i = p->prefixlen; i < bits; i++)
		if (p->addr[i / 8] & (0x80 >> (i % 8)))
			return false;
	for (i = bits / 8; i < 16; i++)
		if (p->addr[i])
			return false;
	return true;
}

/* addr + 2^(bits - len), in place; false on wrap-around. */
static bool next_block(__u8 *addr, unsigned int len, unsigned int bits)
{
	int i = (int)(len ? (len - 1) / 8 : -1);
	unsigned int carry;

	if (!len)
		return false;
	carry = 0x80 >> ((len - 1) % 8);
	for (; i >= 0 && carry; i--) {
		carry += addr[i];
		addr[i] = (__u8)carry;
		carry >>= 8;
	}
	(void)bits;
	return !carry;
}

static void check_sorted(const struct geofw_geo_prefix *v, size_t n, unsigned int bits)
{
	__u8 end[16];
	bool wrapped = false;
	size_t i;

	for (i = 0; i < n; i++) {
		FUZZ_CHECK(v[i].prefixlen <= bits, "IPv%u prefix %zu: /%u", bits == 32 ? 4 : 6, i,
			   v[i].prefixlen);
		FUZZ_CHECK(host_bits_clear(&v[i], bits), "IPv%u prefix %zu has host bits",
			   bits == 32 ? 4 : 6, i);
		FUZZ_CHECK(v[i].country_id >= 1 && v[i].country_id <= GEOFW_COUNTRY_MAX_ID,
			   "IPv%u prefix %zu: country id %u", bits == 32 ? 4 : 6, i,
			   v[i].country_id);
		/* Starts at or after the end of the previous one. */
		if (i)
			FUZZ_CHECK(!wrapped && memcmp(v[i].addr, end, bits / 8) >= 0,
				   "IPv%u prefixes %zu and %zu overlap or are out of order",
				   bits == 32 ? 4 : 6, i - 1, i);
		memcpy(end, v[i].addr, 16);
		wrapped = !next_block(end, v[i].prefixlen, bits);
	}
}

static unsigned int lookup(struct geofw_geoip_reader *r, const __u8 *addr, unsigned int bits)
{
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6 };
	struct sockaddr_in s4 = { .sin_family = AF_INET };
	unsigned int id = 999;
	int err;

	if (bits == 32) {
		memcpy(&s4.sin_addr, addr, 4);
		err = geofw_geoip_lookup(r, (struct sockaddr *)&s4, &id);
	} else {
		memcpy(&s6.sin6_addr, addr, 16);
		err = geofw_geoip_lookup(r, (struct sockaddr *)&s6, &id);
	}
	FUZZ_CHECK(!err, "lookup in a database that loaded failed with %d", err);
	return id;
}

static void check_lookups(struct geofw_geoip_reader *r, const struct geofw_geo_prefix *v,
			  size_t n, unsigned int bits)
{
	char a[INET6_ADDRSTRLEN];
	size_t i, step = n / LOOKUPS_PER_FAMILY + 1;
	__u8 addr[16];

	for (i = 0; i < n; i += step) {
		unsigned int id = lookup(r, v[i].addr, bits);

		inet_ntop(bits == 32 ? AF_INET : AF_INET6, v[i].addr, a, sizeof(a));
		FUZZ_CHECK(id == v[i].country_id, "%s/%u: walk says %u, lookup %u", a,
			   v[i].prefixlen, v[i].country_id, id);
		if (bits != 32)
			continue;
		/* The address after the prefix, when it starts a gap. */
		memcpy(addr, v[i].addr, 16);
		if (!next_block(addr, v[i].prefixlen, bits) ||
		    (i + 1 < n && !memcmp(addr, v[i + 1].addr, 4)))
			continue;
		id = lookup(r, addr, bits);
		inet_ntop(AF_INET, addr, a, sizeof(a));
		FUZZ_CHECK(id == GEOFW_COUNTRY_NONE, "%s: in no prefix of the walk, lookup says %u",
			   a, id);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const path_iso[] = { "country", "iso_code", NULL };
	static const char *const path_flat[] = { "country_code", NULL };
	struct geofw_geoip_opts opts = { .field_path = NULL };
	struct geofw_geoip_reader *r;
	struct geofw_geoip_db db;
	unsigned int h = 0;
	char path[64];
	size_t off = 0;
	int fd, err;

	for (off = 0; off < size; off++)
		h = h * 31 + data[off];
	/* Mostly autodetection, as in the default configuration. */
	if (h % 8 == 5)
		opts.field_path = path_iso;
	else if (h % 8 == 6)
		opts.field_path = path_flat;
	if (h % 16 == 7)
		opts.max_prefixes_v4 = opts.max_prefixes_v6 = 2;

	fd = memfd_create("fuzz-mmdb", MFD_CLOEXEC);
	FUZZ_CHECK(fd >= 0, "memfd_create failed");
	for (off = 0; off < size;) {
		ssize_t n = write(fd, data + off, size - off);

		FUZZ_CHECK(n > 0, "write to memfd failed");
		off += (size_t)n;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);

	err = geofw_geoip_load(path, &opts, &db);
	FUZZ_SAY("mmdb (field %s, limit %zu): %s, %zu IPv4 and %zu IPv6 prefixes\n",
		 opts.field_path ? opts.field_path[0] : "auto", opts.max_prefixes_v4,
		 err ? strerror(-err) : "accepted", db.n_v4, db.n_v6);
	if (err) {
		FUZZ_CHECK(err == -EINVAL || err == -ENODATA || err == -E2BIG,
			   "geoip_load returned %d", err);
		FUZZ_CHECK(!db.v4 && !db.v6 && !db.n_v4 && !db.n_v6, "entries left after an error");
		close(fd);
		return 0;
	}
	FUZZ_CHECK(db.n_v4 || db.n_v6, "a database without prefixes was accepted");
	FUZZ_CHECK(db.report.ip_version == 4 || db.report.ip_version == 6, "ip_version %u",
		   db.report.ip_version);
	FUZZ_CHECK(db.report.ip_version == 6 || !db.n_v6, "IPv6 prefixes from an IPv4 database");
	if (opts.max_prefixes_v4)
		FUZZ_CHECK(db.n_v4 <= 2 && db.n_v6 <= 2, "limit of 2 prefixes exceeded");
	check_sorted(db.v4, db.n_v4, 32);
	check_sorted(db.v6, db.n_v6, 128);

	err = geofw_geoip_open(path, &opts, &r);
	FUZZ_CHECK(!err, "a database that loaded does not open: %d", err);
	check_lookups(r, db.v4, db.n_v4, 32);
	check_lookups(r, db.v6, db.n_v6, 128);
	geofw_geoip_close(r);
	geofw_geoip_free(&db);
	close(fd);
	return 0;
}
