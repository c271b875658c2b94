// SPDX-License-Identifier: GPL-2.0-only
/*
 * The rule store: changes to the rows (add, delete, a source replaced,
 * countries blocked by a source, the sweep of expired rows), each pushing
 * what the kernel must now hold into the caller's diff.
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

/* ---- changes --------------------------------------------------------------------- */

__u32 store_source_id(struct geofw_store *st, const char *source, __u64 now)
{
	sqlite3_stmt *s = store_stmt(st, S_SRC_ID);
	__u32 id = 0;

	sqlite3_bind_text(s, 1, source, -1, SQLITE_STATIC);
	if (sqlite3_step(s) == SQLITE_ROW)
		id = (__u32)sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	if (id && id < GEOFW_MAX_RULE_IDS)
		return id;
	id = store_id_alloc(st, ID_SOURCE);
	s = store_stmt(st, S_SRC_PUT);
	sqlite3_bind_text(s, 1, source, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, id);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)now);
	sqlite3_step(s);
	sqlite3_reset(s);
	return id;
}

static void bind_row(sqlite3_stmt *s, const struct geofw_rule *r, const __be32 *asn_be,
		     const char *text, __u32 id, __u64 now)
{
	if (geofw_rule_kind_asn(r->kind))
		store_bind_asn_key(s, r->kind, asn_be);
	else
		store_bind_key(s, r->kind, &r->prefix);
	sqlite3_bind_text(s, 5, r->source, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 6, text, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(s, 7, store_kind_blocks(r->kind) ? r->action : 0);
	sqlite3_bind_int64(s, 8, id);
	sqlite3_bind_int64(s, 9, store_kind_blocks(r->kind) ? (sqlite3_int64)r->expires : 0);
	sqlite3_bind_text(s, 10, r->comment ? r->comment : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 11, r->uid);
	sqlite3_bind_int64(s, 12, r->pid);
	sqlite3_bind_int64(s, 13, (sqlite3_int64)(r->created ? r->created : now));
}

/*
 * Write one row.  shared: the rule id every row of this batch gets (0: one
 * of its own, or the one the row already has).
 */
static int upsert(struct geofw_store *st, const struct geofw_rule *r, __u32 shared, __u64 now)
{
	char text[GEOFW_CIDR_STRLEN];
	__be32 asn_be = htonl(r->asn);
	sqlite3_stmt *s;
	__u32 id = shared;
	int rc;

	if (geofw_rule_kind_asn(r->kind)) {
		/* An AS rule counts per AS (gfw_cnt_asn), not per rule id. */
		snprintf(text, sizeof(text), "AS%u", r->asn);
		s = store_stmt(st, S_UPSERT_FAST);
		bind_row(s, r, &asn_be, text, 0, now);
		rc = sqlite3_step(s);
		sqlite3_reset(s);
		return rc == SQLITE_DONE ? 0 : rc;
	}
	geofw_cidr_format(&r->prefix, text, sizeof(text));
	if (shared) {
		s = store_stmt(st, S_UPSERT_FAST);
		bind_row(s, r, NULL, text, id, now);
		rc = sqlite3_step(s);
		sqlite3_reset(s);
		return rc == SQLITE_DONE ? 0 : rc;
	}
	id = store_id_alloc(st, ID_ROW);
	s = store_stmt(st, S_UPSERT);
	bind_row(s, r, NULL, text, id, now);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		/* An existing row keeps its id: give the new one back. */
		if ((__u32)sqlite3_column_int64(s, 0) != id)
			store_id_set(st, id, ID_FREE);
		while ((rc = sqlite3_step(s)) == SQLITE_ROW)
			;
	}
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? 0 : rc;
}

int geofw_store_add(struct geofw_store *st, const struct geofw_rule *rules, size_t n,
		    unsigned int flags, struct geofw_kdiff *diff, char *err, size_t errlen)
{
	__u64 now = (__u64)time(NULL);
	__u32 shared = 0;
	size_t i;
	int ret, rc;

	if ((ret = store_need_txn(st, err, errlen)))
		return ret;
	for (i = 0; i < n; i++)
		if ((ret = store_check_rule(&rules[i], err, errlen)))
			return ret;
	for (i = 0; i < n; i++) {
		const struct geofw_rule *r = &rules[i];

		if ((flags & GEOFW_STORE_ONE_ID) && !geofw_rule_kind_asn(r->kind) &&
		    (!i || strcmp(r->source, rules[i - 1].source)))
			shared = store_source_id(st, r->source, now);
		if ((rc = upsert(st, r, flags & GEOFW_STORE_ONE_ID ? shared : 0, now)))
			return store_sql_fail(st, rc, "cannot write the rule", err, errlen);
		if (geofw_rule_kind_asn(r->kind))
			continue;	/* the AS tables are rebuilt, no diff */
		if ((ret = store_push_resolved(st, diff, r->kind, &r->prefix)))
			return store_sql_fail(st, ret, "cannot read the rule back", err, errlen);
	}
	return 0;
}

/* Delete one prefix's rows (of source, or all); 1 when some existed. */
static int delete_key(struct geofw_store *st, int kind, const struct geofw_cidr *p,
		      const char *source)
{
	sqlite3_stmt *s = store_stmt(st, source ? S_DEL_ONE : S_DEL_ALL);
	int rc, found = 0;

	store_bind_key(s, kind, p);
	if (source)
		sqlite3_bind_text(s, 5, source, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		store_id_release(st, (__u32)sqlite3_column_int64(s, 0));
		found = 1;
	}
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? found : -rc;
}

int geofw_store_del(struct geofw_store *st, int kind, const struct geofw_cidr *prefixes,
		    size_t n, const char *source, struct geofw_kdiff *diff,
		    char *err, size_t errlen)
{
	char pb[GEOFW_CIDR_STRLEN];
	bool *listed = calloc(n ? n : 1, sizeof(*listed));
	size_t i;
	int ret, rc;

	if (!listed)
		return -ENOMEM;
	if ((ret = store_need_txn(st, err, errlen))) {
		free(listed);
		return ret;
	}
	if (kind == GEOFW_RULE_BLOCK && (rc = store_unlist(st, prefixes, n, source, listed))) {
		free(listed);
		return store_sql_fail(st, rc, "cannot write the list", err, errlen);
	}
	for (i = 0; i < n; i++) {
		ret = delete_key(st, kind, &prefixes[i], source);
		if (ret < 0) {
			free(listed);
			return store_sql_fail(st, -ret, "cannot delete the rule", err, errlen);
		}
		/* A prefix twice in one batch: the first took it. */
		if (!ret && !listed[i] &&
		    !(i && !memcmp(&prefixes[i], &prefixes[i - 1], sizeof(*prefixes)))) {
			size_t k;

			for (k = 0; k < i; k++)
				if (!memcmp(&prefixes[k], &prefixes[i], sizeof(*prefixes)))
					break;
			if (k == i) {
				free(listed);
				geofw_cidr_format(&prefixes[i], pb, sizeof(pb));
				return geofw_errf(err, errlen, -ENOENT, "%s is not %s%s%s", pb,
						  kind == GEOFW_RULE_ALLOW ? "allowed" : "blocked",
						  source ? " by source " : "", source ? source : "");
			}
		}
		if ((ret = store_push_resolved(st, diff, kind, &prefixes[i]))) {
			free(listed);
			return store_sql_fail(st, ret, "cannot read the rules back", err, errlen);
		}
	}
	free(listed);
	return 0;
}

/* Delete one AS's rows of kind (of source, or all); 1 when some existed. */
static int delete_asn_key(struct geofw_store *st, int kind, __u32 asn, const char *source)
{
	sqlite3_stmt *s = store_stmt(st, source ? S_DEL_ONE : S_DEL_ALL);
	__be32 asn_be = htonl(asn);
	int rc, found = 0;

	store_bind_asn_key(s, kind, &asn_be);
	if (source)
		sqlite3_bind_text(s, 5, source, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		found = 1;
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? found : -rc;
}

int geofw_store_del_asn(struct geofw_store *st, int kind, const __u32 *asns, size_t n,
			const char *source, char *err, size_t errlen)
{
	size_t i, k;
	int ret;

	if ((ret = store_need_txn(st, err, errlen)))
		return ret;
	if (!geofw_rule_kind_asn(kind))
		return geofw_errf(err, errlen, -EINVAL, "invalid AS rule kind %d", kind);
	for (i = 0; i < n; i++) {
		ret = delete_asn_key(st, kind, asns[i], source);
		if (ret < 0)
			return store_sql_fail(st, -ret, "cannot delete the rule", err, errlen);
		if (ret)
			continue;
		/* An AS twice in one batch: the first took it. */
		for (k = 0; k < i && asns[k] != asns[i]; k++)
			;
		if (k == i)
			return geofw_errf(err, errlen, -ENOENT, "AS%u is not %s by a runtime "
					  "rule%s%s", asns[i], kind == GEOFW_RULE_ALLOW_ASN ?
					  "allowed" : "blocked", source ? " of source " : "",
					  source ? source : "");
	}
	return 0;
}

struct src_row {
	int kind;
	struct geofw_cidr p;
	__u32 asn;		/* AS rows */
};

static int cidr_key_cmp(const struct geofw_cidr *a, const struct geofw_cidr *b)
{
	int n = store_addr_len(a->family), c;

	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	if ((c = memcmp(a->addr, b->addr, (size_t)n)))
		return c;
	return (a->prefixlen > b->prefixlen) - (a->prefixlen < b->prefixlen);
}

/* The source's rows of kind (or every kind, 0), in key order. */
static int source_rows(struct geofw_store *st, const char *source, int kind,
		       struct src_row **out, size_t *n)
{
	sqlite3_stmt *s = store_stmt(st, S_SRC_ROWS);
	struct src_row *v = NULL;
	size_t cap = 0;
	int rc;

	*n = 0;
	sqlite3_bind_text(s, 1, source, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		int k = sqlite3_column_int(s, 0);

		if ((kind && k != kind) || k == GEOFW_RULE_BLOCK_COUNTRY)
			continue;	/* no prefix: geofw_store_country_block_*() */
		if (*n == cap) {
			void *p = realloc(v, (cap = cap ? cap * 2 : 256) * sizeof(*v));

			if (!p) {
				free(v);
				sqlite3_reset(s);
				return SQLITE_NOMEM;
			}
			v = p;
		}
		v[*n].kind = k;
		/* Country rows have no key to decode (del-source keeps them). */
		if (k == GEOFW_RULE_COUNTRY) {
			(*n)++;
			continue;
		}
		if (geofw_rule_kind_asn(k) ? store_column_asn(s, 2, &v[*n].asn) :
					     store_column_key(s, 1, &v[*n].p)) {
			free(v);
			sqlite3_reset(s);
			return SQLITE_CORRUPT;
		}
		(*n)++;
	}
	sqlite3_reset(s);
	*out = v;
	if (rc != SQLITE_DONE) {
		free(v);
		*out = NULL;
		return rc;
	}
	return 0;
}

int geofw_store_replace_source(struct geofw_store *st, const char *source,
			       const struct geofw_rule *rules, size_t n, size_t *removed,
			       struct geofw_kdiff *diff, char *err, size_t errlen)
{
	struct src_row *old = NULL;
	size_t n_old = 0, i = 0, j = 0;
	int ret, rc;

	*removed = 0;
	if ((ret = store_need_txn(st, err, errlen)))
		return ret;
	for (i = 0; i < n; i++)
		if ((rules[i].kind != GEOFW_RULE_BLOCK && rules[i].kind != GEOFW_RULE_ALLOW) ||
		    strcmp(rules[i].source, source))
			return geofw_errf(err, errlen, -EINVAL, "replace: a rule of another source");
	if ((rc = source_rows(st, source, 0, &old, &n_old)))
		return store_sql_fail(st, rc, "cannot read the source's rules", err, errlen);
	/* Rows no longer listed go (a merge of two lists sorted by kind, then
	 * prefix); the country policy is no source's rules and stays. */
	for (i = 0; i < n_old; i++) {
		int c = 1;

		if (old[i].kind != GEOFW_RULE_BLOCK && old[i].kind != GEOFW_RULE_ALLOW)
			continue;
		while (j < n && (c = rules[j].kind != old[i].kind
				 ? (rules[j].kind < old[i].kind ? -1 : 1)
				 : cidr_key_cmp(&rules[j].prefix, &old[i].p)) < 0)
			j++;
		if (j < n && !c)
			continue;
		if ((ret = delete_key(st, old[i].kind, &old[i].p, source)) < 0 ||
		    (ret = store_push_resolved(st, diff, old[i].kind, &old[i].p))) {
			free(old);
			return store_sql_fail(st, ret < 0 ? -ret : ret, "cannot delete", err, errlen);
		}
		(*removed)++;
	}
	free(old);
	return geofw_store_add(st, rules, n, GEOFW_STORE_ONE_ID, diff, err, errlen);
}

static bool asn_listed(const struct geofw_rule *rules, size_t n, int kind, __u32 asn)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (rules[i].kind == kind && rules[i].asn == asn)
			return true;
	return false;
}

int geofw_store_replace_source_asn(struct geofw_store *st, const char *source,
				   const struct geofw_rule *rules, size_t n, size_t *removed,
				   char *err, size_t errlen)
{
	struct src_row *old = NULL;
	size_t n_old = 0, i;
	int ret, rc;

	*removed = 0;
	if ((ret = store_need_txn(st, err, errlen)))
		return ret;
	for (i = 0; i < n; i++)
		if (!geofw_rule_kind_asn(rules[i].kind) || strcmp(rules[i].source, source))
			return geofw_errf(err, errlen, -EINVAL, "replace: not an AS rule of %s",
					  source);
	if ((rc = source_rows(st, source, 0, &old, &n_old)))
		return store_sql_fail(st, rc, "cannot read the source's rules", err, errlen);
	/* At most 254 ASes have rules: a scan of rules[] per row is cheap. */
	for (i = 0; i < n_old; i++) {
		if (!geofw_rule_kind_asn(old[i].kind) ||
		    asn_listed(rules, n, old[i].kind, old[i].asn))
			continue;
		if ((ret = delete_asn_key(st, old[i].kind, old[i].asn, source)) < 0) {
			free(old);
			return store_sql_fail(st, -ret, "cannot delete", err, errlen);
		}
		(*removed)++;
	}
	free(old);
	return geofw_store_add(st, rules, n, 0, NULL, err, errlen);
}

/* ---- countries blocked by a source -------------------------------------------------- */

static int country_block_put(struct geofw_store *st, const struct geofw_rule *r, __u64 now)
{
	const char *code = geofw_country_code(r->country);
	sqlite3_stmt *s;
	int rc;

	rc = sqlite3_prepare_v2(st->db, "INSERT INTO rules(kind,family,addr,plen,source,prefix,"
				"action,rule_id,expires,comment,uid,pid,created) "
				"VALUES(6,0,?1,0,?2,?1,?3,0,?4,?5,?6,?7,?8) "
				"ON CONFLICT DO UPDATE SET action=excluded.action,"
				"expires=excluded.expires,comment=excluded.comment,uid=excluded.uid,"
				"pid=excluded.pid,created=excluded.created", -1, &s, NULL);
	if (rc)
		return rc;
	sqlite3_bind_text(s, 1, code, 2, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, r->source, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 3, r->action);
	sqlite3_bind_int64(s, 4, (sqlite3_int64)r->expires);
	sqlite3_bind_text(s, 5, r->comment ? r->comment : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 6, r->uid);
	sqlite3_bind_int64(s, 7, r->pid);
	sqlite3_bind_int64(s, 8, (sqlite3_int64)(r->created ? r->created : now));
	rc = sqlite3_step(s) == SQLITE_DONE ? 0 : sqlite3_errcode(st->db);
	sqlite3_finalize(s);
	return rc;
}

static int check_country_block(const struct geofw_rule *r, char *err, size_t errlen)
{
	if (!r->country || !geofw_country_code(r->country))
		return geofw_errf(err, errlen, -EINVAL, "invalid country id %u", r->country);
	if (r->action == GEOFW_ACT_PASS || r->action >= GEOFW_ACT_MAX)
		return geofw_errf(err, errlen, -EINVAL, "%s: invalid action %u",
				  geofw_country_code(r->country), r->action);
	if (!r->source || geofw_store_check_text(r->source, strlen(r->source),
						 GEOFW_STORE_SOURCE_MAX, "source", err, errlen))
		return -EINVAL;
	if (r->comment && geofw_store_check_text(r->comment, strlen(r->comment),
						 GEOFW_STORE_COMMENT_MAX, "comment", err, errlen))
		return -EINVAL;
	return 0;
}

int geofw_store_country_block_set(struct geofw_store *st, const struct geofw_rule *r,
				  char *err, size_t errlen)
{
	int ret, rc;

	if ((ret = store_need_txn(st, err, errlen)) || (ret = check_country_block(r, err, errlen)))
		return ret;
	if ((rc = country_block_put(st, r, (__u64)time(NULL))))
		return store_sql_fail(st, rc, "cannot write a country block", err, errlen);
	st->counts_ok = false;
	return 0;
}

/* Remove the source's country blocks: of code, or every one (NULL).  The
 * number removed, or -errno. */
static int country_blocks_del(struct geofw_store *st, const char *source, const char *code,
			      char *err, size_t errlen)
{
	sqlite3_stmt *s;
	int rc, n;

	rc = sqlite3_prepare_v2(st->db, "DELETE FROM rules WHERE kind=6 AND source=?1 AND "
				"(?2 IS NULL OR (family=0 AND addr=?2 AND plen=0))", -1, &s, NULL);
	if (rc)
		return store_sql_fail(st, rc, "cannot delete country blocks", err, errlen);
	sqlite3_bind_text(s, 1, source, -1, SQLITE_STATIC);
	if (code)
		sqlite3_bind_text(s, 2, code, 2, SQLITE_STATIC);
	rc = sqlite3_step(s) == SQLITE_DONE ? 0 : sqlite3_errcode(st->db);
	n = sqlite3_changes(st->db);
	sqlite3_finalize(s);
	if (rc)
		return store_sql_fail(st, rc, "cannot delete country blocks", err, errlen);
	st->counts_ok = false;
	return n;
}

int geofw_store_country_block_del(struct geofw_store *st, const char *source, __u8 country,
				  char *err, size_t errlen)
{
	const char *code = geofw_country_code(country);
	int ret;

	if ((ret = store_need_txn(st, err, errlen)))
		return ret;
	if (!code)
		return geofw_errf(err, errlen, -EINVAL, "invalid country id %u", country);
	return country_blocks_del(st, source, code, err, errlen);
}

static void country_blocks(struct geofw_store *st, const char *source, __u64 now,
			   __u8 action[GEOFW_MAX_COUNTRIES]);

int geofw_store_country_block_replace(struct geofw_store *st, const char *source,
				      const struct geofw_rule *r, size_t n, size_t *removed,
				      char *err, size_t errlen)
{
	__u8 had[GEOFW_MAX_COUNTRIES];
	__u64 now = (__u64)time(NULL);
	size_t i, j;
	int ret, rc, before;

	if ((ret = store_need_txn(st, err, errlen)))
		return ret;
	for (i = 0; i < n; i++) {
		if ((ret = check_country_block(&r[i], err, errlen)))
			return ret;
		if (strcmp(r[i].source, source))
			return geofw_errf(err, errlen, -EINVAL, "%s: source %s in a set of %s",
					  geofw_country_code(r[i].country), r[i].source, source);
		for (j = 0; j < i; j++)
			if (r[j].country == r[i].country)
				return geofw_errf(err, errlen, -EINVAL, "%s listed twice",
						  geofw_country_code(r[i].country));
	}
	/* Which countries the source had, to tell how many leave the set. */
	country_blocks(st, source, 0, had);
	if ((before = country_blocks_del(st, source, NULL, err, errlen)) < 0)
		return before;
	for (i = 0; i < n; i++) {
		if ((rc = country_block_put(st, &r[i], now)))
			return store_sql_fail(st, rc, "cannot write a country block", err, errlen);
		had[r[i].country] = 0;
	}
	if (removed)
		for (*removed = 0, i = 0; i < GEOFW_MAX_COUNTRIES; i++)
			*removed += had[i] != 0;
	return 0;
}

/* By country id, the strictest action of the rows of source (NULL: any)
 * not expired at now (0: expired ones too). */
static void country_blocks(struct geofw_store *st, const char *source, __u64 now,
			   __u8 action[GEOFW_MAX_COUNTRIES])
{
	sqlite3_stmt *s;

	memset(action, 0, GEOFW_MAX_COUNTRIES);
	if (sqlite3_prepare_v2(st->db, "SELECT addr,action FROM rules WHERE kind=6 AND "
			       "(?1=0 OR expires=0 OR expires>?1) AND (?2 IS NULL OR source=?2)",
			       -1, &s, NULL))
		return;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)now);
	if (source)
		sqlite3_bind_text(s, 2, source, -1, SQLITE_STATIC);
	while (sqlite3_step(s) == SQLITE_ROW) {
		const char *a = (const char *)sqlite3_column_text(s, 0);
		char code[3] = "";
		int id, act = sqlite3_column_int(s, 1);

		if (!a || sqlite3_column_bytes(s, 0) != 2 || act <= GEOFW_ACT_PASS ||
		    act >= GEOFW_ACT_MAX)
			continue;
		memcpy(code, a, 2);
		id = geofw_country_id(code);
		if (id <= 0 || id >= GEOFW_MAX_COUNTRIES)
			continue;
		/* Strictest first: drop (1) < reject < http403 < log. */
		if (!action[id] || act < action[id])
			action[id] = (__u8)act;
	}
	sqlite3_finalize(s);
}

void geofw_store_country_blocks(struct geofw_store *st, __u64 now,
				__u8 action[GEOFW_MAX_COUNTRIES])
{
	country_blocks(st, NULL, now ? now : 1, action);
}

long geofw_store_del_source(struct geofw_store *st, const char *source,
			    struct geofw_kdiff *diff, char *err, size_t errlen)
{
	struct src_row *old = NULL;
	sqlite3_stmt *s;
	size_t n_old = 0, i, kept;
	int ret, rc;

	long listed = 0;
	int idx;

	if ((ret = store_need_txn(st, err, errlen)))
		return ret;
	if ((idx = store_find_list(st, source)) >= 0) {
		listed = (long)st->lists[idx].n;
		if ((ret = store_remove_list(st, (size_t)idx, diff)))
			return store_sql_fail(st, ret, "cannot remove the list", err, errlen);
	}
	if ((rc = source_rows(st, source, 0, &old, &n_old)))
		return store_sql_fail(st, rc, "cannot read the source's rules", err, errlen);
	/* The country policy is no source's rules: del-source leaves it. */
	for (i = 0, kept = 0; i < n_old; i++) {
		if (old[i].kind == GEOFW_RULE_COUNTRY) {
			kept++;
			continue;
		}
		if (geofw_rule_kind_asn(old[i].kind)) {
			if ((ret = delete_asn_key(st, old[i].kind, old[i].asn, source)) < 0) {
				free(old);
				return store_sql_fail(st, -ret, "cannot delete", err, errlen);
			}
			continue;	/* the AS tables are rebuilt, no diff */
		}
		if ((ret = delete_key(st, old[i].kind, &old[i].p, source)) < 0) {
			free(old);
			return store_sql_fail(st, -ret, "cannot delete", err, errlen);
		}
		if ((ret = store_push_resolved(st, diff, old[i].kind, &old[i].p))) {
			free(old);
			return store_sql_fail(st, ret, "cannot read the rules back", err, errlen);
		}
	}
	free(old);
	if ((ret = country_blocks_del(st, source, NULL, err, errlen)) < 0)
		return ret;
	listed += ret;
	/* The list's shared id goes with its last row. */
	s = store_stmt(st, S_SRC_ID);
	sqlite3_bind_text(s, 1, source, -1, SQLITE_STATIC);
	if (sqlite3_step(s) == SQLITE_ROW) {
		__u32 id = (__u32)sqlite3_column_int64(s, 0);
		sqlite3_stmt *d;

		sqlite3_reset(s);
		if (id < GEOFW_MAX_RULE_IDS)
			store_id_set(st, id, ID_FREE);
		rc = sqlite3_prepare_v2(st->db, "DELETE FROM sources WHERE name=?1", -1, &d, NULL);
		if (rc == SQLITE_OK) {
			sqlite3_bind_text(d, 1, source, -1, SQLITE_STATIC);
			rc = sqlite3_step(d) == SQLITE_DONE ? 0 : sqlite3_errcode(st->db);
			sqlite3_finalize(d);
		}
		if (rc)
			return store_sql_fail(st, rc, "cannot delete the source", err, errlen);
	}
	sqlite3_reset(s);
	return (long)(n_old - kept) + listed;
}

long geofw_store_sweep(struct geofw_store *st, __u64 now, struct geofw_kdiff *diff,
		       char *err, size_t errlen)
{
	sqlite3_stmt *s;
	struct src_row *gone = NULL;
	size_t n = 0, cap = 0, i;
	int ret, rc;

	if ((ret = store_need_txn(st, err, errlen)))
		return ret;
	s = store_stmt(st, S_SWEEP);
	sqlite3_bind_int64(s, 1, (sqlite3_int64)now);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (n == cap) {
			void *p = realloc(gone, (cap = cap ? cap * 2 : 64) * sizeof(*gone));

			if (!p) {
				rc = SQLITE_NOMEM;
				break;
			}
			gone = p;
		}
		gone[n].kind = sqlite3_column_int(s, 0);
		/* AS rows: the AS tables are rebuilt by the caller. */
		if (geofw_rule_kind_asn(gone[n].kind) || store_column_key(s, 1, &gone[n].p))
			continue;
		store_id_release(st, (__u32)sqlite3_column_int64(s, 4));
		n++;
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		free(gone);
		return store_sql_fail(st, rc, "cannot remove expired rules", err, errlen);
	}
	for (i = 0; i < n; i++)
		if ((ret = store_push_resolved(st, diff, gone[i].kind, &gone[i].p))) {
			free(gone);
			return store_sql_fail(st, ret, "cannot read the rules back", err, errlen);
		}
	free(gone);
	/* A list imported with --ttl expires as a whole. */
	for (i = 0; i < st->n_lists; i++) {
		const struct slist *l = &st->lists[i];

		if (!l->expires || l->expires > now)
			continue;
		n += l->n;
		if ((ret = store_remove_list(st, i--, diff)))
			return store_sql_fail(st, ret, "cannot remove an expired list", err, errlen);
	}
	return (long)n;
}

__u64 geofw_store_next_expiry(struct geofw_store *st)
{
	sqlite3_stmt *s = store_stmt(st, S_NEXT_EXPIRY);
	__u64 v = 0;
	size_t i;

	if (sqlite3_step(s) == SQLITE_ROW)
		v = (__u64)sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	for (i = 0; i < st->n_lists; i++)
		if (st->lists[i].expires && (!v || st->lists[i].expires < v))
			v = st->lists[i].expires;
	return v;
}
