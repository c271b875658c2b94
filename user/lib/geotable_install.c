// SPDX-License-Identifier: GPL-2.0-only
/*
 * Installing a built geo or ASN class image into the kernel: inner maps
 * created at the image's size, filled, and switched in through the outer
 * maps' free slot (the builder and the lookup are in geotable.c).
 */
#include "geotable.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "log.h"

/* ---- install ------------------------------------------------------------------ */

struct inner_fds {
	int flat4, more4, tree6, more6;
};

static __u32 btf_id(const struct btf *btf, const char *name, int kind)
{
	int id = btf ? btf__find_by_name_kind(btf, name, kind) : -1;

	return id > 0 ? (__u32)id : 0;
}

static int create_inner(const struct btf *btf, enum bpf_map_type type, const char *name,
			__u32 key_size, __u32 value_size, __u32 max_entries, __u32 flags,
			const char *key_type, int key_kind, const char *value_type)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = flags);
	__u32 kid = btf_id(btf, key_type, key_kind), vid = btf_id(btf, value_type, BTF_KIND_STRUCT);
	int fd;

	if (btf && kid && vid) {
		opts.btf_fd = (__u32)btf__fd(btf);
		opts.btf_key_type_id = kid;
		opts.btf_value_type_id = vid;
	}
	fd = bpf_map_create(type, name, key_size, value_size, max_entries, &opts);
	if (fd < 0 && opts.btf_fd) {
		/* Without BTF the table works the same and bpftool shows hex,
		 * on kernels from 6.2.  Linux 6.1 (Debian 12's) refuses to
		 * place a table without BTF in an outer map whose template has
		 * it (their timer offsets differ): the install then fails with
		 * EINVAL and the tables in force stay.  Hence every caller
		 * passes the program object's BTF. */
		opts.btf_fd = opts.btf_key_type_id = opts.btf_value_type_id = 0;
		fd = bpf_map_create(type, name, key_size, value_size, max_entries, &opts);
	}
	return fd < 0 ? -errno : fd;
}

static void close_inner(struct inner_fds *f)
{
	int *fds[] = { &f->flat4, &f->more4, &f->tree6, &f->more6 };
	size_t i;

	for (i = 0; i < 4; i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
}

/* n values of an mmapable array: copied through a mapping of it, one
 * memcpy instead of a syscall per value (GeoLite2: 70,000 of them); value
 * by value if it cannot be mapped. */
static int fill_mmapable(int fd, const void *values, size_t n, size_t size)
{
	size_t len = (n * size + (size_t)getpagesize() - 1) & ~((size_t)getpagesize() - 1);
	void *m = n ? mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) : MAP_FAILED;
	__u32 k;

	if (m != MAP_FAILED) {
		memcpy(m, values, n * size);
		munmap(m, len);
		return 0;
	}
	for (k = 0; k < n; k++)
		if (bpf_map_update_elem(fd, &k, (const char *)values + k * size, 0))
			return -errno;
	return 0;
}

static int fill_inner(const struct geofw_geo_image *img, const struct geofw_geo4_layout *l,
		      const struct inner_fds *f)
{
	__u32 k;
	size_t i;
	int err;

	if ((err = fill_mmapable(f->flat4, l->rows, l->n_rows, sizeof(*l->rows))) ||
	    (err = fill_mmapable(f->more4, l->chunks, l->n_chunks, sizeof(*l->chunks))))
		return err;
	for (k = 0; k < img->n_tree6; k++)
		if (bpf_map_update_elem(f->tree6, &k, &img->tree6[k], 0))
			return -errno;
	for (i = 0; i < img->n_more6; i++) {
		struct geofw_geo v = { .country_id = img->more6[i].country_id };

		if (bpf_map_update_elem(f->more6, &img->more6[i].key, &v, 0))
			return -errno;
	}
	return 0;
}

/* The outer maps of one kind of table (geo or ASN class), and names. */
struct outer_set {
	int top4, top6;				/* the first levels, by slot (no inner map) */
	int flat4, more4, tree6, more6;
	const char *what;			/* for messages: "geo", "asn" */
	const char *names[4];			/* inner map names */
	const char *tables4[2];			/* the IPv4 outer maps' names, for messages */
};

static struct outer_set geo_outer(const struct geofw_maps *m)
{
	return (struct outer_set){ m->geo4_top, m->geo6_top, m->geo4_flat, m->geo4_more, m->geo6_tree,
				   m->geo6_more, "geo",
				   { "gfw_g4_flat", "gfw_g4_more", "gfw_g6_tree", "gfw_g6_more" },
				   { GEOFW_MAP_GEO4_FLAT, GEOFW_MAP_GEO4_MORE } };
}

static struct outer_set asn_outer(const struct geofw_maps *m)
{
	return (struct outer_set){ m->asn4_top, m->asn6_top, m->asn4_flat, m->asn4_more, m->asn6_tree,
				   m->asn6_more, "asn",
				   { "gfw_a4_flat", "gfw_a4_more", "gfw_a6_tree", "gfw_a6_more" },
				   { GEOFW_MAP_ASN4_FLAT, GEOFW_MAP_ASN4_MORE } };
}

static int outer_set(const struct outer_set *o, __u32 slot, const struct inner_fds *f)
{
	if (bpf_map_update_elem(o->flat4, &slot, &f->flat4, 0) ||
	    bpf_map_update_elem(o->more4, &slot, &f->more4, 0) ||
	    bpf_map_update_elem(o->tree6, &slot, &f->tree6, 0) ||
	    bpf_map_update_elem(o->more6, &slot, &f->more6, 0))
		return -errno;
	return 0;
}

static void outer_clear(const struct outer_set *o, __u32 slot)
{
	static const struct geofw_geo4_top none;
	static const struct geofw_geo6_top none6;

	/* No first-level entry refers on: no address has an id in this slot. */
	bpf_map_update_elem(o->top4, &slot, &none, 0);
	bpf_map_update_elem(o->top6, &slot, &none6, 0);
	bpf_map_delete_elem(o->flat4, &slot);
	bpf_map_delete_elem(o->more4, &slot);
	bpf_map_delete_elem(o->tree6, &slot);
	bpf_map_delete_elem(o->more6, &slot);
}

/* Create and fill the inner maps of img and place them in slot `slot` of o.
 * On error the slot is empty again. */
static int place_image(const struct outer_set *o, const struct btf *btf,
		       const struct geofw_geo_image *img, __u32 slot, struct inner_fds *f)
{
	struct geofw_geo4_layout l;
	struct geofw_geo4_top *top;
	int err;

	if (!img->flat4 || !img->top6)
		return log_err(-EINVAL, "%s: empty image", o->what);
	if (!(top = calloc(1, sizeof(*top))))
		return -ENOMEM;
	if ((err = geofw_geo4_layout_make(img, o->what, o->tables4, NULL, top, &l))) {
		free(top);
		return err;
	}
	/* mmapable for the alignment of the lines (maps/geo.bpf.h) */
	f->flat4 = create_inner(btf, BPF_MAP_TYPE_ARRAY, o->names[0], 4,
				sizeof(struct geofw_geo4_rowval), l.n_rows ? (__u32)l.n_rows : 1,
				BPF_F_INNER_MAP | BPF_F_MMAPABLE, "__u32", BTF_KIND_TYPEDEF,
				"geofw_geo4_rowval");
	f->more4 = create_inner(btf, BPF_MAP_TYPE_ARRAY, o->names[1], 4,
				sizeof(struct geofw_geo4_chunkval), l.n_chunks ? (__u32)l.n_chunks : 1,
				BPF_F_INNER_MAP | BPF_F_MMAPABLE, "__u32", BTF_KIND_TYPEDEF,
				"geofw_geo4_chunkval");
	f->tree6 = create_inner(btf, BPF_MAP_TYPE_ARRAY, o->names[2], 4,
				sizeof(struct geofw_geo6_node), img->n_tree6 ? (__u32)img->n_tree6 : 1,
				BPF_F_INNER_MAP, "__u32", BTF_KIND_TYPEDEF, "geofw_geo6_node");
	f->more6 = create_inner(btf, BPF_MAP_TYPE_LPM_TRIE, o->names[3],
				sizeof(struct geofw_lpm_v6), sizeof(struct geofw_geo),
				img->n_more6 ? (__u32)img->n_more6 : 1, BPF_F_NO_PREALLOC,
				"geofw_lpm_v6", BTF_KIND_STRUCT, "geofw_geo");
	if (f->flat4 < 0 || f->more4 < 0 || f->tree6 < 0 || f->more6 < 0) {
		err = f->flat4 < 0 ? f->flat4 : f->more4 < 0 ? f->more4 :
		      f->tree6 < 0 ? f->tree6 : f->more6;
		log_err(err, "%s: cannot create tables: %s", o->what, strerror(-err));
		goto fail;
	}
	if ((err = fill_inner(img, &l, f))) {
		log_err(err, "%s: cannot fill tables: %s", o->what, strerror(-err));
		goto fail;
	}
	/* The inner maps first, then the first levels that refer to them: the
	 * slot is not in force yet, but nothing may point at a missing row. */
	if ((err = outer_set(o, slot, f)) ||
	    (bpf_map_update_elem(o->top4, &slot, top, 0) && (err = -errno)) ||
	    (bpf_map_update_elem(o->top6, &slot, img->top6, 0) && (err = -errno))) {
		log_err(err, "%s: cannot place tables in slot %u: %s", o->what, slot, strerror(-err));
		goto fail;
	}
	free(top);
	geofw_geo4_layout_free(&l);
	return 0;
fail:
	free(top);
	geofw_geo4_layout_free(&l);
	outer_clear(o, slot);
	return err;
}

/* A packet that read the old slot just before the flip may still be about
 * to look it up: keep the old tables for far longer than any XDP run (the
 * data plane also falls back to the other slot). */
#define OLD_SLOT_GRACE_US (100 * 1000)

int geofw_geo_install(const struct geofw_maps *m, const struct btf *btf,
		      const struct geofw_geo_image *img)
{
	struct inner_fds f = { -1, -1, -1, -1 };
	struct outer_set o = geo_outer(m);
	struct geofw_config cfg;
	__u32 old, new;
	int err;

	if ((err = geofw_config_read(m, &cfg)))
		return log_err(err, "geo: cannot read config: %s", strerror(-err));
	old = cfg.geo_slot & 1;
	new = old ^ 1;
	if ((err = place_image(&o, btf, img, new, &f)))
		goto out;
	/* The switch: one byte in the config record. */
	if ((err = geofw_config_switch_geo_slot(m, (__u8)new))) {
		log_err(err, "geo: cannot switch to slot %u: %s", new, strerror(-err));
		outer_clear(&o, new);
		goto out;
	}
	usleep(OLD_SLOT_GRACE_US);
	outer_clear(&o, old);
out:
	close_inner(&f);
	return err;
}

/* Counters of ASes that no longer have a rule go (the map holds the rules
 * of two generations at most). */
static void drop_stale_counters(const struct geofw_maps *m, const struct geofw_asn_class *classes,
				size_t n_classes)
{
	__u32 key, next, stale[GEOFW_GEO_SLOTS * GEOFW_MAX_ASN_CLASSES];
	size_t n = 0, i;
	void *prev = NULL;

	while (n < sizeof(stale) / sizeof(stale[0]) &&
	       !bpf_map_get_next_key(m->cnt_asn, prev, &next)) {
		bool keep = false;

		for (i = 0; i < n_classes && !keep; i++)
			keep = classes[i].asn == next;
		if (!keep)
			stale[n++] = next;
		key = next;
		prev = &key;
	}
	for (i = 0; i < n; i++)
		bpf_map_delete_elem(m->cnt_asn, &stale[i]);
}

int geofw_asn_install(const struct geofw_maps *m, const struct btf *btf,
		      const struct geofw_geo_image *img, const struct geofw_asn_class *classes,
		      size_t n_classes)
{
	struct inner_fds f = { -1, -1, -1, -1 };
	struct outer_set o = asn_outer(m);
	struct geofw_config cfg;
	__u32 old, new, id, key;
	size_t i;
	int err;

	if (n_classes > GEOFW_ASN_CLASS_MAX_ID)
		return log_err(-E2BIG, "asn: %zu ASes with rules, more than the limit of %u",
			       n_classes, GEOFW_ASN_CLASS_MAX_ID);
	if ((err = geofw_config_read(m, &cfg)))
		return log_err(err, "asn: cannot read config: %s", strerror(-err));
	old = cfg.asn_slot & 1;
	new = cfg.asn_present ? old ^ 1 : old;
	/* The classes of the new slot first (the slot is not in force), class
	 * ids 1..n_classes, the rest cleared. */
	for (id = 1; id < GEOFW_MAX_ASN_CLASSES; id++) {
		struct geofw_asn_class c = {};

		if (id <= n_classes)
			c = classes[id - 1];
		key = GEOFW_ASN_CLASS_KEY(new, id);
		if (bpf_map_update_elem(m->asn_class, &key, &c, 0))
			return log_err(-errno, "asn: cannot write class %u: %s", id, strerror(errno));
	}
	/* A counter for every AS with a rule; existing counts stay. */
	for (i = 0; i < n_classes; i++) {
		int ncpu = libbpf_num_possible_cpus();
		struct geofw_asn_stats *zero;

		if (ncpu <= 0)
			return log_err(-EINVAL, "asn: cannot count CPUs");
		zero = calloc((size_t)ncpu, sizeof(*zero));
		if (!zero)
			return log_err(-ENOMEM, "asn: out of memory");
		err = bpf_map_update_elem(m->cnt_asn, &classes[i].asn, zero, BPF_NOEXIST);
		free(zero);
		if (err && errno != EEXIST)
			return log_err(-errno, "asn: cannot create counter of AS%u: %s",
				       classes[i].asn, strerror(errno));
	}
	if (cfg.asn_present)
		err = place_image(&o, btf, img, new, &f);
	else {
		/* Nothing in force: both slots are free, fill this one. */
		outer_clear(&o, new ^ 1);
		err = place_image(&o, btf, img, new, &f);
	}
	if (err)
		goto out;
	if ((err = geofw_config_switch_asn_slot(m, (__u8)new, true))) {
		log_err(err, "asn: cannot switch to slot %u: %s", new, strerror(-err));
		outer_clear(&o, new);
		goto out;
	}
	if (new != old) {
		usleep(OLD_SLOT_GRACE_US);
		outer_clear(&o, old);
	}
	drop_stale_counters(m, classes, n_classes);
out:
	close_inner(&f);
	return err;
}

int geofw_asn_clear(const struct geofw_maps *m)
{
	struct outer_set o = asn_outer(m);
	int err = geofw_config_switch_asn_slot(m, 0, false);

	usleep(OLD_SLOT_GRACE_US);
	outer_clear(&o, 0);
	outer_clear(&o, 1);
	drop_stale_counters(m, NULL, 0);
	return err;
}

int geofw_geo_clear(const struct geofw_maps *m)
{
	struct outer_set o = geo_outer(m);

	outer_clear(&o, 0);
	outer_clear(&o, 1);
	return 0;
}
