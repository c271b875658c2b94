// SPDX-License-Identifier: GPL-2.0-only
/*
 * The source class of block entries (the 403 page of feed, crowdsec and
 * ratelimit rules) reaches the kernel maps: written by the start-up
 * reconcile and by diffs, rewritten when pins of an older version hold
 * entries without it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cidr.h"
#include "kdiff.h"
#include "loader.h"
#include "maps.h"
#include "mapread.h"
#include "store.h"
#include "test.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

static struct geofw_cidr cidr(const char *text)
{
	struct geofw_cidr c = {};
	char err[128];

	if (geofw_cidr_parse(text, 0, &c, err, sizeof(err)))
		test__fail(__FILE__, __LINE__, "bad test prefix %s: %s", text, err);
	return c;
}

static int add_row(struct geofw_store *st, const struct geofw_maps *m, const char *prefix,
		   int action, const char *source)
{
	struct geofw_rule r = { .kind = GEOFW_RULE_BLOCK, .prefix = cidr(prefix),
				.action = (__u8)action, .source = source, .comment = "t" };
	struct geofw_kdiff d = {};
	char err[256] = "";
	int ret = geofw_store_begin(st, err, sizeof(err));

	if (!ret)
		ret = geofw_store_add(st, &r, 1, 0, &d, err, sizeof(err));
	if (!ret)
		ret = geofw_store_commit(st, err, sizeof(err));
	else
		geofw_store_rollback(st);
	if (!ret && m)
		ret = geofw_kdiff_apply(m, &d, err, sizeof(err));
	if (ret)
		fprintf(stderr, "# add %s: %s\n", prefix, err);
	geofw_kdiff_free(&d);
	return ret;
}

static int class_of(const struct geofw_maps *m, const char *prefix)
{
	struct geofw_cidr c = cidr(prefix);
	struct geofw_block b;

	return t_block_get(m, &c, &b) ? -1 : b.src_class;
}

/* The store's entries for the reconcile (as geofwd's policy.c passes them). */
static int store_entries(void *st, int (*fn)(const struct geofw_kentry *e, void *ctx), void *ctx)
{
	return geofw_store_for_each_entry(st, fn, ctx);
}

void test_kdiff_source_class(void)
{
	static const struct {
		const char *prefix, *source;
		int action, cls;
	} rows[] = {
		{ "203.0.113.7", "crowdsec", GEOFW_ACT_HTTP403, GEOFW_RC_CROWDSEC },
		{ "203.0.113.0/24", "feed:firehol", GEOFW_ACT_HTTP403, GEOFW_RC_FEED },
		{ "2001:db8:cc::1", "crowdsec", GEOFW_ACT_HTTP403, GEOFW_RC_CROWDSEC },
		{ "2001:db8:f::/48", "feed:x", GEOFW_ACT_HTTP403, GEOFW_RC_FEED },
		{ "192.0.2.9", "ratelimit", GEOFW_ACT_DROP, GEOFW_RC_RATELIMIT },
		{ "198.51.100.0/24", "cli", GEOFW_ACT_HTTP403, GEOFW_RC_IP },
		{ "2001:db8:1::5", "fleet", GEOFW_ACT_HTTP403, GEOFW_RC_IP },
	};
	char dir[] = "/tmp/geofw-kdiff-XXXXXX", err[256] = "", cmd[96];
	struct geofw_reconcile_stats stats;
	struct geofw_store *st = NULL;
	struct geofw_loaded fw;
	struct geofw_cidr c;
	struct geofw_block b;
	size_t i;

	if (!ASSERT_TRUE(mkdtemp(dir) != NULL, "mkdtemp"))
		return;
	if (!ASSERT_OK(geofw_load(NULL, &fw), "load"))
		goto out_dir;
	if (!ASSERT_OK(geofw_store_open(dir, &st, err, sizeof(err)), err))
		goto out;
	for (i = 0; i < ARRAY_SIZE(rows); i++)
		if (!ASSERT_OK(add_row(st, NULL, rows[i].prefix, rows[i].action, rows[i].source),
			       rows[i].prefix))
			goto out;

	SUBTEST("reconcile_writes_the_class") {
		ASSERT_OK(geofw_kdiff_reconcile(&fw.maps, store_entries, st, &stats, err,
						 sizeof(err)), err);
		ASSERT_EQ(stats.put, ARRAY_SIZE(rows), "every entry written");
		for (i = 0; i < ARRAY_SIZE(rows); i++)
			ASSERT_EQ(class_of(&fw.maps, rows[i].prefix), rows[i].cls, rows[i].source);
	}
	SUBTEST("entries_of_older_pins_get_it") {
		/* As pins of a version without the class hold them: pad = 0. */
		for (i = 0; i < 2; i++) {
			c = cidr(rows[i].prefix);
			if (ASSERT_OK(t_block_get(&fw.maps, &c, &b), "get")) {
				b.src_class = 0;
				ASSERT_OK(geofw_block_put(&fw.maps, &c, &b), "put class 0");
			}
		}
		ASSERT_OK(geofw_kdiff_reconcile(&fw.maps, store_entries, st, &stats, err,
						 sizeof(err)), err);
		ASSERT_EQ(stats.put, 2, "the two rewritten, the others left alone");
		ASSERT_EQ(class_of(&fw.maps, rows[0].prefix), GEOFW_RC_CROWDSEC, "crowdsec again");
		ASSERT_EQ(class_of(&fw.maps, rows[1].prefix), GEOFW_RC_FEED, "feed again");
	}
	SUBTEST("winning_row_class_in_a_diff") {
		/* A cli drop beats the crowdsec http403 on one address: ip. */
		ASSERT_OK(add_row(st, &fw.maps, "203.0.113.7", GEOFW_ACT_DROP, "cli"), "cli drop");
		ASSERT_EQ(class_of(&fw.maps, "203.0.113.7"), GEOFW_RC_IP, "cli wins: ip");
		/* A crowdsec drop on the cli address: crowdsec. */
		ASSERT_OK(add_row(st, &fw.maps, "198.51.100.0/24", GEOFW_ACT_DROP, "crowdsec"),
			  "crowdsec drop");
		ASSERT_EQ(class_of(&fw.maps, "198.51.100.0/24"), GEOFW_RC_CROWDSEC,
			  "crowdsec wins: crowdsec");
		ASSERT_OK(geofw_kdiff_reconcile(&fw.maps, store_entries, st, &stats, err,
						 sizeof(err)), err);
		ASSERT_EQ(stats.put + stats.deleted, 0, "start agrees with the diffs");
	}
out:
	if (st)
		geofw_store_close(st);
	geofw_unload(&fw);
out_dir:
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ASSERT_OK(system(cmd), "rm -rf");
}
