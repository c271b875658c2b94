// SPDX-License-Identifier: GPL-2.0-only
/*
 * What fwctl runs itself, bound to the command table (user/lib/cmdtable.c)
 * by id, as bpftool's `struct cmd`.  A command of kind GEOFW_CMD_LOCAL or
 * GEOFW_CMD_BUILTIN has its handler here; one of kind GEOFW_CMD_EITHER too,
 * run when geofwd is not running (from the pinned maps); one of kind
 * GEOFW_CMD_DAEMON has none: fwctl sends it to geofwd, whose handlers are
 * in user/geofwd/commands.c.  tests/unit/cmd.c checks both arrays against
 * the table.
 */
#include "fwctl.h"

/* tests/unit/cmd.c reads this array without linking fwctl. */
#ifndef FWCTL_HANDLER
#define FWCTL_HANDLER(fn) fn
#endif

fwctl_cmd_fn *const fwctl_cmds[GEOFW_CMD_MAX] = {
	/* GEOFW_CMD_BUILTIN */
	[GEOFW_CMD_HELP]	= FWCTL_HANDLER(fwctl_help),
	[GEOFW_CMD_VERSION]	= FWCTL_HANDLER(fwctl_version),

	/* GEOFW_CMD_EITHER: while geofwd is down */
	[GEOFW_CMD_LIST]	= FWCTL_HANDLER(fwctl_list_pins),
	[GEOFW_CMD_STATUS]	= FWCTL_HANDLER(fwctl_status_pins),

	/* GEOFW_CMD_LOCAL */
	[GEOFW_CMD_LOOKUP]	= FWCTL_HANDLER(fwctl_lookup),
	[GEOFW_CMD_STATS]	= FWCTL_HANDLER(fwctl_stats),
	[GEOFW_CMD_GEO_VERIFY]	= FWCTL_HANDLER(fwctl_geo_verify),
	[GEOFW_CMD_ASN_SHOW]	= FWCTL_HANDLER(fwctl_asn_show),
	[GEOFW_CMD_ASN_VERIFY]	= FWCTL_HANDLER(fwctl_asn_verify),
	[GEOFW_CMD_LOG]		= FWCTL_HANDLER(fwctl_log),
	[GEOFW_CMD_TOP]		= FWCTL_HANDLER(fwctl_top),
};
