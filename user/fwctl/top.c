// SPDX-License-Identifier: GPL-2.0-only
/*
 * fwctl top: what the firewall blocks now, over a sliding window.
 *
 * Sources come from the drop-log samples (the counters do not know
 * addresses); countries and reasons come from the counters, whose deltas give
 * exact rates.  A source's packet rate is estimated as its share of the
 * samples times the rate of sampled verdicts (blocked and logged): the
 * per-CPU limit caps every CPU alike, so the share is fair as long as the
 * flood spreads over the CPUs like the rest.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "countries.h"
#include "events.h"
#include "fwctl.h"
#include "metrics.h"
#include "timeutil.h"

#define TOP_ROWS	10		/* rows per table */
#define SAMPLES_MAX	(1u << 17)	/* kept in the window, oldest dropped */
#define SNAPS_MAX	602		/* counter snapshots kept */
#define POLL_MS		250

struct sample {
	__u64 ts_ns;			/* CLOCK_BOOTTIME */
	__u8 family;
	__u8 country_id, reason, action;
	__u8 addr[16];
};

/* A counter snapshot: what the rates are computed from. */
struct snap {
	double t;			/* CLOCK_MONOTONIC seconds */
	struct geofw_counters c;
};

struct top {
	struct sample *samples;		/* ring */
	size_t head, n;
	struct snap *snaps;		/* ring */
	size_t snap_head, n_snaps, snaps_cap;
	unsigned long received;		/* samples read, all time */
};

struct source {
	const struct sample *last;	/* most recent sample of the address */
	size_t count;
};

static int on_sample(const struct geofw_event *ev, void *arg)
{
	struct top *tp = arg;
	struct sample *s = &tp->samples[(tp->head + tp->n) % SAMPLES_MAX];

	if (tp->n == SAMPLES_MAX) {
		/* Full: the oldest goes (the window is then shorter). */
		s = &tp->samples[tp->head];
		tp->head = (tp->head + 1) % SAMPLES_MAX;
	} else {
		tp->n++;
	}
	s->ts_ns = ev->ts_ns;
	s->family = ev->family;
	s->country_id = ev->country_id;
	s->reason = ev->reason;
	s->action = ev->action;
	memcpy(s->addr, ev->saddr, 16);
	if (ev->family != 6)
		memset(s->addr + 4, 0, 12);
	tp->received++;
	return 0;
}

/* Forget the samples older than the window. */
static void expire(struct top *tp, __u64 since_ns)
{
	while (tp->n && tp->samples[tp->head].ts_ns < since_ns) {
		tp->head = (tp->head + 1) % SAMPLES_MAX;
		tp->n--;
	}
}

static int cmp_addr(const void *a, const void *b)
{
	const struct sample *x = *(const struct sample *const *)a;
	const struct sample *y = *(const struct sample *const *)b;
	int r = (int)x->family - (int)y->family;

	if (!r)
		r = memcmp(x->addr, y->addr, 16);
	if (!r)
		r = x->ts_ns < y->ts_ns ? -1 : x->ts_ns > y->ts_ns;
	return r;
}

static int cmp_count(const void *a, const void *b)
{
	const struct source *x = a, *y = b;

	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return cmp_addr(&x->last, &y->last);
}

/* The sources in the window, most samples first; returns how many. */
static size_t rank_sources(const struct top *tp, const struct sample **tmp, struct source *out)
{
	size_t i, n = 0;

	for (i = 0; i < tp->n; i++)
		tmp[i] = &tp->samples[(tp->head + i) % SAMPLES_MAX];
	qsort(tmp, tp->n, sizeof(*tmp), cmp_addr);
	for (i = 0; i < tp->n; i++) {
		if (n && out[n - 1].last->family == tmp[i]->family &&
		    !memcmp(out[n - 1].last->addr, tmp[i]->addr, 16)) {
			out[n - 1].count++;
			out[n - 1].last = tmp[i];	/* sorted by time within */
			continue;
		}
		out[n].last = tmp[i];
		out[n].count = 1;
		n++;
	}
	qsort(out, n, sizeof(*out), cmp_count);
	return n;
}

static void snap_push(struct top *tp, const struct snap *s)
{
	size_t at;

	if (tp->n_snaps == tp->snaps_cap) {
		tp->snap_head = (tp->snap_head + 1) % tp->snaps_cap;
		tp->n_snaps--;
	}
	at = (tp->snap_head + tp->n_snaps) % tp->snaps_cap;
	tp->snaps[at] = *s;
	tp->n_snaps++;
}

/* The newest snapshot and the oldest one still inside the window. */
static void snap_span(const struct top *tp, double window, const struct snap **old,
		      const struct snap **cur)
{
	size_t i;

	*cur = &tp->snaps[(tp->snap_head + tp->n_snaps - 1) % tp->snaps_cap];
	*old = &tp->snaps[tp->snap_head];
	for (i = 0; i + 1 < tp->n_snaps; i++) {
		const struct snap *s = &tp->snaps[(tp->snap_head + i) % tp->snaps_cap];

		if ((*cur)->t - s->t <= window + 0.05) {
			*old = s;
			break;
		}
	}
}

static double rate(__u64 cur, __u64 old, double dt)
{
	return cur >= old && dt > 0 ? (double)(cur - old) / dt : 0;
}

struct country_rate {
	unsigned int id;
	double blocked, logged, passed;		/* packets per second */
};

struct reason_rate {
	unsigned int id;
	double pps, bps;
};

/* One screen: rates over the window and the ranked sources. */
struct view {
	double dt;			/* seconds between the two snapshots */
	double blocked, logged, passed;	/* packets per second */
	size_t n_samples, n_sources;
	struct source *sources;
	size_t n_countries;
	struct country_rate countries[GEOFW_MAX_COUNTRIES];
	size_t n_reasons;
	struct reason_rate reasons[GEOFW_R_MAX];
	__u32 events_rate;
};

static int cmp_country(const void *a, const void *b)
{
	const struct country_rate *x = a, *y = b;
	double kx = x->blocked + x->logged, ky = y->blocked + y->logged;

	if (kx != ky)
		return kx > ky ? -1 : 1;
	if (x->passed != y->passed)
		return x->passed > y->passed ? -1 : 1;
	return (int)x->id - (int)y->id;
}

static int cmp_reason(const void *a, const void *b)
{
	const struct reason_rate *x = a, *y = b;

	if (x->pps != y->pps)
		return x->pps > y->pps ? -1 : 1;
	return (int)x->id - (int)y->id;
}

static void compute(const struct snap *old, const struct snap *cur, struct view *v)
{
	const struct geofw_counters *o = &old->c, *c = &cur->c;
	double dt = cur->t - old->t;
	unsigned int k;

	v->dt = dt;
	v->events_rate = c->events_rate;
#define ACT_RATE(a) rate(c->action[a].packets, o->action[a].packets, dt)
	v->blocked = ACT_RATE(GEOFW_ACT_DROP) + ACT_RATE(GEOFW_ACT_REJECT) +
		     ACT_RATE(GEOFW_ACT_HTTP403);
	v->logged = ACT_RATE(GEOFW_ACT_LOG);
	v->passed = ACT_RATE(GEOFW_ACT_PASS);
#undef ACT_RATE
	v->n_countries = 0;
	for (k = 0; k < GEOFW_MAX_COUNTRIES; k++) {
		double b = rate(c->country[k].blocked, o->country[k].blocked, dt);
		double l = rate(c->country[k].logged, o->country[k].logged, dt);
		double p = rate(c->country[k].passed, o->country[k].passed, dt);

		if (b <= 0 && l <= 0 && p <= 0)
			continue;
		v->countries[v->n_countries].id = k;
		v->countries[v->n_countries].blocked = b;
		v->countries[v->n_countries].logged = l;
		v->countries[v->n_countries].passed = p;
		v->n_countries++;
	}
	qsort(v->countries, v->n_countries, sizeof(v->countries[0]), cmp_country);
	v->n_reasons = 0;
	for (k = 0; k < GEOFW_R_MAX; k++) {
		double p = rate(c->reason[k].packets, o->reason[k].packets, dt);

		if (p <= 0)
			continue;
		v->reasons[v->n_reasons].id = k;
		v->reasons[v->n_reasons].pps = p;
		v->reasons[v->n_reasons].bps = rate(c->reason[k].bytes, o->reason[k].bytes, dt);
		v->n_reasons++;
	}
	qsort(v->reasons, v->n_reasons, sizeof(v->reasons[0]), cmp_reason);
}

static const char *cc_of(unsigned int id)
{
	const char *cc = geofw_country_code(id);

	return cc ? cc : id ? "?" : "-";
}

static double est(const struct view *v, size_t count)
{
	return v->n_samples ? (v->blocked + v->logged) * (double)count / (double)v->n_samples : 0;
}

static void print_text(const struct view *v, const struct geofw_cmd *cmd, double window)
{
	char when[32], title[64], addr[INET6_ADDRSTRLEN];
	time_t now = time(NULL);
	struct tm tm;
	size_t i;

	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", localtime_r(&now, &tm));
	if (cmd->once)
		snprintf(title, sizeof(title), "fwctl top: %.0f s of traffic", window);
	else
		snprintf(title, sizeof(title), "fwctl top: the last %.0f s, every %u s", window,
			 cmd->interval);
	printf("%-*s%s\n", 79 - (int)strlen(when), title, when);
	printf("blocked %.1f pkt/s, logged %.1f pkt/s, passed %.1f pkt/s\n", v->blocked,
	       v->logged, v->passed);
	if (v->events_rate)
		printf("drop log: %zu samples (at most %u/s per CPU)\n", v->n_samples,
		       v->events_rate);
	else
		printf("drop log: off (no sources; see 'fwctl top --help')\n");

	printf("\nTop sources (drop-log samples):\n");
	if (!v->n_sources) {
		printf("  (none)\n");
	} else {
		printf("  %-39s %7s %6s %9s  %-2s  %s\n", "SOURCE", "SAMPLES", "SHARE", "~PKT/S",
		       "CC", "REASON/ACTION");
		for (i = 0; i < v->n_sources && i < TOP_ROWS; i++) {
			const struct source *s = &v->sources[i];
			struct geofw_event ev = { .family = s->last->family };

			memcpy(ev.saddr, s->last->addr, 16);
			printf("  %-39s %7zu %5.1f%% %9.1f  %-2s  %s/%s\n",
			       geofw_event_addr(&ev, true, addr, sizeof(addr)), s->count,
			       100.0 * (double)s->count / (double)v->n_samples, est(v, s->count),
			       cc_of(s->last->country_id), geofw_reason_name(s->last->reason),
			       geofw_action_name(s->last->action));
		}
	}

	printf("\nTop countries:\n");
	if (!v->n_countries) {
		printf("  (no traffic)\n");
	} else {
		printf("  %-8s %12s %12s %12s\n", "COUNTRY", "BLOCKED/S", "LOGGED/S", "PASSED/S");
		for (i = 0; i < v->n_countries && i < TOP_ROWS; i++)
			printf("  %-8s %12.1f %12.1f %12.1f\n", cc_of(v->countries[i].id),
			       v->countries[i].blocked, v->countries[i].logged,
			       v->countries[i].passed);
	}

	printf("\nTop reasons:\n");
	if (!v->n_reasons) {
		printf("  (no traffic)\n");
	} else {
		printf("  %-24s %12s %14s\n", "REASON", "PKT/S", "BYTES/S");
		for (i = 0; i < v->n_reasons && i < TOP_ROWS; i++)
			printf("  %-24s %12.1f %14.1f\n", geofw_reason_name(v->reasons[i].id),
			       v->reasons[i].pps, v->reasons[i].bps);
	}
}

static json_t *top_json(const struct view *v, const struct geofw_cmd *cmd, double window)
{
	json_t *sources = json_array(), *countries = json_array(), *reasons = json_array();
	char addr[INET6_ADDRSTRLEN];
	size_t i;

	for (i = 0; i < v->n_sources && i < TOP_ROWS; i++) {
		const struct source *s = &v->sources[i];
		struct geofw_event ev = { .family = s->last->family };

		memcpy(ev.saddr, s->last->addr, 16);
		geofw_json_push(&sources, json_pack("{s:s, s:I, s:o, s:o, s:s?, s:s, s:s}",
			"address", geofw_event_addr(&ev, true, addr, sizeof(addr)),
			"samples", (json_int_t)s->count,
			"share", geofw_json_real3((double)s->count / (double)v->n_samples),
			"est_packets_per_sec", geofw_json_real3(est(v, s->count)),
			"country", geofw_country_code(s->last->country_id),
			"reason", geofw_reason_name(s->last->reason),
			"action", geofw_action_name(s->last->action)));
	}
	for (i = 0; i < v->n_countries && i < TOP_ROWS; i++)
		geofw_json_push(&countries, json_pack("{s:s?, s:o, s:o, s:o}",
			"country", geofw_country_code(v->countries[i].id),
			"blocked_per_sec", geofw_json_real3(v->countries[i].blocked),
			"logged_per_sec", geofw_json_real3(v->countries[i].logged),
			"passed_per_sec", geofw_json_real3(v->countries[i].passed)));
	for (i = 0; i < v->n_reasons && i < TOP_ROWS; i++)
		geofw_json_push(&reasons, json_pack("{s:s, s:o, s:o}",
			"reason", geofw_reason_name(v->reasons[i].id),
			"packets_per_sec", geofw_json_real3(v->reasons[i].pps),
			"bytes_per_sec", geofw_json_real3(v->reasons[i].bps)));
	return json_pack("{s:I, s:o, s:o, s:o, s:I, s:I, s:{s:o, s:o, s:o}, s:o, s:o, s:o}",
			 "time", (json_int_t)time(NULL), "window", geofw_json_real3(window),
			 "interval", geofw_json_real3((double)cmd->interval),
			 "covered", geofw_json_real3(v->dt),
			 "events_rate", (json_int_t)v->events_rate,
			 "samples", (json_int_t)v->n_samples,
			 "totals", "blocked_per_sec", geofw_json_real3(v->blocked),
			 "logged_per_sec", geofw_json_real3(v->logged),
			 "passed_per_sec", geofw_json_real3(v->passed),
			 "sources", sources, "countries", countries, "reasons", reasons);
}

static int take_snap(struct fwctl *c, const struct geofw_maps *m, struct top *tp)
{
	struct snap *s = malloc(sizeof(*s));
	int err;

	if (!s)
		return fwctl_fail(c, FWCTL_EXIT_FAIL, "out of memory");
	s->t = geofw_clock_s(CLOCK_MONOTONIC);
	err = geofw_counters_read(m, -1, 0, &s->c);
	if (!err)
		snap_push(tp, s);
	free(s);
	if (err)
		return fwctl_fail(c, FWCTL_EXIT_FAIL, "reading the counters: %s", strerror(-err));
	return FWCTL_EXIT_OK;
}

int fwctl_top(struct fwctl *c, const struct geofw_cmd *cmd)
{
	double window = cmd->once ? cmd->interval : cmd->window, next;
	bool tty = isatty(STDOUT_FILENO), first = true;
	const struct sample **tmp = NULL;
	struct top tp = { 0 };
	struct fwctl_droplog dl;
	struct view *v = NULL;
	struct geofw_maps m;
	int ret, n;

	ret = fwctl_open_pins(c, &m);
	if (ret)
		return ret;
	tp.snaps_cap = cmd->window / (cmd->interval ? cmd->interval : 1) + 2;
	if (tp.snaps_cap > SNAPS_MAX)
		tp.snaps_cap = SNAPS_MAX;
	tp.samples = calloc(SAMPLES_MAX, sizeof(*tp.samples));
	tp.snaps = calloc(tp.snaps_cap, sizeof(*tp.snaps));
	tmp = calloc(SAMPLES_MAX, sizeof(*tmp));
	v = calloc(1, sizeof(*v));
	if (v)
		v->sources = calloc(SAMPLES_MAX, sizeof(*v->sources));
	if (!tp.samples || !tp.snaps || !tmp || !v || !v->sources) {
		ret = fwctl_fail(c, FWCTL_EXIT_FAIL, "out of memory");
		goto out;
	}
	fwctl_droplog_signals();
	ret = fwctl_droplog_begin(c, &m, true, cmd->rate, on_sample, &tp, &dl);
	if (ret)
		goto out;
	/* Whatever was queued before: the window filter keeps the recent. */
	geofw_events_consume(dl.reader);
	ret = take_snap(c, &m, &tp);
	next = geofw_clock_s(CLOCK_MONOTONIC) + cmd->interval;

	while (!ret && !fwctl_stop) {
		double left = next - geofw_clock_s(CLOCK_MONOTONIC);
		const struct snap *old, *cur;

		if (left > 0) {
			n = geofw_events_poll(dl.reader, left * 1000 < POLL_MS ?
						 (int)(left * 1000) + 1 : POLL_MS);
			if (n < 0 && n != -EINTR) {
				ret = fwctl_fail(c, FWCTL_EXIT_FAIL, "reading %s/%s: %s",
						 c->g->pin_dir, GEOFW_MAP_EVENTS, strerror(-n));
				break;
			}
			fwctl_droplog_keep(&dl);
			continue;
		}
		geofw_events_consume(dl.reader);
		if ((ret = take_snap(c, &m, &tp)))
			break;
		expire(&tp, geofw_clock_ns(CLOCK_BOOTTIME) - (__u64)(window * 1e9));
		snap_span(&tp, window, &old, &cur);
		compute(old, cur, v);
		v->n_samples = tp.n;
		v->n_sources = rank_sources(&tp, tmp, v->sources);
		if (c->json) {
			json_t *doc = top_json(v, cmd, window);

			if (!doc) {
				ret = fwctl_fail(c, FWCTL_EXIT_FAIL, "out of memory");
				break;
			}
			fwctl_json_print(c, doc);	/* write errors: below */
		} else {
			if (tty)
				fputs("\033[H\033[2J", stdout);
			else if (!first)
				putchar('\n');
			print_text(v, cmd, window);
		}
		if (fflush(stdout) || ferror(stdout)) {
			ret = errno == EPIPE ? FWCTL_EXIT_OK : FWCTL_EXIT_FAIL;
			__fpurge(stdout);
			clearerr(stdout);
			break;
		}
		first = false;
		if (cmd->once)
			break;
		next += cmd->interval;
	}
	fwctl_droplog_end(&dl);
out:
	if (v)
		free(v->sources);
	free(v);
	free(tmp);
	free(tp.samples);
	free(tp.snaps);
	geofw_maps_close(&m);
	return ret;
}
