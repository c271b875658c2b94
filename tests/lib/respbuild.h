/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * 403 pages and the responder slot as the tests set them up (geofwd compiles
 * pages from the configuration through geofw_page_compile and writes them with
 * geofw_pages_write): the same calls, with the shortcuts only tests need.
 */
#ifndef GEOFW_TEST_RESPBUILD_H
#define GEOFW_TEST_RESPBUILD_H

#include "responder.h"

/* The response of a page as bytes (placeholders as spaces): its length,
 * or -errno as geofw_page_compile(), -EMSGSIZE beyond cap too. */
int t_http403_build(const void *body, size_t body_len, __u8 *out, size_t cap,
		    char *err, size_t errlen);

/* The longest body without placeholders, language or reference header. */
size_t t_http403_body_max(void);

/* One page for every client. */
int t_pages_single(struct geofw_pages *p, const void *body, size_t len, char *err,
		   size_t errlen);

/* gfw_responder[0], by map fd; -errno. */
int t_responder_write(int map_fd, const struct geofw_responder *val);

#endif
