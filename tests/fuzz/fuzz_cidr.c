// SPDX-License-Identifier: GPL-2.0-only
/*
 * Addresses, prefixes, country codes and durations (user/lib/cidr.h): what
 * an operator types, a list file holds and a client sends over the socket.
 *
 * Input: byte 0 = geofw_cidr_parse() flags (low 3 bits), the rest = the text.
 * Every parser gets the same text.  Accepted values must be canonical and
 * survive a trip through their text form unchanged.
 */
#include <errno.h>

#include "cidr.h"
#include "fuzz.h"

#define ALL_FLAGS (GEOFW_CIDR_ALLOW_HOST_BITS | GEOFW_CIDR_ALLOW_ZERO | GEOFW_CIDR_ADDR_ONLY)

static const char *cidr_str(const struct geofw_cidr *c, char buf[GEOFW_CIDR_STRLEN])
{
	if (geofw_cidr_format(c, buf, GEOFW_CIDR_STRLEN))
		snprintf(buf, GEOFW_CIDR_STRLEN, "(family %u, /%u)", c->family, c->prefixlen);
	return buf;
}

static void check_cidr(const char *text, unsigned int flags)
{
	char err[GEOFW_ERRLEN], err2[GEOFW_ERRLEN], buf[GEOFW_CIDR_STRLEN], tmp[GEOFW_CIDR_STRLEN];
	struct geofw_cidr c, again;
	int max, i, r;

	memset(err, 0, sizeof(err));
	r = geofw_cidr_parse(text, flags, &c, err, sizeof(err));
	FUZZ_SAY("cidr (flags %u): %s\n", flags, r ? err : "accepted");
	if (r) {
		FUZZ_CHECK(r == -EINVAL, "cidr_parse returned %d", r);
		fuzz_check_msg("cidr_parse", err, sizeof(err));
		FUZZ_CHECK(err[0], "cidr_parse failed without a message");
		return;
	}

	/* Canonical: a known family, a length in range, no host bits, unused
	 * bytes zero. */
	FUZZ_CHECK(c.family == 4 || c.family == 6, "family %u", c.family);
	max = c.family == 4 ? 32 : 128;
	FUZZ_CHECK(c.prefixlen <= max, "prefix length %u for IPv%u", c.prefixlen, c.family);
	FUZZ_CHECK(!geofw_cidr_has_host_bits(&c), "host bits left in %s", cidr_str(&c, tmp));
	for (i = c.family == 4 ? 4 : 16; i < 16; i++)
		FUZZ_CHECK(!c.addr[i], "byte %d of an IPv4 address is set", i);
	if (!(flags & GEOFW_CIDR_ALLOW_ZERO))
		FUZZ_CHECK(c.prefixlen, "/0 accepted without GEOFW_CIDR_ALLOW_ZERO");
	if (flags & GEOFW_CIDR_ADDR_ONLY)
		FUZZ_CHECK(c.prefixlen == max, "a bare address gave /%u", c.prefixlen);
	FUZZ_CHECK(geofw_cidr_contains(&c, c.addr, c.family),
		   "%s does not contain its own address", cidr_str(&c, tmp));

	/* Format and parse back: the same prefix, and the text is stable. */
	r = geofw_cidr_format(&c, buf, sizeof(buf));
	FUZZ_CHECK(!r, "cidr_format failed with %d", r);
	r = geofw_cidr_parse(buf, GEOFW_CIDR_ALLOW_ZERO, &again, err2, sizeof(err2));
	FUZZ_CHECK(!r, "\"%s\" (from \"%s\") does not parse back: %s", buf, text, err2);
	FUZZ_CHECK(!memcmp(&c, &again, sizeof(c)), "\"%s\" parses back to %s", buf,
		   cidr_str(&again, tmp));
	r = geofw_cidr_format(&again, tmp, sizeof(tmp));
	FUZZ_CHECK(!r && !strcmp(buf, tmp), "formats differ: \"%s\" then \"%s\"", buf, tmp);
	FUZZ_CHECK(!geofw_cidr_cmp(&c, &again), "cidr_cmp of equal prefixes is not 0");

	/* A buffer one byte short must be refused, not overrun. */
	r = geofw_cidr_format(&c, tmp, strlen(buf));
	FUZZ_CHECK(r == -ENOSPC, "cidr_format into %zu bytes returned %d", strlen(buf), r);
}

static void check_duration(const char *text)
{
	char err[GEOFW_ERRLEN], num[24];
	__u64 secs = 0, again = 0;
	int r;

	memset(err, 0, sizeof(err));
	r = geofw_duration_parse(text, &secs, err, sizeof(err));
	FUZZ_SAY("duration: %s\n", r ? err : "accepted");
	if (r) {
		FUZZ_CHECK(r == -EINVAL, "duration_parse returned %d", r);
		fuzz_check_msg("duration_parse", err, sizeof(err));
		return;
	}
	FUZZ_CHECK(secs > 0 && secs <= GEOFW_DURATION_MAX, "duration %llu out of range",
		   (unsigned long long)secs);
	/* Plain seconds are a duration too, and mean the same. */
	snprintf(num, sizeof(num), "%llu", (unsigned long long)secs);
	r = geofw_duration_parse(num, &again, err, sizeof(err));
	FUZZ_CHECK(!r && again == secs, "\"%s\" = %llu s, but \"%s\" gives %d / %llu", text,
		   (unsigned long long)secs, num, r, (unsigned long long)again);
}

static void check_cc(const char *text)
{
	char err[GEOFW_ERRLEN], cc[3], again[3];
	int r;

	memset(err, 0, sizeof(err));
	r = geofw_cc_parse(text, cc, err, sizeof(err));
	FUZZ_SAY("country: %s\n", r ? err : "accepted");
	if (r) {
		FUZZ_CHECK(r == -EINVAL, "cc_parse returned %d", r);
		fuzz_check_msg("cc_parse", err, sizeof(err));
		return;
	}
	FUZZ_CHECK(cc[0] >= 'A' && cc[0] <= 'Z' && cc[1] >= 'A' && cc[1] <= 'Z' && !cc[2],
		   "country code \"%.3s\" from \"%s\"", cc, text);
	FUZZ_CHECK((cc[0] | 0x20) == (text[0] | 0x20) && (cc[1] | 0x20) == (text[1] | 0x20),
		   "\"%s\" became \"%s\"", text, cc);
	r = geofw_cc_parse(cc, again, NULL, 0);
	FUZZ_CHECK(!r && !memcmp(cc, again, 3), "\"%s\" does not parse to itself", cc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned int flags;
	char *text;

	if (!size)
		return 0;
	flags = data[0] & ALL_FLAGS;
	text = fuzz_strndup(data + 1, size - 1);
	check_cidr(text, flags);
	check_duration(text);
	check_cc(text);
	free(text);
	return 0;
}
