// SPDX-License-Identifier: GPL-2.0-only
/*
 * The text state file of geofw before the rule store (rules, "# geofw state
 * v1"), read once to migrate it into rules.db.  Only reading is left: the
 * database replaced the format, its journal and its atomic rewrites.
 *
 *	# geofw state v1
 *	next-rule-id 7
 *	country-policy block drop
 *	country RU drop
 *	allow 192.0.2.0/24 id=1 comment="office VPN"
 *	block 203.0.113.0/24 drop id=2 expires=1718275653 source="cli" comment="a \"b\""
 *	list id=3 source="import:drop.txt"
 *
 * Strings are double-quoted with \" and \\ as the only escapes.  A file cut
 * short (no final newline), an unknown keyword or a bad value fails the
 * migration with NAME:LINE: geofwd then refuses to start rather than lose
 * rules, and the file stays where it is.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "countries.h"
#include "maps.h"
#include "msg.h"
#include "store.h"

#define V1_HEADER "# geofw state v1"

struct v1 {
	const char *name;
	size_t line;
	char *err;
	size_t errlen;
};

static int bad(struct v1 *p, const char *what)
{
	return geofw_errf(p->err, p->errlen, -EINVAL, "%s:%zu: %s", p->name, p->line, what);
}

/* Next word of *s (NUL-terminated in place); a quoted value after '=' is
 * unescaped.  NULL at the end of the line. */
static char *word(char **s, bool *ok)
{
	char *w = *s, *o, *r;

	if (!*w)
		return NULL;
	for (r = o = w; *r && *r != ' '; ) {
		if (*r != '"') {
			*o++ = *r++;
			continue;
		}
		for (r++; *r && *r != '"'; r++) {
			if (*r == '\\' && (r[1] == '"' || r[1] == '\\'))
				r++;
			else if (*r == '\\')
				*ok = false;
			*o++ = *r;
		}
		if (*r != '"')
			*ok = false;
		else
			r++;
	}
	if (*r == ' ')
		r++;
	*o = '\0';
	*s = r;
	return w;
}

static bool number(const char *s, unsigned long long max, __u64 *out)
{
	char *end;
	unsigned long long v;

	if (!*s || *s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return false;
	*out = v;
	return true;
}

static int push(struct geofw_rule **v, size_t *n, size_t *cap, const struct geofw_rule *r)
{
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 256;
		void *p = realloc(*v, c * sizeof(**v));

		if (!p)
			return -ENOMEM;
		*v = p;
		*cap = c;
	}
	(*v)[(*n)++] = *r;
	return 0;
}

static int cmp_source(const void *a, const void *b)
{
	const struct geofw_rule *x = a, *y = b;
	int c = x->kind - y->kind;

	return c ? c : strcmp(x->source, y->source);
}

static int parse(struct v1 *pp, char *buf, size_t len, struct geofw_rule **rules, size_t *n,
		 struct geofw_store_countries *countries)
{
	struct v1 p = *pp;
	char *err = p.err;
	size_t errlen = p.errlen, cap = 0, off = 0;
	int ret = 0;

	if (len && buf[len - 1] != '\n')
		return geofw_errf(err, errlen, -EINVAL, "%s: no final newline (the file was cut "
				  "short)", p.name);
	while (off < len && !ret) {
		char *line = buf + off, *nl = memchr(line, '\n', len - off), *s = line, *kw;
		struct geofw_rule r = { .source = "cli", .comment = "" };
		bool ok = true;
		__u64 v;
		int a;

		*nl = '\0';
		off = (size_t)(nl - buf) + 1;
		p.line++;
		if (memchr(line, '\0', (size_t)(nl - line)) || memchr(line, '\r', (size_t)(nl - line)))
			return bad(&p, "NUL or CR in the line");
		if (p.line == 1 && strcmp(line, V1_HEADER))
			return bad(&p, "not a geofw state file (no \"" V1_HEADER "\" header)");
		if (!line[0] || line[0] == '#')
			continue;
		kw = word(&s, &ok);
		if (!strcmp(kw, "next-rule-id") || !strcmp(kw, "list"))
			continue;	/* ids are assigned anew by the store */
		if (!strcmp(kw, "country-policy")) {
			char *mode = word(&s, &ok), *act = mode ? word(&s, &ok) : NULL;

			if (!act || word(&s, &ok) || (strcmp(mode, "block") && strcmp(mode, "allow")) ||
			    (a = geofw_action_parse(act)) <= GEOFW_ACT_PASS)
				return bad(&p, "country-policy: expected MODE ACTION");
			countries->override = true;
			countries->mode = !strcmp(mode, "allow") ? GEOFW_MODE_ALLOW_LISTED :
								   GEOFW_MODE_BLOCK_LISTED;
			countries->action = (__u8)a;
			continue;
		}
		if (!strcmp(kw, "country")) {
			char *cc = word(&s, &ok), *act = cc ? word(&s, &ok) : NULL;
			int id = cc ? geofw_country_id(cc) : -1;

			if (!act || word(&s, &ok) || id <= 0 || (a = geofw_action_parse(act)) < 0)
				return bad(&p, "country: expected CC ACTION");
			countries->listed[id] = true;
			countries->country_action[id] = (__u8)a;
			continue;
		}
		if (strcmp(kw, "block") && strcmp(kw, "allow"))
			return bad(&p, "unknown keyword");
		r.kind = !strcmp(kw, "block") ? GEOFW_RULE_BLOCK : GEOFW_RULE_ALLOW;
		kw = word(&s, &ok);
		if (!kw || geofw_cidr_parse(kw, 0, &r.prefix, NULL, 0))
			return bad(&p, "bad prefix");
		if (r.kind == GEOFW_RULE_BLOCK) {
			kw = word(&s, &ok);
			if (!kw || (a = geofw_action_parse(kw)) <= GEOFW_ACT_PASS)
				return bad(&p, "bad action");
			r.action = (__u8)a;
		}
		while ((kw = word(&s, &ok))) {
			if (!strncmp(kw, "id=", 3) && number(kw + 3, GEOFW_MAX_RULE_IDS - 1, &v))
				continue;
			if (!strncmp(kw, "expires=", 8) && number(kw + 8, GEOFW_DURATION_MAX, &v))
				r.expires = v;
			else if (!strncmp(kw, "source=", 7) && kw[7])
				r.source = kw + 7;
			else if (!strncmp(kw, "comment=", 8))
				r.comment = kw + 8;
			else
				return bad(&p, "bad field");
		}
		if (!ok)
			return bad(&p, "bad quoting");
		ret = push(rules, n, &cap, &r);
	}
	if (!ret && !p.line)
		return geofw_errf(err, errlen, -EINVAL, "%s: empty file", p.name);
	return ret;
}

int geofw_store_v1_parse(char *buf, size_t len, const char *name, struct geofw_rule **rules,
			 size_t *n, struct geofw_store_countries *countries,
			 char *err, size_t errlen)
{
	struct v1 p = { .name = name ? name : "<state>", .err = err, .errlen = errlen };
	int ret;

	*rules = NULL;
	*n = 0;
	memset(countries, 0, sizeof(*countries));
	ret = parse(&p, buf, len, rules, n, countries);
	if (ret) {
		free(*rules);
		*rules = NULL;
		*n = 0;
		return ret;
	}
	/* By kind and source, so that each list keeps one rule id. */
	if (*n)
		qsort(*rules, *n, sizeof(**rules), cmp_source);
	return 0;
}
