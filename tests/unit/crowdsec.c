// SPDX-License-Identifier: GPL-2.0-only
/* CrowdSec LAPI answers: Go durations, decisions/stream documents. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "countries.h"
#include "crowdsec.h"
#include "test.h"

void test_go_duration(void)
{
	static const struct {
		const char *text;
		long long ns;
	} good[] = {
		{ "0", 0 },
		{ "-0", 0 },
		{ "1s", 1000000000LL },
		{ "59m58.95s", 3598950000000LL },
		{ "3h59m59.612394s", 14399612394000LL },
		{ "-1h2m", -3720000000000LL },
		{ "+5m", 300000000000LL },
		{ "300ms", 300000000LL },
		{ "1.5h", 5400000000000LL },
		{ ".5s", 500000000LL },
		{ "1.s", 1000000000LL },
		{ "2us", 2000 },
		{ "2\xc2\xb5s", 2000 },
		{ "2\xce\xbcs", 2000 },
		{ "7ns", 7 },
		{ "1h1h", 7200000000000LL },		/* Go allows repeated units */
		{ "0.000000001s", 1 },
		{ "1.0000000019s", 1000000001 },	/* past ns: truncated */
		{ "2562047h47m16.854775807s", 9223372036854775807LL },
	};
	static const char *const bad[] = {
		"", "-", "+", "s", "1", "10", "1.5", ".s", "1x", "1 s", " 1s", "1s ", "1S", "1H",
		"1d", "1w", "--1s", "1s-", "1e3s", "0x1s", "1,5s", "2562047h47m16.854775808s",
		"9999999999999999999h", "99999999999999999999s", "1h\n",
	};
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		SUBTEST("good %s", good[i].text) {
			long long ns = 42;

			ASSERT_OK(geofw_go_duration_parse(good[i].text, &ns), good[i].text);
			ASSERT_EQ(ns, good[i].ns, good[i].text);
		}
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		SUBTEST("bad \"%s\"", bad[i]) {
			long long ns = 42;

			ASSERT_EQ(geofw_go_duration_parse(bad[i], &ns), -EINVAL, bad[i]);
			ASSERT_EQ(ns, 42, "untouched");
		}
	}
	ASSERT_EQ(geofw_go_duration_parse(NULL, NULL), -EINVAL, "NULL");
}

static int parse(const char *text, struct geofw_cs_answer *a, char *err, size_t errlen)
{
	static struct geofw_conf conf;
	static bool init;

	if (!init) {
		geofw_conf_defaults(&conf);
		init = true;
	}
	return geofw_cs_parse(text, strlen(text), &conf, a, err, errlen);
}

void test_cs_stream(void)
{
	struct geofw_cs_answer a;
	char err[256], buf[GEOFW_CIDR_STRLEN];

	SUBTEST("null lists") {
		ASSERT_OK(parse("{\"deleted\":null,\"new\":null}", &a, err, sizeof(err)), err);
		ASSERT_EQ(a.n_add + a.n_del + a.refused, 0, "nothing");
		geofw_cs_answer_free(&a);
	}
	SUBTEST("every scope") {
		ASSERT_OK(parse("{\"new\":["
				"{\"id\":1,\"type\":\"ban\",\"scope\":\"Ip\",\"value\":\"192.0.2.7\","
				"\"duration\":\"3h59m58.1s\",\"scenario\":\"crowdsecurity/ssh-bf\","
				"\"origin\":\"crowdsec\"},"
				"{\"id\":2,\"type\":\"captcha\",\"scope\":\"Range\","
				"\"value\":\"198.51.100.77/24\",\"duration\":\"10m\"},"
				"{\"id\":3,\"type\":\"ban\",\"scope\":\"Country\",\"value\":\"RU\","
				"\"duration\":\"1h\"},"
				"{\"id\":4,\"type\":\"ban\",\"scope\":\"AS\",\"value\":\"64500\","
				"\"duration\":\"1h\"},"
				"{\"id\":5,\"type\":\"ban\",\"scope\":\"ip\",\"value\":\"2001:db8::1\","
				"\"duration\":\"0.2s\"}],"
				"\"deleted\":[{\"id\":9,\"type\":\"ban\",\"scope\":\"Ip\","
				"\"value\":\"203.0.113.9\",\"duration\":\"-2m3.5s\"}]}",
				&a, err, sizeof(err)), err);
		ASSERT_EQ(a.refused, 0, a.refused_why);
		if (ASSERT_EQ(a.n_add, 5, "new") && ASSERT_EQ(a.n_del, 1, "deleted")) {
			ASSERT_EQ(a.add[0].id, 1, "id");
			ASSERT_EQ(a.add[0].scope, GEOFW_CS_SCOPE_IP, "ip");
			geofw_cidr_format(&a.add[0].prefix, buf, sizeof(buf));
			ASSERT_STREQ(buf, "192.0.2.7/32", "ip prefix");
			ASSERT_EQ(a.add[0].action, GEOFW_ACT_DROP, "ban: drop");
			ASSERT_EQ(a.add[0].seconds, 14399, "rounded up");
			ASSERT_STREQ(a.add[0].comment, "crowdsec ban: crowdsecurity/ssh-bf", "comment");
			ASSERT_EQ(a.add[1].scope, GEOFW_CS_SCOPE_RANGE, "range");
			geofw_cidr_format(&a.add[1].prefix, buf, sizeof(buf));
			ASSERT_STREQ(buf, "198.51.100.0/24", "range masked");
			ASSERT_EQ(a.add[1].action, GEOFW_ACT_HTTP403, "captcha: http403");
			ASSERT_EQ(a.add[2].scope, GEOFW_CS_SCOPE_COUNTRY, "country");
			ASSERT_EQ(a.add[2].country, geofw_country_id("RU"), "RU");
			ASSERT_EQ(a.add[3].scope, GEOFW_CS_SCOPE_AS, "as");
			ASSERT_EQ(a.add[3].asn, 64500, "AS64500");
			ASSERT_EQ(a.add[4].seconds, 1, "0.2s: 1 s");
			geofw_cidr_format(&a.add[4].prefix, buf, sizeof(buf));
			ASSERT_STREQ(buf, "2001:db8::1/128", "v6");
			geofw_cidr_format(&a.del[0].prefix, buf, sizeof(buf));
			ASSERT_STREQ(buf, "203.0.113.9/32", "deleted");
		}
		geofw_cs_answer_free(&a);
	}
	SUBTEST("bad entries refused alone") {
		ASSERT_OK(parse("{\"new\":["
				"{\"type\":\"ban\",\"scope\":\"Ip\",\"value\":\"192.0.2.300\",\"duration\":\"1h\"},"
				"{\"type\":\"ban\",\"scope\":\"Ip\",\"value\":\"192.0.2.0/24\",\"duration\":\"1h\"},"
				"{\"type\":\"ban\",\"scope\":\"Range\",\"value\":\"192.0.2.1\",\"duration\":\"1h\"},"
				"{\"type\":\"ban\",\"scope\":\"Range\",\"value\":\"0.0.0.0/0\",\"duration\":\"1h\"},"
				"{\"type\":\"ban\",\"scope\":\"Ip\",\"value\":\"192.0.2.1\",\"duration\":\"1 h\"},"
				"{\"type\":\"ban\",\"scope\":\"Ip\",\"value\":\"192.0.2.1\",\"duration\":\"-1h\"},"
				"{\"type\":\"ban\",\"scope\":\"Ip\",\"value\":\"192.0.2.1\",\"duration\":7},"
				"{\"type\":\"ban\",\"scope\":\"Username\",\"value\":\"root\",\"duration\":\"1h\"},"
				"{\"type\":\"throttle\",\"scope\":\"Ip\",\"value\":\"192.0.2.1\",\"duration\":\"1h\"},"
				"{\"type\":\"ban\",\"scope\":\"Country\",\"value\":\"ZZ\",\"duration\":\"1h\"},"
				"{\"type\":\"ban\",\"scope\":\"Country\",\"value\":\"RUS\",\"duration\":\"1h\"},"
				"{\"type\":\"ban\",\"scope\":\"AS\",\"value\":\"AS0\",\"duration\":\"1h\"},"
				"{\"scope\":\"Ip\",\"value\":\"192.0.2.1\",\"duration\":\"1h\"},"
				"42, null, [],"
				"{\"type\":\"ban\",\"scope\":\"Ip\",\"value\":\"192.0.2.8\",\"duration\":\"1h\"}],"
				"\"deleted\":[{\"scope\":\"Ip\",\"value\":\"nope\",\"duration\":\"-1s\"},"
				"{\"scope\":\"Ip\",\"value\":\"192.0.2.9\"}]}", &a, err, sizeof(err)), err);
		ASSERT_EQ(a.refused, 17, "refused");
		ASSERT_EQ(a.n_add, 1, "the good one");
		ASSERT_EQ(a.n_del, 1, "the good deletion (no duration needed)");
		ASSERT_TRUE(strstr(a.refused_why, "new[0]: bad ip 192.0.2.300") != NULL,
			    a.refused_why);
		geofw_cs_answer_free(&a);
	}
	SUBTEST("type from CrowdSecAction") {
		struct geofw_conf conf;
		const char *t = "{\"new\":[{\"type\":\"throttle\",\"scope\":\"Ip\","
				"\"value\":\"192.0.2.1\",\"duration\":\"1m\"}]}";

		geofw_conf_defaults(&conf);
		strcpy(conf.crowdsec_actions[2].type, "throttle");
		conf.crowdsec_actions[2].action = GEOFW_ACT_LOG;
		conf.n_crowdsec_actions = 3;
		ASSERT_OK(geofw_cs_parse(t, strlen(t), &conf, &a, err, sizeof(err)), err);
		if (ASSERT_EQ(a.n_add, 1, "taken"))
			ASSERT_EQ(a.add[0].action, GEOFW_ACT_LOG, "log");
		geofw_cs_answer_free(&a);
	}
	SUBTEST("comment made printable") {
		ASSERT_OK(parse("{\"new\":[{\"type\":\"ban\",\"scope\":\"Ip\",\"value\":\"192.0.2.1\","
				"\"duration\":\"1m\",\"scenario\":\"a\\nb\\u0085c\\u00e9\"}]}",
				&a, err, sizeof(err)), err);
		if (ASSERT_EQ(a.n_add, 1, "taken"))
			ASSERT_STREQ(a.add[0].comment, "crowdsec ban: a?b??c\xc3\xa9", "comment");
		geofw_cs_answer_free(&a);
	}
	SUBTEST("garbage refused whole") {
		static const char *const docs[] = {
			"", "null", "[]", "{}", "{\"new\":[", "{\"new\":{}}", "{\"new\":\"x\"}",
			"<html>502 Bad Gateway</html>", "{\"new\":null,\"new\":null}",
			"{\"message\":\"access forbidden\"}",
			"{\"deleted\":null,\"new\":[{\"type\":\"ban\",\"scope\":\"Ip\",\"value\":\"192.0.2.1\"",
		};
		size_t i;

		for (i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
			ASSERT_EQ(parse(docs[i], &a, err, sizeof(err)), -EBADMSG, docs[i]);
			ASSERT_TRUE(err[0] != '\0', "a reason");
			geofw_cs_answer_free(&a);
		}
	}
	SUBTEST("scopes parameter") {
		geofw_cs_scopes_param(GEOFW_CS_SCOPE_AS | GEOFW_CS_SCOPE_IP | GEOFW_CS_SCOPE_RANGE |
				      GEOFW_CS_SCOPE_COUNTRY, buf, sizeof(buf));
		ASSERT_STREQ(buf, "ip,range,country,as", "all");
		geofw_cs_scopes_param(GEOFW_CS_SCOPE_COUNTRY, buf, sizeof(buf));
		ASSERT_STREQ(buf, "country", "one");
	}
}
