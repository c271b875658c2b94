// SPDX-License-Identifier: GPL-2.0-only
/* CrowdSec LAPI answers: Go durations and decisions/stream (crowdsec.h). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "countries.h"
#include "crowdsec.h"
#include "grow.h"
#include "jsonlib.h"
#include "msg.h"

/* ---- Go durations --------------------------------------------------------------------- */

static const struct {
	const char *name;
	long long ns;
} go_units[] = {
	{ "ns", 1 },
	{ "us", 1000 },
	{ "\xc2\xb5s", 1000 },		/* U+00B5 micro sign */
	{ "\xce\xbcs", 1000 },		/* U+03BC Greek mu */
	{ "ms", 1000000 },
	{ "s", 1000000000LL },
	{ "m", 60 * 1000000000LL },
	{ "h", 3600 * 1000000000LL },
};

int geofw_go_duration_parse(const char *s, long long *ns)
{
	unsigned long long total = 0;
	bool neg = false;

	if (!s || !*s)
		return -EINVAL;
	if (*s == '-' || *s == '+')
		neg = *s++ == '-';
	if (!strcmp(s, "0")) {
		*ns = 0;
		return 0;
	}
	if (!*s)
		return -EINVAL;
	while (*s) {
		unsigned long long whole = 0, frac = 0, scale = 1, unit = 0, v;
		bool digits = false, overflow = false;
		size_t i, ulen = 0;

		while (*s >= '0' && *s <= '9') {
			if (whole > (UINT64_MAX - 9) / 10)
				overflow = true;
			else
				whole = whole * 10 + (unsigned long long)(*s - '0');
			s++;
			digits = true;
		}
		if (*s == '.') {
			s++;
			while (*s >= '0' && *s <= '9') {
				/* Digits past nanoseconds change nothing. */
				if (scale < 1000000000000000000ULL) {
					frac = frac * 10 + (unsigned long long)(*s - '0');
					scale *= 10;
				}
				s++;
				digits = true;
			}
		}
		if (!digits || overflow)
			return -EINVAL;
		for (i = 0; i < sizeof(go_units) / sizeof(go_units[0]); i++) {
			size_t l = strlen(go_units[i].name);

			/* The longest unit that matches ("ms" before "m"). */
			if (l > ulen && !strncmp(s, go_units[i].name, l)) {
				unit = (unsigned long long)go_units[i].ns;
				ulen = l;
			}
		}
		if (!unit)
			return -EINVAL;
		s += ulen;
		if (whole > (unsigned long long)INT64_MAX / unit)
			return -EINVAL;
		v = whole * unit;
		/* frac / scale of a unit, truncated as Go does. */
		v += (unsigned long long)((long double)frac * (long double)unit / (long double)scale);
		if (v > (unsigned long long)INT64_MAX - total)
			return -EINVAL;
		total += v;
	}
	*ns = neg ? -(long long)total : (long long)total;
	return 0;
}

/* ---- decisions/stream -------------------------------------------------------------------- */

const char *geofw_cs_scope_name(unsigned int scope)
{
	switch (scope) {
	case GEOFW_CS_SCOPE_IP:		return "ip";
	case GEOFW_CS_SCOPE_RANGE:	return "range";
	case GEOFW_CS_SCOPE_COUNTRY:	return "country";
	case GEOFW_CS_SCOPE_AS:		return "as";
	default:			return "?";
	}
}

void geofw_cs_scopes_param(unsigned int bits, char *buf, size_t len)
{
	unsigned int b;
	size_t used = 0;

	if (!len)
		return;
	buf[0] = '\0';
	for (b = GEOFW_CS_SCOPE_IP; b <= GEOFW_CS_SCOPE_AS; b <<= 1) {
		int n;

		if (!(bits & b))
			continue;
		n = snprintf(buf + used, len - used, "%s%s", used ? "," : "", geofw_cs_scope_name(b));
		if (n < 0 || (size_t)n >= len - used)
			return;
		used += (size_t)n;
	}
}

static void refuse(struct geofw_cs_answer *a, size_t idx, const char *list, const char *fmt,
		   const char *what)
{
	a->refused++;
	if (a->refused_why[0])
		return;
	snprintf(a->refused_why, sizeof(a->refused_why), "%s[%zu]: %s %.80s", list, idx, fmt,
		 what ? what : "");
	geofw_scrub_controls(a->refused_why);
}

static const char *str_member(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* Only printable UTF-8 goes to the store's comments: other bytes become '?'. */
static void set_comment(struct geofw_cs_decision *d, const char *type, const char *scenario)
{
	size_t i, n;

	n = (size_t)snprintf(d->comment, sizeof(d->comment), "crowdsec %s: %s", type,
			     scenario ? scenario : "");
	if (n >= sizeof(d->comment)) {
		n = sizeof(d->comment) - 1;
		/* Do not cut a UTF-8 sequence in two. */
		while (n && ((unsigned char)d->comment[n] & 0xc0) == 0x80)
			n--;
		d->comment[n] = '\0';
	}
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)d->comment[i];

		if (c < 0x20 || c == 0x7f)
			d->comment[i] = '?';
	}
	/* C1 controls (U+0080..U+009F: 0xc2 0x80..0x9f) too. */
	for (i = 0; i + 1 < n; i++)
		if ((unsigned char)d->comment[i] == 0xc2 &&
		    (unsigned char)d->comment[i + 1] >= 0x80 &&
		    (unsigned char)d->comment[i + 1] <= 0x9f)
			d->comment[i] = d->comment[i + 1] = '?';
}

/* One decision; false when refused (counted, reason kept). */
static bool one(const json_t *o, bool deleted, const struct geofw_conf *conf,
		struct geofw_cs_answer *a, const char *list, size_t idx,
		struct geofw_cs_decision *d)
{
	const char *scope, *value, *type, *dur;
	char cc[3], msg[GEOFW_ERRLEN];
	json_t *id;
	int i;

	memset(d, 0, sizeof(*d));
	if (!json_is_object(o)) {
		refuse(a, idx, list, "not an object", NULL);
		return false;
	}
	scope = str_member(o, "scope");
	value = str_member(o, "value");
	type = str_member(o, "type");
	dur = str_member(o, "duration");
	id = json_object_get(o, "id");
	if (json_is_integer(id))
		d->id = json_integer_value(id);
	if (!scope || !value) {
		refuse(a, idx, list, "missing scope or value", NULL);
		return false;
	}
	if (!strcasecmp(scope, "ip")) {
		d->scope = GEOFW_CS_SCOPE_IP;
		if (geofw_cidr_parse(value, GEOFW_CIDR_ADDR_ONLY, &d->prefix, msg, sizeof(msg))) {
			refuse(a, idx, list, "bad ip", value);
			return false;
		}
	} else if (!strcasecmp(scope, "range")) {
		d->scope = GEOFW_CS_SCOPE_RANGE;
		if (!strchr(value, '/') ||
		    geofw_cidr_parse(value, GEOFW_CIDR_ALLOW_HOST_BITS, &d->prefix, msg,
				     sizeof(msg))) {
			refuse(a, idx, list, "bad range", value);
			return false;
		}
	} else if (!strcasecmp(scope, "country")) {
		d->scope = GEOFW_CS_SCOPE_COUNTRY;
		if (strlen(value) != 2 || geofw_cc_parse(value, cc, NULL, 0) ||
		    (i = geofw_country_id(cc)) <= 0) {
			refuse(a, idx, list, "bad country", value);
			return false;
		}
		d->country = (__u8)i;
	} else if (!strcasecmp(scope, "as")) {
		d->scope = GEOFW_CS_SCOPE_AS;
		if (geofw_asn_parse(value, &d->asn)) {
			refuse(a, idx, list, "bad AS number", value);
			return false;
		}
	} else {
		refuse(a, idx, list, "unknown scope", scope);
		return false;
	}
	if (deleted)
		return true;	/* by value: type and duration do not matter */

	if (!type) {
		refuse(a, idx, list, "missing type", NULL);
		return false;
	}
	for (i = 0; i < conf->n_crowdsec_actions; i++)
		if (!strcmp(conf->crowdsec_actions[i].type, type))
			break;
	if (i == conf->n_crowdsec_actions) {
		refuse(a, idx, list, "type not in CrowdSecAction:", type);
		return false;
	}
	d->action = (__u8)conf->crowdsec_actions[i].action;
	{
		long long ns;

		if (!dur || geofw_go_duration_parse(dur, &ns) || ns <= 0) {
			refuse(a, idx, list, "bad duration", dur);
			return false;
		}
		d->seconds = (__u64)((ns + 999999999LL) / 1000000000LL);
	}
	set_comment(d, type, str_member(o, "scenario"));
	return true;
}

static int take_list(const json_t *root, const char *key, bool deleted,
		     const struct geofw_conf *conf, struct geofw_cs_answer *a,
		     struct geofw_cs_decision **v, size_t *n, char *err, size_t errlen)
{
	const json_t *arr = json_object_get(root, key);
	size_t i, cap = 0;

	*v = NULL;
	*n = 0;
	if (!arr || json_is_null(arr))
		return 0;		/* LAPI says null for an empty list */
	if (!json_is_array(arr)) {
		snprintf(err, errlen, "\"%s\" is not a list of decisions", key);
		return -EBADMSG;
	}
	for (i = 0; i < json_array_size(arr); i++) {
		struct geofw_cs_decision *p = geofw_grow(*v, &cap, *n, sizeof(**v), 64);

		if (!p) {
			snprintf(err, errlen, "out of memory for %zu decisions", json_array_size(arr));
			return -ENOMEM;
		}
		*v = p;
		if (one(json_array_get(arr, i), deleted, conf, a, key, i, &p[*n]))
			(*n)++;
	}
	return 0;
}

int geofw_cs_parse(const char *body, size_t len, const struct geofw_conf *conf,
		   struct geofw_cs_answer *out, char *err, size_t errlen)
{
	json_error_t je;
	json_t *root;
	int ret;

	memset(out, 0, sizeof(*out));
	if (!body || !len) {
		snprintf(err, errlen, "empty answer (expected {\"new\":...,\"deleted\":...})");
		return -EBADMSG;
	}
	root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		snprintf(err, errlen, "not JSON: %s at byte %d", je.text, je.position);
		geofw_scrub_controls(err);
		return -EBADMSG;
	}
	if (!json_is_object(root) ||
	    (!json_object_get(root, "new") && !json_object_get(root, "deleted"))) {
		json_decref(root);
		snprintf(err, errlen, "not a decisions stream (expected {\"new\":...,\"deleted\":...})");
		return -EBADMSG;
	}
	ret = take_list(root, "new", false, conf, out, &out->add, &out->n_add, err, errlen);
	if (!ret)
		ret = take_list(root, "deleted", true, conf, out, &out->del, &out->n_del, err,
				errlen);
	json_decref(root);
	return ret;
}

void geofw_cs_answer_free(struct geofw_cs_answer *a)
{
	free(a->add);
	free(a->del);
	memset(a, 0, sizeof(*a));
}
