/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Logging for the library and both binaries.  Messages go to a sink (stderr by
 * default, where journald picks them up for geofwd).  Library code logs an
 * error once, where it is understood, and returns -errno:
 *
 *	return log_err(-ENOENT, "geoip: %s: no such file", path);
 */
#ifndef GEOFW_LOG_H
#define GEOFW_LOG_H

#include <stdarg.h>

enum geofw_log_level {
	GEOFW_LOG_ERR = 0,
	GEOFW_LOG_WARN,
	GEOFW_LOG_INFO,
	GEOFW_LOG_DEBUG,
};

typedef void (*geofw_log_sink_fn)(int level, const char *msg, void *ctx);

void geofw_log_set_level(int level);
int geofw_log_get_level(void);
/* "err", "warning", "info", "debug" → level; -1 when unknown. */
int geofw_log_level_parse(const char *name);
/* Replace the sink (NULL restores stderr). */
void geofw_log_set_sink(geofw_log_sink_fn fn, void *ctx);
/* Route libbpf's own messages through this logger (log_libbpf.c, in the
 * kernel archive: log.c is core, without libbpf). */
void geofw_log_route_libbpf(void);

void geofw_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void geofw_vlog(int level, const char *fmt, va_list ap);
/* The last error-level message (empty when none): lets a caller report the
 * library's own explanation, e.g. in a status line. */
const char *geofw_log_last_error(void);
/* Logs at error level and returns err, for `return log_err(-E…, "…")`. */
int geofw_log_ret(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_err(err, ...)	geofw_log_ret((err), __VA_ARGS__)
#define log_warn(...)		geofw_log(GEOFW_LOG_WARN, __VA_ARGS__)
#define log_info(...)		geofw_log(GEOFW_LOG_INFO, __VA_ARGS__)
#define log_debug(...)		geofw_log(GEOFW_LOG_DEBUG, __VA_ARGS__)

#endif
