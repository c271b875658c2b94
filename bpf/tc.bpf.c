// SPDX-License-Identifier: GPL-2.0-only
/*
 * geofw TC entry (clsact ingress, same interfaces as XDP): answers the
 * packets the XDP program marked reject/http403 with metadata in front of
 * the frame.  Anything without that mark — everything allowed — returns
 * TC_ACT_OK after one bounds check and one compare.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "geofw.h"
#include "../maps/policy.bpf.h"
#include "../maps/geo.bpf.h"
#include "../maps/stats.bpf.h"
#include "responder.h"

char LICENSE[] SEC("license") = "GPL";

/*
 * Tell XDP the responder is here (gfw_resp_watch): it stops handing packets
 * over, and drops them itself, once a hand-off goes unacknowledged.
 */
static __always_inline void ack_handoff(struct __sk_buff *skb)
{
	__u32 ifindex = skb->ingress_ifindex;
	struct geofw_resp_watch *w = bpf_map_lookup_elem(&gfw_resp_watch, &ifindex);
	__u64 now;

	if (!w)
		return;
	/* Only a pending hand-off needs an answer: one write per hand-off
	 * cycle, at most one per tick of the coarse clock. */
	now = bpf_ktime_get_coarse_ns();
	if (w->handoff_ns >= w->ack_ns && w->ack_ns != now)
		w->ack_ns = now;
}

SEC("tc")
int geofw_tc(struct __sk_buff *skb)
{
	struct geofw_xdp_meta *meta = (void *)(long)skb->data_meta;
	void *data = (void *)(long)skb->data;

	if ((void *)(meta + 1) > data || meta->magic != GEOFW_META_MAGIC)
		return TC_ACT_OK;
	{
	struct geofw_xdp_meta m = *meta;	/* the responder pulls data: pointers go stale */

	ack_handoff(skb);
	return geofw_responder_run(skb, &m);
	}
}
