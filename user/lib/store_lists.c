// SPDX-License-Identifier: GPL-2.0-only
/*
 * The rule store: imported lists (one row per list, the prefixes in memory,
 * read again at open) and resolving a prefix's winning row across rows and
 * lists into the kernel diff (store.c: the tables).
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

/* ---- in-memory copies, (re)read from the database -------------------------------- */

void store_lists_free(struct geofw_store *st)
{
	size_t i;

	for (i = 0; i < st->n_lists; i++) {
		free(st->lists[i].source);
		free(st->lists[i].comment);
		free(st->lists[i].v);
	}
	free(st->lists);
	st->lists = NULL;
	st->n_lists = 0;
}

static bool list_valid(const struct geofw_cidr *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((v[i].family != 4 && v[i].family != 6) ||
		    v[i].prefixlen > (v[i].family == 4 ? 32 : 128) || geofw_cidr_has_host_bits(&v[i]) ||
		    (i && geofw_cidr_cmp(&v[i - 1], &v[i]) >= 0))
			return false;
	return true;
}

static int load_lists(struct geofw_store *st, char *err, size_t errlen)
{
	sqlite3_stmt *s;
	int rc;

	store_lists_free(st);
	rc = sqlite3_prepare_v2(st->db, "SELECT source,action,rule_id,expires,comment,uid,pid,"
				"created,entries,prefixes FROM lists ORDER BY source", -1, &s, NULL);
	if (rc)
		return store_sql_fail(st, rc, "reading the lists", err, errlen);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *src = (const char *)sqlite3_column_text(s, 0);
		const char *com = (const char *)sqlite3_column_text(s, 4);
		size_t n = (size_t)sqlite3_column_int64(s, 8);
		const void *blob = sqlite3_column_blob(s, 9);
		struct slist *l;
		void *p;

		if (!src || (size_t)sqlite3_column_bytes(s, 9) != n * sizeof(struct geofw_cidr) ||
		    (n && !blob)) {
			sqlite3_finalize(s);
			return geofw_errf(err, errlen, -EUCLEAN, "%s: list %s: damaged row", st->path,
					  src ? src : "?");
		}
		p = realloc(st->lists, (st->n_lists + 1) * sizeof(*st->lists));
		if (!p) {
			sqlite3_finalize(s);
			return -ENOMEM;
		}
		st->lists = p;
		l = &st->lists[st->n_lists++];
		memset(l, 0, sizeof(*l));
		l->source = strdup(src);
		l->comment = strdup(com ? com : "");
		l->action = (__u8)sqlite3_column_int(s, 1);
		l->rule_id = (__u32)sqlite3_column_int64(s, 2);
		l->expires = (__u64)sqlite3_column_int64(s, 3);
		l->uid = (__u32)sqlite3_column_int64(s, 5);
		l->pid = (__s32)sqlite3_column_int64(s, 6);
		l->created = (__u64)sqlite3_column_int64(s, 7);
		l->n = n;
		l->v = malloc(n ? n * sizeof(*l->v) : 1);
		if (!l->source || !l->comment || !l->v) {
			sqlite3_finalize(s);
			return -ENOMEM;
		}
		if (n)
			memcpy(l->v, blob, n * sizeof(*l->v));
		if (!list_valid(l->v, n) || l->action == GEOFW_ACT_PASS || l->action >= GEOFW_ACT_MAX) {
			sqlite3_finalize(s);
			return geofw_errf(err, errlen, -EUCLEAN, "%s: list %s: damaged prefixes",
					  st->path, src);
		}
		store_id_set(st, l->rule_id, ID_SOURCE);
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return store_sql_fail(st, rc, "reading the lists", err, errlen);
	return 0;
}

int store_load_memory(struct geofw_store *st, char *err, size_t errlen)
{
	sqlite3_stmt *s;
	int rc;

	memset(st->ids, 0, sizeof(st->ids));
	st->ids_used = 0;
	st->next_id = 1;
	memset(&st->countries, 0, sizeof(st->countries));
	st->counts_ok = false;

	rc = sqlite3_prepare_v2(st->db, "SELECT rule_id,1 FROM rules WHERE kind<>3 "
				"UNION SELECT rule_id,1 FROM port_rules "
				"UNION SELECT rule_id,2 FROM sources", -1, &s, NULL);
	if (rc)
		return store_sql_fail(st, rc, "reading rule ids", err, errlen);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		__s64 id = sqlite3_column_int64(s, 0);

		if (id > 0 && id < GEOFW_MAX_RULE_IDS)
			store_id_set(st, (__u32)id, st->ids[id] == ID_SOURCE ? ID_SOURCE :
						(__u8)sqlite3_column_int(s, 1));
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return store_sql_fail(st, rc, "reading rule ids", err, errlen);

	rc = sqlite3_prepare_v2(st->db, "SELECT key,value FROM settings", -1, &s, NULL);
	if (rc)
		return store_sql_fail(st, rc, "reading settings", err, errlen);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *k = (const char *)sqlite3_column_text(s, 0);
		__s64 v = sqlite3_column_int64(s, 1);

		if (!k)
			continue;
		if (!strcmp(k, "next_rule_id") && v > 0 && v < GEOFW_MAX_RULE_IDS)
			st->next_id = (__u32)v;
		else if (!strcmp(k, "country_override"))
			st->countries.override = v != 0;
		else if (!strcmp(k, "country_mode"))
			st->countries.mode = (__u8)v;
		else if (!strcmp(k, "country_action"))
			st->countries.action = (__u8)v;
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return store_sql_fail(st, rc, "reading settings", err, errlen);

	rc = sqlite3_prepare_v2(st->db, "SELECT prefix,action FROM rules WHERE kind=3", -1, &s,
				NULL);
	if (rc)
		return store_sql_fail(st, rc, "reading countries", err, errlen);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *code = (const char *)sqlite3_column_text(s, 0);
		int id = code ? geofw_country_id(code) : -1;

		if (id > 0 && id < GEOFW_MAX_COUNTRIES) {
			st->countries.listed[id] = true;
			st->countries.country_action[id] = (__u8)sqlite3_column_int(s, 1);
		}
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return store_sql_fail(st, rc, "reading countries", err, errlen);
	return load_lists(st, err, errlen);
}

/* ---- resolving ------------------------------------------------------------------- */

/* Precedence among block rules: the strictest action (drop 1 < reject <
 * http403 < log 4), then the longest expiry (0 = never). */
static bool beats(__u8 action, __u64 expires, const struct geofw_kentry *cur)
{
	if (!cur->present || action != cur->action)
		return !cur->present || action < cur->action;
	if (!cur->expires)
		return false;
	return !expires || expires > cur->expires;
}

void store_consider(struct geofw_kentry *e, const struct slist *l)
{
	if (beats(l->action, l->expires, e)) {
		e->present = true;
		e->action = l->action;
		e->expires = l->expires;
		e->rule_id = l->rule_id;
		e->src_class = geofw_source_class(l->source);
	}
}

int store_cmp_cidr_v(const void *a, const void *b)
{
	return geofw_cidr_cmp(a, b);
}

static bool list_find(const struct slist *l, const struct geofw_cidr *p)
{
	return l->n && bsearch(p, l->v, l->n, sizeof(*l->v), store_cmp_cidr_v);
}

int store_find_list(const struct geofw_store *st, const char *source)
{
	size_t i;

	for (i = 0; i < st->n_lists; i++)
		if (!strcmp(st->lists[i].source, source))
			return (int)i;
	return -1;
}

/* e->prefix and e->allow set: fill in what the rows and lists say. */
static int resolve_one(struct geofw_store *st, struct geofw_kentry *e)
{
	sqlite3_stmt *s = store_stmt(st, S_RESOLVE);
	size_t i;
	int rc;

	store_bind_key(s, e->allow ? GEOFW_RULE_ALLOW : GEOFW_RULE_BLOCK, &e->prefix);
	rc = sqlite3_step(s);
	e->present = rc == SQLITE_ROW;
	e->action = 0;
	e->rule_id = 0;
	e->expires = 0;
	e->src_class = 0;
	if (rc == SQLITE_ROW) {
		e->action = e->allow ? 0 : (__u8)sqlite3_column_int(s, 0);
		e->rule_id = (__u32)sqlite3_column_int64(s, 1);
		e->expires = e->allow ? 0 : (__u64)sqlite3_column_int64(s, 2);
		e->src_class = e->allow ? 0 :
			geofw_source_class((const char *)sqlite3_column_text(s, 3));
	}
	sqlite3_reset(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_sql_errno(rc);
	if (!e->allow)
		for (i = 0; i < st->n_lists; i++)
			if (list_find(&st->lists[i], &e->prefix))
				store_consider(e, &st->lists[i]);
	return 0;
}

int store_push_resolved(struct geofw_store *st, struct geofw_kdiff *diff, int kind,
			const struct geofw_cidr *p)
{
	struct geofw_kentry e = { .prefix = *p, .allow = kind == GEOFW_RULE_ALLOW };
	int ret = resolve_one(st, &e);

	return ret ? ret : geofw_kdiff_push(diff, &e);
}

int geofw_store_resolve(struct geofw_store *st, struct geofw_kdiff *diff)
{
	size_t i;
	int ret;

	for (i = 0; i < diff->n; i++)
		if ((ret = resolve_one(st, &diff->v[i])))
			return ret;
	return 0;
}


/* ---- imported lists ------------------------------------------------------------- */

/*
 * The resolved entries of the sorted prefixes c[] go into diff: the rows by
 * one query each while there are few, by one ordered scan merged with c[]
 * when there are many (an import), and the lists by merging.
 */
static int resolve_sorted(struct geofw_store *st, const struct geofw_cidr *c, size_t n,
			  struct geofw_kdiff *diff)
{
	struct geofw_kentry *e;
	sqlite3_stmt *s;
	size_t base = diff->n, i, j, l;
	int rc, ret;

	if (n <= 4096) {
		for (i = 0; i < n; i++)
			if ((ret = store_push_resolved(st, diff, GEOFW_RULE_BLOCK, &c[i])))
				return ret;
		return 0;
	}
	for (i = 0; i < n; i++) {
		struct geofw_kentry z = { .prefix = c[i] };

		if ((ret = geofw_kdiff_push(diff, &z)))
			return ret;
	}
	e = diff->v + base;
	rc = sqlite3_prepare_v2(st->db, "SELECT family,addr,plen,action,rule_id,expires,source FROM rules "
				"WHERE kind=1 ORDER BY family,addr,plen,action,expires=0 DESC,"
				"expires DESC", -1, &s, NULL);
	if (rc)
		return store_sql_errno(rc);
	i = 0;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct geofw_cidr k;
		int cmp = 1;

		if (store_column_key(s, 0, &k))
			continue;
		while (i < n && (cmp = geofw_cidr_cmp(&c[i], &k)) < 0)
			i++;
		if (i < n && !cmp && !e[i].present) {
			e[i].present = true;
			e[i].action = (__u8)sqlite3_column_int(s, 3);
			e[i].rule_id = (__u32)sqlite3_column_int64(s, 4);
			e[i].expires = (__u64)sqlite3_column_int64(s, 5);
			e[i].src_class =
				geofw_source_class((const char *)sqlite3_column_text(s, 6));
		}
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return store_sql_errno(rc);
	for (l = 0; l < st->n_lists; l++) {
		const struct slist *L = &st->lists[l];

		for (i = 0, j = 0; i < n && j < L->n; ) {
			int cmp = geofw_cidr_cmp(&c[i], &L->v[j]);

			if (cmp < 0) {
				i++;
			} else if (cmp > 0) {
				j++;
			} else {
				store_consider(&e[i], L);
				i++;
				j++;
			}
		}
	}
	return 0;
}

/* Sorted a and b into out (allocated): their union, or the prefixes in
 * exactly one of them (sym).  *only_a counts those of a missing in b. */
static int merge_sets(const struct geofw_cidr *a, size_t na, const struct geofw_cidr *b,
		      size_t nb, bool sym, struct geofw_cidr **out, size_t *n, size_t *only_a)
{
	struct geofw_cidr *v = malloc((na + nb ? na + nb : 1) * sizeof(*v));
	size_t i = 0, j = 0, k = 0;

	if (!v)
		return -ENOMEM;
	*only_a = 0;
	while (i < na || j < nb) {
		int cmp = i == na ? 1 : j == nb ? -1 : geofw_cidr_cmp(&a[i], &b[j]);

		if (cmp < 0) {
			v[k++] = a[i++];
			(*only_a)++;
		} else if (cmp > 0) {
			v[k++] = b[j++];
		} else {
			if (!sym)
				v[k++] = a[i];
			i++;
			j++;
		}
	}
	*out = v;
	*n = k;
	return 0;
}

static int write_list(struct geofw_store *st, const struct slist *l)
{
	sqlite3_stmt *s;
	int rc;

	rc = sqlite3_prepare_v2(st->db, "INSERT OR REPLACE INTO lists(source,action,rule_id,expires,"
				"comment,uid,pid,created,entries,prefixes) VALUES(?1,?2,?3,?4,?5,"
				"?6,?7,?8,?9,?10)", -1, &s, NULL);
	if (rc)
		return rc;
	sqlite3_bind_text(s, 1, l->source, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 2, l->action);
	sqlite3_bind_int64(s, 3, l->rule_id);
	sqlite3_bind_int64(s, 4, (sqlite3_int64)l->expires);
	sqlite3_bind_text(s, 5, l->comment, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 6, l->uid);
	sqlite3_bind_int64(s, 7, l->pid);
	sqlite3_bind_int64(s, 8, (sqlite3_int64)l->created);
	sqlite3_bind_int64(s, 9, (sqlite3_int64)l->n);
	sqlite3_bind_blob64(s, 10, l->v, l->n * sizeof(*l->v), SQLITE_STATIC);
	rc = sqlite3_step(s) == SQLITE_DONE ? 0 : sqlite3_errcode(st->db);
	sqlite3_finalize(s);
	return rc;
}

/* Forget list idx (its row deleted already). */
static void drop_list(struct geofw_store *st, size_t idx)
{
	struct slist *l = &st->lists[idx];

	free(l->source);
	free(l->comment);
	free(l->v);
	st->lists[idx] = st->lists[--st->n_lists];
}

static int delete_list_row(struct geofw_store *st, const char *source)
{
	sqlite3_stmt *s;
	int rc = sqlite3_prepare_v2(st->db, "DELETE FROM lists WHERE source=?1", -1, &s, NULL);

	if (rc)
		return rc;
	sqlite3_bind_text(s, 1, source, -1, SQLITE_STATIC);
	rc = sqlite3_step(s) == SQLITE_DONE ? 0 : sqlite3_errcode(st->db);
	sqlite3_finalize(s);
	return rc;
}

/* Remove list idx entirely; its prefixes' entries into diff. */
int store_remove_list(struct geofw_store *st, size_t idx, struct geofw_kdiff *diff)
{
	struct geofw_cidr *v = st->lists[idx].v;
	size_t n = st->lists[idx].n;
	int rc, ret;

	if ((rc = delete_list_row(st, st->lists[idx].source)))
		return store_sql_errno(rc);
	st->lists[idx].v = NULL;
	drop_list(st, idx);
	ret = resolve_sorted(st, v, n, diff);
	free(v);
	return ret;
}

int geofw_store_import(struct geofw_store *st, const char *source, const struct geofw_cidr *v,
		       size_t n, const struct geofw_rule *attrs, bool replace, size_t *removed,
		       struct geofw_kdiff *diff, char *err, size_t errlen)
{
	struct geofw_rule probe = *attrs;
	struct geofw_cidr *newv = NULL, *cand = NULL;
	size_t n_new = 0, n_cand = 0, gone = 0, dummy;
	__u64 now = (__u64)time(NULL);
	struct slist *l, fresh = {};
	int idx, ret, rc;

	*removed = 0;
	if ((ret = store_need_txn(st, err, errlen)))
		return ret;
	probe.kind = GEOFW_RULE_BLOCK;
	probe.source = source;
	probe.prefix = (struct geofw_cidr){ .family = 4 };
	if ((ret = store_check_rule(&probe, err, errlen)))
		return ret;
	if (!list_valid(v, n))
		return geofw_errf(err, errlen, -EINVAL, "import: prefixes not canonical and sorted");
	idx = store_find_list(st, source);
	l = idx >= 0 ? &st->lists[idx] : &fresh;
	/* Without --replace the list grows: the old prefixes stay. */
	ret = replace || idx < 0 ? merge_sets(NULL, 0, v, n, false, &newv, &n_new, &dummy) :
				   merge_sets(l->v, l->n, v, n, false, &newv, &n_new, &dummy);
	if (ret)
		return ret;
	/* The kernel changes where a prefix comes or goes, everywhere when
	 * the list's action or expiry changes. */
	ret = merge_sets(l->v, l->n, newv, n_new,
			 idx >= 0 && l->action == attrs->action && l->expires == attrs->expires,
			 &cand, &n_cand, &gone);
	if (ret)
		goto out;
	if (idx < 0) {
		void *p = realloc(st->lists, (st->n_lists + 1) * sizeof(*st->lists));

		if (!p) {
			ret = -ENOMEM;
			goto out;
		}
		st->lists = p;
		idx = (int)st->n_lists++;
		l = &st->lists[idx];
		memset(l, 0, sizeof(*l));
		l->source = strdup(source);
		if (!l->source) {
			st->n_lists--;
			ret = -ENOMEM;
			goto out;
		}
	}
	free(l->comment);
	l->comment = strdup(attrs->comment ? attrs->comment : "");
	l->action = attrs->action;
	l->expires = attrs->expires;
	l->uid = attrs->uid;
	l->pid = attrs->pid;
	l->created = attrs->created ? attrs->created : now;
	l->rule_id = store_source_id(st, source, now);
	free(l->v);
	l->v = newv;
	l->n = n_new;
	newv = NULL;
	if (!l->comment) {
		ret = -ENOMEM;
		goto out;
	}
	/* An empty list is no list (import --replace of an empty file). */
	rc = l->n ? write_list(st, l) : delete_list_row(st, source);
	if (rc) {
		ret = store_sql_fail(st, rc, "cannot write the list", err, errlen);
		goto out;
	}
	if (!l->n)
		drop_list(st, (size_t)idx);
	*removed = gone;
	if ((ret = resolve_sorted(st, cand, n_cand, diff)))
		ret = store_sql_fail(st, ret, "cannot read the rules back", err, errlen);
out:
	free(newv);
	free(cand);
	return ret;
}

/* Remove prefixes from the lists (of source only, unless NULL): the
 * lists touched are written again.  found[i] is set for each one removed. */
int store_unlist(struct geofw_store *st, const struct geofw_cidr *p, size_t n,
		 const char *source, bool *found)
{
	size_t i, k;
	int rc;

	for (k = 0; k < st->n_lists; k++) {
		struct slist *l = &st->lists[k];
		bool dirty = false;

		if (source && strcmp(source, l->source))
			continue;
		for (i = 0; i < n; i++) {
			struct geofw_cidr *hit = l->n ? bsearch(&p[i], l->v, l->n, sizeof(*l->v),
								store_cmp_cidr_v) : NULL;

			if (!hit)
				continue;
			memmove(hit, hit + 1, (size_t)(l->v + l->n - hit - 1) * sizeof(*hit));
			l->n--;
			found[i] = true;
			dirty = true;
		}
		if (!dirty)
			continue;
		if (l->n) {
			if ((rc = write_list(st, l)))
				return rc;
		} else {
			if ((rc = delete_list_row(st, l->source)))
				return rc;
			drop_list(st, k--);
		}
	}
	return 0;
}
