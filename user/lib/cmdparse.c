// SPDX-License-Identifier: GPL-2.0-only
/*
 * The parser of fwctl's command language (cmd.h), driven by the table of
 * cmdtable.c and the options of cmdopts.c.  Pure: no global state, no I/O.
 */
#include "cmdtable.h"
#include "msg.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "countries.h"
#include "ctl.h"
#include "maps.h"
#include "ratelimit.h"
#include "store.h"
#include "timeutil.h"

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

/* Option number i of d: -j, -h, then d's own; NULL past the last. */
static const struct geofw_cmd_option *option_at(const struct geofw_cmd_desc *d, size_t i)
{
	if (i < 2)
		return geofw_cmd_common_opts[i];
	return i < GEOFW_CMD_MAX_OPTS + 2 ? d->opts[i - 2] : NULL;
}

/* The index of d's option named lname (or sname), for option_at(); -1. */
static int cmd_option(const struct geofw_cmd_desc *d, const char *lname, char sname)
{
	const struct geofw_cmd_option *o;
	size_t i;

	for (i = 0; (o = option_at(d, i)); i++)
		if (lname ? !strcmp(o->name, lname) : o->short_name == sname)
			return (int)i;
	return -1;
}

/* ---- the parser -------------------------------------------------------------- */

/* Sources whose rules geofwd writes and replaces as a set (a rule added by
 * hand under one of them would vanish at the next sync), the names geofwd
 * shows for rules of its own (config: geofw.conf's, ratelimit: bans), and
 * anything that reads as one of them: another case, or blanks around it. */
static bool source_reserved(const char *s)
{
	size_t len = strlen(s);

	if (len && (isspace((unsigned char)s[0]) || isspace((unsigned char)s[len - 1])))
		return true;
	return !strcasecmp(s, "fleet") || !strcasecmp(s, "crowdsec") ||
	       !strcasecmp(s, "config") || !strcasecmp(s, "ratelimit") ||
	       !strncasecmp(s, "import:", 7) || !strncasecmp(s, "feed:", 5);
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

/* Store n into the field of o (a number field of 4 or 8 bytes). */
static void put_number(const struct geofw_cmd_option *o, struct geofw_cmd *cmd,
		       unsigned long long n)
{
	char *f = (char *)cmd + o->off;

	if (o->size == sizeof(__u32)) {
		__u32 v = (__u32)n;

		memcpy(f, &v, sizeof(v));
	} else {
		__u64 v = n;

		memcpy(f, &v, sizeof(v));
	}
}

/* The file name of --db and --asn-db: 0 or -EINVAL with a message. */
static int check_path(const struct geofw_cmd_desc *d, const struct geofw_cmd_option *o,
		      const char *v, char *err, size_t errlen)
{
	if (!*v)
		return geofw_errf(err, errlen, -EINVAL, "%s: --%s: empty file name", d->name,
				  o->name);
	if (strlen(v) >= PATH_MAX)
		return geofw_errf(err, errlen, -EINVAL, "%s: --%s: file name too long", d->name,
				  o->name);
	return 0;
}

/*
 * Check one option's value (NULL for a flag or an omitted optional value)
 * and store it where the option says (cmdopts.c): no option is named here.
 * 0 or -EINVAL / -ENOMEM with a message.
 */
static int apply_option(const struct geofw_cmd_desc *d, const struct geofw_cmd_option *o,
			const char *v, struct geofw_cmd *cmd, char *err, size_t errlen)
{
	char msg[GEOFW_CMD_ERRLEN / 2], eb[GEOFW_ECHO_BUFLEN];
	void *field = (char *)cmd + o->off;
	unsigned long long n;
	__u64 secs;
	int *count;

	switch (o->type) {
	case GEOFW_OPT_HELP:
		return 0;
	case GEOFW_OPT_FLAG:
		*(bool *)field = true;
		return 0;
	case GEOFW_OPT_DURATION:
		if (o->aux)
			*(bool *)((char *)cmd + o->aux) = true;
		if (!v)
			return 0;
		if (geofw_duration_parse(v, &secs, msg, sizeof(msg)))
			return geofw_errf(err, errlen, -EINVAL, "%s: --%s: %s", d->name, o->name, msg);
		if (o->max && secs > (__u64)o->max)
			return geofw_errf(err, errlen, -EINVAL, "%s: --%s: %s: at most %lld seconds",
				    d->name, o->name, geofw_echo(v, eb), o->max);
		put_number(o, cmd, secs);
		return 0;
	case GEOFW_OPT_COUNT:
		if (parse_count(v, (unsigned long long)o->max, &n) || !n)
			return geofw_errf(err, errlen, -EINVAL,
				    "%s: --%s: %s: expected a number from 1 to %lld",
				    d->name, o->name, geofw_echo(v, eb), o->max);
		put_number(o, cmd, n);
		return 0;
	case GEOFW_OPT_ACTION:
		return parse_block_action(d->name, v, field, err, errlen);
	case GEOFW_OPT_TEXT:
		if (geofw_store_check_text(v, strlen(v), (size_t)o->max, o->name, msg, sizeof(msg)))
			return geofw_errf(err, errlen, -EINVAL, "%s: --%s: %s", d->name, o->name, msg);
		return set_text(field, v, err, errlen);
	case GEOFW_OPT_SOURCE:
		if (!*v || geofw_store_check_text(v, strlen(v), (size_t)o->max, o->name,
						  msg, sizeof(msg)))
			return geofw_errf(err, errlen, -EINVAL, "%s: --%s: %s", d->name, o->name,
					  *v ? msg : "empty");
		if (o->no_reserved && source_reserved(v))
			return geofw_errf(err, errlen, -EINVAL, "%s: --%s: '%s' names a source "
					  "filled by geofwd itself (reserved: fleet, crowdsec, "
					  "config, ratelimit, import:NAME, feed:NAME, in any case, "
					  "blanks around them too)", d->name, o->name,
					  geofw_echo(v, eb));
		return set_text(field, v, err, errlen);
	case GEOFW_OPT_SCOPE:
		if (*(int *)field && *(int *)field != o->value)
			return geofw_errf(err, errlen, -EINVAL, "%s: --local and --fleet "
					  "exclude each other", d->name);
		*(int *)field = (int)o->value;
		return 0;
	case GEOFW_OPT_PORTS:
		if (geofw_ports_parse(v, field, msg, sizeof(msg)))
			return geofw_errf(err, errlen, -EINVAL, "%s: --%s: %s", d->name, o->name, msg);
		*(bool *)((char *)cmd + o->aux) = true;
		return 0;
	case GEOFW_OPT_PATH:
		if (check_path(d, o, v, err, errlen))
			return -EINVAL;
		return set_text(field, v, err, errlen);
	case GEOFW_OPT_PATHS:
		if (check_path(d, o, v, err, errlen))
			return -EINVAL;
		count = (int *)((char *)cmd + o->aux);
		if (*count >= o->max)
			return o->max > 1 ?
				geofw_errf(err, errlen, -EINVAL, "%s: --%s: more than %lld databases",
					   d->name, o->name, o->max) :
				geofw_errf(err, errlen, -EINVAL, "%s: --%s: one ASN database",
					   d->name, o->name);
		return set_text((char **)field + (*count)++, v, err, errlen);
	}
	return geofw_errf(err, errlen, -EINVAL, "%s: internal error: option --%s", d->name,
			  o->name);
}

/* Why an option is not accepted by d: it belongs to fwctl, to other
 * commands, or to nobody. */
static int bad_option(const struct geofw_cmd_desc *d, const char *word, const char *lname,
		      char sname, char *err, size_t errlen)
{
	char eb[GEOFW_ECHO_BUFLEN];
	size_t i;

	for (i = 0; i < geofw_cmd_n_global_opts; i++) {
		const struct geofw_cmd_option *g = &geofw_cmd_global_opts[i];

		if (g->key == G_JSON || g->key == G_HELP)
			continue;	/* every command has them */
		if (lname ? !strcmp(g->name, lname) : sname && g->short_name == sname)
			return geofw_errf(err, errlen, -EINVAL,
				    "%s: '%s' is an option of fwctl: put it before the command",
				    d->name, geofw_echo(word, eb));
	}
	if (lname)
		for (i = 0; i < geofw_cmd_n_all_opts; i++)
			if (!strcmp(geofw_cmd_all_opts[i]->name, lname))
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
		return geofw_errf(err, errlen, -EINVAL, "%s: '%s': neither a country code, a "
				  "prefix nor an AS (%s)", d->name, geofw_echo(v, eb), msg);
	if (t.is_asn) {
		for (i = 0; i < cmd->n_asns; i++)
			if (cmd->asns[i] == t.asn)
				return 0;
		cmd->asns[cmd->n_asns++] = t.asn;
	} else if (t.is_country) {
		for (i = 0; i < cmd->n_countries; i++)
			if (cmd->countries[i] == t.country)
				return 0;
		cmd->countries[cmd->n_countries++] = t.country;
	} else {
		for (i = 0; i < cmd->n_cidrs; i++)
			if (!geofw_cidr_cmp(&cmd->cidrs[i], &t.prefix))
				return 0;
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
		/* A prefix named twice is one rule, counted once (as countries
		 * and ASes are). */
		for (i = 0; i < cmd->n_cidrs; i++)
			if (!geofw_cidr_cmp(&cmd->cidrs[i], &cmd->cidrs[cmd->n_cidrs]))
				return 0;
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
	if (n == 1 && geofw_cmd_group_find(w[0]) >= 0)
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

/*
 * A rule's expiry is now + TTL in UNIX seconds, and the rule store keeps
 * none past GEOFW_DURATION_MAX (store.c, "expiry out of range"): a TTL that
 * reaches past it is refused here, naming the limit, rather than by geofwd.
 */
static int check_ttl(const struct geofw_cmd_desc *d, const struct geofw_cmd *cmd,
		     char *err, size_t errlen)
{
	time_t now = time(NULL);
	__u64 left = now > 0 && (__u64)now < GEOFW_DURATION_MAX ?
		     GEOFW_DURATION_MAX - (__u64)now : 0;
	char year[16] = "?";
	time_t limit = (time_t)GEOFW_DURATION_MAX;
	struct tm tm;

	if (cmd->ttl <= left)
		return 0;
	if (gmtime_r(&limit, &tm))
		strftime(year, sizeof(year), "%Y", &tm);
	return geofw_errf(err, errlen, -EINVAL, "%s: --ttl: %llu seconds: the expiry would be "
			  "past the rule store's limit (UNIX time %llu, in the year %s): at "
			  "most %llu seconds from now", d->name, (unsigned long long)cmd->ttl,
			  (unsigned long long)GEOFW_DURATION_MAX, year, (unsigned long long)left);
}

/* What the words allow alone but not together. */
static int check_combination(const struct geofw_cmd_desc *d, struct geofw_cmd *cmd,
			     char *err, size_t errlen)
{
	if (cmd->ttl && check_ttl(d, cmd, err, errlen))
		return -EINVAL;
	if (d->id == GEOFW_CMD_PORT_POLICY) {
		if (cmd->allow_only && !cmd->n_cidrs && !cmd->n_countries && !cmd->n_asns)
			return geofw_errf(err, errlen, -EINVAL, "%s: allow-only: missing the "
					  "countries, prefixes and ASes allowed", d->name);
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
	/* geofwd checks these too (an implied fleet scope, FleetScope =, is
	 * known there only); given on the line, they are usage errors. */
	if (cmd->source && cmd->scope == GEOFW_CMD_SCOPE_FLEET)
		return geofw_errf(err, errlen, -EINVAL, "%s: --source and --fleet exclude each "
				  "other (a fleet rule has source fleet; --local keeps it on "
				  "this host)", d->name);
	if (cmd->replace && cmd->scope == GEOFW_CMD_SCOPE_FLEET)
		return geofw_errf(err, errlen, -EINVAL, "%s: --replace and --fleet exclude each "
				  "other: --replace is for local lists only (the fleet holds "
				  "the prefixes, not the list); remove fleet rules with "
				  "del-block --fleet", d->name);
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

/* What a command's options store when they are not given (cmdopts.c). */
static void cmd_defaults(const struct geofw_cmd_desc *d, struct geofw_cmd *cmd)
{
	const struct geofw_cmd_option *o;
	size_t i;

	for (i = 0; (o = option_at(d, i)); i++) {
		if (!o->has_def)
			continue;
		if (o->type == GEOFW_OPT_ACTION)
			*(int *)((char *)cmd + o->off) = (int)o->def;
		else
			put_number(o, cmd, (unsigned long long)o->def);
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

static int parse_cmd(int argc, char *const *argv, struct geofw_cmd *cmd,
		     char *err, size_t errlen)
{
	const struct geofw_cmd_desc *d;
	bool seen[GEOFW_CMD_MAX_OPTS + 2] = { false }, help = false, opts_done = false;
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
	if (geofw_cmd_group_find(w0) >= 0) {
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
	cmd_defaults(d, cmd);

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
		int k, r;

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
			k = cmd_option(d, lname, 0);
			if (k < 0 && !first_err[0])
				bad_option(d, a, lname, 0, first_err, sizeof(first_err));
			if (eq)
				val = eq + 1;
		} else {
			k = a[2] ? -1 : cmd_option(d, NULL, a[1]);
			if (k < 0 && !first_err[0])
				bad_option(d, a, NULL, a[2] ? 0 : a[1], first_err,
					   sizeof(first_err));
		}
		if (k < 0)
			continue;
		o = option_at(d, (size_t)k);
		if (o->type == GEOFW_OPT_HELP) {
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
		if (seen[k] && o->type != GEOFW_OPT_PATHS) {
			geofw_errf(first_err, sizeof(first_err), -EINVAL,
			     "%s: option '--%s' given twice", d->name, o->name);
			continue;
		}
		seen[k] = true;
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
	if (npos && (d->pos_kind == P_ASN || d->pos_kind == P_PORT_POLICY)) {
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

/* A -j or --json word after the command word, before any "--": every
 * command takes it, so a refused line still says how to answer. */
static bool json_word(int argc, char *const *argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		const char *a = arg_at(argv, i);

		if (!strcmp(a, "--"))
			break;
		if (!strcmp(a, "-j") || !strcmp(a, "--json"))
			return true;
	}
	return false;
}

int geofw_cmd_parse(int argc, char *const *argv, struct geofw_cmd *cmd,
		    char *err, size_t errlen)
{
	int ret = parse_cmd(argc, argv, cmd, err, errlen);

	if (ret && argc > 0 && argv)
		cmd->json = json_word(argc, argv);
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
