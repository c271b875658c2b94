// SPDX-License-Identifier: GPL-2.0-only
#include "json.h"
#include "jsonlib.h"

#include <errno.h>
#include <math.h>
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
	char *s = json_dumps(doc, GEOFW_JSON_DUMP), *line;
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

json_t *geofw_json_real3(double v)
{
	char buf[64];

	if (!isfinite(v))
		return json_null();
	/* Rounded as printf rounds: the value fwctl printed with "%.3f". */
	snprintf(buf, sizeof(buf), "%.3f", v);
	return json_real(strtod(buf, NULL));
}

int geofw_json_put_file(const char *buf, size_t size, void *ctx)
{
	return fwrite(buf, 1, size, ctx) == size ? 0 : -1;
}

static void array_put(struct geofw_json_array *a, const char *s)
{
	if (!a->err && a->put(s, strlen(s), a->ctx))
		a->err = -EIO;
}

void geofw_json_array_open(struct geofw_json_array *a, json_dump_callback_t put, void *ctx)
{
	a->put = put;
	a->ctx = ctx;
	a->n = 0;
	a->err = 0;
	array_put(a, "[");
}

int geofw_json_array_add(struct geofw_json_array *a, json_t *elem)
{
	if (!elem && !a->err)
		a->err = -ENOMEM;
	if (a->n++)
		array_put(a, ",");
	if (!a->err && json_dump_callback(elem, a->put, a->ctx, GEOFW_JSON_DUMP | JSON_ENCODE_ANY))
		a->err = -EIO;
	json_decref(elem);
	return a->err;
}

int geofw_json_array_close(struct geofw_json_array *a)
{
	array_put(a, "]\n");
	return a->err;
}

void geofw_json_push(json_t **arr, json_t *v)
{
	if (*arr && (!v || json_array_append_new(*arr, v))) {
		json_decref(*arr);
		*arr = NULL;
	} else if (!*arr) {
		json_decref(v);
	}
}

void geofw_json_put(json_t **obj, const char *key, json_t *v)
{
	if (*obj && (!v || json_object_set_new(*obj, key, v))) {
		json_decref(*obj);
		*obj = NULL;
	} else if (!*obj) {
		json_decref(v);
	}
}
