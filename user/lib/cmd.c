// SPDX-License-Identifier: GPL-2.0-only
/*
 * The command table and its parser.  Everything fwctl accepts is declared
 * once below; the help and the usage lines are printed from the same table,
 * so an option cannot exist without being documented.
 */
#include "cmd.h"
#include "msg.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "countries.h"
#include "ctl.h"
#include "maps.h"
#include "ratelimit.h"
#include "store.h"

/* ---- options ----------------------------------------------------------- */

enum opt_key {
	O_NONE = 0,
	O_JSON,
	O_HELP,
	O_TTL,
	O_ACTION,
	O_COMMENT,
	O_FORCE,
	O_REPLACE,
	O_WATCH,
	O_SAMPLES,
	O_DB,
	O_FOLLOW,
	O_RATE,
	O_ONCE,
	O_INTERVAL,
	O_WINDOW,
	O_SOURCE,
	O_LOCAL,
	O_FLEET,
	O_ASN_DB,
	O_PORTS,
	O_MAX
};

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

static const struct geofw_cmd_option opt_json = {
	O_JSON, "json", 'j', NULL, false, "JSON output (see fwctl(8) for the shapes)",
};
static const struct geofw_cmd_option opt_help = {
	O_HELP, "help", 'h', NULL, false, "show this help",
};
static const struct geofw_cmd_option opt_ttl = {
	O_TTL, "ttl", 0, "DURATION", false,
	"remove the rule after DURATION: 30s, 10m, 2h, 7d,\n"
	"1w, 1h30m or plain seconds (default: never)",
};
static const struct geofw_cmd_option opt_ttl_import = {
	O_TTL, "ttl", 0, "DURATION", false,
	"expire every entry of the list after DURATION\n(default: never)",
};
static const struct geofw_cmd_option opt_action_block = {
	O_ACTION, "action", 0, "ACTION", false,
	"drop (default), reject (TCP RST, others dropped),\n"
	"http403 (the 403 page on HTTP ports, reject on\n"
	"others) or log (count as would-block, let through)",
};
static const struct geofw_cmd_option opt_action_country = {
	O_ACTION, "action", 0, "ACTION", false,
	"drop, reject, http403 or log (default:\nCountryAction of geofw.conf)",
};
static const struct geofw_cmd_option opt_action_mode = {
	O_ACTION, "action", 0, "ACTION", false,
	"what the countries not allowed get in allow mode:\n"
	"drop, reject, http403 or log (default:\nCountryAction of geofw.conf)",
};
static const struct geofw_cmd_option opt_comment = {
	O_COMMENT, "comment", 0, "TEXT", false,
	"free text shown by 'fwctl list' (UTF-8, at\nmost 128 bytes, no control characters)",
};
static const struct geofw_cmd_option opt_force_block = {
	O_FORCE, "force", 0, NULL, false,
	"accept a /0 (every IPv4 or every IPv6 address)",
};
static const struct geofw_cmd_option opt_force_allow = {
	O_FORCE, "force", 0, NULL, false,
	"accept a /0, which lets a whole address family\nthrough",
};
static const struct geofw_cmd_option opt_force_import = {
	O_FORCE, "force", 0, NULL, false,
	"accept /0 entries in the list",
};
static const struct geofw_cmd_option opt_replace = {
	O_REPLACE, "replace", 0, NULL, false,
	"remove the rules of the previous import of this\n"
	"list in the same change (a refreshed list stays\nin sync)",
};
static const struct geofw_cmd_option opt_watch = {
	O_WATCH, "watch", 0, "SEC", true,
	"refresh every SEC seconds (default 1), with rates",
};
static const struct geofw_cmd_option opt_samples = {
	O_SAMPLES, "samples", 0, "N", false,
	"random addresses checked per family (default 100000)",
};
static const struct geofw_cmd_option opt_db = {
	O_DB, "db", 0, "FILE", false,
	"the database to check (default: GeoIPDatabase\nof /etc/geofw/geofw.conf); "
	"up to 4 times:\nthe files merged as GeoIPDatabase merges them",
};

static const struct geofw_cmd_option opt_asn_db = {
	O_DB, "db", 0, "FILE", false,
	"the ASN database (default: ASNDatabase of\n/etc/geofw/geofw.conf)",
};

static const struct geofw_cmd_option opt_lookup_asn_db = {
	O_ASN_DB, "asn-db", 0, "FILE", false,
	"the ASN database that names the address's AS\n(default: ASNDatabase of "
	"/etc/geofw/geofw.conf)",
};
static const struct geofw_cmd_option opt_action_asn = {
	O_ACTION, "action", 0, "ACTION", false,
	"drop (default), reject, http403 or log, as for\nadd-block",
};
static const struct geofw_cmd_option opt_source_del_asn = {
	O_SOURCE, "source", 0, "SOURCE", false,
	"remove only the rule of SOURCE (default: the AS's\nrules of every source)",
};

static const struct geofw_cmd_option opt_follow = {
	O_FOLLOW, "follow", 0, NULL, false,
	"keep printing samples as they come, until Ctrl-C",
};
static const struct geofw_cmd_option opt_rate = {
	O_RATE, "rate", 0, "N", false,
	"when the drop log is off, sample at most N packets\n"
	"per second and CPU while fwctl reads (default 100)",
};
static const struct geofw_cmd_option opt_once = {
	O_ONCE, "once", 'n', NULL, false,
	"collect for --interval seconds, print once, exit",
};
static const struct geofw_cmd_option opt_interval = {
	O_INTERVAL, "interval", 0, "SEC", false,
	"refresh every SEC seconds (default 2)",
};
static const struct geofw_cmd_option opt_window = {
	O_WINDOW, "window", 0, "SEC", false,
	"rank over the last SEC seconds (default 10)",
};

static const struct geofw_cmd_option opt_source_list = {
	O_SOURCE, "source", 0, "SOURCE", false,
	"only the rules of SOURCE: cli, import:NAME, ...",
};
static const struct geofw_cmd_option opt_source_add = {
	O_SOURCE, "source", 0, "SOURCE", false,
	"record the rules as SOURCE (default cli), e.g.\n"
	"fail2ban: 'del-block --source' and 'list\n--source' then act on them alone",
};
static const struct geofw_cmd_option opt_source_del = {
	O_SOURCE, "source", 0, "SOURCE", false,
	"remove only the rule of SOURCE (default: the\nprefix's rules of every source)",
};

static const struct geofw_cmd_option opt_local = {
	O_LOCAL, "local", 0, NULL, false,
	"this host only, even when a fleet is configured",
};
static const struct geofw_cmd_option opt_fleet = {
	O_FLEET, "fleet", 0, NULL, false,
	"every host of the fleet (the NATS bucket); the\n"
	"default when FleetServers is set and FleetScope\nis fleet",
};
static const struct geofw_cmd_option opt_local_import = {
	O_LOCAL, "local", 0, NULL, false,
	"this host only (the default for imports)",
};
static const struct geofw_cmd_option opt_fleet_import = {
	O_FLEET, "fleet", 0, NULL, false,
	"every prefix becomes a fleet block rule (the\nbucket holds no lists: not with --replace)",
};

static const struct geofw_cmd_option opt_ports = {
	O_PORTS, "ports", 0, "PORTS", false,
	"only traffic to these destination ports: 22/tcp,\n"
	"80,443/tcp, 8000-8100/tcp, 53/udp (fwctl(8))",
};
static const struct geofw_cmd_option opt_ports_del = {
	O_PORTS, "ports", 0, "PORTS", false,
	"the port-scoped rule of exactly this port list",
};
static const struct geofw_cmd_option opt_action_policy = {
	O_ACTION, "action", 0, "ACTION", false,
	"what the sources not listed get: drop (default),\n"
	"reject, http403 or log",
};

/* Every command has these. */
static const struct geofw_cmd_option *const common_opts[] = { &opt_json, &opt_help };

/* Every option of any command, to tell "unknown" from "not for this command". */
static const struct geofw_cmd_option *const all_opts[] = {
	&opt_ttl, &opt_action_block, &opt_comment, &opt_force_block, &opt_replace,
	&opt_watch, &opt_samples, &opt_db, &opt_follow, &opt_rate, &opt_once, &opt_interval,
	&opt_window, &opt_source_list, &opt_local, &opt_fleet, &opt_lookup_asn_db, &opt_ports,
};

/* ---- commands ------------------------------------------------------------ */

static const struct geofw_cmd_desc commands[] = {
	{
		.id = GEOFW_CMD_ADD_BLOCK,
		.name = "add-block",
		.args = "CIDR...",
		.summary = "block addresses or networks",
		.help =
"Block each CIDR: an IPv4 or IPv6 address (a /32 or /128) or a network\n"
"in prefix notation.  A prefix must not have host bits set\n"
"(203.0.113.0/24, not 203.0.113.7/24); ::ffff:a.b.c.d/n is taken as the\n"
"IPv4 prefix a.b.c.d/(n-96).  Blocking a prefix that is already blocked\n"
"replaces its action, expiry and comment.\n"
"\n"
"Rules are recorded with a source, cli unless --source names another:\n"
"a tool that blocks for itself (fail2ban's geofw action) uses its own,\n"
"so that its rules are listed and removed apart from the operator's.\n"
"The sources geofw fills itself (fleet, crowdsec, import:NAME,\n"
"feed:NAME) are refused here.\n"
"\n"
"The batch is all or nothing: when one CIDR is malformed nothing is sent\n"
"and nothing changes.  The allowlist always wins over a block.  geofwd\n"
"commits the rule to /var/lib/geofw/rules.db before it answers, so an\n"
"acknowledged rule survives a restart, a crash or a power loss.",
		.examples =
"fwctl add-block 203.0.113.0/24 --ttl 2h --comment \"ssh scanner\"\n"
"fwctl add-block 198.51.100.7 2001:db8::/32 --action reject\n"
"fwctl add-block 192.0.2.7 --ttl 10m --source fail2ban",
		.kind = GEOFW_CMD_DAEMON,
		.pos_kind = P_CIDR, .min_args = 1, .max_args = -1,
		.opts = { &opt_ttl, &opt_action_block, &opt_comment, &opt_force_block,
			  &opt_source_add, &opt_local, &opt_fleet, &opt_ports },
	},
	{
		.id = GEOFW_CMD_DEL_BLOCK,
		.name = "del-block",
		.args = "CIDR...",
		.summary = "remove block rules",
		.help =
"Remove the block rules of exactly these prefixes: a rule for\n"
"203.0.113.0/24 is not removed by 'del-block 203.0.113.7'.  When several\n"
"sources block a prefix (cli, an imported list), every one of their\n"
"rules goes, unless --source names one.  All or nothing: when one of\n"
"them is not blocked, nothing is removed.",
		.examples = "fwctl del-block 203.0.113.0/24\n"
			    "fwctl del-block 198.51.100.7 --source import:drop.txt",
		.kind = GEOFW_CMD_DAEMON,
		.pos_kind = P_CIDR_DEL, .min_args = 1, .max_args = -1,
		.opts = { &opt_source_del, &opt_local, &opt_fleet, &opt_ports_del },
	},
	{
		.id = GEOFW_CMD_ALLOW,
		.name = "allow",
		.args = "CIDR...",
		.summary = "let addresses or networks through, always",
		.help =
"Add each CIDR to the allowlist.  An allowed source passes before any\n"
"block or country rule is looked at, so the addresses listed here can\n"
"never be locked out: put the management network here first.  Same\n"
"prefix rules as add-block; all or nothing.\n"
"\n"
"With --ports the prefixes pass only to those ports, before the block\n"
"rules but after the allowlist (the order is in fwctl(8)).",
		.examples = "fwctl allow 192.0.2.0/24 --comment \"office VPN\"\n"
			    "fwctl allow 198.51.100.0/24 --ports 22/tcp",
		.kind = GEOFW_CMD_DAEMON,
		.pos_kind = P_CIDR, .min_args = 1, .max_args = -1,
		.opts = { &opt_comment, &opt_force_allow, &opt_ttl, &opt_local, &opt_fleet,
			  &opt_ports },
	},
	{
		.id = GEOFW_CMD_DEL_ALLOW,
		.name = "del-allow",
		.args = "CIDR...",
		.summary = "remove allowlist entries",
		.help =
"Remove exactly these prefixes from the allowlist.  All or nothing:\n"
"when one of them is not listed, nothing is removed.",
		.examples = "fwctl del-allow 192.0.2.0/24\nfwctl del-allow 198.51.100.0/24 --ports 22/tcp",
		.kind = GEOFW_CMD_DAEMON,
		.pos_kind = P_CIDR_DEL, .min_args = 1, .max_args = -1,
		.opts = { &opt_source_del, &opt_local, &opt_fleet, &opt_ports_del },
	},
	{
		.id = GEOFW_CMD_BLOCK_ASN,
		.name = "block-asn",
		.args = "AS...",
		.summary = "block autonomous systems",
		.help =
"Block the traffic of every network the ASN database (ASNDatabase of\n"
"geofw.conf) gives each AS, written AS64500 or 64500.  The AS rule comes\n"
"after the allowlist, allowed ASes and the IP/CIDR blocklist, before the\n"
"country policy.  Blocking an AS that this command blocked already\n"
"replaces its action, expiry and comment.  All or nothing.\n"
"\n"
"The rules join BlockASN/AllowASN of geofw.conf: an allowed AS wins over\n"
"a blocked one, then the strictest action, then the longest expiry.  At\n"
"most 254 ASes can have rules, geofw.conf's included; a change that\n"
"would make more is refused.  The ASN tables are rebuilt and switched\n"
"in one step before geofwd answers (about 0.2 s for 100 large ASes).\n"
"Without ASNDatabase the rules are stored but not enforced, which the\n"
"answer and 'fwctl status' say (exit status 1).\n"
"\n"
"With a fleet (FleetServers) the rule goes to every host through the\n"
"bucket when --fleet is given, or by default with FleetScope = fleet;\n"
"each host applies it as a rule of source fleet once the bucket delivers\n"
"it, and refuses it alone (logged, 'fwctl fleet status') when it would\n"
"give that host more than 254 ASes with rules.",
		.examples =
"fwctl block-asn AS64500 --ttl 1d --comment \"scanner host\"\n"
"fwctl block-asn 64501 64502 --action http403\n"
"fwctl block-asn AS64500 --fleet --ttl 7d --comment \"botnet C2\"",
		.kind = GEOFW_CMD_DAEMON,
		.pos_kind = P_ASN, .min_args = 1, .max_args = -1,
		.opts = { &opt_ttl, &opt_action_asn, &opt_comment, &opt_local, &opt_fleet },
	},
	{
		.id = GEOFW_CMD_UNBLOCK_ASN,
		.name = "unblock-asn",
		.args = "AS...",
		.summary = "remove AS block rules",
		.help =
"Remove the block rules of each AS made at runtime (fwctl, imports of\n"
"other sources), of every source unless --source names one.  BlockASN\n"
"of geofw.conf is not changed: edit the file and reload.  All or\n"
"nothing: when one AS has no such rule, nothing is removed.  With a\n"
"fleet, --fleet removes the bucket's rule on every host, --local this\n"
"host's own; without either (FleetScope = fleet) the bucket's, unless\n"
"only this host has rules of the AS.",
		.examples = "fwctl unblock-asn AS64500\nfwctl unblock-asn 64500 --source crowdsec\n"
			    "fwctl unblock-asn AS64500 --fleet",
		.kind = GEOFW_CMD_DAEMON,
		.pos_kind = P_ASN, .min_args = 1, .max_args = -1,
		.opts = { &opt_source_del_asn, &opt_local, &opt_fleet },
	},
	{
		.id = GEOFW_CMD_ALLOW_ASN,
		.name = "allow-asn",
		.args = "AS...",
		.summary = "let autonomous systems through, before IP blocks",
		.help =
"Let the traffic of every network of each AS through: an allowed AS\n"
"passes after the CIDR allowlist and before the IP/CIDR blocklist, AS\n"
"blocks and the country policy (a search engine's crawlers in a blocked\n"
"country).  An allow wins over any block rule of the same AS.  Allows do\n"
"not expire, as prefix allows.  All or nothing.  --fleet / --local as\n"
"for block-asn.",
		.examples = "fwctl allow-asn AS64503 --comment \"crawler\"",
		.kind = GEOFW_CMD_DAEMON,
		.pos_kind = P_ASN, .min_args = 1, .max_args = -1,
		.opts = { &opt_comment, &opt_local, &opt_fleet },
	},
	{
		.id = GEOFW_CMD_DEL_ALLOW_ASN,
		.name = "del-allow-asn",
		.args = "AS...",
		.summary = "remove AS allow rules",
		.help =
"Remove the allow rules of each AS made at runtime, of every source\n"
"unless --source names one; AllowASN of geofw.conf stays.  All or\n"
"nothing.  --fleet / --local as for unblock-asn.",
		.examples = "fwctl del-allow-asn AS64503",
		.kind = GEOFW_CMD_DAEMON,
		.pos_kind = P_ASN, .min_args = 1, .max_args = -1,
		.opts = { &opt_source_del_asn, &opt_local, &opt_fleet },
	},
	{
		.id = GEOFW_CMD_BLOCK_COUNTRY,
		.name = "block-country",
		.args = "CC...",
		.summary = "block countries",
		.help =
"Block the traffic of each country, named by its ISO 3166-1 alpha-2 code\n"
"in any case (RU, cn), or by one of the special codes GeoIP databases\n"
"use (EU, AP, XK).  In block mode the countries are added to the list of\n"
"blocked countries, with ACTION; in allow mode they are removed from the\n"
"list of allowed countries.\n"
"\n"
"The first change made with fwctl takes over the country policy of\n"
"geofw.conf (mode, countries, action); from then on the runtime policy,\n"
"kept in /var/lib/geofw, replaces the one of the file.\n"
"\n"
"With --ports the countries are blocked on those ports only (in either\n"
"mode, default action drop), a rule of the rule store beside the policy.",
		.examples = "fwctl block-country RU CN\nfwctl block-country KP --action http403\n"
			    "fwctl block-country CN --ports 80,443/tcp",
		.kind = GEOFW_CMD_DAEMON,
		.pos_kind = P_COUNTRY, .min_args = 1, .max_args = -1,
		.opts = { &opt_action_country, &opt_ttl, &opt_comment, &opt_local, &opt_fleet,
			  &opt_ports },
	},
	{
		.id = GEOFW_CMD_UNBLOCK_COUNTRY,
		.name = "unblock-country",
		.args = "CC...",
		.summary = "stop blocking countries",
		.help =
"Let the traffic of each country through again: in block mode the\n"
"countries leave the list of blocked countries, in allow mode they join\n"
"the list of allowed countries.",
		.examples = "fwctl unblock-country CN\nfwctl unblock-country CN --ports 80,443/tcp",
		.kind = GEOFW_CMD_DAEMON,
		.pos_kind = P_COUNTRY, .min_args = 1, .max_args = -1,
		.opts = { &opt_local, &opt_fleet, &opt_ports_del },
	},
	{
		.id = GEOFW_CMD_PORT_POLICY,
		.name = "port-policy",
		.args = "PORTS allow-only CC|CIDR...|PORTS none",
		.summary = "let only some sources reach some ports",
		.help =
"allow-only: traffic to PORTS passes only from the listed countries and\n"
"prefixes; every other source gets ACTION on these ports (drop by\n"
"default).  The policy replaces the country policy for these ports: a\n"
"listed source passes even from a country the policy blocks, but the\n"
"allowlist, block rules and AS rules still come first.  A port in the\n"
"lists of two policies must satisfy both.  'none' removes the policy of\n"
"exactly this port list.  Setting a policy again replaces its list.\n"
"\n"
"Ports: PORT or LO-HI items separated by commas, each group ended by\n"
"/tcp or /udp.  Packets without readable ports (later fragments) are\n"
"judged by the source-only rules; see fwctl(8).",
		.examples = "fwctl port-policy 22/tcp allow-only DE 198.51.100.0/24\n"
			    "fwctl port-policy 8000-8100/tcp,161/udp allow-only 192.0.2.0/24\n"
			    "fwctl port-policy 22/tcp none",
		.kind = GEOFW_CMD_DAEMON,
		.pos_kind = P_PORT_POLICY, .min_args = 2, .max_args = -1,
		.opts = { &opt_action_policy, &opt_ttl, &opt_comment },
	},
	{
		.id = GEOFW_CMD_RL_ADD,
		.name = "ratelimit add",
		.args = "NAME RATE burst N per /LEN [...] then drop|ban DUR",
		.summary = "limit the packets each source may send",
		.help =
"The whole line: NAME RATE burst N per /LEN [/LEN6] [ports PORTS]\n"
"[syn-only] then drop | then ban DURATION.\n"
"\n"
"Limit every source (an IPv4 /LEN, an IPv6 /LEN6, by default\n"
"RateLimitIPv6Prefix: /64) to RATE packets (pps) or bits (bps) per\n"
"second, with bursts of N packets (bytes for bps): 1000pps, 20kpps,\n"
"10Mbps.  Only packets the policy lets through count; the allowlist is\n"
"never limited.  'ports' limits only traffic to those ports, 'syn-only'\n"
"only TCP SYNs (new connections).  Over the limit, packets are dropped;\n"
"with 'then ban DURATION' the source is also blocked for DURATION (a\n"
"block rule of source ratelimit, in 'fwctl list', expiring by itself).\n"
"At most 8 rate limits (geofw.conf's RateLimit lines included).  A limit\n"
"of the same name is replaced.",
		.examples = "fwctl ratelimit add dns 1000pps burst 200 per /32 ports 53/udp then drop\n"
			    "fwctl ratelimit add syn 50pps burst 100 per /32 /64 syn-only then ban 10m",
		.kind = GEOFW_CMD_DAEMON,
		.pos_kind = P_RL_SPEC, .min_args = 1, .max_args = -1,
	},
	{
		.id = GEOFW_CMD_RL_DEL,
		.name = "ratelimit del",
		.args = "NAME",
		.summary = "remove a rate limit set with fwctl",
		.help =
"Remove the rate limit NAME set with 'fwctl ratelimit add'.  Bans it\n"
"made stay until they expire (fwctl del-source ratelimit lifts them).",
		.examples = "fwctl ratelimit del dns",
		.kind = GEOFW_CMD_DAEMON,
		.pos_kind = P_RL_NAME, .min_args = 1, .max_args = 1,
	},
	{
		.id = GEOFW_CMD_RL_LIST,
		.name = "ratelimit list",
		.args = "",
		.summary = "show the rate limits and their counters",
		.help =
"Show every rate limit (from geofw.conf and set with fwctl) with the\n"
"packets it let through, dropped and the bans it asked for, summed over\n"
"the CPUs since the maps were created.",
		.examples = "fwctl ratelimit list\nfwctl -j ratelimit list",
		.kind = GEOFW_CMD_DAEMON,
		.pos_kind = P_NONE,
	},
	{
		.id = GEOFW_CMD_COUNTRY_MODE,
		.name = "country-mode",
		.args = "block|allow",
		.summary = "block listed countries, or allow only listed ones",
		.help =
"block: the traffic of listed countries is blocked, everything else\n"
"passes (the default).  allow: only listed countries pass, the others\n"
"get ACTION.  In both modes an address without a country gets\n"
"UnknownCountryAction of geofw.conf, and the allowlist and the block\n"
"rules come first.\n"
"\n"
"The list of countries is kept across the switch and changes meaning:\n"
"look at it with 'fwctl list countries' first.  Allow mode with an empty\n"
"list blocks every address that has a country.",
		.examples = "fwctl country-mode allow --action http403",
		.kind = GEOFW_CMD_DAEMON,
		.pos_kind = P_MODE, .min_args = 1, .max_args = 1,
		.opts = { &opt_action_mode, &opt_local, &opt_fleet },
	},
	{
		.id = GEOFW_CMD_IMPORT,
		.name = "import",
		.args = "FILE",
		.summary = "block every prefix of a list file",
		.help =
"Block every address and prefix of FILE, or of standard input for -.\n"
"Formats, also mixed in one file: one address or CIDR per line (FireHOL\n"
".netset and .ipset, plain lists), Spamhaus DROP (\"1.10.16.0/20 ;\n"
"SBL256894\") and its JSON lines.  '#' and ';' start comments.  One bad\n"
"line fails the whole import with FILE:LINE: a list is applied entirely\n"
"or not at all.\n"
"\n"
"fwctl opens FILE with your rights and passes the open file to geofwd,\n"
"which parses it, so geofwd need not be able to read your files.  The\n"
"entries of one list share a rule id: 'fwctl stats' counts hits per\n"
"list.  A list is known by its file name; --replace swaps the previous\n"
"import of that name for the new one in one change, which keeps a list\n"
"refreshed by cron in sync.  Without --replace the new entries join the\n"
"list.  A list has one action, expiry and comment: its last import's.",
		.examples =
"fwctl import /var/lib/lists/drop.txt --replace --comment \"Spamhaus DROP\"\n"
"curl -s https://example.org/list.netset | fwctl import - --ttl 1d",
		.kind = GEOFW_CMD_DAEMON,
		.pos_kind = P_FILE, .min_args = 1, .max_args = 1,
		.opts = { &opt_ttl_import, &opt_action_block, &opt_comment, &opt_force_import,
			  &opt_replace, &opt_local_import, &opt_fleet_import },
	},
	{
		.id = GEOFW_CMD_RELOAD,
		.name = "reload",
		.args = "",
		.summary = "reread geofw.conf and the GeoIP database",
		.help =
"Ask geofwd to reread its configuration file and the GeoIP database, as\n"
"SIGHUP does.  A bad configuration or database is refused with the\n"
"reason (exit status 1) and the one in force stays.",
		.examples = "fwctl reload",
		.kind = GEOFW_CMD_DAEMON,
		.pos_kind = P_NONE,
	},
	{
		.id = GEOFW_CMD_LIST,
		.name = "list",
		.args = "[blocks|allows|countries|asns|ports]",
		.summary = "show the rules",
		.help =
"Show the blocked prefixes (action, rule id, expiry, comment), the\n"
"allowed prefixes, the country policy, the AS rules and the port-scoped\n"
"rules, or only one of them.  The AS rules of geofw.conf (BlockASN,\n"
"AllowASN) are listed with source config.\n"
"\n"
"geofwd answers when it runs.  While it is stopped fwctl reads the\n"
"pinned maps instead: they hold prefixes, actions, rule ids and expiry\n"
"times but no comments, which a note on standard error says.",
		.examples = "fwctl list blocks\nfwctl -j list countries\n"
			    "fwctl list --source import:drop.txt",
		.kind = GEOFW_CMD_EITHER,
		.pos_kind = P_LIST, .min_args = 0, .max_args = 1,
		.opts = { &opt_source_list },
	},
	{
		.id = GEOFW_CMD_EXPORT,
		.name = "export",
		.args = "",
		.summary = "write the block rules as an import list",
		.help =
"Write the blocked prefixes to standard output in the format 'fwctl\n"
"import' reads, one per line, with '#' comments naming the source,\n"
"action, expiry and comment of each rule: a backup, or a way to move the\n"
"rules to another host.  The runtime AS rules follow as comments that\n"
"import skips: \"#asn block AS64500 source=cli action=drop ...\".\n"
"--source writes one source's rules only, so that 'fwctl export\n"
"--source import:drop.txt > drop.txt' followed by 'fwctl import\n"
"drop.txt' gives the same list back.  Every source is written otherwise,\n"
"a prefix once per source that blocks it.",
		.examples = "fwctl export > rules.txt\n"
			    "fwctl export --source cli | ssh other-host fwctl import -",
		.kind = GEOFW_CMD_DAEMON,
		.pos_kind = P_NONE,
		.opts = { &opt_source_list },
	},
	{
		.id = GEOFW_CMD_DEL_SOURCE,
		.name = "del-source",
		.args = "SOURCE",
		.summary = "remove every rule of one source",
		.help =
"Remove every rule SOURCE made (cli, import:NAME, ...) in one change:\n"
"the rows and the kernel entries go together, and prefixes that another\n"
"source also blocks stay blocked by it.  The country policy stays as it\n"
"is.  'fwctl list' shows each rule's source.",
		.examples = "fwctl del-source import:drop.txt",
		.kind = GEOFW_CMD_DAEMON,
		.pos_kind = P_SOURCE, .min_args = 1, .max_args = 1,
	},
	{
		.id = GEOFW_CMD_STATUS,
		.name = "status",
		.args = "",
		.summary = "show what is loaded and attached",
		.help =
"geofwd reports the protected interfaces with their XDP modes and\n"
"program ids, the GeoIP database (build date, prefix counts), the\n"
"rule counts and each rule source (CrowdSec, feeds): its rules in force,\n"
"last success, last error; a failing source makes the exit status 1.\n"
"While geofwd is stopped fwctl reports what the pins show\n"
"instead: the maps' ABI version and creation time, the country mode and\n"
"default actions, the geo table generation, the entries of each map and\n"
"\"geofwd: not running\" (pinned programs keep enforcing the rules).",
		.examples = "fwctl status",
		.kind = GEOFW_CMD_EITHER,
		.pos_kind = P_NONE,
	},
	{
		.id = GEOFW_CMD_LOOKUP,
		.name = "lookup",
		.args = "IP [PORT/PROTO]",
		.summary = "explain the verdict for a source address",
		.help =
"Run the data plane's own decision for IP as a packet's source over the\n"
"maps in force and print the action and why: the allowlist or block\n"
"rule that matched, or the country and the policy mode.  An IPv4-mapped\n"
"IPv6 address is judged as IPv4, as the data plane does.  With\n"
"PORT/PROTO (22/tcp, 53/udp) the packet goes to that port and the\n"
"port-scoped rules take part; without it, the source-only rules decide\n"
"(as for a later fragment).  The address's AS and organisation come from\n"
"--asn-db, or ASNDatabase of geofw.conf.  Reads the pinned maps: works\n"
"while geofwd is stopped.",
		.examples = "fwctl lookup 203.0.113.7\nfwctl lookup 2001:db8::1\n"
			    "fwctl lookup 203.0.113.7 22/tcp\n"
			    "fwctl lookup 198.51.100.7 --asn-db /tmp/GeoLite2-ASN.mmdb",
		.kind = GEOFW_CMD_LOCAL,
		.pos_kind = P_ADDR, .min_args = 1, .max_args = 2,
		.opts = { &opt_lookup_asn_db },
	},
	{
		.id = GEOFW_CMD_STATS,
		.name = "stats",
		.args = "",
		.summary = "show the counters",
		.help =
"Sum the per-CPU counters of the data plane: packets and bytes by reason\n"
"and by action taken, packets by country (countries with traffic only),\n"
"the 20 rules with the most hits and the events of the TCP responder.\n"
"Reads the pinned maps: works while geofwd is stopped.\n"
"\n"
"With --watch the counters are shown again every SEC seconds with their\n"
"rates; on a terminal the screen is redrawn in place.  Stop with Ctrl-C.\n"
"With -j each refresh is one JSON document on its own line.",
		.examples = "fwctl stats\nfwctl stats --watch 5",
		.kind = GEOFW_CMD_LOCAL,
		.pos_kind = P_NONE,
		.opts = { &opt_watch },
	},
	{
		.id = GEOFW_CMD_LOG,
		.name = "log",
		.args = "",
		.summary = "show samples of the blocked packets",
		.help =
"Print the drop log: samples of the packets the firewall blocked (and of\n"
"those it let through with the log action), one line each with source,\n"
"destination, protocol, ports, reason, action, country and interface.\n"
"Without --follow, print what is queued now and exit.\n"
"\n"
"The data plane samples only while something reads: at most N packets\n"
"per second and CPU, N being DropLogRate while geofwd's DropLog is on.\n"
"When sampling is off, fwctl turns it on at --rate for as long as it\n"
"runs and off again when it exits (Ctrl-C included).\n"
"\n"
"fwctl reads the pinned ring buffer itself, so this works while geofwd\n"
"is stopped.  The ring has a single reader position: with DropLog on,\n"
"geofwd's log and fwctl share the samples, each seeing part of them.",
		.examples = "fwctl log --follow\nfwctl -j log --follow --rate 10 | jq -r .src",
		.kind = GEOFW_CMD_LOCAL,
		.pos_kind = P_NONE,
		.opts = { &opt_follow, &opt_rate },
	},
	{
		.id = GEOFW_CMD_TOP,
		.name = "top",
		.args = "",
		.summary = "rank the blocked sources, countries and reasons",
		.help =
"Rank what the firewall blocks over a sliding window (the last 10\n"
"seconds by default), refreshed every --interval seconds: the sources\n"
"seen most in the drop-log samples, with their estimated share of the\n"
"blocked packets, and the countries and reasons with the highest rates,\n"
"from the counters.  On a terminal the screen is redrawn in place; stop\n"
"with Ctrl-C.  With --once, collect for --interval seconds, print once\n"
"and exit; with -j, print one JSON document per refresh.\n"
"\n"
"Sampling is handled as by 'fwctl log' (--rate), and the samples are\n"
"shared the same way with geofwd's DropLog and other readers.",
		.examples = "fwctl top\nfwctl top --once --interval 5 -j",
		.kind = GEOFW_CMD_LOCAL,
		.pos_kind = P_NONE,
		.opts = { &opt_once, &opt_interval, &opt_window, &opt_rate },
	},
	{
		.id = GEOFW_CMD_GEO_VERIFY,
		.name = "geo verify",
		.args = "",
		.summary = "check the kernel geo tables against libmaxminddb",
		.help =
"Load the data plane privately (nothing attached, nothing pinned), build\n"
"the geo tables from the databases (several are merged as GeoIPDatabase\n"
"merges them: the first that covers an address decides) and compare the\n"
"country the kernel finds with the answer of libmaxminddb: random\n"
"addresses of each family and the first and last address of every\n"
"prefix.  Prints the agreement and the first mismatches; exit status 1 on\n"
"any mismatch.  Needs root, but leaves the running firewall alone.",
		.examples =
"fwctl geo verify\n"
"fwctl geo verify --db /tmp/GeoLite2-Country.mmdb --samples 1000000\n"
"fwctl geo verify --db /tmp/country-ipv4.mmdb --db /tmp/country-ipv6.mmdb",
		.kind = GEOFW_CMD_LOCAL,
		.pos_kind = P_NONE,
		.opts = { &opt_db, &opt_samples },
	},
	{
		.id = GEOFW_CMD_FLEET_STATUS,
		.name = "fleet status",
		.args = "",
		.summary = "show the fleet link, revision, pending changes",
		.help =
"geofwd reports the fleet's servers (FleetServers), the one it is\n"
"connected to, the bucket, whether this host may write to it, the last\n"
"bucket revision applied here, the seconds since the last update and the\n"
"changes made on this host that the bucket does not have yet (pending:\n"
"they are kept in rules.db and published when NATS answers again).",
		.examples = "fwctl fleet status\nfwctl fleet status -j",
		.kind = GEOFW_CMD_DAEMON,
		.pos_kind = P_NONE,
	},
	{
		.id = GEOFW_CMD_REF,
		.name = "ref",
		.args = "CODE",
		.summary = "decode a 403 page's reference code",
		.help =
"A blocked visitor's 403 page shows a reference code ({{ref}}, and the\n"
"X-Geofw-Ref header with Http403RefHeader = on).  geofwd checks it with\n"
"the key it signed it with (kept in StateDirectory for\n"
"Http403RefRetention) and prints what blocked the visitor: the reason,\n"
"the country, the rule (with its source and comment, when it still\n"
"exists) or AS, and the minute, with the fix.  The code holds no address\n"
"(an IPv6 address does not fit in 12 characters): ask the visitor for the\n"
"address the page shows ({{addr}}) to allow it.  A code that was altered,\n"
"mistyped or made by another host does not verify and is refused (exit\n"
"status 1).  Lower case and O for 0, I or L for 1 are accepted.",
		.examples = "fwctl ref 3F8KQ0ZC1M7T\nfwctl ref -j 3F8KQ0ZC1M7T",
		.kind = GEOFW_CMD_DAEMON,
		.pos_kind = P_REF, .min_args = 1, .max_args = 1,
	},
	{
		.id = GEOFW_CMD_ASN_SHOW,
		.name = "asn show",
		.args = "AS",
		.summary = "show an AS's prefixes and its rule",
		.help =
"Print the prefixes the ASN database gives the AS (AS64500 or 64500),\n"
"how many per family and how many addresses they hold, whether an AS\n"
"rule for it is in force in the kernel (allow, or block with its\n"
"action) and the packets that rule decided.  The database is read with\n"
"libmaxminddb's own walk of the file; geofwd is not asked.",
		.examples = "fwctl asn show AS64500\nfwctl -j asn show 64500 --db /tmp/GeoLite2-ASN.mmdb",
		.kind = GEOFW_CMD_LOCAL,
		.pos_kind = P_ASN, .min_args = 1, .max_args = 1,
		.opts = { &opt_asn_db },
	},
	{
		.id = GEOFW_CMD_ASN_VERIFY,
		.name = "asn verify",
		.args = "",
		.summary = "check the kernel ASN tables against libmaxminddb",
		.help =
"Load the data plane privately (nothing attached, nothing pinned), build\n"
"the ASN tables for the AS rules in force in the running firewall (read\n"
"from the pins) from the database, and compare the AS whose rule the\n"
"kernel applies with libmaxminddb's AS for random addresses of each\n"
"family and the first and last address of every prefix of those ASes.\n"
"Prints the agreement and the first mismatches; exit status 1 on any\n"
"mismatch, or when no AS rule is in force.  Needs root, but leaves the\n"
"running firewall alone.",
		.examples = "fwctl asn verify\nfwctl asn verify --db /tmp/GeoLite2-ASN.mmdb --samples 1000000",
		.kind = GEOFW_CMD_LOCAL,
		.pos_kind = P_NONE,
		.opts = { &opt_asn_db, &opt_samples },
	},
	{
		.id = GEOFW_CMD_HELP,
		.name = "help",
		.args = "[COMMAND]",
		.summary = "show the help of fwctl or of a command",
		.help =
"Without COMMAND, list every command; with one, show its usage,\n"
"options and examples.  'fwctl COMMAND --help' does the same.",
		.examples = "fwctl help add-block\nfwctl help geo verify",
		.kind = GEOFW_CMD_BUILTIN,
		.pos_kind = P_TOPIC, .min_args = 0, .max_args = 2,
	},
	{
		.id = GEOFW_CMD_VERSION,
		.name = "version",
		.args = "",
		.summary = "print the version",
		.help = "Print the version of fwctl and of the interfaces it speaks.",
		.kind = GEOFW_CMD_BUILTIN,
		.pos_kind = P_NONE,
	},
	{
		.id = GEOFW_CMD_FEED_LIST,
		.name = "feed list",
		.args = "",
		.summary = "show the threat feeds and the state of each",
		.help =
"geofwd reports each Feed of geofw.conf: where it comes from, its format,\n"
"interval and action, the entries in force (rules of source feed:NAME),\n"
"the last success, the last error, the next fetch and a set held back by\n"
"FeedMaxDropShare.  A failed fetch keeps the last good set in force.",
		.examples = "fwctl feed list\nfwctl -j feed list",
		.kind = GEOFW_CMD_DAEMON,
		.pos_kind = P_NONE,
	},
	{
		.id = GEOFW_CMD_FEED_REFRESH,
		.name = "feed refresh",
		.args = "NAME",
		.summary = "fetch a feed now",
		.help =
"geofwd fetches the feed now instead of at its next interval (a\n"
"conditional request: an unchanged feed answers 304 and nothing changes)\n"
"and answers once the fetch is done; the answer says what it did, and the\n"
"exit status is 1 when the fetch failed (the last good set stays).",
		.examples = "fwctl feed refresh spamhaus-drop",
		.kind = GEOFW_CMD_DAEMON,
		.pos_kind = P_FEED, .min_args = 1, .max_args = 1,
	},
	{
		.id = GEOFW_CMD_FEED_CONFIRM,
		.name = "feed confirm",
		.args = "NAME",
		.summary = "apply a feed's set held back by FeedMaxDropShare",
		.help =
"A fetched set that would remove more than FeedMaxDropShare of the\n"
"feed's entries in force is held back (fwctl feed list says so, and the\n"
"log).  This applies it now, in one change; otherwise it is applied when\n"
"the next fetch brings the same set.",
		.examples = "fwctl feed confirm firehol-level1",
		.kind = GEOFW_CMD_DAEMON,
		.pos_kind = P_FEED, .min_args = 1, .max_args = 1,
	},
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

/* Groups of commands ("geo verify"), with what the group is about. */
static const struct {
	const char *name;
	const char *summary;
} groups[] = {
	{ "geo", "the GeoIP database and the kernel's geo tables" },
	{ "fleet", "the rules shared with other hosts through NATS" },
	{ "asn", "the ASN database and the kernel's ASN tables" },
	{ "feed", "the threat feeds of geofw.conf (Feed)" },
	{ "ratelimit", "per-source rate limits" },
};

#define N_GROUPS (sizeof(groups) / sizeof(groups[0]))

/* ---- global options -------------------------------------------------------- */

#define SUN_PATH_LEN	sizeof(((struct sockaddr_un *)0)->sun_path)

enum gopt_key { G_JSON = 1, G_SOCKET, G_PIN_DIR, G_TIMEOUT, G_HELP, G_VERSION };

static const struct geofw_cmd_option global_opts[] = {
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

#define N_GLOBAL_OPTS (sizeof(global_opts) / sizeof(global_opts[0]))

/* ---- helpers --------------------------------------------------------------- */




static const char *arg_at(char *const *argv, int i)
{
	return argv[i] ? argv[i] : "";
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Strict decimal: digits only, no sign, no leading zero. */
static int parse_count(const char *s, unsigned long long max, unsigned long long *out)
{
	unsigned long long n = 0;

	if (!*s || (s[0] == '0' && s[1]))
		return -EINVAL;
	for (; *s; s++) {
		if (!is_digit(*s))
			return -EINVAL;
		n = n * 10 + (unsigned long long)(*s - '0');
		if (n > max)
			return -ERANGE;
	}
	*out = n;
	return 0;
}

const char *geofw_cmd_mode_name(int mode)
{
	switch (mode) {
	case GEOFW_MODE_BLOCK_LISTED: return "block";
	case GEOFW_MODE_ALLOW_LISTED: return "allow";
	default: return "?";
	}
}

/* ---- table access ---------------------------------------------------------- */

const struct geofw_cmd_desc *geofw_cmd_table(size_t *n)
{
	if (n)
		*n = N_COMMANDS;
	return commands;
}

const struct geofw_cmd_desc *geofw_cmd_find(const char *name)
{
	size_t i;

	if (!name)
		return NULL;
	for (i = 0; i < N_COMMANDS; i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

const struct geofw_cmd_desc *geofw_cmd_by_id(enum geofw_cmd_id id)
{
	size_t i;

	for (i = 0; i < N_COMMANDS; i++)
		if (commands[i].id == id)
			return &commands[i];
	return NULL;
}

static int find_group(const char *name)
{
	size_t i;

	for (i = 0; i < N_GROUPS; i++)
		if (!strcmp(groups[i].name, name))
			return (int)i;
	return -1;
}

/* The command named by words w1 (and w2 for a group's commands). */
static const struct geofw_cmd_desc *find_words(const char *w1, const char *w2)
{
	char name[64];

	if (!w2)
		return strchr(w1, ' ') ? NULL : geofw_cmd_find(w1);
	if (strchr(w1, ' ') || strchr(w2, ' ') ||
	    (size_t)snprintf(name, sizeof(name), "%s %s", w1, w2) >= sizeof(name))
		return NULL;
	return geofw_cmd_find(name);
}

static const struct geofw_cmd_option *cmd_option(const struct geofw_cmd_desc *d,
						 const char *lname, char sname)
{
	const struct geofw_cmd_option *o;
	size_t i;

	for (i = 0; i < GEOFW_CMD_MAX_OPTS + 2; i++) {
		o = i < 2 ? common_opts[i] : d->opts[i - 2];
		if (!o)
			break;
		if (lname ? !strcmp(o->name, lname) : o->short_name == sname)
			return o;
	}
	return NULL;
}

/* ---- the parser -------------------------------------------------------------- */

/* Sources whose rules geofwd writes and replaces as a set: a rule added
 * by hand under one of them would vanish at the next sync. */
static bool source_reserved(const char *s)
{
	return !strcmp(s, "fleet") || !strcmp(s, "crowdsec") || !strncmp(s, "import:", 7) ||
	       !strncmp(s, "feed:", 5);
}

static int set_text(char **dst, const char *src, char *err, size_t errlen)
{
	*dst = strdup(src);
	return *dst ? 0 : geofw_errf(err, errlen, -ENOMEM, "out of memory");
}

static int parse_block_action(const char *cname, const char *v, int *action,
			      char *err, size_t errlen)
{
	char eb[GEOFW_ECHO_BUFLEN];
	int a = geofw_action_parse(v);

	if (a == GEOFW_ACT_PASS)
		return geofw_errf(err, errlen, -EINVAL,
			    "%s: --action pass: not a blocking action (drop, reject, http403 or "
			    "log); to let addresses through use 'fwctl allow'", cname);
	if (a < 0)
		return geofw_errf(err, errlen, -EINVAL,
			    "%s: --action %s: unknown action (drop, reject, http403 or log)",
			    cname, geofw_echo(v, eb));
	*action = a;
	return 0;
}

/* Apply one option with its value (NULL for a flag or an omitted optional
 * value).  0 or -EINVAL / -ENOMEM with a message. */
static int apply_option(const struct geofw_cmd_desc *d, const struct geofw_cmd_option *o,
			const char *v, struct geofw_cmd *cmd, char *err, size_t errlen)
{
	char msg[GEOFW_CMD_ERRLEN / 2], eb[GEOFW_ECHO_BUFLEN];
	unsigned long long n;
	__u64 secs;
	int r;

	switch (o->key) {
	case O_JSON:
		cmd->json = true;
		return 0;
	case O_TTL:
		if (geofw_duration_parse(v, &secs, msg, sizeof(msg)))
			return geofw_errf(err, errlen, -EINVAL, "%s: --ttl: %s", d->name, msg);
		cmd->ttl = secs;
		return 0;
	case O_ACTION:
		return parse_block_action(d->name, v, &cmd->action, err, errlen);
	case O_COMMENT:
		if (geofw_store_check_text(v, strlen(v), GEOFW_STORE_COMMENT_MAX, "comment",
					   msg, sizeof(msg)))
			return geofw_errf(err, errlen, -EINVAL, "%s: --comment: %s", d->name, msg);
		return set_text(&cmd->comment, v, err, errlen);
	case O_FORCE:
		cmd->force = true;
		return 0;
	case O_REPLACE:
		cmd->replace = true;
		return 0;
	case O_LOCAL:
	case O_FLEET:
		if (cmd->scope && cmd->scope != (o->key == O_LOCAL ? GEOFW_CMD_SCOPE_LOCAL
								     : GEOFW_CMD_SCOPE_FLEET))
			return geofw_errf(err, errlen, -EINVAL, "%s: --local and --fleet "
					  "exclude each other", d->name);
		cmd->scope = o->key == O_LOCAL ? GEOFW_CMD_SCOPE_LOCAL : GEOFW_CMD_SCOPE_FLEET;
		return 0;
	case O_PORTS:
		if (geofw_ports_parse(v, &cmd->ports, msg, sizeof(msg)))
			return geofw_errf(err, errlen, -EINVAL, "%s: --ports: %s", d->name, msg);
		cmd->has_ports = true;
		return 0;
	case O_SOURCE:
		if (!*v || geofw_store_check_text(v, strlen(v), GEOFW_STORE_SOURCE_MAX, "source",
						  msg, sizeof(msg)))
			return geofw_errf(err, errlen, -EINVAL, "%s: --source: %s", d->name,
					  *v ? msg : "empty");
		if (d->id == GEOFW_CMD_ADD_BLOCK && source_reserved(v))
			return geofw_errf(err, errlen, -EINVAL, "%s: --source: %s is filled by "
					  "geofwd itself and replaced as a set", d->name, v);
		return set_text(&cmd->source, v, err, errlen);
	case O_WATCH:
		cmd->watch = true;
		if (!v)
			return 0;
		if (geofw_duration_parse(v, &secs, msg, sizeof(msg)))
			return geofw_errf(err, errlen, -EINVAL, "%s: --watch: %s", d->name, msg);
		if (secs > GEOFW_CMD_INTERVAL_MAX)
			return geofw_errf(err, errlen, -EINVAL,
				    "%s: --watch: %s: at most %d seconds", d->name, geofw_echo(v, eb),
				    GEOFW_CMD_INTERVAL_MAX);
		cmd->interval = (unsigned int)secs;
		return 0;
	case O_SAMPLES:
		r = parse_count(v, GEOFW_CMD_SAMPLES_MAX, &n);
		if (r || !n)
			return geofw_errf(err, errlen, -EINVAL,
				    "%s: --samples: %s: expected a number from 1 to %d",
				    d->name, geofw_echo(v, eb), GEOFW_CMD_SAMPLES_MAX);
		cmd->samples = (size_t)n;
		return 0;
	case O_FOLLOW:
		cmd->follow = true;
		return 0;
	case O_ONCE:
		cmd->once = true;
		return 0;
	case O_RATE:
		r = parse_count(v, GEOFW_CMD_RATE_MAX, &n);
		if (r || !n)
			return geofw_errf(err, errlen, -EINVAL,
				    "%s: --rate: %s: expected a number from 1 to %d",
				    d->name, geofw_echo(v, eb), GEOFW_CMD_RATE_MAX);
		cmd->rate = (__u32)n;
		return 0;
	case O_INTERVAL:
	case O_WINDOW:
		if (geofw_duration_parse(v, &secs, msg, sizeof(msg)))
			return geofw_errf(err, errlen, -EINVAL, "%s: --%s: %s", d->name, o->name, msg);
		if (secs > (o->key == O_INTERVAL ? GEOFW_CMD_INTERVAL_MAX : GEOFW_CMD_WINDOW_MAX))
			return geofw_errf(err, errlen, -EINVAL, "%s: --%s: %s: at most %d seconds",
				    d->name, o->name, geofw_echo(v, eb),
				    o->key == O_INTERVAL ? GEOFW_CMD_INTERVAL_MAX :
							   GEOFW_CMD_WINDOW_MAX);
		if (o->key == O_INTERVAL)
			cmd->interval = (unsigned int)secs;
		else
			cmd->window = (unsigned int)secs;
		return 0;
	case O_DB:
		if (!*v)
			return geofw_errf(err, errlen, -EINVAL, "%s: --db: empty file name", d->name);
		if (strlen(v) >= PATH_MAX)
			return geofw_errf(err, errlen, -EINVAL, "%s: --db: file name too long", d->name);
		if (cmd->n_db == GEOFW_CMD_MAX_DB)
			return geofw_errf(err, errlen, -EINVAL, "%s: --db: more than %d databases",
					  d->name, GEOFW_CMD_MAX_DB);
		if (cmd->n_db && (d->id == GEOFW_CMD_ASN_SHOW || d->id == GEOFW_CMD_ASN_VERIFY))
			return geofw_errf(err, errlen, -EINVAL, "%s: --db: one ASN database",
					  d->name);
		return set_text(&cmd->db[cmd->n_db++], v, err, errlen);
	case O_ASN_DB:
		if (!*v || strlen(v) >= PATH_MAX)
			return geofw_errf(err, errlen, -EINVAL, "%s: --asn-db: %s", d->name,
					  *v ? "file name too long" : "empty file name");
		return set_text(&cmd->asn_db, v, err, errlen);
	}
	return geofw_errf(err, errlen, -EINVAL, "%s: internal error: option %d", d->name, o->key);
}

/* Why an option is not accepted by d: it belongs to fwctl, to other
 * commands, or to nobody. */
static int bad_option(const struct geofw_cmd_desc *d, const char *word, const char *lname,
		      char sname, char *err, size_t errlen)
{
	char eb[GEOFW_ECHO_BUFLEN];
	size_t i;

	for (i = 0; i < N_GLOBAL_OPTS; i++) {
		const struct geofw_cmd_option *g = &global_opts[i];

		if (g->key == G_JSON || g->key == G_HELP)
			continue;	/* every command has them */
		if (lname ? !strcmp(g->name, lname) : sname && g->short_name == sname)
			return geofw_errf(err, errlen, -EINVAL,
				    "%s: '%s' is an option of fwctl: put it before the command",
				    d->name, geofw_echo(word, eb));
	}
	if (lname)
		for (i = 0; i < sizeof(all_opts) / sizeof(all_opts[0]); i++)
			if (!strcmp(all_opts[i]->name, lname))
				return geofw_errf(err, errlen, -EINVAL,
					    "%s: option '--%s' does not apply to this command",
					    d->name, lname);
	return geofw_errf(err, errlen, -EINVAL, "%s: unknown option '%s'", d->name, geofw_echo(word, eb));
}

/* port-policy's words: PORTS, then allow-only or none, then the list. */
static int parse_policy_word(const struct geofw_cmd_desc *d, const char *v,
			     struct geofw_cmd *cmd, char *err, size_t errlen)
{
	char msg[GEOFW_CMD_ERRLEN / 2], eb[GEOFW_ECHO_BUFLEN];
	struct geofw_prule t = {};
	size_t i;

	if (!cmd->has_ports) {
		if (geofw_ports_parse(v, &cmd->ports, msg, sizeof(msg)))
			return geofw_errf(err, errlen, -EINVAL, "%s: %s", d->name, msg);
		cmd->has_ports = true;
		cmd->mode = -1;
		return 0;
	}
	if (cmd->mode == -1) {
		if (!strcmp(v, "allow-only"))
			cmd->allow_only = true;
		else if (strcmp(v, "none"))
			return geofw_errf(err, errlen, -EINVAL, "%s: '%s': expected allow-only or "
					  "none", d->name, geofw_echo(v, eb));
		cmd->mode = 0;
		return 0;
	}
	if (!cmd->allow_only)
		return geofw_errf(err, errlen, -EINVAL, "%s: none: unexpected argument '%s'",
				  d->name, geofw_echo(v, eb));
	if (geofw_prule_target_parse(v, &t, msg, sizeof(msg)))
		return geofw_errf(err, errlen, -EINVAL, "%s: '%s': neither a country code nor a "
				  "prefix (%s)", d->name, geofw_echo(v, eb), msg);
	if (t.is_country) {
		for (i = 0; i < cmd->n_countries; i++)
			if (cmd->countries[i] == t.country)
				return 0;
		cmd->countries[cmd->n_countries++] = t.country;
	} else {
		cmd->cidrs[cmd->n_cidrs++] = t.prefix;
	}
	return 0;
}

static int parse_positional(const struct geofw_cmd_desc *d, const char *v,
			    struct geofw_cmd *cmd, char *err, size_t errlen)
{
	char msg[GEOFW_CMD_ERRLEN / 2], eb[GEOFW_ECHO_BUFLEN], cc[3];
	unsigned int flags = 0;
	size_t i;
	int id;

	switch (d->pos_kind) {
	case P_PORT_POLICY:
		return parse_policy_word(d, v, cmd, err, errlen);
	case P_RL_NAME:
		if (strlen(v) >= GEOFW_RL_NAME_MAX || !*v ||
		    strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") !=
		    strlen(v))
			return geofw_errf(err, errlen, -EINVAL, "%s: '%s' is not a rate limit name",
					  d->name, geofw_echo(v, eb));
		return set_text(&cmd->rl_name, v, err, errlen);
	case P_ADDR:
		if (cmd->n_cidrs == 1) {
			int proto;

			if (geofw_port_parse_one(v, &proto, &cmd->lookup_port, msg, sizeof(msg)))
				return geofw_errf(err, errlen, -EINVAL, "%s: unexpected argument "
						  "'%s' (a port is PORT/tcp or PORT/udp): %s",
						  d->name, geofw_echo(v, eb), msg);
			cmd->lookup_proto = proto == GEOFW_PORT_PROTO_TCP ? 6 : 17;
			return 0;
		}
		/* fall through */
	case P_CIDR:
	case P_CIDR_DEL:
		if (d->pos_kind == P_ADDR)
			flags = GEOFW_CIDR_ADDR_ONLY;
		else if (d->pos_kind == P_CIDR_DEL || cmd->force)
			flags = GEOFW_CIDR_ALLOW_ZERO;
		if (geofw_cidr_parse(v, flags, &cmd->cidrs[cmd->n_cidrs], msg, sizeof(msg)))
			return geofw_errf(err, errlen, -EINVAL, "%s: %s", d->name, msg);
		cmd->n_cidrs++;
		return 0;
	case P_COUNTRY:
		if (geofw_cc_parse(v, cc, msg, sizeof(msg)))
			return geofw_errf(err, errlen, -EINVAL, "%s: %s", d->name, msg);
		id = geofw_country_id(cc);
		if (!id)
			return geofw_errf(err, errlen, -EINVAL, "%s: %s: unknown country code "
				    "(ISO 3166-1 alpha-2, or EU, AP, XK)", d->name, cc);
		for (i = 0; i < cmd->n_countries; i++)
			if (cmd->countries[i] == id)
				return 0;
		cmd->countries[cmd->n_countries++] = (__u8)id;
		return 0;
	case P_MODE:
		if (!strcmp(v, "block"))
			cmd->mode = GEOFW_MODE_BLOCK_LISTED;
		else if (!strcmp(v, "allow"))
			cmd->mode = GEOFW_MODE_ALLOW_LISTED;
		else
			return geofw_errf(err, errlen, -EINVAL, "%s: '%s': expected block or allow",
				    d->name, geofw_echo(v, eb));
		return 0;
	case P_FILE:
		if (!*v)
			return geofw_errf(err, errlen, -EINVAL, "%s: empty file name", d->name);
		if (strlen(v) >= PATH_MAX)
			return geofw_errf(err, errlen, -EINVAL, "%s: file name too long", d->name);
		return set_text(&cmd->file, v, err, errlen);
	case P_SOURCE:
		if (!*v || geofw_store_check_text(v, strlen(v), GEOFW_STORE_SOURCE_MAX, "source",
						  eb, sizeof(eb)))
			return geofw_errf(err, errlen, -EINVAL, "%s: source: %s", d->name,
					  *v ? eb : "empty");
		return set_text(&cmd->source, v, err, errlen);
	case P_FEED:
		for (i = 0; v[i]; i++)
			if (!isalnum((unsigned char)v[i]) && !strchr("._-", v[i]))
				break;
		if (!i || v[i] || i > 47)
			return geofw_errf(err, errlen, -EINVAL, "%s: '%s' is not a feed name "
					  "(letters, digits, ., _ and -, as in a Feed line)", d->name,
					  geofw_echo(v, eb));
		return set_text(&cmd->source, v, err, errlen);
	case P_ASN: {
		__u32 asn;

		if (geofw_asn_parse(v, &asn))
			return geofw_errf(err, errlen, -EINVAL, "%s: '%s' is not an AS number "
					  "(AS64500 or 64500, 1-4294967295)", d->name, geofw_echo(v, eb));
		for (i = 0; i < cmd->n_asns; i++)
			if (cmd->asns[i] == asn)
				return 0;
		cmd->asns[cmd->n_asns++] = asn;
		return 0;
	}
	case P_REF:
		/* The daemon decodes it; here only what can be one. */
		if (!*v || strlen(v) > 32 || strspn(v, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
						   "abcdefghijklmnopqrstuvwxyz-") != strlen(v))
			return geofw_errf(err, errlen, -EINVAL, "%s: '%s' is not a reference code "
					  "(12 letters and digits, as the 403 page shows it)",
					  d->name, geofw_echo(v, eb));
		return set_text(&cmd->ref, v, err, errlen);
	case P_LIST:
		if (!strcmp(v, "blocks"))
			cmd->list = GEOFW_LIST_BLOCKS;
		else if (!strcmp(v, "allows"))
			cmd->list = GEOFW_LIST_ALLOWS;
		else if (!strcmp(v, "countries"))
			cmd->list = GEOFW_LIST_COUNTRIES;
		else if (!strcmp(v, "asns"))
			cmd->list = GEOFW_LIST_ASNS;
		else if (!strcmp(v, "ports"))
			cmd->list = GEOFW_LIST_PORTS;
		else
			return geofw_errf(err, errlen, -EINVAL,
				    "%s: '%s': expected blocks, allows, countries, asns or ports",
				    d->name, geofw_echo(v, eb));
		return 0;
	}
	return geofw_errf(err, errlen, -EINVAL, "%s: internal error: positional %d", d->name,
		    d->pos_kind);
}

static const char *missing_what(const struct geofw_cmd_desc *d)
{
	switch (d->pos_kind) {
	case P_CIDR:
	case P_CIDR_DEL:
		return "CIDR (an address or a prefix)";
	case P_ADDR:
		return "IP address";
	case P_COUNTRY:
		return "country code";
	case P_MODE:
		return "mode (block or allow)";
	case P_FILE:
		return "FILE (- for standard input)";
	case P_SOURCE:
		return "SOURCE (cli, import:NAME, ...)";
	case P_ASN:
		return "AS number (AS64500 or 64500)";
	case P_FEED:
		return "feed NAME";
	case P_REF:
		return "reference code (from a 403 page)";
	case P_PORT_POLICY:
		return "PORTS and allow-only LIST or none";
	case P_RL_SPEC:
		return "rate limit (NAME RATE burst N per /LEN ... then drop|ban DURATION)";
	case P_RL_NAME:
		return "rate limit name";
	default:
		return "argument";
	}
}

/* help [WORDS]: the topic must exist, so that a typo is not answered with
 * the general help. */
static int parse_topic(int n, const char *const *w, struct geofw_cmd *cmd,
		       char *err, size_t errlen)
{
	char eb[GEOFW_ECHO_BUFLEN], eb2[GEOFW_ECHO_BUFLEN];
	const struct geofw_cmd_desc *t;

	if (n == 0)
		return 0;
	if (n == 1 && find_group(w[0]) >= 0)
		return set_text(&cmd->topic, w[0], err, errlen);
	t = find_words(w[0], n > 1 ? w[1] : NULL);
	if (!t) {
		if (n > 1)
			return geofw_errf(err, errlen, -EINVAL, "help: unknown command '%s %s'",
				    geofw_echo(w[0], eb), geofw_echo(w[1], eb2));
		return geofw_errf(err, errlen, -EINVAL, "help: unknown command '%s'", geofw_echo(w[0], eb));
	}
	return set_text(&cmd->topic, t->name, err, errlen);
}

/* ratelimit add: the words make one line, checked and kept canonical. */
static int parse_rl_spec(const struct geofw_cmd_desc *d, int n, const char *const *w,
			 struct geofw_cmd *cmd, char *err, size_t errlen)
{
	char line[GEOFW_RL_STRLEN], msg[GEOFW_ERRLEN];
	struct geofw_ratelimit r;
	size_t off = 0;
	int i;

	line[0] = '\0';
	for (i = 0; i < n; i++) {
		int k = snprintf(line + off, sizeof(line) - off, "%s%s", i ? " " : "", w[i]);

		if (k < 0 || (size_t)k >= sizeof(line) - off)
			return geofw_errf(err, errlen, -EINVAL, "%s: too long", d->name);
		off += (size_t)k;
	}
	if (geofw_ratelimit_parse(line, &r, msg, sizeof(msg)))
		return geofw_errf(err, errlen, -EINVAL, "%s: %s", d->name, msg);
	if (geofw_ratelimit_format(&r, line, sizeof(line)))
		return geofw_errf(err, errlen, -EINVAL, "%s: too long", d->name);
	if (set_text(&cmd->rl_name, r.name, err, errlen))
		return -ENOMEM;
	return set_text(&cmd->rl_spec, line, err, errlen);
}

/* What the words allow alone but not together. */
static int check_combination(const struct geofw_cmd_desc *d, struct geofw_cmd *cmd,
			     char *err, size_t errlen)
{
	if (d->id == GEOFW_CMD_PORT_POLICY) {
		if (cmd->allow_only && !cmd->n_cidrs && !cmd->n_countries)
			return geofw_errf(err, errlen, -EINVAL, "%s: allow-only: missing the "
					  "countries and prefixes allowed", d->name);
		if (!cmd->allow_only && (cmd->ttl || cmd->comment ||
					 cmd->action != GEOFW_CMD_ACTION_DEFAULT))
			return geofw_errf(err, errlen, -EINVAL, "%s: none takes no --action, "
					  "--ttl or --comment", d->name);
		cmd->mode = 0;
		if (cmd->action == GEOFW_CMD_ACTION_DEFAULT)
			cmd->action = GEOFW_ACT_DROP;
	}
	if (cmd->has_ports && cmd->scope == GEOFW_CMD_SCOPE_FLEET)
		return geofw_errf(err, errlen, -EINVAL, "%s: --ports: port-scoped rules are "
				  "kept on this host only, not in the fleet", d->name);
	if (cmd->has_ports && d->id != GEOFW_CMD_PORT_POLICY)
		cmd->scope = GEOFW_CMD_SCOPE_LOCAL;
	if (!cmd->has_ports && cmd->ttl &&
	    (d->id == GEOFW_CMD_ALLOW || d->id == GEOFW_CMD_BLOCK_COUNTRY))
		return geofw_errf(err, errlen, -EINVAL, "%s: option '--ttl' does not apply to "
				  "this command without --ports", d->name);
	if (!cmd->has_ports && cmd->comment && d->id == GEOFW_CMD_BLOCK_COUNTRY)
		return geofw_errf(err, errlen, -EINVAL, "%s: option '--comment' does not apply "
				  "to this command without --ports", d->name);
	return 0;
}

static void cmd_init(struct geofw_cmd *cmd)
{
	memset(cmd, 0, sizeof(*cmd));
	cmd->action = GEOFW_CMD_ACTION_DEFAULT;
	cmd->interval = 1;
	cmd->samples = GEOFW_CMD_SAMPLES_DEFAULT;
}

static void cmd_defaults(struct geofw_cmd *cmd)
{
	/* Blocks need an action; country policy falls back to geofw.conf's. */
	if (cmd->id == GEOFW_CMD_ADD_BLOCK || cmd->id == GEOFW_CMD_IMPORT ||
	    cmd->id == GEOFW_CMD_BLOCK_ASN)
		cmd->action = GEOFW_ACT_DROP;
	if (cmd->id == GEOFW_CMD_LOG || cmd->id == GEOFW_CMD_TOP)
		cmd->rate = GEOFW_CMD_RATE_DEFAULT;
	if (cmd->id == GEOFW_CMD_TOP) {
		cmd->interval = GEOFW_CMD_TOP_INTERVAL;
		cmd->window = GEOFW_CMD_TOP_WINDOW;
	}
}

static int to_help(struct geofw_cmd *cmd, const char *topic, char *err, size_t errlen)
{
	bool json = cmd->json;

	/* Whatever the line held besides --help is dropped, but -j. */
	geofw_cmd_free(cmd);
	cmd->json = json;
	cmd->id = GEOFW_CMD_HELP;
	cmd->desc = geofw_cmd_by_id(GEOFW_CMD_HELP);
	return topic ? set_text(&cmd->topic, topic, err, errlen) : 0;
}

int geofw_cmd_parse(int argc, char *const *argv, struct geofw_cmd *cmd,
		    char *err, size_t errlen)
{
	const struct geofw_cmd_desc *d;
	bool seen[O_MAX] = { false }, help = false, opts_done = false;
	char eb[GEOFW_ECHO_BUFLEN], first_err[GEOFW_CMD_ERRLEN];
	const char **pos = NULL;
	const char *w0, *w1;
	int i, start, npos = 0, ret = 0;

	cmd_init(cmd);
	if (err && errlen)
		err[0] = '\0';
	first_err[0] = '\0';
	if (argc < 1 || !argv || !argv[0] || !argv[0][0])
		return geofw_errf(err, errlen, -EINVAL, "missing command (try 'fwctl help')");

	/* The command word(s). */
	w0 = argv[0];
	w1 = argc > 1 ? arg_at(argv, 1) : NULL;
	if (!strcmp(w0, "--help") || !strcmp(w0, "-h"))
		return to_help(cmd, NULL, err, errlen);
	if (find_group(w0) >= 0) {
		if (!w1)
			return geofw_errf(err, errlen, -EINVAL,
				    "%s: missing command (try 'fwctl %s help')", w0, w0);
		if (!strcmp(w1, "help") || !strcmp(w1, "--help") || !strcmp(w1, "-h")) {
			/* "geo help verify" is the help of "geo verify". */
			if (argc > 2) {
				const char *tw[2] = { w0, arg_at(argv, 2) };

				if (argc > 3)
					return geofw_errf(err, errlen, -EINVAL,
						    "%s help: unexpected argument '%s'", w0,
						    geofw_echo(arg_at(argv, 3), eb));
				ret = to_help(cmd, NULL, err, errlen);
				return ret ? ret : parse_topic(2, tw, cmd, err, errlen);
			}
			return to_help(cmd, w0, err, errlen);
		}
		d = find_words(w0, w1);
		if (!d)
			return geofw_errf(err, errlen, -EINVAL,
				    "%s: unknown command '%s' (try 'fwctl %s help')", w0,
				    geofw_echo(w1, eb), w0);
		start = 2;
	} else {
		d = find_words(w0, NULL);
		if (!d)
			return geofw_errf(err, errlen, -EINVAL,
				    "unknown command '%s' (try 'fwctl help')", geofw_echo(w0, eb));
		start = 1;
	}
	cmd->id = d->id;
	cmd->desc = d;
	cmd_defaults(cmd);

	/* Room for every positional, whatever they turn out to be. */
	if (argc > start) {
		pos = calloc((size_t)(argc - start), sizeof(*pos));
		if (!pos)
			return geofw_errf(err, errlen, -ENOMEM, "out of memory");
	}

	/*
	 * One pass over the words.  Option values are checked as they come;
	 * positionals wait until --force is known (it may follow them).
	 * After an error the scan goes on looking for --help only, which wins
	 * over any error: asking for help must always work.
	 */
	for (i = start; i < argc; i++) {
		const struct geofw_cmd_option *o;
		const char *a = arg_at(argv, i), *val = NULL, *eq;
		char lname[32];
		int r;

		if (opts_done || a[0] != '-' || !a[1]) {
			pos[npos++] = a;
			continue;
		}
		if (!strcmp(a, "--")) {
			opts_done = true;
			continue;
		}
		if (a[1] == '-') {
			size_t len;

			eq = strchr(a + 2, '=');
			len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
			if (len >= sizeof(lname))
				len = sizeof(lname) - 1;	/* matches nothing */
			memcpy(lname, a + 2, len);
			lname[len] = '\0';
			o = cmd_option(d, lname, 0);
			if (!o && !first_err[0])
				bad_option(d, a, lname, 0, first_err, sizeof(first_err));
			if (eq)
				val = eq + 1;
		} else {
			o = a[2] ? NULL : cmd_option(d, NULL, a[1]);
			if (!o && !first_err[0])
				bad_option(d, a, NULL, a[2] ? 0 : a[1], first_err,
					   sizeof(first_err));
		}
		if (!o)
			continue;
		if (o->key == O_HELP) {
			help = true;
			continue;
		}
		if (val && !o->arg) {
			if (!first_err[0])
				geofw_errf(first_err, sizeof(first_err), -EINVAL,
				     "%s: option '--%s' takes no value", d->name, o->name);
			continue;
		}
		if (o->arg && !val) {
			if (o->arg_optional) {
				if (i + 1 < argc && is_digit(arg_at(argv, i + 1)[0]))
					val = arg_at(argv, ++i);
			} else if (i + 1 < argc) {
				val = arg_at(argv, ++i);
			} else {
				if (!first_err[0])
					geofw_errf(first_err, sizeof(first_err), -EINVAL,
					     "%s: option '--%s' needs a value (%s)", d->name,
					     o->name, o->arg);
				continue;
			}
		}
		if (first_err[0])
			continue;
		/* --db names one database of several each time. */
		if (seen[o->key] && o->key != O_DB) {
			geofw_errf(first_err, sizeof(first_err), -EINVAL,
			     "%s: option '--%s' given twice", d->name, o->name);
			continue;
		}
		seen[o->key] = true;
		r = apply_option(d, o, val, cmd, first_err, sizeof(first_err));
		if (r == -ENOMEM) {
			ret = geofw_errf(err, errlen, r, "out of memory");
			goto out;
		}
	}

	if (help) {
		ret = to_help(cmd, d->id == GEOFW_CMD_HELP ? NULL : d->name, err, errlen);
		if (!ret && d->id == GEOFW_CMD_HELP)
			ret = cmd->topic ? 0 : to_help(cmd, "help", err, errlen);
		goto out;
	}
	if (first_err[0]) {
		ret = geofw_errf(err, errlen, -EINVAL, "%s", first_err);
		goto out;
	}
	if (d->pos_kind == P_TOPIC) {
		if (npos > d->max_args) {
			ret = geofw_errf(err, errlen, -EINVAL, "help: unexpected argument '%s'",
				   geofw_echo(pos[d->max_args], eb));
			goto out;
		}
		ret = parse_topic(npos, pos, cmd, err, errlen);
		goto out;
	}
	if (npos < d->min_args) {
		ret = geofw_errf(err, errlen, -EINVAL, "%s: missing %s (usage: see 'fwctl %s --help')",
			   d->name, missing_what(d), d->name);
		goto out;
	}
	if (d->max_args >= 0 && npos > d->max_args) {
		ret = geofw_errf(err, errlen, -EINVAL, "%s: unexpected argument '%s'", d->name,
			   geofw_echo(pos[d->max_args], eb));
		goto out;
	}
	if (npos && (d->pos_kind == P_CIDR || d->pos_kind == P_CIDR_DEL ||
		     d->pos_kind == P_ADDR || d->pos_kind == P_PORT_POLICY)) {
		cmd->cidrs = calloc((size_t)npos, sizeof(*cmd->cidrs));
		if (!cmd->cidrs) {
			ret = geofw_errf(err, errlen, -ENOMEM, "out of memory");
			goto out;
		}
	}
	if (npos && (d->pos_kind == P_COUNTRY || d->pos_kind == P_PORT_POLICY)) {
		cmd->countries = calloc((size_t)npos, sizeof(*cmd->countries));
		if (!cmd->countries) {
			ret = geofw_errf(err, errlen, -ENOMEM, "out of memory");
			goto out;
		}
	}
	if (npos && d->pos_kind == P_ASN) {
		cmd->asns = calloc((size_t)npos, sizeof(*cmd->asns));
		if (!cmd->asns) {
			ret = geofw_errf(err, errlen, -ENOMEM, "out of memory");
			goto out;
		}
	}
	if (d->pos_kind == P_RL_SPEC) {
		ret = parse_rl_spec(d, npos, pos, cmd, err, errlen);
		goto out;
	}
	for (i = 0; i < npos; i++) {
		ret = parse_positional(d, pos[i], cmd, err, errlen);
		if (ret)
			goto out;
	}
	ret = check_combination(d, cmd, err, errlen);
out:
	free(pos);
	if (ret) {
		/* Nothing half-parsed survives a refusal. */
		geofw_cmd_free(cmd);
	}
	return ret;
}

void geofw_cmd_free(struct geofw_cmd *cmd)
{
	if (!cmd)
		return;
	free(cmd->cidrs);
	free(cmd->countries);
	free(cmd->asns);
	free(cmd->comment);
	free(cmd->file);
	for (int i = 0; i < cmd->n_db; i++)
		free(cmd->db[i]);
	free(cmd->topic);
	free(cmd->source);
	free(cmd->asn_db);
	free(cmd->ref);
	free(cmd->rl_spec);
	free(cmd->rl_name);
	cmd_init(cmd);
}

/* ---- global options ------------------------------------------------------------ */

int geofw_cmd_parse_global(int argc, char *const *argv, struct geofw_cmd_global *g,
			   char *err, size_t errlen)
{
	char eb[GEOFW_ECHO_BUFLEN], msg[GEOFW_CMD_ERRLEN / 2];
	int i;

	memset(g, 0, sizeof(*g));
	g->socket = GEOFW_CTL_PATH;
	g->pin_dir = GEOFW_PIN_DIR;
	g->timeout_ms = GEOFW_CTL_TIMEOUT_MS;
	if (err && errlen)
		err[0] = '\0';
	if (argc < 0 || (argc && !argv))
		return geofw_errf(err, errlen, -EINVAL, "bad arguments");

	for (i = 0; i < argc; i++) {
		const struct geofw_cmd_option *o = NULL;
		const char *a = arg_at(argv, i), *val = NULL, *eq = NULL;
		size_t k, len = 0;
		__u64 secs;

		if (a[0] != '-' || !a[1])
			return i;
		if (!strcmp(a, "--"))
			return i + 1;
		if (a[1] == '-') {
			eq = strchr(a + 2, '=');
			len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
		}
		for (k = 0; k < N_GLOBAL_OPTS; k++) {
			const struct geofw_cmd_option *c = &global_opts[k];

			if (a[1] == '-' ? strlen(c->name) == len && !strncmp(c->name, a + 2, len) :
					  c->short_name && c->short_name == a[1] && !a[2]) {
				o = c;
				break;
			}
		}
		if (!o)
			return geofw_errf(err, errlen, -EINVAL,
				    "unknown option '%s' (try 'fwctl --help')", geofw_echo(a, eb));
		if (eq && !o->arg)
			return geofw_errf(err, errlen, -EINVAL, "option '--%s' takes no value", o->name);
		if (o->arg) {
			if (eq)
				val = eq + 1;
			else if (i + 1 < argc)
				val = arg_at(argv, ++i);
			else
				return geofw_errf(err, errlen, -EINVAL,
					    "option '--%s' needs a value (%s)", o->name, o->arg);
		}
		switch (o->key) {
		case G_JSON:
			g->json = true;
			break;
		case G_HELP:
			g->help = true;
			break;
		case G_VERSION:
			g->version = true;
			break;
		case G_SOCKET:
			if (!*val || strlen(val) >= SUN_PATH_LEN)
				return geofw_errf(err, errlen, -EINVAL,
					    "--socket: '%s': a socket path is 1 to %d bytes",
					    geofw_echo(val, eb), (int)SUN_PATH_LEN - 1);
			g->socket = val;
			break;
		case G_PIN_DIR:
			if (!*val || strlen(val) >= PATH_MAX - 32)
				return geofw_errf(err, errlen, -EINVAL, "--pin-dir: '%s': bad directory",
					    geofw_echo(val, eb));
			g->pin_dir = val;
			break;
		case G_TIMEOUT:
			if (geofw_duration_parse(val, &secs, msg, sizeof(msg)))
				return geofw_errf(err, errlen, -EINVAL, "--timeout: %s", msg);
			if (secs > GEOFW_CMD_TIMEOUT_MAX)
				return geofw_errf(err, errlen, -EINVAL,
					    "--timeout: %s: at most %d seconds", geofw_echo(val, eb),
					    GEOFW_CMD_TIMEOUT_MAX);
			g->timeout_ms = (int)secs * 1000;
			break;
		}
	}
	return argc;
}

/* ---- help ------------------------------------------------------------------------ */

#define HELP_COL	26	/* where option and command descriptions start */
#define HELP_WIDTH	79

/* "  -j, --json" / "      --ttl DURATION" */
static void put_option(FILE *f, const struct geofw_cmd_option *o)
{
	const char *h = o->help, *nl;
	int n;

	if (o->short_name)
		n = fprintf(f, "  -%c, --%s", o->short_name, o->name);
	else
		n = fprintf(f, "      --%s", o->name);
	if (o->arg)
		n += fprintf(f, o->arg_optional ? " [%s]" : " %s", o->arg);
	if (n >= HELP_COL - 1) {
		fputc('\n', f);
		n = 0;
	}
	for (;;) {
		nl = strchr(h, '\n');
		fprintf(f, "%*s%.*s\n", HELP_COL - n, "", nl ? (int)(nl - h) : (int)strlen(h), h);
		if (!nl)
			break;
		h = nl + 1;
		n = 0;
	}
}

/* "fwctl add-block CIDR... [--ttl DURATION] ...", starting at column col;
 * with wrap, continuation lines line up after the command name. */
static void put_synopsis(FILE *f, const struct geofw_cmd_desc *d, int col, bool wrap)
{
	int cont = col + 6 + (int)strlen(d->name) + 1, len, i;
	char word[96];

	col += fprintf(f, "fwctl %s", d->name);
	if (d->args[0])
		col += fprintf(f, " %s", d->args);
	for (i = 0; i < GEOFW_CMD_MAX_OPTS && d->opts[i]; i++) {
		const struct geofw_cmd_option *o = d->opts[i];

		if (!o->arg)
			len = snprintf(word, sizeof(word), "[--%s]", o->name);
		else if (o->arg_optional)
			len = snprintf(word, sizeof(word), "[--%s [%s]]", o->name, o->arg);
		else
			len = snprintf(word, sizeof(word), "[--%s %s]%s", o->name, o->arg,
				       o->key == O_DB ? "..." : "");
		if (wrap && col + 1 + len > HELP_WIDTH) {
			fprintf(f, "\n%*s%s", cont, "", word);
			col = cont + len;
		} else {
			col += fprintf(f, " %s", word);
		}
	}
}

int geofw_cmd_synopsis(const struct geofw_cmd_desc *d, char *buf, size_t len)
{
	char *text = NULL;
	size_t n = 0;
	FILE *f;
	int ret = 0;

	f = open_memstream(&text, &n);
	if (!f)
		return -ENOMEM;
	put_synopsis(f, d, 0, false);
	if (fclose(f))
		ret = -ENOMEM;
	else if (n >= len)
		ret = -ENOSPC;
	else
		memcpy(buf, text, n + 1);
	free(text);
	return ret;
}

static void put_indented(FILE *f, const char *text, int indent)
{
	const char *nl;

	while (*text) {
		nl = strchr(text, '\n');
		if (nl == text)
			fputc('\n', f);
		else
			fprintf(f, "%*s%.*s\n", indent, "",
				nl ? (int)(nl - text) : (int)strlen(text), text);
		if (!nl)
			break;
		text = nl + 1;
	}
}

static const char *exit_status_text =
"  0  success\n"
"  1  the operation failed or was refused: geofwd is not running, it\n"
"     rejected the change, permission denied, maps unreadable, mismatches\n"
"     found by geo verify\n"
"  2  usage error: unknown command or option, malformed argument (CIDR,\n"
"     country code, duration, action); nothing was changed\n";

static const char *kind_text(enum geofw_cmd_kind kind)
{
	switch (kind) {
	case GEOFW_CMD_DAEMON:
		return "Executed by geofwd: fwctl sends it over geofwd's socket and exits\n"
		       "with status 1 when geofwd is not running or refuses the change.";
	case GEOFW_CMD_EITHER:
		return "Answered by geofwd when it runs, from the pinned maps otherwise.";
	case GEOFW_CMD_LOCAL:
		return "Reads the pinned maps directly: works while geofwd is stopped (root\n"
		       "or read access to " GEOFW_PIN_DIR " needed).";
	default:
		return NULL;
	}
}

static void put_command_line(FILE *f, const struct geofw_cmd_desc *d, const char *prefix)
{
	int n;

	n = fprintf(f, "  %s", d->name + strlen(prefix));
	if (d->args[0])
		n += fprintf(f, " %s", d->args);
	if (n >= HELP_COL + 4) {
		fputc('\n', f);
		n = 0;
	}
	fprintf(f, "%*s%s\n", HELP_COL + 4 - n, "", d->summary);
}

static void help_command(FILE *f, const struct geofw_cmd_desc *d)
{
	const char *k = kind_text(d->kind);
	int i;

	fputs("Usage: ", f);
	put_synopsis(f, d, 7, true);
	fprintf(f, "\n\n%c%s.\n\n", d->summary[0] & ~0x20, d->summary + 1);
	put_indented(f, d->help, 0);
	fputs("\nOptions:\n", f);
	for (i = 0; i < GEOFW_CMD_MAX_OPTS && d->opts[i]; i++)
		put_option(f, d->opts[i]);
	put_option(f, &opt_json);
	put_option(f, &opt_help);
	if (k)
		fprintf(f, "\n%s\n", k);
	if (d->examples) {
		fputs("\nExamples:\n", f);
		put_indented(f, d->examples, 2);
	}
	if (d->kind != GEOFW_CMD_BUILTIN)
		fprintf(f, "\nExit status:\n%s", exit_status_text);
	fputs("\nSee fwctl(8) for the global options and the JSON output.\n", f);
}

static void help_group(FILE *f, int g)
{
	char prefix[32];
	size_t i;

	snprintf(prefix, sizeof(prefix), "%s ", groups[g].name);
	fprintf(f, "Usage: fwctl %s COMMAND [ARGS]...\n\n", groups[g].name);
	fprintf(f, "Commands about %s:\n", groups[g].summary);
	for (i = 0; i < N_COMMANDS; i++)
		if (!strncmp(commands[i].name, prefix, strlen(prefix)))
			put_command_line(f, &commands[i], prefix);
	fprintf(f, "  help [COMMAND]%*sshow this help, or the help of COMMAND\n",
		HELP_COL + 4 - 16, "");
	fprintf(f, "\nRun 'fwctl %s help COMMAND' or 'fwctl %s COMMAND --help' for the\n"
		"options of a command.\n", groups[g].name, groups[g].name);
}

static void help_all(FILE *f)
{
	static const struct {
		const char *title;
		enum geofw_cmd_kind kinds[2];
	} sections[] = {
		{ "Changing the rules (executed by geofwd)",
		  { GEOFW_CMD_DAEMON, GEOFW_CMD_DAEMON } },
		{ "Reading the firewall (work while geofwd is stopped)",
		  { GEOFW_CMD_EITHER, GEOFW_CMD_LOCAL } },
		{ "Other", { GEOFW_CMD_BUILTIN, GEOFW_CMD_BUILTIN } },
	};
	size_t s, i;

	fputs("Usage: fwctl [OPTIONS] COMMAND [ARGS]...\n"
	      "\n"
	      "Control geofw, the XDP firewall that drops traffic by address, network\n"
	      "and country before the network stack sees it.  Commands that change\n"
	      "the rules are executed by geofwd, which keeps them across restarts;\n"
	      "commands that only read work while geofwd is stopped, from the maps\n"
	      "pinned under " GEOFW_PIN_DIR ".\n", f);
	for (s = 0; s < sizeof(sections) / sizeof(sections[0]); s++) {
		fprintf(f, "\n%s:\n", sections[s].title);
		for (i = 0; i < N_COMMANDS; i++)
			if (commands[i].kind == sections[s].kinds[0] ||
			    commands[i].kind == sections[s].kinds[1])
				put_command_line(f, &commands[i], "");
	}
	fputs("\nOptions:\n", f);
	for (i = 0; i < N_GLOBAL_OPTS; i++)
		put_option(f, &global_opts[i]);
	fprintf(f, "\nExit status:\n%s", exit_status_text);
	fputs("\nExamples:\n"
	      "  fwctl add-block 203.0.113.0/24 --ttl 2h --comment \"ssh scanner\"\n"
	      "  fwctl block-country RU CN --action reject\n"
	      "  fwctl lookup 203.0.113.7\n"
	      "  fwctl -j stats\n"
	      "\n"
	      "Run 'fwctl help COMMAND' or 'fwctl COMMAND --help' for the options of a\n"
	      "command.  See fwctl(8), geofwd(8) and geofw.conf(5).\n", f);
}

int geofw_cmd_help(const char *topic, char **text, char *err, size_t errlen)
{
	const struct geofw_cmd_desc *d = NULL;
	char eb[GEOFW_ECHO_BUFLEN];
	size_t n = 0;
	int g = -1;
	FILE *f;

	*text = NULL;
	if (topic) {
		g = find_group(topic);
		if (g < 0) {
			d = geofw_cmd_find(topic);
			if (!d)
				return geofw_errf(err, errlen, -EINVAL, "help: unknown command '%s'",
					    geofw_echo(topic, eb));
		}
	}
	f = open_memstream(text, &n);
	if (!f)
		return geofw_errf(err, errlen, -ENOMEM, "out of memory");
	if (d)
		help_command(f, d);
	else if (g >= 0)
		help_group(f, g);
	else
		help_all(f);
	if (fclose(f)) {
		free(*text);
		*text = NULL;
		return geofw_errf(err, errlen, -ENOMEM, "out of memory");
	}
	return 0;
}
