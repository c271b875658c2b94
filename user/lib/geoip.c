// SPDX-License-Identifier: GPL-2.0-only
/*
 * MaxMind DB walker (see geoip.h).
 *
 * libmaxminddb parses the metadata and decodes data records; the search tree
 * we walk ourselves with MMDB_read_node(), because libmaxminddb has no
 * iterator.  The file is untrusted: every record is checked before use —
 * node numbers below node_count, data pointers inside the data section, no
 * node reached twice (a loop or a shared subtree would make the walk
 * exponential), no node deeper than the address width.
 *
 * Format reminder: node_count nodes of two records each; a record value
 * below node_count is a node, equal to it means "no data", above it points
 * at data offset value - node_count - 16 (16 zero bytes separate the tree
 * from the data section).
 */
#include "geoip.h"
#include "grow.h"

#include <arpa/inet.h>
#include <errno.h>
#include <maxminddb.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "countries.h"
#include "log.h"

#define DATA_SEPARATOR_LEN		16
#define META_MARKER_LEN		14	/* "\xab\xcd\xefMaxMind.com" */
#define IPV4_SUBTREE_DEPTH	96	/* ::/96 holds the IPv4 space */

/* Classification of a data record: a country id, or one of these. */
#define CC_NONE		0
#define CC_REFUSED	(-1)
#define CC_NO_RULE	(-2)	/* ASN database: an AS number, its AS has no rule */

struct geofw_geoip_reader {
	MMDB_s mmdb;
	char *path;
	enum geofw_geoip_schema schema;
	struct geofw_geoip_field field;
	struct geofw_geoip_field fallback;	/* depth 0 when unused */
	__u32 node_count;
	__u32 data_len;		/* data section up to the metadata marker */
	unsigned int (*asn_class)(void *ctx, __u32 asn);	/* ASN database, else NULL */
	void *asn_ctx;
};

struct cache_slot {
	__u32 key;		/* data offset + 1; 0 = free slot */
	int id;			/* country id, CC_NONE or CC_REFUSED */
};

/* Decoded records by data offset: ~10^6 tree leaves share a few thousand
 * distinct records, and decoding is what a walk would spend its time on. */
struct cache {
	struct cache_slot *slot;
	size_t mask, used;
};

struct pvec {
	struct geofw_geo_prefix *p;
	size_t n, cap, raw, max;
	unsigned int bits;
};

struct walk {
	struct geofw_geoip_reader *r;
	struct geofw_geoip_report *rep;
	__u8 *seen;		/* bitmap of nodes walked */
	struct cache cache;
	struct pvec v4, v6;
	__u64 v4_root;		/* record at ::/96 of an IPv6 tree */
	bool v4_root_is_node;
	size_t data_leaves;
};

/* ---- field specs ------------------------------------------------------- */

static bool field_char_ok(unsigned char c)
{
	return c > ' ' && c != 0x7f;
}

int geofw_geoip_parse_field(const char *spec, struct geofw_geoip_field *out,
			    const char **why)
{
	const char *reason = NULL;
	char *p, *end;
	size_t len;

	memset(out, 0, sizeof(*out));
	len = spec ? strlen(spec) : 0;
	if (!len) {
		reason = "empty field";
		goto fail;
	}
	if (len >= sizeof(out->buf)) {
		reason = "field too long";
		goto fail;
	}
	memcpy(out->buf, spec, len + 1);
	for (p = out->buf;; p = end + 1) {
		end = strchr(p, ' ');
		if (end)
			*end = '\0';
		if (!*p) {
			reason = "empty element in field (elements are separated by one space)";
			goto fail;
		}
		for (const char *c = p; *c; c++) {
			if (!field_char_ok((unsigned char)*c)) {
				reason = "control character in field";
				goto fail;
			}
		}
		if (out->depth == GEOFW_GEOIP_MAX_FIELD_DEPTH) {
			reason = "field has more than 8 elements";
			goto fail;
		}
		out->path[out->depth++] = p;
		if (!end)
			break;
	}
	return 0;

fail:
	memset(out, 0, sizeof(*out));
	if (why)
		*why = reason;
	else
		log_err(-EINVAL, "geoip: field \"%s\": %s", spec ? spec : "", reason);
	return -EINVAL;
}

/* The caller's path array, checked like a spec: elements may not hold the
 * spaces that would make the report's "a b c" ambiguous. */
static int field_from_path(const char *db, const char *const *path,
			   struct geofw_geoip_field *out)
{
	char spec[GEOFW_GEOIP_FIELD_MAX_LEN];
	const char *why;
	size_t len = 0, i;

	for (i = 0; path[i]; i++) {
		size_t el = strlen(path[i]);

		if (i == GEOFW_GEOIP_MAX_FIELD_DEPTH || len + el + 2 > sizeof(spec))
			return log_err(-EINVAL, "geoip: %s: field path too long", db);
		for (size_t k = 0; k < el; k++)
			if (!field_char_ok((unsigned char)path[i][k]))
				return log_err(-EINVAL,
					       "geoip: %s: field element \"%s\" holds a space or control character",
					       db, path[i]);
		if (i)
			spec[len++] = ' ';
		memcpy(spec + len, path[i], el);
		len += el;
	}
	spec[len] = '\0';
	if (geofw_geoip_parse_field(spec, out, &why))
		return log_err(-EINVAL, "geoip: %s: field \"%s\": %s", db, spec, why);
	return 0;
}

static void field_set(struct geofw_geoip_field *f, const char *spec)
{
	/* Built-in specs cannot fail. */
	geofw_geoip_parse_field(spec, f, NULL);
}

/* ---- records ----------------------------------------------------------- */

static void code_example(char *dst, size_t size, const MMDB_entry_data_s *v)
{
	size_t i, n;

	if (v->type != MMDB_DATA_TYPE_UTF8_STRING) {
		snprintf(dst, size, "<type %u>", v->type);
		return;
	}
	n = v->data_size < size - 1 ? v->data_size : size - 1;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v->utf8_string[i];

		dst[i] = c >= ' ' && c < 0x7f ? (char)c : '?';
	}
	dst[i] = '\0';
}

/* 1 when the path holds a value (in *v), 0 when absent or when the record
 * has another shape, else an MMDB_* error as a negative number. */
static int get_path(MMDB_entry_s *entry, const char *const *path, MMDB_entry_data_s *v)
{
	int st = MMDB_aget_value(entry, v, path);

	if (st == MMDB_SUCCESS)
		return v->has_data ? 1 : 0;
	if (st == MMDB_LOOKUP_PATH_DOES_NOT_MATCH_DATA_ERROR ||
	    st == MMDB_INVALID_LOOKUP_PATH_ERROR)
		return 0;
	return -st;
}

/* An AS number: MaxMind writes uint32, other writers uint16/uint64/int32. */
static bool record_asn(const MMDB_entry_data_s *v, __u32 *asn)
{
	switch (v->type) {
	case MMDB_DATA_TYPE_UINT16:
		*asn = v->uint16;
		return true;
	case MMDB_DATA_TYPE_UINT32:
		*asn = v->uint32;
		return true;
	case MMDB_DATA_TYPE_INT32:
		*asn = (__u32)v->int32;
		return v->int32 >= 0;
	case MMDB_DATA_TYPE_UINT64:
		*asn = (__u32)v->uint64;
		return v->uint64 <= 0xffffffffu;
	default:
		return false;
	}
}

/* Classifies the record at data offset `offset` into *id.  Returns
 * MMDB_SUCCESS or the libmaxminddb error that made the record unreadable. */
static int classify(const struct geofw_geoip_reader *r, __u32 offset, int *id,
		    char *example, size_t example_size)
{
	MMDB_entry_s entry = { .mmdb = &r->mmdb, .offset = offset };
	MMDB_entry_data_s v;
	int found;

	found = get_path(&entry, r->field.path, &v);
	if (found == 0 && r->fallback.depth)
		found = get_path(&entry, r->fallback.path, &v);
	if (found < 0)
		return -found;
	if (!found) {
		*id = CC_NONE;
		return MMDB_SUCCESS;
	}
	if (r->asn_class) {
		__u32 asn = 0;

		if (!record_asn(&v, &asn)) {
			*id = CC_REFUSED;
			if (example)
				snprintf(example, example_size, "type %u", v.type);
			return MMDB_SUCCESS;
		}
		*id = (int)r->asn_class(r->asn_ctx, asn);
		if (*id <= 0 || *id > GEOFW_ASN_CLASS_MAX_ID)
			*id = CC_NO_RULE;
		return MMDB_SUCCESS;
	}
	*id = 0;
	if (v.type == MMDB_DATA_TYPE_UTF8_STRING && v.data_size == 2)
		*id = geofw_country_id2(v.utf8_string[0], v.utf8_string[1]);
	if (*id <= 0) {
		*id = CC_REFUSED;
		if (example)
			code_example(example, example_size, &v);
	}
	return MMDB_SUCCESS;
}

/* ---- reader ------------------------------------------------------------ */

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int open_error(const char *path, int st)
{
	int err = errno ? errno : EIO;

	switch (st) {
	case MMDB_FILE_OPEN_ERROR:
	case MMDB_IO_ERROR:
		return log_err(-err, "geoip: %s: %s", path, strerror(err));
	case MMDB_OUT_OF_MEMORY_ERROR:
		return log_err(-ENOMEM, "geoip: %s: out of memory", path);
	default:
		return log_err(-EINVAL, "geoip: %s: not a valid MaxMind DB: %s", path,
			       MMDB_strerror(st));
	}
}

/*
 * Data record offset of the first record with data in address order, to
 * detect the schema.  A bounded depth-first search: aliases may lead through
 * the IPv4 subtree several times, a loop would lead forever.
 */
static int first_data_record(struct geofw_geoip_reader *r, __u32 *offset, bool *found)
{
	struct { __u64 rec; unsigned int depth; } stack[2 * 130];
	unsigned int n = 0, bits = r->mmdb.metadata.ip_version == 4 ? 32 : 128;
	__u64 budget = 4 * (__u64)r->node_count + 4;
	MMDB_search_node_s node;

	*found = false;
	stack[n].rec = 0;
	stack[n++].depth = 0;
	while (n) {
		__u64 rec = stack[--n].rec;
		unsigned int depth = stack[n].depth;

		if (rec == r->node_count)
			continue;
		if (rec > r->node_count) {
			rec -= r->node_count;
			if (rec < DATA_SEPARATOR_LEN || rec - DATA_SEPARATOR_LEN >= r->data_len)
				return log_err(-EINVAL,
					       "geoip: %s: corrupt search tree: record points outside the data section",
					       r->path);
			*offset = (__u32)(rec - DATA_SEPARATOR_LEN);
			*found = true;
			return 0;
		}
		if (depth >= bits || !budget--)
			return log_err(-EINVAL, "geoip: %s: corrupt search tree: %s", r->path,
				       depth >= bits ? "deeper than the address width" : "loop");
		if (MMDB_read_node(&r->mmdb, (__u32)rec, &node) != MMDB_SUCCESS)
			return log_err(-EINVAL, "geoip: %s: corrupt search tree: node %llu unreadable",
				       r->path, (unsigned long long)rec);
		stack[n].rec = node.right_record;
		stack[n++].depth = depth + 1;
		stack[n].rec = node.left_record;
		stack[n++].depth = depth + 1;
	}
	return 0;
}

static int pick_schema(struct geofw_geoip_reader *r, const struct geofw_geoip_opts *opts)
{
	MMDB_entry_data_s v;
	MMDB_entry_s entry;
	__u32 offset;
	bool found;
	int err, st;

	if (opts && opts->asn_class) {
		r->schema = GEOFW_GEOIP_SCHEMA_ASN;
		r->asn_class = opts->asn_class;
		r->asn_ctx = opts->asn_ctx;
		field_set(&r->field, "autonomous_system_number");
		return 0;
	}
	if (opts && opts->field_path) {
		r->schema = GEOFW_GEOIP_SCHEMA_CUSTOM;
		return field_from_path(r->path, opts->field_path, &r->field);
	}
	err = first_data_record(r, &offset, &found);
	if (err)
		return err;
	r->schema = GEOFW_GEOIP_SCHEMA_GEOIP2;
	if (found) {
		entry = (MMDB_entry_s){ .mmdb = &r->mmdb, .offset = offset };
		st = MMDB_get_value(&entry, &v, "country_code", NULL);
		if (st == MMDB_SUCCESS && v.has_data)
			r->schema = GEOFW_GEOIP_SCHEMA_FLAT;
		else if (st != MMDB_SUCCESS && st != MMDB_LOOKUP_PATH_DOES_NOT_MATCH_DATA_ERROR &&
			 st != MMDB_INVALID_LOOKUP_PATH_ERROR)
			return log_err(-EINVAL, "geoip: %s: corrupt data record at offset %u: %s",
				       r->path, offset, MMDB_strerror(st));
	}
	if (r->schema == GEOFW_GEOIP_SCHEMA_FLAT) {
		field_set(&r->field, "country_code");
	} else {
		field_set(&r->field, "country iso_code");
		field_set(&r->fallback, "registered_country iso_code");
	}
	return 0;
}

/* What MMDB_open() leaves to its users: a search tree that fits the file
 * (libmaxminddb 1.7 computes its size in 32 bits) and a data section. */
static int check_layout(struct geofw_geoip_reader *r)
{
	const MMDB_s *m = &r->mmdb;
	__u64 tree = (__u64)m->metadata.node_count * m->full_record_byte_size;
	const __u8 *data_end;

	if (m->metadata.ip_version != 4 && m->metadata.ip_version != 6)
		return log_err(-EINVAL, "geoip: %s: ip_version %u is neither 4 nor 6",
			       r->path, m->metadata.ip_version);
	if (!m->metadata.node_count || m->file_size < 0 ||
	    tree + DATA_SEPARATOR_LEN > (__u64)m->file_size ||
	    m->data_section != m->file_content + tree + DATA_SEPARATOR_LEN)
		return log_err(-EINVAL, "geoip: %s: search tree of %u nodes does not fit the file",
			       r->path, m->metadata.node_count);
	data_end = m->metadata_section - META_MARKER_LEN;
	if (m->metadata_section < m->data_section + META_MARKER_LEN ||
	    data_end > m->data_section + m->data_section_size)
		return log_err(-EINVAL, "geoip: %s: search tree overlaps the metadata", r->path);
	r->node_count = m->metadata.node_count;
	r->data_len = (__u32)(data_end - m->data_section);
	return 0;
}

/*
 * libmaxminddb maps the file MAP_SHARED: were it truncated or rewritten in
 * place while mapped (cp over it, a half-finished download), reading it
 * would raise SIGBUS.  We map a private copy in a memfd instead, which also
 * gives the walk one consistent version of the file.  Returns the memfd,
 * or -errno; the file is checked through the descriptor we copy from.
 */
static int snapshot(const char *path)
{
	struct stat st;
	int fd, mfd = -1, err;
	off_t done = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st)) {
		err = log_err(-errno, "geoip: %s: %s", path, strerror(errno));
		goto out;
	}
	/* mmap() of an empty file or a directory fails with an unhelpful
	 * errno inside MMDB_open(): say what is wrong instead. */
	if (!S_ISREG(st.st_mode)) {
		err = log_err(-EINVAL, "geoip: %s: not a regular file", path);
		goto out;
	}
	if (!st.st_size) {
		err = log_err(-EINVAL, "geoip: %s: empty file", path);
		goto out;
	}
	mfd = memfd_create("geofw-geoip", MFD_CLOEXEC);
	if (mfd < 0) {
		err = log_err(-errno, "geoip: %s: memfd_create: %s", path, strerror(errno));
		goto out;
	}
	while (done < st.st_size) {
		ssize_t n = sendfile(mfd, fd, NULL, (size_t)(st.st_size - done));

		if (n <= 0) {
			/* n == 0: the file shrank under us. */
			err = n ? -errno : -EIO;
			log_err(err, "geoip: %s: copying: %s", path,
				n ? strerror(errno) : "file shrank while read");
			goto out;
		}
		done += n;
	}
	err = 0;
out:
	if (fd >= 0)
		close(fd);
	if (err && mfd >= 0)
		close(mfd);
	return err ? err : mfd;
}

int geofw_geoip_open(const char *path, const struct geofw_geoip_opts *opts,
		     struct geofw_geoip_reader **out)
{
	struct geofw_geoip_reader *r = NULL;
	char copy[64];
	bool opened = false;
	int err, mfd, mst;

	*out = NULL;
	mfd = snapshot(path);
	if (mfd < 0)
		return mfd;

	err = -ENOMEM;
	r = calloc(1, sizeof(*r));
	if (!r || !(r->path = strdup(path))) {
		log_err(err, "geoip: %s: out of memory", path);
		goto fail;
	}
	snprintf(copy, sizeof(copy), "/proc/self/fd/%d", mfd);
	errno = 0;
	mst = MMDB_open(copy, MMDB_MODE_MMAP, &r->mmdb);
	if (mst == MMDB_FILE_OPEN_ERROR) {
		/* No /proc (a chroot?): map the file itself. */
		log_debug("geoip: %s: cannot open %s, reading the file in place", path, copy);
		errno = 0;
		mst = MMDB_open(path, MMDB_MODE_MMAP, &r->mmdb);
	}
	if (mst != MMDB_SUCCESS) {
		err = open_error(path, mst);
		goto fail;
	}
	opened = true;
	err = check_layout(r);
	if (!err)
		err = pick_schema(r, opts);
	if (err)
		goto fail;
	close(mfd);
	*out = r;
	return 0;

fail:
	close(mfd);
	if (opened)
		MMDB_close(&r->mmdb);
	if (r)
		free(r->path);
	free(r);
	return err;
}

void geofw_geoip_close(struct geofw_geoip_reader *r)
{
	if (!r)
		return;
	MMDB_close(&r->mmdb);
	free(r->path);
	free(r);
}

/* The record of an address: 1 found (in *res), 0 none, or -errno. */
static int lookup_record(struct geofw_geoip_reader *r, const struct sockaddr *sa,
			 MMDB_lookup_result_s *res)
{
	int merr = MMDB_SUCCESS;

	*res = MMDB_lookup_sockaddr(&r->mmdb, sa, &merr);
	if (merr == MMDB_IPV6_LOOKUP_IN_IPV4_DATABASE_ERROR)
		return -EAFNOSUPPORT;
	if (merr != MMDB_SUCCESS)
		return -EINVAL;
	return res->found_entry ? 1 : 0;
}

int geofw_geoip_lookup(struct geofw_geoip_reader *r, const struct sockaddr *sa,
		       unsigned int *country_id)
{
	MMDB_lookup_result_s res;
	int st, id;

	*country_id = GEOFW_COUNTRY_NONE;
	if ((st = lookup_record(r, sa, &res)) <= 0)
		return st;
	if (classify(r, res.entry.offset, &id, NULL, 0) != MMDB_SUCCESS)
		return -EINVAL;
	if (id > 0)
		*country_id = (unsigned int)id;
	return 0;
}

int geofw_geoip_lookup_asn(struct geofw_geoip_reader *r, const struct sockaddr *sa,
			   __u32 *asn, char *org, size_t org_size)
{
	MMDB_lookup_result_s res;
	MMDB_entry_data_s v;
	int found;
	size_t i, n;

	*asn = 0;
	if (org_size)
		org[0] = '\0';
	if ((found = lookup_record(r, sa, &res)) <= 0)
		return found;
	found = get_path(&res.entry, r->field.path, &v);
	if (found < 0)
		return -EINVAL;
	if (found && !record_asn(&v, asn))
		*asn = 0;
	found = MMDB_get_value(&res.entry, &v, "autonomous_system_organization", NULL) ==
			MMDB_SUCCESS && v.has_data && v.type == MMDB_DATA_TYPE_UTF8_STRING;
	if (found && org_size) {
		n = v.data_size < org_size - 1 ? v.data_size : org_size - 1;
		for (i = 0; i < n; i++) {
			unsigned char c = (unsigned char)v.utf8_string[i];

			org[i] = c < 0x20 || c == 0x7f ? '?' : (char)c;
		}
		org[n] = '\0';
	}
	return 0;
}

/* ---- walk -------------------------------------------------------------- */

static const char *prefix_str(const __u8 *addr, unsigned int len, unsigned int bits,
			      char *buf, size_t size)
{
	char a[INET6_ADDRSTRLEN];

	inet_ntop(bits == 32 ? AF_INET : AF_INET6, addr, a, sizeof(a));
	snprintf(buf, size, "%s/%u", a, len);
	return buf;
}

static int cache_grow(struct cache *c)
{
	size_t size = c->slot ? (c->mask + 1) * 2 : 1024, i;
	struct cache_slot *slot = calloc(size, sizeof(*slot));

	if (!slot)
		return -ENOMEM;
	for (i = 0; c->slot && i <= c->mask; i++) {
		size_t j = (c->slot[i].key * 2654435761u) & (size - 1);

		if (!c->slot[i].key)
			continue;
		while (slot[j].key)
			j = (j + 1) & (size - 1);
		slot[j] = c->slot[i];
	}
	free(c->slot);
	c->slot = slot;
	c->mask = size - 1;
	return 0;
}

static void note_refused(struct geofw_geoip_report *rep, const char *code)
{
	unsigned int i;

	for (i = 0; i < rep->n_invalid_examples; i++)
		if (!strcmp(rep->invalid_examples[i], code))
			return;
	if (rep->n_invalid_examples < GEOFW_GEOIP_INVALID_EXAMPLES)
		strcpy(rep->invalid_examples[rep->n_invalid_examples++], code);
}

static int record_country(struct walk *w, __u32 offset, int *id)
{
	struct cache *c = &w->cache;
	char example[sizeof(w->rep->invalid_examples[0])];
	__u32 key = offset + 1;
	size_t j;
	int st;

	if ((c->used + 1) * 2 > c->mask + 1 && cache_grow(c))
		return log_err(-ENOMEM, "geoip: %s: out of memory", w->r->path);
	for (j = (key * 2654435761u) & c->mask; c->slot[j].key; j = (j + 1) & c->mask) {
		if (c->slot[j].key == key) {
			*id = c->slot[j].id;
			return 0;
		}
	}
	st = classify(w->r, offset, id, example, sizeof(example));
	if (st != MMDB_SUCCESS)
		return log_err(-EINVAL, "geoip: %s: corrupt data record at offset %u: %s",
			       w->r->path, offset, MMDB_strerror(st));
	if (*id == CC_REFUSED)
		note_refused(w->rep, example);
	c->slot[j].key = key;
	c->slot[j].id = *id;
	c->used++;
	return 0;
}

static bool siblings(const struct geofw_geo_prefix *a, const struct geofw_geo_prefix *b,
		     unsigned int len)
{
	unsigned int byte = (len - 1) / 8;
	__u8 bit = 0x80 >> ((len - 1) % 8);

	return !memcmp(a->addr, b->addr, byte) && !(a->addr[byte] & bit) &&
	       b->addr[byte] == (a->addr[byte] | bit);
}

/*
 * Leaves arrive in address order, so a prefix can only merge with the one
 * just before it, and each merge may enable another one level up: a stack.
 */
static int pvec_push(struct walk *w, struct pvec *v, const __u8 *addr, unsigned int len,
		     int id)
{
	struct geofw_geo_prefix *p;

	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 4096;

		p = reallocarray(v->p, cap, sizeof(*p));
		if (!p)
			return log_err(-ENOMEM, "geoip: %s: out of memory", w->r->path);
		v->p = p;
		v->cap = cap;
	}
	p = &v->p[v->n++];
	memset(p, 0, sizeof(*p));
	memcpy(p->addr, addr, v->bits / 8);
	p->prefixlen = (__u8)len;
	p->country_id = (__u8)id;
	v->raw++;

	while (v->n >= 2) {
		struct geofw_geo_prefix *a = &v->p[v->n - 2], *b = &v->p[v->n - 1];

		len = b->prefixlen;
		if (!len || a->prefixlen != len || a->country_id != b->country_id ||
		    !siblings(a, b, len))
			break;
		a->prefixlen--;
		v->n--;
	}
	/* At most one pending left sibling per prefix length can still merge:
	 * beyond max + bits the final count is over the limit for sure. */
	if (v->n > v->max + v->bits)
		return log_err(-E2BIG, "geoip: %s: more than %zu IPv%u prefixes (the limit)",
			       w->r->path, v->max, v->bits == 32 ? 4 : 6);
	return 0;
}

static int walk_node(struct walk *w, __u32 node, __u8 *addr, unsigned int depth,
		     struct pvec *out);

static bool v6_skipped(const struct walk *w, const __u8 *addr, unsigned int len, __u64 rec)
{
	static const __u8 mapped[12] = { [10] = 0xff, [11] = 0xff };
	static const __u8 zero[12];

	/* ::/96 is walked as IPv4; IPv4-mapped sources are looked up as IPv4
	 * by the data plane, whatever the database holds for them. */
	if (len == IPV4_SUBTREE_DEPTH)
		return !memcmp(addr, zero, 12) || !memcmp(addr, mapped, 12);
	/* Teredo and 6to4 only when they alias the IPv4 subtree. */
	if (!w->v4_root_is_node || rec != w->v4_root)
		return false;
	if (len == 32)
		return addr[0] == 0x20 && addr[1] == 0x01 && !addr[2] && !addr[3];
	if (len == 16)
		return addr[0] == 0x20 && addr[1] == 0x02;
	return false;
}

static int walk_record(struct walk *w, __u64 rec, __u8 *addr, unsigned int len,
		       struct pvec *out)
{
	__u32 nc = w->r->node_count;
	char pfx[INET6_ADDRSTRLEN + 8];
	int err, id;

	if (out->bits == 128 && v6_skipped(w, addr, len, rec))
		return 0;
	if (rec < nc) {
		if (len >= out->bits)
			return log_err(-EINVAL,
				       "geoip: %s: corrupt search tree: node below %s, deeper than %u bits",
				       w->r->path, prefix_str(addr, len, out->bits, pfx, sizeof(pfx)),
				       out->bits);
		return walk_node(w, (__u32)rec, addr, len, out);
	}
	if (rec == nc)
		return 0;
	rec -= nc;
	if (rec < DATA_SEPARATOR_LEN || rec - DATA_SEPARATOR_LEN >= w->r->data_len)
		return log_err(-EINVAL,
			       "geoip: %s: corrupt search tree: record of %s points outside the data section",
			       w->r->path, prefix_str(addr, len, out->bits, pfx, sizeof(pfx)));
	w->data_leaves++;
	err = record_country(w, (__u32)(rec - DATA_SEPARATOR_LEN), &id);
	if (err)
		return err;
	if (id == CC_REFUSED) {
		w->rep->invalid_codes++;
		return 0;
	}
	if (id == CC_NONE) {
		w->rep->no_country++;
		return 0;
	}
	if (id == CC_NO_RULE) {
		w->rep->asn_no_rule++;
		return 0;
	}
	return pvec_push(w, out, addr, len, id);
}

static int walk_node(struct walk *w, __u32 node, __u8 *addr, unsigned int depth,
		     struct pvec *out)
{
	__u8 bit = 0x80 >> (depth % 8);
	MMDB_search_node_s sn;
	int err;

	if (w->seen[node / 8] & (1u << (node % 8)))
		return log_err(-EINVAL, "geoip: %s: corrupt search tree: node %u reached twice",
			       w->r->path, node);
	w->seen[node / 8] |= 1u << (node % 8);
	if (MMDB_read_node(&w->r->mmdb, node, &sn) != MMDB_SUCCESS)
		return log_err(-EINVAL, "geoip: %s: corrupt search tree: node %u unreadable",
			       w->r->path, node);
	err = walk_record(w, sn.left_record, addr, depth + 1, out);
	if (err)
		return err;
	addr[depth / 8] |= bit;
	err = walk_record(w, sn.right_record, addr, depth + 1, out);
	addr[depth / 8] &= (__u8)~bit;
	return err;
}

/* The record at ::/96, or the record above it when the tree ends sooner
 * (then it covers all of IPv4 and more). */
static int find_v4_root(struct walk *w)
{
	MMDB_search_node_s sn;
	__u64 rec = 0;
	unsigned int depth;

	for (depth = 0; depth < IPV4_SUBTREE_DEPTH && rec < w->r->node_count; depth++) {
		if (MMDB_read_node(&w->r->mmdb, (__u32)rec, &sn) != MMDB_SUCCESS)
			return log_err(-EINVAL, "geoip: %s: corrupt search tree: node %llu unreadable",
				       w->r->path, (unsigned long long)rec);
		rec = sn.left_record;
	}
	w->v4_root = rec;
	w->v4_root_is_node = rec < w->r->node_count;
	return 0;
}

static int walk_tree(struct walk *w)
{
	__u8 addr[16] = { 0 };
	int err;

	if (w->r->mmdb.metadata.ip_version == 4)
		return walk_node(w, 0, addr, 0, &w->v4);
	err = find_v4_root(w);
	if (!err)
		err = walk_record(w, w->v4_root, addr, 0, &w->v4);
	if (!err)
		err = walk_node(w, 0, addr, 0, &w->v6);
	return err;
}

static void field_str(const struct geofw_geoip_reader *r, char *buf, size_t size)
{
	size_t len = 0;
	unsigned int i;

	buf[0] = '\0';
	for (i = 0; i < r->field.depth && len < size; i++)
		len += snprintf(buf + len, size - len, "%s%s", i ? " " : "", r->field.path[i]);
	if (r->fallback.depth && len < size)
		snprintf(buf + len, size - len, " (else %s %s)", r->fallback.path[0],
			 r->fallback.path[1]);
}

static unsigned int count_countries(const struct geofw_geo_prefix *v4, size_t n4,
				    const struct geofw_geo_prefix *v6, size_t n6)
{
	bool present[256] = { false };
	unsigned int n = 0;
	size_t i;

	for (i = 0; i < n4; i++)
		present[v4[i].country_id] = true;
	for (i = 0; i < n6; i++)
		present[v6[i].country_id] = true;
	for (i = 1; i < 256; i++)
		n += present[i];
	return n;
}

static int no_country_error(const struct walk *w)
{
	const struct geofw_geoip_report *rep = w->rep;

	if (!w->data_leaves)
		return log_err(-ENODATA, "geoip: %s: the database holds no network", w->r->path);
	if (rep->invalid_codes)
		return log_err(-ENODATA,
			       "geoip: %s: no usable country at \"%s\": %zu networks with refused codes (e.g. \"%s\"), %zu without a country",
			       w->r->path, rep->field, rep->invalid_codes, rep->invalid_examples[0],
			       rep->no_country);
	return log_err(-ENODATA, "geoip: %s: no network has a country at \"%s\" (%zu without one)",
		       w->r->path, rep->field, rep->no_country);
}

int geofw_geoip_load(const char *path, const struct geofw_geoip_opts *opts,
		     struct geofw_geoip_db *out)
{
	struct geofw_geoip_report *rep = &out->report;
	struct geofw_geoip_reader *r = NULL;
	struct walk w = { .rep = rep };
	double t0 = now_ms();
	int err;

	memset(out, 0, sizeof(*out));
	err = geofw_geoip_open(path, opts, &r);
	if (err)
		goto out;

	snprintf(rep->database_type, sizeof(rep->database_type), "%s",
		 r->mmdb.metadata.database_type ? r->mmdb.metadata.database_type : "");
	rep->schema = r->schema;
	field_str(r, rep->field, sizeof(rep->field));
	rep->build_epoch = r->mmdb.metadata.build_epoch;
	rep->ip_version = r->mmdb.metadata.ip_version;
	rep->record_size = r->mmdb.metadata.record_size;
	rep->node_count = r->node_count;

	w.r = r;
	w.v4.bits = 32;
	w.v6.bits = 128;
	w.v4.max = opts && opts->max_prefixes_v4 ? opts->max_prefixes_v4 : GEOFW_MAX_GEO_V4;
	w.v6.max = opts && opts->max_prefixes_v6 ? opts->max_prefixes_v6 : GEOFW_MAX_GEO_V6;
	w.seen = calloc(r->node_count / 8 + 1, 1);
	if (!w.seen) {
		err = log_err(-ENOMEM, "geoip: %s: out of memory", path);
		goto out;
	}
	err = walk_tree(&w);
	if (err)
		goto out;

	if (w.v4.n > w.v4.max || w.v6.n > w.v6.max) {
		bool v4 = w.v4.n > w.v4.max;

		err = log_err(-E2BIG, "geoip: %s: %zu IPv%c prefixes, more than the limit of %zu",
			      path, v4 ? w.v4.n : w.v6.n, v4 ? '4' : '6', v4 ? w.v4.max : w.v6.max);
		goto out;
	}
	if (r->asn_class && !w.v4.n && !w.v6.n && !rep->asn_no_rule) {
		err = log_err(-ENODATA, "geoip: %s: no network has an AS number at "
			      "\"autonomous_system_number\" (not an ASN database?)", path);
		goto out;
	}
	if (!w.v4.n && !w.v6.n && !r->asn_class) {
		err = no_country_error(&w);
		goto out;
	}
	rep->countries = count_countries(w.v4.p, w.v4.n, w.v6.p, w.v6.n);
	out->v4 = w.v4.p;
	out->n_v4 = w.v4.n;
	out->v6 = w.v6.p;
	out->n_v6 = w.v6.n;
	w.v4.p = w.v6.p = NULL;
	rep->raw_v4 = w.v4.raw;
	rep->raw_v6 = w.v6.raw;
	rep->n_v4 = out->n_v4;
	rep->n_v6 = out->n_v6;
	rep->walk_ms = now_ms() - t0;
out:
	free(w.v4.p);
	free(w.v6.p);
	free(w.seen);
	free(w.cache.slot);
	geofw_geoip_close(r);
	if (err)
		memset(out, 0, sizeof(*out));
	return err;
}

void geofw_geoip_free(struct geofw_geoip_db *db)
{
	if (!db)
		return;
	free(db->v4);
	free(db->v6);
	memset(db, 0, sizeof(*db));
}

/* ---- several databases ------------------------------------------------------ */

struct merge_out {
	struct geofw_geo_prefix *p;
	size_t n, cap;
};

static int merge_push(struct merge_out *o, const struct geofw_geo_prefix *p)
{
	struct geofw_geo_prefix *g = geofw_grow(o->p, &o->cap, o->n, sizeof(*g), 4096);

	if (!g)
		return -ENOMEM;
	o->p = g;
	o->p[o->n++] = *p;
	return 0;
}

/* The last address of p (bits past the prefix set) in out[16]. */
static void prefix_end(const struct geofw_geo_prefix *p, unsigned int bits, __u8 *out)
{
	unsigned int i;

	memcpy(out, p->addr, 16);
	for (i = p->prefixlen; i < bits; i++)
		out[i / 8] |= (__u8)(0x80 >> (i % 8));
}

/* Index of the last prefix of a[0..n) that starts at or before addr, or n. */
static size_t last_at_or_before(const struct geofw_geo_prefix *a, size_t n, const __u8 *addr)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (memcmp(a[mid].addr, addr, 16) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? lo - 1 : n;
}

/*
 * The parts of b that none of in[0..n) covers, into o.  in[] are the
 * earlier databases' prefixes inside b, sorted and disjoint: b is halved
 * until each half is either free of them (kept) or one of them (dropped).
 */
static int subtract(const struct geofw_geo_prefix *b, const struct geofw_geo_prefix *in,
		    size_t n, struct merge_out *o)
{
	struct geofw_geo_prefix half[2];
	size_t split;
	int err, k;

	if (!n)
		return merge_push(o, b);
	/* One of them is b itself (a /128 with anything inside is that one). */
	if ((n == 1 && in[0].prefixlen == b->prefixlen) || b->prefixlen >= 128)
		return 0;
	for (k = 0; k < 2; k++) {
		half[k] = *b;
		half[k].prefixlen = (__u8)(b->prefixlen + 1);
	}
	half[1].addr[b->prefixlen / 8] |= (__u8)(0x80 >> (b->prefixlen % 8));
	for (split = 0; split < n && memcmp(in[split].addr, half[1].addr, 16) < 0; split++)
		;
	if ((err = subtract(&half[0], in, split, o)))
		return err;
	return subtract(&half[1], in + split, n - split, o);
}

static int cmp_prefix_addr(const void *pa, const void *pb)
{
	const struct geofw_geo_prefix *a = pa, *b = pb;

	return memcmp(a->addr, b->addr, 16);
}

/* acc (sorted, disjoint) gets what b[] covers outside it; stays sorted. */
static int merge_family(struct merge_out *acc, const struct geofw_geo_prefix *b, size_t nb,
			unsigned int bits)
{
	struct merge_out add = {};
	size_t n_old = acc->n, i;
	__u8 b_end[16], a_end[16];
	int err = 0;

	for (i = 0; i < nb; i++) {
		size_t j = last_at_or_before(acc->p, n_old, b[i].addr), first, last;

		prefix_end(&b[i], bits, b_end);
		if (j < n_old) {
			prefix_end(&acc->p[j], bits, a_end);
			if (memcmp(a_end, b[i].addr, 16) >= 0 && acc->p[j].prefixlen <= b[i].prefixlen)
				continue;	/* an earlier database covers all of it */
		}
		/* The earlier prefixes that start inside b: acc->p[first..last). */
		first = j < n_old && !memcmp(acc->p[j].addr, b[i].addr, 16) ? j :
			j < n_old ? j + 1 : 0;
		for (last = first; last < n_old && memcmp(acc->p[last].addr, b_end, 16) <= 0; last++)
			;
		if ((err = subtract(&b[i], last > first ? acc->p + first : NULL, last - first,
				    &add)))
			goto out;
	}
	for (i = 0; i < add.n && !err; i++)
		err = merge_push(acc, &add.p[i]);
	if (!err && add.n)
		qsort(acc->p, acc->n, sizeof(*acc->p), cmp_prefix_addr);
out:
	free(add.p);
	return err;
}

int geofw_geoip_merge(const struct geofw_geoip_db *dbs, size_t n, struct geofw_geoip_db *out)
{
	struct merge_out v4 = {}, v6 = {};
	size_t i;
	int err = 0;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < n && !err; i++) {
		err = merge_family(&v4, dbs[i].v4, dbs[i].n_v4, 32);
		if (!err)
			err = merge_family(&v6, dbs[i].v6, dbs[i].n_v6, 128);
	}
	if (err) {
		log_err(err, "geoip: merging %zu databases: out of memory", n);
	} else if (v4.n > GEOFW_MAX_GEO_V4 || v6.n > GEOFW_MAX_GEO_V6) {
		bool is4 = v4.n > GEOFW_MAX_GEO_V4;

		err = log_err(-E2BIG, "geoip: the %zu databases merged hold %zu IPv%c prefixes; "
			      "the limit is %u", n, is4 ? v4.n : v6.n, is4 ? '4' : '6',
			      is4 ? GEOFW_MAX_GEO_V4 : GEOFW_MAX_GEO_V6);
	}
	if (err) {
		free(v4.p);
		free(v6.p);
		return err;
	}
	if (n)
		out->report = dbs[0].report;
	out->v4 = v4.p;
	out->n_v4 = v4.n;
	out->v6 = v6.p;
	out->n_v6 = v6.n;
	out->report.countries = count_countries(v4.p, v4.n, v6.p, v6.n);
	out->report.n_v4 = v4.n;
	out->report.n_v6 = v6.n;
	return 0;
}
