// SPDX-License-Identifier: GPL-2.0-only
/*
 * The help of fwctl at every level (`fwctl help`, `fwctl geo help`,
 * `fwctl CMD --help`) and the usage lines, printed from the command table
 * (cmdtable.c) and its options (cmdopts.c).
 */
#include "cmdtable.h"
#include "msg.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "maps.h"

#define HELP_COL	26	/* where option and command descriptions start */
#define HELP_WIDTH	79

/* "  -j, --json" / "      --ttl DURATION" */
static void put_option(FILE *f, const struct geofw_cmd_option *o)
{
	const char *h = o->help, *nl;
	int n;

	if (o->short_name)
		n = fprintf(f, "  -%c, --%s", o->short_name, o->name);
	else
		n = fprintf(f, "      --%s", o->name);
	if (o->arg)
		n += fprintf(f, o->arg_optional ? " [%s]" : " %s", o->arg);
	if (n >= HELP_COL - 1) {
		fputc('\n', f);
		n = 0;
	}
	for (;;) {
		nl = strchr(h, '\n');
		fprintf(f, "%*s%.*s\n", HELP_COL - n, "", nl ? (int)(nl - h) : (int)strlen(h), h);
		if (!nl)
			break;
		h = nl + 1;
		n = 0;
	}
}

/* "fwctl add-block CIDR... [--ttl DURATION] ...", starting at column col;
 * with wrap, continuation lines line up after the command name. */
static void put_synopsis(FILE *f, const struct geofw_cmd_desc *d, int col, bool wrap)
{
	int cont = col + 6 + (int)strlen(d->name) + 1, len, i;
	char word[96];

	col += fprintf(f, "fwctl %s", d->name);
	if (d->args[0])
		col += fprintf(f, " %s", d->args);
	for (i = 0; i < GEOFW_CMD_MAX_OPTS && d->opts[i]; i++) {
		const struct geofw_cmd_option *o = d->opts[i];

		if (!o->arg)
			len = snprintf(word, sizeof(word), "[--%s]", o->name);
		else if (o->arg_optional)
			len = snprintf(word, sizeof(word), "[--%s [%s]]", o->name, o->arg);
		else
			len = snprintf(word, sizeof(word), "[--%s %s]%s", o->name, o->arg,
				       o->type == GEOFW_OPT_PATHS ? "..." : "");
		if (wrap && col + 1 + len > HELP_WIDTH) {
			fprintf(f, "\n%*s%s", cont, "", word);
			col = cont + len;
		} else {
			col += fprintf(f, " %s", word);
		}
	}
}

int geofw_cmd_synopsis(const struct geofw_cmd_desc *d, char *buf, size_t len)
{
	char *text = NULL;
	size_t n = 0;
	FILE *f;
	int ret = 0;

	f = open_memstream(&text, &n);
	if (!f)
		return -ENOMEM;
	put_synopsis(f, d, 0, false);
	if (fclose(f))
		ret = -ENOMEM;
	else if (n >= len)
		ret = -ENOSPC;
	else
		memcpy(buf, text, n + 1);
	free(text);
	return ret;
}

static void put_indented(FILE *f, const char *text, int indent)
{
	const char *nl;

	while (*text) {
		nl = strchr(text, '\n');
		if (nl == text)
			fputc('\n', f);
		else
			fprintf(f, "%*s%.*s\n", indent, "",
				nl ? (int)(nl - text) : (int)strlen(text), text);
		if (!nl)
			break;
		text = nl + 1;
	}
}

static const char *exit_status_text =
"  0  success\n"
"  1  the operation failed or was refused: geofwd is not running or did\n"
"     not answer in time (a change delivered may still be applied: check\n"
"     with fwctl list), it rejected the change, permission denied, maps\n"
"     unreadable, mismatches found by geo verify\n"
"  2  usage error: unknown command or option, malformed argument (CIDR,\n"
"     country code, duration, action), options that exclude each other;\n"
"     nothing was changed\n";

static const char *kind_text(enum geofw_cmd_kind kind)
{
	switch (kind) {
	case GEOFW_CMD_DAEMON:
		return "Executed by geofwd: fwctl sends it over geofwd's socket and exits\n"
		       "with status 1 when geofwd is not running or refuses the change.";
	case GEOFW_CMD_EITHER:
		return "Answered by geofwd when it runs, from the pinned maps otherwise.";
	case GEOFW_CMD_LOCAL:
		return "Reads the pinned maps directly: works while geofwd is stopped (root\n"
		       "or read access to " GEOFW_PIN_DIR " needed).";
	default:
		return NULL;
	}
}

static void put_command_line(FILE *f, const struct geofw_cmd_desc *d, const char *prefix)
{
	int n;

	n = fprintf(f, "  %s", d->name + strlen(prefix));
	if (d->args[0])
		n += fprintf(f, " %s", d->args);
	if (n >= HELP_COL + 4) {
		fputc('\n', f);
		n = 0;
	}
	fprintf(f, "%*s%s\n", HELP_COL + 4 - n, "", d->summary);
}

static void help_command(FILE *f, const struct geofw_cmd_desc *d)
{
	const char *k = kind_text(d->kind);
	int i;

	fputs("Usage: ", f);
	put_synopsis(f, d, 7, true);
	fprintf(f, "\n\n%c%s.\n\n", d->summary[0] & ~0x20, d->summary + 1);
	put_indented(f, d->help, 0);
	fputs("\nOptions:\n", f);
	for (i = 0; i < GEOFW_CMD_MAX_OPTS && d->opts[i]; i++)
		put_option(f, d->opts[i]);
	put_option(f, &geofw_opt_json);
	put_option(f, &geofw_opt_help);
	if (k)
		fprintf(f, "\n%s\n", k);
	if (d->examples) {
		fputs("\nExamples:\n", f);
		put_indented(f, d->examples, 2);
	}
	if (d->kind != GEOFW_CMD_BUILTIN)
		fprintf(f, "\nExit status:\n%s", exit_status_text);
	fputs("\nSee fwctl(8) for the global options and the JSON output.\n", f);
}

static void help_group(FILE *f, int g)
{
	const struct geofw_cmd_desc *commands;
	char prefix[32];
	size_t i, n;

	commands = geofw_cmd_table(&n);
	snprintf(prefix, sizeof(prefix), "%s ", geofw_cmd_groups[g].name);
	fprintf(f, "Usage: fwctl %s COMMAND [ARGS]...\n\n", geofw_cmd_groups[g].name);
	fprintf(f, "Commands about %s:\n", geofw_cmd_groups[g].summary);
	for (i = 0; i < n; i++)
		if (!strncmp(commands[i].name, prefix, strlen(prefix)))
			put_command_line(f, &commands[i], prefix);
	fprintf(f, "  help [COMMAND]%*sshow this help, or the help of COMMAND\n",
		HELP_COL + 4 - 16, "");
	fprintf(f, "\nRun 'fwctl %s help COMMAND' or 'fwctl %s COMMAND --help' for the\n"
		"options of a command.\n", geofw_cmd_groups[g].name, geofw_cmd_groups[g].name);
}

static void help_all(FILE *f)
{
	static const struct {
		const char *title;
		enum geofw_cmd_kind kinds[2];
	} sections[] = {
		{ "Changing the rules (executed by geofwd)",
		  { GEOFW_CMD_DAEMON, GEOFW_CMD_DAEMON } },
		{ "Reading the firewall (work while geofwd is stopped)",
		  { GEOFW_CMD_EITHER, GEOFW_CMD_LOCAL } },
		{ "Other", { GEOFW_CMD_BUILTIN, GEOFW_CMD_BUILTIN } },
	};
	const struct geofw_cmd_desc *commands;
	size_t s, i, n;

	commands = geofw_cmd_table(&n);
	fputs("Usage: fwctl [OPTIONS] COMMAND [ARGS]...\n"
	      "\n"
	      "Control geofw, the XDP firewall that drops traffic by address, network\n"
	      "and country before the network stack sees it.  Commands that change\n"
	      "the rules are executed by geofwd, which keeps them across restarts;\n"
	      "commands that only read work while geofwd is stopped, from the maps\n"
	      "pinned under " GEOFW_PIN_DIR ".\n", f);
	for (s = 0; s < sizeof(sections) / sizeof(sections[0]); s++) {
		fprintf(f, "\n%s:\n", sections[s].title);
		for (i = 0; i < n; i++)
			if (commands[i].kind == sections[s].kinds[0] ||
			    commands[i].kind == sections[s].kinds[1])
				put_command_line(f, &commands[i], "");
	}
	fputs("\nOptions:\n", f);
	for (i = 0; i < geofw_cmd_n_global_opts; i++)
		put_option(f, &geofw_cmd_global_opts[i]);
	fprintf(f, "\nExit status:\n%s", exit_status_text);
	fputs("\nExamples:\n"
	      "  fwctl add-block 203.0.113.0/24 --ttl 2h --comment \"ssh scanner\"\n"
	      "  fwctl block-country RU CN --action reject\n"
	      "  fwctl lookup 203.0.113.7\n"
	      "  fwctl -j stats\n"
	      "\n"
	      "Run 'fwctl help COMMAND' or 'fwctl COMMAND --help' for the options of a\n"
	      "command.  See fwctl(8), geofwd(8) and geofw.conf(5).\n", f);
}

int geofw_cmd_help(const char *topic, char **text, char *err, size_t errlen)
{
	const struct geofw_cmd_desc *d = NULL;
	char eb[GEOFW_ECHO_BUFLEN];
	size_t n = 0;
	int g = -1;
	FILE *f;

	*text = NULL;
	if (topic) {
		g = geofw_cmd_group_find(topic);
		if (g < 0) {
			d = geofw_cmd_find(topic);
			if (!d)
				return geofw_errf(err, errlen, -EINVAL, "help: unknown command '%s'",
					    geofw_echo(topic, eb));
		}
	}
	f = open_memstream(text, &n);
	if (!f)
		return geofw_errf(err, errlen, -ENOMEM, "out of memory");
	if (d)
		help_command(f, d);
	else if (g >= 0)
		help_group(f, g);
	else
		help_all(f);
	if (fclose(f)) {
		free(*text);
		*text = NULL;
		return geofw_errf(err, errlen, -ENOMEM, "out of memory");
	}
	return 0;
}
