/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Typed access to the geofw maps, by file descriptor.  The fds come either
 * from a freshly loaded object (geofwd, tests) or from the pins (fwctl's
 * read-only commands), so every consumer speaks to the maps the same way.
 */
#ifndef GEOFW_MAPS_H
#define GEOFW_MAPS_H

#include <stdbool.h>
#include <stddef.h>

#include "geofw.h"
#include "cidr.h"

struct bpf_object;

struct geofw_maps {
	int meta, config;
	int allow4, allow6;
	int block_ip4, block_ip6, block_net4, block_net6;
	int country;
	int geo4_flat, geo4_more, geo6_tree, geo6_more;	/* slot → inner map */
	int responder;
	int block4_bits;
	int cnt_reason, cnt_action, cnt_country, cnt_rule, cnt_resp;
	int nat64, resp_watch, resp_flow, evt_limit;
	int asn4_flat, asn4_more, asn6_tree, asn6_more;	/* slot → inner map */
	int asn_class, cnt_asn;
	int resp_pages, resp_select;	/* 403 pages (responder.h) */
	int port, port_set, port_net4, port_net6, port_cc, port_asn;	/* port-scoped policy */
	int port_bits;						/* their prefilter */
	int rl_rule, rl_sets, rl_bans, rl_events, cnt_rl;	/* rate limits */
	int geo4_top, asn4_top;		/* IPv4 /16 entries per slot (ABI 6) */
	int geo6_top, asn6_top;		/* IPv6 first-level entries per slot (ABI 7) */
	int block6_bits;		/* exact IPv6 block prefilter (ABI 7) */
	int events;
	/* gfw_block4_bits mapped into memory (BPF_F_MMAPABLE): bits are set
	 * with plain atomic ORs, no syscall per rule.  NULL if not mapped. */
	__u64 *block4_bits_mem;
	/* gfw_block6_bits mapped (BPF_F_MMAPABLE).  NULL if not mapped. */
	__u64 *block6_bits_mem;
	/* gfw_config[0] mapped into memory (BPF_F_MMAPABLE): the setters
	 * below store one field each.  NULL if not mapped. */
	struct geofw_config *config_mem;
	/* gfw_port mapped (BPF_F_MMAPABLE): a port table install writes
	 * 131,072 entries without a syscall each.  NULL if not mapped. */
	struct geofw_port *port_mem;
	/* gfw_port_bits mapped (BPF_F_MMAPABLE).  NULL if not mapped. */
	__u64 *port_bits_mem;
};

/* Fill fds from a loaded object (fds stay owned by the object). */
int geofw_maps_from_object(struct bpf_object *obj, struct geofw_maps *m);
/* Open every pinned map under pin_dir; close with geofw_maps_close(). */
int geofw_maps_open_pinned(const char *pin_dir, struct geofw_maps *m);
void geofw_maps_close(struct geofw_maps *m);

/* Safe defaults: block-listed mode, unknown country passes, malformed frames
 * dropped except runts (no IP to judge), reject/http403 degrade to drop. */
void geofw_config_defaults(struct geofw_config *cfg);
int geofw_config_read(const struct geofw_maps *m, struct geofw_config *cfg);
/*
 * Rewrites the whole record: only for the loader filling a map it has just
 * created, and for tests and benchmarks that own their maps.  A running
 * system changes gfw_config through the one-field setters below, each
 * field by its one writer (docs/maps.md), so no stale copy is written back.
 */
int geofw_config_write(const struct geofw_maps *m, const struct geofw_config *cfg);
/* geofwd, from the config file and fwctl's country policy: country_mode,
 * country_block_action, unknown_country_action, malformed_action[]. */
int geofw_config_set_policy(const struct geofw_maps *m, const struct geofw_config *src);
/* geofwd's attach code: responder_enabled. */
int geofw_config_set_responder(const struct geofw_maps *m, bool enabled);
/* geofw_geo_install(): geo_slot, then geo_generation + 1. */
int geofw_config_switch_geo_slot(const struct geofw_maps *m, __u8 slot);
/* geofw_asn_install(): asn_slot and asn_present (0: no ASN table in force). */
int geofw_config_switch_asn_slot(const struct geofw_maps *m, __u8 slot, bool present);
/* geofw_ports_install(): ports_present (GEOFW_PORTS_*, slot bit included)
 * and rl_count, together in one 16-bit store. */
int geofw_config_set_ports(const struct geofw_maps *m, __u8 present, __u8 rl_count);
/*
 * events_rate is a lease of whoever reads the drop log (geofwd with DropLog
 * on, a running `fwctl log`/`top`): set to `to` only if it is `from`
 * (compare-and-exchange on that field alone; from GEOFW_EVENTS_RATE_ANY
 * stores unconditionally).  0 when set, 1 when the field held another
 * value, which *seen then gives; -errno on error.
 */
#define GEOFW_EVENTS_RATE_ANY	0xffffffffu
int geofw_config_swap_events_rate(const struct geofw_maps *m, __u32 from, __u32 to,
				  __u32 *seen);
int geofw_meta_read(const struct geofw_maps *m, struct geofw_meta *meta);
int geofw_meta_write(const struct geofw_maps *m, const struct geofw_meta *meta);

/* Rules.  A /32 or /128 goes to the exact-match hash, shorter prefixes to the
 * CIDR table; callers never need to know which.  A block value's prefixlen
 * is set here from c. */
int geofw_block_put(const struct geofw_maps *m, const struct geofw_cidr *c,
		    const struct geofw_block *val);
int geofw_block_del(const struct geofw_maps *m, const struct geofw_cidr *c);
int geofw_allow_put(const struct geofw_maps *m, const struct geofw_cidr *c,
		    const struct geofw_allow *val);
int geofw_allow_del(const struct geofw_maps *m, const struct geofw_cidr *c);
/*
 * Block rules also set the /24 prefilter bits (IPv4) and the rule maps must
 * be marked present in the config: call geofw_rules_present_add() with the
 * bits of a batch before putting it (geofw_rules_present_bit() gives a
 * prefix's bit), and geofw_rules_present_sync() after deleting, which clears
 * the bits of maps that became empty.
 */
/*
 * Many blocks at once (imports): exact /32 and /128 entries are queued and
 * written with BPF_MAP_UPDATE_BATCH, shorter prefixes go in directly.  The
 * prefilter bits are set as entries are queued, before they are written.
 * new() returns NULL when memory is short: callers fall back to _put().
 */
struct geofw_block_batch;
struct geofw_block_batch *geofw_block_batch_new(size_t max_entries);
int geofw_block_batch_put(const struct geofw_maps *m, struct geofw_block_batch *b,
			  const struct geofw_cidr *c, const struct geofw_block *val);
int geofw_block_batch_flush(const struct geofw_maps *m, struct geofw_block_batch *b);
void geofw_block_batch_free(struct geofw_block_batch *b);

unsigned int geofw_rules_present_bit(const struct geofw_cidr *c, bool allow);
int geofw_rules_present_add(const struct geofw_maps *m, unsigned int bits);
int geofw_rules_present_sync(const struct geofw_maps *m);
/* Recompute the IPv4 prefilter bits (gfw_block4_bits: /24 and /16 bits of
 * block rules, /16 bits of allow rules) exactly from the rule maps (start,
 * after a kernel diff, tests). */
int geofw_rule4_bits_rebuild(const struct geofw_maps *m);
/* gfw_block6_bits from gfw_block_ip6, exactly (stale bits cleared). */
int geofw_block6_bits_rebuild(const struct geofw_maps *m);

int geofw_country_put(const struct geofw_maps *m, unsigned int country_id,
		      const struct geofw_country *pol);

/* Counters, summed over CPUs. */
/* Keys 0..n-1 of a per-CPU array, words u64 per value, into out[n * words]. */
int geofw_percpu_array_sum(int fd, __u32 n, size_t words, __u64 *out);
/* gfw_cnt_asn: one AS's counters, or every AS's (at most max, in map
 * order; the count or -errno). */
int geofw_cnt_asn_read(const struct geofw_maps *m, __u32 asn, struct geofw_asn_stats *out);
int geofw_cnt_asn_list(const struct geofw_maps *m, __u32 *asn, struct geofw_asn_stats *out,
		       size_t max);
/* gfw_evt_limit (fd) summed over CPUs: samples over the rate limit, and
 * samples within it that found the ring full. */
int geofw_evt_limit_sum(int fd, __u64 *suppressed, __u64 *lost);

/* Remove every allow/block rule and country policy (geo: geofw_geo_clear). */
int geofw_maps_reset_rules(const struct geofw_maps *m);
/* Zero every counter. */
int geofw_maps_reset_counters(const struct geofw_maps *m);

/* Names for enums, as printed by fwctl and accepted in config and commands
 * (names.c: in the core library, no libbpf). */
const char *geofw_action_name(unsigned int action);
int geofw_action_parse(const char *name);	/* -1 when unknown */
const char *geofw_reason_name(unsigned int reason);

#endif
