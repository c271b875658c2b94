// SPDX-License-Identifier: GPL-2.0-only
/*
 * Test-only TC program that lets every packet through (TC_ACT_OK): put in
 * front of geofw's filter, it stands for "another TC program runs first and
 * returns OK" (tests/e2e/responder_watch.sh).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

SEC("tc")
int tc_pass(struct __sk_buff *skb)
{
	(void)skb;
	return 0;	/* TC_ACT_OK */
}
