// SPDX-License-Identifier: GPL-2.0-only
/*
 * The rule changes fwctl asks for: IP and AS blocks and allows, port-scoped
 * rules and policies, rate limits; locally or for the fleet.
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "control.h"
#include "timeutil.h"
#include "countries.h"
#include "feeds.h"
#include "fleet.h"
#include "geofwd.h"
#include "jsonlib.h"
#include "log.h"

/* ---- changes ------------------------------------------------------------------- */

/*
 * Every change runs inside the transaction of its group (gfwd_control_ready)
 * and a savepoint of its own: rows → kernel diff, then "ok" waits for the
 * group's COMMIT.  A failure undoes this change alone: rows back to the
 * savepoint, maps back to what the rows say.
 */
/* After a rollback: the AS tables back in line with the rows (rebuilt only
 * when this change had switched them already). */
void asn_restore(struct gfwd *d)
{
	char err[GEOFW_CMD_ERRLEN];
	int ret = gfwd_asn_sync(d, false, "rollback", err, sizeof(err));

	if (ret)
		log_err(ret, "asn: cannot put the AS tables back after a failed change: %s", err);
}

int change_failed(struct request *r)
{
	geofw_store_rollback_to(r->d->store);
	gfwd_rules_restore(r->d, &r->diff);
	geofw_kdiff_reset(&r->diff);
	if (r->asn) {
		asn_restore(r->d);
		r->asn = false;
	}
	if (r->countries) {
		gfwd_apply_countries(r->d);
		gfwd_apply_kernel_config(r->d);
		r->countries = false;
	}
	if (r->ports) {
		gfwd_apply_ports(r->d, NULL, 0);
		r->ports = false;
	}
	return reply_error(r, GEOFW_CTL_REJECTED, r->err[0] ? r->err : "change refused");
}

/* ---- port-scoped rules ----------------------------------------------------------- */

static const char *ports_text(const struct geofw_cmd *cmd, char *buf, size_t len)
{
	if (geofw_ports_format(&cmd->ports, buf, len))
		snprintf(buf, len, "(ports)");
	return buf;
}

/* A change of port-scoped rows or rate limits (err: the store's answer):
 * the port tables rebuilt from the rows, or the change undone.  With AS
 * targets the AS tables first: an AS a port rule names needs a class. */
static int ports_applied(struct request *r, int err)
{
	if (!err && r->cmd->n_asns) {
		r->asn = true;
		err = gfwd_asn_sync(r->d, false, "fwctl", r->err, sizeof(r->err));
	}
	if (!err)
		err = gfwd_apply_ports(r->d, r->err, sizeof(r->err));
	return err ? change_failed(r) : GEOFW_CTL_OK;
}

/* The answer to a port-scoped change: "ok: WHAT N", or for AS targets
 * without an ASNDatabase "stored, NOT enforced" (exit status 1), as AS
 * rules answer. */
static int port_reply(struct request *r, const char *what, size_t n)
{
	char why[GEOFW_CMD_ERRLEN];

	if (!r->cmd->n_asns || gfwd_asn_rules_enforced(r->d, NULL, why, sizeof(why)))
		return reply_ok(r, what, n, n);
	if (r->json) {
		json_t *o = json_pack("{s:b, s:s, s:I, s:I, s:b}", "ok", 1, "what", what,
				      "count", (json_int_t)n, "changed", (json_int_t)n,
				      "enforced", 0);
		char *line;

		if (o && geofw_json_set_text(o, "reason", why))
			o = (json_decref(o), NULL);
		line = o ? geofw_json_line(o) : NULL;
		json_decref(o);
		if (!line)
			return reply_error(r, GEOFW_CTL_INTERNAL, "out of memory");
		geofw_ctl_writef(r->w, "%s", line);
		free(line);
	} else {
		geofw_ctl_writef(r->w, "ok: %s %zu (stored, NOT enforced: %s)\n", what, n, why);
	}
	return GEOFW_CTL_DEGRADED;
}

/* How many targets a port-scoped change names: ASes, countries or prefixes. */
static size_t port_targets(const struct geofw_cmd *cmd, int kind)
{
	return cmd->n_asns ? cmd->n_asns : kind == GEOFW_PRULE_COUNTRY ? cmd->n_countries :
	       cmd->n_cidrs;
}

/* Rows of kind for the command's prefixes, countries or ASes, then the tables. */
int port_add(struct request *r, int kind)
{
	const struct geofw_cmd *cmd = r->cmd;
	size_t n = port_targets(cmd, kind), i;
	struct geofw_prule *rules = calloc(n ? n : 1, sizeof(*rules));
	char ports[GEOFW_PORTS_STRLEN];
	int err;

	if (!rules)
		return reply_error(r, GEOFW_CTL_INTERNAL, "out of memory");
	for (i = 0; i < n; i++) {
		struct geofw_prule *p = &rules[i];

		p->kind = kind;
		p->ports = cmd->ports;
		if (cmd->n_asns) {
			p->is_asn = true;
			p->asn = cmd->asns[i];
		} else if (kind == GEOFW_PRULE_COUNTRY) {
			p->is_country = true;
			p->country = cmd->countries[i];
		} else {
			p->prefix = cmd->cidrs[i];
		}
		p->action = kind == GEOFW_PRULE_ALLOW ? GEOFW_ACT_PASS :
			    cmd->action >= 0 ? (__u8)cmd->action : GEOFW_ACT_DROP;
		p->expires = cmd->ttl ? (__u64)time(NULL) + cmd->ttl : 0;
		p->comment = cmd->comment ? cmd->comment : "";
		p->source = "cli";
		p->uid = r->who.uid;
		p->pid = r->who.pid;
	}
	r->ports = true;
	err = geofw_store_port_add(r->d->store, rules, n, r->err, sizeof(r->err));
	free(rules);
	if ((err = ports_applied(r, err)) != GEOFW_CTL_OK)
		return err;
	log_info("uid %u pid %d: %s on %s (%zu rule(s))", r->who.uid, r->who.pid, cmd->desc->name,
		 ports_text(cmd, ports, sizeof(ports)), n);
	return port_reply(r, kind == GEOFW_PRULE_ALLOW ? "allowed" : "blocked", n);
}

int port_del(struct request *r, int kind)
{
	const struct geofw_cmd *cmd = r->cmd;
	size_t n = port_targets(cmd, kind), i;
	char target[GEOFW_CIDR_STRLEN], ports[GEOFW_PORTS_STRLEN];
	long got;
	int err = 0;

	r->ports = true;
	for (i = 0; i < n && !err; i++) {
		if (cmd->n_asns)
			snprintf(target, sizeof(target), "AS%u", cmd->asns[i]);
		else if (kind == GEOFW_PRULE_COUNTRY)
			snprintf(target, sizeof(target), "%s", geofw_country_code(cmd->countries[i]));
		else
			geofw_cidr_format(&cmd->cidrs[i], target, sizeof(target));
		got = geofw_store_port_del(r->d->store, kind, &cmd->ports, target, cmd->source,
					   r->err, sizeof(r->err));
		if (got < 0)
			err = (int)got;
	}
	if ((err = ports_applied(r, err)) != GEOFW_CTL_OK)
		return err;
	log_info("uid %u pid %d: %s on %s (%zu rule(s))", r->who.uid, r->who.pid, cmd->desc->name,
		 ports_text(cmd, ports, sizeof(ports)), n);
	return port_reply(r, kind == GEOFW_PRULE_ALLOW ? "disallowed" : "unblocked", n);
}

/* ---- rate limits -------------------------------------------------------------------- */

/* ratelimit add / del: the store's row, then the tables rebuilt. */
int ctl_rl_change(struct request *r)
{
	bool add = r->cmd->id == GEOFW_CMD_RL_ADD;
	const struct geofw_cmd *cmd = r->cmd;
	int i, err;

	for (i = 0; add && i < r->d->conf.n_ratelimits; i++)
		if (!strcmp(r->d->conf.ratelimits[i].name, cmd->rl_name)) {
			snprintf(r->err, sizeof(r->err), "rate limit %s is set in %s: change it there",
				 cmd->rl_name, r->d->conf_path);
			return change_failed(r);	/* releases the savepoint */
		}
	r->ports = true;
	err = add ? geofw_store_rl_put(r->d->store, cmd->rl_name, cmd->rl_spec, r->who.uid,
				       r->who.pid, r->err, sizeof(r->err)) :
		    geofw_store_rl_del(r->d->store, cmd->rl_name, r->err, sizeof(r->err));
	if ((err = ports_applied(r, err)) != GEOFW_CTL_OK)
		return err;
	log_info("uid %u pid %d: ratelimit %s %s", r->who.uid, r->who.pid, add ? "add" : "del",
		 add ? cmd->rl_spec : cmd->rl_name);
	return reply_ok(r, add ? "rate limit set" : "rate limit removed", 1, 1);
}

int ctl_rl_list(struct request *r)
{
	struct gfwd *d = r->d;
	int ncpu = libbpf_num_possible_cpus(), i, c;
	struct geofw_rl_stats *v = calloc((size_t)(ncpu > 0 ? ncpu : 1), sizeof(*v));
	json_t *arr = r->json ? json_array() : NULL;

	if (!v || (r->json && !arr)) {
		free(v);
		json_decref(arr);
		return reply_error(r, GEOFW_CTL_INTERNAL, "out of memory");
	}
	for (i = 0; i < d->n_rl; i++) {
		struct geofw_rl_stats sum = {};
		char line[GEOFW_RL_STRLEN];
		__u32 key = (__u32)i;

		if (!bpf_map_lookup_elem(d->fw.maps.cnt_rl, &key, v))
			for (c = 0; c < ncpu; c++) {
				sum.passed += v[c].passed;
				sum.limited += v[c].limited;
				sum.bans += v[c].bans;
			}
		geofw_ratelimit_format(&d->rl[i], line, sizeof(line));
		if (arr) {
			json_t *o = json_pack("{s:s,s:s,s:s,s:I,s:I,s:I}", "name", d->rl[i].name,
					      "spec", line, "source",
					      d->rl_from_store[i] ? "cli" : "config",
					      "passed", (json_int_t)sum.passed,
					      "limited", (json_int_t)sum.limited,
					      "bans", (json_int_t)sum.bans);

			if (!o || json_array_append_new(arr, o)) {
				free(v);
				json_decref(arr);
				return reply_error(r, GEOFW_CTL_INTERNAL, "out of memory");
			}
			continue;
		}
		geofw_ctl_writef(r->w, "%s  (%s)\n    %llu passed, %llu dropped over the limit, "
				 "%llu ban requests\n", line, d->rl_from_store[i] ? "fwctl" : "config",
				 (unsigned long long)sum.passed, (unsigned long long)sum.limited,
				 (unsigned long long)sum.bans);
	}
	free(v);
	if (arr) {
		char *text = geofw_json_line(arr);

		json_decref(arr);
		if (!text)
			return reply_error(r, GEOFW_CTL_INTERNAL, "out of memory");
		geofw_ctl_writef(r->w, "%s", text);
		free(text);
	} else if (!d->n_rl) {
		geofw_ctl_writef(r->w, "no rate limits\n");
	}
	return GEOFW_CTL_OK;
}

/* port-policy PORTS allow-only LIST: the policy's rows become exactly LIST. */
int ctl_port_policy(struct request *r)
{
	const struct geofw_cmd *cmd = r->cmd;
	size_t n = cmd->n_cidrs + cmd->n_countries + cmd->n_asns, i;
	struct geofw_prule *rules = calloc(n ? n : 1, sizeof(*rules));
	char ports[GEOFW_PORTS_STRLEN];
	long got;
	int err = 0;

	if (!rules)
		return reply_error(r, GEOFW_CTL_INTERNAL, "out of memory");
	r->ports = true;
	got = geofw_store_port_del(r->d->store, GEOFW_PRULE_ONLY, &cmd->ports, NULL, "cli",
				   r->err, sizeof(r->err));
	if (got < 0 && (got != -ENOENT || !cmd->allow_only))
		err = (int)got;
	for (i = 0; i < n; i++) {
		struct geofw_prule *p = &rules[i];

		p->kind = GEOFW_PRULE_ONLY;
		p->ports = cmd->ports;
		if (i < cmd->n_cidrs) {
			p->prefix = cmd->cidrs[i];
		} else if (i < cmd->n_cidrs + cmd->n_countries) {
			p->is_country = true;
			p->country = cmd->countries[i - cmd->n_cidrs];
		} else {
			p->is_asn = true;
			p->asn = cmd->asns[i - cmd->n_cidrs - cmd->n_countries];
		}
		p->action = (__u8)cmd->action;
		p->expires = cmd->ttl ? (__u64)time(NULL) + cmd->ttl : 0;
		p->comment = cmd->comment ? cmd->comment : "";
		p->source = "cli";
		p->uid = r->who.uid;
		p->pid = r->who.pid;
	}
	if (!err && n)
		err = geofw_store_port_add(r->d->store, rules, n, r->err, sizeof(r->err));
	free(rules);
	if ((err = ports_applied(r, err)) != GEOFW_CTL_OK)
		return err;
	log_info("uid %u pid %d: port-policy %s %s (%zu source(s) listed)", r->who.uid, r->who.pid,
		 ports_text(cmd, ports, sizeof(ports)), cmd->allow_only ? "allow-only" : "none", n);
	return port_reply(r, cmd->allow_only ? "port policy set" : "port policy removed",
			  n ? n : 1);
}

static struct geofw_rule *block_rows(struct request *r, const struct geofw_cidr *c, size_t n,
				     const char *source)
{
	const struct geofw_cmd *cmd = r->cmd;
	struct geofw_rule *rules = calloc(n ? n : 1, sizeof(*rules));
	__u64 now = (__u64)time(NULL);
	size_t i;

	for (i = 0; rules && i < n; i++) {
		rules[i].kind = GEOFW_RULE_BLOCK;
		rules[i].prefix = c[i];
		rules[i].action = (__u8)(cmd->action >= 0 ? cmd->action : GEOFW_ACT_DROP);
		rules[i].expires = cmd->ttl ? now + cmd->ttl : 0;
		rules[i].comment = cmd->comment ? cmd->comment : "";
		rules[i].source = source;
		rules[i].uid = r->who.uid;
		rules[i].pid = r->who.pid;
		rules[i].created = now;
	}
	return rules;
}

/* ---- fleet scope (fleet.c) ------------------------------------------------------- */

/* --fleet, or neither flag with a fleet configured and FleetScope = fleet. */
bool fleet_scope(const struct request *r)
{
	if (r->cmd->scope == GEOFW_CMD_SCOPE_DEFAULT)
		return gfwd_fleet_configured(r->d) &&
		       r->d->conf.fleet_scope == GEOFW_FLEET_SCOPE_FLEET;
	return r->cmd->scope == GEOFW_CMD_SCOPE_FLEET;
}

/* The change is in the outbox (committed with the group); it reaches this
 * host's maps when the bucket delivers it back. */
int reply_fleet(struct request *r, const char *what, size_t n)
{
	bool up = gfwd_fleet_connected(r->d);
	char buf[GEOFW_CIDR_STRLEN] = "";

	if (r->cmd->n_cidrs)
		geofw_cidr_format(&r->cmd->cidrs[0], buf, sizeof(buf));
	else if (r->cmd->n_countries)
		snprintf(buf, sizeof(buf), "%s", geofw_country_code(r->cmd->countries[0]));
	else if (r->cmd->n_asns)
		snprintf(buf, sizeof(buf), "AS%u", r->cmd->asns[0]);
	log_info("uid %u pid %d: %s %s%s for the fleet (%s)", r->who.uid, r->who.pid,
		 r->cmd->desc->name, buf, n > 1 ? " and more" : "",
		 up ? "publishing" : "NATS unreachable: pending");
	if (r->json) {
		return reply_json(r, GEOFW_CTL_OK, json_pack("{s:b, s:s, s:I, s:I, s:s, s:b}",
					"ok", 1, "what", what, "count", (json_int_t)n,
					"changed", (json_int_t)n, "scope", "fleet", "pending", !up));
	} else if (up) {
		geofw_ctl_writef(r->w, "ok: %s %zu (fleet: sent to bucket %s; in force here once "
				 "the bucket delivers it)\n", what, n, r->d->conf.fleet_bucket);
	} else {
		geofw_ctl_writef(r->w, "ok: %s %zu (fleet: NATS unreachable, change pending: kept "
				 "in rules.db and published when it answers)\n", what, n);
	}
	return GEOFW_CTL_OK;
}

struct fleet_probe {
	const struct geofw_cmd *cmd;
	bool fleet, local;	/* a prefix has a row of source fleet, of another */
};

static int fleet_row(const struct geofw_rule *rule, void *arg)
{
	struct fleet_probe *p = arg;
	bool asn = geofw_rule_kind_asn(rule->kind);
	size_t i, n = asn ? p->cmd->n_asns : p->cmd->n_cidrs;

	for (i = 0; i < n; i++) {
		if (asn ? rule->asn != p->cmd->asns[i]
			: geofw_cidr_cmp(&rule->prefix, &p->cmd->cidrs[i]) != 0)
			continue;
		if (!strcmp(rule->source, "fleet"))
			p->fleet = true;
		else
			p->local = true;
	}
	return 0;
}

/*
 * del-block without --fleet or --local, where the default scope is fleet
 * (and del-allow, unblock-asn, del-allow-asn alike):
 * this host's own rules go when it has some of the prefixes and the fleet
 * (as far as this host has heard) has none; otherwise the bucket's.  A
 * fleet rule still on its way here is thus deleted from the bucket.
 */
static bool del_goes_to_fleet(struct request *r, int kind)
{
	struct fleet_probe p = { .cmd = r->cmd };

	if (!fleet_scope(r))
		return false;
	if (r->cmd->scope == GEOFW_CMD_SCOPE_FLEET)
		return true;
	geofw_store_for_each_rule(r->d->store, kind, NULL, fleet_row, &p);
	return p.fleet || !p.local;
}

/* A change of fleet scope goes to the bucket (fleet.c), not the store; the
 * rows are freed. */
static int fleet_change(struct request *r, struct geofw_rule *rules, size_t n, bool del,
			const char *what)
{
	const struct geofw_cmd *cmd = r->cmd;
	int err;

	if (del && cmd->source)
		err = reply_error(r, GEOFW_CTL_REJECTED, "--source and --fleet exclude each "
				  "other (a fleet rule has source fleet)");
	else if (gfwd_fleet_queue(r->d, rules, n, del, r->err, sizeof(r->err)))
		err = change_failed(r);
	else
		err = reply_fleet(r, what, n);
	free(rules);
	return err;
}

/* Prefix rows into the store and their diff into the kernel (the savepoint
 * of the request holds both until the group commits); the rows are freed.
 * Non-zero: the caller answers with change_failed(). */
static int local_add(struct request *r, struct geofw_rule *rules, size_t n)
{
	int err = geofw_store_add(r->d->store, rules, n, 0, &r->diff, r->err, sizeof(r->err));

	if (!err)
		err = gfwd_rules_apply(r->d, &r->diff, r->err, sizeof(r->err));
	free(rules);
	return err;
}

static int cmd_add_block(struct request *r)
{
	const struct geofw_cmd *cmd = r->cmd;
	bool fleet = !cmd->has_ports && fleet_scope(r);
	const char *source = fleet ? "fleet" : cmd->source ? cmd->source : "cli";
	struct geofw_rule *rules;
	char buf[GEOFW_CIDR_STRLEN], ttl[32] = "never";

	if (fleet && cmd->source)
		return reply_error(r, GEOFW_CTL_REJECTED, "add-block: --source and --fleet exclude "
				   "each other (a fleet rule has source fleet; --local keeps "
				   "it on this host)");
	rules = block_rows(r, cmd->cidrs, cmd->n_cidrs, source);
	if (!rules)
		return reply_error(r, GEOFW_CTL_INTERNAL, "out of memory");
	if (fleet)
		return fleet_change(r, rules, cmd->n_cidrs, false, "blocked");
	if (local_add(r, rules, cmd->n_cidrs))
		return change_failed(r);
	if (cmd->ttl)
		geofw_duration_format(cmd->ttl, 0, ttl, sizeof(ttl));
	geofw_cidr_format(&cmd->cidrs[0], buf, sizeof(buf));
	log_info("uid %u pid %d: add-block %s%s (%s, expires %s, source %s)", r->who.uid,
		 r->who.pid, buf, cmd->n_cidrs > 1 ? " and more" : "",
		 geofw_action_name((unsigned)(cmd->action >= 0 ? cmd->action : GEOFW_ACT_DROP)), ttl,
		 source);
	return reply_ok(r, "blocked", cmd->n_cidrs, cmd->n_cidrs);
}

static int source_loses_rows(const char *source, void *ctx)
{
	struct request *r = ctx;

	gfwd_crowdsec_rows_removed(r->d, source);
	return gfwd_feed_rows_removed(r->d, source, r->err, sizeof(r->err));
}

int rows_removed_by_hand(struct request *r, const char *source)
{
	return source_loses_rows(source, r);
}

/* Before a removal of the command's prefixes (asns for the AS kinds): the
 * sources that fetch their rows hear which of them lose some. */
static int keys_removed_by_hand(struct request *r, int kind, bool asns)
{
	const struct geofw_cmd *cmd = r->cmd;
	int err;

	if (cmd->source)
		return rows_removed_by_hand(r, cmd->source);
	err = geofw_store_key_sources(r->d->store, kind, asns ? NULL : cmd->cidrs,
				      asns ? cmd->asns : NULL, asns ? cmd->n_asns : cmd->n_cidrs,
				      source_loses_rows, r);
	if (err && !r->err[0])
		snprintf(r->err, sizeof(r->err), "reading the rules' sources: %s", strerror(-err));
	return err;
}

/* del-block and del-allow remove the prefix's rows of every source (the
 * operator wants it gone), or of --source only. */
static int cmd_del(struct request *r, int kind)
{
	const struct geofw_cmd *cmd = r->cmd;
	char buf[GEOFW_CIDR_STRLEN];
	int err;

	if (del_goes_to_fleet(r, kind)) {
		struct geofw_rule *rules = block_rows(r, cmd->cidrs, cmd->n_cidrs, "fleet");
		size_t i;

		if (!rules)
			return reply_error(r, GEOFW_CTL_INTERNAL, "out of memory");
		for (i = 0; i < cmd->n_cidrs; i++)
			rules[i].kind = kind;
		return fleet_change(r, rules, cmd->n_cidrs, true,
				    kind == GEOFW_RULE_BLOCK ? "unblocked" : "disallowed");
	}
	err = keys_removed_by_hand(r, kind, false);
	if (!err)
		err = geofw_store_del(r->d->store, kind, cmd->cidrs, cmd->n_cidrs, cmd->source,
				      &r->diff, r->err, sizeof(r->err));
	if (!err)
		err = gfwd_rules_apply(r->d, &r->diff, r->err, sizeof(r->err));
	if (err)
		return change_failed(r);
	geofw_cidr_format(&cmd->cidrs[0], buf, sizeof(buf));
	log_info("uid %u pid %d: %s %s%s", r->who.uid, r->who.pid, cmd->desc->name, buf,
		 cmd->n_cidrs > 1 ? " and more" : "");
	return reply_ok(r, kind == GEOFW_RULE_BLOCK ? "unblocked" : "disallowed", cmd->n_cidrs,
			cmd->n_cidrs);
}

static int cmd_allow(struct request *r)
{
	const struct geofw_cmd *cmd = r->cmd;
	struct geofw_rule *rules = calloc(cmd->n_cidrs ? cmd->n_cidrs : 1, sizeof(*rules));
	char buf[GEOFW_CIDR_STRLEN];
	size_t i;

	if (!rules)
		return reply_error(r, GEOFW_CTL_INTERNAL, "out of memory");
	for (i = 0; i < cmd->n_cidrs; i++) {
		rules[i].kind = GEOFW_RULE_ALLOW;
		rules[i].prefix = cmd->cidrs[i];
		rules[i].comment = cmd->comment ? cmd->comment : "";
		rules[i].source = "cli";
		rules[i].uid = r->who.uid;
		rules[i].pid = r->who.pid;
		rules[i].created = (__u64)time(NULL);
	}
	if (fleet_scope(r))
		return fleet_change(r, rules, cmd->n_cidrs, false, "allowed");
	if (local_add(r, rules, cmd->n_cidrs))
		return change_failed(r);
	geofw_cidr_format(&cmd->cidrs[0], buf, sizeof(buf));
	log_info("uid %u pid %d: allow %s%s", r->who.uid, r->who.pid, buf,
		 cmd->n_cidrs > 1 ? " and more" : "");
	return reply_ok(r, "allowed", cmd->n_cidrs, cmd->n_cidrs);
}

/* ---- AS rules ------------------------------------------------------------------- */

/*
 * The rows of an AS change are in the savepoint: the AS tables are rebuilt
 * from config + store and switched now, so one request is one rebuild; a
 * refusal (the 255th AS, a bad database) leaves the tables in force and
 * undoes the rows.  Without ASNDatabase the rows stay, the answer and
 * status say that they are not enforced (exit status 1).
 */
static int asn_change_done(struct request *r, const char *what)
{
	const struct geofw_cmd *cmd = r->cmd;
	char why[GEOFW_CMD_ERRLEN];
	bool enforced;
	int err;

	r->asn = true;
	err = gfwd_asn_sync(r->d, false, "fwctl", r->err, sizeof(r->err));
	if (err)
		return change_failed(r);
	enforced = gfwd_asn_rules_enforced(r->d, NULL, why, sizeof(why));
	log_info("uid %u pid %d: %s AS%u%s%s%s", r->who.uid, r->who.pid, cmd->desc->name,
		 cmd->asns[0], cmd->n_asns > 1 ? " and more" : "", enforced ? "" : ": NOT enforced: ",
		 enforced ? "" : why);
	if (r->json) {
		json_t *o = json_pack("{s:b, s:s, s:I, s:I, s:b}", "ok", 1, "what", what,
				      "count", (json_int_t)cmd->n_asns,
				      "changed", (json_int_t)cmd->n_asns, "enforced", enforced);
		char *line = NULL;

		if (o && !enforced && geofw_json_set_text(o, "reason", why))
			o = (json_decref(o), NULL);
		line = o ? geofw_json_line(o) : NULL;
		json_decref(o);
		if (!line) {
			snprintf(r->err, sizeof(r->err), "out of memory");
			return change_failed(r);
		}
		geofw_ctl_writef(r->w, "%s", line);
		free(line);
	} else if (enforced) {
		geofw_ctl_writef(r->w, "ok: %s %zu\n", what, cmd->n_asns);
	} else {
		geofw_ctl_writef(r->w, "ok: %s %zu (stored, NOT enforced: %s)\n", what,
				 cmd->n_asns, why);
	}
	return enforced ? GEOFW_CTL_OK : GEOFW_CTL_DEGRADED;
}

/* block-asn and unblock-asn act on block rules, allow-asn and del-allow-asn
 * on allow rules. */
static int asn_kind(const struct request *r)
{
	return r->cmd->id == GEOFW_CMD_BLOCK_ASN || r->cmd->id == GEOFW_CMD_UNBLOCK_ASN ?
	       GEOFW_RULE_BLOCK_ASN : GEOFW_RULE_ALLOW_ASN;
}

int ctl_add_asn(struct request *r)
{
	int kind = asn_kind(r);
	const struct geofw_cmd *cmd = r->cmd;
	struct geofw_rule *rules = calloc(cmd->n_asns ? cmd->n_asns : 1, sizeof(*rules));
	__u64 now = (__u64)time(NULL);
	size_t i;
	int err;

	if (!rules)
		return reply_error(r, GEOFW_CTL_INTERNAL, "out of memory");
	if (cmd->has_ports) {
		free(rules);
		return port_add(r, kind == GEOFW_RULE_BLOCK_ASN ? GEOFW_PRULE_BLOCK :
				GEOFW_PRULE_ALLOW);
	}
	for (i = 0; i < cmd->n_asns; i++)
		rules[i] = (struct geofw_rule){
			.kind = kind, .asn = cmd->asns[i],
			.action = (__u8)(kind == GEOFW_RULE_BLOCK_ASN ? cmd->action : 0),
			.expires = kind == GEOFW_RULE_BLOCK_ASN && cmd->ttl ? now + cmd->ttl : 0,
			.comment = cmd->comment ? cmd->comment : "",
			.source = fleet_scope(r) ? "fleet" : "cli",
			.uid = r->who.uid, .pid = r->who.pid, .created = now,
		};
	/* The bucket's keys come back to every host as AS rules of source
	 * fleet (fleet.c), this one too. */
	if (fleet_scope(r)) {
		return fleet_change(r, rules, cmd->n_asns, false,
				    kind == GEOFW_RULE_BLOCK_ASN ? "blocked-asn" : "allowed-asn");
	}
	err = geofw_store_add(r->d->store, rules, cmd->n_asns, 0, &r->diff, r->err,
			      sizeof(r->err));
	free(rules);
	if (err)
		return change_failed(r);
	return asn_change_done(r, kind == GEOFW_RULE_BLOCK_ASN ? "blocked-asn" : "allowed-asn");
}

int ctl_del_asn(struct request *r)
{
	int kind = asn_kind(r);
	const struct geofw_cmd *cmd = r->cmd;

	if (cmd->has_ports)
		return port_del(r, kind == GEOFW_RULE_BLOCK_ASN ? GEOFW_PRULE_BLOCK :
				GEOFW_PRULE_ALLOW);
	if (del_goes_to_fleet(r, kind)) {
		struct geofw_rule *rules = calloc(cmd->n_asns ? cmd->n_asns : 1, sizeof(*rules));
		size_t i;

		if (!rules)
			return reply_error(r, GEOFW_CTL_INTERNAL, "out of memory");
		for (i = 0; i < cmd->n_asns; i++)
			rules[i] = (struct geofw_rule){ .kind = kind, .asn = cmd->asns[i],
							.source = "fleet" };
		return fleet_change(r, rules, cmd->n_asns, true, kind == GEOFW_RULE_BLOCK_ASN ?
				    "unblocked-asn" : "disallowed-asn");
	}
	if (keys_removed_by_hand(r, kind, true) ||
	    geofw_store_del_asn(r->d->store, kind, cmd->asns, cmd->n_asns, cmd->source, r->err,
				sizeof(r->err)))
		return change_failed(r);
	return asn_change_done(r, kind == GEOFW_RULE_BLOCK_ASN ? "unblocked-asn" :
			       "disallowed-asn");
}

/* ---- handlers (commands.c) ------------------------------------------------------ */

int ctl_add_block(struct request *r)
{
	return r->cmd->has_ports ? port_add(r, GEOFW_PRULE_BLOCK) : cmd_add_block(r);
}

int ctl_del_block(struct request *r)
{
	return r->cmd->has_ports ? port_del(r, GEOFW_PRULE_BLOCK) : cmd_del(r, GEOFW_RULE_BLOCK);
}

int ctl_allow(struct request *r)
{
	return r->cmd->has_ports ? port_add(r, GEOFW_PRULE_ALLOW) : cmd_allow(r);
}

int ctl_del_allow(struct request *r)
{
	return r->cmd->has_ports ? port_del(r, GEOFW_PRULE_ALLOW) : cmd_del(r, GEOFW_RULE_ALLOW);
}
