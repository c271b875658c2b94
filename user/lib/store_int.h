/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The rule store's internals, shared by its files: store.c (schema, open,
 * transactions, statements), store_lists.c (imported lists, resolving),
 * store_rules.c (changes), store_read.c (reading), store_ports.c (port
 * rules, rate limits), store_fleet.c (the fleet's tables).  Not for the
 * rest of geofw: store.h is the interface.
 */
#ifndef GEOFW_STORE_INT_H
#define GEOFW_STORE_INT_H

#include <limits.h>
#include <sqlite3.h>
#include <stdbool.h>

#include "kdiff.h"
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
	bool created;		/* no rules.db before this open: made here */
	dev_t dev;		/* the file opened, to notice it removed or replaced */
	ino_t ino;
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

/* store.c */
int store_sql_errno(int rc);
int store_sql_fail(struct geofw_store *st, int rc, const char *what, char *err, size_t errlen);
int store_exec(struct geofw_store *st, const char *sql, char *err, size_t errlen);
int store_check_rule(const struct geofw_rule *r, char *err, size_t errlen);
sqlite3_stmt *store_stmt(struct geofw_store *st, int which);
int store_addr_len(int family);
void store_bind_key(sqlite3_stmt *s, int kind, const struct geofw_cidr *p);
void store_bind_asn_key(sqlite3_stmt *s, int kind, const __be32 *asn_be);
int store_column_asn(sqlite3_stmt *s, int col, __u32 *asn);
bool store_kind_blocks(int kind);
int store_column_key(sqlite3_stmt *s, int col, struct geofw_cidr *p);
int store_put_setting(struct geofw_store *st, const char *key, long long value);
void store_id_set(struct geofw_store *st, __u32 id, __u8 use);
__u32 store_id_alloc(struct geofw_store *st, __u8 use);
void store_id_release(struct geofw_store *st, __u32 id);
int store_need_txn(struct geofw_store *st, char *err, size_t errlen);

/* store_lists.c */
void store_lists_free(struct geofw_store *st);
int store_load_memory(struct geofw_store *st, char *err, size_t errlen);
void store_consider(struct geofw_kentry *e, const struct slist *l);
int store_cmp_cidr_v(const void *a, const void *b);
int store_find_list(const struct geofw_store *st, const char *source);
int store_push_resolved(struct geofw_store *st, struct geofw_kdiff *diff, int kind,
			const struct geofw_cidr *p);
int store_remove_list(struct geofw_store *st, size_t idx, struct geofw_kdiff *diff);
int store_unlist(struct geofw_store *st, const struct geofw_cidr *p, size_t n,
		 const char *source, bool *found);

/* store_rules.c */
__u32 store_source_id(struct geofw_store *st, const char *source, __u64 now);

#endif
