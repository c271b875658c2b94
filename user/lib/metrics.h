/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Metrics in the Prometheus text exposition format (version 0.0.4).
 *
 * Two steps, so that the text is testable without a kernel: read a snapshot
 * of the data plane's counters (summed over CPUs; they live in pinned maps,
 * so they keep counting across geofwd restarts), then render it together
 * with what only the daemon knows (rules, GeoIP database, reloads,
 * interfaces) into a caller's buffer.  Rendering is pure: no I/O, no
 * allocation, no logging.
 *
 * Cardinality is bounded by construction: reasons, actions and responder
 * events are fixed enums, countries are at most GEOFW_MAX_COUNTRIES (those
 * with traffic only), rules are the GEOFW_METRICS_TOP_RULES with the most
 * hits, ASes those with a rule (at most 254 per slot, two slots),
 * interfaces those configured, rule sources at most GEOFW_METRICS_MAX_SOURCES.
 * GEOFW_METRICS_MAX holds the largest
 * text that can come out (tests/unit/metrics.c renders it).
 */
#ifndef GEOFW_METRICS_H
#define GEOFW_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "geofw.h"
#include "maps.h"

#define GEOFW_METRICS_TOP_RULES		20
#define GEOFW_METRICS_MAX_IFACES	32
#define GEOFW_METRICS_IFNAMSIZ		16
#define GEOFW_METRICS_MAX_SOURCES	64
#define GEOFW_METRICS_MAX		(384 * 1024)	/* bytes of text, at most */
#define GEOFW_METRICS_CONTENT_TYPE	"text/plain; version=0.0.4; charset=utf-8"

/* A snapshot of the data plane's counters, summed over CPUs. */
struct geofw_counters {
	struct geofw_reason_stats reason[GEOFW_R_MAX];
	struct geofw_reason_stats action[GEOFW_ACT_MAX];
	struct geofw_country_stats country[GEOFW_MAX_COUNTRIES];
	struct geofw_resp_stats resp[GEOFW_RESP_MAX];
	/* Packets AS rules decided, per AS with a rule (gfw_cnt_asn). */
	size_t n_asn;
	__u32 asn[GEOFW_GEO_SLOTS * GEOFW_MAX_ASN_CLASSES];
	struct geofw_asn_stats asn_stats[GEOFW_GEO_SLOTS * GEOFW_MAX_ASN_CLASSES];
	/* The rules with the most hits, most first (GEOFW_COUNTERS_RULES). */
	size_t n_top_rules;
	__u32 top_rule_id[GEOFW_METRICS_TOP_RULES];
	__u64 top_rule_hits[GEOFW_METRICS_TOP_RULES];
	/* Drop log: config.events_rate in force, and samples the per-CPU
	 * limiter held back (have_event_limit: gfw_evt_limit was read). */
	__u32 events_rate;
	bool have_event_limit;
	__u64 events_suppressed;
	__u64 events_lost;		/* within the limit, ring full */
	/* Rate limits by index (gfw_cnt_rl): passed, limited, ban requests. */
	struct geofw_rl_stats rl[GEOFW_MAX_RATELIMITS];
};

/* geofw_counters_read() flags. */
enum {
	/* Also rank the rule counters: GEOFW_MAX_RULE_IDS per-CPU values are
	 * read (batched), the costly part of a snapshot. */
	GEOFW_COUNTERS_RULES	= 1u << 0,
};

/*
 * Read every counter map of m.  evt_limit_fd is gfw_evt_limit's fd, or -1
 * (maps.h does not carry it: only the drop log's readers need it).
 * 0 or -errno; *out is zeroed first.
 */
int geofw_counters_read(const struct geofw_maps *m, int evt_limit_fd, unsigned int flags,
			struct geofw_counters *out);

/* Rank rule hit counts (hits[id], n ids) into out's top list. */
void geofw_counters_rank_rules(const __u64 *hits, size_t n, struct geofw_counters *out);

/* One configured interface, as geofwd keeps it. */
struct geofw_metrics_iface {
	char name[GEOFW_METRICS_IFNAMSIZ];
	bool present;		/* the interface exists */
	bool attached;		/* the XDP program is attached */
	int xdp_mode;		/* enum geofw_xdp_mode in force when attached */
	bool responder;		/* the TC responder is attached */
};

/* One rule source that geofwd fetches or is fed by (crowdsec, feed:NAME,
 * fail2ban): the geofw_source_* families, one series per source. */
struct geofw_metrics_source {
	const char *name;
	size_t rules;				/* in force */
	bool up;				/* the last fetch worked */
	time_t last_success;			/* 0: none since geofwd started */
	unsigned long errors;			/* failed fetches since start */
	unsigned long refused;			/* entries refused since start */
	bool held_back;				/* a fetched set waits (feeds) */
};

/* What only the daemon knows. */
struct geofw_metrics_info {
	time_t start_time;			/* geofwd's start, UNIX seconds */

	/* Rules in force. */
	size_t block_ip4, block_ip6;		/* exact addresses */
	size_t block_net4, block_net6;		/* networks */
	size_t allow4, allow6;
	size_t countries_listed;
	int country_mode;			/* enum geofw_country_mode */

	/* GeoIP database in force. */
	bool geoip_loaded;
	__u64 geoip_build_epoch;		/* the database's own build time */
	time_t geoip_loaded_at;			/* when it was put in force */
	double geoip_load_seconds;		/* how long reading + switching took */
	size_t geoip_prefixes_v4, geoip_prefixes_v6;
	/* false: a country policy is configured and no country data is in
	 * force (only the IP rules are enforced). */
	bool country_policy_enforced;
	/* AS rules (geofw.conf and runtime): ASes blocked and allowed in the
	 * tables in force; false: AS rules exist and the tables do not hold
	 * them (no ASNDatabase, a failed load). */
	size_t asn_blocked, asn_allowed;
	bool asn_rules_enforced;

	/* Reloads (SIGHUP, fwctl reload) since geofwd started. */
	unsigned long reloads_ok, reloads_failed;
	time_t last_reload_ok;			/* 0: none yet */

	const struct geofw_metrics_iface *ifaces;
	size_t n_ifaces;			/* at most GEOFW_METRICS_MAX_IFACES */

	unsigned long drop_log_samples;		/* samples geofwd read (DropLog) */

	/* Fleet (FleetServers set): the geofw_fleet_* families. */
	bool fleet_configured;
	bool fleet_connected;
	long long fleet_revision;		/* last bucket revision applied */
	long long fleet_seconds_since_update;	/* -1: none applied since start */
	size_t fleet_pending;			/* changes the bucket does not have */

	/* Rate limits in force, by index (the counters' order). */
	size_t n_rl;
	char rl_name[GEOFW_MAX_RATELIMITS][32];

	/* Rule sources (fetcher.c); at most GEOFW_METRICS_MAX_SOURCES. */
	const struct geofw_metrics_source *sources;
	size_t n_sources;
};

/*
 * Render the exposition text into buf: its length (NUL not counted), or
 * -ENOSPC when len is too short (GEOFW_METRICS_MAX always suffices).
 */
int geofw_metrics_render(const struct geofw_counters *c, const struct geofw_metrics_info *info,
			 char *buf, size_t len);

#endif
