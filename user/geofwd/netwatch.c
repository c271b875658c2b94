// SPDX-License-Identifier: GPL-2.0-only
/*
 * Link events (RTNLGRP_LINK through libnl): a configured interface that
 * appears, or is deleted and created again, gets the programs within the
 * time it takes to read the event.  Every event re-checks all configured
 * interfaces against their current ifindex, so lost or merged events do no
 * harm (gfwd_ifaces_sync is idempotent).
 */
#include <errno.h>
#include <linux/rtnetlink.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <string.h>

#include "geofwd.h"
#include "log.h"

static int on_msg(struct nl_msg *msg, void *arg)
{
	struct nlmsghdr *h = nlmsg_hdr(msg);
	int *seen = arg;

	if (h->nlmsg_type == RTM_NEWLINK || h->nlmsg_type == RTM_DELLINK)
		*seen = 1;
	return NL_OK;
}

static int seen_event;

int gfwd_netwatch_open(struct gfwd *d)
{
	int err;

	d->nl = nl_socket_alloc();
	if (!d->nl)
		return log_err(-ENOMEM, "netlink: cannot allocate a socket");
	nl_socket_disable_seq_check(d->nl);
	nl_socket_modify_cb(d->nl, NL_CB_VALID, NL_CB_CUSTOM, on_msg, &seen_event);
	if ((err = nl_connect(d->nl, NETLINK_ROUTE)) ||
	    (err = nl_socket_add_membership(d->nl, RTNLGRP_LINK)) ||
	    (err = nl_socket_set_nonblocking(d->nl))) {
		log_err(-EIO, "netlink: cannot watch links: %s", nl_geterror(err));
		nl_socket_free(d->nl);
		d->nl = NULL;
		return -EIO;
	}
	/* A burst of events while we are busy must not be lost silently. */
	nl_socket_set_buffer_size(d->nl, 1 << 20, 0);
	d->nlfd = nl_socket_get_fd(d->nl);
	return 0;
}

void gfwd_netwatch_event(struct gfwd *d)
{
	int err;

	seen_event = 0;
	while ((err = nl_recvmsgs_default(d->nl)) >= 0)
		;
	/* ENOBUFS (-NLE_NOMEM): the queue overflowed; resync anyway. */
	if (err != -NLE_AGAIN && err != -NLE_NOMEM)
		log_debug("netlink: %s", nl_geterror(err));
	if (seen_event || err == -NLE_NOMEM)
		gfwd_ifaces_sync(d);
}

void gfwd_netwatch_close(struct gfwd *d)
{
	if (d->nl)
		nl_socket_free(d->nl);
	d->nl = NULL;
	d->nlfd = -1;
}
