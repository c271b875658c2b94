// SPDX-License-Identifier: GPL-2.0-only
/*
 * fwctl ref CODE: what a 403 page's reference code says, checked with the
 * key that made it (refcode.h), told in the operator's terms: the reason,
 * the country and its policy, the rule that still carries the code's rule
 * id (source, comment), the minute, and what to do about it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "countries.h"
#include "geofwd.h"
#include "jsonlib.h"
#include "maps.h"
#include "refcode.h"
#include "responder.h"

struct rule_find {
	__u32 id;
	bool found;
	char prefix[GEOFW_CIDR_STRLEN];
	char source[GEOFW_STORE_SOURCE_MAX + 1];
	char comment[GEOFW_STORE_COMMENT_MAX + 1];
	int action;
};

static int find_rule(const struct geofw_rule *r, void *ctx)
{
	struct rule_find *f = ctx;

	if (r->kind != GEOFW_RULE_BLOCK || r->rule_id != f->id)
		return 0;
	f->found = true;
	geofw_cidr_format(&r->prefix, f->prefix, sizeof(f->prefix));
	snprintf(f->source, sizeof(f->source), "%s", r->source ? r->source : "");
	snprintf(f->comment, sizeof(f->comment), "%s", r->comment ? r->comment : "");
	f->action = r->action;
	return 1;
}

static void appendf(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void appendf(char *buf, size_t len, const char *fmt, ...)
{
	size_t n = strlen(buf);
	va_list ap;

	if (n >= len)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + n, len - n, fmt, ap);
	va_end(ap);
}

int gfwd_ref_explain(struct gfwd *d, const char *code, bool json, char **out,
		     char *err, size_t errlen)
{
	const struct geofw_store_countries *sc = geofw_store_countries(d->store);
	char when[40], text[2048] = "", what[512] = "", fix[512] = "";
	const char *cc, *cname;
	struct rule_find rf = {};
	struct geofw_ref ref;
	time_t t;
	int ret;

	*out = NULL;
	ret = geofw_ref_decode(code, &d->refkeys, (__u64)time(NULL),
			       d->conf.http403_ref_retention, d->conf.block_asn,
			       (size_t)d->conf.n_block_asn, &ref, err, errlen);
	if (ret)
		return ret;
	t = (time_t)(ref.minute * 60);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M UTC", gmtime(&t));
	cc = geofw_country_code(ref.country_id);
	cname = geofw_country_name(ref.country_id);

	switch (ref.cls) {
	case GEOFW_RC_COUNTRY:
		if (!ref.country_id) {
			snprintf(what, sizeof(what), "the client's address has no country in the "
				 "GeoIP database, and UnknownCountry blocks such addresses");
		} else {
			bool allow_mode = sc->override ? sc->mode == GEOFW_MODE_ALLOW_LISTED :
							 d->conf.country_mode ==
							 GEOFW_MODE_ALLOW_LISTED;

			snprintf(what, sizeof(what), "the country policy: %s (%s) %s", cc, cname,
				 allow_mode ? "is not in the allowed countries (CountryMode = allow)" :
					      "is a blocked country (CountryMode = block)");
		}
		break;
	case GEOFW_RC_ASN:
		snprintf(what, sizeof(what), "the AS rule for AS%u (BlockASN)", ref.subject);
		break;
	default:
		rf.id = ref.subject;
		if (rf.id)
			geofw_store_for_each_rule(d->store, GEOFW_RULE_BLOCK, NULL, find_rule, &rf);
		if (rf.found)
			snprintf(what, sizeof(what), "rule %u: %s %s, source %s%s%s%s", rf.id,
				 geofw_action_name((unsigned int)rf.action), rf.prefix, rf.source,
				 rf.comment[0] ? " (\"" : "", rf.comment, rf.comment[0] ? "\")" : "");
		else
			snprintf(what, sizeof(what), "rule %u, which no longer exists (removed or "
				 "expired since)", ref.subject);
		break;
	}
	snprintf(fix, sizeof(fix), "to let this visitor in: fwctl allow ADDR, with the address "
		 "the page showed them ({{addr}}); the code itself holds no address");
	if (ref.cls == GEOFW_RC_COUNTRY && ref.country_id)
		appendf(fix, sizeof(fix), "; to let %s in: fwctl unblock-country %s (or edit "
			"Countries)", cc, cc);
	else if (ref.cls == GEOFW_RC_ASN)
		appendf(fix, sizeof(fix), "; to let AS%u in: remove it from BlockASN", ref.subject);
	else if (rf.found)
		appendf(fix, sizeof(fix), "; to lift the rule: fwctl del-block %s --source %s",
			rf.prefix, rf.source);

	if (json) {
		json_t *doc = json_object();
		char *line;

		json_object_set_new(doc, "code", geofw_json_text(code));
		json_object_set_new(doc, "verified", json_true());
		json_object_set_new(doc, "minute_utc", json_string(when));
		json_object_set_new(doc, "unix_time", json_integer((json_int_t)t));
		json_object_set_new(doc, "reason", json_string(geofw_resp_class_name(ref.cls)));
		json_object_set_new(doc, "country", ref.country_id && cc ? json_string(cc) : json_null());
		if (ref.cls == GEOFW_RC_ASN)
			json_object_set_new(doc, "asn", json_integer(ref.subject));
		else if (ref.cls != GEOFW_RC_COUNTRY)
			json_object_set_new(doc, "rule_id", json_integer(ref.subject));
		if (rf.found) {
			json_t *r = json_object();

			json_object_set_new(r, "prefix", json_string(rf.prefix));
			json_object_set_new(r, "action", json_string(geofw_action_name((unsigned int)rf.action)));
			json_object_set_new(r, "source", geofw_json_text(rf.source));
			json_object_set_new(r, "comment", geofw_json_text(rf.comment));
			json_object_set_new(doc, "rule", r);
		}
		json_object_set_new(doc, "blocked_by", geofw_json_text(what));
		json_object_set_new(doc, "fix", geofw_json_text(fix));
		line = geofw_json_line(doc);
		json_decref(doc);
		if (!line)
			return -ENOMEM;
		*out = line;
		return 0;
	}
	appendf(text, sizeof(text), "code:       %s (verified)\n", code);
	appendf(text, sizeof(text), "when:       %s\n", when);
	appendf(text, sizeof(text), "reason:     %s\n", geofw_resp_class_name(ref.cls));
	if (ref.country_id && cc)
		appendf(text, sizeof(text), "country:    %s (%s)\n", cc, cname);
	else
		appendf(text, sizeof(text), "country:    none (not in the GeoIP database)\n");
	appendf(text, sizeof(text), "blocked by: %s\n", what);
	appendf(text, sizeof(text), "fix:        %s\n", fix);
	*out = strdup(text);
	return *out ? 0 : -ENOMEM;
}
