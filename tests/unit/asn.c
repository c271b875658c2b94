// SPDX-License-Identifier: GPL-2.0-only
/* AS numbers and AS rule sets (user/lib/asntable.c), no kernel. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "asntable.h"
#include "cidr.h"
#include "test.h"

void test_asn_parse(void)
{
	static const struct {
		const char *in;
		long long want;		/* -1: refused */
	} rows[] = {
		{ "AS64500", 64500 }, { "as64500", 64500 }, { "64500", 64500 }, { "1", 1 },
		{ "AS4294967295", 4294967295ll }, { "aS13335", 13335 },
		{ "AS4294967296", -1 }, { "0", -1 }, { "AS0", -1 }, { "AS", -1 }, { "", -1 },
		{ "064500", -1 }, { "+64500", -1 }, { "-1", -1 }, { "AS 64500", -1 },
		{ "64500 ", -1 }, { "1.10", -1 }, { "ASN64500", -1 }, { "99999999999999999999", -1 },
	};
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		__u32 asn = 0;
		int err = geofw_asn_parse(rows[i].in, &asn);

		SUBTEST("'%s'", rows[i].in) {
			if (rows[i].want < 0) {
				ASSERT_EQ(err, -EINVAL, "refused");
			} else if (ASSERT_OK(err, "accepted")) {
				ASSERT_EQ(asn, (__u32)rows[i].want, "value");
			}
		}
	}
}

void test_asn_list_read(void)
{
	char path[] = "/tmp/geofw-asn-list.XXXXXX";
	int fd = mkstemp(path);
	__u32 out[4];
	FILE *f;

	if (!ASSERT_TRUE(fd >= 0, "mkstemp"))
		return;
	f = fdopen(fd, "w");
	fputs("# hosting\n  AS64500  \n\n64501 # crawler\n", f);
	fclose(f);
	ASSERT_EQ(geofw_asn_list_read(path, out, 4), 2, "two");
	ASSERT_EQ(out[0], 64500, "first");
	ASSERT_EQ(out[1], 64501, "second");
	ASSERT_EQ(geofw_asn_list_read(path, out, 1), -E2BIG, "over max");
	f = fopen(path, "w");
	fputs("64500\nAS64x\n", f);
	fclose(f);
	ASSERT_EQ(geofw_asn_list_read(path, out, 4), -EINVAL, "bad line");
	unlink(path);
	ASSERT_EQ(geofw_asn_list_read(path, out, 4), -ENOENT, "absent");
}

/* One class per AS, sorted; allow wins over block of the same AS. */
void test_asn_classes(void)
{
	const struct geofw_asn_rule rules[] = {
		{ .asn = 64502, .kind = GEOFW_ASN_BLOCK, .action = GEOFW_ACT_DROP, .rule_id = 2 },
		{ .asn = 64500, .kind = GEOFW_ASN_BLOCK, .action = GEOFW_ACT_REJECT, .rule_id = 3 },
		{ .asn = 64502, .kind = GEOFW_ASN_ALLOW, .rule_id = 4 },
	};
	const struct geofw_asn_rule bad[] = {
		{ .asn = 64500, .kind = GEOFW_ASN_BLOCK, .action = GEOFW_ACT_PASS },
	};
	static struct geofw_asn_classes cl;

	if (!ASSERT_OK(geofw_asn_classes_make(rules, 3, &cl), "make"))
		return;
	ASSERT_EQ(cl.n, 2, "two ASes");
	ASSERT_EQ(cl.c[0].asn, 64500, "sorted");
	ASSERT_EQ(cl.c[0].action, GEOFW_ACT_REJECT, "action kept");
	ASSERT_EQ(cl.c[1].kind, GEOFW_ASN_ALLOW, "allow wins");
	ASSERT_EQ(cl.c[1].rule_id, 4, "the allow rule's id");
	ASSERT_EQ(geofw_asn_class_of(&cl, 64500), 1, "class 1");
	ASSERT_EQ(geofw_asn_class_of(&cl, 64502), 2, "class 2");
	ASSERT_EQ(geofw_asn_class_of(&cl, 64501), 0, "no rule");
	ASSERT_EQ(geofw_asn_classes_make(bad, 1, &cl), -EINVAL, "block that passes");
}
