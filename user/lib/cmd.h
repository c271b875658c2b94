/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * fwctl's command language: one declarative table of commands and options
 * from which the parser, `fwctl help` at every level and the usage lines are
 * all derived, so they cannot disagree.
 *
 * Both binaries use it.  fwctl parses its argv here to reject a malformed
 * request before anything is sent (exit status 2); geofwd parses the argv it
 * receives over its socket (the same words, global options stripped) with the
 * same function before executing it, so the rules a request must follow live
 * in one place.  The parser is therefore pure: no process-global state, no
 * I/O, no logging; it accepts any argv (it is fuzzed through the socket) and
 * answers 0 or -EINVAL with a one-line message naming the bad word.
 *
 * The table is cmdtable.c (commands) and cmdopts.c (options, each naming
 * the field of struct geofw_cmd it fills); cmdparse.c and cmdglobal.c parse,
 * cmdhelp.c prints the help.  Who runs a command is bound to its id by the
 * binaries: user/fwctl/commands.c and user/geofwd/commands.c, checked
 * against the table's kind by tests/unit/cmd.c.
 *
 *	struct geofw_cmd cmd;
 *	char err[GEOFW_CMD_ERRLEN];
 *
 *	if (geofw_cmd_parse(argc, argv, &cmd, err, sizeof(err)))
 *		reply(GEOFW_CTL_REJECTED, err);
 *	else
 *		execute(&cmd);
 *	geofw_cmd_free(&cmd);		// also after a failed parse
 */
#ifndef GEOFW_CMD_H
#define GEOFW_CMD_H

#include <stdbool.h>
#include <stddef.h>

#include "geofw.h"
#include "cidr.h"
#include "ports.h"


/* Enough for every message of the parser, user input included (echoed
 * values are cut short by the parsers of cidr.h). */
#define GEOFW_CMD_ERRLEN	512

#define GEOFW_CMD_SAMPLES_DEFAULT	100000	/* geo verify */
#define GEOFW_CMD_SAMPLES_MAX		10000000
#define GEOFW_CMD_INTERVAL_MAX		3600	/* stats --watch, seconds */
#define GEOFW_CMD_TIMEOUT_MAX		86400	/* -t, seconds */
#define GEOFW_CMD_RATE_DEFAULT		100	/* log, top --rate: samples/s per CPU */
#define GEOFW_CMD_RATE_MAX		100000	/* as DropLogRate */
#define GEOFW_CMD_TOP_INTERVAL		2	/* top --interval, seconds */
#define GEOFW_CMD_TOP_WINDOW		10	/* top --window, seconds */
#define GEOFW_CMD_WINDOW_MAX		3600	/* top --window, seconds */

enum geofw_cmd_id {
	GEOFW_CMD_NONE = 0,
	GEOFW_CMD_ADD_BLOCK,
	GEOFW_CMD_DEL_BLOCK,
	GEOFW_CMD_ALLOW,
	GEOFW_CMD_DEL_ALLOW,
	GEOFW_CMD_BLOCK_COUNTRY,
	GEOFW_CMD_UNBLOCK_COUNTRY,
	GEOFW_CMD_COUNTRY_MODE,
	GEOFW_CMD_IMPORT,
	GEOFW_CMD_RELOAD,
	GEOFW_CMD_LIST,
	GEOFW_CMD_STATUS,
	GEOFW_CMD_LOOKUP,
	GEOFW_CMD_STATS,
	GEOFW_CMD_GEO_VERIFY,
	GEOFW_CMD_HELP,
	GEOFW_CMD_VERSION,
	GEOFW_CMD_LOG,
	GEOFW_CMD_TOP,
	GEOFW_CMD_EXPORT,
	GEOFW_CMD_DEL_SOURCE,
	GEOFW_CMD_FLEET_STATUS,
	GEOFW_CMD_ASN_SHOW,
	GEOFW_CMD_ASN_VERIFY,
	GEOFW_CMD_BLOCK_ASN,
	GEOFW_CMD_UNBLOCK_ASN,
	GEOFW_CMD_ALLOW_ASN,
	GEOFW_CMD_DEL_ALLOW_ASN,
	GEOFW_CMD_FEED_LIST,
	GEOFW_CMD_FEED_REFRESH,
	GEOFW_CMD_FEED_CONFIRM,
	GEOFW_CMD_REF,
	GEOFW_CMD_PORT_POLICY,		/* port-scoped policy */
	GEOFW_CMD_RL_ADD,		/* rate limits */
	GEOFW_CMD_RL_DEL,
	GEOFW_CMD_RL_LIST,
	GEOFW_CMD_MAX
};

/* Who executes a command. */
enum geofw_cmd_kind {
	GEOFW_CMD_DAEMON,	/* changes the rules: sent to geofwd */
	GEOFW_CMD_EITHER,	/* geofwd answers (comments, TTLs); while it is
				 * down fwctl reads the pinned maps instead */
	GEOFW_CMD_LOCAL,	/* read-only: fwctl reads the pinned maps itself,
				 * so it works while geofwd is stopped */
	GEOFW_CMD_BUILTIN,	/* help, version: no firewall involved */
};

/* `list [blocks|allows|countries]` */
enum geofw_cmd_list {
	GEOFW_LIST_ALL = 0,
	GEOFW_LIST_BLOCKS,
	GEOFW_LIST_ALLOWS,
	GEOFW_LIST_COUNTRIES,
	GEOFW_LIST_ASNS,
	GEOFW_LIST_PORTS,
};

/* cmd.action when --action was not given and the command has no fixed
 * default: geofwd applies the policy's own (CountryAction). */
#define GEOFW_CMD_ACTION_DEFAULT	(-1)

/* How an option's value is checked and where it is stored (cmdparse.c). */
enum geofw_cmd_opt_type {
	GEOFW_OPT_HELP = 1,	/* -h/--help: the parse becomes GEOFW_CMD_HELP */
	GEOFW_OPT_FLAG,		/* bool at off */
	GEOFW_OPT_DURATION,	/* seconds (__u64 or unsigned int) at off, at most
				 * max when max > 0; an optional value absent:
				 * only the flag at aux */
	GEOFW_OPT_COUNT,	/* 1..max (__u32 or size_t) at off */
	GEOFW_OPT_ACTION,	/* a blocking action (enum geofw_action), int at off */
	GEOFW_OPT_TEXT,		/* free text of at most max bytes (char *) at off */
	GEOFW_OPT_SOURCE,	/* a rule source (char *) at off */
	GEOFW_OPT_SCOPE,	/* value (enum geofw_cmd_scope), int at off; the
				 * options of one field exclude each other */
	GEOFW_OPT_PORTS,	/* struct geofw_ports at off, flag at aux */
	GEOFW_OPT_PATH,		/* a file name (char *) at off */
	GEOFW_OPT_PATHS,	/* file names: char *[max] at off, int count at aux;
				 * the only option that may be given again */
};

/*
 * An option: what the help shows, and how the parser stores its value into
 * struct geofw_cmd (offsetof, as xdp-tools' DEFINE_OPTION), so that a new
 * option is one entry of cmdopts.c and no code.
 */
struct geofw_cmd_option {
	int key;		/* fwctl's global options: which one (cmdparse.c) */
	const char *name;	/* long name without "--" */
	char short_name;	/* 0: none */
	const char *arg;	/* metavariable; NULL for a flag */
	bool arg_optional;	/* --watch [SEC] */
	const char *help;	/* one line or more, no trailing newline */

	/* Command options only. */
	enum geofw_cmd_opt_type type;
	size_t off, size;	/* the field set: offsetof, sizeof */
	size_t aux;		/* a second field (see the types); 0: none */
	long long max;		/* see the types; 0: no limit */
	long long value;	/* GEOFW_OPT_SCOPE */
	bool has_def;		/* def is stored at off before the words are read */
	long long def;
	bool no_reserved;	/* GEOFW_OPT_SOURCE: geofwd's own sources refused */
};

#define GEOFW_CMD_MAX_OPTS	8
#define GEOFW_CMD_MAX_DB	4	/* geo verify --db, as GeoIPDatabase */

struct geofw_cmd_desc {
	enum geofw_cmd_id id;
	const char *name;	/* "add-block"; a group's commands: "geo verify" */
	const char *args;	/* positional part of the synopsis, "" when none */
	const char *summary;	/* one line, lower case, no final period */
	const char *help;	/* paragraphs, lines of at most 76 columns */
	const char *examples;	/* command lines, one per line; may be NULL */
	enum geofw_cmd_kind kind;
	int pos_kind;		/* cmdtable.h: what the positionals are */
	int min_args, max_args;	/* positionals; max -1: unlimited */
	/* Options besides -j/--json and -h/--help, which every command has;
	 * NULL-terminated. */
	const struct geofw_cmd_option *opts[GEOFW_CMD_MAX_OPTS + 1];
};

/* A parsed command.  Fields not used by the command keep their defaults
 * (zero, or the default named here).  Owns its memory: geofw_cmd_free(). */
struct geofw_cmd {
	enum geofw_cmd_id id;
	const struct geofw_cmd_desc *desc;	/* table entry; NULL only on error */

	/* add-block, del-block, allow, del-allow: the prefixes, canonical and
	 * in the order given (duplicates kept: the daemon's state merges
	 * them).  lookup: the one address, as a /32 or /128. */
	struct geofw_cidr *cidrs;
	size_t n_cidrs;
	/* block-country, unblock-country: country ids (countries.h), in the
	 * order given, each once. */
	__u8 *countries;
	size_t n_countries;

	__u64 ttl;		/* --ttl in seconds; 0: the rule never expires */
	int action;		/* enum geofw_action; add-block and import default to
				 * drop, block-country and country-mode to
				 * GEOFW_CMD_ACTION_DEFAULT */
	char *comment;		/* --comment; NULL when not given */
	bool force;		/* --force: /0 prefixes accepted */
	bool replace;		/* import --replace */
	int mode;		/* country-mode: enum geofw_country_mode */
	char *file;		/* import: the path as given; "-" is standard input */
	int list;		/* list: enum geofw_cmd_list */
	bool watch;		/* stats --watch */
	unsigned int interval;	/* stats --watch SEC, default 1; top --interval
				 * SEC, default GEOFW_CMD_TOP_INTERVAL */
	bool follow;		/* log --follow */
	__u32 rate;		/* log, top --rate N, default GEOFW_CMD_RATE_DEFAULT */
	bool once;		/* top --once */
	unsigned int window;	/* top --window SEC, default GEOFW_CMD_TOP_WINDOW */
	size_t samples;		/* geo verify --samples, default 100000 */
	/* geo verify --db, in the order given (merged as GeoIPDatabase lists
	 * them); n_db 0: GeoIPDatabase of geofw.conf */
	char *db[GEOFW_CMD_MAX_DB];
	int n_db;
	char *topic;		/* help: "add-block", "geo", "geo verify"; NULL: all */
	char *source;		/* list, export, del-block, del-allow --source;
				 * del-source SOURCE; feed refresh|confirm: the
				 * feed's NAME; NULL when not given */
	bool json;		/* -j/--json given after the command word */
	/* asn show, block-asn, unblock-asn, allow-asn, del-allow-asn: AS
	 * numbers, in the order given, each once */
	__u32 *asns;
	size_t n_asns;
	int scope;		/* rule changes, import: enum geofw_cmd_scope */
	char *asn_db;		/* lookup --asn-db; NULL: ASNDatabase of geofw.conf */
	char *ref;		/* ref: the reference code as given */
	/* --ports of add-block, del-block, allow, del-allow, block-country,
	 * unblock-country; port-policy's PORTS */
	bool has_ports;
	struct geofw_ports ports;
	/* port-policy: true for allow-only (cidrs and countries: its list),
	 * false for none (the policy removed) */
	bool allow_only;
	/* lookup IP [PORT/PROTO]: l4proto IPPROTO_TCP/UDP, 0 when not given */
	int lookup_proto;
	unsigned int lookup_port;
	/* ratelimit add: the limit's canonical line; ratelimit del: its name */
	char *rl_spec;
	char *rl_name;
};

/* Where a rule change goes (--local, --fleet). */
enum geofw_cmd_scope {
	GEOFW_CMD_SCOPE_DEFAULT	= 0,	/* FleetScope when a fleet is configured, else local */
	GEOFW_CMD_SCOPE_LOCAL	= 1,
	GEOFW_CMD_SCOPE_FLEET	= 2,
};

/*
 * Parse a command (argv[0] is the command word, not the program name).
 * `CMD --help`, `CMD -h`, `help CMD` and `GROUP help` parse as GEOFW_CMD_HELP
 * with topic set, whatever else the line holds, so help always works.
 * A batch is validated entirely: one bad CIDR or country fails the whole
 * command.  0, or -EINVAL (usage error) / -ENOMEM with a one-line message
 * in err; cmd is then left empty but for json, set when a -j or --json
 * word follows the command word (the message is then wanted as JSON, even
 * when the line was refused before that word).  cmd is always initialised: calling
 * geofw_cmd_free() either way is fine.
 */
int geofw_cmd_parse(int argc, char *const *argv, struct geofw_cmd *cmd,
		    char *err, size_t errlen);
void geofw_cmd_free(struct geofw_cmd *cmd);

/* fwctl's options before the command word. */
struct geofw_cmd_global {
	bool json;		/* -j, --json */
	bool help;		/* -h, --help */
	bool version;		/* -V, --version */
	const char *socket;	/* -s, --socket PATH (points into argv) */
	const char *pin_dir;	/* --pin-dir DIR (points into argv) */
	int timeout_ms;		/* -t, --timeout SEC */
};

/*
 * Parse fwctl's global options (argv[0] is the first word after the program
 * name).  Stops at the first word that is not an option, or after "--".
 * Returns the index of the command word (argc when there is none) or
 * -EINVAL with a message.  Defaults: GEOFW_CTL_PATH, GEOFW_PIN_DIR,
 * GEOFW_CTL_TIMEOUT_MS.
 */
int geofw_cmd_parse_global(int argc, char *const *argv, struct geofw_cmd_global *g,
			   char *err, size_t errlen);

/* The command table, in the order of the help. */
const struct geofw_cmd_desc *geofw_cmd_table(size_t *n);
/* By full name ("add-block", "geo verify") or id; NULL when unknown. */
const struct geofw_cmd_desc *geofw_cmd_find(const char *name);
const struct geofw_cmd_desc *geofw_cmd_by_id(enum geofw_cmd_id id);

/* "fwctl add-block CIDR... [--ttl DURATION] ..." into buf: 0 or -ENOSPC. */
int geofw_cmd_synopsis(const struct geofw_cmd_desc *d, char *buf, size_t len);

/*
 * The help text for topic: NULL for the whole tool, a command's full name,
 * or a group ("geo").  *text is malloc'd (free it).  0, -EINVAL (unknown
 * topic, message in err) or -ENOMEM.
 */
int geofw_cmd_help(const char *topic, char **text, char *err, size_t errlen);

/* "block" / "allow" for enum geofw_country_mode; "?" when out of range. */
const char *geofw_cmd_mode_name(int mode);

#endif
