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
	struct gfwd_ports_plan *p;
	char *msg;
	size_t msglen;
};

static int rl_push(const char *name, const char *spec, void *ctx)
{
	struct rl_collect *c = ctx;
	struct gfwd_ports_plan *p = c->p;
	int i;

	for (i = 0; i < p->n_rl; i++)
		if (!strcmp(p->rl[i].name, name)) {
			log_warn("rate limit %s of rules.db: geofw.conf has one of this name, "
				 "which is in force", name);
			return 0;
		}
	if (p->n_rl == GEOFW_MAX_RATELIMITS)
		return geofw_errf(c->msg, c->msglen, -E2BIG, "more than %d rate limits",
				  GEOFW_MAX_RATELIMITS);
	if (geofw_ratelimit_parse(spec, &p->rl[p->n_rl], c->msg, c->msglen)) {
		log_warn("rate limit %s of rules.db: %s; ignored", name, c->msg);
		c->msg[0] = '\0';
		return 0;
	}
	p->rl_from_store[p->n_rl++] = true;
	return 0;
}

/* The config's rate limits, then those of the store (index = kernel index). */
static int collect_ratelimits(const struct gfwd *d, const struct geofw_conf *conf,
			      struct gfwd_ports_plan *p, char *msg, size_t msglen)
{
	struct rl_collect c = { p, msg, msglen };
	int i;

	for (i = 0; i < conf->n_ratelimits; i++) {
		p->rl[i] = conf->ratelimits[i];
		p->rl_from_store[i] = false;
	}
	p->n_rl = conf->n_ratelimits;
	return geofw_store_rl_for_each(d->store, rl_push, &c);
}

int gfwd_ports_plan(const struct gfwd *d, const struct geofw_conf *conf,
		    struct gfwd_ports_plan *p, char *msg, size_t msglen)
{
	struct prule_vec pv = {};
	int i, ret = 0;

	memset(p, 0, sizeof(*p));
	msg[0] = '\0';
	for (i = 0; i < conf->n_port_rules && !ret; i++)
		ret = prule_push(&conf->port_rules[i], &pv);
	if (!ret)
		ret = geofw_store_port_for_each(d->store, prule_push, &pv);
	if (!ret)
		ret = collect_ratelimits(d, conf, p, msg, msglen);
	else
		snprintf(msg, msglen, "port rules: reading: %s", strerror(-ret));
	if (!ret && !(ret = geofw_ports_build(pv.v, pv.n, &p->img, msg, msglen))) {
		p->built = true;
		ret = geofw_ports_add_ratelimits(&p->img, p->rl, (size_t)p->n_rl,
						 (__u8)conf->rl_v6_prefix, msg, msglen);
	}
	free(pv.v);
	if (ret)
		gfwd_ports_plan_free(p);
	return ret;
}

void gfwd_ports_plan_free(struct gfwd_ports_plan *p)
{
	if (p->built)
		geofw_ports_image_free(&p->img);
	p->built = false;
}

int gfwd_ports_commit(struct gfwd *d, struct gfwd_ports_plan *p, char *msg, size_t msglen)
{
	int ret = geofw_ports_install(&d->fw.maps, &p->img, msg, msglen);

	if (!ret) {
		memcpy(d->rl, p->rl, sizeof(d->rl));
		memcpy(d->rl_from_store, p->rl_from_store, sizeof(d->rl_from_store));
		d->n_rl = p->n_rl;
	}
	gfwd_ports_plan_free(p);
	return ret;
}

int gfwd_apply_ports(struct gfwd *d, char *err, size_t errlen)
{
	struct gfwd_ports_plan *p = malloc(sizeof(*p));
	char msg[GEOFW_ERRLEN] = "";
	int ret;

	if (!p)
		ret = geofw_errf(msg, sizeof(msg), -ENOMEM, "port rules: out of memory");
	else if (!(ret = gfwd_ports_plan(d, &d->conf, p, msg, sizeof(msg))))
		ret = gfwd_ports_commit(d, p, msg, sizeof(msg));
	free(p);
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

/* The store's entries for the reconcile, which does not know the store. */
static int store_entries(void *st, int (*fn)(const struct geofw_kentry *e, void *ctx), void *ctx)
{
	return geofw_store_for_each_entry(st, fn, ctx);
}

/* Start: the pinned maps may hold the rules of an earlier run; change only
 * what differs, so enforcement never pauses. */
int gfwd_sync_rules(struct gfwd *d)
{
	struct geofw_reconcile_stats rs;
	char err[GEOFW_ERRLEN];
	int ret;

	ret = geofw_kdiff_reconcile(&d->fw.maps, store_entries, d->store, &rs, err, sizeof(err));
	if (ret)
		return log_err(ret, "rules: %s: %s", geofw_store_path(d->store), err);
	log_info("rules in force: %zu (%zu written, %zu stale removed, %.2f s)", rs.entries,
		 rs.put, rs.deleted, rs.seconds);
	/* A new rules.db over pins that held rules: a moved StateDirectory, or
	 * a lost file.  The store is what is enforced; say what went. */
	if (geofw_store_created(d->store) && rs.deleted)
		log_warn("rules: %s did not exist and was created empty; the %zu rules the "
			 "pinned maps held from an earlier run are removed. If the file was "
			 "lost, stop geofwd, restore it from a backup and start geofwd again",
			 geofw_store_path(d->store), rs.deleted);
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
