// SPDX-License-Identifier: GPL-2.0-only
/*
 * fwctl log: the drop-log samples, read from the pinned ring buffer, so it
 * works while geofwd is stopped.  Also the sampling switch shared with
 * fwctl top (see struct fwctl_droplog).
 */
#include <errno.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "events.h"
#include "fwctl.h"

#define POLL_MS		500	/* how often sampling is checked while following */

volatile sig_atomic_t fwctl_stop;

static void on_stop(int sig)
{
	(void)sig;
	fwctl_stop = 1;
}

void fwctl_droplog_signals(void)
{
	/* No SA_RESTART: a signal must end the wait in the ring buffer poll. */
	struct sigaction sa = { .sa_handler = on_stop };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);	/* the ssh session went away */
	/* `fwctl log -f | head`: a closed pipe is an output error, seen by
	 * the writer, and the sampling rate is still put back. */
	signal(SIGPIPE, SIG_IGN);
}

const char *fwctl_ifname(__u32 ifindex, char *buf, size_t len)
{
	char name[IF_NAMESIZE];

	if (if_indextoname(ifindex, name))
		snprintf(buf, len, "%s", name);
	else
		snprintf(buf, len, "if%u", ifindex);
	return buf;
}

/*
 * config.events_rate is the lease of whoever reads the drop log: taken
 * from 0 and given back to 0 by compare-and-exchange on that one field, so
 * fwctl never writes any other field of the record (docs/maps.md), and
 * never replaces a rate geofwd's DropLog set.  1: someone else's value.
 */
static int set_rate(const struct geofw_maps *m, __u32 from, __u32 to, __u32 *seen)
{
	return geofw_config_swap_events_rate(m, from, to, seen);
}

int fwctl_droplog_begin(struct fwctl *c, const struct geofw_maps *m, bool sample, __u32 rate,
			int (*fn)(const struct geofw_event *ev, void *ctx), void *ctx,
			struct fwctl_droplog *dl)
{
	int err;

	memset(dl, 0, sizeof(*dl));
	dl->m = m;
	dl->sample = sample;
	dl->rate = rate;
	err = geofw_events_open(m->events, fn, ctx, &dl->reader);
	if (err)
		return fwctl_fail(c, FWCTL_EXIT_FAIL, "cannot read %s/%s: %s", c->g->pin_dir,
				  GEOFW_MAP_EVENTS, strerror(-err));
	if (!sample)
		return FWCTL_EXIT_OK;
	err = set_rate(m, 0, rate, &dl->in_force);
	if (err < 0) {
		geofw_events_close(dl->reader);
		dl->reader = NULL;
		return fwctl_fail(c, FWCTL_EXIT_FAIL, "cannot turn the drop log on: %s",
				  strerror(-err));
	}
	dl->set = err == 0;
	return FWCTL_EXIT_OK;
}

void fwctl_droplog_keep(struct fwctl_droplog *dl)
{
	__u32 seen = dl->in_force;
	int r;

	if (!dl->sample)
		return;
	/* A geofwd reload with DropLog off turns sampling off for everyone. */
	r = set_rate(dl->m, 0, dl->rate, &seen);
	if (!r)
		dl->set = true;
	if (r >= 0)
		dl->in_force = seen;
}

void fwctl_droplog_end(struct fwctl_droplog *dl)
{
	__u32 seen = 0;

	if (dl->set)
		set_rate(dl->m, dl->rate, 0, &seen);
	dl->set = false;
	geofw_events_close(dl->reader);
	dl->reader = NULL;
}

/* ---- fwctl log --------------------------------------------------------------- */

struct log_ctx {
	bool json;
	unsigned long printed;
	int out_errno;		/* writing stdout failed */
};

static int print_event(const struct geofw_event *ev, void *arg)
{
	struct log_ctx *lc = arg;
	char line[GEOFW_EVENT_STRLEN], ifn[32], when[32];
	double t = geofw_event_unix_time(ev);

	fwctl_ifname(ev->ifindex, ifn, sizeof(ifn));
	if (lc->json) {
		/* one document per line (the line always fits: names are short) */
		if (geofw_event_format_json(ev, ifn, t, line, sizeof(line)) >= 0)
			puts(line);
	} else {
		time_t secs = (time_t)t;
		struct tm tm;

		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", localtime_r(&secs, &tm));
		geofw_event_format(ev, ifn, line, sizeof(line));
		printf("%s.%03d %s\n", when, (int)((t - (double)secs) * 1000), line);
	}
	lc->printed++;
	if (ferror(stdout)) {
		lc->out_errno = errno ? errno : EIO;
		return -lc->out_errno;	/* stops the consume: nobody reads any more */
	}
	return 0;
}

int fwctl_log(struct fwctl *c, const struct geofw_cmd *cmd)
{
	struct log_ctx lc = { .json = c->json };
	struct fwctl_droplog dl;
	struct geofw_maps m;
	int ret, n = 0;

	ret = fwctl_open_pins(c, &m);
	if (ret)
		return ret;
	fwctl_droplog_signals();
	/* Without --follow only what is queued is printed: turning sampling
	 * on for an instant would add nothing. */
	ret = fwctl_droplog_begin(c, &m, cmd->follow, cmd->rate, print_event, &lc, &dl);
	if (ret)
		goto out;
	if (!cmd->follow) {
		n = geofw_events_consume(dl.reader);
		fflush(stdout);
		if (n >= 0 && !lc.printed && !c->json) {
			struct geofw_config cfg;

			if (!geofw_config_read(&m, &cfg) && !cfg.events_rate)
				fwctl_note(c, "no samples queued; the drop log is off (DropLog "
					   "in geofw.conf, or fwctl log --follow)");
			else
				fwctl_note(c, "no samples queued");
		}
	} else {
		if (!c->json && isatty(STDERR_FILENO))
			fprintf(stderr, "fwctl: following the drop log (%s%u samples/s per "
				"CPU); Ctrl-C stops\n", dl.set ? "" : "geofwd's rate, ",
				dl.in_force);
		while (!fwctl_stop && !lc.out_errno) {
			n = geofw_events_poll(dl.reader, POLL_MS);
			if (fflush(stdout) && !lc.out_errno)
				lc.out_errno = errno;
			if (n == -EINTR)
				n = 0;
			if (n < 0 || lc.out_errno)
				break;
			fwctl_droplog_keep(&dl);
		}
	}
	fwctl_droplog_end(&dl);
	if (!lc.out_errno && ferror(stdout))
		lc.out_errno = EIO;
	if (lc.out_errno) {
		/* A closed pipe is how `| head` says it has enough: not an
		 * error, and what is still buffered has nowhere to go. */
		ret = lc.out_errno == EPIPE ? FWCTL_EXIT_OK : FWCTL_EXIT_FAIL;
		if (ret)
			fprintf(stderr, "fwctl: writing the output: %s\n", strerror(lc.out_errno));
		__fpurge(stdout);
		clearerr(stdout);
	} else if (n < 0) {
		ret = fwctl_fail(c, FWCTL_EXIT_FAIL, "reading %s/%s: %s", c->g->pin_dir,
				 GEOFW_MAP_EVENTS, strerror(-n));
	}
out:
	geofw_maps_close(&m);
	return ret;
}
