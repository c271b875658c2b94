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
	bool writable_known;		/* connected once: writable is its answer */
	bool countries;			/* the bucket holds a country policy */
	const char *url;		/* the server connected to, "" when none */
	const char *error;		/* why not connected, "" when connected */
	long long revision;		/* last bucket revision applied */
	long long head;			/* the bucket's last revision (asked every 2 s) */
	time_t last_update;		/* when the last one was applied, 0: never */
	size_t pending;			/* this host's changes the bucket does not have */
	size_t refused;			/* of them, refused by the bucket (read-only) */
	unsigned long published;	/* changes acknowledged since start */
	unsigned long superseded;	/* not published: a newer change stood */
	unsigned long asn_refused;	/* AS entries refused here (AS limit) since start */
	unsigned long stalls;		/* watcher found silent and read anew, since start */
	const char *host;		/* this host's name in the values it writes */
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
/* One key (fleetval.h) with its value, NULL: deleted; as gfwd_fleet_queue. */
int gfwd_fleet_queue_key(struct gfwd *d, const char *key, const char *value, char *err,
			 size_t errlen);
/* The host name this geofwd writes into values ("" without a fleet). */
const char *gfwd_fleet_host(const struct gfwd *d);
/* The fleet's country policy as applied here; NULL when the bucket has none. */
const struct geofw_store_countries *gfwd_fleet_countries(const struct gfwd *d);
/* The host that made fleet rule r (source fleet): 0 and buf, or -errno. */
int gfwd_fleet_origin(const struct gfwd *d, const struct geofw_rule *r, char *buf, size_t len);
bool gfwd_fleet_configured(const struct gfwd *d);
/* Any Fleet* key differs: a reload restarts the fleet. */
bool gfwd_fleet_conf_changed(const struct geofw_conf *a, const struct geofw_conf *b);
bool gfwd_fleet_connected(const struct gfwd *d);
void gfwd_fleet_info(const struct gfwd *d, struct gfwd_fleet_info *out);
struct geofw_metrics_info;
/* The fleet_* fields of the metrics (nothing when no fleet). */
void gfwd_fleet_metrics(const struct gfwd *d, struct geofw_metrics_info *in);

#endif
