/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * geofwd's control socket, inside: what the files of the control module
 * share.  control.c reads requests and runs them (group commit),
 * commands.c binds a handler to each command id of the table (cmd.h), and
 * the handlers live by concern: control_rules.c (IP, AS, port rules, rate
 * limits), control_policy.c (country policy, imports, reload, del-source),
 * control_read.c (list, export, status, fleet status, ref).
 */
#ifndef GEOFW_GEOFWD_CONTROL_H
#define GEOFW_GEOFWD_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "cmd.h"
#include "ctl.h"
#include "jsonlib.h"
#include "kdiff.h"
#include "store.h"

struct gfwd;

/* One request of fwctl, from the parsed command to its answer. */
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


/*
 * A command geofwd runs: its handler answers through r->w and returns the
 * status (GEOFW_CTL_*).  change: it changes the rules, so it runs in a
 * savepoint of the round's transaction and is answered after the COMMIT;
 * the others see only committed rules.
 */
struct gfwd_cmd {
	int (*run)(struct request *r);
	bool change;
};

/* Indexed by enum geofw_cmd_id (commands.c); run is NULL for the commands
 * fwctl answers itself.  tests/unit/cmd.c checks it against the table. */
extern const struct gfwd_cmd gfwd_cmds[GEOFW_CMD_MAX];

/* The handlers. */
int ctl_add_block(struct request *r);
int ctl_del_block(struct request *r);
int ctl_allow(struct request *r);
int ctl_del_allow(struct request *r);
int ctl_add_asn(struct request *r);		/* block-asn, allow-asn */
int ctl_del_asn(struct request *r);		/* unblock-asn, del-allow-asn */
int ctl_port_policy(struct request *r);
int ctl_rl_change(struct request *r);		/* ratelimit add, ratelimit del */
int ctl_rl_list(struct request *r);
int ctl_block_country(struct request *r);
int ctl_unblock_country(struct request *r);
int ctl_country_mode(struct request *r);
int ctl_import(struct request *r);
int ctl_reload(struct request *r);
int ctl_del_source(struct request *r);
int ctl_list(struct request *r);
int ctl_export(struct request *r);
int ctl_status(struct request *r);
int ctl_fleet_status(struct request *r);
int ctl_feed(struct request *r);
int ctl_ref(struct request *r);

/* Answers (control.c). */
int put_ctl(const char *buf, size_t size, void *w);	/* jansson's dump callback */
json_t *answer_text(const char *s);
int reply_error(struct request *r, int status, const char *msg);
int reply_json(struct request *r, int status, json_t *doc);
int reply_ok(struct request *r, const char *what, size_t n, size_t changed);

/* Changes (control_rules.c). */
int change_failed(struct request *r);
void asn_restore(struct gfwd *d);
bool fleet_scope(const struct request *r);
int reply_fleet(struct request *r, const char *what, size_t n);
int port_add(struct request *r, int kind);
int port_del(struct request *r, int kind);
/* Rows of source are being removed by hand: a source that fetches its rows
 * (crowdsec, feed:NAME) must fetch them in full next, or they would not
 * come back.  0, or -errno with r->err. */
int rows_removed_by_hand(struct request *r, const char *source);

/* The country policy in force (control_policy.c). */
struct geofw_store_countries policy_now(struct gfwd *d);

#endif
