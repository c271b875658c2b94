// SPDX-License-Identifier: GPL-2.0-only
/*
 * Metrics text (user/lib/metrics.c) and the drop-log reader and formatters
 * (user/lib/events.c): rendering from a fake snapshot, counters read from a
 * privately loaded data plane, and samples the XDP program writes under
 * BPF_PROG_RUN, rate limit included; and the options of fwctl log and top.
 */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "countries.h"
#include "events.h"
#include "loader.h"
#include "metrics.h"
#include "pkt.h"
#include "test.h"

/* ---- helpers ----------------------------------------------------------------------- */

static bool has_line(const char *text, const char *line)
{
	size_t n = strlen(line);
	const char *p = text;

	while ((p = strstr(p, line))) {
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return true;
		p += n;
	}
	return false;
}

#define ASSERT_LINE(text, line) ({						\
	bool ___ok = has_line((text), (line));					\
	if (!___ok)								\
		test__fail(__FILE__, __LINE__, "no line \"%s\"", (line));	\
	___ok;									\
})

/*
 * The exposition format's structure: every sample line belongs to the
 * family announced by the last # TYPE (name, or name_total for counters is
 * the family name itself here), each family has HELP and TYPE once, before
 * its samples, and lines end with a newline.
 */
static void check_structure(const char *text)
{
	char family[128] = "", seen[64][128];
	size_t n_seen = 0, i;
	const char *p = text;

	ASSERT_TRUE(*text && text[strlen(text) - 1] == '\n', "ends with a newline");
	while (*p) {
		const char *nl = strchr(p, '\n');
		char line[512], name[128];
		size_t len = nl ? (size_t)(nl - p) : strlen(p);

		snprintf(line, sizeof(line), "%.*s", (int)len, p);
		p += len + (nl ? 1 : 0);
		if (!strncmp(line, "# HELP ", 7)) {
			sscanf(line + 7, "%127s", name);
			for (i = 0; i < n_seen; i++)
				if (!strcmp(seen[i], name))
					test__fail(__FILE__, __LINE__, "family %s twice", name);
			if (n_seen < 64)
				snprintf(seen[n_seen++], sizeof(seen[0]), "%s", name);
			snprintf(family, sizeof(family), "%s", name);
			continue;
		}
		if (!strncmp(line, "# TYPE ", 7)) {
			char type[32];

			if (sscanf(line + 7, "%127s %31s", name, type) != 2 || strcmp(name, family))
				test__fail(__FILE__, __LINE__, "TYPE without its HELP: %s", line);
			else if (strcmp(type, "counter") && strcmp(type, "gauge"))
				test__fail(__FILE__, __LINE__, "type %s", type);
			else if (!strcmp(type, "counter") &&
				 (strlen(name) < 6 || strcmp(name + strlen(name) - 6, "_total")))
				test__fail(__FILE__, __LINE__, "counter %s lacks _total", name);
			continue;
		}
		len = strcspn(line, "{ ");
		if (len != strlen(family) || strncmp(line, family, len))
			test__fail(__FILE__, __LINE__, "sample outside its family %s: %s", family,
				   line);
		if (!strchr(line, ' '))
			test__fail(__FILE__, __LINE__, "sample without a value: %s", line);
	}
}

static void fake(struct geofw_counters *c, struct geofw_metrics_info *in,
		 struct geofw_metrics_iface *ifs)
{
	memset(c, 0, sizeof(*c));
	memset(in, 0, sizeof(*in));
	c->reason[GEOFW_R_COUNTRY_BLOCK].packets = 1500;
	c->reason[GEOFW_R_COUNTRY_BLOCK].bytes = 96000;
	c->reason[GEOFW_R_ALLOWLIST].packets = 3;
	c->action[GEOFW_ACT_DROP].packets = 1500;
	c->action[GEOFW_ACT_DROP].bytes = 96000;
	c->country[geofw_country_id("RU")].blocked = 1500;
	c->country[geofw_country_id("DE")].passed = 7;
	c->country[0].passed = 2;
	c->resp[GEOFW_RESP_HTTP403].packets = 4;
	c->resp[GEOFW_RESP_BAD_COOKIE].packets = 1;
	c->resp[GEOFW_RESP_MISSING].packets = 7;
	c->resp[GEOFW_RESP_LIMITED].packets = 8;
	c->n_top_rules = 2;
	c->top_rule_id[0] = 12;
	c->top_rule_hits[0] = 99;
	c->top_rule_id[1] = 3;
	c->top_rule_hits[1] = 5;
	c->events_rate = 20;
	c->have_event_limit = true;
	c->events_suppressed = 1234;
	c->events_lost = 56;

	in->start_time = 1718200000;
	in->block_ip4 = 10;
	in->block_net6 = 2;
	in->allow4 = 1;
	in->countries_listed = 1;
	in->geoip_loaded = true;
	in->geoip_build_epoch = 1718064000;
	in->geoip_loaded_at = 1718200001;
	in->geoip_load_seconds = 0.4567;
	in->geoip_prefixes_v4 = 412345;
	in->geoip_prefixes_v6 = 123456;
	in->country_policy_enforced = true;
	in->asn_rules_enforced = true;
	in->asn_blocked = 3;
	in->asn_allowed = 1;
	in->reloads_ok = 2;
	in->reloads_failed = 1;
	in->last_reload_ok = 1718200100;
	memset(ifs, 0, 3 * sizeof(*ifs));
	snprintf(ifs[0].name, sizeof(ifs[0].name), "eth0");
	ifs[0].present = ifs[0].attached = ifs[0].responder = true;
	ifs[0].xdp_mode = 1;		/* GEOFW_XDP_NATIVE */
	snprintf(ifs[1].name, sizeof(ifs[1].name), "veth\"x\\");
	ifs[1].present = ifs[1].attached = true;
	ifs[1].xdp_mode = 2;		/* GEOFW_XDP_GENERIC */
	snprintf(ifs[2].name, sizeof(ifs[2].name), "gone0");
	in->ifaces = ifs;
	in->n_ifaces = 3;
	in->drop_log_samples = 42;
}

/* ---- rendering ----------------------------------------------------------------------- */

void test_metrics_render(void)
{
	struct geofw_metrics_iface ifs[3];
	struct geofw_metrics_info in;
	struct geofw_counters c;
	char *buf = malloc(GEOFW_METRICS_MAX);
	char line[160];
	int n;

	if (!ASSERT_TRUE(buf != NULL, "malloc"))
		return;
	fake(&c, &in, ifs);
	n = geofw_metrics_render(&c, &in, buf, GEOFW_METRICS_MAX);
	if (!ASSERT_TRUE(n > 0, "rendered")) {
		free(buf);
		return;
	}
	ASSERT_EQ(strlen(buf), n, "length");
	ASSERT_TRUE(!strstr(buf, "geofw_ratelimit_"), "no rate limit, no rate-limit series");
	/* Per rate limit: passed, limited, bans, by the limit's name. */
	c.rl[1] = (struct geofw_rl_stats){ .passed = 1000, .limited = 200000, .bans = 3 };
	snprintf(in.rl_name[0], sizeof(in.rl_name[0]), "dns");
	snprintf(in.rl_name[1], sizeof(in.rl_name[1]), "syn_flood");
	in.n_rl = 2;
	n = geofw_metrics_render(&c, &in, buf, GEOFW_METRICS_MAX);
	ASSERT_TRUE(has_line(buf, "geofw_ratelimit_packets_total{limit=\"dns\",verdict=\"passed\"} 0"),
		    "rate limit without traffic");
	ASSERT_TRUE(has_line(buf, "geofw_ratelimit_packets_total{limit=\"syn_flood\",verdict=\"passed\"} 1000"),
		    "rate limit passed");
	ASSERT_TRUE(has_line(buf, "geofw_ratelimit_packets_total{limit=\"syn_flood\",verdict=\"limited\"} 200000"),
		    "rate limit limited");
	ASSERT_TRUE(has_line(buf, "geofw_ratelimit_bans_total{limit=\"syn_flood\"} 3"),
		    "rate limit bans");
	check_structure(buf);
	in.n_rl = 0;
	memset(&c.rl, 0, sizeof(c.rl));
	n = geofw_metrics_render(&c, &in, buf, GEOFW_METRICS_MAX);
	check_structure(buf);

	ASSERT_LINE(buf, "# HELP geofw_reason_packets_total Packets seen by the XDP program, "
		    "by the reason of their verdict.");
	ASSERT_LINE(buf, "# TYPE geofw_reason_packets_total counter");
	ASSERT_LINE(buf, "geofw_reason_packets_total{reason=\"country_block\"} 1500");
	ASSERT_LINE(buf, "geofw_reason_packets_total{reason=\"block_ip\"} 0");
	ASSERT_LINE(buf, "geofw_reason_bytes_total{reason=\"country_block\"} 96000");
	ASSERT_LINE(buf, "geofw_action_packets_total{action=\"drop\"} 1500");
	ASSERT_LINE(buf, "geofw_action_bytes_total{action=\"http403\"} 0");
	ASSERT_LINE(buf, "geofw_country_packets_total{country=\"RU\",verdict=\"blocked\"} 1500");
	ASSERT_LINE(buf, "geofw_country_packets_total{country=\"RU\",verdict=\"passed\"} 0");
	ASSERT_LINE(buf, "geofw_country_packets_total{country=\"DE\",verdict=\"passed\"} 7");
	ASSERT_LINE(buf, "geofw_country_packets_total{country=\"none\",verdict=\"passed\"} 2");
	ASSERT_TRUE(!strstr(buf, "country=\"US\""), "countries without traffic left out");
	ASSERT_LINE(buf, "geofw_responder_packets_total{event=\"http403\"} 4");
	ASSERT_LINE(buf, "geofw_responder_packets_total{event=\"rst\"} 0");
	ASSERT_LINE(buf, "geofw_responder_packets_total{event=\"bad_cookie\"} 1");
	ASSERT_LINE(buf, "geofw_responder_packets_total{event=\"responder_missing\"} 7");
	ASSERT_LINE(buf, "geofw_responder_packets_total{event=\"source_limited\"} 8");
	ASSERT_LINE(buf, "geofw_rule_hits_total{rule_id=\"12\"} 99");
	ASSERT_LINE(buf, "geofw_rule_hits_total{rule_id=\"3\"} 5");
	ASSERT_LINE(buf, "geofw_droplog_rate 20");
	ASSERT_LINE(buf, "geofw_droplog_suppressed_total 1234");
	ASSERT_LINE(buf, "geofw_droplog_lost_total 56");
	ASSERT_LINE(buf, "geofw_droplog_samples_total 42");
	snprintf(line, sizeof(line), "geofw_build_info{version=\"%s\",abi_version=\"%d\"} 1",
		 GEOFW_VERSION, GEOFW_ABI_VERSION);
	ASSERT_LINE(buf, line);
	ASSERT_LINE(buf, "geofw_start_time_seconds 1718200000");
	ASSERT_LINE(buf, "geofw_rules{kind=\"block_address\",family=\"ipv4\"} 10");
	ASSERT_LINE(buf, "geofw_rules{kind=\"block_network\",family=\"ipv6\"} 2");
	ASSERT_LINE(buf, "geofw_rules{kind=\"allow\",family=\"ipv4\"} 1");
	ASSERT_LINE(buf, "geofw_countries_listed{mode=\"block\"} 1");
	ASSERT_LINE(buf, "geofw_geoip_loaded 1");
	ASSERT_LINE(buf, "geofw_country_policy_enforced 1");
	ASSERT_LINE(buf, "geofw_asn_rules_enforced 1");
	ASSERT_LINE(buf, "geofw_asn_rules{kind=\"block\"} 3");
	ASSERT_LINE(buf, "geofw_asn_rules{kind=\"allow\"} 1");
	ASSERT_LINE(buf, "geofw_geoip_build_timestamp_seconds 1718064000");
	ASSERT_LINE(buf, "geofw_geoip_load_timestamp_seconds 1718200001");
	ASSERT_LINE(buf, "geofw_geoip_load_duration_seconds 0.457");
	ASSERT_LINE(buf, "geofw_geoip_prefixes{family=\"ipv4\"} 412345");
	ASSERT_LINE(buf, "geofw_geoip_prefixes{family=\"ipv6\"} 123456");
	ASSERT_LINE(buf, "geofw_reloads_total{result=\"success\"} 2");
	ASSERT_LINE(buf, "geofw_reloads_total{result=\"failure\"} 1");
	ASSERT_LINE(buf, "geofw_last_reload_success_timestamp_seconds 1718200100");
	ASSERT_LINE(buf, "geofw_xdp_attached{interface=\"eth0\",mode=\"native\"} 1");
	ASSERT_LINE(buf, "geofw_xdp_attached{interface=\"veth\\\"x\\\\\",mode=\"generic\"} 1");
	ASSERT_LINE(buf, "geofw_xdp_attached{interface=\"gone0\",mode=\"none\"} 0");
	ASSERT_LINE(buf, "geofw_responder_attached{interface=\"eth0\"} 1");
	ASSERT_LINE(buf, "geofw_responder_attached{interface=\"gone0\"} 0");
	ASSERT_LINE(buf, "geofw_interface_present{interface=\"gone0\"} 0");

	ASSERT_TRUE(!strstr(buf, "geofw_source_"), "no source, no geofw_source_ families");
	{
		static const struct geofw_metrics_source src[] = {
			{ .name = "crowdsec", .rules = 12, .up = true, .last_success = 1718200200,
			  .errors = 3, .refused = 2 },
			{ .name = "feed:spamhaus \"drop\"", .rules = 1000, .held_back = true },
		};

		in.sources = src;
		in.n_sources = 2;
		n = geofw_metrics_render(&c, &in, buf, GEOFW_METRICS_MAX);
		ASSERT_TRUE(n > 0, "rendered with sources");
		check_structure(buf);
		ASSERT_LINE(buf, "# TYPE geofw_source_rules gauge");
		ASSERT_LINE(buf, "geofw_source_rules{source=\"crowdsec\"} 12");
		ASSERT_LINE(buf, "geofw_source_rules{source=\"feed:spamhaus \\\"drop\\\"\"} 1000");
		ASSERT_LINE(buf, "geofw_source_up{source=\"crowdsec\"} 1");
		ASSERT_LINE(buf, "geofw_source_last_success_seconds{source=\"crowdsec\"} 1718200200");
		ASSERT_LINE(buf, "# TYPE geofw_source_errors_total counter");
		ASSERT_LINE(buf, "geofw_source_errors_total{source=\"crowdsec\"} 3");
		ASSERT_LINE(buf, "geofw_source_entries_refused_total{source=\"crowdsec\"} 2");
		ASSERT_LINE(buf, "geofw_source_held_back{source=\"crowdsec\"} 0");
		ASSERT_LINE(buf, "geofw_source_held_back{source=\"feed:spamhaus \\\"drop\\\"\"} 1");
		in.sources = NULL;
		in.n_sources = 0;
	}

	/* Without a database, its times are left out rather than 0. */
	in.geoip_loaded = false;
	n = geofw_metrics_render(&c, &in, buf, GEOFW_METRICS_MAX);
	ASSERT_TRUE(n > 0, "rendered without a database");
	ASSERT_LINE(buf, "geofw_geoip_loaded 0");
	ASSERT_TRUE(!strstr(buf, "geofw_geoip_build_timestamp_seconds"), "no build time");
	/* Countries configured, nothing to look them up in. */
	in.country_policy_enforced = false;
	n = geofw_metrics_render(&c, &in, buf, GEOFW_METRICS_MAX);
	ASSERT_TRUE(n > 0, "rendered with the policy not enforced");
	ASSERT_LINE(buf, "geofw_country_policy_enforced 0");
	/* AS rules stored, no ASNDatabase. */
	in.asn_rules_enforced = false;
	n = geofw_metrics_render(&c, &in, buf, GEOFW_METRICS_MAX);
	ASSERT_LINE(buf, "geofw_asn_rules_enforced 0");
	check_structure(buf);

	/* A short buffer is refused, and still terminated. */
	ASSERT_EQ(geofw_metrics_render(&c, &in, buf, 100), -ENOSPC, "short buffer");
	ASSERT_TRUE(memchr(buf, '\0', 100) != NULL, "terminated");
	ASSERT_EQ(geofw_metrics_render(&c, &in, buf, 0), -ENOSPC, "empty buffer");
	free(buf);
}

/* The largest text that can come out fits GEOFW_METRICS_MAX. */
void test_metrics_render_worst_case(void)
{
	static struct geofw_metrics_source src[GEOFW_METRICS_MAX_SOURCES];
	static char srcname[128 + 1];	/* GEOFW_STORE_SOURCE_MAX */
	struct geofw_metrics_iface ifs[GEOFW_METRICS_MAX_IFACES];
	struct geofw_metrics_info in;
	struct geofw_counters c;
	char *buf = malloc(GEOFW_METRICS_MAX);
	const __u64 big = ~0ull;
	unsigned int k;
	int n;

	if (!ASSERT_TRUE(buf != NULL, "malloc"))
		return;
	memset(&c, 0xff, sizeof(c));
	c.n_top_rules = GEOFW_METRICS_TOP_RULES;
	c.have_event_limit = true;
	c.n_asn = sizeof(c.asn) / sizeof(c.asn[0]);	/* every AS class of both slots */
	for (k = 0; k < GEOFW_MAX_COUNTRIES; k++) {
		c.country[k].blocked = big;
		c.country[k].passed = big;
		c.country[k].logged = big;
	}
	memset(&in, 0, sizeof(in));
	in.start_time = in.geoip_loaded_at = in.last_reload_ok = 0x7fffffffffffffffll;
	in.block_ip4 = in.block_ip6 = in.block_net4 = in.block_net6 = (size_t)-1;
	in.allow4 = in.allow6 = in.countries_listed = (size_t)-1;
	in.geoip_loaded = true;
	in.geoip_build_epoch = big;
	in.geoip_load_seconds = 1e12;
	in.geoip_prefixes_v4 = in.geoip_prefixes_v6 = (size_t)-1;
	in.reloads_ok = in.reloads_failed = in.drop_log_samples = (unsigned long)-1;
	for (k = 0; k < GEOFW_METRICS_MAX_IFACES; k++) {
		/* Every character escaped: the longest label value. */
		memset(ifs[k].name, '"', sizeof(ifs[k].name) - 1);
		ifs[k].name[sizeof(ifs[k].name) - 1] = '\0';
		ifs[k].attached = ifs[k].present = ifs[k].responder = true;
		ifs[k].xdp_mode = 2;
	}
	in.ifaces = ifs;
	in.n_ifaces = GEOFW_METRICS_MAX_IFACES;
	/* Every source with the longest name, every byte escaped. */
	memset(srcname, '\\', sizeof(srcname) - 1);
	srcname[sizeof(srcname) - 1] = '\0';
	for (k = 0; k < GEOFW_METRICS_MAX_SOURCES; k++) {
		src[k].name = srcname;
		src[k].rules = (size_t)-1;
		src[k].last_success = 0x7fffffffffffffffll;
		src[k].errors = src[k].refused = (unsigned long)-1;
	}
	in.sources = src;
	in.n_sources = GEOFW_METRICS_MAX_SOURCES;
	/* Every rate limit with the longest name. */
	for (k = 0; k < GEOFW_MAX_RATELIMITS; k++)
		memset(in.rl_name[k], 'x', sizeof(in.rl_name[k]) - 1);
	in.n_rl = GEOFW_MAX_RATELIMITS;
	n = geofw_metrics_render(&c, &in, buf, GEOFW_METRICS_MAX);
	ASSERT_TRUE(n > 0, "fits");
	if (n > 0) {
		printf("#   worst case: %d bytes of %d\n", n, GEOFW_METRICS_MAX);
		check_structure(buf);
	}
	free(buf);
}

void test_metrics_rank_rules(void)
{
	__u64 *hits = calloc(GEOFW_MAX_RULE_IDS, sizeof(*hits));
	struct geofw_counters c = { 0 };
	size_t i;

	if (!ASSERT_TRUE(hits != NULL, "calloc"))
		return;
	hits[0] = 1000000;			/* id 0 is "no rule": never ranked */
	for (i = 1; i <= 30; i++)
		hits[i * 1000] = i;
	hits[GEOFW_MAX_RULE_IDS - 1] = 500;
	geofw_counters_rank_rules(hits, GEOFW_MAX_RULE_IDS, &c);
	ASSERT_EQ(c.n_top_rules, GEOFW_METRICS_TOP_RULES, "twenty");
	ASSERT_EQ(c.top_rule_id[0], GEOFW_MAX_RULE_IDS - 1, "first");
	ASSERT_EQ(c.top_rule_hits[0], 500, "first hits");
	ASSERT_EQ(c.top_rule_id[1], 30000, "second");
	ASSERT_EQ(c.top_rule_id[19], 12000, "last");
	for (i = 1; i < c.n_top_rules; i++)
		ASSERT_TRUE(c.top_rule_hits[i - 1] >= c.top_rule_hits[i], "sorted");
	memset(hits, 0, GEOFW_MAX_RULE_IDS * sizeof(*hits));
	hits[7] = 1;
	geofw_counters_rank_rules(hits, GEOFW_MAX_RULE_IDS, &c);
	ASSERT_EQ(c.n_top_rules, 1, "one");
	ASSERT_EQ(c.top_rule_id[0], 7, "its id");
	free(hits);
}

/* ---- counters from a loaded data plane ------------------------------------------------- */

static struct geofw_loaded fw;
static bool fw_loaded;

static bool fw_get(void)
{
	if (!fw_loaded) {
		if (geofw_load(NULL, &fw)) {
			test_skip("cannot load the BPF objects (root needed)");
			return false;
		}
		fw_loaded = true;
	}
	return true;
}

static int evt_limit_fd(void)
{
	struct bpf_map *m = bpf_object__find_map_by_name(fw.xdp_obj, GEOFW_MAP_EVENT_LIMIT);

	return m ? bpf_map__fd(m) : -1;
}

/* Write value words to every CPU's slot of key: CPU i gets words * (i + 1). */
static int put_percpu(int fd, __u32 key, const __u64 *words, size_t n)
{
	int ncpu = libbpf_num_possible_cpus(), cpu;
	__u64 *v = calloc((size_t)ncpu * n, sizeof(*v));
	size_t w;
	int err = 0;

	if (!v)
		return -ENOMEM;
	for (cpu = 0; cpu < ncpu; cpu++)
		for (w = 0; w < n; w++)
			v[(size_t)cpu * n + w] = words[w] * (__u64)(cpu + 1);
	if (bpf_map_update_elem(fd, &key, v, BPF_ANY))
		err = -errno;
	free(v);
	return err;
}

void test_metrics_counters_from_maps(void)
{
	const struct geofw_maps *m;
	struct geofw_metrics_info in = { 0 };
	struct geofw_counters *c = calloc(1, sizeof(*c));
	char *buf = malloc(GEOFW_METRICS_MAX), line[160];
	int ncpu = libbpf_num_possible_cpus();
	__u64 tri = (__u64)ncpu * (__u64)(ncpu + 1) / 2;	/* sum of 1..ncpu */
	__u32 ru = (__u32)geofw_country_id("RU"), id;
	struct geofw_config cfg;
	int n;

	if (!ASSERT_TRUE(c && buf, "malloc") || !fw_get())
		goto out;
	m = &fw.maps;
	ASSERT_OK(geofw_maps_reset_counters(m), "reset");
	ASSERT_OK(put_percpu(m->cnt_reason, GEOFW_R_BLOCK_IP, (__u64[]){ 10, 640 }, 2), "reason");
	ASSERT_OK(put_percpu(m->cnt_action, GEOFW_ACT_REJECT, (__u64[]){ 4, 256 }, 2), "action");
	ASSERT_OK(put_percpu(m->cnt_country, ru, (__u64[]){ 5, 6, 7 }, 3), "country");
	ASSERT_OK(put_percpu(m->cnt_resp, GEOFW_RESP_RST, (__u64[]){ 3 }, 1), "resp");
	for (id = 1; id <= 25; id++)
		ASSERT_OK(put_percpu(m->cnt_rule, id * 100, (__u64[]){ id }, 1), "rule");
	ASSERT_OK(geofw_config_read(m, &cfg), "config read");
	cfg.events_rate = 17;
	ASSERT_OK(geofw_config_write(m, &cfg), "config write");

	ASSERT_OK(geofw_counters_read(m, evt_limit_fd(), GEOFW_COUNTERS_RULES, c), "read");
	ASSERT_EQ(c->reason[GEOFW_R_BLOCK_IP].packets, 10 * tri, "reason packets");
	ASSERT_EQ(c->reason[GEOFW_R_BLOCK_IP].bytes, 640 * tri, "reason bytes");
	ASSERT_EQ(c->reason[GEOFW_R_NON_IP].packets, 0, "other reason");
	ASSERT_EQ(c->action[GEOFW_ACT_REJECT].packets, 4 * tri, "action");
	ASSERT_EQ(c->country[ru].blocked, 5 * tri, "blocked");
	ASSERT_EQ(c->country[ru].passed, 6 * tri, "passed");
	ASSERT_EQ(c->country[ru].logged, 7 * tri, "logged");
	ASSERT_EQ(c->resp[GEOFW_RESP_RST].packets, 3 * tri, "rst");
	ASSERT_EQ(c->n_top_rules, GEOFW_METRICS_TOP_RULES, "top rules");
	ASSERT_EQ(c->top_rule_id[0], 2500, "top rule");
	ASSERT_EQ(c->top_rule_hits[0], 25 * tri, "its hits");
	ASSERT_EQ(c->top_rule_id[19], 600, "20th rule");
	ASSERT_EQ(c->events_rate, 17, "events_rate");
	ASSERT_TRUE(c->have_event_limit, "limiter read");

	ASSERT_OK(geofw_counters_read(m, -1, 0, c), "read without rules");
	ASSERT_EQ(c->n_top_rules, 0, "no rules ranked");
	ASSERT_TRUE(!c->have_event_limit, "no limiter");

	ASSERT_OK(geofw_counters_read(m, evt_limit_fd(), GEOFW_COUNTERS_RULES, c), "read");
	n = geofw_metrics_render(c, &in, buf, GEOFW_METRICS_MAX);
	if (ASSERT_TRUE(n > 0, "render")) {
		check_structure(buf);
		snprintf(line, sizeof(line), "geofw_reason_packets_total{reason=\"block_ip\"} %llu",
			 (unsigned long long)(10 * tri));
		ASSERT_LINE(buf, line);
		snprintf(line, sizeof(line),
			 "geofw_country_packets_total{country=\"RU\",verdict=\"logged\"} %llu",
			 (unsigned long long)(7 * tri));
		ASSERT_LINE(buf, line);
		snprintf(line, sizeof(line), "geofw_rule_hits_total{rule_id=\"2500\"} %llu",
			 (unsigned long long)(25 * tri));
		ASSERT_LINE(buf, line);
		ASSERT_TRUE(!strstr(buf, "rule_id=\"500\""), "21st rule left out");
		ASSERT_LINE(buf, "geofw_droplog_rate 17");
	}
	cfg.events_rate = 0;
	geofw_config_write(m, &cfg);
	geofw_maps_reset_counters(m);
out:
	free(c);
	free(buf);
}

/* ---- drop-log formatting --------------------------------------------------------------- */

static struct geofw_event ev4(void)
{
	struct geofw_event ev = {
		.ts_ns = 1, .ifindex = 3, .family = 4, .l4proto = IPPROTO_UDP,
		.reason = GEOFW_R_COUNTRY_BLOCK, .action = GEOFW_ACT_DROP,
		.sport_be = htons(40000), .dport_be = htons(9),
	};

	ev.country_id = (__u8)geofw_country_id("RU");
	inet_pton(AF_INET, "203.0.113.2", ev.saddr);
	inet_pton(AF_INET, "203.0.113.1", ev.daddr);
	return ev;
}

void test_events_format(void)
{
	struct geofw_event ev = ev4();
	char buf[GEOFW_EVENT_STRLEN];

	SUBTEST("ipv4 udp") {
		ASSERT_TRUE(geofw_event_format(&ev, "gfw3", buf, sizeof(buf)) > 0, "format");
		ASSERT_STREQ(buf, "src=203.0.113.2 dst=203.0.113.1 proto=udp sport=40000 dport=9 "
			     "reason=country_block action=drop country=RU iface=gfw3", "text");
		ASSERT_TRUE(geofw_event_format_json(&ev, "gfw3", 1718268513.1234, buf,
						    sizeof(buf)) > 0, "json");
		ASSERT_STREQ(buf, "{\"time\":1718268513.123,\"src\":\"203.0.113.2\","
			     "\"dst\":\"203.0.113.1\",\"proto\":\"udp\",\"sport\":40000,"
			     "\"dport\":9,\"reason\":\"country_block\",\"action\":\"drop\","
			     "\"country\":\"RU\",\"interface\":\"gfw3\",\"ifindex\":3,"
			     "\"rule_id\":0}", "json text");
	}
	SUBTEST("ipv6 tcp rule") {
		struct geofw_event e = ev;

		e.family = 6;
		e.l4proto = IPPROTO_TCP;
		e.reason = GEOFW_R_BLOCK_IP;
		e.action = GEOFW_ACT_HTTP403;
		e.rule_id = 12;
		e.country_id = 0;
		e.dport_be = htons(80);
		inet_pton(AF_INET6, "2001:db8:3::2", e.saddr);
		inet_pton(AF_INET6, "2001:db8:3::1", e.daddr);
		geofw_event_format(&e, NULL, buf, sizeof(buf));
		ASSERT_STREQ(buf, "src=2001:db8:3::2 dst=2001:db8:3::1 proto=tcp sport=40000 "
			     "dport=80 reason=block_ip action=http403 country=- iface=if3 rule=12",
			     "text");
		geofw_event_format_json(&e, "", 0, buf, sizeof(buf));
		ASSERT_TRUE(strstr(buf, "\"country\":null,\"interface\":\"if3\"") != NULL, "json");
		ASSERT_TRUE(strstr(buf, "\"rule_id\":12}") != NULL, "rule id");
	}
	SUBTEST("icmp, unknown protocol") {
		struct geofw_event e = ev;

		e.l4proto = IPPROTO_ICMP;
		e.sport_be = e.dport_be = 0;
		geofw_event_format(&e, "eth0", buf, sizeof(buf));
		ASSERT_TRUE(strstr(buf, "proto=icmp reason=") != NULL, "no ports");
		geofw_event_format_json(&e, "eth0", 0, buf, sizeof(buf));
		ASSERT_TRUE(strstr(buf, "\"sport\":null,\"dport\":null") != NULL, "null ports");
		e.l4proto = 253;
		geofw_event_format(&e, "eth0", buf, sizeof(buf));
		ASSERT_TRUE(strstr(buf, "proto=253 reason=") != NULL, "number");
		geofw_event_format_json(&e, "eth0", 0, buf, sizeof(buf));
		ASSERT_TRUE(strstr(buf, "\"proto\":\"253\"") != NULL, "number as string");
	}
	SUBTEST("escaping, short buffer") {
		geofw_event_format_json(&ev, "a\"b\\c\x01", 0, buf, sizeof(buf));
		ASSERT_TRUE(strstr(buf, "\"interface\":\"a\\\"b\\\\c\\u0001\"") != NULL, "escaped");
		ASSERT_EQ(geofw_event_format(&ev, "gfw3", buf, 20), -ENOSPC, "text");
		ASSERT_EQ(strlen(buf), 19, "truncated, terminated");
		ASSERT_EQ(geofw_event_format_json(&ev, "gfw3", 0, buf, 20), -ENOSPC, "json");
		ASSERT_EQ(geofw_event_format(&ev, "gfw3", buf, 0), -ENOSPC, "empty");
	}
}

/* ---- samples from the XDP program ----------------------------------------------------------- */

struct collected {
	struct geofw_event ev[64];
	size_t n;
};

static int collect(const struct geofw_event *ev, void *ctx)
{
	struct collected *c = ctx;

	if (c->n < 64)
		c->ev[c->n] = *ev;
	c->n++;
	return 0;
}

/* Run the XDP program repeat times on one packet. */
static int run_xdp(const __u8 *frame, size_t len, __u32 repeat)
{
	__u8 out[256];
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = (__u32)len,
		    .data_out = out, .data_size_out = sizeof(out), .repeat = repeat);

	return bpf_prog_test_run_opts(fw.xdp_prog_fd, &o) ? -errno : (int)o.retval;
}

static int set_events_rate(__u32 rate)
{
	struct geofw_config cfg;
	int err = geofw_config_read(&fw.maps, &cfg);

	if (err)
		return err;
	cfg.events_rate = rate;
	return geofw_config_write(&fw.maps, &cfg);
}

void test_events_from_xdp(void)
{
	struct pkt_opts po = { .src = "198.51.100.7", .dst = "203.0.113.1",
			       .proto = IPPROTO_UDP, .sport = 5353, .dport = 9 };
	struct geofw_block blk = { .action = GEOFW_ACT_DROP, .rule_id = 77 };
	struct geofw_cidr pfx = { .family = 4, .prefixlen = 32, .addr = { 198, 51, 100, 7 } };
	struct geofw_event_reader *r = NULL;
	struct collected *got = calloc(1, sizeof(*got));
	struct geofw_counters *c = calloc(1, sizeof(*c));
	__u8 frame[1600];
	size_t len;
	__u64 suppressed0;

	if (!ASSERT_TRUE(got && c, "calloc") || !fw_get())
		goto out;
	len = pkt_build(&po, frame, sizeof(frame));
	if (!ASSERT_TRUE(len > 0, "packet"))
		goto out;
	ASSERT_OK(geofw_rules_present_add(&fw.maps, GEOFW_HAVE_BLOCK_IP4), "present");
	ASSERT_OK(geofw_block_put(&fw.maps, &pfx, &blk), "block");
	if (!ASSERT_OK(geofw_events_open(fw.maps.events, collect, got, &r), "open"))
		goto out;
	ASSERT_TRUE(geofw_events_fd(r) >= 0, "fd");
	geofw_events_consume(r);
	got->n = 0;

	SUBTEST("off: no samples") {
		ASSERT_OK(set_events_rate(0), "rate 0");
		ASSERT_EQ(run_xdp(frame, len, 50), XDP_DROP, "dropped");
		ASSERT_EQ(geofw_events_consume(r), 0, "nothing queued");
		ASSERT_EQ(got->n, 0, "no sample");
	}
	SUBTEST("on: rate limited") {
		ASSERT_OK(geofw_counters_read(&fw.maps, evt_limit_fd(), 0, c), "counters");
		suppressed0 = c->events_suppressed;
		ASSERT_OK(set_events_rate(5), "rate 5");
		/* BPF_PROG_RUN runs every repeat on this CPU, within a second
		 * (two windows at worst, if a window ends in the middle). */
		ASSERT_EQ(run_xdp(frame, len, 200), XDP_DROP, "dropped");
		ASSERT_EQ(geofw_events_poll(r, 100), (long long)got->n, "poll count");
		/* 5 per window and CPU: more only if the run crossed a window or
		 * moved to another CPU. */
		ASSERT_TRUE(got->n >= 5 && got->n % 5 == 0 && got->n <= 20, "5 per second and CPU");
		ASSERT_OK(geofw_counters_read(&fw.maps, evt_limit_fd(), 0, c), "counters");
		ASSERT_EQ(c->events_suppressed - suppressed0, 200 - got->n, "suppressed");
		if (got->n) {
			const struct geofw_event *e = &got->ev[0];
			char line[GEOFW_EVENT_STRLEN];

			ASSERT_EQ(e->family, 4, "family");
			ASSERT_EQ(e->l4proto, IPPROTO_UDP, "proto");
			ASSERT_EQ(e->reason, GEOFW_R_BLOCK_IP, "reason");
			ASSERT_EQ(e->action, GEOFW_ACT_DROP, "action");
			ASSERT_EQ(e->rule_id, 77, "rule");
			ASSERT_EQ(ntohs(e->sport_be), 5353, "sport");
			ASSERT_EQ(ntohs(e->dport_be), 9, "dport");
			geofw_event_format(e, "lo", line, sizeof(line));
			ASSERT_STREQ(line, "src=198.51.100.7 dst=203.0.113.1 proto=udp sport=5353 "
				     "dport=9 reason=block_ip action=drop country=- iface=lo "
				     "rule=77", "line");
		}
	}
	SUBTEST("ipv6 tcp") {
		struct pkt_opts p6 = { .src = "2001:db8:9::7", .dst = "2001:db8:3::1",
				       .proto = IPPROTO_TCP, .sport = 40001, .dport = 443 };
		struct geofw_cidr x = { .family = 6, .prefixlen = 128 };
		char a[INET6_ADDRSTRLEN];

		inet_pton(AF_INET6, "2001:db8:9::7", x.addr);
		ASSERT_OK(geofw_rules_present_add(&fw.maps, GEOFW_HAVE_BLOCK_IP6), "present");
		ASSERT_OK(geofw_block_put(&fw.maps, &x, &blk), "block");
		len = pkt_build(&p6, frame, sizeof(frame));
		got->n = 0;
		ASSERT_OK(set_events_rate(100000), "rate");
		ASSERT_EQ(run_xdp(frame, len, 1), XDP_DROP, "dropped");
		ASSERT_EQ(geofw_events_consume(r), 1, "one");
		if (got->n == 1) {
			ASSERT_EQ(got->ev[0].family, 6, "family");
			ASSERT_STREQ(geofw_event_addr(&got->ev[0], true, a, sizeof(a)),
				     "2001:db8:9::7", "source");
			ASSERT_STREQ(geofw_event_addr(&got->ev[0], false, a, sizeof(a)),
				     "2001:db8:3::1", "destination");
			ASSERT_EQ(ntohs(got->ev[0].dport_be), 443, "dport");
		}
		geofw_block_del(&fw.maps, &x);
	}
	/* A flood must not keep one poll consuming for ever (fwctl log
	 * --follow then never saw its stop flag): a poll hands over one batch,
	 * the rest stays queued for the next calls, none is lost. */
	SUBTEST("a poll hands over one batch") {
		__u32 queued = GEOFW_EVENTS_POLL_BATCH * 2 + 100;

		len = pkt_build(&po, frame, sizeof(frame));
		geofw_events_consume(r);
		got->n = 0;
		ASSERT_OK(set_events_rate(100000), "rate");
		ASSERT_EQ(run_xdp(frame, len, queued), XDP_DROP, "dropped");
		ASSERT_EQ(geofw_events_poll(r, 100), GEOFW_EVENTS_POLL_BATCH, "first batch");
		ASSERT_EQ(geofw_events_poll(r, 100), GEOFW_EVENTS_POLL_BATCH, "second batch");
		ASSERT_EQ(geofw_events_poll(r, 100), 100, "the rest");
		ASSERT_EQ(geofw_events_poll(r, 0), 0, "nothing left");
		ASSERT_EQ(got->n, queued, "every record handed over once");
	}
	set_events_rate(0);
	geofw_block_del(&fw.maps, &pfx);
	geofw_rules_present_sync(&fw.maps);
out:
	geofw_events_close(r);
	free(got);
	free(c);
}

/* ---- the log and top commands (user/lib/cmdtable.c) ---------------------------------- */

#define ARGV(...)	((char *const[]){ __VA_ARGS__, NULL })
#define ARGC(...)	((int)(sizeof((const char *[]){ __VA_ARGS__ }) / sizeof(const char *)))
#define PARSE(cmd, err, ...) geofw_cmd_parse(ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), (cmd), (err), \
					     sizeof(err))

void test_cmd_log_top(void)
{
	char err[GEOFW_CMD_ERRLEN];
	struct geofw_cmd c;

	SUBTEST("log defaults") {
		if (ASSERT_OK(PARSE(&c, err, "log"), err)) {
			ASSERT_EQ(c.id, GEOFW_CMD_LOG, "id");
			ASSERT_TRUE(!c.follow, "not following");
			ASSERT_EQ(c.rate, GEOFW_CMD_RATE_DEFAULT, "rate");
			ASSERT_EQ(c.desc->kind, GEOFW_CMD_LOCAL, "read locally");
		}
		geofw_cmd_free(&c);
	}
	SUBTEST("log options") {
		if (ASSERT_OK(PARSE(&c, err, "log", "--follow", "--rate", "20", "-j"), err)) {
			ASSERT_TRUE(c.follow, "follow");
			ASSERT_EQ(c.rate, 20, "rate");
			ASSERT_TRUE(c.json, "json");
		}
		geofw_cmd_free(&c);
		if (ASSERT_OK(PARSE(&c, err, "log", "--rate=100000"), err))
			ASSERT_EQ(c.rate, 100000, "max rate");
		geofw_cmd_free(&c);
	}
	SUBTEST("log errors") {
		ASSERT_EQ(PARSE(&c, err, "log", "--rate", "0"), -EINVAL, "rate 0");
		ASSERT_STREQ(err, "log: --rate: 0: expected a number from 1 to 100000", "message");
		ASSERT_EQ(PARSE(&c, err, "log", "--rate", "100001"), -EINVAL, "rate too high");
		ASSERT_EQ(PARSE(&c, err, "log", "--rate"), -EINVAL, "rate missing");
		ASSERT_STREQ(err, "log: option '--rate' needs a value (N)", "message");
		ASSERT_EQ(PARSE(&c, err, "log", "--once"), -EINVAL, "top's option");
		ASSERT_STREQ(err, "log: option '--once' does not apply to this command", "message");
		ASSERT_EQ(PARSE(&c, err, "log", "extra"), -EINVAL, "argument");
		ASSERT_STREQ(err, "log: unexpected argument 'extra'", "message");
		geofw_cmd_free(&c);
	}
	SUBTEST("top defaults") {
		if (ASSERT_OK(PARSE(&c, err, "top"), err)) {
			ASSERT_EQ(c.id, GEOFW_CMD_TOP, "id");
			ASSERT_TRUE(!c.once, "refreshing");
			ASSERT_EQ(c.interval, GEOFW_CMD_TOP_INTERVAL, "interval");
			ASSERT_EQ(c.window, GEOFW_CMD_TOP_WINDOW, "window");
			ASSERT_EQ(c.rate, GEOFW_CMD_RATE_DEFAULT, "rate");
		}
		geofw_cmd_free(&c);
	}
	SUBTEST("top options") {
		if (ASSERT_OK(PARSE(&c, err, "top", "-n", "--interval", "5", "--window", "1m",
				    "--rate", "7"), err)) {
			ASSERT_TRUE(c.once, "once");
			ASSERT_EQ(c.interval, 5, "interval");
			ASSERT_EQ(c.window, 60, "window");
			ASSERT_EQ(c.rate, 7, "rate");
		}
		geofw_cmd_free(&c);
		if (ASSERT_OK(PARSE(&c, err, "top", "--once", "-j"), err))
			ASSERT_TRUE(c.once && c.json, "long form");
		geofw_cmd_free(&c);
	}
	SUBTEST("top errors") {
		ASSERT_EQ(PARSE(&c, err, "top", "--interval", "0"), -EINVAL, "interval 0");
		ASSERT_TRUE(strstr(err, "top: --interval: 0:") != NULL, err);
		ASSERT_EQ(PARSE(&c, err, "top", "--window", "2h"), -EINVAL, "window too long");
		ASSERT_STREQ(err, "top: --window: 2h: at most 3600 seconds", "message");
		ASSERT_EQ(PARSE(&c, err, "top", "--follow"), -EINVAL, "log's option");
		ASSERT_EQ(PARSE(&c, err, "top", "-n", "-n"), -EINVAL, "twice");
		ASSERT_STREQ(err, "top: option '--once' given twice", "message");
		geofw_cmd_free(&c);
	}
	SUBTEST("stats keeps its interval") {
		if (ASSERT_OK(PARSE(&c, err, "stats", "--watch"), err))
			ASSERT_EQ(c.interval, 1, "stats --watch default");
		geofw_cmd_free(&c);
		ASSERT_EQ(PARSE(&c, err, "stats", "--interval", "2"), -EINVAL, "not stats'");
		geofw_cmd_free(&c);
	}
	SUBTEST("help") {
		char *text = NULL;

		if (ASSERT_OK(geofw_cmd_help("top", &text, err, sizeof(err)), "help")) {
			ASSERT_TRUE(strstr(text, "Usage: fwctl top [--once]") != NULL, "synopsis");
			ASSERT_TRUE(strstr(text, "  -n, --once") != NULL, "short option");
		}
		free(text);
		if (ASSERT_OK(geofw_cmd_help("log", &text, err, sizeof(err)), "help"))
			ASSERT_TRUE(strstr(text, "share the samples") != NULL, "sharing explained");
		free(text);
	}
}
