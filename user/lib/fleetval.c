// SPDX-License-Identifier: GPL-2.0-only
/* Keys and values of the fleet's bucket (fleetval.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "countries.h"
#include "fleetval.h"
#include "maps.h"

static int prefix_key(const char *ns, const struct geofw_cidr *c, char *buf, size_t len)
{
	char p[GEOFW_CIDR_STRLEN], *s;

	if (geofw_cidr_format(c, p, sizeof(p)))
		return -EINVAL;
	for (s = p; *s; s++)
		if (*s == ':')
			*s = '_';
	return snprintf(buf, len, "%s.%s", ns, p) < (int)len ? 0 : -ENAMETOOLONG;
}

int geofw_fleet_key(const struct geofw_rule *r, char *buf, size_t len)
{
	const char *cc;

	switch (r->kind) {
	case GEOFW_RULE_BLOCK:
		return prefix_key("block", &r->prefix, buf, len);
	case GEOFW_RULE_ALLOW:
		return prefix_key("allow", &r->prefix, buf, len);
	case GEOFW_RULE_BLOCK_ASN:
	case GEOFW_RULE_ALLOW_ASN:
		if (!r->asn)
			return -EINVAL;
		return snprintf(buf, len, "asn.%s.AS%u", r->kind == GEOFW_RULE_BLOCK_ASN ?
				"block" : "allow", r->asn) < (int)len ? 0 : -ENAMETOOLONG;
	case GEOFW_RULE_COUNTRY:
		cc = r->country ? geofw_country_code(r->country) : NULL;
		if (!cc)
			return -EINVAL;
		return snprintf(buf, len, "country.%s", cc) < (int)len ? 0 : -ENAMETOOLONG;
	}
	return -EINVAL;
}

static int prefix_parse(const char *key, const char *rest, int kind, struct geofw_rule *r)
{
	char p[GEOFW_CIDR_STRLEN], fmt[GEOFW_FLEET_KEY_MAX];
	char *s;

	if (strlen(rest) >= sizeof(p))
		return -EINVAL;
	snprintf(p, sizeof(p), "%s", rest);
	for (s = p; *s; s++)
		if (*s == '_')
			*s = ':';
	r->kind = kind;
	if (geofw_cidr_parse(p, 0, &r->prefix, NULL, 0))
		return -EINVAL;
	/* Only the canonical spelling: one prefix, one key, on every host. */
	if (geofw_fleet_key(r, fmt, sizeof(fmt)) || strcmp(fmt, key))
		return -EINVAL;
	return kind == GEOFW_RULE_BLOCK ? GEOFW_FLEET_BLOCK : GEOFW_FLEET_ALLOW;
}

static int asn_parse(const char *key, const char *rest, int kind, struct geofw_rule *r)
{
	char fmt[GEOFW_FLEET_KEY_MAX];

	/* "AS" upper case only, and no leading zero (geofw_asn_parse's
	 * other spellings are not keys: the format check below). */
	if (strncmp(rest, "AS", 2) || geofw_asn_parse(rest, &r->asn))
		return -EINVAL;
	r->kind = kind;
	if (geofw_fleet_key(r, fmt, sizeof(fmt)) || strcmp(fmt, key))
		return -EINVAL;
	return kind == GEOFW_RULE_BLOCK_ASN ? GEOFW_FLEET_BLOCK_ASN : GEOFW_FLEET_ALLOW_ASN;
}

int geofw_fleet_key_parse(const char *key, struct geofw_rule *r)
{
	int id;

	memset(r, 0, sizeof(*r));
	if (!strncmp(key, "block.", 6))
		return prefix_parse(key, key + 6, GEOFW_RULE_BLOCK, r);
	if (!strncmp(key, "allow.", 6))
		return prefix_parse(key, key + 6, GEOFW_RULE_ALLOW, r);
	if (!strcmp(key, "country.mode"))
		return GEOFW_FLEET_COUNTRY_MODE;
	if (!strcmp(key, "country.action"))
		return GEOFW_FLEET_COUNTRY_ACTION;
	if (!strncmp(key, "country.", 8) && strlen(key + 8) == 2 &&
	    (id = geofw_country_id(key + 8)) > 0 && !strcmp(geofw_country_code((unsigned)id), key + 8)) {
		r->kind = GEOFW_RULE_COUNTRY;
		r->country = (__u8)id;
		return GEOFW_FLEET_COUNTRY;
	}
	if (!strncmp(key, "asn.block.", 10))
		return asn_parse(key, key + 10, GEOFW_RULE_BLOCK_ASN, r);
	if (!strncmp(key, "asn.allow.", 10))
		return asn_parse(key, key + 10, GEOFW_RULE_ALLOW_ASN, r);
	if (!strncmp(key, "asn.", 4))
		return -EOPNOTSUPP;	/* reserved for later versions */
	return -EINVAL;
}

char *geofw_fleet_value_make(const char *word, __u64 expires, __u64 created,
			     const char *comment, const char *host)
{
	char *v = NULL;

	if (asprintf(&v, "%d %s %llu %llu %s\n%s", GEOFW_FLEET_VALUE_VERSION, word,
		     (unsigned long long)expires, (unsigned long long)created,
		     host && *host ? host : "-", comment ? comment : "") < 0)
		return NULL;
	return v;
}

char *geofw_fleet_value_format(const struct geofw_rule *r, const char *host)
{
	bool allow = r->kind == GEOFW_RULE_ALLOW || r->kind == GEOFW_RULE_ALLOW_ASN;

	return geofw_fleet_value_make(allow ? "allow" : geofw_action_name(r->action),
				      r->expires, r->created, r->comment, host);
}

/* Decimal without sign or leading zeros, as the formatter writes it. */
static int parse_u64(const char *s, size_t n, unsigned long long *out)
{
	unsigned long long v = 0;
	size_t i;

	if (!n || n > 20 || (s[0] == '0' && n > 1))
		return -EINVAL;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		if (v > (~0ULL - (unsigned)(s[i] - '0')) / 10)
			return -EINVAL;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	*out = v;
	return 0;
}

int geofw_fleet_value_parse(char *buf, struct geofw_fleet_value *v)
{
	char *nl = strchr(buf, '\n'), *w[5], *s;
	unsigned long long ver, exp, created;
	size_t len[5];
	int i;

	if (!nl)
		return -EINVAL;
	*nl = '\0';
	/* Five words, one space between; a later version may append more. */
	for (i = 0, s = buf; i < 5; i++) {
		w[i] = s;
		len[i] = strcspn(s, " ");
		if (!len[i])
			return -EINVAL;
		s += len[i];
		if (i < 4) {
			if (*s != ' ')
				return -EINVAL;
			*s++ = '\0';
		}
	}
	if (parse_u64(w[0], len[0], &ver) || !ver || ver > 65535)
		return -EINVAL;
	if (*s && (ver == GEOFW_FLEET_VALUE_VERSION || *s != ' ' || !s[1]))
		return -EINVAL;
	*s = '\0';
	if (parse_u64(w[2], len[2], &exp) || parse_u64(w[3], len[3], &created))
		return -EINVAL;
	if (geofw_store_check_text(w[4], len[4], GEOFW_FLEET_ORIGIN_MAX, "origin", NULL, 0) ||
	    geofw_store_check_text(nl + 1, strlen(nl + 1), GEOFW_STORE_COMMENT_MAX, "comment",
				   NULL, 0))
		return -EINVAL;
	v->version = (unsigned)ver;
	v->word = w[1];
	v->expires = exp;
	v->created = created;
	v->origin = w[4];
	v->comment = nl + 1;
	return 0;
}

int geofw_fleet_rule_parse(char *buf, struct geofw_rule *r, const char **origin)
{
	struct geofw_fleet_value v;
	int a;

	if (geofw_fleet_value_parse(buf, &v))
		return -EINVAL;
	if (r->kind == GEOFW_RULE_ALLOW || r->kind == GEOFW_RULE_ALLOW_ASN) {
		if (strcmp(v.word, "allow"))
			return -EINVAL;
		a = GEOFW_ACT_PASS;
	} else {
		a = geofw_action_parse(v.word);
		if (a <= GEOFW_ACT_PASS || a >= GEOFW_ACT_MAX)
			return -EINVAL;
	}
	r->action = (__u8)a;
	r->expires = v.expires;
	r->created = v.created;
	r->comment = v.comment;
	*origin = v.origin;
	return 0;
}

/* drop > reject > http403 > log: the lower the stricter (0: none). */
static __u8 stricter(__u8 a, __u8 b)
{
	if (!a)
		return b;
	if (!b)
		return a;
	return a < b ? a : b;
}

static bool blocks(const struct geofw_store_countries *p, unsigned int id, __u8 *action)
{
	bool listed = p->listed[id];

	*action = listed && p->country_action[id] ? p->country_action[id] : p->action;
	return p->mode == GEOFW_MODE_ALLOW_LISTED ? !listed : listed;
}

void geofw_fleet_countries_combine(const struct geofw_store_countries *local,
				   const struct geofw_store_countries *fleet,
				   struct geofw_store_countries *out)
{
	bool allow = local->mode == GEOFW_MODE_ALLOW_LISTED ||
		     fleet->mode == GEOFW_MODE_ALLOW_LISTED;
	unsigned int id;

	memset(out, 0, sizeof(*out));
	out->override = true;
	out->mode = allow ? GEOFW_MODE_ALLOW_LISTED : GEOFW_MODE_BLOCK_LISTED;
	/* The default action is the one for countries nobody listed: in allow
	 * mode, the strictest of the allow-mode policies'. */
	if (allow)
		out->action = stricter(local->mode == GEOFW_MODE_ALLOW_LISTED ? local->action : 0,
				       fleet->mode == GEOFW_MODE_ALLOW_LISTED ? fleet->action : 0);
	else
		out->action = local->action ? local->action : fleet->action;
	for (id = 1; id < GEOFW_MAX_COUNTRIES; id++) {
		__u8 la, fa, a = 0;
		bool lb = blocks(local, id, &la), fb = blocks(fleet, id, &fa);

		if (lb)
			a = stricter(a, la);
		if (fb)
			a = stricter(a, fa);
		out->listed[id] = allow ? !(lb || fb) : (lb || fb);
		out->country_action[id] = lb || fb ? a : 0;
	}
}
