// SPDX-License-Identifier: GPL-2.0-only
/*
 * Several GeoIP databases merged into one prefix set: the first listed that
 * covers an address decides (geoip.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <maxminddb.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "grow.h"
#include "log.h"
#include "geoip_int.h"

/* ---- several databases ------------------------------------------------------ */

struct merge_out {
	struct geofw_geo_prefix *p;
	size_t n, cap;
};

static int merge_push(struct merge_out *o, const struct geofw_geo_prefix *p)
{
	struct geofw_geo_prefix *g = geofw_grow(o->p, &o->cap, o->n, sizeof(*g), 4096);

	if (!g)
		return -ENOMEM;
	o->p = g;
	o->p[o->n++] = *p;
	return 0;
}

/* The last address of p (bits past the prefix set) in out[16]. */
static void prefix_end(const struct geofw_geo_prefix *p, unsigned int bits, __u8 *out)
{
	unsigned int i;

	memcpy(out, p->addr, 16);
	for (i = p->prefixlen; i < bits; i++)
		out[i / 8] |= (__u8)(0x80 >> (i % 8));
}

/* Index of the last prefix of a[0..n) that starts at or before addr, or n. */
static size_t last_at_or_before(const struct geofw_geo_prefix *a, size_t n, const __u8 *addr)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (memcmp(a[mid].addr, addr, 16) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? lo - 1 : n;
}

/*
 * The parts of b that none of in[0..n) covers, into o.  in[] are the
 * earlier databases' prefixes inside b, sorted and disjoint: b is halved
 * until each half is either free of them (kept) or one of them (dropped).
 */
static int subtract(const struct geofw_geo_prefix *b, const struct geofw_geo_prefix *in,
		    size_t n, struct merge_out *o)
{
	struct geofw_geo_prefix half[2];
	size_t split;
	int err, k;

	if (!n)
		return merge_push(o, b);
	/* One of them is b itself (a /128 with anything inside is that one). */
	if ((n == 1 && in[0].prefixlen == b->prefixlen) || b->prefixlen >= 128)
		return 0;
	for (k = 0; k < 2; k++) {
		half[k] = *b;
		half[k].prefixlen = (__u8)(b->prefixlen + 1);
	}
	half[1].addr[b->prefixlen / 8] |= (__u8)(0x80 >> (b->prefixlen % 8));
	for (split = 0; split < n && memcmp(in[split].addr, half[1].addr, 16) < 0; split++)
		;
	if ((err = subtract(&half[0], in, split, o)))
		return err;
	return subtract(&half[1], in + split, n - split, o);
}

static int cmp_prefix_addr(const void *pa, const void *pb)
{
	const struct geofw_geo_prefix *a = pa, *b = pb;

	return memcmp(a->addr, b->addr, 16);
}

/* acc (sorted, disjoint) gets what b[] covers outside it; stays sorted. */
static int merge_family(struct merge_out *acc, const struct geofw_geo_prefix *b, size_t nb,
			unsigned int bits)
{
	struct merge_out add = {};
	size_t n_old = acc->n, i;
	__u8 b_end[16], a_end[16];
	int err = 0;

	for (i = 0; i < nb; i++) {
		size_t j = last_at_or_before(acc->p, n_old, b[i].addr), first, last;

		prefix_end(&b[i], bits, b_end);
		if (j < n_old) {
			prefix_end(&acc->p[j], bits, a_end);
			if (memcmp(a_end, b[i].addr, 16) >= 0 && acc->p[j].prefixlen <= b[i].prefixlen)
				continue;	/* an earlier database covers all of it */
		}
		/* The earlier prefixes that start inside b: acc->p[first..last). */
		first = j < n_old && !memcmp(acc->p[j].addr, b[i].addr, 16) ? j :
			j < n_old ? j + 1 : 0;
		for (last = first; last < n_old && memcmp(acc->p[last].addr, b_end, 16) <= 0; last++)
			;
		if ((err = subtract(&b[i], last > first ? acc->p + first : NULL, last - first,
				    &add)))
			goto out;
	}
	for (i = 0; i < add.n && !err; i++)
		err = merge_push(acc, &add.p[i]);
	if (!err && add.n)
		qsort(acc->p, acc->n, sizeof(*acc->p), cmp_prefix_addr);
out:
	free(add.p);
	return err;
}

int geofw_geoip_merge(const struct geofw_geoip_db *dbs, size_t n, struct geofw_geoip_db *out)
{
	struct merge_out v4 = {}, v6 = {};
	size_t i;
	int err = 0;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < n && !err; i++) {
		err = merge_family(&v4, dbs[i].v4, dbs[i].n_v4, 32);
		if (!err)
			err = merge_family(&v6, dbs[i].v6, dbs[i].n_v6, 128);
	}
	if (err) {
		log_err(err, "geoip: merging %zu databases: out of memory", n);
	} else if (v4.n > GEOFW_MAX_GEO_V4 || v6.n > GEOFW_MAX_GEO_V6) {
		bool is4 = v4.n > GEOFW_MAX_GEO_V4;

		err = log_err(-E2BIG, "geoip: the %zu databases merged hold %zu IPv%c prefixes; "
			      "the limit is %u", n, is4 ? v4.n : v6.n, is4 ? '4' : '6',
			      is4 ? GEOFW_MAX_GEO_V4 : GEOFW_MAX_GEO_V6);
	}
	if (err) {
		free(v4.p);
		free(v6.p);
		return err;
	}
	if (n)
		out->report = dbs[0].report;
	out->v4 = v4.p;
	out->n_v4 = v4.n;
	out->v6 = v6.p;
	out->n_v6 = v6.n;
	out->report.countries = geoip_count_countries(v4.p, v4.n, v6.p, v6.n);
	out->report.n_v4 = v4.n;
	out->report.n_v6 = v6.n;
	return 0;
}
