// SPDX-License-Identifier: GPL-2.0-only
/*
 * geofw XDP entry: parse, decide, count, act.  One instance per protected
 * interface (ingress).  The logic lives in the headers next to this file.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "geofw.h"
#include "../maps/policy.bpf.h"
#include "../maps/geo.bpf.h"
#include "../maps/stats.bpf.h"
#include "parse.h"
#include "stats.h"
#include "decide.h"

char LICENSE[] SEC("license") = "GPL";

/* Hand reject/http403 to the TC responder through XDP metadata. */
static __always_inline int mark_for_responder(struct xdp_md *ctx, const struct geofw_verdict *v)
{
	struct geofw_xdp_meta *meta;
	void *data;

	if (bpf_xdp_adjust_meta(ctx, -(int)sizeof(*meta)))
		return -1;
	meta = (void *)(long)ctx->data_meta;
	data = (void *)(long)ctx->data;
	if ((void *)(meta + 1) > data)
		return -1;
	meta->magic = GEOFW_META_MAGIC;
	meta->action = v->action;
	meta->reason = v->reason;
	meta->country_id = v->country_id;
	meta->pad = 0;
	return 0;
}

SEC("xdp")
int geofw_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct geofw_verdict v = {};
	struct geofw_pkt pkt = {};
	struct geofw_config *cfg;
	__u64 bytes = bpf_xdp_get_buff_len(ctx);
	__u32 zero = 0;
	__u8 action;
	int ret;

	cfg = bpf_map_lookup_elem(&gfw_config, &zero);
	if (!cfg)
		return XDP_ABORTED;

	switch (geofw_parse(data, data_end, &pkt)) {
	case GEOFW_PARSE_NON_IP:
		count_reason(GEOFW_R_NON_IP, GEOFW_ACT_PASS, bytes);
		return XDP_PASS;
	case GEOFW_PARSE_MALFORMED: {
		__u32 cls = pkt.malformed & (GEOFW_MF_MAX - 1);

		action = cfg->malformed_action[cls] == GEOFW_ACT_PASS ?
			 GEOFW_ACT_PASS : GEOFW_ACT_DROP;
		count_reason(GEOFW_R_RUNT + cls, action, bytes);
		return action == GEOFW_ACT_PASS ? XDP_PASS : XDP_DROP;
	}
	default:
		break;
	}

	if (geofw_is_nd(&pkt)) {
		count_reason(GEOFW_R_ICMP6_ND, GEOFW_ACT_PASS, bytes);
		return XDP_PASS;
	}

	geofw_decide(&pkt, cfg, &v);
	action = v.action;

	switch (action) {
	case GEOFW_ACT_PASS:
	case GEOFW_ACT_LOG:
		ret = XDP_PASS;
		break;
	case GEOFW_ACT_REJECT:
	case GEOFW_ACT_HTTP403:
		/* Only TCP can be answered; without a responder, fail closed. */
		if (cfg->responder_enabled && pkt.l4proto == GEOFW_IPPROTO_TCP &&
		    pkt.has_l4 && !mark_for_responder(ctx, &v)) {
			ret = XDP_PASS;
			break;
		}
		action = GEOFW_ACT_DROP;
		ret = XDP_DROP;
		break;
	default:
		action = GEOFW_ACT_DROP;
		ret = XDP_DROP;
		break;
	}

	count_reason(v.reason, action, bytes);
	count_rule(v.rule_id);
	if (v.country_looked_up)
		count_country(v.country_id, action);
	return ret;
}

/*
 * Geo probe, never attached: returns the country id the firewall computes
 * for the frame's source (same parser, same lookup, same tables), so
 * `fwctl geo verify` can compare it with libmaxminddb through BPF_PROG_RUN.
 * 0 = no country, 256 + reason for frames the parser refuses.
 */
SEC("xdp")
int geofw_geo_probe(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct geofw_pkt pkt = {};
	struct geofw_config *cfg;
	__u32 zero = 0;

	cfg = bpf_map_lookup_elem(&gfw_config, &zero);
	if (!cfg)
		return 256 + GEOFW_R_MAX;
	if (geofw_parse(data, data_end, &pkt) != GEOFW_PARSE_IP)
		return 256 + GEOFW_R_NON_IP;
	return pkt.family == 4 ? geo_country_v4(pkt.saddr, cfg->geo_slot & 1) :
				 geo_country_v6(pkt.saddr, cfg->geo_slot & 1);
}
