/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The XDP program's body: parse, decide, count, act.  An inline function so
 * the benchmark programs run exactly this code (bench/bpf/).
 */
#ifndef GEOFW_XDP_MAIN_H
#define GEOFW_XDP_MAIN_H

#include "parse.h"
#include "stats.h"
#include "decide.h"
#include "ratelimit.h"

/*
 * Is the TC responder behind this interface alive (gfw_resp_watch)?  Called
 * only for packets about to be handed over, so the allowed path pays
 * nothing.  The record is shared by all CPUs (a marked packet and its
 * acknowledgement may run on different CPUs, with RPS), but written rarely:
 * XDP writes handoff_ns once per acknowledgement, TC writes ack_ns once per
 * pending hand-off, each at most once per tick of the coarse clock.
 */
static __always_inline int responder_alive(struct xdp_md *ctx)
{
	__u32 ifindex = ctx->ingress_ifindex;
	struct geofw_resp_watch *w = bpf_map_lookup_elem(&gfw_resp_watch, &ifindex);
	__u64 now, first;

	if (!w)
		return 0;
	now = bpf_ktime_get_coarse_ns();
	first = w->handoff_ns;
	if (!first || w->ack_ns >= first) {
		/* Acknowledged since: a new wait starts (one write per tick). */
		if (first != now)
			w->handoff_ns = now;
		return 1;
	}
	return now - first <= GEOFW_RESP_WATCH_BOUND_NS;
}

/*
 * The frame's length: these programs are not frags-aware ("xdp", not
 * "xdp.frags"), so the kernel never hands them a multi-buffer frame and the
 * length is data_end - data, what bpf_xdp_get_buff_len() answers after a
 * helper call that cost 7-10 ns a packet (docs/design-notes.md "Per-packet
 * cost").  Read from the context where it is counted (bpf_xdp_adjust_meta
 * moves data_meta, not data), so no packet pointer stays live across the
 * decision for the verifier to carry.
 */
static __always_inline __u64 frame_len(const struct xdp_md *ctx)
{
	return (__u64)ctx->data_end - (__u64)ctx->data;
}

/* A source in a configured NAT64 prefix is judged as its IPv4 address. */
static __always_inline void apply_nat64(struct geofw_pkt *pkt)
{
	struct geofw_nat64 *t;
	__u32 zero = 0;
	__u8 v4[4];

	t = bpf_map_lookup_elem(&gfw_nat64, &zero);
	if (!t || !t->count || !v6_nat64_v4(pkt->saddr, t, v4))
		return;
	pkt->family = 4;
	__builtin_memset(pkt->saddr, 0, 16);
	__builtin_memcpy(pkt->saddr, v4, 4);
}

/*
 * Hand reject/http403 to the TC responder through XDP metadata: the verdict,
 * and what the 403 page names — the country (looked up here for an IP or AS
 * rule's http403, which decided before the country step: only blocked
 * packets pay it), the rule id and the AS number.
 */
static __always_inline int mark_for_responder(struct xdp_md *ctx, const struct geofw_verdict *v,
					      const struct geofw_pkt *pkt,
					      const struct geofw_config *cfg)
{
	struct geofw_xdp_meta *meta;
	__u8 country = v->country_id;
	void *data;

	if (!v->country_looked_up && v->action == GEOFW_ACT_HTTP403)
		country = pkt->family == 4 ? geo_country_v4(pkt->saddr, cfg->geo_slot & 1) :
					     geo_country_v6(pkt->saddr, cfg->geo_slot & 1);

	if (bpf_xdp_adjust_meta(ctx, -(int)sizeof(*meta)))
		return -1;
	meta = (void *)(long)ctx->data_meta;
	data = (void *)(long)ctx->data;
	if ((void *)(meta + 1) > data)
		return -1;
	meta->magic = GEOFW_META_MAGIC;
	meta->action = v->action;
	meta->reason = v->reason;
	meta->country_id = country;
	meta->flags = (v->country_looked_up || v->action == GEOFW_ACT_HTTP403 ?
		       GEOFW_META_COUNTRY : 0) |
		      ((v->src_class << GEOFW_META_CLASS_SHIFT) & GEOFW_META_CLASS_MASK);
	meta->rule_id = v->rule_id;
	meta->asn = v->asn;
	return 0;
}

/*
 * l3 (a constant at each call): the device has no Ethernet header, packets
 * start at the IP header.  Such devices get no TC responder (its replies are
 * built as Ethernet frames), so reject/http403 are enforced as drop there.
 */
static __always_inline int geofw_xdp_run_as(struct xdp_md *ctx, const int l3)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct geofw_verdict v = {};
	struct geofw_pkt pkt = {};
	struct geofw_config *cfg;
	__u32 zero = 0;
	__u8 action;
	int ret;

	cfg = bpf_map_lookup_elem(&gfw_config, &zero);
	if (!cfg)
		return XDP_ABORTED;

	switch (l3 ? geofw_parse_l3(data, data_end, &pkt) : geofw_parse(data, data_end, &pkt)) {
	case GEOFW_PARSE_NON_IP:
		count_reason(GEOFW_R_NON_IP, GEOFW_ACT_PASS, frame_len(ctx));
		return XDP_PASS;
	case GEOFW_PARSE_MALFORMED: {
		__u32 cls = pkt.malformed & (GEOFW_MF_MAX - 1);

		action = cfg->malformed_action[cls] == GEOFW_ACT_PASS ?
			 GEOFW_ACT_PASS : GEOFW_ACT_DROP;
		count_reason(GEOFW_R_RUNT + cls, action, frame_len(ctx));
		return action == GEOFW_ACT_PASS ? XDP_PASS : XDP_DROP;
	}
	default:
		break;
	}

	if (geofw_is_nd(&pkt)) {
		count_reason(GEOFW_R_ICMP6_ND, GEOFW_ACT_PASS, frame_len(ctx));
		return XDP_PASS;
	}

	if (pkt.family == 6)
		apply_nat64(&pkt);
	geofw_decide(&pkt, cfg, &v);
	if (geofw_rate_limit(&pkt, cfg, &v, frame_len(ctx))) {
		v.action = GEOFW_ACT_DROP;
		v.reason = GEOFW_R_RATELIMIT;
		v.rule_id = 0;
		v.asn = 0;
		v.src_class = 0;
	}
	action = v.action;

	switch (action) {
	case GEOFW_ACT_PASS:
	case GEOFW_ACT_LOG:
		ret = XDP_PASS;
		break;
	case GEOFW_ACT_REJECT:
	case GEOFW_ACT_HTTP403:
		/* Only TCP can be answered; without a live responder, fail closed. */
		if (!l3 && cfg->responder_enabled && pkt.l4proto == GEOFW_IPPROTO_TCP &&
		    pkt.has_l4) {
			if (!responder_alive(ctx)) {
				count_resp_missing();
			} else if (!mark_for_responder(ctx, &v, &pkt, cfg)) {
				ret = XDP_PASS;
				break;
			}
		}
		action = GEOFW_ACT_DROP;
		ret = XDP_DROP;
		break;
	default:
		action = GEOFW_ACT_DROP;
		ret = XDP_DROP;
		break;
	}

	count_reason(v.reason, action, frame_len(ctx));
	count_rule(v.rule_id);
	count_asn(v.asn, action);
	if (v.country_looked_up)
		count_country(v.country_id, action);
	if (v.action != GEOFW_ACT_PASS)
		emit_event(ctx, cfg, &pkt, v.reason, action, v.country_id, v.rule_id);
	return ret;
}

static __always_inline int geofw_xdp_run(struct xdp_md *ctx)
{
	return geofw_xdp_run_as(ctx, 0);
}

#endif
