/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Keys and values of the fleet's NATS KV bucket (geofwd's fleet.c;
 * docs/design-notes.md, "The fleet").
 *
 * Key: "block.ADDR/LEN", the canonical prefix with IPv6 ':' written '_'
 * (the one character of a prefix a KV key cannot hold).
 *
 * Value: one line "VERSION ACTION EXPIRES CREATED ORIGIN", a newline, then
 * the comment (store rules: UTF-8, no control characters).  VERSION is 1;
 * EXPIRES and CREATED are UNIX seconds (0: never); ORIGIN is the host that
 * made the change, one word.  Values come from other hosts: the parser
 * accepts nothing else.
 */
#ifndef GEOFW_FLEETVAL_H
#define GEOFW_FLEETVAL_H

#include <stddef.h>

#include "cidr.h"
#include "store.h"

#define GEOFW_FLEET_VALUE_VERSION	1
#define GEOFW_FLEET_KEY_MAX		(6 + GEOFW_CIDR_STRLEN)

/* 0, -EINVAL for a kind the fleet does not carry, -ENAMETOOLONG. */
int geofw_fleet_key_format(int kind, const struct geofw_cidr *c, char *buf, size_t len);
/* 0 or -EINVAL (not a key of ours). */
int geofw_fleet_key_parse(const char *key, int *kind, struct geofw_cidr *c);
/* A malloc'ed value of r (action, expires, created, comment) made on host;
 * NULL: out of memory. */
char *geofw_fleet_value_format(const struct geofw_rule *r, const char *host);
/* Parse buf (modified): action, expires, created and comment of r (comment
 * and *origin point into buf).  0 or -EINVAL. */
int geofw_fleet_value_parse(char *buf, struct geofw_rule *r, const char **origin);

#endif
