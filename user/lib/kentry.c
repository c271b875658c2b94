// SPDX-License-Identifier: GPL-2.0-only
/* Kernel entries as data (kdiff.h): the diff vector the store fills, their
 * order and the rule source class.  Core, no libbpf: kdiff.c applies them. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "grow.h"
#include "kdiff.h"

__u8 geofw_source_class(const char *source)
{
	if (!source)
		return GEOFW_RC_IP;
	if (!strncmp(source, "feed:", 5))
		return GEOFW_RC_FEED;
	if (!strcmp(source, "crowdsec"))
		return GEOFW_RC_CROWDSEC;
	if (!strcmp(source, "ratelimit"))
		return GEOFW_RC_RATELIMIT;
	return GEOFW_RC_IP;
}

int geofw_kdiff_push(struct geofw_kdiff *d, const struct geofw_kentry *e)
{
	struct geofw_kentry *v = geofw_grow(d->v, &d->cap, d->n, sizeof(*v), 64);

	if (!v)
		return -ENOMEM;
	d->v = v;
	d->v[d->n++] = *e;
	return 0;
}

void geofw_kdiff_reset(struct geofw_kdiff *d)
{
	d->n = 0;
}

void geofw_kdiff_free(struct geofw_kdiff *d)
{
	free(d->v);
	memset(d, 0, sizeof(*d));
}

int geofw_kentry_cmp(const struct geofw_kentry *a, const struct geofw_kentry *b)
{
	const struct geofw_cidr *x = &a->prefix, *y = &b->prefix;
	int c;

	if (a->allow != b->allow)
		return a->allow ? 1 : -1;
	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	if ((c = memcmp(x->addr, y->addr, x->family == 4 ? 4 : 16)))
		return c;
	return (x->prefixlen > y->prefixlen) - (x->prefixlen < y->prefixlen);
}
