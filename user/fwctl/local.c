// SPDX-License-Identifier: GPL-2.0-only
/*
 * Commands answered from the pinned maps: lookup always, list and status
 * while geofwd is down.  The pins hold what the data plane enforces, which
 * is exactly what an operator debugging the firewall wants to see, but not
 * what only geofwd knows (comments, sources, interfaces).
 */
#include <bpf/bpf.h>
#include <dirent.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "asntable.h"
#include "config.h"
#include "countries.h"
#include "ctl.h"
#include "geoip.h"
#include "explain.h"
#include "fwctl.h"
#include "grow.h"
#include "timeutil.h"

/* ---- lookup ----------------------------------------------------------------- */

static const char *country_code_or(unsigned int id, const char *none)
{
	const char *cc = geofw_country_code(id);

	return cc ? cc : none;
}

static bool country_listed(const struct geofw_maps *m, unsigned int id)
{
	struct geofw_country pol = { 0 };
	__u32 key = id;

	return !bpf_map_lookup_elem(m->country, &key, &pol) && pol.listed;
}

/* Why: "blocklist 203.0.113.0/24, rule 12, expires in 1h59m",
 * "country RU listed; mode block", ... */
static void explain_text(const struct geofw_explain *e, const struct geofw_config *cfg,
			 bool listed, const struct geofw_cmd *cmd, char *buf, size_t len)
{
	char port[24];
	char pfx[GEOFW_CIDR_STRLEN] = "?", dur[32];
	struct geofw_cidr c = { .family = e->match_family, .prefixlen = e->match_prefixlen };
	size_t n = 0;

#define ADD(...) (n += (size_t)snprintf(buf + n, n < len ? len - n : 0, __VA_ARGS__))
	memcpy(c.addr, e->match_addr, sizeof(c.addr));
	if (e->allow_match || e->block_match)
		geofw_cidr_format(&c, pfx, sizeof(pfx));
	buf[0] = '\0';
	snprintf(port, sizeof(port), "%u/%s", cmd->lookup_port,
		 cmd->lookup_proto == 17 ? "udp" : "tcp");
	if (e->reason >= GEOFW_R_PORT_ALLOW && e->reason <= GEOFW_R_PORT_POLICY_LOG) {
		const char *cc = country_code_or(e->country_id, "no country");

		switch (e->reason) {
		case GEOFW_R_PORT_ALLOW:
			ADD("port-scoped allow rule %u for %s", e->rule_id, port);
			if (e->asn)
				ADD(" (AS%u)", e->asn);
			break;
		case GEOFW_R_PORT_BLOCK:
		case GEOFW_R_PORT_LOG:
			ADD("port-scoped block rule %u for %s", e->rule_id, port);
			if (e->asn)
				ADD(" (AS%u)", e->asn);
			break;
		case GEOFW_R_PORT_COUNTRY_BLOCK:
		case GEOFW_R_PORT_COUNTRY_LOG:
			ADD("country %s blocked on %s", cc, port);
			break;
		case GEOFW_R_PORT_POLICY_PASS:
			ADD("listed by the allow-only policy of %s (country %s)", port, cc);
			break;
		default:
			ADD("not listed by the allow-only policy of %s (country %s)", port, cc);
			break;
		}
	} else if (e->allow_match) {
		ADD("allowlist %s", pfx);
		if (e->rule_id)
			ADD(", rule %u", e->rule_id);
	} else if (e->block_match) {
		ADD("blocklist %s", pfx);
		if (e->rule_id)
			ADD(", rule %u", e->rule_id);
		if (e->block.expires_ns) {
			geofw_duration_format(geofw_boot_left(e->block.expires_ns), 0, dur, sizeof(dur));
			ADD(", expires in %s", dur);
		}
	} else if (e->asn) {
		ADD("%s AS%u", e->reason == GEOFW_R_ALLOW_ASN ? "allowed" : e->reason == GEOFW_R_LOG_ASN ? "logged" : "blocked", e->asn);
		if (e->rule_id)
			ADD(", rule %u", e->rule_id);
	} else if (e->country_id) {
		ADD("country %s %s; mode %s", country_code_or(e->country_id, "?"),
		    listed ? "listed" : "not listed", geofw_cmd_mode_name(cfg->country_mode));
	} else {
		ADD("no country for this address; UnknownCountry = %s",
		    geofw_action_name(cfg->unknown_country_action));
	}
	if (e->action == GEOFW_ACT_LOG)
		ADD("; counted as would-block and passed");
	if ((e->action == GEOFW_ACT_REJECT || e->action == GEOFW_ACT_HTTP403) &&
	    !cfg->responder_enabled)
		ADD("; enforced as drop: no TC responder attached");
	if (e->block_expired_ignored)
		ADD("; an expired block rule was skipped");
	if (e->log_passed && e->log_rule_passed)
		ADD("; log rule %u matched too (a log rule never lets through what another "
		    "rule or the country policy blocks)", e->log_rule_passed);
	else if (e->log_passed)
		ADD("; a log rule matched too (a log rule never lets through what another "
		    "rule or the country policy blocks)");
	if (!cmd->lookup_proto && (cfg->ports_present & GEOFW_PORTS_ON))
		ADD("; source-only rules: port-scoped rules are in force, give PORT/PROTO");
#undef ADD
}

/* The AS of an address per db (lookup --asn-db) or geofw.conf's
 * ASNDatabase (for display: the decision itself is the kernel's).  0 with
 * *asn and org set (*asn 0: no AS), or -1 with why saying what is missing. */
static int address_as(const char *db, int family, const __u8 *addr, __u32 *asn, char *org,
		      size_t org_len, char *why, size_t why_len)
{
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6 };
	struct sockaddr_in s4 = { .sin_family = AF_INET };
	struct geofw_geoip_reader *r = NULL;
	struct geofw_conf *conf = malloc(sizeof(*conf));
	char err[GEOFW_CONF_ERRLEN];
	int ret = -1;

	*asn = 0;
	org[0] = '\0';
	if (!conf) {
		snprintf(why, why_len, "out of memory");
		return -1;
	}
	if (db)
		snprintf(conf->asn_db, sizeof(conf->asn_db), "%s", db);
	if (!db && geofw_conf_load(GEOFW_CONF_PATH, conf, err, sizeof(err))) {
		snprintf(why, why_len, "%s (or give --asn-db FILE)", err);
	} else if (!conf->asn_db[0]) {
		snprintf(why, why_len, "no ASNDatabase in %s (or give --asn-db FILE)",
			 GEOFW_CONF_PATH);
	} else if (geofw_asn_reader_open(conf->asn_db, &r)) {
		snprintf(why, why_len, "cannot open %.400s", conf->asn_db);
	} else {
		if (family == 4)
			memcpy(&s4.sin_addr, addr, 4);
		else
			memcpy(&s6.sin6_addr, addr, 16);
		if (geofw_geoip_lookup_asn(r, family == 4 ? (struct sockaddr *)&s4 :
					   (struct sockaddr *)&s6, asn, org, org_len))
			snprintf(why, why_len, "%.400s: lookup failed", conf->asn_db);
		else
			ret = 0;
		geofw_geoip_close(r);
	}
	free(conf);
	return ret;
}

int fwctl_lookup(struct fwctl *c, const struct geofw_cmd *cmd)
{
	const struct geofw_cidr *a = &cmd->cidrs[0];
	char addr[GEOFW_CIDR_STRLEN], why[512], pfx[GEOFW_CIDR_STRLEN];
	char org[256], as_why[GEOFW_CONF_ERRLEN + 64];
	bool as_known;
	__u32 as;
	struct geofw_explain e;
	struct geofw_config cfg;
	struct geofw_maps m;
	bool listed = false;
	json_t *rule, *country, *asj, *port, *doc;
	int err;

	err = fwctl_open_pins(c, &m);
	if (err)
		return err;
	c->lib_err[0] = '\0';
	err = geofw_explain_port(&m, a->family, a->addr, cmd->lookup_proto, cmd->lookup_port, &e);
	if (!err)
		err = geofw_config_read(&m, &cfg);
	if (err) {
		geofw_maps_close(&m);
		return fwctl_fail(c, FWCTL_EXIT_FAIL, "reading the pinned maps: %s",
				  c->lib_err[0] ? c->lib_err : strerror(-err));
	}
	if (e.country_looked_up && e.country_id)
		listed = country_listed(&m, e.country_id);
	geofw_maps_close(&m);

	geofw_addr_format(a->family, a->addr, addr, sizeof(addr));
	explain_text(&e, &cfg, listed, cmd, why, sizeof(why));
	as_known = !address_as(cmd->asn_db, a->family, a->addr, &as, org, sizeof(org), as_why,
			       sizeof(as_why));
	if (!c->json) {
		printf("%s: %s (%s)\n", addr, geofw_action_name(e.action), why);
		if (as_known && as)
			printf("  AS%u %s\n", as, org);
		else if (as_known)
			printf("  no AS in the ASN database\n");
		else
			printf("  AS: unknown (%s)\n", as_why);
		return FWCTL_EXIT_OK;
	}

	if (e.allow_match || e.block_match) {
		struct geofw_cidr p = { .family = e.match_family, .prefixlen = e.match_prefixlen };
		json_t *expires = NULL, *expires_in = NULL;

		memcpy(p.addr, e.match_addr, sizeof(p.addr));
		geofw_cidr_format(&p, pfx, sizeof(pfx));
		if (e.block_match && e.block.expires_ns) {
			expires = json_integer((json_int_t)geofw_boot_to_unix(e.block.expires_ns));
			expires_in = json_integer((json_int_t)geofw_boot_left(e.block.expires_ns));
		} else if (e.block_match) {
			expires = json_null();
			expires_in = json_null();
		}
		/* action and the expiry: block rules only (s*, o*: NULL leaves the key out) */
		rule = json_pack("{s:s, s:s, s:I, s:s*, s:o*, s:o*}",
				 "list", e.allow_match ? "allow" : "block", "prefix", pfx,
				 "rule_id", (json_int_t)e.rule_id,
				 "action", e.block_match ? geofw_action_name(e.block.action) : NULL,
				 "expires", expires, "expires_in", expires_in);
	} else {
		rule = json_null();
	}
	if (e.country_looked_up)
		country = json_pack("{s:s?, s:s?, s:b}", "code", geofw_country_code(e.country_id),
				    "name", geofw_country_name(e.country_id), "listed", listed);
	else
		country = json_null();
	if (as_known && as)
		asj = json_pack("{s:I, s:o}", "number", (json_int_t)as,
				"organisation", geofw_json_text(org));
	else
		asj = json_null();
	if (cmd->lookup_proto)
		port = json_pack("{s:I, s:s, s:I}", "number", (json_int_t)cmd->lookup_port,
				 "protocol", cmd->lookup_proto == 17 ? "udp" : "tcp",
				 "port_sets", (json_int_t)e.port_sets);
	else
		port = json_null();
	/* A member that could not be built (out of memory) fails the whole. */
	doc = json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:s, s:b, s:b, s:o, s:o, s:o}",
			"address", addr, "action", geofw_action_name(e.action),
			"reason", geofw_reason_name(e.reason),
			"rule", rule, "country", country, "as", asj,
			"as_rule", e.asn ? json_integer((json_int_t)e.asn) : json_null(),
			"mode", geofw_cmd_mode_name(cfg.country_mode),
			"responder_enabled", (int)cfg.responder_enabled,
			"expired_rule_skipped", (int)e.block_expired_ignored,
			"port", port, "explanation", geofw_json_text(why),
			"log_rule_passed", e.log_passed ? json_integer((json_int_t)e.log_rule_passed) :
					   json_null());
	return fwctl_json_print(c, doc);
}

/* ---- rules in the pins ---------------------------------------------------------- */

enum walk_kind { W_ALLOW4, W_ALLOW6, W_IP4, W_IP6, W_NET4, W_NET6 };

static int rules_push(struct pin_rules *r, const struct pin_rule *x)
{
	struct pin_rule *v = geofw_grow(r->v, &r->cap, r->n, sizeof(*v), 256);

	if (!v)
		return -ENOMEM;
	r->v = v;
	r->v[r->n++] = *x;
	return 0;
}

/* The key of one map as a prefix. */
static void key_to_cidr(enum walk_kind kind, const void *key, struct geofw_cidr *p)
{
	memset(p, 0, sizeof(*p));
	switch (kind) {
	case W_IP4:
		p->family = 4;
		p->prefixlen = 32;
		memcpy(p->addr, key, 4);
		break;
	case W_IP6:
		p->family = 6;
		p->prefixlen = 128;
		memcpy(p->addr, key, 16);
		break;
	case W_ALLOW4:
	case W_NET4:
		geofw_cidr_from_lpm_v4(key, p);
		break;
	case W_ALLOW6:
	case W_NET6:
		geofw_cidr_from_lpm_v6(key, p);
		break;
	}
}

/*
 * Walk one rule map.  With out NULL only count the keys (status), which
 * spares a value lookup per entry.  Entries removed during the walk are
 * skipped; the walk itself is not a snapshot.
 */
static long walk_rules(int fd, enum walk_kind kind, struct pin_rules *out)
{
	union {
		struct geofw_lpm_v6 lpm6;
		struct geofw_ip6 ip6;
		char raw[32];
	} key, next;
	bool first = true;
	long count = 0;

	memset(&key, 0, sizeof(key));
	while (!bpf_map_get_next_key(fd, first ? NULL : &key, &next)) {
		struct pin_rule r = { 0 };

		first = false;
		key = next;
		count++;
		if (!out)
			continue;
		key_to_cidr(kind, &key, &r.prefix);
		if (kind == W_ALLOW4 || kind == W_ALLOW6) {
			struct geofw_allow a;

			if (bpf_map_lookup_elem(fd, &key, &a))
				continue;
			r.allow = true;
			r.rule_id = a.rule_id;
		} else {
			struct geofw_block b;

			if (bpf_map_lookup_elem(fd, &key, &b))
				continue;
			r.action = b.action;
			r.rule_id = b.rule_id;
			r.expires_ns = b.expires_ns;
		}
		if (rules_push(out, &r))
			return -ENOMEM;
	}
	return errno == ENOENT ? count : -errno;
}

static int cmp_rule(const void *a, const void *b)
{
	const struct pin_rule *x = a, *y = b;

	return geofw_cidr_cmp(&x->prefix, &y->prefix);
}

int fwctl_read_rules(const struct geofw_maps *m, bool blocks, bool allows, struct pin_rules *r)
{
	const struct {
		int fd;
		enum walk_kind kind;
		bool allow;
	} maps[] = {
		{ m->block_ip4, W_IP4, false }, { m->block_net4, W_NET4, false },
		{ m->block_ip6, W_IP6, false }, { m->block_net6, W_NET6, false },
		{ m->allow4, W_ALLOW4, true }, { m->allow6, W_ALLOW6, true },
	};
	size_t i;
	long n;

	memset(r, 0, sizeof(*r));
	for (i = 0; i < sizeof(maps) / sizeof(maps[0]); i++) {
		if (maps[i].allow ? !allows : !blocks)
			continue;
		n = walk_rules(maps[i].fd, maps[i].kind, r);
		if (n < 0) {
			free(r->v);
			memset(r, 0, sizeof(*r));
			return (int)n;
		}
	}
	if (r->n)
		qsort(r->v, r->n, sizeof(r->v[0]), cmp_rule);
	return 0;
}

/* ---- list ------------------------------------------------------------------------- */

/*
 * The output follows geofwd's own `list` (user/geofwd/control.c), text and
 * JSON, so that scripts see one format whether geofwd is up or not; what
 * the pins cannot know (comments, sources) is empty in text and null in
 * JSON.
 */
static void list_rule_text(const struct pin_rule *x)
{
	char pfx[GEOFW_CIDR_STRLEN], left[32];
	unsigned long long secs;

	geofw_cidr_format(&x->prefix, pfx, sizeof(pfx));
	if (x->allow) {
		printf("allow  %-43s id %u\n", pfx, x->rule_id);
		return;
	}
	printf("block  %-43s %-7s id ", pfx, geofw_action_name(x->action));
	if (!x->expires_ns) {
		printf("%u\n", x->rule_id);
		return;
	}
	secs = geofw_boot_left(x->expires_ns);
	geofw_duration_format(secs, 0, left, sizeof(left));
	if (secs)
		printf("%-5u expires in %s\n", x->rule_id, left);
	else
		printf("%-5u expired (geofwd removes it)\n", x->rule_id);
}

static json_t *list_rule_json(const struct pin_rule *x)
{
	char pfx[GEOFW_CIDR_STRLEN];

	geofw_cidr_format(&x->prefix, pfx, sizeof(pfx));
	if (x->allow)
		return json_pack("{s:s, s:s, s:I, s:n}", "type", "allow", "prefix", pfx,
				 "rule_id", (json_int_t)x->rule_id, "comment");
	/* source and comment: only geofwd knows */
	return json_pack("{s:s, s:s, s:s, s:I, s:I, s:n, s:n}", "type", "block", "prefix", pfx,
			 "action", geofw_action_name(x->action), "rule_id", (json_int_t)x->rule_id,
			 "expires", (json_int_t)(x->expires_ns ? geofw_boot_to_unix(x->expires_ns) : 0),
			 "source", "comment");
}

/* The AS rules in force (the classes of the ASN tables): the resolved
 * rule per AS, without source or comment (only geofwd knows them). */
static void list_asn_classes(struct geofw_json_array *a, const struct geofw_asn_classes *cl)
{
	char left[32];
	size_t i;

	for (i = 0; i < cl->n; i++) {
		const struct geofw_asn_class *c = &cl->c[i];
		bool block = c->kind == GEOFW_ASN_BLOCK;
		unsigned long long secs = c->expires_ns ? geofw_boot_left(c->expires_ns) : 0;

		if (c->expires_ns && !secs)
			continue;	/* expired: the kernel no longer matches it */
		if (c->kind == GEOFW_ASN_NONE)
			continue;	/* port-scoped rules only: 'list ports' shows them */
		if (a && block) {
			geofw_json_array_add(a, json_pack(
				"{s:s, s:I, s:s, s:I, s:n, s:n}", "type", "block-asn",
				"asn", (json_int_t)c->asn, "action", geofw_action_name(c->action),
				"expires", (json_int_t)(c->expires_ns ?
							geofw_boot_to_unix(c->expires_ns) : 0),
				"source", "comment"));
			continue;
		}
		if (a) {
			geofw_json_array_add(a, json_pack("{s:s, s:I, s:n, s:n}", "type", "allow-asn",
							  "asn", (json_int_t)c->asn, "source",
							  "comment"));
			continue;
		}
		if (!block) {
			printf("allow-asn AS%u\n", c->asn);
			continue;
		}
		printf("block-asn AS%-10u %-7s", c->asn, geofw_action_name(c->action));
		if (secs) {
			geofw_duration_format(secs, 0, left, sizeof(left));
			printf(" expires in %s", left);
		}
		printf("\n");
	}
}

/* Listed countries, by id. */
static int read_countries(const struct geofw_maps *m, struct geofw_country *pol, size_t n)
{
	__u32 id;

	for (id = 0; id < n; id++)
		if (bpf_map_lookup_elem(m->country, &id, &pol[id]))
			return -errno;
	return 0;
}

static json_t *list_countries_json(const struct geofw_config *cfg,
				   const struct geofw_country *pol)
{
	bool allow = cfg->country_mode == GEOFW_MODE_ALLOW_LISTED;
	json_t *listed = json_array(), *actions = json_object();
	unsigned int id;

	for (id = 1; id <= GEOFW_COUNTRY_MAX_ID; id++)
		if (pol[id].listed) {
			geofw_json_push(&listed, json_string(country_code_or(id, "?")));
			/* As the text shows them: block mode only. */
			if (!allow)
				geofw_json_put(&actions, country_code_or(id, "?"),
					       json_string(geofw_action_name(pol[id].action)));
		}
	return json_pack("{s:s, s:s, s:s, s:s, s:o, s:o}", "type", "countries",
			 "mode", geofw_cmd_mode_name(cfg->country_mode),
			 "action", geofw_action_name(cfg->country_block_action), "source", "pins",
			 "listed", listed, "actions", actions);
}

static void list_countries(const struct geofw_config *cfg, const struct geofw_country *pol)
{
	bool allow = cfg->country_mode == GEOFW_MODE_ALLOW_LISTED, first = true;
	unsigned int id;

	printf("countries: mode %s (%s), from the pins, action %s:",
	       geofw_cmd_mode_name(cfg->country_mode),
	       allow ? "only listed countries pass" : "listed countries are blocked",
	       geofw_action_name(cfg->country_block_action));
	for (id = 1; id <= GEOFW_COUNTRY_MAX_ID; id++) {
		if (!pol[id].listed)
			continue;
		printf(" %s", country_code_or(id, "?"));
		if (!allow)
			printf("(%s)", geofw_action_name(pol[id].action));
		first = false;
	}
	printf("%s\n", first ? " (none)" : "");
}

int fwctl_list_pins(struct fwctl *c, const struct geofw_cmd *cmd)
{
	bool blocks = cmd->list == GEOFW_LIST_ALL || cmd->list == GEOFW_LIST_BLOCKS;
	bool allows = cmd->list == GEOFW_LIST_ALL || cmd->list == GEOFW_LIST_ALLOWS;
	bool countries = cmd->list == GEOFW_LIST_ALL || cmd->list == GEOFW_LIST_COUNTRIES;
	bool asns = cmd->list == GEOFW_LIST_ALL || cmd->list == GEOFW_LIST_ASNS;
	struct geofw_asn_classes *cl = calloc(1, sizeof(*cl));
	struct geofw_country pol[GEOFW_MAX_COUNTRIES];
	struct geofw_config cfg;
	struct pin_rules r = { 0 };
	struct geofw_json_array a;
	struct geofw_maps m;
	int err, pass;
	size_t i;

	err = fwctl_open_pins(c, &m);
	if (err)
		return err;
	fwctl_note(c, "geofwd is not running: showing the pinned maps, which hold no comments");
	err = cl ? fwctl_read_rules(&m, blocks, allows, &r) : -ENOMEM;
	if (!err && asns)
		err = geofw_asn_classes_in_force(&m, cl);
	if (!err && countries) {
		err = geofw_config_read(&m, &cfg);
		if (!err)
			err = read_countries(&m, pol, GEOFW_MAX_COUNTRIES);
	}
	geofw_maps_close(&m);
	if (err) {
		free(r.v);
		free(cl);
		return fwctl_fail(c, FWCTL_EXIT_FAIL, "reading the pinned maps: %s",
				  strerror(-err));
	}

	/* A million rules are not built as one tree: each is dumped as it
	 * comes (docs/design-notes.md, "JSON"). */
	if (c->json)
		geofw_json_array_open(&a, geofw_json_put_file, stdout);
	/* geofwd's order: allows, then blocks, then the country policy. */
	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < r.n; i++) {
			if (r.v[i].allow != (pass == 0))
				continue;
			if (c->json)
				geofw_json_array_add(&a, list_rule_json(&r.v[i]));
			else
				list_rule_text(&r.v[i]);
		}
	}
	if (asns)
		list_asn_classes(c->json ? &a : NULL, cl);
	if (countries && c->json)
		geofw_json_array_add(&a, list_countries_json(&cfg, pol));
	else if (countries)
		list_countries(&cfg, pol);
	free(r.v);
	free(cl);
	if (c->json && (err = geofw_json_array_close(&a)) == -ENOMEM)
		return fwctl_fail(c, FWCTL_EXIT_FAIL, "out of memory");
	return fflush(stdout) || (c->json && err) ? FWCTL_EXIT_FAIL : FWCTL_EXIT_OK;
}

/* ---- status --------------------------------------------------------------------------- */

/* What a pinned object other than our maps is: "link", "prog", "map" or
 * NULL, from the kernel's own description in fdinfo. */
static const char *bpf_obj_kind(int fd)
{
	char path[64], line[256];
	const char *kind = NULL;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "re");
	if (!f)
		return NULL;
	while (!kind && fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "link_type:", 10))
			kind = "link";
		else if (!strncmp(line, "prog_type:", 10))
			kind = "prog";
		else if (!strncmp(line, "map_type:", 9))
			kind = "map";
	}
	fclose(f);
	return kind;
}

struct pinned_obj {
	char name[256];
	const char *kind;
	__u32 prog_id;
	__u32 ifindex;		/* XDP links */
	bool xdp;
};

/* The pinned links and programs: what geofwd left to keep enforcing while
 * it is away (geofwd keeps its links in a subdirectory, so one level of
 * them is read too).  Maps are skipped, whatever their names. */
static size_t read_other_pins(const char *dir, const char *prefix, int depth,
			      struct pinned_obj *out, size_t max)
{
	char path[PATH_MAX], sub[PATH_MAX];
	struct dirent *de;
	size_t n = 0;
	DIR *d;

	d = opendir(dir);
	if (!d)
		return 0;
	while (n < max && (de = readdir(d))) {
		struct pinned_obj *o = &out[n];
		int fd;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (de->d_type == DT_DIR) {
			if (depth < 1) {
				snprintf(sub, sizeof(sub), "%s%s/", prefix, de->d_name);
				n += read_other_pins(path, sub, depth + 1, out + n, max - n);
			}
			continue;
		}
		memset(o, 0, sizeof(*o));
		snprintf(o->name, sizeof(o->name), "%s%s", prefix, de->d_name);
		fd = bpf_obj_get(path);
		if (fd < 0)
			continue;	/* not ours to read */
		o->kind = bpf_obj_kind(fd);
		if (!o->kind || !strcmp(o->kind, "map")) {
			close(fd);
			continue;
		}
		if (!strcmp(o->kind, "link")) {
			struct bpf_link_info li = { 0 };
			__u32 len = sizeof(li);

			if (!bpf_obj_get_info_by_fd(fd, &li, &len)) {
				o->prog_id = li.prog_id;
				if (li.type == BPF_LINK_TYPE_XDP) {
					o->xdp = true;
					o->ifindex = li.xdp.ifindex;
				}
			}
		} else if (!strcmp(o->kind, "prog")) {
			struct bpf_prog_info pi = { 0 };
			__u32 len = sizeof(pi);

			if (!bpf_obj_get_info_by_fd(fd, &pi, &len))
				o->prog_id = pi.id;
		}
		close(fd);
		n++;
	}
	closedir(d);
	return n;
}

/* Class cls of enum geofw_malformed by the name of its counter
 * ("malformed_runt" → "runt"); NULL for a slot no class uses yet. */
static const char *malformed_name(unsigned int cls)
{
	const char *r = geofw_reason_name(GEOFW_R_RUNT + cls);

	return strncmp(r, "malformed_", 10) ? NULL : r + 10;
}

struct pin_counts {
	long allow4, allow6, ip4, ip6, net4, net6;
	unsigned int countries;
};

#define MAX_OTHER_PINS 64

/*
 * The interface a pinned XDP link was made for (geofwd pins it as
 * .../xdp-IFNAME) when that interface is not protected by it: the link's
 * interface is gone (or is another now) but one of that name exists, made
 * again while geofwd is not running to attach to it.  NULL otherwise.
 */
static const char *recreated_ifname(const struct pinned_obj *o)
{
	const char *base = strrchr(o->name, '/');
	char now[IF_NAMESIZE];

	base = base ? base + 1 : o->name;
	if (!o->xdp || strncmp(base, "xdp-", 4) || !base[4] || strlen(base + 4) >= IF_NAMESIZE)
		return NULL;
	if (o->ifindex && if_indextoname(o->ifindex, now) && !strcmp(now, base + 4))
		return NULL;	/* attached to it */
	return if_nametoindex(base + 4) ? base + 4 : NULL;
}

int fwctl_status_pins(struct fwctl *c, const struct geofw_cmd *cmd)
{
	struct geofw_country pol[GEOFW_MAX_COUNTRIES];
	struct pinned_obj other[MAX_OTHER_PINS];
	struct pin_counts n = { 0 };
	struct geofw_config cfg = { 0 };
	struct geofw_meta meta;
	struct geofw_maps m;
	bool geo_loaded;
	size_t n_other, i;
	char when[64], ifname[IF_NAMESIZE];
	unsigned int id, mf;
	size_t unprotected = 0;
	__u32 slot, inner;
	struct tm tm;
	time_t t;
	int err, ret;

	(void)cmd;
	err = fwctl_open_pins(c, &m);
	if (err)
		return err;
	err = geofw_meta_read(&m, &meta);
	if (!err)
		err = geofw_config_read(&m, &cfg);
	if (!err)
		err = read_countries(&m, pol, GEOFW_MAX_COUNTRIES);
#define COUNT(field, fd, kind) \
	do { long r_ = err ? 0 : walk_rules((fd), (kind), NULL); \
	     if (r_ < 0) err = (int)r_; else n.field = r_; } while (0)
	COUNT(allow4, m.allow4, W_ALLOW4);
	COUNT(allow6, m.allow6, W_ALLOW6);
	COUNT(ip4, m.block_ip4, W_IP4);
	COUNT(ip6, m.block_ip6, W_IP6);
	COUNT(net4, m.block_net4, W_NET4);
	COUNT(net6, m.block_net6, W_NET6);
#undef COUNT
	slot = cfg.geo_slot & 1;
	geo_loaded = !err && !bpf_map_lookup_elem(m.geo4_flat, &slot, &inner);
	geofw_maps_close(&m);
	if (err)
		return fwctl_fail(c, FWCTL_EXIT_FAIL, "reading the pinned maps: %s",
				  strerror(-err));
	for (id = 1; id <= GEOFW_COUNTRY_MAX_ID; id++)
		n.countries += pol[id].listed != 0;
	n_other = read_other_pins(c->g->pin_dir, "", 0, other, MAX_OTHER_PINS);

	t = (time_t)meta.created_unix;
	if (gmtime_r(&t, &tm))
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
	else
		snprintf(when, sizeof(when), "?");

	for (i = 0; i < n_other; i++)
		unprotected += recreated_ifname(&other[i]) != NULL;

	if (c->json) {
		json_t *malformed = json_object(), *pins = json_array();
		json_t *notprot = json_array();

		for (mf = 0; mf < GEOFW_MF_MAX; mf++)
			if (malformed_name(mf))
				geofw_json_put(&malformed, malformed_name(mf),
					       json_string(geofw_action_name(cfg.malformed_action[mf])));
		for (i = 0; i < n_other; i++)
			geofw_json_push(&pins, json_pack("{s:o, s:s?, s:o*, s:o*, s:o*}",
				"name", geofw_json_text(other[i].name), "kind", other[i].kind,
				"prog_id", other[i].prog_id ?
					   json_integer((json_int_t)other[i].prog_id) : NULL,
				"ifindex", other[i].xdp ?
					   json_integer((json_int_t)other[i].ifindex) : NULL,
				"ifname", other[i].xdp ?
					  geofw_json_text(if_indextoname(other[i].ifindex, ifname)) : NULL));
		for (i = 0; i < n_other; i++)
			if (recreated_ifname(&other[i]))
				geofw_json_push(&notprot,
						geofw_json_text(recreated_ifname(&other[i])));
		ret = fwctl_json_print(c, json_pack(
			"{s:{s:b, s:o}, s:{s:o, s:I, s:I},"
			" s:{s:s, s:s, s:s, s:b, s:o}, s:{s:b, s:I, s:I},"
			" s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I}, s:o, s:o}",
			"daemon", "running", 0, "socket", geofw_json_text(c->g->socket),
			"pins", "dir", geofw_json_text(c->g->pin_dir),
			"abi_version", (json_int_t)meta.abi_version,
			"created", (json_int_t)meta.created_unix,
			"config", "country_mode", geofw_cmd_mode_name(cfg.country_mode),
			"country_block_action", geofw_action_name(cfg.country_block_action),
			"unknown_country_action", geofw_action_name(cfg.unknown_country_action),
			"responder_enabled", (int)cfg.responder_enabled,
			"malformed_action", malformed,
			"geoip", "loaded", (int)geo_loaded, "generation", (json_int_t)cfg.geo_generation,
			"slot", (json_int_t)cfg.geo_slot,
			"rules", "allow4", (json_int_t)n.allow4, "allow6", (json_int_t)n.allow6,
			"block_ip4", (json_int_t)n.ip4, "block_net4", (json_int_t)n.net4,
			"block_ip6", (json_int_t)n.ip6, "block_net6", (json_int_t)n.net6,
			"countries_listed", (json_int_t)n.countries,
			"other_pins", pins, "not_protected", notprot));
		return ret ? ret : unprotected ? FWCTL_EXIT_FAIL : FWCTL_EXIT_OK;
	}

	/* First, as the daemon's status puts an unprotected interface. */
	for (i = 0; i < n_other; i++)
		if (recreated_ifname(&other[i]))
			printf("%s: NOT protected (re-created while geofwd is not running; "
			       "start geofwd)\n", recreated_ifname(&other[i]));
	printf("geofwd: not running (no socket at %s)\n", c->g->socket);
	printf("pinned maps: %s (ABI %u, created %s)\n", c->g->pin_dir, meta.abi_version, when);
	if (cfg.country_mode == GEOFW_MODE_ALLOW_LISTED)
		printf("country policy: mode allow, %u countries allowed, others get %s\n",
		       n.countries, geofw_action_name(cfg.country_block_action));
	else
		printf("country policy: mode block, %u countries blocked\n", n.countries);
	printf("no country: %s\n", geofw_action_name(cfg.unknown_country_action));
	printf("malformed frames:");
	for (mf = 0; mf < GEOFW_MF_MAX; mf++)
		if (malformed_name(mf))
			printf(" %s %s", malformed_name(mf),
			       geofw_action_name(cfg.malformed_action[mf]));
	putchar('\n');
	printf("TC responder: %s\n", cfg.responder_enabled ? "enabled" :
	       "not enabled (reject and http403 are enforced as drop)");
	if (geo_loaded)
		printf("geo tables: generation %u in force (slot %u)\n", cfg.geo_generation,
		       cfg.geo_slot);
	else
		printf("geo tables: none (no address has a country)\n");
	printf("allowlist: %ld IPv4, %ld IPv6 prefixes\n", n.allow4, n.allow6);
	printf("blocklist: %ld IPv4 addresses + %ld prefixes, %ld IPv6 addresses + %ld prefixes\n",
	       n.ip4, n.net4, n.ip6, n.net6);
	for (i = 0; i < n_other; i++) {
		printf("pinned %s: %s", other[i].kind ? other[i].kind : "object", other[i].name);
		if (other[i].xdp)
			printf(" (XDP on %s, program %u)", if_indextoname(other[i].ifindex, ifname) ?
			       ifname : "a removed interface", other[i].prog_id);
		else if (other[i].prog_id)
			printf(" (program %u)", other[i].prog_id);
		putchar('\n');
	}
	if (!n_other)
		printf("pinned programs: none (nothing attached through pins)\n");
	return unprotected ? FWCTL_EXIT_FAIL : FWCTL_EXIT_OK;
}
