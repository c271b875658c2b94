/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Keys and values of the fleet's NATS KV bucket (geofwd's fleet.c;
 * docs/design-notes.md, "The fleet").
 *
 * Keys: a namespace, a dot, then what the rule is about.
 *
 *	block.ADDR/LEN		a block rule (IPv6 ':' written '_', the one
 *	allow.ADDR/LEN		character of a prefix a KV key cannot hold)
 *	country.CC		a country listed in the fleet's country policy
 *	country.mode		the fleet policy's mode (block or allow listed)
 *	country.action		the fleet policy's default action
 *	asn.block.AS64500	an AS block rule
 *	asn.allow.AS64500	an AS allow rule
 *
 * Every spelling is canonical (one rule, one key, on every host): lower
 * case IPv6, no host bits, upper case country codes, "AS" and the AS
 * number in decimal without leading zeros.  The rest of the asn.*
 * namespace is reserved: a later geofw may add keys there, which this one
 * keeps (fleet_keys) without applying.  (geofw before the AS keys kept all
 * of asn.* that way, so a fleet of mixed versions stays consistent: old
 * hosts do not enforce the AS rules, and do not lose them.)
 *
 * Values: one line "VERSION WORD EXPIRES CREATED ORIGIN", a newline, then
 * the comment (store rules: UTF-8, no control characters).  WORD is the
 * key's value: the block action (block.*, asn.block.*, country.CC: an
 * action or "default", country.action), "allow" (allow.*, asn.allow.*),
 * "block" or "allow" (country.mode).  EXPIRES and CREATED are UNIX seconds (0: never); ORIGIN
 * is the host that made the change, one word.
 *
 * Versions: this geofw writes 1.  A later version may only append words to
 * the first line (a reader takes the five it knows and ignores the rest);
 * a change that old readers would misread takes new key names instead.
 * Values come from other hosts: anything else is refused.
 */
#ifndef GEOFW_FLEETVAL_H
#define GEOFW_FLEETVAL_H

#include <stddef.h>

#include "cidr.h"
#include "store.h"

#define GEOFW_FLEET_VALUE_VERSION	1
#define GEOFW_FLEET_KEY_MAX		(8 + GEOFW_CIDR_STRLEN)	/* > "asn.allow.AS4294967295" */
#define GEOFW_FLEET_ORIGIN_MAX		255

/* What a key names (geofw_fleet_key_parse). */
enum geofw_fleet_kind {
	GEOFW_FLEET_BLOCK = 1,		/* r->prefix */
	GEOFW_FLEET_ALLOW,		/* r->prefix */
	GEOFW_FLEET_COUNTRY,		/* r->country */
	GEOFW_FLEET_COUNTRY_MODE,
	GEOFW_FLEET_COUNTRY_ACTION,
	GEOFW_FLEET_BLOCK_ASN,		/* r->asn */
	GEOFW_FLEET_ALLOW_ASN,		/* r->asn */
};

/* A parsed value; the strings point into the parsed buffer. */
struct geofw_fleet_value {
	unsigned int version;
	const char *word;		/* the key's value, checked by kind */
	__u64 expires, created;
	const char *origin;
	const char *comment;
};

/*
 * The key of a block or allow rule (r->prefix), of an AS rule (kinds
 * BLOCK_ASN, ALLOW_ASN: r->asn) or of a listed country (kind
 * GEOFW_RULE_COUNTRY, r->country).  0, -EINVAL, -ENAMETOOLONG.
 */
int geofw_fleet_key(const struct geofw_rule *r, char *buf, size_t len);
/*
 * What key names: enum geofw_fleet_kind, with r's kind and prefix, AS or
 * country filled (the rest zero); -EOPNOTSUPP for a key of the namespace
 * geofw reserves but this version does not apply (asn.* other than
 * asn.block.* and asn.allow.*); -EINVAL for anything else.
 */
int geofw_fleet_key_parse(const char *key, struct geofw_rule *r);

/* A malloc'ed value: word, expires, created and comment, made on host.
 * NULL: out of memory. */
char *geofw_fleet_value_make(const char *word, __u64 expires, __u64 created,
			     const char *comment, const char *host);
/* The value of a block or allow rule, of prefixes or ASes (action,
 * expires, created, comment). */
char *geofw_fleet_value_format(const struct geofw_rule *r, const char *host);
/* Parse buf (modified) into v.  0 or -EINVAL. */
int geofw_fleet_value_parse(char *buf, struct geofw_fleet_value *v);
/*
 * Parse the value of a block or allow key, of a prefix or an AS (r's kind
 * and prefix or AS already set by geofw_fleet_key_parse) into r's action,
 * expires, created and comment.  0 or -EINVAL (a word that is not for
 * this kind, too).
 */
int geofw_fleet_rule_parse(char *buf, struct geofw_rule *r, const char **origin);

/*
 * The country policy a host enforces: its own (local: the store's runtime
 * policy or geofw.conf's) and the fleet's together.  A country is blocked
 * when either blocks it, with the strictest action of those that do; the
 * fleet never lets through what the local policy blocks, and the local
 * policy cannot lift a fleet block.  When either policy allows only its
 * listed countries, the result does too.
 */
void geofw_fleet_countries_combine(const struct geofw_store_countries *local,
				   const struct geofw_store_countries *fleet,
				   struct geofw_store_countries *out);

#endif
