/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Canary frames: a program is proven on the maps it will use before a link
 * is switched to it (start, upgrade, ABI migration).  Each frame runs
 * through the new program with BPF_PROG_RUN and its XDP verdict must be the
 * one the decision code compiled for the host (explain.h) gives on the same
 * maps: a source of an allow rule passes, a source of a block rule is
 * dropped, a malformed frame gets its configured verdict, a non-IP frame
 * passes.  A program that disagrees on any frame is refused and the one in
 * force stays.
 *
 * The frames are UDP (reject and http403 are drops for UDP, so no frame
 * depends on the TC responder) and counted like real packets: each check
 * adds its few frames to the reason and rule counters.
 */
#ifndef GEOFW_CANARY_H
#define GEOFW_CANARY_H

#include <stdbool.h>
#include <stddef.h>

#include "cidr.h"
#include "maps.h"

#define GEOFW_CANARY_MAX_SOURCES	8

/* Source addresses to try, beside fixed documentation addresses: geofwd
 * adds the first allow and block prefix of each family in force. */
struct geofw_canary {
	struct geofw_cidr src[GEOFW_CANARY_MAX_SOURCES];
	size_t n_src;
};

/* Add a prefix's first address (ignored when full). */
void geofw_canary_add(struct geofw_canary *c, const struct geofw_cidr *prefix);

/*
 * Run the frames through prog_fd (an XDP program of the geofw object; l3:
 * the entry without Ethernet header) on maps m.  0 when every verdict is
 * the expected one; -EPROTO with the first disagreement in err
 * ("canary 'block 203.0.113.7 udp': XDP_PASS, expected XDP_DROP"); another
 * -errno when the frames could not be run.  *frames (may be NULL) counts
 * the frames run.
 */
int geofw_canary_check(const struct geofw_canary *c, const struct geofw_maps *m, int prog_fd,
		       bool l3, size_t *frames, char *err, size_t errlen);

#endif
