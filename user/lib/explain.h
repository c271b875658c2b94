/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the data plane would decide for a source address, and why: the
 * decision code of bpf/decide.h compiled for the host, reading the maps in
 * force (pinned or loaded), so `fwctl lookup` can never disagree with the
 * kernel about the rules it explains.
 */
#ifndef GEOFW_EXPLAIN_H
#define GEOFW_EXPLAIN_H

#include <stdbool.h>

#include "geofw.h"
#include "maps.h"

struct geofw_explain {
	__u8  action;		/* enum geofw_action decided by the policy */
	__u8  reason;		/* enum geofw_reason */
	__u8  country_id;	/* 0 = none or not looked up */
	bool  country_looked_up;
	__u32 rule_id;		/* allow/block rule that decided, 0 = none */
	__u32 asn;		/* AS whose rule decided (allow_asn, block_asn, log_asn), 0 = none */
	/* The rule that matched, when one did. */
	bool  allow_match, block_match;
	__u8  match_prefixlen;
	__u8  match_family;
	__u8  match_addr[16];
	struct geofw_block block;	/* valid when block_match */
	bool  block_expired_ignored;	/* an expired entry was skipped */
	__u16 port_sets;	/* a port-scoped rule decided: the port's sets */
	__u32 log_rule_passed;	/* a log rule matched, but another step blocked
				 * (a log rule never lets anything through): its
				 * rule id, else 0 */
	bool  log_passed;	/* the same, for a log rule without an id */
};

/* family 4 (addr[0..3]) or 6; an IPv6 address carrying an IPv4 address
 * (v4-mapped, IPv4-compatible, 6to4, NAT64) is judged as that IPv4 address,
 * as the data plane does.  0 or -errno (maps unreadable). */
int geofw_explain(const struct geofw_maps *m, int family, const __u8 *addr,
		  struct geofw_explain *out);

/* The same for a packet to a destination port: l4proto IPPROTO_TCP or
 * IPPROTO_UDP (0: no port, the source-only policy, as a later fragment). */
int geofw_explain_port(const struct geofw_maps *m, int family, const __u8 *addr,
		       int l4proto, unsigned int port, struct geofw_explain *out);

/* The IPv4 address the data plane judges an IPv6 source as: the fixed forms
 * of bpf/parse.h, then the NAT64 prefixes in m's gfw_nat64.  1 with v4[0..3]
 * set, or 0 (judged as IPv6). */
int geofw_v6_source_v4(const struct geofw_maps *m, const __u8 *addr, __u8 *v4);
/* The fixed forms alone (no NAT64 prefixes from the config). */
int geofw_v6_fixed_v4(const __u8 *addr, __u8 *v4);

#endif
