// SPDX-License-Identifier: GPL-2.0-only
/*
 * Keep an XDP program in the kernel's XDP dispatcher for the whole suite.
 *
 * BPF_PROG_RUN of an XDP program puts it into the dispatcher for the run
 * and takes it out after (bpf_prog_test_run_xdp -> bpf_dispatcher_change_prog),
 * and each change waits for an RCU grace period: 16-50 ms of sleep per call
 * around the microseconds its packets take (perf sched_switch call graphs,
 * docs/design-notes.md "Rate limits: a word another CPU moved was read as
 * stale").  A program the dispatcher already holds, because it is attached
 * to a device, is not changed: the same calls then take microseconds.
 *
 * t_xdp_keep attaches the program (generic XDP) to the loopback device of a
 * network namespace of its own: unnamed, its loopback down, no packet ever
 * crosses it, and nothing outlives the process — the namespace is held by
 * one descriptor, so when the process ends, however it ends, the kernel
 * removes the namespace, the attachment and the dispatcher's entry.
 * t_xdp_drop closes that descriptor earlier (the object can then be freed).
 */

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <unistd.h>
#include <net/if.h>
#include <linux/if_link.h>
#include <bpf/libbpf.h>

#include "xdpkeep.h"

int t_xdp_keep(int prog_fd)
{
	int self, ns = -1, ret = 0;
	unsigned int lo;

	self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0)
		return -errno;
	if (unshare(CLONE_NEWNET)) {
		ret = -errno;
		close(self);
		return ret;
	}
	ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	lo = if_nametoindex("lo");
	if (ns < 0 || !lo)
		ret = -errno;
	else if (bpf_xdp_attach((int)lo, prog_fd, XDP_FLAGS_SKB_MODE, NULL))
		ret = -errno;
	if (setns(self, CLONE_NEWNET)) {
		/* the rest of the suite would run in the wrong namespace */
		perror("t_xdp_keep: back to the suite's network namespace");
		_exit(2);
	}
	close(self);
	if (ret) {
		if (ns >= 0)
			close(ns);
		return ret;
	}
	return ns;	/* open until t_xdp_drop or the process's end */
}

void t_xdp_drop(int ns)
{
	if (ns >= 0)
		close(ns);
}
