// SPDX-License-Identifier: GPL-2.0-only
#include "asntable.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cidr.h"
#include "geotable.h"
#include "log.h"
#include "timeutil.h"

int geofw_asn_list_read(const char *path, __u32 *out, size_t max)
{
	FILE *f = fopen(path, "r");
	char line[256];
	size_t n = 0;
	unsigned int lineno = 0;
	int err = 0;

	if (!f)
		return log_err(-errno, "asn: %s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		char *s = line, *e;

		lineno++;
		s[strcspn(s, "#\r\n")] = '\0';
		while (*s == ' ' || *s == '\t')
			s++;
		e = s + strlen(s);
		while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
			*--e = '\0';
		if (!*s)
			continue;
		if (n == max) {
			err = log_err(-E2BIG, "asn: %s:%u: more than %zu AS numbers", path, lineno, max);
			break;
		}
		if (geofw_asn_parse(s, &out[n])) {
			err = log_err(-EINVAL, "asn: %s:%u: not an AS number: \"%s\"", path, lineno, s);
			break;
		}
		n++;
	}
	fclose(f);
	return err ? err : (int)n;
}

static int cmp_rule(const void *pa, const void *pb)
{
	const struct geofw_asn_rule *a = pa, *b = pb;

	if (a->asn != b->asn)
		return a->asn < b->asn ? -1 : 1;
	/* allow (1) before block (2) before none (0: port-scoped rules only) */
	return (int)((a->kind + 2) % 3) - (int)((b->kind + 2) % 3);
}

int geofw_asn_classes_make(const struct geofw_asn_rule *rules, size_t n,
			   struct geofw_asn_classes *out)
{
	struct geofw_asn_rule *r;
	size_t i;

	memset(out, 0, sizeof(*out));
	if (!n)
		return 0;
	r = malloc(n * sizeof(*r));
	if (!r)
		return log_err(-ENOMEM, "asn: out of memory");
	memcpy(r, rules, n * sizeof(*r));
	qsort(r, n, sizeof(*r), cmp_rule);
	for (i = 0; i < n; i++) {
		struct geofw_asn_class *c;

		if (!r[i].asn || r[i].kind > GEOFW_ASN_BLOCK ||
		    (r[i].kind == GEOFW_ASN_BLOCK &&
		     (r[i].action == GEOFW_ACT_PASS || r[i].action >= GEOFW_ACT_MAX))) {
			__u32 asn = r[i].asn;

			free(r);
			memset(out, 0, sizeof(*out));
			return log_err(-EINVAL, "asn: invalid rule for AS%u", asn);
		}
		if (out->n && out->c[out->n - 1].asn == r[i].asn)
			continue;	/* allowed and blocked: the allow sorts first and wins;
					 * a class without a rule (NONE: port-scoped rules
					 * only) sorts last */
		if (out->n == GEOFW_ASN_CLASS_MAX_ID) {
			free(r);
			memset(out, 0, sizeof(*out));
			return log_err(-E2BIG, "asn: more than %u ASes with rules",
				       GEOFW_ASN_CLASS_MAX_ID);
		}
		c = &out->c[out->n++];
		c->asn = r[i].asn;
		c->kind = r[i].kind;
		c->action = r[i].kind == GEOFW_ASN_BLOCK ? r[i].action : GEOFW_ACT_PASS;	/* NONE: unused */
		c->rule_id = r[i].rule_id;
		c->expires_ns = r[i].expires_ns;
	}
	free(r);
	return 0;
}

int geofw_asn_classes_in_force(const struct geofw_maps *m, struct geofw_asn_classes *out)
{
	struct geofw_config cfg;
	__u32 id, key;
	int err;

	memset(out, 0, sizeof(*out));
	if ((err = geofw_config_read(m, &cfg)))
		return err;
	if (!cfg.asn_present)
		return 0;
	/* Class ids are given in AS order from 1, the unused ones cleared
	 * (geofw_asn_install()): the first AS 0 ends the list.  A class of
	 * kind NONE (an AS with port-scoped rules only) is kept, so that
	 * index + 1 stays the kernel's class id and the ASes after it are
	 * read too; callers that show AS rules skip it. */
	for (id = 1; id <= GEOFW_ASN_CLASS_MAX_ID; id++) {
		struct geofw_asn_class c;

		key = GEOFW_ASN_CLASS_KEY(cfg.asn_slot, id);
		if (bpf_map_lookup_elem(m->asn_class, &key, &c))
			return -errno;
		if (!c.asn)
			break;
		out->c[out->n++] = c;
	}
	return 0;
}

unsigned int geofw_asn_class_of(const struct geofw_asn_classes *cl, __u32 asn)
{
	size_t lo = 0, hi = cl->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (cl->c[mid].asn == asn)
			return (unsigned int)mid + 1;
		if (cl->c[mid].asn < asn)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

static unsigned int class_cb(void *ctx, __u32 asn)
{
	return geofw_asn_class_of(ctx, asn);
}

int geofw_asn_db_load(const char *path, const struct geofw_asn_classes *cl,
		      struct geofw_geoip_db *db)
{
	struct geofw_geoip_opts opts = { .asn_class = class_cb, .asn_ctx = (void *)cl };

	return geofw_geoip_load(path, &opts, db);
}

static unsigned int any_class(void *ctx, __u32 asn)
{
	(void)ctx;
	return asn ? 1 : 0;
}

int geofw_asn_reader_open(const char *path, struct geofw_geoip_reader **out)
{
	struct geofw_geoip_opts opts = { .asn_class = any_class };

	return geofw_geoip_open(path, &opts, out);
}

void geofw_asn_plan_free(struct geofw_asn_plan *plan)
{
	geofw_geo_image_free(&plan->img);
	free(plan->cl);
	memset(plan, 0, sizeof(*plan));
}

int geofw_asn_prepare(const char *path, const struct geofw_asn_rule *rules, size_t n,
		      struct geofw_asn_plan *plan)
{
	struct geofw_asn_classes *cl = malloc(sizeof(*cl));
	struct geofw_geoip_db db = {};
	int err;

	memset(plan, 0, sizeof(*plan));
	plan->t0_ms = geofw_clock_s(CLOCK_MONOTONIC) * 1e3;
	if (!cl)
		return log_err(-ENOMEM, "asn: out of memory");
	if ((err = geofw_asn_classes_make(rules, n, cl)))
		goto out;
	if (!cl->n)
		goto out;	/* the plan removes the tables */
	if (!path) {
		err = log_err(-EINVAL, "asn: AS rules need an ASN database (ASNDatabase =)");
		goto out;
	}
	if ((err = geofw_asn_db_load(path, cl, &db)) ||
	    (err = geofw_geo_build(db.v4, db.n_v4, db.v6, db.n_v6, &plan->img)))
		goto out;
	plan->cl = cl;
	cl = NULL;
	plan->n_v4 = db.n_v4;
	plan->n_v6 = db.n_v6;
out:
	if (err)
		geofw_geo_image_free(&plan->img);
	geofw_geoip_free(&db);
	free(cl);
	return err;
}

int geofw_asn_commit(const struct geofw_maps *m, const struct btf *btf,
		     struct geofw_asn_plan *plan, struct geofw_asn_report *rep)
{
	int err;

	if (rep)
		memset(rep, 0, sizeof(*rep));
	err = plan->cl ? geofw_asn_install(m, btf, &plan->img, plan->cl->c, plan->cl->n) :
			 geofw_asn_clear(m);
	if (!err && rep && plan->cl) {
		rep->ases = plan->cl->n;
		rep->n_v4 = plan->n_v4;
		rep->n_v6 = plan->n_v6;
		rep->load_ms = geofw_clock_s(CLOCK_MONOTONIC) * 1e3 - plan->t0_ms;
	}
	geofw_asn_plan_free(plan);
	return err;
}

int geofw_asn_apply(const struct geofw_maps *m, const struct btf *btf, const char *path,
		    const struct geofw_asn_rule *rules, size_t n, struct geofw_asn_report *rep)
{
	struct geofw_asn_plan plan;
	int err = geofw_asn_prepare(path, rules, n, &plan);

	if (err) {
		if (rep)
			memset(rep, 0, sizeof(*rep));
		return err;
	}
	return geofw_asn_commit(m, btf, &plan, rep);
}
