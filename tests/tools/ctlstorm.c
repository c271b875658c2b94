// SPDX-License-Identifier: GPL-2.0-only
/*
 * ctlstorm: N clients adding block rules to geofwd at once, each change its
 * own connection and request (as fwctl add-block makes them).
 *
 *   ctlstorm --socket PATH [--clients 8] [--total 10000] [--prefix 2001:db8:5::]
 *            [--acked FILE]
 *
 * Client i adds PREFIX+k for every k < total with k % clients == i, as
 * /128s.  Every acknowledged address is appended to FILE (one write per
 * answer, O_APPEND) the moment "ok" arrives, so a test that kills geofwd
 * meanwhile knows exactly which rules were acknowledged.  Prints
 * "acked N refused M failed F seconds S rate R/s" on stdout.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"

struct counts {
	long acked, refused, failed;
};

static int discard(const char *text, size_t len, void *ctx)
{
	(void)text;
	(void)len;
	(void)ctx;
	return 0;
}

static void client(const char *sock, int id, int clients, long total, const __u8 base[16],
		   int acked_fd, struct counts *c)
{
	long k;

	for (k = id; k < total; k += clients) {
		char addr[INET6_ADDRSTRLEN + 2], err[256];
		const char *argv[] = { "add-block", addr, NULL };
		__u8 a[16];
		int s, st, i;
		long v = k;

		memcpy(a, base, 16);
		for (i = 15; i >= 8 && v; i--, v >>= 8)
			a[i] = (__u8)(a[i] + (v & 0xff));
		inet_ntop(AF_INET6, a, addr, INET6_ADDRSTRLEN);
		s = geofw_ctl_connect(sock, 10000, err, sizeof(err));
		if (s < 0) {
			c->failed++;
			if (s == -ENOENT)	/* geofwd is gone: the rest would fail too */
				return;
			continue;
		}
		st = geofw_ctl_call(s, 2, argv, 0, -1, 30000, discard, NULL, err, sizeof(err));
		close(s);
		if (st == GEOFW_CTL_OK) {
			strcat(addr, "\n");
			if (acked_fd >= 0 && write(acked_fd, addr, strlen(addr)) < 0)
				_exit(3);
			c->acked++;
		} else if (st > 0) {
			c->refused++;
		} else {
			c->failed++;
		}
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "clients", required_argument, NULL, 'c' },
		{ "total", required_argument, NULL, 'n' },
		{ "prefix", required_argument, NULL, 'p' },
		{ "acked", required_argument, NULL, 'a' },
		{}
	};
	const char *sock = NULL, *prefix = "2001:db8:5::", *acked = NULL;
	struct counts *cs, sum = {};
	int clients = 8, acked_fd = -1, o, i;
	long total = 10000;
	struct timespec t0, t1;
	__u8 base[16];
	double secs;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 's': sock = optarg; break;
		case 'c': clients = atoi(optarg); break;
		case 'n': total = atol(optarg); break;
		case 'p': prefix = optarg; break;
		case 'a': acked = optarg; break;
		default: return 2;
		}
	}
	if (!sock || clients < 1 || clients > 256 || total < 1 ||
	    inet_pton(AF_INET6, prefix, base) != 1) {
		fprintf(stderr, "usage: ctlstorm --socket PATH [--clients N] [--total N] "
			"[--prefix IPV6] [--acked FILE]\n");
		return 2;
	}
	if (acked && (acked_fd = open(acked, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644)) < 0) {
		perror(acked);
		return 1;
	}
	cs = mmap(NULL, sizeof(*cs) * (size_t)clients, PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (cs == MAP_FAILED)
		return 1;
	memset(cs, 0, sizeof(*cs) * (size_t)clients);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < clients; i++) {
		pid_t pid = fork();

		if (pid == 0) {
			client(sock, i, clients, total, base, acked_fd, &cs[i]);
			_exit(0);
		}
		if (pid < 0)
			return 1;
	}
	while (wait(NULL) > 0 || errno == EINTR)
		;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	for (i = 0; i < clients; i++) {
		sum.acked += cs[i].acked;
		sum.refused += cs[i].refused;
		sum.failed += cs[i].failed;
	}
	printf("acked %ld refused %ld failed %ld seconds %.3f rate %.0f/s\n", sum.acked,
	       sum.refused, sum.failed, secs, (double)sum.acked / secs);
	return 0;
}
