/* SPDX-License-Identifier: GPL-2.0-only */
/* The fleet's internals, shared by fleet.c (outbox, events, fwctl's
 * changes), fleet_worker.c (the NATS thread) and fleet_bucket.c (entries
 * applied on the main thread).  Not for the rest of geofwd: fleet.h is. */
#ifndef GEOFWD_FLEET_INT_H
#define GEOFWD_FLEET_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <nats/nats.h>

#include "mailbox.h"
#include "fleet.h"
#include "fleetval.h"
#include "geofwd.h"

#define FLEET_SOURCE		"fleet"
#define FLEET_REV_KEY		"fleet_revision"
#define FLEET_WRITABLE_KEY	"fleet_writable"	/* the last connection's answer */
#define FLEET_PROBE_KEY		"geofw-write-probe"
#define FLEET_POLL_MS		20	/* watcher wait between outbox checks: the
					 * most a change waits before it is sent */
#define FLEET_BUSY_POLL_MS	5	/* ... while changes wait to be sent */
#define FLEET_INFLIGHT		256	/* published, ack not yet received */
#define FLEET_BURST_MAX		4096	/* entries applied in one transaction */
#define FLEET_ACK_WAIT_MS	5000
#define FLEET_BACKOFF_MIN_MS	250
#define FLEET_BACKOFF_MAX_MS	5000
#define FLEET_REOPEN_MIN_MS	2000	/* a new connection after libnats closed one */
#define FLEET_REOPEN_MAX_MS	60000
#define FLEET_HDR_EXPECT	"Nats-Expected-Last-Subject-Sequence"
#define FLEET_HEAD_MS		2000	/* how often the bucket's last revision is asked */
#define FLEET_STALL_MS		3000	/* behind the head, nothing applied for this
					 * long: the bucket is read anew */

#define FLEET_RESYNC_NOW	2

enum ev_type { EV_STATE, EV_SNAPSHOT, EV_ENTRY, EV_RESULT, EV_HEAD };

/* What became of a change handed to the worker. */
enum pub_result {
	PUB_OK,		/* in the bucket at rev */
	PUB_CONFLICT,	/* conditional: the key had changed; not written */
	PUB_REFUSED,	/* no permission; not written */
	PUB_UNANSWERED,	/* sent, no answer: it may be in the bucket */
	PUB_UNSENT,	/* never sent (the connection went first) */
};

struct fleet_entry {
	char *key, *value;	/* value NULL: deleted */
	__u64 rev;
};

struct fleet_ev {
	struct gfwd_mail mail;		/* first: posted to the main thread */
	struct fleet_ev *next;		/* the main thread's own lists */
	int type;
	/* EV_STATE */
	bool connected, writable;
	char url[GEOFW_CONF_FLEET_URL_LEN];
	char error[256];
	/* EV_ENTRY (one), EV_SNAPSHOT (n) */
	struct fleet_entry *e;
	size_t n;
	/* EV_RESULT; EV_HEAD: rev is the bucket's last revision */
	long long id;
	int result;
	__u64 rev;
};

/* A change with the worker: queued, then in flight. */
struct fleet_out {
	struct fleet_out *next;
	long long id;
	char *key, *value;
	long long expect;	/* -1: unconditional; else the key's revision now */
	natsMsg *msg;		/* in flight: the message awaiting its ack */
};

/* An outbox row, as the main thread tracks it. */
struct fleet_row {
	long long id, base;
	char *key, *value;
	bool unsure;		/* may be in the bucket already */
	bool with_worker;
	bool refused;		/* the bucket refused it (read-only): kept */
};

struct gfwd_fleet {
	struct gfwd *d;
	pthread_t thread;
	bool thread_started;
	struct gfwd_mailbox mb;		/* worker -> main thread events */
	pthread_mutex_t lock;
	pthread_cond_t wake;
	/* under lock */
	struct fleet_out *out_head, **out_tail;
	struct fleet_out *inflight;
	size_t n_inflight;
	bool stop;

	/* copies of the config: the main thread may replace d->conf */
	char bucket[GEOFW_CONF_FLEET_BUCKET_LEN];
	char subject_prefix[GEOFW_CONF_FLEET_BUCKET_LEN + 8];
	int replicas;

	/* worker's own */
	natsConnection *nc;
	natsOptions *opts;
	jsCtx *js;
	kvStore *kv;
	kvWatcher *w;
	volatile int not_permitted;	/* error handler saw a permissions violation */
	volatile int generation;	/* reconnects seen: the watcher restarts */
	long long head_asked;		/* ms (monotonic) of the last ask_head() */
	int resync;			/* main asks for a new snapshot (atomic): 1 in a
					 * while, FLEET_RESYNC_NOW at once */

	/* main thread's own */
	bool connected, writable, synced, in_step;
	int known_writable;		/* -1: never connected; else last answer */
	char url[GEOFW_CONF_FLEET_URL_LEN];
	char error[256];
	long long revision;		/* last applied */
	long long head;			/* the bucket's last revision, as last asked */
	long long behind_since;		/* ms (monotonic): behind the head since, 0: not */
	long long behind_rev;		/* the revision applied then */
	long long stall_head;		/* the head of the last re-read for a silent watcher */
	unsigned long stalls;		/* watchers read anew since start (fleet_head) */
	time_t last_update;		/* last entry applied (or snapshot) */
	struct fleet_row *rows;		/* the outbox, by id */
	size_t n_rows, cap_rows, dead_rows;
	long long loaded;		/* outbox ids up to this one are in rows */
	size_t pending, refused;
	unsigned long published, superseded;
	unsigned long asn_refused;		/* AS entries over the limit, since start */
	bool has_countries;
	struct geofw_store_countries countries;	/* the fleet's policy */
	bool crash_after_ack;		/* GEOFW_TEST_FLEET_CRASH_AFTER_ACK */
	char host[256];
};

/* fleet_worker.c: the thread and what the main thread asks of it */
void fleet_out_free(struct fleet_out *o);
int fleet_setup_options(struct gfwd_fleet *f, char *err, size_t errlen);
void fleet_drop_bucket(struct gfwd_fleet *f);
void fleet_free_entries(struct fleet_entry *e, size_t n);
void *fleet_worker(void *arg);
/* fleet_bucket.c: entries applied on the main thread */
void fleet_load_countries(struct gfwd_fleet *f, bool apply);
void fleet_apply_snapshot(struct gfwd_fleet *f, struct fleet_entry *e, size_t n);
void fleet_apply_entries(struct gfwd_fleet *f, struct fleet_entry **v, size_t n);

#endif
