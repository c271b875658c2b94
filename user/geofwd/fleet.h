/* SPDX-License-Identifier: GPL-2.0-only */
/* geofwd's fleet: rules shared through a NATS JetStream KV bucket (fleet.c). */
#ifndef GEOFWD_FLEET_H
#define GEOFWD_FLEET_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "config.h"
#include "store.h"

struct gfwd;

struct gfwd_fleet_info {
	bool configured, connected, writable, synced;
	const char *url;		/* the server connected to, "" when none */
	const char *error;		/* why not connected, "" when connected */
	long long revision;		/* last bucket revision applied */
	time_t last_update;		/* when the last one was applied, 0: never */
	size_t pending;			/* this host's changes the bucket does not have */
};

/* FleetServers set: start the worker thread (connects in the background).
 * Nothing to do (0) when no fleet is configured. */
int gfwd_fleet_start(struct gfwd *d);
/* Before READY: wait (at most timeout_ms) until the bucket's rules are in. */
void gfwd_fleet_wait_synced(struct gfwd *d, int timeout_ms);
void gfwd_fleet_stop(struct gfwd *d);
bool gfwd_fleet_event(struct gfwd *d, int fd);	/* false: not ours */
void gfwd_fleet_event_fd(struct gfwd *d);
/* After a COMMIT: hand the outbox's new changes to the worker. */
void gfwd_fleet_flush(struct gfwd *d);
/*
 * A fleet-scope change, inside the caller's transaction: each rule (del:
 * only kind and prefix count) goes to the outbox.  -ENOTCONN without a
 * fleet, -EPERM when the credentials only allow reading, err says so.
 */
int gfwd_fleet_queue(struct gfwd *d, const struct geofw_rule *rules, size_t n, bool del,
		     char *err, size_t errlen);
bool gfwd_fleet_configured(const struct gfwd *d);
/* Any Fleet* key differs: a reload restarts the fleet. */
bool gfwd_fleet_conf_changed(const struct geofw_conf *a, const struct geofw_conf *b);
bool gfwd_fleet_connected(const struct gfwd *d);
void gfwd_fleet_info(const struct gfwd *d, struct gfwd_fleet_info *out);
struct geofw_metrics_info;
/* The fleet_* fields of the metrics (nothing when no fleet). */
void gfwd_fleet_metrics(const struct gfwd *d, struct geofw_metrics_info *in);

#endif
