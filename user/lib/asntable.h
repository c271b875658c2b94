/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ASN rules → the ASN class tables (include/geofw.h): each AS with a rule
 * gets a class id 1..254, the ASN database is walked once with the
 * classes (geoip.h, opts.asn_class), the (prefix, class) pairs are built
 * into geo-table images (geotable.h) and switched in with their classes.
 * An IPv4 packet then pays one array access, whatever the number of
 * prefixes of the blocked ASes (docs/design-notes.md).
 *
 * `fwctl asn verify` checks the kernel's answer for addresses against
 * libmaxminddb's AS number for the same database file (geoverify.h).
 */
#ifndef GEOFW_ASNTABLE_H
#define GEOFW_ASNTABLE_H

#include <stdbool.h>
#include <stddef.h>

#include "geofw.h"
#include "geoip.h"
#include "geotable.h"
#include "maps.h"

struct btf;

/* One AS rule as the data plane applies it. */
struct geofw_asn_rule {
	__u32 asn;
	__u8  kind;		/* GEOFW_ASN_ALLOW or GEOFW_ASN_BLOCK */
	__u8  action;		/* GEOFW_ASN_BLOCK: enum geofw_action, never PASS */
	__u32 rule_id;		/* gfw_cnt_rule index, 0 = none */
	__u64 expires_ns;	/* CLOCK_BOOTTIME ns; 0 = never */
};

/* AS numbers from a file, one a line ('#' comments and blank lines
 * skipped), at most max into out.  The count, or -errno (-EINVAL for a bad
 * line, -E2BIG for more than max; logged with file:line). */
int geofw_asn_list_read(const char *path, __u32 *out, size_t max);

/* The classes of a rule set: sorted by AS number, one per AS; an AS both
 * allowed and blocked is allowed (the allowlist comes first). */
struct geofw_asn_classes {
	struct geofw_asn_class c[GEOFW_ASN_CLASS_MAX_ID];
	size_t n;
};

/* 0, -EINVAL (AS 0, a block without an action) or -E2BIG (more than
 * GEOFW_ASN_CLASS_MAX_ID distinct ASes), logged. */
int geofw_asn_classes_make(const struct geofw_asn_rule *rules, size_t n,
			   struct geofw_asn_classes *out);

/* The classes in force in m (gfw_asn_class of the slot in force; n 0 when
 * no ASN table is in force), sorted by AS, class id = index + 1.  Classes
 * of kind GEOFW_ASN_NONE (ASes with port-scoped rules only, no AS rule)
 * are included.  0 or -errno. */
int geofw_asn_classes_in_force(const struct geofw_maps *m, struct geofw_asn_classes *out);

/* Class id (1..n) of an AS, 0 when it has no rule. */
unsigned int geofw_asn_class_of(const struct geofw_asn_classes *cl, __u32 asn);

/* The ASN database's networks of the classes' ASes, as (prefix, class id)
 * pairs in db (geofw_geoip_free()).  Errors as geofw_geoip_load(). */
int geofw_asn_db_load(const char *path, const struct geofw_asn_classes *cl,
		      struct geofw_geoip_db *db);

/* An ASN database opened for single lookups (geofw_geoip_lookup_asn()).
 * Errors as geofw_geoip_open(). */
int geofw_asn_reader_open(const char *path, struct geofw_geoip_reader **out);

struct geofw_asn_report {
	size_t ases;			/* ASes with rules */
	size_t n_v4, n_v6;		/* their prefixes in the database */
	double load_ms;			/* walk, build and switch */
};

/*
 * The tables for rules with the database at path, read and built but not
 * written: a reload checks everything it will put in force before it
 * changes anything (geofw_asn_commit() then switches them in).  No rules:
 * a plan that removes the ASN tables.  0 or -errno, logged; on error plan
 * holds nothing to free.
 */
struct geofw_asn_plan {
	struct geofw_asn_classes *cl;	/* NULL: no rules, the tables go */
	struct geofw_geo_image img;
	size_t n_v4, n_v6;
	double t0_ms;
};

int geofw_asn_prepare(const char *path, const struct geofw_asn_rule *rules, size_t n,
		      struct geofw_asn_plan *plan);
/* Switch a plan in (geofw_asn_install(), or geofw_asn_clear() for a plan
 * without rules) and free it, installed or not.  rep may be NULL. */
int geofw_asn_commit(const struct geofw_maps *m, const struct btf *btf,
		     struct geofw_asn_plan *plan, struct geofw_asn_report *rep);
void geofw_asn_plan_free(struct geofw_asn_plan *plan);

/*
 * Put rules in force with the database at path: prepare and commit in one
 * step.  On error (a bad database among them) the tables in force stay.
 * rep may be NULL.  0 or -errno, logged.
 */
int geofw_asn_apply(const struct geofw_maps *m, const struct btf *btf, const char *path,
		    const struct geofw_asn_rule *rules, size_t n, struct geofw_asn_report *rep);

#endif
