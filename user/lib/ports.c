// SPDX-License-Identifier: GPL-2.0-only
/* Port lists, port-scoped rules and their kernel image (ports.h). */
#include "ports.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "countries.h"
#include "grow.h"
#include "maps.h"
#include "msg.h"
#include "ratelimit.h"

/* ---- port lists ------------------------------------------------------------ */

static int parse_port(const char *s, size_t len, unsigned int *out)
{
	unsigned int v = 0;
	size_t i;

	if (!len || len > 5 || (s[0] == '0'))
		return -EINVAL;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (unsigned int)(s[i] - '0');
	}
	if (v < 1 || v > 65535)
		return -EINVAL;
	*out = v;
	return 0;
}

static int range_cmp(const void *a, const void *b)
{
	const struct geofw_port_range *x = a, *y = b;

	if (x->proto != y->proto)
		return x->proto < y->proto ? -1 : 1;
	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	return x->hi < y->hi ? -1 : x->hi > y->hi;
}

static void ports_normalise(struct geofw_ports *p)
{
	size_t i, o = 0;

	qsort(p->r, p->n, sizeof(p->r[0]), range_cmp);
	for (i = 0; i < p->n; i++) {
		struct geofw_port_range *last = o ? &p->r[o - 1] : NULL;

		if (last && last->proto == p->r[i].proto && (__u32)last->hi + 1 >= p->r[i].lo) {
			if (p->r[i].hi > last->hi)
				last->hi = p->r[i].hi;
			continue;
		}
		p->r[o++] = p->r[i];
	}
	memset(&p->r[o], 0, (p->n - o) * sizeof(p->r[0]));
	p->n = o;
}

int geofw_ports_parse(const char *text, struct geofw_ports *out, char *err, size_t errlen)
{
	char eb[GEOFW_ECHO_BUFLEN], eb2[GEOFW_ECHO_BUFLEN];
	const char *s = text ? text : "";
	size_t pending = 0;	/* items since the last protocol suffix */

	memset(out, 0, sizeof(*out));
	if (!*s)
		return geofw_errf(err, errlen, -EINVAL, "empty port list (e.g. 22/tcp, "
				  "80,443/tcp, 8000-8100/tcp,53/udp)");
	while (*s) {
		const char *end = s + strcspn(s, ",");
		const char *slash = memchr(s, '/', (size_t)(end - s));
		const char *dash, *stop = slash ? slash : end;
		unsigned int lo, hi;
		struct geofw_port_range *r;

		if (out->n == GEOFW_PORTS_MAX_RANGES)
			return geofw_errf(err, errlen, -EINVAL, "port list '%s': more than %d "
					  "items", geofw_echo(s, eb), GEOFW_PORTS_MAX_RANGES);
		dash = memchr(s, '-', (size_t)(stop - s));
		if (parse_port(s, (size_t)((dash ? dash : stop) - s), &lo) ||
		    parse_port(dash ? dash + 1 : s,
			       (size_t)(stop - (dash ? dash + 1 : s)), &hi))
			return geofw_errf(err, errlen, -EINVAL, "port list '%s': '%s' is not a "
					  "port (1-65535) or range LO-HI", geofw_echo(text, eb),
					  geofw_echo_n(s, (size_t)(stop - s), eb2));
		if (lo > hi)
			return geofw_errf(err, errlen, -EINVAL, "port list '%s': range %u-%u "
					  "runs backwards", geofw_echo(text, eb), lo, hi);
		r = &out->r[out->n++];
		r->lo = (__u16)lo;
		r->hi = (__u16)hi;
		pending++;
		if (slash) {
			size_t plen = (size_t)(end - slash - 1);
			int proto;

			if (plen == 3 && !strncmp(slash + 1, "tcp", 3))
				proto = GEOFW_PORT_PROTO_TCP;
			else if (plen == 3 && !strncmp(slash + 1, "udp", 3))
				proto = GEOFW_PORT_PROTO_UDP;
			else
				return geofw_errf(err, errlen, -EINVAL, "port list '%s': protocol "
						  "'%s' (tcp or udp)", geofw_echo(text, eb),
						  geofw_echo_n(slash + 1, plen, eb2));
			for (; pending; pending--)
				out->r[out->n - pending].proto = (__u8)proto;
		}
		if (!*end)
			break;
		s = end + 1;
		if (!*s)
			return geofw_errf(err, errlen, -EINVAL, "port list '%s' ends with a "
					  "comma", geofw_echo(text, eb));
	}
	if (pending)
		return geofw_errf(err, errlen, -EINVAL, "port list '%s': no protocol for the "
				  "last port(s): add /tcp or /udp", geofw_echo(text, eb));
	ports_normalise(out);
	return 0;
}

int geofw_ports_format(const struct geofw_ports *p, char *buf, size_t len)
{
	size_t i, off = 0;
	int n;

	if (len)
		buf[0] = 0;
	for (i = 0; i < p->n; i++) {
		const struct geofw_port_range *r = &p->r[i];
		bool last_of_proto = i + 1 == p->n || p->r[i + 1].proto != r->proto;

		n = r->lo == r->hi ? snprintf(buf + off, len - off, "%s%u", i ? "," : "", r->lo) :
				     snprintf(buf + off, len - off, "%s%u-%u", i ? "," : "", r->lo,
					      r->hi);
		if (n < 0 || (size_t)n >= len - off)
			return -ENOSPC;
		off += (size_t)n;
		if (last_of_proto) {
			n = snprintf(buf + off, len - off, "/%s",
				     r->proto == GEOFW_PORT_PROTO_TCP ? "tcp" : "udp");
			if (n < 0 || (size_t)n >= len - off)
				return -ENOSPC;
			off += (size_t)n;
		}
	}
	return 0;
}

bool geofw_ports_equal(const struct geofw_ports *a, const struct geofw_ports *b)
{
	return a->n == b->n && !memcmp(a->r, b->r, a->n * sizeof(a->r[0]));
}

bool geofw_ports_contains(const struct geofw_ports *p, int proto, unsigned int port)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		if (p->r[i].proto == proto && port >= p->r[i].lo && port <= p->r[i].hi)
			return true;
	return false;
}

int geofw_port_parse_one(const char *text, int *proto, unsigned int *port,
			 char *err, size_t errlen)
{
	char eb[GEOFW_ECHO_BUFLEN];
	struct geofw_ports p;
	int ret = geofw_ports_parse(text, &p, err, errlen);

	if (ret)
		return ret;
	if (p.n != 1 || p.r[0].lo != p.r[0].hi)
		return geofw_errf(err, errlen, -EINVAL, "'%s': one port, as PORT/tcp or "
				  "PORT/udp", geofw_echo(text, eb));
	*proto = p.r[0].proto;
	*port = p.r[0].lo;
	return 0;
}

/* ---- rules ------------------------------------------------------------------- */

const char *geofw_prule_kind_name(int kind)
{
	switch (kind) {
	case GEOFW_PRULE_ALLOW:		return "allow";
	case GEOFW_PRULE_BLOCK:		return "block";
	case GEOFW_PRULE_COUNTRY:	return "block-country";
	case GEOFW_PRULE_ONLY:		return "allow-only";
	default:			return "?";
	}
}

int geofw_prule_target(const struct geofw_prule *r, char *buf, size_t len)
{
	if (r->is_asn) {
		int n = snprintf(buf, len, "AS%u", r->asn);

		return n < 0 || (size_t)n >= len ? -ENOSPC : 0;
	}
	if (r->is_country) {
		int n = snprintf(buf, len, "%s", geofw_country_code(r->country));

		return n < 0 || (size_t)n >= len ? -ENOSPC : 0;
	}
	return geofw_cidr_format(&r->prefix, buf, len);
}

int geofw_prule_target_parse(const char *text, struct geofw_prule *r, char *err, size_t errlen)
{
	char cc[3], eb[GEOFW_ECHO_BUFLEN];
	int id;

	if (text && strlen(text) == 2 && !geofw_cc_parse(text, cc, NULL, 0)) {
		id = geofw_country_id(cc);
		if (id <= 0)
			return geofw_errf(err, errlen, -EINVAL, "'%s' is not a known country code",
					  geofw_echo(text, eb));
		r->is_country = true;
		r->is_asn = false;
		r->country = (__u8)id;
		return 0;
	}
	r->is_country = false;
	/* "AS64500" (two letters and digits: never a country code or prefix) */
	if (text && (text[0] == 'A' || text[0] == 'a') && (text[1] == 'S' || text[1] == 's') &&
	    text[2]) {
		if (geofw_asn_parse(text, &r->asn))
			return geofw_errf(err, errlen, -EINVAL, "'%s' is not an AS number "
					  "(AS64500, 1-4294967295)", geofw_echo(text, eb));
		r->is_asn = true;
		return 0;
	}
	r->is_asn = false;
	return geofw_cidr_parse(text, GEOFW_CIDR_ALLOW_ZERO, &r->prefix, err, errlen);
}

/* ---- kernel image -------------------------------------------------------------- */

/* drop > reject > http403 > log, as the store resolves block rows. */
static int strictness(__u8 action)
{
	switch (action) {
	case GEOFW_ACT_DROP:	return 4;
	case GEOFW_ACT_REJECT:	return 3;
	case GEOFW_ACT_HTTP403:	return 2;
	case GEOFW_ACT_LOG:	return 1;
	default:		return 0;
	}
}

static int set_of(struct geofw_ports_image *img, const struct geofw_ports *p, char *err,
		  size_t errlen)
{
	size_t i;

	for (i = 0; i < img->n_sets; i++)
		if (geofw_ports_equal(&img->set[i], p))
			return (int)i;
	if (img->n_sets == GEOFW_MAX_PORT_SETS) {
		char buf[GEOFW_PORTS_STRLEN];

		geofw_ports_format(p, buf, sizeof(buf));
		return geofw_errf(err, errlen, -E2BIG, "port list %s: more than %d different "
				  "port lists in the rules (write rules with the same list)",
				  buf, GEOFW_MAX_PORT_SETS);
	}
	img->set[img->n_sets] = *p;
	return (int)img->n_sets++;
}

/* Put rule r (of set s) into one merged prefix value. */
static void net_apply(struct geofw_port_net *v, const struct geofw_prule *r, int s)
{
	__u16 bit = (__u16)(1u << s);

	switch (r->kind) {
	case GEOFW_PRULE_ALLOW:
		if (!(v->allow_sets & bit) || !v->rule_id[s])
			v->rule_id[s] = r->rule_id;
		v->allow_sets |= bit;
		break;
	case GEOFW_PRULE_BLOCK:
		if (v->allow_sets & bit)
			break;	/* the allow's id stays */
		if (!(v->block_sets & bit) || strictness(r->action) > strictness(v->action[s])) {
			v->action[s] = r->action;
			v->rule_id[s] = r->rule_id;
		}
		v->block_sets |= bit;
		break;
	case GEOFW_PRULE_ONLY:
		v->only_sets |= bit;
		break;
	}
}

static bool covers(const struct geofw_cidr *outer, const struct geofw_cidr *inner)
{
	return outer->family == inner->family && outer->prefixlen <= inner->prefixlen &&
	       geofw_cidr_contains(outer, inner->addr, inner->family);
}

/*
 * The entry of each AS in gfw_port_asn's open-addressed table: its hash, or
 * the first free entry after it within GEOFW_PORT_ASN_PROBE (the data plane
 * looks no further).  -E2BIG naming the AS when it lies further; at most 254
 * ASes in 1,024 entries, no random set did (docs/design-notes.md).
 */
static int asn_place(struct geofw_ports_image *img, char *err, size_t errlen)
{
	__u32 used[GEOFW_PORT_ASN_ENTRIES] = { 0 };	/* the AS in each entry */
	size_t i;
	__u32 h, d;

	for (i = 0; i < img->n_asn; i++) {
		if (!img->asn[i].asn)	/* reserved (RFC 7607), the empty entry's mark */
			return geofw_errf(err, errlen, -EINVAL, "port-scoped AS rules: AS0 is "
					  "reserved and cannot have rules");
		h = GEOFW_PORT_ASN_HASH(img->asn[i].asn);
		for (d = 0; d < GEOFW_PORT_ASN_PROBE &&
			    used[(h + d) & (GEOFW_PORT_ASN_ENTRIES - 1)]; d++)
			;
		if (d == GEOFW_PORT_ASN_PROBE)
			return geofw_errf(err, errlen, -E2BIG, "port-scoped AS rules: AS%u does "
					  "not fit the data plane's AS table: the %d entries it may "
					  "take are held by other ASes of port rules (AS%u, ...); "
					  "remove one of them", img->asn[i].asn,
					  GEOFW_PORT_ASN_PROBE, used[h]);
		img->asn[i].pos = (h + d) & (GEOFW_PORT_ASN_ENTRIES - 1);
		used[img->asn[i].pos] = img->asn[i].asn;
	}
	return 0;
}

int geofw_ports_build(const struct geofw_prule *rules, size_t n, struct geofw_ports_image *img,
		      char *err, size_t errlen)
{
	int *set_ids = calloc(n ? n : 1, sizeof(int));
	size_t i, j;
	int s, ret;

	memset(img, 0, sizeof(*img));
	if (!set_ids)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		if ((s = set_of(img, &rules[i].ports, err, errlen)) < 0) {
			ret = s;
			goto fail;
		}
		set_ids[i] = s;
	}
	/* Allow-only policies: one per set; the action for the unlisted is the
	 * strictest any of its rows names, the id the first row's. */
	for (i = 0; i < n; i++) {
		struct geofw_port_set *ps = &img->set_val[set_ids[i]];
		__u16 bit = (__u16)(1u << set_ids[i]);

		if (rules[i].kind != GEOFW_PRULE_ONLY)
			continue;
		if (!(img->only_sets & bit) ||
		    strictness(rules[i].action) > strictness(ps->only_action))
			ps->only_action = rules[i].action;
		if (!ps->only_rule_id)
			ps->only_rule_id = rules[i].rule_id;
		img->only_sets |= bit;
	}
	/* Countries. */
	for (i = 0; i < n; i++) {
		const struct geofw_prule *r = &rules[i];
		struct geofw_port_cc *c = &img->cc[r->country];
		__u16 bit = (__u16)(1u << set_ids[i]);

		if (!r->is_country)
			continue;
		if (r->kind == GEOFW_PRULE_COUNTRY) {
			if (!(c->block_sets & bit) ||
			    strictness(r->action) > strictness(c->action[set_ids[i]]))
				c->action[set_ids[i]] = r->action;
			c->block_sets |= bit;
		} else if (r->kind == GEOFW_PRULE_ONLY) {
			c->only_sets |= bit;
		}
		img->any_cc = true;
	}
	/* Prefixes: one entry per distinct prefix, with every covering rule. */
	for (i = 0; i < n; i++) {
		const struct geofw_prule *r = &rules[i];
		bool seen = false;
		void *p;

		if (r->is_country || r->is_asn)
			continue;
		for (j = 0; j < img->n_net && !seen; j++)
			seen = !geofw_cidr_cmp(&img->net[j].prefix, &r->prefix);
		if (seen)
			continue;
		p = geofw_grow(img->net, &img->cap_net, img->n_net, sizeof(img->net[0]), 16);
		if (!p)
			goto nomem;
		img->net = p;
		memset(&img->net[img->n_net], 0, sizeof(img->net[0]));
		img->net[img->n_net++].prefix = r->prefix;
	}
	for (j = 0; j < img->n_net; j++)
		for (i = 0; i < n; i++)
			if (!rules[i].is_country && !rules[i].is_asn &&
			    covers(&rules[i].prefix, &img->net[j].prefix))
				net_apply(&img->net[j].val, &rules[i], set_ids[i]);
	/* ASes: one entry per AS with all its rules, as a prefix entry. */
	for (i = 0; i < n; i++) {
		if (!rules[i].is_asn)
			continue;
		for (j = 0; j < img->n_asn && img->asn[j].asn != rules[i].asn; j++)
			;
		if (j == img->n_asn) {
			void *p;

			if (img->n_asn == GEOFW_MAX_PORT_ASNS) {
				ret = geofw_errf(err, errlen, -E2BIG, "port-scoped AS rules: more "
						 "than %d ASes", GEOFW_MAX_PORT_ASNS);
				goto fail;
			}
			p = geofw_grow(img->asn, &img->cap_asn, img->n_asn, sizeof(img->asn[0]), 16);
			if (!p)
				goto nomem;
			img->asn = p;
			memset(&img->asn[j], 0, sizeof(img->asn[0]));
			img->asn[j].asn = rules[i].asn;
			img->n_asn++;
		}
		net_apply(&img->asn[j].val, &rules[i], set_ids[i]);
	}
	if ((ret = asn_place(img, err, errlen)))
		goto fail;
	free(set_ids);
	return 0;
nomem:
	ret = -ENOMEM;
fail:
	free(set_ids);
	geofw_ports_image_free(img);
	return ret;
}

void geofw_ports_image_free(struct geofw_ports_image *img)
{
	free(img->net);
	img->net = NULL;
	img->n_net = img->cap_net = 0;
	free(img->asn);
	img->asn = NULL;
	img->n_asn = img->cap_asn = 0;
}

int geofw_ports_add_ratelimits(struct geofw_ports_image *img, const struct geofw_ratelimit *rl,
			       size_t n, __u8 v6_default, char *err, size_t errlen)
{
	size_t i;
	int s;

	if (n > GEOFW_MAX_RATELIMITS)
		return geofw_errf(err, errlen, -E2BIG, "more than %d rate limits",
				  GEOFW_MAX_RATELIMITS);
	for (i = 0; i < n; i++) {
		__u16 sets = 0;

		if (rl[i].has_ports) {
			if ((s = set_of(img, &rl[i].ports, err, errlen)) < 0)
				return s;
			sets = (__u16)(1u << s);
		}
		geofw_ratelimit_kernel(&rl[i], v6_default, sets, &img->rl[i]);
	}
	img->n_rl = n;
	return 0;
}
