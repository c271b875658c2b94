// SPDX-License-Identifier: GPL-2.0-only
/*
 * Bounded, paced UDP flood for the e2e tests: COUNT datagrams to ADDR PORT,
 * RATE per second (0 = as fast as possible).  Prints how many were sent.
 *
 *	udpflood ADDR PORT COUNT [RATE]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct sockaddr_storage ss = {};
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	long count, rate, sent = 0, i;
	char payload[64] = "geofw e2e flood";
	struct timespec start, now;
	socklen_t len;
	int fd;

	if (argc < 4) {
		fprintf(stderr, "usage: %s ADDR PORT COUNT [RATE]\n", argv[0]);
		return 2;
	}
	count = atol(argv[3]);
	rate = argc > 4 ? atol(argv[4]) : 0;
	if (inet_pton(AF_INET, argv[1], &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((unsigned short)atoi(argv[2]));
		len = sizeof(*s4);
	} else if (inet_pton(AF_INET6, argv[1], &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((unsigned short)atoi(argv[2]));
		len = sizeof(*s6);
	} else {
		fprintf(stderr, "%s: bad address\n", argv[1]);
		return 2;
	}
	fd = socket(ss.ss_family, SOCK_DGRAM, 0);
	if (fd < 0) {
		perror("socket");
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (i = 0; i < count; i++) {
		if (rate > 0) {
			/* Pace against the clock, not with sleeps per packet. */
			for (;;) {
				double el;

				clock_gettime(CLOCK_MONOTONIC, &now);
				el = (double)(now.tv_sec - start.tv_sec) +
				     (double)(now.tv_nsec - start.tv_nsec) / 1e9;
				if (el * (double)rate >= (double)i)
					break;
				usleep(100);
			}
		}
		if (sendto(fd, payload, sizeof(payload), 0, (struct sockaddr *)&ss, len) >= 0)
			sent++;
		else if (errno != ENOBUFS && errno != EAGAIN && errno != ECONNREFUSED)
			break;
	}
	printf("%ld\n", sent);
	close(fd);
	return sent == count ? 0 : 1;
}
