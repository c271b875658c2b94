// SPDX-License-Identifier: GPL-2.0-only
/* Kernel diffs: the rule store's resolved entries → the rule maps. */
#include <bpf/bpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kdiff.h"
#include "grow.h"
#include "maps.h"
#include "msg.h"

/* ---- clocks ------------------------------------------------------------------- */

static __s64 boot_offset_ns(void)
{
	static bool read;
	static __s64 off;

	if (!read) {
		const char *e = getenv("GEOFW_TEST_BOOT_OFFSET_NS");

		off = e ? strtoll(e, NULL, 10) : 0;
		read = true;
	}
	return off;
}

void geofw_clock_now(struct geofw_clock *c)
{
	struct timespec ts;
	__s64 boot;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	boot = (__s64)ts.tv_sec * 1000000000ll + ts.tv_nsec + boot_offset_ns();
	c->boot_ns = boot > 0 ? (__u64)boot : 0;
	c->wall = (__u64)time(NULL);
}

__u64 geofw_expiry_to_boot_ns(__u64 expires, const struct geofw_clock *now)
{
	__u64 left;

	if (!expires)
		return 0;
	left = expires > now->wall ? expires - now->wall : 0;
	/* Already expired: 1 ns after boot, i.e. in the past. */
	return left ? now->boot_ns + left * 1000000000ull : 1;
}

/* ---- apply ------------------------------------------------------------------------ */

static void to_block(const struct geofw_kentry *e, const struct geofw_clock *now,
		     struct geofw_block *v)
{
	memset(v, 0, sizeof(*v));
	v->action = e->action;
	v->src_class = e->src_class;
	v->rule_id = e->rule_id;
	v->expires_ns = geofw_expiry_to_boot_ns(e->expires, now);
}

int geofw_kdiff_apply(const struct geofw_maps *m, const struct geofw_kdiff *d,
		      char *err, size_t errlen)
{
	struct geofw_block_batch *batch = NULL;
	struct geofw_clock now;
	unsigned int bits = 0;
	bool deleted = false;
	size_t i, puts = 0;
	int ret = 0;

	if (!d->n)
		return 0;
	for (i = 0; i < d->n; i++)
		if (d->v[i].present) {
			bits |= geofw_rules_present_bit(&d->v[i].prefix, d->v[i].allow);
			puts++;
		}
	/* Present bits first: no rule may exist while its map looks empty. */
	if (bits && (ret = geofw_rules_present_add(m, bits)))
		return geofw_errf(err, errlen, ret, "cannot mark the rule maps in use: %s",
				  strerror(-ret));
	if (puts > 64)
		batch = geofw_block_batch_new(puts);
	geofw_clock_now(&now);
	for (i = 0; i < d->n && !ret; i++) {
		const struct geofw_kentry *e = &d->v[i];

		if (e->allow) {
			struct geofw_allow v = { .rule_id = e->rule_id };

			ret = e->present ? geofw_allow_put(m, &e->prefix, &v) :
					   geofw_allow_del(m, &e->prefix);
		} else if (e->present) {
			struct geofw_block v;

			to_block(e, &now, &v);
			/* Exact addresses go in batches (one syscall per
			 * thousands); CIDRs one by one (LPM has no batch). */
			ret = batch ? geofw_block_batch_put(m, batch, &e->prefix, &v) :
				      geofw_block_put(m, &e->prefix, &v);
		} else {
			ret = geofw_block_del(m, &e->prefix);
		}
		if (!e->present) {
			deleted = true;
			if (ret == -ENOENT)
				ret = 0;	/* never loaded or swept: already right */
		}
	}
	if (!ret && batch)
		ret = geofw_block_batch_flush(m, batch);
	geofw_block_batch_free(batch);
	/* Maps that became empty need no lookup any more. */
	if (deleted)
		geofw_rules_present_sync(m);
	if (ret)
		return geofw_errf(err, errlen, ret, "cannot update the %s map: %s%s",
				  i && d->v[i - 1].allow ? "allowlist" : "blocklist", strerror(-ret),
				  ret == -E2BIG || ret == -ENOSPC ? " (the map is full)" : "");
	return 0;
}

/* ---- reconcile --------------------------------------------------------------------- */

struct kvec {
	struct geofw_kentry *v;
	size_t n, cap;
};

static int kvec_push(struct kvec *k, const struct geofw_kentry *e)
{
	return geofw_kdiff_push((struct geofw_kdiff *)k, e);
}

static int cmp_entries(const void *a, const void *b)
{
	return geofw_kentry_cmp(a, b);
}

/* Every key and value of a hash map (exact blocks), in batches. */
static int dump_hash(int fd, int family, struct kvec *out)
{
	size_t klen = family == 4 ? sizeof(struct geofw_ip4) : sizeof(struct geofw_ip6);
	enum { CHUNK = 16384 };
	/* Zeroed: memory checkers do not know that BPF_MAP_LOOKUP_BATCH
	 * writes them (valgrind 3.19 does not handle the command). */
	__u8 *keys = calloc(CHUNK, klen);
	struct geofw_block *vals = calloc(CHUNK, sizeof(*vals));
	__u64 in = 0, outb = 0;
	bool first = true;
	int ret = 0;

	if (!keys || !vals) {
		ret = -ENOMEM;
		goto out;
	}
	for (;;) {
		LIBBPF_OPTS(bpf_map_batch_opts, opts);
		__u32 count = CHUNK, i;
		int r = bpf_map_lookup_batch(fd, first ? NULL : &in, &outb, keys, vals, &count,
					     &opts);

		if (r && errno != ENOENT) {
			ret = -errno;
			break;
		}
		for (i = 0; i < count && !ret; i++) {
			struct geofw_kentry e = { .present = true };

			e.prefix.family = (__u8)family;
			e.prefix.prefixlen = family == 4 ? 32 : 128;
			memcpy(e.prefix.addr, keys + i * klen, klen);
			e.action = vals[i].action;
			e.src_class = vals[i].src_class;
			e.value_plen = vals[i].prefixlen;
			e.rule_id = vals[i].rule_id;
			e.expires = vals[i].expires_ns;	/* boot ns, compared below */
			ret = kvec_push(out, &e);
		}
		if (r || ret)
			break;
		in = outb;
		first = false;
	}
out:
	free(keys);
	free(vals);
	return ret;
}

/* Every entry of an LPM trie (CIDR blocks, allows): no batch ops there. */
static int dump_lpm(int fd, int family, bool allow, struct kvec *out)
{
	__u8 key[sizeof(struct geofw_lpm_v6)], next[sizeof(struct geofw_lpm_v6)];
	size_t alen = family == 4 ? 4 : 16;
	void *prev = NULL;
	int ret = 0;

	while (!ret && !bpf_map_get_next_key(fd, prev, next)) {
		struct geofw_kentry e = { .allow = allow, .present = true };
		union { struct geofw_block b; struct geofw_allow a; } v;

		memcpy(key, next, sizeof(key));
		prev = key;
		if (bpf_map_lookup_elem(fd, key, &v))
			continue;	/* gone meanwhile */
		e.prefix.family = (__u8)family;
		e.prefix.prefixlen = (__u8)*(__u32 *)key;
		memcpy(e.prefix.addr, key + 4, alen);
		if (allow) {
			e.rule_id = v.a.rule_id;
		} else {
			e.action = v.b.action;
			e.src_class = v.b.src_class;
			e.value_plen = v.b.prefixlen;
			e.rule_id = v.b.rule_id;
			e.expires = v.b.expires_ns;
		}
		ret = kvec_push(out, &e);
	}
	return ret;
}

/*
 * v[] sorted: a qsort() of a million 40-byte entries costs ~0.5 s, so the
 * exact IPv4 entries (most of a large blocklist, one length, one family)
 * are put in order by their address alone with an LSD radix sort.
 */
static int sort_exact4(struct kvec *k)
{
	__u64 *a, *b;
	struct geofw_kentry *v;
	size_t i, pass;

	if (!k->n)
		return 0;
	a = malloc(k->n * sizeof(*a));
	b = malloc(k->n * sizeof(*b));
	v = malloc(k->n * sizeof(*v));
	if (!a || !b || !v) {
		free(a);
		free(b);
		free(v);
		return -ENOMEM;
	}
	for (i = 0; i < k->n; i++) {
		const __u8 *ad = k->v[i].prefix.addr;
		__u32 key = (__u32)ad[0] << 24 | (__u32)ad[1] << 16 | (__u32)ad[2] << 8 | ad[3];

		a[i] = (__u64)key << 32 | i;
	}
	for (pass = 0; pass < 4; pass++) {
		size_t count[257] = {}, shift = 32 + pass * 8;
		__u64 *t;

		for (i = 0; i < k->n; i++)
			count[((a[i] >> shift) & 0xff) + 1]++;
		for (i = 1; i < 257; i++)
			count[i] += count[i - 1];
		for (i = 0; i < k->n; i++)
			b[count[(a[i] >> shift) & 0xff]++] = a[i];
		t = a;
		a = b;
		b = t;
	}
	for (i = 0; i < k->n; i++)
		v[i] = k->v[a[i] & 0xffffffffu];
	free(k->v);
	k->v = v;
	k->cap = k->n;
	free(a);
	free(b);
	return 0;
}

/* Two sorted vectors into one, appended to out. */
static int merge_into(struct kvec *out, const struct kvec *x, const struct kvec *y)
{
	size_t i = 0, j = 0;
	int ret = 0;

	while (!ret && (i < x->n || j < y->n)) {
		bool take_x = j == y->n || (i < x->n && geofw_kentry_cmp(&x->v[i], &y->v[j]) <= 0);

		ret = kvec_push(out, take_x ? &x->v[i++] : &y->v[j++]);
	}
	return ret;
}

/* Every rule entry of the kernel, in the order of geofw_kentry_cmp(). */
static int dump_kernel(const struct geofw_maps *m, struct kvec *out)
{
	struct kvec part[6] = {};
	int ret, i;

	if ((ret = dump_hash(m->block_ip4, 4, &part[0])) ||
	    (ret = dump_lpm(m->block_net4, 4, false, &part[1])) ||
	    (ret = dump_hash(m->block_ip6, 6, &part[2])) ||
	    (ret = dump_lpm(m->block_net6, 6, false, &part[3])) ||
	    (ret = dump_lpm(m->allow4, 4, true, &part[4])) ||
	    (ret = dump_lpm(m->allow6, 6, true, &part[5])))
		goto out;
	if ((ret = sort_exact4(&part[0])))
		goto out;
	for (i = 1; i < 6; i++)
		if (part[i].n)
			qsort(part[i].v, part[i].n, sizeof(*part[i].v), cmp_entries);
	/* Blocks v4 (exact and CIDR interleave), blocks v6, allows v4, v6. */
	if ((ret = merge_into(out, &part[0], &part[1])) ||
	    (ret = merge_into(out, &part[2], &part[3])) ||
	    (ret = merge_into(out, &part[4], &(struct kvec){})) ||
	    (ret = merge_into(out, &part[5], &(struct kvec){})))
		goto out;
out:
	for (i = 0; i < 6; i++)
		free(part[i].v);
	return ret;
}

struct reconcile {
	const struct geofw_maps *m;
	struct kvec kernel;	/* sorted */
	size_t next;		/* kernel entries before it are matched or deleted */
	struct geofw_kdiff put, del;
	struct geofw_clock now;
	size_t entries;
};

static bool same(const struct geofw_kentry *want, const struct geofw_kentry *have,
		 const struct geofw_clock *now)
{
	__u64 ns, d;

	if (want->rule_id != have->rule_id || want->action != have->action)
		return false;
	if (want->allow)
		return true;
	if (want->src_class != have->src_class || have->value_plen != have->prefix.prefixlen)
		return false;	/* also: entries of versions without them get them */
	ns = geofw_expiry_to_boot_ns(want->expires, now);
	if (!ns || !have->expires || ns == 1 || have->expires == 1)
		return ns == have->expires;
	d = ns > have->expires ? ns - have->expires : have->expires - ns;
	return d < 1000000000ull;
}

static int reconcile_one(const struct geofw_kentry *want, void *arg)
{
	struct reconcile *r = arg;
	int c = 1, ret;

	r->entries++;
	/* Kernel keys before this one are not in the store. */
	while (r->next < r->kernel.n &&
	       (c = geofw_kentry_cmp(&r->kernel.v[r->next], want)) < 0) {
		r->kernel.v[r->next].present = false;
		if ((ret = geofw_kdiff_push(&r->del, &r->kernel.v[r->next])))
			return ret;
		r->next++;
	}
	if (r->next < r->kernel.n && !c) {
		bool eq = same(want, &r->kernel.v[r->next], &r->now);

		r->next++;
		if (eq)
			return 0;
	}
	return geofw_kdiff_push(&r->put, want);
}

int geofw_kdiff_reconcile(const struct geofw_maps *m, geofw_kentry_walk_fn walk, void *src,
			  struct geofw_reconcile_stats *stats, char *err, size_t errlen)
{
	struct reconcile r = { .m = m };
	struct timespec t0, t1;
	int ret;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	memset(stats, 0, sizeof(*stats));
	if ((ret = dump_kernel(m, &r.kernel))) {
		geofw_errf(err, errlen, ret, "cannot read the pinned rule maps: %s", strerror(-ret));
		goto out;
	}
	geofw_clock_now(&r.now);
	if ((ret = walk(src, reconcile_one, &r))) {
		geofw_errf(err, errlen, ret, "cannot read the rules: %s", strerror(-ret));
		goto out;
	}
	for (; r.next < r.kernel.n && !ret; r.next++) {
		r.kernel.v[r.next].present = false;
		ret = geofw_kdiff_push(&r.del, &r.kernel.v[r.next]);
	}
	/* Deletions first: a full map has room for the new entries then. */
	if (!ret)
		ret = geofw_kdiff_apply(m, &r.del, err, errlen);
	if (!ret)
		ret = geofw_kdiff_apply(m, &r.put, err, errlen);
	if (!ret && (r.del.n || r.put.n)) {
		/* Then exact: stale prefilter bits are not looked at. */
		if ((ret = geofw_rule4_bits_rebuild(m)) || (ret = geofw_block6_bits_rebuild(m)) ||
		    (ret = geofw_rules_present_sync(m)))
			geofw_errf(err, errlen, ret, "cannot rebuild the rule prefilters: %s",
				   strerror(-ret));
	} else if (!ret && (ret = geofw_rules_present_sync(m))) {
		geofw_errf(err, errlen, ret, "cannot mark the rule maps: %s", strerror(-ret));
	}
	stats->entries = r.entries;
	stats->put = r.put.n;
	stats->deleted = r.del.n;
out:
	clock_gettime(CLOCK_MONOTONIC, &t1);
	stats->seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	free(r.kernel.v);
	geofw_kdiff_free(&r.put);
	geofw_kdiff_free(&r.del);
	return ret;
}
