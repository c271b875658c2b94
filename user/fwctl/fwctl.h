/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * fwctl internals: the context every command gets, output helpers (text or
 * JSON) and the commands fwctl executes itself from the pinned maps.
 */
#ifndef GEOFW_FWCTL_H
#define GEOFW_FWCTL_H

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>

#include "cmd.h"
#include "jsonlib.h"
#include "maps.h"

/* Exit statuses, as fwctl(8) documents them. */
enum {
	FWCTL_EXIT_OK		= 0,
	FWCTL_EXIT_FAIL		= 1,	/* refused, daemon down, maps unreadable */
	FWCTL_EXIT_USAGE	= 2,	/* malformed command line */
};

struct fwctl {
	const struct geofw_cmd_global *g;
	bool json;
	/* The last error the library logged: lib functions log once where
	 * the error is understood, and fwctl turns that into its message. */
	char lib_err[512];
};

/* Print an error (text on stderr, or {"error": ...} on stdout with -j) and
 * return code, for `return fwctl_fail(c, FWCTL_EXIT_FAIL, "...")`. */
int fwctl_fail(struct fwctl *c, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* A remark on stderr that does not change the outcome. */
void fwctl_note(struct fwctl *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Open the pinned maps and check they were built for this ABI.  Returns
 * FWCTL_EXIT_OK, or FWCTL_EXIT_FAIL after printing why. */
int fwctl_open_pins(struct fwctl *c, struct geofw_maps *m);

/* ---- rules in the pins ---------------------------------------------------- */

struct pin_rule {
	struct geofw_cidr prefix;
	bool allow;
	__u8 action;		/* block rules */
	__u32 rule_id;
	__u64 expires_ns;	/* block rules: CLOCK_BOOTTIME, 0 = never */
};

struct pin_rules {
	struct pin_rule *v;	/* sorted by prefix */
	size_t n, cap;
};

/* Every block and/or allow rule of the pinned maps; free r->v. */
int fwctl_read_rules(const struct geofw_maps *m, bool blocks, bool allows, struct pin_rules *r);

/* ---- JSON (json.c) ------------------------------------------------------------ */

/* Print doc (jansson, jsonlib.h) on stdout as one line and release it.
 * NULL means building it ran out of memory: that is printed as the error.
 * FWCTL_EXIT_OK, or FWCTL_EXIT_FAIL. */
int fwctl_json_print(struct fwctl *c, json_t *doc);

/* ---- the drop log (log.c) ---------------------------------------------------- */

struct geofw_event_reader;

/*
 * The pinned ring buffer gfw_events, read by fwctl itself.  Samples are only
 * written while config.events_rate is non-zero: with sample set, begin turns
 * it on at rate when it is 0 (geofwd's DropLog is off), keep turns it on
 * again when something (a geofwd reload) turned it off meanwhile, and end
 * turns it off if it still is what fwctl set.  Between begin and end, the
 * caller must let end run on every way out: fwctl_droplog_signals() catches
 * SIGINT, SIGTERM and SIGHUP (fwctl_stop) and ignores SIGPIPE (a closed
 * output is a write error).
 */
struct fwctl_droplog {
	const struct geofw_maps *m;
	struct geofw_event_reader *reader;
	bool sample;		/* keep sampling on while reading */
	__u32 rate;		/* the rate fwctl sets */
	bool set;		/* fwctl turned sampling on */
	__u32 in_force;		/* config.events_rate last seen */
};

/* Set by the signal handlers: leave the loop, then fwctl_droplog_end(). */
extern volatile sig_atomic_t fwctl_stop;
void fwctl_droplog_signals(void);

int fwctl_droplog_begin(struct fwctl *c, const struct geofw_maps *m, bool sample, __u32 rate,
			int (*fn)(const struct geofw_event *ev, void *ctx), void *ctx,
			struct fwctl_droplog *dl);
void fwctl_droplog_keep(struct fwctl_droplog *dl);
void fwctl_droplog_end(struct fwctl_droplog *dl);
/* The name of an interface in fwctl's network namespace, or "if<N>". */
const char *fwctl_ifname(__u32 ifindex, char *buf, size_t len);

/* ---- commands fwctl executes itself ------------------------------------------- */

/*
 * A command fwctl runs itself: an exit status (FWCTL_EXIT_*).  Indexed by
 * enum geofw_cmd_id (commands.c); NULL for the commands only geofwd runs.
 */
typedef int fwctl_cmd_fn(struct fwctl *c, const struct geofw_cmd *cmd);
extern fwctl_cmd_fn *const fwctl_cmds[GEOFW_CMD_MAX];

int fwctl_help(struct fwctl *c, const struct geofw_cmd *cmd);
int fwctl_version(struct fwctl *c, const struct geofw_cmd *cmd);
int fwctl_lookup(struct fwctl *c, const struct geofw_cmd *cmd);
int fwctl_stats(struct fwctl *c, const struct geofw_cmd *cmd);
int fwctl_geo_verify(struct fwctl *c, const struct geofw_cmd *cmd);
int fwctl_asn_show(struct fwctl *c, const struct geofw_cmd *cmd);
int fwctl_asn_verify(struct fwctl *c, const struct geofw_cmd *cmd);
int fwctl_log(struct fwctl *c, const struct geofw_cmd *cmd);
int fwctl_top(struct fwctl *c, const struct geofw_cmd *cmd);
/* list and status from the pins, while geofwd is down */
int fwctl_list_pins(struct fwctl *c, const struct geofw_cmd *cmd);
int fwctl_status_pins(struct fwctl *c, const struct geofw_cmd *cmd);

#endif
