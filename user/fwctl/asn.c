// SPDX-License-Identifier: GPL-2.0-only
/* fwctl asn show, asn verify: the ASN database against the kernel's AS rules. */
#include <errno.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "asntable.h"
#include "config.h"
#include "fwctl.h"
#include "geoverify.h"
#include "loader.h"

/* --db, else ASNDatabase of geofw.conf, into path (PATH_MAX). */
static int pick_asn_db(struct fwctl *c, const struct geofw_cmd *cmd, char *path)
{
	struct geofw_conf *conf;
	char err[GEOFW_CONF_ERRLEN];
	int r;

	if (cmd->n_db) {
		snprintf(path, PATH_MAX, "%s", cmd->db[0]);
		return FWCTL_EXIT_OK;
	}
	conf = malloc(sizeof(*conf));
	if (!conf)
		return fwctl_fail(c, FWCTL_EXIT_FAIL, "out of memory");
	r = geofw_conf_load(GEOFW_CONF_PATH, conf, err, sizeof(err));
	if (r == -ENOENT)
		r = fwctl_fail(c, FWCTL_EXIT_FAIL, "%s does not exist: name the ASN database "
			       "with --db FILE", GEOFW_CONF_PATH);
	else if (r)
		r = fwctl_fail(c, FWCTL_EXIT_FAIL, "%s", err);
	else if (!conf->asn_db[0])
		r = fwctl_fail(c, FWCTL_EXIT_FAIL, "ASNDatabase is none in %s: name the "
			       "database with --db FILE", GEOFW_CONF_PATH);
	else
		snprintf(path, PATH_MAX, "%s", conf->asn_db);
	free(conf);
	return r;
}

static __u64 prefix_addresses(const struct geofw_geo_prefix *p, int bits)
{
	int host = bits - p->prefixlen;

	return host >= 64 ? ~0ull : 1ull << host;
}

int fwctl_asn_show(struct fwctl *c, const struct geofw_cmd *cmd)
{
	static struct geofw_asn_classes one, in_force;
	struct geofw_asn_rule rule = { .asn = cmd->asns[0], .kind = GEOFW_ASN_ALLOW };
	const struct geofw_asn_class *rc = NULL;
	char path[PATH_MAX], pfx[64], a[48];
	struct geofw_asn_stats st = { 0 };
	struct geofw_geoip_db db = { 0 };
	struct geofw_maps m;
	__u64 n4 = 0, n6 = 0;
	bool pins, json;
	size_t i;
	int ret;

	if ((ret = pick_asn_db(c, cmd, path)))
		return ret;
	c->lib_err[0] = '\0';
	if (geofw_asn_classes_make(&rule, 1, &one) || geofw_asn_db_load(path, &one, &db))
		return fwctl_fail(c, FWCTL_EXIT_FAIL, "%s",
				  c->lib_err[0] ? c->lib_err : "cannot load the ASN database");
	/* The rule in force, if the firewall's pins are there.  Why they are
	 * not goes to stderr, with -j too: stdout holds one document. */
	json = c->json;
	c->json = false;
	pins = !fwctl_open_pins(c, &m);
	c->json = json;
	if (pins) {
		if (!geofw_asn_classes_in_force(&m, &in_force)) {
			unsigned int id = geofw_asn_class_of(&in_force, cmd->asns[0]);

			/* A class of kind NONE has port-scoped rules only. */
			if (id && in_force.c[id - 1].kind != GEOFW_ASN_NONE)
				rc = &in_force.c[id - 1];
		}
		geofw_cnt_asn_read(&m, cmd->asns[0], &st);
		geofw_maps_close(&m);
	}
	for (i = 0; i < db.n_v4; i++)
		n4 += prefix_addresses(&db.v4[i], 32);
	for (i = 0; i < db.n_v6; i++)
		n6 += prefix_addresses(&db.v6[i], 64);	/* /64s: addresses overflow */
	if (!c->json) {
		printf("AS%u in %s: %zu IPv4 prefixes (%llu addresses), %zu IPv6 prefixes "
		       "(%llu /64s)\n", cmd->asns[0], path, db.n_v4, (unsigned long long)n4,
		       db.n_v6, (unsigned long long)n6);
		if (rc)
			printf("rule in force: %s%s%s; packets: %llu blocked, %llu passed, "
			       "%llu logged\n", rc->kind == GEOFW_ASN_ALLOW ? "allow" : "block, ",
			       rc->kind == GEOFW_ASN_ALLOW ? "" : geofw_action_name(rc->action),
			       rc->expires_ns ? " (expires)" : "", (unsigned long long)st.blocked,
			       (unsigned long long)st.passed, (unsigned long long)st.logged);
		else
			printf("rule in force: none%s\n", pins ? "" : " (the firewall's pins cannot be read)");
		for (i = 0; i < db.n_v4 + db.n_v6; i++) {
			const struct geofw_geo_prefix *p = i < db.n_v4 ? &db.v4[i] : &db.v6[i - db.n_v4];

			inet_ntop(i < db.n_v4 ? AF_INET : AF_INET6, p->addr, a, sizeof(a));
			printf("  %s/%u\n", a, p->prefixlen);
		}
	} else {
		json_t *prefixes = json_array(), *jr = json_null();

		if (rc)
			jr = json_pack("{s:s, s:s, s:I, s:I, s:I}",
				       "kind", rc->kind == GEOFW_ASN_ALLOW ? "allow" : "block",
				       "action", geofw_action_name(rc->kind == GEOFW_ASN_ALLOW ?
								   GEOFW_ACT_PASS : rc->action),
				       "blocked", (json_int_t)st.blocked, "passed", (json_int_t)st.passed,
				       "logged", (json_int_t)st.logged);
		for (i = 0; i < db.n_v4 + db.n_v6; i++) {
			const struct geofw_geo_prefix *p = i < db.n_v4 ? &db.v4[i] : &db.v6[i - db.n_v4];

			inet_ntop(i < db.n_v4 ? AF_INET : AF_INET6, p->addr, a, sizeof(a));
			snprintf(pfx, sizeof(pfx), "%s/%u", a, p->prefixlen);
			geofw_json_push(&prefixes, json_string(pfx));
		}
		ret = fwctl_json_print(c, json_pack("{s:I, s:o, s:I, s:I, s:I, s:I, s:o, s:o}",
			"asn", (json_int_t)cmd->asns[0], "database", geofw_json_text(path),
			"prefixes_v4", (json_int_t)db.n_v4, "prefixes_v6", (json_int_t)db.n_v6,
			"addresses_v4", (json_int_t)n4, "networks64_v6", (json_int_t)n6,
			"rule", jr, "prefixes", prefixes));
	}
	geofw_geoip_free(&db);
	return ret;
}

int fwctl_asn_verify(struct fwctl *c, const struct geofw_cmd *cmd)
{
	static struct geofw_asn_classes cl;
	struct geofw_asn_rule rules[GEOFW_ASN_CLASS_MAX_ID];
	struct geofw_geoip_reader *reader = NULL;
	struct geofw_asn_verify_result res;
	struct geofw_geoip_db db = { 0 };
	char path[PATH_MAX];
	struct geofw_loaded fw;
	struct geofw_maps m;
	bool loaded = false;
	unsigned int seed;
	size_t i;
	int ret, err;

	if ((ret = pick_asn_db(c, cmd, path)))
		return ret;
	if ((ret = fwctl_open_pins(c, &m)))
		return ret;
	err = geofw_asn_classes_in_force(&m, &cl);
	geofw_maps_close(&m);
	if (err)
		return fwctl_fail(c, FWCTL_EXIT_FAIL, "reading the AS rules in force: %s",
				  strerror(-err));
	if (!cl.n)
		return fwctl_fail(c, FWCTL_EXIT_FAIL, "no AS rule is in force: nothing to verify");
	for (i = 0; i < cl.n; i++)
		rules[i] = (struct geofw_asn_rule){ .asn = cl.c[i].asn, .kind = cl.c[i].kind,
						    .action = cl.c[i].action };
	c->lib_err[0] = '\0';
#define LIB_FAIL(what) \
	fwctl_fail(c, FWCTL_EXIT_FAIL, "%s", c->lib_err[0] ? c->lib_err : (what))
	err = geofw_load(NULL, &fw);
	if (err) {
		ret = LIB_FAIL("cannot load the data plane (root needed)");
		goto out;
	}
	loaded = true;
	if (geofw_asn_apply(&fw.maps, NULL, path, rules, cl.n, NULL) ||
	    geofw_asn_db_load(path, &cl, &db) || geofw_asn_reader_open(path, &reader)) {
		ret = LIB_FAIL("cannot load the ASN database");
		goto out;
	}
#undef LIB_FAIL
	seed = (unsigned int)time(NULL) ^ ((unsigned int)getpid() << 16);
	err = geofw_asn_verify(fw.asn_probe_fd, reader, &cl, &db, cmd->samples, seed, &res);
	if (err) {
		ret = fwctl_fail(c, FWCTL_EXIT_FAIL, "verifying %s: %s", path, strerror(-err));
		goto out;
	}
	if (!c->json) {
		printf("database: %s\nASes with rules: %zu, %zu IPv4 + %zu IPv6 prefixes\n"
		       "checked: %zu random + %zu prefix-edge addresses (seed %u) in %.1f s\n"
		       "agreed: %zu\n", path, cl.n, db.n_v4, db.n_v6, res.random_checked,
		       res.edges_checked, seed, res.seconds, res.agreed);
		printf("mismatches: %zu\n", res.n_mismatch);
		for (i = 0; i < res.n_mismatch && i < GEOFW_VERIFY_MISMATCHES; i++)
			printf("  %s: libmaxminddb AS%u, data plane AS%u\n", res.mismatch[i].addr,
			       res.mismatch[i].want, res.mismatch[i].got);
	} else {
		json_t *first = json_array();

		for (i = 0; i < res.n_mismatch && i < GEOFW_VERIFY_MISMATCHES; i++)
			geofw_json_push(&first, json_pack("{s:s, s:I, s:I}",
				"address", res.mismatch[i].addr,
				"maxminddb", (json_int_t)res.mismatch[i].want,
				"data_plane", (json_int_t)res.mismatch[i].got));
		if (fwctl_json_print(c, json_pack("{s:o, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I,"
						  " s:o, s:b}",
			"database", geofw_json_text(path), "ases", (json_int_t)cl.n,
			"prefixes_v4", (json_int_t)db.n_v4, "prefixes_v6", (json_int_t)db.n_v6,
			"seed", (json_int_t)seed, "random_checked", (json_int_t)res.random_checked,
			"edges_checked", (json_int_t)res.edges_checked, "agreed", (json_int_t)res.agreed,
			"mismatches", (json_int_t)res.n_mismatch, "first_mismatches", first,
			"ok", !res.n_mismatch))) {
			ret = FWCTL_EXIT_FAIL;
			goto out;
		}
	}
	ret = res.n_mismatch ? FWCTL_EXIT_FAIL : FWCTL_EXIT_OK;
out:
	if (reader)
		geofw_geoip_close(reader);
	geofw_geoip_free(&db);
	if (loaded)
		geofw_unload(&fw);
	return ret;
}
