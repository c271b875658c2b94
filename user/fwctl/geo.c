// SPDX-License-Identifier: GPL-2.0-only
/*
 * fwctl geo verify: does the kernel find the country libmaxminddb finds?
 * The check runs on a private copy of the data plane (loaded, never
 * attached or pinned), so it can run next to the firewall in force.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "countries.h"
#include "fwctl.h"
#include "geoip.h"
#include "geotable.h"
#include "geoverify.h"
#include "loader.h"

/* The databases and field to check: --db..., else geofw.conf's. */
static int pick_db(struct fwctl *c, const struct geofw_cmd *cmd, struct geofw_conf *conf,
		   const char **paths, int *n_paths, const char **field, bool *from_conf)
{
	char err[GEOFW_CONF_ERRLEN];
	int i, r;

	*from_conf = false;
	if (cmd->n_db) {
		for (i = 0; i < cmd->n_db; i++)
			paths[i] = cmd->db[i];
		*n_paths = cmd->n_db;
		return FWCTL_EXIT_OK;
	}
	r = geofw_conf_load(GEOFW_CONF_PATH, conf, err, sizeof(err));
	if (r == -ENOENT)
		return fwctl_fail(c, FWCTL_EXIT_FAIL, "%s does not exist: name the database "
				  "with --db FILE", GEOFW_CONF_PATH);
	if (r)
		return fwctl_fail(c, FWCTL_EXIT_FAIL, "%s", err);
	if (!conf->geoip_enabled)
		return fwctl_fail(c, FWCTL_EXIT_FAIL, "GeoIPDatabase is none in %s: name the "
				  "database with --db FILE", GEOFW_CONF_PATH);
	for (i = 0; i < conf->n_geoip_db; i++)
		paths[i] = conf->geoip_db[i];
	*n_paths = conf->n_geoip_db;
	for (i = 0; i < conf->n_geoip_field; i++)
		field[i] = conf->geoip_field[i];
	field[i] = NULL;
	*from_conf = true;
	return FWCTL_EXIT_OK;
}

static const char *cc_or_none(unsigned int id)
{
	const char *cc = geofw_country_code(id);

	return cc ? cc : "none";
}

static int print_result(struct fwctl *c, const char *const *paths,
			 const struct geofw_geoip_db *dbs, int n, const struct geofw_geoip_db *all,
			 const struct geofw_verify_result *res, unsigned int seed)
{
	size_t checked = res->agreed + res->n_mismatch, i;
	char built[32];
	struct tm tm;
	int k;

	if (c->json) {
		json_t *jdbs = json_array(), *first = json_array();

		for (k = 0; k < n; k++)
			geofw_json_push(&jdbs, json_pack("{s:o, s:o, s:I, s:I, s:I, s:I}",
				"path", geofw_json_text(paths[k]),
				"database_type", geofw_json_text(dbs[k].report.database_type),
				"build_epoch", (json_int_t)dbs[k].report.build_epoch,
				"ip_version", (json_int_t)dbs[k].report.ip_version,
				"prefixes_v4", (json_int_t)dbs[k].n_v4,
				"prefixes_v6", (json_int_t)dbs[k].n_v6));
		for (i = 0; i < res->n_mismatch && i < GEOFW_VERIFY_MISMATCHES; i++)
			geofw_json_push(&first, json_pack("{s:s, s:s?, s:s?}",
				"address", res->mismatch[i].addr,
				"maxminddb", geofw_country_code(res->mismatch[i].want),
				"data_plane", geofw_country_code(res->mismatch[i].got)));
		/* "database": the first file, as before several were possible. */
		return fwctl_json_print(c, json_pack("{s:o, s:o, s:I, s:o, s:I, s:I, s:I, s:I, s:I,"
						     " s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:o, s:b}",
			"database", geofw_json_text(paths[0]),
			"database_type", geofw_json_text(dbs[0].report.database_type),
			"build_epoch", (json_int_t)dbs[0].report.build_epoch, "databases", jdbs,
			"prefixes_v4", (json_int_t)all->n_v4, "prefixes_v6", (json_int_t)all->n_v6,
			"countries", (json_int_t)all->report.countries, "seed", (json_int_t)seed,
			"random_checked", (json_int_t)res->random_checked,
			"edges_checked", (json_int_t)res->edges_checked,
			"agreed", (json_int_t)res->agreed, "skipped", (json_int_t)res->skipped,
			"v6_not_covered", (json_int_t)res->v6_not_covered,
			"v6_as_v4", (json_int_t)res->v6_as_v4, "mismatches", (json_int_t)res->n_mismatch,
			"first_mismatches", first, "seconds", geofw_json_real3(res->seconds),
			"ok", res->n_mismatch == 0));
	}
	for (k = 0; k < n; k++) {
		const struct geofw_geoip_report *rep = &dbs[k].report;
		time_t t = (time_t)rep->build_epoch;

		snprintf(built, sizeof(built), "?");
		if (gmtime_r(&t, &tm))
			strftime(built, sizeof(built), "%Y-%m-%d", &tm);
		printf("database: %s (%s, built %s, IPv%u%s): %zu IPv4, %zu IPv6 prefixes\n",
		       paths[k], rep->database_type, built, rep->ip_version,
		       rep->ip_version == 4 ? " only" : "", dbs[k].n_v4, dbs[k].n_v6);
	}
	printf("prefixes: %zu IPv4, %zu IPv6, %u countries%s\n", all->n_v4, all->n_v6,
	       all->report.countries, n > 1 ? " (merged: the first database that covers an "
					      "address decides)" : "");
	printf("checked: %zu random + %zu prefix edge addresses in %.1f s (seed %u)\n",
	       res->random_checked, res->edges_checked, res->seconds, seed);
	printf("agreement: %zu of %zu (%.4f%%)\n", res->agreed, checked,
	       checked ? 100.0 * (double)res->agreed / (double)checked : 100.0);
	if (res->v6_not_covered)
		printf("not covered: %zu IPv6 addresses, outside %s IPv4-only (checked: "
		       "no country expected)\n", res->v6_not_covered,
		       n > 1 ? "every database, each" : "the database,");
	if (res->v6_as_v4)
		printf("as IPv4: %zu IPv6 addresses carrying an IPv4 one (v4-mapped, "
		       "compatible, 6to4, NAT64), checked as that address\n", res->v6_as_v4);
	if (res->skipped)
		printf("skipped: %zu IPv6 addresses in ranges libmaxminddb aliases to IPv4 "
		       "and the data plane judges as IPv6 (::, ::1, 2001::/32)\n", res->skipped);
	if (!res->n_mismatch) {
		printf("mismatches: none\n");
		return FWCTL_EXIT_OK;
	}
	printf("mismatches: %zu%s\n", res->n_mismatch,
	       res->n_mismatch > GEOFW_VERIFY_MISMATCHES ? ", the first ones:" : ":");
	for (i = 0; i < res->n_mismatch && i < GEOFW_VERIFY_MISMATCHES; i++)
		printf("  %s: libmaxminddb %s, data plane %s\n", res->mismatch[i].addr,
		       cc_or_none(res->mismatch[i].want), cc_or_none(res->mismatch[i].got));
	return FWCTL_EXIT_OK;
}

int fwctl_geo_verify(struct fwctl *c, const struct geofw_cmd *cmd)
{
	const char *field[GEOFW_CONF_MAX_FIELD + 1] = { NULL };
	const char *paths[GEOFW_CONF_MAX_GEOIP_DB] = { NULL };
	struct geofw_geoip_reader *readers[GEOFW_CONF_MAX_GEOIP_DB] = { NULL };
	struct geofw_geoip_db dbs[GEOFW_CONF_MAX_GEOIP_DB] = { 0 }, merged = { 0 };
	const struct geofw_geoip_db *all;
	struct geofw_geoip_opts opts = { 0 };
	struct geofw_verify_result res;
	struct geofw_geo_image img = { 0 };
	struct geofw_loaded fw;
	struct geofw_conf *conf;
	bool loaded = false, from_conf;
	unsigned int seed;
	int ret, err, i, n = 0;

	/* struct geofw_conf holds several PATH_MAX buffers: not on the stack. */
	conf = calloc(1, sizeof(*conf));
	if (!conf)
		return fwctl_fail(c, FWCTL_EXIT_FAIL, "out of memory");
	ret = pick_db(c, cmd, conf, paths, &n, field, &from_conf);
	if (ret)
		goto out;
	if (from_conf && field[0])
		opts.field_path = field;

	c->lib_err[0] = '\0';
#define LIB_FAIL(what) \
	fwctl_fail(c, FWCTL_EXIT_FAIL, "%s", c->lib_err[0] ? c->lib_err : (what))
	err = geofw_load(NULL, &fw);
	if (err) {
		ret = (err == -EPERM || err == -EACCES) && geteuid() ?
		      fwctl_fail(c, FWCTL_EXIT_FAIL, "loading the data plane: permission denied "
				 "(root needed)") :
		      LIB_FAIL("cannot load the data plane");
		goto out;
	}
	loaded = true;
	for (i = 0; i < n; i++) {
		if (geofw_geoip_load(paths[i], &opts, &dbs[i])) {
			ret = LIB_FAIL("cannot load the database");
			goto out;
		}
	}
	if (n > 1 && geofw_geoip_merge(dbs, (size_t)n, &merged)) {
		ret = LIB_FAIL("cannot merge the databases");
		goto out;
	}
	all = n > 1 ? &merged : &dbs[0];
	err = geofw_geo_build(all->v4, all->n_v4, all->v6, all->n_v6, &img);
	if (err) {
		/* A capacity error names the table, the count and the limit. */
		ret = fwctl_fail(c, FWCTL_EXIT_FAIL, "%s: building the geo tables: %s", paths[0],
				 err == -E2BIG && c->lib_err[0] ? c->lib_err : strerror(-err));
		goto out;
	}
	err = geofw_geo_install(&fw.maps, NULL, &img);
	if (err) {
		ret = fwctl_fail(c, FWCTL_EXIT_FAIL, "%s: loading the geo tables: %s", paths[0],
				 c->lib_err[0] ? c->lib_err : strerror(-err));
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (geofw_geoip_open(paths[i], &opts, &readers[i])) {
			ret = LIB_FAIL("cannot open the database");
			goto out;
		}
	}
	/* A new sample every run; the seed is printed to repeat one. */
	seed = (unsigned int)time(NULL) ^ ((unsigned int)getpid() << 16);
	err = geofw_geo_verify(fw.geo_probe_fd, readers, (size_t)n, all, cmd->samples, seed, &res);
	if (err) {
		ret = fwctl_fail(c, FWCTL_EXIT_FAIL, "verifying %s: %s", paths[0], strerror(-err));
		goto out;
	}
#undef LIB_FAIL
	ret = print_result(c, paths, dbs, n, all, &res, seed);
	if (res.n_mismatch)
		ret = FWCTL_EXIT_FAIL;
out:
	for (i = 0; i < n; i++) {
		if (readers[i])
			geofw_geoip_close(readers[i]);
		geofw_geoip_free(&dbs[i]);
	}
	geofw_geoip_free(&merged);
	geofw_geo_image_free(&img);
	if (loaded)
		geofw_unload(&fw);
	free(conf);
	return ret;
}
