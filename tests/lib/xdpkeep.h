/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef GEOFW_TEST_XDPKEEP_H
#define GEOFW_TEST_XDPKEEP_H

/* Attach an XDP program to the loopback of a private network namespace that
 * lives as long as the process, so that BPF_PROG_RUN does not put it into
 * the XDP dispatcher and take it out again (two RCU grace periods) on every
 * call.  The namespace's descriptor, or -errno (the tests still run, only
 * slower). */
int t_xdp_keep(int prog_fd);
/* Let the namespace go (and with it the attachment): t_xdp_keep's result. */
void t_xdp_drop(int ns);

#endif
