// SPDX-License-Identifier: GPL-2.0-only
/* Durations and ages as geofw prints them (user/lib/timeutil.c): one format,
 * which geofw_duration_parse() reads back. */
#include <string.h>

#include "test.h"
#include "timeutil.h"

static const struct {
	__u64 secs;
	unsigned int flags;
	const char *out;
} format_rows[] = {
	{ 0, 0, "0s" },
	{ 45, 0, "45s" },
	{ 90, 0, "1m30s" },
	{ 3600, 0, "1h" },		/* never "1h0m" */
	{ 3605, 0, "1h" },		/* two units at most, and adjacent ones */
	{ 5400, 0, "1h30m" },
	{ 3599, 0, "59m59s" },
	{ 86400 + 3 * 3600 + 7, 0, "1d3h" },
	{ 9 * 86400, 0, "1w2d" },
	{ 90061, GEOFW_DURATION_EXACT, "1d1h1m1s" },
	{ 5400, GEOFW_DURATION_EXACT, "1h30m" },
	{ 43200, GEOFW_DURATION_EXACT, "12h" },
	{ 0, GEOFW_DURATION_EXACT, "0s" },
};

void test_duration_format(void)
{
	char buf[GEOFW_DURATION_STRLEN], name[64];
	size_t i;

	for (i = 0; i < sizeof(format_rows) / sizeof(format_rows[0]); i++) {
		__u64 back = 0;

		geofw_duration_format(format_rows[i].secs, format_rows[i].flags, buf, sizeof(buf));
		snprintf(name, sizeof(name), "format %llu", (unsigned long long)format_rows[i].secs);
		ASSERT_STREQ(buf, format_rows[i].out, name);
		/* What is printed is what an operator may type back. */
		if (format_rows[i].secs && format_rows[i].flags & GEOFW_DURATION_EXACT) {
			ASSERT_OK(geofw_duration_parse(buf, &back, NULL, 0), name);
			ASSERT_EQ(back, format_rows[i].secs, name);
		}
	}
	/* The longest duration fits the documented buffer. */
	geofw_duration_format(GEOFW_DURATION_MAX, GEOFW_DURATION_EXACT, buf, sizeof(buf));
	ASSERT_TRUE(strlen(buf) < sizeof(buf) - 1, "max fits");
	/* A short buffer is cut, still terminated. */
	geofw_duration_format(5400, 0, buf, 3);
	ASSERT_STREQ(buf, "1h", "short buffer");
}

void test_ago_format(void)
{
	char buf[GEOFW_DURATION_STRLEN];

	geofw_ago_format(0, 1000, buf, sizeof(buf));
	ASSERT_STREQ(buf, "never", "never");
	geofw_ago_format(1000, 1000, buf, sizeof(buf));
	ASSERT_STREQ(buf, "0s ago", "just now");
	geofw_ago_format(1000, 1119, buf, sizeof(buf));
	ASSERT_STREQ(buf, "119s ago", "seconds below 2 minutes");
	geofw_ago_format(1000, 1000 + 7199, buf, sizeof(buf));
	ASSERT_STREQ(buf, "119m ago", "minutes below 2 hours");
	geofw_ago_format(1000, 1000 + 3 * 3600, buf, sizeof(buf));
	ASSERT_STREQ(buf, "3h ago", "hours");
	geofw_ago_format(1000 + 600, 1000, buf, sizeof(buf));
	ASSERT_STREQ(buf, "in 10m", "ahead");
}
