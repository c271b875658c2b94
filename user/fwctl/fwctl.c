// SPDX-License-Identifier: GPL-2.0-only
/*
 * fwctl: the command line of geofw.
 *
 *	fwctl [-j] [-s PATH] [--pin-dir DIR] [-t SEC] COMMAND [ARGS]
 *
 * The command line is parsed and validated here first (user/lib/cmdparse.c),
 * so a malformed request never reaches geofwd and exits with status 2.
 * Commands that change the rules are then sent to geofwd, which parses the
 * same words again and executes them; read-only ones are answered from the
 * pinned maps, so they work while geofwd is stopped.
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "ctl.h"
#include "fwctl.h"
#include "log.h"

/* ---- output ---------------------------------------------------------------- */

static void put_error(struct fwctl *c, const char *msg)
{
	json_t *doc;
	char *line;

	if (!c->json) {
		fprintf(stderr, "fwctl: %s\n", msg);
		return;
	}
	doc = json_pack("{s:o}", "error", geofw_json_text(msg));
	line = doc ? geofw_json_line(doc) : NULL;
	json_decref(doc);
	/* Out of memory, the one answer that needs no allocation. */
	fputs(line ? line : "{\"error\":\"out of memory\"}\n", stdout);
	fflush(stdout);
	free(line);
}

int fwctl_fail(struct fwctl *c, int code, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	put_error(c, msg);
	return code;
}

void fwctl_note(struct fwctl *c, const char *fmt, ...)
{
	va_list ap;

	(void)c;
	fputs("fwctl: note: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Library errors are kept for fwctl's own message; warnings are shown. */
static void log_sink(int level, const char *msg, void *ctx)
{
	struct fwctl *c = ctx;

	if (level == GEOFW_LOG_ERR)
		snprintf(c->lib_err, sizeof(c->lib_err), "%s", msg);
	else if (level == GEOFW_LOG_WARN)
		fprintf(stderr, "fwctl: warning: %s\n", msg);
}

/* libbpf's own messages (a verifier log runs to hundreds of lines) are not
 * for an operator: geofw's error says what failed. */
static int libbpf_quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	(void)fmt;
	(void)ap;
	return 0;
}

/* ---- pins ----------------------------------------------------------------------- */

/* Is anything pinned at all?  Not an access check: that comes with the
 * open, which says what is wrong. */
static bool pins_exist(struct fwctl *c)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", c->g->pin_dir, GEOFW_MAP_META);
	return !(access(path, F_OK) && errno == ENOENT);
}

/*
 * A map fwctl reads by value must have the key and value sizes of this
 * build: bpf_obj_get() checks nothing, and a lookup into a larger pinned
 * value would write past our struct.  Checked before anything is read,
 * the meta record included.
 */
static int check_layout(struct fwctl *c, const struct geofw_maps *m)
{
	const struct {
		int fd;
		const char *name;
		__u32 key, value;
	} maps[] = {
		{ m->meta, GEOFW_MAP_META, 4, sizeof(struct geofw_meta) },
		{ m->config, GEOFW_MAP_CONFIG, 4, sizeof(struct geofw_config) },
		{ m->allow4, GEOFW_MAP_ALLOW4, sizeof(struct geofw_lpm_v4), sizeof(struct geofw_allow) },
		{ m->allow6, GEOFW_MAP_ALLOW6, sizeof(struct geofw_lpm_v6), sizeof(struct geofw_allow) },
		{ m->block_ip4, GEOFW_MAP_BLOCK_IP4, sizeof(struct geofw_ip4), sizeof(struct geofw_block) },
		{ m->block_ip6, GEOFW_MAP_BLOCK_IP6, sizeof(struct geofw_ip6), sizeof(struct geofw_block) },
		{ m->block_net4, GEOFW_MAP_BLOCK_NET4, sizeof(struct geofw_lpm_v4),
		  sizeof(struct geofw_block) },
		{ m->block_net6, GEOFW_MAP_BLOCK_NET6, sizeof(struct geofw_lpm_v6),
		  sizeof(struct geofw_block) },
		{ m->country, GEOFW_MAP_COUNTRY, 4, sizeof(struct geofw_country) },
		{ m->cnt_reason, GEOFW_MAP_CNT_REASON, 4, sizeof(struct geofw_reason_stats) },
		{ m->cnt_action, GEOFW_MAP_CNT_ACTION, 4, sizeof(struct geofw_reason_stats) },
		{ m->cnt_country, GEOFW_MAP_CNT_COUNTRY, 4, sizeof(struct geofw_country_stats) },
		{ m->cnt_rule, GEOFW_MAP_CNT_RULE, 4, sizeof(struct geofw_rule_stats) },
		{ m->cnt_resp, GEOFW_MAP_CNT_RESP, 4, sizeof(struct geofw_resp_stats) },
	};
	size_t i;

	for (i = 0; i < sizeof(maps) / sizeof(maps[0]); i++) {
		struct bpf_map_info info = { 0 };
		__u32 len = sizeof(info);

		if (bpf_obj_get_info_by_fd(maps[i].fd, &info, &len))
			return fwctl_fail(c, FWCTL_EXIT_FAIL, "%s/%s: %s", c->g->pin_dir,
					  maps[i].name, strerror(errno));
		if (info.key_size != maps[i].key || info.value_size != maps[i].value)
			return fwctl_fail(c, FWCTL_EXIT_FAIL,
					  "%s/%s has %u-byte keys and %u-byte values, this fwctl "
					  "expects %u and %u: geofwd and fwctl come from different "
					  "builds", c->g->pin_dir, maps[i].name, info.key_size,
					  info.value_size, maps[i].key, maps[i].value);
	}
	return FWCTL_EXIT_OK;
}

int fwctl_open_pins(struct fwctl *c, struct geofw_maps *m)
{
	struct geofw_meta meta;
	int err;

	c->lib_err[0] = '\0';
	err = geofw_maps_open_pinned(c->g->pin_dir, m);
	if (err == -ENOENT && pins_exist(c))
		return fwctl_fail(c, FWCTL_EXIT_FAIL,
				  "the maps pinned at %s are incomplete, or from another build "
				  "(%s)", c->g->pin_dir, c->lib_err[0] ? c->lib_err : "a map is missing");
	if (err == -ENOENT)
		return fwctl_fail(c, FWCTL_EXIT_FAIL,
				  "no geofw maps pinned at %s: the firewall is not loaded",
				  c->g->pin_dir);
	if (err == -EACCES || err == -EPERM)
		return fwctl_fail(c, FWCTL_EXIT_FAIL,
				  "permission denied reading the maps pinned at %s (root needed)",
				  c->g->pin_dir);
	if (err)
		return fwctl_fail(c, FWCTL_EXIT_FAIL, "%s",
				  c->lib_err[0] ? c->lib_err : strerror(-err));
	/* Reading maps of another layout would misread (or overrun) values. */
	if (check_layout(c, m)) {
		geofw_maps_close(m);
		return FWCTL_EXIT_FAIL;
	}
	err = geofw_meta_read(m, &meta);
	if (err) {
		geofw_maps_close(m);
		return fwctl_fail(c, FWCTL_EXIT_FAIL, "cannot read %s/%s: %s", c->g->pin_dir,
				  GEOFW_MAP_META, strerror(-err));
	}
	if (meta.magic != GEOFW_META_MAGIC || meta.abi_version != GEOFW_ABI_VERSION) {
		geofw_maps_close(m);
		return fwctl_fail(c, FWCTL_EXIT_FAIL,
				  "the maps pinned at %s are not for this fwctl (ABI %u, fwctl "
				  "speaks %u)", c->g->pin_dir,
				  meta.magic == GEOFW_META_MAGIC ? meta.abi_version : 0,
				  GEOFW_ABI_VERSION);
	}
	return FWCTL_EXIT_OK;
}

/* ---- talking to geofwd ------------------------------------------------------------ */

/*
 * The answer is held back until its status is known, so that a refusal goes
 * to stderr and a success to stdout.  Long answers (list of a big import)
 * are let through once they outgrow the buffer: only a success is long.
 */
#define HOLD_MAX (1u << 20)

struct answer {
	char *buf;
	size_t len, cap;
	bool streaming;
};

static int on_text(const char *text, size_t len, void *ctx)
{
	struct answer *a = ctx;

	if (a->streaming) {
		fwrite(text, 1, len, stdout);
		return 0;
	}
	if (a->len + len > HOLD_MAX) {
		fwrite(a->buf, 1, a->len, stdout);
		fwrite(text, 1, len, stdout);
		a->len = 0;
		a->streaming = true;
		return 0;
	}
	if (a->len + len > a->cap) {
		size_t cap = a->cap ? a->cap : 4096;
		char *nb;

		while (cap < a->len + len)
			cap *= 2;
		nb = realloc(a->buf, cap);
		if (!nb)
			return -ENOMEM;
		a->buf = nb;
		a->cap = cap;
	}
	memcpy(a->buf + a->len, text, len);
	a->len += len;
	return 0;
}

static void put_answer(const struct answer *a, FILE *f, const char *prefix)
{
	if (!a->len)
		return;
	fputs(prefix, f);
	fwrite(a->buf, 1, a->len, f);
	if (a->buf[a->len - 1] != '\n')
		fputc('\n', f);
}

/* The descriptor of import's FILE, opened with the caller's rights. */
static int open_import(struct fwctl *c, const struct geofw_cmd *cmd, int *fd)
{
	struct stat st;

	*fd = -1;
	if (!strcmp(cmd->file, "-")) {
		if (isatty(STDIN_FILENO))
			return fwctl_fail(c, FWCTL_EXIT_USAGE,
					  "import -: standard input is a terminal; pipe a list "
					  "into fwctl or name a file");
		*fd = STDIN_FILENO;
		return FWCTL_EXIT_OK;
	}
	*fd = open(cmd->file, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (*fd < 0)
		return fwctl_fail(c, FWCTL_EXIT_FAIL, "%s: %s", cmd->file, strerror(errno));
	if (fstat(*fd, &st) || S_ISDIR(st.st_mode)) {
		int e = S_ISDIR(st.st_mode) ? EISDIR : errno;

		close(*fd);
		*fd = -1;
		return fwctl_fail(c, FWCTL_EXIT_FAIL, "%s: %s", cmd->file, strerror(e));
	}
	return FWCTL_EXIT_OK;
}

/* Does the command change what geofwd enforces?  The daemon's read-only
 * commands do not: a timeout of theirs left nothing behind. */
static bool changes_rules(const struct geofw_cmd *cmd)
{
	switch (cmd->id) {
	case GEOFW_CMD_EXPORT:
	case GEOFW_CMD_FLEET_STATUS:
	case GEOFW_CMD_FEED_LIST:
	case GEOFW_CMD_REF:
	case GEOFW_CMD_RL_LIST:
		return false;
	default:
		return cmd->desc->kind == GEOFW_CMD_DAEMON;
	}
}

/*
 * Send the command words to geofwd and print its answer.  With fallback,
 * "geofwd is not running" is not an error: *down is set and nothing printed.
 */
static int run_daemon(struct fwctl *c, int argc, char *const *argv,
		      const struct geofw_cmd *cmd, bool fallback, bool *down)
{
	char err[GEOFW_ERRLEN + 128] = "";
	struct answer a = { 0 };
	int sock, passfd = -1, ret, status;

	if (down)
		*down = false;
	if (cmd->id == GEOFW_CMD_IMPORT) {
		ret = open_import(c, cmd, &passfd);
		if (ret)
			return ret;
	}
	sock = geofw_ctl_connect(c->g->socket, c->g->timeout_ms, err, sizeof(err));
	if (sock < 0) {
		if (passfd > STDIN_FILENO)
			close(passfd);
		if (fallback && (sock == -ENOENT || sock == -ECONNREFUSED)) {
			*down = true;
			return FWCTL_EXIT_OK;
		}
		return fwctl_fail(c, FWCTL_EXIT_FAIL, "%s", err);
	}
	status = geofw_ctl_call(sock, argc, (const char *const *)argv,
				c->json ? GEOFW_CTL_F_JSON : 0, passfd, c->g->timeout_ms,
				on_text, &a, err, sizeof(err));
	close(sock);
	if (passfd > STDIN_FILENO)
		close(passfd);
	if (status < 0) {
		if (status == -ENOMEM && !err[0])
			snprintf(err, sizeof(err), "out of memory");
		free(a.buf);
		/* The request is with geofwd, which is only slow: the change
		 * may be applied after fwctl gave up. */
		if (status == -ETIMEDOUT && changes_rules(cmd))
			return fwctl_fail(c, FWCTL_EXIT_FAIL, "%s; the request was delivered and "
					  "geofwd may still apply it (check with fwctl list)", err);
		return fwctl_fail(c, FWCTL_EXIT_FAIL, "%s", err);
	}
	if (status == GEOFW_CTL_OK || status == GEOFW_CTL_DEGRADED || c->json) {
		/* JSON answers carry their own {"error": ...}: always stdout.
		 * A degraded status is a complete answer, exit 1. */
		put_answer(&a, stdout, "");
		ret = status == GEOFW_CTL_OK ? FWCTL_EXIT_OK : FWCTL_EXIT_FAIL;
	} else {
		if (a.len)
			put_answer(&a, stderr, "fwctl: ");
		else
			fprintf(stderr, "fwctl: geofwd refused the command (%s)\n",
				status == GEOFW_CTL_REJECTED ? "rejected" : "internal error");
		ret = FWCTL_EXIT_FAIL;
	}
	free(a.buf);
	if (fflush(stdout) && ret == FWCTL_EXIT_OK)
		ret = FWCTL_EXIT_FAIL;
	return ret;
}

/* ---- builtins ----------------------------------------------------------------------- */

static int show_help(struct fwctl *c, const char *topic, FILE *f)
{
	char err[GEOFW_CMD_ERRLEN];
	char *text;
	int ret = FWCTL_EXIT_OK;

	if (geofw_cmd_help(topic, &text, err, sizeof(err)))
		return fwctl_fail(c, FWCTL_EXIT_USAGE, "%s", err);
	if (c->json)
		ret = fwctl_json_print(c, json_pack("{s:o}", "help", geofw_json_text(text)));
	else
		fputs(text, f);
	free(text);
	return ret;
}

int fwctl_help(struct fwctl *c, const struct geofw_cmd *cmd)
{
	return show_help(c, cmd->topic, stdout);
}

static int show_version(struct fwctl *c)
{
	if (c->json)
		return fwctl_json_print(c, json_pack("{s:s, s:I, s:I}", "version", GEOFW_VERSION,
						     "abi_version", (json_int_t)GEOFW_ABI_VERSION,
						     "ctl_version", (json_int_t)GEOFW_CTL_VERSION));
	printf("fwctl %s (maps ABI %d, control protocol %d)\n", GEOFW_VERSION,
	       GEOFW_ABI_VERSION, GEOFW_CTL_VERSION);
	return FWCTL_EXIT_OK;
}

int fwctl_version(struct fwctl *c, const struct geofw_cmd *cmd)
{
	(void)cmd;
	return show_version(c);
}

/* ---- main ---------------------------------------------------------------------------- */

static int run(struct fwctl *c, int argc, char *const *argv)
{
	char err[GEOFW_CMD_ERRLEN];
	struct geofw_cmd cmd;
	bool down = false;
	int ret;

	ret = geofw_cmd_parse(argc, argv, &cmd, err, sizeof(err));
	/* Set on a refusal too: -j after the command word makes the usage
	 * error JSON (fwctl(8)). */
	c->json = c->json || cmd.json;
	if (ret) {
		geofw_cmd_free(&cmd);
		return fwctl_fail(c, FWCTL_EXIT_USAGE, "%s", err);
	}

	if (cmd.desc->kind == GEOFW_CMD_DAEMON || cmd.desc->kind == GEOFW_CMD_EITHER) {
		ret = run_daemon(c, argc, argv, &cmd, cmd.desc->kind == GEOFW_CMD_EITHER, &down);
		if (ret || !down)
			goto out;
		/* EITHER, geofwd down: fwctl answers from the pinned maps. */
		if (cmd.source) {
			/* The maps hold no sources: only the database does. */
			ret = fwctl_fail(c, FWCTL_EXIT_FAIL, "geofwd is not running (no socket at "
					 "%s): --source needs it (or read the database with "
					 "sqlite3 -readonly, see geofw.conf(5))", c->g->socket);
			goto out;
		}
		if (!pins_exist(c)) {
			ret = fwctl_fail(c, FWCTL_EXIT_FAIL, "geofwd is not running (no socket at "
					 "%s) and no geofw maps are pinned at %s", c->g->socket,
					 c->g->pin_dir);
			goto out;
		}
	}
	/* The handler bound to the command (commands.c). */
	ret = fwctl_cmds[cmd.id] ? fwctl_cmds[cmd.id](c, &cmd) :
		fwctl_fail(c, FWCTL_EXIT_FAIL, "%s: no handler in this fwctl (a build error: "
			   "tests/unit/cmd.c checks that every command has one)", cmd.desc->name);
out:
	geofw_cmd_free(&cmd);
	return ret;
}

int main(int argc, char **argv)
{
	static struct fwctl ctx;
	struct geofw_cmd_global g;
	char err[GEOFW_CMD_ERRLEN];
	struct fwctl *c = &ctx;
	int idx, ret;

	c->g = &g;
	geofw_log_set_sink(log_sink, c);
	geofw_log_set_level(GEOFW_LOG_WARN);
	libbpf_set_print(libbpf_quiet);

	idx = geofw_cmd_parse_global(argc - 1, argv + 1, &g, err, sizeof(err));
	if (idx < 0) {
		/* -j may have been seen before the bad option. */
		c->json = g.json;
		return fwctl_fail(c, FWCTL_EXIT_USAGE, "%s", err);
	}
	c->json = g.json;
	idx++;	/* index into argv */
	if (g.help)
		return show_help(c, NULL, stdout);
	if (g.version)
		return show_version(c);
	if (idx >= argc) {
		if (c->json)
			return fwctl_fail(c, FWCTL_EXIT_USAGE,
					  "missing command (try 'fwctl help')");
		fprintf(stderr, "Usage: fwctl [OPTIONS] COMMAND [ARGS]...\n"
			"Try 'fwctl help' for the commands and options.\n");
		return FWCTL_EXIT_USAGE;
	}
	ret = run(c, argc - idx, argv + idx);
	if (fflush(stdout) && ret == FWCTL_EXIT_OK) {
		fprintf(stderr, "fwctl: writing the output: %s\n", strerror(errno));
		ret = FWCTL_EXIT_FAIL;
	}
	return ret;
}
