// SPDX-License-Identifier: GPL-2.0-only
/*
 * fwctl's requests.  Every change is all-or-nothing and durable before the
 * answer: the rule store writes the rows (a savepoint in the transaction of
 * its group), the kernel diff follows, and "ok" is sent after the COMMIT;
 * any failure rolls the rows back, puts the maps back as the rows say, and
 * fwctl is told why.
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <malloc.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "countries.h"
#include "feeds.h"
#include "fetcher.h"
#include "fleet.h"
#include "fleetval.h"
#include "ctl.h"
#include "geofwd.h"
#include "importlist.h"
#include "jsonlib.h"
#include "log.h"
#include "maps.h"
#include "msg.h"
#include "ratelimit.h"
#include "readfile.h"
#include "timeutil.h"

struct request {
	struct gfwd *d;
	struct geofw_ctl_writer *w;
	const struct geofw_cmd *cmd;
	struct ucred who;
	bool json;
	int fd;			/* passed descriptor (import), -1 if none */
	const char *file;	/* import: the name given by the client */
	char *input;		/* import: the descriptor's content, read by the loop */
	size_t input_len;
	char err[GEOFW_CMD_ERRLEN];

	/* group commit (gfwd_control_flush) */
	int status;
	bool pending;		/* answered "ok", sent once the group commits */
	bool countries;		/* changed the country policy */
	struct geofw_json_array list;	/* list -j: the rules, dumped as they come */
	bool asn;		/* changed AS rules (the AS tables follow the rows) */
	bool ports;		/* changed the port-scoped rules */
	struct geofw_kdiff diff;	/* what the change did to the maps */
};

/* ---- output helpers ---------------------------------------------------------- */

/* jansson's dump callback into the answer (jsonlib.h). */
static int put_ctl(const char *buf, size_t size, void *w)
{
	return geofw_ctl_write(w, buf, size) ? -1 : 0;
}

/* Text that is not our own (names, paths, comments): "" when absent, as
 * the answers have always had it. */
static json_t *answer_text(const char *s)
{
	return geofw_json_text(s ? s : "");
}

/* Send doc (jansson; NULL: building it ran out of memory) as one line. */
static char *json_answer(json_t *doc)
{
	char *line = doc ? geofw_json_line(doc) : NULL;

	json_decref(doc);
	return line;
}

static int reply_error(struct request *r, int status, const char *msg)
{
	char *line;

	if (!r->json) {
		geofw_ctl_writef(r->w, "%s\n", msg);
		return status;
	}
	/* The message may name files: foreign text. */
	line = json_answer(json_pack("{s:o}", "error", answer_text(msg)));
	/* Out of memory, the one answer that needs no allocation. */
	geofw_ctl_writef(r->w, "%s", line ? line : "{\"error\":\"out of memory\"}\n");
	free(line);
	return status;
}

/* A JSON answer; status, or an error when it could not be built. */
static int reply_json(struct request *r, int status, json_t *doc)
{
	char *line = json_answer(doc);

	if (!line)
		return reply_error(r, GEOFW_CTL_INTERNAL, "out of memory");
	geofw_ctl_write(r->w, line, strlen(line));
	free(line);
	return status;
}

static int reply_ok(struct request *r, const char *what, size_t n, size_t changed)
{
	if (r->json)
		return reply_json(r, GEOFW_CTL_OK, json_pack("{s:b, s:s, s:I, s:I}", "ok", 1,
					"what", what, "count", (json_int_t)n,
					"changed", (json_int_t)changed));
	geofw_ctl_writef(r->w, "ok: %s %zu\n", what, n);
	return GEOFW_CTL_OK;
}

/* ---- changes ------------------------------------------------------------------- */

/*
 * Every change runs inside the transaction of its group (gfwd_control_ready)
 * and a savepoint of its own: rows → kernel diff, then "ok" waits for the
 * group's COMMIT.  A failure undoes this change alone: rows back to the
 * savepoint, maps back to what the rows say.
 */
/* After a rollback: the AS tables back in line with the rows (rebuilt only
 * when this change had switched them already). */
static void asn_restore(struct gfwd *d)
{
	char err[GEOFW_CMD_ERRLEN];
	int ret = gfwd_asn_sync(d, false, "rollback", err, sizeof(err));

	if (ret)
		log_err(ret, "asn: cannot put the AS tables back after a failed change: %s", err);
}

static int change_failed(struct request *r)
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
 * the port tables rebuilt from the rows, or the change undone. */
static int ports_applied(struct request *r, int err)
{
	if (!err)
		err = gfwd_apply_ports(r->d, r->err, sizeof(r->err));
	return err ? change_failed(r) : GEOFW_CTL_OK;
}

/* Rows of kind for the command's prefixes or countries, then the tables. */
static int port_add(struct request *r, int kind)
{
	const struct geofw_cmd *cmd = r->cmd;
	size_t n = kind == GEOFW_PRULE_COUNTRY ? cmd->n_countries : cmd->n_cidrs, i;
	struct geofw_prule *rules = calloc(n ? n : 1, sizeof(*rules));
	char ports[GEOFW_PORTS_STRLEN];
	int err;

	if (!rules)
		return reply_error(r, GEOFW_CTL_INTERNAL, "out of memory");
	for (i = 0; i < n; i++) {
		struct geofw_prule *p = &rules[i];

		p->kind = kind;
		p->ports = cmd->ports;
		if (kind == GEOFW_PRULE_COUNTRY) {
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
	return reply_ok(r, kind == GEOFW_PRULE_ALLOW ? "allowed" : "blocked", n, n);
}

static int port_del(struct request *r, int kind)
{
	const struct geofw_cmd *cmd = r->cmd;
	size_t n = kind == GEOFW_PRULE_COUNTRY ? cmd->n_countries : cmd->n_cidrs, i;
	char target[GEOFW_CIDR_STRLEN], ports[GEOFW_PORTS_STRLEN];
	long got;
	int err = 0;

	r->ports = true;
	for (i = 0; i < n && !err; i++) {
		if (kind == GEOFW_PRULE_COUNTRY)
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
	return reply_ok(r, kind == GEOFW_PRULE_ALLOW ? "disallowed" : "unblocked", n, n);
}

/* ---- rate limits -------------------------------------------------------------------- */

/* ratelimit add / del: the store's row, then the tables rebuilt. */
static int cmd_rl_change(struct request *r, bool add)
{
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

static int cmd_rl_list(struct request *r)
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
static int cmd_port_policy(struct request *r)
{
	const struct geofw_cmd *cmd = r->cmd;
	size_t n = cmd->n_cidrs + cmd->n_countries, i;
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
		} else {
			p->is_country = true;
			p->country = cmd->countries[i - cmd->n_cidrs];
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
	return reply_ok(r, cmd->allow_only ? "port policy set" : "port policy removed",
			n ? n : 1, n ? n : 1);
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
static bool fleet_scope(const struct request *r)
{
	if (r->cmd->scope == GEOFW_CMD_SCOPE_DEFAULT)
		return gfwd_fleet_configured(r->d) &&
		       r->d->conf.fleet_scope == GEOFW_FLEET_SCOPE_FLEET;
	return r->cmd->scope == GEOFW_CMD_SCOPE_FLEET;
}

/* The change is in the outbox (committed with the group); it reaches this
 * host's maps when the bucket delivers it back. */
static int reply_fleet(struct request *r, const char *what, size_t n)
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

static int fleet_change(struct request *r, const struct geofw_rule *rules, size_t n, bool del,
			const char *what)
{
	const struct geofw_cmd *cmd = r->cmd;

	if (del && cmd->source)
		return reply_error(r, GEOFW_CTL_REJECTED, "--source and --fleet exclude each "
				   "other (a fleet rule has source fleet)");
	if (gfwd_fleet_queue(r->d, rules, n, del, r->err, sizeof(r->err)))
		return change_failed(r);
	return reply_fleet(r, what, n);
}

/* The fleet's state as one JSON object (fleet status -j, status -j). */
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

static int cmd_fleet_status(struct request *r)
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

/* ---- commands ------------------------------------------------------------------ */

static int cmd_ref(struct request *r)
{
	char *out = NULL;
	int ret = gfwd_ref_explain(r->d, r->cmd->ref, r->json, &out, r->err, sizeof(r->err));

	if (ret)
		return reply_error(r, GEOFW_CTL_REJECTED, ret == -ENOMEM ? "out of memory" : r->err);
	geofw_ctl_writef(r->w, "%s%s", out, r->json ? "\n" : "");
	free(out);
	return GEOFW_CTL_OK;
}

static int cmd_add_block(struct request *r)
{
	const struct geofw_cmd *cmd = r->cmd;
	bool fleet = !cmd->has_ports && fleet_scope(r);
	const char *source = fleet ? "fleet" : cmd->source ? cmd->source : "cli";
	struct geofw_rule *rules;
	char buf[GEOFW_CIDR_STRLEN], ttl[32] = "never";
	int err;

	if (fleet && cmd->source)
		return reply_error(r, GEOFW_CTL_REJECTED, "add-block: --source and --fleet exclude "
				   "each other (a fleet rule has source fleet; --local keeps "
				   "it on this host)");
	rules = block_rows(r, cmd->cidrs, cmd->n_cidrs, source);
	if (!rules)
		return reply_error(r, GEOFW_CTL_INTERNAL, "out of memory");
	if (fleet) {
		err = fleet_change(r, rules, cmd->n_cidrs, false, "blocked");
		free(rules);
		return err;
	}
	err = geofw_store_add(r->d->store, rules, cmd->n_cidrs, 0, &r->diff, r->err, sizeof(r->err));
	if (!err)
		err = gfwd_rules_apply(r->d, &r->diff, r->err, sizeof(r->err));
	free(rules);
	if (err)
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
		err = fleet_change(r, rules, cmd->n_cidrs, true,
				   kind == GEOFW_RULE_BLOCK ? "unblocked" : "disallowed");
		free(rules);
		return err;
	}
	err = geofw_store_del(r->d->store, kind, cmd->cidrs, cmd->n_cidrs, cmd->source, &r->diff,
			      r->err, sizeof(r->err));
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
	int err;

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
	if (fleet_scope(r)) {
		err = fleet_change(r, rules, cmd->n_cidrs, false, "allowed");
		free(rules);
		return err;
	}
	err = geofw_store_add(r->d->store, rules, cmd->n_cidrs, 0, &r->diff, r->err, sizeof(r->err));
	if (!err)
		err = gfwd_rules_apply(r->d, &r->diff, r->err, sizeof(r->err));
	free(rules);
	if (err)
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

static int cmd_add_asn(struct request *r, int kind)
{
	const struct geofw_cmd *cmd = r->cmd;
	struct geofw_rule *rules = calloc(cmd->n_asns ? cmd->n_asns : 1, sizeof(*rules));
	__u64 now = (__u64)time(NULL);
	size_t i;
	int err;

	if (!rules)
		return reply_error(r, GEOFW_CTL_INTERNAL, "out of memory");
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
		err = fleet_change(r, rules, cmd->n_asns, false,
				   kind == GEOFW_RULE_BLOCK_ASN ? "blocked-asn" : "allowed-asn");
		free(rules);
		return err;
	}
	err = geofw_store_add(r->d->store, rules, cmd->n_asns, 0, &r->diff, r->err,
			      sizeof(r->err));
	free(rules);
	if (err)
		return change_failed(r);
	return asn_change_done(r, kind == GEOFW_RULE_BLOCK_ASN ? "blocked-asn" : "allowed-asn");
}

static int cmd_del_asn(struct request *r, int kind)
{
	const struct geofw_cmd *cmd = r->cmd;

	if (del_goes_to_fleet(r, kind)) {
		struct geofw_rule *rules = calloc(cmd->n_asns ? cmd->n_asns : 1, sizeof(*rules));
		size_t i;
		int err;

		if (!rules)
			return reply_error(r, GEOFW_CTL_INTERNAL, "out of memory");
		for (i = 0; i < cmd->n_asns; i++)
			rules[i] = (struct geofw_rule){ .kind = kind, .asn = cmd->asns[i],
							.source = "fleet" };
		err = fleet_change(r, rules, cmd->n_asns, true, kind == GEOFW_RULE_BLOCK_ASN ?
				   "unblocked-asn" : "disallowed-asn");
		free(rules);
		return err;
	}
	if (geofw_store_del_asn(r->d->store, kind, cmd->asns, cmd->n_asns, cmd->source, r->err,
				sizeof(r->err)))
		return change_failed(r);
	return asn_change_done(r, kind == GEOFW_RULE_BLOCK_ASN ? "unblocked-asn" :
			       "disallowed-asn");
}

/* The runtime policy starts as a copy of the config's, then diverges. */
static struct geofw_store_countries policy_now(struct gfwd *d)
{
	struct geofw_store_countries c = *geofw_store_countries(d->store);
	int i;

	if (c.override)
		return c;
	memset(&c, 0, sizeof(c));
	c.override = true;
	c.mode = (__u8)d->conf.country_mode;
	c.action = (__u8)d->conf.country_action;
	for (i = 0; i < d->conf.n_countries; i++) {
		c.listed[d->conf.countries[i]] = true;
		c.country_action[d->conf.countries[i]] = c.action;
	}
	return c;
}

/*
 * The fleet's country policy is keys of the bucket (fleetval.h): country.CC
 * for each listed country, country.mode, country.action.  Listed means what
 * it means locally: blocked in block mode, allowed in allow mode (the mode
 * this host has from the bucket).
 */
static int fleet_countries(struct request *r)
{
	const struct geofw_cmd *cmd = r->cmd;
	const struct geofw_store_countries *fc = gfwd_fleet_countries(r->d);
	unsigned int mode = fc ? fc->mode : GEOFW_MODE_BLOCK_LISTED;
	const char *host = gfwd_fleet_host(r->d);
	__u64 now = (__u64)time(NULL);
	char key[GEOFW_FLEET_KEY_MAX], *v = NULL;
	size_t i;
	int err = 0;

	if (cmd->id == GEOFW_CMD_COUNTRY_MODE) {
		mode = (unsigned int)cmd->mode;
		v = geofw_fleet_value_make(mode == GEOFW_MODE_ALLOW_LISTED ? "allow" : "block", 0,
					   now, "", host);
		err = v ? gfwd_fleet_queue_key(r->d, "country.mode", v, r->err, sizeof(r->err))
			: -ENOMEM;
		free(v);
		if (!err && cmd->action >= 0) {
			v = geofw_fleet_value_make(geofw_action_name((unsigned)cmd->action), 0, now,
						   "", host);
			err = v ? gfwd_fleet_queue_key(r->d, "country.action", v, r->err,
						       sizeof(r->err)) : -ENOMEM;
			free(v);
		}
	}
	for (i = 0; !err && i < cmd->n_countries; i++) {
		struct geofw_rule c = { .kind = GEOFW_RULE_COUNTRY,
					.country = (__u8)cmd->countries[i] };
		bool block = cmd->id == GEOFW_CMD_BLOCK_COUNTRY;
		bool listed = mode == GEOFW_MODE_BLOCK_LISTED ? block : !block;

		if ((err = geofw_fleet_key(&c, key, sizeof(key))))
			break;
		v = NULL;
		if (listed && !(v = geofw_fleet_value_make(block && cmd->action >= 0
							   ? geofw_action_name((unsigned)cmd->action)
							   : "default", 0, now,
							   cmd->comment ? cmd->comment : "", host))) {
			err = -ENOMEM;
			break;
		}
		err = gfwd_fleet_queue_key(r->d, key, v, r->err, sizeof(r->err));
		free(v);
	}
	if (err == -ENOMEM)
		snprintf(r->err, sizeof(r->err), "out of memory");
	if (err)
		return change_failed(r);
	return reply_fleet(r, cmd->desc->name,
			   cmd->id == GEOFW_CMD_COUNTRY_MODE ? 1 : cmd->n_countries);
}

static int cmd_countries(struct request *r)
{
	const struct geofw_cmd *cmd = r->cmd;
	struct geofw_store_countries c = policy_now(r->d);
	char list[GEOFW_MAX_COUNTRIES * 3 + 1] = "";
	size_t i;
	int err;

	if (fleet_scope(r))
		return fleet_countries(r);
	if (cmd->id == GEOFW_CMD_COUNTRY_MODE) {
		c.mode = (__u8)cmd->mode;
		if (cmd->action >= 0)
			c.action = (__u8)cmd->action;
	}
	for (i = 0; i < cmd->n_countries; i++) {
		unsigned int id = cmd->countries[i];
		/* "block" means blocked whatever the mode: listed in block
		 * mode, not listed in allow mode. */
		bool block = cmd->id == GEOFW_CMD_BLOCK_COUNTRY;

		c.listed[id] = c.mode == GEOFW_MODE_BLOCK_LISTED ? block : !block;
		c.country_action[id] = block && cmd->action >= 0 ? (__u8)cmd->action : c.action;
		strcat(list, " ");
		strcat(list, geofw_country_code(id));
	}
	r->countries = true;
	err = geofw_store_set_countries(r->d->store, &c, r->who.uid, r->who.pid, r->err,
					sizeof(r->err));
	if (!err)
		err = gfwd_apply_countries(r->d);
	if (!err)
		err = gfwd_apply_kernel_config(r->d);
	if (err)
		return change_failed(r);
	log_info("uid %u pid %d: %s%s (mode %s)", r->who.uid, r->who.pid, cmd->desc->name, list,
		 c.mode == GEOFW_MODE_ALLOW_LISTED ? "allow" : "block");
	return reply_ok(r, cmd->desc->name, cmd->n_countries, cmd->n_countries);
}

/*
 * import --fleet: each prefix becomes a block key of the bucket with the
 * list's action, expiry and comment (the list's name when none is given);
 * the bucket has no lists, so --replace stays a local matter.
 */
static int fleet_import(struct request *r, const struct geofw_importlist *list,
			const struct geofw_rule *attrs, const char *source)
{
	const struct geofw_cmd *cmd = r->cmd;
	struct geofw_rule *rules;
	__u64 now = (__u64)time(NULL);
	size_t i;
	int err;

	if (cmd->replace)
		return reply_error(r, GEOFW_CTL_REJECTED, "import: --replace is for local lists "
				   "only (the fleet holds the prefixes, not the list): remove "
				   "fleet rules with del-block --fleet");
	rules = calloc(list->n ? list->n : 1, sizeof(*rules));
	if (!rules)
		return reply_error(r, GEOFW_CTL_INTERNAL, "out of memory");
	for (i = 0; i < list->n; i++) {
		rules[i] = *attrs;
		rules[i].kind = GEOFW_RULE_BLOCK;
		rules[i].prefix = list->v[i];
		rules[i].source = "fleet";
		rules[i].comment = cmd->comment ? cmd->comment : source;
		rules[i].created = now;
	}
	err = gfwd_fleet_queue(r->d, rules, list->n, false, r->err, sizeof(r->err));
	free(rules);
	if (err)
		return change_failed(r);
	return reply_fleet(r, "imported", list->n);
}

static int cmd_import(struct request *r)
{
	const struct geofw_cmd *cmd = r->cmd;
	struct geofw_importlist list = {};
	struct geofw_rule attrs = {};
	char source[GEOFW_STORE_SOURCE_MAX], *buf = NULL;
	const char *base;
	size_t len = 0, removed = 0;
	int err;

	if (!r->input)
		return reply_error(r, GEOFW_CTL_REJECTED, "import: no file descriptor was passed");
	buf = r->input;		/* read by the event loop (import_*) */
	len = r->input_len;
	r->input = NULL;
	base = strrchr(cmd->file, '/') ? strrchr(cmd->file, '/') + 1 : cmd->file;
	if (!strcmp(base, "-"))
		base = "stdin";
	snprintf(source, sizeof(source), "import:%s", base);
	err = geofw_importlist_parse_buf(buf, len, base, cmd->force ? GEOFW_IMPORT_FORCE : 0,
					 &list, r->err, sizeof(r->err));
	free(buf);
	if (err)
		return reply_error(r, GEOFW_CTL_REJECTED, r->err);

	/* The list is one row: written and replaced as a whole. */
	attrs.action = (__u8)(cmd->action >= 0 ? cmd->action : GEOFW_ACT_DROP);
	attrs.expires = cmd->ttl ? (__u64)time(NULL) + cmd->ttl : 0;
	attrs.comment = cmd->comment ? cmd->comment : "";
	attrs.uid = r->who.uid;
	attrs.pid = r->who.pid;
	if (cmd->scope == GEOFW_CMD_SCOPE_FLEET) {
		err = fleet_import(r, &list, &attrs, source);
		geofw_importlist_free(&list);
		return err;
	}
	err = geofw_store_import(r->d->store, source, list.v, list.n, &attrs, cmd->replace,
				 &removed, &r->diff, r->err, sizeof(r->err));
	if (!err)
		err = gfwd_rules_apply(r->d, &r->diff, r->err, sizeof(r->err));
	if (err) {
		geofw_importlist_free(&list);
		return change_failed(r);
	}
	log_info("uid %u pid %d: import %s: %zu entries (%zu duplicates skipped, %zu removed)",
		 r->who.uid, r->who.pid, source, list.n, list.duplicates, removed);
	if (r->json) {
		reply_json(r, GEOFW_CTL_OK, json_pack("{s:b, s:s, s:o, s:I, s:I, s:I}", "ok", 1,
				"what", "imported", "source", answer_text(source),
				"count", (json_int_t)list.n, "duplicates", (json_int_t)list.duplicates,
				"replaced", (json_int_t)removed));
	} else {
		geofw_ctl_writef(r->w, "ok: imported %zu entries from %s (%zu duplicates skipped%s)\n",
				 list.n, base, list.duplicates, cmd->replace ? ", previous list replaced" : "");
	}
	geofw_importlist_free(&list);
	return GEOFW_CTL_OK;
}

static int cmd_reload(struct request *r)
{
	char msg[GEOFW_ERRLEN] = "";

	log_info("uid %u pid %d: reload", r->who.uid, r->who.pid);
	if (gfwd_reload(r->d, "fwctl reload", msg, sizeof(msg)))
		return reply_error(r, GEOFW_CTL_REJECTED, msg);
	return reply_ok(r, "reloaded", 1, 1);
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
		geofw_duration_format(b->expires > (__u64)now ? b->expires - (__u64)now : 0, 0, left,
				      sizeof(left));
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

		geofw_duration_format(a->expires > (__u64)now ? a->expires - (__u64)now : 0, 0, left,
				      sizeof(left));
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
		json_t *listed = json_array();

		for (id = 1; id < GEOFW_MAX_COUNTRIES; id++)
			if (c->listed[id])
				geofw_json_push(&listed, json_string(geofw_country_code(id)));
		geofw_json_array_add(&r->list, json_pack("{s:s, s:s, s:s, s:s, s:o}",
			"type", "countries", "mode", c->mode == GEOFW_MODE_ALLOW_LISTED ? "allow" : "block",
			"action", geofw_action_name(c->action), "source", source, "listed", listed));
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
		geofw_duration_format(b->expires > (__u64)now ? b->expires - (__u64)now : 0, 0, left,
				      sizeof(left));
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
		geofw_duration_format(p->expires > (__u64)now ? p->expires - (__u64)now : 0, 0, left,
				      sizeof(left));
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

static int cmd_list(struct request *r)
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

static int cmd_export(struct request *r)
{
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
	return ret ? read_failed(r, ret) : GEOFW_CTL_OK;
}

static int cmd_del_source(struct request *r)
{
	long n = geofw_store_del_source(r->d->store, r->cmd->source, &r->diff, r->err,
					sizeof(r->err));
	int err = n < 0 ? (int)n : 0;

	if (!err && !n)
		err = geofw_errf(r->err, sizeof(r->err), -ENOENT, "source %s has no rules",
				 r->cmd->source);
	if (!err)
		err = gfwd_rules_apply(r->d, &r->diff, r->err, sizeof(r->err));
	/* The source's AS rules went too: rebuild when the set changed. */
	r->asn = true;
	if (!err)
		err = gfwd_asn_sync(r->d, false, "del-source", r->err, sizeof(r->err));
	if (err)
		return change_failed(r);
	/* Countries the source blocked (CrowdSec) go too. */
	r->countries = true;
	gfwd_country_blocks_sync(r->d);
	log_info("uid %u pid %d: del-source %s: %ld rules", r->who.uid, r->who.pid,
		 r->cmd->source, n);
	return reply_ok(r, "removed", (size_t)n, (size_t)n);
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

static int cmd_status(struct request *r)
{
	struct gfwd *d = r->d;
	struct geofw_store_counts n;
	struct geofw_config cfg = {};
	char country_why[sizeof(d->db.error) + 256], asn_why[sizeof(d->asn.error) + 64];
	bool country_ok = gfwd_country_policy_enforced(d, country_why, sizeof(country_why));
	size_t asn_wanted, asn_blocked, asn_allowed;
	bool asn_ok = gfwd_asn_rules_enforced(d, &asn_wanted, asn_why, sizeof(asn_why));
	int i, unprotected = 0, refused = 0;
	int degraded;

	for (i = 0; i < d->n_ifaces; i++) {
		unprotected += !gfwd_iface_protected(&d->ifaces[i]);
		refused += d->ifaces[i].program_refused;
	}
	/* Anything configured but not enforced, or not by this geofwd's
	 * program, or a source that fails, makes status exit 1. */
	degraded = !country_ok || !asn_ok || unprotected || refused || gfwd_sources_failing(d);
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
			" s:{s:I, s:I, s:I, s:I, s:I, s:I}, s:o, s:o, s:o}",
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
			"asn_rules", asn_status_json(d, &n, asn_wanted, asn_ok, asn_why),
			"sources", gfwd_sources_json(d), "fleet", fleet_json(d)));
	}
	/* First line: the operator must not miss a policy that is not in force. */
	if (!country_ok)
		geofw_ctl_writef(r->w, "country policy: NOT enforced (IP rules are): %s\n",
				 country_why);
	if (!asn_ok)
		geofw_ctl_writef(r->w, "AS rules: NOT enforced: %s\n", asn_why);
	if (unprotected)
		geofw_ctl_writef(r->w, "interfaces: %d configured interface%s NOT protected (see below)\n",
				 unprotected, unprotected > 1 ? "s" : "");
	if (refused)
		geofw_ctl_writef(r->w, "interfaces: a new XDP program was refused on %d interface%s "
				 "(canary frames, see below)\n", refused, refused > 1 ? "s" : "");
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

/* ---- dispatch: one group of clients, one transaction ----------------------------- */

/* One client connection, from the request to the answer. */
struct conn {
	struct gfwd *d;
	int sock;
	struct geofw_ctl_writer w;
	struct geofw_ctl_request req;
	struct geofw_cmd cmd;
	struct request r;
	char refused[GEOFW_CMD_ERRLEN];	/* not authorized: why */
};

static void conn_free(struct conn *c)
{
	bool big = c->r.diff.cap > 65536;

	geofw_cmd_free(&c->cmd);
	geofw_ctl_request_free(&c->req);
	geofw_kdiff_free(&c->r.diff);
	free(c->r.input);
	close(c->sock);
	free(c);
	/* An import's diff and list copies are tens of MB: give them back. */
	if (big)
		malloc_trim(0);
}

/*
 * Requests whose input is complete wait in the round until the event loop
 * has handled everything epoll reported (gfwd_control_flush): the changes of
 * one round share one COMMIT, i.e. one fsync (group commit).
 */
#define GROUP_MAX	64	/* requests per round (and per COMMIT) */

static struct conn *round_q[GROUP_MAX];
static int round_n;

static void conn_run(struct conn *c)
{
	if (round_n == GROUP_MAX)
		gfwd_control_flush(c->d);
	round_q[round_n++] = c;
}

/*
 * Imports: the passed descriptor is read by the event loop, a chunk per
 * wakeup, so a client that writes slowly (or never) holds up nobody else.
 * The whole input must arrive within GFWD_IMPORT_DEADLINE_SEC and hold at
 * most GFWD_IMPORT_MAX_BYTES; at most GFWD_IMPORTS_MAX are read at once,
 * which bounds the memory clients can make geofwd hold.
 */
#define GFWD_IMPORT_MAX_BYTES	((size_t)64 << 20)	/* geofwd(8), fwctl(8) */
#define GFWD_IMPORT_DEADLINE_SEC 20			/* below fwctl's 30 s timeout */
#define GFWD_IMPORTS_MAX	2
#define GFWD_IMPORT_CHUNK	((size_t)1 << 20)	/* bytes read per wakeup */

/*
 * Requests, too: a connection joins the epoll set until its request is
 * there (fwctl sends it right after connecting), for GFWD_REQUEST_WAIT_MS at
 * most; GFWD_WAITING_MAX may wait at once, and when more come the one that
 * has waited longest is dropped, so connections that never send anything
 * cannot keep others out.
 */
#define GFWD_REQUEST_WAIT_MS	5000
#define GFWD_WAITING_MAX	16

enum pending_kind {
	P_REQUEST,		/* connected, request not read yet */
	P_INPUT,		/* import: reading the passed descriptor */
};

struct gfwd_import {
	struct conn *c;
	enum pending_kind kind;
	int timer_fd;		/* the deadline, one shot */
	bool polled;		/* P_INPUT: the descriptor is in the epoll set */
	size_t cap;
	struct gfwd_import *next;	/* newest first */
};

static struct gfwd_import *imports;	/* waiting connections and imports being read */

static int n_pending(enum pending_kind kind)
{
	struct gfwd_import *im;
	int n = 0;

	for (im = imports; im; im = im->next)
		n += im->kind == kind;
	return n;
}

/* A pending entry with its deadline in ms; NULL when out of resources. */
static struct gfwd_import *pending_new(struct conn *c, enum pending_kind kind, long ms)
{
	struct itimerspec its = { .it_value.tv_sec = ms / 1000,
				  .it_value.tv_nsec = (ms % 1000) * 1000000 };
	struct epoll_event ev = { .events = EPOLLIN };
	struct gfwd_import *im = calloc(1, sizeof(*im));

	if (!im)
		return NULL;
	im->c = c;
	im->kind = kind;
	im->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	ev.data.fd = im->timer_fd;
	if (im->timer_fd < 0 || timerfd_settime(im->timer_fd, 0, &its, NULL) ||
	    epoll_ctl(c->d->epfd, EPOLL_CTL_ADD, im->timer_fd, &ev)) {
		if (im->timer_fd >= 0)
			close(im->timer_fd);
		free(im);
		return NULL;
	}
	im->next = imports;
	imports = im;
	return im;
}

/* Out of the list and the epoll set; the connection stays. */
static struct conn *pending_take(struct gfwd_import *im)
{
	struct gfwd_import **pp;
	struct conn *c = im->c;

	for (pp = &imports; *pp; pp = &(*pp)->next)
		if (*pp == im) {
			*pp = im->next;
			break;
		}
	if (im->polled)
		epoll_ctl(c->d->epfd, EPOLL_CTL_DEL, c->r.fd, NULL);
	epoll_ctl(c->d->epfd, EPOLL_CTL_DEL, c->sock, NULL);
	epoll_ctl(c->d->epfd, EPOLL_CTL_DEL, im->timer_fd, NULL);
	close(im->timer_fd);
	free(im);
	return c;
}

static void import_end(struct gfwd_import *im)
{
	conn_free(pending_take(im));
}

static void import_fail(struct gfwd_import *im, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void import_fail(struct gfwd_import *im, const char *fmt, ...)
{
	struct request *r = &im->c->r;
	char msg[GEOFW_CMD_ERRLEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_warn("uid %u pid %d: import %s refused: %s", r->who.uid, r->who.pid,
		 im->c->cmd.file, msg);
	geofw_ctl_writer_end(&im->c->w, reply_error(r, GEOFW_CTL_REJECTED, msg));
	import_end(im);
}

/*
 * Read what is there, at most `budget` bytes.  1: the input is complete
 * (end of file), 0: more to come, -1: the import was ended (refused).
 */
static int import_read(struct gfwd_import *im, size_t budget)
{
	struct request *r = &im->c->r;
	int ret;

	ret = geofw_read_some(r->fd, &r->input, &r->input_len, &im->cap, GFWD_IMPORT_MAX_BYTES,
			      budget);
	if (ret >= 0)
		return ret;
	if (ret == -EFBIG)
		import_fail(im, "import: %s is larger than %zu MiB, the most geofwd "
			    "reads from one import; split the list", im->c->cmd.file,
			    GFWD_IMPORT_MAX_BYTES >> 20);
	else if (ret == -ENOMEM)
		import_fail(im, "import: %s: out of memory after %zu bytes",
			    im->c->cmd.file, r->input_len);
	else
		import_fail(im, "import: reading %s: %s", im->c->cmd.file, strerror(-ret));
	return -1;
}

/* The whole input is in: the import itself, then the answer. */
static void import_done(struct gfwd_import *im)
{
	conn_run(pending_take(im));
}

/* Start reading the descriptor of an import; the connection is ours now. */
static void import_start(struct conn *c)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct gfwd_import *im;
	struct stat st;
	int r;

	if (n_pending(P_INPUT) >= GFWD_IMPORTS_MAX) {
		char msg[128];

		snprintf(msg, sizeof(msg), "import: geofwd is already reading %d imports; try "
			 "again when they are done", GFWD_IMPORTS_MAX);
		geofw_ctl_writer_end(&c->w, reply_error(&c->r, GEOFW_CTL_REJECTED, msg));
		conn_free(c);
		return;
	}
	im = pending_new(c, P_INPUT, GFWD_IMPORT_DEADLINE_SEC * 1000L);
	if (!im) {
		geofw_ctl_writer_end(&c->w, reply_error(&c->r, GEOFW_CTL_INTERNAL,
							"import: out of resources"));
		conn_free(c);
		return;
	}
	if (!fstat(c->r.fd, &st) && S_ISREG(st.st_mode) &&
	    (unsigned long long)st.st_size > GFWD_IMPORT_MAX_BYTES) {
		import_fail(im, "import: %s is larger than %zu MiB, the most geofwd reads from "
			    "one import; split the list", c->cmd.file, GFWD_IMPORT_MAX_BYTES >> 20);
		return;
	}
	fcntl(c->r.fd, F_SETFL, fcntl(c->r.fd, F_GETFL) | O_NONBLOCK);
	ev.data.fd = c->r.fd;
	if (epoll_ctl(c->d->epfd, EPOLL_CTL_ADD, c->r.fd, &ev)) {
		if (errno != EPERM) {
			import_fail(im, "import: cannot wait for %s: %s", c->cmd.file,
				    strerror(errno));
			return;
		}
		/* Files and devices that cannot be polled never wait: read
		 * them now, the size cap bounds how long that takes. */
		r = import_read(im, GFWD_IMPORT_MAX_BYTES + 1);
		if (r > 0)
			import_done(im);
		else if (!r)
			import_fail(im, "import: %s: no end of input", c->cmd.file);
		return;
	}
	im->polled = true;
	/* The client's socket: readable only when the client goes away. */
	ev.events = EPOLLIN | EPOLLRDHUP;
	ev.data.fd = c->sock;
	if (epoll_ctl(c->d->epfd, EPOLL_CTL_ADD, c->sock, &ev))
		import_fail(im, "import: cannot wait for %s: %s", c->cmd.file, strerror(errno));
}

static void conn_request(struct conn *c);

static bool request_waiting(int sock)
{
	struct pollfd p = { .fd = sock, .events = POLLIN };

	return poll(&p, 1, 0) == 1 && (p.revents & (POLLIN | POLLHUP));
}

bool gfwd_control_event(struct gfwd *d, int fd)
{
	struct gfwd_import *im;
	int r;

	(void)d;
	for (im = imports; im; im = im->next) {
		struct conn *c = im->c;

		if (im->kind == P_REQUEST) {
			if (fd == c->sock) {
				conn_request(pending_take(im));
				return true;
			}
			if (fd == im->timer_fd) {
				log_warn("control: no request from pid %d within %d ms; closed",
					 c->r.who.pid, GFWD_REQUEST_WAIT_MS);
				conn_free(pending_take(im));
				return true;
			}
			continue;
		}
		if (fd == c->r.fd) {
			r = import_read(im, GFWD_IMPORT_CHUNK);
			if (r > 0)
				import_done(im);
			return true;
		}
		if (fd == im->timer_fd) {
			import_fail(im, "import: %s: the whole input did not arrive within %d s "
				    "(%zu bytes read); geofwd does not wait longer for one import",
				    c->cmd.file, GFWD_IMPORT_DEADLINE_SEC, c->r.input_len);
			return true;
		}
		if (fd == c->sock) {
			log_warn("uid %u pid %d: import %s: the client left before the end of "
				 "its input; nothing imported", c->r.who.uid, c->r.who.pid,
				 c->cmd.file);
			import_end(im);
			return true;
		}
	}
	return false;
}

void gfwd_control_close(struct gfwd *d)
{
	gfwd_control_flush(d);
	while (imports) {
		if (imports->kind == P_REQUEST)
			conn_free(pending_take(imports));
		else
			import_fail(imports, "import: geofwd is stopping; nothing imported");
	}
}

/* Wait in the event loop for the request; false: could not, c is the
 * caller's to free. */
static bool wait_request(struct conn *c)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.fd = c->sock };
	struct gfwd_import *im, *oldest = NULL;

	if (n_pending(P_REQUEST) >= GFWD_WAITING_MAX) {
		for (im = imports; im; im = im->next)
			if (im->kind == P_REQUEST)
				oldest = im;	/* newest first: the last is the oldest */
		if (oldest) {
			log_warn("control: %d connections without a request; closing the one "
				 "of pid %d", GFWD_WAITING_MAX, oldest->c->r.who.pid);
			conn_free(pending_take(oldest));
		}
	}
	im = pending_new(c, P_REQUEST, GFWD_REQUEST_WAIT_MS);
	if (!im)
		return false;
	if (epoll_ctl(c->d->epfd, EPOLL_CTL_ADD, c->sock, &ev)) {
		pending_take(im);
		return false;
	}
	return true;
}

static void control_handle(struct gfwd *d, int sock)
{
	struct conn *c = calloc(1, sizeof(*c));
	struct request *r;
	struct group *gr = getgrnam(d->conf.socket_group);
	char err[GEOFW_CMD_ERRLEN];

	if (!c) {
		close(sock);
		return;
	}
	c->d = d;
	c->sock = sock;
	c->req.fd = -1;
	r = &c->r;
	*r = (struct request){ .d = d, .w = &c->w, .cmd = &c->cmd, .fd = -1 };
	geofw_ctl_writer_init(&c->w, sock);
	/* A refusal is answered once the request is read, in JSON if it
	 * asks for JSON; nothing of the request is acted on. */
	if (geofw_ctl_authorize(sock, gr ? gr->gr_gid : (gid_t)-1, NULL, err, sizeof(err)))
		snprintf(c->refused, sizeof(c->refused), "%s", err);
	geofw_ctl_peer_cred(sock, &r->who);
	/* fwctl sends its request right after connecting: usually it is
	 * there already, and waiting for it would cost a loop round. */
	if (request_waiting(sock) || !wait_request(c))
		conn_request(c);	/* (or out of resources: read it now) */
}

/* The request is there: read it, then answer or start reading an import. */
static void conn_request(struct conn *c)
{
	struct request *r = &c->r;
	char err[GEOFW_CMD_ERRLEN];

	if (geofw_ctl_recv_request(c->sock, &c->req, err, sizeof(err))) {
		log_warn("control: bad request from pid %d: %s", r->who.pid, err);
		geofw_ctl_writef(&c->w, "%s\n", err);
		geofw_ctl_writer_end(&c->w, GEOFW_CTL_REJECTED);
		goto out;
	}
	r->json = c->req.flags & GEOFW_CTL_F_JSON;
	if (c->refused[0]) {
		log_warn("control: refused: %s", c->refused);
		geofw_ctl_writer_end(&c->w, reply_error(r, GEOFW_CTL_REJECTED, c->refused));
		goto out;
	}
	r->fd = c->req.fd;
	if (geofw_cmd_parse(c->req.argc, c->req.argv, &c->cmd, err, sizeof(err))) {
		geofw_ctl_writer_end(&c->w, reply_error(r, GEOFW_CTL_REJECTED, err));
		goto out;
	}
	r->json |= c->cmd.json;
	if (c->cmd.id == GEOFW_CMD_IMPORT && r->fd >= 0) {
		import_start(c);
		return;
	}
	conn_run(c);
	return;
out:
	conn_free(c);
}

static bool is_change(enum geofw_cmd_id id)
{
	switch (id) {
	case GEOFW_CMD_ADD_BLOCK: case GEOFW_CMD_DEL_BLOCK: case GEOFW_CMD_ALLOW:
	case GEOFW_CMD_DEL_ALLOW: case GEOFW_CMD_BLOCK_COUNTRY: case GEOFW_CMD_UNBLOCK_COUNTRY:
	case GEOFW_CMD_COUNTRY_MODE: case GEOFW_CMD_IMPORT: case GEOFW_CMD_DEL_SOURCE:
	case GEOFW_CMD_BLOCK_ASN: case GEOFW_CMD_UNBLOCK_ASN: case GEOFW_CMD_ALLOW_ASN:
	case GEOFW_CMD_DEL_ALLOW_ASN:
	case GEOFW_CMD_PORT_POLICY: case GEOFW_CMD_RL_ADD: case GEOFW_CMD_RL_DEL:
		return true;
	default:
		return false;
	}
}

static int execute(struct request *r)
{
	switch (r->cmd->id) {
	case GEOFW_CMD_ADD_BLOCK:
		return r->cmd->has_ports ? port_add(r, GEOFW_PRULE_BLOCK) : cmd_add_block(r);
	case GEOFW_CMD_DEL_BLOCK:
		return r->cmd->has_ports ? port_del(r, GEOFW_PRULE_BLOCK) :
					   cmd_del(r, GEOFW_RULE_BLOCK);
	case GEOFW_CMD_ALLOW:
		return r->cmd->has_ports ? port_add(r, GEOFW_PRULE_ALLOW) : cmd_allow(r);
	case GEOFW_CMD_DEL_ALLOW:
		return r->cmd->has_ports ? port_del(r, GEOFW_PRULE_ALLOW) :
					   cmd_del(r, GEOFW_RULE_ALLOW);
	case GEOFW_CMD_PORT_POLICY:	return cmd_port_policy(r);
	case GEOFW_CMD_RL_ADD:		return cmd_rl_change(r, true);
	case GEOFW_CMD_RL_DEL:		return cmd_rl_change(r, false);
	case GEOFW_CMD_RL_LIST:		return cmd_rl_list(r);
	case GEOFW_CMD_BLOCK_COUNTRY:
		if (r->cmd->has_ports)
			return port_add(r, GEOFW_PRULE_COUNTRY);
		return cmd_countries(r);
	case GEOFW_CMD_UNBLOCK_COUNTRY:
		if (r->cmd->has_ports)
			return port_del(r, GEOFW_PRULE_COUNTRY);
		/* fall through */
	case GEOFW_CMD_COUNTRY_MODE:	return cmd_countries(r);
	case GEOFW_CMD_IMPORT:		return cmd_import(r);
	case GEOFW_CMD_DEL_SOURCE:	return cmd_del_source(r);
	case GEOFW_CMD_BLOCK_ASN:	return cmd_add_asn(r, GEOFW_RULE_BLOCK_ASN);
	case GEOFW_CMD_UNBLOCK_ASN:	return cmd_del_asn(r, GEOFW_RULE_BLOCK_ASN);
	case GEOFW_CMD_ALLOW_ASN:	return cmd_add_asn(r, GEOFW_RULE_ALLOW_ASN);
	case GEOFW_CMD_DEL_ALLOW_ASN:	return cmd_del_asn(r, GEOFW_RULE_ALLOW_ASN);
	case GEOFW_CMD_RELOAD:		return cmd_reload(r);
	case GEOFW_CMD_LIST:		return cmd_list(r);
	case GEOFW_CMD_EXPORT:		return cmd_export(r);
	case GEOFW_CMD_STATUS:		return cmd_status(r);
	case GEOFW_CMD_FLEET_STATUS:	return cmd_fleet_status(r);
	case GEOFW_CMD_FEED_LIST:
	case GEOFW_CMD_FEED_REFRESH:
	case GEOFW_CMD_FEED_CONFIRM:
		if (gfwd_feed_command(r->d, r->cmd, r->json, r->w, r->err, sizeof(r->err)))
			return reply_error(r, GEOFW_CTL_REJECTED, r->err);
		return GEOFW_CTL_OK;
	case GEOFW_CMD_REF:		return cmd_ref(r);
	default:
		return reply_error(r, GEOFW_CTL_REJECTED,
				   "this command is answered by fwctl itself, not by geofwd");
	}
}

/*
 * COMMIT the group's changes, then answer them: "ok" only now that their
 * rows are on disk.  A failed COMMIT undoes every change of the group, the
 * maps included, and each of them hears why.
 */
static void flush(struct gfwd *d, struct conn **q, int n)
{
	char err[GEOFW_ERRLEN];
	bool countries = false, asn = false, ports = false;
	int i, ret = 0;

	if (geofw_store_in_txn(d->store) && (ret = geofw_store_commit(d->store, err, sizeof(err)))) {
		log_err(ret, "rules: %s", err);
		geofw_store_rollback(d->store);
	}
	for (i = 0; i < n; i++) {
		struct request *r;

		if (!q[i])
			continue;
		r = &q[i]->r;
		if (r->pending && ret) {
			gfwd_rules_restore(d, &r->diff);
			countries |= r->countries;
			asn |= r->asn;
			ports |= r->ports;
			r->w->len = 0;
			snprintf(r->err, sizeof(r->err), "not saved, nothing changed: %s", err);
			r->status = reply_error(r, GEOFW_CTL_REJECTED, r->err);
		}
		geofw_ctl_writer_end(r->w, r->status);
		conn_free(q[i]);
		q[i] = NULL;
	}
	if (countries) {
		gfwd_apply_countries(d);
		gfwd_apply_kernel_config(d);
	}
	if (asn)
		asn_restore(d);
	if (ports)
		gfwd_apply_ports(d, NULL, 0);
	if (!ret)
		gfwd_arm_sweep(d);
}

/* One change inside the group's transaction, in a savepoint of its own. */
static void run_change(struct request *r)
{
	char err[GEOFW_ERRLEN];
	int ret = 0;

	if (!geofw_store_in_txn(r->d->store))
		ret = geofw_store_begin(r->d->store, err, sizeof(err));
	if (!ret)
		ret = geofw_store_savepoint(r->d->store, err, sizeof(err));
	if (ret) {
		snprintf(r->err, sizeof(r->err), "%s", err);
		r->status = reply_error(r, GEOFW_CTL_REJECTED, r->err);
		return;
	}
	r->status = execute(r);
	/* Degraded: done and stored, but not all enforced (AS rules without
	 * ASNDatabase). */
	if (r->status != GEOFW_CTL_OK && r->status != GEOFW_CTL_DEGRADED) {
		/* A refusal that did not go through change_failed() (which
		 * already did this) must not leave its savepoint open: the
		 * group's COMMIT would fail for every change in it. */
		geofw_store_rollback_to(r->d->store);
	} else {
		if (geofw_store_release(r->d->store, err, sizeof(err))) {
			geofw_store_rollback_to(r->d->store);
			gfwd_rules_restore(r->d, &r->diff);
			if (r->asn)
				asn_restore(r->d);
			if (r->ports)
				gfwd_apply_ports(r->d, NULL, 0);
			r->w->len = 0;
			r->status = reply_error(r, GEOFW_CTL_REJECTED, err);
			return;
		}
		r->pending = true;
	}
}

static bool more_waiting(int lsock)
{
	struct pollfd p = { .fd = lsock, .events = POLLIN };

	return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

void gfwd_control_ready(struct gfwd *d)
{
	int sock, n = 0;

	/* Everyone already waiting is accepted now, so that their changes
	 * can join the same round. */
	do {
		sock = geofw_ctl_accept(d->ctlfd, 5000);
		if (sock < 0)
			break;
		control_handle(d, sock);
	} while (++n < GROUP_MAX && more_waiting(d->ctlfd));
}

void gfwd_control_flush(struct gfwd *d)
{
	struct conn **q = round_q;
	int n = round_n, i;

	if (!n)
		return;
	round_n = 0;
	for (i = 0; i < n; i++) {
		struct request *r = &q[i]->r;

		if (is_change(r->cmd->id)) {
			run_change(r);
			continue;
		}
		/* Reads and reloads see only committed rules. */
		flush(d, q, i);
		r->status = execute(r);
	}
	flush(d, q, n);
	/* The WAL is copied into rules.db once nobody waits for an answer. */
	geofw_store_checkpoint(d->store);
}
