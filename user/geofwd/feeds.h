/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Threat feeds (Feed lines of geofw.conf, feeds.c): each feed is a fetch
 * job (fetcher.h) whose good answers replace the rules of source
 * "feed:NAME" as one set, behind the guards of FeedMinPrefixV4/V6,
 * FeedMaxEntries and FeedMaxDropShare.
 */
#ifndef GEOFWD_FEEDS_H
#define GEOFWD_FEEDS_H

#include <stdbool.h>
#include <stddef.h>

struct gfwd;
struct geofw_cmd;
struct geofw_ctl_writer;

/*
 * Start, restart or stop the feed jobs so they match d->conf (start and
 * every reload).  A feed no longer configured loses its rules (and the
 * validators kept in rules.db), also when it was removed while geofwd was
 * stopped.
 */
void gfwd_feeds_sync(struct gfwd *d);

/*
 * Rows of source were removed by hand (fwctl del-source, del-block; inside
 * the change's transaction): when it is a feed's, its validators and the
 * state kept in rules.db are forgotten, so its next fetch (fwctl feed
 * refresh, the interval, a restart) asks unconditionally and brings the set
 * back.  0, or -errno with err.
 */
int gfwd_feed_rows_removed(struct gfwd *d, const char *source, char *err, size_t errlen);

/*
 * fwctl feed list|refresh|confirm: the answer written to w (JSON when
 * json).  GEOFW_CTL_OK, or GEOFW_CTL_REJECTED with err (one line) saying
 * why and nothing written.
 */
int gfwd_feed_command(struct gfwd *d, const struct geofw_cmd *cmd, bool json,
		      struct geofw_ctl_writer *w, char *err, size_t errlen);

#endif
