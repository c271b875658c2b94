// SPDX-License-Identifier: GPL-2.0-only
/*
 * Desired state → kernel.  The config file and the rule store are the truth;
 * these functions make the maps say the same, idempotently, so they serve
 * the start (adopting pins from a previous run), reloads and commands alike.
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

#include "countries.h"
#include "feeds.h"
#include "fleet.h"
#include "fleetval.h"
#include "geofwd.h"
#include "grow.h"
#include "msg.h"
#include "ports.h"
#include "ratelimit.h"

#include "asntable.h"
#include "geotable.h"
#include "grow.h"
#include "kdiff.h"
#include "log.h"
#include "msg.h"
#include "responder.h"

void gfwd_countries_in_force(const struct gfwd *d, struct geofw_store_countries *out)
{
	const struct geofw_store_countries *sc = geofw_store_countries(d->store);
	const struct geofw_store_countries *fleet = gfwd_fleet_countries(d);
	struct geofw_store_countries local;
	int i;

	if (sc->override) {
		local = *sc;
	} else {
		memset(&local, 0, sizeof(local));
		local.mode = (__u8)d->conf.country_mode;
		local.action = (__u8)d->conf.country_action;
		for (i = 0; i < d->conf.n_countries; i++)
			local.listed[d->conf.countries[i]] = true;
	}
	if (fleet)
		geofw_fleet_countries_combine(&local, fleet, out);
	else
		*out = local;
}

int gfwd_apply_kernel_config(struct gfwd *d)
{
	struct geofw_store_countries sc;
	struct geofw_config cfg;
	int err;

	/* Only the fields geofwd's policy owns: the geo slot and generation
	 * belong to the tables, rules_present to the rule writer. */
	memset(&cfg, 0, sizeof(cfg));
	geofw_conf_to_kernel(&d->conf, &cfg);
	gfwd_countries_in_force(d, &sc);
	cfg.country_mode = sc.mode;
	cfg.country_block_action = sc.action;
	if ((err = geofw_config_set_policy(&d->fw.maps, &cfg)) ||
	    (err = geofw_config_set_responder(&d->fw.maps, d->responder_ok)))
		return log_err(err, "config map: cannot write: %s", strerror(-err));
	/* Drop-log samples only while geofwd reads them (a running `fwctl
	 * log` puts its own rate back). */
	gfwd_droplog_rate_sync(d);
	return 0;
}

/* Listed countries and their actions: the policy in force (this host's,
 * combined with the fleet's), then the countries sources block laid over it. */
int gfwd_apply_countries(struct gfwd *d)
{
	struct geofw_store_countries sc;
	bool allow_mode;
	struct geofw_meta meta;
	__u32 id;
	int err;

	gfwd_countries_in_force(d, &sc);
	allow_mode = sc.mode == GEOFW_MODE_ALLOW_LISTED;
	geofw_store_country_blocks(d->store, (__u64)time(NULL), d->country_blocks);
	for (id = 0; id < GEOFW_MAX_COUNTRIES; id++) {
		struct geofw_country pol = {};
		__u8 cb = d->country_blocks[id];

		pol.listed = sc.listed[id];
		pol.action = sc.country_action[id] ? sc.country_action[id] : sc.action;
		/* A country a source blocks (CrowdSec) is blocked whatever the
		 * policy: listed with the stricter action in block mode; in
		 * allow mode taken off the list (the mode's action applies). */
		if (cb && allow_mode) {
			pol.listed = 0;
		} else if (cb) {
			pol.action = pol.listed && pol.action < cb ? pol.action : cb;
			pol.listed = 1;
		}
		if ((err = geofw_country_put(&d->fw.maps, id, &pol)))
			return log_err(err, "country map: cannot write: %s", strerror(-err));
	}
	/* The meta record says which policy the pins hold (DESIGN: no silent
	 * allow/deny flip on adoption). */
	if (!geofw_meta_read(&d->fw.maps, &meta)) {
		meta.country_mode = sc.mode;
		geofw_meta_write(&d->fw.maps, &meta);
	}
	return 0;
}

void gfwd_country_blocks_sync(struct gfwd *d)
{
	__u8 now[GEOFW_MAX_COUNTRIES];

	geofw_store_country_blocks(d->store, (__u64)time(NULL), now);
	if (memcmp(now, d->country_blocks, sizeof(now)))
		gfwd_apply_countries(d);
}

/* ---- port-scoped rules ------------------------------------------------------ */

struct prule_vec {
	struct geofw_prule *v;
	size_t n, cap;
};

static int prule_push(const struct geofw_prule *r, void *ctx)
{
	struct prule_vec *pv = ctx;
	struct geofw_prule *p = geofw_grow(pv->v, &pv->cap, pv->n, sizeof(*p), 64);

	if (!p)
		return -ENOMEM;
	pv->v = p;
	p[pv->n] = *r;
	p[pv->n].comment = p[pv->n].source = NULL;	/* only valid during the walk */
	pv->n++;
	return 0;
}

struct rl_collect {
	struct gfwd *d;
	char *msg;
	size_t msglen;
};

static int rl_push(const char *name, const char *spec, void *ctx)
{
	struct rl_collect *c = ctx;
	struct gfwd *d = c->d;
	int i;

	for (i = 0; i < d->n_rl; i++)
		if (!strcmp(d->rl[i].name, name)) {
			log_warn("rate limit %s of rules.db: geofw.conf has one of this name, "
				 "which is in force", name);
			return 0;
		}
	if (d->n_rl == GEOFW_MAX_RATELIMITS)
		return geofw_errf(c->msg, c->msglen, -E2BIG, "more than %d rate limits",
				  GEOFW_MAX_RATELIMITS);
	if (geofw_ratelimit_parse(spec, &d->rl[d->n_rl], c->msg, c->msglen)) {
		log_warn("rate limit %s of rules.db: %s; ignored", name, c->msg);
		c->msg[0] = '\0';
		return 0;
	}
	d->rl_from_store[d->n_rl++] = true;
	return 0;
}

/* The config's rate limits, then those of the store (index = kernel index). */
static int collect_ratelimits(struct gfwd *d, char *msg, size_t msglen)
{
	struct rl_collect c = { d, msg, msglen };
	int i;

	for (i = 0; i < d->conf.n_ratelimits; i++) {
		d->rl[i] = d->conf.ratelimits[i];
		d->rl_from_store[i] = false;
	}
	d->n_rl = d->conf.n_ratelimits;
	return geofw_store_rl_for_each(d->store, rl_push, &c);
}

int gfwd_apply_ports(struct gfwd *d, char *err, size_t errlen)
{
	struct prule_vec pv = {};
	struct geofw_ports_image img;
	char msg[GEOFW_ERRLEN] = "";
	int i, ret = 0;

	for (i = 0; i < d->conf.n_port_rules && !ret; i++)
		ret = prule_push(&d->conf.port_rules[i], &pv);
	if (!ret)
		ret = geofw_store_port_for_each(d->store, prule_push, &pv);
	if (!ret)
		ret = collect_ratelimits(d, msg, sizeof(msg));
	else
		snprintf(msg, sizeof(msg), "port rules: reading: %s", strerror(-ret));
	if (!ret && !(ret = geofw_ports_build(pv.v, pv.n, &img, msg, sizeof(msg)))) {
		ret = geofw_ports_add_ratelimits(&img, d->rl, (size_t)d->n_rl,
						 (__u8)d->conf.rl_v6_prefix, msg, sizeof(msg));
		if (!ret)
			ret = geofw_ports_install(&d->fw.maps, &img, msg, sizeof(msg));
		geofw_ports_image_free(&img);
	}
	free(pv.v);
	if (ret) {
		log_err(ret, "%s", msg);
		if (err && errlen)
			snprintf(err, errlen, "%s", msg);
	}
	return ret;
}

/* ---- rate limit bans ------------------------------------------------------------ */

/* A ban request: the source (its key prefix) blocked for the limit's ban
 * time, a rule of source "ratelimit", through the store like any rule. */
static int rl_event(void *ctx, void *data, size_t len)
{
	struct gfwd *d = ctx;
	const struct geofw_rl_event *ev = data;
	const struct geofw_ratelimit *rl;
	struct geofw_kdiff diff = {};
	struct geofw_rule r = {};
	char err[GEOFW_ERRLEN], comment[64], pfx[GEOFW_CIDR_STRLEN];
	int ret;

	if (len < sizeof(*ev) || ev->rule >= d->n_rl || !d->rl[ev->rule].ban)
		return 0;
	rl = &d->rl[ev->rule];
	r.kind = GEOFW_RULE_BLOCK;
	r.prefix.family = ev->family;
	r.prefix.prefixlen = ev->prefixlen;
	memcpy(r.prefix.addr, ev->addr, 16);
	geofw_cidr_mask(&r.prefix);
	r.action = GEOFW_ACT_DROP;
	r.expires = (__u64)time(NULL) + rl->ban_secs;
	snprintf(comment, sizeof(comment), "rate limit %s", rl->name);
	r.comment = comment;
	r.source = "ratelimit";
	r.uid = 0;
	r.pid = (__s32)getpid();
	geofw_cidr_format(&r.prefix, pfx, sizeof(pfx));
	ret = geofw_store_begin(d->store, err, sizeof(err));
	if (!ret)
		ret = geofw_store_add(d->store, &r, 1, 0, &diff, err, sizeof(err));
	if (!ret)
		ret = gfwd_rules_apply(d, &diff, err, sizeof(err));
	if (!ret)
		ret = geofw_store_commit(d->store, err, sizeof(err));
	if (ret) {
		geofw_store_rollback(d->store);
		gfwd_rules_restore(d, &diff);
		log_err(ret, "rate limit %s: cannot ban %s: %s (its packets over the limit "
			"are still dropped)", rl->name, pfx, err);
	} else {
		d->rl_bans++;
		log_info("rate limit %s: %s banned for %llus", rl->name, pfx,
			 (unsigned long long)rl->ban_secs);
		gfwd_arm_sweep(d);
	}
	geofw_kdiff_free(&diff);
	return 0;
}

int gfwd_rl_open(struct gfwd *d)
{
	d->rl_rb = ring_buffer__new(d->fw.maps.rl_events, rl_event, d, NULL);
	if (!d->rl_rb) {
		d->rl_rb_fd = -1;
		return log_err(-errno, "rate limits: cannot read ban requests: %s (over the "
			       "limit is still dropped, nobody is banned)", strerror(errno));
	}
	d->rl_rb_fd = ring_buffer__epoll_fd(d->rl_rb);
	/* Requests made while geofwd was stopped. */
	ring_buffer__consume(d->rl_rb);
	return 0;
}

void gfwd_rl_read(struct gfwd *d)
{
	if (d->rl_rb)
		ring_buffer__consume(d->rl_rb);
}

void gfwd_rl_close(struct gfwd *d)
{
	if (d->rl_rb)
		ring_buffer__free(d->rl_rb);
	d->rl_rb = NULL;
	d->rl_rb_fd = -1;
}

/* NAT64Prefix → gfw_nat64[0] (one value: packets see the old set or the new). */
int gfwd_apply_nat64(struct gfwd *d)
{
	struct geofw_nat64 t = {};
	__u32 zero = 0;
	int i;

	for (i = 0; i < d->conf.n_nat64 && i < GEOFW_MAX_NAT64; i++)
		t.prefix[i] = d->conf.nat64[i];
	t.count = (__u32)i;
	if (bpf_map_update_elem(d->fw.maps.nat64, &zero, &t, BPF_ANY)) {
		int err = -errno;

		return log_err(err, "%s: cannot write: %s", GEOFW_MAP_NAT64, strerror(-err));
	}
	return 0;
}

struct geofw_pages *gfwd_pages_build(const struct gfwd *d, const struct geofw_conf *conf,
				     char *err, size_t errlen)
{
	struct geofw_pages *p = malloc(sizeof(*p));
	char warn[GEOFW_ERRLEN];

	if (!p) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (geofw_pages_from_conf(conf, d->conf_path, p, warn, sizeof(warn), err, errlen)) {
		free(p);
		return NULL;
	}
	if (warn[0])
		log_warn("403 page: %s; using the built-in page", warn);
	return p;
}

void gfwd_responder_clock(struct gfwd *d, bool force)
{
	struct timespec rt, bt;
	char err[GEOFW_ERRLEN];
	const struct geofw_refkey *k;
	bool changed = false;
	time_t now = time(NULL);
	__u32 zero = 0;

	if (!d->fw.tc || (!force && now - d->resp_clock_at < 60))
		return;
	d->resp_clock_at = now;
	/* Nanoseconds, or a code's minute could jump at a second boundary. */
	clock_gettime(CLOCK_REALTIME, &rt);
	clock_gettime(CLOCK_BOOTTIME, &bt);
	d->resp.pages.utc_offset_ns = ((__s64)rt.tv_sec - (__s64)bt.tv_sec) * 1000000000ll +
				      ((__s64)rt.tv_nsec - (__s64)bt.tv_nsec);
	if (geofw_store_read_only(d->store)) {
		/* Keys cannot be kept: codes would not survive a restart. */
	} else if (geofw_refkeys_rotate(d->conf.state_dir, &d->refkeys, (__u64)now,
					d->conf.http403_ref_retention, &changed, err, sizeof(err))) {
		log_warn("403 page: reference-code key: %s", err);
	} else if (changed) {
		log_info("403 page: reference-code key %s (kept %llu days after its successor)",
			 d->refkeys.n > 1 ? "rotated" : "created",
			 (unsigned long long)(d->conf.http403_ref_retention / 86400));
	}
	k = geofw_refkeys_current(&d->refkeys);
	if (k) {
		d->resp.pages.ref_key[0] = k->k[0];
		d->resp.pages.ref_key[1] = k->k[1];
	}
	if (bpf_map_update_elem(d->fw.maps.responder, &zero, &d->resp, BPF_ANY))
		log_warn("%s: cannot write: %s", GEOFW_MAP_RESPONDER, strerror(errno));
}

int gfwd_apply_responder(struct gfwd *d, const struct geofw_pages *pages)
{
	struct geofw_pages *own = NULL;
	char err[GEOFW_ERRLEN];
	int ret;

	if (!d->fw.tc)
		return 0;
	if (!pages) {
		own = gfwd_pages_build(d, &d->conf, err, sizeof(err));
		if (!own)
			return log_err(-EINVAL, "403 page: %s", err);
		pages = own;
	}
	/* Adopted pins: carry on from their page slot and generations, so
	 * flows in progress keep their pages across a restart's first write. */
	if (!d->resp.pages.ready)
		geofw_responder_read(d->fw.maps.responder, &d->resp);
	ret = geofw_responder_value(&d->resp, d->conf.http_ports, (size_t)d->conf.n_http_ports,
				    err, sizeof(err));
	if (ret) {
		log_err(ret, "403 page: %s", err);
		goto out;
	}
	if (!d->refkeys.n && (ret = geofw_refkeys_load(d->conf.state_dir, &d->refkeys, err,
						       sizeof(err))))
		log_warn("403 page: %s (new reference-code keys are drawn)", err);
	gfwd_responder_clock(d, true);
	ret = geofw_pages_write(d->fw.maps.responder, d->fw.maps.resp_pages,
				d->fw.maps.resp_select, &d->resp, pages);
	if (ret)
		log_err(ret, "403 pages: cannot write: %s", strerror(-ret));
out:
	free(own);
	return ret;
}

/* ---- rules ----------------------------------------------------------------- */

int gfwd_rules_apply(struct gfwd *d, const struct geofw_kdiff *diff, char *err, size_t errlen)
{
	return geofw_kdiff_apply(&d->fw.maps, diff, err, errlen);
}

void gfwd_rules_restore(struct gfwd *d, struct geofw_kdiff *diff)
{
	char err[GEOFW_ERRLEN];
	int ret;

	if ((ret = geofw_store_resolve(d->store, diff)) ||
	    (ret = geofw_kdiff_apply(&d->fw.maps, diff, err, sizeof(err))))
		log_err(ret, "rules: cannot put the maps back after a failed change (%s); "
			"geofwd reconciles them with %s at its next start",
			ret == -EIO || ret == -EUCLEAN ? strerror(-ret) : err,
			geofw_store_path(d->store));
}

int gfwd_commit_or_undo(struct gfwd *d, struct geofw_kdiff *diff, int err, char *msg,
			size_t len)
{
	if (!err)
		err = gfwd_rules_apply(d, diff, msg, len);
	if (!err)
		err = geofw_store_commit(d->store, msg, len);
	if (err) {
		geofw_store_rollback(d->store);
		gfwd_rules_restore(d, diff);
	}
	return err;
}

/* Start: the pinned maps may hold the rules of an earlier run; change only
 * what differs, so enforcement never pauses. */
int gfwd_sync_rules(struct gfwd *d)
{
	struct geofw_reconcile_stats rs;
	char err[GEOFW_ERRLEN];
	int ret;

	ret = geofw_kdiff_reconcile(&d->fw.maps, d->store, &rs, err, sizeof(err));
	if (ret)
		return log_err(ret, "rules: %s", err);
	log_info("rules in force: %zu (%zu written, %zu stale removed, %.2f s)", rs.entries,
		 rs.put, rs.deleted, rs.seconds);
	malloc_trim(0);	/* the dump of the maps was as big as the rules */
	return 0;
}

/* ---- TTL sweep ------------------------------------------------------------- */

void gfwd_arm_sweep(struct gfwd *d)
{
	__u64 next = geofw_store_next_expiry(d->store);
	struct itimerspec its = {};

	/*
	 * At the expiry itself (d->timerfd is CLOCK_REALTIME, the clock of
	 * the stored expiries): the kernel stops matching at expiry by
	 * itself, but another rule of the same AS takes over only once the
	 * sweep has rebuilt the AS tables, so the sweep is not rounded to a
	 * second after it.  A time already past fires at once.
	 */
	if (next)
		its.it_value.tv_sec = (time_t)next;
	timerfd_settime(d->timerfd, next ? TFD_TIMER_ABSTIME : 0, &its, NULL);
}

void gfwd_sweep(struct gfwd *d)
{
	struct geofw_kdiff diff = {};
	char err[GEOFW_ERRLEN];
	long n = 0, np = 0;
	int ret;

	/* Another rule of the prefix may take over (precedence): the diff
	 * says what the maps hold once the expired rows are gone. */
	ret = geofw_store_begin(d->store, err, sizeof(err));
	if (!ret && (n = geofw_store_sweep(d->store, (__u64)time(NULL), &diff, err,
					   sizeof(err))) < 0)
		ret = (int)n;
	if (!ret)
		ret = gfwd_rules_apply(d, &diff, err, sizeof(err));
	if (!ret && (np = geofw_store_port_sweep(d->store, (__u64)time(NULL), err,
						 sizeof(err))) < 0)
		ret = (int)np;
	if (!ret && np)
		ret = gfwd_apply_ports(d, err, sizeof(err));
	if (!ret)
		ret = geofw_store_commit(d->store, err, sizeof(err));
	if (ret) {
		if (np > 0)
			gfwd_apply_ports(d, NULL, 0);
		/* The kernel stops matching expired entries by itself; the
		 * rows are removed at the next sweep. */
		log_err(ret, "sweep: %s (retried in a minute)", err);
		geofw_store_rollback(d->store);
		gfwd_rules_restore(d, &diff);
		timerfd_settime(d->timerfd, 0, &(struct itimerspec){ .it_value.tv_sec = 60 }, NULL);
	} else {
		if (n + np)
			log_info("%ld expired rule(s) removed", n + np);
		gfwd_country_blocks_sync(d);
		gfwd_arm_sweep(d);
		/*
		 * Expired AS rows are gone: the kernel stopped matching their
		 * classes at expiry already, the rebuild lets another source's
		 * rule of the AS take over (docs/design-notes.md: lateness).
		 */
		gfwd_asn_rebuild(d, "expiry");
	}
	geofw_kdiff_free(&diff);
}

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

int gfwd_load_geoip(struct gfwd *d, const char *why)
{
	struct geofw_geo_image img = {};
	struct gfwd_db_info *info;
	struct timespec t0, t1;
	int err;

	if (!d->conf.geoip_enabled) {
		d->db.loaded = false;
		return geofw_geo_clear(&d->fw.maps);
	}
	info = calloc(1, sizeof(*info));
	if (!info)
		return log_err(-ENOMEM, "geoip: out of memory");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	err = load_geo_image(&d->conf, &img, info);
	if (!err && (err = geofw_geo_install(&d->fw.maps, bpf_object__btf(d->fw.xdp_obj), &img)) == 0)
		info->kernel_bytes = geofw_geo_image_kernel_bytes(&img);
	/* Built or not, installed or not: the image is freed here. */
	geofw_geo_image_free(&img);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (err) {
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
		free(info);
		return err;
	}
	info->loaded = true;
	info->loaded_at = time(NULL);
	info->load_seconds = (double)(t1.tv_sec - t0.tv_sec) +
			     (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	d->db = *info;
	free(info);
	d->db_loads_ok++;
	log_info("geoip (%s): %s (%s, oldest built %llu): %zu IPv4 + %zu IPv6 prefixes, "
		 "%zu countries, %.2f s, %.1f MB kernel tables", why, d->db.path,
		 d->db.database_type, (unsigned long long)d->db.build_epoch, d->db.n_v4,
		 d->db.n_v6, d->db.countries, d->db.load_seconds, (double)d->db.kernel_bytes / 1e6);
	return 0;
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
	if (a->kind != b->kind)
		return a->kind == GEOFW_ASN_ALLOW ? -1 : 1;
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

/* The rules wanted now, one per AS, sorted by AS.  0 or -errno. */
static int asn_wanted(const struct gfwd *d, struct want_set *w)
{
	size_t i, k;
	int ret = 0;

	memset(w, 0, sizeof(*w));
	for (i = 0; !ret && i < (size_t)d->conf.n_allow_asn; i++)
		ret = want_push(w, d->conf.allow_asn[i], GEOFW_ASN_ALLOW, 0, 0);
	for (i = 0; !ret && i < (size_t)d->conf.n_block_asn; i++)
		ret = want_push(w, d->conf.block_asn[i], GEOFW_ASN_BLOCK,
				(__u8)d->conf.asn_action, 0);
	if (!ret && d->store)
		ret = geofw_store_for_each_asn(d->store, (__u64)time(NULL), want_row, w);
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

int gfwd_asn_sync(struct gfwd *d, bool force, const char *why, char *err, size_t errlen)
{
	struct geofw_asn_rule *rules = NULL;
	struct geofw_asn_report rep;
	struct geofw_clock clk;
	struct want_set w;
	bool had;
	size_t i;
	int ret;

	err[0] = '\0';
	if ((ret = asn_wanted(d, &w)))
		return geofw_errf(err, errlen, ret, "%s: cannot read the AS rules: %s",
				  geofw_store_path(d->store), strerror(-ret));
	/* A class id is one byte (the flat IPv4 table's entry). */
	if (w.n > GEOFW_ASN_CLASS_MAX_ID) {
		ret = geofw_errf(err, errlen, -E2BIG, "AS rules: at most %u ASes can have rules "
				 "(geofw.conf and fwctl together; an AS class id is one byte), "
				 "this would make %zu: nothing changed", GEOFW_ASN_CLASS_MAX_ID, w.n);
		goto out;
	}
	if (!force && asn_in_step(d, &w, (__u64)time(NULL)) &&
	    d->asn.n_applied == w.n)
		goto out;	/* nothing to rebuild */
	if (w.n && !d->conf.asn_db[0]) {
		/* Kept in the store, enforced once ASNDatabase is set;
		 * gfwd_asn_rules_enforced() says so meanwhile. */
		log_warn("asn (%s): %zu AS rule%s but ASNDatabase = none in %s: NOT enforced",
			 why, w.n, w.n == 1 ? "" : "s", d->conf_path);
		goto out;
	}
	rules = calloc(w.n ? w.n : 1, sizeof(*rules));
	if (!rules) {
		ret = -ENOMEM;
		goto out;
	}
	geofw_clock_now(&clk);
	for (i = 0; i < w.n; i++)
		rules[i] = (struct geofw_asn_rule){ .asn = w.v[i].asn, .kind = w.v[i].kind,
						    .action = w.v[i].action,
						    .expires_ns = geofw_expiry_to_boot_ns(w.v[i].expires,
											  &clk) };
	ret = geofw_asn_apply(&d->fw.maps, bpf_object__btf(d->fw.xdp_obj),
			      w.n ? d->conf.asn_db : NULL, rules, w.n, &rep);
	if (ret) {
		snprintf(err, errlen, "%s", geofw_log_last_error()[0] ? geofw_log_last_error() :
			 strerror(-ret));
		goto out;
	}
	had = d->asn.n_applied > 0;
	free(d->asn.applied);
	d->asn.applied = w.v;
	d->asn.n_applied = w.n;
	w.v = NULL;
	d->asn.loaded = w.n > 0;
	snprintf(d->asn.path, sizeof(d->asn.path), "%s", w.n ? d->conf.asn_db : "");
	d->asn.ases = rep.ases;
	d->asn.n_v4 = rep.n_v4;
	d->asn.n_v6 = rep.n_v6;
	d->asn.loaded_at = time(NULL);
	d->asn.load_seconds = rep.load_ms / 1e3;
	if (w.n)
		log_info("asn (%s): %s: %zu ASes with rules, %zu IPv4 + %zu IPv6 prefixes, %.2f s",
			 why, d->asn.path, rep.ases, rep.n_v4, rep.n_v6, d->asn.load_seconds);
	else if (had)
		log_info("asn (%s): no AS rule left, ASN tables removed", why);
out:
	free(rules);
	free(w.v);
	return ret;
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

int gfwd_load_asn(struct gfwd *d, const char *why)
{
	char err[sizeof(d->asn.error) - 64];
	int ret;

	/* AS rules in geofw.conf without a database: the config is wrong
	 * (--check-config says so too); runtime ones only are kept and
	 * reported as not enforced. */
	if ((d->conf.n_block_asn || d->conf.n_allow_asn) && !d->conf.asn_db[0]) {
		snprintf(d->asn.error, sizeof(d->asn.error),
			 "BlockASN or AllowASN is set but ASNDatabase = none in %s", d->conf_path);
		d->asn.loads_failed++;
		return log_err(-EINVAL, "asn (%s): %s; %s", why, d->asn.error,
			       d->asn.loaded ? "the AS rules in force stay" : "no AS rule in force");
	}
	ret = gfwd_asn_sync(d, true, why, err, sizeof(err));
	if (ret) {
		snprintf(d->asn.error, sizeof(d->asn.error), "load failed: %s; %s", err,
			 d->asn.loaded ? "the previous ASN tables stay in force" :
					 "no AS rule in force");
		d->asn.loads_failed++;
		log_err(ret, "asn (%s): %s", why, d->asn.error);
		return ret;
	}
	d->asn.error[0] = '\0';
	d->asn.loads_ok++;
	return 0;
}
