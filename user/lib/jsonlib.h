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
 * U+FFFD as geofw_json_quote does.  NULL only when out of memory.
 */
json_t *geofw_json_text(const char *s);
json_t *geofw_json_textn(const char *s, size_t len);
/* Set obj[key] to geofw_json_text(s); 0 or -ENOMEM. */
int geofw_json_set_text(json_t *obj, const char *key, const char *s);
/* The document as one line of compact JSON ending in '\n', malloc'd
 * (free()); NULL when out of memory. */
char *geofw_json_line(const json_t *doc);

#endif
