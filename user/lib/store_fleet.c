// SPDX-License-Identifier: GPL-2.0-only
/*
 * The rule store: the fleet's settings, outbox and the bucket as this host
 * applied it (geofwd/fleet.c).
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
#include "store_int.h"

/* ---- fleet: applied revision and the outbox ------------------------------------- */

/* The statement on key's row (the caller reads column 0 and finalizes);
 * -ENOENT when there is none. */
static int setting_row(struct geofw_store *st, const char *key, sqlite3_stmt **out)
{
	sqlite3_stmt *s;
	int rc;

	rc = sqlite3_prepare_v2(st->db, "SELECT value FROM settings WHERE key=?1", -1, &s, NULL);
	if (rc)
		return store_sql_errno(rc);
	sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*out = s;
		return 0;
	}
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? -ENOENT : store_sql_errno(rc);
}

int geofw_store_get_setting(struct geofw_store *st, const char *key, long long *value)
{
	sqlite3_stmt *s;
	int ret = setting_row(st, key, &s);

	if (ret)
		return ret;
	*value = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return 0;
}

int geofw_store_set_setting(struct geofw_store *st, const char *key, long long value,
			    char *err, size_t errlen)
{
	int rc;

	if (st->read_only)
		return geofw_errf(err, errlen, -EROFS, "%s: read-only", st->path);
	rc = store_put_setting(st, key, value);
	return rc ? store_sql_fail(st, rc, "writing a setting", err, errlen) : 0;
}

/* Texts share the settings table: its INTEGER affinity would turn a text
 * that reads as a number ("0123") into one, so texts are stored with a
 * leading "t:" that no number has. */
int geofw_store_get_text(struct geofw_store *st, const char *key, char **value)
{
	const char *t;
	sqlite3_stmt *s;
	int ret;

	*value = NULL;
	ret = setting_row(st, key, &s);
	if (ret)
		return ret;
	t = (const char *)sqlite3_column_text(s, 0);
	if (t && !strncmp(t, "t:", 2))
		ret = (*value = strdup(t + 2)) ? 0 : -ENOMEM;
	else
		ret = -ENOENT;	/* a number: not a text */
	sqlite3_finalize(s);
	return ret;
}

int geofw_store_set_text(struct geofw_store *st, const char *key, const char *value,
			 char *err, size_t errlen)
{
	sqlite3_stmt *s;
	char *t = NULL;
	int rc;

	if (st->read_only)
		return geofw_errf(err, errlen, -EROFS, "%s: read-only", st->path);
	if (value && asprintf(&t, "t:%s", value) < 0)
		return geofw_errf(err, errlen, -ENOMEM, "out of memory");
	rc = sqlite3_prepare_v2(st->db, t ? "INSERT OR REPLACE INTO settings(key,value) "
				"VALUES(?1,?2)" : "DELETE FROM settings WHERE key=?1", -1, &s, NULL);
	if (!rc) {
		sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
		if (t)
			sqlite3_bind_text(s, 2, t, -1, SQLITE_STATIC);
		rc = sqlite3_step(s) == SQLITE_DONE ? 0 : sqlite3_errcode(st->db);
		sqlite3_finalize(s);
	}
	free(t);
	return rc ? store_sql_fail(st, rc, "writing a setting", err, errlen) : 0;
}

int geofw_store_setting_keys(struct geofw_store *st, const char *prefix,
			     int (*fn)(const char *key, void *ctx), void *ctx)
{
	size_t plen = strlen(prefix);
	sqlite3_stmt *s;
	int rc, ret = 0;

	rc = sqlite3_prepare_v2(st->db, "SELECT key FROM settings ORDER BY key", -1, &s, NULL);
	if (rc)
		return store_sql_errno(rc);
	while (!ret && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *k = (const char *)sqlite3_column_text(s, 0);

		if (k && !strncmp(k, prefix, plen))
			ret = fn(k, ctx);
	}
	sqlite3_finalize(s);
	if (ret)
		return ret;
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : store_sql_errno(rc);
}

/* Made on first use, so that a database without a fleet stays as it was
 * (and one written by this version still opens in the last one).  The
 * outbox of the first fleet version had no base column. */
static int outbox_table(struct geofw_store *st, char *err, size_t errlen)
{
	sqlite3_stmt *s;
	int ret;

	ret = store_exec(st, "CREATE TABLE IF NOT EXISTS fleet_outbox("
			 " id INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL,"
			 " value TEXT, created INTEGER NOT NULL, base INTEGER NOT NULL DEFAULT 0)",
			 err, errlen);
	if (ret)
		return ret;
	if (sqlite3_prepare_v2(st->db, "SELECT base FROM fleet_outbox", -1, &s, NULL) == SQLITE_OK) {
		sqlite3_finalize(s);
		return 0;
	}
	return store_exec(st, "ALTER TABLE fleet_outbox ADD COLUMN base INTEGER NOT NULL DEFAULT 0",
			  err, errlen);
}

int geofw_store_outbox_add(struct geofw_store *st, const char *key, const char *value,
			   long long base, char *err, size_t errlen)
{
	sqlite3_stmt *s;
	int rc, ret;

	if (st->read_only)
		return geofw_errf(err, errlen, -EROFS, "%s: read-only", st->path);
	if ((ret = outbox_table(st, err, errlen)))
		return ret;
	rc = sqlite3_prepare_v2(st->db, "INSERT INTO fleet_outbox(key,value,created,base) "
				"VALUES(?1,?2,?3,?4)", -1, &s, NULL);
	if (rc)
		return store_sql_fail(st, rc, "queueing a fleet change", err, errlen);
	sqlite3_bind_text(s, 1, key, -1, SQLITE_TRANSIENT);
	if (value)
		sqlite3_bind_text(s, 2, value, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)time(NULL));
	sqlite3_bind_int64(s, 4, base);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : store_sql_fail(st, rc, "queueing a fleet change", err, errlen);
}

int geofw_store_outbox_del(struct geofw_store *st, long long id, char *err, size_t errlen)
{
	int rc;

	if (!st->outbox_del) {
		rc = sqlite3_prepare_v2(st->db, "DELETE FROM fleet_outbox WHERE id=?1", -1,
					&st->outbox_del, NULL);
		if (rc == SQLITE_ERROR)
			return 0;	/* no table: nothing queued */
		if (rc)
			return store_sql_fail(st, rc, "dequeueing a fleet change", err, errlen);
	}
	sqlite3_reset(st->outbox_del);
	sqlite3_bind_int64(st->outbox_del, 1, id);
	rc = sqlite3_step(st->outbox_del);
	sqlite3_reset(st->outbox_del);
	return rc == SQLITE_DONE ? 0 : store_sql_fail(st, rc, "dequeueing a fleet change", err, errlen);
}

int geofw_store_outbox_for_each(struct geofw_store *st, long long after,
				int (*fn)(long long id, const char *key, const char *value,
					  long long base, void *ctx), void *ctx)
{
	static const char sql[] = "SELECT id,key,value,base FROM fleet_outbox WHERE id>?1 "
				  "ORDER BY id";
	sqlite3_stmt *s;
	int rc, ret = 0;

	rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);
	/* No table yet, or the first version's (no base column: 0, unknown). */
	if (rc == SQLITE_ERROR && !st->read_only && !outbox_table(st, NULL, 0))
		rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);
	if (rc == SQLITE_ERROR)
		return 0;
	if (rc)
		return store_sql_errno(rc);
	sqlite3_bind_int64(s, 1, after);
	while (!ret && (rc = sqlite3_step(s)) == SQLITE_ROW)
		ret = fn(sqlite3_column_int64(s, 0), (const char *)sqlite3_column_text(s, 1),
			 (const char *)sqlite3_column_text(s, 2), sqlite3_column_int64(s, 3), ctx);
	if (!ret && rc != SQLITE_DONE)
		ret = store_sql_errno(rc);
	sqlite3_finalize(s);
	return ret;
}

/* ---- fleet: the bucket as applied ------------------------------------------------ */

static int fleet_table(struct geofw_store *st, char *err, size_t errlen)
{
	return store_exec(st, "CREATE TABLE IF NOT EXISTS fleet_keys(key TEXT PRIMARY KEY,"
			  " rev INTEGER NOT NULL, value TEXT) WITHOUT ROWID", err, errlen);
}

int geofw_store_fleet_put(struct geofw_store *st, const char *key, long long rev,
			  const char *value, char *err, size_t errlen)
{
	int rc, ret;

	if (st->read_only)
		return geofw_errf(err, errlen, -EROFS, "%s: read-only", st->path);
	if (!st->fleet_put) {
		if ((ret = fleet_table(st, err, errlen)))
			return ret;
		rc = sqlite3_prepare_v2(st->db, "INSERT OR REPLACE INTO fleet_keys(key,rev,value) "
					"VALUES(?1,?2,?3)", -1, &st->fleet_put, NULL);
		if (rc)
			return store_sql_fail(st, rc, "recording a fleet key", err, errlen);
	}
	sqlite3_reset(st->fleet_put);
	sqlite3_clear_bindings(st->fleet_put);
	sqlite3_bind_text(st->fleet_put, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st->fleet_put, 2, rev);
	if (value)
		sqlite3_bind_text(st->fleet_put, 3, value, -1, SQLITE_STATIC);
	rc = sqlite3_step(st->fleet_put);
	sqlite3_reset(st->fleet_put);
	return rc == SQLITE_DONE ? 0 : store_sql_fail(st, rc, "recording a fleet key", err, errlen);
}

int geofw_store_fleet_get(struct geofw_store *st, const char *key, long long *rev,
			  char **value)
{
	sqlite3_stmt *s;
	int rc, ret = -ENOENT;

	*value = NULL;
	rc = sqlite3_prepare_v2(st->db, "SELECT rev,value FROM fleet_keys WHERE key=?1", -1, &s,
				NULL);
	if (rc == SQLITE_ERROR)
		return -ENOENT;	/* no table yet */
	if (rc)
		return store_sql_errno(rc);
	sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		const char *v = (const char *)sqlite3_column_text(s, 1);

		*rev = sqlite3_column_int64(s, 0);
		ret = 0;
		if (v && !(*value = strdup(v)))
			ret = -ENOMEM;
	} else if (rc != SQLITE_DONE) {
		ret = store_sql_errno(rc);
	}
	sqlite3_finalize(s);
	return ret;
}

int geofw_store_fleet_clear(struct geofw_store *st, char *err, size_t errlen)
{
	int ret;

	if ((ret = fleet_table(st, err, errlen)))
		return ret;
	return store_exec(st, "DELETE FROM fleet_keys", err, errlen);
}

int geofw_store_fleet_for_each(struct geofw_store *st, const char *prefix,
			       int (*fn)(const char *key, long long rev, const char *value,
					 void *ctx), void *ctx)
{
	sqlite3_stmt *s;
	int rc, ret = 0;

	rc = sqlite3_prepare_v2(st->db, "SELECT key,rev,value FROM fleet_keys "
				"WHERE substr(key,1,length(?1))=?1 ORDER BY key", -1, &s, NULL);
	if (rc == SQLITE_ERROR)
		return 0;	/* no table yet */
	if (rc)
		return store_sql_errno(rc);
	sqlite3_bind_text(s, 1, prefix, -1, SQLITE_STATIC);
	while (!ret && (rc = sqlite3_step(s)) == SQLITE_ROW)
		ret = fn((const char *)sqlite3_column_text(s, 0), sqlite3_column_int64(s, 1),
			 (const char *)sqlite3_column_text(s, 2), ctx);
	if (!ret && rc != SQLITE_DONE)
		ret = store_sql_errno(rc);
	sqlite3_finalize(s);
	return ret;
}
