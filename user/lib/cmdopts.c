// SPDX-License-Identifier: GPL-2.0-only
/*
 * The options of fwctl's commands and fwctl's global options, declared once:
 * the parser (cmdparse.c) checks and stores a value as its option says, and
 * the help (cmdhelp.c) prints the same lines.
 */
#include "cmdtable.h"
#include "ctl.h"
#include "maps.h"
#include "store.h"

#include <stddef.h>

/* Where an option stores its value, as xdp-tools' DEFINE_OPTION. */
#define FIELD(f)	.off = offsetof(struct geofw_cmd, f), \
			.size = sizeof(((struct geofw_cmd *)0)->f)
#define AUX(f)		.aux = offsetof(struct geofw_cmd, f)
#define DEFAULT(v)	.has_def = true, .def = (v)


const struct geofw_cmd_option geofw_opt_json = {
	0, "json", 'j', NULL, false, "JSON output (see fwctl(8) for the shapes)",
	.type = GEOFW_OPT_FLAG, FIELD(json),
};
const struct geofw_cmd_option geofw_opt_help = {
	0, "help", 'h', NULL, false, "show this help",
	.type = GEOFW_OPT_HELP,
};
const struct geofw_cmd_option geofw_opt_ttl = {
	0, "ttl", 0, "DURATION", false,
	"remove the rule after DURATION: 30s, 10m, 2h, 7d,\n"
	"1w, 1h30m or plain seconds (default: never)",
	.type = GEOFW_OPT_DURATION, FIELD(ttl),
};
/* allow and block-country: their rules without ports do not expire. */
const struct geofw_cmd_option geofw_opt_ttl_ports = {
	0, "ttl", 0, "DURATION", false,
	"with --ports only: remove the rule after\nDURATION (30s, 10m, 2h, 1h30m; default: never)",
	.type = GEOFW_OPT_DURATION, FIELD(ttl),
};
const struct geofw_cmd_option geofw_opt_ttl_import = {
	0, "ttl", 0, "DURATION", false,
	"expire every entry of the list after DURATION\n(default: never)",
	.type = GEOFW_OPT_DURATION, FIELD(ttl),
};
const struct geofw_cmd_option geofw_opt_action_block = {
	0, "action", 0, "ACTION", false,
	"drop (default), reject (TCP RST, others dropped),\n"
	"http403 (the 403 page on HTTP ports, reject on\n"
	"others) or log (count as would-block, let through)",
	.type = GEOFW_OPT_ACTION, FIELD(action), DEFAULT(GEOFW_ACT_DROP),
};
/* No default: without it the list takes the action export wrote. */
const struct geofw_cmd_option geofw_opt_action_import = {
	0, "action", 0, "ACTION", false,
	"drop, reject, http403 or log (default: the\n"
	"action= export wrote after the entries, else drop)",
	.type = GEOFW_OPT_ACTION, FIELD(action),
};
const struct geofw_cmd_option geofw_opt_action_country = {
	0, "action", 0, "ACTION", false,
	"drop, reject, http403 or log (default:\nCountryAction of geofw.conf)",
	.type = GEOFW_OPT_ACTION, FIELD(action),
};
const struct geofw_cmd_option geofw_opt_action_mode = {
	0, "action", 0, "ACTION", false,
	"what the countries not allowed get in allow mode:\n"
	"drop, reject, http403 or log (default:\nCountryAction of geofw.conf)",
	.type = GEOFW_OPT_ACTION, FIELD(action),
};
const struct geofw_cmd_option geofw_opt_comment = {
	0, "comment", 0, "TEXT", false,
	"free text shown by 'fwctl list' (UTF-8, at\nmost 128 bytes, no control characters)",
	.type = GEOFW_OPT_TEXT, FIELD(comment), .max = GEOFW_STORE_COMMENT_MAX,
};
/* block-country: the country policy has no comments, its port rules do. */
const struct geofw_cmd_option geofw_opt_comment_ports = {
	0, "comment", 0, "TEXT", false,
	"with --ports only: free text shown by 'fwctl\nlist' (UTF-8, at most 128 bytes)",
	.type = GEOFW_OPT_TEXT, FIELD(comment), .max = GEOFW_STORE_COMMENT_MAX,
};
const struct geofw_cmd_option geofw_opt_force_block = {
	0, "force", 0, NULL, false,
	"accept a /0 (every IPv4 or every IPv6 address)",
	.type = GEOFW_OPT_FLAG, FIELD(force),
};
const struct geofw_cmd_option geofw_opt_force_allow = {
	0, "force", 0, NULL, false,
	"accept a /0, which lets a whole address family\nthrough",
	.type = GEOFW_OPT_FLAG, FIELD(force),
};
const struct geofw_cmd_option geofw_opt_force_import = {
	0, "force", 0, NULL, false,
	"accept /0 entries in the list",
	.type = GEOFW_OPT_FLAG, FIELD(force),
};
const struct geofw_cmd_option geofw_opt_replace = {
	0, "replace", 0, NULL, false,
	"remove the rules of the previous import of this\n"
	"list in the same change (a refreshed list stays\nin sync)",
	.type = GEOFW_OPT_FLAG, FIELD(replace),
};
const struct geofw_cmd_option geofw_opt_watch = {
	0, "watch", 0, "SEC", true,
	"refresh every SEC seconds (default 1), with rates",
	.type = GEOFW_OPT_DURATION, FIELD(interval), AUX(watch),
	.max = GEOFW_CMD_INTERVAL_MAX,
};
const struct geofw_cmd_option geofw_opt_samples = {
	0, "samples", 0, "N", false,
	"random addresses checked per family (default 100000)",
	.type = GEOFW_OPT_COUNT, FIELD(samples), .max = GEOFW_CMD_SAMPLES_MAX,
};
const struct geofw_cmd_option geofw_opt_db = {
	0, "db", 0, "FILE", false,
	"the database to check (default: GeoIPDatabase\nof /etc/geofw/geofw.conf); "
	"up to 4 times:\nthe files merged as GeoIPDatabase merges them",
	.type = GEOFW_OPT_PATHS, FIELD(db), AUX(n_db), .max = GEOFW_CMD_MAX_DB,
};

const struct geofw_cmd_option geofw_opt_asn_db = {
	0, "db", 0, "FILE", false,
	"the ASN database (default: ASNDatabase of\n/etc/geofw/geofw.conf)",
	.type = GEOFW_OPT_PATHS, FIELD(db), AUX(n_db), .max = 1,
};

const struct geofw_cmd_option geofw_opt_lookup_asn_db = {
	0, "asn-db", 0, "FILE", false,
	"the ASN database that names the address's AS\n(default: ASNDatabase of "
	"/etc/geofw/geofw.conf)",
	.type = GEOFW_OPT_PATH, FIELD(asn_db),
};
const struct geofw_cmd_option geofw_opt_action_asn = {
	0, "action", 0, "ACTION", false,
	"drop (default), reject, http403 or log, as for\nadd-block",
	.type = GEOFW_OPT_ACTION, FIELD(action), DEFAULT(GEOFW_ACT_DROP),
};
const struct geofw_cmd_option geofw_opt_source_del_asn = {
	0, "source", 0, "SOURCE", false,
	"remove only the rule of SOURCE (default: the AS's\nrules of every source)",
	.type = GEOFW_OPT_SOURCE, FIELD(source), .max = GEOFW_STORE_SOURCE_MAX,
};

const struct geofw_cmd_option geofw_opt_follow = {
	0, "follow", 0, NULL, false,
	"keep printing samples as they come, until Ctrl-C",
	.type = GEOFW_OPT_FLAG, FIELD(follow),
};
const struct geofw_cmd_option geofw_opt_rate = {
	0, "rate", 0, "N", false,
	"when the drop log is off, sample at most N packets\n"
	"per second and CPU while fwctl reads (default 100)",
	.type = GEOFW_OPT_COUNT, FIELD(rate), .max = GEOFW_CMD_RATE_MAX,
	DEFAULT(GEOFW_CMD_RATE_DEFAULT),
};
const struct geofw_cmd_option geofw_opt_once = {
	0, "once", 'n', NULL, false,
	"collect for --interval seconds, print once, exit",
	.type = GEOFW_OPT_FLAG, FIELD(once),
};
const struct geofw_cmd_option geofw_opt_interval = {
	0, "interval", 0, "SEC", false,
	"refresh every SEC seconds (default 2)",
	.type = GEOFW_OPT_DURATION, FIELD(interval), .max = GEOFW_CMD_INTERVAL_MAX,
	DEFAULT(GEOFW_CMD_TOP_INTERVAL),
};
const struct geofw_cmd_option geofw_opt_window = {
	0, "window", 0, "SEC", false,
	"rank over the last SEC seconds (default 10)",
	.type = GEOFW_OPT_DURATION, FIELD(window), .max = GEOFW_CMD_WINDOW_MAX,
	DEFAULT(GEOFW_CMD_TOP_WINDOW),
};

const struct geofw_cmd_option geofw_opt_source_list = {
	0, "source", 0, "SOURCE", false,
	"only the rules of SOURCE: cli, import:NAME, ...",
	.type = GEOFW_OPT_SOURCE, FIELD(source), .max = GEOFW_STORE_SOURCE_MAX,
};
const struct geofw_cmd_option geofw_opt_source_add = {
	0, "source", 0, "SOURCE", false,
	"record the rules as SOURCE (default cli), e.g.\n"
	"fail2ban: 'del-block --source' and 'list\n--source' then act on them alone",
	.type = GEOFW_OPT_SOURCE, FIELD(source), .max = GEOFW_STORE_SOURCE_MAX,
	.no_reserved = true,
};
const struct geofw_cmd_option geofw_opt_source_del = {
	0, "source", 0, "SOURCE", false,
	"remove only the rule of SOURCE (default: the\nprefix's rules of every source)",
	.type = GEOFW_OPT_SOURCE, FIELD(source), .max = GEOFW_STORE_SOURCE_MAX,
};

const struct geofw_cmd_option geofw_opt_local = {
	0, "local", 0, NULL, false,
	"this host only, even when a fleet is configured",
	.type = GEOFW_OPT_SCOPE, FIELD(scope), .value = GEOFW_CMD_SCOPE_LOCAL,
};
const struct geofw_cmd_option geofw_opt_fleet = {
	0, "fleet", 0, NULL, false,
	"every host of the fleet (the NATS bucket); the\n"
	"default when FleetServers is set and FleetScope\nis fleet",
	.type = GEOFW_OPT_SCOPE, FIELD(scope), .value = GEOFW_CMD_SCOPE_FLEET,
};
const struct geofw_cmd_option geofw_opt_local_import = {
	0, "local", 0, NULL, false,
	"this host only (the default for imports)",
	.type = GEOFW_OPT_SCOPE, FIELD(scope), .value = GEOFW_CMD_SCOPE_LOCAL,
};
const struct geofw_cmd_option geofw_opt_fleet_import = {
	0, "fleet", 0, NULL, false,
	"every prefix becomes a fleet block rule (the\nbucket holds no lists: not with --replace)",
	.type = GEOFW_OPT_SCOPE, FIELD(scope), .value = GEOFW_CMD_SCOPE_FLEET,
};

const struct geofw_cmd_option geofw_opt_ports = {
	0, "ports", 0, "PORTS", false,
	"only traffic to these destination ports: 22/tcp,\n"
	"80,443/tcp, 8000-8100/tcp, 53/udp (fwctl(8))",
	.type = GEOFW_OPT_PORTS, FIELD(ports), AUX(has_ports),
};
const struct geofw_cmd_option geofw_opt_ports_del = {
	0, "ports", 0, "PORTS", false,
	"the port-scoped rule of exactly this port list",
	.type = GEOFW_OPT_PORTS, FIELD(ports), AUX(has_ports),
};
const struct geofw_cmd_option geofw_opt_action_policy = {
	0, "action", 0, "ACTION", false,
	"what the sources not listed get: drop (default),\n"
	"reject, http403 or log",
	.type = GEOFW_OPT_ACTION, FIELD(action),
};

/* Every command has these. */
const struct geofw_cmd_option *const geofw_cmd_common_opts[2] = {
	&geofw_opt_json, &geofw_opt_help,
};

const struct geofw_cmd_option *const geofw_cmd_all_opts[] = {
	&geofw_opt_ttl, &geofw_opt_action_block, &geofw_opt_comment, &geofw_opt_force_block,
	&geofw_opt_replace, &geofw_opt_watch, &geofw_opt_samples, &geofw_opt_db,
	&geofw_opt_follow, &geofw_opt_rate, &geofw_opt_once, &geofw_opt_interval,
	&geofw_opt_window, &geofw_opt_source_list, &geofw_opt_local, &geofw_opt_fleet,
	&geofw_opt_lookup_asn_db, &geofw_opt_ports,
};
const size_t geofw_cmd_n_all_opts = sizeof(geofw_cmd_all_opts) / sizeof(geofw_cmd_all_opts[0]);

/* ---- global options -------------------------------------------------------- */

const struct geofw_cmd_option geofw_cmd_global_opts[] = {
	{ .key = G_JSON, .name = "json", .short_name = 'j', .arg = NULL,
	  .help = "JSON output, one document per command\n(errors too: {\"error\":\"...\"})" },
	{ .key = G_SOCKET, .name = "socket", .short_name = 's', .arg = "PATH",
	  .help = "geofwd's control socket\n(default " GEOFW_CTL_PATH ")" },
	{ .key = G_PIN_DIR, .name = "pin-dir", .short_name = 0, .arg = "DIR",
	  .help = "where the maps are pinned\n(default " GEOFW_PIN_DIR ")" },
	{ .key = G_TIMEOUT, .name = "timeout", .short_name = 't', .arg = "SEC",
	  .help = "wait at most SEC for each answer of geofwd\n(default 30)" },
	{ .key = G_HELP, .name = "help", .short_name = 'h', .arg = NULL,
	  .help = "show this help" },
	{ .key = G_VERSION, .name = "version", .short_name = 'V', .arg = NULL,
	  .help = "print the version" },
};
const size_t geofw_cmd_n_global_opts =
	sizeof(geofw_cmd_global_opts) / sizeof(geofw_cmd_global_opts[0]);
