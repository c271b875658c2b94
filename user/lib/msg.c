// SPDX-License-Identifier: GPL-2.0-only
#include "msg.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *geofw_echo_n(const char *s, size_t len, char buf[GEOFW_ECHO_BUFLEN])
{
	size_t i;

	for (i = 0; i < len && i < GEOFW_ECHO_MAX; i++) {
		unsigned char ch = (unsigned char)s[i];

		buf[i] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
	}
	if (len > GEOFW_ECHO_MAX) {
		memcpy(buf + i, "...", 3);
		i += 3;
	}
	buf[i] = '\0';
	return buf;
}

const char *geofw_echo(const char *text, char buf[GEOFW_ECHO_BUFLEN])
{
	if (!text)
		text = "";
	/* strnlen: the copy never looks past what it shows. */
	return geofw_echo_n(text, strnlen(text, GEOFW_ECHO_MAX + 1), buf);
}

void geofw_scrub_controls(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

int geofw_errf(char *err, size_t errlen, int ret, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return ret;
}

void geofw_text_put(struct geofw_text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(t->buf + (t->used < t->len ? t->used : t->len),
		      t->used < t->len ? t->len - t->used : 0, fmt, ap);
	va_end(ap);
	if (n > 0)
		t->used += (size_t)n;
}
