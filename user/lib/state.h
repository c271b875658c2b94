/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Persistent rule state: the rules added at runtime with fwctl (blocks,
 * allows, country policy overrides), kept in memory by geofwd and saved to
 * /var/lib/geofw/ so that an acknowledged rule survives a restart or a crash.
 *
 * Changing the state, geofwd's way (fwctl is answered "ok" only after the
 * change is on disk):
 *
 *	geofw_state_begin(st);
 *	err = geofw_state_add_blocks(st, rules, n, 0, msg, sizeof(msg));
 *	if (!err)
 *		err = geofw_state_save(st, path, msg, sizeof(msg));
 *	if (err)
 *		geofw_state_rollback(st);	// memory back to the file's content
 *	else
 *		geofw_state_commit(st);		// then update the maps
 *
 * Every mutating call is all-or-nothing by itself (a batch with one bad entry
 * changes nothing); begin/commit/rollback group several calls and the save.
 * Without begin the calls apply immediately and cannot be undone.
 *
 * File format (text, UTF-8, one item per line, LF line ends, single spaces):
 *
 *	# geofw state v1
 *	next-rule-id 7
 *	country-policy block drop
 *	country RU drop
 *	allow 192.0.2.0/24 id=1 comment="office VPN"
 *	block 203.0.113.0/24 drop id=2 expires=1718275653 source="cli" comment="a \"b\""
 *	block 198.51.100.7/32 reject id=3 source="import:drop.txt"
 *	list id=3 source="import:drop.txt"
 *
 * The header line comes first and names the version.  Fields come in this
 * order; expires= (UNIX seconds, wall clock) and comment= are left out when
 * unset.  A list line keeps the rule id that the GEOFW_STATE_ONE_ID imports
 * of a source share, for the next import of that source.  Strings are
 * double-quoted with \" and \\ as the only escapes; they never hold control
 * characters.  Further '#' lines and empty lines are ignored.  Anything else
 * — unknown keyword, field out of order, duplicate prefix, bad UTF-8, CR,
 * missing final newline (a cut file) — fails the whole load with
 * "FILE:LINE: message": geofwd refuses to start rather than drop rules.
 *
 * Not thread-safe: one owner (geofwd's main loop) at a time.
 */
#ifndef GEOFW_STATE_H
#define GEOFW_STATE_H

#include <stdbool.h>
#include <stddef.h>

#include "geofw.h"
#include "cidr.h"

#define GEOFW_STATE_HEADER	"# geofw state v1"
/* Longest comment and source tag, in bytes of UTF-8 (without NUL). */
#define GEOFW_STATE_COMMENT_MAX	128
#define GEOFW_STATE_SOURCE_MAX	128
/* Longest line of a state file; longer lines are rejected. */
#define GEOFW_STATE_LINE_MAX	1024

struct geofw_state;

/*
 * A block rule.  As input: rule_id is ignored (the state assigns it), a NULL
 * comment or source means "".  As output: the strings point into the state
 * and stay valid until the state is next changed.
 */
struct geofw_state_block {
	struct geofw_cidr prefix;	/* canonical: host bits clear */
	__u8  action;			/* GEOFW_ACT_DROP/REJECT/HTTP403/LOG */
	__u32 rule_id;			/* 1..GEOFW_MAX_RULE_IDS-1; 0 = not counted */
	__u64 expires;			/* UNIX seconds (wall clock); 0 = never */
	const char *comment;		/* free text, "" when none */
	const char *source;		/* who added it: "cli", "import:NAME" */
};

struct geofw_state_allow {
	struct geofw_cidr prefix;
	__u32 rule_id;
	const char *comment;
};

/*
 * Country policy set at runtime.  While override is false the config file's
 * policy is in force; the first runtime change copies the config's policy in
 * (geofwd's job) and from then on this one replaces it entirely.
 */
struct geofw_state_countries {
	bool override;
	__u8 mode;				/* enum geofw_country_mode */
	__u8 action;				/* block action: unlisted countries in
						 * allow mode, listed ones by default */
	bool listed[GEOFW_MAX_COUNTRIES];	/* by country id (countries.h) */
	__u8 country_action[GEOFW_MAX_COUNTRIES]; /* of a listed country */
};

struct geofw_state_counts {
	size_t block_ip4, block_ip6;	/* exact /32 and /128 */
	size_t block_net4, block_net6;	/* shorter prefixes */
	size_t allow4, allow6;
	size_t rule_ids;		/* rule ids in use */
};

/* Flags of geofw_state_add_blocks(). */
enum {
	/*
	 * New entries of the batch share one rule id, the one this source got
	 * last time when it still has it (imports: hits counted per list).
	 * Without it each new entry gets its own id.
	 */
	GEOFW_STATE_ONE_ID	= 1u << 0,
};

/* An empty state; NULL when out of memory. */
struct geofw_state *geofw_state_new(void);
void geofw_state_free(struct geofw_state *st);

/*
 * Read a state file into a new state (*out, free with geofw_state_free()).
 * A missing file gives an empty state and 0; a file that is not a regular
 * file, or is malformed, gives -errno and "FILE:LINE: message" in err.
 */
int geofw_state_load(const char *path, struct geofw_state **out, char *err, size_t errlen);
/* The same on memory; buf may hold any bytes and need not be NUL-terminated.
 * name is the FILE of messages (NULL: "<state>"). */
int geofw_state_parse_buf(const void *buf, size_t len, const char *name,
			  struct geofw_state **out, char *err, size_t errlen);

/*
 * Write the state atomically: PATH.tmp in the same directory, fsync, rename
 * over PATH, fsync the directory.  On failure the temp file is removed, PATH
 * keeps its previous content and -errno comes back with a message.  (Only a
 * failing fsync of the directory, after the rename, can leave the new content
 * in PATH: the change may then survive although it was reported as failed,
 * which loses nothing.)
 */
int geofw_state_save(const struct geofw_state *st, const char *path, char *err, size_t errlen);
/* The file content, for tests and `fwctl state dump`; free() *buf. */
int geofw_state_format(const struct geofw_state *st, char **buf, size_t *len);

/* Transactions: record the changes from now on / forget the record / undo
 * every change since begin (never fails).  No nesting: begin while a
 * transaction is open is a programming error and returns -EBUSY. */
int geofw_state_begin(struct geofw_state *st);
void geofw_state_commit(struct geofw_state *st);
void geofw_state_rollback(struct geofw_state *st);

/*
 * Add or replace block rules, all or nothing.  Re-adding a listed prefix
 * replaces its action, expiry, comment and source and keeps its rule id; the
 * last of duplicates in one batch wins.  -EINVAL for an invalid entry,
 * -ENOSPC when a blocklist map would overflow, -ENOMEM; err names the prefix.
 */
int geofw_state_add_blocks(struct geofw_state *st, const struct geofw_state_block *rules,
			   size_t n, unsigned int flags, char *err, size_t errlen);
/* Remove block rules, all or nothing: -ENOENT naming the first prefix that
 * is not blocked. */
int geofw_state_del_blocks(struct geofw_state *st, const struct geofw_cidr *prefixes,
			   size_t n, char *err, size_t errlen);

/* Called for each block rule removed by a sweep or a source removal, before
 * it goes (the strings are valid during the call). */
typedef void (*geofw_state_removed_fn)(const struct geofw_state_block *rule, void *ctx);

/* Remove every block rule whose source is exactly source (replacing an
 * imported list).  Number removed, or -ENOMEM (then nothing is removed). */
long geofw_state_del_source(struct geofw_state *st, const char *source,
			    geofw_state_removed_fn fn, void *ctx);
/* Remove every block rule with 0 < expires <= now.  Number removed, or
 * -ENOMEM (then nothing is removed). */
long geofw_state_sweep(struct geofw_state *st, __u64 now, geofw_state_removed_fn fn, void *ctx);
/* Earliest expiry of any rule (a lower bound: it may be earlier than the
 * real one after removals, never later); 0 when no rule expires. */
__u64 geofw_state_next_expiry(const struct geofw_state *st);

/* Allow rules, all or nothing; re-adding replaces the comment, keeps the id. */
int geofw_state_add_allows(struct geofw_state *st, const struct geofw_state_allow *rules,
			   size_t n, char *err, size_t errlen);
int geofw_state_del_allows(struct geofw_state *st, const struct geofw_cidr *prefixes,
			   size_t n, char *err, size_t errlen);

/* The country policy override: read it, change a copy, set it back (set
 * validates mode, actions and country ids; override=false drops it). */
const struct geofw_state_countries *geofw_state_countries(const struct geofw_state *st);
int geofw_state_set_countries(struct geofw_state *st, const struct geofw_state_countries *c,
			      char *err, size_t errlen);

/* Lookup by exact prefix: 0 and *out filled, or -ENOENT. */
int geofw_state_find_block(const struct geofw_state *st, const struct geofw_cidr *prefix,
			   struct geofw_state_block *out);
int geofw_state_find_allow(const struct geofw_state *st, const struct geofw_cidr *prefix,
			   struct geofw_state_allow *out);

/* Visit every rule (in file order); fn must not change the state.  A
 * non-zero return of fn stops the walk and is returned. */
int geofw_state_for_each_block(const struct geofw_state *st,
			       int (*fn)(const struct geofw_state_block *rule, void *ctx),
			       void *ctx);
int geofw_state_for_each_allow(const struct geofw_state *st,
			       int (*fn)(const struct geofw_state_allow *rule, void *ctx),
			       void *ctx);

void geofw_state_counts(const struct geofw_state *st, struct geofw_state_counts *out);
/* The id the next new rule will get (before skipping ids in use). */
__u32 geofw_state_next_rule_id(const struct geofw_state *st);

/*
 * Validate a comment or source tag: at most max bytes of UTF-8 (shortest
 * forms, no surrogates), no control characters (C0, DEL, C1).  what names
 * the field in the message.  0 or -EINVAL.
 */
int geofw_state_check_text(const char *s, size_t len, size_t max, const char *what,
			   char *err, size_t errlen);

#endif
