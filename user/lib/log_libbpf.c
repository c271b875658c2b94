// SPDX-License-Identifier: GPL-2.0-only
/* libbpf's own messages through geofw's logger (log.h): kernel side, so
 * log.c stays in the core library, which has no libbpf. */
#include <bpf/libbpf.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	int ours = level == LIBBPF_WARN ? GEOFW_LOG_WARN :
		   level == LIBBPF_INFO ? GEOFW_LOG_DEBUG : GEOFW_LOG_DEBUG + 1;
	va_list copy;

	/* bpf_tc_hook_create() finding our clsact qdisc already there is the
	 * normal restart, not a warning. */
	if (strstr(fmt, "Kernel error message")) {
		char msg[256];

		va_copy(copy, ap);
		vsnprintf(msg, sizeof(msg), fmt, copy);
		va_end(copy);
		if (strstr(msg, "Exclusivity flag on"))
			return 0;
	}
	va_copy(copy, ap);
	geofw_vlog(ours, fmt, copy);
	va_end(copy);
	return 0;
}

void geofw_log_route_libbpf(void)
{
	libbpf_set_print(libbpf_print);
}
