/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The decision: allowlist (CIDR) → [port-scoped allow] → allowed AS →
 * [port-scoped AS allow] → IP/CIDR blocklist → [port-scoped block] → AS
 * blocklist → [port-scoped AS block] → [port-scoped country block → port
 * allow-only policy] → country policy.  The bracketed steps run only for
 * TCP/UDP packets whose destination port is in a port set
 * (docs/design-notes.md "Port-scoped policy"); each sits right after its
 * source-only counterpart.  The port-scoped AS steps read gfw_port_asn only
 * when it holds rules (GEOFW_PORTS_ASN) and the source has an AS class.
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
	__u16 port_sets;	/* port sets holding the packet's port (rate limits) */
	__u8  src_class;	/* block entry's source class (403 page), else 0 */
};

static __always_inline int block_active(const struct geofw_block *b)
{
	return !b->expires_ns || bpf_ktime_get_boot_ns() < b->expires_ns;
}

/* Bit b of a prefilter bitmap (an array of u64 words: gfw_block4_bits,
 * gfw_block6_bits, gfw_port_bits; include/geofw.h).  Inlined with the map
 * known at each call, so every lookup stays an inlined array access. */
static __always_inline int map_bit(void *map, __u32 b)
{
	__u32 word = b >> 6;
	__u64 *bits = bpf_map_lookup_elem(map, &word);

	return bits && (*bits >> (b & 63)) & 1;
}

static __always_inline int bits4(__u32 b)
{
	return map_bit(&gfw_block4_bits, b);
}

static __always_inline __u32 s16_of(const __u8 *addr)
{
	return (__u32)addr[0] << 8 | addr[1];
}

static __always_inline struct geofw_allow *allow_lookup(const struct geofw_pkt *pkt,
							 const struct geofw_config *cfg)
{
	if (!(cfg->rules_present & (pkt->family == 4 ? GEOFW_HAVE_ALLOW4 : GEOFW_HAVE_ALLOW6)))
		return NULL;
	if (pkt->family == 4) {
		struct geofw_lpm_v4 key = { .prefixlen = 32 };

		/* No allow rule in the source's /16: no trie walk. */
		if (!bits4(GEOFW_B4_ALLOW16(s16_of(pkt->saddr))))
			return NULL;
		__builtin_memcpy(key.addr, pkt->saddr, 4);
		return bpf_map_lookup_elem(&gfw_allow4, &key);
	} else {
		struct geofw_lpm_v6 key = { .prefixlen = 128 };

		__builtin_memcpy(key.addr, pkt->saddr, 16);
		return bpf_map_lookup_elem(&gfw_allow6, &key);
	}
}

/* Is the /24 of an IPv4 address covered by any block rule?  The /16 bit
 * first: it stays in cache, the /24 bitmap (2 MiB) does not. */
static __always_inline int block4_maybe(const __u8 *addr)
{
	return bits4(GEOFW_B4_BLOCK16(s16_of(addr))) &&
	       bits4(GEOFW_B4_BLOCK24((__u32)addr[0] << 16 | (__u32)addr[1] << 8 | addr[2]));
}

/* May the IPv6 address have an exact (/128) block?  The bit of its hash. */
static __always_inline int block6_maybe(const __u8 *addr)
{
	__u64 hi, lo;

	__builtin_memcpy(&hi, addr, 8);
	__builtin_memcpy(&lo, addr + 8, 8);
	return map_bit(&gfw_block6_bits, GEOFW_BLOCK6_BIT(hi, lo));
}

/* A CIDR entry with the log action passed over to the one that covers it
 * (a logged /28 inside a dropped /24): the trie asked again below the
 * entry's own length, a few levels at most.  key is the lookup's key, plen
 * its prefixlen field. */
static __always_inline struct geofw_block *past_log_once(void *map, __u32 *plen, void *key,
							 struct geofw_block *b)
{
	if (!b || !block_active(b) || b->action != GEOFW_ACT_LOG || !b->prefixlen)
		return b;
	*plen = b->prefixlen - 1;
	return bpf_map_lookup_elem(map, key);
}

static __always_inline struct geofw_block *block_past_log(void *map, __u32 *plen, void *key,
							  struct geofw_block *b)
{
	b = past_log_once(map, plen, key, b);
	b = past_log_once(map, plen, key, b);
	return past_log_once(map, plen, key, b);
}

/* Longest match: an exact /32 or /128 entry beats every shorter CIDR.
 * nolog (a constant): an exact entry with the log action is passed over,
 * so the CIDR that covers the address still decides (a honeypot's /32
 * logged inside a feed's dropped /24). */
static __always_inline struct geofw_block *block_lookup_as(const struct geofw_pkt *pkt,
							   const struct geofw_config *cfg,
							   const int nolog)
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
			if (b && block_active(b) && !(nolog && b->action == GEOFW_ACT_LOG))
				return b;
		}
		if (!(have & GEOFW_HAVE_BLOCK_NET4))
			return NULL;
		__builtin_memcpy(key.addr, pkt->saddr, 4);
		b = bpf_map_lookup_elem(&gfw_block_net4, &key);
		if (nolog)
			b = block_past_log(&gfw_block_net4, &key.prefixlen, &key, b);
	} else {
		struct geofw_lpm_v6 key = { .prefixlen = 128 };

		if ((have & GEOFW_HAVE_BLOCK_IP6) && block6_maybe(pkt->saddr)) {
			b = bpf_map_lookup_elem(&gfw_block_ip6, pkt->saddr);
			if (b && block_active(b) && !(nolog && b->action == GEOFW_ACT_LOG))
				return b;
		}
		if (!(have & GEOFW_HAVE_BLOCK_NET6))
			return NULL;
		__builtin_memcpy(key.addr, pkt->saddr, 16);
		b = bpf_map_lookup_elem(&gfw_block_net6, &key);
		if (nolog)
			b = block_past_log(&gfw_block_net6, &key.prefixlen, &key, b);
	}
	return b && block_active(b) ? b : NULL;
}

static __always_inline struct geofw_block *block_lookup(const struct geofw_pkt *pkt,
							const struct geofw_config *cfg)
{
	return block_lookup_as(pkt, cfg, 0);
}

/* ---- port-scoped policy (ABI 4) ------------------------------------------ */

/* What the port rules say about this packet: the sets holding its port. */
struct geofw_port_ctx {
	__u16 sets;		/* port sets holding the destination port, 0 = none */
	__u16 only_sets;	/* of those, the sets with an allow-only policy */
	__u32 slot;
	struct geofw_port_net *net;	/* the source's port-scoped prefix entry */
};

/* The lowest set bit of a port-set mask (branch-light, no loop). */
static __always_inline __u32 port_set_index(__u32 m)
{
	__u32 i = 0;

	if (!(m & 0xff)) {
		i += 8;
		m >>= 8;
	}
	if (!(m & 0xf)) {
		i += 4;
		m >>= 4;
	}
	if (!(m & 0x3)) {
		i += 2;
		m >>= 2;
	}
	if (!(m & 0x1))
		i += 1;
	return i & (GEOFW_MAX_PORT_SETS - 1);
}

/* The port prefix tries' prefilter (gfw_port_bits): 0 when no port-scoped
 * prefix can hold the address, so the trie walk (+30..+50 ns) is skipped. */
static __always_inline int port_bit(__u32 b)
{
	return map_bit(&gfw_port_bits, b);
}

static __always_inline int port_bits_maybe4(const __u8 *addr)
{
	return port_bit(GEOFW_PORT_BITS16((__u32)addr[0] << 8 | addr[1])) &&
	       port_bit(GEOFW_PORT_BITS24((__u32)addr[0] << 16 | (__u32)addr[1] << 8 | addr[2]));
}

static __always_inline int port_bits_maybe6(const __u8 *addr)
{
	return port_bit(GEOFW_PORT_BITS6((__u32)addr[0] << 24 | (__u32)addr[1] << 16 |
					 (__u32)addr[2] << 8 | addr[3]));
}

/*
 * Fill pc for a packet.  Costs nothing without port rules (one test of the
 * config byte), one array access for a packet whose port is in no set.
 * Later fragments carry no ports: judged by the source-only policy (their
 * first fragment carried the ports and was judged with them).  1 when port
 * rules are in force but this packet's ports cannot be read although it is
 * not a later fragment (a TCP/UDP header cut short, a tiny first fragment,
 * an IPv6 header chain too long to follow): such a packet could reach any
 * port, so it is dropped (GEOFW_R_PORT_NO_L4).
 */
static __always_inline int port_lookup(const struct geofw_pkt *pkt,
				       const struct geofw_config *cfg,
				       struct geofw_port_ctx *pc)
{
	__u8 have = cfg->ports_present;
	struct geofw_port *p;
	__u32 key, proto;

	if (!(have & GEOFW_PORTS_ON) || pkt->fragment == 2)
		return 0;
	if (pkt->l4_unreached)
		return 1;
	if (pkt->l4proto == GEOFW_IPPROTO_TCP)
		proto = GEOFW_PORT_PROTO_TCP;
	else if (pkt->l4proto == GEOFW_IPPROTO_UDP)
		proto = GEOFW_PORT_PROTO_UDP;
	else
		return 0;
	if (!pkt->has_l4)
		return 1;
	pc->slot = (have & GEOFW_PORTS_SLOT) ? 1 : 0;
	key = GEOFW_PORT_KEY(pc->slot, proto, bpf_ntohs(pkt->dport_be));
	p = bpf_map_lookup_elem(&gfw_port, &key);
	if (!p || !p->sets)
		return 0;
	pc->sets = p->sets;
	pc->only_sets = p->only_sets & p->sets;
	if (!(p->net_sets & p->sets))
		return 0;	/* only country rules for this port: no trie */
	if (pkt->family == 4 && (have & GEOFW_PORTS_NET4) && port_bits_maybe4(pkt->saddr)) {
		struct geofw_port_lpm_v4 k4 = { .prefixlen = 8 + 32, .slot = (__u8)pc->slot };

		__builtin_memcpy(k4.addr, pkt->saddr, 4);
		pc->net = bpf_map_lookup_elem(&gfw_port_net4, &k4);
	} else if (pkt->family == 6 && (have & GEOFW_PORTS_NET6) &&
		   ((have & GEOFW_PORTS_NET6_SHORT) || port_bits_maybe6(pkt->saddr))) {
		struct geofw_port_lpm_v6 k6 = { .prefixlen = 8 + 128, .slot = (__u8)pc->slot };

		__builtin_memcpy(k6.addr, pkt->saddr, 16);
		pc->net = bpf_map_lookup_elem(&gfw_port_net6, &k6);
	}
	return 0;
}

/*
 * The port steps of the country stage, for a packet whose port is in a set:
 * a country blocked on the port, then the allow-only policies of the port's
 * sets (the source must be listed, by country or prefix, by each of them).
 * 1 when they decided.
 */
static __always_inline int decide_port_country(const struct geofw_config *cfg,
					       const struct geofw_port_ctx *pc, __u32 id,
					       const struct geofw_port_net *pa,
					       struct geofw_verdict *v)
{
	struct geofw_port_cc *cc = NULL;
	struct geofw_port_set *ps;
	__u32 m, idx, key;
	__u16 listed = 0;

	if (cfg->ports_present & GEOFW_PORTS_CC) {
		key = GEOFW_PORT_CC_KEY(pc->slot, id);
		cc = bpf_map_lookup_elem(&gfw_port_cc, &key);
	}
	if (cc && (m = cc->block_sets & pc->sets)) {
		idx = port_set_index(m);
		v->action = cc->action[idx];
		v->reason = v->action == GEOFW_ACT_LOG ? GEOFW_R_PORT_COUNTRY_LOG :
			    GEOFW_R_PORT_COUNTRY_BLOCK;
		return 1;
	}
	if (!pc->only_sets)
		return 0;
	if (cc)
		listed |= cc->only_sets;
	if (pc->net)
		listed |= pc->net->only_sets;
	if (pa)
		listed |= pa->only_sets;
	m = pc->only_sets & (__u16)~listed;
	idx = port_set_index(m ? m : pc->only_sets);
	key = GEOFW_PORT_SET_KEY(pc->slot, idx);
	ps = bpf_map_lookup_elem(&gfw_port_set, &key);
	v->rule_id = ps ? ps->only_rule_id : 0;
	if (!m) {
		v->action = GEOFW_ACT_PASS;
		v->reason = GEOFW_R_PORT_POLICY_PASS;
		return 1;
	}
	v->action = ps ? ps->only_action : GEOFW_ACT_DROP;
	v->reason = v->action == GEOFW_ACT_LOG ? GEOFW_R_PORT_POLICY_LOG :
		    GEOFW_R_PORT_POLICY_BLOCK;
	return 1;
}

static __always_inline void
decide_country(const struct geofw_pkt *pkt, const struct geofw_config *cfg,
	       const struct geofw_port_ctx *pc, const struct geofw_port_net *pa,
	       struct geofw_verdict *v)
{
	struct geofw_country *pol;
	__u32 id;
	__u8 action;

	id = pkt->family == 4 ? geo_country_v4(pkt->saddr, cfg->geo_slot & 1) :
				geo_country_v6(pkt->saddr, cfg->geo_slot & 1);
	v->country_id = (__u8)id;
	v->country_looked_up = 1;

	if (pc->sets && decide_port_country(cfg, pc, id & 0xff, pa, v))
		return;

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

/* The class of the source's AS, or NULL: no ASN table in force, an address
 * of no AS with a rule.  One table lookup (one array access for IPv4), the
 * same cost as the country lookup.  A class may carry no source-only rule
 * (kind NONE: the AS has port-scoped rules only) or an expired one:
 * asn_rule() says whether its rule applies. */
static __always_inline struct geofw_asn_class *asn_lookup(const struct geofw_pkt *pkt,
							  const struct geofw_config *cfg)
{
	__u32 slot = cfg->asn_slot & 1, id;

	if (!cfg->asn_present)
		return NULL;
	id = pkt->family == 4 ? asn_class_v4(pkt->saddr, slot) : asn_class_v6(pkt->saddr, slot);
	if (!id)
		return NULL;
	id = GEOFW_ASN_CLASS_KEY(slot, id);
	return bpf_map_lookup_elem(&gfw_asn_class, &id);
}

static __always_inline struct geofw_asn_class *asn_rule(struct geofw_asn_class *c)
{
	if (!c || c->kind == GEOFW_ASN_NONE ||
	    (c->expires_ns && bpf_ktime_get_boot_ns() >= c->expires_ns))
		return NULL;
	return c;
}

/* The port-scoped rules of the source's AS for the packet's port sets, or
 * NULL; read only when some exist (GEOFW_PORTS_ASN).  An open-addressed
 * array (include/geofw.h): every access is inlined, and a miss usually ends
 * at the first entry (a load of 1/4 at most), against one jhash and bucket
 * walk of the BPF hash it replaces (ABI 8, docs/design-notes.md). */
static __always_inline struct geofw_port_net *port_asn_lookup(const struct geofw_config *cfg,
							      const struct geofw_port_ctx *pc,
							      const struct geofw_asn_class *c)
{
	struct geofw_port_asn *e;
	__u32 h, i, key, asn;

	if (!c || !pc->sets || !(cfg->ports_present & GEOFW_PORTS_ASN))
		return NULL;
	asn = c->asn;
	h = GEOFW_PORT_ASN_HASH(asn);
#pragma unroll
	for (i = 0; i < GEOFW_PORT_ASN_PROBE; i++) {
		key = GEOFW_PORT_ASN_KEY(pc->slot, h + i);
		e = bpf_map_lookup_elem(&gfw_port_asn, &key);
		if (!e || !e->asn)
			return NULL;
		if (e->asn == asn)
			return &e->net;
	}
	return NULL;
}

/*
 * The steps in order.  nolog (a constant at each call): rules with the log
 * action do not match (geofw_decide_nolog); otherwise the first rule that
 * matches decides, a log rule too (geofw_decide then looks past it).
 */
static __always_inline void
decide_rules(const struct geofw_pkt *pkt, const struct geofw_config *cfg,
	     struct geofw_verdict *v, const int nolog)
{
	struct geofw_port_ctx pc = {};
	struct geofw_asn_class *cls, *as;
	struct geofw_port_net *pa;
	struct geofw_allow *allow;
	struct geofw_block *block;
	__u32 m, idx;
	__u8 action;

	allow = allow_lookup(pkt, cfg);
	if (allow) {
		v->action = GEOFW_ACT_PASS;
		v->reason = GEOFW_R_ALLOWLIST;
		v->rule_id = allow->rule_id;
		return;
	}

	if (port_lookup(pkt, cfg, &pc)) {
		v->action = GEOFW_ACT_DROP;
		v->reason = GEOFW_R_PORT_NO_L4;
		return;
	}
	v->port_sets = pc.sets;
	if (pc.net && (m = pc.net->allow_sets & pc.sets)) {
		idx = port_set_index(m);
		v->action = GEOFW_ACT_PASS;
		v->reason = GEOFW_R_PORT_ALLOW;
		v->rule_id = pc.net->rule_id[idx];
		return;
	}

	cls = asn_lookup(pkt, cfg);
	as = asn_rule(cls);
	if (as && as->kind == GEOFW_ASN_ALLOW) {
		v->action = GEOFW_ACT_PASS;
		v->reason = GEOFW_R_ALLOW_ASN;
		v->rule_id = as->rule_id;
		v->asn = as->asn;
		return;
	}

	pa = port_asn_lookup(cfg, &pc, cls);
	if (pa && (m = pa->allow_sets & pc.sets)) {
		idx = port_set_index(m);
		v->action = GEOFW_ACT_PASS;
		v->reason = GEOFW_R_PORT_ALLOW;
		v->rule_id = pa->rule_id[idx];
		v->asn = cls->asn;
		return;
	}

	block = block_lookup_as(pkt, cfg, nolog);
	if (block && !(nolog && block->action == GEOFW_ACT_LOG)) {
		v->action = block->action;
		v->reason = block->action == GEOFW_ACT_LOG ? GEOFW_R_LOG_IP : GEOFW_R_BLOCK_IP;
		v->rule_id = block->rule_id;
		v->src_class = block->src_class;
		return;
	}

	if (pc.net && (m = pc.net->block_sets & pc.sets)) {
		idx = port_set_index(m);
		action = pc.net->action[idx];
		if (!(nolog && action == GEOFW_ACT_LOG)) {
			v->action = action;
			v->reason = action == GEOFW_ACT_LOG ? GEOFW_R_PORT_LOG : GEOFW_R_PORT_BLOCK;
			v->rule_id = pc.net->rule_id[idx];
			return;
		}
	}

	if (as && as->kind == GEOFW_ASN_BLOCK && !(nolog && as->action == GEOFW_ACT_LOG)) {
		v->action = as->action;
		v->reason = as->action == GEOFW_ACT_LOG ? GEOFW_R_LOG_ASN : GEOFW_R_BLOCK_ASN;
		v->rule_id = as->rule_id;
		v->asn = as->asn;
		return;
	}

	if (pa && (m = pa->block_sets & pc.sets)) {
		idx = port_set_index(m);
		action = pa->action[idx];
		if (!(nolog && action == GEOFW_ACT_LOG)) {
			v->action = action;
			v->reason = action == GEOFW_ACT_LOG ? GEOFW_R_PORT_LOG : GEOFW_R_PORT_BLOCK;
			v->rule_id = pa->rule_id[idx];
			v->asn = cls->asn;
			return;
		}
	}

	decide_country(pkt, cfg, &pc, pa, v);
}

/*
 * The decision with the log rules left out, for a packet a log rule
 * matched.  A global function in BPF: verified once, not once more for
 * every state that reaches a log rule (inlined, the four log steps took
 * geofw_xdp past the verifier's 1M instructions); only such packets pay
 * its call.  The packet is copied to this frame (6.1 takes map keys only
 * from the stack, packets and map values).
 */
#ifdef __bpf__
__attribute__((noinline)) int
#else
static int
#endif
geofw_decide_nolog(const struct geofw_pkt *pkt, const struct geofw_config *cfg,
		   struct geofw_verdict *v)
{
	struct geofw_pkt p;

	if (!pkt || !cfg || !v)
		return 0;
	__builtin_memcpy(&p, pkt, sizeof(p));
	__builtin_memset(v, 0, sizeof(*v));
	decide_rules(&p, cfg, v, 1);
	return 0;
}

/*
 * The decision.  A rule with the log action says "would block": counted
 * and passed, but never a way through what a later step blocks.  So when
 * a log rule decided, the decision is made again without the log rules:
 * a block there wins; a pass (or a log of the country policy) leaves the
 * log rule's verdict, with the country the second run looked up.
 */
static __always_inline void
geofw_decide(const struct geofw_pkt *pkt, const struct geofw_config *cfg,
	     struct geofw_verdict *v)
{
	struct geofw_verdict lv;

	decide_rules(pkt, cfg, v, 0);
	if (v->reason != GEOFW_R_LOG_IP && v->reason != GEOFW_R_LOG_ASN &&
	    v->reason != GEOFW_R_PORT_LOG)
		return;
	lv = *v;
	geofw_decide_nolog(pkt, cfg, v);
	if (v->action != GEOFW_ACT_PASS && v->action != GEOFW_ACT_LOG)
		return;
	lv.country_id = v->country_id;
	lv.country_looked_up = v->country_looked_up;
	*v = lv;
}

#endif
