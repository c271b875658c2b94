/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Rule sources that geofwd fetches (CrowdSec, threat feeds): a worker per
 * job, and the status every source keeps (fetcher.c).
 *
 * Threads.  Fetching blocks (HTTP through http.h, parsing), so each job has
 * a worker thread that runs its fetch callback; the result goes to the
 * event loop through a locked queue and one eventfd, and the main thread
 * runs the job's apply callback, which does every store and kernel write
 * in its own transaction.  A job has at most one result in flight: the
 * worker waits until apply has run before it schedules the next fetch, so
 * results are applied in order and apply may change what the next fetch
 * asks for (e.g. "startup=true after an error").
 *
 *	static int my_fetch(void *ctx, const volatile int *cancel, void **result,
 *			    char *err, size_t errlen);	// worker thread
 *	static long my_apply(struct gfwd *d, void *ctx, int ret, void *result,
 *			     const char *err);		// main thread
 *	static const struct gfwd_fetch_ops my_ops = { my_fetch, my_apply, my_free, NULL };
 *
 *	job = gfwd_fetch_add(d, "crowdsec", 10000, &my_ops, ctx);
 *	...
 *	gfwd_fetch_refresh(job);	// fwctl: fetch now
 *	gfwd_fetch_remove(d, job);	// reload: the job goes (ctx freed)
 *
 * apply must not add or remove jobs (a reload or a control request does
 * that, outside gfwd_fetch_event()).
 *
 * The worker never touches d (the store, the maps, d->conf: a reload may
 * replace the config while it runs): what fetch needs is copied into ctx
 * when the job is added, and fields of ctx that apply changes for the
 * next fetch must be read by fetch with __atomic loads (or be set before
 * the job starts).
 */
#ifndef GEOFWD_FETCHER_H
#define GEOFWD_FETCHER_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "jsonlib.h"

struct gfwd;
struct gfwd_fetch_job;
struct geofw_ctl_writer;
struct geofw_metrics_info;

struct gfwd_fetch_ops {
	/*
	 * Worker thread.  Fetch and parse; *result (NULL allowed) goes to
	 * apply.  0, or -errno with err (one line) saying why.  Return soon
	 * once *cancel is non-zero (pass it to geofw_http_opts.cancel).
	 */
	int (*fetch)(void *ctx, const volatile int *cancel, void **result, char *err,
		     size_t errlen);
	/*
	 * Main thread.  ret and err are fetch's; apply owns result.  Returns
	 * the milliseconds until the next fetch, or < 0 for the job's interval
	 * (counted from now).
	 */
	long (*apply)(struct gfwd *d, void *ctx, int ret, void *result, const char *err);
	/* A result never applied (the job removed first); NULL: free(). */
	void (*free_result)(void *ctx, void *result);
	/* Frees ctx when the job is removed; NULL: free(). */
	void (*free_ctx)(void *ctx);
};

/*
 * Start a job: its first fetch runs at once, then every interval_ms after
 * each apply.  name is for logs (the job's source, "crowdsec", "feed:X").
 * The job owns ctx from here on, also on failure (NULL: logged).
 */
struct gfwd_fetch_job *gfwd_fetch_add(struct gfwd *d, const char *name, long interval_ms,
				      const struct gfwd_fetch_ops *ops, void *ctx);
/* Fetch now (fwctl); a fetch under way is not started again. */
void gfwd_fetch_refresh(struct gfwd_fetch_job *job);
/* The job by name, NULL when none. */
struct gfwd_fetch_job *gfwd_fetch_find(struct gfwd *d, const char *name);
void *gfwd_fetch_ctx(struct gfwd_fetch_job *job);
/* Stop the worker (a transfer under way is cancelled), drop its results
 * not yet applied, free ctx. */
void gfwd_fetch_remove(struct gfwd *d, struct gfwd_fetch_job *job);
/* Shutdown: every job removed, the eventfd closed. */
void gfwd_fetch_close(struct gfwd *d);
/* The event loop's: false when fd is not the fetcher's. */
bool gfwd_fetch_event(struct gfwd *d, int fd);

/* ---- per-source status ----------------------------------------------------------- */

#define GFWD_SOURCE_NAME_MAX	128	/* = GEOFW_STORE_SOURCE_MAX */
#define GFWD_SOURCE_ERR_MAX	512

/*
 * What an operator sees of each source in `fwctl status` (text and -j) and
 * /metrics.  Kept by the main thread; the source fills it in from its
 * apply callback (and its rule count whenever its rules change).
 */
struct gfwd_source {
	char name[GFWD_SOURCE_NAME_MAX + 1];	/* "crowdsec", "feed:NAME", "fail2ban" */
	char where[256];			/* URL or file it comes from, "" */
	bool configured;			/* false: only rules left in the store */
	size_t rules;				/* rules of this source in force */
	time_t last_attempt;			/* 0: never */
	time_t last_success;			/* 0: never */
	unsigned long successes, errors;	/* fetches, since geofwd started */
	char error[GFWD_SOURCE_ERR_MAX];	/* last error, "" after a success */
	time_t last_error;			/* when, 0: never */
	unsigned long refused;			/* entries refused, since start */
	char note[256];				/* one line of state ("startup pull next") */
	bool held_back;				/* a fetched set waits for confirmation */
};

#define GFWD_MAX_SOURCES	64

/* The record of name, made when new (NULL when the table is full). */
struct gfwd_source *gfwd_source_get(struct gfwd *d, const char *name);
/* A source that is no longer configured leaves the table. */
void gfwd_source_drop(struct gfwd *d, const char *name);
/* A fetch that worked (clears the error) or failed (err one line). */
void gfwd_source_ok(struct gfwd_source *s);
void gfwd_source_fail(struct gfwd_source *s, const char *err);

/* Configured sources whose last fetch failed: fwctl status exits 1. */
size_t gfwd_sources_failing(struct gfwd *d);
/* fwctl status: one line per source ("source crowdsec: 12 rules, ..."). */
void gfwd_sources_text(struct gfwd *d, struct geofw_ctl_writer *w);
/* fwctl status -j: the "sources" array (new reference; NULL on ENOMEM). */
json_t *gfwd_sources_json(struct gfwd *d);
/* /metrics: the geofw_source_* families (points into d; valid until the
 * next change of the table). */
void gfwd_sources_metrics(const struct gfwd *d, struct geofw_metrics_info *in);

#endif
