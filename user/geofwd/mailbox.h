/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A worker thread → main loop mailbox: a list of messages under its own
 * mutex and an eventfd the event loop watches.  Workers post; the main
 * thread takes the whole list when the eventfd is readable, in posting
 * order.  Used by the rule-source fetchers (fetcher.c) and the fleet's NATS
 * thread (fleet_worker.c → fleet.c).
 */
#ifndef GFWD_MAILBOX_H
#define GFWD_MAILBOX_H

#include <pthread.h>
#include <stdbool.h>

/* The first member of a message struct (so the message is the mail). */
struct gfwd_mail {
	struct gfwd_mail *next;
};

struct gfwd_mailbox {
	int evfd;			/* -1 before init */
	const char *who;		/* log prefix ("sources", "fleet") */
	pthread_mutex_t lock;
	struct gfwd_mail *head, **tail;	/* under lock */
};

/* 0, or -errno after logging why (the eventfd could not be made). */
int gfwd_mailbox_init(struct gfwd_mailbox *mb, const char *who);
/* Any thread. */
void gfwd_mailbox_post(struct gfwd_mailbox *mb, struct gfwd_mail *m);
/* Main thread, when evfd is readable: every message posted so far, oldest
 * first (NULL when none), and the eventfd is read back to quiet. */
struct gfwd_mail *gfwd_mailbox_take(struct gfwd_mailbox *mb);
/* Remove the messages drop() says true for (drop frees them). */
void gfwd_mailbox_drop(struct gfwd_mailbox *mb, bool (*drop)(struct gfwd_mail *m, void *arg),
		       void *arg);
/* Close the eventfd; messages still posted are the caller's to take first. */
void gfwd_mailbox_destroy(struct gfwd_mailbox *mb);

#endif
