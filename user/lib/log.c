// SPDX-License-Identifier: GPL-2.0-only
#include "log.h"

#include <stdio.h>
#include <string.h>

static int log_level = GEOFW_LOG_INFO;
static char last_error[1024];
static geofw_log_sink_fn log_sink;
static void *log_sink_ctx;

static const char *const level_names[] = {
	[GEOFW_LOG_ERR] = "err",
	[GEOFW_LOG_WARN] = "warning",
	[GEOFW_LOG_INFO] = "info",
	[GEOFW_LOG_DEBUG] = "debug",
};

void geofw_log_set_level(int level)
{
	log_level = level;
}

int geofw_log_get_level(void)
{
	return log_level;
}

int geofw_log_level_parse(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (!strcmp(name, level_names[i]))
			return (int)i;
	if (!strcmp(name, "error"))
		return GEOFW_LOG_ERR;
	return -1;
}

void geofw_log_set_sink(geofw_log_sink_fn fn, void *ctx)
{
	log_sink = fn;
	log_sink_ctx = ctx;
}

void geofw_vlog(int level, const char *fmt, va_list ap)
{
	char msg[1024];
	size_t len;

	if (level > log_level)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	len = strlen(msg);
	while (len && msg[len - 1] == '\n')
		msg[--len] = '\0';
	if (level == GEOFW_LOG_ERR)
		memcpy(last_error, msg, len + 1);
	if (log_sink) {
		log_sink(level, msg, log_sink_ctx);
		return;
	}
	/* "<N>" prefixes are read by journald as the syslog priority. */
	fprintf(stderr, "<%d>%s\n", level == GEOFW_LOG_ERR ? 3 : level == GEOFW_LOG_WARN ? 4 :
		level == GEOFW_LOG_INFO ? 6 : 7, msg);
}

void geofw_log(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	geofw_vlog(level, fmt, ap);
	va_end(ap);
}

const char *geofw_log_last_error(void)
{
	return last_error;
}

int geofw_log_ret(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	geofw_vlog(GEOFW_LOG_ERR, fmt, ap);
	va_end(ap);
	return err;
}
