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
 *
 * Threat feeds (geofwd's feeds.c) parse with geofw_importlist_parse_opts():
 * one named format (plain, spamhaus, netset, csv), a minimum prefix length
 * per family, and bad entries refused one by one and counted (an entry is
 * taken whole or not at all) instead of failing the list.
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
	/* Read the comment `fwctl export` writes after each entry,
	 * "# source=S action=A expires=UNIX comment=...": action and expiry
	 * (see geofw_importlist).  Another comment is only a comment. */
	GEOFW_IMPORT_ANNOTATIONS	= 1u << 2,
};

/* The formats of geofw_importlist_opts.format (the Feed line's names). */
enum geofw_list_format {
	GEOFW_FORMAT_ANY = 0,	/* fwctl import: plain lines and JSON lines, mixed */
	GEOFW_FORMAT_PLAIN,	/* one address or CIDR per line, # and ; comments */
	GEOFW_FORMAT_SPAMHAUS,	/* DROP/EDROP: "CIDR ; SBL123", or its JSON lines */
	GEOFW_FORMAT_NETSET,	/* FireHOL .netset/.ipset: one per line, # comments */
	GEOFW_FORMAT_CSV,	/* one column of comma-separated lines (a header skipped) */
	GEOFW_FORMAT_MAX
};

struct geofw_importlist_opts {
	unsigned int flags;	/* GEOFW_IMPORT_* */
	int format;		/* enum geofw_list_format */
	unsigned int column;	/* csv: the column, from 1; 0 means 1 */
	/* Prefixes shorter than these are refused (counted in too_wide);
	 * 0: any length but /0 (GEOFW_IMPORT_FORCE allows /0). */
	unsigned int min_prefix4, min_prefix6;
	/* A bad entry is refused and counted (refused, first_refused) and the
	 * parse goes on; without it the first one fails the list. */
	bool per_entry;
	/* GEOFW_IMPORT_ANNOTATIONS: an entry that expires=now or before is
	 * skipped (UNIX seconds; 0: the time of the parse). */
	unsigned long long now;
};

struct geofw_importlist {
	struct geofw_cidr *v;	/* sorted by geofw_cidr_cmp(), no duplicates */
	size_t n, cap;
	size_t duplicates;	/* entries dropped because already listed */
	size_t lines;		/* lines read */
	/* per_entry only: entries refused as malformed, prefixes refused as
	 * shorter than the minimum, and the first one's "FILE:LINE: message". */
	size_t refused, too_wide;
	char first_refused[256];
	/* GEOFW_IMPORT_ANNOTATIONS: entries with an annotation, those skipped
	 * as expired; of the others the strictest action (enum geofw_action,
	 * 0: none said) and the longest expiry (UNIX seconds, 0: never);
	 * mixed: they did not all say the same. */
	size_t annotated, expired;
	int action;
	unsigned long long expires;
	bool mixed;
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
/* The same with the options of a feed (NULL: those of parse_buf with
 * flags 0). */
int geofw_importlist_parse_opts(const char *buf, size_t len, const char *name,
				const struct geofw_importlist_opts *o,
				struct geofw_importlist *out, char *err, size_t errlen);
/* "plain", "spamhaus", "netset", "csv" ("any" for GEOFW_FORMAT_ANY); NULL
 * when out of range.  parse: the format, -1 when unknown. */
const char *geofw_list_format_name(int format);
int geofw_list_format_parse(const char *name);
/* Release the vector; the list is left empty and reusable. */
void geofw_importlist_free(struct geofw_importlist *l);

#endif
