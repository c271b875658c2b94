/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The inside of the command table, shared by the files that make it:
 * cmdopts.c (the options), cmdtable.c (the commands and their groups),
 * cmdparse.c (the parser) and cmdhelp.c (the help).  Nothing else includes
 * this: callers use cmd.h.
 */
#ifndef GEOFW_CMDTABLE_H
#define GEOFW_CMDTABLE_H

#include "cmd.h"

/* What the positional arguments of a command are. */
enum pos_kind {
	P_NONE = 0,
	P_CIDR,		/* prefixes to add: /0 only with --force */
	P_CIDR_DEL,	/* prefixes to remove: /0 names the /0 rule, always fine */
	P_ADDR,		/* one address */
	P_COUNTRY,
	P_MODE,
	P_FILE,
	P_LIST,
	P_TOPIC,
	P_SOURCE,	/* a rule source: cli, import:NAME, ... */
	P_ASN,		/* AS numbers: AS64500 or 64500 */
	P_FEED,		/* a feed's NAME (Feed lines of geofw.conf) */
	P_REF,		/* a reference code of the 403 page */
	P_PORT_POLICY,	/* PORTS allow-only ITEM... | PORTS none */
	P_RL_SPEC,	/* a rate limit line, its words as given */
	P_RL_NAME,	/* a rate limit's name */
};

/* fwctl's global options: which field of struct geofw_cmd_global. */
enum gopt_key { G_JSON = 1, G_SOCKET, G_PIN_DIR, G_TIMEOUT, G_HELP, G_VERSION };

/* The options (cmdopts.c). */
extern const struct geofw_cmd_option
	geofw_opt_json,
	geofw_opt_help,
	geofw_opt_ttl,
	geofw_opt_ttl_import,
	geofw_opt_ttl_ports,
	geofw_opt_action_block,
	geofw_opt_action_import,
	geofw_opt_action_country,
	geofw_opt_action_mode,
	geofw_opt_comment,
	geofw_opt_comment_ports,
	geofw_opt_force_block,
	geofw_opt_force_allow,
	geofw_opt_force_import,
	geofw_opt_replace,
	geofw_opt_watch,
	geofw_opt_samples,
	geofw_opt_db,
	geofw_opt_asn_db,
	geofw_opt_lookup_asn_db,
	geofw_opt_action_asn,
	geofw_opt_source_del_asn,
	geofw_opt_follow,
	geofw_opt_rate,
	geofw_opt_once,
	geofw_opt_interval,
	geofw_opt_window,
	geofw_opt_source_list,
	geofw_opt_source_add,
	geofw_opt_source_del,
	geofw_opt_local,
	geofw_opt_fleet,
	geofw_opt_local_import,
	geofw_opt_fleet_import,
	geofw_opt_ports,
	geofw_opt_ports_del,
	geofw_opt_action_policy;

/* Every command has these: -j/--json, -h/--help. */
extern const struct geofw_cmd_option *const geofw_cmd_common_opts[2];
/* Every option of any command, to tell "unknown" from "not for this command". */
extern const struct geofw_cmd_option *const geofw_cmd_all_opts[];
extern const size_t geofw_cmd_n_all_opts;
/* fwctl's options before the command word. */
extern const struct geofw_cmd_option geofw_cmd_global_opts[];
extern const size_t geofw_cmd_n_global_opts;

/* Groups of commands ("geo verify"), with what the group is about (cmdtable.c). */
struct geofw_cmd_group {
	const char *name;
	const char *summary;
};

extern const struct geofw_cmd_group geofw_cmd_groups[];
extern const size_t geofw_cmd_n_groups;

/* The index of group name in geofw_cmd_groups, or -1. */
int geofw_cmd_group_find(const char *name);

#endif
