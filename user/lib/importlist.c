// SPDX-License-Identifier: GPL-2.0-only
#include "importlist.h"
#include "jsonlib.h"
#include "maps.h"
#include "msg.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Read buffer of the streaming reader: many lines per read(), and always
 * room for one whole line plus its CR after the unread rest moved down. */
#define READ_BUF	(256 * 1024)

_Static_assert(READ_BUF > 2 * (GEOFW_IMPORT_LINE_MAX + 2), "read buffer too small");

struct parser {
	const char *name;
	unsigned int cidr_flags;
	struct geofw_importlist_opts o;
	size_t data_lines;		/* csv: lines that were not comments */
	struct geofw_importlist *out;
	char *err;
	size_t errlen;
	/* A NUL-terminated copy of the current entry for geofw_cidr_parse(). */
	char tok[GEOFW_IMPORT_LINE_MAX + 1];
};

__attribute__((format(printf, 2, 3)))
static int line_error(struct parser *p, const char *fmt, ...)
{
	struct geofw_importlist *l = p->out;
	char msg[GEOFW_ERRLEN];
	va_list ap;

	if (p->o.per_entry) {
		/* Refused alone: the list goes on without it. */
		if (!l->refused++ && !l->too_wide) {
			va_start(ap, fmt);
			vsnprintf(msg, sizeof(msg), fmt, ap);
			va_end(ap);
			snprintf(l->first_refused, sizeof(l->first_refused), "%.64s:%zu: %.160s",
				 p->name, l->lines, msg);
		}
		return 0;
	}
	if (!p->err || !p->errlen)
		return -EINVAL;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(p->err, p->errlen, "%s:%zu: %s", p->name, l->lines, msg);
	return -EINVAL;
}


static bool is_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\v' || ch == '\f';
}

static bool is_comment(char ch)
{
	return ch == '#' || ch == ';';
}

static int push(struct parser *p, const struct geofw_cidr *c)
{
	struct geofw_importlist *l = p->out;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 1024;
		struct geofw_cidr *v;

		if (cap > ((size_t)-1) / sizeof(*v) ||
		    !(v = realloc(l->v, cap * sizeof(*v)))) {
			if (p->err && p->errlen)
				snprintf(p->err, p->errlen, "%s: out of memory after %zu entries",
					 p->name, l->n);
			return -ENOMEM;
		}
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = *c;
	return 0;
}

/* Parse the entry held in p->tok. */
static int add_entry(struct parser *p)
{
	struct geofw_importlist *l = p->out;
	char msg[GEOFW_ERRLEN];
	struct geofw_cidr c;
	unsigned int min;

	if (geofw_cidr_parse(p->tok, p->cidr_flags, &c, msg, sizeof(msg)))
		return line_error(p, "%s", msg);
	min = c.family == 4 ? p->o.min_prefix4 : p->o.min_prefix6;
	if (c.prefixlen < min || (!c.prefixlen && !(p->o.flags & GEOFW_IMPORT_FORCE))) {
		if (!p->o.per_entry)
			return line_error(p, "%s: /%u is shorter than the minimum /%u",
					  p->tok, c.prefixlen, min ? min : 1);
		if (!l->too_wide++ && !l->refused)
			snprintf(l->first_refused, sizeof(l->first_refused),
				 "%.64s:%zu: %.64s is wider than the minimum /%u", p->name,
				 l->lines, p->tok, min ? min : 1);
		return 0;
	}
	return push(p, &c);
}

/* ---- csv -------------------------------------------------------------- */

/*
 * Column p->o.column of a comma-separated line into p->tok: RFC 4180 quotes
 * ("a,b" and "" inside them), blanks around a field trimmed.  -1 when the
 * line has fewer columns or a quote is not closed.
 */
static int csv_field(struct parser *p, const char *s, size_t len)
{
	unsigned int col = 1, want = p->o.column ? p->o.column : 1;
	size_t i = 0, o = 0;

	for (;;) {
		bool quoted = false;

		while (i < len && is_space(s[i]))
			i++;
		o = 0;
		if (i < len && s[i] == '"') {
			quoted = true;
			for (i++;; i++) {
				if (i >= len)
					return -1;
				if (s[i] == '"') {
					if (i + 1 < len && s[i + 1] == '"') {
						i++;
					} else {
						i++;
						break;
					}
				}
				if (col == want && o < GEOFW_IMPORT_LINE_MAX)
					p->tok[o++] = s[i];
			}
		}
		for (; i < len && s[i] != ','; i++)
			if (col == want && o < GEOFW_IMPORT_LINE_MAX && (!quoted || !is_space(s[i])))
				p->tok[o++] = s[i];
		if (col == want) {
			while (o && is_space(p->tok[o - 1]))
				o--;
			p->tok[o] = '\0';
			return 0;
		}
		if (i >= len)
			return -1;
		i++;	/* the comma */
		col++;
	}
}

static int csv_line(struct parser *p, const char *s, size_t len)
{
	struct geofw_cidr c;
	char msg[8];

	if (*s == '#')
		return 0;
	if (csv_field(p, s, len))
		return line_error(p, "no column %u (or a quote not closed)",
				  p->o.column ? p->o.column : 1);
	/* A first line whose column is no address is the header. */
	if (!p->data_lines++ &&
	    geofw_cidr_parse(p->tok, p->cidr_flags, &c, msg, sizeof(msg)))
		return 0;
	return add_entry(p);
}

/* ---- JSON lines (Spamhaus drop_v4.json / drop_v6.json) ------------------- */

/*
 * One object per line, parsed by jansson (strict: UTF-8, no trailing text,
 * a key given twice refused); only "cidr" and "type":"metadata" matter.
 */
static int json_line(struct parser *p, const char *s, size_t len)
{
	json_t *doc, *cidr, *type;
	char eb[GEOFW_ECHO_BUFLEN];
	json_error_t e;
	int ret;

	doc = json_loadb(s, len, JSON_REJECT_DUPLICATES, &e);
	if (!doc)	/* jansson quotes the input near the error: echo it safely */
		return line_error(p, "malformed JSON at column %d: %s", e.column,
				  geofw_echo(e.text, eb));
	cidr = json_object_get(doc, "cidr");
	type = json_object_get(doc, "type");
	if (json_is_string(type) && !strcmp(json_string_value(type), "metadata")) {
		ret = 0;
	} else if (!cidr) {
		ret = line_error(p, "JSON line without a \"cidr\" field");
	} else if (!json_is_string(cidr)) {
		ret = line_error(p, "\"cidr\" must be a string");
	} else if (json_string_length(cidr) >= sizeof(p->tok)) {	/* no NUL: jansson */
		ret = line_error(p, "\"cidr\" is not an address");
	} else {
		memcpy(p->tok, json_string_value(cidr), json_string_length(cidr) + 1);
		ret = add_entry(p);
	}
	json_decref(doc);
	return ret;
}

/* ---- annotations of fwctl export --------------------------------------- */

/*
 * The comment after an entry, s[len] after its '#': "source=S action=A
 * expires=UNIX comment=...".  Words up to comment= are read (a source may
 * hold blanks: words that are no key are passed over).  *expired: the entry
 * is to be skipped.  0, or a line error.
 */
static int annotation(struct parser *p, const char *s, size_t len, bool *expired)
{
	struct geofw_importlist *l = p->out;
	unsigned long long expires = 0;
	char word[GEOFW_IMPORT_LINE_MAX + 1], eb[GEOFW_ECHO_BUFLEN];
	int action = 0;
	size_t i = 0, w;

	*expired = false;
	while (i < len && is_space(s[i]))
		i++;
	if (len - i < 7 || memcmp(s + i, "source=", 7))
		return 0;	/* a comment of someone else's */
	while (i < len) {
		while (i < len && is_space(s[i]))
			i++;
		for (w = 0; i + w < len && !is_space(s[i + w]); w++)
			;
		memcpy(word, s + i, w);
		word[w] = '\0';
		i += w;
		if (!strncmp(word, "comment=", 8))
			break;
		if (!strncmp(word, "action=", 7)) {
			action = geofw_action_parse(word + 7);
			if (action <= GEOFW_ACT_PASS)
				return line_error(p, "annotation %s: not a block action (drop, "
						  "reject, http403, log)", geofw_echo(word, eb));
		} else if (!strncmp(word, "expires=", 8)) {
			char *end;

			errno = 0;
			expires = word[8] >= '1' && word[8] <= '9' ?
				  strtoull(word + 8, &end, 10) : 0;
			if (!expires || errno || *end)
				return line_error(p, "annotation %s: not a time (UNIX seconds)",
						  geofw_echo(word, eb));
		}
	}
	l->annotated++;
	if (expires && expires <= p->o.now) {
		*expired = true;
		return 0;
	}
	if (l->annotated - l->expired == 1) {	/* the first one taken */
		l->action = action;
		l->expires = expires;
		return 0;
	}
	if (action != l->action || expires != l->expires)
		l->mixed = true;
	/* As the store ranks rows of one prefix: strictest, then longest. */
	if (action && (!l->action || action < l->action))
		l->action = action;
	if (l->expires && (!expires || expires > l->expires))
		l->expires = expires;
	return 0;
}

/* ---- lines ------------------------------------------------------------ */

/* One line without its '\n'. */
static int parse_line(struct parser *p, const char *s, size_t len)
{
	char eb[GEOFW_ECHO_BUFLEN];
	size_t i, tok_end;

	p->out->lines++;
	if (len && s[len - 1] == '\r')
		len--;
	if (len > GEOFW_IMPORT_LINE_MAX)
		return line_error(p, "line too long (more than %d bytes)",
				  GEOFW_IMPORT_LINE_MAX);
	if (memchr(s, '\0', len))
		return line_error(p, "NUL byte in line (not a text file?)");
	if (p->out->lines == 1 && len >= 3 && !memcmp(s, "\xef\xbb\xbf", 3)) {
		s += 3;
		len -= 3;
	}

	while (len && is_space(*s))
		s++, len--;
	while (len && is_space(s[len - 1]))
		len--;
	if (!len)
		return 0;
	if (p->o.format == GEOFW_FORMAT_CSV)
		return csv_line(p, s, len);
	if (is_comment(*s))
		return 0;
	if (*s == '{' && (p->o.format == GEOFW_FORMAT_ANY || p->o.format == GEOFW_FORMAT_SPAMHAUS))
		return json_line(p, s, len);

	for (tok_end = 0; tok_end < len; tok_end++)
		if (is_space(s[tok_end]) || is_comment(s[tok_end]))
			break;
	for (i = tok_end; i < len && is_space(s[i]); i++)
		;
	if (i < len && !is_comment(s[i]))
		return line_error(p, "%s: one address or CIDR per line, then only a # or ; comment",
				  geofw_echo_n(s, len, eb));
	memcpy(p->tok, s, tok_end);
	p->tok[tok_end] = '\0';
	if ((p->o.flags & GEOFW_IMPORT_ANNOTATIONS) && i < len && s[i] == '#') {
		size_t n = p->out->n;
		bool expired;
		int r = add_entry(p);

		if (!r)
			r = annotation(p, s + i + 1, len - i - 1, &expired);
		if (!r && expired) {
			p->out->n = n;	/* checked, then skipped */
			p->out->expired++;
		}
		return r;
	}
	return add_entry(p);
}

static int cmp_cidr(const void *a, const void *b)
{
	return geofw_cidr_cmp(a, b);
}

/* Byte `pass` of the sort key, least significant first: prefixlen, then the
 * address from its last byte (the order of geofw_cidr_cmp() within a family,
 * since unused address bytes are zero). */
static __u8 key_byte(const struct geofw_cidr *c, int pass)
{
	return pass ? c->addr[16 - pass] : c->prefixlen;
}

/*
 * LSD radix sort of one family's entries: qsort() of a million random
 * entries costs ~0.4 s in comparator calls, this ~30 ms for IPv4.  Passes
 * where every entry has the same byte are skipped.
 */
static void radix_sort(struct geofw_cidr *v, struct geofw_cidr *tmp, size_t n, int nbytes)
{
	struct geofw_cidr *src = v, *dst = tmp, *t;
	size_t count[256], i, sum;
	int pass, b;

	if (!n)
		return;
	for (pass = 0; pass <= 16; pass++) {
		if (pass && pass <= 16 - nbytes)
			continue;	/* bytes unused by this family */
		memset(count, 0, sizeof(count));
		for (i = 0; i < n; i++)
			count[key_byte(&src[i], pass)]++;
		if (count[key_byte(&src[0], pass)] == n)
			continue;
		for (b = 0, sum = 0; b < 256; b++) {
			size_t c = count[b];

			count[b] = sum;
			sum += c;
		}
		for (i = 0; i < n; i++)
			dst[count[key_byte(&src[i], pass)]++] = src[i];
		t = src;
		src = dst;
		dst = t;
	}
	if (src != v)
		memcpy(v, src, n * sizeof(*v));
}

static void sort_entries(struct geofw_importlist *l)
{
	struct geofw_cidr *tmp = malloc(l->n * sizeof(*tmp));
	size_t i, n4 = 0, k;

	if (!tmp) {
		qsort(l->v, l->n, sizeof(*l->v), cmp_cidr);
		return;
	}
	/* IPv4 first, as geofw_cidr_cmp() orders families. */
	for (i = 0; i < l->n; i++) {
		if (l->v[i].family == 4)
			tmp[n4++] = l->v[i];
	}
	for (i = 0, k = n4; i < l->n; i++) {
		if (l->v[i].family != 4)
			tmp[k++] = l->v[i];
	}
	memcpy(l->v, tmp, l->n * sizeof(*tmp));
	radix_sort(l->v, tmp, n4, 4);
	radix_sort(l->v + n4, tmp, l->n - n4, 16);
	free(tmp);
}

/* Sort, so the result does not depend on line order, and drop repeats. */
static void finish(struct geofw_importlist *l)
{
	size_t i, k;

	if (l->n < 2)
		return;
	sort_entries(l);
	for (i = 1, k = 1; i < l->n; i++) {
		if (geofw_cidr_cmp(&l->v[i], &l->v[k - 1]))
			l->v[k++] = l->v[i];
	}
	l->duplicates = l->n - k;
	l->n = k;
}

static void parser_init(struct parser *p, const char *name,
			const struct geofw_importlist_opts *o,
			struct geofw_importlist *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	p->name = name ? name : "<input>";
	p->o = *o;
	if (!p->o.now)
		p->o.now = (unsigned long long)time(NULL);
	p->data_lines = 0;
	/* Entry by entry, /0 is parsed, then refused by add_entry() with the
	 * other prefixes that are too wide. */
	p->cidr_flags = 0;
	if ((o->flags & GEOFW_IMPORT_FORCE) || o->per_entry)
		p->cidr_flags |= GEOFW_CIDR_ALLOW_ZERO;
	if (o->flags & GEOFW_IMPORT_MASK_HOST_BITS)
		p->cidr_flags |= GEOFW_CIDR_ALLOW_HOST_BITS;
	p->out = out;
	p->err = err;
	p->errlen = errlen;
	if (err && errlen)
		err[0] = '\0';
}

static int parser_done(struct parser *p, int r)
{
	if (r)
		geofw_importlist_free(p->out);
	else
		finish(p->out);
	return r;
}

int geofw_importlist_parse_buf(const char *buf, size_t len, const char *name,
			       unsigned int flags, struct geofw_importlist *out,
			       char *err, size_t errlen)
{
	struct geofw_importlist_opts o = { .flags = flags };

	return geofw_importlist_parse_opts(buf, len, name, &o, out, err, errlen);
}

int geofw_importlist_parse_opts(const char *buf, size_t len, const char *name,
				const struct geofw_importlist_opts *o,
				struct geofw_importlist *out, char *err, size_t errlen)
{
	static const struct geofw_importlist_opts none;
	struct parser p;
	size_t start = 0;
	int r = 0;

	parser_init(&p, name, o ? o : &none, out, err, errlen);
	while (start < len) {
		const char *nl = memchr(buf + start, '\n', len - start);
		size_t end = nl ? (size_t)(nl - buf) : len;

		r = parse_line(&p, buf + start, end - start);
		if (r)
			break;
		start = end + 1;
	}
	return parser_done(&p, r);
}

int geofw_importlist_read(const char *path, unsigned int flags,
			  struct geofw_importlist *out, char *err, size_t errlen)
{
	size_t start = 0, end = 0;
	struct geofw_importlist_opts o = { .flags = flags };
	struct parser p;
	bool eof = false;
	char *buf;
	int fd, r = 0;

	parser_init(&p, path, &o, out, err, errlen);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		if (err && errlen)
			snprintf(err, errlen, "%s: %s", path, strerror(-r));
		return r;
	}
	buf = malloc(READ_BUF);
	if (!buf) {
		close(fd);
		if (err && errlen)
			snprintf(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}

	for (;;) {
		char *nl = memchr(buf + start, '\n', end - start);
		ssize_t n;

		if (nl) {
			r = parse_line(&p, buf + start, nl - (buf + start));
			if (r)
				break;
			start = nl + 1 - buf;
			continue;
		}
		/* No newline yet: a line already longer than allowed (plus a
		 * CR) is reported without reading the rest of it. */
		if (end - start > GEOFW_IMPORT_LINE_MAX + 1 || eof) {
			if (end > start)
				r = parse_line(&p, buf + start, end - start);
			break;
		}
		memmove(buf, buf + start, end - start);
		end -= start;
		start = 0;
		do
			n = read(fd, buf + end, READ_BUF - end);
		while (n < 0 && errno == EINTR);
		if (n < 0) {
			r = -errno;
			if (err && errlen)
				snprintf(err, errlen, "%s: %s", path, strerror(-r));
			break;
		}
		if (!n)
			eof = true;
		end += n;
	}
	free(buf);
	close(fd);
	return parser_done(&p, r);
}

void geofw_importlist_free(struct geofw_importlist *l)
{
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static const char *const format_names[GEOFW_FORMAT_MAX] = {
	[GEOFW_FORMAT_ANY] = "any",
	[GEOFW_FORMAT_PLAIN] = "plain",
	[GEOFW_FORMAT_SPAMHAUS] = "spamhaus",
	[GEOFW_FORMAT_NETSET] = "netset",
	[GEOFW_FORMAT_CSV] = "csv",
};

const char *geofw_list_format_name(int format)
{
	return format >= 0 && format < GEOFW_FORMAT_MAX ? format_names[format] : NULL;
}

int geofw_list_format_parse(const char *name)
{
	int i;

	for (i = 0; i < GEOFW_FORMAT_MAX; i++)
		if (!strcmp(format_names[i], name))
			return i;
	return -1;
}
