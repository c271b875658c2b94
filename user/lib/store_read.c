// SPDX-License-Identifier: GPL-2.0-only
/*
 * The rule store: the country policy, and reading rows back (every entry
 * as the kernel must hold it, rules by kind and source, AS rules, counts).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "countries.h"
#include "msg.h"
#include "store_int.h"

/* ---- countries ------------------------------------------------------------------- */

const struct geofw_store_countries *geofw_store_countries(const struct geofw_store *st)
{
	return &st->countries;
}

int geofw_store_set_countries(struct geofw_store *st, const struct geofw_store_countries *c,
			      __u32 uid, __s32 pid, char *err, size_t errlen)
{
	__u64 now = (__u64)time(NULL);
	sqlite3_stmt *ins = NULL;
	unsigned int id;
	int ret, rc;

	if ((ret = store_need_txn(st, err, errlen)))
		return ret;
	if (c->mode != GEOFW_MODE_BLOCK_LISTED && c->mode != GEOFW_MODE_ALLOW_LISTED)
		return geofw_errf(err, errlen, -EINVAL, "invalid country mode %u", c->mode);
	if (c->action == GEOFW_ACT_PASS || c->action >= GEOFW_ACT_MAX)
		return geofw_errf(err, errlen, -EINVAL, "invalid country action %u", c->action);
	for (id = 0; id < GEOFW_MAX_COUNTRIES; id++)
		if (c->listed[id] && (!id || !geofw_country_code(id) ||
				      c->country_action[id] >= GEOFW_ACT_MAX ||
				      (c->country_action[id] == GEOFW_ACT_PASS &&
				       c->country_action[id])))
			return geofw_errf(err, errlen, -EINVAL, "invalid country id %u", id);
	if ((rc = sqlite3_exec(st->db, "DELETE FROM rules WHERE kind=3", NULL, NULL, NULL)))
		return store_sql_fail(st, rc, "cannot write the country policy", err, errlen);
	if (c->override) {
		rc = sqlite3_prepare_v2(st->db, "INSERT INTO rules(kind,family,addr,plen,source,"
					"prefix,action,rule_id,expires,comment,uid,pid,created) "
					"VALUES(3,0,?1,0,'cli',?1,?2,0,0,'',?3,?4,?5)", -1, &ins, NULL);
		for (id = 1; !rc && id < GEOFW_MAX_COUNTRIES; id++) {
			if (!c->listed[id])
				continue;
			sqlite3_reset(ins);
			sqlite3_bind_text(ins, 1, geofw_country_code(id), -1, SQLITE_STATIC);
			sqlite3_bind_int(ins, 2, c->country_action[id]);
			sqlite3_bind_int64(ins, 3, uid);
			sqlite3_bind_int64(ins, 4, pid);
			sqlite3_bind_int64(ins, 5, (sqlite3_int64)now);
			rc = sqlite3_step(ins) == SQLITE_DONE ? 0 : sqlite3_errcode(st->db);
		}
		sqlite3_finalize(ins);
	}
	if (!rc)
		rc = store_put_setting(st, "country_override", c->override);
	if (!rc)
		rc = store_put_setting(st, "country_mode", c->mode);
	if (!rc)
		rc = store_put_setting(st, "country_action", c->action);
	if (rc)
		return store_sql_fail(st, rc, "cannot write the country policy", err, errlen);
	st->countries = *c;
	if (!c->override)
		memset(&st->countries, 0, sizeof(st->countries));
	return 0;
}

/* ---- reading --------------------------------------------------------------------- */

/* A row's attributes from column col on: source, action, rule_id, expires,
 * comment, uid, pid, created (strings valid until the next step). */
static void column_attrs(sqlite3_stmt *s, int col, struct geofw_rule *r)
{
	const char *source = (const char *)sqlite3_column_text(s, col);
	const char *comment = (const char *)sqlite3_column_text(s, col + 4);

	r->source = source ? source : "";
	r->action = (__u8)sqlite3_column_int(s, col + 1);
	r->rule_id = (__u32)sqlite3_column_int64(s, col + 2);
	r->expires = (__u64)sqlite3_column_int64(s, col + 3);
	r->comment = comment ? comment : "";
	r->uid = (__u32)sqlite3_column_int64(s, col + 5);
	r->pid = (__s32)sqlite3_column_int64(s, col + 6);
	r->created = (__u64)sqlite3_column_int64(s, col + 7);
}

/* The rows' winners, in key order (blocks, then allows). */
static int row_entries(struct geofw_store *st, struct geofw_kdiff *out)
{
	sqlite3_stmt *s;
	struct geofw_kentry e = {}, cur = {};
	bool have = false;
	int rc, ret = 0;

	/* Key order, and within one prefix the winner first. */
	rc = sqlite3_prepare_v2(st->db, "SELECT kind,family,addr,plen,action,rule_id,expires,"
				"source FROM rules WHERE kind IN (1,2) ORDER BY kind,family,addr,plen,"
				"action,expires=0 DESC,expires DESC", -1, &s, NULL);
	if (rc)
		return store_sql_errno(rc);
	while (!ret && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		e.allow = sqlite3_column_int(s, 0) == GEOFW_RULE_ALLOW;
		if (store_column_key(s, 1, &e.prefix))
			continue;
		if (have && cur.allow == e.allow && !memcmp(&cur.prefix, &e.prefix, sizeof(e.prefix)))
			continue;	/* a loser of the same prefix */
		e.present = true;
		e.action = e.allow ? 0 : (__u8)sqlite3_column_int(s, 4);
		e.rule_id = (__u32)sqlite3_column_int64(s, 5);
		e.expires = e.allow ? 0 : (__u64)sqlite3_column_int64(s, 6);
		e.src_class = e.allow ? 0 :
			geofw_source_class((const char *)sqlite3_column_text(s, 7));
		cur = e;
		have = true;
		ret = geofw_kdiff_push(out, &e);
	}
	sqlite3_finalize(s);
	if (ret)
		return ret;
	return rc == SQLITE_DONE ? 0 : store_sql_errno(rc);
}

int geofw_store_for_each_entry(struct geofw_store *st,
			       int (*fn)(const struct geofw_kentry *e, void *ctx), void *ctx)
{
	struct geofw_kdiff rows = {};
	size_t *pos = calloc(st->n_lists + 1, sizeof(*pos)), r = 0, k;
	int ret;

	if (!pos)
		return -ENOMEM;
	ret = row_entries(st, &rows);
	/* Merge the rows' winners with every list (all in key order), the
	 * winner of each prefix resolved across them. */
	while (!ret) {
		struct geofw_kentry e = {};
		bool any = false;

		if (r < rows.n) {
			e = rows.v[r];
			any = true;
		}
		for (k = 0; k < st->n_lists; k++) {
			const struct slist *l = &st->lists[k];
			struct geofw_kentry le = { .present = true };

			if (pos[k] >= l->n)
				continue;
			le.prefix = l->v[pos[k]];
			if (!any || geofw_kentry_cmp(&le, &e) < 0) {
				e = le;
				e.present = false;	/* filled in below */
				any = true;
			}
		}
		if (!any)
			break;
		if (r < rows.n && !geofw_kentry_cmp(&rows.v[r], &e)) {
			e = rows.v[r];
			r++;
		}
		for (k = 0; k < st->n_lists && !e.allow; k++) {
			const struct slist *l = &st->lists[k];

			if (pos[k] < l->n && !geofw_cidr_cmp(&l->v[pos[k]], &e.prefix)) {
				store_consider(&e, l);
				pos[k]++;
			}
		}
		ret = fn(&e, ctx);
	}
	geofw_kdiff_free(&rows);
	free(pos);
	return ret;
}

int geofw_store_for_each_rule(struct geofw_store *st, int kind, const char *source,
			      int (*fn)(const struct geofw_rule *r, void *ctx), void *ctx)
{
	sqlite3_stmt *s;
	size_t k;
	int rc, ret = 0;

	rc = sqlite3_prepare_v2(st->db, "SELECT kind,family,addr,plen,source,action,rule_id,"
				"expires,comment,uid,pid,created,prefix FROM rules WHERE "
				"(?1=0 OR kind=?1) AND (?2 IS NULL OR source=?2) "
				"ORDER BY kind,family,addr,plen,source", -1, &s, NULL);
	if (rc)
		return store_sql_errno(rc);
	sqlite3_bind_int(s, 1, kind);
	if (source)
		sqlite3_bind_text(s, 2, source, -1, SQLITE_STATIC);
	while (!ret && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct geofw_rule r = {};

		r.kind = sqlite3_column_int(s, 0);
		if (r.kind == GEOFW_RULE_COUNTRY || r.kind == GEOFW_RULE_BLOCK_COUNTRY) {
			const char *code = (const char *)sqlite3_column_text(s, 12);
			int id = code ? geofw_country_id(code) : -1;

			if (id <= 0)
				continue;
			r.country = (__u8)id;
		} else if (geofw_rule_kind_asn(r.kind) ? store_column_asn(s, 2, &r.asn) :
							 store_column_key(s, 1, &r.prefix)) {
			continue;
		}
		column_attrs(s, 4, &r);
		ret = fn(&r, ctx);
	}
	sqlite3_finalize(s);
	if (ret)
		return ret;
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return store_sql_errno(rc);
	if (kind && kind != GEOFW_RULE_BLOCK)
		return 0;
	for (k = 0; !ret && k < st->n_lists; k++) {
		const struct slist *l = &st->lists[k];
		struct geofw_rule r = { .kind = GEOFW_RULE_BLOCK, .action = l->action,
					.rule_id = l->rule_id, .expires = l->expires,
					.comment = l->comment, .source = l->source, .uid = l->uid,
					.pid = l->pid, .created = l->created };
		size_t i;

		if (source && strcmp(source, l->source))
			continue;
		for (i = 0; !ret && i < l->n; i++) {
			r.prefix = l->v[i];
			ret = fn(&r, ctx);
		}
	}
	return ret;
}

int geofw_store_key_sources(struct geofw_store *st, int kind, const struct geofw_cidr *prefixes,
			    const __u32 *asns, size_t n,
			    int (*fn)(const char *source, void *ctx), void *ctx)
{
	bool asn = geofw_rule_kind_asn(kind);
	sqlite3_stmt *s;
	size_t i, k;
	int rc, ret = 0;

	if (kind != GEOFW_RULE_BLOCK && kind != GEOFW_RULE_ALLOW && !asn)
		return -EINVAL;
	rc = sqlite3_prepare_v2(st->db, "SELECT source FROM rules WHERE kind=?1 AND family=?2 "
				"AND addr=?3 AND plen=?4", -1, &s, NULL);
	if (rc)
		return store_sql_errno(rc);
	for (i = 0; !ret && i < n; i++) {
		__be32 asn_be = asn ? htonl(asns[i]) : 0;

		if (asn)
			store_bind_asn_key(s, kind, &asn_be);
		else
			store_bind_key(s, kind, &prefixes[i]);
		while (!ret && (rc = sqlite3_step(s)) == SQLITE_ROW)
			ret = fn((const char *)sqlite3_column_text(s, 0), ctx);
		sqlite3_reset(s);
		if (!ret && rc != SQLITE_DONE)
			ret = store_sql_errno(rc);
	}
	sqlite3_finalize(s);
	if (ret || kind != GEOFW_RULE_BLOCK)
		return ret;
	for (k = 0; !ret && k < st->n_lists; k++) {
		const struct slist *l = &st->lists[k];

		for (i = 0; i < n; i++) {
			if (l->n && bsearch(&prefixes[i], l->v, l->n, sizeof(*l->v),
					    store_cmp_cidr_v)) {
				ret = fn(l->source, ctx);
				break;
			}
		}
	}
	return ret;
}

int geofw_store_for_each_asn(struct geofw_store *st, __u64 now,
			     int (*fn)(const struct geofw_rule *r, void *ctx), void *ctx)
{
	sqlite3_stmt *s;
	__u32 last = 0;
	int rc, ret = 0;

	/* By AS, and within one AS the winner first: an allow (5) of any
	 * source, then the strictest action, then the longest expiry. */
	rc = sqlite3_prepare_v2(st->db, "SELECT kind,addr,source,action,rule_id,expires,comment,"
				"uid,pid,created FROM rules WHERE kind IN (4,5) AND (expires=0 OR "
				"expires>?1) ORDER BY addr,kind DESC,action,expires=0 DESC,"
				"expires DESC,source", -1, &s, NULL);
	if (rc)
		return store_sql_errno(rc);
	sqlite3_bind_int64(s, 1, (sqlite3_int64)now);
	while (!ret && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct geofw_rule r = { .kind = sqlite3_column_int(s, 0) };

		if (store_column_asn(s, 1, &r.asn) || r.asn == last)
			continue;	/* a loser of the same AS */
		last = r.asn;
		column_attrs(s, 2, &r);
		ret = fn(&r, ctx);
	}
	sqlite3_finalize(s);
	if (ret)
		return ret;
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : store_sql_errno(rc);
}

static int count_entry(const struct geofw_kentry *e, void *ctx)
{
	struct geofw_store_counts *c = ctx;
	bool v6 = e->prefix.family == 6;

	if (e->allow)
		(*(v6 ? &c->allow6 : &c->allow4))++;
	else if (e->prefix.prefixlen == (v6 ? 128 : 32))
		(*(v6 ? &c->block_ip6 : &c->block_ip4))++;
	else
		(*(v6 ? &c->block_net6 : &c->block_net4))++;
	return 0;
}

void geofw_store_counts(struct geofw_store *st, struct geofw_store_counts *out)
{
	sqlite3_stmt *s;
	size_t i;

	if (st->counts_ok) {
		*out = st->counts;
		return;
	}
	/* Prefixes as the kernel holds them: rows of several sources for one
	 * count once. */
	memset(&st->counts, 0, sizeof(st->counts));
	geofw_store_for_each_entry(st, count_entry, &st->counts);
	if (sqlite3_prepare_v2(st->db, "SELECT count(*) FROM rules", -1, &s, NULL) == SQLITE_OK) {
		if (sqlite3_step(s) == SQLITE_ROW)
			st->counts.rows = (size_t)sqlite3_column_int64(s, 0);
		sqlite3_finalize(s);
	}
	if (sqlite3_prepare_v2(st->db, "SELECT kind,count(DISTINCT addr) FROM rules WHERE kind "
			       "IN (4,5) GROUP BY kind", -1, &s, NULL) == SQLITE_OK) {
		while (sqlite3_step(s) == SQLITE_ROW)
			*(sqlite3_column_int(s, 0) == GEOFW_RULE_BLOCK_ASN ? &st->counts.block_asn :
			  &st->counts.allow_asn) = (size_t)sqlite3_column_int64(s, 1);
		sqlite3_finalize(s);
	}
	for (i = 0; i < st->n_lists; i++)
		st->counts.rows += st->lists[i].n;
	st->counts_ok = !st->depth;
	*out = st->counts;
}

size_t geofw_store_count_source(struct geofw_store *st, const char *source, __u64 now)
{
	sqlite3_stmt *s;
	size_t n = 0;
	int idx;

	if (sqlite3_prepare_v2(st->db, "SELECT count(*) FROM rules WHERE source=?1 AND kind<>3 "
			       "AND (expires=0 OR expires>?2)", -1, &s, NULL) == SQLITE_OK) {
		sqlite3_bind_text(s, 1, source, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 2, (sqlite3_int64)now);
		if (sqlite3_step(s) == SQLITE_ROW)
			n = (size_t)sqlite3_column_int64(s, 0);
		sqlite3_finalize(s);
	}
	idx = store_find_list(st, source);
	if (idx >= 0 && (!st->lists[idx].expires || st->lists[idx].expires > now))
		n += st->lists[idx].n;
	return n;
}
