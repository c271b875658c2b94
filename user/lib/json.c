// SPDX-License-Identifier: GPL-2.0-only
#include "json.h"
#include "jsonlib.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t geofw_utf8_len(const char *str, size_t left)
{
	const unsigned char *s = (const unsigned char *)str;
	unsigned int cp;
	size_t n, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;	/* continuation byte, 0xc0/0xc1, 0xf5.. */
	if (left < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;	/* overlong, out of range, surrogate */
	return n;
}

void geofw_json_quote_n(const char *str, size_t len, geofw_json_put_fn put, void *ctx)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, run = 0, n;
	char esc[8];

	put(ctx, "\"", 1);
	while (i < len) {
		const char *rep = NULL;

		n = geofw_utf8_len((const char *)s + i, len - i);
		if (n > 1 || (n == 1 && s[i] >= 0x20 && s[i] != '"' && s[i] != '\\' &&
			      s[i] != 0x7f)) {
			run += n;	/* plain text: written in one piece */
			i += n;
			continue;
		}
		if (run)
			put(ctx, (const char *)s + i - run, run);
		run = 0;
		if (!n) {
			rep = "\\ufffd";
		} else {
			switch (s[i]) {
			case '"':  rep = "\\\""; break;
			case '\\': rep = "\\\\"; break;
			case '\n': rep = "\\n"; break;
			case '\r': rep = "\\r"; break;
			case '\t': rep = "\\t"; break;
			case '\b': rep = "\\b"; break;
			case '\f': rep = "\\f"; break;
			default:
				snprintf(esc, sizeof(esc), "\\u%04x", s[i]);
				rep = esc;
			}
		}
		put(ctx, rep, strlen(rep));
		i++;
	}
	if (run)
		put(ctx, (const char *)s + i - run, run);
	put(ctx, "\"", 1);
}

void geofw_json_quote(const char *s, geofw_json_put_fn put, void *ctx)
{
	geofw_json_quote_n(s, strlen(s), put, ctx);
}

json_t *geofw_json_textn(const char *s, size_t len)
{
	static const char rep[] = "\xef\xbf\xbd";	/* U+FFFD */
	size_t i = 0, o = 0, n;
	json_t *j;
	char *buf;

	if (!s)
		return json_null();
	for (i = 0; i < len; i += n ? n : 1) {
		n = geofw_utf8_len(s + i, len - i);
		if (!n)
			break;
	}
	if (i >= len)
		return json_stringn_nocheck(s, len);	/* checked above */
	buf = malloc(len * 3 + 1);	/* each byte at worst one U+FFFD */
	if (!buf)
		return NULL;
	for (i = 0; i < len; i += n ? n : 1) {
		n = geofw_utf8_len(s + i, len - i);
		if (n) {
			memcpy(buf + o, s + i, n);
			o += n;
		} else {
			memcpy(buf + o, rep, 3);
			o += 3;
		}
	}
	j = json_stringn_nocheck(buf, o);
	free(buf);
	return j;
}

json_t *geofw_json_text(const char *s)
{
	return s ? geofw_json_textn(s, strlen(s)) : json_null();
}

int geofw_json_set_text(json_t *obj, const char *key, const char *s)
{
	return json_object_set_new(obj, key, geofw_json_text(s)) ? -ENOMEM : 0;
}

char *geofw_json_line(const json_t *doc)
{
	char *s = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER), *line;
	size_t n;

	if (!s)
		return NULL;
	n = strlen(s);
	line = realloc(s, n + 2);
	if (!line) {
		free(s);
		return NULL;
	}
	line[n] = '\n';
	line[n + 1] = '\0';
	return line;
}
