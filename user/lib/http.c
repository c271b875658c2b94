// SPDX-License-Identifier: GPL-2.0-only
/* HTTP(S) GET through libcurl for the rule sources (http.h). */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "geofw.h"
#include "http.h"

struct xfer {
	struct geofw_http_result *out;
	size_t cap;			/* of out->body */
	size_t max;			/* the body cap */
	bool too_big;
	const volatile int *cancel;
};

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static CURLcode init_rc = CURLE_FAILED_INIT;

static void global_init(void)
{
	init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static size_t on_body(char *p, size_t size, size_t nmemb, void *arg)
{
	struct xfer *x = arg;
	struct geofw_http_result *r = x->out;
	size_t n = size * nmemb;

	if (x->cancel && *x->cancel)
		return 0;
	if (n > x->max - r->len) {
		x->too_big = true;
		return 0;
	}
	if (r->len + n + 1 > x->cap) {
		size_t c = x->cap ? x->cap : 16384;
		char *b;

		while (c < r->len + n + 1)
			c *= 2;
		if (!(b = realloc(r->body, c)))
			return 0;
		r->body = b;
		x->cap = c;
	}
	memcpy(r->body + r->len, p, n);
	r->len += n;
	r->body[r->len] = '\0';
	return n;
}

/* A header's value: leading and trailing blanks and CR/LF taken off. */
static void header_value(const char *v, size_t n, char *out, size_t len)
{
	while (n && (*v == ' ' || *v == '\t'))
		v++, n--;
	while (n && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' ' ||
		     v[n - 1] == '\t'))
		n--;
	if (n >= len) {		/* too long to keep: as if there were none */
		out[0] = '\0';
		return;
	}
	memcpy(out, v, n);
	out[n] = '\0';
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *arg)
{
	struct xfer *x = arg;
	struct geofw_http_result *r = x->out;
	size_t n = size * nmemb;

	/* Each answer of a redirect chain starts over: the last one counts. */
	if (n >= 5 && !strncmp(p, "HTTP/", 5)) {
		r->etag[0] = r->last_modified[0] = r->content_type[0] = '\0';
	} else if (n > 5 && !strncasecmp(p, "ETag:", 5)) {
		header_value(p + 5, n - 5, r->etag, sizeof(r->etag));
	} else if (n > 14 && !strncasecmp(p, "Last-Modified:", 14)) {
		header_value(p + 14, n - 14, r->last_modified, sizeof(r->last_modified));
	} else if (n > 13 && !strncasecmp(p, "Content-Type:", 13)) {
		header_value(p + 13, n - 13, r->content_type, sizeof(r->content_type));
	}
	return n;
}

static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		       curl_off_t ulnow)
{
	struct xfer *x = arg;

	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	return x->cancel && *x->cancel;
}

void geofw_http_url_for_log(const char *url, char *buf, size_t len)
{
	const char *s = strstr(url, "://"), *at = NULL, *end;
	int q = (int)strcspn(url, "?#");

	if (!len)
		return;
	if (s) {
		s += 3;
		end = s + strcspn(s, "/?#");
		at = memchr(s, '@', (size_t)(end - s));
	}
	if (at)
		snprintf(buf, len, "%.*s%.*s", (int)(s - url), url, (int)(url + q - (at + 1)),
			 at + 1);
	else
		snprintf(buf, len, "%.*s", q, url);
}

/* The start of an error answer's body, when it is printable JSON or plain
 * text. */
static void body_excerpt(const struct geofw_http_result *r, char *buf, size_t len)
{
	size_t i, n = r->len < 160 ? r->len : 160;

	buf[0] = '\0';
	/* An API's own words (JSON, plain text), not a server's HTML page. */
	if (!r->body || !n || len < 4 ||
	    (strncasecmp(r->content_type, "application/json", 16) &&
	     strncasecmp(r->content_type, "text/plain", 10)))
		return;
	for (i = 0; i < n; i++)
		if (!isprint((unsigned char)r->body[i]) && r->body[i] != '\n' &&
		    r->body[i] != '\t' && r->body[i] != '\r')
			return;
	snprintf(buf, len, ": %.*s%s", (int)n, r->body, r->len > n ? "..." : "");
	for (i = 0; buf[i]; i++)
		if (buf[i] == '\n' || buf[i] == '\r' || buf[i] == '\t')
			buf[i] = ' ';
	while (i > 2 && buf[i - 1] == ' ')
		buf[--i] = '\0';
}

static int curl_errno(CURLcode rc)
{
	switch (rc) {
	case CURLE_OPERATION_TIMEDOUT:		return -ETIMEDOUT;
	case CURLE_COULDNT_CONNECT:		return -ECONNREFUSED;
	case CURLE_OUT_OF_MEMORY:		return -ENOMEM;
	case CURLE_UNSUPPORTED_PROTOCOL:	return -EPERM;
	case CURLE_ABORTED_BY_CALLBACK:		return -ECANCELED;
	case CURLE_FILESIZE_EXCEEDED:		return -EFBIG;
	default:				return -EIO;
	}
}

/* Append one request header, fmt with one %s; 0 or -ENOMEM. */
__attribute__((format(printf, 2, 0)))
static int add_header(struct curl_slist **hdrs, const char *fmt, const char *value)
{
	struct curl_slist *n;
	char *h;

	if (asprintf(&h, fmt, value) < 0)
		return -ENOMEM;
	n = curl_slist_append(*hdrs, h);	/* copies h */
	free(h);
	if (!n)
		return -ENOMEM;
	*hdrs = n;
	return 0;
}

int geofw_http_get(const char *url, const struct geofw_http_opts *opts,
		   struct geofw_http_result *out, char *err, size_t errlen)
{
	static const struct geofw_http_opts none;
	const struct geofw_http_opts *o = opts ? opts : &none;
	struct xfer x = { .out = out };
	char curlerr[CURL_ERROR_SIZE] = "", shown[1024], excerpt[200];
	struct curl_slist *hdrs = NULL;
	bool is_file;
	CURLcode rc;
	CURL *c;
	int ret = 0, i;

	memset(out, 0, sizeof(*out));
	geofw_http_url_for_log(url, shown, sizeof(shown));
	x.max = o->max_body ? o->max_body : GEOFW_HTTP_MAX_BODY;
	x.cancel = o->cancel;
	is_file = !strncasecmp(url, "file:", 5);
	if (is_file && !(o->flags & GEOFW_HTTP_ALLOW_FILE)) {
		snprintf(err, errlen, "file:// URLs are not allowed here (%s)", shown);
		return -EPERM;
	}
	pthread_once(&init_once, global_init);
	if (init_rc != CURLE_OK) {
		snprintf(err, errlen, "curl: %s (initializing libcurl)", curl_easy_strerror(init_rc));
		return -EIO;
	}
	if (!(c = curl_easy_init())) {
		snprintf(err, errlen, "curl: cannot make a handle (%s)", shown);
		return -ENOMEM;
	}
	for (i = 0; o->headers && o->headers[i]; i++)
		if ((ret = add_header(&hdrs, "%s", o->headers[i])))
			goto oom;
	if (o->if_none_match && o->if_none_match[0] &&
	    (ret = add_header(&hdrs, "If-None-Match: %s", o->if_none_match)))
		goto oom;
	if (o->if_modified_since && o->if_modified_since[0] && !is_file) {
		/* A header of our own, not CURLOPT_TIMECONDITION: with that,
		 * curl also drops the body of a 200 whose Last-Modified is not
		 * newer (a file replaced within the second of the last fetch),
		 * and only the server may say 304. */
		if ((ret = add_header(&hdrs, "If-Modified-Since: %s", o->if_modified_since)))
			goto oom;
	} else if (o->if_modified_since && o->if_modified_since[0]) {
		/* curl compares it with the file's mtime; a date it cannot
		 * read is not used (a full read). */
		time_t t = curl_getdate(o->if_modified_since, NULL);

		if (t > 0) {
			curl_easy_setopt(c, CURLOPT_TIMECONDITION, (long)CURL_TIMECOND_IFMODSINCE);
			curl_easy_setopt(c, CURLOPT_TIMEVALUE_LARGE, (curl_off_t)t);
		}
	}

	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, is_file ? "file" : "http,https");
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, o->max_redirects > 0 ? 1L : 0L);
	curl_easy_setopt(c, CURLOPT_MAXREDIRS, (long)(o->max_redirects > 0 ? o->max_redirects : 0));
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, curlerr);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "geofw/" GEOFW_VERSION);
	curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");	/* gzip, deflate, ... */
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
			 o->connect_timeout_ms > 0 ? o->connect_timeout_ms
						   : (long)GEOFW_HTTP_CONNECT_TIMEOUT_MS);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS,
			 o->timeout_ms > 0 ? o->timeout_ms : (long)GEOFW_HTTP_TIMEOUT_MS);
	curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)x.max);
	curl_easy_setopt(c, CURLOPT_FILETIME, 1L);
	if (o->ca_file && o->ca_file[0])
		curl_easy_setopt(c, CURLOPT_CAINFO, o->ca_file);
	if (hdrs) {
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
		/* The API key stays with the host it was meant for. */
		curl_easy_setopt(c, CURLOPT_UNRESTRICTED_AUTH, 0L);
	}
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &x);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &x);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, &x);

	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
	if (x.too_big || rc == CURLE_FILESIZE_EXCEEDED) {
		ret = -EFBIG;
		snprintf(err, errlen, "body larger than the cap of %zu bytes (%s)", x.max, shown);
		goto out;
	}
	if (rc != CURLE_OK) {
		ret = curl_errno(rc);
		if (rc == CURLE_WRITE_ERROR && !(x.cancel && *x.cancel))
			ret = -ENOMEM;
		if (x.cancel && *x.cancel)
			ret = -ECANCELED;
		if (ret == -ECANCELED)
			snprintf(err, errlen, "curl: transfer cancelled (%s)", shown);
		else if (curlerr[0])
			snprintf(err, errlen, "curl: %s (%s): %s", curl_easy_strerror(rc), shown,
				 curlerr);
		else
			snprintf(err, errlen, "curl: %s (%s)", curl_easy_strerror(rc), shown);
		goto out;
	}
	if (is_file) {
		long unmet = 0;
		curl_off_t ft = -1;

		curl_easy_getinfo(c, CURLINFO_CONDITION_UNMET, &unmet);
		out->not_modified = unmet != 0;
		curl_easy_getinfo(c, CURLINFO_FILETIME_T, &ft);
		if (ft >= 0) {
			time_t t = (time_t)ft;
			struct tm tm;

			if (gmtime_r(&t, &tm))
				strftime(out->last_modified, sizeof(out->last_modified),
					 "%a, %d %b %Y %H:%M:%S GMT", &tm);
		}
	} else if (out->status == 304) {
		out->not_modified = true;
	} else if (out->status < 200 || out->status > 299) {
		body_excerpt(out, excerpt, sizeof(excerpt));
		ret = -EPROTO;
		snprintf(err, errlen, "HTTP %ld (%s)%s", out->status, shown, excerpt);
		goto out;
	}
	if (out->not_modified) {
		free(out->body);
		out->body = NULL;
		out->len = 0;
	}
	goto out;
oom:
	snprintf(err, errlen, "out of memory (%s)", shown);
out:
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
	if (ret) {
		free(out->body);
		out->body = NULL;
		out->len = 0;
	}
	return ret;
}

void geofw_http_result_free(struct geofw_http_result *r)
{
	free(r->body);
	r->body = NULL;
	r->len = 0;
}
