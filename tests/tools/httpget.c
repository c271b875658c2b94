// SPDX-License-Identifier: GPL-2.0-only
/*
 * httpget: one geofw_http_get() (user/lib/http.h) from the command line, for
 * tests/e2e/http.sh against real servers.
 *
 *   httpget [-H "Name: value"]... [--etag E] [--since DATE] [--max-body N]
 *           [--timeout MS] [--redirects N] [--allow-file] [--ca FILE] URL
 *
 * Prints "ret R status S not_modified 0|1 len L", then "etag E",
 * "last_modified D" and "error MESSAGE" lines, and the body after a line
 * "body:".  Exit status 0 when ret is 0, else 1; 2 for bad usage.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "etag", required_argument, NULL, 'e' },
		{ "since", required_argument, NULL, 's' },
		{ "max-body", required_argument, NULL, 'm' },
		{ "timeout", required_argument, NULL, 't' },
		{ "redirects", required_argument, NULL, 'r' },
		{ "allow-file", no_argument, NULL, 'f' },
		{ "ca", required_argument, NULL, 'c' },
		{}
	};
	const char *hdrs[16] = { NULL };
	struct geofw_http_opts o = { .headers = hdrs };
	struct geofw_http_result r;
	char err[1024] = "";
	int c, nh = 0, ret;

	while ((c = getopt_long(argc, argv, "H:", opts, NULL)) != -1) {
		switch (c) {
		case 'H':
			if (nh < 15)
				hdrs[nh++] = optarg;
			break;
		case 'e': o.if_none_match = optarg; break;
		case 's': o.if_modified_since = optarg; break;
		case 'm': o.max_body = strtoul(optarg, NULL, 10); break;
		case 't': o.timeout_ms = strtol(optarg, NULL, 10); break;
		case 'r': o.max_redirects = atoi(optarg); break;
		case 'f': o.flags |= GEOFW_HTTP_ALLOW_FILE; break;
		case 'c': o.ca_file = optarg; break;
		default: return 2;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "usage: httpget [options] URL\n");
		return 2;
	}
	ret = geofw_http_get(argv[optind], &o, &r, err, sizeof(err));
	printf("ret %d status %ld not_modified %d len %zu\n", ret, r.status, r.not_modified, r.len);
	printf("etag %s\nlast_modified %s\n", r.etag, r.last_modified);
	if (ret)
		printf("error %s\n", err);
	printf("body:\n");
	if (r.body)
		fwrite(r.body, 1, r.len, stdout);
	geofw_http_result_free(&r);
	return ret ? 1 : 0;
}
