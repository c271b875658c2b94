/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Kernel diffs: what the rule maps must hold for a set of prefixes, and the
 * code that makes them hold it.  The rule store (store.h) produces diffs;
 * this module is the only one that writes rules into the maps, so a change
 * reaches the kernel in one place.
 *
 * Expiry is wall-clock seconds in the store (survives reboots) and
 * CLOCK_BOOTTIME nanoseconds in the kernel (what BPF reads cheaply); the
 * conversion is made here, when an entry is applied, against a clock pair
 * read once per apply.
 */
#ifndef GEOFW_KDIFF_H
#define GEOFW_KDIFF_H

#include <stdbool.h>
#include <stddef.h>

#include "geofw.h"
#include "cidr.h"

struct geofw_maps;

/* One prefix of one list (block or allow) as the kernel must hold it. */
struct geofw_kentry {
	struct geofw_cidr prefix;
	bool allow;		/* allowlist map; else the blocklist */
	bool present;		/* false: no entry (delete the key) */
	__u8 action;		/* block */
	__u32 rule_id;
	__u64 expires;		/* block: UNIX seconds, 0 = never */
	__u8 src_class;		/* block: geofw_source_class() of the winning rule */
	__u8 value_plen;	/* block, read from the kernel: the value's prefixlen */
};

struct geofw_kdiff {
	struct geofw_kentry *v;
	size_t n, cap;
};

/* The two clocks at one moment: wall seconds and boot-time nanoseconds. */
struct geofw_clock {
	__u64 wall;
	__u64 boot_ns;
};

/*
 * Now.  GEOFW_TEST_BOOT_OFFSET_NS in the environment (tests only: fakes a
 * reboot) is added to the boot clock; it is read once per process.
 */
void geofw_clock_now(struct geofw_clock *c);
/* Wall-clock expiry → kernel value (0 stays 0; a past one becomes 1 ns
 * after boot, i.e. already expired). */
__u64 geofw_expiry_to_boot_ns(__u64 expires, const struct geofw_clock *now);

/* From here to geofw_kentry_cmp(): kentry.c, in the core library (the store
 * fills diffs without linking the kernel part). */

/*
 * The 403-page class (enum geofw_resp_class) of a block rule of source:
 * "feed:NAME" feed, "crowdsec" crowdsec, "ratelimit" ratelimit, any other
 * (cli, fleet, imported lists, NULL) ip.
 */
__u8 geofw_source_class(const char *source);

int geofw_kdiff_push(struct geofw_kdiff *d, const struct geofw_kentry *e);
void geofw_kdiff_reset(struct geofw_kdiff *d);
void geofw_kdiff_free(struct geofw_kdiff *d);
/* Order: blocks before allows, then family, address bytes, prefix length. */
int geofw_kentry_cmp(const struct geofw_kentry *a, const struct geofw_kentry *b);

/*
 * Write every entry of diff into the maps (exact /32 and /128 blocks in
 * batches).  Stops at the first failure: -errno and a message; the caller
 * rolls the store back and applies the resolved diff again.
 */
int geofw_kdiff_apply(const struct geofw_maps *m, const struct geofw_kdiff *d,
		      char *err, size_t errlen);

struct geofw_reconcile_stats {
	size_t entries;		/* in the store */
	size_t put, deleted;	/* kernel writes made */
	double seconds;
};

/*
 * The entries the maps must hold: calls fn for each, in geofw_kentry_cmp()
 * order, and returns 0, fn's error or its own -errno.  The store's
 * geofw_store_for_each_entry() is one; this module does not read the store
 * itself (docs/design-notes.md, "Layers": the kernel part is below it).
 */
typedef int (*geofw_kentry_walk_fn)(void *src,
				    int (*fn)(const struct geofw_kentry *e, void *ctx), void *ctx);

/*
 * Make the rule maps equal to the entries walk gives (the store's, at
 * start-up with pins from an earlier run) by difference: keys it lacks are
 * deleted, missing or different entries written, equal ones left alone, so
 * enforcement never pauses.  Expiry times within a second of the wanted
 * ones count as equal.
 */
int geofw_kdiff_reconcile(const struct geofw_maps *m, geofw_kentry_walk_fn walk, void *src,
			  struct geofw_reconcile_stats *stats, char *err, size_t errlen);

#endif
