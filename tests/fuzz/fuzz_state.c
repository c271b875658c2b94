// SPDX-License-Identifier: GPL-2.0-only
/*
 * The persistent rule state (user/lib/state.h): geofw_state_parse_buf() on
 * any bytes.  geofwd reads this file at start-up; a state it accepted is
 * saved back with geofw_state_format(), so that text must parse again and
 * format to exactly the same bytes, or a restart would change the rules.
 *
 * Accepted states also go through a transaction that is rolled back (a
 * sweep of expired rules, removing the rules of one source): the journal
 * must restore the state exactly, down to the order of the rules.
 */
#include <errno.h>

#include "fuzz.h"
#include "state.h"

struct first_source {
	char source[GEOFW_STATE_SOURCE_MAX + 1];
	__u64 expires;
	bool found;
};

static int note_first(const struct geofw_state_block *rule, void *ctx)
{
	struct first_source *f = ctx;

	snprintf(f->source, sizeof(f->source), "%s", rule->source);
	f->expires = rule->expires;
	f->found = true;
	return 1;
}

static void format_or_die(const struct geofw_state *st, char **buf, size_t *len)
{
	int r = geofw_state_format(st, buf, len);

	FUZZ_CHECK(!r, "state_format failed with %d", r);
	FUZZ_CHECK(*len >= sizeof(GEOFW_STATE_HEADER) &&
		   !memcmp(*buf, GEOFW_STATE_HEADER "\n", sizeof(GEOFW_STATE_HEADER)),
		   "formatted state does not start with the header");
}

static void check_rollback(struct geofw_state *st, const char *text, size_t len)
{
	struct first_source f = { .found = false };
	char *after;
	size_t alen;
	long n;

	geofw_state_for_each_block(st, note_first, &f);
	FUZZ_CHECK(!geofw_state_begin(st), "state_begin failed");
	n = geofw_state_sweep(st, f.expires ? f.expires : 1, NULL, NULL);
	FUZZ_CHECK(n >= 0, "sweep returned %ld", n);
	if (f.found) {
		n = geofw_state_del_source(st, f.source, NULL, NULL);
		FUZZ_CHECK(n >= 0, "del_source returned %ld", n);
	}
	geofw_state_rollback(st);
	format_or_die(st, &after, &alen);
	FUZZ_CHECK(alen == len && !memcmp(after, text, len),
		   "rollback did not restore the state:\n--- before\n%.*s--- after\n%.*s",
		   (int)len, text, (int)alen, after);
	free(after);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct geofw_state *st = NULL, *st2 = NULL;
	char err[GEOFW_ERRLEN], *text, *text2;
	size_t len, len2;
	void *buf = fuzz_memdup(data, size);
	int r;

	memset(err, 0, sizeof(err));
	r = geofw_state_parse_buf(buf, size, NULL, &st, err, sizeof(err));
	free(buf);
	FUZZ_SAY("state: %s\n", r ? err : "accepted");
	if (r) {
		FUZZ_CHECK(r == -EINVAL, "state_parse_buf returned %d: %s", r, err);
		FUZZ_CHECK(!st, "state returned along with an error");
		fuzz_check_msg("state_parse_buf", err, sizeof(err));
		FUZZ_CHECK(!strncmp(err, "<state>", 7), "message \"%s\"", err);
		return 0;
	}
	FUZZ_CHECK(st, "no state returned");

	format_or_die(st, &text, &len);
	r = geofw_state_parse_buf(text, len, "formatted", &st2, err, sizeof(err));
	FUZZ_CHECK(!r, "the formatted state does not parse back: %s\n--- text\n%.*s", err,
		   (int)len, text);
	format_or_die(st2, &text2, &len2);
	FUZZ_CHECK(len == len2 && !memcmp(text, text2, len),
		   "format, parse, format is not stable:\n--- first\n%.*s--- second\n%.*s",
		   (int)len, text, (int)len2, text2);

	check_rollback(st, text, len);

	free(text);
	free(text2);
	geofw_state_free(st);
	geofw_state_free(st2);
	return 0;
}
