// SPDX-License-Identifier: GPL-2.0-only
/*
 * geofw XDP entry.  The logic lives in the headers next to this file:
 * xdp_main.h (the program), parse.h, decide.h, geo.h, stats.h.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "geofw.h"
#include "../maps/policy.bpf.h"
#include "../maps/geo.bpf.h"
#include "../maps/stats.bpf.h"
#include "xdp_main.h"

char LICENSE[] SEC("license") = "GPL";

/* One instance per protected interface (ingress) with an Ethernet header. */
SEC("xdp")
int geofw_xdp(struct xdp_md *ctx)
{
	return geofw_xdp_run(ctx);
}

/*
 * The same program for devices without a link-layer header (tun, wireguard,
 * ppp, ipip, gre, sit, ip6tnl): geofwd picks it by the device's ARPHRD_*
 * type.  A separate entry, so the Ethernet path pays no test for it.
 */
SEC("xdp")
int geofw_xdp_l3(struct xdp_md *ctx)
{
	return geofw_xdp_run_as(ctx, 1);
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

/*
 * ASN probe, never attached: the AS number whose rule the firewall finds for
 * the frame's source (same parser, same ASN class tables and classes), 0 when
 * no AS rule applies, so `fwctl asn verify` can compare it with
 * libmaxminddb through BPF_PROG_RUN.  0xffffffff for frames the parser
 * refuses.
 */
SEC("xdp")
int geofw_asn_probe(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct geofw_pkt pkt = {};
	struct geofw_asn_class *c;
	struct geofw_config *cfg;
	__u32 zero = 0;

	cfg = bpf_map_lookup_elem(&gfw_config, &zero);
	if (!cfg || geofw_parse(data, data_end, &pkt) != GEOFW_PARSE_IP)
		return (int)0xffffffffu;
	c = asn_lookup(&pkt, cfg);
	return c ? (int)c->asn : 0;
}
