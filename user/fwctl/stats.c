// SPDX-License-Identifier: GPL-2.0-only
/*
 * fwctl stats: the per-CPU counters of the pinned maps, summed, once or
 * every SEC seconds with rates.
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "countries.h"
#include "fwctl.h"
#include "responder.h"
#include "timeutil.h"

#define TOP_RULES		20
#define RULE_NAMES_EVERY	30	/* seconds between rule → prefix scans */

struct sample {
	double t;				/* CLOCK_MONOTONIC seconds */
	__u64 reason[GEOFW_R_MAX][2];		/* packets, bytes */
	__u64 action[GEOFW_ACT_MAX][2];
	__u64 country[GEOFW_MAX_COUNTRIES][3];	/* blocked, passed, logged */
	__u64 resp[GEOFW_RESP_MAX];
	__u64 *rule;				/* hits by rule id */
	__u64 events_suppressed, events_lost;	/* drop log (gfw_evt_limit) */
	size_t n_asn;				/* ASes with rules (gfw_cnt_asn) */
	__u32 asn[GEOFW_GEO_SLOTS * GEOFW_MAX_ASN_CLASSES];
	struct geofw_asn_stats asn_st[GEOFW_GEO_SLOTS * GEOFW_MAX_ASN_CLASSES];
};

/* The previous sample's packets of an AS (for its rate), 0 when new. */
static __u64 asn_prev_total(const struct sample *p, __u32 asn)
{
	size_t i;

	for (i = 0; p && i < p->n_asn; i++)
		if (p->asn[i] == asn)
			return p->asn_st[i].blocked + p->asn_st[i].passed + p->asn_st[i].logged;
	return 0;
}

/* What a rule id stands for: its first prefix (or AS, or allow-only
 * policy) and how many share it. */
enum rule_kind {
	RULE_PREFIX,		/* allow or block list */
	RULE_PORT_PREFIX,	/* port-scoped allow or block of a prefix */
	RULE_PORT_ASN,		/* port-scoped allow or block of an AS */
	RULE_PORT_ONLY,		/* a port set's allow-only policy */
};

struct rule_name {
	struct geofw_cidr prefix;
	__u32 asn;
	enum rule_kind kind;
	bool allow;
	size_t count;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int read_sample(const struct geofw_maps *m, struct sample *s)
{
	int err;

	s->t = geofw_clock_s(CLOCK_MONOTONIC);
	if ((err = geofw_percpu_array_sum(m->cnt_reason, GEOFW_R_MAX, 2, &s->reason[0][0])) ||
	    (err = geofw_percpu_array_sum(m->cnt_action, GEOFW_ACT_MAX, 2, &s->action[0][0])) ||
	    (err = geofw_percpu_array_sum(m->cnt_country, GEOFW_MAX_COUNTRIES, 3, &s->country[0][0])) ||
	    (err = geofw_percpu_array_sum(m->cnt_resp, GEOFW_RESP_MAX, 1, s->resp)) ||
	    (err = geofw_percpu_array_sum(m->cnt_rule, GEOFW_MAX_RULE_IDS, 1, s->rule)))
		return err;
	if ((err = geofw_cnt_asn_list(m, s->asn, s->asn_st, sizeof(s->asn) / sizeof(s->asn[0]))) < 0)
		return err;
	s->n_asn = (size_t)err;
	return geofw_evt_limit_sum(m->evt_limit, &s->events_suppressed, &s->events_lost);
}

/* Count one more holder of rule id; the first one names it. */
static void name_one(struct rule_name *names, __u32 id, const struct rule_name *what)
{
	struct rule_name *nm;

	if (!id || id >= GEOFW_MAX_RULE_IDS)
		return;
	nm = &names[id];
	if (!nm->count++) {
		*nm = *what;
		nm->count = 1;
	}
}

/* The rule ids of a port entry's sets (struct geofw_port_net). */
static void name_port_net(struct rule_name *names, const struct geofw_port_net *net,
			  struct rule_name *what)
{
	unsigned int set;

	for (set = 0; set < GEOFW_MAX_PORT_SETS; set++) {
		if (!((net->allow_sets | net->block_sets) & (1u << set)))
			continue;
		what->allow = net->allow_sets & (1u << set);
		name_one(names, net->rule_id[set], what);
	}
}

/* The port-scoped rules of the slot in force: prefixes (gfw_port_net4/6),
 * ASes (gfw_port_asn) and allow-only policies (gfw_port_set). */
static int name_port_rules(const struct geofw_maps *m, struct rule_name *names)
{
	struct geofw_config cfg;
	struct rule_name what;
	__u32 key, i;
	__u8 slot;
	int err, fam;

	if ((err = geofw_config_read(m, &cfg)))
		return err;
	if (!(cfg.ports_present & ~GEOFW_PORTS_SLOT))
		return 0;
	slot = (cfg.ports_present & GEOFW_PORTS_SLOT) ? 1 : 0;
	for (fam = 4; fam <= 6; fam += 2) {
		int fd = fam == 4 ? m->port_net4 : m->port_net6;
		__u8 k[sizeof(struct geofw_port_lpm_v6)], next[sizeof(k)];
		size_t alen = fam == 4 ? 4 : 16;
		void *prev = NULL;
		struct geofw_port_net net;

		/* Both keys: prefixlen, slot, address. */
		while (!bpf_map_get_next_key(fd, prev, next)) {
			const struct geofw_port_lpm_v6 *nk = (const void *)next;

			memcpy(k, next, sizeof(k));
			prev = k;
			if (nk->slot != slot || bpf_map_lookup_elem(fd, next, &net))
				continue;
			memset(&what, 0, sizeof(what));
			what.kind = RULE_PORT_PREFIX;
			what.prefix.family = (__u8)fam;
			what.prefix.prefixlen = (__u8)(nk->prefixlen - 8);
			memcpy(what.prefix.addr, nk->addr, alen);
			name_port_net(names, &net, &what);
		}
	}
	for (i = 0; i < GEOFW_PORT_ASN_ENTRIES; i++) {
		struct geofw_port_asn pa;

		key = GEOFW_PORT_ASN_KEY(slot, i);
		if (bpf_map_lookup_elem(m->port_asn, &key, &pa) || !pa.asn)
			continue;
		memset(&what, 0, sizeof(what));
		what.kind = RULE_PORT_ASN;
		what.asn = pa.asn;
		name_port_net(names, &pa.net, &what);
	}
	for (i = 0; i < GEOFW_MAX_PORT_SETS; i++) {
		struct geofw_port_set ps;

		key = GEOFW_PORT_SET_KEY(slot, i);
		if (bpf_map_lookup_elem(m->port_set, &key, &ps))
			continue;
		memset(&what, 0, sizeof(what));
		what.kind = RULE_PORT_ONLY;
		name_one(names, ps.only_rule_id, &what);
	}
	return 0;
}

/* Rule ids → prefixes, from the rule maps, port-scoped ones included. */
static int name_rules(const struct geofw_maps *m, struct rule_name *names)
{
	struct rule_name what;
	struct pin_rules r;
	size_t i;
	int err;

	err = fwctl_read_rules(m, true, true, &r);
	if (err)
		return err;
	memset(names, 0, GEOFW_MAX_RULE_IDS * sizeof(*names));
	for (i = 0; i < r.n; i++) {
		memset(&what, 0, sizeof(what));
		what.kind = RULE_PREFIX;
		what.prefix = r.v[i].prefix;
		what.allow = r.v[i].allow;
		name_one(names, r.v[i].rule_id, &what);
	}
	free(r.v);
	return name_port_rules(m, names);
}

/* "block 192.0.2.0/24", "block 192.0.2.0/24 (ports)", "allow AS64500
 * (ports)", "allow-only (ports)": what a named rule is. */
static void rule_text(const struct rule_name *nm, char *buf, size_t len)
{
	char pfx[GEOFW_CIDR_STRLEN];

	switch (nm->kind) {
	case RULE_PORT_ONLY:
		snprintf(buf, len, "allow-only (ports)");
		return;
	case RULE_PORT_ASN:
		snprintf(buf, len, "%s AS%u (ports)", nm->allow ? "allow" : "block", nm->asn);
		return;
	default:
		geofw_cidr_format(&nm->prefix, pfx, sizeof(pfx));
		snprintf(buf, len, "%s %s%s", nm->allow ? "allow" : "block", pfx,
			 nm->kind == RULE_PORT_PREFIX ? " (ports)" : "");
	}
}

/* The TOP_RULES rule ids with the most hits, most first; returns how many. */
static size_t top_rules(const struct sample *s, __u32 *top)
{
	size_t n = 0, k;
	__u32 id;

	for (id = 1; id < GEOFW_MAX_RULE_IDS; id++) {
		if (!s->rule[id])
			continue;
		if (n == TOP_RULES && s->rule[id] <= s->rule[top[n - 1]])
			continue;
		k = n < TOP_RULES ? n++ : n - 1;
		while (k > 0 && s->rule[top[k - 1]] < s->rule[id]) {
			top[k] = top[k - 1];
			k--;
		}
		top[k] = id;
	}
	return n;
}

static double rate(__u64 cur, __u64 prev, double dt)
{
	return cur >= prev && dt > 0 ? (double)(cur - prev) / dt : 0;
}

static bool any_nonzero(const __u64 *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (v[i])
			return true;
	return false;
}

static void print_text(const struct sample *s, const struct sample *p,
		       const struct rule_name *names)
{
	double dt = p ? s->t - p->t : 0;
	char what[GEOFW_CIDR_STRLEN + 32];
	__u32 top[TOP_RULES];
	size_t n, i;
	unsigned int k;

	printf("Packets by reason:\n");
	if (!any_nonzero(&s->reason[0][0], GEOFW_R_MAX * 2)) {
		printf("  (nothing counted yet)\n");
	} else {
		printf("  %-24s %16s %18s%s\n", "REASON", "PACKETS", "BYTES",
		       p ? "      PKT/S" : "");
		for (k = 0; k < GEOFW_R_MAX; k++) {
			if (!s->reason[k][0] && !s->reason[k][1])
				continue;
			printf("  %-24s %16llu %18llu", geofw_reason_name(k),
			       (unsigned long long)s->reason[k][0],
			       (unsigned long long)s->reason[k][1]);
			if (p)
				printf(" %10.1f", rate(s->reason[k][0], p->reason[k][0], dt));
			putchar('\n');
		}
	}

	printf("\nPackets by action taken:\n");
	printf("  %-24s %16s %18s%s\n", "ACTION", "PACKETS", "BYTES", p ? "      PKT/S" : "");
	for (k = 0; k < GEOFW_ACT_MAX; k++) {
		printf("  %-24s %16llu %18llu", geofw_action_name(k),
		       (unsigned long long)s->action[k][0], (unsigned long long)s->action[k][1]);
		if (p)
			printf(" %10.1f", rate(s->action[k][0], p->action[k][0], dt));
		putchar('\n');
	}

	printf("\nPackets by country:\n");
	if (!any_nonzero(&s->country[0][0], GEOFW_MAX_COUNTRIES * 3)) {
		printf("  (nothing counted yet)\n");
	} else {
		printf("  %-24s %16s %16s %16s%s\n", "COUNTRY", "BLOCKED", "PASSED", "LOGGED",
		       p ? "      PKT/S" : "");
		for (k = 0; k < GEOFW_MAX_COUNTRIES; k++) {
			const __u64 *v = s->country[k];
			const char *cc = geofw_country_code(k);

			if (!v[0] && !v[1] && !v[2])
				continue;
			printf("  %-24s %16llu %16llu %16llu", cc ? cc : k ? "?" : "(no country)",
			       (unsigned long long)v[0], (unsigned long long)v[1],
			       (unsigned long long)v[2]);
			if (p) {
				const __u64 *o = p->country[k];

				printf(" %10.1f", rate(v[0] + v[1] + v[2], o[0] + o[1] + o[2], dt));
			}
			putchar('\n');
		}
	}

	printf("\nPackets decided by AS rules:\n");
	if (!s->n_asn) {
		printf("  (no AS rule in force)\n");
	} else {
		printf("  %-24s %16s %16s %16s%s\n", "AS", "BLOCKED", "PASSED", "LOGGED",
		       p ? "      PKT/S" : "");
		for (i = 0; i < s->n_asn; i++) {
			const struct geofw_asn_stats *a = &s->asn_st[i];
			char as[16];

			snprintf(as, sizeof(as), "AS%u", s->asn[i]);
			printf("  %-24s %16llu %16llu %16llu", as, (unsigned long long)a->blocked,
			       (unsigned long long)a->passed, (unsigned long long)a->logged);
			if (p)
				printf(" %10.1f", rate(a->blocked + a->passed + a->logged,
						      asn_prev_total(p, s->asn[i]), dt));
			putchar('\n');
		}
	}

	printf("\nRules with the most hits:\n");
	n = top_rules(s, top);
	if (!n) {
		printf("  (no rule hit yet)\n");
	} else {
		printf("  %8s %16s%s  %s\n", "RULE", "HITS", p ? "      HIT/S" : "", "PREFIX");
		for (i = 0; i < n; i++) {
			const struct rule_name *nm = &names[top[i]];

			printf("  %8u %16llu", top[i], (unsigned long long)s->rule[top[i]]);
			if (p)
				printf(" %10.1f", rate(s->rule[top[i]], p->rule[top[i]], dt));
			if (nm->count) {
				rule_text(nm, what, sizeof(what));
				printf("  %s", what);
				if (nm->count > 1)
					printf(" and %zu more", nm->count - 1);
			} else {
				printf("  (rule removed)");
			}
			putchar('\n');
		}
	}

	printf("\nTCP responder:\n");
	if (!any_nonzero(s->resp, GEOFW_RESP_MAX)) {
		printf("  (no events)\n");
	} else {
		for (k = 0; k < GEOFW_RESP_MAX; k++) {
			printf("  %-24s %16llu", geofw_resp_event_name(k),
			       (unsigned long long)s->resp[k]);
			if (p)
				printf(" %10.1f", rate(s->resp[k], p->resp[k], dt));
			putchar('\n');
		}
	}

	printf("\nDrop log:\n");
	printf("  %-24s %16llu\n", "suppressed (rate limit)", (unsigned long long)s->events_suppressed);
	printf("  %-24s %16llu\n", "lost (ring full)", (unsigned long long)s->events_lost);
}

/* The rate since the previous sample, NULL on the first (key left out). */
static json_t *json_rate(const struct sample *p, __u64 cur, __u64 prev, double dt)
{
	return p ? geofw_json_real3(rate(cur, prev, dt)) : NULL;
}

/* One reason's or action's packets and bytes, with their rates when there
 * is a previous sample (prev not NULL). */
static json_t *packets_bytes_json(const char *key, const char *name, const __u64 cur[2],
				  const __u64 prev[2], double dt)
{
	return json_pack("{s:s, s:I, s:I, s:o*, s:o*}", key, name,
			 "packets", (json_int_t)cur[0], "bytes", (json_int_t)cur[1],
			 "packets_per_sec", prev ? geofw_json_real3(rate(cur[0], prev[0], dt)) : NULL,
			 "bytes_per_sec", prev ? geofw_json_real3(rate(cur[1], prev[1], dt)) : NULL);
}

static json_t *stats_json(const struct sample *s, const struct sample *p,
			  const struct rule_name *names)
{
	double dt = p ? s->t - p->t : 0;
	json_t *reasons = json_array(), *actions = json_array(), *countries = json_array();
	json_t *ases = json_array(), *rules = json_array(), *resp = json_array();
	char pfx[GEOFW_CIDR_STRLEN];
	__u32 top[TOP_RULES];
	unsigned int k;
	size_t n, i;

	for (k = 0; k < GEOFW_R_MAX; k++)
		geofw_json_push(&reasons, packets_bytes_json("reason", geofw_reason_name(k),
			s->reason[k], p ? p->reason[k] : NULL, dt));
	for (k = 0; k < GEOFW_ACT_MAX; k++)
		geofw_json_push(&actions, packets_bytes_json("action", geofw_action_name(k),
			s->action[k], p ? p->action[k] : NULL, dt));
	for (k = 0; k < GEOFW_MAX_COUNTRIES; k++) {
		const __u64 *v = s->country[k], *o = p ? p->country[k] : v;

		if (!v[0] && !v[1] && !v[2])
			continue;
		geofw_json_push(&countries, json_pack("{s:s?, s:I, s:I, s:I, s:o*}",
			"country", geofw_country_code(k), "blocked", (json_int_t)v[0],
			"passed", (json_int_t)v[1], "logged", (json_int_t)v[2],
			"packets_per_sec", json_rate(p, v[0] + v[1] + v[2], o[0] + o[1] + o[2], dt)));
	}
	for (i = 0; i < s->n_asn; i++) {
		const struct geofw_asn_stats *a = &s->asn_st[i];

		geofw_json_push(&ases, json_pack("{s:I, s:I, s:I, s:I, s:o*}",
			"asn", (json_int_t)s->asn[i], "blocked", (json_int_t)a->blocked,
			"passed", (json_int_t)a->passed, "logged", (json_int_t)a->logged,
			"packets_per_sec", json_rate(p, a->blocked + a->passed + a->logged,
						     p ? asn_prev_total(p, s->asn[i]) : 0, dt)));
	}
	n = top_rules(s, top);
	for (i = 0; i < n; i++) {
		const struct rule_name *nm = &names[top[i]];

		bool has_prefix = nm->count && (nm->kind == RULE_PREFIX ||
						nm->kind == RULE_PORT_PREFIX);

		if (has_prefix)
			geofw_cidr_format(&nm->prefix, pfx, sizeof(pfx));
		geofw_json_push(&rules, json_pack("{s:I, s:I, s:o*, s:s?, s:s?, s:I, s:b, s:o*}",
			"rule_id", (json_int_t)top[i], "hits", (json_int_t)s->rule[top[i]],
			"hits_per_sec", json_rate(p, s->rule[top[i]], p ? p->rule[top[i]] : 0, dt),
			"list", !nm->count ? NULL : nm->kind == RULE_PORT_ONLY ? "allow-only" :
				nm->allow ? "allow" : "block",
			"prefix", has_prefix ? pfx : NULL, "prefixes", (json_int_t)nm->count,
			"ports", nm->count && nm->kind != RULE_PREFIX,
			"asn", nm->kind == RULE_PORT_ASN ? json_integer(nm->asn) : NULL));
	}
	for (k = 0; k < GEOFW_RESP_MAX; k++)
		geofw_json_push(&resp, json_pack("{s:s, s:I, s:o*}",
			"event", geofw_resp_event_name(k), "packets", (json_int_t)s->resp[k],
			"packets_per_sec", json_rate(p, s->resp[k], p ? p->resp[k] : 0, dt)));
	return json_pack("{s:I, s:o*, s:o, s:o, s:o, s:o, s:o, s:o, s:{s:I, s:I}}",
			 "time", (json_int_t)time(NULL),
			 "interval", p ? geofw_json_real3(dt) : NULL,
			 "reasons", reasons, "actions", actions, "countries", countries,
			 "ases", ases, "rules", rules, "responder", resp,
			 "droplog", "suppressed", (json_int_t)s->events_suppressed,
			 "lost", (json_int_t)s->events_lost);
}

/* Sleep up to secs, returning early on Ctrl-C. */
static void nap(unsigned int secs, double since)
{
	double left = since + secs - geofw_clock_s(CLOCK_MONOTONIC);
	struct timespec ts;

	if (left <= 0)
		return;
	ts.tv_sec = (time_t)left;
	ts.tv_nsec = (long)((left - (double)ts.tv_sec) * 1e9);
	while (!stop && nanosleep(&ts, &ts) && errno == EINTR)
		;
}

int fwctl_stats(struct fwctl *c, const struct geofw_cmd *cmd)
{
	struct sample *cur, *prev, *tmp;
	struct rule_name *names;
	double named_at = -1e9;
	bool tty = isatty(STDOUT_FILENO), first = true;
	struct sigaction sa = { .sa_handler = on_signal };
	struct geofw_maps m;
	char when[64];
	int err, ret = FWCTL_EXIT_OK;

	err = fwctl_open_pins(c, &m);
	if (err)
		return err;
	cur = calloc(1, sizeof(*cur));
	prev = calloc(1, sizeof(*prev));
	names = calloc(GEOFW_MAX_RULE_IDS, sizeof(*names));
	if (cur)
		cur->rule = calloc(GEOFW_MAX_RULE_IDS, sizeof(__u64));
	if (prev)
		prev->rule = calloc(GEOFW_MAX_RULE_IDS, sizeof(__u64));
	if (!cur || !prev || !names || !cur->rule || !prev->rule) {
		ret = fwctl_fail(c, FWCTL_EXIT_FAIL, "out of memory");
		goto out;
	}
	if (cmd->watch) {
		/* Ctrl-C ends the watch normally, with status 0. */
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
	}

	while (!stop) {
		err = read_sample(&m, cur);
		if (!err && cur->t - named_at >= RULE_NAMES_EVERY) {
			err = name_rules(&m, names);
			named_at = cur->t;
		}
		if (err) {
			ret = fwctl_fail(c, FWCTL_EXIT_FAIL, "reading the counters: %s",
					 strerror(-err));
			break;
		}
		if (c->json) {
			/* one line per refresh, flushed */
			ret = fwctl_json_print(c, stats_json(cur, first ? NULL : prev, names));
			if (ret)
				break;
		} else {
			if (cmd->watch) {
				time_t now = time(NULL);
				struct tm tm;

				strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S",
					 localtime_r(&now, &tm));
				if (tty)
					fputs("\033[H\033[2J", stdout);
				else if (!first)
					putchar('\n');
				printf("Every %us: fwctl stats    %s\n\n", cmd->interval, when);
			}
			print_text(cur, first ? NULL : prev, names);
			fflush(stdout);
		}
		if (!cmd->watch)
			break;
		first = false;
		tmp = prev;
		prev = cur;
		cur = tmp;
		nap(cmd->interval, prev->t);
	}
out:
	if (cur)
		free(cur->rule);
	if (prev)
		free(prev->rule);
	free(cur);
	free(prev);
	free(names);
	geofw_maps_close(&m);
	return ret;
}
