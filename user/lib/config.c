// SPDX-License-Identifier: GPL-2.0-only
/*
 * geofw.conf parser.  One pass over the bytes, one line at a time, into a
 * private copy of the configuration that replaces the caller's only when the
 * whole file is good, so a bad reload never leaves half a policy in force.
 */
#include "config.h"
#include "msg.h"

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

#include "cidr.h"
#include "countries.h"
#include "importlist.h"
#include "log.h"
#include "maps.h"
#include "readfile.h"
#include "responder.h"

/* Echo of the input in messages: bounded, printable ASCII only, since the
 * message ends up in the journal and on an operator's terminal. */

#define DEFAULT_GEOIP_DB	"/var/lib/GeoIP/GeoLite2-Country.mmdb"
#define DEFAULT_HTTP403_BODY	"/etc/geofw/403.html"
#define DEFAULT_STATE_DIR	"/var/lib/geofw"
#define DEFAULT_SOCKET		"/run/geofw/geofwd.sock"
#define DEFAULT_SOCKET_GROUP	"geofw"
#define DEFAULT_DROP_LOG_RATE	100
#define DROP_LOG_RATE_MAX	100000

struct key;

struct parser {
	const char *name;		/* file name for messages */
	unsigned int line;
	const struct key *key;		/* key of the current line, if known */
	char *err;
	size_t errlen;
	struct geofw_conf *c;		/* the private copy being filled */
	unsigned int *seen;		/* per key: line it was set on, 0 = not yet */
};

struct choice {
	const char *name;
	int value;
};

struct key {
	const char *name;
	int (*parse)(struct parser *p, char *val);
	/* What the key accepts, for messages: either a fixed text, a list of
	 * choices, or a set of actions (bit per enum geofw_action). */
	const char *expect;
	const struct choice *choices;
	unsigned int actions;
	/* Where a choice or an action is stored (an int of struct geofw_conf). */
	size_t off;
	/* An empty value means "none" (lists whose default is empty). */
	bool may_be_empty;
	/* May be given on several lines, each adding one (Feed, Http403Page, Port*, RateLimit). */
	bool repeat;
	/* parse_uint: the range of an unsigned int stored at off. */
	unsigned long min, max;
};

/* ---- messages ------------------------------------------------------------ */


/* "FILE:LINE: Key: message", the key prefix only once the key is known. */
__attribute__((format(printf, 2, 3)))
static int fail(struct parser *p, const char *fmt, ...)
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
static const char *describe(const struct key *k, char *buf, size_t len)
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

static int fail_not(struct parser *p, const char *val)
{
	char eb[GEOFW_ECHO_BUFLEN], db[128];

	return fail(p, "\"%s\" is not %s", geofw_echo(val, eb), describe(p->key, db, sizeof(db)));
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
static char *next_word(char **cursor)
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
static int parse_number(struct parser *p, const char *text, unsigned long min,
			unsigned long max, unsigned long *out)
{
	char eb[GEOFW_ECHO_BUFLEN];
	unsigned long v = 0;
	size_t i;

	for (i = 0; text[i]; i++) {
		if (text[i] < '0' || text[i] > '9')
			return fail(p, "\"%s\" is not a decimal number", geofw_echo(text, eb));
		/* Saturate: the value only has to be known to exceed max. */
		if (v <= max)
			v = v * 10 + (unsigned long)(text[i] - '0');
	}
	if (!i)
		return fail(p, "missing number");
	if (text[0] == '0' && text[1])
		return fail(p, "\"%s\" has a leading zero", geofw_echo(text, eb));
	if (v < min || v > max)
		return fail(p, "\"%s\" is out of range %lu-%lu", geofw_echo(text, eb), min, max);
	*out = v;
	return 0;
}

/* Copy into a fixed buffer, clearing the tail so memcmp() of two
 * configurations stays meaningful. */
static void set_str(char *dst, size_t size, const char *src)
{
	memset(dst, 0, size);
	memcpy(dst, src, strnlen(src, size - 1));
}

/* Absolute path, one word (a space would make "# comment" ambiguous and is
 * more likely a mistake than a name), no control characters (checked for the
 * whole line already). */
static int parse_path(struct parser *p, const char *val, char *dst, size_t size)
{
	char eb[GEOFW_ECHO_BUFLEN];
	size_t len = strlen(val);

	if (val[0] != '/')
		return fail(p, "\"%s\" is not an absolute path", geofw_echo(val, eb));
	if (strpbrk(val, " \t"))
		return fail(p, "\"%s\" is not one path (paths cannot contain spaces)",
			    geofw_echo(val, eb));
	if (len >= size)
		return fail(p, "path longer than %zu bytes", size - 1);
	set_str(dst, size, val);
	return 0;
}

/* ---- keys ---------------------------------------------------------------- */

static int *int_field(struct parser *p)
{
	return (int *)((char *)p->c + p->key->off);
}

static int parse_choice(struct parser *p, char *val)
{
	const struct choice *ch;

	for (ch = p->key->choices; ch->name; ch++) {
		if (!strcmp(val, ch->name)) {
			*int_field(p) = ch->value;
			return 0;
		}
	}
	return fail_not(p, val);
}

static int parse_action(struct parser *p, char *val)
{
	int a = geofw_action_parse(val);

	if (a < 0 || !(p->key->actions & (1u << a)))
		return fail_not(p, val);
	*int_field(p) = a;
	return 0;
}

/*
 * The kernel's dev_valid_name(): at most 15 bytes, not "." or "..", no '/',
 * ':' or white space.  Control characters cannot reach here.
 */
static int parse_interfaces(struct parser *p, char *val)
{
	struct geofw_conf *c = p->c;
	char eb[GEOFW_ECHO_BUFLEN];
	char *w;
	int i;

	memset(c->ifaces, 0, sizeof(c->ifaces));
	c->n_ifaces = 0;
	while ((w = next_word(&val))) {
		if (strlen(w) >= GEOFW_CONF_IFNAMSIZ)
			return fail(p, "\"%s\" is longer than %d characters",
				    geofw_echo(w, eb), GEOFW_CONF_IFNAMSIZ - 1);
		if (!strcmp(w, ".") || !strcmp(w, "..") || strpbrk(w, "/:"))
			return fail(p, "\"%s\" is not an interface name (no \"/\" or \":\", not \".\" or \"..\")",
				    geofw_echo(w, eb));
		for (i = 0; i < c->n_ifaces; i++)
			if (!strcmp(c->ifaces[i], w))
				return fail(p, "\"%s\" is listed twice", geofw_echo(w, eb));
		if (c->n_ifaces == GEOFW_CONF_MAX_IFACES)
			return fail(p, "more than %d interfaces", GEOFW_CONF_MAX_IFACES);
		set_str(c->ifaces[c->n_ifaces++], GEOFW_CONF_IFNAMSIZ, w);
	}
	return 0;
}

static int parse_geoip_db(struct parser *p, char *val)
{
	struct geofw_conf *c = p->c;
	char eb[GEOFW_ECHO_BUFLEN];
	char *w;
	int i;

	memset(c->geoip_db, 0, sizeof(c->geoip_db));
	c->n_geoip_db = 0;
	c->geoip_enabled = false;
	if (!strcmp(val, "none"))
		return 0;
	while ((w = next_word(&val))) {
		if (!strcmp(w, "none"))
			return fail(p, "\"none\" cannot be listed with databases");
		if (c->n_geoip_db == GEOFW_CONF_MAX_GEOIP_DB)
			return fail(p, "more than %d databases", GEOFW_CONF_MAX_GEOIP_DB);
		if (c->n_geoip_db && w[0] != '/')
			return fail(p, "\"%s\" is not an absolute path (databases are separated "
				    "by spaces; a path cannot contain one)", geofw_echo(w, eb));
		if (parse_path(p, w, c->geoip_db[c->n_geoip_db], sizeof(c->geoip_db[0])))
			return -EINVAL;
		for (i = 0; i < c->n_geoip_db; i++)
			if (!strcmp(c->geoip_db[i], w))
				return fail(p, "\"%s\" is listed twice", geofw_echo(w, eb));
		c->n_geoip_db++;
	}
	c->geoip_enabled = true;
	return 0;
}

static int parse_asn_db(struct parser *p, char *val)
{
	memset(p->c->asn_db, 0, sizeof(p->c->asn_db));
	if (!strcmp(val, "none"))
		return 0;
	return parse_path(p, val, p->c->asn_db, sizeof(p->c->asn_db));
}

/* BlockASN / AllowASN: "AS64500" or "64500" each; an AS listed twice, or in
 * both lists, is an error (which of the two would the operator mean?). */
static int parse_asn_list(struct parser *p, char *val)
{
	struct geofw_conf *c = p->c;
	bool block = p->key->name[0] == 'B';
	__u32 *list = block ? c->block_asn : c->allow_asn;
	const __u32 *other = block ? c->allow_asn : c->block_asn;
	int *n = block ? &c->n_block_asn : &c->n_allow_asn;
	int n_other = block ? c->n_allow_asn : c->n_block_asn, i;
	char eb[GEOFW_ECHO_BUFLEN];
	__u32 asn;
	char *w;

	memset(list, 0, sizeof(c->block_asn));
	*n = 0;
	while ((w = next_word(&val))) {
		if (geofw_asn_parse(w, &asn))
			return fail(p, "\"%s\" is not an AS number (AS64500 or 64500, 1-4294967295)",
				    geofw_echo(w, eb));
		for (i = 0; i < *n; i++)
			if (list[i] == asn)
				return fail(p, "AS%u is listed twice", asn);
		for (i = 0; i < n_other; i++)
			if (other[i] == asn)
				return fail(p, "AS%u is in both BlockASN and AllowASN", asn);
		if (*n + n_other == GEOFW_CONF_MAX_ASN)
			return fail(p, "more than %d ASes in BlockASN and AllowASN together",
				    GEOFW_CONF_MAX_ASN);
		list[(*n)++] = asn;
	}
	return 0;
}

/*
 * PortAllow = PORTS CIDR...
 * PortBlock = PORTS [ACTION] CIDR...
 * PortBlockCountry = PORTS [ACTION] CC...
 * PortPolicy = PORTS allow-only [ACTION] CC|CIDR...
 * Several lines of each add up.  ACTION: drop (default), reject, http403, log.
 */
static int parse_port_rule(struct parser *p, char *val)
{
	struct geofw_conf *c = p->c;
	const char *name = p->key->name;
	int kind = !strcmp(name, "PortAllow") ? GEOFW_PRULE_ALLOW :
		   !strcmp(name, "PortBlock") ? GEOFW_PRULE_BLOCK :
		   !strcmp(name, "PortBlockCountry") ? GEOFW_PRULE_COUNTRY : GEOFW_PRULE_ONLY;
	char msg[GEOFW_ERRLEN], eb[GEOFW_ECHO_BUFLEN];
	struct geofw_prule r = {};
	int a, n = 0;
	char *w;

	w = next_word(&val);
	if (!w)
		return 0;	/* "PortAllow =": none (the default file's lines) */
	if (geofw_ports_parse(w, &r.ports, msg, sizeof(msg)))
		return fail(p, "%s", msg);
	r.kind = kind;
	r.action = kind == GEOFW_PRULE_ALLOW ? GEOFW_ACT_PASS : GEOFW_ACT_DROP;
	if (kind == GEOFW_PRULE_ONLY) {
		w = next_word(&val);
		if (!w || strcmp(w, "allow-only"))
			return fail(p, "expected allow-only after the ports, got \"%s\"",
				    w ? geofw_echo(w, eb) : "");
	}
	while ((w = next_word(&val))) {
		struct geofw_prule *out;

		if (!n && kind != GEOFW_PRULE_ALLOW && (a = geofw_action_parse(w)) >= 0) {
			if (a == GEOFW_ACT_PASS)
				return fail(p, "pass is not a blocking action (drop, reject, "
					    "http403 or log)");
			r.action = (__u8)a;
			continue;
		}
		if (geofw_prule_target_parse(w, &r, msg, sizeof(msg)))
			return fail(p, "\"%s\": %s", geofw_echo(w, eb), msg);
		if (r.is_country != (kind == GEOFW_PRULE_COUNTRY) && kind != GEOFW_PRULE_ONLY)
			return fail(p, "\"%s\": expected %s", geofw_echo(w, eb),
				    kind == GEOFW_PRULE_COUNTRY ? "country codes" : "prefixes");
		if (c->n_port_rules == GEOFW_CONF_MAX_PORT_RULES)
			return fail(p, "more than %d port-scoped rules", GEOFW_CONF_MAX_PORT_RULES);
		out = &c->port_rules[c->n_port_rules++];
		*out = r;
		if (out->is_country)
			memset(&out->prefix, 0, sizeof(out->prefix));
		else
			out->country = 0;
		n++;
	}
	if (!n)
		return fail(p, "missing the %s", kind == GEOFW_PRULE_COUNTRY ? "country codes" :
			    kind == GEOFW_PRULE_ONLY ? "countries and prefixes allowed" : "prefixes");
	return 0;
}

/* RateLimit = NAME RATE burst N per /V4 [/V6] [ports P] [syn-only] then drop|ban D */
static int parse_ratelimit(struct parser *p, char *val)
{
	struct geofw_conf *c = p->c;
	char msg[GEOFW_ERRLEN];
	struct geofw_ratelimit r;
	int i;

	if (!*val)
		return 0;
	if (geofw_ratelimit_parse(val, &r, msg, sizeof(msg)))
		return fail(p, "%s", msg);
	for (i = 0; i < c->n_ratelimits; i++)
		if (!strcmp(c->ratelimits[i].name, r.name))
			return fail(p, "%s: a rate limit of this name exists", r.name);
	if (c->n_ratelimits == GEOFW_MAX_RATELIMITS)
		return fail(p, "more than %d rate limits", GEOFW_MAX_RATELIMITS);
	c->ratelimits[c->n_ratelimits++] = r;
	return 0;
}

static int parse_rl_v6_prefix(struct parser *p, char *val)
{
	unsigned long v;

	if (parse_number(p, val, 1, 128, &v))
		return -EINVAL;
	p->c->rl_v6_prefix = (int)v;
	return 0;
}

static bool is_field_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch >= '0' && ch <= '9') || ch == '_';
}

static int parse_geoip_field(struct parser *p, char *val)
{
	struct geofw_conf *c = p->c;
	char eb[GEOFW_ECHO_BUFLEN];
	size_t i;
	char *w;

	memset(c->geoip_field, 0, sizeof(c->geoip_field));
	c->n_geoip_field = 0;
	while ((w = next_word(&val))) {
		for (i = 0; w[i]; i++)
			if (!is_field_char(w[i]))
				return fail(p, "\"%s\" is not a field name (letters, digits, \"_\")",
					    geofw_echo(w, eb));
		if (i >= GEOFW_CONF_FIELD_LEN)
			return fail(p, "\"%s\" is longer than %d characters",
				    geofw_echo(w, eb), GEOFW_CONF_FIELD_LEN - 1);
		if (c->n_geoip_field == GEOFW_CONF_MAX_FIELD)
			return fail(p, "more than %d components", GEOFW_CONF_MAX_FIELD);
		set_str(c->geoip_field[c->n_geoip_field++], GEOFW_CONF_FIELD_LEN, w);
	}
	return 0;
}

static int parse_countries(struct parser *p, char *val)
{
	struct geofw_conf *c = p->c;
	char eb[GEOFW_ECHO_BUFLEN], cc[3];
	int id, i;
	char *w;

	memset(c->countries, 0, sizeof(c->countries));
	c->n_countries = 0;
	while ((w = next_word(&val))) {
		if (geofw_cc_parse(w, cc, NULL, 0))
			return fail(p, "\"%s\" is not a two-letter country code (ISO 3166-1 alpha-2)",
				    geofw_echo(w, eb));
		id = geofw_country_id(cc);
		if (!id)
			return fail(p, "\"%s\" is not a known country code", geofw_echo(w, eb));
		for (i = 0; i < c->n_countries; i++)
			if (c->countries[i] == id)
				return fail(p, "\"%s\" is listed twice", geofw_echo(w, eb));
		/* Unreachable with distinct known ids, but the array is fixed. */
		if (c->n_countries == GEOFW_COUNTRY_MAX_ID)
			return fail(p, "more than %d countries", GEOFW_COUNTRY_MAX_ID);
		c->countries[c->n_countries++] = (__u8)id;
	}
	return 0;
}

static int parse_http_ports(struct parser *p, char *val)
{
	struct geofw_conf *c = p->c;
	char eb[GEOFW_ECHO_BUFLEN];
	unsigned long port;
	char *w;
	int i;

	memset(c->http_ports, 0, sizeof(c->http_ports));
	c->n_http_ports = 0;
	while ((w = next_word(&val))) {
		if (parse_number(p, w, 1, 65535, &port))
			return -EINVAL;
		for (i = 0; i < c->n_http_ports; i++)
			if (c->http_ports[i] == port)
				return fail(p, "\"%s\" is listed twice", geofw_echo(w, eb));
		if (c->n_http_ports == GEOFW_MAX_HTTP_PORTS)
			return fail(p, "more than %d ports", GEOFW_MAX_HTTP_PORTS);
		c->http_ports[c->n_http_ports++] = (__u16)port;
	}
	return 0;
}

/* RFC 6052 §2.2: the lengths at which an IPv4 address can follow a prefix. */
static int parse_nat64(struct parser *p, char *val)
{
	struct geofw_conf *c = p->c;
	char eb[GEOFW_ECHO_BUFLEN], err[GEOFW_ERRLEN];
	struct geofw_cidr cidr;
	char *w;
	int i;

	memset(c->nat64, 0, sizeof(c->nat64));
	c->n_nat64 = 0;
	while ((w = next_word(&val))) {
		if (geofw_cidr_parse(w, 0, &cidr, err, sizeof(err)))
			return fail(p, "\"%s\": %s", geofw_echo(w, eb), err);
		if (cidr.family != 6 || !strchr(w, '/'))
			return fail(p, "\"%s\" is not an IPv6 prefix (ADDR/LEN)", geofw_echo(w, eb));
		if (cidr.prefixlen != 32 && cidr.prefixlen != 40 && cidr.prefixlen != 48 &&
		    cidr.prefixlen != 56 && cidr.prefixlen != 64 && cidr.prefixlen != 96)
			return fail(p, "\"%s\": a NAT64 prefix is /32, /40, /48, /56, /64 or /96 "
				    "(RFC 6052)", geofw_echo(w, eb));
		if (cidr.prefixlen == 96 && cidr.addr[8])
			return fail(p, "\"%s\": bits 64-71 of a /96 NAT64 prefix must be zero "
				    "(RFC 6052)", geofw_echo(w, eb));
		for (i = 0; i < c->n_nat64; i++)
			if (c->nat64[i].prefixlen == cidr.prefixlen &&
			    !memcmp(c->nat64[i].addr, cidr.addr, 16))
				return fail(p, "\"%s\" is listed twice", geofw_echo(w, eb));
		if (c->n_nat64 == GEOFW_MAX_NAT64)
			return fail(p, "more than %d prefixes", GEOFW_MAX_NAT64);
		memcpy(c->nat64[c->n_nat64].addr, cidr.addr, 16);
		c->nat64[c->n_nat64++].prefixlen = cidr.prefixlen;
	}
	return 0;
}

static const struct choice off_on[] = {
	{ "off", 0 },
	{ "on", 1 },
	{ NULL, 0 },
};

static int parse_http403_body(struct parser *p, char *val)
{
	return parse_path(p, val, p->c->http403_body, sizeof(p->c->http403_body));
}

/* Http403Page = REASON FILE, CC FILE or REASON:CC FILE (repeatable). */
static int parse_http403_page(struct parser *p, char *val)
{
	struct geofw_conf *c = p->c;
	char eb[GEOFW_ECHO_BUFLEN], cc[3], *sel = next_word(&val), *path, *colon;
	struct geofw_conf_page pg = { .cls = -1, .country = -1, .line = p->line };
	int i, ret;

	if (!sel)
		return 0;	/* "Http403Page =": no page besides Http403Body */
	path = next_word(&val);
	if (!path || next_word(&val))
		return fail(p, "expected SELECTOR FILE: a reason (country, asn, ip, ratelimit, "
			    "feed, crowdsec), a country code or REASON:CC, then an absolute path");
	colon = strchr(sel, ':');
	if (colon)
		*colon = '\0';
	/* Reasons are lower-case words, so "ip" is never India (IN is). */
	pg.cls = geofw_resp_class_parse(sel);
	if (pg.cls < 0 && (colon || geofw_cc_parse(sel, cc, NULL, 0)))
		return fail(p, "\"%s\" is neither a reason (country, asn, ip, ratelimit, feed, "
			    "crowdsec) nor a country code", geofw_echo(sel, eb));
	if (colon || pg.cls < 0) {
		const char *code = colon ? colon + 1 : sel;

		if (geofw_cc_parse(code, cc, NULL, 0) || !(pg.country = geofw_country_id(cc)))
			return fail(p, "\"%s\" is not a known country code", geofw_echo(code, eb));
	}
	if ((ret = parse_path(p, path, pg.path, sizeof(pg.path))))
		return ret;
	for (i = 0; i < c->n_http403_pages; i++)
		if (c->http403_pages[i].cls == pg.cls && c->http403_pages[i].country == pg.country)
			return fail(p, "a page for these clients is already given on line %u",
				    c->http403_pages[i].line);
	if (c->n_http403_pages == GEOFW_CONF_MAX_PAGES)
		return fail(p, "more than %d pages", GEOFW_CONF_MAX_PAGES);
	c->http403_pages[c->n_http403_pages++] = pg;
	return 0;
}

/* off or on, into *dst. */
static int parse_off_on(struct parser *p, char *val, bool *dst)
{
	const struct choice *ch;

	for (ch = off_on; ch->name; ch++) {
		if (!strcmp(val, ch->name)) {
			*dst = ch->value;
			return 0;
		}
	}
	return fail_not(p, val);
}

static int parse_http403_ref_header(struct parser *p, char *val)
{
	return parse_off_on(p, val, &p->c->http403_ref_header);
}

static int parse_http403_ref_retention(struct parser *p, char *val)
{
	char eb[GEOFW_ECHO_BUFLEN], err[GEOFW_ERRLEN];
	__u64 s;

	if (geofw_duration_parse(val, &s, err, sizeof(err)))
		return fail(p, "\"%s\": %s", geofw_echo(val, eb), err);
	if (s < 3600 || s > GEOFW_CONF_REF_RETENTION_MAX)
		return fail(p, "\"%s\": between 1h and 45d (a code's minute repeats every 45.5 "
			    "days)", geofw_echo(val, eb));
	p->c->http403_ref_retention = s;
	return 0;
}

static int parse_state_dir(struct parser *p, char *val)
{
	return parse_path(p, val, p->c->state_dir, sizeof(p->c->state_dir));
}

static int parse_socket(struct parser *p, char *val)
{
	return parse_path(p, val, p->c->socket_path, sizeof(p->c->socket_path));
}

/* What useradd and groupadd accept by default on Debian. */
static int parse_socket_group(struct parser *p, char *val)
{
	char eb[GEOFW_ECHO_BUFLEN], db[128];
	size_t i, len = strlen(val);
	bool ok = len && len < GEOFW_CONF_GROUP_LEN;

	for (i = 0; ok && i < len; i++) {
		char ch = val[i];

		if ((ch >= 'a' && ch <= 'z') || ch == '_')
			continue;
		if (i > 0 && ((ch >= '0' && ch <= '9') || ch == '-'))
			continue;
		if (i > 0 && i == len - 1 && ch == '$')
			continue;
		ok = false;
	}
	if (!ok)
		return fail(p, "\"%s\" is not %s", geofw_echo(val, eb),
			    describe(p->key, db, sizeof(db)));
	set_str(p->c->socket_group, sizeof(p->c->socket_group), val);
	return 0;
}

static int parse_log_level(struct parser *p, char *val)
{
	int level = geofw_log_level_parse(val);

	if (level < 0)
		return fail_not(p, val);
	p->c->log_level = level;
	return 0;
}

/* "off", "ADDR:PORT" or "[V6ADDR]:PORT". */
static int parse_metrics(struct parser *p, char *val)
{
	struct geofw_conf *c = p->c;
	struct sockaddr_storage ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	char eb[GEOFW_ECHO_BUFLEN], eb2[GEOFW_ECHO_BUFLEN];
	char *addr, *port, *colon;
	unsigned long pn;
	bool v6;

	if (!strcmp(val, "off")) {
		c->metrics_enabled = false;
		memset(&c->metrics_addr, 0, sizeof(c->metrics_addr));
		return 0;
	}
	if (!strcmp(val, "on")) {
		/* The default listener: loopback only, the port geofw registers. */
		memset(&ss, 0, sizeof(ss));
		sin->sin_family = AF_INET;
		sin->sin_port = htons(9745);
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		c->metrics_addr = ss;
		c->metrics_enabled = true;
		return 0;
	}
	if (val[0] == '[') {
		addr = val + 1;
		colon = strchr(addr, ']');
		if (!colon || colon[1] != ':')
			return fail_not(p, val);
		*colon = '\0';
		port = colon + 2;
		v6 = true;
	} else {
		colon = strrchr(val, ':');
		if (!colon)
			return fail_not(p, val);
		*colon = '\0';
		if (strchr(val, ':')) {
			*colon = ':';
			return fail(p, "\"%s\": an IPv6 address goes in brackets, e.g. [::1]:9745",
				    geofw_echo(val, eb));
		}
		addr = val;
		port = colon + 1;
		v6 = false;
	}

	memset(&ss, 0, sizeof(ss));
	if (v6 && inet_pton(AF_INET6, addr, &sin6->sin6_addr) != 1)
		return fail(p, "\"%s\" is not an IPv6 address", geofw_echo(addr, eb));
	if (!v6 && inet_pton(AF_INET, addr, &sin->sin_addr) != 1)
		return fail(p, "\"%s\" is not an IPv4 address", geofw_echo(addr, eb));
	if (!*port)
		return fail(p, "missing port after \"%s:\"", geofw_echo(addr, eb2));
	if (parse_number(p, port, 1, 65535, &pn))
		return -EINVAL;
	if (v6) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((__u16)pn);
	} else {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((__u16)pn);
	}
	c->metrics_addr = ss;
	c->metrics_enabled = true;
	return 0;
}

static int parse_drop_log(struct parser *p, char *val)
{
	return parse_off_on(p, val, &p->c->drop_log);
}

static int parse_drop_log_rate(struct parser *p, char *val)
{
	unsigned long v;

	if (parse_number(p, val, 1, DROP_LOG_RATE_MAX, &v))
		return -EINVAL;
	p->c->drop_log_rate = (__u32)v;
	return 0;
}

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
		return fail(p, "URL longer than %d bytes", GEOFW_CONF_FLEET_URL_LEN - 1);
	if (!strncmp(url, "nats://", 7))
		host = url + 7;
	else if (!strncmp(url, "tls://", 6))
		host = url + 6;
	else
		return fail(p, "\"%s\" is not nats://HOST:PORT or tls://HOST:PORT",
			    geofw_echo(url, eb));
	if (strchr(host, '@'))
		return fail(p, "\"%s\": credentials do not go in the URL; use FleetCredentials "
			    "or FleetUser and FleetPasswordFile", geofw_echo(url, eb));
	if (host[0] == '[') {
		end = strchr(host, ']');
		if (!end || end == host + 1 || end[1] != ':')
			return fail(p, "\"%s\": expected [V6ADDR]:PORT", geofw_echo(url, eb));
		for (i = 1; host + i < end; i++)
			if (!isxdigit((unsigned char)host[i]) && host[i] != ':' && host[i] != '.')
				return fail(p, "\"%s\": bad IPv6 address", geofw_echo(url, eb));
		port = end + 2;
	} else {
		end = strrchr(host, ':');
		if (!end || end == host)
			return fail(p, "\"%s\": missing HOST:PORT", geofw_echo(url, eb));
		for (i = 0; host + i < end; i++) {
			char ch = host[i];

			if (!isalnum((unsigned char)ch) && ch != '.' && ch != '-')
				return fail(p, "\"%s\": bad host name", geofw_echo(url, eb));
		}
		port = end + 1;
	}
	if (!*port)
		return fail(p, "\"%s\": missing port", geofw_echo(url, eb));
	return parse_number(p, port, 1, 65535, &pn);
}

static int parse_fleet_servers(struct parser *p, char *val)
{
	struct geofw_conf *c = p->c;
	char *cursor = val, *w;
	int n = 0, i;

	while ((w = next_word(&cursor))) {
		if (n == GEOFW_CONF_MAX_FLEET_SERVERS)
			return fail(p, "more than %d servers", GEOFW_CONF_MAX_FLEET_SERVERS);
		if (check_fleet_url(p, w))
			return -EINVAL;
		for (i = 0; i < n; i++)
			if (!strcmp(c->fleet_servers[i], w))
				return fail(p, "%s listed twice", w);
		set_str(c->fleet_servers[n], sizeof(c->fleet_servers[n]), w);
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
	return parse_path(p, val, dst, size);
}

/* What JetStream accepts as a KV bucket name. */
static int parse_fleet_bucket(struct parser *p, char *val)
{
	char eb[GEOFW_ECHO_BUFLEN];
	size_t i, len = strlen(val);

	if (len >= GEOFW_CONF_FLEET_BUCKET_LEN)
		return fail(p, "longer than %d characters", GEOFW_CONF_FLEET_BUCKET_LEN - 1);
	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)val[i]) && val[i] != '_' && val[i] != '-')
			return fail(p, "\"%s\" is not a bucket name (letters, digits, _ and -)",
				    geofw_echo(val, eb));
	set_str(p->c->fleet_bucket, sizeof(p->c->fleet_bucket), val);
	return 0;
}

static int parse_fleet_creds(struct parser *p, char *val)
{
	return parse_opt_path(p, val, p->c->fleet_creds, sizeof(p->c->fleet_creds));
}

static int parse_fleet_user(struct parser *p, char *val)
{
	char eb[GEOFW_ECHO_BUFLEN];
	size_t len = strlen(val);

	if (len >= GEOFW_CONF_FLEET_USER_LEN)
		return fail(p, "longer than %d bytes", GEOFW_CONF_FLEET_USER_LEN - 1);
	if (strpbrk(val, " \t"))
		return fail(p, "\"%s\": a user name cannot contain blanks", geofw_echo(val, eb));
	set_str(p->c->fleet_user, sizeof(p->c->fleet_user), val);
	return 0;
}

static int parse_fleet_password_file(struct parser *p, char *val)
{
	return parse_opt_path(p, val, p->c->fleet_password_file, sizeof(p->c->fleet_password_file));
}

static int parse_fleet_tls_ca(struct parser *p, char *val)
{
	return parse_opt_path(p, val, p->c->fleet_tls_ca, sizeof(p->c->fleet_tls_ca));
}

static int parse_fleet_replicas(struct parser *p, char *val)
{
	unsigned long v;

	/* JetStream's own limit on stream replicas. */
	if (parse_number(p, val, 1, 5, &v))
		return -EINVAL;
	p->c->fleet_replicas = (int)v;
	return 0;
}

static const struct choice fleet_scopes[] = {
	{ "fleet", GEOFW_FLEET_SCOPE_FLEET },
	{ "local", GEOFW_FLEET_SCOPE_LOCAL },
	{ NULL, 0 },
};

/* Keys that only mean something together, checked once the file is read:
 * "FILE: message" (no one line is at fault). */
static int check_fleet(struct parser *p)
{
	const struct geofw_conf *c = p->c;
	const char *why = NULL;

	if (c->fleet_creds[0] && c->fleet_user[0])
		why = "FleetCredentials and FleetUser are exclusive: give one";
	else if (c->fleet_user[0] && !c->fleet_password_file[0])
		why = "FleetUser needs FleetPasswordFile";
	else if (c->fleet_password_file[0] && !c->fleet_user[0])
		why = "FleetPasswordFile needs FleetUser";
	if (!why)
		return 0;
	if (p->err && p->errlen)
		snprintf(p->err, p->errlen, "%s: %s", p->name, why);
	return -EINVAL;
}

static const struct choice xdp_modes[] = {
	{ "native", GEOFW_XDP_NATIVE },
	{ "generic", GEOFW_XDP_GENERIC },
	{ "auto", GEOFW_XDP_AUTO },
	{ NULL, 0 },
};

static const struct choice country_modes[] = {
	{ "block", GEOFW_MODE_BLOCK_LISTED },
	{ "allow", GEOFW_MODE_ALLOW_LISTED },
	{ NULL, 0 },
};

#define ACT(a)		(1u << GEOFW_ACT_##a)
#define BLOCKING	(ACT(DROP) | ACT(REJECT) | ACT(HTTP403) | ACT(LOG))
#define FIELD(f)	offsetof(struct geofw_conf, f)

/* ---- CrowdSec ---------------------------------------------------------------- */

/* http://HOST[:PORT][/PATH] or https://...: LAPI's base URL.  The API key
 * goes in CrowdSecAPIKeyFile, never in the URL. */
static int parse_crowdsec_url(struct parser *p, char *val)
{
	char eb[GEOFW_ECHO_BUFLEN];
	const char *host;
	size_t hl;

	if (!*val) {
		memset(p->c->crowdsec_url, 0, sizeof(p->c->crowdsec_url));
		return 0;
	}
	if (strlen(val) >= GEOFW_CONF_URL_LEN)
		return fail(p, "URL longer than %d bytes", GEOFW_CONF_URL_LEN - 1);
	if (!strncmp(val, "http://", 7))
		host = val + 7;
	else if (!strncmp(val, "https://", 8))
		host = val + 8;
	else
		return fail(p, "\"%s\" is not an http:// or https:// URL", geofw_echo(val, eb));
	hl = strcspn(host, "/?#");
	if (!hl)
		return fail(p, "\"%s\": missing host", geofw_echo(val, eb));
	if (memchr(host, '@', hl))
		return fail(p, "\"%s\": credentials do not go in the URL; the API key goes in "
			    "CrowdSecAPIKeyFile", geofw_echo(val, eb));
	if (strpbrk(val, " \t?#"))
		return fail(p, "\"%s\": a base URL without blanks, query or fragment",
			    geofw_echo(val, eb));
	set_str(p->c->crowdsec_url, sizeof(p->c->crowdsec_url), val);
	return 0;
}

static int parse_crowdsec_key_file(struct parser *p, char *val)
{
	return parse_opt_path(p, val, p->c->crowdsec_key_file, sizeof(p->c->crowdsec_key_file));
}

static int parse_crowdsec_tls_ca(struct parser *p, char *val)
{
	return parse_opt_path(p, val, p->c->crowdsec_tls_ca, sizeof(p->c->crowdsec_tls_ca));
}

static int parse_crowdsec_interval(struct parser *p, char *val)
{
	char msg[GEOFW_ERRLEN];
	__u64 s;

	if (geofw_duration_parse(val, &s, msg, sizeof(msg)))
		return fail(p, "%s", msg);
	if (s > 3600)
		return fail(p, "%s is more than 1h: decisions would come in too late",
			    val);
	p->c->crowdsec_interval = (__u32)s;
	return 0;
}

static const struct choice crowdsec_scopes[] = {
	{ "ip", GEOFW_CS_SCOPE_IP },
	{ "range", GEOFW_CS_SCOPE_RANGE },
	{ "country", GEOFW_CS_SCOPE_COUNTRY },
	{ "as", GEOFW_CS_SCOPE_AS },
	{ NULL, 0 },
};

static int parse_crowdsec_scopes(struct parser *p, char *val)
{
	char *cursor = val, *w;
	unsigned int bits = 0;

	while ((w = next_word(&cursor))) {
		const struct choice *ch;

		for (ch = crowdsec_scopes; ch->name && strcmp(ch->name, w); ch++)
			;
		if (!ch->name)
			return fail_not(p, w);
		if (bits & (unsigned int)ch->value)
			return fail(p, "%s listed twice", w);
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
	set_str(c->crowdsec_actions[i].type, sizeof(c->crowdsec_actions[i].type), type);
	c->crowdsec_actions[i].action = action;
	c->n_crowdsec_actions++;
	return 0;
}

static void crowdsec_action_defaults(struct geofw_conf *c)
{
	memset(c->crowdsec_actions, 0, sizeof(c->crowdsec_actions));
	c->n_crowdsec_actions = 0;
	crowdsec_action_set(c, "ban", GEOFW_ACT_DROP);
	crowdsec_action_set(c, "captcha", GEOFW_ACT_HTTP403);
}

/* "TYPE:ACTION ...": ban:drop captcha:http403 (the defaults) and any other
 * decision type LAPI may hand out. */
static int parse_crowdsec_action(struct parser *p, char *val)
{
	char eb[GEOFW_ECHO_BUFLEN], seen[GEOFW_CONF_MAX_CS_ACTIONS][GEOFW_CONF_CS_TYPE_LEN];
	char *cursor = val, *w, *colon;
	int n_seen = 0, i, a;
	size_t j;

	crowdsec_action_defaults(p->c);
	while ((w = next_word(&cursor))) {
		colon = strchr(w, ':');
		if (!colon || colon == w)
			return fail(p, "\"%s\" is not TYPE:ACTION (e.g. ban:drop)",
				    geofw_echo(w, eb));
		*colon = '\0';
		if (strlen(w) >= GEOFW_CONF_CS_TYPE_LEN)
			return fail(p, "decision type longer than %d characters",
				    GEOFW_CONF_CS_TYPE_LEN - 1);
		for (j = 0; w[j]; j++)
			if (!islower((unsigned char)w[j]) && !isdigit((unsigned char)w[j]) &&
			    w[j] != '_' && w[j] != '-')
				return fail(p, "\"%s\" is not a decision type (a-z, 0-9, _ and -)",
					    geofw_echo(w, eb));
		for (i = 0; i < n_seen; i++)
			if (!strcmp(seen[i], w))
				return fail(p, "%s listed twice", w);
		a = geofw_action_parse(colon + 1);
		if (a < 0 || !(BLOCKING & (1u << a)))
			return fail(p, "%s: \"%s\" is not one of drop, reject, http403, log", w,
				    geofw_echo(colon + 1, eb));
		if (n_seen == GEOFW_CONF_MAX_CS_ACTIONS ||
		    crowdsec_action_set(p->c, w, a))
			return fail(p, "more than %d decision types", GEOFW_CONF_MAX_CS_ACTIONS);
		set_str(seen[n_seen], sizeof(seen[n_seen]), w);
		n_seen++;
	}
	return 0;
}

static int check_crowdsec(struct parser *p)
{
	const struct geofw_conf *c = p->c;
	const char *why = NULL;

	if (c->crowdsec_url[0] && !c->crowdsec_key_file[0])
		why = "CrowdSecURL needs CrowdSecAPIKeyFile (the key of `cscli bouncers add`)";
	else if (c->crowdsec_url[0] && !c->crowdsec_scopes)
		why = "CrowdSecScopes is empty: no decision would be asked for";
	if (!why)
		return 0;
	if (p->err && p->errlen)
		snprintf(p->err, p->errlen, "%s: %s", p->name, why);
	return -EINVAL;
}

/* ---- threat feeds ------------------------------------------------------------- */

#define DEFAULT_FEED_EVERY		3600
#define DEFAULT_FEED_MIN_PREFIX4	8
#define DEFAULT_FEED_MIN_PREFIX6	16
#define DEFAULT_FEED_MAX_ENTRIES	250000
#define DEFAULT_FEED_MAX_DROP_SHARE	50

static int feed_url(struct parser *p, const char *w, char *dst, size_t size)
{
	char eb[GEOFW_ECHO_BUFLEN];
	const char *host;

	if (strlen(w) >= size)
		return fail(p, "URL or path longer than %zu bytes", size - 1);
	if (w[0] == '/')
		return parse_path(p, w, dst, size);
	if (!strncmp(w, "http://", 7))
		host = w + 7;
	else if (!strncmp(w, "https://", 8))
		host = w + 8;
	else
		return fail(p, "\"%s\" is not an http:// or https:// URL or an absolute path",
			    geofw_echo(w, eb));
	if (!*host || *host == '/')
		return fail(p, "\"%s\": missing host", geofw_echo(w, eb));
	set_str(dst, size, w);
	return 0;
}

/* NAME URL-or-FILE [every DURATION] [action ACTION] [format FORMAT] [column N] */
static int parse_feed(struct parser *p, char *val)
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

	w = next_word(&cursor);
	if (!w)
		return 0;	/* "Feed =": none (the shipped file's line) */
	if (strlen(w) >= sizeof(f.name))
		return fail(p, "name longer than %zu characters", sizeof(f.name) - 1);
	for (i = 0; w[i]; i++)
		if (!isalnum((unsigned char)w[i]) && !strchr("._-", w[i]))
			return fail(p, "\"%s\" is not a feed name (letters, digits, ., _ and -)",
				    geofw_echo(w, eb));
	set_str(f.name, sizeof(f.name), w);
	for (k = 0; k < c->n_feeds; k++)
		if (!strcmp(c->feeds[k].name, f.name))
			return fail(p, "feed %s is defined twice", f.name);
	w = next_word(&cursor);
	if (!w)
		return fail(p, "%s: missing URL or file", f.name);
	if (feed_url(p, w, f.url, sizeof(f.url)))
		return -EINVAL;
	while ((w = next_word(&cursor))) {
		static const char *const opt[] = { "every", "action", "format", "column" };
		unsigned int o;

		for (o = 0; o < 4 && strcmp(w, opt[o]); o++)
			;
		if (o == 4)
			return fail(p, "%s: \"%s\" is not one of every, action, format, column",
				    f.name, geofw_echo(w, eb));
		if (given & (1u << o))
			return fail(p, "%s: %s given twice", f.name, w);
		given |= 1u << o;
		arg = next_word(&cursor);
		if (!arg)
			return fail(p, "%s: %s needs a value", f.name, w);
		switch (o) {
		case 0: {
			__u64 s;

			if (geofw_duration_parse(arg, &s, msg, sizeof(msg)))
				return fail(p, "%s: every: %s", f.name, msg);
			f.every = (__u32)s;
			break;
		}
		case 1:
			f.action = geofw_action_parse(arg);
			if (f.action < 0 || !(BLOCKING & (1u << f.action)))
				return fail(p, "%s: action \"%s\" is not one of drop, reject, "
					    "http403, log", f.name, geofw_echo(arg, eb));
			break;
		case 2:
			f.format = geofw_list_format_parse(arg);
			if (f.format <= GEOFW_FORMAT_ANY)
				return fail(p, "%s: format \"%s\" is not one of plain, spamhaus, "
					    "netset, csv", f.name, geofw_echo(arg, eb));
			break;
		default:
			if (parse_number(p, arg, 1, 64, &col))
				return -EINVAL;
			f.column = (unsigned int)col;
			break;
		}
	}
	if (f.column && f.format != GEOFW_FORMAT_CSV)
		return fail(p, "%s: column is for format csv", f.name);
	if (f.format == GEOFW_FORMAT_CSV && !f.column)
		f.column = 1;
	if (c->n_feeds == GEOFW_CONF_MAX_FEEDS)
		return fail(p, "more than %d feeds", GEOFW_CONF_MAX_FEEDS);
	c->feeds[c->n_feeds++] = f;
	return 0;
}

/* A number in the key's range into the unsigned int at its offset. */
static int parse_uint(struct parser *p, char *val)
{
	unsigned long v;

	if (parse_number(p, val, p->key->min, p->key->max, &v))
		return -EINVAL;
	*(unsigned int *)((char *)p->c + p->key->off) = (unsigned int)v;
	return 0;
}

/* "50%" (or "50"): 1-100; 100 lets any change through. */
static int parse_feed_max_drop_share(struct parser *p, char *val)
{
	size_t len = strlen(val);
	unsigned long v;

	if (len && val[len - 1] == '%')
		val[len - 1] = '\0';
	if (parse_number(p, val, 1, 100, &v))
		return -EINVAL;
	p->c->feed_max_drop_share = (unsigned int)v;
	return 0;
}

/* The order of the keys in packaging/geofw.conf and geofw.conf(5). */
static const struct key keys[] = {
	{ "Interfaces", parse_interfaces, .expect = "interface names", .may_be_empty = true },
	{ "XdpMode", parse_choice, .choices = xdp_modes, .off = FIELD(xdp_mode) },
	{ "GeoIPDatabase", parse_geoip_db, .expect = "absolute paths or none" },
	{ "GeoIPField", parse_geoip_field, .expect = "field names", .may_be_empty = true },
	{ "CountryMode", parse_choice, .choices = country_modes, .off = FIELD(country_mode) },
	{ "Countries", parse_countries, .expect = "country codes", .may_be_empty = true },
	{ "CountryAction", parse_action, .actions = BLOCKING, .off = FIELD(country_action) },
	{ "UnknownCountry", parse_action, .actions = ACT(PASS) | BLOCKING,
	  .off = FIELD(unknown_action) },
	{ "Malformed", parse_action, .actions = ACT(DROP) | ACT(PASS),
	  .off = FIELD(malformed_action) },
	{ "MalformedRunt", parse_action, .actions = ACT(DROP) | ACT(PASS),
	  .off = FIELD(runt_action) },
	{ "HttpPorts", parse_http_ports, .expect = "TCP ports 1-65535" },
	{ "Http403Body", parse_http403_body, .expect = "an absolute path" },
	{ "Http403Page", parse_http403_page, .expect = "SELECTOR FILE", .may_be_empty = true,
	  .repeat = true },
	{ "Http403RefHeader", parse_http403_ref_header, .choices = off_on },
	{ "Http403RefRetention", parse_http403_ref_retention,
	  .expect = "a duration between 1h and 45d" },
	{ "NAT64Prefix", parse_nat64, .expect = "IPv6 prefixes", .may_be_empty = true },
	{ "StateDirectory", parse_state_dir, .expect = "an absolute path" },
	{ "Socket", parse_socket, .expect = "an absolute path" },
	{ "SocketGroup", parse_socket_group,
	  .expect = "a group name ([a-z_][a-z0-9_-]*, at most 32 characters)" },
	{ "LogLevel", parse_log_level, .expect = "one of err, warning, info, debug" },
	{ "MetricsListen", parse_metrics, .expect = "ADDR:PORT, [V6ADDR]:PORT, on or off" },
	{ "DropLog", parse_drop_log, .choices = off_on },
	{ "DropLogRate", parse_drop_log_rate, .expect = "a number 1-100000" },
	{ "FleetServers", parse_fleet_servers, .expect = "nats://HOST:PORT URLs",
	  .may_be_empty = true },
	{ "FleetBucket", parse_fleet_bucket, .expect = "a bucket name" },
	{ "FleetCredentials", parse_fleet_creds, .expect = "an absolute path",
	  .may_be_empty = true },
	{ "FleetUser", parse_fleet_user, .expect = "a NATS user name",
	  .may_be_empty = true },
	{ "FleetPasswordFile", parse_fleet_password_file, .expect = "an absolute path",
	  .may_be_empty = true },
	{ "FleetTLSCA", parse_fleet_tls_ca, .expect = "an absolute path",
	  .may_be_empty = true },
	{ "FleetScope", parse_choice, .choices = fleet_scopes, .off = FIELD(fleet_scope) },
	{ "FleetReplicas", parse_fleet_replicas, .expect = "a number 1-5" },
	{ "ASNDatabase", parse_asn_db, .expect = "an absolute path or none" },
	{ "BlockASN", parse_asn_list, .expect = "AS numbers", .may_be_empty = true },
	{ "AllowASN", parse_asn_list, .expect = "AS numbers", .may_be_empty = true },
	{ "ASNAction", parse_action, .actions = BLOCKING, .off = FIELD(asn_action) },
	{ "CrowdSecURL", parse_crowdsec_url, .expect = "an http:// or https:// URL",
	  .may_be_empty = true },
	{ "CrowdSecAPIKeyFile", parse_crowdsec_key_file, .expect = "an absolute path",
	  .may_be_empty = true },
	{ "CrowdSecTLSCA", parse_crowdsec_tls_ca, .expect = "an absolute path",
	  .may_be_empty = true },
	{ "CrowdSecInterval", parse_crowdsec_interval, .expect = "a duration (1s-1h)" },
	{ "CrowdSecScopes", parse_crowdsec_scopes, .choices = crowdsec_scopes,
	  .may_be_empty = true },
	{ "CrowdSecAction", parse_crowdsec_action, .expect = "TYPE:ACTION pairs" },
	{ "Feed", parse_feed, .expect = "NAME URL-or-FILE [every DURATION] [action ACTION] "
	  "[format plain|spamhaus|netset|csv] [column N]", .may_be_empty = true, .repeat = true },
	{ "FeedMinPrefixV4", parse_uint, .expect = "a prefix length 1-32",
	  .off = FIELD(feed_min_prefix4), .min = 1, .max = 32 },
	{ "FeedMinPrefixV6", parse_uint, .expect = "a prefix length 1-128",
	  .off = FIELD(feed_min_prefix6), .min = 1, .max = 128 },
	{ "FeedMaxEntries", parse_uint, .expect = "a number 1-2000000",
	  .off = FIELD(feed_max_entries), .min = 1, .max = GEOFW_CONF_FEED_MAX_ENTRIES },
	{ "FeedMaxDropShare", parse_feed_max_drop_share, .expect = "a percentage 1%-100%" },
	{ "PortAllow", parse_port_rule, .expect = "PORTS CIDR...", .may_be_empty = true,
	  .repeat = true },
	{ "PortBlock", parse_port_rule, .expect = "PORTS [ACTION] CIDR...", .may_be_empty = true,
	  .repeat = true },
	{ "PortBlockCountry", parse_port_rule, .expect = "PORTS [ACTION] CC...",
	  .may_be_empty = true, .repeat = true },
	{ "PortPolicy", parse_port_rule, .expect = "PORTS allow-only [ACTION] CC|CIDR...",
	  .may_be_empty = true, .repeat = true },
	{ "RateLimit", parse_ratelimit, .expect = "NAME RATE burst N per /LEN ... then drop|ban D",
	  .may_be_empty = true, .repeat = true },
	{ "RateLimitIPv6Prefix", parse_rl_v6_prefix, .expect = "a prefix length 1-128" },
};

#define N_KEYS	(sizeof(keys) / sizeof(keys[0]))

const char *geofw_conf_key(unsigned int i)
{
	return i < N_KEYS ? keys[i].name : NULL;
}

const char *geofw_xdp_mode_name(int mode)
{
	const struct choice *ch;

	for (ch = xdp_modes; ch->name; ch++)
		if (ch->value == mode)
			return ch->name;
	return "?";
}

/* ---- lines --------------------------------------------------------------- */

static const struct key *find_key(const char *name)
{
	size_t i;

	for (i = 0; i < N_KEYS; i++)
		if (!strcmp(keys[i].name, name))
			return &keys[i];
	return NULL;
}

static int unknown_key(struct parser *p, const char *name)
{
	char eb[GEOFW_ECHO_BUFLEN];
	size_t i;

	/* Keys are case-sensitive; a case slip deserves a hint, not a hunt. */
	for (i = 0; i < N_KEYS; i++)
		if (!strcasecmp(keys[i].name, name))
			return fail(p, "%s: unknown key (did you mean %s?)", geofw_echo(name, eb),
				    keys[i].name);
	return fail(p, "%s: unknown key", geofw_echo(name, eb));
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
			return fail(p, "missing \"=\" between the key and its value");
		return fail(p, "expected \"Key = Value\", got \"%s\"", geofw_echo(text, eb));
	}
	*eq = '\0';
	name = trim(text);
	val = trim(eq + 1);
	if (!*name)
		return fail(p, "missing key before \"=\"");

	k = find_key(name);
	if (!k)
		return unknown_key(p, name);
	p->key = k;
	if (p->seen[k - keys] && !k->repeat)
		return fail(p, "given twice (first on line %u)", p->seen[k - keys]);
	p->seen[k - keys] = p->line;
	if (!*val && !k->may_be_empty)
		return fail(p, "missing value; expected %s", describe(k, db, sizeof(db)));
	return k->parse(p, val);
}

void geofw_conf_defaults(struct geofw_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->xdp_mode = GEOFW_XDP_AUTO;
	set_str(c->geoip_db[0], sizeof(c->geoip_db[0]), DEFAULT_GEOIP_DB);
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
	set_str(c->http403_body, sizeof(c->http403_body), DEFAULT_HTTP403_BODY);
	c->http403_ref_retention = 30 * 86400;
	set_str(c->state_dir, sizeof(c->state_dir), DEFAULT_STATE_DIR);
	set_str(c->socket_path, sizeof(c->socket_path), DEFAULT_SOCKET);
	set_str(c->socket_group, sizeof(c->socket_group), DEFAULT_SOCKET_GROUP);
	c->log_level = GEOFW_LOG_INFO;
	c->drop_log_rate = DEFAULT_DROP_LOG_RATE;
	set_str(c->fleet_bucket, sizeof(c->fleet_bucket), "geofw");
	c->fleet_scope = GEOFW_FLEET_SCOPE_FLEET;
	c->fleet_replicas = 3;
	c->rl_v6_prefix = GEOFW_RL_V6_DEFAULT;
	c->asn_action = GEOFW_ACT_DROP;
	c->crowdsec_interval = 10;
	c->crowdsec_scopes = GEOFW_CS_SCOPE_IP | GEOFW_CS_SCOPE_RANGE | GEOFW_CS_SCOPE_COUNTRY |
			     GEOFW_CS_SCOPE_AS;
	crowdsec_action_defaults(c);
	c->feed_min_prefix4 = DEFAULT_FEED_MIN_PREFIX4;
	c->feed_min_prefix6 = DEFAULT_FEED_MIN_PREFIX6;
	c->feed_max_entries = DEFAULT_FEED_MAX_ENTRIES;
	c->feed_max_drop_share = DEFAULT_FEED_MAX_DROP_SHARE;
}

int geofw_conf_parse_buf(const char *buf, size_t len, const char *name,
			 struct geofw_conf *c, char *err, size_t errlen)
{
	unsigned int seen[N_KEYS] = { 0 };
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
			r = fail(&p, "line longer than %d bytes", GEOFW_CONF_LINE_MAX);
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
				r = fail(&p, "NUL byte");
			else if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
				r = fail(&p, "control character 0x%02x", ch);
		}
		if (!r)
			r = parse_line(&p, line);
	}

	if (!r)
		r = check_fleet(&p);
	if (!r)
		r = check_crowdsec(&p);
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
