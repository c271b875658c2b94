// SPDX-License-Identifier: GPL-2.0-only
/*
 * fwctl's global options, the words before the command word (cmd.h,
 * geofw_cmd_parse_global); declared in cmdopts.c with the others, so the
 * help prints them from the same table.
 */
#include "cmdtable.h"
#include "msg.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/un.h>

#include "ctl.h"
#include "maps.h"

#define SUN_PATH_LEN	sizeof(((struct sockaddr_un *)0)->sun_path)

/* ---- global options ------------------------------------------------------------ */

int geofw_cmd_parse_global(int argc, char *const *argv, struct geofw_cmd_global *g,
			   char *err, size_t errlen)
{
	char eb[GEOFW_ECHO_BUFLEN], msg[GEOFW_CMD_ERRLEN / 2];
	int i;

	memset(g, 0, sizeof(*g));
	g->socket = GEOFW_CTL_PATH;
	g->pin_dir = GEOFW_PIN_DIR;
	g->timeout_ms = GEOFW_CTL_TIMEOUT_MS;
	if (err && errlen)
		err[0] = '\0';
	if (argc < 0 || (argc && !argv))
		return geofw_errf(err, errlen, -EINVAL, "bad arguments");

	for (i = 0; i < argc; i++) {
		const struct geofw_cmd_option *o = NULL;
		const char *a = argv[i] ? argv[i] : "", *val = NULL, *eq = NULL;
		size_t k, len = 0;
		__u64 secs;

		if (a[0] != '-' || !a[1])
			return i;
		if (!strcmp(a, "--"))
			return i + 1;
		if (a[1] == '-') {
			eq = strchr(a + 2, '=');
			len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
		}
		for (k = 0; k < geofw_cmd_n_global_opts; k++) {
			const struct geofw_cmd_option *c = &geofw_cmd_global_opts[k];

			if (a[1] == '-' ? strlen(c->name) == len && !strncmp(c->name, a + 2, len) :
					  c->short_name && c->short_name == a[1] && !a[2]) {
				o = c;
				break;
			}
		}
		if (!o)
			return geofw_errf(err, errlen, -EINVAL,
				    "unknown option '%s' (try 'fwctl --help')", geofw_echo(a, eb));
		if (eq && !o->arg)
			return geofw_errf(err, errlen, -EINVAL, "option '--%s' takes no value", o->name);
		if (o->arg) {
			if (eq)
				val = eq + 1;
			else if (i + 1 < argc)
				val = (argv[++i] ? argv[i] : "");
			else
				return geofw_errf(err, errlen, -EINVAL,
					    "option '--%s' needs a value (%s)", o->name, o->arg);
		}
		switch (o->key) {
		case G_JSON:
			g->json = true;
			break;
		case G_HELP:
			g->help = true;
			break;
		case G_VERSION:
			g->version = true;
			break;
		case G_SOCKET:
			if (!*val || strlen(val) >= SUN_PATH_LEN)
				return geofw_errf(err, errlen, -EINVAL,
					    "--socket: '%s': a socket path is 1 to %d bytes",
					    geofw_echo(val, eb), (int)SUN_PATH_LEN - 1);
			g->socket = val;
			break;
		case G_PIN_DIR:
			if (!*val || strlen(val) >= PATH_MAX - 32)
				return geofw_errf(err, errlen, -EINVAL, "--pin-dir: '%s': bad directory",
					    geofw_echo(val, eb));
			g->pin_dir = val;
			break;
		case G_TIMEOUT:
			if (geofw_duration_parse(val, &secs, msg, sizeof(msg)))
				return geofw_errf(err, errlen, -EINVAL, "--timeout: %s", msg);
			if (secs > GEOFW_CMD_TIMEOUT_MAX)
				return geofw_errf(err, errlen, -EINVAL,
					    "--timeout: %s: at most %d seconds", geofw_echo(val, eb),
					    GEOFW_CMD_TIMEOUT_MAX);
			g->timeout_ms = (int)secs * 1000;
			break;
		}
	}
	return argc;
}
