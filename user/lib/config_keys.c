// SPDX-License-Identifier: GPL-2.0-only
/*
 * The keys of geofw.conf: one table (name, value parser, what it accepts,
 * where it is stored), in the order of packaging/geofw.conf and
 * geofw.conf(5), and the value parsers of the general keys.
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
	return conf_fail_not(p, val);
}

static int parse_action(struct parser *p, char *val)
{
	int a = geofw_action_parse(val);

	if (a < 0 || !(p->key->actions & (1u << a)))
		return conf_fail_not(p, val);
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
	while ((w = conf_next_word(&val))) {
		if (strlen(w) >= GEOFW_CONF_IFNAMSIZ)
			return conf_fail(p, "\"%s\" is longer than %d characters",
					 geofw_echo(w, eb), GEOFW_CONF_IFNAMSIZ - 1);
		if (!strcmp(w, ".") || !strcmp(w, "..") || strpbrk(w, "/:"))
			return conf_fail(p,
			"\"%s\" is not an interface name (no \"/\" or \":\", not \".\" or \"..\")",
					 geofw_echo(w, eb));
		for (i = 0; i < c->n_ifaces; i++)
			if (!strcmp(c->ifaces[i], w))
				return conf_fail(p, "\"%s\" is listed twice", geofw_echo(w, eb));
		if (c->n_ifaces == GEOFW_CONF_MAX_IFACES)
			return conf_fail(p, "more than %d interfaces", GEOFW_CONF_MAX_IFACES);
		conf_set_str(c->ifaces[c->n_ifaces++], GEOFW_CONF_IFNAMSIZ, w);
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
	while ((w = conf_next_word(&val))) {
		if (!strcmp(w, "none"))
			return conf_fail(p, "\"none\" cannot be listed with databases");
		if (c->n_geoip_db == GEOFW_CONF_MAX_GEOIP_DB)
			return conf_fail(p, "more than %d databases", GEOFW_CONF_MAX_GEOIP_DB);
		if (c->n_geoip_db && w[0] != '/')
			return conf_fail(p,
					 "\"%s\" is not an absolute path (databases are separated "
					 "by spaces; a path cannot contain one)", geofw_echo(w,
					 eb));
		if (conf_parse_path(p, w, c->geoip_db[c->n_geoip_db], sizeof(c->geoip_db[0])))
			return -EINVAL;
		for (i = 0; i < c->n_geoip_db; i++)
			if (!strcmp(c->geoip_db[i], w))
				return conf_fail(p, "\"%s\" is listed twice", geofw_echo(w, eb));
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
	return conf_parse_path(p, val, p->c->asn_db, sizeof(p->c->asn_db));
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
	while ((w = conf_next_word(&val))) {
		if (geofw_asn_parse(w, &asn))
			return conf_fail(p,
				"\"%s\" is not an AS number (AS64500 or 64500, 1-4294967295)",
					 geofw_echo(w, eb));
		for (i = 0; i < *n; i++)
			if (list[i] == asn)
				return conf_fail(p, "AS%u is listed twice", asn);
		for (i = 0; i < n_other; i++)
			if (other[i] == asn)
				return conf_fail(p, "AS%u is in both BlockASN and AllowASN", asn);
		if (*n + n_other == GEOFW_CONF_MAX_ASN)
			return conf_fail(p, "more than %d ASes in BlockASN and AllowASN together",
					 GEOFW_CONF_MAX_ASN);
		list[(*n)++] = asn;
	}
	return 0;
}

/*
 * PortAllow = PORTS CIDR...
 * PortBlock = PORTS [ACTION] CIDR...
 * PortBlockCountry = PORTS [ACTION] CC...
 * PortAllowASN = PORTS ASN...
 * PortBlockASN = PORTS [ACTION] ASN...
 * PortPolicy = PORTS allow-only [ACTION] CC|CIDR|ASN...
 * Several lines of each add up.  ACTION: drop (default), reject, http403, log.
 */
static int parse_port_rule(struct parser *p, char *val)
{
	struct geofw_conf *c = p->c;
	const char *name = p->key->name;
	bool asn = !strcmp(name, "PortAllowASN") || !strcmp(name, "PortBlockASN");
	int kind = !strncmp(name, "PortAllow", 9) ? GEOFW_PRULE_ALLOW :
		   !strcmp(name, "PortBlockCountry") ? GEOFW_PRULE_COUNTRY :
		   !strncmp(name, "PortBlock", 9) ? GEOFW_PRULE_BLOCK : GEOFW_PRULE_ONLY;
	char msg[GEOFW_ERRLEN], eb[GEOFW_ECHO_BUFLEN];
	struct geofw_prule r = {};
	int a, n = 0;
	char *w;

	w = conf_next_word(&val);
	if (!w)
		return 0;	/* "PortAllow =": none (the default file's lines) */
	if (geofw_ports_parse(w, &r.ports, msg, sizeof(msg)))
		return conf_fail(p, "%s", msg);
	r.kind = kind;
	r.action = kind == GEOFW_PRULE_ALLOW ? GEOFW_ACT_PASS : GEOFW_ACT_DROP;
	if (kind == GEOFW_PRULE_ONLY) {
		w = conf_next_word(&val);
		if (!w || strcmp(w, "allow-only"))
			return conf_fail(p, "expected allow-only after the ports, got \"%s\"",
					 w ? geofw_echo(w, eb) : "");
	}
	while ((w = conf_next_word(&val))) {
		struct geofw_prule *out;

		if (!n && kind != GEOFW_PRULE_ALLOW && (a = geofw_action_parse(w)) >= 0) {
			if (a == GEOFW_ACT_PASS)
				return conf_fail(p, "pass is not a blocking action (drop, reject, "
						 "http403 or log)");
			r.action = (__u8)a;
			continue;
		}
		if (asn) {
			/* AllowASN's and BlockASN's forms: "AS64500" or "64500" */
			memset(&r.prefix, 0, sizeof(r.prefix));
			r.is_country = false;
			r.is_asn = !geofw_asn_parse(w, &r.asn);
			if (!r.is_asn)
				return conf_fail(p, "\"%s\": expected AS numbers (AS64500 or 64500)",
						 geofw_echo(w, eb));
		} else if (geofw_prule_target_parse(w, &r, msg, sizeof(msg))) {
			return conf_fail(p, "\"%s\": %s", geofw_echo(w, eb), msg);
		} else if ((r.is_country != (kind == GEOFW_PRULE_COUNTRY) || r.is_asn) &&
			   kind != GEOFW_PRULE_ONLY) {
			return conf_fail(p, "\"%s\": expected %s", geofw_echo(w, eb),
					 kind == GEOFW_PRULE_COUNTRY ? "country codes" :
					 r.is_asn ? "prefixes (AS rules: PortAllowASN, PortBlockASN)" :
					 "prefixes");
		}
		if (c->n_port_rules == GEOFW_CONF_MAX_PORT_RULES)
			return conf_fail(p, "more than %d port-scoped rules",
					 GEOFW_CONF_MAX_PORT_RULES);
		out = &c->port_rules[c->n_port_rules++];
		*out = r;
		if (out->is_country || out->is_asn)
			memset(&out->prefix, 0, sizeof(out->prefix));
		if (!out->is_country)
			out->country = 0;
		if (!out->is_asn)
			out->asn = 0;
		n++;
	}
	if (!n)
		return conf_fail(p, "missing the %s",
				 kind == GEOFW_PRULE_COUNTRY ? "country codes" : asn ? "AS numbers" :
			kind == GEOFW_PRULE_ONLY ? "countries, prefixes and ASes allowed" : "prefixes");
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
		return conf_fail(p, "%s", msg);
	for (i = 0; i < c->n_ratelimits; i++)
		if (!strcmp(c->ratelimits[i].name, r.name))
			return conf_fail(p, "%s: a rate limit of this name exists", r.name);
	if (c->n_ratelimits == GEOFW_MAX_RATELIMITS)
		return conf_fail(p, "more than %d rate limits", GEOFW_MAX_RATELIMITS);
	c->ratelimits[c->n_ratelimits++] = r;
	return 0;
}

static int parse_rl_v6_prefix(struct parser *p, char *val)
{
	unsigned long v;

	if (conf_parse_number(p, val, 1, 128, &v))
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
	while ((w = conf_next_word(&val))) {
		for (i = 0; w[i]; i++)
			if (!is_field_char(w[i]))
				return conf_fail(p,
					"\"%s\" is not a field name (letters, digits, \"_\")",
						 geofw_echo(w, eb));
		if (i >= GEOFW_CONF_FIELD_LEN)
			return conf_fail(p, "\"%s\" is longer than %d characters",
					 geofw_echo(w, eb), GEOFW_CONF_FIELD_LEN - 1);
		if (c->n_geoip_field == GEOFW_CONF_MAX_FIELD)
			return conf_fail(p, "more than %d components", GEOFW_CONF_MAX_FIELD);
		conf_set_str(c->geoip_field[c->n_geoip_field++], GEOFW_CONF_FIELD_LEN, w);
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
	while ((w = conf_next_word(&val))) {
		if (geofw_cc_parse(w, cc, NULL, 0))
			return conf_fail(p,
				"\"%s\" is not a two-letter country code (ISO 3166-1 alpha-2)",
					 geofw_echo(w, eb));
		id = geofw_country_id(cc);
		if (!id)
			return conf_fail(p, "\"%s\" is not a known country code", geofw_echo(w,
					 eb));
		for (i = 0; i < c->n_countries; i++)
			if (c->countries[i] == id)
				return conf_fail(p, "\"%s\" is listed twice", geofw_echo(w, eb));
		/* Unreachable with distinct known ids, but the array is fixed. */
		if (c->n_countries == GEOFW_COUNTRY_MAX_ID)
			return conf_fail(p, "more than %d countries", GEOFW_COUNTRY_MAX_ID);
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
	while ((w = conf_next_word(&val))) {
		if (conf_parse_number(p, w, 1, 65535, &port))
			return -EINVAL;
		for (i = 0; i < c->n_http_ports; i++)
			if (c->http_ports[i] == port)
				return conf_fail(p, "\"%s\" is listed twice", geofw_echo(w, eb));
		if (c->n_http_ports == GEOFW_MAX_HTTP_PORTS)
			return conf_fail(p, "more than %d ports", GEOFW_MAX_HTTP_PORTS);
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
	while ((w = conf_next_word(&val))) {
		if (geofw_cidr_parse(w, 0, &cidr, err, sizeof(err)))
			return conf_fail(p, "\"%s\": %s", geofw_echo(w, eb), err);
		if (cidr.family != 6 || !strchr(w, '/'))
			return conf_fail(p, "\"%s\" is not an IPv6 prefix (ADDR/LEN)", geofw_echo(w,
					 eb));
		if (cidr.prefixlen != 32 && cidr.prefixlen != 40 && cidr.prefixlen != 48 &&
		    cidr.prefixlen != 56 && cidr.prefixlen != 64 && cidr.prefixlen != 96)
			return conf_fail(p,
					 "\"%s\": a NAT64 prefix is /32, /40, /48, /56, /64 or /96 "
					 "(RFC 6052)", geofw_echo(w, eb));
		if (cidr.prefixlen == 96 && cidr.addr[8])
			return conf_fail(p, "\"%s\": bits 64-71 of a /96 NAT64 prefix must be zero "
					 "(RFC 6052)", geofw_echo(w, eb));
		for (i = 0; i < c->n_nat64; i++)
			if (c->nat64[i].prefixlen == cidr.prefixlen &&
			    !memcmp(c->nat64[i].addr, cidr.addr, 16))
				return conf_fail(p, "\"%s\" is listed twice", geofw_echo(w, eb));
		if (c->n_nat64 == GEOFW_MAX_NAT64)
			return conf_fail(p, "more than %d prefixes", GEOFW_MAX_NAT64);
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
	return conf_parse_path(p, val, p->c->http403_body, sizeof(p->c->http403_body));
}

/* Http403Page = REASON FILE, CC FILE or REASON:CC FILE (repeatable). */
static int parse_http403_page(struct parser *p, char *val)
{
	struct geofw_conf *c = p->c;
	char eb[GEOFW_ECHO_BUFLEN], cc[3], *sel = conf_next_word(&val), *path, *colon;
	struct geofw_conf_page pg = { .cls = -1, .country = -1, .line = p->line };
	int i, ret;

	if (!sel)
		return 0;	/* "Http403Page =": no page besides Http403Body */
	path = conf_next_word(&val);
	if (!path || conf_next_word(&val))
		return conf_fail(p,
				 "expected SELECTOR FILE: a reason (country, asn, ip, ratelimit, "
			"feed, crowdsec), a country code or REASON:CC, then an absolute path");
	colon = strchr(sel, ':');
	if (colon)
		*colon = '\0';
	/* Reasons are lower-case words, so "ip" is never India (IN is). */
	pg.cls = geofw_resp_class_parse(sel);
	if (pg.cls < 0 && (colon || geofw_cc_parse(sel, cc, NULL, 0)))
		return conf_fail(p,
				 "\"%s\" is neither a reason (country, asn, ip, ratelimit, feed, "
				 "crowdsec) nor a country code", geofw_echo(sel, eb));
	if (colon || pg.cls < 0) {
		const char *code = colon ? colon + 1 : sel;

		if (geofw_cc_parse(code, cc, NULL, 0) || !(pg.country = geofw_country_id(cc)))
			return conf_fail(p, "\"%s\" is not a known country code", geofw_echo(code,
					 eb));
	}
	if ((ret = conf_parse_path(p, path, pg.path, sizeof(pg.path))))
		return ret;
	for (i = 0; i < c->n_http403_pages; i++)
		if (c->http403_pages[i].cls == pg.cls && c->http403_pages[i].country == pg.country)
			return conf_fail(p, "a page for these clients is already given on line %u",
					 c->http403_pages[i].line);
	if (c->n_http403_pages == GEOFW_CONF_MAX_PAGES)
		return conf_fail(p, "more than %d pages", GEOFW_CONF_MAX_PAGES);
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
	return conf_fail_not(p, val);
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
		return conf_fail(p, "\"%s\": %s", geofw_echo(val, eb), err);
	if (s < 3600 || s > GEOFW_CONF_REF_RETENTION_MAX)
		return conf_fail(p,
				 "\"%s\": between 1h and 45d (a code's minute repeats every 45.5 "
				 "days)", geofw_echo(val, eb));
	p->c->http403_ref_retention = s;
	return 0;
}

static int parse_state_dir(struct parser *p, char *val)
{
	return conf_parse_path(p, val, p->c->state_dir, sizeof(p->c->state_dir));
}

static int parse_socket(struct parser *p, char *val)
{
	return conf_parse_path(p, val, p->c->socket_path, sizeof(p->c->socket_path));
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
		return conf_fail(p, "\"%s\" is not %s", geofw_echo(val, eb),
				 conf_describe(p->key, db, sizeof(db)));
	conf_set_str(p->c->socket_group, sizeof(p->c->socket_group), val);
	return 0;
}

static int parse_log_level(struct parser *p, char *val)
{
	int level = geofw_log_level_parse(val);

	if (level < 0)
		return conf_fail_not(p, val);
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
			return conf_fail_not(p, val);
		*colon = '\0';
		port = colon + 2;
		v6 = true;
	} else {
		colon = strrchr(val, ':');
		if (!colon)
			return conf_fail_not(p, val);
		*colon = '\0';
		if (strchr(val, ':')) {
			*colon = ':';
			return conf_fail(p,
					"\"%s\": an IPv6 address goes in brackets, e.g. [::1]:9745",
					 geofw_echo(val, eb));
		}
		addr = val;
		port = colon + 1;
		v6 = false;
	}

	memset(&ss, 0, sizeof(ss));
	if (v6 && inet_pton(AF_INET6, addr, &sin6->sin6_addr) != 1)
		return conf_fail(p, "\"%s\" is not an IPv6 address", geofw_echo(addr, eb));
	if (!v6 && inet_pton(AF_INET, addr, &sin->sin_addr) != 1)
		return conf_fail(p, "\"%s\" is not an IPv4 address", geofw_echo(addr, eb));
	if (!*port)
		return conf_fail(p, "missing port after \"%s:\"", geofw_echo(addr, eb2));
	if (conf_parse_number(p, port, 1, 65535, &pn))
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

	if (conf_parse_number(p, val, 1, DROP_LOG_RATE_MAX, &v))
		return -EINVAL;
	p->c->drop_log_rate = (__u32)v;
	return 0;
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


/* A number in the key's range into the unsigned int at its offset. */
static int parse_uint(struct parser *p, char *val)
{
	unsigned long v;

	if (conf_parse_number(p, val, p->key->min, p->key->max, &v))
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
	if (conf_parse_number(p, val, 1, 100, &v))
		return -EINVAL;
	p->c->feed_max_drop_share = (unsigned int)v;
	return 0;
}

/* The order of the keys in packaging/geofw.conf and geofw.conf(5). */
const struct key conf_keys[] = {
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
	{ "FleetServers", conf_parse_fleet_servers, .expect = "nats://HOST:PORT URLs",
	  .may_be_empty = true },
	{ "FleetBucket", conf_parse_fleet_bucket, .expect = "a bucket name" },
	{ "FleetCredentials", conf_parse_fleet_creds, .expect = "an absolute path",
	  .may_be_empty = true },
	{ "FleetUser", conf_parse_fleet_user, .expect = "a NATS user name",
	  .may_be_empty = true },
	{ "FleetPasswordFile", conf_parse_fleet_password_file, .expect = "an absolute path",
	  .may_be_empty = true },
	{ "FleetTLSCA", conf_parse_fleet_tls_ca, .expect = "an absolute path",
	  .may_be_empty = true },
	{ "FleetScope", parse_choice, .choices = conf_fleet_scopes, .off = FIELD(fleet_scope) },
	{ "FleetReplicas", conf_parse_fleet_replicas, .expect = "a number 1-5" },
	{ "ASNDatabase", parse_asn_db, .expect = "an absolute path or none" },
	{ "BlockASN", parse_asn_list, .expect = "AS numbers", .may_be_empty = true },
	{ "AllowASN", parse_asn_list, .expect = "AS numbers", .may_be_empty = true },
	{ "ASNAction", parse_action, .actions = BLOCKING, .off = FIELD(asn_action) },
	{ "CrowdSecURL", conf_parse_crowdsec_url, .expect = "an http:// or https:// URL",
	  .may_be_empty = true },
	{ "CrowdSecAPIKeyFile", conf_parse_crowdsec_key_file, .expect = "an absolute path",
	  .may_be_empty = true },
	{ "CrowdSecTLSCA", conf_parse_crowdsec_tls_ca, .expect = "an absolute path",
	  .may_be_empty = true },
	{ "CrowdSecInterval", conf_parse_crowdsec_interval, .expect = "a duration (1s-1h)" },
	{ "CrowdSecScopes", conf_parse_crowdsec_scopes, .choices = conf_crowdsec_scopes,
	  .may_be_empty = true },
	{ "CrowdSecAction", conf_parse_crowdsec_action, .expect = "TYPE:ACTION pairs" },
	{ "Feed", conf_parse_feed, .expect = "NAME URL-or-FILE [every DURATION] [action ACTION] "
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
	{ "PortAllowASN", parse_port_rule, .expect = "PORTS ASN...", .may_be_empty = true,
	  .repeat = true },
	{ "PortBlockASN", parse_port_rule, .expect = "PORTS [ACTION] ASN...",
	  .may_be_empty = true, .repeat = true },
	{ "PortPolicy", parse_port_rule, .expect = "PORTS allow-only [ACTION] CC|CIDR|ASN...",
	  .may_be_empty = true, .repeat = true },
	{ "RateLimit", parse_ratelimit, .expect = "NAME RATE burst N per /LEN ... then drop|ban D",
	  .may_be_empty = true, .repeat = true },
	{ "RateLimitIPv6Prefix", parse_rl_v6_prefix, .expect = "a prefix length 1-128" },
};

#define N_KEYS	(sizeof(conf_keys) / sizeof(conf_keys[0]))

_Static_assert(N_KEYS <= CONF_KEYS_MAX, "CONF_KEYS_MAX: room for every key");
const size_t conf_n_keys = N_KEYS;

const char *geofw_conf_key(unsigned int i)
{
	return i < N_KEYS ? conf_keys[i].name : NULL;
}

const char *geofw_xdp_mode_name(int mode)
{
	const struct choice *ch;

	for (ch = xdp_modes; ch->name; ch++)
		if (ch->value == mode)
			return ch->name;
	return "?";
}
