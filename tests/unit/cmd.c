// SPDX-License-Identifier: GPL-2.0-only
/*
 * fwctl's command language (user/lib/cmd*.c): parser, global options, help,
 * and the handlers both binaries bind to the table.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "countries.h"
#include "maps.h"
#include "test.h"

/*
 * The handler arrays of both binaries, read without linking them: each
 * handler becomes a probe of its type, so the test sees which command ids
 * have one (the real names are checked by the binaries' link).
 */
struct fwctl;
struct request;
static int probe_fwctl(struct fwctl *c, const struct geofw_cmd *cmd)
{
	(void)c;
	(void)cmd;
	return 0;
}
static int probe_gfwd(struct request *r)
{
	(void)r;
	return 0;
}
#define FWCTL_HANDLER(fn)	probe_fwctl
#define GFWD_HANDLER(fn)	probe_gfwd
#include "../../user/fwctl/commands.c"
#include "../../user/geofwd/commands.c"

#define ARGV(...)	((const char *const[]){ __VA_ARGS__, NULL })

/*
 * A parsed command as one line, every field the command could have set, so
 * a row states the whole expected result: "add-block 203.0.113.0/24
 * action=drop ttl=7200".
 */
static void describe(const struct geofw_cmd *c, char *buf, size_t len)
{
	char pfx[GEOFW_CIDR_STRLEN];
	size_t n = 0, i;

#define ADD(...) (n += (size_t)snprintf(buf + n, n < len ? len - n : 0, __VA_ARGS__))
	buf[0] = '\0';
	ADD("%s", c->desc ? c->desc->name : "?");
	for (i = 0; i < c->n_cidrs; i++) {
		geofw_cidr_format(&c->cidrs[i], pfx, sizeof(pfx));
		ADD(" %s", pfx);
	}
	for (i = 0; i < c->n_countries; i++)
		ADD(" %s", geofw_country_code(c->countries[i]));
	for (i = 0; i < c->n_asns; i++)
		ADD(" AS%u", c->asns[i]);
	if (c->id == GEOFW_CMD_COUNTRY_MODE)
		ADD(" mode=%s", geofw_cmd_mode_name(c->mode));
	if (c->has_ports) {
		char ports[GEOFW_PORTS_STRLEN];

		geofw_ports_format(&c->ports, ports, sizeof(ports));
		ADD(" ports=%s", ports);
	}
	if (c->id == GEOFW_CMD_PORT_POLICY)
		ADD(" %s", c->allow_only ? "allow-only" : "none");
	if (c->lookup_proto)
		ADD(" port=%u/%d", c->lookup_port, c->lookup_proto);
	if (c->action != GEOFW_CMD_ACTION_DEFAULT)
		ADD(" action=%s", geofw_action_name(c->action));
	if (c->ttl)
		ADD(" ttl=%llu", (unsigned long long)c->ttl);
	if (c->comment)
		ADD(" comment=<%s>", c->comment);
	if (c->force)
		ADD(" force");
	if (c->replace)
		ADD(" replace");
	if (c->file)
		ADD(" file=<%s>", c->file);
	if (c->id == GEOFW_CMD_LIST)
		ADD(" list=%d", c->list);
	if (c->watch)
		ADD(" watch=%u", c->interval);
	if (c->samples != GEOFW_CMD_SAMPLES_DEFAULT)
		ADD(" samples=%zu", c->samples);
	for (int i = 0; i < c->n_db; i++)
		ADD(" db=<%s>", c->db[i]);
	if (c->topic)
		ADD(" topic=<%s>", c->topic);
	if (c->source)
		ADD(" source=<%s>", c->source);
	if (c->asn_db)
		ADD(" asn_db=<%s>", c->asn_db);
	if (c->scope)
		ADD(" scope=%s", c->scope == GEOFW_CMD_SCOPE_FLEET ? "fleet" : "local");
	if (c->json)
		ADD(" json");
#undef ADD
}

/* Rows: parsed into this description, or refused with this message (a
 * substring of it, or all of it when it starts with '='). */
#define OK(argv, want)	{ argv, want, NULL }
#define BAD(argv, msg)	{ argv, NULL, msg }

static const struct {
	const char *const *argv;
	const char *want;
	const char *err;
} rows[] = {
	/* add-block */
	OK(ARGV("add-block", "203.0.113.0/24"), "add-block 203.0.113.0/24 action=drop"),
	OK(ARGV("add-block", "203.0.113.7"), "add-block 203.0.113.7/32 action=drop"),
	OK(ARGV("add-block", "2001:db8::/32", "198.51.100.7", "2001:db8::1"),
	   "add-block 2001:db8::/32 198.51.100.7/32 2001:db8::1/128 action=drop"),
	/* named twice: one rule, counted once */
	OK(ARGV("add-block", "203.0.113.0/24", "203.0.113.0/24"),
	   "add-block 203.0.113.0/24 action=drop"),
	OK(ARGV("add-block", "::ffff:198.51.100.0/120"), "add-block 198.51.100.0/24 action=drop"),
	OK(ARGV("add-block", "::ffff:198.51.100.7"), "add-block 198.51.100.7/32 action=drop"),
	OK(ARGV("add-block", "203.0.113.0/24", "--ttl", "2h"),
	   "add-block 203.0.113.0/24 action=drop ttl=7200"),
	OK(ARGV("add-block", "--ttl", "1h30m", "203.0.113.0/24"),
	   "add-block 203.0.113.0/24 action=drop ttl=5400"),
	OK(ARGV("add-block", "203.0.113.0/24", "--ttl=90"),
	   "add-block 203.0.113.0/24 action=drop ttl=90"),
	OK(ARGV("add-block", "203.0.113.0/24", "--ttl", "1w"),
	   "add-block 203.0.113.0/24 action=drop ttl=604800"),
	OK(ARGV("add-block", "203.0.113.0/24", "--action", "drop"),
	   "add-block 203.0.113.0/24 action=drop"),
	OK(ARGV("add-block", "203.0.113.0/24", "--action", "reject"),
	   "add-block 203.0.113.0/24 action=reject"),
	OK(ARGV("add-block", "203.0.113.0/24", "--action=http403"),
	   "add-block 203.0.113.0/24 action=http403"),
	OK(ARGV("add-block", "203.0.113.0/24", "--action", "log"),
	   "add-block 203.0.113.0/24 action=log"),
	OK(ARGV("add-block", "203.0.113.0/24", "--comment", "ssh scanner"),
	   "add-block 203.0.113.0/24 action=drop comment=<ssh scanner>"),
	OK(ARGV("add-block", "203.0.113.0/24", "--comment", "Zürich \"bad\" -- --ttl"),
	   "add-block 203.0.113.0/24 action=drop comment=<Zürich \"bad\" -- --ttl>"),
	OK(ARGV("add-block", "203.0.113.0/24", "--comment="),
	   "add-block 203.0.113.0/24 action=drop comment=<>"),
	OK(ARGV("add-block", "203.0.113.0/24", "--comment", "--force"),
	   "add-block 203.0.113.0/24 action=drop comment=<--force>"),
	OK(ARGV("add-block", "192.0.2.7", "--source", "fail2ban", "--ttl", "600"),
	   "add-block 192.0.2.7/32 action=drop ttl=600 source=<fail2ban>"),
	OK(ARGV("add-block", "192.0.2.7", "--source=fail2ban-sshd"),
	   "add-block 192.0.2.7/32 action=drop source=<fail2ban-sshd>"),
	BAD(ARGV("add-block", "192.0.2.7", "--source", "fleet"),
	    "=add-block: --source: 'fleet' names a source filled by geofwd itself (reserved: "
	    "fleet, crowdsec, config, ratelimit, import:NAME, feed:NAME, in any case, blanks "
	    "around them too)"),
	/* a prefix named twice is one rule */
	OK(ARGV("add-block", "192.0.2.70", "192.0.2.70", "192.0.2.70/32"),
	   "add-block 192.0.2.70/32 action=drop"),
	OK(ARGV("del-block", "2001:db8::/32", "2001:db8::/32"), "del-block 2001:db8::/32"),
	/* a TTL whose expiry (now + TTL) the rule store cannot keep */
	BAD(ARGV("add-block", "192.0.2.60", "--ttl", "17000000000"),
	    "add-block: --ttl: 17000000000 seconds: the expiry would be past the rule store's "
	    "limit (UNIX time 18446744073, in the year 2554): at most "),
	BAD(ARGV("import", "l.txt", "--ttl", "584y"), "a duration is a number with a unit"),
	BAD(ARGV("block-asn", "AS64500", "--ttl", "30000w"), "past the rule store's limit"),
	OK(ARGV("add-block", "192.0.2.60", "--ttl", "52w"),
	   "add-block 192.0.2.60/32 action=drop ttl=31449600"),
	/* option pairs that exclude each other are usage errors, not geofwd's */
	BAD(ARGV("add-block", "192.0.2.7", "--source", "fail2ban", "--fleet"),
	    "=add-block: --source and --fleet exclude each other (a fleet rule has source "
	    "fleet; --local keeps it on this host)"),
	BAD(ARGV("del-block", "192.0.2.7", "--fleet", "--source", "fail2ban"),
	    "--source and --fleet exclude each other"),
	BAD(ARGV("import", "list.txt", "--fleet", "--replace"),
	    "import: --replace and --fleet exclude each other"),
	OK(ARGV("add-block", "192.0.2.7", "--source", "fail2ban", "--local"),
	   "add-block 192.0.2.7/32 action=drop source=<fail2ban> scope=local"),
	/* geofwd's own names for rules it shows, and look-alikes */
	BAD(ARGV("add-block", "192.0.2.7", "--source", "config"), "filled by geofwd itself"),
	BAD(ARGV("add-block", "192.0.2.7", "--source", "ratelimit"), "filled by geofwd itself"),
	BAD(ARGV("add-block", "192.0.2.7", "--source", " fleet"), "filled by geofwd itself"),
	BAD(ARGV("add-block", "192.0.2.7", "--source", "fail2ban "), "filled by geofwd itself"),
	BAD(ARGV("add-block", "192.0.2.7", "--source", "Fleet"), "filled by geofwd itself"),
	BAD(ARGV("add-block", "192.0.2.7", "--source", "IMPORT:x"), "filled by geofwd itself"),
	BAD(ARGV("add-block", "192.0.2.7", "--source", "import:drop.txt"), "filled by geofwd itself"),
	BAD(ARGV("add-block", "192.0.2.7", "--source", "crowdsec"), "filled by geofwd itself"),
	BAD(ARGV("add-block", "192.0.2.7", "--source", "feed:spamhaus"), "filled by geofwd itself"),
	BAD(ARGV("add-block", "192.0.2.7", "--source", ""), "--source: empty"),
	BAD(ARGV("add-block", "192.0.2.7", "--source", "a\x01b"), "control character"),
	OK(ARGV("add-block", "0.0.0.0/0", "--force"), "add-block 0.0.0.0/0 action=drop force"),
	OK(ARGV("add-block", "--force", "::/0"), "add-block ::/0 action=drop force"),
	OK(ARGV("add-block", "203.0.113.0/24", "--force"),
	   "add-block 203.0.113.0/24 action=drop force"),
	OK(ARGV("add-block", "203.0.113.0/24", "-j"), "add-block 203.0.113.0/24 action=drop json"),
	OK(ARGV("add-block", "--json", "203.0.113.0/24"),
	   "add-block 203.0.113.0/24 action=drop json"),
	OK(ARGV("add-block", "--", "203.0.113.0/24"), "add-block 203.0.113.0/24 action=drop"),
	OK(ARGV("add-block", "203.0.113.0/24", "--ttl", "2h", "--action", "reject", "--comment",
		"x", "--force", "-j"),
	   "add-block 203.0.113.0/24 action=reject ttl=7200 comment=<x> force json"),
	BAD(ARGV("add-block"), "=add-block: missing CIDR (an address or a prefix) "
	    "(usage: see 'fwctl add-block --help')"),
	BAD(ARGV("add-block", "010.1.1.1"), "=add-block: 010.1.1.1: not an IPv4 or IPv6 address"),
	BAD(ARGV("add-block", "1.2.3"), "=add-block: 1.2.3: not an IPv4 or IPv6 address"),
	BAD(ARGV("add-block", "0x7f.0.0.1"), "0x7f.0.0.1: not an IPv4 or IPv6 address"),
	BAD(ARGV("add-block", "203.0.113.0/24x"), "prefix length must be a decimal number"),
	BAD(ARGV("add-block", "203.0.113.0/24 "), "prefix length must be a decimal number"),
	BAD(ARGV("add-block", "203.0.113.7junk"), "not an IPv4 or IPv6 address"),
	BAD(ARGV("add-block", ""), "add-block: empty address"),
	BAD(ARGV("add-block", "203.0.113.0/33"), "203.0.113.0/33: prefix length must be 0-32"),
	BAD(ARGV("add-block", "2001:db8::/129"), "prefix length must be 0-128"),
	BAD(ARGV("add-block", "0.0.0.0/0"), "0.0.0.0/0: /0 matches every IPv4 address; use --force"),
	BAD(ARGV("add-block", "::/0"), "/0 matches every IPv6 address; use --force"),
	BAD(ARGV("add-block", "203.0.113.7/24"),
	    "=add-block: 203.0.113.7/24: host bits set; did you mean 203.0.113.0/24?"),
	BAD(ARGV("add-block", "::ffff:1.2.3.4/120"), "host bits set; did you mean 1.2.3.0/24?"),
	BAD(ARGV("add-block", "::ffff:1.2.3.0/64"), "IPv4-mapped prefix must be /96 or longer"),
	/* a batch is refused as a whole, naming the bad one */
	BAD(ARGV("add-block", "203.0.113.0/24", "1.2.3", "198.51.100.0/24"),
	    "=add-block: 1.2.3: not an IPv4 or IPv6 address"),
	BAD(ARGV("add-block", "203.0.113.0/24", "--ttl", "0s"),
	    "=add-block: --ttl: 0s: a duration must be greater than zero"),
	BAD(ARGV("add-block", "203.0.113.0/24", "--ttl", "0"), "greater than zero"),
	BAD(ARGV("add-block", "203.0.113.0/24", "--ttl", "-5m"),
	    "=add-block: --ttl: -5m: a duration cannot be negative"),
	BAD(ARGV("add-block", "203.0.113.0/24", "--ttl", "1h1h"),
	    "1h1h: units go from largest to smallest"),
	BAD(ARGV("add-block", "203.0.113.0/24", "--ttl", "5x"), "5x: a duration is a number"),
	BAD(ARGV("add-block", "203.0.113.0/24", "--ttl", ""), "--ttl: empty duration"),
	BAD(ARGV("add-block", "203.0.113.0/24", "--ttl="), "--ttl: empty duration"),
	BAD(ARGV("add-block", "203.0.113.0/24", "--ttl", "99999999999999999999s"),
	    "duration too long"),
	BAD(ARGV("add-block", "203.0.113.0/24", "--ttl"),
	    "=add-block: option '--ttl' needs a value (DURATION)"),
	BAD(ARGV("add-block", "203.0.113.0/24", "--ttl", "1h", "--ttl", "2h"),
	    "=add-block: option '--ttl' given twice"),
	BAD(ARGV("add-block", "203.0.113.0/24", "--action", "pass"),
	    "--action pass: not a blocking action"),
	BAD(ARGV("add-block", "203.0.113.0/24", "--action", "deny"),
	    "=add-block: --action deny: unknown action (drop, reject, http403 or log)"),
	BAD(ARGV("add-block", "203.0.113.0/24", "--action", "DROP"), "unknown action"),
	BAD(ARGV("add-block", "203.0.113.0/24", "--action", ""), "unknown action"),
	BAD(ARGV("add-block", "203.0.113.0/24", "--action"), "option '--action' needs a value"),
	BAD(ARGV("add-block", "203.0.113.0/24", "--comment", "a\nb"),
	    "--comment: comment contains a control character"),
	BAD(ARGV("add-block", "203.0.113.0/24", "--comment", "\x1b[2J"), "control character"),
	BAD(ARGV("add-block", "203.0.113.0/24", "--comment", "\xff\xfe"), "comment"),
	BAD(ARGV("add-block", "203.0.113.0/24", "--comment",
		 "0123456789012345678901234567890123456789012345678901234567890123456789"
		 "0123456789012345678901234567890123456789012345678901234567890123456789"),
	    "comment longer than 128 bytes"),
	BAD(ARGV("add-block", "203.0.113.0/24", "--force=yes"),
	    "=add-block: option '--force' takes no value"),
	BAD(ARGV("add-block", "203.0.113.0/24", "--bogus"), "=add-block: unknown option '--bogus'"),
	BAD(ARGV("add-block", "203.0.113.0/24", "-x"), "=add-block: unknown option '-x'"),
	BAD(ARGV("add-block", "203.0.113.0/24", "-jx"), "unknown option '-jx'"),
	BAD(ARGV("add-block", "-1.2.3.4"), "unknown option '-1.2.3.4'"),
	BAD(ARGV("add-block", "203.0.113.0/24", "--replace"),
	    "=add-block: option '--replace' does not apply to this command"),
	BAD(ARGV("add-block", "203.0.113.0/24", "--samples", "5"), "does not apply"),
	BAD(ARGV("add-block", "203.0.113.0/24", "-s", "/tmp/x"),
	    "=add-block: '-s' is an option of fwctl: put it before the command"),
	BAD(ARGV("add-block", "203.0.113.0/24", "--pin-dir", "/x"), "is an option of fwctl"),
	BAD(ARGV("add-block", "203.0.113.0/24", "--timeout=3"), "is an option of fwctl"),
	/* the first problem in the line is the one reported */
	BAD(ARGV("add-block", "--bogus", "--ttl", "0s"), "unknown option '--bogus'"),

	/* del-block */
	OK(ARGV("del-block", "203.0.113.0/24"), "del-block 203.0.113.0/24"),
	OK(ARGV("del-block", "203.0.113.0/24", "2001:db8::/32"),
	   "del-block 203.0.113.0/24 2001:db8::/32"),
	OK(ARGV("del-block", "0.0.0.0/0"), "del-block 0.0.0.0/0"),
	BAD(ARGV("del-block"), "del-block: missing CIDR"),
	BAD(ARGV("del-block", "203.0.113.0/24", "--ttl", "1h"),
	    "=del-block: option '--ttl' does not apply to this command"),
	BAD(ARGV("del-block", "203.0.113.0/24", "--action", "drop"), "'--action' does not apply"),
	BAD(ARGV("del-block", "203.0.113.0/24", "--force"), "'--force' does not apply"),
	BAD(ARGV("del-block", "203.0.113.7/24"), "host bits set"),

	/* allow, del-allow */
	OK(ARGV("allow", "192.0.2.0/24"), "allow 192.0.2.0/24"),
	OK(ARGV("allow", "192.0.2.0/24", "2001:db8:1::/48", "--comment", "office VPN"),
	   "allow 192.0.2.0/24 2001:db8:1::/48 comment=<office VPN>"),
	OK(ARGV("allow", "0.0.0.0/0", "--force"), "allow 0.0.0.0/0 force"),
	BAD(ARGV("allow", "0.0.0.0/0"), "use --force"),
	BAD(ARGV("allow"), "allow: missing CIDR"),
	BAD(ARGV("allow", "192.0.2.0/24", "--ttl", "1h"), "'--ttl' does not apply"),
	BAD(ARGV("allow", "192.0.2.0/24", "--action", "drop"), "'--action' does not apply"),
	OK(ARGV("del-allow", "192.0.2.0/24", "::/0"), "del-allow 192.0.2.0/24 ::/0"),
	BAD(ARGV("del-allow"), "del-allow: missing CIDR"),
	BAD(ARGV("del-allow", "192.0.2.0/24", "--comment", "x"), "'--comment' does not apply"),

	/* block-country, unblock-country */
	OK(ARGV("block-country", "RU"), "block-country RU"),
	OK(ARGV("block-country", "ru", "Cn", "RU", "cn"), "block-country RU CN"),
	OK(ARGV("block-country", "EU", "AP", "XK"), "block-country EU AP XK"),
	OK(ARGV("block-country", "KP", "--action", "http403"), "block-country KP action=http403"),
	BAD(ARGV("block-country"), "=block-country: missing country code "
	    "(usage: see 'fwctl block-country --help')"),
	BAD(ARGV("block-country", "RUS"), "=block-country: RUS: a country is two letters "
	    "(ISO 3166-1 alpha-2), e.g. RU"),
	BAD(ARGV("block-country", "R1"), "R1: a country is two letters"),
	BAD(ARGV("block-country", "R"), "R: a country is two letters"),
	BAD(ARGV("block-country", ""), "empty country"),
	BAD(ARGV("block-country", "QQ"), "=block-country: QQ: unknown country code "
	    "(ISO 3166-1 alpha-2, or EU, AP, XK)"),
	BAD(ARGV("block-country", "qq"), "QQ: unknown country code"),
	BAD(ARGV("block-country", "RU", "QQ", "CN"), "QQ: unknown country code"),
	BAD(ARGV("block-country", "RU", "--action", "pass"), "not a blocking action"),
	BAD(ARGV("block-country", "RU", "--ttl", "1h"), "'--ttl' does not apply"),
	OK(ARGV("unblock-country", "cn"), "unblock-country CN"),
	BAD(ARGV("unblock-country"), "unblock-country: missing country code"),
	BAD(ARGV("unblock-country", "CN", "--action", "drop"), "'--action' does not apply"),

	/* country-mode */
	OK(ARGV("country-mode", "block"), "country-mode mode=block"),
	OK(ARGV("country-mode", "allow"), "country-mode mode=allow"),
	OK(ARGV("country-mode", "allow", "--action", "reject"),
	   "country-mode mode=allow action=reject"),
	BAD(ARGV("country-mode"), "country-mode: missing mode (block or allow)"),
	BAD(ARGV("country-mode", "deny"), "=country-mode: 'deny': expected block or allow"),
	BAD(ARGV("country-mode", "BLOCK"), "expected block or allow"),
	BAD(ARGV("country-mode", "block", "allow"), "=country-mode: unexpected argument 'allow'"),

	/* import */
	OK(ARGV("import", "/var/lib/lists/drop.txt"),
	   "import file=</var/lib/lists/drop.txt>"),
	OK(ARGV("import", "-"), "import file=<->"),
	OK(ARGV("import", "--", "-weird name"), "import file=<-weird name>"),
	OK(ARGV("import", "drop.txt", "--ttl", "1d", "--action", "log", "--comment", "Spamhaus",
		"--force", "--replace"),
	   "import action=log ttl=86400 comment=<Spamhaus> force replace file=<drop.txt>"),
	BAD(ARGV("import"), "import: missing FILE (- for standard input)"),
	BAD(ARGV("import", "a", "b"), "=import: unexpected argument 'b'"),
	BAD(ARGV("import", ""), "=import: empty file name"),
	BAD(ARGV("import", "x", "--ttl", "0"), "greater than zero"),
	BAD(ARGV("import", "x", "--watch"), "'--watch' does not apply"),

	/* AS rules */
	OK(ARGV("block-asn", "AS64500"), "block-asn AS64500 action=drop"),
	OK(ARGV("block-asn", "64500", "as64501", "AS64500", "--ttl", "2s", "--action", "http403",
		"--comment", "hosting"),
	   "block-asn AS64500 AS64501 action=http403 ttl=2 comment=<hosting>"),
	OK(ARGV("block-asn", "4294967295"), "block-asn AS4294967295 action=drop"),
	BAD(ARGV("block-asn"), "=block-asn: missing AS number (AS64500 or 64500) (usage: see "
	    "'fwctl block-asn --help')"),
	BAD(ARGV("block-asn", "AS0"), "block-asn: 'AS0' is not an AS number"),
	BAD(ARGV("block-asn", "4294967296"), "is not an AS number"),
	BAD(ARGV("block-asn", "AS1.5"), "is not an AS number"),
	BAD(ARGV("block-asn", "AS64500", "--action", "pass"), "not a blocking action"),
	BAD(ARGV("block-asn", "AS64500", "--source", "x"), "'--source' does not apply"),
	OK(ARGV("block-asn", "AS64500", "--fleet", "--ttl", "1d"),
	   "block-asn AS64500 action=drop ttl=86400 scope=fleet"),
	OK(ARGV("block-asn", "AS64500", "--local"), "block-asn AS64500 action=drop scope=local"),
	BAD(ARGV("block-asn", "AS64500", "--fleet", "--local"), "exclude each other"),
	OK(ARGV("unblock-asn", "AS64500", "--fleet"), "unblock-asn AS64500 scope=fleet"),
	OK(ARGV("allow-asn", "AS64503", "--fleet"), "allow-asn AS64503 scope=fleet"),
	OK(ARGV("del-allow-asn", "AS64503", "--local"), "del-allow-asn AS64503 scope=local"),
	OK(ARGV("unblock-asn", "AS64500", "--source", "crowdsec"),
	   "unblock-asn AS64500 source=<crowdsec>"),
	BAD(ARGV("unblock-asn", "AS64500", "--ttl", "1h"), "'--ttl' does not apply"),
	OK(ARGV("allow-asn", "AS64503", "--comment", "crawler"), "allow-asn AS64503 comment=<crawler>"),
	BAD(ARGV("allow-asn", "AS64503", "--ttl", "1h"), "'--ttl' does not apply"),
	BAD(ARGV("allow-asn", "AS64503", "--action", "drop"), "'--action' does not apply"),
	OK(ARGV("del-allow-asn", "64503"), "del-allow-asn AS64503"),
	OK(ARGV("list", "asns", "--source", "config"), "list list=4 source=<config>"),
	OK(ARGV("lookup", "192.0.2.7", "--asn-db", "/tmp/a.mmdb"),
	   "lookup 192.0.2.7/32 asn_db=</tmp/a.mmdb>"),
	BAD(ARGV("lookup", "192.0.2.7", "--asn-db", ""), "=lookup: --asn-db: empty file name"),

	/* reload, list, status */
	OK(ARGV("reload"), "reload"),
	BAD(ARGV("reload", "now"), "=reload: unexpected argument 'now'"),
	BAD(ARGV("reload", "--force"), "'--force' does not apply"),
	OK(ARGV("list"), "list list=0"),
	OK(ARGV("list", "blocks"), "list list=1"),
	OK(ARGV("list", "allows"), "list list=2"),
	OK(ARGV("list", "countries", "-j"), "list list=3 json"),
	OK(ARGV("list", "ports"), "list list=5"),

	/* port-scoped rules */
	OK(ARGV("allow", "192.0.2.0/24", "--ports", "22/tcp"), "allow 192.0.2.0/24 ports=22/tcp scope=local"),
	OK(ARGV("add-block", "203.0.113.0/24", "--ports", "443,80/tcp,53/udp", "--ttl", "1h"),
	   "add-block 203.0.113.0/24 ports=80,443/tcp,53/udp action=drop ttl=3600 scope=local"),
	OK(ARGV("block-country", "CN", "--ports", "8000-8100/tcp"),
	   "block-country CN ports=8000-8100/tcp scope=local"),
	OK(ARGV("unblock-country", "CN", "--ports", "8000-8100/tcp"),
	   "unblock-country CN ports=8000-8100/tcp scope=local"),
	OK(ARGV("del-allow", "192.0.2.0/24", "--ports", "22/tcp"), "del-allow 192.0.2.0/24 ports=22/tcp scope=local"),
	OK(ARGV("port-policy", "22/tcp", "allow-only", "de", "198.51.100.0/24"),
	   "port-policy 198.51.100.0/24 DE ports=22/tcp allow-only action=drop"),
	OK(ARGV("port-policy", "22/tcp", "none"), "port-policy ports=22/tcp none action=drop"),
	OK(ARGV("lookup", "203.0.113.7", "22/tcp"), "lookup 203.0.113.7/32 port=22/6"),
	OK(ARGV("lookup", "203.0.113.7", "53/udp"), "lookup 203.0.113.7/32 port=53/17"),
	BAD(ARGV("allow", "192.0.2.0/24", "--ports", "22"), "no protocol"),
	BAD(ARGV("allow", "192.0.2.0/24", "--ports", "0/tcp"), "not a port"),
	BAD(ARGV("add-block", "192.0.2.0/24", "--ports", "22/tcp", "--fleet"), "this host only"),
	BAD(ARGV("port-policy", "22/tcp"), "missing PORTS"),
	BAD(ARGV("port-policy", "22/tcp", "allow-only"), "missing the countries"),
	BAD(ARGV("port-policy", "22/tcp", "deny", "DE"), "expected allow-only or none"),
	BAD(ARGV("port-policy", "22/tcp", "none", "DE"), "unexpected argument 'DE'"),
	BAD(ARGV("port-policy", "22/tcp", "none", "--action", "reject"), "none takes no"),
	BAD(ARGV("port-policy", "22/tcp", "allow-only", "ZZ"), "not a known country"),
	BAD(ARGV("port-policy", "22/tcp", "allow-only", "192.0.2.1/24"), "neither a country"),
	BAD(ARGV("port-policy", "22", "allow-only", "DE"), "no protocol"),
	BAD(ARGV("lookup", "203.0.113.7", "80,443/tcp"), "one port"),
	BAD(ARGV("lookup", "203.0.113.7", "22/tcp", "x"), "unexpected argument 'x'"),
	OK(ARGV("ratelimit", "add", "dns", "1000pps", "burst", "200", "per", "/32", "then", "drop"),
	   "ratelimit add"),
	OK(ARGV("ratelimit", "del", "dns"), "ratelimit del"),
	OK(ARGV("ratelimit", "list"), "ratelimit list"),
	BAD(ARGV("ratelimit", "add", "dns", "1000pps"), "expected 'burst N'"),
	BAD(ARGV("ratelimit", "add"), "missing rate limit"),
	BAD(ARGV("ratelimit", "del", "a/b"), "not a rate limit name"),
	BAD(ARGV("ratelimit", "del", "a", "b"), "unexpected argument 'b'"),
	BAD(ARGV("list", "rules"), "=list: 'rules': expected blocks, allows, countries, asns or ports"),
	BAD(ARGV("list", "blocks", "allows"), "list: unexpected argument 'allows'"),
	OK(ARGV("status"), "status"),
	OK(ARGV("status", "--json"), "status json"),
	BAD(ARGV("status", "x"), "status: unexpected argument 'x'"),

	/* feed */
	OK(ARGV("feed", "list"), "feed list"),
	OK(ARGV("feed", "list", "-j"), "feed list json"),
	BAD(ARGV("feed", "list", "x"), "feed list: unexpected argument 'x'"),
	OK(ARGV("feed", "refresh", "spamhaus-drop"), "feed refresh source=<spamhaus-drop>"),
	OK(ARGV("feed", "confirm", "fh_1.v4"), "feed confirm source=<fh_1.v4>"),
	BAD(ARGV("feed", "refresh"), "feed refresh: missing"),
	BAD(ARGV("feed", "refresh", "a", "b"), "feed refresh: unexpected argument 'b'"),
	BAD(ARGV("feed", "confirm", "feed:x"), "=feed confirm: 'feed:x' is not a feed name "
	    "(letters, digits, ., _ and -, as in a Feed line)"),
	BAD(ARGV("feed", "refresh", ""), "is not a feed name"),
	BAD(ARGV("feed", "refresh",
		 "a123456789b123456789c123456789d123456789e1234567"), "is not a feed name"),
	BAD(ARGV("feed", "frobnicate"), "=feed: unknown command 'frobnicate' (try 'fwctl feed help')"),

	/* lookup */
	OK(ARGV("lookup", "203.0.113.7"), "lookup 203.0.113.7/32"),
	OK(ARGV("lookup", "2001:db8::1"), "lookup 2001:db8::1/128"),
	OK(ARGV("lookup", "::ffff:203.0.113.7"), "lookup 203.0.113.7/32"),
	BAD(ARGV("lookup"), "lookup: missing IP address"),
	BAD(ARGV("lookup", "203.0.113.0/24"),
	    "=lookup: 203.0.113.0/24: expected a single address, not a prefix"),
	BAD(ARGV("lookup", "203.0.113.7/32"), "expected a single address"),
	BAD(ARGV("lookup", "010.1.1.1"), "not an IPv4 or IPv6 address"),
	BAD(ARGV("lookup", "203.0.113.7", "203.0.113.8"), "unexpected argument '203.0.113.8'"),

	/* stats */
	OK(ARGV("stats"), "stats"),
	OK(ARGV("stats", "--watch"), "stats watch=1"),
	OK(ARGV("stats", "--watch", "5"), "stats watch=5"),
	OK(ARGV("stats", "--watch=2"), "stats watch=2"),
	OK(ARGV("stats", "--watch", "1m"), "stats watch=60"),
	OK(ARGV("stats", "--watch", "-j"), "stats watch=1 json"),
	BAD(ARGV("stats", "--watch", "0"), "--watch: 0: a duration must be greater than zero"),
	BAD(ARGV("stats", "--watch", "2h"), "=stats: --watch: 2h: at most 3600 seconds"),
	BAD(ARGV("stats", "--watch", "-1"), "unknown option '-1'"),
	BAD(ARGV("stats", "--watch", "1", "--watch", "2"), "'--watch' given twice"),
	BAD(ARGV("stats", "now"), "=stats: unexpected argument 'now'"),
	BAD(ARGV("stats", "--reset"), "=stats: unknown option '--reset'"),

	/* geo verify */
	OK(ARGV("geo", "verify"), "geo verify"),
	OK(ARGV("geo", "verify", "--db", "/tmp/x.mmdb", "--samples", "1000"),
	   "geo verify samples=1000 db=</tmp/x.mmdb>"),
	OK(ARGV("geo", "verify", "--samples=10000000"), "geo verify samples=10000000"),
	OK(ARGV("geo", "verify", "--db", "/a4.mmdb", "--db=/b6.mmdb"),
	   "geo verify db=</a4.mmdb> db=</b6.mmdb>"),
	BAD(ARGV("geo", "verify", "--db", "/1", "--db", "/2", "--db", "/3", "--db", "/4", "--db", "/5"),
	    "=geo verify: --db: more than 4 databases"),
	BAD(ARGV("geo"), "=geo: missing command (try 'fwctl geo help')"),
	BAD(ARGV("geo", "check"), "=geo: unknown command 'check' (try 'fwctl geo help')"),
	BAD(ARGV("geo", "verify", "--samples", "0"),
	    "=geo verify: --samples: 0: expected a number from 1 to 10000000"),
	BAD(ARGV("geo", "verify", "--samples", "10000001"), "expected a number from 1"),
	BAD(ARGV("geo", "verify", "--samples", "1e5"), "expected a number"),
	BAD(ARGV("geo", "verify", "--samples", "-5"), "expected a number"),
	BAD(ARGV("geo", "verify", "--samples", "010"), "expected a number"),
	BAD(ARGV("geo", "verify", "--samples", "99999999999999999999999"), "expected a number"),
	BAD(ARGV("geo", "verify", "--db", ""), "=geo verify: --db: empty file name"),
	BAD(ARGV("geo", "verify", "x"), "geo verify: unexpected argument 'x'"),
	BAD(ARGV("geo", "verify", "--ttl", "1h"), "'--ttl' does not apply"),

	/* help at every level, winning over anything else on the line */
	OK(ARGV("help"), "help"),
	OK(ARGV("help", "add-block"), "help topic=<add-block>"),
	OK(ARGV("help", "geo"), "help topic=<geo>"),
	OK(ARGV("help", "geo", "verify"), "help topic=<geo verify>"),
	OK(ARGV("help", "help"), "help topic=<help>"),
	OK(ARGV("help", "--help"), "help topic=<help>"),
	OK(ARGV("help", "-j"), "help json"),
	OK(ARGV("--help"), "help"),
	OK(ARGV("-h"), "help"),
	OK(ARGV("add-block", "--help"), "help topic=<add-block>"),
	OK(ARGV("add-block", "-h"), "help topic=<add-block>"),
	OK(ARGV("add-block", "1.2.3", "--ttl", "0s", "--bogus", "--help"), "help topic=<add-block>"),
	OK(ARGV("lookup", "-h"), "help topic=<lookup>"),
	OK(ARGV("stats", "--watch", "--help"), "help topic=<stats>"),
	OK(ARGV("geo", "help"), "help topic=<geo>"),
	OK(ARGV("geo", "--help"), "help topic=<geo>"),
	OK(ARGV("geo", "-h"), "help topic=<geo>"),
	OK(ARGV("geo", "help", "verify"), "help topic=<geo verify>"),
	OK(ARGV("geo", "verify", "--help"), "help topic=<geo verify>"),
	OK(ARGV("version", "--help"), "help topic=<version>"),
	/* "--comment --help" is a comment, not a request for help */
	OK(ARGV("add-block", "203.0.113.0/24", "--comment", "--help"),
	   "add-block 203.0.113.0/24 action=drop comment=<--help>"),
	/* after "--" it is a word like any other */
	BAD(ARGV("add-block", "--", "--help"), "--help: not an IPv4 or IPv6 address"),
	BAD(ARGV("help", "frobnicate"), "=help: unknown command 'frobnicate'"),
	BAD(ARGV("help", "geo", "check"), "=help: unknown command 'geo check'"),
	BAD(ARGV("help", "add-block", "x"), "help: unknown command 'add-block x'"),
	BAD(ARGV("help", "a", "b", "c"), "=help: unexpected argument 'c'"),
	BAD(ARGV("help", "--bogus"), "help: unknown option '--bogus'"),
	BAD(ARGV("geo", "help", "verify", "x"), "=geo help: unexpected argument 'x'"),
	BAD(ARGV("geo", "help", "check"), "help: unknown command 'geo check'"),

	/* version, unknown commands */
	OK(ARGV("version"), "version"),
	BAD(ARGV("version", "x"), "version: unexpected argument 'x'"),
	BAD(ARGV(""), "=missing command (try 'fwctl help')"),
	BAD(ARGV("frobnicate"), "=unknown command 'frobnicate' (try 'fwctl help')"),
	BAD(ARGV("add"), "unknown command 'add'"),
	BAD(ARGV("ADD-BLOCK", "203.0.113.0/24"), "unknown command 'ADD-BLOCK'"),
	BAD(ARGV("verify"), "unknown command 'verify'"),
	BAD(ARGV("geo verify"), "unknown command 'geo verify'"),
	BAD(ARGV("-j", "list"), "unknown command '-j'"),
	BAD(ARGV("\x1b[31mred"), "=unknown command '?[31mred' (try 'fwctl help')"),
};

static int count_argv(const char *const *argv)
{
	int n = 0;

	while (argv[n])
		n++;
	return n;
}

static void row_name(const char *const *argv, char *buf, size_t len)
{
	size_t n = 0;
	int i;

	buf[0] = '\0';
	for (i = 0; argv[i] && n < len; i++)
		n += (size_t)snprintf(buf + n, len - n, "%s%s", i ? " " : "", argv[i]);
	for (n = 0; buf[n]; n++)
		if ((unsigned char)buf[n] < 0x20 || (unsigned char)buf[n] >= 0x7f)
			buf[n] = '?';
}

void test_cmd_parse(void)
{
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		char name[160];

		row_name(rows[i].argv, name, sizeof(name));
		SUBTEST("%s", name[0] ? name : "(empty)") {
			char err[GEOFW_CMD_ERRLEN] = "", got[1024];
			struct geofw_cmd cmd;
			int r;

			r = geofw_cmd_parse(count_argv(rows[i].argv), (char *const *)rows[i].argv,
					    &cmd, err, sizeof(err));
			if (rows[i].want) {
				if (ASSERT_OK(r, err)) {
					describe(&cmd, got, sizeof(got));
					ASSERT_STREQ(got, rows[i].want, "parsed");
				}
			} else if (ASSERT_EQ(r, -EINVAL, "refused")) {
				if (rows[i].err[0] == '=')
					ASSERT_STREQ(err, rows[i].err + 1, "message");
				else if (!strstr(err, rows[i].err))
					test__fail(__FILE__, __LINE__, "message \"%s\" lacks \"%s\"",
						   err, rows[i].err);
				ASSERT_TRUE(!strchr(err, '\n'), "one line");
				ASSERT_TRUE(cmd.cidrs == NULL && cmd.comment == NULL &&
					    cmd.countries == NULL, "nothing half-parsed left");
			}
			geofw_cmd_free(&cmd);
		}
	}
}

/* A refused line still says whether -j came after the command word, so
 * fwctl answers the usage error as JSON (fwctl(8)). */
void test_cmd_parse_json_on_error(void)
{
	const struct {
		const char *const *argv;
		bool json;
	} rows[] = {
		{ ARGV("add-block", "bogus", "-j"), true },
		{ ARGV("add-block", "-j", "bogus"), true },
		{ ARGV("list", "--json", "bogus"), true },
		{ ARGV("add-block", "1.2.3.4", "--frob", "-j"), true },
		{ ARGV("add-block", "1.2.3.4", "-j", "-j"), true },
		{ ARGV("frobnicate", "-j"), true },
		{ ARGV("add-block", "bogus"), false },
		{ ARGV("add-block", "--", "-j"), false },
	};
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		char name[160];

		row_name(rows[i].argv, name, sizeof(name));
		SUBTEST("%s", name) {
			char err[GEOFW_CMD_ERRLEN] = "";
			struct geofw_cmd cmd;
			int r;

			r = geofw_cmd_parse(count_argv(rows[i].argv), (char *const *)rows[i].argv,
					    &cmd, err, sizeof(err));
			ASSERT_EQ(r, -EINVAL, "refused");
			ASSERT_EQ(cmd.json, rows[i].json, "json");
			geofw_cmd_free(&cmd);
		}
	}
}

/* Every command word parses to its own id and to its table entry. */
void test_cmd_table(void)
{
	const struct geofw_cmd_desc *t;
	size_t n, i, k;

	t = geofw_cmd_table(&n);
	ASSERT_EQ(n, GEOFW_CMD_MAX - 1, "one entry per command id");
	for (i = 0; i < n; i++) {
		SUBTEST("%s", t[i].name) {
			char line[512];

			ASSERT_TRUE(geofw_cmd_find(t[i].name) == &t[i], "find");
			ASSERT_TRUE(geofw_cmd_by_id(t[i].id) == &t[i], "by id");
			ASSERT_TRUE(t[i].summary[0] >= 'a' && t[i].summary[0] <= 'z',
				    "summary in lower case");
			ASSERT_TRUE(t[i].summary[strlen(t[i].summary) - 1] != '.', "no period");
			ASSERT_TRUE(t[i].help && t[i].help[0], "long help");
			ASSERT_OK(geofw_cmd_synopsis(&t[i], line, sizeof(line)), "synopsis");
			ASSERT_TRUE(!strncmp(line, "fwctl ", 6), "synopsis starts with fwctl");
			ASSERT_EQ(geofw_cmd_synopsis(&t[i], line, 8), -ENOSPC, "short buffer");
			for (k = 0; k < GEOFW_CMD_MAX_OPTS && t[i].opts[k]; k++) {
				const struct geofw_cmd_option *o = t[i].opts[k];

				ASSERT_TRUE(o->help && o->name[0], "option");
				/* Where the parser stores the value: inside the
				 * command, a number of 4 or 8 bytes. */
				ASSERT_TRUE(o->type > GEOFW_OPT_HELP, "option has a type");
				ASSERT_TRUE(o->off + o->size <= sizeof(struct geofw_cmd) &&
					    o->aux < sizeof(struct geofw_cmd), "option's field");
				if (o->type == GEOFW_OPT_DURATION || o->type == GEOFW_OPT_COUNT)
					ASSERT_TRUE(o->size == 4 || o->size == 8, "number size");
				ASSERT_EQ(!!o->arg, o->type != GEOFW_OPT_FLAG &&
					  o->type != GEOFW_OPT_SCOPE, "value iff not a flag");
			}
		}
	}
	ASSERT_TRUE(geofw_cmd_find("geo") == NULL, "a group is not a command");
	ASSERT_TRUE(geofw_cmd_find(NULL) == NULL, "NULL");
	ASSERT_TRUE(geofw_cmd_by_id(GEOFW_CMD_NONE) == NULL, "no id 0");
}

/*
 * Every command has a handler on the side that runs it, and none on the
 * other: geofwd for GEOFW_CMD_DAEMON, fwctl for GEOFW_CMD_LOCAL and
 * GEOFW_CMD_BUILTIN, both for GEOFW_CMD_EITHER (fwctl's when geofwd is
 * down).  A command added to the table without its handler fails here.
 */
void test_cmd_handlers(void)
{
	const struct geofw_cmd_desc *d;
	int id;

	ASSERT_TRUE(!fwctl_cmds[GEOFW_CMD_NONE] && !gfwd_cmds[GEOFW_CMD_NONE].run, "no id 0");
	for (id = GEOFW_CMD_NONE + 1; id < GEOFW_CMD_MAX; id++) {
		d = geofw_cmd_by_id(id);
		if (!ASSERT_TRUE(d != NULL, "every id is in the table"))
			continue;
		SUBTEST("%s", d->name) {
			bool daemon = d->kind == GEOFW_CMD_DAEMON || d->kind == GEOFW_CMD_EITHER;
			bool local = d->kind != GEOFW_CMD_DAEMON;

			ASSERT_EQ(gfwd_cmds[id].run != NULL, daemon,
				  daemon ? "geofwd runs it: a handler in user/geofwd/commands.c" :
					   "fwctl answers it: no handler in geofwd");
			ASSERT_EQ(fwctl_cmds[id] != NULL, local,
				  local ? "fwctl runs it: a handler in user/fwctl/commands.c" :
					  "geofwd runs it: no handler in fwctl");
			ASSERT_TRUE(!gfwd_cmds[id].change || daemon, "a change is geofwd's");
		}
	}
}

static bool lines_fit(const char *text, size_t width, char *bad, size_t badlen)
{
	const char *p = text, *nl;
	size_t cols;

	while (*p) {
		nl = strchrnul(p, '\n');
		/* Columns, not bytes: UTF-8 continuation bytes take none. */
		cols = 0;
		for (const char *q = p; q < nl; q++)
			cols += ((unsigned char)*q & 0xc0) != 0x80;
		if (cols > width) {
			snprintf(bad, badlen, "%.*s", (int)(nl - p), p);
			return false;
		}
		p = *nl ? nl + 1 : nl;
	}
	return true;
}

/* The help: every level exists, lists what it must, fits in 79 columns. */
void test_cmd_help(void)
{
	const struct geofw_cmd_desc *t;
	char err[GEOFW_CMD_ERRLEN], bad[256], want[96];
	char *text;
	size_t n, i, k;

	t = geofw_cmd_table(&n);
	SUBTEST("top") {
		if (ASSERT_OK(geofw_cmd_help(NULL, &text, err, sizeof(err)), "help")) {
			ASSERT_TRUE(lines_fit(text, 79, bad, sizeof(bad)), bad);
			ASSERT_TRUE(strstr(text, "Usage: fwctl [OPTIONS] COMMAND") != NULL, "usage");
			ASSERT_TRUE(strstr(text, "Exit status:") != NULL, "exit status");
			ASSERT_TRUE(strstr(text, "  2  usage error") != NULL, "status 2");
			ASSERT_TRUE(strstr(text, "Examples:") != NULL, "examples");
			for (const char *o = "--json\0--socket PATH\0--pin-dir DIR\0--timeout SEC\0";
			     *o; o += strlen(o) + 1)
				ASSERT_TRUE(strstr(text, o) != NULL, o);
			for (i = 0; i < n; i++) {
				snprintf(want, sizeof(want), "\n  %s", t[i].name);
				ASSERT_TRUE(strstr(text, want) != NULL, t[i].name);
				ASSERT_TRUE(strstr(text, t[i].summary) != NULL, t[i].summary);
			}
			free(text);
		}
	}
	SUBTEST("geo") {
		if (ASSERT_OK(geofw_cmd_help("geo", &text, err, sizeof(err)), "help")) {
			ASSERT_TRUE(lines_fit(text, 79, bad, sizeof(bad)), bad);
			ASSERT_TRUE(strstr(text, "\n  verify") != NULL, "verify listed");
			ASSERT_TRUE(strstr(text, "\n  help") != NULL, "help listed");
			free(text);
		}
	}
	for (i = 0; i < n; i++) {
		SUBTEST("%s", t[i].name) {
			if (!ASSERT_OK(geofw_cmd_help(t[i].name, &text, err, sizeof(err)), "help"))
				continue;
			ASSERT_TRUE(lines_fit(text, 79, bad, sizeof(bad)), bad);
			snprintf(want, sizeof(want), "Usage: fwctl %s", t[i].name);
			ASSERT_TRUE(!strncmp(text, want, strlen(want)), "usage first");
			for (k = 0; k < GEOFW_CMD_MAX_OPTS && t[i].opts[k]; k++) {
				snprintf(want, sizeof(want), "[--%s", t[i].opts[k]->name);
				ASSERT_TRUE(strstr(text, want) != NULL, "option in the synopsis");
				if (t[i].opts[k]->short_name)
					snprintf(want, sizeof(want), "  -%c, --%s",
						 t[i].opts[k]->short_name, t[i].opts[k]->name);
				else
					snprintf(want, sizeof(want), "      --%s", t[i].opts[k]->name);
				ASSERT_TRUE(strstr(text, want) != NULL, "option described");
			}
			ASSERT_TRUE(strstr(text, "-j, --json") != NULL, "--json");
			ASSERT_TRUE(strstr(text, "-h, --help") != NULL, "--help");
			free(text);
		}
	}
	SUBTEST("unknown topic") {
		ASSERT_EQ(geofw_cmd_help("frob", &text, err, sizeof(err)), -EINVAL, "refused");
		ASSERT_STREQ(err, "help: unknown command 'frob'", "message");
		ASSERT_TRUE(text == NULL, "no text");
	}
}

/* fwctl's global options. */
static const struct {
	const char *const *argv;
	int idx;		/* command index, or -EINVAL */
	const char *want;	/* "json help version socket pin timeout_ms" or error text */
} global_rows[] = {
	{ ARGV("list"), 0, "0 0 0 /run/geofw/geofwd.sock /sys/fs/bpf/geofw 30000" },
	{ ARGV("-j", "list"), 1, "1 0 0 /run/geofw/geofwd.sock /sys/fs/bpf/geofw 30000" },
	{ ARGV("--json", "-s", "/tmp/s.sock", "--pin-dir", "/sys/fs/bpf/t", "-t", "5", "status"),
	  7, "1 0 0 /tmp/s.sock /sys/fs/bpf/t 5000" },
	{ ARGV("--socket=/tmp/a", "--pin-dir=/p", "--timeout=2m", "list"), 3,
	  "0 0 0 /tmp/a /p 120000" },
	{ ARGV("-h"), 1, "0 1 0 /run/geofw/geofwd.sock /sys/fs/bpf/geofw 30000" },
	{ ARGV("--version"), 1, "0 0 1 /run/geofw/geofwd.sock /sys/fs/bpf/geofw 30000" },
	{ ARGV("-V", "-j"), 2, "1 0 1 /run/geofw/geofwd.sock /sys/fs/bpf/geofw 30000" },
	{ ARGV("--", "-weird"), 1, "0 0 0 /run/geofw/geofwd.sock /sys/fs/bpf/geofw 30000" },
	{ ARGV("-j", "lookup", "-h"), 1, "1 0 0 /run/geofw/geofwd.sock /sys/fs/bpf/geofw 30000" },
	{ ARGV("-t", "0", "list"), -EINVAL, "--timeout: 0: a duration must be greater than zero" },
	{ ARGV("-t", "2d", "list"), -EINVAL, "--timeout: 2d: at most 86400 seconds" },
	{ ARGV("-t"), -EINVAL, "option '--timeout' needs a value (SEC)" },
	{ ARGV("-s", ""), -EINVAL, "--socket: '': a socket path is 1 to 107 bytes" },
	{ ARGV("--pin-dir="), -EINVAL, "--pin-dir: '': bad directory" },
	{ ARGV("--json=yes"), -EINVAL, "option '--json' takes no value" },
	{ ARGV("--frob", "list"), -EINVAL, "unknown option '--frob' (try 'fwctl --help')" },
	{ ARGV("-x"), -EINVAL, "unknown option '-x'" },
	{ ARGV("-jV"), -EINVAL, "unknown option '-jV'" },
	{ ARGV("--ttl", "1h"), -EINVAL, "unknown option '--ttl'" },
};

void test_cmd_global(void)
{
	size_t i;

	for (i = 0; i < sizeof(global_rows) / sizeof(global_rows[0]); i++) {
		char name[160];

		row_name(global_rows[i].argv, name, sizeof(name));
		SUBTEST("%s", name) {
			char err[GEOFW_CMD_ERRLEN] = "", got[512];
			struct geofw_cmd_global g;
			int r;

			r = geofw_cmd_parse_global(count_argv(global_rows[i].argv),
						   (char *const *)global_rows[i].argv, &g, err,
						   sizeof(err));
			ASSERT_EQ(r, global_rows[i].idx, err);
			if (r >= 0) {
				snprintf(got, sizeof(got), "%d %d %d %s %s %d", g.json, g.help,
					 g.version, g.socket, g.pin_dir, g.timeout_ms);
				ASSERT_STREQ(got, global_rows[i].want, "parsed");
			} else if (!strstr(err, global_rows[i].want)) {
				test__fail(__FILE__, __LINE__, "message \"%s\" lacks \"%s\"", err,
					   global_rows[i].want);
			}
		}
	}
}

/* Degenerate calls: no argv, NULL words, tiny or absent error buffers. */
void test_cmd_edges(void)
{
	char *const nulls[] = { "add-block", NULL, "203.0.113.0/24", NULL };
	char *const one[] = { "add-block", "1.2.3", NULL };
	char *const ok[] = { "add-block", "203.0.113.0/24", NULL };
	struct geofw_cmd cmd;
	char err[8];

	ASSERT_EQ(geofw_cmd_parse(0, NULL, &cmd, NULL, 0), -EINVAL, "argc 0");
	geofw_cmd_free(&cmd);
	ASSERT_EQ(geofw_cmd_parse(-3, one, &cmd, NULL, 0), -EINVAL, "argc < 0");
	geofw_cmd_free(&cmd);
	/* A NULL word inside argv counts as an empty one. */
	ASSERT_EQ(geofw_cmd_parse(3, nulls, &cmd, NULL, 0), -EINVAL, "NULL word");
	geofw_cmd_free(&cmd);
	ASSERT_EQ(geofw_cmd_parse(2, one, &cmd, err, sizeof(err)), -EINVAL, "short err");
	ASSERT_EQ(strlen(err), sizeof(err) - 1, "message cut, terminated");
	geofw_cmd_free(&cmd);
	ASSERT_EQ(geofw_cmd_parse(2, one, &cmd, err, 0), -EINVAL, "errlen 0");
	geofw_cmd_free(&cmd);
	/* argc shorter than the array: the rest is not read. */
	ASSERT_EQ(geofw_cmd_parse(1, ok, &cmd, NULL, 0), -EINVAL, "argc bounds the words");
	geofw_cmd_free(&cmd);
	ASSERT_OK(geofw_cmd_parse(2, ok, &cmd, NULL, 0), "ok without err");
	ASSERT_EQ(cmd.n_cidrs, 1, "one prefix");
	geofw_cmd_free(&cmd);
	ASSERT_TRUE(cmd.cidrs == NULL && cmd.n_cidrs == 0, "free resets");
	geofw_cmd_free(&cmd);	/* twice is fine */
	geofw_cmd_free(NULL);
}

/* A large batch, all or nothing. */
void test_cmd_batch(void)
{
	enum { N = 4000 };
	char (*words)[24] = calloc(N, sizeof(*words));
	char **argv = calloc(N + 2, sizeof(*argv));
	char err[GEOFW_CMD_ERRLEN];
	struct geofw_cmd cmd;
	int i;

	if (!ASSERT_TRUE(words && argv, "calloc"))
		goto out;
	argv[0] = "add-block";
	for (i = 0; i < N; i++) {
		snprintf(words[i], sizeof(words[i]), "10.%d.%d.0/24", i / 256, i % 256);
		argv[i + 1] = words[i];
	}
	ASSERT_OK(geofw_cmd_parse(N + 1, argv, &cmd, err, sizeof(err)), err);
	ASSERT_EQ(cmd.n_cidrs, N, "all prefixes");
	geofw_cmd_free(&cmd);
	snprintf(words[N - 1], sizeof(words[0]), "10.255.255.1/24");
	ASSERT_EQ(geofw_cmd_parse(N + 1, argv, &cmd, err, sizeof(err)), -EINVAL, "last bad");
	ASSERT_TRUE(strstr(err, "10.255.255.1/24: host bits set") != NULL, err);
	ASSERT_EQ(cmd.n_cidrs, 0, "nothing kept");
	geofw_cmd_free(&cmd);
out:
	free(words);
	free(argv);
}

/* Random words from the grammar and random bytes: the parser answers 0 or
 * -EINVAL, a non-empty one-line message on refusal, and never crashes (run
 * under ASan/valgrind to catch more). */
void test_cmd_random(void)
{
	static const char *const pool[] = {
		"add-block", "del-block", "allow", "del-allow", "block-country",
		"unblock-country", "country-mode", "import", "reload", "list", "status",
		"lookup", "stats", "geo", "verify", "help", "version", "--ttl", "--action",
		"--comment", "--force", "--replace", "--watch", "--samples", "--db", "--json",
		"-j", "--help", "-h", "--", "-", "", "203.0.113.0/24", "0.0.0.0/0", "::/0",
		"2001:db8::1", "1.2.3", "RU", "QQ", "block", "allow", "drop", "pass", "2h",
		"0s", "5", "blocks", "--ttl=", "--watch=3", "-s", "=", "--=", "---", "feed",
		"refresh", "confirm", "spamhaus-drop",
	};
	unsigned long long s = 0x9e3779b97f4a7c15ull;
	char bytes[8][12];
	char *argv[9];
	int iter, bad = 0, ok = 0;

	for (iter = 0; iter < 200000; iter++) {
		char err[GEOFW_CMD_ERRLEN];
		struct geofw_cmd cmd;
		int argc, i, r;

		s ^= s << 13, s ^= s >> 7, s ^= s << 17;
		argc = (int)(s % 9);
		for (i = 0; i < argc; i++) {
			s ^= s << 13, s ^= s >> 7, s ^= s << 17;
			if (s % 5) {
				argv[i] = (char *)pool[(s >> 8) % (sizeof(pool) / sizeof(pool[0]))];
			} else {
				int k, len = (int)((s >> 8) % 11);

				for (k = 0; k < len; k++)
					bytes[i][k] = (char)((s >> (k * 5 + 12)) & 0xff) ?: 'x';
				bytes[i][len] = '\0';
				argv[i] = bytes[i];
			}
		}
		argv[argc] = NULL;
		r = geofw_cmd_parse(argc, argv, &cmd, err, sizeof(err));
		if (r == 0) {
			ok++;
			if (!cmd.desc)
				bad++;
		} else if (r != -EINVAL || !err[0] || strchr(err, '\n')) {
			if (!bad++)
				test__fail(__FILE__, __LINE__, "r %d, message \"%s\"", r, err);
		}
		geofw_cmd_free(&cmd);
	}
	ASSERT_EQ(bad, 0, "bad answers");
	ASSERT_TRUE(ok > 100, "some random lines parse");
	printf("# %d of 200000 random lines parsed\n", ok);
}
