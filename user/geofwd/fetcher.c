// SPDX-License-Identifier: GPL-2.0-only
/*
 * Fetched rule sources: a worker thread per job, results to the event loop
 * through a mailbox (mailbox.h, shared with the fleet's worker), and the
 * status of every source (fetcher.h).  The worker never writes the store or
 * the maps; the main thread applies in its own transaction.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "fetcher.h"
#include "geofwd.h"
#include "jsonlib.h"
#include "log.h"
#include "mailbox.h"
#include "metrics.h"
#include "timeutil.h"

struct gfwd_fetch_job {
	struct gfwd_fetch_job *next;
	struct gfwd_fetcher *fr;
	char name[GFWD_SOURCE_NAME_MAX + 1];
	const struct gfwd_fetch_ops *ops;
	void *ctx;
	long interval_ms;
	pthread_t thread;
	bool started;
	volatile int cancel;		/* set once, on removal: aborts a transfer */

	/* under lock */
	pthread_mutex_t lock;
	pthread_cond_t wake;		/* CLOCK_MONOTONIC */
	bool stop, refresh, applied;
	struct timespec due;		/* next fetch */
};

struct fetch_ev {
	struct gfwd_mail mail;		/* first */
	struct gfwd_fetch_job *job;
	int ret;
	void *result;
	char err[GFWD_SOURCE_ERR_MAX];
};

struct gfwd_fetcher {
	struct gfwd_mailbox mb;		/* workers' results */

	/* main thread's own */
	struct gfwd_fetch_job *jobs;
	struct gfwd_source src[GFWD_MAX_SOURCES];
	size_t n_src;
	struct geofw_metrics_source msrc[GFWD_MAX_SOURCES];
};

static void ts_after(struct timespec *ts, long ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static bool ts_reached(const struct timespec *ts)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > ts->tv_sec || (now.tv_sec == ts->tv_sec && now.tv_nsec >= ts->tv_nsec);
}

static struct gfwd_fetcher *fetcher(struct gfwd *d)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct gfwd_fetcher *fr;

	if (d->fetcher)
		return d->fetcher;
	if (!(fr = calloc(1, sizeof(*fr))))
		return NULL;
	if (gfwd_mailbox_init(&fr->mb, "sources")) {
		free(fr);
		return NULL;
	}
	ev.data.fd = fr->mb.evfd;
	if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, fr->mb.evfd, &ev)) {
		log_err(-errno, "sources: epoll: %s", strerror(errno));
		gfwd_mailbox_destroy(&fr->mb);
		free(fr);
		return NULL;
	}
	d->fetcher = fr;
	return fr;
}

/* ---- worker ----------------------------------------------------------------------- */

static void post(struct gfwd_fetcher *fr, struct fetch_ev *ev)
{
	gfwd_mailbox_post(&fr->mb, &ev->mail);
}

static void *worker(void *arg)
{
	struct gfwd_fetch_job *job = arg;

	for (;;) {
		struct fetch_ev *ev;

		pthread_mutex_lock(&job->lock);
		while (!job->stop && !job->refresh && !ts_reached(&job->due))
			pthread_cond_timedwait(&job->wake, &job->lock, &job->due);
		if (job->stop) {
			pthread_mutex_unlock(&job->lock);
			break;
		}
		job->refresh = false;
		job->applied = false;
		pthread_mutex_unlock(&job->lock);

		ev = calloc(1, sizeof(*ev));
		if (!ev) {
			pthread_mutex_lock(&job->lock);
			ts_after(&job->due, job->interval_ms);
			pthread_mutex_unlock(&job->lock);
			continue;
		}
		ev->job = job;
		ev->ret = job->ops->fetch(job->ctx, &job->cancel, &ev->result, ev->err,
					  sizeof(ev->err));
		if (ev->ret && !ev->err[0])
			snprintf(ev->err, sizeof(ev->err), "%s", strerror(-ev->ret));
		post(job->fr, ev);

		/* One result in flight: apply decides when the next fetch is. */
		pthread_mutex_lock(&job->lock);
		while (!job->stop && !job->applied)
			pthread_cond_wait(&job->wake, &job->lock);
		pthread_mutex_unlock(&job->lock);
	}
	return NULL;
}

/* ---- main thread ------------------------------------------------------------------ */

static void free_result(struct gfwd_fetch_job *job, void *result)
{
	if (!result)
		return;
	if (job->ops->free_result)
		job->ops->free_result(job->ctx, result);
	else
		free(result);
}

static void free_job(struct gfwd_fetch_job *job)
{
	if (job->ops->free_ctx)
		job->ops->free_ctx(job->ctx);
	else
		free(job->ctx);
	pthread_mutex_destroy(&job->lock);
	pthread_cond_destroy(&job->wake);
	free(job);
}

struct gfwd_fetch_job *gfwd_fetch_add(struct gfwd *d, const char *name, long interval_ms,
				      const struct gfwd_fetch_ops *ops, void *ctx)
{
	struct gfwd_fetcher *fr = fetcher(d);
	struct gfwd_fetch_job *job;
	pthread_condattr_t ca;
	int ret;

	if (!fr || !(job = calloc(1, sizeof(*job)))) {
		log_err(-ENOMEM, "%s: cannot start its worker: out of memory", name);
		if (ops->free_ctx)
			ops->free_ctx(ctx);
		else
			free(ctx);
		return NULL;
	}
	job->fr = fr;
	snprintf(job->name, sizeof(job->name), "%s", name);
	job->ops = ops;
	job->ctx = ctx;
	job->interval_ms = interval_ms > 0 ? interval_ms : 1000;
	pthread_mutex_init(&job->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&job->wake, &ca);
	pthread_condattr_destroy(&ca);
	ts_after(&job->due, 0);
	ret = pthread_create(&job->thread, NULL, worker, job);
	if (ret) {
		log_err(-ret, "%s: cannot start its worker thread: %s", name, strerror(ret));
		free_job(job);
		return NULL;
	}
	job->started = true;
	job->next = fr->jobs;
	fr->jobs = job;
	return job;
}

void gfwd_fetch_refresh(struct gfwd_fetch_job *job)
{
	pthread_mutex_lock(&job->lock);
	job->refresh = true;
	pthread_cond_broadcast(&job->wake);
	pthread_mutex_unlock(&job->lock);
}

struct gfwd_fetch_job *gfwd_fetch_find(struct gfwd *d, const char *name)
{
	struct gfwd_fetch_job *job;

	for (job = d->fetcher ? d->fetcher->jobs : NULL; job; job = job->next)
		if (!strcmp(job->name, name))
			return job;
	return NULL;
}

void *gfwd_fetch_ctx(struct gfwd_fetch_job *job)
{
	return job->ctx;
}

/* gfwd_mailbox_drop(): a result of the job being removed, freed with it. */
static bool drop_job_result(struct gfwd_mail *m, void *arg)
{
	struct fetch_ev *ev = (struct fetch_ev *)m;
	struct gfwd_fetch_job *job = arg;

	if (ev->job != job)
		return false;
	free_result(job, ev->result);
	free(ev);
	return true;
}

void gfwd_fetch_remove(struct gfwd *d, struct gfwd_fetch_job *job)
{
	struct gfwd_fetcher *fr = d->fetcher;
	struct gfwd_fetch_job **pp;

	if (!job || !fr)
		return;
	for (pp = &fr->jobs; *pp && *pp != job; pp = &(*pp)->next)
		;
	if (*pp)
		*pp = job->next;
	__atomic_store_n(&job->cancel, 1, __ATOMIC_RELEASE);
	pthread_mutex_lock(&job->lock);
	job->stop = true;
	pthread_cond_broadcast(&job->wake);
	pthread_mutex_unlock(&job->lock);
	if (job->started)
		pthread_join(job->thread, NULL);
	/* Its results not applied yet go with it. */
	gfwd_mailbox_drop(&fr->mb, drop_job_result, job);
	free_job(job);
}

void gfwd_fetch_close(struct gfwd *d)
{
	struct gfwd_fetcher *fr = d->fetcher;

	if (!fr)
		return;
	while (fr->jobs)
		gfwd_fetch_remove(d, fr->jobs);
	gfwd_mailbox_destroy(&fr->mb);
	free(fr);
	d->fetcher = NULL;
}

bool gfwd_fetch_event(struct gfwd *d, int fd)
{
	struct gfwd_fetcher *fr = d->fetcher;
	struct gfwd_mail *m, *next;

	if (!fr || fd != fr->mb.evfd)
		return false;
	for (m = gfwd_mailbox_take(&fr->mb); m; m = next) {
		struct fetch_ev *ev = (struct fetch_ev *)m;
		struct gfwd_fetch_job *job = ev->job;
		long next_ms;

		next = m->next;
		next_ms = job->ops->apply(d, job->ctx, ev->ret, ev->result, ev->err);
		pthread_mutex_lock(&job->lock);
		ts_after(&job->due, next_ms >= 0 ? next_ms : job->interval_ms);
		job->applied = true;
		pthread_cond_broadcast(&job->wake);
		pthread_mutex_unlock(&job->lock);
		free(ev);
	}
	return true;
}

/* ---- per-source status -------------------------------------------------------------- */

struct gfwd_source *gfwd_source_get(struct gfwd *d, const char *name)
{
	struct gfwd_fetcher *fr = fetcher(d);
	struct gfwd_source *s;
	size_t i;

	if (!fr)
		return NULL;
	for (i = 0; i < fr->n_src; i++)
		if (!strcmp(fr->src[i].name, name))
			return &fr->src[i];
	if (fr->n_src == GFWD_MAX_SOURCES) {
		log_warn("sources: more than %d sources; %s is not shown in status",
			 GFWD_MAX_SOURCES, name);
		return NULL;
	}
	s = &fr->src[fr->n_src++];
	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->configured = true;
	return s;
}

void gfwd_source_drop(struct gfwd *d, const char *name)
{
	struct gfwd_fetcher *fr = d->fetcher;
	size_t i;

	for (i = 0; fr && i < fr->n_src; i++) {
		if (strcmp(fr->src[i].name, name))
			continue;
		memmove(&fr->src[i], &fr->src[i + 1], (fr->n_src - i - 1) * sizeof(fr->src[0]));
		fr->n_src--;
		return;
	}
}

void gfwd_source_ok(struct gfwd_source *s)
{
	if (!s)
		return;
	s->last_attempt = s->last_success = time(NULL);
	s->successes++;
	s->error[0] = '\0';
}

void gfwd_source_fail(struct gfwd_source *s, const char *err)
{
	if (!s)
		return;
	s->last_attempt = s->last_error = time(NULL);
	s->errors++;
	snprintf(s->error, sizeof(s->error), "%s", err && err[0] ? err : "failed");
}

/* Rules in force are counted from the store when shown: expiry and other
 * writers (fwctl del-source) change them behind the source's back. */
static void count_rules(const struct gfwd *d)
{
	struct gfwd_fetcher *fr = d->fetcher;
	size_t i;

	for (i = 0; fr && i < fr->n_src; i++)
		fr->src[i].rules = geofw_store_count_source(d->store, fr->src[i].name,
							    (__u64)time(NULL));
}

size_t gfwd_sources_failing(struct gfwd *d)
{
	struct gfwd_fetcher *fr = d->fetcher;
	size_t i, n = 0;

	for (i = 0; fr && i < fr->n_src; i++)
		n += fr->src[i].configured && fr->src[i].error[0];
	return n;
}

void gfwd_sources_text(struct gfwd *d, struct geofw_ctl_writer *w)
{
	struct gfwd_fetcher *fr = d->fetcher;
	size_t i;

	count_rules(d);
	for (i = 0; fr && i < fr->n_src; i++) {
		const struct gfwd_source *s = &fr->src[i];
		char ok[32], bad[32];

		geofw_ago_format(s->last_success, time(NULL), ok, sizeof(ok));
		geofw_ago_format(s->last_error, time(NULL), bad, sizeof(bad));
		geofw_ctl_writef(w, "source %s: %zu rule%s in force, last success %s", s->name,
				 s->rules, s->rules == 1 ? "" : "s", ok);
		if (s->refused)
			geofw_ctl_writef(w, ", %lu entr%s refused", s->refused,
					 s->refused == 1 ? "y" : "ies");
		if (!s->configured)
			geofw_ctl_writef(w, " (no longer configured)");
		geofw_ctl_writef(w, "\n");
		if (s->error[0])
			geofw_ctl_writef(w, "source %s: FAILING, last error %s: %s%s\n", s->name,
					 bad, s->error, s->last_success ? " (the rules in force "
					 "stay until they expire)" : "");
		if (s->note[0])
			geofw_ctl_writef(w, "source %s: %s\n", s->name, s->note);
	}
}

json_t *gfwd_sources_json(struct gfwd *d)
{
	struct gfwd_fetcher *fr = d->fetcher;
	json_t *a = json_array();
	size_t i;

	if (!a)
		return NULL;
	count_rules(d);
	for (i = 0; fr && i < fr->n_src; i++) {
		const struct gfwd_source *s = &fr->src[i];
		json_t *o = json_object();

		if (!o || json_array_append_new(a, o) ||
		    geofw_json_set_text(o, "name", s->name) ||
		    geofw_json_set_text(o, "from", s->where) ||
		    json_object_set_new(o, "configured", json_boolean(s->configured)) ||
		    json_object_set_new(o, "rules", json_integer((json_int_t)s->rules)) ||
		    json_object_set_new(o, "last_attempt", json_integer(s->last_attempt)) ||
		    json_object_set_new(o, "last_success", json_integer(s->last_success)) ||
		    json_object_set_new(o, "successes", json_integer((json_int_t)s->successes)) ||
		    json_object_set_new(o, "errors", json_integer((json_int_t)s->errors)) ||
		    geofw_json_set_text(o, "error", s->error) ||
		    json_object_set_new(o, "last_error", json_integer(s->last_error)) ||
		    json_object_set_new(o, "refused", json_integer((json_int_t)s->refused)) ||
		    json_object_set_new(o, "held_back", json_boolean(s->held_back)) ||
		    geofw_json_set_text(o, "note", s->note)) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

void gfwd_sources_metrics(const struct gfwd *d, struct geofw_metrics_info *in)
{
	struct gfwd_fetcher *fr = d->fetcher;
	size_t i;

	if (!fr)
		return;
	count_rules(d);
	for (i = 0; i < fr->n_src; i++) {
		const struct gfwd_source *s = &fr->src[i];
		struct geofw_metrics_source *m = &fr->msrc[i];

		m->name = s->name;
		m->rules = s->rules;
		m->up = s->last_success && !s->error[0];
		m->last_success = s->last_success;
		m->errors = s->errors;
		m->refused = s->refused;
		m->held_back = s->held_back;
	}
	in->sources = fr->msrc;
	in->n_sources = fr->n_src;
}
