// SPDX-License-Identifier: GPL-2.0-only
/*
 * DropLog = on: the XDP program samples blocked (and logged) packets into
 * the ring buffer gfw_events, at most DropLogRate per second and CPU, and
 * geofwd writes each sample to its log at info level, one line.
 *
 * config.events_rate is non-zero only while something reads, since samples
 * nobody reads fill the ring and cost every blocked packet a failed
 * reservation: geofwd takes it for DropLogRate while DropLog is on and gives
 * it back when off or stopping (gfwd_droplog_rate_sync).  `fwctl log` and
 * `fwctl top` set it themselves while they run if it is 0, and read the same
 * ring: one ring has one consumer position, so with DropLog on they share
 * the samples with geofwd (events.h).
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "events.h"
#include "geofwd.h"
#include "log.h"

/* How often the rate in force is checked against DropLogRate: a `fwctl
 * log` that stops restores 0 when the rate is the one it set, which may be
 * ours too. */
#define RATE_CHECK_SEC	5

struct gfwd_droplog {
	struct geofw_event_reader *reader;
	int fd;				/* the reader's epoll fd, in d->epfd */
	int timer_fd;			/* RATE_CHECK_SEC */
	unsigned long samples;		/* samples read since geofwd started */
};

__u32 gfwd_droplog_rate(const struct gfwd *d)
{
	return d->conf.drop_log ? d->conf.drop_log_rate : 0;
}

/* The interface name: ours when configured, the kernel's otherwise. */
static const char *ifname_of(const struct gfwd *d, __u32 ifindex, char buf[IF_NAMESIZE])
{
	int i;

	for (i = 0; i < d->n_ifaces; i++)
		if (d->ifaces[i].ifindex == (int)ifindex)
			return d->ifaces[i].name;
	return if_indextoname(ifindex, buf) ? buf : NULL;
}

static int on_event(const struct geofw_event *ev, void *ctx)
{
	struct gfwd *d = ctx;
	char line[GEOFW_EVENT_STRLEN], ifn[IF_NAMESIZE];

	d->droplog->samples++;
	if (geofw_log_get_level() < GEOFW_LOG_INFO)
		return 0;	/* read all the same: the ring must not fill */
	geofw_event_format(ev, ifname_of(d, ev->ifindex, ifn), line, sizeof(line));
	log_info("drop: %s", line);
	return 0;
}

/*
 * Take config.events_rate for DropLogRate while DropLog is on (over a
 * `fwctl log`'s rate: the operator's configuration wins), and give it back
 * when off, only if it still holds what geofwd put there.  One field,
 * compare-and-exchange: nothing else in the record is written.
 */
void gfwd_droplog_rate_sync(struct gfwd *d)
{
	const struct geofw_config *cfg = d->fw.maps.config_mem;
	__u32 want = gfwd_droplog_rate(d), seen;
	int r = 0;

	if (want) {
		if (cfg && __atomic_load_n(&cfg->events_rate, __ATOMIC_RELAXED) == want)
			r = 0;
		else
			r = geofw_config_swap_events_rate(&d->fw.maps, GEOFW_EVENTS_RATE_ANY, want,
							  &seen);
		if (!r)
			d->droplog_rate_set = want;
	} else if (d->droplog_rate_set) {
		r = geofw_config_swap_events_rate(&d->fw.maps, d->droplog_rate_set, 0, &seen);
		if (r >= 0)
			d->droplog_rate_set = 0;	/* 1: someone else's rate now */
	}
	if (r < 0)
		log_warn("drop log: cannot set the sample rate: %s", strerror(-r));
}

static void stop_reading(struct gfwd *d)
{
	struct gfwd_droplog *l = d->droplog;

	if (!l)
		return;
	if (l->reader) {
		/* What is queued belongs to this log, not to a later reader. */
		geofw_events_consume(l->reader);
		epoll_ctl(d->epfd, EPOLL_CTL_DEL, l->fd, NULL);
		geofw_events_close(l->reader);
		l->reader = NULL;
		l->fd = -1;
	}
	if (l->timer_fd >= 0) {
		epoll_ctl(d->epfd, EPOLL_CTL_DEL, l->timer_fd, NULL);
		close(l->timer_fd);
		l->timer_fd = -1;
	}
}

static int start_reading(struct gfwd *d)
{
	struct gfwd_droplog *l = d->droplog;
	struct itimerspec its = { .it_interval.tv_sec = RATE_CHECK_SEC,
				  .it_value.tv_sec = RATE_CHECK_SEC };
	struct epoll_event ev = { .events = EPOLLIN };
	int err;

	err = geofw_events_open(d->fw.maps.events, on_event, d, &l->reader);
	if (err)
		return log_err(err, "drop log: cannot read %s: %s", GEOFW_MAP_EVENTS,
			       strerror(-err));
	l->fd = geofw_events_fd(l->reader);
	ev.data.fd = l->fd;
	if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, l->fd, &ev)) {
		err = -errno;
		goto fail;
	}
	l->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	ev.data.fd = l->timer_fd;
	if (l->timer_fd < 0 || timerfd_settime(l->timer_fd, 0, &its, NULL) ||
	    epoll_ctl(d->epfd, EPOLL_CTL_ADD, l->timer_fd, &ev)) {
		err = -errno;
		goto fail;
	}
	log_info("drop log: on, at most %u samples per second and CPU", d->conf.drop_log_rate);
	return 0;
fail:
	stop_reading(d);
	return log_err(err, "drop log: %s", strerror(-err));
}

void gfwd_droplog_sync(struct gfwd *d)
{
	bool on = d->conf.drop_log;

	if (!d->droplog) {
		if (!on)
			return;
		d->droplog = calloc(1, sizeof(*d->droplog));
		if (!d->droplog) {
			log_err(-ENOMEM, "drop log: out of memory");
			return;
		}
		d->droplog->fd = d->droplog->timer_fd = -1;
	}
	/* Called after every batch of events: only a change costs anything.
	 * The rate itself is written by gfwd_apply_kernel_config() and
	 * checked by the timer. */
	if (on && !d->droplog->reader) {
		if (!start_reading(d))
			gfwd_droplog_rate_sync(d);
	} else if (!on && d->droplog->reader) {
		stop_reading(d);
		log_info("drop log: off");
	}
}

bool gfwd_droplog_event(struct gfwd *d, int fd)
{
	struct gfwd_droplog *l = d->droplog;
	__u64 n;
	int err;

	if (!l || fd < 0)
		return false;
	if (fd == l->timer_fd) {
		if (read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
			log_debug("drop log timer: %s", strerror(errno));
		gfwd_droplog_rate_sync(d);
		return true;
	}
	if (fd != l->fd)
		return false;
	/* One batch (geofw_events_poll): consuming until the ring is empty
	 * never ends while the producer outruns the log (DropLogRate per CPU,
	 * logged one line each), and the control socket would wait.  What is
	 * left keeps the descriptor readable: the loop comes back. */
	err = geofw_events_poll(l->reader, 0);
	if (err < 0 && err != -EINTR)
		log_warn("drop log: reading %s: %s", GEOFW_MAP_EVENTS, strerror(-err));
	return true;
}

unsigned long gfwd_droplog_samples(const struct gfwd *d)
{
	return d->droplog ? d->droplog->samples : 0;
}

void gfwd_droplog_close(struct gfwd *d)
{
	__u32 seen;

	if (!d->droplog)
		return;
	/* Nothing reads any more: stop sampling (a running `fwctl log` sets
	 * its own rate again). */
	if (d->droplog_rate_set &&
	    geofw_config_swap_events_rate(&d->fw.maps, d->droplog_rate_set, 0, &seen) >= 0)
		d->droplog_rate_set = 0;
	stop_reading(d);
	free(d->droplog);
	d->droplog = NULL;
}
