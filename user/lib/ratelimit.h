/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Rate limits as geofw.conf and fwctl write them:
 *
 *	NAME RATE burst N per /V4LEN [/V6LEN] [ports PORTS] [syn-only]
 *	     then drop | then ban DURATION
 *
 * RATE is a number with an optional k, M or G (×1000) and the unit pps
 * (packets) or bps (bits) per second: 1000pps, 20kpps, 10Mbps.  N counts
 * packets (pps) or bytes (bps).  The source key is the IPv4 prefix /V4LEN
 * and the IPv6 prefix /V6LEN (default RateLimitIPv6Prefix, /64).  Pure
 * parsing and formatting: 0 or -EINVAL with a one-line message.
 */
#ifndef GEOFW_RATELIMIT_H
#define GEOFW_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>

#include "geofw.h"
#include "ports.h"

#define GEOFW_RL_NAME_MAX	32	/* 31 characters [A-Za-z0-9_.-] + NUL */
#define GEOFW_RL_STRLEN		(GEOFW_PORTS_STRLEN + 160)
#define GEOFW_RL_V6_DEFAULT	64

struct geofw_ratelimit {
	char name[GEOFW_RL_NAME_MAX];
	__u64 rate;		/* units per second, >= 1 */
	bool bps;		/* units: bits (else packets) */
	__u64 burst;		/* packets, or bytes for bps */
	__u8 v4_prefix;		/* 1..32 */
	__u8 v6_prefix;		/* 1..128; 0: the configured default */
	bool has_ports;
	struct geofw_ports ports;
	bool syn_only;
	bool ban;
	__u64 ban_secs;		/* ban: how long */
};

int geofw_ratelimit_parse(const char *text, struct geofw_ratelimit *out,
			  char *err, size_t errlen);
/* The canonical line (parses back to the same limit); 0 or -ENOSPC. */
int geofw_ratelimit_format(const struct geofw_ratelimit *r, char *buf, size_t len);
/* The kernel rule: port_sets from the port image, v6_default for a limit
 * that names no IPv6 prefix. */
void geofw_ratelimit_kernel(const struct geofw_ratelimit *r, __u8 v6_default, __u16 port_sets,
			    struct geofw_rl_rule *out);
/* geofw_rl_rule.front for a host of ncpus CPUs. */
__u8 geofw_ratelimit_front(int ncpus);

#endif
