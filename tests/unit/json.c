// SPDX-License-Identifier: GPL-2.0-only
/* Text that geofw did not write, in jansson documents (user/lib/jsonlib.h). */
#include <errno.h>
#include <stdlib.h>

#include "events.h"
#include "jsonlib.h"
#include "test.h"

#define FFFD "\xef\xbf\xbd"

/* s[0..n) as the one member of a document, dumped: {"s":...}. */
static char *dump_text(const char *s, size_t n)
{
	json_t *doc = json_pack("{s:o}", "s", geofw_json_textn(s, n));
	char *line = doc ? geofw_json_line(doc) : NULL;

	json_decref(doc);
	return line;
}

void test_json_text(void)
{
	static const struct {
		const char *name, *in;
		size_t len;		/* 0: strlen */
		const char *want;
	} rows[] = {
		{ "plain", "gfw1", 0, "{\"s\":\"gfw1\"}\n" },
		{ "empty", "", 0, "{\"s\":\"\"}\n" },
		{ "quote_backslash", "q\"x\\y", 0, "{\"s\":\"q\\\"x\\\\y\"}\n" },
		{ "short_escapes", "\n\r\t\b\f", 0, "{\"s\":\"\\n\\r\\t\\b\\f\"}\n" },
		{ "control", "a\x01" "b\x1f", 0, "{\"s\":\"a\\u0001b\\u001F\"}\n" },
		{ "nul_inside", "a\0b", 3, "{\"s\":\"a\\u0000b\"}\n" },
		{ "utf8_2", "\xc3\xa9", 0, "{\"s\":\"\xc3\xa9\"}\n" },
		{ "utf8_3", "\xe2\x82\xac", 0, "{\"s\":\"\xe2\x82\xac\"}\n" },
		{ "utf8_4", "\xf0\x9f\x94\xa5", 0, "{\"s\":\"\xf0\x9f\x94\xa5\"}\n" },
		{ "invalid_ff", "u\xff\xfez", 0, "{\"s\":\"u" FFFD FFFD "z\"}\n" },
		{ "lone_continuation", "\x80x", 0, "{\"s\":\"" FFFD "x\"}\n" },
		{ "overlong_slash", "\xc0\xaf", 0, "{\"s\":\"" FFFD FFFD "\"}\n" },
		{ "overlong_3", "\xe0\x80\xaf", 0, "{\"s\":\"" FFFD FFFD FFFD "\"}\n" },
		{ "surrogate", "\xed\xa0\x80", 0, "{\"s\":\"" FFFD FFFD FFFD "\"}\n" },
		{ "above_10ffff", "\xf4\x90\x80\x80", 0, "{\"s\":\"" FFFD FFFD FFFD FFFD "\"}\n" },
		{ "truncated_at_end", "a\xe2\x82", 0, "{\"s\":\"a" FFFD FFFD "\"}\n" },
		{ "truncated_then_ascii", "\xe2\x82z", 0, "{\"s\":\"" FFFD FFFD "z\"}\n" },
	};
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		SUBTEST("%s", rows[i].name) {
			size_t n = rows[i].len ? rows[i].len : strlen(rows[i].in);
			char *line = dump_text(rows[i].in, n);

			ASSERT_TRUE(line != NULL, "dumped");
			if (line)
				ASSERT_STREQ(line, rows[i].want, rows[i].name);
			free(line);
		}
}

/* Every pair of bytes: the document is built, and jansson reads it back
 * (valid UTF-8, valid JSON) with as many characters as bytes went in
 * (a byte that is not UTF-8 becomes one U+FFFD). */
void test_json_text_every_byte(void)
{
	unsigned int x, y;
	bool bad = false;
	char in[2];

	for (x = 0; x < 256 && !bad; x++)
		for (y = 0; y < 256 && !bad; y++) {
			char *line;
			json_t *back;

			in[0] = (char)x;
			in[1] = (char)y;
			line = dump_text(in, 2);
			back = line ? json_loads(line, JSON_ALLOW_NUL, NULL) : NULL;
			if (!back || !json_is_string(json_object_get(back, "s")))
				bad = true;
			if (bad)
				test__fail(__FILE__, __LINE__, "bytes %02x %02x: %s", x, y,
					   line ? line : "(null)");
			json_decref(back);
			free(line);
		}
}

void test_json_real3(void)
{
	json_t *doc = json_pack("{s:o, s:o, s:o}", "t", geofw_json_real3(1718268513.1234),
				"r", geofw_json_real3(0.1), "nan", geofw_json_real3(0.0 / 0.0));
	char *line = doc ? geofw_json_line(doc) : NULL;

	ASSERT_TRUE(line != NULL, "dumped");
	if (line)
		ASSERT_STREQ(line, "{\"t\":1718268513.123,\"r\":0.1,\"nan\":null}\n", "rounded");
	free(line);
	json_decref(doc);
}

/* A member that cannot be built fails the container, and with it the
 * document: nothing goes out with a member missing. */
void test_json_push_put(void)
{
	json_t *arr = json_array(), *obj = json_object();

	geofw_json_push(&arr, json_integer(1));
	ASSERT_EQ(json_array_size(arr), 1, "pushed");
	geofw_json_push(&arr, NULL);
	ASSERT_TRUE(arr == NULL, "failed member drops the array");
	geofw_json_push(&arr, json_integer(2));	/* no-op, no leak */
	ASSERT_TRUE(json_pack("{s:o}", "a", arr) == NULL, "document refused");
	geofw_json_put(&obj, "k", json_string("v"));
	ASSERT_STREQ(json_string_value(json_object_get(obj, "k")), "v", "put");
	geofw_json_put(&obj, "k2", NULL);
	ASSERT_TRUE(obj == NULL, "failed member drops the object");
}

struct sink {
	char s[256];
	size_t n;
	int fail_after;		/* calls before the callback fails; <0: never */
};

static int put_sink(const char *buf, size_t size, void *ctx)
{
	struct sink *k = ctx;

	if (k->fail_after == 0)
		return -1;
	if (k->fail_after > 0)
		k->fail_after--;
	if (k->n + size < sizeof(k->s)) {
		memcpy(k->s + k->n, buf, size);
		k->n += size;
		k->s[k->n] = '\0';
	}
	return 0;
}

/* Large arrays go out element by element, still one valid document. */
void test_json_array_stream(void)
{
	struct sink k = { .fail_after = -1 };
	struct geofw_json_array a;

	geofw_json_array_open(&a, put_sink, &k);
	ASSERT_EQ(geofw_json_array_close(&a), 0, "empty");
	ASSERT_STREQ(k.s, "[]\n", "empty array");
	k.n = 0;
	geofw_json_array_open(&a, put_sink, &k);
	geofw_json_array_add(&a, json_pack("{s:s, s:o}", "p", "192.0.2.0/24",
					   "c", geofw_json_text("x\xff")));
	geofw_json_array_add(&a, json_integer(2));
	ASSERT_EQ(geofw_json_array_close(&a), 0, "two");
	ASSERT_STREQ(k.s, "[{\"p\":\"192.0.2.0/24\",\"c\":\"x" FFFD "\"},2]\n", "two elements");
	k.n = 0;
	geofw_json_array_open(&a, put_sink, &k);
	ASSERT_EQ(geofw_json_array_add(&a, NULL), -ENOMEM, "out of memory");
	ASSERT_EQ(geofw_json_array_close(&a), -ENOMEM, "kept");
	k.n = 0;
	k.fail_after = 1;
	geofw_json_array_open(&a, put_sink, &k);
	ASSERT_EQ(geofw_json_array_add(&a, json_integer(1)), -EIO, "write error");
	ASSERT_EQ(geofw_json_array_close(&a), -EIO, "write error kept");
}

/* The drop log's JSON line: the interface name is foreign text. */
void test_json_event_ifname(void)
{
	struct geofw_event ev = { .family = 4, .l4proto = 17, .ifindex = 5 };
	char line[512];

	ASSERT_TRUE(geofw_event_format_json(&ev, "q\"x\\y\xff", 1.0, line, sizeof(line)) > 0,
		    "format");
	ASSERT_TRUE(strstr(line, "\"interface\":\"q\\\"x\\\\y" FFFD "\"") != NULL, line);
}
