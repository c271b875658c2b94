// SPDX-License-Identifier: GPL-2.0-only
#include "maps.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "log.h"

/* Name and slot of every map, in struct geofw_maps order. */
static const struct {
	const char *name;
	size_t off;
} map_table[] = {
#define M(field, name) { name, offsetof(struct geofw_maps, field) }
	M(meta, GEOFW_MAP_META),
	M(config, GEOFW_MAP_CONFIG),
	M(allow4, GEOFW_MAP_ALLOW4),
	M(allow6, GEOFW_MAP_ALLOW6),
	M(block_ip4, GEOFW_MAP_BLOCK_IP4),
	M(block_ip6, GEOFW_MAP_BLOCK_IP6),
	M(block_net4, GEOFW_MAP_BLOCK_NET4),
	M(block_net6, GEOFW_MAP_BLOCK_NET6),
	M(country, GEOFW_MAP_COUNTRY),
	M(geo4_flat, GEOFW_MAP_GEO4_FLAT),
	M(geo4_more, GEOFW_MAP_GEO4_MORE),
	M(geo6_tree, GEOFW_MAP_GEO6_TREE),
	M(geo6_more, GEOFW_MAP_GEO6_MORE),
	M(cnt_reason, GEOFW_MAP_CNT_REASON),
	M(cnt_action, GEOFW_MAP_CNT_ACTION),
	M(cnt_country, GEOFW_MAP_CNT_COUNTRY),
	M(cnt_rule, GEOFW_MAP_CNT_RULE),
	M(responder, GEOFW_MAP_RESPONDER),
	M(cnt_resp, GEOFW_MAP_CNT_RESP),
	M(block4_bits, GEOFW_MAP_BLOCK4_BITS),
	M(nat64, GEOFW_MAP_NAT64),
	M(resp_watch, GEOFW_MAP_RESP_WATCH),
	M(resp_flow, GEOFW_MAP_RESP_FLOW),
	M(evt_limit, GEOFW_MAP_EVENT_LIMIT),
	M(asn4_flat, GEOFW_MAP_ASN4_FLAT),
	M(asn4_more, GEOFW_MAP_ASN4_MORE),
	M(asn6_tree, GEOFW_MAP_ASN6_TREE),
	M(asn6_more, GEOFW_MAP_ASN6_MORE),
	M(asn_class, GEOFW_MAP_ASN_CLASS),
	M(cnt_asn, GEOFW_MAP_CNT_ASN),
	M(resp_pages, GEOFW_MAP_RESP_PAGES),
	M(resp_select, GEOFW_MAP_RESP_SELECT),
	M(port, GEOFW_MAP_PORT),
	M(port_set, GEOFW_MAP_PORT_SET),
	M(port_net4, GEOFW_MAP_PORT_NET4),
	M(port_net6, GEOFW_MAP_PORT_NET6),
	M(port_cc, GEOFW_MAP_PORT_CC),
	M(port_asn, GEOFW_MAP_PORT_ASN),
	M(port_bits, GEOFW_MAP_PORT_BITS),
	M(rl_rule, GEOFW_MAP_RL_RULE),
	M(rl_sets, GEOFW_MAP_RL_SETS),
	M(rl_bans, GEOFW_MAP_RL_BANS),
	M(rl_events, GEOFW_MAP_RL_EVENTS),
	M(cnt_rl, GEOFW_MAP_CNT_RL),
	M(geo4_top, GEOFW_MAP_GEO4_TOP),
	M(asn4_top, GEOFW_MAP_ASN4_TOP),
	M(geo6_top, GEOFW_MAP_GEO6_TOP),
	M(asn6_top, GEOFW_MAP_ASN6_TOP),
	M(block6_bits, GEOFW_MAP_BLOCK6_BITS),
	M(events, GEOFW_MAP_EVENTS),
#undef M
};

#define N_MAPS (sizeof(map_table) / sizeof(map_table[0]))
/* Every int of struct geofw_maps, from meta to events, has a row above. */
_Static_assert(N_MAPS * sizeof(int) == offsetof(struct geofw_maps, events) + sizeof(int),
	       "map table incomplete");

#define BLOCK4_BITS_BYTES ((size_t)GEOFW_BLOCK4_BITS_WORDS * sizeof(__u64))
#define BLOCK6_BITS_BYTES ((size_t)GEOFW_BLOCK6_BITS_WORDS * sizeof(__u64))

static void map_bits(struct geofw_maps *m)
{
	void *p = mmap(NULL, BLOCK4_BITS_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED,
		       m->block4_bits, 0);

	m->block4_bits_mem = p == MAP_FAILED ? NULL : p;
	if (!m->block4_bits_mem)
		log_warn("maps: cannot map %s: %s (block prefilter updated by syscalls)",
			 GEOFW_MAP_BLOCK4_BITS, strerror(errno));
	p = mmap(NULL, BLOCK6_BITS_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, m->block6_bits, 0);
	m->block6_bits_mem = p == MAP_FAILED ? NULL : p;
	if (!m->block6_bits_mem)
		log_warn("maps: cannot map %s: %s (block prefilter updated by syscalls)",
			 GEOFW_MAP_BLOCK6_BITS, strerror(errno));
}

/*
 * gfw_config is mapped too: each field has one writer (docs/maps.md), and
 * each writer stores only its own field, so a writer holding an old copy
 * of the record can never put back another writer's old value (a cleared
 * rules_present bit, a reverted geo_slot).
 */
static void map_config(struct geofw_maps *m)
{
	void *p = mmap(NULL, (size_t)sysconf(_SC_PAGESIZE), PROT_READ | PROT_WRITE, MAP_SHARED,
		       m->config, 0);

	m->config_mem = p == MAP_FAILED ? NULL : p;
	if (!m->config_mem)
		log_debug("maps: cannot map %s: %s", GEOFW_MAP_CONFIG, strerror(errno));
}

#define PORT_BYTES ((size_t)GEOFW_PORT_ENTRIES * sizeof(struct geofw_port))
#define PORT_BITS_BYTES ((size_t)GEOFW_PORT_BITS_WORDS * sizeof(__u64))

static void map_port(struct geofw_maps *m)
{
	void *p = mmap(NULL, PORT_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, m->port, 0);

	m->port_mem = p == MAP_FAILED ? NULL : p;
	if (!m->port_mem)
		log_debug("maps: cannot map %s: %s", GEOFW_MAP_PORT, strerror(errno));
	p = mmap(NULL, PORT_BITS_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, m->port_bits, 0);
	m->port_bits_mem = p == MAP_FAILED ? NULL : p;
	if (!m->port_bits_mem)
		log_debug("maps: cannot map %s: %s", GEOFW_MAP_PORT_BITS, strerror(errno));
}

static int *slot(struct geofw_maps *m, size_t i)
{
	return (int *)((char *)m + map_table[i].off);
}

static void maps_invalidate(struct geofw_maps *m)
{
	size_t i;

	for (i = 0; i < N_MAPS; i++)
		*slot(m, i) = -1;
	m->block4_bits_mem = NULL;
	m->block6_bits_mem = NULL;
	m->config_mem = NULL;
	m->port_mem = NULL;
	m->port_bits_mem = NULL;
}

int geofw_maps_from_object(struct bpf_object *obj, struct geofw_maps *m)
{
	size_t i;

	maps_invalidate(m);
	for (i = 0; i < N_MAPS; i++) {
		struct bpf_map *map = bpf_object__find_map_by_name(obj, map_table[i].name);
		int fd = map ? bpf_map__fd(map) : -1;

		if (fd < 0)
			return log_err(-ENOENT, "maps: object has no loaded map %s",
				       map_table[i].name);
		*slot(m, i) = fd;
	}
	map_bits(m);
	map_config(m);
	map_port(m);
	return 0;
}

int geofw_maps_open_pinned(const char *pin_dir, struct geofw_maps *m)
{
	char path[PATH_MAX];
	size_t i;
	int err;

	maps_invalidate(m);
	for (i = 0; i < N_MAPS; i++) {
		snprintf(path, sizeof(path), "%s/%s", pin_dir, map_table[i].name);
		*slot(m, i) = bpf_obj_get(path);
		if (*slot(m, i) < 0) {
			err = -errno;
			geofw_maps_close(m);
			return log_err(err, "maps: cannot open %s: %s", path, strerror(-err));
		}
	}
	map_bits(m);
	map_config(m);
	map_port(m);
	return 0;
}

void geofw_maps_close(struct geofw_maps *m)
{
	size_t i;

	if (m->block4_bits_mem)
		munmap(m->block4_bits_mem, BLOCK4_BITS_BYTES);
	m->block4_bits_mem = NULL;
	if (m->block6_bits_mem)
		munmap(m->block6_bits_mem, BLOCK6_BITS_BYTES);
	m->block6_bits_mem = NULL;
	if (m->config_mem)
		munmap(m->config_mem, (size_t)sysconf(_SC_PAGESIZE));
	m->config_mem = NULL;
	if (m->port_mem)
		munmap(m->port_mem, PORT_BYTES);
	m->port_mem = NULL;
	if (m->port_bits_mem)
		munmap(m->port_bits_mem, PORT_BITS_BYTES);
	m->port_bits_mem = NULL;
	for (i = 0; i < N_MAPS; i++) {
		if (*slot(m, i) >= 0)
			close(*slot(m, i));
		*slot(m, i) = -1;
	}
}

void geofw_config_defaults(struct geofw_config *cfg)
{
	int i;

	memset(cfg, 0, sizeof(*cfg));
	cfg->country_mode = GEOFW_MODE_BLOCK_LISTED;
	cfg->country_block_action = GEOFW_ACT_DROP;
	cfg->unknown_country_action = GEOFW_ACT_PASS;
	for (i = 0; i < GEOFW_MF_MAX; i++)
		cfg->malformed_action[i] = GEOFW_ACT_DROP;
	cfg->malformed_action[GEOFW_MF_RUNT] = GEOFW_ACT_PASS;
}

static int array0_rw(int fd, void *val, bool write)
{
	__u32 zero = 0;
	int err;

	err = write ? bpf_map_update_elem(fd, &zero, val, BPF_ANY) :
		      bpf_map_lookup_elem(fd, &zero, val);
	return err ? -errno : 0;
}

int geofw_config_read(const struct geofw_maps *m, struct geofw_config *cfg)
{
	return array0_rw(m->config, cfg, false);
}

int geofw_config_write(const struct geofw_maps *m, const struct geofw_config *cfg)
{
	return array0_rw(m->config, (void *)cfg, true);
}

/* The mapped record, or -ENXIO with a message naming the map. */
static int config_mem(const struct geofw_maps *m, struct geofw_config **cfg)
{
	*cfg = m->config_mem;
	if (*cfg)
		return 0;
	return log_err(-ENXIO, "maps: %s is not mapped into memory (pins of an older geofw? "
		       "restart geofwd to replace them)", GEOFW_MAP_CONFIG);
}

int geofw_config_set_policy(const struct geofw_maps *m, const struct geofw_config *src)
{
	struct geofw_config *cfg;
	int err, i;

	if ((err = config_mem(m, &cfg)))
		return err;
	__atomic_store_n(&cfg->country_mode, src->country_mode, __ATOMIC_RELAXED);
	__atomic_store_n(&cfg->country_block_action, src->country_block_action, __ATOMIC_RELAXED);
	__atomic_store_n(&cfg->unknown_country_action, src->unknown_country_action,
			 __ATOMIC_RELAXED);
	for (i = 0; i < GEOFW_MF_MAX; i++)
		__atomic_store_n(&cfg->malformed_action[i], src->malformed_action[i],
				 __ATOMIC_RELAXED);
	return 0;
}

int geofw_config_set_responder(const struct geofw_maps *m, bool enabled)
{
	struct geofw_config *cfg;
	int err;

	if ((err = config_mem(m, &cfg)))
		return err;
	__atomic_store_n(&cfg->responder_enabled, enabled, __ATOMIC_RELEASE);
	return 0;
}

int geofw_config_switch_geo_slot(const struct geofw_maps *m, __u8 slot)
{
	struct geofw_config *cfg;
	int err;

	if ((err = config_mem(m, &cfg)))
		return err;
	/* The tables of the slot are in place before the byte says so. */
	__atomic_store_n(&cfg->geo_slot, slot, __ATOMIC_RELEASE);
	__atomic_fetch_add(&cfg->geo_generation, 1, __ATOMIC_RELEASE);
	return 0;
}

int geofw_config_switch_asn_slot(const struct geofw_maps *m, __u8 slot, bool present)
{
	struct geofw_config *cfg;
	int err;

	if ((err = config_mem(m, &cfg)))
		return err;
	/* Slot first: a reader that sees asn_present sees the slot of it. */
	__atomic_store_n(&cfg->asn_slot, slot, __ATOMIC_RELEASE);
	__atomic_store_n(&cfg->asn_present, present ? 1 : 0, __ATOMIC_RELEASE);
	return 0;
}

_Static_assert(offsetof(struct geofw_config, rl_count) ==
	       offsetof(struct geofw_config, ports_present) + 1 &&
	       offsetof(struct geofw_config, ports_present) % 2 == 0,
	       "ports_present and rl_count share one aligned 16-bit store");

int geofw_config_set_ports(const struct geofw_maps *m, __u8 present, __u8 rl_count)
{
	struct geofw_config *cfg;
	__u8 both[2] = { present, rl_count };
	__u16 v;
	int err;

	if ((err = config_mem(m, &cfg)))
		return err;
	memcpy(&v, both, 2);
	__atomic_store_n((__u16 *)(void *)&cfg->ports_present, v, __ATOMIC_RELEASE);
	return 0;
}

int geofw_config_swap_events_rate(const struct geofw_maps *m, __u32 from, __u32 to,
				  __u32 *seen)
{
	struct geofw_config *cfg;
	__u32 expect = from;
	int err;

	if ((err = config_mem(m, &cfg)))
		return err;
	if (from == GEOFW_EVENTS_RATE_ANY) {
		*seen = to;
		__atomic_store_n(&cfg->events_rate, to, __ATOMIC_RELAXED);
		return 0;
	}
	if (__atomic_compare_exchange_n(&cfg->events_rate, &expect, to, false, __ATOMIC_RELAXED,
					__ATOMIC_RELAXED)) {
		*seen = to;
		return 0;
	}
	*seen = expect;
	return 1;
}

int geofw_meta_read(const struct geofw_maps *m, struct geofw_meta *meta)
{
	return array0_rw(m->meta, meta, false);
}

int geofw_meta_write(const struct geofw_maps *m, const struct geofw_meta *meta)
{
	return array0_rw(m->meta, (void *)meta, true);
}

/* Key buffer and map for a prefix: exact-match hash or LPM trie. */
struct rule_key {
	int fd;
	union {
		struct geofw_lpm_v4 lpm4;
		struct geofw_lpm_v6 lpm6;
		struct geofw_ip4 ip4;
		struct geofw_ip6 ip6;
	};
};

static void lpm_key(int fd4, int fd6, const struct geofw_cidr *c, struct rule_key *k)
{
	memset(k, 0, sizeof(*k));
	k->fd = c->family == 4 ? fd4 : fd6;
	/* A prefix from the store is valid: the family picks the key. */
	if (c->family == 4)
		geofw_cidr_to_lpm_v4(c, &k->lpm4);
	else
		geofw_cidr_to_lpm_v6(c, &k->lpm6);
}

static void block_key(const struct geofw_maps *m, const struct geofw_cidr *c,
		      struct rule_key *k)
{
	if (c->family == 4 && c->prefixlen == 32) {
		memset(k, 0, sizeof(*k));
		k->fd = m->block_ip4;
		memcpy(k->ip4.addr, c->addr, 4);
	} else if (c->family == 6 && c->prefixlen == 128) {
		memset(k, 0, sizeof(*k));
		k->fd = m->block_ip6;
		memcpy(k->ip6.addr, c->addr, 16);
	} else {
		lpm_key(m->block_net4, m->block_net6, c, k);
	}
}

static int map_put(int fd, const void *key, const void *val)
{
	return bpf_map_update_elem(fd, key, val, BPF_ANY) ? -errno : 0;
}

static int map_del(int fd, const void *key)
{
	return bpf_map_delete_elem(fd, key) ? -errno : 0;
}

/* Set bits [first, end) of gfw_block4_bits. */
static int bits4_range(const struct geofw_maps *m, __u32 first, __u32 end)
{
	__u32 s;

	for (s = first; s < end;) {
		__u32 word = s >> 6, step = 1;
		__u64 mask = 1ull << (s & 63), v;

		if (!(s & 63) && end - s >= 64) {
			mask = ~0ull;
			step = 64;
		}
		if (m->block4_bits_mem) {
			__atomic_fetch_or(&m->block4_bits_mem[word], mask, __ATOMIC_RELEASE);
		} else {
			if (bpf_map_lookup_elem(m->block4_bits, &word, &v))
				return -errno;
			v |= mask;
			if (bpf_map_update_elem(m->block4_bits, &word, &v, BPF_ANY))
				return -errno;
		}
		s += step;
	}
	return 0;
}

/* Set the IPv4 prefilter bits (include/geofw.h) of an allow or block
 * rule: every /16 it touches, and for a block rule every /24. */
static int bits4_set(const struct geofw_maps *m, const struct geofw_cidr *c, bool allow)
{
	__u32 s24, n24, s16, n16;
	int err;

	if (c->family != 4)
		return 0;
	s24 = (__u32)c->addr[0] << 16 | (__u32)c->addr[1] << 8 | c->addr[2];
	n24 = c->prefixlen >= 24 ? 1 : 1u << (24 - c->prefixlen);	/* <= 2^24 */
	s16 = s24 >> 8;
	n16 = c->prefixlen >= 16 ? 1 : 1u << (16 - c->prefixlen);
	if (allow)
		return bits4_range(m, GEOFW_B4_ALLOW16(s16), GEOFW_B4_ALLOW16(s16) + n16);
	if ((err = bits4_range(m, GEOFW_B4_BLOCK24(s24), GEOFW_B4_BLOCK24(s24) + n24)))
		return err;
	return bits4_range(m, GEOFW_B4_BLOCK16(s16), GEOFW_B4_BLOCK16(s16) + n16);
}

/* Set the prefilter bit of an exact IPv6 block (include/geofw.h). */
static int block6_bits_set(const struct geofw_maps *m, const struct geofw_cidr *c)
{
	__u64 hi, lo, v;
	__u32 bit, word;

	if (c->family != 6 || c->prefixlen != 128)
		return 0;
	memcpy(&hi, c->addr, 8);
	memcpy(&lo, c->addr + 8, 8);
	bit = GEOFW_BLOCK6_BIT(hi, lo);
	word = bit >> 6;
	if (m->block6_bits_mem) {
		__atomic_fetch_or(&m->block6_bits_mem[word], 1ull << (bit & 63), __ATOMIC_RELEASE);
		return 0;
	}
	if (bpf_map_lookup_elem(m->block6_bits, &word, &v))
		return -errno;
	v |= 1ull << (bit & 63);
	return bpf_map_update_elem(m->block6_bits, &word, &v, BPF_ANY) ? -errno : 0;
}

int geofw_block_put(const struct geofw_maps *m, const struct geofw_cidr *c,
		    const struct geofw_block *val)
{
	struct rule_key k;
	int err;

	struct geofw_block v = *val;

	/* Bits first: the rule must not exist while its /24 looks empty. */
	if ((err = bits4_set(m, c, false)) || (err = block6_bits_set(m, c)))
		return err;
	block_key(m, c, &k);
	v.prefixlen = c->prefixlen;	/* a log entry is passed over by it */
	return map_put(k.fd, &k.lpm6, &v);
}

#define BATCH_CHUNK 8192

struct geofw_block_batch {
	size_t n4, n6;
	struct geofw_ip4 k4[BATCH_CHUNK];
	struct geofw_block v4[BATCH_CHUNK];
	struct geofw_ip6 k6[BATCH_CHUNK];
	struct geofw_block v6[BATCH_CHUNK];
};

struct geofw_block_batch *geofw_block_batch_new(size_t max_entries)
{
	(void)max_entries;	/* flushed every BATCH_CHUNK entries */
	return calloc(1, sizeof(struct geofw_block_batch));
}

void geofw_block_batch_free(struct geofw_block_batch *b)
{
	free(b);
}

static int batch_write(int fd, void *keys, void *vals, size_t *n)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts, .elem_flags = BPF_ANY);
	__u32 count = (__u32)*n;

	if (!*n)
		return 0;
	if (bpf_map_update_batch(fd, keys, vals, &count, &opts))
		return -errno;
	*n = 0;
	return 0;
}

int geofw_block_batch_flush(const struct geofw_maps *m, struct geofw_block_batch *b)
{
	int err = batch_write(m->block_ip4, b->k4, b->v4, &b->n4);

	return err ? err : batch_write(m->block_ip6, b->k6, b->v6, &b->n6);
}

int geofw_block_batch_put(const struct geofw_maps *m, struct geofw_block_batch *b,
			  const struct geofw_cidr *c, const struct geofw_block *val)
{
	int err;

	if (c->family == 4 && c->prefixlen == 32) {
		if ((err = bits4_set(m, c, false)))
			return err;
		memcpy(b->k4[b->n4].addr, c->addr, 4);
		b->v4[b->n4] = *val;
		b->v4[b->n4++].prefixlen = 32;
		return b->n4 == BATCH_CHUNK ? batch_write(m->block_ip4, b->k4, b->v4, &b->n4) : 0;
	}
	if (c->family == 6 && c->prefixlen == 128) {
		if ((err = block6_bits_set(m, c)))
			return err;
		memcpy(b->k6[b->n6].addr, c->addr, 16);
		b->v6[b->n6] = *val;
		b->v6[b->n6++].prefixlen = 128;
		return b->n6 == BATCH_CHUNK ? batch_write(m->block_ip6, b->k6, b->v6, &b->n6) : 0;
	}
	return geofw_block_put(m, c, val);
}

unsigned int geofw_rules_present_bit(const struct geofw_cidr *c, bool allow)
{
	bool v4 = c->family == 4;

	if (allow)
		return v4 ? GEOFW_HAVE_ALLOW4 : GEOFW_HAVE_ALLOW6;
	if (c->prefixlen == (v4 ? 32 : 128))
		return v4 ? GEOFW_HAVE_BLOCK_IP4 : GEOFW_HAVE_BLOCK_IP6;
	return v4 ? GEOFW_HAVE_BLOCK_NET4 : GEOFW_HAVE_BLOCK_NET6;
}

int geofw_rules_present_add(const struct geofw_maps *m, unsigned int bits)
{
	struct geofw_config *cfg;
	int err;

	if ((err = config_mem(m, &cfg)))
		return err;
	/* Before the entries go in: release orders it before their updates. */
	__atomic_fetch_or(&cfg->rules_present, (__u8)bits, __ATOMIC_RELEASE);
	return 0;
}

static bool map_has_keys(int fd)
{
	__u8 next[64];

	return !bpf_map_get_next_key(fd, NULL, next);
}

int geofw_rules_present_sync(const struct geofw_maps *m)
{
	const struct { int fd; unsigned int bit; } maps[] = {
		{ m->allow4, GEOFW_HAVE_ALLOW4 }, { m->allow6, GEOFW_HAVE_ALLOW6 },
		{ m->block_ip4, GEOFW_HAVE_BLOCK_IP4 }, { m->block_ip6, GEOFW_HAVE_BLOCK_IP6 },
		{ m->block_net4, GEOFW_HAVE_BLOCK_NET4 }, { m->block_net6, GEOFW_HAVE_BLOCK_NET6 },
	};
	struct geofw_config *cfg;
	unsigned int have = 0;
	size_t i;
	int err;

	if ((err = config_mem(m, &cfg)))
		return err;
	for (i = 0; i < sizeof(maps) / sizeof(maps[0]); i++)
		if (map_has_keys(maps[i].fd))
			have |= maps[i].bit;
	/* Only the bits this sync looked at, each to what its map holds. */
	__atomic_fetch_or(&cfg->rules_present, (__u8)have, __ATOMIC_RELEASE);
	__atomic_fetch_and(&cfg->rules_present, (__u8)(have | ~GEOFW_HAVE_ALL), __ATOMIC_RELEASE);
	return 0;
}

/* Publish a prefilter computed privately, word by word, through the
 * mapping (mem) or, without one, the map's fd. */
static int bits_publish(__u64 *mem, int fd, const __u64 *bits, __u32 words)
{
	__u32 w;

	for (w = 0; w < words; w++) {
		if (mem)
			__atomic_store_n(&mem[w], bits[w], __ATOMIC_RELEASE);
		else if (bpf_map_update_elem(fd, &w, &bits[w], BPF_ANY))
			return -errno;
	}
	return 0;
}

int geofw_rule4_bits_rebuild(const struct geofw_maps *m)
{
	__u64 *bits = calloc(GEOFW_BLOCK4_BITS_WORDS, sizeof(__u64));
	struct geofw_maps tmp = *m;
	struct geofw_lpm_v4 key, next;
	struct geofw_cidr c = { .family = 4 };
	void *prev = NULL;
	int err;

	if (!bits)
		return -ENOMEM;
	/* Compute into a private buffer, then publish word by word: a bit is
	 * cleared only if no rule covers its /24 any more. */
	tmp.block4_bits_mem = bits;
	c.prefixlen = 32;
	while (!bpf_map_get_next_key(m->block_ip4, prev, next.addr)) {
		memcpy(c.addr, next.addr, 4);
		bits4_set(&tmp, &c, false);
		memcpy(key.addr, next.addr, 4);
		prev = key.addr;
	}
	for (int allow = 0; allow < 2; allow++) {
		prev = NULL;
		while (!bpf_map_get_next_key(allow ? m->allow4 : m->block_net4, prev, &next)) {
			c.prefixlen = (__u8)next.prefixlen;
			memcpy(c.addr, next.addr, 4);
			bits4_set(&tmp, &c, allow);
			key = next;
			prev = &key;
		}
	}
	err = bits_publish(m->block4_bits_mem, m->block4_bits, bits, GEOFW_BLOCK4_BITS_WORDS);
	free(bits);
	return err;
}

int geofw_block6_bits_rebuild(const struct geofw_maps *m)
{
	__u64 *bits = calloc(GEOFW_BLOCK6_BITS_WORDS, sizeof(__u64));
	struct geofw_maps tmp = *m;
	struct geofw_cidr c = { .family = 6, .prefixlen = 128 };
	struct geofw_ip6 key, next;
	void *prev = NULL;
	int err;

	if (!bits)
		return -ENOMEM;
	/* As the IPv4 bits: computed privately, then published word by word. */
	tmp.block6_bits_mem = bits;
	while (!bpf_map_get_next_key(m->block_ip6, prev, &next)) {
		memcpy(c.addr, next.addr, 16);
		block6_bits_set(&tmp, &c);
		key = next;
		prev = &key;
	}
	err = bits_publish(m->block6_bits_mem, m->block6_bits, bits, GEOFW_BLOCK6_BITS_WORDS);
	free(bits);
	return err;
}

int geofw_block_del(const struct geofw_maps *m, const struct geofw_cidr *c)
{
	struct rule_key k;

	block_key(m, c, &k);
	return map_del(k.fd, &k.lpm6);
}

int geofw_allow_put(const struct geofw_maps *m, const struct geofw_cidr *c,
		    const struct geofw_allow *val)
{
	struct rule_key k;

	int err;

	/* Bits first: the rule must not exist while its /16 looks empty. */
	if ((err = bits4_set(m, c, true)))
		return err;
	lpm_key(m->allow4, m->allow6, c, &k);
	return map_put(k.fd, &k.lpm6, val);
}

int geofw_allow_del(const struct geofw_maps *m, const struct geofw_cidr *c)
{
	struct rule_key k;

	lpm_key(m->allow4, m->allow6, c, &k);
	return map_del(k.fd, &k.lpm6);
}

int geofw_country_put(const struct geofw_maps *m, unsigned int country_id,
		      const struct geofw_country *pol)
{
	__u32 key = country_id;

	return map_put(m->country, &key, pol);
}

/* Per-CPU values are laid out 8-byte aligned, one per possible CPU. */
static int percpu_sum(int fd, __u32 key, __u64 *sum, size_t n_u64)
{
	int ncpu = libbpf_num_possible_cpus();
	__u64 *vals;
	size_t i;
	int cpu;

	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	vals = calloc((size_t)ncpu * n_u64, sizeof(__u64));
	if (!vals)
		return -ENOMEM;
	if (bpf_map_lookup_elem(fd, &key, vals)) {
		int err = -errno;

		free(vals);
		return err;
	}
	memset(sum, 0, n_u64 * sizeof(__u64));
	for (cpu = 0; cpu < ncpu; cpu++)
		for (i = 0; i < n_u64; i++)
			sum[i] += vals[(size_t)cpu * n_u64 + i];
	free(vals);
	return 0;
}

#define KERNEL_ENOTSUPP	524	/* the kernel's ENOTSUPP, unknown to libc */
#define BATCH		1024	/* keys per batch lookup */

/* Batched: the rule counters have 64k keys, one lookup each would be 64k
 * system calls per scrape; kernels without batch lookups on arrays fall back
 * to one lookup per key. */
int geofw_percpu_array_sum(int fd, __u32 n, size_t words, __u64 *out)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	int ncpu = libbpf_num_possible_cpus();
	__u32 *keys = NULL, batch = 0, count, i, key;
	size_t stride, w;
	bool first = true;
	__u64 *vals;
	int cpu, r;

	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	stride = words * (size_t)ncpu;
	vals = calloc((size_t)BATCH * stride, sizeof(*vals));
	keys = calloc(BATCH, sizeof(*keys));
	if (!vals || !keys) {
		r = -ENOMEM;
		goto out;
	}
	memset(out, 0, (size_t)n * words * sizeof(*out));
	for (;;) {
		count = BATCH;
		r = bpf_map_lookup_batch(fd, first ? NULL : &batch, &batch, keys, vals, &count,
					 &opts);
		if (r && errno != ENOENT) {
			if (first && (errno == EINVAL || errno == ENOTSUP || errno == EOPNOTSUPP ||
				      errno == KERNEL_ENOTSUPP))
				goto per_key;
			r = -errno;
			goto out;
		}
		for (i = 0; i < count; i++) {
			if (keys[i] >= n)
				continue;
			for (cpu = 0; cpu < ncpu; cpu++)
				for (w = 0; w < words; w++)
					out[(size_t)keys[i] * words + w] +=
						vals[i * stride + (size_t)cpu * words + w];
		}
		first = false;
		if (r) {	/* ENOENT: that was the last batch */
			r = 0;
			goto out;
		}
	}
per_key:
	for (key = 0; key < n; key++) {
		if (bpf_map_lookup_elem(fd, &key, vals)) {
			r = -errno;
			goto out;
		}
		for (cpu = 0; cpu < ncpu; cpu++)
			for (w = 0; w < words; w++)
				out[(size_t)key * words + w] += vals[(size_t)cpu * words + w];
	}
	r = 0;
out:
	free(keys);
	free(vals);
	return r;
}

int geofw_cnt_asn_read(const struct geofw_maps *m, __u32 asn, struct geofw_asn_stats *out)
{
	return percpu_sum(m->cnt_asn, asn, (__u64 *)out, sizeof(*out) / 8);
}

int geofw_cnt_asn_list(const struct geofw_maps *m, __u32 *asn, struct geofw_asn_stats *out,
		       size_t max)
{
	__u32 key, next;
	void *prev = NULL;
	size_t n = 0;
	int err;

	while (n < max && !bpf_map_get_next_key(m->cnt_asn, prev, &next)) {
		key = next;
		prev = &key;
		err = geofw_cnt_asn_read(m, key, &out[n]);
		if (err == -ENOENT)
			continue;	/* removed meanwhile */
		if (err)
			return err;
		asn[n++] = key;
	}
	return (int)n;
}

int geofw_evt_limit_sum(int fd, __u64 *suppressed, __u64 *lost)
{
	int ncpu = libbpf_num_possible_cpus(), cpu, err = 0;
	struct geofw_event_limit *v;
	__u32 zero = 0;

	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	v = calloc((size_t)ncpu, sizeof(*v));	/* 24 bytes: already 8-aligned */
	if (!v)
		return -ENOMEM;
	if (bpf_map_lookup_elem(fd, &zero, v)) {
		err = -errno;
	} else {
		*suppressed = *lost = 0;
		for (cpu = 0; cpu < ncpu; cpu++) {
			*suppressed += v[cpu].suppressed;
			*lost += v[cpu].lost;
		}
	}
	free(v);
	return err;
}

/* Delete every key of a hash or LPM map. */
static int map_empty(int fd)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	char key[64], next[64];

	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	if (info.key_size > sizeof(key))
		return -E2BIG;
	/* Always restart from the first key: deleting invalidates the walk. */
	while (!bpf_map_get_next_key(fd, NULL, next)) {
		memcpy(key, next, info.key_size);
		if (bpf_map_delete_elem(fd, key))
			return -errno;
	}
	return 0;
}

/* Zero every slot of an array or per-CPU array. */
static int array_zero(int fd)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info), key;
	size_t vsize;
	void *zero;
	int err = 0;

	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	vsize = info.value_size;
	if (info.type == BPF_MAP_TYPE_PERCPU_ARRAY)
		vsize = ((vsize + 7) & ~(size_t)7) * (size_t)libbpf_num_possible_cpus();
	zero = calloc(1, vsize);
	if (!zero)
		return -ENOMEM;
	for (key = 0; key < info.max_entries && !err; key++)
		if (bpf_map_update_elem(fd, &key, zero, BPF_ANY))
			err = -errno;
	free(zero);
	return err;
}

int geofw_maps_reset_rules(const struct geofw_maps *m)
{
	const int hashes[] = { m->allow4, m->allow6, m->block_ip4, m->block_ip6,
			       m->block_net4, m->block_net6 };
	size_t i;
	int err;

	for (i = 0; i < sizeof(hashes) / sizeof(hashes[0]); i++)
		if ((err = map_empty(hashes[i])))
			return err;
	if ((err = geofw_rules_present_sync(m)) || (err = geofw_rule4_bits_rebuild(m)) ||
	    (err = geofw_block6_bits_rebuild(m)))
		return err;
	if ((err = map_empty(m->port_net4)) || (err = map_empty(m->port_net6)) ||
	    (err = geofw_config_set_ports(m, 0, 0)) || (err = array_zero(m->rl_sets)) ||
	    (err = array_zero(m->rl_bans)))
		return err;
	return array_zero(m->country);
}

int geofw_maps_reset_counters(const struct geofw_maps *m)
{
	const int arrays[] = { m->cnt_reason, m->cnt_action, m->cnt_country, m->cnt_rule,
			       m->cnt_resp, m->cnt_rl };
	size_t i;
	int err;

	for (i = 0; i < sizeof(arrays) / sizeof(arrays[0]); i++)
		if ((err = array_zero(arrays[i])))
			return err;
	return 0;
}
