// SPDX-License-Identifier: GPL-2.0-only
/* Countries blocked by a source (store kind BLOCK_COUNTRY: CrowdSec country
 * decisions) and the per-source rule count, on a real rules.db. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "countries.h"
#include "store.h"
#include "test.h"

static struct geofw_rule CB(const char *cc, int action, __u64 expires, const char *source)
{
	return (struct geofw_rule){ .kind = GEOFW_RULE_BLOCK_COUNTRY,
				    .country = (__u8)geofw_country_id(cc), .action = (__u8)action,
				    .expires = expires, .source = source, .comment = "crowdsec ban: x" };
}

static int count_rows(const struct geofw_rule *r, void *ctx)
{
	if (r->kind == GEOFW_RULE_BLOCK_COUNTRY)
		(*(int *)ctx)++;
	return 0;
}

/* One change in its own transaction. */
#define TXN(st, call) ({							\
	char ___e[GEOFW_ERRLEN] = "";						\
	int ___r = geofw_store_begin((st), ___e, sizeof(___e));			\
	if (!___r) ___r = (call);						\
	if (___r < 0) geofw_store_rollback(st);					\
	else ___r = geofw_store_commit((st), ___e, sizeof(___e)) ?: ___r;	\
	___r;									\
})

void test_store_country_blocks(void)
{
	char dir[] = "/tmp/geofw-cb-XXXXXX", err[GEOFW_ERRLEN] = "", cmd[64];
	struct geofw_store *st = NULL;
	__u8 act[GEOFW_MAX_COUNTRIES];
	__u64 now = (__u64)time(NULL);
	int de = geofw_country_id("DE"), ru = geofw_country_id("RU"), n;
	struct geofw_rule r, set[2];
	size_t removed = 99;

	if (!ASSERT_TRUE(mkdtemp(dir) != NULL, "mkdtemp") ||
	    !ASSERT_OK(geofw_store_open(dir, &st, err, sizeof(err)), err))
		return;

	SUBTEST("outside a transaction refused") {
		r = CB("DE", GEOFW_ACT_DROP, 0, "crowdsec");
		ASSERT_ERR(geofw_store_country_block_set(st, &r, err, sizeof(err)), "no txn");
	}
	SUBTEST("set, strictest action per country") {
		r = CB("DE", GEOFW_ACT_HTTP403, now + 3600, "crowdsec");
		ASSERT_OK(TXN(st, geofw_store_country_block_set(st, &r, err, sizeof(err))), err);
		r = CB("DE", GEOFW_ACT_REJECT, now + 60, "other");
		ASSERT_OK(TXN(st, geofw_store_country_block_set(st, &r, err, sizeof(err))), err);
		geofw_store_country_blocks(st, now, act);
		ASSERT_EQ(act[de], GEOFW_ACT_REJECT, "strictest of two sources");
		ASSERT_EQ(act[ru], 0, "RU not blocked");
		geofw_store_country_blocks(st, now + 61, act);
		ASSERT_EQ(act[de], GEOFW_ACT_HTTP403, "the other expired");
		/* Replaced in place: one row per (country, source). */
		r = CB("DE", GEOFW_ACT_DROP, now + 3600, "crowdsec");
		ASSERT_OK(TXN(st, geofw_store_country_block_set(st, &r, err, sizeof(err))), err);
		n = 0;
		geofw_store_for_each_rule(st, GEOFW_RULE_BLOCK_COUNTRY, "crowdsec", count_rows, &n);
		ASSERT_EQ(n, 1, "one row of crowdsec");
		ASSERT_EQ(geofw_store_count_source(st, "crowdsec", now), 1, "counted");
	}
	SUBTEST("invalid refused") {
		r = CB("DE", GEOFW_ACT_PASS, 0, "crowdsec");
		ASSERT_EQ(TXN(st, geofw_store_country_block_set(st, &r, err, sizeof(err))), -EINVAL,
			  "pass is no block");
		r = CB("DE", GEOFW_ACT_DROP, 0, "crowdsec");
		r.country = 0;
		ASSERT_EQ(TXN(st, geofw_store_country_block_set(st, &r, err, sizeof(err))), -EINVAL,
			  "country 0");
		r = CB("DE", GEOFW_ACT_DROP, 0, "bad\nsource");
		ASSERT_EQ(TXN(st, geofw_store_country_block_set(st, &r, err, sizeof(err))), -EINVAL,
			  "control character in the source");
	}
	SUBTEST("del is idempotent") {
		ASSERT_EQ(TXN(st, geofw_store_country_block_del(st, "other", (__u8)de, err,
								sizeof(err))), 1, "removed");
		ASSERT_EQ(TXN(st, geofw_store_country_block_del(st, "other", (__u8)de, err,
								sizeof(err))), 0, "again: nothing");
	}
	SUBTEST("replace a source's set") {
		set[0] = CB("RU", GEOFW_ACT_DROP, now + 600, "crowdsec");
		set[1] = CB("KP", GEOFW_ACT_LOG, 0, "crowdsec");
		ASSERT_OK(TXN(st, geofw_store_country_block_replace(st, "crowdsec", set, 2, &removed,
								    err, sizeof(err))), err);
		ASSERT_EQ(removed, 1, "DE left the set");
		geofw_store_country_blocks(st, now, act);
		ASSERT_EQ(act[de], 0, "DE gone");
		ASSERT_EQ(act[ru], GEOFW_ACT_DROP, "RU");
		ASSERT_EQ(act[geofw_country_id("KP")], GEOFW_ACT_LOG, "KP");
		set[1] = set[0];
		ASSERT_EQ(TXN(st, geofw_store_country_block_replace(st, "crowdsec", set, 2, &removed,
								    err, sizeof(err))), -EINVAL,
			  "a country twice");
		ASSERT_EQ(geofw_store_count_source(st, "crowdsec", now), 2, "set kept whole");
	}
	SUBTEST("sweep and next expiry") {
		struct geofw_kdiff diff = {};

		ASSERT_EQ(geofw_store_next_expiry(st), now + 600, "RU's expiry");
		ASSERT_EQ(TXN(st, geofw_store_sweep(st, now + 601, &diff, err, sizeof(err))), 0,
			  "no prefix swept");
		geofw_kdiff_free(&diff);
		geofw_store_country_blocks(st, now + 601, act);
		ASSERT_EQ(act[ru], 0, "RU expired");
		ASSERT_EQ(geofw_store_count_source(st, "crowdsec", now + 601), 1, "KP left");
	}
	SUBTEST("del-source takes them") {
		struct geofw_kdiff diff = {};
		struct geofw_rule b = { .kind = GEOFW_RULE_BLOCK, .action = GEOFW_ACT_DROP,
					.source = "crowdsec" };

		geofw_cidr_parse("192.0.2.7", 0, &b.prefix, NULL, 0);
		ASSERT_OK(TXN(st, geofw_store_add(st, &b, 1, 0, &diff, err, sizeof(err))), err);
		geofw_kdiff_free(&diff);
		ASSERT_EQ(TXN(st, geofw_store_del_source(st, "crowdsec", &diff, err, sizeof(err))),
			  2, "the prefix and KP");
		geofw_kdiff_free(&diff);
		geofw_store_country_blocks(st, now, act);
		ASSERT_EQ(act[geofw_country_id("KP")], 0, "KP gone");
		ASSERT_EQ(geofw_store_count_source(st, "crowdsec", now), 0, "nothing left");
	}
	SUBTEST("kept across reopen") {
		r = CB("DE", GEOFW_ACT_REJECT, 0, "crowdsec");
		ASSERT_OK(TXN(st, geofw_store_country_block_set(st, &r, err, sizeof(err))), err);
		geofw_store_close(st);
		st = NULL;
		if (ASSERT_OK(geofw_store_open(dir, &st, err, sizeof(err)), err)) {
			geofw_store_country_blocks(st, now, act);
			ASSERT_EQ(act[de], GEOFW_ACT_REJECT, "DE back");
		}
	}
	geofw_store_close(st);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ASSERT_OK(system(cmd), "rm -rf");
}
