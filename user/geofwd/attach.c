// SPDX-License-Identifier: GPL-2.0-only
/*
 * Keeping the programs on the interfaces.
 *
 * XDP: a bpf_link per interface, pinned under PIN_DIR/links, so enforcement
 * outlives the daemon.  On start an existing link is updated in place to the
 * new program (never detached first).  TC: Debian 12's libbpf predates tcx
 * links, so the responder is a clsact ingress filter with our handle and
 * priority, replaced in place (BPF_TC_F_REPLACE); it too survives the daemon.
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/if_link.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "geofwd.h"
#include "log.h"

static void link_path(const struct gfwd *d, const struct gfwd_iface *ifc, char *buf, size_t len)
{
	snprintf(buf, len, "%.4000s/xdp-%s", d->link_dir, ifc->name);
}

/* ifindex the link is attached to, 0 when it no longer is (device gone). */
static int link_ifindex(int fd)
{
	struct bpf_link_info info = {};
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return 0;
	return info.type == BPF_LINK_TYPE_XDP ? (int)info.xdp.ifindex : 0;
}

static int attached_mode(int ifindex)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);

	if (bpf_xdp_query(ifindex, 0, &q))
		return -1;
	return q.attach_mode == XDP_ATTACHED_SKB ? GEOFW_XDP_GENERIC :
	       q.attach_mode == XDP_ATTACHED_DRV ? GEOFW_XDP_NATIVE : -1;
}

static int create_link(struct gfwd *d, struct gfwd_iface *ifc, int mode)
{
	LIBBPF_OPTS(bpf_link_create_opts, opts);
	int fd;

	opts.flags = mode == GEOFW_XDP_NATIVE ? XDP_FLAGS_DRV_MODE :
		     mode == GEOFW_XDP_GENERIC ? XDP_FLAGS_SKB_MODE : 0;
	fd = bpf_link_create(d->fw.xdp_prog_fd, ifc->ifindex, BPF_XDP, &opts);
	return fd < 0 ? -errno : fd;
}

static int attach_xdp(struct gfwd *d, struct gfwd_iface *ifc)
{
	int want = d->conf.xdp_mode, fd, err, mode;
	char path[4200];

	link_path(d, ifc, path, sizeof(path));
	fd = bpf_obj_get(path);
	if (fd >= 0 && link_ifindex(fd) == ifc->ifindex) {
		mode = attached_mode(ifc->ifindex);
		if (want == GEOFW_XDP_AUTO || mode == want) {
			/* The common restart: same device, swap the program in. */
			if (bpf_link_update(fd, d->fw.xdp_prog_fd, NULL)) {
				err = -errno;
				close(fd);
				return log_err(err, "%s: cannot update XDP link: %s", ifc->name,
					       strerror(-err));
			}
			ifc->xdp_link = fd;
			ifc->xdp_mode = mode;
			log_info("%s: XDP program replaced in place (%s mode)", ifc->name,
				 geofw_xdp_mode_name(mode));
			return 0;
		}
		/* Mode change: the new mode coexists with the old one, so attach
		 * it first and only then let the old link go. */
	}

	mode = want;
	err = create_link(d, ifc, mode);
	if (err < 0 && want == GEOFW_XDP_AUTO && err != -EBUSY) {
		mode = GEOFW_XDP_GENERIC;
		err = create_link(d, ifc, mode);
	}
	if (err < 0) {
		if (fd >= 0)
			close(fd);
		snprintf(ifc->error, sizeof(ifc->error), "cannot attach XDP (%s mode): %s%s",
			 geofw_xdp_mode_name(mode), strerror(-err),
			 err == -EBUSY ? " (another XDP program is attached)" : "");
		return log_err(err, "%s: %s", ifc->name, ifc->error);
	}
	if (fd >= 0) {
		unlink(path);	/* old link: released when fd closes */
		close(fd);
	}
	if (bpf_obj_pin(err, path)) {
		int perr = -errno;

		close(err);
		snprintf(ifc->error, sizeof(ifc->error), "cannot pin XDP link: %s", strerror(-perr));
		return log_err(perr, "%s: %s", ifc->name, ifc->error);
	}
	ifc->xdp_link = err;
	ifc->xdp_mode = mode == GEOFW_XDP_AUTO ? attached_mode(ifc->ifindex) : mode;
	log_info("%s: XDP attached (%s mode)", ifc->name, geofw_xdp_mode_name(ifc->xdp_mode));
	return 0;
}

static int attach_tc(struct gfwd *d, struct gfwd_iface *ifc)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifc->ifindex, .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = GFWD_TC_HANDLE, .priority = GFWD_TC_PRIO,
		    .flags = BPF_TC_F_REPLACE);
	int err;

	if (d->fw.tc_prog_fd <= 0)
		return -ENOENT;
	err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST)
		return log_err(err, "%s: cannot create clsact qdisc: %s", ifc->name, strerror(-err));
	opts.prog_fd = d->fw.tc_prog_fd;
	err = bpf_tc_attach(&hook, &opts);
	if (err)
		return log_err(err, "%s: cannot attach TC responder: %s", ifc->name, strerror(-err));
	ifc->tc = true;
	return 0;
}

int gfwd_iface_attach(struct gfwd *d, struct gfwd_iface *ifc)
{
	int err;

	ifc->error[0] = '\0';
	/* TC first: XDP marks packets for it from its first packet on. */
	if (attach_tc(d, ifc) && d->fw.tc_prog_fd > 0)
		snprintf(ifc->error, sizeof(ifc->error), "TC responder not attached");
	err = attach_xdp(d, ifc);
	if (err && ifc->tc)
		gfwd_iface_detach(d, ifc);
	return err;
}

void gfwd_iface_detach(struct gfwd *d, struct gfwd_iface *ifc)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifc->ifindex, .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = GFWD_TC_HANDLE, .priority = GFWD_TC_PRIO);
	char path[4200];

	link_path(d, ifc, path, sizeof(path));
	unlink(path);
	if (ifc->xdp_link >= 0) {
		bpf_link_detach(ifc->xdp_link);
		close(ifc->xdp_link);
	}
	ifc->xdp_link = -1;
	if (ifc->ifindex && ifc->tc)
		bpf_tc_detach(&hook, &opts);
	ifc->tc = false;
}

/*
 * Bring every configured interface to "attached" when it exists.  Called at
 * start, on every link event and after a reload: an interface that appeared
 * or was re-created (new ifindex) gets the programs again.
 */
void gfwd_ifaces_sync(struct gfwd *d)
{
	bool responder = d->fw.tc_prog_fd > 0;
	int i;

	for (i = 0; i < d->n_ifaces; i++) {
		struct gfwd_iface *ifc = &d->ifaces[i];
		int ifindex = (int)if_nametoindex(ifc->name);

		if (ifindex != ifc->ifindex || (ifindex && ifc->xdp_link >= 0 &&
						link_ifindex(ifc->xdp_link) != ifindex)) {
			if (ifc->xdp_link >= 0) {
				close(ifc->xdp_link);
				ifc->xdp_link = -1;
			}
			ifc->tc = false;
			if (ifc->ifindex && !ifindex)
				log_warn("%s: interface gone; waiting for it to return", ifc->name);
			ifc->ifindex = ifindex;
		}
		if (ifindex && ifc->xdp_link < 0)
			gfwd_iface_attach(d, ifc);
		if (ifc->xdp_link >= 0 && !ifc->tc)
			responder = false;
	}
	if (responder != d->responder_ok) {
		d->responder_ok = responder;
		gfwd_apply_kernel_config(d);
	}
}

/* One entry of the pin directory: files (pins) and then their directory. */
static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if ((type == FTW_DP ? rmdir(path) : unlink(path)) && errno != ENOENT) {
		log_err(-errno, "cleanup: cannot remove %s: %s", path, strerror(errno));
		return 1;	/* stops the walk */
	}
	return 0;
}

/*
 * geofwd --cleanup: every link, filter and map pin goes.  A depth-first walk
 * (children before their directory) that never follows a symbolic link out of
 * the pin directory; an absent directory is already clean.
 */
int gfwd_cleanup_pins(const char *pin_dir)
{
	int err;

	/* Unpinning a link's last reference detaches its program. */
	err = nftw(pin_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	if (err > 0)
		return -EIO;
	if (err < 0 && errno != ENOENT)
		return log_err(-errno, "cleanup: cannot walk %s: %s", pin_dir, strerror(errno));
	return 0;
}
