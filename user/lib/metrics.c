// SPDX-License-Identifier: GPL-2.0-only
/*
 * Counter snapshots and their Prometheus text.  Names follow the Prometheus
 * conventions: a geofw_ prefix, base units (seconds, bytes), _total on
 * counters, one metric family per meaning with labels for the dimensions.
 */
#include "metrics.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "countries.h"
#include "json.h"
#include "msg.h"
#include "responder.h"

/* ---- reading ------------------------------------------------------------------- */

void geofw_counters_rank_rules(const __u64 *hits, size_t n, struct geofw_counters *out)
{
	size_t k, top = 0;
	__u32 id;

	/* Insertion into a sorted list of 20: n is 64k, the list short. */
	for (id = 1; id < n; id++) {
		if (!hits[id])
			continue;
		if (top == GEOFW_METRICS_TOP_RULES && hits[id] <= out->top_rule_hits[top - 1])
			continue;
		k = top < GEOFW_METRICS_TOP_RULES ? top++ : top - 1;
		while (k > 0 && out->top_rule_hits[k - 1] < hits[id]) {
			out->top_rule_id[k] = out->top_rule_id[k - 1];
			out->top_rule_hits[k] = out->top_rule_hits[k - 1];
			k--;
		}
		out->top_rule_id[k] = id;
		out->top_rule_hits[k] = hits[id];
	}
	out->n_top_rules = top;
}

int geofw_counters_read(const struct geofw_maps *m, int evt_limit_fd, unsigned int flags,
			struct geofw_counters *out)
{
	struct geofw_config cfg;
	__u64 *hits;
	int err;

	memset(out, 0, sizeof(*out));
	_Static_assert(sizeof(struct geofw_reason_stats) == 2 * 8, "reason words");
	_Static_assert(sizeof(struct geofw_country_stats) == 3 * 8, "country words");
	_Static_assert(sizeof(struct geofw_resp_stats) == 8, "resp words");
	_Static_assert(sizeof(struct geofw_rl_stats) == 3 * 8, "rate limit words");
	if ((err = geofw_percpu_array_sum(m->cnt_reason, GEOFW_R_MAX, 2, (__u64 *)out->reason)) ||
	    (err = geofw_percpu_array_sum(m->cnt_action, GEOFW_ACT_MAX, 2, (__u64 *)out->action)) ||
	    (err = geofw_percpu_array_sum(m->cnt_country, GEOFW_MAX_COUNTRIES, 3, (__u64 *)out->country)) ||
	    (err = geofw_percpu_array_sum(m->cnt_resp, GEOFW_RESP_MAX, 1, (__u64 *)out->resp)) ||
	    (err = geofw_percpu_array_sum(m->cnt_rl, GEOFW_MAX_RATELIMITS, 3, (__u64 *)out->rl)))
		return err;
	if ((err = geofw_config_read(m, &cfg)))
		return err;
	if ((err = geofw_cnt_asn_list(m, out->asn, out->asn_stats,
				      sizeof(out->asn) / sizeof(out->asn[0]))) < 0)
		return err;
	out->n_asn = (size_t)err;
	out->events_rate = cfg.events_rate;
	if (evt_limit_fd >= 0 &&
	    !geofw_evt_limit_sum(evt_limit_fd, &out->events_suppressed, &out->events_lost))
		out->have_event_limit = true;
	if (!(flags & GEOFW_COUNTERS_RULES))
		return 0;
	hits = calloc(GEOFW_MAX_RULE_IDS, sizeof(*hits));
	if (!hits)
		return -ENOMEM;
	err = geofw_percpu_array_sum(m->cnt_rule, GEOFW_MAX_RULE_IDS, 1, hits);
	if (!err)
		geofw_counters_rank_rules(hits, GEOFW_MAX_RULE_IDS, out);
	free(hits);
	return err;
}

/* ---- rendering ----------------------------------------------------------------- */

/* "# HELP" and "# TYPE" of a family; the help texts are ours (no '\' or
 * newline to escape). */
static void family(struct geofw_text *t, const char *name, const char *type, const char *help)
{
	geofw_text_put(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value: backslash, double quote and newline escaped. */
/* A label value: UTF-8 (the text format's rule), each byte of an interface
 * name that is not part of valid UTF-8 as U+FFFD, as in the JSON output. */
static void put_label(struct geofw_text *t, const char *s)
{
	size_t left = strlen(s), n;

	for (; *s; s += n, left -= n) {
		n = geofw_utf8_len(s, left);
		if (!n) {
			geofw_text_put(t, "\xef\xbf\xbd");
			n = 1;
		} else if (*s == '\\' || *s == '"') {
			geofw_text_put(t, "\\%c", *s);
		} else if (*s == '\n') {
			geofw_text_put(t, "\\n");
		} else {
			geofw_text_put(t, "%.*s", (int)n, s);
		}
	}
}

/* A 0/1 gauge per configured interface: the bool at offset in each entry. */
static void iface_flag(struct geofw_text *t, const struct geofw_metrics_iface *ifaces,
		       size_t n, const char *name, const char *help, size_t offset)
{
	size_t i;

	family(t, name, "gauge", help);
	for (i = 0; i < n; i++) {
		geofw_text_put(t, "%s{interface=\"", name);
		put_label(t, ifaces[i].name);
		geofw_text_put(t, "\"} %d\n", *(const bool *)((const char *)&ifaces[i] + offset));
	}
}

/* Seconds with millisecond precision: %g would switch to exponents. */
static void put_seconds(struct geofw_text *t, double s)
{
	geofw_text_put(t, "%.3f\n", s < 0 ? 0 : s);
}

static void render_dataplane(struct geofw_text *t, const struct geofw_counters *c)
{
	static const char *const verdicts[3] = { "blocked", "passed", "logged" };
	unsigned int k, v;

	family(t, "geofw_reason_packets_total", "counter",
	       "Packets seen by the XDP program, by the reason of their verdict.");
	for (k = 0; k < GEOFW_R_MAX; k++)
		geofw_text_put(t, "geofw_reason_packets_total{reason=\"%s\"} %llu\n",
			       geofw_reason_name(k),
			       (unsigned long long)c->reason[k].packets);
	family(t, "geofw_reason_bytes_total", "counter",
	       "Bytes seen by the XDP program, by the reason of their verdict.");
	for (k = 0; k < GEOFW_R_MAX; k++)
		geofw_text_put(t, "geofw_reason_bytes_total{reason=\"%s\"} %llu\n",
			       geofw_reason_name(k),
			       (unsigned long long)c->reason[k].bytes);
	family(t, "geofw_action_packets_total", "counter",
	       "Packets by the action taken (reject and http403 count as drop without "
	       "the TC responder).");
	for (k = 0; k < GEOFW_ACT_MAX; k++)
		geofw_text_put(t, "geofw_action_packets_total{action=\"%s\"} %llu\n",
			       geofw_action_name(k),
			       (unsigned long long)c->action[k].packets);
	family(t, "geofw_action_bytes_total", "counter", "Bytes by the action taken.");
	for (k = 0; k < GEOFW_ACT_MAX; k++)
		geofw_text_put(t, "geofw_action_bytes_total{action=\"%s\"} %llu\n",
			       geofw_action_name(k),
			       (unsigned long long)c->action[k].bytes);

	/* Only countries with traffic: 254 ids x 3 verdicts of zeros would
	 * be most of the text.  A country's series never go away once there
	 * (the counters only grow). */
	family(t, "geofw_country_packets_total", "counter",
	       "IP packets by source country (none: address without a country) and "
	       "verdict (blocked, passed, logged: would have been blocked).");
	for (k = 0; k < GEOFW_MAX_COUNTRIES; k++) {
		const struct geofw_country_stats *s = &c->country[k];
		const __u64 n[3] = { s->blocked, s->passed, s->logged };
		const char *cc = geofw_country_code(k);
		char id[8];

		if (!s->blocked && !s->passed && !s->logged)
			continue;
		/* "none": no country; an id beyond our table (another build's
		 * countries) by number rather than dropped. */
		if (!cc && k) {
			snprintf(id, sizeof(id), "id%u", k);
			cc = id;
		} else if (!cc) {
			cc = "none";
		}
		for (v = 0; v < 3; v++)
			geofw_text_put(t,
				       "geofw_country_packets_total{country=\"%s\",verdict=\"%s\"} %llu\n",
				       cc, verdicts[v], (unsigned long long)n[v]);
	}

	family(t, "geofw_asn_packets_total", "counter",
	       "IP packets an AS rule decided, by AS (BlockASN/AllowASN) and verdict "
	       "(blocked, passed: allowed AS, logged: would have been blocked).");
	for (k = 0; k < c->n_asn; k++) {
		const struct geofw_asn_stats *s = &c->asn_stats[k];
		const __u64 n[3] = { s->blocked, s->passed, s->logged };

		for (v = 0; v < 3; v++)
			geofw_text_put(t,
				       "geofw_asn_packets_total{asn=\"%u\",verdict=\"%s\"} %llu\n",
				       c->asn[k], verdicts[v], (unsigned long long)n[v]);
	}

	family(t, "geofw_responder_packets_total", "counter",
	       "TCP responder: SYN-ACKs sent (synack), 403 pages served (http403), "
	       "resets sent (rst), FINs acknowledged (finack), cookies rejected "
	       "(bad_cookie), other segments dropped (dropped), replies that could "
	       "not be built (error).");
	for (k = 0; k < GEOFW_RESP_MAX; k++)
		geofw_text_put(t, "geofw_responder_packets_total{event=\"%s\"} %llu\n",
			       geofw_resp_event_name(k), (unsigned long long)c->resp[k].packets);

	family(t, "geofw_rule_hits_total", "counter",
	       "Hits of the allow/block rules, for the 20 rule ids with the most hits "
	       "only (fwctl list shows the ids).");
	for (k = 0; k < c->n_top_rules && k < GEOFW_METRICS_TOP_RULES; k++)
		geofw_text_put(t, "geofw_rule_hits_total{rule_id=\"%u\"} %llu\n", c->top_rule_id[k],
			       (unsigned long long)c->top_rule_hits[k]);

	family(t, "geofw_droplog_rate", "gauge",
	       "Drop-log samples allowed per second and CPU (config.events_rate); 0: off.");
	geofw_text_put(t, "geofw_droplog_rate %u\n", c->events_rate);
	if (c->have_event_limit) {
		family(t, "geofw_droplog_suppressed_total", "counter",
		       "Drop-log samples not written because of the per-CPU rate limit.");
		geofw_text_put(t, "geofw_droplog_suppressed_total %llu\n",
			       (unsigned long long)c->events_suppressed);
		family(t, "geofw_droplog_lost_total", "counter",
		       "Drop-log samples within the rate limit lost because the ring was full.");
		geofw_text_put(t, "geofw_droplog_lost_total %llu\n",
			       (unsigned long long)c->events_lost);
	}
}

/* One series per rule source of the table (bounded: GEOFW_METRICS_MAX_SOURCES). */
static void source_series(struct geofw_text *t, const char *metric, const char *name)
{
	geofw_text_put(t, "%s{source=\"", metric);
	put_label(t, name);
	geofw_text_put(t, "\"} ");
}

/* The families of every source, one row each: the value is read from the
 * field at off, of the given kind. */
enum src_kind { SRC_SIZE, SRC_BOOL, SRC_TIME, SRC_ULONG };

#define SRC(f)	offsetof(struct geofw_metrics_source, f)

static const struct {
	const char *name, *type, *help;
	size_t off;
	enum src_kind kind;
} source_families[] = {
	{ "geofw_source_rules", "gauge",
	  "Rules of the source in force (crowdsec, feed:NAME, fail2ban, ...).",
	  SRC(rules), SRC_SIZE },
	{ "geofw_source_up", "gauge",
	  "1 when the source's last fetch worked; 0 while it fails (its rules stay in "
	  "force until they expire; fwctl status says why).",
	  SRC(up), SRC_BOOL },
	{ "geofw_source_last_success_seconds", "gauge",
	  "When the source was last fetched and applied (UNIX time); 0: not since "
	  "geofwd started.",
	  SRC(last_success), SRC_TIME },
	{ "geofw_source_errors_total", "counter",
	  "Failed fetches of the source (unreachable, HTTP error, not the format) since "
	  "geofwd started.",
	  SRC(errors), SRC_ULONG },
	{ "geofw_source_entries_refused_total", "counter",
	  "Entries of the source refused (bad address, duration, scope or type; an AS "
	  "decision beyond the 254 ASes with rules) since geofwd started; the rest of the "
	  "answer is applied.",
	  SRC(refused), SRC_ULONG },
	{ "geofw_source_held_back", "gauge",
	  "1 while a fetched set waits for confirmation (a feed whose new set would "
	  "remove more than FeedMaxDropShare: fwctl feed confirm NAME); the set in force "
	  "stays.",
	  SRC(held_back), SRC_BOOL },
};

static void render_sources(struct geofw_text *t, const struct geofw_metrics_info *in)
{
	size_t i, f, n = in->n_sources < GEOFW_METRICS_MAX_SOURCES ? in->n_sources
								  : GEOFW_METRICS_MAX_SOURCES;

	if (!n)
		return;
	for (f = 0; f < sizeof(source_families) / sizeof(source_families[0]); f++) {
		family(t, source_families[f].name, source_families[f].type,
		       source_families[f].help);
		for (i = 0; i < n; i++) {
			const char *v = (const char *)&in->sources[i] + source_families[f].off;

			source_series(t, source_families[f].name, in->sources[i].name);
			switch (source_families[f].kind) {
			case SRC_SIZE:
				geofw_text_put(t, "%zu\n", *(const size_t *)v);
				break;
			case SRC_BOOL:
				geofw_text_put(t, "%d\n", *(const bool *)v ? 1 : 0);
				break;
			case SRC_TIME:
				geofw_text_put(t, "%lld\n", (long long)*(const time_t *)v);
				break;
			case SRC_ULONG:
				geofw_text_put(t, "%lu\n", *(const unsigned long *)v);
				break;
			}
		}
	}
}

static void render_daemon(struct geofw_text *t, const struct geofw_metrics_info *in)
{
	const struct {
		const char *kind, *family;
		size_t n;
	} rules[] = {
		{ "block_address", "ipv4", in->block_ip4 },
		{ "block_address", "ipv6", in->block_ip6 },
		{ "block_network", "ipv4", in->block_net4 },
		{ "block_network", "ipv6", in->block_net6 },
		{ "allow", "ipv4", in->allow4 },
		{ "allow", "ipv6", in->allow6 },
	};
	size_t i, n_ifaces = in->n_ifaces < GEOFW_METRICS_MAX_IFACES ? in->n_ifaces :
				   GEOFW_METRICS_MAX_IFACES;

	family(t, "geofw_build_info", "gauge", "geofwd's version and map ABI, as labels.");
	geofw_text_put(t, "geofw_build_info{version=\"%s\",abi_version=\"%d\"} 1\n", GEOFW_VERSION,
		       GEOFW_ABI_VERSION);
	family(t, "geofw_start_time_seconds", "gauge", "When geofwd started (UNIX time).");
	geofw_text_put(t, "geofw_start_time_seconds %lld\n", (long long)in->start_time);

	family(t, "geofw_rules", "gauge",
	       "Rules in force: blocked addresses (/32, /128), blocked networks and "
	       "allowed prefixes, by address family.");
	for (i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
		geofw_text_put(t, "geofw_rules{kind=\"%s\",family=\"%s\"} %zu\n", rules[i].kind,
			       rules[i].family, rules[i].n);
	family(t, "geofw_countries_listed", "gauge",
	       "Countries in the policy list; mode block: they are blocked, mode "
	       "allow: only they pass.");
	geofw_text_put(t, "geofw_countries_listed{mode=\"%s\"} %zu\n",
		       in->country_mode == GEOFW_MODE_ALLOW_LISTED ? "allow" : "block",
		       in->countries_listed);

	family(t, "geofw_country_policy_enforced", "gauge",
	       "0 when a country policy is configured but no country data is in force "
	       "(only the IP rules are enforced; fwctl status says why), else 1.");
	geofw_text_put(t, "geofw_country_policy_enforced %d\n",
		       in->country_policy_enforced ? 1 : 0);
	family(t, "geofw_asn_rules_enforced", "gauge",
	       "0 when AS rules exist (geofw.conf or fwctl) but the ASN tables in force do "
	       "not hold them (no ASNDatabase, a failed load; fwctl status says why), else 1.");
	geofw_text_put(t, "geofw_asn_rules_enforced %d\n", in->asn_rules_enforced ? 1 : 0);
	family(t, "geofw_asn_rules", "gauge",
	       "ASes with a rule in the ASN tables in force, by kind (at most 254 together).");
	geofw_text_put(t, "geofw_asn_rules{kind=\"block\"} %zu\n", in->asn_blocked);
	geofw_text_put(t, "geofw_asn_rules{kind=\"allow\"} %zu\n", in->asn_allowed);
	family(t, "geofw_geoip_loaded", "gauge", "1 when a GeoIP database is in force.");
	geofw_text_put(t, "geofw_geoip_loaded %d\n", in->geoip_loaded ? 1 : 0);
	if (in->geoip_loaded) {
		family(t, "geofw_geoip_build_timestamp_seconds", "gauge",
		       "Build time of the GeoIP database in force (UNIX time, from the "
		       "database).");
		geofw_text_put(t, "geofw_geoip_build_timestamp_seconds %llu\n",
			       (unsigned long long)in->geoip_build_epoch);
		family(t, "geofw_geoip_load_timestamp_seconds", "gauge",
		       "When the GeoIP database in force was loaded (UNIX time).");
		geofw_text_put(t, "geofw_geoip_load_timestamp_seconds %lld\n",
			       (long long)in->geoip_loaded_at);
		family(t, "geofw_geoip_load_duration_seconds", "gauge",
		       "How long reading the database and switching the tables took.");
		geofw_text_put(t, "geofw_geoip_load_duration_seconds ");
		put_seconds(t, in->geoip_load_seconds);
		family(t, "geofw_geoip_prefixes", "gauge",
		       "Prefixes of the GeoIP database in force, by address family.");
		geofw_text_put(t, "geofw_geoip_prefixes{family=\"ipv4\"} %zu\n",
			       in->geoip_prefixes_v4);
		geofw_text_put(t, "geofw_geoip_prefixes{family=\"ipv6\"} %zu\n",
			       in->geoip_prefixes_v6);
	}

	family(t, "geofw_reloads_total", "counter",
	       "Reloads of the configuration and database (SIGHUP, fwctl reload) since "
	       "geofwd started, by result.");
	geofw_text_put(t, "geofw_reloads_total{result=\"success\"} %lu\n", in->reloads_ok);
	geofw_text_put(t, "geofw_reloads_total{result=\"failure\"} %lu\n", in->reloads_failed);
	family(t, "geofw_last_reload_success_timestamp_seconds", "gauge",
	       "When the last successful reload finished (UNIX time); 0: none since "
	       "geofwd started.");
	geofw_text_put(t, "geofw_last_reload_success_timestamp_seconds %lld\n",
		       (long long)in->last_reload_ok);

	/* Per-interface packet counters do not exist in the data plane (one
	 * set of per-CPU counters for every interface): what each interface
	 * has attached is exported instead. */
	family(t, "geofw_xdp_attached", "gauge",
	       "1 when the XDP program is attached to the configured interface, with "
	       "the XDP mode (native, generic; none when not attached).");
	for (i = 0; i < n_ifaces; i++) {
		const struct geofw_metrics_iface *f = &in->ifaces[i];

		geofw_text_put(t, "geofw_xdp_attached{interface=\"");
		put_label(t, f->name);
		geofw_text_put(t, "\",mode=\"%s\"} %d\n",
			       !f->attached ? "none" : f->xdp_mode == GEOFW_XDP_NATIVE ? "native" :
			       f->xdp_mode == GEOFW_XDP_GENERIC ? "generic" : "unknown",
			       f->attached ? 1 : 0);
	}
	iface_flag(t, in->ifaces, n_ifaces, "geofw_responder_attached",
		   "1 when the TC responder (reject, 403 page) is attached to the interface.",
		   offsetof(struct geofw_metrics_iface, responder));
	iface_flag(t, in->ifaces, n_ifaces, "geofw_interface_present",
		   "1 when the configured interface exists (it is attached when it appears).",
		   offsetof(struct geofw_metrics_iface, present));

	family(t, "geofw_droplog_samples_total", "counter",
	       "Drop-log samples geofwd read (DropLog = on; logged at level info) since "
	       "it started.");
	geofw_text_put(t, "geofw_droplog_samples_total %lu\n", in->drop_log_samples);

	render_sources(t, in);
	if (!in->fleet_configured)
		return;
	family(t, "geofw_fleet_connected", "gauge",
	       "1 while geofwd is connected to a NATS server of the fleet and bound to its "
	       "bucket.");
	geofw_text_put(t, "geofw_fleet_connected %d\n", in->fleet_connected ? 1 : 0);
	family(t, "geofw_fleet_revision", "gauge",
	       "The last revision of the fleet bucket applied on this host.");
	geofw_text_put(t, "geofw_fleet_revision %lld\n", in->fleet_revision);
	family(t, "geofw_fleet_seconds_since_update", "gauge",
	       "Seconds since a fleet entry (or the catch-up on connect) was last applied; "
	       "-1 when none was since geofwd started.");
	geofw_text_put(t, "geofw_fleet_seconds_since_update %lld\n",
		       in->fleet_seconds_since_update);
	family(t, "geofw_fleet_pending_changes", "gauge",
	       "Fleet-scope changes made on this host that the bucket does not have yet "
	       "(kept in rules.db, published when NATS answers).");
	geofw_text_put(t, "geofw_fleet_pending_changes %zu\n", in->fleet_pending);
}

/* Per rate limit (RateLimit / fwctl ratelimit add), by its name. */
static void render_ratelimits(struct geofw_text *t, const struct geofw_counters *c,
			      const struct geofw_metrics_info *in)
{
	size_t i;

	if (!in->n_rl)
		return;
	family(t, "geofw_ratelimit_packets_total", "counter",
	       "Packets a rate limit counted, by limit and verdict (passed: within the "
	       "limit, limited: dropped over it).");
	for (i = 0; i < in->n_rl && i < GEOFW_MAX_RATELIMITS; i++) {
		geofw_text_put(t, "geofw_ratelimit_packets_total{limit=\"");
		put_label(t, in->rl_name[i]);
		geofw_text_put(t, "\",verdict=\"passed\"} %llu\n", (unsigned long long)c->rl[i].passed);
		geofw_text_put(t, "geofw_ratelimit_packets_total{limit=\"");
		put_label(t, in->rl_name[i]);
		geofw_text_put(t, "\",verdict=\"limited\"} %llu\n", (unsigned long long)c->rl[i].limited);
	}
	family(t, "geofw_ratelimit_bans_total", "counter",
	       "Ban requests a rate limit with \"then ban\" sent to geofwd.");
	for (i = 0; i < in->n_rl && i < GEOFW_MAX_RATELIMITS; i++) {
		geofw_text_put(t, "geofw_ratelimit_bans_total{limit=\"");
		put_label(t, in->rl_name[i]);
		geofw_text_put(t, "\"} %llu\n", (unsigned long long)c->rl[i].bans);
	}
}

int geofw_metrics_render(const struct geofw_counters *c, const struct geofw_metrics_info *info,
			 char *buf, size_t len)
{
	struct geofw_text t = { buf, len, 0 };

	if (!len)
		return -ENOSPC;
	buf[0] = '\0';
	render_dataplane(&t, c);
	render_daemon(&t, info);
	render_ratelimits(&t, c, info);
	if (t.used >= len)
		return -ENOSPC;
	return (int)t.used;
}
