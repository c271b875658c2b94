// SPDX-License-Identifier: GPL-2.0-only
/* The one JSON string escaper (user/lib/json.h). */
#include <stdlib.h>

#include "events.h"
#include "json.h"
#include "test.h"

struct sbuf {
	char s[512];
	size_t n;
};

static void put_sbuf(void *ctx, const char *s, size_t n)
{
	struct sbuf *b = ctx;

	if (b->n + n < sizeof(b->s)) {
		memcpy(b->s + b->n, s, n);
		b->n += n;
	}
	b->s[b->n] = '\0';
}

static const char *quote_n(struct sbuf *b, const char *s, size_t n)
{
	b->n = 0;
	b->s[0] = '\0';
	geofw_json_quote_n(s, n, put_sbuf, b);
	return b->s;
}

void test_json_quote(void)
{
	static const struct {
		const char *name, *in;
		size_t len;		/* 0: strlen */
		const char *want;
	} rows[] = {
		{ "plain", "gfw1", 0, "\"gfw1\"" },
		{ "empty", "", 0, "\"\"" },
		{ "quote_backslash", "q\"x\\y", 0, "\"q\\\"x\\\\y\"" },
		{ "short_escapes", "\n\r\t\b\f", 0, "\"\\n\\r\\t\\b\\f\"" },
		{ "control", "a\x01" "b\x1f", 0, "\"a\\u0001b\\u001f\"" },
		{ "del", "a\x7f", 0, "\"a\\u007f\"" },
		{ "nul_inside", "a\0b", 3, "\"a\\u0000b\"" },
		{ "utf8_2", "\xc3\xa9", 0, "\"\xc3\xa9\"" },
		{ "utf8_3", "\xe2\x82\xac", 0, "\"\xe2\x82\xac\"" },
		{ "utf8_4", "\xf0\x9f\x94\xa5", 0, "\"\xf0\x9f\x94\xa5\"" },
		{ "invalid_ff", "u\xff\xfez", 0, "\"u\\ufffd\\ufffdz\"" },
		{ "lone_continuation", "\x80x", 0, "\"\\ufffdx\"" },
		{ "overlong_slash", "\xc0\xaf", 0, "\"\\ufffd\\ufffd\"" },
		{ "overlong_3", "\xe0\x80\xaf", 0, "\"\\ufffd\\ufffd\\ufffd\"" },
		{ "surrogate", "\xed\xa0\x80", 0, "\"\\ufffd\\ufffd\\ufffd\"" },
		{ "above_10ffff", "\xf4\x90\x80\x80", 0, "\"\\ufffd\\ufffd\\ufffd\\ufffd\"" },
		{ "truncated_at_end", "a\xe2\x82", 0, "\"a\\ufffd\\ufffd\"" },
		{ "truncated_then_ascii", "\xe2\x82z", 0, "\"\\ufffd\\ufffdz\"" },
	};
	struct sbuf b;
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		SUBTEST("%s", rows[i].name) {
			size_t n = rows[i].len ? rows[i].len : strlen(rows[i].in);

			ASSERT_STREQ(quote_n(&b, rows[i].in, n), rows[i].want, rows[i].name);
		}
}

/* Every byte value alone and after a lead byte: the output is always ASCII
 * or valid UTF-8 carried over, quotes balanced, no raw control byte. */
void test_json_quote_every_byte(void)
{
	struct sbuf b;
	unsigned int x, y;
	char in[2];
	bool bad = false;

	for (x = 0; x < 256 && !bad; x++)
		for (y = 0; y < 256 && !bad; y++) {
			const unsigned char *p;
			size_t n;

			in[0] = (char)x;
			in[1] = (char)y;
			quote_n(&b, in, 2);
			n = strlen(b.s);
			if (n < 2 || b.s[0] != '"' || b.s[n - 1] != '"')
				bad = true;
			for (p = (const unsigned char *)b.s + 1; !bad && p < (const unsigned char *)b.s + n - 1; p++) {
				if (*p < 0x20 || *p == 0x7f)
					bad = true;
				else if (*p == '"' && p[-1] != '\\')
					bad = true;
			}
			if (bad)
				test__fail(__FILE__, __LINE__, "bytes %02x %02x: %s", x, y, b.s);
		}
}

/* The drop log's JSON line goes through the same escaper. */
void test_json_event_ifname(void)
{
	struct geofw_event ev = { .family = 4, .l4proto = 17, .ifindex = 5 };
	char line[512];

	ASSERT_TRUE(geofw_event_format_json(&ev, "q\"x\\y\xff", 1.0, line, sizeof(line)) > 0,
		    "format");
	ASSERT_TRUE(strstr(line, "\"interface\":\"q\\\"x\\\\y\\ufffd\"") != NULL, line);
}
