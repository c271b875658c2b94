// SPDX-License-Identifier: GPL-2.0-only
/*
 * User side of the TC responder (user/lib/responder.c): the 403 response
 * bytes, the size limit and its message, reading the page, the map value,
 * the cookie key, and the shipped default page.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "respbuild.h"
#include "responder.h"
#include "countries.h"
#include "test.h"

/* Relative to the source tree, where tests/run.sh runs the suites. */
#define DEFAULT_PAGE	"packaging/403.html"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

static char *temp_file(const void *data, size_t len)
{
	static char path[64];
	int fd;

	snprintf(path, sizeof(path), "/tmp/geofw-403-XXXXXX");
	fd = mkstemp(path);
	if (fd < 0)
		return NULL;
	if (write(fd, data, len) != (ssize_t)len) {
		close(fd);
		unlink(path);
		return NULL;
	}
	close(fd);
	return path;
}

void test_responder_build_exact(void)
{
	static const char body[] = "<p>no</p>\n";
	static const char want[] =
		"HTTP/1.1 403 Forbidden\r\n"
		"Content-Type: text/html; charset=utf-8\r\n"
		"Content-Length: 10\r\n"
		"Connection: close\r\n"
		"Cache-Control: no-store\r\n"
		"\r\n"
		"<p>no</p>\n";
	__u8 out[GEOFW_HTTP403_MAX];
	char err[256] = "";
	int n;

	n = t_http403_build(body, strlen(body), out, sizeof(out), err, sizeof(err));
	if (ASSERT_EQ(n, strlen(want), "length"))
		ASSERT_MEMEQ(out, want, strlen(want), "bytes");

	n = t_http403_build("", 0, out, sizeof(out), err, sizeof(err));
	ASSERT_TRUE(n > 0 && !memcmp(out + n - 4, "\r\n\r\n", 4), "empty body: headers only");
	ASSERT_TRUE(strstr((char *)out, "Content-Length: 0\r\n") != NULL, "Content-Length 0");
}

/* Content-Length always says how many bytes follow the blank line. */
void test_responder_content_length(void)
{
	static const size_t sizes[] = { 1, 9, 10, 99, 100, 999, 1000, 1050 };
	size_t i;

	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		SUBTEST("body_%zu", sizes[i]) {
			__u8 out[GEOFW_HTTP403_MAX + 1];
			char *body = malloc(sizes[i]), *end;
			unsigned long clen;
			int n;

			memset(body, 'x', sizes[i]);
			n = t_http403_build(body, sizes[i], out, sizeof(out), NULL, 0);
			free(body);
			if (sizes[i] > t_http403_body_max()) {
				ASSERT_EQ(n, -EMSGSIZE, "too big");
				continue;
			}
			if (!ASSERT_TRUE(n > 0, "built"))
				continue;
			out[n] = 0;
			end = strstr((char *)out, "\r\n\r\n");
			clen = strtoul(strstr((char *)out, "Content-Length: ") + 16, NULL, 10);
			ASSERT_TRUE(end != NULL, "header end");
			ASSERT_EQ(clen, sizes[i], "Content-Length");
			ASSERT_EQ((size_t)n - (size_t)(end + 4 - (char *)out), sizes[i], "body bytes");
		}
	}
}

/* The limit is the whole response; the message says so and what fits. */
void test_responder_limit(void)
{
	size_t max = t_http403_body_max();
	char *body = malloc(GEOFW_HTTP403_MAX + 10);
	__u8 out[GEOFW_HTTP403_MAX];
	char err[256] = "", want[64];
	int n;

	if (!ASSERT_TRUE(body != NULL, "malloc"))
		return;
	memset(body, 'y', GEOFW_HTTP403_MAX + 10);
	ASSERT_TRUE(max > 1000 && max < GEOFW_HTTP403_MAX, "room for headers");

	n = t_http403_build(body, max, out, sizeof(out), err, sizeof(err));
	ASSERT_EQ(n, GEOFW_HTTP403_MAX, "largest body fills the response exactly");

	n = t_http403_build(body, max + 1, out, sizeof(out), err, sizeof(err));
	ASSERT_EQ(n, -EMSGSIZE, "one byte more");
	snprintf(want, sizeof(want), "limit is %d bytes", GEOFW_HTTP403_MAX);
	ASSERT_TRUE(strstr(err, want) != NULL, "message names the limit");
	snprintf(want, sizeof(want), "within %zu bytes", max);
	ASSERT_TRUE(strstr(err, want) != NULL, "message says what fits");

	n = t_http403_build(body, 100, out, 50, err, sizeof(err));
	ASSERT_EQ(n, -EMSGSIZE, "small output buffer");
	free(body);
}

void test_responder_body_read(void)
{
	size_t max = t_http403_body_max(), len;
	char *big = malloc(max + 1), *path, *buf, err[256];
	int ret;

	if (!ASSERT_TRUE(big != NULL, "malloc"))
		return;
	memset(big, 'z', max + 1);

	SUBTEST("fits") {
		path = temp_file(big, max);
		ret = geofw_http403_body_read(path, &buf, &len, err, sizeof(err));
		if (ASSERT_OK(ret, "read") && ASSERT_EQ(len, max, "length"))
			ASSERT_MEMEQ(buf, big, max, "content");
		free(buf);
		unlink(path);
	}
	SUBTEST("file_too_long") {
		/* Longer files cannot make a response even if their
		 * placeholders shrink: refused before they are read whole. */
		size_t n = 4 * GEOFW_HTTP403_MAX + 1;
		char want[64], *huge = malloc(n);

		memset(huge, 'z', n);
		path = temp_file(huge, n);
		free(huge);
		ret = geofw_http403_body_read(path, &buf, &len, err, sizeof(err));
		ASSERT_EQ(ret, -EMSGSIZE, "rejected");
		ASSERT_TRUE(buf == NULL, "no buffer");
		snprintf(want, sizeof(want), "limited to %d bytes", GEOFW_HTTP403_MAX);
		ASSERT_TRUE(strstr(err, want) != NULL, "message names the limit");
		ASSERT_TRUE(strstr(err, path) != NULL, "message names the file");
		unlink(path);
	}
	SUBTEST("missing") {
		ret = geofw_http403_body_read("/nonexistent/403.html", &buf, &len, err, sizeof(err));
		ASSERT_EQ(ret, -ENOENT, "ENOENT");
		ASSERT_TRUE(strstr(err, "/nonexistent/403.html") != NULL, "message names the file");
	}
	SUBTEST("directory") {
		ret = geofw_http403_body_read("/tmp", &buf, &len, err, sizeof(err));
		ASSERT_EQ(ret, -EINVAL, "not a regular file");
	}
	free(big);
}

void test_responder_value(void)
{
	static const __u16 ports[] = { 80, 8080, 8000 };
	static const __u16 nine[9] = { 1, 2, 3, 4, 5, 6, 7, 8, 9 };
	static const __u16 zero[] = { 80, 0 };
	struct geofw_responder val = {};
	char err[256];

	SUBTEST("filled") {
		if (ASSERT_OK(geofw_responder_value(&val, ports, 3, err, sizeof(err)), "value")) {
			ASSERT_EQ(val.http_ports[0], 80, "port 0");
			ASSERT_EQ(val.http_ports[2], 8000, "port 2");
			ASSERT_EQ(val.http_ports[3], 0, "unused slot");
			ASSERT_MEMEQ(val.pages.country_code[0], "--", 2, "no country");
			ASSERT_MEMEQ(val.pages.country_code[geofw_country_id("DE")], "DE", 2, "DE");
			ASSERT_MEMEQ(val.pages.class_name[GEOFW_RC_RATELIMIT], "ratelimit", 9,
				     "class name");
			ASSERT_MEMEQ(val.pages.class_name[GEOFW_RC_IP], "ip       ", 9, "padded");
			ASSERT_EQ(val.pages.reason_class[GEOFW_R_BLOCK_IP], GEOFW_RC_IP, "ip");
			ASSERT_EQ(val.pages.reason_class[GEOFW_R_BLOCK_ASN], GEOFW_RC_ASN, "asn");
			ASSERT_EQ(val.pages.reason_class[GEOFW_R_NOCOUNTRY_BLOCK], GEOFW_RC_COUNTRY,
				  "no country");
			ASSERT_EQ(val.pages.reason_class[GEOFW_R_ALLOWLIST], GEOFW_RC_OTHER, "other");
		}
	}
	SUBTEST("too_many_ports") {
		ASSERT_EQ(geofw_responder_value(&val, nine, 9, err, sizeof(err)), -EINVAL,
			  "nine ports");
	}
	SUBTEST("port_zero") {
		ASSERT_EQ(geofw_responder_value(&val, zero, 2, err, sizeof(err)), -EINVAL,
			  "port 0");
	}
}

static const char *field_at(const struct geofw_resp_page *p, int kind, int nth)
{
	int i;

	for (i = 0; i < p->n_fields; i++)
		if (p->field[i].kind == kind && !nth--)
			return (const char *)p->data + p->field[i].off;
	return NULL;
}

void test_responder_page_compile(void)
{
	struct geofw_resp_page *p = calloc(1, sizeof(*p));
	char err[512];

	if (!p)
		return;
	SUBTEST("placeholders") {
		static const char b[] = "<html lang=\"de-CH\"><p>{{addr}} {{country}} {{reason}} "
					"{{time}} {{ref}} {{addr}}</p>{{ not }}{x}\n";

		if (ASSERT_OK(geofw_page_compile(b, strlen(b), "p.html", true, p, err, sizeof(err)),
			      err)) {
			const char *body = strstr((const char *)p->data, "\r\n\r\n");
			char cl[64];

			ASSERT_EQ(p->n_fields, 7, "six in the body, one in the headers");
			ASSERT_EQ(p->field_kinds, 0x3e, "kinds");
			ASSERT_TRUE(body != NULL, "headers end");
			if (body) {
				size_t blen = p->len - (size_t)(body + 4 - (const char *)p->data);

				ASSERT_EQ(p->head_len, body + 4 - (const char *)p->data, "head_len");
				snprintf(cl, sizeof(cl), "Content-Length: %zu\r\n", blen);
				ASSERT_TRUE(strstr((const char *)p->data, cl) != NULL, cl);
				ASSERT_EQ(blen, strlen(b) - 8 - 11 - 10 - 8 - 7 - 8 + 39 + 2 + 9 + 20 +
						12 + 39, "body with fields at full width");
			}
			ASSERT_TRUE(strstr((const char *)p->data, "Content-Language: de-CH\r\n") != NULL,
				    "Content-Language");
			ASSERT_TRUE(memmem(p->data, p->head_len, "X-Geofw-Ref: ", 13) != NULL,
				    "X-Geofw-Ref");
			ASSERT_TRUE(field_at(p, GEOFW_FIELD_REF, 0) <
				    (const char *)p->data + p->head_len, "ref field in the headers");
			ASSERT_TRUE(field_at(p, GEOFW_FIELD_ADDR, 1) != NULL, "addr twice");
			ASSERT_TRUE(memmem(p->data, p->len, "{{ not }}{x}", 12) != NULL,
				    "other braces are text");
		}
	}
	SUBTEST("no_lang_no_ref_header") {
		if (ASSERT_OK(geofw_page_compile("<p>x</p>", 8, "p", false, p, err, sizeof(err)), err)) {
			ASSERT_TRUE(memmem(p->data, p->len, "Content-Language", 16) == NULL, "no lang");
			ASSERT_TRUE(memmem(p->data, p->len, "X-Geofw-Ref", 11) == NULL, "no ref");
			ASSERT_EQ(p->n_fields, 0, "no fields");
		}
	}
	SUBTEST("unknown_placeholder") {
		ASSERT_EQ(geofw_page_compile("a\n{{adr}}", 9, "p.html", false, p, err, sizeof(err)),
			  -EINVAL, "unknown");
		ASSERT_STREQ(err, "p.html:2: unknown placeholder {{adr}} (known: {{addr}}, "
			     "{{country}}, {{reason}}, {{time}}, {{ref}})", "message");
	}
	SUBTEST("bad_utf8") {
		ASSERT_EQ(geofw_page_compile("ok\n\xc3\x28", 5, "p.html", false, p, err, sizeof(err)),
			  -EINVAL, "bad UTF-8");
		ASSERT_STREQ(err, "p.html:2: not valid UTF-8 (byte 4)", "message");
	}
	SUBTEST("bad_lang") {
		ASSERT_EQ(geofw_page_compile("<html lang=\"d e\">", 17, "p", false, p, err,
					     sizeof(err)), -EINVAL, "bad lang");
	}
	SUBTEST("too_many_fields") {
		char b[13 * 8 + 1] = "";
		int i;

		for (i = 0; i < 13; i++)
			strcat(b, "{{time}}");
		ASSERT_EQ(geofw_page_compile(b, strlen(b), "p", false, p, err, sizeof(err)), -EINVAL,
			  "13 fields");
	}
	SUBTEST("too_big_with_fields") {
		size_t max = t_http403_body_max();
		char *b = malloc(max + 1);

		memset(b, 'x', max);
		ASSERT_OK(geofw_page_compile(b, max, "p", false, p, err, sizeof(err)), "fits");
		memcpy(b, "{{addr}}", 8);	/* 31 bytes more at full width */
		ASSERT_EQ(geofw_page_compile(b, max, "p", false, p, err, sizeof(err)), -EMSGSIZE,
			  "too big once the field is counted");
		free(b);
	}
	free(p);
}

void test_responder_cookie_key(void)
{
	__u64 a[2] = {}, b[2] = {};

	ASSERT_OK(geofw_cookie_key_random(a), "first key");
	ASSERT_OK(geofw_cookie_key_random(b), "second key");
	ASSERT_TRUE(a[0] | a[1], "not all zero");
	ASSERT_TRUE(a[0] != b[0] || a[1] != b[1], "two keys differ");
}

/* The shipped page: small, self-contained, says what happened. */
void test_responder_default_page(void)
{
	static const char *const forbidden[] = { "http:", "https:", "src=", "href=", "@import",
						 "url(", "<script" };
	char *buf, err[256];
	__u8 out[GEOFW_HTTP403_MAX];
	size_t len, i;

	if (!ASSERT_OK(geofw_http403_body_read(DEFAULT_PAGE, &buf, &len, err, sizeof(err)),
		       err))
		return;
	ASSERT_TRUE(len < GEOFW_HTTP403_MAX / 2, "well under the cap");
	ASSERT_TRUE(t_http403_build(buf, len, out, sizeof(out), err, sizeof(err)) > 0,
		    "builds");
	buf = realloc(buf, len + 1);
	buf[len] = 0;
	ASSERT_TRUE(strstr(buf, "<title>403 Forbidden</title>") != NULL, "title");
	ASSERT_TRUE(strstr(buf, "firewall") != NULL, "says why");
	ASSERT_TRUE(strstr(buf, "charset=\"utf-8\"") || strstr(buf, "charset=utf-8"), "charset");
	for (i = 0; i < ARRAY_SIZE(forbidden); i++)
		if (strstr(buf, forbidden[i]))
			test__fail(__FILE__, __LINE__, "default page refers to '%s'",
				   forbidden[i]);
	free(buf);
}
