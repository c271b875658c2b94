// SPDX-License-Identifier: GPL-2.0-only
/*
 * The options of fwctl's commands and fwctl's global options, declared once:
 * the parser (cmdparse.c) checks and stores a value as its option says, and
 * the help (cmdhelp.c) prints the same lines.
 */
#include "cmdtable.h"
#include "ctl.h"
#include "maps.h"


const struct geofw_cmd_option geofw_opt_json = {
	O_JSON, "json", 'j', NULL, false, "JSON output (see fwctl(8) for the shapes)",
};
const struct geofw_cmd_option geofw_opt_help = {
	O_HELP, "help", 'h', NULL, false, "show this help",
};
const struct geofw_cmd_option geofw_opt_ttl = {
	O_TTL, "ttl", 0, "DURATION", false,
	"remove the rule after DURATION: 30s, 10m, 2h, 7d,\n"
	"1w, 1h30m or plain seconds (default: never)",
};
const struct geofw_cmd_option geofw_opt_ttl_import = {
	O_TTL, "ttl", 0, "DURATION", false,
	"expire every entry of the list after DURATION\n(default: never)",
};
const struct geofw_cmd_option geofw_opt_action_block = {
	O_ACTION, "action", 0, "ACTION", false,
	"drop (default), reject (TCP RST, others dropped),\n"
	"http403 (the 403 page on HTTP ports, reject on\n"
	"others) or log (count as would-block, let through)",
};
const struct geofw_cmd_option geofw_opt_action_country = {
	O_ACTION, "action", 0, "ACTION", false,
	"drop, reject, http403 or log (default:\nCountryAction of geofw.conf)",
};
const struct geofw_cmd_option geofw_opt_action_mode = {
	O_ACTION, "action", 0, "ACTION", false,
	"what the countries not allowed get in allow mode:\n"
	"drop, reject, http403 or log (default:\nCountryAction of geofw.conf)",
};
const struct geofw_cmd_option geofw_opt_comment = {
	O_COMMENT, "comment", 0, "TEXT", false,
	"free text shown by 'fwctl list' (UTF-8, at\nmost 128 bytes, no control characters)",
};
const struct geofw_cmd_option geofw_opt_force_block = {
	O_FORCE, "force", 0, NULL, false,
	"accept a /0 (every IPv4 or every IPv6 address)",
};
const struct geofw_cmd_option geofw_opt_force_allow = {
	O_FORCE, "force", 0, NULL, false,
	"accept a /0, which lets a whole address family\nthrough",
};
const struct geofw_cmd_option geofw_opt_force_import = {
	O_FORCE, "force", 0, NULL, false,
	"accept /0 entries in the list",
};
const struct geofw_cmd_option geofw_opt_replace = {
	O_REPLACE, "replace", 0, NULL, false,
	"remove the rules of the previous import of this\n"
	"list in the same change (a refreshed list stays\nin sync)",
};
const struct geofw_cmd_option geofw_opt_watch = {
	O_WATCH, "watch", 0, "SEC", true,
	"refresh every SEC seconds (default 1), with rates",
};
const struct geofw_cmd_option geofw_opt_samples = {
	O_SAMPLES, "samples", 0, "N", false,
	"random addresses checked per family (default 100000)",
};
const struct geofw_cmd_option geofw_opt_db = {
	O_DB, "db", 0, "FILE", false,
	"the database to check (default: GeoIPDatabase\nof /etc/geofw/geofw.conf); "
	"up to 4 times:\nthe files merged as GeoIPDatabase merges them",
};

const struct geofw_cmd_option geofw_opt_asn_db = {
	O_DB, "db", 0, "FILE", false,
	"the ASN database (default: ASNDatabase of\n/etc/geofw/geofw.conf)",
};

const struct geofw_cmd_option geofw_opt_lookup_asn_db = {
	O_ASN_DB, "asn-db", 0, "FILE", false,
	"the ASN database that names the address's AS\n(default: ASNDatabase of "
	"/etc/geofw/geofw.conf)",
};
const struct geofw_cmd_option geofw_opt_action_asn = {
	O_ACTION, "action", 0, "ACTION", false,
	"drop (default), reject, http403 or log, as for\nadd-block",
};
const struct geofw_cmd_option geofw_opt_source_del_asn = {
	O_SOURCE, "source", 0, "SOURCE", false,
	"remove only the rule of SOURCE (default: the AS's\nrules of every source)",
};

const struct geofw_cmd_option geofw_opt_follow = {
	O_FOLLOW, "follow", 0, NULL, false,
	"keep printing samples as they come, until Ctrl-C",
};
const struct geofw_cmd_option geofw_opt_rate = {
	O_RATE, "rate", 0, "N", false,
	"when the drop log is off, sample at most N packets\n"
	"per second and CPU while fwctl reads (default 100)",
};
const struct geofw_cmd_option geofw_opt_once = {
	O_ONCE, "once", 'n', NULL, false,
	"collect for --interval seconds, print once, exit",
};
const struct geofw_cmd_option geofw_opt_interval = {
	O_INTERVAL, "interval", 0, "SEC", false,
	"refresh every SEC seconds (default 2)",
};
const struct geofw_cmd_option geofw_opt_window = {
	O_WINDOW, "window", 0, "SEC", false,
	"rank over the last SEC seconds (default 10)",
};

const struct geofw_cmd_option geofw_opt_source_list = {
	O_SOURCE, "source", 0, "SOURCE", false,
	"only the rules of SOURCE: cli, import:NAME, ...",
};
const struct geofw_cmd_option geofw_opt_source_add = {
	O_SOURCE, "source", 0, "SOURCE", false,
	"record the rules as SOURCE (default cli), e.g.\n"
	"fail2ban: 'del-block --source' and 'list\n--source' then act on them alone",
};
const struct geofw_cmd_option geofw_opt_source_del = {
	O_SOURCE, "source", 0, "SOURCE", false,
	"remove only the rule of SOURCE (default: the\nprefix's rules of every source)",
};

const struct geofw_cmd_option geofw_opt_local = {
	O_LOCAL, "local", 0, NULL, false,
	"this host only, even when a fleet is configured",
};
const struct geofw_cmd_option geofw_opt_fleet = {
	O_FLEET, "fleet", 0, NULL, false,
	"every host of the fleet (the NATS bucket); the\n"
	"default when FleetServers is set and FleetScope\nis fleet",
};
const struct geofw_cmd_option geofw_opt_local_import = {
	O_LOCAL, "local", 0, NULL, false,
	"this host only (the default for imports)",
};
const struct geofw_cmd_option geofw_opt_fleet_import = {
	O_FLEET, "fleet", 0, NULL, false,
	"every prefix becomes a fleet block rule (the\nbucket holds no lists: not with --replace)",
};

const struct geofw_cmd_option geofw_opt_ports = {
	O_PORTS, "ports", 0, "PORTS", false,
	"only traffic to these destination ports: 22/tcp,\n"
	"80,443/tcp, 8000-8100/tcp, 53/udp (fwctl(8))",
};
const struct geofw_cmd_option geofw_opt_ports_del = {
	O_PORTS, "ports", 0, "PORTS", false,
	"the port-scoped rule of exactly this port list",
};
const struct geofw_cmd_option geofw_opt_action_policy = {
	O_ACTION, "action", 0, "ACTION", false,
	"what the sources not listed get: drop (default),\n"
	"reject, http403 or log",
};

/* Every command has these. */
const struct geofw_cmd_option *const geofw_cmd_common_opts[2] = { &geofw_opt_json, &geofw_opt_help };

const struct geofw_cmd_option *const geofw_cmd_all_opts[] = {
	&geofw_opt_ttl, &geofw_opt_action_block, &geofw_opt_comment, &geofw_opt_force_block, &geofw_opt_replace,
	&geofw_opt_watch, &geofw_opt_samples, &geofw_opt_db, &geofw_opt_follow, &geofw_opt_rate, &geofw_opt_once, &geofw_opt_interval,
	&geofw_opt_window, &geofw_opt_source_list, &geofw_opt_local, &geofw_opt_fleet, &geofw_opt_lookup_asn_db, &geofw_opt_ports,
};
const size_t geofw_cmd_n_all_opts = sizeof(geofw_cmd_all_opts) / sizeof(geofw_cmd_all_opts[0]);

/* ---- global options -------------------------------------------------------- */

const struct geofw_cmd_option geofw_cmd_global_opts[] = {
	{ G_JSON, "json", 'j', NULL, false,
	  "JSON output, one document per command\n(errors too: {\"error\":\"...\"})" },
	{ G_SOCKET, "socket", 's', "PATH", false,
	  "geofwd's control socket\n(default " GEOFW_CTL_PATH ")" },
	{ G_PIN_DIR, "pin-dir", 0, "DIR", false,
	  "where the maps are pinned\n(default " GEOFW_PIN_DIR ")" },
	{ G_TIMEOUT, "timeout", 't', "SEC", false,
	  "wait at most SEC for each answer of geofwd\n(default 30)" },
	{ G_HELP, "help", 'h', NULL, false, "show this help" },
	{ G_VERSION, "version", 'V', NULL, false, "print the version" },
};
const size_t geofw_cmd_n_global_opts =
	sizeof(geofw_cmd_global_opts) / sizeof(geofw_cmd_global_opts[0]);
