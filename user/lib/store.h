/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The rule store: every runtime rule (blocks, allows, listed countries) in
 * one SQLite database, StateDirectory/rules.db, owned by geofwd.
 *
 * A change, geofwd's way (fwctl hears "ok" only after COMMIT is on disk):
 *
 *	geofw_store_begin(st);
 *	err = geofw_store_add(st, rules, n, &diff, msg, sizeof(msg));  // rows
 *	if (!err)
 *		err = geofw_kdiff_apply(maps, &diff, ...);	// kernel
 *	if (!err)
 *		err = geofw_store_commit(st, msg, sizeof(msg));	// fsync
 *	if (err) {
 *		geofw_store_rollback(st);
 *		geofw_store_resolve(st, &diff);	// diff := what the rows say
 *		geofw_kdiff_apply(maps, &diff, ...);	// kernel back
 *	}
 *
 * Every mutating call fills a kernel diff (kdiff.h): for each prefix it
 * touched, the entry the kernel must now hold, resolved over all sources.
 * Several changes may share one transaction (group commit); a savepoint
 * undoes one of them alone.
 *
 * Durability: WAL with synchronous=FULL, so COMMIT returns after the WAL is
 * fsynced: an acknowledged rule survives a crash and a power loss (NORMAL
 * would survive a crash only).  The database is checked at open
 * (PRAGMA integrity_check) and a damaged one is refused, never repaired.
 *
 * Precedence when several sources name one prefix: an allow row puts the
 * prefix in the allowlist, which the data plane consults first (allow wins);
 * among block rows the strictest action wins (drop > reject > http403 >
 * log), then the longest expiry (never > later > sooner).
 *
 * AS rules (kinds BLOCK_ASN, ALLOW_ASN) are rows like the others, keyed by
 * AS number instead of prefix, with the same sources, TTL and precedence.
 * They change no kernel diff: the AS-class tables are rebuilt from
 * geofw_store_for_each_asn() (geofwd's policy.c) after each change.
 *
 * Not thread-safe: one owner (geofwd's main loop).
 */
#ifndef GEOFW_STORE_H
#define GEOFW_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "geofw.h"
#include "cidr.h"
#include "kdiff.h"

#define GEOFW_STORE_FILE	"rules.db"
#define GEOFW_STORE_V1_FILE	"rules"		/* the text state file before 0.2 */
#define GEOFW_STORE_V1_BACKUP	"rules.v1.bak"
/* 1: blocks, allows, countries, lists; 2: AS rules (kinds 4 and 5); 3:
 * port_rules and ratelimits tables.  An older database is migrated at open,
 * in one transaction. */
#define GEOFW_STORE_SCHEMA	3
/* Longest comment and source tag, in bytes of UTF-8 (without NUL). */
#define GEOFW_STORE_COMMENT_MAX	128
#define GEOFW_STORE_SOURCE_MAX	128

enum geofw_rule_kind {
	GEOFW_RULE_BLOCK	= 1,
	GEOFW_RULE_ALLOW	= 2,
	GEOFW_RULE_COUNTRY	= 3,
	GEOFW_RULE_BLOCK_ASN	= 4,	/* an AS blocked with an action */
	GEOFW_RULE_ALLOW_ASN	= 5,	/* an AS let through (before IP blocks) */
	/* A country blocked by a source for a while (CrowdSec country
	 * decisions): keyed by country and source, with action and expiry;
	 * see geofw_store_country_block_set(). */
	GEOFW_RULE_BLOCK_COUNTRY = 6,
};

/* Source names the store refuses: "config" stands for geofw.conf's own
 * BlockASN/AllowASN in `fwctl list`, never for a row. */
#define GEOFW_STORE_CONFIG_SOURCE	"config"

static inline bool geofw_rule_kind_asn(int kind)
{
	return kind == GEOFW_RULE_BLOCK_ASN || kind == GEOFW_RULE_ALLOW_ASN;
}

/*
 * One row.  As input: rule_id is assigned by the store (ignored), a NULL
 * comment means "".  As output the strings point into the store and stay
 * valid until the next call.
 */
struct geofw_rule {
	int kind;			/* enum geofw_rule_kind */
	struct geofw_cidr prefix;	/* block, allow: canonical */
	__u32 asn;			/* block-asn, allow-asn: AS number, not 0 */
	__u8 country;			/* country: id (countries.h) */
	__u8 action;			/* block, block-asn: GEOFW_ACT_DROP..LOG;
					 * country: 0 = default */
	__u32 rule_id;			/* hit counter; 0 = not counted */
	__u64 expires;			/* block, block-asn: UNIX seconds, UTC;
					 * 0 = never (allows never expire) */
	const char *comment;
	const char *source;		/* "cli", "import:NAME", "feed:NAME", ... */
	__u32 uid;			/* who made it (peer credentials) */
	__s32 pid;
	__u64 created;			/* when (UNIX seconds), last set */
};

/*
 * Country policy set at runtime.  While override is false the config file's
 * policy is in force; the first runtime change copies the config's policy in
 * (geofwd's job) and from then on this one replaces it entirely.
 */
struct geofw_store_countries {
	bool override;
	__u8 mode;				/* enum geofw_country_mode */
	__u8 action;				/* default block action */
	bool listed[GEOFW_MAX_COUNTRIES];	/* by country id */
	__u8 country_action[GEOFW_MAX_COUNTRIES]; /* of a listed country, 0 = default */
};

struct geofw_store_counts {
	size_t block_ip4, block_ip6;	/* exact /32 and /128 prefixes */
	size_t block_net4, block_net6;	/* shorter prefixes */
	size_t allow4, allow6;
	size_t rows;			/* rules of every source, countries too */
	size_t block_asn, allow_asn;	/* ASes with a block / allow row */
};

struct geofw_store;

/* Flags of geofw_store_add(). */
enum {
	/* New rows of the batch share one rule id per source, kept from the
	 * source's earlier imports (hits counted per list). */
	GEOFW_STORE_ONE_ID	= 1u << 0,
};

/*
 * Open (create) DIR/rules.db: WAL, synchronous=FULL, schema check,
 * PRAGMA integrity_check.  When there is no database yet but DIR/rules (the
 * text state file of earlier versions) exists, its rules are imported in one
 * transaction and the file is renamed to rules.v1.bak.  -errno and a message
 * naming the file and what to do (a damaged database is never touched).
 */
int geofw_store_open(const char *dir, struct geofw_store **out, char *err, size_t errlen);
void geofw_store_close(struct geofw_store *st);
const char *geofw_store_path(const struct geofw_store *st);
/* Opened from a read-only state directory: every change is refused. */
bool geofw_store_read_only(const struct geofw_store *st);
/* There was no rules.db: this open made it. */
bool geofw_store_created(const struct geofw_store *st);
/* 0 while the path still names the file opened; -ESTALE (err says so) once
 * it was removed or replaced: every change is then refused (begin). */
int geofw_store_check_file(const struct geofw_store *st, char *err, size_t errlen);

/* Transactions.  begin: BEGIN IMMEDIATE; commit: COMMIT (durable when it
 * returns 0); rollback undoes everything since begin (never fails).
 * Savepoints nest inside: mark one change so that it alone can be undone. */
int geofw_store_begin(struct geofw_store *st, char *err, size_t errlen);
int geofw_store_commit(struct geofw_store *st, char *err, size_t errlen);
void geofw_store_rollback(struct geofw_store *st);
bool geofw_store_in_txn(const struct geofw_store *st);
int geofw_store_savepoint(struct geofw_store *st, char *err, size_t errlen);
int geofw_store_release(struct geofw_store *st, char *err, size_t errlen);
void geofw_store_rollback_to(struct geofw_store *st);

/*
 * Add or replace block/allow rows, all or nothing (inside a transaction).
 * The row of the same kind, prefix and source is replaced (its rule id is
 * kept); other sources' rows of the prefix stay.  diff gets each touched
 * prefix's resolved entry.  -EINVAL for an invalid row (err names it).
 */
int geofw_store_add(struct geofw_store *st, const struct geofw_rule *rules, size_t n,
		    unsigned int flags, struct geofw_kdiff *diff, char *err, size_t errlen);
/* Remove the rows of kind for each prefix: of source, or of every source
 * when source is NULL.  -ENOENT naming the first prefix without any. */
int geofw_store_del(struct geofw_store *st, int kind, const struct geofw_cidr *prefixes,
		    size_t n, const char *source, struct geofw_kdiff *diff,
		    char *err, size_t errlen);
/*
 * Make source's block and allow rows exactly rules[] (sorted by kind, then
 * geofw_cidr_cmp(), no duplicates, all of this source): missing ones are
 * added, others updated, rows not in the list removed.  *removed gets the
 * number removed.
 */
int geofw_store_replace_source(struct geofw_store *st, const char *source,
			       const struct geofw_rule *rules, size_t n, size_t *removed,
			       struct geofw_kdiff *diff, char *err, size_t errlen);
/*
 * An imported list (source "import:NAME"): one row holding its sorted
 * prefixes (v[]: sorted by geofw_cidr_cmp(), no duplicates), all with the
 * action, expiry, comment and who of attrs.  replace: the list becomes
 * exactly v[] (*removed: how many left it); else v[] joins the prefixes it
 * has.  A list has one action and expiry, the last import's.  An empty
 * list is removed.  diff gets every prefix whose entry may have changed.
 */
int geofw_store_import(struct geofw_store *st, const char *source, const struct geofw_cidr *v,
		       size_t n, const struct geofw_rule *attrs, bool replace, size_t *removed,
		       struct geofw_kdiff *diff, char *err, size_t errlen);
/*
 * AS rules.  Add them with geofw_store_add() (kind BLOCK_ASN or ALLOW_ASN,
 * asn set, prefix ignored; any source but "config": cli, crowdsec, fleet,
 * ...); the row of the same kind, AS and source is replaced.  del removes
 * the rows of kind for each AS, of source or of every source (NULL):
 * -ENOENT naming the first AS without any.  Neither touches diff: the
 * caller rebuilds the AS tables from for_each_asn.
 */
int geofw_store_del_asn(struct geofw_store *st, int kind, const __u32 *asns, size_t n,
			const char *source, char *err, size_t errlen);
/*
 * Make source's AS rows exactly rules[] (any order, kinds BLOCK_ASN and
 * ALLOW_ASN, all of this source): a feed's or CrowdSec's full set of AS
 * decisions.  Rows not in the list are removed (*removed: how many), the
 * others added or updated.  All or nothing (inside a transaction).
 */
int geofw_store_replace_source_asn(struct geofw_store *st, const char *source,
				   const struct geofw_rule *rules, size_t n, size_t *removed,
				   char *err, size_t errlen);
/*
 * The rule in force for each AS with rows, by AS number: the winning row
 * (an allow of any source wins; then the strictest action, then the
 * longest expiry), rows with 0 < expires <= now left out.  A non-zero
 * return of fn stops the walk and is returned.
 */
int geofw_store_for_each_asn(struct geofw_store *st, __u64 now,
			     int (*fn)(const struct geofw_rule *r, void *ctx), void *ctx);
/*
 * Countries blocked by a source (kind BLOCK_COUNTRY): rows keyed by country
 * and source, with action (drop..log), expiry and comment.  They change no
 * kernel diff: geofwd lays geofw_store_country_blocks() over the country
 * policy (a blocked country is blocked whatever the policy says) after each
 * change and sweep.  Expired rows go with geofw_store_sweep(), and with the
 * source in geofw_store_del_source().  Inside a transaction.
 *
 * set: add or replace the row of (r->country, r->source).  del: remove it;
 * the number removed (0: there was none, not an error) or -errno.
 * replace: the source's rows become exactly r[] (one per country), in one
 * go; *removed gets how many left.
 */
int geofw_store_country_block_set(struct geofw_store *st, const struct geofw_rule *r,
				  char *err, size_t errlen);
int geofw_store_country_block_del(struct geofw_store *st, const char *source, __u8 country,
				  char *err, size_t errlen);
int geofw_store_country_block_replace(struct geofw_store *st, const char *source,
				      const struct geofw_rule *r, size_t n, size_t *removed,
				      char *err, size_t errlen);
/* By country id: the strictest action of its rows not expired at now,
 * 0 (GEOFW_ACT_PASS) for a country without any. */
void geofw_store_country_blocks(struct geofw_store *st, __u64 now,
				__u8 action[GEOFW_MAX_COUNTRIES]);

/* Remove every row of source (its list too); the number removed or -errno. */
long geofw_store_del_source(struct geofw_store *st, const char *source,
			    struct geofw_kdiff *diff, char *err, size_t errlen);
/* Remove every row with 0 < expires <= now; the number or -errno. */
long geofw_store_sweep(struct geofw_store *st, __u64 now, struct geofw_kdiff *diff,
		       char *err, size_t errlen);
/* Earliest expiry of any row; 0 when none expires. */
__u64 geofw_store_next_expiry(struct geofw_store *st);

/* Refill every entry of diff (prefix and allow kept) with what the rows now
 * say: after a rollback, the kernel gets back in line with it. */
int geofw_store_resolve(struct geofw_store *st, struct geofw_kdiff *diff);

/*
 * Every resolved kernel entry (blocks then allows, each by family, address,
 * length: the order of geofw_kentry_cmp()).  A non-zero return of fn stops
 * the walk and is returned.
 */
int geofw_store_for_each_entry(struct geofw_store *st,
			       int (*fn)(const struct geofw_kentry *e, void *ctx), void *ctx);
/* Every row, of source only when source is not NULL, kind 0 = any; ordered
 * by kind, prefix (AS number), source. */
int geofw_store_for_each_rule(struct geofw_store *st, int kind, const char *source,
			      int (*fn)(const struct geofw_rule *r, void *ctx), void *ctx);
/*
 * The sources holding a row of kind for any of the keys: prefixes[] for
 * block and allow (imported lists included), asns[] for the AS kinds.
 * fn is called once per row found (a source may come more than once); a
 * non-zero return stops the walk and is returned.  What a removal by hand
 * is about to take from each source.
 */
int geofw_store_key_sources(struct geofw_store *st, int kind, const struct geofw_cidr *prefixes,
			    const __u32 *asns, size_t n,
			    int (*fn)(const char *source, void *ctx), void *ctx);

/* The country policy override; set validates it. */
const struct geofw_store_countries *geofw_store_countries(const struct geofw_store *st);
int geofw_store_set_countries(struct geofw_store *st, const struct geofw_store_countries *c,
			      __u32 uid, __s32 pid, char *err, size_t errlen);

void geofw_store_counts(struct geofw_store *st, struct geofw_store_counts *out);
/* Rules of source not expired at now (an imported list's prefixes
 * included; the country policy not): for the status of a source. */
size_t geofw_store_count_source(struct geofw_store *st, const char *source, __u64 now);
/* Copy the WAL into the database file when no transaction is open (geofwd
 * calls it once the answers are sent, so no client waits for it). */
int geofw_store_checkpoint(struct geofw_store *st);

/*
 * Validate a comment or source tag: at most max bytes of UTF-8 (shortest
 * forms, no surrogates), no control characters (C0, DEL, C1).  what names
 * the field in the message.  0 or -EINVAL.
 */
int geofw_store_check_text(const char *s, size_t len, size_t max, const char *what,
			   char *err, size_t errlen);

/* ---- port-scoped rules (schema 2, ports.h) --------------------------------------- */

struct geofw_prule;
struct geofw_ports;

/*
 * Add or replace port-scoped rows (inside a transaction): the row of the
 * same kind, port list, target and source is replaced, its rule id kept;
 * a new row gets an id of its own.  The caller rebuilds the port tables
 * (geofw_ports_build/install) from geofw_store_port_for_each().
 */
int geofw_store_port_add(struct geofw_store *st, const struct geofw_prule *rules, size_t n,
			 char *err, size_t errlen);
/* Remove the rows of kind and port list: of target only when target is not
 * NULL (canonical text), of source only when source is not NULL.  The
 * number removed, or -ENOENT with a message when none matched. */
long geofw_store_port_del(struct geofw_store *st, int kind, const struct geofw_ports *ports,
			  const char *target, const char *source, char *err, size_t errlen);
/* Every port-scoped row, ordered by kind, ports, target, source; strings
 * valid during the call.  A non-zero return of fn stops the walk. */
int geofw_store_port_for_each(struct geofw_store *st,
			      int (*fn)(const struct geofw_prule *r, void *ctx), void *ctx);
/* Remove the port-scoped rows with 0 < expires <= now; the number or -errno. */
long geofw_store_port_sweep(struct geofw_store *st, __u64 now, char *err, size_t errlen);

/* Rate limits set with fwctl (schema 2): the canonical line of each, by
 * name (ratelimit.h).  put replaces a limit of the same name; del answers
 * -ENOENT with a message when there is none. */
int geofw_store_rl_put(struct geofw_store *st, const char *name, const char *spec, __u32 uid,
		       __s32 pid, char *err, size_t errlen);
int geofw_store_rl_del(struct geofw_store *st, const char *name, char *err, size_t errlen);
int geofw_store_rl_for_each(struct geofw_store *st,
			    int (*fn)(const char *name, const char *spec, void *ctx), void *ctx);

/* ---- fleet (geofwd's fleet.c) ------------------------------------------------ */

/* An integer of the settings table ("fleet_revision": the last bucket
 * revision applied).  get: 0, -ENOENT or -errno. */
int geofw_store_get_setting(struct geofw_store *st, const char *key, long long *value);
int geofw_store_set_setting(struct geofw_store *st, const char *key, long long value,
			    char *err, size_t errlen);
/*
 * A text of the settings table (threat feeds: "feed:NAME" holds the
 * validators of the last good fetch).  get: *value malloc'd (free()), 0,
 * -ENOENT or -errno.  set: value NULL removes the key.  keys: every key
 * starting with prefix; a non-zero return of fn stops the walk and is
 * returned.
 */
int geofw_store_get_text(struct geofw_store *st, const char *key, char **value);
int geofw_store_set_text(struct geofw_store *st, const char *key, const char *value,
			 char *err, size_t errlen);
int geofw_store_setting_keys(struct geofw_store *st, const char *prefix,
			     int (*fn)(const char *key, void *ctx), void *ctx);
/*
 * The outbox: fleet-scope changes made on this host, kept (durably, with the
 * transaction they are part of) until the bucket has them.  value NULL: a
 * delete of key; base: the key's revision this host knew when the change
 * was made (0: none), so that a change the bucket may already have (a crash
 * after its acknowledgement) is published only if the key is unchanged.
 * for_each walks the rows with an id above after, oldest first; a non-zero
 * return of fn stops the walk and is returned.
 */
int geofw_store_outbox_add(struct geofw_store *st, const char *key, const char *value,
			   long long base, char *err, size_t errlen);
int geofw_store_outbox_del(struct geofw_store *st, long long id, char *err, size_t errlen);
int geofw_store_outbox_for_each(struct geofw_store *st, long long after,
				int (*fn)(long long id, const char *key, const char *value,
					  long long base, void *ctx), void *ctx);

/*
 * The bucket as this host last applied it: every key with its revision and
 * value (NULL: deleted), kept in the transaction of the rows it produced.
 * It holds what has no rows (the fleet's country policy, keys of kinds a
 * later geofw applies) and the revision each change is based on.
 * get: 0 (*value malloc'ed or NULL), -ENOENT or -errno; clear empties it;
 * for_each walks the keys starting with prefix, in key order.
 */
int geofw_store_fleet_put(struct geofw_store *st, const char *key, long long rev,
			  const char *value, char *err, size_t errlen);
int geofw_store_fleet_get(struct geofw_store *st, const char *key, long long *rev,
			  char **value);
int geofw_store_fleet_clear(struct geofw_store *st, char *err, size_t errlen);
int geofw_store_fleet_for_each(struct geofw_store *st, const char *prefix,
			       int (*fn)(const char *key, long long rev, const char *value,
					 void *ctx), void *ctx);

/* ---- migration from the text state file (store_v1.c) ------------------------- */

/*
 * Parse the text state file of geofw before the database ("# geofw state
 * v1"): its rules as rows (source "cli" when it named none), the country
 * override.  buf may hold any bytes.  0 or -EINVAL with "NAME:LINE: message";
 * free *rules (strings point into buf, which must outlive them).
 */
int geofw_store_v1_parse(char *buf, size_t len, const char *name, struct geofw_rule **rules,
			 size_t *n, struct geofw_store_countries *countries,
			 char *err, size_t errlen);

#endif
