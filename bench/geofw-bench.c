// SPDX-License-Identifier: GPL-2.0-only
/*
 * geofw-bench: per-packet cost of the data plane through BPF_PROG_RUN, and
 * the time to load and switch in a GeoIP database.
 *
 * Each row runs one bench program (bench/bpf/bench.bpf.c) REPEAT times per
 * run, RUNS runs, and reports the median ns per packet; the programs draw a
 * new source address from a 64k-entry table for every packet.  Costs are
 * reported above the no-op program that draws its key the same way, so the
 * figure is what the firewall adds, not what BPF_PROG_RUN costs.
 *
 *	geofw-bench [--quick] [--core] [--db FILE.mmdb[.gz]] [--asn-db FILE.mmdb[.gz]]
 *		    [--json FILE] [--rows geo|ports|rl|asn]
 *
 * --core: only the rows of issue 17's table (no-op, parse, geo lookup, full
 * decision, allowed packet), for A/B runs of a data-plane change.
 * --rows runs one group of rows (and the no-op baselines they are above).
 *
 * The ASN rows block the 100 ASes of tests/fixtures/big-ases.txt and
 * compare both designs on their addresses: the AS class table (what geofwd
 * does) against the ASes' prefixes as CIDR block rules (one rule id per AS).
 */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "asntable.h"
#include "bench.skel.h"
#include "countries.h"
#include "geoip.h"
#include "geotable.h"
#include "jsonlib.h"
#include "log.h"
#include "maps.h"
#include "ports.h"
#include "ratelimit.h"

#define N_KEYS 65536

struct row {
	char name[64];
	char prog[16];
	int family;
	const char *keyset;
	double ns;		/* median per packet */
	double above;		/* minus the no-op of the same family and keys */
	double target;		/* above-baseline target, 0 = none */
	const char *target_what;
};

static struct row rows[128];
static int n_rows;
static int runs = 5;
static __u32 repeat = 1000000;
static int core_only;
static const char *only;	/* --rows GROUP: geo, ports, rl or asn; NULL = all */

/* The core rows (no-op, parse, lookups, decisions) belong to group "geo" and
 * to --core; every other group is left out by --core. */
static int wanted(const char *group)
{
	if (core_only)
		return !strcmp(group, "geo");
	return !only || !strcmp(only, group);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static __u64 rng = 0x243F6A8885A308D3ull;

static __u64 rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* An address inside a random prefix of the list. */
static void addr_in(const struct geofw_geo_prefix *v, size_t n, int family, __u8 *out)
{
	const struct geofw_geo_prefix *p = &v[rnd() % n];
	unsigned int bits = family == 4 ? 32 : 128, i;
	__u64 a = rnd(), b = rnd();

	memcpy(out, &a, 8);
	memcpy(out + 8, &b, 8);
	for (i = 0; i < p->prefixlen; i++) {
		__u8 m = (__u8)(0x80 >> (i % 8));

		out[i / 8] = (__u8)((out[i / 8] & ~m) | (p->addr[i / 8] & m));
	}
	if (family == 4)
		memset(out + 4, 0, 12);
	(void)bits;
}

static int fill_keys(struct geofw_bench *skel, const struct geofw_geoip_db *db, int family,
		     const char *keyset)
{
	int fd = bpf_map__fd(skel->maps.bench_keys);
	__u8 addr[16];
	__u32 i;

	for (i = 0; i < N_KEYS; i++) {
		if (!strcmp(keyset, "hot256") && i >= 256) {
			/* 256 sources over and over: their state stays in cache */
			__u32 j = i % 256;

			if (bpf_map_lookup_elem(fd, &j, addr) || bpf_map_update_elem(fd, &i, addr, 0))
				return -errno;
			continue;
		}
		if (strcmp(keyset, "random") && db && (family == 4 ? db->n_v4 : db->n_v6)) {
			addr_in(family == 4 ? db->v4 : db->v6, family == 4 ? db->n_v4 : db->n_v6,
				family, addr);
		} else {
			__u64 a = rnd(), b = rnd();

			memcpy(addr, &a, 8);
			memcpy(addr + 8, &b, 8);
			if (family == 4)
				memset(addr + 4, 0, 12);
			else
				addr[0] = (__u8)(0x20 | (addr[0] & 0x1f));	/* 2000::/3 */
		}
		if (bpf_map_update_elem(fd, &i, addr, 0))
			return -errno;
	}
	return 0;
}

static size_t frame(int family, __u8 *f)
{
	memset(f, 0, 128);
	if (family == 4) {
		f[12] = 0x08;
		f[14] = 0x45;
		f[17] = 28;
		f[22] = 64;
		f[23] = 17;
		f[30] = 192; f[31] = 0; f[32] = 2; f[33] = 1;
		f[35] = 40; f[37] = 80; f[39] = 8;
		return 64;
	}
	f[12] = 0x86;
	f[13] = 0xdd;
	f[14] = 0x60;
	f[19] = 8;
	f[20] = 17;
	f[21] = 64;
	f[38] = 0x20; f[39] = 0x01; f[40] = 0x0d; f[41] = 0xb8; f[53] = 1;
	f[55] = 40; f[57] = 80; f[59] = 8;
	return 14 + 40 + 8;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double measure(struct bpf_program *prog, int family)
{
	__u8 in[128], out[256];
	double v[16];
	int i;

	for (i = 0; i < runs; i++) {
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in, .data_out = out,
			    .data_size_out = sizeof(out), .repeat = repeat);

		o.data_size_in = (__u32)frame(family, in);
		if (bpf_prog_test_run_opts(bpf_program__fd(prog), &o)) {
			fprintf(stderr, "bench: %s: %s\n", bpf_program__name(prog), strerror(errno));
			return -1;
		}
		v[i] = (double)o.duration;
	}
	qsort(v, (size_t)runs, sizeof(v[0]), cmp_double);
	return v[runs / 2];
}

static struct row *add_row(const char *name, struct bpf_program *prog, int family,
			   const char *keyset)
{
	struct row *r = &rows[n_rows++];

	snprintf(r->name, sizeof(r->name), "%s", name);
	snprintf(r->prog, sizeof(r->prog), "%s", bpf_program__name(prog));
	r->family = family;
	r->keyset = keyset;
	r->ns = measure(prog, family);
	return r;
}

/*
 * A row whose "above" is measured against its baseline in pairs: prog and
 * base alternately, PAIRS times; ns is prog's median, above the median of
 * the pairs' differences.  This VM's figures drift by tens of percent
 * within a minute, so a baseline measured once at the start of the run
 * (what add_row's callers subtract) can make a row PASS or MISS by itself;
 * every row with a target is measured this way.
 */
#define PAIRS 7
static struct row *add_row_paired(const char *name, struct bpf_program *prog,
				  struct bpf_program *base, int family, const char *keyset)
{
	double a[PAIRS], d[PAIRS];
	struct row *r;
	int k;

	for (k = 0; k < PAIRS; k++) {
		double b = measure(base, family);

		a[k] = measure(prog, family);
		d[k] = a[k] - b;
	}
	qsort(a, PAIRS, sizeof(double), cmp_double);
	qsort(d, PAIRS, sizeof(double), cmp_double);
	r = &rows[n_rows++];
	snprintf(r->name, sizeof(r->name), "%s", name);
	snprintf(r->prog, sizeof(r->prog), "%s", bpf_program__name(prog));
	r->family = family;
	r->keyset = keyset;
	r->ns = a[PAIRS / 2];
	r->above = d[PAIRS / 2];
	return r;
}

/*
 * What one random load costs the data plane on this machine: bench_mem
 * (bench/bpf/bench.bpf.c) over 256 KiB .. 16 MiB, one load or two dependent
 * ones, each measured in pairs with the no-op (add_row_paired), and a
 * clock read + compare-and-exchange on the line (the rate limiter's floor
 * for a source out of cache), and four calls of a global BPF function (each
 * return goes through the kernel's return thunk: what a call or a helper
 * costs the data plane here).  No target: the floor the table walks' and
 * the rate limiter's rows stand on.
 */
static void mem_rows(struct geofw_bench *skel)
{
	static const struct { __u32 kib, hops, cas; const char *name; } cases[] = {
		{ 0, 1, 0, "memory: 1 load, the same line" },
		{ 256, 1, 0, "memory: 1 random load, 256 KiB" },
		{ 1024, 1, 0, "memory: 1 random load, 1 MiB" },
		{ 4096, 1, 0, "memory: 1 random load, 4 MiB" },
		{ 16384, 1, 0, "memory: 1 random load, 16 MiB" },
		{ 4096, 2, 0, "memory: 2 dependent loads, 4 MiB" },
		{ 16384, 2, 0, "memory: 2 dependent loads, 16 MiB" },
		/* the least a source's rate-limit state costs when it is not
		 * in cache (gfw_rl_sets is 2 MiB): beside the rl rows */
		{ 0, 1, 1, "memory: clock + CAS, the same line" },
		{ 2048, 1, 1, "memory: clock + CAS, random line, 2 MiB" },
	};
	int fd = bpf_map__fd(skel->maps.bench_mem_lines);
	__u32 lines = bpf_map__max_entries(skel->maps.bench_mem_lines), i, j;
	struct { __u32 next[16]; } l;
	size_t c;

	for (i = 0; i < lines; i++) {
		for (j = 0; j < 16; j++)
			l.next[j] = (__u32)(rnd() % lines);
		if (bpf_map_update_elem(fd, &i, &l, 0)) {
			fprintf(stderr, "bench: cannot fill bench_mem_lines: %s\n", strerror(errno));
			return;
		}
	}
	if (fill_keys(skel, NULL, 4, "random"))
		return;
	for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		skel->data->bench_mem_mask = cases[c].kib ? (__u32)(cases[c].kib * 1024 / 64 - 1) : 0;
		skel->data->bench_mem_hops = cases[c].hops;
		skel->bss->bench_mem_cas = cases[c].cas;
		add_row_paired(cases[c].name, skel->progs.bench_mem, skel->progs.bench_noop, 4,
			       "random");
	}
	skel->bss->bench_mem_cas = 0;
	add_row_paired("calls: 4 BPF-to-BPF calls", skel->progs.bench_call, skel->progs.bench_noop,
		       4, "random");
}

/* Port rules into the maps (build + install), the error on stderr. */
static int ports_put(struct geofw_maps *m, const struct geofw_prule *r, size_t n)
{
	struct geofw_ports_image img;
	char err[GEOFW_ERRLEN] = "";
	int ret;

	if (!(ret = geofw_ports_build(r, n, &img, err, sizeof(err))))
		ret = geofw_ports_install(m, &img, err, sizeof(err));
	geofw_ports_image_free(&img);
	if (ret)
		fprintf(stderr, "bench: ports: %s\n", err);
	return ret;
}

/*
 * Port-scoped rules: the whole decision (keys inside the country database,
 * UDP to port 80) with no port rule, with port rules on another port, and
 * with the packet's port in a set that has an allow-only policy (DE and 64
 * prefixes of each family) and a port-scoped country block: the cost of the
 * port steps.  Interleaved A B C A B C ..., median of the rounds (the
 * machine is noisy); target: C within 20 ns of A.
 *
 * The same decision in every case: the source-only policy allows DE only
 * (every other country dropped), so the packets the port policy drops are
 * dropped without it too.  Against a baseline that passed them, the rows
 * also counted what a drop costs whatever decided it (the drop log's limit
 * check, a clock read: its own row, "drop log 100/s, limit reached", +22 to
 * +29 ns), not the port steps.
 */
static int ports_set(struct geofw_maps *m, int which)
{
	static struct geofw_prule r[140];
	size_t n = 0, i;
	int ret;

	if (which) {
		const char *ports = which == 1 ? "22/tcp" : "80/udp";
		/* which 4: as 2, with the prefilter off (every bit set: the
		 * trie is walked, as before gfw_port_bits) */

		/* which 3: the policy lists countries only (no prefix trie) */
		for (i = which == 3 ? 128 : 0; i < 130; i++) {
			struct geofw_prule *p = &r[n++];
			char t[64];

			memset(p, 0, sizeof(*p));
			p->kind = GEOFW_PRULE_ONLY;
			p->action = GEOFW_ACT_DROP;
			geofw_ports_parse(ports, &p->ports, NULL, 0);
			if (i == 128)
				snprintf(t, sizeof(t), "DE");
			else if (i == 129)
				snprintf(t, sizeof(t), "FR");
			else if (i < 64)
				snprintf(t, sizeof(t), "198.%zu.%zu.0/24", 18 + i / 32, (i % 32) * 8);
			else
				snprintf(t, sizeof(t), "2001:db8:%zx::/48", i);
			geofw_prule_target_parse(t, p, NULL, 0);
		}
		r[n] = r[0];
		r[n].kind = GEOFW_PRULE_COUNTRY;
		geofw_prule_target_parse("CN", &r[n++], NULL, 0);
	}
	ret = ports_put(m, r, n);
	if (!ret && which == 4 && m->port_bits_mem)
		memset(m->port_bits_mem, 0xff, GEOFW_PORT_BITS_WORDS * sizeof(__u64));
	return ret;
}

/*
 * Interleave n configurations A B C A B C ... (set(m, k) before each
 * measurement of the whole decision), median of the rounds per
 * configuration; rows 1..n-1 are reported above row 0, with the target.
 */
/*
 * Rows that differ by the rules in force (set(m, k) installs case k), all
 * measured with bench_full: every round measures each case once, and a
 * case's "above" is the median over the rounds of its difference to case 0
 * in the same round, as add_row_paired does (this VM drifts by tens of
 * percent within a minute: the difference of two medians taken seconds
 * apart moved a row by ±40 ns from run to run).  Case 0's "above" is over
 * the no-op measured at the start.
 */
#define ROUNDS_MAX 9
static int interleave(struct geofw_bench *skel, struct geofw_maps *m, int fam,
		      const char *keyset, int (*set)(struct geofw_maps *, int),
		      const char *const *names, int n, double target, const char *target_what,
		      const double *noop)
{
	int round, j, k, rounds = runs < 5 ? 5 : ROUNDS_MAX;
	double v[8][ROUNDS_MAX], d[ROUNDS_MAX], ns;
	struct row *r;

	/* Each round starts one case later (0 1 2, 1 2 0, 2 0 1, ...): a case
	 * is not always measured right after the same neighbour and at the
	 * same point of the round. */
	for (round = 0; round < rounds; round++)
		for (j = 0; j < n; j++) {
			k = (j + round) % n;
			if (set(m, k))
				return -1;
			v[k][round] = measure(skel->progs.bench_full, fam);
		}
	for (k = n - 1; k >= 0; k--) {	/* case 0 sorted last: the others pair with it */
		for (round = 0; round < rounds; round++)
			d[round] = v[k][round] - v[0][round];
		qsort(d, (size_t)rounds, sizeof(double), cmp_double);
		qsort(v[k], (size_t)rounds, sizeof(double), cmp_double);
		ns = v[k][rounds / 2];
		r = &rows[n_rows + k];	/* printed in case order */
		snprintf(r->name, sizeof(r->name), "%s", names[k]);
		snprintf(r->prog, sizeof(r->prog), "bench_full");
		r->family = fam;
		r->keyset = keyset;
		r->ns = ns;
		r->above = k ? d[rounds / 2] : ns - noop[fam];
		if (k) {
			r->target = target;
			r->target_what = target_what;
		}
	}
	n_rows += n;
	return 0;
}

static void port_rows(struct geofw_bench *skel, struct geofw_maps *m,
		      const struct geofw_geoip_db *dbp, const double *noop)
{
	static const char *const names[5] = {
		"ports: full, no port rules (allow only DE)", "ports: full, rules on other port",
		"ports: full, port in a set", "ports: full, in a set, countries only",
		"ports: full, in a set, prefilter off",
	};
	struct geofw_country listed = { .listed = 1, .action = GEOFW_ACT_DROP }, none = {};
	struct geofw_config saved, only_de;
	int fam, de = geofw_country_id("DE");

	if (de <= 0 || geofw_config_read(m, &saved))
		return;
	only_de = saved;
	only_de.country_mode = GEOFW_MODE_ALLOW_LISTED;
	only_de.country_block_action = GEOFW_ACT_DROP;
	if (!geofw_config_write(m, &only_de) && !geofw_country_put(m, (unsigned int)de, &listed))
		for (fam = 4; fam <= 6; fam += 2) {
			if (fill_keys(skel, dbp, fam, "inside") ||
			    interleave(skel, m, fam, "inside", ports_set, names, 5, 20,
				       "no port rules", noop))
				break;
			/* "prefilter off" (every bit set by hand, a state the
			 * installer never leaves) shows what the prefilter
			 * saves: shown, not held to the target */
			rows[n_rows - 1].target = 0;
		}
	ports_set(m, 0);
	geofw_country_put(m, (unsigned int)de, &none);
	geofw_config_write(m, &saved);
}

/*
 * Port-scoped AS rules (issue 16): keys inside 100 large ASes, each with an
 * AS class but no source-wide rule (kind none, as geofwd makes for an AS
 * that only port rules name), UDP to port 80, which is in a port set (a
 * port-scoped country block).  Then AS rules on that port for 100 other
 * ASes (the packet's AS is looked up in gfw_port_asn and not found), and AS
 * rules for the packet's own ASes on another port (found, sets do not
 * match).  The verdict is the same in all three; target: +20 ns, like the
 * other port rows.
 */
static __u32 pasn_big[100];

static int db_copy(const char *path, char *tmpl);

static int port_asn_set(struct geofw_maps *m, int which)
{
	static struct geofw_prule r[201];
	size_t n = 0, i;

	memset(&r[n], 0, sizeof(r[n]));
	r[n].kind = GEOFW_PRULE_COUNTRY;
	r[n].action = GEOFW_ACT_DROP;
	geofw_ports_parse("80/udp", &r[n].ports, NULL, 0);
	geofw_prule_target_parse("CN", &r[n++], NULL, 0);
	for (i = 0; which && i < 100; i++) {
		struct geofw_prule *p = &r[n++];

		memset(p, 0, sizeof(*p));
		p->kind = GEOFW_PRULE_BLOCK;
		p->action = GEOFW_ACT_DROP;
		p->is_asn = true;
		/* 1: other ASes (private-use numbers) on the packet's port;
		 * 2: the packet's ASes on another port */
		p->asn = which == 1 ? 4200000000u + (__u32)i : pasn_big[i];
		geofw_ports_parse(which == 1 ? "80/udp" : "22/tcp", &p->ports, NULL, 0);
	}
	return ports_put(m, r, n);
}

/* What the gfw_port_asn lookup itself costs a row's packets: the same
 * program and tables with GEOFW_PORTS_ASN cleared (the lookup skipped),
 * interleaved in pairs; the median of the pairs' differences is steadier
 * than the difference of two rows on a shared machine (GEOFW_BENCH_AB). */
static void port_asn_ab(struct geofw_bench *skel, struct geofw_maps *m, int fam)
{
	static const char *const what[3] = { "", "AS rules on its port", "its AS, rules other port" };
	struct geofw_config on, off;
	double a[9], b[9], d[9];
	int which, k;

	for (which = 1; which <= 2; which++) {
		if (port_asn_set(m, which))
			return;
		geofw_config_read(m, &on);
		off = on;
		off.ports_present &= (__u8)~GEOFW_PORTS_ASN;
		for (k = 0; k < 9; k++) {
			a[k] = measure(skel->progs.bench_full, fam);
			geofw_config_write(m, &off);
			b[k] = measure(skel->progs.bench_full, fam);
			geofw_config_write(m, &on);
			d[k] = a[k] - b[k];
		}
		qsort(a, 9, sizeof(double), cmp_double);
		qsort(b, 9, sizeof(double), cmp_double);
		qsort(d, 9, sizeof(double), cmp_double);
		printf("AB port AS lookup, v%d, %s: lookup %.0f, skipped %.0f, difference %+.0f "
		       "(medians of 9 interleaved pairs)\n", fam, what[which], a[4], b[4], d[4]);
	}
}

static void port_asn_rows(struct geofw_bench *skel, struct geofw_maps *m, const char *path,
			  const double *noop)
{
	static const char *const names[3] = {
		"ports: full, AS classes, no AS rules",
		"ports: full, AS rules on its port",
		"ports: full, its AS, rules other port",
	};
	char tmp[] = "/tmp/geofw-bench-pasn.XXXXXX";
	struct geofw_asn_rule rules[200];
	static struct geofw_asn_classes cl;
	struct geofw_geoip_db db = {};
	size_t i;
	int fam;

	if (access(path, R_OK)) {
		printf("bench: %s absent: no port AS rows\n", path);
		return;
	}
	if (geofw_asn_list_read("tests/fixtures/big-ases.txt", pasn_big, 100) != 100 ||
	    db_copy(path, tmp)) {
		fprintf(stderr, "bench: cannot read %s or tests/fixtures/big-ases.txt\n", path);
		return;
	}
	/* Classes for the keys' ASes and for the other ASes of row 1, as
	 * geofwd makes for ASes named by port rules only. */
	for (i = 0; i < 200; i++)
		rules[i] = (struct geofw_asn_rule){ .kind = GEOFW_ASN_NONE,
			.asn = i < 100 ? pasn_big[i] : 4200000000u + (__u32)(i - 100) };
	if (geofw_asn_classes_make(rules, 100, &cl) || geofw_asn_db_load(tmp, &cl, &db) ||
	    geofw_asn_apply(m, NULL, tmp, rules, 200, NULL)) {
		fprintf(stderr, "bench: cannot load %s\n", path);
		goto out;
	}
	for (fam = 4; fam <= 6; fam += 2)
		if (fill_keys(skel, &db, fam, "as100") ||
		    interleave(skel, m, fam, "as100", port_asn_set, names, 3, 20,
			       "no port AS rules", noop))
			break;
		else if (getenv("GEOFW_BENCH_AB"))
			port_asn_ab(skel, m, fam);
	ports_set(m, 0);
	geofw_asn_clear(m);
out:
	geofw_geoip_free(&db);
	unlink(tmp);
}

/*
 * Rate limits: the whole decision with no limit, with one (so high that
 * nothing is dropped) taken per packet from the shared state (front 0: an
 * LRU lookup and a compare-and-exchange for every packet, what ABI 5 did),
 * and with the per-CPU batches geofwd installs; keys inside the country
 * database, 64k sources (the state of each made in a warm-up run) or 256.
 * Interleaved; target +40 ns.
 */
static int rl_set(struct geofw_maps *m, int which)
{
	struct geofw_ratelimit rl;
	struct geofw_ports_image img;
	char err[GEOFW_ERRLEN] = "";
	int ret;

	if ((ret = geofw_ports_build(NULL, 0, &img, err, sizeof(err))))
		return ret;
	if (which && ((ret = geofw_ratelimit_parse("bench 1Gpps burst 1000000 per /32 then drop", &rl,
						     err, sizeof(err))) ||
		      (ret = geofw_ports_add_ratelimits(&img, &rl, 1, 64, err, sizeof(err)))))
		goto out;
	if (which == 1)
		img.rl[0].front = 0;
	ret = geofw_ports_install(m, &img, err, sizeof(err));
out:
	if (ret)
		fprintf(stderr, "bench: rate limit: %s\n", err);
	geofw_ports_image_free(&img);
	return ret;
}

static void rl_rows(struct geofw_bench *skel, struct geofw_maps *m,
		    const struct geofw_geoip_db *dbp, const double *noop)
{
	static const char *const names[3] = {
		"rl: full, no rate limit", "rl: full, one limit, per packet",
		"rl: full, one limit, batches",
	};
	static const char *const sets[2] = { "inside", "hot256" };
	int ks, fam;

	for (ks = 0; ks < 4; ks++) {
		fam = ks & 1 ? 6 : 4;
		if (fill_keys(skel, dbp, fam, sets[ks / 2]) || rl_set(m, 1))
			return;
		measure(skel->progs.bench_full, fam);	/* warm-up: every source's state */
		if (interleave(skel, m, fam, sets[ks / 2], rl_set, names, 3, 40, "no rate limit",
			       noop))
			return;
	}
	rl_set(m, 0);
}

/* A database file (.gz or not) copied to tmpl (mkstemp template). */
static int db_copy(const char *path, char *tmpl)
{
	char cmd[4200];
	int fd = mkstemp(tmpl);

	if (fd < 0)
		return -errno;
	close(fd);
	if (strlen(path) > 3 && !strcmp(path + strlen(path) - 3, ".gz"))
		snprintf(cmd, sizeof(cmd), "gzip -dc '%s' > '%s'", path, tmpl);
	else
		snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", path, tmpl);
	if (system(cmd)) {
		unlink(tmpl);
		return -EIO;
	}
	return 0;
}

/* The three-level prototype (bench_geo3) from an image: 0, or -E2BIG when
 * it has more /16s or /24s to split than the prototype's arrays hold. */
/* A /16 (its 256 /24 ids in the flat image) that needs a row: more than
 * one id, or a /24 of longer prefixes. */
static int s16_mixed(const __u8 *f)
{
	int i, mixed = 0;

	for (i = 0; i < 256; i++)
		mixed |= f[i] != f[0] || f[i] == GEOFW_COUNTRY_MORE;
	return mixed;
}

/* Lines of /proc/vmallocinfo allocated by array_map_alloc (machine-wide: other processes' maps count too): the array maps
 * whose area was vmalloc'ed (-1 when unreadable). */
static int vmalloc_arrays(void)
{
	FILE *f = fopen("/proc/vmallocinfo", "r");
	char line[512];
	int n = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		n += strstr(line, " array_map_alloc+") != NULL;
	fclose(f);
	return n;
}

/* Place a new small inner array in slot idx of an ARRAY_OF_MAPS when idx
 * starts one (bench_g3s_*): 0 or -errno. */
static int g3s_inner(int outer, __u32 n, __u32 per_map, __u32 value_size, int *fd)
{
	__u32 m = n / per_map;

	if (n % per_map)
		return 0;
	if (*fd >= 0)
		close(*fd);
	*fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, NULL, 4, value_size, per_map, NULL);
	if (*fd < 0 || bpf_map_update_elem(outer, &m, fd, 0))
		return -errno;
	return 0;
}

static int g3_fill(struct geofw_bench *skel, const struct geofw_geo_image *img)
{
	static __u16 top[65536], node[256], stop[65536], snode[256];
	static __u32 wnode[256];
	__u32 s16, i, nodes = 0, zero = 0;
	int rfd = -1, cfd = -1, vm0 = vmalloc_arrays(), err;
	int orows = bpf_map__fd(skel->maps.bench_g3s_rows);
	int ochunks = bpf_map__fd(skel->maps.bench_g3s_chunks);
	size_t chunk = 0;

	for (s16 = 0; s16 < 65536; s16++) {
		const __u8 *f = img->flat4 + (size_t)s16 * 256;

		if (!s16_mixed(f)) {
			top[s16] = f[0];
			continue;
		}
		if (nodes >= 16384)
			return -E2BIG;
		for (i = 0; i < 256; i++) {
			if (f[i] != GEOFW_COUNTRY_MORE) {
				node[i] = wnode[i] = f[i];
				continue;
			}
			/* more4 is sorted by key and walked in key order */
			if (chunk >= img->n_more4 || chunk >= 32768 ||
			    img->more4[chunk].key != (s16 << 8 | i))
				return -E2BIG;
			if (bpf_map_update_elem(bpf_map__fd(skel->maps.bench_g3_chunk), &(__u32){ (__u32)chunk },
						&img->more4[chunk].chunk, 0))
				return -errno;
			err = g3s_inner(ochunks, (__u32)chunk, 126, sizeof(struct geofw_geo4_chunk), &cfd);
			if (err || bpf_map_update_elem(cfd, &(__u32){ (__u32)(chunk % 126) },
						       &img->more4[chunk].chunk, 0))
				return err ? err : -errno;
			snode[i] = (__u16)(256 + ((chunk / 126) << 7 | chunk % 126));
			wnode[i] = 256 + (__u32)chunk;
			node[i] = (__u16)(256 + chunk++);
		}
		if (bpf_map_update_elem(bpf_map__fd(skel->maps.bench_g3_node), &nodes, node, 0) ||
		    bpf_map_update_elem(bpf_map__fd(skel->maps.bench_g3_wnode), &nodes, wnode, 0))
			return -errno;
		for (i = 0; i < 256; i++)
			if (node[i] < 256)
				snode[i] = node[i];
		err = g3s_inner(orows, nodes, 63, sizeof(snode), &rfd);
		if (err || bpf_map_update_elem(rfd, &(__u32){ nodes % 63 }, snode, 0))
			return err ? err : -errno;
		stop[s16] = (__u16)(256 + ((nodes / 63) << 6 | nodes % 63));
		top[s16] = (__u16)(256 + nodes++);
	}
	for (s16 = 0; s16 < 65536; s16++)
		if (top[s16] < 256)
			stop[s16] = top[s16];
	if (rfd >= 0)
		close(rfd);
	if (cfd >= 0)
		close(cfd);
	printf("bench: 3-level prototype: %u /16 nodes, %zu chunks; small inner maps: %u + %zu, "
	       "vmalloc'ed array areas %d before, %d after\n", nodes, chunk, (nodes + 62) / 63,
	       (chunk + 125) / 126, vm0, vmalloc_arrays());
	if (bpf_map_update_elem(bpf_map__fd(skel->maps.bench_g3s_top), &zero, stop, 0))
		return -errno;
	return bpf_map_update_elem(bpf_map__fd(skel->maps.bench_g3_top), &zero, top, 0) ? -errno : 0;
}

/* The run-list prototype (bench_geo4l, bench/bpf/bench.bpf.c: the same
 * layout): 0, or -E2BIG when a level is over the prototype's sizes. */
#define G4L_ROWL 16384
#define G4L_ROWF 4096
#define G4L_CHL 32768
#define G4L_CHF 8192
struct g4l_rows {
	__u8 pad[8];
	struct { __u8 start[21]; __u8 pad; __u16 e[21]; } l[G4L_ROWL];
	__u16 f[G4L_ROWF][256];
};
struct g4l_chunks {
	__u8 pad[8];
	struct { __u8 start[16]; __u8 id[16]; } l[G4L_CHL];
	__u8 f[G4L_CHF][256];
};

/* Runs of v[0..255] (equal neighbours, refs >= 256 each their own run) into
 * start[]/val[] of n slots, the unused slots repeating the last: runs, or
 * n + 1 when they do not fit. */
static unsigned g4l_runs(const __u16 *v, unsigned n, __u8 *start, __u16 *val)
{
	unsigned i, r = 0;

	for (i = 0; i < 256; i++) {
		if (i && v[i] == v[i - 1] && v[i] < 256)
			continue;
		if (r == n)
			return n + 1;
		start[r] = (__u8)i;
		val[r++] = v[i];
	}
	for (i = r; i < n; i++) {
		start[i] = start[r - 1];
		val[i] = val[r - 1];
	}
	return r;
}

static int g4l_fill(struct geofw_bench *skel, const struct geofw_geo_image *img)
{
	static __u16 top[65536];
	struct g4l_rows *rs = calloc(1, sizeof(*rs));
	struct g4l_chunks *cs = calloc(1, sizeof(*cs));
	__u32 s16, i, nrl = 0, nrf = 0, ncl = 0, ncf = 0, zero = 0;
	size_t chunk = 0;
	int err = -E2BIG;

	if (!rs || !cs) {
		err = -ENOMEM;
		goto out;
	}
	for (s16 = 0; s16 < 65536; s16++) {
		const __u8 *f = img->flat4 + (size_t)s16 * 256;
		__u16 row[256], val[21], cv[256], cval[16];
		__u8 st[21];

		if (!s16_mixed(f)) {
			top[s16] = f[0];
			continue;
		}
		for (i = 0; i < 256; i++) {
			const __u8 *c;
			unsigned j;

			if (f[i] != GEOFW_COUNTRY_MORE) {
				row[i] = f[i];
				continue;
			}
			if (chunk >= img->n_more4 || img->more4[chunk].key != (s16 << 8 | i))
				goto out;
			c = img->more4[chunk++].chunk.country;
			for (j = 0; j < 256; j++)
				cv[j] = c[j];
			if (ncl < G4L_CHL && g4l_runs(cv, 16, cs->l[ncl].start, cval) <= 16) {
				for (j = 0; j < 16; j++)
					cs->l[ncl].id[j] = (__u8)cval[j];
				row[i] = (__u16)(256 + ncl++);
			} else {
				if (ncf >= G4L_CHF)
					goto out;
				memcpy(cs->f[ncf], c, 256);
				row[i] = (__u16)(256 + G4L_CHL + ncf++);
			}
		}
		if (nrl < G4L_ROWL && g4l_runs(row, 21, st, val) <= 21) {
			memcpy(rs->l[nrl].start, st, sizeof(st));
			memcpy(rs->l[nrl].e, val, sizeof(val));
			top[s16] = (__u16)(256 + nrl++);
		} else {
			if (nrf >= G4L_ROWF)
				goto out;
			memcpy(rs->f[nrf], row, sizeof(row));
			top[s16] = (__u16)(256 + G4L_ROWL + nrf++);
		}
	}
	printf("bench: run-list prototype: %u row lines + %u rows, %u chunk lines + %u chunks: %.2f MB in all\n",
	       nrl, nrf, ncl, ncf, (nrl * 64.0 + nrf * 512.0 + ncl * 32.0 + ncf * 256.0) / 1e6);
	err = 0;
	if (bpf_map_update_elem(bpf_map__fd(skel->maps.bench_g4l_top), &zero, top, 0) ||
	    bpf_map_update_elem(bpf_map__fd(skel->maps.bench_g4l_rows), &zero, rs, 0) ||
	    bpf_map_update_elem(bpf_map__fd(skel->maps.bench_g4l_chunks), &zero, cs, 0))
		err = -errno;
out:
	free(rs);
	free(cs);
	return err;
}

/* bench_geo4l against bench_geo3 on n addresses, half of them in /24s of
 * longer prefixes: the number that differ, or -errno. */
static long g4l_check(struct geofw_bench *skel, const struct geofw_geo_image *img, unsigned n)
{
	__u8 in[128], out[256];
	long bad = 0;
	unsigned i;

	srand(17);
	for (i = 0; i < n; i++) {
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in, .data_out = out,
			    .data_size_out = sizeof(out), .repeat = 1);
		__u32 r = (__u32)rand() << 16 ^ (__u32)rand();

		if (i & 1 && img->n_more4)
			r = img->more4[r % img->n_more4].key << 8 | (r >> 24);
		skel->bss->bench_check_addr = r;
		o.data_size_in = (__u32)frame(4, in);
		if (bpf_prog_test_run_opts(bpf_program__fd(skel->progs.bench_geo4l_check), &o))
			return -errno;
		bad += skel->bss->bench_check_g3 != skel->bss->bench_check_g4l;
	}
	return bad;
}

static int lpm_fill(struct geofw_bench *skel, const struct geofw_geoip_db *db)
{
	size_t i;

	for (i = 0; i < db->n_v4; i++) {
		struct geofw_lpm_v4 k = { .prefixlen = db->v4[i].prefixlen };
		struct geofw_geo v = { db->v4[i].country_id };

		memcpy(k.addr, db->v4[i].addr, 4);
		if (bpf_map_update_elem(bpf_map__fd(skel->maps.bench_lpm4), &k, &v, 0))
			return -errno;
	}
	for (i = 0; i < db->n_v6; i++) {
		struct geofw_lpm_v6 k = { .prefixlen = db->v6[i].prefixlen };
		struct geofw_geo v = { db->v6[i].country_id };

		memcpy(k.addr, db->v6[i].addr, 16);
		if (bpf_map_update_elem(bpf_map__fd(skel->maps.bench_lpm6), &k, &v, 0))
			return -errno;
	}
	return 0;
}

/*
 * 100 ASes blocked, keys inside their prefixes: the country lookup, the AS
 * class lookup (target: no more than the country lookup, same run, same
 * keys), the ASes' prefixes as CIDR block rules (the other design), and the
 * whole decision with the AS rules in force.
 */
static void asn_rows(struct geofw_bench *skel, struct geofw_maps *m, const char *path,
		     const double *noop)
{
	char tmp[] = "/tmp/geofw-bench-asn.XXXXXX";
	struct geofw_asn_rule rules[100];
	static struct geofw_asn_classes cl;
	struct geofw_geoip_db db = {};
	__u32 big[100];
	size_t i, k;
	int fam;

	if (access(path, R_OK)) {
		printf("bench: %s absent: no ASN rows\n", path);
		return;
	}
	if (geofw_asn_list_read("tests/fixtures/big-ases.txt", big, 100) != 100 || db_copy(path, tmp)) {
		fprintf(stderr, "bench: cannot read %s or tests/fixtures/big-ases.txt\n", path);
		return;
	}
	for (i = 0; i < 100; i++)
		rules[i] = (struct geofw_asn_rule){ .asn = big[i], .kind = GEOFW_ASN_BLOCK,
						    .action = GEOFW_ACT_DROP, .rule_id = (__u32)i + 1 };
	if (geofw_asn_classes_make(rules, 100, &cl) || geofw_asn_db_load(tmp, &cl, &db)) {
		fprintf(stderr, "bench: cannot load %s\n", path);
		goto out;
	}
	{
		struct geofw_geo_image img;
		size_t longer = 0;

		for (k = 0; k < db.n_v4; k++)
			longer += db.v4[k].prefixlen > 24;
		if (!geofw_geo_build(db.v4, db.n_v4, db.v6, db.n_v6, &img)) {
			printf("bench: 100 ASes blocked: %zu IPv4 (%zu longer than /24, in %zu /24s) "
			       "+ %zu IPv6 prefixes\n", db.n_v4, longer, img.n_more4, db.n_v6);
			geofw_geo_image_free(&img);
		}
	}
	for (fam = 4; fam <= 6; fam += 2) {
		struct row *r, *geo;

		if (fill_keys(skel, &db, fam, "inside"))
			goto out;
		/* No AS rule in force, then the class table, then the CIDR rules. */
		geofw_maps_reset_rules(m);
		geofw_rules_present_sync(m);
		geofw_asn_clear(m);
		geo = add_row("asn keys: country lookup", skel->progs.bench_geo, fam, "as100");
		geo->above = geo->ns - noop[fam];
		if (geofw_asn_apply(m, NULL, tmp, rules, 100, NULL))
			goto out;
		r = add_row_paired("asn: class table lookup", skel->progs.bench_asn,
				   skel->progs.bench_noop, fam, "as100");
		/* The target: what the country lookup costs on addresses of the
		 * country database (its "inside" row of this run, above
		 * parse-only, plus parse-only above the no-op), +10% noise. */
		for (k = 0; k < (size_t)n_rows; k++)
			if (rows[k].family == fam && !strcmp(rows[k].keyset, "inside") &&
			    (!strcmp(rows[k].prog, "bench_geo") || !strcmp(rows[k].prog, "bench_parse")))
				r->target += rows[k].above * 1.1;
		r->target_what = "no-op (country lookup, inside, +10%)";
		r = add_row("asn: full decision, class table", skel->progs.bench_full, fam, "as100");
		r->above = r->ns - noop[fam];
		geofw_asn_clear(m);
		for (k = 0; k < (fam == 4 ? db.n_v4 : db.n_v6); k++) {
			const struct geofw_geo_prefix *p = fam == 4 ? &db.v4[k] : &db.v6[k];
			struct geofw_block b = { .action = GEOFW_ACT_DROP, .rule_id = p->country_id };
			struct geofw_cidr c = { .family = (__u8)fam, .prefixlen = p->prefixlen };

			memcpy(c.addr, p->addr, 16);
			if (geofw_block_put(m, &c, &b))
				break;
		}
		geofw_rules_present_sync(m);
		r = add_row("asn: full decision, CIDR rules", skel->progs.bench_full, fam, "as100");
		r->above = r->ns - noop[fam];
		geofw_maps_reset_rules(m);
		geofw_rules_present_sync(m);
	}
out:
	geofw_geoip_free(&db);
	unlink(tmp);
}

/*
 * The whole decision for keys inside the country database with rules in
 * force that none of them match: allow[0] allowlisted, block[0..nb) blocked,
 * and one country blocked that the keys are not in (KP: no GeoLite2 key of
 * "inside" draws it often enough to matter); the packet passes by country.
 */
/* What the allowlist and block steps cost a row's packets: the same
 * program with their presence bits cleared, interleaved (GEOFW_BENCH_AB). */
static void rules_ab(struct geofw_bench *skel, struct geofw_maps *m, int fam, const char *name)
{
	struct geofw_config on, off;
	double n[9], a[9], b[9];
	int k;

	geofw_config_read(m, &on);
	off = on;
	off.rules_present = 0;
	for (k = 0; k < 9; k++) {
		n[k] = measure(skel->progs.bench_noop, fam);
		a[k] = measure(skel->progs.bench_full, fam);
		geofw_config_write(m, &off);
		b[k] = measure(skel->progs.bench_full, fam);
		geofw_config_write(m, &on);
	}
	qsort(n, 9, sizeof(double), cmp_double);
	qsort(a, 9, sizeof(double), cmp_double);
	qsort(b, 9, sizeof(double), cmp_double);
	printf("AB %s: noop %.0f, rules in force %.0f, allow/block steps skipped %.0f "
	       "(medians of 9, interleaved)\n", name, n[4], a[4], b[4]);
}

static struct row *rules_row(struct geofw_bench *skel, struct geofw_maps *m,
			     const struct geofw_geoip_db *dbp, const char *name,
			     const struct geofw_cidr *allow, const struct geofw_cidr *block,
			     size_t nb)
{
	struct geofw_allow av = { .rule_id = 1 };
	struct geofw_block bv = { .action = GEOFW_ACT_DROP, .rule_id = 2 };
	struct geofw_country pol = { .listed = 1, .action = GEOFW_ACT_DROP };
	struct geofw_country none = {};
	int kp = geofw_country_id("KP"), fam = allow->family, err;
	unsigned int bits = geofw_rules_present_bit(allow, true);
	struct row *r = NULL;
	size_t i;

	for (i = 0; i < nb; i++)
		bits |= geofw_rules_present_bit(&block[i], false);
	err = fill_keys(skel, dbp, fam, "inside") || geofw_rules_present_add(m, bits) ||
	      geofw_allow_put(m, allow, &av) ||
	      (kp > 0 && geofw_country_put(m, (unsigned int)kp, &pol));
	for (i = 0; i < nb && !err; i++)
		err = geofw_block_put(m, &block[i], &bv);
	if (err) {
		fprintf(stderr, "bench: cannot set up the row \"%s\"\n", name);
	} else {
		r = add_row_paired(name, skel->progs.bench_full, skel->progs.bench_noop, fam,
				   "inside");
		if (core_only && getenv("GEOFW_BENCH_AB"))
			rules_ab(skel, m, fam, name);
	}
	if (kp > 0)
		geofw_country_put(m, (unsigned int)kp, &none);
	geofw_maps_reset_rules(m);
	geofw_rules_present_sync(m);
	return r;
}

/*
 * An allowed IPv4 packet with rules in force: an allowlist entry and a
 * block rule (so the allowlist trie and the /24 block prefilter are both
 * consulted).  Issue 17: <= 60 ns above the XDP_PASS no-op.
 */
static void allowed_row(struct geofw_bench *skel, struct geofw_maps *m,
			const struct geofw_geoip_db *dbp)
{
	struct geofw_cidr a = { .family = 4, .prefixlen = 24, .addr = { 192, 0, 2, 0 } };
	struct geofw_cidr b = { .family = 4, .prefixlen = 24, .addr = { 203, 0, 113, 0 } };
	struct row *r = rules_row(skel, m, dbp, "allowed, rules in force", &a, &b, 1);

	if (r) {
		r->target = 60;
		r->target_what = "XDP_PASS no-op";
	}
}

/*
 * The IPv6 counterpart: an allowlisted /48, a blocked /128 and a blocked
 * /48 (2001:db8::/32: none of the keys inside GeoLite2 match), so the
 * allowlist trie, the /128 prefilter (and hash, on a false positive) and
 * the block trie are all read for every packet.  No target: what the IPv6
 * rule steps cost on top of "full decision" (docs/design-notes.md).
 */
static void allowed_row6(struct geofw_bench *skel, struct geofw_maps *m,
			 const struct geofw_geoip_db *dbp)
{
	struct geofw_cidr a = { .family = 6, .prefixlen = 48, .addr = { 0x20, 0x01, 0x0d, 0xb8, 0, 1 } };
	struct geofw_cidr b[2] = {
		{ .family = 6, .prefixlen = 128, .addr = { 0x20, 0x01, 0x0d, 0xb8, 0, 2, [15] = 1 } },
		{ .family = 6, .prefixlen = 48, .addr = { 0x20, 0x01, 0x0d, 0xb8, 0, 3 } },
	};

	rules_row(skel, m, dbp, "allowed, v6 rules in force", &a, b, 2);
}

static void print_and_json(const char *json_path, double load_s, size_t kbytes,
			   const struct geofw_geoip_db *db)
{
	FILE *j = json_path ? fopen(json_path, "w") : NULL;
	json_t *lookup, *doc;
	int i, miss = 0;
	char *line;

	printf("\n%-34s %-4s %-7s %10s %12s  %s\n", "row", "fam", "keys", "ns/pkt", "above no-op",
	       "target");
	for (i = 0; i < n_rows; i++) {
		struct row *r = &rows[i];
		char t[64] = "";

		if (r->target > 0) {
			bool pass = r->above <= r->target;

			snprintf(t, sizeof(t), "%s <= %.0f ns above %s", pass ? "PASS" : "MISS",
				 r->target, r->target_what);
			miss += !pass;
		}
		printf("%-34s v%-3d %-7s %10.1f %12.1f  %s\n", r->name, r->family, r->keyset, r->ns,
		       r->above, t);
	}
	if (db) {
		bool pass = load_s <= 1.0;

		printf("\n%-34s %.3f s  %s <= 1.0 s\n", "GeoLite2 load + switch", load_s,
		       pass ? "PASS" : "MISS");
		printf("%-34s %.1f MB (%zu IPv4 + %zu IPv6 prefixes)\n", "geo tables, kernel memory",
		       (double)kbytes / 1e6, db->n_v4, db->n_v6);
		miss += !pass;
	}
	printf("\nrepeat %u x %d runs, median; reproduce: build/geofw-bench%s\n", repeat, runs,
	       repeat < 1000000 ? " --quick" : "");
	if (!j)
		return;
	lookup = json_array();
	for (i = 0; i < n_rows; i++)
		geofw_json_push(&lookup, json_pack("{s:s, s:s, s:i, s:s?, s:o, s:o, s:o}",
			"row", rows[i].name, "program", rows[i].prog, "family", rows[i].family,
			"keys", rows[i].keyset, "ns", geofw_json_real3(rows[i].ns),
			"above_noop_ns", geofw_json_real3(rows[i].above),
			"target_ns", geofw_json_real3(rows[i].target)));
	doc = json_pack("{s:I, s:i, s:o, s:o, s:I, s:i}", "repeat", (json_int_t)repeat, "runs", runs,
			"lookup", lookup, "geo_load_switch_s", geofw_json_real3(load_s),
			"geo_kernel_bytes", (json_int_t)kbytes, "misses", miss);
	line = doc ? geofw_json_line(doc) : NULL;
	json_decref(doc);
	if (!line || fputs(line, j) == EOF)
		fprintf(stderr, "geofw-bench: %s: cannot write the results\n", json_path);
	free(line);
	fclose(j);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "quick", no_argument, NULL, 'q' },
		{ "core", no_argument, NULL, 'c' },
		{ "db", required_argument, NULL, 'd' },
		{ "asn-db", required_argument, NULL, 'a' },
		{ "json", required_argument, NULL, 'j' },
		{ "rows", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	const char *db_path = "../shared/data/GeoLite2-Country.mmdb.gz", *json = NULL;
	const char *asn_path = "../shared/data/GeoLite2-ASN.mmdb.gz";
	char tmp_db[] = "/tmp/geofw-bench-db.XXXXXX";
	struct geofw_geoip_db db = {}, *dbp = NULL;
	struct geofw_geo_image img;
	struct geofw_bench *skel;
	struct geofw_config cfg;
	struct geofw_maps m;
	double load_s = 0, noop[7] = {};
	size_t kbytes = 0;
	int c, fam, err;

	while ((c = getopt_long(argc, argv, "qcd:a:j:r:h", opts, NULL)) != -1) {
		switch (c) {
		case 'q': repeat = 200000; runs = 3; break;
		case 'c': core_only = 1; break;
		case 'd': db_path = optarg; break;
		case 'a': asn_path = optarg; break;
		case 'j': json = optarg; break;
		case 'r': only = optarg; break;
		default:
			printf("usage: geofw-bench [--quick] [--core] [--db FILE.mmdb[.gz]] "
			       "[--asn-db FILE.mmdb[.gz]] [--json FILE] [--rows geo|ports|rl|asn]\n");
			return c == 'h' ? 0 : 2;
		}
	}

	skel = geofw_bench__open();
	if (!skel)
		return fprintf(stderr, "bench: cannot open the bench object\n"), 1;
	{
		struct bpf_map *map;

		bpf_object__for_each_map(map, skel->obj)
			bpf_map__set_pin_path(map, NULL);
	}
	if ((err = geofw_bench__load(skel)) || geofw_maps_from_object(skel->obj, &m)) {
		fprintf(stderr, "bench: cannot load the bench object: %s\n", strerror(-err));
		return 1;
	}
	geofw_config_defaults(&cfg);
	geofw_config_write(&m, &cfg);

	if (access(db_path, R_OK)) {
		printf("bench: %s absent: geo rows measure empty tables, no load figure\n", db_path);
	} else {
		double t0;

		if (db_copy(db_path, tmp_db))
			return fprintf(stderr, "bench: cannot read %s\n", db_path), 1;
		/* Walk + build + install: what a reload costs, end to end. */
		t0 = now_s();
		if (geofw_geoip_load(tmp_db, NULL, &db) ||
		    geofw_geo_build(db.v4, db.n_v4, db.v6, db.n_v6, &img) ||
		    geofw_geo_install(&m, NULL, &img))
			return fprintf(stderr, "bench: cannot load %s\n", db_path), 1;
		load_s = now_s() - t0;
		kbytes = geofw_geo_image_kernel_bytes(&img);
		if (g3_fill(skel, &img))
			fprintf(stderr, "bench: cannot fill the 3-level prototype\n");
		if (g4l_fill(skel, &img))
			fprintf(stderr, "bench: cannot fill the run-list prototype\n");
		else if (getenv("GEOFW_BENCH_AB"))
			printf("bench: run-list prototype against the fixed arrays: %ld of 400000 "
			       "addresses differ\n", g4l_check(skel, &img, 400000));
		geofw_geo_image_free(&img);
		unlink(tmp_db);
		dbp = &db;
		if (wanted("geo") && lpm_fill(skel, &db))
			fprintf(stderr, "bench: cannot fill the LPM contrast tries\n");
	}

	for (fam = 4; fam <= 6; fam += 2) {
		const char *sets[] = { "inside", "random" };
		int s;

		for (s = 0; s < 2; s++) {
			char name[64];
			struct row *r;
			double parse;

			if (fill_keys(skel, dbp, fam, sets[s]))
				return fprintf(stderr, "bench: cannot fill keys\n"), 1;
			r = add_row("no-op (draws the key)", skel->progs.bench_noop, fam, sets[s]);
			noop[fam] = r->ns;
			r->above = 0;
			if (!wanted("geo"))
				continue;
			r = add_row("parse only", skel->progs.bench_parse, fam, sets[s]);
			r->above = r->ns - noop[fam];
			parse = r->ns;
			if (!strcmp(sets[s], "inside") && dbp) {
				/* The target is above parse-only. */
				r = add_row_paired("geo lookup (v4 levels, v6 tree)", skel->progs.bench_geo,
						   skel->progs.bench_parse, fam, sets[s]);
				r->target = fam == 4 ? 60 : 200;
				r->target_what = "parse-only";
			} else {
				r = add_row("geo lookup (v4 levels, v6 tree)", skel->progs.bench_geo,
					    fam, sets[s]);
				r->above = r->ns - noop[fam];
			}
			if (dbp && fam == 4) {
				r = add_row("geo lookup, v4 levels inlined (proto)", skel->progs.bench_geo3,
					    fam, sets[s]);
				r->above = r->ns - parse;
			}
			if (dbp) {
				r = add_row("geo lookup, plain LPM trie", skel->progs.bench_lpm, fam, sets[s]);
				r->above = r->ns - noop[fam];
			}
			snprintf(name, sizeof(name), "full decision (miss all rules)");
			r = add_row_paired(name, skel->progs.bench_full, skel->progs.bench_noop, fam,
					   sets[s]);
			/* Issue 17: the whole decision above the no-op. */
			r->target = fam == 4 ? 60 : 150;
			r->target_what = "no-op";
		}
	}
	if (core_only && dbp && getenv("GEOFW_BENCH_AB")) {
		/* A/B, interleaved: flat table against the 3-level prototype. */
		const char *sets[] = { "inside", "random" };
		double a[9], b[9], n[9];
		int s, k;

		for (s = 0; s < 2; s++) {
			double w[9], t[9], r[9], f[9];

			fill_keys(skel, dbp, 4, sets[s]);
			for (k = 0; k < 9; k++) {
				n[k] = measure(skel->progs.bench_noop, 4);
				a[k] = measure(skel->progs.bench_geo, 4);
				b[k] = measure(skel->progs.bench_geo3, 4);
				w[k] = measure(skel->progs.bench_geo3w, 4);
				t[k] = measure(skel->progs.bench_geo3s, 4);
				r[k] = measure(skel->progs.bench_geo4l, 4);
				f[k] = measure(skel->progs.bench_full, 4);
			}
			qsort(f, 9, sizeof(double), cmp_double);
			qsort(a, 9, sizeof(double), cmp_double);
			qsort(b, 9, sizeof(double), cmp_double);
			qsort(w, 9, sizeof(double), cmp_double);
			qsort(n, 9, sizeof(double), cmp_double);
			qsort(t, 9, sizeof(double), cmp_double);
			qsort(r, 9, sizeof(double), cmp_double);
			printf("AB %s: noop %.0f geo tables %.0f prototype (3 levels, fixed arrays): u16 inlined %.0f, u32 inlined %.0f, "
			       "small inner maps (kmalloc) %.0f, run lines %.0f; full decision %.0f (medians of 9, interleaved)\n",
			       sets[s], n[4], a[4], b[4], w[4], t[4], r[4], f[4]);
		}
		for (k = 0; k < 9; k++) {
			a[k] = measure(skel->progs.bench_len_helper, 4);
			b[k] = measure(skel->progs.bench_len_direct, 4);
		}
		qsort(a, 9, sizeof(double), cmp_double);
		qsort(b, 9, sizeof(double), cmp_double);
		printf("AB frame length: bpf_xdp_get_buff_len %.1f, data_end - data %.1f\n", a[4], b[4]);
	}
	allowed_row(skel, &m, dbp);
	allowed_row6(skel, &m, dbp);
	if (wanted("geo") || wanted("rl"))
		mem_rows(skel);
	/* Drop log: every packet blocked (allow mode with nothing listed, no
	 * country dropped); sampling off, at its limit (a flood's steady
	 * state), and on with nobody reading (ring full: each packet also
	 * fails a reservation).  "above" = above "drop log off". */
	for (fam = 4; fam <= 6 && !core_only && wanted("geo"); fam += 2) {
		struct geofw_config saved, blk;
		__u8 in[128], out[256];
		struct row *r;
		double off;

		fill_keys(skel, dbp, fam, "random");
		geofw_config_read(&m, &saved);
		blk = saved;
		blk.country_mode = GEOFW_MODE_ALLOW_LISTED;
		blk.country_block_action = GEOFW_ACT_DROP;
		blk.unknown_country_action = GEOFW_ACT_DROP;
		blk.events_rate = 0;
		geofw_config_write(&m, &blk);
		r = add_row("full, all blocked, drop log off", skel->progs.bench_full, fam, "random");
		r->above = r->ns - noop[fam];
		off = r->ns;
		blk.events_rate = 100;
		geofw_config_write(&m, &blk);
		r = add_row("  drop log 100/s, limit reached", skel->progs.bench_full, fam, "random");
		r->above = r->ns - off;
		blk.events_rate = ~0u;
		geofw_config_write(&m, &blk);
		{
			LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in, .data_out = out,
				    .data_size_out = sizeof(out),
				    .repeat = 2 * GEOFW_EVENTS_BYTES / sizeof(struct geofw_event));

			o.data_size_in = (__u32)frame(fam, in);
			bpf_prog_test_run_opts(bpf_program__fd(skel->progs.bench_full), &o);
		}
		r = add_row("  drop log on, ring full, no reader", skel->progs.bench_full, fam, "random");
		r->above = r->ns - off;
		geofw_config_write(&m, &saved);
	}
	if (wanted("ports")) {
		port_rows(skel, &m, dbp, noop);
		port_asn_rows(skel, &m, asn_path, noop);
	}
	if (wanted("rl"))
		rl_rows(skel, &m, dbp, noop);
	if (wanted("asn"))
		asn_rows(skel, &m, asn_path, noop);
	print_and_json(json, load_s, kbytes, dbp);
	geofw_geoip_free(&db);
	geofw_bench__destroy(skel);
	return 0;
}
