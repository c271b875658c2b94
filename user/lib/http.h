/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * HTTP(S) GET through libcurl, as the rule sources need it (CrowdSec LAPI,
 * threat feeds): extra request headers (X-Api-Key), conditional requests
 * (If-None-Match, If-Modified-Since) with the validators of the answer
 * returned, a cap on the body, connect and total timeouts, an optional CA
 * file, a bounded number of redirects (http and https only), file:// only
 * when the caller allows it, and errors as one line of text.
 *
 * Blocking: call it from a worker thread (geofwd's fetcher.c), never from
 * the event loop.  Thread-safe: every call has its own curl handle, and
 * libcurl's global initialization is done once, on first use.  No output,
 * no logging: 0 or -errno with the reason in err.
 *
 *	struct geofw_http_opts o = { .headers = hdrs, .max_body = 1 << 20 };
 *	struct geofw_http_result r;
 *
 *	if (geofw_http_get(url, &o, &r, err, sizeof(err)))
 *		... err: "curl: Couldn't connect to server (http://127.0.0.1:8080/...)"
 *	else if (r.not_modified)
 *		... 304: keep what you have
 *	else
 *		... r.body, r.len; keep r.etag, r.last_modified for the next call
 *	geofw_http_result_free(&r);
 */
#ifndef GEOFW_HTTP_H
#define GEOFW_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#define GEOFW_HTTP_MAX_BODY		(64u << 20)	/* max_body 0: this cap */
#define GEOFW_HTTP_CONNECT_TIMEOUT_MS	5000		/* connect_timeout_ms 0 */
#define GEOFW_HTTP_TIMEOUT_MS		60000		/* timeout_ms 0 */
#define GEOFW_HTTP_ETAG_MAX		256		/* longer ETags are not kept */
#define GEOFW_HTTP_DATE_MAX		64

/* geofw_http_opts.flags */
enum {
	/* Accept file:// URLs (a feed read from a local file).  Without it a
	 * file:// URL is refused with -EPERM, as is any scheme but http and
	 * https; redirects never go to file://. */
	GEOFW_HTTP_ALLOW_FILE	= 1u << 0,
};

/* Zero-initialized: no extra headers, unconditional, the default cap and
 * timeouts, the system's CA store, no redirect followed. */
struct geofw_http_opts {
	/* Extra request headers, "Name: value" each, NULL-terminated; NULL:
	 * none.  They go to the URL's host only, never to a redirect's. */
	const char *const *headers;
	/* Validators of the last good answer (geofw_http_result.etag and
	 * .last_modified); NULL or "": not sent.  An answer 304 (or, for
	 * file://, a file not modified since) sets result.not_modified. */
	const char *if_none_match;
	const char *if_modified_since;	/* an HTTP date, as Last-Modified gave it */
	size_t max_body;		/* bytes; a larger body is -EFBIG */
	long connect_timeout_ms;	/* to connect (DNS, TCP, TLS) */
	long timeout_ms;		/* the whole request */
	const char *ca_file;		/* PEM bundle to verify the server; NULL: system's */
	int max_redirects;		/* followed at most; 0: a 3xx answer is an error */
	unsigned int flags;		/* GEOFW_HTTP_* */
	/* Checked while the transfer runs (about once a second and on every
	 * block received): non-zero aborts it with -ECANCELED.  NULL: never. */
	const volatile int *cancel;
};

struct geofw_http_result {
	long status;			/* HTTP status of the last answer; 0 for file:// */
	bool not_modified;		/* 304: body empty, keep the data you have */
	char *body;			/* NUL-terminated (not counted in len); NULL when empty */
	size_t len;
	char etag[GEOFW_HTTP_ETAG_MAX];	/* ETag of the answer, "" when none */
	char last_modified[GEOFW_HTTP_DATE_MAX]; /* Last-Modified (file://: the mtime) */
	char content_type[128];		/* "" when none */
};

/*
 * GET url.  0 for an answer 2xx (body in out) or a 304 (not_modified).
 * Otherwise -errno, out->status set when there was an answer, and err one
 * line naming the URL:
 *	-EPROTO		"HTTP 404 (URL)", any status but 2xx and 304, with the
 *			start of the body when it is JSON or plain text ("HTTP
 *			403 (URL): {"message":"access forbidden"}"); also a 3xx
 *			when max_redirects is 0
 *	-EFBIG		"body larger than the cap of N bytes (URL)"
 *	-ETIMEDOUT	"curl: Timeout was reached (URL): ..."
 *	-ECONNREFUSED	"curl: Couldn't connect to server (URL): ..."
 *	-EPERM		a scheme not allowed (file:// without GEOFW_HTTP_ALLOW_FILE)
 *	-ECANCELED	*opts->cancel became non-zero
 *	-EIO		any other transfer error: "curl: <libcurl's words> (URL): <detail>"
 *			(a truncated body is "curl: Transferred a partial file")
 *	-ENOMEM
 * out is always initialized; free it with geofw_http_result_free().
 */
int geofw_http_get(const char *url, const struct geofw_http_opts *opts,
		   struct geofw_http_result *out, char *err, size_t errlen);
void geofw_http_result_free(struct geofw_http_result *r);

/* The URL for messages: user:password@, query and fragment (which may
 * carry tokens) taken out; at most len-1 bytes. */
void geofw_http_url_for_log(const char *url, char *buf, size_t len);

#endif
