/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The decision: allowlist (CIDR, then AS) → IP/CIDR blocklist → AS
 * blocklist → country policy.
 * Input is a parsed packet, output is an action, a reason and the ids of the
 * rule and country that decided, for the counters.
 */
#ifndef GEOFW_DECIDE_H
#define GEOFW_DECIDE_H

#include "geofw.h"
#include "parse.h"
#include "geo.h"

struct geofw_verdict {
	__u8  action;		/* enum geofw_action as decided by the policy */
	__u8  reason;		/* enum geofw_reason */
	__u8  country_id;	/* valid when country_looked_up */
	__u8  country_looked_up;
	__u32 rule_id;
	__u32 asn;		/* AS of the rule that decided (ALLOW/BLOCK/LOG_ASN), else 0 */
};

static __always_inline int block_active(const struct geofw_block *b)
{
	return !b->expires_ns || bpf_ktime_get_boot_ns() < b->expires_ns;
}

static __always_inline struct geofw_allow *allow_lookup(const struct geofw_pkt *pkt,
							 const struct geofw_config *cfg)
{
	if (!(cfg->rules_present & (pkt->family == 4 ? GEOFW_HAVE_ALLOW4 : GEOFW_HAVE_ALLOW6)))
		return NULL;
	if (pkt->family == 4) {
		struct geofw_lpm_v4 key = { .prefixlen = 32 };

		__builtin_memcpy(key.addr, pkt->saddr, 4);
		return bpf_map_lookup_elem(&gfw_allow4, &key);
	} else {
		struct geofw_lpm_v6 key = { .prefixlen = 128 };

		__builtin_memcpy(key.addr, pkt->saddr, 16);
		return bpf_map_lookup_elem(&gfw_allow6, &key);
	}
}

/* Is the /24 of an IPv4 address covered by any block rule? */
static __always_inline int block4_maybe(const __u8 *addr)
{
	__u32 s24 = (__u32)addr[0] << 16 | (__u32)addr[1] << 8 | addr[2];
	__u32 word = s24 >> 6;
	__u64 *bits = bpf_map_lookup_elem(&gfw_block4_bits, &word);

	return bits && (*bits >> (s24 & 63)) & 1;
}

/* Longest match: an exact /32 or /128 entry beats every shorter CIDR. */
static __always_inline struct geofw_block *block_lookup(const struct geofw_pkt *pkt,
							const struct geofw_config *cfg)
{
	__u8 have = cfg->rules_present;
	struct geofw_block *b = NULL;

	if (pkt->family == 4) {
		struct geofw_lpm_v4 key = { .prefixlen = 32 };

		if (!(have & (GEOFW_HAVE_BLOCK_IP4 | GEOFW_HAVE_BLOCK_NET4)) ||
		    !block4_maybe(pkt->saddr))
			return NULL;
		if (have & GEOFW_HAVE_BLOCK_IP4) {
			b = bpf_map_lookup_elem(&gfw_block_ip4, pkt->saddr);
			if (b && block_active(b))
				return b;
		}
		if (!(have & GEOFW_HAVE_BLOCK_NET4))
			return NULL;
		__builtin_memcpy(key.addr, pkt->saddr, 4);
		b = bpf_map_lookup_elem(&gfw_block_net4, &key);
	} else {
		struct geofw_lpm_v6 key = { .prefixlen = 128 };

		if (have & GEOFW_HAVE_BLOCK_IP6) {
			b = bpf_map_lookup_elem(&gfw_block_ip6, pkt->saddr);
			if (b && block_active(b))
				return b;
		}
		if (!(have & GEOFW_HAVE_BLOCK_NET6))
			return NULL;
		__builtin_memcpy(key.addr, pkt->saddr, 16);
		b = bpf_map_lookup_elem(&gfw_block_net6, &key);
	}
	return b && block_active(b) ? b : NULL;
}

static __always_inline void
decide_country(const struct geofw_pkt *pkt, const struct geofw_config *cfg,
	       struct geofw_verdict *v)
{
	struct geofw_country *pol;
	__u32 id;
	__u8 action;

	id = pkt->family == 4 ? geo_country_v4(pkt->saddr, cfg->geo_slot & 1) :
				geo_country_v6(pkt->saddr, cfg->geo_slot & 1);
	v->country_id = (__u8)id;
	v->country_looked_up = 1;

	if (id == GEOFW_COUNTRY_NONE) {
		action = cfg->unknown_country_action;
		v->action = action;
		v->reason = action == GEOFW_ACT_PASS ? GEOFW_R_NOCOUNTRY_PASS :
			    action == GEOFW_ACT_LOG ? GEOFW_R_NOCOUNTRY_LOG :
			    GEOFW_R_NOCOUNTRY_BLOCK;
		return;
	}

	pol = bpf_map_lookup_elem(&gfw_country, &id);
	if (cfg->country_mode == GEOFW_MODE_ALLOW_LISTED)
		action = pol && pol->listed ? GEOFW_ACT_PASS : cfg->country_block_action;
	else
		action = pol && pol->listed ? pol->action : GEOFW_ACT_PASS;

	v->action = action;
	v->reason = action == GEOFW_ACT_PASS ? GEOFW_R_COUNTRY_PASS :
		    action == GEOFW_ACT_LOG ? GEOFW_R_COUNTRY_LOG :
		    GEOFW_R_COUNTRY_BLOCK;
}

/* The rule of the source's AS class, or NULL: no ASN table in force, an
 * address of no AS with a rule, or an expired rule.  One table lookup (one
 * array access for IPv4), the same cost as the country lookup. */
static __always_inline struct geofw_asn_class *asn_lookup(const struct geofw_pkt *pkt,
							  const struct geofw_config *cfg)
{
	struct geofw_asn_class *c;
	__u32 slot = cfg->asn_slot & 1, id;

	if (!cfg->asn_present)
		return NULL;
	id = pkt->family == 4 ? asn_class_v4(pkt->saddr, slot) : asn_class_v6(pkt->saddr, slot);
	if (!id)
		return NULL;
	id = GEOFW_ASN_CLASS_KEY(slot, id);
	c = bpf_map_lookup_elem(&gfw_asn_class, &id);
	if (!c || c->kind == GEOFW_ASN_NONE ||
	    (c->expires_ns && bpf_ktime_get_boot_ns() >= c->expires_ns))
		return NULL;
	return c;
}

static __always_inline void
geofw_decide(const struct geofw_pkt *pkt, const struct geofw_config *cfg,
	     struct geofw_verdict *v)
{
	struct geofw_asn_class *as;
	struct geofw_allow *allow;
	struct geofw_block *block;

	allow = allow_lookup(pkt, cfg);
	if (allow) {
		v->action = GEOFW_ACT_PASS;
		v->reason = GEOFW_R_ALLOWLIST;
		v->rule_id = allow->rule_id;
		return;
	}

	as = asn_lookup(pkt, cfg);
	if (as && as->kind == GEOFW_ASN_ALLOW) {
		v->action = GEOFW_ACT_PASS;
		v->reason = GEOFW_R_ALLOW_ASN;
		v->rule_id = as->rule_id;
		v->asn = as->asn;
		return;
	}

	block = block_lookup(pkt, cfg);
	if (block) {
		v->action = block->action;
		v->reason = block->action == GEOFW_ACT_LOG ? GEOFW_R_LOG_IP : GEOFW_R_BLOCK_IP;
		v->rule_id = block->rule_id;
		return;
	}

	if (as && as->kind == GEOFW_ASN_BLOCK) {
		v->action = as->action;
		v->reason = as->action == GEOFW_ACT_LOG ? GEOFW_R_LOG_ASN : GEOFW_R_BLOCK_ASN;
		v->rule_id = as->rule_id;
		v->asn = as->asn;
		return;
	}

	decide_country(pkt, cfg, v);
}

#endif
