/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Messages for the user: every parser returns its error as text (the CLI
 * prints it, geofwd sends it back over its socket), and echoes the offending
 * input — which may come from a file or the socket — only as a printable,
 * bounded copy, so no terminal control reaches a reply or a log.
 */
#ifndef GEOFW_MSG_H
#define GEOFW_MSG_H

#include <stddef.h>

#define GEOFW_ECHO_MAX		64			/* input bytes shown */
#define GEOFW_ECHO_BUFLEN	(GEOFW_ECHO_MAX + 4)	/* + "..." + NUL */

/* NUL-terminated input (NULL shows as empty); non-printable bytes become '?'. */
const char *geofw_echo(const char *text, char buf[GEOFW_ECHO_BUFLEN]);
/* The same for len bytes that need not be terminated. */
const char *geofw_echo_n(const char *s, size_t len, char buf[GEOFW_ECHO_BUFLEN]);

/* In place, for text of any length that others wrote (LAPI's words, a
 * library's message): control characters become '?', UTF-8 stays. */
void geofw_scrub_controls(char *s);

/* Format into err (when non-NULL) and return ret: `return geofw_errf(...)`. */
int geofw_errf(char *err, size_t errlen, int ret, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/*
 * A bounded text buffer that keeps counting past its end: after the puts,
 * used > len - 1 tells the caller the text was cut and how much room it
 * needed.  buf stays NUL-terminated whenever len > 0.
 */
struct geofw_text {
	char *buf;
	size_t len, used;
};

void geofw_text_put(struct geofw_text *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
