/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Inside the geofw.conf parser, shared by its three files and nothing else:
 * config.c reads the file line by line (messages, tokens, defaults),
 * config_keys.c holds the key table and the value parsers of the general
 * keys, config_sources.c those of the fleet, CrowdSec and feeds.
 */
#ifndef GEOFW_CONFIG_INT_H
#define GEOFW_CONFIG_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

#define DEFAULT_GEOIP_DB	"/var/lib/GeoIP/GeoLite2-Country.mmdb"
#define DEFAULT_HTTP403_BODY	"/etc/geofw/403.html"
#define DEFAULT_STATE_DIR	"/var/lib/geofw"
#define DEFAULT_SOCKET		"/run/geofw/geofwd.sock"
#define DEFAULT_SOCKET_GROUP	"geofw"
#define DEFAULT_DROP_LOG_RATE	100
#define DROP_LOG_RATE_MAX	100000
#define DEFAULT_FEED_EVERY		3600
#define DEFAULT_FEED_MIN_PREFIX4	8
#define DEFAULT_FEED_MIN_PREFIX6	16
#define DEFAULT_FEED_MAX_ENTRIES	250000
#define DEFAULT_FEED_MAX_DROP_SHARE	50

/* Sets of actions a key accepts (bit per enum geofw_action); a field of the conf. */
#define ACT(a)		(1u << GEOFW_ACT_##a)
#define BLOCKING	(ACT(DROP) | ACT(REJECT) | ACT(HTTP403) | ACT(LOG))
#define FIELD(f)	offsetof(struct geofw_conf, f)

/* Room for the "line it was set on" of every key (config_keys.c checks). */
#define CONF_KEYS_MAX		96

struct key;

struct parser {
	const char *name;		/* file name for messages */
	unsigned int line;
	const struct key *key;		/* key of the current line, if known */
	char *err;
	size_t errlen;
	struct geofw_conf *c;		/* the private copy being filled */
	unsigned int *seen;		/* per key: line it was set on, 0 = not yet */
};

struct choice {
	const char *name;
	int value;
};

struct key {
	const char *name;
	int (*parse)(struct parser *p, char *val);
	/* What the key accepts, for messages: either a fixed text, a list of
	 * choices, or a set of actions (bit per enum geofw_action). */
	const char *expect;
	const struct choice *choices;
	unsigned int actions;
	/* Where a choice or an action is stored (an int of struct geofw_conf). */
	size_t off;
	/* An empty value means "none" (lists whose default is empty). */
	bool may_be_empty;
	/* May be given on several lines, each adding one (Feed, Http403Page, Port*, RateLimit). */
	bool repeat;
	/* parse_uint: the range of an unsigned int stored at off. */
	unsigned long min, max;
};

/* ---- config.c: messages and tokens ---- */
__attribute__((format(printf, 2, 3)))
int conf_fail(struct parser *p, const char *fmt, ...);
const char *conf_describe(const struct key *k, char *buf, size_t len);
int conf_fail_not(struct parser *p, const char *val);
char *conf_next_word(char **cursor);
int conf_parse_number(struct parser *p, const char *text, unsigned long min, unsigned long max, unsigned long *out);
void conf_set_str(char *dst, size_t size, const char *src);
int conf_parse_path(struct parser *p, const char *val, char *dst, size_t size);

/* ---- config_keys.c: the key table ---- */
/* Keys that only mean something together, checked once the file is read:
 * "FILE:LINE: why" with the line key was set on (the one to fix), or
 * "FILE: why" when key is not in the file.  -EINVAL. */
int conf_fail_pair(struct parser *p, const char *key, const char *why);

extern const struct key conf_keys[];
extern const size_t conf_n_keys;

/* ---- config_sources.c: fleet, CrowdSec, feeds ---- */
int conf_parse_fleet_servers(struct parser *p, char *val);
int conf_parse_fleet_bucket(struct parser *p, char *val);
int conf_parse_fleet_creds(struct parser *p, char *val);
int conf_parse_fleet_user(struct parser *p, char *val);
int conf_parse_fleet_password_file(struct parser *p, char *val);
int conf_parse_fleet_tls_ca(struct parser *p, char *val);
int conf_parse_fleet_replicas(struct parser *p, char *val);
extern const struct choice conf_fleet_scopes[];
int conf_check_fleet(struct parser *p);
int conf_parse_crowdsec_url(struct parser *p, char *val);
int conf_parse_crowdsec_key_file(struct parser *p, char *val);
int conf_parse_crowdsec_tls_ca(struct parser *p, char *val);
int conf_parse_crowdsec_interval(struct parser *p, char *val);
extern const struct choice conf_crowdsec_scopes[];
int conf_parse_crowdsec_scopes(struct parser *p, char *val);
void conf_crowdsec_action_defaults(struct geofw_conf *c);
int conf_parse_crowdsec_action(struct parser *p, char *val);
int conf_check_crowdsec(struct parser *p);
int conf_parse_feed(struct parser *p, char *val);

#endif
