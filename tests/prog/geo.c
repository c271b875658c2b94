// SPDX-License-Identifier: GPL-2.0-only
/*
 * Geo tables in the kernel: databases written by MaxMind's own writer and,
 * when present, the real GeoLite2-Country database are loaded, switched in,
 * and every answer of the data plane (the geo probe through BPF_PROG_RUN) is
 * compared with libmaxminddb on the same file.
 */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdbool.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "asntable.h"
#include "geoip.h"
#include "geotable.h"
#include "geoverify.h"
#include "loader.h"
#include "test.h"

#define REAL_DB_GZ "../shared/data/GeoLite2-Country.mmdb.gz"
#define REAL_ASN_DB_GZ "../shared/data/GeoLite2-ASN.mmdb.gz"

static char tmpdir[PATH_MAX];

static const char *tmp_path(const char *name)
{
	static char path[PATH_MAX];

	if (!tmpdir[0]) {
		char tmpl[] = "/tmp/geofw-geo.XXXXXX";

		if (!mkdtemp(tmpl))
			return NULL;
		strcpy(tmpdir, tmpl);
	}
	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	return path;
}

static void tmp_cleanup(void)
{
	char cmd[PATH_MAX + 16];

	if (tmpdir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd))
			fprintf(stderr, "cannot remove %s\n", tmpdir);
		tmpdir[0] = '\0';
	}
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The IPv4 rows and chunks as the install lays them out (include/geofw.h). */
static void print_layout(const struct geofw_geo_image *img)
{
	static const char *const tables[2] = { GEOFW_MAP_GEO4_FLAT, GEOFW_MAP_GEO4_MORE };
	struct geofw_geo4_top *top = calloc(1, sizeof(*top));
	struct geofw_geo4_layout l;

	if (top && !geofw_geo4_layout_make(img, "geo", tables, NULL, top, &l)) {
		printf("# IPv4 rows: %zu lines + %zu full (%.2f MB), chunks: %zu lines + %zu full "
		       "(%.2f MB)\n", l.row_lines, l.row_full,
		       (double)(l.n_rows * sizeof(*l.rows)) / 1e6, l.chunk_lines, l.chunk_full,
		       (double)(l.n_chunks * sizeof(*l.chunks)) / 1e6);
		geofw_geo4_layout_free(&l);
	}
	free(top);
}

/* Load a database, switch it in, verify `samples` random addresses per
 * family and every prefix edge; returns the mismatch count or -1. */
static long verify_db(struct geofw_loaded *fw, const char *path, size_t samples)
{
	struct geofw_geoip_reader *reader = NULL;
	struct geofw_geoip_db db;
	struct geofw_geo_image img;
	struct geofw_verify_result res;
	double t0, t1, t2;
	size_t i;

	t0 = now_s();
	if (!ASSERT_OK(geofw_geoip_load(path, NULL, &db), "geoip load"))
		return -1;
	if (!ASSERT_OK(geofw_geo_build(db.v4, db.n_v4, db.v6, db.n_v6, &img), "build")) {
		geofw_geoip_free(&db);
		return -1;
	}
	t1 = now_s();
	if (!ASSERT_OK(geofw_geo_install(&fw->maps, bpf_object__btf(fw->xdp_obj), &img), "install"))
		goto fail;
	t2 = now_s();
	printf("# %s: %zu v4 + %zu v6 prefixes, load+build %.3f s, install+switch %.3f s, "
	       "~%.1f MB kernel\n", strrchr(path, '/') + 1, db.n_v4, db.n_v6, t1 - t0, t2 - t1,
	       (double)geofw_geo_image_kernel_bytes(&img) / 1e6);
	print_layout(&img);
	if (!ASSERT_OK(geofw_geoip_open(path, NULL, &reader), "reader"))
		goto fail;
	if (!ASSERT_OK(geofw_geo_verify(fw->geo_probe_fd, &reader, 1, &db, samples, 1, &res), "verify"))
		goto fail;
	printf("# verified %zu random + %zu edge addresses in %.1f s: %zu agree, %zu differ, "
	       "%zu skipped (aliased ranges)\n", res.random_checked, res.edges_checked,
	       res.seconds, res.agreed, res.n_mismatch, res.skipped);
	for (i = 0; i < res.n_mismatch && i < GEOFW_VERIFY_MISMATCHES; i++)
		printf("#   %s: libmaxminddb %u, data plane %u\n", res.mismatch[i].addr,
		       res.mismatch[i].want, res.mismatch[i].got);
	ASSERT_TRUE(res.agreed > 0, "something agreed");
	geofw_geoip_close(reader);
	geofw_geo_image_free(&img);
	geofw_geoip_free(&db);
	return (long)res.n_mismatch;
fail:
	if (reader)
		geofw_geoip_close(reader);
	geofw_geo_image_free(&img);
	geofw_geoip_free(&db);
	return -1;
}

/* MaxMind's writer is there (else the test is skipped). */
static bool writer_present(void)
{
	if (!system("perl -MMaxMind::DB::Writer::Tree -e1 2>/dev/null"))
		return true;
	test_skip("perl MaxMind::DB::Writer missing (libmaxmind-db-writer-perl)");
	return false;
}

/* tests/fixtures/mkmmdb.pl's databases in the temporary directory. */
static bool write_fixtures(void)
{
	char cmd[PATH_MAX + 64];

	snprintf(cmd, sizeof(cmd), "perl tests/fixtures/mkmmdb.pl %s", tmp_path(""));
	return ASSERT_OK(system(cmd), "mkmmdb.pl");
}

void test_geo_fixtures_agree(void)
{
	static const char *const dbs[] = { "geoip2.mmdb", "ipv4.mmdb", "default4.mmdb",
					   "default6.mmdb", "flat.mmdb", "shape-v4.mmdb",
					   "shape-v6.mmdb" };
	struct geofw_loaded fw;
	size_t i;

	if (!writer_present() || !ASSERT_OK(geofw_load(NULL, &fw), "load"))
		return;
	if (write_fixtures())
		for (i = 0; i < sizeof(dbs) / sizeof(dbs[0]); i++)
			SUBTEST("%s", dbs[i])
				ASSERT_EQ(verify_db(&fw, tmp_path(dbs[i]), 20000), 0, "mismatches");
	geofw_unload(&fw);
	tmp_cleanup();
}

/*
 * ip-location-db's pair of files (the shape of them, mkmmdb.pl): an
 * IPv4-only and an IPv6-only database in force together, merged, checked
 * against libmaxminddb asking both files in order.  The IPv4-only file
 * alone: its IPv6 samples are not covered (no country, checked), never
 * counted as aliases.
 */
void test_geo_merged_agrees(void)
{
	struct geofw_geoip_reader *rd[2] = { NULL, NULL };
	struct geofw_geoip_db db[2] = {}, merged = {};
	struct geofw_verify_result res;
	struct geofw_geo_image img = {};
	struct geofw_loaded fw;
	int i;

	if (!writer_present() || !ASSERT_OK(geofw_load(NULL, &fw), "load"))
		return;
	if (!write_fixtures())
		goto out;
	for (i = 0; i < 2; i++) {
		const char *path = tmp_path(i ? "shape-v6.mmdb" : "shape-v4.mmdb");

		if (!ASSERT_OK(geofw_geoip_load(path, NULL, &db[i]), "geoip load") ||
		    !ASSERT_OK(geofw_geoip_open(path, NULL, &rd[i]), "reader"))
			goto out;
	}
	SUBTEST("ipv4-only alone") {
		if (!ASSERT_OK(geofw_geo_build(db[0].v4, db[0].n_v4, NULL, 0, &img), "build") ||
		    !ASSERT_OK(geofw_geo_install(&fw.maps, bpf_object__btf(fw.xdp_obj), &img), "install") ||
		    !ASSERT_OK(geofw_geo_verify(fw.geo_probe_fd, rd, 1, &db[0], 20000, 1, &res),
			       "verify"))
			break;
		ASSERT_EQ(res.n_mismatch, 0, "mismatches");
		ASSERT_EQ(res.skipped, 0, "nothing called an alias");
		ASSERT_EQ(res.v6_not_covered + res.v6_as_v4, 20000,
			  "IPv6 samples not covered, or judged as their IPv4 address");
		geofw_geo_image_free(&img);
	}
	SUBTEST("both merged") {
		if (!ASSERT_OK(geofw_geoip_merge(db, 2, &merged), "merge") ||
		    !ASSERT_OK(geofw_geo_build(merged.v4, merged.n_v4, merged.v6, merged.n_v6, &img),
			       "build") ||
		    !ASSERT_OK(geofw_geo_install(&fw.maps, bpf_object__btf(fw.xdp_obj), &img), "install") ||
		    !ASSERT_OK(geofw_geo_verify(fw.geo_probe_fd, rd, 2, &merged, 20000, 1, &res),
			       "verify"))
			break;
		printf("# merged: %zu v4 + %zu v6 prefixes; verified %zu random + %zu edge "
		       "addresses: %zu agree, %zu differ\n", merged.n_v4, merged.n_v6,
		       res.random_checked, res.edges_checked, res.agreed, res.n_mismatch);
		ASSERT_EQ(res.n_mismatch, 0, "mismatches");
		ASSERT_EQ(res.v6_not_covered, 0, "the IPv6 file answers IPv6");
		ASSERT_EQ(res.edges_checked, 2 * (merged.n_v4 + merged.n_v6), "every edge");
	}
out:
	geofw_geo_image_free(&img);
	geofw_geoip_free(&merged);
	for (i = 0; i < 2; i++) {
		if (rd[i])
			geofw_geoip_close(rd[i]);
		geofw_geoip_free(&db[i]);
	}
	geofw_unload(&fw);
	tmp_cleanup();
}

/* The acceptance check of the geo tables: 1,000,000 random addresses and
 * both edges of every prefix of the real database agree with libmaxminddb. */
void test_geo_real_db_agrees(void)
{
	struct geofw_loaded fw;
	char cmd[PATH_MAX + 64];

	if (access(REAL_DB_GZ, R_OK)) {
		test_skip("%s absent", REAL_DB_GZ);
		return;
	}
	snprintf(cmd, sizeof(cmd), "gzip -dc %s > %s", REAL_DB_GZ, tmp_path("real.mmdb"));
	if (!ASSERT_OK(system(cmd), "gunzip") || !ASSERT_OK(geofw_load(NULL, &fw), "load")) {
		tmp_cleanup();
		return;
	}
	ASSERT_EQ(verify_db(&fw, tmp_path("real.mmdb"), 500000), 0, "mismatches");
	geofw_unload(&fw);
	tmp_cleanup();
}

/* A switch replaces the generation in force and frees the old one. */
void test_geo_switch_generations(void)
{
	struct geofw_geo_prefix a = { .addr = { 203, 0, 113, 0 }, .prefixlen = 24, .country_id = 1 };
	struct geofw_geo_prefix b = { .addr = { 203, 0, 113, 0 }, .prefixlen = 24, .country_id = 2 };
	const __u8 addr[4] = { 203, 0, 113, 9 };
	struct geofw_geo_image ia, ib;
	struct geofw_config cfg;
	struct geofw_loaded fw;
	__u32 slot, inner;
	int round;

	if (!ASSERT_OK(geofw_load(NULL, &fw), "load"))
		return;
	if (ASSERT_OK(geofw_geo_build(&a, 1, NULL, 0, &ia), "build a") &&
	    ASSERT_OK(geofw_geo_build(&b, 1, NULL, 0, &ib), "build b")) {
		ASSERT_EQ(geofw_geo_probe(fw.geo_probe_fd, 4, addr), 0, "no table: no country");
		for (round = 0; round < 6; round++) {
			bool is_a = round % 2 == 0;

			ASSERT_OK(geofw_geo_install(&fw.maps, bpf_object__btf(fw.xdp_obj), is_a ? &ia : &ib), "install");
			ASSERT_EQ(geofw_geo_probe(fw.geo_probe_fd, 4, addr), is_a ? 1 : 2, "country");
			ASSERT_OK(geofw_config_read(&fw.maps, &cfg), "config");
			ASSERT_EQ(cfg.geo_generation, round + 1, "generation");
			slot = cfg.geo_slot ^ 1;
			ASSERT_ERR(bpf_map_lookup_elem(fw.maps.geo4_flat, &slot, &inner),
				   "old generation released");
		}
		ASSERT_OK(geofw_geo_clear(&fw.maps), "clear");
		ASSERT_EQ(geofw_geo_probe(fw.geo_probe_fd, 4, addr), 0, "cleared");
	}
	geofw_geo_image_free(&ia);
	geofw_geo_image_free(&ib);
	geofw_unload(&fw);
}

/* ---- ASN class tables ------------------------------------------------- */

/* Apply rules with the database at path and check the kernel against
 * libmaxminddb: `samples` random addresses per family and both edges of
 * every prefix of the ASes with rules.  The mismatch count, or -1. */
static long asn_verify_db(struct geofw_loaded *fw, const char *path,
			  const struct geofw_asn_rule *rules, size_t n, size_t samples)
{
	static struct geofw_asn_classes cl;
	struct geofw_geoip_reader *reader = NULL;
	struct geofw_asn_verify_result res;
	struct geofw_asn_report rep;
	struct geofw_geoip_db db = {};
	long ret = -1;
	size_t i;

	if (!ASSERT_OK(geofw_asn_apply(&fw->maps, NULL, path, rules, n, &rep), "asn apply") ||
	    !ASSERT_OK(geofw_asn_classes_make(rules, n, &cl), "classes") ||
	    !ASSERT_OK(geofw_asn_db_load(path, &cl, &db), "asn db") ||
	    !ASSERT_OK(geofw_asn_reader_open(path, &reader), "reader"))
		goto out;
	printf("# %s: %zu ASes with rules, %zu v4 + %zu v6 prefixes, load+build+switch %.0f ms\n",
	       strrchr(path, '/') + 1, rep.ases, rep.n_v4, rep.n_v6, rep.load_ms);
	if (!ASSERT_OK(geofw_asn_verify(fw->asn_probe_fd, reader, &cl, &db, samples, 1, &res),
		       "verify"))
		goto out;
	printf("# verified %zu random + %zu edge addresses in %.1f s: %zu agree, %zu differ\n",
	       res.random_checked, res.edges_checked, res.seconds, res.agreed, res.n_mismatch);
	for (i = 0; i < res.n_mismatch && i < GEOFW_VERIFY_MISMATCHES; i++)
		printf("#   %s: libmaxminddb AS%u, data plane AS%u\n", res.mismatch[i].addr,
		       res.mismatch[i].want, res.mismatch[i].got);
	ASSERT_EQ(res.edges_checked, 2 * (db.n_v4 + db.n_v6), "every edge");
	ret = (long)res.n_mismatch;
out:
	if (reader)
		geofw_geoip_close(reader);
	geofw_geoip_free(&db);
	return ret;
}

static long long asn_probe_str(struct geofw_loaded *fw, const char *text)
{
	__u8 addr[16] = {};
	int fam = strchr(text, ':') ? 6 : 4;

	if (inet_pton(fam == 4 ? AF_INET : AF_INET6, text, addr) != 1)
		return -EINVAL;
	return geofw_asn_probe(fw->asn_probe_fd, fam, addr);
}

#define BLOCK_AS(n) { .asn = (n), .kind = GEOFW_ASN_BLOCK, .action = GEOFW_ACT_DROP }
#define ALLOW_AS(n) { .asn = (n), .kind = GEOFW_ASN_ALLOW }

/* The lab's ASN fixture: the kernel agrees with libmaxminddb; a reload
 * with lab-asn2.mmdb moves 198.51.100.0/24 from AS64502 to AS64501; a bad
 * database keeps the tables in force; no rules, no AS decides. */
void test_asn_fixture_agrees(void)
{
	const struct geofw_asn_rule rules[] = { BLOCK_AS(64501), BLOCK_AS(64503), ALLOW_AS(64500) };
	struct geofw_loaded fw;
	struct geofw_config cfg;

	if (!writer_present() || !ASSERT_OK(geofw_load(NULL, &fw), "load"))
		return;
	if (!write_fixtures())
		goto out;
	SUBTEST("lab-asn") {
		ASSERT_EQ(asn_verify_db(&fw, tmp_path("lab-asn.mmdb"), rules, 3, 20000), 0,
			  "mismatches");
		ASSERT_EQ(asn_probe_str(&fw, "203.0.113.1"), 64503, "203.0.113.1");
		ASSERT_EQ(asn_probe_str(&fw, "203.0.113.70"), 64501, "longer prefix, other AS");
		ASSERT_EQ(asn_probe_str(&fw, "2001:db8:3::150"), 64501, "IPv6 beyond /64");
		ASSERT_EQ(asn_probe_str(&fw, "2001:db8:3::1"), 64503, "IPv6 /48");
		ASSERT_EQ(asn_probe_str(&fw, "192.0.2.1"), 64500, "allowed AS");
		ASSERT_EQ(asn_probe_str(&fw, "198.51.100.1"), 0, "AS without a rule");
	}
	SUBTEST("reload moves a prefix") {
		ASSERT_EQ(asn_verify_db(&fw, tmp_path("lab-asn2.mmdb"), rules, 3, 20000), 0,
			  "mismatches");
		ASSERT_EQ(asn_probe_str(&fw, "198.51.100.1"), 64501, "moved to AS64501");
		ASSERT_EQ(asn_probe_str(&fw, "2001:db8:2::1"), 64501, "IPv6 moved to AS64501");
	}
	SUBTEST("bad database keeps the tables") {
		geofw_config_read(&fw.maps, &cfg);
		ASSERT_ERR(geofw_asn_apply(&fw.maps, NULL, tmp_path("absent.mmdb"), rules, 3, NULL),
			   "absent database");
		ASSERT_EQ(geofw_asn_apply(&fw.maps, NULL, tmp_path("lab.mmdb"), rules, 3, NULL),
			  -ENODATA, "a country database");
		ASSERT_EQ(asn_probe_str(&fw, "198.51.100.1"), 64501, "still in force");
	}
	SUBTEST("too many ASes") {
		static struct geofw_asn_rule many[GEOFW_ASN_CLASS_MAX_ID + 1];
		__u32 i;

		for (i = 0; i <= GEOFW_ASN_CLASS_MAX_ID; i++)
			many[i] = (struct geofw_asn_rule)BLOCK_AS(64512 + i);
		ASSERT_EQ(geofw_asn_apply(&fw.maps, NULL, tmp_path("lab-asn.mmdb"), many,
					  GEOFW_ASN_CLASS_MAX_ID + 1, NULL), -E2BIG, "E2BIG");
		ASSERT_OK(geofw_asn_apply(&fw.maps, NULL, tmp_path("lab-asn.mmdb"), many,
					  GEOFW_ASN_CLASS_MAX_ID, NULL), "254 ASes");
	}
	SUBTEST("no rules") {
		ASSERT_OK(geofw_asn_apply(&fw.maps, NULL, tmp_path("lab-asn.mmdb"), NULL, 0, NULL),
			  "clear");
		ASSERT_EQ(asn_probe_str(&fw, "203.0.113.1"), 0, "no AS rule");
		geofw_config_read(&fw.maps, &cfg);
		ASSERT_EQ(cfg.asn_present, 0, "no ASN table in force");
	}
out:
	geofw_unload(&fw);
	tmp_cleanup();
}

/* 100 large ASes (tests/fixtures/big-ases.txt) of the real GeoLite2-ASN
 * database, a tenth of them allowed: every edge of their prefixes and
 * 500,000 random addresses per family agree with libmaxminddb. */
void test_asn_real_db_agrees(void)
{
	struct geofw_asn_rule rules[100];
	__u32 big[100];
	struct geofw_loaded fw;
	char cmd[PATH_MAX + 64];
	size_t i;

	if (access(REAL_ASN_DB_GZ, R_OK)) {
		test_skip("%s absent: the real-database check of the ASN tables did not run",
			  REAL_ASN_DB_GZ);
		return;
	}
	snprintf(cmd, sizeof(cmd), "gzip -dc %s > %s", REAL_ASN_DB_GZ, tmp_path("asn.mmdb"));
	if (!ASSERT_OK(system(cmd), "gunzip") || !ASSERT_OK(geofw_load(NULL, &fw), "load")) {
		tmp_cleanup();
		return;
	}
	if (!ASSERT_EQ(geofw_asn_list_read("tests/fixtures/big-ases.txt", big, 100), 100,
		       "big-ases.txt")) {
		geofw_unload(&fw);
		tmp_cleanup();
		return;
	}
	for (i = 0; i < 100; i++)
		rules[i] = (struct geofw_asn_rule){ .asn = big[i],
						    .kind = i % 10 ? GEOFW_ASN_BLOCK : GEOFW_ASN_ALLOW,
						    .action = i % 10 ? GEOFW_ACT_DROP : 0 };
	ASSERT_EQ(asn_verify_db(&fw, tmp_path("asn.mmdb"), rules, 100, 500000), 0, "mismatches");
	geofw_unload(&fw);
	tmp_cleanup();
}
