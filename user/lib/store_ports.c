// SPDX-License-Identifier: GPL-2.0-only
/*
 * The rule store: port-scoped rules (ports.h) and the rate limits set with
 * fwctl, in their own tables (schema 3).
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

#include "msg.h"
#include "ports.h"
#include "store_int.h"

/* ---- port-scoped rules ------------------------------------------------------------ */

int geofw_store_port_add(struct geofw_store *st, const struct geofw_prule *rules, size_t n,
			 char *err, size_t errlen)
{
	char ports[GEOFW_PORTS_STRLEN], target[GEOFW_CIDR_STRLEN];
	__u64 now = (__u64)time(NULL);
	sqlite3_stmt *q = NULL, *u = NULL;
	size_t i;
	int ret, rc = SQLITE_OK;

	if ((ret = store_need_txn(st, err, errlen)))
		return ret;
	rc = sqlite3_prepare_v2(st->db, "SELECT rule_id FROM port_rules WHERE kind=?1 AND "
				"ports=?2 AND target=?3 AND source=?4", -1, &q, NULL);
	if (!rc)
		rc = sqlite3_prepare_v2(st->db, "INSERT OR REPLACE INTO port_rules(kind,ports,"
					"target,source,action,rule_id,expires,comment,uid,pid,"
					"created) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11)",
					-1, &u, NULL);
	for (i = 0; !rc && i < n; i++) {
		const struct geofw_prule *r = &rules[i];
		const char *src = r->source ? r->source : "cli";
		const char *comment = r->comment ? r->comment : "";
		__u32 id = 0;

		if (geofw_ports_format(&r->ports, ports, sizeof(ports)) ||
		    geofw_prule_target(r, target, sizeof(target)) ||
		    r->kind < GEOFW_PRULE_ALLOW || r->kind > GEOFW_PRULE_ONLY ||
		    r->action >= GEOFW_ACT_MAX ||
		    (r->kind != GEOFW_PRULE_ALLOW && r->action == GEOFW_ACT_PASS)) {
			ret = geofw_errf(err, errlen, -EINVAL, "invalid port-scoped rule");
			break;
		}
		if ((ret = geofw_store_check_text(comment, strlen(comment), GEOFW_STORE_COMMENT_MAX,
						  "comment", err, errlen)) ||
		    (ret = geofw_store_check_text(src, strlen(src), GEOFW_STORE_SOURCE_MAX,
						  "source", err, errlen)))
			break;
		sqlite3_bind_int(q, 1, r->kind);
		sqlite3_bind_text(q, 2, ports, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 3, target, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 4, src, -1, SQLITE_STATIC);
		if ((rc = sqlite3_step(q)) == SQLITE_ROW)
			id = (__u32)sqlite3_column_int64(q, 0);
		sqlite3_reset(q);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE)
			break;
		rc = SQLITE_OK;
		if (!id)
			id = store_id_alloc(st, ID_ROW);
		sqlite3_bind_int(u, 1, r->kind);
		sqlite3_bind_text(u, 2, ports, -1, SQLITE_STATIC);
		sqlite3_bind_text(u, 3, target, -1, SQLITE_STATIC);
		sqlite3_bind_text(u, 4, src, -1, SQLITE_STATIC);
		sqlite3_bind_int(u, 5, r->action);
		sqlite3_bind_int64(u, 6, id);
		sqlite3_bind_int64(u, 7, (sqlite3_int64)r->expires);
		sqlite3_bind_text(u, 8, comment, -1, SQLITE_STATIC);
		sqlite3_bind_int64(u, 9, r->uid);
		sqlite3_bind_int64(u, 10, r->pid);
		sqlite3_bind_int64(u, 11, (sqlite3_int64)(r->created ? r->created : now));
		rc = sqlite3_step(u) == SQLITE_DONE ? SQLITE_OK : sqlite3_errcode(st->db);
		sqlite3_reset(u);
	}
	sqlite3_finalize(q);
	sqlite3_finalize(u);
	if (!ret && rc)
		ret = store_sql_fail(st, rc, "cannot save the port-scoped rule", err, errlen);
	return ret;
}

long geofw_store_port_del(struct geofw_store *st, int kind, const struct geofw_ports *ports,
			  const char *target, const char *source, char *err, size_t errlen)
{
	char text[GEOFW_PORTS_STRLEN];
	sqlite3_stmt *s;
	long n = 0;
	int ret, rc;

	if ((ret = store_need_txn(st, err, errlen)))
		return ret;
	if (geofw_ports_format(ports, text, sizeof(text)))
		return geofw_errf(err, errlen, -EINVAL, "port list too long");
	rc = sqlite3_prepare_v2(st->db, "DELETE FROM port_rules WHERE kind=?1 AND ports=?2 AND "
				"(?3 IS NULL OR target=?3) AND (?4 IS NULL OR source=?4) "
				"RETURNING rule_id", -1, &s, NULL);
	if (rc)
		return store_sql_fail(st, rc, "cannot remove the port-scoped rule", err, errlen);
	sqlite3_bind_int(s, 1, kind);
	sqlite3_bind_text(s, 2, text, -1, SQLITE_STATIC);
	if (target)
		sqlite3_bind_text(s, 3, target, -1, SQLITE_STATIC);
	if (source)
		sqlite3_bind_text(s, 4, source, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		store_id_release(st, (__u32)sqlite3_column_int64(s, 0));
		n++;
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return store_sql_fail(st, rc, "cannot remove the port-scoped rule", err, errlen);
	if (!n)
		return geofw_errf(err, errlen, -ENOENT, "no %s rule%s%s on %s%s%s",
				  geofw_prule_kind_name(kind), target ? " for " : "",
				  target ? target : "", text, source ? " of source " : "",
				  source ? source : "");
	return n;
}

int geofw_store_port_for_each(struct geofw_store *st,
			      int (*fn)(const struct geofw_prule *r, void *ctx), void *ctx)
{
	sqlite3_stmt *s;
	int rc, ret = 0;

	rc = sqlite3_prepare_v2(st->db, "SELECT kind,ports,target,source,action,rule_id,expires,"
				"comment,uid,pid,created FROM port_rules "
				"ORDER BY kind,ports,target,source", -1, &s, NULL);
	if (rc)
		return store_sql_errno(rc);
	while (!ret && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct geofw_prule r = {};
		const char *ports = (const char *)sqlite3_column_text(s, 1);
		const char *target = (const char *)sqlite3_column_text(s, 2);

		r.kind = sqlite3_column_int(s, 0);
		/* Rows this code wrote parse; anything else is skipped, not fatal. */
		if (!ports || !target || geofw_ports_parse(ports, &r.ports, NULL, 0) ||
		    geofw_prule_target_parse(target, &r, NULL, 0))
			continue;
		r.source = (const char *)sqlite3_column_text(s, 3);
		r.action = (__u8)sqlite3_column_int(s, 4);
		r.rule_id = (__u32)sqlite3_column_int64(s, 5);
		r.expires = (__u64)sqlite3_column_int64(s, 6);
		r.comment = (const char *)sqlite3_column_text(s, 7);
		r.uid = (__u32)sqlite3_column_int64(s, 8);
		r.pid = (__s32)sqlite3_column_int64(s, 9);
		r.created = (__u64)sqlite3_column_int64(s, 10);
		ret = fn(&r, ctx);
	}
	sqlite3_finalize(s);
	if (ret)
		return ret;
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : store_sql_errno(rc);
}

long geofw_store_port_sweep(struct geofw_store *st, __u64 now, char *err, size_t errlen)
{
	sqlite3_stmt *s;
	long n = 0;
	int ret, rc;

	if ((ret = store_need_txn(st, err, errlen)))
		return ret;
	rc = sqlite3_prepare_v2(st->db, "DELETE FROM port_rules WHERE expires>0 AND "
				"expires<=?1 RETURNING rule_id", -1, &s, NULL);
	if (rc)
		return store_sql_fail(st, rc, "cannot remove expired port-scoped rules", err, errlen);
	sqlite3_bind_int64(s, 1, (sqlite3_int64)now);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		store_id_release(st, (__u32)sqlite3_column_int64(s, 0));
		n++;
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return store_sql_fail(st, rc, "cannot remove expired port-scoped rules", err, errlen);
	return n;
}

/* ---- rate limits ------------------------------------------------------------------ */

int geofw_store_rl_put(struct geofw_store *st, const char *name, const char *spec, __u32 uid,
		       __s32 pid, char *err, size_t errlen)
{
	sqlite3_stmt *s;
	int ret, rc;

	if ((ret = store_need_txn(st, err, errlen)))
		return ret;
	rc = sqlite3_prepare_v2(st->db, "INSERT OR REPLACE INTO ratelimits(name,spec,uid,pid,"
				"created) VALUES(?1,?2,?3,?4,?5)", -1, &s, NULL);
	if (rc)
		return store_sql_fail(st, rc, "cannot save the rate limit", err, errlen);
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, spec, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, uid);
	sqlite3_bind_int64(s, 4, pid);
	sqlite3_bind_int64(s, 5, (sqlite3_int64)time(NULL));
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : store_sql_fail(st, rc, "cannot save the rate limit", err, errlen);
}

int geofw_store_rl_del(struct geofw_store *st, const char *name, char *err, size_t errlen)
{
	sqlite3_stmt *s;
	int ret, rc;

	if ((ret = store_need_txn(st, err, errlen)))
		return ret;
	rc = sqlite3_prepare_v2(st->db, "DELETE FROM ratelimits WHERE name=?1", -1, &s, NULL);
	if (rc)
		return store_sql_fail(st, rc, "cannot remove the rate limit", err, errlen);
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return store_sql_fail(st, rc, "cannot remove the rate limit", err, errlen);
	if (!sqlite3_changes(st->db))
		return geofw_errf(err, errlen, -ENOENT, "no rate limit named %s set with fwctl",
				  name);
	return 0;
}

int geofw_store_rl_for_each(struct geofw_store *st,
			    int (*fn)(const char *name, const char *spec, void *ctx), void *ctx)
{
	sqlite3_stmt *s;
	int rc, ret = 0;

	rc = sqlite3_prepare_v2(st->db, "SELECT name,spec FROM ratelimits ORDER BY name", -1, &s,
				NULL);
	if (rc)
		return store_sql_errno(rc);
	while (!ret && (rc = sqlite3_step(s)) == SQLITE_ROW)
		ret = fn((const char *)sqlite3_column_text(s, 0),
			 (const char *)sqlite3_column_text(s, 1), ctx);
	sqlite3_finalize(s);
	if (ret)
		return ret;
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : store_sql_errno(rc);
}
