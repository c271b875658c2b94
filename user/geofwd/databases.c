// SPDX-License-Identifier: GPL-2.0-only
/*
 * The GeoIP and ASN databases in force: read, merged with the AS rules of
 * geofw.conf and of the store, built into kernel tables beside those in
 * force and switched in (start, reload, a replaced database file, a change
 * of the AS rules).  On any error the tables in force stay.
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "geofwd.h"
#include "grow.h"
#include "msg.h"

#include "asntable.h"
#include "geotable.h"
#include "log.h"

/* ---- GeoIP ------------------------------------------------------------------ */

/*
 * Every database of GeoIPDatabase, merged (geoip.h: the first listed that
 * covers an address decides), and built into kernel tables.  All or
 * nothing: one file that does not load fails the whole set, so a reload
 * never puts half of the data in force.  Files are reported in info.
 */
static int load_geo_image(const struct geofw_conf *conf, struct geofw_geo_image *img,
			  struct gfwd_db_info *info)
{
	const char *path[GEOFW_CONF_MAX_FIELD + 1] = {};
	struct geofw_geoip_db dbs[GEOFW_CONF_MAX_GEOIP_DB] = {}, merged = {};
	struct geofw_geoip_opts opts = {};
	size_t off = 0, toff = 0;
	int err = 0, i, n = conf->n_geoip_db;

	for (i = 0; i < conf->n_geoip_field; i++)
		path[i] = conf->geoip_field[i];
	opts.field_path = conf->n_geoip_field ? path : NULL;
	memset(info, 0, sizeof(*info));
	for (i = 0; i < n && !err; i++)
		err = geofw_geoip_load(conf->geoip_db[i], &opts, &dbs[i]);
	if (!err && n > 1)
		err = geofw_geoip_merge(dbs, (size_t)n, &merged);
	if (!err) {
		const struct geofw_geoip_db *all = n > 1 ? &merged : &dbs[0];

		err = geofw_geo_build(all->v4, all->n_v4, all->v6, all->n_v6, img);
		if (err && err != -E2BIG)	/* E2BIG: built and logged with the table */
			log_err(err, "geoip: building the geo tables: %s", strerror(-err));
		info->n_v4 = all->n_v4;
		info->n_v6 = all->n_v6;
		info->countries = all->report.countries;
	}
	for (i = 0; !err && i < n; i++) {
		const struct geofw_geoip_report *rep = &dbs[i].report;

		off += (size_t)snprintf(info->path + off, sizeof(info->path) - off, "%s%s",
					i ? " " : "", conf->geoip_db[i]);
		if (off >= sizeof(info->path))
			off = sizeof(info->path) - 1;
		toff += (size_t)snprintf(info->database_type + toff,
					 sizeof(info->database_type) - toff, "%s%s",
					 i ? " + " : "", rep->database_type);
		if (toff >= sizeof(info->database_type))
			toff = sizeof(info->database_type) - 1;
		/* The oldest file says how stale the data in force may be. */
		if (!i || rep->build_epoch < info->build_epoch)
			info->build_epoch = rep->build_epoch;
	}
	for (i = 0; i < n; i++)
		geofw_geoip_free(&dbs[i]);
	geofw_geoip_free(&merged);
	return err;
}

bool gfwd_country_policy_wanted(const struct gfwd *d)
{
	struct geofw_store_countries sc;
	int i;

	if (!d->store)
		return d->conf.country_mode == GEOFW_MODE_ALLOW_LISTED || d->conf.n_countries > 0;
	gfwd_countries_in_force(d, &sc);
	if (sc.mode == GEOFW_MODE_ALLOW_LISTED)
		return true;
	for (i = 0; i < GEOFW_MAX_COUNTRIES; i++)
		if (sc.listed[i])
			return true;
	return false;
}

bool gfwd_country_policy_enforced(const struct gfwd *d, char *why, size_t len)
{
	struct geofw_config cfg = {};

	if (why && len)
		why[0] = '\0';
	if (!gfwd_country_policy_wanted(d) || d->db.loaded)
		return true;
	if (!d->conf.geoip_enabled) {
		if (why)
			snprintf(why, len, "GeoIPDatabase = none in %s", d->conf_path);
		return false;
	}
	/* Tables adopted from the pins (a previous geofwd loaded them). */
	if (d->fw.maps.config >= 0 && !geofw_config_read(&d->fw.maps, &cfg) &&
	    cfg.geo_generation)
		return true;
	if (why)
		snprintf(why, len, "%s", d->db.error[0] ? d->db.error : "no GeoIP database loaded");
	return false;
}

int gfwd_check_geoip(const struct gfwd *d, char *err, size_t errlen)
{
	struct geofw_geo_image img = {};
	struct gfwd_db_info *info;
	int ret;

	err[0] = '\0';
	if (!gfwd_country_policy_wanted(d))
		return 0;
	if (!d->conf.geoip_enabled) {
		snprintf(err, errlen, "%s: a country policy is configured (Countries or "
			 "CountryMode = allow) but GeoIPDatabase = none: it could not be enforced",
			 d->conf_path);
		return -EINVAL;
	}
	info = calloc(1, sizeof(*info));
	if (!info)
		return -ENOMEM;
	ret = load_geo_image(&d->conf, &img, info);
	if (ret)
		snprintf(err, errlen, "%s: the country policy could not be enforced: %s",
			 d->conf_path, geofw_log_last_error()[0] ? geofw_log_last_error() :
			 strerror(-ret));
	geofw_geo_image_free(&img);
	free(info);
	return ret;
}

int gfwd_geoip_plan(const struct geofw_conf *conf, struct gfwd_geo_plan *p)
{
	int err;

	memset(p, 0, sizeof(*p));
	p->enabled = conf->geoip_enabled;
	if (!p->enabled)
		return 0;
	p->info = calloc(1, sizeof(*p->info));
	if (!p->info)
		return log_err(-ENOMEM, "geoip: out of memory");
	clock_gettime(CLOCK_MONOTONIC, &p->t0);
	err = load_geo_image(conf, &p->img, p->info);
	if (err)
		gfwd_geoip_plan_free(p);
	return err;
}

void gfwd_geoip_plan_free(struct gfwd_geo_plan *p)
{
	geofw_geo_image_free(&p->img);
	free(p->info);
	p->info = NULL;
}

int gfwd_geoip_failed(struct gfwd *d, int err, const char *why)
{
	struct geofw_config cfg = {};

	/* Tables adopted from the pins count as in force too. */
	geofw_config_read(&d->fw.maps, &cfg);
	snprintf(d->db.error, sizeof(d->db.error), "load failed: %s; %s",
		 geofw_log_last_error()[0] ? geofw_log_last_error() : strerror(-err),
		 d->db.loaded ? "the previous database stays in force" :
		 cfg.geo_generation ? "the tables found in the pins stay in force" :
				      "no country data in force");
	d->db_loads_failed++;
	log_err(err, "geoip (%s): %s", why, d->db.error);
	return err;
}

int gfwd_geoip_commit(struct gfwd *d, struct gfwd_geo_plan *p, const char *why)
{
	struct gfwd_db_info *info = p->info;
	struct timespec t1;
	int err;

	if (!p->enabled) {
		d->db.loaded = false;
		return geofw_geo_clear(&d->fw.maps);
	}
	err = geofw_geo_install(&d->fw.maps, bpf_object__btf(d->fw.xdp_obj), &p->img);
	if (!err)
		info->kernel_bytes = geofw_geo_image_kernel_bytes(&p->img);
	/* Installed or not, the image is freed here. */
	geofw_geo_image_free(&p->img);
	if (err) {
		gfwd_geoip_plan_free(p);
		return gfwd_geoip_failed(d, err, why);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	info->loaded = true;
	info->loaded_at = time(NULL);
	info->load_seconds = (double)(t1.tv_sec - p->t0.tv_sec) +
			     (double)(t1.tv_nsec - p->t0.tv_nsec) / 1e9;
	d->db = *info;
	gfwd_geoip_plan_free(p);
	d->db_loads_ok++;
	log_info("geoip (%s): %s (%s, oldest built %llu): %zu IPv4 + %zu IPv6 prefixes, "
		 "%zu countries, %.2f s, %.1f MB kernel tables", why, d->db.path,
		 d->db.database_type, (unsigned long long)d->db.build_epoch, d->db.n_v4,
		 d->db.n_v6, d->db.countries, d->db.load_seconds, (double)d->db.kernel_bytes / 1e6);
	return 0;
}

int gfwd_load_geoip(struct gfwd *d, const char *why)
{
	struct gfwd_geo_plan p;
	int err = gfwd_geoip_plan(&d->conf, &p);

	if (err)
		return gfwd_geoip_failed(d, err, why);
	return gfwd_geoip_commit(d, &p, why);
}

/* ---- ASN -------------------------------------------------------------------- */

/*
 * The AS rules in force are the union of geofw.conf's (BlockASN with
 * ASNAction, AllowASN: source "config", never expiring) and the store's
 * (fwctl, crowdsec, ...), resolved per AS with the precedence of prefix
 * rules: an allow wins, then the strictest action, then the longest expiry.
 */
static int want_cmp(const void *pa, const void *pb)
{
	const struct gfwd_asn_want *a = pa, *b = pb;

	if (a->asn != b->asn)
		return a->asn < b->asn ? -1 : 1;
	if (a->kind != b->kind)	/* allow, block, then none (port-scoped rules only) */
		return (a->kind + 2) % 3 < (b->kind + 2) % 3 ? -1 : 1;
	if (a->action != b->action)
		return a->action < b->action ? -1 : 1;
	if (a->expires != b->expires)	/* never, then the latest */
		return !a->expires ? -1 : !b->expires ? 1 : a->expires > b->expires ? -1 : 1;
	return 0;
}

struct want_set {
	struct gfwd_asn_want *v;
	size_t n, cap;
};

static int want_push(struct want_set *w, __u32 asn, __u8 kind, __u8 action, __u64 expires)
{
	void *p = geofw_grow(w->v, &w->cap, w->n, sizeof(*w->v), 64);

	if (!p)
		return -ENOMEM;
	w->v = p;
	w->v[w->n++] = (struct gfwd_asn_want){ .asn = asn, .kind = kind, .action = action,
					       .expires = expires };
	return 0;
}

static int want_row(const struct geofw_rule *r, void *ctx)
{
	struct want_set *w = ctx;

	return want_push(w, r->asn, r->kind == GEOFW_RULE_ALLOW_ASN ? GEOFW_ASN_ALLOW :
			 GEOFW_ASN_BLOCK, r->kind == GEOFW_RULE_ALLOW_ASN ? 0 : r->action,
			 r->expires);
}

/* An AS named by a port-scoped rule needs a class in the AS tables, so the
 * data plane knows the source's AS: it is wanted with kind NONE (no
 * source-only rule; an AS rule of the AS, sorting first, replaces it). */
static int want_port_rule(const struct geofw_prule *r, void *ctx)
{
	return r->is_asn ? want_push(ctx, r->asn, GEOFW_ASN_NONE, 0, 0) : 0;
}

/* The rules wanted now with conf and the store, one per AS, sorted by AS.
 * 0 or -errno. */
static int asn_wanted_with(const struct geofw_conf *conf, struct geofw_store *store,
			   struct want_set *w)
{
	size_t i, k;
	int ret = 0;

	memset(w, 0, sizeof(*w));
	for (i = 0; !ret && i < (size_t)conf->n_allow_asn; i++)
		ret = want_push(w, conf->allow_asn[i], GEOFW_ASN_ALLOW, 0, 0);
	for (i = 0; !ret && i < (size_t)conf->n_block_asn; i++)
		ret = want_push(w, conf->block_asn[i], GEOFW_ASN_BLOCK,
				(__u8)conf->asn_action, 0);
	if (!ret && store)
		ret = geofw_store_for_each_asn(store, (__u64)time(NULL), want_row, w);
	for (i = 0; !ret && i < (size_t)conf->n_port_rules; i++)
		ret = want_port_rule(&conf->port_rules[i], w);
	if (!ret && store)
		ret = geofw_store_port_for_each(store, want_port_rule, w);
	if (ret) {
		free(w->v);
		memset(w, 0, sizeof(*w));
		return ret;
	}
	if (w->n)
		qsort(w->v, w->n, sizeof(*w->v), want_cmp);
	for (i = 0, k = 0; i < w->n; i++)	/* the first of each AS wins */
		if (!k || w->v[k - 1].asn != w->v[i].asn)
			w->v[k++] = w->v[i];
	w->n = k;
	return 0;
}

static int asn_wanted(const struct gfwd *d, struct want_set *w)
{
	return asn_wanted_with(&d->conf, d->store, w);
}

/* The applied rules without those expired at now (the kernel no longer
 * matches them) equal the wanted ones. */
static bool asn_in_step(const struct gfwd *d, const struct want_set *w, __u64 now)
{
	size_t i, k = 0;

	for (i = 0; i < d->asn.n_applied; i++) {
		const struct gfwd_asn_want *a = &d->asn.applied[i];

		if (a->expires && a->expires <= now)
			continue;
		if (k == w->n || memcmp(a, &w->v[k], sizeof(*a)))
			return false;
		k++;
	}
	return k == w->n;
}

bool gfwd_asn_rules_enforced(const struct gfwd *d, size_t *wanted, char *why, size_t len)
{
	struct want_set w;
	bool ok;

	if (why && len)
		why[0] = '\0';
	if (wanted)
		*wanted = 0;
	if (asn_wanted(d, &w)) {
		if (why)
			snprintf(why, len, "cannot read the AS rules of %s",
				 geofw_store_path(d->store));
		return false;
	}
	if (wanted)
		*wanted = w.n;
	ok = !w.n || (d->conf.asn_db[0] && asn_in_step(d, &w, (__u64)time(NULL)));
	if (!ok && why) {
		if (!d->conf.asn_db[0])
			snprintf(why, len, "no ASNDatabase in %s (%zu AS rule%s stored)",
				 d->conf_path, w.n, w.n == 1 ? "" : "s");
		else
			snprintf(why, len, "%s", d->asn.error[0] ? d->asn.error :
				 "the AS rules are not in the kernel tables yet");
	}
	free(w.v);
	return ok;
}

int gfwd_asn_wanted_count(const struct gfwd *d, size_t *n)
{
	struct want_set w;
	int ret = asn_wanted(d, &w);

	*n = ret ? 0 : w.n;
	free(w.v);
	return ret;
}

void gfwd_asn_counts(const struct gfwd *d, size_t *blocked, size_t *allowed)
{
	size_t i;

	*blocked = *allowed = 0;
	for (i = 0; i < d->asn.n_applied; i++)
		if (d->asn.applied[i].kind != GEOFW_ASN_NONE)
			++*(d->asn.applied[i].kind == GEOFW_ASN_ALLOW ? allowed : blocked);
}

int gfwd_check_asn(const struct gfwd *d, char *err, size_t errlen)
{
	struct geofw_asn_rule rules[2 * GEOFW_CONF_MAX_ASN];
	struct geofw_asn_classes *cl;
	struct geofw_geoip_db db = {};
	size_t n = 0;
	int ret, i;

	err[0] = '\0';
	for (i = 0; i < d->conf.n_allow_asn; i++)
		rules[n++] = (struct geofw_asn_rule){ .asn = d->conf.allow_asn[i],
						      .kind = GEOFW_ASN_ALLOW };
	for (i = 0; i < d->conf.n_block_asn; i++)
		rules[n++] = (struct geofw_asn_rule){ .asn = d->conf.block_asn[i],
						      .kind = GEOFW_ASN_BLOCK,
						      .action = (__u8)d->conf.asn_action };
	for (i = 0; i < d->conf.n_port_rules; i++)
		if (d->conf.port_rules[i].is_asn && !d->conf.asn_db[0]) {
			snprintf(err, errlen, "%s: a port-scoped AS rule (AS%u) is set but "
				 "ASNDatabase = none: it could not be enforced", d->conf_path,
				 d->conf.port_rules[i].asn);
			return -EINVAL;
		}
	if (!n)
		return 0;
	if (!d->conf.asn_db[0]) {
		snprintf(err, errlen, "%s: BlockASN or AllowASN is set but ASNDatabase = none: "
			 "the AS rules could not be enforced", d->conf_path);
		return -EINVAL;
	}
	cl = malloc(sizeof(*cl));
	if (!cl)
		return -ENOMEM;
	ret = geofw_asn_classes_make(rules, n, cl);
	if (!ret)
		ret = geofw_asn_db_load(d->conf.asn_db, cl, &db);
	if (ret)
		snprintf(err, errlen, "%s: the AS rules could not be enforced: %s", d->conf_path,
			 geofw_log_last_error()[0] ? geofw_log_last_error() : strerror(-ret));
	geofw_geoip_free(&db);
	free(cl);
	return ret;
}

void gfwd_asn_plan_free(struct gfwd_asn_plan *p)
{
	geofw_asn_plan_free(&p->tables);
	free(p->want);
	memset(p, 0, sizeof(*p));
}

/* The plan for the rules of w (taken over by p, freed on error). */
static int asn_plan_of(const struct geofw_conf *conf, struct want_set *w,
		       struct gfwd_asn_plan *p, char *err, size_t errlen)
{
	struct geofw_asn_rule *rules;
	struct geofw_clock clk;
	size_t i;
	int ret;

	memset(p, 0, sizeof(*p));
	p->want = w->v;
	p->n_want = w->n;
	w->v = NULL;
	/* A class id is one byte (the flat IPv4 table's entry). */
	if (p->n_want > GEOFW_ASN_CLASS_MAX_ID) {
		ret = geofw_errf(err, errlen, -E2BIG, "AS rules: at most %u ASes can have rules "
				 "(geofw.conf and fwctl together; an AS class id is one byte), "
				 "this would make %zu: nothing changed", GEOFW_ASN_CLASS_MAX_ID,
				 p->n_want);
		goto fail;
	}
	if (p->n_want && !conf->asn_db[0]) {
		/* Kept in the store, enforced once ASNDatabase is set;
		 * gfwd_asn_rules_enforced() says so meanwhile. */
		p->keep = true;
		return 0;
	}
	rules = calloc(p->n_want ? p->n_want : 1, sizeof(*rules));
	if (!rules) {
		ret = geofw_errf(err, errlen, -ENOMEM, "out of memory");
		goto fail;
	}
	geofw_clock_now(&clk);
	for (i = 0; i < p->n_want; i++)
		rules[i] = (struct geofw_asn_rule){
			.asn = p->want[i].asn, .kind = p->want[i].kind, .action = p->want[i].action,
			.expires_ns = geofw_expiry_to_boot_ns(p->want[i].expires, &clk) };
	ret = geofw_asn_prepare(p->n_want ? conf->asn_db : NULL, rules, p->n_want, &p->tables);
	free(rules);
	if (ret) {
		snprintf(err, errlen, "%s", geofw_log_last_error()[0] ? geofw_log_last_error() :
			 strerror(-ret));
		goto fail;
	}
	snprintf(p->path, sizeof(p->path), "%s", p->n_want ? conf->asn_db : "");
	return 0;
fail:
	gfwd_asn_plan_free(p);
	return ret;
}

bool gfwd_asn_conf_changed(const struct gfwd *d, const struct geofw_conf *conf)
{
	struct want_set now = {}, next = {};
	bool changed;

	if (strcmp(conf->asn_db, d->conf.asn_db))
		return true;
	/* The same store on both sides: what differs is the config's. */
	changed = asn_wanted_with(&d->conf, d->store, &now) ||
		  asn_wanted_with(conf, d->store, &next) || now.n != next.n ||
		  (now.n && memcmp(now.v, next.v, now.n * sizeof(*now.v)));
	free(now.v);
	free(next.v);
	return changed;
}

int gfwd_asn_plan(const struct gfwd *d, const struct geofw_conf *conf,
		  struct gfwd_asn_plan *p, char *err, size_t errlen)
{
	struct want_set w;
	int ret;

	memset(p, 0, sizeof(*p));
	err[0] = '\0';
	/* AS rules in geofw.conf without a database: the config is wrong
	 * (--check-config says so too); runtime ones only are kept and
	 * reported as not enforced. */
	if ((conf->n_block_asn || conf->n_allow_asn) && !conf->asn_db[0])
		return geofw_errf(err, errlen, -EINVAL, "BlockASN or AllowASN is set but "
				  "ASNDatabase = none in %s", d->conf_path);
	if ((ret = asn_wanted_with(conf, d->store, &w)))
		return geofw_errf(err, errlen, ret, "%s: cannot read the AS rules: %s",
				  geofw_store_path(d->store), strerror(-ret));
	return asn_plan_of(conf, &w, p, err, errlen);
}

static int asn_commit(struct gfwd *d, struct gfwd_asn_plan *p, const char *why,
		      char *err, size_t errlen)
{
	struct geofw_asn_report rep;
	bool had = d->asn.n_applied > 0;
	int ret;

	err[0] = '\0';
	if (p->keep) {
		log_warn("asn (%s): %zu AS rule%s but ASNDatabase = none in %s: NOT enforced",
			 why, p->n_want, p->n_want == 1 ? "" : "s", d->conf_path);
		gfwd_asn_plan_free(p);
		return 0;
	}
	ret = geofw_asn_commit(&d->fw.maps, bpf_object__btf(d->fw.xdp_obj), &p->tables, &rep);
	if (ret) {
		snprintf(err, errlen, "%s", geofw_log_last_error()[0] ? geofw_log_last_error() :
			 strerror(-ret));
		gfwd_asn_plan_free(p);
		return ret;
	}
	free(d->asn.applied);
	d->asn.applied = p->want;
	d->asn.n_applied = p->n_want;
	p->want = NULL;
	d->asn.loaded = d->asn.n_applied > 0;
	snprintf(d->asn.path, sizeof(d->asn.path), "%s", p->path);
	d->asn.ases = rep.ases;
	d->asn.n_v4 = rep.n_v4;
	d->asn.n_v6 = rep.n_v6;
	d->asn.loaded_at = time(NULL);
	d->asn.load_seconds = rep.load_ms / 1e3;
	if (d->asn.n_applied)
		log_info("asn (%s): %s: %zu ASes with rules, %zu IPv4 + %zu IPv6 prefixes, %.2f s",
			 why, d->asn.path, rep.ases, rep.n_v4, rep.n_v6, d->asn.load_seconds);
	else if (had)
		log_info("asn (%s): no AS rule left, ASN tables removed", why);
	gfwd_asn_plan_free(p);
	return 0;
}

int gfwd_asn_sync(struct gfwd *d, bool force, const char *why, char *err, size_t errlen)
{
	struct gfwd_asn_plan p;
	struct want_set w;
	int ret;

	err[0] = '\0';
	if ((ret = asn_wanted(d, &w)))
		return geofw_errf(err, errlen, ret, "%s: cannot read the AS rules: %s",
				  geofw_store_path(d->store), strerror(-ret));
	if (!force && w.n <= GEOFW_ASN_CLASS_MAX_ID && asn_in_step(d, &w, (__u64)time(NULL)) &&
	    d->asn.n_applied == w.n) {
		free(w.v);
		return 0;	/* nothing to rebuild */
	}
	if ((ret = asn_plan_of(&d->conf, &w, &p, err, errlen)))
		return ret;
	return asn_commit(d, &p, why, err, errlen);
}

void gfwd_asn_rebuild(struct gfwd *d, const char *why)
{
	char err[sizeof(d->asn.error) - 64];
	int ret = gfwd_asn_sync(d, false, why, err, sizeof(err));

	if (!ret)
		return;
	snprintf(d->asn.error, sizeof(d->asn.error), "rebuild after %s: %s", why, err);
	log_err(ret, "asn (%s): %s (retried in a minute)", why, err);
	timerfd_settime(d->timerfd, 0, &(struct itimerspec){ .it_value.tv_sec = 60 }, NULL);
}

struct ruled_ctx {
	struct want_set w;
	const char *except;
	__u64 now;
};

static int ruled_row(const struct geofw_rule *r, void *ctx)
{
	struct ruled_ctx *c = ctx;

	if ((c->except && !strcmp(r->source, c->except)) || (r->expires && r->expires <= c->now))
		return 0;
	return want_push(&c->w, r->asn, 0, 0, 0);
}

int gfwd_asn_ruled(struct gfwd *d, const char *except_source, __u32 **asns, size_t *n)
{
	struct ruled_ctx c = { .except = except_source, .now = (__u64)time(NULL) };
	__u32 *v;
	size_t i, k;
	int ret = 0;

	*asns = NULL;
	*n = 0;
	for (i = 0; !ret && i < (size_t)d->conf.n_allow_asn; i++)
		ret = want_push(&c.w, d->conf.allow_asn[i], 0, 0, 0);
	for (i = 0; !ret && i < (size_t)d->conf.n_block_asn; i++)
		ret = want_push(&c.w, d->conf.block_asn[i], 0, 0, 0);
	if (!ret)
		ret = geofw_store_for_each_rule(d->store, GEOFW_RULE_BLOCK_ASN, NULL, ruled_row, &c);
	if (!ret)
		ret = geofw_store_for_each_rule(d->store, GEOFW_RULE_ALLOW_ASN, NULL, ruled_row, &c);
	if (!ret && !(v = malloc((c.w.n ? c.w.n : 1) * sizeof(*v))))
		ret = -ENOMEM;
	if (ret) {
		free(c.w.v);
		return ret;
	}
	if (c.w.n)
		qsort(c.w.v, c.w.n, sizeof(*c.w.v), want_cmp);
	for (i = 0, k = 0; i < c.w.n; i++)
		if (!k || v[k - 1] != c.w.v[i].asn)
			v[k++] = c.w.v[i].asn;
	free(c.w.v);
	*asns = v;
	*n = k;
	return 0;
}

/* A load that failed: said in status and the log; the tables in force stay. */
int gfwd_asn_failed(struct gfwd *d, int ret, const char *why, const char *err)
{
	snprintf(d->asn.error, sizeof(d->asn.error), "load failed: %s; %s", err,
		 d->asn.loaded ? "the previous ASN tables stay in force" : "no AS rule in force");
	d->asn.loads_failed++;
	log_err(ret, "asn (%s): %s", why, d->asn.error);
	return ret;
}

int gfwd_asn_loaded(struct gfwd *d, struct gfwd_asn_plan *p, const char *why)
{
	char err[sizeof(d->asn.error) - 64];
	int ret = asn_commit(d, p, why, err, sizeof(err));

	if (ret)
		return gfwd_asn_failed(d, ret, why, err);
	d->asn.error[0] = '\0';
	d->asn.loads_ok++;
	return 0;
}

int gfwd_load_asn(struct gfwd *d, const char *why)
{
	char err[sizeof(d->asn.error) - 64];
	struct gfwd_asn_plan p;
	int ret = gfwd_asn_plan(d, &d->conf, &p, err, sizeof(err));

	if (ret)
		return gfwd_asn_failed(d, ret, why, err);
	return gfwd_asn_loaded(d, &p, why);
}
