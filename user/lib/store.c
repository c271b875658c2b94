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
#include "store_int.h"

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

/* ---- errors ------------------------------------------------------------------ */

int store_sql_errno(int rc)
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
int store_sql_fail(struct geofw_store *st, int rc, const char *what, char *err, size_t errlen)
{
	int ret = store_sql_errno(rc);
	const char *hint = ret == -ENOSPC ? " (No space left on device: the state directory's "
					    "file system is full)" :
			   st->read_only ? " (Read-only file system: the state directory is "
					   "read-only)" :
			   ret == -EROFS ? " (the file cannot be written: check the mount, and the "
					   "permissions and attributes (lsattr) of the file and of the "
					   "state directory)" :
			   rc == SQLITE_CANTOPEN ? " (SQLite keeps rules.db-wal and rules.db-shm "
						   "beside it: the state directory must be "
						   "writable by geofwd; check its permissions and "
						   "attributes (lsattr))" :
			   ret == -EUCLEAN ? " (the database is damaged)" : "";

	if (st->read_only && ret == -EIO)
		ret = -EROFS;
	return geofw_errf(err, errlen, ret, "%s: %s: %s%s", st->path, what,
			  st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc), hint);
}

int store_exec(struct geofw_store *st, const char *sql, char *err, size_t errlen)
{
	int rc = sqlite3_exec(st->db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? 0 : store_sql_fail(st, rc, sql, err, errlen);
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

int store_check_rule(const struct geofw_rule *r, char *err, size_t errlen)
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

sqlite3_stmt *store_stmt(struct geofw_store *st, int which)
{
	sqlite3_stmt *s = st->stmt[which];

	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return s;
}

int store_addr_len(int family)
{
	return family == 4 ? 4 : 16;
}

void store_bind_key(sqlite3_stmt *s, int kind, const struct geofw_cidr *p)
{
	sqlite3_bind_int(s, 1, kind);
	sqlite3_bind_int(s, 2, p->family);
	sqlite3_bind_blob(s, 3, p->addr, store_addr_len(p->family), SQLITE_STATIC);
	sqlite3_bind_int(s, 4, p->prefixlen);
}

/* An AS row's key: family 0, the number in 4 bytes (network order: the
 * B-tree keeps AS rows in numeric order), length 0. */
void store_bind_asn_key(sqlite3_stmt *s, int kind, const __be32 *asn_be)
{
	sqlite3_bind_int(s, 1, kind);
	sqlite3_bind_int(s, 2, 0);
	sqlite3_bind_blob(s, 3, asn_be, sizeof(*asn_be), SQLITE_STATIC);
	sqlite3_bind_int(s, 4, 0);
}

int store_column_asn(sqlite3_stmt *s, int col, __u32 *asn)
{
	const __u8 *a = sqlite3_column_blob(s, col);

	if (!a || sqlite3_column_bytes(s, col) != 4)
		return -EUCLEAN;
	*asn = (__u32)a[0] << 24 | (__u32)a[1] << 16 | (__u32)a[2] << 8 | a[3];
	return *asn ? 0 : -EUCLEAN;
}

/* Block rows (of prefixes and of ASes) carry an action and an expiry. */
bool store_kind_blocks(int kind)
{
	return kind == GEOFW_RULE_BLOCK || kind == GEOFW_RULE_BLOCK_ASN;
}

int store_column_key(sqlite3_stmt *s, int col, struct geofw_cidr *p)
{
	int family = sqlite3_column_int(s, col);
	int plen = sqlite3_column_int(s, col + 2);
	const void *a = sqlite3_column_blob(s, col + 1);

	memset(p, 0, sizeof(*p));
	if ((family != 4 && family != 6) || !a ||
	    sqlite3_column_bytes(s, col + 1) != store_addr_len(family) || plen < 0 ||
	    plen > (family == 4 ? 32 : 128))
		return -EUCLEAN;
	p->family = (__u8)family;
	p->prefixlen = (__u8)plen;
	memcpy(p->addr, a, (size_t)store_addr_len(family));
	return 0;
}

int store_put_setting(struct geofw_store *st, const char *key, long long value)
{
	sqlite3_stmt *s = store_stmt(st, S_SETTING_PUT);

	sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, value);
	return sqlite3_step(s) == SQLITE_DONE ? 0 : sqlite3_errcode(st->db);
}

/* ---- rule ids ------------------------------------------------------------------- */

void store_id_set(struct geofw_store *st, __u32 id, __u8 use)
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
__u32 store_id_alloc(struct geofw_store *st, __u8 use)
{
	__u32 id;

	if (st->ids_used >= GEOFW_MAX_RULE_IDS - 1)
		return 0;
	do {
		id = st->next_id;
		st->next_id = id + 1 < GEOFW_MAX_RULE_IDS ? id + 1 : 1;
	} while (st->ids[id] != ID_FREE);
	store_id_set(st, id, use);
	store_put_setting(st, "next_rule_id", st->next_id);
	return id;
}

/* A row went away: its own id is free again, a list's shared one is not. */
void store_id_release(struct geofw_store *st, __u32 id)
{
	if (id < GEOFW_MAX_RULE_IDS && st->ids[id] == ID_ROW)
		store_id_set(st, id, ID_FREE);
}

/* ---- open ------------------------------------------------------------------------ */

static int check_integrity(struct geofw_store *st, char *err, size_t errlen)
{
	sqlite3_stmt *s;
	char first[256] = "";
	int rc;

	rc = sqlite3_prepare_v2(st->db, "PRAGMA integrity_check(1)", -1, &s, NULL);
	if (rc)
		return store_sql_fail(st, rc, "integrity check", err, errlen);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		snprintf(first, sizeof(first), "%s", (const char *)sqlite3_column_text(s, 0));
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW)
		return store_sql_fail(st, rc, "integrity check", err, errlen);
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
		return store_sql_fail(st, rc, "reading the schema", err, errlen);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW && !sqlite3_column_int(s, 0)) {
		sqlite3_finalize(s);
		return 0;
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW)
		return store_sql_fail(st, rc, "reading the schema", err, errlen);
	rc = sqlite3_prepare_v2(st->db, "SELECT max(version) FROM schema_version", -1, &s, NULL);
	if (rc)
		return store_sql_fail(st, rc, "reading the schema version", err, errlen);
	if ((rc = sqlite3_step(s)) == SQLITE_ROW)
		*version = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW)
		return store_sql_fail(st, rc, "reading the schema version", err, errlen);
	return 0;
}

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
			qsort(v, j - i, sizeof(*v), store_cmp_cidr_v);
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
	if ((ret = store_exec(st, "BEGIN IMMEDIATE", err, errlen)))
		return ret;
	for (v = version + 1; v <= GEOFW_STORE_SCHEMA; v++)
		if ((ret = store_exec(st, migrate_sql[v], err, errlen)))
			break;
	if (!ret)
		ret = store_exec(st, "COMMIT", err, errlen);
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

/*
 * A rules.db of 0 bytes (and no WAL behind it) is not one geofwd left: it
 * writes the schema in the transaction that creates the file.  SQLite would
 * take it for an empty database and the start would then remove every rule
 * the pins enforce, so it is refused like a damaged file.
 */
static int check_not_empty(struct geofw_store *st, char *err, size_t errlen)
{
	char wal[PATH_MAX + 8];
	struct stat sb, wb;

	snprintf(wal, sizeof(wal), "%s-wal", st->path);
	if (stat(st->path, &sb) || sb.st_size || (!stat(wal, &wb) && wb.st_size))
		return 0;
	return geofw_errf(err, errlen, -EUCLEAN, "%s: the file is empty (0 bytes), not a rule "
			  "store geofwd wrote; refusing to start: the pinned programs keep "
			  "enforcing the rules in force. Restore the file from a backup (or "
			  "remove it to start with no runtime rules) and start geofwd again",
			  st->path);
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
	if (!fresh && (ret = check_not_empty(st, err, errlen)))
		goto fail;
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
		ret = store_sql_fail(st, rc, "cannot open", err, errlen);
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
	    ((ret = store_exec(st, "PRAGMA journal_mode=WAL", err, errlen)) ||
	     (ret = store_exec(st, "PRAGMA synchronous=FULL", err, errlen)) ||
	     /* geofwd checkpoints when idle, after the answers are sent */
	     (ret = store_exec(st, "PRAGMA wal_autocheckpoint=0", err, errlen)) ||
	     (ret = store_exec(st, "PRAGMA journal_size_limit=16777216", err, errlen))))
		goto fail_hint;
	if (!st->read_only)
		sqlite3_wal_hook(st->db, wal_hook, st);
	if ((ret = store_exec(st, "PRAGMA cache_size=-32768", err, errlen)) ||
	    (ret = store_exec(st, "PRAGMA temp_store=MEMORY", err, errlen)))
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
		if ((ret = store_exec(st, "BEGIN IMMEDIATE", err, errlen)))
			goto fail_hint;
		if ((ret = store_exec(st, schema_sql, err, errlen)) ||
		    (ret = store_exec(st, "COMMIT", err, errlen))) {
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
		if ((ret = store_exec(st, "CREATE TEMP TABLE " PORT_RULES_TABLE
				      "CREATE TEMP TABLE " RATELIMITS_TABLE, err, errlen)))
			goto fail;
	} else if (version < GEOFW_STORE_SCHEMA && (ret = migrate(st, version, err, errlen))) {
		goto fail_hint;
	}
	for (i = 0; i < S_MAX; i++) {
		rc = sqlite3_prepare_v3(st->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
					&st->stmt[i], NULL);
		if (rc) {
			ret = store_sql_fail(st, rc, "preparing statements", err, errlen);
			goto fail;
		}
	}
	if ((ret = store_load_memory(st, err, errlen)))
		goto fail_hint;
	{
		/* The file as opened (written by now): changes check it is
		 * still the one at the path (geofw_store_check_file). */
		struct stat sb;

		if (stat(st->path, &sb)) {
			ret = geofw_errf(err, errlen, -errno, "%s: %s", st->path, strerror(errno));
			goto fail;
		}
		st->dev = sb.st_dev;
		st->ino = sb.st_ino;
	}
	if (!version && (ret = migrate_v1(st, dir, err, errlen)))
		goto fail;
	st->created = fresh;
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
	store_lists_free(st);
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

bool geofw_store_created(const struct geofw_store *st)
{
	return st->created;
}

int geofw_store_check_file(const struct geofw_store *st, char *err, size_t errlen)
{
	struct stat sb;

	if (!stat(st->path, &sb) && sb.st_dev == st->dev && sb.st_ino == st->ino)
		return 0;
	return geofw_errf(err, errlen, -ESTALE, "%s was removed or replaced while geofwd runs: "
			  "changes are refused (they would be written to a file nobody reads "
			  "again); restore it and restart geofwd (the rules in force stay)",
			  st->path);
}

int geofw_store_begin(struct geofw_store *st, char *err, size_t errlen)
{
	int ret;

	if (st->depth)
		return geofw_errf(err, errlen, -EBUSY, "transaction already open");
	if (st->read_only)
		return refuse_read_only(st, err, errlen);
	if ((ret = geofw_store_check_file(st, err, errlen)))
		return ret;
	if ((ret = store_exec(st, "BEGIN IMMEDIATE", err, errlen)))
		return ret;
	st->depth = 1;
	return 0;
}

int geofw_store_commit(struct geofw_store *st, char *err, size_t errlen)
{
	int ret;

	if (st->depth != 1)
		return geofw_errf(err, errlen, -EINVAL, "no transaction to commit");
	ret = store_exec(st, "COMMIT", err, errlen);
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
	store_load_memory(st, NULL, 0);
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
	if ((ret = store_exec(st, "SAVEPOINT change", err, errlen)))
		return ret;
	st->depth++;
	return 0;
}

int geofw_store_release(struct geofw_store *st, char *err, size_t errlen)
{
	int ret;

	if (st->depth < 2)
		return geofw_errf(err, errlen, -EINVAL, "no savepoint");
	if ((ret = store_exec(st, "RELEASE change", err, errlen)))
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
	store_load_memory(st, NULL, 0);
}

int store_need_txn(struct geofw_store *st, char *err, size_t errlen)
{
	if (st->read_only)
		return refuse_read_only(st, err, errlen);
	if (!st->depth)
		return geofw_errf(err, errlen, -EINVAL, "change outside a transaction");
	st->counts_ok = false;
	return 0;
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
	return store_sql_errno(rc);
}
