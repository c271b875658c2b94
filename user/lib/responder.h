/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * User side of the TC responder: the 403 response it serves, the
 * gfw_responder map value, and the SYN cookie key.
 *
 * The data plane sends the response verbatim and statelessly, so everything
 * is precomputed here: status line, headers with the exact Content-Length,
 * and the HTML body, at most GEOFW_HTTP403_MAX bytes in all.  Functions that
 * can reject input return -errno and put a one-line message into err (may be
 * NULL); they never log.
 */
#ifndef GEOFW_RESPONDER_USER_H
#define GEOFW_RESPONDER_USER_H

#include <stddef.h>

#include "geofw.h"

/*
 * The complete response for an HTML body:
 *	HTTP/1.1 403 Forbidden\r\n
 *	Content-Type: text/html; charset=utf-8\r\n
 *	Content-Length: N\r\n
 *	Connection: close\r\n
 *	Cache-Control: no-store\r\n
 *	\r\n
 *	<body>
 * Writes into out (cap bytes) and returns the length, or -EMSGSIZE when the
 * response would exceed GEOFW_HTTP403_MAX (the message names the limit and
 * how long the body may be) or cap.
 */
int geofw_http403_build(const void *body, size_t body_len, __u8 *out, size_t cap,
			char *err, size_t errlen);

/* The longest body that still fits (the headers grow with Content-Length). */
size_t geofw_http403_body_max(void);

/*
 * Read an HTML body file.  *buf is malloc'd (free it), *len its length.
 * -EMSGSIZE with a message when the response built from it cannot fit, so a
 * too-large page is reported before anything is loaded.
 */
int geofw_http403_body_read(const char *path, char **buf, size_t *len,
			    char *err, size_t errlen);

/*
 * Fill a gfw_responder value: n_ports ports (host order, nonzero, at most
 * GEOFW_MAX_HTTP_PORTS) and the response built from body.
 */
int geofw_responder_value(struct geofw_responder *val, const __u16 *ports, size_t n_ports,
			  const void *body, size_t body_len, char *err, size_t errlen);

/* gfw_responder[0], by map fd; -errno. */
int geofw_responder_write(int map_fd, const struct geofw_responder *val);
int geofw_responder_read(int map_fd, struct geofw_responder *val);

/*
 * A fresh 128-bit SYN cookie key from getrandom(), for the TC program's
 * `cookie_key` rodata before load.  Never all zero (the data plane treats
 * that as "no key" and answers http403 with RST).  -errno.
 */
int geofw_cookie_key_random(__u64 key[2]);

#endif
