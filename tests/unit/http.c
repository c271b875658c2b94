// SPDX-License-Identifier: GPL-2.0-only
/*
 * http.h without a network: file:// (allowed only by flag), schemes
 * refused, the body cap, conditional fetches by mtime, a refused connect.
 * The HTTP side is tested against real servers in tests/e2e/crowdsec.sh.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "http.h"
#include "test.h"

static char path[64];

static bool write_file(const char *text)
{
	int fd;

	strcpy(path, "/tmp/geofw-http-XXXXXX");
	fd = mkstemp(path);
	if (!ASSERT_TRUE(fd >= 0, "mkstemp"))
		return false;
	if (!ASSERT_EQ(write(fd, text, strlen(text)), (long long)strlen(text), "write")) {
		close(fd);
		return false;
	}
	close(fd);
	return true;
}

void test_http_file(void)
{
	struct geofw_http_opts o = { .flags = GEOFW_HTTP_ALLOW_FILE };
	struct geofw_http_result r;
	char url[128], err[512];
	int ret;

	if (!write_file("192.0.2.1\n198.51.100.0/24\n"))
		return;
	snprintf(url, sizeof(url), "file://%s", path);

	SUBTEST("refused without the flag") {
		ret = geofw_http_get(url, NULL, &r, err, sizeof(err));
		ASSERT_EQ(ret, -EPERM, "ret");
		ASSERT_TRUE(strstr(err, "file:// URLs are not allowed") != NULL, err);
		ASSERT_TRUE(r.body == NULL, "no body");
	}
	SUBTEST("read with the flag") {
		ret = geofw_http_get(url, &o, &r, err, sizeof(err));
		ASSERT_OK(ret, err);
		ASSERT_EQ(r.len, 26, "len");
		ASSERT_STREQ(r.body, "192.0.2.1\n198.51.100.0/24\n", "body");
		ASSERT_TRUE(r.last_modified[0] != '\0', "mtime as Last-Modified");
		ASSERT_TRUE(!r.not_modified, "modified");
		{
			struct geofw_http_opts c = o;
			struct geofw_http_result r2;
			char lm[GEOFW_HTTP_DATE_MAX];

			snprintf(lm, sizeof(lm), "%s", r.last_modified);
			c.if_modified_since = lm;
			ret = geofw_http_get(url, &c, &r2, err, sizeof(err));
			ASSERT_OK(ret, err);
			ASSERT_TRUE(r2.not_modified, "not modified since its mtime");
			ASSERT_TRUE(r2.body == NULL && r2.len == 0, "no body when not modified");
			geofw_http_result_free(&r2);
			c.if_modified_since = "Thu, 01 Jan 1998 00:00:00 GMT";
			ret = geofw_http_get(url, &c, &r2, err, sizeof(err));
			ASSERT_OK(ret, err);
			ASSERT_TRUE(!r2.not_modified, "modified since 1998");
			ASSERT_EQ(r2.len, 26, "len");
			geofw_http_result_free(&r2);
		}
		geofw_http_result_free(&r);
	}
	SUBTEST("body cap") {
		struct geofw_http_opts c = o;

		c.max_body = 10;
		ret = geofw_http_get(url, &c, &r, err, sizeof(err));
		ASSERT_EQ(ret, -EFBIG, "ret");
		ASSERT_TRUE(strstr(err, "larger than the cap of 10 bytes") != NULL, err);
		ASSERT_TRUE(r.body == NULL, "no part of the body");
		c.max_body = 26;
		ret = geofw_http_get(url, &c, &r, err, sizeof(err));
		ASSERT_OK(ret, "exactly the cap");
		geofw_http_result_free(&r);
	}
	SUBTEST("missing file") {
		unlink(path);
		ret = geofw_http_get(url, &o, &r, err, sizeof(err));
		ASSERT_EQ(ret, -EIO, "ret");
		ASSERT_TRUE(!strncmp(err, "curl: ", 6) && strstr(err, path), err);
	}
	unlink(path);
}

void test_http_refused(void)
{
	struct geofw_http_opts o = { .connect_timeout_ms = 2000, .timeout_ms = 3000 };
	struct geofw_http_result r;
	char err[512];
	int ret;

	SUBTEST("scheme") {
		ret = geofw_http_get("ftp://192.0.2.1/list", &o, &r, err, sizeof(err));
		ASSERT_EQ(ret, -EPERM, "ret");
		ASSERT_TRUE(strstr(err, "ftp://192.0.2.1/list") != NULL, err);
	}
	SUBTEST("credentials kept out of messages") {
		char buf[128];

		geofw_http_url_for_log("https://user:secret@example.org:8443/a?b", buf, sizeof(buf));
		ASSERT_STREQ(buf, "https://example.org:8443/a", "url, without the query");
		geofw_http_url_for_log("http://example.org/a@b", buf, sizeof(buf));
		ASSERT_STREQ(buf, "http://example.org/a@b", "@ in the path");
	}
	SUBTEST("nobody listening") {
		/* Port 1 of the loopback: refused at once, no packet leaves. */
		ret = geofw_http_get("http://127.0.0.1:1/v1/decisions/stream", &o, &r, err,
				     sizeof(err));
		ASSERT_EQ(ret, -ECONNREFUSED, "ret");
		ASSERT_TRUE(!strncmp(err, "curl: Couldn't connect to server (http://127.0.0.1:1/"
				     "v1/decisions/stream)", 64), err);
	}
	SUBTEST("cancelled") {
		volatile int cancel = 1;

		o.cancel = &cancel;
		ret = geofw_http_get("http://127.0.0.1:1/", &o, &r, err, sizeof(err));
		ASSERT_TRUE(ret == -ECANCELED || ret == -ECONNREFUSED, err);
	}
}
