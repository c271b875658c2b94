// SPDX-License-Identifier: GPL-2.0-only
/*
 * What geofwd runs, bound to the command table (user/lib/cmdtable.c) by id,
 * as bpftool's `struct cmd`: the commands of kind GEOFW_CMD_DAEMON and
 * GEOFW_CMD_EITHER have a handler here, the others none (fwctl answers
 * them: user/fwctl/commands.c).  tests/unit/cmd.c checks both arrays
 * against the table, so a command without a handler fails the unit tests
 * and a handler that does not exist fails the build.
 */
#include "control.h"

/* tests/unit/cmd.c reads this array without linking geofwd. */
#ifndef GFWD_HANDLER
#define GFWD_HANDLER(fn) fn
#endif

const struct gfwd_cmd gfwd_cmds[GEOFW_CMD_MAX] = {
	/* Changes: in the round's transaction, answered after its COMMIT. */
	[GEOFW_CMD_ADD_BLOCK]		= { GFWD_HANDLER(ctl_add_block), true },
	[GEOFW_CMD_DEL_BLOCK]		= { GFWD_HANDLER(ctl_del_block), true },
	[GEOFW_CMD_ALLOW]		= { GFWD_HANDLER(ctl_allow), true },
	[GEOFW_CMD_DEL_ALLOW]		= { GFWD_HANDLER(ctl_del_allow), true },
	[GEOFW_CMD_BLOCK_ASN]		= { GFWD_HANDLER(ctl_add_asn), true },
	[GEOFW_CMD_UNBLOCK_ASN]		= { GFWD_HANDLER(ctl_del_asn), true },
	[GEOFW_CMD_ALLOW_ASN]		= { GFWD_HANDLER(ctl_add_asn), true },
	[GEOFW_CMD_DEL_ALLOW_ASN]	= { GFWD_HANDLER(ctl_del_asn), true },
	[GEOFW_CMD_BLOCK_COUNTRY]	= { GFWD_HANDLER(ctl_block_country), true },
	[GEOFW_CMD_UNBLOCK_COUNTRY]	= { GFWD_HANDLER(ctl_unblock_country), true },
	[GEOFW_CMD_COUNTRY_MODE]	= { GFWD_HANDLER(ctl_country_mode), true },
	[GEOFW_CMD_PORT_POLICY]		= { GFWD_HANDLER(ctl_port_policy), true },
	[GEOFW_CMD_RL_ADD]		= { GFWD_HANDLER(ctl_rl_change), true },
	[GEOFW_CMD_RL_DEL]		= { GFWD_HANDLER(ctl_rl_change), true },
	[GEOFW_CMD_IMPORT]		= { GFWD_HANDLER(ctl_import), true },
	[GEOFW_CMD_DEL_SOURCE]		= { GFWD_HANDLER(ctl_del_source), true },

	/* Reads and reloads: see only committed rules. */
	[GEOFW_CMD_RELOAD]		= { GFWD_HANDLER(ctl_reload), false },
	[GEOFW_CMD_LIST]		= { GFWD_HANDLER(ctl_list), false },
	[GEOFW_CMD_EXPORT]		= { GFWD_HANDLER(ctl_export), false },
	[GEOFW_CMD_STATUS]		= { GFWD_HANDLER(ctl_status), false },
	[GEOFW_CMD_FLEET_STATUS]	= { GFWD_HANDLER(ctl_fleet_status), false },
	[GEOFW_CMD_RL_LIST]		= { GFWD_HANDLER(ctl_rl_list), false },
	[GEOFW_CMD_FEED_LIST]		= { GFWD_HANDLER(ctl_feed), false },
	[GEOFW_CMD_FEED_REFRESH]	= { GFWD_HANDLER(ctl_feed), false },
	[GEOFW_CMD_FEED_CONFIRM]	= { GFWD_HANDLER(ctl_feed), false },
	[GEOFW_CMD_REF]			= { GFWD_HANDLER(ctl_ref), false },
};
