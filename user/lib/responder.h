/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * User side of the TC responder: the 403 response it serves, the
 * gfw_responder map value, and the SYN cookie key.
 *
 * The data plane sends a response statelessly, so everything but the
 * placeholders' values is precomputed here: status line, headers with the
 * exact Content-Length, and the HTML body, at most GEOFW_HTTP403_MAX bytes
 * in all, per page.  Functions that
 * can reject input return -errno and put a one-line message into err (may be
 * NULL); they never log.
 */
#ifndef GEOFW_RESPONDER_USER_H
#define GEOFW_RESPONDER_USER_H

#include <stdbool.h>
#include <stddef.h>

#include "geofw.h"

/*
 * A 403 page: the complete response for an HTML body,
 *	HTTP/1.1 403 Forbidden\r\n
 *	Content-Type: text/html; charset=utf-8\r\n
 *	Content-Length: N\r\n
 *	Content-Language: TAG\r\n	when the body has <html lang="TAG">
 *	X-Geofw-Ref: {{ref}}\r\n	when ref_header (Http403RefHeader = on)
 *	Connection: close\r\n
 *	Cache-Control: no-store\r\n
 *	\r\n
 *	<body>
 * with each placeholder ({{addr}}, {{country}}, {{reason}}, {{time}},
 * {{ref}}) replaced by a field of spaces of its fixed width that the data
 * plane fills per response.  The body must be UTF-8 without NUL bytes; an
 * unknown {{name}} is an error.  -EINVAL or -EMSGSIZE (over
 * GEOFW_HTTP403_MAX with every field at full width) with "NAME:LINE: what".
 */
int geofw_page_compile(const char *body, size_t len, const char *name, bool ref_header,
		       struct geofw_resp_page *out, char *err, size_t errlen);

/*
 * Read a page file.  *buf is malloc'd (free it), *len its length.
 * -EMSGSIZE with a message when it is too long to make a response of.
 */
int geofw_http403_body_read(const char *path, char **buf, size_t *len,
			    char *err, size_t errlen);

/* Reason classes (enum geofw_resp_class): name ("country", "asn", "ip",
 * "ratelimit", "feed", "crowdsec"; "other" for 0) and back (-1: unknown). */
const char *geofw_resp_class_name(unsigned int cls);
int geofw_resp_class_parse(const char *name);
/* The class of an XDP reason (enum geofw_reason): what gfw_responder's
 * reason_class[] holds. */
unsigned int geofw_resp_reason_class(unsigned int reason);

/* A set of pages as one reload writes it: page 0 is the default. */
struct geofw_pages {
	struct geofw_resp_page page[GEOFW_RESP_MAX_PAGES];
	int n_pages;
	struct geofw_resp_select sel;	/* all 0: page 0 for everything */
};

struct geofw_conf;
/*
 * Every page of a configuration: Http403Body (page 0; when it cannot be read
 * the built-in page stands in and *warn says why) and each Http403Page, read
 * and checked, and the selection (REASON:CC > CC > REASON > default).
 * conf_name names the file in messages: "CONF:LINE: Http403Page: PAGE:LINE:
 * what".  0 or -errno.
 */
int geofw_pages_from_conf(const struct geofw_conf *c, const char *conf_name,
			  struct geofw_pages *p, char *warn, size_t warnlen,
			  char *err, size_t errlen);

/*
 * Fill a gfw_responder value: n_ports ports (host order, nonzero, at most
 * GEOFW_MAX_HTTP_PORTS) and the tables the data plane renders with (reason
 * classes, country codes, class names).  Page slot, generations, key and
 * clock offset are left as they are.
 */
int geofw_responder_value(struct geofw_responder *val, const __u16 *ports, size_t n_ports,
			  char *err, size_t errlen);

/*
 * Put pages in force by the generation switch (include/geofw.h): the slot
 * not in force is written, then val->pages.slot flips to it; val (the
 * caller's copy of gfw_responder[0], the only writer's) is updated and
 * written.  -errno.
 */
int geofw_pages_write(int responder_fd, int pages_fd, int select_fd,
		      struct geofw_responder *val, const struct geofw_pages *p);

/* gfw_responder[0], by map fd; -errno.  This is in responder_maps.c
 * (the kernel archive); the rest of responder.c is core. */
int geofw_responder_read(int map_fd, struct geofw_responder *val);

/* The name of a gfw_cnt_resp key (enum geofw_resp_event) as fwctl stats and
 * the metrics label print it ("synack", "http403", …); "?" out of range. */
const char *geofw_resp_event_name(unsigned int event);

/*
 * A fresh 128-bit SYN cookie key from getrandom(), for the TC program's
 * `cookie_key` rodata before load.  Never all zero (the data plane treats
 * that as "no key" and answers http403 with RST).  -errno.
 */
int geofw_cookie_key_random(__u64 key[2]);

#endif
