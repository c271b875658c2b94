/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The one JSON string escaper of geofw: fwctl's -j output, geofwd's control
 * answers and the drop log's JSON lines all quote text through it, so every
 * document is valid JSON whatever bytes a name holds (an interface or file
 * name may hold any byte but '/' and NUL).
 *
 * The output is valid UTF-8: '"' and '\' are escaped, control characters and
 * DEL become \n, \t, ... or \u00XX, valid UTF-8 sequences above U+007F go
 * through as they are, and each byte that is not part of a valid UTF-8
 * sequence (overlong forms and surrogates included) becomes \ufffd, the
 * replacement character: a JSON text must be Unicode.
 */
#ifndef GEOFW_JSON_H
#define GEOFW_JSON_H

#include <stddef.h>

typedef void (*geofw_json_put_fn)(void *ctx, const char *s, size_t n);

/* Write s (NUL-terminated) as a JSON string literal, quotes included. */
void geofw_json_quote(const char *s, geofw_json_put_fn put, void *ctx);
/* The same of s[0..len), which may hold NULs (written as \u0000). */
void geofw_json_quote_n(const char *s, size_t len, geofw_json_put_fn put, void *ctx);

/* Length of the valid UTF-8 sequence at s (1..4; left > 0 bytes there), 0
 * when s does not start one: for other writers that must emit UTF-8. */
size_t geofw_utf8_len(const char *s, size_t left);

#endif
