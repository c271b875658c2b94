// SPDX-License-Identifier: GPL-2.0-only
/* Keys and values of the fleet's bucket (fleetval.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fleetval.h"
#include "maps.h"

int geofw_fleet_key_format(int kind, const struct geofw_cidr *c, char *buf, size_t len)
{
	char p[GEOFW_CIDR_STRLEN], *s;

	if (kind != GEOFW_RULE_BLOCK)
		return -EINVAL;
	if (geofw_cidr_format(c, p, sizeof(p)))
		return -EINVAL;
	for (s = p; *s; s++)
		if (*s == ':')
			*s = '_';
	return snprintf(buf, len, "block.%s", p) < (int)len ? 0 : -ENAMETOOLONG;
}

int geofw_fleet_key_parse(const char *key, int *kind, struct geofw_cidr *c)
{
	char p[GEOFW_CIDR_STRLEN], fmt[GEOFW_FLEET_KEY_MAX];
	struct geofw_cidr tmp;
	char *s;

	if (strncmp(key, "block.", 6) || strlen(key + 6) >= sizeof(p))
		return -EINVAL;
	snprintf(p, sizeof(p), "%s", key + 6);
	for (s = p; *s; s++)
		if (*s == '_')
			*s = ':';
	if (geofw_cidr_parse(p, 0, &tmp, NULL, 0))
		return -EINVAL;
	/* Only the canonical spelling: one prefix, one key, on every host. */
	if (geofw_fleet_key_format(GEOFW_RULE_BLOCK, &tmp, fmt, sizeof(fmt)) || strcmp(fmt, key))
		return -EINVAL;
	*kind = GEOFW_RULE_BLOCK;
	*c = tmp;
	return 0;
}

char *geofw_fleet_value_format(const struct geofw_rule *r, const char *host)
{
	char *v = NULL;

	if (asprintf(&v, "%d %s %llu %llu %s\n%s", GEOFW_FLEET_VALUE_VERSION,
		     geofw_action_name(r->action), (unsigned long long)r->expires,
		     (unsigned long long)r->created, host && *host ? host : "-",
		     r->comment ? r->comment : "") < 0)
		return NULL;
	return v;
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

int geofw_fleet_value_parse(char *buf, struct geofw_rule *r, const char **origin)
{
	char *nl = strchr(buf, '\n'), *w[5], *s;
	unsigned long long ver, exp, created;
	size_t len[5];
	int i, a;

	if (!nl)
		return -EINVAL;
	*nl = '\0';
	/* Exactly five words, one space between. */
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
	if (*s)
		return -EINVAL;
	if (parse_u64(w[0], len[0], &ver) || ver != GEOFW_FLEET_VALUE_VERSION ||
	    parse_u64(w[2], len[2], &exp) || parse_u64(w[3], len[3], &created))
		return -EINVAL;
	a = geofw_action_parse(w[1]);
	if (a < 0 || a == GEOFW_ACT_PASS)
		return -EINVAL;
	if (geofw_store_check_text(w[4], len[4], 255, "origin", NULL, 0) ||
	    geofw_store_check_text(nl + 1, strlen(nl + 1), GEOFW_STORE_COMMENT_MAX, "comment",
				   NULL, 0))
		return -EINVAL;
	r->action = (__u8)a;
	r->expires = exp;
	r->created = created;
	r->comment = nl + 1;
	*origin = w[4];
	return 0;
}
