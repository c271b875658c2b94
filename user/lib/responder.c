// SPDX-License-Identifier: GPL-2.0-only
#include "responder.h"

#include "cidr.h"
#include "config.h"
#include "countries.h"
#include "json.h"
#include "log.h"
#include "msg.h"
#include "readfile.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

/* Headers of every page; Content-Language and X-Geofw-Ref go between
 * Content-Length and Connection when present. */
#define HDR_HEAD	"HTTP/1.1 403 Forbidden\r\n"			\
			"Content-Type: text/html; charset=utf-8\r\n"	\
			"Content-Length: %zu\r\n"
#define HDR_TAIL	"Connection: close\r\n"				\
			"Cache-Control: no-store\r\n"			\
			"\r\n"
#define HDR_LANG	"Content-Language: "
#define HDR_REF		"X-Geofw-Ref: "
#define LANG_MAX	35	/* BCP 47 tags people use are far shorter */
/* A page file may be longer than the response as long as its placeholders
 * shrink it ({{country}} becomes 2 bytes): read this much at most. */
#define PAGE_FILE_MAX	(4 * GEOFW_HTTP403_MAX)

static const struct {
	const char *name;
	__u8 kind, width;
} placeholders[] = {
	{ "addr", GEOFW_FIELD_ADDR, GEOFW_FIELD_W_ADDR },
	{ "country", GEOFW_FIELD_COUNTRY, GEOFW_FIELD_W_COUNTRY },
	{ "reason", GEOFW_FIELD_REASON, GEOFW_FIELD_W_REASON },
	{ "time", GEOFW_FIELD_TIME, GEOFW_FIELD_W_TIME },
	{ "ref", GEOFW_FIELD_REF, GEOFW_FIELD_W_REF },
};
#define N_PLACEHOLDERS (sizeof(placeholders) / sizeof(placeholders[0]))

static const char *const class_names[GEOFW_RC_MAX] = {
	[GEOFW_RC_OTHER] = "other",
	[GEOFW_RC_COUNTRY] = "country",
	[GEOFW_RC_ASN] = "asn",
	[GEOFW_RC_IP] = "ip",
	[GEOFW_RC_RATELIMIT] = "ratelimit",
	[GEOFW_RC_FEED] = "feed",
	[GEOFW_RC_CROWDSEC] = "crowdsec",
};

const char *geofw_resp_class_name(unsigned int cls)
{
	return cls < GEOFW_RC_MAX && class_names[cls] ? class_names[cls] : NULL;
}

int geofw_resp_class_parse(const char *name)
{
	unsigned int i;

	for (i = 1; i < GEOFW_RC_MAX; i++)
		if (class_names[i] && !strcmp(class_names[i], name))
			return (int)i;
	return -1;
}

/*
 * The XDP reasons a 403 page can answer, by class.  A reason added to
 * enum geofw_reason that blocks gets its line here; every other reason is
 * "other".  Port-scoped rules answer as what they name (a prefix: ip; a
 * country or an allow-only policy: country).
 */
unsigned int geofw_resp_reason_class(unsigned int reason)
{
	switch (reason) {
	case GEOFW_R_BLOCK_IP:
	case GEOFW_R_PORT_BLOCK:
		return GEOFW_RC_IP;
	case GEOFW_R_BLOCK_ASN:
		return GEOFW_RC_ASN;
	case GEOFW_R_COUNTRY_BLOCK:
	case GEOFW_R_NOCOUNTRY_BLOCK:
	case GEOFW_R_PORT_COUNTRY_BLOCK:
	case GEOFW_R_PORT_POLICY_BLOCK:
		return GEOFW_RC_COUNTRY;
	case GEOFW_R_RATELIMIT:
		return GEOFW_RC_RATELIMIT;
	default:
		return GEOFW_RC_OTHER;
	}
}

/* 1-based line of byte pos in buf. */
static unsigned int line_of(const char *buf, size_t pos)
{
	unsigned int line = 1;
	size_t i;

	for (i = 0; i < pos; i++)
		line += buf[i] == '\n';
	return line;
}

/* <html lang="xx-YY">: the first <html tag's lang attribute, or "". */
static int page_lang(const char *b, size_t len, const char *name, char *lang, char *err,
		     size_t errlen)
{
	size_t i, j, end, n;
	char q;

	lang[0] = '\0';
	for (i = 0; i + 5 <= len; i++)
		if (b[i] == '<' && !strncasecmp(b + i + 1, "html", 4) &&
		    (i + 5 == len || b[i + 5] == ' ' || b[i + 5] == '>' || b[i + 5] == '\t' ||
		     b[i + 5] == '\n' || b[i + 5] == '\r'))
			break;
	if (i + 5 > len)
		return 0;
	for (end = i; end < len && b[end] != '>'; end++)
		;
	for (j = i + 5; j + 5 <= end; j++) {
		if (strncasecmp(b + j, "lang", 4) || !isspace((unsigned char)b[j - 1]))
			continue;
		j += 4;
		while (j < end && isspace((unsigned char)b[j]))
			j++;
		if (j >= end || b[j] != '=')
			continue;
		j++;
		while (j < end && isspace((unsigned char)b[j]))
			j++;
		q = j < end && (b[j] == '"' || b[j] == '\'') ? b[j++] : 0;
		for (n = 0; j + n < end && n <= LANG_MAX; n++) {
			char c = b[j + n];

			if (q ? c == q : isspace((unsigned char)c))
				break;
			if (!isalnum((unsigned char)c) && c != '-')
				return geofw_errf(err, errlen, -EINVAL,
						  "%s:%u: <html lang=...> is not a language tag "
						  "(letters, digits and '-')", name, line_of(b, j));
		}
		if (!n || n > LANG_MAX)
			return geofw_errf(err, errlen, -EINVAL,
					  "%s:%u: <html lang=...> must be a language tag of 1-%d characters",
					  name, line_of(b, j), LANG_MAX);
		memcpy(lang, b + j, n);
		lang[n] = '\0';
		return 0;
	}
	return 0;
}

/* Append to the page being built; -EMSGSIZE past GEOFW_HTTP403_MAX. */
struct builder {
	struct geofw_resp_page *p;
	size_t len;		/* may run past the limit: the message gives the size */
	int overflow;
};

static void put(struct builder *b, const void *s, size_t n)
{
	if (b->len + n <= GEOFW_HTTP403_MAX)
		memcpy(b->p->data + b->len, s, n);
	else
		b->overflow = 1;
	b->len += n;
}

static int put_field(struct builder *b, unsigned int k, const char *name, const char *src,
		     size_t pos, char *err, size_t errlen)
{
	struct geofw_resp_page *p = b->p;

	if (p->n_fields == GEOFW_RESP_MAX_FIELDS)
		return geofw_errf(err, errlen, -EINVAL, "%s:%u: more than %d placeholders", name,
				  src ? line_of(src, pos) : 0, GEOFW_RESP_MAX_FIELDS);
	if (b->len + placeholders[k].width <= GEOFW_HTTP403_MAX) {
		p->field[p->n_fields].off = (__u16)b->len;
		p->field[p->n_fields].kind = placeholders[k].kind;
		p->field[p->n_fields].width = placeholders[k].width;
		p->n_fields++;
		p->field_kinds |= (__u8)(1u << placeholders[k].kind);
	}
	/* Spaces until the data plane fills the field. */
	for (size_t i = 0; i < placeholders[k].width; i++)
		put(b, " ", 1);
	return 0;
}

/* {{name}} at b[pos]: its index, or -1 when it is not a placeholder at all
 * (other braces stay text), -2 for an unknown name (*nlen set either way). */
static int placeholder_at(const char *s, size_t len, size_t pos, size_t *nlen)
{
	size_t n = 0;
	unsigned int k;

	if (pos + 4 > len || s[pos] != '{' || s[pos + 1] != '{')
		return -1;
	while (pos + 2 + n < len && (islower((unsigned char)s[pos + 2 + n]) || s[pos + 2 + n] == '_'))
		n++;
	if (!n || pos + 2 + n + 2 > len || s[pos + 2 + n] != '}' || s[pos + 3 + n] != '}')
		return -1;
	*nlen = n + 4;
	for (k = 0; k < N_PLACEHOLDERS; k++)
		if (strlen(placeholders[k].name) == n && !memcmp(placeholders[k].name, s + pos + 2, n))
			return (int)k;
	return -2;
}

int geofw_page_compile(const char *body, size_t len, const char *name, bool ref_header,
		       struct geofw_resp_page *out, char *err, size_t errlen)
{
	struct builder b = { .p = out };
	size_t pos, body_len = 0, nlen, u;
	char lang[LANG_MAX + 1], hdr[96];
	int k, ret, pass;

	memset(out, 0, sizeof(*out));
	for (pos = 0; pos < len; pos += u) {
		u = geofw_utf8_len(body + pos, len - pos);
		if (!u)
			return geofw_errf(err, errlen, -EINVAL, "%s:%u: not valid UTF-8 (byte %zu)", name,
					  line_of(body, pos), pos + 1);
		if (!body[pos])
			return geofw_errf(err, errlen, -EINVAL, "%s:%u: a NUL byte in the page", name,
					  line_of(body, pos));
	}
	if ((ret = page_lang(body, len, name, lang, err, errlen)))
		return ret;

	/* Pass 0 measures the body, pass 1 writes the response. */
	for (pass = 0; pass < 2; pass++) {
		b.len = 0;
		b.overflow = 0;
		out->n_fields = 0;
		out->field_kinds = 0;
		if (pass) {
			snprintf(hdr, sizeof(hdr), HDR_HEAD, body_len);
			put(&b, hdr, strlen(hdr));
			if (lang[0]) {
				put(&b, HDR_LANG, strlen(HDR_LANG));
				put(&b, lang, strlen(lang));
				put(&b, "\r\n", 2);
			}
			if (ref_header) {
				put(&b, HDR_REF, strlen(HDR_REF));
				put_field(&b, 4, name, NULL, 0, err, errlen);
				put(&b, "\r\n", 2);
			}
			put(&b, HDR_TAIL, strlen(HDR_TAIL));
			out->head_len = (__u16)(b.len <= GEOFW_HTTP403_MAX ? b.len : 0);
		}
		{
			size_t start = b.len;

			for (pos = 0; pos < len;) {
				k = placeholder_at(body, len, pos, &nlen);
				if (k == -2)
					return geofw_errf(err, errlen, -EINVAL,
							  "%s:%u: unknown placeholder %.*s (known: {{addr}}, "
							  "{{country}}, {{reason}}, {{time}}, {{ref}})", name,
							  line_of(body, pos), (int)(nlen > 40 ? 40 : nlen),
							  body + pos);
				if (k >= 0) {
					if ((ret = put_field(&b, (unsigned int)k, name, body, pos,
							     err, errlen)))
						return ret;
					pos += nlen;
					continue;
				}
				put(&b, body + pos, 1);
				pos++;
			}
			body_len = b.len - start;
		}
	}
	if (b.overflow) {
		size_t hdr = b.len - body_len, fits = GEOFW_HTTP403_MAX - hdr;
		char d1[24], d2[24];

		/* Content-Length of the body that fits may have fewer digits. */
		fits += (size_t)snprintf(d1, sizeof(d1), "%zu", body_len) -
			(size_t)snprintf(d2, sizeof(d2), "%zu", fits);
		return geofw_errf(err, errlen, -EMSGSIZE,
				  "%s: the response would be %zu bytes (%zu of headers + %zu of body, "
				  "placeholders at their full width), the limit is %d bytes: keep the "
				  "body within %zu bytes", name, b.len, hdr, body_len, GEOFW_HTTP403_MAX,
				  fits);
	}
	out->len = (__u16)b.len;
	return 0;
}

int geofw_http403_body_read(const char *path, char **buf, size_t *len,
			    char *err, size_t errlen)
{
	struct stat st;
	int ret;

	ret = geofw_read_file(path, PAGE_FILE_MAX, GEOFW_READ_REGULAR, buf, len, err, errlen);
	if (ret != -EFBIG)
		return ret;
	return geofw_errf(err, errlen, -EMSGSIZE,
			  "%s: %zu bytes of HTML, but the whole response (HTTP headers "
			  "included) is limited to %d bytes", path,
			  !stat(path, &st) && st.st_size > PAGE_FILE_MAX ? (size_t)st.st_size :
			  (size_t)PAGE_FILE_MAX + 1, GEOFW_HTTP403_MAX);
}

int geofw_responder_value(struct geofw_responder *val, const __u16 *ports, size_t n_ports,
			  char *err, size_t errlen)
{
	struct geofw_resp_pages_state *st = &val->pages;
	unsigned int i;

	if (n_ports > GEOFW_MAX_HTTP_PORTS)
		return geofw_errf(err, errlen, -EINVAL, "403 page: %zu HTTP ports, at most %d",
				  n_ports, GEOFW_MAX_HTTP_PORTS);
	for (i = 0; i < n_ports; i++)
		if (!ports[i])
			return geofw_errf(err, errlen, -EINVAL, "403 page: port 0 is not a TCP port");
	memset(val->http_ports, 0, sizeof(val->http_ports));
	for (i = 0; i < n_ports; i++)
		val->http_ports[i] = ports[i];
	for (i = 0; i < GEOFW_RESP_MAX_REASONS; i++)
		st->reason_class[i] = (__u8)geofw_resp_reason_class(i);
	for (i = 0; i < GEOFW_RC_MAX; i++)	/* the rows of source classes */
		st->reason_class[GEOFW_RESP_SRC_REASON(i)] = (__u8)i;
	for (i = 0; i < GEOFW_MAX_COUNTRIES; i++) {
		const char *cc = geofw_country_code(i);

		st->country_code[i][0] = cc && cc[0] ? cc[0] : '-';
		st->country_code[i][1] = cc && cc[0] ? cc[1] : '-';
	}
	for (i = 0; i < GEOFW_RC_MAX; i++) {
		const char *n = geofw_resp_class_name(i);
		size_t l = n ? strlen(n) : 0;

		memset(st->class_name[i], ' ', GEOFW_FIELD_W_REASON);
		if (l)	/* classes without a name stay blank (memcpy of NULL is UB) */
			memcpy(st->class_name[i], n, l);
	}
	return 0;
}

static const char *const resp_names[GEOFW_RESP_MAX] = {
	[GEOFW_RESP_SYNACK] = "synack",
	[GEOFW_RESP_HTTP403] = "http403",
	[GEOFW_RESP_RST] = "rst",
	[GEOFW_RESP_FINACK] = "finack",
	[GEOFW_RESP_BAD_COOKIE] = "bad_cookie",
	[GEOFW_RESP_DROPPED] = "dropped",
	[GEOFW_RESP_ERROR] = "error",
	[GEOFW_RESP_MISSING] = "responder_missing",
	[GEOFW_RESP_LIMITED] = "source_limited",
};

const char *geofw_resp_event_name(unsigned int event)
{
	return event < GEOFW_RESP_MAX && resp_names[event] ? resp_names[event] : "?";
}

int geofw_cookie_key_random(__u64 key[2])
{
	size_t got = 0;
	ssize_t n;

	do {
		got = 0;
		while (got < 2 * sizeof(__u64)) {
			n = getrandom((char *)key + got, 2 * sizeof(__u64) - got, 0);
			if (n < 0) {
				if (errno == EINTR)
					continue;
				return -errno;
			}
			got += (size_t)n;
		}
	} while (!key[0] && !key[1]);
	return 0;
}

/* ---- the pages of a configuration ------------------------------------------------ */

static const char builtin_page[] =
	"<!doctype html><title>403 Forbidden</title>"
	"<h1>403 Forbidden</h1><p>Access from your network is blocked by this "
	"site's firewall.</p>\n";

/* *unreadable (may be NULL): the file could not be read (a body too big
 * for the response counts as read: it is what it holds that is wrong). */
static int load_page(const char *path, const char *what, bool ref_header,
		     struct geofw_resp_page *out, char *err, size_t errlen, bool *unreadable)
{
	char e[GEOFW_ERRLEN], *body = NULL;
	size_t len = 0;
	int ret;

	ret = geofw_http403_body_read(path, &body, &len, e, sizeof(e));
	if (unreadable)
		*unreadable = ret && ret != -EMSGSIZE;
	if (!ret)
		ret = geofw_page_compile(body, len, path, ref_header, out, e, sizeof(e));
	if (ret)
		geofw_errf(err, errlen, ret, "%s: %s", what, e);
	free(body);
	return ret;
}

int geofw_pages_from_conf(const struct geofw_conf *c, const char *conf_name,
			  struct geofw_pages *p, char *warn, size_t warnlen,
			  char *err, size_t errlen)
{
	char what[GEOFW_ERRLEN];
	int i, j, ret, page_of[GEOFW_CONF_MAX_PAGES];
	unsigned int cls, cid;
	bool unreadable;

	memset(p, 0, sizeof(*p));
	if (warn && warnlen)
		warn[0] = '\0';
	snprintf(what, sizeof(what), "%s: Http403Body", conf_name);
	ret = load_page(c->http403_body, what, c->http403_ref_header, &p->page[0], err, errlen,
			&unreadable);
	if (ret && !unreadable)
		return ret;	/* read, but wrong: an error, as for Http403Page */
	if (ret) {
		/* A default page that cannot be read (not installed, not
		 * readable) is not worth refusing to start over: the built-in
		 * one says 403, and a warning says why it is sent. */
		if (warn && warnlen)
			snprintf(warn, warnlen, "%s", err);
		ret = geofw_page_compile(builtin_page, sizeof(builtin_page) - 1, "built-in page",
					 c->http403_ref_header, &p->page[0], err, errlen);
		if (ret)
			return ret;
	}
	p->n_pages = 1;
	for (i = 0; i < c->n_http403_pages; i++) {
		const struct geofw_conf_page *cp = &c->http403_pages[i];

		/* One page per file, however many selectors name it. */
		for (j = 0; j < i; j++)
			if (!strcmp(c->http403_pages[j].path, cp->path))
				break;
		if (j < i) {
			page_of[i] = page_of[j];
			continue;
		}
		snprintf(what, sizeof(what), "%s:%u: Http403Page", conf_name, cp->line);
		if ((ret = load_page(cp->path, what, c->http403_ref_header, &p->page[p->n_pages],
				     err, errlen, NULL)))
			return ret;
		page_of[i] = p->n_pages++;
	}
	/* Most specific wins: REASON:CC, then CC, then REASON, then page 0. */
	for (cls = 0; cls < GEOFW_RC_MAX; cls++)
		for (cid = 0; cid < GEOFW_MAX_COUNTRIES; cid++) {
			int best = 0, rank = 0, r;

			for (i = 0; i < c->n_http403_pages; i++) {
				const struct geofw_conf_page *cp = &c->http403_pages[i];

				if ((cp->cls >= 0 && (unsigned int)cp->cls != cls) ||
				    (cp->country >= 0 && (unsigned int)cp->country != cid))
					continue;
				r = cp->cls >= 0 && cp->country >= 0 ? 3 : cp->country >= 0 ? 2 : 1;
				if (r > rank) {
					rank = r;
					best = page_of[i];
				}
			}
			p->sel.page[cls][cid] = (__u8)best;
		}
	return 0;
}
