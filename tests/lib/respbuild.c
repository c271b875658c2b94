// SPDX-License-Identifier: GPL-2.0-only
#include "respbuild.h"

#include "msg.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

int t_http403_build(const void *body, size_t body_len, __u8 *out, size_t cap,
			char *err, size_t errlen)
{
	struct geofw_resp_page *p = malloc(sizeof(*p));
	int ret;

	if (!p)
		return geofw_errf(err, errlen, -ENOMEM, "out of memory");
	ret = geofw_page_compile(body, body_len, "403 page", false, p, err, errlen);
	if (!ret && p->len > cap)
		ret = geofw_errf(err, errlen, -EMSGSIZE, "403 page: %u bytes do not fit in %zu", p->len,
				 cap);
	if (!ret) {
		memcpy(out, p->data, p->len);
		ret = p->len;
	}
	free(p);
	return ret;
}

size_t t_http403_body_max(void)
{
	struct geofw_resp_page *p = calloc(1, sizeof(*p));
	size_t lo = 0, hi = GEOFW_HTTP403_MAX;
	char *body = malloc(GEOFW_HTTP403_MAX + 1);

	/* The longest plain body without language or reference header. */
	if (p && body) {
		memset(body, 'x', GEOFW_HTTP403_MAX);
		while (lo < hi) {
			size_t mid = (lo + hi + 1) / 2;

			if (!geofw_page_compile(body, mid, "", false, p, NULL, 0))
				lo = mid;
			else
				hi = mid - 1;
		}
	}
	free(p);
	free(body);
	return lo;
}

int t_pages_single(struct geofw_pages *p, const void *body, size_t len, char *err,
		       size_t errlen)
{
	memset(p, 0, sizeof(*p));
	p->n_pages = 1;
	return geofw_page_compile(body, len, "403 page", false, &p->page[0], err, errlen);
}

int t_responder_write(int map_fd, const struct geofw_responder *val)
{
	__u32 zero = 0;

	return bpf_map_update_elem(map_fd, &zero, val, BPF_ANY) ? -errno : 0;
}
