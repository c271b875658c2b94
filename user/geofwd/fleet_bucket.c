// SPDX-License-Identifier: GPL-2.0-only
/*
 * The fleet on the main thread: the bucket's entries (a snapshot at each
 * (re)connect, bursts after) applied to the store's fleet rows, fleet_keys
 * and the maps, in transactions (fleet.c: revisions, AS rules).
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stddef.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include <nats/nats.h>

#include "log.h"
#include "fleet_int.h"

/* ---- main thread: the bucket's entries ---------------------------------------------- */

static int cmp_rule(const void *a, const void *b)
{
	const struct geofw_rule *x = a, *y = b;

	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	return geofw_cidr_cmp(&x->prefix, &y->prefix);
}

/*
 * Fill r from one entry of a block or allow key (prefix or AS); 1: a live
 * rule, 0: a delete (or an expired rule), 2: a key of another kind (kept
 * in fleet_keys only), -EINVAL: not understood.
 */
static int entry_rule(const struct fleet_entry *e, struct geofw_rule *r, char **buf)
{
	const char *origin;
	int kind;

	*buf = NULL;
	kind = geofw_fleet_key_parse(e->key, r);
	if (kind == -EOPNOTSUPP || kind == GEOFW_FLEET_COUNTRY ||
	    kind == GEOFW_FLEET_COUNTRY_MODE || kind == GEOFW_FLEET_COUNTRY_ACTION)
		return 2;
	if (kind < 0)
		return -EINVAL;
	r->source = FLEET_SOURCE;
	if (!e->value)
		return 0;
	*buf = strdup(e->value);
	if (!*buf || geofw_fleet_rule_parse(*buf, r, &origin))
		return -EINVAL;
	if (r->expires && r->expires <= (__u64)time(NULL))
		return 0;
	return 1;
}

static bool is_country_key(const char *key)
{
	return !strncmp(key, "country.", 8);
}

struct country_ctx {
	struct geofw_store_countries c;
	bool any;
};

static int country_key(const char *key, long long rev, const char *value, void *arg)
{
	struct country_ctx *cx = arg;
	struct geofw_fleet_value v;
	struct geofw_rule r;
	char *buf;
	int kind, a;

	(void)rev;
	if (!value)
		return 0;
	kind = geofw_fleet_key_parse(key, &r);
	buf = strdup(value);
	if (!buf)
		return -ENOMEM;
	if (kind < 0 || geofw_fleet_value_parse(buf, &v))
		goto bad;
	if (kind == GEOFW_FLEET_COUNTRY_MODE) {
		if (!strcmp(v.word, "block"))
			cx->c.mode = GEOFW_MODE_BLOCK_LISTED;
		else if (!strcmp(v.word, "allow"))
			cx->c.mode = GEOFW_MODE_ALLOW_LISTED;
		else
			goto bad;
	} else {
		a = strcmp(v.word, "default") || kind != GEOFW_FLEET_COUNTRY
		    ? geofw_action_parse(v.word) : 0;
		if (a < 0 || (a == GEOFW_ACT_PASS && kind != GEOFW_FLEET_COUNTRY) ||
		    a >= GEOFW_ACT_MAX)
			goto bad;
		if (kind == GEOFW_FLEET_COUNTRY_ACTION) {
			cx->c.action = (__u8)a;
		} else {
			cx->c.listed[r.country] = true;
			cx->c.country_action[r.country] = (__u8)a;
		}
	}
	cx->any = true;
	free(buf);
	return 0;
bad:
	log_warn("fleet: key %s: value not understood; skipped", key);
	free(buf);
	return 0;
}

/* The fleet's country policy from fleet_keys; kernel policy when it changed. */
void fleet_load_countries(struct gfwd_fleet *f, bool apply)
{
	struct country_ctx cx = { .c.action = GEOFW_ACT_DROP };

	cx.c.override = true;
	geofw_store_fleet_for_each(f->d->store, "country.", country_key, &cx);
	if (!cx.any && !f->has_countries)
		return;
	f->has_countries = cx.any;
	f->countries = cx.c;
	if (apply) {
		gfwd_apply_countries(f->d);
		gfwd_apply_kernel_config(f->d);
	}
}

/* The AS tables after a COMMIT that changed AS rows of the fleet. */
static void asn_sync(struct gfwd_fleet *f)
{
	char msg[GEOFW_ERRLEN];
	int err = gfwd_asn_sync(f->d, false, "fleet", msg, sizeof(msg));

	if (err)
		log_err(err, "fleet: the AS rules of bucket %s are stored but the AS tables could "
			"not be rebuilt: %s (the tables in force stay)", f->d->conf.fleet_bucket,
			msg);
}

/*
 * Add one AS rule of the bucket (in the burst's transaction) unless it
 * would give this host more ASes with rules than the AS tables can hold:
 * then it alone is refused here, logged and counted.  1: added, 0:
 * refused, -errno: the store failed.
 */
static int add_asn(struct gfwd_fleet *f, const struct geofw_rule *r, const char *key,
		   char *msg, size_t len)
{
	struct geofw_store *st = f->d->store;
	size_t n = 0;
	int err;

	if ((err = geofw_store_savepoint(st, msg, len)))
		return err;
	err = geofw_store_add(st, r, 1, 0, NULL, msg, len);
	if (!err && (err = gfwd_asn_wanted_count(f->d, &n)))
		snprintf(msg, len, "counting the ASes with rules: %s", strerror(-err));
	if (!err && n > GEOFW_ASN_CLASS_MAX_ID) {
		geofw_store_rollback_to(st);
		f->asn_refused++;
		log_warn("fleet: key %s refused on this host: AS%u would be AS number %zu with "
			 "rules here, at most %u (geofw.conf and every source together); the "
			 "other changes apply", key, r->asn, n, GEOFW_ASN_CLASS_MAX_ID);
		return 0;
	}
	if (err) {
		geofw_store_rollback_to(st);
		return err;
	}
	return (err = geofw_store_release(st, msg, len)) ? err : 1;
}

void fleet_apply_snapshot(struct gfwd_fleet *f, struct fleet_entry *e, size_t n)
{
	struct gfwd *d = f->d;
	struct geofw_rule *rules = calloc(n ? n : 1, sizeof(*rules));
	struct geofw_rule *asns = calloc(n ? n : 1, sizeof(*asns));
	const char **asn_keys = calloc(n ? n : 1, sizeof(*asn_keys));
	char **bufs = calloc(n ? n : 1, sizeof(*bufs));
	struct geofw_kdiff diff = { 0 };
	char msg[GEOFW_ERRLEN] = "";
	size_t i, m = 0, na = 0, removed = 0, removed_asn = 0, bad = 0, refused = 0, wanted = 0;
	__u64 maxrev = 0;
	int err;

	if (!rules || !asns || !asn_keys || !bufs) {
		log_err(-ENOMEM, "fleet: out of memory for %zu entries", n);
		goto out;
	}
	for (i = 0; i < n; i++) {
		struct geofw_rule *to = &rules[m];
		int r = entry_rule(&e[i], to, &bufs[i]);

		if (e[i].rev > maxrev)
			maxrev = e[i].rev;
		if (r < 0 && strcmp(e[i].key, FLEET_PROBE_KEY))
			bad++;
		if (r == 1 && geofw_rule_kind_asn(to->kind)) {
			asn_keys[na] = e[i].key;
			asns[na++] = *to;	/* in revision order: the first come stay */
		} else if (r == 1) {
			m++;
		}
	}
	qsort(rules, m, sizeof(*rules), cmp_rule);
	err = geofw_store_begin(d->store, msg, sizeof(msg));
	if (!err)
		err = geofw_store_replace_source(d->store, FLEET_SOURCE, rules, m, &removed, &diff,
						 msg, sizeof(msg));
	/* The AS rows in the same transaction: all of them when the AS tables
	 * hold them (the usual case, one replace), else one by one in
	 * revision order, each refused that would go over the limit. */
	if (!err)
		err = geofw_store_savepoint(d->store, msg, sizeof(msg));
	if (!err)
		err = geofw_store_replace_source_asn(d->store, FLEET_SOURCE, asns, na,
						     &removed_asn, msg, sizeof(msg));
	if (!err)
		err = gfwd_asn_wanted_count(d, &wanted);
	if (!err && wanted > GEOFW_ASN_CLASS_MAX_ID) {
		size_t all;

		geofw_store_rollback_to(d->store);
		err = geofw_store_replace_source_asn(d->store, FLEET_SOURCE, NULL, 0, &all, msg,
						     sizeof(msg));
		for (i = 0; !err && i < na; i++) {
			int r = add_asn(f, &asns[i], asn_keys[i], msg, sizeof(msg));

			err = r < 0 ? r : 0;
			refused += r == 0;
		}
	} else if (!err) {
		err = geofw_store_release(d->store, msg, sizeof(msg));
	}
	if (!err)
		err = geofw_store_fleet_clear(d->store, msg, sizeof(msg));
	for (i = 0; !err && i < n; i++)
		if (strcmp(e[i].key, FLEET_PROBE_KEY))
			err = geofw_store_fleet_put(d->store, e[i].key, (long long)e[i].rev,
						    e[i].value, msg, sizeof(msg));
	/* The snapshot is the truth, also below the revision recorded (a
	 * bucket deleted and made again starts counting at 1). */
	if (!err)
		err = geofw_store_set_setting(d->store, FLEET_REV_KEY, (long long)maxrev, msg,
					      sizeof(msg));
	err = gfwd_commit_or_undo(d, &diff, err, msg, sizeof(msg));
	if (err) {
		log_err(err, "fleet: catching up with bucket %s: %s (trying again)",
			d->conf.fleet_bucket, msg);
		__atomic_store_n(&f->resync, 1, __ATOMIC_RELEASE);
		goto out;
	}
	asn_sync(f);
	f->revision = (long long)maxrev;
	f->synced = true;
	f->in_step = true;
	f->last_update = time(NULL);
	fleet_load_countries(f, true);
	gfwd_arm_sweep(d);
	log_info("fleet: in step with bucket %s at revision %lld: %zu rules (%zu removed), "
		 "%zu AS rules (%zu removed%s)%s%s", d->conf.fleet_bucket, f->revision, m, removed,
		 na - refused, removed_asn, refused ? ", some refused: over the AS limit" : "",
		 f->has_countries ? ", a country policy" : "",
		 bad ? ", some entries not understood were skipped" : "");
out:
	for (i = 0; bufs && i < n; i++)
		free(bufs[i]);
	free(bufs);
	free(asn_keys);
	free(asns);
	free(rules);
	geofw_kdiff_free(&diff);
}

/* Updates after the snapshot, in one transaction per wake-up. */
void fleet_apply_entries(struct gfwd_fleet *f, struct fleet_entry **v, size_t n)
{
	struct gfwd *d = f->d;
	struct geofw_kdiff diff = { 0 };
	char msg[GEOFW_ERRLEN] = "";
	long long rev = f->revision;
	bool countries = false, asn = false;
	size_t i;
	int err;

	err = geofw_store_begin(d->store, msg, sizeof(msg));
	for (i = 0; !err && i < n; i++) {
		struct geofw_rule r;
		char *buf;
		int live;

		if ((long long)v[i]->rev <= rev)
			continue;	/* seen: a replay after a reconnect */
		if (!strcmp(v[i]->key, FLEET_PROBE_KEY))
			continue;
		live = entry_rule(v[i], &r, &buf);
		if ((live == 0 || live == 1) && geofw_rule_kind_asn(r.kind)) {
			asn = true;
			if (live == 1)	/* 0: refused here, the burst goes on */
				err = add_asn(f, &r, v[i]->key, msg, sizeof(msg));
			else
				err = geofw_store_del_asn(d->store, r.kind, &r.asn, 1, FLEET_SOURCE,
							  msg, sizeof(msg));
			if (err > 0 || err == -ENOENT)
				err = 0;
		} else if (live == 1) {
			err = geofw_store_add(d->store, &r, 1, 0, &diff, msg, sizeof(msg));
		} else if (live == 0) {
			err = geofw_store_del(d->store, r.kind, &r.prefix, 1, FLEET_SOURCE, &diff,
					      msg, sizeof(msg));
			if (err == -ENOENT)
				err = 0;
		} else if (live < 0) {
			log_warn("fleet: key %s at revision %llu not understood; skipped",
				 v[i]->key, (unsigned long long)v[i]->rev);
		}
		countries |= is_country_key(v[i]->key);
		free(buf);
		if (!err)
			err = geofw_store_fleet_put(d->store, v[i]->key, (long long)v[i]->rev,
						    v[i]->value, msg, sizeof(msg));
		rev = (long long)v[i]->rev;
	}
	if (!err && rev > f->revision)
		err = geofw_store_set_setting(d->store, FLEET_REV_KEY, rev, msg, sizeof(msg));
	err = gfwd_commit_or_undo(d, &diff, err, msg, sizeof(msg));
	if (err) {
		/* Nothing of it is in force: a new snapshot puts it right. */
		log_err(err, "fleet: applying revision %lld: %s (reading the bucket again)", rev,
			msg);
		__atomic_store_n(&f->resync, 1, __ATOMIC_RELEASE);
	} else if (rev > f->revision) {
		if (asn)
			asn_sync(f);	/* once for the burst */
		f->revision = rev;
		f->last_update = time(NULL);
		if (countries)
			fleet_load_countries(f, true);
		gfwd_arm_sweep(d);
	}
	geofw_kdiff_free(&diff);
}
