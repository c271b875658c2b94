// SPDX-License-Identifier: GPL-2.0-only
/*
 * fwctl's requests.  Every change is all-or-nothing and durable before the
 * answer: the rule store writes the rows (a savepoint in the transaction of
 * its group), the kernel diff follows, and "ok" is sent after the COMMIT;
 * any failure rolls the rows back, puts the maps back as the rows say, and
 * fwctl is told why.
 */
#include <bpf/bpf.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <malloc.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "countries.h"
#include "ctl.h"
#include "geofwd.h"
#include "importlist.h"
#include "log.h"
#include "maps.h"
#include "msg.h"

struct request {
	struct gfwd *d;
	struct geofw_ctl_writer *w;
	const struct geofw_cmd *cmd;
	struct ucred who;
	bool json;
	int fd;			/* passed descriptor (import), -1 if none */
	const char *file;	/* import: the name given by the client */
	char err[GEOFW_CMD_ERRLEN];

	/* group commit (gfwd_control_ready) */
	int sock;
	struct geofw_ctl_request req;
	struct geofw_cmd cmd_buf;
	int status;
	bool pending;		/* answered "ok", sent once the group commits */
	bool countries;		/* changed the country policy */
	bool listed;		/* list: a JSON element was written */
	struct geofw_kdiff diff;	/* what the change did to the maps */
};

/* ---- output helpers ---------------------------------------------------------- */

static void json_str(struct geofw_ctl_writer *w, const char *s)
{
	geofw_ctl_write(w, "\"", 1);
	for (; s && *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			geofw_ctl_writef(w, "\\%c", ch);
		else if (ch < 0x20)
			geofw_ctl_writef(w, "\\u%04x", ch);
		else
			geofw_ctl_write(w, s, 1);
	}
	geofw_ctl_write(w, "\"", 1);
}

static int reply_error(struct request *r, int status, const char *msg)
{
	if (r->json) {
		geofw_ctl_writef(r->w, "{\"error\":");
		json_str(r->w, msg);
		geofw_ctl_writef(r->w, "}\n");
	} else {
		geofw_ctl_writef(r->w, "%s\n", msg);
	}
	return status;
}

static int reply_ok(struct request *r, const char *what, size_t n, size_t changed)
{
	if (r->json)
		geofw_ctl_writef(r->w, "{\"ok\":true,\"what\":\"%s\",\"count\":%zu,\"changed\":%zu}\n",
				 what, n, changed);
	else
		geofw_ctl_writef(r->w, "ok: %s %zu\n", what, n);
	return GEOFW_CTL_OK;
}

static void duration_str(__u64 s, char *buf, size_t len)
{
	if (s >= 86400)
		snprintf(buf, len, "%llud%lluh", (unsigned long long)(s / 86400),
			 (unsigned long long)(s % 86400 / 3600));
	else if (s >= 3600)
		snprintf(buf, len, "%lluh%llum", (unsigned long long)(s / 3600),
			 (unsigned long long)(s % 3600 / 60));
	else if (s >= 60)
		snprintf(buf, len, "%llum%llus", (unsigned long long)(s / 60),
			 (unsigned long long)(s % 60));
	else
		snprintf(buf, len, "%llus", (unsigned long long)s);
}

/* ---- changes ------------------------------------------------------------------- */

/*
 * Every change runs inside the transaction of its group (gfwd_control_ready)
 * and a savepoint of its own: rows → kernel diff, then "ok" waits for the
 * group's COMMIT.  A failure undoes this change alone: rows back to the
 * savepoint, maps back to what the rows say.
 */
static int change_failed(struct request *r)
{
	geofw_store_rollback_to(r->d->store);
	gfwd_rules_restore(r->d, &r->diff);
	geofw_kdiff_reset(&r->diff);
	if (r->countries) {
		gfwd_apply_countries(r->d);
		gfwd_apply_kernel_config(r->d);
		r->countries = false;
	}
	return reply_error(r, GEOFW_CTL_REJECTED, r->err[0] ? r->err : "change refused");
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

/* ---- commands ------------------------------------------------------------------ */

static int cmd_add_block(struct request *r)
{
	const struct geofw_cmd *cmd = r->cmd;
	struct geofw_rule *rules = block_rows(r, cmd->cidrs, cmd->n_cidrs, "cli");
	char buf[GEOFW_CIDR_STRLEN], ttl[32] = "never";
	int err;

	if (!rules)
		return reply_error(r, GEOFW_CTL_INTERNAL, "out of memory");
	err = geofw_store_add(r->d->store, rules, cmd->n_cidrs, 0, &r->diff, r->err, sizeof(r->err));
	if (!err)
		err = gfwd_rules_apply(r->d, &r->diff, r->err, sizeof(r->err));
	free(rules);
	if (err)
		return change_failed(r);
	if (cmd->ttl)
		duration_str(cmd->ttl, ttl, sizeof(ttl));
	geofw_cidr_format(&cmd->cidrs[0], buf, sizeof(buf));
	log_info("uid %u pid %d: add-block %s%s (%s, expires %s)", r->who.uid, r->who.pid, buf,
		 cmd->n_cidrs > 1 ? " and more" : "",
		 geofw_action_name((unsigned)(cmd->action >= 0 ? cmd->action : GEOFW_ACT_DROP)), ttl);
	return reply_ok(r, "blocked", cmd->n_cidrs, cmd->n_cidrs);
}

/* del-block and del-allow remove the prefix's rows of every source (the
 * operator wants it gone), or of --source only. */
static int cmd_del(struct request *r, int kind)
{
	const struct geofw_cmd *cmd = r->cmd;
	char buf[GEOFW_CIDR_STRLEN];
	int err;

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

static int cmd_countries(struct request *r)
{
	const struct geofw_cmd *cmd = r->cmd;
	struct geofw_store_countries c = policy_now(r->d);
	char list[GEOFW_MAX_COUNTRIES * 3 + 1] = "";
	size_t i;
	int err;

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

/* Read a passed descriptor (file or pipe) to the end, giving up when the
 * writer stalls: a single-threaded daemon must not hang on a client. */
static int read_fd(int fd, char **out, size_t *len)
{
	size_t cap = 1 << 20, n = 0;
	char *buf = malloc(cap);
	int flags = fcntl(fd, F_GETFL);

	if (!buf)
		return -ENOMEM;
	fcntl(fd, F_SETFL, flags | O_NONBLOCK);
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t got;

		if (n == cap) {
			char *grown;

			if (cap >= (size_t)256 << 20) {
				free(buf);
				return -EFBIG;
			}
			grown = realloc(buf, cap * 2);
			if (!grown) {
				free(buf);
				return -ENOMEM;
			}
			buf = grown;
			cap *= 2;
		}
		got = read(fd, buf + n, cap - n);
		if (got > 0) {
			n += (size_t)got;
			continue;
		}
		if (got == 0)
			break;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN || poll(&p, 1, 10000) <= 0) {
			int err = errno == EAGAIN ? -ETIMEDOUT : -errno;

			free(buf);
			return err;
		}
	}
	*out = buf;
	*len = n;
	return 0;
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

	if (r->fd < 0)
		return reply_error(r, GEOFW_CTL_REJECTED, "import: no file descriptor was passed");
	if ((err = read_fd(r->fd, &buf, &len)))
		return reply_error(r, GEOFW_CTL_REJECTED, strerror(-err));
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
	if (r->json)
		geofw_ctl_writef(r->w, "{\"ok\":true,\"what\":\"imported\",\"source\":\"%s\","
				 "\"count\":%zu,\"duplicates\":%zu,\"replaced\":%zu}\n",
				 source, list.n, list.duplicates, removed);
	else
		geofw_ctl_writef(r->w, "ok: imported %zu entries from %s (%zu duplicates skipped%s)\n",
				 list.n, base, list.duplicates, cmd->replace ? ", previous list replaced" : "");
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

static int list_block(const struct geofw_rule *b, struct request *r)
{
	char buf[GEOFW_CIDR_STRLEN], left[32] = "";
	time_t now = time(NULL);

	geofw_cidr_format(&b->prefix, buf, sizeof(buf));
	if (b->expires)
		duration_str(b->expires > (__u64)now ? b->expires - (__u64)now : 0, left, sizeof(left));
	if (r->json) {
		geofw_ctl_writef(r->w, "%s{\"type\":\"block\",\"prefix\":\"%s\",\"action\":\"%s\","
				 "\"rule_id\":%u,\"expires\":%llu,\"created\":%llu,\"uid\":%u,"
				 "\"pid\":%d,\"source\":", r->listed ? "," : "", buf,
				 geofw_action_name(b->action), b->rule_id,
				 (unsigned long long)b->expires, (unsigned long long)b->created,
				 b->uid, b->pid);
		json_str(r->w, b->source);
		geofw_ctl_writef(r->w, ",\"comment\":");
		json_str(r->w, b->comment);
		geofw_ctl_writef(r->w, "}\n");
		r->listed = true;
		return 0;
	}
	geofw_ctl_writef(r->w, "block  %-43s %-7s id %-5u %s%s%s%s\n", buf,
			 geofw_action_name(b->action), b->rule_id,
			 b->expires ? "expires in " : "", left, b->expires ? "  " : "", b->source);
	if (b->comment[0])
		geofw_ctl_writef(r->w, "       # %s\n", b->comment);
	return 0;
}

static int list_allow(const struct geofw_rule *a, struct request *r)
{
	char buf[GEOFW_CIDR_STRLEN];

	geofw_cidr_format(&a->prefix, buf, sizeof(buf));
	if (r->json) {
		geofw_ctl_writef(r->w, "%s{\"type\":\"allow\",\"prefix\":\"%s\",\"rule_id\":%u,"
				 "\"created\":%llu,\"uid\":%u,\"pid\":%d,\"source\":",
				 r->listed ? "," : "", buf, a->rule_id,
				 (unsigned long long)a->created, a->uid, a->pid);
		json_str(r->w, a->source);
		geofw_ctl_writef(r->w, ",\"comment\":");
		json_str(r->w, a->comment);
		geofw_ctl_writef(r->w, "}\n");
		r->listed = true;
		return 0;
	}
	geofw_ctl_writef(r->w, "allow  %-43s id %-5u %s%s%s\n", buf, a->rule_id, a->source,
			 a->comment[0] ? "  # " : "", a->comment);
	return 0;
}

static int list_rule(const struct geofw_rule *rule, void *arg)
{
	return rule->kind == GEOFW_RULE_ALLOW ? list_allow(rule, arg) : list_block(rule, arg);
}

static void list_countries(struct request *r)
{
	const struct geofw_store_countries *sc = geofw_store_countries(r->d->store);
	struct geofw_store_countries c = sc->override ? *sc : policy_now(r->d);
	unsigned int id;
	bool first = true;

	if (r->json) {
		geofw_ctl_writef(r->w, "%s{\"type\":\"countries\",\"mode\":\"%s\",\"action\":\"%s\","
				 "\"source\":\"%s\",\"listed\":[", r->listed ? "," : "",
				 c.mode == GEOFW_MODE_ALLOW_LISTED ? "allow" : "block",
				 geofw_action_name(c.action), sc->override ? "runtime" : "config");
		for (id = 1; id < GEOFW_MAX_COUNTRIES; id++)
			if (c.listed[id]) {
				geofw_ctl_writef(r->w, "%s\"%s\"", first ? "" : ",", geofw_country_code(id));
				first = false;
			}
		geofw_ctl_writef(r->w, "]}\n");
		r->listed = true;
		return;
	}
	geofw_ctl_writef(r->w, "countries: mode %s (%s), %s action %s:",
			 c.mode == GEOFW_MODE_ALLOW_LISTED ? "allow" : "block",
			 c.mode == GEOFW_MODE_ALLOW_LISTED ? "only listed countries pass" :
							     "listed countries are blocked",
			 sc->override ? "set with fwctl," : "from the config,",
			 geofw_action_name(c.action));
	for (id = 1; id < GEOFW_MAX_COUNTRIES; id++)
		if (c.listed[id]) {
			geofw_ctl_writef(r->w, " %s", geofw_country_code(id));
			if (c.country_action[id])
				geofw_ctl_writef(r->w, "(%s)", geofw_action_name(c.country_action[id]));
			first = false;
		}
	geofw_ctl_writef(r->w, "%s\n", first ? " (none)" : "");
}

/* A read of the database failed half-way: what was written goes. */
static int read_failed(struct request *r, int ret)
{
	r->w->len = 0;
	snprintf(r->err, sizeof(r->err), "%s: cannot read the rules: %s",
		 geofw_store_path(r->d->store), strerror(-ret));
	return reply_error(r, GEOFW_CTL_INTERNAL, r->err);
}

static int cmd_list(struct request *r)
{
	const char *source = r->cmd->source;
	int what = r->cmd->list, ret = 0;

	if (r->json)
		geofw_ctl_writef(r->w, "[");
	if (what == GEOFW_LIST_ALL || what == GEOFW_LIST_ALLOWS)
		ret = geofw_store_for_each_rule(r->d->store, GEOFW_RULE_ALLOW, source, list_rule, r);
	if (!ret && (what == GEOFW_LIST_ALL || what == GEOFW_LIST_BLOCKS))
		ret = geofw_store_for_each_rule(r->d->store, GEOFW_RULE_BLOCK, source, list_rule, r);
	/* The country policy has no source of its own but cli. */
	if (!ret && (what == GEOFW_LIST_ALL || what == GEOFW_LIST_COUNTRIES) &&
	    (!source || !strcmp(source, "cli")))
		list_countries(r);
	if (r->json)
		geofw_ctl_writef(r->w, "]\n");
	return ret ? read_failed(r, ret) : GEOFW_CTL_OK;
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

static int cmd_export(struct request *r)
{
	int ret;

	geofw_ctl_writef(r->w, "# geofw block rules%s%s, exported %lld (UNIX time)\n",
			 r->cmd->source ? " of " : "", r->cmd->source ? r->cmd->source : "",
			 (long long)time(NULL));
	ret = geofw_store_for_each_rule(r->d->store, GEOFW_RULE_BLOCK, r->cmd->source,
					export_rule, r);
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
	if (err)
		return change_failed(r);
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

static int cmd_status(struct request *r)
{
	struct gfwd *d = r->d;
	struct geofw_store_counts n;
	struct geofw_config cfg = {};
	int i;

	geofw_store_counts(d->store, &n);
	geofw_config_read(&d->fw.maps, &cfg);
	if (r->json) {
		geofw_ctl_writef(r->w, "{\"daemon\":{\"running\":true,\"pid\":%d,\"config\":", getpid());
		json_str(r->w, d->conf_path);
		geofw_ctl_writef(r->w, ",\"reloads_ok\":%lu,\"reloads_failed\":%lu,\"last_reload\":%lld},"
				 "\"programs\":{\"xdp_id\":%u,\"tc_id\":%u,\"responder\":%s},"
				 "\"interfaces\":[", d->reloads_ok, d->reloads_failed,
				 (long long)d->last_reload, prog_id(d->fw.xdp_prog_fd),
				 prog_id(d->fw.tc_prog_fd), d->responder_ok ? "true" : "false");
		for (i = 0; i < d->n_ifaces; i++) {
			const struct gfwd_iface *ifc = &d->ifaces[i];

			geofw_ctl_writef(r->w, "%s{\"name\":\"%s\",\"ifindex\":%d,\"attached\":%s,"
					 "\"xdp_mode\":\"%s\",\"tc\":%s,\"error\":", i ? "," : "",
					 ifc->name, ifc->ifindex, ifc->xdp_link >= 0 ? "true" : "false",
					 ifc->xdp_link >= 0 ? geofw_xdp_mode_name(ifc->xdp_mode) : "",
					 ifc->tc ? "true" : "false");
			json_str(r->w, ifc->error);
			geofw_ctl_writef(r->w, "}");
		}
		geofw_ctl_writef(r->w, "],\"geoip\":{\"loaded\":%s,\"loads_ok\":%lu,"
				 "\"loads_failed\":%lu,\"path\":", d->db.loaded ? "true" : "false",
				 d->db_loads_ok, d->db_loads_failed);
		json_str(r->w, d->db.path);
		geofw_ctl_writef(r->w, ",\"type\":");
		json_str(r->w, d->db.database_type);
		geofw_ctl_writef(r->w, ",\"build_epoch\":%llu,\"loaded_at\":%lld,\"prefixes_v4\":%zu,"
				 "\"prefixes_v6\":%zu,\"countries\":%zu,\"generation\":%u,\"error\":",
				 (unsigned long long)d->db.build_epoch, (long long)d->db.loaded_at,
				 d->db.n_v4, d->db.n_v6, d->db.countries, cfg.geo_generation);
		json_str(r->w, d->db.error);
		geofw_ctl_writef(r->w, "},\"rules\":{\"block_ip4\":%zu,\"block_ip6\":%zu,"
				 "\"block_net4\":%zu,\"block_net6\":%zu,\"allow4\":%zu,\"allow6\":%zu}}\n",
				 n.block_ip4, n.block_ip6, n.block_net4, n.block_net6, n.allow4, n.allow6);
		return GEOFW_CTL_OK;
	}
	geofw_ctl_writef(r->w, "geofwd: running (pid %d), config %s, %lu reloads ok, %lu failed\n",
			 getpid(), d->conf_path, d->reloads_ok, d->reloads_failed);
	geofw_ctl_writef(r->w, "programs: xdp id %u, tc id %u, responder %s\n",
			 prog_id(d->fw.xdp_prog_fd), prog_id(d->fw.tc_prog_fd),
			 d->responder_ok ? "on" : "off (reject/http403 drop)");
	for (i = 0; i < d->n_ifaces; i++) {
		const struct gfwd_iface *ifc = &d->ifaces[i];

		geofw_ctl_writef(r->w, "interface %s: %s", ifc->name,
				 !ifc->ifindex ? "absent (attached when it appears)" :
				 ifc->xdp_link < 0 ? "NOT attached" : "attached");
		if (ifc->xdp_link >= 0)
			geofw_ctl_writef(r->w, ", XDP %s mode, TC responder %s",
					 geofw_xdp_mode_name(ifc->xdp_mode), ifc->tc ? "on" : "off");
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
				 "this geofwd has not loaded %s\n", cfg.geo_generation, d->conf.geoip_db);
	} else {
		geofw_ctl_writef(r->w, "geoip: no database loaded: no country data in force\n");
	}
	geofw_ctl_writef(r->w, "geoip loads: %lu ok, %lu failed\n", d->db_loads_ok, d->db_loads_failed);
	if (d->db.error[0])
		geofw_ctl_writef(r->w, "geoip: last error: %s\n", d->db.error);
	geofw_ctl_writef(r->w, "rules: %zu blocked addresses + %zu networks (IPv4), %zu + %zu (IPv6), "
			 "%zu + %zu allowed\n", n.block_ip4, n.block_net4, n.block_ip6, n.block_net6,
			 n.allow4, n.allow6);
	return GEOFW_CTL_OK;
}

/* ---- dispatch: one group of clients, one transaction ----------------------------- */

#define GROUP_MAX	64	/* clients served per round (and per COMMIT) */

static bool is_change(enum geofw_cmd_id id)
{
	switch (id) {
	case GEOFW_CMD_ADD_BLOCK: case GEOFW_CMD_DEL_BLOCK: case GEOFW_CMD_ALLOW:
	case GEOFW_CMD_DEL_ALLOW: case GEOFW_CMD_BLOCK_COUNTRY: case GEOFW_CMD_UNBLOCK_COUNTRY:
	case GEOFW_CMD_COUNTRY_MODE: case GEOFW_CMD_IMPORT: case GEOFW_CMD_DEL_SOURCE:
		return true;
	default:
		return false;
	}
}

static int execute(struct request *r)
{
	switch (r->cmd->id) {
	case GEOFW_CMD_ADD_BLOCK:	return cmd_add_block(r);
	case GEOFW_CMD_DEL_BLOCK:	return cmd_del(r, GEOFW_RULE_BLOCK);
	case GEOFW_CMD_ALLOW:		return cmd_allow(r);
	case GEOFW_CMD_DEL_ALLOW:	return cmd_del(r, GEOFW_RULE_ALLOW);
	case GEOFW_CMD_BLOCK_COUNTRY:
	case GEOFW_CMD_UNBLOCK_COUNTRY:
	case GEOFW_CMD_COUNTRY_MODE:	return cmd_countries(r);
	case GEOFW_CMD_IMPORT:		return cmd_import(r);
	case GEOFW_CMD_DEL_SOURCE:	return cmd_del_source(r);
	case GEOFW_CMD_RELOAD:		return cmd_reload(r);
	case GEOFW_CMD_LIST:		return cmd_list(r);
	case GEOFW_CMD_EXPORT:		return cmd_export(r);
	case GEOFW_CMD_STATUS:		return cmd_status(r);
	default:
		return reply_error(r, GEOFW_CTL_REJECTED,
				   "this command is answered by fwctl itself, not by geofwd");
	}
}

static void request_close(struct request *r)
{
	bool big = r->diff.cap > 65536;

	geofw_ctl_writer_end(r->w, r->status);
	close(r->sock);
	geofw_cmd_free(&r->cmd_buf);
	geofw_ctl_request_free(&r->req);
	geofw_kdiff_free(&r->diff);
	free(r->w);
	free(r);
	/* An import's diff and list copies are tens of MB: give them back. */
	if (big)
		malloc_trim(0);
}

/* Accept one client and read its request; NULL when it was answered
 * already (refused, malformed) or left. */
static struct request *request_open(struct gfwd *d, int sock)
{
	struct request *r = calloc(1, sizeof(*r));
	struct group *gr = getgrnam(d->conf.socket_group);
	char err[GEOFW_CMD_ERRLEN];

	if (!r || !(r->w = malloc(sizeof(*r->w)))) {
		free(r);
		close(sock);
		return NULL;
	}
	r->d = d;
	r->sock = sock;
	r->fd = -1;
	r->req.fd = -1;
	r->cmd = &r->cmd_buf;
	r->status = GEOFW_CTL_REJECTED;
	geofw_ctl_writer_init(r->w, sock);
	if (geofw_ctl_authorize(sock, gr ? gr->gr_gid : (gid_t)-1, NULL, err, sizeof(err))) {
		log_warn("control: refused: %s", err);
		geofw_ctl_writef(r->w, "%s\n", err);
		request_close(r);
		return NULL;
	}
	geofw_ctl_peer_cred(sock, &r->who);
	if (geofw_ctl_recv_request(sock, &r->req, err, sizeof(err))) {
		log_warn("control: bad request from pid %d: %s", r->who.pid, err);
		geofw_ctl_writef(r->w, "%s\n", err);
		request_close(r);
		return NULL;
	}
	r->json = r->req.flags & GEOFW_CTL_F_JSON;
	r->fd = r->req.fd;
	if (geofw_cmd_parse(r->req.argc, r->req.argv, &r->cmd_buf, err, sizeof(err))) {
		r->status = reply_error(r, GEOFW_CTL_REJECTED, err);
		request_close(r);
		return NULL;
	}
	r->json |= r->cmd_buf.json;
	return r;
}

/*
 * COMMIT the group's changes, then answer them: "ok" only now that their
 * rows are on disk.  A failed COMMIT undoes every change of the group, the
 * maps included, and each of them hears why.
 */
static void flush(struct gfwd *d, struct request **rq, int n)
{
	char err[GEOFW_ERRLEN];
	bool countries = false;
	int i, ret = 0;

	if (geofw_store_in_txn(d->store) && (ret = geofw_store_commit(d->store, err, sizeof(err)))) {
		log_err(ret, "rules: %s", err);
		geofw_store_rollback(d->store);
	}
	for (i = 0; i < n; i++) {
		struct request *r = rq[i];

		if (!r)
			continue;
		if (r->pending && ret) {
			gfwd_rules_restore(d, &r->diff);
			countries |= r->countries;
			r->w->len = 0;
			snprintf(r->err, sizeof(r->err), "not saved, nothing changed: %s", err);
			r->status = reply_error(r, GEOFW_CTL_REJECTED, r->err);
		}
		request_close(r);
		rq[i] = NULL;
	}
	if (countries) {
		gfwd_apply_countries(d);
		gfwd_apply_kernel_config(d);
	}
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
	if (r->status == GEOFW_CTL_OK) {
		if (geofw_store_release(r->d->store, err, sizeof(err))) {
			geofw_store_rollback_to(r->d->store);
			gfwd_rules_restore(r->d, &r->diff);
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
	struct request *rq[GROUP_MAX] = {};
	int n = 0, i, sock;

	/* Everyone already waiting joins this round: their changes share one
	 * COMMIT, i.e. one fsync (group commit). */
	do {
		sock = geofw_ctl_accept(d->ctlfd, 5000);
		if (sock < 0)
			break;
		if ((rq[n] = request_open(d, sock)))
			n++;
	} while (n < GROUP_MAX && more_waiting(d->ctlfd));

	for (i = 0; i < n; i++) {
		if (is_change(rq[i]->cmd->id)) {
			run_change(rq[i]);
			continue;
		}
		/* Reads and reloads see only committed rules. */
		flush(d, rq, i);
		rq[i]->status = execute(rq[i]);
	}
	flush(d, rq, n);
	/* The WAL is copied into rules.db once nobody waits for an answer. */
	geofw_store_checkpoint(d->store);
}
