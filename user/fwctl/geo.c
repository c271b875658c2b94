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

/* The database and field to check: --db, else geofw.conf's. */
static int pick_db(struct fwctl *c, const struct geofw_cmd *cmd, struct geofw_conf *conf,
		   const char **path, const char **field, bool *from_conf)
{
	char err[GEOFW_CONF_ERRLEN];
	int i, r;

	*from_conf = false;
	if (cmd->db) {
		*path = cmd->db;
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
	*path = conf->geoip_db;
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

static void print_result(struct fwctl *c, const char *path, const struct geofw_geoip_db *db,
			 const struct geofw_verify_result *res, unsigned int seed)
{
	const struct geofw_geoip_report *rep = &db->report;
	size_t checked = res->agreed + res->n_mismatch, i;
	char built[32] = "?";
	struct json j;
	struct tm tm;
	time_t t = (time_t)rep->build_epoch;

	if (gmtime_r(&t, &tm))
		strftime(built, sizeof(built), "%Y-%m-%d", &tm);
	if (c->json) {
		json_init(&j, stdout);
		json_obj(&j, NULL);
		json_str(&j, "database", path);
		json_str(&j, "database_type", rep->database_type);
		json_u64(&j, "build_epoch", rep->build_epoch);
		json_u64(&j, "prefixes_v4", db->n_v4);
		json_u64(&j, "prefixes_v6", db->n_v6);
		json_u64(&j, "countries", rep->countries);
		json_u64(&j, "seed", seed);
		json_u64(&j, "random_checked", res->random_checked);
		json_u64(&j, "edges_checked", res->edges_checked);
		json_u64(&j, "agreed", res->agreed);
		json_u64(&j, "skipped", res->skipped);
		json_u64(&j, "mismatches", res->n_mismatch);
		json_arr(&j, "first_mismatches");
		for (i = 0; i < res->n_mismatch && i < GEOFW_VERIFY_MISMATCHES; i++) {
			json_obj(&j, NULL);
			json_str(&j, "address", res->mismatch[i].addr);
			json_str(&j, "maxminddb", geofw_country_code(res->mismatch[i].want));
			json_str(&j, "data_plane", geofw_country_code(res->mismatch[i].got));
			json_obj_end(&j);
		}
		json_arr_end(&j);
		json_num(&j, "seconds", res->seconds);
		json_bool(&j, "ok", res->n_mismatch == 0);
		json_obj_end(&j);
		json_done(&j);
		return;
	}
	printf("database: %s (%s, built %s)\n", path, rep->database_type, built);
	printf("prefixes: %zu IPv4, %zu IPv6, %u countries\n", db->n_v4, db->n_v6, rep->countries);
	printf("checked: %zu random + %zu prefix edge addresses in %.1f s (seed %u)\n",
	       res->random_checked, res->edges_checked, res->seconds, seed);
	printf("agreement: %zu of %zu (%.4f%%); %zu skipped (ranges libmaxminddb aliases to "
	       "IPv4: ::/96, 2001::/32, 2002::/16)\n", res->agreed, checked,
	       checked ? 100.0 * (double)res->agreed / (double)checked : 100.0, res->skipped);
	if (!res->n_mismatch) {
		printf("mismatches: none\n");
		return;
	}
	printf("mismatches: %zu%s\n", res->n_mismatch,
	       res->n_mismatch > GEOFW_VERIFY_MISMATCHES ? ", the first ones:" : ":");
	for (i = 0; i < res->n_mismatch && i < GEOFW_VERIFY_MISMATCHES; i++)
		printf("  %s: libmaxminddb %s, data plane %s\n", res->mismatch[i].addr,
		       cc_or_none(res->mismatch[i].want), cc_or_none(res->mismatch[i].got));
}

int fwctl_geo_verify(struct fwctl *c, const struct geofw_cmd *cmd)
{
	const char *field[GEOFW_CONF_MAX_FIELD + 1] = { NULL }, *path = NULL;
	struct geofw_geoip_opts opts = { 0 };
	struct geofw_geoip_reader *reader = NULL;
	struct geofw_verify_result res;
	struct geofw_geo_image img = { 0 };
	struct geofw_geoip_db db = { 0 };
	struct geofw_loaded fw;
	struct geofw_conf *conf;
	bool loaded = false, from_conf;
	unsigned int seed;
	int ret, err;

	/* struct geofw_conf holds several PATH_MAX buffers: not on the stack. */
	conf = calloc(1, sizeof(*conf));
	if (!conf)
		return fwctl_fail(c, FWCTL_EXIT_FAIL, "out of memory");
	ret = pick_db(c, cmd, conf, &path, field, &from_conf);
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
	if (geofw_geoip_load(path, &opts, &db)) {
		ret = LIB_FAIL("cannot load the database");
		goto out;
	}
	err = geofw_geo_build(db.v4, db.n_v4, db.v6, db.n_v6, &img);
	if (err) {
		ret = fwctl_fail(c, FWCTL_EXIT_FAIL, "%s: building the geo tables: %s", path,
				 strerror(-err));
		goto out;
	}
	err = geofw_geo_install(&fw.maps, NULL, &img);
	if (err) {
		ret = fwctl_fail(c, FWCTL_EXIT_FAIL, "%s: loading the geo tables: %s", path,
				 c->lib_err[0] ? c->lib_err : strerror(-err));
		goto out;
	}
	if (geofw_geoip_open(path, &opts, &reader)) {
		ret = LIB_FAIL("cannot open the database");
		goto out;
	}
	/* A new sample every run; the seed is printed to repeat one. */
	seed = (unsigned int)time(NULL) ^ ((unsigned int)getpid() << 16);
	err = geofw_geo_verify(fw.geo_probe_fd, reader, &db, cmd->samples, seed, &res);
	if (err) {
		ret = fwctl_fail(c, FWCTL_EXIT_FAIL, "verifying %s: %s", path, strerror(-err));
		goto out;
	}
#undef LIB_FAIL
	print_result(c, path, &db, &res, seed);
	ret = res.n_mismatch ? FWCTL_EXIT_FAIL : FWCTL_EXIT_OK;
out:
	if (reader)
		geofw_geoip_close(reader);
	geofw_geo_image_free(&img);
	geofw_geoip_free(&db);
	if (loaded)
		geofw_unload(&fw);
	free(conf);
	return ret;
}
