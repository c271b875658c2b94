/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Blocklist files → a sorted, duplicate-free vector of prefixes.
 *
 * Accepted, also mixed in one file: one address or CIDR per line (FireHOL
 * .netset/.ipset, plain lists), Spamhaus DROP ("1.10.16.0/20 ; SBL256894") and
 * its JSON lines ({"cidr":"1.10.16.0/20",...}; {"type":"metadata",...} is
 * skipped).  '#' and ';' start comments, blank lines, surrounding whitespace,
 * CRLF and a UTF-8 BOM are fine.  A single bad line fails the whole import
 * with "FILE:LINE: message": a list is applied entirely or not at all.
 */
#ifndef GEOFW_IMPORTLIST_H
#define GEOFW_IMPORTLIST_H

#include <stddef.h>

#include "cidr.h"

/* Longest line accepted, without its line ending. */
#define GEOFW_IMPORT_LINE_MAX	4096

enum {
	/* Accept /0 entries (operator passed --force). */
	GEOFW_IMPORT_FORCE		= 1u << 0,
	/* Clear host bits of 203.0.113.7/24 instead of failing. */
	GEOFW_IMPORT_MASK_HOST_BITS	= 1u << 1,
};

struct geofw_importlist {
	struct geofw_cidr *v;	/* sorted by geofw_cidr_cmp(), no duplicates */
	size_t n, cap;
	size_t duplicates;	/* entries dropped because already listed */
	size_t lines;		/* lines read */
};

/* Parse the file at path (a regular file, pipe or /dev/stdin; streamed).
 * out needs no initialisation; on error it is left empty.  0 or -errno. */
int geofw_importlist_read(const char *path, unsigned int flags,
			  struct geofw_importlist *out, char *err, size_t errlen);
/* The same on memory; name is the FILE of messages (NULL: "<input>").
 * buf need not be NUL-terminated and may hold any bytes. */
int geofw_importlist_parse_buf(const char *buf, size_t len, const char *name,
			       unsigned int flags, struct geofw_importlist *out,
			       char *err, size_t errlen);
/* Release the vector; the list is left empty and reusable. */
void geofw_importlist_free(struct geofw_importlist *l);

#endif
