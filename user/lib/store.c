// SPDX-License-Identifier: GPL-2.0-only
/*
 * The rule store on SQLite.  One table of rows keyed by (kind, family,
 * address, length, source), WITHOUT ROWID so the key is the B-tree itself:
 * every row of one prefix sits together (resolving precedence is one range
 * read) and a sorted import appends in key order.
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
#include "log.h"
#include "msg.h"
#include "ports.h"
#include "readfile.h"
#include "store.h"

enum {
	S_UPSERT,		/* one row, rule id returned */
	S_UPSERT_FAST,		/* one row of an import: no RETURNING */
	S_RESOLVE,		/* the winning row of a prefix */
	S_DEL_ONE,		/* a prefix's row of one source */
	S_DEL_ALL,		/* a prefix's rows of every source */
	S_SRC_ROWS,		/* a source's rows, in key order */
	S_SRC_ID,
	S_SRC_PUT,
	S_SETTING_PUT,
	S_SWEEP,
	S_NEXT_EXPIRY,
	S_MAX
};

static const char *const stmt_sql[S_MAX] = {
	[S_UPSERT] =
		"INSERT INTO rules(kind,family,addr,plen,source,prefix,action,rule_id,expires,"
		"comment,uid,pid,created) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13) "
		"ON CONFLICT DO UPDATE SET action=excluded.action,expires=excluded.expires,"
		"comment=excluded.comment,uid=excluded.uid,pid=excluded.pid,"
		"created=excluded.created RETURNING rule_id",
	[S_UPSERT_FAST] =
		"INSERT INTO rules(kind,family,addr,plen,source,prefix,action,rule_id,expires,"
		"comment,uid,pid,created) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13) "
		"ON CONFLICT DO UPDATE SET action=excluded.action,expires=excluded.expires,"
		"comment=excluded.comment,uid=excluded.uid,pid=excluded.pid,"
		"created=excluded.created",
	[S_RESOLVE] =
		"SELECT action,rule_id,expires,source FROM rules WHERE kind=?1 AND family=?2 AND "
		"addr=?3 AND plen=?4 ORDER BY action,expires=0 DESC,expires DESC LIMIT 1",
	[S_DEL_ONE] =
		"DELETE FROM rules WHERE kind=?1 AND family=?2 AND addr=?3 AND plen=?4 AND "
		"source=?5 RETURNING rule_id",
	[S_DEL_ALL] =
		"DELETE FROM rules WHERE kind=?1 AND family=?2 AND addr=?3 AND plen=?4 "
		"RETURNING rule_id",
	[S_SRC_ROWS] =
		"SELECT kind,family,addr,plen,rule_id FROM rules WHERE source=?1 "
		"ORDER BY kind,family,addr,plen",
	[S_SRC_ID] = "SELECT rule_id FROM sources WHERE name=?1",
	[S_SRC_PUT] = "INSERT OR REPLACE INTO sources(name,rule_id,created) VALUES(?1,?2,?3)",
	[S_SETTING_PUT] = "INSERT OR REPLACE INTO settings(key,value) VALUES(?1,?2)",
	[S_SWEEP] =
		"DELETE FROM rules WHERE expires>0 AND expires<=?1 "
		"RETURNING kind,family,addr,plen,rule_id",
	[S_NEXT_EXPIRY] =
		"SELECT min(e) FROM (SELECT min(expires) AS e FROM rules WHERE expires>0 "
		"UNION ALL SELECT min(expires) FROM port_rules WHERE expires>0)",
};

/*
 * Port-scoped rules (ports.h), one row per (kind, port list, target,
 * source); ports and target in canonical text ("80,443/tcp",
 * "203.0.113.0/24" or "DE").  Schema 3; older databases get the table at
 * open (migrate_sql).
 */
#define PORT_RULES_TABLE \
	"port_rules(kind INTEGER NOT NULL, ports TEXT NOT NULL, target TEXT NOT NULL," \
	" source TEXT NOT NULL, action INTEGER NOT NULL, rule_id INTEGER NOT NULL," \
	" expires INTEGER NOT NULL, comment TEXT NOT NULL, uid INTEGER NOT NULL," \
	" pid INTEGER NOT NULL, created INTEGER NOT NULL," \
	" PRIMARY KEY(kind,ports,target,source)) WITHOUT ROWID;"
/* ... and the rate limits set with fwctl: the canonical line by name. */
#define RATELIMITS_TABLE \
	"ratelimits(name TEXT PRIMARY KEY, spec TEXT NOT NULL, uid INTEGER NOT NULL," \
	" pid INTEGER NOT NULL, created INTEGER NOT NULL);"
static const char schema_sql[] =
	"CREATE TABLE schema_version(version INTEGER NOT NULL);"
	/* kind: 1 block, 2 allow, 3 country, 4 block AS, 5 allow AS; addr:
	 * 4 or 16 bytes, network order (country: the code; AS: the number in
	 * 4 bytes, network order, family and plen 0); prefix: the same as
	 * text ("AS64500"), for people reading the database; expires and
	 * created: UNIX seconds, UTC. */
	"CREATE TABLE rules("
	" kind INTEGER NOT NULL, family INTEGER NOT NULL, addr BLOB NOT NULL,"
	" plen INTEGER NOT NULL, source TEXT NOT NULL, prefix TEXT NOT NULL,"
	" action INTEGER NOT NULL, rule_id INTEGER NOT NULL, expires INTEGER NOT NULL,"
	" comment TEXT NOT NULL, uid INTEGER NOT NULL, pid INTEGER NOT NULL,"
	" created INTEGER NOT NULL,"
	" PRIMARY KEY(kind,family,addr,plen,source)) WITHOUT ROWID;"
	"CREATE INDEX rules_by_source ON rules(source);"
	"CREATE INDEX rules_expiring ON rules(expires) WHERE expires>0;"
	/* An imported list: one row, its prefixes packed in key order (18
	 * bytes each: family, length, 16 address bytes), written and replaced
	 * as a whole like the file it came from. */
	"CREATE TABLE lists(source TEXT PRIMARY KEY, action INTEGER NOT NULL,"
	" rule_id INTEGER NOT NULL, expires INTEGER NOT NULL, comment TEXT NOT NULL,"
	" uid INTEGER NOT NULL, pid INTEGER NOT NULL, created INTEGER NOT NULL,"
	" entries INTEGER NOT NULL, prefixes BLOB NOT NULL);"
	/* The rule id an imported list's rows share, kept for its next import. */
	"CREATE TABLE sources(name TEXT PRIMARY KEY, rule_id INTEGER NOT NULL,"
	" created INTEGER NOT NULL);"
	/* country_override, country_mode, country_action, next_rule_id */
	"CREATE TABLE settings(key TEXT PRIMARY KEY, value INTEGER NOT NULL);"
	"CREATE TABLE " PORT_RULES_TABLE
	"CREATE TABLE " RATELIMITS_TABLE
	"INSERT INTO schema_version(version) VALUES(3);";

/*
 * Schema migrations, run at open in one transaction with the version
 * update.  1 → 2: the rules table takes AS rows (kinds 4 and 5) as it is;
 * the version says that a geofwd of schema 1, which would not see them
 * (and would not enforce them), must not open the file.  2 → 3: the
 * port-scoped rules and the rate limits set with fwctl.
 */
static const char *const migrate_sql[GEOFW_STORE_SCHEMA + 1] = {
	[2] = "UPDATE schema_version SET version=2;",
	[3] = "CREATE TABLE " PORT_RULES_TABLE
	      "CREATE TABLE " RATELIMITS_TABLE
	      "UPDATE schema_version SET version=3;",
};

/* Rule id use: free, one row's own, an imported list's (shared). */
enum { ID_FREE, ID_ROW, ID_SOURCE };

/* An imported list, in memory as in its row. */
struct slist {
	char *source, *comment;
	__u8 action;
	__u32 rule_id, uid;
	__s32 pid;
	__u64 expires, created;
	struct geofw_cidr *v;	/* sorted by geofw_cidr_cmp(), no duplicates */
	size_t n;
};

struct geofw_store {
	sqlite3 *db;
	char path[PATH_MAX];
	bool read_only;		/* the file system refuses writes: changes are refused */
	int depth;		/* 0: no transaction, 1: in one, 2..: savepoints */
	sqlite3_stmt *stmt[S_MAX];
	__u8 ids[GEOFW_MAX_RULE_IDS];
	size_t ids_used;
	__u32 next_id;
	struct geofw_store_countries countries;
	bool counts_ok;
	struct geofw_store_counts counts;
	int wal_frames;		/* in the WAL since the last checkpoint */
	struct slist *lists;
	size_t n_lists;
	sqlite3_stmt *fleet_put, *outbox_del;	/* fleet.c's busiest, kept prepared */
};

#define CHECKPOINT_FRAMES	1000	/* pages, as SQLite's autocheckpoint */

/* ---- errors ------------------------------------------------------------------ */

static int sql_errno(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:		return 0;
	case SQLITE_NOMEM:	return -ENOMEM;
	case SQLITE_FULL:	return -ENOSPC;
	case SQLITE_READONLY:	return -EROFS;
	case SQLITE_PERM:
	case SQLITE_AUTH:	return -EACCES;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:	return -EBUSY;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:	return -EUCLEAN;
	case SQLITE_CANTOPEN:	return -ENOENT;
	case SQLITE_CONSTRAINT:
	case SQLITE_MISMATCH:	return -EINVAL;
	default:		return -EIO;
	}
}

/* "PATH: what: SQLite's message", with a hint for the ones operators meet. */
static int sql_fail(struct geofw_store *st, int rc, const char *what, char *err, size_t errlen)
{
	int ret = sql_errno(rc);
	const char *hint = ret == -ENOSPC ? " (No space left on device: the state directory's "
					    "file system is full)" :
			   ret == -EROFS || st->read_only ? " (Read-only file system: the state "
							    "directory is read-only)" :
			   ret == -EUCLEAN ? " (the database is damaged)" : "";

	if (st->read_only && ret == -EIO)
		ret = -EROFS;
	return geofw_errf(err, errlen, ret, "%s: %s: %s%s", st->path, what,
			  st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc), hint);
}

static int exec(struct geofw_store *st, const char *sql, char *err, size_t errlen)
{
	int rc = sqlite3_exec(st->db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? 0 : sql_fail(st, rc, sql, err, errlen);
}

/* ---- text validation --------------------------------------------------------- */

int geofw_store_check_text(const char *s, size_t len, size_t max, const char *what,
			   char *err, size_t errlen)
{
	size_t i = 0;

	if (len > max)
		return geofw_errf(err, errlen, -EINVAL, "%s longer than %zu bytes", what, max);
	while (i < len) {
		unsigned char c = (unsigned char)s[i];
		__u32 cp, min;
		size_t k, n;

		if (c < 0x20 || c == 0x7f)
			return geofw_errf(err, errlen, -EINVAL, "%s contains a control character", what);
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			n = 1, cp = c & 0x1f, min = 0x80;
		else if (c >= 0xe0 && c <= 0xef)
			n = 2, cp = c & 0x0f, min = 0x800;
		else if (c >= 0xf0 && c <= 0xf4)
			n = 3, cp = c & 0x07, min = 0x10000;
		else
			goto bad;
		if (len - i <= n)
			goto bad;
		for (k = 1; k <= n; k++) {
			unsigned char cc = (unsigned char)s[i + k];

			if ((cc & 0xc0) != 0x80)
				goto bad;
			cp = cp << 6 | (cc & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			goto bad;
		/* C1 controls move terminals around just like C0 ones. */
		if (cp <= 0x9f)
			return geofw_errf(err, errlen, -EINVAL, "%s contains a control character", what);
		i += n + 1;
	}
	return 0;
bad:
	return geofw_errf(err, errlen, -EINVAL, "%s is not valid UTF-8 (byte %zu)", what, i + 1);
}

static int check_rule(const struct geofw_rule *r, char *err, size_t errlen)
{
	char pb[GEOFW_CIDR_STRLEN], msg[160];
	const struct geofw_cidr *p = &r->prefix;
	const char *c = r->comment ? r->comment : "";

	if (geofw_rule_kind_asn(r->kind)) {
		if (!r->asn)
			return geofw_errf(err, errlen, -EINVAL, "AS0 is not an AS number");
		snprintf(pb, sizeof(pb), "AS%u", r->asn);
		if (r->source && !strcmp(r->source, GEOFW_STORE_CONFIG_SOURCE))
			return geofw_errf(err, errlen, -EINVAL, "%s: source " GEOFW_STORE_CONFIG_SOURCE
					  " is geofw.conf's (BlockASN, AllowASN): edit the file", pb);
	} else if (r->kind != GEOFW_RULE_BLOCK && r->kind != GEOFW_RULE_ALLOW) {
		return geofw_errf(err, errlen, -EINVAL, "invalid rule kind %d", r->kind);
	} else if ((p->family != 4 && p->family != 6) ||
		   p->prefixlen > (p->family == 4 ? 32 : 128) || geofw_cidr_has_host_bits(p)) {
		return geofw_errf(err, errlen, -EINVAL, "invalid prefix (family %u, length %u)",
				  p->family, p->prefixlen);
	} else {
		geofw_cidr_format(p, pb, sizeof(pb));
	}
	if ((r->kind == GEOFW_RULE_BLOCK || r->kind == GEOFW_RULE_BLOCK_ASN) &&
	    (r->action == GEOFW_ACT_PASS || r->action >= GEOFW_ACT_MAX))
		return geofw_errf(err, errlen, -EINVAL, "%s: invalid block action %u", pb, r->action);
	if (r->expires > GEOFW_DURATION_MAX)
		return geofw_errf(err, errlen, -EINVAL, "%s: expiry out of range", pb);
	if (!r->source || !r->source[0] ||
	    geofw_store_check_text(r->source, strnlen(r->source, GEOFW_STORE_SOURCE_MAX + 1),
				   GEOFW_STORE_SOURCE_MAX, "source", msg, sizeof(msg)))
		return geofw_errf(err, errlen, -EINVAL, "%s: %s", pb,
				  r->source && r->source[0] ? msg : "no source");
	if (geofw_store_check_text(c, strnlen(c, GEOFW_STORE_COMMENT_MAX + 1),
				   GEOFW_STORE_COMMENT_MAX, "comment", msg, sizeof(msg)))
		return geofw_errf(err, errlen, -EINVAL, "%s: %s", pb, msg);
	return 0;
}

/* ---- statements ---------------------------------------------------------------- */

static sqlite3_stmt *stmt(struct geofw_store *st, int which)
{
	sqlite3_stmt *s = st->stmt[which];

	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return s;
}

static int addr_len(int family)
{
	return family == 4 ? 4 : 16;
}

static void bind_key(sqlite3_stmt *s, int kind, const struct geofw_cidr *p)
{
	sqlite3_bind_int(s, 1, kind);
	sqlite3_bind_int(s, 2, p->family);
	sqlite3_bind_blob(s, 3, p->addr, addr_len(p->family), SQLITE_STATIC);
	sqlite3_bind_int(s, 4, p->prefixlen);
}

/* An AS row's key: family 0, the number in 4 bytes (network order: the
 * B-tree keeps AS rows in numeric order), length 0. */
static void bind_asn_key(sqlite3_stmt *s, int kind, const __be32 *asn_be)
{
	sqlite3_bind_int(s, 1, kind);
	sqlite3_bind_int(s, 2, 0);
	sqlite3_bind_blob(s, 3, asn_be, sizeof(*asn_be), SQLITE_STATIC);
	sqlite3_bind_int(s, 4, 0);
}

static int column_asn(sqlite3_stmt *s, int col, __u32 *asn)
{
	const __u8 *a = sqlite3_column_blob(s, col);

	if (!a || sqlite3_column_bytes(s, col) != 4)
		return -EUCLEAN;
	*asn = (__u32)a[0] << 24 | (__u32)a[1] << 16 | (__u32)a[2] << 8 | a[3];
	return *asn ? 0 : -EUCLEAN;
}

/* Block rows (of prefixes and of ASes) carry an action and an expiry. */
static bool kind_blocks(int kind)
{
	return kind == GEOFW_RULE_BLOCK || kind == GEOFW_RULE_BLOCK_ASN;
}

static int column_key(sqlite3_stmt *s, int col, struct geofw_cidr *p)
{
	int family = sqlite3_column_int(s, col);
	int plen = sqlite3_column_int(s, col + 2);
	const void *a = sqlite3_column_blob(s, col + 1);

	memset(p, 0, sizeof(*p));
	if ((family != 4 && family != 6) || !a ||
	    sqlite3_column_bytes(s, col + 1) != addr_len(family) || plen < 0 ||
	    plen > (family == 4 ? 32 : 128))
		return -EUCLEAN;
	p->family = (__u8)family;
	p->prefixlen = (__u8)plen;
	memcpy(p->addr, a, (size_t)addr_len(family));
	return 0;
}

static int put_setting(struct geofw_store *st, const char *key, long long value)
{
	sqlite3_stmt *s = stmt(st, S_SETTING_PUT);

	sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, value);
	return sqlite3_step(s) == SQLITE_DONE ? 0 : sqlite3_errcode(st->db);
}

/* ---- rule ids ------------------------------------------------------------------- */

static void id_set(struct geofw_store *st, __u32 id, __u8 use)
{
	if (!id || id >= GEOFW_MAX_RULE_IDS || st->ids[id] == use)
		return;
	if (st->ids[id] == ID_FREE)
		st->ids_used++;
	else if (use == ID_FREE)
		st->ids_used--;
	st->ids[id] = use;
}

/*
 * The counter moves on from the last id given (a deleted rule's id and its
 * hit counter are not handed out again at once) and gives 0 (not counted)
 * when every id is in use: blocking matters more than counting.
 */
static __u32 id_alloc(struct geofw_store *st, __u8 use)
{
	__u32 id;

	if (st->ids_used >= GEOFW_MAX_RULE_IDS - 1)
		return 0;
	do {
		id = st->next_id;
		st->next_id = id + 1 < GEOFW_MAX_RULE_IDS ? id + 1 : 1;
	} while (st->ids[id] != ID_FREE);
	id_set(st, id, use);
	put_setting(st, "next_rule_id", st->next_id);
	return id;
}

/* A row went away: its own id is free again, a list's shared one is not. */
static void id_release(struct geofw_store *st, __u32 id)
{
	if (id < GEOFW_MAX_RULE_IDS && st->ids[id] == ID_ROW)
		id_set(st, id, ID_FREE);
}

/* ---- in-memory copies, (re)read from the database -------------------------------- */

static void lists_free(struct geofw_store *st)
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

	lists_free(st);
	rc = sqlite3_prepare_v2(st->db, "SELECT source,action,rule_id,expires,comment,uid,pid,"
				"created,entries,prefixes FROM lists ORDER BY source", -1, &s, NULL);
	if (rc)
		return sql_fail(st, rc, "reading the lists", err, errlen);
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
		id_set(st, l->rule_id, ID_SOURCE);
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return sql_fail(st, rc, "reading the lists", err, errlen);
	return 0;
}

static int load_memory(struct geofw_store *st, char *err, size_t errlen)
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
		return sql_fail(st, rc, "reading rule ids", err, errlen);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		__s64 id = sqlite3_column_int64(s, 0);

		if (id > 0 && id < GEOFW_MAX_RULE_IDS)
			id_set(st, (__u32)id, st->ids[id] == ID_SOURCE ? ID_SOURCE :
						(__u8)sqlite3_column_int(s, 1));
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return sql_fail(st, rc, "reading rule ids", err, errlen);

	rc = sqlite3_prepare_v2(st->db, "SELECT key,value FROM settings", -1, &s, NULL);
	if (rc)
		return sql_fail(st, rc, "reading settings", err, errlen);
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
		return sql_fail(st, rc, "reading settings", err, errlen);

	rc = sqlite3_prepare_v2(st->db, "SELECT prefix,action FROM rules WHERE kind=3", -1, &s,
				NULL);
	if (rc)
		return sql_fail(st, rc, "reading countries", err, errlen);
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
		return sql_fail(st, rc, "reading countries", err, errlen);
	return load_lists(st, err, errlen);
}

/* ---- open ------------------------------------------------------------------------ */

static int check_integrity(struct geofw_store *st, char *err, size_t errlen)
{
	sqlite3_stmt *s;
	char first[256] = "";
	int rc;

	rc = sqlite3_prepare_v2(st->db, "PRAGMA integrity_check(1)", -1, &s, NULL);
	if (rc)
		return sql_fail(st, rc, "integrity check", err, errlen);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		snprintf(first, sizeof(first), "%s", (const char *)sqlite3_column_text(s, 0));
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW)
		return sql_fail(st, rc, "integrity check", err, errlen);
	if (strcmp(first, "ok"))
		return geofw_errf(err, errlen, -EUCLEAN, "%s: integrity check failed: %s",
				  st->path, first);
	return 0;
}

static int schema_version(struct geofw_store *st, int *version, char *err, size_t errlen)
{
	sqlite3_stmt *s;
	int rc;

	*version = 0;
	rc = sqlite3_prepare_v2(st->db, "SELECT count(*) FROM sqlite_master WHERE "
				"type='table' AND name='schema_version'", -1, &s, NULL);
	if (rc)
		return sql_fail(st, rc, "reading the schema", err, errlen);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW && !sqlite3_column_int(s, 0)) {
		sqlite3_finalize(s);
		return 0;
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW)
		return sql_fail(st, rc, "reading the schema", err, errlen);
	rc = sqlite3_prepare_v2(st->db, "SELECT max(version) FROM schema_version", -1, &s, NULL);
	if (rc)
		return sql_fail(st, rc, "reading the schema version", err, errlen);
	if ((rc = sqlite3_step(s)) == SQLITE_ROW)
		*version = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW)
		return sql_fail(st, rc, "reading the schema version", err, errlen);
	return 0;
}

static int cmp_cidr_v(const void *a, const void *b);

/* The largest old state file read (a few hundred bytes per thousand rules). */
#define STORE_V1_MAX	((size_t)1 << 30)

/* Read the text state file of earlier versions into the (new, empty)
 * database in one transaction; keep it as rules.v1.bak. */
static int migrate_v1(struct geofw_store *st, const char *dir, char *err, size_t errlen)
{
	char v1[PATH_MAX], bak[PATH_MAX], *buf = NULL;
	struct geofw_store_countries c = {};
	struct geofw_kdiff diff = {};
	struct geofw_rule *rules = NULL;
	size_t n = 0, len = 0, i, j;
	int ret;

	snprintf(v1, sizeof(v1), "%s/" GEOFW_STORE_V1_FILE, dir);
	snprintf(bak, sizeof(bak), "%s/" GEOFW_STORE_V1_BACKUP, dir);
	ret = geofw_read_file(v1, STORE_V1_MAX, GEOFW_READ_REGULAR | GEOFW_READ_NOFOLLOW, &buf,
			      &len, err, errlen);
	if (ret)
		return ret == -ENOENT ? 0 : ret;
	ret = geofw_store_v1_parse(buf, len, v1, &rules, &n, &c, err, errlen);
	if (ret)
		goto out;
	if ((ret = geofw_store_begin(st, err, errlen)))
		goto out;
	/* Each list of the old file becomes a list again when its entries
	 * agree on action and expiry (they were imported together); the
	 * rest become rows, a list's rows sharing one id as before. */
	for (i = 0; i < n && !ret; i = j) {
		bool same = rules[i].kind == GEOFW_RULE_BLOCK &&
			    !strncmp(rules[i].source, "import:", 7);
		size_t k;

		for (j = i + 1; j < n && rules[j].kind == rules[i].kind &&
		     !strcmp(rules[j].source, rules[i].source); j++)
			same = same && rules[j].action == rules[i].action &&
			       rules[j].expires == rules[i].expires &&
			       !strcmp(rules[j].comment, rules[i].comment);
		if (same) {
			struct geofw_cidr *v = malloc((j - i) * sizeof(*v));
			size_t removed;

			if (!v) {
				ret = -ENOMEM;
				break;
			}
			for (k = i; k < j; k++)
				v[k - i] = rules[k].prefix;
			qsort(v, j - i, sizeof(*v), cmp_cidr_v);
			ret = geofw_store_import(st, rules[i].source, v, j - i, &rules[i], false,
						 &removed, &diff, err, errlen);
			free(v);
		} else {
			ret = geofw_store_add(st, rules + i, j - i,
					      !strncmp(rules[i].source, "import:", 7) ?
					      GEOFW_STORE_ONE_ID : 0, &diff, err, errlen);
		}
		geofw_kdiff_reset(&diff);
	}
	if (!ret && c.override)
		ret = geofw_store_set_countries(st, &c, 0, 0, err, errlen);
	if (!ret)
		ret = geofw_store_commit(st, err, errlen);
	else
		geofw_store_rollback(st);
	if (!ret && rename(v1, bak))
		ret = geofw_errf(err, errlen, -errno, "%s: cannot rename to %s: %s", v1, bak,
				 strerror(errno));
out:
	geofw_kdiff_free(&diff);
	free(rules);
	free(buf);
	return ret;
}

/* An older schema to this one, all steps in one transaction: a failure
 * leaves the file as it was. */
static int migrate(struct geofw_store *st, int version, char *err, size_t errlen)
{
	int v, ret;

	if (st->read_only)
		return geofw_errf(err, errlen, -EROFS, "%s: schema version %d needs migrating "
				  "to %d and the state directory is read-only", st->path, version,
				  GEOFW_STORE_SCHEMA);
	if ((ret = exec(st, "BEGIN IMMEDIATE", err, errlen)))
		return ret;
	for (v = version + 1; v <= GEOFW_STORE_SCHEMA; v++)
		if ((ret = exec(st, migrate_sql[v], err, errlen)))
			break;
	if (!ret)
		ret = exec(st, "COMMIT", err, errlen);
	if (ret) {
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
		return ret;
	}
	log_info("%s: rule store migrated from schema %d to %d", st->path, version,
		 GEOFW_STORE_SCHEMA);
	return 0;
}

static int wal_hook(void *arg, sqlite3 *db, const char *name, int frames);

static int open_db(struct geofw_store *st, bool read_only)
{
	char uri[PATH_MAX + 32];

	if (!read_only)
		return sqlite3_open_v2(st->path, &st->db, SQLITE_OPEN_READWRITE |
				       SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	/* No -wal/-shm can be created on a read-only file system: read the
	 * file as it is (the last writer checkpointed it on close). */
	snprintf(uri, sizeof(uri), "file:%s?immutable=1", st->path);
	return sqlite3_open_v2(uri, &st->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI |
			       SQLITE_OPEN_NOMUTEX, NULL);
}

int geofw_store_open(const char *dir, struct geofw_store **out, char *err, size_t errlen)
{
	struct geofw_store *st = calloc(1, sizeof(*st));
	bool fresh, dir_ro;
	int rc, ret, version, i;

	*out = NULL;
	if (!st)
		return -ENOMEM;
	if ((size_t)snprintf(st->path, sizeof(st->path), "%s/" GEOFW_STORE_FILE, dir) >=
	    sizeof(st->path)) {
		free(st);
		return geofw_errf(err, errlen, -ENAMETOOLONG, "%s: path too long", dir);
	}
	fresh = access(st->path, F_OK) != 0;
	dir_ro = access(dir, W_OK) != 0 && errno == EROFS;
	if (fresh && dir_ro) {
		ret = geofw_errf(err, errlen, -EROFS, "%s: cannot create the database: the state "
				 "directory is on a read-only file system", st->path);
		goto fail;
	}
	st->read_only = dir_ro;
	if (dir_ro) {
		char wal[PATH_MAX + 8];
		struct stat sb;

		/* Read-only, the file is read as it is: changes still in the
		 * WAL (geofwd was killed) would be missed, and the maps then
		 * reconciled to older rules. */
		snprintf(wal, sizeof(wal), "%s-wal", st->path);
		if (!stat(wal, &sb) && sb.st_size > 0) {
			ret = geofw_errf(err, errlen, -EROFS, "%s: the state directory is read-only "
					 "and %s holds changes not yet in the database: make the "
					 "directory writable and start geofwd again (the pinned "
					 "programs keep enforcing meanwhile)", st->path, wal);
			goto fail;
		}
	}
	rc = open_db(st, st->read_only);
	if (rc) {
		ret = sql_fail(st, rc, "cannot open", err, errlen);
		goto fail;
	}
	sqlite3_extended_result_codes(st->db, 0);
	sqlite3_busy_timeout(st->db, 2000);
	/*
	 * WAL: a commit appends to rules.db-wal and fsyncs it (FULL); readers
	 * (sqlite3 -readonly) never block the writer.  NORMAL would skip that
	 * fsync: a crash of geofwd keeps every commit (the OS has the pages),
	 * a power loss may not, and fwctl would have heard "ok".
	 */
	if (!st->read_only &&
	    ((ret = exec(st, "PRAGMA journal_mode=WAL", err, errlen)) ||
	     (ret = exec(st, "PRAGMA synchronous=FULL", err, errlen)) ||
	     /* geofwd checkpoints when idle, after the answers are sent */
	     (ret = exec(st, "PRAGMA wal_autocheckpoint=0", err, errlen)) ||
	     (ret = exec(st, "PRAGMA journal_size_limit=16777216", err, errlen))))
		goto fail_hint;
	if (!st->read_only)
		sqlite3_wal_hook(st->db, wal_hook, st);
	if ((ret = exec(st, "PRAGMA cache_size=-32768", err, errlen)) ||
	    (ret = exec(st, "PRAGMA temp_store=MEMORY", err, errlen)))
		goto fail_hint;
	if (!fresh && (ret = check_integrity(st, err, errlen)))
		goto fail_hint;
	if ((ret = schema_version(st, &version, err, errlen)))
		goto fail_hint;
	if (!version) {
		if (st->read_only) {
			ret = geofw_errf(err, errlen, -EROFS, "%s: no schema and the state "
					 "directory is read-only", st->path);
			goto fail;
		}
		if ((ret = exec(st, "BEGIN IMMEDIATE", err, errlen)))
			goto fail_hint;
		if ((ret = exec(st, schema_sql, err, errlen)) ||
		    (ret = exec(st, "COMMIT", err, errlen))) {
			sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
			goto fail_hint;
		}
	} else if (version > GEOFW_STORE_SCHEMA || version < 1) {
		ret = geofw_errf(err, errlen, -EPROTO, "%s: schema version %d, this geofwd "
				 "knows version %d: run the geofwd that wrote it, or export its "
				 "rules and start from an empty database", st->path, version,
				 GEOFW_STORE_SCHEMA);
		goto fail;
	} else if (version == 2 && st->read_only) {
		/* Schema 2 lacks only the port-rule and rate-limit tables: on
		 * a read-only directory (no migration) empty ones of this
		 * connection's own, so the file's rules are enforced and port
		 * rules read as none. */
		if ((ret = exec(st, "CREATE TEMP TABLE " PORT_RULES_TABLE
				"CREATE TEMP TABLE " RATELIMITS_TABLE, err, errlen)))
			goto fail;
	} else if (version < GEOFW_STORE_SCHEMA && (ret = migrate(st, version, err, errlen))) {
		goto fail_hint;
	}
	for (i = 0; i < S_MAX; i++) {
		rc = sqlite3_prepare_v3(st->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
					&st->stmt[i], NULL);
		if (rc) {
			ret = sql_fail(st, rc, "preparing statements", err, errlen);
			goto fail;
		}
	}
	if ((ret = load_memory(st, err, errlen)))
		goto fail_hint;
	if (!version && (ret = migrate_v1(st, dir, err, errlen)))
		goto fail;
	*out = st;
	return 0;
fail_hint:
	if (ret == -EUCLEAN || ret == -EIO) {
		size_t l = strlen(err);

		snprintf(err + l, errlen > l ? errlen - l : 0, "; refusing to start: the pinned "
			 "programs keep enforcing the rules in force. Restore the file from a "
			 "backup (or move it away to start with no runtime rules) and start geofwd "
			 "again");
	}
fail:
	geofw_store_close(st);
	return ret;
}

void geofw_store_close(struct geofw_store *st)
{
	int i;

	if (!st)
		return;
	lists_free(st);
	for (i = 0; i < S_MAX; i++)
		sqlite3_finalize(st->stmt[i]);
	sqlite3_finalize(st->fleet_put);
	sqlite3_finalize(st->outbox_del);
	if (st->db) {
		if (!st->read_only)
			sqlite3_wal_checkpoint_v2(st->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL,
						  NULL);
		sqlite3_close(st->db);
	}
	free(st);
}

const char *geofw_store_path(const struct geofw_store *st)
{
	return st->path;
}

bool geofw_store_read_only(const struct geofw_store *st)
{
	return st->read_only;
}

/* ---- transactions ---------------------------------------------------------------- */

static int refuse_read_only(struct geofw_store *st, char *err, size_t errlen)
{
	return geofw_errf(err, errlen, -EROFS, "%s: Read-only file system: the state directory "
			  "is read-only, change refused (the rules in force stay)", st->path);
}

int geofw_store_begin(struct geofw_store *st, char *err, size_t errlen)
{
	int ret;

	if (st->depth)
		return geofw_errf(err, errlen, -EBUSY, "transaction already open");
	if (st->read_only)
		return refuse_read_only(st, err, errlen);
	if ((ret = exec(st, "BEGIN IMMEDIATE", err, errlen)))
		return ret;
	st->depth = 1;
	return 0;
}

int geofw_store_commit(struct geofw_store *st, char *err, size_t errlen)
{
	int ret;

	if (st->depth != 1)
		return geofw_errf(err, errlen, -EINVAL, "no transaction to commit");
	ret = exec(st, "COMMIT", err, errlen);
	if (ret)
		return ret;	/* still open: the caller rolls back */
	st->depth = 0;
	return 0;
}

void geofw_store_rollback(struct geofw_store *st)
{
	if (!st->depth)
		return;
	sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	st->depth = 0;
	load_memory(st, NULL, 0);
}

bool geofw_store_in_txn(const struct geofw_store *st)
{
	return st->depth > 0;
}

int geofw_store_savepoint(struct geofw_store *st, char *err, size_t errlen)
{
	int ret;

	if (!st->depth)
		return geofw_errf(err, errlen, -EINVAL, "savepoint outside a transaction");
	if ((ret = exec(st, "SAVEPOINT change", err, errlen)))
		return ret;
	st->depth++;
	return 0;
}

int geofw_store_release(struct geofw_store *st, char *err, size_t errlen)
{
	int ret;

	if (st->depth < 2)
		return geofw_errf(err, errlen, -EINVAL, "no savepoint");
	if ((ret = exec(st, "RELEASE change", err, errlen)))
		return ret;
	st->depth--;
	return 0;
}

void geofw_store_rollback_to(struct geofw_store *st)
{
	if (st->depth < 2)
		return;
	sqlite3_exec(st->db, "ROLLBACK TO change; RELEASE change", NULL, NULL, NULL);
	st->depth--;
	load_memory(st, NULL, 0);
}

static int need_txn(struct geofw_store *st, char *err, size_t errlen)
{
	if (st->read_only)
		return refuse_read_only(st, err, errlen);
	if (!st->depth)
		return geofw_errf(err, errlen, -EINVAL, "change outside a transaction");
	st->counts_ok = false;
	return 0;
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

static void consider(struct geofw_kentry *e, const struct slist *l)
{
	if (beats(l->action, l->expires, e)) {
		e->present = true;
		e->action = l->action;
		e->expires = l->expires;
		e->rule_id = l->rule_id;
		e->src_class = geofw_source_class(l->source);
	}
}

static int cmp_cidr_v(const void *a, const void *b)
{
	return geofw_cidr_cmp(a, b);
}

static bool list_find(const struct slist *l, const struct geofw_cidr *p)
{
	return l->n && bsearch(p, l->v, l->n, sizeof(*l->v), cmp_cidr_v);
}

static int find_list(const struct geofw_store *st, const char *source)
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
	sqlite3_stmt *s = stmt(st, S_RESOLVE);
	size_t i;
	int rc;

	bind_key(s, e->allow ? GEOFW_RULE_ALLOW : GEOFW_RULE_BLOCK, &e->prefix);
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
		return sql_errno(rc);
	if (!e->allow)
		for (i = 0; i < st->n_lists; i++)
			if (list_find(&st->lists[i], &e->prefix))
				consider(e, &st->lists[i]);
	return 0;
}

static int push_resolved(struct geofw_store *st, struct geofw_kdiff *diff, int kind,
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

static __u32 source_id(struct geofw_store *st, const char *source, __u64 now);

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
			if ((ret = push_resolved(st, diff, GEOFW_RULE_BLOCK, &c[i])))
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
		return sql_errno(rc);
	i = 0;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct geofw_cidr k;
		int cmp = 1;

		if (column_key(s, 0, &k))
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
		return sql_errno(rc);
	for (l = 0; l < st->n_lists; l++) {
		const struct slist *L = &st->lists[l];

		for (i = 0, j = 0; i < n && j < L->n; ) {
			int cmp = geofw_cidr_cmp(&c[i], &L->v[j]);

			if (cmp < 0) {
				i++;
			} else if (cmp > 0) {
				j++;
			} else {
				consider(&e[i], L);
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
static int remove_list(struct geofw_store *st, size_t idx, struct geofw_kdiff *diff)
{
	struct geofw_cidr *v = st->lists[idx].v;
	size_t n = st->lists[idx].n;
	int rc, ret;

	if ((rc = delete_list_row(st, st->lists[idx].source)))
		return sql_errno(rc);
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
	if ((ret = need_txn(st, err, errlen)))
		return ret;
	probe.kind = GEOFW_RULE_BLOCK;
	probe.source = source;
	probe.prefix = (struct geofw_cidr){ .family = 4 };
	if ((ret = check_rule(&probe, err, errlen)))
		return ret;
	if (!list_valid(v, n))
		return geofw_errf(err, errlen, -EINVAL, "import: prefixes not canonical and sorted");
	idx = find_list(st, source);
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
	l->rule_id = source_id(st, source, now);
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
		ret = sql_fail(st, rc, "cannot write the list", err, errlen);
		goto out;
	}
	if (!l->n)
		drop_list(st, (size_t)idx);
	*removed = gone;
	if ((ret = resolve_sorted(st, cand, n_cand, diff)))
		ret = sql_fail(st, ret, "cannot read the rules back", err, errlen);
out:
	free(newv);
	free(cand);
	return ret;
}

/* Remove prefixes from the lists (of source only, unless NULL): the
 * lists touched are written again.  found[i] is set for each one removed. */
static int unlist(struct geofw_store *st, const struct geofw_cidr *p, size_t n,
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
								cmp_cidr_v) : NULL;

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

/* ---- changes --------------------------------------------------------------------- */

static __u32 source_id(struct geofw_store *st, const char *source, __u64 now)
{
	sqlite3_stmt *s = stmt(st, S_SRC_ID);
	__u32 id = 0;

	sqlite3_bind_text(s, 1, source, -1, SQLITE_STATIC);
	if (sqlite3_step(s) == SQLITE_ROW)
		id = (__u32)sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	if (id && id < GEOFW_MAX_RULE_IDS)
		return id;
	id = id_alloc(st, ID_SOURCE);
	s = stmt(st, S_SRC_PUT);
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
		bind_asn_key(s, r->kind, asn_be);
	else
		bind_key(s, r->kind, &r->prefix);
	sqlite3_bind_text(s, 5, r->source, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 6, text, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(s, 7, kind_blocks(r->kind) ? r->action : 0);
	sqlite3_bind_int64(s, 8, id);
	sqlite3_bind_int64(s, 9, kind_blocks(r->kind) ? (sqlite3_int64)r->expires : 0);
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
		s = stmt(st, S_UPSERT_FAST);
		bind_row(s, r, &asn_be, text, 0, now);
		rc = sqlite3_step(s);
		sqlite3_reset(s);
		return rc == SQLITE_DONE ? 0 : rc;
	}
	geofw_cidr_format(&r->prefix, text, sizeof(text));
	if (shared) {
		s = stmt(st, S_UPSERT_FAST);
		bind_row(s, r, NULL, text, id, now);
		rc = sqlite3_step(s);
		sqlite3_reset(s);
		return rc == SQLITE_DONE ? 0 : rc;
	}
	id = id_alloc(st, ID_ROW);
	s = stmt(st, S_UPSERT);
	bind_row(s, r, NULL, text, id, now);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		/* An existing row keeps its id: give the new one back. */
		if ((__u32)sqlite3_column_int64(s, 0) != id)
			id_set(st, id, ID_FREE);
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

	if ((ret = need_txn(st, err, errlen)))
		return ret;
	for (i = 0; i < n; i++)
		if ((ret = check_rule(&rules[i], err, errlen)))
			return ret;
	for (i = 0; i < n; i++) {
		const struct geofw_rule *r = &rules[i];

		if ((flags & GEOFW_STORE_ONE_ID) && !geofw_rule_kind_asn(r->kind) &&
		    (!i || strcmp(r->source, rules[i - 1].source)))
			shared = source_id(st, r->source, now);
		if ((rc = upsert(st, r, flags & GEOFW_STORE_ONE_ID ? shared : 0, now)))
			return sql_fail(st, rc, "cannot write the rule", err, errlen);
		if (geofw_rule_kind_asn(r->kind))
			continue;	/* the AS tables are rebuilt, no diff */
		if ((ret = push_resolved(st, diff, r->kind, &r->prefix)))
			return sql_fail(st, ret, "cannot read the rule back", err, errlen);
	}
	return 0;
}

/* Delete one prefix's rows (of source, or all); 1 when some existed. */
static int delete_key(struct geofw_store *st, int kind, const struct geofw_cidr *p,
		      const char *source)
{
	sqlite3_stmt *s = stmt(st, source ? S_DEL_ONE : S_DEL_ALL);
	int rc, found = 0;

	bind_key(s, kind, p);
	if (source)
		sqlite3_bind_text(s, 5, source, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		id_release(st, (__u32)sqlite3_column_int64(s, 0));
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
	if ((ret = need_txn(st, err, errlen))) {
		free(listed);
		return ret;
	}
	if (kind == GEOFW_RULE_BLOCK && (rc = unlist(st, prefixes, n, source, listed))) {
		free(listed);
		return sql_fail(st, rc, "cannot write the list", err, errlen);
	}
	for (i = 0; i < n; i++) {
		ret = delete_key(st, kind, &prefixes[i], source);
		if (ret < 0) {
			free(listed);
			return sql_fail(st, -ret, "cannot delete the rule", err, errlen);
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
		if ((ret = push_resolved(st, diff, kind, &prefixes[i]))) {
			free(listed);
			return sql_fail(st, ret, "cannot read the rules back", err, errlen);
		}
	}
	free(listed);
	return 0;
}

/* Delete one AS's rows of kind (of source, or all); 1 when some existed. */
static int delete_asn_key(struct geofw_store *st, int kind, __u32 asn, const char *source)
{
	sqlite3_stmt *s = stmt(st, source ? S_DEL_ONE : S_DEL_ALL);
	__be32 asn_be = htonl(asn);
	int rc, found = 0;

	bind_asn_key(s, kind, &asn_be);
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

	if ((ret = need_txn(st, err, errlen)))
		return ret;
	if (!geofw_rule_kind_asn(kind))
		return geofw_errf(err, errlen, -EINVAL, "invalid AS rule kind %d", kind);
	for (i = 0; i < n; i++) {
		ret = delete_asn_key(st, kind, asns[i], source);
		if (ret < 0)
			return sql_fail(st, -ret, "cannot delete the rule", err, errlen);
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
	int n = addr_len(a->family), c;

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
	sqlite3_stmt *s = stmt(st, S_SRC_ROWS);
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
		if (geofw_rule_kind_asn(k) ? column_asn(s, 2, &v[*n].asn) :
					     column_key(s, 1, &v[*n].p)) {
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
	if ((ret = need_txn(st, err, errlen)))
		return ret;
	for (i = 0; i < n; i++)
		if ((rules[i].kind != GEOFW_RULE_BLOCK && rules[i].kind != GEOFW_RULE_ALLOW) ||
		    strcmp(rules[i].source, source))
			return geofw_errf(err, errlen, -EINVAL, "replace: a rule of another source");
	if ((rc = source_rows(st, source, 0, &old, &n_old)))
		return sql_fail(st, rc, "cannot read the source's rules", err, errlen);
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
		    (ret = push_resolved(st, diff, old[i].kind, &old[i].p))) {
			free(old);
			return sql_fail(st, ret < 0 ? -ret : ret, "cannot delete", err, errlen);
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
	if ((ret = need_txn(st, err, errlen)))
		return ret;
	for (i = 0; i < n; i++)
		if (!geofw_rule_kind_asn(rules[i].kind) || strcmp(rules[i].source, source))
			return geofw_errf(err, errlen, -EINVAL, "replace: not an AS rule of %s",
					  source);
	if ((rc = source_rows(st, source, 0, &old, &n_old)))
		return sql_fail(st, rc, "cannot read the source's rules", err, errlen);
	/* At most 254 ASes have rules: a scan of rules[] per row is cheap. */
	for (i = 0; i < n_old; i++) {
		if (!geofw_rule_kind_asn(old[i].kind) ||
		    asn_listed(rules, n, old[i].kind, old[i].asn))
			continue;
		if ((ret = delete_asn_key(st, old[i].kind, old[i].asn, source)) < 0) {
			free(old);
			return sql_fail(st, -ret, "cannot delete", err, errlen);
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

	if ((ret = need_txn(st, err, errlen)) || (ret = check_country_block(r, err, errlen)))
		return ret;
	if ((rc = country_block_put(st, r, (__u64)time(NULL))))
		return sql_fail(st, rc, "cannot write a country block", err, errlen);
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
		return sql_fail(st, rc, "cannot delete country blocks", err, errlen);
	sqlite3_bind_text(s, 1, source, -1, SQLITE_STATIC);
	if (code)
		sqlite3_bind_text(s, 2, code, 2, SQLITE_STATIC);
	rc = sqlite3_step(s) == SQLITE_DONE ? 0 : sqlite3_errcode(st->db);
	n = sqlite3_changes(st->db);
	sqlite3_finalize(s);
	if (rc)
		return sql_fail(st, rc, "cannot delete country blocks", err, errlen);
	st->counts_ok = false;
	return n;
}

int geofw_store_country_block_del(struct geofw_store *st, const char *source, __u8 country,
				  char *err, size_t errlen)
{
	const char *code = geofw_country_code(country);
	int ret;

	if ((ret = need_txn(st, err, errlen)))
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

	if ((ret = need_txn(st, err, errlen)))
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
			return sql_fail(st, rc, "cannot write a country block", err, errlen);
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

	if ((ret = need_txn(st, err, errlen)))
		return ret;
	if ((idx = find_list(st, source)) >= 0) {
		listed = (long)st->lists[idx].n;
		if ((ret = remove_list(st, (size_t)idx, diff)))
			return sql_fail(st, ret, "cannot remove the list", err, errlen);
	}
	if ((rc = source_rows(st, source, 0, &old, &n_old)))
		return sql_fail(st, rc, "cannot read the source's rules", err, errlen);
	/* The country policy is no source's rules: del-source leaves it. */
	for (i = 0, kept = 0; i < n_old; i++) {
		if (old[i].kind == GEOFW_RULE_COUNTRY) {
			kept++;
			continue;
		}
		if (geofw_rule_kind_asn(old[i].kind)) {
			if ((ret = delete_asn_key(st, old[i].kind, old[i].asn, source)) < 0) {
				free(old);
				return sql_fail(st, -ret, "cannot delete", err, errlen);
			}
			continue;	/* the AS tables are rebuilt, no diff */
		}
		if ((ret = delete_key(st, old[i].kind, &old[i].p, source)) < 0) {
			free(old);
			return sql_fail(st, -ret, "cannot delete", err, errlen);
		}
		if ((ret = push_resolved(st, diff, old[i].kind, &old[i].p))) {
			free(old);
			return sql_fail(st, ret, "cannot read the rules back", err, errlen);
		}
	}
	free(old);
	if ((ret = country_blocks_del(st, source, NULL, err, errlen)) < 0)
		return ret;
	listed += ret;
	/* The list's shared id goes with its last row. */
	s = stmt(st, S_SRC_ID);
	sqlite3_bind_text(s, 1, source, -1, SQLITE_STATIC);
	if (sqlite3_step(s) == SQLITE_ROW) {
		__u32 id = (__u32)sqlite3_column_int64(s, 0);
		sqlite3_stmt *d;

		sqlite3_reset(s);
		if (id < GEOFW_MAX_RULE_IDS)
			id_set(st, id, ID_FREE);
		rc = sqlite3_prepare_v2(st->db, "DELETE FROM sources WHERE name=?1", -1, &d, NULL);
		if (rc == SQLITE_OK) {
			sqlite3_bind_text(d, 1, source, -1, SQLITE_STATIC);
			rc = sqlite3_step(d) == SQLITE_DONE ? 0 : sqlite3_errcode(st->db);
			sqlite3_finalize(d);
		}
		if (rc)
			return sql_fail(st, rc, "cannot delete the source", err, errlen);
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

	if ((ret = need_txn(st, err, errlen)))
		return ret;
	s = stmt(st, S_SWEEP);
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
		if (geofw_rule_kind_asn(gone[n].kind) || column_key(s, 1, &gone[n].p))
			continue;
		id_release(st, (__u32)sqlite3_column_int64(s, 4));
		n++;
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		free(gone);
		return sql_fail(st, rc, "cannot remove expired rules", err, errlen);
	}
	for (i = 0; i < n; i++)
		if ((ret = push_resolved(st, diff, gone[i].kind, &gone[i].p))) {
			free(gone);
			return sql_fail(st, ret, "cannot read the rules back", err, errlen);
		}
	free(gone);
	/* A list imported with --ttl expires as a whole. */
	for (i = 0; i < st->n_lists; i++) {
		const struct slist *l = &st->lists[i];

		if (!l->expires || l->expires > now)
			continue;
		n += l->n;
		if ((ret = remove_list(st, i--, diff)))
			return sql_fail(st, ret, "cannot remove an expired list", err, errlen);
	}
	return (long)n;
}

__u64 geofw_store_next_expiry(struct geofw_store *st)
{
	sqlite3_stmt *s = stmt(st, S_NEXT_EXPIRY);
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

	if ((ret = need_txn(st, err, errlen)))
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
		return sql_fail(st, rc, "cannot write the country policy", err, errlen);
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
		rc = put_setting(st, "country_override", c->override);
	if (!rc)
		rc = put_setting(st, "country_mode", c->mode);
	if (!rc)
		rc = put_setting(st, "country_action", c->action);
	if (rc)
		return sql_fail(st, rc, "cannot write the country policy", err, errlen);
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
		return sql_errno(rc);
	while (!ret && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		e.allow = sqlite3_column_int(s, 0) == GEOFW_RULE_ALLOW;
		if (column_key(s, 1, &e.prefix))
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
	return rc == SQLITE_DONE ? 0 : sql_errno(rc);
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
				consider(&e, l);
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
		return sql_errno(rc);
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
		} else if (geofw_rule_kind_asn(r.kind) ? column_asn(s, 2, &r.asn) :
							 column_key(s, 1, &r.prefix)) {
			continue;
		}
		column_attrs(s, 4, &r);
		ret = fn(&r, ctx);
	}
	sqlite3_finalize(s);
	if (ret)
		return ret;
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return sql_errno(rc);
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
		return sql_errno(rc);
	sqlite3_bind_int64(s, 1, (sqlite3_int64)now);
	while (!ret && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct geofw_rule r = { .kind = sqlite3_column_int(s, 0) };

		if (column_asn(s, 1, &r.asn) || r.asn == last)
			continue;	/* a loser of the same AS */
		last = r.asn;
		column_attrs(s, 2, &r);
		ret = fn(&r, ctx);
	}
	sqlite3_finalize(s);
	if (ret)
		return ret;
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : sql_errno(rc);
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
	idx = find_list(st, source);
	if (idx >= 0 && (!st->lists[idx].expires || st->lists[idx].expires > now))
		n += st->lists[idx].n;
	return n;
}

/* ---- maintenance ----------------------------------------------------------------- */

static int wal_hook(void *arg, sqlite3 *db, const char *name, int frames)
{
	(void)db;
	(void)name;
	((struct geofw_store *)arg)->wal_frames = frames;
	return SQLITE_OK;
}

int geofw_store_checkpoint(struct geofw_store *st)
{
	int log = 0, done = 0, rc;

	if (st->read_only || st->depth || st->wal_frames < CHECKPOINT_FRAMES)
		return 0;
	rc = sqlite3_wal_checkpoint_v2(st->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
	if (rc == SQLITE_OK && done >= log)
		st->wal_frames = 0;
	return sql_errno(rc);
}

/* ---- port-scoped rules ------------------------------------------------------------ */

int geofw_store_port_add(struct geofw_store *st, const struct geofw_prule *rules, size_t n,
			 char *err, size_t errlen)
{
	char ports[GEOFW_PORTS_STRLEN], target[GEOFW_CIDR_STRLEN];
	__u64 now = (__u64)time(NULL);
	sqlite3_stmt *q = NULL, *u = NULL;
	size_t i;
	int ret, rc = SQLITE_OK;

	if ((ret = need_txn(st, err, errlen)))
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
			id = id_alloc(st, ID_ROW);
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
		ret = sql_fail(st, rc, "cannot save the port-scoped rule", err, errlen);
	return ret;
}

long geofw_store_port_del(struct geofw_store *st, int kind, const struct geofw_ports *ports,
			  const char *target, const char *source, char *err, size_t errlen)
{
	char text[GEOFW_PORTS_STRLEN];
	sqlite3_stmt *s;
	long n = 0;
	int ret, rc;

	if ((ret = need_txn(st, err, errlen)))
		return ret;
	if (geofw_ports_format(ports, text, sizeof(text)))
		return geofw_errf(err, errlen, -EINVAL, "port list too long");
	rc = sqlite3_prepare_v2(st->db, "DELETE FROM port_rules WHERE kind=?1 AND ports=?2 AND "
				"(?3 IS NULL OR target=?3) AND (?4 IS NULL OR source=?4) "
				"RETURNING rule_id", -1, &s, NULL);
	if (rc)
		return sql_fail(st, rc, "cannot remove the port-scoped rule", err, errlen);
	sqlite3_bind_int(s, 1, kind);
	sqlite3_bind_text(s, 2, text, -1, SQLITE_STATIC);
	if (target)
		sqlite3_bind_text(s, 3, target, -1, SQLITE_STATIC);
	if (source)
		sqlite3_bind_text(s, 4, source, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		id_release(st, (__u32)sqlite3_column_int64(s, 0));
		n++;
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return sql_fail(st, rc, "cannot remove the port-scoped rule", err, errlen);
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
		return sql_errno(rc);
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
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : sql_errno(rc);
}

long geofw_store_port_sweep(struct geofw_store *st, __u64 now, char *err, size_t errlen)
{
	sqlite3_stmt *s;
	long n = 0;
	int ret, rc;

	if ((ret = need_txn(st, err, errlen)))
		return ret;
	rc = sqlite3_prepare_v2(st->db, "DELETE FROM port_rules WHERE expires>0 AND "
				"expires<=?1 RETURNING rule_id", -1, &s, NULL);
	if (rc)
		return sql_fail(st, rc, "cannot remove expired port-scoped rules", err, errlen);
	sqlite3_bind_int64(s, 1, (sqlite3_int64)now);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		id_release(st, (__u32)sqlite3_column_int64(s, 0));
		n++;
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return sql_fail(st, rc, "cannot remove expired port-scoped rules", err, errlen);
	return n;
}

/* ---- rate limits ------------------------------------------------------------------ */

int geofw_store_rl_put(struct geofw_store *st, const char *name, const char *spec, __u32 uid,
		       __s32 pid, char *err, size_t errlen)
{
	sqlite3_stmt *s;
	int ret, rc;

	if ((ret = need_txn(st, err, errlen)))
		return ret;
	rc = sqlite3_prepare_v2(st->db, "INSERT OR REPLACE INTO ratelimits(name,spec,uid,pid,"
				"created) VALUES(?1,?2,?3,?4,?5)", -1, &s, NULL);
	if (rc)
		return sql_fail(st, rc, "cannot save the rate limit", err, errlen);
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, spec, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, uid);
	sqlite3_bind_int64(s, 4, pid);
	sqlite3_bind_int64(s, 5, (sqlite3_int64)time(NULL));
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : sql_fail(st, rc, "cannot save the rate limit", err, errlen);
}

int geofw_store_rl_del(struct geofw_store *st, const char *name, char *err, size_t errlen)
{
	sqlite3_stmt *s;
	int ret, rc;

	if ((ret = need_txn(st, err, errlen)))
		return ret;
	rc = sqlite3_prepare_v2(st->db, "DELETE FROM ratelimits WHERE name=?1", -1, &s, NULL);
	if (rc)
		return sql_fail(st, rc, "cannot remove the rate limit", err, errlen);
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return sql_fail(st, rc, "cannot remove the rate limit", err, errlen);
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
		return sql_errno(rc);
	while (!ret && (rc = sqlite3_step(s)) == SQLITE_ROW)
		ret = fn((const char *)sqlite3_column_text(s, 0),
			 (const char *)sqlite3_column_text(s, 1), ctx);
	sqlite3_finalize(s);
	if (ret)
		return ret;
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : sql_errno(rc);
}

/* ---- fleet: applied revision and the outbox ------------------------------------- */

/* The statement on key's row (the caller reads column 0 and finalizes);
 * -ENOENT when there is none. */
static int setting_row(struct geofw_store *st, const char *key, sqlite3_stmt **out)
{
	sqlite3_stmt *s;
	int rc;

	rc = sqlite3_prepare_v2(st->db, "SELECT value FROM settings WHERE key=?1", -1, &s, NULL);
	if (rc)
		return sql_errno(rc);
	sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*out = s;
		return 0;
	}
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? -ENOENT : sql_errno(rc);
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
	rc = put_setting(st, key, value);
	return rc ? sql_fail(st, rc, "writing a setting", err, errlen) : 0;
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
	return rc ? sql_fail(st, rc, "writing a setting", err, errlen) : 0;
}

int geofw_store_setting_keys(struct geofw_store *st, const char *prefix,
			     int (*fn)(const char *key, void *ctx), void *ctx)
{
	size_t plen = strlen(prefix);
	sqlite3_stmt *s;
	int rc, ret = 0;

	rc = sqlite3_prepare_v2(st->db, "SELECT key FROM settings ORDER BY key", -1, &s, NULL);
	if (rc)
		return sql_errno(rc);
	while (!ret && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *k = (const char *)sqlite3_column_text(s, 0);

		if (k && !strncmp(k, prefix, plen))
			ret = fn(k, ctx);
	}
	sqlite3_finalize(s);
	if (ret)
		return ret;
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : sql_errno(rc);
}

/* Made on first use, so that a database without a fleet stays as it was
 * (and one written by this version still opens in the last one).  The
 * outbox of the first fleet version had no base column. */
static int outbox_table(struct geofw_store *st, char *err, size_t errlen)
{
	sqlite3_stmt *s;
	int ret;

	ret = exec(st, "CREATE TABLE IF NOT EXISTS fleet_outbox("
		   " id INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL,"
		   " value TEXT, created INTEGER NOT NULL, base INTEGER NOT NULL DEFAULT 0)",
		   err, errlen);
	if (ret)
		return ret;
	if (sqlite3_prepare_v2(st->db, "SELECT base FROM fleet_outbox", -1, &s, NULL) == SQLITE_OK) {
		sqlite3_finalize(s);
		return 0;
	}
	return exec(st, "ALTER TABLE fleet_outbox ADD COLUMN base INTEGER NOT NULL DEFAULT 0",
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
		return sql_fail(st, rc, "queueing a fleet change", err, errlen);
	sqlite3_bind_text(s, 1, key, -1, SQLITE_TRANSIENT);
	if (value)
		sqlite3_bind_text(s, 2, value, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)time(NULL));
	sqlite3_bind_int64(s, 4, base);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : sql_fail(st, rc, "queueing a fleet change", err, errlen);
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
			return sql_fail(st, rc, "dequeueing a fleet change", err, errlen);
	}
	sqlite3_reset(st->outbox_del);
	sqlite3_bind_int64(st->outbox_del, 1, id);
	rc = sqlite3_step(st->outbox_del);
	sqlite3_reset(st->outbox_del);
	return rc == SQLITE_DONE ? 0 : sql_fail(st, rc, "dequeueing a fleet change", err, errlen);
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
		return sql_errno(rc);
	sqlite3_bind_int64(s, 1, after);
	while (!ret && (rc = sqlite3_step(s)) == SQLITE_ROW)
		ret = fn(sqlite3_column_int64(s, 0), (const char *)sqlite3_column_text(s, 1),
			 (const char *)sqlite3_column_text(s, 2), sqlite3_column_int64(s, 3), ctx);
	if (!ret && rc != SQLITE_DONE)
		ret = sql_errno(rc);
	sqlite3_finalize(s);
	return ret;
}

/* ---- fleet: the bucket as applied ------------------------------------------------ */

static int fleet_table(struct geofw_store *st, char *err, size_t errlen)
{
	return exec(st, "CREATE TABLE IF NOT EXISTS fleet_keys(key TEXT PRIMARY KEY,"
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
			return sql_fail(st, rc, "recording a fleet key", err, errlen);
	}
	sqlite3_reset(st->fleet_put);
	sqlite3_clear_bindings(st->fleet_put);
	sqlite3_bind_text(st->fleet_put, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st->fleet_put, 2, rev);
	if (value)
		sqlite3_bind_text(st->fleet_put, 3, value, -1, SQLITE_STATIC);
	rc = sqlite3_step(st->fleet_put);
	sqlite3_reset(st->fleet_put);
	return rc == SQLITE_DONE ? 0 : sql_fail(st, rc, "recording a fleet key", err, errlen);
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
		return sql_errno(rc);
	sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		const char *v = (const char *)sqlite3_column_text(s, 1);

		*rev = sqlite3_column_int64(s, 0);
		ret = 0;
		if (v && !(*value = strdup(v)))
			ret = -ENOMEM;
	} else if (rc != SQLITE_DONE) {
		ret = sql_errno(rc);
	}
	sqlite3_finalize(s);
	return ret;
}

int geofw_store_fleet_clear(struct geofw_store *st, char *err, size_t errlen)
{
	int ret;

	if ((ret = fleet_table(st, err, errlen)))
		return ret;
	return exec(st, "DELETE FROM fleet_keys", err, errlen);
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
		return sql_errno(rc);
	sqlite3_bind_text(s, 1, prefix, -1, SQLITE_STATIC);
	while (!ret && (rc = sqlite3_step(s)) == SQLITE_ROW)
		ret = fn((const char *)sqlite3_column_text(s, 0), sqlite3_column_int64(s, 1),
			 (const char *)sqlite3_column_text(s, 2), ctx);
	if (!ret && rc != SQLITE_DONE)
		ret = sql_errno(rc);
	sqlite3_finalize(s);
	return ret;
}
