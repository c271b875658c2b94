/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Open and load the BPF objects: the XDP program (and its geo probe) and the
 * TC responder, which shares the XDP object's maps.  With a pin directory,
 * maps are pinned there by name and existing compatible pins are reused
 * (libbpf checks type, key, value and size); without one, the maps are
 * private to the caller (tests).
 */
#ifndef GEOFW_LOADER_H
#define GEOFW_LOADER_H

#include "maps.h"

struct bpf_object;
struct geofw_xdp;
struct geofw_tc;

struct geofw_loaded {
	struct geofw_xdp *xdp;		/* skeleton, owns program and map fds */
	struct bpf_object *xdp_obj;	/* its object (BTF for the geo tables) */
	struct geofw_maps maps;		/* fds borrowed from the skeleton */
	int xdp_prog_fd;
	int xdp_l3_prog_fd;		/* geofw_xdp_l3: devices without Ethernet header */
	int geo_probe_fd;		/* geofw_geo_probe, for geo verify */
	int asn_probe_fd;		/* geofw_asn_probe, for asn verify */
	struct geofw_tc *tc;		/* TC responder skeleton, NULL if not loaded */
	int tc_prog_fd;			/* 0 when there is no responder */
};

/* pin_dir NULL: no pinning.  On success the config map holds the defaults
 * (fresh maps) or is left as found (adopted pins), and meta is written. */
int geofw_load(const char *pin_dir, struct geofw_loaded *out);
void geofw_unload(struct geofw_loaded *l);

/* When geofw_load() refuses the pins in pin_dir (-EPROTO: another ABI;
 * -EINVAL: maps libbpf cannot reuse), load with fresh maps and put their
 * pins in place of the old ones; the caller then fills them and switches the
 * programs through the pinned links. */
int geofw_load_replace(const char *pin_dir, struct geofw_loaded *out);

/* Mount bpffs at /sys/fs/bpf when it is not mounted (it is not everywhere). */
int geofw_bpffs_ensure(void);

#endif
