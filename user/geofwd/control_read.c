// SPDX-License-Identifier: GPL-2.0-only
/*
 * The answers that read: list, export, status, fleet status, ref.
 */
#include <bpf/bpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "control.h"
#include "timeutil.h"
#include "countries.h"
#include "feeds.h"
#include "fetcher.h"
#include "fleet.h"
#include "fleetval.h"
#include "geofwd.h"
#include "jsonlib.h"

/* ---- commands ------------------------------------------------------------------ */

int ctl_ref(struct request *r)
{
	char *out = NULL;
	int ret = gfwd_ref_explain(r->d, r->cmd->ref, r->json, &out, r->err, sizeof(r->err));

	if (ret)
		return reply_error(r, GEOFW_CTL_REJECTED, ret == -ENOMEM ? "out of memory" : r->err);
	geofw_ctl_writef(r->w, "%s%s", out, r->json ? "\n" : "");
	free(out);
	return GEOFW_CTL_OK;
}

static json_t *fleet_json(struct gfwd *d)
{
	const struct geofw_conf *c = &d->conf;
	json_t *o = json_object(), *servers = json_array();
	struct gfwd_fleet_info fi;
	int i;

	if (!o || !servers) {
		json_decref(o);
		json_decref(servers);
		return NULL;
	}
	gfwd_fleet_info(d, &fi);
	for (i = 0; i < c->n_fleet_servers; i++)
		json_array_append_new(servers, geofw_json_text(c->fleet_servers[i]));
	json_object_set_new(o, "configured", json_boolean(fi.configured));
	json_object_set_new(o, "servers", servers);
	json_object_set_new(o, "connected", json_boolean(fi.connected));
	geofw_json_set_text(o, "server", fi.url ? fi.url : "");
	geofw_json_set_text(o, "bucket", c->fleet_bucket);
	json_object_set_new(o, "writable", json_boolean(fi.writable));
	json_object_set_new(o, "writable_known", json_boolean(fi.writable_known));
	json_object_set_new(o, "in_step", json_boolean(fi.synced));
	json_object_set_new(o, "revision", json_integer(fi.revision));
	json_object_set_new(o, "bucket_revision", json_integer(fi.head));
	json_object_set_new(o, "lag", json_integer(fi.head - fi.revision));
	json_object_set_new(o, "seconds_since_update",
			    json_integer(fi.last_update ? (json_int_t)(time(NULL) - fi.last_update)
							: -1));
	json_object_set_new(o, "pending", json_integer((json_int_t)fi.pending));
	json_object_set_new(o, "pending_refused", json_integer((json_int_t)fi.refused));
	json_object_set_new(o, "published", json_integer((json_int_t)fi.published));
	json_object_set_new(o, "superseded", json_integer((json_int_t)fi.superseded));
	json_object_set_new(o, "asn_refused", json_integer((json_int_t)fi.asn_refused));
	json_object_set_new(o, "watcher_restarts", json_integer((json_int_t)fi.stalls));
	json_object_set_new(o, "country_policy", json_boolean(fi.countries));
	geofw_json_set_text(o, "host", fi.host ? fi.host : "");
	geofw_json_set_text(o, "error", fi.error ? fi.error : "");
	json_object_set_new(o, "default_scope",
			    json_string(fi.configured && c->fleet_scope == GEOFW_FLEET_SCOPE_FLEET
					? "fleet" : "local"));
	return o;
}

/* The fleet in a few lines (fleet status, and status's fleet section). */
static void fleet_text(struct request *r, const char *indent)
{
	const struct geofw_conf *c = &r->d->conf;
	struct gfwd_fleet_info fi;
	long long age;
	int i;

	gfwd_fleet_info(r->d, &fi);
	age = fi.last_update ? (long long)(time(NULL) - fi.last_update) : -1;
	geofw_ctl_writef(r->w, "%sservers:   ", indent);
	for (i = 0; i < c->n_fleet_servers; i++)
		geofw_ctl_writef(r->w, "%s%s", i ? " " : "", c->fleet_servers[i]);
	if (fi.connected)
		geofw_ctl_writef(r->w, "\n%sconnected: yes, to %s\n", indent, fi.url);
	else
		geofw_ctl_writef(r->w, "\n%sconnected: no%s%s%s\n", indent, fi.error[0] ? " (" : "",
				 fi.error, fi.error[0] ? ")" : "");
	geofw_ctl_writef(r->w, "%sbucket:    %s%s\n", indent, c->fleet_bucket,
			 fi.writable_known && !fi.writable
			 ? (fi.connected ? " (read-only for this host)"
					 : " (read-only for this host at the last connection)") : "");
	geofw_ctl_writef(r->w, "%srevision:  %lld applied%s, the bucket's %lld (lag %lld)\n",
			 indent, fi.revision, fi.synced ? "" : " (not yet in step since start)",
			 fi.head, fi.head - fi.revision);
	if (age >= 0)
		geofw_ctl_writef(r->w, "%supdated:   %llds ago\n", indent, age);
	else
		geofw_ctl_writef(r->w, "%supdated:   never since start\n", indent);
	geofw_ctl_writef(r->w, "%spending:   %zu change(s) made here, not yet in the bucket\n",
			 indent, fi.pending);
	if (fi.refused)
		geofw_ctl_writef(r->w, "%s           %zu refused by the bucket (read-only "
				 "credentials): kept until they allow writing\n", indent, fi.refused);
	if (fi.superseded)
		geofw_ctl_writef(r->w, "%s           %lu not published since start: a newer change "
				 "to the key stood (logged)\n", indent, fi.superseded);
	if (fi.stalls)
		geofw_ctl_writef(r->w, "%swatcher:   read anew %lu time(s) since start: the "
				 "bucket moved on and it brought nothing (logged)\n", indent,
				 fi.stalls);
	if (fi.asn_refused)
		geofw_ctl_writef(r->w, "%sAS rules:  %lu of the bucket refused here since start: "
				 "over the limit of %u ASes with rules (logged; tried again at the "
				 "next catch-up)\n", indent, fi.asn_refused, GEOFW_ASN_CLASS_MAX_ID);
	geofw_ctl_writef(r->w, "%shost:      %s (the origin of changes made here)\n", indent,
			 fi.host);
	if (fi.countries)
		geofw_ctl_writef(r->w, "%scountries: the bucket has a country policy (fwctl list "
				 "countries)\n", indent);
	geofw_ctl_writef(r->w, "%sdefault:   %s scope\n", indent,
			 c->fleet_scope == GEOFW_FLEET_SCOPE_FLEET ? "fleet" : "local");
}

int ctl_fleet_status(struct request *r)
{
	if (r->json)
		return reply_json(r, GEOFW_CTL_OK, fleet_json(r->d));
	if (!gfwd_fleet_configured(r->d)) {
		geofw_ctl_writef(r->w, "fleet: not configured (FleetServers is empty in %s); every "
				 "rule is local\n", r->d->conf_path);
		return GEOFW_CTL_OK;
	}
	fleet_text(r, "");
	return GEOFW_CTL_OK;
}


/* ---- list ------------------------------------------------------------------------ */

/* A fleet rule's origin: the host that made it, from the bucket's value. */
static bool rule_origin(struct request *r, const struct geofw_rule *x, char *buf, size_t len)
{
	return !strcmp(x->source, "fleet") && !gfwd_fleet_origin(r->d, x, buf, len);
}

/* o with the rule's "origin" added when it has one; NULL when o is NULL or
 * out of memory (o is then freed). */
static json_t *with_origin(struct request *r, const struct geofw_rule *x, json_t *o)
{
	char origin[GEOFW_FLEET_ORIGIN_MAX + 1];

	if (o && rule_origin(r, x, origin, sizeof(origin)) &&
	    json_object_set_new(o, "origin", answer_text(origin))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static void list_origin_text(struct request *r, const struct geofw_rule *x)
{
	char origin[GEOFW_FLEET_ORIGIN_MAX + 1];

	if (rule_origin(r, x, origin, sizeof(origin)))
		geofw_ctl_writef(r->w, " (from %s)", origin);
}

static int list_block(const struct geofw_rule *b, struct request *r)
{
	char buf[GEOFW_CIDR_STRLEN], left[32] = "";
	time_t now = time(NULL);

	geofw_cidr_format(&b->prefix, buf, sizeof(buf));
	if (b->expires)
		geofw_duration_format(b->expires > (__u64)now ? b->expires - (__u64)now : 0, 0, left, sizeof(left));
	if (r->json)
		return geofw_json_array_add(&r->list, with_origin(r, b, json_pack(
			"{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:o, s:o}", "type", "block",
			"prefix", buf, "action", geofw_action_name(b->action),
			"rule_id", (json_int_t)b->rule_id, "expires", (json_int_t)b->expires,
			"created", (json_int_t)b->created, "uid", (json_int_t)b->uid,
			"pid", (json_int_t)b->pid, "source", answer_text(b->source),
			"comment", answer_text(b->comment))));
	geofw_ctl_writef(r->w, "block  %-43s %-7s id %-5u %s%s%s%s", buf,
			 geofw_action_name(b->action), b->rule_id,
			 b->expires ? "expires in " : "", left, b->expires ? "  " : "", b->source);
	list_origin_text(r, b);
	geofw_ctl_writef(r->w, "\n");
	if (b->comment[0])
		geofw_ctl_writef(r->w, "       # %s\n", b->comment);
	return 0;
}

static int list_allow(const struct geofw_rule *a, struct request *r)
{
	char buf[GEOFW_CIDR_STRLEN];

	geofw_cidr_format(&a->prefix, buf, sizeof(buf));
	if (r->json)
		return geofw_json_array_add(&r->list, with_origin(r, a, json_pack(
			"{s:s, s:s, s:I, s:I, s:I, s:I, s:o, s:o}", "type", "allow", "prefix", buf,
			"rule_id", (json_int_t)a->rule_id, "created", (json_int_t)a->created,
			"uid", (json_int_t)a->uid, "pid", (json_int_t)a->pid,
			"source", answer_text(a->source), "comment", answer_text(a->comment))));
	geofw_ctl_writef(r->w, "allow  %-43s id %-5u %s", buf, a->rule_id, a->source);
	list_origin_text(r, a);
	geofw_ctl_writef(r->w, "%s%s\n", a->comment[0] ? "  # " : "", a->comment);
	return 0;
}

/* An AS rule as `list -j` shows it; NULL when out of memory. */
static json_t *asn_rule_json(const struct geofw_rule *a)
{
	bool block = a->kind == GEOFW_RULE_BLOCK_ASN;
	json_t *o = json_pack("{s:s, s:I, s:I, s:I, s:I, s:o, s:o}",
			      "type", block ? "block-asn" : "allow-asn", "asn", (json_int_t)a->asn,
			      "created", (json_int_t)a->created, "uid", (json_int_t)a->uid,
			      "pid", (json_int_t)a->pid, "source", geofw_json_text(a->source),
			      "comment", geofw_json_text(a->comment));

	if (o && block &&
	    (json_object_set_new(o, "action", json_string(geofw_action_name(a->action))) ||
	     json_object_set_new(o, "expires", json_integer((json_int_t)a->expires)))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static int list_asn(const struct geofw_rule *a, struct request *r)
{
	bool block = a->kind == GEOFW_RULE_BLOCK_ASN;
	char left[32] = "";

	if (r->json)
		return geofw_json_array_add(&r->list, with_origin(r, a, asn_rule_json(a)));
	if (a->expires) {
		time_t now = time(NULL);

		geofw_duration_format(a->expires > (__u64)now ? a->expires - (__u64)now : 0, 0, left, sizeof(left));
	}
	if (block)
		geofw_ctl_writef(r->w, "block-asn AS%-10u %-7s %s%s%s%s", a->asn,
				 geofw_action_name(a->action), a->expires ? "expires in " : "",
				 left, a->expires ? "  " : "", a->source);
	else
		geofw_ctl_writef(r->w, "allow-asn AS%-10u %s", a->asn, a->source);
	list_origin_text(r, a);
	geofw_ctl_writef(r->w, "\n");
	if (a->comment[0])
		geofw_ctl_writef(r->w, "       # %s\n", a->comment);
	return 0;
}

static int list_rule(const struct geofw_rule *rule, void *arg)
{
	if (geofw_rule_kind_asn(rule->kind))
		return list_asn(rule, arg);
	return rule->kind == GEOFW_RULE_ALLOW ? list_allow(rule, arg) : list_block(rule, arg);
}

/* geofw.conf's AS rules, as rows of source "config", then the store's. */
static int list_asns(struct request *r, const char *source)
{
	const struct geofw_conf *c = &r->d->conf;
	int i, ret = 0;

	if (!source || !strcmp(source, GEOFW_STORE_CONFIG_SOURCE)) {
		struct geofw_rule a = { .kind = GEOFW_RULE_ALLOW_ASN, .comment = "",
					.source = GEOFW_STORE_CONFIG_SOURCE };

		for (i = 0; !ret && i < c->n_allow_asn; i++) {
			a.asn = c->allow_asn[i];
			ret = list_asn(&a, r);
		}
		a.kind = GEOFW_RULE_BLOCK_ASN;
		a.action = (__u8)c->asn_action;
		for (i = 0; !ret && i < c->n_block_asn; i++) {
			a.asn = c->block_asn[i];
			ret = list_asn(&a, r);
		}
	}
	if (!ret)
		ret = geofw_store_for_each_rule(r->d->store, GEOFW_RULE_ALLOW_ASN, source,
						list_rule, r);
	if (!ret)
		ret = geofw_store_for_each_rule(r->d->store, GEOFW_RULE_BLOCK_ASN, source,
						list_rule, r);
	return ret;
}

static void list_policy(struct request *r, const struct geofw_store_countries *c,
			const char *source, const char *label, const char *whence)
{
	unsigned int id;
	bool first = true;

	if (r->json) {
		json_t *listed = json_array(), *actions = json_object();

		for (id = 1; id < GEOFW_MAX_COUNTRIES; id++)
			if (c->listed[id]) {
				geofw_json_push(&listed, json_string(geofw_country_code(id)));
				/* A blocked country's action: its own, else the policy's. */
				if (c->mode != GEOFW_MODE_ALLOW_LISTED)
					geofw_json_put(&actions, geofw_country_code(id),
						json_string(geofw_action_name(c->country_action[id] ?
							c->country_action[id] : c->action)));
			}
		geofw_json_array_add(&r->list, json_pack("{s:s, s:s, s:s, s:s, s:o, s:o}",
			"type", "countries", "mode", c->mode == GEOFW_MODE_ALLOW_LISTED ? "allow" : "block",
			"action", geofw_action_name(c->action), "source", source, "listed", listed,
			"actions", actions));
		return;
	}
	geofw_ctl_writef(r->w, "%s: mode %s (%s), %s action %s:", label,
			 c->mode == GEOFW_MODE_ALLOW_LISTED ? "allow" : "block",
			 c->mode == GEOFW_MODE_ALLOW_LISTED ? "only listed countries pass" :
							      "listed countries are blocked",
			 whence, geofw_action_name(c->action));
	for (id = 1; id < GEOFW_MAX_COUNTRIES; id++)
		if (c->listed[id]) {
			geofw_ctl_writef(r->w, " %s", geofw_country_code(id));
			if (c->country_action[id])
				geofw_ctl_writef(r->w, "(%s)", geofw_action_name(c->country_action[id]));
			first = false;
		}
	geofw_ctl_writef(r->w, "%s\n", first ? " (none)" : "");
}

/* A country a source blocks for a while (CrowdSec country decisions). */
static int list_country_block(const struct geofw_rule *b, void *arg)
{
	struct request *r = arg;
	const char *code = geofw_country_code(b->country);
	time_t now = time(NULL);
	char left[32] = "";

	if (b->expires)
		geofw_duration_format(b->expires > (__u64)now ? b->expires - (__u64)now : 0, 0, left, sizeof(left));
	if (r->json)
		return geofw_json_array_add(&r->list, json_pack(
			"{s:s, s:s, s:s, s:I, s:I, s:o, s:o}", "type", "country_block",
			"country", code, "action", geofw_action_name(b->action),
			"expires", (json_int_t)b->expires, "created", (json_int_t)b->created,
			"source", answer_text(b->source), "comment", answer_text(b->comment)));
	geofw_ctl_writef(r->w, "country %-41s %-7s %s%s%s%s\n", code, geofw_action_name(b->action),
			 b->expires ? "expires in " : "", left, b->expires ? "  " : "", b->source);
	if (b->comment[0])
		geofw_ctl_writef(r->w, "       # %s\n", b->comment);
	return 0;
}

/* This host's policy; with a fleet policy, the fleet's and the two together. */
static void list_countries(struct request *r)
{
	const struct geofw_store_countries *sc = geofw_store_countries(r->d->store);
	const struct geofw_store_countries *fleet = gfwd_fleet_countries(r->d);
	struct geofw_store_countries c = sc->override ? *sc : policy_now(r->d);

	list_policy(r, &c, sc->override ? "runtime" : "config", "countries",
		    sc->override ? "set with fwctl," : "from the config,");
	if (!fleet)
		return;
	list_policy(r, fleet, "fleet", "countries (fleet)", "from the bucket,");
	gfwd_countries_in_force(r->d, &c);
	list_policy(r, &c, "in_force", "countries in force", "both together,");
}

/* A port-scoped rule of the store or the config (source "config"). */
static int list_port_rule(const struct geofw_prule *p, void *arg)
{
	struct request *r = arg;
	char ports[GEOFW_PORTS_STRLEN], target[GEOFW_CIDR_STRLEN], left[32] = "";
	const char *source = p->source ? p->source : "config";
	const char *comment = p->comment ? p->comment : "";
	time_t now = time(NULL);

	if (r->cmd->source && strcmp(r->cmd->source, source))
		return 0;
	geofw_ports_format(&p->ports, ports, sizeof(ports));
	geofw_prule_target(p, target, sizeof(target));
	if (p->expires)
		geofw_duration_format(p->expires > (__u64)now ? p->expires - (__u64)now : 0, 0, left, sizeof(left));
	if (r->json && p->is_asn)	/* the AS as list asns gives it: a number */
		return geofw_json_array_add(&r->list, json_pack(
			"{s:s, s:s, s:s, s:I, s:s, s:I, s:I, s:I, s:o, s:o}", "type", "port",
			"kind", geofw_prule_kind_name(p->kind), "ports", ports,
			"asn", (json_int_t)p->asn,
			"action", geofw_action_name(p->action), "rule_id", (json_int_t)p->rule_id,
			"expires", (json_int_t)p->expires, "created", (json_int_t)p->created,
			"source", answer_text(source), "comment", answer_text(comment)));
	if (r->json)
		return geofw_json_array_add(&r->list, json_pack(
			"{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:o, s:o}", "type", "port",
			"kind", geofw_prule_kind_name(p->kind), "ports", ports,
			p->is_country ? "country" : "prefix", target,
			"action", geofw_action_name(p->action), "rule_id", (json_int_t)p->rule_id,
			"expires", (json_int_t)p->expires, "created", (json_int_t)p->created,
			"source", answer_text(source), "comment", answer_text(comment)));
	geofw_ctl_writef(r->w, "port   %-13s %-18s %-20s %-7s id %-5u %s%s%s%s\n",
			 geofw_prule_kind_name(p->kind), ports, target,
			 p->kind == GEOFW_PRULE_ALLOW ? "pass" : geofw_action_name(p->action),
			 p->rule_id, p->expires ? "expires in " : "", left, p->expires ? "  " : "",
			 source);
	if (comment[0])
		geofw_ctl_writef(r->w, "       # %s\n", comment);
	return 0;
}

static int list_ports(struct request *r)
{
	int i, ret = 0;

	for (i = 0; i < r->d->conf.n_port_rules && !ret; i++)
		ret = list_port_rule(&r->d->conf.port_rules[i], r);
	return ret ? ret : geofw_store_port_for_each(r->d->store, list_port_rule, r);
}

/* A read of the database failed half-way: what was written goes. */
static int read_failed(struct request *r, int ret)
{
	r->w->len = 0;
	snprintf(r->err, sizeof(r->err), "%s: cannot read the rules: %s",
		 geofw_store_path(r->d->store), strerror(-ret));
	return reply_error(r, GEOFW_CTL_INTERNAL, r->err);
}

static int list_rules(struct request *r, int what)
{
	const char *source = r->cmd->source;
	int ret = 0;

	/* Element by element: a million rules are not built as one tree
	 * (docs/design-notes.md, "JSON"). */
	if (r->json)
		geofw_json_array_open(&r->list, put_ctl, r->w);
	if (what == GEOFW_LIST_ALL || what == GEOFW_LIST_ALLOWS)
		ret = geofw_store_for_each_rule(r->d->store, GEOFW_RULE_ALLOW, source, list_rule, r);
	if (!ret && (what == GEOFW_LIST_ALL || what == GEOFW_LIST_BLOCKS))
		ret = geofw_store_for_each_rule(r->d->store, GEOFW_RULE_BLOCK, source, list_rule, r);
	if (!ret && (what == GEOFW_LIST_ALL || what == GEOFW_LIST_COUNTRIES))
		ret = geofw_store_for_each_rule(r->d->store, GEOFW_RULE_BLOCK_COUNTRY, source,
						list_country_block, r);
	/* The country policy has no source of its own but cli. */
	if (!ret && (what == GEOFW_LIST_ALL || what == GEOFW_LIST_ASNS))
		ret = list_asns(r, source);
	if (!ret && (what == GEOFW_LIST_ALL || what == GEOFW_LIST_COUNTRIES) &&
	    (!source || !strcmp(source, "cli")))
		list_countries(r);
	if (!ret && (what == GEOFW_LIST_ALL || what == GEOFW_LIST_PORTS))
		ret = list_ports(r);
	if (ret)
		return read_failed(r, ret);
	if (r->json && geofw_json_array_close(&r->list) == -ENOMEM)
		return read_failed(r, -ENOMEM);
	return GEOFW_CTL_OK;
}

/* One prefix per line as `fwctl import` reads it; the rest in comments. */
static int export_rule(const struct geofw_rule *b, void *arg)
{
	struct request *r = arg;
	char buf[GEOFW_CIDR_STRLEN];

	geofw_cidr_format(&b->prefix, buf, sizeof(buf));
	geofw_ctl_writef(r->w, "%s # source=%s action=%s", buf, b->source,
			 geofw_action_name(b->action));
	if (b->expires)
		geofw_ctl_writef(r->w, " expires=%llu", (unsigned long long)b->expires);
	if (b->comment[0])
		geofw_ctl_writef(r->w, " comment=%s", b->comment);
	geofw_ctl_writef(r->w, "\n");
	return 0;
}

int ctl_list(struct request *r)
{
	return list_rules(r, r->cmd->list);
}

/* AS rules in comments: import skips them, a reader (or a script) sees
 * every field. */
static int export_asn(const struct geofw_rule *a, void *arg)
{
	struct request *r = arg;

	geofw_ctl_writef(r->w, "#asn %s AS%u source=%s", a->kind == GEOFW_RULE_BLOCK_ASN ?
			 "block" : "allow", a->asn, a->source);
	if (a->kind == GEOFW_RULE_BLOCK_ASN)
		geofw_ctl_writef(r->w, " action=%s", geofw_action_name(a->action));
	if (a->expires)
		geofw_ctl_writef(r->w, " expires=%llu", (unsigned long long)a->expires);
	if (a->comment[0])
		geofw_ctl_writef(r->w, " comment=%s", a->comment);
	geofw_ctl_writef(r->w, "\n");
	return 0;
}

/* Port-scoped rules: fwctl import reads prefixes only (a port list has no
 * place in a blocklist line), so they follow as comments, after a line
 * saying so, rather than being left out without a word. */
struct export_ports {
	struct request *r;
	size_t n;
};

static int export_port_rule(const struct geofw_prule *p, void *arg)
{
	struct export_ports *e = arg;
	struct request *r = e->r;
	char ports[GEOFW_PORTS_STRLEN], target[GEOFW_CIDR_STRLEN];
	const char *source = p->source ? p->source : "config";

	if (r->cmd->source && strcmp(r->cmd->source, source))
		return 0;
	if (!e->n++)
		geofw_ctl_writef(r->w, "# port-scoped rules, not read back by fwctl import (it "
				 "takes prefixes only): re-create them with --ports\n");
	geofw_ports_format(&p->ports, ports, sizeof(ports));
	geofw_prule_target(p, target, sizeof(target));
	geofw_ctl_writef(r->w, "#port %s %s %s source=%s", geofw_prule_kind_name(p->kind),
			 ports, target, source);
	if (p->kind != GEOFW_PRULE_ALLOW)
		geofw_ctl_writef(r->w, " action=%s", geofw_action_name(p->action));
	if (p->expires)
		geofw_ctl_writef(r->w, " expires=%llu", (unsigned long long)p->expires);
	if (p->comment && p->comment[0])
		geofw_ctl_writef(r->w, " comment=%s", p->comment);
	geofw_ctl_writef(r->w, "\n");
	return 0;
}

int ctl_export(struct request *r)
{
	struct export_ports ep = { .r = r };
	int ret;

	/* -j: one JSON document, the block rules as list -j gives them */
	if (r->json)
		return list_rules(r, GEOFW_LIST_BLOCKS);

	geofw_ctl_writef(r->w, "# geofw block rules%s%s, exported %lld (UNIX time)\n",
			 r->cmd->source ? " of " : "", r->cmd->source ? r->cmd->source : "",
			 (long long)time(NULL));
	ret = geofw_store_for_each_rule(r->d->store, GEOFW_RULE_BLOCK, r->cmd->source,
					export_rule, r);
	if (!ret)
		ret = geofw_store_for_each_rule(r->d->store, GEOFW_RULE_ALLOW_ASN, r->cmd->source,
						export_asn, r);
	if (!ret)
		ret = geofw_store_for_each_rule(r->d->store, GEOFW_RULE_BLOCK_ASN, r->cmd->source,
						export_asn, r);
	if (!ret)
		ret = geofw_store_port_for_each(r->d->store, export_port_rule, &ep);
	return ret ? read_failed(r, ret) : GEOFW_CTL_OK;
}


/* ---- status ----------------------------------------------------------------------- */

static __u32 prog_id(int fd)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	return fd > 0 && !bpf_obj_get_info_by_fd(fd, &info, &len) ? info.id : 0;
}

/* status -j "asn_rules"; NULL when out of memory. */
static json_t *asn_status_json(const struct gfwd *d, const struct geofw_store_counts *n,
			       size_t wanted, bool enforced, const char *why)
{
	size_t blocked, allowed;

	gfwd_asn_counts(d, &blocked, &allowed);
	return json_pack("{s:b, s:b, s:o, s:o, s:I, s:I, s:I, s:I, s:I, s:I}",
			 "configured", wanted > 0, "enforced", enforced,
			 "reason", geofw_json_text(why), "database", geofw_json_text(d->conf.asn_db),
			 "ases", (json_int_t)wanted, "blocked_in_force", (json_int_t)blocked,
			 "allowed_in_force", (json_int_t)allowed,
			 "config_rules", (json_int_t)(d->conf.n_block_asn + d->conf.n_allow_asn),
			 "runtime_ases", (json_int_t)(n->block_asn + n->allow_asn),
			 "max_ases", (json_int_t)GEOFW_ASN_CLASS_MAX_ID);
}

int ctl_status(struct request *r)
{
	struct gfwd *d = r->d;
	struct geofw_store_counts n;
	struct geofw_config cfg = {};
	char country_why[sizeof(d->db.error) + 256], asn_why[sizeof(d->asn.error) + 64];
	bool country_ok = gfwd_country_policy_enforced(d, country_why, sizeof(country_why));
	size_t asn_wanted, asn_blocked, asn_allowed;
	bool asn_ok = gfwd_asn_rules_enforced(d, &asn_wanted, asn_why, sizeof(asn_why));
	char store_why[PATH_MAX + 256];
	bool store_ok = !geofw_store_check_file(d->store, store_why, sizeof(store_why));
	int i, unprotected = 0, refused = 0;
	int degraded;

	for (i = 0; i < d->n_ifaces; i++) {
		unprotected += !gfwd_iface_protected(&d->ifaces[i]);
		refused += d->ifaces[i].program_refused || d->ifaces[i].mode_refused;
	}
	/* Anything configured but not enforced, or not by this geofwd's
	 * program, or a source that fails, makes status exit 1. */
	degraded = !country_ok || !asn_ok || !store_ok || unprotected || refused ||
		   gfwd_sources_failing(d);
	gfwd_asn_counts(d, &asn_blocked, &asn_allowed);

	geofw_store_counts(d->store, &n);
	geofw_config_read(&d->fw.maps, &cfg);
	if (r->json) {
		json_t *ifaces = json_array();

		for (i = 0; i < d->n_ifaces; i++) {
			const struct gfwd_iface *ifc = &d->ifaces[i];

			geofw_json_push(&ifaces, json_pack(
				"{s:o, s:i, s:b, s:s, s:b, s:b, s:i, s:s, s:b, s:b, s:b, s:o}",
				"name", answer_text(ifc->name), "ifindex", ifc->ifindex,
				"attached", ifc->xdp_link >= 0,
				"xdp_mode", ifc->xdp_link >= 0 ? geofw_xdp_mode_name(ifc->xdp_mode) : "",
				"tc", (int)ifc->tc, "protected", (int)gfwd_iface_protected(ifc),
				"link_type", (int)ifc->link_type,
				"link_type_name", gfwd_link_type_name(ifc->link_type),
				"l3", (int)ifc->l3, "responder_stalled", (int)ifc->resp_stalled,
				"program_refused", (int)ifc->program_refused,
				"error", answer_text(ifc->error)));
		}
		return reply_json(r, degraded ? GEOFW_CTL_DEGRADED : GEOFW_CTL_OK, json_pack(
			"{s:{s:b, s:b, s:o},"
			" s:{s:b, s:i, s:o, s:I, s:I, s:I},"
			" s:{s:I, s:I, s:b}, s:o,"
			" s:{s:b, s:I, s:I, s:o, s:o, s:I, s:I, s:I, s:I, s:I, s:I, s:o},"
			" s:{s:I, s:I, s:I, s:I, s:I, s:I, s:o}, s:o, s:o, s:o}",
			"country_policy", "configured", (int)gfwd_country_policy_wanted(d),
			"enforced", (int)country_ok, "reason", answer_text(country_why),
			"daemon", "running", 1, "pid", (int)getpid(),
			"config", answer_text(d->conf_path),
			"reloads_ok", (json_int_t)d->reloads_ok,
			"reloads_failed", (json_int_t)d->reloads_failed,
			"last_reload", (json_int_t)d->last_reload,
			"programs", "xdp_id", (json_int_t)prog_id(d->fw.xdp_prog_fd),
			"tc_id", (json_int_t)prog_id(d->fw.tc_prog_fd), "responder", (int)d->responder_ok,
			"interfaces", ifaces,
			"geoip", "loaded", (int)d->db.loaded, "loads_ok", (json_int_t)d->db_loads_ok,
			"loads_failed", (json_int_t)d->db_loads_failed,
			"path", answer_text(d->db.path),
			"type", answer_text(d->db.database_type),
			"build_epoch", (json_int_t)d->db.build_epoch,
			"loaded_at", (json_int_t)d->db.loaded_at, "prefixes_v4", (json_int_t)d->db.n_v4,
			"prefixes_v6", (json_int_t)d->db.n_v6, "countries", (json_int_t)d->db.countries,
			"generation", (json_int_t)cfg.geo_generation,
			"error", answer_text(d->db.error),
			"rules", "block_ip4", (json_int_t)n.block_ip4, "block_ip6", (json_int_t)n.block_ip6,
			"block_net4", (json_int_t)n.block_net4, "block_net6", (json_int_t)n.block_net6,
			"allow4", (json_int_t)n.allow4, "allow6", (json_int_t)n.allow6,
			"store_error", answer_text(store_ok ? "" : store_why),
			"asn_rules", asn_status_json(d, &n, asn_wanted, asn_ok, asn_why),
			"sources", gfwd_sources_json(d), "fleet", fleet_json(d)));
	}
	/* First line: the operator must not miss a policy that is not in force. */
	if (!country_ok)
		geofw_ctl_writef(r->w, "country policy: NOT enforced (IP rules are): %s\n",
				 country_why);
	if (!asn_ok)
		geofw_ctl_writef(r->w, "AS rules: NOT enforced: %s\n", asn_why);
	if (!store_ok)
		geofw_ctl_writef(r->w, "rules: changes REFUSED: %s\n", store_why);
	if (unprotected)
		geofw_ctl_writef(r->w, "interfaces: %d configured interface%s NOT protected (see below)\n",
				 unprotected, unprotected > 1 ? "s" : "");
	if (refused)
		geofw_ctl_writef(r->w, "interfaces: a new XDP program or XdpMode was refused on %d "
				 "interface%s (see below)\n", refused, refused > 1 ? "s" : "");
	geofw_ctl_writef(r->w, "geofwd: running (pid %d), config %s, %lu reloads ok, %lu failed\n",
			 getpid(), d->conf_path, d->reloads_ok, d->reloads_failed);
	geofw_ctl_writef(r->w, "programs: xdp id %u, tc id %u, responder %s\n",
			 prog_id(d->fw.xdp_prog_fd), prog_id(d->fw.tc_prog_fd),
			 d->responder_ok ? "on" : "off (reject/http403 drop)");
	for (i = 0; i < d->n_ifaces; i++) {
		const struct gfwd_iface *ifc = &d->ifaces[i];

		geofw_ctl_writef(r->w, "interface %s: %s", ifc->name,
				 !ifc->ifindex ? "absent (attached when it appears)" :
				 ifc->xdp_link < 0 ? "NOT protected" : "attached");
		if (ifc->xdp_link >= 0 && ifc->l3)
			geofw_ctl_writef(r->w, ", XDP %s mode, link type %s (parsed from the IP "
					 "header), no TC responder (reject/http403 drop)",
					 geofw_xdp_mode_name(ifc->xdp_mode),
					 gfwd_link_type_name(ifc->link_type));
		else if (ifc->xdp_link >= 0)
			geofw_ctl_writef(r->w, ", XDP %s mode, TC responder %s",
					 geofw_xdp_mode_name(ifc->xdp_mode), ifc->tc ? "on" : "off");
		if (!gfwd_iface_protected(ifc))
			unprotected++;
		geofw_ctl_writef(r->w, "%s%s\n", ifc->error[0] ? ": " : "", ifc->error);
	}
	if (!d->n_ifaces)
		geofw_ctl_writef(r->w, "interfaces: none configured (Interfaces= in %s)\n", d->conf_path);
	if (d->db.loaded) {
		char built[32] = "?";
		time_t be = (time_t)d->db.build_epoch;
		struct tm tm;

		if (gmtime_r(&be, &tm))
			strftime(built, sizeof(built), "%Y-%m-%d", &tm);
		geofw_ctl_writef(r->w, "geoip: %s (%s, built %s): %zu IPv4 + %zu IPv6 prefixes, "
				 "%zu countries, generation %u\n", d->db.path, d->db.database_type,
				 built, d->db.n_v4, d->db.n_v6, d->db.countries, cfg.geo_generation);
	} else if (!d->conf.geoip_enabled) {
		geofw_ctl_writef(r->w, "geoip: disabled (GeoIPDatabase = none)\n");
	} else if (cfg.geo_generation) {
		geofw_ctl_writef(r->w, "geoip: tables found in the pins in force (generation %u); "
				 "this geofwd has not loaded %s%s\n", cfg.geo_generation, d->conf.geoip_db[0],
				 d->conf.n_geoip_db > 1 ? " and the other GeoIPDatabase files" : "");
	} else {
		geofw_ctl_writef(r->w, "geoip: no database loaded: no country data in force\n");
	}
	geofw_ctl_writef(r->w, "geoip loads: %lu ok, %lu failed\n", d->db_loads_ok, d->db_loads_failed);
	if (d->db.error[0])
		geofw_ctl_writef(r->w, "geoip: last error: %s\n", d->db.error);
	if (d->asn.loaded)
		geofw_ctl_writef(r->w, "asn: %s: %zu ASes with rules, %zu IPv4 + %zu IPv6 prefixes\n",
				 d->asn.path, d->asn.ases, d->asn.n_v4, d->asn.n_v6);
	else if (d->conf.n_block_asn || d->conf.n_allow_asn)
		geofw_ctl_writef(r->w, "asn: AS rules configured but none in force\n");
	if (d->asn.error[0])
		geofw_ctl_writef(r->w, "asn: last error: %s\n", d->asn.error);
	if (asn_wanted || n.block_asn || n.allow_asn)
		geofw_ctl_writef(r->w, "AS rules: %zu blocked + %zu allowed ASes in force (of at most "
				 "%u), %d in geofw.conf, %zu + %zu ASes with runtime rules\n",
				 asn_blocked, asn_allowed, GEOFW_ASN_CLASS_MAX_ID,
				 d->conf.n_block_asn + d->conf.n_allow_asn, n.block_asn,
				 n.allow_asn);
	geofw_ctl_writef(r->w, "rules: %zu blocked addresses + %zu networks (IPv4), %zu + %zu (IPv6), "
			 "%zu + %zu allowed\n", n.block_ip4, n.block_net4, n.block_ip6, n.block_net6,
			 n.allow4, n.allow6);
	if (gfwd_fleet_configured(d)) {
		geofw_ctl_writef(r->w, "fleet:\n");
		fleet_text(r, "  ");
	} else {
		geofw_ctl_writef(r->w, "fleet: not configured (every rule is local)\n");
	}
	gfwd_sources_text(d, r->w);
	return degraded ? GEOFW_CTL_DEGRADED : GEOFW_CTL_OK;
}

/* feed list, feed refresh, feed confirm (feeds.c) */
int ctl_feed(struct request *r)
{
	if (gfwd_feed_command(r->d, r->cmd, r->json, r->w, r->err, sizeof(r->err)))
		return reply_error(r, GEOFW_CTL_REJECTED, r->err);
	return GEOFW_CTL_OK;
}
