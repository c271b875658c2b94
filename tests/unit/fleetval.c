// SPDX-License-Identifier: GPL-2.0-only
/* Keys and values of the fleet's bucket (user/lib/fleetval.c): what one
 * host writes another parses back, and nothing else is accepted. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fleetval.h"
#include "maps.h"
#include "test.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

static struct geofw_cidr cidr(const char *s)
{
	struct geofw_cidr c = {};

	geofw_cidr_parse(s, 0, &c, NULL, 0);
	return c;
}

void test_fleet_key(void)
{
	static const struct { const char *prefix, *key; } rows[] = {
		{ "203.0.113.0/24", "block.203.0.113.0/24" },
		{ "192.0.2.7", "block.192.0.2.7/32" },
		{ "2001:db8::/32", "block.2001_db8__/32" },
		{ "2001:db8::1", "block.2001_db8__1/128" },
	};
	static const char *const bad[] = {
		"block.", "allow.192.0.2.0/24", "block.192.0.2.7/24", "block.192.0.2.7",
		"block.2001:db8::/32", "block.2001_DB8__/32", "block.__ffff_192.0.2.1/128",
		"block.192.0.2.0/024", "geofw-write-probe", "block.192.0.2.0/24 ",
	};
	struct geofw_cidr c, back;
	char key[GEOFW_FLEET_KEY_MAX];
	size_t i;
	int kind;

	for (i = 0; i < ARRAY_SIZE(rows); i++) {
		SUBTEST("%s", rows[i].prefix) {
			c = cidr(rows[i].prefix);
			ASSERT_OK(geofw_fleet_key_format(GEOFW_RULE_BLOCK, &c, key, sizeof(key)),
				  "format");
			ASSERT_STREQ(key, rows[i].key, "key");
			ASSERT_OK(geofw_fleet_key_parse(key, &kind, &back), "parse");
			ASSERT_EQ(kind, GEOFW_RULE_BLOCK, "kind");
			ASSERT_EQ(geofw_cidr_cmp(&back, &c), 0, "same prefix");
		}
	}
	for (i = 0; i < ARRAY_SIZE(bad); i++)
		SUBTEST("refuses %s", bad[i])
			ASSERT_EQ(geofw_fleet_key_parse(bad[i], &kind, &back), -EINVAL, bad[i]);
	SUBTEST("allows are not fleet rules yet") {
		c = cidr("192.0.2.0/24");
		ASSERT_EQ(geofw_fleet_key_format(GEOFW_RULE_ALLOW, &c, key, sizeof(key)), -EINVAL,
			  "allow");
	}
}

void test_fleet_value(void)
{
	static const char *const bad[] = {
		"1 drop 0 0 host",			/* no newline */
		"2 drop 0 0 host\n",			/* unknown version */
		"1 pass 0 0 host\n",			/* pass is no block */
		"1 frob 0 0 host\n",
		"1 drop -1 0 host\n",
		"1 drop 01 0 host\n",
		"1 drop 0 0 host extra\n",
		"1 drop 0 0\n",
		"1  drop 0 0 host\n",
		"1 drop 0 0 host \n",
		"1 drop 99999999999999999999 0 host\n",
		"1 drop 0 0 host\nbell\a",		/* control character in the comment */
		"1 drop 0 0 host\nline\nline",
	};
	struct geofw_rule r = { .kind = GEOFW_RULE_BLOCK, .action = GEOFW_ACT_HTTP403,
				.expires = 1764892800, .created = 1764889200,
				.comment = "scanner — from the honeypot" };
	struct geofw_rule got;
	const char *origin;
	char *v, buf[128];
	size_t i;

	SUBTEST("round trip") {
		v = geofw_fleet_value_format(&r, "edge-a.example");
		if (!ASSERT_TRUE(v != NULL, "format"))
			continue;
		ASSERT_STREQ(v, "1 http403 1764892800 1764889200 edge-a.example\n"
			     "scanner — from the honeypot", "text");
		memset(&got, 0, sizeof(got));
		ASSERT_OK(geofw_fleet_value_parse(v, &got, &origin), "parse");
		ASSERT_EQ(got.action, GEOFW_ACT_HTTP403, "action");
		ASSERT_EQ(got.expires, 1764892800, "expires");
		ASSERT_EQ(got.created, 1764889200, "created");
		ASSERT_STREQ(got.comment, r.comment, "comment");
		ASSERT_STREQ(origin, "edge-a.example", "origin");
		free(v);
	}
	SUBTEST("empty comment, no host") {
		r.comment = NULL;
		v = geofw_fleet_value_format(&r, "");
		if (!ASSERT_TRUE(v != NULL, "format"))
			continue;
		ASSERT_OK(geofw_fleet_value_parse(v, &got, &origin), "parse");
		ASSERT_STREQ(got.comment, "", "comment");
		ASSERT_STREQ(origin, "-", "origin");
		free(v);
	}
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		SUBTEST("refuses value %zu", i) {
			snprintf(buf, sizeof(buf), "%s", bad[i]);
			ASSERT_EQ(geofw_fleet_value_parse(buf, &got, &origin), -EINVAL, bad[i]);
		}
	}
}
