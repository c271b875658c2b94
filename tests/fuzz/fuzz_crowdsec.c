// SPDX-License-Identifier: GPL-2.0-only
/*
 * CrowdSec LAPI answers (user/lib/crowdsec.h): the body of
 * /v1/decisions/stream as a LAPI (or whatever answers at its URL) sends it.
 *
 * Every accepted decision must be one the store takes: a known scope, a
 * canonical prefix other than /0, a known country, a non-zero AS, an action
 * that blocks and a duration > 0 for new ones, a comment of printable UTF-8.
 * Refused entries are counted, never taken in part; messages are clean.  The
 * same bytes also go through the Go duration parser.
 */
#include <errno.h>

#include "countries.h"
#include "crowdsec.h"
#include "fuzz.h"

static void check_decision(const struct geofw_cs_decision *d, bool deleted)
{
	size_t i, n;

	switch (d->scope) {
	case GEOFW_CS_SCOPE_IP:
		FUZZ_CHECK(d->prefix.prefixlen == (d->prefix.family == 4 ? 32 : 128),
			   "ip of length %u", d->prefix.prefixlen);
		/* fall through */
	case GEOFW_CS_SCOPE_RANGE:
		FUZZ_CHECK(d->prefix.family == 4 || d->prefix.family == 6, "family %u",
			   d->prefix.family);
		FUZZ_CHECK(d->prefix.prefixlen > 0, "a /0 taken");
		FUZZ_CHECK(!geofw_cidr_has_host_bits(&d->prefix), "host bits left");
		break;
	case GEOFW_CS_SCOPE_COUNTRY:
		FUZZ_CHECK(d->country && geofw_country_code(d->country), "country id %u",
			   d->country);
		break;
	case GEOFW_CS_SCOPE_AS:
		FUZZ_CHECK(d->asn, "AS 0");
		break;
	default:
		FUZZ_CHECK(0, "scope %u", d->scope);
	}
	if (deleted)
		return;
	FUZZ_CHECK(d->action > GEOFW_ACT_PASS && d->action < GEOFW_ACT_MAX, "action %u",
		   d->action);
	FUZZ_CHECK(d->seconds > 0, "duration 0");
	n = strnlen(d->comment, sizeof(d->comment));
	FUZZ_CHECK(n < sizeof(d->comment), "comment not terminated");
	for (i = 0; i < n; i++)
		FUZZ_CHECK((unsigned char)d->comment[i] >= 0x20 && d->comment[i] != 0x7f,
			   "control character in the comment");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct geofw_conf conf;
	static bool init;
	struct geofw_cs_answer a;
	char *body = fuzz_memdup(data, size), *text = fuzz_strndup(data, size);
	char err[256];
	long long ns;
	size_t i;
	int r;

	if (!init) {
		geofw_conf_defaults(&conf);
		init = true;
	}
	memset(err, 0, sizeof(err));
	r = geofw_cs_parse(body, size, &conf, &a, err, sizeof(err));
	FUZZ_SAY("stream: %s (%zu new, %zu deleted, %zu refused)\n", r ? err : "accepted",
		 a.n_add, a.n_del, a.refused);
	if (r) {
		FUZZ_CHECK(r == -EBADMSG, "cs_parse returned %d", r);
		fuzz_check_msg("cs_parse", err, sizeof(err));
		FUZZ_CHECK(err[0], "cs_parse failed without a message");
	} else {
		for (i = 0; i < a.n_add; i++)
			check_decision(&a.add[i], false);
		for (i = 0; i < a.n_del; i++)
			check_decision(&a.del[i], true);
		fuzz_check_msg("refused", a.refused_why, sizeof(a.refused_why));
		FUZZ_CHECK(!a.refused == !a.refused_why[0], "refused %zu, reason \"%s\"",
			   a.refused, a.refused_why);
	}
	geofw_cs_answer_free(&a);

	r = geofw_go_duration_parse(text, &ns);
	FUZZ_CHECK(r == 0 || r == -EINVAL, "go_duration_parse returned %d", r);
	free(body);
	free(text);
	return 0;
}
