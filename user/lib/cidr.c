// SPDX-License-Identifier: GPL-2.0-only
#include "cidr.h"
#include "msg.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Longest text inet_pton could accept is 45 characters; anything beyond
 * this is not an address and need not be copied. */
#define ADDR_TEXT_MAX	63
/* Echo of the input in messages: long or binary input must not flood a
 * terminal or carry control characters through the socket. */

static const __u8 v4mapped_prefix[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff,
};

static int addr_bytes(int family)
{
	return family == 4 ? 4 : 16;
}

static int max_prefix(int family)
{
	return family == 4 ? 32 : 128;
}

void geofw_cidr_mask(struct geofw_cidr *c)
{
	int bytes = addr_bytes(c->family);
	int full = c->prefixlen / 8, rem = c->prefixlen % 8;

	if (full >= bytes)
		return;
	if (rem)
		c->addr[full++] &= (__u8)(0xff << (8 - rem));
	memset(c->addr + full, 0, sizeof(c->addr) - full);
}

bool geofw_cidr_has_host_bits(const struct geofw_cidr *c)
{
	struct geofw_cidr m = *c;

	geofw_cidr_mask(&m);
	return memcmp(m.addr, c->addr, sizeof(c->addr)) != 0;
}

static bool is_v4mapped(const __u8 addr[16])
{
	return memcmp(addr, v4mapped_prefix, sizeof(v4mapped_prefix)) == 0;
}

/* Prefix length after '/': digits only, no leading zero, within max. */
static int parse_prefixlen(const char *p, int max, const char *text, int family,
			   int *len, char *err, size_t errlen)
{
	char eb[GEOFW_ECHO_BUFLEN];
	int v = 0, i;

	if (!*p)
		return geofw_errf(err, errlen, -EINVAL, "%s: missing prefix length after '/'",
				  geofw_echo(text, eb));
	for (i = 0; p[i]; i++) {
		if (p[i] < '0' || p[i] > '9')
			return geofw_errf(err, errlen, -EINVAL,
					  "%s: prefix length must be a decimal number",
					  geofw_echo(text, eb));
		/* Saturate: the value only has to be known to exceed max. */
		if (v <= max)
			v = v * 10 + (p[i] - '0');
	}
	if (p[0] == '0' && p[1])
		return geofw_errf(err, errlen, -EINVAL, "%s: prefix length has a leading zero",
				  geofw_echo(text, eb));
	if (v > max)
		return geofw_errf(err, errlen, -EINVAL, "%s: prefix length must be 0-%d for IPv%d",
				  geofw_echo(text, eb), max, family);
	*len = v;
	return 0;
}

int geofw_cidr_parse(const char *text, unsigned int flags, struct geofw_cidr *out,
		     char *err, size_t errlen)
{
	char abuf[ADDR_TEXT_MAX + 1], eb[GEOFW_ECHO_BUFLEN], sb[GEOFW_CIDR_STRLEN];
	const char *slash;
	struct geofw_cidr c;
	size_t alen;
	int plen = -1;

	if (!text || !*text)
		return geofw_errf(err, errlen, -EINVAL, "empty address");

	slash = strchr(text, '/');
	alen = slash ? (size_t)(slash - text) : strlen(text);
	if (slash && (flags & GEOFW_CIDR_ADDR_ONLY))
		return geofw_errf(err, errlen, -EINVAL, "%s: expected a single address, not a prefix",
				  geofw_echo(text, eb));
	if (alen > ADDR_TEXT_MAX)
		return geofw_errf(err, errlen, -EINVAL, "%s: not an IPv4 or IPv6 address",
				  geofw_echo(text, eb));
	memcpy(abuf, text, alen);
	abuf[alen] = '\0';

	memset(&c, 0, sizeof(c));
	if (inet_pton(AF_INET, abuf, c.addr) == 1)
		c.family = 4;
	else if (inet_pton(AF_INET6, abuf, c.addr) == 1)
		c.family = 6;
	else
		return geofw_errf(err, errlen, -EINVAL, "%s: not an IPv4 or IPv6 address",
				  geofw_echo(text, eb));

	if (slash && parse_prefixlen(slash + 1, max_prefix(c.family), text,
				     c.family, &plen, err, errlen))
		return -EINVAL;
	if (plen < 0)
		plen = max_prefix(c.family);

	/* The data plane looks mapped sources up as IPv4, so store them that
	 * way; a shorter prefix would also cover non-mapped IPv6 addresses. */
	if (c.family == 6 && is_v4mapped(c.addr)) {
		if (plen < 96)
			return geofw_errf(err, errlen, -EINVAL,
					  "%s: an IPv4-mapped prefix must be /96 or longer (a shorter one spans non-mapped IPv6 space)",
					  geofw_echo(text, eb));
		memmove(c.addr, c.addr + 12, 4);
		memset(c.addr + 4, 0, sizeof(c.addr) - 4);
		c.family = 4;
		plen -= 96;
	}
	c.prefixlen = plen;

	if (plen == 0 && !(flags & GEOFW_CIDR_ALLOW_ZERO))
		return geofw_errf(err, errlen, -EINVAL,
				  "%s: /0 matches every IPv%d address; use --force if you mean it",
				  geofw_echo(text, eb), c.family);

	if (geofw_cidr_has_host_bits(&c)) {
		if (!(flags & GEOFW_CIDR_ALLOW_HOST_BITS)) {
			geofw_cidr_mask(&c);
			geofw_cidr_format(&c, sb, sizeof(sb));
			return geofw_errf(err, errlen, -EINVAL, "%s: host bits set; did you mean %s?",
					  geofw_echo(text, eb), sb);
		}
		geofw_cidr_mask(&c);
	}
	*out = c;
	return 0;
}

int geofw_addr_format(int family, const __u8 *addr, char *buf, size_t len)
{
	char tmp[INET6_ADDRSTRLEN];

	if (family != 4 && family != 6)
		return -EINVAL;
	if (!inet_ntop(family == 4 ? AF_INET : AF_INET6, addr, tmp, sizeof(tmp)))
		return -errno;
	if (strlen(tmp) >= len)
		return -ENOSPC;
	strcpy(buf, tmp);
	return 0;
}

int geofw_cidr_format(const struct geofw_cidr *c, char *buf, size_t len)
{
	char tmp[INET6_ADDRSTRLEN];
	int r;

	if ((c->family != 4 && c->family != 6) || c->prefixlen > max_prefix(c->family))
		return -EINVAL;
	r = geofw_addr_format(c->family, c->addr, tmp, sizeof(tmp));
	if (r)
		return r;
	r = snprintf(buf, len, "%s/%u", tmp, c->prefixlen);
	return r < 0 || (size_t)r >= len ? -ENOSPC : 0;
}

bool geofw_cidr_contains(const struct geofw_cidr *net, const __u8 *addr, int family)
{
	struct geofw_cidr a;

	memset(&a, 0, sizeof(a));
	if (family == 6 && is_v4mapped(addr)) {
		family = 4;
		addr += 12;
	}
	if (family != net->family || (family != 4 && family != 6))
		return false;
	a.family = family;
	a.prefixlen = net->prefixlen;
	memcpy(a.addr, addr, addr_bytes(family));
	geofw_cidr_mask(&a);
	return memcmp(a.addr, net->addr, addr_bytes(family)) == 0;
}

int geofw_cidr_cmp(const struct geofw_cidr *a, const struct geofw_cidr *b)
{
	int r;

	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	r = memcmp(a->addr, b->addr, addr_bytes(a->family));
	if (r)
		return r;
	return (int)a->prefixlen - (int)b->prefixlen;
}

/* A cidr of this family as an LPM key's prefix length and address bytes. */
static int to_lpm(const struct geofw_cidr *c, int family, __u32 *prefixlen, void *addr)
{
	if (c->family != family || c->prefixlen > max_prefix(family))
		return -EINVAL;
	*prefixlen = c->prefixlen;
	memcpy(addr, c->addr, addr_bytes(family));
	return 0;
}

int geofw_cidr_to_lpm_v4(const struct geofw_cidr *c, struct geofw_lpm_v4 *key)
{
	return to_lpm(c, 4, &key->prefixlen, key->addr);
}

int geofw_cidr_to_lpm_v6(const struct geofw_cidr *c, struct geofw_lpm_v6 *key)
{
	return to_lpm(c, 6, &key->prefixlen, key->addr);
}

/* An LPM key's prefix (family, prefix length, address bytes) as a cidr. */
static int from_lpm(int family, __u32 prefixlen, const void *addr, struct geofw_cidr *c)
{
	if (prefixlen > (__u32)max_prefix(family))
		return -EINVAL;
	memset(c, 0, sizeof(*c));
	c->family = family;
	c->prefixlen = prefixlen;
	memcpy(c->addr, addr, addr_bytes(family));
	geofw_cidr_mask(c);
	return 0;
}

int geofw_cidr_from_lpm_v4(const struct geofw_lpm_v4 *key, struct geofw_cidr *c)
{
	return from_lpm(4, key->prefixlen, key->addr, c);
}

int geofw_cidr_from_lpm_v6(const struct geofw_lpm_v6 *key, struct geofw_cidr *c)
{
	return from_lpm(6, key->prefixlen, key->addr, c);
}

static bool is_ascii_letter(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

int geofw_cc_parse(const char *text, char out[3], char *err, size_t errlen)
{
	char eb[GEOFW_ECHO_BUFLEN];

	if (!text || !*text)
		return geofw_errf(err, errlen, -EINVAL,
				  "empty country: a country is two letters (ISO 3166-1 alpha-2), e.g. RU");
	if (!is_ascii_letter(text[0]) || !is_ascii_letter(text[1]) || text[2])
		return geofw_errf(err, errlen, -EINVAL,
				  "%s: a country is two letters (ISO 3166-1 alpha-2), e.g. RU",
				  geofw_echo(text, eb));
	/* Clearing bit 5 upper-cases an ASCII letter without the locale. */
	out[0] = text[0] & ~0x20;
	out[1] = text[1] & ~0x20;
	out[2] = '\0';
	return 0;
}

int geofw_asn_parse(const char *text, __u32 *asn)
{
	unsigned long long v = 0;
	const char *p = text;

	if ((p[0] == 'A' || p[0] == 'a') && (p[1] == 'S' || p[1] == 's'))
		p += 2;
	if (!isdigit((unsigned char)*p) || *p == '0')
		return -EINVAL;
	for (; isdigit((unsigned char)*p); p++) {
		v = v * 10 + (unsigned)(*p - '0');
		if (v > 0xffffffffull)
			return -EINVAL;
	}
	if (*p)
		return -EINVAL;
	*asn = (__u32)v;
	return 0;
}
