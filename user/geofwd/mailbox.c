// SPDX-License-Identifier: GPL-2.0-only
#include "mailbox.h"

#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <linux/types.h>

#include "log.h"

int gfwd_mailbox_init(struct gfwd_mailbox *mb, const char *who)
{
	mb->who = who;
	mb->head = NULL;
	mb->tail = &mb->head;
	mb->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (mb->evfd < 0)
		return log_err(-errno, "%s: eventfd: %s", who, strerror(errno));
	pthread_mutex_init(&mb->lock, NULL);
	return 0;
}

void gfwd_mailbox_post(struct gfwd_mailbox *mb, struct gfwd_mail *m)
{
	__u64 one = 1;

	m->next = NULL;
	pthread_mutex_lock(&mb->lock);
	*mb->tail = m;
	mb->tail = &m->next;
	pthread_mutex_unlock(&mb->lock);
	/* EAGAIN: the counter is saturated, the loop wakes up anyway. */
	if (write(mb->evfd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_debug("%s: eventfd: %s", mb->who, strerror(errno));
}

struct gfwd_mail *gfwd_mailbox_take(struct gfwd_mailbox *mb)
{
	struct gfwd_mail *m;
	__u64 cnt;

	if (read(mb->evfd, &cnt, sizeof(cnt)) < 0 && errno != EAGAIN)
		log_debug("%s: eventfd: %s", mb->who, strerror(errno));
	pthread_mutex_lock(&mb->lock);
	m = mb->head;
	mb->head = NULL;
	mb->tail = &mb->head;
	pthread_mutex_unlock(&mb->lock);
	return m;
}

void gfwd_mailbox_drop(struct gfwd_mailbox *mb, bool (*drop)(struct gfwd_mail *m, void *arg),
		       void *arg)
{
	struct gfwd_mail **mp, *m;

	pthread_mutex_lock(&mb->lock);
	for (mp = &mb->head; (m = *mp);) {
		struct gfwd_mail *next = m->next;

		if (drop(m, arg)) {
			*mp = next;
			continue;
		}
		mp = &m->next;
	}
	mb->tail = mp;
	pthread_mutex_unlock(&mb->lock);
}

void gfwd_mailbox_destroy(struct gfwd_mailbox *mb)
{
	if (mb->evfd < 0)
		return;
	close(mb->evfd);
	mb->evfd = -1;
	pthread_mutex_destroy(&mb->lock);
}
