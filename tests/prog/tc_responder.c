// SPDX-License-Identifier: GPL-2.0-only
/*
 * The TC responder through BPF_PROG_RUN.
 *
 * The test object (tests/prog/bpf/tc_test.bpf.c) runs the production
 * responder code with the verdict taken from skb->cb, so each row is: a TCP
 * segment as a client would send it, the action XDP decided, and the reply
 * that must come out — every byte of it parsed and checked here, checksums
 * recomputed independently (tests/lib/pkt.c), SYN cookies recomputed with
 * this file's own SipHash.  Conversations (handshake, request, pulling a
 * response in small segments, closing) are driven step by step from the
 * replies, as a client stack would.
 */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pkt.h"
#include "countries.h"
#include "refcode.h"
#include "respbuild.h"
#include "responder.h"
#include "test.h"
#include "tc.skel.h"
#include "tc_test.skel.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

#define F_FIN	0x01
#define F_SYN	0x02
#define F_RST	0x04
#define F_PSH	0x08
#define F_ACK	0x10

#define ISN	0x11223344u
#define REQUEST	"GET / HTTP/1.1\r\nHost: www.example.test\r\nAccept: */*\r\n\r\n"

/* The cookie layout of bpf/cookie.h, restated: the test must not trust it. */
#define SLOT_NS_SHIFT	36
#define OFF_MASK	0x7ffu

static const __u64 key1[2] = { 0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL };
static const __u64 key2[2] = { 0x243f6a8885a308d3ULL, 0x13198a2e03707344ULL };

/* ---- reference SipHash-2-4, byte oriented, straight from the paper --------- */

static __u64 rotl64(__u64 x, int b)
{
	return (x << b) | (x >> (64 - b));
}

static __u64 le64(const __u8 *p)
{
	__u64 v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

#define SIPROUND do {							\
	v0 += v1; v1 = rotl64(v1, 13); v1 ^= v0; v0 = rotl64(v0, 32);	\
	v2 += v3; v3 = rotl64(v3, 16); v3 ^= v2;			\
	v0 += v3; v3 = rotl64(v3, 21); v3 ^= v0;			\
	v2 += v1; v1 = rotl64(v1, 17); v1 ^= v2; v2 = rotl64(v2, 32);	\
} while (0)

static __u64 ref_siphash(const __u8 key[16], const __u8 *m, size_t len)
{
	__u64 k0 = le64(key), k1 = le64(key + 8);
	__u64 v0 = k0 ^ 0x736f6d6570736575ULL, v1 = k1 ^ 0x646f72616e646f6dULL;
	__u64 v2 = k0 ^ 0x6c7967656e657261ULL, v3 = k1 ^ 0x7465646279746573ULL;
	__u8 last[8] = {};
	size_t i;
	__u64 b;

	for (i = 0; i + 8 <= len; i += 8) {
		b = le64(m + i);
		v3 ^= b;
		SIPROUND;
		SIPROUND;
		v0 ^= b;
	}
	memcpy(last, m + i, len - i);
	last[7] = (__u8)len;
	b = le64(last);
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

static void key_bytes(const __u64 key[2], __u8 out[16])
{
	int i;

	for (i = 0; i < 8; i++) {
		out[i] = (__u8)(key[0] >> (8 * i));
		out[8 + i] = (__u8)(key[1] >> (8 * i));
	}
}

/* ---- segments a client sends ------------------------------------------------ */

enum { OPT_MSS = 0, OPT_LINUX = 1 };

struct seg {
	const char *src;	/* family from its form */
	const char *dst;	/* default 192.0.2.1 / 2001:db8::1 */
	__u16 vlan[2];		/* TPIDs, outermost first; 0 ends */
	__u16 sport, dport;	/* default 40000 → 80 */
	__u32 seq, ack;
	__u8 flags;
	__u16 mss;		/* MSS option when nonzero */
	__u8 opt_style;		/* OPT_LINUX: MSS among timestamps, SACK, wscale */
	__u16 window;		/* default 64240 */
	bool zero_window;
	const char *data;	/* payload text */
	size_t data_len;	/* 0: strlen(data) */
	__u8 ip_opts;		/* IPv4 options bytes (multiple of 4) */
	bool v6_hbh;		/* IPv6 hop-by-hop header before TCP */
};

struct flow {			/* the client → server tuple, as the cookie sees it */
	__u8 saddr[16], daddr[16];
	__u16 sport, dport;	/* host order */
	int family;		/* of the packet: 6 for v4-mapped too */
};

static void put16(__u8 *p, __u16 v)
{
	p[0] = (__u8)(v >> 8);
	p[1] = (__u8)v;
}

static void put32(__u8 *p, __u32 v)
{
	put16(p, (__u16)(v >> 16));
	put16(p + 2, (__u16)v);
}

static __u16 get16(const __u8 *p)
{
	return (__u16)(p[0] << 8 | p[1]);
}

static __u32 get32(const __u8 *p)
{
	return (__u32)get16(p) << 16 | get16(p + 2);
}

static bool seg_flow(const struct seg *s, struct flow *f)
{
	memset(f, 0, sizeof(*f));
	f->sport = s->sport ? s->sport : 40000;
	f->dport = s->dport ? s->dport : 80;
	if (strchr(s->src, ':')) {
		f->family = 6;
		return inet_pton(AF_INET6, s->src, f->saddr) == 1 &&
		       inet_pton(AF_INET6, s->dst ? s->dst : "2001:db8::1", f->daddr) == 1;
	}
	f->family = 4;
	return inet_pton(AF_INET, s->src, f->saddr) == 1 &&
	       inet_pton(AF_INET, s->dst ? s->dst : "192.0.2.1", f->daddr) == 1;
}

static size_t seg_data_len(const struct seg *s)
{
	return s->data_len ? s->data_len : s->data ? strlen(s->data) : 0;
}

/* Build the frame; returns its length (padded to 60 like a real one). */
static size_t seg_build(const struct seg *s, __u8 *buf, size_t cap)
{
	static const __u8 dmac[6] = { 0x02, 0, 0, 0, 0, 0x01 };
	static const __u8 smac[6] = { 0x02, 0, 0, 0, 0, 0x02 };
	size_t off = 12, iplen, optlen = 0, tcplen, dlen = seg_data_len(s), len;
	__u8 opts[40] = {}, *ip, *tcp;
	struct flow f;
	__u32 pseudo;
	int i;

	if (!seg_flow(s, &f) || cap < 1600)
		return 0;
	memset(buf, 0, cap);
	memcpy(buf, dmac, 6);
	memcpy(buf + 6, smac, 6);
	for (i = 0; i < 2 && s->vlan[i]; i++) {
		put16(buf + off, s->vlan[i]);
		put16(buf + off + 2, (__u16)(100 + i));
		off += 4;
	}
	put16(buf + off, f.family == 6 ? 0x86DD : 0x0800);
	off += 2;
	ip = buf + off;

	if (s->mss && s->opt_style == OPT_LINUX) {
		/* NOP NOP TS(10) MSS(4) SACK_PERM(2) WS(3) NOP, padded: 24 bytes. */
		static const __u8 tmpl[24] = { 1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0,
					       2, 4, 0, 0, 4, 2, 3, 3, 7, 1, 0, 0 };

		memcpy(opts, tmpl, sizeof(tmpl));
		put16(opts + 14, s->mss);
		optlen = sizeof(tmpl);
	} else if (s->mss) {
		opts[0] = 2;
		opts[1] = 4;
		put16(opts + 2, s->mss);
		optlen = 4;
	}
	tcplen = 20 + optlen;

	if (f.family == 6) {
		size_t ext = s->v6_hbh ? 8 : 0;

		iplen = 40 + ext;
		ip[0] = 0x60;
		put16(ip + 4, (__u16)(ext + tcplen + dlen));
		ip[6] = s->v6_hbh ? 0 : IPPROTO_TCP;
		ip[7] = 64;
		memcpy(ip + 8, f.saddr, 16);
		memcpy(ip + 24, f.daddr, 16);
		if (s->v6_hbh) {
			ip[40] = IPPROTO_TCP;
			ip[42] = 1;		/* PadN, 4 bytes */
			ip[43] = 4;
		}
		pseudo = pkt_csum_add(ip + 8, 32, 0);
	} else {
		iplen = 20 + s->ip_opts;
		ip[0] = (__u8)(0x40 | iplen / 4);
		put16(ip + 2, (__u16)(iplen + tcplen + dlen));
		put16(ip + 4, 0x1234);
		put16(ip + 6, 0x4000);
		ip[8] = 64;
		ip[9] = IPPROTO_TCP;
		memcpy(ip + 12, f.saddr, 4);
		memcpy(ip + 16, f.daddr, 4);
		for (i = 0; i < s->ip_opts; i++)
			ip[20 + i] = i + 1 == s->ip_opts ? 0 : 1;
		put16(ip + 10, pkt_csum(ip, iplen, 0));
		pseudo = pkt_csum_add(ip + 12, 8, 0);
	}

	tcp = ip + iplen;
	put16(tcp, f.sport);
	put16(tcp + 2, f.dport);
	put32(tcp + 4, s->seq);
	put32(tcp + 8, s->ack);
	tcp[12] = (__u8)(tcplen / 4 << 4);
	tcp[13] = s->flags;
	put16(tcp + 14, s->zero_window ? 0 : s->window ? s->window : 64240);
	memcpy(tcp + 20, opts, optlen);
	if (dlen)
		memcpy(tcp + tcplen, s->data, dlen);
	put16(tcp + 16, pkt_csum(tcp, tcplen + dlen,
				 pseudo + IPPROTO_TCP + (__u32)(tcplen + dlen)));
	len = off + iplen + tcplen + dlen;
	return len < 60 ? 60 : len;
}

/* ---- replies, parsed independently ----------------------------------------- */

struct view {
	const __u8 *frame;
	int vlan_depth;
	int family;
	size_t l3, l4, tcplen, len;
	const __u8 *ip, *tcp, *data;
	size_t data_len;
	__u8 saddr[16], daddr[16];
	__u16 sport, dport, window, mss;
	__u32 seq, ack;
	__u8 flags, ttl;
};

/* Parse a reply frame and check what every reply must satisfy: exact length,
 * plain IP header, TTL 64, valid IPv4 and TCP checksums. */
static bool view_parse(const __u8 *f, size_t len, struct view *v)
{
	__u16 proto;
	size_t off = 12, tcp_total;
	__u32 pseudo;
	bool ok = true;

	memset(v, 0, sizeof(*v));
	v->frame = f;
	v->len = len;
	if (!ASSERT_TRUE(len >= 54, "reply has headers"))
		return false;
	proto = get16(f + off);
	while ((proto == 0x8100 || proto == 0x88A8) && v->vlan_depth < 2) {
		off += 4;
		v->vlan_depth++;
		proto = get16(f + off);
	}
	off += 2;
	v->l3 = off;
	v->ip = f + off;
	if (proto == 0x0800) {
		v->family = 4;
		ok &= ASSERT_EQ(v->ip[0], 0x45, "plain IPv4 header");
		ok &= ASSERT_EQ(v->ip[9], IPPROTO_TCP, "IPv4 protocol");
		ok &= ASSERT_EQ(get16(v->ip + 2) + off, len, "IPv4 total length");
		ok &= ASSERT_EQ(pkt_csum(v->ip, 20, 0), 0, "IPv4 header checksum");
		v->ttl = v->ip[8];
		memcpy(v->saddr, v->ip + 12, 4);
		memcpy(v->daddr, v->ip + 16, 4);
		v->l4 = off + 20;
		pseudo = pkt_csum_add(v->ip + 12, 8, 0);
	} else if (proto == 0x86DD) {
		v->family = 6;
		ok &= ASSERT_EQ(v->ip[0] >> 4, 6, "IPv6 version");
		ok &= ASSERT_EQ(v->ip[6], IPPROTO_TCP, "no extension headers");
		ok &= ASSERT_EQ(get16(v->ip + 4) + off + 40, len, "IPv6 payload length");
		v->ttl = v->ip[7];
		memcpy(v->saddr, v->ip + 8, 16);
		memcpy(v->daddr, v->ip + 24, 16);
		v->l4 = off + 40;
		pseudo = pkt_csum_add(v->ip + 8, 32, 0);
	} else {
		test__fail(__FILE__, __LINE__, "reply ethertype 0x%04x", proto);
		return false;
	}
	ok &= ASSERT_EQ(v->ttl, 64, "TTL / hop limit");
	if (!ok || !ASSERT_TRUE(len >= v->l4 + 20, "TCP header present"))
		return false;

	v->tcp = f + v->l4;
	v->tcplen = (size_t)(v->tcp[12] >> 4) * 4;
	if (!ASSERT_TRUE(v->tcplen >= 20 && v->l4 + v->tcplen <= len, "TCP data offset"))
		return false;
	tcp_total = len - v->l4;
	v->sport = get16(v->tcp);
	v->dport = get16(v->tcp + 2);
	v->seq = get32(v->tcp + 4);
	v->ack = get32(v->tcp + 8);
	v->flags = v->tcp[13];
	v->window = get16(v->tcp + 14);
	v->data = v->tcp + v->tcplen;
	v->data_len = tcp_total - v->tcplen;
	if (v->tcplen >= 24 && v->tcp[20] == 2 && v->tcp[21] == 4)
		v->mss = get16(v->tcp + 22);
	ok &= ASSERT_EQ(pkt_csum(v->tcp, tcp_total, pseudo + IPPROTO_TCP + (__u32)tcp_total), 0,
			"TCP checksum");
	return ok;
}

/* The reply goes back where the segment came from: L2 and L3 swapped, the
 * VLAN tags kept. */
static void check_addressing(const struct view *v, const __u8 *in, const struct seg *s)
{
	struct flow f;
	size_t alen;

	seg_flow(s, &f);
	alen = f.family == 6 ? 16 : 4;
	ASSERT_EQ(v->family, f.family, "reply family");
	ASSERT_MEMEQ(v->frame, in + 6, 6, "destination MAC = client's");
	ASSERT_MEMEQ(v->frame + 6, in, 6, "source MAC = ours");
	ASSERT_EQ(v->l3, 14 + 4 * (size_t)v->vlan_depth, "L3 offset");
	ASSERT_MEMEQ(v->frame + 12, in + 12, v->l3 - 12, "VLAN tags and ethertype kept");
	ASSERT_MEMEQ(v->saddr, f.daddr, alen, "source address = server");
	ASSERT_MEMEQ(v->daddr, f.saddr, alen, "destination address = client");
	ASSERT_EQ(v->sport, f.dport, "source port");
	ASSERT_EQ(v->dport, f.sport, "destination port");
}

/* ---- the test object --------------------------------------------------------- */

static struct geofw_tc_test *skel;
static __u8 response[GEOFW_HTTP403_MAX];
static size_t response_len;

static const char test_body[] =
	"<!DOCTYPE html>\n<html><head><title>403 Forbidden</title></head>\n"
	"<body><h1>403 Forbidden</h1><p>Access from your network is blocked by "
	"this site's firewall. (test page, odd length)</p></body></html>\n";

static const __u16 test_ports[] = { 80, 8080 };

static void unpin(struct bpf_object *obj)
{
	struct bpf_map *map;

	bpf_object__for_each_map(map, obj)
		bpf_map__set_pin_path(map, NULL);
}

/* Page set of one page for everybody; *val is the object's gfw_responder. */
static struct geofw_responder resp_val;

static int write_pages(struct geofw_tc_test *s, const struct geofw_pages *p)
{
	return geofw_pages_write(bpf_map__fd(s->maps.gfw_responder),
				 bpf_map__fd(s->maps.gfw_resp_pages),
				 bpf_map__fd(s->maps.gfw_resp_select), &resp_val, p);
}

static int set_response(struct geofw_tc_test *s, const __u16 *ports, size_t n_ports,
			const char *body, size_t body_len)
{
	struct geofw_pages *p = calloc(1, sizeof(*p));
	char err[256];
	int ret;

	if (!p)
		return -ENOMEM;
	ret = geofw_responder_value(&resp_val, ports, n_ports, err, sizeof(err));
	if (!ret)
		ret = t_pages_single(p, body, body_len, err, sizeof(err));
	if (ret) {
		test__fail(__FILE__, __LINE__, "%s", err);
		free(p);
		return ret;
	}
	memcpy(response, p->page[0].data, p->page[0].len);
	response_len = p->page[0].len;
	ret = write_pages(s, p);
	free(p);
	return ret;
}

static struct geofw_tc_test *load_test_obj(const __u64 key[2])
{
	struct geofw_tc_test *s = geofw_tc_test__open();

	if (!s)
		return NULL;
	unpin(s->obj);
	s->rodata->cookie_key[0] = key[0];
	s->rodata->cookie_key[1] = key[1];
	if (geofw_tc_test__load(s)) {
		geofw_tc_test__destroy(s);
		return NULL;
	}
	return s;
}

static bool obj_get(void)
{
	if (!skel) {
		skel = load_test_obj(key1);
		if (!ASSERT_TRUE(skel != NULL, "load tc_test object"))
			return false;
	}
	return ASSERT_OK(set_response(skel, test_ports, ARRAY_SIZE(test_ports), test_body,
				      sizeof(test_body) - 1), "response");
}

struct result {
	int ret;
	__u8 out[4096];
	__u32 len;
	__u64 events[GEOFW_RESP_MAX];	/* counter deltas */
};

static void read_events(struct geofw_tc_test *s, __u64 out[GEOFW_RESP_MAX])
{
	int ncpu = libbpf_num_possible_cpus(), fd = bpf_map__fd(s->maps.gfw_cnt_resp);
	__u64 vals[ncpu > 0 ? ncpu : 1];
	__u32 ev;
	int c;

	for (ev = 0; ev < GEOFW_RESP_MAX; ev++) {
		out[ev] = 0;
		if (bpf_map_lookup_elem(fd, &ev, vals))
			continue;
		for (c = 0; c < ncpu; c++)
			out[ev] += vals[c];
	}
}

/* Each case starts with a full per-flow budget (gfw_resp_flow) unless it
 * is about that budget. */
static bool keep_flow_budget;

static void clear_flow_budget(struct geofw_tc_test *s)
{
	int fd = bpf_map__fd(s->maps.gfw_resp_flow);
	struct geofw_resp_flow_key key;

	while (!bpf_map_get_next_key(fd, NULL, &key))
		if (bpf_map_delete_elem(fd, &key))
			break;
}

/* The rest of the verdict XDP hands over: cb[1..3] of tc_test.bpf.c. */
static __u32 cb_meta[3];

static bool run_on(struct geofw_tc_test *s, __u8 action, const __u8 *in, size_t len,
		   struct result *r)
{
	struct __sk_buff ctx = { .cb = { action, cb_meta[0], cb_meta[1], cb_meta[2] } };
	__u64 before[GEOFW_RESP_MAX], after[GEOFW_RESP_MAX];
	LIBBPF_OPTS(bpf_test_run_opts, opts,
		.data_in = in,
		.data_size_in = (__u32)len,
		.data_out = r->out,
		.data_size_out = sizeof(r->out),
		.ctx_in = &ctx,
		.ctx_size_in = sizeof(ctx),
		.repeat = 1,
	);
	int i;

	if (!keep_flow_budget)
		clear_flow_budget(s);
	read_events(s, before);
	if (!ASSERT_OK(bpf_prog_test_run_opts(bpf_program__fd(s->progs.geofw_tc_test), &opts),
		       "prog_test_run"))
		return false;
	read_events(s, after);
	r->ret = (int)opts.retval;
	r->len = opts.data_size_out;
	for (i = 0; i < GEOFW_RESP_MAX; i++)
		r->events[i] = after[i] - before[i];
	return true;
}

static const char *const event_names[GEOFW_RESP_MAX] = {
	"SYNACK", "HTTP403", "RST", "FINACK", "BAD_COOKIE", "DROPPED", "ERROR", "MISSING",
	"LIMITED",
};

/* Exactly one responder event, once. */
static void check_event(const struct result *r, int event)
{
	int i;

	for (i = 0; i < GEOFW_RESP_MAX; i++)
		if (i == event)
			ASSERT_EQ(r->events[i], 1, event_names[i]);
		else if (r->events[i])
			test__fail(__FILE__, __LINE__, "event %s counted, expected %s",
				   event_names[i], event_names[event]);
}

/* Send s with action; for replies, parse into v and check addressing. */
static bool send_seg(struct geofw_tc_test *obj, __u8 action, const struct seg *s,
		     struct result *r, struct view *v)
{
	__u8 in[2048];
	size_t len = seg_build(s, in, sizeof(in));

	if (!ASSERT_NEQ(len, 0, "seg_build") || !run_on(obj, action, in, len, r))
		return false;
	if (!v)
		return true;
	if (!ASSERT_EQ(r->ret, TC_ACT_REDIRECT, "verdict") || !view_parse(r->out, r->len, v))
		return false;
	check_addressing(v, in, s);
	return !test__failing();
}

/* A dropped segment: TC_ACT_SHOT, the one event, nothing rewritten. */
static void expect_drop(struct geofw_tc_test *obj, __u8 action, const struct seg *s, int event)
{
	struct result r;
	__u8 in[2048];
	size_t len = seg_build(s, in, sizeof(in));

	if (!ASSERT_NEQ(len, 0, "seg_build") || !run_on(obj, action, in, len, &r))
		return;
	ASSERT_EQ(r.ret, TC_ACT_SHOT, "verdict");
	check_event(&r, event);
	if (ASSERT_EQ(r.len, len, "frame length unchanged"))
		ASSERT_MEMEQ(r.out, in, len, "frame unchanged");
}

/* ---- cookies as the test expects them ------------------------------------------ */

static __u32 boot_slot(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (__u32)((((__u64)ts.tv_sec * 1000000000ull) + (__u64)ts.tv_nsec) >> SLOT_NS_SHIFT);
}

static __u32 ref_mss_class(__u16 mss)
{
	if (!mss)
		mss = 536;
	return mss >= 1220 ? 3 : mss >= 536 ? 2 : mss >= 128 ? 1 : 0;
}

static __u32 ref_mss_value(__u32 cls)
{
	static const __u32 tab[4] = { 48, 128, 536, 1220 };

	return tab[cls & 3];
}

/* The page slot in force in obj and its generation, which cookies cover. */
static struct geofw_responder obj_resp_val;

static const struct geofw_responder *obj_resp(struct geofw_tc_test *obj)
{
	memset(&obj_resp_val, 0, sizeof(obj_resp_val));
	geofw_responder_read(bpf_map__fd(obj->maps.gfw_responder), &obj_resp_val);
	return &obj_resp_val;
}

static __u32 ref_cookie_in(const struct geofw_responder *rv, const __u64 key[2],
			   const struct flow *f, __u32 mss_class, __u32 slot)
{
	__u8 k[16], m[48] = {};
	__u64 h;

	key_bytes(key, k);
	memcpy(m, f->saddr, 16);
	memcpy(m + 16, f->daddr, 16);
	put16(m + 32, f->sport);
	put16(m + 34, f->dport);
	m[36] = (__u8)f->family;
	m[37] = (__u8)mss_class;
	m[38] = rv->pages.slot;		/* the page slot in force, and its generation */
	m[40] = (__u8)slot;
	m[41] = (__u8)(slot >> 8);
	m[42] = (__u8)(slot >> 16);
	m[43] = (__u8)(slot >> 24);
	memcpy(m + 44, &rv->pages.gen[rv->pages.slot & 1], 4);	/* little-endian host */
	h = ref_siphash(k, m, sizeof(m));
	return ((__u32)h & 0xffff8000u) | (__u32)rv->pages.slot << 14 | (slot & 1) << 13 |
	       mss_class << 11;
}

#define ref_cookie(key, f, cls, slot) ref_cookie_in(obj_resp(skel), key, f, cls, slot)

/* SYN → SYN-ACK, checked; *cookie is its seq.  The run happened at a slot
 * between the two clock reads, the cookie must match one of them. */
static bool handshake(struct geofw_tc_test *obj, const __u64 key[2], const struct seg *syn_tmpl,
		      __u32 *cookie)
{
	struct seg syn = *syn_tmpl;
	struct result r;
	struct view v;
	struct flow f;
	__u32 s0, s1, cls = ref_mss_class(syn.mss);

	syn.flags = F_SYN;
	syn.seq = ISN;
	syn.ack = 0;
	syn.data = NULL;
	seg_flow(&syn, &f);
	s0 = boot_slot();
	if (!send_seg(obj, GEOFW_ACT_HTTP403, &syn, &r, &v))
		return false;
	s1 = boot_slot();

	check_event(&r, GEOFW_RESP_SYNACK);
	ASSERT_EQ(v.flags, F_SYN | F_ACK, "SYN-ACK flags");
	ASSERT_EQ(v.ack, ISN + 1, "ack = ISN + 1");
	ASSERT_EQ(v.tcplen, 24, "TCP header with MSS option");
	ASSERT_EQ(v.mss, f.family == 6 ? 1440 : 1460, "MSS option");
	ASSERT_EQ(v.data_len, 0, "no payload");
	ASSERT_EQ(v.seq & OFF_MASK, 0, "cookie offset bits clear");
	ASSERT_EQ((v.seq >> 11) & 3, cls, "cookie MSS class");
	if (v.seq != ref_cookie_in(obj_resp(obj), key, &f, cls, s0) &&
	    v.seq != ref_cookie_in(obj_resp(obj), key, &f, cls, s1))
		test__fail(__FILE__, __LINE__, "SYN-ACK seq 0x%08x is not the cookie "
			   "(expected 0x%08x)", v.seq, ref_cookie_in(obj_resp(obj), key, &f, cls, s1));
	*cookie = v.seq;
	return !test__failing();
}

/* The client's request (or any later segment) from a template. */
static struct seg next_seg(const struct seg *tmpl, __u32 seq, __u32 ack, __u8 flags,
			   const char *data)
{
	struct seg s = *tmpl;

	s.mss = 0;
	s.seq = seq;
	s.ack = ack;
	s.flags = flags;
	s.data = data;
	s.data_len = 0;
	return s;
}

/* ---- tests ------------------------------------------------------------------------ */

#define V4C	"203.0.113.5"
#define V6C	"2001:db8:bad::5"

static const struct flow_case {
	const char *name;
	struct seg s;
} flow_cases[] = {
	{ "v4", { .src = V4C, .mss = 1460 } },
	{ "v6", { .src = V6C, .mss = 1440 } },
	{ "v4_linux_options", { .src = V4C, .mss = 1460, .opt_style = OPT_LINUX } },
	{ "v6_linux_options", { .src = V6C, .mss = 1440, .opt_style = OPT_LINUX } },
	{ "v4_8021q", { .src = V4C, .mss = 1460, .vlan = { 0x8100 } } },
	{ "v4_qinq", { .src = V4C, .mss = 1460, .vlan = { 0x88A8, 0x8100 } } },
	{ "v6_8021q", { .src = V6C, .mss = 1440, .vlan = { 0x8100 } } },
	{ "v6_qinq", { .src = V6C, .mss = 1440, .vlan = { 0x88A8, 0x8100 } } },
	{ "v4_ip_options", { .src = V4C, .mss = 1460, .ip_opts = 12 } },
	{ "v4_ip_options_40_qinq", { .src = V4C, .mss = 1460, .ip_opts = 40,
				     .vlan = { 0x88A8, 0x8100 } } },
	{ "v6_hop_by_hop", { .src = V6C, .mss = 1440, .v6_hbh = true } },
	{ "v6_v4_mapped", { .src = "::ffff:203.0.113.5", .dst = "::ffff:192.0.2.1",
			    .mss = 1460 } },
	{ "v4_port_8080", { .src = V4C, .mss = 1460, .dport = 8080 } },
	{ "v4_high_ports", { .src = V4C, .mss = 1460, .sport = 65535, .dport = 8080 } },
};

/* SYN → SYN-ACK with the cookie; a retransmitted SYN → the same bytes. */
void test_tc_synack(void)
{
	size_t i;

	if (!obj_get())
		return;
	for (i = 0; i < ARRAY_SIZE(flow_cases); i++) {
		SUBTEST("%s", flow_cases[i].name) {
			struct seg syn = flow_cases[i].s;
			struct result r1, r2;
			__u32 cookie;
			int tries;

			if (!handshake(skel, key1, &syn, &cookie))
				continue;
			/* Retransmission: identical, unless a slot boundary fell
			 * between the two runs (then the next pair must agree). */
			syn.flags = F_SYN;
			syn.seq = ISN;
			for (tries = 0; tries < 2; tries++) {
				if (!send_seg(skel, GEOFW_ACT_HTTP403, &syn, &r1, NULL) ||
				    !send_seg(skel, GEOFW_ACT_HTTP403, &syn, &r2, NULL))
					break;
				if (r1.len == r2.len && !memcmp(r1.out, r2.out, r1.len))
					break;
			}
			ASSERT_EQ(r1.ret, TC_ACT_REDIRECT, "retransmitted SYN answered");
			if (ASSERT_EQ(r2.len, r1.len, "same length"))
				ASSERT_MEMEQ(r2.out, r1.out, r1.len, "identical SYN-ACK");
		}
	}
}

/* Handshake, then the request gets the whole response, FIN included. */
void test_tc_request(void)
{
	size_t i;

	if (!obj_get())
		return;
	for (i = 0; i < ARRAY_SIZE(flow_cases); i++) {
		SUBTEST("%s", flow_cases[i].name) {
			const struct seg *t = &flow_cases[i].s;
			struct result r, r2;
			struct view v;
			struct seg req;
			__u32 cookie;

			if (!handshake(skel, key1, t, &cookie))
				continue;
			req = next_seg(t, ISN + 1, cookie + 1, F_ACK | F_PSH, REQUEST);
			if (!send_seg(skel, GEOFW_ACT_HTTP403, &req, &r, &v))
				continue;
			check_event(&r, GEOFW_RESP_HTTP403);
			ASSERT_EQ(v.flags, F_ACK | F_PSH | F_FIN, "flags");
			ASSERT_EQ(v.seq, cookie + 1, "seq = cookie + 1");
			ASSERT_EQ(v.ack, ISN + 1 + strlen(REQUEST), "ack covers the request");
			ASSERT_EQ(v.tcplen, 20, "TCP header without options");
			ASSERT_EQ(v.window, 65535, "window");
			if (ASSERT_EQ(v.data_len, response_len, "payload length"))
				ASSERT_MEMEQ(v.data, response, response_len, "payload = response");

			/* A retransmitted request gets the same answer. */
			if (send_seg(skel, GEOFW_ACT_HTTP403, &req, &r2, NULL) &&
			    ASSERT_EQ(r2.len, r.len, "retransmission length"))
				ASSERT_MEMEQ(r2.out, r.out, r.len, "retransmission identical");
		}
	}
}

/*
 * A small MSS: the request gets the first MSS-class bytes without FIN, each
 * ACK pulls the next segment, the last carries FIN; the client's FIN is then
 * acknowledged and the final ACK dropped.
 */
static const struct mss_case {
	const char *name;
	const char *src;
	__u16 mss;		/* 0: no option */
	size_t body;		/* 0: the default test page; else a body of this size */
	__u16 window;		/* client window; 0: default */
} mss_cases[] = {
	{ "v4_mss_128", V4C, 128, 0, 0 },
	{ "v4_mss_100_class_48", V4C, 100, 0, 0 },
	{ "v4_mss_40_floor_48", V4C, 40, 0, 0 },
	{ "v4_no_option_536", V4C, 0, 0, 0 },
	{ "v6_mss_128", V6C, 128, 0, 0 },
	{ "v6_mss_536_full_page", V6C, 536, 1, 0 },
	{ "v4_mss_1219_full_page", V4C, 1219, 1, 0 },
	{ "v4_mss_1220_full_page", V4C, 1220, 1, 0 },
	{ "v4_mss_128_full_page", V4C, 128, 1, 0 },
	{ "v4_window_100", V4C, 1460, 0, 100 },
	{ "v4_window_333_full_page", V4C, 1460, 1, 333 },
};

static char *full_body(size_t *len)
{
	size_t n = t_http403_body_max(), i;
	char *b = malloc(n);

	for (i = 0; b && i < n; i++)
		b[i] = (char)('A' + i % 23);
	*len = n;
	return b;
}

void test_tc_segmented(void)
{
	size_t i;

	if (!obj_get())
		return;
	for (i = 0; i < ARRAY_SIZE(mss_cases); i++) {
		SUBTEST("%s", mss_cases[i].name) {
			const struct mss_case *c = &mss_cases[i];
			struct seg t = { .src = c->src, .mss = c->mss, .window = c->window };
			__u32 limit = ref_mss_value(ref_mss_class(c->mss)), cookie, off = 0;
			__u32 cseq = ISN + 1 + strlen(REQUEST);
			__u8 got[GEOFW_HTTP403_MAX];
			int segs = 0, max_segs;

			if (c->body) {
				size_t blen;
				char *b = full_body(&blen);

				if (!ASSERT_TRUE(b != NULL, "malloc"))
					continue;
				set_response(skel, test_ports, 2, b, blen);
				free(b);
				ASSERT_EQ(response_len, GEOFW_HTTP403_MAX, "full-size response");
			}
			if (c->window && c->window < limit)
				limit = c->window;
			max_segs = (int)((response_len + limit - 1) / limit);
			if (!handshake(skel, key1, &t, &cookie))
				goto restore;

			/* The request, then pure ACKs, until a segment carries FIN. */
			for (;;) {
				struct seg s = segs ? next_seg(&t, cseq, cookie + 1 + off, F_ACK, NULL)
						    : next_seg(&t, ISN + 1, cookie + 1, F_ACK | F_PSH,
							       REQUEST);
				struct result r;
				struct view v;
				__u32 want = response_len - off < limit ? response_len - off : limit;
				bool last = off + want == response_len;

				if (!send_seg(skel, GEOFW_ACT_HTTP403, &s, &r, &v))
					break;
				check_event(&r, GEOFW_RESP_HTTP403);
				ASSERT_EQ(v.seq, cookie + 1 + off, "seq follows the offset");
				ASSERT_EQ(v.ack, cseq, "ack");
				ASSERT_EQ(v.data_len, want, "segment size");
				ASSERT_TRUE(v.data_len <= ref_mss_value(ref_mss_class(c->mss)),
					    "within the MSS class");
				ASSERT_EQ(v.flags, F_ACK | F_PSH | (last ? F_FIN : 0), "flags");
				if (test__failing())
					break;
				memcpy(got + off, v.data, v.data_len);
				off += (__u32)v.data_len;
				if (++segs > max_segs || last)
					break;
			}
			ASSERT_EQ(segs, max_segs, "number of segments");
			if (ASSERT_EQ(off, response_len, "bytes received"))
				ASSERT_MEMEQ(got, response, response_len, "reassembled response");

			if (!test__failing()) {
				/* Our FIN acknowledged: the final ACK is dropped … */
				__u32 all = cookie + 1 + (__u32)response_len + 1;
				struct seg s = next_seg(&t, cseq, all, F_ACK, NULL);
				struct result r;
				struct view v;

				expect_drop(skel, GEOFW_ACT_HTTP403, &s, GEOFW_RESP_DROPPED);
				/* … and the client's FIN gets its ACK. */
				s = next_seg(&t, cseq, all, F_ACK | F_FIN, NULL);
				if (send_seg(skel, GEOFW_ACT_HTTP403, &s, &r, &v)) {
					check_event(&r, GEOFW_RESP_FINACK);
					ASSERT_EQ(v.flags, F_ACK, "FIN answered with a pure ACK");
					ASSERT_EQ(v.seq, all, "seq after our FIN");
					ASSERT_EQ(v.ack, cseq + 1, "ack covers the FIN");
					ASSERT_EQ(v.data_len, 0, "no payload");
				}
			}
restore:
			if (c->body)
				set_response(skel, test_ports, 2, test_body, sizeof(test_body) - 1);
		}
	}
}

/*
 * Single segments of an established (by cookie) flow, and what they get.
 * `off` is the response offset the client acknowledges (ack = cookie + 1 +
 * off); OFF_ALL acknowledges everything including our FIN.
 */
#define OFF_ALL		(-1)
#define OFF_LEN		(-2)	/* all data, not our FIN */

static const struct step_case {
	const char *name;
	struct seg s;		/* src, flags, data, window */
	int off;
	int ret;		/* TC_ACT_REDIRECT or TC_ACT_SHOT */
	int event;
	__u8 flags;		/* reply flags */
	int data_off, data_len;	/* reply payload slice; -1: up to the end */
	int plus_fin;		/* the reply acks a FIN of the client */
} step_cases[] = {
#define DROPS(ev)	.ret = TC_ACT_SHOT, .event = GEOFW_RESP_##ev
#define SENDS(ev, fl)	.ret = TC_ACT_REDIRECT, .event = GEOFW_RESP_##ev, .flags = (fl)
	{ "handshake_ack_dropped", { .src = V4C, .flags = F_ACK }, .off = 0, DROPS(DROPPED) },
	{ "request_with_fin", { .src = V4C, .flags = F_ACK | F_PSH | F_FIN, .data = REQUEST },
	  .off = 0, SENDS(HTTP403, F_ACK | F_PSH | F_FIN), .data_len = -1, .plus_fin = 1 },
	{ "ack_of_10_bytes", { .src = V4C, .flags = F_ACK }, .off = 10,
	  SENDS(HTTP403, F_ACK | F_PSH | F_FIN), .data_off = 10, .data_len = -1 },
	{ "ack_of_data_not_fin", { .src = V4C, .flags = F_ACK }, .off = OFF_LEN,
	  SENDS(HTTP403, F_ACK | F_FIN), .data_off = -2, .data_len = 0 },
	{ "final_ack_dropped", { .src = V4C, .flags = F_ACK }, .off = OFF_ALL, DROPS(DROPPED) },
	{ "fin_acked", { .src = V4C, .flags = F_ACK | F_FIN }, .off = OFF_ALL,
	  SENDS(FINACK, F_ACK), .plus_fin = 1 },
	{ "v6_fin_acked", { .src = V6C, .flags = F_ACK | F_FIN }, .off = OFF_ALL,
	  SENDS(FINACK, F_ACK), .plus_fin = 1 },
	{ "fin_with_data_acked", { .src = V4C, .flags = F_ACK | F_FIN, .data = "bye" },
	  .off = OFF_ALL, SENDS(FINACK, F_ACK), .plus_fin = 1 },
	{ "data_after_our_fin_dropped", { .src = V4C, .flags = F_ACK | F_PSH, .data = REQUEST },
	  .off = OFF_ALL, DROPS(DROPPED) },
	{ "zero_window_waits", { .src = V4C, .flags = F_ACK | F_PSH, .data = REQUEST,
				 .zero_window = true }, .off = 0, DROPS(DROPPED) },
	{ "window_10", { .src = V4C, .flags = F_ACK | F_PSH, .data = REQUEST, .window = 10 },
	  .off = 0, SENDS(HTTP403, F_ACK | F_PSH), .data_len = 10 },
	{ "rst_dropped", { .src = V4C, .flags = F_RST }, .off = 0, DROPS(DROPPED) },
	{ "rst_ack_dropped", { .src = V4C, .flags = F_RST | F_ACK }, .off = 0, DROPS(DROPPED) },
	{ "v6_rst_dropped", { .src = V6C, .flags = F_RST }, .off = 0, DROPS(DROPPED) },
	{ "syn_ack_dropped", { .src = V4C, .flags = F_SYN | F_ACK }, .off = 0, DROPS(DROPPED) },
	{ "syn_fin_dropped", { .src = V4C, .flags = F_SYN | F_FIN }, .off = 0, DROPS(DROPPED) },
	{ "no_ack_flag_dropped", { .src = V4C, .flags = F_PSH, .data = REQUEST }, .off = 0,
	  DROPS(DROPPED) },
	{ "bare_fin_dropped", { .src = V4C, .flags = F_FIN }, .off = 0, DROPS(DROPPED) },
#undef DROPS
#undef SENDS
};

void test_tc_flow_steps(void)
{
	size_t i;

	if (!obj_get())
		return;
	for (i = 0; i < ARRAY_SIZE(step_cases); i++) {
		SUBTEST("%s", step_cases[i].name) {
			const struct step_case *c = &step_cases[i];
			struct seg t = { .src = c->s.src, .mss = 1460 }, s = c->s;
			__u32 cookie, off, cseq = ISN + 1 + strlen(REQUEST);
			struct result r;
			struct view v;
			size_t dlen;

			if (!handshake(skel, key1, &t, &cookie))
				continue;
			off = c->off == OFF_ALL ? (__u32)response_len + 1 :
			      c->off == OFF_LEN ? (__u32)response_len : (__u32)c->off;
			s.seq = c->off ? cseq : ISN + 1;
			s.ack = cookie + 1 + off;
			dlen = seg_data_len(&s);
			if (c->ret == TC_ACT_SHOT) {
				expect_drop(skel, GEOFW_ACT_HTTP403, &s, c->event);
				continue;
			}
			if (!send_seg(skel, GEOFW_ACT_HTTP403, &s, &r, &v))
				continue;
			check_event(&r, c->event);
			ASSERT_EQ(v.flags, c->flags, "reply flags");
			ASSERT_EQ(v.ack, s.seq + dlen + (c->plus_fin ? 1 : 0), "reply ack");
			if (c->event == GEOFW_RESP_FINACK) {
				ASSERT_EQ(v.seq, cookie + 1 + response_len + 1, "seq after our FIN");
				ASSERT_EQ(v.data_len, 0, "no payload");
			} else {
				int from = c->data_off == -2 ? (int)response_len : c->data_off;
				size_t n = c->data_len < 0 ? response_len - (size_t)from :
					   (size_t)c->data_len;

				ASSERT_EQ(v.seq, cookie + 1 + (__u32)from, "reply seq");
				if (ASSERT_EQ(v.data_len, n, "payload length"))
					ASSERT_MEMEQ(v.data, response + from, n, "payload bytes");
			}
		}
	}
}

/* Acknowledgements that must not verify, and the one stale slot that must. */
enum {
	BAD_MAC_BIT, BAD_SLOT_BIT, BAD_MSS_BITS, BAD_OFFSET, BAD_SPORT, BAD_SADDR, BAD_DADDR,
	BAD_TWO_SLOTS_OLD, BAD_NEXT_SLOT, BAD_OTHER_KEY, GOOD_PREV_SLOT,
};

static const struct cookie_case {
	const char *name;
	const char *src;
	int kind;
} cookie_cases[] = {
	{ "v4_mac_bit_flipped", V4C, BAD_MAC_BIT },
	{ "v4_slot_parity_flipped", V4C, BAD_SLOT_BIT },
	{ "v4_mss_class_changed", V4C, BAD_MSS_BITS },
	{ "v4_offset_beyond_fin", V4C, BAD_OFFSET },
	{ "v4_other_source_port", V4C, BAD_SPORT },
	{ "v4_other_client", V4C, BAD_SADDR },
	{ "v4_other_server_address", V4C, BAD_DADDR },
	{ "v4_two_slots_old", V4C, BAD_TWO_SLOTS_OLD },
	{ "v4_from_the_future", V4C, BAD_NEXT_SLOT },
	{ "v4_other_key", V4C, BAD_OTHER_KEY },
	{ "v6_mac_bit_flipped", V6C, BAD_MAC_BIT },
	{ "v6_other_client", V6C, BAD_SADDR },
	{ "v6_two_slots_old", V6C, BAD_TWO_SLOTS_OLD },
	{ "v4_previous_slot_accepted", V4C, GOOD_PREV_SLOT },
	{ "v6_previous_slot_accepted", V6C, GOOD_PREV_SLOT },
};

void test_tc_bad_cookie(void)
{
	size_t i;

	if (!obj_get())
		return;
	for (i = 0; i < ARRAY_SIZE(cookie_cases); i++) {
		SUBTEST("%s", cookie_cases[i].name) {
			const struct cookie_case *c = &cookie_cases[i];
			struct seg t = { .src = c->src, .mss = 1460 }, req;
			__u32 now = boot_slot(), cookie = 0, off = 0;
			struct flow f;

			seg_flow(&t, &f);
			switch (c->kind) {
			case BAD_TWO_SLOTS_OLD:
				cookie = ref_cookie(key1, &f, 3, now - 2);
				break;
			case BAD_NEXT_SLOT:
				cookie = ref_cookie(key1, &f, 3, now + 1);
				break;
			case BAD_OTHER_KEY:
				cookie = ref_cookie(key2, &f, 3, now);
				break;
			case GOOD_PREV_SLOT:
				cookie = ref_cookie(key1, &f, 3, now - 1);
				break;
			default:
				if (!handshake(skel, key1, &t, &cookie))
					continue;
			}
			switch (c->kind) {
			case BAD_MAC_BIT:
				cookie ^= 1u << 20;
				break;
			case BAD_SLOT_BIT:
				cookie ^= 1u << 13;
				break;
			case BAD_MSS_BITS:
				cookie ^= 1u << 11;
				break;
			case BAD_OFFSET:
				off = (__u32)response_len + 2;
				break;
			case BAD_SPORT:
				t.sport = 40001;
				break;
			case BAD_SADDR:
				t.src = f.family == 6 ? "2001:db8:bad::6" : "203.0.113.6";
				break;
			case BAD_DADDR:
				t.dst = "192.0.2.2";
				break;
			}
			req = next_seg(&t, ISN + 1, cookie + 1 + off, F_ACK | F_PSH, REQUEST);
			if (c->kind == GOOD_PREV_SLOT) {
				struct result r;
				struct view v;

				if (send_seg(skel, GEOFW_ACT_HTTP403, &req, &r, &v)) {
					check_event(&r, GEOFW_RESP_HTTP403);
					ASSERT_EQ(v.seq, cookie + 1, "answered from the old cookie");
					ASSERT_EQ(v.data_len, response_len, "whole response");
				}
				continue;
			}
			expect_drop(skel, GEOFW_ACT_HTTP403, &req, GEOFW_RESP_BAD_COOKIE);
		}
	}
}

/* reject, and http403 on non-HTTP ports: RST as a closed port sends it. */
static const struct rst_case {
	const char *name;
	__u8 action;
	struct seg s;
	int ret;
	__u8 flags;		/* RST flags expected */
} rst_cases[] = {
	{ "v4_syn", GEOFW_ACT_REJECT, { .src = V4C, .flags = F_SYN, .seq = ISN, .mss = 1460 },
	  TC_ACT_REDIRECT, F_RST | F_ACK },
	{ "v4_syn_linux_options", GEOFW_ACT_REJECT, { .src = V4C, .flags = F_SYN, .seq = ISN,
	  .mss = 1460, .opt_style = OPT_LINUX }, TC_ACT_REDIRECT, F_RST | F_ACK },
	{ "v4_syn_with_data", GEOFW_ACT_REJECT, { .src = V4C, .flags = F_SYN, .seq = ISN,
	  .data = "early" }, TC_ACT_REDIRECT, F_RST | F_ACK },
	{ "v4_fin_without_ack", GEOFW_ACT_REJECT, { .src = V4C, .flags = F_FIN, .seq = ISN },
	  TC_ACT_REDIRECT, F_RST | F_ACK },
	{ "v4_ack_with_data", GEOFW_ACT_REJECT, { .src = V4C, .flags = F_ACK | F_PSH,
	  .seq = ISN + 1, .ack = 0xdeadbeef, .data = REQUEST }, TC_ACT_REDIRECT, F_RST },
	{ "v4_fin_ack", GEOFW_ACT_REJECT, { .src = V4C, .flags = F_ACK | F_FIN, .seq = ISN,
	  .ack = 0x01020304 }, TC_ACT_REDIRECT, F_RST },
	{ "v4_rst_ignored", GEOFW_ACT_REJECT, { .src = V4C, .flags = F_RST, .seq = ISN },
	  .ret = TC_ACT_SHOT },
	{ "v4_rst_ack_ignored", GEOFW_ACT_REJECT, { .src = V4C, .flags = F_RST | F_ACK,
	  .seq = ISN, .ack = 5 }, .ret = TC_ACT_SHOT },
	{ "v4_http403_port_443_syn", GEOFW_ACT_HTTP403, { .src = V4C, .dport = 443,
	  .flags = F_SYN, .seq = ISN, .mss = 1460 }, TC_ACT_REDIRECT, F_RST | F_ACK },
	{ "v4_http403_port_443_ack", GEOFW_ACT_HTTP403, { .src = V4C, .dport = 443,
	  .flags = F_ACK | F_PSH, .seq = ISN + 1, .ack = 77, .data = "\x16\x03\x01" },
	  TC_ACT_REDIRECT, F_RST },
	{ "v6_syn", GEOFW_ACT_REJECT, { .src = V6C, .flags = F_SYN, .seq = ISN, .mss = 1440 },
	  TC_ACT_REDIRECT, F_RST | F_ACK },
	{ "v6_ack", GEOFW_ACT_REJECT, { .src = V6C, .flags = F_ACK, .seq = ISN, .ack = 0xfffffff0 },
	  TC_ACT_REDIRECT, F_RST },
	{ "v6_http403_port_443", GEOFW_ACT_HTTP403, { .src = V6C, .dport = 443, .flags = F_SYN,
	  .seq = ISN }, TC_ACT_REDIRECT, F_RST | F_ACK },
	{ "v4_qinq_syn", GEOFW_ACT_REJECT, { .src = V4C, .vlan = { 0x88A8, 0x8100 },
	  .flags = F_SYN, .seq = ISN }, TC_ACT_REDIRECT, F_RST | F_ACK },
	{ "v6_8021q_ack", GEOFW_ACT_REJECT, { .src = V6C, .vlan = { 0x8100 }, .flags = F_ACK,
	  .seq = ISN, .ack = 9 }, TC_ACT_REDIRECT, F_RST },
	{ "v4_ip_options_syn", GEOFW_ACT_REJECT, { .src = V4C, .ip_opts = 20, .flags = F_SYN,
	  .seq = ISN }, TC_ACT_REDIRECT, F_RST | F_ACK },
	{ "v6_hop_by_hop_syn", GEOFW_ACT_REJECT, { .src = V6C, .v6_hbh = true, .flags = F_SYN,
	  .seq = ISN }, TC_ACT_REDIRECT, F_RST | F_ACK },
	{ "v6_v4_mapped_syn", GEOFW_ACT_REJECT, { .src = "::ffff:203.0.113.5",
	  .dst = "::ffff:192.0.2.1", .flags = F_SYN, .seq = ISN }, TC_ACT_REDIRECT, F_RST | F_ACK },
	{ "v4_seq_wraps", GEOFW_ACT_REJECT, { .src = V4C, .flags = F_SYN | F_FIN,
	  .seq = 0xffffffff, .data = "x" }, TC_ACT_REDIRECT, F_RST | F_ACK },
};

void test_tc_reject(void)
{
	size_t i;

	if (!obj_get())
		return;
	for (i = 0; i < ARRAY_SIZE(rst_cases); i++) {
		SUBTEST("%s", rst_cases[i].name) {
			const struct rst_case *c = &rst_cases[i];
			const struct seg *s = &c->s;
			struct result r;
			struct view v;
			__u32 occupied;

			if (c->ret == TC_ACT_SHOT) {
				expect_drop(skel, c->action, s, GEOFW_RESP_DROPPED);
				continue;
			}
			if (!send_seg(skel, c->action, s, &r, &v))
				continue;
			check_event(&r, GEOFW_RESP_RST);
			ASSERT_EQ(v.flags, c->flags, "RST flags");
			ASSERT_EQ(v.tcplen, 20, "no options");
			ASSERT_EQ(v.data_len, 0, "no payload");
			ASSERT_EQ(v.window, 0, "window 0");
			if (s->flags & F_ACK) {
				/* RFC 9293: seq from the ACK field, no ACK of our own. */
				ASSERT_EQ(v.seq, s->ack, "RST seq = their ack");
				ASSERT_EQ(v.ack, 0, "ack field zero");
			} else {
				occupied = (__u32)seg_data_len(s) + !!(s->flags & F_SYN) +
					   !!(s->flags & F_FIN);
				ASSERT_EQ(v.seq, 0, "RST seq 0");
				ASSERT_EQ(v.ack, s->seq + occupied, "ack = seq + length");
			}
		}
	}
}

/* No verdict: the packet goes on untouched; nothing counted. */
void test_tc_no_verdict(void)
{
	static const struct seg segs[] = {
		{ .src = V4C, .flags = F_SYN, .seq = ISN, .mss = 1460 },
		{ .src = V6C, .flags = F_ACK | F_PSH, .seq = ISN, .data = REQUEST },
		{ .src = V4C, .vlan = { 0x88A8, 0x8100 }, .flags = F_SYN, .seq = ISN },
	};
	size_t i;

	if (!obj_get())
		return;
	for (i = 0; i < ARRAY_SIZE(segs); i++) {
		SUBTEST("seg_%zu", i) {
			struct result r;
			__u8 in[2048];
			size_t len = seg_build(&segs[i], in, sizeof(in));
			int e;

			if (!run_on(skel, GEOFW_ACT_PASS, in, len, &r))
				continue;
			ASSERT_EQ(r.ret, TC_ACT_OK, "TC_ACT_OK");
			if (ASSERT_EQ(r.len, len, "length"))
				ASSERT_MEMEQ(r.out, in, len, "frame unchanged");
			for (e = 0; e < GEOFW_RESP_MAX; e++)
				ASSERT_EQ(r.events[e], 0, event_names[e]);
		}
	}
}

/* Non-TCP never gets here (XDP drops it), but if it does: dropped. */
void test_tc_non_tcp(void)
{
	static const struct {
		const char *name;
		__u8 action;
		struct pkt_opts o;
	} rows[] = {
		{ "udp_reject", GEOFW_ACT_REJECT, { .src = V4C, .proto = IPPROTO_UDP } },
		{ "udp_http403", GEOFW_ACT_HTTP403, { .src = V4C, .proto = IPPROTO_UDP } },
		{ "icmp_reject", GEOFW_ACT_REJECT, { .src = V4C, .proto = IPPROTO_ICMP } },
		{ "icmpv6_reject", GEOFW_ACT_REJECT, { .src = V6C, .proto = IPPROTO_ICMPV6 } },
		{ "tcp_drop_action", GEOFW_ACT_DROP, { .src = V4C } },
	};
	size_t i;

	if (!obj_get())
		return;
	for (i = 0; i < ARRAY_SIZE(rows); i++) {
		SUBTEST("%s", rows[i].name) {
			struct result r;
			__u8 in[2048];
			size_t len = pkt_build(&rows[i].o, in, sizeof(in));

			if (!ASSERT_NEQ(len, 0, "pkt_build") ||
			    !run_on(skel, rows[i].action, in, len, &r))
				continue;
			ASSERT_EQ(r.ret, TC_ACT_SHOT, "dropped");
			check_event(&r, GEOFW_RESP_DROPPED);
		}
	}
}

/* The key is the secret: another key, other cookies; no key, no cookies. */
void test_tc_cookie_keys(void)
{
	static const __u64 zero_key[2] = { 0, 0 };
	struct geofw_tc_test *other = NULL, *nokey = NULL;
	struct seg t = { .src = V4C, .mss = 1460 };
	__u32 c1, c2;

	if (!obj_get())
		return;
	other = load_test_obj(key2);
	nokey = load_test_obj(zero_key);
	if (!ASSERT_TRUE(other && nokey, "load with other keys"))
		goto out;
	if (set_response(other, test_ports, 2, test_body, sizeof(test_body) - 1) ||
	    set_response(nokey, test_ports, 2, test_body, sizeof(test_body) - 1))
		goto out;

	SUBTEST("different_keys_different_cookies") {
		if (handshake(skel, key1, &t, &c1) && handshake(other, key2, &t, &c2))
			ASSERT_NEQ(c1, c2, "cookies under two keys");
	}
	SUBTEST("cookie_of_one_key_fails_under_the_other") {
		if (handshake(skel, key1, &t, &c1)) {
			struct seg req = next_seg(&t, ISN + 1, c1 + 1, F_ACK | F_PSH, REQUEST);

			expect_drop(other, GEOFW_ACT_HTTP403, &req, GEOFW_RESP_BAD_COOKIE);
		}
	}
	SUBTEST("zero_key_falls_back_to_rst") {
		struct seg syn = { .src = V4C, .flags = F_SYN, .seq = ISN, .mss = 1460 };
		struct result r;
		struct view v;

		if (send_seg(nokey, GEOFW_ACT_HTTP403, &syn, &r, &v)) {
			check_event(&r, GEOFW_RESP_RST);
			ASSERT_EQ(v.flags, F_RST | F_ACK, "RST instead of a cookie");
		}
	}
out:
	if (other)
		geofw_tc_test__destroy(other);
	if (nokey)
		geofw_tc_test__destroy(nokey);
}

/* Without a configured response (or with the port not listed): RST. */
void test_tc_unconfigured(void)
{
	struct geofw_responder empty = {};
	struct seg syn = { .src = V4C, .flags = F_SYN, .seq = ISN, .mss = 1460 };
	struct result r;
	struct view v;

	if (!obj_get())
		return;
	SUBTEST("no_response_rst") {
		if (ASSERT_OK(t_responder_write(bpf_map__fd(skel->maps.gfw_responder), &empty),
			      "clear responder") &&
		    send_seg(skel, GEOFW_ACT_HTTP403, &syn, &r, &v)) {
			check_event(&r, GEOFW_RESP_RST);
			ASSERT_EQ(v.flags, F_RST | F_ACK, "RST");
		}
	}
	SUBTEST("port_not_listed_rst") {
		static const __u16 only_8080[] = { 8080 };

		if (!set_response(skel, only_8080, 1, test_body, sizeof(test_body) - 1) &&
		    send_seg(skel, GEOFW_ACT_HTTP403, &syn, &r, &v)) {
			check_event(&r, GEOFW_RESP_RST);
			ASSERT_EQ(v.flags, F_RST | F_ACK, "RST on port 80");
		}
	}
	obj_get();	/* restore */
}

/* The production entry loads (verifier) and lets unmarked packets through. */
void test_tc_production_object(void)
{
	struct seg syn = { .src = V4C, .flags = F_SYN, .seq = ISN, .mss = 1460 };
	struct geofw_tc *prod = geofw_tc__open();
	__u8 in[2048], out[4096];
	size_t len = seg_build(&syn, in, sizeof(in));
	LIBBPF_OPTS(bpf_test_run_opts, opts,
		.data_in = in,
		.data_size_in = (__u32)len,
		.data_out = out,
		.data_size_out = sizeof(out),
		.repeat = 1,
	);

	if (!ASSERT_TRUE(prod != NULL, "open tc object"))
		return;
	unpin(prod->obj);
	prod->rodata->cookie_key[0] = key1[0];
	prod->rodata->cookie_key[1] = key1[1];
	if (ASSERT_OK(geofw_tc__load(prod), "load tc object (verifier)") &&
	    ASSERT_OK(bpf_prog_test_run_opts(bpf_program__fd(prod->progs.geofw_tc), &opts),
		      "prog_test_run")) {
		ASSERT_EQ(opts.retval, TC_ACT_OK, "no metadata: TC_ACT_OK");
		if (ASSERT_EQ(opts.data_size_out, len, "length"))
			ASSERT_MEMEQ(out, in, len, "frame unchanged");
	}
	geofw_tc__destroy(prod);
}

/* The test's own SipHash against the paper's test vector (Appendix A). */
void test_tc_ref_siphash(void)
{
	__u8 key[16], msg[15];
	int i;

	for (i = 0; i < 16; i++)
		key[i] = (__u8)i;
	for (i = 0; i < 15; i++)
		msg[i] = (__u8)i;
	ASSERT_EQ(ref_siphash(key, msg, sizeof(msg)), 0xa129ca6149be45e5ULL, "SipHash-2-4 vector");
}

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * A replayed request ACK with a valid cookie: answered GEOFW_RESP_FLOW_BURST
 * times (plus what the bucket refilled meanwhile), then dropped as LIMITED.
 * Another connection of the same client (another port: it needed a SYN and
 * its SYN-ACK) has its own budget, and so does another client.
 */
void test_tc_flow_limit(void)
{
	static const char *const srcs[] = { V4C, V6C };
	size_t i;

	if (!obj_get())
		return;
	for (i = 0; i < ARRAY_SIZE(srcs); i++) {
		SUBTEST("%s", i ? "v6" : "v4") {
			struct seg t = { .src = srcs[i], .mss = 1460 }, other, req;
			unsigned int sent = 0, limited = 0, n, allowed, k;
			struct result r;
			__u32 cookie;
			double t0;

			clear_flow_budget(skel);
			keep_flow_budget = true;
			if (!handshake(skel, key1, &t, &cookie)) {
				keep_flow_budget = false;
				continue;
			}
			req = next_seg(&t, ISN + 1, cookie + 1, F_ACK | F_PSH, REQUEST);
			t0 = mono_s();
			for (n = 0; n < GEOFW_RESP_FLOW_BURST + 20; n++) {
				if (!send_seg(skel, GEOFW_ACT_HTTP403, &req, &r, NULL))
					break;
				sent += r.events[GEOFW_RESP_HTTP403] == 1 && r.ret == TC_ACT_REDIRECT;
				limited += r.events[GEOFW_RESP_LIMITED] == 1 && r.ret == TC_ACT_SHOT;
			}
			allowed = GEOFW_RESP_FLOW_BURST +
				  (unsigned int)((mono_s() - t0) * GEOFW_RESP_FLOW_RATE) + 1;
			ASSERT_EQ(sent + limited, GEOFW_RESP_FLOW_BURST + 20, "every replay counted once");
			ASSERT_TRUE(sent >= GEOFW_RESP_FLOW_BURST, "the burst is answered");
			ASSERT_TRUE(sent <= allowed, "no more than burst + refill");
			ASSERT_TRUE(limited >= 1, "replays past the budget dropped as LIMITED");

			/* Other connections: same client on another port, and
			 * another client; each gets its page. */
			for (k = 0; k < 2; k++) {
				other = t;
				if (k == 0)
					other.sport = 40123;
				else
					other.src = i ? "2001:db8:bad::6" : "203.0.113.6";
				if (!handshake(skel, key1, &other, &cookie))
					continue;
				req = next_seg(&other, ISN + 1, cookie + 1, F_ACK | F_PSH, REQUEST);
				if (send_seg(skel, GEOFW_ACT_HTTP403, &req, &r, NULL))
					check_event(&r, GEOFW_RESP_HTTP403);
			}
			keep_flow_budget = false;
		}
	}
}

/* ---- 403 pages: choice, placeholders, HEAD, non-HTTP, reloads ------------------ */

static const __u64 refkey[2] = { 0x1122334455667788ULL, 0x99aabbccddeeff00ULL };

static const char page0[] =
	"<html lang=\"en\"><p>A={{addr}}|C={{country}}|R={{reason}}|T={{time}}|F={{ref}}|</p>\n";
static const char page_de[] = "<html lang=\"de\"><p>DE A={{addr}}|F={{ref}}|</p>\n";
static const char page_ip[] = "<p>IP page R={{reason}}|</p>\n";
static const char page_feed[] = "<p>FEED page R={{reason}}|F={{ref}}|</p>\n";
static const char page_cs[] = "<p>CS page R={{reason}}|F={{ref}}|</p>\n";
/* The text that names pages 2.. (page_case.page). */
static const char *const page_tag[] = { NULL, NULL, "IP page R=", "FEED page R=", "CS page R=" };

/* Reasons the kernel does not have yet, classed through reason_class[]
 * like a new XDP reason would be. */
#define R_TEST_RATELIMIT	55
#define R_TEST_FEED		54
#define R_TEST_CROWDSEC		53

static struct geofw_pages *test_pages;

static bool pages_set(struct geofw_tc_test *obj)
{
	char err[512];
	int de = geofw_country_id("DE"), c;

	if (!test_pages && !(test_pages = calloc(1, sizeof(*test_pages))))
		return false;
	memset(test_pages, 0, sizeof(*test_pages));
	if (!ASSERT_OK(geofw_page_compile(page0, strlen(page0), "p0", true, &test_pages->page[0],
					  err, sizeof(err)), err) ||
	    !ASSERT_OK(geofw_page_compile(page_de, strlen(page_de), "de", false,
					  &test_pages->page[1], err, sizeof(err)), err) ||
	    !ASSERT_OK(geofw_page_compile(page_ip, strlen(page_ip), "ip", false,
					  &test_pages->page[2], err, sizeof(err)), err) ||
	    !ASSERT_OK(geofw_page_compile(page_feed, strlen(page_feed), "feed", false,
					  &test_pages->page[3], err, sizeof(err)), err) ||
	    !ASSERT_OK(geofw_page_compile(page_cs, strlen(page_cs), "crowdsec", false,
					  &test_pages->page[4], err, sizeof(err)), err))
		return false;
	test_pages->n_pages = 5;
	/* DE beats the ip reason, as geofw_pages_from_conf() ranks them. */
	for (c = 0; c < GEOFW_MAX_COUNTRIES; c++) {
		test_pages->sel.page[GEOFW_RC_IP][c] = 2;
		test_pages->sel.page[GEOFW_RC_FEED][c] = 3;
		test_pages->sel.page[GEOFW_RC_CROWDSEC][c] = 4;
	}
	for (c = 0; c < GEOFW_RC_MAX; c++)
		test_pages->sel.page[c][de] = 1;
	if (geofw_responder_value(&resp_val, test_ports, 2, err, sizeof(err)))
		return false;
	resp_val.pages.reason_class[R_TEST_RATELIMIT] = GEOFW_RC_RATELIMIT;
	resp_val.pages.reason_class[R_TEST_FEED] = GEOFW_RC_FEED;
	resp_val.pages.reason_class[R_TEST_CROWDSEC] = GEOFW_RC_CROWDSEC;
	resp_val.pages.ref_key[0] = refkey[0];
	resp_val.pages.ref_key[1] = refkey[1];
	{
		struct timespec rt, bt;

		clock_gettime(CLOCK_REALTIME, &rt);
		clock_gettime(CLOCK_BOOTTIME, &bt);
		resp_val.pages.utc_offset_ns = ((__s64)rt.tv_sec - bt.tv_sec) * 1000000000ll +
					       (rt.tv_nsec - bt.tv_nsec);
	}
	return ASSERT_OK(write_pages(obj, test_pages), "write pages");
}

/* "KEY=value|" of a page, spaces of the field trimmed. */
static bool page_field(const __u8 *data, size_t len, const char *key, char *out, size_t cap)
{
	const char *p = memmem(data, len, key, strlen(key)), *e;
	size_t n;

	if (!p)
		return false;
	p += strlen(key);
	e = memchr(p, '|', len - (size_t)(p - (const char *)data));
	if (!e)
		return false;
	n = (size_t)(e - p);
	while (n && p[n - 1] == ' ')
		n--;
	if (n >= cap)
		return false;
	memcpy(out, p, n);
	out[n] = '\0';
	return true;
}

/* The reference code as this test computes it: the layout of
 * include/geofw.h with the byte-wise SipHash above. */
static void expect_ref(char out[13], unsigned int cls, unsigned int cid, __u64 minute, __u32 subject)
{
	__u64 f = (__u64)(cls & 7) << 57 | (__u64)(cid & 0xff) << 49 | (minute & 0xffff) << 33 |
		  (__u64)(subject & 0xffff) << 17;
	__u8 k[16], m[16];
	__u64 w1 = (minute & 0xffffffff) | (__u64)subject << 32;
	int i;

	key_bytes(refkey, k);
	for (i = 0; i < 8; i++) {
		m[i] = (__u8)(f >> (8 * i));
		m[8 + i] = (__u8)(w1 >> (8 * i));
	}
	geofw_ref_encode(f | (ref_siphash(k, m, 16) & 0x1ffff), out);
}

static const struct page_case {
	const char *name, *src, *addr_text, *cc;
	__u8 reason;
	__u32 rule_id, asn;
	int page;			/* 0, 1 (DE), 2 (ip), 3 (feed), 4 (crowdsec) */
	const char *reason_text;
	unsigned int cls;
	__u8 src_class;			/* the block entry's, in the metadata flags */
} page_cases[] = {
	{ "v4_country", V4C, "203.0.113.5", "RU", GEOFW_R_COUNTRY_BLOCK, 0, 0, 0, "country",
	  GEOFW_RC_COUNTRY, 0 },
	{ "v6_country", V6C, "2001:db8:bad::5", "RU", GEOFW_R_COUNTRY_BLOCK, 0, 0, 0, "country",
	  GEOFW_RC_COUNTRY, 0 },
	{ "v4_no_country", "192.0.2.77", "192.0.2.77", NULL, GEOFW_R_NOCOUNTRY_BLOCK, 0, 0, 0,
	  "country", GEOFW_RC_COUNTRY, 0 },
	{ "v6_asn", "2001:db8:0:1::5", "2001:db8:0:1::5", "FR", GEOFW_R_BLOCK_ASN, 0, 4200000001u,
	  0, "asn", GEOFW_RC_ASN, 0 },
	{ "v4_asn_16bit", "198.51.100.9", "198.51.100.9", "US", GEOFW_R_BLOCK_ASN, 3, 64500, 0,
	  "asn", GEOFW_RC_ASN, 0 },
	{ "v4_ip_page", "198.51.100.200", "198.51.100.200", "FR", GEOFW_R_BLOCK_IP, 77, 0, 2, "ip",
	  GEOFW_RC_IP, 0 },
	{ "v6_ip_page", "2001:db8:1:2:3:4:5:6", "2001:db8:1:2:3:4:5:6", "FR", GEOFW_R_BLOCK_IP,
	  65535, 0, 2, "ip", GEOFW_RC_IP, 0 },
	{ "v4_ip_de_page", "192.0.2.3", "192.0.2.3", "DE", GEOFW_R_BLOCK_IP, 5, 0, 1, "ip",
	  GEOFW_RC_IP, 0 },
	{ "v6_country_de_page", "2001:0:0:1::1", "2001:0:0:1::1", "DE", GEOFW_R_COUNTRY_BLOCK, 0,
	  0, 1, "country", GEOFW_RC_COUNTRY, 0 },
	{ "v6_v4_mapped", "::ffff:203.0.113.5", "::ffff:203.0.113.5", "RU", GEOFW_R_COUNTRY_BLOCK,
	  0, 0, 0, "country", GEOFW_RC_COUNTRY, 0 },
	{ "v6_first_longest_run", "2001:db8::1:0:0:1", "2001:db8::1:0:0:1", "RU",
	  GEOFW_R_COUNTRY_BLOCK, 0, 0, 0, "country", GEOFW_RC_COUNTRY, 0 },
	{ "v4_ratelimit", "203.0.113.99", "203.0.113.99", "RU", R_TEST_RATELIMIT, 9, 0, 0,
	  "ratelimit", GEOFW_RC_RATELIMIT, 0 },
	{ "v4_feed", "203.0.113.98", "203.0.113.98", "RU", R_TEST_FEED, 1000, 0, 3, "feed",
	  GEOFW_RC_FEED, 0 },
	{ "v6_crowdsec", "2001:db8:cc::1", "2001:db8:cc::1", "RU", R_TEST_CROWDSEC, 1001, 0, 4,
	  "crowdsec", GEOFW_RC_CROWDSEC, 0 },
	/* Block entries of a source (feed:*, crowdsec, ratelimit rules): the
	 * entry's class carried in the metadata wins over the reason's (ip). */
	{ "v4_block_ip_source_feed", "203.0.113.97", "203.0.113.97", "FR", GEOFW_R_BLOCK_IP, 1002,
	  0, 3, "feed", GEOFW_RC_FEED, GEOFW_RC_FEED },
	{ "v6_block_ip_source_crowdsec", "2001:db8:cc::2", "2001:db8:cc::2", "FR",
	  GEOFW_R_BLOCK_IP, 1003, 0, 4, "crowdsec", GEOFW_RC_CROWDSEC, GEOFW_RC_CROWDSEC },
	{ "v4_block_ip_source_ratelimit", "203.0.113.96", "203.0.113.96", "RU", GEOFW_R_BLOCK_IP,
	  1004, 0, 0, "ratelimit", GEOFW_RC_RATELIMIT, GEOFW_RC_RATELIMIT },
	{ "v4_block_ip_source_ip", "203.0.113.95", "203.0.113.95", "FR", GEOFW_R_BLOCK_IP, 1005, 0,
	  2, "ip", GEOFW_RC_IP, GEOFW_RC_IP },
	{ "v4_block_ip_source_feed_de_page", "192.0.2.4", "192.0.2.4", "DE", GEOFW_R_BLOCK_IP,
	  1006, 0, 1, "feed", GEOFW_RC_FEED, GEOFW_RC_FEED },
};

static void set_meta(const struct page_case *pc)
{
	unsigned int cid = pc->cc ? (unsigned int)geofw_country_id(pc->cc) : 0;

	cb_meta[0] = pc->reason | cid << 8 |
		     (GEOFW_META_COUNTRY | pc->src_class << GEOFW_META_CLASS_SHIFT) << 16;
	cb_meta[1] = pc->rule_id;
	cb_meta[2] = pc->asn;
}

/* Status line, headers, exact Content-Length; the body in *body. */
static bool check_http(const struct view *v, const char *lang, const __u8 **body, size_t *blen)
{
	const char *hdr_end = memmem(v->data, v->data_len, "\r\n\r\n", 4);
	char cl[64];
	size_t hlen;

	if (!ASSERT_TRUE(hdr_end != NULL, "headers end"))
		return false;
	hlen = (size_t)(hdr_end + 4 - (const char *)v->data);
	*body = v->data + hlen;
	*blen = v->data_len - hlen;
	ASSERT_TRUE(!memcmp(v->data, "HTTP/1.1 403 Forbidden\r\n", 24), "status line");
	snprintf(cl, sizeof(cl), "\r\nContent-Length: %zu\r\n", *blen);
	ASSERT_TRUE(memmem(v->data, hlen, cl, strlen(cl)) != NULL, "exact Content-Length");
	ASSERT_TRUE(memmem(v->data, hlen, "\r\nConnection: close\r\n", 21) != NULL, "close");
	ASSERT_TRUE(memmem(v->data, hlen, "\r\nCache-Control: no-store\r\n", 27) != NULL,
		    "no-store");
	if (lang) {
		snprintf(cl, sizeof(cl), "\r\nContent-Language: %s\r\n", lang);
		ASSERT_TRUE(memmem(v->data, hlen, cl, strlen(cl)) != NULL, "Content-Language");
	} else {
		ASSERT_TRUE(memmem(v->data, hlen, "Content-Language", 16) == NULL, "no language");
	}
	return !test__failing();
}

void test_tc_pages(void)
{
	size_t i;

	if (!obj_get() || !pages_set(skel))
		return;
	for (i = 0; i < ARRAY_SIZE(page_cases); i++) {
		SUBTEST("%s", page_cases[i].name) {
			const struct page_case *pc = &page_cases[i];
			struct seg t = { .src = pc->src, .mss = 1460 }, req;
			char got[64], want[13], want2[13], tbuf[32], tbuf2[32];
			const __u8 *body;
			struct result r;
			struct view v;
			__u32 cookie;
			size_t blen;
			time_t now0, now1;

			set_meta(pc);
			if (!handshake(skel, key1, &t, &cookie))
				continue;
			req = next_seg(&t, ISN + 1, cookie + 1, F_ACK | F_PSH, REQUEST);
			now0 = time(NULL);
			if (!send_seg(skel, GEOFW_ACT_HTTP403, &req, &r, &v))
				continue;
			now1 = time(NULL);
			check_event(&r, GEOFW_RESP_HTTP403);
			ASSERT_EQ(v.flags, F_ACK | F_PSH | F_FIN, "whole page, FIN");
			if (!check_http(&v, pc->page == 0 ? "en" : pc->page == 1 ? "de" : NULL, &body,
					&blen))
				continue;
			if (pc->page >= 2) {
				/* A named page: its reason and, but for ip's, the ref. */
				if (ASSERT_TRUE(page_field(body, blen, page_tag[pc->page], got,
							   sizeof(got)), "the reason's page"))
					ASSERT_STREQ(got, pc->reason_text, "{{reason}}");
				if (pc->page == 2)
					continue;
			} else if (ASSERT_TRUE(page_field(body, blen, "A=", got, sizeof(got)),
					       "addr")) {
				ASSERT_STREQ(got, pc->addr_text, "{{addr}}");
			}
			if (pc->page == 1) {
				ASSERT_TRUE(memmem(body, blen, "<p>DE ", 6) != NULL, "the DE page");
			} else if (pc->page == 0) {
				if (ASSERT_TRUE(page_field(body, blen, "C=", got, sizeof(got)), "cc"))
					ASSERT_STREQ(got, pc->cc ? pc->cc : "--", "{{country}}");
				if (ASSERT_TRUE(page_field(body, blen, "R=", got, sizeof(got)), "reason"))
					ASSERT_STREQ(got, pc->reason_text, "{{reason}}");
				strftime(tbuf, sizeof(tbuf), "%Y-%m-%d %H:%M UTC", gmtime(&now0));
				strftime(tbuf2, sizeof(tbuf2), "%Y-%m-%d %H:%M UTC", gmtime(&now1));
				if (ASSERT_TRUE(page_field(body, blen, "T=", got, sizeof(got)), "time") &&
				    strcmp(got, tbuf) && strcmp(got, tbuf2))
					test__fail(__FILE__, __LINE__, "{{time}} %s, expected %s", got,
						   tbuf2);
			}
			expect_ref(want, pc->cls, pc->cc ? (unsigned int)geofw_country_id(pc->cc) : 0,
				   (__u64)now0 / 60, pc->cls == GEOFW_RC_ASN ? pc->asn : pc->rule_id);
			expect_ref(want2, pc->cls, pc->cc ? (unsigned int)geofw_country_id(pc->cc) : 0,
				   (__u64)now1 / 60, pc->cls == GEOFW_RC_ASN ? pc->asn : pc->rule_id);
			if (ASSERT_TRUE(page_field(body, blen, "F=", got, sizeof(got)), "ref") &&
			    strcmp(got, want) && strcmp(got, want2))
				test__fail(__FILE__, __LINE__, "{{ref}} %s, expected %s", got, want2);
			if (pc->page == 0) {
				char hdr[96];

				snprintf(hdr, sizeof(hdr), "\r\nX-Geofw-Ref: %s\r\n", got);
				ASSERT_TRUE(memmem(v.data, v.data_len, hdr, strlen(hdr)) != NULL,
					    "X-Geofw-Ref header = {{ref}}");
			}
		}
	}
	memset(cb_meta, 0, sizeof(cb_meta));
}

/* HEAD: the headers only, with FIN; our FIN acknowledged, the client's FIN
 * gets its ACK.  Not HTTP (a TLS ClientHello on port 80): RST. */
void test_tc_head_and_not_http(void)
{
	static const char *const srcs[] = { V4C, V6C };
	size_t i;

	if (!obj_get() || !pages_set(skel))
		return;
	cb_meta[0] = GEOFW_R_COUNTRY_BLOCK | (unsigned int)geofw_country_id("RU") << 8;
	for (i = 0; i < ARRAY_SIZE(srcs); i++) {
		SUBTEST("head_%s", i ? "v6" : "v4") {
			struct seg t = { .src = srcs[i], .mss = 1460 }, req, fin;
			static const char head[] = "HEAD / HTTP/1.1\r\nHost: x\r\n\r\n";
			struct result r;
			struct view v;
			__u32 cookie, hl = test_pages->page[0].head_len;

			if (!handshake(skel, key1, &t, &cookie))
				continue;
			req = next_seg(&t, ISN + 1, cookie + 1, F_ACK | F_PSH, head);
			if (!send_seg(skel, GEOFW_ACT_HTTP403, &req, &r, &v))
				continue;
			ASSERT_EQ(v.flags, F_ACK | F_PSH | F_FIN, "headers and FIN");
			ASSERT_EQ(v.data_len, hl, "headers only");
			ASSERT_TRUE(v.data_len >= 4 && !memcmp(v.data + v.data_len - 4, "\r\n\r\n", 4),
				    "ends with the blank line");
			fin = next_seg(&t, ISN + 1 + strlen(head), cookie + 1 + hl + 1, F_ACK | F_FIN,
				       NULL);
			if (send_seg(skel, GEOFW_ACT_HTTP403, &fin, &r, &v)) {
				check_event(&r, GEOFW_RESP_FINACK);
				ASSERT_EQ(v.seq, cookie + 1 + hl + 1, "seq after our FIN");
				ASSERT_EQ(v.ack, ISN + 1 + strlen(head) + 1, "acks the client's FIN");
				ASSERT_EQ(v.data_len, 0, "no data");
			}
			fin.flags = F_ACK;
			expect_drop(skel, GEOFW_ACT_HTTP403, &fin, GEOFW_RESP_DROPPED);
		}
		SUBTEST("not_http_%s", i ? "v6" : "v4") {
			static const char hello[] = "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03";
			struct seg t = { .src = srcs[i], .mss = 1460 }, req;
			struct result r;
			struct view v;
			__u32 cookie;

			if (!handshake(skel, key1, &t, &cookie))
				continue;
			req = next_seg(&t, ISN + 1, cookie + 1, F_ACK | F_PSH, hello);
			req.data_len = sizeof(hello) - 1;
			if (send_seg(skel, GEOFW_ACT_HTTP403, &req, &r, &v)) {
				check_event(&r, GEOFW_RESP_RST);
				ASSERT_EQ(v.flags, F_RST, "RST");
				ASSERT_EQ(v.seq, cookie + 1, "seq = what the client expects");
				ASSERT_EQ(v.data_len, 0, "no page");
			}
			req.data = "SSH-2.0-OpenSSH\r\n";
			req.data_len = 0;
			if (send_seg(skel, GEOFW_ACT_HTTP403, &req, &r, &v))
				ASSERT_EQ(v.flags, F_RST, "SSH banner: RST");
		}
	}
	memset(cb_meta, 0, sizeof(cb_meta));
}

/* A small MSS: no segment ends inside a field, nor where HEAD's FIN is
 * acknowledged; the pieces make the page. */
void test_tc_pages_segmented(void)
{
	if (!obj_get() || !pages_set(skel))
		return;
	cb_meta[0] = GEOFW_R_COUNTRY_BLOCK | (unsigned int)geofw_country_id("RU") << 8;
	SUBTEST("mss_48") {
		const struct geofw_resp_page *pg = &test_pages->page[0];
		struct seg t = { .src = V6C, .mss = 48 }, s;
		__u8 got[GEOFW_HTTP403_MAX];
		__u32 cookie, off = 0, steps = 0;
		struct result r;
		struct view v;
		char addr[64];
		int k;

		if (!handshake(skel, key1, &t, &cookie))
			goto out;
		s = next_seg(&t, ISN + 1, cookie + 1, F_ACK | F_PSH, REQUEST);
		while (steps++ < 64) {
			if (!send_seg(skel, GEOFW_ACT_HTTP403, &s, &r, &v))
				break;
			ASSERT_EQ(v.seq, cookie + 1 + off, "in order");
			ASSERT_TRUE(v.data_len <= 48, "MSS class");
			memcpy(got + off, v.data, v.data_len);
			off += (__u32)v.data_len;
			for (k = 0; k < pg->n_fields; k++)
				if (off > pg->field[k].off && off < pg->field[k].off + pg->field[k].width)
					test__fail(__FILE__, __LINE__, "segment ends at %u inside "
						   "field %d [%u, %u)", off, k, pg->field[k].off,
						   pg->field[k].off + pg->field[k].width);
			ASSERT_NEQ(off, pg->head_len + 1u, "never where HEAD's FIN is acked");
			if (v.flags & F_FIN)
				break;
			s = next_seg(&t, ISN + 1 + strlen(REQUEST), cookie + 1 + off, F_ACK, NULL);
		}
		ASSERT_EQ(off, pg->len, "the whole page");
		if (ASSERT_TRUE(page_field(got, off, "A=", addr, sizeof(addr)), "addr"))
			ASSERT_STREQ(addr, "2001:db8:bad::5", "{{addr}} assembled");
	}
out:
	memset(cb_meta, 0, sizeof(cb_meta));
}

/* Reloads: a flow keeps the pages of its SYN across one reload; a second
 * reload rewrites that slot, and the flow's cookie fails instead of mixing
 * two pages. */
void test_tc_pages_reload(void)
{
	struct seg t = { .src = V4C, .mss = 1460 }, req;
	struct result r;
	struct view v;
	__u32 cookie;
	char err[256];

	if (!obj_get() || !pages_set(skel))
		return;
	cb_meta[0] = GEOFW_R_COUNTRY_BLOCK | (unsigned int)geofw_country_id("RU") << 8;
	SUBTEST("one_reload_keeps_the_flow_on_its_pages") {
		if (handshake(skel, key1, &t, &cookie)) {
			ASSERT_OK(geofw_page_compile("<p>new</p>", 10, "new", false,
						     &test_pages->page[0], err, sizeof(err)), err);
			ASSERT_OK(write_pages(skel, test_pages), "reload");
			req = next_seg(&t, ISN + 1, cookie + 1, F_ACK | F_PSH, REQUEST);
			if (send_seg(skel, GEOFW_ACT_HTTP403, &req, &r, &v))
				ASSERT_TRUE(memmem(v.data, v.data_len, "A=", 2) != NULL,
					    "old page for the old flow");
		}
		t.sport = 40001;
		if (handshake(skel, key1, &t, &cookie)) {
			req = next_seg(&t, ISN + 1, cookie + 1, F_ACK | F_PSH, REQUEST);
			if (send_seg(skel, GEOFW_ACT_HTTP403, &req, &r, &v))
				ASSERT_TRUE(memmem(v.data, v.data_len, "<p>new</p>", 10) != NULL,
					    "new page for a new flow");
		}
	}
	SUBTEST("second_reload_fails_the_old_cookie") {
		t.sport = 40002;
		if (handshake(skel, key1, &t, &cookie)) {
			ASSERT_OK(write_pages(skel, test_pages), "reload 1");
			ASSERT_OK(write_pages(skel, test_pages), "reload 2 rewrites the flow's slot");
			req = next_seg(&t, ISN + 1, cookie + 1, F_ACK | F_PSH, REQUEST);
			expect_drop(skel, GEOFW_ACT_HTTP403, &req, GEOFW_RESP_BAD_COOKIE);
		}
	}
	memset(cb_meta, 0, sizeof(cb_meta));
	obj_get();
}

/*
 * What filling the placeholders costs the responder, per answered request
 * (BPF_PROG_RUN, the mean of 2,000 single runs, each with a fresh flow
 * budget): printed, not asserted — the target is a `make bench` ratio
 * (bench/http403.sh).
 */
void test_tc_pages_cost(void)
{
	static const char *const srcs[] = { V4C, V6C };
	struct seg t, req;
	__u8 in[2048], out[4096];
	__u64 ns[2][2] = {};
	__u32 cookie;
	char err[256];
	size_t i, len;
	int k, n;

	if (!obj_get() || !pages_set(skel))
		return;
	cb_meta[0] = GEOFW_R_COUNTRY_BLOCK | (unsigned int)geofw_country_id("RU") << 8;
	for (k = 0; k < 2; k++) {
		if (k == 1) {	/* the same kind of page without placeholders */
			ASSERT_OK(geofw_page_compile(test_body, sizeof(test_body) - 1, "static", false,
						     &test_pages->page[0], err, sizeof(err)), err);
			ASSERT_OK(write_pages(skel, test_pages), "static pages");
		}
		for (i = 0; i < ARRAY_SIZE(srcs); i++) {
			memset(&t, 0, sizeof(t));
			t.src = srcs[i];
			t.mss = 1460;
			if (!handshake(skel, key1, &t, &cookie))
				goto out;
			req = next_seg(&t, ISN + 1, cookie + 1, F_ACK | F_PSH, REQUEST);
			len = seg_build(&req, in, sizeof(in));
			for (n = 0; n < 2000; n++) {
				struct __sk_buff ctx = { .cb = { GEOFW_ACT_HTTP403, cb_meta[0] } };
				LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in,
					    .data_size_in = (__u32)len, .data_out = out,
					    .data_size_out = sizeof(out), .ctx_in = &ctx,
					    .ctx_size_in = sizeof(ctx), .repeat = 1);

				clear_flow_budget(skel);
				if (!ASSERT_OK(bpf_prog_test_run_opts(
						bpf_program__fd(skel->progs.geofw_tc_test), &opts), "run") ||
				    !ASSERT_EQ(opts.retval, TC_ACT_REDIRECT, "answered"))
					goto out;
				ns[k][i] += opts.duration;
			}
		}
	}
	printf("# responder, ns per answered request: placeholders v4 %llu v6 %llu, "
	       "static page v4 %llu v6 %llu\n", ns[0][0] / 2000, ns[0][1] / 2000,
	       ns[1][0] / 2000, ns[1][1] / 2000);
out:
	memset(cb_meta, 0, sizeof(cb_meta));
	obj_get();
}
