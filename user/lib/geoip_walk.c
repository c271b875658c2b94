// SPDX-License-Identifier: GPL-2.0-only
/*
 * MaxMind DB walker: the search tree walked node by node (geoip.c says how
 * an untrusted file is checked), each data leaf classified, the prefixes
 * merged into what the kernel tables are built from (geofw_geoip_load).
 */
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

#include "log.h"
#include "geoip_int.h"

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
	st = geoip_classify(w->r, offset, id, example, sizeof(example));
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

unsigned int geoip_count_countries(const struct geofw_geo_prefix *v4, size_t n4,
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
	double t0 = geoip_now_ms();
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
	rep->countries = geoip_count_countries(w.v4.p, w.v4.n, w.v6.p, w.v6.n);
	out->v4 = w.v4.p;
	out->n_v4 = w.v4.n;
	out->v6 = w.v6.p;
	out->n_v6 = w.v6.n;
	w.v4.p = w.v6.p = NULL;
	rep->raw_v4 = w.v4.raw;
	rep->raw_v6 = w.v6.raw;
	rep->n_v4 = out->n_v4;
	rep->n_v6 = out->n_v6;
	rep->walk_ms = geoip_now_ms() - t0;
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
