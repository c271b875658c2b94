// SPDX-License-Identifier: GPL-2.0-only
/*
 * bpf/decide.h and bpf/geo.h compiled for the host.  The few BPF helpers they
 * use are provided here: map lookups become bpf(2) lookups on the map fds
 * (map-in-map lookups open the inner map by id), the boot clock is
 * CLOCK_BOOTTIME.  The decision itself is the data plane's own code.
 */
#include "explain.h"

#include <bpf/bpf.h>
#include <bpf/bpf_endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- host stand-ins for the BPF environment -------------------------------- */

#define HOST_SLOTS 4	/* values a caller may hold at once from one map */

struct host_map {
	int fd;
	__u32 value_size;
	bool outer;		/* array of maps: a lookup yields an inner map */
	unsigned int next;
	void *val[HOST_SLOTS];
	struct host_map *inner[GEOFW_GEO_SLOTS];
};

static struct host_map gfw_allow4, gfw_allow6, gfw_block_ip4, gfw_block_ip6, gfw_block_net4,
	gfw_block_net6, gfw_block4_bits, gfw_country, gfw_geo4_flat, gfw_geo4_more, gfw_geo6_tree,
	gfw_geo6_more, gfw_asn4_flat, gfw_asn4_more, gfw_asn6_tree, gfw_asn6_more, gfw_asn_class,
	gfw_port, gfw_port_set, gfw_port_net4, gfw_port_net6, gfw_port_cc, gfw_geo4_top,
	gfw_asn4_top, gfw_port_bits, gfw_port_asn, gfw_geo6_top, gfw_asn6_top, gfw_block6_bits;
static int host_err;

static __u32 fd_value_size(int fd)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	return bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.value_size;
}

static void host_map_release(struct host_map *m)
{
	int i;

	for (i = 0; i < HOST_SLOTS; i++) {
		free(m->val[i]);
		m->val[i] = NULL;
	}
	for (i = 0; i < GEOFW_GEO_SLOTS; i++) {
		if (m->inner[i]) {
			host_map_release(m->inner[i]);
			close(m->inner[i]->fd);
			free(m->inner[i]);
			m->inner[i] = NULL;
		}
	}
}

static struct host_map *inner_map(struct host_map *outer, __u32 slot)
{
	struct host_map *in;
	__u32 id;
	int fd;

	if (slot >= GEOFW_GEO_SLOTS || bpf_map_lookup_elem(outer->fd, &slot, &id))
		return NULL;	/* empty slot: no table */
	if (outer->inner[slot])
		return outer->inner[slot];
	fd = bpf_map_get_fd_by_id(id);
	in = calloc(1, sizeof(*in));
	if (fd < 0 || !in) {
		host_err = fd < 0 ? -errno : -ENOMEM;
		if (fd >= 0)
			close(fd);
		free(in);
		return NULL;
	}
	in->fd = fd;
	in->value_size = fd_value_size(fd);
	outer->inner[slot] = in;
	return in;
}

static void *host_lookup(void *map, const void *key)
{
	struct host_map *m = map;
	void **slot;

	if (m->outer)
		return inner_map(m, *(const __u32 *)key);
	slot = &m->val[m->next++ % HOST_SLOTS];
	if (!*slot) {
		*slot = calloc(1, m->value_size ? m->value_size : 8);
		if (!*slot) {
			host_err = -ENOMEM;
			return NULL;
		}
	}
	if (bpf_map_lookup_elem(m->fd, key, *slot)) {
		if (errno != ENOENT)
			host_err = -errno;
		return NULL;
	}
	return *slot;
}

static __u64 host_boot_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (__u64)ts.tv_sec * 1000000000ull + (__u64)ts.tv_nsec;
}

#define bpf_map_lookup_elem(map, key)	host_lookup((map), (key))
#define bpf_ktime_get_boot_ns()		host_boot_ns()

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunknown-pragmas"
#include "../../bpf/decide.h"
#pragma GCC diagnostic pop

#undef bpf_map_lookup_elem

/* ---- explain ------------------------------------------------------------- */

int geofw_v6_fixed_v4(const __u8 *addr, __u8 *v4)
{
	return v6_embedded_v4(addr, v4);
}

int geofw_v6_source_v4(const struct geofw_maps *m, const __u8 *addr, __u8 *v4)
{
	struct geofw_nat64 t = {};
	__u32 zero = 0;

	if (v6_embedded_v4(addr, v4))
		return 1;
	if (m->nat64 < 0 || bpf_map_lookup_elem(m->nat64, &zero, &t))
		return 0;
	return v6_nat64_v4(addr, &t, v4);
}

static void bind_maps(const struct geofw_maps *m)
{
	const struct {
		struct host_map *h;
		int fd;
		bool outer;
	} binds[] = {
		{ &gfw_allow4, m->allow4, false }, { &gfw_allow6, m->allow6, false },
		{ &gfw_block_ip4, m->block_ip4, false }, { &gfw_block_ip6, m->block_ip6, false },
		{ &gfw_block_net4, m->block_net4, false }, { &gfw_block_net6, m->block_net6, false },
		{ &gfw_block4_bits, m->block4_bits, false },
		{ &gfw_country, m->country, false },
		{ &gfw_geo4_flat, m->geo4_flat, true }, { &gfw_geo4_more, m->geo4_more, true },
		{ &gfw_geo6_tree, m->geo6_tree, true }, { &gfw_geo6_more, m->geo6_more, true },
		{ &gfw_asn4_flat, m->asn4_flat, true }, { &gfw_asn4_more, m->asn4_more, true },
		{ &gfw_asn6_tree, m->asn6_tree, true }, { &gfw_asn6_more, m->asn6_more, true },
		{ &gfw_asn_class, m->asn_class, false },
		{ &gfw_port, m->port, false }, { &gfw_port_set, m->port_set, false },
		{ &gfw_port_net4, m->port_net4, false }, { &gfw_port_net6, m->port_net6, false },
		{ &gfw_port_cc, m->port_cc, false }, { &gfw_port_bits, m->port_bits, false },
		{ &gfw_geo4_top, m->geo4_top, false }, { &gfw_asn4_top, m->asn4_top, false },
		{ &gfw_port_asn, m->port_asn, false },
		{ &gfw_geo6_top, m->geo6_top, false }, { &gfw_asn6_top, m->asn6_top, false },
		{ &gfw_block6_bits, m->block6_bits, false },
	};
	size_t i;

	for (i = 0; i < sizeof(binds) / sizeof(binds[0]); i++) {
		host_map_release(binds[i].h);
		memset(binds[i].h, 0, sizeof(*binds[i].h));
		binds[i].h->fd = binds[i].fd;
		binds[i].h->outer = binds[i].outer;
		binds[i].h->value_size = binds[i].outer ? 4 : fd_value_size(binds[i].fd);
	}
}

static void unbind_maps(void)
{
	struct host_map *all[] = { &gfw_allow4, &gfw_allow6, &gfw_block_ip4, &gfw_block_ip6,
				   &gfw_block_net4, &gfw_block_net6, &gfw_block4_bits, &gfw_country,
				   &gfw_geo4_flat, &gfw_geo4_more, &gfw_geo6_tree,
				   &gfw_geo6_more, &gfw_asn4_flat, &gfw_asn4_more, &gfw_asn6_tree,
				   &gfw_asn6_more, &gfw_asn_class, &gfw_port, &gfw_port_set,
				   &gfw_port_net4, &gfw_port_net6, &gfw_port_cc, &gfw_geo4_top,
				   &gfw_asn4_top, &gfw_port_bits, &gfw_port_asn, &gfw_geo6_top,
				   &gfw_asn6_top, &gfw_block6_bits };
	size_t i;

	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		host_map_release(all[i]);
}

/* The LPM trie answers with a value, not the prefix: the matched length is
 * the shortest query length that still returns the same value. */
static int lpm_match_len(int fd, int family, const __u8 *addr, const void *val, size_t vsize)
{
	struct geofw_lpm_v6 key6 = {};
	struct geofw_lpm_v4 key4 = {};
	int bits = family == 4 ? 32 : 128, len, found = -1;
	__u8 got[64];

	memcpy(key4.addr, addr, 4);
	memcpy(key6.addr, addr, 16);
	for (len = bits; len >= 0; len--) {
		key4.prefixlen = key6.prefixlen = (__u32)len;
		if (bpf_map_lookup_elem(fd, family == 4 ? (void *)&key4 : (void *)&key6, got) ||
		    memcmp(got, val, vsize))
			break;
		found = len;
	}
	return found;
}

static void record_match(struct geofw_explain *out, const struct geofw_pkt *pkt, int len)
{
	int bits = pkt->family == 4 ? 32 : 128, i;

	out->match_family = pkt->family;
	out->match_prefixlen = (__u8)(len < 0 ? bits : len);
	memcpy(out->match_addr, pkt->saddr, 16);
	for (i = out->match_prefixlen; i < 128; i++)
		out->match_addr[i / 8] &= (__u8)~(0x80 >> (i % 8));
}

int geofw_explain(const struct geofw_maps *m, int family, const __u8 *addr,
		  struct geofw_explain *out)
{
	return geofw_explain_port(m, family, addr, 0, 0, out);
}

int geofw_explain_port(const struct geofw_maps *m, int family, const __u8 *addr,
		       int l4proto, unsigned int port, struct geofw_explain *out)
{
	struct geofw_verdict v = {};
	struct geofw_config cfg;
	struct geofw_pkt pkt = {};
	int err;

	memset(out, 0, sizeof(*out));
	if ((err = geofw_config_read(m, &cfg)))
		return err;
	if (family == 6 && geofw_v6_source_v4(m, addr, pkt.saddr)) {
		pkt.family = 4;
	} else {
		pkt.family = (__u8)family;
		memcpy(pkt.saddr, addr, family == 4 ? 4 : 16);
	}
	if (l4proto) {
		pkt.l4proto = (__u8)l4proto;
		pkt.has_l4 = 1;
		pkt.dport_be = bpf_htons((__u16)port);
	}

	host_err = 0;
	bind_maps(m);
	geofw_decide(&pkt, &cfg, &v);
	{
		/* The first rule that matched, log rules included: one the
		 * decision looked past is named. */
		struct geofw_verdict first = {};

		decide_rules(&pkt, &cfg, &first, 0);
		if (first.action == GEOFW_ACT_LOG && v.action != GEOFW_ACT_LOG &&
		    first.reason != v.reason) {
			out->log_passed = true;
			out->log_rule_passed = first.rule_id;
		}
	}
	out->action = v.action;
	out->reason = v.reason;
	out->country_id = v.country_id;
	out->country_looked_up = v.country_looked_up;
	out->rule_id = v.rule_id;
	out->asn = v.asn;
	if (v.reason >= GEOFW_R_PORT_ALLOW && v.reason <= GEOFW_R_PORT_POLICY_LOG) {
		struct geofw_port_ctx pc = {};

		port_lookup(&pkt, &cfg, &pc);
		out->port_sets = pc.sets;
	}

	if (v.reason == GEOFW_R_ALLOWLIST) {
		struct geofw_allow *a = allow_lookup(&pkt, &cfg);

		out->allow_match = true;
		if (a)
			record_match(out, &pkt, lpm_match_len(pkt.family == 4 ? m->allow4 : m->allow6,
							       pkt.family, pkt.saddr, a, sizeof(*a)));
	} else if (v.reason == GEOFW_R_BLOCK_IP || v.reason == GEOFW_R_LOG_IP) {
		/* A block past a logged exact entry: the CIDR that decided. */
		struct geofw_block *b = block_lookup_as(&pkt, &cfg, v.reason == GEOFW_R_BLOCK_IP);
		struct geofw_block exact;

		out->block_match = true;
		if (b) {
			out->block = *b;
			if (!bpf_map_lookup_elem(pkt.family == 4 ? m->block_ip4 : m->block_ip6,
						 pkt.saddr, &exact) && !memcmp(&exact, b, sizeof(exact)))
				record_match(out, &pkt, -1);
			else
				record_match(out, &pkt,
					     lpm_match_len(pkt.family == 4 ? m->block_net4 : m->block_net6,
							   pkt.family, pkt.saddr, b, sizeof(*b)));
		}
	} else {
		struct geofw_block exact;

		/* Say so when a rule exists but has expired (the sweep lags). */
		if (!bpf_map_lookup_elem(pkt.family == 4 ? m->block_ip4 : m->block_ip6, pkt.saddr,
					 &exact) && !block_active(&exact))
			out->block_expired_ignored = true;
	}
	unbind_maps();
	return host_err;
}
