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

#include "geoip_int.h"

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
int geoip_classify(const struct geofw_geoip_reader *r, __u32 offset, int *id,
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

double geoip_now_ms(void)
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
	if (geoip_classify(r, res.entry.offset, &id, NULL, 0) != MMDB_SUCCESS)
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
