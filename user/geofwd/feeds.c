// SPDX-License-Identifier: GPL-2.0-only
/*
 * Threat feeds: Feed = NAME URL-or-FILE [every D] [action A] [format F].
 *
 * One fetch job per feed (fetcher.h).  The worker GETs the feed with the
 * validators of the last good answer (If-None-Match, If-Modified-Since) and
 * parses it (importlist.h, bad entries refused one by one); the main thread
 * replaces the feed's set in one transaction and one kernel diff.
 *
 * The set is stored as one imported list (geofw_store_import(), source
 * "feed:NAME"): one row holding the sorted prefixes, not a row per prefix,
 * which is what keeps a 100k-entry FireHOL list cheap to replace
 * (docs/design-notes.md, "Threat feeds", has the measurement).
 *
 * What survives a restart: the set (rows in rules.db, enforced at start
 * like every rule) and, in the settings table under "feed:NAME", the
 * validators and time of the last good fetch with the feed's spec (URL,
 * format, action, guards), a failure (error, failures in a row) and a set
 * held back.  While the spec is unchanged a restart waits for the feed's
 * next due time (a failing feed: its next retry) and then asks
 * conditionally; a changed spec fetches at once, unconditionally.  The
 * action alone is local: a new one re-tags the set in force at once.
 * Rows removed by hand forget the validators (gfwd_feed_rows_removed).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cmd.h"
#include "ctl.h"
#include "feeds.h"
#include "fetcher.h"
#include "geofwd.h"
#include "http.h"
#include "importlist.h"
#include "jsonlib.h"
#include "log.h"
#include "msg.h"
#include "timeutil.h"

#define SOURCE_PREFIX	"feed:"		/* rules' source and the settings key */
#define FEED_REDIRECTS	5
/* After a failed fetch the next comes sooner than the interval: 5 min,
 * doubling with each failure in a row, never later than the interval. */
#define FEED_RETRY_S	300
#define FEED_SPEC_MAX	(GEOFW_CONF_FEED_URL_LEN + 128)

struct feed {
	struct geofw_conf_feed f;		/* as configured */
	char source[GFWD_SOURCE_NAME_MAX + 1];	/* "feed:NAME" */
	char url[GEOFW_CONF_FEED_URL_LEN + 8];	/* a path becomes file://PATH */
	char spec[FEED_SPEC_MAX];		/* what the validators are valid for */
	struct geofw_importlist_opts opts;
	size_t max_entries;
	unsigned int max_drop_share;		/* percent */

	/* Shared with the worker. */
	pthread_mutex_t lock;
	char etag[GEOFW_HTTP_ETAG_MAX];		/* of the set in force, or the one held */
	char last_modified[GEOFW_HTTP_DATE_MAX];
	time_t not_before;			/* restart: the first fetch waits; 0: due */

	/* Main thread only. */
	time_t next_fetch;
	/* The validators and time of the set in force, as kept in rules.db
	 * (a failure or a held set is saved beside them). */
	char state_etag[GEOFW_HTTP_ETAG_MAX], state_lm[GEOFW_HTTP_DATE_MAX];
	time_t checked;				/* 0: none known */
	unsigned int failures;			/* fetches failed in a row */
	bool holding;				/* a set waits for confirmation */
	struct geofw_importlist held;
	char held_etag[GEOFW_HTTP_ETAG_MAX], held_lm[GEOFW_HTTP_DATE_MAX];
	size_t held_removed, held_old;
	time_t held_since;
};

struct feed_result {
	double fetch_s;		/* transfer and parse */
	bool skipped;		/* not due yet (a restart): nothing fetched */
	bool not_modified;	/* 304, or a file not modified since */
	struct geofw_importlist list;
	char etag[GEOFW_HTTP_ETAG_MAX];
	char last_modified[GEOFW_HTTP_DATE_MAX];
};

/* Names of the feeds with a job (the config may be replaced under us). */
static char running[GEOFW_CONF_MAX_FEEDS][GEOFW_CONF_FEED_NAME_LEN];
static int n_running;

static const char *format_name(const struct geofw_conf_feed *f)
{
	return geofw_list_format_name(f->format);
}

/* ---- worker --------------------------------------------------------------------- */

/* The answer must be a list of the feed's format, not an error page. */
static int check_body(const struct feed *fd, const struct geofw_http_result *r, const char *url,
		      char *err, size_t errlen)
{
	size_t i = 0;

	if (!r->len)
		return geofw_errf(err, errlen, -EPROTO, "empty answer (%s)", url);
	if (!strncasecmp(r->content_type, "text/html", 9))
		return geofw_errf(err, errlen, -EPROTO, "the answer is text/html, not a %s list (%s)",
				  format_name(&fd->f), url);
	while (i < r->len && strchr(" \t\r\n", r->body[i]))
		i++;
	if (i < r->len && r->body[i] == '<')
		return geofw_errf(err, errlen, -EPROTO, "the answer looks like HTML or XML, not a "
				  "%s list (%s)", format_name(&fd->f), url);
	return 0;
}

static int check_list(const struct feed *fd, const struct geofw_importlist *l, const char *url,
		      char *err, size_t errlen)
{
	/* No entry to enforce is no list: a server regenerating its file, a
	 * list of /0s.  Taken as a set it would empty the feed once the next
	 * such answer "agrees" with the one held back. */
	if (!l->n && l->refused)
		return geofw_errf(err, errlen, -EPROTO, "nothing in the answer is a %s entry "
				  "(%zu refused, first %s) (%s)", format_name(&fd->f), l->refused,
				  l->first_refused, url);
	if (!l->n && l->too_wide)
		return geofw_errf(err, errlen, -EPROTO, "nothing in the answer is usable: %zu "
				  "prefixes shorter than FeedMinPrefixV4/V6 refused, first %s (%s)",
				  l->too_wide, l->first_refused, url);
	if (!l->n)
		return geofw_errf(err, errlen, -EPROTO, "no entries in the answer (only comments "
				  "or blank lines) (%s)", url);
	if (l->refused > l->n)
		return geofw_errf(err, errlen, -EPROTO, "more entries refused (%zu) than taken "
				  "(%zu): not a %s list? first refused %s (%s)", l->refused, l->n,
				  format_name(&fd->f), l->first_refused, url);
	if (l->n > fd->max_entries)
		return geofw_errf(err, errlen, -EFBIG, "%zu entries, more than FeedMaxEntries "
				  "(%zu) (%s)", l->n, fd->max_entries, url);
	return 0;
}

static int feed_fetch(void *ctx, const volatile int *cancel, void **result, char *err,
		      size_t errlen)
{
	struct feed *fd = ctx;
	struct geofw_http_opts o = {
		.max_redirects = FEED_REDIRECTS,
		.cancel = cancel,
		.flags = fd->f.url[0] == '/' ? GEOFW_HTTP_ALLOW_FILE : 0,
	};
	char inm[GEOFW_HTTP_ETAG_MAX], ims[GEOFW_HTTP_DATE_MAX], url[256];
	struct geofw_http_result r;
	struct feed_result *res;
	double t0 = geofw_clock_s(CLOCK_MONOTONIC);
	time_t not_before;
	int ret;

	res = calloc(1, sizeof(*res));
	if (!res)
		return -ENOMEM;
	pthread_mutex_lock(&fd->lock);
	memcpy(inm, fd->etag, sizeof(inm));
	memcpy(ims, fd->last_modified, sizeof(ims));
	not_before = fd->not_before;
	pthread_mutex_unlock(&fd->lock);
	if (not_before > time(NULL)) {
		res->skipped = true;
		*result = res;
		return 0;
	}
	geofw_http_url_for_log(fd->url, url, sizeof(url));
	if (fd->f.url[0] == '/') {
		/* A local file's validator is its identity and mtime to the
		 * nanosecond: curl's If-Modified-Since on file:// compares whole
		 * seconds, and a file replaced within one would be missed. */
		struct stat st;

		if (stat(fd->f.url, &st)) {
			ret = -errno;
			free(res);
			return geofw_errf(err, errlen, ret, "%s: %s", fd->f.url, strerror(-ret));
		}
		snprintf(res->etag, sizeof(res->etag), "file:%llx-%llx-%lld.%09ld",
			 (unsigned long long)st.st_dev, (unsigned long long)st.st_ino,
			 (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
		if (!strcmp(res->etag, inm)) {
			res->not_modified = true;
			*result = res;
			return 0;
		}
	} else {
		o.if_none_match = inm;
		o.if_modified_since = ims;
	}
	ret = geofw_http_get(fd->url, &o, &r, err, errlen);
	if (!ret && r.not_modified) {
		res->not_modified = true;
	} else if (!ret) {
		ret = check_body(fd, &r, url, err, errlen);
		if (!ret)
			ret = geofw_importlist_parse_opts(r.body, r.len, fd->f.name, &fd->opts,
							  &res->list, err, errlen);
		if (!ret)
			ret = check_list(fd, &res->list, url, err, errlen);
		if (o.flags != GEOFW_HTTP_ALLOW_FILE) {
			snprintf(res->etag, sizeof(res->etag), "%s", r.etag);
			snprintf(res->last_modified, sizeof(res->last_modified), "%s",
				 r.last_modified);
		}
	}
	geofw_http_result_free(&r);
	if (ret) {
		geofw_importlist_free(&res->list);
		free(res);
		return ret;
	}
	res->fetch_s = geofw_clock_s(CLOCK_MONOTONIC) - t0;
	*result = res;
	return 0;
}

static void feed_free_result(void *ctx, void *result)
{
	struct feed_result *res = result;

	(void)ctx;
	geofw_importlist_free(&res->list);
	free(res);
}

static void feed_free_ctx(void *ctx)
{
	struct feed *fd = ctx;

	geofw_importlist_free(&fd->held);
	pthread_mutex_destroy(&fd->lock);
	free(fd);
}

/* ---- state kept in rules.db ---------------------------------------------------- */

static void set_validators(struct feed *fd, const char *etag, const char *lm)
{
	pthread_mutex_lock(&fd->lock);
	snprintf(fd->etag, sizeof(fd->etag), "%s", etag);
	snprintf(fd->last_modified, sizeof(fd->last_modified), "%s", lm);
	pthread_mutex_unlock(&fd->lock);
}

/* The held set as text, one prefix a line (read back with the import
 * parser); NULL when out of memory. */
static char *held_text(const struct geofw_importlist *l)
{
	char *t = malloc(l->n * GEOFW_CIDR_STRLEN + 1);
	size_t i, len = 0;

	if (!t)
		return NULL;
	t[0] = '\0';
	for (i = 0; i < l->n; i++) {
		geofw_cidr_format(&l->v[i], t + len, GEOFW_CIDR_STRLEN);
		len += strlen(t + len);
		t[len++] = '\n';
		t[len] = '\0';
	}
	return t;
}

/*
 * {"spec":...,"etag":...,"last_modified":...,"checked":UNIX} of the set in
 * force, and when the feed is not in step: "failures" (in a row), "error",
 * "last_error" (UNIX), "held" {"etag","last_modified","removed","old",
 * "since","set"}.  good: the answer just applied is in force, nothing
 * failing or held.  Inside the caller's transaction.
 */
static int save_state(struct gfwd *d, const struct feed *fd, const char *etag, const char *lm,
		      time_t checked, bool good, char *err, size_t errlen)
{
	const struct gfwd_source *s = gfwd_source_get(d, fd->source);
	json_t *o = json_object(), *h = NULL;
	char *text = NULL, *set = NULL;
	int ret = -ENOMEM;

	if (!o || geofw_json_set_text(o, "spec", fd->spec) ||
	    geofw_json_set_text(o, "etag", etag) || geofw_json_set_text(o, "last_modified", lm) ||
	    json_object_set_new(o, "checked", json_integer((json_int_t)checked)))
		goto out;
	if (!good && fd->failures && s && s->error[0] &&
	    (json_object_set_new(o, "failures", json_integer(fd->failures)) ||
	     geofw_json_set_text(o, "error", s->error) ||
	     json_object_set_new(o, "last_error", json_integer((json_int_t)s->last_error))))
		goto out;
	if (!good && fd->holding &&
	    (!(set = held_text(&fd->held)) || !(h = json_object()) ||
	     geofw_json_set_text(h, "etag", fd->held_etag) ||
	     geofw_json_set_text(h, "last_modified", fd->held_lm) ||
	     json_object_set_new(h, "removed", json_integer((json_int_t)fd->held_removed)) ||
	     json_object_set_new(h, "old", json_integer((json_int_t)fd->held_old)) ||
	     json_object_set_new(h, "since", json_integer((json_int_t)fd->held_since)) ||
	     geofw_json_set_text(h, "set", set) || json_object_set(o, "held", h)))
		goto out;
	if ((text = json_dumps(o, JSON_COMPACT)))
		ret = geofw_store_set_text(d->store, fd->source, text, err, errlen);
out:
	if (ret == -ENOMEM)
		geofw_errf(err, errlen, ret, "out of memory");
	free(text);
	free(set);
	json_decref(h);
	json_decref(o);
	return ret;
}

/* The state after a fetch that left the set in force as it is (good: a 304
 * to its validators; else a failure or a set held back), in a transaction
 * of its own.  0, or -errno with err. */
static int keep_state(struct gfwd *d, struct feed *fd, bool good, char *err, size_t errlen)
{
	time_t now = time(NULL);
	int ret;

	ret = geofw_store_begin(d->store, err, errlen);
	if (ret)
		return ret;
	ret = save_state(d, fd, fd->state_etag, fd->state_lm, good ? now : fd->checked, good,
			 err, errlen);
	if (!ret)
		ret = geofw_store_commit(d->store, err, errlen);
	if (ret) {
		geofw_store_rollback(d->store);
		return ret;
	}
	if (good)
		fd->checked = now;
	return 0;
}

/* A held set saved by save_state(), back in fd (a restart). */
static void load_held(struct gfwd *d, struct feed *fd, struct gfwd_source *s, json_t *h)
{
	const char *set = json_string_value(json_object_get(h, "set"));
	const char *etag = json_string_value(json_object_get(h, "etag"));
	const char *lm = json_string_value(json_object_get(h, "last_modified"));
	char msg[GEOFW_ERRLEN];

	(void)d;
	if (!set || geofw_importlist_parse_buf(set, strlen(set), fd->source, 0, &fd->held, msg,
					       sizeof(msg))) {
		geofw_importlist_free(&fd->held);
		return;
	}
	fd->holding = true;
	fd->held_removed = (size_t)json_integer_value(json_object_get(h, "removed"));
	fd->held_old = (size_t)json_integer_value(json_object_get(h, "old"));
	fd->held_since = (time_t)json_integer_value(json_object_get(h, "since"));
	snprintf(fd->held_etag, sizeof(fd->held_etag), "%s", etag ? etag : "");
	snprintf(fd->held_lm, sizeof(fd->held_lm), "%s", lm ? lm : "");
	/* As before the restart: a 304 to these is the next fetch agreeing. */
	snprintf(fd->etag, sizeof(fd->etag), "%s", fd->held_etag);
	snprintf(fd->last_modified, sizeof(fd->last_modified), "%s", fd->held_lm);
	if (s) {
		s->held_back = true;
		snprintf(s->note, sizeof(s->note), "new set HELD BACK: it would remove %zu of %zu "
			 "entries (more than FeedMaxDropShare %u%%); `fwctl feed confirm %.47s`, "
			 "or the next fetch agreeing, applies it", fd->held_removed, fd->held_old,
			 fd->max_drop_share, fd->f.name);
	}
}

/* The retry after the failures-th failure in a row (seconds). */
static long retry_after(const struct feed *fd, unsigned int failures)
{
	long retry = (long)FEED_RETRY_S << (failures > 1 ? (failures - 1 < 8 ? failures - 1 : 8) : 0);

	return retry < (long)fd->f.every ? retry : (long)fd->f.every;
}

/*
 * A restart: when the state kept was for this very spec, the validators
 * and time of the last good fetch, a failure (shown, and retried as soon
 * as it would have been) and a set held back; the time the feed is due.
 */
static void load_state(struct gfwd *d, struct feed *fd, struct gfwd_source *s)
{
	const char *spec, *etag, *lm, *error;
	json_int_t checked = 0, last_error;
	time_t due, now = time(NULL);
	char *text = NULL;
	json_t *o, *h;

	if (geofw_store_get_text(d->store, fd->source, &text))
		return;
	o = json_loads(text, 0, NULL);
	free(text);
	if (!o)
		return;
	spec = json_string_value(json_object_get(o, "spec"));
	etag = json_string_value(json_object_get(o, "etag"));
	lm = json_string_value(json_object_get(o, "last_modified"));
	if (json_is_integer(json_object_get(o, "checked")))
		checked = json_integer_value(json_object_get(o, "checked"));
	if (!spec || strcmp(spec, fd->spec)) {
		log_info("feed %s: URL, format, action or guards changed since the last fetch: "
			 "fetching it again in full", fd->f.name);
		json_decref(o);
		return;
	}
	snprintf(fd->etag, sizeof(fd->etag), "%s", etag ? etag : "");
	snprintf(fd->last_modified, sizeof(fd->last_modified), "%s", lm ? lm : "");
	snprintf(fd->state_etag, sizeof(fd->state_etag), "%s", fd->etag);
	snprintf(fd->state_lm, sizeof(fd->state_lm), "%s", fd->last_modified);
	due = checked > 0 ? (time_t)checked + fd->f.every : 0;
	if (checked > 0) {
		fd->checked = (time_t)checked;
		if (s)
			s->last_success = fd->checked;
	}
	if ((h = json_object_get(o, "held")) && json_is_object(h)) {
		load_held(d, fd, s, h);
		if (fd->holding)
			due = fd->held_since + fd->f.every;
	}
	error = json_string_value(json_object_get(o, "error"));
	last_error = json_integer_value(json_object_get(o, "last_error"));
	fd->failures = (unsigned int)json_integer_value(json_object_get(o, "failures"));
	if (fd->failures && error && error[0] && last_error > 0) {
		due = (time_t)last_error + retry_after(fd, fd->failures);
		if (s) {
			snprintf(s->error, sizeof(s->error), "%s", error);
			s->last_error = s->last_attempt = (time_t)last_error;
		}
	} else {
		fd->failures = 0;
	}
	if (due > now)
		fd->not_before = due;
	json_decref(o);
}

int gfwd_feed_rows_removed(struct gfwd *d, const char *source, char *err, size_t errlen)
{
	struct gfwd_fetch_job *job;
	struct feed *fd;

	if (strncmp(source, SOURCE_PREFIX, strlen(SOURCE_PREFIX)))
		return 0;
	/* The validators say "the set in force is this answer": no longer
	 * true, and a 304 to them would keep the rows away for good. */
	job = gfwd_fetch_find(d, source);
	fd = job ? gfwd_fetch_ctx(job) : NULL;
	if (fd) {
		set_validators(fd, "", "");
		fd->state_etag[0] = fd->state_lm[0] = '\0';
		fd->checked = 0;	/* a restart fetches at once */
	}
	return geofw_store_set_text(d->store, source, NULL, err, errlen);
}

/* ---- apply (main thread) ----------------------------------------------------------- */

static void hold_clear(struct feed *fd, struct gfwd_source *s)
{
	geofw_importlist_free(&fd->held);
	fd->holding = false;
	if (s) {
		s->note[0] = '\0';
		s->held_back = false;
	}
}

/*
 * The feed's set becomes l in one transaction and one kernel diff.
 * guard: a set removing more than FeedMaxDropShare of the one in force is
 * held back instead (1, l moved into fd->held).  0 applied, -errno with
 * err.
 */
static int replace_set(struct gfwd *d, struct feed *fd, struct geofw_importlist *l,
		       const char *etag, const char *lm, bool guard, size_t *removed,
		       char *err, size_t errlen)
{
	struct gfwd_source *s = gfwd_source_get(d, fd->source);
	struct geofw_rule attrs = { .action = (__u8)fd->f.action, .comment = "" };
	struct geofw_kdiff diff = { 0 };
	time_t now = time(NULL);
	size_t old = geofw_store_count_source(d->store, fd->source, (__u64)now);
	int ret;

	*removed = 0;
	ret = geofw_store_begin(d->store, err, errlen);
	if (ret)
		return ret;
	ret = geofw_store_import(d->store, fd->source, l->v, l->n, &attrs, true, removed, &diff,
				 err, errlen);
	if (!ret && guard && old && fd->max_drop_share < 100 &&
	    *removed * 100 > (size_t)fd->max_drop_share * old) {
		geofw_store_rollback(d->store);
		geofw_kdiff_free(&diff);
		geofw_importlist_free(&fd->held);
		fd->held = *l;
		memset(l, 0, sizeof(*l));
		fd->holding = true;
		fd->held_removed = *removed;
		fd->held_old = old;
		fd->held_since = time(NULL);
		snprintf(fd->held_etag, sizeof(fd->held_etag), "%s", etag);
		snprintf(fd->held_lm, sizeof(fd->held_lm), "%s", lm);
		/* A 304 to these validators is the next fetch agreeing. */
		set_validators(fd, etag, lm);
		if (s) {
			s->held_back = true;
			snprintf(s->note, sizeof(s->note), "new set HELD BACK: it would remove %zu of "
				 "%zu entries (more than FeedMaxDropShare %u%%); `fwctl feed confirm "
				 "%.47s`, or the next fetch agreeing, applies it", fd->held_removed,
				 old, fd->max_drop_share, fd->f.name);
		}
		log_warn("feed %s: new set of %zu entries held back: it would remove %zu of the "
			 "%zu in force (more than FeedMaxDropShare %u%%); the set in force stays "
			 "until `fwctl feed confirm %s` or the next fetch brings the same set",
			 fd->f.name, fd->held.n, *removed, old, fd->max_drop_share, fd->f.name);
		/* Kept for a restart: still held, confirm still applies it. */
		if (keep_state(d, fd, false, err, errlen))
			log_warn("feed %s: the set held back is not kept in rules.db: %s",
				 fd->f.name, err);
		return 1;
	}
	if (!ret)
		ret = save_state(d, fd, etag, lm, now, true, err, errlen);
	ret = gfwd_commit_or_undo(d, &diff, ret, err, errlen);
	geofw_kdiff_free(&diff);
	if (ret)
		return ret;
	set_validators(fd, etag, lm);
	snprintf(fd->state_etag, sizeof(fd->state_etag), "%s", etag);
	snprintf(fd->state_lm, sizeof(fd->state_lm), "%s", lm);
	fd->checked = now;
	gfwd_arm_sweep(d);
	return 0;
}

static bool same_set(const struct geofw_importlist *a, const struct geofw_importlist *b)
{
	return a->n == b->n && (!a->n || !memcmp(a->v, b->v, a->n * sizeof(*a->v)));
}

/* Apply the held set (confirmed, or a fetch agreed with it). */
static int apply_held(struct gfwd *d, struct feed *fd, const char *why, char *err, size_t errlen)
{
	struct geofw_importlist l = fd->held;
	size_t removed;
	int ret;

	memset(&fd->held, 0, sizeof(fd->held));
	ret = replace_set(d, fd, &l, fd->held_etag, fd->held_lm, false, &removed, err, errlen);
	if (ret) {
		fd->held = l;	/* still held */
		return ret;
	}
	log_info("feed %s: held set applied (%s): %zu entries in force, %zu removed",
		 fd->f.name, why, l.n, removed);
	geofw_importlist_free(&l);
	hold_clear(fd, gfwd_source_get(d, fd->source));
	return 0;
}

static long feed_apply(struct gfwd *d, void *ctx, int ret, void *result, const char *err)
{
	struct feed *fd = ctx;
	struct gfwd_source *s = gfwd_source_get(d, fd->source);
	struct feed_result *res = result;
	char msg[GEOFW_ERRLEN] = "";
	long next_ms = (long)fd->f.every * 1000;
	size_t removed;

	if (s)
		snprintf(s->where, sizeof(s->where), "%.255s", fd->f.url);
	if (ret) {
		fd->failures++;
		next_ms = retry_after(fd, fd->failures) * 1000;
		gfwd_source_fail(s, err);
		log_warn("feed %s: fetch failed: %s; the last good set stays in force (%zu entries); "
			 "next try in %lds", fd->f.name, err,
			 geofw_store_count_source(d->store, fd->source, (__u64)time(NULL)),
			 next_ms / 1000);
		/* A restart still shows it, and retries as soon. */
		if (keep_state(d, fd, false, msg, sizeof(msg)))
			log_warn("feed %s: the failure is not kept in rules.db: %s", fd->f.name,
				 msg);
		goto out;
	}
	if (res->skipped) {
		next_ms = (long)(fd->not_before - time(NULL)) * 1000;
		if (next_ms < 0)
			next_ms = 0;
		pthread_mutex_lock(&fd->lock);
		fd->not_before = 0;
		pthread_mutex_unlock(&fd->lock);
		goto out;
	}
	fd->failures = 0;
	if (res->not_modified) {
		if (fd->holding)
			ret = apply_held(d, fd, "the next fetch agreed", msg, sizeof(msg));
		else
			ret = keep_state(d, fd, true, msg, sizeof(msg));	/* time of the check */
		if (ret) {
			gfwd_source_fail(s, msg);
			log_err(ret, "feed %s: %s", fd->f.name, msg);
		} else {
			gfwd_source_ok(s);
			log_debug("feed %s: not modified", fd->f.name);
		}
		goto out;
	}
	if (s)
		s->refused += res->list.refused + res->list.too_wide;
	if (res->list.refused || res->list.too_wide)
		log_warn("feed %s: %zu malformed entries and %zu prefixes shorter than "
			 "FeedMinPrefixV4/V6 refused (first: %s)", fd->f.name, res->list.refused,
			 res->list.too_wide, res->list.first_refused);
	if (fd->holding && same_set(&fd->held, &res->list)) {
		snprintf(fd->held_etag, sizeof(fd->held_etag), "%s", res->etag);
		snprintf(fd->held_lm, sizeof(fd->held_lm), "%s", res->last_modified);
		ret = apply_held(d, fd, "the next fetch agreed", msg, sizeof(msg));
	} else {
		double t0 = geofw_clock_s(CLOCK_MONOTONIC);

		ret = replace_set(d, fd, &res->list, res->etag, res->last_modified, true,
				  &removed, msg, sizeof(msg));
		if (!ret) {
			if (fd->holding)
				log_info("feed %s: the set held back is dropped: this fetch passed "
					 "the guard", fd->f.name);
			hold_clear(fd, s);
			log_info("feed %s: %zu entries in force (%zu removed, %zu duplicates; "
				 "fetched and parsed in %.3f s, replaced in %.3f s)", fd->f.name,
				 res->list.n, removed, res->list.duplicates, res->fetch_s,
				 geofw_clock_s(CLOCK_MONOTONIC) - t0);
		}
	}
	if (ret < 0) {
		gfwd_source_fail(s, msg);
		log_err(ret, "feed %s: cannot apply the new set: %s; the last good set stays",
			fd->f.name, msg);
	} else {
		gfwd_source_ok(s);
	}
out:
	if (res)
		feed_free_result(ctx, res);
	fd->next_fetch = time(NULL) + next_ms / 1000;
	return next_ms;
}

static const struct gfwd_fetch_ops feed_ops = {
	.fetch = feed_fetch,
	.apply = feed_apply,
	.free_result = feed_free_result,
	.free_ctx = feed_free_ctx,
};

/* ---- start, reload ------------------------------------------------------------------ */

static void make_spec(struct feed *fd)
{
	snprintf(fd->spec, sizeof(fd->spec), "%s format=%s column=%u action=%s min4=%u min6=%u "
		 "max=%zu", fd->f.url, format_name(&fd->f), fd->f.column,
		 geofw_action_name(fd->f.action), fd->opts.min_prefix4, fd->opts.min_prefix6,
		 fd->max_entries);
}

static struct feed *feed_new(const struct geofw_conf *c, const struct geofw_conf_feed *f)
{
	struct feed *fd = calloc(1, sizeof(*fd));

	if (!fd)
		return NULL;
	fd->f = *f;
	snprintf(fd->source, sizeof(fd->source), SOURCE_PREFIX "%s", f->name);
	snprintf(fd->url, sizeof(fd->url), "%s%s", f->url[0] == '/' ? "file://" : "", f->url);
	fd->opts.format = f->format;
	fd->opts.column = f->column;
	fd->opts.min_prefix4 = c->feed_min_prefix4;
	fd->opts.min_prefix6 = c->feed_min_prefix6;
	fd->opts.per_entry = true;
	fd->max_entries = c->feed_max_entries;
	fd->max_drop_share = c->feed_max_drop_share;
	pthread_mutex_init(&fd->lock, NULL);
	make_spec(fd);
	return fd;
}

static int first_action(const struct geofw_rule *r, void *ctx)
{
	*(int *)ctx = r->action;
	return 1;
}

/*
 * The action is local config, not part of what is fetched: a Feed line's
 * new action applies to the set in force at once (start, reload), without
 * waiting for a download that may fail for a while.
 */
static void retag(struct gfwd *d, const struct feed *fd)
{
	struct geofw_rule attrs = { .action = (__u8)fd->f.action, .comment = "" };
	struct geofw_kdiff diff = { 0 };
	char msg[GEOFW_ERRLEN] = "";
	int action = -1, ret;
	size_t removed;

	geofw_store_for_each_rule(d->store, GEOFW_RULE_BLOCK, fd->source, first_action, &action);
	if (action < 0 || action == (int)fd->f.action)
		return;
	/* Nothing added (n = 0, no replace): the list keeps its prefixes and
	 * takes the action; the diff holds each of them. */
	ret = geofw_store_begin(d->store, msg, sizeof(msg));
	if (!ret)
		ret = geofw_store_import(d->store, fd->source, NULL, 0, &attrs, false, &removed,
					 &diff, msg, sizeof(msg));
	ret = gfwd_commit_or_undo(d, &diff, ret, msg, sizeof(msg));
	geofw_kdiff_free(&diff);
	if (ret)
		log_err(ret, "feed %s: the set in force keeps action %s, not %s: %s", fd->f.name,
			geofw_action_name((unsigned int)action), geofw_action_name(fd->f.action),
			msg);
	else
		log_info("feed %s: the set in force now has action %s (was %s)", fd->f.name,
			 geofw_action_name(fd->f.action), geofw_action_name((unsigned int)action));
}

/* Same feed, same guards: the job goes on as it is. */
static bool feed_same(const struct feed *fd, const struct geofw_conf *c,
		      const struct geofw_conf_feed *f)
{
	return !memcmp(&fd->f, f, sizeof(*f)) && fd->opts.min_prefix4 == c->feed_min_prefix4 &&
	       fd->opts.min_prefix6 == c->feed_min_prefix6 &&
	       fd->max_entries == c->feed_max_entries &&
	       fd->max_drop_share == c->feed_max_drop_share;
}

static const struct geofw_conf_feed *conf_feed(const struct geofw_conf *c, const char *name)
{
	int i;

	for (i = 0; i < c->n_feeds; i++)
		if (!strcmp(c->feeds[i].name, name))
			return &c->feeds[i];
	return NULL;
}

static struct feed *feed_find(struct gfwd *d, const char *name, struct gfwd_fetch_job **job)
{
	char source[GFWD_SOURCE_NAME_MAX + 1];

	snprintf(source, sizeof(source), SOURCE_PREFIX "%s", name);
	*job = gfwd_fetch_find(d, source);
	return *job ? gfwd_fetch_ctx(*job) : NULL;
}

/* A feed no longer configured: its rules and kept state go, in one change. */
static void feed_drop(struct gfwd *d, const char *source)
{
	struct geofw_kdiff diff = { 0 };
	char msg[GEOFW_ERRLEN] = "";
	long n;
	int ret;

	ret = geofw_store_begin(d->store, msg, sizeof(msg));
	if (ret)
		goto fail;
	n = geofw_store_del_source(d->store, source, &diff, msg, sizeof(msg));
	ret = n < 0 ? (int)n : geofw_store_set_text(d->store, source, NULL, msg, sizeof(msg));
	ret = gfwd_commit_or_undo(d, &diff, ret, msg, sizeof(msg));
	geofw_kdiff_free(&diff);
	if (ret)
		goto fail;
	gfwd_source_drop(d, source);
	log_info("%s: no longer configured: its %ld rules removed", source, n);
	gfwd_arm_sweep(d);
	return;
fail:
	log_err(ret, "%s: no longer configured, but its rules cannot be removed: %s "
		"(`fwctl del-source %s` removes them)", source, msg, source);
}

struct gone {
	struct gfwd *d;
	char source[GEOFW_CONF_MAX_FEEDS][GFWD_SOURCE_NAME_MAX + 1];
	int n;
};

/* Collected first: the rows are removed once the walk is over. */
static int find_unconfigured(const char *key, void *ctx)
{
	struct gone *g = ctx;

	if (conf_feed(&g->d->conf, key + strlen(SOURCE_PREFIX)))
		return 0;
	snprintf(g->source[g->n++], sizeof(g->source[0]), "%s", key);
	return g->n == GEOFW_CONF_MAX_FEEDS;	/* the rest at the next reload */
}

void gfwd_feeds_sync(struct gfwd *d)
{
	char source[GFWD_SOURCE_NAME_MAX + 1];
	struct gfwd_fetch_job *job;
	struct gone *gone;
	struct feed *fd;
	int i, j;

	/* Jobs of feeds gone or changed stop; a changed feed keeps its set
	 * until its new job's first fetch replaces it. */
	for (i = 0; i < n_running; i++) {
		const struct geofw_conf_feed *f = conf_feed(&d->conf, running[i]);

		fd = feed_find(d, running[i], &job);
		if (f && fd && feed_same(fd, &d->conf, f))
			continue;
		if (job)
			gfwd_fetch_remove(d, job);
		if (!f) {
			snprintf(source, sizeof(source), SOURCE_PREFIX "%s", running[i]);
			feed_drop(d, source);
			gfwd_source_drop(d, source);
		}
		memmove(running[i], running[i + 1], (size_t)(n_running - i - 1) * sizeof(running[0]));
		n_running--;
		i--;
	}
	/* Feeds removed while geofwd was stopped left their state behind. */
	gone = calloc(1, sizeof(*gone));
	if (gone) {
		gone->d = d;
		geofw_store_setting_keys(d->store, SOURCE_PREFIX, find_unconfigured, gone);
		for (i = 0; i < gone->n; i++)
			feed_drop(d, gone->source[i]);
		free(gone);
	}

	for (j = 0; j < d->conf.n_feeds; j++) {
		const struct geofw_conf_feed *f = &d->conf.feeds[j];
		struct gfwd_source *s;

		if (feed_find(d, f->name, &job))
			continue;
		fd = feed_new(&d->conf, f);
		if (!fd) {
			log_err(-ENOMEM, "feed %s: out of memory", f->name);
			continue;
		}
		s = gfwd_source_get(d, fd->source);
		if (s) {
			snprintf(s->where, sizeof(s->where), "%.255s", f->url);
			s->configured = true;
			s->note[0] = '\0';
		}
		if (f->url[0] != '/' && f->every < 60)
			log_warn("feed %s: fetched every %us, more than once a minute: feed owners "
				 "ask for far less (Spamhaus: at most hourly) and may block hosts that "
				 "fetch too often", f->name, f->every);
		retag(d, fd);
		load_state(d, fd, s);
		fd->next_fetch = fd->not_before ? fd->not_before : time(NULL);
		if (fd->not_before)
			log_info("feed %s: the set of the last fetch is in force; next fetch in %lds",
				 f->name, (long)(fd->not_before - time(NULL)));
		if (!gfwd_fetch_add(d, fd->source, (long)f->every * 1000, &feed_ops, fd))
			continue;
		snprintf(running[n_running++], sizeof(running[0]), "%s", f->name);
	}
}

/* ---- fwctl feed ... -------------------------------------------------------------- */

static json_t *feed_json(struct gfwd *d, const struct feed *fd, const struct gfwd_source *s,
			 size_t entries)
{
	json_t *o = json_object(), *h = json_null();

	if (fd->holding)
		h = json_pack("{s:I,s:I,s:I,s:I}", "entries", (json_int_t)fd->held.n,
			      "would_remove", (json_int_t)fd->held_removed, "of",
			      (json_int_t)fd->held_old, "since", (json_int_t)fd->held_since);
	(void)d;
	if (!o || !h || geofw_json_set_text(o, "name", fd->f.name) ||
	    geofw_json_set_text(o, "source", fd->source) ||
	    geofw_json_set_text(o, "url", fd->f.url) ||
	    json_object_set_new(o, "format", json_string(format_name(&fd->f))) ||
	    json_object_set_new(o, "every", json_integer(fd->f.every)) ||
	    json_object_set_new(o, "action", json_string(geofw_action_name(fd->f.action))) ||
	    json_object_set_new(o, "entries", json_integer((json_int_t)entries)) ||
	    json_object_set_new(o, "last_success", json_integer(s ? s->last_success : 0)) ||
	    json_object_set_new(o, "last_attempt", json_integer(s ? s->last_attempt : 0)) ||
	    json_object_set_new(o, "last_error", json_integer(s ? s->last_error : 0)) ||
	    geofw_json_set_text(o, "error", s ? s->error : "") ||
	    json_object_set_new(o, "refused", json_integer(s ? (json_int_t)s->refused : 0)) ||
	    json_object_set_new(o, "next_fetch", json_integer(fd->next_fetch)) ||
	    json_object_set_new(o, "held_back", h)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* One JSON answer (takes the reference; NULL: out of memory). */
static int put_doc(struct geofw_ctl_writer *w, json_t *doc, char *err, size_t errlen)
{
	char *line = doc ? geofw_json_line(doc) : NULL;

	json_decref(doc);
	if (!line)
		return geofw_errf(err, errlen, GEOFW_CTL_REJECTED, "out of memory");
	geofw_ctl_writef(w, "%s", line);
	free(line);
	return GEOFW_CTL_OK;
}

static int feed_list(struct gfwd *d, bool json, struct geofw_ctl_writer *w, char *err,
		     size_t errlen)
{
	json_t *doc = json ? json_pack("{s:[]}", "feeds") : NULL;
	struct gfwd_fetch_job *job;
	int i;

	if (json && !doc)
		return geofw_errf(err, errlen, GEOFW_CTL_REJECTED, "out of memory");
	if (!d->conf.n_feeds && !json)
		geofw_ctl_writef(w, "no feeds: geofw.conf has no Feed line\n");
	for (i = 0; i < d->conf.n_feeds; i++) {
		struct feed *fd = feed_find(d, d->conf.feeds[i].name, &job);
		const struct gfwd_source *s;
		char a[32], b[32], c[32], e[16];
		size_t entries;

		if (!fd)
			continue;
		s = gfwd_source_get(d, fd->source);
		entries = geofw_store_count_source(d->store, fd->source, (__u64)time(NULL));
		if (json) {
			json_t *o = feed_json(d, fd, s, entries);

			if (!o || json_array_append_new(json_object_get(doc, "feeds"), o)) {
				json_decref(doc);
				return geofw_errf(err, errlen, GEOFW_CTL_REJECTED, "out of memory");
			}
			continue;
		}
		geofw_ago_format(s ? s->last_success : 0, time(NULL), a, sizeof(a));
		geofw_ago_format(fd->next_fetch, time(NULL), b, sizeof(b));
		geofw_duration_format(fd->f.every, GEOFW_DURATION_EXACT, e, sizeof(e));
		geofw_ctl_writef(w, "feed %s: %s (%s, every %s, action %s)\n"
				 "  entries in force: %zu, last success %s, next fetch %s",
				 fd->f.name, fd->f.url, format_name(&fd->f), e,
				 geofw_action_name(fd->f.action), entries, a,
				 fd->next_fetch <= time(NULL) ? "now" : b);
		if (s && s->refused)
			geofw_ctl_writef(w, ", %lu entries refused since start", s->refused);
		geofw_ctl_writef(w, "\n");
		if (s && s->error[0]) {
			geofw_ago_format(s->last_error, time(NULL), c, sizeof(c));
			geofw_ctl_writef(w, "  FAILING: last error %s: %s (the last good set stays "
					 "in force)\n", c, s->error);
		}
		if (fd->holding) {
			geofw_ago_format(fd->held_since, time(NULL), c, sizeof(c));
			geofw_ctl_writef(w, "  HELD BACK since %s: a set of %zu entries that would "
					 "remove %zu of %zu; fwctl feed confirm %s applies it\n", c,
					 fd->held.n, fd->held_removed, fd->held_old, fd->f.name);
		}
	}
	if (json)
		return put_doc(w, doc, err, errlen);
	return GEOFW_CTL_OK;
}

int gfwd_feed_command(struct gfwd *d, const struct geofw_cmd *cmd, bool json,
		      struct geofw_ctl_writer *w, char *err, size_t errlen)
{
	struct gfwd_fetch_job *job;
	char msg[GEOFW_ERRLEN];
	struct feed *fd;
	size_t n;

	if (cmd->id == GEOFW_CMD_FEED_LIST)
		return feed_list(d, json, w, err, errlen);
	fd = feed_find(d, cmd->source, &job);
	if (!fd)
		return geofw_errf(err, errlen, GEOFW_CTL_REJECTED, "no feed %s in %s (Feed lines)",
				  cmd->source, d->conf_path);
	if (cmd->id == GEOFW_CMD_FEED_REFRESH) {
		pthread_mutex_lock(&fd->lock);
		fd->not_before = 0;
		pthread_mutex_unlock(&fd->lock);
		gfwd_fetch_refresh(job);
		fd->next_fetch = time(NULL);
		log_info("feed %s: refresh asked", fd->f.name);
		if (json)
			return put_doc(w, json_pack("{s:b,s:s,s:s}", "ok", 1, "what", "refresh",
						    "feed", fd->f.name), err, errlen);
		geofw_ctl_writef(w, "ok: feed %s: fetch started (fwctl feed list shows how it "
				 "went)\n", fd->f.name);
		return GEOFW_CTL_OK;
	}
	if (!fd->holding)
		return geofw_errf(err, errlen, GEOFW_CTL_REJECTED, "feed %s has no set held back",
				  fd->f.name);
	n = fd->held.n;
	if (apply_held(d, fd, "confirmed with fwctl feed confirm", msg, sizeof(msg)))
		return geofw_errf(err, errlen, GEOFW_CTL_REJECTED, "feed %s: %s", fd->f.name, msg);
	if (json)
		return put_doc(w, json_pack("{s:b,s:s,s:s,s:I}", "ok", 1, "what", "confirm", "feed",
					    fd->f.name, "count", (json_int_t)n), err, errlen);
	geofw_ctl_writef(w, "ok: feed %s: the held set of %zu entries is in force\n", fd->f.name,
			 n);
	return GEOFW_CTL_OK;
}
