// SPDX-License-Identifier: GPL-2.0-only
/*
 * fwctl's requests.  Every change is all-or-nothing and durable before the
 * answer: the state changes in memory, the maps follow (with an undo log),
 * the state file is saved (fsync + rename); any failure undoes the maps and
 * rolls the state back, and fwctl is told why.
 */
#include <bpf/bpf.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
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

struct request {
	struct gfwd *d;
	struct geofw_ctl_writer *w;
	const struct geofw_cmd *cmd;
	struct ucred who;
	bool json;
	int fd;			/* passed descriptor (import), -1 if none */
	const char *file;	/* import: the name given by the client */
	char err[GEOFW_CMD_ERRLEN];
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

/* ---- map changes with undo ----------------------------------------------------- */

struct undo {
	struct geofw_cidr c;
	bool allow, existed;
	union {
		struct geofw_block block;
		struct geofw_allow allow_val;
	} old;
};

struct undo_log {
	struct undo *v;
	size_t n, cap;
};

static int undo_push(struct undo_log *u, struct gfwd *d, const struct geofw_cidr *c, bool allow)
{
	struct undo *e;

	if (u->n == u->cap) {
		size_t cap = u->cap ? u->cap * 2 : 64;
		void *p = realloc(u->v, cap * sizeof(*u->v));

		if (!p)
			return -ENOMEM;
		u->v = p;
		u->cap = cap;
	}
	e = &u->v[u->n++];
	memset(e, 0, sizeof(*e));
	e->c = *c;
	e->allow = allow;
	if (allow) {
		struct geofw_lpm_v6 k6 = { .prefixlen = c->prefixlen };
		struct geofw_lpm_v4 k4 = { .prefixlen = c->prefixlen };

		memcpy(k4.addr, c->addr, 4);
		memcpy(k6.addr, c->addr, 16);
		/* An LPM lookup may return a shorter match: compare prefixes via
		 * get-next-key is costly, so look up the exact key with the
		 * length itself and accept only an exact entry (below). */
		/* The maps mirror the state: what the state lacks, they lack, so
		 * only known prefixes cost a lookup (a 1M import stays cheap). */
		e->existed = !geofw_state_find_allow(d->state, c, NULL) &&
			     !bpf_map_lookup_elem(c->family == 4 ? d->fw.maps.allow4 : d->fw.maps.allow6,
						  c->family == 4 ? (void *)&k4 : (void *)&k6,
						  &e->old.allow_val);
	} else {
		e->existed = !geofw_state_find_block(d->state, c, NULL) &&
			     !geofw_block_get(&d->fw.maps, c, &e->old.block);
	}
	return 0;
}

static void undo_apply(struct undo_log *u, struct gfwd *d)
{
	while (u->n) {
		struct undo *e = &u->v[--u->n];

		if (e->allow)
			e->existed ? geofw_allow_put(&d->fw.maps, &e->c, &e->old.allow_val) :
				     geofw_allow_del(&d->fw.maps, &e->c);
		else
			e->existed ? geofw_block_put(&d->fw.maps, &e->c, &e->old.block) :
				     geofw_block_del(&d->fw.maps, &e->c);
	}
}

/*
 * The tail of every change: state already changed in memory (inside
 * begin), maps changed with undo records.  Save, then commit or undo all.
 */
static int finish_change(struct request *r, struct undo_log *u, int err)
{
	char msg[GEOFW_ERRLEN];

	if (!err && (err = gfwd_save_state(r->d, msg, sizeof(msg)))) {
		log_err(err, "state: %s", msg);
		snprintf(r->err, sizeof(r->err), "not saved, nothing changed: %s", msg);
	}
	if (err) {
		undo_apply(u, r->d);
		geofw_state_rollback(r->d->state);
	} else {
		geofw_state_commit(r->d->state);
	}
	free(u->v);
	/* Maps that became empty (deletes, undo) need no lookup any more. */
	geofw_rules_present_sync(&r->d->fw.maps);
	gfwd_arm_sweep(r->d);
	return err;
}

/* ---- commands ------------------------------------------------------------------ */

/* The maps get what the state now says for each prefix (its rule id too). */
static int apply_blocks(struct request *r, const struct geofw_cidr *c, size_t n)
{
	struct geofw_block_batch *batch;
	struct geofw_state_block rule;
	struct geofw_block kv;
	unsigned int bits = 0;
	size_t i;
	int err;

	for (i = 0; i < n; i++)
		bits |= geofw_rules_present_bit(&c[i], false);
	if ((err = geofw_rules_present_add(&r->d->fw.maps, bits)))
		return err;
	batch = geofw_block_batch_new(n);
	for (i = 0; i < n && !err; i++) {
		if ((err = geofw_state_find_block(r->d->state, &c[i], &rule)))
			break;
		gfwd_block_to_kernel(&rule, &kv);
		/* Exact addresses go to the hash in batches (one syscall per
		 * thousands of entries); CIDRs one by one (LPM has no batch). */
		err = batch ? geofw_block_batch_put(&r->d->fw.maps, batch, &c[i], &kv) :
			      geofw_block_put(&r->d->fw.maps, &c[i], &kv);
	}
	if (!err && batch)
		err = geofw_block_batch_flush(&r->d->fw.maps, batch);
	geofw_block_batch_free(batch);
	if (err)
		snprintf(r->err, sizeof(r->err), "cannot add to the blocklist map: %s%s",
			 strerror(-err), err == -E2BIG || err == -ENOSPC ?
			 " (the map is full)" : "");
	return err;
}

static int add_blocks(struct request *r, const struct geofw_cidr *c, size_t n,
		      const char *source, unsigned int flags)
{
	const struct geofw_cmd *cmd = r->cmd;
	struct geofw_state_block *rules = calloc(n ? n : 1, sizeof(*rules));
	struct undo_log u = {};
	time_t now = time(NULL);
	size_t i;
	int err = 0;

	if (!rules)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		rules[i].prefix = c[i];
		rules[i].action = (__u8)(cmd->action >= 0 ? cmd->action : GEOFW_ACT_DROP);
		rules[i].expires = cmd->ttl ? (__u64)now + cmd->ttl : 0;
		rules[i].comment = cmd->comment ? cmd->comment : "";
		rules[i].source = source;
	}
	geofw_state_begin(r->d->state);
	for (i = 0; i < n && !err; i++)
		err = undo_push(&u, r->d, &c[i], false);
	if (!err)
		err = geofw_state_add_blocks(r->d->state, rules, n, flags, r->err, sizeof(r->err));
	if (!err)
		err = apply_blocks(r, c, n);
	free(rules);
	return finish_change(r, &u, err);
}

static int cmd_add_block(struct request *r)
{
	char buf[GEOFW_CIDR_STRLEN], ttl[32] = "never";
	int err;

	err = add_blocks(r, r->cmd->cidrs, r->cmd->n_cidrs, "cli", 0);
	if (err)
		return reply_error(r, GEOFW_CTL_REJECTED, r->err);
	if (r->cmd->ttl)
		duration_str(r->cmd->ttl, ttl, sizeof(ttl));
	geofw_cidr_format(&r->cmd->cidrs[0], buf, sizeof(buf));
	log_info("uid %u pid %d: add-block %s%s (%s, expires %s)", r->who.uid, r->who.pid, buf,
		 r->cmd->n_cidrs > 1 ? " and more" : "",
		 geofw_action_name((unsigned)(r->cmd->action >= 0 ? r->cmd->action : GEOFW_ACT_DROP)),
		 ttl);
	return reply_ok(r, "blocked", r->cmd->n_cidrs, r->cmd->n_cidrs);
}

static int cmd_del_block(struct request *r)
{
	const struct geofw_cmd *cmd = r->cmd;
	struct undo_log u = {};
	char buf[GEOFW_CIDR_STRLEN];
	size_t i;
	int err = 0;

	geofw_state_begin(r->d->state);
	for (i = 0; i < cmd->n_cidrs && !err; i++)
		err = undo_push(&u, r->d, &cmd->cidrs[i], false);
	if (!err)
		err = geofw_state_del_blocks(r->d->state, cmd->cidrs, cmd->n_cidrs, r->err,
					     sizeof(r->err));
	for (i = 0; i < cmd->n_cidrs && !err; i++) {
		err = geofw_block_del(&r->d->fw.maps, &cmd->cidrs[i]);
		if (err == -ENOENT)
			err = 0;	/* swept or never loaded: the state decides */
	}
	if ((err = finish_change(r, &u, err)))
		return reply_error(r, GEOFW_CTL_REJECTED, r->err[0] ? r->err : strerror(-err));
	geofw_cidr_format(&cmd->cidrs[0], buf, sizeof(buf));
	log_info("uid %u pid %d: del-block %s%s", r->who.uid, r->who.pid, buf,
		 cmd->n_cidrs > 1 ? " and more" : "");
	return reply_ok(r, "unblocked", cmd->n_cidrs, cmd->n_cidrs);
}

static int cmd_allow(struct request *r, bool add)
{
	const struct geofw_cmd *cmd = r->cmd;
	struct geofw_state_allow *rules = calloc(cmd->n_cidrs ? cmd->n_cidrs : 1, sizeof(*rules));
	struct undo_log u = {};
	char buf[GEOFW_CIDR_STRLEN];
	size_t i;
	int err = 0;

	if (!rules)
		return reply_error(r, GEOFW_CTL_INTERNAL, "out of memory");
	geofw_state_begin(r->d->state);
	for (i = 0; i < cmd->n_cidrs && !err; i++) {
		rules[i].prefix = cmd->cidrs[i];
		rules[i].comment = cmd->comment ? cmd->comment : "";
		err = undo_push(&u, r->d, &cmd->cidrs[i], true);
	}
	if (!err)
		err = add ? geofw_state_add_allows(r->d->state, rules, cmd->n_cidrs, r->err,
						   sizeof(r->err)) :
			    geofw_state_del_allows(r->d->state, cmd->cidrs, cmd->n_cidrs, r->err,
						   sizeof(r->err));
	for (i = 0; i < cmd->n_cidrs && !err; i++) {
		struct geofw_state_allow a;

		if (!add) {
			err = geofw_allow_del(&r->d->fw.maps, &cmd->cidrs[i]);
			err = err == -ENOENT ? 0 : err;
		} else if (!(err = geofw_state_find_allow(r->d->state, &cmd->cidrs[i], &a)) &&
			   !(err = geofw_rules_present_add(&r->d->fw.maps,
					geofw_rules_present_bit(&cmd->cidrs[i], true)))) {
			struct geofw_allow v = { .rule_id = a.rule_id };

			err = geofw_allow_put(&r->d->fw.maps, &cmd->cidrs[i], &v);
		}
		if (err && !r->err[0])
			snprintf(r->err, sizeof(r->err), "cannot update the allowlist map: %s",
				 strerror(-err));
	}
	free(rules);
	if ((err = finish_change(r, &u, err)))
		return reply_error(r, GEOFW_CTL_REJECTED, r->err[0] ? r->err : strerror(-err));
	geofw_cidr_format(&cmd->cidrs[0], buf, sizeof(buf));
	log_info("uid %u pid %d: %s %s%s", r->who.uid, r->who.pid, add ? "allow" : "del-allow",
		 buf, cmd->n_cidrs > 1 ? " and more" : "");
	return reply_ok(r, add ? "allowed" : "disallowed", cmd->n_cidrs, cmd->n_cidrs);
}

/* The runtime policy starts as a copy of the config's, then diverges. */
static struct geofw_state_countries policy_now(struct gfwd *d)
{
	struct geofw_state_countries c = *geofw_state_countries(d->state);
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
	struct geofw_state_countries c = policy_now(r->d);
	char list[GEOFW_MAX_COUNTRIES * 3 + 1] = "";
	struct undo_log u = {};
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
	geofw_state_begin(r->d->state);
	err = geofw_state_set_countries(r->d->state, &c, r->err, sizeof(r->err));
	if (!err)
		err = gfwd_apply_countries(r->d);
	if (!err)
		err = gfwd_apply_kernel_config(r->d);
	if ((err = finish_change(r, &u, err))) {
		/* Put the maps back as the (rolled back) state says. */
		gfwd_apply_countries(r->d);
		gfwd_apply_kernel_config(r->d);
		return reply_error(r, GEOFW_CTL_REJECTED, r->err[0] ? r->err : strerror(-err));
	}
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

struct removed_ctx {
	struct gfwd *d;
	struct undo_log *u;
	int err;
};

static void unmap_removed(const struct geofw_state_block *rule, void *arg)
{
	struct removed_ctx *rc = arg;
	int err;

	if (rc->err)
		return;
	if ((err = undo_push(rc->u, rc->d, &rule->prefix, false)))
		rc->err = err;
	geofw_block_del(&rc->d->fw.maps, &rule->prefix);
}

static int cmd_import(struct request *r)
{
	const struct geofw_cmd *cmd = r->cmd;
	struct geofw_importlist list = {};
	struct undo_log u = {};
	char source[GEOFW_STATE_SOURCE_MAX], *buf = NULL;
	const char *base;
	size_t len = 0, i;
	long removed = 0;
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

	geofw_state_begin(r->d->state);
	if (cmd->replace) {
		struct removed_ctx rc = { r->d, &u, 0 };

		removed = geofw_state_del_source(r->d->state, source, unmap_removed, &rc);
		err = rc.err;
	}
	if (!err) {
		struct geofw_state_block *rules = calloc(list.n ? list.n : 1, sizeof(*rules));
		time_t now = time(NULL);

		err = rules ? 0 : -ENOMEM;
		for (i = 0; !err && i < list.n; i++) {
			rules[i].prefix = list.v[i];
			rules[i].action = (__u8)(cmd->action >= 0 ? cmd->action : GEOFW_ACT_DROP);
			rules[i].expires = cmd->ttl ? (__u64)now + cmd->ttl : 0;
			rules[i].comment = cmd->comment ? cmd->comment : "";
			rules[i].source = source;
			err = undo_push(&u, r->d, &list.v[i], false);
		}
		if (!err)
			err = geofw_state_add_blocks(r->d->state, rules, list.n, GEOFW_STATE_ONE_ID,
						     r->err, sizeof(r->err));
		if (!err)
			err = apply_blocks(r, list.v, list.n);
		free(rules);
	}
	if ((err = finish_change(r, &u, err))) {
		geofw_importlist_free(&list);
		return reply_error(r, GEOFW_CTL_REJECTED, r->err[0] ? r->err : strerror(-err));
	}
	log_info("uid %u pid %d: import %s: %zu entries (%zu duplicates skipped, %ld replaced)",
		 r->who.uid, r->who.pid, source, list.n, list.duplicates, removed);
	if (r->json)
		geofw_ctl_writef(r->w, "{\"ok\":true,\"what\":\"imported\",\"source\":\"%s\","
				 "\"count\":%zu,\"duplicates\":%zu,\"replaced\":%ld}\n",
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

static int list_block(const struct geofw_state_block *b, void *arg)
{
	struct request *r = arg;
	char buf[GEOFW_CIDR_STRLEN], left[32] = "";
	time_t now = time(NULL);

	geofw_cidr_format(&b->prefix, buf, sizeof(buf));
	if (b->expires)
		duration_str(b->expires > (__u64)now ? b->expires - (__u64)now : 0, left, sizeof(left));
	if (r->json) {
		geofw_ctl_writef(r->w, "%s{\"type\":\"block\",\"prefix\":\"%s\",\"action\":\"%s\","
				 "\"rule_id\":%u,\"expires\":%llu,\"source\":", r->err[0] ? "," : "",
				 buf, geofw_action_name(b->action), b->rule_id,
				 (unsigned long long)b->expires);
		json_str(r->w, b->source);
		geofw_ctl_writef(r->w, ",\"comment\":");
		json_str(r->w, b->comment);
		geofw_ctl_writef(r->w, "}\n");
		r->err[0] = ',';
		return 0;
	}
	geofw_ctl_writef(r->w, "block  %-43s %-7s id %-5u %s%s%s%s%s\n", buf,
			 geofw_action_name(b->action), b->rule_id,
			 b->expires ? "expires in " : "", left, b->expires ? "  " : "",
			 b->source, b->comment[0] ? "" : "");
	if (b->comment[0])
		geofw_ctl_writef(r->w, "       # %s\n", b->comment);
	return 0;
}

static int list_allow(const struct geofw_state_allow *a, void *arg)
{
	struct request *r = arg;
	char buf[GEOFW_CIDR_STRLEN];

	geofw_cidr_format(&a->prefix, buf, sizeof(buf));
	if (r->json) {
		geofw_ctl_writef(r->w, "%s{\"type\":\"allow\",\"prefix\":\"%s\",\"rule_id\":%u,"
				 "\"comment\":", r->err[0] ? "," : "", buf, a->rule_id);
		json_str(r->w, a->comment);
		geofw_ctl_writef(r->w, "}\n");
		r->err[0] = ',';
		return 0;
	}
	geofw_ctl_writef(r->w, "allow  %-43s id %-5u%s%s\n", buf, a->rule_id,
			 a->comment[0] ? "  # " : "", a->comment);
	return 0;
}

static void list_countries(struct request *r)
{
	const struct geofw_state_countries *sc = geofw_state_countries(r->d->state);
	struct geofw_state_countries c = sc->override ? *sc : policy_now(r->d);
	unsigned int id;
	bool first = true;

	if (r->json) {
		geofw_ctl_writef(r->w, "%s{\"type\":\"countries\",\"mode\":\"%s\",\"action\":\"%s\","
				 "\"source\":\"%s\",\"listed\":[", r->err[0] ? "," : "",
				 c.mode == GEOFW_MODE_ALLOW_LISTED ? "allow" : "block",
				 geofw_action_name(c.action), sc->override ? "runtime" : "config");
		for (id = 1; id < GEOFW_MAX_COUNTRIES; id++)
			if (c.listed[id]) {
				geofw_ctl_writef(r->w, "%s\"%s\"", first ? "" : ",", geofw_country_code(id));
				first = false;
			}
		geofw_ctl_writef(r->w, "]}\n");
		r->err[0] = ',';
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

static int cmd_list(struct request *r)
{
	int what = r->cmd->list;

	r->err[0] = '\0';	/* used as "an element was written" for JSON */
	if (r->json)
		geofw_ctl_writef(r->w, "[");
	if (what == GEOFW_LIST_ALL || what == GEOFW_LIST_ALLOWS)
		geofw_state_for_each_allow(r->d->state, list_allow, r);
	if (what == GEOFW_LIST_ALL || what == GEOFW_LIST_BLOCKS)
		geofw_state_for_each_block(r->d->state, list_block, r);
	if (what == GEOFW_LIST_ALL || what == GEOFW_LIST_COUNTRIES)
		list_countries(r);
	if (r->json)
		geofw_ctl_writef(r->w, "]\n");
	return GEOFW_CTL_OK;
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
	struct geofw_state_counts n;
	struct geofw_config cfg = {};
	char country_why[sizeof(d->db.error) + 256];
	bool country_ok = gfwd_country_policy_enforced(d, country_why, sizeof(country_why));
	int i, unprotected = 0;
	int degraded;

	for (i = 0; i < d->n_ifaces; i++)
		unprotected += !gfwd_iface_protected(&d->ifaces[i]);
	/* Anything configured but not enforced makes status exit 1. */
	degraded = !country_ok || unprotected;

	geofw_state_counts(d->state, &n);
	geofw_config_read(&d->fw.maps, &cfg);
	if (r->json) {
		geofw_ctl_writef(r->w, "{\"country_policy\":{\"configured\":%s,\"enforced\":%s,"
				 "\"reason\":", gfwd_country_policy_wanted(d) ? "true" : "false",
				 country_ok ? "true" : "false");
		json_str(r->w, country_why);
		geofw_ctl_writef(r->w, "},\"daemon\":{\"running\":true,\"pid\":%d,\"config\":", getpid());
		json_str(r->w, d->conf_path);
		geofw_ctl_writef(r->w, ",\"reloads_ok\":%lu,\"reloads_failed\":%lu,\"last_reload\":%lld},"
				 "\"programs\":{\"xdp_id\":%u,\"tc_id\":%u,\"responder\":%s},"
				 "\"interfaces\":[", d->reloads_ok, d->reloads_failed,
				 (long long)d->last_reload, prog_id(d->fw.xdp_prog_fd),
				 prog_id(d->fw.tc_prog_fd), d->responder_ok ? "true" : "false");
		for (i = 0; i < d->n_ifaces; i++) {
			const struct gfwd_iface *ifc = &d->ifaces[i];

			geofw_ctl_writef(r->w, "%s{\"name\":\"%s\",\"ifindex\":%d,\"attached\":%s,"
					 "\"xdp_mode\":\"%s\",\"tc\":%s", i ? "," : "",
					 ifc->name, ifc->ifindex, ifc->xdp_link >= 0 ? "true" : "false",
					 ifc->xdp_link >= 0 ? geofw_xdp_mode_name(ifc->xdp_mode) : "",
					 ifc->tc ? "true" : "false");
			geofw_ctl_writef(r->w, ",\"protected\":%s,\"link_type\":%d,"
					 "\"link_type_name\":\"%s\",\"l3\":%s,"
					 "\"responder_stalled\":%s,\"error\":",
					 gfwd_iface_protected(ifc) ? "true" : "false", ifc->link_type,
					 gfwd_link_type_name(ifc->link_type), ifc->l3 ? "true" : "false",
					 ifc->resp_stalled ? "true" : "false");
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
		return degraded ? GEOFW_CTL_DEGRADED : GEOFW_CTL_OK;
	}
	/* First line: the operator must not miss a policy that is not in force. */
	if (!country_ok)
		geofw_ctl_writef(r->w, "country policy: NOT enforced (IP rules are): %s\n",
				 country_why);
	if (unprotected)
		geofw_ctl_writef(r->w, "interfaces: %d configured interface%s NOT protected (see below)\n",
				 unprotected, unprotected > 1 ? "s" : "");
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
	geofw_ctl_writef(r->w, "rules: %zu blocked addresses + %zu networks (IPv4), %zu + %zu (IPv6), "
			 "%zu + %zu allowed\n", n.block_ip4, n.block_net4, n.block_ip6, n.block_net6,
			 n.allow4, n.allow6);
	return degraded ? GEOFW_CTL_DEGRADED : GEOFW_CTL_OK;
}

/* ---- dispatch ------------------------------------------------------------------------ */

void gfwd_control_handle(struct gfwd *d, int sock)
{
	struct geofw_ctl_request req = { .fd = -1 };
	struct geofw_ctl_writer *w = malloc(sizeof(*w));
	struct geofw_cmd cmd;
	struct request r = { .d = d, .w = w, .cmd = &cmd, .fd = -1 };
	struct group *gr = getgrnam(d->conf.socket_group);
	char err[GEOFW_CMD_ERRLEN];
	int status;

	if (!w)
		return;
	geofw_ctl_writer_init(w, sock);
	memset(&cmd, 0, sizeof(cmd));
	if (geofw_ctl_authorize(sock, gr ? gr->gr_gid : (gid_t)-1, NULL, err, sizeof(err))) {
		log_warn("control: refused: %s", err);
		geofw_ctl_writef(w, "%s\n", err);
		geofw_ctl_writer_end(w, GEOFW_CTL_REJECTED);
		free(w);
		return;
	}
	geofw_ctl_peer_cred(sock, &r.who);
	if (geofw_ctl_recv_request(sock, &req, err, sizeof(err))) {
		log_warn("control: bad request from pid %d: %s", r.who.pid, err);
		geofw_ctl_writef(w, "%s\n", err);
		geofw_ctl_writer_end(w, GEOFW_CTL_REJECTED);
		free(w);
		return;
	}
	r.json = req.flags & GEOFW_CTL_F_JSON;
	r.fd = req.fd;
	if (geofw_cmd_parse(req.argc, req.argv, &cmd, err, sizeof(err))) {
		status = reply_error(&r, GEOFW_CTL_REJECTED, err);
		goto out;
	}
	r.json |= cmd.json;
	switch (cmd.id) {
	case GEOFW_CMD_ADD_BLOCK:	status = cmd_add_block(&r); break;
	case GEOFW_CMD_DEL_BLOCK:	status = cmd_del_block(&r); break;
	case GEOFW_CMD_ALLOW:		status = cmd_allow(&r, true); break;
	case GEOFW_CMD_DEL_ALLOW:	status = cmd_allow(&r, false); break;
	case GEOFW_CMD_BLOCK_COUNTRY:
	case GEOFW_CMD_UNBLOCK_COUNTRY:
	case GEOFW_CMD_COUNTRY_MODE:	status = cmd_countries(&r); break;
	case GEOFW_CMD_IMPORT:		status = cmd_import(&r); break;
	case GEOFW_CMD_RELOAD:		status = cmd_reload(&r); break;
	case GEOFW_CMD_LIST:		status = cmd_list(&r); break;
	case GEOFW_CMD_STATUS:		status = cmd_status(&r); break;
	default:
		status = reply_error(&r, GEOFW_CTL_REJECTED,
				     "this command is answered by fwctl itself, not by geofwd");
		break;
	}
out:
	geofw_ctl_writer_end(w, status);
	geofw_cmd_free(&cmd);
	geofw_ctl_request_free(&req);
	free(w);
}
