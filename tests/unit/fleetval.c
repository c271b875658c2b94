// SPDX-License-Identifier: GPL-2.0-only
/* Keys and values of the fleet's bucket (user/lib/fleetval.c): what one
 * host writes another parses back, and nothing else is accepted. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "countries.h"
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

static struct geofw_rule rule(int kind, const char *prefix)
{
	struct geofw_rule r = { .kind = kind };

	r.prefix = cidr(prefix);
	return r;
}

void test_fleet_key(void)
{
	static const struct { int kind; const char *prefix, *key; } rows[] = {
		{ GEOFW_RULE_BLOCK, "203.0.113.0/24", "block.203.0.113.0/24" },
		{ GEOFW_RULE_BLOCK, "192.0.2.7", "block.192.0.2.7/32" },
		{ GEOFW_RULE_BLOCK, "2001:db8::/32", "block.2001_db8__/32" },
		{ GEOFW_RULE_BLOCK, "2001:db8::1", "block.2001_db8__1/128" },
		{ GEOFW_RULE_ALLOW, "198.51.100.0/24", "allow.198.51.100.0/24" },
		{ GEOFW_RULE_ALLOW, "2001:db8:1::/48", "allow.2001_db8_1__/48" },
	};
	static const char *const bad[] = {
		"block.", "allow.", "block.192.0.2.7/24", "block.192.0.2.7",
		"block.2001:db8::/32", "block.2001_DB8__/32", "block.__ffff_192.0.2.1/128",
		"block.192.0.2.0/024", "geofw-write-probe", "block.192.0.2.0/24 ",
		"allow.192.0.2.1/24", "country.", "country.ru", "country.RUS", "country.ZZ",
		"country.modes", "Country.RU", "policy.country",
		/* AS keys: one spelling of each AS */
		"asn.block.", "asn.block.AS", "asn.block.64500", "asn.block.as64500",
		"asn.block.AS064500", "asn.block.AS0", "asn.block.AS4294967296",
		"asn.block.AS64500 ", "asn.block.AS+1", "asn.block.AS1.10", "asn.allow.AS-1",
		"asn.block.AS64500.x",
	};
	struct geofw_rule r, back;
	char key[GEOFW_FLEET_KEY_MAX];
	size_t i;
	int kind;

	for (i = 0; i < ARRAY_SIZE(rows); i++) {
		SUBTEST("%s", rows[i].key) {
			r = rule(rows[i].kind, rows[i].prefix);
			ASSERT_OK(geofw_fleet_key(&r, key, sizeof(key)), "format");
			ASSERT_STREQ(key, rows[i].key, "key");
			kind = geofw_fleet_key_parse(key, &back);
			ASSERT_EQ(kind, rows[i].kind == GEOFW_RULE_BLOCK ? GEOFW_FLEET_BLOCK
								       : GEOFW_FLEET_ALLOW, "kind");
			ASSERT_EQ(back.kind, rows[i].kind, "rule kind");
			ASSERT_EQ(geofw_cidr_cmp(&back.prefix, &r.prefix), 0, "same prefix");
		}
	}
	SUBTEST("countries") {
		r = (struct geofw_rule){ .kind = GEOFW_RULE_COUNTRY,
					 .country = (__u8)geofw_country_id("RU") };
		ASSERT_OK(geofw_fleet_key(&r, key, sizeof(key)), "format");
		ASSERT_STREQ(key, "country.RU", "key");
		ASSERT_EQ(geofw_fleet_key_parse(key, &back), GEOFW_FLEET_COUNTRY, "kind");
		ASSERT_EQ(back.country, r.country, "country");
		ASSERT_EQ(geofw_fleet_key_parse("country.mode", &back), GEOFW_FLEET_COUNTRY_MODE,
			  "mode");
		ASSERT_EQ(geofw_fleet_key_parse("country.action", &back),
			  GEOFW_FLEET_COUNTRY_ACTION, "action");
	}
	SUBTEST("AS rules") {
		static const struct { int kind; __u32 asn; const char *key; } asns[] = {
			{ GEOFW_RULE_BLOCK_ASN, 64500, "asn.block.AS64500" },
			{ GEOFW_RULE_ALLOW_ASN, 64500, "asn.allow.AS64500" },
			{ GEOFW_RULE_BLOCK_ASN, 1, "asn.block.AS1" },
			{ GEOFW_RULE_BLOCK_ASN, 4294967295u, "asn.block.AS4294967295" },
		};

		for (i = 0; i < ARRAY_SIZE(asns); i++) {
			r = (struct geofw_rule){ .kind = asns[i].kind, .asn = asns[i].asn };
			ASSERT_OK(geofw_fleet_key(&r, key, sizeof(key)), asns[i].key);
			ASSERT_STREQ(key, asns[i].key, "key");
			kind = geofw_fleet_key_parse(key, &back);
			ASSERT_EQ(kind, asns[i].kind == GEOFW_RULE_BLOCK_ASN ? GEOFW_FLEET_BLOCK_ASN
									     : GEOFW_FLEET_ALLOW_ASN,
				  "kind");
			ASSERT_EQ(back.kind, asns[i].kind, "rule kind");
			ASSERT_EQ(back.asn, asns[i].asn, "AS number");
		}
		r = (struct geofw_rule){ .kind = GEOFW_RULE_BLOCK_ASN };
		ASSERT_EQ(geofw_fleet_key(&r, key, sizeof(key)), -EINVAL, "AS 0 has no key");
	}
	SUBTEST("the rest of asn.* is reserved: kept, not applied") {
		/* the spelling geofw reserved before the AS keys, and keys a
		 * later version may add */
		ASSERT_EQ(geofw_fleet_key_parse("asn.AS64500", &back), -EOPNOTSUPP, "asn.AS");
		ASSERT_EQ(geofw_fleet_key_parse("asn.org.AS64500", &back), -EOPNOTSUPP,
			  "a later kind");
	}
	for (i = 0; i < ARRAY_SIZE(bad); i++)
		SUBTEST("refuses %s", bad[i])
			ASSERT_EQ(geofw_fleet_key_parse(bad[i], &back), -EINVAL, bad[i]);
}

void test_fleet_value(void)
{
	static const char *const bad[] = {
		"1 drop 0 0 host",			/* no newline */
		"0 drop 0 0 host\n",			/* no version 0 */
		"1 drop -1 0 host\n",
		"1 drop 01 0 host\n",
		"1 drop 0 0 host extra\n",		/* version 1 has five words */
		"2 drop 0 0 host \n",			/* appended words: one space, a word */
		"1 drop 0 0\n",
		"1  drop 0 0 host\n",
		"1 drop 0 0 host \n",
		"1 drop 99999999999999999999 0 host\n",
		"1 drop 0 0 host\nbell\a",		/* control character in the comment */
		"1 drop 0 0 host\nline\nline",
	};
	static const char *const bad_block[] = {
		"1 pass 0 0 host\n", "1 frob 0 0 host\n", "1 allow 0 0 host\n",
		"1 default 0 0 host\n",
	};
	struct geofw_rule r = { .kind = GEOFW_RULE_BLOCK, .action = GEOFW_ACT_HTTP403,
				.expires = 1764892800, .created = 1764889200,
				.comment = "scanner — from the honeypot" };
	struct geofw_fleet_value fv;
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
		got.kind = GEOFW_RULE_BLOCK;
		ASSERT_OK(geofw_fleet_rule_parse(v, &got, &origin), "parse");
		ASSERT_EQ(got.action, GEOFW_ACT_HTTP403, "action");
		ASSERT_EQ(got.expires, 1764892800, "expires");
		ASSERT_EQ(got.created, 1764889200, "created");
		ASSERT_STREQ(got.comment, r.comment, "comment");
		ASSERT_STREQ(origin, "edge-a.example", "origin");
		free(v);
	}
	SUBTEST("allow") {
		struct geofw_rule a = { .kind = GEOFW_RULE_ALLOW, .created = 7, .comment = "vpn" };

		v = geofw_fleet_value_format(&a, "h");
		if (!ASSERT_TRUE(v != NULL, "format"))
			continue;
		ASSERT_STREQ(v, "1 allow 0 7 h\nvpn", "text");
		memset(&got, 0, sizeof(got));
		got.kind = GEOFW_RULE_ALLOW;
		ASSERT_OK(geofw_fleet_rule_parse(v, &got, &origin), "parse");
		snprintf(buf, sizeof(buf), "1 drop 0 7 h\nvpn");
		ASSERT_EQ(geofw_fleet_rule_parse(buf, &got, &origin), -EINVAL, "a block's word");
		free(v);
	}
	SUBTEST("AS rules: block and allow") {
		struct geofw_rule b = { .kind = GEOFW_RULE_BLOCK_ASN, .asn = 64500,
					.action = GEOFW_ACT_REJECT, .expires = 1764892800,
					.created = 1764889200, .comment = "hosting scanners" };
		struct geofw_rule a = { .kind = GEOFW_RULE_ALLOW_ASN, .asn = 64501, .created = 9,
					.comment = "crawler" };

		v = geofw_fleet_value_format(&b, "edge-a");
		if (!ASSERT_TRUE(v != NULL, "format"))
			continue;
		/* the format of block keys: one version rule for every value */
		ASSERT_STREQ(v, "1 reject 1764892800 1764889200 edge-a\nhosting scanners", "block");
		memset(&got, 0, sizeof(got));
		got.kind = GEOFW_RULE_BLOCK_ASN;
		ASSERT_OK(geofw_fleet_rule_parse(v, &got, &origin), "parse block");
		ASSERT_EQ(got.action, GEOFW_ACT_REJECT, "action");
		ASSERT_EQ(got.expires, 1764892800, "expires");
		ASSERT_EQ(got.created, 1764889200, "created");
		ASSERT_STREQ(got.comment, "hosting scanners", "comment");
		ASSERT_STREQ(origin, "edge-a", "origin");
		free(v);
		v = geofw_fleet_value_format(&a, "edge-b");
		if (!ASSERT_TRUE(v != NULL, "format"))
			continue;
		ASSERT_STREQ(v, "1 allow 0 9 edge-b\ncrawler", "allow");
		memset(&got, 0, sizeof(got));
		got.kind = GEOFW_RULE_ALLOW_ASN;
		ASSERT_OK(geofw_fleet_rule_parse(v, &got, &origin), "parse allow");
		ASSERT_EQ(got.action, GEOFW_ACT_PASS, "allow passes");
		free(v);
		snprintf(buf, sizeof(buf), "1 drop 0 7 h\nx");
		got.kind = GEOFW_RULE_ALLOW_ASN;
		ASSERT_EQ(geofw_fleet_rule_parse(buf, &got, &origin), -EINVAL, "allow with a block's word");
		snprintf(buf, sizeof(buf), "1 allow 0 7 h\nx");
		got.kind = GEOFW_RULE_BLOCK_ASN;
		ASSERT_EQ(geofw_fleet_rule_parse(buf, &got, &origin), -EINVAL, "block with allow");
		snprintf(buf, sizeof(buf), "3 log 0 7 h appended\nx");
		got.kind = GEOFW_RULE_BLOCK_ASN;
		ASSERT_OK(geofw_fleet_rule_parse(buf, &got, &origin), "a later version's words");
		ASSERT_EQ(got.action, GEOFW_ACT_LOG, "its action");
	}
	SUBTEST("empty comment, no host") {
		r.comment = NULL;
		v = geofw_fleet_value_format(&r, "");
		if (!ASSERT_TRUE(v != NULL, "format"))
			continue;
		got.kind = GEOFW_RULE_BLOCK;
		ASSERT_OK(geofw_fleet_rule_parse(v, &got, &origin), "parse");
		ASSERT_STREQ(got.comment, "", "comment");
		ASSERT_STREQ(origin, "-", "origin");
		free(v);
	}
	SUBTEST("a later version's appended words are skipped") {
		snprintf(buf, sizeof(buf), "2 drop 0 5 h more words\nc");
		ASSERT_OK(geofw_fleet_value_parse(buf, &fv), "parse");
		ASSERT_EQ(fv.version, 2, "version");
		ASSERT_STREQ(fv.word, "drop", "word");
		ASSERT_STREQ(fv.origin, "h", "origin");
		ASSERT_STREQ(fv.comment, "c", "comment");
	}
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		SUBTEST("refuses value %zu", i) {
			snprintf(buf, sizeof(buf), "%s", bad[i]);
			ASSERT_EQ(geofw_fleet_value_parse(buf, &fv), -EINVAL, bad[i]);
		}
	}
	for (i = 0; i < ARRAY_SIZE(bad_block); i++) {
		SUBTEST("refuses block value %zu", i) {
			snprintf(buf, sizeof(buf), "%s", bad_block[i]);
			got.kind = GEOFW_RULE_BLOCK;
			ASSERT_EQ(geofw_fleet_rule_parse(buf, &got, &origin), -EINVAL, bad_block[i]);
		}
	}
}

static struct geofw_store_countries policy(int mode, __u8 action, const char *listed)
{
	struct geofw_store_countries c = { .override = true, .mode = (__u8)mode,
					   .action = action };
	char cc[3] = "";

	for (; listed && *listed; listed += listed[2] ? 3 : 2) {
		memcpy(cc, listed, 2);
		c.listed[geofw_country_id(cc)] = true;
	}
	return c;
}

static bool blocked(const struct geofw_store_countries *c, const char *cc)
{
	bool l = c->listed[geofw_country_id(cc)];

	return c->mode == GEOFW_MODE_ALLOW_LISTED ? !l : l;
}

void test_fleet_countries_combine(void)
{
	struct geofw_store_countries l, f, out;

	SUBTEST("block + block: the union, strictest action") {
		l = policy(GEOFW_MODE_BLOCK_LISTED, GEOFW_ACT_LOG, "RU CN");
		f = policy(GEOFW_MODE_BLOCK_LISTED, GEOFW_ACT_DROP, "CN KP");
		geofw_fleet_countries_combine(&l, &f, &out);
		ASSERT_EQ(out.mode, GEOFW_MODE_BLOCK_LISTED, "mode");
		ASSERT_TRUE(blocked(&out, "RU") && blocked(&out, "CN") && blocked(&out, "KP"),
			    "RU CN KP blocked");
		ASSERT_TRUE(!(blocked(&out, "DE")), "DE passes");
		ASSERT_EQ(out.country_action[geofw_country_id("RU")], GEOFW_ACT_LOG, "RU: local");
		ASSERT_EQ(out.country_action[geofw_country_id("CN")], GEOFW_ACT_DROP,
			  "CN: the stricter");
	}
	SUBTEST("local allow-mode + fleet block: the fleet's blocks leave the allowed") {
		l = policy(GEOFW_MODE_ALLOW_LISTED, GEOFW_ACT_REJECT, "DE FR");
		f = policy(GEOFW_MODE_BLOCK_LISTED, GEOFW_ACT_DROP, "FR");
		geofw_fleet_countries_combine(&l, &f, &out);
		ASSERT_EQ(out.mode, GEOFW_MODE_ALLOW_LISTED, "mode");
		ASSERT_TRUE(!(blocked(&out, "DE")), "DE passes");
		ASSERT_TRUE(blocked(&out, "FR"), "FR blocked by the fleet");
		ASSERT_TRUE(blocked(&out, "US"), "US blocked locally");
		ASSERT_EQ(out.action, GEOFW_ACT_REJECT, "default: local allow policy's");
		ASSERT_EQ(out.country_action[geofw_country_id("FR")], GEOFW_ACT_DROP, "FR drop");
	}
	SUBTEST("fleet allow-mode: only what both let through") {
		l = policy(GEOFW_MODE_BLOCK_LISTED, GEOFW_ACT_DROP, "RU");
		f = policy(GEOFW_MODE_ALLOW_LISTED, GEOFW_ACT_HTTP403, "RU DE");
		geofw_fleet_countries_combine(&l, &f, &out);
		ASSERT_EQ(out.mode, GEOFW_MODE_ALLOW_LISTED, "mode");
		ASSERT_TRUE(blocked(&out, "RU"), "RU: local block stands");
		ASSERT_TRUE(!(blocked(&out, "DE")), "DE passes");
		ASSERT_TRUE(blocked(&out, "US"), "US: not allowed by the fleet");
		ASSERT_EQ(out.action, GEOFW_ACT_HTTP403, "default: the fleet's");
	}
	SUBTEST("an empty fleet policy changes nothing") {
		l = policy(GEOFW_MODE_BLOCK_LISTED, GEOFW_ACT_DROP, "RU");
		f = policy(GEOFW_MODE_BLOCK_LISTED, GEOFW_ACT_DROP, NULL);
		geofw_fleet_countries_combine(&l, &f, &out);
		ASSERT_TRUE(blocked(&out, "RU") && !blocked(&out, "DE"), "as local");
	}
}
