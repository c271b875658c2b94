// SPDX-License-Identifier: GPL-2.0-only
/*
 * The command table: everything fwctl accepts is declared once below; the
 * parser (cmdparse.c), the help and the usage lines (cmdhelp.c) are derived
 * from it, so a command or an option cannot exist without being documented.
 * Who runs each command is bound to the same ids: fwctl's handlers in
 * user/fwctl/commands.c, geofwd's in user/geofwd/commands.c.
 */
#include "cmdtable.h"

#include <string.h>

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
"The names of geofw's own sources (fleet, crowdsec, import:NAME,\n"
"feed:NAME, config, ratelimit; in any case, with blanks around them\n"
"too) are refused here.\n"
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
		.opts = { &geofw_opt_ttl, &geofw_opt_action_block, &geofw_opt_comment,
			  &geofw_opt_force_block, &geofw_opt_source_add, &geofw_opt_local,
			  &geofw_opt_fleet, &geofw_opt_ports },
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
		.opts = { &geofw_opt_source_del, &geofw_opt_local, &geofw_opt_fleet,
			  &geofw_opt_ports_del },
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
		.opts = { &geofw_opt_comment, &geofw_opt_force_allow, &geofw_opt_ttl_ports,
			  &geofw_opt_local, &geofw_opt_fleet, &geofw_opt_ports },
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
		.opts = { &geofw_opt_source_del, &geofw_opt_local, &geofw_opt_fleet,
			  &geofw_opt_ports_del },
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
"give that host more than 254 ASes with rules.\n"
"\n"
"With --ports the ASes are blocked on those ports only (default action\n"
"drop): after the AS blocklist, before the port-scoped country blocks\n"
"(the order is in fwctl(8)).  Port-scoped rules stay on this host (not\n"
"with --fleet).  The AS takes one of the 254 AS classes all the same.",
		.examples =
"fwctl block-asn AS64500 --ttl 1d --comment \"scanner host\"\n"
"fwctl block-asn 64501 64502 --action http403\n"
"fwctl block-asn AS64500 --fleet --ttl 7d --comment \"botnet C2\"\n"
"fwctl block-asn AS64500 --ports 22/tcp --ttl 1d",
		.kind = GEOFW_CMD_DAEMON,
		.pos_kind = P_ASN, .min_args = 1, .max_args = -1,
		.opts = { &geofw_opt_ttl, &geofw_opt_action_asn, &geofw_opt_comment,
			  &geofw_opt_local, &geofw_opt_fleet, &geofw_opt_ports },
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
			    "fwctl unblock-asn AS64500 --fleet\nfwctl unblock-asn AS64500 --ports 22/tcp",
		.kind = GEOFW_CMD_DAEMON,
		.pos_kind = P_ASN, .min_args = 1, .max_args = -1,
		.opts = { &geofw_opt_source_del_asn, &geofw_opt_local, &geofw_opt_fleet,
			  &geofw_opt_ports_del },
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
"for block-asn.\n"
"\n"
"With --ports the ASes pass only to those ports, right after the allowed\n"
"ASes and before the IP/CIDR blocklist (the order is in fwctl(8)); this\n"
"host only.",
		.examples = "fwctl allow-asn AS64503 --comment \"crawler\"\n"
			    "fwctl allow-asn AS64503 --ports 443/tcp",
		.kind = GEOFW_CMD_DAEMON,
		.pos_kind = P_ASN, .min_args = 1, .max_args = -1,
		.opts = { &geofw_opt_comment, &geofw_opt_local, &geofw_opt_fleet,
			  &geofw_opt_ports },
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
		.examples = "fwctl del-allow-asn AS64503\nfwctl del-allow-asn AS64503 --ports 443/tcp",
		.kind = GEOFW_CMD_DAEMON,
		.pos_kind = P_ASN, .min_args = 1, .max_args = -1,
		.opts = { &geofw_opt_source_del_asn, &geofw_opt_local, &geofw_opt_fleet,
			  &geofw_opt_ports_del },
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
		.opts = { &geofw_opt_action_country, &geofw_opt_ttl_ports,
			  &geofw_opt_comment_ports, &geofw_opt_local, &geofw_opt_fleet,
			  &geofw_opt_ports },
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
		.opts = { &geofw_opt_local, &geofw_opt_fleet, &geofw_opt_ports_del },
	},
	{
		.id = GEOFW_CMD_PORT_POLICY,
		.name = "port-policy",
		.args = "PORTS allow-only CC|CIDR|AS...|PORTS none",
		.summary = "let only some sources reach some ports",
		.help =
"allow-only: traffic to PORTS passes only from the listed countries,\n"
"prefixes and ASes (AS64500: with the AS prefix); every other source gets\n"
"ACTION on these ports (drop by default).  The policy replaces the country\n"
"policy for these ports: a listed source passes even from a country the\n"
"policy blocks, but the allowlist, block rules and AS rules still come\n"
"first.  A port in the\n"
"lists of two policies must satisfy both.  'none' removes the policy of\n"
"exactly this port list.  Setting a policy again replaces its list.\n"
"\n"
"Ports: PORT or LO-HI items separated by commas, each group ended by\n"
"/tcp or /udp.  Packets without readable ports (later fragments) are\n"
"judged by the source-only rules; see fwctl(8).",
		.examples = "fwctl port-policy 22/tcp allow-only DE 198.51.100.0/24\n"
			    "fwctl port-policy 8000-8100/tcp,161/udp allow-only 192.0.2.0/24\n"
			    "fwctl port-policy 443/tcp allow-only DE AS64500\n"
			    "fwctl port-policy 22/tcp none",
		.kind = GEOFW_CMD_DAEMON,
		.pos_kind = P_PORT_POLICY, .min_args = 2, .max_args = -1,
		.opts = { &geofw_opt_action_policy, &geofw_opt_ttl, &geofw_opt_comment },
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
"UnknownCountry of geofw.conf, and the allowlist and the block\n"
"rules come first.\n"
"\n"
"The list of countries is kept across the switch and changes meaning:\n"
"look at it with 'fwctl list countries' first.  Allow mode with an empty\n"
"list blocks every address that has a country.",
		.examples = "fwctl country-mode allow --action http403",
		.kind = GEOFW_CMD_DAEMON,
		.pos_kind = P_MODE, .min_args = 1, .max_args = 1,
		.opts = { &geofw_opt_action_mode, &geofw_opt_local, &geofw_opt_fleet },
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
"list.  A list has one action, expiry and comment: its last import's.\n"
"\n"
"The comment 'fwctl export' writes after an entry (\"# source=S\n"
"action=A expires=UNIX ...\") is read: without --action and --ttl the\n"
"list takes its action and expiry (when entries differ, the strictest\n"
"action and the longest expiry).  An entry whose expiry has passed is\n"
"skipped and counted; a bad action= or expires= fails the line.",
		.examples =
"fwctl import /var/lib/lists/drop.txt --replace --comment \"Spamhaus DROP\"\n"
"curl -s https://example.org/list.netset | fwctl import - --ttl 1d",
		.kind = GEOFW_CMD_DAEMON,
		.pos_kind = P_FILE, .min_args = 1, .max_args = 1,
		.opts = { &geofw_opt_ttl_import, &geofw_opt_action_import, &geofw_opt_comment,
			  &geofw_opt_force_import, &geofw_opt_replace, &geofw_opt_local_import,
			  &geofw_opt_fleet_import },
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
		.opts = { &geofw_opt_source_list },
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
		.opts = { &geofw_opt_source_list },
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
"\"geofwd: not running\" (pinned programs keep enforcing the rules).  An\n"
"interface deleted and made again meanwhile has no program: \"NOT\n"
"protected\" comes first and the exit status is 1.",
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
		.opts = { &geofw_opt_lookup_asn_db },
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
		.opts = { &geofw_opt_watch },
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
"The country is known only when the country step ran: country=- for a\n"
"packet decided before it (allowlist, block rule), or without a country.\n"
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
		.opts = { &geofw_opt_follow, &geofw_opt_rate },
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
		.opts = { &geofw_opt_once, &geofw_opt_interval, &geofw_opt_window,
			  &geofw_opt_rate },
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
		.opts = { &geofw_opt_db, &geofw_opt_samples },
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
		.opts = { &geofw_opt_asn_db },
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
		.opts = { &geofw_opt_asn_db, &geofw_opt_samples },
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

const struct geofw_cmd_group geofw_cmd_groups[] = {
	{ "geo", "the GeoIP database and the kernel's geo tables" },
	{ "fleet", "the rules shared with other hosts through NATS" },
	{ "asn", "the ASN database and the kernel's ASN tables" },
	{ "feed", "the threat feeds of geofw.conf (Feed)" },
	{ "ratelimit", "per-source rate limits" },
};
const size_t geofw_cmd_n_groups = sizeof(geofw_cmd_groups) / sizeof(geofw_cmd_groups[0]);

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

int geofw_cmd_group_find(const char *name)
{
	size_t i;

	for (i = 0; i < geofw_cmd_n_groups; i++)
		if (!strcmp(geofw_cmd_groups[i].name, name))
			return (int)i;
	return -1;
}
