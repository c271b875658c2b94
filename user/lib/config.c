// SPDX-License-Identifier: GPL-2.0-only
/*
 * geofw.conf parser: the file, line by line (the keys: config_keys.c and
 * config_sources.c).  One pass over the bytes, one line at a time, into a
 * private copy of the configuration that replaces the caller's only when the
 * whole file is good, so a bad reload never leaves half a policy in force.
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

/* ---- messages ------------------------------------------------------------ */


/* "FILE:LINE: Key: message", the key prefix only once the key is known. */
__attribute__((format(printf, 2, 3)))
int conf_fail(struct parser *p, const char *fmt, ...)
{
	size_t n;
	va_list ap;
	int r;

	if (!p->err || !p->errlen)
		return -EINVAL;
	if (p->key)
		r = snprintf(p->err, p->errlen, "%s:%u: %s: ", p->name, p->line, p->key->name);
	else
		r = snprintf(p->err, p->errlen, "%s:%u: ", p->name, p->line);
	n = r < 0 ? 0 : (size_t)r;
	if (n < p->errlen) {
		va_start(ap, fmt);
		vsnprintf(p->err + n, p->errlen - n, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* Append to a NUL-terminated buffer, truncating silently. */
static void append(char *buf, size_t len, const char *s)
{
	size_t n = strlen(buf);

	if (n < len)
		snprintf(buf + n, len - n, "%s", s);
}

/* "one of a, b, c" or the key's own description. */
const char *conf_describe(const struct key *k, char *buf, size_t len)
{
	const char *sep = "one of ";
	unsigned int a;
	size_t i;

	if (k->expect)
		return k->expect;
	buf[0] = '\0';
	if (k->choices) {
		for (i = 0; k->choices[i].name; i++, sep = ", ") {
			append(buf, len, sep);
			append(buf, len, k->choices[i].name);
		}
	} else {
		for (a = 0; a < GEOFW_ACT_MAX; a++) {
			if (!(k->actions & (1u << a)))
				continue;
			append(buf, len, sep);
			append(buf, len, geofw_action_name(a));
			sep = ", ";
		}
	}
	return buf;
}

int conf_fail_not(struct parser *p, const char *val)
{
	char eb[GEOFW_ECHO_BUFLEN], db[128];

	return conf_fail(p, "\"%s\" is not %s", geofw_echo(val, eb), conf_describe(p->key, db,
			 sizeof(db)));
}

/* ---- tokens -------------------------------------------------------------- */

static bool is_blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

static char *trim(char *s)
{
	char *e;

	while (is_blank(*s))
		s++;
	e = s + strlen(s);
	while (e > s && is_blank(e[-1]))
		e--;
	*e = '\0';
	return s;
}

/* Next blank-separated word of a list, NULL at the end; like strtok_r
 * without its hidden state. */
char *conf_next_word(char **cursor)
{
	char *s = *cursor, *w;

	while (is_blank(*s))
		s++;
	if (!*s)
		return NULL;
	w = s;
	while (*s && !is_blank(*s))
		s++;
	if (*s)
		*s++ = '\0';
	*cursor = s;
	return w;
}

/*
 * Decimal without sign or leading zeros, min..max.  Range errors are told
 * apart from syntax errors because "0" and "65536" are typos of a different
 * kind than "0x50" or "80,".
 */
int conf_parse_number(struct parser *p, const char *text, unsigned long min,
		      unsigned long max, unsigned long *out)
{
	char eb[GEOFW_ECHO_BUFLEN];
	unsigned long v = 0;
	size_t i;

	for (i = 0; text[i]; i++) {
		if (text[i] < '0' || text[i] > '9')
			return conf_fail(p, "\"%s\" is not a decimal number", geofw_echo(text, eb));
		/* Saturate: the value only has to be known to exceed max. */
		if (v <= max)
			v = v * 10 + (unsigned long)(text[i] - '0');
	}
	if (!i)
		return conf_fail(p, "missing number");
	if (text[0] == '0' && text[1])
		return conf_fail(p, "\"%s\" has a leading zero", geofw_echo(text, eb));
	if (v < min || v > max)
		return conf_fail(p, "\"%s\" is out of range %lu-%lu", geofw_echo(text, eb), min,
				 max);
	*out = v;
	return 0;
}

/* Copy into a fixed buffer, clearing the tail so memcmp() of two
 * configurations stays meaningful. */
void conf_set_str(char *dst, size_t size, const char *src)
{
	memset(dst, 0, size);
	memcpy(dst, src, strnlen(src, size - 1));
}

/* Absolute path, one word (a space would make "# comment" ambiguous and is
 * more likely a mistake than a name), no control characters (checked for the
 * whole line already). */
int conf_parse_path(struct parser *p, const char *val, char *dst, size_t size)
{
	char eb[GEOFW_ECHO_BUFLEN];
	size_t len = strlen(val);

	if (val[0] != '/')
		return conf_fail(p, "\"%s\" is not an absolute path", geofw_echo(val, eb));
	if (strpbrk(val, " \t"))
		return conf_fail(p, "\"%s\" is not one path (paths cannot contain spaces)",
				 geofw_echo(val, eb));
	if (len >= size)
		return conf_fail(p, "path longer than %zu bytes", size - 1);
	conf_set_str(dst, size, val);
	return 0;
}

/* ---- lines --------------------------------------------------------------- */

static const struct key *find_key(const char *name)
{
	size_t i;

	for (i = 0; i < conf_n_keys; i++)
		if (!strcmp(conf_keys[i].name, name))
			return &conf_keys[i];
	return NULL;
}

int conf_fail_pair(struct parser *p, const char *key, const char *why)
{
	const struct key *k = find_key(key);
	unsigned int line = k && p->seen ? p->seen[k - conf_keys] : 0;

	if (p->err && p->errlen) {
		if (line)
			snprintf(p->err, p->errlen, "%s:%u: %s", p->name, line, why);
		else
			snprintf(p->err, p->errlen, "%s: %s", p->name, why);
	}
	return -EINVAL;
}

static int unknown_key(struct parser *p, const char *name)
{
	char eb[GEOFW_ECHO_BUFLEN];
	size_t i;

	/* Keys are case-sensitive; a case slip deserves a hint, not a hunt. */
	for (i = 0; i < conf_n_keys; i++)
		if (!strcasecmp(conf_keys[i].name, name))
			return conf_fail(p, "%s: unknown key (did you mean %s?)", geofw_echo(name,
					 eb),
					 conf_keys[i].name);
	return conf_fail(p, "%s: unknown key", geofw_echo(name, eb));
}

/* One line without its newline; text is a NUL-terminated private copy. */
static int parse_line(struct parser *p, char *text)
{
	char eb[GEOFW_ECHO_BUFLEN], db[128];
	const struct key *k;
	char *eq, *name, *val, *s, ch;

	/* '#' starts a comment at the start of a line or after a blank, so
	 * that "eth#1" or a path with '#' stay usable. */
	for (s = text; *s; s++) {
		if (*s == '#' && (s == text || is_blank(s[-1]))) {
			*s = '\0';
			break;
		}
	}
	text = trim(text);
	if (!*text)
		return 0;

	eq = strchr(text, '=');
	if (!eq) {
		/* "XdpMode native": name the key when the first word is one. */
		s = text + strcspn(text, " \t");
		ch = *s;
		*s = '\0';
		p->key = find_key(text);
		*s = ch;
		if (p->key)
			return conf_fail(p, "missing \"=\" between the key and its value");
		return conf_fail(p, "expected \"Key = Value\", got \"%s\"", geofw_echo(text, eb));
	}
	*eq = '\0';
	name = trim(text);
	val = trim(eq + 1);
	if (!*name)
		return conf_fail(p, "missing key before \"=\"");

	k = find_key(name);
	if (!k)
		return unknown_key(p, name);
	p->key = k;
	if (p->seen[k - conf_keys] && !k->repeat)
		return conf_fail(p, "given twice (first on line %u)", p->seen[k - conf_keys]);
	p->seen[k - conf_keys] = p->line;
	if (!*val && !k->may_be_empty)
		return conf_fail(p, "missing value; expected %s", conf_describe(k, db, sizeof(db)));
	return k->parse(p, val);
}

void geofw_conf_defaults(struct geofw_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->xdp_mode = GEOFW_XDP_AUTO;
	conf_set_str(c->geoip_db[0], sizeof(c->geoip_db[0]), DEFAULT_GEOIP_DB);
	c->n_geoip_db = 1;
	c->geoip_enabled = true;
	c->country_mode = GEOFW_MODE_BLOCK_LISTED;
	c->country_action = GEOFW_ACT_DROP;
	c->unknown_action = GEOFW_ACT_PASS;
	/* A runt has no IP header to judge, so it goes to the stack as if
	 * geofw were not there; a bad IP header may be an evasion attempt. */
	c->malformed_action = GEOFW_ACT_DROP;
	c->runt_action = GEOFW_ACT_PASS;
	c->http_ports[0] = 80;
	c->http_ports[1] = 8080;
	c->n_http_ports = 2;
	conf_set_str(c->http403_body, sizeof(c->http403_body), DEFAULT_HTTP403_BODY);
	c->http403_ref_retention = 30 * 86400;
	conf_set_str(c->state_dir, sizeof(c->state_dir), DEFAULT_STATE_DIR);
	conf_set_str(c->socket_path, sizeof(c->socket_path), DEFAULT_SOCKET);
	conf_set_str(c->socket_group, sizeof(c->socket_group), DEFAULT_SOCKET_GROUP);
	c->log_level = GEOFW_LOG_INFO;
	c->drop_log_rate = DEFAULT_DROP_LOG_RATE;
	conf_set_str(c->fleet_bucket, sizeof(c->fleet_bucket), "geofw");
	c->fleet_scope = GEOFW_FLEET_SCOPE_FLEET;
	c->fleet_replicas = 3;
	c->rl_v6_prefix = GEOFW_RL_V6_DEFAULT;
	c->asn_action = GEOFW_ACT_DROP;
	c->crowdsec_interval = 10;
	c->crowdsec_scopes = GEOFW_CS_SCOPE_IP | GEOFW_CS_SCOPE_RANGE | GEOFW_CS_SCOPE_COUNTRY |
			     GEOFW_CS_SCOPE_AS;
	conf_crowdsec_action_defaults(c);
	c->feed_min_prefix4 = DEFAULT_FEED_MIN_PREFIX4;
	c->feed_min_prefix6 = DEFAULT_FEED_MIN_PREFIX6;
	c->feed_max_entries = DEFAULT_FEED_MAX_ENTRIES;
	c->feed_max_drop_share = DEFAULT_FEED_MAX_DROP_SHARE;
}

int geofw_conf_parse_buf(const char *buf, size_t len, const char *name,
			 struct geofw_conf *c, char *err, size_t errlen)
{
	unsigned int seen[CONF_KEYS_MAX] = { 0 };
	struct geofw_conf *tmp;
	char line[GEOFW_CONF_LINE_MAX + 1];
	struct parser p = {
		.name = name ? name : "<config>",
		.err = err,
		.errlen = errlen,
		.seen = seen,
	};
	size_t pos = 0, n, i;
	const char *nl;
	int r = 0;

	if (err && errlen)
		err[0] = '\0';
	/* The caller's copy is replaced only once the whole file is good;
	 * ~13 KiB, so not on the stack next to the line buffer. */
	tmp = malloc(sizeof(*tmp));
	if (!tmp) {
		if (err && errlen)
			snprintf(err, errlen, "%s: out of memory", p.name);
		return -ENOMEM;
	}
	geofw_conf_defaults(tmp);
	p.c = tmp;

	while (pos < len && !r) {
		p.line++;
		p.key = NULL;
		nl = memchr(buf + pos, '\n', len - pos);
		n = nl ? (size_t)(nl - (buf + pos)) : len - pos;
		/* The limit is on the line, not on a CRLF file's CR. */
		if (n > GEOFW_CONF_LINE_MAX + (size_t)(n && buf[pos + n - 1] == '\r')) {
			r = conf_fail(&p, "line longer than %d bytes", GEOFW_CONF_LINE_MAX);
			break;
		}
		memcpy(line, buf + pos, n);
		pos += n + (nl ? 1 : 0);
		/* CRLF files come from editors we do not control; a CR anywhere
		 * else is a control character like any other. */
		if (n && line[n - 1] == '\r')
			n--;
		line[n] = '\0';
		for (i = 0; i < n && !r; i++) {
			unsigned char ch = line[i];

			if (!ch)
				r = conf_fail(&p, "NUL byte");
			else if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
				r = conf_fail(&p, "control character 0x%02x", ch);
		}
		if (!r)
			r = parse_line(&p, line);
	}

	if (!r)
		r = conf_check_fleet(&p);
	if (!r)
		r = conf_check_crowdsec(&p);
	if (!r)
		*c = *tmp;
	free(tmp);
	return r;
}

int geofw_conf_load(const char *path, struct geofw_conf *c, char *err, size_t errlen)
{
	char *buf;
	size_t len;
	int r;

	r = geofw_read_file(path, GEOFW_CONF_FILE_MAX, 0, &buf, &len, err, errlen);
	if (r)
		return r;
	r = geofw_conf_parse_buf(buf, len, path, c, err, errlen);
	free(buf);
	return r;
}

void geofw_conf_to_kernel(const struct geofw_conf *c, struct geofw_config *kcfg)
{
	int i;

	kcfg->country_mode = (__u8)c->country_mode;
	kcfg->country_block_action = (__u8)c->country_action;
	kcfg->unknown_country_action = (__u8)c->unknown_action;
	/* Malformed covers every class but runts, including the spare slots,
	 * so a class added later starts with the operator's choice. */
	for (i = 0; i < GEOFW_MF_MAX; i++)
		kcfg->malformed_action[i] = (__u8)c->malformed_action;
	kcfg->malformed_action[GEOFW_MF_RUNT] = (__u8)c->runt_action;
}
