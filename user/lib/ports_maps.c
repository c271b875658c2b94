// SPDX-License-Identifier: GPL-2.0-only
/* The port image (ports.c builds it) written into the maps: kernel side, so
 * ports.c stays in the core library, which has no libbpf. */
#include <bpf/bpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "maps.h"
#include "msg.h"
#include "ports.h"

static int net_key(const struct geofw_cidr *c, __u8 slot, void *key)
{
	if (c->family == 4) {
		struct geofw_port_lpm_v4 *k = key;

		memset(k, 0, sizeof(*k));
		k->prefixlen = 8u + c->prefixlen;
		k->slot = slot;
		memcpy(k->addr, c->addr, 4);
	} else {
		struct geofw_port_lpm_v6 *k = key;

		memset(k, 0, sizeof(*k));
		k->prefixlen = 8u + c->prefixlen;
		k->slot = slot;
		memcpy(k->addr, c->addr, 16);
	}
	return 0;
}

/* Remove every entry of one slot from a port LPM trie. */
static int net_clear_slot(int fd, size_t key_size, __u8 slot)
{
	__u8 key[32], next[32];
	void *prev = NULL;

	/* Collect-then-delete would need memory; deleting the key just
	 * returned restarts the walk from the beginning, which is fine for
	 * the few thousand entries these tries hold at most. */
	for (;;) {
		if (bpf_map_get_next_key(fd, prev, next))
			return errno == ENOENT ? 0 : -errno;
		if (next[4] == slot) {
			if (bpf_map_delete_elem(fd, next) && errno != ENOENT)
				return -errno;
			prev = NULL;
			continue;
		}
		memcpy(key, next, key_size);
		prev = key;
	}
}

/*
 * The prefilter bits of the image's prefixes (gfw_port_bits): every IPv4
 * /16 and /24 a prefix touches, the hash of every IPv6 /32 a prefix of /32
 * or longer lies in; *short6 when an IPv6 prefix is shorter (no /32 to hash:
 * IPv6 packets then always walk the trie).
 */
static void port_bits_build(const struct geofw_ports_image *img, __u64 *bits, bool *short6)
{
	size_t i;

	*short6 = false;
	for (i = 0; i < img->n_net; i++) {
		const struct geofw_cidr *c = &img->net[i].prefix;
		__u32 first, end, b;

		if (c->family == 6) {
			if (c->prefixlen < 32) {
				*short6 = true;
				continue;
			}
			b = GEOFW_PORT_BITS6((__u32)c->addr[0] << 24 | (__u32)c->addr[1] << 16 |
					     (__u32)c->addr[2] << 8 | c->addr[3]);
			bits[b >> 6] |= 1ull << (b & 63);
			continue;
		}
		first = (__u32)c->addr[0] << 16 | (__u32)c->addr[1] << 8 | c->addr[2];
		first &= c->prefixlen >= 24 ? 0xffffffu : ~((1u << (24 - c->prefixlen)) - 1) & 0xffffffu;
		end = first + (c->prefixlen >= 24 ? 1 : 1u << (24 - c->prefixlen));
		for (; first < end; first++) {
			b = GEOFW_PORT_BITS24(first);
			bits[b >> 6] |= 1ull << (b & 63);
			b = GEOFW_PORT_BITS16(first >> 8);
			bits[b >> 6] |= 1ull << (b & 63);
		}
	}
}

/*
 * Publish the prefilter: before the switch every bit of the new slot is
 * ORed in (both slots' prefixes pass), after it the words take the new
 * slot's bits exactly.  Unmapped, words are updated by syscalls, and the
 * exact pass is skipped (a stale bit only costs the trie walk).
 */
static int port_bits_publish(const struct geofw_maps *m, const __u64 *bits, bool exact)
{
	__u32 w;
	__u64 v;

	for (w = 0; w < GEOFW_PORT_BITS_WORDS; w++) {
		if (m->port_bits_mem) {
			if (exact)
				__atomic_store_n(&m->port_bits_mem[w], bits[w], __ATOMIC_RELEASE);
			else if (bits[w] & ~m->port_bits_mem[w])
				__atomic_fetch_or(&m->port_bits_mem[w], bits[w], __ATOMIC_RELEASE);
			continue;
		}
		if (exact || !bits[w])
			continue;
		if (bpf_map_lookup_elem(m->port_bits, &w, &v))
			return -errno;
		if ((v | bits[w]) != v) {
			v |= bits[w];
			if (bpf_map_update_elem(m->port_bits, &w, &v, BPF_ANY))
				return -errno;
		}
	}
	return 0;
}

/*
 * The seed of the rate-limit state's hash (geofw_rl_hash): the one the rule
 * entries already carry, so that states keep their place across installs
 * and restarts while the pins live; a new one (getrandom) only for new maps.
 */
static int rl_seed(const struct geofw_maps *m, __u64 *seed)
{
	struct geofw_rl_rule r;
	__u32 key;

	for (key = 0; key < 2 * GEOFW_MAX_RATELIMITS; key++)
		if (!bpf_map_lookup_elem(m->rl_rule, &key, &r) && r.seed) {
			*seed = r.seed;
			return 0;
		}
	do {
		if (getrandom(seed, sizeof(*seed), 0) != sizeof(*seed))
			return errno ? -errno : -EIO;
	} while (!*seed);
	return 0;
}

/* The slot's whole AS table (gfw_port_asn), every entry written: a
 * leftover of an earlier install would be read as a rule of its AS. */
static int asn_table_write(const struct geofw_maps *m, const struct geofw_ports_image *img,
			   __u8 slot)
{
	struct geofw_port_asn *tab = calloc(GEOFW_PORT_ASN_ENTRIES, sizeof(*tab));
	__u32 i, key;
	int ret = 0;

	if (!tab)
		return -ENOMEM;
	for (i = 0; i < img->n_asn; i++) {
		tab[img->asn[i].pos].asn = img->asn[i].asn;
		tab[img->asn[i].pos].net = img->asn[i].val;
	}
	for (i = 0; i < GEOFW_PORT_ASN_ENTRIES && !ret; i++) {
		key = GEOFW_PORT_ASN_KEY(slot, i);
		if (bpf_map_update_elem(m->port_asn, &key, &tab[i], BPF_ANY))
			ret = -errno;
	}
	free(tab);
	return ret;
}

static int ports_install(const struct geofw_maps *m, const struct geofw_ports_image *img,
			 __u64 *bits, char *err, size_t errlen)
{
	bool short6;
	struct geofw_config cfg;
	__u8 old, slot, present = 0;
	__u16 net_sets = 0;
	__u32 proto, port, key;
	size_t i, r;
	__u64 seed;
	int ret;

	if ((ret = geofw_config_read(m, &cfg)))
		return geofw_errf(err, errlen, ret, "ports: reading the config: %s",
				  strerror(-ret));
	old = (cfg.ports_present & GEOFW_PORTS_SLOT) ? 1 : 0;
	slot = old ^ 1;

	/* The free slot may hold leftovers of an interrupted install. */
	if ((ret = net_clear_slot(m->port_net4, sizeof(struct geofw_port_lpm_v4), slot)) ||
	    (ret = net_clear_slot(m->port_net6, sizeof(struct geofw_port_lpm_v6), slot)))
		return geofw_errf(err, errlen, ret, "ports: clearing slot %u: %s", slot,
				  strerror(-ret));
	for (i = 0; i < img->n_net; i++)
		net_sets |= img->net[i].val.allow_sets | img->net[i].val.block_sets |
			    img->net[i].val.only_sets;
	if (img->n_sets) {
		for (proto = 0; proto < 2; proto++) {
			for (port = 0; port < 65536; port++) {
				struct geofw_port v = {};

				for (i = 0; i < img->n_sets; i++) {
					const struct geofw_ports *p = &img->set[i];

					for (r = 0; r < p->n; r++)
						if (p->r[r].proto == proto && port >= p->r[r].lo &&
						    port <= p->r[r].hi)
							v.sets |= (__u16)(1u << i);
				}
				v.only_sets = v.sets & img->only_sets;
				v.net_sets = v.sets & net_sets;
				key = GEOFW_PORT_KEY(slot, proto, port);
				if (m->port_mem) {
					m->port_mem[key] = v;
				} else if (bpf_map_update_elem(m->port, &key, &v, BPF_ANY)) {
					ret = -errno;
					goto fail;
				}
			}
		}
		present |= GEOFW_PORTS_ON;
	}
	for (i = 0; i < GEOFW_MAX_PORT_SETS; i++) {
		key = GEOFW_PORT_SET_KEY(slot, i);
		if (bpf_map_update_elem(m->port_set, &key, &img->set_val[i], BPF_ANY)) {
			ret = -errno;
			goto fail;
		}
	}
	for (i = 0; i < GEOFW_MAX_COUNTRIES; i++) {
		key = GEOFW_PORT_CC_KEY(slot, i);
		if (bpf_map_update_elem(m->port_cc, &key, &img->cc[i], BPF_ANY)) {
			ret = -errno;
			goto fail;
		}
	}
	if (img->any_cc)
		present |= GEOFW_PORTS_CC;
	for (i = 0; i < img->n_net; i++) {
		__u8 k[32];

		net_key(&img->net[i].prefix, slot, k);
		if (bpf_map_update_elem(img->net[i].prefix.family == 4 ? m->port_net4 : m->port_net6,
					k, &img->net[i].val, BPF_ANY)) {
			ret = -errno;
			goto fail;
		}
		present |= img->net[i].prefix.family == 4 ? GEOFW_PORTS_NET4 : GEOFW_PORTS_NET6;
	}
	if ((ret = asn_table_write(m, img, slot)))
		goto fail;
	if (img->n_asn)
		present |= GEOFW_PORTS_ASN;
	if ((ret = rl_seed(m, &seed)))
		goto fail;	/* no random seed for the rate-limit state's hash */
	for (i = 0; i < GEOFW_MAX_RATELIMITS; i++) {
		struct geofw_rl_rule rule = {};

		if (i < img->n_rl)
			rule = img->rl[i];
		rule.seed = seed;
		key = GEOFW_RL_RULE_KEY(slot, i);
		if (bpf_map_update_elem(m->rl_rule, &key, &rule, BPF_ANY)) {
			ret = -errno;
			goto fail;
		}
	}
	port_bits_build(img, bits, &short6);
	if (short6)
		present |= GEOFW_PORTS_NET6_SHORT;
	if ((ret = port_bits_publish(m, bits, false)))
		goto fail;
	if (!img->n_sets)
		present = 0;
	if (slot)
		present |= GEOFW_PORTS_SLOT;
	if ((ret = geofw_config_set_ports(m, present, (__u8)img->n_rl)))
		goto fail;
	port_bits_publish(m, bits, true);
	/* The old slot's tries go; its arrays are simply overwritten next time. */
	net_clear_slot(m->port_net4, sizeof(struct geofw_port_lpm_v4), old);
	net_clear_slot(m->port_net6, sizeof(struct geofw_port_lpm_v6), old);
	return 0;
fail:
	return geofw_errf(err, errlen, ret, "ports: writing the port tables: %s",
			  strerror(-ret));
}

int geofw_ports_install(const struct geofw_maps *m, const struct geofw_ports_image *img,
			char *err, size_t errlen)
{
	__u64 *bits = calloc(GEOFW_PORT_BITS_WORDS, sizeof(__u64));
	int ret = bits ? ports_install(m, img, bits, err, errlen) :
			 geofw_errf(err, errlen, -ENOMEM, "ports: no memory for the prefilter");

	free(bits);
	return ret;
}
