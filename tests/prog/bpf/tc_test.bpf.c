// SPDX-License-Identifier: GPL-2.0-only
/*
 * Test-only TC entry: BPF_PROG_RUN can set skb->cb through ctx_in but not XDP
 * metadata, so the verdict comes in cb[0] (action), cb[1] (reason | country
 * id << 8 | flags << 16), cb[2] (rule id) and cb[3] (AS number) instead.
 * The responder code is the production one.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "geofw.h"
#include "maps/policy.bpf.h"
#include "maps/geo.bpf.h"
#include "maps/stats.bpf.h"
#include "responder.h"

char LICENSE[] SEC("license") = "GPL";

SEC("tc")
int geofw_tc_test(struct __sk_buff *skb)
{
	struct geofw_xdp_meta meta = {
		.magic = GEOFW_META_MAGIC,
		.action = (__u8)skb->cb[0],
		.reason = (__u8)skb->cb[1],
		.country_id = (__u8)(skb->cb[1] >> 8),
		.flags = (__u8)(skb->cb[1] >> 16),
		.rule_id = skb->cb[2],
		.asn = skb->cb[3],
	};

	/* Action pass (cb all zero) stands for "no metadata". */
	if (meta.action == GEOFW_ACT_PASS)
		return TC_ACT_OK;
	return geofw_responder_run(skb, &meta);
}
