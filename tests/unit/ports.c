// SPDX-License-Identifier: GPL-2.0-only
/* Port lists as operators write them (ports.h). */
#include <errno.h>
#include <string.h>

#include "msg.h"
#include "ports.h"
#include "test.h"

static void canon(const char *in, const char *want)
{
	struct geofw_ports p;
	char err[GEOFW_ERRLEN] = "", out[GEOFW_PORTS_STRLEN] = "";

	if (ASSERT_OK(geofw_ports_parse(in, &p, err, sizeof(err)), err)) {
		ASSERT_OK(geofw_ports_format(&p, out, sizeof(out)), "format");
		ASSERT_STREQ(out, want, in);
	}
}

static void bad(const char *in, const char *msg_part)
{
	struct geofw_ports p;
	char err[GEOFW_ERRLEN] = "";

	ASSERT_EQ(geofw_ports_parse(in, &p, err, sizeof(err)), -EINVAL, in);
	ASSERT_TRUE(strstr(err, msg_part) != NULL, err);
}

void test_ports_parse(void)
{
	canon("22/tcp", "22/tcp");
	canon("443,80/tcp", "80,443/tcp");
	canon("8000-8100/tcp", "8000-8100/tcp");
	canon("53/udp,80,443/tcp", "80,443/tcp,53/udp");
	canon("80-90,85-100,101/tcp", "80-101/tcp");
	canon("1-65535/udp", "1-65535/udp");
	canon("22/tcp,22/udp", "22/tcp,22/udp");
	bad("", "empty");
	bad("22", "no protocol");
	bad("22/tcp,", "comma");
	bad("0/tcp", "not a port");
	bad("65536/tcp", "not a port");
	bad("022/tcp", "not a port");
	bad("100-90/tcp", "backwards");
	bad("22/sctp", "protocol");
	bad("22/tcp,80", "no protocol");
	bad("a-b/tcp", "not a port");
	bad(" 22/tcp", "not a port");
}

void test_ports_parse_one(void)
{
	unsigned int port;
	int proto;
	char err[GEOFW_ERRLEN];

	ASSERT_OK(geofw_port_parse_one("53/udp", &proto, &port, err, sizeof(err)), err);
	ASSERT_EQ(proto, GEOFW_PORT_PROTO_UDP, "udp");
	ASSERT_EQ(port, 53, "port");
	ASSERT_EQ(geofw_port_parse_one("80,443/tcp", &proto, &port, err, sizeof(err)), -EINVAL,
		  "a list is not one port");
	ASSERT_EQ(geofw_port_parse_one("80-81/tcp", &proto, &port, err, sizeof(err)), -EINVAL,
		  "a range is not one port");
}

/* The image: sets by first appearance, shorter prefixes merged into the
 * longer ones they cover, strictest action per set, too many lists refused. */
void test_ports_build(void)
{
	struct geofw_prule r[GEOFW_MAX_PORT_SETS + 1];
	struct geofw_ports_image img;
	char err[GEOFW_ERRLEN] = "", spec[16];
	size_t i;

	memset(r, 0, sizeof(r));
	geofw_ports_parse("22/tcp", &r[0].ports, NULL, 0);
	geofw_prule_target_parse("203.0.113.0/24", &r[0], NULL, 0);
	r[0].kind = GEOFW_PRULE_BLOCK;
	r[0].action = GEOFW_ACT_LOG;
	r[0].rule_id = 5;
	geofw_ports_parse("22/tcp", &r[1].ports, NULL, 0);
	geofw_prule_target_parse("203.0.113.7", &r[1], NULL, 0);
	r[1].kind = GEOFW_PRULE_BLOCK;
	r[1].action = GEOFW_ACT_DROP;
	r[1].rule_id = 6;
	geofw_ports_parse("80/tcp", &r[2].ports, NULL, 0);
	geofw_prule_target_parse("DE", &r[2], NULL, 0);
	r[2].kind = GEOFW_PRULE_ONLY;
	r[2].action = GEOFW_ACT_REJECT;
	if (!ASSERT_OK(geofw_ports_build(r, 3, &img, err, sizeof(err)), err))
		return;
	ASSERT_EQ(img.n_sets, 2, "two port lists");
	ASSERT_EQ(img.only_sets, 2, "set 1 has an allow-only policy");
	ASSERT_EQ(img.set_val[1].only_action, GEOFW_ACT_REJECT, "its action");
	ASSERT_EQ(img.n_net, 2, "two prefixes");
	for (i = 0; i < img.n_net; i++) {
		const struct geofw_port_net *v = &img.net[i].val;

		ASSERT_EQ(v->block_sets, 1, "blocked on set 0");
		if (img.net[i].prefix.prefixlen == 32) {
			ASSERT_EQ(v->action[0], GEOFW_ACT_DROP, "/32: the strictest");
			ASSERT_EQ(v->rule_id[0], 6, "/32: its rule");
		} else {
			ASSERT_EQ(v->action[0], GEOFW_ACT_LOG, "/24 alone");
		}
	}
	ASSERT_EQ(img.cc[r[2].country].only_sets, 2, "DE listed by set 1");
	ASSERT_TRUE(img.any_cc, "countries present");
	geofw_ports_image_free(&img);

	for (i = 0; i <= GEOFW_MAX_PORT_SETS; i++) {
		snprintf(spec, sizeof(spec), "%zu/tcp", 1000 + i);
		memset(&r[i], 0, sizeof(r[i]));
		geofw_ports_parse(spec, &r[i].ports, NULL, 0);
		geofw_prule_target_parse("192.0.2.0/24", &r[i], NULL, 0);
		r[i].kind = GEOFW_PRULE_ALLOW;
	}
	ASSERT_EQ(geofw_ports_build(r, GEOFW_MAX_PORT_SETS + 1, &img, err, sizeof(err)), -E2BIG,
		  "17 port lists");
	ASSERT_TRUE(strstr(err, "1016/tcp") != NULL, err);
}

/* AS targets: "AS64500" (never the country AS, American Samoa), one merged
 * gfw_port_asn value per AS with all its rules, bits per set. */
void test_ports_asn(void)
{
	struct geofw_prule r[4], t = {};
	struct geofw_ports_image img;
	char err[GEOFW_ERRLEN] = "", buf[GEOFW_CIDR_STRLEN];
	const char *ports[4] = { "22/tcp", "22/tcp", "443/tcp", "22/tcp" };
	const char *targets[4] = { "AS64500", "as64500", "AS64501", "AS64501" };
	const int kinds[4] = { GEOFW_PRULE_BLOCK, GEOFW_PRULE_BLOCK, GEOFW_PRULE_ALLOW,
			       GEOFW_PRULE_ONLY };
	const __u8 actions[4] = { GEOFW_ACT_LOG, GEOFW_ACT_DROP, GEOFW_ACT_PASS, GEOFW_ACT_DROP };
	size_t i;

	ASSERT_OK(geofw_prule_target_parse("AS64500", &t, err, sizeof(err)), err);
	ASSERT_TRUE(t.is_asn && !t.is_country && t.asn == 64500, "AS64500 is an AS");
	ASSERT_OK(geofw_prule_target(&t, buf, sizeof(buf)), "format");
	ASSERT_STREQ(buf, "AS64500", "formatted");
	ASSERT_OK(geofw_prule_target_parse("AS", &t, err, sizeof(err)), err);
	ASSERT_TRUE(t.is_country && !t.is_asn, "AS alone is American Samoa");
	ASSERT_EQ(geofw_prule_target_parse("AS0", &t, err, sizeof(err)), -EINVAL, "AS0");
	ASSERT_TRUE(strstr(err, "not an AS number") != NULL, err);
	ASSERT_EQ(geofw_prule_target_parse("AS64500x", &t, err, sizeof(err)), -EINVAL, "junk");
	ASSERT_OK(geofw_prule_target_parse("192.0.2.0/24", &t, err, sizeof(err)), err);
	ASSERT_TRUE(!t.is_asn && !t.is_country, "a prefix after an AS");

	memset(r, 0, sizeof(r));
	for (i = 0; i < 4; i++) {
		geofw_ports_parse(ports[i], &r[i].ports, NULL, 0);
		ASSERT_OK(geofw_prule_target_parse(targets[i], &r[i], err, sizeof(err)), err);
		r[i].kind = kinds[i];
		r[i].action = actions[i];
		r[i].rule_id = (__u32)(10 + i);
	}
	if (!ASSERT_OK(geofw_ports_build(r, 4, &img, err, sizeof(err)), err))
		return;
	ASSERT_EQ(img.n_sets, 2, "two port lists");
	ASSERT_EQ(img.n_net, 0, "no prefix entry");
	ASSERT_TRUE(!img.any_cc, "no country entry");
	if (ASSERT_EQ(img.n_asn, 2, "two ASes")) {
		ASSERT_EQ(img.asn[0].asn, 64500, "first AS");
		ASSERT_EQ(img.asn[0].val.block_sets, 1, "blocked on set 0");
		ASSERT_EQ(img.asn[0].val.action[0], GEOFW_ACT_DROP, "the strictest action");
		ASSERT_EQ(img.asn[0].val.rule_id[0], 11, "the strictest rule's id");
		ASSERT_EQ(img.asn[1].asn, 64501, "second AS");
		ASSERT_EQ(img.asn[1].val.allow_sets, 2, "allowed on set 1");
		ASSERT_EQ(img.asn[1].val.rule_id[1], 12, "the allow's id");
		ASSERT_EQ(img.asn[1].val.only_sets, 1, "listed by set 0's policy");
	}
	ASSERT_EQ(img.only_sets, 1, "set 0 has an allow-only policy");
	geofw_ports_image_free(&img);
}

/* gfw_port_asn's open-addressed table (ABI 8): 254 ASes each found by the
 * data plane's probe from its hash, an AS without rules ends at an empty
 * entry, and 17 ASes of one hash are refused naming the one that does not
 * fit. */
void test_ports_asn_table(void)
{
	static struct geofw_prule r[GEOFW_MAX_PORT_ASNS + 1];
	__u32 tab[GEOFW_PORT_ASN_ENTRIES] = { 0 }, asn, h, d, n;
	struct geofw_ports_image img;
	char err[GEOFW_ERRLEN] = "", want[32];
	size_t i;

	memset(r, 0, sizeof(r));
	for (i = 0; i < GEOFW_MAX_PORT_ASNS; i++) {
		geofw_ports_parse("22/tcp", &r[i].ports, NULL, 0);
		r[i].kind = GEOFW_PRULE_BLOCK;
		r[i].action = GEOFW_ACT_DROP;
		r[i].is_asn = true;
		r[i].asn = 64500 + (__u32)i * 7919;	/* spread, not consecutive */
	}
	if (!ASSERT_OK(geofw_ports_build(r, GEOFW_MAX_PORT_ASNS, &img, err, sizeof(err)), err))
		return;
	for (i = 0; i < img.n_asn; i++) {
		ASSERT_TRUE(!tab[img.asn[i].pos], "one AS an entry");
		tab[img.asn[i].pos] = img.asn[i].asn;
	}
	for (i = 0; i < img.n_asn; i++) {
		h = GEOFW_PORT_ASN_HASH(img.asn[i].asn);
		for (d = 0; d < GEOFW_PORT_ASN_PROBE; d++)
			if (tab[(h + d) % GEOFW_PORT_ASN_ENTRIES] == img.asn[i].asn)
				break;
		ASSERT_TRUE(d < GEOFW_PORT_ASN_PROBE, "the probe finds every AS");
	}
	geofw_ports_image_free(&img);

	/* 17 ASes of one hash: the 17th lies beyond the probe. */
	h = GEOFW_PORT_ASN_HASH(64501);
	for (asn = 1, n = 0; n < GEOFW_PORT_ASN_PROBE + 1; asn++) {
		if (GEOFW_PORT_ASN_HASH(asn) != h)
			continue;
		r[n].asn = asn;
		n++;
	}
	ASSERT_EQ(geofw_ports_build(r, n, &img, err, sizeof(err)), -E2BIG, "17 ASes of one hash");
	snprintf(want, sizeof(want), "AS%u does not fit", r[n - 1].asn);
	ASSERT_TRUE(strstr(err, want) != NULL, err);
	/* 16 fit */
	ASSERT_OK(geofw_ports_build(r, n - 1, &img, err, sizeof(err)), err);
	geofw_ports_image_free(&img);
}
