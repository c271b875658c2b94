// SPDX-License-Identifier: GPL-2.0-only
/*
 * benchdata: the inputs of the benchmarks, generated at bench time so that
 * nothing derived from the GeoIP database is ever committed.
 *
 *	benchdata geo --db FILE.mmdb --countries CC,CC,... --out FILE
 *	benchdata blocklist --count N --out FILE [--seed N]
 *
 * geo: the IPv4 prefixes of the listed countries, as geofwd itself reads
 * them from the database (user/lib/geoip.c: merged, non-overlapping), one
 * CIDR a line; the counts go to stdout as JSON.  These are the sets the
 * kernel firewalls of bench/veth.sh are given, and the generator draws its
 * sources from them.
 *
 * blocklist: N distinct, non-overlapping IPv4 entries, mostly /32 with one
 * in twenty a /20../28 network, as a real aggregated blocklist looks.  Not
 * overlapping, because an nftables interval set refuses overlaps and the
 * point is to load the same set into every firewall.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "countries.h"
#include "geoip.h"
#include "jsonlib.h"
#include "log.h"

struct range {
	__u32 start;		/* host order */
	__u8 len;
};

static __u64 rng_state = 0x2545F4914F6CDD1Dull;

static __u64 rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: benchdata geo --db FILE.mmdb --countries CC,CC,... --out FILE\n"
		"       benchdata blocklist --count N --out FILE [--seed N]\n");
}

static int cmd_geo(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "countries", required_argument, NULL, 'c' },
		{ "out", required_argument, NULL, 'o' },
		{}
	};
	const char *db_path = NULL, *out_path = NULL;
	size_t per_country[GEOFW_MAX_COUNTRIES] = {}, total = 0, i;
	unsigned char wanted[GEOFW_MAX_COUNTRIES] = {};
	struct geofw_geoip_db db = {};
	char *list = NULL, *tok, *save, *line;
	json_t *counts, *doc;
	int c, id, ret = 1;
	FILE *out;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'd': db_path = optarg; break;
		case 'c': free(list); list = strdup(optarg); break;
		case 'o': out_path = optarg; break;
		default: usage(stderr); free(list); return 2;
		}
	}
	if (!db_path || !out_path || !list) {
		usage(stderr);
		free(list);
		return 2;
	}
	for (tok = strtok_r(list, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
		id = geofw_country_id(tok);
		if (id <= 0) {
			fprintf(stderr, "benchdata: unknown country code %s\n", tok);
			free(list);
			return 2;
		}
		wanted[id] = 1;
	}
	if (geofw_geoip_load(db_path, NULL, &db))
		goto out;
	out = fopen(out_path, "w");
	if (!out) {
		fprintf(stderr, "benchdata: %s: %s\n", out_path, strerror(errno));
		goto out;
	}
	for (i = 0; i < db.n_v4; i++) {
		const struct geofw_geo_prefix *p = &db.v4[i];

		if (!wanted[p->country_id])
			continue;
		fprintf(out, "%u.%u.%u.%u/%u\n", p->addr[0], p->addr[1], p->addr[2], p->addr[3],
			p->prefixlen);
		per_country[p->country_id]++;
		total++;
	}
	if (fclose(out)) {
		fprintf(stderr, "benchdata: %s: write error\n", out_path);
		goto out;
	}
	counts = json_object();
	for (i = 0; i < GEOFW_MAX_COUNTRIES; i++)
		if (wanted[i])
			geofw_json_put(&counts, geofw_country_code((unsigned int)i),
				       json_integer((json_int_t)per_country[i]));
	doc = json_pack("{s:I, s:I, s:I, s:o}", "prefixes_v4", (json_int_t)total,
			"database_v4", (json_int_t)db.n_v4, "database_v6", (json_int_t)db.n_v6,
			"countries", counts);
	line = doc ? geofw_json_line(doc) : NULL;
	json_decref(doc);
	if (!line || fputs(line, stdout) == EOF) {
		fprintf(stderr, "benchdata: cannot write the result\n");
		free(line);
		goto out;
	}
	free(line);
	ret = total ? 0 : 1;
	if (!total)
		fprintf(stderr, "benchdata: no IPv4 prefix for these countries\n");
out:
	geofw_geoip_free(&db);
	free(list);
	return ret;
}

static __u32 range_end(const struct range *r)
{
	return r->start + (__u32)((1ull << (32 - r->len)) - 1);
}

static int cmp_range(const void *a, const void *b)
{
	const struct range *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return (int)x->len - (int)y->len;
}

/* Outside 0/8, 127/8 and 224/3: the entries look like routable addresses. */
static __u32 routable(void)
{
	for (;;) {
		__u32 a = (__u32)rnd();

		if ((a >> 24) != 0 && (a >> 24) != 127 && (a >> 29) != 7)
			return a;
	}
}

/* Sort and drop every entry that overlaps a kept one; returns the count. */
static size_t sort_disjoint(struct range *v, size_t n)
{
	size_t i, k = 0;

	qsort(v, n, sizeof(*v), cmp_range);
	for (i = 0; i < n; i++)
		if (!k || v[i].start > range_end(&v[k - 1]))
			v[k++] = v[i];
	return k;
}

static int cmd_blocklist(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "count", required_argument, NULL, 'n' },
		{ "out", required_argument, NULL, 'o' },
		{ "seed", required_argument, NULL, 's' },
		{}
	};
	const char *out_path = NULL;
	size_t want = 0, n = 0, i, nets;
	struct range *v;
	FILE *out;
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'n': want = strtoul(optarg, NULL, 0); break;
		case 'o': out_path = optarg; break;
		case 's': rng_state = strtoull(optarg, NULL, 0) | 1; break;
		default: usage(stderr); return 2;
		}
	}
	if (!want || want > (1u << 26) || !out_path) {
		usage(stderr);
		return 2;
	}
	/* Room for the top-ups below without another allocation. */
	v = calloc(want * 2, sizeof(*v));
	if (!v)
		return fprintf(stderr, "benchdata: out of memory\n"), 1;
	nets = want / 20;
	for (i = 0; i < nets; i++) {
		__u8 len = (__u8)(20 + rnd() % 9);

		v[n].len = len;
		v[n].start = routable() & ~(__u32)((1ull << (32 - len)) - 1);
		n++;
	}
	/* Addresses fall into the networks now and then: top up until there
	 * are enough disjoint entries, then cut the surplus of addresses. */
	n = sort_disjoint(v, n);
	while (n < want) {
		size_t add = want - n + (want - n) / 8 + 16;

		if (n + add > want * 2)
			add = want * 2 - n;
		for (i = 0; i < add; i++) {
			v[n].len = 32;
			v[n].start = routable();
			n++;
		}
		n = sort_disjoint(v, n);
	}
	out = fopen(out_path, "w");
	if (!out) {
		fprintf(stderr, "benchdata: %s: %s\n", out_path, strerror(errno));
		free(v);
		return 1;
	}
	for (i = 0; i < n && want; i++) {
		__u32 a = v[i].start;

		/* Drop the surplus /32s evenly, keep every network. */
		if (v[i].len == 32 && n - i > want && rnd() % 2)
			continue;
		fprintf(out, "%u.%u.%u.%u/%u\n", a >> 24, (a >> 16) & 255, (a >> 8) & 255,
			a & 255, v[i].len);
		want--;
	}
	free(v);
	if (fclose(out)) {
		fprintf(stderr, "benchdata: %s: write error\n", out_path);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	geofw_log_set_level(GEOFW_LOG_WARN);
	if (!strcmp(argv[1], "geo"))
		return cmd_geo(argc - 1, argv + 1);
	if (!strcmp(argv[1], "blocklist"))
		return cmd_blocklist(argc - 1, argv + 1);
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(stdout);
		return 0;
	}
	usage(stderr);
	return 2;
}
