// SPDX-License-Identifier: GPL-2.0-only
#include "canary.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <errno.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <string.h>

#include "explain.h"

#define FRAME_MAX	128
#define N_FIXED		(sizeof(fixed_src) / sizeof(fixed_src[0]))
#define UDP_DPORT	53	/* not an HTTP port: no rule hands UDP to TC anyway */

struct frame {
	char what[96];
	__u8 data[FRAME_MAX];
	__u32 len;
	__u32 expect;		/* XDP_PASS or XDP_DROP */
};

/* Fixed sources, judged whatever rules are in force. */
static const struct {
	int family;
	const char *addr;
} fixed_src[] = {
	{ 4, "198.51.100.77" },
	{ 6, "2001:db8:ca7:1::77" },
};

void geofw_canary_add(struct geofw_canary *c, const struct geofw_cidr *prefix)
{
	if (c->n_src < GEOFW_CANARY_MAX_SOURCES)
		c->src[c->n_src++] = *prefix;
}

static __u16 ip4_csum(const __u8 *h)
{
	__u32 sum = 0;
	int i;

	for (i = 0; i < 20; i += 2)
		sum += (__u32)h[i] << 8 | h[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

/* Ethernet (unless l3) + IPv4/IPv6 + UDP with 8 bytes of payload. */
static __u32 udp_frame(__u8 *f, bool l3, int family, const __u8 *src)
{
	static const __u8 dst6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
	__u32 l2 = l3 ? 0 : 14, ip = family == 4 ? 20 : 40;
	__u8 *h = f + l2, *udp = h + ip;
	__u16 udp_len = 8 + 8;

	memset(f, 0, FRAME_MAX);
	if (!l3) {
		memcpy(f, "\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02", 12);
		f[12] = family == 4 ? 0x08 : 0x86;
		f[13] = family == 4 ? 0x00 : 0xdd;
	}
	if (family == 4) {
		h[0] = 0x45;
		h[2] = (__u8)((20 + udp_len) >> 8);
		h[3] = (__u8)(20 + udp_len);
		h[8] = 64;
		h[9] = 17;
		memcpy(h + 12, src, 4);
		memcpy(h + 16, "\xc0\x00\x02\x01", 4);	/* 192.0.2.1 */
		h[10] = 0;
		h[11] = 0;
		{
			__u16 c = ip4_csum(h);

			h[10] = (__u8)(c >> 8);
			h[11] = (__u8)c;
		}
	} else {
		h[0] = 0x60;
		h[4] = (__u8)(udp_len >> 8);
		h[5] = (__u8)udp_len;
		h[6] = 17;
		h[7] = 64;
		memcpy(h + 8, src, 16);
		memcpy(h + 24, dst6, 16);
	}
	udp[0] = 0x9c;				/* source port 40000 */
	udp[1] = 0x40;
	udp[3] = UDP_DPORT;
	udp[4] = (__u8)(udp_len >> 8);
	udp[5] = (__u8)udp_len;			/* checksum 0: XDP does not check it */
	return l2 + ip + udp_len;
}

static __u32 verdict_of(__u8 action)
{
	/* UDP: reject and http403 are drops (xdp_main.h). */
	return action == GEOFW_ACT_PASS || action == GEOFW_ACT_LOG ? XDP_PASS : XDP_DROP;
}

static const char *xdp_name(__u32 v)
{
	switch (v) {
	case XDP_ABORTED: return "XDP_ABORTED";
	case XDP_DROP: return "XDP_DROP";
	case XDP_PASS: return "XDP_PASS";
	case XDP_TX: return "XDP_TX";
	case XDP_REDIRECT: return "XDP_REDIRECT";
	}
	return "an unknown verdict";
}

static int source_frame(const struct geofw_maps *m, bool l3, int family, const __u8 *addr,
			struct frame *fr)
{
	struct geofw_explain e;
	char text[INET6_ADDRSTRLEN];
	int err;

	err = geofw_explain(m, family, addr, &e);
	if (err)
		return err;
	inet_ntop(family == 4 ? AF_INET : AF_INET6, addr, text, sizeof(text));
	snprintf(fr->what, sizeof(fr->what), "%s from %s (udp)",
		 e.allow_match ? "allowed" : e.block_match ? "blocked" : "other", text);
	fr->len = udp_frame(fr->data, l3, family, addr);
	fr->expect = verdict_of(e.action);
	return 0;
}

static int run(int prog_fd, const struct frame *fr, __u32 *verdict)
{
	__u8 out[FRAME_MAX + 64];
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = fr->data, .data_size_in = fr->len,
		    .data_out = out, .data_size_out = sizeof(out), .repeat = 1);

	if (bpf_prog_test_run_opts(prog_fd, &opts))
		return -errno;
	*verdict = opts.retval;
	return 0;
}

int geofw_canary_check(const struct geofw_canary *c, const struct geofw_maps *m, int prog_fd,
		       bool l3, size_t *frames, char *err, size_t errlen)
{
	struct geofw_config cfg;
	struct frame fr;
	size_t i, n = 0;
	__u32 got = 0;
	int ret;

	if (frames)
		*frames = 0;
	if ((ret = geofw_config_read(m, &cfg))) {
		snprintf(err, errlen, "canary: cannot read gfw_config: %s", strerror(-ret));
		return ret;
	}
	for (i = 0; i < N_FIXED + c->n_src + 2; i++) {
		memset(&fr, 0, sizeof(fr));
		if (i < N_FIXED) {
			__u8 a[16];

			inet_pton(fixed_src[i].family == 4 ? AF_INET : AF_INET6, fixed_src[i].addr, a);
			ret = source_frame(m, l3, fixed_src[i].family, a, &fr);
		} else if (i < N_FIXED + c->n_src) {
			const struct geofw_cidr *p = &c->src[i - N_FIXED];

			ret = source_frame(m, l3, p->family, p->addr, &fr);
		} else if (i == N_FIXED + c->n_src) {
			/* Malformed: an IPv4 header cut after 16 bytes (BPF_PROG_RUN
			 * wants 14 bytes at least, even on the L3 entry). */
			__u32 l2 = l3 ? 0 : 14;

			fr.len = udp_frame(fr.data, l3, 4, (const __u8 *)"\xc6\x33\x64\x4d");
			fr.len = l2 + 16;
			fr.expect = cfg.malformed_action[GEOFW_MF_IPV4_TRUNC] == GEOFW_ACT_PASS ?
				    XDP_PASS : XDP_DROP;
			snprintf(fr.what, sizeof(fr.what), "truncated IPv4 header");
			ret = 0;
		} else {
			if (l3)
				continue;	/* every L3 frame is IP */
			/* Non-IP: an ARP request passes to the stack. */
			memcpy(fr.data, "\xff\xff\xff\xff\xff\xff\x02\x00\x00\x00\x00\x02\x08\x06"
					"\x00\x01\x08\x00\x06\x04\x00\x01", 22);
			fr.len = 14 + 28;
			fr.expect = XDP_PASS;
			snprintf(fr.what, sizeof(fr.what), "ARP request");
			ret = 0;
		}
		if (ret) {
			snprintf(err, errlen, "canary: cannot judge a frame on the host: %s",
				 strerror(-ret));
			return ret;
		}
		if ((ret = run(prog_fd, &fr, &got))) {
			snprintf(err, errlen, "canary '%s': BPF_PROG_RUN failed: %s", fr.what,
				 strerror(-ret));
			return ret;
		}
		n++;
		if (frames)
			*frames = n;
		if (got != fr.expect) {
			snprintf(err, errlen, "canary '%s': %s, expected %s", fr.what,
				 xdp_name(got), xdp_name(fr.expect));
			return -EPROTO;
		}
	}
	return 0;
}
