// SPDX-License-Identifier: GPL-2.0-only
/*
 * Keeping the programs on the interfaces.
 *
 * XDP: a bpf_link per interface, pinned under PIN_DIR/links, so enforcement
 * outlives the daemon.  On start an existing link is updated in place to the
 * new program (never detached first).  TC: Debian 12's libbpf predates tcx
 * links, so the responder is a clsact ingress filter with our handle and
 * priority, replaced in place (BPF_TC_F_REPLACE); it too survives the daemon.
 *
 * The program is chosen by the device's link type: geofw_xdp for Ethernet
 * framing, geofw_xdp_l3 for devices whose packets start at the IP header.  A
 * link type neither parses is refused by name, never attached blind.
 *
 * The responder is watched (gfw_resp_watch): XDP stops handing packets to a
 * TC program that does not acknowledge them, and geofwd re-attaches a filter
 * that has gone (gfwd_responder_check).
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <net/if_arp.h>

#ifndef ARPHRD_IP6GRE
#define ARPHRD_IP6GRE	823	/* linux/if_arp.h; glibc's copy predates it */
#endif
#ifndef ARPHRD_RAWIP
#define ARPHRD_RAWIP	519
#endif
#include <linux/if_link.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "canary.h"
#include "geofwd.h"
#include "log.h"

/* How XDP parses each link type: 0 Ethernet, 1 from the IP header, -1 not. */
static const struct {
	int type;
	int l3;
	const char *name;
} link_types[] = {
	{ ARPHRD_ETHER, 0, "ether" },
	{ ARPHRD_LOOPBACK, 0, "loopback" },
	{ ARPHRD_NONE, 1, "none (tun, wireguard)" },
	{ ARPHRD_PPP, 1, "ppp" },
	{ ARPHRD_TUNNEL, 1, "ipip" },
	{ ARPHRD_TUNNEL6, 1, "ip6tnl" },
	{ ARPHRD_IPGRE, 1, "gre" },
	{ ARPHRD_IP6GRE, 1, "ip6gre" },
	{ ARPHRD_SIT, 1, "sit" },
	{ ARPHRD_RAWIP, 1, "rawip" },
	{ ARPHRD_INFINIBAND, -1, "infiniband" },
	{ ARPHRD_IEEE80211_RADIOTAP, -1, "ieee80211_radiotap" },
	{ ARPHRD_IEEE802154, -1, "ieee802154" },
	{ ARPHRD_CAN, -1, "can" },
	{ 0, 0, NULL },
};

const char *gfwd_link_type_name(int link_type)
{
	size_t i;

	for (i = 0; link_types[i].name; i++)
		if (link_types[i].type == link_type)
			return link_types[i].name;
	return "unknown";
}

static int link_kind(int link_type)
{
	size_t i;

	for (i = 0; link_types[i].name; i++)
		if (link_types[i].type == link_type)
			return link_types[i].l3;
	return -1;
}

/* ARPHRD_* of the device, or -errno. */
static int link_type_of(const char *name)
{
	struct ifreq ifr = {};
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0), err = 0;

	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr))
		err = -errno;
	close(fd);
	return err ? err : ifr.ifr_hwaddr.sa_family;
}

static __u64 coarse_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (__u64)ts.tv_sec * 1000000000ull + (__u64)ts.tv_nsec;
}

/* A fresh liveness record: XDP hands packets to TC on this interface again. */
static void watch_reset(struct gfwd *d, int ifindex)
{
	struct geofw_resp_watch w = { .ack_ns = coarse_now_ns() };
	__u32 key = (__u32)ifindex;

	if (bpf_map_update_elem(d->fw.maps.resp_watch, &key, &w, BPF_ANY))
		log_warn("ifindex %d: cannot write %s: %s (reject/http403 dropped there)",
			 ifindex, GEOFW_MAP_RESP_WATCH, strerror(errno));
}

static void watch_delete(struct gfwd *d, int ifindex)
{
	__u32 key = (__u32)ifindex;

	if (ifindex)
		bpf_map_delete_elem(d->fw.maps.resp_watch, &key);
}

bool gfwd_iface_protected(const struct gfwd_iface *ifc)
{
	return !ifc->ifindex || ifc->xdp_link >= 0;
}

static int xdp_prog(const struct gfwd *d, const struct gfwd_iface *ifc)
{
	return ifc->l3 ? d->fw.xdp_l3_prog_fd : d->fw.xdp_prog_fd;
}

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

static int create_link(struct gfwd_iface *ifc, int prog, int mode)
{
	LIBBPF_OPTS(bpf_link_create_opts, opts);
	int fd;

	opts.flags = mode == GEOFW_XDP_NATIVE ? XDP_FLAGS_DRV_MODE :
		     mode == GEOFW_XDP_GENERIC ? XDP_FLAGS_SKB_MODE : 0;
	fd = bpf_link_create(prog, ifc->ifindex, BPF_XDP, &opts);
	return fd < 0 ? -errno : fd;
}

/*
 * Prove the program on the maps it will use before any link goes to it
 * (canary.h).  The sources tried beside the fixed ones: the first allow and
 * block rows of each family, as the store holds them now.
 */
struct canary_pick {
	struct geofw_canary *c;
	bool have[2][2];	/* [allow][family 6] */
	size_t seen;
};

static int canary_row(const struct geofw_rule *rule, void *arg)
{
	struct canary_pick *p = arg;
	bool allow = rule->kind == GEOFW_RULE_ALLOW, v6 = rule->prefix.family == 6;

	if (!p->have[allow][v6]) {
		p->have[allow][v6] = true;
		geofw_canary_add(p->c, &rule->prefix);
	}
	/* Rows come ordered by prefix: both families are found early, and a
	 * million rows of one family are not walked for the other. */
	return ++p->seen >= 4096 || (p->have[allow][0] && p->have[allow][1]);
}

static int prove_program(struct gfwd *d, struct gfwd_iface *ifc, int prog_fd)
{
	struct geofw_canary c = {};
	struct canary_pick pick = { .c = &c };
	char err[256];
	size_t frames;
	int ret;

	geofw_store_for_each_rule(d->store, GEOFW_RULE_ALLOW, NULL, canary_row, &pick);
	pick.seen = 0;
	geofw_store_for_each_rule(d->store, GEOFW_RULE_BLOCK, NULL, canary_row, &pick);
	ret = geofw_canary_check(&c, &d->fw.maps, prog_fd, ifc->l3, &frames, err, sizeof(err));
	if (ret) {
		snprintf(ifc->error, sizeof(ifc->error), "new XDP program refused: %s", err);
		return log_err(ret, "%s: %s", ifc->name, ifc->error);
	}
	log_debug("%s: new XDP program agrees with the host on %zu canary frames", ifc->name,
		  frames);
	return 0;
}

/* fd pinned at path for ifc (the old link, closed on error). */
static int pin_link(struct gfwd_iface *ifc, int fd, const char *path)
{
	int err;

	unlink(path);	/* the old link: released when its fd closes */
	if (!bpf_obj_pin(fd, path))
		return 0;
	err = -errno;
	close(fd);
	snprintf(ifc->error, sizeof(ifc->error), "cannot pin XDP link: %s", strerror(-err));
	return log_err(err, "%s: %s", ifc->name, ifc->error);
}

/*
 * XdpMode changed (a reload, or a restart over the pins): a device runs one
 * XDP mode at a time (the kernel refuses the other with EEXIST), so the old
 * link is detached and the new mode attached right after, the time of two
 * system calls in which packets are not judged.  Should the new mode fail,
 * the program goes back on in the old mode and the error says so; the
 * interface is never left without a program while one of the modes works.
 */
static int change_mode(struct gfwd *d, struct gfwd_iface *ifc, int old, int prog, int old_mode,
		       const char *path)
{
	int want = d->conf.xdp_mode, fd, back, err;

	if (bpf_link_detach(old)) {
		err = -errno;
		/* Still attached in the old mode: it goes on enforcing. */
		ifc->xdp_link = old;
		ifc->xdp_mode = old_mode;
		ifc->mode_refused = true;
		snprintf(ifc->error, sizeof(ifc->error), "cannot leave XDP %s mode: %s; stays in %s "
			 "mode", geofw_xdp_mode_name(old_mode), strerror(-err),
			 geofw_xdp_mode_name(old_mode));
		return log_err(err, "%s: %s", ifc->name, ifc->error);
	}
	fd = create_link(ifc, prog, want);
	if (fd < 0 && want == GEOFW_XDP_AUTO)	/* auto: generic where native fails */
		fd = create_link(ifc, prog, GEOFW_XDP_GENERIC);
	if (fd >= 0) {
		close(old);
		if ((err = pin_link(ifc, fd, path)))
			return err;
		ifc->xdp_link = fd;
		ifc->xdp_mode = attached_mode(ifc->ifindex);
		log_info("%s: XDP moved from %s to %s mode", ifc->name,
			 geofw_xdp_mode_name(old_mode), geofw_xdp_mode_name(ifc->xdp_mode));
		return 0;
	}
	back = create_link(ifc, prog, old_mode);
	close(old);
	snprintf(ifc->error, sizeof(ifc->error), "cannot attach XDP (%s mode): %s; %s",
		 geofw_xdp_mode_name(want), strerror(-fd),
		 back >= 0 ? "stays in its previous mode" : "and the previous mode failed too");
	if (back < 0)
		return log_err(fd, "%s: %s (%s)", ifc->name, ifc->error, strerror(-back));
	if ((err = pin_link(ifc, back, path)))
		return err;
	ifc->xdp_link = back;
	ifc->xdp_mode = old_mode;
	ifc->mode_refused = true;
	log_err(fd, "%s: %s (%s)", ifc->name, ifc->error, geofw_xdp_mode_name(old_mode));
	return 0;
}

static int attach_xdp(struct gfwd *d, struct gfwd_iface *ifc)
{
	int want = d->conf.xdp_mode, fd, err, mode, prog = xdp_prog(d, ifc);
	char path[4200];

	/* Test hook: the Ethernet device gets the L3 entry, a program that is
	 * wrong for it, which the canary must refuse. */
	if (getenv("GEOFW_TEST_WRONG_ENTRY") && !ifc->l3)
		prog = d->fw.xdp_l3_prog_fd;
	link_path(d, ifc, path, sizeof(path));
	fd = bpf_obj_get(path);
	ifc->program_refused = false;
	ifc->mode_refused = false;
	if (prove_program(d, ifc, prog)) {
		ifc->program_refused = true;
		if (fd >= 0 && link_ifindex(fd) == ifc->ifindex) {
			/* The program in force goes on enforcing. */
			ifc->xdp_link = fd;
			ifc->xdp_mode = attached_mode(ifc->ifindex);
			strncat(ifc->error, "; the program in force stays",
				sizeof(ifc->error) - strlen(ifc->error) - 1);
			return 0;
		}
		if (fd >= 0)
			close(fd);
		return -EPROTO;
	}
	if (fd >= 0 && link_ifindex(fd) == ifc->ifindex) {
		bool moved = ifc->mode_changed;

		mode = attached_mode(ifc->ifindex);
		ifc->mode_changed = false;
		/* auto keeps the mode a restart finds (native, or generic where
		 * native failed); only a reload that set auto tries native. */
		if ((want == GEOFW_XDP_AUTO && (!moved || mode == GEOFW_XDP_NATIVE)) ||
		    mode == want) {
			/* The common restart: same device, swap the program in. */
			if (bpf_link_update(fd, prog, NULL)) {
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
		return change_mode(d, ifc, fd, prog, mode, path);
	}

	mode = want;
	err = create_link(ifc, prog, mode);
	if (err < 0 && want == GEOFW_XDP_AUTO && err != -EBUSY) {
		mode = GEOFW_XDP_GENERIC;
		err = create_link(ifc, prog, mode);
	}
	if (err < 0) {
		if (fd >= 0)
			close(fd);
		snprintf(ifc->error, sizeof(ifc->error), "cannot attach XDP (%s mode): %s%s",
			 geofw_xdp_mode_name(mode), strerror(-err),
			 err == -EBUSY ? " (another XDP program is attached)" : "");
		return log_err(err, "%s: %s", ifc->name, ifc->error);
	}
	if (fd >= 0)
		close(fd);
	fd = err;
	if ((err = pin_link(ifc, fd, path)))
		return err;
	ifc->xdp_link = fd;
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
	ifc->resp_stalled = false;
	watch_reset(d, ifc->ifindex);
	return 0;
}

int gfwd_iface_attach(struct gfwd *d, struct gfwd_iface *ifc)
{
	int err;

	ifc->error[0] = '\0';
	err = link_type_of(ifc->name);
	if (err < 0) {
		snprintf(ifc->error, sizeof(ifc->error), "cannot read the link type: %s",
			 strerror(-err));
		return log_err(err, "%s: %s", ifc->name, ifc->error);
	}
	ifc->link_type = err;
	if (link_kind(ifc->link_type) < 0) {
		snprintf(ifc->error, sizeof(ifc->error),
			 "link type %s (ARPHRD %d) cannot be parsed: not attached",
			 gfwd_link_type_name(ifc->link_type), ifc->link_type);
		return log_err(-EPROTONOSUPPORT, "%s: %s", ifc->name, ifc->error);
	}
	ifc->l3 = link_kind(ifc->link_type) == 1;
	/* TC first: XDP marks packets for it from its first packet on.  Devices
	 * without an Ethernet header get none (reject/http403 drop there). */
	if (!ifc->l3 && attach_tc(d, ifc) && d->fw.tc_prog_fd > 0)
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
	watch_delete(d, ifc->ifindex);
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
			watch_delete(d, ifc->ifindex);
			if (ifc->ifindex && !ifindex) {
				log_warn("%s: interface gone; waiting for it to return", ifc->name);
				ifc->error[0] = '\0';
			}
			ifc->ifindex = ifindex;
		}
		if (ifindex && ifc->xdp_link < 0)
			gfwd_iface_attach(d, ifc);
		if (ifc->xdp_link >= 0 && !ifc->l3 && !ifc->tc)
			responder = false;
	}
	if (responder != d->responder_ok) {
		d->responder_ok = responder;
		gfwd_apply_kernel_config(d);
	}
}

/*
 * Every GFWD_RESP_CHECK_MS too: is each XDP link still attached?  A link
 * detached from outside geofwd (`bpftool link detach`, another tool) leaves
 * the device without a program, and no netlink event says so; it is
 * attached again at once.  One system call per interface.
 */
void gfwd_xdp_check(struct gfwd *d)
{
	bool lost = false;
	int i;

	for (i = 0; i < d->n_ifaces; i++) {
		struct gfwd_iface *ifc = &d->ifaces[i];

		if (!ifc->ifindex || ifc->xdp_link < 0 || link_ifindex(ifc->xdp_link) == ifc->ifindex)
			continue;
		/* A device gone or re-created is the netlink watch's case. */
		if ((int)if_nametoindex(ifc->name) != ifc->ifindex)
			continue;
		log_warn("%s: the XDP program was detached from outside geofwd; attaching it "
			 "again", ifc->name);
		lost = true;
	}
	if (lost)
		gfwd_ifaces_sync(d);
}

/*
 * Every GFWD_RESP_CHECK_MS: is our TC filter still on each interface, and
 * does it acknowledge what XDP hands it?  A filter that has gone (qdisc or
 * filter deleted) or been replaced is attached again at once; XDP drops
 * reject/http403 packets by itself in the meantime (and while geofwd is not
 * running at all).  A filter that is there but sees nothing — another TC or
 * tcx program runs first and lets the packets through — cannot be fixed from
 * here: it is reported (log, status) and enforced as drop until `fwctl
 * reload` after the TC chain is repaired.
 */
void gfwd_responder_check(struct gfwd *d)
{
	__u32 our_id = 0;
	int i;

	if (d->fw.tc_prog_fd <= 0)
		return;
	{
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);

		if (!bpf_obj_get_info_by_fd(d->fw.tc_prog_fd, &info, &len))
			our_id = info.id;
	}
	for (i = 0; i < d->n_ifaces; i++) {
		struct gfwd_iface *ifc = &d->ifaces[i];
		LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifc->ifindex,
			    .attach_point = BPF_TC_INGRESS);
		LIBBPF_OPTS(bpf_tc_opts, q, .handle = GFWD_TC_HANDLE, .priority = GFWD_TC_PRIO);
		struct geofw_resp_watch w;
		__u32 key = (__u32)ifc->ifindex;
		bool stalled;
		__u64 now;
		int err;

		if (!ifc->ifindex || ifc->xdp_link < 0 || ifc->l3)
			continue;
		err = bpf_tc_query(&hook, &q);
		if ((err || (our_id && q.prog_id != our_id)) && !ifc->tc) {
			/* Never attached, or the last attempt failed: retry every
			 * 5 s, quietly (attach_tc says why it fails). */
			if (ifc->tc_retry--)
				continue;
			ifc->tc_retry = 5000 / GFWD_RESP_CHECK_MS;
			if (!attach_tc(d, ifc)) {
				ifc->error[0] = '\0';
				log_info("%s: TC responder attached", ifc->name);
			}
			continue;
		}
		if (err || (our_id && q.prog_id != our_id)) {
			ifc->tc_retry = 5000 / GFWD_RESP_CHECK_MS;
			log_warn("%s: TC responder %s; re-attaching (reject/http403 are dropped "
				 "in XDP until it answers again)", ifc->name,
				 err ? "filter gone (clsact qdisc or filter deleted)" :
				 "filter replaced by another program");
			ifc->tc = false;
			if (attach_tc(d, ifc)) {
				snprintf(ifc->error, sizeof(ifc->error),
					 "TC responder not attached: reject/http403 enforced as drop");
			} else {
				ifc->error[0] = '\0';
				log_info("%s: TC responder re-attached", ifc->name);
			}
			continue;
		}
		if (!ifc->tc) {
			ifc->tc = true;	/* someone put ours back */
			watch_reset(d, ifc->ifindex);
		}
		if (bpf_map_lookup_elem(d->fw.maps.resp_watch, &key, &w)) {
			watch_reset(d, ifc->ifindex);
			continue;
		}
		now = coarse_now_ns();
		stalled = w.handoff_ns && w.ack_ns < w.handoff_ns &&
			  now - w.handoff_ns > GEOFW_RESP_WATCH_BOUND_NS;
		if (stalled && !ifc->resp_stalled) {
			snprintf(ifc->error, sizeof(ifc->error),
				 "TC responder sees no marked packets (another TC program runs "
				 "first?): reject/http403 enforced as drop");
			log_warn("%s: %s; repair the TC chain, then fwctl reload", ifc->name,
				 ifc->error);
		}
		ifc->resp_stalled = stalled || ifc->resp_stalled;
	}
}

/* fwctl reload: give a stalled responder another chance (fresh record). */
void gfwd_responder_rearm(struct gfwd *d)
{
	int i;

	for (i = 0; i < d->n_ifaces; i++) {
		struct gfwd_iface *ifc = &d->ifaces[i];

		if (ifc->ifindex && ifc->xdp_link >= 0 && !ifc->l3 && ifc->resp_stalled) {
			log_info("%s: TC responder re-armed by reload", ifc->name);
			ifc->resp_stalled = false;
			ifc->error[0] = '\0';
			attach_tc(d, ifc);
		}
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
