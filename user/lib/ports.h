/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Port-scoped policy: port lists as operators write them ("22/tcp",
 * "80,443/tcp", "8000-8100/tcp,53/udp"), the rules limited to them, and
 * their compilation into the port maps of include/geofw.h (a port-set
 * table, per-set bits on prefixes and countries), installed in the free
 * generation slot and switched with one byte.
 *
 * Pure except geofw_ports_install(): parsers return 0 or -EINVAL with a
 * one-line message and never log.
 */
#ifndef GEOFW_PORTS_H
#define GEOFW_PORTS_H

#include <stdbool.h>
#include <stddef.h>

#include "geofw.h"
#include "cidr.h"

struct geofw_maps;

#define GEOFW_PORTS_MAX_RANGES	32	/* ranges in one port list */
#define GEOFW_PORTS_STRLEN	(GEOFW_PORTS_MAX_RANGES * 16)

struct geofw_port_range {
	__u8  proto;		/* GEOFW_PORT_PROTO_TCP or _UDP */
	__u16 lo, hi;		/* inclusive, 1..65535 */
};

/* A port list: ranges sorted by protocol then port, merged (no overlap, no
 * two adjacent), so equal lists compare equal with memcmp of the used part. */
struct geofw_ports {
	size_t n;
	struct geofw_port_range r[GEOFW_PORTS_MAX_RANGES];
};

/*
 * "ITEM[,ITEM...]" where ITEM is PORT or LO-HI, and a "/tcp" or "/udp"
 * suffix gives the protocol of the items back to the previous suffix:
 * "80,443/tcp", "8000-8100/tcp,53/udp".  Every item needs a protocol; port 0
 * and LO > HI are errors.
 */
int geofw_ports_parse(const char *text, struct geofw_ports *out, char *err, size_t errlen);
/* Canonical text ("80,443/tcp,53/udp"); 0 or -ENOSPC. */
int geofw_ports_format(const struct geofw_ports *p, char *buf, size_t len);
bool geofw_ports_equal(const struct geofw_ports *a, const struct geofw_ports *b);
bool geofw_ports_contains(const struct geofw_ports *p, int proto, unsigned int port);
/* "22/tcp" → proto and port, for `fwctl lookup ADDR PORT/PROTO`. */
int geofw_port_parse_one(const char *text, int *proto, unsigned int *port,
			 char *err, size_t errlen);

/* What a port-scoped rule does. */
enum geofw_prule_kind {
	GEOFW_PRULE_ALLOW	= 1,	/* the prefix or AS passes on the ports */
	GEOFW_PRULE_BLOCK	= 2,	/* the prefix or AS is blocked on the ports (action) */
	GEOFW_PRULE_COUNTRY	= 3,	/* the country is blocked on the ports (action) */
	GEOFW_PRULE_ONLY	= 4,	/* the ports' allow-only policy lists the prefix or
					 * country; action: what the unlisted get */
};

struct geofw_prule {
	int kind;			/* enum geofw_prule_kind */
	struct geofw_ports ports;
	bool is_country;		/* target: country */
	bool is_asn;			/* target: AS (else, neither: prefix) */
	struct geofw_cidr prefix;
	__u8 country;			/* country id */
	__u32 asn;			/* AS number */
	__u8 action;			/* block, country, only: enum geofw_action */
	__u32 rule_id;			/* hit counter, 0 = none */
	__u64 expires;			/* UNIX seconds, 0 = never (the store's) */
	const char *comment;
	const char *source;		/* "cli", "config", ... */
	__u32 uid;
	__s32 pid;
	__u64 created;
};

/* "allow", "block", "block-country", "allow-only" */
const char *geofw_prule_kind_name(int kind);
/* The target as text: canonical prefix, country code or "AS64500". */
int geofw_prule_target(const struct geofw_prule *r, char *buf, size_t len);
int geofw_prule_target_parse(const char *text, struct geofw_prule *r, char *err, size_t errlen);

/*
 * The kernel image of a rule set: port sets numbered in the order they
 * first appear, at most GEOFW_MAX_PORT_SETS (-E2BIG beyond), prefixes merged
 * with every shorter prefix that covers them.
 */
struct geofw_ports_image {
	struct geofw_ports set[GEOFW_MAX_PORT_SETS];
	size_t n_sets;
	struct geofw_port_set set_val[GEOFW_MAX_PORT_SETS];
	__u16 only_sets;		/* sets with an allow-only policy */
	struct {
		struct geofw_cidr prefix;
		struct geofw_port_net val;
	} *net;
	size_t n_net, cap_net;
	struct geofw_port_cc cc[GEOFW_MAX_COUNTRIES];
	bool any_cc;
	/* AS rules: one merged value per AS, and its entry in the slot's
	 * open-addressed table (gfw_port_asn, GEOFW_PORT_ASN_KEY) */
	struct {
		__u32 asn;
		__u32 pos;
		struct geofw_port_net val;
	} *asn;
	size_t n_asn, cap_asn;
	/* rate limits (geofw_ports_add_ratelimits), installed with the rest */
	struct geofw_rl_rule rl[GEOFW_MAX_RATELIMITS];
	size_t n_rl;
};

struct geofw_ratelimit;

int geofw_ports_build(const struct geofw_prule *rules, size_t n, struct geofw_ports_image *img,
		      char *err, size_t errlen);
void geofw_ports_image_free(struct geofw_ports_image *img);
/* Add rate limits to a built image (their port lists become port sets
 * too).  -E2BIG beyond GEOFW_MAX_RATELIMITS or port sets. */
int geofw_ports_add_ratelimits(struct geofw_ports_image *img, const struct geofw_ratelimit *rl,
			       size_t n, __u8 v6_default, char *err, size_t errlen);
/* Write img into the free slot, switch config.ports_present to it, clear the
 * old slot.  An empty image turns the port stage off (ports_present 0).
 * In ports_maps.c, the kernel archive; the rest of ports.c is core. */
int geofw_ports_install(const struct geofw_maps *m, const struct geofw_ports_image *img,
			char *err, size_t errlen);

#endif
