// SPDX-License-Identifier: GPL-2.0-only
/*
 * The CrowdSec bouncer: decisions of a CrowdSec Local API (LAPI) become
 * rules of source "crowdsec" (geofw.conf(5), CrowdSec*; docs/operations.md).
 *
 * A fetcher job (fetcher.h) pulls GET CrowdSecURL/v1/decisions/stream with
 * X-Api-Key on its worker thread and parses the answer there (lib's
 * crowdsec.h); the main thread applies it in one transaction:
 *
 *  - startup=true (first pull, the pull after any error, so nothing a
 *    failed pull or apply missed is lost, and the pull after rows of the
 *    source were removed by hand, so what LAPI still holds comes back): the
 *    answer is LAPI's whole set.
 *    The source's rules are replaced by it in one transaction and one kernel
 *    diff (geofw_store_replace_source, never a flush first).
 *  - then deltas: new decisions added, deleted ones removed.
 *
 * Scopes: Ip and Range become block rules (the kernel diff), Country
 * country blocks (laid over the country policy), AS block-asn rules (the
 * AS tables, rebuilt once per answer applied, after its commit).  At most
 * GEOFW_ASN_CLASS_MAX_ID ASes can have rules (geofw.conf, fwctl and every
 * source together): an AS decision beyond that is refused and counted, the
 * rest of the answer applies, and the refused decision is tried again at
 * every pull until there is room (or it ends).
 *
 * LAPI may hold several decisions for one value (two scenarios, a ban and a
 * captcha).  geofwd keeps every live decision by id (this file's table) and
 * writes one rule per value: the strictest action, the longest expiry, as
 * the store resolves sources.  A deleted decision removes the rule only when
 * no other decision of the value is left; a deletion seen twice, or of a
 * decision geofwd never saw, changes nothing else.
 *
 * When LAPI is down or answers garbage the rules in force stay until their
 * expiry (the store sweeps them), the source's status says why, and the next
 * pull asks for the whole set again.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "crowdsec.h"
#include "fetcher.h"
#include "geofwd.h"
#include "grow.h"
#include "http.h"
#include "log.h"
#include "msg.h"
#include "timeutil.h"

#define CS_SOURCE	"crowdsec"
#define CS_KEY_MAX	256		/* bytes of API key */
#define CS_TIMEOUT_MS	30000
#define CS_MAX_BODY	(256u << 20)	/* a startup answer of a big CAPI list */

enum cs_kind { CS_PREFIX, CS_COUNTRY, CS_AS };

struct cs_key {
	int kind;			/* enum cs_kind */
	struct geofw_cidr prefix;
	__u8 country;
	__u32 asn;
};

/* One live decision. */
struct cs_live {
	long long id;
	struct cs_key k;
	__u8 action;
	__u64 expires;
	bool refused;			/* an AS beyond GEOFW_ASN_CLASS_MAX_ID */
	char comment[GEOFW_CS_COMMENT_MAX + 1];
};

/* The job's context.  The worker reads url..conf (set before the job
 * starts) and startup (atomic); the rest is the main thread's. */
struct cs_ctx {
	char url[GEOFW_CONF_URL_LEN + 128];	/* .../v1/decisions/stream?scopes=... */
	char key_hdr[CS_KEY_MAX + 16];		/* "X-Api-Key: KEY" */
	char ca[PATH_MAX];
	struct geofw_conf *conf;		/* a copy: the actions of the types */
	int startup;				/* 1: next pull asks for the whole set */
	bool resync;				/* rows removed by hand: startup stays 1
						 * until a whole set is applied */

	struct cs_live *live;			/* sorted by key */
	size_t n_live, cap_live;
	char last_error[GFWD_SOURCE_ERR_MAX];	/* logged once per error */

	/* One apply: the ASes with rules (read at the first AS decision,
	 * without the source's own rows for a whole set), what changed. */
	__u32 *room;
	size_t n_room, cap_room;
	bool room_loaded, as_changed;
	const char *room_except;
	size_t as_refused, as_admitted;		/* newly refused, admitted again */
	__u32 as_first_refused;
};

/* Milliseconds since t0 (CLOCK_MONOTONIC seconds), for the log. */
static double ms_since(double t0)
{
	return (geofw_clock_s(CLOCK_MONOTONIC) - t0) * 1e3;
}

struct cs_result {
	bool startup;
	double fetch_ms;		/* request, answer and parse */
	struct geofw_cs_answer a;
};

static struct gfwd_fetch_job *cs_job;	/* NULL: no bouncer running */
static bool cs_on;			/* CrowdSecURL set at the last start */

/* ---- worker ------------------------------------------------------------------------ */

static int cs_fetch(void *arg, const volatile int *cancel, void **result, char *err,
		    size_t errlen)
{
	struct cs_ctx *c = arg;
	const char *hdrs[] = { c->key_hdr, "Accept: application/json", NULL };
	struct geofw_http_opts o = {
		.headers = hdrs, .max_body = CS_MAX_BODY, .timeout_ms = CS_TIMEOUT_MS,
		.ca_file = c->ca, .cancel = cancel,
	};
	struct geofw_http_result r;
	struct cs_result *res;
	char url[sizeof(c->url) + 32];
	bool startup = __atomic_load_n(&c->startup, __ATOMIC_ACQUIRE);
	double t0;
	int ret;

	t0 = geofw_clock_s(CLOCK_MONOTONIC);
	snprintf(url, sizeof(url), "%s&startup=%s", c->url, startup ? "true" : "false");
	ret = geofw_http_get(url, &o, &r, err, errlen);
	if (ret)
		return ret;
	if (!(res = calloc(1, sizeof(*res)))) {
		geofw_http_result_free(&r);
		return geofw_errf(err, errlen, -ENOMEM, "out of memory");
	}
	res->startup = startup;
	ret = geofw_cs_parse(r.body, r.len, c->conf, &res->a, err, errlen);
	geofw_http_result_free(&r);
	if (ret) {
		/* Say which answer it was: the operator looks at LAPI next. */
		char why[GFWD_SOURCE_ERR_MAX];

		snprintf(why, sizeof(why), "%s", err);
		snprintf(err, errlen, "LAPI answer refused: %s", why);
		geofw_cs_answer_free(&res->a);
		free(res);
		return ret;
	}
	res->fetch_ms = ms_since(t0);
	*result = res;
	return 0;
}

/* ---- the table of live decisions (main thread) ------------------------------------------ */

static int key_cmp(const struct cs_key *a, const struct cs_key *b)
{
	if (a->kind != b->kind)
		return a->kind < b->kind ? -1 : 1;
	switch (a->kind) {
	case CS_PREFIX:		return geofw_cidr_cmp(&a->prefix, &b->prefix);
	case CS_COUNTRY:	return (int)a->country - (int)b->country;
	default:		return a->asn < b->asn ? -1 : a->asn > b->asn;
	}
}

static int live_cmp(const void *x, const void *y)
{
	const struct cs_live *a = x, *b = y;
	int c = key_cmp(&a->k, &b->k);

	return c ? c : (a->id > b->id) - (a->id < b->id);
}

static void decision_key(const struct geofw_cs_decision *d, struct cs_key *k)
{
	memset(k, 0, sizeof(*k));
	if (d->scope == GEOFW_CS_SCOPE_COUNTRY) {
		k->kind = CS_COUNTRY;
		k->country = d->country;
	} else if (d->scope == GEOFW_CS_SCOPE_AS) {
		k->kind = CS_AS;
		k->asn = d->asn;
	} else {
		k->kind = CS_PREFIX;
		k->prefix = d->prefix;
	}
}

/* The first live entry of key k (sorted table), n_live when none. */
static size_t live_find(const struct cs_ctx *c, const struct cs_key *k)
{
	size_t lo = 0, hi = c->n_live;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (key_cmp(&c->live[mid].k, k) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < c->n_live && !key_cmp(&c->live[lo].k, k) ? lo : c->n_live;
}

/* Drop entries with id -1 (deleted) or expired by now; keep the order. */
static void live_compact(struct cs_ctx *c, __u64 now)
{
	size_t i, j;

	for (i = j = 0; i < c->n_live; i++)
		if (c->live[i].id != -1 && c->live[i].expires > now)
			c->live[j++] = c->live[i];
	c->n_live = j;
}

static int live_push(struct cs_ctx *c, const struct geofw_cs_decision *d, __u64 now)
{
	struct cs_live *v = geofw_grow(c->live, &c->cap_live, c->n_live, sizeof(*v), 256);

	if (!v)
		return -ENOMEM;
	c->live = v;
	v = &c->live[c->n_live++];
	memset(v, 0, sizeof(*v));
	v->id = d->id;
	decision_key(d, &v->k);
	v->action = d->action;
	v->expires = now + d->seconds;
	snprintf(v->comment, sizeof(v->comment), "%s", d->comment);
	return 0;
}

/* The rule a key's live decisions make: strictest action, then longest
 * expiry.  false: none left. */
static bool best_of(const struct cs_ctx *c, size_t first, struct geofw_rule *r)
{
	const struct cs_live *b = NULL;
	size_t i;

	for (i = first; i < c->n_live && !key_cmp(&c->live[i].k, &c->live[first].k); i++) {
		const struct cs_live *l = &c->live[i];

		if (!b || l->action < b->action ||
		    (l->action == b->action && l->expires > b->expires))
			b = l;
	}
	if (!b)
		return false;
	memset(r, 0, sizeof(*r));
	r->kind = b->k.kind == CS_COUNTRY ? GEOFW_RULE_BLOCK_COUNTRY :
		  b->k.kind == CS_AS ? GEOFW_RULE_BLOCK_ASN : GEOFW_RULE_BLOCK;
	r->prefix = b->k.prefix;
	r->country = b->k.country;
	r->asn = b->k.asn;
	r->action = b->action;
	r->expires = b->expires;
	r->comment = b->comment;
	r->source = CS_SOURCE;
	return true;
}

/*
 * Room for an AS rule: 1 when asn has a rule already or one more AS fits
 * within GEOFW_ASN_CLASS_MAX_ID (it is counted in then), 0 when it does
 * not, -errno.  Deletions earlier in the answer free room only for the
 * next answer (the set is read once per apply): never too many.
 */
static int as_admit(struct gfwd *d, struct cs_ctx *c, __u32 asn, char *msg, size_t len)
{
	size_t lo = 0, hi;
	__u32 *v;
	int ret;

	if (!c->room_loaded) {
		free(c->room);
		c->room = NULL;
		c->n_room = c->cap_room = 0;
		ret = gfwd_asn_ruled(d, c->room_except, &c->room, &c->n_room);
		if (ret)
			return geofw_errf(msg, len, ret, "reading the AS rules: %s", strerror(-ret));
		c->cap_room = c->n_room ? c->n_room : 1;
		c->room_loaded = true;
	}
	for (hi = c->n_room; lo < hi;) {
		size_t mid = lo + (hi - lo) / 2;

		if (c->room[mid] < asn)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < c->n_room && c->room[lo] == asn)
		return 1;
	if (c->n_room >= GEOFW_ASN_CLASS_MAX_ID)
		return 0;
	if (!(v = geofw_grow(c->room, &c->cap_room, c->n_room, sizeof(*v), 16)))
		return geofw_errf(msg, len, -ENOMEM, "out of memory");
	c->room = v;
	memmove(&v[lo + 1], &v[lo], (c->n_room - lo) * sizeof(*v));
	v[lo] = asn;
	c->n_room++;
	return 1;
}

/* The live decisions of the key at first: refused (counted once) or not. */
static void as_mark(struct cs_ctx *c, size_t first, bool refused)
{
	size_t i;

	for (i = first; i < c->n_live && !key_cmp(&c->live[i].k, &c->live[first].k); i++) {
		struct cs_live *l = &c->live[i];

		if (refused && !l->refused) {
			if (!c->as_refused++)
				c->as_first_refused = l->k.asn;
		} else if (!refused && l->refused) {
			c->as_admitted++;
		}
		l->refused = refused;
	}
}

/* ---- apply (main thread) ------------------------------------------------------------- */

static int push_rule(struct geofw_rule **v, size_t *n, size_t *cap, const struct geofw_rule *r)
{
	struct geofw_rule *p = geofw_grow(*v, cap, *n, sizeof(*p), 64);

	if (!p)
		return -ENOMEM;
	*v = p;
	p[(*n)++] = *r;
	return 0;
}

/* startup: LAPI's whole set replaces the source's rules. */
static int apply_startup(struct gfwd *d, struct cs_ctx *c, const struct geofw_cs_answer *a,
			 struct geofw_kdiff *diff, size_t *n_rules, size_t *removed, char *msg,
			 size_t len)
{
	struct geofw_rule *blocks = NULL, *countries = NULL, *ases = NULL;
	size_t nb = 0, ncc = 0, nas = 0, cb = 0, ccap = 0, acap = 0, i, rem2 = 0, rem3 = 0;
	__u64 now = (__u64)time(NULL);
	int ret = 0;

	c->n_live = 0;
	for (i = 0; !ret && i < a->n_add; i++)
		ret = live_push(c, &a->add[i], now);
	if (ret)
		return geofw_errf(msg, len, ret, "out of memory for %zu decisions", a->n_add);
	qsort(c->live, c->n_live, sizeof(*c->live), live_cmp);
	for (i = 0; !ret && i < c->n_live;) {
		size_t first = i;
		struct geofw_rule r;

		while (i < c->n_live && !key_cmp(&c->live[i].k, &c->live[first].k))
			i++;
		if (!best_of(c, first, &r))
			continue;
		if (r.kind == GEOFW_RULE_BLOCK_ASN) {
			if ((ret = as_admit(d, c, r.asn, msg, len)) < 0)
				break;
			as_mark(c, first, !ret);
			ret = ret ? push_rule(&ases, &nas, &acap, &r) : 0;
		} else if (r.kind == GEOFW_RULE_BLOCK_COUNTRY) {
			ret = push_rule(&countries, &ncc, &ccap, &r);
		} else {
			ret = push_rule(&blocks, &nb, &cb, &r);
		}
	}
	if (ret == -ENOMEM)
		ret = geofw_errf(msg, len, ret, "out of memory for %zu rules", c->n_live);
	/* Sorted by key: the prefixes are in geofw_cidr_cmp() order, once each. */
	if (!ret)
		ret = geofw_store_replace_source(d->store, CS_SOURCE, blocks, nb, removed, diff,
						 msg, len);
	if (!ret)
		ret = geofw_store_country_block_replace(d->store, CS_SOURCE, countries, ncc, &rem2,
							msg, len);
	if (!ret)
		ret = geofw_store_replace_source_asn(d->store, CS_SOURCE, ases, nas, &rem3, msg,
						     len);
	c->as_changed = !ret;
	*removed += rem2 + rem3;
	*n_rules = nb + ncc + nas;
	free(blocks);
	free(countries);
	free(ases);
	return ret;
}

/* An AS's rule: written when there is room for it (else its decisions are
 * marked refused), removed when no decision is left (idempotent). */
static int write_as(struct gfwd *d, struct cs_ctx *c, const struct cs_key *k, size_t first,
		    char *msg, size_t len)
{
	struct geofw_rule r;
	int ret;

	if (first < c->n_live && best_of(c, first, &r)) {
		if ((ret = as_admit(d, c, k->asn, msg, len)) < 0)
			return ret;
		as_mark(c, first, !ret);
		if (!ret)
			return 0;
		c->as_changed = true;
		return geofw_store_add(d->store, &r, 1, 0, NULL, msg, len);
	}
	ret = geofw_store_del_asn(d->store, GEOFW_RULE_BLOCK_ASN, &k->asn, 1, CS_SOURCE, msg, len);
	if (ret == -ENOENT)
		return 0;	/* a deletion seen twice, or of a refused AS */
	if (!ret)
		c->as_changed = true;
	return ret;
}

static int write_key(struct gfwd *d, struct cs_ctx *c, const struct cs_key *k,
		     struct geofw_kdiff *diff, char *msg, size_t len)
{
	size_t first = live_find(c, k);
	struct geofw_rule r;
	int ret;

	if (k->kind == CS_AS)
		return write_as(d, c, k, first, msg, len);
	if (first < c->n_live && best_of(c, first, &r)) {
		if (r.kind == GEOFW_RULE_BLOCK_COUNTRY)
			return geofw_store_country_block_set(d->store, &r, msg, len);
		return geofw_store_add(d->store, &r, 1, GEOFW_STORE_ONE_ID, diff, msg, len);
	}
	if (k->kind == CS_COUNTRY) {
		ret = geofw_store_country_block_del(d->store, CS_SOURCE, k->country, msg, len);
		return ret < 0 ? ret : 0;
	}
	ret = geofw_store_del(d->store, GEOFW_RULE_BLOCK, &k->prefix, 1, CS_SOURCE, diff, msg,
			      len);
	return ret == -ENOENT ? 0 : ret;	/* a deletion seen twice */
}

static int id_cmp(const void *x, const void *y)
{
	const struct cs_live *const *a = x, *const *b = y;

	return ((*a)->id > (*b)->id) - ((*a)->id < (*b)->id);
}

/* A delta: deletions, then new decisions; every key touched written again. */
static int apply_delta(struct gfwd *d, struct cs_ctx *c, const struct geofw_cs_answer *a,
		       struct geofw_kdiff *diff, char *msg, size_t len)
{
	/* A key per deletion, per new decision, per live one it replaces and
	 * per live one that expired or was refused (tried again). */
	struct cs_key *keys = calloc(2 * a->n_add + a->n_del + c->n_live + 1, sizeof(*keys));
	struct cs_live **by_id = NULL;
	__u64 now = (__u64)time(NULL);
	size_t i, nk = 0;
	int ret = 0;

	if (!keys) {
		ret = geofw_errf(msg, len, -ENOMEM, "out of memory");
		goto out;
	}
	/* A decision that ended leaves its value's rule to the others: the
	 * store swept the row at its expiry, a weaker decision of the value
	 * that lasts longer is written again (within one interval).  A
	 * refused AS is tried again: another may have left. */
	for (i = 0; i < c->n_live; i++)
		if (c->live[i].expires <= now || c->live[i].refused)
			keys[nk++] = c->live[i].k;
	if (!a->n_add && !a->n_del) {
		live_compact(c, now);	/* keeps the order */
		for (i = 0; !ret && i < nk; i++)
			ret = write_key(d, c, &keys[i], diff, msg, len);
		goto out;
	}
	if (!(by_id = calloc(c->n_live + 1, sizeof(*by_id)))) {
		ret = geofw_errf(msg, len, -ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < c->n_live; i++)
		by_id[i] = &c->live[i];
	qsort(by_id, c->n_live, sizeof(*by_id), id_cmp);
	for (i = 0; i < a->n_del; i++) {
		struct cs_live probe = { .id = a->del[i].id }, *pp = &probe, **hit;

		decision_key(&a->del[i], &keys[nk++]);
		if (probe.id <= 0)
			continue;	/* no id: by value only */
		hit = bsearch(&pp, by_id, c->n_live, sizeof(*by_id), id_cmp);
		if (hit && !key_cmp(&(*hit)->k, &keys[nk - 1]))
			(*hit)->id = -1;	/* gone at the compaction */
	}
	/* A new decision with an id already live replaces it. */
	for (i = 0; i < a->n_add; i++) {
		struct cs_live probe = { .id = a->add[i].id }, *pp = &probe, **hit;

		if (probe.id <= 0)
			continue;
		hit = bsearch(&pp, by_id, c->n_live, sizeof(*by_id), id_cmp);
		if (hit) {
			keys[nk++] = (*hit)->k;
			(*hit)->id = -1;
		}
	}
	live_compact(c, now);
	for (i = 0; !ret && i < a->n_add; i++) {
		decision_key(&a->add[i], &keys[nk++]);
		ret = live_push(c, &a->add[i], now);
	}
	if (ret) {
		ret = geofw_errf(msg, len, ret, "out of memory for %zu decisions", c->n_live);
		goto out;
	}
	qsort(c->live, c->n_live, sizeof(*c->live), live_cmp);
	for (i = 0; !ret && i < nk; i++)
		ret = write_key(d, c, &keys[i], diff, msg, len);
out:
	free(keys);
	free(by_id);
	return ret;
}

static long cs_apply(struct gfwd *d, void *arg, int fret, void *result, const char *ferr)
{
	struct cs_ctx *c = arg;
	struct cs_result *res = result;
	struct gfwd_source *s = gfwd_source_get(d, CS_SOURCE);
	struct geofw_kdiff diff = {};
	char msg[GEOFW_ERRLEN] = "";
	size_t n_rules = 0, removed = 0;
	double t0;
	int ret;

	if (fret) {
		/* Nothing changes: the rules in force stay until they expire. */
		if (strcmp(c->last_error, ferr))
			log_warn("crowdsec: %s; the decisions in force stay until they expire, "
				 "trying again every %us", ferr, c->conf->crowdsec_interval);
		snprintf(c->last_error, sizeof(c->last_error), "%s", ferr);
		__atomic_store_n(&c->startup, 1, __ATOMIC_RELEASE);
		gfwd_source_fail(s, ferr);
		if (s)
			snprintf(s->note, sizeof(s->note), "next pull asks LAPI for the whole set");
		return -1;
	}

	t0 = geofw_clock_s(CLOCK_MONOTONIC);
	c->room_loaded = c->as_changed = false;
	c->room_except = res->startup ? CS_SOURCE : NULL;
	c->as_refused = c->as_admitted = 0;
	ret = geofw_store_begin(d->store, msg, sizeof(msg));
	if (!ret && res->startup)
		ret = apply_startup(d, c, &res->a, &diff, &n_rules, &removed, msg, sizeof(msg));
	else if (!ret)
		ret = apply_delta(d, c, &res->a, &diff, msg, sizeof(msg));
	ret = gfwd_commit_or_undo(d, &diff, ret, msg, sizeof(msg));
	if (ret) {
		char why[GFWD_SOURCE_ERR_MAX];

		/* The table no longer matches the rows: the next pull rebuilds
		 * both from LAPI's whole set. */
		c->n_live = 0;
		__atomic_store_n(&c->startup, 1, __ATOMIC_RELEASE);
		snprintf(why, sizeof(why), "applying LAPI's answer: %s", msg);
		log_err(ret, "crowdsec: %s (nothing of it applied; asking for the whole set next)",
			why);
		snprintf(c->last_error, sizeof(c->last_error), "%s", why);
		gfwd_source_fail(s, why);
		if (s)
			snprintf(s->note, sizeof(s->note), "next pull asks LAPI for the whole set");
		goto out;
	}
	gfwd_country_blocks_sync(d);
	gfwd_arm_sweep(d);
	/* Once per answer: the AS rows are committed, the tables follow (a
	 * failure leaves the rows stored and status saying "not enforced"). */
	if (c->as_changed)
		gfwd_asn_rebuild(d, "crowdsec");
	if (c->as_refused)
		log_warn("crowdsec: %zu AS decision(s) refused, first AS%u: at most %u ASes can "
			 "have rules (geofw.conf, fwctl and every source together); the rest of "
			 "the answer applied, the refused ones are tried again at every pull",
			 c->as_refused, c->as_first_refused, GEOFW_ASN_CLASS_MAX_ID);
	if (c->as_admitted)
		log_info("crowdsec: %zu AS decision(s) refused before now enforced (room among "
			 "the AS rules)", c->as_admitted);
	if (res->a.refused)
		log_warn("crowdsec: %zu decision(s) refused, the others applied; first: %s",
			 res->a.refused, res->a.refused_why);
	if (c->last_error[0])
		log_info("crowdsec: LAPI answers again; decisions in step");
	if (res->startup)
		log_info("crowdsec: whole set from LAPI: %zu decision(s), %zu rule(s) in force, "
			 "%zu removed (pulled in %.0f ms, applied in %.0f ms)", res->a.n_add,
			 n_rules, removed, res->fetch_ms, ms_since(t0));
	else if (res->a.n_add || res->a.n_del)
		log_info("crowdsec: %zu new, %zu deleted decision(s) (pulled in %.0f ms, applied "
			 "in %.0f ms)", res->a.n_add, res->a.n_del, res->fetch_ms, ms_since(t0));
	c->last_error[0] = '\0';
	/* Rows removed by hand while a delta was on its way: only a whole set
	 * brings them back. */
	c->resync = c->resync && !res->startup;
	__atomic_store_n(&c->startup, c->resync, __ATOMIC_RELEASE);
	gfwd_source_ok(s);
	if (s) {
		s->refused += res->a.refused + c->as_refused;
		if (!c->resync)
			s->note[0] = '\0';
	}
out:
	geofw_kdiff_free(&diff);
	geofw_cs_answer_free(&res->a);
	free(res);
	return -1;
}

static void cs_free_result(void *ctx, void *result)
{
	struct cs_result *res = result;

	(void)ctx;
	geofw_cs_answer_free(&res->a);
	free(res);
}

static void cs_free_ctx(void *arg)
{
	struct cs_ctx *c = arg;

	/* The key leaves memory with the context. */
	explicit_bzero(c->key_hdr, sizeof(c->key_hdr));
	free(c->conf);
	free(c->live);
	free(c->room);
	free(c);
}

static const struct gfwd_fetch_ops cs_ops = {
	.fetch = cs_fetch,
	.apply = cs_apply,
	.free_result = cs_free_result,
	.free_ctx = cs_free_ctx,
};

/* ---- start, stop ------------------------------------------------------------------------ */

/* The key: the file's first line, blanks around it taken off. */
static int read_key(const char *path, char *key, size_t len, char *err, size_t errlen)
{
	char buf[CS_KEY_MAX + 64];
	struct stat st;
	ssize_t n;
	size_t i;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return geofw_errf(err, errlen, -errno, "CrowdSecAPIKeyFile %s: %s", path,
				  strerror(errno));
	if (!fstat(fd, &st) && (st.st_mode & 0077))
		log_warn("crowdsec: %s can be read by others than its owner (mode %04o); "
			 "chmod 600 it", path, (unsigned int)(st.st_mode & 07777));
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return geofw_errf(err, errlen, -EIO, "CrowdSecAPIKeyFile %s: %s", path,
				  strerror(errno));
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	for (i = strlen(buf); i && (buf[i - 1] == ' ' || buf[i - 1] == '\t'); i--)
		buf[i - 1] = '\0';
	for (i = 0; buf[i] == ' ' || buf[i] == '\t'; i++)
		;
	if (!buf[i])
		return geofw_errf(err, errlen, -EINVAL, "CrowdSecAPIKeyFile %s: empty (put the "
				  "key of `cscli bouncers add geofw` in it)", path);
	if (strlen(buf + i) >= len)
		return geofw_errf(err, errlen, -EINVAL, "CrowdSecAPIKeyFile %s: key longer than "
				  "%zu bytes", path, len - 1);
	for (const char *p = buf + i; *p; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
			return geofw_errf(err, errlen, -EINVAL, "CrowdSecAPIKeyFile %s: the key "
					  "must be one word of printable ASCII", path);
	memcpy(key, buf + i, strlen(buf + i) + 1);	/* fits: checked above */
	explicit_bzero(buf, sizeof(buf));
	return 0;
}

void gfwd_crowdsec_stop(struct gfwd *d)
{
	if (cs_job)
		gfwd_fetch_remove(d, cs_job);
	cs_job = NULL;
}

int gfwd_crowdsec_start(struct gfwd *d)
{
	const struct geofw_conf *conf = &d->conf;
	struct gfwd_source *s;
	char key[CS_KEY_MAX + 1], scopes[64], err[GFWD_SOURCE_ERR_MAX];
	struct cs_ctx *c;
	size_t ul;
	int ret;

	gfwd_crowdsec_stop(d);
	cs_on = conf->crowdsec_url[0] != '\0';
	if (!cs_on)
		return 0;
	s = gfwd_source_get(d, CS_SOURCE);
	if (s) {
		s->configured = true;
		geofw_http_url_for_log(conf->crowdsec_url, s->where, sizeof(s->where));
	}
	ret = read_key(conf->crowdsec_key_file, key, sizeof(key), err, sizeof(err));
	if (ret) {
		log_err(ret, "crowdsec: %s; no decisions pulled (the rules in force stay until "
			"they expire)", err);
		gfwd_source_fail(s, err);
		return ret;
	}
	if (!(c = calloc(1, sizeof(*c))) || !(c->conf = malloc(sizeof(*c->conf)))) {
		free(c);
		explicit_bzero(key, sizeof(key));
		return log_err(-ENOMEM, "crowdsec: out of memory");
	}
	*c->conf = *conf;
	ul = strlen(conf->crowdsec_url);
	geofw_cs_scopes_param(conf->crowdsec_scopes, scopes, sizeof(scopes));
	snprintf(c->url, sizeof(c->url), "%s%sv1/decisions/stream?scopes=%s", conf->crowdsec_url,
		 ul && conf->crowdsec_url[ul - 1] == '/' ? "" : "/", scopes);
	snprintf(c->key_hdr, sizeof(c->key_hdr), "X-Api-Key: %s", key);
	explicit_bzero(key, sizeof(key));
	snprintf(c->ca, sizeof(c->ca), "%s", conf->crowdsec_tls_ca);
	c->startup = 1;
	cs_job = gfwd_fetch_add(d, CS_SOURCE, (long)conf->crowdsec_interval * 1000, &cs_ops, c);
	if (!cs_job) {
		gfwd_source_fail(s, "cannot start the bouncer's thread");
		return -ENOMEM;
	}
	log_info("crowdsec: bouncer of %s every %us, scopes %s", s ? s->where : "LAPI",
		 conf->crowdsec_interval, scopes);
	return 0;
}

void gfwd_crowdsec_rows_removed(struct gfwd *d, const char *source)
{
	struct gfwd_source *s;
	struct cs_ctx *c;

	if (!cs_job || strcmp(source, CS_SOURCE))
		return;
	/* A delta only writes the values it names: the table of live
	 * decisions still holds the removed ones, so nothing would bring them
	 * back.  The whole set does, and rebuilds the table. */
	c = gfwd_fetch_ctx(cs_job);
	c->resync = true;
	__atomic_store_n(&c->startup, 1, __ATOMIC_RELEASE);
	s = gfwd_source_get(d, CS_SOURCE);
	if (s)
		snprintf(s->note, sizeof(s->note), "rules removed by hand: next pull asks LAPI for "
			 "the whole set");
}

void gfwd_crowdsec_reload(struct gfwd *d)
{
	char msg[GEOFW_ERRLEN];
	struct geofw_kdiff diff = {};
	long n = 0;
	int ret;

	if (d->conf.crowdsec_url[0]) {
		/* Key file and settings read again; the first pull is a whole set. */
		gfwd_crowdsec_start(d);
		return;
	}
	if (!cs_on)
		return;
	cs_on = false;
	gfwd_crowdsec_stop(d);
	gfwd_source_drop(d, CS_SOURCE);
	/* No bouncer any more: its decisions go with it. */
	if (geofw_store_in_txn(d->store) || geofw_store_read_only(d->store))
		return;
	ret = geofw_store_begin(d->store, msg, sizeof(msg));
	if (!ret && (n = geofw_store_del_source(d->store, CS_SOURCE, &diff, msg, sizeof(msg))) < 0)
		ret = (int)n;
	ret = gfwd_commit_or_undo(d, &diff, ret, msg, sizeof(msg));
	if (ret) {
		log_err(ret, "crowdsec: removing the rules of source crowdsec: %s (fwctl del-source "
			"crowdsec removes them)", msg);
	} else if (n) {
		log_info("crowdsec: CrowdSecURL removed: %ld rule(s) of source crowdsec removed", n);
	}
	gfwd_country_blocks_sync(d);
	gfwd_asn_rebuild(d, "crowdsec off");
	geofw_kdiff_free(&diff);
}
