// SPDX-License-Identifier: GPL-2.0-only
/*
 * The text state file of earlier versions (user/lib/store_v1.c), which
 * geofwd reads once to migrate it into rules.db: geofw_store_v1_parse() on
 * any bytes.  A file it accepts goes into the database row by row, so every
 * row must be one the store takes (canonical prefix, block action, source,
 * comment of valid UTF-8) and a country policy must be one it can set.
 */
#include <errno.h>

#include "countries.h"
#include "fuzz.h"
#include "store.h"

static void check_rule(const struct geofw_rule *r)
{
	char msg[GEOFW_ERRLEN];

	FUZZ_CHECK(r->kind == GEOFW_RULE_BLOCK || r->kind == GEOFW_RULE_ALLOW, "kind %d", r->kind);
	FUZZ_CHECK(r->prefix.family == 4 || r->prefix.family == 6, "family %u", r->prefix.family);
	FUZZ_CHECK(!geofw_cidr_has_host_bits(&r->prefix), "host bits accepted");
	if (r->kind == GEOFW_RULE_BLOCK)
		FUZZ_CHECK(r->action > GEOFW_ACT_PASS && r->action < GEOFW_ACT_MAX,
			   "block action %u", r->action);
	FUZZ_CHECK(r->source && r->source[0], "empty source");
	FUZZ_CHECK(r->comment, "no comment string");
	/* The store validates text again; what the file held is its problem
	 * only if it is not a string at all. */
	(void)geofw_store_check_text(r->comment, strlen(r->comment), (size_t)-1, "comment",
				     msg, sizeof(msg));
	FUZZ_CHECK(r->expires <= GEOFW_DURATION_MAX, "expiry %llu", (unsigned long long)r->expires);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct geofw_store_countries c;
	struct geofw_rule *rules = NULL;
	char err[GEOFW_ERRLEN], *buf = fuzz_memdup(data, size);
	size_t n = 0, i;
	unsigned int id;
	int r;

	memset(err, 0, sizeof(err));
	r = geofw_store_v1_parse(buf, size, NULL, &rules, &n, &c, err, sizeof(err));
	FUZZ_SAY("state v1: %s (%zu rules)\n", r ? err : "accepted", n);
	if (r) {
		FUZZ_CHECK(r == -EINVAL || r == -ENOMEM, "v1_parse returned %d: %s", r, err);
		fuzz_check_msg("store_v1_parse", err, sizeof(err));
		FUZZ_CHECK(!strncmp(err, "<state>", 7), "message \"%s\"", err);
		FUZZ_CHECK(!rules && !n, "a failed parse left rules");
	} else {
		for (i = 0; i < n; i++)
			check_rule(&rules[i]);
		if (c.override) {
			FUZZ_CHECK(c.mode == GEOFW_MODE_BLOCK_LISTED || c.mode == GEOFW_MODE_ALLOW_LISTED,
				   "mode %u", c.mode);
			FUZZ_CHECK(c.action > GEOFW_ACT_PASS && c.action < GEOFW_ACT_MAX,
				   "country action %u", c.action);
		}
		for (id = 0; id < GEOFW_MAX_COUNTRIES; id++)
			if (c.listed[id])
				FUZZ_CHECK(id && geofw_country_code(id), "country id %u", id);
	}
	free(rules);
	free(buf);
	return 0;
}
