// SPDX-License-Identifier: GPL-2.0-only
#include "geoverify.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <errno.h>
#include <stdbool.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "geofw.h"
#include "explain.h"

/* The smallest frame the parser accepts as IP: Ethernet + bare IP header. */
static size_t probe_frame(int family, const __u8 *addr, __u8 *f)
{
	memset(f, 0, 64);
	if (family == 4) {
		f[12] = 0x08;
		f[14] = 0x45;
		f[17] = 20;			/* total length */
		f[23] = 17;			/* UDP, no L4 header needed */
		memcpy(f + 26, addr, 4);
		return 60;
	}
	f[12] = 0x86;
	f[13] = 0xdd;
	f[14] = 0x60;
	f[20] = 59;				/* no next header */
	memcpy(f + 22, addr, 16);
	return 14 + 40;
}

static int probe_run(int probe_fd, int family, const __u8 *addr, __u32 *retval)
{
	__u8 frame[64];
	LIBBPF_OPTS(bpf_test_run_opts, run, .data_in = frame, .repeat = 1);

	run.data_size_in = (__u32)probe_frame(family, addr, frame);
	if (bpf_prog_test_run_opts(probe_fd, &run))
		return -errno;
	*retval = run.retval;
	return 0;
}

int geofw_geo_probe(int probe_fd, int family, const __u8 *addr)
{
	__u32 ret;
	int err = probe_run(probe_fd, family, addr, &ret);

	if (err)
		return err;
	if (ret > 255)
		return -EPROTO;
	return (int)ret;
}

long long geofw_asn_probe(int probe_fd, int family, const __u8 *addr)
{
	__u32 ret;
	int err = probe_run(probe_fd, family, addr, &ret);

	if (err)
		return err;
	if (ret == 0xffffffffu)
		return -EPROTO;
	return ret;
}

/* Ranges libmaxminddb answers through its IPv4 aliases (what the data plane
 * judges as IPv4 is compared as IPv4 before this is asked). */
static bool aliased_v6(const __u8 *a)
{
	static const __u8 zero[12];

	if (!memcmp(a, zero, 12))
		return true;			/* ::/96 */
	if (a[0] == 0x20 && a[1] == 0x01 && !a[2] && !a[3])
		return true;			/* 2001::/32 */
	return a[0] == 0x20 && a[1] == 0x02;	/* 2002::/16 */
}

static int reference_one(struct geofw_geoip_reader *r, int family, const __u8 *addr,
			 unsigned int *id)
{
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6 };
	struct sockaddr_in s4 = { .sin_family = AF_INET };

	*id = GEOFW_COUNTRY_NONE;
	if (family == 4) {
		memcpy(&s4.sin_addr, addr, 4);
		return geofw_geoip_lookup(r, (struct sockaddr *)&s4, id);
	}
	memcpy(&s6.sin6_addr, addr, 16);
	return geofw_geoip_lookup(r, (struct sockaddr *)&s6, id);
}

/* What the merged databases say: the first with a country decides.
 * *covered: some database could answer (an IPv4-only one cannot for IPv6). */
static int reference(struct geofw_geoip_reader *const *readers, size_t n, int family,
		     const __u8 *addr, unsigned int *want, bool *covered)
{
	size_t i;
	int err;

	*want = GEOFW_COUNTRY_NONE;
	*covered = false;
	for (i = 0; i < n; i++) {
		unsigned int id;

		err = reference_one(readers[i], family, addr, &id);
		if (err == -EAFNOSUPPORT)		/* IPv6 address, IPv4 database */
			continue;
		if (err)
			return err;
		*covered = true;
		if (id != GEOFW_COUNTRY_NONE && *want == GEOFW_COUNTRY_NONE)
			*want = id;
	}
	return 0;
}

static int check_one(int probe_fd, struct geofw_geoip_reader *const *readers, size_t n,
		     int family, const __u8 *addr, struct geofw_verify_result *res)
{
	unsigned int want;
	bool covered;
	__u8 v4[4];
	int got, err;

	/* v4-mapped, IPv4-compatible, 6to4 and NAT64 well-known sources are
	 * judged as the IPv4 address they carry: so is the reference.  (Sources
	 * in NAT64 prefixes of the config are not sampled specially.) */
	if (family == 6 && geofw_v6_fixed_v4(addr, v4))
		err = reference(readers, n, 4, v4, &want, &covered);
	else
		err = reference(readers, n, family, addr, &want, &covered);
	if (err)
		return err;
	if (family == 6 && geofw_v6_fixed_v4(addr, v4)) {
		res->v6_as_v4++;
		goto probe;
	}
	if (family == 6 && covered && aliased_v6(addr)) {
		res->skipped++;
		return 0;
	}
	if (family == 6 && !covered)
		res->v6_not_covered++;
probe:
	got = geofw_geo_probe(probe_fd, family, addr);
	if (got < 0)
		return got;
	if ((unsigned int)got == want) {
		res->agreed++;
		return 0;
	}
	if (res->n_mismatch < GEOFW_VERIFY_MISMATCHES) {
		struct geofw_verify_mismatch *m = &res->mismatch[res->n_mismatch];

		inet_ntop(family == 4 ? AF_INET : AF_INET6, addr, m->addr, sizeof(m->addr));
		m->want = want;
		m->got = (unsigned int)got;
	}
	res->n_mismatch++;
	return 0;
}

/* xorshift64*: reproducible for a seed, plenty for sampling. */
static __u64 next_rand(__u64 *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1Dull;
}

static void prefix_last(const struct geofw_geo_prefix *p, int family, __u8 *out)
{
	unsigned int bits = family == 4 ? 32 : 128, i;

	memcpy(out, p->addr, 16);
	for (i = p->prefixlen; i < bits; i++)
		out[i / 8] |= (__u8)(0x80 >> (i % 8));
}

/* Every address a verification checks: `samples` random ones per family
 * (IPv6 drawn from 2000::/3 half of the time) and both edges of every prefix
 * of db (when non-NULL), each through check(ctx, family, addr). */
struct walk_counts {
	size_t random_checked, edges_checked;
	double seconds;
};

static int walk_addresses(int (*check)(void *ctx, int family, const __u8 *addr), void *ctx,
			  const struct geofw_geoip_db *db, size_t samples, unsigned int seed,
			  struct walk_counts *wc)
{
	struct timespec t0, t1;
	__u64 s = seed ? seed : 0x9e3779b97f4a7c15ull;
	__u8 addr[16];
	size_t i;
	int err, fam;

	memset(wc, 0, sizeof(*wc));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < samples; i++) {
		__u64 a = next_rand(&s), b = next_rand(&s);

		memcpy(addr, &a, 8);
		memcpy(addr + 8, &b, 8);
		if ((err = check(ctx, 4, addr)))
			return err;
		if (i & 1)
			addr[0] = (__u8)(0x20 | (addr[0] & 0x1f));	/* 2000::/3 */
		if ((err = check(ctx, 6, addr)))
			return err;
		wc->random_checked += 2;
	}
	for (fam = 4; db && fam <= 6; fam += 2) {
		const struct geofw_geo_prefix *v = fam == 4 ? db->v4 : db->v6;
		size_t n = fam == 4 ? db->n_v4 : db->n_v6;

		for (i = 0; i < n; i++) {
			if ((err = check(ctx, fam, v[i].addr)))
				return err;
			prefix_last(&v[i], fam, addr);
			if ((err = check(ctx, fam, addr)))
				return err;
			wc->edges_checked += 2;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	wc->seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	return 0;
}

struct geo_check {
	int probe_fd;
	struct geofw_geoip_reader *const *readers;
	size_t n_readers;
	struct geofw_verify_result *res;
};

static int geo_check(void *ctx, int family, const __u8 *addr)
{
	struct geo_check *g = ctx;

	return check_one(g->probe_fd, g->readers, g->n_readers, family, addr, g->res);
}

int geofw_geo_verify(int probe_fd, struct geofw_geoip_reader *const *readers, size_t n_readers,
		     const struct geofw_geoip_db *db, size_t samples, unsigned int seed,
		     struct geofw_verify_result *res)
{
	struct geo_check g = { probe_fd, readers, n_readers, res };
	struct walk_counts wc;
	int err;

	memset(res, 0, sizeof(*res));
	err = walk_addresses(geo_check, &g, db, samples, seed, &wc);
	res->random_checked = wc.random_checked;
	res->edges_checked = wc.edges_checked;
	res->seconds = wc.seconds;
	return err;
}

/* libmaxminddb's AS for the address, if that AS has a rule in cl. */
static int asn_reference(struct geofw_geoip_reader *r, const struct geofw_asn_classes *cl,
			 int family, const __u8 *addr, __u32 *want, bool *covered)
{
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6 };
	struct sockaddr_in s4 = { .sin_family = AF_INET };
	__u32 asn;
	int err;

	*want = 0;
	*covered = true;
	if (family == 4) {
		memcpy(&s4.sin_addr, addr, 4);
		err = geofw_geoip_lookup_asn(r, (struct sockaddr *)&s4, &asn, NULL, 0);
	} else {
		memcpy(&s6.sin6_addr, addr, 16);
		err = geofw_geoip_lookup_asn(r, (struct sockaddr *)&s6, &asn, NULL, 0);
	}
	if (err == -EAFNOSUPPORT) {
		*covered = false;
		return 0;
	}
	if (err)
		return err;
	if (asn && geofw_asn_class_of(cl, asn))
		*want = asn;
	return 0;
}

static int asn_check_one(int probe_fd, struct geofw_geoip_reader *r,
			 const struct geofw_asn_classes *cl, int family, const __u8 *addr,
			 struct geofw_asn_verify_result *res)
{
	long long got;
	bool covered;
	__u32 want;
	int err;

	if ((err = asn_reference(r, cl, family, addr, &want, &covered)))
		return err;
	if (family == 6 && covered && aliased_v6(addr))
		return 0;
	got = geofw_asn_probe(probe_fd, family, addr);
	if (got < 0)
		return (int)got;
	if ((__u32)got == want) {
		res->agreed++;
		return 0;
	}
	if (res->n_mismatch < GEOFW_VERIFY_MISMATCHES) {
		inet_ntop(family == 4 ? AF_INET : AF_INET6, addr, res->mismatch[res->n_mismatch].addr,
			  sizeof(res->mismatch[0].addr));
		res->mismatch[res->n_mismatch].want = want;
		res->mismatch[res->n_mismatch].got = (__u32)got;
	}
	res->n_mismatch++;
	return 0;
}

struct asn_check {
	int probe_fd;
	struct geofw_geoip_reader *reader;
	const struct geofw_asn_classes *cl;
	struct geofw_asn_verify_result *res;
};

static int asn_check(void *ctx, int family, const __u8 *addr)
{
	struct asn_check *a = ctx;

	return asn_check_one(a->probe_fd, a->reader, a->cl, family, addr, a->res);
}

int geofw_asn_verify(int probe_fd, struct geofw_geoip_reader *reader,
		     const struct geofw_asn_classes *cl, const struct geofw_geoip_db *db,
		     size_t samples, unsigned int seed, struct geofw_asn_verify_result *res)
{
	struct asn_check a = { probe_fd, reader, cl, res };
	struct walk_counts wc;
	int err;

	memset(res, 0, sizeof(*res));
	err = walk_addresses(asn_check, &a, db, samples, seed, &wc);
	res->random_checked = wc.random_checked;
	res->edges_checked = wc.edges_checked;
	res->seconds = wc.seconds;
	return err;
}
