// SPDX-License-Identifier: GPL-2.0-only
/*
 * Canary frames (user/lib/canary.h): the real programs agree with the host
 * decision on their maps, and a program that is wrong for the device (the L3
 * entry on Ethernet frames, the Ethernet entry on bare IP) is caught.
 */
#include <bpf/bpf.h>
#include <errno.h>
#include <string.h>

#include "canary.h"
#include "cidr.h"
#include "loader.h"
#include "maps.h"
#include "test.h"

static int put_rules(const struct geofw_maps *m, struct geofw_canary *c)
{
	struct geofw_cidr blk, allow, blk6;
	struct geofw_block bval = { .action = GEOFW_ACT_DROP, .rule_id = 7 };
	struct geofw_allow aval = { .rule_id = 8 };
	char err[128];
	int ret;

	if ((ret = geofw_cidr_parse("203.0.113.7", 0, &blk, err, sizeof(err))) ||
	    (ret = geofw_cidr_parse("198.51.100.0/24", 0, &allow, err, sizeof(err))) ||
	    (ret = geofw_cidr_parse("2001:db8:bad::/48", 0, &blk6, err, sizeof(err))))
		return ret;
	if ((ret = geofw_rules_present_add(m, geofw_rules_present_bit(&blk, false) |
					   geofw_rules_present_bit(&blk6, false) |
					   geofw_rules_present_bit(&allow, true))) ||
	    (ret = geofw_block_put(m, &blk, &bval)) || (ret = geofw_block_put(m, &blk6, &bval)) ||
	    (ret = geofw_allow_put(m, &allow, &aval)))
		return ret;
	geofw_canary_add(c, &blk);
	geofw_canary_add(c, &blk6);
	geofw_canary_add(c, &allow);
	return 0;
}

void test_canary(void)
{
	struct geofw_loaded fw;
	struct geofw_canary c = {};
	char err[256];
	size_t frames;

	if (!ASSERT_OK(geofw_load(NULL, &fw), "load"))
		return;
	SUBTEST("no_rules_agree") {
		err[0] = '\0';
		ASSERT_OK(geofw_canary_check(&c, &fw.maps, fw.xdp_prog_fd, false, &frames, err,
					     sizeof(err)), err);
		ASSERT_EQ(frames, 4, "frames: 2 sources, truncated IPv4, ARP");
	}
	if (!ASSERT_OK(put_rules(&fw.maps, &c), "rules"))
		goto out;
	SUBTEST("ethernet_entry_agrees") {
		err[0] = '\0';
		ASSERT_OK(geofw_canary_check(&c, &fw.maps, fw.xdp_prog_fd, false, &frames, err,
					     sizeof(err)), err);
		ASSERT_EQ(frames, 7, "frames");
	}
	SUBTEST("l3_entry_agrees") {
		err[0] = '\0';
		ASSERT_OK(geofw_canary_check(&c, &fw.maps, fw.xdp_l3_prog_fd, true, &frames, err,
					     sizeof(err)), err);
		ASSERT_EQ(frames, 6, "frames (no ARP on an L3 device)");
	}
	SUBTEST("wrong_entry_for_ethernet_refused") {
		err[0] = '\0';
		ASSERT_EQ(geofw_canary_check(&c, &fw.maps, fw.xdp_l3_prog_fd, false, NULL, err,
					     sizeof(err)), -EPROTO, "L3 entry on Ethernet frames");
		ASSERT_TRUE(strstr(err, "blocked from 203.0.113.7") && strstr(err, "expected XDP_DROP"),
			    err);
	}
	SUBTEST("wrong_entry_for_l3_refused") {
		ASSERT_EQ(geofw_canary_check(&c, &fw.maps, fw.xdp_prog_fd, true, NULL, err,
					     sizeof(err)), -EPROTO, "Ethernet entry on bare IP");
	}
	SUBTEST("malformed_verdict_followed") {
		struct geofw_config cfg;

		/* An operator who passes truncated headers: the canary expects
		 * what the config says, and the program does it. */
		ASSERT_OK(geofw_config_read(&fw.maps, &cfg), "config");
		cfg.malformed_action[GEOFW_MF_IPV4_TRUNC] = GEOFW_ACT_PASS;
		ASSERT_OK(geofw_config_set_policy(&fw.maps, &cfg), "set policy");
		ASSERT_OK(geofw_canary_check(&c, &fw.maps, fw.xdp_prog_fd, false, NULL, err,
					     sizeof(err)), err);
	}
out:
	geofw_unload(&fw);
}
