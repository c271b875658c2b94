// SPDX-License-Identifier: GPL-2.0-only
/*
 * geofw.conf keys of the rule sources: the fleet (NATS), CrowdSec's LAPI and
 * threat feeds, with the checks of keys that only mean something together.
 */
#include "config_int.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "msg.h"
#include "cidr.h"
#include "countries.h"
#include "importlist.h"
#include "log.h"
#include "maps.h"
#include "readfile.h"
#include "responder.h"

/* ---- fleet ---------------------------------------------------------------- */

/*
 * nats://HOST:PORT or tls://HOST:PORT (HOST: a name, an IPv4 address or a
 * bracketed IPv6 one).  The port is required: 4222 is only a convention and a
 * fleet spread over several ports on one host is how it is tested.
 */
static int check_fleet_url(struct parser *p, const char *url)
{
	char eb[GEOFW_ECHO_BUFLEN];
	const char *host, *end, *port;
	unsigned long pn;
	size_t i;

	if (strlen(url) >= GEOFW_CONF_FLEET_URL_LEN)
		return conf_fail(p, "URL longer than %d bytes", GEOFW_CONF_FLEET_URL_LEN - 1);
	if (!strncmp(url, "nats://", 7))
		host = url + 7;
	else if (!strncmp(url, "tls://", 6))
		host = url + 6;
	else
		return conf_fail(p, "\"%s\" is not nats://HOST:PORT or tls://HOST:PORT",
				 geofw_echo(url, eb));
	if (strchr(host, '@'))
		return conf_fail(p,
				 "\"%s\": credentials do not go in the URL; use FleetCredentials "
				 "or FleetUser and FleetPasswordFile", geofw_echo(url, eb));
	if (host[0] == '[') {
		end = strchr(host, ']');
		if (!end || end == host + 1 || end[1] != ':')
			return conf_fail(p, "\"%s\": expected [V6ADDR]:PORT", geofw_echo(url, eb));
		for (i = 1; host + i < end; i++)
			if (!isxdigit((unsigned char)host[i]) && host[i] != ':' && host[i] != '.')
				return conf_fail(p, "\"%s\": bad IPv6 address", geofw_echo(url,
						 eb));
		port = end + 2;
	} else {
		end = strrchr(host, ':');
		if (!end || end == host)
			return conf_fail(p, "\"%s\": missing HOST:PORT", geofw_echo(url, eb));
		for (i = 0; host + i < end; i++) {
			char ch = host[i];

			if (!isalnum((unsigned char)ch) && ch != '.' && ch != '-')
				return conf_fail(p, "\"%s\": bad host name", geofw_echo(url, eb));
		}
		port = end + 1;
	}
	if (!*port)
		return conf_fail(p, "\"%s\": missing port", geofw_echo(url, eb));
	return conf_parse_number(p, port, 1, 65535, &pn);
}

int conf_parse_fleet_servers(struct parser *p, char *val)
{
	struct geofw_conf *c = p->c;
	char *cursor = val, *w;
	int n = 0, i;

	while ((w = conf_next_word(&cursor))) {
		if (n == GEOFW_CONF_MAX_FLEET_SERVERS)
			return conf_fail(p, "more than %d servers", GEOFW_CONF_MAX_FLEET_SERVERS);
		if (check_fleet_url(p, w))
			return -EINVAL;
		for (i = 0; i < n; i++)
			if (!strcmp(c->fleet_servers[i], w))
				return conf_fail(p, "%s listed twice", w);
		conf_set_str(c->fleet_servers[n], sizeof(c->fleet_servers[n]), w);
		n++;
	}
	c->n_fleet_servers = n;
	return 0;
}

/* An optional path: empty means none. */
static int parse_opt_path(struct parser *p, const char *val, char *dst, size_t size)
{
	if (!*val) {
		memset(dst, 0, size);
		return 0;
	}
	return conf_parse_path(p, val, dst, size);
}

/* What JetStream accepts as a KV bucket name. */
int conf_parse_fleet_bucket(struct parser *p, char *val)
{
	char eb[GEOFW_ECHO_BUFLEN];
	size_t i, len = strlen(val);

	if (len >= GEOFW_CONF_FLEET_BUCKET_LEN)
		return conf_fail(p, "longer than %d characters", GEOFW_CONF_FLEET_BUCKET_LEN - 1);
	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)val[i]) && val[i] != '_' && val[i] != '-')
			return conf_fail(p,
					 "\"%s\" is not a bucket name (letters, digits, _ and -)",
					 geofw_echo(val, eb));
	conf_set_str(p->c->fleet_bucket, sizeof(p->c->fleet_bucket), val);
	return 0;
}

int conf_parse_fleet_creds(struct parser *p, char *val)
{
	return parse_opt_path(p, val, p->c->fleet_creds, sizeof(p->c->fleet_creds));
}

int conf_parse_fleet_user(struct parser *p, char *val)
{
	char eb[GEOFW_ECHO_BUFLEN];
	size_t len = strlen(val);

	if (len >= GEOFW_CONF_FLEET_USER_LEN)
		return conf_fail(p, "longer than %d bytes", GEOFW_CONF_FLEET_USER_LEN - 1);
	if (strpbrk(val, " \t"))
		return conf_fail(p, "\"%s\": a user name cannot contain blanks", geofw_echo(val,
				 eb));
	conf_set_str(p->c->fleet_user, sizeof(p->c->fleet_user), val);
	return 0;
}

int conf_parse_fleet_password_file(struct parser *p, char *val)
{
	return parse_opt_path(p, val, p->c->fleet_password_file, sizeof(p->c->fleet_password_file));
}

int conf_parse_fleet_tls_ca(struct parser *p, char *val)
{
	return parse_opt_path(p, val, p->c->fleet_tls_ca, sizeof(p->c->fleet_tls_ca));
}

int conf_parse_fleet_replicas(struct parser *p, char *val)
{
	unsigned long v;

	/* JetStream's own limit on stream replicas. */
	if (conf_parse_number(p, val, 1, 5, &v))
		return -EINVAL;
	p->c->fleet_replicas = (int)v;
	return 0;
}

const struct choice conf_fleet_scopes[] = {
	{ "fleet", GEOFW_FLEET_SCOPE_FLEET },
	{ "local", GEOFW_FLEET_SCOPE_LOCAL },
	{ NULL, 0 },
};

/* Keys that only mean something together, checked once the file is read
 * (conf_fail_pair: the line of the key to fix). */
int conf_check_fleet(struct parser *p)
{
	const struct geofw_conf *c = p->c;

	if (c->fleet_creds[0] && c->fleet_user[0])
		return conf_fail_pair(p, "FleetUser",
				      "FleetCredentials and FleetUser are exclusive: give one");
	if (c->fleet_user[0] && !c->fleet_password_file[0])
		return conf_fail_pair(p, "FleetUser", "FleetUser needs FleetPasswordFile");
	if (c->fleet_password_file[0] && !c->fleet_user[0])
		return conf_fail_pair(p, "FleetPasswordFile", "FleetPasswordFile needs FleetUser");
	return 0;
}

/* ---- CrowdSec ---------------------------------------------------------------- */

/* http://HOST[:PORT][/PATH] or https://...: LAPI's base URL.  The API key
 * goes in CrowdSecAPIKeyFile, never in the URL. */
int conf_parse_crowdsec_url(struct parser *p, char *val)
{
	char eb[GEOFW_ECHO_BUFLEN];
	const char *host;
	size_t hl;

	if (!*val) {
		memset(p->c->crowdsec_url, 0, sizeof(p->c->crowdsec_url));
		return 0;
	}
	if (strlen(val) >= GEOFW_CONF_URL_LEN)
		return conf_fail(p, "URL longer than %d bytes", GEOFW_CONF_URL_LEN - 1);
	if (!strncmp(val, "http://", 7))
		host = val + 7;
	else if (!strncmp(val, "https://", 8))
		host = val + 8;
	else
		return conf_fail(p, "\"%s\" is not an http:// or https:// URL", geofw_echo(val,
				 eb));
	hl = strcspn(host, "/?#");
	if (!hl)
		return conf_fail(p, "\"%s\": missing host", geofw_echo(val, eb));
	if (memchr(host, '@', hl))
		return conf_fail(p, "\"%s\": credentials do not go in the URL; the API key goes in "
				 "CrowdSecAPIKeyFile", geofw_echo(val, eb));
	if (strpbrk(val, " \t?#"))
		return conf_fail(p, "\"%s\": a base URL without blanks, query or fragment",
				 geofw_echo(val, eb));
	conf_set_str(p->c->crowdsec_url, sizeof(p->c->crowdsec_url), val);
	return 0;
}

int conf_parse_crowdsec_key_file(struct parser *p, char *val)
{
	return parse_opt_path(p, val, p->c->crowdsec_key_file, sizeof(p->c->crowdsec_key_file));
}

int conf_parse_crowdsec_tls_ca(struct parser *p, char *val)
{
	return parse_opt_path(p, val, p->c->crowdsec_tls_ca, sizeof(p->c->crowdsec_tls_ca));
}

int conf_parse_crowdsec_interval(struct parser *p, char *val)
{
	char msg[GEOFW_ERRLEN];
	__u64 s;

	if (geofw_duration_parse(val, &s, msg, sizeof(msg)))
		return conf_fail(p, "%s", msg);
	if (s > 3600)
		return conf_fail(p, "%s is more than 1h: decisions would come in too late",
				 val);
	p->c->crowdsec_interval = (__u32)s;
	return 0;
}

const struct choice conf_crowdsec_scopes[] = {
	{ "ip", GEOFW_CS_SCOPE_IP },
	{ "range", GEOFW_CS_SCOPE_RANGE },
	{ "country", GEOFW_CS_SCOPE_COUNTRY },
	{ "as", GEOFW_CS_SCOPE_AS },
	{ NULL, 0 },
};

int conf_parse_crowdsec_scopes(struct parser *p, char *val)
{
	char *cursor = val, *w;
	unsigned int bits = 0;

	while ((w = conf_next_word(&cursor))) {
		const struct choice *ch;

		for (ch = conf_crowdsec_scopes; ch->name && strcmp(ch->name, w); ch++)
			;
		if (!ch->name)
			return conf_fail_not(p, w);
		if (bits & (unsigned int)ch->value)
			return conf_fail(p, "%s listed twice", w);
		bits |= (unsigned int)ch->value;
	}
	p->c->crowdsec_scopes = bits;
	return 0;
}

static int crowdsec_action_set(struct geofw_conf *c, const char *type, int action)
{
	int i;

	for (i = 0; i < c->n_crowdsec_actions; i++) {
		if (!strcmp(c->crowdsec_actions[i].type, type)) {
			c->crowdsec_actions[i].action = action;
			return 0;
		}
	}
	if (i == GEOFW_CONF_MAX_CS_ACTIONS)
		return -ENOSPC;
	conf_set_str(c->crowdsec_actions[i].type, sizeof(c->crowdsec_actions[i].type), type);
	c->crowdsec_actions[i].action = action;
	c->n_crowdsec_actions++;
	return 0;
}

void conf_crowdsec_action_defaults(struct geofw_conf *c)
{
	memset(c->crowdsec_actions, 0, sizeof(c->crowdsec_actions));
	c->n_crowdsec_actions = 0;
	crowdsec_action_set(c, "ban", GEOFW_ACT_DROP);
	crowdsec_action_set(c, "captcha", GEOFW_ACT_HTTP403);
}

/* "TYPE:ACTION ...": ban:drop captcha:http403 (the defaults) and any other
 * decision type LAPI may hand out. */
int conf_parse_crowdsec_action(struct parser *p, char *val)
{
	char eb[GEOFW_ECHO_BUFLEN], seen[GEOFW_CONF_MAX_CS_ACTIONS][GEOFW_CONF_CS_TYPE_LEN];
	char *cursor = val, *w, *colon;
	int n_seen = 0, i, a;
	size_t j;

	conf_crowdsec_action_defaults(p->c);
	while ((w = conf_next_word(&cursor))) {
		colon = strchr(w, ':');
		if (!colon || colon == w)
			return conf_fail(p, "\"%s\" is not TYPE:ACTION (e.g. ban:drop)",
					 geofw_echo(w, eb));
		*colon = '\0';
		if (strlen(w) >= GEOFW_CONF_CS_TYPE_LEN)
			return conf_fail(p, "decision type longer than %d characters",
					 GEOFW_CONF_CS_TYPE_LEN - 1);
		for (j = 0; w[j]; j++)
			if (!islower((unsigned char)w[j]) && !isdigit((unsigned char)w[j]) &&
			    w[j] != '_' && w[j] != '-')
				return conf_fail(p,
						"\"%s\" is not a decision type (a-z, 0-9, _ and -)",
						 geofw_echo(w, eb));
		for (i = 0; i < n_seen; i++)
			if (!strcmp(seen[i], w))
				return conf_fail(p, "%s listed twice", w);
		a = geofw_action_parse(colon + 1);
		if (a < 0 || !(BLOCKING & (1u << a)))
			return conf_fail(p, "%s: \"%s\" is not one of drop, reject, http403, log",
					 w,
					 geofw_echo(colon + 1, eb));
		if (n_seen == GEOFW_CONF_MAX_CS_ACTIONS ||
		    crowdsec_action_set(p->c, w, a))
			return conf_fail(p, "more than %d decision types",
					 GEOFW_CONF_MAX_CS_ACTIONS);
		conf_set_str(seen[n_seen], sizeof(seen[n_seen]), w);
		n_seen++;
	}
	return 0;
}

int conf_check_crowdsec(struct parser *p)
{
	const struct geofw_conf *c = p->c;

	if (c->crowdsec_url[0] && !c->crowdsec_key_file[0])
		return conf_fail_pair(p, "CrowdSecURL", "CrowdSecURL needs CrowdSecAPIKeyFile "
				      "(the key of `cscli bouncers add`)");
	if (c->crowdsec_url[0] && !c->crowdsec_scopes)
		return conf_fail_pair(p, "CrowdSecScopes",
				      "CrowdSecScopes is empty: no decision would be asked for");
	return 0;
}

/* ---- threat feeds ------------------------------------------------------------- */


static int feed_url(struct parser *p, const char *w, char *dst, size_t size)
{
	char eb[GEOFW_ECHO_BUFLEN];
	const char *host;

	if (strlen(w) >= size)
		return conf_fail(p, "URL or path longer than %zu bytes", size - 1);
	if (w[0] == '/')
		return conf_parse_path(p, w, dst, size);
	if (!strncmp(w, "http://", 7))
		host = w + 7;
	else if (!strncmp(w, "https://", 8))
		host = w + 8;
	else
		return conf_fail(p, "\"%s\" is not an http:// or https:// URL or an absolute path",
				 geofw_echo(w, eb));
	if (!*host || *host == '/')
		return conf_fail(p, "\"%s\": missing host", geofw_echo(w, eb));
	conf_set_str(dst, size, w);
	return 0;
}

/* NAME URL-or-FILE [every DURATION] [action ACTION] [format FORMAT] [column N] */
int conf_parse_feed(struct parser *p, char *val)
{
	struct geofw_conf *c = p->c;
	struct geofw_conf_feed f = { .every = DEFAULT_FEED_EVERY, .action = GEOFW_ACT_DROP,
				     .format = GEOFW_FORMAT_PLAIN };
	char eb[GEOFW_ECHO_BUFLEN], msg[GEOFW_ERRLEN];
	char *cursor = val, *w, *arg;
	unsigned int given = 0;
	unsigned long col;
	size_t i;
	int k;

	w = conf_next_word(&cursor);
	if (!w)
		return 0;	/* "Feed =": none (the shipped file's line) */
	if (strlen(w) >= sizeof(f.name))
		return conf_fail(p, "name longer than %zu characters", sizeof(f.name) - 1);
	for (i = 0; w[i]; i++)
		if (!isalnum((unsigned char)w[i]) && !strchr("._-", w[i]))
			return conf_fail(p,
					 "\"%s\" is not a feed name (letters, digits, ., _ and -)",
					 geofw_echo(w, eb));
	conf_set_str(f.name, sizeof(f.name), w);
	for (k = 0; k < c->n_feeds; k++)
		if (!strcmp(c->feeds[k].name, f.name))
			return conf_fail(p, "feed %s is defined twice", f.name);
	w = conf_next_word(&cursor);
	if (!w)
		return conf_fail(p, "%s: missing URL or file", f.name);
	if (feed_url(p, w, f.url, sizeof(f.url)))
		return -EINVAL;
	while ((w = conf_next_word(&cursor))) {
		static const char *const opt[] = { "every", "action", "format", "column" };
		unsigned int o;

		for (o = 0; o < 4 && strcmp(w, opt[o]); o++)
			;
		if (o == 4)
			return conf_fail(p,
					 "%s: \"%s\" is not one of every, action, format, column",
					 f.name, geofw_echo(w, eb));
		if (given & (1u << o))
			return conf_fail(p, "%s: %s given twice", f.name, w);
		given |= 1u << o;
		arg = conf_next_word(&cursor);
		if (!arg)
			return conf_fail(p, "%s: %s needs a value", f.name, w);
		switch (o) {
		case 0: {
			__u64 s;

			if (geofw_duration_parse(arg, &s, msg, sizeof(msg)))
				return conf_fail(p, "%s: every: %s", f.name, msg);
			f.every = (__u32)s;
			break;
		}
		case 1:
			f.action = geofw_action_parse(arg);
			if (f.action < 0 || !(BLOCKING & (1u << f.action)))
				return conf_fail(p, "%s: action \"%s\" is not one of drop, reject, "
						 "http403, log", f.name, geofw_echo(arg, eb));
			break;
		case 2:
			f.format = geofw_list_format_parse(arg);
			if (f.format <= GEOFW_FORMAT_ANY)
				return conf_fail(p,
						 "%s: format \"%s\" is not one of plain, spamhaus, "
						 "netset, csv", f.name, geofw_echo(arg, eb));
			break;
		default:
			if (conf_parse_number(p, arg, 1, 64, &col))
				return -EINVAL;
			f.column = (unsigned int)col;
			break;
		}
	}
	if (f.column && f.format != GEOFW_FORMAT_CSV)
		return conf_fail(p, "%s: column is for format csv", f.name);
	if (f.format == GEOFW_FORMAT_CSV && !f.column)
		f.column = 1;
	if (c->n_feeds == GEOFW_CONF_MAX_FEEDS)
		return conf_fail(p, "more than %d feeds", GEOFW_CONF_MAX_FEEDS);
	c->feeds[c->n_feeds++] = f;
	return 0;
}
