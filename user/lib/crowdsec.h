/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * CrowdSec LAPI answers, as geofwd's bouncer reads them (crowdsec.c of
 * geofwd does the HTTP and the store).  Pure functions: no I/O, no logging.
 *
 * GET /v1/decisions/stream answers {"new": [...] | null, "deleted": [...] |
 * null}, each decision an object:
 *
 *	{"id":12,"origin":"cscli","type":"ban","scope":"Ip","value":"192.0.2.1",
 *	 "duration":"3h59m58.95s","scenario":"manual 'ban' from 'm1'"}
 *
 * A deleted decision has a negative duration.  Scopes come back as "Ip",
 * "Range", "Country", "AS" (compared without case).  One bad entry (value,
 * duration, scope, type) is refused alone and counted; an answer that is not
 * such a document (invalid JSON, truncated, another shape) is refused whole.
 */
#ifndef GEOFW_CROWDSEC_H
#define GEOFW_CROWDSEC_H

#include <stdbool.h>
#include <stddef.h>

#include "cidr.h"
#include "config.h"

#define GEOFW_CS_COMMENT_MAX	128	/* = GEOFW_STORE_COMMENT_MAX */

struct geofw_cs_decision {
	long long id;				/* LAPI's decision id */
	unsigned int scope;			/* one GEOFW_CS_SCOPE_* (config.h) */
	struct geofw_cidr prefix;		/* ip: /32 or /128; range: masked */
	__u8 country;				/* country: its id (countries.h) */
	__u32 asn;				/* as: the AS number */
	__u8 action;				/* new: the action of its type */
	__u64 seconds;				/* new: duration, rounded up, > 0 */
	char comment[GEOFW_CS_COMMENT_MAX + 1];	/* "crowdsec TYPE: SCENARIO", UTF-8 */
};

struct geofw_cs_answer {
	struct geofw_cs_decision *add;		/* "new", in answer order */
	size_t n_add;
	struct geofw_cs_decision *del;		/* "deleted" */
	size_t n_del;
	size_t refused;				/* entries refused, of both lists */
	char refused_why[256];			/* the first one's reason, "" if none */
};

/*
 * A Go duration (time.ParseDuration): "59m58.95s", "-1h2m", "300ms", "0";
 * units ns, us (µs, μs), ms, s, m, h; an optional sign; fractions on any
 * component.  *ns gets nanoseconds.  0 or -EINVAL (no number, no unit, an
 * unknown unit, blanks, beyond ±292 years).
 */
int geofw_go_duration_parse(const char *s, long long *ns);

/*
 * Parse a decisions/stream answer (len bytes, any bytes).  Actions of new
 * decisions come from conf->crowdsec_actions by type (a type not there is
 * refused).  0 with *out filled (free with geofw_cs_answer_free, also on
 * error), or -EBADMSG with err saying what is wrong with the document, or
 * -ENOMEM.
 */
int geofw_cs_parse(const char *body, size_t len, const struct geofw_conf *conf,
		   struct geofw_cs_answer *out, char *err, size_t errlen);
void geofw_cs_answer_free(struct geofw_cs_answer *a);

/* "ip", "range", "country", "as" (names of CrowdSecScopes), "?" else. */
const char *geofw_cs_scope_name(unsigned int scope);
/* LAPI's scopes= parameter for bits: "ip,range,country,as". */
void geofw_cs_scopes_param(unsigned int bits, char *buf, size_t len);

#endif
