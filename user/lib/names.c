// SPDX-License-Identifier: GPL-2.0-only
/*
 * The names of the ABI enums (actions, reasons) as fwctl prints and parses
 * them and geofw.conf, the metrics and the events use them: core, no
 * libbpf (maps.h declares them).
 */
#include <string.h>

#include "maps.h"

static const char *const action_names[GEOFW_ACT_MAX] = {
	[GEOFW_ACT_PASS] = "pass",
	[GEOFW_ACT_DROP] = "drop",
	[GEOFW_ACT_REJECT] = "reject",
	[GEOFW_ACT_HTTP403] = "http403",
	[GEOFW_ACT_LOG] = "log",
};

static const char *const reason_names[GEOFW_R_MAX] = {
	[GEOFW_R_NON_IP] = "non_ip",
	[GEOFW_R_ALLOWLIST] = "allowlist",
	[GEOFW_R_BLOCK_IP] = "block_ip",
	[GEOFW_R_LOG_IP] = "log_ip",
	[GEOFW_R_COUNTRY_BLOCK] = "country_block",
	[GEOFW_R_COUNTRY_LOG] = "country_log",
	[GEOFW_R_COUNTRY_PASS] = "country_pass",
	[GEOFW_R_NOCOUNTRY_BLOCK] = "nocountry_block",
	[GEOFW_R_NOCOUNTRY_LOG] = "nocountry_log",
	[GEOFW_R_NOCOUNTRY_PASS] = "nocountry_pass",
	[GEOFW_R_RUNT] = "malformed_runt",
	[GEOFW_R_VLAN_DEPTH] = "malformed_vlan_depth",
	[GEOFW_R_IPV4_TRUNC] = "malformed_ipv4_trunc",
	[GEOFW_R_IPV4_IHL] = "malformed_ipv4_ihl",
	[GEOFW_R_IPV4_TOTLEN] = "malformed_ipv4_totlen",
	[GEOFW_R_IPV6_TRUNC] = "malformed_ipv6_trunc",
	[GEOFW_R_ICMP6_ND] = "icmp6_nd",
	[GEOFW_R_ALLOW_ASN] = "allow_asn",
	[GEOFW_R_BLOCK_ASN] = "block_asn",
	[GEOFW_R_LOG_ASN] = "log_asn",
	[GEOFW_R_PORT_ALLOW] = "port_allow",
	[GEOFW_R_PORT_BLOCK] = "port_block",
	[GEOFW_R_PORT_LOG] = "port_log",
	[GEOFW_R_PORT_COUNTRY_BLOCK] = "port_country_block",
	[GEOFW_R_PORT_COUNTRY_LOG] = "port_country_log",
	[GEOFW_R_PORT_POLICY_PASS] = "port_policy_pass",
	[GEOFW_R_PORT_POLICY_BLOCK] = "port_policy_block",
	[GEOFW_R_PORT_POLICY_LOG] = "port_policy_log",
	[GEOFW_R_PORT_NO_L4] = "port_no_l4",
	[GEOFW_R_RATELIMIT] = "ratelimit",
};

const char *geofw_action_name(unsigned int action)
{
	return action < GEOFW_ACT_MAX ? action_names[action] : "?";
}

int geofw_action_parse(const char *name)
{
	int i;

	for (i = 0; i < GEOFW_ACT_MAX; i++)
		if (!strcmp(name, action_names[i]))
			return i;
	return -1;
}

const char *geofw_reason_name(unsigned int reason)
{
	return reason < GEOFW_R_MAX && reason_names[reason] ? reason_names[reason] : "?";
}
