/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * UTF-8 as geofw checks it where text it did not write goes out: jansson
 * documents (jsonlib.h: geofw_json_text writes each byte that is not part
 * of a valid sequence as U+FFFD) and /metrics label values.  Overlong
 * forms, surrogates and code points above U+10FFFF are not valid.
 */
#ifndef GEOFW_JSON_H
#define GEOFW_JSON_H

#include <stddef.h>

/* Length of the valid UTF-8 sequence at s (1..4; left > 0 bytes there), 0
 * when s does not start one. */
size_t geofw_utf8_len(const char *s, size_t left);

#endif
