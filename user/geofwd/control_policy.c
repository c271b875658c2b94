// SPDX-License-Identifier: GPL-2.0-only
/*
 * The changes of the policy as a whole: the country policy, imports of
 * block lists, reload, removing a source's rules.
 */
#include <bpf/bpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "control.h"
#include "countries.h"
#include "fleet.h"
#include "fleetval.h"
#include "geofwd.h"
#include "importlist.h"
#include "jsonlib.h"
#include "log.h"
#include "msg.h"

/* The runtime policy starts as a copy of the config's, then diverges. */
struct geofw_store_countries policy_now(struct gfwd *d)
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

int cmd_countries(struct request *r)
{
	const struct geofw_cmd *cmd = r->cmd;
	struct geofw_store_countries c = policy_now(r->d), before = c;
	char list[GEOFW_MAX_COUNTRIES * 3 + 1] = "";
	size_t i, changed;
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
	/* What the change changed: a country already so (unblock-country of
	 * one not listed) is counted but did not change; country-mode is
	 * one setting, changed or not. */
	if (cmd->id == GEOFW_CMD_COUNTRY_MODE)
		return reply_ok(r, cmd->desc->name, 1,
				c.mode != before.mode || c.action != before.action);
	changed = 0;
	for (i = 0; i < cmd->n_countries; i++) {
		unsigned int id = cmd->countries[i];

		changed += c.listed[id] != before.listed[id] ||
			   (c.listed[id] && c.country_action[id] != before.country_action[id]);
	}
	return reply_ok(r, cmd->desc->name, cmd->n_countries, changed);
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

int ctl_import(struct request *r)
{
	const struct geofw_cmd *cmd = r->cmd;
	struct geofw_importlist list = {};
	struct geofw_importlist_opts opts = {};
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
	/* What fwctl export wrote after each entry comes back with it. */
	opts.flags = GEOFW_IMPORT_ANNOTATIONS | (cmd->force ? GEOFW_IMPORT_FORCE : 0);
	err = geofw_importlist_parse_opts(buf, len, base, &opts, &list, r->err, sizeof(r->err));
	free(buf);
	if (err)
		return reply_error(r, GEOFW_CTL_REJECTED, r->err);

	/* The list is one row: written and replaced as a whole, with one
	 * action and expiry: the options', else the annotations' (the
	 * strictest and longest when they differ), else drop, never. */
	attrs.action = (__u8)(cmd->action >= 0 ? cmd->action :
			      list.action ? list.action : GEOFW_ACT_DROP);
	attrs.expires = cmd->ttl ? (__u64)time(NULL) + cmd->ttl : (__u64)list.expires;
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
	log_info("uid %u pid %d: import %s: %zu entries (%zu duplicates, %zu expired skipped, "
		 "%zu removed), action %s", r->who.uid, r->who.pid, source, list.n,
		 list.duplicates, list.expired, removed, geofw_action_name(attrs.action));
	if (r->json) {
		reply_json(r, GEOFW_CTL_OK, json_pack("{s:b, s:s, s:o, s:I, s:I, s:I, s:I}", "ok", 1,
				"what", "imported", "source", answer_text(source),
				"count", (json_int_t)list.n, "duplicates", (json_int_t)list.duplicates,
				"expired", (json_int_t)list.expired, "replaced", (json_int_t)removed));
	} else {
		geofw_ctl_writef(r->w, "ok: imported %zu entries from %s (%zu duplicates skipped",
				 list.n, base, list.duplicates);
		if (list.expired)
			geofw_ctl_writef(r->w, ", %zu expired skipped", list.expired);
		if (list.mixed && cmd->action < 0 && !cmd->ttl)
			geofw_ctl_writef(r->w, ", annotations differ: the list takes action %s and "
					 "the longest expiry", geofw_action_name(attrs.action));
		geofw_ctl_writef(r->w, "%s)\n", cmd->replace ? ", previous list replaced" : "");
	}
	geofw_importlist_free(&list);
	return GEOFW_CTL_OK;
}

int ctl_reload(struct request *r)
{
	char msg[GEOFW_ERRLEN] = "";

	log_info("uid %u pid %d: reload", r->who.uid, r->who.pid);
	if (gfwd_reload(r->d, "fwctl reload", msg, sizeof(msg)))
		return reply_error(r, GEOFW_CTL_REJECTED, msg);
	return reply_ok(r, "reloaded", 1, 1);
}


int ctl_del_source(struct request *r)
{
	long n = geofw_store_del_source(r->d->store, r->cmd->source, &r->diff, r->err,
					sizeof(r->err));
	int err = n < 0 ? (int)n : 0;

	if (!err && !n)
		err = geofw_errf(r->err, sizeof(r->err), -ENOENT, "source %s has no rules",
				 r->cmd->source);
	if (!err)
		err = rows_removed_by_hand(r, r->cmd->source);
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

/* ---- handlers (commands.c) ------------------------------------------------------ */

int ctl_block_country(struct request *r)
{
	return r->cmd->has_ports ? port_add(r, GEOFW_PRULE_COUNTRY) : cmd_countries(r);
}

int ctl_unblock_country(struct request *r)
{
	return r->cmd->has_ports ? port_del(r, GEOFW_PRULE_COUNTRY) : cmd_countries(r);
}

int ctl_country_mode(struct request *r)
{
	return cmd_countries(r);
}
