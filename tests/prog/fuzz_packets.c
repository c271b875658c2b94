// SPDX-License-Identifier: GPL-2.0-only
/*
 * Packet fuzzing through BPF_PROG_RUN: random and mutated frames against
 * random policies, the kernel's verdict checked against the same code built
 * for the host.
 *
 * Each round installs a small random policy (allow and block rules, a geo
 * table, per-country policy, random config knobs) and runs frames through
 * the XDP program: random VLAN stacks of 0-4 tags, IPv4 with options, bogus
 * IHL, versions and lengths, fragments, IPv6 with random extension-header
 * chains and IPv4-mapped sources, random TCP flags and options, then
 * truncated or corrupted.  For every frame:
 *
 *  - BPF_PROG_RUN succeeds and the XDP verdict is what the host computes:
 *    bpf/parse.h compiled here parses the same bytes, geofw_explain() (the
 *    decision code of bpf/decide.h on the same maps) decides, and the rules
 *    of bpf/xdp_main.h turn the action into a verdict.  A frame handed to the
 *    responder carries the metadata the decision implies; any other comes
 *    out unchanged.
 *  - the production TC program runs without error and, with no XDP metadata
 *    in front of the frame, returns TC_ACT_OK.
 *  - a frame handed to the responder, replayed through the test TC entry
 *    (tests/prog/bpf/tc_test.bpf.c, the production responder code), is
 *    dropped or answered; an answer is a well-formed TCP segment back to the
 *    sender with correct checksums.
 *
 * The seed is fixed and printed; GEOFW_FUZZ_SEED=N picks another,
 * GEOFW_FUZZ_FRAMES=N another number of frames.
 */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <net/if.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "countries.h"
#include "explain.h"
#include "geotable.h"
#include "loader.h"
#include "maps.h"
#include "mapread.h"
#include "pkt.h"
#include "respbuild.h"
#include "responder.h"
#include "test.h"
#include "xdpkeep.h"
#include "tc_test.skel.h"

/* The data plane's parser, built for the host (it uses no BPF helper). */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunknown-pragmas"
#include "../../bpf/parse.h"
#pragma GCC diagnostic pop

#define DEFAULT_SEED		0x67656f6677ULL
#define DEFAULT_FRAMES		120000
#define FRAMES_PER_ROUND	2500
#define MAX_FRAME		1600
#define MAX_REPORTS		10	/* failing frames printed in full */

#define TCP_RST			0x04
#define TCP_ACK			0x10

#define POOL			8	/* addresses per family the rules are made of */
#define ROUND_COUNTRIES		4

/* ---- random numbers: splitmix64, our own so a seed means the same everywhere */

static __u64 rng_state;

static __u64 rnd64(void)
{
	__u64 z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* 0..n-1 */
static __u32 rnd(__u32 n)
{
	return n ? (__u32)(rnd64() % n) : 0;
}

/* true with probability pct percent */
static bool chance(__u32 pct)
{
	return rnd(100) < pct;
}

static void rnd_bytes(__u8 *p, size_t n)
{
	while (n--)
		*p++ = (__u8)rnd64();
}

static __u64 env_u64(const char *name, __u64 def)
{
	const char *v = getenv(name);
	char *end;
	__u64 x;

	if (!v || !*v)
		return def;
	errno = 0;
	x = strtoull(v, &end, 0);
	return errno || *end ? def : x;
}

static __u64 boot_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (__u64)ts.tv_sec * 1000000000ull + (__u64)ts.tv_nsec;
}

static void put16(__u8 *p, __u16 v)
{
	p[0] = (__u8)(v >> 8);
	p[1] = (__u8)v;
}

static __u16 get16(const __u8 *p)
{
	return (__u16)(p[0] << 8 | p[1]);
}

/* ---- the policy of a round ---------------------------------------------------- */

struct round {
	__u8 v4[POOL][4];
	__u8 v6[POOL][16];
	__u8 countries[ROUND_COUNTRIES];
	struct geofw_config cfg;
	/* what was installed, for failure reports */
	char desc[1024];
	size_t desc_len;
};

static void describe(struct round *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void describe(struct round *r, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (r->desc_len >= sizeof(r->desc) - 1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(r->desc + r->desc_len, sizeof(r->desc) - r->desc_len, fmt, ap);
	va_end(ap);
	if (n > 0)
		r->desc_len += (size_t)n;
	if (r->desc_len >= sizeof(r->desc))
		r->desc_len = sizeof(r->desc) - 1;
}

static void random_v4(__u8 a[4])
{
	static const __u8 nets[3][3] = { { 192, 0, 2 }, { 198, 51, 100 }, { 203, 0, 113 } };

	if (chance(75)) {
		memcpy(a, nets[rnd(3)], 3);
		a[3] = (__u8)rnd64();
	} else {
		rnd_bytes(a, 4);
	}
}

static void random_v6(__u8 a[16])
{
	rnd_bytes(a, 16);
	if (chance(75)) {
		a[0] = 0x20;
		a[1] = 0x01;
		a[2] = 0x0d;
		a[3] = 0xb8;
	}
}

/* A prefix covering addr: mostly long enough to be selective, sometimes /0. */
static void random_prefix(struct geofw_cidr *c, int family, const __u8 *addr)
{
	int max = family == 4 ? 32 : 128;

	memset(c, 0, sizeof(*c));
	c->family = (__u8)family;
	memcpy(c->addr, addr, family == 4 ? 4 : 16);
	if (chance(3))
		c->prefixlen = 0;
	else if (chance(40))
		c->prefixlen = (__u8)max;
	else
		c->prefixlen = (__u8)(max / 4 + rnd(max - max / 4 + 1));
	geofw_cidr_mask(c);
}

static const char *cidr_str(const struct geofw_cidr *c, char buf[GEOFW_CIDR_STRLEN])
{
	if (geofw_cidr_format(c, buf, GEOFW_CIDR_STRLEN))
		strcpy(buf, "?");
	return buf;
}

static void pool_prefix(const struct round *r, struct geofw_cidr *c)
{
	if (chance(50))
		random_prefix(c, 4, r->v4[rnd(POOL)]);
	else
		random_prefix(c, 6, r->v6[rnd(POOL)]);
}

static int setup_round(struct geofw_loaded *fw, struct round *r)
{
	static const __u8 blocking[] = { GEOFW_ACT_DROP, GEOFW_ACT_REJECT, GEOFW_ACT_HTTP403,
					 GEOFW_ACT_LOG };
	struct geofw_geo_prefix g4[8], g6[8];
	unsigned int n_countries = t_country_count();
	size_t n4 = 0, n6 = 0;
	char pb[GEOFW_CIDR_STRLEN];
	struct geofw_cidr c;
	__u64 now = boot_ns();
	int i, n, err;

	r->desc_len = 0;
	r->desc[0] = '\0';
	for (i = 0; i < POOL; i++) {
		random_v4(r->v4[i]);
		random_v6(r->v6[i]);
	}
	for (i = 0; i < ROUND_COUNTRIES; i++)
		r->countries[i] = (__u8)(1 + rnd(n_countries));

	if ((err = geofw_maps_reset_rules(&fw->maps)) || (err = geofw_geo_clear(&fw->maps))) {
		test__fail(__FILE__, __LINE__, "resetting the maps: %d", err);
		return -1;
	}

	for (n = rnd(4), i = 0; i < n; i++) {
		struct geofw_allow val = { .rule_id = rnd(100) };

		pool_prefix(r, &c);
		if ((err = geofw_allow_put(&fw->maps, &c, &val)))
			goto map_error;
		describe(r, "allow %s; ", cidr_str(&c, pb));
	}
	for (n = rnd(7), i = 0; i < n; i++) {
		struct geofw_block val = {
			.action = blocking[rnd(4)],
			.rule_id = rnd(100),
		};

		/* Expired or not, by a margin no run comes close to. */
		if (chance(20))
			val.expires_ns = now > 3600000000000ull ? now - 3600000000000ull : 1;
		else if (chance(20))
			val.expires_ns = now + 3600000000000ull;
		pool_prefix(r, &c);
		if ((err = geofw_block_put(&fw->maps, &c, &val)))
			goto map_error;
		describe(r, "block %s %s%s; ", cidr_str(&c, pb), geofw_action_name(val.action),
			 !val.expires_ns ? "" : val.expires_ns < now ? " expired" : " later");
	}

	/* Geo table: nested and overlapping prefixes, some longer than /24
	 * (IPv4) and /64 (IPv6), which live in the second-level tables. */
	if (chance(85)) {
		struct geofw_geo_image img;

		for (n = rnd(9), i = 0; i < n; i++, n4++) {
			random_prefix(&c, 4, r->v4[rnd(POOL)]);
			memset(&g4[n4], 0, sizeof(g4[n4]));
			memcpy(g4[n4].addr, c.addr, 4);
			g4[n4].prefixlen = c.prefixlen;
			g4[n4].country_id = r->countries[rnd(ROUND_COUNTRIES)];
			describe(r, "geo %s %s; ", cidr_str(&c, pb),
				 geofw_country_code(g4[n4].country_id));
		}
		for (n = rnd(9), i = 0; i < n; i++, n6++) {
			random_prefix(&c, 6, r->v6[rnd(POOL)]);
			memset(&g6[n6], 0, sizeof(g6[n6]));
			memcpy(g6[n6].addr, c.addr, 16);
			g6[n6].prefixlen = c.prefixlen;
			g6[n6].country_id = r->countries[rnd(ROUND_COUNTRIES)];
			describe(r, "geo %s %s; ", cidr_str(&c, pb),
				 geofw_country_code(g6[n6].country_id));
		}
		if ((err = geofw_geo_build(g4, n4, g6, n6, &img))) {
			test__fail(__FILE__, __LINE__, "geo build: %d", err);
			return -1;
		}
		err = geofw_geo_install(&fw->maps, bpf_object__btf(fw->xdp_obj), &img);
		geofw_geo_image_free(&img);
		if (err) {
			test__fail(__FILE__, __LINE__, "geo install: %d", err);
			return -1;
		}
	}

	for (i = 0; i < ROUND_COUNTRIES; i++) {
		struct geofw_country pol = { .listed = 1, .action = (__u8)rnd(GEOFW_ACT_MAX) };

		if (chance(50))
			continue;
		if ((err = geofw_country_put(&fw->maps, r->countries[i], &pol)))
			goto map_error;
		describe(r, "country %s %s; ", geofw_country_code(r->countries[i]),
			 geofw_action_name(pol.action));
	}

	/* The knobs, on top of what the geo install left (slot, generation). */
	if ((err = geofw_config_read(&fw->maps, &r->cfg)))
		goto map_error;
	r->cfg.country_mode = chance(50) ? GEOFW_MODE_ALLOW_LISTED : GEOFW_MODE_BLOCK_LISTED;
	r->cfg.country_block_action = blocking[rnd(4)];
	r->cfg.unknown_country_action = (__u8)rnd(GEOFW_ACT_MAX);
	r->cfg.responder_enabled = chance(50);
	for (i = 0; i < GEOFW_MF_MAX; i++)
		r->cfg.malformed_action[i] = chance(50) ? GEOFW_ACT_PASS : (__u8)rnd(GEOFW_ACT_MAX);
	if ((err = geofw_config_write(&fw->maps, &r->cfg)))
		goto map_error;
	{
		/* A NAT64 prefix (judged as IPv4) in half the rounds. */
		struct geofw_nat64 t = {};

		if (chance(50)) {
			static const __u8 p96[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0x64 };

			t.count = 1;
			memcpy(t.prefix[0].addr, p96, 16);
			t.prefix[0].prefixlen = 96;
			describe(r, "nat64 2001:db8:64::/96");
		}
		if (bpf_map_update_elem(fw->maps.nat64, &(__u32){ 0 }, &t, BPF_ANY)) {
			err = -errno;
			goto map_error;
		}
	}
	describe(r, "mode %s; unlisted %s; unknown %s; responder %s",
		 r->cfg.country_mode ? "allow" : "block",
		 geofw_action_name(r->cfg.country_block_action),
		 geofw_action_name(r->cfg.unknown_country_action),
		 r->cfg.responder_enabled ? "on" : "off");
	return 0;

map_error:
	test__fail(__FILE__, __LINE__, "writing the policy: %d (%s)", err, strerror(-err));
	return -1;
}

/* ---- frames -------------------------------------------------------------------- */

struct frame {
	__u8 b[MAX_FRAME];
	size_t len;
};

/* A source: a pool address, a neighbour of one, or anything. */
static void pick_src(const struct round *r, int family, __u8 *a)
{
	int n = family == 4 ? 4 : 16;

	if (chance(60)) {
		memcpy(a, family == 4 ? r->v4[rnd(POOL)] : r->v6[rnd(POOL)], n);
	} else if (chance(50)) {
		memcpy(a, family == 4 ? r->v4[rnd(POOL)] : r->v6[rnd(POOL)], n);
		a[n - 1 - rnd(2)] ^= (__u8)(1u << rnd(8));
	} else {
		rnd_bytes(a, n);
	}
}

static __u8 pick_l4(void)
{
	__u32 x = rnd(100);

	return x < 55 ? GEOFW_IPPROTO_TCP : x < 75 ? GEOFW_IPPROTO_UDP : x < 85 ? 1 /* ICMP */ :
	       x < 90 ? GEOFW_IPPROTO_ICMPV6 : (__u8)rnd(256);
}

/* L4 header and payload at p (room bytes); returns the length written. */
static size_t put_l4(__u8 proto, __u8 *p, size_t room)
{
	static const __u16 ports[] = { 80, 8080, 443, 22, 53 };
	size_t len, hlen;

	if (proto == GEOFW_IPPROTO_TCP) {
		hlen = chance(80) ? 20 : 20 + 4 * rnd(11);
	} else if (proto == GEOFW_IPPROTO_UDP) {
		hlen = 8;
	} else if (proto == GEOFW_IPPROTO_ICMPV6 || proto == 1) {
		hlen = 8;
	} else {
		hlen = rnd(24);
	}
	len = hlen + (chance(50) ? 0 : rnd(chance(90) ? 64 : 1200));
	if (len > room)
		len = room;
	rnd_bytes(p, len);
	if (len < hlen)
		return len;
	if (proto == GEOFW_IPPROTO_TCP || proto == GEOFW_IPPROTO_UDP) {
		put16(p, (__u16)(1024 + rnd(64000)));
		put16(p + 2, chance(70) ? ports[rnd(5)] : (__u16)rnd64());
	}
	if (proto == GEOFW_IPPROTO_TCP) {
		static const __u8 flags[] = { 0x02, 0x10, 0x18, 0x11, 0x04, 0x14, 0x12 };

		p[12] = chance(90) ? (__u8)(hlen / 4) << 4 : (__u8)rnd64();
		p[13] = chance(70) ? flags[rnd(7)] : (__u8)rnd64();
		put16(p + 14, chance(90) ? (__u16)(1 + rnd(65535)) : 0);
		put16(p + 16, 0);
		if (hlen > 20 && chance(70)) {
			/* An MSS option, then padding. */
			p[20] = 2;
			p[21] = 4;
			put16(p + 22, chance(80) ? (__u16)(500 + rnd(9000)) : (__u16)rnd64());
			memset(p + 24, 1, hlen - 24);
		}
	} else if (proto == GEOFW_IPPROTO_UDP) {
		put16(p + 4, (__u16)len);
	} else if (proto == GEOFW_IPPROTO_ICMPV6) {
		p[0] = chance(50) ? (__u8)(133 + rnd(5)) : (__u8)rnd64();
	}
	return len;
}

static size_t put_ipv4(const struct round *r, __u8 *ip, size_t room)
{
	size_t ihl = chance(80) ? 20 : 20 + 4 * rnd(11), l4len;
	__u8 proto = pick_l4();
	__u16 frag = 0;

	if (room < ihl)
		return 0;
	rnd_bytes(ip, ihl);
	ip[0] = (__u8)(0x40 | ihl / 4);
	if (chance(4))
		ip[0] = (__u8)((chance(50) ? 0x40 : (rnd(16) << 4)) | rnd(16));	/* bogus */
	ip[1] = 0;
	if (chance(15))
		frag = chance(50) ? 0x2000 : (__u16)(1 + rnd(0x1fff)) | (chance(50) ? 0x2000 : 0);
	put16(ip + 6, frag | (chance(50) ? 0x4000 : 0));
	ip[8] = (__u8)(1 + rnd(255));
	ip[9] = proto;
	put16(ip + 10, 0);
	pick_src(r, 4, ip + 12);
	random_v4(ip + 16);
	l4len = put_l4(proto, ip + ihl, room - ihl);
	put16(ip + 2, (__u16)(ihl + l4len));
	if (chance(4))
		put16(ip + 2, chance(50) ? (__u16)rnd(ihl) : (__u16)rnd64());	/* bogus */
	put16(ip + 10, pkt_csum(ip, ihl, 0));
	return ihl + l4len;
}

static size_t put_ipv6(const struct round *r, __u8 *ip, size_t room)
{
	static const __u8 ext[] = { GEOFW_IPPROTO_HOPOPTS, GEOFW_IPPROTO_ROUTING,
				    GEOFW_IPPROTO_DSTOPTS, GEOFW_IPPROTO_FRAGMENT, GEOFW_IPPROTO_AH };
	__u8 *nexthdr = ip + 6, proto = pick_l4();
	size_t off = 40, n_ext, i;

	if (room < 40)
		return 0;
	rnd_bytes(ip, 40);
	ip[0] = (__u8)(0x60 | (ip[0] & 0x0f));
	if (chance(3))
		ip[0] = (__u8)(rnd(16) << 4 | (ip[0] & 0x0f));	/* bogus version */
	ip[7] = chance(40) ? 255 : (__u8)rnd64();
	if (chance(15)) {
		/* IPv4 carried in the source: judged as IPv4.  Mapped,
		 * compatible, NAT64 (well-known and the configured prefix),
		 * 6to4. */
		int form = (int)rnd(5);

		memset(ip + 8, 0, 16);
		if (form == 0)
			ip[18] = ip[19] = 0xff;
		else if (form == 2)
			ip[9] = 0x64, ip[10] = 0xff, ip[11] = 0x9b;
		else if (form == 3)
			ip[8] = 0x20, ip[9] = 0x01, ip[10] = 0x0d, ip[11] = 0xb8, ip[13] = 0x64;
		if (form == 4) {
			ip[8] = 0x20;
			ip[9] = 0x02;
			pick_src(r, 4, ip + 10);
			rnd_bytes(ip + 14, 10);
		} else {
			pick_src(r, 4, ip + 20);
		}
	} else {
		pick_src(r, 6, ip + 8);
	}
	random_v6(ip + 24);

	/* Extension headers: usually none, sometimes more than the parser walks. */
	n_ext = chance(60) ? 0 : chance(80) ? 1 + rnd(3) : rnd(GEOFW_MAX_IPV6_EXTHDRS + 4);
	for (i = 0; i < n_ext && off + 8 <= room; i++) {
		__u8 type = ext[rnd(sizeof(ext))], *h = ip + off;
		size_t len;

		*nexthdr = type;
		nexthdr = h;
		rnd_bytes(h, 8);
		if (type == GEOFW_IPPROTO_FRAGMENT) {
			len = 8;
			h[1] = 0;
			put16(h + 2, chance(50) ? 0x0001 : (__u16)rnd64());	/* first or any */
		} else {
			h[1] = chance(85) ? (__u8)rnd(3) : (__u8)rnd64();
			len = type == GEOFW_IPPROTO_AH ? ((size_t)h[1] + 2) * 4 : ((size_t)h[1] + 1) * 8;
		}
		if (off + len > room)
			len = room - off;	/* cut short: the parser must stop cleanly */
		if (len > 8)
			rnd_bytes(h + 8, len - 8);
		off += len;
	}
	*nexthdr = proto;
	off += put_l4(proto, ip + off, room - off);
	put16(ip + 4, (__u16)(off - 40));
	if (chance(4))
		put16(ip + 4, (__u16)rnd64());	/* bogus */
	return off;
}

static void make_frame(const struct round *r, struct frame *f)
{
	size_t off = 12, n_tags, i, room;
	__u16 ethertype;
	__u32 kind = rnd(100);

	if (kind < 3) {
		/* Anything at all. */
		f->len = GEOFW_ETH_HLEN + rnd(200);
		rnd_bytes(f->b, f->len);
		return;
	}
	rnd_bytes(f->b, 12);				/* MACs */
	n_tags = chance(50) ? 0 : chance(50) ? 1 : chance(60) ? 2 : 3 + rnd(2);
	for (i = 0; i < n_tags; i++, off += 4) {
		put16(f->b + off, chance(50) ? GEOFW_ETH_P_8021Q : GEOFW_ETH_P_8021AD);
		put16(f->b + off + 2, (__u16)rnd64());	/* PCP, DEI, VID */
	}
	if (kind < 48)
		ethertype = GEOFW_ETH_P_IP;
	else if (kind < 93)
		ethertype = GEOFW_ETH_P_IPV6;
	else if (kind < 96)
		ethertype = 0x0806;	/* ARP */
	else
		ethertype = (__u16)rnd64();
	put16(f->b + off, ethertype);
	off += 2;
	room = MAX_FRAME - off;
	if (ethertype == GEOFW_ETH_P_IP)
		off += put_ipv4(r, f->b + off, room);
	else if (ethertype == GEOFW_ETH_P_IPV6)
		off += put_ipv6(r, f->b + off, room);
	else {
		i = 28 + rnd(40);
		rnd_bytes(f->b + off, i);
		off += i;
	}
	f->len = off;

	/* Mutations.  BPF_PROG_RUN refuses frames shorter than an Ethernet
	 * header, so cuts stop there. */
	if (chance(15) && f->len > GEOFW_ETH_HLEN)
		f->len = GEOFW_ETH_HLEN + rnd((__u32)(f->len - GEOFW_ETH_HLEN));
	if (chance(10)) {
		int n = 1 + rnd(4);

		while (n--) {
			i = rnd((__u32)f->len);
			if (chance(50))
				f->b[i] ^= (__u8)(1u << rnd(8));
			else
				f->b[i] = (__u8)rnd64();
		}
	}
}

/* ---- the checks -------------------------------------------------------------- */

struct stats {
	__u64 frames, non_ip, malformed, nd, ip, xdp_pass, xdp_drop, to_responder, l3;
	__u64 tc_refused, tc_shot, tc_redirect;
	__u64 failures;
};

static void report_frame(const struct round *r, const struct frame *f, __u64 seed, __u64 idx)
{
	char hex[3 * 160 + 8];
	size_t i, n = f->len < 160 ? f->len : 160;

	for (i = 0; i < n; i++)
		snprintf(hex + 3 * i, 4, "%02x ", f->b[i]);
	if (f->len > n)
		strcpy(hex + 3 * n, "...");
	printf("#   seed %#llx, frame %llu, %zu bytes: %s\n", (unsigned long long)seed,
	       (unsigned long long)idx, f->len, hex);
	printf("#   policy: %s\n", r->desc);
}

/* The verdict bpf/xdp_main.h gives, from the host's parse and decision. */
static int expected_verdict(const struct geofw_config *cfg, const struct geofw_pkt *pkt,
			    enum geofw_parse_result res, const struct geofw_explain *ex,
			    bool *to_responder)
{
	*to_responder = false;
	if (res == GEOFW_PARSE_NON_IP)
		return XDP_PASS;
	if (res == GEOFW_PARSE_MALFORMED)
		return cfg->malformed_action[pkt->malformed & (GEOFW_MF_MAX - 1)] ==
		       GEOFW_ACT_PASS ? XDP_PASS : XDP_DROP;
	if (geofw_is_nd(pkt))
		return XDP_PASS;
	switch (ex->action) {
	case GEOFW_ACT_PASS:
	case GEOFW_ACT_LOG:
		return XDP_PASS;
	case GEOFW_ACT_REJECT:
	case GEOFW_ACT_HTTP403:
		if (cfg->responder_enabled && pkt->l4proto == GEOFW_IPPROTO_TCP && pkt->has_l4) {
			*to_responder = true;
			return XDP_PASS;
		}
		return XDP_DROP;
	default:
		return XDP_DROP;
	}
}

/* An answer of the responder: a TCP segment from the frame's destination
 * back to its source, same L2 layout, checksums right. */
static const char *check_reply(const struct frame *in, const struct geofw_pkt *ipkt,
			       const __u8 *out, size_t len)
{
	struct geofw_pkt opkt = {};
	const __u8 *iip = in->b + ipkt->l3_off, *oip, *itcp, *otcp;
	size_t iplen, tcplen, alen;
	bool v6;
	__u32 pseudo;

	if (geofw_parse(out, out + len, &opkt) != GEOFW_PARSE_IP)
		return "reply does not parse as IP";
	if (opkt.l3_off != ipkt->l3_off || opkt.l4proto != GEOFW_IPPROTO_TCP || !opkt.has_l4)
		return "reply is not TCP at the frame's L3 offset";
	oip = out + opkt.l3_off;
	v6 = (iip[0] >> 4) == 6;
	if ((oip[0] >> 4) != (iip[0] >> 4))
		return "reply has another IP version";
	alen = v6 ? 16 : 4;
	if (memcmp(oip + (v6 ? 8 : 12), iip + (v6 ? 24 : 16), alen) ||
	    memcmp(oip + (v6 ? 24 : 16), iip + (v6 ? 8 : 12), alen))
		return "reply addresses are not the frame's, swapped";
	itcp = in->b + ipkt->l4_off;
	otcp = out + opkt.l4_off;
	if (get16(otcp) != get16(itcp + 2) || get16(otcp + 2) != get16(itcp))
		return "reply ports are not the frame's, swapped";
	if (v6) {
		iplen = 40;
		if ((size_t)get16(oip + 4) + 40 + opkt.l3_off != len)
			return "reply IPv6 payload length does not match the frame";
		pseudo = pkt_csum_add(oip + 8, 32, 0);
	} else {
		iplen = 20;
		if (oip[0] != 0x45)
			return "reply IPv4 header has options";
		if ((size_t)get16(oip + 2) + opkt.l3_off != len)
			return "reply IPv4 total length does not match the frame";
		if (pkt_csum(oip, 20, 0))
			return "reply IPv4 header checksum";
		pseudo = pkt_csum_add(oip + 12, 8, 0);
	}
	if (opkt.l4_off != opkt.l3_off + iplen)
		return "reply carries IP options or extension headers";
	tcplen = len - opkt.l4_off;
	if (tcplen < 20 || (size_t)(otcp[12] >> 4) * 4 > tcplen)
		return "reply TCP header length";
	if (!(otcp[13] & (TCP_RST | TCP_ACK)))
		return "reply is neither RST nor ACK";
	if (pkt_csum(otcp, tcplen, pseudo + GEOFW_IPPROTO_TCP + (__u32)tcplen))
		return "reply TCP checksum";
	return NULL;
}

/*
 * BPF_PROG_RUN on an skb refuses an untagged IPv4 or IPv6 frame too short
 * for its IP header (the kernel's test harness reads the addresses into a
 * socket): those reach XDP only.
 */
static bool tc_run_refuses(const struct frame *f)
{
	__u16 proto = get16(f->b + 12);

	return (proto == GEOFW_ETH_P_IP && f->len < GEOFW_ETH_HLEN + GEOFW_IPV4_HLEN) ||
	       (proto == GEOFW_ETH_P_IPV6 && f->len < GEOFW_ETH_HLEN + GEOFW_IPV6_HLEN);
}

/*
 * geofw_explain() costs a dozen bpf(2) calls; within a round the maps do
 * not change (expiry times are an hour away), so its answer for a source
 * address is remembered until the next round.
 */
#define CACHE_SLOTS	4096

struct cache_slot {
	bool used;
	__u8 family;
	__u8 addr[16];
	struct geofw_explain ex;
};

static struct cache_slot cache[CACHE_SLOTS];

static int explain_cached(const struct geofw_maps *m, const struct geofw_pkt *pkt,
			  struct geofw_explain *ex)
{
	__u32 h = pkt->family, i, n;
	int err;

	for (i = 0; i < 16; i++)
		h = (h ^ pkt->saddr[i]) * 16777619u;
	for (n = 0, i = h % CACHE_SLOTS; n < CACHE_SLOTS / 2; n++, i = (i + 1) % CACHE_SLOTS) {
		struct cache_slot *c = &cache[i];

		if (!c->used) {
			err = geofw_explain(m, pkt->family, pkt->saddr, ex);
			if (!err) {
				c->used = true;
				c->family = pkt->family;
				memcpy(c->addr, pkt->saddr, 16);
				c->ex = *ex;
			}
			return err;
		}
		if (c->family == pkt->family && !memcmp(c->addr, pkt->saddr, 16)) {
			*ex = c->ex;
			return 0;
		}
	}
	return geofw_explain(m, pkt->family, pkt->saddr, ex);	/* cache full */
}

static void cache_clear(void)
{
	memset(cache, 0, sizeof(cache));
}

struct ctx {
	struct geofw_loaded *fw;
	struct geofw_tc_test *tc_test;
	struct round *round;
	struct stats *st;
	__u64 seed;
};

static void fail_frame(struct ctx *c, const struct frame *f, __u64 idx, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void fail_frame(struct ctx *c, const struct frame *f, __u64 idx, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	c->st->failures++;
	if (c->st->failures > MAX_REPORTS)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	test__fail(__FILE__, __LINE__, "%s", msg);
	report_frame(c->round, f, c->seed, idx);
}

/* The host's verdict for a parsed frame (its decision through
 * geofw_explain()), or -1 when that failed (reported). */
static int host_verdict(struct ctx *c, const struct frame *f, __u64 idx,
			enum geofw_parse_result res, const struct geofw_pkt *pkt,
			struct geofw_explain *ex, bool *to_responder)
{
	int err;

	if (res == GEOFW_PARSE_IP && !geofw_is_nd(pkt)) {
		err = explain_cached(&c->fw->maps, pkt, ex);
		if (err) {
			fail_frame(c, f, idx, "geofw_explain: %d (%s)", err, strerror(-err));
			return -1;
		}
	}
	return expected_verdict(&c->round->cfg, pkt, res, ex, to_responder);
}

/*
 * The bytes after the Ethernet header, as a device without one delivers a
 * packet: geofw_xdp_l3 against the host's geofw_parse_l3() and decision.
 * Such devices have no responder, so reject/http403 must drop.
 */
static void run_frame_l3(struct ctx *c, const struct frame *f, __u64 idx)
{
	static __u8 out[MAX_FRAME + 64];
	const __u8 *ip = f->b + GEOFW_ETH_HLEN;
	size_t len = f->len > GEOFW_ETH_HLEN ? f->len - GEOFW_ETH_HLEN : 0;
	struct geofw_explain ex = {};
	struct geofw_pkt pkt = {};
	enum geofw_parse_result res;
	bool to_responder;
	int want, err;
	LIBBPF_OPTS(bpf_test_run_opts, run,
		.data_in = ip,
		.data_size_in = (__u32)len,
		.data_out = out,
		.data_size_out = sizeof(out),
		.repeat = 1,
	);

	if (len < GEOFW_ETH_HLEN)	/* BPF_PROG_RUN's minimum */
		return;
	res = geofw_parse_l3(ip, ip + len, &pkt);
	want = host_verdict(c, f, idx, res, &pkt, &ex, &to_responder);
	if (want < 0)
		return;
	if (to_responder)
		want = XDP_DROP;
	c->st->l3++;
	err = bpf_prog_test_run_opts(c->fw->xdp_l3_prog_fd, &run);
	if (err) {
		fail_frame(c, f, idx, "L3 BPF_PROG_RUN failed: %d (%s)", err, strerror(-err));
		return;
	}
	if (run.retval != (__u32)want)
		fail_frame(c, f, idx, "L3 entry: XDP verdict %u, host expects %d (parse %d, class %u, "
			   "family %u, action %u, reason %s)", run.retval, want, res, pkt.malformed,
			   pkt.family, ex.action, geofw_reason_name(ex.reason));
	else if (want == XDP_PASS && (run.data_size_out != len || memcmp(out, ip, len)))
		fail_frame(c, f, idx, "L3 entry: a passed packet was changed");
}

static void run_frame(struct ctx *c, const struct frame *f, __u64 idx)
{
	static __u8 out[MAX_FRAME + 4096];
	const struct geofw_config *cfg = &c->round->cfg;
	struct geofw_explain ex = {};
	struct geofw_pkt pkt = {};
	enum geofw_parse_result res;
	bool to_responder;
	int want, err;
	LIBBPF_OPTS(bpf_test_run_opts, run,
		.data_in = f->b,
		.data_size_in = (__u32)f->len,
		.data_out = out,
		.data_size_out = sizeof(out),
		.repeat = 1,
	);

	c->st->frames++;
	res = geofw_parse(f->b, f->b + f->len, &pkt);
	want = host_verdict(c, f, idx, res, &pkt, &ex, &to_responder);
	if (want < 0)
		return;
	c->st->non_ip += res == GEOFW_PARSE_NON_IP;
	c->st->malformed += res == GEOFW_PARSE_MALFORMED;
	c->st->nd += res == GEOFW_PARSE_IP && geofw_is_nd(&pkt);
	c->st->ip += res == GEOFW_PARSE_IP;

	/* XDP.  The TC responder acknowledges every hand-off (gfw_resp_watch);
	 * here the test does, so the responder is always alive. */
	if (cfg->responder_enabled) {
		struct geofw_resp_watch w = {};
		struct timespec ts;
		__u32 lo = if_nametoindex("lo");

		clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
		w.ack_ns = (__u64)ts.tv_sec * 1000000000ull + (__u64)ts.tv_nsec;
		bpf_map_update_elem(c->fw->maps.resp_watch, &lo, &w, BPF_ANY);
	}
	err = bpf_prog_test_run_opts(c->fw->xdp_prog_fd, &run);
	if (err) {
		fail_frame(c, f, idx, "XDP BPF_PROG_RUN failed: %d (%s)", err, strerror(-err));
		return;
	}
	if (run.retval != (__u32)want) {
		fail_frame(c, f, idx,
			   "XDP verdict %u, host expects %d (parse %d, class %u, family %u, action %u, reason %s, l4 %u/%u)",
			   run.retval, want, res, pkt.malformed, pkt.family, ex.action,
			   geofw_reason_name(ex.reason), pkt.l4proto, pkt.has_l4);
		return;
	}
	c->st->xdp_pass += want == XDP_PASS;
	c->st->xdp_drop += want == XDP_DROP;
	if (to_responder) {
		struct geofw_xdp_meta meta;

		c->st->to_responder++;
		if (run.data_size_out != f->len + sizeof(meta)) {
			fail_frame(c, f, idx, "handed to the responder without metadata (%u bytes out)",
				   run.data_size_out);
			return;
		}
		memcpy(&meta, out, sizeof(meta));
		if (meta.magic != GEOFW_META_MAGIC || meta.action != ex.action ||
		    meta.reason != ex.reason || meta.country_id != ex.country_id ||
		    memcmp(out + sizeof(meta), f->b, f->len)) {
			fail_frame(c, f, idx,
				   "metadata %#x action %u reason %u country %u, expected action %u reason %u country %u",
				   meta.magic, meta.action, meta.reason, meta.country_id, ex.action,
				   ex.reason, ex.country_id);
			return;
		}
	} else if (want == XDP_PASS && (run.data_size_out != f->len || memcmp(out, f->b, f->len))) {
		fail_frame(c, f, idx, "passed frame changed (%u bytes out)", run.data_size_out);
		return;
	}

	/* TC, production entry: no metadata here, so nothing to answer. */
	LIBBPF_OPTS(bpf_test_run_opts, tc,
		.data_in = f->b,
		.data_size_in = (__u32)f->len,
		.data_out = out,
		.data_size_out = sizeof(out),
		.repeat = 1,
	);
	err = bpf_prog_test_run_opts(c->fw->tc_prog_fd, &tc);
	if (err == -EINVAL && tc_run_refuses(f)) {
		c->st->tc_refused++;
	} else if (err) {
		fail_frame(c, f, idx, "TC BPF_PROG_RUN failed: %d (%s)", err, strerror(-err));
		return;
	}
	if (!err && tc.retval != TC_ACT_OK) {
		fail_frame(c, f, idx, "TC without metadata returned %u, not TC_ACT_OK", tc.retval);
		return;
	}

	/* TC, the responder itself, for frames XDP handed over. */
	if (to_responder && c->tc_test) {
		struct __sk_buff skb = {
			.cb = { ex.action, ex.reason | (__u32)ex.country_id << 8 },
		};
		LIBBPF_OPTS(bpf_test_run_opts, resp,
			.data_in = f->b,
			.data_size_in = (__u32)f->len,
			.data_out = out,
			.data_size_out = sizeof(out),
			.ctx_in = &skb,
			.ctx_size_in = sizeof(skb),
			.repeat = 1,
		);
		const char *why;

		err = bpf_prog_test_run_opts(bpf_program__fd(c->tc_test->progs.geofw_tc_test), &resp);
		if (err) {
			fail_frame(c, f, idx, "responder BPF_PROG_RUN failed: %d (%s)", err,
				   strerror(-err));
			return;
		}
		if (resp.retval == TC_ACT_SHOT) {
			c->st->tc_shot++;
		} else if (resp.retval == TC_ACT_REDIRECT) {
			c->st->tc_redirect++;
			why = check_reply(f, &pkt, out, resp.data_size_out);
			if (why)
				fail_frame(c, f, idx, "%s (%u bytes out)", why, resp.data_size_out);
		} else {
			fail_frame(c, f, idx, "responder returned %u: neither dropped nor answered",
				   resp.retval);
		}
	}
}

static void unpin_all(struct bpf_object *obj)
{
	struct bpf_map *map;

	bpf_object__for_each_map(map, obj)
		bpf_map__set_pin_path(map, NULL);
}

/* The test TC entry with a cookie key and a 403 page, maps of its own. */
static struct geofw_tc_test *load_responder(void)
{
	static const char body[] = "<html><body><h1>403</h1>fuzz</body></html>\n";
	static const __u16 ports[] = { 80, 8080 };
	struct geofw_responder val = {};
	struct geofw_pages *pages;
	struct geofw_tc_test *s = geofw_tc_test__open();
	char err[256];

	if (!s)
		return NULL;
	unpin_all(s->obj);
	s->rodata->cookie_key[0] = rnd64() | 1;
	s->rodata->cookie_key[1] = rnd64();
	pages = calloc(1, sizeof(*pages));
	if (!pages || geofw_tc_test__load(s) ||
	    geofw_responder_value(&val, ports, 2, err, sizeof(err)) ||
	    t_pages_single(pages, body, sizeof(body) - 1, err, sizeof(err)) ||
	    geofw_pages_write(bpf_map__fd(s->maps.gfw_responder), bpf_map__fd(s->maps.gfw_resp_pages),
			      bpf_map__fd(s->maps.gfw_resp_select), &val, pages)) {
		free(pages);
		geofw_tc_test__destroy(s);
		return NULL;
	}
	free(pages);
	return s;
}

void test_fuzz_packets(void)
{
	__u64 seed = env_u64("GEOFW_FUZZ_SEED", DEFAULT_SEED);
	__u64 frames = env_u64("GEOFW_FUZZ_FRAMES", DEFAULT_FRAMES), idx = 0;
	struct geofw_loaded fw;
	struct stats st = {};
	struct round round;
	struct frame f;
	struct ctx c = { .fw = &fw, .round = &round, .st = &st, .seed = seed };
	__u64 t0 = boot_ns();
	int err, keep[2] = { -1, -1 };

	printf("# packet fuzz: seed %#llx (GEOFW_FUZZ_SEED to change), %llu frames\n",
	       (unsigned long long)seed, (unsigned long long)frames);
	rng_state = seed;
	err = geofw_load(NULL, &fw);
	if (err) {
		test__fail(__FILE__, __LINE__, "cannot load the XDP object: %d", err);
		return;
	}
	if (!ASSERT_TRUE(fw.tc_prog_fd > 0, "TC program loaded"))
		goto out;
	keep[0] = t_xdp_keep(fw.xdp_prog_fd);
	keep[1] = t_xdp_keep(fw.xdp_l3_prog_fd);
	c.tc_test = load_responder();
	if (!ASSERT_TRUE(c.tc_test != NULL, "load the test TC entry"))
		goto out;

	while (idx < frames && st.failures <= MAX_REPORTS) {
		__u64 end = idx + FRAMES_PER_ROUND;

		if (setup_round(&fw, &round))
			break;
		cache_clear();
		for (; idx < end && idx < frames && st.failures <= MAX_REPORTS; idx++) {
			make_frame(&round, &f);
			run_frame(&c, &f, idx);
			if (idx & 1)	/* half the frames: enough, and half the time */
				run_frame_l3(&c, &f, idx);
		}
	}
	if (st.failures > MAX_REPORTS)
		test__fail(__FILE__, __LINE__, "stopped after %d failing frames", MAX_REPORTS);
	else if (st.failures)
		test__fail(__FILE__, __LINE__, "%llu failing frames",
			   (unsigned long long)st.failures);
	printf("# %llu frames in %.1f s: %llu IP (%llu ND), %llu malformed, %llu non-IP; "
	       "XDP %llu pass, %llu drop; TC %llu (%llu refused by BPF_PROG_RUN); "
	       "responder %llu (%llu answered, %llu dropped); L3 entry %llu\n",
	       (unsigned long long)st.frames, (boot_ns() - t0) / 1e9,
	       (unsigned long long)st.ip, (unsigned long long)st.nd,
	       (unsigned long long)st.malformed, (unsigned long long)st.non_ip,
	       (unsigned long long)st.xdp_pass, (unsigned long long)st.xdp_drop,
	       (unsigned long long)(st.frames - st.tc_refused), (unsigned long long)st.tc_refused,
	       (unsigned long long)st.to_responder, (unsigned long long)st.tc_redirect,
	       (unsigned long long)st.tc_shot, (unsigned long long)st.l3);
	ASSERT_TRUE(st.frames >= 100000 || frames < 100000, "at least 100,000 frames");
out:
	if (c.tc_test)
		geofw_tc_test__destroy(c.tc_test);
	t_xdp_drop(keep[0]);
	t_xdp_drop(keep[1]);
	geofw_unload(&fw);
}
