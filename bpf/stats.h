/* SPDX-License-Identifier: GPL-2.0-only */
/* Counter updates: per-CPU maps, so plain increments are exact. */
#ifndef GEOFW_STATS_H
#define GEOFW_STATS_H

#include "geofw.h"

static __always_inline void count_reason(__u32 reason, __u32 action, __u64 bytes)
{
	struct geofw_reason_stats *st;

	st = bpf_map_lookup_elem(&gfw_cnt_reason, &reason);
	if (st) {
		st->packets++;
		st->bytes += bytes;
	}
	st = bpf_map_lookup_elem(&gfw_cnt_action, &action);
	if (st) {
		st->packets++;
		st->bytes += bytes;
	}
}

static __always_inline void count_rule(__u32 rule_id)
{
	struct geofw_rule_stats *st;

	if (!rule_id)
		return;
	st = bpf_map_lookup_elem(&gfw_cnt_rule, &rule_id);
	if (st)
		st->hits++;
}

/* One of blocked, passed, logged by the action taken. */
static __always_inline void count_verdict(__u64 *blocked, __u64 *passed, __u64 *logged,
					  __u8 action)
{
	if (action == GEOFW_ACT_PASS)
		(*passed)++;
	else if (action == GEOFW_ACT_LOG)
		(*logged)++;
	else
		(*blocked)++;
}

static __always_inline void count_country(__u32 country_id, __u8 action)
{
	struct geofw_country_stats *st;

	st = bpf_map_lookup_elem(&gfw_cnt_country, &country_id);
	if (st)
		count_verdict(&st->blocked, &st->passed, &st->logged, action);
}

static __always_inline void count_asn(__u32 asn, __u8 action)
{
	struct geofw_asn_stats *st;

	st = asn ? bpf_map_lookup_elem(&gfw_cnt_asn, &asn) : NULL;
	if (st)
		count_verdict(&st->blocked, &st->passed, &st->logged, action);
}

/* A reject/http403 packet dropped in XDP because its responder is missing. */
static __always_inline void count_resp_missing(void)
{
	struct geofw_resp_stats *st;
	__u32 event = GEOFW_RESP_MISSING;

	st = bpf_map_lookup_elem(&gfw_cnt_resp, &event);
	if (st)
		st->packets++;
}

/*
 * Drop log sample: off unless config.events_rate is set (geofwd sets it only
 * while something reads), then at most events_rate per second per CPU, so a
 * flood costs one per-CPU counter check per packet and nothing more.  A
 * sample within the limit that finds the ring full is counted as lost.
 */
static __always_inline void emit_event(struct xdp_md *ctx, const struct geofw_config *cfg,
				       const struct geofw_pkt *pkt, __u8 reason, __u8 action,
				       __u8 country_id, __u32 rule_id)
{
	struct geofw_event_limit *lim;
	struct geofw_event *ev;
	__u32 zero = 0;
	__u64 now;

	if (!cfg->events_rate)
		return;
	lim = bpf_map_lookup_elem(&gfw_evt_limit, &zero);
	if (!lim)
		return;
	/* The window runs on the coarse clock (a tick's resolution is plenty
	 * for one-second windows, and it is the cheapest clock to read on
	 * every packet of a flood); the sample gets the precise time. */
	now = bpf_ktime_get_coarse_ns();
	if (now - lim->window_ns >= 1000000000ull) {
		lim->window_ns = now;
		lim->sent = 0;
	}
	if (lim->sent >= cfg->events_rate) {
		lim->suppressed++;
		return;
	}
	/* Counted before asking for ring space, so a full ring (nobody
	 * reading fast enough) costs at most events_rate attempts per second,
	 * and a lockless look at the free space spares most of those the
	 * ring's spinlock. */
	lim->sent++;
	if (bpf_ringbuf_query(&gfw_events, BPF_RB_AVAIL_DATA) >
	    GEOFW_EVENTS_BYTES - 2 * sizeof(*ev)) {
		lim->lost++;
		return;
	}
	ev = bpf_ringbuf_reserve(&gfw_events, sizeof(*ev), 0);
	if (!ev) {
		lim->lost++;
		return;
	}
	ev->ts_ns = bpf_ktime_get_boot_ns();
	ev->ifindex = ctx->ingress_ifindex;
	ev->family = pkt->family;
	ev->l4proto = pkt->l4proto;
	ev->reason = reason;
	ev->action = action;
	ev->country_id = country_id;
	ev->pad[0] = ev->pad[1] = ev->pad[2] = 0;
	ev->sport_be = pkt->has_l4 ? pkt->sport_be : 0;
	ev->dport_be = pkt->has_l4 ? pkt->dport_be : 0;
	ev->rule_id = rule_id;
	__builtin_memcpy(ev->saddr, pkt->saddr, 16);
	__builtin_memset(ev->daddr, 0, 16);
	{
		/* Fresh packet pointers: adding XDP metadata moved them.  l3_off
		 * is at most 22 (Ethernet + two tags); the mask bounds it for the
		 * verifier's packet-range tracking. */
		const void *data = (void *)(long)ctx->data;
		const void *data_end = (void *)(long)ctx->data_end;
		const __u8 *ip = (const __u8 *)data + (pkt->l3_off & 0x3f);

		/* The destination is in the header the parser already checked;
		 * re-check bounds for the verifier. */
		if ((const void *)(ip + 20) > data_end) {
			/* cannot happen for a parsed packet */
		} else if ((ip[0] >> 4) == 4) {
			__builtin_memcpy(ev->daddr, ip + 16, 4);
		} else if ((const void *)(ip + 40) <= data_end) {
			/* A source judged as IPv4 (v4-mapped, 6to4, NAT64, …) is
			 * logged as IPv4: the destination too when it carries one,
			 * else it stays unknown (zero). */
			if (pkt->family == 4)
				v6_embedded_v4(ip + 24, ev->daddr);
			else
				__builtin_memcpy(ev->daddr, ip + 24, 16);
		}
	}
	bpf_ringbuf_submit(ev, 0);
}

#endif
