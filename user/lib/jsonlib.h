/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * jansson, and what geofw adds to it.  Every JSON document geofw parses or
 * builds goes through jansson (docs/design-notes.md, "Dependencies", says
 * why); this header is the one place that includes it.
 */
#ifndef GEOFW_JSONLIB_H
#define GEOFW_JSONLIB_H

#include <stddef.h>

#include <jansson.h>

/*
 * Documents are built and parsed with jansson (docs/design-notes.md says
 * why).  jansson refuses strings that are not valid UTF-8; text geofw did
 * not write itself (interface and file names, comments, answers of other
 * programs) goes in through these, which replace each invalid byte with
 * U+FFFD (valid UTF-8 goes through as it is).  NULL only when out of memory.
 */
json_t *geofw_json_text(const char *s);
json_t *geofw_json_textn(const char *s, size_t len);
/* Set obj[key] to geofw_json_text(s); 0 or -ENOMEM. */
int geofw_json_set_text(json_t *obj, const char *key, const char *s);
/*
 * Building a document member by member: append v (the reference is taken)
 * to the array *arr, or set (*obj)[key].  When v is NULL or that fails (out
 * of memory), the container is released and set to NULL, so that the
 * document packed around it (json_pack's "o" refuses NULL) fails as a whole
 * rather than going out with a member missing.  Both do nothing on NULL.
 */
void geofw_json_push(json_t **arr, json_t *v);
void geofw_json_put(json_t **obj, const char *key, json_t *v);

/*
 * How geofw dumps every document: compact, members in insertion order, and
 * reals with 15 significant digits, so that a value rounded to milliseconds
 * (geofw_json_real3) prints as 1765076400.123, not with binary noise.
 */
#define GEOFW_JSON_DUMP	(JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15))

/* The document as one line of compact JSON ending in '\n', malloc'd
 * (free()); NULL when out of memory. */
char *geofw_json_line(const json_t *doc);
/*
 * An array too large to build as one tree (a million rules) is written as
 * it comes: '[', each element dumped by jansson, ',' between, then "]\n".
 * put is jansson's dump callback (0, or -1 to stop); err is the first
 * failure (-ENOMEM, -EIO), and once set nothing more is written.
 */
struct geofw_json_array {
	json_dump_callback_t put;
	void *ctx;
	size_t n;
	int err;
};

void geofw_json_array_open(struct geofw_json_array *a, json_dump_callback_t put, void *ctx);
/* Append elem (the reference is taken; NULL: out of memory); 0 or a->err. */
int geofw_json_array_add(struct geofw_json_array *a, json_t *elem);
/* "]\n"; 0 or the first error of the array. */
int geofw_json_array_close(struct geofw_json_array *a);
/* The dump callback that writes to a FILE * (ctx). */
int geofw_json_put_file(const char *buf, size_t size, void *ctx);

/* v rounded to 3 decimals (times, rates, shares), or null when v is not
 * finite (JSON has no NaN); NULL only when out of memory. */
json_t *geofw_json_real3(double v);

#endif
